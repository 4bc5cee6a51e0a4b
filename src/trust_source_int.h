/* Internals shared by trust_source.c (configuration and the request side) and trust_refresh.c
 * (the fetcher side). Not for other files. */
#ifndef DCR_TRUST_SOURCE_INT_H
#define DCR_TRUST_SOURCE_INT_H

#include "trust_source.h"

#include <apr_thread_mutex.h>

/* One parsed version of a document, shared by the requests of a process that use it. */
typedef struct keyset {
    apr_pool_t *pool; /* unmanaged; NULL for the seed, which lives as long as the config */
    const dcr_jwks *keys;
    uint64_t version;
    int refs;
} keyset;

struct dcr_trust_source {
    apr_pool_t *pool; /* the configuration's */
    const char *owner, *url, *key;
    dcr_trust_kind kind;
    dcr_fetch_conf fetch;
    dcr_trust_limits limits;
    dcr_trust_slot *slot;
    keyset *seed, *current;
    bool required;
    dcr_trust_doc_check check; /* DCR_TRUST_DOCUMENT only */
    void *check_ctx;
    const char *check_id; /* what the check accepts (e.g. the issuer): part of the key */
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;
#endif
};

/* apr_psprintf knows neither %lld nor %zu: C's own formatting into pool memory. */
char *dcr_trust_pfmt(apr_pool_t *pool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A document of this kind checked with the same rules as a file of it: the JWT keys, with
 * spiffe_sequence and spiffe_refresh_hint (-1 when absent or not a bundle). A
 * DCR_TRUST_DOCUMENT has no keys: an empty set when its check passes. */
const dcr_jwks *dcr_trust_parse_doc(apr_pool_t *pool, const dcr_trust_source *src, const char *buf,
                                    size_t len, long long *sequence, long long *hint,
                                    const char **why);

#endif
