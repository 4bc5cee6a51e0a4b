/* SPIFFE ID syntax (SPIFFE-ID.md section 2) and DCRAllowSpiffeID patterns. Strict like
 * go-spiffe plus the length caps: exact `spiffe://`, lowercase trust domain, no percent
 * encoding, no dot or empty segments, never normalised, compared byte for byte. */
#ifndef DCR_SPIFFE_ID_H
#define DCR_SPIFFE_ID_H

#include <apr_pools.h>
#include <stdbool.h>
#include <stddef.h>

#define DCR_SPIFFE_ID_MAX 2048
#define DCR_SPIFFE_TD_MAX 255

typedef struct dcr_spiffe_id {
    const char *id;           /* the whole ID, NUL-terminated copy */
    const char *trust_domain; /* between `spiffe://` and the first `/` */
    const char *path;         /* "" when the ID names only the trust domain */
} dcr_spiffe_id;

/* Parses (s, len) (embedded NUL bytes are refused, never truncated). On failure returns false
 * with *why (static string) set. out may be NULL to only validate. */
bool dcr_spiffe_id_parse(apr_pool_t *pool, const char *s, size_t len, dcr_spiffe_id *out,
                         const char **why);

/* True when (s, len) is a valid trust domain name (1..255 bytes of a-z 0-9 . - _). */
bool dcr_spiffe_td_valid(const char *s, size_t len);

/* A DCRAllowSpiffeID pattern: `spiffe://td/path` (exact), or the same ending in slash-star
 * (any ID whose path continues below the prefix with whole segments). */
typedef struct dcr_spiffe_pattern {
    const char *trust_domain;
    const char *prefix; /* exact ID, or the prefix ending in '/' for wildcards */
    bool wildcard;
} dcr_spiffe_pattern;

bool dcr_spiffe_pattern_parse(apr_pool_t *pool, const char *s, dcr_spiffe_pattern *out,
                              const char **why);
bool dcr_spiffe_pattern_match(const dcr_spiffe_pattern *p, const dcr_spiffe_id *id);

#endif
