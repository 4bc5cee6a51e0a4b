/* VC-JWT software statements (../shared/spec/oauth_vc.md sections 5-7): VC Data Model 1.1
 * JWTs (`vc` claim) and VC-JOSE-COSE / VCDM 2.0 (`vc+jwt`, legacy `vc+ld+jwt`), verified with
 * the keys configured for exactly that issuer, time-checked, type-checked against policy and
 * checked for revocation through a status list. */
#ifndef DCR_VC_H
#define DCR_VC_H

#include "fetch.h"
#include "jws.h"
#include "x509.h"

#include <apr_tables.h>
#include <stdbool.h>

struct dcr_cache;

typedef enum dcr_vc_key_source {
    DCR_VC_KEYS_JWKS, /* jwks:<file>, or jwks:https://... (remote, src/trust_source.h) */
    DCR_VC_KEYS_PEM,  /* pem:<file>: one key, kid ignored */
    DCR_VC_KEYS_X5C,  /* x5c-root:<file>: x5c header chain validated to these roots */
} dcr_vc_key_source;

typedef struct dcr_vc_issuer {
    const char *id; /* exact issuer identifier (iss / issuer / issuer.id) */
    dcr_vc_key_source source;
    const dcr_jwks *jwks;              /* DCR_VC_KEYS_JWKS */
    const dcr_jwk *key;                /* DCR_VC_KEYS_PEM */
    const dcr_x509_roots *roots;       /* DCR_VC_KEYS_X5C */
    struct dcr_trust_source *remote;   /* DCR_VC_KEYS_JWKS from a URL: jwks unused */
    const apr_array_header_t *x5c_eku; /* DCRVCx5cEKU OIDs (const char *); NULL: none required */
} dcr_vc_issuer;

/* Where harvested client metadata is read from (DCRVCMetadataFrom). */
enum { DCR_VC_META_SUBJECT = 1, DCR_VC_META_CLAIMS = 2, DCR_VC_META_BOTH = 3 };

#define DCR_VC_MAX_KEY_TRIES 4 /* keys tried when the header has no kid */

struct dcr_vc_trust {
    const apr_array_header_t *issuers;        /* dcr_vc_issuer * */
    const apr_array_header_t *required_types; /* const char *: DCRVCRequireType (none) */
    int metadata_from;                        /* DCRVCMetadataFrom (subject) */
    bool status_unavailable_allow;            /* DCRVCStatusUnavailable allow (refuse) */
    const char *auth_method;                  /* DCRVCAuthMethod; NULL: the default rule */
    unsigned binding;                         /* DCRVCBinding: DCR_VC_BIND_* (aud cnf) */
    long long max_lifetime;                   /* DCRVCMaxLifetime seconds; 0: no limit */
    long long status_ttl_min, status_ttl_max; /* bounds on how long a list is cached (s) */
    size_t status_max_bytes;                  /* decompressed list bound */
    const dcr_fetch_conf *fetch; /* NULL: no fetching (lists must come from the cache) */
    struct dcr_cache *cache;     /* used when the request context has none; may be NULL */
};

/* Fills defaults: metadata from credentialSubject, refuse when a list is unavailable, lists
 * cached 60..3600 s (300 when the list gives no hint), DCR_STATUS_MAX_BYTES, binding
 * `aud cnf`, no lifetime limit. */
void dcr_vc_trust_defaults(struct dcr_vc_trust *trust);

/* The configured issuer with exactly this id, or NULL. */
const dcr_vc_issuer *dcr_vc_find_issuer(const struct dcr_vc_trust *trust, const char *id);

/* Loads an issuer from a directive value "jwks:<file>", "pem:<file>" or "x5c-root:<file>"
 * (the file already read into buf). NULL with *why on error. */
dcr_vc_issuer *dcr_vc_issuer_load(apr_pool_t *pool, const char *id, dcr_vc_key_source source,
                                  const char *buf, size_t len, const char **why);

/* How many keys (JWKS keys, 1 for pem:, roots for x5c-root:) the issuer holds: for the
 * startup summary. */
int dcr_vc_issuer_key_count(const dcr_vc_issuer *is);

/* Verifies the compact JWS jws_text with the issuer's keys (kid / URL fragment / a handful of
 * fitting keys; pem: the one key; x5c-root: the validated leaf key at now). parse is the
 * already-parsed JWS. Failures are invalid_software_statement. */
bool dcr_vc_verify_signature(apr_pool_t *pool, const dcr_vc_issuer *iss, const dcr_jws *jws,
                             long long now, dcr_error *err);

#endif
