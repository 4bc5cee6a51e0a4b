#include "fetch.h"

#include <apr_strings.h>
#include <apr_uri.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

void dcr_fetch_defaults(dcr_fetch_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->timeout_ms = 5000;
    conf->max_size = 1024 * 1024;
    conf->max_redirects = 3;
}

void dcr_fetch_global_init(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

/* 1 to 65535 in decimal digits only: apr_uri_parse reads ports with strtol into 16 bits, so
 * ":65979" or ":-65093" would otherwise wrap to 443. */
static bool port_ok(const char *s, size_t n)
{
    long v = 0;
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

bool dcr_fetch_allow_entry_valid(const char *w)
{
    const char *colon = w ? strrchr(w, ':') : NULL;
    struct in6_addr a6;
    char host[INET6_ADDRSTRLEN + 1];
    size_t hlen;

    if (!w || !*w || strpbrk(w, "/@?#[]% \t"))
        return false;
    if (!colon || inet_pton(AF_INET6, w, &a6) == 1)
        return true; /* a host name, an IPv4 literal or a bare IPv6 literal */
    hlen = (size_t)(colon - w);
    if (hlen == 0 || !port_ok(colon + 1, strlen(colon + 1)))
        return false;
    if (!memchr(w, ':', hlen))
        return true;
    if (hlen >= sizeof(host)) /* an IPv6 literal followed by a port */
        return false;
    memcpy(host, w, hlen);
    host[hlen] = '\0';
    return inet_pton(AF_INET6, host, &a6) == 1;
}

const char *dcr_fetch_origin(apr_pool_t *pool, const char *url)
{
    apr_uri_t u;
    char *host;
    if (!url || apr_uri_parse(pool, url, &u) != APR_SUCCESS || !u.scheme ||
        strcasecmp(u.scheme, "https") != 0 || !u.hostname || !*u.hostname || u.user || u.password)
        return NULL;
    if (u.port_str && *u.port_str && !port_ok(u.port_str, strlen(u.port_str)))
        return NULL;
    host = apr_pstrdup(pool, u.hostname);
    for (char *p = host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return apr_psprintf(pool, "%s:%u", host, u.port ? u.port : 443);
}

bool dcr_fetch_url_allowed(apr_pool_t *pool, const dcr_fetch_conf *conf, const char *url,
                           const char *owner_origin, bool *listed, const char **why)
{
    const char *origin = dcr_fetch_origin(pool, url);
    size_t hlen;

    *listed = false;
    if (!origin) {
        *why = "only https URLs without userinfo and with a port of 1 to 65535 are fetched";
        return false;
    }
    hlen = (size_t)(strrchr(origin, ':') - origin);
    if (conf->source_origin && strcasecmp(conf->source_origin, origin) == 0) {
        *listed = true;
        return true;
    }
    for (int i = 0; conf->allow && i < conf->allow->nelts; i++) {
        const char *a = APR_ARRAY_IDX(conf->allow, i, const char *);
        /* "host" allows every port of host, "host:port" only that one */
        if (strcasecmp(a, origin) == 0 ||
            (strlen(a) == hlen && strncasecmp(a, origin, hlen) == 0)) {
            *listed = true;
            return true;
        }
    }
    if (owner_origin && strcasecmp(owner_origin, origin) == 0)
        return true;
    *why = "the URL is neither on the issuer's own host nor on a DCRFetchAllow host";
    return false;
}

static bool v4_special(uint32_t a)
{
    static const struct {
        uint32_t net;
        int bits;
    } nets[] = {{0x00000000, 8},  {0x0a000000, 8},  {0x64400000, 10}, {0x7f000000, 8},
                {0xa9fe0000, 16}, {0xac100000, 12}, {0xc0000000, 24}, {0xc0000200, 24},
                {0xc0586300, 24}, {0xc0a80000, 16}, {0xc6120000, 15}, {0xc6336400, 24},
                {0xcb007100, 24}, {0xe0000000, 4},  {0xf0000000, 4}};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        if ((a & (0xffffffffu << (32 - nets[i].bits))) == nets[i].net)
            return true;
    return false;
}

bool dcr_fetch_addr_is_special(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_special(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
        static const unsigned char zero[16] = {0};
        if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
            return v4_special((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 |
                              b[15]);
        if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) /* :: and ::1 */
            return true;
        return (b[0] & 0xfe) == 0xfc ||                         /* fc00::/7 ULA */
               (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||       /* fe80::/10 */
               b[0] == 0xff ||                                  /* multicast */
               (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02) || /* 2001::/23 */
               (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) ||
               (b[0] == 0x20 && b[1] == 0x02) || /* 6to4 */
               (b[0] == 0x01 && b[1] == 0 && memcmp(b + 2, zero, 6) == 0) ||
               memcmp(b, zero, 12) == 0; /* IPv4-compatible, deprecated */
    }
    return true; /* unix sockets and the rest: never */
}

typedef struct transfer {
    apr_pool_t *pool;
    size_t max;
    char *buf;
    size_t len, cap;
    bool too_large, blocked, listed;
    long long max_age;
} transfer;

static size_t on_body(char *data, size_t size, size_t n, void *baton)
{
    transfer *t = baton;
    size_t add = size * n;
    if (t->len + add > t->max) {
        t->too_large = true;
        return 0;
    }
    if (t->len + add + 1 > t->cap) {
        size_t cap = (t->len + add + 1) * 2;
        char *nb = apr_palloc(t->pool, cap > t->max + 1 ? t->max + 1 : cap);
        if (t->len)
            memcpy(nb, t->buf, t->len);
        t->buf = nb;
        t->cap = cap > t->max + 1 ? t->max + 1 : cap;
    }
    memcpy(t->buf + t->len, data, add);
    t->len += add;
    return add;
}

static size_t on_header(char *data, size_t size, size_t n, void *baton)
{
    transfer *t = baton;
    size_t len = size * n;
    if (len > 14 && strncasecmp(data, "cache-control:", 14) == 0) {
        char *v = apr_pstrmemdup(t->pool, data + 14, len - 14);
        char *ma = strcasestr(v, "max-age=");
        if (strcasestr(v, "no-store") || strcasestr(v, "no-cache"))
            t->max_age = 0;
        else if (ma)
            t->max_age = apr_atoi64(ma + 8);
    }
    return len;
}

static curl_socket_t on_open(void *baton, curlsocktype purpose, struct curl_sockaddr *addr)
{
    transfer *t = baton;
    (void)purpose;
    if (!t->listed && dcr_fetch_addr_is_special(&addr->addr)) {
        t->blocked = true;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

/* What one transfer sends besides the URL: a GET with an Accept header, or a call with a
 * method, a bearer token and a body. */
typedef struct call {
    const char *method; /* NULL: GET */
    const char *accept, *bearer, *content_type;
    const char *body;
    size_t body_len;
} call;

static struct curl_slist *call_headers(apr_pool_t *pool, const call *k)
{
    struct curl_slist *hdrs = NULL;
    if (k->accept)
        hdrs = curl_slist_append(hdrs, apr_pstrcat(pool, "Accept: ", k->accept, NULL));
    if (k->bearer)
        hdrs =
            curl_slist_append(hdrs, apr_pstrcat(pool, "Authorization: Bearer ", k->bearer, NULL));
    if (k->content_type)
        hdrs = curl_slist_append(hdrs, apr_pstrcat(pool, "Content-Type: ", k->content_type, NULL));
    if (k->method) /* no "100 continue" round trip before a body */
        hdrs = curl_slist_append(hdrs, "Expect:");
    return hdrs;
}

static void set_method(CURL *h, const call *k)
{
    if (!k->method)
        return;
    if (k->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, k->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)k->body_len);
    }
    if (strcmp(k->method, "POST") != 0 || !k->body)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, k->method);
}

static dcr_fetch_status get_once(apr_pool_t *pool, const dcr_fetch_conf *conf, const char *url,
                                 bool listed, const call *k, dcr_fetch_result *out, char **redirect,
                                 const char **why)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    transfer t = {.pool = pool, .max = conf->max_size, .listed = listed, .max_age = -1};
    char errbuf[CURL_ERROR_SIZE] = "";
    char *ct = NULL, *loc = NULL;
    CURLcode rc;

    if (!h) {
        *why = "curl_easy_init failed";
        return DCR_FETCH_FAILED;
    }
    hdrs = call_headers(pool, k);
    set_method(h, k);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* redirects are checked by hand */
    curl_easy_setopt(h, CURLOPT_PROXY, "");          /* ignore *_proxy environment */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)conf->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->timeout_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)conf->max_size);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (conf->ca_pem) { /* read by the parent as root; a child may not be able to (7.77+) */
        struct curl_blob blob = {(void *)conf->ca_pem, conf->ca_pem_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    } else if (conf->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, conf->ca_file);
    }
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_dcr_trusted");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &t);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->http_status);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
    out->content_type = ct ? apr_pstrdup(pool, ct) : NULL;
    *redirect = loc ? apr_pstrdup(pool, loc) : NULL;
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);

    if (t.blocked) {
        *why = "the host resolves to a loopback, private or special-use address that is not "
               "listed in DCRFetchAllow";
        return DCR_FETCH_REFUSED;
    }
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        *why = "the response exceeds DCRFetchMaxSize";
        return DCR_FETCH_FAILED;
    }
    if (rc != CURLE_OK) {
        *why = apr_psprintf(pool, "fetch failed: %s", *errbuf ? errbuf : curl_easy_strerror(rc));
        return DCR_FETCH_FAILED;
    }
    out->body = t.buf ? t.buf : apr_pstrdup(pool, "");
    out->body[t.len] = 0;
    out->len = t.len;
    out->max_age = t.max_age;
    return DCR_FETCH_OK;
}

dcr_fetch_status dcr_fetch_get(apr_pool_t *pool, const dcr_fetch_conf *conf, const char *url,
                               const char *owner_origin, const char *accept, dcr_fetch_result *out,
                               const char **why)
{
    call k = {.accept = accept};
    memset(out, 0, sizeof(*out));
    for (int hops = 0;; hops++) {
        bool listed;
        char *next = NULL;
        dcr_fetch_status st;
        if (!dcr_fetch_url_allowed(pool, conf, url, owner_origin, &listed, why))
            return DCR_FETCH_REFUSED;
        st = get_once(pool, conf, url, listed, &k, out, &next, why);
        if (st != DCR_FETCH_OK)
            return st;
        if (out->http_status >= 300 && out->http_status < 400 && next) {
            if (hops >= conf->max_redirects) {
                *why = "too many redirects";
                return DCR_FETCH_FAILED;
            }
            url = next; /* checked like the first URL at the top of the loop */
            continue;
        }
        if (out->http_status < 200 || out->http_status >= 300) {
            *why = apr_psprintf(pool, "fetch returned HTTP %ld", out->http_status);
            return DCR_FETCH_FAILED;
        }
        return DCR_FETCH_OK;
    }
}

dcr_fetch_status dcr_fetch_send(apr_pool_t *pool, const dcr_fetch_conf *conf, const char *method,
                                const char *url, const char *owner_origin, const char *bearer,
                                const char *content_type, const char *body, size_t body_len,
                                dcr_fetch_result *out, const char **why)
{
    call k = {method, "application/json", bearer, body ? content_type : NULL, body, body_len};
    char *next = NULL;
    bool listed;
    dcr_fetch_status st;

    memset(out, 0, sizeof(*out));
    if (!dcr_fetch_url_allowed(pool, conf, url, owner_origin, &listed, why))
        return DCR_FETCH_REFUSED;
    /* never a redirect: a token or a body must not follow one elsewhere */
    st = get_once(pool, conf, url, listed, &k, out, &next, why);
    if (st == DCR_FETCH_OK && out->http_status >= 300 && out->http_status < 400) {
        *why = apr_psprintf(pool, "%s answered a redirect (HTTP %ld): not followed", method,
                            out->http_status);
        return DCR_FETCH_FAILED;
    }
    return st;
}
