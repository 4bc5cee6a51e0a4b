#include "conf_file.h"

#include <apr_file_io.h>
#include <apr_strings.h>

const char *dcr_conf_read_file(apr_pool_t *p, const char *path, char **buf, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char errbuf[128];
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv != APR_SUCCESS)
        return apr_pstrdup(p, apr_strerror(rv, errbuf, sizeof(errbuf)));
    if (fi.size > DCR_CONF_FILE_MAX) {
        apr_file_close(f);
        return "larger than 1 MiB";
    }
    *buf = apr_palloc(p, (apr_size_t)fi.size + 1);
    rv = apr_file_read_full(f, *buf, (apr_size_t)fi.size, len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_pstrdup(p, apr_strerror(rv, errbuf, sizeof(errbuf)));
    (*buf)[*len] = '\0';
    return NULL;
}
