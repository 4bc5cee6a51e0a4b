/* Statements that register once (a VC bound to this endpoint by aud alone, src/vc_binding.h):
 * their hash is remembered in the registration store until they expire, so a copy presented
 * again, on any process or node sharing the store, is refused. */
#ifndef DCR_STATEMENT_MEMORY_H
#define DCR_STATEMENT_MEMORY_H

#include "registrar.h"

#include <apr_pools.h>
#include <stdbool.h>

/* Hex SHA-256 (DCR_TOKEN_HASH_HEX + 1 bytes into hex) of a compact JWS's signed part,
 * header.payload: what identifies a statement. Two texts of one statement (a re-encoded
 * signature) hash alike. */
void dcr_statement_hash(apr_pool_t *pool, const char *jws, char *hex);

/* True the first time statement (the compact JWS text, remembered by dcr_statement_hash) is
 * presented while it is valid (until: seconds since the epoch); false with
 * invalid_software_statement ("already used") after that, or with the store's error
 * (temporarily_unavailable) when it cannot tell. */
bool dcr_statement_first_use(const dcr_request *req, const char *statement, long long until,
                             dcr_error *err);

#endif
