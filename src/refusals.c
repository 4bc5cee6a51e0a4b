#include "refusals.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

static long long window_start(long long now, long long window)
{
    return now - now % window;
}

static const char *key_of(apr_pool_t *pool, const char *addr, long long start)
{
    return apr_psprintf(pool, "dcr-refusals %s %" APR_INT64_T_FMT, addr, (apr_int64_t)start);
}

static long long count_of(dcr_cache *cache, apr_pool_t *pool, const char *key, long long now)
{
    char *val;
    size_t len;
    return dcr_cache_get(cache, pool, key, now, &val, &len) ? atoll(val) : 0;
}

bool dcr_refusals_exceeded(dcr_cache *cache, apr_pool_t *pool, const char *addr, long long now,
                           long long max, long long window, long long *retry_after)
{
    long long start = window_start(now, window);
    if (count_of(cache, pool, key_of(pool, addr, start), now) < max)
        return false;
    *retry_after = start + window - now;
    return true;
}

void dcr_refusals_count(dcr_cache *cache, apr_pool_t *pool, const char *addr, long long now,
                        long long window)
{
    long long start = window_start(now, window);
    const char *key = key_of(pool, addr, start);
    const char *val =
        apr_psprintf(pool, "%" APR_INT64_T_FMT, (apr_int64_t)count_of(cache, pool, key, now) + 1);
    dcr_cache_set(cache, pool, key, val, strlen(val), start + window);
}
