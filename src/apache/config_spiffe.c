/* Placeholder until the SPIFFE area lands: no trust domains. */
#include "config_spiffe.h"

void *dcr_spiffe_conf_create(apr_pool_t *p)
{
    return apr_pcalloc(p, 1);
}

void *dcr_spiffe_conf_merge(apr_pool_t *p, void *base, void *add)
{
    return add;
}

const char *dcr_spiffe_conf_apply(apr_pool_t *pconf, server_rec *s, void *conf,
                                  dcr_policy *policy)
{
    policy->spiffe = NULL;
    return NULL;
}
