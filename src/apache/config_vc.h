/* VC directives (DCRVCIssuer, DCRVCRequireType, ..., DCRFetch*, DCRCache). OWNER: VC helper.
 * The glue's config.c calls create/merge for every server and apply in post_config. */
#ifndef DCR_AP_CONFIG_VC_H
#define DCR_AP_CONFIG_VC_H

#include "httpd.h"
#include "http_config.h"

#include "policy.h"

/* Entries for the module's command table. */
#define DCR_VC_COMMANDS /* none yet */

void *dcr_vc_conf_create(apr_pool_t *p);
void *dcr_vc_conf_merge(apr_pool_t *p, void *base, void *add);
/* post_config: load issuer keys and set policy->vc (NULL when no VC issuer). Returns an
 * error message naming the directive and file, or NULL. */
const char *dcr_vc_conf_apply(apr_pool_t *pconf, server_rec *s, void *conf,
                                  dcr_policy *policy);

#endif
