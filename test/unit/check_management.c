/* RFC 7592 update and delete (read is in check_registrar.c). */
#include "registrar_fixture.h"

#define STATEMENT "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzcGlmZmU6Ly90ZC93In0.c2ln"

START_TEST(update_replaces_all_metadata)
{
    const char *id, *token;
    dcr_response res;
    json_t *j;
    register_one(&id, &token);
    j = call(dcr_update, id, token,
             apr_psprintf(pool,
                          "{\"client_id\":\"%s\",\"client_name\":\"New\","
                          "\"redirect_uris\":[\"https://new.example/cb\"]}",
                          id),
             &res);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(dcr_json_string(j, "client_name"), "New");
    ck_assert_ptr_null(json_object_get(j, "registration_access_token")); /* no rotation */
    j = call(dcr_read, id, token, NULL, &res);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "redirect_uris"), 0)),
                     "https://new.example/cb");
    /* omitted members are removed */
    j = call(dcr_update, id, token,
             apr_psprintf(pool,
                          "{\"client_id\":\"%s\",\"grant_types\":[\"client_credentials\"],"
                          "\"response_types\":[],\"jwks_uri\":\"https://new.example/jwks\"}",
                          id),
             &res);
    ck_assert_int_eq(res.status, 200);
    ck_assert_ptr_null(json_object_get(j, "client_name"));
}
END_TEST

START_TEST(update_rotates_token_when_configured)
{
    const char *id, *token, *fresh;
    dcr_response res;
    json_t *j;
    policy.rotate_token_on_update = true;
    register_one(&id, &token);
    j = call(dcr_update, id, token,
             apr_psprintf(pool,
                          "{\"client_id\":\"%s\","
                          "\"redirect_uris\":[\"https://app.example/cb\"]}",
                          id),
             &res);
    ck_assert_int_eq(res.status, 200);
    fresh = apr_pstrdup(pool, dcr_json_string(j, "registration_access_token"));
    ck_assert_ptr_nonnull(fresh);
    ck_assert_str_ne(fresh, token);
    call(dcr_read, id, token, NULL, &res);
    ck_assert_int_eq(res.status, 401);
    call(dcr_read, id, fresh, NULL, &res);
    ck_assert_int_eq(res.status, 200);
}
END_TEST

START_TEST(update_refuses_server_managed_members)
{
    static const char *const members[] = {"registration_access_token", "registration_client_uri",
                                          "client_secret_expires_at", "client_id_issued_at",
                                          "client_secret"};
    const char *id, *token;
    dcr_response res;
    json_t *j;
    register_one(&id, &token);
    for (size_t i = 0; i < sizeof(members) / sizeof(*members); i++) {
        j = call(dcr_update, id, token,
                 apr_psprintf(pool,
                              "{\"client_id\":\"%s\",\"%s\":\"x\","
                              "\"redirect_uris\":[\"https://app.example/cb\"]}",
                              id, members[i]),
                 &res);
        assert_error(j, &res, 400, "invalid_client_metadata");
    }
    j = call(dcr_update, id, token, "{\"client_id\":\"someone-else\"}", &res);
    assert_error(j, &res, 400, "invalid_client_metadata");
    j = call(dcr_update, id, token, "{\"redirect_uris\":[\"https://app.example/cb\"]}", &res);
    assert_error(j, &res, 400, "invalid_client_metadata");
    j = call(
        dcr_update, id, token,
        apr_psprintf(pool, "{\"client_id\":\"%s\",\"software_statement\":\"%s\"}", id, STATEMENT),
        &res);
    assert_error(j, &res, 400, "invalid_client_metadata");
    /* the stored registration is untouched */
    j = call(dcr_read, id, token, NULL, &res);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "redirect_uris"), 0)),
                     "https://app.example/cb");
}
END_TEST

START_TEST(update_and_delete_need_the_token)
{
    const char *id, *token;
    dcr_response res;
    json_t *j;
    register_one(&id, &token);
    j = call(dcr_update, id, "wrong", apr_psprintf(pool, "{\"client_id\":\"%s\"}", id), &res);
    assert_error(j, &res, 401, "invalid_token");
    call(dcr_delete, id, NULL, NULL, &res);
    ck_assert_int_eq(res.status, 401);
    ck_assert_int_eq(res.err.code, DCR_ERR_MISSING_TOKEN);
    j = call(dcr_delete, id, "wrong", NULL, &res);
    assert_error(j, &res, 401, "invalid_token");
    ck_assert_uint_eq(memstore_count(store), 1);
}
END_TEST

START_TEST(delete_then_nothing_works)
{
    const char *id, *token;
    dcr_response res;
    json_t *j;
    register_one(&id, &token);
    j = call(dcr_delete, id, token, NULL, &res);
    ck_assert_int_eq(res.status, 204);
    ck_assert_ptr_null(j);
    ck_assert_uint_eq(memstore_count(store), 0);
    j = call(dcr_read, id, token, NULL, &res);
    assert_error(j, &res, 401, "invalid_token");
    j = call(dcr_delete, id, token, NULL, &res);
    assert_error(j, &res, 401, "invalid_token");
}
END_TEST

/* A client as a SPIFFE registration leaves it, stored directly. */
static const char *store_statement_client(const char *token)
{
    dcr_client *c = apr_pcalloc(pool, sizeof(*c));
    dcr_error err;
    c->client_id = "stmt-client";
    c->issued_at = NOW;
    dcr_token_hash(token, c->rat_hash);
    c->subject_kind = "spiffe";
    c->subject = "spiffe://td/w";
    c->issuer = "td";
    c->metadata = dcr_json_own(
        pool, json_pack("{s:s, s:[s], s:s, s:s, s:s}", "client_name", "Fixed", "redirect_uris",
                        "https://app.example/cb", "token_endpoint_auth_method", "spiffe_jwt",
                        "software_statement", STATEMENT, "spiffe_id", "spiffe://td/w"));
    c->statement = dcr_json_own(pool, json_pack("{s:{s:s}, s:{s:s}, s:s}", "claims", "client_name",
                                                "Fixed", "extensions", "spiffe_id", "spiffe://td/w",
                                                "auth_method", "spiffe_jwt"));
    ck_assert_int_eq(store->ops->put(store, c, pool, &err), APR_SUCCESS);
    return c->client_id;
}

START_TEST(statement_fields_stay_as_registered)
{
    const char *id = store_statement_client("tok");
    dcr_response res;
    json_t *j;
    /* the same statement, a fixed member changed */
    j = call(dcr_update, id, "tok",
             apr_psprintf(pool,
                          "{\"client_id\":\"%s\",\"software_statement\":\"%s\","
                          "\"client_name\":\"Changed\","
                          "\"redirect_uris\":[\"https://app.example/cb\"]}",
                          id, STATEMENT),
             &res);
    assert_error(j, &res, 400, "invalid_client_metadata");
    /* no statement at all */
    j = call(dcr_update, id, "tok",
             apr_psprintf(pool,
                          "{\"client_id\":\"%s\","
                          "\"redirect_uris\":[\"https://app.example/cb\"]}",
                          id),
             &res);
    assert_error(j, &res, 400, "invalid_client_metadata");
    /* the same statement byte for byte, other members changed: accepted, statement wins */
    j = call(dcr_update, id, "tok",
             apr_psprintf(pool,
                          "{\"client_id\":\"%s\",\"software_statement\":\"%s\","
                          "\"redirect_uris\":[\"https://other.example/cb\"]}",
                          id, STATEMENT),
             &res);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(dcr_json_string(j, "client_name"), "Fixed");
    ck_assert_str_eq(dcr_json_string(j, "spiffe_id"), "spiffe://td/w");
    ck_assert_str_eq(dcr_json_string(j, "token_endpoint_auth_method"), "spiffe_jwt");
    ck_assert_str_eq(dcr_json_string(j, "software_statement"), STATEMENT);
}
END_TEST

START_TEST(fresh_statement_must_verify)
{
    const char *id = store_statement_client("tok");
    dcr_response res;
    /* another statement while no anchor is configured cannot verify */
    json_t *j = call(
        dcr_update, id, "tok",
        apr_psprintf(pool, "{\"client_id\":\"%s\",\"software_statement\":\"%s.x\"}", id, STATEMENT),
        &res);
    assert_error(j, &res, 400, "invalid_client_metadata");
}
END_TEST

static Suite *management_suite(void)
{
    Suite *s = suite_create("management");
    TCase *tc = fixture_tcase("management");
    tcase_add_test(tc, update_replaces_all_metadata);
    tcase_add_test(tc, update_rotates_token_when_configured);
    tcase_add_test(tc, update_refuses_server_managed_members);
    tcase_add_test(tc, update_and_delete_need_the_token);
    tcase_add_test(tc, delete_then_nothing_works);
    tcase_add_test(tc, statement_fields_stay_as_registered);
    tcase_add_test(tc, fresh_statement_must_verify);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(management_suite)
