/* Returning subjects and ceilings: what keeps the store bounded when ephemeral workloads
 * register on every start (oauth_vc.md 8.2). */
#include "registrar_int.h"

#include "json.h"

#include <string.h>

static bool same_software(const dcr_client *a, const dcr_client *b)
{
    const char *x = dcr_json_string(a->metadata, "software_id");
    const char *y = dcr_json_string(b->metadata, "software_id");
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

static bool too_many(dcr_error *err, const char *what, long long limit)
{
    return dcr_fail(err, DCR_ERR_TOO_MANY_REQUESTS, "registration limit reached; try again later",
                    "%s ceiling of %lld reached", what, limit);
}

/* The earlier registration of the same software among a subject's clients that the incoming
 * one may rewrite (dcr_client_may_rewrite: same endpoint, a newer statement never seen on it),
 * if any. A copy of an old statement finds none and registers a client of its own. */
static dcr_client *same_client(const apr_array_header_t *clients, const dcr_client *incoming)
{
    for (int i = 0; i < clients->nelts; i++) {
        dcr_client *c = APR_ARRAY_IDX(clients, i, dcr_client *);
        if (same_software(c, incoming) && dcr_client_may_rewrite(c, incoming))
            return c;
    }
    return NULL;
}

bool dcr_lifecycle_admit(const dcr_request *req, const dcr_client *incoming, dcr_client **existing,
                         dcr_error *err)
{
    const dcr_policy *policy = req->policy;
    const dcr_store_ops *ops = req->store->ops;
    const char *key = dcr_client_subject_key(req->pool, incoming);
    apr_array_header_t *clients = NULL;
    long long n, ceiling = dcr_policy_subject_ceiling(policy);

    *existing = NULL;
    /* earlier registrations only matter to replace/reuse and to the per-subject ceiling */
    if (key && ops->find_clients &&
        (policy->reregister != DCR_REREGISTER_NEW || ceiling > 0)) {
        if (ops->find_clients(req->store, key, req->now, req->pool, &clients, err) != APR_SUCCESS)
            return false;
        if (policy->reregister != DCR_REREGISTER_NEW &&
            (*existing = same_client(clients, incoming)))
            return true; /* replacing or reusing never grows the store */
        if (ceiling > 0 && clients->nelts >= ceiling)
            return too_many(err, "DCRMaxRegistrationsPerSubject", ceiling);
    }
    /* Exact only where the store can count (SQL); socache stores document the gap. */
    if (policy->max_registrations > 0 && ops->count) {
        if (ops->count(req->store, req->now, &n, req->pool, err) != APR_SUCCESS)
            return false;
        if (n >= policy->max_registrations)
            return too_many(err, "DCRMaxRegistrations", policy->max_registrations);
    }
    return true;
}

/* The one key a registration serialises on: the global key when DCRMaxRegistrations is
 * counted (every registration then waits for the one before it: the price of an exact
 * ceiling), else the subject's key when a rule reads its earlier registrations. One key per
 * request, so two requests can never wait on each other's second lock. */
static const char *lock_key(const dcr_request *req, const dcr_client *incoming)
{
    const dcr_policy *policy = req->policy;
    const char *key;
    if (policy->max_registrations > 0 && req->store->ops->count)
        return DCR_STORE_KEY_ALL;
    key = dcr_client_subject_key(req->pool, incoming);
    if (key && (policy->reregister != DCR_REREGISTER_NEW || dcr_policy_subject_ceiling(policy) > 0))
        return key;
    return NULL;
}

bool dcr_lifecycle_lock(const dcr_request *req, const dcr_client *incoming, void **token,
                        dcr_error *err)
{
    const dcr_store_ops *ops = req->store->ops;
    const char *key;
    apr_status_t rv;

    *token = NULL;
    if (!ops->lock_subject || !ops->unlock_subject || !(key = lock_key(req, incoming)))
        return true;
    rv = ops->lock_subject(req->store, key, req->pool, token, err);
    if (rv == APR_ENOTIMPL) { /* this store cannot: approximate, as documented */
        dcr_error_clear(err);
        *token = NULL;
        return true;
    }
    return rv == APR_SUCCESS;
}

void dcr_lifecycle_unlock(const dcr_request *req, void *token)
{
    if (token)
        req->store->ops->unlock_subject(req->store, token);
}

/* ---- the write ------------------------------------------------------------------------- */

/* A fresh client_id colliding with a stored one is astronomically unlikely; retry a little. */
#define DCR_PUT_ATTEMPTS 3

/* Stores a new client; a taken client_id gets a new one. */
static bool store_new(const dcr_request *req, dcr_client *c, dcr_error *err)
{
    for (int i = 0; i < DCR_PUT_ATTEMPTS; i++) {
        apr_status_t rv = req->store->ops->put(req->store, c, req->pool, err);
        if (rv == APR_SUCCESS)
            return true;
        if (rv != APR_EEXIST)
            return false;
        if (!(c->client_id = dcr_client_new_id(req->pool)))
            break;
    }
    return dcr_fail(err, DCR_ERR_SERVER_ERROR, "could not allocate a client_id",
                    "%d client_id collisions in a row", DCR_PUT_ATTEMPTS);
}

/* A client secret lives as long as its registration (RFC 7591 client_secret_expires_at). */
static void secret_expires_with(dcr_client *c)
{
    if (c->secret_hash[0])
        json_object_set_new(c->metadata, "client_secret_expires_at", json_integer(c->expires_at));
}

/* A returning subject: replace keeps the client_id and takes the new metadata; reuse keeps
 * everything but the token (and records the statement that wrote it). Either way the old token
 * stops working. The write is a compare-and-set on the token hash the lookup saw, so of two
 * rewrites racing for one registration only one lands. APR_NOTFOUND (deleted or rewritten
 * meanwhile) leaves c as it came. */
static apr_status_t rewrite(const dcr_request *req, dcr_client *c, dcr_client *existing,
                            dcr_error *err)
{
    dcr_client *target = c;
    const char *id = c->client_id;
    long long issued_at = c->issued_at;
    char seen[DCR_TOKEN_HASH_HEX + 1];
    apr_status_t rv;
    memcpy(seen, existing->rat_hash, sizeof(seen));
    if (req->policy->reregister == DCR_REREGISTER_REUSE) {
        target = existing;
        memcpy(target->rat_hash, c->rat_hash, sizeof(c->rat_hash));
        memcpy(target->statement_hash, c->statement_hash, sizeof(c->statement_hash));
        target->statement_iat = c->statement_iat;
        target->expires_at = c->expires_at;
    } else {
        c->client_id = existing->client_id;
        c->issued_at = existing->issued_at;
    }
    secret_expires_with(target);
    rv = req->store->ops->update(req->store, target, seen, req->pool, err);
    if (rv == APR_NOTFOUND) {
        c->client_id = id;
        c->issued_at = issued_at;
        dcr_error_clear(err);
    } else if (rv == APR_SUCCESS && target != c) {
        *c = *target;
    }
    return rv;
}

/* A returning subject under replace or reuse is looked up and rewritten without the lock:
 * rewrites of one registration are the store's to order (the last one wins, as one after the
 * other), and a returning subject passes every ceiling. What the lock must order is the first
 * registration of a subject, so that two of them do not both insert. APR_NOTFOUND: no
 * registration to rewrite (or it went meanwhile), the locked path decides. */
static apr_status_t try_returning(const dcr_request *req, dcr_client *c, dcr_client **existing,
                                  dcr_error *err)
{
    const dcr_store_ops *ops = req->store->ops;
    const char *key = dcr_client_subject_key(req->pool, c);
    apr_array_header_t *clients;
    dcr_client *found;
    apr_status_t rv;

    if (key && req->policy->reregister == DCR_REREGISTER_REPLACE && ops->replace_returning) {
        const char *id;
        long long issued_at;
        secret_expires_with(c); /* as rewrite does */
        rv = ops->replace_returning(req->store, c, req->now, req->pool, &id, &issued_at, err);
        if (rv == APR_SUCCESS) {
            c->client_id = id;
            c->issued_at = issued_at;
            *existing = c;
        }
        if (rv != APR_ENOTIMPL)
            return rv;
        dcr_error_clear(err);
    }
    /* without a lock, admission does the same lookup: once is enough */
    if (!key || !ops->find_clients || !ops->lock_subject ||
        req->policy->reregister == DCR_REREGISTER_NEW)
        return APR_NOTFOUND;
    if ((rv = ops->find_clients(req->store, key, req->now, req->pool, &clients, err)))
        return rv;
    if (!(found = same_client(clients, c)) || (rv = rewrite(req, c, found, err)))
        return rv ? rv : APR_NOTFOUND;
    *existing = found;
    return APR_SUCCESS;
}

bool dcr_lifecycle_store(const dcr_request *req, dcr_client *c, dcr_client **existing,
                         dcr_error *err)
{
    void *lock = NULL;
    bool stored;
    apr_status_t rv = try_returning(req, c, existing, err);

    if (rv != APR_NOTFOUND)
        return rv == APR_SUCCESS;
    *existing = NULL;
    if (!dcr_lifecycle_lock(req, c, &lock, err))
        return false;
    stored = dcr_lifecycle_admit(req, c, existing, err);
    if (stored && *existing) {
        rv = rewrite(req, c, *existing, err);
        if (rv == APR_NOTFOUND) /* deleted by its client meanwhile: register afresh */
            *existing = NULL;
        stored = rv == APR_SUCCESS || (rv == APR_NOTFOUND && store_new(req, c, err));
    } else if (stored) {
        stored = store_new(req, c, err);
    }
    dcr_lifecycle_unlock(req, lock);
    return stored;
}
