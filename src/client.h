/* The client record: identifiers, the registration access token (only its hash is kept), the
 * registered metadata, and the versioned JSON record that stores hold and that an
 * authorization server reads later (docs/record.md). */
#ifndef DCR_CLIENT_H
#define DCR_CLIENT_H

#include "error.h"

#include <apr_pools.h>
#include <jansson.h>
#include <stdbool.h>

#define DCR_RECORD_VERSION 2  /* written; version 1 records are still read */
#define DCR_TOKEN_HASH_HEX 64 /* SHA-256 in lowercase hex */

typedef struct dcr_client {
    const char *client_id;
    long long issued_at;                      /* client_id_issued_at, seconds since the epoch */
    long long expires_at;                     /* registration lifetime end; 0 = never */
    char rat_hash[DCR_TOKEN_HASH_HEX + 1];    /* hex SHA-256 of the registration access token */
    char secret_hash[DCR_TOKEN_HASH_HEX + 1]; /* hex SHA-256 of the client_secret; "" none:
                                                 only where policy explicitly allows secrets */
    const char *subject_kind;                 /* "spiffe", "vc" or NULL (no statement) */
    const char *subject;                      /* SPIFFE ID or VC subject */
    const char *issuer;                       /* trust domain or VC issuer */
    json_t *metadata;  /* everything echoed to the client: registered metadata, software_statement,
                          spiffe_id / vc_issuer / vc_subject; owned by the pool it came from */
    json_t *statement; /* what the statement vouched for, kept for RFC 7592 updates:
                          {"claims": {...}, "extensions": {...}, "auth_method": "..."};
                          NULL for a client registered without a statement */
    const char *endpoint; /* the registration endpoint URL that manages this client (the base of
                             its registration_client_uri); NULL: not bound yet (a version 1
                             record), bound by the first endpoint that authenticates it */
    char statement_hash[DCR_TOKEN_HASH_HEX + 1]; /* hex SHA-256 of the statement that last wrote
                                                    the client; "" none (or version 1) */
    long long statement_iat; /* that statement's issue time (dcr_identity.iat) */
    json_t *upstream; /* DCRUpstream: the upstream's client as the record names it ({"kind",
                         "client_id", ...}, src/upstream.h); NULL for a client of this module */
    const char *upstream_secret; /* the upstream's secrets for it (JSON text): kept by the SQL
                                    stores beside the record, never in it; NULL none (or not
                                    loaded: find_clients leaves it out) */
} dcr_client;

/* New random identifiers from the OpenSSL CSPRNG, unpadded base64url, never "https://": ids
 * are 24 bytes (32 characters), tokens 32 bytes (43 characters). NULL only if the CSPRNG
 * fails. */
char *dcr_client_new_id(apr_pool_t *pool);
char *dcr_client_new_token(apr_pool_t *pool);

/* The client_id the client knows: the upstream's for a forwarded registration, else ours. */
const char *dcr_client_public_id(const dcr_client *c);

/* The registration_client_uri: endpoint_url, "/" and the public client_id percent-encoded as
 * a path segment. */
char *dcr_client_uri(apr_pool_t *pool, const char *endpoint_url, const dcr_client *c);

/* Hex SHA-256 of a token into out (DCR_TOKEN_HASH_HEX + 1 bytes). */
void dcr_token_hash(const char *token, char *out);

/* Constant-time check of a presented token against the stored hash. */
bool dcr_client_token_matches(const dcr_client *c, const char *token);

/* Constant-time check of a presented client_secret against the stored hash (false when the
 * client has none). */
bool dcr_client_secret_matches(const dcr_client *c, const char *secret);

/* Whether a returning subject's registration (incoming, carrying its statement's hash and iat
 * and the endpoint it came to) may rewrite existing (DCRReregister replace/reuse): only at the
 * endpoint existing is bound to, and only with a statement never seen on existing and issued
 * later than the one that last wrote it. A copy of an earlier statement never qualifies, nor
 * does a record without a statement hash (version 1). docs/security.md. */
bool dcr_client_may_rewrite(const dcr_client *existing, const dcr_client *incoming);

/* Subject key that stores index ("spiffe <id>", "vc <issuer> <subject>"); NULL without subject. */
const char *dcr_client_subject_key(apr_pool_t *pool, const dcr_client *c);

/* The stored record as JSON text, and back. from_json refuses unknown versions and malformed
 * records with a server_error. */
char *dcr_client_to_record(apr_pool_t *pool, const dcr_client *c);
dcr_client *dcr_client_from_record(apr_pool_t *pool, const char *record, size_t len,
                                   dcr_error *err);

/* The RFC 7591/7592 response object: metadata, client_id, client_id_issued_at,
 * registration_client_uri and (when token is not NULL) registration_access_token. Owned by
 * pool. */
json_t *dcr_client_response(apr_pool_t *pool, const dcr_client *c, const char *token,
                            const char *client_uri);

#endif
