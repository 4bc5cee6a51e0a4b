/* The periodic sweep of expired registrations for the SQL stores (DCRStore sqlite:, dbd): a
 * mod_watchdog callback that runs in one child at a time (singleton watchdog) and deletes in
 * bounded batches (src/store_sweep.c). Without mod_watchdog, expired registrations are still
 * never served; they only stay in the table. */
#ifndef DCR_AP_STORE_SWEEP_GLUE_H
#define DCR_AP_STORE_SWEEP_GLUE_H

#include "httpd.h"
#include "http_config.h"

#include "error.h"
#include "store.h"

#define DCR_SWEEP_INTERVAL 300 /* seconds */

/* A store for one sweep run, its memory (and connection lease) in p; NULL with err. */
typedef dcr_store *(*dcr_ap_sweep_open_fn)(apr_pool_t *p, void *baton, dcr_error *err);

/* Lives at the start of each SQL backend's config, so DCRSweepInterval finds it. */
typedef struct dcr_ap_sweep {
    long long interval; /* DCRSweepInterval seconds; 0 = never */
    dcr_ap_sweep_open_fn open;
    void *baton;
    const char *what; /* the DCRStore argument, for the log */
    server_rec *s;    /* set in post_config */
    apr_time_t next;  /* next run, per child */
    int watched;      /* registered with mod_watchdog */
    /* post_config: the upstreams (DCRUpstream) of the servers on this store, whose expired
     * clients are deleted upstream first (src/upstream_flow.h) */
    const struct dcr_upstream **ups;
    int nups;
} dcr_ap_sweep;

/* At DCRStore time: defaults, and the watchdog callback (mod_watchdog must be registered
 * before its post_config hook, which runs before ours). */
void dcr_ap_sweep_init(dcr_ap_sweep *sw, cmd_parms *cmd, const char *what,
                       dcr_ap_sweep_open_fn open, void *baton);

/* post_config: the server to log to; a warning when registrations expire but no sweep runs. */
void dcr_ap_sweep_post_config(dcr_ap_sweep *sw, server_rec *s, const void *store_cfg);

/* DCRSweepInterval <seconds>, after DCRStore sqlite: or dbd in the same server. */
const char *dcr_ap_set_sweep_interval(cmd_parms *cmd, void *dc, const char *arg);

#define DCR_STORE_SWEEP_COMMANDS                                                                   \
    AP_INIT_TAKE1("DCRSweepInterval", dcr_ap_set_sweep_interval, NULL, RSRC_CONF,                  \
                  "seconds between sweeps of expired registrations on SQL stores (300; 0 = "       \
                  "off; needs mod_watchdog)"),

#endif
