/* A rate limit on refused registrations per client address (DCRRefusalLimit), counted in the
 * shared cache (DCRCache) in fixed windows. It slows down guessing and garbage floods without
 * touching the store. Counts are approximate: the cache has no atomic increment, and it may
 * evict; a limit that errs low by a few refusals under concurrency is acceptable here. */
#ifndef DCR_REFUSALS_H
#define DCR_REFUSALS_H

#include "cache.h"

#include <apr_pools.h>
#include <stdbool.h>

/* True when addr has max refusals or more in the window holding now; *retry_after gets the
 * seconds until that window ends. */
bool dcr_refusals_exceeded(dcr_cache *cache, apr_pool_t *pool, const char *addr, long long now,
                           long long max, long long window, long long *retry_after);

/* Counts one refusal for addr in the window holding now. */
void dcr_refusals_count(dcr_cache *cache, apr_pool_t *pool, const char *addr, long long now,
                        long long window);

#endif
