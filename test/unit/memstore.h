/* An in-process dcr_store over an APR hash, for the registrar's unit tests: it lets a test
 * count records and make the store fail on demand. The real backends have their own contract
 * tests (check_store_*). */
#ifndef DCR_TEST_MEMSTORE_H
#define DCR_TEST_MEMSTORE_H

#include "store.h"

#include <stdbool.h>

dcr_store *memstore_create(apr_pool_t *pool);
unsigned memstore_count(dcr_store *s);
unsigned memstore_used_count(dcr_store *s);      /* single-use statements remembered */
void memstore_set_down(dcr_store *s, bool down); /* every op fails with 503 while down */

#endif
