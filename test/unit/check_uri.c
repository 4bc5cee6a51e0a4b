/* The URI reader (src/uri.c): components, refusals, loopback hosts, plain web URLs. */
#include "unit.h"
#include "uri.h"

#include <apr_strings.h>
#include <string.h>

static dcr_uri parse_ok(const char *s)
{
    dcr_uri u;
    const char *why = NULL;
    ck_assert_msg(dcr_uri_parse(s, &u, &why), "%s refused: %s", s, why);
    return u;
}

static void host_is(const dcr_uri *u, const char *host)
{
    ck_assert_uint_eq(u->host_len, strlen(host));
    ck_assert(memcmp(u->host, host, u->host_len) == 0);
}

START_TEST(components)
{
    dcr_uri u = parse_ok("https://app.example:8443/cb?x=1");
    ck_assert(dcr_uri_scheme_is(&u, "https"));
    ck_assert(!dcr_uri_scheme_is(&u, "http"));
    ck_assert(u.has_authority);
    host_is(&u, "app.example");
    ck_assert_int_eq(u.port, 8443);
    ck_assert_str_eq(u.rest, "/cb?x=1");
    ck_assert(!u.has_fragment && !u.has_userinfo && !u.host_ipv6);

    u = parse_ok("http://[::1]:80/");
    ck_assert(u.host_ipv6);
    host_is(&u, "::1");
    ck_assert_int_eq(u.port, 80);
    ck_assert(dcr_uri_is_loopback(&u));

    u = parse_ok("HTTP://u:p@Example.COM#f");
    ck_assert(dcr_uri_scheme_is(&u, "http"));
    ck_assert(u.has_userinfo && u.has_fragment);
    host_is(&u, "Example.COM");
    ck_assert_int_eq(u.port, -1);

    u = parse_ok("com.example.app:/oauth2redirect");
    ck_assert(!u.has_authority);
    ck_assert_uint_eq(u.scheme_len, strlen("com.example.app"));
    ck_assert_str_eq(u.rest, "/oauth2redirect");

    u = parse_ok("https://a.example/%41%2f");
    ck_assert_int_eq(parse_ok("http://h:65535/").port, 65535);
    ck_assert_int_eq(parse_ok("http://h:0/").port, 0);
}
END_TEST

START_TEST(refusals)
{
    const char *bad[] = {"",
                         "/path",
                         "app.example/cb",
                         "1http://x/",
                         "+a:b",
                         "https//x",
                         "https://a b/",
                         "https://a.example/\x7f",
                         "https://a.example/\xc3\xa9",
                         "https://a.example/%4",
                         "https://a.example/%g1",
                         "https://[::1/",
                         "https://[]/",
                         "https://[12345::]/",
                         "https://[::1]x/",
                         "http://h:65536/",
                         "http://h:99999999999999999999/",
                         "http://h:-1/",
                         "http://h:8a/",
                         "http://h:/",
                         "https://a@b@c/",
                         "https://a%20b/",
                         "https://*.example/",
                         "https://a,b/",
                         "https://a\"b/",
                         "https://a<b/",
                         "https://a{b}/",
                         "https://a|b/",
                         "https://a\\b/",
                         "https://a^b/",
                         "https://a`b/",
                         NULL};
    dcr_uri u;
    const char *why;
    for (const char **b = bad; *b; b++) {
        why = NULL;
        ck_assert_msg(!dcr_uri_parse(*b, &u, &why), "accepted %s", *b);
        ck_assert_ptr_nonnull(why);
    }
    ck_assert(!dcr_uri_parse(NULL, &u, &why));
    {
        char *big = apr_palloc(pool, DCR_URI_MAX + 2);
        memcpy(big, "https://a.example/", 18);
        memset(big + 18, 'a', DCR_URI_MAX + 1 - 18);
        big[DCR_URI_MAX + 1] = '\0';
        ck_assert(!dcr_uri_parse(big, &u, &why));
        big[DCR_URI_MAX] = '\0';
        ck_assert(dcr_uri_parse(big, &u, &why));
    }
}
END_TEST

START_TEST(loopback)
{
    const char *yes[] = {"http://127.0.0.1/",         "http://[::1]/",
                         "http://localhost/",         "http://LOCALHOST:1/",
                         "http://[0:0:0:0:0:0:0:1]/", NULL};
    const char *no[] = {"http://127.0.0.2/",
                        "http://[::2]/",
                        "http://localhost.example/",
                        "http://xlocalhost/",
                        "http://127.0.0.1.example/",
                        "http://0.0.0.0/",
                        "http://[::ffff:127.0.0.1]/",
                        "http://2130706433/",
                        NULL};
    for (const char **p = yes; *p; p++) {
        dcr_uri u = parse_ok(*p);
        /* [0:0:...:1] is ::1 but is not the literal RFC 8252 names: refused too */
        ck_assert_msg(dcr_uri_is_loopback(&u) == (strstr(*p, "0:0:") == NULL), "%s", *p);
    }
    for (const char **p = no; *p; p++) {
        dcr_uri u = parse_ok(*p);
        ck_assert_msg(!dcr_uri_is_loopback(&u), "%s", *p);
    }
}
END_TEST

START_TEST(web_urls)
{
    ck_assert_ptr_null(dcr_web_url_problem("https://app.example/", false));
    ck_assert_ptr_null(dcr_web_url_problem("http://app.example/x#top", false));
    ck_assert_ptr_null(dcr_web_url_problem("https://app.example/", true));
    ck_assert_ptr_nonnull(dcr_web_url_problem("http://app.example/", true));
    ck_assert_ptr_nonnull(dcr_web_url_problem("ftp://app.example/", false));
    ck_assert_ptr_nonnull(dcr_web_url_problem("https://", false));
    ck_assert_ptr_nonnull(dcr_web_url_problem("https:/x", false));
    ck_assert_ptr_nonnull(dcr_web_url_problem("https://u@app.example/", false));
    ck_assert_ptr_nonnull(dcr_web_url_problem("mailto:a@app.example", false));
    ck_assert_ptr_nonnull(dcr_web_url_problem("", false));
    /* ports: 65535 at most, however many digits (no wrapping to 443 = 65979 - 65536) */
    ck_assert_ptr_null(dcr_web_url_problem("https://app.example:65535/", false));
    ck_assert_ptr_nonnull(dcr_web_url_problem("https://app.example:65536/", false));
    ck_assert_ptr_nonnull(dcr_web_url_problem("https://app.example:65979/", false));
    ck_assert_ptr_nonnull(dcr_web_url_problem("https://app.example:4294967739/", false));
    ck_assert_ptr_nonnull(dcr_web_url_problem("https://app.example:-1/", false));
}
END_TEST

/* issue 11: metadata URLs are dereferenced by others (an authorization server fetching
 * jwks_uri, a consent page loading logo_uri), so none may point inside the network */
START_TEST(web_urls_name_no_internal_host)
{
    static const char *const bad[] = {"https://127.0.0.1/jwks",
                                      "https://127.0.0.1:8443/jwks",
                                      "https://[::1]/jwks",
                                      "https://[fe80::1]/x",
                                      "https://[::ffff:169.254.169.254]/latest/meta-data",
                                      "http://169.254.169.254/latest/meta-data",
                                      "https://10.0.0.5/logo.png",
                                      "https://192.168.1.1/",
                                      "https://100.64.1.1/",
                                      "https://2130706433/",
                                      "https://localhost/jwks",
                                      "https://LocalHost:8443/jwks",
                                      "https://app.localhost/",
                                      "https://metadata.google.internal/computeMetadata/v1/",
                                      "https://printer.local/",
                                      "https://intranet/tos",
                                      NULL};
    for (const char *const *u = bad; *u; u++) {
        const char *why = dcr_web_url_problem(*u, false);
        ck_assert_msg(why != NULL, "%s accepted", *u);
        ck_assert_msg(strstr(why, "internal host") != NULL, "%s: %s", *u, why);
    }
    ck_assert_ptr_null(dcr_web_url_problem("https://8.8.8.8/jwks", true));
    ck_assert_ptr_null(dcr_web_url_problem("https://[2606:4700:4700::1111]/jwks", true));
    ck_assert_ptr_null(dcr_web_url_problem("https://localhost.example.com/jwks", true));
}
END_TEST

static Suite *uri_suite(void)
{
    Suite *s = suite_create("uri");
    TCase *tc = unit_tcase("uri");
    tcase_add_test(tc, components);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, loopback);
    tcase_add_test(tc, web_urls);
    tcase_add_test(tc, web_urls_name_no_internal_host);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(uri_suite)
