#include "keycloak_client.h"

#include "json.h"
#include "sha256.h"

#include <apr_strings.h>
#include <apr_uri.h>
#include <openssl/rand.h>
#include <string.h>
#include <strings.h>

/* Keycloak keeps names, redirect URIs and base URLs in VARCHAR(255) columns: longer values
 * would fail in its database (a 500 we would retry for ever), so they are refused here. */
#define KC_MAX_COLUMN 255

static bool realm_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.';
}

const char *dcr_keycloak_admin_base(apr_pool_t *pool, const char *realm_url)
{
    apr_uri_t u;
    char *path;
    size_t n;
    const char *realms, *realm;

    if (!realm_url || apr_uri_parse(pool, realm_url, &u) != APR_SUCCESS || !u.scheme ||
        strcasecmp(u.scheme, "https") != 0 || !u.hostname || u.user || u.password || u.query ||
        u.fragment || !u.path)
        return NULL;
    path = apr_pstrdup(pool, u.path);
    n = strlen(path);
    if (n > 1 && path[n - 1] == '/')
        path[--n] = '\0';
    for (realms = NULL, realm = path; (realm = strstr(realm, "/realms/")); realm++)
        realms = realm;
    if (!realms || !realms[8])
        return NULL;
    realm = realms + 8;
    if (strcmp(realm, ".") == 0 || strcmp(realm, "..") == 0)
        return NULL;
    for (const char *p = realm; *p; p++)
        if (!realm_char(*p))
            return NULL;
    return apr_pstrcat(pool, u.scheme, "://", u.hostinfo,
                       apr_pstrndup(pool, path, (apr_size_t)(realms - path)), "/admin/realms/",
                       realm, NULL);
}

const char *dcr_keycloak_token_url(apr_pool_t *pool, const char *realm_url)
{
    size_t n = strlen(realm_url);
    if (n && realm_url[n - 1] == '/')
        n--;
    return apr_pstrcat(pool, apr_pstrndup(pool, realm_url, n), "/protocol/openid-connect/token",
                       NULL);
}

bool dcr_keycloak_is_spiffe(const dcr_client *c)
{
    return c->subject_kind && strcmp(c->subject_kind, "spiffe") == 0 && c->subject;
}

const char *dcr_keycloak_client_id_for(apr_pool_t *pool, const dcr_client *c)
{
    if (dcr_keycloak_is_spiffe(c)) {
        unsigned char md[DCR_SHA256_LEN];
        char hex[2 * DCR_SHA256_LEN + 1];
        if (!dcr_sha256_1(md, c->subject, strlen(c->subject)))
            return NULL;
        for (int i = 0; i < DCR_SHA256_LEN; i++)
            apr_snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return apr_pstrcat(pool, "spiffe-", hex, NULL);
    }
    const char *id = dcr_client_new_id(pool);
    return id ? apr_pstrcat(pool, "dcr-", id, NULL) : NULL;
}

const char *dcr_keycloak_new_uuid(apr_pool_t *pool)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return NULL;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    return apr_psprintf(
        pool, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
        b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

bool dcr_keycloak_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-'))
            return false;
    return true;
}

static const char *auth_method(const json_t *metadata)
{
    const char *m = dcr_json_string(metadata, "token_endpoint_auth_method");
    return m ? m : "client_secret_basic"; /* RFC 7591 2 */
}

bool dcr_keycloak_needs_secret(const dcr_client *c, const json_t *metadata)
{
    const char *m = auth_method(metadata);
    return !dcr_keycloak_is_spiffe(c) &&
           (!strcmp(m, "client_secret_basic") || !strcmp(m, "client_secret_post") ||
            !strcmp(m, "client_secret_jwt"));
}

static bool has(const json_t *list, const char *v)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i,
                       e) if (json_is_string(e) && !strcmp(json_string_value(e), v)) return true;
    return false;
}

/* The attributes that stand for grant types, and the flags. */
static const struct {
    const char *grant, *attr;
} grant_attrs[] = {
    {"refresh_token", "use.refresh.tokens"},
    {"urn:ietf:params:oauth:grant-type:device_code", "oauth2.device.authorization.grant.enabled"},
    {"urn:ietf:params:oauth:grant-type:token-exchange", "standard.token.exchange.enabled"},
};
static const struct {
    const char *grant, *flag;
} grant_flags[] = {
    {"authorization_code", "standardFlowEnabled"},
    {"implicit", "implicitFlowEnabled"},
    {"password", "directAccessGrantsEnabled"},
    {"client_credentials", "serviceAccountsEnabled"},
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool grants_known(const json_t *grants, const char **bad)
{
    size_t i;
    json_t *g;
    json_array_foreach(grants, i, g)
    {
        bool ok = false;
        const char *v = json_string_value(g);
        for (size_t k = 0; v && k < N_OF(grant_flags); k++)
            ok = ok || !strcmp(v, grant_flags[k].grant);
        for (size_t k = 0; v && k < N_OF(grant_attrs); k++)
            ok = ok || !strcmp(v, grant_attrs[k].grant);
        if (!ok) {
            *bad = v ? v : "(not a string)";
            return false;
        }
    }
    return true;
}

static const char *authenticator(const dcr_client *c, const char *m)
{
    if (dcr_keycloak_is_spiffe(c))
        return DCR_KC_FEDERATED;
    if (!strcmp(m, "none"))
        return "none";
    if (!strcmp(m, "client_secret_basic") || !strcmp(m, "client_secret_post"))
        return "client-secret";
    if (!strcmp(m, "client_secret_jwt"))
        return "client-secret-jwt";
    if (!strcmp(m, "private_key_jwt"))
        return "client-jwt";
    return NULL;
}

static bool too_long(const char *s)
{
    return s && strlen(s) > KC_MAX_COLUMN;
}

/* The members of metadata that become attributes of their own name at Keycloak. */
static const struct {
    const char *member, *attr;
} uri_attrs[] = {{"logo_uri", "logoUri"}, {"tos_uri", "tosUri"}, {"policy_uri", "policyUri"}};

static bool set_keys(json_t *attrs, const dcr_client *c, const json_t *metadata, const char *authn,
                     dcr_error *err)
{
    const json_t *jwks = json_object_get(metadata, "jwks");
    const char *jwks_uri = dcr_json_string(metadata, "jwks_uri");
    bool keyed = !strcmp(authn, "client-jwt");

    /* a SPIFFE client authenticates with its JWT-SVID: keys it brought are not used */
    if (dcr_keycloak_is_spiffe(c) || !keyed || (!jwks && !jwks_uri)) {
        if (keyed)
            return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                            "private_key_jwt needs jwks or jwks_uri", "keycloak: no client keys");
        json_object_set_new(attrs, "use.jwks.url", json_string("false"));
        json_object_set_new(attrs, "use.jwks.string", json_string("false"));
        return true;
    }
    json_object_set_new(attrs, "use.jwks.url", json_string(jwks_uri ? "true" : "false"));
    json_object_set_new(attrs, "use.jwks.string", json_string(jwks_uri ? "false" : "true"));
    if (jwks_uri) {
        json_object_set_new(attrs, "jwks.url", json_string(jwks_uri));
    } else {
        char *text = json_dumps(jwks, JSON_COMPACT);
        if (!text)
            return dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error", "keycloak: jwks dump");
        json_object_set_new(attrs, "jwks.string", json_string(text));
        free(text);
    }
    return true;
}

json_t *dcr_keycloak_representation(apr_pool_t *pool, const dcr_upstream *up, const dcr_client *c,
                                    const json_t *metadata, const char *kc_client_id,
                                    const char *id, const char *secret, bool create, dcr_error *err)
{
    const char *m = auth_method(metadata), *authn = authenticator(c, m), *bad = NULL;
    const char *name = dcr_json_string(metadata, "client_name");
    const char *client_uri = dcr_json_string(metadata, "client_uri");
    const json_t *grants = json_object_get(metadata, "grant_types");
    const json_t *redirects = json_object_get(metadata, "redirect_uris");
    const char *alg = dcr_json_string(metadata, "token_endpoint_auth_signing_alg");
    json_t *rep, *attrs, *uris;
    json_t *dflt = NULL;
    size_t i;
    json_t *e;

    if (!authn)
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                        "token_endpoint_auth_method is not supported by the authorization server",
                        "keycloak: no client authenticator for %s", m),
               NULL;
    if (!grants)
        grants = dflt = json_pack("[s]", "authorization_code"); /* RFC 7591 2 */
    if (!grants_known(grants, &bad)) {
        json_decref(dflt);
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                        "a grant type is not supported by the authorization server",
                        "keycloak: grant type %s", bad),
               NULL;
    }
    if (!name && dcr_keycloak_is_spiffe(c) && !too_long(c->subject))
        name = c->subject; /* what an administrator sees in the console */
    if (too_long(name) || too_long(client_uri)) {
        json_decref(dflt);
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                        "client_name or client_uri is longer than 255 characters",
                        "keycloak: column limit"),
               NULL;
    }

    rep = dcr_json_own(pool, json_object());
    attrs = json_object();
    uris = json_array();
    json_object_set_new(rep, "id", json_string(id));
    json_object_set_new(rep, "clientId", json_string(kc_client_id));
    json_object_set_new(rep, "protocol", json_string("openid-connect"));
    if (create)
        json_object_set_new(rep, "enabled", json_true());
    if (name)
        json_object_set_new(rep, "name", json_string(name));
    if (client_uri)
        json_object_set_new(rep, "baseUrl", json_string(client_uri));
    json_object_set_new(rep, "publicClient", json_boolean(!strcmp(authn, "none")));
    json_object_set_new(rep, "clientAuthenticatorType", json_string(authn));
    for (size_t k = 0; k < N_OF(grant_flags); k++)
        json_object_set_new(rep, grant_flags[k].flag,
                            json_boolean(has(grants, grant_flags[k].grant)));
    for (size_t k = 0; k < N_OF(grant_attrs); k++)
        json_object_set_new(attrs, grant_attrs[k].attr,
                            json_string(has(grants, grant_attrs[k].grant) ? "true" : "false"));
    json_decref(dflt);
    json_array_foreach(redirects, i, e)
    {
        if (!json_is_string(e) || too_long(json_string_value(e))) {
            json_decref(attrs);
            json_decref(uris);
            return dcr_fail(err, DCR_ERR_INVALID_REDIRECT_URI,
                            "a redirect URI is longer than 255 characters",
                            "keycloak: column limit"),
                   NULL;
        }
        json_array_append(uris, e);
    }
    json_object_set_new(rep, "redirectUris", uris);
    if (secret)
        json_object_set_new(rep, "secret", json_string(secret));
    if (!set_keys(attrs, c, metadata, authn, err)) {
        json_decref(attrs);
        return NULL;
    }
    if (alg && !dcr_keycloak_is_spiffe(c))
        json_object_set_new(attrs, "token.endpoint.auth.signing.alg", json_string(alg));
    for (size_t k = 0; k < N_OF(uri_attrs); k++) {
        const char *v = dcr_json_string(metadata, uri_attrs[k].member);
        if (v || !create) /* "" removes an attribute an earlier version had */
            json_object_set_new(attrs, uri_attrs[k].attr, json_string(v ? v : ""));
    }
    if (dcr_keycloak_is_spiffe(c)) {
        json_object_set_new(attrs, DCR_KC_ATTR_ISSUER, json_string(up->spiffe_idp));
        json_object_set_new(attrs, DCR_KC_ATTR_SUB, json_string(c->subject));
    }
    json_object_set_new(rep, "attributes", attrs);
    return rep;
}

static const char *attr(const json_t *rep, const char *name)
{
    return dcr_json_string(json_object_get(rep, "attributes"), name);
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

const char *dcr_keycloak_check(const json_t *rep, const dcr_upstream *up, const dcr_client *c,
                               const char *kc_client_id, const char *id)
{
    if (!json_is_object(rep))
        return "the client is not a JSON object";
    if (!str_eq(dcr_json_string(rep, "clientId"), kc_client_id))
        return "the client has another clientId";
    if (!dcr_keycloak_id_valid(dcr_json_string(rep, "id")) ||
        (id && !str_eq(dcr_json_string(rep, "id"), id)))
        return "the client has another or an unusable id";
    if (!dcr_keycloak_is_spiffe(c))
        return NULL;
    if (!str_eq(dcr_json_string(rep, "clientAuthenticatorType"), DCR_KC_FEDERATED))
        return "the client's authenticator is not federated-jwt (is the client-auth-federated "
               "feature enabled?)";
    if (json_is_true(json_object_get(rep, "publicClient")))
        return "the client is public";
    if (!str_eq(attr(rep, DCR_KC_ATTR_ISSUER), up->spiffe_idp) ||
        !str_eq(attr(rep, DCR_KC_ATTR_SUB), c->subject))
        return "the client's jwt.credential.issuer / jwt.credential.sub differ from the request";
    return NULL;
}

static void set_or_del(json_t *md, const char *member, json_t *v)
{
    if (v)
        json_object_set_new(md, member, v);
    else
        json_object_del(md, member);
}

json_t *dcr_keycloak_confirmed(apr_pool_t *pool, const dcr_client *c, const json_t *requested,
                               const json_t *rep)
{
    json_t *md = dcr_json_own(pool, json_deep_copy(requested));
    json_t *grants = json_array(), *responses = json_array(), *uris;
    const char *authn = dcr_json_string(rep, "clientAuthenticatorType");
    const char *req = auth_method(requested), *m = req;
    const json_t *req_resp = json_object_get(requested, "response_types");
    bool code = json_is_true(json_object_get(rep, "standardFlowEnabled"));
    bool implicit = json_is_true(json_object_get(rep, "implicitFlowEnabled"));
    size_t i;
    json_t *e;

    set_or_del(md, "client_name",
               dcr_json_string(rep, "name") && json_object_get(requested, "client_name")
                   ? json_string(dcr_json_string(rep, "name"))
                   : NULL);
    set_or_del(md, "client_uri",
               dcr_json_string(rep, "baseUrl") ? json_string(dcr_json_string(rep, "baseUrl"))
                                               : NULL);
    uris = json_array();
    json_array_foreach(json_object_get(rep, "redirectUris"), i, e) if (json_is_string(e))
        json_array_append(uris, e);
    set_or_del(md, "redirect_uris", json_array_size(uris) ? uris : (json_decref(uris), NULL));
    for (size_t k = 0; k < N_OF(grant_flags); k++)
        if (json_is_true(json_object_get(rep, grant_flags[k].flag)))
            json_array_append_new(grants, json_string(grant_flags[k].grant));
    for (size_t k = 0; k < N_OF(grant_attrs); k++)
        if (str_eq(attr(rep, grant_attrs[k].attr), "true"))
            json_array_append_new(grants, json_string(grant_attrs[k].grant));
    json_object_set_new(md, "grant_types", grants);
    json_array_foreach(req_resp, i, e)
    {
        const char *v = json_string_value(e);
        if (v && ((!strcmp(v, "code") && code) || (strcmp(v, "code") && implicit)))
            json_array_append(responses, e);
    }
    if (!req_resp && code)
        json_array_append_new(responses, json_string("code"));
    /* an empty list the request registered (client_credentials only) stays one */
    set_or_del(md, "response_types",
               json_array_size(responses) || req_resp ? responses : (json_decref(responses), NULL));
    /* Keycloak's authenticator back to an RFC 7591 method; the SPIFFE method and the two
     * client-secret methods keep the name the request used */
    if (str_eq(authn, "none") || json_is_true(json_object_get(rep, "publicClient")))
        m = "none";
    else if (str_eq(authn, "client-jwt"))
        m = "private_key_jwt";
    else if (str_eq(authn, "client-secret-jwt"))
        m = "client_secret_jwt";
    else if (str_eq(authn, "client-secret"))
        m = !strcmp(req, "client_secret_post") ? req : "client_secret_basic";
    else if (!str_eq(authn, DCR_KC_FEDERATED) || !dcr_keycloak_is_spiffe(c))
        m = authn ? authn : req;
    json_object_set_new(md, "token_endpoint_auth_method", json_string(m));
    if (!dcr_keycloak_is_spiffe(c)) {
        const char *ju = str_eq(attr(rep, "use.jwks.url"), "true") ? attr(rep, "jwks.url") : NULL;
        const char *js =
            str_eq(attr(rep, "use.jwks.string"), "true") ? attr(rep, "jwks.string") : NULL;
        json_t *jwks = js ? json_loads(js, JSON_REJECT_DUPLICATES, NULL) : NULL;
        set_or_del(md, "jwks_uri", ju ? json_string(ju) : NULL);
        set_or_del(md, "jwks", json_is_object(jwks) ? jwks : (json_decref(jwks), NULL));
    }
    for (size_t k = 0; k < N_OF(uri_attrs); k++) {
        const char *v = attr(rep, uri_attrs[k].attr);
        set_or_del(md, uri_attrs[k].member, v && *v ? json_string(v) : NULL);
    }
    return md;
}

dcr_keycloak_match dcr_keycloak_pick(apr_pool_t *pool, const char *body, size_t len,
                                     const char *kc_client_id, json_t **rep, const char **foreign)
{
    const char *why;
    json_t *list = dcr_json_parse(pool, body, len, DCR_JSON_MAX_DEPTH, &why), *e;
    dcr_keycloak_match m = DCR_KC_NONE;
    size_t i;

    *rep = NULL;
    *foreign = NULL;
    if (!json_is_array(list))
        return DCR_KC_BAD;
    json_array_foreach(list, i, e)
    {
        const char *cid = dcr_json_string(e, "clientId");
        if (!cid)
            return DCR_KC_BAD;
        if (strcmp(cid, kc_client_id) != 0) {
            *foreign = apr_pstrdup(pool, cid);
            m = DCR_KC_FOREIGN;
        } else if (m == DCR_KC_NONE) {
            *rep = e;
            m = DCR_KC_OURS;
        }
    }
    return m;
}

/* Keycloak's message for the client to read: bounded, in RFC 6749 5.2's error_description
 * characters (printable ASCII without '"' and '\\'). */
static const char *clean(apr_pool_t *pool, const char *s)
{
    char *out = apr_pstrndup(pool, s ? s : "", 160);
    for (char *p = out; *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            *p = ' ';
    return out;
}

bool dcr_keycloak_error(apr_pool_t *pool, const char *what, long status, const char *body,
                        size_t len, dcr_error *err)
{
    const char *why, *code, *msg, *field;
    json_t *doc = body ? dcr_json_parse(pool, body, len, 4, &why) : NULL;
    dcr_error_code ec = DCR_ERR_INVALID_CLIENT_METADATA;

    if (status != 400 || !json_is_object(doc)) {
        const char *hint = status == 401 || status == 403
                               ? " (check DCRUpstreamCredentials and the service account's "
                                 "manage-clients and view-clients roles)"
                               : "";
        return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                        "the authorization server is unavailable", "keycloak %s: HTTP %ld%s: %s",
                        what, status, hint, clean(pool, body));
    }
    code = dcr_json_string(doc, "error");
    msg = dcr_json_string(doc, "errorMessage");
    if (!msg)
        msg = dcr_json_string(doc, "error_description");
    if (!msg)
        msg = code ? code : "refused";
    field = dcr_json_string(doc, "field");
    if (code && !strcmp(code, "invalid_redirect_uri"))
        ec = DCR_ERR_INVALID_REDIRECT_URI;
    else if (code && !strcmp(code, "invalid_software_statement"))
        ec = DCR_ERR_INVALID_SOFTWARE_STATEMENT;
    else if (code && !strcmp(code, "unapproved_software_statement"))
        ec = DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT;
    else if ((field && !strcasecmp(field, "redirectUris")) || strcasestr(msg, "redirect"))
        ec = DCR_ERR_INVALID_REDIRECT_URI;
    return dcr_fail(err, ec,
                    apr_psprintf(pool, "the authorization server refused: %s", clean(pool, msg)),
                    "keycloak %s: HTTP 400", what);
}

const char *dcr_keycloak_escape(apr_pool_t *pool, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(pool, 3 * strlen(s) + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *dcr_keycloak_sub_query(apr_pool_t *pool, const char *sub)
{
    /* a SPIFFE ID has neither, but the value must never end the quoted string early */
    char *v = apr_palloc(pool, 2 * strlen(sub) + 1), *o = v;
    for (const char *p = sub; *p; p++) {
        if (*p == '"' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o = '\0';
    return apr_pstrcat(
        pool,
        "q=", dcr_keycloak_escape(pool, apr_pstrcat(pool, DCR_KC_ATTR_SUB ":\"", v, "\"", NULL)),
        "&first=0&max=20", NULL);
}
