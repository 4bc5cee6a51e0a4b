/* src/subject_index.c: the socache store's index lines, written and read back. */
#include "unit.h"

#include "json.h"
#include "subject_index.h"

#include <apr_strings.h>
#include <string.h>

static dcr_client *client(const char *id, const char *software_id)
{
    dcr_client *c = apr_pcalloc(pool, sizeof(*c));
    c->client_id = id;
    c->issued_at = 1790000000;
    c->expires_at = 1790086400;
    c->metadata = dcr_json_own(pool, json_object());
    if (software_id)
        json_object_set_new(c->metadata, "software_id", json_string(software_id));
    return c;
}

START_TEST(line_round_trips)
{
    dcr_index_line l;
    const char *line = dcr_index_line_of(pool, client("abc", "billing\tv2"));
    ck_assert(dcr_index_line_parse(pool, line, &l));
    ck_assert_str_eq(l.client_id, "abc");
    ck_assert_int_eq(l.issued_at, 1790000000);
    ck_assert_int_eq(l.expires_at, 1790086400);
    /* the software_id hashed: a tab or newline in it cannot break the line */
    ck_assert_int_eq(strlen(l.software), 64);
    ck_assert_str_eq(l.software, dcr_index_software(pool, client("x", "billing\tv2")));
    ck_assert_str_ne(l.software, dcr_index_software(pool, client("x", "billing")));
    ck_assert_ptr_null(strchr(line, '\n'));
}
END_TEST

START_TEST(no_software_id_is_a_dash)
{
    dcr_index_line l;
    dcr_client *c = client("abc", NULL);
    c->expires_at = 0;
    ck_assert(dcr_index_line_parse(pool, dcr_index_line_of(pool, c), &l));
    ck_assert_str_eq(l.software, "-");
    ck_assert_int_eq(l.expires_at, 0);
}
END_TEST

START_TEST(older_line_is_the_id_alone)
{
    dcr_index_line l;
    ck_assert(dcr_index_line_parse(pool, "abc", &l));
    ck_assert_str_eq(l.client_id, "abc");
    ck_assert_ptr_null(l.software);
}
END_TEST

START_TEST(malformed_lines_are_refused)
{
    static const char *const bad[] = {"",           "\tabc",       "a\t1\t2",      "a\t1\t2\t",
                                      "a\tx\t2\t-", "a\t1\t-2\t-", "a\t1\t2\t-\t", "a\t\t2\t-"};
    dcr_index_line l;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!dcr_index_line_parse(pool, bad[i], &l), "accepted line %zu", i);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("subject_index");
    TCase *tc = unit_tcase("lines");
    tcase_add_test(tc, line_round_trips);
    tcase_add_test(tc, no_software_id_is_a_dash);
    tcase_add_test(tc, older_line_is_the_id_alone);
    tcase_add_test(tc, malformed_lines_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
