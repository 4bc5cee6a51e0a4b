/* mod_dcr_rig: the minimal "rig" the speed goal of issue 6 is measured against (see
 * test/bench/README.md). Per POST: read the body, parse it with jansson, verify its
 * software_statement as ES256 with cjose against one P-256 key imported once in post_config,
 * check sub/aud/exp/iat, make a random client id, do exactly ONE insert of the body under that
 * id, answer 201 {"client_id": ...}. Nothing else: no policy, no metadata rules, no lookups.
 * Every failure answers 500 and is logged, so a broken rig cannot look fast.
 *
 *   RigJWKS <file>          JWKS (or SPIFFE bundle); the first EC P-256 key is used
 *   RigAudience <aud>       the audience statements must carry
 *   RigStore shmcb:<args> | sqlite:<file> | dbd
 *   SetHandler dcr-rig
 *
 * Built by test/bench/bench.py: apxs -c mod_dcr_rig.c -lcjose -ljansson -lcrypto */
#include <apr_dbd.h> /* before mod_dbd.h, which uses its types */

#include "ap_provider.h"
#include "ap_socache.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "httpd.h"
#include "mod_dbd.h"
#include "util_mutex.h"

#include <apr_global_mutex.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <errno.h>
#include <string.h>

module AP_MODULE_DECLARE_DATA dcr_rig_module;

#define MUTEX_TYPE "dcr-rig"
#define MAX_BODY 65536
/* One table shape for both drivers, like the module's dcr_clients: text primary key, the
 * record, issued_at, an index on the subject (test/bench/rig/schema.sql). */
#define INSERT_SQL                                                                                 \
    "INSERT INTO rig_clients (client_id, record, issued_at, subject_key)"                          \
    " VALUES (%s, %s, %lld, %s)"
#define INSERT_LABEL "rig_insert"

typedef enum { STORE_NONE, STORE_SHMCB, STORE_SQLITE, STORE_DBD } store_kind;

typedef struct rig_conf {
    store_kind kind;
    const char *jwks_file, *audience;
    cjose_jwk_t *key;          /* imported in post_config, inherited by the children */
    apr_global_mutex_t *mutex; /* shmcb and sqlite: not MP-safe / one writer at a time */
    /* shmcb */
    const ap_socache_provider_t *socache;
    ap_socache_instance_t *cache;
    /* sqlite: one connection per child, used only under the mutex */
    const char *file;
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_dbd_prepared_t *insert;
} rig_conf;

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) * dbd_acquire;

static rig_conf *conf_of(server_rec *s)
{
    return ap_get_module_config(s->module_config, &dcr_rig_module);
}

/* ---- configuration ------------------------------------------------------------------- */

static void *create_server(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(rig_conf));
}

static const char *set_jwks(cmd_parms *cmd, void *dc, const char *arg)
{
    conf_of(cmd->server)->jwks_file = ap_server_root_relative(cmd->pool, arg);
    return NULL;
}

static const char *set_audience(cmd_parms *cmd, void *dc, const char *arg)
{
    conf_of(cmd->server)->audience = arg;
    return NULL;
}

static const char *set_store(cmd_parms *cmd, void *dc, const char *arg)
{
    rig_conf *c = conf_of(cmd->server);
    if (!strncmp(arg, "shmcb:", 6) || !strcmp(arg, "shmcb")) {
        const char *err;
        c->kind = STORE_SHMCB;
        c->socache =
            ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb", AP_SOCACHE_PROVIDER_VERSION);
        if (!c->socache)
            return "RigStore shmcb: load mod_socache_shmcb first";
        err = c->socache->create(&c->cache, arg[5] ? arg + 6 : NULL, cmd->temp_pool, cmd->pool);
        return err ? apr_pstrcat(cmd->pool, "RigStore shmcb: ", err, NULL) : NULL;
    }
    if (!strncmp(arg, "sqlite:", 7) && arg[7]) {
        c->kind = STORE_SQLITE;
        c->file = ap_server_root_relative(cmd->pool, arg + 7);
        return NULL;
    }
    if (!strcmp(arg, "dbd")) {
        APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *prepare = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
        if (!prepare)
            return "RigStore dbd: load mod_dbd first";
        c->kind = STORE_DBD;
        /* mod_dbd prepares it on every connection it opens: the table must exist by then. */
        prepare(cmd->server, INSERT_SQL, INSERT_LABEL);
        return NULL;
    }
    return "RigStore shmcb:<args> | sqlite:<file> | dbd";
}

static const command_rec cmds[] = {
    AP_INIT_TAKE1("RigJWKS", set_jwks, NULL, RSRC_CONF, "JWKS file with the P-256 key"),
    AP_INIT_TAKE1("RigAudience", set_audience, NULL, RSRC_CONF, "required aud value"),
    AP_INIT_TAKE1("RigStore", set_store, NULL, RSRC_CONF, "shmcb:<args>, sqlite:<file> or dbd"),
    {NULL}};

/* ---- start-up ------------------------------------------------------------------------ */

static apr_status_t release_key(void *key)
{
    cjose_jwk_release(key);
    return APR_SUCCESS;
}

/* The first EC P-256 key of the file, imported once. */
static const char *load_key(rig_conf *c, apr_pool_t *pconf)
{
    json_error_t jerr;
    json_t *doc = json_load_file(c->jwks_file, 0, &jerr), *k;
    size_t i;
    const char *why = "no EC P-256 key in the file";

    if (!doc)
        return apr_psprintf(pconf, "RigJWKS %s: %s", c->jwks_file, jerr.text);
    json_array_foreach(json_object_get(doc, "keys"), i, k)
    {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *crv = json_string_value(json_object_get(k, "crv"));
        if (kty && crv && !strcmp(kty, "EC") && !strcmp(crv, "P-256")) {
            char *text = json_dumps(k, JSON_COMPACT);
            cjose_err cerr;
            c->key = text ? cjose_jwk_import(text, strlen(text), &cerr) : NULL;
            free(text);
            why = c->key ? NULL : "cjose cannot import the key";
            break;
        }
    }
    json_decref(doc);
    if (why)
        return apr_psprintf(pconf, "RigJWKS %s: %s", c->jwks_file, why);
    apr_pool_cleanup_register(pconf, c->key, release_key, apr_pool_cleanup_null);
    return NULL;
}

static apr_status_t destroy_cache(void *data)
{
    server_rec *s = data;
    rig_conf *c = conf_of(s);
    c->socache->destroy(c->cache, s);
    return APR_SUCCESS;
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0) == APR_SUCCESS
               ? OK
               : HTTP_INTERNAL_SERVER_ERROR;
}

static int setup_server(server_rec *s, apr_pool_t *pconf, int n)
{
    rig_conf *c = conf_of(s);
    /* The module's socache hints: the same shmcb geometry. */
    struct ap_socache_hints hints = {32, 2048, apr_time_from_sec(300)};
    const char *msg;

    if (!c->jwks_file || !c->audience) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "rig: RigJWKS and RigAudience are required");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((msg = load_key(c, pconf))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "rig: %s", msg);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (c->kind == STORE_SHMCB || c->kind == STORE_SQLITE) {
        const char *id = apr_psprintf(pconf, "%d", n);
        if (ap_global_mutex_create(&c->mutex, NULL, MUTEX_TYPE, id, s, pconf, 0) != APR_SUCCESS)
            return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (c->kind == STORE_SHMCB) {
        if (c->socache->init(c->cache, apr_psprintf(pconf, "dcr-rig-%d", n), &hints, s, pconf) !=
            APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "rig: shmcb init failed");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_cleanup_register(pconf, s, destroy_cache, apr_pool_cleanup_null);
    }
    return OK;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *base)
{
    int n = 0;
    dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    for (server_rec *s = base; s; s = s->next) {
        rig_conf *c = conf_of(s);
        if (c->kind != STORE_NONE && (c->kind != STORE_DBD || dbd_acquire)) {
            int rv = setup_server(s, pconf, ++n);
            if (rv != OK)
                return rv;
        }
    }
    return OK;
}

/* With `Mutex file:` (the test harness sets it) the mutex is an fcntl lock, which
 * the kernel attributes to the process, not the thread: a thread waiting here while another
 * thread of this process waits on, say, mod_ssl's session cache lock held by a process that
 * waits for ours looks like a deadlock, and the wait fails with EDEADLK at once. It is not
 * one: try again. */
static apr_status_t lock(apr_global_mutex_t *m)
{
    apr_status_t rv = APR_EGENERAL;
    for (int i = 0; m && i < 1000; i++) {
        if ((rv = apr_global_mutex_lock(m)) != APR_FROM_OS_ERROR(EDEADLK))
            break;
        apr_thread_yield();
    }
    return rv;
}

/* The SQLite recipe of spec/performance.md: busy timeout first, WAL, synchronous=NORMAL.
 * The pragmas return a row, so they go through select (apr_dbd_query calls a row an error). */
static const char *sqlite_pragma(rig_conf *c, apr_pool_t *p, const char *sql, const char *want)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *got = NULL;
    int rv = apr_dbd_select(c->driver, p, c->handle, &res, sql, 0);

    if (rv)
        return apr_psprintf(p, "%s: %s", sql, apr_dbd_error(c->driver, c->handle, rv));
    while (apr_dbd_get_row(c->driver, p, res, &row, -1) == 0)
        if (!got)
            got = apr_pstrdup(p, apr_dbd_get_entry(c->driver, row, 0));
    if (want && (!got || strcasecmp(got, want)))
        return apr_psprintf(p, "%s gave %s", sql, got ? got : "nothing");
    return NULL;
}

static const char *sqlite_open(rig_conf *c, apr_pool_t *p)
{
    const char *why = NULL;
    int rv;

    apr_dbd_init(p);
    if (apr_dbd_get_driver(p, "sqlite3", &c->driver) != APR_SUCCESS)
        return "no apr_dbd sqlite3 driver";
    if (apr_dbd_open_ex(c->driver, p, c->file, &c->handle, &why) != APR_SUCCESS)
        return apr_psprintf(p, "open %s: %s", c->file, why ? why : "?");
    if ((why = sqlite_pragma(c, p, "PRAGMA busy_timeout = 5000", NULL)) ||
        (why = sqlite_pragma(c, p, "PRAGMA journal_mode = WAL", "wal")))
        return why;
    if ((rv = apr_dbd_query(c->driver, c->handle, &(int){0}, "PRAGMA synchronous = NORMAL")))
        return apr_psprintf(p, "synchronous: %s", apr_dbd_error(c->driver, c->handle, rv));
    if ((rv = apr_dbd_prepare(c->driver, p, c->handle, INSERT_SQL, INSERT_LABEL, &c->insert)))
        return apr_psprintf(p, "prepare: %s", apr_dbd_error(c->driver, c->handle, rv));
    return NULL;
}

static void child_init(apr_pool_t *pchild, server_rec *base)
{
    for (server_rec *s = base; s; s = s->next) {
        rig_conf *c = conf_of(s);
        const char *why = NULL;
        if (!c->mutex)
            continue;
        if (apr_global_mutex_child_init(&c->mutex, apr_global_mutex_lockfile(c->mutex), pchild) !=
            APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "rig: cannot attach the mutex");
            c->mutex = NULL;
            continue;
        }
        if (c->kind != STORE_SQLITE)
            continue;
        /* Under the mutex: switching to WAL needs the file to itself. */
        if (lock(c->mutex) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "rig: sqlite: cannot lock");
            continue;
        }
        why = sqlite_open(c, pchild);
        apr_global_mutex_unlock(c->mutex);
        if (why) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "rig: sqlite: %s", why);
            c->insert = NULL; /* every request answers 500 */
        }
    }
}

/* ---- the request ------------------------------------------------------------------- */

static const char *read_body(request_rec *r, char **out, apr_size_t *len)
{
    apr_size_t cap = 8192, n = 0;
    char *buf = apr_palloc(r->pool, cap + 1);
    long got;

    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK || !ap_should_client_block(r))
        return "no body";
    while ((got = ap_get_client_block(r, buf + n, cap - n)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger;
            if (cap >= MAX_BODY)
                return "body too large";
            bigger = apr_palloc(r->pool, cap * 2 + 1);
            memcpy(bigger, buf, n);
            buf = bigger;
            cap *= 2;
        }
    }
    if (got < 0)
        return "reading the body failed";
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return NULL;
}

static int has_audience(json_t *aud, const char *want)
{
    size_t i;
    json_t *v;
    if (json_is_string(aud))
        return !strcmp(json_string_value(aud), want);
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), want))
            return 1;
    }
    return 0;
}

/* Verifies the statement; on success *sub is the SPIFFE ID (in r->pool). */
static const char *verify(request_rec *r, rig_conf *c, const char *compact, const char **sub)
{
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(compact, strlen(compact), &cerr);
    const char *alg, *why = NULL;
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    json_t *claims = NULL;
    long long now = (long long)apr_time_sec(r->request_time);

    if (!jws)
        return "statement is not a compact JWS";
    alg = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_ALG, &cerr);
    if (!alg || strcmp(alg, "ES256"))
        why = "alg is not ES256";
    else if (!cjose_jws_verify(jws, c->key, &cerr))
        why = "bad signature";
    else if (!cjose_jws_get_plaintext(jws, &pt, &ptlen, &cerr) ||
             !(claims = json_loadb((const char *)pt, ptlen, 0, NULL)))
        why = "claims are not JSON";
    cjose_jws_release(jws);
    if (why)
        return why;
    const char *s = json_string_value(json_object_get(claims, "sub"));
    json_t *exp = json_object_get(claims, "exp");
    if (!s || strncmp(s, "spiffe://", 9))
        why = "sub is not a SPIFFE ID";
    else if (!has_audience(json_object_get(claims, "aud"), c->audience))
        why = "wrong audience";
    else if (!json_is_integer(exp) || json_integer_value(exp) <= now)
        why = "expired or no exp";
    else if (!json_is_integer(json_object_get(claims, "iat")))
        why = "no iat";
    else
        *sub = apr_pstrdup(r->pool, s);
    json_decref(claims);
    return why;
}

/* shmcb picks its subcache from the key's first byte: a hash spreads the ids evenly. */
static int shmcb_key(const char *id, unsigned char key[32])
{
    return EVP_Digest(id, strlen(id), key, NULL, EVP_sha256(), NULL);
}

/* GET .../<client_id> on shmcb: the stored body, so bench.py can see the one insert
 * really happened there (the SQL tables it reads itself). Not on the measured path. */
static int read_back(request_rec *r, rig_conf *c)
{
    unsigned char key[32], *data = apr_palloc(r->pool, MAX_BODY);
    unsigned int len = MAX_BODY;
    const char *id = strrchr(r->uri, '/');
    apr_status_t st;

    if (c->kind != STORE_SHMCB || !id)
        return HTTP_NOT_FOUND;
    if (!shmcb_key(id + 1, key) || lock(c->mutex) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    st = c->socache->retrieve(c->cache, r->server, key, sizeof(key), data, &len, r->pool);
    apr_global_mutex_unlock(c->mutex);
    if (st != APR_SUCCESS)
        return HTTP_NOT_FOUND;
    ap_set_content_type(r, "application/json");
    ap_rwrite(data, (int)len, r);
    return OK;
}

static const char *insert(request_rec *r, rig_conf *c, const char *id, const char *body,
                          apr_size_t len, const char *sub)
{
    long long issued_at = (long long)apr_time_sec(r->request_time);
    const void *args[] = {id, body, &issued_at, sub};
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_dbd_prepared_t *stmt;
    int nrows = 0, rv;

    if (c->kind == STORE_SHMCB) {
        unsigned char key[32];
        apr_status_t st;
        if (!shmcb_key(id, key))
            return "sha256 failed";
        if (lock(c->mutex) != APR_SUCCESS)
            return "cannot lock";
        st = c->socache->store(c->cache, r->server, key, sizeof(key),
                               r->request_time + apr_time_from_sec(86400), (unsigned char *)body,
                               (unsigned int)len, r->pool);
        apr_global_mutex_unlock(c->mutex);
        return st == APR_SUCCESS ? NULL : "shmcb store failed";
    }
    if (c->kind == STORE_SQLITE) {
        if (!c->insert)
            return "sqlite store not open";
        if (lock(c->mutex) != APR_SUCCESS)
            return "cannot lock";
        rv = apr_dbd_pbquery(c->driver, r->pool, c->handle, &nrows, c->insert, args);
        apr_global_mutex_unlock(c->mutex);
        if (rv)
            return apr_psprintf(r->pool, "sqlite insert: %s",
                                apr_dbd_error(c->driver, c->handle, rv));
        return nrows == 1 ? NULL : "sqlite insert changed no row";
    }
    if (c->kind == STORE_DBD) {
        ap_dbd_t *dbd = dbd_acquire ? dbd_acquire(r) : NULL;
        if (!dbd || !(stmt = apr_hash_get(dbd->prepared, INSERT_LABEL, APR_HASH_KEY_STRING)))
            return "no mod_dbd connection or statement";
        driver = dbd->driver;
        handle = dbd->handle;
        if ((rv = apr_dbd_pbquery(driver, r->pool, handle, &nrows, stmt, args)))
            return apr_psprintf(r->pool, "dbd insert: %s", apr_dbd_error(driver, handle, rv));
        return nrows == 1 ? NULL : "dbd insert changed no row";
    }
    return "no RigStore";
}

static int handler(request_rec *r)
{
    rig_conf *c = conf_of(r->server);
    unsigned char raw[16];
    char id[2 * sizeof(raw) + 1];
    const char *why = NULL, *sub = NULL, *compact;
    char *body = NULL;
    apr_size_t len = 0;
    json_t *doc = NULL;

    if (!r->handler || strcmp(r->handler, "dcr-rig"))
        return DECLINED;
    if (r->method_number == M_GET)
        return read_back(r, c);
    if (r->method_number != M_POST)
        return HTTP_METHOD_NOT_ALLOWED;
    if (!c->key)
        why = "not configured";
    else if (!(why = read_body(r, &body, &len))) {
        if (!(doc = json_loadb(body, len, 0, NULL)))
            why = "body is not JSON";
        else if (!(compact = json_string_value(json_object_get(doc, "software_statement"))))
            why = "no software_statement";
        else if (!(why = verify(r, c, compact, &sub))) {
            if (RAND_bytes(raw, sizeof(raw)) != 1)
                why = "RAND_bytes failed";
            else {
                for (size_t i = 0; i < sizeof(raw); i++)
                    apr_snprintf(id + 2 * i, 3, "%02x", raw[i]);
                why = insert(r, c, id, body, len, sub);
            }
        }
        json_decref(doc);
    }
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "rig: %s", why);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->status = HTTP_CREATED;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_rprintf(r, "{\"client_id\":\"%s\"}", id);
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const after_dbd[] = {"mod_dbd.c", NULL};
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, after_dbd, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(dcr_rig) = {
    STANDARD20_MODULE_STUFF, NULL, NULL, create_server, NULL, cmds, register_hooks,
};
