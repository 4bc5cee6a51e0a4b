/* DCRTrustDomain / DCRAllowSpiffeID. Names and patterns are checked when the directive is read;
 * bundle files are read and validated in check_config (as root, like mod_ssl's certificates),
 * so `apache2 -t` fails on a broken bundle and every (graceful) restart reloads them. */
#include "config_spiffe.h"

#include "http_log.h"

#include "conf_file.h"
#include "config.h"
#include "preflight.h"
#include "spiffe.h"

#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(dcr_trusted);

typedef struct td_entry {
    const char *name, *file, *issuer;
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

const char *dcr_spiffe_cmd_trust_domain(cmd_parms *cmd, void *dconf, const char *td,
                                        const char *file, const char *issuer)
{
    dcr_spiffe_conf *c = my_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    td_entry *e;

    if (err)
        return err;
    if (!dcr_spiffe_td_valid(td, strlen(td)))
        return apr_psprintf(cmd->pool,
                            "DCRTrustDomain: '%s' is not a trust domain name (lowercase a-z 0-9 "
                            ". - _, at most 255 bytes, without spiffe://)",
                            td);
    if (issuer && (strncmp(issuer, "issuer=", 7) != 0 || issuer[7] == '\0'))
        return apr_psprintf(cmd->pool,
                            "DCRTrustDomain %s: third argument must be issuer=<iss value>, "
                            "got '%s'",
                            td, issuer);
    if (!c->domains_set) { /* first one in this server: start a fresh list */
        c->domains = apr_array_make(cmd->pool, 2, sizeof(td_entry));
        c->domains_set = 1;
    }
    for (int i = 0; i < c->domains->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(c->domains, i, td_entry).name, td) == 0)
            return apr_psprintf(cmd->pool, "DCRTrustDomain %s is configured twice", td);
    e = apr_array_push(c->domains);
    e->name = apr_pstrdup(cmd->pool, td);
    e->file = ap_server_root_relative(cmd->pool, file);
    if (!e->file)
        return apr_psprintf(cmd->pool, "DCRTrustDomain %s: invalid file path '%s'", td, file);
    e->issuer = issuer ? apr_pstrdup(cmd->pool, issuer + 7) : NULL;
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
        if (!dcr_spiffe_trust_bundle(trust, p.trust_domain))
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
