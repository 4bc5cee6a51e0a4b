/* mod_dcr_trusted: module record, directive table and hooks. OWNER: apache glue helper. */
#include "httpd.h"
#include "http_config.h"

module AP_MODULE_DECLARE_DATA dcr_trusted_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, NULL,
};
