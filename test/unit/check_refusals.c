/* DCRRefusalLimit counting over a real (in-memory) dcr_cache. */
#include "refusals.h"
#include "unit.h"

#define T0 1790000080LL /* 40 s into a 60 s window */

START_TEST(limit_reached_after_max_refusals)
{
    dcr_cache *c = dcr_cache_memory_create(pool, 64);
    long long wait = -1;
    for (int i = 0; i < 3; i++) {
        ck_assert(!dcr_refusals_exceeded(c, pool, "192.0.2.1", T0, 3, 60, &wait));
        dcr_refusals_count(c, pool, "192.0.2.1", T0, 60);
    }
    ck_assert(dcr_refusals_exceeded(c, pool, "192.0.2.1", T0 + 5, 3, 60, &wait));
    ck_assert_int_eq(wait, 15); /* until the window ends */
}
END_TEST

START_TEST(addresses_are_counted_apart)
{
    dcr_cache *c = dcr_cache_memory_create(pool, 64);
    long long wait;
    dcr_refusals_count(c, pool, "192.0.2.1", T0, 60);
    dcr_refusals_count(c, pool, "192.0.2.1", T0, 60);
    ck_assert(dcr_refusals_exceeded(c, pool, "192.0.2.1", T0, 2, 60, &wait));
    ck_assert(!dcr_refusals_exceeded(c, pool, "192.0.2.2", T0, 2, 60, &wait));
    ck_assert(!dcr_refusals_exceeded(c, pool, "2001:db8::1", T0, 2, 60, &wait));
}
END_TEST

START_TEST(next_window_starts_afresh)
{
    dcr_cache *c = dcr_cache_memory_create(pool, 64);
    long long wait;
    dcr_refusals_count(c, pool, "192.0.2.1", T0, 60);
    ck_assert(dcr_refusals_exceeded(c, pool, "192.0.2.1", T0, 1, 60, &wait));
    ck_assert(!dcr_refusals_exceeded(c, pool, "192.0.2.1", T0 + 20, 1, 60, &wait));
}
END_TEST

static Suite *refusals_suite(void)
{
    Suite *s = suite_create("refusals");
    TCase *tc = unit_tcase("refusals");
    tcase_add_test(tc, limit_reached_after_max_refusals);
    tcase_add_test(tc, addresses_are_counted_apart);
    tcase_add_test(tc, next_window_starts_afresh);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(refusals_suite)
