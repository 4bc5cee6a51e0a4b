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

#define DCR_UNIT_MAIN(make_suite)                                                            \
    int main(void)                                                                           \
    {                                                                                        \
        int failed;                                                                          \
        SRunner *sr;                                                                         \
        apr_initialize();                                                                    \
        sr = srunner_create(make_suite());                                                   \
        srunner_run_all(sr, CK_NORMAL);                                                      \
        failed = srunner_ntests_failed(sr);                                                  \
        srunner_free(sr);                                                                    \
        apr_terminate();                                                                     \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                                         \
    }

#endif
