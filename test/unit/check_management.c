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
    /* RFC 7592 3: REQUIRED in the answer; without rotation the token presented */
    ck_assert_str_eq(dcr_json_string(j, "registration_access_token"), token);
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

/* Issue 10.3: a client is managed only at the endpoint that registered it; any other endpoint
 * sharing the store answers as for an unknown client, and changes nothing. */
START_TEST(another_endpoint_sees_an_unknown_client)
{
    const char *id, *token, *before;
    dcr_response res;
    dcr_client *c = NULL;
    dcr_error err;
    json_t *j;
    register_one(&id, &token);
    ck_assert_int_eq(store->ops->get(store, id, NOW, pool, &c, &err), APR_SUCCESS);
    ck_assert_str_eq(c->endpoint, ENDPOINT);
    before = dcr_client_to_record(pool, c);
    req.endpoint_url = "https://other.example.com/register";
    j = call(dcr_read, id, token, NULL, &res);
    assert_error(j, &res, 401, "invalid_token");
    j = call(dcr_update, id, token,
             apr_psprintf(pool, "{\"client_id\":\"%s\",\"client_name\":\"B\"}", id), &res);
    assert_error(j, &res, 401, "invalid_token");
    call(dcr_delete, id, token, NULL, &res);
    ck_assert_int_eq(res.status, 401);
    ck_assert_int_eq(store->ops->get(store, id, NOW, pool, &c, &err), APR_SUCCESS);
    ck_assert_str_eq(dcr_client_to_record(pool, c), before);
    req.endpoint_url = ENDPOINT;
    call(dcr_read, id, token, NULL, &res);
    ck_assert_int_eq(res.status, 200);
}
END_TEST

/* Issue 10.5: a version 1 record (no endpoint) is bound to the first endpoint that reads it
 * with its token, and written as version 2; another endpoint is refused from then on. */
START_TEST(version1_record_is_bound_by_its_first_reader)
{
    const char *id, *token, *v1;
    dcr_response res;
    dcr_client *c = NULL;
    dcr_error err;
    register_one(&id, &token);
    ck_assert_int_eq(store->ops->get(store, id, NOW, pool, &c, &err), APR_SUCCESS);
    c->endpoint = NULL;
    v1 = dcr_client_to_record(pool, c);
    json_t *r = json_loads(v1, 0, NULL);
    json_object_set_new(r, "version", json_integer(1));
    v1 = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    ck_assert_ptr_nonnull(c = dcr_client_from_record(pool, v1, strlen(v1), &err));
    free((void *)v1);
    ck_assert_ptr_null(c->endpoint);
    ck_assert_int_eq(store->ops->update(store, c, NULL, pool, &err), APR_SUCCESS);
    req.endpoint_url = "https://first.example.com/register";
    call(dcr_read, id, token, NULL, &res);
    ck_assert_int_eq(res.status, 200);
    ck_assert_int_eq(store->ops->get(store, id, NOW, pool, &c, &err), APR_SUCCESS);
    ck_assert_str_eq(c->endpoint, "https://first.example.com/register");
    ck_assert_ptr_nonnull(strstr(dcr_client_to_record(pool, c), "\"version\":2"));
    req.endpoint_url = ENDPOINT;
    call(dcr_read, id, token, NULL, &res);
    ck_assert_int_eq(res.status, 401);
}
END_TEST

/* Issue 10.4: an update is a compare-and-set on the token it authenticated with: a token
 * retired between its check and the write (a rotation, a re-registration) stays retired. */
START_TEST(update_racing_a_rotation_does_not_bring_the_old_token_back)
{
    const char *id, *token;
    dcr_response res;
    dcr_client *c = NULL, *now_c = NULL;
    dcr_error err;
    register_one(&id, &token);
    ck_assert_int_eq(store->ops->get(store, id, NOW, pool, &c, &err), APR_SUCCESS);
    /* what a racing writer's authentication saw, then the rotation lands first */
    dcr_client rotated = *c;
    dcr_token_hash("rotated-token", rotated.rat_hash);
    ck_assert_int_eq(store->ops->update(store, &rotated, c->rat_hash, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(store->ops->update(store, c, c->rat_hash, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(store->ops->get(store, id, NOW, pool, &now_c, &err), APR_SUCCESS);
    ck_assert(dcr_client_token_matches(now_c, "rotated-token"));
    ck_assert(!dcr_client_token_matches(now_c, token));
    /* and over the API the retired token is simply not valid */
    json_t *j = call(dcr_update, id, token, apr_psprintf(pool, "{\"client_id\":\"%s\"}", id), &res);
    assert_error(j, &res, 401, "invalid_token");
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
    j = call(dcr_delete, id, NULL, NULL, &res);
    ck_assert_int_eq(res.status, 401);
    ck_assert_int_eq(res.err.code, DCR_ERR_MISSING_TOKEN);
    ck_assert_ptr_null(json_object_get(j, "error")); /* RFC 6750 3.1 */
    ck_assert_ptr_nonnull(dcr_json_string(j, "error_description"));
    j = call(dcr_update, id, NULL, apr_psprintf(pool, "{\"client_id\":\"%s\"}", id), &res);
    ck_assert_int_eq(res.status, 401);
    ck_assert_ptr_null(json_object_get(j, "error"));
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

static const char *dump_of(const json_t *j)
{
    return j ? dcr_json_dump(pool, j) : "(absent)";
}

/* Issue 11 (RFC 7592 2.2): a client PUTs back exactly what a read returned. */
START_TEST(put_back_what_read_returned)
{
    const char *id, *token;
    dcr_response res;
    json_t *got, *j;
    register_one(&id, &token);
    got = call(dcr_read, id, token, NULL, &res);
    ck_assert_int_eq(res.status, 200);
    ck_assert_ptr_nonnull(json_object_get(got, "client_id_issued_at"));
    ck_assert_ptr_nonnull(json_object_get(got, "registration_client_uri"));
    j = call(dcr_update, id, token, dcr_json_dump(pool, got), &res);
    ck_assert_msg(res.status == 200, "%s", res.body);
    ck_assert(
        json_equal(json_object_get(j, "redirect_uris"), json_object_get(got, "redirect_uris")));
    /* with the token as well (as a read that echoes it would return) */
    json_object_set_new(got, "registration_access_token", json_string(token));
    call(dcr_update, id, token, dcr_json_dump(pool, got), &res);
    ck_assert_msg(res.status == 200, "%s", res.body);
    /* each managed member changed: refused, the store untouched */
    {
        static const char *const changed[][2] = {
            {"client_id_issued_at", "1"},
            {"registration_client_uri", "\"https://as.example.com/register/other\""},
            {"registration_access_token", "\"not-the-token\""},
            {"client_secret_expires_at", "0"},
            {"client_secret", "\"guess\""},
        };
        for (size_t i = 0; i < sizeof(changed) / sizeof(*changed); i++) {
            json_t *body = json_deep_copy(got);
            const char *why;
            /* json_object_set: the parsed value stays the pool's */
            json_object_set(body, changed[i][0],
                            dcr_json_parse(pool, changed[i][1], strlen(changed[i][1]), 4, &why));
            json_object_set_new(body, "client_name", json_string("Changed"));
            j = call(dcr_update, id, token, dcr_json_dump(pool, body), &res);
            json_decref(body);
            assert_error(j, &res, 400, "invalid_client_metadata");
        }
        j = call(dcr_read, id, token, NULL, &res);
        ck_assert_ptr_null(json_object_get(j, "client_name"));
    }
}
END_TEST

/* Issue 11: the statement's values as the server normalised them (a forced auth method, a
 * dropped grant, a de-duplicated list) go back as they were read. */
START_TEST(put_back_normalised_statement_values)
{
    dcr_client *c = apr_pcalloc(pool, sizeof(*c));
    dcr_response res;
    dcr_error err;
    json_t *got, *j;
    c->client_id = "normalised";
    c->issued_at = NOW;
    dcr_token_hash("tok", c->rat_hash);
    c->subject_kind = "spiffe";
    c->subject = "spiffe://td/w";
    c->issuer = "td";
    c->metadata = dcr_json_own(
        pool,
        json_pack("{s:s, s:[s], s:[s], s:[s], s:s, s:s, s:s}", "client_name", "Fixed",
                  "redirect_uris", "https://app.example/cb", "grant_types", "authorization_code",
                  "response_types", "code", "token_endpoint_auth_method", "spiffe_jwt",
                  "software_statement", STATEMENT, "spiffe_id", "spiffe://td/w"));
    c->statement = dcr_json_own(
        pool, json_pack("{s:{s:s, s:[s,s], s:[s,s,s], s:s}, s:{s:s}, s:s}", "claims", "client_name",
                        "Fixed", "redirect_uris", "https://app.example/cb",
                        "https://app.example/cb", "grant_types", "authorization_code", "implicit",
                        "authorization_code", "token_endpoint_auth_method", "private_key_jwt",
                        "extensions", "spiffe_id", "spiffe://td/w", "auth_method", "spiffe_jwt"));
    ck_assert_int_eq(store->ops->put(store, c, pool, &err), APR_SUCCESS);
    got = call(dcr_read, "normalised", "tok", NULL, &res);
    ck_assert_int_eq(res.status, 200);
    j = call(dcr_update, "normalised", "tok", dcr_json_dump(pool, got), &res);
    ck_assert_msg(res.status == 200, "%s", res.body);
    ck_assert_str_eq(dcr_json_string(j, "token_endpoint_auth_method"), "spiffe_jwt");
    ck_assert_str_eq(dump_of(json_object_get(j, "grant_types")), "[\"authorization_code\"]");
    ck_assert_str_eq(dump_of(json_object_get(j, "redirect_uris")), "[\"https://app.example/cb\"]");
    /* the statement's raw values are still accepted */
    json_object_set_new(
        got, "grant_types",
        json_pack("[s,s,s]", "authorization_code", "implicit", "authorization_code"));
    call(dcr_update, "normalised", "tok", dcr_json_dump(pool, got), &res);
    ck_assert_msg(res.status == 200, "%s", res.body);
    /* a third value is a change */
    json_object_set_new(got, "grant_types", json_pack("[s]", "client_credentials"));
    j = call(dcr_update, "normalised", "tok", dcr_json_dump(pool, got), &res);
    assert_error(j, &res, 400, "invalid_client_metadata");
    ck_assert_ptr_nonnull(strstr(res.err.detail, "grant_types"));
    json_object_set_new(got, "grant_types", json_pack("[s]", "authorization_code"));
    json_object_set_new(got, "token_endpoint_auth_method", json_string("none"));
    j = call(dcr_update, "normalised", "tok", dcr_json_dump(pool, got), &res);
    assert_error(j, &res, 400, "invalid_client_metadata");
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
    tcase_add_test(tc, another_endpoint_sees_an_unknown_client);
    tcase_add_test(tc, version1_record_is_bound_by_its_first_reader);
    tcase_add_test(tc, update_racing_a_rotation_does_not_bring_the_old_token_back);
    tcase_add_test(tc, update_rotates_token_when_configured);
    tcase_add_test(tc, update_refuses_server_managed_members);
    tcase_add_test(tc, update_and_delete_need_the_token);
    tcase_add_test(tc, delete_then_nothing_works);
    tcase_add_test(tc, statement_fields_stay_as_registered);
    tcase_add_test(tc, fresh_statement_must_verify);
    tcase_add_test(tc, put_back_what_read_returned);
    tcase_add_test(tc, put_back_normalised_statement_values);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(management_suite)
