/* SHA-256 with the implementation fetched once per process: OpenSSL 3 looks EVP_sha256() up
 * in its provider tables again on every use, which cost more than hashing a short token. */
#ifndef DCR_SHA256_H
#define DCR_SHA256_H

#include <stdbool.h>
#include <stddef.h>

#define DCR_SHA256_LEN 32

/* out = SHA-256 of the concatenation of the n (data, len) parts; false if OpenSSL failed. */
bool dcr_sha256(unsigned char out[DCR_SHA256_LEN], int n, const void *const *data,
                const size_t *len);

/* One part. */
bool dcr_sha256_1(unsigned char out[DCR_SHA256_LEN], const void *data, size_t len);

#endif
