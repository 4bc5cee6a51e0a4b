/* DCRTrustDomain / DCRAllowSpiffeID. Names and patterns are checked when the directive is read;
 * bundle files are read and validated in check_config (as root, like mod_ssl's certificates),
 * so `apache2 -t` fails on a broken bundle and every (graceful) restart reloads them. */
#include "config_spiffe.h"

#include "http_log.h"

#include "conf_file.h"
#include "config.h"
#include "config_vc.h"
#include "preflight.h"
#include "spiffe.h"
#include "trust_sources.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

APLOG_USE_MODULE(dcr_trusted);

typedef struct td_entry {
    const char *name, *file, *issuer;
    const char *url, *seed; /* a remote source (file NULL) and its optional seed file */
    dcr_trust_kind kind;
    int required; /* seed=required: the first fetch must succeed at startup */
} td_entry;

typedef struct dcr_spiffe_conf {
    apr_array_header_t *domains;  /* td_entry */
    apr_array_header_t *patterns; /* const char * */
    int domains_set, patterns_set;
    const char *summary; /* "trust domain td: n key(s)", ... once loaded */
} dcr_spiffe_conf;

static dcr_spiffe_conf *my_conf(cmd_parms *cmd)
{
    return dcr_ap_sconf(cmd->server)->spiffe;
}

void *dcr_spiffe_conf_create(apr_pool_t *p)
{
    dcr_spiffe_conf *c = apr_pcalloc(p, sizeof(*c));
    c->domains = apr_array_make(p, 2, sizeof(td_entry));
    c->patterns = apr_array_make(p, 2, sizeof(const char *));
    return c;
}

/* Repeatable per-vhost lists: a vhost that sets any replaces the main server's list. */
void *dcr_spiffe_conf_merge(apr_pool_t *p, void *basev, void *addv)
{
    dcr_spiffe_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->domains_set = add->domains_set || base->domains_set;
    c->domains = add->domains_set ? add->domains : base->domains;
    c->patterns_set = add->patterns_set || base->patterns_set;
    c->patterns = add->patterns_set ? add->patterns : base->patterns;
    return c;
}

/* The source argument: https://... (SPIFFE bundle endpoint), jwks:https://... (plain JWKS), or
 * a file (either shape). */
static const char *parse_source(cmd_parms *cmd, const char *td, const char *src, td_entry *e)
{
    const char *url = strncmp(src, "jwks:", 5) == 0 ? src + 5 : src;
    if (strncasecmp(url, "https://", 8) == 0) {
        e->kind = url == src ? DCR_TRUST_SPIFFE_BUNDLE : DCR_TRUST_TD_JWKS;
        e->url = apr_pstrdup(cmd->pool, url);
        return NULL;
    }
    if (strstr(src, "://"))
        return apr_psprintf(cmd->pool,
                            "DCRTrustDomain %s: '%s': a key source URL must be https:// or "
                            "jwks:https://",
                            td, src);
    e->file = ap_server_root_relative(cmd->pool, src);
    return e->file ? NULL
                   : apr_psprintf(cmd->pool, "DCRTrustDomain %s: invalid file path '%s'", td, src);
}

/* DCRTrustDomain <td> <source> [issuer=<iss>] [seed=<file>|seed=required], options in any
 * order. */
const char *dcr_spiffe_cmd_trust_domain(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    dcr_spiffe_conf *c = my_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE), *td;
    td_entry e = {0}, *slot;

    (void)dconf;
    if (err)
        return err;
    if (argc < 2 || argc > 4)
        return "DCRTrustDomain takes a trust domain, a source (bundle file, https:// bundle "
               "endpoint or jwks:https:// URL) and optionally issuer=<iss> and seed=<file>";
    td = argv[0];
    if (!dcr_spiffe_td_valid(td, strlen(td)))
        return apr_psprintf(cmd->pool,
                            "DCRTrustDomain: '%s' is not a trust domain name (lowercase a-z 0-9 "
                            ". - _, at most 255 bytes, without spiffe://)",
                            td);
    if ((err = parse_source(cmd, td, argv[1], &e)))
        return err;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "issuer=", 7) == 0 && a[7] && !e.issuer)
            e.issuer = apr_pstrdup(cmd->pool, a + 7);
        else if (strcmp(a, "seed=required") == 0 && !e.seed && !e.required && e.url)
            e.required = 1;
        else if (strncmp(a, "seed=", 5) == 0 && a[5] && !e.seed && !e.required && e.url) {
            if (!(e.seed = ap_server_root_relative(cmd->pool, a + 5)))
                return apr_psprintf(cmd->pool, "DCRTrustDomain %s: invalid seed path '%s'", td,
                                    a + 5);
        } else
            return apr_psprintf(cmd->pool,
                                "DCRTrustDomain %s: '%s' is not an option here (issuer=<iss> "
                                "once; seed=<file> or seed=required once, with an https source)",
                                td, a);
    }
    if (!c->domains_set) { /* first one in this server: start a fresh list */
        c->domains = apr_array_make(cmd->pool, 2, sizeof(td_entry));
        c->domains_set = 1;
    }
    for (int i = 0; i < c->domains->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(c->domains, i, td_entry).name, td) == 0)
            return apr_psprintf(cmd->pool, "DCRTrustDomain %s is configured twice", td);
    e.name = apr_pstrdup(cmd->pool, td);
    slot = apr_array_push(c->domains);
    *slot = e;
    if (e.url)
        dcr_ap_trust_wanted(cmd);
    return NULL;
}

const char *dcr_spiffe_cmd_allow_id(cmd_parms *cmd, void *dconf, const char *pattern)
{
    dcr_spiffe_conf *c = my_conf(cmd);
    dcr_spiffe_pattern p;
    const char *why = NULL, *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    if (err)
        return err;
    if (!dcr_spiffe_pattern_parse(cmd->pool, pattern, &p, &why))
        return apr_psprintf(cmd->pool, "DCRAllowSpiffeID '%s': %s", pattern, why);
    if (!c->patterns_set) {
        c->patterns = apr_array_make(cmd->pool, 2, sizeof(const char *));
        c->patterns_set = 1;
    }
    APR_ARRAY_PUSH(c->patterns, const char *) = apr_pstrdup(cmd->pool, pattern);
    return NULL;
}

typedef struct warn_baton {
    server_rec *s;
    const char *td, *file;
} warn_baton;

static void bundle_warning(void *baton, const char *msg)
{
    warn_baton *wb = baton;
    dcr_ap_warn_later(wb->s, apr_psprintf(wb->s->process->pconf, "DCRTrustDomain %s, bundle %s: %s",
                                          wb->td, wb->file, msg));
}

const char *dcr_spiffe_load_bundle_file(apr_pool_t *pconf, server_rec *s, const char *td,
                                        const char *file, dcr_spiffe_bundle **out)
{
    warn_baton wb = {s, td, file};
    char *buf = NULL;
    apr_size_t len = 0;
    const char *why = NULL, *msg = dcr_conf_read_file(pconf, file, &buf, &len);
    if (msg)
        return apr_psprintf(pconf, "DCRTrustDomain %s: cannot read bundle %s: %s", td, file, msg);
    if (!(*out = dcr_spiffe_bundle_parse(pconf, buf, len, bundle_warning, &wb, &why)))
        return apr_psprintf(pconf, "DCRTrustDomain %s: bundle %s is not usable: %s", td, file, why);
    return NULL;
}

/* A trust domain whose keys come from a URL: fetched by the watchdog (src/apache/
 * trust_sources.c) with this server's DCRFetch* settings; the seed is read now. */
static const char *add_remote(apr_pool_t *pconf, server_rec *s, dcr_spiffe_trust *trust,
                              const td_entry *e)
{
    const char *why = NULL, *owner = apr_psprintf(pconf, "DCRTrustDomain %s", e->name);
    const dcr_fetch_conf *fetch = dcr_vc_conf_fetch(pconf, dcr_ap_sconf(s)->vc, &why);
    dcr_trust_source *src;
    if (!fetch)
        return why; /* DCRFetchCAFile unusable: its own message */
    src = dcr_trust_source_create(pconf, owner, e->kind, e->url, fetch, dcr_ap_trust_limits(pconf),
                                  &why);
    if (!src)
        return apr_psprintf(pconf, "%s: %s", owner, why);
    if (e->seed) {
        char *buf = NULL;
        apr_size_t len = 0;
        const char *msg = dcr_conf_read_file(pconf, e->seed, &buf, &len);
        if (msg)
            return apr_psprintf(pconf, "%s: cannot read seed %s: %s", owner, e->seed, msg);
        if (!dcr_trust_source_seed(src, buf, len, &why))
            return apr_psprintf(pconf, "%s: seed %s is not usable: %s", owner, e->seed, why);
    }
    if (e->required)
        dcr_trust_source_set_required(src);
    if (!dcr_spiffe_trust_add_remote(trust, e->name, src, e->issuer, &why))
        return apr_psprintf(pconf, "%s: %s", owner, why);
    dcr_ap_trust_add(pconf, s, src);
    return NULL;
}

const char *dcr_spiffe_conf_apply(apr_pool_t *pconf, server_rec *s, void *conf, dcr_policy *policy)
{
    dcr_spiffe_conf *c = conf;
    dcr_spiffe_trust *trust;
    const char *why = NULL, *msg;

    policy->spiffe = NULL;
    if (!c || c->domains->nelts == 0) {
        if (c && c->patterns->nelts > 0)
            dcr_ap_warn_later(s, "DCRAllowSpiffeID has no effect without DCRTrustDomain");
        return NULL;
    }
    trust = dcr_spiffe_trust_create(pconf);
    c->summary = NULL;
    for (int i = 0; i < c->domains->nelts; i++) {
        const td_entry *e = &APR_ARRAY_IDX(c->domains, i, td_entry);
        dcr_spiffe_bundle *b;
        if (e->url) {
            if ((msg = add_remote(pconf, s, trust, e)))
                return msg;
            continue;
        }
        if ((msg = dcr_spiffe_load_bundle_file(pconf, s, e->name, e->file, &b)))
            return msg;
        if (!dcr_spiffe_trust_add_domain(trust, e->name, b, e->issuer, &why))
            return apr_psprintf(pconf, "DCRTrustDomain %s: %s", e->name, why);
        msg = apr_psprintf(
            pconf,
            "DCRTrustDomain %s: %d JWT-SVID key(s) from %s (%s, sequence %" APR_INT64_T_FMT ")",
            e->name, b->jwt_keys->nkeys, e->file, b->spiffe_shape ? "SPIFFE bundle" : "JWKS",
            (apr_int64_t)b->sequence);
        if (b->jwt_keys->nkeys)
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "%s", msg);
        else
            dcr_ap_warn_later(
                s,
                apr_pstrcat(pconf, msg, ": every JWT-SVID of this domain will be refused", NULL));
        msg = apr_psprintf(pconf, "trust domain %s: %d key(s)", e->name, b->jwt_keys->nkeys);
        c->summary = c->summary ? apr_pstrcat(pconf, c->summary, ", ", msg, NULL) : msg;
    }
    for (int i = 0; i < c->patterns->nelts; i++) {
        const char *pat = APR_ARRAY_IDX(c->patterns, i, const char *);
        dcr_spiffe_pattern p;
        if (!dcr_spiffe_trust_add_pattern(trust, pat, &why))
            return apr_psprintf(pconf, "DCRAllowSpiffeID %s: %s", pat, why);
        dcr_spiffe_pattern_parse(pconf, pat, &p, &why);
        if (!dcr_spiffe_trust_has(trust, p.trust_domain))
            dcr_ap_warn_later(s, apr_psprintf(pconf,
                                              "DCRAllowSpiffeID %s names trust domain %s, which "
                                              "this server does not trust: it admits nothing",
                                              pat, p.trust_domain));
    }
    policy->spiffe = trust;
    return NULL;
}

int dcr_spiffe_conf_count(const void *conf)
{
    const dcr_spiffe_conf *c = conf;
    return c ? c->domains->nelts : 0;
}

const char *dcr_spiffe_conf_summary(const void *conf)
{
    const dcr_spiffe_conf *c = conf;
    return c ? c->summary : NULL;
}
