/* The checks of check_config. They run in every configuration pass, including `apache2 -t`
 * (httpd stops after check_config there), with the server configs already merged; the error
 * log is not open yet, so errors go to stderr (the terminal of -t and of the start, the old
 * error log on a restart) and warnings wait for post_config. */
#include "preflight.h"

#include "conf_tree.h"
#include "config.h"
#include "config_iat.h"
#include "config_spiffe.h"
#include "config_upstream.h"
#include "config_vc.h"
#include "metadata_config.h"
#include "store_socache.h"

#include "http_log.h"
#include "http_main.h"
#include "http_core.h"

#include <apr_file_io.h>
#include <apr_strings.h>

APLOG_USE_MODULE(dcr_trusted);

typedef struct pending {
    server_rec *s;
    const char *msg;
} pending;

static apr_array_header_t *warnings; /* pending, in pconf of this pass */

static apr_status_t forget_warnings(void *unused)
{
    (void)unused;
    warnings = NULL;
    return APR_SUCCESS;
}

void dcr_ap_warn_later(server_rec *s, const char *msg)
{
    if (!warnings) {
        apr_pool_t *p = s->process->pconf;
        warnings = apr_array_make(p, 4, sizeof(pending));
        apr_pool_cleanup_register(p, NULL, forget_warnings, apr_pool_cleanup_null);
    }
    pending *w = apr_array_push(warnings);
    w->s = s;
    w->msg = msg;
}

void dcr_ap_log_warnings(void)
{
    /* the first pass of a start only checks; the second one is the server that runs */
    if (!warnings || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return;
    for (int i = 0; i < warnings->nelts; i++) {
        pending *w = &APR_ARRAY_IDX(warnings, i, pending);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s, "%s", w->msg);
    }
    warnings->nelts = 0;
}

const char *dcr_ap_public_base(apr_pool_t *p, const server_rec *s, int tls)
{
    const dcr_server_conf *sc = dcr_ap_sconf(s);
    const char *scheme = tls ? "https" : "http", *host = s->server_hostname;
    apr_port_t dflt = tls ? 443 : 80;
    if (sc->public_url)
        return sc->public_url;
    if (!host)
        host = "localhost";
    if (strchr(host, ':'))
        host = apr_pstrcat(p, "[", host, "]", NULL);
    if (!s->port || s->port == dflt)
        return apr_pstrcat(p, scheme, "://", host, NULL);
    return apr_psprintf(p, "%s://%s:%u", scheme, host, (unsigned)s->port);
}

static int refuse(server_rec *s, const char *msg)
{
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s", msg);
    return !OK;
}

/* Checks a server that serves SetHandler dcr-registration: mistakes that would start cleanly
 * and then fail every request. Fatal where the vhost holds the handler itself; a <Location> of
 * the main server reaches every vhost (a port-80 one too, where the 403s are what
 * DCRRequireTLS is for) and the main server, so there it is only said. */
static const char *check_endpoint(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *v,
                                  const dcr_ap_tree *t)
{
    dcr_server_conf *sc = dcr_ap_sconf(v);
    const char *label = dcr_ap_server_label(pconf, v), *msg = NULL;
    int tls = sc->tls, own = dcr_ap_tree_own_handler(t, v);

    if (dcr_ap_require_tls(sc) && !tls)
        msg = apr_psprintf(pconf,
                           "DCRRequireTLS is On, but %s serves SetHandler " DCR_HANDLER
                           " without TLS (no SSLEngine on): every request would be refused "
                           "with 403; turn on SSLEngine there, or set DCRRequireTLS Off only "
                           "behind a TLS-terminating proxy",
                           label);
    else if (sc->policy.require_statement && dcr_spiffe_conf_count(sc->spiffe) == 0 &&
             dcr_vc_conf_count(sc->vc) == 0)
        msg = apr_psprintf(pconf,
                           "DCRRequireStatement is On, but %s has no trust anchor "
                           "(DCRTrustDomain or DCRVCIssuer): every registration would be "
                           "refused",
                           label);
    if (msg && own)
        return msg;
    if (msg)
        dcr_ap_warn_later(
            v, apr_pstrcat(pconf, msg, " (it serves the main server's <Location>)", NULL));
    if (!dcr_ap_tree_has_server_name(t, v) && !sc->public_url &&
        (!sc->policy.audiences || sc->policy.audiences->nelts == 0)) {
        const char *aud = "";
        for (int i = 0; i < sc->locations->nelts; i++)
            aud = apr_pstrcat(pconf, aud, i ? " " : "", dcr_ap_public_base(pconf, v, tls),
                              APR_ARRAY_IDX(sc->locations, i, const char *), NULL);
        dcr_ap_warn_later(v, apr_psprintf(pconf,
                                          "%s has no ServerName: software statements must "
                                          "name the audience %s, built from the name httpd "
                                          "guessed; set ServerName (or DCRAudience)",
                                          label, aud));
    }
    (void)ptemp;
    return NULL;
}

/* `httpd -k stop` (and graceful-stop) reads the configuration too, and check_config runs
 * before it signals: a broken bundle must not keep an admin from stopping httpd. The MPM has
 * taken "-k" out of process->argv by now, so the original command line is read (Linux). */
static int only_stopping(apr_pool_t *p)
{
    char buf[4096];
    apr_size_t len = sizeof(buf) - 1;
    apr_file_t *f;
    if (apr_file_open(&f, "/proc/self/cmdline", APR_FOPEN_READ, 0, p) != APR_SUCCESS)
        return 0;
    if (apr_file_read_full(f, buf, len, &len) != APR_SUCCESS && len == 0)
        len = 0;
    apr_file_close(f);
    buf[len] = '\0';
    for (const char *a = buf, *end = buf + len; a < end; a += strlen(a) + 1) {
        const char *next = a + strlen(a) + 1;
        if (!strcmp(a, "-k") && next < end &&
            (!strcmp(next, "stop") || !strcmp(next, "graceful-stop")))
            return 1;
    }
    return 0;
}

int dcr_ap_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    dcr_ap_tree *t;
    const char *msg;
    (void)plog;

    if (only_stopping(ptemp))
        return OK;
    msg = dcr_ap_tree_read(ptemp, ap_conftree, &t);
    if (msg)
        return refuse(s, msg);
    for (server_rec *v = s; v; v = v->next) {
        dcr_server_conf *sc = dcr_ap_sconf(v);
        const char *label = dcr_ap_server_label(ptemp, v);
        sc->locations = dcr_ap_tree_locations(t, pconf, v);
        sc->tls = dcr_ap_tree_tls(t, v);
        if (!sc->store && sc->locations->nelts > 0)
            return refuse(
                v, apr_psprintf(ptemp,
                                "DCRStore is not set for %s, which serves SetHandler " DCR_HANDLER
                                ": set DCRStore (e.g. sqlite:/var/lib/apache2/dcr/"
                                "clients.db) in it or in the main server",
                                label));
        if ((msg = dcr_spiffe_conf_apply(pconf, v, sc->spiffe, &sc->policy)) ||
            (msg = dcr_vc_conf_apply(pconf, v, sc->vc, &sc->policy)) ||
            (msg = dcr_ap_upstream_apply(pconf, v, sc)))
            return refuse(v, apr_psprintf(ptemp, "%s: %s", label, msg));
        if ((msg = dcr_ap_iat_apply(pconf, ptemp, s, v)))
            return refuse(v, msg);
        if (sc->store == &dcr_ap_store_socache && sc->policy.max_registrations > 0)
            /* a ceiling that is silently not enforced is worse than none */
            return refuse(v, apr_psprintf(ptemp,
                                          "DCRMaxRegistrations for %s: a socache store cannot "
                                          "count its registrations; use DCRStore sqlite: or "
                                          "dbd, or drop the ceiling",
                                          label));
        if (sc->locations->nelts > 0 && (msg = check_endpoint(pconf, ptemp, v, t)))
            return refuse(v, msg);
        if ((msg = dcr_ap_metadata_check(pconf, v, t)))
            return refuse(v, msg);
        /* per server, not per store: a shared store may depend on each server's settings */
        if (sc->store && sc->store->check_config &&
            (msg = sc->store->check_config(ptemp, v, sc->store_cfg)))
            return refuse(v,
                          apr_psprintf(ptemp, "DCRStore %s for %s: %s", sc->store_arg, label, msg));
    }
    return OK;
}
