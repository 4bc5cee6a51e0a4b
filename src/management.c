/* RFC 7592: read, update (full replacement) and delete of one registration, authenticated by
 * its registration access token. */
#include "registrar.h"

#include "json.h"
#include "metadata.h"
#include "registrar_int.h"
#include "statement_memory.h"
#include "update_compare.h"
#include "upstream_flow.h"

#include <string.h>

static dcr_client *not_valid(dcr_error *err, const char *why, const char *client_id)
{
    dcr_fail(err, DCR_ERR_INVALID_TOKEN, "the registration access token is not valid", why,
             client_id);
    return NULL;
}

/* A record without an endpoint (version 1) is bound to the first endpoint that authenticates
 * it, and so written as version 2 (docs/record.md); a compare-and-set, like every update. */
static bool bind_endpoint(const dcr_request *req, dcr_client *c, dcr_error *err)
{
    apr_status_t rv;
    c->endpoint = req->endpoint_url;
    rv = req->store->ops->update(req->store, c, c->rat_hash, req->pool, err);
    if (rv == APR_NOTFOUND)
        not_valid(err, "client %s changed while it was bound to its endpoint", c->client_id);
    else if (rv == APR_SUCCESS)
        dcr_log(req->log, DCR_LOG_INFO, "client %s (record version 1) bound to %s", c->client_id,
                req->endpoint_url);
    return rv == APR_SUCCESS;
}

dcr_client *dcr_authenticate(const dcr_request *req, const char *client_id, bool bind,
                             dcr_error *err)
{
    dcr_client *c = NULL;
    apr_status_t rv;
    if (!req->bearer || !*req->bearer) {
        dcr_fail(err, DCR_ERR_MISSING_TOKEN, "a registration access token is required",
                 "no bearer token");
        return NULL;
    }
    /* an upstream client is named by the upstream's client_id; its record by a hash of it */
    rv = req->store->ops->get(req->store, dcr_upstream_record_id(req, client_id), req->now,
                              req->pool, &c, err);
    if (rv == APR_NOTFOUND)
        return not_valid(err, "client %s unknown or expired", client_id);
    if (rv != APR_SUCCESS)
        return NULL;
    if (!dcr_client_token_matches(c, req->bearer))
        return not_valid(err, "wrong token for client %s", client_id);
    /* another endpoint sharing the store answers as for an unknown client: its policy and
     * anchors are not the ones this client was vetted under */
    if (c->endpoint && strcmp(c->endpoint, req->endpoint_url) != 0)
        return not_valid(err, "client %s belongs to another registration endpoint", client_id);
    if (!c->endpoint && bind && !bind_endpoint(req, c, err))
        return NULL;
    return c;
}

void dcr_read(const dcr_request *req, const char *client_id, dcr_response *res)
{
    dcr_error err;
    dcr_client *c;
    memset(res, 0, sizeof(*res));
    dcr_error_clear(&err);
    if (!(c = dcr_authenticate(req, client_id, true, &err))) {
        dcr_refuse(req, "read", &err, res);
        return;
    }
    /* RFC 7592 3: the token is REQUIRED in the answer; the one presented (only its hash is
     * kept) */
    dcr_respond_client(req, 200, "read", c, req->bearer, NULL, res);
}

void dcr_delete(const dcr_request *req, const char *client_id, dcr_response *res)
{
    dcr_error err;
    dcr_client *c;
    apr_status_t rv;
    memset(res, 0, sizeof(*res));
    dcr_error_clear(&err);
    if (!(c = dcr_authenticate(req, client_id, false, &err))) { /* v1 records go unbound */
        dcr_refuse(req, "delete", &err, res);
        return;
    }
    if (req->upstream) {
        rv = dcr_upstream_delete(req, c, &err) ? APR_SUCCESS : APR_EGENERAL;
    } else {
        rv = req->store->ops->remove(req->store, c->client_id, req->pool, &err);
        if (rv == APR_NOTFOUND)
            dcr_fail(&err, DCR_ERR_INVALID_TOKEN, "the registration access token is not valid",
                     "client %s deleted concurrently", client_id);
    }
    if (rv != APR_SUCCESS) {
        dcr_refuse(req, "delete", &err, res);
        return;
    }
    res->status = 204;
    res->client_id = dcr_client_public_id(c);
    res->decision = "deleted";
    dcr_log(req->log, DCR_LOG_INFO, "deleted client %s", res->client_id);
}

/* Rebinds a client registered with a statement: the same statement byte for byte (its fields
 * must stay as registered, even after it expired) or a fresh valid one for the same subject
 * (its claims win again; *fresh says so). Anything else is invalid_client_metadata. */
static bool rebind_statement(const dcr_request *req, dcr_client *c, const json_t *body,
                             dcr_identity *id, bool *fresh, dcr_error *err)
{
    const json_t *sent = json_object_get(body, "software_statement");
    const json_t *stored = json_object_get(c->metadata, "software_statement");
    const json_t *claims = json_object_get(c->statement, "claims");
    dcr_error serr;

    memset(id, 0, sizeof(*id));
    *fresh = false;
    if (!c->statement)
        return sent ? dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                               "this client was registered without a software_statement", NULL)
                    : true;
    if (!sent)
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                        "this client was registered with a software_statement: send it again",
                        NULL);
    if (json_equal((json_t *)sent, (json_t *)stored)) {
        if (!dcr_update_check_fixed(body, c, err))
            return false;
        id->kind = strcmp(c->subject_kind, "spiffe") == 0 ? DCR_IDENTITY_SPIFFE : DCR_IDENTITY_VC;
        id->subject = c->subject;
        id->issuer = c->issuer;
        id->metadata = (json_t *)claims;
        id->extensions = json_object_get(c->statement, "extensions");
        id->auth_method = dcr_json_string(c->statement, "auth_method");
        return true;
    }
    if (!dcr_verify_body_statement(req, body, id, &serr))
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA, serr.description, "%s", serr.detail);
    if (!id->subject || strcmp(id->subject, c->subject) != 0 || strcmp(id->issuer, c->issuer) != 0)
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                        "the software_statement is for another subject",
                        "update for %s sent "
                        "a statement for %s",
                        c->subject, id->subject ? id->subject : "(none)");
    /* the stored iat only moves forward, or copies of statements in between would qualify as
     * "later" for a re-registration again */
    if (c->statement_hash[0] && id->iat < c->statement_iat)
        return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA,
                        "the software_statement is older than the one registered",
                        "update for %s sent a statement with iat %lld < %lld", c->subject, id->iat,
                        c->statement_iat);
    *fresh = true;
    return true;
}

void dcr_update(const dcr_request *req, const char *client_id, dcr_response *res)
{
    dcr_error err;
    dcr_identity id;
    dcr_client *c;
    json_t *body, *metadata;
    const char *token = req->bearer, *upstream_before;
    char seen[DCR_TOKEN_HASH_HEX + 1], last_hash[DCR_TOKEN_HASH_HEX + 1];
    long long last_iat;
    bool fresh;
    apr_status_t rv;

    memset(res, 0, sizeof(*res));
    dcr_error_clear(&err);
    if (!(c = dcr_authenticate(req, client_id, true, &err)) ||
        !(body = dcr_parse_body(req, &err)) ||
        !dcr_update_check_managed(body, c, req->endpoint_url, &err) ||
        !rebind_statement(req, c, body, &id, &fresh, &err)) {
        dcr_refuse(req, "update", &err, res);
        return;
    }
    /* Full replacement: omitted members go; the statement's win as at registration. */
    metadata = dcr_metadata_register(req->pool, body,
                                     dcr_update_statement_values(req->pool, c, body, id.metadata),
                                     req->policy, id.auth_method, &err);
    /* a fresh single-use VC is spent by an update as by a registration: it registers once */
    if (!metadata || (fresh && id.single_use_until &&
                      !dcr_statement_first_use(req, dcr_json_string(body, "software_statement"),
                                               id.single_use_until, &err))) {
        dcr_refuse(req, "update", &err, res);
        return;
    }
    memcpy(seen, c->rat_hash, sizeof(seen));
    memcpy(last_hash, c->statement_hash, sizeof(last_hash));
    last_iat = c->statement_iat;
    c->metadata = metadata;
    dcr_bind_statement(req, c, body, &id);
    if (!fresh) { /* the same statement sent back: the one that last wrote the client stays */
        memcpy(c->statement_hash, last_hash, sizeof(last_hash));
        c->statement_iat = last_iat;
    }
    if (c->secret_hash[0]) /* the secret stays: it is no metadata the client can change */
        json_object_set_new(c->metadata, "client_secret_expires_at", json_integer(c->expires_at));
    if (req->policy->rotate_token_on_update) { /* before the upstream call: nothing fails after
                                                  it but the local write */
        if (!(token = dcr_client_new_token(req->pool))) {
            dcr_fail(&err, DCR_ERR_SERVER_ERROR, "could not update the client",
                     "the random generator failed");
            dcr_refuse(req, "update", &err, res);
            return;
        }
        dcr_token_hash(token, c->rat_hash);
    }
    /* the upstream takes the new metadata first: what it refuses is not stored here */
    upstream_before = c->upstream_secret;
    if (req->upstream && !dcr_upstream_forward_update(req, c, &err)) {
        dcr_refuse(req, "update", &err, res);
        return;
    }
    /* compare-and-set on the token this request authenticated with */
    rv = req->store->ops->update(req->store, c, seen, req->pool, &err);
    if (rv != APR_SUCCESS)
        dcr_upstream_keep_token(req, c, upstream_before);
    if (rv == APR_NOTFOUND)
        dcr_fail(&err, DCR_ERR_INVALID_TOKEN, "the registration access token is not valid",
                 "client %s deleted, re-registered or its token rotated concurrently", client_id);
    if (rv != APR_SUCCESS) {
        dcr_refuse(req, "update", &err, res);
        return;
    }
    /* RFC 7592 3: the token is REQUIRED in the answer: the new one, else the one presented */
    dcr_respond_client(req, 200, "updated", c, token, NULL, res);
}
