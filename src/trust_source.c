#include "trust_source.h"
#include "trust_source_int.h"

#include "bundle.h"
#include "json.h"
#include "sha256.h"

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* apr_psprintf knows neither %lld nor %zu: C's own formatting into pool memory. */
char *dcr_trust_pfmt(apr_pool_t *pool, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *out;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    out = apr_palloc(pool, (apr_size_t)(n < 0 ? 0 : n) + 1);
    va_start(ap, fmt);
    vsnprintf(out, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
    va_end(ap);
    return out;
}

void dcr_trust_limits_defaults(dcr_trust_limits *l)
{
    l->refresh_min = 60;
    l->refresh_max = 3600;
    l->max_stale = 86400;
}

long long dcr_trust_interval(const dcr_trust_limits *l, long long hint)
{
    long long v = hint < 0 ? DCR_TRUST_DEFAULT_INTERVAL : hint;
    if (v < l->refresh_min)
        v = l->refresh_min;
    if (v > l->refresh_max)
        v = l->refresh_max;
    return v < 1 ? 1 : v;
}

static void unref(struct keyset *k);

/* The configuration goes away: its reference to the set in force goes too. */
static apr_status_t drop_current(void *data)
{
    dcr_trust_source *s = data;
    if (s->current)
        unref(s->current);
    s->current = NULL;
    return APR_SUCCESS;
}

static const char *hex_key(apr_pool_t *pool, const dcr_trust_source *s)
{
    const char *parts =
        dcr_trust_pfmt(pool, "%d|%s|%s|%lld|%zu|%d", (int)s->kind, s->url,
                       s->fetch.ca_file ? s->fetch.ca_file : "", s->fetch.timeout_ms,
                       s->fetch.max_size, s->fetch.max_redirects);
    unsigned char md[DCR_SHA256_LEN];
    char *hex = apr_palloc(pool, 2 * DCR_SHA256_LEN + 1);
    for (int i = 0; s->fetch.allow && i < s->fetch.allow->nelts; i++)
        parts = apr_pstrcat(pool, parts, "|", APR_ARRAY_IDX(s->fetch.allow, i, const char *), NULL);
    if (s->check_id)
        parts = apr_pstrcat(pool, parts, "|check|", s->check_id, NULL);
    dcr_sha256_1(md, parts, strlen(parts));
    for (int i = 0; i < DCR_SHA256_LEN; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

dcr_trust_source *dcr_trust_source_create(apr_pool_t *pool, const char *owner, dcr_trust_kind kind,
                                          const char *url, const dcr_fetch_conf *fetch,
                                          const dcr_trust_limits *limits, const char **why)
{
    dcr_trust_source *s;
    const char *origin = dcr_fetch_origin(pool, url);
    if (!origin) {
        *why = "a key source URL must be https, without userinfo";
        return NULL;
    }
    s = apr_pcalloc(pool, sizeof(*s));
    s->pool = pool;
    s->owner = apr_pstrdup(pool, owner);
    s->url = apr_pstrdup(pool, url);
    s->kind = kind;
    s->fetch = *fetch;
    s->fetch.source_origin = origin;
    s->limits = *limits;
    s->key = hex_key(pool, s);
#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&s->mutex, APR_THREAD_MUTEX_DEFAULT, pool) != APR_SUCCESS) {
        *why = "cannot create a thread mutex";
        return NULL;
    }
#endif
    /* registered after the mutex: runs before the mutex is destroyed */
    apr_pool_cleanup_register(pool, s, drop_current, apr_pool_cleanup_null);
    return s;
}

static bool keep_sig(const char *use)
{
    return !use || strcmp(use, "sig") == 0;
}

const dcr_jwks *dcr_trust_parse_doc(apr_pool_t *pool, const dcr_trust_source *src, const char *buf,
                                    size_t len, long long *sequence, long long *hint,
                                    const char **why)
{
    dcr_trust_kind kind = src->kind;
    *sequence = *hint = -1;
    if (kind == DCR_TRUST_DOCUMENT) {
        if (!src->check) {
            *why = "no check is set for this document";
            return NULL;
        }
        if (!src->check(src->check_ctx, pool, buf, len, why))
            return NULL;
        return apr_pcalloc(pool, sizeof(dcr_jwks)); /* no keys: the document is the value */
    }
    if (kind == DCR_TRUST_VC_JWKS) {
        json_t *j = dcr_json_parse(pool, buf, len, DCR_JSON_MAX_DEPTH, why);
        const dcr_jwks *k = j ? dcr_jwks_parse(pool, j, keep_sig, NULL, NULL, why) : NULL;
        if (k && k->nkeys == 0) {
            *why = "the JWKS holds no usable signing key";
            return NULL;
        }
        return k;
    }
    dcr_spiffe_bundle *b = dcr_spiffe_bundle_parse(pool, buf, len, NULL, NULL, why);
    if (!b)
        return NULL;
    *sequence = b->sequence;
    *hint = b->refresh_hint;
    return b->jwt_keys;
}

bool dcr_trust_source_seed(dcr_trust_source *src, const char *buf, size_t len, const char **why)
{
    long long seq, hint;
    keyset *k = apr_pcalloc(src->pool, sizeof(*k));
    if (!(k->keys = dcr_trust_parse_doc(src->pool, src, buf, len, &seq, &hint, why)))
        return false;
    k->refs = 1; /* the source's own reference, never dropped: the config pool frees it */
    src->seed = k;
    return true;
}

void dcr_trust_source_set_check(dcr_trust_source *src, dcr_trust_doc_check check, void *ctx,
                                const char *check_id)
{
    src->check = check;
    src->check_ctx = ctx;
    src->check_id = check_id ? apr_pstrdup(src->pool, check_id) : NULL;
    src->key = hex_key(src->pool, src);
}

dcr_trust_kind dcr_trust_source_kind(const dcr_trust_source *src)
{
    return src->kind;
}

void dcr_trust_source_set_required(dcr_trust_source *src)
{
    src->required = true;
}

bool dcr_trust_source_required(const dcr_trust_source *src)
{
    return src->required;
}

const char *dcr_trust_source_url(const dcr_trust_source *src)
{
    return src->url;
}

const char *dcr_trust_source_owner(const dcr_trust_source *src)
{
    return src->owner;
}

const char *dcr_trust_source_key(const dcr_trust_source *src)
{
    return src->key;
}

void dcr_trust_source_attach(dcr_trust_source *src, dcr_trust_slot *slot)
{
    src->slot = slot;
}

dcr_trust_slot *dcr_trust_source_slot(const dcr_trust_source *src)
{
    return src->slot;
}

bool dcr_trust_source_has_seed(const dcr_trust_source *src)
{
    return src->seed != NULL;
}

/* ---- request side ---------------------------------------------------------------------- */

static void lock(dcr_trust_source *s)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(s->mutex);
#else
    (void)s;
#endif
}

static void unlock(dcr_trust_source *s)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(s->mutex);
#else
    (void)s;
#endif
}

static void unref(keyset *k)
{
    if (--k->refs == 0 && k->pool) {
        apr_pool_destroy(k->pool);
        free(k);
    }
}

typedef struct ref {
    dcr_trust_source *src;
    keyset *set;
} ref;

static apr_status_t release(void *data)
{
    ref *r = data;
    lock(r->src);
    unref(r->set);
    unlock(r->src);
    return APR_SUCCESS;
}

/* Parses the published version when it differs from the one this process holds (called with
 * the lock held). A document that fails to parse here passed the fetcher's checks, so it
 * cannot happen short of memory trouble: the previous set stays. */
static void catch_up(dcr_trust_source *s, uint64_t version)
{
    keyset *k;
    char *doc;
    size_t len;
    long long seq, hint;
    const char *why;
    uint64_t got;

    if (s->current && s->current->version == version)
        return;
    if (!(k = calloc(1, sizeof(*k))))
        return;
    if (apr_pool_create_unmanaged_ex(&k->pool, NULL, NULL) != APR_SUCCESS) {
        free(k);
        return;
    }
    if (!dcr_trust_slot_read(s->slot, k->pool, &doc, &len, &seq, &got) ||
        !(k->keys = dcr_trust_parse_doc(k->pool, s, doc, len, &seq, &hint, &why))) {
        apr_pool_destroy(k->pool);
        free(k);
        return;
    }
    k->version = got;
    k->refs = 1;
    if (s->current)
        unref(s->current);
    s->current = k;
}

const dcr_jwks *dcr_trust_source_keys(dcr_trust_source *src, apr_pool_t *rpool, long long now,
                                      const char **why)
{
    dcr_trust_slot *slot = src->slot;
    uint64_t version = slot ? dcr_trust_slot_version(slot) : 0;
    keyset *use;
    ref *r;

    /* slot->why is written by the fetching process meanwhile: read at most its size */
    if (version == 0) { /* nothing fetched yet */
        if (src->seed)
            return src->seed->keys;
        *why = dcr_trust_pfmt(
            rpool, "%s: no keys yet, the first fetch of %s has not succeeded%s%.255s", src->owner,
            src->url, slot && slot->why[0] ? ": " : "", slot ? slot->why : "");
        return NULL;
    }
    if (now - dcr_trust_slot_get(&slot->good_at) > src->limits.max_stale) {
        *why = dcr_trust_pfmt(rpool,
                              "%s: the keys from %s are stale (last good fetch %lld s ago, "
                              "DCRTrustMaxStale %lld s)%s%.255s",
                              src->owner, src->url, now - dcr_trust_slot_get(&slot->good_at),
                              src->limits.max_stale, slot->why[0] ? ": " : "", slot->why);
        return NULL;
    }
    lock(src);
    catch_up(src, version);
    use = src->current;
    if (use)
        use->refs++;
    unlock(src);
    if (!use) {
        *why = dcr_trust_pfmt(rpool, "%s: the published keys from %s cannot be read", src->owner,
                              src->url);
        return NULL;
    }
    r = apr_palloc(rpool, sizeof(*r));
    r->src = src;
    r->set = use;
    apr_pool_cleanup_register(rpool, r, release, apr_pool_cleanup_null);
    return use->keys;
}

const char *dcr_trust_source_doc(dcr_trust_source *src, apr_pool_t *rpool, long long now,
                                 size_t *len, const char **why)
{
    dcr_trust_slot *slot = src->slot;
    char *doc = NULL;
    long long seq;
    uint64_t version;

    if (!slot || dcr_trust_slot_version(slot) == 0) {
        *why = dcr_trust_pfmt(
            rpool, "%s: no document yet, the first fetch of %s has not succeeded%s%.255s",
            src->owner, src->url, slot && slot->why[0] ? ": " : "", slot ? slot->why : "");
        return NULL;
    }
    if (now - dcr_trust_slot_get(&slot->good_at) > src->limits.max_stale) {
        *why = dcr_trust_pfmt(rpool,
                              "%s: the document from %s is stale (last good fetch %lld s ago, "
                              "DCRTrustMaxStale %lld s)%s%.255s",
                              src->owner, src->url, now - dcr_trust_slot_get(&slot->good_at),
                              src->limits.max_stale, slot->why[0] ? ": " : "", slot->why);
        return NULL;
    }
    if (!dcr_trust_slot_read(slot, rpool, &doc, len, &seq, &version)) {
        *why = dcr_trust_pfmt(rpool, "%s: the published document from %s cannot be read",
                              src->owner, src->url);
        return NULL;
    }
    return doc;
}

static long long now_ms(void)
{
    return (long long)apr_time_as_msec(apr_time_now());
}

bool dcr_trust_source_kid_miss(dcr_trust_source *src)
{
    dcr_trust_slot *slot = src->slot;
    uint64_t v0;
    int64_t asked, now = now_ms();

    if (!slot)
        return false;
    v0 = dcr_trust_slot_version(slot);
    asked = dcr_trust_slot_get(&slot->kid_asked_ms);
    if (!(asked > dcr_trust_slot_get(&slot->kid_done_ms) && now - asked < DCR_TRUST_KID_WAIT_MS)) {
        /* no refresh in flight: start one unless the last was too recent */
        if (now - asked < DCR_TRUST_KID_EVERY_MS)
            return false;
        if (!dcr_trust_slot_cas(&slot->kid_asked_ms, asked, now)) {
            /* another request started one this instant: wait for that one */
            asked = dcr_trust_slot_get(&slot->kid_asked_ms);
            if (now - asked >= DCR_TRUST_KID_WAIT_MS)
                return false;
        } else
            asked = now;
    }
    while (now_ms() < asked + DCR_TRUST_KID_WAIT_MS &&
           dcr_trust_slot_get(&slot->kid_done_ms) < asked)
        apr_sleep(apr_time_from_msec(20));
    return dcr_trust_slot_version(slot) != v0;
}
