/* Base64 decoding, written once for the JOSE code (strict base64url) and the status lists and
 * x5c (tolerant base64): both share one decoder and differ only in alphabet and padding. */
#ifndef DCR_B64_H
#define DCR_B64_H

#include <apr_pools.h>
#include <stddef.h>

/* Strict base64url (no padding, no other characters) into pool memory; NULL when invalid. The
 * result is NUL-terminated (not counted in *out_len). */
unsigned char *dcr_b64url_decode(apr_pool_t *pool, const char *in, size_t len, size_t *out_len);

/* Tolerant base64: standard or URL alphabet, padding optional (but only at the end). */
unsigned char *dcr_base64_any_decode(apr_pool_t *pool, const char *in, size_t len, size_t *out_len);

#endif
