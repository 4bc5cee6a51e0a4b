/* The registration algorithm, readable top to bottom (DESIGN.md "One registration"), and the
 * RFC 7592 operations on one client. Hosts (the httpd handler, unit tests) fill a dcr_request
 * and write the dcr_response back as they like. */
#ifndef DCR_REGISTRAR_H
#define DCR_REGISTRAR_H

#include "error.h"
#include "log.h"
#include "policy.h"
#include "store.h"

#include <apr_pools.h>

struct dcr_cache;
struct dcr_upstream;

typedef struct dcr_request {
    apr_pool_t *pool;
    long long now; /* seconds since the epoch: tests control the clock */
    const char *body;
    size_t body_len;
    const char *endpoint_url; /* absolute registration endpoint URL, no trailing slash */
    const char *bearer;       /* Authorization: Bearer value, or NULL */
    const char *client_addr;  /* the client's address, for DCRRefusalLimit (may be NULL) */
    const dcr_policy *policy;
    dcr_store *store;
    struct dcr_cache *cache; /* may be NULL */
    const dcr_logger *log;
    const struct dcr_upstream *upstream; /* DCRUpstream (src/upstream.h), or NULL */
} dcr_request;

typedef struct dcr_response {
    int status;            /* HTTP status */
    char *body;            /* JSON text, NULL for 204 */
    const char *client_id; /* for notes and logs, NULL when none */
    const char *location;  /* 201: the registration_client_uri, for a Location header */
    const char *decision;  /* "registered", "read", or the error code name */
    dcr_error err;         /* code DCR_OK on success */
    long long retry_after; /* seconds for a Retry-After header (429, 503), else 0 */
} dcr_response;

/* POST to the registration endpoint. */
void dcr_register(const dcr_request *req, dcr_response *res);

/* GET on registration_client_uri (RFC 7592 read); req->bearer carries the access token. */
void dcr_read(const dcr_request *req, const char *client_id, dcr_response *res);

/* PUT on registration_client_uri (RFC 7592 update: full replacement). */
void dcr_update(const dcr_request *req, const char *client_id, dcr_response *res);

/* DELETE on registration_client_uri (RFC 7592): 204 on success. */
void dcr_delete(const dcr_request *req, const char *client_id, dcr_response *res);

/* Turns err into res: status, {"error","error_description"} body; a missing token (RFC 6750
 * 3.1) gets no "error" member, only the description. */
void dcr_response_error(apr_pool_t *pool, const dcr_error *err, dcr_response *res);

#endif
