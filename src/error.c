#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *dcr_error_name(dcr_error_code code)
{
    switch (code) {
    case DCR_ERR_INVALID_REQUEST:
        return "invalid_request";
    case DCR_ERR_INVALID_REDIRECT_URI:
        return "invalid_redirect_uri";
    case DCR_ERR_INVALID_CLIENT_METADATA:
        return "invalid_client_metadata";
    case DCR_ERR_INVALID_SOFTWARE_STATEMENT:
        return "invalid_software_statement";
    case DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT:
        return "unapproved_software_statement";
    case DCR_ERR_INVALID_TOKEN:
        return "invalid_token";
    case DCR_ERR_TOO_MANY_REQUESTS:
        return "too_many_requests";
    case DCR_ERR_TEMPORARILY_UNAVAILABLE:
        return "temporarily_unavailable";
    case DCR_ERR_SERVER_ERROR:
        return "server_error";
    case DCR_ERR_MISSING_TOKEN:
    case DCR_OK:
        break;
    }
    return NULL;
}

int dcr_error_status(dcr_error_code code)
{
    switch (code) {
    case DCR_OK:
        return 200;
    case DCR_ERR_INVALID_TOKEN:
    case DCR_ERR_MISSING_TOKEN:
        return 401;
    case DCR_ERR_TOO_MANY_REQUESTS:
        return 429;
    case DCR_ERR_TEMPORARILY_UNAVAILABLE:
        return 503;
    case DCR_ERR_SERVER_ERROR:
        return 500;
    default:
        return 400;
    }
}

static void fill(dcr_error *err, dcr_error_code code, int status, const char *description,
                 const char *detail_fmt, va_list ap)
{
    err->code = code;
    err->status = status;
    snprintf(err->description, sizeof(err->description), "%s", description ? description : "");
    if (detail_fmt)
        vsnprintf(err->detail, sizeof(err->detail), detail_fmt, ap);
    else
        snprintf(err->detail, sizeof(err->detail), "%s", err->description);
}

bool dcr_fail(dcr_error *err, dcr_error_code code, const char *description,
              const char *detail_fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, detail_fmt);
        fill(err, code, dcr_error_status(code), description, detail_fmt, ap);
        va_end(ap);
    }
    return false;
}

bool dcr_fail_status(dcr_error *err, dcr_error_code code, int status, const char *description,
                     const char *detail_fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, detail_fmt);
        fill(err, code, status, description, detail_fmt, ap);
        va_end(ap);
    }
    return false;
}

void dcr_error_clear(dcr_error *err)
{
    memset(err, 0, sizeof(*err));
}
