/* VC payload mapping (oauth_vc.md 5.1-5.4), no signatures here: which encoding, who issued
 * it, about whom, when it is valid, its types, its status entries and the client metadata it
 * carries. Kept apart from vc.c so the fuzzer can drive it without keys. */
#ifndef DCR_VC_PAYLOAD_H
#define DCR_VC_PAYLOAD_H

#include <apr_pools.h>
#include <jansson.h>
#include <stdbool.h>

#define DCR_VC_CONTEXT_V1 "https://www.w3.org/2018/credentials/v1"
#define DCR_VC_CONTEXT_V2 "https://www.w3.org/ns/credentials/v2"

typedef struct dcr_vc_claims {
    int version;                  /* 1: VCDM 1.1 `vc` claim; 2: payload is the credential */
    const json_t *payload;        /* the JWT claims */
    const json_t *credential;     /* payload.vc (1.1) or the payload (2.0) */
    const char *issuer;           /* iss / issuer / issuer.id, all agreeing */
    const char *subject;          /* credentialSubject.id or sub, agreeing; may be NULL */
    const json_t *subject_claims; /* the one credentialSubject object */
    const json_t *status;         /* credentialStatus (object or array), NULL when absent */
    const json_t *token_status;   /* status.status_list (IETF), NULL when absent */
} dcr_vc_claims;

/* The issuer the payload claims (iss, issuer, issuer.id or vc.issuer), unverified, so the
 * caller can find the trust anchor first. NULL when none is a string. */
const char *dcr_vc_claimed_issuer(const json_t *payload);

/* Maps header typ + payload into out. False with *why (a description safe for the client)
 * for anything malformed or contradictory: wrong typ, SD-JWT types, missing/wrong @context,
 * issuer disagreements, several subjects, sub/id disagreements. */
bool dcr_vc_map(apr_pool_t *pool, const char *typ, const json_t *payload, dcr_vc_claims *out,
                const char **why);

/* Every time bound present holds at now with skew: exp/nbf/iat, validFrom/validUntil (2.0),
 * issuanceDate/expirationDate (1.1: must agree with nbf/exp when both are present). */
bool dcr_vc_check_time(apr_pool_t *pool, const dcr_vc_claims *c, long long now, long long skew,
                       const char **why);

/* True when the credential's type (string or array) contains name. */
/* When the credential was issued, for ordering re-registrations: iat, else validFrom, nbf or
 * issuanceDate; 0 when it names none. Call after dcr_vc_check_time accepted c. */
long long dcr_vc_issued_at(const dcr_vc_claims *c);

bool dcr_vc_has_type(const dcr_vc_claims *c, const char *name);

/* XSD dateTime with a mandatory time zone ("2026-11-01T00:00:00Z", fractions and +hh:mm
 * allowed) to seconds since the epoch. */
bool dcr_vc_parse_datetime(const char *s, long long *out);

/* Client metadata from the credential: whitelisted names (dcr_metadata_is_known, never the
 * reserved VC/JWT names) from credentialSubject (from & 1) and/or the top-level claims
 * (from & 2). The same name with different values in both: NULL with *why. Returns a new
 * pool-owned object. */
json_t *dcr_vc_harvest_metadata(apr_pool_t *pool, const dcr_vc_claims *c, int from,
                                const char **why);

#endif
