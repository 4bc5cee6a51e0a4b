/* Start-up: refuse configurations that cannot work (a vhost that serves the handler without a
 * DCRStore), load trust anchors, create the stores; re-attach stores in each child. */
#include "startup.h"

#include "config.h"
#include "config_spiffe.h"
#include "cache_socache.h"
#include "config_vc.h"
#include "store_socache.h"
#include "trust_sources.h"

#include "http_log.h"
#include "http_main.h"

#include <apr_hash.h>
#include <apr_strings.h>

APLOG_USE_MODULE(dcr_trusted);

int dcr_ap_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return dcr_ap_socache_pre_config(pconf) == APR_SUCCESS ? OK : !OK;
}

/* Does a SetHandler argument name our handler ("dcr-registration", maybe quoted)? */
static int is_our_handler(apr_pool_t *p, const char *args)
{
    const char *w = ap_getword_conf(p, &args);
    return w && strcasecmp(w, DCR_HANDLER) == 0;
}

/* A <Location> argument (the tree keeps its closing '>') as a path prefix: unquoted, no
 * trailing slash ("/" becomes ""). */
static const char *location_path(apr_pool_t *p, const char *args)
{
    char *copy = apr_pstrdup(p, args), *end = strrchr(copy, '>'), *loc;
    const char *rest = copy;
    apr_size_t n;
    if (end)
        *end = '\0';
    loc = ap_getword_conf(p, &rest);
    n = strlen(loc);
    while (n > 0 && loc[n - 1] == '/')
        loc[--n] = '\0';
    return loc;
}

typedef struct walk {
    apr_pool_t *p;
    apr_hash_t *uses; /* "main" or "file:line" of a <VirtualHost> -> array of location paths */
    const char *error;
} walk;

/* Walks the parsed config tree for "SetHandler dcr-registration": the <Location> around it
 * gives the endpoint path, the <VirtualHost> around that (or "main", which every vhost
 * inherits) says who serves it. SetHandler is an expression inside core's per-dir config,
 * and our own per-dir config is never created for a section without our directives, so the
 * tree is the reliable place to learn both. */
static void find_handler_uses(walk *w, const ap_directive_t *d, const ap_directive_t *vh,
                              const ap_directive_t *loc)
{
    for (; d && !w->error; d = d->next) {
        const ap_directive_t *in_vh = vh, *in_loc = loc;
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            in_vh = d;
        } else if (!strcasecmp(d->directive, "<Location") ||
                   !strcasecmp(d->directive, "<LocationMatch") ||
                   !strcasecmp(d->directive, "<Directory") ||
                   !strcasecmp(d->directive, "<DirectoryMatch") ||
                   !strcasecmp(d->directive, "<Files") ||
                   !strcasecmp(d->directive, "<FilesMatch")) {
            in_loc = d;
        } else if (!strcasecmp(d->directive, "SetHandler") && is_our_handler(w->p, d->args)) {
            const char *key = vh ? apr_psprintf(w->p, "%s:%d", vh->filename, vh->line_num) : "main";
            apr_array_header_t *a = apr_hash_get(w->uses, key, APR_HASH_KEY_STRING);
            const char *args = loc ? loc->args : NULL;
            if (!loc || strcasecmp(loc->directive, "<Location") != 0 || !args || *args == '~' ||
                strchr(args, '*') || strchr(args, '?')) {
                w->error = apr_psprintf(w->p,
                                        "SetHandler " DCR_HANDLER " (%s:%d) must be inside a "
                                        "<Location /path> section with a plain path",
                                        d->filename, d->line_num);
                return;
            }
            if (!a) {
                a = apr_array_make(w->p, 2, sizeof(const char *));
                apr_hash_set(w->uses, key, APR_HASH_KEY_STRING, a);
            }
            APR_ARRAY_PUSH(a, const char *) = location_path(w->p, args);
        }
        if (d->first_child)
            find_handler_uses(w, d->first_child, in_vh, in_loc);
    }
}

/* The endpoint paths server s serves: the main server's and its own. */
static apr_array_header_t *locations_of(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                                        apr_hash_t *uses)
{
    apr_array_header_t *out = apr_array_make(pconf, 2, sizeof(const char *));
    apr_array_header_t *a = apr_hash_get(uses, "main", APR_HASH_KEY_STRING);
    if (a)
        apr_array_cat(out, a);
    if (s->is_virtual && s->defn_name &&
        (a = apr_hash_get(uses, apr_psprintf(ptemp, "%s:%d", s->defn_name, s->defn_line_number),
                          APR_HASH_KEY_STRING)))
        apr_array_cat(out, a);
    for (int i = 0; i < out->nelts; i++) /* outlive ptemp */
        APR_ARRAY_IDX(out, i, const char *) =
            apr_pstrdup(pconf, APR_ARRAY_IDX(out, i, const char *));
    return out;
}

static const char *server_label(apr_pool_t *p, const server_rec *s)
{
    if (!s->is_virtual)
        return "the main server";
    return apr_psprintf(p, "<VirtualHost> %s:%u (%s:%d)",
                        s->server_hostname ? s->server_hostname : "?", (unsigned)s->port,
                        s->defn_name ? s->defn_name : "?", s->defn_line_number);
}

int dcr_ap_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    walk w = {ptemp, apr_hash_make(ptemp), NULL};
    apr_hash_t *done = apr_hash_make(ptemp); /* store cfgs set up (vhosts may share one) */
    const char *msg;

    find_handler_uses(&w, ap_conftree, NULL, NULL);
    if (w.error) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s", w.error);
        return !OK;
    }
    for (server_rec *v = s; v; v = v->next) {
        dcr_server_conf *sc = dcr_ap_sconf(v);
        sc->locations = locations_of(pconf, ptemp, v, w.uses);
        if (!sc->store && sc->locations->nelts > 0) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v,
                         "DCRStore is not set for %s, which serves SetHandler " DCR_HANDLER
                         ": set DCRStore (e.g. socache:shmcb) in it or in the main server",
                         server_label(ptemp, v));
            return !OK;
        }
        if ((msg = dcr_spiffe_conf_apply(pconf, v, sc->spiffe, &sc->policy)) ||
            (msg = dcr_vc_conf_apply(pconf, v, sc->vc, &sc->policy))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v, "%s: %s", server_label(ptemp, v), msg);
            return !OK;
        }
        /* A cache store cannot sweep: unless told otherwise its registrations end by
         * themselves (within memcached's 30-day limit on relative expiry). */
        if (sc->store == &dcr_ap_store_socache && !(sc->policy_set & DCR_SET_REG_LIFETIME))
            sc->policy.registration_lifetime = DCR_SOCACHE_DEFAULT_LIFETIME;
        if (sc->store == &dcr_ap_store_socache && sc->policy.max_registrations > 0) {
            /* a ceiling that is silently not enforced is worse than none */
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v,
                         "DCRMaxRegistrations for %s: a socache store cannot count its "
                         "registrations; use DCRStore sqlite: or dbd, or drop the ceiling",
                         server_label(ptemp, v));
            return !OK;
        }
        if (sc->policy.refusal_limit > 0 && !(sc->cache = dcr_ap_cache(pconf, v, &msg))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v, "DCRRefusalLimit for %s needs DCRCache: %s",
                         server_label(ptemp, v), msg);
            return !OK;
        }
        if (!sc->store || apr_hash_get(done, &sc->store_cfg, sizeof(void *)))
            continue;
        apr_hash_set(done, apr_pmemdup(ptemp, &sc->store_cfg, sizeof(void *)), sizeof(void *), "1");
        if ((msg = sc->store->post_config(pconf, ptemp, v, sc->store_cfg))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v, "DCRStore %s for %s: %s", sc->store_arg,
                         server_label(ptemp, v), msg);
            return !OK;
        }
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
