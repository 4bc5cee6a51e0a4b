/* Compact JWS and JWK/JWKS, shared by every statement profile. JOSE hygiene lives here once:
 * strict compact form, alg allow-list checked first, key type and curve bound to alg, exact ES
 * signature length, never `none`, never HMAC. Signatures are checked with cjose, EdDSA with
 * OpenSSL directly (cjose 0.6.2 has none). */
#ifndef DCR_JWS_H
#define DCR_JWS_H

#include "error.h"

#include <apr_pools.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated allow-lists. */
extern const char *const dcr_jws_algs_svid[]; /* RS256..512 PS256..512 ES256..512 */
extern const char *const dcr_jws_algs_vc[];   /* the same plus EdDSA */

/* An imported public key. Lives until the pool it was imported into is cleared. */
typedef struct dcr_jwk dcr_jwk;

typedef struct dcr_jwks {
    dcr_jwk **keys;
    int nkeys;
} dcr_jwks;

/* Imports one public JWK object (RSA n/e, EC crv/x/y, OKP Ed25519 x). Private members,
 * unknown kty, RSA under 2048 bits: NULL with *why set. */
dcr_jwk *dcr_jwk_import(apr_pool_t *pool, const json_t *jwk, const char **why);
/* A client's public JWK is well formed and usable: importable as above, or an X25519/X448
 * encryption key of the right shape (not importable, never used to verify). NULL when fine,
 * else why. */
const char *dcr_jwk_check_public(apr_pool_t *pool, const json_t *jwk);
/* One public key from PEM (SubjectPublicKeyInfo or a certificate). */
dcr_jwk *dcr_jwk_from_pem(apr_pool_t *pool, const char *pem, size_t len, const char **why);
/* Wraps an OpenSSL key (an x5c leaf's key); takes its own reference. */
dcr_jwk *dcr_jwk_from_evp(apr_pool_t *pool, EVP_PKEY *pkey, const char *kid, const char **why);

const char *dcr_jwk_kid(const dcr_jwk *k); /* NULL when none */
const char *dcr_jwk_use(const dcr_jwk *k); /* NULL when none */
const char *dcr_jwk_alg(const dcr_jwk *k); /* the JWK's own alg member, NULL when none */
/* True when the key's type (and curve) is the one alg needs, and the JWK's own alg, if any,
 * equals alg. */
bool dcr_jwk_fits_alg(const dcr_jwk *k, const char *alg);

/* Parses a JWKS object. keep(use) decides per key by its `use` (NULL when absent); bad single
 * entries are skipped and reported through warn (may be NULL). Duplicate kids among kept keys
 * are refused (the whole set: NULL with *why). */
dcr_jwks *dcr_jwks_parse(apr_pool_t *pool, const json_t *jwks, bool (*keep)(const char *use),
                         void (*warn)(void *baton, const char *msg), void *baton, const char **why);
/* The key with this kid, or NULL. */
const dcr_jwk *dcr_jwks_find(const dcr_jwks *set, const char *kid);

typedef struct dcr_jws {
    json_t *header;  /* protected header object (pool-owned) */
    json_t *payload; /* payload object (pool-owned) */
    const char *alg; /* never NULL after a successful parse */
    const char *kid; /* NULL when absent */
    const char *typ; /* NULL when absent */
    const char *signing_input;
    size_t signing_input_len;
    unsigned char *sig;
    size_t sig_len;
} dcr_jws;

/* Strict compact JWS: exactly three parts, unpadded base64url of the right alphabet, header and
 * payload JSON objects without duplicate members, alg present and in allowed (checked before
 * anything else), crit refused. Failures are invalid_software_statement. */
bool dcr_jws_parse(apr_pool_t *pool, const char *compact, size_t len,
                   const char *const *allowed_algs, dcr_jws *out, dcr_error *err);

/* The same, with the header and payload objects of compact already parsed (by
 * dcr_jws_peek_part; NULL: decoded here): one decode and parse per part and request. */
bool dcr_jws_parse_peeked(apr_pool_t *pool, const char *compact, size_t len, json_t *header,
                          json_t *payload, const char *const *allowed_algs, dcr_jws *out,
                          dcr_error *err);

/* One part (header or payload) decoded and parsed as dcr_jws_parse does, NULL when it is not
 * a base64url JSON object. */
json_t *dcr_jws_peek_part(apr_pool_t *pool, const char *b64, size_t len);

/* True when the header carries any of the NULL-terminated names (e.g. jku, x5u, jwk, x5c);
 * *which gets the first found. */
bool dcr_jws_has_header(const dcr_jws *jws, const char *const *names, const char **which);

/* Verifies the signature with key: key must fit alg, ES signatures must have the exact raw
 * length. Failures are invalid_software_statement. */
bool dcr_jws_verify(const dcr_jws *jws, const dcr_jwk *key, dcr_error *err);

/* Reads a NumericDate claim: *present says whether it is there; false (with *why) when it is
 * there but not a finite JSON number within [0, 2^53). */
bool dcr_jwt_numeric_date(const json_t *payload, const char *claim, long long *out, bool *present,
                          const char **why);

#endif
