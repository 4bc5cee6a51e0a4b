/* Deleting expired registrations in batches: each batch is one short statement, so writers
 * from requests interleave with a long sweep instead of waiting for it. Works on any store
 * with an expire op (the SQL stores); the httpd glue runs it from mod_watchdog. */
#ifndef DCR_STORE_SWEEP_H
#define DCR_STORE_SWEEP_H

#include "error.h"
#include "store.h"

#define DCR_SWEEP_BATCH 500
#define DCR_SWEEP_MAX_BATCHES 20 /* per run: 10,000 rows, then the next run goes on */

/* Deletes records expired at now, batch at a time, until a batch comes back short or
 * max_batches ran; *removed counts them. APR_ENOTIMPL when the store cannot iterate. */
apr_status_t dcr_store_sweep(dcr_store *s, long long now, int batch, int max_batches,
                             long long *removed, apr_pool_t *p, dcr_error *err);

#endif
