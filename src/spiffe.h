/* SPIFFE trust for one VirtualHost and the JWT-SVID software statement profile
 * (../shared/spec/spiffe.md). Trust domains are never pooled: each keeps its own bundle and
 * `iss` rule, and a token's keys come only from the trust domain its `sub` names. Built at
 * configuration time, read-only afterwards (safe to share between threads). */
#ifndef DCR_SPIFFE_H
#define DCR_SPIFFE_H

#include "bundle.h"
#include "spiffe_id.h"

#include <apr_pools.h>
#include <stdbool.h>

struct dcr_spiffe_trust;
typedef struct dcr_spiffe_trust dcr_spiffe_trust;

dcr_spiffe_trust *dcr_spiffe_trust_create(apr_pool_t *pool);

/* Trusts td with bundle. issuer (may be NULL): when set, `iss` must be present and equal to
 * it; when NULL, `iss` may be absent and, if present, must equal spiffe://<td>. Refuses an
 * invalid or already added trust domain. */
bool dcr_spiffe_trust_add_domain(dcr_spiffe_trust *trust, const char *td,
                                 const dcr_spiffe_bundle *bundle, const char *issuer,
                                 const char **why);

/* Trusts td with the keys of a remote source (src/trust_source.h), read at each use. */
struct dcr_trust_source;
bool dcr_spiffe_trust_add_remote(dcr_spiffe_trust *trust, const char *td,
                                 struct dcr_trust_source *source, const char *issuer,
                                 const char **why);

/* Adds a DCRAllowSpiffeID pattern (see dcr_spiffe_pattern_parse). A trust domain with no
 * pattern admits all its IDs; one with patterns admits only matching IDs. */
bool dcr_spiffe_trust_add_pattern(dcr_spiffe_trust *trust, const char *pattern, const char **why);

/* The bundle file of td, NULL when td is not trusted or has a remote source. */
const dcr_spiffe_bundle *dcr_spiffe_trust_bundle(const dcr_spiffe_trust *trust, const char *td);
/* Whether td is trusted (a file or a remote source). */
bool dcr_spiffe_trust_has(const dcr_spiffe_trust *trust, const char *td);
int dcr_spiffe_trust_count(const dcr_spiffe_trust *trust);

/* True when the ID passes the patterns of its trust domain (no path: never). */
bool dcr_spiffe_trust_allows(const dcr_spiffe_trust *trust, const dcr_spiffe_id *id);

/* dcr_spiffe_verify_statement is declared in statement.h. */

#endif
