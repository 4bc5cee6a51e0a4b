#include "registrar.h"

#include "client.h"
#include "initial_access_token.h"
#include "json.h"
#include "metadata.h"
#include "refusals.h"
#include "registrar_int.h"
#include "statement_memory.h"
#include "upstream_flow.h"

#include <apr_strings.h>
#include <string.h>

void dcr_response_error(apr_pool_t *pool, const dcr_error *err, dcr_response *res)
{
    /* RFC 6750 3.1: a request without a token gets no error code, in the challenge or the
     * body; the body still says in words what is missing. */
    bool missing = err->code == DCR_ERR_MISSING_TOKEN;
    const char *name = dcr_error_name(err->code);
    const char *shown = name ? name : "server_error";
    json_t *j = json_object();
    if (!missing)
        json_object_set_new(j, "error", json_string(shown));
    json_object_set_new(j, "error_description",
                        json_string(err->description[0] ? err->description : shown));
    res->status = err->status ? err->status : dcr_error_status(err->code);
    res->err = *err;
    res->decision = missing ? "missing_token" : name;
    res->body = dcr_json_dump(pool, j);
    json_decref(j);
}

void dcr_refuse(const dcr_request *req, const char *what, const dcr_error *err, dcr_response *res)
{
    dcr_response_error(req->pool, err, res);
    dcr_log(req->log, DCR_LOG_INFO, "%s refused: %s: %s", what, res->decision, err->detail);
    if (res->status == 429 || res->status == 503)
        res->retry_after = req->policy->retry_after;
}

void dcr_respond_client(const dcr_request *req, int status, const char *decision,
                        const dcr_client *c, const char *token, const char *secret,
                        dcr_response *res)
{
    const char *id = dcr_client_public_id(c);
    const char *uri = dcr_client_uri(req->pool, req->endpoint_url, c);
    json_t *body = dcr_client_response(req->pool, c, token, uri);
    /* an upstream's client_secret is the upstream's: shown as it stands beside the record */
    if (!secret && c->upstream)
        secret = dcr_upstream_secret(req->pool, c, "client_secret");
    if (secret)
        json_object_set_new(body, "client_secret", json_string(secret));
    res->status = status;
    res->client_id = id;
    res->location = uri;
    res->decision = decision;
    res->body = dcr_json_dump(req->pool, body);
}

static bool needs_secret(const char *method)
{
    return method && (strcmp(method, "client_secret_basic") == 0 ||
                      strcmp(method, "client_secret_post") == 0);
}

bool dcr_issue_secret(const dcr_request *req, dcr_client *c, const char *forced_method,
                      const char **secret, dcr_error *err)
{
    const char *method = dcr_json_string(c->metadata, "token_endpoint_auth_method");
    *secret = NULL;
    c->secret_hash[0] = '\0';
    json_object_del(c->metadata, "client_secret_expires_at");
    if (!needs_secret(forced_method) || !method || strcmp(method, forced_method) != 0)
        return true;
    if (!(*secret = dcr_client_new_token(req->pool)))
        return dcr_fail(err, DCR_ERR_SERVER_ERROR, "could not register the client",
                        "the random generator failed");
    dcr_token_hash(*secret, c->secret_hash);
    /* RFC 7591 3.2.1: required with a secret; the secret lives as long as the registration */
    json_object_set_new(c->metadata, "client_secret_expires_at", json_integer(c->expires_at));
    return true;
}

json_t *dcr_parse_body(const dcr_request *req, dcr_error *err)
{
    const char *why = "";
    json_t *body = dcr_json_parse(req->pool, req->body ? req->body : "", req->body_len,
                                  DCR_JSON_MAX_DEPTH, &why);
    if (json_is_object(body))
        return body;
    dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA, "the request body must be one JSON object", "%s",
             body ? "body is JSON but not an object" : why);
    return NULL;
}

bool dcr_verify_body_statement(const dcr_request *req, const json_t *body, dcr_identity *id,
                               dcr_error *err)
{
    const json_t *ss = json_object_get(body, "software_statement");
    dcr_statement_ctx ctx = {req->pool, req->now, req->policy, req->log, req->cache};

    memset(id, 0, sizeof(*id));
    if (!ss)
        return true;
    if (!json_is_string(ss))
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement must be a string (a compact JWS)", NULL);
    return dcr_statement_verify(&ctx, json_string_value(ss), json_string_length(ss), id, err);
}

void dcr_bind_statement(const dcr_request *req, dcr_client *c, const json_t *body,
                        const dcr_identity *id)
{
    json_t *st;
    if (id->kind == DCR_IDENTITY_NONE)
        return;
    c->subject_kind = id->kind == DCR_IDENTITY_SPIFFE ? "spiffe" : "vc";
    c->subject = id->subject;
    c->issuer = id->issuer;
    st = dcr_json_own(req->pool, json_object());
    json_object_set_new(st, "claims", id->metadata ? json_deep_copy(id->metadata) : json_object());
    json_object_set_new(st, "extensions",
                        id->extensions ? json_deep_copy(id->extensions) : json_object());
    if (id->auth_method)
        json_object_set_new(st, "auth_method", json_string(id->auth_method));
    c->statement = st;
    /* what re-registration judges a later statement by (dcr_client_may_rewrite); the signed
     * part only, so a re-encoded signature is the same statement */
    dcr_statement_hash(req->pool, json_string_value(json_object_get(body, "software_statement")),
                       c->statement_hash);
    c->statement_iat = id->iat;
    /* RFC 7591 3.2.1: the statement goes back unmodified, with what it vouched for. */
    json_object_set(c->metadata, "software_statement", json_object_get(body, "software_statement"));
    if (id->extensions)
        json_object_update(c->metadata, id->extensions);
}

static bool limit_refusals(const dcr_request *req)
{
    return req->policy->refusal_limit > 0 && req->cache && req->client_addr;
}

/* DCRRefusalLimit: an address that was refused too often waits for the next window. */
static bool refusals_exceeded(const dcr_request *req, dcr_response *res)
{
    long long wait;
    dcr_error err;
    if (!limit_refusals(req) ||
        !dcr_refusals_exceeded(req->cache, req->pool, req->client_addr, req->now,
                               req->policy->refusal_limit, req->policy->refusal_window, &wait))
        return false;
    dcr_fail(&err, DCR_ERR_TOO_MANY_REQUESTS, "too many refused registrations; try again later",
             "%s reached DCRRefusalLimit", req->client_addr);
    dcr_refuse(req, "registration", &err, res);
    res->retry_after = wait > 0 ? wait : 1;
    return true;
}

void dcr_register(const dcr_request *req, dcr_response *res)
{
    const dcr_policy *policy = req->policy;
    dcr_error err;
    dcr_identity id;
    const char *token, *secret;
    json_t *body, *metadata;
    dcr_client *c, *existing = NULL;
    int iat_line = 0;

    memset(res, 0, sizeof(*res));
    dcr_error_clear(&err);
    if (refusals_exceeded(req, res))
        return;

    /* 0. DCRInitialAccessToken (RFC 7591 3, RFC 6750): before anything costly is looked at */
    if (!dcr_iat_authorize(policy->initial_access_tokens, req->bearer, req->now, &iat_line, &err))
        goto refused;

    /* 1. the request metadata */
    if (!(body = dcr_parse_body(req, &err)))
        goto refused;
    /* 2. who vouches for the client; 3. policy on that identity (inside the profiles) */
    if (!json_object_get(body, "software_statement") && policy->require_statement) {
        dcr_fail(&err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                 "a software_statement from a trusted issuer is required",
                 "no software_statement and DCRRequireStatement is On");
        goto refused;
    }
    if (!dcr_verify_body_statement(req, body, &id, &err))
        goto refused;
    /* 4. statement claims win over the request; both validated and policed alike */
    metadata = dcr_metadata_register(req->pool, body, id.metadata, policy, id.auth_method, &err);
    if (!metadata)
        goto refused;
    /* a single-use VC is spent here: after the metadata passed, so a bad request costs none */
    if (id.single_use_until &&
        !dcr_statement_first_use(req, dcr_json_string(body, "software_statement"),
                                 id.single_use_until, &err))
        goto refused;
    /* 5. the client, bound to its identity; its access token is only kept as a hash */
    token = dcr_client_new_token(req->pool);
    c = apr_pcalloc(req->pool, sizeof(*c));
    c->client_id = dcr_client_new_id(req->pool);
    if (!token || !c->client_id) {
        dcr_fail(&err, DCR_ERR_SERVER_ERROR, "could not register the client",
                 "the random generator failed");
        goto refused;
    }
    c->issued_at = req->now;
    c->endpoint = req->endpoint_url; /* RFC 7592 management stays here */
    c->expires_at =
        policy->registration_lifetime > 0 ? req->now + policy->registration_lifetime : 0;
    dcr_token_hash(token, c->rat_hash);
    c->metadata = metadata;
    dcr_bind_statement(req, c, body, &id);
    /* Only VC policy may ask for a secret; a SPIFFE client never gets one (the draft's MUST
     * NOT), whatever DCRSpiffeAuthMethod says. With an upstream, the upstream issues them. */
    if (!dcr_issue_secret(req, c,
                          id.kind == DCR_IDENTITY_VC && !req->upstream ? id.auth_method : NULL,
                          &secret, &err))
        goto refused;
    /* 6. the store: a returning subject per DCRReregister, the ceilings (lifecycle.c); with
     * an upstream, the upstream first (upstream_flow.c) */
    if (!(req->upstream ? dcr_upstream_store(req, c, &existing, &err)
                        : dcr_lifecycle_store(req, c, &existing, &err)))
        goto refused;
    /* 7. the response */
    /* a reused registration keeps its old secret, which only its client knows */
    dcr_respond_client(req, 201, existing ? "re-registered" : "registered", c, token,
                       dcr_client_secret_matches(c, secret) ? secret : NULL, res);
    dcr_log(req->log, DCR_LOG_INFO, "%s client %s%s%s%s", res->decision, res->client_id,
            c->subject ? " for " : "", c->subject ? c->subject : "",
            iat_line
                ? apr_psprintf(req->pool, " with the initial access token of line %d", iat_line)
                : "");
    return;

refused:
    dcr_refuse(req, "registration", &err, res);
    /* a wrong initial access token counts (guessing is what the limit is for); a missing one
     * does not: RFC 6750 lets a client ask without one first, and it guesses nothing */
    if (limit_refusals(req) && (res->status == 400 || err.code == DCR_ERR_INVALID_TOKEN))
        dcr_refusals_count(req->cache, req->pool, req->client_addr, req->now,
                           req->policy->refusal_window);
}
