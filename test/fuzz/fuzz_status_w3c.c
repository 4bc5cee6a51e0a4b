/* W3C Bitstring / StatusList2021 decoder (gzip, MSB-first) on arbitrary encodedList text; the
 * first byte picks the entry size and index read back. */
#include "fuzz.h"

#include "status_list.h"

#include <apr_strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    unsigned char *list;
    size_t len;
    unsigned v;
    const char *why = NULL;
    unsigned sel = size ? data[0] : 0;
    char *text = apr_pstrmemdup(pool, (const char *)data + (size ? 1 : 0), size ? size - 1 : 0);

    if (dcr_status_w3c_decode(pool, text, 1024 * 1024, &list, &len, &why)) {
        unsigned bits = (sel & 7) + 1;
        unsigned long long last = len * 8 / bits;
        (void)dcr_status_w3c_get(list, len, 0, bits, &v, &why);
        (void)dcr_status_w3c_get(list, len, last ? last - 1 : 0, bits, &v, &why);
        (void)dcr_status_w3c_get(list, len, last, bits, &v, &why);
        (void)dcr_status_w3c_get(list, len, (unsigned long long)sel * 977, bits, &v, &why);
    }
    apr_pool_destroy(pool);
    return 0;
}
