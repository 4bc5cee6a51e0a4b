/* The store contract (src/store.h) as reusable Check tests: a backend's test program hands in
 * how to open a fresh, empty store and gets every contract test added to its suite. */
#ifndef DCR_TEST_STORE_CONTRACT_H
#define DCR_TEST_STORE_CONTRACT_H

#include "store.h"

#include <check.h>

/* Opens an empty store whose memory lives in pool; NULL fails the test. */
typedef dcr_store *(*store_contract_open_fn)(apr_pool_t *pool, void *baton);

/* Adds the contract TCase ("contract") to suite; tests of caps the backend lacks
 * (DCR_STORE_CAN_ITERATE: expire, count) are checked to be NULL instead. */
void store_contract_add(Suite *suite, store_contract_open_fn open, void *baton);

/* A client with metadata {"client_name": name}, a hash of token, and subject (SPIFFE ID or
 * NULL); the memory is pool's. */
/* The endpoint the contract's subject clients are bound to (record version 2). */
#define STORE_CONTRACT_ENDPOINT "https://as.example.test/register"

dcr_client *store_contract_client(apr_pool_t *pool, const char *id, const char *spiffe_id,
                                  long long issued_at, long long expires_at, const char *name,
                                  const char *token);

#endif
