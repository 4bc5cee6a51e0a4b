/* Subject locks of the SQL stores (store.h lock_subject). SQLite: the writer mutex, held from
 * admission to the write. PostgreSQL: a session advisory lock that costs no round trip of its
 * own: lock_subject only asks for it, the admission's read (dcr_lock_find in sql/pgsql.sql)
 * takes it and then reads with a snapshot taken after it, and the write hands it over to its
 * own transaction (the *_HANDOVER statements), which releases it at commit, after the row is
 * visible to the next holder. A refusal unlocks it explicitly. */
#include "store_sql_int.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <string.h>

int dcr_sql_lock_held(const dcr_sql_conn *c)
{
    return c->lock_state == DCR_SQL_LOCK_HELD;
}

/* Takes the asked-for lock; with a subject key, the subject's live rows come back with it. */
apr_status_t dcr_sql_take_lock(dcr_sql_conn *c, const char *subject_key, long long now,
                               apr_pool_t *p, dcr_sql_row_fn *fn, void *baton, dcr_error *err)
{
    int ignored = 0;
    const void *args[] = {&c->lock_key, subject_key, &now};
    apr_time_t start = apr_time_now();
    apr_status_t rv;

    c->lock_sent = 1;
    rv = dcr_sql_select(c, DCR_SQL_LOCK_FIND, p, args, 2, fn ? fn : dcr_sql_count_row,
                        fn ? baton : &ignored, err);
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
apr_status_t dcr_sql_settle(dcr_sql_conn *c, apr_pool_t *p, dcr_error *err)
{
    if (c->lock_state != DCR_SQL_LOCK_ASKED)
        return APR_SUCCESS;
    return dcr_sql_take_lock(c, NULL, 0, p, NULL, NULL, err);
}

long long dcr_sql_lock_key(const char *key)
{
    unsigned long long h = 14695981039346656037ULL;
    for (const unsigned char *k = (const unsigned char *)key; *k; k++)
        h = (h ^ *k) * 1099511628211ULL;
    return (long long)h;
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
        dcr_sql_select_text(c->driver, c->handle, l->p,
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
apr_status_t dcr_sql_lock_subject(dcr_store *s, const char *key, apr_pool_t *p, void **token,
                                  dcr_error *err)
{
    dcr_sql_conn *c = s->ctx;
    subject_lock *l;
    apr_status_t rv;

    *token = NULL;
    if (dcr_sql_is_pg(c->driver)) {
        if (c->lock_state != DCR_SQL_UNLOCKED) {
            dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error",
                     "store: a second subject lock on one connection");
            return APR_EBUSY;
        }
        c->lock_key = dcr_sql_lock_key(key);
        c->lock_state = DCR_SQL_LOCK_ASKED;
        c->lock_sent = 0;
    } else if (c->writers && !c->writers_held) {
        if ((rv = dcr_sql_writers_lock(c, err)) != APR_SUCCESS)
            return rv;
        c->writers_held = 1;
    } else {
        return APR_ENOTIMPL; /* SQLite shared without our mutex (DCRStore dbd): approximate */
    }
    l = apr_pcalloc(p, sizeof(*l));
    l->c = c;
    l->p = p;
    l->pg = dcr_sql_is_pg(c->driver);
    apr_pool_cleanup_register(p, l, release, apr_pool_cleanup_null);
    *token = l;
    return APR_SUCCESS;
}

void dcr_sql_unlock_subject(dcr_store *s, void *token)
{
    subject_lock *l = token;
    (void)s;
    if (l)
        apr_pool_cleanup_run(l->p, l, release);
}
