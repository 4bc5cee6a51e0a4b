/* Start-up hooks: startup checks, trust anchors and stores (post_config), child re-attach. */
#ifndef DCR_AP_STARTUP_H
#define DCR_AP_STARTUP_H

#include "httpd.h"
#include "http_config.h"

int dcr_ap_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int dcr_ap_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
void dcr_ap_child_init(apr_pool_t *pchild, server_rec *s);

#endif
