#include "b64.h"

#include <stdbool.h>

/* any: also the standard alphabet's '+' and '/'. */
static int b64_value(unsigned char c, bool any)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || (any && c == '+'))
        return 62;
    if (c == '_' || (any && c == '/'))
        return 63;
    return -1;
}

static unsigned char *decode(apr_pool_t *pool, const char *in, size_t len, bool any,
                             size_t *out_len)
{
    unsigned char *out;
    size_t o = 0;
    unsigned int acc = 0;
    int bits = 0;

    /* A lone trailing character carries only 6 bits: never valid. */
    if (len % 4 == 1)
        return NULL;
    out = apr_palloc(pool, len * 3 / 4 + 1);
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i], any);
        if (v < 0)
            return NULL; /* padding, whitespace, NUL, the other alphabet ... */
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero, so each byte string has exactly one encoding. */
    if (acc != 0)
        return NULL;
    out[o] = '\0';
    *out_len = o;
    return out;
}

unsigned char *dcr_b64url_decode(apr_pool_t *pool, const char *in, size_t len, size_t *out_len)
{
    return decode(pool, in, len, false, out_len);
}

unsigned char *dcr_base64_any_decode(apr_pool_t *pool, const char *in, size_t len, size_t *out_len)
{
    size_t pad = 0;

    while (pad < 2 && len > 0 && in[len - 1] == '=') {
        len--;
        pad++;
    }
    if (pad && (len + pad) % 4 != 0)
        return NULL;
    return decode(pool, in, len, true, out_len);
}
