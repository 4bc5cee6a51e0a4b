/* Shared, non-durable cache (DCRCache): status lists and other fetched material, shared
 * between httpd processes by the socache glue (src/apache/cache_socache.c), or per process by
 * the in-memory implementation below. Values may be evicted at any time: callers treat a miss
 * as "fetch again", and cache only what they re-verify on every read (signed documents). */
#ifndef DCR_CACHE_H
#define DCR_CACHE_H

#include <apr_pools.h>
#include <stdbool.h>
#include <stddef.h>

/* A backend stores opaque records under short keys (already hashed here). */
typedef struct dcr_cache {
    bool (*store)(void *baton, const char *key, const unsigned char *val, size_t len,
                  long long expires_at);
    bool (*retrieve)(void *baton, apr_pool_t *pool, const char *key, unsigned char **val,
                     size_t *len);
    void *baton;
    size_t max_value; /* largest record the backend takes (0: no limit) */
} dcr_cache;

/* Stores val under key until expires_at (seconds since the epoch). False when the backend
 * refused it (too large, full): the caller just goes on without the cache. */
bool dcr_cache_set(dcr_cache *cache, apr_pool_t *pool, const char *key, const void *val, size_t len,
                   long long expires_at);

/* The value stored under key if it has not expired at now (pool memory, NUL-terminated). */
bool dcr_cache_get(dcr_cache *cache, apr_pool_t *pool, const char *key, long long now, char **val,
                   size_t *len);

/* A per-process cache of at most max_entries records, safe for threads; lives as long as
 * pool. For tests and for servers without DCRCache. */
dcr_cache *dcr_cache_memory_create(apr_pool_t *pool, unsigned max_entries);

#endif
