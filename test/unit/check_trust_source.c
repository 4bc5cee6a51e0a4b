/* Remote trust sources: slots shared between processes, the refresh rules (interval, sequence,
 * validation, last good set kept, stale limit), unknown-kid refreshes, and JWT-SVID / VC
 * verification against keys that rotate without a new configuration. The fetcher is played by
 * dcr_trust_source_apply with answers built here (the HTTPS path is the integration suite's). */
#include "trust_source.h"

#include "json.h"
#include "jwt_mint.h"
#include "spiffe.h"
#include "statement.h"
#include "unit.h"
#include "vc.h"

#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW 1800000000LL
#define URL "https://spire.example.org:8443/bundle"
#define AUD "https://as.example.com/register"

static void *region; /* two slots */
static dcr_trust_limits limits;
static dcr_fetch_conf fetch;

static void setup(void)
{
    region = calloc(1, dcr_trust_slots_size(2));
    dcr_trust_limits_defaults(&limits);
    dcr_fetch_defaults(&fetch);
}

static void teardown(void)
{
    free(region);
}

static char *dump(json_t *j)
{
    char *s = dcr_json_dump(pool, j);
    json_decref(j);
    return s;
}

/* A SPIFFE bundle with one JWT key per kid given, all P-256 keys from mint_key / k2. */
static char *bundle(long long sequence, long long hint, EVP_PKEY *key, const char *kid)
{
    json_t *doc = json_pack("{s:[o]}", "keys", mint_jwk(key, kid, "jwt-svid", NULL));
    if (sequence >= 0)
        json_object_set_new(doc, "spiffe_sequence", json_integer(sequence));
    if (hint >= 0)
        json_object_set_new(doc, "spiffe_refresh_hint", json_integer(hint));
    return dump(doc);
}

static dcr_trust_source *source(dcr_trust_kind kind, const char *url)
{
    const char *why = NULL;
    dcr_trust_source *s =
        dcr_trust_source_create(pool, "trust domain example.org", kind, url, &fetch, &limits, &why);
    ck_assert_msg(s != NULL, "%s", why);
    ck_assert_int_ge(dcr_trust_slot_claim(region, 2, dcr_trust_source_key(s), url, 1), 0);
    dcr_trust_source_attach(s, dcr_trust_slot_at(region, 0));
    return s;
}

static dcr_trust_report answer(dcr_trust_source *s, long long now, const char *ctype,
                               const char *body, long long max_age)
{
    dcr_fetch_result r = {.http_status = 200, .content_type = ctype, .max_age = max_age};
    dcr_trust_report rep;
    r.body = apr_pstrdup(pool, body);
    r.len = strlen(body);
    dcr_trust_source_apply(s, pool, now, DCR_FETCH_OK, &r, NULL, &rep);
    return rep;
}

static dcr_trust_report outage(dcr_trust_source *s, long long now)
{
    dcr_fetch_result r = {0};
    dcr_trust_report rep;
    dcr_trust_source_apply(s, pool, now, DCR_FETCH_FAILED, &r, "connection refused", &rep);
    return rep;
}

static const dcr_jwks *keys_at(dcr_trust_source *s, long long now, const char **why)
{
    return dcr_trust_source_keys(s, pool, now, why);
}

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

/* Same source and fetch configuration: same slot, document kept (graceful restart); another
 * URL or another CA file: a fresh slot; slots nobody claims are freed. */
START_TEST(slots_keyed_by_source_and_fetch_config)
{
    dcr_trust_source *a = source(DCR_TRUST_SPIFFE_BUNDLE, URL), *b, *c;
    const char *why = NULL;
    answer(a, NOW, "application/json", bundle(1, 60, mint_key("P-256"), "k1"), -1);
    ck_assert_uint_gt(dcr_trust_slot_version(dcr_trust_slot_at(region, 0)), 0);

    b = dcr_trust_source_create(pool, "td", DCR_TRUST_SPIFFE_BUNDLE, URL, &fetch, &limits, &why);
    ck_assert_str_eq(dcr_trust_source_key(a), dcr_trust_source_key(b));
    ck_assert_int_eq(dcr_trust_slot_claim(region, 2, dcr_trust_source_key(b), URL, 2), 0);
    dcr_trust_slot_release_unclaimed(region, 2, 2);
    dcr_trust_source_attach(b, dcr_trust_slot_at(region, 0));
    ck_assert_ptr_nonnull(keys_at(b, NOW, &why));

    fetch.ca_file = "/etc/other-ca.pem";
    c = dcr_trust_source_create(pool, "td", DCR_TRUST_SPIFFE_BUNDLE, URL, &fetch, &limits, &why);
    ck_assert_str_ne(dcr_trust_source_key(a), dcr_trust_source_key(c));
    c = dcr_trust_source_create(pool, "td", DCR_TRUST_TD_JWKS, URL, &fetch, &limits, &why);
    ck_assert_str_ne(dcr_trust_source_key(a), dcr_trust_source_key(c));
    ck_assert_int_eq(dcr_trust_slot_claim(region, 2, dcr_trust_source_key(c), URL, 3), 1);
    ck_assert_uint_eq(dcr_trust_slot_version(dcr_trust_slot_at(region, 1)), 0);
    ck_assert_int_eq(dcr_trust_slot_claim(region, 2, "ffff", URL, 3), -1); /* full */
    dcr_trust_slot_release_unclaimed(region, 2, 3);                        /* a's slot freed */
    ck_assert_str_eq(dcr_trust_slot_at(region, 0)->key, "");
    ck_assert_uint_eq(dcr_trust_slot_version(dcr_trust_slot_at(region, 0)), 0);
}
END_TEST

START_TEST(rotation_published_and_picked_up)
{
    dcr_trust_source *s = source(DCR_TRUST_SPIFFE_BUNDLE, URL);
    EVP_PKEY *k2 = mint_new_key("P-256");
    const dcr_jwks *ks;
    const char *why = NULL;
    dcr_trust_report rep;

    ck_assert_ptr_null(keys_at(s, NOW, &why)); /* never fetched, no seed: refused, says why */
    ck_assert_ptr_nonnull(strstr(why, "first fetch"));
    rep = answer(s, NOW, "application/json", bundle(1, 120, mint_key("P-256"), "k1"), -1);
    ck_assert(rep.changed && !rep.failed);
    ck_assert_int_eq(dcr_trust_slot_get(&dcr_trust_slot_at(region, 0)->next_refresh), NOW + 120);
    ks = keys_at(s, NOW, &why);
    ck_assert_ptr_nonnull(dcr_jwks_find(ks, "k1"));
    ck_assert_ptr_null(dcr_jwks_find(ks, "k2"));
    ck_assert(!dcr_trust_source_due(s, NOW + 119));
    ck_assert(dcr_trust_source_due(s, NOW + 120));

    rep = answer(s, NOW + 120, "application/json", bundle(1, 120, mint_key("P-256"), "k1"), -1);
    ck_assert(!rep.changed); /* confirmed: nothing to log */
    rep = answer(s, NOW + 240, "application/json; charset=utf-8", bundle(2, 120, k2, "k2"), -1);
    ck_assert(rep.changed && !rep.failed);
    ks = keys_at(s, NOW + 240, &why);
    ck_assert_ptr_nonnull(dcr_jwks_find(ks, "k2"));
    ck_assert_ptr_null(dcr_jwks_find(ks, "k1")); /* removed key: revoked */
    EVP_PKEY_free(k2);
}
END_TEST

START_TEST(older_sequence_and_bad_answers_keep_last_good)
{
    dcr_trust_source *s = source(DCR_TRUST_SPIFFE_BUNDLE, URL);
    dcr_trust_slot *slot = dcr_trust_slot_at(region, 0);
    EVP_PKEY *k2 = mint_new_key("P-256");
    const char *why = NULL;
    char *big;
    dcr_trust_report rep;
    uint64_t v;

    answer(s, NOW, "application/json", bundle(5, 60, mint_key("P-256"), "k1"), -1);
    v = dcr_trust_slot_version(slot);
    rep = answer(s, NOW + 60, "application/json", bundle(4, 60, k2, "k2"), -1);
    ck_assert(rep.failed && rep.changed);
    ck_assert_int_eq(slot->result, DCR_TRUST_OLDER);
    rep = answer(s, NOW + 120, "text/html", bundle(6, 60, k2, "k2"), -1);
    ck_assert_int_eq(slot->result, DCR_TRUST_REJECTED);
    ck_assert_ptr_nonnull(strstr(rep.msg, "content type"));
    answer(s, NOW + 180, NULL, bundle(6, 60, k2, "k2"), -1);
    ck_assert_int_eq(slot->result, DCR_TRUST_REJECTED);
    answer(s, NOW + 240, "application/json", "{\"keys\": 42}", -1);
    ck_assert_int_eq(slot->result, DCR_TRUST_REJECTED);
    answer(s, NOW + 300, "application/json", "not json", -1);
    ck_assert_int_eq(slot->result, DCR_TRUST_REJECTED);
    big = apr_pcalloc(pool, DCR_TRUST_SLOT_DOC_MAX + 64);
    memset(big, ' ', DCR_TRUST_SLOT_DOC_MAX + 32);
    memcpy(big, "{\"keys\":[]}", 11);
    rep = answer(s, NOW + 360, "application/json", big, -1);
    ck_assert_int_eq(slot->result, DCR_TRUST_REJECTED);
    ck_assert_ptr_nonnull(strstr(rep.msg, "cap"));
    /* every one of those left the first set in force */
    ck_assert_uint_eq(dcr_trust_slot_version(slot), v);
    ck_assert_int_eq(dcr_trust_slot_get(&slot->good_at), NOW);
    ck_assert_ptr_nonnull(dcr_jwks_find(keys_at(s, NOW + 360, &why), "k1"));
    ck_assert_ptr_null(dcr_jwks_find(keys_at(s, NOW + 360, &why), "k2"));
    EVP_PKEY_free(k2);
}
END_TEST

/* Last good keys through an outage up to DCRTrustMaxStale, then fail closed; a failure is
 * reported as a change once, not on every attempt. */
START_TEST(outage_then_stale)
{
    dcr_trust_source *s;
    const char *why = NULL;
    dcr_trust_report rep;
    limits.max_stale = 600;
    s = source(DCR_TRUST_SPIFFE_BUNDLE, URL);
    answer(s, NOW, "application/json", bundle(1, 60, mint_key("P-256"), "k1"), -1);
    rep = outage(s, NOW + 60);
    ck_assert(rep.changed && rep.failed);
    ck_assert_ptr_nonnull(strstr(rep.msg, "stays in force"));
    rep = outage(s, NOW + 120);
    ck_assert(!rep.changed);
    { /* the same failure with other timings is no change either; another one is */
        dcr_fetch_result r = {0};
        dcr_trust_source_apply(s, pool, NOW + 130, DCR_FETCH_FAILED, &r,
                               "connection refused after 12 ms", &rep);
        dcr_trust_source_apply(s, pool, NOW + 140, DCR_FETCH_FAILED, &r,
                               "connection refused after 3 ms", &rep);
        ck_assert(!rep.changed);
        dcr_trust_source_apply(s, pool, NOW + 150, DCR_FETCH_FAILED, &r, "HTTP 500", &rep);
        ck_assert(rep.changed);
        dcr_trust_source_apply(s, pool, NOW + 160, DCR_FETCH_FAILED, &r, "connection refused",
                               &rep);
    }
    ck_assert_ptr_nonnull(keys_at(s, NOW + 600, &why));
    ck_assert_ptr_null(keys_at(s, NOW + 601, &why));
    ck_assert_ptr_nonnull(strstr(why, "stale"));
    ck_assert_ptr_nonnull(strstr(why, "connection refused"));
    rep = answer(s, NOW + 700, "application/json", bundle(1, 60, mint_key("P-256"), "k1"), -1);
    ck_assert(rep.changed && !rep.failed); /* back: logged once */
    ck_assert_ptr_nonnull(keys_at(s, NOW + 700, &why));
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

/* A VC issuer's JWKS must hold a signing key, like its file. */
START_TEST(vc_jwks_rules)
{
    dcr_trust_source *s = source(DCR_TRUST_VC_JWKS, "https://issuer.example.org/jwks");
    const char *why = NULL;
    answer(s, NOW, "application/json", "{\"keys\":[]}", -1);
    ck_assert_int_eq(dcr_trust_slot_at(region, 0)->result, DCR_TRUST_REJECTED);
    ck_assert_ptr_null(keys_at(s, NOW, &why));
}
END_TEST

/* A fetcher that died while writing leaves the version odd: readers see nothing stable (the
 * last parsed set stays), and the next writer publishes cleanly. */
START_TEST(writer_died_mid_write)
{
    dcr_trust_slot *slot = dcr_trust_slot_at(region, 0);
    char *doc;
    size_t len;
    long long seq;
    uint64_t v;
    ck_assert_int_eq(dcr_trust_slot_claim(region, 2, "k", URL, 1), 0);
    dcr_trust_slot_publish(slot, "{\"keys\":[]}", 11, 1, 0);
    ck_assert(dcr_trust_slot_read(slot, pool, &doc, &len, &seq, &v));
    ck_assert_str_eq(doc, "{\"keys\":[]}");
    slot->version++; /* odd, as if killed */
    ck_assert(!dcr_trust_slot_read(slot, pool, &doc, &len, &seq, &v));
    dcr_trust_slot_publish(slot, "{\"keys\":[1]}", 12, 2, 0);
    ck_assert(dcr_trust_slot_read(slot, pool, &doc, &len, &seq, &v));
    ck_assert_uint_eq(v % 2, 0);
    ck_assert_int_eq(seq, 2);
    ck_assert_str_eq(doc, "{\"keys\":[1]}");
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

/* The slot lives in memory shared with a forked process, as between httpd children: what one
 * publishes, the other reads. */
START_TEST(slot_shared_across_processes)
{
    void *shm = mmap(NULL, dcr_trust_slots_size(1), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    dcr_trust_slot *slot;
    const char *why = NULL;
    dcr_trust_source *s =
        dcr_trust_source_create(pool, "td", DCR_TRUST_SPIFFE_BUNDLE, URL, &fetch, &limits, &why);
    char *doc = bundle(3, 60, mint_key("P-256"), "forked");
    pid_t pid;
    int status;

    ck_assert(shm != MAP_FAILED);
    memset(shm, 0, dcr_trust_slots_size(1));
    ck_assert_int_eq(dcr_trust_slot_claim(shm, 1, dcr_trust_source_key(s), URL, 1), 0);
    slot = dcr_trust_slot_at(shm, 0);
    dcr_trust_source_attach(s, slot);
    pid = fork();
    if (pid == 0) {
        dcr_fetch_result r = {
            .http_status = 200, .content_type = "application/json", .max_age = -1};
        dcr_trust_report rep;
        r.body = doc;
        r.len = strlen(doc);
        dcr_trust_source_apply(s, pool, NOW, DCR_FETCH_OK, &r, NULL, &rep);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    ck_assert_ptr_nonnull(dcr_jwks_find(keys_at(s, NOW, &why), "forked"));
    ck_assert_int_eq(slot->sequence, 3);
    munmap(shm, dcr_trust_slots_size(1));
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
    tcase_add_test(tc, slots_keyed_by_source_and_fetch_config);
    tcase_add_test(tc, rotation_published_and_picked_up);
    tcase_add_test(tc, older_sequence_and_bad_answers_keep_last_good);
    tcase_add_test(tc, outage_then_stale);
    tcase_add_test(tc, seed_until_first_fetch);
    tcase_add_test(tc, vc_jwks_rules);
    tcase_add_test(tc, writer_died_mid_write);
    tcase_add_test(tc, unknown_kid_refresh_rate_limited);
    tcase_add_test(tc, slot_shared_across_processes);
    tcase_add_test(tc, svid_against_remote_source);
    tcase_add_test(tc, vc_against_remote_jwks);
    suite_add_tcase(s, tc);
    return unit_run(s, CK_FORK_GETENV);
}
