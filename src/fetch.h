/* Outbound HTTPS GET (libcurl) for status lists and other remote trust material, with size,
 * time and redirect limits. A URL is fetched only over https, only from its owner's host
 * (the issuer's) or a DCRFetchAllow host, and never from a loopback, private or other
 * special-use address unless its host is listed in DCRFetchAllow. The resolved address is
 * checked when the socket opens, so DNS cannot smuggle a private address in. */
#ifndef DCR_FETCH_H
#define DCR_FETCH_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct dcr_fetch_conf {
    const char *ca_file;             /* a CA file read by libcurl at each fetch (tests) */
    const char *ca_pem;              /* DCRFetchCAFile as read at startup; wins over ca_file */
    size_t ca_pem_len;               /* NULL/0 and no ca_file: libcurl's default CA store */
    long long timeout_ms;            /* DCRFetchTimeout (5 s) */
    size_t max_size;                 /* DCRFetchMaxSize (1 MiB), after content decoding */
    const apr_array_header_t *allow; /* DCRFetchAllow: "host" or "host:port" (const char *) */
    int max_redirects;               /* 3 */
    /* "host:port" of a configured trust source (DCRTrustDomain / DCRVCIssuer URL): counts as
     * listed in DCRFetchAllow, so an in-cluster SPIRE on a private address works. Only that
     * origin: a redirect elsewhere is checked without the exemption. NULL: none. */
    const char *source_origin;
} dcr_fetch_conf;

typedef enum dcr_fetch_status {
    DCR_FETCH_OK = 0,
    DCR_FETCH_REFUSED, /* the URL or its address is not allowed: a policy refusal */
    DCR_FETCH_FAILED,  /* network, TLS, HTTP status, size or time: "unavailable" */
} dcr_fetch_status;

typedef struct dcr_fetch_result {
    long http_status;
    char *body; /* pool memory, NUL-terminated */
    size_t len;
    const char *content_type; /* NULL when absent */
    long long max_age;        /* Cache-Control max-age seconds; -1 absent; 0 no-store */
} dcr_fetch_result;

void dcr_fetch_defaults(dcr_fetch_conf *conf);

/* curl_global_init, once per process (post_config / test start-up). */
void dcr_fetch_global_init(void);

/* "host:port" of an https URL (default port 443), lower case; NULL when not https, not a
 * plain absolute URL (userinfo is refused) or its port is not 1 to 65535. */
const char *dcr_fetch_origin(apr_pool_t *pool, const char *url);

/* True when a DCRFetchAllow value is "host" or "host:port" with a port of 1 to 65535 (an IPv6
 * literal without brackets, as the origins compare). */
bool dcr_fetch_allow_entry_valid(const char *w);

/* Whether url may be fetched for an owner origin ("host:port", may be NULL): *listed tells
 * that the host is in conf->allow, which also permits special-use addresses. */
bool dcr_fetch_url_allowed(apr_pool_t *pool, const dcr_fetch_conf *conf, const char *url,
                           const char *owner_origin, bool *listed, const char **why);

/* True for loopback, private, link-local, CGNAT, documentation, multicast, unspecified and
 * other special-use IPv4/IPv6 addresses (IPv4-mapped IPv6 included). */
bool dcr_fetch_addr_is_special(const struct sockaddr *sa);

/* GETs url with the Accept header given (may be NULL); success is a 2xx with a body. */
dcr_fetch_status dcr_fetch_get(apr_pool_t *pool, const dcr_fetch_conf *conf, const char *url,
                               const char *owner_origin, const char *accept, dcr_fetch_result *out,
                               const char **why);

/* A call with a method (POST, PUT, DELETE, or GET with a token), an optional bearer token and
 * body, by the same rules as dcr_fetch_get (https, the allowed hosts and addresses, CA, time
 * and size bounds) but never following a redirect (a redirect is DCR_FETCH_FAILED). Any other
 * HTTP status is DCR_FETCH_OK with out->http_status and out->body: the caller reads error
 * answers. Accept: application/json. */
dcr_fetch_status dcr_fetch_send(apr_pool_t *pool, const dcr_fetch_conf *conf, const char *method,
                                const char *url, const char *owner_origin, const char *bearer,
                                const char *content_type, const char *body, size_t body_len,
                                dcr_fetch_result *out, const char **why);

#endif
