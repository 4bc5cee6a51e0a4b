/* What every upstream kind shares: the metadata forwarded, an answer put onto the client, the
 * local id of an upstream client, the upstream's errors as RFC 7591 errors. */
#include "upstream.h"

#include "json.h"
#include "sha256.h"

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <string.h>

const dcr_upstream_ops *dcr_upstream_kind(const char *name)
{
    if (name && strcmp(name, dcr_upstream_rfc7591_ops.kind) == 0)
        return &dcr_upstream_rfc7591_ops;
    if (name && strcmp(name, dcr_upstream_keycloak_ops.kind) == 0)
        return &dcr_upstream_keycloak_ops;
    return NULL;
}

/* Members the module manages itself, never forwarded and never taken from an answer into the
 * metadata: ids, tokens, secrets and the statement. */
static const char *const managed[] = {"client_id",
                                      "client_id_issued_at",
                                      "client_secret",
                                      "client_secret_expires_at",
                                      "registration_access_token",
                                      "registration_client_uri",
                                      "software_statement",
                                      NULL};

static void drop_managed(json_t *m)
{
    for (const char *const *k = managed; *k; k++)
        json_object_del(m, *k);
}

static bool front_channel(const json_t *m)
{
    const json_t *grants = json_object_get(m, "grant_types"), *g;
    size_t i;
    if (!grants)
        return true; /* RFC 7591 2: authorization_code by default */
    json_array_foreach(grants, i,
                       g) if (json_is_string(g) &&
                              (strcmp(json_string_value(g), "authorization_code") == 0 ||
                               strcmp(json_string_value(g), "implicit") == 0)) return true;
    return false;
}

json_t *dcr_upstream_request_metadata(apr_pool_t *pool, const dcr_upstream *up, const dcr_client *c,
                                      dcr_error *err)
{
    json_t *m = dcr_json_own(pool, json_deep_copy(c->metadata ? c->metadata : json_object()));
    const json_t *ext = c->statement ? json_object_get(c->statement, "extensions") : NULL;
    const char *key, *method;
    json_t *v;

    drop_managed(m);
    /* what the statement's profile added (spiffe_id, vc_issuer, ...) is this module's word
     * about the client, not metadata the upstream was asked to register */
    json_object_foreach((json_t *)ext, key, v) json_object_del(m, key);
    if (c->subject_kind && strcmp(c->subject_kind, "spiffe") == 0 && up->auth_method)
        json_object_set_new(m, "token_endpoint_auth_method", json_string(up->auth_method));
    if (!json_object_get(m, "response_types")) /* as registered: RFC 7591's default (code)
                                                   only where a grant uses the front channel */
        json_object_set_new(m, "response_types",
                            front_channel(m) ? json_pack("[s]", "code") : json_array());
    method = dcr_json_string(m, "token_endpoint_auth_method");
    if (!method) /* RFC 7591 2's default would be a secret: say what was registered */
        json_object_set_new(m, "token_endpoint_auth_method", json_string(method = "none"));
    if (strcmp(method, "private_key_jwt") == 0 && !json_object_get(m, "jwks") &&
        !json_object_get(m, "jwks_uri")) {
        dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                 "this client authenticates to the authorization server with private_key_jwt: "
                 "register its public keys in jwks or jwks_uri",
                 "upstream: %s client without jwks", c->subject_kind ? c->subject_kind : "open");
        return NULL;
    }
    return m;
}

void dcr_upstream_apply(apr_pool_t *pool, dcr_client *c, const dcr_upstream_answer *a)
{
    json_t *m = dcr_json_own(pool, json_deep_copy(a->metadata ? a->metadata : c->metadata));
    const json_t *ss = c->metadata ? json_object_get(c->metadata, "software_statement") : NULL;
    const json_t *ext = c->statement ? json_object_get(c->statement, "extensions") : NULL;
    bool has_secret;

    drop_managed(m);
    c->upstream = a->ref;
    if (a->secret)
        c->upstream_secret = a->secret;
    has_secret = dcr_upstream_secret(pool, c, "client_secret") != NULL;
    if (has_secret && a->metadata && json_object_get(a->metadata, "client_secret_expires_at"))
        json_object_set(m, "client_secret_expires_at",
                        json_object_get(a->metadata, "client_secret_expires_at"));
    else if (has_secret && c->metadata && json_object_get(c->metadata, "client_secret_expires_at"))
        json_object_set(m, "client_secret_expires_at",
                        json_object_get(c->metadata, "client_secret_expires_at"));
    /* the statement and what its profile vouched for stay this module's */
    if (ss)
        json_object_set(m, "software_statement", (json_t *)ss);
    if (ext)
        json_object_update(m, (json_t *)ext);
    c->metadata = m;
    if (a->issued_at > 0)
        c->issued_at = a->issued_at;
}

bool dcr_upstream_answer_allowed(const dcr_client *c, const json_t *requested,
                                 const dcr_upstream_answer *a, dcr_error *err)
{
    const char *asked = dcr_json_string(requested, "token_endpoint_auth_method");
    const char *got =
        a->metadata ? dcr_json_string(a->metadata, "token_endpoint_auth_method") : NULL;
    bool secret = a->metadata && json_object_get(a->metadata, "client_secret");

    if (!c->subject_kind || strcmp(c->subject_kind, "spiffe") != 0)
        return true;
    if (!secret && (!got || (asked && strcmp(got, asked) == 0)))
        return true;
    return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                    "the authorization server would register this SPIFFE client with a secret or "
                    "another authentication method than requested; a SPIFFE client never gets "
                    "a secret",
                    "upstream answered client %s with %s%s (asked %s)", a->client_id,
                    got ? got : "no token_endpoint_auth_method",
                    secret ? " and a client_secret" : "", asked ? asked : "none");
}

const char *dcr_upstream_secret_without_client_secret(apr_pool_t *pool, const dcr_client *c)
{
    const char *rat = dcr_upstream_secret(pool, c, "registration_access_token");
    json_t *s = rat ? json_pack("{s:s}", "registration_access_token", rat) : json_object();
    const char *out = dcr_json_dump(pool, s);
    json_decref(s);
    return out;
}

const char *dcr_upstream_local_id(apr_pool_t *pool, const dcr_upstream *up, const char *client_id)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char h[DCR_SHA256_LEN];
    const void *parts[] = {up->ops->kind, "\n", up->url, "\n", client_id};
    size_t lens[] = {strlen(up->ops->kind), 1, strlen(up->url), 1, strlen(client_id)};
    char *out = apr_palloc(pool, 2 + 2 * DCR_SHA256_LEN);

    dcr_sha256(h, 5, parts, lens);
    out[0] = 'u'; /* module-issued ids are 32 characters of base64url: never 65 */
    for (int i = 0; i < DCR_SHA256_LEN; i++) {
        out[1 + 2 * i] = hex[h[i] >> 4];
        out[2 + 2 * i] = hex[h[i] & 15];
    }
    out[1 + 2 * DCR_SHA256_LEN] = '\0';
    return out;
}

const char *dcr_upstream_secret(apr_pool_t *pool, const dcr_client *c, const char *name)
{
    const char *why;
    json_t *j;
    if (!c->upstream_secret)
        return NULL;
    j = dcr_json_parse(pool, c->upstream_secret, strlen(c->upstream_secret), 2, &why);
    return j ? dcr_json_string(j, name) : NULL;
}

bool dcr_upstream_secret_matches(const dcr_client *c, const char *secret)
{
    json_t *j = c->upstream_secret ? json_loads(c->upstream_secret, 0, NULL) : NULL;
    const char *mine = j ? json_string_value(json_object_get(j, "client_secret")) : NULL;
    bool same = mine && secret && strlen(mine) == strlen(secret) &&
                CRYPTO_memcmp(mine, secret, strlen(mine)) == 0;
    json_decref(j);
    return same;
}

static bool is_registration_error(const char *code)
{
    static const char *const codes[] = {"invalid_redirect_uri", "invalid_client_metadata",
                                        "invalid_software_statement",
                                        "unapproved_software_statement", NULL};
    for (const char *const *c = codes; code && *c; c++)
        if (strcmp(code, *c) == 0)
            return true;
    return false;
}

static dcr_error_code code_of(const char *name)
{
    if (strcmp(name, "invalid_redirect_uri") == 0)
        return DCR_ERR_INVALID_REDIRECT_URI;
    if (strcmp(name, "invalid_software_statement") == 0)
        return DCR_ERR_INVALID_SOFTWARE_STATEMENT;
    if (strcmp(name, "unapproved_software_statement") == 0)
        return DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT;
    return DCR_ERR_INVALID_CLIENT_METADATA;
}

/* The upstream's words for the client: printable ASCII only, bounded (RFC 6749 5.2's
 * error_description character set). */
static const char *printable(apr_pool_t *pool, const char *s)
{
    char *out = apr_pstrndup(pool, s ? s : "", 200);
    for (char *p = out; *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            *p = ' ';
    return out;
}

/* s with every copy of secret in it replaced: an upstream that echoes the token it was sent
 * must not pass it on to the workload or the log. */
static const char *hide(apr_pool_t *pool, const char *s, const char *secret)
{
    const char *at;
    char *out;
    if (!s || !secret || !*secret || !strstr(s, secret))
        return s;
    out = "";
    while ((at = strstr(s, secret))) {
        out = apr_pstrcat(pool, out, apr_pstrndup(pool, s, (apr_size_t)(at - s)), "[token]", NULL);
        s = at + strlen(secret);
    }
    return apr_pstrcat(pool, out, s, NULL);
}

bool dcr_upstream_error(apr_pool_t *pool, const char *what, long status, const char *body,
                        dcr_error *err)
{
    return dcr_upstream_error_hiding(pool, what, status, body, NULL, err);
}

bool dcr_upstream_error_hiding(apr_pool_t *pool, const char *what, long status, const char *body,
                               const char *secret, dcr_error *err)
{
    const char *why = NULL, *code = NULL, *desc = NULL;
    json_t *j = body ? dcr_json_parse(pool, body, strlen(body), 4, &why) : NULL;
    if (json_is_object(j)) {
        code = hide(pool, dcr_json_string(j, "error"), secret);
        desc = hide(pool, dcr_json_string(j, "error_description"), secret);
    }
    if (status == 400 && code) {
        const char *shown = printable(pool, desc && *desc ? desc : code);
        return dcr_fail(err, code_of(is_registration_error(code) ? code : ""),
                        apr_psprintf(pool, "the authorization server refused: %s", shown),
                        "upstream %s: HTTP 400 %s: %s", what, printable(pool, code), shown);
    }
    return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                    "the authorization server is not available; try again later",
                    "upstream %s: HTTP %ld%s%s", what, status, code ? " " : "",
                    code ? printable(pool, code) : "");
}
