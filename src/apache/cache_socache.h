/* DCRCache: the shared, non-durable cache (src/cache.h) over a mod_socache provider, one per
 * server (global directive). Without DCRCache, shmcb is used when mod_socache_shmcb is loaded,
 * else a per-process memory cache (with a notice). */
#ifndef DCR_AP_CACHE_SOCACHE_H
#define DCR_AP_CACHE_SOCACHE_H

#include "httpd.h"
#include "http_config.h"

#include "cache.h"

/* Directive handler: DCRCache <provider>[:<args>] (main server only). */
const char *dcr_ap_cmd_cache(cmd_parms *cmd, void *dconf, const char *spec);

/* The cache of this configuration generation, set up on first call in post_config (pconf
 * owns it). NULL with *msg on a startup error. Processes forked later attach lazily. */
dcr_cache *dcr_ap_cache(apr_pool_t *pconf, server_rec *s, const char **msg);

#endif
