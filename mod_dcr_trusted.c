/* mod_dcr_trusted: module record, directive table and hooks. OWNER: apache glue helper.
 * Everything else lives in src/apache/ (glue) and src/ (the httpd-free core). */
#include "httpd.h"
#include "http_config.h"

#include "apache/config.h"
#include "apache/directives.h"
#include "apache/handler.h"
#include "apache/metadata_handler.h"
#include "apache/preflight.h"
#include "apache/startup.h"

static void register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(dcr_ap_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* every file read and validated here, so `apache2 -t` refuses what the start would */
    ap_hook_check_config(dcr_ap_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* after mod_socache_* and mod_ssl have set up their own state */
    ap_hook_post_config(dcr_ap_post_config, NULL, NULL, APR_HOOK_LAST);
    ap_hook_child_init(dcr_ap_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    dcr_ap_register_handler();
    dcr_ap_register_metadata_handler();
}

AP_DECLARE_MODULE(dcr_trusted) = {
    STANDARD20_MODULE_STUFF,
    NULL, /* no per-directory config: the endpoint paths come from the config tree */
    NULL,
    dcr_ap_create_server,
    dcr_ap_merge_server,
    dcr_ap_commands,
    register_hooks,
    AP_MODULE_FLAG_NONE,
};
