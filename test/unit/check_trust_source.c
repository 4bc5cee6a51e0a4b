/* Trust sources, configuration and request side: URLs, seeds, the key set a request gets
 * (reference counted per process), unknown-kid refreshes with their rate limit and bounded
 * wait, and JWT-SVID / VC verification against keys that rotate without a new configuration.
 * The fetcher is played by dcr_trust_source_apply (tested in check_trust_refresh). */
#include "trust_kit.h"

#include "spiffe.h"
#include "statement.h"
#include "vc.h"

#include <apr_thread_proc.h>

START_TEST(interval_clamped)
{
    dcr_trust_limits l = {1, 10, 100};
    ck_assert_int_eq(dcr_trust_interval(&limits, -1), 300); /* nothing said: 5 minutes */
    ck_assert_int_eq(dcr_trust_interval(&limits, 5), 60);
    ck_assert_int_eq(dcr_trust_interval(&limits, 86400), 3600);
    ck_assert_int_eq(dcr_trust_interval(&limits, 120), 120);
    ck_assert_int_eq(dcr_trust_interval(&l, -1), 10);
    ck_assert_int_eq(dcr_trust_interval(&l, 0), 1);
}
END_TEST

START_TEST(url_must_be_https)
{
    const char *why = NULL;
    ck_assert_ptr_null(dcr_trust_source_create(pool, "x", DCR_TRUST_SPIFFE_BUNDLE,
                                               "http://spire.example.org/bundle", &fetch, &limits,
                                               &why));
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_null(dcr_trust_source_create(
        pool, "x", DCR_TRUST_TD_JWKS, "https://u:p@spire.example.org/keys", &fetch, &limits, &why));
}
END_TEST

START_TEST(seed_until_first_fetch)
{
    dcr_trust_source *s = source(DCR_TRUST_TD_JWKS, "https://oidc.corp.example/keys");
    const char *why = NULL;
    char *seed =
        dump(json_pack("{s:[o]}", "keys", mint_jwk(mint_key("P-256"), "seed", NULL, "ES256")));
    ck_assert(!dcr_trust_source_seed(s, "{}", 2, &why));
    ck_assert(dcr_trust_source_seed(s, seed, strlen(seed), &why));
    outage(s, NOW);
    ck_assert_ptr_nonnull(dcr_jwks_find(keys_at(s, NOW + 999999, &why), "seed"));
    /* a plain JWKS: max-age sets the interval */
    answer(s, NOW, "application/jwk-set+json",
           dump(json_pack("{s:[o]}", "keys", mint_jwk(mint_key("P-256"), "k1", NULL, "ES256"))),
           90);
    ck_assert_int_eq(dcr_trust_slot_get(&dcr_trust_slot_at(region, 0)->next_refresh), NOW + 90);
    ck_assert_ptr_null(dcr_jwks_find(keys_at(s, NOW, &why), "seed"));
    ck_assert_ptr_nonnull(dcr_jwks_find(keys_at(s, NOW, &why), "k1"));
}
END_TEST

/* ---- unknown kid ---------------------------------------------------------------------------*/

typedef struct fetcher {
    dcr_trust_source *src;
    const char *doc;
    int done;
} fetcher;

/* Plays the watchdog: waits for an unknown-kid request, then publishes doc. */
static void *APR_THREAD_FUNC fetcher_run(apr_thread_t *t, void *data)
{
    fetcher *f = data;
    dcr_trust_slot *slot = dcr_trust_source_slot(f->src);
    apr_pool_t *p;
    dcr_fetch_result r = {.http_status = 200, .content_type = "application/json", .max_age = -1};
    dcr_trust_report rep;
    int64_t asked;
    for (int i = 0; i < 200 && !dcr_trust_source_due(f->src, NOW); i++)
        apr_sleep(apr_time_from_msec(10));
    asked = dcr_trust_slot_get(&slot->kid_asked_ms);
    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    r.body = apr_pstrdup(p, f->doc);
    r.len = strlen(f->doc);
    apr_sleep(apr_time_from_msec(100)); /* a fetch takes a while */
    dcr_trust_source_apply(f->src, p, NOW, DCR_FETCH_OK, &r, NULL, &rep);
    dcr_trust_slot_set(&slot->kid_done_ms, asked);
    apr_pool_destroy(p);
    __atomic_store_n(&f->done, 1, __ATOMIC_SEQ_CST);
    /* never exits: GCC 12's ASan runtime reports a false stack overflow in sigaltstack when a
     * thread ends (as in check_global_mutex) */
    (void)t;
    for (;;)
        apr_sleep(apr_time_from_sec(60));
    return NULL;
}

START_TEST(unknown_kid_refresh_rate_limited)
{
    dcr_trust_source *s = source(DCR_TRUST_SPIFFE_BUNDLE, URL);
    dcr_trust_slot *slot = dcr_trust_source_slot(s);
    EVP_PKEY *k2 = mint_new_key("P-256");
    fetcher f = {s, bundle(2, 3600, k2, "k2"), 0};
    apr_thread_t *t;
    apr_time_t t0;
    const char *why = NULL;

    answer(s, NOW, "application/json", bundle(1, 3600, mint_key("P-256"), "k1"), -1);
    ck_assert(!dcr_trust_source_due(s, NOW + 1));
    apr_thread_create(&t, NULL, fetcher_run, &f, pool);
    t0 = apr_time_now();
    ck_assert(dcr_trust_source_kid_miss(s)); /* waited for the refresh */
    ck_assert_int_lt(apr_time_now() - t0, apr_time_from_msec(DCR_TRUST_KID_WAIT_MS));
    while (!__atomic_load_n(&f.done, __ATOMIC_SEQ_CST))
        apr_sleep(apr_time_from_msec(10));
    ck_assert_ptr_nonnull(dcr_jwks_find(keys_at(s, NOW, &why), "k2"));

    /* another random kid within 30 s: refused at once, no refresh asked */
    t0 = apr_time_now();
    ck_assert(!dcr_trust_source_kid_miss(s));
    ck_assert_int_lt(apr_time_now() - t0, apr_time_from_msec(50));
    ck_assert(!dcr_trust_source_due(s, NOW + 1));
    /* after 30 s a new one may ask; with no fetcher it waits at most the bound */
    dcr_trust_slot_set(&slot->kid_asked_ms,
                       dcr_trust_slot_get(&slot->kid_asked_ms) - DCR_TRUST_KID_EVERY_MS);
    t0 = apr_time_now();
    ck_assert(!dcr_trust_source_kid_miss(s));
    ck_assert_int_ge(apr_time_now() - t0, apr_time_from_msec(DCR_TRUST_KID_WAIT_MS - 50));
    ck_assert_int_lt(apr_time_now() - t0, apr_time_from_msec(DCR_TRUST_KID_WAIT_MS + 500));
    ck_assert(dcr_trust_source_due(s, NOW + 1)); /* asked: the fetcher would pick it up */
    EVP_PKEY_free(k2);
}
END_TEST

/* ---- the profiles on a remote source -------------------------------------------------------*/

static char *svid(EVP_PKEY *key, const char *kid)
{
    json_t *h = json_pack("{s:s,s:s,s:s}", "alg", "ES256", "typ", "JWT", "kid", kid);
    json_t *c =
        json_pack("{s:s,s:[s],s:I,s:I}", "sub", "spiffe://example.org/ns/prod/billing", "aud", AUD,
                  "exp", (json_int_t)(NOW + 300), "iat", (json_int_t)(NOW - 10));
    return mint_jwt(pool, key, "ES256", dump(h), dump(c));
}

START_TEST(svid_against_remote_source)
{
    dcr_trust_source *s;
    dcr_spiffe_trust *trust = dcr_spiffe_trust_create(pool);
    dcr_policy policy;
    dcr_statement_ctx ctx = {0};
    dcr_identity id;
    dcr_error err = {0};
    const char *why = NULL;
    char *jwt;

    limits.max_stale = 100;
    s = source(DCR_TRUST_SPIFFE_BUNDLE, URL);
    dcr_policy_defaults(pool, &policy);
    policy.audiences = dcr_words(pool, AUD);
    ck_assert(dcr_spiffe_trust_add_remote(trust, "example.org", s, NULL, &why));
    ck_assert(dcr_spiffe_trust_has(trust, "example.org"));
    ck_assert_ptr_null(dcr_spiffe_trust_bundle(trust, "example.org"));
    policy.spiffe = trust;
    ctx.pool = pool;
    ctx.now = NOW;
    ctx.policy = &policy;
    jwt = svid(mint_key("P-256"), "k1");

    /* never fetched: unapproved (fail closed), the detail says why */
    ck_assert(!dcr_spiffe_verify_statement(&ctx, jwt, strlen(jwt), &id, &err));
    ck_assert_int_eq(err.code, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT);
    ck_assert_ptr_nonnull(strstr(err.detail, "first fetch"));

    answer(s, NOW, "application/json", bundle(1, 60, mint_key("P-256"), "k1"), -1);
    dcr_error_clear(&err);
    ck_assert_msg(dcr_spiffe_verify_statement(&ctx, jwt, strlen(jwt), &id, &err), "%s", err.detail);
    /* an unknown kid with nobody fetching: invalid, after at most the wait bound */
    jwt = svid(mint_key("P-256"), "nope");
    dcr_error_clear(&err);
    ck_assert(!dcr_spiffe_verify_statement(&ctx, jwt, strlen(jwt), &id, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* stale past the limit: unapproved */
    ctx.now = NOW + 101;
    jwt = svid(mint_key("P-256"), "k1");
    dcr_error_clear(&err);
    ck_assert(!dcr_spiffe_verify_statement(&ctx, jwt, strlen(jwt), &id, &err));
    ck_assert_int_eq(err.code, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT);
    ck_assert_ptr_nonnull(strstr(err.detail, "stale"));
}
END_TEST

START_TEST(vc_against_remote_jwks)
{
    dcr_trust_source *s = source(DCR_TRUST_VC_JWKS, "https://issuer.example.org/jwks");
    dcr_vc_issuer iss = {
        .id = "https://issuer.example.org", .source = DCR_VC_KEYS_JWKS, .remote = s};
    EVP_PKEY *k2 = mint_new_key("P-256");
    dcr_error err = {0};
    dcr_jws jws;
    char *jwt = mint_jwt(pool, k2, "ES256", "{\"alg\":\"ES256\",\"kid\":\"vc2\"}",
                         "{\"iss\":\"https://issuer.example.org\"}");
    ck_assert(dcr_jws_parse(pool, jwt, strlen(jwt), dcr_jws_algs_vc, &jws, &err));
    ck_assert(!dcr_vc_verify_signature(pool, &iss, &jws, NOW, &err));
    ck_assert_int_eq(err.code, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT);
    answer(s, NOW, "application/json",
           dump(json_pack("{s:[o]}", "keys", mint_jwk(mint_key("P-256"), "vc1", NULL, "ES256"))),
           -1);
    dcr_error_clear(&err);
    ck_assert(!dcr_vc_verify_signature(pool, &iss, &jws, NOW, &err)); /* vc2 not there yet */
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    answer(s, NOW + 60, "application/json",
           dump(json_pack("{s:[o]}", "keys", mint_jwk(k2, "vc2", NULL, "ES256"))), -1);
    dcr_error_clear(&err);
    ck_assert_msg(dcr_vc_verify_signature(pool, &iss, &jws, NOW + 60, &err), "%s", err.detail);
    EVP_PKEY_free(k2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trust_source");
    TCase *tc = unit_tcase("trust_source");
    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, interval_clamped);
    tcase_add_test(tc, url_must_be_https);
    tcase_add_test(tc, seed_until_first_fetch);
    tcase_add_test(tc, unknown_kid_refresh_rate_limited);
    tcase_add_test(tc, svid_against_remote_source);
    tcase_add_test(tc, vc_against_remote_jwks);
    suite_add_tcase(s, tc);
    return unit_run(s, CK_FORK_GETENV);
}
