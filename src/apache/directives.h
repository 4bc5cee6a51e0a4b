/* The module's command table: the core directives plus the SPIFFE and VC areas' entries. */
#ifndef DCR_AP_DIRECTIVES_H
#define DCR_AP_DIRECTIVES_H

#include "httpd.h"
#include "http_config.h"

extern const command_rec dcr_ap_commands[];

#endif
