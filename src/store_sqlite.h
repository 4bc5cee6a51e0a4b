/* The embedded store: a SQLite file the module opens itself through apr_dbd's sqlite3 driver
 * (no mod_dbd). WAL, synchronous=NORMAL (FULL on request), a busy timeout, and writers
 * serialised by a global mutex the caller owns, which is what keeps SQLite fair and fast with
 * several httpd processes (spec/performance.md). Needs only APR, so unit tests use it as is. */
#ifndef DCR_STORE_SQLITE_H
#define DCR_STORE_SQLITE_H

#include "error.h"
#include "store.h"
#include "store_sql.h"

#include <apr_global_mutex.h>
#include <stdbool.h>

#define DCR_SQLITE_BUSY_TIMEOUT_MS 5000

typedef struct dcr_sqlite_options {
    bool sync_full;      /* synchronous=FULL: a power loss loses no commit (slower) */
    int busy_timeout_ms; /* 0 = DCR_SQLITE_BUSY_TIMEOUT_MS */
} dcr_sqlite_options;

/* Opens (creating if missing) the file, sets the pragmas, creates the schema under the writer
 * lock and prepares the statements. The connection lives until pool is cleared; it is for one
 * thread at a time. opts NULL = defaults; writers NULL = a single process. */
apr_status_t dcr_store_sqlite_open(apr_pool_t *pool, const char *file,
                                   const dcr_sqlite_options *opts, apr_global_mutex_t *writers,
                                   dcr_sql_conn **out, dcr_error *err);

/* The store itself is dcr_sql_store(pool, conn). */

#endif
