/* Keycloak's side of one client (upstream_keycloak.c): where the admin REST API of a realm is,
 * which Keycloak clientId a registration gets, the ClientRepresentation built from vetted RFC
 * 7591 metadata and the metadata read back from what Keycloak holds, the lookup answers, and
 * Keycloak's error bodies as RFC 7591 errors. No I/O here, so all of it is unit-tested.
 * Follows the admin REST API of Keycloak 26.4 (docs/upstream.md). */
#ifndef DCR_KEYCLOAK_CLIENT_H
#define DCR_KEYCLOAK_CLIENT_H

#include "client.h"
#include "error.h"
#include "upstream.h"

#include <apr_pools.h>
#include <jansson.h>
#include <stdbool.h>

#define DCR_KC_FEDERATED "federated-jwt"
#define DCR_KC_ATTR_ISSUER "jwt.credential.issuer"
#define DCR_KC_ATTR_SUB "jwt.credential.sub"

/* "https://kc/admin/realms/<realm>" for a realm URL "https://kc[/ctx]/realms/<realm>" (one
 * trailing slash allowed), NULL for any other shape (also a query, a fragment, userinfo or a
 * realm name with characters that would need escaping in a path). */
const char *dcr_keycloak_admin_base(apr_pool_t *pool, const char *realm_url);

/* The realm's token endpoint: <realm URL>/protocol/openid-connect/token. */
const char *dcr_keycloak_token_url(apr_pool_t *pool, const char *realm_url);

/* The Keycloak clientId of c: "spiffe-" + hex SHA-256 of the SPIFFE ID for a SPIFFE client
 * (stable: a second registration of the same ID finds the same client, and a race between
 * two children ends in Keycloak's 409 rather than two clients), else "dcr-" + a random id.
 * NULL only when the CSPRNG fails. */
const char *dcr_keycloak_client_id_for(apr_pool_t *pool, const dcr_client *c);

/* A new random UUID (version 4) for a client's internal id; NULL when the CSPRNG fails. */
const char *dcr_keycloak_new_uuid(apr_pool_t *pool);

/* True when s is a plausible Keycloak internal id (1 to 64 of [A-Za-z0-9-]): it goes into
 * request paths, so nothing else is ever accepted from an answer or a record. */
bool dcr_keycloak_id_valid(const char *s);

/* Whether c is registered through federated-jwt (a SPIFFE client). */
bool dcr_keycloak_is_spiffe(const dcr_client *c);

/* Whether the metadata's token_endpoint_auth_method takes a client secret at Keycloak
 * (client_secret_basic, client_secret_post, client_secret_jwt); never for a SPIFFE client. */
bool dcr_keycloak_needs_secret(const dcr_client *c, const json_t *metadata);

/* The ClientRepresentation for metadata (the vetted request metadata). id: the internal id to
 * create or update; secret: the client secret to set, or NULL (keep Keycloak's); create: a new
 * client (enabled true), else an update (enabled left alone: an administrator's disable
 * stays). Every flow flag is explicit, since Keycloak turns the standard flow and direct
 * access grants on for a client that does not say. false with invalid_client_metadata for
 * what Keycloak cannot take (an unknown grant type or auth method, private_key_jwt without
 * keys). New object owned by pool. */
json_t *dcr_keycloak_representation(apr_pool_t *pool, const dcr_upstream *up, const dcr_client *c,
                                    const json_t *metadata, const char *kc_client_id,
                                    const char *id, const char *secret, bool create,
                                    dcr_error *err);

/* Checks a ClientRepresentation Keycloak returned for the client we asked for (clientId, id,
 * and for a SPIFFE client the authenticator and both attributes); NULL when it is, else why
 * not (for the log). */
const char *dcr_keycloak_check(const json_t *rep, const dcr_upstream *up, const dcr_client *c,
                               const char *kc_client_id, const char *id);

/* The metadata as Keycloak confirmed it: requested with the members Keycloak keeps (client
 * name and URI, redirect URIs, grant and response types, auth method, keys, logo/tos/policy
 * URIs) as rep says. New object owned by pool. */
json_t *dcr_keycloak_confirmed(apr_pool_t *pool, const dcr_client *c, const json_t *requested,
                               const json_t *rep);

typedef enum dcr_keycloak_match {
    DCR_KC_NONE = 0, /* no client */
    DCR_KC_OURS,     /* exactly one, with our clientId: *rep */
    DCR_KC_FOREIGN,  /* a client this module did not make (*foreign names it) */
    DCR_KC_BAD,      /* not a JSON array of client representations */
} dcr_keycloak_match;

/* The answer of GET /clients?q=... or ?clientId=... (a JSON array): is there a client, and is
 * it ours (clientId kc_client_id)? Any other client in the list is foreign, ours or not. */
dcr_keycloak_match dcr_keycloak_pick(apr_pool_t *pool, const char *body, size_t len,
                                     const char *kc_client_id, json_t **rep, const char **foreign);

/* Keycloak's error answer to an admin call as an RFC 7591 error in err: a 400 with
 * {"errorMessage", "field"?} or {"error", "error_description"} is the client's metadata
 * (invalid_redirect_uri when it is about redirect URIs, the RFC 7591 code Keycloak named, else
 * invalid_client_metadata) with Keycloak's message, bounded and printable; anything else
 * (401/403: the service account, 404, 409, 5xx, unreadable) temporarily_unavailable. Always
 * false. */
bool dcr_keycloak_error(apr_pool_t *pool, const char *what, long status, const char *body,
                        size_t len, dcr_error *err);

/* The query of the search for clients whose jwt.credential.sub is sub:
 * "q=" + escape(jwt.credential.sub:"<sub>") with '"' and '\\' escaped as Keycloak's
 * SearchQueryUtils reads them, "&first=0&max=20". */
const char *dcr_keycloak_sub_query(apr_pool_t *pool, const char *sub);

/* application/x-www-form-urlencoded / query escaping of s. */
const char *dcr_keycloak_escape(apr_pool_t *pool, const char *s);

#endif
