#include "trust_sources.h"
#include "preflight.h"

#include "http_core.h"
#include "http_log.h"
#include "mod_unixd.h"
#include "mod_watchdog.h"

#include <apr_shm.h>
#include <apr_thread_proc.h>
#include <unistd.h>
#include <apr_strings.h>
#include <stdbool.h>
#include <string.h>

APLOG_USE_MODULE(dcr_trusted);

#define WATCHDOG_NAME "dcr-trust"
#define SHM_KEY "dcr_trusted/trust-slots"
#define TICK_MS 200 /* how soon an unknown-kid refresh starts */

/* Per configuration (pconf userdata: a new one each generation). */
typedef struct trust_conf {
    dcr_trust_limits limits;
    int limits_set, stale_set;
    int watched;                 /* the watchdog callback is registered */
    apr_array_header_t *sources; /* dcr_trust_source * */
    server_rec *s;
} trust_conf;

static trust_conf *get_conf(apr_pool_t *pconf)
{
    void *data = NULL;
    trust_conf *c;
    apr_pool_userdata_get(&data, "dcr_trusted/trust", pconf);
    if (data)
        return data;
    c = apr_pcalloc(pconf, sizeof(*c));
    dcr_trust_limits_defaults(&c->limits);
    c->sources = apr_array_make(pconf, 4, sizeof(dcr_trust_source *));
    apr_pool_userdata_set(c, "dcr_trusted/trust", apr_pool_cleanup_null, pconf);
    return c;
}

static const char *seconds(cmd_parms *cmd, const char *arg, long long min, long long *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    if (*end || end == arg || v < min || v > 365LL * 86400)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds >= %" APR_INT64_T_FMT,
                            cmd->directive->directive, arg, (apr_int64_t)min);
    *out = v;
    return NULL;
}

const char *dcr_ap_cmd_trust_refresh(cmd_parms *cmd, void *dconf, const char *min, const char *max)
{
    trust_conf *c = get_conf(cmd->pool);
    long long lo, hi;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    (void)dconf;
    if (err || (err = seconds(cmd, min, 1, &lo)) || (err = seconds(cmd, max, 1, &hi)))
        return err;
    if (lo > hi)
        return "DCRTrustRefresh: min is above max";
    c->limits.refresh_min = lo;
    c->limits.refresh_max = hi;
    return NULL;
}

const char *dcr_ap_cmd_trust_max_stale(cmd_parms *cmd, void *dconf, const char *arg)
{
    trust_conf *c = get_conf(cmd->pool);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    (void)dconf;
    return err ? err : seconds(cmd, arg, 1, &c->limits.max_stale);
}

const dcr_trust_limits *dcr_ap_trust_limits(apr_pool_t *pconf)
{
    return &get_conf(pconf)->limits;
}

void dcr_ap_trust_add(apr_pool_t *pconf, server_rec *s, dcr_trust_source *src)
{
    trust_conf *c = get_conf(pconf);
    bool again = false; /* the same source in another vhost: said already */
    for (int i = 0; i < c->sources->nelts; i++)
        again |= !strcmp(dcr_trust_source_key(APR_ARRAY_IDX(c->sources, i, dcr_trust_source *)),
                         dcr_trust_source_key(src));
    APR_ARRAY_PUSH(c->sources, dcr_trust_source *) = src;
    /* a document source says what it does without keys itself (503 until fetched) */
    if (!again && !dcr_trust_source_has_seed(src) && !dcr_trust_source_required(src) &&
        dcr_trust_source_kind(src) != DCR_TRUST_DOCUMENT)
        dcr_ap_warn_later(s, apr_psprintf(pconf,
                                          "%s: keys come from %s and no seed= is set: its "
                                          "statements are refused until the first fetch "
                                          "succeeds",
                                          dcr_trust_source_owner(src), dcr_trust_source_url(src)));
}

/* The singleton watchdog child: refreshes what is due; logs once per change of state. */
static apr_status_t tick(int state, void *data, apr_pool_t *p)
{
    trust_conf *c = data;
    long long now = (long long)apr_time_sec(apr_time_now());
    if (state != AP_WATCHDOG_STATE_RUNNING || !c->s)
        return APR_SUCCESS;
    for (int i = 0; i < c->sources->nelts; i++) {
        dcr_trust_source *src = APR_ARRAY_IDX(c->sources, i, dcr_trust_source *);
        dcr_trust_report rep;
        apr_pool_t *tp;
        if (!dcr_trust_source_due(src, now)) /* also false for a second source on one slot */
            continue;
        apr_pool_create(&tp, p);
        dcr_trust_source_refresh(src, tp, now, &rep);
        if (rep.changed)
            ap_log_error(APLOG_MARK, rep.failed ? APLOG_WARNING : APLOG_INFO, 0, c->s, "%s",
                         rep.msg);
        else
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, c->s, "%s", rep.msg);
        apr_pool_destroy(tp);
    }
    return APR_SUCCESS;
}

void dcr_ap_trust_wanted(cmd_parms *cmd)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *reg =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    trust_conf *c = get_conf(cmd->pool);
    ap_watchdog_t *wd = NULL;
    if (c->watched)
        return;
    /* a singleton: one child of the whole server fetches, the others read */
    if (get && reg && get(&wd, WATCHDOG_NAME, 0, 1, cmd->pool) == APR_SUCCESS &&
        reg(wd, apr_time_from_msec(TICK_MS), c, tick) == APR_SUCCESS)
        c->watched = 1;
    else
        c->watched = -1;
}

/* The slots, in the process pool: they outlive every configuration generation, so a graceful
 * restart keeps what was fetched (shmcb and pconf memory would not). */
static void *slots(server_rec *s, const char **err)
{
    void *data = NULL;
    apr_shm_t *shm;
    apr_status_t rv;
    apr_pool_userdata_get(&data, SHM_KEY, s->process->pool);
    if (data)
        return apr_shm_baseaddr_get(data);
    rv = apr_shm_create(&shm, dcr_trust_slots_size(DCR_AP_TRUST_SLOTS), NULL, s->process->pool);
    if (rv != APR_SUCCESS) {
        char buf[128];
        *err = apr_psprintf(s->process->pool, "cannot create shared memory for key sets: %s",
                            apr_strerror(rv, buf, sizeof(buf)));
        return NULL;
    }
    memset(apr_shm_baseaddr_get(shm), 0, dcr_trust_slots_size(DCR_AP_TRUST_SLOTS));
    apr_pool_userdata_set(shm, SHM_KEY, apr_pool_cleanup_null, s->process->pool);
    return apr_shm_baseaddr_get(shm);
}

/* seed=required: the first fetch happens before httpd serves, in a forked process running as
 * the children's User (the parent never parses network input); it publishes into the shared
 * slot like the watchdog would. A failure stops the start. */
static const char *first_fetch(apr_pool_t *pconf, server_rec *s, dcr_trust_source *src)
{
    dcr_trust_slot *slot = dcr_trust_source_slot(src);
    apr_proc_t proc;
    apr_exit_why_e how;
    int code;
    apr_status_t rv = apr_proc_fork(&proc, pconf);

    if (rv == APR_INCHILD) {
        dcr_trust_report rep = {0};
        apr_pool_t *p = NULL;
        if (ap_unixd_setup_child() != 0 || apr_pool_create(&p, NULL) != APR_SUCCESS)
            _exit(2);
        dcr_trust_source_refresh(src, p, (long long)apr_time_sec(apr_time_now()), &rep);
        _exit(rep.failed ? 1 : 0); /* no cleanups of the parent's pools */
    }
    if (rv != APR_INPARENT)
        return apr_psprintf(pconf, "%s: seed=required, but the first fetch cannot start",
                            dcr_trust_source_owner(src));
    apr_proc_wait(&proc, &code, &how, APR_WAIT); /* bounded by DCRFetchTimeout */
    if (!dcr_trust_slot_version(slot) || slot->result != DCR_TRUST_OK)
        return apr_psprintf(pconf, "%s: seed=required and the first fetch of %s failed: %s",
                            dcr_trust_source_owner(src), dcr_trust_source_url(src),
                            slot->why[0] ? slot->why : "the fetching process died");
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "%s: first fetch of %s done at startup: %d key(s)",
                 dcr_trust_source_owner(src), dcr_trust_source_url(src), (int)slot->key_count);
    return NULL;
}

const char *dcr_ap_trust_post_config(apr_pool_t *pconf, server_rec *s)
{
    trust_conf *c = get_conf(pconf);
    const char *err = NULL;
    uint32_t *generation = NULL; /* post_config runs; the module's statics go with the DSO */
    void *base;

    c->s = s;
    if (c->sources->nelts == 0) { /* none now: free what an earlier generation held */
        void *data = NULL;
        apr_pool_userdata_get(&data, SHM_KEY, s->process->pool);
        if (data)
            dcr_trust_slot_release_unclaimed(apr_shm_baseaddr_get(data), DCR_AP_TRUST_SLOTS,
                                             UINT32_MAX);
        return NULL;
    }
    if (c->watched != 1)
        return "a remote key source (DCRTrustDomain or DCRVCIssuer with an https URL) or an "
               "https DCRMetadataDocument needs mod_watchdog: LoadModule watchdog_module";
    if (!(base = slots(s, &err)))
        return err;
    apr_pool_userdata_get((void **)&generation, SHM_KEY "/gen", s->process->pool);
    if (!generation) {
        generation = apr_pcalloc(s->process->pool, sizeof(*generation));
        apr_pool_userdata_set(generation, SHM_KEY "/gen", apr_pool_cleanup_null, s->process->pool);
    }
    ++*generation;
    for (int i = 0; i < c->sources->nelts; i++) {
        dcr_trust_source *src = APR_ARRAY_IDX(c->sources, i, dcr_trust_source *);
        int at = dcr_trust_slot_claim(base, DCR_AP_TRUST_SLOTS, dcr_trust_source_key(src),
                                      dcr_trust_source_url(src), *generation);
        dcr_trust_slot *slot;
        if (at < 0)
            return apr_psprintf(pconf, "more than %d distinct remote key sources",
                                DCR_AP_TRUST_SLOTS);
        slot = dcr_trust_slot_at(base, at);
        dcr_trust_source_attach(src, slot);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "%s: keys from %s (%s, version %lu)",
                     dcr_trust_source_owner(src), dcr_trust_source_url(src),
                     dcr_trust_slot_version(slot) ? "kept from the previous generation"
                                                  : "not fetched yet",
                     (unsigned long)dcr_trust_slot_version(slot));
    }
    dcr_trust_slot_release_unclaimed(base, DCR_AP_TRUST_SLOTS, *generation);
    /* not in the pre-flight pass, and not when a graceful restart kept the keys */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return NULL;
    for (int i = 0; i < c->sources->nelts; i++) {
        dcr_trust_source *src = APR_ARRAY_IDX(c->sources, i, dcr_trust_source *);
        if (dcr_trust_source_required(src) && !dcr_trust_slot_version(dcr_trust_source_slot(src)) &&
            (err = first_fetch(pconf, s, src)))
            return err;
    }
    return NULL;
}
