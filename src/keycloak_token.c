#include "keycloak_token.h"

#include "cache.h"
#include "json.h"
#include "keycloak_client.h"
#include "sha256.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

const char *dcr_keycloak_token_key(apr_pool_t *pool, const dcr_upstream *up)
{
    unsigned char md[DCR_SHA256_LEN];
    char hex[2 * DCR_SHA256_LEN + 1] = "";
    const char *secret = up->admin_secret ? up->admin_secret : "";
    if (dcr_sha256_1(md, secret, strlen(secret)))
        for (int i = 0; i < DCR_SHA256_LEN; i++)
            apr_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return apr_pstrcat(pool, "keycloak-admin-token\n", up->url, "\n",
                       up->admin_client_id ? up->admin_client_id : "", "\n", hex, NULL);
}

static bool header_safe(const char *tok)
{
    for (const char *p = tok; *p; p++)
        if (*p <= 0x20 || *p > 0x7e)
            return false;
    return true;
}

const char *dcr_keycloak_parse_token(apr_pool_t *pool, const char *body, size_t len, long long now,
                                     long long *cache_until, const char **why)
{
    json_t *doc = dcr_json_parse(pool, body, len, 4, why), *exp;
    const char *tok = dcr_json_string(doc, "access_token");
    const char *type = dcr_json_string(doc, "token_type");
    long long life;

    *cache_until = 0;
    if (!json_is_object(doc) || !tok || !*tok) {
        if (doc)
            *why = "no access_token in the token endpoint's answer";
        return NULL;
    }
    if (!type || strcasecmp(type, "Bearer") != 0) {
        *why = "the token endpoint's token_type is not Bearer";
        return NULL;
    }
    if (!header_safe(tok)) { /* it goes into an Authorization header */
        *why = "the access token has characters a header cannot carry";
        return NULL;
    }
    exp = json_object_get(doc, "expires_in");
    if (json_is_integer(exp) && (life = json_integer_value(exp)) > 1) {
        long long margin = life / 2 < DCR_KC_TOKEN_MARGIN ? life / 2 : DCR_KC_TOKEN_MARGIN;
        *cache_until = now + life - margin;
    }
    return apr_pstrdup(pool, tok);
}

const char *dcr_keycloak_admin_token(const dcr_upstream_call *call, bool fresh, dcr_error *err)
{
    const dcr_upstream *up = call->up;
    apr_pool_t *pool = call->pool;
    const char *key = dcr_keycloak_token_key(pool, up), *why = NULL, *tok, *form;
    char *cached;
    size_t n;
    long long until;
    dcr_fetch_result res;
    dcr_fetch_status st;

    /* a cached value goes into a header too: it must look like a token */
    if (!fresh && dcr_cache_get(call->cache, pool, key, call->now, &cached, &n) && n > 0 &&
        strlen(cached) == n && header_safe(cached))
        return cached;
    if (!up->admin_client_id || !up->admin_secret)
        return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                        "the authorization server is unavailable",
                        "keycloak: DCRUpstreamCredentials is not set"),
               NULL;
    form = apr_pstrcat(pool, "grant_type=client_credentials&client_id=",
                       dcr_keycloak_escape(pool, up->admin_client_id),
                       "&client_secret=", dcr_keycloak_escape(pool, up->admin_secret), NULL);
    st = dcr_fetch_send(pool, &up->fetch, "POST", dcr_keycloak_token_url(pool, up->url), up->origin,
                        NULL, "application/x-www-form-urlencoded", form, strlen(form), &res, &why);
    if (st != DCR_FETCH_OK)
        return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                        "the authorization server is unavailable", "keycloak token endpoint: %s",
                        why),
               NULL;
    if (res.http_status != 200)
        return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                        "the authorization server is unavailable",
                        "keycloak token endpoint: HTTP %ld (check DCRUpstreamCredentials)",
                        res.http_status),
               NULL;
    tok = dcr_keycloak_parse_token(pool, res.body, res.len, call->now, &until, &why);
    if (!tok)
        return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                        "the authorization server is unavailable", "keycloak token endpoint: %s",
                        why),
               NULL;
    if (until > call->now)
        dcr_cache_set(call->cache, pool, key, tok, strlen(tok), until);
    dcr_log(call->log, DCR_LOG_DEBUG, "keycloak: new admin token for %s (cached until %lld)",
            up->url, until);
    return tok;
}
