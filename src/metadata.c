/* RFC 7591 client metadata: which members are understood, the statement-wins merge, and the
 * validation of each member. Grant/response types live in grants.c, the auth method in
 * auth_method.c, URI rules in uri.c and redirect_uri.c. */
#include "metadata.h"

#include "auth_method.h"
#include "grants.h"
#include "json.h"
#include "jws.h"
#include "lang_tag.h"
#include "redirect_uri.h"
#include "uri.h"

#include <apr_strings.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_TEXT 1024 /* client_name, software_id, ... */
#define MAX_LIST 32   /* redirect_uris, contacts */
#define MAX_JWKS_KEYS 32

typedef enum kind { K_TEXT, K_URL, K_HTTPS_URL, K_SCOPE, K_CODE, K_URIS, K_STRINGS, K_JWKS } kind;

typedef struct member {
    const char *name;
    kind kind;
    bool i18n; /* may carry a #language-tag (RFC 7591 2.2) */
} member;

/* Everything this server understands; the rest of the input is dropped. Server-managed
 * members (client_id, secrets, software_statement) are deliberately absent. */
static const member members[] = {
    {"redirect_uris", K_URIS, false},
    {"post_logout_redirect_uris", K_URIS, false},
    {"token_endpoint_auth_method", K_CODE, false},
    {"grant_types", K_STRINGS, false},
    {"response_types", K_STRINGS, false},
    {"application_type", K_CODE, false},
    {"client_name", K_TEXT, true},
    {"client_uri", K_URL, true},
    {"logo_uri", K_URL, true},
    {"tos_uri", K_URL, true},
    {"policy_uri", K_URL, true},
    {"scope", K_SCOPE, false},
    {"contacts", K_STRINGS, false},
    {"jwks_uri", K_HTTPS_URL, false},
    {"jwks", K_JWKS, false},
    {"software_id", K_TEXT, false},
    {"software_version", K_TEXT, false},
    {"tls_client_auth_subject_dn", K_CODE, false},
    {"tls_client_auth_san_dns", K_CODE, false},
    {"tls_client_auth_san_uri", K_CODE, false},
    {"tls_client_auth_san_ip", K_CODE, false},
    {"tls_client_auth_san_email", K_CODE, false},
};

static const member *find_member(const char *base)
{
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
        if (strcmp(members[i].name, base) == 0)
            return &members[i];
    return NULL;
}

static bool failf(dcr_error *err, dcr_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool failf(dcr_error *err, dcr_error_code code, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return dcr_fail(err, code, buf, NULL);
}

/* A short printable excerpt of a client value for the error log. */
static const char *excerpt(apr_pool_t *pool, const char *s)
{
    size_t n = strlen(s) > 80 ? 80 : strlen(s);
    char *e = apr_pstrmemdup(pool, s, n);
    for (char *p = e; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    return strlen(s) > 80 ? apr_pstrcat(pool, e, "...", NULL) : e;
}

/* Member name for a description: bounded, since a tag is client-chosen. */
#define NAME_FMT "%.80s"

/* ---- membership ------------------------------------------------------------------------ */

/* The member a name refers to; *tag gets the language tag (NULL for none) and *bad_tag is set
 * when an i18n member carries a malformed tag. */
static const member *classify(const char *name, const char **tag, bool *bad_tag)
{
    char base[64];
    const member *m;
    *tag = dcr_lang_tag_split(name, base, sizeof(base));
    *bad_tag = false;
    if (!(m = find_member(base)))
        return NULL;
    if (!*tag)
        return m;
    if (!m->i18n)
        return NULL; /* e.g. "scope#fr": not a member we understand */
    if (!dcr_lang_tag_valid(*tag))
        *bad_tag = true;
    return m;
}

bool dcr_metadata_is_known(const char *name)
{
    const char *tag;
    bool bad;
    return name && classify(name, &tag, &bad) && !bad;
}

/* ---- merge ----------------------------------------------------------------------------- */

/* null and "" count as absent, as clients serialise unset optionals that way. */
static bool absent(const json_t *v)
{
    return json_is_null(v) || (json_is_string(v) && !*json_string_value(v));
}

/* The base names of the understood members the statement supplies: the request keeps no
 * variant of these (a "client_name#en" of its own would sit next to the vouched-for name). */
static json_t *supplied_bases(apr_pool_t *pool, const json_t *statement)
{
    json_t *bases = dcr_json_own(pool, json_object());
    const char *key, *tag;
    json_t *v;
    bool bad;
    json_object_foreach((json_t *)statement, key, v)
    {
        const member *m = classify(key, &tag, &bad);
        if (m && !absent(v))
            json_object_set_new(bases, m->name, json_true());
    }
    return bases;
}

/* Adds the understood members of src to merged (canonical key: base, or base#lowercase-tag)
 * and their given names to names, replacing what an earlier source set: the statement goes
 * last and so wins member by member. Members whose base is in skip (may be NULL) are left
 * out. */
static bool collect(apr_pool_t *pool, const json_t *src, const json_t *skip, json_t *merged,
                    json_t *names, dcr_error *err)
{
    json_t *seen = dcr_json_own(pool, json_object());
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)src, key, v)
    {
        const char *tag, *canon = key;
        bool bad;
        const member *m = classify(key, &tag, &bad);
        if (!m || absent(v) || json_object_get(skip, m->name))
            continue;
        if (bad)
            return failf(err, DCR_ERR_INVALID_CLIENT_METADATA, NAME_FMT ": malformed language tag",
                         key);
        if (tag) {
            char *lower = apr_pstrdup(pool, tag);
            for (char *p = lower; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            canon = apr_pstrcat(pool, m->name, "#", lower, NULL);
        }
        if (json_object_get(seen, canon))
            return failf(err, DCR_ERR_INVALID_CLIENT_METADATA,
                         NAME_FMT ": language tag given twice (tags match case-insensitively)",
                         key);
        json_object_set_new(seen, canon, json_true());
        json_object_set(merged, canon, v);
        json_object_set_new(names, canon, json_string(key));
    }
    return true;
}

/* ---- values ---------------------------------------------------------------------------- */

static bool text_ok(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len == 0 || len > max)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* RFC 6749 3.3: scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static bool scope_ok(const char *s)
{
    bool in_token = false;
    if (strlen(s) > MAX_TEXT)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == ' ') {
            if (!in_token)
                return false;
            in_token = false;
        } else if (c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)) {
            in_token = true;
        } else {
            return false;
        }
    }
    return in_token;
}

/* A JWK Set of public keys: {"keys": [{"kty": ...}, ...]}. Private or symmetric key material
 * is refused: a client has no reason to send it and we must not store it. */
static const char *jwks_problem(apr_pool_t *pool, const json_t *jwks)
{
    static const char *const private_members[] = {"d",  "p",   "q", "dp", "dq",
                                                  "qi", "oth", "k", NULL};
    const json_t *keys = json_object_get(jwks, "keys"), *k;
    size_t i;
    if (!json_is_object(jwks))
        return "must be a JSON object";
    if (!json_is_array(keys))
        return "must have a keys array";
    if (json_array_size(keys) == 0)
        return "keys array is empty";
    if (json_array_size(keys) > MAX_JWKS_KEYS)
        return "too many keys";
    json_array_foreach(keys, i, k)
    {
        const char *kty = dcr_json_string(k, "kty");
        if (!json_is_object(k) || !kty || !*kty)
            return "every key must be an object with a kty";
        if (strcmp(kty, "oct") == 0)
            return "symmetric keys are not accepted";
        for (const char *const *p = private_members; *p; p++)
            if (json_object_get(k, *p))
                return "must hold public keys only";
    }
    /* every key must be one we could use (issue 2: well formed), named by its index */
    json_array_foreach(keys, i, k)
    {
        const char *why = dcr_jwk_check_public(pool, k);
        if (why)
            return apr_psprintf(pool, "keys[%" APR_SIZE_T_FMT "] is not a usable public key: %s", i,
                                why);
    }
    return NULL;
}

/* Checks one merged value by its kind; redirect URIs are checked later, once
 * application_type is known. */
static bool check_value(apr_pool_t *pool, const member *m, const char *name, const json_t *v,
                        dcr_error *err)
{
    const dcr_error_code bad = DCR_ERR_INVALID_CLIENT_METADATA;
    const char *s = json_string_value(v), *why;
    size_t i;
    const json_t *e;
    switch (m->kind) {
    case K_TEXT:
    case K_CODE:
        if (!s)
            return failf(err, bad, NAME_FMT " must be a string", name);
        if (!text_ok(s, MAX_TEXT))
            return failf(err, bad, NAME_FMT " must be printable text of at most %d bytes", name,
                         MAX_TEXT);
        return true;
    case K_SCOPE:
        if (!s)
            return failf(err, bad, NAME_FMT " must be a string", name);
        if (!scope_ok(s))
            return failf(err, bad, NAME_FMT " must be scope tokens separated by single spaces",
                         name);
        return true;
    case K_URL:
    case K_HTTPS_URL:
        if (!s)
            return failf(err, bad, NAME_FMT " must be a string", name);
        if ((why = dcr_web_url_problem(s, m->kind == K_HTTPS_URL))) {
            {
                char d[256];
                snprintf(d, sizeof(d), NAME_FMT ": %s", name, why);
                return dcr_fail(err, bad, d, NAME_FMT ": %s: %s", name, why, excerpt(pool, s));
            }
        }
        return true;
    case K_URIS: /* content is judged by check_uris: invalid_redirect_uri */
        if (!json_is_array(v))
            return failf(err, bad, NAME_FMT " must be an array of strings", name);
        if (json_array_size(v) > MAX_LIST)
            return failf(err, bad, NAME_FMT " has more than %d values", name, MAX_LIST);
        json_array_foreach(v, i, e) if (!json_is_string(e)) return failf(
            err, bad, NAME_FMT "[%zu] must be a string", name, i);
        return true;
    case K_STRINGS:
        if (!json_is_array(v))
            return failf(err, bad, NAME_FMT " must be an array of strings", name);
        if (json_array_size(v) > MAX_LIST)
            return failf(err, bad, NAME_FMT " has more than %d values", name, MAX_LIST);
        json_array_foreach(
            v, i,
            e) if (!json_is_string(e) ||
                   !text_ok(json_string_value(e),
                            DCR_URI_MAX)) return failf(err, bad,
                                                       NAME_FMT
                                                       "[%zu] must be a non-empty printable string",
                                                       name, i);
        return true;
    case K_JWKS:
        if ((why = jwks_problem(pool, v)))
            return failf(err, bad, NAME_FMT ": %s", name, why);
        return true;
    }
    return false;
}

static bool check_uris(apr_pool_t *pool, const char *name, const json_t *uris, const char *app_type,
                       const dcr_policy *policy, dcr_error *err)
{
    size_t i;
    const json_t *u;
    json_array_foreach(uris, i, u)
    {
        const char *s = json_string_value(u);
        const char *why = dcr_redirect_uri_problem(s, app_type, policy->redirect_schemes);
        if (why) {
            char d[256];
            snprintf(d, sizeof(d), "%s[%zu]: %s", name, i, why);
            return dcr_fail(err, DCR_ERR_INVALID_REDIRECT_URI, d, "%s[%zu] %s: %s", name, i, why,
                            excerpt(pool, s));
        }
    }
    return true;
}

/* OIDC Registration: loopback (and plain http) is refused for a web client only when it
 * uses the implicit grant, so this runs once the grants are resolved. */
static bool check_implicit_uris(apr_pool_t *pool, const json_t *uris, const char *app_type,
                                const json_t *grants, dcr_error *err)
{
    size_t i;
    const json_t *g, *u;
    bool implicit = false;
    json_array_foreach(grants, i, g) implicit |= strcmp(json_string_value(g), "implicit") == 0;
    if (!implicit)
        return true;
    json_array_foreach(uris, i, u)
    {
        const char *why = dcr_redirect_uri_implicit_problem(json_string_value(u), app_type);
        if (why) {
            char d[256];
            snprintf(d, sizeof(d), "redirect_uris[%zu]: %s", i, why);
            return dcr_fail(err, DCR_ERR_INVALID_REDIRECT_URI, d, "redirect_uris[%zu] %s: %s", i,
                            why, excerpt(pool, json_string_value(u)));
        }
    }
    return true;
}

bool dcr_metadata_check_redirect_uri(const char *uri, const char *application_type,
                                     const dcr_policy *policy, dcr_error *err)
{
    const char *why = dcr_redirect_uri_problem(uri, application_type, policy->redirect_schemes);
    if (why)
        return dcr_fail(err, DCR_ERR_INVALID_REDIRECT_URI, why, "redirect URI %.80s: %s",
                        uri ? uri : "(null)", why);
    return true;
}

/* ---- the whole registration ------------------------------------------------------------ */

/* Members copied as they are once checked; the rest are derived below. */
static bool is_derived(const char *canon)
{
    return strcmp(canon, "grant_types") == 0 || strcmp(canon, "response_types") == 0 ||
           strcmp(canon, "token_endpoint_auth_method") == 0 ||
           dcr_auth_method_is_tls_companion(canon);
}

json_t *dcr_metadata_register(apr_pool_t *pool, const json_t *request, const json_t *statement,
                              const dcr_policy *policy, const char *forced_auth_method,
                              dcr_error *err)
{
    json_t *merged = dcr_json_own(pool, json_object());
    json_t *names = dcr_json_own(pool, json_object());
    json_t *out = dcr_json_own(pool, json_object());
    json_t *grants, *responses, *v;
    const char *canon, *app_type;
    const json_t *redirects;

    if (!json_is_object(request))
        return failf(err, DCR_ERR_INVALID_CLIENT_METADATA, "request must be a JSON object"), NULL;
    if (statement && !json_is_object(statement))
        return failf(err, DCR_ERR_INVALID_CLIENT_METADATA,
                     "software statement claims must be a JSON object"),
               NULL;
    if (!collect(pool, request, statement ? supplied_bases(pool, statement) : NULL, merged, names,
                 err))
        return NULL;
    /* Keys come whole from the statement when it names any (a VC's holder key above all):
     * the request's jwks_uri must neither conflict with nor stand beside them. */
    if (statement && (json_object_get(statement, "jwks") || json_object_get(statement, "jwks_uri")))
        for (int i = 0; i < 2; i++) {
            json_object_del(merged, i ? "jwks_uri" : "jwks");
            json_object_del(names, i ? "jwks_uri" : "jwks");
        }
    if (statement && !collect(pool, statement, NULL, merged, names, err))
        return NULL;

    json_object_foreach(merged, canon, v)
    {
        const char *name = dcr_json_string(names, canon), *tag;
        bool bad;
        if (!check_value(pool, classify(canon, &tag, &bad), name, v, err))
            return NULL;
    }

    app_type = dcr_json_string(merged, "application_type");
    if (app_type && strcmp(app_type, "web") != 0 && strcmp(app_type, "native") != 0)
        return failf(err, DCR_ERR_INVALID_CLIENT_METADATA,
                     "application_type must be web or native"),
               NULL;
    if (json_object_get(merged, "jwks") && json_object_get(merged, "jwks_uri"))
        return failf(err, DCR_ERR_INVALID_CLIENT_METADATA,
                     "jwks and jwks_uri must not both be given"),
               NULL;
    redirects = json_object_get(merged, "redirect_uris");
    if ((redirects && !check_uris(pool, "redirect_uris", redirects, app_type, policy, err)) ||
        ((v = json_object_get(merged, "post_logout_redirect_uris")) &&
         !check_uris(pool, "post_logout_redirect_uris", v, app_type, policy, err)))
        return NULL;

    if (!dcr_grants_resolve(pool, json_object_get(merged, "grant_types"),
                            json_object_get(merged, "response_types"), policy, &grants, &responses,
                            err))
        return NULL;
    if (dcr_grants_need_redirect(grants) && json_array_size(redirects) == 0)
        return failf(err, DCR_ERR_INVALID_REDIRECT_URI,
                     "redirect_uris is required for the authorization_code and implicit "
                     "grant types"),
               NULL;
    if (!check_implicit_uris(pool, redirects, app_type, grants, err))
        return NULL;

    json_object_foreach(merged, canon, v) if (!is_derived(canon))
        json_object_set(out, dcr_json_string(names, canon), v);
    if (!dcr_auth_method_resolve(merged, forced_auth_method, out, err) ||
        !dcr_grants_public_client(grants, dcr_json_string(out, "token_endpoint_auth_method"), err))
        return NULL;
    json_object_set(out, "grant_types", grants);
    json_object_set(out, "response_types", responses);
    return out;
}
