/* token_endpoint_auth_method: this module issues no client secret, so methods that need one
 * are replaced (RFC 7591 lets a server substitute values) and the response says what was
 * registered. */
#ifndef DCR_AUTH_METHOD_H
#define DCR_AUTH_METHOD_H

#include "error.h"

#include <jansson.h>
#include <stdbool.h>

/* Decides the method from the merged, type-checked metadata (jwks already validated) and sets
 * it in out, with the one tls_client_auth_* companion when tls_client_auth is kept.
 * forced (SPIFFE clients) wins when not NULL. Otherwise: private_key_jwt needs jwks/jwks_uri
 * (else invalid_client_metadata); none is kept; tls_client_auth is kept with exactly one
 * companion, self_signed_tls_client_auth with a jwks key carrying x5c; everything else that is
 * known (omitted, client_secret_*, failed TLS methods) becomes private_key_jwt when keys are
 * given, else none. Unknown values are invalid_client_metadata. */
bool dcr_auth_method_resolve(const json_t *merged, const char *forced, json_t *out, dcr_error *err);

/* True for the tls_client_auth companion members of RFC 8705 section 2.1.2. */
bool dcr_auth_method_is_tls_companion(const char *name);

#endif
