/* What every upstream kind shares (src/upstream.c): the metadata forwarded, an answer put
 * onto the client, local ids, the upstream's errors; the record keeps the upstream's client but
 * never its secrets (src/client.c); an RFC 7592 PUT-back of an upstream client. */
#include "client.h"
#include "json.h"
#include "unit.h"
#include "update_compare.h"
#include "upstream.h"

#include <apr_strings.h>
#include <string.h>

#define SVID "spiffe://example.org/ns/prod/sa/agent"
#define JWKS "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"x\",\"y\":\"y\"}]}"

static dcr_upstream up = {.url = "https://as.example.com/reg",
                          .origin = "as.example.com:443",
                          .auth_method = "private_key_jwt",
                          .ops = &dcr_upstream_rfc7591_ops};

static json_t *obj(const char *text)
{
    const char *why;
    json_t *j = dcr_json_parse(pool, text, strlen(text), 8, &why);
    ck_assert_msg(j != NULL, "%s: %s", text, why);
    return j;
}

static dcr_client *spiffe_client(const char *metadata)
{
    dcr_client *c = apr_pcalloc(pool, sizeof(*c));
    c->client_id = "local";
    c->issued_at = 1790000000;
    c->subject_kind = "spiffe";
    c->subject = SVID;
    c->issuer = "example.org";
    c->metadata = obj(metadata);
    c->statement = obj("{\"claims\":{},\"extensions\":{\"spiffe_id\":\"" SVID "\"}}");
    return c;
}

START_TEST(forwarded_metadata_is_the_vetted_metadata_only)
{
    dcr_error err;
    dcr_client *c = spiffe_client("{\"client_name\":\"agent\",\"software_statement\":\"a.b.c\","
                                  "\"spiffe_id\":\"" SVID "\",\"token_endpoint_auth_method\":"
                                  "\"spiffe_jwt\",\"client_secret_expires_at\":0,\"jwks\":" JWKS
                                  ",\"grant_types\":[\"client_credentials\"]}");
    json_t *m;
    up.ops = &dcr_upstream_rfc7591_ops;
    m = dcr_upstream_request_metadata(pool, &up, c, &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_null(json_object_get(m, "software_statement"));
    ck_assert_ptr_null(json_object_get(m, "spiffe_id"));
    ck_assert_ptr_null(json_object_get(m, "client_secret_expires_at"));
    ck_assert_str_eq(dcr_json_string(m, "token_endpoint_auth_method"), "private_key_jwt");
    ck_assert_str_eq(dcr_json_string(m, "client_name"), "agent");
    ck_assert_ptr_nonnull(json_object_get(m, "jwks"));
    /* the client's own object is left as it was */
    ck_assert_str_eq(dcr_json_string(c->metadata, "token_endpoint_auth_method"), "spiffe_jwt");
}
END_TEST

START_TEST(spiffe_client_without_keys_is_refused)
{
    dcr_error err;
    dcr_client *c = spiffe_client("{\"client_name\":\"agent\"}");
    ck_assert_ptr_null(dcr_upstream_request_metadata(pool, &up, c, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_nonnull(strstr(err.description, "jwks"));
}
END_TEST

START_TEST(open_client_gets_an_explicit_method)
{
    dcr_error err;
    dcr_client *c = spiffe_client("{\"redirect_uris\":[\"https://app.example/cb\"]}");
    json_t *m;
    c->subject_kind = NULL;
    c->statement = NULL;
    m = dcr_upstream_request_metadata(pool, &up, c, &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(dcr_json_string(m, "token_endpoint_auth_method"), "none");
}
END_TEST

START_TEST(answer_applied_keeps_statement_and_secrets_apart)
{
    dcr_client *c = spiffe_client("{\"software_statement\":\"a.b.c\",\"spiffe_id\":\"" SVID "\"}");
    dcr_upstream_answer a = {
        .client_id = "up-1",
        .issued_at = 1790000100,
        .metadata =
            obj("{\"client_id\":\"up-1\",\"client_secret\":\"s3\",\"registration_"
                "access_token\":\"RAT-SECRET-1\",\"registration_client_uri\":\"https://as.example."
                "com/reg/up-1\",\"client_name\":\"agent\",\"client_secret_expires_at\":0,"
                "\"id_token_signed_response_alg\":\"RS256\"}"),
        .ref = obj("{\"kind\":\"rfc7591\",\"client_id\":\"up-1\"}"),
        .secret = "{\"registration_access_token\":\"RAT-SECRET-1\",\"client_secret\":\"s3\"}"};
    char *record;
    dcr_client *back;
    dcr_error err;

    dcr_upstream_apply(pool, c, &a);
    ck_assert_str_eq(dcr_client_public_id(c), "up-1");
    ck_assert_str_eq(c->client_id, "local");
    ck_assert_int_eq(c->issued_at, 1790000100);
    ck_assert_str_eq(dcr_json_string(c->metadata, "software_statement"), "a.b.c");
    ck_assert_str_eq(dcr_json_string(c->metadata, "spiffe_id"), SVID);
    ck_assert_str_eq(dcr_json_string(c->metadata, "id_token_signed_response_alg"), "RS256");
    ck_assert_ptr_null(json_object_get(c->metadata, "client_secret"));
    ck_assert_ptr_null(json_object_get(c->metadata, "registration_access_token"));
    ck_assert_ptr_nonnull(json_object_get(c->metadata, "client_secret_expires_at"));
    ck_assert_str_eq(dcr_upstream_secret(pool, c, "client_secret"), "s3");
    ck_assert(dcr_upstream_secret_matches(c, "s3"));
    ck_assert(!dcr_upstream_secret_matches(c, "s4"));
    ck_assert(!dcr_upstream_secret_matches(c, "s"));

    /* the record names the upstream client but holds none of its secrets */
    record = dcr_client_to_record(pool, c);
    ck_assert_ptr_null(strstr(record, "RAT-SECRET"));
    ck_assert_ptr_null(strstr(record, "\"s3\""));
    back = dcr_client_from_record(pool, record, strlen(record), &err);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(dcr_client_public_id(back), "up-1");
    ck_assert_ptr_null(back->upstream_secret);
}
END_TEST

START_TEST(corrupt_upstream_member_is_refused)
{
    dcr_error err;
    const char *r = "{\"version\":2,\"client_id\":\"x\",\"client_id_issued_at\":1,\"expires_at\":0,"
                    "\"registration_access_token_sha256\":\"\",\"metadata\":{},\"upstream\":"
                    "{\"kind\":\"rfc7591\"}}";
    ck_assert_ptr_null(dcr_client_from_record(pool, r, strlen(r), &err));
    ck_assert_ptr_nonnull(strstr(err.detail, "upstream"));
}
END_TEST

START_TEST(local_ids_are_hashes_per_upstream)
{
    dcr_upstream other = up;
    const char *a = dcr_upstream_local_id(pool, &up, "client-1");
    other.url = "https://other.example.com/reg";
    ck_assert_int_eq(strlen(a), 65);
    ck_assert_int_eq(a[0], 'u');
    ck_assert_str_eq(a, dcr_upstream_local_id(pool, &up, "client-1"));
    ck_assert_str_ne(a, dcr_upstream_local_id(pool, &up, "client-2"));
    ck_assert_str_ne(a, dcr_upstream_local_id(pool, &other, "client-1"));
}
END_TEST

START_TEST(client_uri_encodes_the_upstream_id)
{
    dcr_client *c = spiffe_client("{}");
    c->upstream = obj("{\"kind\":\"rfc7591\",\"client_id\":\"a/b c%\"}");
    ck_assert_str_eq(dcr_client_uri(pool, "https://gw/register", c),
                     "https://gw/register/a%2Fb%20c%25");
}
END_TEST

START_TEST(upstream_errors_become_rfc7591_errors)
{
    dcr_error err;
    ck_assert(!dcr_upstream_error(pool, "registration", 400,
                                  "{\"error\":\"invalid_redirect_uri\",\"error_description\":"
                                  "\"bad\\nuri\"}",
                                  &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_REDIRECT_URI);
    ck_assert_ptr_nonnull(strstr(err.description, "bad uri"));
    /* a code RFC 7591 has no place for: invalid_client_metadata, the words kept */
    ck_assert(!dcr_upstream_error(pool, "registration", 400,
                                  "{\"error\":\"invalid_request\",\"error_description\":\"x\"}",
                                  &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    /* anything but a 400 with a code is the upstream being unavailable */
    ck_assert(
        !dcr_upstream_error(pool, "registration", 401, "{\"error\":\"invalid_token\"}", &err));
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
    ck_assert(!dcr_upstream_error(pool, "registration", 400, "<html>", &err));
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
    ck_assert(!dcr_upstream_error(pool, "registration", 500, NULL, &err));
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
}
END_TEST

START_TEST(put_back_of_an_upstream_client)
{
    dcr_error err;
    dcr_client *c = spiffe_client("{\"client_name\":\"agent\",\"client_secret_expires_at\":0}");
    c->upstream = obj("{\"kind\":\"rfc7591\",\"client_id\":\"up 1\"}");
    c->upstream_secret = "{\"registration_access_token\":\"r\",\"client_secret\":\"s3\"}";
    dcr_token_hash("tok", c->rat_hash);
    ck_assert(dcr_update_check_managed(
        obj("{\"client_id\":\"up 1\",\"registration_client_uri\":\"https://gw/r/up%201\","
            "\"client_secret\":\"s3\",\"client_secret_expires_at\":0,"
            "\"registration_access_token\":\"tok\"}"),
        c, "https://gw/r", &err));
    ck_assert(!dcr_update_check_managed(obj("{\"client_id\":\"local\"}"), c, "https://gw/r", &err));
    ck_assert(!dcr_update_check_managed(obj("{\"client_id\":\"up 1\",\"client_secret\":\"s4\"}"), c,
                                        "https://gw/r", &err));
}
END_TEST

/* RFC 7591 3.2.1 lets the upstream replace values: never into a secret or another method for
 * a SPIFFE client; a VC or open client takes what the upstream decided. */
START_TEST(spiffe_client_registered_otherwise_is_refused)
{
    dcr_error err;
    dcr_client *c = spiffe_client("{\"jwks\":" JWKS "}");
    json_t *asked = obj("{\"token_endpoint_auth_method\":\"private_key_jwt\"}");
    static const char *const refused[] = {
        "{\"client_id\":\"x\",\"client_secret\":\"s\",\"token_endpoint_auth_method\":"
        "\"client_secret_basic\"}",
        "{\"client_id\":\"x\",\"client_secret\":\"s\",\"token_endpoint_auth_method\":"
        "\"private_key_jwt\"}",
        "{\"client_id\":\"x\",\"client_secret\":\"s\"}",
        "{\"client_id\":\"x\",\"token_endpoint_auth_method\":\"none\"}", NULL};
    dcr_upstream_answer a = {.client_id = "x"};

    for (const char *const *r = refused; *r; r++) {
        a.metadata = obj(*r);
        dcr_error_clear(&err);
        ck_assert_msg(!dcr_upstream_answer_allowed(c, asked, &a, &err), "%s", *r);
        ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
        ck_assert_ptr_null(strstr(err.description, "\"s\""));
    }
    a.metadata = obj("{\"client_id\":\"x\",\"token_endpoint_auth_method\":\"private_key_jwt\"}");
    ck_assert(dcr_upstream_answer_allowed(c, asked, &a, &err));
    a.metadata = obj("{\"client_id\":\"x\"}");
    ck_assert(dcr_upstream_answer_allowed(c, asked, &a, &err));
    c->subject_kind = "vc";
    a.metadata = obj("{\"client_id\":\"x\",\"client_secret\":\"s\"}");
    ck_assert(dcr_upstream_answer_allowed(c, asked, &a, &err));
}
END_TEST

START_TEST(secret_without_client_secret_keeps_the_token)
{
    dcr_client c = {.upstream_secret = "{\"registration_access_token\":\"r\",\"client_secret\":"
                                       "\"s\"}"};
    const char *out = dcr_upstream_secret_without_client_secret(pool, &c);
    ck_assert_ptr_null(strstr(out, "\"s\""));
    c.upstream_secret = out;
    ck_assert_str_eq(dcr_upstream_secret(pool, &c, "registration_access_token"), "r");
}
END_TEST

START_TEST(upstream_error_never_repeats_the_token_sent)
{
    dcr_error err;
    const char *tok = "tok-0123456789abcdef";
    dcr_error_clear(&err);
    ck_assert(!dcr_upstream_error_hiding(pool, "registration", 400,
                                         "{\"error\":\"invalid_client_metadata\",\"error_"
                                         "description\":\"tok-0123456789abcdef is wrong, "
                                         "tok-0123456789abcdef\"}",
                                         tok, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_null(strstr(err.description, "0123456789"));
    ck_assert_ptr_null(strstr(err.detail, "0123456789"));
    ck_assert_ptr_nonnull(strstr(err.description, "is wrong"));
    dcr_error_clear(&err);
    ck_assert(!dcr_upstream_error_hiding(pool, "update", 400,
                                         "{\"error\":\"tok-0123456789abcdef\"}", tok, &err));
    ck_assert_ptr_null(strstr(err.description, "0123456789"));
    ck_assert_ptr_null(strstr(err.detail, "0123456789"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("upstream");
    TCase *tc = unit_tcase("shared");
    tcase_add_test(tc, forwarded_metadata_is_the_vetted_metadata_only);
    tcase_add_test(tc, spiffe_client_without_keys_is_refused);
    tcase_add_test(tc, open_client_gets_an_explicit_method);
    tcase_add_test(tc, answer_applied_keeps_statement_and_secrets_apart);
    tcase_add_test(tc, corrupt_upstream_member_is_refused);
    tcase_add_test(tc, local_ids_are_hashes_per_upstream);
    tcase_add_test(tc, client_uri_encodes_the_upstream_id);
    tcase_add_test(tc, upstream_errors_become_rfc7591_errors);
    tcase_add_test(tc, put_back_of_an_upstream_client);
    tcase_add_test(tc, spiffe_client_registered_otherwise_is_refused);
    tcase_add_test(tc, secret_without_client_secret_keeps_the_token);
    tcase_add_test(tc, upstream_error_never_repeats_the_token_sent);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
