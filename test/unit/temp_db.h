/* Throwaway SQLite files for the store tests: a fresh name per call, removed with its -wal,
 * -shm and .lock files when the pool is cleared. The cleanup is registered before anything
 * opens the file, so it runs after the connection has closed. */
#ifndef DCR_TEST_TEMP_DB_H
#define DCR_TEST_TEMP_DB_H

#include <apr_file_io.h>
#include <apr_strings.h>
#include <stdio.h>
#include <unistd.h>

static apr_status_t unlink_db(void *data)
{
    static const char *const sfx[] = {"", "-wal", "-shm", ".lock"};
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s%s", (const char *)data, sfx[i]);
        unlink(path);
    }
    return APR_SUCCESS;
}

static inline const char *temp_db(apr_pool_t *p)
{
    static int n;
    const char *dir = NULL, *f;
    apr_temp_dir_get(&dir, p);
    f = apr_psprintf(p, "%s/dcr-store-%ld-%d.db", dir ? dir : "/tmp", (long)getpid(), ++n);
    unlink_db((void *)f);
    apr_pool_cleanup_register(p, f, unlink_db, apr_pool_cleanup_null);
    return f;
}

#endif
