/* What ties a VC to this registration (DCRVCBinding, docs/vc.md "Binding"): a bare VC is a
 * bearer artifact that every verifier it was shown to holds a copy of. A VC is accepted when
 * its `aud` names this endpoint (then, without a holder key, it registers once) or when it
 * carries a holder key in `cnf.jwk` (then the client is pinned to that key), or, under
 * `any`, bare. Also the validity rules every VC meets here: an expiry (exp, validUntil or
 * expirationDate) and at most DCRVCMaxLifetime of validity. */
#ifndef DCR_VC_BINDING_H
#define DCR_VC_BINDING_H

#include "policy.h"
#include "vc_payload.h"

#include <apr_pools.h>
#include <jansson.h>
#include <stdbool.h>

/* DCRVCBinding words (a bit set); the default is AUD | CNF, either suffices. */
enum { DCR_VC_BIND_AUD = 1, DCR_VC_BIND_CNF = 2, DCR_VC_BIND_ANY = 4 };

typedef struct dcr_vc_bound {
    json_t *holder_jwks;        /* {"keys":[cnf.jwk]} when the VC names a holder key, else NULL */
    long long single_use_until; /* aud-bound without a holder key: remember it until then */
} dcr_vc_bound;

/* The credential's expiry: the earliest of exp, validUntil and (1.1) expirationDate. False
 * when it names none. Call after dcr_vc_check_time accepted c. */
bool dcr_vc_expires_at(const dcr_vc_claims *c, long long *out);

/* The validity rules: an expiry is mandatory, and with max_lifetime > 0 the validity
 * (expiry - (iat, validFrom, nbf or issuanceDate)) is at most that; *expires gets the
 * expiry. False with *why (for the client). */
bool dcr_vc_check_lifetime(const dcr_vc_claims *c, long long max_lifetime, long long *expires,
                           const char **why);

/* Applies the binding rules (binding: DCR_VC_BIND_* bits) to a verified credential expiring
 * at expires (skew added to what is remembered, as the credential is accepted that long).
 * audiences are this endpoint's (policy->audiences). False with *why when the credential
 * satisfies none of the configured bindings or its aud / cnf is malformed. */
bool dcr_vc_check_binding(apr_pool_t *pool, const dcr_vc_claims *c, unsigned binding,
                          const apr_array_header_t *audiences, long long expires, long long skew,
                          dcr_vc_bound *out, const char **why);

/* Parses a DCRVCBinding value ("aud", "cnf", "aud cnf", "any"): the bits, or 0 when the
 * words are wrong (any with another word, unknown words, none). */
unsigned dcr_vc_binding_parse(apr_pool_t *pool, const char *words);

#endif
