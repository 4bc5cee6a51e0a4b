/* dcr_global_mutex_lock under a false deadlock: the fcntl mutex's holder has a second thread
 * waiting for a lock that the process asking for the mutex holds. The kernel refuses that
 * request with EDEADLK although the holder is about to let go; the helper waits instead. */
#include "unit.h"

#include "global_mutex.h"

#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define HOLD_MS 600

static int fcntl_lock(int fd, short type)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    return fcntl(fd, F_SETLKW, &fl);
}

/* The holder's second thread: waits for the other process's lock, says when it had it, and
 * then never ends (a thread that exits trips a false report in GCC 12's ASan runtime,
 * sigaltstack at thread exit; the test's process ends it). */
typedef struct waiter_args {
    int fd, done;
} waiter_args;

static void *APR_THREAD_FUNC wait_for_other(apr_thread_t *t, void *data)
{
    waiter_args a = *(waiter_args *)data;
    (void)t;
    fcntl_lock(a.fd, F_WRLCK);
    fcntl_lock(a.fd, F_UNLCK);
    if (write(a.done, "d", 1) != 1)
        abort();
    for (;;)
        pause();
    return NULL;
}

START_TEST(edeadlk_is_waited_out)
{
    const char *dir = NULL;
    apr_temp_dir_get(&dir, pool);
    const char *mfile = apr_psprintf(pool, "%s/dcr-gm-%ld.lock", dir, (long)getpid());
    const char *ofile = apr_psprintf(pool, "%s/dcr-gm-%ld.other", dir, (long)getpid());
    int other = open(ofile, O_RDWR | O_CREAT, 0600), go[2], ready[2], done[2];
    apr_global_mutex_t *m = NULL;
    apr_proc_t kid;
    apr_thread_t *waiter;
    char c;

    ck_assert_int_ge(other, 0);
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(done), 0);
    ck_assert_int_eq(apr_global_mutex_create(&m, mfile, APR_LOCK_FCNTL, pool), APR_SUCCESS);
    /* forked before the mutex is taken: a child must not inherit its locked thread mutex */
    apr_status_t rv = apr_proc_fork(&kid, pool);
    if (rv == APR_INCHILD) {
        int code;
        if (fcntl_lock(other, F_WRLCK) != 0) /* the lock the holder's thread will wait for */
            _exit(10);
        if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(11);
        apr_global_mutex_child_init(&m, mfile, pool);
        /* the false deadlock is real: the plain call is refused at once ... */
        rv = apr_global_mutex_lock(m);
        if (rv != APR_FROM_OS_ERROR(EDEADLK))
            _exit(rv == APR_SUCCESS ? 12 : 13);
        /* ... and the helper gets the mutex once the holder lets go */
        apr_time_t start = apr_time_now();
        rv = dcr_global_mutex_lock(m);
        code = rv != APR_SUCCESS                                          ? 14
               : apr_time_now() - start < apr_time_from_msec(HOLD_MS / 3) ? 15
                                                                          : 0;
        if (rv == APR_SUCCESS)
            apr_global_mutex_unlock(m);
        _exit(code);
    }
    ck_assert_int_eq(rv, APR_INPARENT);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(apr_global_mutex_lock(m), APR_SUCCESS); /* this process holds the mutex */
    waiter_args wa = {other, done[1]};
    ck_assert_int_eq(apr_thread_create(&waiter, NULL, wait_for_other, &wa, pool), APR_SUCCESS);
    apr_sleep(apr_time_from_msec(200)); /* the thread is blocked on the child's lock */
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    apr_sleep(apr_time_from_msec(HOLD_MS));
    apr_global_mutex_unlock(m);

    int code = -1;
    apr_exit_why_e why;
    apr_proc_wait(&kid, &code, &why, APR_WAIT);
    ck_assert_int_eq(read(done[0], &c, 1), 1); /* the thread had the other lock, once free */
    close(other);
    unlink(ofile);
    apr_global_mutex_destroy(m);
    ck_assert_msg(why == APR_PROC_EXIT && code == 0, "child: why %d code %d", why, code);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("global_mutex");
    TCase *tc = unit_tcase("fcntl");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, edeadlk_is_waited_out);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
