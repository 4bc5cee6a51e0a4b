/* src/error.c: wire names, default statuses, and how dcr_fail fills an error. */
#include "error.h"
#include "unit.h"

#include <string.h>

static const struct {
    dcr_error_code code;
    const char *name;
    int status;
} table[] = {
    {DCR_OK, NULL, 200},
    {DCR_ERR_INVALID_REQUEST, "invalid_request", 400},
    {DCR_ERR_INVALID_REDIRECT_URI, "invalid_redirect_uri", 400},
    {DCR_ERR_INVALID_CLIENT_METADATA, "invalid_client_metadata", 400},
    {DCR_ERR_INVALID_SOFTWARE_STATEMENT, "invalid_software_statement", 400},
    {DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT, "unapproved_software_statement", 400},
    {DCR_ERR_INVALID_TOKEN, "invalid_token", 401},
    {DCR_ERR_MISSING_TOKEN, NULL, 401},
    {DCR_ERR_TOO_MANY_REQUESTS, "too_many_requests", 429},
    {DCR_ERR_TEMPORARILY_UNAVAILABLE, "temporarily_unavailable", 503},
    {DCR_ERR_SERVER_ERROR, "server_error", 500},
};

START_TEST(names_and_statuses)
{
    const char *name = dcr_error_name(table[_i].code);
    ck_assert_pstr_eq(name, table[_i].name);
    ck_assert_int_eq(dcr_error_status(table[_i].code), table[_i].status);
}
END_TEST

START_TEST(fail_fills_and_returns_false)
{
    dcr_error err;
    dcr_error_clear(&err);
    ck_assert(
        !dcr_fail(&err, DCR_ERR_INVALID_CLIENT_METADATA, "jwks: bad", "key %d: %s", 3, "no kty"));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.description, "jwks: bad");
    ck_assert_str_eq(err.detail, "key 3: no kty");

    /* without a detail format the log gets the description */
    ck_assert(!dcr_fail(&err, DCR_ERR_SERVER_ERROR, "store down", NULL));
    ck_assert_int_eq(err.status, 500);
    ck_assert_str_eq(err.detail, "store down");

    /* NULL description becomes empty, not a crash */
    ck_assert(!dcr_fail(&err, DCR_ERR_INVALID_TOKEN, NULL, NULL));
    ck_assert_str_eq(err.description, "");
    ck_assert_int_eq(err.status, 401);

    /* callers may pass no error at all */
    ck_assert(!dcr_fail(NULL, DCR_ERR_SERVER_ERROR, "x", "y %s", "z"));
    ck_assert(!dcr_fail_status(NULL, DCR_ERR_INVALID_REQUEST, 405, "x", NULL));
}
END_TEST

START_TEST(fail_status_overrides)
{
    dcr_error err;
    ck_assert(!dcr_fail_status(&err, DCR_ERR_INVALID_REQUEST, 415, "content type must be JSON",
                               "got %s", "text/plain"));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_REQUEST);
    ck_assert_int_eq(err.status, 415);
    ck_assert_str_eq(err.description, "content type must be JSON");
    ck_assert_str_eq(err.detail, "got text/plain");
}
END_TEST

START_TEST(long_texts_truncated)
{
    dcr_error err;
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    dcr_fail(&err, DCR_ERR_INVALID_CLIENT_METADATA, big, "%s", big);
    ck_assert_uint_eq(strlen(err.description), sizeof(err.description) - 1);
    ck_assert_uint_eq(strlen(err.detail), sizeof(err.detail) - 1);
}
END_TEST

START_TEST(clear_resets)
{
    dcr_error err;
    dcr_fail(&err, DCR_ERR_SERVER_ERROR, "a", "b");
    dcr_error_clear(&err);
    ck_assert_int_eq(err.code, DCR_OK);
    ck_assert_int_eq(err.status, 0);
    ck_assert_str_eq(err.description, "");
    ck_assert_str_eq(err.detail, "");
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *tc = unit_tcase("error");
    tcase_add_loop_test(tc, names_and_statuses, 0, sizeof(table) / sizeof(table[0]));
    tcase_add_test(tc, fail_fills_and_returns_false);
    tcase_add_test(tc, fail_status_overrides);
    tcase_add_test(tc, long_texts_truncated);
    tcase_add_test(tc, clear_resets);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(error_suite)
