/* Returning subjects (DCRReregister) and the registration ceilings. */
#include "registrar_fixture.h"
#include "registrar_int.h"

static int serial;

/* A client of subject `who` with software_id `sw` (NULL: none), stored when `stored`. */
static dcr_client *client_of(const char *who, const char *sw, bool stored)
{
    dcr_client *c = apr_pcalloc(pool, sizeof(*c));
    dcr_error err;
    c->client_id = apr_psprintf(pool, "client-%d", ++serial);
    c->issued_at = NOW;
    c->subject_kind = "spiffe";
    c->subject = who;
    c->issuer = "td";
    c->metadata = dcr_json_own(pool, json_object());
    if (sw)
        json_object_set_new(c->metadata, "software_id", json_string(sw));
    /* written by a statement of its own, each later than the one before */
    c->endpoint = ENDPOINT;
    dcr_token_hash(c->client_id, c->statement_hash);
    c->statement_iat = NOW + serial;
    if (stored)
        ck_assert_int_eq(store->ops->put(store, c, pool, &err), APR_SUCCESS);
    return c;
}

START_TEST(first_registration_is_new)
{
    dcr_client *existing = (dcr_client *)1;
    dcr_error err;
    ck_assert(dcr_lifecycle_admit(&req, client_of("spiffe://td/a", "sw", false), &existing, &err));
    ck_assert_ptr_null(existing);
}
END_TEST

START_TEST(same_subject_and_software_is_found)
{
    dcr_client *old = client_of("spiffe://td/a", "sw", true), *existing = NULL;
    dcr_error err;
    client_of("spiffe://td/b", "sw", true);
    ck_assert(dcr_lifecycle_admit(&req, client_of("spiffe://td/a", "sw", false), &existing, &err));
    ck_assert_ptr_nonnull(existing);
    ck_assert_str_eq(existing->client_id, old->client_id);
}
END_TEST

/* Issue 10: only a newer statement, never seen on the client, at the endpoint the client is
 * bound to may rewrite it; under replace and reuse alike. */
START_TEST(copied_older_or_foreign_statements_find_no_client_to_rewrite)
{
    for (int mode = 0; mode < 2; mode++) {
        policy.reregister = mode ? DCR_REREGISTER_REUSE : DCR_REREGISTER_REPLACE;
        const char *who = mode ? "spiffe://td/reuse" : "spiffe://td/replace";
        dcr_client *old = client_of(who, "sw", true), *existing = (dcr_client *)1, *in;
        dcr_error err;
        in = client_of(who, "sw", false); /* a copy of old's statement */
        memcpy(in->statement_hash, old->statement_hash, sizeof(in->statement_hash));
        in->statement_iat = old->statement_iat;
        ck_assert(dcr_lifecycle_admit(&req, in, &existing, &err));
        ck_assert_ptr_null(existing);
        in = client_of(who, "sw", false); /* another statement, issued earlier */
        in->statement_iat = old->statement_iat - 1;
        ck_assert(dcr_lifecycle_admit(&req, in, &existing, &err));
        ck_assert_ptr_null(existing);
        in = client_of(who, "sw", false); /* newer, but sent to another endpoint */
        in->endpoint = "https://other.example/register";
        ck_assert(dcr_lifecycle_admit(&req, in, &existing, &err));
        ck_assert_ptr_null(existing);
        in = client_of(who, "sw", false); /* a version 1 record has nothing to compare with */
        old->statement_hash[0] = '\0';
        ck_assert_int_eq(store->ops->update(store, old, NULL, pool, &err), APR_SUCCESS);
        ck_assert(dcr_lifecycle_admit(&req, in, &existing, &err));
        ck_assert_ptr_null(existing);
    }
}
END_TEST

START_TEST(other_software_is_not_the_same_client)
{
    dcr_client *existing = NULL;
    dcr_error err;
    client_of("spiffe://td/a", "sw1", true);
    client_of("spiffe://td/a", NULL, true);
    ck_assert(dcr_lifecycle_admit(&req, client_of("spiffe://td/a", "sw2", false), &existing, &err));
    ck_assert_ptr_null(existing);
}
END_TEST

START_TEST(policy_new_never_matches)
{
    dcr_client *existing = NULL;
    dcr_error err;
    policy.reregister = DCR_REREGISTER_NEW;
    client_of("spiffe://td/a", "sw", true);
    ck_assert(dcr_lifecycle_admit(&req, client_of("spiffe://td/a", "sw", false), &existing, &err));
    ck_assert_ptr_null(existing);
}
END_TEST

START_TEST(per_subject_ceiling)
{
    dcr_client *existing = NULL;
    dcr_error err;
    policy.reregister = DCR_REREGISTER_NEW;
    policy.max_per_subject = 2;
    client_of("spiffe://td/a", "sw", true);
    ck_assert(dcr_lifecycle_admit(&req, client_of("spiffe://td/a", "sw", false), &existing, &err));
    client_of("spiffe://td/a", "sw", true);
    ck_assert(!dcr_lifecycle_admit(&req, client_of("spiffe://td/a", "sw", false), &existing, &err));
    ck_assert_int_eq(err.code, DCR_ERR_TOO_MANY_REQUESTS);
    ck_assert_int_eq(err.status, 429);
    /* another subject is not held back */
    ck_assert(dcr_lifecycle_admit(&req, client_of("spiffe://td/b", "sw", false), &existing, &err));
}
END_TEST

START_TEST(global_ceiling_spares_returning_subjects)
{
    dcr_client *existing = NULL;
    dcr_error err;
    policy.max_registrations = 2;
    client_of("spiffe://td/a", "sw", true);
    client_of("spiffe://td/b", "sw", true);
    ck_assert(!dcr_lifecycle_admit(&req, client_of("spiffe://td/c", "sw", false), &existing, &err));
    ck_assert_int_eq(err.code, DCR_ERR_TOO_MANY_REQUESTS);
    ck_assert(dcr_lifecycle_admit(&req, client_of("spiffe://td/a", "sw", false), &existing, &err));
    ck_assert_ptr_nonnull(existing);
}
END_TEST

START_TEST(ceiling_through_register_is_429_with_retry_after)
{
    dcr_response res;
    json_t *j;
    policy.max_registrations = 1;
    post("{\"redirect_uris\":[\"https://app.example/cb\"]}", &res);
    ck_assert_int_eq(res.status, 201);
    j = post("{\"redirect_uris\":[\"https://app.example/cb\"]}", &res);
    assert_error(j, &res, 429, "too_many_requests");
    ck_assert_int_eq(res.retry_after, 60);
    ck_assert_uint_eq(memstore_count(store), 1);
}
END_TEST

START_TEST(store_errors_propagate)
{
    dcr_client *existing = NULL;
    dcr_error err;
    memstore_set_down(store, true);
    ck_assert(!dcr_lifecycle_admit(&req, client_of("spiffe://td/a", "sw", false), &existing, &err));
    ck_assert_int_eq(err.code, DCR_ERR_TEMPORARILY_UNAVAILABLE);
}
END_TEST

static Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = fixture_tcase("lifecycle");
    tcase_add_test(tc, first_registration_is_new);
    tcase_add_test(tc, same_subject_and_software_is_found);
    tcase_add_test(tc, other_software_is_not_the_same_client);
    tcase_add_test(tc, copied_older_or_foreign_statements_find_no_client_to_rewrite);
    tcase_add_test(tc, policy_new_never_matches);
    tcase_add_test(tc, per_subject_ceiling);
    tcase_add_test(tc, global_ceiling_spares_returning_subjects);
    tcase_add_test(tc, ceiling_through_register_is_429_with_retry_after);
    tcase_add_test(tc, store_errors_propagate);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(lifecycle_suite)
