/* Hosts a client must not name in metadata URLs that other parties may dereference (jwks_uri,
 * logo_uri, ...): loopback, private, link-local, CGNAT and other special-use IP literals, and
 * special-use or internal names. Judged on the text alone, without DNS. */
#ifndef DCR_SPECIAL_HOST_H
#define DCR_SPECIAL_HOST_H

#include <stdbool.h>
#include <stddef.h>

/* True when host (len bytes, IPv6 literals without brackets, ipv6 set) is an IP literal in a
 * special-use range, an IPv4 literal in any spelling but the dotted quad (127.1, 0x7f000001,
 * 2130706433: resolvers take them), a name whose last label is a number (URL parsers read it
 * as IPv4: 127.0.0.1., 1.2.3.4.5), or a special-use name: localhost, a single label (completed by
 * resolver search lists), or a name equal to or under localhost, localdomain, local, internal,
 * intranet, lan, corp, home, private, svc, home.arpa or invalid. */
bool dcr_host_is_special(const char *host, size_t len, bool ipv6);

#endif
