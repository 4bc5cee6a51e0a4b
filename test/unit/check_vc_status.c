/* Revocation of VC statements: W3C Bitstring / StatusList2021 lists and IETF Token Status
 * Lists, signed here with the issuer's real keys and served from the shared cache (the fetch
 * path to a live server is in test/integration/test_vc_status.py); unreachable lists. */
#include "cache.h"
#include "fetch.h"
#include "json.h"
#include "statement.h"
#include "unit.h"
#include "vc.h"
#include "vc_kit.h"
#include "vc_status.h"

#include <apr_strings.h>
#include <string.h>

#define NOW 1795000000LL
#define ISS "https://issuer.example.org"
#define ISS2 "https://second-issuer.example.org" /* trusted too, signs with other_key */
#define LIST_URL ISS "/status/1"
#define TOKEN_URL ISS "/statuslists/7"

static EVP_PKEY *ec_key, *other_key;
static struct dcr_vc_trust trust;
static dcr_policy policy;
static dcr_statement_ctx ctx;
static dcr_identity id;
static dcr_error err;
static unsigned char bits[16384];

static void setup(void)
{
    json_t *jwks;
    char *s;
    apr_array_header_t *issuers = apr_array_make(pool, 2, sizeof(dcr_vc_issuer *));
    ec_key = kit_key(pool, "EC");
    other_key = kit_key(pool, "EC");
    jwks = json_pack("{s:[o]}", "keys", kit_jwk(ec_key, "k1"));
    s = json_dumps(jwks, 0);
    APR_ARRAY_PUSH(issuers, dcr_vc_issuer *) = kit_issuer(pool, ISS, DCR_VC_KEYS_JWKS, s);
    free(s);
    json_decref(jwks);
    jwks = json_pack("{s:[o]}", "keys", kit_jwk(other_key, "k1"));
    s = json_dumps(jwks, 0);
    APR_ARRAY_PUSH(issuers, dcr_vc_issuer *) = kit_issuer(pool, ISS2, DCR_VC_KEYS_JWKS, s);
    free(s);
    json_decref(jwks);
    kit_vc_env(pool, NOW, issuers, &trust, &policy, &ctx);
    memset(bits, 0, sizeof bits);
    dcr_error_clear(&err);
}

static char *sign(json_t *payload, const char *typ, EVP_PKEY *key)
{
    json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", typ, "kid", "k1");
    char *jwt = kit_sign(pool, h, payload, key, "ES256");
    json_decref(h);
    json_decref(payload);
    return jwt;
}

/* A credential whose status is the given entry (object, array, NULL) and/or IETF claim. */
static char *credential(json_t *status_entry, json_t *token_status)
{
    json_t *p = json_pack("{s:[s], s:[s], s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "@context",
                          "https://www.w3.org/ns/credentials/v2", "type", "VerifiableCredential",
                          "issuer", ISS, "aud", KIT_AUD, "validFrom", "2026-11-01T00:00:00Z",
                          "validUntil", "2026-12-01T00:00:00Z", "credentialSubject", "id",
                          "https://agent.example.com", "client_name", "Agent");
    if (status_entry)
        json_object_set_new(p, "credentialStatus", status_entry);
    if (token_status)
        json_object_set_new(p, "status", json_pack("{s:o}", "status_list", token_status));
    return sign(p, "vc+jwt", ec_key);
}

static json_t *entry(const char *type, const char *purpose, const char *index)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "type", type, "statusPurpose", purpose,
                     "statusListIndex", index, "statusListCredential", LIST_URL);
}

/* Primes the cache with a W3C list credential over `bits`. */
static void publish_w3c(const char *list_type, const char *purpose, size_t nbytes, bool multibase,
                        EVP_PKEY *key, const char *issuer)
{
    const char *subject_type = strcmp(list_type, "StatusList2021Credential") == 0
                                   ? "StatusList2021"
                                   : "BitstringStatusList";
    json_t *p =
        json_pack("{s:[s], s:[s,s], s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "@context",
                  "https://www.w3.org/ns/credentials/v2", "type", "VerifiableCredential", list_type,
                  "issuer", issuer, "validFrom", "2026-11-01T00:00:00Z", "credentialSubject", "id",
                  LIST_URL "#list", "type", subject_type, "statusPurpose", purpose, "encodedList",
                  kit_pack(pool, bits, nbytes, 31, multibase));
    char *jwt = sign(p, "vc+jwt", key);
    ck_assert(dcr_cache_set(ctx.cache, pool, dcr_vc_status_cache_key(pool, LIST_URL), jwt,
                            strlen(jwt), NOW + 300));
}

/* Primes the cache with an IETF status list token (2-bit entries) over `bits`. */
static void publish_token(const char *typ, const char *sub, long long exp, EVP_PKEY *key)
{
    json_t *p = json_pack("{s:s, s:I, s:I, s:I, s:{s:i, s:s}}", "sub", sub, "iat",
                          (json_int_t)(NOW - 60), "exp", (json_int_t)exp, "ttl", (json_int_t)600,
                          "status_list", "bits", 2, "lst", kit_pack(pool, bits, 64, 15, false));
    char *jwt = sign(p, typ, key);
    ck_assert(dcr_cache_set(ctx.cache, pool, dcr_vc_status_cache_key(pool, TOKEN_URL), jwt,
                            strlen(jwt), NOW + 300));
}

static bool verify(const char *jwt)
{
    memset(&id, 0, sizeof id);
    return dcr_statement_verify(&ctx, jwt, strlen(jwt), &id, &err);
}

#define ck_refused(jwt, want, text)                                                                \
    do {                                                                                           \
        ck_assert_msg(!verify(jwt), "accepted");                                                   \
        ck_assert_msg(err.code == (want), "code %d: %s (%s)", err.code, err.description,           \
                      err.detail);                                                                 \
        ck_assert_msg(strstr(err.description, text), "%s", err.description);                       \
    } while (0)

START_TEST(bitstring_revocation)
{
    bits[11820] = 0x01; /* index 94567, MSB-first */
    bits[0] = 0x80;     /* index 0 */
    bits[16383] = 0x01; /* last index 131071 */
    publish_w3c("BitstringStatusListCredential", "revocation", sizeof bits, true, ec_key, ISS);
    ck_assert_msg(
        verify(credential(entry("BitstringStatusListEntry", "revocation", "94566"), NULL)),
        "%s (%s)", err.description, err.detail);
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "94567"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "revoked");
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "0"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "revoked");
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "131071"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "revoked");
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "131072"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "outside");
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "-1"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "statusListIndex");
    /* an array of entries: every one is checked */
    ck_refused(credential(json_pack("[o,o]", entry("BitstringStatusListEntry", "revocation", "5"),
                                    entry("BitstringStatusListEntry", "revocation", "0")),
                          NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "revoked");
    /* the list serves revocation, not suspension */
    ck_refused(credential(entry("BitstringStatusListEntry", "suspension", "5"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "statusPurpose");
    /* refresh entries do not decide validity; unknown types are ignored */
    ck_assert(verify(credential(entry("BitstringStatusListEntry", "refresh", "0"), NULL)));
    ck_assert(verify(credential(entry("SomeFutureStatus", "revocation", "0"), NULL)));
}
END_TEST

START_TEST(bitstring_suspension_and_size)
{
    json_t *e;
    bits[1] = 0x04; /* index 13 */
    bits[2] = 0x40; /* 2-bit entry 8 = 0b01 (bits 16,17 -> 0,1) */
    publish_w3c("BitstringStatusListCredential", "suspension", sizeof bits, true, ec_key, ISS);
    ck_refused(credential(entry("BitstringStatusListEntry", "suspension", "13"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "suspended");
    ck_assert(verify(credential(entry("BitstringStatusListEntry", "suspension", "12"), NULL)));
    e = entry("BitstringStatusListEntry", "suspension", "8");
    json_object_set_new(e, "statusSize", json_integer(2));
    ck_refused(credential(e, NULL), DCR_ERR_INVALID_SOFTWARE_STATEMENT, "suspended");
    e = entry("BitstringStatusListEntry", "suspension", "9");
    json_object_set_new(e, "statusSize", json_integer(2));
    ck_assert(verify(credential(e, NULL)));
    e = entry("BitstringStatusListEntry", "suspension", "9");
    json_object_set_new(e, "statusSize", json_integer(9));
    ck_refused(credential(e, NULL), DCR_ERR_INVALID_SOFTWARE_STATEMENT, "statusSize");
}
END_TEST

START_TEST(statuslist2021_plain_base64)
{
    bits[0] = 0x01; /* index 7 */
    publish_w3c("StatusList2021Credential", "revocation", sizeof bits, false, ec_key, ISS);
    ck_refused(credential(entry("StatusList2021Entry", "revocation", "7"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "revoked");
    ck_assert(verify(credential(entry("StatusList2021Entry", "revocation", "6"), NULL)));
    /* a Bitstring entry pointing at a StatusList2021 credential: wrong list type */
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "6"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "wrong type");
}
END_TEST

START_TEST(bad_lists_refused)
{
    publish_w3c("BitstringStatusListCredential", "revocation", 1024, true, ec_key, ISS);
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "1"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "shorter");
    publish_w3c("BitstringStatusListCredential", "revocation", sizeof bits, true, other_key, ISS);
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "1"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "signature");
    publish_w3c("BitstringStatusListCredential", "revocation", sizeof bits, true, other_key,
                "https://rogue.example");
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "1"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "not from the credential's issuer");
    {
        const char *junk = "not a jwt";
        ck_assert(dcr_cache_set(ctx.cache, pool, dcr_vc_status_cache_key(pool, LIST_URL), junk,
                                strlen(junk), NOW + 300));
        ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "1"), NULL),
                   DCR_ERR_INVALID_SOFTWARE_STATEMENT, "JWS");
    }
}
END_TEST

/* Issue 5: a list signed by another configured issuer says nothing about ISS's credentials,
 * even with the bit clear (else issuer B could unrevoke issuer A's credentials). */
START_TEST(list_of_other_issuer_refused)
{
    bits[0] = 0x80; /* index 0 revoked in ISS's own list */
    publish_w3c("BitstringStatusListCredential", "revocation", sizeof bits, true, ec_key, ISS);
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "0"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "revoked");
    memset(bits, 0, sizeof bits); /* ISS2's list says index 0 is fine */
    publish_w3c("BitstringStatusListCredential", "revocation", sizeof bits, true, other_key, ISS2);
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "0"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "not from the credential's issuer");
    ck_assert_msg(strstr(err.detail, ISS2), "%s", err.detail);
    /* ISS2's key with ISS's name on it: the signature decides */
    publish_w3c("BitstringStatusListCredential", "revocation", sizeof bits, true, other_key, ISS);
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "0"), NULL),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "signature");
    /* and ISS's own clear list passes */
    publish_w3c("BitstringStatusListCredential", "revocation", sizeof bits, true, ec_key, ISS);
    ck_assert_msg(verify(credential(entry("BitstringStatusListEntry", "revocation", "0"), NULL)),
                  "%s (%s)", err.description, err.detail);
}
END_TEST

static json_t *ref(int idx)
{
    return json_pack("{s:i, s:s}", "idx", idx, "uri", TOKEN_URL);
}

START_TEST(token_status_list)
{
    bits[0] = (unsigned char)(0x2 | (0x1 << 2) | (0x3 << 6));
    publish_token("statuslist+jwt", TOKEN_URL, NOW + 3600, ec_key);
    ck_refused(credential(NULL, ref(0)), DCR_ERR_INVALID_SOFTWARE_STATEMENT, "suspended");
    ck_refused(credential(NULL, ref(1)), DCR_ERR_INVALID_SOFTWARE_STATEMENT, "revoked");
    ck_assert_msg(verify(credential(NULL, ref(2))), "%s (%s)", err.description, err.detail);
    ck_refused(credential(NULL, ref(3)), DCR_ERR_INVALID_SOFTWARE_STATEMENT, "not valid");
    ck_assert(verify(credential(NULL, ref(255))));
    ck_refused(credential(NULL, ref(256)), DCR_ERR_INVALID_SOFTWARE_STATEMENT, "outside");
    ck_refused(credential(NULL, json_pack("{s:s}", "uri", TOKEN_URL)),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "idx");
}
END_TEST

START_TEST(token_rules)
{
    publish_token("JWT", TOKEN_URL, NOW + 3600, ec_key);
    ck_refused(credential(NULL, ref(2)), DCR_ERR_INVALID_SOFTWARE_STATEMENT, "typ");
    publish_token("statuslist+jwt", ISS "/statuslists/8", NOW + 3600, ec_key);
    ck_refused(credential(NULL, ref(2)), DCR_ERR_INVALID_SOFTWARE_STATEMENT, "sub");
    publish_token("statuslist+jwt", TOKEN_URL, NOW - 120, ec_key);
    ck_refused(credential(NULL, ref(2)), DCR_ERR_INVALID_SOFTWARE_STATEMENT, "expired");
    publish_token("statuslist+jwt", TOKEN_URL, NOW + 3600, other_key);
    ck_refused(credential(NULL, ref(2)), DCR_ERR_INVALID_SOFTWARE_STATEMENT, "signature");
    publish_token("application/statuslist+jwt", TOKEN_URL, NOW + 3600, ec_key);
    ck_assert(verify(credential(NULL, ref(2))));
}
END_TEST

START_TEST(unavailable_list)
{
    dcr_fetch_conf fc;
    dcr_fetch_defaults(&fc);
    fc.timeout_ms = 2000;
    /* no cache entry and no fetching: unavailable */
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "1"), NULL),
               DCR_ERR_TEMPORARILY_UNAVAILABLE, "cannot be retrieved");
    /* a listed loopback port where nothing listens */
    fc.allow = dcr_words(pool, "127.0.0.1:9");
    trust.fetch = &fc;
    ck_refused(
        credential(NULL, json_pack("{s:i, s:s}", "idx", 1, "uri", "https://127.0.0.1:9/status")),
        DCR_ERR_TEMPORARILY_UNAVAILABLE, "cannot be retrieved");
    ck_assert_int_eq(dcr_error_status(err.code), 503);
    /* a URL neither on the issuer's host nor allowed: refused as a statement defect */
    ck_refused(credential(NULL, json_pack("{s:i, s:s}", "idx", 1, "uri",
                                          "https://elsewhere.example/status")),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "not allowed");
    ck_refused(
        credential(NULL, json_pack("{s:i, s:s}", "idx", 1, "uri", "http://127.0.0.1:9/status")),
        DCR_ERR_INVALID_SOFTWARE_STATEMENT, "not allowed");
    /* relaxed: an unreachable list no longer blocks */
    trust.status_unavailable_allow = true;
    ck_assert(verify(
        credential(NULL, json_pack("{s:i, s:s}", "idx", 1, "uri", "https://127.0.0.1:9/status"))));
    /* but a refused URL stays refused */
    ck_refused(credential(NULL, json_pack("{s:i, s:s}", "idx", 1, "uri",
                                          "https://elsewhere.example/status")),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT, "not allowed");
}
END_TEST

START_TEST(cache_expiry_honoured)
{
    bits[0] = 0x80;
    publish_w3c("BitstringStatusListCredential", "revocation", sizeof bits, true, ec_key, ISS);
    ck_assert(verify(credential(entry("BitstringStatusListEntry", "revocation", "1"), NULL)));
    ctx.now = NOW + 301; /* primed for 300 s */
    ck_refused(credential(entry("BitstringStatusListEntry", "revocation", "1"), NULL),
               DCR_ERR_TEMPORARILY_UNAVAILABLE, "cannot be retrieved");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vc_status");
    TCase *tc = unit_tcase("status");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, bitstring_revocation);
    tcase_add_test(tc, bitstring_suspension_and_size);
    tcase_add_test(tc, statuslist2021_plain_base64);
    tcase_add_test(tc, bad_lists_refused);
    tcase_add_test(tc, list_of_other_issuer_refused);
    tcase_add_test(tc, token_status_list);
    tcase_add_test(tc, token_rules);
    tcase_add_test(tc, unavailable_list);
    tcase_add_test(tc, cache_expiry_honoured);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    apr_initialize();
    dcr_fetch_global_init();
    return unit_run(suite(), CK_FORK_GETENV);
}
