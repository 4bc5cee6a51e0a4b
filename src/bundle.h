/* SPIFFE trust bundles (Trust_Domain_and_Bundle section 4) and plain JWK Sets (SPIRE's OIDC
 * discovery provider /keys), reduced to the keys that may verify JWT-SVIDs. */
#ifndef DCR_BUNDLE_H
#define DCR_BUNDLE_H

#include "jws.h"

#include <apr_pools.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct dcr_spiffe_bundle {
    dcr_jwks *jwt_keys;     /* use=jwt-svid keys (SPIFFE shape) or use-less/sig keys (plain) */
    bool spiffe_shape;      /* spiffe_* members or SVID uses seen */
    long long sequence;     /* spiffe_sequence, -1 when absent */
    long long refresh_hint; /* spiffe_refresh_hint seconds, -1 when absent */
    int skipped;            /* bad or unusable entries dropped with a warning */
} dcr_spiffe_bundle;

/* Parses a bundle document. Bad single entries are skipped and reported through warn (may be
 * NULL); a document that is not JSON, not a JWK Set or holds duplicate kids fails with *why.
 * An empty key list is valid (every key revoked). */
dcr_spiffe_bundle *dcr_spiffe_bundle_parse(apr_pool_t *pool, const char *buf, size_t len,
                                           void (*warn)(void *baton, const char *msg), void *baton,
                                           const char **why);

#endif
