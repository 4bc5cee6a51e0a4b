#include "status_list.h"

#include "b64.h"

#include <string.h>
#include <zlib.h>

/* Inflates in (gzip or zlib by window_bits) into at most max_bytes; the whole input must be
 * one complete stream. */
static bool inflate_bounded(apr_pool_t *pool, const unsigned char *in, size_t in_len,
                            int window_bits, size_t max_bytes, unsigned char **out, size_t *out_len,
                            const char **why)
{
    z_stream zs;
    size_t cap = 64 * 1024, used = 0;
    unsigned char *buf;
    int rc;

    if (cap > max_bytes + 1)
        cap = max_bytes + 1;
    buf = apr_palloc(pool, cap);
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, window_bits) != Z_OK) {
        *why = "inflate init failed";
        return false;
    }
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)in_len;
    for (;;) {
        if (used == cap) {
            size_t ncap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            unsigned char *nbuf;
            if (ncap <= cap) {
                inflateEnd(&zs);
                *why = "decompressed status list exceeds the size limit";
                return false;
            }
            nbuf = apr_palloc(pool, ncap);
            memcpy(nbuf, buf, used);
            buf = nbuf;
            cap = ncap;
        }
        zs.next_out = buf + used;
        zs.avail_out = (uInt)(cap - used);
        rc = inflate(&zs, Z_NO_FLUSH);
        used = cap - zs.avail_out;
        if (used > max_bytes) {
            inflateEnd(&zs);
            *why = "decompressed status list exceeds the size limit";
            return false;
        }
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK || (zs.avail_in == 0 && zs.avail_out != 0)) {
            inflateEnd(&zs);
            *why = window_bits > 15 ? "status list is not valid GZIP data"
                                    : "status list is not valid ZLIB data";
            return false;
        }
    }
    if (zs.avail_in != 0) {
        inflateEnd(&zs);
        *why = "trailing data after the compressed status list";
        return false;
    }
    inflateEnd(&zs);
    *out = buf;
    *out_len = used;
    return true;
}

bool dcr_status_w3c_decode(apr_pool_t *pool, const char *encoded, size_t max_bytes,
                           unsigned char **out, size_t *out_len, const char **why)
{
    size_t len = strlen(encoded), raw_len;
    unsigned char *raw;

    /* gzip in base64 always starts "H4sI": a leading 'u' can only be the multibase prefix */
    if (len > 0 && encoded[0] == 'u') {
        encoded++;
        len--;
    }
    raw = dcr_base64_any_decode(pool, encoded, len, &raw_len);
    if (!raw || raw_len == 0) {
        *why = "encodedList is not base64";
        return false;
    }
    if (raw_len < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
        *why = "encodedList is not GZIP data";
        return false;
    }
    return inflate_bounded(pool, raw, raw_len, 16 + MAX_WBITS, max_bytes, out, out_len, why);
}

bool dcr_status_token_decode(apr_pool_t *pool, const char *lst, size_t max_bytes,
                             unsigned char **out, size_t *out_len, const char **why)
{
    size_t len = strlen(lst), raw_len;
    unsigned char *raw;

    if (strpbrk(lst, "+/=")) {
        *why = "status_list.lst is not base64url";
        return false;
    }
    raw = dcr_base64_any_decode(pool, lst, len, &raw_len);
    if (!raw || raw_len == 0) {
        *why = "status_list.lst is not base64url";
        return false;
    }
    return inflate_bounded(pool, raw, raw_len, MAX_WBITS, max_bytes, out, out_len, why);
}

bool dcr_status_w3c_get(const unsigned char *list, size_t len, unsigned long long idx,
                        unsigned size, unsigned *value, const char **why)
{
    unsigned long long first;
    unsigned v = 0;

    if (size < 1 || size > 8) {
        *why = "unsupported statusSize";
        return false;
    }
    if (idx > (len * 8ULL) / size || (idx + 1) * size > len * 8ULL) {
        *why = "status list index out of range";
        return false;
    }
    first = idx * size;
    for (unsigned i = 0; i < size; i++) {
        unsigned long long pos = first + i;
        v = (v << 1) | ((list[pos >> 3] >> (7 - (pos & 7))) & 1u);
    }
    *value = v;
    return true;
}

bool dcr_status_token_get(const unsigned char *list, size_t len, unsigned long long idx,
                          unsigned bits, unsigned *value, const char **why)
{
    unsigned long long pos;

    if (bits != 1 && bits != 2 && bits != 4 && bits != 8) {
        *why = "status_list.bits must be 1, 2, 4 or 8";
        return false;
    }
    if (idx > (len * 8ULL) / bits || (idx + 1) * bits > len * 8ULL) {
        *why = "status list index out of range";
        return false;
    }
    pos = idx * bits; /* never straddles a byte: bits divides 8 */
    *value = (list[pos >> 3] >> (pos & 7)) & ((1u << bits) - 1);
    return true;
}
