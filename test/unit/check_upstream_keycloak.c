/* Keycloak as an upstream, without a network: the admin base of a realm URL, the clientId of a
 * registration, the ClientRepresentation built from vetted metadata (keycloak_client.c), the
 * metadata read back, the lookup answers, Keycloak's error shapes, and the admin token answer
 * and cache key (keycloak_token.c). The HTTP side is tested against the suite's Keycloak
 * contract server (test/integration/test_upstream_keycloak.py). */
#include "cache.h"
#include "fetch.h"
#include "json.h"
#include "keycloak_client.h"
#include "keycloak_token.h"
#include "unit.h"

#include <apr_strings.h>
#include <string.h>

static const char *SPIFFE_ID = "spiffe://example.org/ns/agents/sa/planner";

static dcr_upstream kc_up(void)
{
    dcr_upstream up;
    memset(&up, 0, sizeof up);
    up.ops = &dcr_upstream_keycloak_ops;
    up.url = "https://kc.example.com/realms/agents";
    up.admin_client_id = "dcr-gateway";
    up.admin_secret = "s3cret";
    up.spiffe_idp = "spire";
    return up;
}

static dcr_client spiffe_client(void)
{
    dcr_client c;
    memset(&c, 0, sizeof c);
    c.subject_kind = "spiffe";
    c.subject = SPIFFE_ID;
    c.issuer = "example.org";
    return c;
}

static json_t *md(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    ck_assert_msg(j != NULL, "%s", e.text);
    return dcr_json_own(pool, j);
}

static const char *attr(const json_t *rep, const char *name)
{
    return dcr_json_string(json_object_get(rep, "attributes"), name);
}

START_TEST(admin_base)
{
    ck_assert_str_eq(dcr_keycloak_admin_base(pool, "https://kc.example.com/realms/agents"),
                     "https://kc.example.com/admin/realms/agents");
    ck_assert_str_eq(dcr_keycloak_admin_base(pool, "https://kc.example.com:8443/auth/realms/a-b/"),
                     "https://kc.example.com:8443/auth/admin/realms/a-b");
    ck_assert_str_eq(dcr_keycloak_token_url(pool, "https://kc/realms/r/"),
                     "https://kc/realms/r/protocol/openid-connect/token");
    ck_assert_ptr_null(dcr_keycloak_admin_base(pool, "http://kc/realms/agents"));
    ck_assert_ptr_null(dcr_keycloak_admin_base(pool, "https://kc/agents"));
    ck_assert_ptr_null(dcr_keycloak_admin_base(pool, "https://kc/realms/"));
    ck_assert_ptr_null(dcr_keycloak_admin_base(pool, "https://kc/realms/a?x=1"));
    ck_assert_ptr_null(dcr_keycloak_admin_base(pool, "https://kc/realms/a#f"));
    ck_assert_ptr_null(dcr_keycloak_admin_base(pool, "https://u:p@kc/realms/a"));
    /* a realm that would walk the admin path elsewhere or need escaping */
    ck_assert_ptr_null(dcr_keycloak_admin_base(pool, "https://kc/realms/a/b"));
    ck_assert_ptr_null(dcr_keycloak_admin_base(pool, "https://kc/realms/.."));
    ck_assert_ptr_null(dcr_keycloak_admin_base(pool, "https://kc/realms/a%2Fb"));
}
END_TEST

START_TEST(client_ids)
{
    dcr_client a = spiffe_client(), b = spiffe_client(), vc;
    const char *ida = dcr_keycloak_client_id_for(pool, &a);
    memset(&vc, 0, sizeof vc);
    vc.subject_kind = "vc";
    vc.subject = "did:example:1";
    ck_assert_str_eq(ida, dcr_keycloak_client_id_for(pool, &b)); /* stable */
    ck_assert_uint_eq(strlen(ida), 7 + 64);
    ck_assert(strncmp(ida, "spiffe-", 7) == 0);
    ck_assert_uint_eq(strspn(ida + 7, "0123456789abcdef"), 64);
    b.subject = "spiffe://example.org/ns/agents/sa/planner2";
    ck_assert_str_ne(ida, dcr_keycloak_client_id_for(pool, &b));
    /* others: random, never the same twice */
    ck_assert(strncmp(dcr_keycloak_client_id_for(pool, &vc), "dcr-", 4) == 0);
    ck_assert_str_ne(dcr_keycloak_client_id_for(pool, &vc), dcr_keycloak_client_id_for(pool, &vc));
}
END_TEST

START_TEST(ids)
{
    const char *u = dcr_keycloak_new_uuid(pool);
    ck_assert_uint_eq(strlen(u), 36);
    ck_assert(u[14] == '4' && strchr("89ab", u[19]) && u[8] == '-' && u[23] == '-');
    ck_assert_str_ne(u, dcr_keycloak_new_uuid(pool));
    ck_assert(dcr_keycloak_id_valid(u));
    ck_assert(!dcr_keycloak_id_valid(NULL));
    ck_assert(!dcr_keycloak_id_valid(""));
    ck_assert(!dcr_keycloak_id_valid("../users/1"));
    ck_assert(!dcr_keycloak_id_valid("a/b"));
    ck_assert(!dcr_keycloak_id_valid("a?b"));
    ck_assert(!dcr_keycloak_id_valid("a%2Fb"));
    ck_assert(!dcr_keycloak_id_valid(apr_pstrcat(pool, u, u, NULL))); /* 72 > 64 */
}
END_TEST

/* A SPIFFE workload: federated-jwt, the two attributes, a service account, no secret, and
 * every flow flag explicit (Keycloak would turn the standard flow and direct access grants on
 * for a client that does not say). */
START_TEST(spiffe_representation)
{
    dcr_upstream up = kc_up();
    dcr_client c = spiffe_client();
    dcr_error err;
    json_t *m = md("{\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
                   "\"spiffe_jwt\",\"jwks\":{\"keys\":[{\"kty\":\"EC\"}]}}");
    json_t *rep =
        dcr_keycloak_representation(pool, &up, &c, m, "spiffe-x", "id-1", NULL, true, &err);
    ck_assert_ptr_nonnull(rep);
    ck_assert(!dcr_keycloak_needs_secret(&c, m));
    ck_assert_str_eq(dcr_json_string(rep, "clientAuthenticatorType"), "federated-jwt");
    ck_assert_str_eq(dcr_json_string(rep, "clientId"), "spiffe-x");
    ck_assert_str_eq(dcr_json_string(rep, "id"), "id-1");
    ck_assert_str_eq(dcr_json_string(rep, "protocol"), "openid-connect");
    ck_assert_str_eq(attr(rep, "jwt.credential.issuer"), "spire");
    ck_assert_str_eq(attr(rep, "jwt.credential.sub"), SPIFFE_ID);
    ck_assert(json_is_false(json_object_get(rep, "publicClient")));
    ck_assert(json_is_true(json_object_get(rep, "serviceAccountsEnabled")));
    ck_assert(json_is_false(json_object_get(rep, "standardFlowEnabled")));
    ck_assert(json_is_false(json_object_get(rep, "directAccessGrantsEnabled")));
    ck_assert(json_is_false(json_object_get(rep, "implicitFlowEnabled")));
    ck_assert(json_is_true(json_object_get(rep, "enabled")));
    ck_assert_ptr_null(json_object_get(rep, "secret"));
    /* keys it brought are not used: its JWT-SVID authenticates it */
    ck_assert_str_eq(attr(rep, "use.jwks.string"), "false");
    ck_assert_ptr_null(attr(rep, "jwks.string"));
    ck_assert_str_eq(dcr_json_string(rep, "name"), SPIFFE_ID);
    ck_assert_str_eq(attr(rep, "use.refresh.tokens"), "false");
    /* an update leaves enabled alone: an administrator's disable stays */
    rep = dcr_keycloak_representation(pool, &up, &c, m, "spiffe-x", "id-1", NULL, false, &err);
    ck_assert_ptr_null(json_object_get(rep, "enabled"));
    ck_assert_str_eq(attr(rep, "logoUri"), "");
    ck_assert_str_eq(dcr_keycloak_check(rep, &up, &c, "spiffe-x", "id-1") ? "bad" : "ok", "ok");
}
END_TEST

START_TEST(other_representations)
{
    dcr_upstream up = kc_up();
    dcr_client c;
    dcr_error err;
    json_t *m, *rep, *keys;
    memset(&c, 0, sizeof c);

    m = md("{\"redirect_uris\":[\"https://app.example/cb\"],\"grant_types\":["
           "\"authorization_code\",\"refresh_token\"],\"response_types\":[\"code\"],"
           "\"token_endpoint_auth_method\":\"private_key_jwt\",\"client_name\":\"App\","
           "\"client_uri\":\"https://app.example\",\"logo_uri\":\"https://app.example/l.png\","
           "\"token_endpoint_auth_signing_alg\":\"ES256\",\"jwks\":{\"keys\":[{\"kty\":\"EC\","
           "\"crv\":\"P-256\",\"x\":\"a\",\"y\":\"b\"}]}}");
    rep = dcr_keycloak_representation(pool, &up, &c, m, "dcr-1", "id-2", NULL, true, &err);
    ck_assert_ptr_nonnull(rep);
    ck_assert_str_eq(dcr_json_string(rep, "clientAuthenticatorType"), "client-jwt");
    ck_assert(json_is_true(json_object_get(rep, "standardFlowEnabled")));
    ck_assert(json_is_false(json_object_get(rep, "serviceAccountsEnabled")));
    ck_assert_str_eq(attr(rep, "use.refresh.tokens"), "true");
    ck_assert_str_eq(attr(rep, "use.jwks.string"), "true");
    ck_assert_str_eq(attr(rep, "use.jwks.url"), "false");
    keys = dcr_json_own(pool, json_loads(attr(rep, "jwks.string"), 0, NULL));
    ck_assert(json_equal(keys, json_object_get(m, "jwks")));
    ck_assert_str_eq(attr(rep, "token.endpoint.auth.signing.alg"), "ES256");
    ck_assert_str_eq(attr(rep, "logoUri"), "https://app.example/l.png");
    ck_assert_str_eq(dcr_json_string(rep, "baseUrl"), "https://app.example");
    ck_assert_str_eq(dcr_json_string(rep, "name"), "App");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(rep, "redirectUris"), 0)),
                     "https://app.example/cb");
    ck_assert_ptr_null(attr(rep, "jwt.credential.sub"));

    json_object_del(m, "jwks");
    json_object_set_new(m, "jwks_uri", json_string("https://app.example/jwks"));
    rep = dcr_keycloak_representation(pool, &up, &c, m, "dcr-1", "id-2", NULL, true, &err);
    ck_assert_str_eq(attr(rep, "use.jwks.url"), "true");
    ck_assert_str_eq(attr(rep, "jwks.url"), "https://app.example/jwks");
    ck_assert_str_eq(attr(rep, "use.jwks.string"), "false");

    json_object_del(m, "jwks_uri"); /* private_key_jwt without keys */
    ck_assert_ptr_null(
        dcr_keycloak_representation(pool, &up, &c, m, "dcr-1", "id-2", NULL, true, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);

    m = md("{\"redirect_uris\":[\"https://app.example/cb\"],\"token_endpoint_auth_method\":"
           "\"none\"}");
    rep = dcr_keycloak_representation(pool, &up, &c, m, "dcr-1", "id-2", NULL, true, &err);
    ck_assert(json_is_true(json_object_get(rep, "publicClient")));
    ck_assert(json_is_true(json_object_get(rep, "standardFlowEnabled"))); /* RFC 7591 default */
    ck_assert_ptr_null(json_object_get(rep, "secret"));

    m = md("{\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
           "\"client_secret_post\"}");
    ck_assert(dcr_keycloak_needs_secret(&c, m));
    rep = dcr_keycloak_representation(pool, &up, &c, m, "dcr-1", "id-2", "sec", true, &err);
    ck_assert_str_eq(dcr_json_string(rep, "clientAuthenticatorType"), "client-secret");
    ck_assert_str_eq(dcr_json_string(rep, "secret"), "sec");
}
END_TEST

/* What Keycloak cannot take is the client's metadata error, before any call. */
START_TEST(refused_metadata)
{
    dcr_upstream up = kc_up();
    dcr_client c;
    dcr_error err;
    char *longuri = apr_pstrcat(pool, "https://app.example/", NULL);
    memset(&c, 0, sizeof c);
    while (strlen(longuri) <= 255)
        longuri = apr_pstrcat(pool, longuri, "aaaaaaaaaaaaaaaa", NULL);

    ck_assert_ptr_null(dcr_keycloak_representation(
        pool, &up, &c,
        md("{\"grant_types\":[\"urn:example:grant\"],\"token_endpoint_auth_method\":\"none\"}"),
        "dcr-1", "id", NULL, true, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_null(dcr_keycloak_representation(
        pool, &up, &c, md("{\"token_endpoint_auth_method\":\"tls_client_auth\"}"), "dcr-1", "id",
        NULL, true, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_null(dcr_keycloak_representation(
        pool, &up, &c,
        md(apr_psprintf(
            pool, "{\"token_endpoint_auth_method\":\"none\",\"redirect_uris\":[\"%s\"]}", longuri)),
        "dcr-1", "id", NULL, true, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_REDIRECT_URI);
    ck_assert_ptr_null(dcr_keycloak_representation(
        pool, &up, &c,
        md(apr_psprintf(pool, "{\"token_endpoint_auth_method\":\"none\",\"client_name\":\"%s\"}",
                        longuri)),
        "dcr-1", "id", NULL, true, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

/* The metadata as Keycloak keeps it: what Keycloak changed or dropped shows. */
START_TEST(confirmed)
{
    dcr_client c;
    json_t *req, *rep, *out;
    memset(&c, 0, sizeof c);
    req = md("{\"redirect_uris\":[\"https://a.example/cb\",\"https://a.example/cb2\"],"
             "\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"response_types\":"
             "[\"code\"],\"token_endpoint_auth_method\":\"client_secret_post\",\"contacts\":"
             "[\"ops@a.example\"],\"client_name\":\"A\",\"tos_uri\":\"https://a.example/tos\"}");
    rep = md("{\"id\":\"u\",\"clientId\":\"dcr-1\",\"name\":\"A2\",\"redirectUris\":"
             "[\"https://a.example/cb\"],\"standardFlowEnabled\":true,\"serviceAccountsEnabled\":"
             "false,\"clientAuthenticatorType\":\"client-secret\",\"publicClient\":false,"
             "\"attributes\":{\"use.refresh.tokens\":\"false\"}}");
    out = dcr_keycloak_confirmed(pool, &c, req, rep);
    ck_assert_str_eq(dcr_json_string(out, "client_name"), "A2");
    ck_assert_uint_eq(json_array_size(json_object_get(out, "redirect_uris")), 1);
    ck_assert(json_equal(json_object_get(out, "grant_types"), md("[\"authorization_code\"]")));
    ck_assert(json_equal(json_object_get(out, "response_types"), md("[\"code\"]")));
    ck_assert_str_eq(dcr_json_string(out, "token_endpoint_auth_method"), "client_secret_post");
    ck_assert_ptr_null(json_object_get(out, "tos_uri"));     /* Keycloak does not hold it */
    ck_assert_ptr_nonnull(json_object_get(out, "contacts")); /* Keycloak has no such field */

    /* a SPIFFE client keeps the method it registered with; keys come from attributes only */
    c = spiffe_client();
    req = md("{\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
             "\"spiffe_jwt\"}");
    rep = md("{\"id\":\"u\",\"clientId\":\"spiffe-1\",\"serviceAccountsEnabled\":true,"
             "\"standardFlowEnabled\":false,\"clientAuthenticatorType\":\"federated-jwt\","
             "\"attributes\":{\"jwt.credential.issuer\":\"spire\"}}");
    out = dcr_keycloak_confirmed(pool, &c, req, rep);
    ck_assert_str_eq(dcr_json_string(out, "token_endpoint_auth_method"), "spiffe_jwt");
    ck_assert(json_equal(json_object_get(out, "grant_types"), md("[\"client_credentials\"]")));
    ck_assert_ptr_null(json_object_get(out, "response_types"));
    ck_assert_ptr_null(json_object_get(out, "redirect_uris"));
    json_object_set_new(req, "response_types", json_array()); /* registered as [] */
    out = dcr_keycloak_confirmed(pool, &c, req, rep);
    ck_assert(json_equal(json_object_get(out, "response_types"), md("[]")));

    /* a client-jwt client's JWKS comes back from jwks.string */
    memset(&c, 0, sizeof c);
    req = md("{\"token_endpoint_auth_method\":\"private_key_jwt\",\"grant_types\":"
             "[\"client_credentials\"]}");
    rep = md("{\"id\":\"u\",\"clientId\":\"dcr-1\",\"serviceAccountsEnabled\":true,"
             "\"clientAuthenticatorType\":\"client-jwt\",\"attributes\":{\"use.jwks.string\":"
             "\"true\",\"jwks.string\":\"{\\\"keys\\\":[]}\"}}");
    out = dcr_keycloak_confirmed(pool, &c, req, rep);
    ck_assert_str_eq(dcr_json_string(out, "token_endpoint_auth_method"), "private_key_jwt");
    ck_assert(json_equal(json_object_get(out, "jwks"), md("{\"keys\":[]}")));
}
END_TEST

START_TEST(check_answer)
{
    dcr_upstream up = kc_up();
    dcr_client c = spiffe_client();
    json_t *rep = md("{\"id\":\"u-1\",\"clientId\":\"spiffe-1\",\"clientAuthenticatorType\":"
                     "\"federated-jwt\",\"publicClient\":false,\"attributes\":{"
                     "\"jwt.credential.issuer\":\"spire\",\"jwt.credential.sub\":"
                     "\"spiffe://example.org/ns/agents/sa/planner\"}}");
    ck_assert_ptr_null(dcr_keycloak_check(rep, &up, &c, "spiffe-1", "u-1"));
    ck_assert_ptr_null(dcr_keycloak_check(rep, &up, &c, "spiffe-1", NULL));
    ck_assert_ptr_nonnull(dcr_keycloak_check(rep, &up, &c, "spiffe-2", "u-1"));
    ck_assert_ptr_nonnull(dcr_keycloak_check(rep, &up, &c, "spiffe-1", "u-2"));
    up.spiffe_idp = "other";
    ck_assert_ptr_nonnull(dcr_keycloak_check(rep, &up, &c, "spiffe-1", "u-1"));
    up.spiffe_idp = "spire";
    /* a Keycloak without the preview feature keeps another authenticator */
    json_object_set_new(rep, "clientAuthenticatorType", json_string("client-secret"));
    ck_assert_ptr_nonnull(dcr_keycloak_check(rep, &up, &c, "spiffe-1", "u-1"));
    json_object_set_new(rep, "clientAuthenticatorType", json_string("federated-jwt"));
    json_object_set_new(rep, "id", json_string("../../users/1"));
    ck_assert_ptr_nonnull(dcr_keycloak_check(rep, &up, &c, "spiffe-1", NULL));
    ck_assert_ptr_nonnull(dcr_keycloak_check(md("[]"), &up, &c, "spiffe-1", NULL));
}
END_TEST

START_TEST(pick)
{
    json_t *rep;
    const char *foreign;
#define PICK(s) dcr_keycloak_pick(pool, s, strlen(s), "spiffe-1", &rep, &foreign)
    ck_assert_int_eq(PICK("[]"), DCR_KC_NONE);
    ck_assert_int_eq(PICK("[{\"clientId\":\"spiffe-1\",\"id\":\"u\"}]"), DCR_KC_OURS);
    ck_assert_str_eq(dcr_json_string(rep, "id"), "u");
    ck_assert_int_eq(PICK("[{\"clientId\":\"by-hand\",\"id\":\"u\"}]"), DCR_KC_FOREIGN);
    ck_assert_str_eq(foreign, "by-hand");
    /* ours and another one: Keycloak would refuse both, so it is a refusal */
    ck_assert_int_eq(PICK("[{\"clientId\":\"spiffe-1\"},{\"clientId\":\"by-hand\"}]"),
                     DCR_KC_FOREIGN);
    ck_assert_int_eq(PICK("{\"clientId\":\"spiffe-1\"}"), DCR_KC_BAD);
    ck_assert_int_eq(PICK("[{\"id\":\"u\"}]"), DCR_KC_BAD);
    ck_assert_int_eq(PICK("not json"), DCR_KC_BAD);
#undef PICK
}
END_TEST

START_TEST(errors)
{
    dcr_error err;
#define ERR(st, s) dcr_keycloak_error(pool, "POST client", st, s, s ? strlen(s) : 0, &err)
    ck_assert(!ERR(400, "{\"errorMessage\":\"Invalid client metadata\"}"));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_int_eq(err.status, 400);
    ck_assert_ptr_nonnull(strstr(err.description, "Invalid client metadata"));
    ERR(400, "{\"errorMessage\":\"bad\",\"field\":\"redirectUris\"}");
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_REDIRECT_URI);
    ERR(400, "{\"error\":\"invalid_input\",\"error_description\":\"A redirect URI is not a "
             "proper URI\"}");
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_REDIRECT_URI);
    ERR(400, "{\"error\":\"invalid_input\",\"error_description\":\"Root URL is not valid\"}");
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    ERR(400, "{\"errorMessage\":\"bell\\u0007\\nnext line\"}");
    ck_assert_ptr_null(strchr(err.description, '\n'));
    ck_assert_ptr_null(strchr(err.description, '\a'));
    ERR(409, "{\"errorMessage\":\"Client spiffe-1 already exists\"}");
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
    ck_assert_int_eq(err.status, 503);
    ERR(403, "{\"error\":\"unknown_error\"}");
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(err.detail, "manage-clients"));
    dcr_keycloak_error(pool, "POST client", 500, NULL, 0, &err);
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
    ERR(400, "<html>");
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
#undef ERR
}
END_TEST

START_TEST(token_answer)
{
    long long until;
    const char *why;
#define TOK(s) dcr_keycloak_parse_token(pool, s, strlen(s), 1000, &until, &why)
    ck_assert_str_eq(TOK("{\"access_token\":\"abc.def\",\"expires_in\":300,\"token_type\":"
                         "\"Bearer\",\"scope\":\"profile\"}"),
                     "abc.def");
    ck_assert_int_eq(until, 1000 + 300 - DCR_KC_TOKEN_MARGIN);
    ck_assert_str_eq(TOK("{\"access_token\":\"t\",\"expires_in\":20,\"token_type\":\"bearer\"}"),
                     "t");
    ck_assert_int_eq(until, 1000 + 20 - 10);
    ck_assert_ptr_nonnull(TOK("{\"access_token\":\"t\",\"token_type\":\"Bearer\"}"));
    ck_assert_int_eq(until, 0); /* no lifetime: used once, not cached */
    ck_assert_ptr_null(TOK("{\"access_token\":\"t\",\"token_type\":\"DPoP\"}"));
    ck_assert_ptr_null(TOK("{\"token_type\":\"Bearer\"}"));
    ck_assert_ptr_null(
        TOK("{\"access_token\":\"a\\r\\nX-Injected: 1\",\"token_type\":\"Bearer\"}"));
    ck_assert_ptr_null(TOK("[]"));
#undef TOK
}
END_TEST

START_TEST(token_key)
{
    dcr_upstream a = kc_up(), b = kc_up();
    const char *k = dcr_keycloak_token_key(pool, &a);
    ck_assert_str_eq(k, dcr_keycloak_token_key(pool, &b));
    ck_assert_ptr_null(strstr(k, "s3cret")); /* a hash of it, not the secret */
    b.admin_secret = "rotated";
    ck_assert_str_ne(k, dcr_keycloak_token_key(pool, &b));
    b = kc_up();
    b.url = "https://kc.example.com/realms/other";
    ck_assert_str_ne(k, dcr_keycloak_token_key(pool, &b));
    b = kc_up();
    b.admin_client_id = "other";
    ck_assert_str_ne(k, dcr_keycloak_token_key(pool, &b));
}
END_TEST

START_TEST(escape)
{
    ck_assert_str_eq(dcr_keycloak_escape(pool, "jwt.credential.sub:\"spiffe://td/a b\"&x=1"),
                     "jwt.credential.sub%3A%22spiffe%3A%2F%2Ftd%2Fa%20b%22%26x%3D1");
    ck_assert_str_eq(dcr_keycloak_escape(pool, "a-Z_0.~"), "a-Z_0.~");
    ck_assert_str_eq(dcr_keycloak_sub_query(pool, "spiffe://td/a"),
                     "q=jwt.credential.sub%3A%22spiffe%3A%2F%2Ftd%2Fa%22&first=0&max=20");
    /* a quote cannot end the value early and add another search term */
    ck_assert_str_eq(dcr_keycloak_sub_query(pool, "x\" jwt.credential.issuer:\"y"),
                     "q=jwt.credential.sub%3A%22x%5C%22%20jwt.credential.issuer%3A%5C%22y%22"
                     "&first=0&max=20");
}
END_TEST

/* The admin token comes from the shared cache while it is valid; a cached value that could not
 * go into a header is ignored (the token endpoint, unreachable here, is asked instead). */
START_TEST(token_from_cache)
{
    dcr_upstream up = kc_up();
    dcr_upstream_call call = {pool, 1000, &up, dcr_cache_memory_create(pool, 8), NULL};
    const char *key;
    dcr_error err;
    up.url = "https://127.0.0.1:1/realms/agents";
    dcr_fetch_defaults(&up.fetch);
    up.origin = up.fetch.source_origin = "127.0.0.1:1";
    up.fetch.timeout_ms = 2000;
    key = dcr_keycloak_token_key(pool, &up);
    ck_assert(dcr_cache_set(call.cache, pool, key, "cached.tok", 10, 1100));
    ck_assert_str_eq(dcr_keycloak_admin_token(&call, false, &err), "cached.tok");
    /* fresh (after a 401): never the cached one */
    ck_assert_ptr_null(dcr_keycloak_admin_token(&call, true, &err));
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
    call.now = 1100; /* expired */
    ck_assert_ptr_null(dcr_keycloak_admin_token(&call, false, &err));
    call.now = 1000;
    ck_assert(dcr_cache_set(call.cache, pool, key, "a\r\nX-Evil: 1", 13, 1100));
    ck_assert_ptr_null(dcr_keycloak_admin_token(&call, false, &err));
    ck_assert_ptr_null(strstr(err.detail, "s3cret"));
}
END_TEST

/* dcr_fetch_send keeps dcr_fetch_get's rules: https only, allowed hosts only. */
START_TEST(send_rules)
{
    dcr_fetch_conf conf;
    dcr_fetch_result res;
    const char *why = NULL;
    dcr_fetch_defaults(&conf);
    ck_assert_int_eq(dcr_fetch_send(pool, &conf, "POST", "http://kc.example.com/x", NULL, "t",
                                    "application/json", "{}", 2, &res, &why),
                     DCR_FETCH_REFUSED);
    ck_assert_int_eq(dcr_fetch_send(pool, &conf, "DELETE", "https://elsewhere.example/x",
                                    "kc.example.com:443", "t", NULL, NULL, 0, &res, &why),
                     DCR_FETCH_REFUSED);
    /* a loopback address is refused unless listed */
    ck_assert_int_eq(dcr_fetch_send(pool, &conf, "GET", "https://127.0.0.1:1/x", "127.0.0.1:1", "t",
                                    NULL, NULL, 0, &res, &why),
                     DCR_FETCH_REFUSED);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("upstream_keycloak");
    TCase *tc = unit_tcase("keycloak");
    tcase_add_test(tc, admin_base);
    tcase_add_test(tc, client_ids);
    tcase_add_test(tc, ids);
    tcase_add_test(tc, spiffe_representation);
    tcase_add_test(tc, other_representations);
    tcase_add_test(tc, refused_metadata);
    tcase_add_test(tc, confirmed);
    tcase_add_test(tc, check_answer);
    tcase_add_test(tc, pick);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, token_answer);
    tcase_add_test(tc, token_key);
    tcase_add_test(tc, escape);
    tcase_add_test(tc, send_rules);
    tcase_add_test(tc, token_from_cache);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
