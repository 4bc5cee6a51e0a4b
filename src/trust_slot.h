/* One fetched key document (a SPIFFE bundle or a JWKS) published to every httpd child through
 * memory they all map. The singleton watchdog child is the only writer of a slot's document;
 * readers copy it under a sequence lock, so nobody waits on a lock held across a fetch.
 * The memory itself (and that it survives graceful restarts) is the glue's business: this file
 * only lays slots out in a region it is given. */
#ifndef DCR_TRUST_SLOT_H
#define DCR_TRUST_SLOT_H

#include <apr_pools.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DCR_TRUST_SLOT_DOC_MAX (64 * 1024) /* size cap of a published document */
#define DCR_TRUST_SLOT_KEY_LEN 64          /* hex SHA-256 of the source and its fetch config */

/* Result of the last refresh of a slot (the state logged and shown on a status page). */
typedef enum dcr_trust_result {
    DCR_TRUST_NEVER = 0, /* not fetched yet */
    DCR_TRUST_OK,        /* a new or confirmed document */
    DCR_TRUST_FAILED,    /* network, TLS, HTTP status, size or time */
    DCR_TRUST_REJECTED,  /* answer not acceptable: content type, size cap, not a key set */
    DCR_TRUST_OLDER,     /* spiffe_sequence went backwards: ignored */
} dcr_trust_result;

typedef struct dcr_trust_slot {
    char key[DCR_TRUST_SLOT_KEY_LEN + 1]; /* "" when free */
    char url[256];                        /* for logs and status (truncated) */
    char why[256];                        /* last failure, "" after success */
    uint32_t used_gen;                    /* configuration generation that last claimed it */
    /* sequence lock over doc, doc_len, sequence, key_count: odd while written; the value
     * doubles as the document's version (0: none published) */
    uint64_t version;
    uint32_t doc_len;
    int32_t key_count;
    int64_t sequence;     /* spiffe_sequence of doc, -1 when absent */
    int64_t good_at;      /* seconds: last fetch that produced or confirmed doc */
    int64_t fetched_at;   /* seconds: last fetch attempt */
    int64_t next_refresh; /* seconds */
    int64_t interval;     /* seconds between refreshes, from the last good answer */
    int32_t result;       /* dcr_trust_result of the last attempt */
    int32_t failures;     /* attempts failed in a row */
    int64_t kid_asked_ms; /* an unknown kid asked for a refresh at (apr time, ms) */
    int64_t kid_done_ms;  /* the refresh for kid_asked_ms finished */
    char doc[DCR_TRUST_SLOT_DOC_MAX];
} dcr_trust_slot;

/* Bytes needed for n slots. */
size_t dcr_trust_slots_size(int n);
dcr_trust_slot *dcr_trust_slot_at(void *base, int i);

/* Claims a slot for key in generation gen: the one already holding key (its document and
 * state kept), else a free one, reset. -1 when every slot is taken. */
int dcr_trust_slot_claim(void *base, int n, const char *key, const char *url, uint32_t gen);
/* Frees slots no source of generation gen claimed (a changed source starts fresh). */
void dcr_trust_slot_release_unclaimed(void *base, int n, uint32_t gen);

/* Writer (one at a time): publishes a document already validated. */
void dcr_trust_slot_publish(dcr_trust_slot *s, const char *doc, size_t len, long long sequence,
                            int key_count);
/* The version now (odd while a write is under way). */
uint64_t dcr_trust_slot_version(const dcr_trust_slot *s);
/* Reader: a stable copy of the document in pool; false when none is published (or a writer
 * kept it busy through every retry). */
bool dcr_trust_slot_read(const dcr_trust_slot *s, apr_pool_t *pool, char **doc, size_t *len,
                         long long *sequence, uint64_t *version);

/* Atomic accessors for the single fields (several processes and threads touch them). */
int64_t dcr_trust_slot_get(const int64_t *field);
void dcr_trust_slot_set(int64_t *field, int64_t v);
bool dcr_trust_slot_cas(int64_t *field, int64_t expected, int64_t v);

#endif
