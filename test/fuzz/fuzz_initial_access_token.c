/* The DCRInitialAccessToken file parser on arbitrary input (the file is an admin's, but a
 * parser of untrusted-looking text should never read out of bounds): "<token>\n<file>"; when
 * the file parses, the token is checked against it at a fixed time. */
#include "fuzz.h"

#include "initial_access_token.h"

#include <apr_strings.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    const char *text = (const char *)data, *nl = memchr(data, '\n', size), *token = NULL;
    size_t len = size;
    const dcr_iat_set *set = NULL;
    int line;

    if (nl) {
        token = apr_pstrmemdup(pool, text, (apr_size_t)(nl - text));
        len = size - (size_t)(nl + 1 - text);
        text = nl + 1;
    }
    /* a private copy of exactly len bytes, so ASan sees any read past the end */
    text = len ? apr_pmemdup(pool, text, len) : "";
    if (!dcr_iat_parse(pool, text, len, &set)) {
        (void)dcr_iat_count_expired(set, 1795000000LL);
        (void)dcr_iat_check(set, token, 1795000000LL, &line);
    }
    apr_pool_destroy(pool);
    return 0;
}
