/* DCRMetadataDocument and the check_config step of SetHandler dcr-metadata. */
#include "metadata_config.h"

#include "conf_file.h"
#include "config.h"
#include "config_vc.h"
#include "preflight.h"
#include "trust_source.h"
#include "trust_sources.h"

#include "http_log.h"

#include <apr_strings.h>

APLOG_USE_MODULE(dcr_trusted);

dcr_metadata_conf *dcr_ap_metadata_conf_create(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(dcr_metadata_conf));
}

dcr_metadata_conf *dcr_ap_metadata_conf_merge(apr_pool_t *p, const dcr_metadata_conf *base,
                                              const dcr_metadata_conf *add)
{
    dcr_metadata_conf *m = apr_pcalloc(p, sizeof(*m)); /* check_config fills the rest per server */
    const dcr_metadata_conf *from = add->source ? add : base;
    m->source = from->source;
    m->file = from->file;
    m->url = from->url;
    return m;
}

const char *dcr_ap_cmd_metadata_document(cmd_parms *cmd, void *dconf, const char *arg)
{
    dcr_metadata_conf *m = dcr_ap_sconf(cmd->server)->metadata;
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    (void)dconf;
    if (err)
        return err;
    if (m->source)
        return "DCRMetadataDocument is set twice in this server";
    if (strncmp(arg, "file:", 5) == 0 && arg[5]) {
        if (!(m->file = ap_server_root_relative(cmd->pool, arg + 5)))
            return apr_psprintf(cmd->pool, "DCRMetadataDocument: invalid path '%s'", arg + 5);
    } else if (strncasecmp(arg, "https://", 8) == 0) {
        if (!dcr_fetch_origin(cmd->temp_pool, arg))
            return apr_psprintf(
                cmd->pool, "DCRMetadataDocument: '%s' is not an https URL without userinfo", arg);
        m->url = apr_pstrdup(cmd->pool, arg);
        dcr_ap_trust_wanted(cmd); /* fetched by the trust sources' watchdog */
    } else
        return apr_psprintf(
            cmd->pool, "DCRMetadataDocument: '%s' is neither file:<path> nor an https:// URL", arg);
    m->source = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

/* The issuer path every metadata <Location> of the server implies (one for all of them) in
 * *out; NULL, or why not. */
static const char *issuer_path(apr_pool_t *pconf, const dcr_metadata_conf *m, const char *label,
                               const char **out)
{
    const char *path = NULL;
    for (int i = 0; i < m->locations->nelts; i++) {
        const char *loc = APR_ARRAY_IDX(m->locations, i, const char *), *p;
        dcr_as_metadata_kind kind;
        if (!(p = dcr_as_metadata_issuer_path(pconf, loc, &kind)))
            return apr_psprintf(pconf,
                                "SetHandler " DCR_METADATA_HANDLER " in <Location %s> of %s: "
                                "the path must be " DCR_AS_METADATA_WELL_KNOWN "[/<issuer path>]"
                                " (RFC 8414) or [/<issuer path>]" DCR_OIDC_WELL_KNOWN
                                " (OpenID Connect), which says what the issuer is",
                                loc, label);
        if (path && strcmp(path, p) != 0)
            return apr_psprintf(pconf,
                                "the SetHandler " DCR_METADATA_HANDLER " <Location>s of %s imply "
                                "two issuers ('%s' and '%s' after the origin): one document has "
                                "one issuer",
                                label, path, p);
        path = p;
    }
    *out = path;
    return NULL;
}

const char *dcr_ap_metadata_check(apr_pool_t *pconf, server_rec *v, const dcr_ap_tree *t)
{
    dcr_server_conf *sc = dcr_ap_sconf(v);
    dcr_metadata_conf *m = sc->metadata;
    const char *label = dcr_ap_server_label(pconf, v), *base, *path = "", *why = NULL;

    m->locations = dcr_ap_tree_metadata_locations(t, pconf, v);
    if (m->locations->nelts == 0)
        return NULL;
    if (!m->source)
        return apr_psprintf(pconf,
                            "%s serves SetHandler " DCR_METADATA_HANDLER " without "
                            "DCRMetadataDocument (file:<path> or the authorization server's "
                            "https:// discovery URL)",
                            label);
    if ((why = issuer_path(pconf, m, label, &path)))
        return why;
    base = dcr_ap_public_base(pconf, v, sc->tls);
    m->rules.issuer = apr_pstrcat(pconf, base, path, NULL);
    if (strncmp(m->rules.issuer, "https://", 8) != 0)
        return apr_psprintf(pconf,
                            "%s serves SetHandler " DCR_METADATA_HANDLER " for the issuer %s, "
                            "which is not https (RFC 8414 2): turn on SSLEngine, or set "
                            "DCRPublicURL behind a TLS-terminating proxy",
                            label, m->rules.issuer);
    if (sc->locations->nelts != 1)
        return apr_psprintf(pconf,
                            "%s serves SetHandler " DCR_METADATA_HANDLER
                            " and %d SetHandler " DCR_HANDLER
                            " <Location>s: the metadata names one "
                            "registration_endpoint, so it needs exactly one",
                            label, sc->locations->nelts);
    m->rules.registration_endpoint =
        apr_pstrcat(pconf, base, APR_ARRAY_IDX(sc->locations, 0, const char *), NULL);
    m->rules.methods = dcr_as_metadata_methods(pconf, &sc->policy);

    if (m->file) {
        char *buf = NULL;
        const char *msg = dcr_conf_read_file(pconf, m->file, &buf, &m->doc_len);
        if (msg)
            return apr_psprintf(pconf, "DCRMetadataDocument %s of %s: cannot read it: %s", m->file,
                                label, msg);
        if (!dcr_as_metadata_check(pconf, buf, m->doc_len, &m->rules, &why))
            return apr_psprintf(pconf, "DCRMetadataDocument %s of %s: %s", m->file, label, why);
        m->doc = buf;
        return NULL;
    }
    {
        const char *owner = apr_psprintf(pconf, "DCRMetadataDocument of %s", label);
        const dcr_fetch_conf *fetch = dcr_vc_conf_fetch(pconf, sc->vc, &why);
        if (!fetch)
            return why;
        if (!(m->remote = dcr_trust_source_create(pconf, owner, DCR_TRUST_DOCUMENT, m->url, fetch,
                                                  dcr_ap_trust_limits(pconf), &why)))
            return apr_psprintf(pconf, "%s: %s", owner, why);
        dcr_trust_source_set_check(m->remote, dcr_as_metadata_trust_check, &m->rules,
                                   m->rules.issuer);
        dcr_ap_trust_add(pconf, v, m->remote);
    }
    return NULL;
}
