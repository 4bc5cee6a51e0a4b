/* RFC 7592 2.2 updates judged against the registered values (src/update_compare.c): the
 * server-managed members and the members a statement fixed. */
#include "client.h"
#include "json.h"
#include "unit.h"
#include "update_compare.h"

#include <apr_strings.h>
#include <string.h>

#define ENDPOINT "https://as.example.com/register"
#define TOKEN "the-registration-access-token"
#define SECRET "the-client-secret"

static dcr_client *client(bool with_secret)
{
    dcr_client *c = apr_pcalloc(pool, sizeof(*c));
    c->client_id = "cid";
    c->issued_at = 1790000000;
    c->expires_at = 1790086400;
    dcr_token_hash(TOKEN, c->rat_hash);
    c->metadata = dcr_json_own(
        pool, json_pack("{s:s, s:[s]}", "client_name", "App", "grant_types", "authorization_code"));
    if (with_secret) {
        dcr_token_hash(SECRET, c->secret_hash);
        json_object_set_new(c->metadata, "client_secret_expires_at", json_integer(1790086400));
    }
    return c;
}

static json_t *body(const char *text)
{
    const char *why;
    json_t *j = dcr_json_parse(pool, text, strlen(text), 8, &why);
    ck_assert_msg(j != NULL, "%s: %s", text, why);
    return j;
}

static bool managed(const dcr_client *c, const char *text, dcr_error *err)
{
    dcr_error_clear(err);
    return dcr_update_check_managed(body(text), c, ENDPOINT, err);
}

START_TEST(registered_values_are_ignored)
{
    dcr_error err;
    dcr_client *c = client(true);
    ck_assert_msg(managed(c,
                          "{\"client_id\":\"cid\",\"client_id_issued_at\":1790000000,"
                          "\"registration_client_uri\":\"" ENDPOINT "/cid\","
                          "\"registration_access_token\":\"" TOKEN "\","
                          "\"client_secret_expires_at\":1790086400,"
                          "\"client_secret\":\"" SECRET "\"}",
                          &err),
                  "%s", err.detail);
    /* a client without a secret has no client_secret_expires_at: only null matches that */
    c = client(false);
    ck_assert(managed(c, "{\"client_id\":\"cid\",\"client_secret_expires_at\":null}", &err));
    ck_assert(managed(c, "{\"client_id\":\"cid\"}", &err));
}
END_TEST

START_TEST(other_values_are_refused)
{
    static const char *const bad[] = {
        "{\"client_id\":\"cid\",\"client_id_issued_at\":1790000001}",
        "{\"client_id\":\"cid\",\"client_id_issued_at\":\"1790000000\"}",
        "{\"client_id\":\"cid\",\"client_id_issued_at\":1790000000.0}",
        "{\"client_id\":\"cid\",\"registration_client_uri\":\"" ENDPOINT "/other\"}",
        "{\"client_id\":\"cid\",\"registration_client_uri\":\"" ENDPOINT "/cid/\"}",
        "{\"client_id\":\"cid\",\"registration_client_uri\":\"https://evil.example/register/cid\"}",
        "{\"client_id\":\"cid\",\"registration_client_uri\":\"" ENDPOINT "cid\"}",
        "{\"client_id\":\"cid\",\"registration_access_token\":\"" TOKEN "x\"}",
        "{\"client_id\":\"cid\",\"registration_access_token\":null}",
        "{\"client_id\":\"cid\",\"client_secret_expires_at\":0}",
        "{\"client_id\":\"cid\",\"client_secret_expires_at\":null}",
        "{\"client_id\":\"cid\",\"client_secret\":\"guess\"}",
        "{\"client_id\":\"cid\",\"client_secret\":null}",
        "{\"client_id\":\"other\"}",
        "{\"client_id\":5}",
        "{}",
    };
    dcr_error err;
    dcr_client *c = client(true);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ck_assert_msg(!managed(c, bad[i], &err), "accepted %s", bad[i]);
        ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
        ck_assert(err.description[0]);
    }
    /* no secret registered: any secret or expiry is refused */
    c = client(false);
    ck_assert(!managed(c, "{\"client_id\":\"cid\",\"client_secret_expires_at\":1790086400}", &err));
    ck_assert(!managed(c, "{\"client_id\":\"cid\",\"client_secret\":\"\"}", &err));
    ck_assert_str_eq(err.description, "client_secret may only be sent as the current secret");
}
END_TEST

START_TEST(fixed_members_compare_with_registered_or_claimed)
{
    dcr_error err;
    dcr_client *c = client(false);
    c->statement =
        dcr_json_own(pool, json_pack("{s:{s:s, s:[s,s]}}", "claims", "client_name", "App",
                                     "grant_types", "authorization_code", "implicit"));
    /* registered (normalised) value, raw claim, or a member the statement does not fix */
    ck_assert(dcr_update_check_fixed(body("{\"grant_types\":[\"authorization_code\"]}"), c, &err));
    ck_assert(dcr_update_check_fixed(
        body("{\"grant_types\":[\"authorization_code\",\"implicit\"]}"), c, &err));
    ck_assert(dcr_update_check_fixed(body("{\"client_name\":\"App\",\"scope\":\"x\"}"), c, &err));
    /* anything else */
    ck_assert(!dcr_update_check_fixed(body("{\"grant_types\":[\"client_credentials\"]}"), c, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_nonnull(strstr(err.detail, "grant_types"));
    ck_assert(!dcr_update_check_fixed(body("{\"client_name\":\"Other\"}"), c, &err));
    /* a claimed member the registration dropped: only the claim itself matches */
    json_object_del(c->metadata, "grant_types");
    ck_assert(!dcr_update_check_fixed(body("{\"grant_types\":[\"authorization_code\"]}"), c, &err));
}
END_TEST

START_TEST(resent_statement_contributes_registered_values)
{
    dcr_client *c = client(false);
    const json_t *fresh = dcr_json_own(pool, json_pack("{s:s}", "client_name", "Fresh"));
    const json_t *v;
    c->statement = dcr_json_own(pool, json_pack("{s:{s:s, s:[s,s], s:s}}", "claims", "client_name",
                                                "App", "grant_types", "authorization_code",
                                                "implicit", "x_unknown", "kept"));
    json_object_set_new(c->metadata, "software_statement", json_string("a.b.c"));
    v = dcr_update_statement_values(pool, c, body("{\"software_statement\":\"a.b.c\"}"), fresh);
    ck_assert_ptr_ne(v, fresh);
    ck_assert_str_eq(dcr_json_dump(pool, json_object_get(v, "grant_types")),
                     "[\"authorization_code\"]"); /* as registered, not as claimed */
    ck_assert_str_eq(dcr_json_string(v, "client_name"), "App");
    ck_assert_str_eq(dcr_json_string(v, "x_unknown"), "kept"); /* not registered: the claim */
    ck_assert_uint_eq(json_object_size(v), 3);
    /* the stored claims are not touched */
    ck_assert_uint_eq(
        json_array_size(json_object_get(json_object_get(c->statement, "claims"), "grant_types")),
        2);
    /* another statement: its own claims as they are */
    ck_assert_ptr_eq(
        dcr_update_statement_values(pool, c, body("{\"software_statement\":\"d.e.f\"}"), fresh),
        fresh);
    /* a client registered without a statement */
    c->statement = NULL;
    ck_assert_ptr_eq(
        dcr_update_statement_values(pool, c, body("{\"software_statement\":\"a.b.c\"}"), NULL),
        NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("update_compare");
    TCase *tc = unit_tcase("update_compare");
    tcase_add_test(tc, registered_values_are_ignored);
    tcase_add_test(tc, other_values_are_refused);
    tcase_add_test(tc, fixed_members_compare_with_registered_or_claimed);
    tcase_add_test(tc, resent_statement_contributes_registered_values);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
