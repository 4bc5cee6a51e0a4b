/* The per-VirtualHost rules as the core sees them. The httpd glue fills one of these from the
 * directives (src/apache/config.c); tests fill it by hand. Nothing here knows httpd. */
#ifndef DCR_POLICY_H
#define DCR_POLICY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <stdbool.h>

struct dcr_spiffe_trust; /* src/spiffe.h: trust domains, bundles, SPIFFE ID patterns */
struct dcr_vc_trust;     /* src/vc.h: VC issuers and VC policy */
struct dcr_iat_set;      /* src/initial_access_token.h: DCRInitialAccessToken */

/* What a subject that registers again (same subject, same software_id) gets. */
typedef enum dcr_reregister {
    DCR_REREGISTER_REPLACE = 0, /* same client_id, new metadata and token (default: bounded) */
    DCR_REREGISTER_NEW,         /* always a new client */
    DCR_REREGISTER_REUSE,       /* the existing client as it is, with a new token */
} dcr_reregister;

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

    /* lifecycle (src/lifecycle.c) */
    dcr_reregister reregister;       /* DCRReregister (replace) */
    long long registration_lifetime; /* DCRRegistrationLifetime seconds; 0 = unlimited */
    long long max_registrations;     /* DCRMaxRegistrations; 0 = no ceiling */
    long long max_per_subject;       /* DCRMaxRegistrationsPerSubject; 0 = no ceiling, -1 = the
                                        default of dcr_policy_subject_ceiling */
    long long retry_after;           /* Retry-After seconds for 429 and 503 (60) */
    bool rotate_token_on_update;     /* DCRRotateTokenOnUpdate (Off) */
    long long refusal_limit;         /* DCRRefusalLimit count per client address; 0 = off */
    long long refusal_window;        /* ... in windows of this many seconds */

    /* DCRInitialAccessToken: the tokens a registration must present; NULL: none required */
    const struct dcr_iat_set *initial_access_tokens;
} dcr_policy;

/* Fills the defaults of DESIGN.md's directive table (audiences stay NULL: the glue sets the
 * endpoint URL as the default audience). */
void dcr_policy_defaults(apr_pool_t *pool, dcr_policy *policy);

/* True when at least one trust anchor (trust domain or VC issuer) is configured. */
/* Unset DCRMaxRegistrationsPerSubject: none under DCRReregister new (as ever); under replace
 * and reuse, where a copy of a statement registers a client of its own, this many. */
#define DCR_DEFAULT_SUBJECT_CEILING 10

/* The per-subject ceiling in force (0 = none). */
long long dcr_policy_subject_ceiling(const dcr_policy *policy);

bool dcr_policy_has_anchors(const dcr_policy *policy);

/* True when s equals one of the (const char *) elements of list (NULL list: false). */
bool dcr_str_in_list(const apr_array_header_t *list, const char *s);

/* Splits a space-separated word list into a new array (empty words skipped). */
apr_array_header_t *dcr_words(apr_pool_t *pool, const char *words);

#endif
