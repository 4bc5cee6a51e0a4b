/* RFC 7591 client metadata: validation, the statement-wins merge, and policy substitution.
 * Digest: ../shared/spec/oauth_vc.md sections 1 and 4.7. */
#ifndef DCR_METADATA_H
#define DCR_METADATA_H

#include "error.h"
#include "policy.h"

#include <jansson.h>

/* Builds the metadata to register from the request object and (optionally) the verified
 * statement's metadata claims, which take precedence member by member (RFC 7591 3.1.1). Both
 * go through the same validation and policy. Members the server does not understand are
 * dropped; values outside policy are replaced or dropped as RFC 7591 allows, so the result is
 * exactly what was registered.
 *
 * forced_auth_method: when not NULL, token_endpoint_auth_method is set to it whatever was asked
 * (SPIFFE clients); when NULL the default rule applies (no secrets: private_key_jwt with jwks /
 * jwks_uri, else none). A client that ends up public (none) loses client_credentials
 * (dcr_grants_public_client). URL members must not name internal hosts (dcr_web_url_problem).
 *
 * Returns a new object owned by pool, or NULL with err set (invalid_redirect_uri or
 * invalid_client_metadata). Server-managed members (client_id, registration_access_token,
 * software_statement, ...) are never taken from the input. */
json_t *dcr_metadata_register(apr_pool_t *pool, const json_t *request, const json_t *statement,
                              const dcr_policy *policy, const char *forced_auth_method,
                              dcr_error *err);

/* Validates one redirect URI by the rules of oauth_vc.md 4.7 (https; http only on loopback;
 * private-use schemes only when listed; no fragment, no userinfo). application_type is "web",
 * "native" or NULL. Returns false with err = invalid_redirect_uri. */
bool dcr_metadata_check_redirect_uri(const char *uri, const char *application_type,
                                     const dcr_policy *policy, dcr_error *err);

/* True when name is a client metadata member this server understands, with or without a
 * #language-tag suffix where the base member is human-readable. VC metadata harvesting uses it
 * as its whitelist. */
bool dcr_metadata_is_known(const char *name);

#endif
