#include "registrar.h"

#include "client.h"
#include "json.h"
#include "metadata.h"
#include "statement.h"

#include <apr_strings.h>
#include <string.h>

/* A fresh client_id colliding with a stored one is astronomically unlikely; retry a little. */
#define DCR_PUT_ATTEMPTS 3

static void log_refusal(const dcr_request *req, const char *what, const dcr_error *err)
{
    dcr_log(req->log, DCR_LOG_INFO, "%s refused: %s: %s", what,
            dcr_error_name(err->code) ? dcr_error_name(err->code) : "missing_token", err->detail);
}

void dcr_response_error(apr_pool_t *pool, const dcr_error *err, dcr_response *res)
{
    const char *name = dcr_error_name(err->code);
    res->status = err->status ? err->status : dcr_error_status(err->code);
    res->err = *err;
    res->decision = name ? name : "missing_token";
    res->body = NULL;
    if (name) {
        json_t *j = json_pack("{s:s, s:s}", "error", name, "error_description",
                              err->description[0] ? err->description : name);
        res->body = dcr_json_dump(pool, j);
        json_decref(j);
    }
}

static void fail(const dcr_request *req, const char *what, const dcr_error *err, dcr_response *res)
{
    log_refusal(req, what, err);
    dcr_response_error(req->pool, err, res);
}

static const char *client_uri(const dcr_request *req, const char *client_id)
{
    return apr_pstrcat(req->pool, req->endpoint_url, "/", client_id, NULL);
}

/* Step 2: the software statement, or the policy's word when there is none. */
static bool verify_statement(const dcr_request *req, const json_t *body, dcr_identity *id,
                             dcr_error *err)
{
    const json_t *ss = json_object_get(body, "software_statement");
    dcr_statement_ctx ctx = {req->pool, req->now, req->policy, req->log, req->cache};

    memset(id, 0, sizeof(*id));
    if (!ss) {
        if (req->policy->require_statement)
            return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                            "a software_statement from a trusted issuer is required",
                            "no software_statement and DCRRequireStatement is On");
        return true;
    }
    if (!json_is_string(ss))
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement must be a string (a compact JWS)", NULL);
    return dcr_statement_verify(&ctx, json_string_value(ss), json_string_length(ss), id, err);
}

/* Step 5: the client record, bound to the verified identity. */
static dcr_client *new_client(const dcr_request *req, json_t *metadata, const json_t *body,
                              const dcr_identity *id, const char *token)
{
    dcr_client *c = apr_pcalloc(req->pool, sizeof(*c));
    c->client_id = dcr_client_new_id(req->pool);
    c->issued_at = req->now;
    c->expires_at = req->registration_lifetime > 0 ? req->now + req->registration_lifetime : 0;
    dcr_token_hash(token, c->rat_hash);
    if (id->kind != DCR_IDENTITY_NONE) {
        c->subject_kind = id->kind == DCR_IDENTITY_SPIFFE ? "spiffe" : "vc";
        c->subject = id->subject;
        c->issuer = id->issuer;
        /* RFC 7591 3.2.1: the statement goes back unmodified, with what it vouched for. */
        json_object_set(metadata, "software_statement",
                        json_object_get(body, "software_statement"));
        if (id->extensions)
            json_object_update(metadata, id->extensions);
    }
    c->metadata = metadata;
    return c;
}

/* Step 6: store it; a taken client_id gets a new one. */
static bool store_new(const dcr_request *req, dcr_client *c, dcr_error *err)
{
    for (int i = 0; i < DCR_PUT_ATTEMPTS; i++) {
        apr_status_t rv = req->store->ops->put(req->store, c, req->pool, err);
        if (rv == APR_SUCCESS)
            return true;
        if (rv != APR_EEXIST)
            return false;
        c->client_id = dcr_client_new_id(req->pool);
    }
    return dcr_fail(err, DCR_ERR_SERVER_ERROR, "could not allocate a client_id",
                    "%d client_id collisions in a row", DCR_PUT_ATTEMPTS);
}

void dcr_register(const dcr_request *req, dcr_response *res)
{
    dcr_error err;
    dcr_identity id;
    const char *why, *token;
    json_t *body, *metadata;
    dcr_client *c;

    memset(res, 0, sizeof(*res));
    dcr_error_clear(&err);

    /* 1. the request metadata */
    body = dcr_json_parse(req->pool, req->body ? req->body : "", req->body_len, DCR_JSON_MAX_DEPTH,
                          &why);
    if (!json_is_object(body)) {
        dcr_fail(&err, DCR_ERR_INVALID_CLIENT_METADATA, "the request body must be one JSON object",
                 "%s", body ? "body is JSON but not an object" : why);
        {
            fail(req, "registration", &err, res);
            return;
        }
    }
    /* 2. who vouches for the client, and 3. policy on that identity (inside the profiles) */
    if (!verify_statement(req, body, &id, &err)) {
        fail(req, "registration", &err, res);
        return;
    }
    /* 4. statement claims win over the request; both validated and policed alike */
    metadata =
        dcr_metadata_register(req->pool, body, id.metadata, req->policy, id.auth_method, &err);
    if (!metadata) {
        fail(req, "registration", &err, res);
        return;
    }
    /* 5. the client and its registration access token (only the hash is kept) */
    token = dcr_client_new_token(req->pool);
    c = new_client(req, metadata, body, &id, token);
    /* 6. the store */
    if (!store_new(req, c, &err)) {
        fail(req, "registration", &err, res);
        return;
    }
    /* 7. the response */
    res->status = 201;
    res->client_id = c->client_id;
    res->decision = "registered";
    res->body = dcr_json_dump(
        req->pool, dcr_client_response(req->pool, c, token, client_uri(req, c->client_id)));
    dcr_log(req->log, DCR_LOG_INFO, "registered client %s%s%s", c->client_id,
            c->subject ? " for " : "", c->subject ? c->subject : "");
}

/* RFC 7592 authentication of a management call: the bearer token must match the client's
 * hash. Unknown, expired and wrong-token cases look the same to the caller. */
static dcr_client *authenticate(const dcr_request *req, const char *client_id, dcr_error *err)
{
    dcr_client *c = NULL;
    apr_status_t rv;
    if (!req->bearer || !*req->bearer) {
        dcr_fail(err, DCR_ERR_MISSING_TOKEN, "a registration access token is required",
                 "no bearer token");
        return NULL;
    }
    rv = req->store->ops->get(req->store, client_id, req->now, req->pool, &c, err);
    if (rv == APR_NOTFOUND || (rv == APR_SUCCESS && !dcr_client_token_matches(c, req->bearer))) {
        dcr_fail(err, DCR_ERR_INVALID_TOKEN, "the registration access token is not valid",
                 rv == APR_NOTFOUND ? "client %s unknown or expired" : "wrong token for client %s",
                 client_id);
        return NULL;
    }
    return rv == APR_SUCCESS ? c : NULL;
}

void dcr_read(const dcr_request *req, const char *client_id, dcr_response *res)
{
    dcr_error err;
    dcr_client *c;
    memset(res, 0, sizeof(*res));
    dcr_error_clear(&err);
    c = authenticate(req, client_id, &err);
    if (!c) {
        fail(req, "read", &err, res);
        return;
    }
    res->status = 200;
    res->client_id = c->client_id;
    res->decision = "read";
    res->body = dcr_json_dump(
        req->pool, dcr_client_response(req->pool, c, NULL, client_uri(req, c->client_id)));
}
