#include "spiffe_id.h"

#include <apr_strings.h>
#include <string.h>

#define SCHEME "spiffe://"
#define SCHEME_LEN 9

static bool td_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool path_char(unsigned char c)
{
    return td_char(c) || (c >= 'A' && c <= 'Z');
}

bool dcr_spiffe_td_valid(const char *s, size_t len)
{
    if (len == 0 || len > DCR_SPIFFE_TD_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!td_char((unsigned char)s[i]))
            return false;
    return true;
}

bool dcr_spiffe_id_parse(apr_pool_t *pool, const char *s, size_t len, dcr_spiffe_id *out,
                         const char **why)
{
    size_t i, td_end, seg;

    if (!s || len == 0)
        return (*why = "empty SPIFFE ID"), false;
    if (len > DCR_SPIFFE_ID_MAX)
        return (*why = "SPIFFE ID longer than 2048 bytes"), false;
    if (memchr(s, '\0', len))
        return (*why = "SPIFFE ID contains a NUL byte"), false;
    if (len < SCHEME_LEN || memcmp(s, SCHEME, SCHEME_LEN) != 0)
        return (*why = "SPIFFE ID does not start with spiffe://"), false;

    for (td_end = SCHEME_LEN; td_end < len && s[td_end] != '/'; td_end++)
        ;
    if (td_end == SCHEME_LEN)
        return (*why = "SPIFFE ID has an empty trust domain"), false;
    if (td_end - SCHEME_LEN > DCR_SPIFFE_TD_MAX)
        return (*why = "SPIFFE trust domain longer than 255 bytes"), false;
    for (i = SCHEME_LEN; i < td_end; i++)
        if (!td_char((unsigned char)s[i]))
            return (*why = "SPIFFE trust domain has a character outside a-z 0-9 . - _"), false;

    /* Path: segments after each '/', non-empty, not "." or "..", path alphabet only. */
    for (i = td_end; i < len;) {
        seg = ++i; /* skip '/' */
        while (i < len && s[i] != '/') {
            if (!path_char((unsigned char)s[i]))
                return (*why = "SPIFFE ID path has a character outside A-Z a-z 0-9 . - _"), false;
            i++;
        }
        if (i == seg)
            return (*why = "SPIFFE ID path has an empty segment or a trailing slash"), false;
        if ((i - seg == 1 && s[seg] == '.') || (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.'))
            return (*why = "SPIFFE ID path has a dot segment"), false;
    }

    if (out) {
        out->id = apr_pstrmemdup(pool, s, len);
        out->trust_domain = apr_pstrmemdup(pool, s + SCHEME_LEN, td_end - SCHEME_LEN);
        out->path = out->id + td_end;
    }
    return true;
}

bool dcr_spiffe_pattern_parse(apr_pool_t *pool, const char *s, dcr_spiffe_pattern *out,
                              const char **why)
{
    size_t len = s ? strlen(s) : 0;
    dcr_spiffe_id id;
    bool wildcard = len >= 2 && strcmp(s + len - 2, "/*") == 0;

    /* The base (without the trailing slash-star) must itself be a valid SPIFFE ID. */
    if (!dcr_spiffe_id_parse(pool, s, wildcard ? len - 2 : len, &id, why))
        return false;
    if (!wildcard && id.path[0] == '\0') {
        *why = "an exact pattern needs a path (an ID without one never registers); use "
               "spiffe://<trust domain>/* for the whole trust domain";
        return false;
    }
    out->trust_domain = id.trust_domain;
    out->wildcard = wildcard;
    out->prefix = wildcard ? apr_pstrcat(pool, id.id, "/", NULL) : id.id;
    return true;
}

bool dcr_spiffe_pattern_match(const dcr_spiffe_pattern *p, const dcr_spiffe_id *id)
{
    size_t plen;
    if (strcmp(p->trust_domain, id->trust_domain) != 0)
        return false;
    if (!p->wildcard)
        return strcmp(p->prefix, id->id) == 0;
    /* IDs have no empty segments, so any byte after the '/'-terminated prefix starts a whole
     * segment below it; the prefix alone (no segment after it) does not match. */
    plen = strlen(p->prefix);
    return strlen(id->id) > plen && strncmp(id->id, p->prefix, plen) == 0;
}
