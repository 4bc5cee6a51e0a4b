/* The whole JWT-SVID profile (dcr_spiffe_verify_statement) against one configured trust domain:
 * header, sub, trust-domain, kid, signature, claim and policy paths on arbitrary input. The seed
 * corpus holds SVIDs signed by this bundle's key, so mutations start from tokens that verify. */
#include "fuzz.h"

#include "json.h"
#include "policy.h"
#include "spiffe.h"
#include "statement.h"

#include <string.h>

static const char BUNDLE[] =
    "{\"spiffe_sequence\":1,\"keys\":[{\"use\":\"jwt-svid\",\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"kid\":\"ec1\",\"x\":\"pgSSwI-zHVVJMCE-u5zT0z9UNXzYIF6Q7iQ_PmsRYS8\","
    "\"y\":\"DigZ8Oset5hGMnuxRQKV4GCYIVKTTMeGHXB9cp9gVHc\"}]}";

static dcr_policy policy;

/* The trust fixture is built once, before any input (libFuzzer calls this first; the replay
 * main through fuzz_init), so per-input leak checks only see per-input memory. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_pool_t *pool;
    const char *why = NULL;
    dcr_spiffe_trust *trust;
    (void)argc;
    (void)argv;
    pool = fuzz_fixture_begin();
    dcr_policy_defaults(pool, &policy);
    policy.audiences = dcr_words(pool, "https://as.example.com/register");
    trust = dcr_spiffe_trust_create(pool);
    if (!dcr_spiffe_trust_add_domain(
            trust, "example.org",
            dcr_spiffe_bundle_parse(pool, BUNDLE, sizeof(BUNDLE) - 1, NULL, NULL, &why), NULL,
            &why) ||
        !dcr_spiffe_trust_add_pattern(trust, "spiffe://example.org/ns/prod/*", &why))
        __builtin_trap();
    policy.spiffe = trust;
    fuzz_fixture_end();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    dcr_statement_ctx ctx = {pool, 1900000000LL - 100, &policy, NULL, NULL};
    dcr_identity id;
    dcr_error err;
    if (dcr_spiffe_verify_statement(&ctx, (const char *)data, size, &id, &err)) {
        /* Whatever verifies is a SPIFFE identity inside the allowed patterns. */
        if (id.kind != DCR_IDENTITY_SPIFFE ||
            strncmp(id.subject, "spiffe://example.org/ns/prod/", 29) != 0)
            __builtin_trap();
    } else if (err.code != DCR_ERR_INVALID_SOFTWARE_STATEMENT &&
               err.code != DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT) {
        __builtin_trap();
    }
    apr_pool_destroy(pool);
    return 0;
}
