#include "update_compare.h"

#include "json.h"
#include "upstream.h"

#include <string.h>

/* The registration_client_uri as it was answered (the id percent-encoded). */
static bool is_client_uri(const char *s, const dcr_client *c, const char *endpoint_url)
{
    apr_pool_t *p;
    bool same;
    if (!s || !endpoint_url || apr_pool_create(&p, NULL) != APR_SUCCESS)
        return false;
    same = strcmp(s, dcr_client_uri(p, endpoint_url, c)) == 0;
    apr_pool_destroy(p);
    return same;
}

/* The registered value of a server-managed member: true when v equals it. A member the
 * registration does not have (client_secret_expires_at without a secret) only matches null. */
static bool managed_equal(const char *name, const json_t *v, const dcr_client *c,
                          const char *endpoint_url)
{
    const char *s = json_string_value(v);
    if (strcmp(name, "registration_access_token") == 0)
        return s && dcr_client_token_matches(c, s);
    if (strcmp(name, "client_secret") == 0) /* ours is kept as a hash, an upstream's as is */
        return s &&
               (c->upstream ? dcr_upstream_secret_matches(c, s) : dcr_client_secret_matches(c, s));
    if (strcmp(name, "registration_client_uri") == 0)
        return is_client_uri(s, c, endpoint_url);
    if (strcmp(name, "client_id_issued_at") == 0)
        return json_is_integer(v) && json_integer_value(v) == c->issued_at;
    if (strcmp(name, "client_secret_expires_at") == 0) {
        const json_t *reg = c->secret_hash[0] || c->upstream
                                ? json_object_get(c->metadata, "client_secret_expires_at")
                                : NULL;
        return reg ? json_equal((json_t *)v, (json_t *)reg) : json_is_null(v);
    }
    return false;
}

bool dcr_update_check_managed(const json_t *body, const dcr_client *c, const char *endpoint_url,
                              dcr_error *err)
{
    static const char *const managed[] = {
        "registration_access_token", "registration_client_uri", "client_secret_expires_at",
        "client_id_issued_at",       "client_secret",           NULL};
    const char *id = dcr_json_string(body, "client_id");
    const json_t *v;
    if (!id || strcmp(id, dcr_client_public_id(c)) != 0)
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                        "client_id in the body must equal the client's client_id", NULL);
    for (const char *const *m = managed; *m; m++) {
        if (!(v = json_object_get(body, *m)) || managed_equal(*m, v, c, endpoint_url))
            continue;
        if (strcmp(*m, "client_secret") == 0)
            return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                            "client_secret may only be sent as the current secret",
                            "update sent a client_secret that does not match");
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                        "an update must not change server-managed members",
                        "update sent %s different from the registered value", *m);
    }
    return true;
}

bool dcr_update_check_fixed(const json_t *body, const dcr_client *c, dcr_error *err)
{
    const json_t *claims = json_object_get(c->statement, "claims");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        const json_t *claim = json_object_get(claims, key);
        const json_t *registered = json_object_get(c->metadata, key);
        if (!claim || json_equal(v, (json_t *)claim) ||
            (registered && json_equal(v, (json_t *)registered)))
            continue;
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                        "a member fixed by the software_statement was changed",
                        "update changed statement member %.80s", key);
    }
    return true;
}

const json_t *dcr_update_statement_values(apr_pool_t *pool, const dcr_client *c, const json_t *body,
                                          const json_t *statement_claims)
{
    json_t *out;
    const char *key;
    json_t *v;
    if (!c->statement || !json_equal(json_object_get(body, "software_statement"),
                                     json_object_get(c->metadata, "software_statement")))
        return statement_claims;
    out = dcr_json_own(pool, json_object());
    json_object_foreach(json_object_get(c->statement, "claims"), key, v)
    {
        const json_t *registered = json_object_get(c->metadata, key);
        json_object_set(out, key, registered ? (json_t *)registered : v);
    }
    return out;
}
