/* Shared slots: keyed by source and fetch configuration (kept across a graceful restart,
 * fresh when changed), the sequence lock (a writer that died mid-write), and memory shared with
 * another process as between httpd children. */
#include "trust_kit.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

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

int main(void)
{
    Suite *s = suite_create("trust_slot");
    TCase *tc = unit_tcase("trust_slot");
    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, slots_keyed_by_source_and_fetch_config);
    tcase_add_test(tc, writer_died_mid_write);
    tcase_add_test(tc, slot_shared_across_processes);
    suite_add_tcase(s, tc);
    return unit_run(s, CK_FORK_GETENV);
}
