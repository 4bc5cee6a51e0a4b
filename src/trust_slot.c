#include "trust_slot.h"

#include <apr_strings.h>
#include <string.h>

size_t dcr_trust_slots_size(int n)
{
    return (size_t)n * sizeof(dcr_trust_slot);
}

dcr_trust_slot *dcr_trust_slot_at(void *base, int i)
{
    return (dcr_trust_slot *)base + i;
}

static void reset(dcr_trust_slot *s, const char *key, const char *url)
{
    memset(s, 0, offsetof(dcr_trust_slot, doc));
    apr_cpystrn(s->key, key, sizeof(s->key));
    apr_cpystrn(s->url, url ? url : "", sizeof(s->url));
    s->sequence = -1;
}

int dcr_trust_slot_claim(void *base, int n, const char *key, const char *url, uint32_t gen)
{
    int free_one = -1;
    for (int i = 0; i < n; i++) {
        dcr_trust_slot *s = dcr_trust_slot_at(base, i);
        if (strcmp(s->key, key) == 0) {
            s->used_gen = gen;
            return i;
        }
        if (!s->key[0] && free_one < 0)
            free_one = i;
    }
    if (free_one >= 0) {
        dcr_trust_slot *s = dcr_trust_slot_at(base, free_one);
        reset(s, key, url);
        s->used_gen = gen;
    }
    return free_one;
}

void dcr_trust_slot_release_unclaimed(void *base, int n, uint32_t gen)
{
    for (int i = 0; i < n; i++) {
        dcr_trust_slot *s = dcr_trust_slot_at(base, i);
        if (s->key[0] && s->used_gen != gen)
            reset(s, "", "");
    }
}

void dcr_trust_slot_publish(dcr_trust_slot *s, const char *doc, size_t len, long long sequence,
                            int key_count)
{
    uint64_t v = __atomic_load_n(&s->version, __ATOMIC_RELAXED);
    if (len > DCR_TRUST_SLOT_DOC_MAX)
        return; /* callers check the cap; never overrun the slot */
    if (v & 1)  /* a writer died mid-write: start from the next even value */
        v++;
    __atomic_store_n(&s->version, v + 1, __ATOMIC_SEQ_CST); /* odd: being written */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    memcpy(s->doc, doc, len);
    s->doc_len = (uint32_t)len;
    s->sequence = sequence;
    s->key_count = key_count;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&s->version, v + 2, __ATOMIC_SEQ_CST);
}

uint64_t dcr_trust_slot_version(const dcr_trust_slot *s)
{
    return __atomic_load_n(&s->version, __ATOMIC_SEQ_CST);
}

bool dcr_trust_slot_read(const dcr_trust_slot *s, apr_pool_t *pool, char **doc, size_t *len,
                         long long *sequence, uint64_t *version)
{
    char *buf = NULL;
    for (int tries = 0; tries < 100; tries++) {
        uint64_t v1 = dcr_trust_slot_version(s), v2;
        uint32_t n;
        long long seq;
        if (v1 == 0)
            return false;
        if (v1 & 1)
            continue;
        n = __atomic_load_n(&s->doc_len, __ATOMIC_RELAXED);
        seq = s->sequence;
        if (n > DCR_TRUST_SLOT_DOC_MAX)
            continue;
        if (!buf)
            buf = apr_palloc(pool, DCR_TRUST_SLOT_DOC_MAX + 1);
        memcpy(buf, s->doc, n);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        v2 = dcr_trust_slot_version(s);
        if (v1 != v2)
            continue;
        buf[n] = '\0';
        *doc = buf;
        *len = n;
        *sequence = seq;
        *version = v1;
        return true;
    }
    return false;
}

int64_t dcr_trust_slot_get(const int64_t *field)
{
    return __atomic_load_n(field, __ATOMIC_SEQ_CST);
}

void dcr_trust_slot_set(int64_t *field, int64_t v)
{
    __atomic_store_n(field, v, __ATOMIC_SEQ_CST);
}

bool dcr_trust_slot_cas(int64_t *field, int64_t expected, int64_t v)
{
    return __atomic_compare_exchange_n(field, &expected, v, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
