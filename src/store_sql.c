#include "store_sql.h"

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
    [DCR_SQL_FIND] = {"dcr_find", "SELECT client_id FROM dcr_clients WHERE subject_key = %s"
                                  " AND (expires_at IS NULL OR expires_at > %lld)"
                                  " ORDER BY issued_at, client_id"},
    [DCR_SQL_EXPIRE] = {"dcr_expire",
                        "DELETE FROM dcr_clients WHERE client_id IN (SELECT client_id FROM"
                        " dcr_clients WHERE expires_at <= %lld ORDER BY expires_at LIMIT %d)"},
    [DCR_SQL_COUNT] = {"dcr_count", "SELECT COUNT(*) FROM dcr_clients"
                                    " WHERE expires_at IS NULL OR expires_at > %lld"},
};

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

const char *dcr_sql_text(dcr_sql_stmt which)
{
    return which < DCR_SQL_NSTMT ? stmts[which].text : NULL;
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

apr_status_t dcr_sql_prepare_all(dcr_sql_conn *c, apr_pool_t *p, dcr_error *err)
{
    for (int i = 0; i < DCR_SQL_NSTMT; i++) {
        int rv =
            apr_dbd_prepare(c->driver, p, c->handle, stmts[i].text, stmts[i].label, &c->stmt[i]);
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
    if ((rv = apr_global_mutex_lock(c->writers)) != APR_SUCCESS)
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

/* One client row written by INSERT or UPDATE: the same values, the client_id first or last.
 * Not exactly one row changed is none_changed (the id exists / is unknown). */
static apr_status_t write_client(dcr_store *s, const dcr_client *cl, dcr_sql_stmt which,
                                 apr_status_t none_changed, apr_pool_t *p, dcr_error *err)
{
    row_values v;
    int nrows = 0;
    apr_status_t rv;

    if ((rv = client_row(cl, p, &v, err)) != APR_SUCCESS)
        return rv;
    const void *expires = v.expires_at ? &v.expires_at : NULL;
    const void *insert[] = {cl->client_id, v.record,      &v.issued_at,
                            expires,       v.subject_key, cl->rat_hash};
    const void *update[] = {v.record,      &v.issued_at, expires,
                            v.subject_key, cl->rat_hash, cl->client_id};
    rv = write1(s->ctx, which, p, &nrows, which == DCR_SQL_INSERT ? insert : update, err);
    if (rv != APR_SUCCESS)
        return rv;
    return nrows == 1 ? APR_SUCCESS : none_changed;
}

static apr_status_t sql_put(dcr_store *s, const dcr_client *cl, apr_pool_t *p, dcr_error *err)
{
    return write_client(s, cl, DCR_SQL_INSERT, APR_EEXIST, p, err);
}

static apr_status_t sql_update(dcr_store *s, const dcr_client *cl, apr_pool_t *p, dcr_error *err)
{
    return write_client(s, cl, DCR_SQL_UPDATE, APR_NOTFOUND, p, err);
}

static apr_status_t sql_remove(dcr_store *s, const char *client_id, apr_pool_t *p, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    int nrows = 0;
    apr_status_t rv;
    const void *args[] = {client_id};

    if ((rv = write1(c, DCR_SQL_DELETE, p, &nrows, args, err)) != APR_SUCCESS)
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
    if ((rv = write1(c, DCR_SQL_EXPIRE, p, &nrows, args, err)) != APR_SUCCESS)
        return rv;
    *removed = nrows;
    return APR_SUCCESS;
}

/* Runs a select and hands each row's first column, copied into p, to fn; drains every row
 * (pgsql needs it). */
static apr_status_t select_col0(dcr_sql_conn *c, dcr_sql_stmt which, apr_pool_t *p,
                                const void **args, void (*fn)(void *baton, const char *v),
                                void *baton, dcr_error *err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    /* random = 1: apr_dbd_pgsql's sequential mode reports a query that failed on a dropped
     * connection as an empty result, which would turn "database down" into "no such client". */
    int dbrv = apr_dbd_pbselect(c->driver, p, c->handle, &res, c->stmt[which], 1, args);

    if (dbrv)
        return db_fail(c->driver, c->handle, dbrv, err, stmts[which].label);
    /* Copied now: apr_dbd_pgsql frees the rows (PQclear) once the last one was read. */
    while ((dbrv = apr_dbd_get_row(c->driver, p, res, &row, -1)) == 0) {
        const char *v = apr_dbd_get_entry(c->driver, row, 0);
        fn(baton, v ? apr_pstrdup(p, v) : NULL);
    }
    if (dbrv != -1)
        return db_fail(c->driver, c->handle, dbrv, err, stmts[which].label);
    return APR_SUCCESS;
}

static void keep_first(void *baton, const char *v)
{
    const char **out = baton;
    if (!*out)
        *out = v ? v : "";
}

static apr_status_t sql_get(dcr_store *s, const char *client_id, long long now, apr_pool_t *p,
                            dcr_client **out, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    const char *record = NULL;
    const void *args[] = {client_id, &now};
    apr_status_t rv;

    *out = NULL;
    if ((rv = select_col0(c, DCR_SQL_GET, p, args, keep_first, &record, err)) != APR_SUCCESS)
        return rv;
    if (!record)
        return APR_NOTFOUND;
    *out = dcr_client_from_record(p, record, strlen(record), err);
    if (!*out)
        return APR_EGENERAL; /* from_record filled err (server_error) */
    if (!(*out)->client_id || strcmp((*out)->client_id, client_id)) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error",
                 "store: the record stored under %s names another client", client_id);
        *out = NULL;
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

typedef struct collect {
    apr_array_header_t *ids;
    apr_pool_t *p;
} collect;

static void push_id(void *baton, const char *v)
{
    collect *col = baton;
    if (v)
        APR_ARRAY_PUSH(col->ids, const char *) = v; /* already in the pool */
}

static apr_status_t sql_find(dcr_store *s, const char *subject_key, long long now, apr_pool_t *p,
                             apr_array_header_t **ids, dcr_error *err)
{
    collect col = {apr_array_make(p, 4, sizeof(const char *)), p};
    const void *args[] = {subject_key, &now};
    apr_status_t rv;

    *ids = col.ids;
    if (!subject_key)
        return APR_SUCCESS;
    rv = select_col0(s->ctx, DCR_SQL_FIND, p, args, push_id, &col, err);
    return rv;
}

static void parse_count(void *baton, const char *v)
{
    long long *n = baton;
    *n = v ? apr_atoi64(v) : 0;
}

static apr_status_t sql_count(dcr_store *s, long long now, long long *n, apr_pool_t *p,
                              dcr_error *err)
{
    const void *args[] = {&now};
    *n = 0;
    return select_col0(s->ctx, DCR_SQL_COUNT, p, args, parse_count, n, err);
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
    long long key; /* pgsql: the advisory lock; else the writer mutex is held */
    int pg;
} subject_lock;

static apr_status_t release(void *data)
{
    subject_lock *l = data;
    dcr_error ignored;
    if (!l->pg) {
        l->c->writers_held = 0;
        apr_global_mutex_unlock(l->c->writers);
    } else if (l->c->handle) {
        /* A failure means the session is gone, and the lock with it. */
        session_call(l->c, l->p,
                     apr_psprintf(l->p, "SELECT pg_advisory_unlock(%" APR_INT64_T_FMT ")",
                                  (apr_int64_t)l->key),
                     &ignored);
    }
    return APR_SUCCESS;
}

/* SQLite: the writer mutex, held across admission and write (local only, like the file).
 * PostgreSQL: a session advisory lock on this connection; the database holds it, not a
 * process, and it ends with the session if the connection drops. lock_timeout bounds the wait
 * (set from a FROM subquery, which runs before the lock call). */
static apr_status_t sql_lock_subject(dcr_store *s, const char *key, apr_pool_t *p, void **token,
                                     dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    subject_lock *l = apr_pcalloc(p, sizeof(*l));
    apr_status_t rv;

    *token = NULL;
    l->c = c;
    l->p = p;
    if (!strcmp(apr_dbd_name(c->driver), "pgsql")) {
        apr_time_t start = apr_time_now();
        l->pg = 1;
        l->key = dcr_sql_lock_key(key);
        rv = session_call(c, p,
                          apr_psprintf(p,
                                       "SELECT pg_advisory_lock(%" APR_INT64_T_FMT ") FROM (SELECT"
                                       " set_config('lock_timeout', '%d', false)) AS t",
                                       (apr_int64_t)l->key, DCR_SQL_LOCK_TIMEOUT_MS),
                          err);
        /* A wait that ran out is APR_TIMEUP, which callers must not retry (the connection is
         * fine); told apart by the time spent, as the server's message may be translated. */
        if (rv != APR_SUCCESS &&
            apr_time_now() - start >= apr_time_from_msec(DCR_SQL_LOCK_TIMEOUT_MS - 100))
            return APR_TIMEUP;
        if (rv != APR_SUCCESS)
            return rv;
    } else if (c->writers && !c->writers_held) {
        if ((rv = lock(c, err)) != APR_SUCCESS)
            return rv;
        c->writers_held = 1;
    } else {
        return APR_ENOTIMPL; /* SQLite shared without our mutex (DCRStore dbd): approximate */
    }
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
    .find_by_subject = sql_find,
    .expire = sql_expire,
    .count = sql_count,
    .lock_subject = sql_lock_subject,
    .unlock_subject = sql_unlock_subject,
};
