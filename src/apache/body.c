/* Reading the request body with a hard limit: a Content-Length over it is refused before one
 * byte is read, a chunked body as soon as the running count passes it. */
#include "body.h"

#include "http_protocol.h"

int dcr_ap_read_body(request_rec *r, apr_off_t limit, char **buf, apr_size_t *len)
{
    apr_size_t total = 0;
    char *b;
    int rc;

    *buf = NULL;
    *len = 0;
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK)
        return rc; /* malformed Content-Length / Transfer-Encoding */
    if (r->remaining > limit)
        return HTTP_REQUEST_ENTITY_TOO_LARGE; /* before 100-continue or any read */
    b = apr_palloc(r->pool, (apr_size_t)limit + 1);
    if (ap_should_client_block(r)) {
        for (;;) {
            long n = ap_get_client_block(r, b + total, (apr_size_t)limit + 1 - total);
            if (n < 0)
                return HTTP_BAD_REQUEST;
            if (n == 0)
                break;
            total += (apr_size_t)n;
            if (total > (apr_size_t)limit)
                return HTTP_REQUEST_ENTITY_TOO_LARGE; /* stop reading: the rest is dropped */
        }
    }
    b[total] = '\0';
    *buf = b;
    *len = total;
    return OK;
}
