#include "vc_status.h"

#include "cache.h"
#include "fetch.h"
#include "json.h"
#include "status_cache.h"
#include "status_list.h"

#include <apr_strings.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#define MAX_STATUS_ENTRIES 4
#define DCR_VC_STATUS_RETRY 30 /* seconds before an unreachable list is fetched again */

const char *dcr_vc_status_cache_key(apr_pool_t *pool, const char *url)
{
    return apr_pstrcat(pool, "status-list:", url, NULL);
}

static bool invalid(dcr_error *err, const char *desc, const char *detail)
{
    return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT, desc, "%s", detail ? detail : "");
}

typedef enum { GOT_LIST, SKIP_LIST, FAILED } got;

/* The raw list at url: from the cache, else fetched. An unreachable list is 503 or, under
 * DCRVCStatusUnavailable allow, skipped with a warning. */
static got get_list(const dcr_statement_ctx *ctx, const struct dcr_vc_trust *trust,
                    const dcr_vc_issuer *issuer, const char *url, const char *accept, char **body,
                    size_t *len, bool *cached, long long *max_age, dcr_error *err)
{
    dcr_cache *cache = ctx->cache ? ctx->cache : trust->cache;
    dcr_fetch_result res;
    dcr_fetch_status st;
    const char *why = "no fetch configuration", *down_key;
    char *mark;
    size_t mark_len;

    *max_age = -1;
    *cached = dcr_cache_get(cache, ctx->pool, dcr_vc_status_cache_key(ctx->pool, url), ctx->now,
                            body, len);
    if (*cached)
        return GOT_LIST;
    down_key = dcr_status_down_key(ctx->pool, trust->fetch, url);
    if (dcr_cache_get(cache, ctx->pool, down_key, ctx->now, &mark, &mark_len)) {
        why = "failed moments ago; not retried yet"; /* spares workers a timeout per request */
        st = DCR_FETCH_FAILED;
    } else {
        st = trust->fetch
                 ? dcr_fetch_get(ctx->pool, trust->fetch, url,
                                 dcr_fetch_origin(ctx->pool, issuer->id), accept, &res, &why)
                 : DCR_FETCH_FAILED;
        if (st == DCR_FETCH_FAILED && trust->fetch)
            dcr_cache_set(cache, ctx->pool, down_key, "1", 1, ctx->now + DCR_VC_STATUS_RETRY);
    }
    if (st == DCR_FETCH_REFUSED) {
        invalid(err, "the credential's status list URL is not allowed", why);
        return FAILED;
    }
    if (st == DCR_FETCH_FAILED) {
        if (trust->status_unavailable_allow) {
            dcr_log(ctx->log, DCR_LOG_WARNING,
                    "status list %s unavailable (%s): accepted by DCRVCStatusUnavailable allow",
                    url, why);
            return SKIP_LIST;
        }
        dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                 "the credential's status list cannot be retrieved now", "%s: %s", url, why);
        return FAILED;
    }
    *body = res.body;
    *len = res.len;
    *max_age = res.max_age;
    return GOT_LIST;
}

/* get_list, then the list as a compact JWS (trailing whitespace of the body trimmed); not_jws
 * is the refusal when it is not one. */
static got get_list_jws(const dcr_statement_ctx *ctx, const struct dcr_vc_trust *trust,
                        const dcr_vc_issuer *issuer, const char *url, const char *accept,
                        const char *not_jws, char **body, size_t *len, bool *cached,
                        long long *max_age, dcr_jws *jws, dcr_error *err)
{
    got g = get_list(ctx, trust, issuer, url, accept, body, len, cached, max_age, err);

    if (g != GOT_LIST)
        return g;
    while (*len > 0 && isspace((unsigned char)(*body)[*len - 1]))
        (*body)[--*len] = 0;
    if (!dcr_jws_parse(ctx->pool, *body, *len, dcr_jws_algs_vc, jws, err)) {
        invalid(err, not_jws, url);
        return FAILED;
    }
    return GOT_LIST;
}

/* Caches a verified list for as long as status_cache.c says: its own ttl as an upper bound
 * (it outranks HTTP caching headers, Token Status List draft), never past its expiry. */
static void cache_list(const dcr_statement_ctx *ctx, const struct dcr_vc_trust *trust,
                       const char *url, const char *body, size_t len, long long ttl,
                       long long max_age, long long not_after)
{
    dcr_cache *cache = ctx->cache ? ctx->cache : trust->cache;
    long long life = dcr_status_cache_life(ttl, max_age, trust->status_ttl_min,
                                           trust->status_ttl_max, ctx->now, not_after);
    if (cache && life > 0 &&
        !dcr_cache_set(cache, ctx->pool, dcr_vc_status_cache_key(ctx->pool, url), body, len,
                       ctx->now + life))
        dcr_log(ctx->log, DCR_LOG_INFO, "status list %s not cached (too large?)", url);
}

static bool parse_index(const json_t *v, unsigned long long *out)
{
    const char *s = json_string_value(v);
    unsigned long long n = 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (unsigned long long)json_integer_value(v);
        return true;
    }
    if (!s || !*s || strlen(s) > 15)
        return false;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
        n = n * 10 + (unsigned)(*s - '0');
    }
    *out = n;
    return true;
}

static bool purpose_listed(const json_t *purposes, const char *purpose)
{
    size_t i;
    const json_t *v;
    if (json_is_string(purposes))
        return strcmp(json_string_value(purposes), purpose) == 0;
    json_array_foreach(purposes, i, v) if (json_is_string(v) &&
                                           strcmp(json_string_value(v), purpose) == 0) return true;
    return false;
}

/* One W3C entry (BitstringStatusListEntry or StatusList2021Entry). */
static bool check_w3c(const dcr_statement_ctx *ctx, const struct dcr_vc_trust *trust,
                      const dcr_vc_issuer *issuer, const json_t *entry, bool sl2021, dcr_error *err)
{
    const char *purpose = dcr_json_string(entry, "statusPurpose");
    const char *url = dcr_json_string(entry, "statusListCredential");
    const json_t *size_j = json_object_get(entry, "statusSize");
    unsigned long long idx;
    long long size = 1, ttl = 0, max_age;
    const char *why, *enc;
    char *body;
    size_t len, bits_len;
    unsigned char *bits;
    unsigned value;
    bool cached;
    dcr_jws jws;
    got g;
    dcr_vc_claims lc;
    const char *list_issuer;
    const json_t *ttl_j;
    long long until = 0;

    if (!purpose || !url || !parse_index(json_object_get(entry, "statusListIndex"), &idx))
        return invalid(err,
                       "credentialStatus needs statusPurpose, statusListIndex and "
                       "statusListCredential",
                       NULL);
    if (strcmp(purpose, "revocation") != 0 && strcmp(purpose, "suspension") != 0)
        return true; /* refresh / message do not decide validity */
    if (size_j) {
        if (sl2021 || !json_is_integer(size_j) || json_integer_value(size_j) < 1 ||
            json_integer_value(size_j) > 8)
            return invalid(err, "credentialStatus statusSize must be 1 to 8", NULL);
        size = json_integer_value(size_j);
    }

    /* the list credential: a VC-JWT from an issuer this server trusts */
    g = get_list_jws(ctx, trust, issuer, url, "application/vc+jwt, application/jwt",
                     "the status list credential is not a compact JWS", &body, &len, &cached,
                     &max_age, &jws, err);
    if (g != GOT_LIST)
        return g == SKIP_LIST;
    /* only the credential's own issuer speaks about its status: a list signed by another
     * trusted issuer would let that issuer unrevoke (or revoke) credentials it never issued */
    list_issuer = dcr_vc_claimed_issuer(jws.payload);
    if (!list_issuer || strcmp(list_issuer, issuer->id) != 0)
        return invalid(err, "the status list credential is not from the credential's issuer",
                       apr_psprintf(ctx->pool, "%s: list issuer %s, credential issuer %s", url,
                                    list_issuer ? list_issuer : "(none)", issuer->id));
    if (!dcr_vc_verify_signature(ctx->pool, issuer, &jws, ctx->now, err))
        return invalid(err, "the status list credential signature does not verify", url);
    if (!dcr_vc_map(ctx->pool, jws.typ, jws.payload, &lc, &why) ||
        !dcr_vc_check_time(ctx->pool, &lc, ctx->now, ctx->policy->clock_skew, &why))
        return invalid(err, "the status list credential is not valid", why);
    if (strcmp(lc.issuer, issuer->id) != 0) /* claimed_issuer took the first of several */
        return invalid(err, "the status list credential is not from the credential's issuer", url);
    if (!dcr_vc_has_type(&lc,
                         sl2021 ? "StatusList2021Credential" : "BitstringStatusListCredential"))
        return invalid(err, "the status list credential has the wrong type", url);
    if (!purpose_listed(json_object_get(lc.subject_claims, "statusPurpose"), purpose))
        return invalid(err, "the status list does not serve the entry's statusPurpose", url);
    enc = dcr_json_string(lc.subject_claims, "encodedList");
    if (!enc ||
        !dcr_status_w3c_decode(ctx->pool, enc, trust->status_max_bytes, &bits, &bits_len, &why))
        return invalid(err, "the status list cannot be decoded", enc ? why : "no encodedList");
    /* the minimum counts entries, not bits: herd privacy needs 131072 credentials per list */
    if (bits_len * 8ULL / (unsigned long long)size < DCR_STATUS_W3C_MIN_ENTRIES)
        return invalid(err, "the status list is shorter than 131072 entries",
                       apr_psprintf(ctx->pool, "%s: %" APR_UINT64_T_FMT " entries of %d bits", url,
                                    (apr_uint64_t)(bits_len * 8ULL / (unsigned long long)size),
                                    (int)size));
    if (!dcr_status_w3c_get(bits, bits_len, idx, (unsigned)size, &value, &why))
        return invalid(err, "the credential's status index is outside its list", why);

    if (!cached) {
        ttl_j = json_object_get(lc.subject_claims, "ttl"); /* milliseconds */
        if (json_is_integer(ttl_j))
            ttl = dcr_status_w3c_ttl_seconds(json_integer_value(ttl_j));
        else if (json_is_real(ttl_j) && json_real_value(ttl_j) > 0 &&
                 json_real_value(ttl_j) < 1e15) { /* a fraction of a millisecond counts */
            long long ms = (long long)json_real_value(ttl_j);
            ttl = dcr_status_w3c_ttl_seconds(ms + ((double)ms < json_real_value(ttl_j)));
        }
        bool has_exp = false;
        dcr_jwt_numeric_date(jws.payload, "exp", &until, &has_exp, &why);
        if (json_object_get(lc.credential, "validUntil"))
            dcr_vc_parse_datetime(dcr_json_string(lc.credential, "validUntil"), &until);
        cache_list(ctx, trust, url, body, len, ttl, max_age, until);
    }
    if (value != 0)
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        strcmp(purpose, "revocation") == 0 ? "the credential has been revoked"
                                                           : "the credential is suspended",
                        "%s index %llu value %u", url, idx, value);
    return true;
}

/* IETF Token Status List: status.status_list {idx, uri} -> statuslist+jwt. */
static bool check_token(const dcr_statement_ctx *ctx, const struct dcr_vc_trust *trust,
                        const dcr_vc_issuer *issuer, const json_t *ref, dcr_error *err)
{
    const json_t *idx_j = json_object_get(ref, "idx"), *sl, *bits_j;
    const char *uri = dcr_json_string(ref, "uri"), *why, *lst, *sub;
    long long iat, exp = 0, ttl = 0, max_age;
    bool has_iat, has_exp, cached;
    char *body;
    size_t len, raw_len;
    unsigned char *raw;
    unsigned value;
    dcr_jws jws;
    got g;

    if (!json_is_integer(idx_j) || json_integer_value(idx_j) < 0 || !uri)
        return invalid(err, "status.status_list needs a non-negative idx and a uri", NULL);
    g = get_list_jws(ctx, trust, issuer, uri, "application/statuslist+jwt",
                     "the status list token is not a compact JWS", &body, &len, &cached, &max_age,
                     &jws, err);
    if (g != GOT_LIST)
        return g == SKIP_LIST;
    if (!jws.typ || (strcasecmp(jws.typ, "statuslist+jwt") != 0 &&
                     strcasecmp(jws.typ, "application/statuslist+jwt") != 0))
        return invalid(err, "the status list token must have typ statuslist+jwt", uri);
    /* the same issuer trust as the credential it speaks about */
    if (!dcr_vc_verify_signature(ctx->pool, issuer, &jws, ctx->now, err))
        return invalid(err, "the status list token signature does not verify", uri);
    sub = dcr_json_string(jws.payload, "sub");
    if (!sub || strcmp(sub, uri) != 0)
        return invalid(err, "the status list token's sub is not the status list uri", uri);
    if (!dcr_jwt_numeric_date(jws.payload, "iat", &iat, &has_iat, &why) || !has_iat ||
        !dcr_jwt_numeric_date(jws.payload, "exp", &exp, &has_exp, &why))
        return invalid(err, "the status list token needs iat (and a numeric exp)", uri);
    if (has_exp && ctx->now - ctx->policy->clock_skew >= exp)
        return invalid(err, "the status list token has expired", uri);
    if (iat > ctx->now + ctx->policy->clock_skew)
        return invalid(err, "the status list token was issued in the future", uri);
    sl = json_object_get(jws.payload, "status_list");
    bits_j = json_object_get(sl, "bits");
    lst = dcr_json_string(sl, "lst");
    if (!json_is_integer(bits_j) || !lst)
        return invalid(err, "the status list token has no status_list bits and lst", uri);
    if (!dcr_status_token_decode(ctx->pool, lst, trust->status_max_bytes, &raw, &raw_len, &why))
        return invalid(err, "the status list cannot be decoded", why);
    if (!dcr_status_token_get(raw, raw_len, (unsigned long long)json_integer_value(idx_j),
                              (unsigned)json_integer_value(bits_j), &value, &why))
        return invalid(err, "the credential's status index is outside its list", why);
    if (!cached) {
        const json_t *ttl_j = json_object_get(jws.payload, "ttl");
        if (json_is_integer(ttl_j) && json_integer_value(ttl_j) > 0)
            ttl = json_integer_value(ttl_j);
        cache_list(ctx, trust, uri, body, len, ttl, max_age, has_exp ? exp : 0);
    }
    if (value == 0)
        return true;
    return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                    value == 1   ? "the credential has been revoked"
                    : value == 2 ? "the credential is suspended"
                                 : "the credential's status is not valid",
                    "%s idx %lld value %u", uri, (long long)json_integer_value(idx_j), value);
}

bool dcr_vc_check_status(const dcr_statement_ctx *ctx, const struct dcr_vc_trust *trust,
                         const dcr_vc_issuer *issuer, const dcr_vc_claims *c, dcr_error *err)
{
    size_t n = json_is_array(c->status) ? json_array_size(c->status) : c->status ? 1 : 0;

    if (n > MAX_STATUS_ENTRIES)
        return invalid(err, "too many credentialStatus entries", NULL);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(c->status) ? json_array_get(c->status, i) : c->status;
        const char *type = dcr_json_string(e, "type");
        if (!type)
            return invalid(err, "a credentialStatus entry has no type", NULL);
        if (strcmp(type, "BitstringStatusListEntry") == 0 ||
            strcmp(type, "StatusList2021Entry") == 0) {
            if (!check_w3c(ctx, trust, issuer, e, type[0] == 'S', err))
                return false;
        } else {
            /* VC-JOSE-COSE: unknown status types are ignored; say so in the log */
            dcr_log(ctx->log, DCR_LOG_NOTICE, "credentialStatus type %s not understood: ignored",
                    type);
        }
    }
    if (c->token_status && !check_token(ctx, trust, issuer, c->token_status, err))
        return false;
    return true;
}
