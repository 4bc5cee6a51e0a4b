/* Compact JWS parsing and signature checks. Signatures are verified with OpenSSL EVP directly
 * rather than cjose 0.6.2: one code path covers RS/PS/ES/EdDSA, PS gets an explicit salt
 * length, and keys from JWK, PEM and x5c are all EVP_PKEYs (cjose cannot load the latter two).
 * Key import and JWKS parsing live in jwk.c. */
#include "jws.h"

#include "b64.h"
#include "json.h"
#include "jwk.h"

#include <apr_strings.h>
#include <math.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <string.h>

const char *const dcr_jws_algs_svid[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                         "PS512", "ES256", "ES384", "ES512", NULL};
const char *const dcr_jws_algs_vc[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                       "ES256", "ES384", "ES512", "EdDSA", NULL};

#define JWS_MAX_JSON_DEPTH 8

static bool alg_allowed(const char *alg, const char *const *allowed)
{
    for (; allowed && *allowed; allowed++)
        if (strcmp(alg, *allowed) == 0)
            return true;
    return false;
}

static json_t *decode_object(apr_pool_t *pool, const char *b64, size_t len, const char *what,
                             dcr_error *err)
{
    size_t n;
    const char *why = NULL;
    json_t *j;
    unsigned char *raw = dcr_b64url_decode(pool, b64, len, &n);
    if (!raw) {
        dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                 "software_statement is not strict base64url", "%s is not unpadded base64url",
                 what);
        return NULL;
    }
    j = dcr_json_parse(pool, (const char *)raw, n, JWS_MAX_JSON_DEPTH, &why);
    if (!json_is_object(j)) {
        dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                 "software_statement header or payload is not a valid JSON object", "JWS %s: %s",
                 what, j ? "not an object" : why);
        return NULL;
    }
    return j;
}

/* Optional string header member: absent is fine, any other type is not. */
static bool header_string(const json_t *header, const char *name, const char **out, dcr_error *err)
{
    const json_t *v = json_object_get(header, name);
    *out = NULL;
    if (!v)
        return true;
    if (!json_is_string(v))
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement header member has the wrong type",
                        "JWS header %s is not a string", name);
    *out = json_string_value(v);
    return true;
}

json_t *dcr_jws_peek_part(apr_pool_t *pool, const char *b64, size_t len)
{
    size_t n;
    const char *why;
    unsigned char *raw = dcr_b64url_decode(pool, b64, len, &n);
    json_t *j = raw ? dcr_json_parse(pool, (const char *)raw, n, JWS_MAX_JSON_DEPTH, &why) : NULL;
    return json_is_object(j) ? j : NULL;
}

bool dcr_jws_parse(apr_pool_t *pool, const char *compact, size_t len,
                   const char *const *allowed_algs, dcr_jws *out, dcr_error *err)
{
    return dcr_jws_parse_peeked(pool, compact, len, NULL, NULL, allowed_algs, out, err);
}

bool dcr_jws_parse_peeked(apr_pool_t *pool, const char *compact, size_t len, json_t *header,
                          json_t *payload, const char *const *allowed_algs, dcr_jws *out,
                          dcr_error *err)
{
    const char *dot1, *dot2;
    const json_t *alg;

    memset(out, 0, sizeof(*out));
    dot1 = compact ? memchr(compact, '.', len) : NULL;
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - compact)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - compact)))
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement is not a compact JWS (three parts)", NULL);

    /* alg before anything else: nothing but the header is decoded until it passes. */
    out->header =
        header ? header : decode_object(pool, compact, (size_t)(dot1 - compact), "header", err);
    if (!out->header)
        return false;
    alg = json_object_get(out->header, "alg");
    if (!json_is_string(alg))
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement has no signature algorithm",
                        "JWS header alg missing or not a string");
    if (!alg_allowed(json_string_value(alg), allowed_algs))
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement signature algorithm is not accepted",
                        "JWS alg '%.32s' not in the allow-list", json_string_value(alg));
    out->alg = json_string_value(alg);
    if (json_object_get(out->header, "crit"))
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement has critical header extensions (crit)", NULL);
    if (!header_string(out->header, "kid", &out->kid, err) ||
        !header_string(out->header, "typ", &out->typ, err))
        return false;

    out->payload = payload
                       ? payload
                       : decode_object(pool, dot1 + 1, (size_t)(dot2 - dot1 - 1), "payload", err);
    if (!out->payload)
        return false;
    out->sig = dcr_b64url_decode(pool, dot2 + 1, len - (size_t)(dot2 + 1 - compact), &out->sig_len);
    if (!out->sig || out->sig_len == 0)
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement signature is missing or not strict base64url", NULL);
    out->signing_input = apr_pstrmemdup(pool, compact, (apr_size_t)(dot2 - compact));
    out->signing_input_len = (size_t)(dot2 - compact);
    return true;
}

bool dcr_jws_has_header(const dcr_jws *jws, const char *const *names, const char **which)
{
    for (; names && *names; names++)
        if (json_object_get(jws->header, *names)) {
            if (which)
                *which = *names;
            return true;
        }
    return false;
}

static const char *alg_digest(const char *alg)
{
    switch (alg[2]) { /* RS256 / PS384 / ES512: the digits pick the hash */
    case '2':
        return "SHA256";
    case '3':
        return "SHA384";
    case '5':
        return "SHA512";
    }
    return NULL;
}

/* JWS ES signatures are raw R||S; OpenSSL wants DER. */
static unsigned char *es_raw_to_der(apr_pool_t *pool, const unsigned char *sig, size_t len,
                                    size_t *der_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)(len / 2), NULL);
    BIGNUM *s = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
    unsigned char *der = NULL, *p;
    int n;
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return NULL;
    }
    n = i2d_ECDSA_SIG(es, NULL);
    if (n > 0) {
        der = p = apr_palloc(pool, (apr_size_t)n);
        n = i2d_ECDSA_SIG(es, &p);
        *der_len = n > 0 ? (size_t)n : 0;
    }
    ECDSA_SIG_free(es);
    return n > 0 ? der : NULL;
}

bool dcr_jws_verify(const dcr_jws *jws, const dcr_jwk *key, dcr_error *err)
{
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    const unsigned char *sig = jws->sig;
    size_t sig_len = jws->sig_len;
    const char *digest = NULL;
    apr_pool_t *tmp;
    int ok = 0;

    if (!key || !jws->alg || !dcr_jwk_fits_alg(key, jws->alg))
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement key does not fit its signature algorithm",
                        "key kid=%.64s is not usable for alg %.16s",
                        key && dcr_jwk_kid(key) ? dcr_jwk_kid(key) : "-",
                        jws->alg ? jws->alg : "-");
    if (strcmp(jws->alg, "EdDSA") != 0)
        digest = alg_digest(jws->alg);
    if (jws->alg[0] == 'E' && digest && sig_len != 2 * dcr_jwk_ec_coord_len(key))
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement signature is invalid",
                        "%s signature is %zu bytes, expected %zu", jws->alg, sig_len,
                        2 * dcr_jwk_ec_coord_len(key));
    if (apr_pool_create(&tmp, NULL) != APR_SUCCESS)
        return dcr_fail(err, DCR_ERR_SERVER_ERROR, "out of memory", NULL);
    if (jws->alg[0] == 'E' && digest)
        sig = es_raw_to_der(tmp, jws->sig, jws->sig_len, &sig_len);

    md = EVP_MD_CTX_new();
    if (sig && md &&
        EVP_DigestVerifyInit_ex(md, &pctx, digest, NULL, NULL, dcr_jwk_pkey(key), NULL) == 1) {
        ok = 1;
        if (jws->alg[0] == 'P')
            ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
        if (ok)
            ok = EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)jws->signing_input,
                                  jws->signing_input_len) == 1;
    }
    EVP_MD_CTX_free(md);
    apr_pool_destroy(tmp);
    if (!ok)
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement signature is invalid",
                        "%s signature does not verify with kid=%.64s", jws->alg,
                        dcr_jwk_kid(key) ? dcr_jwk_kid(key) : "-");
    return true;
}

bool dcr_jwt_numeric_date(const json_t *payload, const char *claim, long long *out, bool *present,
                          const char **why)
{
    const json_t *v = json_object_get(payload, claim);
    double d;
    *present = v != NULL;
    *out = 0;
    if (!v)
        return true;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i >= (1LL << 53)) {
            *why = "NumericDate out of range";
            return false;
        }
        *out = (long long)i;
        return true;
    }
    if (!json_is_real(v)) {
        *why = "NumericDate is not a number";
        return false;
    }
    /* Compare in the double domain before converting: no UB casts of 1e300. */
    d = json_real_value(v);
    if (!isfinite(d) || d < 0 || d >= 9007199254740992.0) {
        *why = "NumericDate out of range";
        return false;
    }
    *out = (long long)d;
    return true;
}
