/* IETF Token Status List decoder (zlib, LSB-first) on arbitrary `lst` text; the first byte
 * picks bits (1, 2, 4, 8 or an invalid width) and the index read back. */
#include "fuzz.h"

#include "status_list.h"

#include <apr_strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned widths[] = {1, 2, 4, 8, 3, 0, 16, 1};
    apr_pool_t *pool = fuzz_pool();
    unsigned char *list;
    size_t len;
    unsigned v;
    const char *why = NULL;
    unsigned sel = size ? data[0] : 0;
    char *text = apr_pstrmemdup(pool, (const char *)data + (size ? 1 : 0), size ? size - 1 : 0);

    if (dcr_status_token_decode(pool, text, 1024 * 1024, &list, &len, &why)) {
        unsigned bits = widths[sel & 7];
        unsigned long long last = bits ? len * 8 / bits : 0;
        (void)dcr_status_token_get(list, len, 0, bits, &v, &why);
        (void)dcr_status_token_get(list, len, last ? last - 1 : 0, bits, &v, &why);
        (void)dcr_status_token_get(list, len, last, bits, &v, &why);
        (void)dcr_status_token_get(list, len, (unsigned long long)(sel >> 3) * 131, bits, &v, &why);
    }
    apr_pool_destroy(pool);
    return 0;
}
