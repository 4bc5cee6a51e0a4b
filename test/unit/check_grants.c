/* grant_types / response_types (src/grants.c): the RFC 7591 2.1 table and the policy filter. */
#include "grants.h"
#include "metadata_kit.h"

/* ---- grant_types / response_types table ------------------------------------------------ */

typedef struct grant_case {
    const char *grants;    /* JSON or NULL for omitted */
    const char *responses; /* JSON or NULL */
    bool allow_all;        /* policy allows implicit, password and the hybrid types too */
    const char *want_g;    /* expected grant_types, NULL: invalid_client_metadata */
    const char *want_r;
} grant_case;

static const grant_case grant_cases[] = {
    /* defaults and the table itself (policy allows everything) */
    {NULL, NULL, true, "[\"authorization_code\"]", "[\"code\"]"},
    {"[\"authorization_code\"]", "[\"code\"]", true, "[\"authorization_code\"]", "[\"code\"]"},
    {"[\"authorization_code\"]", NULL, true, "[\"authorization_code\"]", "[\"code\"]"},
    {NULL, "[\"code\"]", true, "[\"authorization_code\"]", "[\"code\"]"},
    {"[\"authorization_code\"]", "[]", true, NULL, NULL},
    {"[\"authorization_code\"]", "[\"token\"]", true, NULL, NULL},
    {NULL, "[\"token\"]", true, NULL, NULL},
    {"[\"implicit\"]", "[\"token\"]", true, "[\"implicit\"]", "[\"token\"]"},
    {"[\"implicit\"]", NULL, true, "[\"implicit\"]", "[\"token\"]"},
    {"[\"implicit\"]", "[\"code\"]", true, NULL, NULL},
    {"[\"implicit\"]", "[\"id_token\"]", true, "[\"implicit\"]", "[\"id_token\"]"},
    {"[\"authorization_code\",\"implicit\"]", "[\"code id_token\"]", true,
     "[\"authorization_code\",\"implicit\"]", "[\"code id_token\"]"},
    {"[\"authorization_code\"]", "[\"code id_token\"]", true, NULL, NULL},
    {"[\"authorization_code\",\"implicit\"]", "[\"code\"]", true, NULL, NULL},
    {"[\"authorization_code\",\"implicit\"]", "[\"code\",\"token\"]", true,
     "[\"authorization_code\",\"implicit\"]", "[\"code\",\"token\"]"},
    {"[\"client_credentials\"]", NULL, true, "[\"client_credentials\"]", "[]"},
    {"[\"client_credentials\"]", "[]", true, "[\"client_credentials\"]", "[]"},
    {"[\"client_credentials\"]", "[\"code\"]", true, NULL, NULL},
    {"[\"password\"]", NULL, true, "[\"password\"]", "[]"},
    {"[\"refresh_token\"]", NULL, true, NULL, NULL},
    {"[]", NULL, true, NULL, NULL},
    {"[\"authorization_code\",\"refresh_token\"]", "[\"code\"]", true,
     "[\"authorization_code\",\"refresh_token\"]", "[\"code\"]"},
    {"[\"authorization_code\",\"authorization_code\"]", NULL, true, "[\"authorization_code\"]",
     "[\"code\"]"},
    /* the default policy drops what it does not allow */
    {"[\"authorization_code\",\"implicit\",\"refresh_token\"]", "[\"code\",\"token\"]", false,
     "[\"authorization_code\",\"refresh_token\"]", "[\"code\"]"},
    {"[\"implicit\"]", "[\"token\"]", false, NULL, NULL},
    {"[\"password\"]", NULL, false, NULL, NULL},
    {"[\"authorization_code\",\"client_credentials\",\"password\"]", NULL, false,
     "[\"authorization_code\",\"client_credentials\"]", "[\"code\"]"},
    {"[\"authorization_code\",\"implicit\"]", "[\"code id_token\"]", false, NULL, NULL},
    {"[\"authorization_code\",\"implicit\"]", "[\"code id_token\",\"code\"]", false,
     "[\"authorization_code\"]", "[\"code\"]"},
    {"[\"urn:ietf:params:oauth:grant-type:jwt-bearer\",\"client_credentials\"]", NULL, false,
     "[\"client_credentials\"]", "[]"},
    {"[\"implicit\",\"refresh_token\"]", "[\"token\"]", false, NULL, NULL},
    /* types */
    {"\"authorization_code\"", NULL, true, NULL, NULL},
    {"[1]", NULL, true, NULL, NULL},
    {"[\"\"]", NULL, true, NULL, NULL},
    {NULL, "\"code\"", true, NULL, NULL},
    {NULL, "[null]", true, NULL, NULL},
    {"{}", NULL, true, NULL, NULL},
};

START_TEST(grant_response_table)
{
    const grant_case *c = &grant_cases[_i];
    /* a confidential client (keys), so that only the table decides */
    json_t *req = json_pack("{s:[s], s:s}", "redirect_uris", "https://app.example/cb", "jwks_uri",
                            "https://app.example/jwks"),
           *m;
    dcr_json_own(pool, req);
    if (c->grants)
        json_object_set(req, "grant_types", js(c->grants));
    if (c->responses)
        json_object_set(req, "response_types", js(c->responses));
    dcr_policy_defaults(pool, &pol);
    if (c->allow_all) {
        pol.grant_types = dcr_words(pool, "authorization_code implicit refresh_token "
                                          "client_credentials password");
        apr_array_header_t *r = dcr_words(pool, "code token id_token");
        APR_ARRAY_PUSH(r, const char *) = "code id_token";
        pol.response_types = r;
    }
    dcr_error_clear(&err);
    m = dcr_metadata_register(pool, req, NULL, &pol, NULL, &err);
    if (!c->want_g) {
        ck_assert_msg(m == NULL, "case %d accepted: %s", _i, dump(m));
        ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
        return;
    }
    ck_assert_msg(m != NULL, "case %d refused: %s", _i, err.description);
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")), c->want_g);
    ck_assert_str_eq(dump(json_object_get(m, "response_types")), c->want_r);
}
END_TEST

START_TEST(policy_can_drop_the_code_grant)
{
    json_t *req = js("{" CB ",\"grant_types\":[\"authorization_code\",\"client_credentials\"],"
                     "\"response_types\":[\"code\"],\"jwks_uri\":\"https://app.example/jwks\"}"),
           *m;
    dcr_policy_defaults(pool, &pol);
    pol.grant_types = dcr_words(pool, "client_credentials");
    m = dcr_metadata_register(pool, req, NULL, &pol, NULL, &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")), "[\"client_credentials\"]");
    ck_assert_str_eq(dump(json_object_get(m, "response_types")), "[]");
    /* and nothing left at all */
    pol.grant_types = dcr_words(pool, "client_credentials");
    ck_assert_ptr_null(dcr_metadata_register(pool, js("{" CB "}"), NULL, &pol, NULL, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

START_TEST(response_type_needs)
{
    static const struct {
        const char *rt;
        bool code, implicit;
    } t[] = {{"code", true, false},
             {"token", false, true},
             {"id_token", false, true},
             {"code id_token", true, true},
             {"code token", true, true},
             {"code id_token token", true, true},
             {"id_token token", false, true},
             {"none", false, false},
             {"codes", false, false},
             {"tokens", false, false},
             {"", false, false},
             {"  code  ", true, false}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        bool c = !t[i].code, im = !t[i].implicit;
        dcr_response_type_needs(t[i].rt, &c, &im);
        ck_assert_msg(c == t[i].code && im == t[i].implicit, "'%s'", t[i].rt);
    }
}
END_TEST

/* issue 11: RFC 6749 4.4 gives client_credentials to confidential clients only; a public
 * client (token_endpoint_auth_method none) loses it like an out-of-policy grant */
START_TEST(public_client_loses_client_credentials)
{
    json_t *m;
    dcr_policy_defaults(pool, &pol);
    /* no keys: public; the grant goes, the code grant stays */
    m = dcr_metadata_register(pool,
                              js("{" CB ",\"grant_types\":[\"authorization_code\","
                                 "\"client_credentials\",\"refresh_token\"]}"),
                              NULL, &pol, NULL, &err);
    ck_assert_msg(m != NULL, "%s", err.description);
    ck_assert_str_eq(str(m, "token_endpoint_auth_method"), "none");
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")),
                     "[\"authorization_code\",\"refresh_token\"]");
    /* the only grant: refused, and the description says why */
    dcr_error_clear(&err);
    ck_assert_ptr_null(dcr_metadata_register(pool, js("{\"grant_types\":[\"client_credentials\"]}"),
                                             NULL, &pol, NULL, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_int_eq(err.status, 400);
    ck_assert_ptr_nonnull(strstr(err.description, "confidential"));
    /* nothing but refresh_token left: refused as well */
    ck_assert_ptr_null(dcr_metadata_register(
        pool, js("{\"grant_types\":[\"client_credentials\",\"refresh_token\"]}"), NULL, &pol, NULL,
        &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    /* asking for none explicitly, with keys, is still public */
    ck_assert_ptr_null(dcr_metadata_register(
        pool,
        js("{\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":\"none\","
           "\"jwks_uri\":\"https://app.example/jwks\"}"),
        NULL, &pol, NULL, &err));
    /* a statement that grants it to a public client does not help either */
    ck_assert_ptr_null(dcr_metadata_register(
        pool, js("{}"), js("{\"grant_types\":[\"client_credentials\"]}"), &pol, NULL, &err));
    /* a forced "none" (DCRVCAuthMethod none) is public too */
    ck_assert_ptr_null(dcr_metadata_register(
        pool,
        js("{\"grant_types\":[\"client_credentials\"],\"jwks_uri\":\"https://app.example/j\"}"),
        NULL, &pol, "none", &err));
}
END_TEST

START_TEST(confidential_clients_keep_client_credentials)
{
    json_t *m;
    dcr_policy_defaults(pool, &pol);
    m = dcr_metadata_register(
        pool,
        js("{\"grant_types\":[\"client_credentials\"],\"jwks_uri\":\"https://app.example/j\"}"),
        NULL, &pol, NULL, &err);
    ck_assert_msg(m != NULL, "%s", err.description);
    ck_assert_str_eq(str(m, "token_endpoint_auth_method"), "private_key_jwt");
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")), "[\"client_credentials\"]");
    /* SPIFFE clients: the forced method authenticates them */
    m = dcr_metadata_register(pool, js("{\"grant_types\":[\"client_credentials\"]}"), NULL, &pol,
                              "spiffe_jwt", &err);
    ck_assert_msg(m != NULL, "%s", err.description);
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")), "[\"client_credentials\"]");
}
END_TEST

/* DCRAllowedGrantTypes / DCRAllowedResponseTypes values: typos are caught at configuration. */
START_TEST(known_values)
{
    ck_assert(dcr_grant_type_known("client_credentials"));
    ck_assert(dcr_grant_type_known("authorization_code"));
    ck_assert(dcr_grant_type_known("refresh_token"));
    ck_assert(dcr_grant_type_known("urn:ietf:params:oauth:grant-type:jwt-bearer"));
    ck_assert(dcr_grant_type_known("urn:ietf:params:oauth:grant-type:token-exchange"));
    ck_assert(!dcr_grant_type_known("client_credential"));
    ck_assert(!dcr_grant_type_known("authorisation_code"));
    ck_assert(!dcr_grant_type_known(""));
    ck_assert(!dcr_grant_type_known(":x"));
    ck_assert(!dcr_grant_type_known("urn:"));
    ck_assert(!dcr_grant_type_known("1urn:x"));
    ck_assert(dcr_response_type_known("code"));
    ck_assert(dcr_response_type_known("none"));
    ck_assert(dcr_response_type_known("code id_token"));
    ck_assert(!dcr_response_type_known("codes"));
    ck_assert(!dcr_response_type_known("code none"));
    ck_assert(!dcr_response_type_known(""));
}
END_TEST

static Suite *grants_suite(void)
{
    Suite *s = suite_create("grants");
    TCase *tc = unit_tcase("grants");
    tcase_add_loop_test(tc, grant_response_table, 0, sizeof(grant_cases) / sizeof(grant_cases[0]));
    tcase_add_test(tc, policy_can_drop_the_code_grant);
    tcase_add_test(tc, public_client_loses_client_credentials);
    tcase_add_test(tc, confidential_clients_keep_client_credentials);
    tcase_add_test(tc, response_type_needs);
    tcase_add_test(tc, known_values);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(grants_suite)
