/* VC directives: DCRVCIssuer, DCRVCRequireType, DCRVCMetadataFrom, DCRVCStatusUnavailable,
 * DCRVCAuthMethod, DCRVCBinding, DCRVCMaxLifetime, DCRVCStatusCacheTime, DCRFetchCAFile,
 * DCRFetchTimeout, DCRFetchMaxSize, DCRFetchAllow, DCRVCx5cEKU, DCRCache (docs/vc.md). The
 * glue's config.c calls create/merge for every server, preflight.c apply in check_config and
 * startup.c attach in post_config. */
#ifndef DCR_AP_CONFIG_VC_H
#define DCR_AP_CONFIG_VC_H

#include "httpd.h"
#include "http_config.h"

#include "policy.h"

const char *dcr_vc_cmd_issuer(cmd_parms *cmd, void *dconf, const char *issuer, const char *source);
const char *dcr_vc_cmd_list(cmd_parms *cmd, void *dconf, const char *word);
const char *dcr_vc_cmd_take1(cmd_parms *cmd, void *dconf, const char *arg);
const char *dcr_vc_cmd_take2(cmd_parms *cmd, void *dconf, const char *a, const char *b);
const char *dcr_vc_cmd_binding(cmd_parms *cmd, void *dconf, const char *args);
const char *dcr_ap_cmd_cache(cmd_parms *cmd, void *dconf, const char *spec);

/* Entries for the module's command table, each followed by a comma. */
#define DCR_VC_COMMANDS                                                                            \
    AP_INIT_TAKE2("DCRVCIssuer", dcr_vc_cmd_issuer, NULL, RSRC_CONF,                               \
                  "trusted VC issuer and its keys: <issuer> jwks:|pem:|x5c-root:<file> or "        \
                  "jwks:https://<url>"),                                                           \
        AP_INIT_ITERATE("DCRVCRequireType", dcr_vc_cmd_list, (void *)"types", RSRC_CONF,           \
                        "credential types a VC must carry besides VerifiableCredential"),          \
        AP_INIT_TAKE1("DCRVCMetadataFrom", dcr_vc_cmd_take1, (void *)"meta", RSRC_CONF,            \
                      "where client metadata is read: subject, claims or both (subject)"),         \
        AP_INIT_TAKE1("DCRVCStatusUnavailable", dcr_vc_cmd_take1, (void *)"unavail", RSRC_CONF,    \
                      "refuse or allow a VC whose status list cannot be fetched (refuse)"),        \
        AP_INIT_TAKE1("DCRVCAuthMethod", dcr_vc_cmd_take1, (void *)"auth", RSRC_CONF,              \
                      "token_endpoint_auth_method for VC clients (default: by the metadata)"),     \
        AP_INIT_RAW_ARGS("DCRVCBinding", dcr_vc_cmd_binding, NULL, RSRC_CONF,                      \
                         "what binds a VC here: aud, cnf, both (either suffices), or any alone "   \
                         "(aud cnf)"),                                                             \
        AP_INIT_TAKE1("DCRVCMaxLifetime", dcr_vc_cmd_take1, (void *)"lifetime", RSRC_CONF,         \
                      "longest VC validity accepted, seconds (no limit)"),                         \
        AP_INIT_TAKE2("DCRVCStatusCacheTime", dcr_vc_cmd_take2, NULL, RSRC_CONF,                   \
                      "min and max seconds a status list is cached (60 3600)"),                    \
        AP_INIT_TAKE1("DCRFetchCAFile", dcr_vc_cmd_take1, (void *)"ca", RSRC_CONF,                 \
                      "CA certificates for outbound HTTPS (default: system store)"),               \
        AP_INIT_TAKE1("DCRFetchTimeout", dcr_vc_cmd_take1, (void *)"timeout", RSRC_CONF,           \
                      "seconds an outbound fetch may take (5)"),                                   \
        AP_INIT_TAKE1("DCRFetchMaxSize", dcr_vc_cmd_take1, (void *)"maxsize", RSRC_CONF,           \
                      "largest outbound response in bytes (1048576)"),                             \
        AP_INIT_ITERATE("DCRFetchAllow", dcr_vc_cmd_list, (void *)"allow", RSRC_CONF,              \
                        "hosts (host or host:port) fetches may reach besides an issuer's own"),    \
        AP_INIT_ITERATE("DCRVCx5cEKU", dcr_vc_cmd_list, (void *)"eku", RSRC_CONF,                  \
                        "extendedKeyUsage OIDs an x5c signing leaf must carry (none)"),            \
        AP_INIT_TAKE1("DCRCache", dcr_ap_cmd_cache, NULL, RSRC_CONF,                               \
                      "socache provider for shared non-durable state (shmcb)"),

void *dcr_vc_conf_create(apr_pool_t *p);
void *dcr_vc_conf_merge(apr_pool_t *p, void *base, void *add);
/* Longest DCRFetchTimeout accepted, seconds. */
#define DCR_FETCH_TIMEOUT_MAX 60

/* check_config: read and validate every issuer key file and DCRFetchCAFile (into memory), set
 * policy->vc (NULL when no VC issuer). Returns an error message naming the directive and
 * file, or NULL. */
const char *dcr_vc_conf_apply(apr_pool_t *pconf, server_rec *s, void *conf, dcr_policy *policy);
/* The outbound fetch settings (DCRFetch*) of a server's VC configuration (NULL: defaults),
 * which remote trust sources of every kind use too, DCRFetchCAFile read into memory; NULL with
 * *msg when that file is unusable. */
struct dcr_fetch_conf;
const struct dcr_fetch_conf *dcr_vc_conf_fetch(apr_pool_t *pconf, void *conf, const char **msg);

/* post_config: the shared cache (DCRCache) for policy->vc, once mod_socache is up. */
const char *dcr_vc_conf_attach(apr_pool_t *pconf, server_rec *s, dcr_policy *policy);

/* One issuer key file (jwks:, pem:, x5c-root:; source is a dcr_vc_key_source), read and fully
 * validated: what a file source and a remote source's seed file share. */
struct dcr_vc_issuer;
const char *dcr_vc_load_issuer_file(apr_pool_t *pconf, const char *id, int source, const char *file,
                                    struct dcr_vc_issuer **out);

/* How many DCRVCIssuer lines the server has; "issuer x: n key(s), ..." once applied. */
int dcr_vc_conf_count(const void *conf);
const char *dcr_vc_conf_summary(const void *conf);

#endif
