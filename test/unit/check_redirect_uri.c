/* Redirect URI rules (src/redirect_uri.c), directly and through a whole registration. */
#include "metadata_kit.h"
#include "redirect_uri.h"

/* ---- redirect URIs --------------------------------------------------------------------- */

typedef struct uri_case {
    const char *uri;
    const char *app_type; /* NULL: omitted */
    bool listed;          /* policy lists com.example.app, javascript and ftp */
    bool ok;
} uri_case;

static const uri_case uri_cases[] = {
    {"https://app.example/cb", NULL, false, true},
    {"https://app.example:8443/cb?x=1", NULL, false, true},
    {"HTTPS://App.Example/cb", NULL, false, true},
    {"http://127.0.0.1:33418/cb", NULL, false, true},
    {"http://127.0.0.1/", NULL, false, true},
    {"http://[::1]:8080/cb", NULL, false, true},
    {"http://localhost:3118/callback", NULL, false, true},
    {"http://LocalHost/cb", NULL, false, true},
    {"http://app.example/cb", NULL, false, false},
    {"http://127.0.0.2/cb", NULL, false, false},
    {"http://[::2]/cb", NULL, false, false},
    {"http://localhost.evil.example/cb", NULL, false, false},
    {"http://10.0.0.1/cb", NULL, false, false},
    {"https://app.example/cb#frag", NULL, false, false},
    {"https://app.example/cb#", NULL, false, false},
    {"https://user@app.example/cb", NULL, false, false},
    {"https://user:pw@app.example/cb", NULL, false, false},
    {"http://x@127.0.0.1/cb", NULL, false, false},
    {"/cb", NULL, false, false},
    {"cb", NULL, false, false},
    {"//app.example/cb", NULL, false, false},
    {"https:///cb", NULL, false, false},
    {"https://*.example/cb", NULL, false, false},
    {"https://app.example:99999/cb", NULL, false, false},
    {"https://app.example:/cb", NULL, false, false},
    {"https://app.example/c b", NULL, false, false},
    {"https://app.example/\x01", NULL, false, false},
    {"https://app.example/%zz", NULL, false, false},
    {"https://[::1/cb", NULL, false, false},
    {"https://[nothex]/cb", NULL, false, false},
    {"", NULL, false, false},
    {"com.example.app:/oauth2redirect", NULL, false, false},
    {"com.example.app:/oauth2redirect", NULL, true, true},
    {"COM.Example.App:/oauth2redirect", NULL, true, true},
    {"com.example.app:", NULL, true, false},
    {"com.example.app:/cb#f", NULL, true, false},
    {"com.other.app:/cb", NULL, true, false},
    {"javascript:alert(1)", NULL, false, false},
    {"javascript:alert(1)", NULL, true, false},
    {"JavaScript:alert(1)", "native", true, false},
    {"data:text/html,hi", NULL, false, false},
    {"vbscript:msgbox", NULL, false, false},
    {"file:///etc/passwd", NULL, false, false},
    {"blob:https://app.example/x", NULL, false, false},
    {"about:blank", NULL, false, false},
    {"ftp://app.example/cb", NULL, false, false},
    {"ftp://app.example/cb", NULL, true, true},
    /* application_type web: no private-use schemes; loopback only without the implicit grant
       (issue 11; OIDC Registration restricts it for implicit only: implicit_web_clients) */
    {"https://app.example/cb", "web", false, true},
    {"http://127.0.0.1:8080/cb", "web", false, true},
    {"http://localhost/cb", "web", false, true},
    {"https://localhost/cb", "web", false, true},
    {"https://[::1]/cb", "web", false, true},
    {"http://app.example/cb", "web", false, false},
    {"com.example.app:/cb", "web", true, false},
    {"com.example.app:/cb", "web", false, false},
    /* application_type native: loopback http, listed private-use, claimed https */
    {"http://127.0.0.1:49152/cb", "native", false, true},
    {"http://[::1]:49152/cb", "native", false, true},
    {"http://localhost:3118/callback", "native", false, true},
    {"com.example.app:/cb", "native", true, true},
    /* issue 11: reverse domain name schemes need no listing for native apps (RFC 8252 7.1) */
    {"com.example.app:/cb", "native", false, true},
    {"com.example.app:/oauth2redirect/example-provider", "native", false, true},
    {"Com.Example.App:/cb", "native", false, true},
    {"io.x-y.app2:/cb", "native", false, true},
    {"com.example.app://cb", "native", false, true},
    {"com.example.app:/cb", NULL, false, false}, /* only for native */
    {"myapp:/cb", "native", false, false},       /* not a domain name */
    {"com..app:/cb", "native", false, false},
    {"com.example.:/cb", "native", false, false},
    {"com+x.app:/cb", "native", false, false},
    {"com.example.app:", "native", false, false},
    {"com.example.app:/cb#f", "native", false, false},
    {"java.script:/cb", "native", false, true}, /* a name like any other, not javascript: */
    {"https://app.example/cb", "native", false, true},
    {"https://127.0.0.1/cb", "native", false, false},
    {"http://app.example/cb", "native", false, false},
};

static void set_listed(bool listed)
{
    apr_array_header_t *s = apr_array_make(pool, 3, sizeof(const char *));
    if (listed) {
        APR_ARRAY_PUSH(s, const char *) = "com.example.app";
        APR_ARRAY_PUSH(s, const char *) = "javascript";
        APR_ARRAY_PUSH(s, const char *) = "ftp";
    }
    pol.redirect_schemes = s;
}

START_TEST(redirect_uri_classes)
{
    const uri_case *c = &uri_cases[_i];
    bool ok;
    dcr_policy_defaults(pool, &pol);
    set_listed(c->listed);
    dcr_error_clear(&err);
    ok = dcr_metadata_check_redirect_uri(c->uri, c->app_type, &pol, &err);
    ck_assert_msg(ok == c->ok, "%s (%s, listed %d): expected %s, got %s", c->uri,
                  c->app_type ? c->app_type : "no type", c->listed, c->ok ? "ok" : "refusal",
                  ok ? "ok" : err.description);
    if (!ok) {
        ck_assert_int_eq(err.code, DCR_ERR_INVALID_REDIRECT_URI);
        ck_assert_int_eq(err.status, 400);
    }
}
END_TEST

/* The same table through the whole registration: same verdicts, right error code. */
START_TEST(redirect_uri_classes_registered)
{
    const uri_case *c = &uri_cases[_i];
    json_t *req = json_pack("{s:[s]}", "redirect_uris", c->uri), *m;
    if (c->app_type)
        json_object_set_new(req, "application_type", json_string(c->app_type));
    dcr_json_own(pool, req);
    dcr_policy_defaults(pool, &pol);
    set_listed(c->listed);
    dcr_error_clear(&err);
    m = dcr_metadata_register(pool, req, NULL, &pol, NULL, &err);
    ck_assert_msg((m != NULL) == c->ok, "%s: %s", c->uri, m ? "accepted" : err.description);
    if (m)
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "redirect_uris"), 0)),
                         c->uri);
    else
        ck_assert_int_eq(err.code, DCR_ERR_INVALID_REDIRECT_URI);
}
END_TEST

START_TEST(redirect_uris_shape)
{
    reg_fails("{\"redirect_uris\":\"https://app.example/cb\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{\"redirect_uris\":[1]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{\"redirect_uris\":[\"https://app.example/cb\",\"http://evil.example/\"]}",
              DCR_ERR_INVALID_REDIRECT_URI);
    ck_assert_ptr_nonnull(strstr(err.description, "redirect_uris[1]"));
    {
        /* 33 URIs: over the cap */
        char *body = apr_pstrdup(pool, "{\"redirect_uris\":[");
        for (int i = 0; i < 33; i++)
            body = apr_psprintf(pool, "%s%s\"https://app.example/%d\"", body, i ? "," : "", i);
        reg_fails(apr_pstrcat(pool, body, "]}", NULL), DCR_ERR_INVALID_CLIENT_METADATA);
    }
}
END_TEST

START_TEST(redirect_required_for_redirect_grants)
{
    reg_fails("{}", DCR_ERR_INVALID_REDIRECT_URI);
    reg_fails("{\"redirect_uris\":[]}", DCR_ERR_INVALID_REDIRECT_URI);
    reg_fails("{\"grant_types\":[\"authorization_code\",\"refresh_token\"]}",
              DCR_ERR_INVALID_REDIRECT_URI);
    {
        /* keys make it confidential: client_credentials is not for public clients */
        json_t *m = reg_ok("{\"grant_types\":[\"client_credentials\"],"
                           "\"jwks_uri\":\"https://app.example/jwks\"}");
        ck_assert_str_eq(dump(json_object_get(m, "response_types")), "[]");
        ck_assert_ptr_null(json_object_get(m, "redirect_uris"));
    }
}
END_TEST

START_TEST(post_logout_redirect_uris)
{
    json_t *m = reg_ok("{" CB ",\"post_logout_redirect_uris\":[\"https://app.example/bye\"]}");
    ck_assert_str_eq(dump(json_object_get(m, "post_logout_redirect_uris")),
                     "[\"https://app.example/bye\"]");
    reg_ok("{\"redirect_uris\":[\"http://127.0.0.1/cb\"],"
           "\"post_logout_redirect_uris\":[\"http://127.0.0.1/bye\"]}");
    reg_fails("{" CB ",\"post_logout_redirect_uris\":[\"http://app.example/bye\"]}",
              DCR_ERR_INVALID_REDIRECT_URI);
    ck_assert_ptr_nonnull(strstr(err.description, "post_logout_redirect_uris[0]"));
    reg_ok("{" CB ",\"application_type\":\"web\","
           "\"post_logout_redirect_uris\":[\"http://127.0.0.1/bye\"]}");
    reg_fails("{" CB ",\"application_type\":\"web\","
              "\"post_logout_redirect_uris\":[\"http://app.example/bye\"]}",
              DCR_ERR_INVALID_REDIRECT_URI);
    reg_fails("{" CB ",\"post_logout_redirect_uris\":[\"https://app.example/#x\"]}",
              DCR_ERR_INVALID_REDIRECT_URI);
    reg_fails("{" CB ",\"post_logout_redirect_uris\":\"https://app.example/\"}",
              DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

/* Issue 11: OIDC Registration keeps web clients off loopback (and plain http) only when they
 * use the implicit grant. */
static json_t *reg_implicit(const char *request)
{
    dcr_error_clear(&err);
    dcr_policy_defaults(pool, &pol);
    pol.grant_types = dcr_words(pool, "authorization_code implicit refresh_token");
    pol.response_types = dcr_words(pool, "code token");
    return dcr_metadata_register(pool, js(request), NULL, &pol, NULL, &err);
}

START_TEST(implicit_web_clients)
{
    static const char *const loopback[] = {"http://127.0.0.1:8080/cb", "https://localhost/cb",
                                           "https://[::1]/cb", "http://localhost/cb"};
    for (size_t i = 0; i < sizeof(loopback) / sizeof(*loopback); i++) {
        const char *with = apr_psprintf(pool,
                                        "{\"application_type\":\"web\",\"redirect_uris\":"
                                        "[\"https://app.example/cb\",\"%s\"],"
                                        "\"grant_types\":[\"implicit\"]}",
                                        loopback[i]);
        ck_assert_msg(!reg_implicit(with), "accepted %s", with);
        ck_assert_int_eq(err.code, DCR_ERR_INVALID_REDIRECT_URI);
        ck_assert_ptr_nonnull(strstr(err.description, "redirect_uris[1]"));
        ck_assert_ptr_nonnull(strstr(err.description, "implicit"));
        /* the same URIs with the code grant: accepted */
        ck_assert_msg(reg_implicit(apr_psprintf(pool,
                                                "{\"application_type\":\"web\",\"redirect_uris\":"
                                                "[\"https://app.example/cb\",\"%s\"]}",
                                                loopback[i])),
                      "%s", err.description);
    }
    /* implicit next to the code grant is still implicit */
    ck_assert(!reg_implicit("{\"application_type\":\"web\",\"redirect_uris\":"
                            "[\"https://localhost/cb\"],"
                            "\"grant_types\":[\"authorization_code\",\"implicit\"],"
                            "\"response_types\":[\"code\",\"token\"]}"));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_REDIRECT_URI);
    /* https off loopback with implicit: fine */
    ck_assert_msg(reg_implicit("{\"application_type\":\"web\",\"redirect_uris\":"
                               "[\"https://app.example/cb\"],\"grant_types\":[\"implicit\"]}"),
                  "%s", err.description);
    /* the rule is the web type's: native and omitted types keep the base rules */
    ck_assert_msg(reg_implicit("{\"application_type\":\"native\",\"redirect_uris\":"
                               "[\"http://127.0.0.1:8080/cb\"],\"grant_types\":[\"implicit\"]}"),
                  "%s", err.description);
    ck_assert_msg(reg_implicit("{\"redirect_uris\":[\"http://127.0.0.1:8080/cb\"],"
                               "\"grant_types\":[\"implicit\"]}"),
                  "%s", err.description);
}
END_TEST

/* ---- real MCP client bodies (oauth_vc.md 4.3) ------------------------------------------ */

START_TEST(mcp_clients_register)
{
    /* Claude Code: native, localhost callback */
    json_t *m = reg_ok("{\"client_name\":\"Claude Code\",\"application_type\":\"native\","
                       "\"redirect_uris\":[\"http://localhost:3118/callback\"],"
                       "\"grant_types\":[\"authorization_code\",\"refresh_token\"],"
                       "\"response_types\":[\"code\"],\"token_endpoint_auth_method\":\"none\"}");
    ck_assert_str_eq(str(m, "application_type"), "native");
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")),
                     "[\"authorization_code\",\"refresh_token\"]");
    /* an SDK v2 client: native with 127.0.0.1 and a port */
    reg_ok("{\"application_type\":\"native\",\"redirect_uris\":[\"http://127.0.0.1:49152/cb\"]}");
    /* claude.ai-like web client with an https callback */
    m = reg_ok("{\"application_type\":\"web\","
               "\"redirect_uris\":[\"https://claude.ai/api/mcp/auth_callback\"],"
               "\"token_endpoint_auth_method\":\"client_secret_post\"}");
    ck_assert_str_eq(str(m, "token_endpoint_auth_method"), "none");
    /* OpenCode: loopback only, no application_type */
    reg_ok("{\"redirect_uris\":[\"http://127.0.0.1:19876/mcp/oauth/callback\"],"
           "\"client_name\":\"OpenCode\"}");
    /* VS Code: https and loopback mixed, no application_type */
    reg_ok("{\"redirect_uris\":[\"https://insiders.vscode.dev/redirect\","
           "\"https://vscode.dev/redirect\",\"http://127.0.0.1/\",\"http://127.0.0.1:33418/\"]}");
    /* mod_auth_openidc asks for every flow: the ones outside policy are dropped */
    m = reg_ok("{" CB ",\"grant_types\":[\"authorization_code\",\"implicit\",\"refresh_token\"],"
               "\"response_types\":[\"code\",\"id_token\",\"id_token token\",\"code id_token\","
               "\"code token\",\"code id_token token\"]}");
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")),
                     "[\"authorization_code\",\"refresh_token\"]");
    ck_assert_str_eq(dump(json_object_get(m, "response_types")), "[\"code\"]");
}
END_TEST

static Suite *redirect_uri_suite(void)
{
    Suite *s = suite_create("redirect_uri");
    TCase *tc = unit_tcase("redirect_uris");
    tcase_add_loop_test(tc, redirect_uri_classes, 0, sizeof(uri_cases) / sizeof(uri_cases[0]));
    tcase_add_loop_test(tc, redirect_uri_classes_registered, 0,
                        sizeof(uri_cases) / sizeof(uri_cases[0]));
    tcase_add_test(tc, redirect_uris_shape);
    tcase_add_test(tc, redirect_required_for_redirect_grants);
    tcase_add_test(tc, post_logout_redirect_uris);
    tcase_add_test(tc, implicit_web_clients);
    tcase_add_test(tc, mcp_clients_register);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(redirect_uri_suite)
