#include "store_sql.h"
#include "global_mutex.h"
#include "json.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <string.h>

/* Keep these equal to sql/sqlite.sql and sql/pgsql.sql (check_store_sql compares them). */
static const char *const schema_sqlite[] = {
    "CREATE TABLE IF NOT EXISTS dcr_clients ("
    " client_id TEXT NOT NULL PRIMARY KEY,"
    " record TEXT NOT NULL,"
    " issued_at INTEGER NOT NULL,"
    " expires_at INTEGER,"
    " subject_key TEXT,"
    " rat_hash TEXT NOT NULL"
    " )",
    "CREATE INDEX IF NOT EXISTS dcr_clients_subject ON dcr_clients (subject_key, issued_at)",
    "CREATE INDEX IF NOT EXISTS dcr_clients_expires ON dcr_clients (expires_at)"
    " WHERE expires_at IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS dcr_schema (version INTEGER NOT NULL)",
    "INSERT INTO dcr_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM dcr_schema)",
    NULL};

static const char *const schema_pgsql[] = {
    "CREATE TABLE IF NOT EXISTS dcr_clients ("
    " client_id VARCHAR(255) NOT NULL PRIMARY KEY,"
    " record TEXT NOT NULL,"
    " issued_at BIGINT NOT NULL,"
    " expires_at BIGINT,"
    " subject_key TEXT,"
    " rat_hash CHAR(64) NOT NULL"
    " )",
    "CREATE INDEX IF NOT EXISTS dcr_clients_subject ON dcr_clients (subject_key, issued_at)",
    "CREATE INDEX IF NOT EXISTS dcr_clients_expires ON dcr_clients (expires_at)"
    " WHERE expires_at IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS dcr_schema (version INTEGER NOT NULL)",
    "INSERT INTO dcr_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM dcr_schema)",
    "CREATE OR REPLACE FUNCTION dcr_lock_find(lock_key BIGINT, subject TEXT, now_s BIGINT)"
    " RETURNS TABLE (client_id VARCHAR, record TEXT) VOLATILE LANGUAGE plpgsql"
    " AS $$ BEGIN PERFORM pg_advisory_lock(lock_key);"
    " RETURN QUERY SELECT c.client_id, c.record FROM dcr_clients c WHERE c.subject_key = subject"
    " AND (c.expires_at IS NULL OR c.expires_at > now_s) ORDER BY c.issued_at, c.client_id;"
    " END $$",
    NULL};

/* Portable: ON CONFLICT DO NOTHING (SQLite >= 3.24, PostgreSQL >= 9.5) makes a taken id an
 * exact, race-free "0 rows", and LIMIT inside IN (...) works on both. */
static const struct {
    const char *label, *text;
} stmts[DCR_SQL_NSTMT] = {
    [DCR_SQL_INSERT] = {"dcr_insert",
                        "INSERT INTO dcr_clients (client_id, record, issued_at, expires_at,"
                        " subject_key, rat_hash) VALUES (%s, %s, %lld, %lld, %s, %s)"
                        " ON CONFLICT (client_id) DO NOTHING"},
    [DCR_SQL_GET] = {"dcr_get", "SELECT record FROM dcr_clients WHERE client_id = %s"
                                " AND (expires_at IS NULL OR expires_at > %lld)"},
    [DCR_SQL_UPDATE] = {"dcr_update",
                        "UPDATE dcr_clients SET record = %s, issued_at = %lld, expires_at = %lld,"
                        " subject_key = %s, rat_hash = %s WHERE client_id = %s"},
    [DCR_SQL_DELETE] = {"dcr_delete", "DELETE FROM dcr_clients WHERE client_id = %s"},
    [DCR_SQL_FIND] = {"dcr_find", "SELECT client_id, record FROM dcr_clients"
                                  " WHERE subject_key = %s"
                                  " AND (expires_at IS NULL OR expires_at > %lld)"
                                  " ORDER BY issued_at, client_id"},
    [DCR_SQL_EXPIRE] = {"dcr_expire",
                        "DELETE FROM dcr_clients WHERE client_id IN (SELECT client_id FROM"
                        " dcr_clients WHERE expires_at <= %lld ORDER BY expires_at LIMIT %d)"},
    [DCR_SQL_COUNT] = {"dcr_count", "SELECT COUNT(*) FROM dcr_clients"
                                    " WHERE expires_at IS NULL OR expires_at > %lld"},
    /* PostgreSQL only. dcr_lock_find is sql/pgsql.sql's. A write under a subject lock hands
     * the lock over to its own transaction only when it changed a row: the materialised
     * CTE takes the transaction lock for that row before the outer select drops the
     * session's, so the lock is never free before the commit. */
    [DCR_SQL_LOCK_FIND] = {"dcr_lock_find",
                           "SELECT client_id, record FROM dcr_lock_find(%lld, %s, %lld)"},
    [DCR_SQL_INSERT_HANDOVER] = {"dcr_insert_handover",
                                 "WITH w AS (INSERT INTO dcr_clients (client_id, record,"
                                 " issued_at, expires_at, subject_key, rat_hash) VALUES (%s, %s,"
                                 " %lld, %lld, %s, %s) ON CONFLICT (client_id) DO NOTHING"
                                 " RETURNING 1), x AS MATERIALIZED (SELECT"
                                 " pg_advisory_xact_lock(%lld) FROM w)"
                                 " SELECT pg_advisory_unlock(%lld) FROM x"},
    [DCR_SQL_UPDATE_HANDOVER] = {"dcr_update_handover",
                                 "WITH w AS (UPDATE dcr_clients SET record = %s, issued_at = %lld,"
                                 " expires_at = %lld, subject_key = %s, rat_hash = %s"
                                 " WHERE client_id = %s RETURNING 1), x AS MATERIALIZED (SELECT"
                                 " pg_advisory_xact_lock(%lld) FROM w)"
                                 " SELECT pg_advisory_unlock(%lld) FROM x"},
    /* A returning subject under replace in one statement: the record comes written for a
     * fresh client_id and issue time; the row keeps its own, patched into the record text
     * (compact JSON from dcr_json_dump: exact patterns; the fresh id, 192 random bits made
     * after the metadata, occurs nowhere else in it). A row updated meanwhile is
     * re-checked by PostgreSQL; one deleted meanwhile makes it 0 rows. */
    [DCR_SQL_REPLACE_RETURNING] = {"dcr_replace_returning",
                                   "UPDATE dcr_clients d SET record = replace(replace(%s, %s,"
                                   " d.client_id), %s, '\"client_id_issued_at\":' ||"
                                   " d.issued_at), expires_at = %lld, rat_hash = %s"
                                   " WHERE d.client_id = (SELECT o.client_id FROM dcr_clients o"
                                   " WHERE o.subject_key = %s AND (o.expires_at IS NULL OR"
                                   " o.expires_at > %lld) AND (o.record::json #>>"
                                   " '{metadata,software_id}') IS NOT DISTINCT FROM %s"
                                   " ORDER BY o.issued_at, o.client_id LIMIT 1)"
                                   " RETURNING d.client_id, d.issued_at"},
};

/* SQLite's replace: the same step in its dialect (JSON1 and RETURNING: SQLite 3.38 or later);
 * in SET, the bare names are the row's. */
static const char replace_sqlite[] =
    "UPDATE dcr_clients SET record = replace(replace(%s, %s, client_id), %s,"
    " '\"client_id_issued_at\":' || issued_at), expires_at = %lld, rat_hash = %s"
    " WHERE client_id = (SELECT o.client_id FROM dcr_clients o WHERE o.subject_key = %s AND"
    " (o.expires_at IS NULL OR o.expires_at > %lld) AND json_extract(o.record,"
    " '$.metadata.software_id') IS %s ORDER BY o.issued_at, o.client_id LIMIT 1)"
    " RETURNING client_id, issued_at";

static int is_pgsql(const apr_dbd_driver_t *d)
{
    return !strcmp(apr_dbd_name(d), "pgsql");
}

const char *const *dcr_sql_schema(const char *driver_name)
{
    if (!driver_name)
        return NULL;
    if (!strcmp(driver_name, "sqlite3"))
        return schema_sqlite;
    if (!strcmp(driver_name, "pgsql"))
        return schema_pgsql;
    return NULL;
}

const char *dcr_sql_text(const apr_dbd_driver_t *driver, dcr_sql_stmt which)
{
    if (which == DCR_SQL_REPLACE_RETURNING && !is_pgsql(driver))
        return replace_sqlite;
    if (which >= DCR_SQL_NSTMT || (which >= DCR_SQL_LOCK_FIND && !is_pgsql(driver)))
        return NULL;
    return stmts[which].text;
}

const char *dcr_sql_label(dcr_sql_stmt which)
{
    return which < DCR_SQL_NSTMT ? stmts[which].label : NULL;
}

static apr_status_t db_fail(const apr_dbd_driver_t *d, apr_dbd_t *h, int rv, dcr_error *err,
                            const char *what)
{
    dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
             "store (%s): %s: %s (%d)", apr_dbd_name(d), what,
             h ? apr_dbd_error(d, h, rv) : "no connection", rv);
    return APR_EGENERAL;
}

apr_status_t dcr_sql_create_schema(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                                   dcr_error *err)
{
    const char *const *sql = dcr_sql_schema(apr_dbd_name(driver));
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    long long version = 0;
    int rv, nrows;

    if (!sql) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "the client store is misconfigured",
                 "store: no schema for the apr_dbd driver %s (use sqlite3 or pgsql)",
                 apr_dbd_name(driver));
        return APR_ENOTIMPL;
    }
    /* Statement by statement, without apr_dbd transactions (see write1): each is idempotent,
     * so a concurrent creator or a retry after a failure ends in the same schema. */
    for (; *sql; sql++)
        if ((rv = apr_dbd_query(driver, handle, &nrows, *sql)))
            return db_fail(driver, handle, rv, err, *sql);

    /* A newer module may have migrated the table: refuse rather than misread it. */
    if ((rv = apr_dbd_select(driver, p, handle, &res, "SELECT MAX(version) FROM dcr_schema", 1)))
        return db_fail(driver, handle, rv, err, "schema version");
    while (apr_dbd_get_row(driver, p, res, &row, -1) == 0) {
        const char *v = apr_dbd_get_entry(driver, row, 0);
        if (v)
            version = apr_atoi64(v);
    }
    if (version != DCR_SQL_SCHEMA_VERSION) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "the client store is misconfigured",
                 "store: schema version %lld in the database, this module uses %d", version,
                 DCR_SQL_SCHEMA_VERSION);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t dcr_sql_session_setup(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                                   dcr_error *err)
{
    /* a select: both answer with a row, which apr_dbd_query counts as an error */
    const char *sql = is_pgsql(driver)
                          ? apr_psprintf(p, "SELECT set_config('lock_timeout', '%d', false)",
                                         DCR_SQL_LOCK_TIMEOUT_MS)
                          : apr_psprintf(p, "PRAGMA busy_timeout = %d", DCR_SQL_BUSY_TIMEOUT_MS);
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rv = apr_dbd_select(driver, p, handle, &res, sql, 1);
    if (rv)
        return db_fail(driver, handle, rv, err, sql);
    while ((rv = apr_dbd_get_row(driver, p, res, &row, -1)) == 0)
        ;
    return rv == -1 ? APR_SUCCESS : db_fail(driver, handle, rv, err, sql);
}

apr_status_t dcr_sql_prepare_all(dcr_sql_conn *c, apr_pool_t *p, dcr_error *err)
{
    for (int i = 0; i < DCR_SQL_NSTMT; i++) {
        const char *text = dcr_sql_text(c->driver, i);
        int rv =
            text ? apr_dbd_prepare(c->driver, p, c->handle, text, stmts[i].label, &c->stmt[i]) : 0;
        if (rv)
            return db_fail(c->driver, c->handle, rv, err, stmts[i].label);
    }
    return APR_SUCCESS;
}

dcr_store *dcr_sql_store(apr_pool_t *p, dcr_sql_conn *c)
{
    dcr_store *s = apr_pcalloc(p, sizeof(*s));
    s->ops = &dcr_sql_store_ops;
    s->ctx = c;
    return s;
}

/* ---- the ops ------------------------------------------------------------------------- */

static apr_status_t lock(dcr_sql_conn *c, dcr_error *err)
{
    apr_status_t rv;
    if (!c->writers || c->writers_held)
        return APR_SUCCESS;
    if ((rv = dcr_global_mutex_lock(c->writers)) != APR_SUCCESS)
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                 "store: cannot take the writer lock (%d)", rv);
    return rv;
}

static void unlock(dcr_sql_conn *c)
{
    if (c->writers && !c->writers_held)
        apr_global_mutex_unlock(c->writers);
}

/* One write statement under the writer lock. Every write is a single statement, so the
 * database runs it as its own transaction (autocommit) on both SQLite and PostgreSQL. No
 * apr_dbd_transaction_start: apr_dbd_pgsql 1.6 dereferences NULL when BEGIN fails on a
 * connection the server dropped, which is exactly the database-restart case. args are binary
 * values (char * for %s, long long * for %lld, int * for %d, NULL for SQL NULL). */
static apr_status_t write1(dcr_sql_conn *c, dcr_sql_stmt which, apr_pool_t *p, int *nrows,
                           const void **args, dcr_error *err)
{
    apr_status_t rv;
    int dbrv;

    if ((rv = lock(c, err)) != APR_SUCCESS)
        return rv;
    dbrv = apr_dbd_pbquery(c->driver, p, c->handle, nrows, c->stmt[which], args);
    unlock(c);
    if (dbrv)
        return db_fail(c->driver, c->handle, dbrv, err, stmts[which].label);
    return APR_SUCCESS;
}

/* Runs a select and hands each row's first ncols columns, copied into p, to fn; drains every
 * row (pgsql needs it). */
typedef void row_fn(void *baton, const char **cols);

static apr_status_t select_rows(dcr_sql_conn *c, dcr_sql_stmt which, apr_pool_t *p,
                                const void **args, int ncols, row_fn *fn, void *baton,
                                dcr_error *err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *cols[2];
    /* random = 1: apr_dbd_pgsql's sequential mode reports a query that failed on a dropped
     * connection as an empty result, which would turn "database down" into "no such client". */
    int dbrv = apr_dbd_pbselect(c->driver, p, c->handle, &res, c->stmt[which], 1, args);

    if (dbrv)
        return db_fail(c->driver, c->handle, dbrv, err, stmts[which].label);
    /* Copied now: apr_dbd_pgsql frees the rows (PQclear) once the last one was read. */
    while ((dbrv = apr_dbd_get_row(c->driver, p, res, &row, -1)) == 0) {
        for (int i = 0; i < ncols; i++) {
            const char *v = apr_dbd_get_entry(c->driver, row, i);
            cols[i] = v ? apr_pstrdup(p, v) : NULL;
        }
        fn(baton, cols);
    }
    if (dbrv != -1)
        return db_fail(c->driver, c->handle, dbrv, err, stmts[which].label);
    return APR_SUCCESS;
}

static void count_row(void *baton, const char **cols)
{
    (void)cols;
    ++*(int *)baton;
}

/* ---- PostgreSQL subject locks ---------------------------------------------------------- *
 * A registration's lock costs no round trip of its own: lock_subject only asks for it, the
 * admission's read (dcr_lock_find) takes it as a session advisory lock and then reads with a
 * snapshot taken after it, and the write hands it over to its own transaction (dcr_hand_over),
 * which releases it at commit, after the row is visible to the next holder. Two statements,
 * where lock, read, write and unlock took four. */

static int is_pg(const dcr_sql_conn *c)
{
    return is_pgsql(c->driver);
}

int dcr_sql_lock_held(const dcr_sql_conn *c)
{
    return c->lock_state == DCR_SQL_LOCK_HELD;
}

/* Takes the asked-for lock; with a subject key, the subject's live rows come back with it. */
static apr_status_t take_lock(dcr_sql_conn *c, const char *subject_key, long long now,
                              apr_pool_t *p, row_fn *fn, void *baton, dcr_error *err)
{
    int ignored = 0;
    const void *args[] = {&c->lock_key, subject_key, &now};
    apr_time_t start = apr_time_now();
    apr_status_t rv;

    c->lock_sent = 1;
    rv = select_rows(c, DCR_SQL_LOCK_FIND, p, args, 2, fn ? fn : count_row, fn ? baton : &ignored,
                     err);
    if (rv == APR_SUCCESS) {
        c->lock_state = DCR_SQL_LOCK_HELD;
        return rv;
    }
    /* A wait that ran out is APR_TIMEUP, which callers must not retry (the connection is
     * fine); told apart by the time spent, as the server's message may be translated. */
    if (apr_time_now() - start >= apr_time_from_msec(DCR_SQL_LOCK_TIMEOUT_MS - 100))
        return APR_TIMEUP;
    return rv;
}

/* Any op other than admission's read, under an asked-for lock: take it first. */
static apr_status_t settle(dcr_sql_conn *c, apr_pool_t *p, dcr_error *err)
{
    if (c->lock_state != DCR_SQL_LOCK_ASKED)
        return APR_SUCCESS;
    return take_lock(c, NULL, 0, p, NULL, NULL, err);
}

/* ---- writes ------------------------------------------------------------------------------ */

/* Row values of a client: the record and its indexed columns. */
typedef struct row_values {
    const char *record, *subject_key;
    long long issued_at, expires_at;
} row_values;

static apr_status_t client_row(const dcr_client *c, apr_pool_t *p, row_values *v, dcr_error *err)
{
    if (!c || !c->client_id || !*c->client_id) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error", "store: client without client_id");
        return APR_EINVAL;
    }
    v->record = dcr_client_to_record(p, c);
    if (!v->record) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error",
                 "store: cannot serialise the record of %s", c->client_id);
        return APR_EGENERAL;
    }
    v->subject_key = dcr_client_subject_key(p, c);
    v->issued_at = c->issued_at;
    v->expires_at = c->expires_at;
    return APR_SUCCESS;
}

/* One client row written by INSERT or UPDATE: the same values, the client_id first or last,
 * and under a held PostgreSQL lock the lock key after them. Not exactly one row changed is
 * none_changed (the id exists / is unknown); the lock then stays with the session. */
static apr_status_t write_client(dcr_store *s, const dcr_client *cl, int is_new,
                                 apr_status_t none_changed, apr_pool_t *p, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    row_values v;
    int nrows = 0;
    apr_status_t rv;

    if ((rv = client_row(cl, p, &v, err)) != APR_SUCCESS || (rv = settle(c, p, err)))
        return rv;
    const void *expires = v.expires_at ? &v.expires_at : NULL;
    const void *insert[] = {cl->client_id, v.record,     &v.issued_at, expires,
                            v.subject_key, cl->rat_hash, &c->lock_key, &c->lock_key};
    const void *update[] = {v.record,     &v.issued_at,  expires,      v.subject_key,
                            cl->rat_hash, cl->client_id, &c->lock_key, &c->lock_key};
    const void **args = is_new ? insert : update;
    if (c->lock_state == DCR_SQL_LOCK_HELD) {
        rv = select_rows(c, is_new ? DCR_SQL_INSERT_HANDOVER : DCR_SQL_UPDATE_HANDOVER, p, args, 0,
                         count_row, &nrows, err);
        if (rv == APR_SUCCESS && nrows == 1)
            c->lock_state = DCR_SQL_UNLOCKED; /* now the transaction's: gone with its commit */
    } else {
        rv = write1(c, is_new ? DCR_SQL_INSERT : DCR_SQL_UPDATE, p, &nrows, args, err);
    }
    if (rv != APR_SUCCESS)
        return rv;
    return nrows == 1 ? APR_SUCCESS : none_changed;
}

static apr_status_t sql_put(dcr_store *s, const dcr_client *cl, apr_pool_t *p, dcr_error *err)
{
    return write_client(s, cl, 1, APR_EEXIST, p, err);
}

static apr_status_t sql_update(dcr_store *s, const dcr_client *cl, apr_pool_t *p, dcr_error *err)
{
    return write_client(s, cl, 0, APR_NOTFOUND, p, err);
}

static apr_status_t sql_remove(dcr_store *s, const char *client_id, apr_pool_t *p, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    int nrows = 0;
    apr_status_t rv;
    const void *args[] = {client_id};

    if ((rv = settle(c, p, err)) || (rv = write1(c, DCR_SQL_DELETE, p, &nrows, args, err)))
        return rv;
    return nrows ? APR_SUCCESS : APR_NOTFOUND;
}

static apr_status_t sql_expire(dcr_store *s, long long now, int batch, int *removed, apr_pool_t *p,
                               dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    int nrows = 0;
    apr_status_t rv;
    const void *args[] = {&now, &batch};

    *removed = 0;
    if (batch <= 0)
        return APR_SUCCESS;
    if ((rv = settle(c, p, err)) || (rv = write1(c, DCR_SQL_EXPIRE, p, &nrows, args, err)))
        return rv;
    *removed = nrows;
    return APR_SUCCESS;
}

/* ---- reads --------------------------------------------------------------------------------- */

static void keep_first(void *baton, const char **cols)
{
    const char **out = baton;
    if (!*out)
        *out = cols[0] ? cols[0] : "";
}

/* A stored record as a client, checked to be the one asked for. */
static dcr_client *parse_record(const char *client_id, const char *record, apr_pool_t *p,
                                dcr_error *err)
{
    dcr_client *c = dcr_client_from_record(p, record, strlen(record), err);
    if (c && (!c->client_id || strcmp(c->client_id, client_id))) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error",
                 "store: the record stored under %s names another client", client_id);
        return NULL;
    }
    return c; /* NULL: from_record filled err (server_error) */
}

static apr_status_t sql_get(dcr_store *s, const char *client_id, long long now, apr_pool_t *p,
                            dcr_client **out, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    const char *record = NULL;
    const void *args[] = {client_id, &now};
    apr_status_t rv;

    *out = NULL;
    if ((rv = settle(c, p, err)) ||
        (rv = select_rows(c, DCR_SQL_GET, p, args, 1, keep_first, &record, err)))
        return rv;
    if (!record)
        return APR_NOTFOUND;
    *out = parse_record(client_id, record, p, err);
    return *out ? APR_SUCCESS : APR_EGENERAL;
}

/* (client_id, record) rows, parsed once every row is read. */
static void push_pair(void *baton, const char **cols)
{
    apr_array_header_t *rows = baton;
    if (cols[0] && cols[1]) {
        APR_ARRAY_PUSH(rows, const char *) = cols[0];
        APR_ARRAY_PUSH(rows, const char *) = cols[1];
    }
}

static apr_status_t sql_find_clients(dcr_store *s, const char *subject_key, long long now,
                                     apr_pool_t *p, apr_array_header_t **clients, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    apr_array_header_t *rows = apr_array_make(p, 4, sizeof(const char *));
    const void *args[] = {subject_key, &now};
    apr_status_t rv;

    *clients = apr_array_make(p, 2, sizeof(dcr_client *));
    if (!subject_key)
        return settle(c, p, err);
    if (c->lock_state == DCR_SQL_LOCK_ASKED)
        rv = take_lock(c, subject_key, now, p, push_pair, rows, err);
    else
        rv = select_rows(c, DCR_SQL_FIND, p, args, 2, push_pair, rows, err);
    if (rv != APR_SUCCESS)
        return rv;
    for (int i = 0; i + 1 < rows->nelts; i += 2) {
        dcr_client *cl = parse_record(APR_ARRAY_IDX(rows, i, const char *),
                                      APR_ARRAY_IDX(rows, i + 1, const char *), p, err);
        if (!cl)
            return APR_EGENERAL;
        APR_ARRAY_PUSH(*clients, dcr_client *) = cl;
    }
    return APR_SUCCESS;
}

static void keep_id_and_issued_at(void *baton, const char **cols)
{
    const char **out = baton;
    if (!out[0]) {
        out[0] = cols[0];
        out[1] = cols[1];
    }
}

static apr_status_t sql_replace_returning(dcr_store *s, const dcr_client *cl, long long now,
                                          apr_pool_t *p, const char **client_id,
                                          long long *issued_at, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    const char *row[2] = {NULL, NULL}, *software_id;
    row_values v;
    apr_status_t rv;

    if (c->lock_state != DCR_SQL_UNLOCKED)
        return APR_ENOTIMPL;
    if ((rv = client_row(cl, p, &v, err)) != APR_SUCCESS)
        return rv;
    if (!v.subject_key)
        return APR_NOTFOUND;
    software_id = dcr_json_string(cl->metadata, "software_id");
    const char *issued =
        apr_psprintf(p, "\"client_id_issued_at\":%" APR_INT64_T_FMT, (apr_int64_t)cl->issued_at);
    const void *expires = v.expires_at ? &v.expires_at : NULL;
    const void *args[] = {v.record,     cl->client_id, issued, expires,
                          cl->rat_hash, v.subject_key, &now,   software_id};
    if ((rv = lock(c, err)) != APR_SUCCESS) /* SQLite: a write like any other */
        return rv;
    rv = select_rows(c, DCR_SQL_REPLACE_RETURNING, p, args, 2, keep_id_and_issued_at, row, err);
    unlock(c);
    if (rv != APR_SUCCESS)
        return rv;
    if (!row[0] || !row[1])
        return APR_NOTFOUND;
    *client_id = row[0];
    *issued_at = apr_atoi64(row[1]);
    return APR_SUCCESS;
}

static void parse_count(void *baton, const char **cols)
{
    long long *n = baton;
    *n = cols[0] ? apr_atoi64(cols[0]) : 0;
}

static apr_status_t sql_count(dcr_store *s, long long now, long long *n, apr_pool_t *p,
                              dcr_error *err)
{
    const void *args[] = {&now};
    apr_status_t rv;
    *n = 0;
    if ((rv = settle(s->ctx, p, err)))
        return rv;
    return select_rows(s->ctx, DCR_SQL_COUNT, p, args, 1, parse_count, n, err);
}

/* ---- subject locks ------------------------------------------------------------------- */

long long dcr_sql_lock_key(const char *key)
{
    unsigned long long h = 14695981039346656037ULL;
    for (const unsigned char *k = (const unsigned char *)key; *k; k++)
        h = (h ^ *k) * 1099511628211ULL;
    return (long long)h;
}

/* One statement on the connection's session, rows drained; the text is built from integers
 * (apr_psprintf: APR_INT64_T_FMT, it knows no %lld). */
static apr_status_t session_call(dcr_sql_conn *c, apr_pool_t *p, const char *sql, dcr_error *err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int dbrv = apr_dbd_select(c->driver, p, c->handle, &res, sql, 1);

    if (dbrv)
        return db_fail(c->driver, c->handle, dbrv, err, sql);
    while ((dbrv = apr_dbd_get_row(c->driver, p, res, &row, -1)) == 0)
        ;
    return dbrv == -1 ? APR_SUCCESS : db_fail(c->driver, c->handle, dbrv, err, sql);
}

typedef struct subject_lock {
    dcr_sql_conn *c;
    apr_pool_t *p;
    int pg; /* else the writer mutex is held */
} subject_lock;

static apr_status_t release(void *data)
{
    subject_lock *l = data;
    dcr_sql_conn *c = l->c;
    dcr_error ignored;
    if (!l->pg) {
        c->writers_held = 0;
        apr_global_mutex_unlock(c->writers);
        return APR_SUCCESS;
    }
    /* Still with the session (no write took it over), or maybe (the statement that takes it
     * failed): unlock. A failure means the session is gone, and the lock with it. */
    if (c->handle && (c->lock_state == DCR_SQL_LOCK_HELD ||
                      (c->lock_state == DCR_SQL_LOCK_ASKED && c->lock_sent)))
        session_call(c, l->p,
                     apr_psprintf(l->p, "SELECT pg_advisory_unlock(%" APR_INT64_T_FMT ")",
                                  (apr_int64_t)c->lock_key),
                     &ignored);
    c->lock_state = DCR_SQL_UNLOCKED;
    return APR_SUCCESS;
}

/* SQLite: the writer mutex, held across admission and write (local only, like the file).
 * PostgreSQL: asked for here, taken by the next statement (see above); the database holds it,
 * not a process, it ends with the session if the connection drops, and the statement that
 * takes it waits at most DCR_SQL_LOCK_TIMEOUT_MS. */
static apr_status_t sql_lock_subject(dcr_store *s, const char *key, apr_pool_t *p, void **token,
                                     dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    subject_lock *l;
    apr_status_t rv;

    *token = NULL;
    if (is_pg(c)) {
        if (c->lock_state != DCR_SQL_UNLOCKED) {
            dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error",
                     "store: a second subject lock on one connection");
            return APR_EBUSY;
        }
        c->lock_key = dcr_sql_lock_key(key);
        c->lock_state = DCR_SQL_LOCK_ASKED;
        c->lock_sent = 0;
    } else if (c->writers && !c->writers_held) {
        if ((rv = lock(c, err)) != APR_SUCCESS)
            return rv;
        c->writers_held = 1;
    } else {
        return APR_ENOTIMPL; /* SQLite shared without our mutex (DCRStore dbd): approximate */
    }
    l = apr_pcalloc(p, sizeof(*l));
    l->c = c;
    l->p = p;
    l->pg = is_pg(c);
    apr_pool_cleanup_register(p, l, release, apr_pool_cleanup_null);
    *token = l;
    return APR_SUCCESS;
}

static void sql_unlock_subject(dcr_store *s, void *token)
{
    subject_lock *l = token;
    (void)s;
    if (l)
        apr_pool_cleanup_run(l->p, l, release);
}

const dcr_store_ops dcr_sql_store_ops = {
    .name = "sql",
    .caps = DCR_STORE_CAN_ITERATE | DCR_STORE_TRANSACTIONAL,
    .put = sql_put,
    .get = sql_get,
    .update = sql_update,
    .remove = sql_remove,
    .find_clients = sql_find_clients,
    .replace_returning = sql_replace_returning,
    .expire = sql_expire,
    .count = sql_count,
    .lock_subject = sql_lock_subject,
    .unlock_subject = sql_unlock_subject,
};
