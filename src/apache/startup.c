/* Start-up: what needs the running server's resources (shared memory, mutexes, the schema, the
 * cache) is set up here in post_config, after check_config (preflight.c) refused what cannot
 * work; one info line per endpoint says what it serves; stores re-attach in each child. */
#include "startup.h"

#include "cache_socache.h"
#include "conf_tree.h"
#include "config.h"
#include "config_upstream.h"
#include "config_iat.h"
#include "config_spiffe.h"
#include "config_vc.h"
#include "preflight.h"
#include "store_socache.h"
#include "trust_sources.h"

#include "http_log.h"
#include "http_main.h"
#include "http_core.h"

#include <apr_hash.h>
#include <apr_strings.h>

APLOG_USE_MODULE(dcr_trusted);

int dcr_ap_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return dcr_ap_socache_pre_config(pconf) == APR_SUCCESS ? OK : !OK;
}

/* "dcr-registration at <url>[, <url>]: audience(s) ...; store ...; trust domain td: n key(s),
 * issuer x: n key(s)": what an admin checks first when a client is refused. */
static void log_endpoint(apr_pool_t *ptemp, server_rec *v, const dcr_server_conf *sc)
{
    const char *urls = "", *auds = "", *spiffe = dcr_spiffe_conf_summary(sc->spiffe),
               *vc = dcr_vc_conf_summary(sc->vc), *iat = dcr_ap_iat_summary(ptemp, v);
    const apr_array_header_t *a = sc->policy.audiences;
    for (int i = 0; i < sc->locations->nelts; i++)
        urls = apr_pstrcat(ptemp, urls, i ? ", " : "", dcr_ap_public_base(ptemp, v, sc->tls),
                           APR_ARRAY_IDX(sc->locations, i, const char *), NULL);
    if (a && a->nelts > 0)
        for (int i = 0; i < a->nelts; i++)
            auds = apr_pstrcat(ptemp, auds, i ? ", " : "", APR_ARRAY_IDX(a, i, const char *), NULL);
    else
        auds = apr_pstrcat(ptemp, urls, " (the endpoint URL)", NULL);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, v,
                 DCR_HANDLER " at %s for %s: audience(s) %s; store %s; %s%s%s%s%s", urls,
                 v->server_hostname ? v->server_hostname : "?", auds, sc->store_arg,
                 spiffe ? spiffe : "", spiffe && vc ? ", " : "",
                 spiffe || vc ? (vc ? vc : "") : "no trust anchor", iat ? "; " : "",
                 iat ? iat : "");
}

int dcr_ap_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *done = apr_hash_make(ptemp); /* store cfgs set up (vhosts may share one) */
    const char *msg;
    (void)plog;

    for (server_rec *v = s; v; v = v->next) {
        dcr_server_conf *sc = dcr_ap_sconf(v);
        const char *label = dcr_ap_server_label(ptemp, v);
        if ((msg = dcr_vc_conf_attach(pconf, v, &sc->policy))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v, "%s: %s", label, msg);
            return !OK;
        }
        /* A cache store cannot sweep: unless told otherwise its registrations end by
         * themselves (within memcached's 30-day limit on relative expiry). */
        if (sc->store == &dcr_ap_store_socache && !(sc->policy_set & DCR_SET_REG_LIFETIME))
            sc->policy.registration_lifetime = DCR_SOCACHE_DEFAULT_LIFETIME;
        /* an upstream may keep shared state there (an admin token); without it, per child */
        if (dcr_ap_upstream(sc) && !sc->cache && !(sc->cache = dcr_ap_cache(pconf, v, &msg)))
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v, "DCRUpstream for %s: no DCRCache: %s",
                         label, msg);
        if (sc->policy.refusal_limit > 0 && !sc->cache &&
            !(sc->cache = dcr_ap_cache(pconf, v, &msg))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v, "DCRRefusalLimit for %s needs DCRCache: %s",
                         label, msg);
            return !OK;
        }
        if (!sc->store || apr_hash_get(done, &sc->store_cfg, sizeof(void *)))
            continue;
        apr_hash_set(done, apr_pmemdup(ptemp, &sc->store_cfg, sizeof(void *)), sizeof(void *), "1");
        if ((msg = sc->store->post_config(pconf, ptemp, v, sc->store_cfg))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v, "DCRStore %s for %s: %s", sc->store_arg,
                         label, msg);
            return !OK;
        }
    }
    dcr_ap_log_warnings();
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG)
        for (server_rec *v = s; v; v = v->next) {
            dcr_server_conf *sc = dcr_ap_sconf(v);
            if (sc->locations && sc->locations->nelts > 0)
                log_endpoint(ptemp, v, sc);
        }
    if ((msg = dcr_ap_trust_post_config(pconf, s))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s", msg);
        return !OK;
    }
    return OK;
}

void dcr_ap_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_hash_t *done = apr_hash_make(pchild);
    for (server_rec *v = s; v; v = v->next) {
        dcr_server_conf *sc = dcr_ap_sconf(v);
        if (!sc->store || !sc->store->child_init ||
            apr_hash_get(done, &sc->store_cfg, sizeof(void *)))
            continue;
        apr_hash_set(done, apr_pmemdup(pchild, &sc->store_cfg, sizeof(void *)), sizeof(void *),
                     "1");
        sc->store->child_init(pchild, v, sc->store_cfg);
    }
}
