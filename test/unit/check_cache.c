/* The cache interface over the in-process backend: expiry by the caller's clock, hashed keys,
 * size limit, and the bounded entry count. */
#include "cache.h"
#include "unit.h"

#include <string.h>

START_TEST(set_get_expire)
{
    dcr_cache *c = dcr_cache_memory_create(pool, 8);
    char *v;
    size_t n;
    ck_assert(!dcr_cache_get(c, pool, "k", 100, &v, &n));
    ck_assert(dcr_cache_set(c, pool, "k", "value", 5, 200));
    ck_assert(dcr_cache_get(c, pool, "k", 100, &v, &n));
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(v, "value");
    ck_assert(dcr_cache_get(c, pool, "k", 199, &v, &n));
    ck_assert(!dcr_cache_get(c, pool, "k", 200, &v, &n));
    ck_assert(!dcr_cache_get(c, pool, "K", 100, &v, &n));
    ck_assert(dcr_cache_set(c, pool, "k", "newer", 5, 300));
    ck_assert(dcr_cache_get(c, pool, "k", 250, &v, &n));
    ck_assert_str_eq(v, "newer");
    ck_assert(!dcr_cache_get(NULL, pool, "k", 100, &v, &n));
    ck_assert(!dcr_cache_set(NULL, pool, "k", "v", 1, 300));
}
END_TEST

START_TEST(limits)
{
    dcr_cache *c = dcr_cache_memory_create(pool, 2);
    char *v, *big = apr_pcalloc(pool, c->max_value);
    size_t n;
    ck_assert(!dcr_cache_set(c, pool, "big", big, c->max_value, 300));
    ck_assert(dcr_cache_set(c, pool, "a", "1", 1, 300));
    ck_assert(dcr_cache_set(c, pool, "b", "2", 1, 300));
    ck_assert(dcr_cache_set(c, pool, "c", "3", 1, 300)); /* full: the old entries go */
    ck_assert(dcr_cache_get(c, pool, "c", 100, &v, &n));
    ck_assert(!dcr_cache_get(c, pool, "a", 100, &v, &n));
    /* binary values survive */
    ck_assert(dcr_cache_set(c, pool, "bin", "\0\1\2", 3, 300));
    ck_assert(dcr_cache_get(c, pool, "bin", 100, &v, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(memcmp(v, "\0\1\2", 3), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = unit_tcase("memory");
    tcase_add_test(tc, set_get_expire);
    tcase_add_test(tc, limits);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
