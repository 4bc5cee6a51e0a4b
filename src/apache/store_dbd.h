/* DCRStore dbd: registrations in the database of the vhost's mod_dbd connection (DBDriver
 * pgsql or sqlite3, DBDParams). The backend is dcr_ap_store_dbd (store_backend.h). */
#ifndef DCR_AP_STORE_DBD_H
#define DCR_AP_STORE_DBD_H

#include "httpd.h"
#include "http_config.h"

#include "store_sweep_glue.h"

/* DCRDBDCreateSchema On|Off, after DCRStore dbd in the same server. */
const char *dcr_ap_set_dbd_create_schema(cmd_parms *cmd, void *dc, int on);

/* Command table entries for directives.c (with the trailing comma, like DCR_SPIFFE_COMMANDS);
 * they bring DCRSweepInterval along, which serves both SQL stores. */
#define DCR_STORE_DBD_COMMANDS                                                                     \
    AP_INIT_FLAG("DCRDBDCreateSchema", dcr_ap_set_dbd_create_schema, NULL, RSRC_CONF,              \
                 "On (default): create the registration table at start-up if missing"),            \
        DCR_STORE_SWEEP_COMMANDS

#endif
