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
    apr_array_header_t *ids = NULL;
    long long n;

    *existing = NULL;
    if (key && ops->find_by_subject) {
        if (ops->find_by_subject(req->store, key, req->now, req->pool, &ids, err) != APR_SUCCESS)
            return false;
        for (int i = 0; policy->reregister != DCR_REREGISTER_NEW && i < ids->nelts; i++) {
            dcr_client *c = NULL;
            apr_status_t rv = ops->get(req->store, APR_ARRAY_IDX(ids, i, const char *), req->now,
                                       req->pool, &c, err);
            if (rv == APR_NOTFOUND)
                continue; /* expired or deleted since the lookup */
            if (rv != APR_SUCCESS)
                return false;
            if (same_software(c, incoming)) {
                *existing = c;
                return true; /* replacing or reusing never grows the store */
            }
        }
        if (policy->max_per_subject > 0 && ids->nelts >= policy->max_per_subject)
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
