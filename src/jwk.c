/* Public keys from JWK (RFC 7517/7518/8037), PEM or an EVP_PKEY, and JWK Sets. Every key ends
 * up as an EVP_PKEY whose type and curve are recorded, so jws.c can bind alg to key. */
#include "jwk.h"

#include "b64.h"
#include "json.h"

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

typedef enum { KEY_RSA, KEY_EC, KEY_OKP } key_type;

struct dcr_jwk {
    EVP_PKEY *pkey;
    key_type type;
    const char *curve; /* "P-256", "P-384", "P-521", "Ed25519", "Ed448"; NULL for RSA */
    size_t coord_len;  /* EC coordinate bytes */
    const char *kid, *use, *alg;
};

#define MIN_RSA_BITS 2048

static const struct {
    const char *jwk, *ossl;
    size_t coord;
} ec_curves[] = {
    {"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48}, {"P-521", "secp521r1", 66}};

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

/* Takes ownership of pkey (freed now on failure, or with the pool). */
static dcr_jwk *wrap(apr_pool_t *pool, EVP_PKEY *pkey, const char **why)
{
    dcr_jwk *k;
    char group[64];
    size_t glen = 0;

    if (!pkey) {
        *why = "no key";
        return NULL;
    }
    k = apr_pcalloc(pool, sizeof(*k));
    k->pkey = pkey;
    apr_pool_cleanup_register(pool, pkey, pkey_cleanup, apr_pool_cleanup_null);
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        k->type = KEY_RSA;
        if (EVP_PKEY_get_bits(pkey) < MIN_RSA_BITS) {
            *why = "RSA key shorter than 2048 bits";
            return NULL;
        }
        return k;
    }
    if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448")) {
        k->type = KEY_OKP;
        k->curve = EVP_PKEY_is_a(pkey, "ED25519") ? "Ed25519" : "Ed448";
        return k;
    }
    if (EVP_PKEY_is_a(pkey, "EC") &&
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) == 1) {
        for (size_t i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
            if (strcmp(group, ec_curves[i].ossl) == 0 || strcmp(group, ec_curves[i].jwk) == 0) {
                k->type = KEY_EC;
                k->curve = ec_curves[i].jwk;
                k->coord_len = ec_curves[i].coord;
                return k;
            }
        *why = "unsupported EC curve";
        return NULL;
    }
    *why = "unsupported key type";
    return NULL;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = bld ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    EVP_PKEY *pkey = NULL;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* A base64url key member, strictly decoded. */
static const unsigned char *member(apr_pool_t *pool, const json_t *jwk, const char *name,
                                   size_t *len)
{
    const json_t *v = json_object_get(jwk, name);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return NULL;
    return dcr_b64url_decode(pool, json_string_value(v), json_string_length(v), len);
}

static EVP_PKEY *rsa_from_jwk(apr_pool_t *pool, const json_t *jwk, const char **why)
{
    size_t nlen, elen;
    const unsigned char *n = member(pool, jwk, "n", &nlen), *e = member(pool, jwk, "e", &elen);
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;
    if (!n || !e) {
        *why = "RSA key without valid n and e";
        return NULL;
    }
    bn = BN_bin2bn(n, (int)nlen, NULL);
    be = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        pkey = from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    if (!pkey)
        *why = "RSA key rejected by OpenSSL";
    return pkey;
}

static EVP_PKEY *ec_from_jwk(apr_pool_t *pool, const json_t *jwk, const char **why)
{
    const char *crv = dcr_json_string(jwk, "crv");
    size_t xlen, ylen, i;
    const unsigned char *x = member(pool, jwk, "x", &xlen), *y = member(pool, jwk, "y", &ylen);
    unsigned char *pub;
    OSSL_PARAM_BLD *bld;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *check;

    for (i = 0; crv && i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
        if (strcmp(crv, ec_curves[i].jwk) == 0)
            break;
    if (!crv || i == sizeof(ec_curves) / sizeof(ec_curves[0])) {
        *why = "EC key with a missing or unsupported crv";
        return NULL;
    }
    /* RFC 7518 6.2.1.2: coordinates are exactly the curve's size. */
    if (!x || !y || xlen != ec_curves[i].coord || ylen != ec_curves[i].coord) {
        *why = "EC key x/y missing or not the curve's size";
        return NULL;
    }
    pub = apr_palloc(pool, 1 + 2 * xlen);
    pub[0] = 0x04;
    memcpy(pub + 1, x, xlen);
    memcpy(pub + 1 + xlen, y, ylen);
    bld = OSSL_PARAM_BLD_new();
    if (bld &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ec_curves[i].ossl, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * xlen))
        pkey = from_params("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    /* The point must lie on the curve (invalid-curve attacks). */
    check = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    if (pkey && (!check || EVP_PKEY_public_check(check) != 1)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(check);
    if (!pkey)
        *why = "EC key is not a valid point on its curve";
    return pkey;
}

static EVP_PKEY *okp_from_jwk(apr_pool_t *pool, const json_t *jwk, const char **why)
{
    const char *crv = dcr_json_string(jwk, "crv");
    size_t xlen;
    const unsigned char *x = member(pool, jwk, "x", &xlen);
    const char *name = NULL;
    if (crv && strcmp(crv, "Ed25519") == 0 && xlen == 32)
        name = "ED25519";
    else if (crv && strcmp(crv, "Ed448") == 0 && xlen == 57)
        name = "ED448";
    if (!x || !name) {
        *why = "OKP key with an unsupported crv or a bad x";
        return NULL;
    }
    return EVP_PKEY_new_raw_public_key_ex(NULL, name, NULL, x, xlen);
}

/* An object without private material whose kid/use/alg, if present, are strings. */
static bool members_ok(apr_pool_t *pool, const json_t *jwk, const char **why)
{
    static const char *const private_members[] = {"d",  "p",   "q", "dp", "dq",
                                                  "qi", "oth", "k", NULL};
    static const char *const string_members[] = {"kid", "use", "alg", NULL};

    if (!json_is_object(jwk)) {
        *why = "JWK is not an object";
        return false;
    }
    for (const char *const *m = private_members; *m; m++)
        if (json_object_get(jwk, *m)) {
            *why = "JWK carries private or symmetric key material";
            return false;
        }
    for (const char *const *m = string_members; *m; m++) {
        const json_t *v = json_object_get(jwk, *m);
        if (v && !json_is_string(v)) {
            *why = apr_psprintf(pool, "JWK member %s is not a string", *m);
            return false;
        }
    }
    return true;
}

const char *dcr_jwk_check_public(apr_pool_t *pool, const json_t *jwk)
{
    const char *why = NULL, *kty = dcr_json_string(jwk, "kty"), *crv = dcr_json_string(jwk, "crv");
    const unsigned char *x;
    size_t xlen = 0;

    /* X25519/X448 (RFC 8037) only ever encrypt to the client, never verify here: a real
     * client's ECDH-ES key is accepted by its shape */
    if (kty && crv && strcmp(kty, "OKP") == 0 &&
        (strcmp(crv, "X25519") == 0 || strcmp(crv, "X448") == 0)) {
        if (!members_ok(pool, jwk, &why))
            return why;
        x = member(pool, jwk, "x", &xlen);
        if (!x || xlen != (strcmp(crv, "X25519") == 0 ? 32u : 56u))
            return "OKP key with a bad x for its crv";
        return NULL;
    }
    return dcr_jwk_import(pool, jwk, &why) ? NULL : why;
}

dcr_jwk *dcr_jwk_import(apr_pool_t *pool, const json_t *jwk, const char **why)
{
    const char *kty;
    EVP_PKEY *pkey;
    dcr_jwk *k;

    if (!members_ok(pool, jwk, why))
        return NULL;
    kty = dcr_json_string(jwk, "kty");
    if (!kty) {
        *why = "JWK without kty";
        return NULL;
    }
    if (strcmp(kty, "RSA") == 0)
        pkey = rsa_from_jwk(pool, jwk, why);
    else if (strcmp(kty, "EC") == 0)
        pkey = ec_from_jwk(pool, jwk, why);
    else if (strcmp(kty, "OKP") == 0)
        pkey = okp_from_jwk(pool, jwk, why);
    else {
        *why = apr_psprintf(pool, "unsupported kty '%.16s'", kty);
        return NULL;
    }
    if (!pkey)
        return NULL;
    k = wrap(pool, pkey, why);
    if (!k)
        return NULL;
    k->kid = dcr_json_string(jwk, "kid") ? apr_pstrdup(pool, dcr_json_string(jwk, "kid")) : NULL;
    k->use = dcr_json_string(jwk, "use") ? apr_pstrdup(pool, dcr_json_string(jwk, "use")) : NULL;
    k->alg = dcr_json_string(jwk, "alg") ? apr_pstrdup(pool, dcr_json_string(jwk, "alg")) : NULL;
    return k;
}

dcr_jwk *dcr_jwk_from_pem(apr_pool_t *pool, const char *pem, size_t len, const char **why)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    if (bio && !pkey) {
        X509 *cert;
        (void)BIO_reset(bio);
        cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        pkey = cert ? X509_get_pubkey(cert) : NULL;
        X509_free(cert);
    }
    BIO_free(bio);
    if (!pkey) {
        *why = "no PEM public key or certificate";
        return NULL;
    }
    return wrap(pool, pkey, why);
}

dcr_jwk *dcr_jwk_from_evp(apr_pool_t *pool, EVP_PKEY *pkey, const char *kid, const char **why)
{
    dcr_jwk *k;
    if (!pkey || EVP_PKEY_up_ref(pkey) != 1) {
        *why = "no key";
        return NULL;
    }
    k = wrap(pool, pkey, why);
    if (k && kid)
        k->kid = apr_pstrdup(pool, kid);
    return k;
}

const char *dcr_jwk_kid(const dcr_jwk *k)
{
    return k->kid;
}

const char *dcr_jwk_use(const dcr_jwk *k)
{
    return k->use;
}

const char *dcr_jwk_alg(const dcr_jwk *k)
{
    return k->alg;
}

EVP_PKEY *dcr_jwk_pkey(const dcr_jwk *k)
{
    return k->pkey;
}

size_t dcr_jwk_ec_coord_len(const dcr_jwk *k)
{
    return k->type == KEY_EC ? k->coord_len : 0;
}

bool dcr_jwk_fits_alg(const dcr_jwk *k, const char *alg)
{
    if (!k || !alg || (k->alg && strcmp(k->alg, alg) != 0))
        return false;
    if (strcmp(alg, "EdDSA") == 0)
        return k->type == KEY_OKP;
    if (strlen(alg) != 5 || !(strcmp(alg + 2, "256") == 0 || strcmp(alg + 2, "384") == 0 ||
                              strcmp(alg + 2, "512") == 0))
        return false;
    if (strncmp(alg, "RS", 2) == 0 || strncmp(alg, "PS", 2) == 0)
        return k->type == KEY_RSA;
    if (strncmp(alg, "ES", 2) == 0 && k->type == KEY_EC)
        return (strcmp(alg, "ES256") == 0 && strcmp(k->curve, "P-256") == 0) ||
               (strcmp(alg, "ES384") == 0 && strcmp(k->curve, "P-384") == 0) ||
               (strcmp(alg, "ES512") == 0 && strcmp(k->curve, "P-521") == 0);
    return false;
}

dcr_jwks *dcr_jwks_parse(apr_pool_t *pool, const json_t *jwks, bool (*keep)(const char *use),
                         void (*warn)(void *baton, const char *msg), void *baton, const char **why)
{
    const json_t *keys = json_object_get(jwks, "keys");
    dcr_jwks *set;
    size_t i;

    if (!json_is_object(jwks) || !json_is_array(keys)) {
        *why = "not a JWK Set: no \"keys\" array";
        return NULL;
    }
    set = apr_pcalloc(pool, sizeof(*set));
    set->keys = apr_pcalloc(pool, (json_array_size(keys) + 1) * sizeof(dcr_jwk *));
    for (i = 0; i < json_array_size(keys); i++) {
        const json_t *entry = json_array_get(keys, i);
        const json_t *use = json_object_get(entry, "use");
        const char *bad = NULL;
        dcr_jwk *k;
        if (use && !json_is_string(use))
            bad = "use is not a string";
        else if (json_is_object(entry) && keep && !keep(json_string_value(use)))
            continue; /* another use (x509-svid ...): not ours, not an error */
        k = bad ? NULL : dcr_jwk_import(pool, entry, &bad);
        if (!k) {
            if (warn)
                warn(baton, apr_psprintf(pool, "key %d skipped: %s", (int)i, bad));
            continue;
        }
        for (int j = 0; k->kid && j < set->nkeys; j++)
            if (set->keys[j]->kid && strcmp(set->keys[j]->kid, k->kid) == 0) {
                *why = apr_psprintf(pool, "duplicate kid '%.64s'", k->kid);
                return NULL;
            }
        set->keys[set->nkeys++] = k;
    }
    return set;
}

const dcr_jwk *dcr_jwks_find(const dcr_jwks *set, const char *kid)
{
    for (int i = 0; set && kid && i < set->nkeys; i++)
        if (set->keys[i]->kid && strcmp(set->keys[i]->kid, kid) == 0)
            return set->keys[i];
    return NULL;
}
