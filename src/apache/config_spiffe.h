/* SPIFFE directives (DCRTrustDomain, DCRAllowSpiffeID). OWNER: SPIFFE helper.
 * The glue's config.c calls create/merge for every server and apply in post_config. */
#ifndef DCR_AP_CONFIG_SPIFFE_H
#define DCR_AP_CONFIG_SPIFFE_H

#include "httpd.h"
#include "http_config.h"

#include "policy.h"

/* Entries for the module's command table. */
#define DCR_SPIFFE_COMMANDS /* none yet */

void *dcr_spiffe_conf_create(apr_pool_t *p);
void *dcr_spiffe_conf_merge(apr_pool_t *p, void *base, void *add);
/* post_config: load bundles and set policy->spiffe (NULL when no trust domain). Returns an
 * error message naming the directive and file, or NULL. */
const char *dcr_spiffe_conf_apply(apr_pool_t *pconf, server_rec *s, void *conf,
                                  dcr_policy *policy);

#endif
