/* A PEM bundle of CA certificates (DCRFetchCAFile), checked when the configuration is read
 * and then handed to libcurl from memory: the parent reads it as root, so a CA file only root
 * can read works, and a half-written one stops `apache2 -t` instead of every fetch. */
#ifndef DCR_CA_BUNDLE_H
#define DCR_CA_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

/* True when pem (len bytes) holds at least one certificate and nothing unparsable; *count
 * (may be NULL) gets the number of certificates. Else false with *why. */
bool dcr_ca_bundle_check(const char *pem, size_t len, int *count, const char **why);

#endif
