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
        if (web && dcr_uri_is_loopback(&u))
            return "web clients must not use a loopback host";
        if (native && dcr_uri_is_loopback(&u))
            return "native clients use http, not https, on loopback";
        return NULL;
    }
    if (dcr_uri_scheme_is(&u, "http")) {
        if (!u.has_authority || u.host_len == 0)
            return "http URI has no host";
        if (!dcr_uri_is_loopback(&u))
            return "http is only allowed for loopback hosts (127.0.0.1, [::1], localhost)";
        if (web)
            return "web clients must use https";
        return NULL;
    }
    if (web)
        return "web clients must use https";
    if (!scheme_listed(&u, schemes))
        return "private-use scheme not allowed by this server";
    if (!*u.rest && !u.has_authority)
        return "private-use URI has nothing after the scheme";
    return NULL;
}
