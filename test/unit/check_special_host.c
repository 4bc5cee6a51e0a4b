/* Special-use and internal hosts (src/special_host.c), judged on the text without DNS. */
#include "special_host.h"
#include "unit.h"

#include <string.h>

static bool special(const char *h)
{
    return dcr_host_is_special(h, strlen(h), false);
}

static bool special6(const char *h)
{
    return dcr_host_is_special(h, strlen(h), true);
}

START_TEST(ipv4_literals)
{
    static const char *const yes[] = {
        "127.0.0.1",   "127.9.9.9",       "10.1.2.3",   "172.16.0.1",      "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.254", "0.0.0.0",
        "192.0.2.1",   "198.18.0.1",      "224.0.0.1",  "255.255.255.255", NULL};
    /* spellings a resolver takes for an address: refused whatever they mean */
    static const char *const odd[] = {"127.0.0.1.", "1.2.3.4.5",  "foo.0x7f",   "x.127",
                                      "127.1",      "2130706433", "0x7f000001", "0177.0.0.1",
                                      "8.8.8.010",  "0x8.8.8.8",  "134744072",  NULL};
    static const char *const no[] = {"8.8.8.8",       "172.32.0.1", "100.128.0.1",
                                     "93.184.216.34", "1.1.1.1",    NULL};
    for (const char *const *h = yes; *h; h++)
        ck_assert_msg(special(*h), "%s", *h);
    for (const char *const *h = odd; *h; h++)
        ck_assert_msg(special(*h), "%s", *h);
    for (const char *const *h = no; *h; h++)
        ck_assert_msg(!special(*h), "%s", *h);
}
END_TEST

START_TEST(ipv6_literals)
{
    static const char *const yes[] = {"::1",
                                      "::",
                                      "fe80::1",
                                      "fd00::1",
                                      "fc12::5",
                                      "::ffff:127.0.0.1",
                                      "::ffff:10.0.0.1",
                                      "64:ff9b::a9fe:a9fe",
                                      "ff02::1",
                                      "2001:db8::1",
                                      "not-an-address",
                                      NULL};
    static const char *const no[] = {"2606:4700:4700::1111", "2a00:1450:4001::200e",
                                     "::ffff:8.8.8.8", NULL};
    for (const char *const *h = yes; *h; h++)
        ck_assert_msg(special6(*h), "%s", *h);
    for (const char *const *h = no; *h; h++)
        ck_assert_msg(!special6(*h), "%s", *h);
}
END_TEST

START_TEST(names)
{
    static const char *const yes[] = {"localhost",
                                      "LOCALHOST",
                                      "localhost.",
                                      "a.localhost",
                                      "metadata.google.internal",
                                      "db.internal",
                                      "printer.local",
                                      "nas.home.arpa",
                                      "x.localdomain",
                                      "wiki.intranet",
                                      "router.lan",
                                      "x.invalid",
                                      "mail.corp",
                                      "nas.home",
                                      "kubernetes.default.svc",
                                      "intranet",
                                      "metadata",
                                      "db",
                                      NULL};
    static const char *const no[] = {"app.example",      "client.example.org", "localhost.example",
                                     "internal.example", "mylocal.com",        "example.lan.com",
                                     "nolocalhost.org",  "a.b.c.example",      NULL};
    char longname[400];
    for (const char *const *h = yes; *h; h++)
        ck_assert_msg(special(*h), "%s", *h);
    for (const char *const *h = no; *h; h++)
        ck_assert_msg(!special(*h), "%s", *h);
    /* a name too long to copy is still judged */
    memset(longname, 'a', sizeof(longname));
    memcpy(longname + sizeof(longname) - 10, ".internal", 10);
    ck_assert(special(longname));
    memcpy(longname + sizeof(longname) - 10, ".example", 9);
    ck_assert(!special(longname));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("special_host");
    TCase *tc = unit_tcase("hosts");
    tcase_add_test(tc, ipv4_literals);
    tcase_add_test(tc, ipv6_literals);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
