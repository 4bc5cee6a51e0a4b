/* A remote trust source: a SPIFFE bundle endpoint or a JWKS URL named by DCRTrustDomain or
 * DCRVCIssuer, with its refresh state (../shared/spec/spiffe.md section 4, oauth_vc.md 7.3).
 * One process (the glue's watchdog) fetches and validates; the result is published in a shared
 * dcr_trust_slot; every process parses the published document once per version and hands the
 * key set to requests, reference counted (threads of one child share it). */
#ifndef DCR_TRUST_SOURCE_H
#define DCR_TRUST_SOURCE_H

#include "fetch.h"
#include "jws.h"
#include "trust_slot.h"

#include <apr_pools.h>
#include <stdbool.h>

typedef enum dcr_trust_kind {
    DCR_TRUST_SPIFFE_BUNDLE, /* DCRTrustDomain <td> https://...: SPIFFE bundle endpoint */
    DCR_TRUST_TD_JWKS,       /* DCRTrustDomain <td> jwks:https://...: plain JWKS (SPIRE OIDC) */
    DCR_TRUST_VC_JWKS,       /* DCRVCIssuer <iss> jwks:https://... */
    DCR_TRUST_DOCUMENT,      /* another JSON document (DCRMetadataDocument https://...),
                                checked by the owner's dcr_trust_doc_check */
} dcr_trust_kind;

/* Validation of a DCR_TRUST_DOCUMENT answer: false with *why refuses it (the last good one
 * stays). Runs in the fetching process and, for the published version, in every reader. */
typedef bool (*dcr_trust_doc_check)(void *ctx, apr_pool_t *pool, const char *buf, size_t len,
                                    const char **why);

typedef struct dcr_trust_limits {
    long long refresh_min, refresh_max; /* DCRTrustRefresh (60 3600) */
    long long max_stale;                /* DCRTrustMaxStale (86400) */
} dcr_trust_limits;

#define DCR_TRUST_DEFAULT_INTERVAL 300 /* when the source gives no hint */
#define DCR_TRUST_KID_EVERY_MS 30000   /* unknown-kid refreshes of one source, at most */
#define DCR_TRUST_KID_WAIT_MS 2000     /* how long a request waits for such a refresh */

typedef struct dcr_trust_source dcr_trust_source;

void dcr_trust_limits_defaults(dcr_trust_limits *l);

/* owner names the directive's subject for messages ("trust domain example.org"). url must be
 * https (checked here; *why otherwise). fetch is copied, with the URL's own origin counting as
 * listed in DCRFetchAllow. */
dcr_trust_source *dcr_trust_source_create(apr_pool_t *pool, const char *owner, dcr_trust_kind kind,
                                          const char *url, const dcr_fetch_conf *fetch,
                                          const dcr_trust_limits *limits, const char **why);
/* The check of a DCR_TRUST_DOCUMENT source (required before the first fetch; ctx must live as
 * long as the source). check_id names what it accepts (the issuer a metadata document must
 * name) and becomes part of the source's key: a graceful restart that changes it starts from a
 * fresh slot, and sources of one URL with different checks do not share one. Set it before
 * the source is attached. */
void dcr_trust_source_set_check(dcr_trust_source *src, dcr_trust_doc_check check, void *ctx,
                                const char *check_id);
dcr_trust_kind dcr_trust_source_kind(const dcr_trust_source *src);

/* A seed document (file contents) used until the first fetch succeeds. */
bool dcr_trust_source_seed(dcr_trust_source *src, const char *buf, size_t len, const char **why);

/* seed=required: the first fetch must succeed before the server starts (the glue does it). */
void dcr_trust_source_set_required(dcr_trust_source *src);
bool dcr_trust_source_required(const dcr_trust_source *src);

const char *dcr_trust_source_url(const dcr_trust_source *src);
const char *dcr_trust_source_owner(const dcr_trust_source *src);
/* Hex SHA-256 of the kind, URL and fetch configuration: the slot a source publishes in, so a
 * graceful restart with the same source keeps its keys and a changed one starts fresh. */
const char *dcr_trust_source_key(const dcr_trust_source *src);
void dcr_trust_source_attach(dcr_trust_source *src, dcr_trust_slot *slot);
dcr_trust_slot *dcr_trust_source_slot(const dcr_trust_source *src);
bool dcr_trust_source_has_seed(const dcr_trust_source *src);

/* Request side. The key set in force at now (seconds), valid until rpool is destroyed; NULL
 * with *why when there is none: never fetched and no seed, or stale beyond max_stale. */
const dcr_jwks *dcr_trust_source_keys(dcr_trust_source *src, apr_pool_t *rpool, long long now,
                                      const char **why);
/* Request side of a DCR_TRUST_DOCUMENT source: a copy of the published document in rpool
 * (*len bytes, NUL-terminated), under the same stale limit as keys. NULL with *why when there
 * is none: never fetched successfully, or stale beyond max_stale. */
const char *dcr_trust_source_doc(dcr_trust_source *src, apr_pool_t *rpool, long long now,
                                 size_t *len, const char **why);

/* A statement named a kid the key set lacks: asks the fetcher for one refresh (at most once
 * per DCR_TRUST_KID_EVERY_MS per source) and waits for it, bounded; a request arriving while
 * no such refresh is in flight and the rate limit holds returns at once. True when a new
 * version was published meanwhile (look the kid up again). */
bool dcr_trust_source_kid_miss(dcr_trust_source *src);

/* Fetcher side (one process). Whether a refresh is due at now (its interval passed, or an
 * unknown kid asked). */
bool dcr_trust_source_due(const dcr_trust_source *src, long long now);

/* What a refresh did, for the log: changed is set when the state differs from the previous
 * attempt's (logged once per change, not once per attempt). */
typedef struct dcr_trust_report {
    bool changed, failed;
    const char *msg;
} dcr_trust_report;

/* Fetches the source through src/fetch and applies the answer. */
void dcr_trust_source_refresh(dcr_trust_source *src, apr_pool_t *pool, long long now,
                              dcr_trust_report *report);
/* Applies one fetch answer (st, res, fetch_why as dcr_fetch_get returned them): validated with
 * the same rules as a file; published when good, newer-or-equal in spiffe_sequence and
 * different; the last good set kept otherwise. */
void dcr_trust_source_apply(dcr_trust_source *src, apr_pool_t *pool, long long now,
                            dcr_fetch_status st, const dcr_fetch_result *res, const char *fetch_why,
                            dcr_trust_report *report);

/* Refresh interval for a hint in seconds (-1: none) within the limits. */
long long dcr_trust_interval(const dcr_trust_limits *l, long long hint);

#endif
