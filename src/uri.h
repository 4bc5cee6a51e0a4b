/* A strict, allocation-free reader for the absolute URIs clients register (RFC 3986), and the
 * rule for plain web URLs (client_uri, logo_uri, tos_uri, policy_uri, jwks_uri). */
#ifndef DCR_URI_H
#define DCR_URI_H

#include <stdbool.h>
#include <stddef.h>

#define DCR_URI_MAX 2048 /* longer values are refused rather than stored and echoed */

typedef struct dcr_uri {
    const char *scheme; /* points into the parsed string; scheme_len bytes */
    size_t scheme_len;
    bool has_authority; /* "//" after the scheme */
    bool has_userinfo;  /* "user@" in the authority */
    const char *host;   /* without the brackets of an IPv6 literal; host_len bytes */
    size_t host_len;
    bool host_ipv6; /* host was an IP-literal "[...]" */
    long port;      /* -1 when absent */
    bool has_fragment;
    const char *rest; /* what follows "scheme:" (after the authority when there is one) */
} dcr_uri;

/* Parses an absolute URI. Refuses (returning a static reason in *why) relative references,
 * characters outside RFC 3986, bad percent-escapes, malformed hosts and ports, and strings
 * over DCR_URI_MAX. Fragments and userinfo are parsed, not refused: callers judge those. */
bool dcr_uri_parse(const char *s, dcr_uri *u, const char **why);

/* Case-insensitive comparison of the scheme with a lowercase name. */
bool dcr_uri_scheme_is(const dcr_uri *u, const char *lower_name);

/* True for the RFC 8252 loopback hosts this server accepts: 127.0.0.1, [::1], localhost. */
bool dcr_uri_is_loopback(const dcr_uri *u);

/* NULL when url is an absolute http(s) URL with a host and no userinfo (https only when
 * https_only) whose host is not special-use or internal (src/special_host.h: others fetch
 * these URLs, so they must not point inside the network), else a static reason. */
const char *dcr_web_url_problem(const char *url, bool https_only);

#endif
