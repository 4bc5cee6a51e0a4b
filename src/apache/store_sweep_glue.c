/* mod_watchdog side of the sweep. The callback ticks every second in the singleton watchdog
 * child and sweeps when the store's interval has passed; each batch is one short statement,
 * so requests keep writing while a large backlog drains. */
#include "store_sweep_glue.h"

#include "config.h"
#include "config_upstream.h"
#include "store_backend.h"
#include "store_sweep.h"
#include "upstream_flow.h"

#include "http_log.h"
#include "mod_watchdog.h"

#include <apr_strings.h>
#include <errno.h>

APLOG_USE_MODULE(dcr_trusted);

#define WATCHDOG_NAME "dcr-sweep"

static void log_to_server(void *baton, int level, const char *msg)
{
    ap_log_error(APLOG_MARK, level, 0, baton, "%s", msg);
}

/* Expired upstream clients: deleted at the upstream, then here (a failure waits for the next
 * run). */
static void sweep_upstream(dcr_ap_sweep *sw, dcr_store *st, long long now, apr_pool_t *p)
{
    dcr_logger log = {log_to_server, sw->s};
    dcr_error err = {0};
    long long removed = 0;
    dcr_server_conf *sc = dcr_ap_sconf(sw->s);
    if (dcr_upstream_sweep(st, sw->ups, sw->nups, now, DCR_SWEEP_BATCH, sc->cache, &log, &removed,
                           p, &err) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sw->s, "DCRStore %s: upstream sweep failed: %s",
                     sw->what, err.detail);
    if (removed)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, sw->s,
                     "DCRStore %s: deleted %" APR_INT64_T_FMT
                     " expired registrations here and at their upstream",
                     sw->what, (apr_int64_t)removed);
}

static apr_status_t tick(int state, void *data, apr_pool_t *p)
{
    dcr_ap_sweep *sw = data;
    apr_time_t now = apr_time_now();
    dcr_error err = {0};
    long long removed = 0;
    dcr_store *st;
    apr_status_t rv;

    if (state != AP_WATCHDOG_STATE_RUNNING || sw->interval <= 0 || !sw->s || now < sw->next)
        return APR_SUCCESS;
    sw->next = now + apr_time_from_sec(sw->interval);
    if (!(st = sw->open(p, sw->baton, &err))) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sw->s, "DCRStore %s: no sweep now: %s", sw->what,
                     err.detail);
        return APR_SUCCESS;
    }
    rv = dcr_store_sweep(st, apr_time_sec(now), DCR_SWEEP_BATCH, DCR_SWEEP_MAX_BATCHES, &removed, p,
                         &err);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sw->s, "DCRStore %s: sweep failed: %s", sw->what,
                     err.detail);
    if (removed)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, sw->s,
                     "DCRStore %s: swept %" APR_INT64_T_FMT " expired registrations", sw->what,
                     (apr_int64_t)removed);
    if (sw->nups > 0)
        sweep_upstream(sw, st, apr_time_sec(now), p);
    return APR_SUCCESS; /* keep ticking, also after a failure: the database may come back */
}

void dcr_ap_sweep_init(dcr_ap_sweep *sw, cmd_parms *cmd, const char *what,
                       dcr_ap_sweep_open_fn open, void *baton)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *reg =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    ap_watchdog_t *wd = NULL;

    sw->interval = DCR_SWEEP_INTERVAL;
    sw->open = open;
    sw->baton = baton;
    sw->what = apr_pstrdup(cmd->pool, what);
    if (get && reg && get(&wd, WATCHDOG_NAME, 0, 1, cmd->pool) == APR_SUCCESS &&
        reg(wd, apr_time_from_sec(1), sw, tick) == APR_SUCCESS)
        sw->watched = 1;
}

/* The distinct upstreams of the servers on this store. */
static void collect_upstreams(dcr_ap_sweep *sw, server_rec *s, const void *store_cfg)
{
    apr_array_header_t *ups = apr_array_make(s->process->pconf, 2, sizeof(dcr_upstream *));
    for (server_rec *v = s; v; v = v->next) {
        dcr_server_conf *sc = dcr_ap_sconf(v);
        const dcr_upstream *up = dcr_ap_upstream(sc);
        int seen = 0;
        for (int i = 0; up && i < ups->nelts; i++)
            seen |= APR_ARRAY_IDX(ups, i, const dcr_upstream *) == up;
        if (sc->store_cfg == store_cfg && up && !seen)
            APR_ARRAY_PUSH(ups, const dcr_upstream *) = up;
    }
    sw->ups = (const dcr_upstream **)ups->elts;
    sw->nups = ups->nelts;
}

void dcr_ap_sweep_post_config(dcr_ap_sweep *sw, server_rec *s, const void *store_cfg)
{
    sw->s = s;
    sw->next = 0;
    collect_upstreams(sw, s, store_cfg);
    if (sw->watched || sw->interval <= 0) {
        if (sw->nups > 0 && sw->interval <= 0)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "DCRStore %s: DCRSweepInterval 0 with DCRUpstream: expired clients and "
                         "deletes the upstream did not take stay at the upstream",
                         sw->what);
        return;
    }
    for (server_rec *v = s; v; v = v->next) {
        dcr_server_conf *sc = dcr_ap_sconf(v);
        if (sc->store_cfg == store_cfg &&
            (sc->policy.registration_lifetime > 0 || dcr_ap_upstream(sc))) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "DCRStore %s: registrations expire (DCRRegistrationLifetime) but "
                         "mod_watchdog is not loaded: expired ones are never served, yet stay "
                         "in the table (LoadModule watchdog_module, or DCRSweepInterval 0)",
                         sw->what);
            return;
        }
    }
}

const char *dcr_ap_set_sweep_interval(cmd_parms *cmd, void *dc, const char *arg)
{
    dcr_server_conf *sc = dcr_ap_sconf(cmd->server);
    char *end = NULL;
    long long v;

    if ((sc->store != &dcr_ap_store_sqlite && sc->store != &dcr_ap_store_dbd) || !sc->store_cfg)
        return "DCRSweepInterval: put it after DCRStore sqlite:<file> or DCRStore dbd in the "
               "same server (socache stores expire entries themselves)";
    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno || end == arg || *end || v < 0 || v > 86400 * 7)
        return "DCRSweepInterval: seconds between 0 (off) and 604800";
    ((dcr_ap_sweep *)sc->store_cfg)->interval = v; /* first member of both SQL configs */
    return NULL;
}
