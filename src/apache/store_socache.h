/* The socache store backend (dcr_ap_store_socache, declared in store_backend.h). */
#ifndef DCR_AP_STORE_SOCACHE_H
#define DCR_AP_STORE_SOCACHE_H

#include <apr_errno.h>
#include <apr_pools.h>

/* pre_config: registers the "dcr-store" mutex type (Mutex directive) used around providers
 * that are not MP-safe, such as shmcb. */
apr_status_t dcr_ap_socache_pre_config(apr_pool_t *pconf);

#endif
