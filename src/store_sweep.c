#include "store_sweep.h"

apr_status_t dcr_store_sweep(dcr_store *s, long long now, int batch, int max_batches,
                             long long *removed, apr_pool_t *p, dcr_error *err)
{
    *removed = 0;
    if (!s->ops->expire)
        return APR_ENOTIMPL;
    if (batch <= 0)
        batch = DCR_SWEEP_BATCH;
    for (int i = 0; i < max_batches; i++) {
        int n = 0;
        apr_status_t rv = s->ops->expire(s, now, batch, &n, p, err);
        if (rv != APR_SUCCESS)
            return rv;
        *removed += n;
        if (n < batch)
            break;
    }
    return APR_SUCCESS;
}
