#include "statement_memory.h"

#include "client.h"
#include "store.h"

#include <apr_strings.h>
#include <string.h>

/* Not the whole text: an ECDSA signature is malleable ((r, s) and (r, n - s) both verify), so
 * whoever holds a copy could make a "new" statement text of it; the signed part only the
 * issuer can change. */
void dcr_statement_hash(apr_pool_t *pool, const char *jws, char *hex)
{
    const char *dot = strrchr(jws, '.');
    dcr_token_hash(dot ? apr_pstrndup(pool, jws, (apr_size_t)(dot - jws)) : jws, hex);
}

bool dcr_statement_first_use(const dcr_request *req, const char *statement, long long until,
                             dcr_error *err)
{
    char hex[DCR_TOKEN_HASH_HEX + 1];
    apr_status_t rv;

    if (!req->store || !req->store->ops->remember_statement || !statement)
        return dcr_fail(err, DCR_ERR_SERVER_ERROR, "could not register the client",
                        "the store %s cannot remember single-use statements",
                        req->store ? req->store->ops->name : "(none)");
    dcr_statement_hash(req->pool, statement, hex);
    rv = req->store->ops->remember_statement(req->store, hex, until, req->now, req->pool, err);
    if (rv == APR_EEXIST)
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "the software statement was already used: a credential bound to this "
                        "server only by its aud registers once",
                        "single-use statement %.16s... presented again", hex);
    if (rv != APR_SUCCESS && err->code == DCR_OK)
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE, "the client store is not available",
                 "remember_statement failed (%d)", rv);
    return rv == APR_SUCCESS;
}
