/* x5c chains: generated root, intermediate and leaf certificates checked against configured
 * roots at a given time, with the leaf bound to the issuer. */
#include "x509.h"
#include "unit.h"
#include "vc_kit.h"

#include <apr_strings.h>
#include <openssl/x509v3.h>
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
    EVP_PKEY *key = dcr_x509_verify_x5c(pool, k->roots, x5c, now, iss, NULL, &why);
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

/* ---- the leaf's purpose (issue 11) ------------------------------------------------------- */

static apr_status_t free_x509(void *d)
{
    X509_free(d);
    return APR_SUCCESS;
}

/* A leaf under k's intermediate naming ISS, with exactly the extensions given (NULL: absent);
 * everything else like make_pki's leaf, so only these extensions decide. */
static X509 *leaf_with(pki *k, const char *bc, const char *ku, const char *eku)
{
    X509 *c = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1000);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"leaf", -1, -1, 0);
    X509_set_subject_name(c, name);
    X509_NAME_free(name);
    X509_set_issuer_name(c, X509_get_subject_name(k->inter));
    ASN1_TIME_set(X509_getm_notBefore(c), (time_t)(NOW - DAY));
    ASN1_TIME_set(X509_getm_notAfter(c), (time_t)(NOW + 30 * DAY));
    X509_set_pubkey(c, k->leaf_key);
    if (bc)
        kit_add_ext(c, k->inter, NID_basic_constraints, bc);
    if (ku)
        kit_add_ext(c, k->inter, NID_key_usage, ku);
    if (eku)
        kit_add_ext(c, k->inter, NID_ext_key_usage, eku);
    kit_add_ext(c, k->inter, NID_authority_key_identifier, "keyid:always");
    kit_add_ext(c, k->inter, NID_subject_alt_name, "URI:" ISS);
    ck_assert_int_gt(X509_sign(c, k->int_key, EVP_sha256()), 0);
    apr_pool_cleanup_register(pool, c, free_x509, apr_pool_cleanup_null);
    return c;
}

/* The leaf through the whole x5c check, with the DCRVCx5cEKU list given (may be NULL). */
static EVP_PKEY *verify_leaf(pki *k, X509 *leaf, const apr_array_header_t *eku)
{
    json_t *x5c = kit_x5c(pool, leaf, k->inter, NULL);
    EVP_PKEY *key = dcr_x509_verify_x5c(pool, k->roots, x5c, NOW, ISS, eku, &why);
    json_decref(x5c);
    return key;
}

#define CODE_SIGNING "1.3.6.1.5.5.7.3.3"
#define VC_PURPOSE "1.3.6.1.4.1.99999.7.1" /* a private arc, as an issuer might define */

START_TEST(end_entity_signing_leaves_accepted)
{
    pki k;
    make_pki(&k, "URI:" ISS, NOW + 30 * DAY);
    /* no basicConstraints, keyUsage or EKU at all: an end entity that may sign */
    ck_assert_msg(verify_leaf(&k, leaf_with(&k, NULL, NULL, NULL), NULL) != NULL, "%s", why);
    ck_assert_msg(verify_leaf(&k,
                              leaf_with(&k, "CA:FALSE", "critical,digitalSignature", "codeSigning"),
                              NULL) != NULL,
                  "%s", why);
    /* a TLS purpose next to another purpose is not TLS-only */
    ck_assert_msg(verify_leaf(&k, leaf_with(&k, NULL, "digitalSignature", "serverAuth," VC_PURPOSE),
                              NULL) != NULL,
                  "%s", why);
    ck_assert_msg(verify_leaf(&k, leaf_with(&k, NULL, NULL, "anyExtendedKeyUsage"), NULL) != NULL,
                  "%s", why);
}
END_TEST

START_TEST(ca_leaf_refused)
{
    pki k;
    make_pki(&k, "URI:" ISS, NOW + 30 * DAY);
    ck_assert_ptr_null(verify_leaf(
        &k, leaf_with(&k, "critical,CA:TRUE", "digitalSignature,keyCertSign", NULL), NULL));
    ck_assert_ptr_nonnull(strstr(why, "CA certificate"));
    /* not critical, no keyUsage: still a CA */
    ck_assert_ptr_null(verify_leaf(&k, leaf_with(&k, "CA:TRUE", NULL, NULL), NULL));
    ck_assert_ptr_nonnull(strstr(why, "CA certificate"));
}
END_TEST

START_TEST(leaf_without_digital_signature_refused)
{
    pki k;
    make_pki(&k, "URI:" ISS, NOW + 30 * DAY);
    ck_assert_ptr_null(verify_leaf(&k, leaf_with(&k, NULL, "keyEncipherment", NULL), NULL));
    ck_assert_ptr_nonnull(strstr(why, "keyUsage"));
    ck_assert_ptr_null(verify_leaf(&k, leaf_with(&k, "CA:FALSE", "nonRepudiation", NULL), NULL));
}
END_TEST

START_TEST(tls_and_mail_only_leaves_refused)
{
    static const char *const only[] = {"serverAuth",
                                       "clientAuth",
                                       "emailProtection",
                                       "serverAuth,clientAuth",
                                       "emailProtection,clientAuth",
                                       NULL};
    pki k;
    make_pki(&k, "URI:" ISS, NOW + 30 * DAY);
    for (const char *const *e = only; *e; e++) {
        ck_assert_msg(verify_leaf(&k, leaf_with(&k, "CA:FALSE", "digitalSignature", *e), NULL) ==
                          NULL,
                      "%s accepted", *e);
        ck_assert_ptr_nonnull(strstr(why, "TLS or e-mail"));
    }
}
END_TEST

START_TEST(configured_eku_required)
{
    pki k;
    apr_array_header_t *want = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(want, const char *) = VC_PURPOSE;
    APR_ARRAY_PUSH(want, const char *) = CODE_SIGNING;
    make_pki(&k, "URI:" ISS, NOW + 30 * DAY);
    /* carries one of them */
    ck_assert_msg(verify_leaf(&k, leaf_with(&k, NULL, "digitalSignature", VC_PURPOSE), want) !=
                      NULL,
                  "%s", why);
    ck_assert_msg(verify_leaf(&k, leaf_with(&k, NULL, NULL, "serverAuth,codeSigning"), want) !=
                      NULL,
                  "%s", why);
    /* no EKU at all, another purpose, or anyExtendedKeyUsage: not the configured one */
    ck_assert_ptr_null(verify_leaf(&k, leaf_with(&k, NULL, "digitalSignature", NULL), want));
    ck_assert_ptr_nonnull(strstr(why, "DCRVCx5cEKU"));
    ck_assert_ptr_null(verify_leaf(&k, leaf_with(&k, NULL, NULL, "timeStamping"), want));
    ck_assert_ptr_null(verify_leaf(&k, leaf_with(&k, NULL, NULL, "anyExtendedKeyUsage"), want));
    /* the TLS-only rule still holds with a list */
    ck_assert_ptr_null(verify_leaf(&k, leaf_with(&k, NULL, NULL, "serverAuth"), want));
    /* an empty list is no requirement */
    ck_assert_ptr_nonnull(verify_leaf(&k, leaf_with(&k, NULL, NULL, NULL),
                                      apr_array_make(pool, 1, sizeof(const char *))));
}
END_TEST

START_TEST(oid_syntax)
{
    ck_assert(dcr_x509_oid_valid(CODE_SIGNING));
    ck_assert(dcr_x509_oid_valid(VC_PURPOSE));
    ck_assert(!dcr_x509_oid_valid("codeSigning")); /* names are not taken: OIDs are exact */
    ck_assert(!dcr_x509_oid_valid(""));
    ck_assert(!dcr_x509_oid_valid("1.3.6.1.5.5.7.3.3 "));
    ck_assert(!dcr_x509_oid_valid("1..3"));
    ck_assert(!dcr_x509_oid_valid("-1.3"));
    ck_assert(!dcr_x509_oid_valid(NULL));
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
    tcase_add_test(tc, end_entity_signing_leaves_accepted);
    tcase_add_test(tc, ca_leaf_refused);
    tcase_add_test(tc, leaf_without_digital_signature_refused);
    tcase_add_test(tc, tls_and_mail_only_leaves_refused);
    tcase_add_test(tc, configured_eku_required);
    tcase_add_test(tc, oid_syntax);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
