/* Statements that register once (a VC bound to this endpoint by aud alone, src/vc_binding.h):
 * their hash is remembered in the registration store until they expire, so a copy presented
 * again, on any process or node sharing the store, is refused. */
#ifndef DCR_STATEMENT_MEMORY_H
#define DCR_STATEMENT_MEMORY_H

#include "registrar.h"

#include <stdbool.h>

/* True the first time statement (the compact JWS text; what is remembered is the hex SHA-256
 * of its signed part, header.payload, which a re-encoded signature does not change) is
 * presented while it is valid
 * (until: seconds since the epoch); false with invalid_software_statement ("already used")
 * after that, or with the store's error (temporarily_unavailable) when it cannot tell. */
bool dcr_statement_first_use(const dcr_request *req, const char *statement, long long until,
                             dcr_error *err);

#endif
