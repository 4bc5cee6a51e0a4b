/* The client record (src/client.c): ids, tokens, hashing, constant-time matching, subject
 * keys, the versioned JSON record and the RFC 7591 response. */
#include "client.h"
#include "json.h"
#include "unit.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <string.h>

static void assert_b64url(const char *s, size_t len)
{
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(strlen(s), len);
    ck_assert_uint_eq(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                      len);
    ck_assert(strncmp(s, "https://", 8) != 0);
}

START_TEST(ids_are_long_random_and_distinct)
{
    apr_hash_t *seen = apr_hash_make(pool);
    /* 24 bytes -> 32 characters: 192 bits */
    for (int i = 0; i < 1000; i++) {
        char *id = dcr_client_new_id(pool);
        assert_b64url(id, 32);
        ck_assert_msg(apr_hash_get(seen, id, APR_HASH_KEY_STRING) == NULL, "repeat %s", id);
        apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
    }
    ck_assert_uint_eq(apr_hash_count(seen), 1000);
}
END_TEST

START_TEST(tokens_are_long_random_and_distinct)
{
    apr_hash_t *seen = apr_hash_make(pool);
    int used[64] = {0}, distinct = 0;
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 1000; i++) {
        char *t = dcr_client_new_token(pool);
        assert_b64url(t, 43); /* 32 bytes: 256 bits */
        ck_assert(apr_hash_get(seen, t, APR_HASH_KEY_STRING) == NULL);
        apr_hash_set(seen, t, APR_HASH_KEY_STRING, t);
        for (const char *p = t; *p; p++)
            used[strchr(alphabet, *p) - alphabet] = 1;
    }
    /* 43000 characters from a uniform source use the whole alphabet */
    for (int i = 0; i < 64; i++)
        distinct += used[i];
    ck_assert_int_eq(distinct, 64);
}
END_TEST

static void reference_sha256_hex(const char *s, char *out)
{
    unsigned char md[32];
    size_t len = 0;
    ck_assert(EVP_Q_digest(NULL, "SHA256", NULL, s, strlen(s), md, &len) == 1);
    for (size_t i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

START_TEST(token_hash_is_sha256_hex)
{
    char h[DCR_TOKEN_HASH_HEX + 1], ref[65];
    char *t = dcr_client_new_token(pool);
    dcr_token_hash(t, h);
    reference_sha256_hex(t, ref);
    ck_assert_str_eq(h, ref);
    ck_assert_uint_eq(strlen(h), DCR_TOKEN_HASH_HEX);
    /* FIPS 180-2 test vector */
    dcr_token_hash("abc", h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    dcr_token_hash(NULL, h);
    ck_assert_str_eq(h, "");
}
END_TEST

START_TEST(token_matches_in_constant_time)
{
    dcr_client c;
    char *t = dcr_client_new_token(pool), *wrong = apr_pstrdup(pool, t);
    memset(&c, 0, sizeof(c));
    ck_assert(!dcr_client_token_matches(&c, t)); /* no stored hash: nothing matches */
    dcr_token_hash(t, c.rat_hash);
    ck_assert(dcr_client_token_matches(&c, t));
    wrong[42] = wrong[42] == 'A' ? 'B' : 'A';
    ck_assert(!dcr_client_token_matches(&c, wrong));
    ck_assert(!dcr_client_token_matches(&c, dcr_client_new_token(pool)));
    ck_assert(!dcr_client_token_matches(&c, ""));
    ck_assert(!dcr_client_token_matches(&c, NULL));
    ck_assert(!dcr_client_token_matches(&c, apr_pstrcat(pool, t, "x", NULL)));
    ck_assert(!dcr_client_token_matches(&c, c.rat_hash)); /* the hash is not the token */
    ck_assert(!dcr_client_token_matches(NULL, t));
}
END_TEST

START_TEST(subject_keys)
{
    dcr_client c;
    memset(&c, 0, sizeof(c));
    ck_assert_ptr_null(dcr_client_subject_key(pool, &c));
    c.subject_kind = "spiffe";
    c.subject = "spiffe://example.org/ns/prod/sa/agent";
    c.issuer = "example.org";
    ck_assert_str_eq(dcr_client_subject_key(pool, &c),
                     "spiffe spiffe://example.org/ns/prod/sa/agent");
    c.subject_kind = "vc";
    c.issuer = "https://issuer.example";
    c.subject = "did:example:123";
    ck_assert_str_eq(dcr_client_subject_key(pool, &c), "vc https://issuer.example did:example:123");
    /* a space cannot shift the issuer/subject split */
    c.issuer = "https://a b";
    c.subject = "c%d";
    ck_assert_str_eq(dcr_client_subject_key(pool, &c), "vc https://a%20b c%25d");
    c.issuer = NULL;
    ck_assert_ptr_null(dcr_client_subject_key(pool, &c));
    c.issuer = "x";
    c.subject_kind = "other";
    ck_assert_ptr_null(dcr_client_subject_key(pool, &c));
    c.subject_kind = "vc";
    c.subject = "";
    ck_assert_ptr_null(dcr_client_subject_key(pool, &c));
}
END_TEST

static dcr_client *sample(bool with_subject)
{
    const char *why = NULL;
    const char *md =
        "{\"redirect_uris\":[\"https://app.example/cb\"],\"client_name\":\"App\","
        "\"client_name#fr\":\"Appli\",\"grant_types\":[\"authorization_code\"],"
        "\"token_endpoint_auth_method\":\"none\",\"jwks\":{\"keys\":[{\"kty\":\"EC\"}]}}";
    dcr_client *c = apr_pcalloc(pool, sizeof(*c));
    c->client_id = dcr_client_new_id(pool);
    c->issued_at = 1700000000LL + (long long)(apr_time_now() % 1000);
    c->expires_at = with_subject ? c->issued_at + 86400 : 0;
    dcr_token_hash(dcr_client_new_token(pool), c->rat_hash);
    c->metadata = dcr_json_parse(pool, md, strlen(md), 16, &why);
    if (with_subject) {
        c->subject_kind = "spiffe";
        c->subject = "spiffe://example.org/agent";
        c->issuer = "example.org";
        c->statement =
            dcr_json_own(pool, json_pack("{s:{s:s}, s:{}, s:s}", "claims", "client_name", "App",
                                         "extensions", "auth_method", "spiffe_jwt"));
    }
    return c;
}

static void assert_same(const dcr_client *a, const dcr_client *b)
{
    ck_assert_str_eq(a->client_id, b->client_id);
    ck_assert(a->issued_at == b->issued_at);
    ck_assert(a->expires_at == b->expires_at);
    ck_assert_str_eq(a->rat_hash, b->rat_hash);
    ck_assert_str_eq(a->secret_hash, b->secret_hash);
    ck_assert(json_equal(a->metadata, b->metadata));
    ck_assert_pstr_eq(a->subject_kind, b->subject_kind);
    ck_assert_pstr_eq(a->subject, b->subject);
    ck_assert_pstr_eq(a->issuer, b->issuer);
    ck_assert((a->statement == NULL) == (b->statement == NULL));
    if (a->statement)
        ck_assert(json_equal(a->statement, b->statement));
}

START_TEST(record_round_trip)
{
    for (int with = 0; with < 2; with++) {
        dcr_client *c = sample(with), *back;
        dcr_error err;
        char *rec = dcr_client_to_record(pool, c);
        ck_assert_ptr_nonnull(rec);
        dcr_error_clear(&err);
        back = dcr_client_from_record(pool, rec, strlen(rec), &err);
        ck_assert_msg(back != NULL, "%s", err.detail);
        assert_same(c, back);
        /* the token itself is never in the record */
        ck_assert_ptr_null(strstr(rec, "registration_access_token\""));
        /* a record written from a read record is the same text */
        ck_assert_str_eq(dcr_client_to_record(pool, back), rec);
    }
    ck_assert_ptr_null(dcr_client_to_record(pool, &(dcr_client){0}));
}
END_TEST

START_TEST(record_without_token_matches_nothing)
{
    dcr_client *c = sample(false), *back;
    dcr_error err;
    char *rec;
    c->rat_hash[0] = '\0';
    rec = dcr_client_to_record(pool, c);
    back = dcr_client_from_record(pool, rec, strlen(rec), &err);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(back->rat_hash, "");
    ck_assert(!dcr_client_token_matches(back, ""));
    ck_assert(!dcr_client_token_matches(back, dcr_client_new_token(pool)));
}
END_TEST

/* Mutations of a good record; every one must be refused with server_error. */
static const char *const corruptions[][2] = {
    {"version", "3"},
    {"version", "0"},
    {"version", "\"1\""},
    {"version", NULL},
    {"client_id", NULL},
    {"client_id", "7"},
    {"client_id", "\"\""},
    {"client_id_issued_at", NULL},
    {"client_id_issued_at", "\"1700000000\""},
    {"client_id_issued_at", "1.5"},
    {"expires_at", NULL},
    {"expires_at", "-1"},
    {"registration_access_token_sha256", NULL},
    {"registration_access_token_sha256", "\"abcd\""},
    {"registration_access_token_sha256",
     "\"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\""},
    {"registration_access_token_sha256",
     "\"zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""},
    {"metadata", NULL},
    {"metadata", "[]"},
    {"metadata", "\"{}\""},
    {"subject_kind", "5"},
    {"subject_kind", "\"x509\""},
    {"subject", "[]"},
    {"issuer", "{}"},
    {"statement", "\"claims\""},
    {"client_secret_sha256", "\"abcd\""},
    {"client_secret_sha256", "7"},
};

START_TEST(corrupt_records_refused)
{
    const char *const *m = corruptions[_i];
    dcr_client *c = sample(true);
    const char *why = NULL;
    char *rec = dcr_client_to_record(pool, c);
    json_t *r = dcr_json_parse(pool, rec, strlen(rec), 16, &why);
    dcr_error err;
    ck_assert_ptr_nonnull(r);
    if (m[1])
        json_object_set_new(r, m[0], json_loads(m[1], JSON_DECODE_ANY, NULL));
    else
        json_object_del(r, m[0]);
    rec = dcr_json_dump(pool, r);
    dcr_error_clear(&err);
    ck_assert_msg(dcr_client_from_record(pool, rec, strlen(rec), &err) == NULL, "accepted %s", rec);
    ck_assert_int_eq(err.code, DCR_ERR_SERVER_ERROR);
    ck_assert_int_eq(err.status, 500);
    ck_assert(err.detail[0] != '\0');
}
END_TEST

START_TEST(unparseable_records_refused)
{
    const char *bad[] = {
        "", "not json", "[]", "{\"version\":1", "{} {}", "{\"version\":1,\"version\":1}", NULL};
    dcr_client *c = sample(false);
    char *rec = dcr_client_to_record(pool, c);
    dcr_error err;
    for (const char **b = bad; *b; b++) {
        dcr_error_clear(&err);
        ck_assert_msg(dcr_client_from_record(pool, *b, strlen(*b), &err) == NULL, "%s", *b);
        ck_assert_int_eq(err.code, DCR_ERR_SERVER_ERROR);
    }
    /* truncated record */
    ck_assert_ptr_null(dcr_client_from_record(pool, rec, strlen(rec) - 1, &err));
    ck_assert_int_eq(err.code, DCR_ERR_SERVER_ERROR);
    ck_assert_ptr_null(dcr_client_from_record(pool, NULL, 0, &err));
    /* the length is honoured: the record followed by junk that is not passed */
    {
        char *padded = apr_pstrcat(pool, rec, "garbage", NULL);
        ck_assert_ptr_nonnull(dcr_client_from_record(pool, padded, strlen(rec), &err));
    }
}
END_TEST

START_TEST(secret_hash_round_trip_and_match)
{
    dcr_client *c = sample(false), *back;
    dcr_error err;
    const char *secret = dcr_client_new_token(pool);
    char *rec;
    ck_assert(!dcr_client_secret_matches(c, secret)); /* no secret: nothing matches */
    ck_assert(!dcr_client_secret_matches(c, ""));
    dcr_token_hash(secret, c->secret_hash);
    rec = dcr_client_to_record(pool, c);
    ck_assert_ptr_null(strstr(rec, secret));
    ck_assert_ptr_nonnull(strstr(rec, "\"client_secret_sha256\""));
    back = dcr_client_from_record(pool, rec, strlen(rec), &err);
    ck_assert_ptr_nonnull(back);
    assert_same(c, back);
    ck_assert(dcr_client_secret_matches(back, secret));
    ck_assert(!dcr_client_secret_matches(back, dcr_client_new_token(pool)));
    ck_assert(!dcr_client_secret_matches(back, NULL));
    /* a client with a secret shows its expiry, never the secret */
    json_object_set_new(back->metadata, "client_secret_expires_at", json_integer(0));
    json_object_set_new(back->metadata, "client_secret", json_string("leak"));
    ck_assert_ptr_nonnull(
        json_object_get(dcr_client_response(pool, back, NULL, NULL), "client_secret_expires_at"));
    ck_assert_ptr_null(
        json_object_get(dcr_client_response(pool, back, NULL, NULL), "client_secret"));
}
END_TEST

START_TEST(response_shape)
{
    dcr_client *c = sample(true);
    json_t *r;
    json_object_set_new(c->metadata, "client_secret", json_string("leak"));
    json_object_set_new(c->metadata, "client_secret_expires_at", json_integer(0));
    r = dcr_client_response(pool, c, "tok", "https://as.example/register/abc");
    ck_assert_str_eq(dcr_json_string(r, "client_id"), c->client_id);
    ck_assert(json_is_integer(json_object_get(r, "client_id_issued_at")));
    ck_assert(json_integer_value(json_object_get(r, "client_id_issued_at")) == c->issued_at);
    ck_assert_str_eq(dcr_json_string(r, "registration_client_uri"),
                     "https://as.example/register/abc");
    ck_assert_str_eq(dcr_json_string(r, "registration_access_token"), "tok");
    ck_assert_str_eq(dcr_json_string(r, "client_name#fr"), "Appli");
    ck_assert(json_equal(json_object_get(r, "redirect_uris"),
                         json_object_get(c->metadata, "redirect_uris")));
    ck_assert(json_equal(json_object_get(r, "jwks"), json_object_get(c->metadata, "jwks")));
    ck_assert_ptr_null(json_object_get(r, "client_secret"));
    ck_assert_ptr_null(json_object_get(r, "client_secret_expires_at"));
    /* the stored metadata is not changed by building a response */
    ck_assert_ptr_null(json_object_get(c->metadata, "client_id"));

    r = dcr_client_response(pool, c, NULL, NULL);
    ck_assert_ptr_null(json_object_get(r, "registration_access_token"));
    ck_assert_ptr_null(json_object_get(r, "registration_client_uri"));
    ck_assert_str_eq(dcr_json_string(r, "client_id"), c->client_id);
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = unit_tcase("ids");
    tcase_add_test(tc, ids_are_long_random_and_distinct);
    tcase_add_test(tc, tokens_are_long_random_and_distinct);
    tcase_add_test(tc, token_hash_is_sha256_hex);
    tcase_add_test(tc, token_matches_in_constant_time);
    tcase_add_test(tc, subject_keys);
    suite_add_tcase(s, tc);
    tc = unit_tcase("record");
    tcase_add_test(tc, record_round_trip);
    tcase_add_test(tc, record_without_token_matches_nothing);
    tcase_add_loop_test(tc, corrupt_records_refused, 0,
                        sizeof(corruptions) / sizeof(corruptions[0]));
    tcase_add_test(tc, unparseable_records_refused);
    tcase_add_test(tc, response_shape);
    tcase_add_test(tc, secret_hash_round_trip_and_match);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(client_suite)
