/* DCRFetchCAFile contents: a good bundle counts its certificates; empty, certificate-less,
 * truncated and corrupt bundles are refused (what `apache2 -t` reports). */
#include "ca_bundle.h"
#include "unit.h"

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

/* A self-signed certificate as PEM, made here so the test has no fixture file to go stale. */
static char *make_cert_pem(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out;
    long n;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"test CA", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    PEM_write_bio_X509(bio, x);
    n = BIO_get_mem_data(bio, &data);
    out = apr_pstrmemdup(pool, data, (apr_size_t)n);
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
}

START_TEST(good_bundle_counts)
{
    char *one = make_cert_pem(), *two = apr_pstrcat(pool, one, make_cert_pem(), NULL);
    const char *why = NULL;
    int n = -1;
    ck_assert(dcr_ca_bundle_check(one, strlen(one), &n, &why));
    ck_assert_int_eq(n, 1);
    ck_assert(dcr_ca_bundle_check(two, strlen(two), &n, &why));
    ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(refused_bundles)
{
    char *one = make_cert_pem();
    const char *why = NULL;
    int n = -1;
    const char *notpem = "just some text\n";
    ck_assert(!dcr_ca_bundle_check("", 0, &n, &why));
    ck_assert(!dcr_ca_bundle_check(notpem, strlen(notpem), &n, &why));
    ck_assert_ptr_nonnull(strstr(why, "no PEM certificate"));
    /* half-written: the copy stopped in the middle of the base64 */
    ck_assert(!dcr_ca_bundle_check(one, strlen(one) / 2, &n, &why));
    ck_assert_ptr_nonnull(strstr(why, "not a valid certificate"));
    /* a good one followed by a truncated one is refused as a whole */
    char *both = apr_pstrcat(pool, one, apr_pstrndup(pool, one, strlen(one) - 40), NULL);
    ck_assert(!dcr_ca_bundle_check(both, strlen(both), &n, &why));
    /* corrupt base64 inside well-formed armour */
    char *bad = apr_pstrdup(pool, one);
    bad[40] = '!';
    bad[41] = '!';
    ck_assert(!dcr_ca_bundle_check(bad, strlen(bad), &n, &why));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ca_bundle");
    TCase *tc = unit_tcase("check");
    tcase_add_test(tc, good_bundle_counts);
    tcase_add_test(tc, refused_bundles);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
