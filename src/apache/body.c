/* Reading the request body with a hard limit: a Content-Length over it is refused before one
 * byte is read, a chunked body as soon as the running count passes it. Memory follows what
 * arrives (Content-Length, or a chunked body's growth), never the limit itself, so a large
 * DCRMaxBodySize costs nothing until a client actually sends that much. */
#include "body.h"

#include "http_protocol.h"

#include <string.h>

#define CHUNK 8192 /* first buffer of a chunked body; doubled as it grows */

int dcr_ap_read_body(request_rec *r, apr_off_t limit, char **buf, apr_size_t *len)
{
    apr_size_t total = 0, cap;
    char *b;
    int rc;

    *buf = NULL;
    *len = 0;
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK)
        return rc; /* malformed Content-Length / Transfer-Encoding */
    if (r->remaining > limit)
        return HTTP_REQUEST_ENTITY_TOO_LARGE; /* before 100-continue or any read */
    /* one byte over the limit is room to notice an over-long body; Content-Length bodies
     * cannot grow past r->remaining */
    cap = r->read_chunked ? (apr_size_t)(limit < CHUNK ? limit : CHUNK) : (apr_size_t)r->remaining;
    b = apr_palloc(r->pool, cap + 1);
    if (ap_should_client_block(r)) {
        for (;;) {
            long n;
            if (total == cap && r->read_chunked && cap < (apr_size_t)limit + 1) {
                apr_size_t ncap = cap < CHUNK ? CHUNK : cap * 2;
                if (ncap > (apr_size_t)limit + 1)
                    ncap = (apr_size_t)limit + 1;
                char *nb = apr_palloc(r->pool, ncap + 1);
                memcpy(nb, b, total);
                b = nb;
                cap = ncap;
            }
            if (total == cap) {
                /* a Content-Length body fully read, or a chunked one at limit + 1: one more
                 * byte tells whether anything follows */
                char probe;
                n = ap_get_client_block(r, &probe, 1);
                if (n < 0)
                    return HTTP_BAD_REQUEST;
                if (n == 0)
                    break;
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            n = ap_get_client_block(r, b + total, cap - total);
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
