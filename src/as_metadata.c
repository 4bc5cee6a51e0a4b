#include "as_metadata.h"

#include "json.h"
#include "vc.h"

#include <apr_strings.h>
#include <string.h>

/* What src/auth_method.c can leave registered when no profile forces a method. */
static const char *const default_rule[] = {"none", "private_key_jwt", "tls_client_auth",
                                           "self_signed_tls_client_auth", NULL};

/* A URL path of plain segments: no "//", "." or "..", no query or fragment. */
static bool plain_path(const char *p)
{
    if (*p != '/' || strpbrk(p, "?#\\"))
        return false;
    while (*p == '/') {
        const char *seg = p + 1;
        size_t n = strcspn(seg, "/");
        if (n == 0 && seg[0] == '/')
            return false;
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        p = seg + n;
    }
    return true;
}

const char *dcr_as_metadata_issuer_path(apr_pool_t *pool, const char *path,
                                        dcr_as_metadata_kind *kind)
{
    size_t n = strlen(path), w = strlen(DCR_AS_METADATA_WELL_KNOWN),
           o = strlen(DCR_OIDC_WELL_KNOWN);
    if (!plain_path(path))
        return NULL;
    if (strncmp(path, DCR_AS_METADATA_WELL_KNOWN, w) == 0 && (path[w] == '\0' || path[w] == '/')) {
        if (path[w] == '/' && path[w + 1] == '\0')
            return NULL; /* "/.well-known/oauth-authorization-server/": no issuer has that */
        *kind = DCR_AS_METADATA_OAUTH;
        return apr_pstrdup(pool, path + w);
    }
    if (n >= o && strcmp(path + n - o, DCR_OIDC_WELL_KNOWN) == 0) {
        *kind = DCR_AS_METADATA_OIDC;
        return apr_pstrndup(pool, path, n - o);
    }
    return NULL;
}

static json_t *parse_checked(apr_pool_t *pool, const char *buf, size_t len,
                             const dcr_as_metadata_rules *rules, const char **why)
{
    json_t *doc = dcr_json_parse(pool, buf, len, DCR_JSON_MAX_DEPTH, why), *methods;
    const char *iss;
    size_t i;
    json_t *m;

    if (!doc)
        return NULL;
    if (!json_is_object(doc)) {
        *why = "the metadata document is not a JSON object";
        return NULL;
    }
    if (!(iss = dcr_json_string(doc, "issuer"))) {
        *why = "the metadata document has no issuer string";
        return NULL;
    }
    if (strcmp(iss, rules->issuer) != 0) {
        *why = apr_psprintf(pool,
                            "the document's issuer '%.200s' is not this server's issuer '%s' "
                            "(RFC 8414 3.3: it must match the URL the document is served from)",
                            iss, rules->issuer);
        return NULL;
    }
    methods = json_object_get(doc, "token_endpoint_auth_methods_supported");
    if (methods && !json_is_array(methods)) {
        *why = "token_endpoint_auth_methods_supported is not an array";
        return NULL;
    }
    json_array_foreach(methods, i, m)
    {
        if (!json_is_string(m)) {
            *why = "token_endpoint_auth_methods_supported holds a value that is not a string";
            return NULL;
        }
    }
    return doc;
}

bool dcr_as_metadata_check(apr_pool_t *pool, const char *buf, size_t len,
                           const dcr_as_metadata_rules *rules, const char **why)
{
    return parse_checked(pool, buf, len, rules, why) != NULL;
}

bool dcr_as_metadata_trust_check(void *ctx, apr_pool_t *pool, const char *buf, size_t len,
                                 const char **why)
{
    return dcr_as_metadata_check(pool, buf, len, ctx, why);
}

char *dcr_as_metadata_render(apr_pool_t *pool, const char *buf, size_t len,
                             const dcr_as_metadata_rules *rules, size_t *out_len, const char **why)
{
    json_t *doc = parse_checked(pool, buf, len, rules, why), *theirs, *ours, *aliases, *m;
    size_t i;
    char *out;

    if (!doc)
        return NULL;
    json_object_set_new(doc, "registration_endpoint", json_string(rules->registration_endpoint));
    json_object_del(doc, "signed_metadata");
    aliases = json_object_get(doc, "mtls_endpoint_aliases");
    if (json_is_object(aliases))
        json_object_del(aliases, "registration_endpoint");

    theirs = json_object_get(doc, "token_endpoint_auth_methods_supported");
    ours = json_array();
    if (!theirs) /* RFC 8414 2: absent means client_secret_basic */
        json_array_append_new(ours, json_string("client_secret_basic"));
    else
        json_array_extend(ours, theirs);
    for (i = 0; i < json_array_size(ours);) {
        m = json_array_get(ours, i);
        if (dcr_str_in_list(rules->methods, json_string_value(m)))
            i++;
        else
            json_array_remove(ours, i);
    }
    json_object_set_new(doc, "token_endpoint_auth_methods_supported", ours);

    if (!(out = dcr_json_dump(pool, doc))) {
        *why = "the metadata document cannot be serialised";
        return NULL;
    }
    *out_len = strlen(out);
    return out;
}

static void add(apr_array_header_t *list, const char *m)
{
    if (m && *m && !dcr_str_in_list(list, m))
        APR_ARRAY_PUSH(list, const char *) = m;
}

static void add_default_rule(apr_array_header_t *list)
{
    for (const char *const *m = default_rule; *m; m++)
        add(list, *m);
}

apr_array_header_t *dcr_as_metadata_methods(apr_pool_t *pool, const dcr_policy *policy)
{
    apr_array_header_t *list = apr_array_make(pool, 6, sizeof(const char *));
    /* with DCRUpstream, spiffe_auth_method is DCRUpstreamAuthMethod (config_upstream.c) */
    if (policy->spiffe)
        add(list, policy->spiffe_auth_method);
    if (policy->vc) {
        const char *forced = policy->vc->auth_method;
        if (forced && *forced) {
            add(list, forced);
            add(list, "private_key_jwt"); /* a holder key in cnf.jwk pins it */
        } else
            add_default_rule(list);
    }
    if (!policy->require_statement)
        add_default_rule(list);
    return list;
}
