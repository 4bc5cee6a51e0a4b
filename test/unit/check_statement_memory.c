/* Single-use VCs through the whole registration (dcr_register): a VC bound to this endpoint
 * by aud alone registers once while it is valid; a refusal before it is spent (metadata) does
 * not spend it; a VC bound to a holder key (cnf.jwk) is not single use and pins the client to
 * that key. The store is the memstore (its op has its own contract tests in store_contract). */
#include "registrar_fixture.h"

#include "b64.h"
#include "statement_memory.h"
#include "vc.h"
#include "vc_kit.h"
#include "vc_payload.h"

#include <openssl/bn.h>

#define ISS "https://issuer.example.org"

static EVP_PKEY *issuer_key, *holder_key;
static struct dcr_vc_trust trust;

static void setup(void)
{
    json_t *jwks;
    char *s;
    apr_array_header_t *issuers = apr_array_make(pool, 1, sizeof(dcr_vc_issuer *));
    issuer_key = kit_key(pool, "EC");
    holder_key = kit_key(pool, "EC");
    jwks = json_pack("{s:[o]}", "keys", kit_jwk(issuer_key, "k1"));
    s = json_dumps(jwks, 0);
    APR_ARRAY_PUSH(issuers, dcr_vc_issuer *) = kit_issuer(pool, ISS, DCR_VC_KEYS_JWKS, s);
    free(s);
    json_decref(jwks);
    dcr_vc_trust_defaults(&trust);
    trust.issuers = issuers;
    policy.vc = &trust;
    policy.audiences = dcr_words(pool, ENDPOINT);
}

/* A new VCDM 2.0 credential (its own id) valid [NOW-60, NOW+600] for the subject, with aud
 * and/or cnf. */
static const char *credential(const char *aud, bool cnf)
{
    json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "vc+jwt", "kid", "k1");
    json_t *p =
        json_pack("{s:[s], s:[s], s:s, s:I, s:I, s:{s:s, s:s}}", "@context", DCR_VC_CONTEXT_V2,
                  "type", "VerifiableCredential", "issuer", ISS, "iat", (json_int_t)(NOW - 60),
                  "exp", (json_int_t)(NOW + 600), "credentialSubject", "id",
                  "https://agent.example.com", "client_name", "Agent");
    char *jwt;
    static int serial;
    json_object_set_new(p, "id", json_string(apr_psprintf(pool, "urn:uuid:vc-%d", ++serial)));
    if (aud)
        json_object_set_new(p, "aud", json_string(aud));
    if (cnf)
        json_object_set_new(p, "cnf", json_pack("{s:o}", "jwk", kit_jwk(holder_key, "h")));
    jwt = kit_sign(pool, h, p, issuer_key, "ES256");
    json_decref(h);
    json_decref(p);
    return jwt;
}

/* a grant any client may have: client_credentials would need keys (public clients lose it) */
#define CODE_GRANT "\"grant_types\":[\"authorization_code\"]"
#define CALLBACK ",\"redirect_uris\":[\"https://agent.example.com/cb\"]"

static const char *body_with(const char *statement, const char *extra)
{
    bool own_redirects = extra && strstr(extra, "\"redirect_uris\"");
    return apr_psprintf(pool, "{" CODE_GRANT "%s,\"software_statement\":\"%s\"%s%s}",
                        own_redirects ? "" : CALLBACK, statement, extra ? "," : "",
                        extra ? extra : "");
}

START_TEST(aud_bound_vc_registers_once)
{
    dcr_response res;
    const char *vc = credential(ENDPOINT, false);
    json_t *j = post(body_with(vc, NULL), &res);
    ck_assert_msg(res.status == 201, "%s", res.body);
    ck_assert_uint_eq(memstore_count(store), 1);
    ck_assert_uint_eq(memstore_used_count(store), 1);
    /* the copy, with other metadata: refused, and the store is as it was */
    j = post(body_with(vc, "\"client_name\":\"Thief\",\"jwks_uri\":\"https://evil.example/k\""),
             &res);
    assert_error(j, &res, 400, "invalid_software_statement");
    ck_assert_msg(strstr(dcr_json_string(j, "error_description"), "already used"), "%s", res.body);
    ck_assert_uint_eq(memstore_count(store), 1);
    ck_assert_uint_eq(memstore_used_count(store), 1);
    /* another credential of the same subject is its own statement */
    req.now = NOW + 1;
    j = post(body_with(credential(ENDPOINT, false), NULL), &res);
    ck_assert_msg(res.status == 201, "%s", res.body);
    ck_assert_uint_eq(memstore_used_count(store), 2);
}
END_TEST

/* The same credential with its ES256 signature's s replaced by n - s: still valid (ECDSA is
 * malleable), a different text. */
static const char *malleated(const char *jws)
{
    static const char *n_hex = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
    const char *dot = strrchr(jws, '.');
    size_t len = 0;
    unsigned char *sig = dcr_b64url_decode(pool, dot + 1, strlen(dot + 1), &len);
    BIGNUM *n = NULL, *sv = BN_bin2bn(sig + 32, 32, NULL);
    ck_assert_uint_eq(len, 64);
    ck_assert(BN_hex2bn(&n, n_hex) > 0);
    ck_assert(BN_sub(sv, n, sv));
    ck_assert_int_eq(BN_bn2binpad(sv, sig + 32, 32), 32);
    BN_free(n);
    BN_free(sv);
    return apr_pstrcat(pool, apr_pstrndup(pool, jws, (apr_size_t)(dot - jws + 1)),
                       kit_b64url(pool, sig, 64), NULL);
}

START_TEST(a_re_encoded_signature_is_the_same_statement)
{
    dcr_response res;
    const char *vc = credential(ENDPOINT, false), *copy = malleated(vc);
    json_t *j;
    ck_assert_str_ne(vc, copy);
    j = post(body_with(vc, NULL), &res);
    ck_assert_msg(res.status == 201, "%s", res.body);
    j = post(body_with(copy, NULL), &res);
    assert_error(j, &res, 400, "invalid_software_statement");
    ck_assert_msg(strstr(dcr_json_string(j, "error_description"), "already used"), "%s", res.body);
    ck_assert_uint_eq(memstore_count(store), 1);
}
END_TEST

START_TEST(statement_hash_is_of_the_signed_part)
{
    char a[DCR_TOKEN_HASH_HEX + 1], b[DCR_TOKEN_HASH_HEX + 1], c[DCR_TOKEN_HASH_HEX + 1];
    dcr_statement_hash(pool, "aGVhZA.cGF5bG9hZA.c2ln", a);
    dcr_statement_hash(pool, "aGVhZA.cGF5bG9hZA.b3RoZXI", b);
    dcr_token_hash("aGVhZA.cGF5bG9hZA", c);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, c);
    dcr_statement_hash(pool, "aGVhZA.cGF5bG9hZB.c2ln", b);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(refused_metadata_does_not_spend_it)
{
    dcr_response res;
    const char *vc = credential(ENDPOINT, false);
    json_t *j = post(body_with(vc, "\"redirect_uris\":[\"ftp://agent.example.com/cb\"]"), &res);
    assert_error(j, &res, 400, "invalid_redirect_uri");
    ck_assert_uint_eq(memstore_used_count(store), 0);
    ck_assert_uint_eq(memstore_count(store), 0);
    j = post(body_with(vc, NULL), &res);
    ck_assert_msg(res.status == 201, "%s", res.body);
}
END_TEST

START_TEST(unbound_vc_stores_nothing)
{
    dcr_response res;
    json_t *j = post(body_with(credential(NULL, false), NULL), &res);
    assert_error(j, &res, 400, "invalid_software_statement");
    j = post(body_with(credential("https://other.example/register", false), NULL), &res);
    assert_error(j, &res, 400, "invalid_software_statement");
    ck_assert_uint_eq(memstore_count(store), 0);
    ck_assert_uint_eq(memstore_used_count(store), 0);
}
END_TEST

START_TEST(store_down_when_remembering_is_503)
{
    dcr_response res;
    json_t *j;
    memstore_set_down(store, true);
    j = post(body_with(credential(ENDPOINT, false), NULL), &res);
    assert_error(j, &res, 503, "temporarily_unavailable");
}
END_TEST

START_TEST(cnf_bound_vc_pins_the_key_and_is_reusable)
{
    dcr_response res;
    const char *vc = credential(NULL, true);
    json_t *want = json_pack("{s:[o]}", "keys", kit_jwk(holder_key, "h"));
    /* the request asks for its own keys and a secret: the holder key wins */
    trust.auth_method = "client_secret_basic";
    json_t *j = post(body_with(vc, "\"jwks_uri\":\"https://evil.example/jwks\","
                                   "\"token_endpoint_auth_method\":\"client_secret_post\""),
                     &res);
    ck_assert_msg(res.status == 201, "%s", res.body);
    ck_assert_str_eq(dcr_json_string(j, "token_endpoint_auth_method"), "private_key_jwt");
    ck_assert_msg(json_equal(json_object_get(j, "jwks"), want), "%s", res.body);
    ck_assert_ptr_null(json_object_get(j, "jwks_uri"));
    ck_assert_ptr_null(json_object_get(j, "client_secret"));
    ck_assert_uint_eq(memstore_used_count(store), 0);
    /* a request jwks is replaced the same way, and presenting it again is fine */
    j = post(body_with(vc, "\"jwks\":{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}"), &res);
    ck_assert_msg(res.status == 201, "%s", res.body);
    ck_assert_msg(json_equal(json_object_get(j, "jwks"), want), "%s", res.body);
    json_decref(want);
}
END_TEST

/* A fresh single-use VC sent in an RFC 7592 update is spent there too: it cannot register a
 * client of its own afterwards. */
START_TEST(update_spends_a_fresh_single_use_vc)
{
    dcr_response res;
    json_t *j = post(body_with(credential(ENDPOINT, false), NULL), &res);
    ck_assert_msg(res.status == 201, "%s", res.body);
    const char *id = apr_pstrdup(pool, dcr_json_string(j, "client_id"));
    const char *token = apr_pstrdup(pool, dcr_json_string(j, "registration_access_token"));
    const char *fresh = credential(ENDPOINT, false);
    j = call(dcr_update, id, token,
             apr_psprintf(pool,
                          "{\"client_id\":\"%s\"," CODE_GRANT CALLBACK
                          ",\"software_statement\":\"%s\"}",
                          id, fresh),
             &res);
    ck_assert_msg(res.status == 200, "%s", res.body);
    ck_assert_uint_eq(memstore_used_count(store), 2);
    j = post(body_with(fresh, NULL), &res);
    assert_error(j, &res, 400, "invalid_software_statement");
    ck_assert_uint_eq(memstore_count(store), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("statement_memory");
    TCase *tc = fixture_tcase("single use");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, aud_bound_vc_registers_once);
    tcase_add_test(tc, update_spends_a_fresh_single_use_vc);
    tcase_add_test(tc, a_re_encoded_signature_is_the_same_statement);
    tcase_add_test(tc, statement_hash_is_of_the_signed_part);
    tcase_add_test(tc, refused_metadata_does_not_spend_it);
    tcase_add_test(tc, unbound_vc_stores_nothing);
    tcase_add_test(tc, store_down_when_remembering_is_503);
    tcase_add_test(tc, cnf_bound_vc_pins_the_key_and_is_reusable);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
