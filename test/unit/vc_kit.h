/* Test kit for the VC tests: real keys, certificates and signed JWTs made with OpenSSL. */
#ifndef DCR_VC_KIT_H
#define DCR_VC_KIT_H

#include "policy.h"
#include "statement.h"
#include "vc.h"

#include <apr_pools.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>

/* "EC" (P-256), "ED25519" or "RSA" (2048); freed at pool cleanup. */
EVP_PKEY *kit_key(apr_pool_t *p, const char *type);
/* A certificate for key signed by ca_key (self-signed when ca is NULL), valid
 * [nb, na] (seconds since the epoch); san like "URI:https://x,DNS:x" or NULL. */
X509 *kit_cert(apr_pool_t *p, const char *cn, EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key,
               long long nb, long long na, bool is_ca, const char *san);
char *kit_cert_pem(apr_pool_t *p, X509 *cert);

/* Adds extension nid with an openssl.cnf-style value to cert, issued by issuer. */
void kit_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);
/* x5c JSON array (new reference) of the given certificates (NULL-terminated). */
json_t *kit_x5c(apr_pool_t *p, X509 *first, ...);
char *kit_b64url(apr_pool_t *p, const unsigned char *d, size_t n);
/* Public JWK (new reference) with kid (may be NULL). */
json_t *kit_jwk(EVP_PKEY *key, const char *kid);
/* PEM SubjectPublicKeyInfo. */
char *kit_pub_pem(apr_pool_t *p, EVP_PKEY *key);
/* Compact JWS over the two objects (not consumed) with alg ES256, EdDSA or RS256. */
char *kit_sign(apr_pool_t *p, const json_t *header, const json_t *payload, EVP_PKEY *key,
               const char *alg);
/* gzip (window 31) or zlib (15) then base64url, optionally with the multibase 'u'. */
char *kit_pack(apr_pool_t *p, const unsigned char *raw, size_t len, int window_bits,
               bool multibase);

/* The issuer iss with keys from buf (asserts that it loads). */
dcr_vc_issuer *kit_issuer(apr_pool_t *p, const char *iss, dcr_vc_key_source src, const char *buf);
/* The registration endpoint of the VC tests: the one audience of kit_vc_env's policy, which
 * the tests' credentials name in aud (DCRVCBinding's default wants aud or cnf). */
#define KIT_AUD "https://dcr.example.org/register"

/* The context every VC statement test starts from: default trust with these issuers, default
 * policy pointing at it with KIT_AUD as its audience, and ctx at time now with a 16-entry
 * memory cache, all in p. */
void kit_vc_env(apr_pool_t *p, long long now, apr_array_header_t *issuers,
                struct dcr_vc_trust *trust, dcr_policy *policy, dcr_statement_ctx *ctx);

#endif
