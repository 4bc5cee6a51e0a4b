/* Authorization server metadata (RFC 8414, and the OpenID Connect discovery document) as this
 * module serves it in front of an authorization server: the AS's own document, checked to name
 * this server's origin as issuer (RFC 8414 3.3), with registration_endpoint pointing at this
 * module and token_endpoint_auth_methods_supported cut down to what this module may register.
 * httpd-free: the glue (src/apache/metadata_*.c) gives the document and the rules. */
#ifndef DCR_AS_METADATA_H
#define DCR_AS_METADATA_H

#include "policy.h"

#include <apr_pools.h>
#include <apr_tables.h>
#include <stdbool.h>
#include <stddef.h>

#define DCR_AS_METADATA_WELL_KNOWN "/.well-known/oauth-authorization-server"
#define DCR_OIDC_WELL_KNOWN "/.well-known/openid-configuration"

typedef enum dcr_as_metadata_kind {
    DCR_AS_METADATA_OAUTH, /* RFC 8414 3.1: /.well-known/oauth-authorization-server + issuer path */
    DCR_AS_METADATA_OIDC,  /* OpenID Connect Discovery 4: issuer + /.well-known/openid-... */
} dcr_as_metadata_kind;

/* The issuer path ("" for an issuer without one) that a metadata URL path implies, with its
 * kind; NULL when the path is neither form (or has "//", "." or ".." segments). */
const char *dcr_as_metadata_issuer_path(apr_pool_t *pool, const char *path,
                                        dcr_as_metadata_kind *kind);

typedef struct dcr_as_metadata_rules {
    const char *issuer;                /* the issuer the document must name exactly */
    const char *registration_endpoint; /* this module's endpoint */
    const apr_array_header_t *methods; /* auth methods this module may register (const char *) */
} dcr_as_metadata_rules;

/* Checks a document: one JSON object (duplicate members refused), issuer a string equal to
 * rules->issuer, token_endpoint_auth_methods_supported absent or an array of strings. */
bool dcr_as_metadata_check(apr_pool_t *pool, const char *buf, size_t len,
                           const dcr_as_metadata_rules *rules, const char **why);

/* dcr_as_metadata_check in the shape of a trust source's document check (ctx: the rules). */
bool dcr_as_metadata_trust_check(void *ctx, apr_pool_t *pool, const char *buf, size_t len,
                                 const char **why);

/* The document as served (compact JSON in pool, *out_len bytes), NULL with *why when the check
 * fails. registration_endpoint is set to the rules'; token_endpoint_auth_methods_supported is
 * the document's list (RFC 8414's default client_secret_basic when absent) keeping only
 * rules->methods, in the document's order (possibly empty); signed_metadata is dropped (its
 * signed values would override the rewritten ones) and so is a registration_endpoint in
 * mtls_endpoint_aliases (RFC 8705 5), which would send clients past this module. */
char *dcr_as_metadata_render(apr_pool_t *pool, const char *buf, size_t len,
                             const dcr_as_metadata_rules *rules, size_t *out_len, const char **why);

/* The token endpoint auth methods this module may register under policy: DCRSpiffeAuthMethod
 * where trust domains are configured; with VC issuers DCRVCAuthMethod and private_key_jwt (a
 * holder key) when it is set, else the default rule's; with open registration
 * (DCRRequireStatement Off) the default rule's: none, private_key_jwt, tls_client_auth,
 * self_signed_tls_client_auth (src/auth_method.c). */
apr_array_header_t *dcr_as_metadata_methods(apr_pool_t *pool, const dcr_policy *policy);

#endif
