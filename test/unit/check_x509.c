/* x5c chains: generated root, intermediate and leaf certificates checked against configured
 * roots at a given time, with the leaf bound to the issuer. */
#include "x509.h"
#include "unit.h"
#include "vc_kit.h"

#include <string.h>

#define NOW 1795000000LL /* 2026-11-18T11:06:40Z */
#define DAY 86400LL
#define ISS "https://issuer.example.org"

static const char *why;

typedef struct {
    EVP_PKEY *root_key, *int_key, *leaf_key;
    X509 *root, *inter, *leaf;
    dcr_x509_roots *roots;
} pki;

static void make_pki(pki *k, const char *san, long long leaf_na)
{
    k->root_key = kit_key(pool, "EC");
    k->int_key = kit_key(pool, "EC");
    k->leaf_key = kit_key(pool, "EC");
    k->root = kit_cert(pool, "root", k->root_key, NULL, NULL, NOW - 10 * DAY, NOW + 900 * DAY, true,
                       NULL);
    k->inter = kit_cert(pool, "intermediate", k->int_key, k->root, k->root_key, NOW - 5 * DAY,
                        NOW + 300 * DAY, true, NULL);
    k->leaf =
        kit_cert(pool, "leaf", k->leaf_key, k->inter, k->int_key, NOW - DAY, leaf_na, false, san);
    {
        char *pem = kit_cert_pem(pool, k->root);
        k->roots = dcr_x509_roots_from_pem(pool, pem, strlen(pem), &why);
        ck_assert_ptr_nonnull(k->roots);
    }
}

static EVP_PKEY *verify(pki *k, json_t *x5c, long long now, const char *iss)
{
    EVP_PKEY *key = dcr_x509_verify_x5c(pool, k->roots, x5c, now, iss, &why);
    json_decref(x5c);
    return key;
}

START_TEST(valid_chain_with_intermediate)
{
    pki k;
    EVP_PKEY *key;
    make_pki(&k, "URI:" ISS, NOW + 30 * DAY);
    key = verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW, ISS);
    ck_assert_msg(key != NULL, "%s", why);
    ck_assert_int_eq(EVP_PKEY_eq(key, k.leaf_key), 1);
}
END_TEST

START_TEST(missing_intermediate_refused)
{
    pki k;
    make_pki(&k, "URI:" ISS, NOW + 30 * DAY);
    ck_assert_ptr_null(verify(&k, kit_x5c(pool, k.leaf, NULL), NOW, ISS));
    ck_assert_ptr_nonnull(strstr(why, "configured root"));
}
END_TEST

START_TEST(expired_leaf_refused)
{
    pki k;
    make_pki(&k, "URI:" ISS, NOW + 30 * DAY);
    ck_assert_ptr_nonnull(verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW + 29 * DAY, ISS));
    ck_assert_ptr_null(verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW + 31 * DAY, ISS));
    ck_assert_ptr_nonnull(strstr(why, "expired"));
    /* and not yet valid */
    ck_assert_ptr_null(verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW - 2 * DAY, ISS));
}
END_TEST

START_TEST(wrong_root_refused)
{
    pki k, other;
    make_pki(&k, "URI:" ISS, NOW + 30 * DAY);
    make_pki(&other, "URI:" ISS, NOW + 30 * DAY);
    k.roots = other.roots;
    ck_assert_ptr_null(verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW, ISS));
    /* sending the root along in x5c does not make it trusted */
    ck_assert_ptr_null(verify(&k, kit_x5c(pool, k.leaf, k.inter, k.root, NULL), NOW, ISS));
}
END_TEST

START_TEST(leaf_must_name_issuer)
{
    pki k;
    make_pki(&k, "URI:https://someone-else.example", NOW + 30 * DAY);
    ck_assert_ptr_null(verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW, ISS));
    ck_assert_ptr_nonnull(strstr(why, "issuer"));
    /* a URI SAN that is only a prefix of the issuer is not the issuer */
    make_pki(&k, "URI:" ISS "/x", NOW + 30 * DAY);
    ck_assert_ptr_null(verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW, ISS));
    /* no SAN at all */
    make_pki(&k, NULL, NOW + 30 * DAY);
    ck_assert_ptr_null(verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW, ISS));
}
END_TEST

START_TEST(dns_san_binds_host)
{
    pki k;
    make_pki(&k, "DNS:issuer.example.org", NOW + 30 * DAY);
    ck_assert_ptr_nonnull(verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW, ISS));
    ck_assert_ptr_nonnull(
        verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW, "https://issuer.example.org:8443/v"));
    ck_assert_ptr_null(verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW,
                              "https://evil.example/issuer.example.org"));
    ck_assert_ptr_null(
        verify(&k, kit_x5c(pool, k.leaf, k.inter, NULL), NOW, "did:web:issuer.example.org"));
}
END_TEST

START_TEST(malformed_x5c_refused)
{
    pki k;
    json_t *arr;
    make_pki(&k, "URI:" ISS, NOW + 30 * DAY);
    ck_assert_ptr_null(verify(&k, json_array(), NOW, ISS));
    ck_assert_ptr_null(verify(&k, json_string("abc"), NOW, ISS));
    arr = json_array();
    json_array_append_new(arr, json_string("not base64 !"));
    ck_assert_ptr_null(verify(&k, arr, NOW, ISS));
    arr = kit_x5c(pool, k.leaf, k.inter, NULL);
    for (int i = 0; i < DCR_X5C_MAX_CERTS; i++)
        json_array_append_new(arr, json_string(json_string_value(json_array_get(arr, 1))));
    ck_assert_ptr_null(verify(&k, arr, NOW, ISS));
    ck_assert_ptr_null(dcr_x509_roots_from_pem(pool, "nothing", 7, &why));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("x509");
    TCase *tc = unit_tcase("x5c");
    tcase_add_test(tc, valid_chain_with_intermediate);
    tcase_add_test(tc, missing_intermediate_refused);
    tcase_add_test(tc, expired_leaf_refused);
    tcase_add_test(tc, wrong_root_refused);
    tcase_add_test(tc, leaf_must_name_issuer);
    tcase_add_test(tc, dns_san_binds_host);
    tcase_add_test(tc, malformed_x5c_refused);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
