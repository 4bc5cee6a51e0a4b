/* The fetcher side of a trust source: when a refresh is due, and what an answer does to the
 * published key set (validation, size cap, spiffe_sequence order, interval, state changes). */
#include "trust_source.h"
#include "trust_source_int.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

bool dcr_trust_source_due(const dcr_trust_source *src, long long now)
{
    dcr_trust_slot *s = src->slot;
    if (!s)
        return false;
    return now >= dcr_trust_slot_get(&s->next_refresh) ||
           dcr_trust_slot_get(&s->kid_asked_ms) > dcr_trust_slot_get(&s->kid_done_ms);
}

static bool is_json_type(const char *ct)
{
    static const char *const ok[] = {"application/json", "application/jwk-set+json", NULL};
    for (int i = 0; ct && ok[i]; i++) {
        size_t n = strlen(ok[i]);
        if (strncasecmp(ct, ok[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
            return true;
    }
    return false;
}

/* Whether two failure texts say the same thing: digits (timings, ages) do not count, so an
 * outage is one change of state, not one per attempt. */
static bool same_reason(const char *a, const char *b)
{
    for (;;) {
        while (*a >= '0' && *a <= '9')
            a++;
        while (*b >= '0' && *b <= '9')
            b++;
        if (*a != *b)
            return false;
        if (!*a)
            return true;
        a++;
        b++;
    }
}

static const char *result_name(int r)
{
    static const char *const names[] = {"not fetched", "ok", "fetch failed", "answer rejected",
                                        "older spiffe_sequence ignored"};
    return r >= 0 && r <= DCR_TRUST_OLDER ? names[r] : "?";
}

void dcr_trust_source_apply(dcr_trust_source *src, apr_pool_t *pool, long long now,
                            dcr_fetch_status st, const dcr_fetch_result *res, const char *fetch_why,
                            dcr_trust_report *report)
{
    dcr_trust_slot *s = src->slot;
    int prev = s->result, result = DCR_TRUST_OK;
    const char *why = NULL, *prev_why = apr_pstrdup(pool, s->why);
    const dcr_jwks *keys = NULL;
    long long seq = -1, hint = -1,
              interval = s->interval > 0 ? s->interval : dcr_trust_interval(&src->limits, -1);
    bool published = false, doc = src->kind == DCR_TRUST_DOCUMENT;

    if (st != DCR_FETCH_OK) {
        result = DCR_TRUST_FAILED;
        why = fetch_why ? fetch_why : "fetch failed";
    } else if (!is_json_type(res->content_type)) {
        result = DCR_TRUST_REJECTED;
        why = dcr_trust_pfmt(pool, "content type '%.64s' is not application/json",
                             res->content_type ? res->content_type : "(none)");
    } else if (res->len > DCR_TRUST_SLOT_DOC_MAX) {
        result = DCR_TRUST_REJECTED;
        why = dcr_trust_pfmt(pool, "%zu bytes, over the %d-byte cap of a published %s", res->len,
                             DCR_TRUST_SLOT_DOC_MAX, doc ? "document" : "key set");
    } else if (!(keys = dcr_trust_parse_doc(pool, src, res->body, res->len, &seq, &hint, &why))) {
        result = DCR_TRUST_REJECTED;
        why = dcr_trust_pfmt(pool, "not a usable %s: %s", doc ? "document" : "key set", why);
    } else if (seq >= 0 && s->version && s->sequence >= 0 && seq < s->sequence) {
        result = DCR_TRUST_OLDER;
        why = dcr_trust_pfmt(pool, "spiffe_sequence %lld is older than %lld in force", seq,
                             (long long)s->sequence);
    }
    if (result == DCR_TRUST_OK) {
        if (src->kind == DCR_TRUST_VC_JWKS || doc || hint < 0)
            hint = res->max_age;
        interval = dcr_trust_interval(&src->limits, hint);
        if (!s->version || s->doc_len != res->len || memcmp(s->doc, res->body, res->len) != 0) {
            dcr_trust_slot_publish(s, res->body, res->len, seq, keys->nkeys);
            published = true;
        }
        dcr_trust_slot_set(&s->good_at, now);
        s->why[0] = '\0';
        s->failures = 0;
    } else {
        apr_cpystrn(s->why, why, sizeof(s->why));
        s->failures++;
    }
    s->interval = interval;
    s->result = result;
    dcr_trust_slot_set(&s->fetched_at, now);
    dcr_trust_slot_set(&s->next_refresh, now + interval);

    report->failed = result != DCR_TRUST_OK;
    report->changed = published || prev != result || !same_reason(prev_why, s->why);
    if (result == DCR_TRUST_OK && doc)
        report->msg =
            dcr_trust_pfmt(pool, "%s: %s from %s, next refresh in %lld s", src->owner,
                           published ? "new document" : "document confirmed", src->url, interval);
    else if (result == DCR_TRUST_OK)
        report->msg =
            dcr_trust_pfmt(pool, "%s: %s from %s: %d key(s), sequence %lld, next refresh in %lld s",
                           src->owner, published ? "new key set" : "key set confirmed", src->url,
                           (int)s->key_count, (long long)s->sequence, interval);
    else
        report->msg = dcr_trust_pfmt(
            pool, "%s: %s from %s: %s; %s, retry in %lld s", src->owner, result_name(result),
            src->url, why,
            s->version && doc
                ? dcr_trust_pfmt(pool,
                                 "the last good document (%lld s old) is served up to "
                                 "DCRTrustMaxStale %lld s",
                                 now - dcr_trust_slot_get(&s->good_at), src->limits.max_stale)
            : s->version ? dcr_trust_pfmt(pool,
                                          "the last good key set (%d key(s), %lld s old) stays "
                                          "in force up to DCRTrustMaxStale %lld s",
                                          (int)s->key_count, now - dcr_trust_slot_get(&s->good_at),
                                          src->limits.max_stale)
            : doc        ? "nothing is served (503) until a fetch succeeds"
            : src->seed  ? "the seed keys stay in force"
                         : "statements it should verify are refused",
            interval);
}

void dcr_trust_source_refresh(dcr_trust_source *src, apr_pool_t *pool, long long now,
                              dcr_trust_report *report)
{
    dcr_fetch_result res;
    const char *why = NULL;
    int64_t asked = dcr_trust_slot_get(&src->slot->kid_asked_ms);
    dcr_fetch_status st = dcr_fetch_get(pool, &src->fetch, src->url, NULL,
                                        src->kind == DCR_TRUST_DOCUMENT
                                            ? "application/json"
                                            : "application/json, application/jwk-set+json",
                                        &res, &why);
    dcr_trust_source_apply(src, pool, now, st, &res, why, report);
    dcr_trust_slot_set(&src->slot->kid_done_ms, asked);
}
