/* DCRInitialAccessToken in the core: the token file's format, the check of a presented token,
 * and the registration's gate (401s per RFC 6750, the store unchanged, DCRRefusalLimit). */
#include "cache.h"
#include "initial_access_token.h"
#include "registrar_fixture.h"
#include "sha256.h"

#include <ctype.h>
#include <stdio.h>

/* hex SHA-256 of token: what an admin writes into the file (sha256sum) */
static const char *hash_hex(const char *token)
{
    unsigned char h[DCR_SHA256_LEN];
    char *hex = apr_palloc(pool, 2 * DCR_SHA256_LEN + 1);
    ck_assert(dcr_sha256_1(h, token, strlen(token)));
    for (int i = 0; i < DCR_SHA256_LEN; i++)
        sprintf(hex + 2 * i, "%02x", h[i]);
    return hex;
}

static const dcr_iat_set *parse_ok(const char *text)
{
    const dcr_iat_set *set = NULL;
    const char *msg = dcr_iat_parse(pool, text, strlen(text), &set);
    ck_assert_msg(msg == NULL, "%s", msg);
    ck_assert_ptr_nonnull(set);
    return set;
}

static const char *parse_err(const char *text, size_t len)
{
    const dcr_iat_set *set = NULL;
    const char *msg = dcr_iat_parse(pool, text, len, &set);
    ck_assert_msg(msg != NULL, "accepted: %s", text);
    ck_assert_ptr_null(set);
    return msg;
}

START_TEST(hash_is_sha256_of_the_token_bytes)
{
    /* FIPS 180-2's example: the file holds what `printf %s abc | sha256sum` prints */
    const dcr_iat_set *set =
        parse_ok("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
    ck_assert_int_eq(dcr_iat_check(set, "abc", NOW, NULL), DCR_IAT_VALID);
    ck_assert_int_eq(dcr_iat_check(set, "abc\n", NOW, NULL), DCR_IAT_UNKNOWN);
    ck_assert_int_eq(dcr_iat_check(set, "ABC", NOW, NULL), DCR_IAT_UNKNOWN);
}
END_TEST

START_TEST(format_comments_blanks_expiries)
{
    const char *text = apr_pstrcat(
        pool, "# initial access tokens\r\n", "\n", "   \t\n", hash_hex("t-never"), "\n", "  ",
        hash_hex("t-epoch"), "\t1790000100   # team a\n", hash_hex("t-zulu"),
        " 2026-09-21T16:00:00Z\r\n", hash_hex("t-offset"), " 2026-09-21T18:00:00+02:00 #\n",
        "# a comment with 0000000000000000000000000000000000000000000000000000000000000000\n",
        NULL);
    const dcr_iat_set *set;
    int line;
    char *upper = apr_pstrdup(pool, hash_hex("t-upper"));
    for (char *c = upper; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    text = apr_pstrcat(pool, text, upper, " 0", NULL); /* last line without a newline */
    set = parse_ok(text);
    ck_assert_int_eq(dcr_iat_count(set), 5);
    ck_assert_int_eq(dcr_iat_check(set, "t-never", NOW + 100000000, &line), DCR_IAT_VALID);
    ck_assert_int_eq(line, 4);
    ck_assert_int_eq(dcr_iat_check(set, "t-epoch", 1790000099, &line), DCR_IAT_VALID);
    ck_assert_int_eq(line, 5);
    /* the expiry is the first second it no longer works */
    ck_assert_int_eq(dcr_iat_check(set, "t-epoch", 1790000100, &line), DCR_IAT_EXPIRED);
    ck_assert_int_eq(line, 5);
    /* 2026-09-21T16:00:00Z = 1790006400 (date -d @1790006400 -u) */
    ck_assert_int_eq(dcr_iat_check(set, "t-zulu", 1790006399, NULL), DCR_IAT_VALID);
    ck_assert_int_eq(dcr_iat_check(set, "t-zulu", 1790006400, NULL), DCR_IAT_EXPIRED);
    ck_assert_int_eq(dcr_iat_check(set, "t-offset", 1790006399, NULL), DCR_IAT_VALID);
    ck_assert_int_eq(dcr_iat_check(set, "t-offset", 1790006400, NULL), DCR_IAT_EXPIRED);
    ck_assert_int_eq(dcr_iat_check(set, "t-upper", 1, &line), DCR_IAT_EXPIRED);
    ck_assert_int_eq(line, 9);
    ck_assert_int_eq(dcr_iat_count_expired(set, 1790006400), 4);
    ck_assert_int_eq(dcr_iat_count_expired(set, 0), 1); /* the one that expires at 0 */
}
END_TEST

START_TEST(bad_lines_are_named_never_quoted)
{
    const char *h = hash_hex("secret-ish");
    static const struct {
        const char *tail; /* appended to a good first line */
        const char *why;
    } cases[] = {
        {"zz", "line 2: not a SHA-256 hash"},
        {"%.63s", "line 2: not a SHA-256 hash"},
        {"%s0", "line 2: not a SHA-256 hash"},
        {"%sg", "line 2: not a SHA-256 hash"},
        {"%s#x", "line 2: not a SHA-256 hash"},
        {"sha256:%s", "line 2: not a SHA-256 hash"},
        {"%s 2027-01-01", "line 2: the expiry is neither"},
        {"%s 2027-01-01T00:00:00", "line 2: the expiry is neither"},
        {"%s 2027-13-01T00:00:00Z", "line 2: the expiry is neither"},
        {"%s 1234567890123", "line 2: the expiry is neither"},
        {"%s -5", "line 2: the expiry is neither"},
        {"%s 1790000000 extra", "line 2: unexpected text after the expiry"},
        {"%s 1790000000 1790000001", "line 2: unexpected text after the expiry"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        const char *bad = apr_psprintf(pool, cases[i].tail, hash_hex("other"));
        const char *text = apr_pstrcat(pool, h, "\n", bad, "\n", NULL);
        const char *msg = parse_err(text, strlen(text));
        ck_assert_msg(strncmp(msg, cases[i].why, strlen(cases[i].why)) == 0, "%s: %s",
                      cases[i].tail, msg);
        /* nothing of the file's contents in the message */
        ck_assert_ptr_null(strstr(msg, apr_pstrndup(pool, h, 8)));
        ck_assert_ptr_null(strstr(msg, apr_pstrndup(pool, hash_hex("other"), 8)));
        ck_assert_ptr_null(strstr(msg, "extra"));
        ck_assert_ptr_null(strstr(msg, "2027"));
    }
}
END_TEST

START_TEST(nul_bytes_and_duplicates_and_empty_files)
{
    const char *h = hash_hex("a");
    char *with_nul = apr_pstrcat(pool, h, " 17900000\n", NULL);
    const char *msg, *dup;
    with_nul[66] = '\0'; /* inside the expiry */
    msg = parse_err(with_nul, strlen(h) + 10);
    ck_assert_str_eq(msg, "line 1: the expiry is neither seconds since the epoch nor an RFC "
                          "3339 date-time with a time zone");
    dup = apr_pstrcat(pool, "#\n", h, "\n", hash_hex("b"), "\n", h, " 5\n", NULL);
    msg = parse_err(dup, strlen(dup));
    ck_assert_str_eq(msg, "line 4: the same hash as line 2");
    msg = parse_err("", 0);
    ck_assert_ptr_nonnull(strstr(msg, "no token hash"));
    msg = parse_err("# only a comment\n\n", 18);
    ck_assert_ptr_nonnull(strstr(msg, "no token hash"));
}
END_TEST

START_TEST(check_finds_any_line_and_nothing_else)
{
    const char *text = "";
    const dcr_iat_set *set;
    int line = -1;
    for (int i = 0; i < 50; i++)
        text = apr_pstrcat(pool, text, hash_hex(apr_psprintf(pool, "tok-%d", i)), "\n", NULL);
    set = parse_ok(text);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(dcr_iat_check(set, apr_psprintf(pool, "tok-%d", i), NOW, &line),
                         DCR_IAT_VALID);
        ck_assert_int_eq(line, i + 1);
    }
    ck_assert_int_eq(dcr_iat_check(set, "tok-50", NOW, &line), DCR_IAT_UNKNOWN);
    ck_assert_int_eq(line, 0);
    ck_assert_int_eq(dcr_iat_check(set, NULL, NOW, &line), DCR_IAT_MISSING);
    ck_assert_int_eq(dcr_iat_check(set, "", NOW, &line), DCR_IAT_MISSING);
    /* the hash itself is no token */
    ck_assert_int_eq(dcr_iat_check(set, hash_hex("tok-1"), NOW, &line), DCR_IAT_UNKNOWN);
}
END_TEST

/* ---- the registration's gate ---- */

#define GOOD "{\"redirect_uris\":[\"https://app.example/cb\"]}"

static char logged[4096];

static void collect(void *baton, int level, const char *msg)
{
    (void)baton;
    (void)level;
    strncat(logged, msg, sizeof(logged) - strlen(logged) - 2);
    strcat(logged, "\n");
}

static const dcr_logger collector = {collect, NULL};

static void gate_setup(void)
{
    fixture_setup();
    logged[0] = '\0';
    req.log = &collector;
    policy.initial_access_tokens = parse_ok(apr_pstrcat(
        pool, "# ci\n", hash_hex("iat-good"), "\n", hash_hex("iat-old"), " 1790000000\n", NULL));
}

static json_t *post_with(const char *token, const char *body, dcr_response *res)
{
    return call(NULL, NULL, token, body, res);
}

START_TEST(missing_token_is_401_without_error_code)
{
    dcr_response res;
    json_t *j = post_with(NULL, GOOD, &res);
    ck_assert_int_eq(res.status, 401);
    ck_assert_int_eq(res.err.code, DCR_ERR_MISSING_TOKEN);
    ck_assert_ptr_null(json_object_get(j, "error"));
    ck_assert_ptr_nonnull(dcr_json_string(j, "error_description"));
    ck_assert_str_eq(res.decision, "missing_token");
    ck_assert_uint_eq(memstore_count(store), 0);
    ck_assert_ptr_nonnull(strstr(logged, "registration refused: missing_token"));
}
END_TEST

START_TEST(wrong_and_expired_tokens_are_invalid_token_alike)
{
    static const char *const tokens[] = {"iat-wrong", "iat-old", " iat-good", "iat-goo"};
    const char *description = NULL;
    for (size_t i = 0; i < sizeof(tokens) / sizeof(*tokens); i++) {
        dcr_response res;
        json_t *j = post_with(tokens[i], GOOD, &res);
        assert_error(j, &res, 401, "invalid_token");
        ck_assert_int_eq(res.err.code, DCR_ERR_INVALID_TOKEN);
        /* the client cannot tell an expired token from a wrong one */
        if (description)
            ck_assert_str_eq(dcr_json_string(j, "error_description"), description);
        description = apr_pstrdup(pool, dcr_json_string(j, "error_description"));
        ck_assert_ptr_null(strstr(logged, tokens[i]));
    }
    ck_assert_uint_eq(memstore_count(store), 0);
    /* the log tells the admin which is which, without the token */
    ck_assert_ptr_nonnull(strstr(logged, "line 3 has expired"));
    ck_assert_ptr_nonnull(strstr(logged, "unknown initial access token"));
}
END_TEST

START_TEST(valid_token_registers_and_is_logged_by_line)
{
    dcr_response res;
    json_t *j = post_with("iat-good", GOOD, &res);
    ck_assert_int_eq(res.status, 201);
    ck_assert_ptr_nonnull(dcr_json_string(j, "client_id"));
    ck_assert_uint_eq(memstore_count(store), 1);
    ck_assert_ptr_nonnull(strstr(logged, "with the initial access token of line 2"));
    ck_assert_ptr_null(strstr(logged, "iat-good"));
    /* the old token is valid one second before its expiry */
    req.now = 1789999999;
    post_with("iat-old", GOOD, &res);
    ck_assert_int_eq(res.status, 201);
    ck_assert_uint_eq(memstore_count(store), 2);
}
END_TEST

START_TEST(token_checked_before_the_body)
{
    dcr_response res;
    /* a bad body (or a statement) costs nothing without a token: the 401 comes first */
    post_with(NULL, "{", &res);
    ck_assert_int_eq(res.status, 401);
    post_with("iat-wrong", "{\"software_statement\":\"eyJhbGciOiJFUzI1NiJ9.e30.AAAA\"}", &res);
    ck_assert_int_eq(res.status, 401);
    post_with("iat-good", "{", &res);
    assert_error(answer(&res), &res, 400, "invalid_client_metadata");
    ck_assert_uint_eq(memstore_count(store), 0);
}
END_TEST

START_TEST(statement_still_required_with_a_token)
{
    dcr_response res;
    json_t *j;
    policy.require_statement = true;
    j = post_with("iat-good", GOOD, &res);
    assert_error(j, &res, 400, "invalid_software_statement");
    j = post_with("iat-good", "{\"software_statement\":\"eyJhbGciOiJFUzI1NiJ9.e30.AAAA\"}", &res);
    assert_error(j, &res, 400, "unapproved_software_statement");
    ck_assert_uint_eq(memstore_count(store), 0);
}
END_TEST

START_TEST(wrong_tokens_count_as_refusals_missing_ones_not)
{
    dcr_response res;
    json_t *j;
    policy.refusal_limit = 3;
    policy.refusal_window = 60;
    req.cache = dcr_cache_memory_create(pool, 64);
    req.client_addr = "192.0.2.7";
    for (int i = 0; i < 10; i++) {
        post_with(NULL, GOOD, &res);
        ck_assert_int_eq(res.status, 401);
    }
    for (int i = 0; i < 3; i++) {
        post_with(apr_psprintf(pool, "guess-%d", i), GOOD, &res);
        ck_assert_int_eq(res.status, 401);
    }
    /* past the limit even the right token waits, so guessing stops */
    j = post_with("iat-good", GOOD, &res);
    assert_error(j, &res, 429, "too_many_requests");
    ck_assert_uint_eq(memstore_count(store), 0);
    req.client_addr = "192.0.2.8";
    post_with("iat-good", GOOD, &res);
    ck_assert_int_eq(res.status, 201);
}
END_TEST

START_TEST(tokens_of_one_kind_are_no_tokens_of_the_other)
{
    dcr_response res;
    const char *id, *rat;
    json_t *j;
    j = post_with("iat-good", GOOD, &res);
    ck_assert_int_eq(res.status, 201);
    id = apr_pstrdup(pool, dcr_json_string(j, "client_id"));
    rat = apr_pstrdup(pool, dcr_json_string(j, "registration_access_token"));
    /* a registration access token registers nothing */
    j = post_with(rat, GOOD, &res);
    assert_error(j, &res, 401, "invalid_token");
    /* an initial access token manages no client; RFC 7592 calls need no initial token */
    j = call(dcr_read, id, "iat-good", NULL, &res);
    assert_error(j, &res, 401, "invalid_token");
    call(dcr_read, id, rat, NULL, &res);
    ck_assert_int_eq(res.status, 200);
    call(dcr_delete, id, rat, NULL, &res);
    ck_assert_int_eq(res.status, 204);
    ck_assert_uint_eq(memstore_count(store), 0);
}
END_TEST

START_TEST(no_tokens_configured_means_open)
{
    dcr_response res;
    policy.initial_access_tokens = NULL;
    post_with(NULL, GOOD, &res);
    ck_assert_int_eq(res.status, 201);
    post_with("anything", GOOD, &res);
    ck_assert_int_eq(res.status, 201);
}
END_TEST

static Suite *iat_suite(void)
{
    Suite *s = suite_create("initial_access_token");
    TCase *tc = unit_tcase("file and check");
    TCase *gate = tcase_create("registration gate");
    tcase_add_test(tc, hash_is_sha256_of_the_token_bytes);
    tcase_add_test(tc, format_comments_blanks_expiries);
    tcase_add_test(tc, bad_lines_are_named_never_quoted);
    tcase_add_test(tc, nul_bytes_and_duplicates_and_empty_files);
    tcase_add_test(tc, check_finds_any_line_and_nothing_else);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(gate, gate_setup, unit_teardown);
    tcase_add_test(gate, missing_token_is_401_without_error_code);
    tcase_add_test(gate, wrong_and_expired_tokens_are_invalid_token_alike);
    tcase_add_test(gate, valid_token_registers_and_is_logged_by_line);
    tcase_add_test(gate, token_checked_before_the_body);
    tcase_add_test(gate, statement_still_required_with_a_token);
    tcase_add_test(gate, wrong_tokens_count_as_refusals_missing_ones_not);
    tcase_add_test(gate, tokens_of_one_kind_are_no_tokens_of_the_other);
    tcase_add_test(gate, no_tokens_configured_means_open);
    suite_add_tcase(s, gate);
    return s;
}

DCR_UNIT_MAIN(iat_suite)
