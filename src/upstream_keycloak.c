/* DCRUpstream keycloak: clients created, updated and deleted through Keycloak's admin REST API
 * (26.4) on the realm of up->url. SPIFFE clients become confidential federated-jwt clients
 * bound to (DCRUpstreamSpiffeIdP, SPIFFE ID), with no secret. Keycloak finds such a client by
 * its jwt.credential.sub and refuses token requests when two match, so there is one client per
 * SPIFFE ID: before creating one, the realm is searched by that attribute; our own client is
 * adopted (updated), anyone else's is a refusal. docs/upstream.md. */
#include "upstream.h"

#include "json.h"
#include "keycloak_client.h"
#include "keycloak_token.h"

#include <apr_strings.h>
#include <string.h>

static bool str_is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

typedef struct kc {
    const dcr_upstream_call *call;
    const char *admin; /* https://kc/admin/realms/<realm> */
    const char *token;
} kc;

static bool kc_init(kc *k, const dcr_upstream_call *call, dcr_error *err)
{
    k->call = call;
    k->token = NULL;
    k->admin = dcr_keycloak_admin_base(call->pool, call->up->url);
    if (!k->admin)
        return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                        "the authorization server is unavailable",
                        "keycloak: %s is not a realm URL", call->up->url);
    return true;
}

/* One admin call with the admin token; a 401 (an expired or revoked token) fetches a new token
 * once and repeats the call. false only when Keycloak could not be reached. */
static bool kc_send(kc *k, const char *method, const char *path, const json_t *body,
                    dcr_fetch_result *out, dcr_error *err)
{
    apr_pool_t *pool = k->call->pool;
    const dcr_upstream *up = k->call->up;
    const char *url = apr_pstrcat(pool, k->admin, path, NULL), *why = NULL;
    char *text = body ? dcr_json_dump(pool, body) : NULL;

    if (body && !text)
        return dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error", "keycloak: JSON dump");
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!k->token && !(k->token = dcr_keycloak_admin_token(k->call, attempt > 0, err)))
            return false;
        if (dcr_fetch_send(pool, &up->fetch, method, url, up->origin, k->token,
                           text ? "application/json" : NULL, text, text ? strlen(text) : 0, out,
                           &why) != DCR_FETCH_OK)
            return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                            "the authorization server is unavailable", "keycloak %s %s: %s", method,
                            path, why);
        if (out->http_status != 401)
            return true;
        dcr_log(k->call->log, DCR_LOG_INFO, "keycloak: admin token refused, fetching a new one");
        k->token = NULL;
    }
    return true;
}

/* A read that did not answer 200: never the client's fault, whatever Keycloak said. */
static bool read_failed(kc *k, const char *what, const dcr_fetch_result *res, dcr_error *err)
{
    if (res->http_status != 400)
        return dcr_keycloak_error(k->call->pool, what, res->http_status, res->body, res->len, err);
    return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the authorization server is unavailable",
                    "keycloak %s: HTTP 400", what);
}

/* GET of one client by its internal id, checked to be the one we asked for. */
static json_t *kc_get(kc *k, const dcr_client *c, const char *kcid, const char *id, dcr_error *err)
{
    dcr_fetch_result res;
    const char *why;
    json_t *rep;
    if (!kc_send(k, "GET", apr_pstrcat(k->call->pool, "/clients/", id, NULL), NULL, &res, err))
        return NULL;
    if (res.http_status != 200)
        return read_failed(k, "GET client", &res, err), NULL;
    rep = dcr_json_parse(k->call->pool, res.body, res.len, DCR_JSON_MAX_DEPTH, &why);
    if ((why = dcr_keycloak_check(rep, k->call->up, c, kcid, id)))
        return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                        "the authorization server is unavailable", "keycloak GET client %s: %s", id,
                        why),
               NULL;
    return rep;
}

/* A client list: q=jwt.credential.sub:"<SPIFFE ID>" or clientId=<kcid>. */
static dcr_keycloak_match kc_find(kc *k, const char *query, const char *kcid, json_t **rep,
                                  const char **foreign, dcr_error *err)
{
    dcr_fetch_result res;
    dcr_keycloak_match m;
    if (!kc_send(k, "GET", apr_pstrcat(k->call->pool, "/clients?", query, NULL), NULL, &res, err))
        return DCR_KC_BAD;
    if (res.http_status != 200)
        return read_failed(k, "client search", &res, err), DCR_KC_BAD;
    m = dcr_keycloak_pick(k->call->pool, res.body, res.len, kcid, rep, foreign);
    if (m == DCR_KC_BAD)
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the authorization server is unavailable",
                 "keycloak client search: not a list of clients");
    return m;
}

static bool answer(kc *k, const dcr_client *c, const json_t *metadata, const char *kcid,
                   const json_t *rep, const char *secret, dcr_upstream_answer *out)
{
    apr_pool_t *pool = k->call->pool;
    const char *id = dcr_json_string(rep, "id");
    memset(out, 0, sizeof(*out));
    out->client_id = kcid;
    out->metadata = dcr_keycloak_confirmed(pool, c, metadata, rep);
    out->ref = dcr_json_own(
        pool, json_pack("{s:s, s:s, s:s}", "kind", "keycloak", "client_id", kcid, "id", id));
    if (secret) {
        json_t *s = dcr_json_own(pool, json_pack("{s:s}", "client_secret", secret));
        out->secret = dcr_json_dump(pool, s);
    }
    return true;
}

/* The secret of a client-secret client: the one it has (an update keeps it), else a new one. */
static const char *secret_for(apr_pool_t *pool, const dcr_client *c, const json_t *metadata)
{
    const char *why;
    json_t *held;
    if (!dcr_keycloak_needs_secret(c, metadata))
        return NULL;
    held = c->upstream_secret
               ? dcr_json_parse(pool, c->upstream_secret, strlen(c->upstream_secret), 4, &why)
               : NULL;
    if (dcr_json_string(held, "client_secret"))
        return dcr_json_string(held, "client_secret");
    return dcr_client_new_token(pool);
}

/* PUT of metadata onto the existing client id, then the client as Keycloak keeps it. 404:
 * *gone. */
static bool kc_put(kc *k, const dcr_client *c, const json_t *metadata, const char *kcid,
                   const char *id, dcr_upstream_answer *out, bool *gone, dcr_error *err)
{
    apr_pool_t *pool = k->call->pool;
    const char *secret = secret_for(pool, c, metadata);
    json_t *rep =
        dcr_keycloak_representation(pool, k->call->up, c, metadata, kcid, id, secret, false, err);
    dcr_fetch_result res;
    *gone = false;
    if (!rep || !kc_send(k, "PUT", apr_pstrcat(pool, "/clients/", id, NULL), rep, &res, err))
        return false;
    if (res.http_status == 404) {
        *gone = true;
        return false;
    }
    if (res.http_status != 204 && res.http_status != 200)
        return dcr_keycloak_error(pool, "PUT client", res.http_status, res.body, res.len, err);
    if (!(rep = kc_get(k, c, kcid, id, err)))
        return false;
    return answer(k, c, metadata, kcid, rep, secret, out);
}

/* Our existing client for this SPIFFE ID: updated, unless an administrator disabled it. */
static bool adopt(kc *k, const dcr_client *c, const json_t *metadata, const char *kcid,
                  const json_t *found, dcr_upstream_answer *out, dcr_error *err)
{
    const char *id = dcr_json_string(found, "id");
    bool gone;
    if (!dcr_keycloak_id_valid(id))
        return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                        "the authorization server is unavailable",
                        "keycloak: the existing client %s has an unusable id", kcid);
    if (json_is_false(json_object_get(found, "enabled")))
        return dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT,
                        "the authorization server has disabled the client of this SPIFFE ID",
                        "keycloak: client %s is disabled", kcid);
    dcr_log(k->call->log, DCR_LOG_INFO, "keycloak: adopting the existing client %s", kcid);
    if (kc_put(k, c, metadata, kcid, id, out, &gone, err))
        return true;
    if (gone) /* deleted in between: the caller's next attempt creates it */
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the authorization server is unavailable",
                 "keycloak: client %s vanished while being adopted", kcid);
    return false;
}

/* A string from Keycloak for the error log: printable ASCII, bounded. */
static const char *clean_id(apr_pool_t *pool, const char *s)
{
    char *out = apr_pstrndup(pool, s ? s : "", 80);
    for (char *p = out; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    return out;
}

static long kc_delete(kc *k, const char *id, dcr_error *err)
{
    dcr_fetch_result res;
    if (!kc_send(k, "DELETE", apr_pstrcat(k->call->pool, "/clients/", id, NULL), NULL, &res, err))
        return 0;
    return res.http_status;
}

/* Deletes a client this call created and cannot answer for (no orphans): by the id it was
 * created with, or, where Keycloak gave it another one, by its clientId. */
static void undo(kc *k, const char *kcid, const char *id)
{
    dcr_error ignored;
    const char *foreign;
    json_t *found = NULL;
    long st = kc_delete(k, id, &ignored);
    if (st == 404 &&
        kc_find(
            k,
            apr_pstrcat(k->call->pool, "clientId=", dcr_keycloak_escape(k->call->pool, kcid), NULL),
            kcid, &found, &foreign, &ignored) == DCR_KC_OURS &&
        dcr_keycloak_id_valid(dcr_json_string(found, "id")))
        st = kc_delete(k, dcr_json_string(found, "id"), &ignored);
    if (st != 204 && st != 200)
        dcr_log(k->call->log, DCR_LOG_ERR,
                "keycloak: client %s was created but could not be deleted again", kcid);
}

static bool create_as(kc *k, const dcr_client *c, const json_t *metadata, const char *kcid,
                      dcr_upstream_answer *out, dcr_error *err)
{
    apr_pool_t *pool = k->call->pool;
    const char *secret = secret_for(pool, c, metadata), *id = dcr_keycloak_new_uuid(pool);
    const char *foreign;
    json_t *rep, *found;
    dcr_fetch_result res;
    dcr_keycloak_match m;

    if (!id || (dcr_keycloak_needs_secret(c, metadata) && !secret))
        return dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error", "keycloak: CSPRNG failed");
    if (dcr_keycloak_is_spiffe(c)) {
        m = kc_find(k, dcr_keycloak_sub_query(pool, c->subject), kcid, &found, &foreign, err);
        if (m == DCR_KC_BAD)
            return false;
        if (m == DCR_KC_FOREIGN)
            return dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT,
                            "the authorization server already has a client for this SPIFFE ID "
                            "that this endpoint does not manage",
                            "keycloak: client %s already has jwt.credential.sub %s",
                            clean_id(pool, foreign), c->subject);
        if (m == DCR_KC_OURS)
            return adopt(k, c, metadata, kcid, found, out, err);
    }
    if (!(rep = dcr_keycloak_representation(pool, k->call->up, c, metadata, kcid, id, secret, true,
                                            err)) ||
        !kc_send(k, "POST", "/clients", rep, &res, err))
        return false;
    if (res.http_status == 409 && dcr_keycloak_is_spiffe(c)) {
        /* another process created it since the search: it is ours (the clientId says so) */
        m = kc_find(k, apr_pstrcat(pool, "clientId=", dcr_keycloak_escape(pool, kcid), NULL), kcid,
                    &found, &foreign, err);
        if (m == DCR_KC_OURS)
            return adopt(k, c, metadata, kcid, found, out, err);
        if (m == DCR_KC_BAD)
            return false;
    }
    if (res.http_status != 201)
        return dcr_keycloak_error(pool, "POST client", res.http_status, res.body, res.len, err);
    if (!(found = kc_get(k, c, kcid, id, err))) {
        undo(k, kcid, id);
        return false;
    }
    return answer(k, c, metadata, kcid, found, secret, out);
}

static bool kc_create(const dcr_upstream_call *call, const dcr_client *c, const json_t *metadata,
                      dcr_upstream_answer *out, dcr_error *err)
{
    kc k;
    const char *kcid;
    if (!kc_init(&k, call, err))
        return false;
    if (!(kcid = dcr_keycloak_client_id_for(call->pool, c)))
        return dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error", "keycloak: CSPRNG failed");
    return create_as(&k, c, metadata, kcid, out, err);
}

/* The client c->upstream names: its Keycloak clientId and internal id. */
static bool ref_of(const dcr_client *c, const char **kcid, const char **id, dcr_error *err)
{
    *kcid = dcr_json_string(c->upstream, "client_id");
    *id = dcr_json_string(c->upstream, "id");
    if (!*kcid || !dcr_keycloak_id_valid(*id) ||
        !str_is(dcr_json_string(c->upstream, "kind"), "keycloak"))
        return dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error",
                        "keycloak: the record names no Keycloak client");
    return true;
}

static bool kc_update(const dcr_upstream_call *call, const dcr_client *c, const json_t *metadata,
                      dcr_upstream_answer *out, dcr_error *err)
{
    kc k;
    const char *kcid, *id;
    bool gone;
    if (!kc_init(&k, call, err) || !ref_of(c, &kcid, &id, err))
        return false;
    if (kc_put(&k, c, metadata, kcid, id, out, &gone, err))
        return true;
    if (!gone)
        return false;
    /* deleted at Keycloak behind our back: created again under the same clientId, so the
     * workload keeps its client_id */
    dcr_log(call->log, DCR_LOG_NOTICE, "keycloak: client %s is gone, creating it again", kcid);
    return create_as(&k, c, metadata, kcid, out, err);
}

static dcr_upstream_gone kc_remove(const dcr_upstream_call *call, const dcr_client *c,
                                   dcr_error *err)
{
    kc k;
    const char *kcid, *id;
    long st;
    if (!kc_init(&k, call, err))
        return DCR_UPSTREAM_FAILED;
    if (!ref_of(c, &kcid, &id, err)) {
        dcr_log(call->log, DCR_LOG_WARNING,
                "keycloak: the record of %s names no usable Keycloak client: nothing deleted "
                "there",
                c->client_id ? c->client_id : "(unknown)");
        return DCR_UPSTREAM_ABSENT; /* nothing we could ever delete */
    }
    st = kc_delete(&k, id, err);
    if (st == 204 || st == 200)
        return DCR_UPSTREAM_DELETED;
    if (st == 404)
        return DCR_UPSTREAM_ABSENT;
    if (st != 0)
        dcr_keycloak_error(call->pool, "DELETE client", st, NULL, 0, err);
    return DCR_UPSTREAM_FAILED;
}

const dcr_upstream_ops dcr_upstream_keycloak_ops = {
    .kind = "keycloak",
    .create = kc_create,
    .update = kc_update,
    .remove = kc_remove,
};
