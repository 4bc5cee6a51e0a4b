#include "status_cache.h"

#include "sha256.h"

#include <apr_strings.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_LIFE 300 /* seconds, when neither the list nor HTTP says */

long long dcr_status_cache_life(long long ttl, long long max_age, long long min, long long max,
                                long long now, long long not_after)
{
    long long life;
    if (ttl > 0) {
        life = ttl < max ? ttl : max;
    } else if (max_age == 0) {
        return 0; /* no-store, and the list names no ttl of its own */
    } else {
        life = max_age > 0 ? max_age : DEFAULT_LIFE;
        if (life < min)
            life = min;
        if (life > max)
            life = max;
    }
    if (not_after > 0 && now + life > not_after)
        life = not_after - now;
    return life > 0 ? life : 0;
}

long long dcr_status_w3c_ttl_seconds(long long ms)
{
    return ms > 0 ? ms / 1000 + (ms % 1000 != 0) : 0;
}

/* Each part with its length in front, so no two configurations serialise alike. The CA
 * bundle read at startup (ca_pem) is hashed as bytes beside this text. */
static char *conf_text(apr_pool_t *pool, const dcr_fetch_conf *conf)
{
    const char *ca = conf->ca_file ? conf->ca_file : "";
    char *s = apr_psprintf(pool,
                           "%d:%" APR_SIZE_T_FMT ":%s|%d:%" APR_SIZE_T_FMT "|%" APR_INT64_T_FMT
                           "|%" APR_SIZE_T_FMT "|%d",
                           conf->ca_file != NULL, strlen(ca), ca, conf->ca_pem != NULL,
                           conf->ca_pem ? conf->ca_pem_len : 0, (apr_int64_t)conf->timeout_ms,
                           conf->max_size, conf->max_redirects);
    for (int i = 0; conf->allow && i < conf->allow->nelts; i++) {
        const char *h = APR_ARRAY_IDX(conf->allow, i, const char *);
        s = apr_psprintf(pool, "%s|%" APR_SIZE_T_FMT ":%s", s, strlen(h ? h : ""), h ? h : "");
    }
    return s;
}

const char *dcr_status_down_key(apr_pool_t *pool, const dcr_fetch_conf *conf, const char *url)
{
    unsigned char d[DCR_SHA256_LEN];
    char hex[2 * 16 + 1];
    const char *text = conf ? conf_text(pool, conf) : "no-fetch";
    const void *parts[2] = {text, conf && conf->ca_pem ? conf->ca_pem : ""};
    size_t lens[2] = {strlen(text), conf && conf->ca_pem ? conf->ca_pem_len : 0};
    if (!dcr_sha256(d, 2, parts, lens))
        return apr_pstrcat(pool, "status-list-down:", text, ":", url, NULL);
    for (int i = 0; i < 16; i++) /* 128 bits tell configurations apart */
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return apr_pstrcat(pool, "status-list-down:", hex, ":", url, NULL);
}
