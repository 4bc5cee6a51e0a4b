/* Test helper: real keys generated with OpenSSL and JWTs signed with them, so the unit tests
 * exercise the verifier against independent signing code (no mocks). */
#ifndef DCR_TEST_JWT_MINT_H
#define DCR_TEST_JWT_MINT_H

#include <apr_pools.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

/* "P-256", "P-384", "P-521", "RSA" (2048), "RSA1024", "Ed25519". Cached per process: do not
 * free. */
EVP_PKEY *mint_key(const char *kind);
/* A fresh, uncached key of that kind (caller frees). */
EVP_PKEY *mint_new_key(const char *kind);

/* The public JWK of key (new reference); kid/use/alg members added when non-NULL. */
json_t *mint_jwk(EVP_PKEY *key, const char *kid, const char *use, const char *alg);

/* Unpadded base64url of (data, len) in pool memory. */
char *mint_b64url(apr_pool_t *pool, const void *data, size_t len);

/* Raw signature of input per JWS alg (ES: raw R||S; PS: PSS salt = hash; EdDSA). */
unsigned char *mint_sign(apr_pool_t *pool, EVP_PKEY *key, const char *alg, const char *input,
                         size_t len, size_t *sig_len);

/* header.payload.signature from raw JSON texts (duplicates and oddities kept verbatim). */
char *mint_jwt(apr_pool_t *pool, EVP_PKEY *key, const char *alg, const char *header_json,
               const char *payload_json);
/* Same with an HMAC-SHA256 signature under the given secret (alg confusion tests). */
char *mint_jwt_hs256(apr_pool_t *pool, const unsigned char *secret, size_t secret_len,
                     const char *header_json, const char *payload_json);

/* SubjectPublicKeyInfo PEM of key in pool memory. */
char *mint_pem(apr_pool_t *pool, EVP_PKEY *key, size_t *len);

#endif
