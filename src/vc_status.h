/* Revocation and suspension of a verified VC (oauth_vc.md 6): W3C Bitstring Status List and
 * StatusList2021 entries in credentialStatus, and the IETF Token Status List claim
 * status.status_list. Lists are signed documents verified with the configured issuer trust on
 * every use; the raw list is cached (DCRCache) for its ttl within the configured bounds. */
#ifndef DCR_VC_STATUS_H
#define DCR_VC_STATUS_H

#include "statement.h"
#include "vc.h"
#include "vc_payload.h"

/* True when no status entry of c says revoked or suspended. A list that cannot be fetched is
 * temporarily_unavailable (or skipped with a warning under DCRVCStatusUnavailable allow);
 * everything else wrong is invalid_software_statement. */
bool dcr_vc_check_status(const dcr_statement_ctx *ctx, const struct dcr_vc_trust *trust,
                         const dcr_vc_issuer *issuer, const dcr_vc_claims *c, dcr_error *err);

/* The cache key a status list URL is stored under (tests prime the cache with it). */
const char *dcr_vc_status_cache_key(apr_pool_t *pool, const char *url);

#endif
