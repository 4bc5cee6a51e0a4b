#include "auth_method.h"

#include <string.h>

static const char *const known_methods[] = {"none",
                                            "client_secret_basic",
                                            "client_secret_post",
                                            "client_secret_jwt",
                                            "private_key_jwt",
                                            "tls_client_auth",
                                            "self_signed_tls_client_auth",
                                            NULL};

static const char *const tls_companions[] = {
    "tls_client_auth_subject_dn", "tls_client_auth_san_dns",   "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",     "tls_client_auth_san_email", NULL};

bool dcr_auth_method_is_tls_companion(const char *name)
{
    for (const char *const *c = tls_companions; *c; c++)
        if (strcmp(*c, name) == 0)
            return true;
    return false;
}

static bool is_known(const char *m)
{
    for (const char *const *k = known_methods; *k; k++)
        if (strcmp(*k, m) == 0)
            return true;
    return false;
}

static bool printable(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 1024)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* The single well-formed companion, or NULL when there is none or more than one. */
static const char *tls_companion(const json_t *merged)
{
    const char *found = NULL;
    for (const char *const *c = tls_companions; *c; c++) {
        const json_t *v = json_object_get(merged, *c);
        if (!v)
            continue;
        if (found || !json_is_string(v) || !printable(json_string_value(v)))
            return NULL;
        found = *c;
    }
    return found;
}

/* RFC 8705 2.2: the self-signed certificate is registered as x5c of a jwks key. */
static bool jwks_has_x5c(const json_t *jwks)
{
    size_t i;
    const json_t *k;
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        const json_t *x5c = json_object_get(k, "x5c");
        if (json_is_array(x5c) && json_array_size(x5c) > 0 &&
            json_is_string(json_array_get(x5c, 0)))
            return true;
    }
    return false;
}

bool dcr_auth_method_resolve(const json_t *merged, const char *forced, json_t *out, dcr_error *err)
{
    const json_t *mv = json_object_get(merged, "token_endpoint_auth_method");
    const json_t *jwks = json_object_get(merged, "jwks");
    bool has_keys = jwks || json_object_get(merged, "jwks_uri");
    const char *m = NULL, *companion;

    if (forced) {
        json_object_set_new(out, "token_endpoint_auth_method", json_string(forced));
        return true;
    }
    if (mv) {
        if (!json_is_string(mv))
            return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                            "token_endpoint_auth_method must be a string", NULL);
        m = json_string_value(mv);
        if (!is_known(m))
            return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                            "token_endpoint_auth_method: unsupported method", "method %.64s", m);
    }
    if (m && strcmp(m, "private_key_jwt") == 0 && !has_keys)
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                        "token_endpoint_auth_method: private_key_jwt needs jwks or jwks_uri", NULL);
    if (m && (strcmp(m, "none") == 0 || strcmp(m, "private_key_jwt") == 0)) {
        /* kept as asked */
    } else if (m && strcmp(m, "tls_client_auth") == 0 && (companion = tls_companion(merged))) {
        json_object_set(out, companion, json_object_get(merged, companion));
    } else if (m && strcmp(m, "self_signed_tls_client_auth") == 0 && jwks && jwks_has_x5c(jwks)) {
        /* kept: the certificate is in jwks */
    } else {
        m = has_keys ? "private_key_jwt" : "none";
    }
    json_object_set_new(out, "token_endpoint_auth_method", json_string(m));
    return true;
}
