/* DCRStore sqlite:<file>: the embedded SQLite store (src/store_sqlite.c) in httpd: one global
 * writer mutex per file (Mutex type dcr-store), a small pool of connections per child process,
 * schema created by the parent at start-up. The backend is dcr_ap_store_sqlite
 * (store_backend.h). */
#ifndef DCR_AP_STORE_SQLITE_GLUE_H
#define DCR_AP_STORE_SQLITE_GLUE_H

#include "httpd.h"
#include "http_config.h"

/* DCRSQLiteSynchronous Normal|Full, after DCRStore sqlite:... in the same server. */
const char *dcr_ap_set_sqlite_synchronous(cmd_parms *cmd, void *dc, const char *arg);

/* The children run as User: when the parent runs as root, give them the SQLite file it
 * created (and its -wal/-shm). */
void dcr_ap_sqlite_hand_over(apr_pool_t *p, server_rec *s, const char *file);

/* Command table entries for directives.c (with the trailing comma, like DCR_SPIFFE_COMMANDS). */
#define DCR_STORE_SQLITE_COMMANDS                                                                  \
    AP_INIT_TAKE1("DCRSQLiteSynchronous", dcr_ap_set_sqlite_synchronous, NULL, RSRC_CONF,          \
                  "Normal (default: a power loss may lose the last commits) or Full "              \
                  "(every commit on disk) for DCRStore sqlite:"),

#endif
