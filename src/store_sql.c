/* The SQL stores' dcr_store_ops over one apr_dbd connection: each op one prepared statement.
 * Subject locks: store_sql_lock.c; schema and statements: store_sql_schema.c. */
#include "store_sql_int.h"

#include "global_mutex.h"
#include "json.h"

#include <apr_strings.h>
#include <string.h>

dcr_store *dcr_sql_store(apr_pool_t *p, dcr_sql_conn *c)
{
    dcr_store *s = apr_pcalloc(p, sizeof(*s));
    s->ops = &dcr_sql_store_ops;
    s->ctx = c;
    return s;
}

/* ---- the ops ------------------------------------------------------------------------- */

apr_status_t dcr_sql_writers_lock(dcr_sql_conn *c, dcr_error *err)
{
    apr_status_t rv;
    if (!c->writers || c->writers_held)
        return APR_SUCCESS;
    if ((rv = dcr_global_mutex_lock(c->writers)) != APR_SUCCESS)
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                 "store: cannot take the writer lock (%d)", rv);
    return rv;
}

void dcr_sql_writers_unlock(dcr_sql_conn *c)
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

    if ((rv = dcr_sql_writers_lock(c, err)) != APR_SUCCESS)
        return rv;
    dbrv = apr_dbd_pbquery(c->driver, p, c->handle, nrows, c->stmt[which], args);
    dcr_sql_writers_unlock(c);
    if (dbrv)
        return dcr_sql_fail(c->driver, c->handle, dbrv, err, dcr_sql_label(which));
    return APR_SUCCESS;
}

apr_status_t dcr_sql_select(dcr_sql_conn *c, dcr_sql_stmt which, apr_pool_t *p, const void **args,
                            int ncols, dcr_sql_row_fn *fn, void *baton, dcr_error *err)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *cols[3];
    /* random = 1: apr_dbd_pgsql's sequential mode reports a query that failed on a dropped
     * connection as an empty result, which would turn "database down" into "no such client". */
    int dbrv = apr_dbd_pbselect(c->driver, p, c->handle, &res, c->stmt[which], 1, args);

    if (dbrv)
        return dcr_sql_fail(c->driver, c->handle, dbrv, err, dcr_sql_label(which));
    /* Copied now: apr_dbd_pgsql frees the rows (PQclear) once the last one was read. */
    while ((dbrv = apr_dbd_get_row(c->driver, p, res, &row, -1)) == 0) {
        for (int i = 0; i < ncols; i++) {
            const char *v = apr_dbd_get_entry(c->driver, row, i);
            cols[i] = v ? apr_pstrdup(p, v) : NULL;
        }
        fn(baton, cols);
    }
    if (dbrv != -1)
        return dcr_sql_fail(c->driver, c->handle, dbrv, err, dcr_sql_label(which));
    return APR_SUCCESS;
}

void dcr_sql_count_row(void *baton, const char **cols)
{
    (void)cols;
    ++*(int *)baton;
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

/* One client row written by INSERT or UPDATE: the same values, the client_id first or last
 * (an UPDATE's compare-and-set hash after it, NULL for none), and under a held PostgreSQL lock
 * the lock key after them. Not exactly one row changed is
 * none_changed (the id exists / is unknown); the lock then stays with the session. */
static apr_status_t write_client(dcr_store *s, const dcr_client *cl, int is_new, const char *expect,
                                 apr_status_t none_changed, apr_pool_t *p, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    row_values v;
    int nrows = 0;
    apr_status_t rv;

    if ((rv = client_row(cl, p, &v, err)) != APR_SUCCESS || (rv = dcr_sql_settle(c, p, err)))
        return rv;
    const void *expires = v.expires_at ? &v.expires_at : NULL;
    const void *insert[] = {cl->client_id, v.record,     &v.issued_at,        expires,
                            v.subject_key, cl->rat_hash, cl->upstream_secret, &c->lock_key,
                            &c->lock_key};
    const void *update[] = {v.record,     &v.issued_at,        expires,       v.subject_key,
                            cl->rat_hash, cl->upstream_secret, cl->client_id, expect,
                            &c->lock_key, &c->lock_key};
    const void **args = is_new ? insert : update;
    if (c->lock_state == DCR_SQL_LOCK_HELD) {
        rv = dcr_sql_select(c, is_new ? DCR_SQL_INSERT_HANDOVER : DCR_SQL_UPDATE_HANDOVER, p, args,
                            0, dcr_sql_count_row, &nrows, err);
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
    return write_client(s, cl, 1, NULL, APR_EEXIST, p, err);
}

static apr_status_t sql_update(dcr_store *s, const dcr_client *cl, const char *expect,
                               apr_pool_t *p, dcr_error *err)
{
    return write_client(s, cl, 0, expect, APR_NOTFOUND, p, err);
}

static apr_status_t sql_remove(dcr_store *s, const char *client_id, apr_pool_t *p, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    int nrows = 0;
    apr_status_t rv;
    const void *args[] = {client_id};

    if ((rv = dcr_sql_settle(c, p, err)) || (rv = write1(c, DCR_SQL_DELETE, p, &nrows, args, err)))
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
    if ((rv = dcr_sql_settle(c, p, err)) || (rv = write1(c, DCR_SQL_EXPIRE, p, &nrows, args, err)))
        return rv;
    *removed = nrows;
    /* then single-use statements past their expiry, in the same batches */
    if ((rv = write1(c, DCR_SQL_FORGET, p, &nrows, args, err)))
        return rv;
    *removed += nrows;
    return APR_SUCCESS;
}

static apr_status_t sql_remember(dcr_store *s, const char *hash, long long expires_at,
                                 long long now, apr_pool_t *p, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    int nrows = 0;
    apr_status_t rv;
    const void *args[] = {hash, &expires_at, &now};

    if ((rv = dcr_sql_settle(c, p, err)) ||
        (rv = write1(c, DCR_SQL_REMEMBER, p, &nrows, args, err)))
        return rv;
    return nrows == 1 ? APR_SUCCESS : APR_EEXIST;
}

/* ---- reads --------------------------------------------------------------------------------- */

/* The record and the upstream secrets beside it. */
static void keep_first(void *baton, const char **cols)
{
    const char **out = baton;
    if (!out[0]) {
        out[0] = cols[0] ? cols[0] : "";
        out[1] = cols[1];
    }
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
    const char *row[2] = {NULL, NULL};
    const void *args[] = {client_id, &now};
    apr_status_t rv;

    *out = NULL;
    if ((rv = dcr_sql_settle(c, p, err)) ||
        (rv = dcr_sql_select(c, DCR_SQL_GET, p, args, 2, keep_first, row, err)))
        return rv;
    if (!row[0])
        return APR_NOTFOUND;
    if ((*out = parse_record(client_id, row[0], p, err)))
        (*out)->upstream_secret = row[1];
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
        return dcr_sql_settle(c, p, err);
    if (c->lock_state == DCR_SQL_LOCK_ASKED)
        rv = dcr_sql_take_lock(c, subject_key, now, p, push_pair, rows, err);
    else
        rv = dcr_sql_select(c, DCR_SQL_FIND, p, args, 2, push_pair, rows, err);
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

/* (client_id, record, upstream_secret) rows. */
static void push_triple(void *baton, const char **cols)
{
    apr_array_header_t *rows = baton;
    if (cols[0] && cols[1] && cols[2]) {
        APR_ARRAY_PUSH(rows, const char *) = cols[0];
        APR_ARRAY_PUSH(rows, const char *) = cols[1];
        APR_ARRAY_PUSH(rows, const char *) = cols[2];
    }
}

static apr_status_t sql_expired_upstream(dcr_store *s, long long now, int batch, apr_pool_t *p,
                                         apr_array_header_t **clients, dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    apr_array_header_t *rows = apr_array_make(p, 6, sizeof(const char *));
    const void *args[] = {&now, &batch};
    apr_status_t rv;

    *clients = apr_array_make(p, 2, sizeof(dcr_client *));
    if ((rv = dcr_sql_settle(c, p, err)) ||
        (rv = dcr_sql_select(c, DCR_SQL_EXPIRED_UPSTREAM, p, args, 3, push_triple, rows, err)))
        return rv;
    for (int i = 0; i + 2 < rows->nelts; i += 3) {
        dcr_client *cl = parse_record(APR_ARRAY_IDX(rows, i, const char *),
                                      APR_ARRAY_IDX(rows, i + 1, const char *), p, err);
        if (!cl)
            return APR_EGENERAL;
        cl->upstream_secret = APR_ARRAY_IDX(rows, i + 2, const char *);
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
    if (!v.subject_key || !cl->endpoint || !cl->statement_hash[0])
        return APR_NOTFOUND; /* nothing it may rewrite (dcr_client_may_rewrite) */
    software_id = dcr_json_string(cl->metadata, "software_id");
    const char *issued =
        apr_psprintf(p, "\"client_id_issued_at\":%" APR_INT64_T_FMT, (apr_int64_t)cl->issued_at);
    const void *expires = v.expires_at ? &v.expires_at : NULL;
    const void *args[] = {v.record,
                          cl->client_id,
                          issued,
                          expires,
                          cl->rat_hash,
                          v.subject_key,
                          &now,
                          software_id,
                          cl->endpoint,
                          cl->statement_hash,
                          &cl->statement_iat,
                          &cl->statement_iat};
    if ((rv = dcr_sql_writers_lock(c, err)) != APR_SUCCESS) /* SQLite: a write like any other */
        return rv;
    rv = dcr_sql_select(c, DCR_SQL_REPLACE_RETURNING, p, args, 2, keep_id_and_issued_at, row, err);
    dcr_sql_writers_unlock(c);
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
    if ((rv = dcr_sql_settle(s->ctx, p, err)))
        return rv;
    return dcr_sql_select(s->ctx, DCR_SQL_COUNT, p, args, 1, parse_count, n, err);
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
    .expired_upstream = sql_expired_upstream,
    .count = sql_count,
    .lock_subject = dcr_sql_lock_subject,
    .unlock_subject = dcr_sql_unlock_subject,
    .remember_statement = sql_remember,
};
