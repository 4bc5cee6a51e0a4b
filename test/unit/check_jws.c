/* Compact JWS, JWK and JWKS: every alg with a real key, and the JOSE hygiene rules. */
#include "jws.h"

#include "b64.h"
#include "json.h"
#include "jwt_mint.h"
#include "unit.h"

#include <apr_strings.h>
#include <cjose/jwk.h>
#include <cjose/jws.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

static const char *PAYLOAD = "{\"sub\":\"spiffe://example.org/w\",\"exp\":2000000000}";

static dcr_jwk *import(EVP_PKEY *key, const char *alg)
{
    const char *why = NULL;
    json_t *j = mint_jwk(key, "k", NULL, alg);
    dcr_jwk *k = dcr_jwk_import(pool, j, &why);
    json_decref(j);
    ck_assert_msg(k != NULL, "import: %s", why);
    return k;
}

static char *header(const char *alg)
{
    return apr_psprintf(pool, "{\"alg\":\"%s\",\"kid\":\"k\",\"typ\":\"JWT\"}", alg);
}

/* Parses and verifies jwt with key; returns whether both passed. */
static bool parse_verify(const char *jwt, const dcr_jwk *key, dcr_error *err)
{
    dcr_jws jws;
    dcr_error_clear(err);
    return dcr_jws_parse(pool, jwt, strlen(jwt), dcr_jws_algs_vc, &jws, err) &&
           dcr_jws_verify(&jws, key, err);
}

/* cjose, an independent JOSE implementation, as an oracle for the same token and key. */
static bool cjose_verifies(const char *jwt, EVP_PKEY *key)
{
    json_t *j = mint_jwk(key, "k", NULL, NULL);
    char *text = json_dumps(j, JSON_COMPACT);
    cjose_err cerr;
    cjose_jwk_t *ck = cjose_jwk_import(text, strlen(text), &cerr);
    cjose_jws_t *cj = cjose_jws_import(jwt, strlen(jwt), &cerr);
    bool ok = ck && cj && cjose_jws_verify(cj, ck, &cerr);
    ck_assert_ptr_nonnull(ck);
    cjose_jws_release(cj);
    cjose_jwk_release(ck);
    free(text);
    json_decref(j);
    return ok;
}

static const struct {
    const char *alg, *key;
} good[] = {{"ES256", "P-256"}, {"ES384", "P-384"},  {"ES512", "P-521"}, {"RS256", "RSA"},
            {"RS384", "RSA"},   {"RS512", "RSA"},    {"PS256", "RSA"},   {"PS384", "RSA"},
            {"PS512", "RSA"},   {"EdDSA", "Ed25519"}};

START_TEST(every_alg_verifies_and_detects_tampering)
{
    EVP_PKEY *key = mint_key(good[_i].key);
    const dcr_jwk *k = import(key, NULL);
    char *jwt = mint_jwt(pool, key, good[_i].alg, header(good[_i].alg), PAYLOAD);
    char *tampered, *dot;
    dcr_error err;

    ck_assert_msg(parse_verify(jwt, k, &err), "%s: %s", good[_i].alg, err.detail);
    if (strcmp(good[_i].alg, "EdDSA") != 0) /* cjose 0.6.2 has no EdDSA */
        ck_assert_msg(cjose_verifies(jwt, key), "cjose disagrees on %s", good[_i].alg);
    /* Another payload under the same signature. */
    dot = strchr(jwt, '.');
    tampered = apr_pstrcat(pool, apr_pstrmemdup(pool, jwt, (apr_size_t)(dot - jwt + 1)),
                           mint_b64url(pool, "{\"sub\":\"x\"}", 11), strrchr(jwt, '.'), NULL);
    ck_assert(!parse_verify(tampered, k, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    if (strcmp(good[_i].alg, "EdDSA") != 0)
        ck_assert(!cjose_verifies(tampered, key));
    /* A fresh key of the same kind does not verify it. */
    {
        EVP_PKEY *other = mint_new_key(good[_i].key);
        ck_assert(!parse_verify(jwt, import(other, NULL), &err));
        EVP_PKEY_free(other);
    }
}
END_TEST

START_TEST(key_must_fit_alg)
{
    static const struct {
        const char *alg, *sign_key, *verify_key;
    } bad[] = {{"ES256", "P-256", "RSA"},   {"ES384", "P-384", "P-256"},
               {"ES256", "P-256", "P-384"}, {"ES512", "P-521", "P-384"},
               {"RS256", "RSA", "P-256"},   {"PS256", "RSA", "Ed25519"},
               {"EdDSA", "Ed25519", "RSA"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *jwt =
            mint_jwt(pool, mint_key(bad[i].sign_key), bad[i].alg, header(bad[i].alg), PAYLOAD);
        dcr_error err;
        ck_assert_msg(!parse_verify(jwt, import(mint_key(bad[i].verify_key), NULL), &err),
                      "%s accepted a %s key", bad[i].alg, bad[i].verify_key);
        ck_assert_int_eq(err.code, DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    }
    /* The JWK's own alg must equal the token's. */
    ck_assert(dcr_jwk_fits_alg(import(mint_key("RSA"), "RS256"), "RS256"));
    ck_assert(!dcr_jwk_fits_alg(import(mint_key("RSA"), "RS256"), "PS256"));
    ck_assert(!dcr_jwk_fits_alg(import(mint_key("P-256"), NULL), "ES256K"));
    ck_assert(!dcr_jwk_fits_alg(import(mint_key("P-256"), NULL), "ES2566"));
}
END_TEST

START_TEST(rs_and_ps_are_not_interchangeable)
{
    EVP_PKEY *key = mint_key("RSA");
    /* Signed as PKCS#1 v1.5 but labelled PS256, and the reverse. */
    const char *h_ps = header("PS256"), *h_rs = header("RS256");
    char *in = apr_pstrcat(pool, mint_b64url(pool, h_ps, strlen(h_ps)), ".",
                           mint_b64url(pool, PAYLOAD, strlen(PAYLOAD)), NULL);
    size_t n;
    unsigned char *sig = mint_sign(pool, key, "RS256", in, strlen(in), &n);
    dcr_error err;
    ck_assert(!parse_verify(apr_pstrcat(pool, in, ".", mint_b64url(pool, sig, n), NULL),
                            import(key, NULL), &err));
    in = apr_pstrcat(pool, mint_b64url(pool, h_rs, strlen(h_rs)), ".",
                     mint_b64url(pool, PAYLOAD, strlen(PAYLOAD)), NULL);
    sig = mint_sign(pool, key, "PS256", in, strlen(in), &n);
    ck_assert(!parse_verify(apr_pstrcat(pool, in, ".", mint_b64url(pool, sig, n), NULL),
                            import(key, NULL), &err));
}
END_TEST

START_TEST(es_signature_must_have_exact_raw_length)
{
    EVP_PKEY *key = mint_key("P-256");
    const char *h = header("ES256");
    char *in = apr_pstrcat(pool, mint_b64url(pool, h, strlen(h)), ".",
                           mint_b64url(pool, PAYLOAD, strlen(PAYLOAD)), NULL);
    size_t n;
    unsigned char *sig = mint_sign(pool, key, "ES256", in, strlen(in), &n), *der, *p;
    ECDSA_SIG *es;
    BIGNUM *r, *s;
    int dlen;
    dcr_error err;

    ck_assert_uint_eq(n, 64);
    ck_assert(parse_verify(apr_pstrcat(pool, in, ".", mint_b64url(pool, sig, n), NULL),
                           import(key, NULL), &err));
    /* One byte short, one byte long. */
    ck_assert(!parse_verify(apr_pstrcat(pool, in, ".", mint_b64url(pool, sig, 63), NULL),
                            import(key, NULL), &err));
    ck_assert_ptr_nonnull(strstr(err.detail, "63 bytes"));
    {
        unsigned char *longer = apr_pcalloc(pool, 65);
        memcpy(longer + 1, sig, 64);
        ck_assert(!parse_verify(apr_pstrcat(pool, in, ".", mint_b64url(pool, longer, 65), NULL),
                                import(key, NULL), &err));
    }
    /* The same signature DER-encoded (what OpenSSL emits) is not a JWS signature. */
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, 32, NULL);
    s = BN_bin2bn(sig + 32, 32, NULL);
    ECDSA_SIG_set0(es, r, s);
    dlen = i2d_ECDSA_SIG(es, NULL);
    der = p = apr_palloc(pool, (apr_size_t)dlen);
    i2d_ECDSA_SIG(es, &p);
    ECDSA_SIG_free(es);
    ck_assert(!parse_verify(apr_pstrcat(pool, in, ".", mint_b64url(pool, der, (size_t)dlen), NULL),
                            import(key, NULL), &err));
}
END_TEST

START_TEST(alg_confusion_hs256_with_public_key_bytes)
{
    EVP_PKEY *key = mint_key("RSA");
    size_t pem_len;
    char *pem = mint_pem(pool, key, &pem_len);
    char *jwt = mint_jwt_hs256(pool, (const unsigned char *)pem, pem_len, header("HS256"), PAYLOAD);
    dcr_jws jws;
    dcr_error err;
    ck_assert(!dcr_jws_parse(pool, jwt, strlen(jwt), dcr_jws_algs_vc, &jws, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_ptr_nonnull(strstr(err.detail, "HS256"));
    /* Even a forged parse result with HS256 never verifies against an RSA key. */
    jws.alg = "HS256";
    jws.header = json_object();
    jws.signing_input = "a.b";
    jws.signing_input_len = 3;
    jws.sig = (unsigned char *)"0123456789abcdef0123456789abcdef";
    jws.sig_len = 32;
    ck_assert(!dcr_jws_verify(&jws, import(key, NULL), &err));
    json_decref(jws.header);
}
END_TEST

static bool parses(const char *jwt, const char *const *algs, dcr_error *err)
{
    dcr_jws jws;
    dcr_error_clear(err);
    return dcr_jws_parse(pool, jwt, strlen(jwt), algs, &jws, err);
}

static char *unsigned_jwt(const char *h, const char *p)
{
    return apr_pstrcat(pool, mint_b64url(pool, h, strlen(h)), ".", mint_b64url(pool, p, strlen(p)),
                       ".c2ln", NULL);
}

START_TEST(alg_rules)
{
    dcr_error err;
    ck_assert(parses(unsigned_jwt("{\"alg\":\"ES256\"}", "{}"), dcr_jws_algs_svid, &err));
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"none\"}", "{}"), dcr_jws_algs_vc, &err));
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"EdDSA\"}", "{}"), dcr_jws_algs_svid, &err));
    ck_assert(parses(unsigned_jwt("{\"alg\":\"EdDSA\"}", "{}"), dcr_jws_algs_vc, &err));
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"es256\"}", "{}"), dcr_jws_algs_svid, &err));
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"ES256K\"}", "{}"), dcr_jws_algs_svid, &err));
    ck_assert(!parses(unsigned_jwt("{\"kid\":\"k\"}", "{}"), dcr_jws_algs_svid, &err));
    ck_assert(!parses(unsigned_jwt("{\"alg\":[\"ES256\"]}", "{}"), dcr_jws_algs_svid, &err));
    /* alg is judged before the payload is even decoded. */
    ck_assert(!parses(apr_pstrcat(pool, mint_b64url(pool, "{\"alg\":\"none\"}", 14), ".!!.x", NULL),
                      dcr_jws_algs_svid, &err));
    ck_assert_ptr_nonnull(strstr(err.detail, "allow-list"));
}
END_TEST

/* Parts parsed beforehand (to choose the profile) give the same JWS, under the same rules. */
START_TEST(peeked_parts_parse_alike)
{
    const char *jwt = unsigned_jwt("{\"alg\":\"ES256\",\"kid\":\"k\"}", "{\"sub\":\"s\"}");
    const char *dot1 = strchr(jwt, '.'), *dot2 = strchr(dot1 + 1, '.');
    json_t *h = dcr_jws_peek_part(pool, jwt, (size_t)(dot1 - jwt));
    json_t *p = dcr_jws_peek_part(pool, dot1 + 1, (size_t)(dot2 - dot1 - 1));
    dcr_jws a, b;
    dcr_error err;
    ck_assert(h && p);
    ck_assert(dcr_jws_parse(pool, jwt, strlen(jwt), dcr_jws_algs_svid, &a, &err));
    ck_assert(dcr_jws_parse_peeked(pool, jwt, strlen(jwt), h, p, dcr_jws_algs_svid, &b, &err));
    ck_assert_ptr_eq(b.header, h); /* used as given, not decoded again */
    ck_assert_ptr_eq(b.payload, p);
    ck_assert_str_eq(a.alg, b.alg);
    ck_assert_str_eq(a.kid, b.kid);
    ck_assert(json_equal(a.header, b.header) && json_equal(a.payload, b.payload));
    ck_assert_str_eq(a.signing_input, b.signing_input);
    ck_assert_mem_eq(a.sig, b.sig, a.sig_len);
    /* the allow-list still judges a peeked header */
    jwt = unsigned_jwt("{\"alg\":\"none\"}", "{}");
    dot1 = strchr(jwt, '.');
    h = dcr_jws_peek_part(pool, jwt, (size_t)(dot1 - jwt));
    ck_assert(!dcr_jws_parse_peeked(pool, jwt, strlen(jwt), h, NULL, dcr_jws_algs_svid, &b, &err));
    ck_assert_ptr_nonnull(strstr(err.detail, "allow-list"));
    /* not an object, not base64url: no part */
    ck_assert_ptr_null(dcr_jws_peek_part(pool, "WzFd", 4)); /* [1] */
    ck_assert_ptr_null(dcr_jws_peek_part(pool, "e30=", 4)); /* padded */
}
END_TEST

START_TEST(header_rules)
{
    dcr_error err;
    dcr_jws jws;
    const char *which = NULL;
    static const char *const names[] = {"jku", "x5u", "jwk", "x5c", NULL};
    char *jwt;
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"ES256\",\"crit\":[\"exp\"]}", "{}"),
                      dcr_jws_algs_svid, &err));
    ck_assert_ptr_nonnull(strstr(err.description, "crit"));
    ck_assert(
        !parses(unsigned_jwt("{\"alg\":\"ES256\",\"kid\":7}", "{}"), dcr_jws_algs_svid, &err));
    ck_assert(
        !parses(unsigned_jwt("{\"alg\":\"ES256\",\"typ\":null}", "{}"), dcr_jws_algs_svid, &err));
    jwt = unsigned_jwt("{\"alg\":\"ES256\",\"kid\":\"a\",\"typ\":\"JOSE\",\"x5u\":\"https://x\"}",
                       "{}");
    ck_assert(dcr_jws_parse(pool, jwt, strlen(jwt), dcr_jws_algs_svid, &jws, &err));
    ck_assert_str_eq(jws.kid, "a");
    ck_assert_str_eq(jws.typ, "JOSE");
    ck_assert(dcr_jws_has_header(&jws, names, &which));
    ck_assert_str_eq(which, "x5u");
    jwt = unsigned_jwt("{\"alg\":\"ES256\"}", "{}");
    ck_assert(dcr_jws_parse(pool, jwt, strlen(jwt), dcr_jws_algs_svid, &jws, &err));
    ck_assert(!dcr_jws_has_header(&jws, names, &which));
    ck_assert_ptr_null(jws.kid);
}
END_TEST

START_TEST(duplicates_and_non_objects)
{
    dcr_error err;
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"ES256\",\"alg\":\"none\"}", "{}"), dcr_jws_algs_svid,
                      &err));
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"ES256\",\"kid\":\"a\",\"kid\":\"b\"}", "{}"),
                      dcr_jws_algs_svid, &err));
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"ES256\"}", "{\"sub\":\"a\",\"sub\":\"b\"}"),
                      dcr_jws_algs_svid, &err));
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"ES256\"}", "[1]"), dcr_jws_algs_svid, &err));
    ck_assert(!parses(unsigned_jwt("[\"ES256\"]", "{}"), dcr_jws_algs_svid, &err));
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"ES256\"}", "{} {}"), dcr_jws_algs_svid, &err));
    /* jansson without JSON_ALLOW_NUL refuses an escaped NUL in a string */
    ck_assert(!parses(unsigned_jwt("{\"alg\":\"ES256\"}", "{\"a\":\"x\\u0000y\"}"),
                      dcr_jws_algs_svid, &err));
}
END_TEST

START_TEST(compact_form_and_base64url)
{
    dcr_error err;
    const char *h = "eyJhbGciOiJFUzI1NiJ9"; /* {"alg":"ES256"} */
    ck_assert(parses(apr_pstrcat(pool, h, ".e30.c2ln", NULL), dcr_jws_algs_svid, &err));
    ck_assert(!parses(apr_pstrcat(pool, h, ".e30", NULL), dcr_jws_algs_svid, &err));
    ck_assert(!parses(apr_pstrcat(pool, h, ".e30.c2ln.c2ln", NULL), dcr_jws_algs_svid, &err));
    ck_assert(!parses(apr_pstrcat(pool, h, ".e30.", NULL), dcr_jws_algs_svid, &err));
    ck_assert(!parses(apr_pstrcat(pool, h, "..c2ln", NULL), dcr_jws_algs_svid, &err));
    /* Padding, standard-alphabet characters, whitespace. */
    ck_assert(!parses(apr_pstrcat(pool, h, ".e30=.c2ln", NULL), dcr_jws_algs_svid, &err));
    ck_assert(!parses(apr_pstrcat(pool, h, "==.e30.c2ln", NULL), dcr_jws_algs_svid, &err));
    ck_assert(!parses(apr_pstrcat(pool, h, ".e30.c2l+", NULL), dcr_jws_algs_svid, &err));
    ck_assert(!parses(apr_pstrcat(pool, h, ".e30.c2l/", NULL), dcr_jws_algs_svid, &err));
    ck_assert(!parses(apr_pstrcat(pool, h, ".e3 0.c2ln", NULL), dcr_jws_algs_svid, &err));
    ck_assert(!parses(apr_pstrcat(pool, h, ".e30.c2ln\n", NULL), dcr_jws_algs_svid, &err));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* An embedded NUL inside the given length is refused, not truncated. */
    {
        char buf[64];
        dcr_jws jws;
        size_t n = (size_t)snprintf(buf, sizeof(buf), "%s.e30.c2ln", h);
        buf[n - 1] = '\0';
        ck_assert(!dcr_jws_parse(pool, buf, n, dcr_jws_algs_svid, &jws, &err));
    }
}
END_TEST

START_TEST(b64url_strict)
{
    size_t n;
    unsigned char *d = dcr_b64url_decode(pool, "QQ", 2, &n);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(d[0], 'A');
    ck_assert_ptr_null(dcr_b64url_decode(pool, "QR", 2, &n)); /* non-zero spare bits */
    ck_assert_ptr_null(dcr_b64url_decode(pool, "QQ==", 4, &n));
    ck_assert_ptr_null(dcr_b64url_decode(pool, "Q", 1, &n));
    ck_assert_ptr_null(dcr_b64url_decode(pool, "Q+==", 4, &n));
    d = dcr_b64url_decode(pool, "-_-_", 4, &n);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(d[0], 0xfb);
    d = dcr_b64url_decode(pool, "", 0, &n);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(jwk_import_rules)
{
    const char *why = NULL;
    json_t *j;
    dcr_jwk *k;

    /* Private material. */
    j = mint_jwk(mint_key("P-256"), "k", NULL, NULL);
    json_object_set_new(j, "d", json_string("AAAA"));
    ck_assert_ptr_null(dcr_jwk_import(pool, j, &why));
    json_decref(j);
    /* Short RSA. */
    j = mint_jwk(mint_key("RSA1024"), "k", NULL, NULL);
    ck_assert_ptr_null(dcr_jwk_import(pool, j, &why));
    ck_assert_ptr_nonnull(strstr(why, "2048"));
    json_decref(j);
    /* A point off the curve. */
    j = mint_jwk(mint_key("P-256"), "k", NULL, NULL);
    json_object_set_new(j, "y",
                        json_string(mint_b64url(pool, "0123456789abcdef0123456789abcdef", 32)));
    ck_assert_ptr_null(dcr_jwk_import(pool, j, &why));
    json_decref(j);
    /* Coordinates of the wrong size for the curve, wrong curve name. */
    j = mint_jwk(mint_key("P-384"), "k", NULL, NULL);
    json_object_set_new(j, "crv", json_string("P-256"));
    ck_assert_ptr_null(dcr_jwk_import(pool, j, &why));
    json_object_set_new(j, "crv", json_string("secp256k1"));
    ck_assert_ptr_null(dcr_jwk_import(pool, j, &why));
    json_decref(j);
    /* Unknown kty, missing kty, non-string kid, not an object. */
    j = json_pack("{s:s,s:s}", "kty", "oct", "k", "c2VjcmV0");
    ck_assert_ptr_null(dcr_jwk_import(pool, j, &why));
    json_object_del(j, "k");
    ck_assert_ptr_null(dcr_jwk_import(pool, j, &why));
    json_decref(j);
    j = mint_jwk(mint_key("RSA"), NULL, NULL, NULL);
    json_object_set_new(j, "kid", json_integer(1));
    ck_assert_ptr_null(dcr_jwk_import(pool, j, &why));
    json_object_del(j, "kty");
    json_object_set_new(j, "kid", json_string("x"));
    ck_assert_ptr_null(dcr_jwk_import(pool, j, &why));
    json_decref(j);
    j = json_array();
    ck_assert_ptr_null(dcr_jwk_import(pool, j, &why));
    json_decref(j);
    /* Members come back. */
    j = mint_jwk(mint_key("P-521"), "kid1", "jwt-svid", "ES512");
    k = dcr_jwk_import(pool, j, &why);
    json_decref(j);
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(dcr_jwk_kid(k), "kid1");
    ck_assert_str_eq(dcr_jwk_use(k), "jwt-svid");
    ck_assert_str_eq(dcr_jwk_alg(k), "ES512");
    ck_assert(dcr_jwk_fits_alg(k, "ES512"));
}
END_TEST

START_TEST(pem_and_evp_keys)
{
    size_t len;
    const char *why = NULL, *pem = mint_pem(pool, mint_key("P-384"), &len);
    dcr_jwk *k = dcr_jwk_from_pem(pool, pem, len, &why);
    char *jwt = mint_jwt(pool, mint_key("P-384"), "ES384", header("ES384"), PAYLOAD);
    dcr_error err;
    ck_assert_ptr_nonnull(k);
    ck_assert(parse_verify(jwt, k, &err));
    ck_assert_ptr_null(dcr_jwk_from_pem(pool, "garbage", 7, &why));
    pem = mint_pem(pool, mint_key("RSA1024"), &len);
    ck_assert_ptr_null(dcr_jwk_from_pem(pool, pem, len, &why));
    /* A certificate's key (the x5c / PEM certificate path). */
    {
        X509 *cert = X509_new();
        BIO *bio = BIO_new(BIO_s_mem());
        char *data;
        long n;
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), 0);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                                   (const unsigned char *)"issuer", -1, -1, 0);
        X509_set_issuer_name(cert, X509_get_subject_name(cert));
        X509_set_pubkey(cert, mint_key("P-384"));
        ck_assert_int_gt(X509_sign(cert, mint_key("P-384"), EVP_sha384()), 0);
        PEM_write_bio_X509(bio, cert);
        n = BIO_get_mem_data(bio, &data);
        k = dcr_jwk_from_pem(pool, data, (size_t)n, &why);
        ck_assert_msg(k != NULL, "%s", why);
        ck_assert(parse_verify(jwt, k, &err));
        ck_assert(!dcr_jwk_fits_alg(k, "ES256"));
        BIO_free(bio);
        X509_free(cert);
    }
    k = dcr_jwk_from_evp(pool, mint_key("P-384"), "x", &why);
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(dcr_jwk_kid(k), "x");
    ck_assert(parse_verify(jwt, k, &err));
}
END_TEST

static int warnings;
static void count_warn(void *baton, const char *msg)
{
    (void)baton;
    (void)msg;
    warnings++;
}

static bool keep_sig(const char *use)
{
    return !use || strcmp(use, "sig") == 0;
}

START_TEST(jwks_parse_rules)
{
    const char *why = NULL;
    json_t *set = json_pack("{s:[o,o,o,s,o]}", "keys", mint_jwk(mint_key("P-256"), "a", NULL, NULL),
                            mint_jwk(mint_key("RSA"), "b", "sig", NULL),
                            mint_jwk(mint_key("P-384"), "c", "enc", NULL), "not a key",
                            json_pack("{s:s}", "kty", "EC"));
    dcr_jwks *jwks;
    warnings = 0;
    jwks = dcr_jwks_parse(pool, set, keep_sig, count_warn, NULL, &why);
    ck_assert_ptr_nonnull(jwks);
    ck_assert_int_eq(jwks->nkeys, 2); /* enc skipped by keep; two bad entries warned */
    ck_assert_int_eq(warnings, 2);
    ck_assert_ptr_nonnull(dcr_jwks_find(jwks, "a"));
    ck_assert_ptr_nonnull(dcr_jwks_find(jwks, "b"));
    ck_assert_ptr_null(dcr_jwks_find(jwks, "c"));
    ck_assert_ptr_null(dcr_jwks_find(jwks, NULL));
    /* Duplicate kid among kept keys: the whole set is refused. */
    json_array_append_new(json_object_get(set, "keys"),
                          mint_jwk(mint_key("P-521"), "a", NULL, NULL));
    ck_assert_ptr_null(dcr_jwks_parse(pool, set, keep_sig, NULL, NULL, &why));
    ck_assert_ptr_nonnull(strstr(why, "duplicate"));
    json_decref(set);
    set = json_pack("{s:{}}", "keys");
    ck_assert_ptr_null(dcr_jwks_parse(pool, set, keep_sig, NULL, NULL, &why));
    json_decref(set);
    set = json_pack("{s:[]}", "keys");
    jwks = dcr_jwks_parse(pool, set, keep_sig, NULL, NULL, &why);
    ck_assert_ptr_nonnull(jwks);
    ck_assert_int_eq(jwks->nkeys, 0);
    json_decref(set);
}
END_TEST

START_TEST(numeric_dates)
{
    json_t *p =
        json_pack("{s:i,s:f,s:i,s:f,s:s,s:f,s:b}", "ok", 1700000000, "real", 1700000000.5, "neg",
                  -1, "huge", 1e300, "str", "1700000000", "big", 9007199254740992.0, "bool", 1);
    long long v;
    bool present;
    const char *why = NULL;
    ck_assert(dcr_jwt_numeric_date(p, "ok", &v, &present, &why));
    ck_assert(present);
    ck_assert_int_eq(v, 1700000000);
    ck_assert(dcr_jwt_numeric_date(p, "real", &v, &present, &why));
    ck_assert_int_eq(v, 1700000000);
    ck_assert(dcr_jwt_numeric_date(p, "absent", &v, &present, &why));
    ck_assert(!present);
    ck_assert(!dcr_jwt_numeric_date(p, "neg", &v, &present, &why));
    ck_assert(!dcr_jwt_numeric_date(p, "huge", &v, &present, &why));
    ck_assert(!dcr_jwt_numeric_date(p, "str", &v, &present, &why));
    ck_assert(!dcr_jwt_numeric_date(p, "big", &v, &present, &why));
    ck_assert(!dcr_jwt_numeric_date(p, "bool", &v, &present, &why));
    json_decref(p);
}
END_TEST

static Suite *jws_suite(void)
{
    Suite *s = suite_create("jws");
    TCase *tc = unit_tcase("jws");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, every_alg_verifies_and_detects_tampering, 0,
                        (int)(sizeof(good) / sizeof(good[0])));
    tcase_add_test(tc, key_must_fit_alg);
    tcase_add_test(tc, rs_and_ps_are_not_interchangeable);
    tcase_add_test(tc, es_signature_must_have_exact_raw_length);
    tcase_add_test(tc, alg_confusion_hs256_with_public_key_bytes);
    tcase_add_test(tc, alg_rules);
    tcase_add_test(tc, header_rules);
    tcase_add_test(tc, peeked_parts_parse_alike);
    tcase_add_test(tc, duplicates_and_non_objects);
    tcase_add_test(tc, compact_form_and_base64url);
    tcase_add_test(tc, b64url_strict);
    tcase_add_test(tc, jwk_import_rules);
    tcase_add_test(tc, pem_and_evp_keys);
    tcase_add_test(tc, jwks_parse_rules);
    tcase_add_test(tc, numeric_dates);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(jws_suite)
