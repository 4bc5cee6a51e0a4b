/* SPIFFE directives (DCRTrustDomain, DCRAllowSpiffeID) and their per-vhost configuration.
 * The glue's config.c calls create/merge for every server; preflight.c calls apply in
 * check_config. */
#ifndef DCR_AP_CONFIG_SPIFFE_H
#define DCR_AP_CONFIG_SPIFFE_H

#include "httpd.h"
#include "http_config.h"

#include "policy.h"
#include "trust_sources.h"

const char *dcr_spiffe_cmd_trust_domain(cmd_parms *cmd, void *dconf, int argc, char *const argv[]);
const char *dcr_spiffe_cmd_allow_id(cmd_parms *cmd, void *dconf, const char *pattern);

/* Entries for the module's command table, each followed by a comma. */
/* clang-format off */
#define DCR_SPIFFE_COMMANDS                                                                        \
    AP_INIT_TAKE_ARGV("DCRTrustDomain", dcr_spiffe_cmd_trust_domain, NULL, RSRC_CONF,              \
                   "trust domain, its keys (bundle file, https:// bundle endpoint or "             \
                   "jwks:https:// URL), optional issuer=<iss> and seed=<file>"),                   \
    AP_INIT_ITERATE("DCRAllowSpiffeID", dcr_spiffe_cmd_allow_id, NULL, RSRC_CONF,                  \
                    "SPIFFE IDs allowed to register: exact, or ending in /* (default: all "        \
                    "IDs of a trusted domain)"),                                                  \
    DCR_TRUST_COMMANDS
/* clang-format on */

void *dcr_spiffe_conf_create(apr_pool_t *p);
void *dcr_spiffe_conf_merge(apr_pool_t *p, void *base, void *add);
/* check_config: read and validate every bundle and set policy->spiffe (NULL when no trust
 * domain). Returns an error message naming the directive and file, or NULL. Warnings are
 * logged in post_config (preflight.h). */
const char *dcr_spiffe_conf_apply(apr_pool_t *pconf, server_rec *s, void *conf, dcr_policy *policy);

struct dcr_spiffe_bundle;
/* One bundle file (SPIFFE bundle or JWKS) of trust domain td, read and fully validated; what a
 * file source and a remote source's seed file share. NULL on success, else the message. */
const char *dcr_spiffe_load_bundle_file(apr_pool_t *pconf, server_rec *s, const char *td,
                                        const char *file, struct dcr_spiffe_bundle **out);

/* How many DCRTrustDomain lines the server has; "trust domain td: n key(s), ..." once applied
 * (NULL before or without any). */
int dcr_spiffe_conf_count(const void *conf);
const char *dcr_spiffe_conf_summary(const void *conf);

#endif
