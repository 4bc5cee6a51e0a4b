/* The registration and RFC 7592 steps where an upstream holds the client (DCRUpstream): the
 * upstream is written first and the local store after, so nothing is stored for a client the
 * upstream refused, and a local write that fails deletes the upstream client again. A delete the
 * upstream does not take leaves an expired record behind that the sweep retries
 * (dcr_upstream_sweep). docs/upstream.md. */
#ifndef DCR_UPSTREAM_FLOW_H
#define DCR_UPSTREAM_FLOW_H

#include "registrar_int.h"
#include "upstream.h"

/* Registration step 6: c (vetted, with its local token hash) is created at the upstream, or the
 * returning subject's upstream client is updated (replace) or kept (reuse), then stored; as
 * dcr_lifecycle_store otherwise. */
bool dcr_upstream_store(const dcr_request *req, dcr_client *c, dcr_client **existing,
                        dcr_error *err);

/* RFC 7592 update: forwards c's new metadata to its upstream client and puts the upstream's
 * answer (and a rotated upstream token) onto c, before the caller's local write. */
bool dcr_upstream_forward_update(const dcr_request *req, dcr_client *c, dcr_error *err);

/* After the upstream took an update of c (its answer on c) but the local write of c failed: a
 * token the upstream rotated (before: c's secrets as stored) would be lost, and with it every
 * later update and delete of the upstream client (their 401 reads as "already gone": an
 * orphan). It goes into the record as it is now; where there is none or the store fails, the
 * upstream client is deleted with it, as after a failed create. */
void dcr_upstream_keep_token(const dcr_request *req, const dcr_client *c, const char *before);

/* RFC 7592 delete of an authenticated client: the upstream client, then the record; when the
 * upstream does not take the delete, the record is expired instead and the sweep retries. */
bool dcr_upstream_delete(const dcr_request *req, dcr_client *c, dcr_error *err);

/* The client_id an RFC 7592 URL names, as the store keys it. */
const char *dcr_upstream_record_id(const dcr_request *req, const char *client_id);

/* The sweep of expired upstream clients (registration lifetime ended, or a delete the
 * upstream did not take): each is deleted at the upstream it came from (ups: the upstreams of
 * every endpoint on this store, matched by kind and URL), then locally; a failed upstream
 * delete stays for the next run. At most batch records. */
apr_status_t dcr_upstream_sweep(dcr_store *s, const dcr_upstream *const *ups, int nups,
                                long long now, int batch, struct dcr_cache *cache,
                                const dcr_logger *log, long long *removed, apr_pool_t *p,
                                dcr_error *err);

#endif
