/* DCRVCBinding's words and the expiry a credential is remembered until; the binding rules on
 * signed credentials are in check_vc.c, single use through the registrar in
 * check_statement_memory.c. */
#include "unit.h"

#include "vc_binding.h"

#include <string.h>

START_TEST(binding_words)
{
    ck_assert_uint_eq(dcr_vc_binding_parse(pool, "aud cnf"), DCR_VC_BIND_AUD | DCR_VC_BIND_CNF);
    ck_assert_uint_eq(dcr_vc_binding_parse(pool, "cnf aud"), DCR_VC_BIND_AUD | DCR_VC_BIND_CNF);
    ck_assert_uint_eq(dcr_vc_binding_parse(pool, "aud"), DCR_VC_BIND_AUD);
    ck_assert_uint_eq(dcr_vc_binding_parse(pool, "cnf"), DCR_VC_BIND_CNF);
    ck_assert_uint_eq(dcr_vc_binding_parse(pool, "any"), DCR_VC_BIND_ANY);
    /* any only alone; unknown words and nothing at all are errors */
    ck_assert_uint_eq(dcr_vc_binding_parse(pool, "any aud"), 0);
    ck_assert_uint_eq(dcr_vc_binding_parse(pool, "aud jkt"), 0);
    ck_assert_uint_eq(dcr_vc_binding_parse(pool, "AUD"), 0);
    ck_assert_uint_eq(dcr_vc_binding_parse(pool, ""), 0);
}
END_TEST

static dcr_vc_claims map(json_t *payload)
{
    dcr_vc_claims c;
    const char *why = NULL;
    ck_assert_msg(dcr_vc_map(pool, "vc+jwt", payload, &c, &why), "%s", why);
    return c;
}

START_TEST(expiry_is_the_earliest_bound)
{
    json_t *p = json_pack("{s:[s], s:[s], s:s, s:{s:s}}", "@context", DCR_VC_CONTEXT_V2, "type",
                          "VerifiableCredential", "issuer", "https://i.example",
                          "credentialSubject", "id", "https://s.example");
    long long t = -1;
    dcr_vc_claims c = map(p);
    const char *why = NULL;
    ck_assert(!dcr_vc_expires_at(&c, &t));
    ck_assert(!dcr_vc_check_lifetime(&c, 0, &t, &why));
    ck_assert_ptr_nonnull(strstr(why, "exp or validUntil"));
    json_object_set_new(p, "validUntil", json_string("2026-12-01T00:00:00Z"));
    c = map(p);
    ck_assert(dcr_vc_expires_at(&c, &t));
    ck_assert_int_eq(t, 1796083200LL);
    json_object_set_new(p, "exp", json_integer(1796000000LL));
    c = map(p);
    ck_assert(dcr_vc_expires_at(&c, &t));
    ck_assert_int_eq(t, 1796000000LL);
    json_object_set_new(p, "exp", json_integer(1797000000LL));
    c = map(p);
    ck_assert(dcr_vc_expires_at(&c, &t));
    ck_assert_int_eq(t, 1796083200LL);
    json_decref(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vc_binding");
    TCase *tc = unit_tcase("binding");
    tcase_add_test(tc, binding_words);
    tcase_add_test(tc, expiry_is_the_earliest_bound);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
