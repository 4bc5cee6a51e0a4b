/* RFC 7591 metadata (src/metadata.c): the member whitelist, value rules, language-tagged
 * members and the statement-wins merge. Redirect URIs, grant types and the auth method have
 * their own test programs. */
#include "metadata_kit.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

/* ---- basics ---------------------------------------------------------------------------- */

START_TEST(minimal_request_gets_defaults)
{
    json_t *m = reg_ok("{" CB "}");
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")), "[\"authorization_code\"]");
    ck_assert_str_eq(dump(json_object_get(m, "response_types")), "[\"code\"]");
    ck_assert_str_eq(str(m, "token_endpoint_auth_method"), "none");
    ck_assert_str_eq(dump(json_object_get(m, "redirect_uris")), "[\"https://app.example/cb\"]");
    ck_assert_ptr_null(json_object_get(m, "application_type"));
}
END_TEST

START_TEST(non_object_refused)
{
    reg_fails("[1,2]", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("\"x\"", DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_null(reg2("{" CB "}", "[1]", NULL));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

START_TEST(unknown_and_server_members_dropped)
{
    json_t *m = reg_ok("{" CB ",\"foo\":1,\"client_id\":\"mine\",\"client_secret\":\"s\","
                       "\"software_statement\":\"a.b.c\",\"registration_access_token\":\"t\","
                       "\"client_id_issued_at\":1,\"id_token_signed_response_alg\":\"RS256\","
                       "\"scope#fr\":\"x\",\"client_name\":\"App\"}");
    const char *gone[] = {"foo",
                          "client_id",
                          "client_secret",
                          "software_statement",
                          "registration_access_token",
                          "client_id_issued_at",
                          "id_token_signed_response_alg",
                          "scope#fr",
                          NULL};
    for (const char **g = gone; *g; g++)
        ck_assert_msg(json_object_get(m, *g) == NULL, "%s echoed", *g);
    ck_assert_str_eq(str(m, "client_name"), "App");
}
END_TEST

START_TEST(null_and_empty_strings_are_absent)
{
    json_t *m = reg_ok("{" CB ",\"client_uri\":null,\"logo_uri\":\"\",\"scope\":\"\"}");
    ck_assert_ptr_null(json_object_get(m, "client_uri"));
    ck_assert_ptr_null(json_object_get(m, "logo_uri"));
    ck_assert_ptr_null(json_object_get(m, "scope"));
}
END_TEST

START_TEST(is_known_whitelist)
{
    const char *yes[] = {"redirect_uris",
                         "client_name",
                         "client_name#fr",
                         "client_name#ja-Jpan-JP",
                         "logo_uri#DE",
                         "tos_uri#en-GB",
                         "policy_uri#x-klingon",
                         "client_uri#fr",
                         "jwks",
                         "jwks_uri",
                         "scope",
                         "contacts",
                         "software_id",
                         "software_version",
                         "application_type",
                         "post_logout_redirect_uris",
                         "grant_types",
                         "response_types",
                         "token_endpoint_auth_method",
                         NULL};
    const char *no[] = {"client_id",
                        "client_secret",
                        "software_statement",
                        "scope#fr",
                        "client_name#",
                        "client_name#f@",
                        "client_name#toolongtag",
                        "client_name#fr--ca",
                        "client_name#-fr",
                        "client_name#q",
                        "foo",
                        "redirect_uris#fr",
                        "",
                        "client_name#fr#ca",
                        NULL};
    for (const char **p = yes; *p; p++)
        ck_assert_msg(dcr_metadata_is_known(*p), "%s should be known", *p);
    for (const char **p = no; *p; p++)
        ck_assert_msg(!dcr_metadata_is_known(*p), "%s should not be known", *p);
    ck_assert(!dcr_metadata_is_known(NULL));
}
END_TEST

START_TEST(huge_values_not_echoed)
{
    char *big = apr_palloc(pool, 5001);
    memset(big, 'a', 5000);
    big[5000] = '\0';
    reg_fails(apr_psprintf(pool, "{\"redirect_uris\":[\"https://app.example/%s\"]}", big),
              DCR_ERR_INVALID_REDIRECT_URI);
    ck_assert_ptr_nonnull(strstr(err.description, "redirect_uris[0]"));
    ck_assert_ptr_null(strstr(err.description, "aaaaaaaaaa"));
    ck_assert_uint_lt(strlen(err.detail), 400);
    reg_fails(apr_psprintf(pool, "{" CB ",\"client_uri\":\"ftp://%s\"}", big),
              DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_nonnull(strstr(err.description, "client_uri"));
    ck_assert_ptr_null(strstr(err.description, "aaaaaaaaaa"));
}
END_TEST

/* ---- other members --------------------------------------------------------------------- */

/* issue 11: no metadata URL names an internal host, whether from the request, a language
 * variant or a statement; redirect URIs of native apps keep their loopback (RFC 8252) */
START_TEST(url_fields_name_no_internal_host)
{
    const char *fields[] = {"client_uri", "logo_uri",    "tos_uri", "policy_uri",
                            "jwks_uri",   "logo_uri#de", NULL};
    const char *hosts[] = {"127.0.0.1", "[::1]",     "169.254.169.254",
                           "10.1.2.3",  "localhost", "metadata.google.internal",
                           NULL};
    for (const char **f = fields; *f; f++)
        for (const char **h = hosts; *h; h++) {
            reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"https://%s/x\"}", *f, *h),
                      DCR_ERR_INVALID_CLIENT_METADATA);
            ck_assert_ptr_nonnull(strstr(err.description, "internal host"));
        }
    ck_assert_ptr_null(reg2("{" CB "}", "{\"jwks_uri\":\"https://127.0.0.1:9/jwks\"}", NULL));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    reg_ok("{\"redirect_uris\":[\"http://127.0.0.1:5000/cb\",\"http://[::1]/cb\"],"
           "\"application_type\":\"native\",\"client_uri\":\"https://app.example/\"}");
}
END_TEST

START_TEST(url_fields)
{
    const char *fields[] = {"client_uri", "logo_uri", "tos_uri", "policy_uri", NULL};
    for (const char **f = fields; *f; f++) {
        json_t *m = reg_ok(apr_psprintf(pool, "{" CB ",\"%s\":\"https://app.example/x\"}", *f));
        ck_assert_str_eq(str(m, *f), "https://app.example/x");
        reg_ok(apr_psprintf(pool, "{" CB ",\"%s\":\"http://app.example/x#top\"}", *f));
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"ftp://app.example/x\"}", *f),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"/relative\"}", *f),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"javascript:alert(1)\"}", *f),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"https://a@evil.example/\"}", *f),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":\"https://\"}", *f),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        reg_fails(apr_psprintf(pool, "{" CB ",\"%s\":7}", *f), DCR_ERR_INVALID_CLIENT_METADATA);
        ck_assert_ptr_nonnull(strstr(err.description, *f));
    }
}
END_TEST

START_TEST(contacts_scope_software)
{
    json_t *m = reg_ok("{" CB ",\"contacts\":[\"ops@app.example\",\"dev@app.example\"],"
                       "\"scope\":\"openid mcp:tools offline_access\",\"software_id\":"
                       "\"4NRB1-0XZABZI9E6-5SM3R\",\"software_version\":\"2.1\"}");
    ck_assert_str_eq(dump(json_object_get(m, "contacts")),
                     "[\"ops@app.example\",\"dev@app.example\"]");
    ck_assert_str_eq(str(m, "scope"), "openid mcp:tools offline_access");
    ck_assert_str_eq(str(m, "software_id"), "4NRB1-0XZABZI9E6-5SM3R");
    ck_assert_str_eq(str(m, "software_version"), "2.1");

    reg_fails("{" CB ",\"contacts\":\"ops@app.example\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"contacts\":[1]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"contacts\":[\"\"]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"contacts\":[\"a\\nb\"]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":[\"openid\"]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":\"a  b\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":\" a\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":\"a\\\"b\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":\"a\\\\b\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"scope\":\"caf\\u00e9\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"software_id\":42}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"software_version\":2.1}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"software_id\":\"a\\u0007b\"}", DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

START_TEST(client_name_rules)
{
    char *longname = apr_palloc(pool, 1026);
    memset(longname, 'n', 1025);
    longname[1025] = '\0';
    ck_assert_str_eq(
        str(reg_ok("{" CB ",\"client_name\":\"Caf\\u00e9 \\u65e5\\u672c\"}"), "client_name"),
        "Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
    reg_fails("{" CB ",\"client_name\":1}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name\":[\"x\"]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name\":\"a\\rb\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails(apr_psprintf(pool, "{" CB ",\"client_name\":\"%s\"}", longname),
              DCR_ERR_INVALID_CLIENT_METADATA);
    longname[1024] = '\0';
    reg_ok(apr_psprintf(pool, "{" CB ",\"client_name\":\"%s\"}", longname));
}
END_TEST

START_TEST(application_type_values)
{
    ck_assert_str_eq(str(reg_ok("{" CB ",\"application_type\":\"web\"}"), "application_type"),
                     "web");
    reg_fails("{" CB ",\"application_type\":\"desktop\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"application_type\":\"WEB\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"application_type\":1}", DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

/* ---- jwks / jwks_uri with a real key --------------------------------------------------- */

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

/* A fresh P-256 key as a public JWK; *d gets the private scalar (base64url). */
static const char *ec_jwk(const char **d)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    unsigned char pub[65], priv[32];
    size_t plen = 0;
    BIGNUM *bn = NULL;
    ck_assert_ptr_nonnull(k);
    ck_assert(
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &plen) == 1);
    ck_assert_uint_eq(plen, 65);
    ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1);
    ck_assert(BN_bn2binpad(bn, priv, sizeof(priv)) == 32);
    *d = b64url(priv, 32);
    BN_clear_free(bn);
    EVP_PKEY_free(k);
    return apr_psprintf(pool, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
                        b64url(pub + 1, 32), b64url(pub + 33, 32));
}

START_TEST(jwks_rules)
{
    const char *d, *jwk = ec_jwk(&d);
    const char *priv = apr_psprintf(pool, "%.*s,\"d\":\"%s\"}", (int)strlen(jwk) - 1, jwk, d);
    json_t *m = reg_ok(apr_psprintf(pool, "{" CB ",\"jwks\":{\"keys\":[%s]}}", jwk));
    ck_assert(
        json_equal(json_object_get(m, "jwks"), js(apr_psprintf(pool, "{\"keys\":[%s]}", jwk))));
    ck_assert_str_eq(str(m, "token_endpoint_auth_method"), "private_key_jwt");

    reg_fails(apr_psprintf(pool,
                           "{" CB ",\"jwks\":{\"keys\":[%s]},"
                           "\"jwks_uri\":\"https://app.example/jwks\"}",
                           jwk),
              DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_nonnull(strstr(err.description, "jwks_uri"));
    reg_fails(apr_psprintf(pool, "{" CB ",\"jwks\":{\"keys\":[%s]}}", priv),
              DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":[1]}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":\"keys\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{}}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{\"keys\":{}}}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{\"keys\":[]}}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{\"keys\":[{\"crv\":\"P-256\"}]}}",
              DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{\"keys\":[\"k\"]}}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks\":{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}}",
              DCR_ERR_INVALID_CLIENT_METADATA);

    m = reg_ok("{" CB ",\"jwks_uri\":\"https://app.example/jwks.json\"}");
    ck_assert_str_eq(str(m, "jwks_uri"), "https://app.example/jwks.json");
    reg_fails("{" CB ",\"jwks_uri\":\"http://app.example/jwks.json\"}",
              DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"jwks_uri\":{}}", DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

/* A fresh public JWK of the given kind, made with OpenSSL; extra members (",\"use\":...")
 * are appended inside the object. */
static const char *pub_jwk(const char *kind, const char *extra)
{
    EVP_PKEY *k = NULL;
    const char *j = NULL, *crv = NULL;
    unsigned char buf[200];
    size_t n = 0;

    if (strncmp(kind, "RSA", 3) == 0) {
        BIGNUM *bn = NULL, *be = NULL;
        unsigned char nb[512], eb[8];
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
                              (size_t)(strcmp(kind, "RSA1024") == 0 ? 1024 : 2048));
        ck_assert_ptr_nonnull(k);
        ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &bn) == 1);
        ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &be) == 1);
        int nl = BN_bn2bin(bn, nb), el = BN_bn2bin(be, eb);
        j = apr_psprintf(pool, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"%s}",
                         b64url(nb, (size_t)nl), b64url(eb, (size_t)el), extra);
        BN_free(bn);
        BN_free(be);
    } else if (strncmp(kind, "P-", 2) == 0) {
        size_t c;
        k = EVP_EC_gen(strcmp(kind, "P-256") == 0   ? "P-256"
                       : strcmp(kind, "P-384") == 0 ? "P-384"
                                                    : "P-521");
        ck_assert_ptr_nonnull(k);
        ck_assert(
            EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &n) == 1);
        c = (n - 1) / 2;
        j = apr_psprintf(pool, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}", kind,
                         b64url(buf + 1, c), b64url(buf + 1 + c, c), extra);
    } else {
        crv = kind; /* Ed25519, Ed448, X25519, X448 */
        k = EVP_PKEY_Q_keygen(NULL, NULL,
                              strcmp(kind, "Ed25519") == 0  ? "ED25519"
                              : strcmp(kind, "Ed448") == 0  ? "ED448"
                              : strcmp(kind, "X25519") == 0 ? "X25519"
                                                            : "X448");
        ck_assert_ptr_nonnull(k);
        n = sizeof buf;
        ck_assert(EVP_PKEY_get_raw_public_key(k, buf, &n) == 1);
        j = apr_psprintf(pool, "{\"kty\":\"OKP\",\"crv\":\"%s\",\"x\":\"%s\"%s}", crv,
                         b64url(buf, n), extra);
    }
    EVP_PKEY_free(k);
    return j;
}

static const char *with_jwks(const char *keys)
{
    return apr_psprintf(pool, "{" CB ",\"jwks\":{\"keys\":[%s]}}", keys);
}

/* Issue 2 "jwks well formed": each key is imported; the refusal names the key's index. */
START_TEST(jwks_key_shapes)
{
    static const char *const good[] = {"RSA",     "P-256", "P-384",  "P-521",
                                       "Ed25519", "Ed448", "X25519", "X448"};
    const char *ok = pub_jwk("P-256", "");
    struct {
        const char *key, *why;
    } bad[] = {
        {"{\"kty\":\"banana\"}", "kty"},
        {"{\"kty\":\"RSA\"}", "RSA"},
        {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"a\",\"y\":\"b\"}", "EC"},
        {"{\"kty\":\"EC\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
         "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
         "crv"},
        /* right sizes, but (1, 1) is not on P-256 */
        {"{\"kty\":\"EC\",\"crv\":\"P-256\","
         "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
         "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}",
         "curve"},
        {"{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AA\",\"y\":\"AA\"}", "crv"},
        {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}", "OKP"},
        {"{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AAAA\"}", "OKP"},
        {"{\"kty\":\"OKP\",\"crv\":\"X448\"}", "OKP"},
        {"{\"kty\":\"OKP\",\"crv\":\"banana\",\"x\":\"AAAA\"}", "OKP"},
        {pub_jwk("RSA1024", ""), "2048"},
        {pub_jwk("RSA", ",\"kid\":7"), "kid"},
        {pub_jwk("X25519", ",\"use\":[\"enc\"]"), "use"},
    };
    json_t *m;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const char *key = pub_jwk(good[i], "");
        m = reg_ok(with_jwks(key));
        ck_assert(
            json_equal(json_object_get(m, "jwks"), js(apr_psprintf(pool, "{\"keys\":[%s]}", key))));
    }
    /* keys of any use: encryption keys too (RSA-OAEP, ECDH-ES on P-256 and X25519) */
    reg_ok(with_jwks(apr_psprintf(
        pool, "%s,%s,%s,%s", pub_jwk("RSA", ",\"use\":\"enc\",\"alg\":\"RSA-OAEP\",\"kid\":\"e1\""),
        pub_jwk("P-256", ",\"use\":\"enc\",\"alg\":\"ECDH-ES\""),
        pub_jwk("X25519", ",\"use\":\"enc\""),
        pub_jwk("Ed25519", ",\"use\":\"sig\",\"alg\":\"EdDSA\""))));

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reg_fails(with_jwks(bad[i].key), DCR_ERR_INVALID_CLIENT_METADATA);
        ck_assert_msg(strstr(err.description, "keys[0]"), "%s", err.description);
        ck_assert_msg(strstr(err.description, bad[i].why), "%zu: %s", i, err.description);
        /* behind a good key, the index says which */
        reg_fails(with_jwks(apr_psprintf(pool, "%s,%s", ok, bad[i].key)),
                  DCR_ERR_INVALID_CLIENT_METADATA);
        ck_assert_msg(strstr(err.description, "keys[1]"), "%s", err.description);
    }
}
END_TEST

/* ---- language tags --------------------------------------------------------------------- */

START_TEST(language_tags)
{
    json_t *m = reg_ok("{" CB ",\"client_name\":\"App\",\"client_name#fr\":\"Appli\","
                       "\"client_name#ja-Jpan-JP\":\"\\u30a2\\u30d7\\u30ea\","
                       "\"logo_uri#de\":\"https://app.example/logo-de.png\","
                       "\"tos_uri#en-GB\":\"https://app.example/tos\","
                       "\"policy_uri#FR\":\"https://app.example/vie-privee\","
                       "\"client_uri#x-pig-latin\":\"https://app.example/\"}");
    ck_assert_str_eq(str(m, "client_name#fr"), "Appli");
    ck_assert_str_eq(str(m, "client_name#ja-Jpan-JP"), "\xe3\x82\xa2\xe3\x83\x97\xe3\x83\xaa");
    ck_assert_str_eq(str(m, "logo_uri#de"), "https://app.example/logo-de.png");
    ck_assert_str_eq(str(m, "policy_uri#FR"), "https://app.example/vie-privee");
    ck_assert_str_eq(str(m, "client_uri#x-pig-latin"), "https://app.example/");
    ck_assert_str_eq(str(m, "client_name"), "App");

    /* malformed tags */
    reg_fails("{" CB ",\"client_name#\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#f@\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#fr_CA\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#abcdefghi\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#fr-abcdefghi\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#fr-\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#1fr\":\"x\"}", DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_nonnull(strstr(err.description, "client_name#1fr"));
    /* same validation as the base member */
    reg_fails("{" CB ",\"logo_uri#de\":\"ftp://app.example/logo.png\"}",
              DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"client_name#fr\":5}", DCR_ERR_INVALID_CLIENT_METADATA);
    ck_assert_ptr_nonnull(strstr(err.description, "client_name#fr"));
    /* tags match case-insensitively: two spellings of one tag collide */
    reg_fails("{" CB ",\"client_name#fr\":\"a\",\"client_name#FR\":\"b\"}",
              DCR_ERR_INVALID_CLIENT_METADATA);
    reg_fails("{" CB ",\"tos_uri#en-gb\":\"https://a.example/\","
              "\"tos_uri#EN-GB\":\"https://a.example/\"}",
              DCR_ERR_INVALID_CLIENT_METADATA);
    /* different tags do not */
    reg_ok("{" CB ",\"client_name#fr\":\"a\",\"client_name#fr-CA\":\"b\"}");
}
END_TEST

/* ---- the statement wins ---------------------------------------------------------------- */

START_TEST(statement_wins_member_by_member)
{
    json_t *m = reg2("{\"redirect_uris\":[\"http://evil.example/cb\"],\"client_name\":\"Mine\","
                     "\"client_name#fr\":\"A\",\"client_name#de\":\"D\",\"scope\":\"a\"}",
                     "{\"iss\":\"https://issuer.example\",\"sub\":\"x\"," CB ","
                     "\"client_name\":\"Vouched\",\"client_name#FR\":\"B\","
                     "\"software_id\":\"sw\"}",
                     NULL);
    ck_assert_msg(m != NULL, "%s", err.description);
    ck_assert_str_eq(str(m, "client_name"), "Vouched");
    ck_assert_str_eq(str(m, "client_name#FR"), "B");
    ck_assert_ptr_null(json_object_get(m, "client_name#fr"));
    ck_assert_ptr_null(json_object_get(m, "client_name#de")); /* the statement names it */
    ck_assert_str_eq(str(m, "scope"), "a");
    ck_assert_str_eq(str(m, "software_id"), "sw");
    ck_assert_str_eq(dump(json_object_get(m, "redirect_uris")), "[\"https://app.example/cb\"]");
    ck_assert_ptr_null(json_object_get(m, "iss"));
    ck_assert_ptr_null(json_object_get(m, "sub"));

    /* a bad statement value is not rescued by a good request value */
    ck_assert_ptr_null(reg2("{" CB ",\"client_uri\":\"https://app.example/\"}",
                            "{\"client_uri\":\"ftp://app.example/\"}", NULL));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
    /* statement metadata goes through the same policy */
    m = reg2("{" CB "}",
             "{\"grant_types\":[\"authorization_code\",\"implicit\"],"
             "\"response_types\":[\"code\",\"token\"]}",
             NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(dump(json_object_get(m, "grant_types")), "[\"authorization_code\"]");
    /* and a case collision inside the statement is refused too */
    ck_assert_ptr_null(
        reg2("{" CB "}", "{\"client_name#fr\":\"a\",\"client_name#Fr\":\"b\"}", NULL));
    ck_assert_int_eq(err.code, DCR_ERR_INVALID_CLIENT_METADATA);
}
END_TEST

/* Issue 11: a request's language variants of a member the statement supplies are dropped,
 * whichever variant the statement supplies; members it does not supply keep theirs. */
START_TEST(statement_drops_request_variants)
{
    json_t *m =
        reg2("{" CB ",\"client_name#en\":\"Evil Corp Login\","
             "\"client_name#EN-gb\":\"Evil\",\"tos_uri#de\":\"https://app.example/agb\","
             "\"logo_uri\":\"https://app.example/l.png\","
             "\"logo_uri#fr\":\"https://app.example/l-fr.png\"}",
             "{\"client_name\":\"Vouched\",\"logo_uri#de\":\"https://app.example/d.png\"}", NULL);
    ck_assert_msg(m != NULL, "%s", err.description);
    ck_assert_str_eq(str(m, "client_name"), "Vouched");
    ck_assert_ptr_null(json_object_get(m, "client_name#en"));
    ck_assert_ptr_null(json_object_get(m, "client_name#EN-gb"));
    /* the statement gives only a German logo: the request's plain and French ones go too */
    ck_assert_str_eq(str(m, "logo_uri#de"), "https://app.example/d.png");
    ck_assert_ptr_null(json_object_get(m, "logo_uri"));
    ck_assert_ptr_null(json_object_get(m, "logo_uri#fr"));
    ck_assert_str_eq(str(m, "tos_uri#de"), "https://app.example/agb");
    /* a statement value that counts as absent (null, "") supplies nothing */
    m = reg2("{" CB ",\"client_name#en\":\"Mine\"}", "{\"client_name\":\"\"}", NULL);
    ck_assert_msg(m != NULL, "%s", err.description);
    ck_assert_str_eq(str(m, "client_name#en"), "Mine");
    /* without a statement, nothing changes */
    m = reg2("{" CB ",\"client_name\":\"A\",\"client_name#en\":\"B\"}", NULL, NULL);
    ck_assert_str_eq(str(m, "client_name#en"), "B");
}
END_TEST

START_TEST(statement_keys_replace_request_keys)
{
    const char *d, *jwk = ec_jwk(&d);
    const char *keys = apr_psprintf(pool, "{\"jwks\":{\"keys\":[%s]}}", jwk);
    /* the statement's jwks beside the request's jwks_uri: no conflict, the statement's win */
    json_t *m = reg2("{" CB ",\"jwks_uri\":\"https://evil.example/jwks\"}", keys, NULL);
    ck_assert_msg(m != NULL, "%s", err.description);
    ck_assert_ptr_null(json_object_get(m, "jwks_uri"));
    ck_assert_ptr_nonnull(json_object_get(m, "jwks"));
    ck_assert_str_eq(str(m, "token_endpoint_auth_method"), "private_key_jwt");
    /* a request's jwks goes too, even an invalid one (it is never looked at) */
    m = reg2("{" CB ",\"jwks\":{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}}", keys, NULL);
    ck_assert_msg(m != NULL, "%s", err.description);
    ck_assert_str_eq(dump(json_object_get(m, "jwks")), dump(json_object_get(js(keys), "jwks")));
    /* without keys in the statement, the request's stay */
    m = reg2("{" CB ",\"jwks_uri\":\"https://app.example/jwks\"}", "{\"client_name\":\"x\"}", NULL);
    ck_assert_str_eq(str(m, "jwks_uri"), "https://app.example/jwks");
}
END_TEST

static Suite *metadata_suite(void)
{
    Suite *s = suite_create("metadata");
    TCase *tc = unit_tcase("basics");
    tcase_add_test(tc, minimal_request_gets_defaults);
    tcase_add_test(tc, non_object_refused);
    tcase_add_test(tc, unknown_and_server_members_dropped);
    tcase_add_test(tc, null_and_empty_strings_are_absent);
    tcase_add_test(tc, url_fields_name_no_internal_host);
    tcase_add_test(tc, is_known_whitelist);
    tcase_add_test(tc, huge_values_not_echoed);
    suite_add_tcase(s, tc);

    tc = unit_tcase("members");
    tcase_add_test(tc, url_fields);
    tcase_add_test(tc, contacts_scope_software);
    tcase_add_test(tc, client_name_rules);
    tcase_add_test(tc, application_type_values);
    tcase_add_test(tc, jwks_rules);
    tcase_add_test(tc, jwks_key_shapes);
    tcase_add_test(tc, language_tags);
    tcase_add_test(tc, statement_wins_member_by_member);
    tcase_add_test(tc, statement_keys_replace_request_keys);
    tcase_add_test(tc, statement_drops_request_variants);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(metadata_suite)
