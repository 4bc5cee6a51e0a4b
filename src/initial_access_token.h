/* Initial access tokens for this endpoint (DCRInitialAccessToken, RFC 7591 section 3): the
 * token file's format and the check of a presented token. The file holds only SHA-256 hashes
 * of the tokens, so reading it gives nobody a token. Format (docs/directives.md):
 *
 *     # comment lines and blank lines are ignored
 *     <64 hex digits: SHA-256 of the token>  [<expiry>]  [# comment]
 *
 * expiry: seconds since the epoch, or an RFC 3339 date-time with a time zone
 * ("2027-01-01T00:00:00Z"); the token works while now < expiry. Anything else in the file is
 * an error naming the line, never its contents. */
#ifndef DCR_INITIAL_ACCESS_TOKEN_H
#define DCR_INITIAL_ACCESS_TOKEN_H

#include "error.h"

#include <apr_pools.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct dcr_iat_set dcr_iat_set;

/* Parses the file's text (len bytes, NULs count as text). Returns NULL with *out set, or a
 * message of the form "line N: <why>" (or "holds no token hash") for the configuration error.
 * A hash given twice is an error (which expiry would hold?). */
const char *dcr_iat_parse(apr_pool_t *pool, const char *text, size_t len, const dcr_iat_set **out);

/* Number of tokens, and of those expired at now. */
int dcr_iat_count(const dcr_iat_set *set);
int dcr_iat_count_expired(const dcr_iat_set *set, long long now);

typedef enum dcr_iat_result {
    DCR_IAT_MISSING = 0, /* no token presented */
    DCR_IAT_UNKNOWN,     /* no line has its hash */
    DCR_IAT_EXPIRED,     /* a line has its hash, past its expiry */
    DCR_IAT_VALID,
} dcr_iat_result;

/* Checks token (NULL or "" is missing) against every line in constant time with respect to
 * the set: the token is hashed once and compared with every hash, so timing tells neither
 * which line matched nor whether one did. *line (may be NULL) is the matching line's number,
 * 0 when none, for the log (never the token). */
dcr_iat_result dcr_iat_check(const dcr_iat_set *set, const char *token, long long now, int *line);

/* The registration's gate: true when set is NULL (none required) or token is valid; else
 * false with err: a missing token is DCR_ERR_MISSING_TOKEN (401, RFC 6750 3.1: no error
 * code), an unknown or expired one DCR_ERR_INVALID_TOKEN (401 invalid_token, alike for the
 * client; the log detail tells them apart). */
bool dcr_iat_authorize(const dcr_iat_set *set, const char *token, long long now, int *line,
                       dcr_error *err);

#endif
