/* One registration failure: an RFC 7591 (or RFC 6750 / HTTP) error code, the HTTP status, a
 * description safe to show the client, and a detail that only goes to the error log. */
#ifndef DCR_ERROR_H
#define DCR_ERROR_H

#include <stdbool.h>

typedef enum dcr_error_code {
    DCR_OK = 0,
    DCR_ERR_INVALID_REQUEST,               /* HTTP-level problems: 400/403/405/413/415 */
    DCR_ERR_INVALID_REDIRECT_URI,          /* RFC 7591 3.2.2 */
    DCR_ERR_INVALID_CLIENT_METADATA,       /* RFC 7591 3.2.2 */
    DCR_ERR_INVALID_SOFTWARE_STATEMENT,    /* RFC 7591 3.2.2 */
    DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT, /* RFC 7591 3.2.2 */
    DCR_ERR_INVALID_TOKEN,                 /* RFC 6750: 401 */
    DCR_ERR_MISSING_TOKEN,                 /* RFC 6750: 401, no error in the challenge */
    DCR_ERR_TOO_MANY_REQUESTS,             /* 429 */
    DCR_ERR_TEMPORARILY_UNAVAILABLE,       /* 503: store or required fetch down */
    DCR_ERR_SERVER_ERROR                   /* 500: a bug or resource exhaustion */
} dcr_error_code;

typedef struct dcr_error {
    dcr_error_code code;
    int status;            /* HTTP status; set from the code unless given explicitly */
    char description[256]; /* for the client: never a token, never internal state */
    char detail[512];      /* for the error log only */
} dcr_error;

/* The wire name of a code ("invalid_client_metadata"), NULL for DCR_OK / missing token. */
const char *dcr_error_name(dcr_error_code code);

/* The default HTTP status of a code. */
int dcr_error_status(dcr_error_code code);

/* Fills err (may be NULL) and returns false, so callers can write `return dcr_fail(...)`.
 * detail_fmt may be NULL; it is printf-style. */
bool dcr_fail(dcr_error *err, dcr_error_code code, const char *description,
              const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));

/* Same with an explicit HTTP status (405, 413, 415, 403 ...). */
bool dcr_fail_status(dcr_error *err, dcr_error_code code, int status, const char *description,
                     const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));

void dcr_error_clear(dcr_error *err);

#endif
