/* RFC 7592 2.2 update requests judged against the registration they replace, so that a client
 * may PUT back what a read returned: what the server set or normalised (its own members, a
 * forced auth method, a dropped grant, a de-duplicated list) is compared with the registered
 * values, not with what the client or its statement first sent. */
#ifndef DCR_UPDATE_COMPARE_H
#define DCR_UPDATE_COMPARE_H

#include "client.h"
#include "error.h"

#include <apr_pools.h>
#include <jansson.h>
#include <stdbool.h>

/* client_id must be present and equal the client's. The members a client must not send
 * (registration_access_token, registration_client_uri, client_secret_expires_at,
 * client_id_issued_at) and client_secret are ignored when they equal the registered value and
 * refused otherwise (invalid_client_metadata). endpoint_url is the registration endpoint (the
 * client's URI is endpoint_url/client_id); the token and the secret are checked against their
 * stored hashes in constant time. */
bool dcr_update_check_managed(const json_t *body, const dcr_client *c, const char *endpoint_url,
                              dcr_error *err);

/* For an update that resends the registered software_statement: every member the statement
 * fixed must equal its registered value (what a read returned) or the statement's own value;
 * anything else is invalid_client_metadata. Members the statement does not name are free. */
bool dcr_update_check_fixed(const json_t *body, const dcr_client *c, dcr_error *err);

/* The statement metadata an update merges (the statement wins, as at registration). When body
 * resends the registered statement: each member it fixed with its registered value where the
 * registration has one (the statement's value after validation and policy), else its own
 * value; normalising these again changes nothing, so a read's response_types stay consistent
 * with a grant list the server had trimmed. Otherwise (a fresh statement, or none) the fresh
 * statement's claims, statement_claims, as they are. c is the registration before the update;
 * the stored claims stay the statement's own. Owned by pool. */
const json_t *dcr_update_statement_values(apr_pool_t *pool, const dcr_client *c, const json_t *body,
                                          const json_t *statement_claims);

#endif
