/* How fetched status lists are cached (DCRCache): how long a verified list is reused, and
 * under which key a failed fetch is remembered. Kept apart from the decoders (status_list.c)
 * and the checks (vc_status.c) because both rules are about trust between vhosts and time. */
#ifndef DCR_STATUS_CACHE_H
#define DCR_STATUS_CACHE_H

#include "fetch.h"

#include <apr_pools.h>

/* Seconds a verified list fetched at now is reused (0: not cached).
 *  - ttl: the list's own ttl in seconds (0: none). It is an upper bound set by the issuer:
 *    only max lowers it; min (DCRVCStatusCacheTime's minimum) never stretches it.
 *  - otherwise max_age (HTTP Cache-Control: -1 absent, 0 no-store, then not cached), else
 *    300 s, clamped to [min, max].
 * Never past not_after (the list's own expiry, 0: none). */
long long dcr_status_cache_life(long long ttl, long long max_age, long long min, long long max,
                                long long now, long long not_after);

/* A W3C list's ttl (milliseconds) in whole seconds, rounded up so that a short ttl stays
 * short; 0 when ms is not positive. */
long long dcr_status_w3c_ttl_seconds(long long ms);

/* The cache key that marks url as "fetch failed moments ago" for this fetch configuration:
 * the CA bundle (or file), DCRFetchAllow, timeout, size and redirect limits decide whether a fetch
 * can succeed, so one vhost's failure never stands in for another vhost's fetch. */
const char *dcr_status_down_key(apr_pool_t *pool, const dcr_fetch_conf *conf, const char *url);

#endif
