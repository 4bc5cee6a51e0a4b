/* src/policy.c: directive defaults and the list helpers. */
#include "policy.h"
#include "unit.h"

#include <string.h>

static const char *item(const apr_array_header_t *a, int i)
{
    return APR_ARRAY_IDX(a, i, const char *);
}

START_TEST(defaults_match_design)
{
    dcr_policy p;
    memset(&p, 0xa5, sizeof(p)); /* defaults must not depend on what was there */
    dcr_policy_defaults(pool, &p);
    ck_assert_int_eq(p.grant_types->nelts, 3);
    ck_assert_str_eq(item(p.grant_types, 0), "authorization_code");
    ck_assert_str_eq(item(p.grant_types, 1), "refresh_token");
    ck_assert_str_eq(item(p.grant_types, 2), "client_credentials");
    ck_assert_int_eq(p.response_types->nelts, 1);
    ck_assert_str_eq(item(p.response_types, 0), "code");
    ck_assert_ptr_nonnull(p.redirect_schemes);
    ck_assert_int_eq(p.redirect_schemes->nelts, 0);
    ck_assert(p.require_statement);
    ck_assert(p.clock_skew == 60);
    ck_assert(p.max_statement_lifetime == 3600);
    ck_assert_str_eq(p.spiffe_auth_method, "spiffe_jwt");
    ck_assert_ptr_null(p.audiences);
    ck_assert_ptr_null(p.spiffe);
    ck_assert_ptr_null(p.vc);
    ck_assert(p.retry_after == 60);
    ck_assert_int_eq(p.reregister, DCR_REREGISTER_REPLACE);
    ck_assert(!dcr_str_in_list(p.grant_types, "implicit"));
    ck_assert(!dcr_str_in_list(p.response_types, "token"));
}
END_TEST

START_TEST(anchors)
{
    dcr_policy p;
    int dummy;
    dcr_policy_defaults(pool, &p);
    ck_assert(!dcr_policy_has_anchors(&p));
    p.spiffe = (const struct dcr_spiffe_trust *)&dummy;
    ck_assert(dcr_policy_has_anchors(&p));
    p.spiffe = NULL;
    p.vc = (const struct dcr_vc_trust *)&dummy;
    ck_assert(dcr_policy_has_anchors(&p));
}
END_TEST

START_TEST(str_in_list)
{
    apr_array_header_t *l = dcr_words(pool, "code token");
    ck_assert(dcr_str_in_list(l, "code"));
    ck_assert(dcr_str_in_list(l, "token"));
    ck_assert(!dcr_str_in_list(l, "Code")); /* values are case-sensitive (RFC 7591) */
    ck_assert(!dcr_str_in_list(l, "cod"));
    ck_assert(!dcr_str_in_list(l, "code token"));
    ck_assert(!dcr_str_in_list(l, ""));
    ck_assert(!dcr_str_in_list(l, NULL));
    ck_assert(!dcr_str_in_list(NULL, "code"));
}
END_TEST

START_TEST(words)
{
    apr_array_header_t *w = dcr_words(pool, "  authorization_code\trefresh_token   x ");
    const char *original = "a b";
    ck_assert_int_eq(w->nelts, 3);
    ck_assert_str_eq(item(w, 0), "authorization_code");
    ck_assert_str_eq(item(w, 1), "refresh_token");
    ck_assert_str_eq(item(w, 2), "x");
    ck_assert_int_eq(dcr_words(pool, "")->nelts, 0);
    ck_assert_int_eq(dcr_words(pool, " \t ")->nelts, 0);
    ck_assert_int_eq(dcr_words(pool, NULL)->nelts, 0);
    /* the input is copied, not cut up */
    ck_assert_int_eq(dcr_words(pool, original)->nelts, 2);
    ck_assert_str_eq(original, "a b");
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = unit_tcase("policy");
    tcase_add_test(tc, defaults_match_design);
    tcase_add_test(tc, anchors);
    tcase_add_test(tc, str_in_list);
    tcase_add_test(tc, words);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(policy_suite)
