/* DCRStore sqlite:<file>. The parent creates the file and its schema in post_config (and, when
 * it runs as root, hands the file to the User httpd runs as); every child keeps a small
 * reslist of its own connections, since an apr_dbd handle is for one thread at a time, and all
 * children share one global mutex that serialises writers (spec/performance.md: the recipe
 * that keeps SQLite fair under several processes). */
#include "store_sqlite_glue.h"

#include "config.h"
#include "store_backend.h"
#include "store_sqlite.h"
#include "store_sweep_glue.h"

#include "ap_mpm.h"
#include "http_log.h"
#include "unixd.h"
#include "util_mutex.h"

#include <apr_hash.h>
#include <apr_reslist.h>
#include <apr_strings.h>
#include <errno.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

APLOG_USE_MODULE(dcr_trusted);

/* The Mutex type the glue registers in pre_config (store_socache.c); the instance id keeps
 * each file's lock apart. */
#define MUTEX_TYPE "dcr-store"

typedef struct sqlite_cfg {
    dcr_ap_sweep sweep; /* first: DCRSweepInterval finds it there */
    const char *file;
    dcr_sqlite_options opts;
    const char *mutex_id;
    apr_global_mutex_t *mutex;
    apr_reslist_t *conns; /* per child */
    server_rec *s;
} sqlite_cfg;

typedef struct pooled {
    apr_pool_t *pool;
    dcr_sql_conn *conn;
} pooled;

/* One config (so one writer mutex, one sweep) per file, however many DCRStore lines name it;
 * remade with every configuration pass (the pool changes). */
static apr_hash_t *by_file;

static apr_status_t forget_files(void *unused)
{
    by_file = NULL;
    return APR_SUCCESS;
}

static dcr_store *sweep_open(apr_pool_t *p, void *baton, dcr_error *err);

static const char *configure(cmd_parms *cmd, const char *args, void **cfgp)
{
    sqlite_cfg *cfg;
    const char *file;

    if (!args || !*args)
        return "a file is required (sqlite:/var/lib/apache2/dcr/clients.db)";
    if (!(file = ap_server_root_relative(cmd->pool, args)))
        return apr_psprintf(cmd->pool, "invalid file name '%s'", args);
    if (!by_file) { /* pconf is cleared, not replaced, between passes: forget with it */
        by_file = apr_hash_make(cmd->pool);
        apr_pool_cleanup_register(cmd->pool, NULL, forget_files, apr_pool_cleanup_null);
    }
    if ((cfg = apr_hash_get(by_file, file, APR_HASH_KEY_STRING))) {
        *cfgp = cfg;
        return NULL;
    }
    cfg = apr_pcalloc(cmd->pool, sizeof(*cfg));
    cfg->file = file;
    cfg->mutex_id = apr_psprintf(cmd->pool, "sqlite%u", apr_hash_count(by_file) + 1);
    apr_hash_set(by_file, file, APR_HASH_KEY_STRING, cfg);
    dcr_ap_sweep_init(&cfg->sweep, cmd, apr_pstrcat(cmd->pool, "sqlite:", cfg->file, NULL),
                      sweep_open, cfg);
    *cfgp = cfg;
    return NULL;
}

const char *dcr_ap_set_sqlite_synchronous(cmd_parms *cmd, void *dc, const char *arg)
{
    dcr_server_conf *sc = dcr_ap_sconf(cmd->server);
    sqlite_cfg *cfg;
    if (sc->store != &dcr_ap_store_sqlite || !sc->store_cfg)
        return "DCRSQLiteSynchronous: put it after DCRStore sqlite:<file> in the same server";
    cfg = sc->store_cfg;
    if (!strcasecmp(arg, "normal"))
        cfg->opts.sync_full = false;
    else if (!strcasecmp(arg, "full"))
        cfg->opts.sync_full = true;
    else
        return "DCRSQLiteSynchronous: Normal or Full";
    return NULL;
}

void dcr_ap_sqlite_hand_over(apr_pool_t *p, server_rec *s, const char *file)
{
    static const char *const sfx[] = {"", "-wal", "-shm"};
    if (geteuid() != 0)
        return;
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        const char *f = apr_pstrcat(p, file, sfx[i], NULL);
        if (access(f, F_OK) == 0 &&
            chown(f, ap_unixd_config.user_id, ap_unixd_config.group_id) != 0)
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s,
                         "DCRStore: cannot hand the SQLite file %s to the httpd User", f);
    }
}

/* Can uid (with gid and the User's other groups) do `want` (R_OK/W_OK/X_OK bits) on st? */
static int user_may(const struct stat *st, uid_t uid, gid_t gid, const char *user, int want)
{
    int shift = 0; /* other */
    if (uid == 0)
        return 1;
    if (st->st_uid == uid) {
        shift = 6;
    } else {
        gid_t groups[64];
        int n = 64, in = st->st_gid == gid;
        if (!in && user && getgrouplist(user, gid, groups, &n) >= 0)
            for (int i = 0; i < n && !in; i++)
                in = groups[i] == st->st_gid;
        if (in)
            shift = 3;
    }
    return (((int)st->st_mode >> shift) & want) == want;
}

/* The file's directory must exist and, when the parent runs as root, let User create the
 * journal files SQLite adds beside the file (-wal, -shm) and reach it through every parent. */
static const char *check_config(apr_pool_t *ptemp, server_rec *s, void *c)
{
    sqlite_cfg *cfg = c;
    char *dir = apr_pstrdup(ptemp, cfg->file), *slash = strrchr(dir, '/');
    int as_root = geteuid() == 0;
    uid_t uid = ap_unixd_config.user_id;
    gid_t gid = ap_unixd_config.group_id;
    const char *user = ap_unixd_config.user_name;
    struct stat st;
    (void)s;

    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return apr_psprintf(ptemp,
                            "the directory %s does not exist (create it, owned by the "
                            "User httpd runs as)",
                            dir);
    if (as_root && !user_may(&st, uid, gid, user, W_OK | X_OK))
        return apr_psprintf(ptemp,
                            "User %s cannot create files in %s (SQLite puts its -wal and -shm "
                            "files beside the database): chown it to %s or make it writable "
                            "for its group",
                            user ? user : "?", dir, user ? user : "the httpd User");
    for (char *p = dir + strlen(dir); as_root && p > dir; p--) { /* every parent: search */
        if (*p != '/')
            continue;
        *p = '\0';
        if (stat(*dir ? dir : "/", &st) == 0 && !user_may(&st, uid, gid, user, X_OK))
            return apr_psprintf(ptemp, "User %s cannot reach %s: %s is not searchable for it",
                                user ? user : "?", cfg->file, *dir ? dir : "/");
    }
    if (stat(cfg->file, &st) == 0 && !S_ISREG(st.st_mode))
        return apr_psprintf(ptemp, "%s is not a regular file", cfg->file);
    return NULL;
}

static const char *post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s, void *c)
{
    sqlite_cfg *cfg = c;
    dcr_sql_conn *conn = NULL;
    dcr_error err = {0};
    apr_pool_t *tmp;
    apr_status_t rv;

    cfg->s = s;
    cfg->conns = NULL;
    rv = ap_global_mutex_create(&cfg->mutex, NULL, MUTEX_TYPE, cfg->mutex_id, s, pconf, 0);
    if (rv != APR_SUCCESS)
        return "cannot create the writer mutex (see Mutex " MUTEX_TYPE ")";
    /* Schema now, so a broken path or permission stops the start with a clear message. */
    apr_pool_create(&tmp, ptemp);
    rv = dcr_store_sqlite_open(tmp, cfg->file, &cfg->opts, cfg->mutex, &conn, &err);
    apr_pool_destroy(tmp); /* closes it: children open their own */
    if (rv != APR_SUCCESS)
        return apr_pstrdup(pconf, err.detail);
    dcr_ap_sqlite_hand_over(ptemp, s, cfg->file);
    dcr_ap_sweep_post_config(&cfg->sweep, s, cfg);
    return NULL;
}

static apr_status_t construct(void **res, void *params, apr_pool_t *pool)
{
    sqlite_cfg *cfg = params;
    pooled *pc = apr_pcalloc(pool, sizeof(*pc));
    dcr_error err = {0};
    apr_status_t rv;

    apr_pool_create(&pc->pool, pool);
    rv = dcr_store_sqlite_open(pc->pool, cfg->file, &cfg->opts, cfg->mutex, &pc->conn, &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, cfg->s,
                     "DCRStore sqlite: %s (the file and its directory must be writable by "
                     "the User httpd runs as: SQLite creates %s-wal and %s-shm beside it)",
                     err.detail, cfg->file, cfg->file);
        apr_pool_destroy(pc->pool);
        return rv == APR_SUCCESS ? APR_EGENERAL : rv;
    }
    *res = pc;
    return APR_SUCCESS;
}

static apr_status_t destruct(void *res, void *params, apr_pool_t *pool)
{
    pooled *pc = res;
    apr_pool_destroy(pc->pool);
    return APR_SUCCESS;
}

static void child_init(apr_pool_t *pchild, server_rec *s, void *c)
{
    sqlite_cfg *cfg = c;
    int threads = 1;
    apr_status_t rv;

    if (!cfg->mutex)
        return;
    rv = apr_global_mutex_child_init(&cfg->mutex, apr_global_mutex_lockfile(cfg->mutex), pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "DCRStore sqlite: cannot attach the mutex");
        cfg->mutex = NULL;
        return;
    }
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1)
        threads = 1;
    /* Opened on demand; a couple kept warm; never more than one per worker thread. */
    rv = apr_reslist_create(&cfg->conns, 0, threads < 2 ? threads : 2, threads,
                            apr_time_from_sec(60), construct, destruct, cfg, pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "DCRStore sqlite: no connection pool");
        cfg->conns = NULL;
    }
}

typedef struct lease {
    apr_reslist_t *list;
    pooled *pc;
} lease;

static apr_status_t give_back(void *data)
{
    lease *l = data;
    apr_reslist_release(l->list, l->pc);
    return APR_SUCCESS;
}

/* A pooled connection for the life of p. */
static dcr_store *lease_store(sqlite_cfg *cfg, apr_pool_t *p, dcr_error *err)
{
    lease *l = apr_pcalloc(p, sizeof(*l));
    void *res = NULL;
    apr_status_t rv;

    if (!cfg->conns) {
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                 "%s: not set up in this process (see the start-up log)", cfg->file);
        return NULL;
    }
    if ((rv = apr_reslist_acquire(cfg->conns, &res)) != APR_SUCCESS) {
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                 "%s: no connection (%d)", cfg->file, rv);
        return NULL;
    }
    l->list = cfg->conns;
    l->pc = res;
    apr_pool_cleanup_register(p, l, give_back, apr_pool_cleanup_null);
    return dcr_sql_store(p, l->pc->conn);
}

static dcr_store *open_store(request_rec *r, void *c, dcr_error *err)
{
    return lease_store(c, r->pool, err);
}

static dcr_store *sweep_open(apr_pool_t *p, void *baton, dcr_error *err)
{
    return lease_store(baton, p, err);
}

const dcr_ap_store_backend dcr_ap_store_sqlite = {
    .prefix = "sqlite",
    .configure = configure,
    .check_config = check_config,
    .post_config = post_config,
    .child_init = child_init,
    .open = open_store,
};
