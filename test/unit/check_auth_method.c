/* token_endpoint_auth_method (src/auth_method.c): replacement of secret methods, the TLS
 * methods and their companions, forced methods. */
#include "auth_method.h"
#include "metadata_kit.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

/* ---- token_endpoint_auth_method -------------------------------------------------------- */

typedef struct auth_case {
    const char *extra;     /* members added to the request */
    const char *forced;    /* forced_auth_method */
    const char *want;      /* registered method, NULL: invalid_client_metadata */
    const char *companion; /* a tls_client_auth_* member that must be echoed, or NULL */
} auth_case;

#define JWKS_URI ",\"jwks_uri\":\"https://app.example/jwks\""
#define M(x) ",\"token_endpoint_auth_method\":\"" x "\""
/* @EC@ becomes a real P-256 public key (jwks keys must import, issue 2) */
#define X5C_JWKS ",\"jwks\":{\"keys\":[@EC@,\"x5c\":[\"MIIB\"]}]}"
#define PLAIN_JWKS ",\"jwks\":{\"keys\":[@EC@}]}"

static const auth_case auth_cases[] = {
    {"", NULL, "none", NULL},
    {JWKS_URI, NULL, "private_key_jwt", NULL},
    {PLAIN_JWKS, NULL, "private_key_jwt", NULL},
    {M("client_secret_basic"), NULL, "none", NULL},
    {M("client_secret_post"), NULL, "none", NULL},
    {M("client_secret_post") JWKS_URI, NULL, "private_key_jwt", NULL},
    {M("client_secret_jwt"), NULL, "none", NULL},
    {M("client_secret_jwt") PLAIN_JWKS, NULL, "private_key_jwt", NULL},
    {M("none"), NULL, "none", NULL},
    {M("none") JWKS_URI, NULL, "none", NULL},
    {M("private_key_jwt") JWKS_URI, NULL, "private_key_jwt", NULL},
    {M("private_key_jwt") PLAIN_JWKS, NULL, "private_key_jwt", NULL},
    {M("private_key_jwt"), NULL, NULL, NULL},
    {M("tls_client_auth") ",\"tls_client_auth_subject_dn\":\"CN=app,O=Example\"", NULL,
     "tls_client_auth", "tls_client_auth_subject_dn"},
    {M("tls_client_auth") ",\"tls_client_auth_san_dns\":\"app.example\"", NULL, "tls_client_auth",
     "tls_client_auth_san_dns"},
    {M("tls_client_auth"), NULL, "none", NULL},
    {M("tls_client_auth") JWKS_URI, NULL, "private_key_jwt", NULL},
    {M("tls_client_auth") ",\"tls_client_auth_san_dns\":\"a.example\","
                          "\"tls_client_auth_san_uri\":\"https://a.example/\"",
     NULL, "none", NULL},
    {M("none") ",\"tls_client_auth_san_dns\":\"a.example\"", NULL, "none", NULL},
    {M("self_signed_tls_client_auth") X5C_JWKS, NULL, "self_signed_tls_client_auth", NULL},
    {M("self_signed_tls_client_auth") PLAIN_JWKS, NULL, "private_key_jwt", NULL},
    {M("self_signed_tls_client_auth") JWKS_URI, NULL, "private_key_jwt", NULL},
    {M("self_signed_tls_client_auth"), NULL, "none", NULL},
    {M("spiffe_jwt"), NULL, NULL, NULL},
    {M("urn:example:custom"), NULL, NULL, NULL},
    {",\"token_endpoint_auth_method\":5", NULL, NULL, NULL},
    {M("client_secret_basic"), "spiffe_jwt", "spiffe_jwt", NULL},
    {M("private_key_jwt"), "spiffe_jwt", "spiffe_jwt", NULL},
    {"", "spiffe_jwt", "spiffe_jwt", NULL},
};

static char *b64url(const unsigned char *in, size_t n)
{
    char *out = apr_palloc(pool, 4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* extra with @EC@ replaced by the start of a fresh P-256 public JWK (its closing brace is the
 * caller's, so members can follow). */
static const char *with_key(const char *extra)
{
    const char *at = strstr(extra, "@EC@");
    unsigned char pub[65];
    size_t plen = 0;
    EVP_PKEY *k;
    const char *jwk;
    if (!at)
        return extra;
    k = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(k);
    ck_assert(
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &plen) == 1);
    EVP_PKEY_free(k);
    jwk = apr_psprintf(pool, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"",
                       b64url(pub + 1, 32), b64url(pub + 33, 32));
    return apr_psprintf(pool, "%.*s%s%s", (int)(at - extra), extra, jwk, at + 4);
}

START_TEST(auth_method_table)
{
    const auth_case *c = &auth_cases[_i];
    json_t *m = reg2(apr_psprintf(pool, "{" CB "%s}", with_key(c->extra)), NULL, c->forced);
    static const char *const companions[] = {
        "tls_client_auth_subject_dn", "tls_client_auth_san_dns",   "tls_client_auth_san_uri",
        "tls_client_auth_san_ip",     "tls_client_auth_san_email", NULL};
    if (!c->want) {
        ck_assert_msg(m == NULL, "case %d accepted: %s", _i, dump(m));
        ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
        ck_assert_ptr_nonnull(strstr(err.description, "token_endpoint_auth_method"));
        return;
    }
    ck_assert_msg(m != NULL, "case %d refused: %s", _i, err.description);
    ck_assert_str_eq(str(m, "token_endpoint_auth_method"), c->want);
    for (const char *const *p = companions; *p; p++) {
        bool want = c->companion && strcmp(*p, c->companion) == 0;
        ck_assert_msg((json_object_get(m, *p) != NULL) == want, "case %d: %s %s", _i, *p,
                      want ? "missing" : "echoed");
    }
}
END_TEST

START_TEST(tls_companion_names)
{
    ck_assert(dcr_auth_method_is_tls_companion("tls_client_auth_subject_dn"));
    ck_assert(dcr_auth_method_is_tls_companion("tls_client_auth_san_email"));
    ck_assert(!dcr_auth_method_is_tls_companion("tls_client_auth"));
    ck_assert(!dcr_auth_method_is_tls_companion("tls_client_auth_san"));
    /* the companions are registrable members, echoed only with tls_client_auth */
    ck_assert(dcr_metadata_is_known("tls_client_auth_san_uri"));
}
END_TEST

static Suite *auth_method_suite(void)
{
    Suite *s = suite_create("auth_method");
    TCase *tc = unit_tcase("auth_method");
    tcase_add_loop_test(tc, auth_method_table, 0, sizeof(auth_cases) / sizeof(auth_cases[0]));
    tcase_add_test(tc, tls_companion_names);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(auth_method_suite)
