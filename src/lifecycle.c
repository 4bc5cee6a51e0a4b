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

bool dcr_lifecycle_admit(const dcr_request *req, const dcr_client *incoming, dcr_client **existing,
                         dcr_error *err)
{
    const dcr_policy *policy = req->policy;
    const dcr_store_ops *ops = req->store->ops;
    const char *key = dcr_client_subject_key(req->pool, incoming);
    apr_array_header_t *clients = NULL;
    long long n;

    *existing = NULL;
    /* earlier registrations only matter to replace/reuse and to the per-subject ceiling */
    if (key && ops->find_clients &&
        (policy->reregister != DCR_REREGISTER_NEW || policy->max_per_subject > 0)) {
        if (ops->find_clients(req->store, key, req->now, req->pool, &clients, err) != APR_SUCCESS)
            return false;
        for (int i = 0; policy->reregister != DCR_REREGISTER_NEW && i < clients->nelts; i++) {
            dcr_client *c = APR_ARRAY_IDX(clients, i, dcr_client *);
            if (same_software(c, incoming)) {
                *existing = c;
                return true; /* replacing or reusing never grows the store */
            }
        }
        if (policy->max_per_subject > 0 && clients->nelts >= policy->max_per_subject)
            return too_many(err, "DCRMaxRegistrationsPerSubject", policy->max_per_subject);
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
    if (key && (policy->reregister != DCR_REREGISTER_NEW || policy->max_per_subject > 0))
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
