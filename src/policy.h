/* The per-VirtualHost rules as the core sees them. The httpd glue fills one of these from the
 * directives (src/apache/config.c); tests fill it by hand. Nothing here knows httpd. */
#ifndef DCR_POLICY_H
#define DCR_POLICY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <stdbool.h>

struct dcr_spiffe_trust; /* src/spiffe.h: trust domains, bundles, SPIFFE ID patterns */
struct dcr_vc_trust;     /* src/vc.h: VC issuers and VC policy */

typedef struct dcr_policy {
    /* RFC 7591 metadata policy */
    const apr_array_header_t *grant_types;      /* allowed grant types (const char *) */
    const apr_array_header_t *response_types;   /* allowed response types */
    const apr_array_header_t *redirect_schemes; /* extra private-use redirect schemes */

    /* software statements */
    bool require_statement;                /* DCRRequireStatement (On) */
    long long clock_skew;                  /* DCRClockSkew seconds (60) */
    long long max_statement_lifetime;      /* DCRMaxStatementLifetime, exp - iat (3600) */
    const apr_array_header_t *audiences;   /* accepted aud values; never empty when checked */
    const char *spiffe_auth_method;        /* DCRSpiffeAuthMethod (spiffe_jwt) */
    const struct dcr_spiffe_trust *spiffe; /* NULL: no trust domain configured */
    const struct dcr_vc_trust *vc;         /* NULL: no VC issuer configured */
} dcr_policy;

/* Fills the defaults of DESIGN.md's directive table (audiences stay NULL: the glue sets the
 * endpoint URL as the default audience). */
void dcr_policy_defaults(apr_pool_t *pool, dcr_policy *policy);

/* True when at least one trust anchor (trust domain or VC issuer) is configured. */
bool dcr_policy_has_anchors(const dcr_policy *policy);

/* True when s equals one of the (const char *) elements of list (NULL list: false). */
bool dcr_str_in_list(const apr_array_header_t *list, const char *s);

/* Splits a space-separated word list into a new array (empty words skipped). */
apr_array_header_t *dcr_words(apr_pool_t *pool, const char *words);

#endif
