/* The registration pipeline end to end in the core, without httpd: request in, response and
 * store contents out. Statement profiles have their own tests; here only their dispatch. */
#include "cache.h"
#include "registrar_fixture.h"

START_TEST(registers_without_statement_when_policy_allows)
{
    dcr_response res;
    json_t *j =
        post("{\"redirect_uris\":[\"https://app.example/cb\"],\"client_name\":\"App\"}", &res);
    const char *id = dcr_json_string(j, "client_id");
    ck_assert_int_eq(res.status, 201);
    ck_assert_ptr_nonnull(id);
    ck_assert_str_eq(res.client_id, id);
    ck_assert_str_eq(dcr_json_string(j, "client_name"), "App");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "client_id_issued_at")), NOW);
    ck_assert_str_eq(dcr_json_string(j, "registration_client_uri"),
                     apr_pstrcat(pool, ENDPOINT, "/", id, NULL));
    ck_assert_ptr_nonnull(dcr_json_string(j, "registration_access_token"));
    ck_assert_ptr_null(json_object_get(j, "client_secret"));
    ck_assert_uint_eq(memstore_count(store), 1);
}
END_TEST

START_TEST(malformed_bodies_store_nothing)
{
    static const char *const bodies[] = {"",
                                         "[]",
                                         "\"x\"",
                                         "{",
                                         "{\"a\":1,\"a\":2}",
                                         "{\"redirect_uris\":[\"https://a/cb\"]} trailing"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
        dcr_response res;
        json_t *j = post(bodies[i], &res);
        assert_error(j, &res, 400, "invalid_client_metadata");
    }
    ck_assert_uint_eq(memstore_count(store), 0);
}
END_TEST

START_TEST(statement_required_by_default)
{
    dcr_response res;
    json_t *j;
    policy.require_statement = true;
    j = post("{\"redirect_uris\":[\"https://app.example/cb\"]}", &res);
    assert_error(j, &res, 400, "invalid_software_statement");
    ck_assert_uint_eq(memstore_count(store), 0);
}
END_TEST

START_TEST(statement_without_anchors_is_unapproved)
{
    dcr_response res;
    json_t *j = post("{\"software_statement\":\"eyJhbGciOiJFUzI1NiJ9.e30.AAAA\","
                     "\"redirect_uris\":[\"https://app.example/cb\"]}",
                     &res);
    assert_error(j, &res, 400, "unapproved_software_statement");
    ck_assert_uint_eq(memstore_count(store), 0);
}
END_TEST

START_TEST(statement_of_wrong_type_is_invalid)
{
    dcr_response res;
    json_t *j = post("{\"software_statement\":42}", &res);
    assert_error(j, &res, 400, "invalid_software_statement");
    ck_assert_uint_eq(memstore_count(store), 0);
}
END_TEST

START_TEST(bad_metadata_stores_nothing)
{
    dcr_response res;
    json_t *j = post("{\"redirect_uris\":[\"http://evil.example/cb\"]}", &res);
    assert_error(j, &res, 400, "invalid_redirect_uri");
    ck_assert_uint_eq(memstore_count(store), 0);
}
END_TEST

START_TEST(store_down_is_503)
{
    dcr_response res;
    json_t *j;
    memstore_set_down(store, true);
    j = post("{\"redirect_uris\":[\"https://app.example/cb\"]}", &res);
    assert_error(j, &res, 503, "temporarily_unavailable");
    ck_assert_int_eq(res.retry_after, policy.retry_after);
}
END_TEST

static json_t *read_back(const char *id, const char *bearer, dcr_response *res)
{
    return call(dcr_read, id, bearer, NULL, res);
}

START_TEST(read_with_right_token)
{
    const char *id, *token;
    dcr_response res;
    json_t *j;
    register_one(&id, &token);
    j = read_back(id, token, &res);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(dcr_json_string(j, "client_id"), id);
    ck_assert_ptr_nonnull(json_object_get(j, "redirect_uris"));
    /* RFC 7592 3: REQUIRED in the answer; the token presented */
    ck_assert_str_eq(dcr_json_string(j, "registration_access_token"), token);
}
END_TEST

START_TEST(read_refusals_do_not_reveal_existence)
{
    const char *id, *token;
    dcr_response res;
    json_t *j;
    register_one(&id, &token);

    j = read_back(id, NULL, &res);
    ck_assert_int_eq(res.status, 401);
    ck_assert_int_eq(res.err.code, DCR_ERR_MISSING_TOKEN);
    assert_error(j, &res, 401, "invalid_request");
    ck_assert_str_eq(res.decision, "missing_token");

    j = read_back(id, "not-the-token", &res);
    assert_error(j, &res, 401, "invalid_token");
    j = read_back("no-such-client", token, &res);
    assert_error(j, &res, 401, "invalid_token");
    ck_assert_str_eq(dcr_json_string(j, "error_description"),
                     "the registration access token is not valid");
}
END_TEST

START_TEST(expired_registration_is_not_served)
{
    const char *id, *token;
    dcr_response res;
    json_t *j;
    policy.registration_lifetime = 10;
    register_one(&id, &token);
    req.now = NOW + 9;
    read_back(id, token, &res);
    ck_assert_int_eq(res.status, 200);
    req.now = NOW + 10;
    j = read_back(id, token, &res);
    assert_error(j, &res, 401, "invalid_token");
}
END_TEST

START_TEST(refusal_limit_per_address)
{
    dcr_response res;
    json_t *j;
    policy.refusal_limit = 2;
    policy.refusal_window = 60;
    req.cache = dcr_cache_memory_create(pool, 64);
    req.client_addr = "192.0.2.1";
    post("{\"redirect_uris\":[\"https://app.example/cb\"]}", &res); /* successes don't count */
    ck_assert_int_eq(res.status, 201);
    for (int i = 0; i < 2; i++) {
        post("{\"redirect_uris\":[\"http://evil.example/cb\"]}", &res);
        ck_assert_int_eq(res.status, 400);
    }
    j = post("{\"redirect_uris\":[\"https://app.example/cb\"]}", &res);
    assert_error(j, &res, 429, "too_many_requests");
    ck_assert_int_gt(res.retry_after, 0);
    ck_assert_int_le(res.retry_after, 60);
    ck_assert_uint_eq(memstore_count(store), 1);
    req.client_addr = "192.0.2.2";
    post("{\"redirect_uris\":[\"https://app.example/cb\"]}", &res);
    ck_assert_int_eq(res.status, 201);
}
END_TEST

static Suite *registrar_suite(void)
{
    Suite *s = suite_create("registrar");
    TCase *tc = fixture_tcase("registrar");
    tcase_add_test(tc, registers_without_statement_when_policy_allows);
    tcase_add_test(tc, malformed_bodies_store_nothing);
    tcase_add_test(tc, statement_required_by_default);
    tcase_add_test(tc, statement_without_anchors_is_unapproved);
    tcase_add_test(tc, statement_of_wrong_type_is_invalid);
    tcase_add_test(tc, bad_metadata_stores_nothing);
    tcase_add_test(tc, store_down_is_503);
    tcase_add_test(tc, read_with_right_token);
    tcase_add_test(tc, read_refusals_do_not_reveal_existence);
    tcase_add_test(tc, expired_registration_is_not_served);
    tcase_add_test(tc, refusal_limit_per_address);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(registrar_suite)
