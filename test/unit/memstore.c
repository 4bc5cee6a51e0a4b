#include "memstore.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

typedef struct memstore {
    apr_pool_t *pool;
    apr_hash_t *records; /* client_id -> record JSON text */
    apr_hash_t *used;    /* statement hash -> long long * expiry */
    bool down;
} memstore;

static bool unavailable(memstore *m, dcr_error *err)
{
    if (m->down)
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the registration store is unavailable",
                 "memstore is down");
    return m->down;
}

static apr_status_t put(dcr_store *s, const dcr_client *c, apr_pool_t *p, dcr_error *err)
{
    memstore *m = s->ctx;
    if (unavailable(m, err))
        return APR_EGENERAL;
    if (apr_hash_get(m->records, c->client_id, APR_HASH_KEY_STRING))
        return APR_EEXIST;
    apr_hash_set(m->records, apr_pstrdup(m->pool, c->client_id), APR_HASH_KEY_STRING,
                 dcr_client_to_record(m->pool, c));
    return APR_SUCCESS;
}

static apr_status_t get(dcr_store *s, const char *id, long long now, apr_pool_t *p,
                        dcr_client **out, dcr_error *err)
{
    memstore *m = s->ctx;
    const char *rec;
    if (unavailable(m, err))
        return APR_EGENERAL;
    rec = apr_hash_get(m->records, id, APR_HASH_KEY_STRING);
    if (!rec)
        return APR_NOTFOUND;
    *out = dcr_client_from_record(p, rec, strlen(rec), err);
    if (!*out)
        return APR_EGENERAL;
    return ((*out)->expires_at && (*out)->expires_at <= now) ? APR_NOTFOUND : APR_SUCCESS;
}

static apr_status_t update(dcr_store *s, const dcr_client *c, const char *expect, apr_pool_t *p,
                           dcr_error *err)
{
    memstore *m = s->ctx;
    const char *rec;
    dcr_client *old;
    if (unavailable(m, err))
        return APR_EGENERAL;
    if (!(rec = apr_hash_get(m->records, c->client_id, APR_HASH_KEY_STRING)))
        return APR_NOTFOUND;
    if (expect && (!(old = dcr_client_from_record(p, rec, strlen(rec), err)) ||
                   strcmp(old->rat_hash, expect) != 0))
        return APR_NOTFOUND; /* compare-and-set lost */
    apr_hash_set(m->records, apr_pstrdup(m->pool, c->client_id), APR_HASH_KEY_STRING,
                 dcr_client_to_record(m->pool, c));
    return APR_SUCCESS;
}

static apr_status_t remove_(dcr_store *s, const char *id, apr_pool_t *p, dcr_error *err)
{
    memstore *m = s->ctx;
    if (unavailable(m, err))
        return APR_EGENERAL;
    if (!apr_hash_get(m->records, id, APR_HASH_KEY_STRING))
        return APR_NOTFOUND;
    apr_hash_set(m->records, id, APR_HASH_KEY_STRING, NULL);
    return APR_SUCCESS;
}

/* Linear scans: a handful of records in a unit test. Oldest first, as store.h asks. */
static int oldest_first(const void *a, const void *b)
{
    const dcr_client *x = *(dcr_client *const *)a, *y = *(dcr_client *const *)b;
    if (x->issued_at != y->issued_at)
        return x->issued_at < y->issued_at ? -1 : 1;
    return strcmp(x->client_id, y->client_id);
}

static apr_status_t find_clients(dcr_store *s, const char *key, long long now, apr_pool_t *p,
                                 apr_array_header_t **clients, dcr_error *err)
{
    memstore *m = s->ctx;
    if (unavailable(m, err))
        return APR_EGENERAL;
    *clients = apr_array_make(p, 4, sizeof(dcr_client *));
    for (apr_hash_index_t *hi = apr_hash_first(p, m->records); hi; hi = apr_hash_next(hi)) {
        const char *rec = apr_hash_this_val(hi);
        dcr_client *c = dcr_client_from_record(p, rec, strlen(rec), err);
        const char *k = c ? dcr_client_subject_key(p, c) : NULL;
        if (k && key && strcmp(k, key) == 0 && !(c->expires_at && c->expires_at <= now))
            APR_ARRAY_PUSH(*clients, dcr_client *) = c;
    }
    qsort((*clients)->elts, (*clients)->nelts, sizeof(dcr_client *), oldest_first);
    return APR_SUCCESS;
}

static apr_status_t count(dcr_store *s, long long now, long long *n, apr_pool_t *p, dcr_error *err)
{
    memstore *m = s->ctx;
    if (unavailable(m, err))
        return APR_EGENERAL;
    *n = apr_hash_count(m->records);
    return APR_SUCCESS;
}

static apr_status_t remember(dcr_store *s, const char *hash, long long expires_at, long long now,
                             apr_pool_t *p, dcr_error *err)
{
    memstore *m = s->ctx;
    long long *until;
    (void)p;
    if (unavailable(m, err))
        return APR_EGENERAL;
    until = apr_hash_get(m->used, hash, APR_HASH_KEY_STRING);
    if (until && *until > now)
        return APR_EEXIST;
    until = apr_palloc(m->pool, sizeof(*until));
    *until = expires_at;
    apr_hash_set(m->used, apr_pstrdup(m->pool, hash), APR_HASH_KEY_STRING, until);
    return APR_SUCCESS;
}

static const dcr_store_ops memstore_ops = {.name = "memory",
                                           .caps = DCR_STORE_CAN_ITERATE,
                                           .put = put,
                                           .get = get,
                                           .update = update,
                                           .remove = remove_,
                                           .find_clients = find_clients,
                                           .count = count,
                                           .remember_statement = remember};

dcr_store *memstore_create(apr_pool_t *pool)
{
    dcr_store *s = apr_pcalloc(pool, sizeof(*s));
    memstore *m = apr_pcalloc(pool, sizeof(*m));
    m->pool = pool;
    m->records = apr_hash_make(pool);
    m->used = apr_hash_make(pool);
    s->ops = &memstore_ops;
    s->ctx = m;
    return s;
}

unsigned memstore_count(dcr_store *s)
{
    return apr_hash_count(((memstore *)s->ctx)->records);
}

void memstore_set_down(dcr_store *s, bool down)
{
    ((memstore *)s->ctx)->down = down;
}

unsigned memstore_used_count(dcr_store *s)
{
    return apr_hash_count(((memstore *)s->ctx)->used);
}
