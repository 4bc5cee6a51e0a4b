/* Storage interface for registrations. A backend fills dcr_store_ops; the glue hands the
 * registrar a dcr_store per request (for mod_dbd it wraps the request's connection).
 *
 * Every op returns APR_SUCCESS, APR_NOTFOUND (get/update/remove of an absent or expired
 * client), APR_EEXIST (put of a taken client_id), or another status with err filled with
 * temporarily_unavailable (store down) or server_error (record too large, corrupt). */
#ifndef DCR_STORE_H
#define DCR_STORE_H

#include "client.h"
#include "error.h"

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>

enum {
    DCR_STORE_CAN_ITERATE = 1,   /* expire sweeps, counts, exact ceilings */
    DCR_STORE_TRANSACTIONAL = 2, /* atomic writes; race-free lifecycle is lock_subject's */
};

typedef struct dcr_store dcr_store;

typedef struct dcr_store_ops {
    const char *name;
    unsigned caps;
    /* put, get and update keep c->upstream_secret beside the record (SQL stores; update keeps
     * the stored one when c's is NULL); the socache stores never hold upstream clients. */
    apr_status_t (*put)(dcr_store *s, const dcr_client *c, apr_pool_t *p, dcr_error *err);
    /* Records whose expires_at has passed (at now) are APR_NOTFOUND. */
    apr_status_t (*get)(dcr_store *s, const char *client_id, long long now, apr_pool_t *p,
                        dcr_client **out, dcr_error *err);
    /* A compare-and-set when expect_rat_hash is not NULL: only while the stored client still
     * has that registration access token hash (APR_NOTFOUND otherwise, as when it is gone), so
     * a write racing a rotation or a re-registration cannot bring a retired token back. */
    apr_status_t (*update)(dcr_store *s, const dcr_client *c, const char *expect_rat_hash,
                           apr_pool_t *p, dcr_error *err);
    apr_status_t (*remove)(dcr_store *s, const char *client_id, apr_pool_t *p, dcr_error *err);
    /* Live clients (dcr_client *) of one subject key (dcr_client_subject_key), oldest first,
     * records included: admission reads them in one op, not one get per client. */
    apr_status_t (*find_clients)(dcr_store *s, const char *subject_key, long long now,
                                 apr_pool_t *p, apr_array_header_t **clients, dcr_error *err);
    /* DCRReregister replace in one step: rewrites the oldest live registration of c's subject
     * key whose software_id is c's (both absent counts as the same) and that c may rewrite
     * (dcr_client_may_rewrite: bound to c's endpoint, an older statement than c's) with c,
     * keeping that registration's client_id and client_id_issued_at, which come back in
     * *client_id and *issued_at. APR_NOTFOUND when there is none; NULL or APR_ENOTIMPL where the
     * store cannot (lifecycle then finds and updates). */
    apr_status_t (*replace_returning)(dcr_store *s, const dcr_client *c, long long now,
                                      apr_pool_t *p, const char **client_id, long long *issued_at,
                                      dcr_error *err);
    /* Deletes at most batch expired records; NULL where the store cannot iterate. */
    apr_status_t (*expire)(dcr_store *s, long long now, int batch, int *removed, apr_pool_t *p,
                           dcr_error *err);
    /* Upstream clients (DCRUpstream) whose record expired at now, at most batch, oldest first,
     * with their upstream secrets: the sweep deletes each upstream before the record (expire
     * leaves them alone). NULL where the store cannot iterate. */
    apr_status_t (*expired_upstream)(dcr_store *s, long long now, int batch, apr_pool_t *p,
                                     apr_array_header_t **clients, dcr_error *err);
    /* Live registrations in all; NULL where the store cannot count. */
    apr_status_t (*count)(dcr_store *s, long long now, long long *n, apr_pool_t *p, dcr_error *err);
    /* Serialises everyone who locks the same key (a subject key, or DCR_STORE_KEY_ALL) on
     * every process and node, from admission to the write: what makes replace, reuse and the
     * ceilings exact. Ops on s stay usable while held (no self-deadlock); *token goes to
     * unlock_subject, which must be called on every path (a cleanup on p also releases it).
     * APR_ENOTIMPL (or NULL ops) where the store cannot: lifecycle is approximate there;
     * APR_TIMEUP (err: temporarily_unavailable) when another holder kept it too long. */
    apr_status_t (*lock_subject)(dcr_store *s, const char *key, apr_pool_t *p, void **token,
                                 dcr_error *err);
    void (*unlock_subject)(dcr_store *s, void *token);
    /* Single-use statements (DCRVCBinding aud): remembers a statement's hash (hex SHA-256)
     * until expires_at. APR_SUCCESS the first time (or once an earlier memory of it expired
     * at now), APR_EEXIST while it is remembered; shared by every process and node that
     * shares the store. NULL where the store cannot remember (the statement is refused). */
    apr_status_t (*remember_statement)(dcr_store *s, const char *sha256_hex, long long expires_at,
                                       long long now, apr_pool_t *p, dcr_error *err);
} dcr_store_ops;

/* The lock key of the global ceiling (DCRMaxRegistrations): every registration takes it. */
#define DCR_STORE_KEY_ALL "dcr:all"

struct dcr_store {
    const dcr_store_ops *ops;
    void *ctx;
};

#endif
