/* The fetcher side of trust sources: what an answer does to the published key set (new set,
 * confirmation, older spiffe_sequence, content type, size cap, malformed documents, outages up
 * to the stale limit) and which attempts are a change of state worth logging. */
#include "trust_kit.h"

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

/* A JSON document source (DCRMetadataDocument https://...): the owner's check decides, an
 * answer it refuses leaves the last good document served, outages up to the stale limit. */
static bool issuer_is(void *ctx, apr_pool_t *p, const char *buf, size_t len, const char **why)
{
    json_t *j = dcr_json_parse(p, buf, len, DCR_JSON_MAX_DEPTH, why);
    const char *iss = j ? dcr_json_string(j, "issuer") : NULL;
    if (!iss || strcmp(iss, ctx) != 0) {
        *why = "wrong issuer";
        return false;
    }
    return true;
}

START_TEST(document_source)
{
    dcr_trust_source *s = source(DCR_TRUST_DOCUMENT, "https://as.example.org/.well-known/x");
    dcr_trust_slot *slot = dcr_trust_slot_at(region, 0);
    const char *why = NULL, *doc;
    size_t len = 0;
    dcr_trust_report rep;

    ck_assert_int_eq(dcr_trust_source_kind(s), DCR_TRUST_DOCUMENT);
    /* no check set: nothing passes */
    answer(s, NOW, "application/json", "{\"issuer\":\"https://as\"}", -1);
    ck_assert_int_eq(slot->result, DCR_TRUST_REJECTED);
    dcr_trust_source_set_check(s, issuer_is, "https://as", "https://as");
    ck_assert_ptr_null(dcr_trust_source_doc(s, pool, NOW, &len, &why));
    ck_assert_ptr_nonnull(strstr(why, "first fetch"));
    rep = answer(s, NOW, "application/json", "{\"issuer\":\"https://as\",\"v\":1}", 120);
    ck_assert(!rep.failed && rep.changed);
    ck_assert_ptr_nonnull(strstr(rep.msg, "new document"));
    ck_assert_int_eq(dcr_trust_slot_get(&slot->next_refresh), NOW + 120); /* max-age */
    doc = dcr_trust_source_doc(s, pool, NOW, &len, &why);
    ck_assert_str_eq(doc, "{\"issuer\":\"https://as\",\"v\":1}");
    ck_assert_uint_eq(len, strlen(doc));

    rep = answer(s, NOW + 120, "application/json", "{\"issuer\":\"https://evil\",\"v\":2}", -1);
    ck_assert(rep.failed);
    ck_assert_ptr_nonnull(strstr(rep.msg, "wrong issuer"));
    ck_assert_ptr_nonnull(strstr(rep.msg, "last good document"));
    ck_assert_str_eq(dcr_trust_source_doc(s, pool, NOW + 120, &len, &why),
                     "{\"issuer\":\"https://as\",\"v\":1}");
    answer(s, NOW + 240, "application/json", "{\"issuer\":\"https://as\",\"v\":3}", -1);
    ck_assert_str_eq(dcr_trust_source_doc(s, pool, NOW + 240, &len, &why),
                     "{\"issuer\":\"https://as\",\"v\":3}");
    outage(s, NOW + 300);
    ck_assert_ptr_nonnull(dcr_trust_source_doc(s, pool, NOW + 240 + limits.max_stale, &len, &why));
    ck_assert_ptr_null(dcr_trust_source_doc(s, pool, NOW + 241 + limits.max_stale, &len, &why));
    ck_assert_ptr_nonnull(strstr(why, "stale"));
}
END_TEST

/* The check's id is part of the slot key: another issuer, another slot (a graceful restart that
 * changes it does not keep a document it would refuse). */
START_TEST(document_key_includes_check)
{
    const char *why = NULL, *u = "https://as.example.org/.well-known/x";
    dcr_trust_source *a =
        dcr_trust_source_create(pool, "a", DCR_TRUST_DOCUMENT, u, &fetch, &limits, &why);
    dcr_trust_source *b =
        dcr_trust_source_create(pool, "b", DCR_TRUST_DOCUMENT, u, &fetch, &limits, &why);
    dcr_trust_source *c =
        dcr_trust_source_create(pool, "c", DCR_TRUST_DOCUMENT, u, &fetch, &limits, &why);
    ck_assert_str_eq(dcr_trust_source_key(a), dcr_trust_source_key(b));
    dcr_trust_source_set_check(a, issuer_is, "https://one", "https://one");
    dcr_trust_source_set_check(b, issuer_is, "https://two", "https://two");
    dcr_trust_source_set_check(c, issuer_is, "https://one", "https://one");
    ck_assert_str_ne(dcr_trust_source_key(a), dcr_trust_source_key(b));
    ck_assert_str_eq(dcr_trust_source_key(a), dcr_trust_source_key(c));
    ck_assert_uint_eq(strlen(dcr_trust_source_key(a)), DCR_TRUST_SLOT_KEY_LEN);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trust_refresh");
    TCase *tc = unit_tcase("trust_refresh");
    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, rotation_published_and_picked_up);
    tcase_add_test(tc, older_sequence_and_bad_answers_keep_last_good);
    tcase_add_test(tc, outage_then_stale);
    tcase_add_test(tc, vc_jwks_rules);
    tcase_add_test(tc, document_source);
    tcase_add_test(tc, document_key_includes_check);
    suite_add_tcase(s, tc);
    return unit_run(s, CK_FORK_GETENV);
}
