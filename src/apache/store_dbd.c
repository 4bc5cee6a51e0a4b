/* DCRStore dbd. Two mod_dbd facts shape this file (DESIGN.md): mod_dbd prepares every statement
 * registered with ap_dbd_prepare when it opens a connection and drops the connection if one
 * fails, and it does so in child_init, before any request. So the parent creates the schema in
 * post_config over a private apr_dbd_open with the vhost's DBDriver/DBDParams, and the
 * statements are prepared lazily, per pooled connection, into mod_dbd's own per-connection
 * `prepared` hash: a missing table then costs a 503, never a dropped pool. No process lock is
 * held across the network: the subject lock of a registration is a PostgreSQL advisory lock
 * of the request's session (store_sql_lock.c). */
#include "store_dbd.h"

#include "config.h"
#include "store_backend.h"
#include "store_sql.h"
#include "store_sqlite_glue.h"
#include "store_sweep_glue.h"

#include "http_log.h"
#include "http_main.h"
#include "mod_dbd.h"

#include <apr_atomic.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(dcr_trusted);

typedef struct dbd_cfg {
    dcr_ap_sweep sweep;        /* first: DCRSweepInterval finds it there */
    int create_schema;         /* DCRDBDCreateSchema (On) */
    volatile int schema_ready; /* set by the parent; else a child retries on first use */
} dbd_cfg;

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) * dbd_acquire;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) * dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) * dbd_close;

static dcr_store *sweep_open(apr_pool_t *p, void *baton, dcr_error *err);

static const char *configure(cmd_parms *cmd, const char *args, void **cfgp)
{
    dbd_cfg *cfg = apr_pcalloc(cmd->pool, sizeof(*cfg));
    if (args && *args)
        return "takes no arguments: the connection comes from DBDriver and DBDParams";
    cfg->create_schema = 1;
    dcr_ap_sweep_init(&cfg->sweep, cmd, "dbd", sweep_open, cfg);
    *cfgp = cfg;
    return NULL;
}

const char *dcr_ap_set_dbd_create_schema(cmd_parms *cmd, void *dc, int on)
{
    dcr_server_conf *sc = dcr_ap_sconf(cmd->server);
    if (sc->store != &dcr_ap_store_dbd || !sc->store_cfg)
        return "DCRDBDCreateSchema: put it after DCRStore dbd in the same server";
    ((dbd_cfg *)sc->store_cfg)->create_schema = on;
    return NULL;
}

/* mod_dbd's per-server config starts with a pointer to the public dbd_cfg_t (mod_dbd.h) in
 * every 2.4 release. A vhost without DBD directives of its own shares the main server's
 * (mod_dbd does not always merge), so its cfg names the main server: the check is that the
 * server it names is one of ours, as mod_authn_dbd users expect inheritance to work. NULL
 * when mod_dbd is not loaded or no DBDriver reaches s. */
static const dbd_cfg_t *dbd_settings(server_rec *s)
{
    module *m = ap_find_linked_module("mod_dbd.c");
    void *svr = m ? ap_get_module_config(s->module_config, m) : NULL;
    const dbd_cfg_t *dc = svr ? *(dbd_cfg_t **)svr : NULL;
    int known = 0;
    if (!dc || !dc->name || !dc->params || dc->name[0] == '[') /* "[DBDriver unset]" */
        return NULL;
    for (server_rec *v = ap_server_conf ? ap_server_conf : s; v && !known; v = v->next)
        known = dc->server == v;
    return known || dc->server == s ? dc : NULL;
}

static const char *check_config(apr_pool_t *ptemp, server_rec *s, void *c)
{
    (void)c;
    if (!ap_find_linked_module("mod_dbd.c"))
        return "needs mod_dbd: a2enmod dbd (or LoadModule dbd_module "
               "/usr/lib/apache2/modules/mod_dbd.so), then DBDriver and DBDParams in this "
               "server or the main server";
    if (!dbd_settings(s))
        return apr_psprintf(ptemp,
                            "no DBDriver/DBDParams reach %s:%u: set them in it or in the main "
                            "server",
                            s->server_hostname ? s->server_hostname : "?", (unsigned)s->port);
    return NULL;
}

/* The schema over a private connection, closed again before mod_dbd opens its pool. */
static const char *create_schema(apr_pool_t *ptemp, server_rec *s, const dbd_cfg_t *dc)
{
    const apr_dbd_driver_t *driver = NULL;
    apr_dbd_t *handle = NULL;
    const char *why = NULL;
    dcr_error err = {0};
    apr_status_t rv;

    if (apr_dbd_get_driver(ptemp, dc->name, &driver) != APR_SUCCESS)
        return apr_psprintf(ptemp, "no apr_dbd driver '%s' (DBDriver pgsql or sqlite3)", dc->name);
    if (!dcr_sql_schema(apr_dbd_name(driver)))
        return apr_psprintf(ptemp, "DBDriver %s is not supported (pgsql or sqlite3)", dc->name);
    if (apr_dbd_open_ex(driver, ptemp, dc->params, &handle, &why) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "DCRStore dbd: cannot reach the database to create the schema now (%s); "
                     "each child tries again on its first request",
                     why ? why : "no reason given");
        return "";
    }
    rv = dcr_sql_create_schema(driver, handle, ptemp, &err);
    apr_dbd_close(driver, handle);
    if (!strcmp(apr_dbd_name(driver), "sqlite3")) /* DBDParams is the file */
        dcr_ap_sqlite_hand_over(ptemp, s, dc->params);
    return rv == APR_SUCCESS ? NULL : apr_pstrdup(ptemp, err.detail);
}

/* DCRDBDCreateSchema Off: someone else keeps the schema, but one of another version (a
 * database the previous module created, not migrated) is a startup error naming it, not a
 * prepare failure on every request. A database that cannot be reached now, or holds no schema
 * yet, is left to the requests (503 until the operator has run sql/<driver>.sql). */
static const char *check_schema(apr_pool_t *ptemp, server_rec *main, dbd_cfg *cfg)
{
    for (server_rec *v = ap_server_conf ? ap_server_conf : main; v; v = v->next) {
        const dbd_cfg_t *dc = dbd_settings(v);
        const apr_dbd_driver_t *driver = NULL;
        apr_dbd_t *handle = NULL;
        const char *why = NULL;
        dcr_error err = {0};
        apr_status_t rv;

        if (dcr_ap_sconf(v)->store_cfg != cfg || !dc)
            continue;
        if (apr_dbd_get_driver(ptemp, dc->name, &driver) != APR_SUCCESS)
            return apr_psprintf(ptemp, "no apr_dbd driver '%s' (DBDriver pgsql or sqlite3)",
                                dc->name);
        if (apr_dbd_open_ex(driver, ptemp, dc->params, &handle, &why) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v,
                         "DCRStore dbd: cannot reach the database to check its schema now (%s)",
                         why ? why : "no reason given");
            continue;
        }
        rv = dcr_sql_check_schema(driver, handle, ptemp, &err);
        apr_dbd_close(driver, handle);
        if (rv == APR_NOTFOUND) /* not created yet: 503 until the operator runs the file */
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, "DCRStore dbd: %s", err.detail);
        else if (rv != APR_SUCCESS)
            return apr_psprintf(ptemp, "DCRDBDCreateSchema Off: %s", err.detail);
    }
    return NULL;
}

static const char *post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s, void *c)
{
    dbd_cfg *cfg = c;
    const dbd_cfg_t *dc;
    const char *msg;

    dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (!dbd_acquire || !(dc = dbd_settings(s)))
        return "needs mod_dbd: a2enmod dbd (or LoadModule dbd_module "
               "/usr/lib/apache2/modules/mod_dbd.so), then DBDriver and DBDParams in this "
               "server or the main server";
    dcr_ap_sweep_post_config(&cfg->sweep, s, c);
    cfg->schema_ready = !cfg->create_schema;
    if (!cfg->create_schema)
        return check_schema(ptemp, s, cfg);
    /* Each server using this store may have its own DBDParams (or share the main server's):
     * create the schema once per distinct database. */
    apr_hash_t *seen = apr_hash_make(ptemp);
    for (server_rec *v = ap_server_conf ? ap_server_conf : s; v; v = v->next) {
        dcr_server_conf *sc = dcr_ap_sconf(v);
        const char *key;
        if (sc->store_cfg != c || !(dc = dbd_settings(v)))
            continue;
        key = apr_pstrcat(ptemp, dc->name, "\n", dc->params, NULL);
        if (apr_hash_get(seen, key, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, key, APR_HASH_KEY_STRING, "1");
        msg = create_schema(ptemp, v, dc);
        if (msg && *msg)
            return apr_pstrdup(pconf, msg);
        if (msg)
            return NULL; /* database down: schema_ready stays 0, children retry */
    }
    cfg->schema_ready = 1;
    return NULL;
}

/* Our statements on this pooled connection, prepared on first use and kept in mod_dbd's
 * per-connection hash (its pool lives as long as the connection). */
static apr_status_t prepare(ap_dbd_t *dbd, dcr_sql_conn *c, dcr_error *err)
{
    int fresh = 0;
    for (int i = 0; i < DCR_SQL_NSTMT; i++) {
        const char *label = dcr_sql_label(i);
        c->stmt[i] = apr_hash_get(dbd->prepared, label, APR_HASH_KEY_STRING);
        if (c->stmt[i] || !dcr_sql_text(dbd->driver, i))
            continue;
        /* a connection new to us: apr_dbd_sqlite3 has no busy timeout, PostgreSQL needs the
         * lock_timeout of the subject locks */
        if (!fresh && dcr_sql_session_setup(dbd->driver, dbd->handle, dbd->pool, err))
            return APR_EGENERAL;
        fresh = 1;
        int rv = apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle, dcr_sql_text(dbd->driver, i),
                                 label, &c->stmt[i]);
        if (rv) {
            dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                     "DCRStore dbd: prepare %s: %s", label,
                     apr_dbd_error(dbd->driver, dbd->handle, rv));
            return APR_EGENERAL;
        }
        apr_hash_set(dbd->prepared, label, APR_HASH_KEY_STRING, c->stmt[i]);
    }
    return APR_SUCCESS;
}

/* A request's store: the SQL ops on the request's mod_dbd connection, retried once when a
 * statement fails. After a database restart a pooled connection is either dead or silently
 * re-established by apr_dbd_check_conn (PQreset), and then our statements are gone from the
 * server while mod_dbd's hash still lists them; so the retry prepares every statement afresh,
 * under new server-side names, on the same connection if it is alive, else on a fresh one.
 * Every op is one statement, so a retry repeats nothing that committed, short of a commit
 * whose answer the network lost. */
typedef struct dbd_req {
    dcr_sql_conn conn;
    dcr_store sql; /* dcr_sql_store_ops on conn */
    ap_dbd_t *dbd;
    server_rec *s;
    apr_pool_t *pool; /* the request's, or the sweep run's */
    int retried;
} dbd_req;

static apr_uint32_t generation; /* suffix of re-prepared statement names, per process */

static apr_status_t use(dbd_req *q, ap_dbd_t *dbd, dcr_error *err)
{
    q->dbd = dbd;
    q->conn.driver = dbd->driver;
    q->conn.handle = dbd->handle;
    return prepare(dbd, &q->conn, err);
}

static apr_status_t reprepare(dbd_req *q, dcr_error *err)
{
    ap_dbd_t *dbd = q->dbd;
    if (dcr_sql_session_setup(dbd->driver, dbd->handle, dbd->pool, err))
        return APR_EGENERAL;
    for (int i = 0; i < DCR_SQL_NSTMT; i++) {
        const char *text = dcr_sql_text(dbd->driver, i), *name;
        apr_dbd_prepared_t *st = NULL;
        if (!text)
            continue;
        name = apr_psprintf(dbd->pool, "%s_%u", dcr_sql_label(i), apr_atomic_inc32(&generation));
        int rv = apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle, text, name, &st);
        if (rv) {
            dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                     "DCRStore dbd: prepare %s: %s", name,
                     apr_dbd_error(dbd->driver, dbd->handle, rv));
            return APR_EGENERAL;
        }
        apr_hash_set(dbd->prepared, dcr_sql_label(i), APR_HASH_KEY_STRING, st);
        q->conn.stmt[i] = st;
    }
    return APR_SUCCESS;
}

typedef struct lease {
    server_rec *s;
    ap_dbd_t *dbd;
} lease;

static apr_status_t give_back(void *data)
{
    lease *l = data;
    dbd_close(l->s, l->dbd);
    return APR_SUCCESS;
}

/* After a failed op: true when a connection with fresh statements is ready to retry on. */
static int reconnect(dbd_req *q, apr_status_t rv, dcr_error *err)
{
    char first[sizeof(err->detail)];

    /* Under a subject lock a retry could run on another session, outside the lock (which
     * died with the old one): the request fails instead, and its client tries again. A lock
     * only asked for is taken by the retried statement, on whichever session it runs. */
    if (rv == APR_SUCCESS || rv == APR_NOTFOUND || rv == APR_EEXIST || rv == APR_ENOTIMPL ||
        rv == APR_TIMEUP || q->retried || dcr_sql_lock_held(&q->conn))
        return 0;
    q->retried = 1;
    apr_cpystrn(first, err->detail, sizeof(first));
    if (apr_dbd_check_conn(q->conn.driver, q->pool, q->conn.handle) != APR_SUCCESS) {
        ap_dbd_t *dbd = NULL;
        /* ap_dbd_open invalidates a dead pooled connection and answers NULL: try a few. */
        for (int i = 0; i < 4 && !dbd && dbd_open && dbd_close; i++)
            dbd = dbd_open(q->pool, q->s);
        if (!dbd)
            return 0;
        lease *l = apr_palloc(q->pool, sizeof(*l));
        l->s = q->s;
        l->dbd = dbd;
        apr_pool_cleanup_register(q->pool, l, give_back, apr_pool_cleanup_null);
        q->dbd = dbd;
        q->conn.driver = dbd->driver;
        q->conn.handle = dbd->handle;
    }
    if (reprepare(q, err) != APR_SUCCESS)
        return 0;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, q->s, "DCRStore dbd: retrying once after: %s", first);
    dcr_error_clear(err);
    return 1;
}

#define Q(s) ((dbd_req *)(s)->ctx)
#define RETRYING(call)                                                                             \
    apr_status_t rv;                                                                               \
    do {                                                                                           \
        rv = (call);                                                                               \
    } while (reconnect(Q(s), rv, err));                                                            \
    return rv

static apr_status_t r_put(dcr_store *s, const dcr_client *c, apr_pool_t *p, dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.put(&Q(s)->sql, c, p, err));
}

static apr_status_t r_get(dcr_store *s, const char *id, long long now, apr_pool_t *p,
                          dcr_client **out, dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.get(&Q(s)->sql, id, now, p, out, err));
}

static apr_status_t r_update(dcr_store *s, const dcr_client *c, const char *expect, apr_pool_t *p,
                             dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.update(&Q(s)->sql, c, expect, p, err));
}

static apr_status_t r_remove(dcr_store *s, const char *id, apr_pool_t *p, dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.remove(&Q(s)->sql, id, p, err));
}

static apr_status_t r_find(dcr_store *s, const char *key, long long now, apr_pool_t *p,
                           apr_array_header_t **clients, dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.find_clients(&Q(s)->sql, key, now, p, clients, err));
}

static apr_status_t r_replace(dcr_store *s, const dcr_client *c, long long now, apr_pool_t *p,
                              const char **client_id, long long *issued_at, dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.replace_returning(&Q(s)->sql, c, now, p, client_id, issued_at, err));
}

static apr_status_t r_expire(dcr_store *s, long long now, int batch, int *removed, apr_pool_t *p,
                             dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.expire(&Q(s)->sql, now, batch, removed, p, err));
}

static apr_status_t r_expired_upstream(dcr_store *s, long long now, int batch, apr_pool_t *p,
                                       apr_array_header_t **clients, dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.expired_upstream(&Q(s)->sql, now, batch, p, clients, err));
}

static apr_status_t r_count(dcr_store *s, long long now, long long *n, apr_pool_t *p,
                            dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.count(&Q(s)->sql, now, n, p, err));
}

static apr_status_t r_lock(dcr_store *s, const char *key, apr_pool_t *p, void **token,
                           dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.lock_subject(&Q(s)->sql, key, p, token, err));
}

static apr_status_t r_remember(dcr_store *s, const char *hash, long long expires_at, long long now,
                               apr_pool_t *p, dcr_error *err)
{
    RETRYING(dcr_sql_store_ops.remember_statement(&Q(s)->sql, hash, expires_at, now, p, err));
}

static void r_unlock(dcr_store *s, void *token)
{
    dcr_sql_store_ops.unlock_subject(&Q(s)->sql, token);
}

static const dcr_store_ops dbd_ops = {
    .name = "dbd",
    .caps = DCR_STORE_CAN_ITERATE | DCR_STORE_TRANSACTIONAL,
    .put = r_put,
    .get = r_get,
    .update = r_update,
    .remove = r_remove,
    .find_clients = r_find,
    .replace_returning = r_replace,
    .expire = r_expire,
    .expired_upstream = r_expired_upstream,
    .count = r_count,
    .lock_subject = r_lock,
    .unlock_subject = r_unlock,
    .remember_statement = r_remember,
};

/* The store on a connection the caller got from mod_dbd, for the life of p. */
static dcr_store *store_on(dbd_cfg *cfg, ap_dbd_t *dbd, server_rec *s, apr_pool_t *p,
                           dcr_error *err)
{
    dbd_req *q;
    dcr_store *st;

    if (!dbd) {
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                 "DCRStore dbd: no database connection from mod_dbd (see its log lines)");
        return NULL;
    }
    if (!cfg->schema_ready) {
        if (dcr_sql_create_schema(dbd->driver, dbd->handle, p, err) != APR_SUCCESS)
            return NULL;
        cfg->schema_ready = 1; /* idempotent: a race between threads only repeats it */
    }
    q = apr_pcalloc(p, sizeof(*q));
    q->s = s;
    q->pool = p;
    q->sql.ops = &dcr_sql_store_ops;
    q->sql.ctx = &q->conn;
    if (use(q, dbd, err) != APR_SUCCESS && !reconnect(q, APR_EGENERAL, err))
        return NULL;
    st = apr_pcalloc(p, sizeof(*st));
    st->ops = &dbd_ops;
    st->ctx = q;
    return st;
}

static dcr_store *open_store(request_rec *r, void *c, dcr_error *err)
{
    return store_on(c, dbd_acquire ? dbd_acquire(r) : NULL, r->server, r->pool, err);
}

/* The sweep has no request: a connection straight from the server's mod_dbd pool. */
static dcr_store *sweep_open(apr_pool_t *p, void *baton, dcr_error *err)
{
    dbd_cfg *cfg = baton;
    server_rec *s = cfg->sweep.s;
    ap_dbd_t *dbd = dbd_open && dbd_close ? dbd_open(p, s) : NULL;
    if (dbd) {
        lease *l = apr_palloc(p, sizeof(*l));
        l->s = s;
        l->dbd = dbd;
        apr_pool_cleanup_register(p, l, give_back, apr_pool_cleanup_null);
    }
    return store_on(cfg, dbd, s, p, err);
}

const dcr_ap_store_backend dcr_ap_store_dbd = {
    .prefix = "dbd",
    .configure = configure,
    .check_config = check_config,
    .post_config = post_config,
    .child_init = NULL,
    .open = open_store,
};
