/* DCRStore socache:<provider>[:<args>]: registrations in a mod_socache provider (shmcb,
 * memcache, redis, ...). A cache, not a database: entries may be evicted and shmcb loses all on
 * every restart (docs/storage-socache.md). Keys are SHA-256 hashes, so the provider never sees
 * a client_id; a secondary entry per subject lists its clients (subject_index.h). No
 * iteration: expire and count are NULL. */
#include "store_socache.h"
#include "global_mutex.h"
#include "sha256.h"
#include "subject_index.h"

#include "store_backend.h"

#include "ap_provider.h"
#include "ap_socache.h"
#include "http_log.h"

#include "preflight.h"
#include "util_mutex.h"

#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(dcr_trusted);

#define MUTEX_TYPE "dcr-store"
#define MAX_RECORD (64 * 1024) /* read buffer; larger records are refused on write */
#define INDEX_MAX (32 * 1024)
#define MEMCACHE_MAX_TTL (29LL * 86400) /* memcached: longer relative expiries are dates */

typedef struct socache_cfg {
    const char *provider_name;
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex; /* only when the provider is not MP-safe */
    const char *mutex_id;
    server_rec *s;
    int ready;
} socache_cfg;

static int instances; /* distinct namespaces per instance in one configuration */

apr_status_t dcr_ap_socache_pre_config(apr_pool_t *pconf)
{
    instances = 0;
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

static const char *configure(cmd_parms *cmd, const char *args, void **cfgp)
{
    socache_cfg *cfg = apr_pcalloc(cmd->pool, sizeof(*cfg));
    const char *colon, *err;
    if (!args || !*args)
        return "a socache provider is required (socache:shmcb)";
    colon = strchr(args, ':');
    cfg->provider_name =
        colon ? apr_pstrndup(cmd->pool, args, colon - args) : apr_pstrdup(cmd->pool, args);
    cfg->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, cfg->provider_name,
                                       AP_SOCACHE_PROVIDER_VERSION);
    if (!cfg->provider)
        return apr_psprintf(cmd->pool,
                            "unknown socache provider '%s' (is mod_socache_%s loaded before "
                            "this line?)",
                            cfg->provider_name, cfg->provider_name);
    err =
        cfg->provider->create(&cfg->instance, colon ? colon + 1 : NULL, cmd->temp_pool, cmd->pool);
    if (err)
        return apr_psprintf(cmd->pool, "socache provider %s: %s", cfg->provider_name, err);
    cfg->mutex_id = apr_psprintf(cmd->pool, "%d", ++instances);
    *cfgp = cfg;
    return NULL;
}

static apr_status_t destroy(void *data)
{
    socache_cfg *cfg = data;
    if (cfg->ready)
        cfg->provider->destroy(cfg->instance, cfg->s);
    cfg->ready = 0;
    return APR_SUCCESS;
}

static const char *post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s, void *c)
{
    socache_cfg *cfg = c;
    struct ap_socache_hints hints = {32, 2048, apr_time_from_sec(300)};
    apr_status_t rv;
    if (cfg->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&cfg->mutex, NULL, MUTEX_TYPE, cfg->mutex_id, s, pconf, 0);
        if (rv != APR_SUCCESS)
            return "cannot create the store mutex (see Mutex " MUTEX_TYPE ")";
    }
    rv = cfg->provider->init(cfg->instance, apr_pstrcat(ptemp, "dcr-", cfg->mutex_id, NULL), &hints,
                             s, pconf);
    if (rv != APR_SUCCESS)
        return apr_psprintf(ptemp, "socache provider %s failed to initialise", cfg->provider_name);
    cfg->s = s;
    cfg->ready = 1;
    apr_pool_cleanup_register(pconf, cfg, destroy, apr_pool_cleanup_null);
    /* the README used to suggest shmcb: say once per start what that costs */
    dcr_ap_warn_later(s, apr_psprintf(pconf,
                                      "DCRStore socache:%s keeps registrations in a cache: %s; "
                                      "use DCRStore sqlite:<file> or dbd for registrations that "
                                      "last",
                                      cfg->provider_name,
                                      strcmp(cfg->provider_name, "shmcb") == 0
                                          ? "every restart, graceful ones (logrotate) included, "
                                            "wipes them"
                                          : "they are lost when the cache restarts or evicts "
                                            "them"));
    return NULL;
}

static void child_init(apr_pool_t *pchild, server_rec *s, void *c)
{
    socache_cfg *cfg = c;
    if (cfg->mutex &&
        apr_global_mutex_child_init(&cfg->mutex, apr_global_mutex_lockfile(cfg->mutex), pchild) !=
            APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "DCRStore socache: cannot attach the mutex");
}

/* ---- the dcr_store ops ------------------------------------------------------------------ */

typedef struct handle {
    socache_cfg *cfg;
    server_rec *s;
} handle;

static bool hash_key(const char *tag, const char *name, unsigned char out[32])
{
    const void *parts[] = {tag, name};
    const size_t lens[] = {strlen(tag) + 1, strlen(name)};
    return dcr_sha256(out, 2, parts, lens);
}

static int lock(handle *h)
{
    return !h->cfg->mutex || dcr_global_mutex_lock(h->cfg->mutex) == APR_SUCCESS;
}

static void unlock(handle *h)
{
    if (h->cfg->mutex)
        apr_global_mutex_unlock(h->cfg->mutex);
}

static apr_status_t down(dcr_error *err, const char *what, apr_status_t rv)
{
    dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the registration store is unavailable",
             "socache store: %s failed (%d)", what, rv);
    return rv == APR_SUCCESS ? APR_EGENERAL : rv;
}

/* Raw entry by hashed key: APR_SUCCESS with *val (NUL-terminated), APR_NOTFOUND, or error. */
static apr_status_t fetch(handle *h, const char *tag, const char *name, apr_pool_t *p, char **val,
                          unsigned int *len)
{
    unsigned char key[32];
    unsigned char *buf = apr_palloc(p, MAX_RECORD + 1);
    unsigned int n = MAX_RECORD;
    apr_status_t rv;
    if (!hash_key(tag, name, key))
        return APR_ENOMEM;
    rv = h->cfg->provider->retrieve(h->cfg->instance, h->s, key, sizeof(key), buf, &n, p);
    if (rv != APR_SUCCESS)
        return APR_STATUS_IS_NOTFOUND(rv) ? APR_NOTFOUND : rv;
    buf[n] = '\0';
    *val = (char *)buf;
    if (len)
        *len = n;
    return APR_SUCCESS;
}

static apr_time_t expiry_of(handle *h, long long expires_at)
{
    /* memcached reads relative expiry over 30 days as an absolute time */
    long long days = strcmp(h->cfg->provider_name, "memcache") ? 3650 : 29;
    if (expires_at > 0)
        return apr_time_from_sec(expires_at);
    return apr_time_now() + apr_time_from_sec(days * 86400);
}

static apr_status_t save(handle *h, const char *tag, const char *name, const char *val,
                         long long expires_at, apr_pool_t *p, dcr_error *err)
{
    unsigned char key[32];
    size_t n = strlen(val);
    apr_status_t rv;
    if (n > MAX_RECORD) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "the registration is too large to store",
                 "socache store: record of %zu bytes exceeds the %d-byte entry limit", n,
                 MAX_RECORD);
        return APR_ENOSPC;
    }
    if (!hash_key(tag, name, key))
        return down(err, "key hash", APR_ENOMEM);
    rv = h->cfg->provider->store(h->cfg->instance, h->s, key, sizeof(key), expiry_of(h, expires_at),
                                 (unsigned char *)val, (unsigned int)n, p);
    if (rv != APR_SUCCESS) {
        dcr_fail(err, DCR_ERR_SERVER_ERROR, "the registration could not be stored",
                 "socache store: provider %s refused a %zu-byte entry (%d): larger than one "
                 "entry can hold? give the cache more room (e.g. shmcb:<file>(<bytes>))",
                 h->cfg->provider_name, n, rv);
        return rv;
    }
    return APR_SUCCESS;
}

static apr_status_t drop(handle *h, const char *tag, const char *name, apr_pool_t *p)
{
    unsigned char key[32];
    if (!hash_key(tag, name, key))
        return APR_ENOMEM;
    return h->cfg->provider->remove(h->cfg->instance, h->s, key, sizeof(key), p);
}

/* The subject index (subject_index.h): lines joined once, ending in a newline (no quadratic
 * copying), the newest kept when it grows too long; empty, it goes. */
static apr_status_t index_save(handle *h, const char *skey, apr_array_header_t *lines,
                               apr_pool_t *p, dcr_error *err)
{
    const char *out;
    APR_ARRAY_PUSH(lines, const char *) = "";
    out = lines->nelts > 1 ? apr_array_pstrcat(p, lines, '\n') : "";
    if (strlen(out) > INDEX_MAX)
        out = strchr(out + strlen(out) - INDEX_MAX, '\n') + 1;
    if (!*out) {
        drop(h, "subject", skey, p);
        return APR_SUCCESS;
    }
    return save(h, "subject", skey, out, 0, p, err);
}

/* The index without the line of del (a client_id) or of add's client, then add's line. */
static apr_status_t index_edit(handle *h, const char *skey, const dcr_client *add, const char *del,
                               apr_pool_t *p, dcr_error *err)
{
    char *cur = NULL, *state = NULL, *line;
    apr_status_t rv = fetch(h, "subject", skey, p, &cur, NULL);
    apr_array_header_t *lines = apr_array_make(p, 16, sizeof(const char *));
    dcr_index_line l;
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        return down(err, "index read", rv);
    for (line = cur ? apr_strtok(cur, "\n", &state) : NULL; line;
         line = apr_strtok(NULL, "\n", &state))
        if (dcr_index_line_parse(p, line, &l) && !(del && !strcmp(l.client_id, del)) &&
            !(add && !strcmp(l.client_id, add->client_id)))
            APR_ARRAY_PUSH(lines, const char *) = line;
    if (add)
        APR_ARRAY_PUSH(lines, const char *) = dcr_index_line_of(p, add);
    return index_save(h, skey, lines, p, err);
}

static apr_status_t get_locked(handle *h, const char *id, long long now, apr_pool_t *p,
                               dcr_client **out, dcr_error *err)
{
    char *rec;
    unsigned int len;
    apr_status_t rv = fetch(h, "client", id, p, &rec, &len);
    if (rv == APR_NOTFOUND)
        return rv;
    if (rv != APR_SUCCESS)
        return down(err, "read", rv);
    *out = dcr_client_from_record(p, rec, len, err);
    if (!*out)
        return APR_EGENERAL;
    return ((*out)->expires_at && (*out)->expires_at <= now) ? APR_NOTFOUND : APR_SUCCESS;
}

/* An update's compare-and-set: the stored record still has the expected token hash. Exact
 * under the store mutex (one node's shmcb); between nodes sharing memcache or redis another
 * node's write can land between the read and the write (docs/storage-socache.md). */
static bool still_expected(const char *old, unsigned int len, const char *expect, apr_pool_t *p)
{
    dcr_error ignored;
    const dcr_client *c = expect ? dcr_client_from_record(p, old, len, &ignored) : NULL;
    return !expect || (c && strcmp(c->rat_hash, expect) == 0);
}

/* put (the client_id must be free) and update (it must exist, with the expected token hash
 * when one is given) in one place: the record, then the subject's index entry. The index is
 * rewritten on update too: a cache evicts its oldest entries first, and an index older than
 * the records it lists would go before them. */
static apr_status_t write_client(dcr_store *st, const dcr_client *c, bool is_new,
                                 const char *expect, apr_pool_t *p, dcr_error *err)
{
    handle *h = st->ctx;
    char *old;
    unsigned int len = 0;
    const char *skey = dcr_client_subject_key(p, c);
    apr_status_t rv;
    if (!lock(h))
        return down(err, "lock", APR_EGENERAL);
    rv = fetch(h, "client", c->client_id, p, &old, &len);
    if (rv == APR_SUCCESS && !is_new && !still_expected(old, len, expect, p))
        rv = APR_NOTFOUND;
    else if (rv == APR_SUCCESS || rv == APR_NOTFOUND)
        rv = (rv == APR_SUCCESS) == is_new
                 ? (is_new ? APR_EEXIST : APR_NOTFOUND)
                 : save(h, "client", c->client_id, dcr_client_to_record(p, c), c->expires_at, p,
                        err);
    else
        rv = down(err, "read", rv);
    if (rv == APR_SUCCESS && skey)
        rv = index_edit(h, skey, c, NULL, p, err);
    unlock(h);
    return rv;
}

static apr_status_t op_put(dcr_store *st, const dcr_client *c, apr_pool_t *p, dcr_error *err)
{
    return write_client(st, c, true, NULL, p, err);
}

static apr_status_t op_get(dcr_store *st, const char *id, long long now, apr_pool_t *p,
                           dcr_client **out, dcr_error *err)
{
    handle *h = st->ctx;
    apr_status_t rv;
    if (!lock(h))
        return down(err, "lock", APR_EGENERAL);
    rv = get_locked(h, id, now, p, out, err);
    unlock(h);
    return rv;
}

static apr_status_t op_update(dcr_store *st, const dcr_client *c, const char *expect, apr_pool_t *p,
                              dcr_error *err)
{
    return write_client(st, c, false, expect, p, err);
}

static apr_status_t op_remove(dcr_store *st, const char *id, apr_pool_t *p, dcr_error *err)
{
    handle *h = st->ctx;
    dcr_client *c = NULL;
    dcr_error ignored;
    apr_status_t rv;
    const char *skey;
    if (!lock(h))
        return down(err, "lock", APR_EGENERAL);
    rv = get_locked(h, id, 0, p, &c, &ignored);
    if (rv == APR_SUCCESS || (rv == APR_EGENERAL && !c)) { /* corrupt records go too */
        drop(h, "client", id, p);
        skey = c ? dcr_client_subject_key(p, c) : NULL;
        rv = skey ? index_edit(h, skey, NULL, id, p, err) : APR_SUCCESS;
    } else if (rv != APR_NOTFOUND) {
        rv = down(err, "read", rv);
    }
    unlock(h);
    return rv;
}

static apr_status_t op_find(dcr_store *st, const char *skey, long long now, apr_pool_t *p,
                            apr_array_header_t **clients, dcr_error *err)
{
    handle *h = st->ctx;
    char *cur = NULL, *state = NULL, *line;
    const char *id;
    apr_status_t rv;
    *clients = apr_array_make(p, 4, sizeof(dcr_client *));
    if (!lock(h))
        return down(err, "lock", APR_EGENERAL);
    rv = fetch(h, "subject", skey, p, &cur, NULL);
    if (rv == APR_NOTFOUND) {
        rv = APR_SUCCESS;
    } else if (rv != APR_SUCCESS) {
        rv = down(err, "index read", rv);
    } else {
        apr_pool_t *sub; /* each read takes a record-sized buffer: reuse one pool */
        apr_pool_create(&sub, p);
        for (line = apr_strtok(cur, "\n", &state); line; line = apr_strtok(NULL, "\n", &state)) {
            dcr_client *c;
            dcr_index_line l;
            char *rec;
            unsigned int len;
            apr_pool_clear(sub);
            if (!dcr_index_line_parse(p, line, &l))
                continue;
            id = l.client_id;
            /* evicted ids are skipped, corrupt records too (get reports those) */
            if (fetch(h, "client", id, sub, &rec, &len) != APR_SUCCESS)
                continue;
            c = dcr_client_from_record(p, rec, len, err);
            if (c && !(c->expires_at && c->expires_at <= now))
                APR_ARRAY_PUSH(*clients, dcr_client *) = c;
            dcr_error_clear(err);
        }
        apr_pool_destroy(sub);
    }
    unlock(h);
    return rv;
}

/* Replace from the index: the subject's first live line of the same software, whose record is
 * still there and may be rewritten by c (dcr_client_may_rewrite), is rewritten as c under that
 * line's client_id and issue time, and its line moves to the end (the newest, last to be
 * evicted). Lines of an older module (the
 * id alone) leave it to the generic lookup (APR_ENOTIMPL). */
static bool may_rewrite(const char *rec, unsigned int len, const dcr_client *c, apr_pool_t *p)
{
    dcr_error ignored;
    const dcr_client *old = dcr_client_from_record(p, rec, len, &ignored);
    return old && dcr_client_may_rewrite(old, c);
}

static apr_status_t op_replace(dcr_store *st, const dcr_client *c, long long now, apr_pool_t *p,
                               const char **client_id, long long *issued_at, dcr_error *err)
{
    handle *h = st->ctx;
    const char *skey = dcr_client_subject_key(p, c), *sw = dcr_index_software(p, c);
    apr_array_header_t *lines = apr_array_make(p, 8, sizeof(const char *));
    char *cur = NULL, *state = NULL, *line, *rec;
    dcr_index_line l, found = {0};
    dcr_client again;
    apr_status_t rv;

    if (!skey || !sw)
        return !skey ? APR_NOTFOUND : APR_ENOTIMPL;
    if (!lock(h))
        return down(err, "lock", APR_EGENERAL);
    rv = fetch(h, "subject", skey, p, &cur, NULL);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        rv = down(err, "index read", rv);
    for (line = rv == APR_SUCCESS ? apr_strtok(cur, "\n", &state) : NULL; line;
         line = apr_strtok(NULL, "\n", &state)) {
        if (!dcr_index_line_parse(p, line, &l))
            continue;
        if (!l.software) {
            rv = APR_ENOTIMPL;
            break;
        }
        if (!found.client_id && !strcmp(l.software, sw) && !(l.expires_at && l.expires_at <= now)) {
            unsigned int len = 0;
            apr_status_t got = fetch(h, "client", l.client_id, p, &rec, &len);
            if (got == APR_SUCCESS && may_rewrite(rec, len, c, p)) {
                found = l;
                continue;
            }
            if (got == APR_SUCCESS) { /* stays, and as it was */
                APR_ARRAY_PUSH(lines, const char *) = line;
                continue;
            }
            if (got == APR_NOTFOUND)
                continue; /* evicted: its line goes too */
            rv = down(err, "read", got);
            break;
        }
        APR_ARRAY_PUSH(lines, const char *) = line;
    }
    if (rv == APR_SUCCESS && !found.client_id)
        rv = APR_NOTFOUND;
    if (rv == APR_SUCCESS) {
        again = *c;
        again.client_id = found.client_id;
        again.issued_at = found.issued_at;
        rv = save(h, "client", again.client_id, dcr_client_to_record(p, &again), again.expires_at,
                  p, err);
        if (rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(lines, const char *) = dcr_index_line_of(p, &again);
            rv = index_save(h, skey, lines, p, err);
        }
    }
    unlock(h);
    if (rv == APR_SUCCESS) {
        *client_id = found.client_id;
        *issued_at = found.issued_at;
    }
    return rv;
}

/* A single-use statement: an entry per hash that lives until the statement expires. Exact
 * where the store has its mutex (shmcb, one node): read and write happen under it. memcache
 * and redis are MP-safe and so run without one: two nodes (or processes) presenting the same
 * copy in the same instant may both read "unseen" (docs/vc.md). shmcb forgets on restart, as
 * it forgets the registrations; an eviction forgets early; memcache keeps it 29 days at most. */
static apr_status_t op_remember(dcr_store *st, const char *hash, long long expires_at,
                                long long now, apr_pool_t *p, dcr_error *err)
{
    handle *h = st->ctx;
    char *val = NULL;
    long long keep = expires_at > now ? expires_at : now + 1;
    apr_status_t rv;
    /* memcached reads a relative expiry over 30 days as a date in 1970 (gone at once) */
    if (!strcmp(h->cfg->provider_name, "memcache") && keep > now + MEMCACHE_MAX_TTL)
        keep = now + MEMCACHE_MAX_TTL;
    if (!lock(h))
        return down(err, "lock", APR_EGENERAL);
    rv = fetch(h, "used", hash, p, &val, NULL);
    if (rv == APR_SUCCESS && apr_atoi64(val) > now)
        rv = APR_EEXIST;
    else if (rv == APR_SUCCESS || rv == APR_NOTFOUND)
        rv = save(h, "used", hash, apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)expires_at),
                  keep, p, err);
    else
        rv = down(err, "read", rv);
    unlock(h);
    return rv;
}

static const dcr_store_ops ops = {
    .name = "socache",
    .caps = 0,
    .put = op_put,
    .get = op_get,
    .update = op_update,
    .remove = op_remove,
    .find_clients = op_find,
    .replace_returning = op_replace,
    .expire = NULL,
    .count = NULL,
    .remember_statement = op_remember,
};

static dcr_store *open_store(request_rec *r, void *c, dcr_error *err)
{
    socache_cfg *cfg = c;
    dcr_store *st;
    handle *h;
    if (!cfg->ready) {
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the registration store is unavailable",
                 "socache store %s is not initialised", cfg->provider_name);
        return NULL;
    }
    h = apr_pcalloc(r->pool, sizeof(*h));
    h->cfg = cfg;
    h->s = r->server;
    st = apr_pcalloc(r->pool, sizeof(*st));
    st->ops = &ops;
    st->ctx = h;
    return st;
}

const dcr_ap_store_backend dcr_ap_store_socache = {
    .prefix = "socache",
    .configure = configure,
    .post_config = post_config,
    .child_init = child_init,
    .open = open_store,
};
