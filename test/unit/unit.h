/* Shared scaffolding for the Check unit tests: APR start-up, one pool per test, and main(). */
#ifndef DCR_UNIT_H
#define DCR_UNIT_H

#include <apr_general.h>
#include <apr_pools.h>
#include <check.h>
#include <stdlib.h>

static apr_pool_t *pool; /* fresh for every test (checked fixture) */

static void unit_setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void unit_teardown(void)
{
    apr_pool_destroy(pool);
    pool = NULL;
}

/* A TCase with the pool fixture. */
static inline TCase *unit_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, unit_setup, unit_teardown);
    return tc;
}

/* Runs the suite and ends APR; the result is main()'s exit status. fork is CK_FORK_GETENV
 * (Check's default) or CK_NOFORK (tests that own a child process). For a main() with its own
 * process-wide set-up after apr_initialize. */
static inline int unit_run(Suite *s, enum fork_status fork)
{
    SRunner *sr = srunner_create(s);
    int failed;
    srunner_set_fork_status(sr, fork);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#define DCR_UNIT_MAIN(make_suite)                                                                  \
    int main(void)                                                                                 \
    {                                                                                              \
        apr_initialize();                                                                          \
        return unit_run(make_suite(), CK_FORK_GETENV);                                             \
    }

#endif
