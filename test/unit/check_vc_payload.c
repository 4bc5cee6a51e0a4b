/* The VC payload mapping without signatures: dateTime parsing, issuer peeking, harvesting
 * rules (whitelist, #lang variants, reserved names), and the shape rules of dcr_vc_map. */
#include "json.h"
#include "unit.h"
#include "vc_payload.h"

#include <string.h>

static const char *why;

static json_t *obj(const char *text)
{
    json_t *j = dcr_json_parse(pool, text, strlen(text), DCR_JSON_MAX_DEPTH, &why);
    ck_assert_msg(j != NULL, "%s", why);
    return j;
}

START_TEST(datetimes)
{
    long long t;
    ck_assert(dcr_vc_parse_datetime("1970-01-01T00:00:00Z", &t));
    ck_assert_int_eq(t, 0);
    ck_assert(dcr_vc_parse_datetime("2026-11-18T11:06:40Z", &t));
    ck_assert_int_eq(t, 1795000000LL);
    ck_assert(dcr_vc_parse_datetime("2026-11-18T13:06:40.999+02:00", &t));
    ck_assert_int_eq(t, 1795000000LL);
    ck_assert(dcr_vc_parse_datetime("2026-11-18T06:06:40-05:00", &t));
    ck_assert_int_eq(t, 1795000000LL);
    ck_assert(dcr_vc_parse_datetime("2024-02-29T00:00:00Z", &t));
    ck_assert_int_eq(t, 1709164800LL);
    ck_assert(dcr_vc_parse_datetime("2000-02-29T00:00:00Z", &t));
    ck_assert(!dcr_vc_parse_datetime("2026-02-29T00:00:00Z", &t));
    ck_assert(!dcr_vc_parse_datetime("1900-02-29T00:00:00Z", &t));
    ck_assert(!dcr_vc_parse_datetime("2026-11-18T11:06:40", &t)); /* no zone */
    ck_assert(!dcr_vc_parse_datetime("2026-11-18 11:06:40Z", &t));
    ck_assert(!dcr_vc_parse_datetime("2026-13-01T00:00:00Z", &t));
    ck_assert(!dcr_vc_parse_datetime("2026-04-31T00:00:00Z", &t));
    ck_assert(!dcr_vc_parse_datetime("2026-11-18T24:00:00Z", &t));
    ck_assert(!dcr_vc_parse_datetime("2026-11-18T11:06:40.Z", &t));
    ck_assert(!dcr_vc_parse_datetime("2026-11-18T11:06:40Zjunk", &t));
    ck_assert(!dcr_vc_parse_datetime("2026-11-18T11:06:40+2:00", &t));
    ck_assert(!dcr_vc_parse_datetime(NULL, &t));
}
END_TEST

START_TEST(claimed_issuer)
{
    ck_assert_str_eq(dcr_vc_claimed_issuer(obj("{\"iss\":\"a\",\"issuer\":\"b\"}")), "a");
    ck_assert_str_eq(dcr_vc_claimed_issuer(obj("{\"issuer\":{\"id\":\"b\"}}")), "b");
    ck_assert_str_eq(dcr_vc_claimed_issuer(obj("{\"vc\":{\"issuer\":\"c\"}}")), "c");
    ck_assert_ptr_null(dcr_vc_claimed_issuer(obj("{\"issuer\":5}")));
}
END_TEST

#define V2_HEAD                                                                                    \
    "{\"@context\":[\"https://www.w3.org/ns/credentials/"                                          \
    "v2\"],\"type\":[\"VerifiableCredential\"],"                                                   \
    "\"issuer\":\"https://i.example\","

START_TEST(harvest_whitelist)
{
    dcr_vc_claims c;
    json_t *m;
    ck_assert(dcr_vc_map(pool, "vc+jwt",
                         obj(V2_HEAD "\"client_uri\":\"https://top.example\","
                                     "\"credentialSubject\":{\"id\":\"s\",\"type\":\"X\","
                                     "\"client_name\":\"N\",\"client_name#fr-CA\":\"Nf\","
                                     "\"scope#fr\":\"no\",\"client_secret\":\"never\","
                                     "\"client_id\":\"never\",\"favourite\":1,"
                                     "\"tos_uri#de\":\"https://t.example/de\"}}"),
                         &c, &why));
    m = dcr_vc_harvest_metadata(pool, &c, 1, &why);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(dcr_json_string(m, "client_name"), "N");
    ck_assert_str_eq(dcr_json_string(m, "client_name#fr-CA"), "Nf");
    ck_assert_str_eq(dcr_json_string(m, "tos_uri#de"), "https://t.example/de");
    ck_assert_ptr_null(json_object_get(m, "scope#fr"));
    ck_assert_ptr_null(json_object_get(m, "client_secret"));
    ck_assert_ptr_null(json_object_get(m, "client_id"));
    ck_assert_ptr_null(json_object_get(m, "favourite"));
    ck_assert_ptr_null(json_object_get(m, "id"));
    ck_assert_ptr_null(json_object_get(m, "type"));
    ck_assert_ptr_null(json_object_get(m, "client_uri"));
    m = dcr_vc_harvest_metadata(pool, &c, 2, &why);
    ck_assert_str_eq(dcr_json_string(m, "client_uri"), "https://top.example");
    ck_assert_ptr_null(json_object_get(m, "issuer"));
    ck_assert_ptr_null(json_object_get(m, "client_name"));
    ck_assert_int_eq(json_object_size(dcr_vc_harvest_metadata(pool, &c, 3, &why)), 4);
}
END_TEST

START_TEST(harvest_conflicts)
{
    dcr_vc_claims c;
    ck_assert(dcr_vc_map(pool, "vc+jwt",
                         obj(V2_HEAD "\"grant_types\":[\"a\",\"b\"],\"credentialSubject\":{"
                                     "\"id\":\"s\",\"grant_types\":[\"a\",\"b\"]}}"),
                         &c, &why));
    ck_assert_ptr_nonnull(dcr_vc_harvest_metadata(pool, &c, 3, &why));
    ck_assert(dcr_vc_map(pool, "vc+jwt",
                         obj(V2_HEAD "\"grant_types\":[\"b\",\"a\"],\"credentialSubject\":{"
                                     "\"id\":\"s\",\"grant_types\":[\"a\",\"b\"]}}"),
                         &c, &why));
    ck_assert_ptr_null(dcr_vc_harvest_metadata(pool, &c, 3, &why));
    ck_assert_ptr_nonnull(dcr_vc_harvest_metadata(pool, &c, 1, &why));
}
END_TEST

START_TEST(shape_rules)
{
    dcr_vc_claims c;
    ck_assert(!dcr_vc_map(pool, "vc+jwt", obj(V2_HEAD "\"credentialSubject\":\"s\"}"), &c, &why));
    ck_assert(!dcr_vc_map(pool, "vc+jwt", obj(V2_HEAD "\"credentialSubject\":[]}"), &c, &why));
    ck_assert(!dcr_vc_map(pool, "vc+jwt",
                          obj(V2_HEAD "\"credentialSubject\":{},\"credentialStatus\":\"x\"}"), &c,
                          &why));
    ck_assert(!dcr_vc_map(pool, "vc+jwt", obj(V2_HEAD "\"credentialSubject\":{},\"status\":[]}"),
                          &c, &why));
    ck_assert(!dcr_vc_map(pool, "vc+jwt",
                          obj("{\"@context\":\"https://www.w3.org/2018/credentials/v1\","
                              "\"type\":\"VerifiableCredential\",\"issuer\":\"i\","
                              "\"credentialSubject\":{}}"),
                          &c, &why)); /* v1 context needs the legacy typ */
    ck_assert(dcr_vc_map(pool, "vc+ld+jwt",
                         obj("{\"@context\":\"https://www.w3.org/2018/credentials/v1\","
                             "\"type\":\"VerifiableCredential\",\"issuer\":\"i\","
                             "\"credentialSubject\":{}}"),
                         &c, &why));
    ck_assert_ptr_null(c.subject); /* allowed here; the statement profile demands one */
    ck_assert(dcr_vc_map(pool, "JWT",
                         obj("{\"iss\":\"i\",\"vc\":{\"@context\":["
                             "\"https://www.w3.org/2018/credentials/v1\"],"
                             "\"type\":[\"VerifiableCredential\"],"
                             "\"credentialSubject\":{\"id\":\"s\"}},"
                             "\"status\":{\"status_list\":{\"idx\":1}}}"),
                         &c, &why));
    ck_assert_int_eq(c.version, 1);
    ck_assert_ptr_nonnull(c.token_status);
    ck_assert(!dcr_vc_map(pool, "JWT", obj("{\"iss\":\"i\",\"vc\":[]}"), &c, &why));
    ck_assert(!dcr_vc_map(pool, NULL, obj("{\"iss\":\"i\"}"), &c, &why));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vc_payload");
    TCase *tc = unit_tcase("payload");
    tcase_add_test(tc, datetimes);
    tcase_add_test(tc, claimed_issuer);
    tcase_add_test(tc, harvest_whitelist);
    tcase_add_test(tc, harvest_conflicts);
    tcase_add_test(tc, shape_rules);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
