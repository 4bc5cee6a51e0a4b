/* The whole VC-JWT profile (dcr_vc_verify_statement) against one configured issuer: typ,
 * issuer, kid / fragment / no-kid key choice, EdDSA and ES256 signatures, claim, time, type,
 * harvesting and status paths on arbitrary input. The seed corpus holds credentials signed by
 * this JWKS's keys (both encodings, status entries), so mutations start from valid tokens.
 * There is no cache and no fetching here: a status entry ends as temporarily_unavailable. */
#include "fuzz.h"

#include "json.h"
#include "policy.h"
#include "statement.h"
#include "vc.h"

#include <string.h>

static const char JWKS[] =
    "{\"keys\":[{\"crv\":\"P-256\",\"kid\":\"k1\",\"kty\":\"EC\","
    "\"x\":\"jc94XKcSEoaPuVHP_fOzbfDMT3C88HrWrKx8yckYTP0\","
    "\"y\":\"S2agl3-ZsUOBWCSdglgso_vQukCEZPSpx8eDP1rQYR0\"},{\"crv\":\"Ed25519\",\"kid\":\"ed1\","
    "\"kty\":\"OKP\",\"x\":\"uBJSXAg38iZPiVSHWpKVey0BFMidB0L2-WAJ5FXU9Hw\"}]}";

static dcr_policy policy;
static struct dcr_vc_trust trust;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_pool_t *pool;
    const char *why = NULL;
    apr_array_header_t *issuers;
    dcr_vc_issuer *is;
    (void)argc;
    (void)argv;
    pool = fuzz_fixture_begin();
    dcr_policy_defaults(pool, &policy);
    dcr_vc_trust_defaults(&trust);
    is = dcr_vc_issuer_load(pool, "https://issuer.example.org", DCR_VC_KEYS_JWKS, JWKS,
                            sizeof(JWKS) - 1, &why);
    if (!is)
        __builtin_trap();
    issuers = apr_array_make(pool, 1, sizeof(dcr_vc_issuer *));
    APR_ARRAY_PUSH(issuers, dcr_vc_issuer *) = is;
    trust.issuers = issuers;
    trust.metadata_from = DCR_VC_META_BOTH;
    policy.vc = &trust;
    policy.audiences = dcr_words(pool, "https://dcr.example.org/register"); /* DCRVCBinding aud */
    fuzz_fixture_end();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    dcr_statement_ctx ctx = {pool, 1795000000LL, &policy, NULL, NULL};
    dcr_identity id;
    dcr_error err;
    if (dcr_vc_verify_statement(&ctx, (const char *)data, size, &id, &err)) {
        /* whatever verifies comes from the one configured issuer, with a subject */
        if (id.kind != DCR_IDENTITY_VC || strcmp(id.issuer, "https://issuer.example.org") != 0 ||
            !id.subject || !json_is_object(id.metadata))
            __builtin_trap();
    } else if (err.code != DCR_ERR_INVALID_SOFTWARE_STATEMENT &&
               err.code != DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT &&
               err.code != DCR_ERR_TEMPORARILY_UNAVAILABLE) {
        __builtin_trap();
    }
    apr_pool_destroy(pool);
    return 0;
}
