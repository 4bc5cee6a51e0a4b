#include "vc_kit.h"

#include "cache.h"
#include "jwt_mint.h"

#include <apr_strings.h>
#include <check.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <string.h>
#include <zlib.h>

static apr_status_t free_pkey(void *d)
{
    EVP_PKEY_free(d);
    return APR_SUCCESS;
}

static apr_status_t free_x509(void *d)
{
    X509_free(d);
    return APR_SUCCESS;
}

EVP_PKEY *kit_key(apr_pool_t *p, const char *type)
{
    EVP_PKEY *k;
    if (strcmp(type, "EC") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (strcmp(type, "RSA") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ck_assert_ptr_nonnull(k);
    apr_pool_cleanup_register(p, k, free_pkey, apr_pool_cleanup_null);
    return k;
}

void kit_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ck_assert_ptr_nonnull(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

X509 *kit_cert(apr_pool_t *p, const char *cn, EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key,
               long long nb, long long na, bool is_ca, const char *san)
{
    static long serial = 1;
    X509 *c = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(c, name);
    X509_set_issuer_name(c, ca ? X509_get_subject_name(ca) : name);
    X509_NAME_free(name);
    ASN1_TIME_set(X509_getm_notBefore(c), (time_t)nb);
    ASN1_TIME_set(X509_getm_notAfter(c), (time_t)na);
    X509_set_pubkey(c, key);
    kit_add_ext(c, ca ? ca : c, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
    kit_add_ext(c, ca ? ca : c, NID_key_usage,
                is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    kit_add_ext(c, ca ? ca : c, NID_subject_key_identifier, "hash");
    if (san)
        kit_add_ext(c, ca ? ca : c, NID_subject_alt_name, san);
    ck_assert_int_gt(
        X509_sign(c, ca_key ? ca_key : key,
                  EVP_PKEY_get_id(ca_key ? ca_key : key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()),
        0);
    apr_pool_cleanup_register(p, c, free_x509, apr_pool_cleanup_null);
    return c;
}

static char *bio_string(apr_pool_t *p, BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = apr_pstrmemdup(p, data, (apr_size_t)n);
    BIO_free(b);
    return s;
}

char *kit_cert_pem(apr_pool_t *p, X509 *cert)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, cert);
    return bio_string(p, b);
}

char *kit_pub_pem(apr_pool_t *p, EVP_PKEY *key)
{
    size_t len;
    return mint_pem(p, key, &len);
}

json_t *kit_x5c(apr_pool_t *p, X509 *first, ...)
{
    json_t *arr = json_array();
    va_list ap;
    va_start(ap, first);
    for (X509 *c = first; c; c = va_arg(ap, X509 *)) {
        unsigned char *der = NULL;
        int n = i2d_X509(c, &der);
        char *b64 = apr_palloc(p, (apr_size_t)n * 2 + 4);
        EVP_EncodeBlock((unsigned char *)b64, der, n);
        OPENSSL_free(der);
        json_array_append_new(arr, json_string(b64));
    }
    va_end(ap);
    return arr;
}

char *kit_b64url(apr_pool_t *p, const unsigned char *d, size_t n)
{
    return mint_b64url(p, d, n);
}

json_t *kit_jwk(EVP_PKEY *key, const char *kid)
{
    json_t *j = mint_jwk(key, kid, NULL, NULL);
    /* every key member made it in (mint_jwk leaves out one it could not read) */
    ck_assert(json_object_get(j, "n") || json_object_get(j, "x"));
    ck_assert(json_object_get(j, "e") || json_object_get(j, "y") || EVP_PKEY_is_a(key, "ED25519"));
    return j;
}

char *kit_sign(apr_pool_t *p, const json_t *header, const json_t *payload, EVP_PKEY *key,
               const char *alg)
{
    char *h = json_dumps(header, JSON_COMPACT), *b = json_dumps(payload, JSON_COMPACT);
    char *input = apr_pstrcat(p, kit_b64url(p, (unsigned char *)h, strlen(h)), ".",
                              kit_b64url(p, (unsigned char *)b, strlen(b)), NULL);
    size_t sig_len = 0;
    unsigned char *sig = mint_sign(p, key, alg, input, strlen(input), &sig_len);

    free(h);
    free(b);
    ck_assert_uint_gt(sig_len, 0);
    return apr_pstrcat(p, input, ".", kit_b64url(p, sig, sig_len), NULL);
}

char *kit_pack(apr_pool_t *p, const unsigned char *raw, size_t len, int window_bits, bool multibase)
{
    z_stream zs;
    uLong cap = compressBound(len) + 64;
    unsigned char *z = apr_palloc(p, cap);
    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (unsigned char *)raw;
    zs.avail_in = (uInt)len;
    zs.next_out = z;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    deflateEnd(&zs);
    return apr_pstrcat(p, multibase ? "u" : "", kit_b64url(p, z, cap - zs.avail_out), NULL);
}

dcr_vc_issuer *kit_issuer(apr_pool_t *p, const char *iss, dcr_vc_key_source src, const char *buf)
{
    const char *why = NULL;
    dcr_vc_issuer *is = dcr_vc_issuer_load(p, iss, src, buf, strlen(buf), &why);
    ck_assert_msg(is != NULL, "%s", why);
    return is;
}

void kit_vc_env(apr_pool_t *p, long long now, apr_array_header_t *issuers,
                struct dcr_vc_trust *trust, dcr_policy *policy, dcr_statement_ctx *ctx)
{
    dcr_vc_trust_defaults(trust);
    trust->issuers = issuers;
    dcr_policy_defaults(p, policy);
    policy->vc = trust;
    policy->audiences = dcr_words(p, KIT_AUD);
    memset(ctx, 0, sizeof *ctx);
    ctx->pool = p;
    ctx->now = now;
    ctx->policy = policy;
    ctx->cache = dcr_cache_memory_create(p, 16);
}
