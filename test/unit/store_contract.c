#include "store_contract.h"

#include "json.h"

#include <apr_strings.h>
#include <string.h>

static store_contract_open_fn open_store;
static void *open_baton;
static apr_pool_t *cp; /* per test: this file has its own fixture (unit.h's pool is static) */
static dcr_store *st;
static dcr_error err;

static void setup(void)
{
    apr_pool_create(&cp, NULL);
    memset(&err, 0, sizeof(err));
    st = open_store(cp, open_baton);
    ck_assert_ptr_nonnull(st);
}

static void teardown(void)
{
    apr_pool_destroy(cp);
    cp = NULL;
    st = NULL;
}

dcr_client *store_contract_client(apr_pool_t *pool, const char *id, const char *spiffe_id,
                                  long long issued_at, long long expires_at, const char *name,
                                  const char *token)
{
    dcr_client *c = apr_pcalloc(pool, sizeof(*c));
    c->client_id = apr_pstrdup(pool, id);
    c->issued_at = issued_at;
    c->expires_at = expires_at;
    dcr_token_hash(token, c->rat_hash);
    c->metadata = dcr_json_own(
        pool, json_pack("{s:s, s:[s]}", "client_name", name, "grant_types", "client_credentials"));
    if (spiffe_id) {
        c->subject_kind = "spiffe";
        c->subject = apr_pstrdup(pool, spiffe_id);
        c->issuer = "example.org";
        json_object_set_new(c->metadata, "spiffe_id", json_string(spiffe_id));
        /* written by a statement of its own, issued when the client was */
        c->endpoint = STORE_CONTRACT_ENDPOINT;
        dcr_token_hash(apr_pstrcat(pool, "statement of ", id, NULL), c->statement_hash);
        c->statement_iat = issued_at;
    }
    return c;
}

#define C(id, sub, iat, exp, name) store_contract_client(cp, id, sub, iat, exp, name, "tok-" id)
#define SUB_A "spiffe://example.org/ns/a/sa/w"
#define SUB_B "spiffe://example.org/ns/b/sa/w"

static dcr_client *must_get(const char *id, long long now)
{
    dcr_client *out = NULL;
    apr_status_t rv = st->ops->get(st, id, now, cp, &out, &err);
    ck_assert_msg(rv == APR_SUCCESS, "get %s: %d %s", id, rv, err.detail);
    ck_assert_ptr_nonnull(out);
    return out;
}

static void put_ok(const dcr_client *c)
{
    apr_status_t rv = st->ops->put(st, c, cp, &err);
    ck_assert_msg(rv == APR_SUCCESS, "put %s: %d %s", c->client_id, rv, err.detail);
}

/* Live ids of a SPIFFE ID, through the subject key client.c derives. */
static int ids_of(const char *spiffe_id, long long now, const char **out, int max)
{
    apr_array_header_t *ids = NULL;
    const char *key = NULL;
    if (spiffe_id) {
        key = dcr_client_subject_key(cp, store_contract_client(cp, "k", spiffe_id, 0, 0, "k", "t"));
        ck_assert_ptr_nonnull(key);
    }
    apr_status_t rv = st->ops->find_clients(st, key, now, cp, &ids, &err);
    ck_assert_msg(rv == APR_SUCCESS, "find: %d %s", rv, err.detail);
    ck_assert_ptr_nonnull(ids);
    for (int i = 0; i < ids->nelts && i < max; i++) {
        const dcr_client *c = APR_ARRAY_IDX(ids, i, dcr_client *);
        dcr_client *g = must_get(c->client_id, now);
        /* the records come whole: what get reads for the same id */
        ck_assert_str_eq(c->rat_hash, g->rat_hash);
        ck_assert_int_eq(c->issued_at, g->issued_at);
        ck_assert_msg(json_equal(c->metadata, g->metadata), "find and get differ");
        out[i] = c->client_id;
    }
    return ids->nelts;
}

START_TEST(put_then_get_round_trips)
{
    dcr_client *c = C("c1", SUB_A, 1000, 5000, "one");
    put_ok(c);
    dcr_client *g = must_get("c1", 1001);
    ck_assert_str_eq(g->client_id, "c1");
    ck_assert_int_eq(g->issued_at, 1000);
    ck_assert_int_eq(g->expires_at, 5000);
    ck_assert_str_eq(g->rat_hash, c->rat_hash);
    ck_assert(dcr_client_token_matches(g, "tok-c1"));
    ck_assert(!dcr_client_token_matches(g, "tok-c2"));
    ck_assert_str_eq(g->subject_kind, "spiffe");
    ck_assert_str_eq(g->subject, SUB_A);
    ck_assert_msg(json_equal(g->metadata, c->metadata), "metadata changed in the store");
}
END_TEST

START_TEST(client_without_subject_or_lifetime)
{
    put_ok(C("anon", NULL, 10, 0, "anon"));
    dcr_client *g = must_get("anon", 1LL << 40); /* expires_at 0: never expires */
    ck_assert_ptr_null(g->subject);
    ck_assert_int_eq(g->expires_at, 0);
}
END_TEST

START_TEST(duplicate_id_is_eexist_and_keeps_the_first)
{
    put_ok(C("dup", SUB_A, 10, 0, "first"));
    ck_assert_int_eq(st->ops->put(st, C("dup", SUB_B, 20, 0, "second"), cp, &err), APR_EEXIST);
    dcr_client *g = must_get("dup", 11);
    ck_assert_str_eq(dcr_json_string(g->metadata, "client_name"), "first");
    ck_assert_str_eq(g->subject, SUB_A);
    const char *ids[2];
    ck_assert_int_eq(ids_of(SUB_B, 11, ids, 2), 0);
}
END_TEST

START_TEST(absent_client_is_notfound)
{
    dcr_client *out = (dcr_client *)1;
    ck_assert_int_eq(st->ops->get(st, "nobody", 1, cp, &out, &err), APR_NOTFOUND);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(st->ops->update(st, C("nobody", NULL, 1, 0, "x"), NULL, cp, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(st->ops->remove(st, "nobody", cp, &err), APR_NOTFOUND);
    /* and nothing was created by the failed update */
    ck_assert_int_eq(st->ops->get(st, "nobody", 1, cp, &out, &err), APR_NOTFOUND);
}
END_TEST

START_TEST(update_replaces_record_token_and_subject)
{
    put_ok(C("u1", SUB_A, 10, 0, "before"));
    dcr_client *n = store_contract_client(cp, "u1", SUB_B, 10, 900, "after", "new-token");
    ck_assert_int_eq(st->ops->update(st, n, NULL, cp, &err), APR_SUCCESS);
    dcr_client *g = must_get("u1", 11);
    ck_assert_str_eq(dcr_json_string(g->metadata, "client_name"), "after");
    ck_assert(dcr_client_token_matches(g, "new-token"));
    ck_assert(!dcr_client_token_matches(g, "tok-u1"));
    ck_assert_int_eq(g->expires_at, 900);
    const char *ids[2];
    ck_assert_int_eq(ids_of(SUB_A, 11, ids, 2), 0);
    ck_assert_int_eq(ids_of(SUB_B, 11, ids, 2), 1);
    ck_assert_str_eq(ids[0], "u1");
}
END_TEST

/* An update with an expected token hash is a compare-and-set: a writer that authenticated with
 * a token rotated meanwhile changes nothing (issue 10: no retired token comes back). */
START_TEST(update_compare_and_set_on_the_token_hash)
{
    char seen[DCR_TOKEN_HASH_HEX + 1], stale[DCR_TOKEN_HASH_HEX + 1];
    put_ok(C("cas", SUB_A, 10, 0, "first"));
    memcpy(seen, must_get("cas", 11)->rat_hash, sizeof(seen));
    dcr_client *rotated = store_contract_client(cp, "cas", SUB_A, 10, 0, "rotated", "tok-2");
    ck_assert_int_eq(st->ops->update(st, rotated, seen, cp, &err), APR_SUCCESS);
    /* the same expectation again: the token it names is retired */
    dcr_token_hash("tok-cas", stale);
    ck_assert_str_eq(stale, seen);
    dcr_client *late = store_contract_client(cp, "cas", SUB_A, 10, 0, "late", "tok-cas");
    ck_assert_int_eq(st->ops->update(st, late, stale, cp, &err), APR_NOTFOUND);
    dcr_client *g = must_get("cas", 11);
    ck_assert_str_eq(dcr_json_string(g->metadata, "client_name"), "rotated");
    ck_assert(dcr_client_token_matches(g, "tok-2"));
    ck_assert(!dcr_client_token_matches(g, "tok-cas"));
}
END_TEST

/* replace in one step rewrites only what dcr_client_may_rewrite allows: the same statement,
 * an older one, another endpoint's client or a version 1 record (no statement hash) is left
 * exactly as it was. Stores without the one-step op skip this. */
START_TEST(replace_returning_only_with_a_newer_statement_at_the_same_endpoint)
{
    const char *id = NULL;
    long long iat = 0;
    if (!st->ops->replace_returning)
        return;
    put_ok(C("rr", SUB_A, 100, 0, "owner"));
    dcr_client *copy = C("rr-copy", SUB_A, 100, 0, "thief"); /* a copy of rr's statement */
    dcr_token_hash("statement of rr", copy->statement_hash);
    copy->statement_iat = 100;
    dcr_client *older = C("rr-old", SUB_A, 100, 0, "thief");
    older->statement_iat = 90;
    dcr_client *elsewhere = C("rr-else", SUB_A, 100, 0, "thief");
    elsewhere->statement_iat = 200;
    elsewhere->endpoint = "https://other.example.test/register";
    dcr_client *cases[] = {copy, older, elsewhere};
    for (int i = 0; i < 3; i++) {
        apr_status_t rv = st->ops->replace_returning(st, cases[i], 150, cp, &id, &iat, &err);
        ck_assert_msg(rv == APR_NOTFOUND || rv == APR_ENOTIMPL, "case %d: %d", i, rv);
        dcr_client *g = must_get("rr", 150);
        ck_assert_str_eq(dcr_json_string(g->metadata, "client_name"), "owner");
        ck_assert(dcr_client_token_matches(g, "tok-rr"));
    }
    /* a record without a statement hash (version 1) is never rewritten either */
    dcr_client *v1 = C("rr-v1", SUB_B, 100, 0, "v1");
    v1->statement_hash[0] = '\0';
    v1->endpoint = NULL;
    put_ok(v1);
    dcr_client *newer_b = C("rr-b", SUB_B, 300, 0, "thief");
    apr_status_t rv = st->ops->replace_returning(st, newer_b, 150, cp, &id, &iat, &err);
    ck_assert_msg(rv == APR_NOTFOUND || rv == APR_ENOTIMPL, "v1: %d", rv);
    ck_assert(dcr_client_token_matches(must_get("rr-v1", 150), "tok-rr-v1"));
    /* a newer statement at the same endpoint does */
    dcr_client *fresh = C("rr-new", SUB_A, 300, 0, "owner again");
    rv = st->ops->replace_returning(st, fresh, 150, cp, &id, &iat, &err);
    if (rv == APR_ENOTIMPL)
        return;
    ck_assert_int_eq(rv, APR_SUCCESS);
    ck_assert_str_eq(id, "rr");
    ck_assert_int_eq(must_get("rr", 150)->statement_iat, 300);
}
END_TEST

START_TEST(remove_deletes_once)
{
    put_ok(C("r1", SUB_A, 10, 0, "r1"));
    put_ok(C("r2", SUB_A, 11, 0, "r2"));
    ck_assert_int_eq(st->ops->remove(st, "r1", cp, &err), APR_SUCCESS);
    dcr_client *out;
    ck_assert_int_eq(st->ops->get(st, "r1", 12, cp, &out, &err), APR_NOTFOUND);
    ck_assert_int_eq(st->ops->remove(st, "r1", cp, &err), APR_NOTFOUND);
    must_get("r2", 12); /* the neighbour is untouched */
    const char *ids[2];
    ck_assert_int_eq(ids_of(SUB_A, 12, ids, 2), 1);
    ck_assert_str_eq(ids[0], "r2");
}
END_TEST

START_TEST(find_clients_oldest_first_live_only)
{
    put_ok(C("f3", SUB_A, 300, 0, "f3"));
    put_ok(C("f1", SUB_A, 100, 0, "f1"));
    put_ok(C("f2", SUB_A, 200, 0, "f2"));
    put_ok(C("fx", SUB_A, 50, 400, "expires at 400"));
    put_ok(C("fb", SUB_B, 150, 0, "other subject"));
    put_ok(C("fn", NULL, 150, 0, "no subject"));
    const char *ids[8];
    ck_assert_int_eq(ids_of(SUB_A, 399, ids, 8), 4);
    ck_assert_str_eq(ids[0], "fx");
    ck_assert_str_eq(ids[1], "f1");
    ck_assert_str_eq(ids[2], "f2");
    ck_assert_str_eq(ids[3], "f3");
    ck_assert_int_eq(ids_of(SUB_A, 400, ids, 8), 3);
    ck_assert_str_eq(ids[0], "f1");
    ck_assert_int_eq(ids_of(SUB_B, 400, ids, 8), 1);
    ck_assert_str_eq(ids[0], "fb");
    ck_assert_int_eq(ids_of("spiffe://example.org/nobody", 400, ids, 8), 0);
    ck_assert_int_eq(ids_of(NULL, 400, ids, 8), 0);
}
END_TEST

START_TEST(expired_is_not_served)
{
    put_ok(C("e1", SUB_A, 100, 200, "e1"));
    must_get("e1", 199);
    dcr_client *out = (dcr_client *)1;
    ck_assert_int_eq(st->ops->get(st, "e1", 200, cp, &out, &err), APR_NOTFOUND);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(st->ops->get(st, "e1", 10000, cp, &out, &err), APR_NOTFOUND);
    /* still taken until swept: a new client cannot reuse the id */
    ck_assert_int_eq(st->ops->put(st, C("e1", SUB_B, 300, 0, "x"), cp, &err), APR_EEXIST);
}
END_TEST

START_TEST(count_live_only)
{
    long long n = -1;
    if (!st->ops->count) {
        ck_assert(!(st->ops->caps & DCR_STORE_CAN_ITERATE));
        return;
    }
    ck_assert_int_eq(st->ops->count(st, 0, &n, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(n, 0);
    put_ok(C("n1", SUB_A, 1, 0, "n1"));
    put_ok(C("n2", SUB_A, 1, 50, "n2"));
    put_ok(C("n3", NULL, 1, 100, "n3"));
    ck_assert_int_eq(st->ops->count(st, 10, &n, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(st->ops->count(st, 50, &n, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(st->ops->count(st, 100, &n, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(expire_deletes_in_batches)
{
    int removed = -1;
    if (!st->ops->expire) {
        ck_assert(!(st->ops->caps & DCR_STORE_CAN_ITERATE));
        return;
    }
    for (int i = 0; i < 5; i++)
        put_ok(
            store_contract_client(cp, apr_psprintf(cp, "old%d", i), SUB_A, 1, 10 + i, "old", "t"));
    put_ok(C("live1", SUB_A, 1, 0, "live"));
    put_ok(C("live2", SUB_B, 1, 1000, "live"));
    long long now = 100;
    ck_assert_int_eq(st->ops->expire(st, now, 2, &removed, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 2);
    ck_assert_int_eq(st->ops->expire(st, now, 2, &removed, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 2);
    ck_assert_int_eq(st->ops->expire(st, now, 2, &removed, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 1);
    ck_assert_int_eq(st->ops->expire(st, now, 2, &removed, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 0);
    /* swept ids are gone for good (remove says so), live ones stay */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(st->ops->remove(st, apr_psprintf(cp, "old%d", i), cp, &err), APR_NOTFOUND);
    must_get("live1", now);
    must_get("live2", now);
    long long n = 0;
    ck_assert_int_eq(st->ops->count(st, 0, &n, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(expire_oldest_expiry_first)
{
    int removed = 0;
    dcr_client *out;
    if (!st->ops->expire)
        return;
    put_ok(C("late", NULL, 1, 90, "x"));
    put_ok(C("early", NULL, 1, 20, "x"));
    ck_assert_int_eq(st->ops->expire(st, 100, 1, &removed, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 1);
    ck_assert_int_eq(st->ops->remove(st, "early", cp, &err), APR_NOTFOUND);
    ck_assert_int_eq(st->ops->get(st, "late", 50, cp, &out, &err), APR_SUCCESS);
}
END_TEST

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static apr_status_t remember(const char *hash, long long until, long long now)
{
    return st->ops->remember_statement(st, hash, until, now, cp, &err);
}

START_TEST(remember_statement_once_until_it_expires)
{
    ck_assert_ptr_nonnull(st->ops->remember_statement);
    ck_assert_int_eq(remember(H1, 500, 100), APR_SUCCESS);
    /* the same hash again while remembered, whatever expiry the copy claims */
    ck_assert_int_eq(remember(H1, 500, 101), APR_EEXIST);
    ck_assert_int_eq(remember(H1, 9000, 499), APR_EEXIST);
    /* another statement is another entry */
    ck_assert_int_eq(remember(H2, 500, 101), APR_SUCCESS);
    /* once expired, it is new again (and remembered anew) */
    ck_assert_int_eq(remember(H1, 900, 500), APR_SUCCESS);
    ck_assert_int_eq(remember(H1, 900, 899), APR_EEXIST);
    /* the registrations are untouched */
    dcr_client *out;
    ck_assert_int_eq(st->ops->get(st, H1, 100, cp, &out, &err), APR_NOTFOUND);
}
END_TEST

START_TEST(expire_forgets_used_statements)
{
    int removed = 0;
    if (!st->ops->expire)
        return;
    ck_assert_int_eq(remember(H1, 50, 10), APR_SUCCESS);
    ck_assert_int_eq(remember(H2, 5000, 10), APR_SUCCESS);
    put_ok(C("keep", NULL, 1, 0, "x"));
    ck_assert_int_eq(st->ops->expire(st, 100, 10, &removed, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 1); /* H1's memory, no client */
    ck_assert_int_eq(st->ops->expire(st, 100, 10, &removed, cp, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 0);
    ck_assert_int_eq(remember(H2, 5000, 100), APR_EEXIST); /* the live one stays */
    must_get("keep", 100);
}
END_TEST

void store_contract_add(Suite *suite, store_contract_open_fn open, void *baton)
{
    TCase *tc = tcase_create("contract");
    open_store = open;
    open_baton = baton;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, put_then_get_round_trips);
    tcase_add_test(tc, client_without_subject_or_lifetime);
    tcase_add_test(tc, duplicate_id_is_eexist_and_keeps_the_first);
    tcase_add_test(tc, absent_client_is_notfound);
    tcase_add_test(tc, update_replaces_record_token_and_subject);
    tcase_add_test(tc, update_compare_and_set_on_the_token_hash);
    tcase_add_test(tc, replace_returning_only_with_a_newer_statement_at_the_same_endpoint);
    tcase_add_test(tc, remove_deletes_once);
    tcase_add_test(tc, find_clients_oldest_first_live_only);
    tcase_add_test(tc, expired_is_not_served);
    tcase_add_test(tc, count_live_only);
    tcase_add_test(tc, expire_deletes_in_batches);
    tcase_add_test(tc, expire_oldest_expiry_first);
    tcase_add_test(tc, remember_statement_once_until_it_expires);
    tcase_add_test(tc, expire_forgets_used_statements);
    suite_add_tcase(suite, tc);
}
