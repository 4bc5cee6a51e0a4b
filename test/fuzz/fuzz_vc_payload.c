/* VC payload mapping on arbitrary input: "<typ>\n<payload JSON>". Every rule of vc_payload.c
 * (mapping, time, types, metadata harvesting, dateTime parsing) runs on what parses. */
#include "fuzz.h"

#include "json.h"
#include "vc_payload.h"

#include <apr_strings.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    const char *nl = memchr(data, '\n', size), *why = NULL, *typ = NULL;
    const char *body = (const char *)data;
    size_t body_len = size;
    json_t *payload;
    dcr_vc_claims c;
    long long t;

    if (nl) {
        typ = apr_pstrmemdup(pool, (const char *)data, (apr_size_t)(nl - (const char *)data));
        body = nl + 1;
        body_len = size - (size_t)(body - (const char *)data);
        if (!*typ)
            typ = NULL;
    }
    (void)dcr_vc_parse_datetime(apr_pstrmemdup(pool, body, body_len > 64 ? 64 : body_len), &t);
    payload = dcr_json_parse(pool, body, body_len, DCR_JSON_MAX_DEPTH, &why);
    if (json_is_object(payload)) {
        (void)dcr_vc_claimed_issuer(payload);
        if (dcr_vc_map(pool, typ, payload, &c, &why)) {
            (void)dcr_vc_check_time(pool, &c, 1795000000LL, 60, &why);
            (void)dcr_vc_has_type(&c, "OAuthClientCredential");
            for (int from = 1; from <= 3; from++)
                (void)dcr_vc_harvest_metadata(pool, &c, from, &why);
        }
    }
    apr_pool_destroy(pool);
    return 0;
}
