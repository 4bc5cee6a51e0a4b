/* Remote trust sources in httpd: DCRTrustRefresh, DCRTrustMaxStale, the shared memory that
 * publishes fetched key sets to every child (kept across graceful restarts), and the
 * mod_watchdog singleton that fetches them (never the parent, which must not parse network
 * input). The core side is src/trust_source.h. */
#ifndef DCR_AP_TRUST_SOURCES_H
#define DCR_AP_TRUST_SOURCES_H

#include "httpd.h"
#include "http_config.h"

#include "trust_source.h"

#define DCR_AP_TRUST_SLOTS 16 /* remote sources per server (each up to 64 KiB) */

const char *dcr_ap_cmd_trust_refresh(cmd_parms *cmd, void *dconf, const char *min, const char *max);
const char *dcr_ap_cmd_trust_max_stale(cmd_parms *cmd, void *dconf, const char *arg);

/* clang-format off */
#define DCR_TRUST_COMMANDS                                                                         \
    AP_INIT_TAKE2("DCRTrustRefresh", dcr_ap_cmd_trust_refresh, NULL, RSRC_CONF,                    \
                  "min and max seconds between refreshes of a remote key source (60 3600)"),       \
    AP_INIT_TAKE1("DCRTrustMaxStale", dcr_ap_cmd_trust_max_stale, NULL, RSRC_CONF,                 \
                  "seconds the last good keys of a source that is down stay in force (86400)"),
/* clang-format on */

/* A directive named a remote source: registers the fetching watchdog (once per config). */
void dcr_ap_trust_wanted(cmd_parms *cmd);
/* The limits sources built in this configuration get. */
const dcr_trust_limits *dcr_ap_trust_limits(apr_pool_t *pconf);
/* A remote source built in post_config (by the SPIFFE and VC apply steps). */
void dcr_ap_trust_add(apr_pool_t *pconf, server_rec *s, dcr_trust_source *src);
/* End of post_config: attaches every source to its shared slot (same source and fetch
 * configuration as before a graceful restart: same slot, keys kept). Error text or NULL. */
const char *dcr_ap_trust_post_config(apr_pool_t *pconf, server_rec *s);

#endif
