#include "special_host.h"

#include "fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

/* RFC 6761 / 6762 / 8375 names, and the undelegated TLDs in common use for internal networks
 * (ICANN reserved .internal in 2024; .corp and .home are withheld for name collisions; .svc
 * ends Kubernetes service names). A name equal to one or ending in "." + one. */
static const char *const internal_zones[] = {
    "localhost", "localdomain", "local", "internal",  "intranet", "lan", "corp",
    "home",      "private",     "svc",   "home.arpa", "invalid",  NULL};

static bool name_is_special(const char *h, size_t n)
{
    if (n > 0 && h[n - 1] == '.')
        n--; /* "localhost." is localhost */
    if (n == 0 || !memchr(h, '.', n))
        return true; /* a single label is completed by the resolver's search list */
    for (const char *const *z = internal_zones; *z; z++) {
        size_t zl = strlen(*z);
        if (n == zl && strncasecmp(h, *z, n) == 0)
            return true;
        if (n > zl && h[n - zl - 1] == '.' && strncasecmp(h + n - zl, *z, zl) == 0)
            return true;
    }
    return false;
}

/* The last label of the NUL-terminated h is a number (digits, or 0x and hex digits): URL
 * parsers (WHATWG, curl) then read the whole host as an IPv4 address, and no public name ends
 * that way. */
static bool ends_in_number(const char *h)
{
    const char *dot = strrchr(h, '.');
    size_t n;
    h = dot ? dot + 1 : h;
    n = strlen(h);
    if (n > 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
        return strspn(h + 2, "0123456789abcdefABCDEF") == n - 2;
    return n > 0 && strspn(h, "0123456789") == n;
}

bool dcr_host_is_special(const char *host, size_t len, bool ipv6)
{
    char buf[256];
    if (len >= sizeof(buf))
        return ipv6 || name_is_special(host, len); /* no IP literal is that long */
    memcpy(buf, host, len);
    buf[len] = '\0';
    if (ipv6) {
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
        /* a literal that does not parse is not trusted either */
        return inet_pton(AF_INET6, buf, &sa.sin6_addr) != 1 ||
               dcr_fetch_addr_is_special((const struct sockaddr *)&sa);
    }
    if (len > 0 && buf[len - 1] == '.')
        buf[--len] = '\0'; /* "127.0.0.1." is 127.0.0.1 to browsers */
    {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        struct in_addr dotted;
        /* inet_aton also takes 127.1, 0x7f000001, 2130706433 and 0177.0.0.1, as resolvers and
         * browsers do; any spelling but the plain dotted quad is refused as ambiguous */
        if (inet_aton(buf, &sa.sin_addr))
            return inet_pton(AF_INET, buf, &dotted) != 1 ||
                   dcr_fetch_addr_is_special((const struct sockaddr *)&sa);
    }
    return ends_in_number(buf) || name_is_special(buf, len);
}
