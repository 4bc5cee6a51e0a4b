#include "global_mutex.h"

#include <apr_time.h>
#include <errno.h>

apr_status_t dcr_global_mutex_lock(apr_global_mutex_t *m)
{
    apr_interval_time_t pause = 200, waited = 0;
    apr_status_t rv;
    /* the other wait ends when its holder moves on: retry soon, then less often */
    while ((rv = apr_global_mutex_lock(m)) == APR_FROM_OS_ERROR(EDEADLK) &&
           waited < apr_time_from_msec(DCR_GLOBAL_MUTEX_PATIENCE_MS)) {
        apr_sleep(pause);
        waited += pause;
        if (pause < apr_time_from_msec(20))
            pause *= 2;
    }
    return rv;
}
