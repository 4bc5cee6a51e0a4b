/* SPIFFE bundle / JWKS parser on arbitrary documents. */
#include "fuzz.h"

#include "bundle.h"

static void ignore(void *baton, const char *msg)
{
    (void)baton;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    const char *why = NULL;
    dcr_spiffe_bundle *b =
        dcr_spiffe_bundle_parse(pool, (const char *)data, size, ignore, NULL, &why);
    if (b)
        for (int i = 0; i < b->jwt_keys->nkeys; i++)
            (void)dcr_jwks_find(b->jwt_keys, dcr_jwk_kid(b->jwt_keys->keys[i]));
    apr_pool_destroy(pool);
    return 0;
}
