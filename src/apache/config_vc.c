/* VC directives. Issuer key files and DCRFetchCAFile are read and validated in check_config,
 * by the parent as root (like mod_ssl's certificates), so `apache2 -t` fails on a broken one
 * and every (graceful) restart reloads them; values are checked when the directive is read. */
#include "config_vc.h"

#include "http_log.h"

#include "cache_socache.h"
#include "ca_bundle.h"
#include "conf_file.h"
#include "config.h"
#include "fetch.h"
#include "preflight.h"
#include "trust_sources.h"
#include "vc.h"
#include "vc_binding.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

APLOG_USE_MODULE(dcr_trusted);

typedef struct issuer_entry {
    const char *id, *file;
    const char *url; /* jwks:https://...: fetched (src/apache/trust_sources.c), file NULL */
    dcr_vc_key_source source;
} issuer_entry;

typedef struct dcr_vc_conf {
    apr_array_header_t *issuers, *types, *allow; /* NULL: unset (inherited) */
    int metadata_from;                           /* 0 unset */
    int unavailable;                             /* -1 unset, 0 refuse, 1 allow */
    const char *auth_method;                     /* NULL unset, "" default rule */
    unsigned binding;                            /* DCRVCBinding bits, 0 unset */
    long long max_lifetime;                      /* DCRVCMaxLifetime, -1 unset */
    const char *ca_file;
    long long timeout, max_size, ttl_min, ttl_max; /* -1 unset */
    const char *summary;                           /* "issuer x: n key(s)", ... once loaded */
    apr_array_header_t *eku;                       /* DCRVCx5cEKU; NULL: unset (inherited) */
} dcr_vc_conf;

static dcr_vc_conf *my_conf(cmd_parms *cmd)
{
    return dcr_ap_sconf(cmd->server)->vc;
}

void *dcr_vc_conf_create(apr_pool_t *p)
{
    dcr_vc_conf *c = apr_pcalloc(p, sizeof(*c));
    c->unavailable = -1;
    c->timeout = c->max_size = c->ttl_min = c->ttl_max = c->max_lifetime = -1;
    return c;
}

#define PICK(f, unset) c->f = add->f != (unset) ? add->f : base->f

/* A vhost that sets a list replaces the main server's list (DESIGN.md). */
void *dcr_vc_conf_merge(apr_pool_t *p, void *basev, void *addv)
{
    dcr_vc_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    PICK(issuers, NULL);
    PICK(types, NULL);
    PICK(allow, NULL);
    PICK(eku, NULL);
    PICK(metadata_from, 0);
    PICK(unavailable, -1);
    PICK(auth_method, NULL);
    PICK(binding, 0);
    PICK(max_lifetime, -1);
    PICK(ca_file, NULL);
    PICK(timeout, -1);
    PICK(max_size, -1);
    PICK(ttl_min, -1);
    PICK(ttl_max, -1);
    return c;
}

const char *dcr_vc_cmd_issuer(cmd_parms *cmd, void *dconf, const char *issuer, const char *source)
{
    static const struct {
        const char *prefix;
        dcr_vc_key_source source;
    } kinds[] = {
        {"jwks:", DCR_VC_KEYS_JWKS}, {"pem:", DCR_VC_KEYS_PEM}, {"x5c-root:", DCR_VC_KEYS_X5C}};
    dcr_vc_conf *c = my_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    issuer_entry *e;
    (void)dconf;
    if (err)
        return err;
    if (!c->issuers)
        c->issuers = apr_array_make(cmd->pool, 2, sizeof(issuer_entry));
    for (int i = 0; i < c->issuers->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(c->issuers, i, issuer_entry).id, issuer) == 0)
            return apr_psprintf(cmd->pool, "DCRVCIssuer %s is configured twice", issuer);
    e = apr_array_push(c->issuers);
    e->id = apr_pstrdup(cmd->pool, issuer);
    e->file = e->url = NULL;
    if (strncasecmp(source, "jwks:https://", 13) == 0) {
        e->source = DCR_VC_KEYS_JWKS;
        e->url = apr_pstrdup(cmd->pool, source + 5);
        dcr_ap_trust_wanted(cmd);
        return NULL;
    }
    if (strstr(source, "://"))
        return apr_psprintf(cmd->pool,
                            "DCRVCIssuer %s: '%s': keys are fetched only from jwks:https:// URLs",
                            issuer, source);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i].prefix);
        if (strncmp(source, kinds[i].prefix, n) == 0 && source[n]) {
            e->source = kinds[i].source;
            e->file = ap_server_root_relative(cmd->pool, source + n);
        }
    }
    if (!e->file)
        return apr_psprintf(cmd->pool,
                            "DCRVCIssuer %s: second argument must be jwks:<file>, pem:<file> or "
                            "x5c-root:<file>, or jwks:https://<url>, got '%s'",
                            issuer, source);
    return NULL;
}

const char *dcr_vc_cmd_list(cmd_parms *cmd, void *dconf, const char *word)
{
    dcr_vc_conf *c = my_conf(cmd);
    const char *what = cmd->info, *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    bool allow = strcmp(what, "allow") == 0, eku = strcmp(what, "eku") == 0;
    apr_array_header_t **list = allow ? &c->allow : eku ? &c->eku : &c->types;
    (void)dconf;
    if (err)
        return err;
    if (allow && !dcr_fetch_allow_entry_valid(word))
        return apr_psprintf(cmd->pool,
                            "DCRFetchAllow: '%s' is not host or host:port (port 1 to 65535)", word);
    if (eku && !dcr_x509_oid_valid(word))
        return apr_psprintf(cmd->pool,
                            "DCRVCx5cEKU: '%s' is not a dotted OID (e.g. 1.3.6.1.5.5.7.3.3)", word);
    if (!*list)
        *list = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(*list, const char *) = apr_pstrdup(cmd->pool, word);
    return NULL;
}

static const char *number(cmd_parms *cmd, const char *arg, long long min, long long *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    if (*end || end == arg || v < min)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number >= %" APR_INT64_T_FMT,
                            cmd->directive->directive, arg, (apr_int64_t)min);
    *out = v;
    return NULL;
}

const char *dcr_vc_cmd_take1(cmd_parms *cmd, void *dconf, const char *arg)
{
    dcr_vc_conf *c = my_conf(cmd);
    const char *what = cmd->info, *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    (void)dconf;
    if (err)
        return err;
    if (strcmp(what, "meta") == 0) {
        c->metadata_from = !strcasecmp(arg, "subject")  ? DCR_VC_META_SUBJECT
                           : !strcasecmp(arg, "claims") ? DCR_VC_META_CLAIMS
                           : !strcasecmp(arg, "both")   ? DCR_VC_META_BOTH
                                                        : 0;
        return c->metadata_from ? NULL : "DCRVCMetadataFrom must be subject, claims or both";
    }
    if (strcmp(what, "unavail") == 0) {
        c->unavailable = !strcasecmp(arg, "allow") ? 1 : !strcasecmp(arg, "refuse") ? 0 : -1;
        return c->unavailable >= 0 ? NULL : "DCRVCStatusUnavailable must be refuse or allow";
    }
    if (strcmp(what, "auth") == 0) {
        /* A secret only on this explicit word, and only kinds an authorization server can
         * check against the stored hash (client_secret_jwt needs the secret itself). */
        if (strncmp(arg, "client_secret_", 14) == 0 && strcmp(arg, "client_secret_basic") != 0 &&
            strcmp(arg, "client_secret_post") != 0)
            return "DCRVCAuthMethod: of the secret methods only client_secret_basic and "
                   "client_secret_post are possible (the module keeps only a hash of the secret)";
        c->auth_method = strcmp(arg, "default") == 0 ? "" : apr_pstrdup(cmd->pool, arg);
        return NULL;
    }
    if (strcmp(what, "ca") == 0) {
        c->ca_file = ap_server_root_relative(cmd->pool, arg);
        return c->ca_file ? NULL : "DCRFetchCAFile: invalid path";
    }
    if (strcmp(what, "timeout") == 0) {
        /* a fetch holds a request (and its worker) for this long */
        if ((err = number(cmd, arg, 1, &c->timeout)))
            return err;
        return c->timeout <= DCR_FETCH_TIMEOUT_MAX
                   ? NULL
                   : apr_psprintf(cmd->pool,
                                  "DCRFetchTimeout: %s seconds is beyond the sane bound of %d "
                                  "(a fetch holds a worker for that long)",
                                  arg, DCR_FETCH_TIMEOUT_MAX);
    }
    if (strcmp(what, "lifetime") == 0)
        return number(cmd, arg, 1, &c->max_lifetime);
    return number(cmd, arg, 1024, &c->max_size); /* maxsize */
}

const char *dcr_vc_cmd_binding(cmd_parms *cmd, void *dconf, const char *args)
{
    dcr_vc_conf *c = my_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    (void)dconf;
    if (err)
        return err;
    c->binding = dcr_vc_binding_parse(cmd->temp_pool, args);
    return c->binding
               ? NULL
               : apr_psprintf(cmd->pool, "DCRVCBinding: '%s': give aud, cnf or both, or any alone",
                              args);
}

const char *dcr_vc_cmd_take2(cmd_parms *cmd, void *dconf, const char *a, const char *b)
{
    dcr_vc_conf *c = my_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    (void)dconf;
    if (err || (err = number(cmd, a, 0, &c->ttl_min)) || (err = number(cmd, b, 1, &c->ttl_max)))
        return err;
    return c->ttl_min <= c->ttl_max ? NULL : "DCRVCStatusCacheTime: min is above max";
}

/* DCRFetchCAFile into memory, validated: a file only root can read still serves every
 * child, and a broken one stops `apache2 -t`. */
static const char *load_ca(apr_pool_t *pconf, const char *file, dcr_fetch_conf *fetch)
{
    char *buf = NULL;
    apr_size_t len = 0;
    const char *why = NULL, *msg = dcr_conf_read_file(pconf, file, &buf, &len);
    int n = 0;
    if (msg)
        return apr_psprintf(pconf, "DCRFetchCAFile %s: cannot read it: %s", file, msg);
    if (!dcr_ca_bundle_check(buf, len, &n, &why))
        return apr_psprintf(pconf, "DCRFetchCAFile %s: %s", file, why);
    fetch->ca_pem = buf;
    fetch->ca_pem_len = len;
    return NULL;
}

const char *dcr_vc_load_issuer_file(apr_pool_t *pconf, const char *id, int source, const char *file,
                                    dcr_vc_issuer **out)
{
    char *buf = NULL;
    apr_size_t len = 0;
    const char *why = NULL, *msg = dcr_conf_read_file(pconf, file, &buf, &len);
    if (msg)
        return apr_psprintf(pconf, "DCRVCIssuer %s: cannot read %s: %s", id, file, msg);
    if (!(*out = dcr_vc_issuer_load(pconf, id, (dcr_vc_key_source)source, buf, len, &why)))
        return apr_psprintf(pconf, "DCRVCIssuer %s: %s is not usable: %s", id, file, why);
    return NULL;
}

const dcr_fetch_conf *dcr_vc_conf_fetch(apr_pool_t *pconf, void *conf, const char **msg)
{
    dcr_vc_conf *c = conf;
    dcr_fetch_conf *fetch = apr_pcalloc(pconf, sizeof(*fetch));
    dcr_fetch_defaults(fetch);
    dcr_fetch_global_init();
    *msg = NULL;
    if (!c)
        return fetch;
    fetch->ca_file = c->ca_file; /* names the settings (trust slots are keyed by them) */
    if (c->ca_file && (*msg = load_ca(pconf, c->ca_file, fetch)))
        return NULL;
    fetch->allow = c->allow;
    if (c->timeout > 0)
        fetch->timeout_ms = c->timeout * 1000;
    if (c->max_size > 0)
        fetch->max_size = (size_t)c->max_size;
    return fetch;
}

/* An issuer whose JWKS comes from a URL, fetched with this server's DCRFetch* settings. */
static dcr_vc_issuer *remote_issuer(apr_pool_t *pconf, server_rec *s, const issuer_entry *e,
                                    const dcr_fetch_conf *fetch, const char **why)
{
    dcr_vc_issuer *is = apr_pcalloc(pconf, sizeof(*is));
    is->id = e->id;
    is->source = DCR_VC_KEYS_JWKS;
    is->remote =
        dcr_trust_source_create(pconf, apr_psprintf(pconf, "DCRVCIssuer %s", e->id),
                                DCR_TRUST_VC_JWKS, e->url, fetch, dcr_ap_trust_limits(pconf), why);
    if (!is->remote)
        return NULL;
    dcr_ap_trust_add(pconf, s, is->remote);
    return is;
}

const char *dcr_vc_conf_apply(apr_pool_t *pconf, server_rec *s, void *conf, dcr_policy *policy)
{
    dcr_vc_conf *c = conf;
    struct dcr_vc_trust *trust;
    apr_array_header_t *issuers;
    const dcr_fetch_conf *fetch;
    const char *msg, *why = NULL;

    policy->vc = NULL;
    if (c)
        c->summary = NULL;
    /* the CA file is checked even without issuers: a missing one is a mistake either way */
    if (!(fetch = dcr_vc_conf_fetch(pconf, c, &msg)))
        return msg;
    if (!c || !c->issuers || c->issuers->nelts == 0)
        return NULL;
    trust = apr_pcalloc(pconf, sizeof(*trust));
    dcr_vc_trust_defaults(trust);
    issuers = apr_array_make(pconf, c->issuers->nelts, sizeof(dcr_vc_issuer *));
    for (int i = 0; i < c->issuers->nelts; i++) {
        const issuer_entry *e = &APR_ARRAY_IDX(c->issuers, i, issuer_entry);
        dcr_vc_issuer *is;
        if (e->url) {
            if (!(is = remote_issuer(pconf, s, e, fetch, &why)))
                return apr_psprintf(pconf, "DCRVCIssuer %s: %s", e->id, why);
            APR_ARRAY_PUSH(issuers, dcr_vc_issuer *) = is;
            continue;
        }
        if ((msg = dcr_vc_load_issuer_file(pconf, e->id, e->source, e->file, &is)))
            return msg;
        is->x5c_eku = c->eku;
        APR_ARRAY_PUSH(issuers, dcr_vc_issuer *) = is;
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "DCRVCIssuer %s: keys from %s", e->id, e->file);
        msg = apr_psprintf(pconf, "issuer %s: %d key(s)", e->id, dcr_vc_issuer_key_count(is));
        c->summary = c->summary ? apr_pstrcat(pconf, c->summary, ", ", msg, NULL) : msg;
    }
    trust->issuers = issuers;
    trust->required_types = c->types;
    if (c->metadata_from)
        trust->metadata_from = c->metadata_from;
    trust->status_unavailable_allow = c->unavailable == 1;
    trust->auth_method = c->auth_method && *c->auth_method ? c->auth_method : NULL;
    if (c->binding)
        trust->binding = c->binding;
    if (c->max_lifetime > 0)
        trust->max_lifetime = c->max_lifetime;
    if (trust->binding & DCR_VC_BIND_ANY) /* check_config: logged once the start goes on */
        dcr_ap_warn_later(s, apr_psprintf(pconf,
                                          "DCRVCBinding any for %s:%u: VCs bound neither to this "
                                          "endpoint (aud) nor to a holder key (cnf) are "
                                          "accepted; whoever holds a copy of one can register "
                                          "with it",
                                          s->server_hostname ? s->server_hostname : "(main server)",
                                          s->port));
    if (c->ttl_min >= 0)
        trust->status_ttl_min = c->ttl_min;
    if (c->ttl_max >= 0)
        trust->status_ttl_max = c->ttl_max;

    trust->fetch = fetch;
    policy->vc = trust;
    return NULL;
}

const char *dcr_vc_conf_attach(apr_pool_t *pconf, server_rec *s, dcr_policy *policy)
{
    struct dcr_vc_trust *trust = (struct dcr_vc_trust *)policy->vc;
    const char *msg;
    if (!trust)
        return NULL;
    dcr_fetch_global_init();
    trust->cache = dcr_ap_cache(pconf, s, &msg);
    return trust->cache ? NULL : msg;
}

int dcr_vc_conf_count(const void *conf)
{
    const dcr_vc_conf *c = conf;
    return c && c->issuers ? c->issuers->nelts : 0;
}

const char *dcr_vc_conf_summary(const void *conf)
{
    const dcr_vc_conf *c = conf;
    return c ? c->summary : NULL;
}
