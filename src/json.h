/* jansson helpers shared by the core: strict parsing and pool-owned references. */
#ifndef DCR_JSON_H
#define DCR_JSON_H

#include <apr_pools.h>
#include <jansson.h>
#include <stddef.h>

#define DCR_JSON_MAX_DEPTH 16

/* Parses exactly one JSON value from (buf, len): duplicate object members, NUL bytes and
 * nesting deeper than max_depth are refused. On failure returns NULL and points *why at a
 * static or pool string saying what was wrong. The result is owned by pool (decref'd at its
 * cleanup); callers json_incref what must outlive it. */
json_t *dcr_json_parse(apr_pool_t *pool, const char *buf, size_t len, int max_depth,
                       const char **why);

/* Ties one reference of j to pool: json_decref runs when the pool is cleared. Returns j. */
json_t *dcr_json_own(apr_pool_t *pool, json_t *j);

/* Serialises compactly into pool memory, as json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) would
 * (json_writer.c); NULL on failure. */
char *dcr_json_dump(apr_pool_t *pool, const json_t *j);

/* The string value of obj[key], or NULL when absent or not a string. */
const char *dcr_json_string(const json_t *obj, const char *key);

#endif
