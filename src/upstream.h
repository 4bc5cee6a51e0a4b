/* An upstream authorization server that registrations are forwarded to (DCRUpstream): the
 * module vets a registration as always, then the upstream creates the client and the
 * workload gets the upstream's client_id. docs/upstream.md.
 *
 * An upstream kind (rfc7591: upstream_rfc7591.c, keycloak: upstream_keycloak.c) fills
 * dcr_upstream_ops: create, update and delete of one client, over src/fetch's rules. What the
 * upstream holds for a client lives on the dcr_client: its public part (kind, upstream
 * client_id, where to manage it) in the record JSON (c->upstream), its secrets (the upstream's
 * registration access token, a client_secret it issued) beside the record (c->upstream_secret),
 * never in it. */
#ifndef DCR_UPSTREAM_H
#define DCR_UPSTREAM_H

#include "client.h"
#include "error.h"
#include "fetch.h"
#include "log.h"

#include <apr_pools.h>
#include <jansson.h>
#include <stdbool.h>

struct dcr_cache;
typedef struct dcr_upstream_ops dcr_upstream_ops;

/* One VirtualHost's upstream, as the glue configured it (read-only at request time). */
typedef struct dcr_upstream {
    const dcr_upstream_ops *ops;
    const char *url;         /* rfc7591: the registration endpoint; keycloak: the realm URL */
    const char *origin;      /* "host:port" of url: counts as listed in DCRFetchAllow */
    const char *token;       /* DCRUpstreamToken: the initial access token (rfc7591), or NULL */
    const char *auth_method; /* DCRUpstreamAuthMethod: what SPIFFE clients are registered with
                                where the upstream has no SPIFFE client authentication */
    /* keycloak: DCRUpstreamCredentials and DCRUpstreamSpiffeIdP */
    const char *admin_client_id;
    const char *admin_secret;
    const char *spiffe_idp;
    dcr_fetch_conf fetch; /* DCRFetch* of the vhost, source_origin = origin, no redirects */
} dcr_upstream;

/* What one call needs besides the upstream. */
typedef struct dcr_upstream_call {
    apr_pool_t *pool;
    long long now;
    const dcr_upstream *up;
    struct dcr_cache *cache; /* shared across children (an admin token); may be NULL */
    const dcr_logger *log;
} dcr_upstream_call;

/* The upstream's answer for one client: what goes onto the dcr_client. */
typedef struct dcr_upstream_answer {
    const char *client_id; /* the upstream's client_id: what the workload gets */
    long long issued_at;   /* client_id_issued_at as the upstream said it; 0: not said */
    json_t *metadata;      /* the registered metadata as the upstream confirmed it, without
                              client_id, secrets, tokens and registration_client_uri (pool) */
    json_t *ref;           /* the record's public "upstream" member: {"kind", "client_id", and
                              what the kind needs to manage the client later} (pool) */
    const char *secret;    /* JSON text of the upstream's secrets for this client
                              ({"registration_access_token", "client_secret"}), or NULL */
} dcr_upstream_answer;

typedef enum dcr_upstream_gone {
    DCR_UPSTREAM_DELETED = 0, /* deleted now */
    DCR_UPSTREAM_ABSENT,      /* the upstream no longer knows it (or never will let us): done */
    DCR_UPSTREAM_FAILED,      /* down or refusing: try again later */
} dcr_upstream_gone;

struct dcr_upstream_ops {
    const char *kind; /* "rfc7591", "keycloak": the record's upstream.kind */
    /* Creates the client from metadata (dcr_upstream_request_metadata's, for c's identity).
     * false with err: the upstream's own 400 as that RFC 7591 error, anything else
     * temporarily_unavailable. */
    bool (*create)(const dcr_upstream_call *call, const dcr_client *c, const json_t *metadata,
                   dcr_upstream_answer *out, dcr_error *err);
    /* Replaces the metadata of c's upstream client (c->upstream, c->upstream_secret); a rotated
     * upstream token comes back in out->secret. */
    bool (*update)(const dcr_upstream_call *call, const dcr_client *c, const json_t *metadata,
                   dcr_upstream_answer *out, dcr_error *err);
    dcr_upstream_gone (*remove)(const dcr_upstream_call *call, const dcr_client *c, dcr_error *err);
};

extern const dcr_upstream_ops dcr_upstream_rfc7591_ops;
extern const dcr_upstream_ops dcr_upstream_keycloak_ops;

/* The ops of a kind name ("rfc7591", "keycloak"), NULL for another. */
const dcr_upstream_ops *dcr_upstream_kind(const char *name);

/* The metadata forwarded for c: its vetted metadata without software_statement, the
 * statement's extension members and anything server-managed, with an explicit
 * token_endpoint_auth_method. A SPIFFE client that brings no jwks / jwks_uri for the
 * up->auth_method it is registered with gets invalid_client_metadata (it never gets a
 * secret). New object owned by pool. */
json_t *dcr_upstream_request_metadata(apr_pool_t *pool, const dcr_upstream *up, const dcr_client *c,
                                      dcr_error *err);

/* Puts an answer onto c: the public upstream member, the secrets beside the record, the
 * confirmed metadata with c's statement members (software_statement, extensions) kept. */
void dcr_upstream_apply(apr_pool_t *pool, dcr_client *c, const dcr_upstream_answer *a);

/* Whether the upstream registered c as asked where it matters: RFC 7591 3.2.1 lets it replace
 * requested values, but a SPIFFE client never gets a secret, upstream included, and is never
 * registered with another token_endpoint_auth_method than requested (the draft's MUST NOT; a
 * "none" would let anyone who knows the client_id act as it). a: the upstream's answer (its
 * metadata as answered), requested: what was forwarded. false with invalid_client_metadata. */
bool dcr_upstream_answer_allowed(const dcr_client *c, const json_t *requested,
                                 const dcr_upstream_answer *a, dcr_error *err);

/* c->upstream_secret without a client_secret (pool). */
const char *dcr_upstream_secret_without_client_secret(apr_pool_t *pool, const dcr_client *c);

/* The local id of the record of an upstream client: a hash of the upstream (kind, url) and its
 * client_id ("u" and 64 hex digits, never what a module-issued id looks like), so RFC
 * 7592 calls, which name the upstream's client_id, find their record without an index. */
const char *dcr_upstream_local_id(apr_pool_t *pool, const dcr_upstream *up, const char *client_id);

/* One member of c->upstream_secret (JSON text), or NULL. */
const char *dcr_upstream_secret(apr_pool_t *pool, const dcr_client *c, const char *name);

/* Constant-time check of a presented client_secret against the one the upstream issued. */
bool dcr_upstream_secret_matches(const dcr_client *c, const char *secret);

/* The upstream's 400 body as an RFC 7591 error in err (its code when it is one of RFC 7591's
 * registration errors, else invalid_client_metadata; its description, bounded and printable);
 * any other status or an unreadable body: temporarily_unavailable. what names the call for
 * the log. Always false. */
bool dcr_upstream_error(apr_pool_t *pool, const char *what, long status, const char *body,
                        dcr_error *err);

/* The same, with every copy of secret (the bearer token the call sent) in the upstream's words
 * replaced: an upstream that echoes it never hands it to the workload or the log. */
bool dcr_upstream_error_hiding(apr_pool_t *pool, const char *what, long status, const char *body,
                               const char *secret, dcr_error *err);

#endif
