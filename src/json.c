#include "json.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *dcr_json_own(apr_pool_t *pool, json_t *j)
{
    if (j)
        apr_pool_cleanup_register(pool, j, json_cleanup, apr_pool_cleanup_null);
    return j;
}

/* jansson has no depth option (its compile-time limit is 2048), so measure the nesting of the
 * raw text first, skipping string contents. */
static int nesting_depth(const char *buf, size_t len)
{
    int depth = 0, max = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"')
            in_string = 1;
        else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if (c == '}' || c == ']')
            depth--;
    }
    return max;
}

json_t *dcr_json_parse(apr_pool_t *pool, const char *buf, size_t len, int max_depth,
                       const char **why)
{
    json_error_t jerr;
    json_t *j;
    if (!buf) { /* an empty body may come as NULL; memchr(NULL, ...) is undefined */
        *why = "no JSON text";
        return NULL;
    }
    if (memchr(buf, '\0', len)) {
        *why = "JSON text contains a NUL byte";
        return NULL;
    }
    if (nesting_depth(buf, len) > max_depth) {
        *why = apr_psprintf(pool, "JSON nested deeper than %d levels", max_depth);
        return NULL;
    }
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!j) {
        *why = apr_psprintf(pool, "malformed JSON at line %d column %d: %s", jerr.line,
                            jerr.column, jerr.text);
        return NULL;
    }
    return dcr_json_own(pool, j);
}

const char *dcr_json_string(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}
