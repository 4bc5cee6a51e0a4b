/* The SQLite store: the shared store contract, then what only a file on disk shows (pragmas,
 * reopening, several connections and processes on one file, the schema files, the table as a
 * public interface). */
#include "unit.h"
#include "temp_db.h"

#include "json.h"
#include "store_contract.h"
#include "store_sqlite.h"
#include "store_sweep.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static dcr_sql_conn *open_ok(apr_pool_t *p, const char *file, const dcr_sqlite_options *o,
                             apr_global_mutex_t *m)
{
    dcr_sql_conn *c = NULL;
    dcr_error err = {0};
    apr_status_t rv = dcr_store_sqlite_open(p, file, o, m, &c, &err);
    ck_assert_msg(rv == APR_SUCCESS, "open %s: %d %s", file, rv, err.detail);
    ck_assert_ptr_nonnull(c);
    return c;
}

static dcr_store *contract_open(apr_pool_t *p, void *baton)
{
    return dcr_sql_store(p, open_ok(p, temp_db(p), NULL, NULL));
}

/* First column of the first row of a query on the raw connection (NULL when none). */
static const char *scalar(dcr_sql_conn *c, const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v = NULL;
    int rv = apr_dbd_select(c->driver, pool, c->handle, &res, sql, 0);
    ck_assert_msg(rv == 0, "%s: %s", sql, apr_dbd_error(c->driver, c->handle, rv));
    while (apr_dbd_get_row(c->driver, pool, res, &row, -1) == 0) {
        const char *e = apr_dbd_get_entry(c->driver, row, 0);
        if (!v)
            v = e ? apr_pstrdup(pool, e) : NULL;
    }
    return v;
}

static void exec_sql(dcr_sql_conn *c, const char *sql)
{
    int n, rv = apr_dbd_query(c->driver, c->handle, &n, sql);
    ck_assert_msg(rv == 0, "%s: %s", sql, apr_dbd_error(c->driver, c->handle, rv));
}

START_TEST(pragmas_default_normal_wal_busy_timeout)
{
    dcr_sql_conn *c = open_ok(pool, temp_db(pool), NULL, NULL);
    ck_assert_str_eq(scalar(c, "PRAGMA journal_mode"), "wal");
    ck_assert_str_eq(scalar(c, "PRAGMA synchronous"), "1"); /* NORMAL */
    ck_assert_str_eq(scalar(c, "PRAGMA busy_timeout"), apr_itoa(pool, DCR_SQLITE_BUSY_TIMEOUT_MS));
}
END_TEST

START_TEST(pragmas_full_and_custom_timeout)
{
    dcr_sqlite_options o = {.sync_full = true, .busy_timeout_ms = 1234};
    dcr_sql_conn *c = open_ok(pool, temp_db(pool), &o, NULL);
    ck_assert_str_eq(scalar(c, "PRAGMA synchronous"), "2"); /* FULL */
    ck_assert_str_eq(scalar(c, "PRAGMA busy_timeout"), "1234");
}
END_TEST

START_TEST(table_columns_are_the_public_interface)
{
    dcr_sql_conn *c = open_ok(pool, temp_db(pool), NULL, NULL);
    dcr_store *s = dcr_sql_store(pool, c);
    dcr_error err = {0};
    dcr_client *a = store_contract_client(pool, "colA", "spiffe://example.org/w", 1700000000,
                                          1700003600, "A", "token-a");
    dcr_client *b = store_contract_client(pool, "colB", NULL, 1700000001, 0, "B", "token-b");
    ck_assert_int_eq(s->ops->put(s, a, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(s->ops->put(s, b, pool, &err), APR_SUCCESS);

    ck_assert_str_eq(scalar(c, "SELECT issued_at FROM dcr_clients WHERE client_id='colA'"),
                     "1700000000");
    ck_assert_str_eq(scalar(c, "SELECT expires_at FROM dcr_clients WHERE client_id='colA'"),
                     "1700003600");
    ck_assert_str_eq(scalar(c, "SELECT rat_hash FROM dcr_clients WHERE client_id='colA'"),
                     a->rat_hash);
    ck_assert_str_eq(scalar(c, "SELECT subject_key FROM dcr_clients WHERE client_id='colA'"),
                     dcr_client_subject_key(pool, a));
    ck_assert_str_eq(scalar(c, "SELECT record FROM dcr_clients WHERE client_id='colA'"),
                     dcr_client_to_record(pool, a));
    /* "never expires" and "no subject" are SQL NULL, so an AS can filter with IS NULL */
    ck_assert_str_eq(scalar(c, "SELECT COUNT(*) FROM dcr_clients WHERE expires_at IS NULL"
                               " AND subject_key IS NULL"),
                     "1");
    ck_assert_str_eq(scalar(c, "SELECT version FROM dcr_schema"), "3");
    /* the documented indexes exist */
    ck_assert_str_eq(scalar(c, "SELECT COUNT(*) FROM sqlite_master WHERE type='index' AND"
                               " name IN ('dcr_clients_subject','dcr_clients_expires')"),
                     "2");
}
END_TEST

START_TEST(reopen_finds_everything)
{
    const char *file = temp_db(pool);
    apr_pool_t *p1, *p2;
    dcr_error err = {0};
    long long n = 0;

    apr_pool_create(&p1, pool);
    dcr_store *s = dcr_sql_store(p1, open_ok(p1, file, NULL, NULL));
    for (int i = 0; i < 50; i++) {
        const char *id = apr_psprintf(p1, "re%02d", i);
        dcr_client *c = store_contract_client(p1, id, i % 2 ? "spiffe://example.org/odd" : NULL,
                                              100 + i, 0, id, id);
        ck_assert_int_eq(s->ops->put(s, c, p1, &err), APR_SUCCESS);
    }
    apr_pool_destroy(p1); /* closes the connection */

    apr_pool_create(&p2, pool);
    s = dcr_sql_store(p2, open_ok(p2, file, NULL, NULL));
    ck_assert_int_eq(s->ops->count(s, 0, &n, p2, &err), APR_SUCCESS);
    ck_assert_int_eq(n, 50);
    for (int i = 0; i < 50; i++) {
        const char *id = apr_psprintf(p2, "re%02d", i);
        dcr_client *g = NULL;
        ck_assert_int_eq(s->ops->get(s, id, 1000, p2, &g, &err), APR_SUCCESS);
        ck_assert(dcr_client_token_matches(g, id));
        ck_assert_int_eq(g->issued_at, 100 + i);
    }
    apr_array_header_t *ids;
    dcr_client *k = store_contract_client(p2, "k", "spiffe://example.org/odd", 0, 0, "k", "k");
    ck_assert_int_eq(s->ops->find_clients(s, dcr_client_subject_key(p2, k), 1000, p2, &ids, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(ids->nelts, 25);
    ck_assert_str_eq(APR_ARRAY_IDX(ids, 0, dcr_client *)->client_id, "re01");
    apr_pool_destroy(p2);
}
END_TEST

START_TEST(two_connections_on_one_file)
{
    const char *file = temp_db(pool);
    apr_global_mutex_t *m = NULL;
    dcr_error err = {0};
    dcr_client *g = NULL;

    ck_assert_int_eq(
        apr_global_mutex_create(&m, apr_pstrcat(pool, file, ".lock", NULL), APR_LOCK_DEFAULT, pool),
        APR_SUCCESS);
    dcr_store *a = dcr_sql_store(pool, open_ok(pool, file, NULL, m));
    dcr_store *b = dcr_sql_store(pool, open_ok(pool, file, NULL, m));
    dcr_client *c = store_contract_client(pool, "shared", NULL, 5, 0, "v1", "t1");
    ck_assert_int_eq(a->ops->put(a, c, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(b->ops->get(b, "shared", 6, pool, &g, &err), APR_SUCCESS);
    ck_assert_int_eq(b->ops->put(b, c, pool, &err), APR_EEXIST);

    dcr_client *c2 = store_contract_client(pool, "shared", NULL, 5, 0, "v2", "t2");
    ck_assert_int_eq(b->ops->update(b, c2, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(a->ops->get(a, "shared", 6, pool, &g, &err), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(g->metadata, "client_name")), "v2");
    ck_assert(dcr_client_token_matches(g, "t2"));

    ck_assert_int_eq(a->ops->remove(a, "shared", pool, &err), APR_SUCCESS);
    ck_assert_int_eq(b->ops->get(b, "shared", 6, pool, &g, &err), APR_NOTFOUND);
}
END_TEST

#define NPROC 3
#define NPER 60

/* Several processes writing one file at once, serialised by the global mutex: every insert
 * succeeds (no SQLITE_BUSY failures) and every row is there afterwards. */
START_TEST(processes_write_concurrently)
{
    const char *file = temp_db(pool);
    const char *lockf = apr_pstrcat(pool, file, ".lock", NULL);
    apr_global_mutex_t *m = NULL;
    apr_proc_t kids[NPROC];
    dcr_error err = {0};
    long long n = 0;

    ck_assert_int_eq(apr_global_mutex_create(&m, lockf, APR_LOCK_DEFAULT, pool), APR_SUCCESS);
    open_ok(pool, file, NULL, m); /* schema exists before the race */
    for (int k = 0; k < NPROC; k++) {
        apr_status_t rv = apr_proc_fork(&kids[k], pool);
        if (rv == APR_INCHILD) {
            apr_pool_t *cp;
            dcr_sql_conn *c = NULL;
            int bad = 0;
            apr_pool_create(&cp, NULL);
            if (apr_global_mutex_child_init(&m, lockf, cp) != APR_SUCCESS ||
                dcr_store_sqlite_open(cp, file, NULL, m, &c, &err) != APR_SUCCESS)
                _exit(2);
            dcr_store *s = dcr_sql_store(cp, c);
            for (int i = 0; i < NPER; i++) {
                const char *id = apr_psprintf(cp, "k%d-%d", k, i);
                dcr_client *cl =
                    store_contract_client(cp, id, "spiffe://example.org/race", i, 0, id, id);
                if (s->ops->put(s, cl, cp, &err) != APR_SUCCESS)
                    bad++;
            }
            _exit(bad ? 1 : 0);
        }
        ck_assert_int_eq(rv, APR_INPARENT);
    }
    for (int k = 0; k < NPROC; k++) {
        int code = -1;
        apr_exit_why_e why;
        apr_proc_wait(&kids[k], &code, &why, APR_WAIT);
        ck_assert_msg(why == APR_PROC_EXIT && code == 0, "writer %d exited %d", k, code);
    }
    dcr_store *s = dcr_sql_store(pool, open_ok(pool, file, NULL, m));
    ck_assert_int_eq(s->ops->count(s, 0, &n, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(n, NPROC * NPER);
}
END_TEST

START_TEST(newer_schema_is_refused)
{
    const char *file = temp_db(pool);
    apr_pool_t *p1;
    dcr_sql_conn *c = NULL;
    dcr_error err = {0};

    apr_pool_create(&p1, pool);
    exec_sql(open_ok(p1, file, NULL, NULL), "UPDATE dcr_schema SET version = 4");
    apr_pool_destroy(p1);
    ck_assert_int_ne(dcr_store_sqlite_open(pool, file, NULL, NULL, &c, &err), APR_SUCCESS);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(err.code, DCR_ERR_SERVER_ERROR);
    ck_assert_ptr_nonnull(strstr(err.detail, "schema version 4"));
}
END_TEST

/* The schema the previous module (version 1) created, word for word, with one client. */
static void make_v1_database(const char *file)
{
    static const char *const v1[] = {
        "CREATE TABLE IF NOT EXISTS dcr_clients ( client_id TEXT NOT NULL PRIMARY KEY, record TEXT"
        " NOT NULL, issued_at INTEGER NOT NULL, expires_at INTEGER, subject_key TEXT, rat_hash"
        " TEXT NOT NULL )",
        "CREATE INDEX IF NOT EXISTS dcr_clients_subject ON dcr_clients (subject_key, issued_at)",
        "CREATE INDEX IF NOT EXISTS dcr_clients_expires ON dcr_clients (expires_at) WHERE"
        " expires_at IS NOT NULL",
        "CREATE TABLE IF NOT EXISTS dcr_schema (version INTEGER NOT NULL)",
        "INSERT INTO dcr_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM dcr_schema)",
        NULL};
    const apr_dbd_driver_t *d = NULL;
    apr_dbd_t *h = NULL;
    int n;
    dcr_client *c = store_contract_client(pool, "old1", NULL, 10, 0, "old", "tok");
    apr_dbd_init(pool);
    ck_assert_int_eq(apr_dbd_get_driver(pool, "sqlite3", &d), APR_SUCCESS);
    ck_assert_int_eq(apr_dbd_open(d, pool, file, &h), APR_SUCCESS);
    for (const char *const *q = v1; *q; q++)
        ck_assert_int_eq(apr_dbd_query(d, h, &n, *q), 0);
    ck_assert_int_eq(apr_dbd_query(d, h, &n,
                                   apr_psprintf(pool,
                                                "INSERT INTO dcr_clients VALUES ('old1', '%s', 10,"
                                                " NULL, NULL, '%s')",
                                                dcr_client_to_record(pool, c), c->rat_hash)),
                     0);
    apr_dbd_close(d, h);
}

START_TEST(version_1_database_is_migrated)
{
    const char *file = temp_db(pool);
    dcr_sql_conn *c;
    dcr_store *st;
    dcr_client *got = NULL;
    dcr_error err = {0};

    make_v1_database(file);
    c = open_ok(pool, file, NULL, NULL);
    ck_assert_str_eq(scalar(c, "SELECT version FROM dcr_schema"), "3");
    ck_assert_str_eq(scalar(c, "SELECT COUNT(*) FROM dcr_schema"), "1");
    st = dcr_sql_store(pool, c);
    /* the old client reads as before, and the new table works */
    ck_assert_int_eq(st->ops->get(st, "old1", 11, pool, &got, &err), APR_SUCCESS);
    ck_assert(dcr_client_token_matches(got, "tok"));
    ck_assert_int_eq(st->ops->remember_statement(st, "ab", 100, 11, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st->ops->remember_statement(st, "ab", 100, 12, pool, &err), APR_EEXIST);
    /* version 3's column came too: an upstream's secrets are kept beside the record */
    got->upstream_secret = "{\"registration_access_token\":\"up\"}";
    ck_assert_int_eq(st->ops->update(st, got, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st->ops->get(st, "old1", 11, pool, &got, &err), APR_SUCCESS);
    ck_assert_str_eq(got->upstream_secret, "{\"registration_access_token\":\"up\"}");
    /* opening again changes nothing (idempotent) */
    c = open_ok(pool, file, NULL, NULL);
    ck_assert_str_eq(scalar(c, "SELECT version FROM dcr_schema"), "3");
    ck_assert_str_eq(scalar(c, "SELECT COUNT(*) FROM dcr_used_statements"), "1");
}
END_TEST

START_TEST(check_schema_names_an_old_version)
{
    const char *file = temp_db(pool);
    const apr_dbd_driver_t *d = NULL;
    apr_dbd_t *h = NULL;
    dcr_error err = {0};

    make_v1_database(file);
    ck_assert_int_eq(apr_dbd_get_driver(pool, "sqlite3", &d), APR_SUCCESS);
    ck_assert_int_eq(apr_dbd_open(d, pool, file, &h), APR_SUCCESS);
    ck_assert_int_ne(dcr_sql_check_schema(d, h, pool, &err), APR_SUCCESS);
    ck_assert_msg(strstr(err.detail, "schema version 1") &&
                      strstr(err.detail, "DCRDBDCreateSchema"),
                  "%s", err.detail);
    apr_dbd_close(d, h);
    /* no schema at all: said so, not a prepare failure */
    file = temp_db(pool);
    ck_assert_int_eq(apr_dbd_open(d, pool, file, &h), APR_SUCCESS);
    ck_assert_int_eq(dcr_sql_check_schema(d, h, pool, &err), APR_NOTFOUND);
    ck_assert_msg(strstr(err.detail, "no dcr_schema table"), "%s", err.detail);
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
    apr_dbd_close(d, h);
}
END_TEST

START_TEST(unopenable_file_fails_cleanly)
{
    dcr_sql_conn *c = NULL;
    dcr_error err = {0};
    ck_assert_int_ne(dcr_store_sqlite_open(pool, "/nonexistent-dir/sub/x.db", NULL, NULL, &c, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(err.detail, "/nonexistent-dir/sub/x.db"));

    memset(&err, 0, sizeof(err));
    ck_assert_int_ne(dcr_store_sqlite_open(pool, "", NULL, NULL, &c, &err), APR_SUCCESS);
    ck_assert_int_eq(err.code, DCR_ERR_SERVER_ERROR);
}
END_TEST

START_TEST(corrupt_record_is_server_error)
{
    dcr_sql_conn *c = open_ok(pool, temp_db(pool), NULL, NULL);
    dcr_store *s = dcr_sql_store(pool, c);
    dcr_error err = {0};
    dcr_client *g = NULL;
    ck_assert_int_eq(
        s->ops->put(s, store_contract_client(pool, "bad", NULL, 1, 0, "x", "t"), pool, &err),
        APR_SUCCESS);
    exec_sql(c, "UPDATE dcr_clients SET record = '{\"version\": 99}' WHERE client_id = 'bad'");
    ck_assert_int_ne(s->ops->get(s, "bad", 2, pool, &g, &err), APR_SUCCESS);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(err.code, DCR_ERR_SERVER_ERROR);

    /* a record that parses but names another client is refused too */
    dcr_client *other = store_contract_client(pool, "other", NULL, 1, 0, "x", "t");
    exec_sql(c, apr_psprintf(pool, "UPDATE dcr_clients SET record = '%s' WHERE client_id='bad'",
                             dcr_client_to_record(pool, other)));
    memset(&err, 0, sizeof(err));
    ck_assert_int_ne(s->ops->get(s, "bad", 2, pool, &g, &err), APR_SUCCESS);
    ck_assert_int_eq(err.code, DCR_ERR_SERVER_ERROR);
}
END_TEST

/* Text with -- comments dropped and blanks squeezed: no blank at the start, after a blank,
 * '(' or ';', or before ')' or ';'. */
static char *squeeze(const char *text)
{
    char *sq = apr_pcalloc(pool, strlen(text) + 1), *o = sq;
    for (const char *i = text; *i; i++) {
        if (i[0] == '-' && i[1] == '-') {
            while (*i && *i != '\n')
                i++;
            if (!*i)
                break;
        }
        char ch = (*i == '\n' || *i == '\t') ? ' ' : *i;
        if (ch == ' ' && (o == sq || o[-1] == ' ' || o[-1] == '(' || o[-1] == ';'))
            continue;
        if ((ch == ')' || ch == ';') && o > sq && o[-1] == ' ')
            o--;
        *o++ = ch;
    }
    *o = '\0';
    return sq;
}

/* The next statement of squeezed text: up to a ';' outside $$-quoted function bodies. */
static char *next_statement(char **rest)
{
    char *start = *rest, *i = start;
    int quoted = 0;
    for (; *i && (quoted || *i != ';'); i++)
        if (i[0] == '$' && i[1] == '$')
            quoted = !quoted, i++;
    *rest = *i ? i + 1 : i;
    *i = '\0';
    return start;
}

/* Each sql/<driver>.sql statement is what the code runs, comments and blanks aside. */
static void check_schema_file(const char *driver, const char *name)
{
    const char *path = apr_pstrcat(pool, DCR_TEST_DATA, "/../../../sql/", name, NULL);
    char *text = NULL;
    apr_file_t *f;
    apr_finfo_t fi;
    ck_assert_int_eq(apr_file_open(&f, path, APR_FOPEN_READ, 0, pool), APR_SUCCESS);
    apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    text = apr_pcalloc(pool, fi.size + 1);
    apr_size_t len = fi.size;
    apr_file_read_full(f, text, len, &len);
    apr_file_close(f);

    const char *const *stmts = dcr_sql_schema(driver);
    ck_assert_ptr_nonnull(stmts);
    char *rest = squeeze(text);
    int n = 0;
    while (*rest) {
        char *stmt = next_statement(&rest);
        if (!*stmt)
            continue;
        ck_assert_msg(stmts[n] != NULL, "%s has more statements than the code", name);
        const char *code = squeeze(stmts[n]);
        ck_assert_msg(!strcmp(stmt, code), "%s statement %d differs:\nfile: %s\ncode: %s", name, n,
                      stmt, code);
        n++;
    }
    ck_assert_msg(stmts[n] == NULL, "%s has fewer statements than the code", name);
    ck_assert_int_ge(n, 4);
}

/* A client of subject who with software_id sw (NULL: none). */
static dcr_client *of(const char *id, const char *who, const char *sw, long long iat, long long exp)
{
    static int n;
    dcr_client *c =
        store_contract_client(pool, id, who, iat, exp, apr_psprintf(pool, "app %d", ++n),
                              apr_pstrcat(pool, "t-", id, NULL));
    if (sw)
        json_object_set_new(c->metadata, "software_id", json_string(sw));
    return c;
}

/* DCRReregister replace in one statement: the row of the same subject and software keeps its
 * client_id and issue time (in the record too) and takes everything else. */
START_TEST(replace_returning_rewrites_the_same_software_in_place)
{
    dcr_store *s = dcr_sql_store(pool, open_ok(pool, temp_db(pool), NULL, NULL));
    const char *a = "spiffe://example.org/a", *id = NULL;
    long long iat = 0;
    dcr_error err = {0};
    dcr_client *g = NULL;
    ck_assert_int_eq(s->ops->put(s, of("x-old", a, "x", 100, 0), pool, &err), APR_SUCCESS);
    ck_assert_int_eq(s->ops->put(s, of("none-old", a, NULL, 200, 0), pool, &err), APR_SUCCESS);
    ck_assert_int_eq(
        s->ops->put(s, of("x-other", "spiffe://example.org/b", "x", 50, 0), pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(s->ops->put(s, of("y-gone", a, "y", 10, 400), pool, &err), APR_SUCCESS);

    dcr_client *in = of("x-new", a, "x", 999, 5000);
    ck_assert_int_eq(s->ops->replace_returning(s, in, 300, pool, &id, &iat, &err), APR_SUCCESS);
    ck_assert_str_eq(id, "x-old");
    ck_assert_int_eq(iat, 100);
    ck_assert_int_eq(s->ops->get(s, "x-old", 300, pool, &g, &err), APR_SUCCESS);
    ck_assert_str_eq(g->client_id, "x-old"); /* the record names its row */
    ck_assert_int_eq(g->issued_at, 100);
    ck_assert_int_eq(g->expires_at, 5000);
    ck_assert(dcr_client_token_matches(g, "t-x-new"));
    ck_assert_str_eq(dcr_json_string(g->metadata, "client_name"),
                     dcr_json_string(in->metadata, "client_name"));
    ck_assert_int_eq(s->ops->get(s, "x-new", 300, pool, &g, &err), APR_NOTFOUND);

    /* no software_id matches no software_id */
    ck_assert_int_eq(
        s->ops->replace_returning(s, of("n-new", a, NULL, 999, 0), 300, pool, &id, &iat, &err),
        APR_SUCCESS);
    ck_assert_str_eq(id, "none-old");
    /* other software, or only an expired registration of it: nothing to replace */
    ck_assert_int_eq(
        s->ops->replace_returning(s, of("z", a, "z", 999, 0), 300, pool, &id, &iat, &err),
        APR_NOTFOUND);
    ck_assert_int_eq(
        s->ops->replace_returning(s, of("y", a, "y", 999, 0), 400, pool, &id, &iat, &err),
        APR_NOTFOUND);
    ck_assert_int_eq(s->ops->get(s, "x-other", 300, pool, &g, &err), APR_SUCCESS);
    ck_assert(dcr_client_token_matches(g, "t-x-other")); /* another subject: untouched */
    long long n = 0;
    ck_assert_int_eq(s->ops->count(s, 0, &n, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(n, 4);
}
END_TEST

START_TEST(schema_files_match_the_code)
{
    check_schema_file("sqlite3", "sqlite.sql");
    check_schema_file("pgsql", "pgsql.sql");
    ck_assert_ptr_null(dcr_sql_schema("mysql"));
    ck_assert_ptr_null(dcr_sql_schema(NULL));
}
END_TEST

START_TEST(statements_are_labelled_and_distinct)
{
    const apr_dbd_driver_t *sqlite = NULL, *pg = NULL;
    ck_assert_int_eq(apr_dbd_init(pool), APR_SUCCESS);
    ck_assert_int_eq(apr_dbd_get_driver(pool, "sqlite3", &sqlite), APR_SUCCESS);
    for (int i = 0; i < DCR_SQL_NSTMT; i++) {
        /* the lock-carrying statements call PostgreSQL functions: SQLite has none */
        if (i < DCR_SQL_LOCK_FIND || i == DCR_SQL_REPLACE_RETURNING)
            ck_assert_ptr_nonnull(dcr_sql_text(sqlite, i));
        else
            ck_assert_ptr_null(dcr_sql_text(sqlite, i));
        ck_assert_ptr_nonnull(dcr_sql_label(i));
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(dcr_sql_label(i), dcr_sql_label(j));
    }
    ck_assert_ptr_null(dcr_sql_text(sqlite, DCR_SQL_NSTMT));
    if (apr_dbd_get_driver(pool, "pgsql", &pg) == APR_SUCCESS) /* libaprutil1-dbd-pgsql */
        for (int i = 0; i < DCR_SQL_NSTMT; i++)
            ck_assert_ptr_nonnull(dcr_sql_text(pg, i));
}
END_TEST

/* ---- the sweep (src/store_sweep.c) over the SQLite store ------------------------------ */

static void put_expiring(dcr_store *s, const char *prefix, int n, long long expires_at)
{
    dcr_error err = {0};
    for (int i = 0; i < n; i++) {
        const char *id = apr_psprintf(pool, "%s%d", prefix, i);
        dcr_client *c =
            store_contract_client(pool, id, "spiffe://example.org/sweep", 1, expires_at, id, id);
        ck_assert_int_eq(s->ops->put(s, c, pool, &err), APR_SUCCESS);
    }
}

START_TEST(sweep_removes_every_expired_row_in_batches)
{
    dcr_sql_conn *c = open_ok(pool, temp_db(pool), NULL, NULL);
    dcr_store *s = dcr_sql_store(pool, c);
    dcr_error err = {0};
    long long removed = -1, n = -1;
    put_expiring(s, "old", 1203, 50);
    put_expiring(s, "live", 4, 0);
    put_expiring(s, "later", 3, 1000);
    ck_assert_int_eq(dcr_store_sweep(s, 100, 500, DCR_SWEEP_MAX_BATCHES, &removed, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(removed, 1203);
    ck_assert_str_eq(scalar(c, "SELECT COUNT(*) FROM dcr_clients"), "7");
    ck_assert_int_eq(s->ops->count(s, 100, &n, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(n, 7);
    /* nothing left to do; the rows expiring at 1000 go when their time comes */
    ck_assert_int_eq(dcr_store_sweep(s, 100, 500, 20, &removed, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 0);
    ck_assert_int_eq(dcr_store_sweep(s, 1000, 0, 20, &removed, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 3);
    ck_assert_str_eq(scalar(c, "SELECT COUNT(*) FROM dcr_clients"), "4");
}
END_TEST

START_TEST(sweep_stops_after_max_batches)
{
    dcr_store *s = dcr_sql_store(pool, open_ok(pool, temp_db(pool), NULL, NULL));
    dcr_error err = {0};
    long long removed = -1;
    put_expiring(s, "x", 25, 10);
    ck_assert_int_eq(dcr_store_sweep(s, 20, 10, 2, &removed, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 20);
    ck_assert_int_eq(dcr_store_sweep(s, 20, 10, 2, &removed, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 5);
    ck_assert_int_eq(dcr_store_sweep(s, 20, 10, 2, &removed, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 0);
}
END_TEST

START_TEST(sweep_reports_store_errors_and_needs_expire)
{
    dcr_sql_conn *c = open_ok(pool, temp_db(pool), NULL, NULL);
    dcr_store *s = dcr_sql_store(pool, c);
    dcr_error err = {0};
    long long removed = -1;
    exec_sql(c, "DROP TABLE dcr_clients");
    ck_assert_int_ne(dcr_store_sweep(s, 20, 10, 2, &removed, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 0);
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(err.detail, "dcr_expire"));

    /* a store that cannot iterate (socache) has no expire: nothing to sweep there */
    dcr_store_ops no_expire = *s->ops;
    no_expire.expire = NULL;
    dcr_store s2 = {&no_expire, c};
    ck_assert_int_eq(dcr_store_sweep(&s2, 20, 10, 2, &removed, pool, &err), APR_ENOTIMPL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_sqlite");
    store_contract_add(s, contract_open, NULL);
    TCase *tc = unit_tcase("sqlite");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, pragmas_default_normal_wal_busy_timeout);
    tcase_add_test(tc, pragmas_full_and_custom_timeout);
    tcase_add_test(tc, table_columns_are_the_public_interface);
    tcase_add_test(tc, reopen_finds_everything);
    tcase_add_test(tc, two_connections_on_one_file);
    tcase_add_test(tc, processes_write_concurrently);
    tcase_add_test(tc, newer_schema_is_refused);
    tcase_add_test(tc, version_1_database_is_migrated);
    tcase_add_test(tc, check_schema_names_an_old_version);
    tcase_add_test(tc, unopenable_file_fails_cleanly);
    tcase_add_test(tc, corrupt_record_is_server_error);
    tcase_add_test(tc, schema_files_match_the_code);
    tcase_add_test(tc, replace_returning_rewrites_the_same_software_in_place);
    tcase_add_test(tc, statements_are_labelled_and_distinct);
    suite_add_tcase(s, tc);
    tc = unit_tcase("sweep");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sweep_removes_every_expired_row_in_batches);
    tcase_add_test(tc, sweep_stops_after_max_batches);
    tcase_add_test(tc, sweep_reports_store_errors_and_needs_expire);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
