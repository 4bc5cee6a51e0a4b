#include "jwt_mint.h"

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>

EVP_PKEY *mint_new_key(const char *kind)
{
    if (strcmp(kind, "RSA") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (strcmp(kind, "RSA1024") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    if (strcmp(kind, "Ed25519") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
}

EVP_PKEY *mint_key(const char *kind)
{
    static const char *kinds[] = {"P-256", "P-384", "P-521", "RSA", "RSA1024", "Ed25519"};
    static EVP_PKEY *cache[6];
    for (int i = 0; i < 6; i++)
        if (strcmp(kind, kinds[i]) == 0) {
            if (!cache[i])
                cache[i] = mint_new_key(kind);
            return cache[i];
        }
    return NULL;
}

char *mint_b64url(apr_pool_t *pool, const void *data, size_t len)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *d = data;
    char *out = apr_palloc(pool, len * 4 / 3 + 4), *o = out;
    size_t i;
    for (i = 0; i + 2 < len; i += 3) {
        *o++ = a[d[i] >> 2];
        *o++ = a[((d[i] & 3) << 4) | (d[i + 1] >> 4)];
        *o++ = a[((d[i + 1] & 15) << 2) | (d[i + 2] >> 6)];
        *o++ = a[d[i + 2] & 63];
    }
    if (len - i == 1) {
        *o++ = a[d[i] >> 2];
        *o++ = a[(d[i] & 3) << 4];
    } else if (len - i == 2) {
        *o++ = a[d[i] >> 2];
        *o++ = a[((d[i] & 3) << 4) | (d[i + 1] >> 4)];
        *o++ = a[(d[i + 1] & 15) << 2];
    }
    *o = '\0';
    return out;
}

static json_t *bn_member(EVP_PKEY *key, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;
    apr_pool_t *p;
    json_t *s;
    if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
        return NULL;
    n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
    BN_free(bn);
    apr_pool_create(&p, NULL);
    s = json_string(mint_b64url(p, buf, (size_t)n));
    apr_pool_destroy(p);
    return s;
}

json_t *mint_jwk(EVP_PKEY *key, const char *kid, const char *use, const char *alg)
{
    json_t *j = json_object();
    if (EVP_PKEY_is_a(key, "RSA")) {
        json_object_set_new(j, "kty", json_string("RSA"));
        json_object_set_new(j, "n", bn_member(key, OSSL_PKEY_PARAM_RSA_N, 0));
        json_object_set_new(j, "e", bn_member(key, OSSL_PKEY_PARAM_RSA_E, 0));
    } else if (EVP_PKEY_is_a(key, "EC")) {
        int bits = EVP_PKEY_get_bits(key);
        size_t coord = (size_t)(bits + 7) / 8;
        json_object_set_new(j, "kty", json_string("EC"));
        json_object_set_new(j, "crv",
                            json_string(bits == 256   ? "P-256"
                                        : bits == 384 ? "P-384"
                                                      : "P-521"));
        json_object_set_new(j, "x", bn_member(key, OSSL_PKEY_PARAM_EC_PUB_X, coord));
        json_object_set_new(j, "y", bn_member(key, OSSL_PKEY_PARAM_EC_PUB_Y, coord));
    } else {
        unsigned char raw[64];
        size_t len = sizeof(raw);
        apr_pool_t *p;
        EVP_PKEY_get_raw_public_key(key, raw, &len);
        apr_pool_create(&p, NULL);
        json_object_set_new(j, "kty", json_string("OKP"));
        json_object_set_new(j, "crv", json_string("Ed25519"));
        json_object_set_new(j, "x", json_string(mint_b64url(p, raw, len)));
        apr_pool_destroy(p);
    }
    if (kid)
        json_object_set_new(j, "kid", json_string(kid));
    if (use)
        json_object_set_new(j, "use", json_string(use));
    if (alg)
        json_object_set_new(j, "alg", json_string(alg));
    return j;
}

unsigned char *mint_sign(apr_pool_t *pool, EVP_PKEY *key, const char *alg, const char *input,
                         size_t len, size_t *sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const char *digest = NULL;
    unsigned char *sig;
    size_t n = 0;

    if (strcmp(alg, "EdDSA") != 0)
        digest = strstr(alg, "256") ? "SHA256" : strstr(alg, "384") ? "SHA384" : "SHA512";
    EVP_DigestSignInit_ex(md, &pctx, digest, NULL, NULL, key, NULL);
    if (alg[0] == 'P') {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    EVP_DigestSign(md, NULL, &n, (const unsigned char *)input, len);
    sig = apr_palloc(pool, n);
    EVP_DigestSign(md, sig, &n, (const unsigned char *)input, len);
    EVP_MD_CTX_free(md);
    if (alg[0] == 'E' && digest) { /* DER -> raw R||S */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
        int coord = (EVP_PKEY_get_bits(key) + 7) / 8;
        unsigned char *raw = apr_palloc(pool, (apr_size_t)(2 * coord));
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, coord);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + coord, coord);
        ECDSA_SIG_free(es);
        *sig_len = (size_t)(2 * coord);
        return raw;
    }
    *sig_len = n;
    return sig;
}

char *mint_jwt(apr_pool_t *pool, EVP_PKEY *key, const char *alg, const char *header_json,
               const char *payload_json)
{
    char *input = apr_pstrcat(pool, mint_b64url(pool, header_json, strlen(header_json)), ".",
                              mint_b64url(pool, payload_json, strlen(payload_json)), NULL);
    size_t n;
    unsigned char *sig = mint_sign(pool, key, alg, input, strlen(input), &n);
    return apr_pstrcat(pool, input, ".", mint_b64url(pool, sig, n), NULL);
}

char *mint_jwt_hs256(apr_pool_t *pool, const unsigned char *secret, size_t secret_len,
                     const char *header_json, const char *payload_json)
{
    char *input = apr_pstrcat(pool, mint_b64url(pool, header_json, strlen(header_json)), ".",
                              mint_b64url(pool, payload_json, strlen(payload_json)), NULL);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t n = 0;
    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len, (const unsigned char *)input,
              strlen(input), mac, sizeof(mac), &n);
    return apr_pstrcat(pool, input, ".", mint_b64url(pool, mac, n), NULL);
}

char *mint_pem(apr_pool_t *pool, EVP_PKEY *key, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long n;
    PEM_write_bio_PUBKEY(bio, key);
    n = BIO_get_mem_data(bio, &data);
    data = apr_pstrmemdup(pool, data, (apr_size_t)n);
    BIO_free(bio);
    *len = (size_t)n;
    return data;
}
