/* Taking an httpd global mutex without false deadlocks. Under `Mutex fcntl:` / `file:` the
 * kernel's deadlock check sees processes, not threads: a thread that waits for our mutex while
 * another thread of the same process waits for a lock the holder's process wants (mod_ssl's
 * session cache, say) is refused with EDEADLK although both waits would end. */
#ifndef DCR_GLOBAL_MUTEX_H
#define DCR_GLOBAL_MUTEX_H

#include <apr_global_mutex.h>

/* apr_global_mutex_lock, retried with a short back-off while it answers EDEADLK; any other
 * failure, or EDEADLK for longer than DCR_GLOBAL_MUTEX_PATIENCE_MS, is returned. */
apr_status_t dcr_global_mutex_lock(apr_global_mutex_t *m);

#define DCR_GLOBAL_MUTEX_PATIENCE_MS 30000

#endif
