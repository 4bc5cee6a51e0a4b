#include "cache_socache.h"
#include "global_mutex.h"

#include "ap_provider.h"
#include "ap_socache.h"
#include "http_log.h"
#include "mpm_common.h"
#include "unixd.h"

#include <apr_global_mutex.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <unistd.h>

APLOG_USE_MODULE(dcr_trusted);

#define CACHE_MAX_RECORD (64 * 1024) /* status lists are small signed documents */

typedef struct socache_cache {
    dcr_cache cache;
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    server_rec *s;
    apr_global_mutex_t *mutex; /* when the provider is not MP-safe (shmcb) */
    const char *lockfile;
    pid_t attached; /* the process that attached the mutex */
#if APR_HAS_THREADS
    apr_thread_mutex_t *attach_lock;
#endif
} socache_cache;

static const char *cache_spec;       /* DCRCache, NULL: default */
static apr_pool_t *cache_generation; /* pconf the current cache belongs to */
static dcr_cache *current;

static apr_status_t forget_spec(void *data)
{
    (void)data;
    cache_spec = NULL;
    return APR_SUCCESS;
}

const char *dcr_ap_cmd_cache(cmd_parms *cmd, void *dconf, const char *spec)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    (void)dconf;
    if (err)
        return err;
    cache_spec = apr_pstrdup(cmd->pool, spec);
    /* a restart re-reads the configuration: forget the old value with it */
    apr_pool_cleanup_register(cmd->pool, NULL, forget_spec, apr_pool_cleanup_null);
    return NULL;
}

/* Children fork after post_config: the first use in each process attaches the mutex (the
 * module's child_init hook belongs to the glue, so this needs no hook of its own). */
static bool attach(socache_cache *c)
{
    bool ok = true;
    if (!c->mutex || c->attached == getpid())
        return true;
#if APR_HAS_THREADS
    apr_thread_mutex_lock(c->attach_lock);
#endif
    if (c->attached != getpid()) {
        ok =
            apr_global_mutex_child_init(&c->mutex, c->lockfile, c->s->process->pool) == APR_SUCCESS;
        if (ok)
            c->attached = getpid();
        else
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, c->s, "DCRCache: cannot attach the mutex");
    }
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(c->attach_lock);
#endif
    return ok;
}

static bool sc_store(void *baton, const char *key, const unsigned char *val, size_t len,
                     long long expires_at)
{
    socache_cache *c = baton;
    apr_pool_t *p;
    apr_status_t rv;
    if (len > CACHE_MAX_RECORD || !attach(c))
        return false;
    apr_pool_create(&p, NULL);
    if (c->mutex && dcr_global_mutex_lock(c->mutex) != APR_SUCCESS) {
        apr_pool_destroy(p);
        return false;
    }
    rv = c->provider->store(c->instance, c->s, (const unsigned char *)key,
                            (unsigned int)strlen(key), apr_time_from_sec(expires_at),
                            (unsigned char *)val, (unsigned int)len, p);
    if (c->mutex)
        apr_global_mutex_unlock(c->mutex);
    apr_pool_destroy(p);
    return rv == APR_SUCCESS;
}

static bool sc_retrieve(void *baton, apr_pool_t *pool, const char *key, unsigned char **val,
                        size_t *len)
{
    socache_cache *c = baton;
    unsigned char *buf;
    unsigned int n = CACHE_MAX_RECORD;
    apr_status_t rv;
    if (!attach(c))
        return false;
    buf = apr_palloc(pool, CACHE_MAX_RECORD);
    if (c->mutex && dcr_global_mutex_lock(c->mutex) != APR_SUCCESS)
        return false;
    rv = c->provider->retrieve(c->instance, c->s, (const unsigned char *)key,
                               (unsigned int)strlen(key), buf, &n, pool);
    if (c->mutex)
        apr_global_mutex_unlock(c->mutex);
    if (rv != APR_SUCCESS)
        return false;
    *val = buf;
    *len = n;
    return true;
}

static apr_status_t sc_destroy(void *data)
{
    socache_cache *c = data;
    c->provider->destroy(c->instance, c->s);
    return APR_SUCCESS;
}

static apr_status_t forget(void *data)
{
    (void)data;
    current = NULL;
    cache_generation = NULL;
    return APR_SUCCESS;
}

static dcr_cache *socache_create(apr_pool_t *pconf, server_rec *s, const char *spec, bool required,
                                 const char **msg)
{
    socache_cache *c = apr_pcalloc(pconf, sizeof(*c));
    const char *name = spec, *args = NULL, *colon = strchr(spec, ':'), *err;
    /* avg_obj_size is an average: shmcb divides its space by it */
    struct ap_socache_hints hints = {64, 4096, apr_time_from_sec(300)};
    apr_status_t rv;

    if (colon) {
        name = apr_pstrmemdup(pconf, spec, (apr_size_t)(colon - spec));
        args = colon + 1;
    }
    c->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (!c->provider) {
        if (required)
            *msg = apr_psprintf(pconf,
                                "DCRCache: unknown socache provider '%s' (load "
                                "mod_socache_%s)",
                                name, name);
        return NULL;
    }
    if ((err = c->provider->create(&c->instance, args, pconf, pconf))) {
        *msg = apr_psprintf(pconf, "DCRCache %s: %s", spec, err);
        return NULL;
    }
    if (c->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        c->lockfile = ap_runtime_dir_relative(pconf, "dcr-cache.lock");
        rv = apr_global_mutex_create(&c->mutex, c->lockfile, APR_LOCK_DEFAULT, pconf);
        if (rv == APR_SUCCESS)
            rv = ap_unixd_set_global_mutex_perms(c->mutex);
        if (rv != APR_SUCCESS) {
            *msg = "DCRCache: cannot create its mutex";
            return NULL;
        }
        c->attached = getpid();
#if APR_HAS_THREADS
        apr_thread_mutex_create(&c->attach_lock, APR_THREAD_MUTEX_DEFAULT, pconf);
#endif
    }
    if (c->provider->init(c->instance, "dcr-cache", &hints, s, pconf) != APR_SUCCESS) {
        *msg = apr_psprintf(pconf, "DCRCache %s: the provider failed to initialise", spec);
        return NULL;
    }
    apr_pool_cleanup_register(pconf, c, sc_destroy, apr_pool_cleanup_null);
    c->s = s;
    c->cache.store = sc_store;
    c->cache.retrieve = sc_retrieve;
    c->cache.baton = c;
    c->cache.max_value = CACHE_MAX_RECORD;
    return &c->cache;
}

dcr_cache *dcr_ap_cache(apr_pool_t *pconf, server_rec *s, const char **msg)
{
    *msg = NULL;
    if (current && cache_generation == pconf)
        return current;
    current = socache_create(pconf, s, cache_spec ? cache_spec : "shmcb", cache_spec != NULL, msg);
    if (!current && *msg)
        return NULL;
    if (!current) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "DCRCache unset and mod_socache_shmcb not loaded: status lists are cached "
                     "per process");
        current = dcr_cache_memory_create(pconf, 256);
    }
    cache_generation = pconf;
    apr_pool_cleanup_register(pconf, NULL, forget, apr_pool_cleanup_null);
    return current;
}
