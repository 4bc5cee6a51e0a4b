/* What the SQL store's files share (store_sql.c: the ops, store_sql_lock.c: subject locks,
 * store_sql_schema.c: schema and statements). Not part of any interface. */
#ifndef DCR_STORE_SQL_INT_H
#define DCR_STORE_SQL_INT_H

#include "store_sql.h"

/* The driver is apr_dbd's pgsql (else sqlite3). */
int dcr_sql_is_pg(const apr_dbd_driver_t *d);

/* err: temporarily_unavailable, with the driver's message for the log. */
apr_status_t dcr_sql_fail(const apr_dbd_driver_t *d, apr_dbd_t *h, int rv, dcr_error *err,
                          const char *what);

/* SQLite's cross-process writer mutex (nothing where there is none, or a subject lock holds
 * it already). */
apr_status_t dcr_sql_writers_lock(dcr_sql_conn *c, dcr_error *err);
void dcr_sql_writers_unlock(dcr_sql_conn *c);

/* One statement text that answers with rows (which apr_dbd_query counts as an error), the
 * rows drained. */
apr_status_t dcr_sql_select_text(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                                 const char *sql, dcr_error *err);

/* Runs a prepared select and hands each row's first ncols (at most 3) columns, copied into p,
 * to fn; drains every row (pgsql needs it). dcr_sql_count_row counts rows into an int. */
typedef void dcr_sql_row_fn(void *baton, const char **cols);
apr_status_t dcr_sql_select(dcr_sql_conn *c, dcr_sql_stmt which, apr_pool_t *p, const void **args,
                            int ncols, dcr_sql_row_fn *fn, void *baton, dcr_error *err);
void dcr_sql_count_row(void *baton, const char **cols);

/* PostgreSQL: takes the asked-for subject lock; with a subject key, the subject's live rows
 * (client_id, record) come back to fn with it. APR_TIMEUP when the wait ran out. */
apr_status_t dcr_sql_take_lock(dcr_sql_conn *c, const char *subject_key, long long now,
                               apr_pool_t *p, dcr_sql_row_fn *fn, void *baton, dcr_error *err);
/* Any op but admission's read, under an asked-for lock: takes it first. */
apr_status_t dcr_sql_settle(dcr_sql_conn *c, apr_pool_t *p, dcr_error *err);

apr_status_t dcr_sql_lock_subject(dcr_store *s, const char *key, apr_pool_t *p, void **token,
                                  dcr_error *err);
void dcr_sql_unlock_subject(dcr_store *s, void *token);

#endif
