/* Bounded request body reading for the handler. */
#ifndef DCR_AP_BODY_H
#define DCR_AP_BODY_H

#include "httpd.h"

/* Reads the whole body into r->pool (NUL-terminated). Returns OK, HTTP_REQUEST_ENTITY_TOO_LARGE
 * when it is over limit bytes (Content-Length or chunked; the rest is not read), or another
 * HTTP status for a malformed or broken body. */
int dcr_ap_read_body(request_rec *r, apr_off_t limit, char **buf, apr_size_t *len);

#endif
