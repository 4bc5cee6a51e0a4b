/* Redirect URI rules (oauth_vc.md 4.7; RFC 6749 3.1.2, RFC 8252, OIDC Registration 1.0). */
#ifndef DCR_REDIRECT_URI_H
#define DCR_REDIRECT_URI_H

#include <apr_tables.h>
#include <stdbool.h>

/* NULL when uri may be registered, else a static reason. Rules: absolute, no fragment, no
 * userinfo; https with a host; http only on 127.0.0.1, [::1], localhost; any other scheme only
 * when listed in schemes (case-insensitive), and javascript/data/vbscript/file/blob/about
 * never. application_type "web" refuses private-use schemes; "native" allows listed
 * private-use schemes and, unlisted, those in reverse domain name form (com.example.app,
 * RFC 8252 7.1), http loopback, and claimed https off loopback; NULL (omitted) applies the
 * base rules only, so loopback-only clients that send no type keep working. Loopback hosts
 * for web clients are judged with the grants: dcr_redirect_uri_implicit_problem. */
const char *dcr_redirect_uri_problem(const char *uri, const char *application_type,
                                     const apr_array_header_t *schemes);

/* OpenID Connect Registration 1.0 (application_type): a web client that uses the implicit
 * grant registers only https redirect URIs, never on localhost or a loopback address. NULL
 * when uri (already accepted by dcr_redirect_uri_problem) fits, else a static reason. */
const char *dcr_redirect_uri_implicit_problem(const char *uri, const char *application_type);

#endif
