/* Lines of the socache store's subject index: one entry per subject, one line per client,
 * oldest first, "<client_id>\t<issued_at>\t<expires_at>\t<software>" with software the hex
 * SHA-256 of the client's software_id or "-" without one. What a returning subject under
 * replace needs is in the line, so the store finds it without reading and parsing records.
 * A line of an older module holds the client_id alone: its other fields are unknown. */
#ifndef DCR_SUBJECT_INDEX_H
#define DCR_SUBJECT_INDEX_H

#include "client.h"

#include <apr_pools.h>
#include <stdbool.h>

typedef struct dcr_index_line {
    const char *client_id;
    long long issued_at, expires_at; /* expires_at 0: never */
    const char *software;            /* NULL: unknown (an older line) */
} dcr_index_line;

/* c's line, and what its software field says. */
const char *dcr_index_line_of(apr_pool_t *p, const dcr_client *c);
const char *dcr_index_software(apr_pool_t *p, const dcr_client *c);

/* Reads one line (without its newline); false when it is not one. */
bool dcr_index_line_parse(apr_pool_t *p, const char *line, dcr_index_line *out);

#endif
