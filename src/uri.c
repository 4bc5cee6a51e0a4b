#include "uri.h"

#include "special_host.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* unreserved / gen-delims / sub-delims of RFC 3986; '%' is checked separately */
static bool is_uri_char(char c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("-._~:/?#[]@!$&'()*+,;=", c));
}

static bool chars_ok(const char *s, const char **why)
{
    for (const char *p = s; *p; p++) {
        if (*p == '%') {
            if (!is_hex(p[1]) || !is_hex(p[2])) {
                *why = "bad percent-encoding";
                return false;
            }
            p += 2;
        } else if (!is_uri_char(*p)) {
            *why = "character not allowed in a URI (spaces, controls, non-ASCII, <>\"{}|\\^`)";
            return false;
        }
    }
    return true;
}

/* reg-name limited to what DNS names and IPv4 literals use: no escapes, no sub-delims (so no
 * wildcards). */
static bool reg_name_ok(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_alpha(h[i]) && !is_digit(h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
            return false;
    return true;
}

static bool parse_authority(const char *a, size_t n, dcr_uri *u, const char **why)
{
    const char *at = memchr(a, '@', n), *end = a + n, *p;
    if (at) {
        u->has_userinfo = true;
        n -= (size_t)(at + 1 - a);
        a = at + 1;
        if (memchr(a, '@', n)) {
            *why = "more than one '@' in the authority";
            return false;
        }
    }
    if (n > 0 && a[0] == '[') {
        char buf[INET6_ADDRSTRLEN + 1];
        struct in6_addr addr;
        const char *close = memchr(a, ']', n);
        size_t len = close ? (size_t)(close - a - 1) : 0;
        if (!close || len == 0 || len >= sizeof(buf)) {
            *why = "malformed IPv6 literal host";
            return false;
        }
        memcpy(buf, a + 1, len);
        buf[len] = '\0';
        if (inet_pton(AF_INET6, buf, &addr) != 1) {
            *why = "malformed IPv6 literal host";
            return false;
        }
        u->host = a + 1;
        u->host_len = len;
        u->host_ipv6 = true;
        p = close + 1;
    } else {
        for (p = a; p < end && *p != ':'; p++)
            ;
        u->host = a;
        u->host_len = (size_t)(p - a);
        if (!reg_name_ok(a, u->host_len)) {
            *why = "host name has characters outside letters, digits, '-', '.', '_'";
            return false;
        }
    }
    if (p < end) {
        long port = 0;
        if (*p != ':' || p + 1 == end) {
            *why = "malformed port";
            return false;
        }
        for (p++; p < end; p++) {
            if (!is_digit(*p) || port > 65535) {
                *why = "malformed port";
                return false;
            }
            port = port * 10 + (*p - '0');
        }
        if (port > 65535) {
            *why = "port out of range";
            return false;
        }
        u->port = port;
    }
    return true;
}

bool dcr_uri_parse(const char *s, dcr_uri *u, const char **why)
{
    const char *p;
    memset(u, 0, sizeof(*u));
    u->port = -1;
    if (!s || !*s) {
        *why = "empty URI";
        return false;
    }
    if (strlen(s) > DCR_URI_MAX) {
        *why = "URI too long";
        return false;
    }
    if (!chars_ok(s, why))
        return false;
    if (!is_alpha(s[0])) {
        *why = "not an absolute URI (no scheme)";
        return false;
    }
    for (p = s + 1; is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.'; p++)
        ;
    if (*p != ':') {
        *why = "not an absolute URI (no scheme)";
        return false;
    }
    u->scheme = s;
    u->scheme_len = (size_t)(p - s);
    p++;
    u->has_fragment = strchr(p, '#') != NULL;
    if (p[0] == '/' && p[1] == '/') {
        size_t n;
        p += 2;
        n = strcspn(p, "/?#");
        u->has_authority = true;
        if (!parse_authority(p, n, u, why))
            return false;
        p += n;
    }
    u->rest = p;
    return true;
}

bool dcr_uri_scheme_is(const dcr_uri *u, const char *lower_name)
{
    size_t n = strlen(lower_name);
    if (n != u->scheme_len)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = u->scheme[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lower_name[i])
            return false;
    }
    return true;
}

bool dcr_uri_is_loopback(const dcr_uri *u)
{
    if (u->host_ipv6)
        return u->host_len == 3 && memcmp(u->host, "::1", 3) == 0;
    if (u->host_len == 9 && memcmp(u->host, "127.0.0.1", 9) == 0)
        return true;
    return u->host_len == 9 && strncasecmp(u->host, "localhost", 9) == 0;
}

const char *dcr_web_url_problem(const char *url, bool https_only)
{
    dcr_uri u;
    const char *why = NULL;
    if (!dcr_uri_parse(url, &u, &why))
        return why;
    if (!dcr_uri_scheme_is(&u, "https") && (https_only || !dcr_uri_scheme_is(&u, "http")))
        return https_only ? "must be an https URL" : "must be an http or https URL";
    if (!u.has_authority || u.host_len == 0)
        return "URL has no host";
    if (u.has_userinfo)
        return "URL must not contain user information";
    if (dcr_host_is_special(u.host, u.host_len, u.host_ipv6))
        return "URL names a loopback, private, special-use or internal host";
    return NULL;
}
