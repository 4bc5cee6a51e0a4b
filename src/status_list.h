/* Status list decoders (../shared/spec/oauth_vc.md section 6). Two formats with different
 * compression and bit order, kept apart on purpose:
 *  - W3C Bitstring Status List / StatusList2021: GZIP, multibase 'u' base64url or plain
 *    base64(url), index 0 = most significant bit of byte 0;
 *  - IETF Token Status List: ZLIB, base64url, index 0 = least significant bits of byte 0. */
#ifndef DCR_STATUS_LIST_H
#define DCR_STATUS_LIST_H

#include <apr_pools.h>
#include <stdbool.h>
#include <stddef.h>

/* Default bound on a decompressed list (bytes): 8 MiB = 64 Mi entries of one bit. */
#define DCR_STATUS_MAX_BYTES (8u * 1024 * 1024)
/* W3C minimum list length (herd privacy): 131072 entries, of statusSize bits each (so 16 KiB
 * for one-bit entries, 32 KiB for two-bit ones). */
#define DCR_STATUS_W3C_MIN_ENTRIES 131072ULL

/* W3C encodedList -> raw bitstring in pool memory. Refuses bad base64, bad gzip, trailing
 * data and output over max_bytes. *why says what was wrong. */
bool dcr_status_w3c_decode(apr_pool_t *pool, const char *encoded, size_t max_bytes,
                           unsigned char **out, size_t *out_len, const char **why);

/* MSB-first read of the size-bit entry at idx (size 1..8 here, value into *value). False with
 * *why when idx is out of range. */
bool dcr_status_w3c_get(const unsigned char *list, size_t len, unsigned long long idx,
                        unsigned size, unsigned *value, const char **why);

/* IETF `lst` (base64url, no padding) -> raw bytes via zlib inflate, bounded by max_bytes. */
bool dcr_status_token_decode(apr_pool_t *pool, const char *lst, size_t max_bytes,
                             unsigned char **out, size_t *out_len, const char **why);

/* LSB-first read of the bits-wide entry at idx; bits must be 1, 2, 4 or 8. */
bool dcr_status_token_get(const unsigned char *list, size_t len, unsigned long long idx,
                          unsigned bits, unsigned *value, const char **why);

#endif
