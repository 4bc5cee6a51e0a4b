/* SPIFFE bundles and JWT-SVID verification: every header, claim and policy rule, with SVIDs
 * signed by real keys generated here. */
#include "spiffe.h"

#include "json.h"
#include "jwt_mint.h"
#include "statement.h"
#include "unit.h"

#include <apr_strings.h>
#include <string.h>

#define NOW 1800000000LL
#define AUD "https://as.example.com/register"

static EVP_PKEY *other_ec; /* other.org's key, published under the same kid as example.org's */
static EVP_PKEY *x509_ec;  /* an x509-svid entry's key: must never verify JWTs */
static dcr_policy policy;
static dcr_spiffe_trust *trust;
static dcr_statement_ctx ctx;
static dcr_logger logger;
static char logged[4096];

static void collect(void *baton, int level, const char *msg)
{
    (void)baton;
    if (level <= DCR_LOG_INFO)
        apr_cpystrn(logged + strlen(logged), msg, sizeof(logged) - strlen(logged));
}

static char *dump(json_t *j)
{
    char *s = dcr_json_dump(pool, j);
    json_decref(j);
    return s;
}

static dcr_spiffe_bundle *bundle_from(const char *text, int *warnings)
{
    const char *why = NULL;
    dcr_spiffe_bundle *b = dcr_spiffe_bundle_parse(pool, text, strlen(text), NULL, NULL, &why);
    ck_assert_msg(b != NULL, "bundle: %s", why);
    if (warnings)
        *warnings = b->skipped;
    return b;
}

static void setup(void)
{
    const char *why = NULL;
    json_t *x509;
    char *spiffe_bundle, *plain;

    if (!other_ec) {
        other_ec = mint_new_key("P-256");
        x509_ec = mint_new_key("P-256");
    }
    x509 = mint_jwk(x509_ec, "x509", "x509-svid", NULL);
    json_object_set_new(x509, "x5c", json_pack("[s]", "MIIB"));
    spiffe_bundle =
        dump(json_pack("{s:i,s:i,s:[o,o,o]}", "spiffe_sequence", 7, "spiffe_refresh_hint", 300,
                       "keys", mint_jwk(mint_key("P-256"), "ec1", "jwt-svid", NULL),
                       mint_jwk(mint_key("RSA"), "rsa1", "jwt-svid", NULL), x509));
    plain = dump(json_pack("{s:[o,o]}", "keys", mint_jwk(other_ec, "ec1", NULL, "ES256"),
                           mint_jwk(mint_key("P-384"), "ec384", "sig", NULL)));

    dcr_policy_defaults(pool, &policy);
    policy.audiences = dcr_words(pool, AUD " https://as2.example.com/register");
    trust = dcr_spiffe_trust_create(pool);
    ck_assert(dcr_spiffe_trust_add_domain(trust, "example.org", bundle_from(spiffe_bundle, NULL),
                                          NULL, &why));
    ck_assert(dcr_spiffe_trust_add_domain(trust, "other.org", bundle_from(plain, NULL),
                                          "https://oidc.other.org", &why));
    policy.spiffe = trust;
    logged[0] = '\0';
    logger.fn = collect;
    ctx.pool = pool;
    ctx.now = NOW;
    ctx.policy = &policy;
    ctx.log = &logger;
    ctx.cache = NULL;
}

/* Default claims: a valid SVID for example.org; callers edit the object before signing. */
static json_t *claims(const char *sub)
{
    return json_pack("{s:s,s:[s],s:I,s:I,s:s}", "sub", sub, "aud", AUD, "exp",
                     (json_int_t)(NOW + 300), "iat", (json_int_t)(NOW - 10), "client_name",
                     "billing");
}

static char *svid(EVP_PKEY *key, const char *alg, const char *kid, json_t *payload)
{
    json_t *h = json_pack("{s:s,s:s}", "alg", alg, "typ", "JWT");
    if (kid)
        json_object_set_new(h, "kid", json_string(kid));
    return mint_jwt(pool, key, alg, dump(h), dump(payload));
}

static char *svid_h(EVP_PKEY *key, const char *alg, json_t *header, json_t *payload)
{
    return mint_jwt(pool, key, alg, dump(header), dump(payload));
}

static dcr_identity id;
static dcr_error err;

static bool verify(const char *jwt)
{
    dcr_error_clear(&err);
    return dcr_spiffe_verify_statement(&ctx, jwt, strlen(jwt), &id, &err);
}

static void refused(const char *jwt, dcr_error_code code, const char *what)
{
    const char *sig = strrchr(jwt, '.') + 1;
    ck_assert_msg(!verify(jwt), "%s: accepted", what);
    ck_assert_msg(err.code == code, "%s: got %s (%s)", what, dcr_error_name(err.code), err.detail);
    ck_assert_int_eq(err.status, 400);
    ck_assert(err.description[0] != '\0');
    /* Never echo the token. */
    ck_assert_ptr_null(strstr(err.description, sig));
    ck_assert_ptr_null(strstr(err.detail, sig));
    ck_assert_ptr_null(strstr(err.description, "eyJ"));
}

#define INVALID DCR_ERR_INVALID_SOFTWARE_STATEMENT
#define UNAPPROVED DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT

START_TEST(happy_paths)
{
    json_t *c = claims("spiffe://example.org/ns/prod/billing");
    json_object_set_new(c, "jti", json_string("j1"));
    json_object_set_new(c, "nbf", json_integer(NOW - 10));
    json_object_set_new(c, "redirect_uris", json_pack("[s]", "https://billing.example/cb"));
    ck_assert_msg(verify(svid(mint_key("P-256"), "ES256", "ec1", c)), "%s", err.detail);
    ck_assert_int_eq(id.kind, DCR_IDENTITY_SPIFFE);
    ck_assert_str_eq(id.subject, "spiffe://example.org/ns/prod/billing");
    ck_assert_str_eq(id.issuer, "example.org");
    ck_assert_str_eq(id.auth_method, "spiffe_jwt");
    ck_assert_str_eq(dcr_json_string(id.extensions, "spiffe_id"), id.subject);
    ck_assert_str_eq(dcr_json_string(id.metadata, "client_name"), "billing");
    ck_assert_ptr_nonnull(json_object_get(id.metadata, "redirect_uris"));
    for (const char *const *k =
             (const char *const[]){"iss", "sub", "aud", "exp", "iat", "nbf", "jti", NULL};
         *k; k++)
        ck_assert_msg(!json_object_get(id.metadata, *k), "%s leaked into metadata", *k);

    ck_assert(verify(svid(mint_key("RSA"), "RS256", "rsa1", claims("spiffe://example.org/a"))));
    ck_assert(verify(svid(mint_key("RSA"), "PS384", "rsa1", claims("spiffe://example.org/a"))));
    policy.spiffe_auth_method = "private_key_jwt";
    c = claims("spiffe://other.org/w");
    json_object_set_new(c, "iss", json_string("https://oidc.other.org"));
    ck_assert_msg(verify(svid(other_ec, "ES256", "ec1", c)), "%s", err.detail);
    ck_assert_str_eq(id.issuer, "other.org");
    ck_assert_str_eq(id.auth_method, "private_key_jwt");
    /* aud as a plain string naming the second configured audience. */
    c = claims("spiffe://example.org/a");
    json_object_set_new(c, "aud", json_string("https://as2.example.com/register"));
    ck_assert(verify(svid(mint_key("P-256"), "ES256", "ec1", c)));
}
END_TEST

START_TEST(header_rules)
{
    static const char *const refused_headers[] = {"jku", "x5u", "jwk", "x5c", "crit"};
    EVP_PKEY *k = mint_key("P-256");
    const char *sub = "spiffe://example.org/a";
    refused(svid(k, "ES256", NULL, claims(sub)), INVALID, "no kid");
    refused(svid_h(k, "ES256", json_pack("{s:s,s:s}", "alg", "ES256", "kid", ""), claims(sub)),
            INVALID, "empty kid");
    refused(svid_h(k, "ES256",
                   json_pack("{s:s,s:s,s:s}", "alg", "ES256", "kid", "ec1", "typ", "at+jwt"),
                   claims(sub)),
            INVALID, "typ at+jwt");
    refused(svid_h(k, "ES256",
                   json_pack("{s:s,s:s,s:s}", "alg", "ES256", "kid", "ec1", "typ", "jwt"),
                   claims(sub)),
            INVALID, "typ lowercase");
    ck_assert(verify(svid_h(k, "ES256",
                            json_pack("{s:s,s:s,s:s}", "alg", "ES256", "kid", "ec1", "typ", "JOSE"),
                            claims(sub))));
    ck_assert(verify(
        svid_h(k, "ES256", json_pack("{s:s,s:s}", "alg", "ES256", "kid", "ec1"), claims(sub))));
    for (size_t i = 0; i < sizeof(refused_headers) / sizeof(refused_headers[0]); i++)
        refused(svid_h(k, "ES256",
                       json_pack("{s:s,s:s,s:[s]}", "alg", "ES256", "kid", "ec1",
                                 refused_headers[i], "x"),
                       claims(sub)),
                INVALID, refused_headers[i]);
    /* alg outside the SVID list, and EdDSA that only VC profiles take. */
    refused(svid(mint_key("Ed25519"), "EdDSA", "ec1", claims(sub)), INVALID, "EdDSA");
    {
        size_t n;
        char *pem = mint_pem(pool, k, &n);
        refused(mint_jwt_hs256(pool, (unsigned char *)pem, n, "{\"alg\":\"HS256\",\"kid\":\"ec1\"}",
                               dump(claims(sub))),
                INVALID, "HS256 with the public key");
    }
}
END_TEST

/* DESIGN.md order of judgement: alg allow-list, then the trust domain of sub, then header rules */
START_TEST(order_of_judgement)
{
    EVP_PKEY *k = mint_key("P-256");
    const char *foreign = "spiffe://nowhere.org/a";
    refused(svid(k, "ES256", NULL, claims(foreign)), UNAPPROVED, "foreign td, no kid");
    refused(svid_h(k, "ES256",
                   json_pack("{s:s,s:s,s:s}", "alg", "ES256", "kid", "ec1", "typ", "at+jwt"),
                   claims(foreign)),
            UNAPPROVED, "foreign td, bad typ");
    refused(svid_h(k, "ES256",
                   json_pack("{s:s,s:s,s:s}", "alg", "ES256", "kid", "ec1", "jku", "https://x"),
                   claims(foreign)),
            UNAPPROVED, "foreign td, jku");
    /* the alg allow-list still comes first */
    refused(svid(mint_key("Ed25519"), "EdDSA", NULL, claims(foreign)), INVALID, "EdDSA first");
    /* no trust domain without a valid SPIFFE ID: a malformed sub stays invalid */
    refused(svid(k, "ES256", NULL, claims("spiffe://Nowhere.org/a")), INVALID, "bad sub, no kid");
    refused(svid(k, "ES256", NULL, claims("https://nowhere.org/a")), INVALID, "not spiffe");
    /* a trusted domain with a header defect: invalid */
    refused(svid(k, "ES256", NULL, claims("spiffe://example.org/a")), INVALID, "trusted, no kid");
}
END_TEST

START_TEST(sub_and_trust_domain)
{
    EVP_PKEY *k = mint_key("P-256");
    json_t *c = claims("x");
    json_object_del(c, "sub");
    refused(svid(k, "ES256", "ec1", c), INVALID, "no sub");
    c = claims("x");
    json_object_set_new(c, "sub", json_integer(5));
    refused(svid(k, "ES256", "ec1", c), INVALID, "sub not a string");
    refused(svid(k, "ES256", "ec1", claims("spiffe://Example.org/a")), INVALID, "uppercase td");
    refused(svid(k, "ES256", "ec1", claims("spiffe://example.org/%61dmin")), INVALID, "percent");
    refused(svid(k, "ES256", "ec1", claims("spiffe://example.org/a/../b")), INVALID, "dot seg");
    refused(svid(k, "ES256", "ec1", claims("SPIFFE://example.org/a")), INVALID, "scheme case");
    refused(svid(k, "ES256", "ec1", claims("spiffe://example.org/a/")), INVALID, "trailing /");
    refused(svid(k, "ES256", "ec1", claims("spiffe://evil.org/a")), UNAPPROVED, "untrusted td");
    refused(svid(k, "ES256", "ec1", claims("spiffe://example.org.evil/a")), UNAPPROVED,
            "td suffix");
    /* Embedded NUL in sub: JSON-escaped, refused rather than truncated. */
    refused(mint_jwt(pool, k, "ES256", "{\"alg\":\"ES256\",\"kid\":\"ec1\"}",
                     apr_psprintf(pool,
                                  "{\"sub\":\"spiffe://example.org/a\\u0000b\",\"aud\":\"%s\","
                                  "\"exp\":%lld,\"iat\":%lld}",
                                  AUD, NOW + 60, NOW)),
            INVALID, "NUL in sub");
    /* Trust domain only: valid ID, but never a client. */
    refused(svid(k, "ES256", "ec1", claims("spiffe://example.org")), UNAPPROVED, "no path");
    ck_assert_ptr_nonnull(strstr(err.description, "path"));
}
END_TEST

START_TEST(keys_per_trust_domain)
{
    const char *sub = "spiffe://example.org/a";
    refused(svid(mint_key("P-256"), "ES256", "nope", claims(sub)), INVALID, "unknown kid");
    /* other.org's key under the kid both domains use: example.org's own ec1 is used. */
    refused(svid(other_ec, "ES256", "ec1", claims(sub)), INVALID, "kid collision");
    /* other.org's P-384 key exists only there. */
    refused(svid(mint_key("P-384"), "ES384", "ec384", claims(sub)), INVALID, "foreign kid");
    /* The x509-svid entry of the bundle never verifies a JWT. */
    refused(svid(x509_ec, "ES256", "x509", claims(sub)), INVALID, "x509-svid key");
    /* Key type and curve must fit alg; the JWK alg member too. */
    refused(svid(mint_key("RSA"), "RS256", "ec1", claims(sub)), INVALID, "RSA sig, EC key");
    refused(svid(mint_key("P-256"), "ES256", "rsa1", claims(sub)), INVALID, "EC sig, RSA key");
    {
        json_t *c = claims("spiffe://other.org/a");
        json_object_set_new(c, "iss", json_string("https://oidc.other.org"));
        refused(svid(mint_key("P-384"), "ES256", "ec384", c), INVALID, "P-384 key for ES256");
    }
    /* A truncated ES signature. */
    {
        char *jwt = svid(mint_key("P-256"), "ES256", "ec1", claims(sub));
        jwt[strlen(jwt) - 3] = '\0';
        refused(jwt, INVALID, "short ES signature");
    }
}
END_TEST

static char *with_claim(const char *name, json_t *value)
{
    json_t *c = claims("spiffe://example.org/a");
    if (value)
        json_object_set_new(c, name, value);
    else
        json_object_del(c, name);
    return svid(mint_key("P-256"), "ES256", "ec1", c);
}

START_TEST(time_rules)
{
    refused(with_claim("exp", NULL), INVALID, "no exp");
    refused(with_claim("iat", NULL), INVALID, "no iat");
    refused(with_claim("exp", json_string("1900000000")), INVALID, "exp string");
    refused(with_claim("exp", json_real(1e300)), INVALID, "exp huge");
    refused(with_claim("iat", json_integer(-5)), INVALID, "iat negative");
    refused(with_claim("exp", json_integer(NOW - 61)), INVALID, "expired beyond skew");
    refused(with_claim("exp", json_integer(NOW - 60)), INVALID, "expired at skew");
    {
        json_t *c = claims("spiffe://example.org/a");
        json_object_set_new(c, "exp", json_integer(NOW - 30));
        json_object_set_new(c, "iat", json_integer(NOW - 100));
        ck_assert(verify(svid(mint_key("P-256"), "ES256", "ec1", c))); /* within the skew */
        c = claims("spiffe://example.org/a");
        json_object_set_new(c, "exp", json_integer(NOW + 100));
        json_object_set_new(c, "iat", json_integer(NOW + 101));
        refused(svid(mint_key("P-256"), "ES256", "ec1", c), INVALID, "exp before iat");
    }
    refused(with_claim("iat", json_integer(NOW + 61)), INVALID, "iat in the future");
    ck_assert(verify(with_claim("iat", json_integer(NOW + 30))));
    refused(with_claim("nbf", json_integer(NOW + 61)), INVALID, "nbf in the future");
    ck_assert(verify(with_claim("nbf", json_integer(NOW + 30))));
    refused(with_claim("nbf", json_string("x")), INVALID, "nbf string");
    /* Lifetime exp - iat: 3600 by default. */
    refused(with_claim("iat", json_integer(NOW + 300 - 3601)), INVALID, "too long-lived");
    ck_assert(verify(with_claim("iat", json_integer(NOW + 300 - 3600))));
    policy.max_statement_lifetime = 300;
    refused(with_claim("iat", json_integer(NOW - 1)), INVALID, "longer than a custom max");
    policy.max_statement_lifetime = 3600;
    policy.clock_skew = 0;
    refused(with_claim("exp", json_integer(NOW)), INVALID, "no skew: exp now");
    refused(with_claim("iat", json_integer(NOW + 1)), INVALID, "no skew: iat + 1");
}
END_TEST

START_TEST(audience_rules)
{
    refused(with_claim("aud", NULL), INVALID, "no aud");
    refused(with_claim("aud", json_array()), INVALID, "empty aud");
    refused(with_claim("aud", json_string("")), INVALID, "empty aud string");
    refused(with_claim("aud", json_null()), INVALID, "aud null");
    refused(with_claim("aud", json_string("https://evil.example/register")), INVALID, "other aud");
    refused(with_claim("aud", json_pack("[s,s]", "https://a", "https://b")), INVALID, "no match");
    /* the log detail shows both sides, so an admin sees why; control characters escaped */
    ck_assert_msg(strstr(err.detail, "expected " AUD " https://as2.example.com/register") &&
                      strstr(err.detail, "presented [\"https://a\",\"https://b\"]"),
                  "%s", err.detail);
    refused(with_claim("aud", json_string("https://x\n[error] forged")), INVALID, "newline");
    ck_assert_msg(strstr(err.detail, "\\n[error]") && !strchr(err.detail, '\n'), "%s", err.detail);
    refused(with_claim("aud", json_pack("[s,i]", AUD, 1)), INVALID, "non-string element");
    refused(with_claim("aud", json_string(AUD "/")), INVALID, "trailing slash");
    ck_assert(verify(with_claim("aud", json_pack("[s,s]", "https://a", AUD))));
    ck_assert(verify(with_claim("aud", json_string(AUD))));
    /* No configured audience never means "any audience". */
    policy.audiences = NULL;
    refused(with_claim("aud", json_string(AUD)), UNAPPROVED, "audiences NULL");
    policy.audiences = apr_array_make(pool, 1, sizeof(const char *));
    refused(with_claim("aud", json_string(AUD)), UNAPPROVED, "audiences empty");
}
END_TEST

START_TEST(issuer_rules)
{
    json_t *c;
    /* example.org: no issuer= given. */
    ck_assert(verify(with_claim("iss", NULL)));
    ck_assert(verify(with_claim("iss", json_string("spiffe://example.org"))));
    refused(with_claim("iss", json_string("https://oidc.example.org")), INVALID, "https iss");
    ck_assert_ptr_nonnull(strstr(logged, "issuer=https://oidc.example.org"));
    refused(with_claim("iss", json_string("spiffe://other.org")), INVALID, "other td iss");
    refused(with_claim("iss", json_string("spiffe://example.org/")), INVALID, "iss + slash");
    refused(with_claim("iss", json_integer(1)), INVALID, "iss not a string");
    /* other.org: issuer=https://oidc.other.org is required. */
    c = claims("spiffe://other.org/a");
    refused(svid(other_ec, "ES256", "ec1", c), INVALID, "iss missing where required");
    c = claims("spiffe://other.org/a");
    json_object_set_new(c, "iss", json_string("spiffe://other.org"));
    refused(svid(other_ec, "ES256", "ec1", c), INVALID, "td iss where issuer= set");
    c = claims("spiffe://other.org/a");
    json_object_set_new(c, "iss", json_string("https://oidc.other.org"));
    ck_assert(verify(svid(other_ec, "ES256", "ec1", c)));
}
END_TEST

START_TEST(allow_patterns)
{
    const char *why = NULL;
    EVP_PKEY *k = mint_key("P-256");
    json_t *c;
    ck_assert(dcr_spiffe_trust_add_pattern(trust, "spiffe://example.org/ns/prod/*", &why));
    ck_assert(dcr_spiffe_trust_add_pattern(trust, "spiffe://example.org/admin", &why));
    ck_assert(!dcr_spiffe_trust_add_pattern(trust, "spiffe://example.org/ns/*/x", &why));
    ck_assert(verify(svid(k, "ES256", "ec1", claims("spiffe://example.org/ns/prod/web"))));
    ck_assert(verify(svid(k, "ES256", "ec1", claims("spiffe://example.org/admin"))));
    refused(svid(k, "ES256", "ec1", claims("spiffe://example.org/ns/dev/web")), UNAPPROVED,
            "outside patterns");
    refused(svid(k, "ES256", "ec1", claims("spiffe://example.org/ns/prod")), UNAPPROVED,
            "prefix itself");
    refused(svid(k, "ES256", "ec1", claims("spiffe://example.org/admin/x")), UNAPPROVED,
            "below an exact pattern");
    /* Patterns of example.org do not restrict other.org. */
    c = claims("spiffe://other.org/anything");
    json_object_set_new(c, "iss", json_string("https://oidc.other.org"));
    ck_assert(verify(svid(other_ec, "ES256", "ec1", c)));
    /* Policy comes after validity: a bad signature outside the patterns is invalid. */
    refused(svid(other_ec, "ES256", "ec1", claims("spiffe://example.org/ns/dev/web")), INVALID,
            "bad sig outside patterns");
}
END_TEST

START_TEST(trust_configuration)
{
    const char *why = NULL;
    dcr_spiffe_bundle *b = bundle_from("{\"keys\":[]}", NULL);
    ck_assert_int_eq(dcr_spiffe_trust_count(trust), 2);
    ck_assert(!dcr_spiffe_trust_add_domain(trust, "example.org", b, NULL, &why));
    ck_assert(!dcr_spiffe_trust_add_domain(trust, "spiffe://x.org", b, NULL, &why));
    ck_assert(!dcr_spiffe_trust_add_domain(trust, "X.org", b, NULL, &why));
    ck_assert(!dcr_spiffe_trust_add_domain(trust, "x.org", NULL, NULL, &why));
    ck_assert(!dcr_spiffe_trust_add_domain(trust, "x.org", b, "", &why));
    ck_assert(dcr_spiffe_trust_add_domain(trust, "revoked.org", b, NULL, &why));
    ck_assert_ptr_eq(dcr_spiffe_trust_bundle(trust, "revoked.org"), b);
    ck_assert_ptr_null(dcr_spiffe_trust_bundle(trust, "nope.org"));
    /* An empty bundle: every SVID of that domain is invalid. */
    refused(svid(mint_key("P-256"), "ES256", "ec1", claims("spiffe://revoked.org/a")), INVALID,
            "revoked bundle");
}
END_TEST

START_TEST(bundle_shapes)
{
    const char *why = NULL;
    int warnings = 0;
    dcr_spiffe_bundle *b;
    json_t *nokid = mint_jwk(mint_key("P-256"), NULL, "jwt-svid", NULL);
    json_t *x509 = mint_jwk(mint_key("P-384"), NULL, "x509-svid", NULL);
    char *text;

    /* SPIFFE shape: only jwt-svid keys with a kid; bad entries dropped with a warning. */
    json_object_set_new(x509, "x5c", json_pack("[s]", "MIIB"));
    text = dump(json_pack(
        "{s:i,s:i,s:[o,o,o,o,o,o,{s:s},s]}", "spiffe_sequence", 42, "spiffe_refresh_hint", 300,
        "keys", mint_jwk(mint_key("P-256"), "a", "jwt-svid", NULL), x509, nokid,
        mint_jwk(mint_key("RSA"), "b", NULL, NULL), mint_jwk(mint_key("P-521"), "c", "wat", NULL),
        mint_jwk(mint_key("Ed25519"), "d", "jwt-svid", NULL), "kty", "XYZ", "junk"));
    b = bundle_from(text, &warnings);
    ck_assert(b->spiffe_shape);
    ck_assert_int_eq(b->sequence, 42);
    ck_assert_int_eq(b->refresh_hint, 300);
    ck_assert_int_eq(b->jwt_keys->nkeys, 2); /* a and d */
    ck_assert_ptr_nonnull(dcr_jwks_find(b->jwt_keys, "a"));
    ck_assert_ptr_nonnull(dcr_jwks_find(b->jwt_keys, "d"));
    ck_assert_ptr_null(dcr_jwks_find(b->jwt_keys, "b")); /* no use in a SPIFFE bundle */
    ck_assert_ptr_null(dcr_jwks_find(b->jwt_keys, "c")); /* unknown use */
    ck_assert_int_eq(warnings, 5); /* no kid, no use, unknown use, unknown kty, junk */

    /* Plain JWKS (OIDC discovery /keys): no use or use=sig, per-key alg. */
    text = dump(json_pack("{s:[o,o,o]}", "keys", mint_jwk(mint_key("RSA"), "r", NULL, "RS256"),
                          mint_jwk(mint_key("P-256"), "e", "sig", "ES256"),
                          mint_jwk(mint_key("P-384"), "enc", "enc", NULL)));
    b = bundle_from(text, &warnings);
    ck_assert(!b->spiffe_shape);
    ck_assert_int_eq(b->sequence, -1);
    ck_assert_int_eq(b->refresh_hint, -1);
    ck_assert_int_eq(b->jwt_keys->nkeys, 2);
    ck_assert_int_eq(warnings, 1);
    ck_assert(dcr_jwk_fits_alg(dcr_jwks_find(b->jwt_keys, "r"), "RS256"));
    ck_assert(!dcr_jwk_fits_alg(dcr_jwks_find(b->jwt_keys, "r"), "PS256"));

    /* Bad top-level values are warnings; empty key list is legal. */
    b = bundle_from("{\"keys\":[],\"spiffe_sequence\":-1,\"spiffe_refresh_hint\":\"5m\"}",
                    &warnings);
    ck_assert_int_eq(warnings, 2);
    ck_assert_int_eq(b->jwt_keys->nkeys, 0);

    /* Whole-document failures. */
    ck_assert_ptr_null(dcr_spiffe_bundle_parse(pool, "{", 1, NULL, NULL, &why));
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_null(dcr_spiffe_bundle_parse(pool, "[]", 2, NULL, NULL, &why));
    ck_assert_ptr_null(dcr_spiffe_bundle_parse(pool, "{}", 2, NULL, NULL, &why));
    ck_assert_ptr_null(dcr_spiffe_bundle_parse(pool, "{\"keys\":{}}", 11, NULL, NULL, &why));
    ck_assert_ptr_null(
        dcr_spiffe_bundle_parse(pool, "{\"keys\":[],\"keys\":[]}", 21, NULL, NULL, &why));
    text = dump(json_pack("{s:[o,o]}", "keys", mint_jwk(mint_key("P-256"), "same", NULL, NULL),
                          mint_jwk(mint_key("P-384"), "same", NULL, NULL)));
    ck_assert_ptr_null(dcr_spiffe_bundle_parse(pool, text, strlen(text), NULL, NULL, &why));
    ck_assert_ptr_nonnull(strstr(why, "duplicate"));
}
END_TEST

START_TEST(dispatch_through_statement_verify)
{
    /* The generic entry point routes a JWT-SVID here and keeps its verdicts. */
    const char *jwt = svid(mint_key("P-256"), "ES256", "ec1", claims("spiffe://example.org/a"));
    dcr_error_clear(&err);
    ck_assert_msg(dcr_statement_verify(&ctx, jwt, strlen(jwt), &id, &err), "%s", err.detail);
    ck_assert_int_eq(id.kind, DCR_IDENTITY_SPIFFE);
    ck_assert_str_eq(id.subject, "spiffe://example.org/a");
    jwt = svid(other_ec, "ES256", "ec1", claims("spiffe://example.org/a"));
    ck_assert(!dcr_statement_verify(&ctx, jwt, strlen(jwt), &id, &err));
    ck_assert_int_eq(err.code, INVALID);
    jwt = svid(mint_key("P-256"), "ES256", "ec1", claims("spiffe://nowhere.org/a"));
    ck_assert(!dcr_statement_verify(&ctx, jwt, strlen(jwt), &id, &err));
    ck_assert_int_eq(err.code, UNAPPROVED);
    /* No SPIFFE trust at all in this vhost. */
    policy.spiffe = NULL;
    ck_assert(!dcr_spiffe_verify_statement(&ctx, jwt, strlen(jwt), &id, &err));
    ck_assert_int_eq(err.code, UNAPPROVED);
}
END_TEST

static Suite *spiffe_suite(void)
{
    Suite *s = suite_create("spiffe");
    TCase *tc = unit_tcase("spiffe");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, happy_paths);
    tcase_add_test(tc, header_rules);
    tcase_add_test(tc, order_of_judgement);
    tcase_add_test(tc, sub_and_trust_domain);
    tcase_add_test(tc, keys_per_trust_domain);
    tcase_add_test(tc, time_rules);
    tcase_add_test(tc, audience_rules);
    tcase_add_test(tc, issuer_rules);
    tcase_add_test(tc, allow_patterns);
    tcase_add_test(tc, trust_configuration);
    tcase_add_test(tc, bundle_shapes);
    tcase_add_test(tc, dispatch_through_statement_verify);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(spiffe_suite)
