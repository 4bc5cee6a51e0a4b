/* VC-JWT statements end to end through dcr_statement_verify: both encodings, keys (JWKS kid,
 * URL fragment, no kid, pem, x5c), time rules, types, metadata harvesting and errors. Status
 * lists are in check_vc_status.c. */
#include "json.h"
#include "statement.h"
#include "unit.h"
#include "vc.h"
#include "vc_binding.h"
#include "vc_kit.h"

#include <apr_strings.h>
#include <string.h>

#define NOW 1795000000LL
#define ISS "https://issuer.example.org"
#define SUBJ "https://agent.example.com"

static EVP_PKEY *ec_key, *ed_key, *other_key;
static struct dcr_vc_trust trust;
static dcr_policy policy;
static dcr_statement_ctx ctx;
static dcr_identity id;
static dcr_error err;

static void setup(void)
{
    json_t *jwks;
    ec_key = kit_key(pool, "EC");
    ed_key = kit_key(pool, "ED25519");
    jwks = json_pack("{s:[o,o]}", "keys", kit_jwk(ec_key, "k1"), kit_jwk(ed_key, "ed"));
    char *s = json_dumps(jwks, 0);
    apr_array_header_t *issuers = apr_array_make(pool, 2, sizeof(dcr_vc_issuer *));
    other_key = kit_key(pool, "EC");
    APR_ARRAY_PUSH(issuers, dcr_vc_issuer *) = kit_issuer(pool, ISS, DCR_VC_KEYS_JWKS, s);
    free(s);
    json_decref(jwks);
    kit_vc_env(pool, NOW, issuers, &trust, &policy, &ctx);
    memset(&id, 0, sizeof id);
    dcr_error_clear(&err);
}

/* VCDM 2.0 payload of the digest's example, valid around NOW. */
static json_t *vc2(void)
{
    return json_pack("{s:s, s:[s,s], s:[s,s], s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:[s], "
                     "s:[s,s], s:s, s:s}}",
                     "aud", KIT_AUD, "@context", "https://www.w3.org/ns/credentials/v2",
                     "https://www.w3.org/ns/credentials/undefined-terms/v2", "type",
                     "VerifiableCredential", "OAuthClientCredential", "id",
                     "urn:uuid:8b1e6c2a-0000-4000-8000-000000000001", "issuer", ISS, "validFrom",
                     "2026-11-01T00:00:00Z", "validUntil", "2026-12-01T00:00:00Z",
                     "credentialSubject", "id", SUBJ, "client_name", "Example Agent",
                     "client_name#de", "Beispiel-Agent", "redirect_uris",
                     "https://agent.example.com/cb", "grant_types", "authorization_code",
                     "refresh_token", "software_id", "4f1c2d3e-agent", "not_metadata", "x");
}

/* VCDM 1.1 JWT: the credential in `vc`, registered claims outside. */
static json_t *vc1(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:{s:[s], s:[s,s], s:{s:s, s:[s]}}}", "aud",
                     KIT_AUD, "iss", ISS, "sub", SUBJ, "nbf", (json_int_t)(NOW - 3600), "exp",
                     (json_int_t)(NOW + 3600), "jti", "urn:uuid:1", "vc", "@context",
                     "https://www.w3.org/2018/credentials/v1", "type", "VerifiableCredential",
                     "OAuthClientCredential", "credentialSubject", "client_name", "Agent One",
                     "redirect_uris", "https://agent.example.com/cb");
}

static char *sign(json_t *payload, const char *typ, const char *kid, EVP_PKEY *key, const char *alg)
{
    json_t *h = json_pack("{s:s}", "alg", alg);
    char *jwt;
    if (typ)
        json_object_set_new(h, "typ", json_string(typ));
    if (kid)
        json_object_set_new(h, "kid", json_string(kid));
    jwt = kit_sign(pool, h, payload, key, alg);
    json_decref(h);
    json_decref(payload);
    return jwt;
}

static bool verify(const char *jwt)
{
    return dcr_statement_verify(&ctx, jwt, strlen(jwt), &id, &err);
}

#define ck_refused(jwt, want)                                                                      \
    do {                                                                                           \
        ck_assert_msg(!verify(jwt), "accepted");                                                   \
        ck_assert_msg(err.code == (want), "code %d: %s (%s)", err.code, err.description,           \
                      err.detail);                                                                 \
    } while (0)

START_TEST(v2_registers_with_metadata)
{
    char *jwt = sign(vc2(), "vc+jwt", ISS "/keys#k1", ec_key, "ES256");
    ck_assert_msg(verify(jwt), "%s (%s)", err.description, err.detail);
    ck_assert_int_eq(id.kind, DCR_IDENTITY_VC);
    ck_assert_str_eq(id.subject, SUBJ);
    ck_assert_str_eq(id.issuer, ISS);
    ck_assert_str_eq(dcr_json_string(id.metadata, "client_name"), "Example Agent");
    ck_assert_str_eq(dcr_json_string(id.metadata, "client_name#de"), "Beispiel-Agent");
    ck_assert_str_eq(dcr_json_string(id.metadata, "software_id"), "4f1c2d3e-agent");
    ck_assert_int_eq(json_array_size(json_object_get(id.metadata, "redirect_uris")), 1);
    ck_assert_ptr_null(json_object_get(id.metadata, "not_metadata"));
    ck_assert_ptr_null(json_object_get(id.metadata, "id"));
    ck_assert_str_eq(dcr_json_string(id.extensions, "vc_issuer"), ISS);
    ck_assert_str_eq(dcr_json_string(id.extensions, "vc_subject"), SUBJ);
    ck_assert_ptr_null(id.auth_method);
}
END_TEST

START_TEST(v2_typ_variants)
{
    ck_assert_msg(verify(sign(vc2(), "application/vc+jwt", "k1", ec_key, "ES256")), "%s (%s)",
                  err.description, err.detail);
    ck_assert(verify(sign(vc2(), "vc+ld+jwt", "k1", ec_key, "ES256")));
    ck_assert(verify(sign(vc2(), NULL, "k1", ec_key, "ES256")));
    ck_refused(sign(vc2(), "vc+sd-jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_ptr_nonnull(strstr(err.description, "SD-JWT"));
    ck_refused(sign(vc2(), "dc+sd-jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_refused(sign(vc2(), "jose+json", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    {
        json_t *p = vc2();
        json_object_set_new(p, "vc", json_object());
        ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    }
}
END_TEST

START_TEST(v1_registers_eddsa)
{
    char *jwt = sign(vc1(), "JWT", "ed", ed_key, "EdDSA");
    ck_assert_msg(verify(jwt), "%s (%s)", err.description, err.detail);
    ck_assert_str_eq(id.subject, SUBJ);
    ck_assert_str_eq(dcr_json_string(id.metadata, "client_name"), "Agent One");
    /* 1.1 needs the v1 context, not v2 */
    {
        json_t *p = vc1();
        json_object_set_new(json_object_get(p, "vc"), "@context",
                            json_pack("[s]", "https://www.w3.org/ns/credentials/v2"));
        ck_refused(sign(p, NULL, "ed", ed_key, "EdDSA"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    }
    {
        json_t *p = vc1();
        json_object_del(p, "iss");
        json_object_set_new(json_object_get(p, "vc"), "issuer", json_string(ISS));
        ck_refused(sign(p, NULL, "ed", ed_key, "EdDSA"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    }
}
END_TEST

START_TEST(key_selection)
{
    /* no kid: the fitting keys are tried */
    ck_assert(verify(sign(vc2(), "vc+jwt", NULL, ec_key, "ES256")));
    ck_assert(verify(sign(vc2(), "vc+jwt", NULL, ed_key, "EdDSA")));
    ck_assert(verify(sign(vc2(), "vc+jwt", "did:web:issuer.example.org#ed", ed_key, "EdDSA")));
    ck_refused(sign(vc2(), "vc+jwt", "k9", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_refused(sign(vc2(), "vc+jwt", ISS "/keys#", ec_key, "ES256"),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* the kid names a key, but another key signed */
    ck_refused(sign(vc2(), "vc+jwt", "k1", other_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_refused(sign(vc2(), "vc+jwt", NULL, other_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* kid of the EC key with EdDSA: key type does not fit alg */
    ck_refused(sign(vc2(), "vc+jwt", "k1", ed_key, "EdDSA"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
}
END_TEST

START_TEST(pem_issuer_ignores_kid)
{
    apr_array_header_t *a = apr_array_make(pool, 1, sizeof(dcr_vc_issuer *));
    APR_ARRAY_PUSH(a, dcr_vc_issuer *) =
        kit_issuer(pool, ISS, DCR_VC_KEYS_PEM, kit_pub_pem(pool, other_key));
    /* the JWKS issuer of the fixture holds its EC and Ed25519 keys (startup summary) */
    ck_assert_int_eq(dcr_vc_issuer_key_count(APR_ARRAY_IDX(trust.issuers, 0, dcr_vc_issuer *)), 2);
    trust.issuers = a;
    ck_assert_int_eq(dcr_vc_issuer_key_count(APR_ARRAY_IDX(a, 0, dcr_vc_issuer *)), 1);
    ck_assert(verify(sign(vc2(), "vc+jwt", "whatever", other_key, "ES256")));
    ck_refused(sign(vc2(), "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
}
END_TEST

START_TEST(x5c_issuer)
{
    EVP_PKEY *rk = kit_key(pool, "EC"), *lk = kit_key(pool, "EC");
    X509 *root = kit_cert(pool, "root", rk, NULL, NULL, NOW - 86400, NOW + 86400 * 400, true, NULL);
    X509 *leaf =
        kit_cert(pool, "leaf", lk, root, rk, NOW - 86400, NOW + 86400 * 30, false, "URI:" ISS);
    X509 *stray = kit_cert(pool, "stray", lk, root, rk, NOW - 86400, NOW + 86400 * 30, false,
                           "URI:https://other.example");
    apr_array_header_t *a = apr_array_make(pool, 1, sizeof(dcr_vc_issuer *));
    json_t *h;
    APR_ARRAY_PUSH(a, dcr_vc_issuer *) =
        kit_issuer(pool, ISS, DCR_VC_KEYS_X5C, kit_cert_pem(pool, root));
    trust.issuers = a;
    ck_assert_int_eq(dcr_vc_issuer_key_count(APR_ARRAY_IDX(a, 0, dcr_vc_issuer *)), 1);

    h = json_pack("{s:s, s:s, s:o}", "alg", "ES256", "typ", "vc+jwt", "x5c",
                  kit_x5c(pool, leaf, NULL));
    {
        json_t *p = vc2();
        ck_assert_msg(verify(kit_sign(pool, h, p, lk, "ES256")), "%s", err.detail);
        json_decref(p);
    }
    json_object_set_new(h, "x5c", kit_x5c(pool, stray, NULL));
    {
        json_t *p = vc2();
        ck_refused(kit_sign(pool, h, p, lk, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
        json_decref(p);
    }
    json_decref(h);
    /* no x5c at all */
    ck_refused(sign(vc2(), "vc+jwt", NULL, lk, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* after the leaf expired */
    ctx.now = NOW + 86400 * 31;
    h = json_pack("{s:s, s:s, s:o}", "alg", "ES256", "typ", "vc+jwt", "x5c",
                  kit_x5c(pool, leaf, NULL));
    {
        json_t *p = vc2();
        json_object_del(p, "validUntil");
        ck_refused(kit_sign(pool, h, p, lk, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
        ck_assert_ptr_nonnull(strstr(err.detail, "expired"));
        json_decref(p);
    }
    json_decref(h);
}
END_TEST

START_TEST(untrusted_issuer_unapproved)
{
    json_t *p = vc2();
    json_object_set_new(p, "issuer", json_string("https://rogue.example"));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT);
    /* unknown issuer wins over a broken signature */
    p = vc2();
    json_object_set_new(p, "issuer", json_pack("{s:s}", "id", "https://rogue.example"));
    ck_refused(sign(p, "vc+jwt", "k1", other_key, "ES256"), DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT);
    /* no issuer at all */
    p = vc2();
    json_object_del(p, "issuer");
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT);
}
END_TEST

START_TEST(issuer_forms_must_agree)
{
    json_t *p = vc2();
    json_object_set_new(p, "issuer", json_pack("{s:s, s:s}", "id", ISS, "name", "Issuer"));
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    p = vc2();
    json_object_set_new(p, "iss", json_string(ISS));
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    p = vc2();
    json_object_set_new(p, "iss", json_string(ISS));
    json_object_set_new(p, "issuer", json_string("https://rogue.example"));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_msg(strstr(err.description, "iss and issuer disagree"), "%s", err.description);
    /* signed by another key (the issuer's, say): still named for what it is, not a bad
     * signature of iss's keys */
    p = vc2();
    json_object_set_new(p, "iss", json_string(ISS));
    json_object_set_new(p, "issuer", json_pack("{s:s}", "id", "https://rogue.example"));
    ck_refused(sign(p, "vc+jwt", "k1", other_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_msg(strstr(err.description, "iss and issuer disagree"), "%s", err.description);
    p = vc1();
    json_object_set_new(json_object_get(p, "vc"), "issuer", json_string("https://rogue.example"));
    ck_refused(sign(p, "JWT", "k1", other_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_msg(strstr(err.description, "iss and issuer disagree"), "%s", err.description);
    p = vc2();
    json_object_set_new(p, "sub", json_string("https://someone.else"));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    json_object_set_new(p, "jti", json_string("urn:uuid:other"));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
}
END_TEST

START_TEST(subject_rules)
{
    json_t *p = vc2(), *cs = json_object_get(p, "credentialSubject");
    json_object_set_new(p, "credentialSubject", json_pack("[O,O]", cs, cs));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    cs = json_object_get(p, "credentialSubject");
    json_object_set_new(p, "credentialSubject", json_pack("[O]", cs));
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    p = vc2();
    json_object_del(json_object_get(p, "credentialSubject"), "id");
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    json_object_del(json_object_get(p, "credentialSubject"), "id");
    json_object_set_new(p, "sub", json_string(SUBJ));
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_str_eq(id.subject, SUBJ);
}
END_TEST

static void set_str(json_t *p, const char *k, const char *v)
{
    json_object_set_new(p, k, json_string(v));
}

START_TEST(time_rules_v2)
{
    json_t *p;
    /* validFrom in the future, past the skew */
    p = vc2();
    set_str(p, "validFrom", "2026-11-18T11:10:00Z"); /* NOW is 11:06:40Z */
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    set_str(p, "validFrom", "2026-11-18T11:07:30Z"); /* within 60 s skew */
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    p = vc2();
    set_str(p, "validUntil", "2026-11-18T11:00:00Z");
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    set_str(p, "validUntil", "2026-11-18T13:00:00+02:00"); /* = 11:00Z */
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    set_str(p, "validUntil", "2026-12-01T00:00:00"); /* no time zone */
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    set_str(p, "validFrom", "2026-12-02T00:00:00Z");
    set_str(p, "validUntil", "2026-12-01T00:00:00Z");
    ctx.now = NOW;
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* exp (signature lifetime) and validUntil (data) both must hold */
    p = vc2();
    json_object_set_new(p, "exp", json_integer(NOW - 120));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    json_object_set_new(p, "exp", json_integer(NOW - 30)); /* within skew */
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    p = vc2();
    json_object_set_new(p, "nbf", json_integer(NOW + 120));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    json_object_set_new(p, "iat", json_integer(NOW + 600));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    json_object_set_new(p, "exp", json_string("tomorrow"));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
}
END_TEST

START_TEST(time_rules_v1)
{
    json_t *p = vc1();
    json_object_set_new(p, "exp", json_integer(NOW - 61));
    ck_refused(sign(p, NULL, "ed", ed_key, "EdDSA"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc1();
    json_object_set_new(p, "nbf", json_integer(NOW + 61));
    ck_refused(sign(p, NULL, "ed", ed_key, "EdDSA"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* issuanceDate mirrors nbf: equal is fine, a disagreement is refused */
    p = vc1();
    json_object_set_new(p, "nbf", json_integer(1794960000)); /* 2026-11-18T00:00:00Z */
    set_str(json_object_get(p, "vc"), "issuanceDate", "2026-11-18T00:00:00Z");
    ck_assert_msg(verify(sign(p, NULL, "ed", ed_key, "EdDSA")), "%s", err.description);
    p = vc1();
    json_object_set_new(p, "nbf", json_integer(1794960000));
    set_str(json_object_get(p, "vc"), "issuanceDate", "2026-11-18T00:00:01Z");
    ck_refused(sign(p, NULL, "ed", ed_key, "EdDSA"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_ptr_nonnull(strstr(err.description, "disagree"));
    p = vc1();
    set_str(json_object_get(p, "vc"), "expirationDate", "2026-11-18T12:06:40Z"); /* = exp */
    ck_assert_msg(verify(sign(p, NULL, "ed", ed_key, "EdDSA")), "%s", err.description);
    p = vc1();
    set_str(json_object_get(p, "vc"), "expirationDate", "2027-11-18T12:06:40Z");
    ck_refused(sign(p, NULL, "ed", ed_key, "EdDSA"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* without exp, expirationDate alone is honoured */
    p = vc1();
    json_object_del(p, "exp");
    set_str(json_object_get(p, "vc"), "expirationDate", "2026-11-18T11:00:00Z");
    ck_refused(sign(p, NULL, "ed", ed_key, "EdDSA"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
}
END_TEST

START_TEST(types_and_policy)
{
    json_t *p = vc2();
    json_object_set_new(p, "type", json_string("OAuthClientCredential"));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    trust.required_types = dcr_words(pool, "OAuthClientCredential");
    ck_assert(verify(sign(vc2(), "vc+jwt", "k1", ec_key, "ES256")));
    trust.required_types = dcr_words(pool, "OAuthClientCredential AgentCredential");
    ck_refused(sign(vc2(), "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT);
    /* policy is local and comes before the status list: no list reachable here (no fetch, empty
     * cache), yet the answer is the policy refusal, not temporarily_unavailable */
    p = vc2();
    json_object_set_new(p, "credentialStatus",
                        json_pack("{s:s, s:s, s:s, s:s}", "type", "BitstringStatusListEntry",
                                  "statusPurpose", "revocation", "statusListIndex", "7",
                                  "statusListCredential", ISS "/status/1"));
    json_incref(p);
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT);
    trust.required_types = dcr_words(pool, "OAuthClientCredential");
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_TEMPORARILY_UNAVAILABLE);
    /* a broken credential is invalid before policy says anything */
    p = vc2();
    set_str(p, "validUntil", "2026-11-01T00:00:00Z");
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
}
END_TEST

START_TEST(metadata_locations)
{
    json_t *p = vc2();
    set_str(p, "client_uri", "https://agent.example.com");
    set_str(p, "software_id", "4f1c2d3e-agent");
    /* default subject: top-level client_uri is not harvested */
    ck_assert(verify(sign(json_deep_copy(p), "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_ptr_null(json_object_get(id.metadata, "client_uri"));
    trust.metadata_from = DCR_VC_META_CLAIMS;
    ck_assert(verify(sign(json_deep_copy(p), "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_str_eq(dcr_json_string(id.metadata, "client_uri"), "https://agent.example.com");
    ck_assert_ptr_null(json_object_get(id.metadata, "client_name"));
    /* both: same value in two places is fine */
    trust.metadata_from = DCR_VC_META_BOTH;
    ck_assert(verify(sign(json_deep_copy(p), "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_str_eq(dcr_json_string(id.metadata, "client_uri"), "https://agent.example.com");
    ck_assert_str_eq(dcr_json_string(id.metadata, "client_name"), "Example Agent");
    /* different values: refused */
    set_str(p, "software_id", "another");
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* reserved names never become metadata, v1 top-level claims included */
    p = vc1();
    set_str(p, "client_name", "Top Level");
    set_str(p, "scope", "read");
    ck_refused(sign(json_deep_copy(p), NULL, "ed", ed_key, "EdDSA"),
               DCR_ERR_INVALID_SOFTWARE_STATEMENT); /* client_name differs */
    json_object_del(p, "client_name");
    ck_assert(verify(sign(p, NULL, "ed", ed_key, "EdDSA")));
    ck_assert_str_eq(dcr_json_string(id.metadata, "scope"), "read");
    ck_assert_ptr_null(json_object_get(id.metadata, "iss"));
    ck_assert_ptr_null(json_object_get(id.metadata, "jti"));
}
END_TEST

START_TEST(header_keys_never_used)
{
    /* an attacker's key in jwk (or a jku/x5u URL) does not make its signature valid */
    json_t *h = json_pack("{s:s, s:s, s:o, s:s, s:s}", "alg", "ES256", "typ", "vc+jwt", "jwk",
                          kit_jwk(other_key, NULL), "jku", "https://evil.example/jwks", "x5u",
                          "https://evil.example/cert");
    json_t *p = vc2();
    ck_refused(kit_sign(pool, h, p, other_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* the issuer's own key still verifies whatever else the header says */
    ck_assert(verify(kit_sign(pool, h, p, ec_key, "ES256")));
    json_object_set_new(h, "crit", json_pack("[s]", "exp"));
    ck_refused(kit_sign(pool, h, p, ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    json_object_del(h, "crit");
    json_object_set_new(h, "alg", json_string("HS256"));
    ck_refused(kit_sign(pool, h, p, ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    json_decref(h);
    json_decref(p);
}
END_TEST

START_TEST(auth_method_from_policy)
{
    trust.auth_method = "private_key_jwt";
    ck_assert(verify(sign(vc2(), "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_str_eq(id.auth_method, "private_key_jwt");
}
END_TEST

/* ---- binding (DCRVCBinding) and validity (exp mandatory, DCRVCMaxLifetime) ---------------- */

#define until_v2 1796083200LL /* vc2's validUntil, 2026-12-01T00:00:00Z */

static json_t *holder_cnf(void)
{
    return json_pack("{s:o}", "jwk", kit_jwk(other_key, "holder"));
}

START_TEST(binding_default_aud_or_cnf)
{
    json_t *p = vc2();
    /* aud names this endpoint: accepted, single use until it expires (plus the skew) */
    json_object_set_new(p, "aud", json_pack("[s,s]", "https://elsewhere.example", KIT_AUD));
    ck_assert_msg(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")), "%s", err.description);
    ck_assert_int_eq(id.single_use_until, until_v2 + 60);
    ck_assert_ptr_null(json_object_get(id.metadata, "jwks"));
    /* no aud and no cnf: a bearer credential */
    p = vc2();
    json_object_del(p, "aud");
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_msg(strstr(err.description, "not bound to this server (aud) or to a holder key"),
                  "%s", err.description);
    /* an aud for another verifier */
    p = vc2();
    json_object_set_new(p, "aud", json_string("https://elsewhere.example"));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* malformed aud is refused, even beside a good one */
    p = vc2();
    json_object_set_new(p, "aud", json_pack("[s,i]", KIT_AUD, 7));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    json_object_set_new(p, "aud", json_array());
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* no endpoint audience configured: nothing matches */
    policy.audiences = NULL;
    ck_refused(sign(vc2(), "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
}
END_TEST

START_TEST(cnf_pins_the_holder_key)
{
    json_t *p = vc2(), *want = json_pack("{s:[o]}", "keys", kit_jwk(other_key, "holder"));
    json_object_del(p, "aud");
    json_object_set_new(p, "cnf", holder_cnf());
    /* the credential asks for a jwks_uri, the policy for a secret: the holder key wins */
    json_object_set_new(json_object_get(p, "credentialSubject"), "jwks_uri",
                        json_string("https://agent.example.com/jwks"));
    trust.auth_method = "client_secret_basic";
    ck_assert_msg(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")), "%s", err.description);
    ck_assert_str_eq(id.auth_method, "private_key_jwt");
    ck_assert_msg(json_equal(json_object_get(id.metadata, "jwks"), want), "jwks is not cnf.jwk");
    ck_assert_ptr_null(json_object_get(id.metadata, "jwks_uri"));
    ck_assert_int_eq(id.single_use_until, 0); /* bound to a holder: not single use */
    /* aud and cnf: still pinned, still not single use */
    p = vc2();
    json_object_set_new(p, "cnf", holder_cnf());
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_int_eq(id.single_use_until, 0);
    ck_assert_msg(json_equal(json_object_get(id.metadata, "jwks"), want), "jwks is not cnf.jwk");
    json_decref(want);
}
END_TEST

START_TEST(cnf_forms_that_do_not_bind)
{
    json_t *p = vc2(), *jwk;
    /* a thumbprint names a key nobody here can see: no holder key, and no aud either */
    json_object_del(p, "aud");
    json_object_set_new(p, "cnf",
                        json_pack("{s:s}", "jkt", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* with aud, the same credential is an aud-bound one: single use */
    p = vc2();
    json_object_set_new(p, "cnf",
                        json_pack("{s:s}", "jkt", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_int_gt(id.single_use_until, 0);
    ck_assert_ptr_null(json_object_get(id.metadata, "jwks"));
    /* a private key in cnf.jwk is refused (it must never be registered) */
    p = vc2();
    jwk = kit_jwk(other_key, NULL);
    json_object_set_new(jwk, "d", json_string("AAAA"));
    json_object_set_new(p, "cnf", json_pack("{s:o}", "jwk", jwk));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_msg(strstr(err.description, "cnf.jwk"), "%s", err.description);
    /* a symmetric key, a cnf that is not an object */
    p = vc2();
    json_object_set_new(p, "cnf",
                        json_pack("{s:{s:s, s:s}}", "jwk", "kty", "oct", "k", "c2VjcmV0"));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    p = vc2();
    json_object_set_new(p, "cnf", json_string("holder"));
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
}
END_TEST

START_TEST(binding_aud_only_or_cnf_only)
{
    json_t *p;
    trust.binding = DCR_VC_BIND_AUD;
    p = vc2();
    json_object_del(p, "aud");
    json_object_set_new(p, "cnf", holder_cnf());
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_msg(strstr(err.description, "aud does not name"), "%s", err.description);
    ck_assert(verify(sign(vc2(), "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_int_gt(id.single_use_until, 0);

    trust.binding = DCR_VC_BIND_CNF;
    ck_refused(sign(vc2(), "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_msg(strstr(err.description, "holder key"), "%s", err.description);
    p = vc2();
    json_object_set_new(p, "cnf", holder_cnf());
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_int_eq(id.single_use_until, 0);
    ck_assert_str_eq(id.auth_method, "private_key_jwt");
}
END_TEST

START_TEST(binding_any_accepts_bare)
{
    json_t *p = vc2();
    trust.binding = DCR_VC_BIND_ANY;
    json_object_del(p, "aud");
    ck_assert_msg(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")), "%s", err.description);
    ck_assert_int_eq(id.single_use_until, 0);
    ck_assert_ptr_null(id.auth_method);
    /* a holder key still pins */
    p = vc2();
    json_object_set_new(p, "cnf", holder_cnf());
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_str_eq(id.auth_method, "private_key_jwt");
}
END_TEST

START_TEST(expiry_is_mandatory)
{
    json_t *p = vc2();
    json_object_del(p, "validUntil");
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_msg(strstr(err.description, "must expire"), "%s", err.description);
    /* exp instead: fine, and the earlier of the two is what is remembered */
    p = vc2();
    json_object_set_new(p, "exp", json_integer(NOW + 600));
    ck_assert(verify(sign(p, "vc+jwt", "k1", ec_key, "ES256")));
    ck_assert_int_eq(id.single_use_until, NOW + 600 + 60);
    p = vc1();
    json_object_del(p, "exp");
    ck_refused(sign(p, NULL, "ed", ed_key, "EdDSA"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    /* 1.1: expirationDate is its validUntil */
    p = vc1();
    json_object_del(p, "exp");
    set_str(json_object_get(p, "vc"), "expirationDate", "2026-11-18T12:06:40Z");
    ck_assert_msg(verify(sign(p, NULL, "ed", ed_key, "EdDSA")), "%s", err.description);
}
END_TEST

START_TEST(max_lifetime)
{
    json_t *p;
    /* vc1: nbf NOW-3600 .. exp NOW+3600, two hours */
    trust.max_lifetime = 7200;
    ck_assert(verify(sign(vc1(), NULL, "ed", ed_key, "EdDSA")));
    trust.max_lifetime = 7199;
    ck_refused(sign(vc1(), NULL, "ed", ed_key, "EdDSA"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_msg(strstr(err.description, "DCRVCMaxLifetime"), "%s", err.description);
    /* iat comes first: issued an hour ago it has one hour of validity left to count */
    p = vc1();
    json_object_set_new(p, "iat", json_integer(NOW));
    trust.max_lifetime = 3600;
    ck_assert(verify(sign(p, NULL, "ed", ed_key, "EdDSA")));
    /* vc2: validFrom 2026-11-01 .. validUntil 2026-12-01, 30 days */
    trust.max_lifetime = 86400;
    ck_refused(sign(vc2(), "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    trust.max_lifetime = 30 * 86400;
    ck_assert(verify(sign(vc2(), "vc+jwt", "k1", ec_key, "ES256")));
    /* no start at all: the lifetime cannot be told */
    p = vc2();
    json_object_del(p, "validFrom");
    ck_refused(sign(p, "vc+jwt", "k1", ec_key, "ES256"), DCR_ERR_INVALID_SOFTWARE_STATEMENT);
    ck_assert_msg(strstr(err.description, "lifetime"), "%s", err.description);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("vc");
    TCase *tc = unit_tcase("verify");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, v2_registers_with_metadata);
    tcase_add_test(tc, v2_typ_variants);
    tcase_add_test(tc, v1_registers_eddsa);
    tcase_add_test(tc, key_selection);
    tcase_add_test(tc, pem_issuer_ignores_kid);
    tcase_add_test(tc, x5c_issuer);
    tcase_add_test(tc, untrusted_issuer_unapproved);
    tcase_add_test(tc, issuer_forms_must_agree);
    tcase_add_test(tc, subject_rules);
    tcase_add_test(tc, time_rules_v2);
    tcase_add_test(tc, time_rules_v1);
    tcase_add_test(tc, types_and_policy);
    tcase_add_test(tc, metadata_locations);
    tcase_add_test(tc, header_keys_never_used);
    tcase_add_test(tc, auth_method_from_policy);
    tcase_add_test(tc, binding_default_aud_or_cnf);
    tcase_add_test(tc, cnf_pins_the_holder_key);
    tcase_add_test(tc, cnf_forms_that_do_not_bind);
    tcase_add_test(tc, binding_aud_only_or_cnf_only);
    tcase_add_test(tc, binding_any_accepts_bare);
    tcase_add_test(tc, expiry_is_mandatory);
    tcase_add_test(tc, max_lifetime);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
