/* The SQL stores' schema and statements: the tables per driver (kept equal to sql/<driver>.sql),
 * the statement texts in apr_dbd's portable syntax, schema creation and session settings. */
#include "store_sql_int.h"

#include <apr_strings.h>
#include <string.h>

/* Keep these equal to sql/sqlite.sql and sql/pgsql.sql (check_store_sqlite compares them). */
/* After the table, both drivers alike: the indexes. */
#define SCHEMA_COMMON                                                                              \
    "CREATE INDEX IF NOT EXISTS dcr_clients_subject ON dcr_clients (subject_key, issued_at)",      \
        "CREATE INDEX IF NOT EXISTS dcr_clients_expires ON dcr_clients (expires_at)"               \
        " WHERE expires_at IS NOT NULL"
/* After the single-use statements' table: the schema version, a version 1 database (the
 * same tables but that one) migrated in place. */
#define SCHEMA_VERSION                                                                             \
    "CREATE INDEX IF NOT EXISTS dcr_used_statements_expires ON dcr_used_statements (expires_at)",  \
        "CREATE TABLE IF NOT EXISTS dcr_schema (version INTEGER NOT NULL)",                        \
        "INSERT INTO dcr_schema (version) SELECT 3 WHERE NOT EXISTS (SELECT 1 FROM dcr_schema)",   \
        "UPDATE dcr_schema SET version = 3 WHERE version < 3"

static const char *const schema_sqlite[] = {"CREATE TABLE IF NOT EXISTS dcr_clients ("
                                            " client_id TEXT NOT NULL PRIMARY KEY,"
                                            " record TEXT NOT NULL,"
                                            " issued_at INTEGER NOT NULL,"
                                            " expires_at INTEGER,"
                                            " subject_key TEXT,"
                                            " rat_hash TEXT NOT NULL,"
                                            " upstream_secret TEXT"
                                            " )",
                                            SCHEMA_COMMON,
                                            "CREATE TABLE IF NOT EXISTS dcr_used_statements ("
                                            " hash TEXT NOT NULL PRIMARY KEY,"
                                            " expires_at INTEGER NOT NULL"
                                            " )",
                                            SCHEMA_VERSION, NULL};

static const char *const schema_pgsql[] = {
    "CREATE TABLE IF NOT EXISTS dcr_clients ("
    " client_id VARCHAR(255) NOT NULL PRIMARY KEY,"
    " record TEXT NOT NULL,"
    " issued_at BIGINT NOT NULL,"
    " expires_at BIGINT,"
    " subject_key TEXT,"
    " rat_hash CHAR(64) NOT NULL,"
    " upstream_secret TEXT"
    " )",
    "ALTER TABLE dcr_clients ADD COLUMN IF NOT EXISTS upstream_secret TEXT",
    SCHEMA_COMMON,
    "CREATE TABLE IF NOT EXISTS dcr_used_statements ("
    " hash CHAR(64) NOT NULL PRIMARY KEY,"
    " expires_at BIGINT NOT NULL"
    " )",
    SCHEMA_VERSION,
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
                        " subject_key, rat_hash, upstream_secret) VALUES (%s, %s, %lld, %lld, %s,"
                        " %s, %s) ON CONFLICT (client_id) DO NOTHING"},
    [DCR_SQL_GET] = {"dcr_get", "SELECT record, upstream_secret FROM dcr_clients"
                                " WHERE client_id = %s"
                                " AND (expires_at IS NULL OR expires_at > %lld)"},
    [DCR_SQL_UPDATE] = {"dcr_update",
                        "UPDATE dcr_clients SET record = %s, issued_at = %lld, expires_at = %lld,"
                        " subject_key = %s, rat_hash = %s,"
                        " upstream_secret = COALESCE(%s, upstream_secret) WHERE client_id = %s"
                        " AND rat_hash = COALESCE(%s, rat_hash)"},
    [DCR_SQL_DELETE] = {"dcr_delete", "DELETE FROM dcr_clients WHERE client_id = %s"},
    [DCR_SQL_FIND] = {"dcr_find", "SELECT client_id, record FROM dcr_clients"
                                  " WHERE subject_key = %s"
                                  " AND (expires_at IS NULL OR expires_at > %lld)"
                                  " ORDER BY issued_at, client_id"},
    [DCR_SQL_EXPIRE] = {"dcr_expire",
                        "DELETE FROM dcr_clients WHERE client_id IN (SELECT client_id FROM"
                        " dcr_clients WHERE expires_at <= %lld AND upstream_secret IS NULL"
                        " ORDER BY expires_at LIMIT %d)"},
    /* upstream clients go through dcr_upstream_sweep: the upstream first */
    [DCR_SQL_EXPIRED_UPSTREAM] = {"dcr_expired_upstream",
                                  "SELECT client_id, record, upstream_secret FROM dcr_clients"
                                  " WHERE expires_at <= %lld AND upstream_secret IS NOT NULL"
                                  " ORDER BY expires_at LIMIT %d"},
    [DCR_SQL_COUNT] = {"dcr_count", "SELECT COUNT(*) FROM dcr_clients"
                                    " WHERE expires_at IS NULL OR expires_at > %lld"},
    /* one row changed: first use (or the memory of an earlier one had expired); none: seen.
     * The conflict target's row lock makes two racing first uses one success, one none. */
    [DCR_SQL_REMEMBER] = {"dcr_remember",
                          "INSERT INTO dcr_used_statements (hash, expires_at) VALUES (%s, %lld)"
                          " ON CONFLICT (hash) DO UPDATE SET expires_at = excluded.expires_at"
                          " WHERE dcr_used_statements.expires_at <= %lld"},
    [DCR_SQL_FORGET] = {"dcr_forget",
                        "DELETE FROM dcr_used_statements WHERE hash IN (SELECT hash FROM"
                        " dcr_used_statements WHERE expires_at <= %lld ORDER BY expires_at"
                        " LIMIT %d)"},
    /* PostgreSQL only. dcr_lock_find is sql/pgsql.sql's. A write under a subject lock hands
     * the lock over to its own transaction only when it changed a row: the materialised
     * CTE takes the transaction lock for that row before the outer select drops the
     * session's, so the lock is never free before the commit. */
    [DCR_SQL_LOCK_FIND] = {"dcr_lock_find",
                           "SELECT client_id, record FROM dcr_lock_find(%lld, %s, %lld)"},
    [DCR_SQL_INSERT_HANDOVER] = {"dcr_insert_handover",
                                 "WITH w AS (INSERT INTO dcr_clients (client_id, record,"
                                 " issued_at, expires_at, subject_key, rat_hash, upstream_secret)"
                                 " VALUES (%s, %s, %lld, %lld, %s, %s, %s)"
                                 " ON CONFLICT (client_id) DO NOTHING"
                                 " RETURNING 1), x AS MATERIALIZED (SELECT"
                                 " pg_advisory_xact_lock(%lld) FROM w)"
                                 " SELECT pg_advisory_unlock(%lld) FROM x"},
    [DCR_SQL_UPDATE_HANDOVER] = {"dcr_update_handover",
                                 "WITH w AS (UPDATE dcr_clients SET record = %s, issued_at = %lld,"
                                 " expires_at = %lld, subject_key = %s, rat_hash = %s,"
                                 " upstream_secret = COALESCE(%s, upstream_secret)"
                                 " WHERE client_id = %s AND rat_hash = COALESCE(%s, rat_hash)"
                                 " RETURNING 1), x AS MATERIALIZED (SELECT"
                                 " pg_advisory_xact_lock(%lld) FROM w)"
                                 " SELECT pg_advisory_unlock(%lld) FROM x"},
    /* A returning subject under replace in one statement: the record comes written for a
     * fresh client_id and issue time; the row keeps its own, patched into the record text
     * (compact JSON from dcr_json_dump: exact patterns; the fresh id, 192 random bits made
     * after the metadata, occurs nowhere else in it). Only a row the statement may rewrite
     * (dcr_client_may_rewrite: its endpoint, an older statement; version 1 records have no
     * statement_iat and never qualify). A row updated meanwhile is re-checked by PostgreSQL
     * (the outer iat condition: a rewrite never moves it back); one deleted meanwhile makes
     * it 0 rows. */
    [DCR_SQL_REPLACE_RETURNING] = {"dcr_replace_returning",
                                   "UPDATE dcr_clients d SET record = replace(replace(%s, %s,"
                                   " d.client_id), %s, '\"client_id_issued_at\":' ||"
                                   " d.issued_at), expires_at = %lld, rat_hash = %s"
                                   " WHERE d.client_id = (SELECT o.client_id FROM dcr_clients o"
                                   " WHERE o.subject_key = %s AND (o.expires_at IS NULL OR"
                                   " o.expires_at > %lld) AND (o.record::json #>>"
                                   " '{metadata,software_id}') IS NOT DISTINCT FROM %s"
                                   " AND (o.record::json ->> 'endpoint') = %s"
                                   " AND (o.record::json ->> 'statement_sha256') <> %s"
                                   " AND (o.record::json ->> 'statement_iat')::bigint < %lld"
                                   " ORDER BY o.issued_at, o.client_id LIMIT 1)"
                                   " AND (d.record::json ->> 'statement_iat')::bigint < %lld"
                                   " RETURNING d.client_id, d.issued_at"},
};

/* SQLite's replace: the same step in its dialect (JSON1 and RETURNING: SQLite 3.38 or later);
 * in SET, the bare names are the row's. */
static const char replace_sqlite[] =
    "UPDATE dcr_clients SET record = replace(replace(%s, %s, client_id), %s,"
    " '\"client_id_issued_at\":' || issued_at), expires_at = %lld, rat_hash = %s"
    " WHERE client_id = (SELECT o.client_id FROM dcr_clients o WHERE o.subject_key = %s AND"
    " (o.expires_at IS NULL OR o.expires_at > %lld) AND json_extract(o.record,"
    " '$.metadata.software_id') IS %s AND json_extract(o.record, '$.endpoint') = %s"
    " AND json_extract(o.record, '$.statement_sha256') <> %s"
    " AND json_extract(o.record, '$.statement_iat') < %lld"
    " ORDER BY o.issued_at, o.client_id LIMIT 1)"
    " AND json_extract(record, '$.statement_iat') < %lld RETURNING client_id, issued_at";

int dcr_sql_is_pg(const apr_dbd_driver_t *d)
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
    if (which == DCR_SQL_REPLACE_RETURNING && !dcr_sql_is_pg(driver))
        return replace_sqlite;
    if (which >= DCR_SQL_NSTMT || (which >= DCR_SQL_LOCK_FIND && !dcr_sql_is_pg(driver)))
        return NULL;
    return stmts[which].text;
}

const char *dcr_sql_label(dcr_sql_stmt which)
{
    return which < DCR_SQL_NSTMT ? stmts[which].label : NULL;
}

apr_status_t dcr_sql_fail(const apr_dbd_driver_t *d, apr_dbd_t *h, int rv, dcr_error *err,
                          const char *what)
{
    dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
             "store (%s): %s: %s (%d)", apr_dbd_name(d), what,
             h ? apr_dbd_error(d, h, rv) : "no connection", rv);
    return APR_EGENERAL;
}

apr_status_t dcr_sql_select_text(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                                 const char *sql, dcr_error *err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rv = apr_dbd_select(driver, p, handle, &res, sql, 1);
    if (rv)
        return dcr_sql_fail(driver, handle, rv, err, sql);
    while ((rv = apr_dbd_get_row(driver, p, res, &row, -1)) == 0)
        ;
    return rv == -1 ? APR_SUCCESS : dcr_sql_fail(driver, handle, rv, err, sql);
}

static void keep_count(void *baton, const char *v)
{
    *(long long *)baton = v ? apr_atoi64(v) : 0;
}

/* SQLite has no ADD COLUMN IF NOT EXISTS: a version 2 table gets upstream_secret once (the
 * callers hold the writer mutex). PostgreSQL's schema says it in one idempotent statement. */
static apr_status_t sqlite_add_upstream_column(const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                                               apr_pool_t *p, dcr_error *err)
{
    static const char missing[] =
        "SELECT (SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = "
        "'dcr_clients') - (SELECT COUNT(*) FROM pragma_table_info('dcr_clients') WHERE name = "
        "'upstream_secret')";
    static const char add[] = "ALTER TABLE dcr_clients ADD COLUMN upstream_secret TEXT";
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    long long n = 0;
    int rv, nrows;

    if ((rv = apr_dbd_select(driver, p, handle, &res, missing, 1)))
        return dcr_sql_fail(driver, handle, rv, err, missing);
    while (apr_dbd_get_row(driver, p, res, &row, -1) == 0)
        keep_count(&n, apr_dbd_get_entry(driver, row, 0));
    if (n == 1 && (rv = apr_dbd_query(driver, handle, &nrows, add)))
        return dcr_sql_fail(driver, handle, rv, err, add);
    return APR_SUCCESS;
}

/* Statement by statement, without apr_dbd transactions (see write1 in store_sql.c): each is
 * idempotent, so a retry after a failure ends in the same schema. */
static apr_status_t run_schema(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                               const char *const *sql, dcr_error *err)
{
    int rv, nrows;
    apr_status_t st;

    if (!dcr_sql_is_pg(driver) &&
        (st = sqlite_add_upstream_column(driver, handle, p, err)) != APR_SUCCESS)
        return st;
    for (; *sql; sql++)
        if ((rv = apr_dbd_query(driver, handle, &nrows, *sql)))
            return dcr_sql_fail(driver, handle, rv, err, *sql);
    return dcr_sql_check_schema(driver, handle, p, err);
}

apr_status_t dcr_sql_check_schema(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                                  dcr_error *err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    long long version = 0;
    int rv;

    /* A newer module may have migrated the table: refuse rather than misread it; an older
     * schema (nobody migrated it) would fail every statement that needs the new parts. */
    if ((rv = apr_dbd_select(driver, p, handle, &res, "SELECT MAX(version) FROM dcr_schema", 1))) {
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                 "store: no dcr_schema table (%s): create the schema from sql/%s.sql or set "
                 "DCRDBDCreateSchema On",
                 apr_dbd_error(driver, handle, rv), dcr_sql_is_pg(driver) ? "pgsql" : "sqlite");
        return APR_NOTFOUND;
    }
    while (apr_dbd_get_row(driver, p, res, &row, -1) == 0) {
        const char *v = apr_dbd_get_entry(driver, row, 0);
        if (v)
            version = apr_atoi64(v);
    }
    if (version != DCR_SQL_SCHEMA_VERSION) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "the client store is misconfigured",
                 "store: schema version %lld in the database, this module uses %d%s", version,
                 DCR_SQL_SCHEMA_VERSION,
                 version < DCR_SQL_SCHEMA_VERSION
                     ? ": run sql/<driver>.sql (it migrates in place) or set DCRDBDCreateSchema On"
                     : "");
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t dcr_sql_create_schema(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                                   dcr_error *err)
{
    const char *const *sql = dcr_sql_schema(apr_dbd_name(driver));
    const char *lock, *unlock;
    apr_status_t rv;
    dcr_error ignored;

    if (!sql) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "the client store is misconfigured",
                 "store: no schema for the apr_dbd driver %s (use sqlite3 or pgsql)",
                 apr_dbd_name(driver));
        return APR_ENOTIMPL;
    }
    if (!dcr_sql_is_pg(driver)) /* SQLite: the callers hold the writer mutex */
        return run_schema(driver, handle, p, sql, err);
    /* PostgreSQL refuses DDL racing on its catalogs ("tuple concurrently updated" for two
     * CREATE OR REPLACE FUNCTION): nodes starting together take turns. */
    lock = apr_psprintf(p, "SELECT pg_advisory_lock(%" APR_INT64_T_FMT ")",
                        (apr_int64_t)dcr_sql_lock_key(DCR_SQL_KEY_SCHEMA));
    unlock = apr_psprintf(p, "SELECT pg_advisory_unlock(%" APR_INT64_T_FMT ")",
                          (apr_int64_t)dcr_sql_lock_key(DCR_SQL_KEY_SCHEMA));
    if ((rv = dcr_sql_select_text(driver, handle, p, lock, err)) != APR_SUCCESS)
        return rv;
    rv = run_schema(driver, handle, p, sql, err);
    dcr_sql_select_text(driver, handle, p, unlock, &ignored); /* fails only with the session */
    return rv;
}

apr_status_t dcr_sql_session_setup(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                                   dcr_error *err)
{
    const char *sql = dcr_sql_is_pg(driver)
                          ? apr_psprintf(p, "SELECT set_config('lock_timeout', '%d', false)",
                                         DCR_SQL_LOCK_TIMEOUT_MS)
                          : apr_psprintf(p, "PRAGMA busy_timeout = %d", DCR_SQL_BUSY_TIMEOUT_MS);
    return dcr_sql_select_text(driver, handle, p, sql, err);
}

apr_status_t dcr_sql_prepare_all(dcr_sql_conn *c, apr_pool_t *p, dcr_error *err)
{
    for (int i = 0; i < DCR_SQL_NSTMT; i++) {
        const char *text = dcr_sql_text(c->driver, i);
        int rv =
            text ? apr_dbd_prepare(c->driver, p, c->handle, text, stmts[i].label, &c->stmt[i]) : 0;
        if (rv)
            return dcr_sql_fail(c->driver, c->handle, rv, err, stmts[i].label);
    }
    return APR_SUCCESS;
}
