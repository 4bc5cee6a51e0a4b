/* The registration store over one apr_dbd connection (SQLite or PostgreSQL): the schema, the
 * prepared statements and dcr_store_ops on top of them. store_sqlite.c opens a SQLite file for
 * it; the mod_dbd glue hands it the vhost's pooled connection. The table is a public interface:
 * docs/storage.md, sql/<driver>.sql (kept equal to dcr_sql_schema by check_store_sql). */
#ifndef DCR_STORE_SQL_H
#define DCR_STORE_SQL_H

#include "error.h"
#include "store.h"

#include <apr_dbd.h>
#include <apr_global_mutex.h>

#define DCR_SQL_SCHEMA_VERSION 3 /* 2: dcr_used_statements; 3: upstream_secret */

/* The statements every connection needs; dcr_sql_label names them for ap_dbd_prepare. */
typedef enum dcr_sql_stmt {
    DCR_SQL_INSERT,
    DCR_SQL_GET,
    DCR_SQL_UPDATE,
    DCR_SQL_DELETE,
    DCR_SQL_FIND,
    DCR_SQL_EXPIRE,
    DCR_SQL_COUNT,
    DCR_SQL_REMEMBER, /* single-use statements (dcr_used_statements) */
    DCR_SQL_FORGET,
    DCR_SQL_EXPIRED_UPSTREAM, /* DCRUpstream clients for dcr_upstream_sweep */
    /* PostgreSQL only: the subject lock rides on the statements around it (store_sql.c) */
    DCR_SQL_LOCK_FIND,
    DCR_SQL_INSERT_HANDOVER,
    DCR_SQL_UPDATE_HANDOVER,
    DCR_SQL_REPLACE_RETURNING,
    DCR_SQL_NSTMT
} dcr_sql_stmt;

/* A PostgreSQL subject lock: asked for (not yet taken: the next statement takes it), held by
 * the session, or none (released, or handed to a write's transaction, which ends it at commit). */
typedef enum dcr_sql_lock_state {
    DCR_SQL_UNLOCKED,
    DCR_SQL_LOCK_ASKED,
    DCR_SQL_LOCK_HELD
} dcr_sql_lock_state;

typedef struct dcr_sql_conn {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_global_mutex_t *writers;   /* serialises writers across processes (SQLite); NULL = none */
    int writers_held;              /* a subject lock holds writers: writes must not take it again */
    dcr_sql_lock_state lock_state; /* PostgreSQL */
    int lock_sent;                 /* a statement that takes the asked lock was sent */
    long long lock_key;
    apr_dbd_prepared_t *stmt[DCR_SQL_NSTMT];
} dcr_sql_conn;

/* The schema statements for an apr_dbd driver name ("sqlite3", "pgsql"), NULL-terminated;
 * NULL for a driver we have no schema for. Every statement is idempotent (IF NOT EXISTS). */
const char *const *dcr_sql_schema(const char *driver_name);

/* Runs the (idempotent) schema statements, which also migrate an older schema, and checks
 * the schema version; err says what failed. */
apr_status_t dcr_sql_create_schema(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                                   dcr_error *err);

/* Only checks that the database holds this module's schema version (DCRDBDCreateSchema Off):
 * APR_NOTFOUND when it holds no schema at all (yet), another error when its version is not
 * ours; err names what was found and what to do. */
apr_status_t dcr_sql_check_schema(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                                  dcr_error *err);

/* Statement text in apr_dbd's portable placeholder syntax (%s, %lld), and a unique label.
 * The text is NULL for a statement the driver does not use (nothing to prepare). */
const char *dcr_sql_text(const apr_dbd_driver_t *driver, dcr_sql_stmt which);
const char *dcr_sql_label(dcr_sql_stmt which);

/* Settings of a new session, before its first statement: PostgreSQL's lock_timeout (what
 * bounds the wait for a subject lock), SQLite's busy timeout. */
apr_status_t dcr_sql_session_setup(const apr_dbd_driver_t *driver, apr_dbd_t *handle, apr_pool_t *p,
                                   dcr_error *err);

/* Prepares every statement on c->handle (labelled, so they live as long as the connection;
 * allocations in p, which must live as long too). */
apr_status_t dcr_sql_prepare_all(dcr_sql_conn *c, apr_pool_t *p, dcr_error *err);

/* A store on c; c must stay valid and unshared (one thread) while the store is used. */
dcr_store *dcr_sql_store(apr_pool_t *p, dcr_sql_conn *c);

/* How long a subject lock waits on PostgreSQL before the request gets a 503 (the session's
 * lock_timeout), and how long a SQLite connection of mod_dbd waits for the file. */
#define DCR_SQL_LOCK_TIMEOUT_MS 10000
#define DCR_SQL_BUSY_TIMEOUT_MS 5000

/* The lock key schema creation takes on PostgreSQL (nodes starting together take turns). */
#define DCR_SQL_KEY_SCHEMA "dcr:schema"

/* The PostgreSQL advisory lock key of a subject key (64-bit FNV-1a, as a signed bigint). */
long long dcr_sql_lock_key(const char *key);

/* True while a subject lock lives in c's database session: the session must not change. */
int dcr_sql_lock_held(const dcr_sql_conn *c);

extern const dcr_store_ops dcr_sql_store_ops;

#endif
