/* grant_types and response_types: the consistency table of RFC 7591 section 2.1 (extended to
 * the OIDC hybrid response types) and the per-vhost policy filter. */
#ifndef DCR_GRANTS_H
#define DCR_GRANTS_H

#include "error.h"
#include "policy.h"

#include <apr_pools.h>
#include <jansson.h>
#include <stdbool.h>

/* What a response type value needs: "code" in it needs authorization_code; "token" or
 * "id_token" in it needs implicit (so "code id_token" needs both). */
void dcr_response_type_needs(const char *response_type, bool *needs_code, bool *needs_implicit);

/* Resolves the registered lists. grant_types / response_types are the request values (NULL
 * when omitted; must then be arrays of strings). Defaults: grant_types [authorization_code];
 * response_types derived from the grants (code for authorization_code, token for implicit, []
 * otherwise). A request that contradicts the table is invalid_client_metadata. Values outside
 * the policy are dropped, and so is whatever only made sense with a dropped value; when no
 * usable grant type remains (or only refresh_token) it is invalid_client_metadata.
 * On success *grants_out and *responses_out are new arrays owned by pool. */
bool dcr_grants_resolve(apr_pool_t *pool, const json_t *grant_types, const json_t *response_types,
                        const dcr_policy *policy, json_t **grants_out, json_t **responses_out,
                        dcr_error *err);

/* RFC 6749 4.4: client_credentials only for confidential clients. When auth_method is "none"
 * (a public client) the grant is dropped from the resolved list like any out-of-policy grant;
 * when nothing usable is left (nothing, or only refresh_token) it is invalid_client_metadata. */
bool dcr_grants_public_client(json_t *grants, const char *auth_method, dcr_error *err);

/* For DCRAllowedGrantTypes: a grant type RFC 7591 section 2 names (authorization_code,
 * implicit, password, client_credentials, refresh_token, the JWT and SAML bearer URNs) or any
 * other absolute URI (extension grants, RFC 6749 section 4.5). So a typo such as
 * "client_credential" is caught when the configuration is read. */
bool dcr_grant_type_known(const char *grant_type);

/* For DCRAllowedResponseTypes: code, token, id_token, a space-separated combination of them
 * (OIDC hybrid), or none alone. */
bool dcr_response_type_known(const char *response_type);

/* True when the (resolved) grant list holds a redirect-based grant. */
bool dcr_grants_need_redirect(const json_t *grants);

#endif
