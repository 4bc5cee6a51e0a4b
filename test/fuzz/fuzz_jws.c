/* Compact JWS parser: arbitrary bytes must never crash, leak or read past the length. */
#include "fuzz.h"

#include "b64.h"
#include "jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const key_headers[] = {"jku", "x5u", "jwk", "x5c", NULL};
    apr_pool_t *pool = fuzz_pool();
    dcr_jws jws;
    dcr_error err;
    size_t n;
    const char *which;

    if (dcr_jws_parse(pool, (const char *)data, size, dcr_jws_algs_vc, &jws, &err))
        (void)dcr_jws_has_header(&jws, key_headers, &which);
    (void)dcr_b64url_decode(pool, (const char *)data, size, &n);
    apr_pool_destroy(pool);
    return 0;
}
