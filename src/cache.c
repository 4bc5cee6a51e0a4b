#include "cache.h"
#include "sha256.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <string.h>

/* Keys are hashed: socache providers have small key limits, and URLs are long. */
static const char *hashed_key(apr_pool_t *pool, const char *key)
{
    unsigned char md[DCR_SHA256_LEN];
    unsigned int n = dcr_sha256_1(md, key, strlen(key)) ? DCR_SHA256_LEN : 0;
    char *hex = apr_palloc(pool, 2 * sizeof md + 5);
    memcpy(hex, "dcr:", 4);
    for (unsigned i = 0; i < n; i++)
        apr_snprintf(hex + 4 + 2 * i, 3, "%02x", md[i]);
    return hex;
}

/* Records carry their own expiry (8 bytes, big endian) so every backend honours the
 * request's clock, not only its own. */
bool dcr_cache_set(dcr_cache *cache, apr_pool_t *pool, const char *key, const void *val, size_t len,
                   long long expires_at)
{
    unsigned char *rec;
    if (!cache || (cache->max_value && len + 8 > cache->max_value))
        return false;
    rec = apr_palloc(pool, len + 8);
    for (int i = 0; i < 8; i++)
        rec[i] = (unsigned char)((unsigned long long)expires_at >> (56 - 8 * i));
    memcpy(rec + 8, val, len);
    return cache->store(cache->baton, hashed_key(pool, key), rec, len + 8, expires_at);
}

bool dcr_cache_get(dcr_cache *cache, apr_pool_t *pool, const char *key, long long now, char **val,
                   size_t *len)
{
    unsigned char *rec;
    size_t n;
    unsigned long long exp = 0;
    if (!cache || !cache->retrieve(cache->baton, pool, hashed_key(pool, key), &rec, &n) || n < 8)
        return false;
    for (int i = 0; i < 8; i++)
        exp = exp << 8 | rec[i];
    if ((long long)exp <= now)
        return false;
    *val = apr_palloc(pool, n - 8 + 1);
    memcpy(*val, rec + 8, n - 8);
    (*val)[n - 8] = 0;
    *len = n - 8;
    return true;
}

typedef struct mem_cache {
    apr_pool_t *parent, *pool; /* pool is cleared wholesale when full */
    apr_hash_t *entries;
    unsigned max_entries;
#if APR_HAS_THREADS
    apr_thread_mutex_t *lock;
#endif
} mem_cache;

typedef struct mem_entry {
    unsigned char *val;
    size_t len;
} mem_entry;

static void lock(mem_cache *m)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(m->lock);
#else
    (void)m;
#endif
}

static void unlock(mem_cache *m)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(m->lock);
#else
    (void)m;
#endif
}

static bool mem_store(void *baton, const char *key, const unsigned char *val, size_t len,
                      long long expires_at)
{
    mem_cache *m = baton;
    mem_entry *e;
    (void)expires_at;
    lock(m);
    /* replaced values stay in the pool until it is cleared: bound the growth by clearing
     * everything once the entry count (or replacements) reach the limit */
    if (apr_hash_count(m->entries) >= m->max_entries) {
        apr_pool_clear(m->pool);
        m->entries = apr_hash_make(m->pool);
    }
    e = apr_palloc(m->pool, sizeof(*e));
    e->val = apr_pmemdup(m->pool, val, len);
    e->len = len;
    apr_hash_set(m->entries, apr_pstrdup(m->pool, key), APR_HASH_KEY_STRING, e);
    unlock(m);
    return true;
}

static bool mem_retrieve(void *baton, apr_pool_t *pool, const char *key, unsigned char **val,
                         size_t *len)
{
    mem_cache *m = baton;
    mem_entry *e;
    lock(m);
    e = apr_hash_get(m->entries, key, APR_HASH_KEY_STRING);
    if (e) {
        *val = apr_pmemdup(pool, e->val, e->len);
        *len = e->len;
    }
    unlock(m);
    return e != NULL;
}

dcr_cache *dcr_cache_memory_create(apr_pool_t *pool, unsigned max_entries)
{
    dcr_cache *c = apr_pcalloc(pool, sizeof(*c));
    mem_cache *m = apr_pcalloc(pool, sizeof(*m));
    m->parent = pool;
    apr_pool_create(&m->pool, pool);
    m->entries = apr_hash_make(m->pool);
    m->max_entries = max_entries ? max_entries : 1;
#if APR_HAS_THREADS
    apr_thread_mutex_create(&m->lock, APR_THREAD_MUTEX_DEFAULT, pool);
#endif
    c->store = mem_store;
    c->retrieve = mem_retrieve;
    c->baton = m;
    c->max_value = 1024 * 1024 + 8;
    return c;
}
