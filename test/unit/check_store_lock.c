/* Subject locks of the SQL store (store.h lock_subject): on SQLite the writer mutex, held from
 * admission to the write without the write taking it again, released by unlock or by the
 * pool; processes racing to admit one subject end with exactly one row. The PostgreSQL side
 * runs in test/integration/test_store_lifecycle.py against a real server. */
#include "unit.h"
#include "temp_db.h"

#include "store_contract.h"
#include "store_sqlite.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static apr_global_mutex_t *mutex_for(const char *file)
{
    apr_global_mutex_t *m = NULL;
    ck_assert_int_eq(
        apr_global_mutex_create(&m, apr_pstrcat(pool, file, ".lock", NULL), APR_LOCK_DEFAULT, pool),
        APR_SUCCESS);
    return m;
}

static dcr_store *open_store(apr_pool_t *p, const char *file, apr_global_mutex_t *m)
{
    dcr_sql_conn *c = NULL;
    dcr_error err = {0};
    ck_assert_msg(dcr_store_sqlite_open(p, file, NULL, m, &c, &err) == APR_SUCCESS, "%s",
                  err.detail);
    return dcr_sql_store(p, c);
}

START_TEST(lock_holds_the_writer_mutex_until_unlock)
{
    const char *file = temp_db(pool);
    apr_global_mutex_t *m = mutex_for(file);
    dcr_store *s = open_store(pool, file, m);
    dcr_error err = {0};
    void *tok = NULL;

    ck_assert_int_eq(s->ops->lock_subject(s, "spiffe spiffe://example.org/a", pool, &tok, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(tok);
    ck_assert(APR_STATUS_IS_EBUSY(apr_global_mutex_trylock(m)));
    /* writes inside the lock do not wait for it (no self-deadlock) */
    dcr_client *c = store_contract_client(pool, "l1", "spiffe://example.org/a", 5, 0, "n", "t");
    ck_assert_int_eq(s->ops->put(s, c, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(s->ops->update(s, c, NULL, pool, &err), APR_SUCCESS);
    ck_assert(APR_STATUS_IS_EBUSY(apr_global_mutex_trylock(m)));
    s->ops->unlock_subject(s, tok);
    ck_assert_int_eq(apr_global_mutex_trylock(m), APR_SUCCESS);
    apr_global_mutex_unlock(m);
    /* and writes outside it take the mutex again as before */
    ck_assert_int_eq(s->ops->remove(s, "l1", pool, &err), APR_SUCCESS);
}
END_TEST

START_TEST(pool_cleanup_releases_a_forgotten_lock)
{
    const char *file = temp_db(pool);
    apr_global_mutex_t *m = mutex_for(file);
    dcr_store *s = open_store(pool, file, m);
    dcr_error err = {0};
    apr_pool_t *req;
    void *tok = NULL;

    apr_pool_create(&req, pool);
    ck_assert_int_eq(s->ops->lock_subject(s, DCR_STORE_KEY_ALL, req, &tok, &err), APR_SUCCESS);
    ck_assert(APR_STATUS_IS_EBUSY(apr_global_mutex_trylock(m)));
    apr_pool_destroy(req);
    ck_assert_int_eq(apr_global_mutex_trylock(m), APR_SUCCESS);
    apr_global_mutex_unlock(m);
    /* the connection writes normally again */
    dcr_client *c = store_contract_client(pool, "l2", NULL, 5, 0, "n", "t");
    ck_assert_int_eq(s->ops->put(s, c, pool, &err), APR_SUCCESS);
}
END_TEST

START_TEST(without_a_mutex_the_lock_is_not_implemented)
{
    dcr_store *s = open_store(pool, temp_db(pool), NULL);
    dcr_error err = {0};
    void *tok = (void *)1;
    ck_assert_int_eq(s->ops->lock_subject(s, "k", pool, &tok, &err), APR_ENOTIMPL);
    ck_assert_ptr_null(tok);
}
END_TEST

START_TEST(lock_keys_are_stable_and_spread)
{
    long long a = dcr_sql_lock_key("spiffe spiffe://example.org/a");
    ck_assert(a == dcr_sql_lock_key("spiffe spiffe://example.org/a"));
    ck_assert(a != dcr_sql_lock_key("spiffe spiffe://example.org/b"));
    ck_assert(a != dcr_sql_lock_key(DCR_STORE_KEY_ALL));
    ck_assert(dcr_sql_lock_key("") != dcr_sql_lock_key("a"));
}
END_TEST

#define NPROC 4
#define NTRY 25

/* What the registrar does under DCRReregister replace: lock, look the subject up, insert only
 * when it has no registration yet, unlock. Several processes doing it at once leave exactly
 * one row, and every attempt after the first finds it. */
START_TEST(processes_admitting_one_subject_leave_one_row)
{
    const char *file = temp_db(pool);
    const char *lockf = apr_pstrcat(pool, file, ".lock", NULL);
    apr_global_mutex_t *m = mutex_for(file);
    apr_proc_t kids[NPROC];
    dcr_error err = {0};
    apr_array_header_t *ids = NULL;
    const char *key = "spiffe spiffe://example.org/race";

    open_store(pool, file, m); /* schema before the race */
    for (int k = 0; k < NPROC; k++) {
        apr_status_t rv = apr_proc_fork(&kids[k], pool);
        if (rv == APR_INCHILD) {
            apr_pool_t *cp;
            dcr_sql_conn *c = NULL;
            apr_pool_create(&cp, NULL);
            if (apr_global_mutex_child_init(&m, lockf, cp) != APR_SUCCESS ||
                dcr_store_sqlite_open(cp, file, NULL, m, &c, &err) != APR_SUCCESS)
                _exit(2);
            dcr_store *s = dcr_sql_store(cp, c);
            for (int i = 0; i < NTRY; i++) {
                void *tok = NULL;
                apr_array_header_t *found = NULL;
                if (s->ops->lock_subject(s, key, cp, &tok, &err) != APR_SUCCESS ||
                    s->ops->find_clients(s, key, 0, cp, &found, &err) != APR_SUCCESS)
                    _exit(3);
                if (found->nelts == 0) {
                    const char *id = apr_psprintf(cp, "p%d-%d", k, i);
                    dcr_client *cl =
                        store_contract_client(cp, id, "spiffe://example.org/race", i, 0, id, id);
                    if (s->ops->put(s, cl, cp, &err) != APR_SUCCESS)
                        _exit(4);
                }
                s->ops->unlock_subject(s, tok);
            }
            _exit(0);
        }
        ck_assert_int_eq(rv, APR_INPARENT);
    }
    for (int k = 0; k < NPROC; k++) {
        int code = -1;
        apr_exit_why_e why;
        apr_proc_wait(&kids[k], &code, &why, APR_WAIT);
        ck_assert_msg(why == APR_PROC_EXIT && code == 0, "process %d exited %d", k, code);
    }
    dcr_store *s = open_store(pool, file, m);
    ck_assert_int_eq(s->ops->find_clients(s, key, 0, pool, &ids, &err), APR_SUCCESS);
    ck_assert_int_eq(ids->nelts, 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_lock");
    TCase *tc = unit_tcase("sqlite");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lock_holds_the_writer_mutex_until_unlock);
    tcase_add_test(tc, pool_cleanup_releases_a_forgotten_lock);
    tcase_add_test(tc, without_a_mutex_the_lock_is_not_implemented);
    tcase_add_test(tc, lock_keys_are_stable_and_spread);
    tcase_add_test(tc, processes_admitting_one_subject_leave_one_row);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
