/* Authorization server metadata as served: arbitrary documents through the check and rewrite,
 * and arbitrary paths through the issuer-path rule. Whatever is served names this server's
 * issuer and registration endpoint, carries no signed_metadata and only allowed methods. */
#include "fuzz.h"

#include "as_metadata.h"
#include "json.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

#define ISS "https://as.example.com"
#define REG ISS "/register"

static void served_ok(apr_pool_t *pool, const char *out, size_t len,
                      const dcr_as_metadata_rules *rules)
{
    const char *why = NULL;
    json_t *d = dcr_json_parse(pool, out, len, DCR_JSON_MAX_DEPTH, &why), *m;
    size_t i;
    if (!d || !json_is_object(d) || strcmp(dcr_json_string(d, "issuer"), ISS) != 0 ||
        strcmp(dcr_json_string(d, "registration_endpoint"), REG) != 0 ||
        json_object_get(d, "signed_metadata"))
        abort();
    json_array_foreach(json_object_get(d, "token_endpoint_auth_methods_supported"), i, m)
    {
        if (!dcr_str_in_list(rules->methods, json_string_value(m)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();
    dcr_as_metadata_rules rules = {ISS, REG, dcr_words(pool, "none private_key_jwt")};
    const char *why = NULL, *path;
    dcr_as_metadata_kind kind;
    size_t len = 0;
    char *out = dcr_as_metadata_render(pool, (const char *)data, size, &rules, &len, &why);
    if (out)
        served_ok(pool, out, len, &rules);
    if ((path = dcr_as_metadata_issuer_path(pool, apr_pstrndup(pool, (const char *)data, size),
                                            &kind)) &&
        path[0] && path[0] != '/')
        abort();
    apr_pool_destroy(pool);
    return 0;
}
