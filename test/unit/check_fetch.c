/* Outbound fetch: URL and address policy, and real HTTPS GETs against `openssl s_server -WWW`
 * on 127.0.0.1 with a certificate made here (CA file, size limit, 404, untrusted server). */
#include "fetch.h"
#include "policy.h"
#include "unit.h"
#include "vc_kit.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *why;

START_TEST(origin_parsing)
{
    ck_assert_str_eq(dcr_fetch_origin(pool, "https://Issuer.Example.ORG/a?b"),
                     "issuer.example.org:443");
    ck_assert_str_eq(dcr_fetch_origin(pool, "https://h.example:8443/x"), "h.example:8443");
    ck_assert_str_eq(dcr_fetch_origin(pool, "https://127.0.0.1:9/x"), "127.0.0.1:9");
    ck_assert_ptr_null(dcr_fetch_origin(pool, "http://h.example/x"));
    ck_assert_ptr_null(dcr_fetch_origin(pool, "https://user@h.example/x"));
    ck_assert_ptr_null(dcr_fetch_origin(pool, "did:web:h.example"));
    ck_assert_ptr_null(dcr_fetch_origin(pool, "/relative"));
}
END_TEST

START_TEST(url_policy)
{
    dcr_fetch_conf c;
    bool listed;
    dcr_fetch_defaults(&c);
    ck_assert(dcr_fetch_url_allowed(pool, &c, "https://issuer.example/s/1", "issuer.example:443",
                                    &listed, &why));
    ck_assert(!listed);
    ck_assert(!dcr_fetch_url_allowed(pool, &c, "https://issuer.example:444/s/1",
                                     "issuer.example:443", &listed, &why));
    ck_assert(!dcr_fetch_url_allowed(pool, &c, "https://other.example/s/1", "issuer.example:443",
                                     &listed, &why));
    ck_assert(!dcr_fetch_url_allowed(pool, &c, "http://issuer.example/s/1", "issuer.example:443",
                                     &listed, &why));
    ck_assert(!dcr_fetch_url_allowed(pool, &c, "https://issuer.example/s/1", NULL, &listed, &why));
    c.allow = dcr_words(pool, "status.example 127.0.0.1:8443");
    ck_assert(
        dcr_fetch_url_allowed(pool, &c, "https://STATUS.example:1234/l", NULL, &listed, &why));
    ck_assert(listed);
    ck_assert(dcr_fetch_url_allowed(pool, &c, "https://127.0.0.1:8443/l", NULL, &listed, &why));
    ck_assert(!dcr_fetch_url_allowed(pool, &c, "https://127.0.0.1:8444/l", NULL, &listed, &why));
    ck_assert(
        !dcr_fetch_url_allowed(pool, &c, "https://status.example.evil/l", NULL, &listed, &why));
}
END_TEST

/* issue 11: apr_uri_parse keeps ports in 16 bits, so 65979 = 65536 + 443 wrapped to the
 * issuer's own origin */
START_TEST(ports_out_of_range)
{
    dcr_fetch_conf c;
    bool listed;
    dcr_fetch_defaults(&c);
    ck_assert_str_eq(dcr_fetch_origin(pool, "https://h.example:65535/x"), "h.example:65535");
    ck_assert_ptr_null(dcr_fetch_origin(pool, "https://h.example:65979/x"));
    ck_assert_ptr_null(dcr_fetch_origin(pool, "https://h.example:65536/x"));
    ck_assert_ptr_null(dcr_fetch_origin(pool, "https://h.example:131515/x"));
    ck_assert_ptr_null(dcr_fetch_origin(pool, "https://h.example:-65093/x"));
    ck_assert_ptr_null(dcr_fetch_origin(pool, "https://h.example:+443/x"));
    ck_assert_ptr_null(dcr_fetch_origin(pool, "https://h.example:0/x"));
    ck_assert(!dcr_fetch_url_allowed(pool, &c, "https://issuer.example:65979/s/1",
                                     "issuer.example:443", &listed, &why));
    ck_assert_ptr_nonnull(strstr(why, "65535"));
    c.allow = dcr_words(pool, "127.0.0.1:8443");
    ck_assert(!dcr_fetch_url_allowed(pool, &c, "https://127.0.0.1:73979/l", NULL, &listed, &why));
}
END_TEST

START_TEST(allow_entries)
{
    static const char *const good[] = {
        "status.example", "status.example:8443", "127.0.0.1", "127.0.0.1:1", "h:65535", "::1",
        "::1:8443",       "2001:db8::5",         NULL};
    static const char *const bad[] = {"",
                                      "h:65536",
                                      "h:99999",
                                      "h:0",
                                      "h:",
                                      ":443",
                                      "h:-1",
                                      "h:+443",
                                      "h:44x",
                                      "https://status.example/",
                                      "u@status.example",
                                      "[::1]:443",
                                      "h:1:2",
                                      "status.example/x",
                                      NULL};
    for (const char *const *g = good; *g; g++)
        ck_assert_msg(dcr_fetch_allow_entry_valid(*g), "%s refused", *g);
    for (const char *const *b = bad; *b; b++)
        ck_assert_msg(!dcr_fetch_allow_entry_valid(*b), "%s accepted", *b);
}
END_TEST

static bool special(const char *addr)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
    }
    return dcr_fetch_addr_is_special((struct sockaddr *)&ss);
}

/* A configured trust source's own host counts as listed (private addresses allowed); another
 * origin, e.g. where a redirect points, gets no such exemption. */
START_TEST(source_origin_listed)
{
    dcr_fetch_conf c;
    bool listed;
    dcr_fetch_defaults(&c);
    c.source_origin = "spire.internal:8443";
    ck_assert(
        dcr_fetch_url_allowed(pool, &c, "https://SPIRE.internal:8443/bundle", NULL, &listed, &why));
    ck_assert(listed);
    ck_assert(!dcr_fetch_url_allowed(pool, &c, "https://spire.internal:8444/bundle", NULL, &listed,
                                     &why));
    ck_assert(!listed);
    ck_assert(!dcr_fetch_url_allowed(pool, &c, "https://evil.example/bundle", NULL, &listed, &why));
    ck_assert(
        !dcr_fetch_url_allowed(pool, &c, "http://spire.internal:8443/bundle", NULL, &listed, &why));
}
END_TEST

START_TEST(special_addresses)
{
    static const char *const bad[] = {
        "127.0.0.1",       "127.255.0.9",     "10.1.2.3",       "172.16.0.1", "172.31.255.255",
        "192.168.1.1",     "169.254.169.254", "100.64.0.1",     "0.0.0.0",    "224.0.0.1",
        "255.255.255.255", "192.0.2.5",       "198.18.0.1",     "::1",        "::",
        "fe80::1",         "fc00::1",         "fd12::5",        "ff02::1",    "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "2001:db8::1",     "64:ff9b::a00:1", NULL};
    static const char *const good[] = {"8.8.8.8",     "93.184.216.34",   "172.32.0.1",
                                       "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8",
                                       NULL};
    for (const char *const *a = bad; *a; a++)
        ck_assert_msg(special(*a), "%s should be special", *a);
    for (const char *const *a = good; *a; a++)
        ck_assert_msg(!special(*a), "%s should be public", *a);
}
END_TEST

/* ---- a real HTTPS server ------------------------------------------------------------- */

static char dir[64];
static int port;
static pid_t server;

static void write_file(const char *name, const char *data, size_t len)
{
    FILE *f = fopen(apr_pstrcat(pool, dir, "/", name, NULL), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t l = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), p;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(s, (struct sockaddr *)&a, &l);
    p = ntohs(a.sin_port);
    close(s);
    return p;
}

static void start_server(void)
{
    EVP_PKEY *k;
    X509 *c;
    char *pem, *key_pem, *big;
    BIO *b;
    long n;
    unit_setup();
    strcpy(dir, "/tmp/dcr-fetch-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    k = kit_key(pool, "EC");
    c = kit_cert(pool, "127.0.0.1", k, NULL, NULL, time(NULL) - 3600, time(NULL) + 86400, false,
                 "IP:127.0.0.1");
    pem = kit_cert_pem(pool, c);
    write_file("cert.pem", pem, strlen(pem));
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &key_pem);
    write_file("key.pem", key_pem, (size_t)n);
    BIO_free(b);
    write_file("small.txt", "hello status", 12);
    big = apr_palloc(pool, 300000);
    memset(big, 'x', 300000);
    write_file("big.txt", big, 300000);
    port = free_port();
    server = fork();
    if (server == 0) {
        ck_assert_int_eq(chdir(dir), 0);
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127); /* checked: the package build's _FORTIFY_SOURCE insists */
        execlp("openssl", "openssl", "s_server", "-quiet", "-WWW", "-accept",
               apr_psprintf(pool, "127.0.0.1:%d", port), "-cert", "cert.pem", "-key", "key.pem",
               (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) { /* wait until it listens */
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        int s = socket(AF_INET, SOCK_STREAM, 0), ok;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
        close(s);
        if (ok)
            break;
        usleep(50000);
    }
    unit_teardown();
}

static void stop_server(void)
{
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
    }
    if (*dir) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        (void)!system(cmd);
    }
}

static dcr_fetch_status get(dcr_fetch_conf *c, const char *file, dcr_fetch_result *r)
{
    return dcr_fetch_get(pool, c, apr_psprintf(pool, "https://127.0.0.1:%d/%s", port, file), NULL,
                         "text/plain", r, &why);
}

START_TEST(https_fetch)
{
    dcr_fetch_conf c;
    dcr_fetch_result r;
    dcr_fetch_defaults(&c);
    c.ca_file = apr_pstrcat(pool, dir, "/cert.pem", NULL);
    c.timeout_ms = 3000;
    /* not listed: the loopback address is refused before connecting */
    ck_assert_int_eq(get(&c, "small.txt", &r), DCR_FETCH_REFUSED);
    ck_assert_ptr_nonnull(strstr(why, "DCRFetchAllow"));
    /* listed as owner origin only: still refused, owner hosts must be public */
    ck_assert_int_eq(dcr_fetch_get(pool, &c,
                                   apr_psprintf(pool, "https://127.0.0.1:%d/small.txt", port),
                                   apr_psprintf(pool, "127.0.0.1:%d", port), NULL, &r, &why),
                     DCR_FETCH_REFUSED);
    c.allow = dcr_words(pool, apr_psprintf(pool, "127.0.0.1:%d", port));
    ck_assert_msg(get(&c, "small.txt", &r) == DCR_FETCH_OK, "%s", why);
    ck_assert_int_eq(r.http_status, 200);
    ck_assert_uint_eq(r.len, 12);
    ck_assert_str_eq(r.body, "hello status");
    /* size limit */
    c.max_size = 100000;
    ck_assert_int_eq(get(&c, "big.txt", &r), DCR_FETCH_FAILED);
    ck_assert_ptr_nonnull(strstr(why, "DCRFetchMaxSize"));
    c.max_size = 400000;
    ck_assert_int_eq(get(&c, "big.txt", &r), DCR_FETCH_OK);
    ck_assert_uint_eq(r.len, 300000);
    /* a port nothing listens on */
    c.allow = dcr_words(pool, "127.0.0.1");
    ck_assert_int_eq(dcr_fetch_get(pool, &c,
                                   apr_psprintf(pool, "https://127.0.0.1:%d/", free_port()), NULL,
                                   NULL, &r, &why),
                     DCR_FETCH_FAILED);
    /* a server certificate the CA file does not vouch for */
    c.ca_file = apr_pstrcat(pool, dir, "/small.txt", NULL);
    ck_assert_int_eq(get(&c, "small.txt", &r), DCR_FETCH_FAILED);
}
END_TEST

/* DCRFetchCAFile is read at startup and handed over from memory: the file may be gone (or
 * unreadable to the child) when the fetch happens. */
START_TEST(ca_from_memory)
{
    dcr_fetch_conf c;
    dcr_fetch_result r;
    char *pem = NULL;
    apr_size_t len = 0;
    apr_file_t *f;
    apr_finfo_t fi;
    const char *copy = apr_pstrcat(pool, dir, "/ca-copy.pem", NULL);
    dcr_fetch_defaults(&c);
    c.timeout_ms = 3000;
    c.allow = dcr_words(pool, apr_psprintf(pool, "127.0.0.1:%d", port));
    ck_assert_int_eq(apr_file_copy(apr_pstrcat(pool, dir, "/cert.pem", NULL), copy,
                                   APR_FPROT_FILE_SOURCE_PERMS, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_open(&f, copy, APR_FOPEN_READ, 0, pool), APR_SUCCESS);
    ck_assert_int_eq(apr_file_info_get(&fi, APR_FINFO_SIZE, f), APR_SUCCESS);
    pem = apr_palloc(pool, (apr_size_t)fi.size);
    ck_assert_int_eq(apr_file_read_full(f, pem, (apr_size_t)fi.size, &len), APR_SUCCESS);
    apr_file_close(f);
    ck_assert_int_eq(apr_file_remove(copy, pool), APR_SUCCESS);
    c.ca_pem = pem;
    c.ca_pem_len = len;
    ck_assert_msg(get(&c, "small.txt", &r) == DCR_FETCH_OK, "%s", why);
    ck_assert_str_eq(r.body, "hello status");
    /* the blob wins over a file, and a blob that does not vouch for the server fails */
    c.ca_file = apr_pstrcat(pool, dir, "/cert.pem", NULL);
    c.ca_pem = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
    c.ca_pem_len = strlen(c.ca_pem);
    ck_assert_int_eq(get(&c, "small.txt", &r), DCR_FETCH_FAILED);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fetch");
    TCase *tc = unit_tcase("policy"), *net = unit_tcase("https");
    tcase_add_test(tc, origin_parsing);
    tcase_add_test(tc, url_policy);
    tcase_add_test(tc, ports_out_of_range);
    tcase_add_test(tc, allow_entries);
    tcase_add_test(tc, source_origin_listed);
    tcase_add_test(tc, special_addresses);
    suite_add_tcase(s, tc);
    tcase_add_unchecked_fixture(net, start_server, stop_server);
    tcase_set_timeout(net, 30);
    tcase_add_test(net, https_fetch);
    tcase_add_test(net, ca_from_memory);
    suite_add_tcase(s, net);
    return s;
}

int main(void)
{
    apr_initialize();
    dcr_fetch_global_init();
    return unit_run(suite(), CK_NOFORK); /* the server child is ours to stop */
}
