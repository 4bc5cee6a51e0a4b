#include "store_sqlite.h"
#include "global_mutex.h"

#include <apr_strings.h>
#include <string.h>

static apr_status_t close_conn(void *data)
{
    dcr_sql_conn *c = data;
    if (c->handle)
        apr_dbd_close(c->driver, c->handle);
    c->handle = NULL;
    return APR_SUCCESS;
}

/* Row-returning pragmas go through select (apr_dbd_query calls SQLITE_ROW an error); the first
 * value comes back so callers can check what SQLite accepted. */
static apr_status_t pragma(dcr_sql_conn *c, apr_pool_t *p, const char *sql, const char **value,
                           dcr_error *err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rv = apr_dbd_select(c->driver, p, c->handle, &res, sql, 0);

    if (value)
        *value = NULL;
    if (rv) {
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                 "sqlite store: %s: %s", sql, apr_dbd_error(c->driver, c->handle, rv));
        return APR_EGENERAL;
    }
    while (apr_dbd_get_row(c->driver, p, res, &row, -1) == 0) {
        const char *v = apr_dbd_get_entry(c->driver, row, 0);
        if (value && !*value && v)
            *value = apr_pstrdup(p, v);
    }
    return APR_SUCCESS;
}

static apr_status_t setup(dcr_sql_conn *c, apr_pool_t *pool, const char *file,
                          const dcr_sqlite_options *o, dcr_error *err)
{
    int timeout = o && o->busy_timeout_ms > 0 ? o->busy_timeout_ms : DCR_SQLITE_BUSY_TIMEOUT_MS;
    const char *mode = NULL;
    apr_status_t rv;
    int nrows, dbrv;

    /* Before anything else, so even the WAL switch waits for a busy writer. */
    rv = pragma(c, pool, apr_psprintf(pool, "PRAGMA busy_timeout = %d", timeout), NULL, err);
    if (rv != APR_SUCCESS)
        return rv;
    if ((rv = pragma(c, pool, "PRAGMA journal_mode = WAL", &mode, err)) != APR_SUCCESS)
        return rv;
    if (!mode || strcasecmp(mode, "wal")) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "the client store is misconfigured",
                 "sqlite store %s: cannot switch to WAL (journal_mode is %s)", file,
                 mode ? mode : "unknown");
        return APR_EGENERAL;
    }
    dbrv = apr_dbd_query(c->driver, c->handle, &nrows,
                         o && o->sync_full ? "PRAGMA synchronous = FULL"
                                           : "PRAGMA synchronous = NORMAL");
    if (dbrv) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "the client store is misconfigured",
                 "sqlite store %s: PRAGMA synchronous: %s", file,
                 apr_dbd_error(c->driver, c->handle, dbrv));
        return APR_EGENERAL;
    }
    /* The schema is a write like any other: take the writer lock for it. */
    if (c->writers && (rv = dcr_global_mutex_lock(c->writers)) != APR_SUCCESS) {
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                 "sqlite store %s: cannot take the writer lock (%d)", file, rv);
        return rv;
    }
    rv = dcr_sql_create_schema(c->driver, c->handle, pool, err);
    if (c->writers)
        apr_global_mutex_unlock(c->writers);
    if (rv != APR_SUCCESS)
        return rv;
    return dcr_sql_prepare_all(c, pool, err);
}

apr_status_t dcr_store_sqlite_open(apr_pool_t *pool, const char *file,
                                   const dcr_sqlite_options *opts, apr_global_mutex_t *writers,
                                   dcr_sql_conn **out, dcr_error *err)
{
    dcr_sql_conn *c = apr_pcalloc(pool, sizeof(*c));
    const char *why = NULL;
    apr_status_t rv;

    *out = NULL;
    if (!file || !*file) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "the client store is misconfigured",
                 "sqlite store: no file name");
        return APR_EINVAL;
    }
    apr_dbd_init(pool);
    if ((rv = apr_dbd_get_driver(pool, "sqlite3", &c->driver)) != APR_SUCCESS) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "the client store is misconfigured",
                 "sqlite store: apr_dbd has no sqlite3 driver (install the Debian package "
                 "libaprutil1-dbd-sqlite3)");
        return rv;
    }
    if ((rv = apr_dbd_open_ex(c->driver, pool, file, &c->handle, &why)) != APR_SUCCESS) {
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                 "sqlite store: cannot open %s: %s", file, why ? why : "unknown error");
        return rv;
    }
    c->writers = writers;
    /* Registered before the statements are prepared, so it runs after they are finalised. */
    apr_pool_cleanup_register(pool, c, close_conn, apr_pool_cleanup_null);
    if ((rv = setup(c, pool, file, opts, err)) != APR_SUCCESS) {
        apr_pool_cleanup_run(pool, c, close_conn);
        return rv;
    }
    *out = c;
    return APR_SUCCESS;
}
