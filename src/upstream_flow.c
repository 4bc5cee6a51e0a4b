#include "upstream_flow.h"

#include "json.h"

#include <apr_strings.h>
#include <string.h>

static dcr_upstream_call call_of(const dcr_request *req)
{
    dcr_upstream_call call = {req->pool, req->now, req->upstream, req->cache, req->log};
    return call;
}

/* Every upstream client has a secrets value (a kind without per-client secrets: "{}"): what
 * tells the SQL sweep to delete it upstream first. The record names the upstream it lives at. */
static void settle_answer(const dcr_upstream *up, dcr_upstream_answer *a)
{
    if (!a->secret)
        a->secret = "{}";
    json_object_set_new(a->ref, "url", json_string(up->url));
}

const char *dcr_upstream_record_id(const dcr_request *req, const char *client_id)
{
    return req->upstream ? dcr_upstream_local_id(req->pool, req->upstream, client_id) : client_id;
}

/* The upstream client of a registration that could not be stored (or that the upstream
 * registered otherwise than allowed: why) is deleted again. */
static void undo_create(const dcr_request *req, const dcr_client *c, const char *why)
{
    dcr_upstream_call call = call_of(req);
    dcr_error err;
    dcr_error_clear(&err);
    if (req->upstream->ops->remove(&call, c, &err) == DCR_UPSTREAM_FAILED)
        dcr_log(req->log, DCR_LOG_ERR,
                "upstream client %s is an orphan: %s and so did its delete (%s); delete it at %s",
                dcr_client_public_id(c), why, err.detail, req->upstream->url);
    else
        dcr_log(req->log, DCR_LOG_WARNING, "upstream client %s deleted again: %s",
                dcr_client_public_id(c), why);
}

/* An update the upstream answered otherwise than allowed: its client_secret is not kept, a
 * token it rotated is, and the update fails. */
static bool refuse_update(const dcr_request *req, dcr_client *c, const char *before)
{
    c->upstream_secret = dcr_upstream_secret_without_client_secret(req->pool, c);
    dcr_upstream_keep_token(req, c, before);
    return false;
}

/* Whether c's upstream token differs from the one in the secrets before. */
static bool token_moved(const dcr_request *req, const dcr_client *c, const char *before)
{
    dcr_client old = {.upstream_secret = before};
    const char *now = dcr_upstream_secret(req->pool, c, "registration_access_token");
    const char *was = dcr_upstream_secret(req->pool, &old, "registration_access_token");
    return !now || !was || strcmp(now, was) != 0;
}

#define KEEP_ATTEMPTS 3

void dcr_upstream_keep_token(const dcr_request *req, const dcr_client *c, const char *before)
{
    if (!req->upstream || !c->upstream || !token_moved(req, c, before))
        return; /* the stored token still works: nothing was lost */
    for (int i = 0; i < KEEP_ATTEMPTS; i++) {
        dcr_client *now;
        dcr_error e;
        apr_status_t rv;
        dcr_error_clear(&e);
        /* gone (deleted or expired meanwhile) or the store fails: no record can keep it */
        if (req->store->ops->get(req->store, c->client_id, req->now, req->pool, &now, &e) !=
                APR_SUCCESS ||
            !now->upstream || strcmp(dcr_client_public_id(now), dcr_client_public_id(c)) != 0)
            break;
        now->upstream = c->upstream;
        now->upstream_secret = c->upstream_secret;
        rv = req->store->ops->update(req->store, now, now->rat_hash, req->pool, &e);
        if (rv == APR_SUCCESS) {
            dcr_log(req->log, DCR_LOG_WARNING,
                    "upstream client %s: its rotated registration access token was kept; the "
                    "upstream holds the metadata of the update that failed here",
                    dcr_client_public_id(c));
            return;
        }
        if (rv != APR_NOTFOUND) /* NOTFOUND: written meanwhile, read it again */
            break;
    }
    undo_create(req, c, "the local write failed");
}

/* Whether the record of id exists only expired (or pending its upstream delete). */
static bool expired_here(const dcr_request *req, const char *id)
{
    dcr_client *old;
    dcr_error ignored;
    return req->store->ops->get(req->store, id, req->now, req->pool, &old, &ignored) ==
           APR_NOTFOUND;
}

static bool create_new(const dcr_request *req, dcr_client *c, dcr_error *err)
{
    dcr_upstream_call call = call_of(req);
    dcr_upstream_answer a;
    json_t *m = dcr_upstream_request_metadata(req->pool, req->upstream, c, err);
    apr_status_t rv;

    if (!m || !req->upstream->ops->create(&call, c, m, &a, err))
        return false;
    settle_answer(req->upstream, &a);
    c->client_id = dcr_upstream_local_id(req->pool, req->upstream, a.client_id);
    dcr_upstream_apply(req->pool, c, &a);
    if (!dcr_upstream_answer_allowed(c, m, &a, err)) {
        undo_create(req, c, "it was registered otherwise than allowed");
        return false;
    }
    rv = req->store->ops->put(req->store, c, req->pool, err);
    if (rv == APR_EEXIST && expired_here(req, c->client_id))
        /* an upstream with stable ids (Keycloak: one client per SPIFFE ID) handed back the
         * client of a registration that expired here or awaits the sweep's upstream delete: the
         * upstream client is this registration's now, and so is the record */
        rv = req->store->ops->update(req->store, c, NULL, req->pool, err);
    if (rv == APR_EEXIST) /* the upstream answered with an id it had given before: not ours to
                             delete, and not a new client */
        return dcr_fail(err, DCR_ERR_SERVER_ERROR, "could not register the client",
                        "upstream answered client_id %s, which is registered here already",
                        a.client_id);
    if (rv != APR_SUCCESS)
        undo_create(req, c, "the local write failed");
    return rv == APR_SUCCESS;
}

/* A returning subject whose client was registered before DCRUpstream was set on its endpoint:
 * a local client no authorization server knows, and one RFC 7592 can no longer reach (it names
 * upstream ids). It is replaced by an upstream client, or the subject could never register
 * again. */
static bool replace_local(const dcr_request *req, dcr_client *c, const dcr_client *old,
                          dcr_error *err)
{
    dcr_error e;
    if (!create_new(req, c, err))
        return false;
    dcr_error_clear(&e);
    if (req->store->ops->remove(req->store, old->client_id, req->pool, &e) != APR_SUCCESS)
        dcr_log(req->log, DCR_LOG_WARNING,
                "client %s (registered before DCRUpstream) could not be removed after its "
                "subject got upstream client %s: %s",
                old->client_id, dcr_client_public_id(c), e.detail);
    else
        dcr_log(req->log, DCR_LOG_INFO,
                "client %s (registered before DCRUpstream) replaced by upstream client %s",
                old->client_id, dcr_client_public_id(c));
    return true;
}

/* A returning subject: its record with the upstream secrets (find_clients leaves them out),
 * then reuse (a new local token, the upstream client as it is) or replace (the upstream
 * client updated first), written as a compare-and-set on the token hash the lookup saw. */
static bool returning(const dcr_request *req, dcr_client *c, dcr_client *found, dcr_error *err)
{
    dcr_client *full;
    const char *secrets;
    apr_status_t rv;

    rv = req->store->ops->get(req->store, found->client_id, req->now, req->pool, &full, err);
    if (rv == APR_SUCCESS && !full->upstream)
        return replace_local(req, c, full, err);
    if (rv == APR_SUCCESS && req->policy->reregister == DCR_REREGISTER_REUSE) {
        memcpy(full->rat_hash, c->rat_hash, sizeof(c->rat_hash));
        memcpy(full->statement_hash, c->statement_hash, sizeof(c->statement_hash));
        full->statement_iat = c->statement_iat;
        full->expires_at = c->expires_at;
        /* NULL: the column keeps its own, which an update may have rotated since the read
         * (the answer still shows a client_secret from what was read) */
        secrets = full->upstream_secret;
        full->upstream_secret = NULL;
        rv = req->store->ops->update(req->store, full, found->rat_hash, req->pool, err);
        full->upstream_secret = secrets;
        if (rv == APR_SUCCESS)
            *c = *full;
    } else if (rv == APR_SUCCESS) {
        c->client_id = full->client_id;
        c->issued_at = full->issued_at;
        c->upstream = full->upstream;
        c->upstream_secret = full->upstream_secret;
        if (!dcr_upstream_forward_update(req, c, err)) /* the upstream client first */
            return false;
        rv = req->store->ops->update(req->store, c, found->rat_hash, req->pool, err);
        if (rv != APR_SUCCESS)
            dcr_upstream_keep_token(req, c, full->upstream_secret);
    }
    if (rv == APR_NOTFOUND) /* deleted or rewritten since the lookup: the client may retry */
        return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                        "the registration changed meanwhile; try again",
                        "client %s changed while it was re-registered", found->client_id);
    return rv == APR_SUCCESS;
}

bool dcr_upstream_store(const dcr_request *req, dcr_client *c, dcr_client **existing,
                        dcr_error *err)
{
    void *lock = NULL;
    bool ok;

    *existing = NULL;
    if (!dcr_lifecycle_lock(req, c, &lock, err))
        return false;
    ok = dcr_lifecycle_admit(req, c, existing, err);
    if (ok && *existing)
        ok = returning(req, c, *existing, err);
    else if (ok)
        ok = create_new(req, c, err);
    dcr_lifecycle_unlock(req, lock);
    return ok;
}

bool dcr_upstream_forward_update(const dcr_request *req, dcr_client *c, dcr_error *err)
{
    dcr_upstream_call call = call_of(req);
    dcr_upstream_answer a;
    const char *before = c->upstream_secret; /* a rotated token must not be lost */
    json_t *m;

    if (!c->upstream)
        return true;
    if (!(m = dcr_upstream_request_metadata(req->pool, req->upstream, c, err)) ||
        !req->upstream->ops->update(&call, c, m, &a, err))
        return false;
    settle_answer(req->upstream, &a);
    dcr_upstream_apply(req->pool, c, &a);
    if (!dcr_upstream_answer_allowed(c, m, &a, err))
        return refuse_update(req, c, before);
    return true;
}

/* The upstream delete of c; a refusal (401: "gone") is tried again with the token of the record
 * as it is now when an update rotated it since c was read, or the upstream client would live
 * on with the new token while its record goes. */
static dcr_upstream_gone remove_upstream(const dcr_request *req, dcr_client *c, dcr_error *uerr)
{
    dcr_upstream_call call = call_of(req);
    dcr_upstream_gone gone = DCR_UPSTREAM_ABSENT;
    for (int i = 0; i < KEEP_ATTEMPTS; i++) {
        dcr_client *now;
        dcr_error e;
        dcr_error_clear(uerr);
        dcr_error_clear(&e);
        if ((gone = req->upstream->ops->remove(&call, c, uerr)) != DCR_UPSTREAM_ABSENT ||
            req->store->ops->get(req->store, c->client_id, req->now, req->pool, &now, &e) !=
                APR_SUCCESS ||
            !now->upstream || !token_moved(req, now, c->upstream_secret))
            break;
        c->upstream = now->upstream;
        c->upstream_secret = now->upstream_secret;
    }
    return gone;
}

bool dcr_upstream_delete(const dcr_request *req, dcr_client *c, dcr_error *err)
{
    dcr_error uerr;
    apr_status_t rv;

    dcr_error_clear(&uerr);
    if (!c->upstream || remove_upstream(req, c, &uerr) != DCR_UPSTREAM_FAILED) {
        rv = req->store->ops->remove(req->store, c->client_id, req->pool, err);
    } else {
        /* the client is gone for its owner now; the record stays, expired, until the sweep
         * has deleted the upstream client */
        dcr_log(req->log, DCR_LOG_WARNING,
                "upstream delete of client %s failed (%s): the sweep retries it",
                dcr_client_public_id(c), uerr.detail);
        c->expires_at = req->now;
        /* NULL: the column keeps its token, which an update may have rotated since c was read;
         * the one read would leave the sweep a token the upstream no longer takes */
        c->upstream_secret = NULL;
        rv = req->store->ops->update(req->store, c, c->rat_hash, req->pool, err);
    }
    if (rv == APR_NOTFOUND)
        return dcr_fail(err, DCR_ERR_INVALID_TOKEN, "the registration access token is not valid",
                        "client %s deleted concurrently", c->client_id);
    return rv == APR_SUCCESS;
}

static const dcr_upstream *upstream_of(const dcr_client *c, const dcr_upstream *const *ups, int n)
{
    const char *kind = dcr_json_string(c->upstream, "kind");
    const char *url = dcr_json_string(c->upstream, "url");
    for (int i = 0; kind && url && i < n; i++)
        if (strcmp(ups[i]->ops->kind, kind) == 0 && strcmp(ups[i]->url, url) == 0)
            return ups[i];
    return NULL;
}

/* A record the sweep could not finish goes behind the others (the list is oldest expiry
 * first): still expired, but a batch of them no longer hides every record after them. */
static void to_the_back(dcr_store *s, dcr_client *c, long long now, apr_pool_t *p)
{
    dcr_error e;
    dcr_error_clear(&e);
    if (c->expires_at < now) {
        c->expires_at = now;
        c->upstream_secret = NULL;                /* the column keeps its own */
        s->ops->update(s, c, c->rat_hash, p, &e); /* lost to a concurrent write: next run */
    }
}

apr_status_t dcr_upstream_sweep(dcr_store *s, const dcr_upstream *const *ups, int nups,
                                long long now, int batch, struct dcr_cache *cache,
                                const dcr_logger *log, long long *removed, apr_pool_t *p,
                                dcr_error *err)
{
    apr_array_header_t *clients;
    apr_status_t rv;

    *removed = 0;
    if (!s->ops->expired_upstream)
        return dcr_fail(err, DCR_ERR_SERVER_ERROR, "internal error",
                        "the store %s cannot list expired upstream clients", s->ops->name),
               APR_ENOTIMPL;
    if ((rv = s->ops->expired_upstream(s, now, batch, p, &clients, err)) != APR_SUCCESS)
        return rv;
    for (int i = 0; i < clients->nelts; i++) {
        dcr_client *c = APR_ARRAY_IDX(clients, i, dcr_client *);
        const dcr_upstream *up = upstream_of(c, ups, nups);
        dcr_upstream_call call = {p, now, up, cache, log};
        dcr_error uerr;
        dcr_error_clear(&uerr);
        if (!up) {
            dcr_log(log, DCR_LOG_WARNING,
                    "expired client %s lives at an upstream no endpoint on this store names "
                    "(%s): kept until one does",
                    dcr_client_public_id(c), dcr_json_string(c->upstream, "url"));
            to_the_back(s, c, now, p);
            continue;
        }
        if (up->ops->remove(&call, c, &uerr) == DCR_UPSTREAM_FAILED) {
            dcr_log(log, DCR_LOG_WARNING, "upstream delete of expired client %s failed: %s",
                    dcr_client_public_id(c), uerr.detail);
            to_the_back(s, c, now, p);
            continue;
        }
        rv = s->ops->remove(s, c->client_id, p, err);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
            return rv;
        ++*removed;
    }
    return APR_SUCCESS;
}
