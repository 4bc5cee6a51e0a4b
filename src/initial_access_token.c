#include "initial_access_token.h"

#include "sha256.h"
#include "vc_payload.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <string.h>

#define NEVER LLONG_MAX

typedef struct iat_entry {
    unsigned char hash[DCR_SHA256_LEN];
    long long expires; /* the first second the token no longer works; NEVER without expiry */
    int line;
} iat_entry;

struct dcr_iat_set {
    const iat_entry *e;
    int n;
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Seconds since the epoch (at most 12 digits) or an RFC 3339 date-time with a time zone. */
static bool parse_expiry(const char *s, size_t n, long long *out)
{
    char buf[48];
    size_t i;
    for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        ;
    if (i == n) {
        if (n > 12)
            return false;
        *out = 0;
        for (i = 0; i < n; i++)
            *out = *out * 10 + (s[i] - '0');
        return true;
    }
    if (n >= sizeof(buf) || memchr(s, '\0', n))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return dcr_vc_parse_datetime(buf, out);
}

/* One line without its end of line: *e filled and true, or false with a blank/comment line
 * (*why NULL) or an error (*why set). Messages never quote the line. */
static bool parse_line(const char *p, const char *end, iat_entry *e, const char **why)
{
    const char *start;
    *why = NULL;
    while (p < end && is_ws(*p))
        p++;
    if (p == end || *p == '#')
        return false;
    *why = "not a SHA-256 hash of a token (64 hex digits)";
    if (end - p < 2 * DCR_SHA256_LEN)
        return false;
    for (int i = 0; i < DCR_SHA256_LEN; i++) {
        int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        e->hash[i] = (unsigned char)(hi << 4 | lo);
    }
    p += 2 * DCR_SHA256_LEN;
    if (p < end && !is_ws(*p))
        return false;
    while (p < end && is_ws(*p))
        p++;
    e->expires = NEVER;
    if (p < end && *p != '#') {
        for (start = p; p < end && !is_ws(*p); p++)
            ;
        if (!parse_expiry(start, (size_t)(p - start), &e->expires)) {
            *why = "the expiry is neither seconds since the epoch nor an RFC 3339 date-time "
                   "with a time zone";
            return false;
        }
        while (p < end && is_ws(*p))
            p++;
    }
    if (p < end && *p != '#') {
        *why = "unexpected text after the expiry (a comment starts with #)";
        return false;
    }
    *why = NULL;
    return true;
}

const char *dcr_iat_parse(apr_pool_t *pool, const char *text, size_t len, const dcr_iat_set **out)
{
    apr_array_header_t *entries = apr_array_make(pool, 8, sizeof(iat_entry));
    apr_hash_t *seen = apr_hash_make(pool);
    const char *p = text, *end = text + len, *why;
    dcr_iat_set *set;
    int line = 0;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *le = eol ? eol : end;
        iat_entry e;
        const int *first;
        if (line == INT_MAX)
            return "too many lines";
        line++;
        if (le > p && le[-1] == '\r')
            le--;
        if (parse_line(p, le, &e, &why)) {
            if ((first = apr_hash_get(seen, e.hash, sizeof(e.hash))))
                return apr_psprintf(pool, "line %d: the same hash as line %d", line, *first);
            e.line = line;
            *(iat_entry *)apr_array_push(entries) = e;
            /* own copies: the array's memory moves as it grows */
            apr_hash_set(seen, apr_pmemdup(pool, e.hash, sizeof(e.hash)), sizeof(e.hash),
                         apr_pmemdup(pool, &line, sizeof(line)));
        } else if (why) {
            return apr_psprintf(pool, "line %d: %s", line, why);
        }
        p = eol ? eol + 1 : end;
    }
    if (entries->nelts == 0)
        return "holds no token hash (every registration would be refused)";
    set = apr_palloc(pool, sizeof(*set));
    set->e = (const iat_entry *)entries->elts;
    set->n = entries->nelts;
    *out = set;
    return NULL;
}

int dcr_iat_count(const dcr_iat_set *set)
{
    return set ? set->n : 0;
}

int dcr_iat_count_expired(const dcr_iat_set *set, long long now)
{
    int n = 0;
    for (int i = 0; set && i < set->n; i++)
        n += now >= set->e[i].expires;
    return n;
}

/* 1 when x == 0, else 0, without a branch. */
static unsigned ct_is_zero(int x)
{
    unsigned v = (unsigned)x;
    return ((v | (0u - v)) >> (sizeof(unsigned) * CHAR_BIT - 1)) ^ 1u;
}

dcr_iat_result dcr_iat_check(const dcr_iat_set *set, const char *token, long long now, int *line)
{
    unsigned char h[DCR_SHA256_LEN];
    unsigned seen = 0, live = 0, at = 0;

    if (line)
        *line = 0;
    if (!token || !*token)
        return DCR_IAT_MISSING;
    if (!set || !dcr_sha256_1(h, token, strlen(token)))
        return DCR_IAT_UNKNOWN;
    /* Every line is compared and the outcome accumulated with masks, never by breaking out
     * at a match: the time taken depends on the number of lines only. */
    for (int i = 0; i < set->n; i++) {
        const iat_entry *e = &set->e[i];
        unsigned eq = ct_is_zero(CRYPTO_memcmp(h, e->hash, sizeof(h)));
        unsigned mask = 0u - eq;
        seen |= eq;
        live |= eq & (unsigned)(now < e->expires);
        at = (at & ~mask) | ((unsigned)e->line & mask);
    }
    if (line)
        *line = (int)at;
    return live ? DCR_IAT_VALID : seen ? DCR_IAT_EXPIRED : DCR_IAT_UNKNOWN;
}

bool dcr_iat_authorize(const dcr_iat_set *set, const char *token, long long now, int *line,
                       dcr_error *err)
{
    static const char invalid[] = "the initial access token is not valid";
    int at = 0;
    dcr_iat_result r;
    if (line)
        *line = 0;
    if (!set)
        return true;
    r = dcr_iat_check(set, token, now, &at);
    if (line)
        *line = at;
    switch (r) {
    case DCR_IAT_VALID:
        return true;
    case DCR_IAT_MISSING:
        return dcr_fail(err, DCR_ERR_MISSING_TOKEN,
                        "registration needs an initial access token (Authorization: Bearer)",
                        "no initial access token presented (DCRInitialAccessToken)");
    case DCR_IAT_EXPIRED:
        return dcr_fail(err, DCR_ERR_INVALID_TOKEN, invalid,
                        "the initial access token of line %d has expired", at);
    default:
        return dcr_fail(err, DCR_ERR_INVALID_TOKEN, invalid,
                        "an unknown initial access token (DCRInitialAccessToken)");
    }
}
