/* Reading a small file named by a directive (SPIFFE bundles, VC issuer keys) at post_config:
 * one bounded reader for both, so the size limit and error wording cannot drift apart. */
#ifndef DCR_AP_CONF_FILE_H
#define DCR_AP_CONF_FILE_H

#include <apr_pools.h>

#define DCR_CONF_FILE_MAX (1024 * 1024)

/* The whole file into pool memory, NUL-terminated (not counted in *len). NULL on success, else
 * why it could not be read (including "larger than 1 MiB"). */
const char *dcr_conf_read_file(apr_pool_t *p, const char *path, char **buf, apr_size_t *len);

#endif
