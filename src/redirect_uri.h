/* Redirect URI rules (oauth_vc.md 4.7; RFC 6749 3.1.2, RFC 8252, OIDC Registration 1.0). */
#ifndef DCR_REDIRECT_URI_H
#define DCR_REDIRECT_URI_H

#include <apr_tables.h>
#include <stdbool.h>

/* NULL when uri may be registered, else a static reason. Rules: absolute, no fragment, no
 * userinfo; https with a host; http only on 127.0.0.1, [::1], localhost; any other scheme only
 * when listed in schemes (case-insensitive), and javascript/data/vbscript/file/blob/about
 * never. application_type "web" narrows to https on a non-loopback host; "native" allows
 * listed private-use schemes, http loopback, and claimed https off loopback; NULL (omitted)
 * applies the base rules only, so loopback-only clients that send no type keep working. */
const char *dcr_redirect_uri_problem(const char *uri, const char *application_type,
                                     const apr_array_header_t *schemes);

#endif
