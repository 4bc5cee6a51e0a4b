/* Pieces the registration pipeline (registrar.c), RFC 7592 management (management.c) and the
 * lifecycle rules (lifecycle.c) share. Not part of the public interface. */
#ifndef DCR_REGISTRAR_INT_H
#define DCR_REGISTRAR_INT_H

#include "client.h"
#include "registrar.h"
#include "statement.h"

#include <jansson.h>

/* Logs the refusal at info (code and detail, never a token) and fills res from err. */
void dcr_refuse(const dcr_request *req, const char *what, const dcr_error *err, dcr_response *res);

/* A success: status and the client's response object (token and secret only when not
 * NULL: neither is stored, so they can only be shown when issued). */
void dcr_respond_client(const dcr_request *req, int status, const char *decision,
                        const dcr_client *c, const char *token, const char *secret,
                        dcr_response *res);

/* A client_secret for a client whose registered auth method needs one: only where the
 * statement profile's policy forced that method (DCRVCAuthMethod client_secret_basic|post).
 * Sets c->secret_hash and client_secret_expires_at; *secret NULL when none is due. */
bool dcr_issue_secret(const dcr_request *req, dcr_client *c, const char *forced_method,
                      const char **secret, dcr_error *err);

/* The request body as one JSON object, or NULL with invalid_client_metadata. */
json_t *dcr_parse_body(const dcr_request *req, dcr_error *err);

/* Verifies body's software_statement (when present) into id; kind NONE when absent. */
bool dcr_verify_body_statement(const dcr_request *req, const json_t *body, dcr_identity *id,
                               dcr_error *err);

/* Puts the statement-derived parts onto c: the statement record and, into c->metadata, the
 * statement itself (RFC 7591 3.2.1) and the profile's extension members. */
void dcr_bind_statement(const dcr_request *req, dcr_client *c, const json_t *body,
                        const dcr_identity *id);

/* A client known by client_id whose registration access token is req->bearer, registered at
 * this endpoint (req->endpoint_url); NULL with missing_token / invalid_token (unknown, expired,
 * wrong token and another endpoint's client look alike) or a store error. bind: a client not
 * bound to an endpoint yet (record version 1) is bound to this one. */
dcr_client *dcr_authenticate(const dcr_request *req, const char *client_id, bool bind,
                             dcr_error *err);

/* Lifecycle (lifecycle.c): for a client about to be registered, the existing registration of
 * the same subject and software_id that policy says to replace or reuse (*existing, NULL for a
 * new client), after the ceilings: false with too_many_requests or a store error. */
bool dcr_lifecycle_admit(const dcr_request *req, const dcr_client *incoming, dcr_client **existing,
                         dcr_error *err);

/* Taken before dcr_lifecycle_admit and released after the write, on every path: makes the
 * admission and the write one step where the store can lock (store.h lock_subject); *token
 * stays NULL where it cannot or nothing needs it. false with a store error. */
bool dcr_lifecycle_lock(const dcr_request *req, const dcr_client *incoming, void **token,
                        dcr_error *err);
void dcr_lifecycle_unlock(const dcr_request *req, void *token);

/* Step 6 of a registration: stores c as policy says for its subject (a new client, or the
 * earlier registration replaced or reused, then *existing is that one and c what was stored),
 * the lock taken where admission must be exact. false with err (ceiling, store down). */
bool dcr_lifecycle_store(const dcr_request *req, dcr_client *c, dcr_client **existing,
                         dcr_error *err);

#endif
