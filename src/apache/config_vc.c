/* Placeholder until the VC area lands: no VC issuers. */
#include "config_vc.h"

void *dcr_vc_conf_create(apr_pool_t *p)
{
    return apr_pcalloc(p, 1);
}

void *dcr_vc_conf_merge(apr_pool_t *p, void *base, void *add)
{
    return add;
}

const char *dcr_vc_conf_apply(apr_pool_t *pconf, server_rec *s, void *conf,
                                  dcr_policy *policy)
{
    policy->vc = NULL;
    return NULL;
}
