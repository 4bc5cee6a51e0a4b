/* RFC 7591 metadata rules (src/metadata.c, grants.c, auth_method.c, redirect_uri.c, uri.c,
 * lang_tag.c): every rule with passing and failing inputs. */
#include "json.h"
#include "metadata.h"
#include "unit.h"

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <string.h>

static dcr_policy pol;
static dcr_error err;

#define CB "\"redirect_uris\":[\"https://app.example/cb\"]"

static json_t *js(const char *text)
{
    const char *why = NULL;
    json_t *j = dcr_json_parse(pool, text, strlen(text), DCR_JSON_MAX_DEPTH, &why);
    ck_assert_msg(j != NULL, "test JSON does not parse: %s (%s)", text, why);
    return j;
}

static json_t *reg2(const char *request, const char *statement, const char *forced)
{
    dcr_error_clear(&err);
    dcr_policy_defaults(pool, &pol);
    return dcr_metadata_register(pool, js(request), statement ? js(statement) : NULL, &pol, forced,
                                 &err);
}

static json_t *reg(const char *request)
{
    return reg2(request, NULL, NULL);
}

static json_t *reg_ok(const char *request)
{
    json_t *m = reg(request);
    ck_assert_msg(m != NULL, "refused %s: %s", request, err.description);
    ck_assert_int_eq(err.code, DCR_OK);
    return m;
}

static void reg_fails(const char *request, dcr_error_code code)
{
    json_t *m = reg(request);
    ck_assert_msg(m == NULL, "accepted %s as %s", request, m ? dcr_json_dump(pool, m) : "");
    ck_assert_msg(err.code == code, "%s: got %s (%s)", request, dcr_error_name(err.code),
                  err.description);
    ck_assert_int_eq(err.status, 400);
    ck_assert(err.description[0] != '\0');
}

static const char *str(const json_t *o, const char *k)
{
    return dcr_json_string(o, k);
}

static const char *dump(const json_t *j)
{
    return j ? dcr_json_dump(pool, j) : "(absent)";
}

/* ---- basics ---------------------------------------------------------------------------- */

START_TEST(minimal_request_gets_defaults)
{
    json_t *m = reg_ok("{" CB "}");
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")), "[\"authorization_code\"]");
    ck_assert_str_eq(dump(json_object_get(m, "response_types")), "[\"code\"]");
    ck_assert_str_eq(str(m, "token_endpoint_auth_method"), "none");
    ck_assert_str_eq(dump(json_object_get(m, "redirect_uris")), "[\"https://app.example/cb\"]");
    ck_assert_ptr_null(json_object_get(m, "application_type"));
}
END_TEST

START_TEST(non_object_refused)
{
    reg_fails("[1,2]", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("\"x\"", DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_null(reg2("{" CB "}", "[1]", NULL));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

START_TEST(unknown_and_server_members_dropped)
{
    json_t *m = reg_ok("{" CB ",\"foo\":1,\"client_id\":\"mine\",\"client_secret\":\"s\","
                       "\"software_statement\":\"a.b.c\",\"registration_access_token\":\"t\","
                       "\"client_id_issued_at\":1,\"id_token_signed_response_alg\":\"RS256\","
                       "\"scope#fr\":\"x\",\"client_name\":\"App\"}");
    const char *gone[] = {"foo",
                          "client_id",
                          "client_secret",
                          "software_statement",
                          "registration_access_token",
                          "client_id_issued_at",
                          "id_token_signed_response_alg",
                          "scope#fr",
                          NULL};
    for (const char **g = gone; *g; g++)
        ck_assert_msg(json_object_get(m, *g) == NULL, "%s echoed", *g);
    ck_assert_str_eq(str(m, "client_name"), "App");
}
END_TEST

START_TEST(null_and_empty_strings_are_absent)
{
    json_t *m = reg_ok("{" CB ",\"client_uri\":null,\"logo_uri\":\"\",\"scope\":\"\"}");
    ck_assert_ptr_null(json_object_get(m, "client_uri"));
    ck_assert_ptr_null(json_object_get(m, "logo_uri"));
    ck_assert_ptr_null(json_object_get(m, "scope"));
}
END_TEST

START_TEST(is_known_whitelist)
{
    const char *yes[] = {"redirect_uris",
                         "client_name",
                         "client_name#fr",
                         "client_name#ja-Jpan-JP",
                         "logo_uri#DE",
                         "tos_uri#en-GB",
                         "policy_uri#x-klingon",
                         "client_uri#fr",
                         "jwks",
                         "jwks_uri",
                         "scope",
                         "contacts",
                         "software_id",
                         "software_version",
                         "application_type",
                         "post_logout_redirect_uris",
                         "grant_types",
                         "response_types",
                         "token_endpoint_auth_method",
                         NULL};
    const char *no[] = {"client_id",
                        "client_secret",
                        "software_statement",
                        "scope#fr",
                        "client_name#",
                        "client_name#f@",
                        "client_name#toolongtag",
                        "client_name#fr--ca",
                        "client_name#-fr",
                        "client_name#q",
                        "foo",
                        "redirect_uris#fr",
                        "",
                        "client_name#fr#ca",
                        NULL};
    for (const char **p = yes; *p; p++)
        ck_assert_msg(dcr_metadata_is_known(*p), "%s should be known", *p);
    for (const char **p = no; *p; p++)
        ck_assert_msg(!dcr_metadata_is_known(*p), "%s should not be known", *p);
    ck_assert(!dcr_metadata_is_known(NULL));
}
END_TEST

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
    /* application_type web: https off loopback only */
    {"https://app.example/cb", "web", false, true},
    {"http://127.0.0.1:8080/cb", "web", false, false},
    {"http://localhost/cb", "web", false, false},
    {"https://localhost/cb", "web", false, false},
    {"https://[::1]/cb", "web", false, false},
    {"com.example.app:/cb", "web", true, false},
    /* application_type native: loopback http, listed private-use, claimed https */
    {"http://127.0.0.1:49152/cb", "native", false, true},
    {"http://[::1]:49152/cb", "native", false, true},
    {"http://localhost:3118/callback", "native", false, true},
    {"com.example.app:/cb", "native", true, true},
    {"com.example.app:/cb", "native", false, false},
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
        json_t *m = reg_ok("{\"grant_types\":[\"client_credentials\"]}");
        ck_assert_str_eq(dump(json_object_get(m, "response_types")), "[]");
        ck_assert_ptr_null(json_object_get(m, "redirect_uris"));
    }
}
END_TEST

START_TEST(huge_values_not_echoed)
{
    char *big = apr_palloc(pool, 5001);
    memset(big, 'a', 5000);
    big[5000] = '\0';
    reg_fails(apr_psprintf(pool, "{\"redirect_uris\":[\"https://app.example/%s\"]}", big),
              DCR_ERR_INVALID_REDIRECT_URI);
    ck_assert_ptr_nonnull(strstr(err.description, "redirect_uris[0]"));
    ck_assert_ptr_null(strstr(err.description, "aaaaaaaaaa"));
    ck_assert_uint_lt(strlen(err.detail), 400);
    reg_fails(apr_psprintf(pool, "{" CB ",\"client_uri\":\"ftp://%s\"}", big),
              DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_nonnull(strstr(err.description, "client_uri"));
    ck_assert_ptr_null(strstr(err.description, "aaaaaaaaaa"));
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
    reg_fails("{" CB ",\"application_type\":\"web\","
              "\"post_logout_redirect_uris\":[\"http://127.0.0.1/bye\"]}",
              DCR_ERR_INVALID_REDIRECT_URI);
    reg_fails("{" CB ",\"post_logout_redirect_uris\":[\"https://app.example/#x\"]}",
              DCR_ERR_INVALID_REDIRECT_URI);
    reg_fails("{" CB ",\"post_logout_redirect_uris\":\"https://app.example/\"}",
              DCR_ERR_INVALID_CLIENT_METADATA);
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
    json_t *req = json_pack("{s:[s]}", "redirect_uris", "https://app.example/cb"), *m;
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
                     "\"response_types\":[\"code\"]}"),
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

/* ---- other members --------------------------------------------------------------------- */

START_TEST(url_fields)
{
    const char *fields[] = {"client_uri", "logo_uri", "tos_uri", "policy_uri", NULL};
    for (const char **f = fields; *f; f++) {
        json_t *m = reg_ok(apr_psprintf(pool, "{" CB ",\"%s\":\"https://app.example/x\"}", *f));
        ck_assert_str_eq(str(m, *f), "https://app.example/x");
        reg_ok(apr_psprintf(pool, "{" CB ",\"%s\":\"http://app.example/x#top\"}", *f));
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"ftp://app.example/x\"}", *f),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"/relative\"}", *f),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"javascript:alert(1)\"}", *f),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"https://a@evil.example/\"}", *f),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"https://\"}", *f),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":7}", *f), DCR_ERR_INVALID_CLIENT_METADATA);
        ck_assert_ptr_nonnull(strstr(err.description, *f));
    }
}
END_TEST

START_TEST(contacts_scope_software)
{
    json_t *m = reg_ok("{" CB ",\"contacts\":[\"ops@app.example\",\"dev@app.example\"],"
                       "\"scope\":\"openid mcp:tools offline_access\",\"software_id\":"
                       "\"4NRB1-0XZABZI9E6-5SM3R\",\"software_version\":\"2.1\"}");
    ck_assert_str_eq(dump(json_object_get(m, "contacts")),
                     "[\"ops@app.example\",\"dev@app.example\"]");
    ck_assert_str_eq(str(m, "scope"), "openid mcp:tools offline_access");
    ck_assert_str_eq(str(m, "software_id"), "4NRB1-0XZABZI9E6-5SM3R");
    ck_assert_str_eq(str(m, "software_version"), "2.1");

    reg_fails("{" CB ",\"contacts\":\"ops@app.example\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"contacts\":[1]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"contacts\":[\"\"]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"contacts\":[\"a\\nb\"]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":[\"openid\"]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":\"a  b\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":\" a\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":\"a\\\"b\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":\"a\\\\b\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":\"caf\\u00e9\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"software_id\":42}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"software_version\":2.1}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"software_id\":\"a\\u0007b\"}", DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

START_TEST(client_name_rules)
{
    char *longname = apr_palloc(pool, 1026);
    memset(longname, 'n', 1025);
    longname[1025] = '\0';
    ck_assert_str_eq(
        str(reg_ok("{" CB ",\"client_name\":\"Caf\\u00e9 \\u65e5\\u672c\"}"), "client_name"),
        "Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
    reg_fails("{" CB ",\"client_name\":1}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name\":[\"x\"]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name\":\"a\\rb\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails(apr_psprintf(pool, "{" CB ",\"client_name\":\"%s\"}", longname),
              DCR_ERR_INVALID_CLIENT_METADATA);
    longname[1024] = '\0';
    reg_ok(apr_psprintf(pool, "{" CB ",\"client_name\":\"%s\"}", longname));
}
END_TEST

START_TEST(application_type_values)
{
    ck_assert_str_eq(str(reg_ok("{" CB ",\"application_type\":\"web\"}"), "application_type"),
                     "web");
    reg_fails("{" CB ",\"application_type\":\"desktop\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"application_type\":\"WEB\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"application_type\":1}", DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

/* ---- jwks / jwks_uri with a real key --------------------------------------------------- */

static char *b64url(const unsigned char *in, size_t n)
{
    char *out = apr_palloc(pool, 4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* A fresh P-256 key as a public JWK; *d gets the private scalar (base64url). */
static const char *ec_jwk(const char **d)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    unsigned char pub[65], priv[32];
    size_t plen = 0;
    BIGNUM *bn = NULL;
    ck_assert_ptr_nonnull(k);
    ck_assert(
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &plen) == 1);
    ck_assert_uint_eq(plen, 65);
    ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1);
    ck_assert(BN_bn2binpad(bn, priv, sizeof(priv)) == 32);
    *d = b64url(priv, 32);
    BN_clear_free(bn);
    EVP_PKEY_free(k);
    return apr_psprintf(pool, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
                        b64url(pub + 1, 32), b64url(pub + 33, 32));
}

START_TEST(jwks_rules)
{
    const char *d, *jwk = ec_jwk(&d);
    const char *priv = apr_psprintf(pool, "%.*s,\"d\":\"%s\"}", (int)strlen(jwk) - 1, jwk, d);
    json_t *m = reg_ok(apr_psprintf(pool, "{" CB ",\"jwks\":{\"keys\":[%s]}}", jwk));
    ck_assert(
        json_equal(json_object_get(m, "jwks"), js(apr_psprintf(pool, "{\"keys\":[%s]}", jwk))));
    ck_assert_str_eq(str(m, "token_endpoint_auth_method"), "private_key_jwt");

    reg_fails(apr_psprintf(pool,
                           "{" CB ",\"jwks\":{\"keys\":[%s]},"
                           "\"jwks_uri\":\"https://app.example/jwks\"}",
                           jwk),
              DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_nonnull(strstr(err.description, "jwks_uri"));
    reg_fails(apr_psprintf(pool, "{" CB ",\"jwks\":{\"keys\":[%s]}}", priv),
              DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":[1]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":\"keys\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{}}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{\"keys\":{}}}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{\"keys\":[]}}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{\"keys\":[{\"crv\":\"P-256\"}]}}",
              DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{\"keys\":[\"k\"]}}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}}",
              DCR_ERR_INVALID_CLIENT_METADATA);

    m = reg_ok("{" CB ",\"jwks_uri\":\"https://app.example/jwks.json\"}");
    ck_assert_str_eq(str(m, "jwks_uri"), "https://app.example/jwks.json");
    reg_fails("{" CB ",\"jwks_uri\":\"http://app.example/jwks.json\"}",
              DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks_uri\":{}}", DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

/* ---- token_endpoint_auth_method -------------------------------------------------------- */

typedef struct auth_case {
    const char *extra;     /* members added to the request */
    const char *forced;    /* forced_auth_method */
    const char *want;      /* registered method, NULL: invalid_client_metadata */
    const char *companion; /* a tls_client_auth_* member that must be echoed, or NULL */
} auth_case;

#define JWKS_URI ",\"jwks_uri\":\"https://app.example/jwks\""
#define M(x) ",\"token_endpoint_auth_method\":\"" x "\""
#define X5C_JWKS ",\"jwks\":{\"keys\":[{\"kty\":\"EC\",\"x5c\":[\"MIIB\"]}]}"
#define PLAIN_JWKS ",\"jwks\":{\"keys\":[{\"kty\":\"EC\"}]}"

static const auth_case auth_cases[] = {
    {"", NULL, "none", NULL},
    {JWKS_URI, NULL, "private_key_jwt", NULL},
    {PLAIN_JWKS, NULL, "private_key_jwt", NULL},
    {M("client_secret_basic"), NULL, "none", NULL},
    {M("client_secret_post"), NULL, "none", NULL},
    {M("client_secret_post") JWKS_URI, NULL, "private_key_jwt", NULL},
    {M("client_secret_jwt"), NULL, "none", NULL},
    {M("client_secret_jwt") PLAIN_JWKS, NULL, "private_key_jwt", NULL},
    {M("none"), NULL, "none", NULL},
    {M("none") JWKS_URI, NULL, "none", NULL},
    {M("private_key_jwt") JWKS_URI, NULL, "private_key_jwt", NULL},
    {M("private_key_jwt") PLAIN_JWKS, NULL, "private_key_jwt", NULL},
    {M("private_key_jwt"), NULL, NULL, NULL},
    {M("tls_client_auth") ",\"tls_client_auth_subject_dn\":\"CN=app,O=Example\"", NULL,
     "tls_client_auth", "tls_client_auth_subject_dn"},
    {M("tls_client_auth") ",\"tls_client_auth_san_dns\":\"app.example\"", NULL, "tls_client_auth",
     "tls_client_auth_san_dns"},
    {M("tls_client_auth"), NULL, "none", NULL},
    {M("tls_client_auth") JWKS_URI, NULL, "private_key_jwt", NULL},
    {M("tls_client_auth") ",\"tls_client_auth_san_dns\":\"a.example\","
                          "\"tls_client_auth_san_uri\":\"https://a.example/\"",
     NULL, "none", NULL},
    {M("none") ",\"tls_client_auth_san_dns\":\"a.example\"", NULL, "none", NULL},
    {M("self_signed_tls_client_auth") X5C_JWKS, NULL, "self_signed_tls_client_auth", NULL},
    {M("self_signed_tls_client_auth") PLAIN_JWKS, NULL, "private_key_jwt", NULL},
    {M("self_signed_tls_client_auth") JWKS_URI, NULL, "private_key_jwt", NULL},
    {M("self_signed_tls_client_auth"), NULL, "none", NULL},
    {M("spiffe_jwt"), NULL, NULL, NULL},
    {M("urn:example:custom"), NULL, NULL, NULL},
    {",\"token_endpoint_auth_method\":5", NULL, NULL, NULL},
    {M("client_secret_basic"), "spiffe_jwt", "spiffe_jwt", NULL},
    {M("private_key_jwt"), "spiffe_jwt", "spiffe_jwt", NULL},
    {"", "spiffe_jwt", "spiffe_jwt", NULL},
};

START_TEST(auth_method_table)
{
    const auth_case *c = &auth_cases[_i];
    json_t *m = reg2(apr_psprintf(pool, "{" CB "%s}", c->extra), NULL, c->forced);
    static const char *const companions[] = {
        "tls_client_auth_subject_dn", "tls_client_auth_san_dns",   "tls_client_auth_san_uri",
        "tls_client_auth_san_ip",     "tls_client_auth_san_email", NULL};
    if (!c->want) {
        ck_assert_msg(m == NULL, "case %d accepted: %s", _i, dump(m));
        ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
        ck_assert_ptr_nonnull(strstr(err.description, "token_endpoint_auth_method"));
        return;
    }
    ck_assert_msg(m != NULL, "case %d refused: %s", _i, err.description);
    ck_assert_str_eq(str(m, "token_endpoint_auth_method"), c->want);
    for (const char *const *p = companions; *p; p++) {
        bool want = c->companion && strcmp(*p, c->companion) == 0;
        ck_assert_msg((json_object_get(m, *p) != NULL) == want, "case %d: %s %s", _i, *p,
                      want ? "missing" : "echoed");
    }
}
END_TEST

/* ---- language tags --------------------------------------------------------------------- */

START_TEST(language_tags)
{
    json_t *m = reg_ok("{" CB ",\"client_name\":\"App\",\"client_name#fr\":\"Appli\","
                       "\"client_name#ja-Jpan-JP\":\"\\u30a2\\u30d7\\u30ea\","
                       "\"logo_uri#de\":\"https://app.example/logo-de.png\","
                       "\"tos_uri#en-GB\":\"https://app.example/tos\","
                       "\"policy_uri#FR\":\"https://app.example/vie-privee\","
                       "\"client_uri#x-pig-latin\":\"https://app.example/\"}");
    ck_assert_str_eq(str(m, "client_name#fr"), "Appli");
    ck_assert_str_eq(str(m, "client_name#ja-Jpan-JP"), "\xe3\x82\xa2\xe3\x83\x97\xe3\x83\xaa");
    ck_assert_str_eq(str(m, "logo_uri#de"), "https://app.example/logo-de.png");
    ck_assert_str_eq(str(m, "policy_uri#FR"), "https://app.example/vie-privee");
    ck_assert_str_eq(str(m, "client_uri#x-pig-latin"), "https://app.example/");
    ck_assert_str_eq(str(m, "client_name"), "App");

    /* malformed tags */
    reg_fails("{" CB ",\"client_name#\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#f@\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#fr_CA\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#abcdefghi\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#fr-abcdefghi\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#fr-\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#1fr\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_nonnull(strstr(err.description, "client_name#1fr"));
    /* same validation as the base member */
    reg_fails("{" CB ",\"logo_uri#de\":\"ftp://app.example/logo.png\"}",
              DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#fr\":5}", DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_nonnull(strstr(err.description, "client_name#fr"));
    /* tags match case-insensitively: two spellings of one tag collide */
    reg_fails("{" CB ",\"client_name#fr\":\"a\",\"client_name#FR\":\"b\"}",
              DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"tos_uri#en-gb\":\"https://a.example/\","
              "\"tos_uri#EN-GB\":\"https://a.example/\"}",
              DCR_ERR_INVALID_CLIENT_METADATA);
    /* different tags do not */
    reg_ok("{" CB ",\"client_name#fr\":\"a\",\"client_name#fr-CA\":\"b\"}");
}
END_TEST

/* ---- the statement wins ---------------------------------------------------------------- */

START_TEST(statement_wins_member_by_member)
{
    json_t *m = reg2("{\"redirect_uris\":[\"http://evil.example/cb\"],\"client_name\":\"Mine\","
                     "\"client_name#fr\":\"A\",\"client_name#de\":\"D\",\"scope\":\"a\"}",
                     "{\"iss\":\"https://issuer.example\",\"sub\":\"x\"," CB ","
                     "\"client_name\":\"Vouched\",\"client_name#FR\":\"B\","
                     "\"software_id\":\"sw\"}",
                     NULL);
    ck_assert_msg(m != NULL, "%s", err.description);
    ck_assert_str_eq(str(m, "client_name"), "Vouched");
    ck_assert_str_eq(str(m, "client_name#FR"), "B");
    ck_assert_ptr_null(json_object_get(m, "client_name#fr"));
    ck_assert_str_eq(str(m, "client_name#de"), "D");
    ck_assert_str_eq(str(m, "scope"), "a");
    ck_assert_str_eq(str(m, "software_id"), "sw");
    ck_assert_str_eq(dump(json_object_get(m, "redirect_uris")), "[\"https://app.example/cb\"]");
    ck_assert_ptr_null(json_object_get(m, "iss"));
    ck_assert_ptr_null(json_object_get(m, "sub"));

    /* a bad statement value is not rescued by a good request value */
    ck_assert_ptr_null(reg2("{" CB ",\"client_uri\":\"https://app.example/\"}",
                            "{\"client_uri\":\"ftp://app.example/\"}", NULL));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    /* statement metadata goes through the same policy */
    m = reg2("{" CB "}",
             "{\"grant_types\":[\"authorization_code\",\"implicit\"],"
             "\"response_types\":[\"code\",\"token\"]}",
             NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")), "[\"authorization_code\"]");
    /* and a case collision inside the statement is refused too */
    ck_assert_ptr_null(
        reg2("{" CB "}", "{\"client_name#fr\":\"a\",\"client_name#Fr\":\"b\"}", NULL));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

static Suite *metadata_suite(void)
{
    Suite *s = suite_create("metadata");
    TCase *tc = unit_tcase("basics");
    tcase_add_test(tc, minimal_request_gets_defaults);
    tcase_add_test(tc, non_object_refused);
    tcase_add_test(tc, unknown_and_server_members_dropped);
    tcase_add_test(tc, null_and_empty_strings_are_absent);
    tcase_add_test(tc, is_known_whitelist);
    suite_add_tcase(s, tc);

    tc = unit_tcase("redirect_uris");
    tcase_add_loop_test(tc, redirect_uri_classes, 0, sizeof(uri_cases) / sizeof(uri_cases[0]));
    tcase_add_loop_test(tc, redirect_uri_classes_registered, 0,
                        sizeof(uri_cases) / sizeof(uri_cases[0]));
    tcase_add_test(tc, redirect_uris_shape);
    tcase_add_test(tc, redirect_required_for_redirect_grants);
    tcase_add_test(tc, huge_values_not_echoed);
    tcase_add_test(tc, post_logout_redirect_uris);
    tcase_add_test(tc, mcp_clients_register);
    suite_add_tcase(s, tc);

    tc = unit_tcase("grants");
    tcase_add_loop_test(tc, grant_response_table, 0, sizeof(grant_cases) / sizeof(grant_cases[0]));
    tcase_add_test(tc, policy_can_drop_the_code_grant);
    suite_add_tcase(s, tc);

    tc = unit_tcase("members");
    tcase_add_test(tc, url_fields);
    tcase_add_test(tc, contacts_scope_software);
    tcase_add_test(tc, client_name_rules);
    tcase_add_test(tc, application_type_values);
    tcase_add_test(tc, jwks_rules);
    tcase_add_loop_test(tc, auth_method_table, 0, sizeof(auth_cases) / sizeof(auth_cases[0]));
    tcase_add_test(tc, language_tags);
    tcase_add_test(tc, statement_wins_member_by_member);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(metadata_suite)
