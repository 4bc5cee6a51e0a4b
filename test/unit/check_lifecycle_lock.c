/* The registrar holds the store's subject lock (store.h lock_subject) from admission to the
 * write and releases it on every path: success, ceiling refusal, store failure; a store that
 * cannot lock (APR_ENOTIMPL) still registers; a lock that fails is a 503 and stores nothing.
 * The store is memstore wrapped with a lock that records what ran while it was held. */
#include "registrar_fixture.h"
#include "registrar_int.h"

typedef struct spy {
    const dcr_store_ops *inner_ops;
    void *inner_ctx;
    int held, taken, writes_locked, writes_unlocked;
    bool vanish; /* the next update finds its client deleted (by its owner, meanwhile) */
    apr_status_t lock_rv;
    const char *last_key;
} spy;

static spy the_spy;
static dcr_store_ops spy_ops;
static dcr_store spy_store;

static dcr_store inner(void)
{
    dcr_store s = {the_spy.inner_ops, the_spy.inner_ctx};
    return s;
}

static void note_write(void)
{
    if (the_spy.held)
        the_spy.writes_locked++;
    else
        the_spy.writes_unlocked++;
}

static apr_status_t s_put(dcr_store *s, const dcr_client *c, apr_pool_t *p, dcr_error *err)
{
    dcr_store in = inner();
    note_write();
    return in.ops->put(&in, c, p, err);
}

static apr_status_t s_update(dcr_store *s, const dcr_client *c, const char *expect, apr_pool_t *p,
                             dcr_error *err)
{
    dcr_store in = inner();
    note_write();
    if (the_spy.vanish) {
        the_spy.vanish = false;
        in.ops->remove(&in, c->client_id, p, err);
    }
    return in.ops->update(&in, c, expect, p, err);
}

static apr_status_t s_get(dcr_store *s, const char *id, long long now, apr_pool_t *p,
                          dcr_client **out, dcr_error *err)
{
    dcr_store in = inner();
    return in.ops->get(&in, id, now, p, out, err);
}

static apr_status_t s_find(dcr_store *s, const char *key, long long now, apr_pool_t *p,
                           apr_array_header_t **clients, dcr_error *err)
{
    dcr_store in = inner();
    return in.ops->find_clients(&in, key, now, p, clients, err);
}

static apr_status_t s_count(dcr_store *s, long long now, long long *n, apr_pool_t *p,
                            dcr_error *err)
{
    dcr_store in = inner();
    return in.ops->count(&in, now, n, p, err);
}

static apr_status_t s_lock(dcr_store *s, const char *key, apr_pool_t *p, void **token,
                           dcr_error *err)
{
    the_spy.last_key = apr_pstrdup(pool, key);
    if (the_spy.lock_rv != APR_SUCCESS) {
        if (the_spy.lock_rv != APR_ENOTIMPL)
            dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                     "spy: lock refused");
        return the_spy.lock_rv;
    }
    ck_assert_int_eq(the_spy.held, 0); /* one lock per request, never nested */
    the_spy.held++;
    the_spy.taken++;
    *token = &the_spy;
    return APR_SUCCESS;
}

static void s_unlock(dcr_store *s, void *token)
{
    ck_assert_ptr_eq(token, &the_spy);
    the_spy.held--;
}

static void spy_setup(void)
{
    fixture_setup();
    memset(&the_spy, 0, sizeof(the_spy));
    the_spy.inner_ops = store->ops;
    the_spy.inner_ctx = store->ctx;
    spy_ops = *store->ops;
    spy_ops.put = s_put;
    spy_ops.update = s_update;
    spy_ops.get = s_get;
    spy_ops.find_clients = s_find;
    spy_ops.count = s_count;
    spy_ops.lock_subject = s_lock;
    spy_ops.unlock_subject = s_unlock;
    spy_store.ops = &spy_ops;
    spy_store.ctx = NULL;
    req.store = &spy_store;
    policy.max_registrations = 2; /* the global ceiling: every registration takes the lock */
}

#define BODY "{\"redirect_uris\":[\"https://app.example/cb\"]}"

START_TEST(global_ceiling_writes_under_the_lock_and_releases_it)
{
    dcr_response res;
    for (int i = 0; i < 2; i++) {
        post(BODY, &res);
        ck_assert_int_eq(res.status, 201);
        ck_assert_int_eq(the_spy.held, 0);
    }
    ck_assert_int_eq(the_spy.taken, 2);
    ck_assert_int_eq(the_spy.writes_locked, 2);
    ck_assert_int_eq(the_spy.writes_unlocked, 0);
    ck_assert_str_eq(the_spy.last_key, DCR_STORE_KEY_ALL);
    /* the refusal at the ceiling releases it too */
    json_t *j = post(BODY, &res);
    assert_error(j, &res, 429, "too_many_requests");
    ck_assert_int_eq(the_spy.taken, 3);
    ck_assert_int_eq(the_spy.held, 0);
    ck_assert_uint_eq(memstore_count(store), 2);
}
END_TEST

START_TEST(store_failure_under_the_lock_releases_it)
{
    dcr_response res;
    memstore_set_down(store, true);
    json_t *j = post(BODY, &res);
    assert_error(j, &res, 503, "temporarily_unavailable");
    ck_assert_int_eq(the_spy.taken, 1);
    ck_assert_int_eq(the_spy.held, 0);
}
END_TEST

START_TEST(lock_failure_is_503_and_stores_nothing)
{
    dcr_response res;
    the_spy.lock_rv = APR_EGENERAL;
    json_t *j = post(BODY, &res);
    assert_error(j, &res, 503, "temporarily_unavailable");
    ck_assert_int_eq(the_spy.writes_locked + the_spy.writes_unlocked, 0);
    ck_assert_uint_eq(memstore_count(store), 0);
}
END_TEST

START_TEST(a_store_that_cannot_lock_still_registers)
{
    dcr_response res;
    the_spy.lock_rv = APR_ENOTIMPL;
    post(BODY, &res);
    ck_assert_int_eq(res.status, 201);
    ck_assert_int_eq(the_spy.writes_unlocked, 1);
    ck_assert_uint_eq(memstore_count(store), 1);
}
END_TEST

START_TEST(no_ceiling_and_no_subject_takes_no_lock)
{
    dcr_response res;
    policy.max_registrations = 0;
    post(BODY, &res);
    ck_assert_int_eq(res.status, 201);
    ck_assert_int_eq(the_spy.taken, 0);
    ck_assert_ptr_null(the_spy.last_key);
}
END_TEST

/* ---- returning subjects: the lock orders first registrations only --------------------- */

static int serial;

/* A client of subject `who` about to be registered (as the registrar builds one). */
static dcr_client *incoming(const char *who)
{
    dcr_client *c = apr_pcalloc(pool, sizeof(*c));
    c->client_id = apr_psprintf(pool, "fresh-%d", ++serial);
    c->issued_at = NOW + serial;
    c->subject_kind = "spiffe";
    c->subject = who;
    c->issuer = "td";
    c->metadata = dcr_json_own(pool, json_pack("{s:s}", "software_id", "sw"));
    dcr_token_hash(apr_psprintf(pool, "token-%d", serial), c->rat_hash);
    /* each with a statement of its own, each later than the one before */
    c->endpoint = ENDPOINT;
    dcr_token_hash(apr_psprintf(pool, "statement-%d", serial), c->statement_hash);
    c->statement_iat = NOW + serial;
    return c;
}

static dcr_client *store_one(const char *who, dcr_client **existing)
{
    dcr_client *c = incoming(who);
    dcr_error err;
    ck_assert_msg(dcr_lifecycle_store(&req, c, existing, &err), "%s", err.detail);
    ck_assert_int_eq(the_spy.held, 0);
    return c;
}

START_TEST(first_registration_of_a_subject_is_written_under_its_lock)
{
    dcr_client *existing = (dcr_client *)1;
    policy.max_registrations = 0;
    dcr_client *c = store_one("spiffe://td/a", &existing);
    ck_assert_ptr_null(existing);
    ck_assert_int_eq(the_spy.taken, 1);
    ck_assert_str_eq(the_spy.last_key, dcr_client_subject_key(pool, c));
    ck_assert_int_eq(the_spy.writes_locked, 1);
    ck_assert_int_eq(the_spy.writes_unlocked, 0);
}
END_TEST

START_TEST(returning_subject_is_rewritten_without_the_lock)
{
    dcr_client *existing = NULL;
    policy.max_registrations = 0;
    dcr_client *first = store_one("spiffe://td/a", &existing);
    dcr_client *again = store_one("spiffe://td/a", &existing);
    ck_assert_ptr_nonnull(existing);
    ck_assert_str_eq(again->client_id, first->client_id); /* replace keeps the client_id */
    ck_assert_int_eq(the_spy.taken, 1);                   /* only the first one locked */
    ck_assert_int_eq(the_spy.writes_unlocked, 1);
    ck_assert_uint_eq(memstore_count(store), 1);
    /* the global ceiling does not stop it either: a returning subject never grows the store */
    policy.max_registrations = 1;
    store_one("spiffe://td/a", &existing);
    ck_assert_int_eq(the_spy.taken, 1);
    ck_assert_uint_eq(memstore_count(store), 1);
}
END_TEST

START_TEST(registration_deleted_meanwhile_is_registered_afresh_under_the_lock)
{
    dcr_client *existing = NULL;
    policy.max_registrations = 0;
    dcr_client *first = store_one("spiffe://td/a", &existing);
    const char *first_id = first->client_id;
    the_spy.vanish = true;
    dcr_client *again = store_one("spiffe://td/a", &existing);
    ck_assert_ptr_null(existing);                 /* a new registration ... */
    ck_assert_str_ne(again->client_id, first_id); /* ... under its own fresh client_id */
    ck_assert_str_eq(again->client_id, "fresh-2");
    ck_assert_int_eq(the_spy.taken, 2); /* decided under the lock */
    ck_assert_uint_eq(memstore_count(store), 1);
}
END_TEST

/* Issue 10: a copy of the statement that wrote a registration registers a client of its own
 * (under the lock, as a first registration) and leaves the original exactly as it was. */
START_TEST(copied_statement_registers_anew_and_leaves_the_original)
{
    dcr_client *existing = NULL, *got = NULL;
    dcr_error err;
    policy.max_registrations = 0;
    dcr_client *first = store_one("spiffe://td/a", &existing);
    const char *before = dcr_client_to_record(pool, first);
    dcr_client *copy = incoming("spiffe://td/a");
    memcpy(copy->statement_hash, first->statement_hash, sizeof(copy->statement_hash));
    copy->statement_iat = first->statement_iat;
    json_object_set_new(copy->metadata, "client_name", json_string("thief"));
    ck_assert_msg(dcr_lifecycle_store(&req, copy, &existing, &err), "%s", err.detail);
    ck_assert_ptr_null(existing);
    ck_assert_str_ne(copy->client_id, first->client_id);
    ck_assert_int_eq(the_spy.taken, 2);
    ck_assert_uint_eq(memstore_count(store), 2);
    ck_assert_int_eq(store->ops->get(store, first->client_id, NOW, pool, &got, &err), APR_SUCCESS);
    ck_assert_str_eq(dcr_client_to_record(pool, got), before);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("lifecycle_lock");
    TCase *tc = tcase_create("registrar");
    tcase_add_checked_fixture(tc, spy_setup, unit_teardown);
    tcase_add_test(tc, global_ceiling_writes_under_the_lock_and_releases_it);
    tcase_add_test(tc, store_failure_under_the_lock_releases_it);
    tcase_add_test(tc, lock_failure_is_503_and_stores_nothing);
    tcase_add_test(tc, a_store_that_cannot_lock_still_registers);
    tcase_add_test(tc, no_ceiling_and_no_subject_takes_no_lock);
    tcase_add_test(tc, first_registration_of_a_subject_is_written_under_its_lock);
    tcase_add_test(tc, returning_subject_is_rewritten_without_the_lock);
    tcase_add_test(tc, registration_deleted_meanwhile_is_registered_afresh_under_the_lock);
    tcase_add_test(tc, copied_statement_registers_anew_and_leaves_the_original);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
