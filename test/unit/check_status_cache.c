/* How long a status list is cached (its own ttl is an upper bound DCRVCStatusCacheTime's
 * minimum never stretches; W3C milliseconds rounded up) and the failure mark's key, which
 * differs for every fetch configuration. */
#include "fetch.h"
#include "policy.h"
#include "status_cache.h"
#include "unit.h"

#include <apr_strings.h>
#include <limits.h>
#include <string.h>

#define NOW 1795000000LL

START_TEST(own_ttl_is_an_upper_bound)
{
    /* issue 11: a 2 s ttl was stretched to the 60 s minimum */
    ck_assert_int_eq(dcr_status_cache_life(2, -1, 60, 3600, NOW, 0), 2);
    ck_assert_int_eq(dcr_status_cache_life(1, 600, 60, 3600, NOW, 0), 1); /* beats max-age */
    ck_assert_int_eq(dcr_status_cache_life(5, 0, 60, 3600, NOW, 0), 5);   /* and no-store */
    ck_assert_int_eq(dcr_status_cache_life(7200, -1, 60, 3600, NOW, 0), 3600);
    ck_assert_int_eq(dcr_status_cache_life(600, -1, 60, 3600, NOW, NOW + 30), 30);
}
END_TEST

START_TEST(without_ttl_the_bounds_apply)
{
    ck_assert_int_eq(dcr_status_cache_life(0, -1, 60, 3600, NOW, 0), 300);
    ck_assert_int_eq(dcr_status_cache_life(0, -1, 600, 3600, NOW, 0), 600);
    ck_assert_int_eq(dcr_status_cache_life(0, -1, 10, 100, NOW, 0), 100);
    ck_assert_int_eq(dcr_status_cache_life(0, 5, 60, 3600, NOW, 0), 60);
    ck_assert_int_eq(dcr_status_cache_life(0, 99999, 60, 3600, NOW, 0), 3600);
    ck_assert_int_eq(dcr_status_cache_life(0, 0, 60, 3600, NOW, 0), 0); /* no-store */
    ck_assert_int_eq(dcr_status_cache_life(0, -1, 60, 3600, NOW, NOW + 7), 7);
    ck_assert_int_eq(dcr_status_cache_life(0, -1, 60, 3600, NOW, NOW - 7), 0); /* expired */
}
END_TEST

START_TEST(w3c_milliseconds_round_up)
{
    /* issue 11: a ttl under 1000 ms became 0, then the 300 s default */
    ck_assert_int_eq(dcr_status_w3c_ttl_seconds(1), 1);
    ck_assert_int_eq(dcr_status_w3c_ttl_seconds(500), 1);
    ck_assert_int_eq(dcr_status_w3c_ttl_seconds(1000), 1);
    ck_assert_int_eq(dcr_status_w3c_ttl_seconds(1001), 2);
    ck_assert_int_eq(dcr_status_w3c_ttl_seconds(300000), 300);
    ck_assert_int_eq(dcr_status_w3c_ttl_seconds(0), 0);
    ck_assert_int_eq(dcr_status_w3c_ttl_seconds(-1000), 0);
    ck_assert_int_eq(dcr_status_w3c_ttl_seconds(LLONG_MAX), LLONG_MAX / 1000 + 1);
}
END_TEST

START_TEST(failure_mark_per_fetch_configuration)
{
    const char *url = "https://issuer.example/status/1";
    dcr_fetch_conf a, b;
    const char *ka;
    dcr_fetch_defaults(&a);
    dcr_fetch_defaults(&b);
    ka = dcr_status_down_key(pool, &a, url);
    ck_assert_str_eq(ka, dcr_status_down_key(pool, &b, url)); /* same configuration */
    ck_assert_ptr_nonnull(strstr(ka, url));
    ck_assert_str_ne(ka, dcr_status_down_key(pool, &a, "https://issuer.example/status/2"));
    /* issue 11: vhost A without the CA file must not decide for vhost B with it */
    b.ca_file = "/etc/dcr/ca.pem";
    ck_assert_str_ne(ka, dcr_status_down_key(pool, &b, url));
    b.ca_file = "";
    ck_assert_str_ne(ka, dcr_status_down_key(pool, &b, url));
    /* the CA bundle read at startup: its bytes tell configurations apart */
    dcr_fetch_defaults(&a);
    dcr_fetch_defaults(&b);
    a.ca_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    a.ca_pem_len = strlen(a.ca_pem);
    b.ca_pem = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
    b.ca_pem_len = strlen(b.ca_pem);
    ck_assert_str_ne(dcr_status_down_key(pool, &a, url), dcr_status_down_key(pool, &b, url));
    ck_assert_str_ne(ka, dcr_status_down_key(pool, &a, url));
    b.ca_pem = apr_pstrdup(pool, a.ca_pem); /* same bytes elsewhere: the same configuration */
    ck_assert_str_eq(dcr_status_down_key(pool, &a, url), dcr_status_down_key(pool, &b, url));
    dcr_fetch_defaults(&a);
    dcr_fetch_defaults(&b);
    dcr_fetch_defaults(&b);
    b.allow = dcr_words(pool, "127.0.0.1:8443");
    ck_assert_str_ne(ka, dcr_status_down_key(pool, &b, url));
    a.allow = dcr_words(pool, "127.0.0.1 :8443");
    ck_assert_str_ne(dcr_status_down_key(pool, &a, url), dcr_status_down_key(pool, &b, url));
    dcr_fetch_defaults(&a);
    dcr_fetch_defaults(&b);
    b.timeout_ms = a.timeout_ms + 1000;
    ck_assert_str_ne(ka, dcr_status_down_key(pool, &b, url));
    dcr_fetch_defaults(&b);
    b.max_size = a.max_size * 2;
    ck_assert_str_ne(ka, dcr_status_down_key(pool, &b, url));
    dcr_fetch_defaults(&b);
    b.max_redirects = 0;
    ck_assert_str_ne(ka, dcr_status_down_key(pool, &b, url));
    /* no fetching at all is a configuration of its own */
    ck_assert_str_ne(ka, dcr_status_down_key(pool, NULL, url));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("status_cache");
    TCase *tc = unit_tcase("status_cache");
    tcase_add_test(tc, own_ttl_is_an_upper_bound);
    tcase_add_test(tc, without_ttl_the_bounds_apply);
    tcase_add_test(tc, w3c_milliseconds_round_up);
    tcase_add_test(tc, failure_mark_per_fetch_configuration);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
