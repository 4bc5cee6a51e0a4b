#include "redirect_uri.h"

#include "uri.h"

#include <string.h>
#include <strings.h>

/* Schemes that run code or read local content in the user agent: never a redirect target. */
static const char *const never_schemes[] = {"javascript", "data",  "vbscript", "file",
                                            "blob",       "about", NULL};

static bool scheme_listed(const dcr_uri *u, const apr_array_header_t *schemes)
{
    if (!schemes)
        return false;
    for (int i = 0; i < schemes->nelts; i++) {
        const char *s = APR_ARRAY_IDX(schemes, i, const char *);
        if (s && strlen(s) == u->scheme_len && strncasecmp(s, u->scheme, u->scheme_len) == 0)
            return true;
    }
    return false;
}

/* RFC 8252 7.1: a private-use scheme "based on a domain name under their control, expressed
 * in reverse order": two or more dot-separated labels of letters, digits and hyphens. */
static bool reverse_domain_scheme(const dcr_uri *u)
{
    size_t label = 0, dots = 0;
    for (size_t i = 0; i < u->scheme_len; i++) {
        char c = u->scheme[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            dots++;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-') {
            label++;
        } else {
            return false; /* '+' and the like: not a domain name */
        }
    }
    return dots > 0 && label > 0;
}

const char *dcr_redirect_uri_problem(const char *uri, const char *application_type,
                                     const apr_array_header_t *schemes)
{
    dcr_uri u;
    const char *why = NULL;
    bool web = application_type && strcmp(application_type, "web") == 0;
    bool native = application_type && strcmp(application_type, "native") == 0;

    if (!dcr_uri_parse(uri, &u, &why))
        return why;
    for (const char *const *n = never_schemes; *n; n++)
        if (dcr_uri_scheme_is(&u, *n))
            return "scheme is never allowed for redirect URIs";
    if (u.has_fragment)
        return "must not contain a fragment";
    if (u.has_userinfo)
        return "must not contain user information";

    if (dcr_uri_scheme_is(&u, "https")) {
        if (!u.has_authority || u.host_len == 0)
            return "https URI has no host";
        if (native && dcr_uri_is_loopback(&u))
            return "native clients use http, not https, on loopback";
        return NULL;
    }
    if (dcr_uri_scheme_is(&u, "http")) {
        if (!u.has_authority || u.host_len == 0)
            return "http URI has no host";
        if (!dcr_uri_is_loopback(&u))
            return "http is only allowed for loopback hosts (127.0.0.1, [::1], localhost)";
        return NULL;
    }
    if (web)
        return "web clients must use https";
    if (!scheme_listed(&u, schemes) && !(native && reverse_domain_scheme(&u)))
        return native ? "private-use scheme not allowed by this server (unlisted schemes must be "
                        "a reverse domain name, e.g. com.example.app)"
                      : "private-use scheme not allowed by this server";
    if (!*u.rest && !u.has_authority)
        return "private-use URI has nothing after the scheme";
    return NULL;
}

const char *dcr_redirect_uri_implicit_problem(const char *uri, const char *application_type)
{
    dcr_uri u;
    const char *why = NULL;
    if (!application_type || strcmp(application_type, "web") != 0)
        return NULL;
    if (!dcr_uri_parse(uri, &u, &why))
        return why;
    if (!dcr_uri_scheme_is(&u, "https"))
        return "web clients using the implicit grant must use https";
    if (dcr_uri_is_loopback(&u))
        return "web clients using the implicit grant must not use a loopback host";
    return NULL;
}
