/* Per-VirtualHost and per-directory configuration of the module. OWNER: glue helper (extend
 * freely; keep `policy`, `spiffe`, `vc` and dcr_ap_sconf, which the SPIFFE and VC areas use). */
#ifndef DCR_AP_CONFIG_H
#define DCR_AP_CONFIG_H

#include "httpd.h"
#include "http_config.h"

#include "policy.h"

extern module AP_MODULE_DECLARE_DATA dcr_trusted_module;

typedef struct dcr_server_conf {
    dcr_policy policy; /* the core's view; spiffe/vc anchors are set in post_config */
    void *spiffe;      /* struct dcr_spiffe_conf, src/apache/config_spiffe.c */
    void *vc;          /* struct dcr_vc_conf, src/apache/config_vc.c */
} dcr_server_conf;

dcr_server_conf *dcr_ap_sconf(const server_rec *s);

#endif
