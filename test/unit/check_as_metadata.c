/* The metadata document as served in front of an authorization server: issuer paths of the two
 * well-known forms, the issuer check (RFC 8414 3.3), the rewritten registration_endpoint, the
 * auth methods cut down to what this module registers, and what must not pass through. */
#include "as_metadata.h"

#include "json.h"
#include "unit.h"
#include "vc.h"

#include <apr_strings.h>
#include <string.h>

#define ISS "https://as.example.com"
#define REG "https://as.example.com/register"

static dcr_as_metadata_rules rules_with(const char *issuer, const char *methods)
{
    dcr_as_metadata_rules r = {issuer, REG, dcr_words(pool, methods)};
    return r;
}

static json_t *render(const dcr_as_metadata_rules *r, const char *doc, const char **why)
{
    size_t n = 0;
    char *out = dcr_as_metadata_render(pool, doc, strlen(doc), r, &n, why);
    json_t *j;
    if (!out)
        return NULL;
    ck_assert_uint_eq(n, strlen(out));
    j = dcr_json_parse(pool, out, n, DCR_JSON_MAX_DEPTH, why);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const char *methods_of(json_t *doc)
{
    const char *s = "";
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(doc, "token_endpoint_auth_methods_supported"), i, m) s =
        apr_pstrcat(pool, s, i ? " " : "", json_string_value(m), NULL);
    return s;
}

START_TEST(issuer_paths)
{
    dcr_as_metadata_kind k = DCR_AS_METADATA_OIDC;
    ck_assert_str_eq(
        dcr_as_metadata_issuer_path(pool, "/.well-known/oauth-authorization-server", &k), "");
    ck_assert_int_eq(k, DCR_AS_METADATA_OAUTH);
    ck_assert_str_eq(
        dcr_as_metadata_issuer_path(pool, "/.well-known/oauth-authorization-server/realms/a", &k),
        "/realms/a");
    ck_assert_int_eq(k, DCR_AS_METADATA_OAUTH);
    ck_assert_str_eq(dcr_as_metadata_issuer_path(pool, "/.well-known/openid-configuration", &k),
                     "");
    ck_assert_int_eq(k, DCR_AS_METADATA_OIDC);
    ck_assert_str_eq(
        dcr_as_metadata_issuer_path(pool, "/realms/a/.well-known/openid-configuration", &k),
        "/realms/a");
    ck_assert_int_eq(k, DCR_AS_METADATA_OIDC);
    /* neither form, or not a plain path */
    ck_assert_ptr_null(dcr_as_metadata_issuer_path(pool, "/metadata", &k));
    ck_assert_ptr_null(
        dcr_as_metadata_issuer_path(pool, "/.well-known/oauth-authorization-serverX", &k));
    ck_assert_ptr_null(
        dcr_as_metadata_issuer_path(pool, "/.well-known/oauth-authorization-server/", &k));
    ck_assert_ptr_null(
        dcr_as_metadata_issuer_path(pool, "/.well-known/oauth-authorization-server/../x", &k));
    ck_assert_ptr_null(
        dcr_as_metadata_issuer_path(pool, "/.well-known/oauth-authorization-server//x", &k));
    ck_assert_ptr_null(
        dcr_as_metadata_issuer_path(pool, "/a/./.well-known/openid-configuration", &k));
    ck_assert_ptr_null(
        dcr_as_metadata_issuer_path(pool, "/a?b/.well-known/openid-configuration", &k));
}
END_TEST

START_TEST(rewrites_registration_endpoint_and_methods)
{
    dcr_as_metadata_rules r = rules_with(ISS, "none private_key_jwt");
    const char *why = NULL;
    json_t *d = render(&r,
                       "{\"issuer\":\"" ISS "\",\"token_endpoint\":\"" ISS "/token\","
                       "\"registration_endpoint\":\"https://upstream.internal/reg\","
                       "\"token_endpoint_auth_methods_supported\":[\"client_secret_basic\","
                       "\"private_key_jwt\",\"none\",\"client_secret_post\"],"
                       "\"response_types_supported\":[\"code\"]}",
                       &why);
    ck_assert_msg(d != NULL, "%s", why);
    ck_assert_str_eq(dcr_json_string(d, "registration_endpoint"), REG);
    ck_assert_str_eq(methods_of(d), "private_key_jwt none");              /* the upstream's order */
    ck_assert_str_eq(dcr_json_string(d, "token_endpoint"), ISS "/token"); /* untouched */
    ck_assert_str_eq(dcr_json_string(d, "issuer"), ISS);

    /* no registration_endpoint upstream: added */
    d = render(&r, "{\"issuer\":\"" ISS "\",\"token_endpoint_auth_methods_supported\":[\"none\"]}",
               &why);
    ck_assert_str_eq(dcr_json_string(d, "registration_endpoint"), REG);
    ck_assert_str_eq(methods_of(d), "none");
}
END_TEST

/* RFC 8414 2: no list means client_secret_basic only, which this module never registers. */
START_TEST(absent_list_is_client_secret_basic)
{
    dcr_as_metadata_rules r = rules_with(ISS, "none private_key_jwt");
    const char *why = NULL;
    json_t *d = render(&r, "{\"issuer\":\"" ISS "\"}", &why);
    ck_assert_ptr_nonnull(d);
    ck_assert(json_is_array(json_object_get(d, "token_endpoint_auth_methods_supported")));
    ck_assert_str_eq(methods_of(d), "");
    r = rules_with(ISS, "client_secret_basic");
    d = render(&r, "{\"issuer\":\"" ISS "\"}", &why);
    ck_assert_str_eq(methods_of(d), "client_secret_basic");
}
END_TEST

START_TEST(issuer_must_match)
{
    dcr_as_metadata_rules r = rules_with(ISS "/realms/a", "none");
    const char *why = NULL;
    size_t n;
    static const char *const bad[] = {
        "{\"issuer\":\"" ISS "\"}",           /* the origin without the path */
        "{\"issuer\":\"" ISS "/realms/a/\"}", /* trailing slash: another issuer */
        "{\"issuer\":\"https://evil.example/realms/a\"}",
        "{\"issuer\":\"HTTPS://AS.EXAMPLE.COM/realms/a\"}", /* compared exactly */
        "{\"token_endpoint\":\"" ISS "/token\"}",           /* no issuer */
        "{\"issuer\":42}",
        "[{\"issuer\":\"" ISS "/realms/a\"}]",                                   /* not an object */
        "{\"issuer\":\"" ISS "/realms/a\",\"issuer\":\"https://evil.example\"}", /* duplicate */
        "{\"issuer\":\"" ISS "/realms/a\"",                                      /* truncated */
        NULL};
    for (int i = 0; bad[i]; i++) {
        why = NULL;
        ck_assert_msg(!dcr_as_metadata_check(pool, bad[i], strlen(bad[i]), &r, &why), "%s", bad[i]);
        ck_assert_ptr_nonnull(why);
        ck_assert_ptr_null(dcr_as_metadata_render(pool, bad[i], strlen(bad[i]), &r, &n, &why));
    }
    {
        /* nesting beyond the parser's depth limit */
        char *deep = apr_pstrcat(pool, "{\"issuer\":\"" ISS "/realms/a\",\"x\":", NULL);
        for (int i = 0; i < 40; i++)
            deep = apr_pstrcat(pool, deep, "[", NULL);
        for (int i = 0; i < 40; i++)
            deep = apr_pstrcat(pool, deep, "]", NULL);
        deep = apr_pstrcat(pool, deep, "}", NULL);
        ck_assert(!dcr_as_metadata_check(pool, deep, strlen(deep), &r, &why));
    }
    why = NULL;
    ck_assert(!dcr_as_metadata_check(pool, bad[0], strlen(bad[0]), &r, &why));
    ck_assert_ptr_nonnull(strstr(why, "RFC 8414 3.3"));
    ck_assert(dcr_as_metadata_trust_check(&r, pool, "{\"issuer\":\"" ISS "/realms/a\"}",
                                          strlen("{\"issuer\":\"" ISS "/realms/a\"}"), &why));
}
END_TEST

START_TEST(malformed_method_lists_refused)
{
    dcr_as_metadata_rules r = rules_with(ISS, "none");
    const char *why = NULL;
    const char *a = "{\"issuer\":\"" ISS "\",\"token_endpoint_auth_methods_supported\":\"none\"}";
    const char *b =
        "{\"issuer\":\"" ISS "\",\"token_endpoint_auth_methods_supported\":[\"none\",1]}";
    ck_assert(!dcr_as_metadata_check(pool, a, strlen(a), &r, &why));
    ck_assert(!dcr_as_metadata_check(pool, b, strlen(b), &r, &why));
}
END_TEST

/* Values that would send a client around this module do not pass through. */
START_TEST(signed_metadata_and_mtls_alias_dropped)
{
    dcr_as_metadata_rules r = rules_with(ISS, "none");
    const char *why = NULL;
    json_t *d = render(&r,
                       "{\"issuer\":\"" ISS "\",\"signed_metadata\":\"eyJ.eyJ.sig\","
                       "\"mtls_endpoint_aliases\":{\"token_endpoint\":\"https://mtls/token\","
                       "\"registration_endpoint\":\"https://mtls/reg\"}}",
                       &why);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_null(json_object_get(d, "signed_metadata"));
    ck_assert_ptr_null(
        json_object_get(json_object_get(d, "mtls_endpoint_aliases"), "registration_endpoint"));
    ck_assert_str_eq(dcr_json_string(json_object_get(d, "mtls_endpoint_aliases"), "token_endpoint"),
                     "https://mtls/token");
}
END_TEST

static const char *words_of(apr_array_header_t *a)
{
    const char *s = "";
    for (int i = 0; i < a->nelts; i++)
        s = apr_pstrcat(pool, s, i ? " " : "", APR_ARRAY_IDX(a, i, const char *), NULL);
    return s;
}

START_TEST(methods_follow_policy)
{
    dcr_policy p;
    struct dcr_vc_trust vc;
    dcr_policy_defaults(pool, &p);
    /* statements required and no anchor: nobody registers */
    ck_assert_str_eq(words_of(dcr_as_metadata_methods(pool, &p)), "");
    p.require_statement = false;
    ck_assert_str_eq(words_of(dcr_as_metadata_methods(pool, &p)),
                     "none private_key_jwt tls_client_auth self_signed_tls_client_auth");
    p.require_statement = true;
    p.spiffe = (const struct dcr_spiffe_trust *)&p; /* any non-NULL: trust domains configured */
    ck_assert_str_eq(words_of(dcr_as_metadata_methods(pool, &p)), "spiffe_jwt");
    p.spiffe_auth_method = "private_key_jwt";
    ck_assert_str_eq(words_of(dcr_as_metadata_methods(pool, &p)), "private_key_jwt");
    p.spiffe = NULL;
    memset(&vc, 0, sizeof(vc));
    p.vc = &vc;
    ck_assert_str_eq(words_of(dcr_as_metadata_methods(pool, &p)),
                     "none private_key_jwt tls_client_auth self_signed_tls_client_auth");
    vc.auth_method = "client_secret_basic";
    ck_assert_str_eq(words_of(dcr_as_metadata_methods(pool, &p)),
                     "client_secret_basic private_key_jwt");
    vc.auth_method = ""; /* DCRVCAuthMethod default */
    ck_assert_str_eq(words_of(dcr_as_metadata_methods(pool, &p)),
                     "none private_key_jwt tls_client_auth self_signed_tls_client_auth");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("as_metadata");
    TCase *tc = unit_tcase("as_metadata");
    tcase_add_test(tc, issuer_paths);
    tcase_add_test(tc, rewrites_registration_endpoint_and_methods);
    tcase_add_test(tc, absent_list_is_client_secret_basic);
    tcase_add_test(tc, issuer_must_match);
    tcase_add_test(tc, malformed_method_lists_refused);
    tcase_add_test(tc, signed_metadata_and_mtls_alias_dropped);
    tcase_add_test(tc, methods_follow_policy);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(make_suite)
