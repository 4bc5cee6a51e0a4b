/* SPIFFE ID parser and DCRAllowSpiffeID patterns on arbitrary bytes (NUL included). */
#include "fuzz.h"

#include "spiffe_id.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    dcr_spiffe_id id;
    dcr_spiffe_pattern p;
    const char *why = NULL;
    char *s = apr_palloc(pool, size + 1);

    memcpy(s, data, size);
    s[size] = '\0';
    if (dcr_spiffe_id_parse(pool, (const char *)data, size, &id, &why)) {
        /* Parsed IDs are canonical: the copy is the input, byte for byte. */
        if (strlen(id.id) != size || memcmp(id.id, data, size) != 0)
            __builtin_trap();
        if (dcr_spiffe_pattern_parse(pool, "spiffe://example.org/ns/*", &p, &why))
            (void)dcr_spiffe_pattern_match(&p, &id);
    }
    if (dcr_spiffe_pattern_parse(pool, s, &p, &why) &&
        dcr_spiffe_id_parse(pool, "spiffe://example.org/ns/a", 25, &id, &why))
        (void)dcr_spiffe_pattern_match(&p, &id);
    apr_pool_destroy(pool);
    return 0;
}
