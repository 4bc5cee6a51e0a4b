/* Software statement dispatch: look at the unverified statement only to pick its profile
 * (SPIFFE JWT-SVID or VC-JWT), let that profile verify it against this vhost's anchors, and
 * return the verified identity and metadata claims. */
#ifndef DCR_STATEMENT_H
#define DCR_STATEMENT_H

#include "error.h"
#include "log.h"
#include "policy.h"

#include <apr_pools.h>
#include <jansson.h>
#include <stdbool.h>

struct dcr_cache; /* src/cache.h: shared non-durable cache (status lists, fetched keys) */

typedef enum dcr_identity_kind {
    DCR_IDENTITY_NONE = 0,
    DCR_IDENTITY_SPIFFE,
    DCR_IDENTITY_VC,
} dcr_identity_kind;

typedef struct dcr_identity {
    dcr_identity_kind kind;
    const char *subject;     /* SPIFFE ID, or the VC subject */
    const char *issuer;      /* trust domain, or the VC issuer */
    json_t *metadata;        /* client metadata claims from the statement (pool-owned object) */
    json_t *extensions;      /* extra response members: spiffe_id, vc_issuer, vc_subject ... */
    const char *auth_method; /* forced token_endpoint_auth_method, or NULL for the default rule */
    long long iat; /* when the statement was issued (JWT iat; for a VC without one, validFrom,
                      nbf or issuanceDate), 0 when it says nothing: orders re-registrations */
    long long single_use_until; /* a VC bound only by aud: registers once, remembered until
                                   then (src/statement_memory.h); 0: not single use */
} dcr_identity;

typedef struct dcr_statement_ctx {
    apr_pool_t *pool; /* request pool */
    long long now;    /* seconds since the epoch, from the request */
    const dcr_policy *policy;
    const dcr_logger *log;
    struct dcr_cache *cache; /* may be NULL (no shared cache) */
    /* Set by dcr_statement_verify for the profile it calls: the header and payload of
     * peeked_jwt, already parsed to choose the profile (dcr_jws_parse_peeked) */
    const char *peeked_jwt;
    json_t *peeked_header, *peeked_payload;
} dcr_statement_ctx;

/* Verifies jwt (len bytes) against ctx->policy's anchors. On failure err carries
 * unapproved_software_statement (no trusted anchor for it / outside policy) or
 * invalid_software_statement (anything wrong with the statement itself), in the order of
 * judgement of DESIGN.md. */
bool dcr_statement_verify(const dcr_statement_ctx *ctx, const char *jwt, size_t len,
                          dcr_identity *out, dcr_error *err);

/* The profiles, called by the dispatcher (src/spiffe.c, src/vc.c). */
#define DCR_PEEKED(ctx, jwt, part) ((ctx)->peeked_jwt == (jwt) ? (ctx)->peeked_##part : NULL)
bool dcr_spiffe_verify_statement(const dcr_statement_ctx *ctx, const char *jwt, size_t len,
                                 dcr_identity *out, dcr_error *err);
bool dcr_vc_verify_statement(const dcr_statement_ctx *ctx, const char *jwt, size_t len,
                             dcr_identity *out, dcr_error *err);

#endif
