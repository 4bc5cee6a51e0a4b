/* The admin access token for Keycloak's admin REST API: client credentials
 * (DCRUpstreamCredentials, sent as client_secret_post) at the realm's token endpoint, cached in
 * the shared cache (DCRCache) until shortly before it expires, so every child uses one token.
 * The cache key covers the realm URL, the client_id and a hash of the secret: a changed secret
 * or realm never reuses a token. */
#ifndef DCR_KEYCLOAK_TOKEN_H
#define DCR_KEYCLOAK_TOKEN_H

#include "error.h"
#include "upstream.h"

#include <apr_pools.h>
#include <stdbool.h>
#include <stddef.h>

/* Seconds before its expiry that a cached token is no longer used (at most half its life). */
#define DCR_KC_TOKEN_MARGIN 30

/* The token: the cached one unless fresh (after a 401 from the admin API), else a new one,
 * stored for the next call. NULL with temporarily_unavailable when the token endpoint is down
 * or refuses (the detail says why, never the secret). */
const char *dcr_keycloak_admin_token(const dcr_upstream_call *call, bool fresh, dcr_error *err);

/* The token endpoint's answer: the access token and until when to cache it (0: not at all,
 * when expires_in is missing). NULL with *why when it is not a bearer token answer. */
const char *dcr_keycloak_parse_token(apr_pool_t *pool, const char *body, size_t len, long long now,
                                     long long *cache_until, const char **why);

/* The cache key of up's admin token. */
const char *dcr_keycloak_token_key(apr_pool_t *pool, const dcr_upstream *up);

#endif
