/* src/json.c: strict parsing (duplicates, depth, NUL), pool ownership, dump, string access. */
#include "json.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <string.h>

static json_t *parse(const char *text, const char **why)
{
    *why = NULL;
    return dcr_json_parse(pool, text, strlen(text), DCR_JSON_MAX_DEPTH, why);
}

static char *nested(int depth, const char *open, const char *close, const char *inner)
{
    char *s = apr_pstrdup(pool, inner);
    for (int i = 0; i < depth; i++)
        s = apr_pstrcat(pool, open, s, close, NULL);
    return s;
}

START_TEST(parses_objects_and_values)
{
    const char *why;
    json_t *j = parse("{\"a\":[1,2,{\"b\":\"c\"}],\"d\":null}", &why);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_object(j));
    ck_assert_int_eq(json_array_size(json_object_get(j, "a")), 3);
    ck_assert(json_is_array(parse("[1]", &why)));
    ck_assert(json_is_string(parse("\"x\"", &why))); /* callers check the type */
}
END_TEST

START_TEST(duplicate_members_refused)
{
    const char *why;
    ck_assert_ptr_null(parse("{\"a\":1,\"a\":2}", &why));
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_null(parse("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}", &why));
    /* an escaped spelling of the same name is the same name */
    ck_assert_ptr_null(parse("{\"a\":1,\"\\u0061\":2}", &why));
    ck_assert_ptr_nonnull(parse("{\"a\":1,\"A\":2}", &why));
}
END_TEST

START_TEST(depth_limit)
{
    const char *why;
    char *ok = nested(DCR_JSON_MAX_DEPTH, "[", "]", "1");
    char *deep = nested(DCR_JSON_MAX_DEPTH + 1, "[", "]", "1");
    char *deep_obj = nested(DCR_JSON_MAX_DEPTH + 1, "{\"k\":", "}", "1");
    ck_assert_ptr_nonnull(parse(ok, &why));
    ck_assert_ptr_null(parse(deep, &why));
    ck_assert_ptr_nonnull(strstr(why, "deeper"));
    ck_assert_ptr_null(parse(deep_obj, &why));
    /* brackets inside strings are not nesting, nor are escaped quotes string ends */
    ck_assert_ptr_nonnull(
        parse(apr_psprintf(pool, "{\"s\":\"%s\"}", nested(40, "[", "]", "")), &why));
    ck_assert_ptr_nonnull(parse(
        apr_psprintf(pool, "{\"s\":\"\\\"%s\\\\\",\"t\":1}", nested(40, "{", "}", "")), &why));
    /* many siblings are not depth */
    {
        char *wide = apr_pstrdup(pool, "[");
        for (int i = 0; i < 100; i++)
            wide = apr_pstrcat(pool, wide, i ? "," : "", "[[1]]", NULL);
        ck_assert_ptr_nonnull(parse(apr_pstrcat(pool, wide, "]", NULL), &why));
    }
    /* a caller may ask for less */
    ck_assert_ptr_null(dcr_json_parse(pool, "[[1]]", 5, 1, &why));
    ck_assert_ptr_nonnull(dcr_json_parse(pool, "[[1]]", 5, 2, &why));
}
END_TEST

START_TEST(malformed_refused)
{
    const char *bad[] = {"",           "{",   "{\"a\":}", "{\"a\":1,}",
                         "{} {}",      "{}x", "{'a':1}",  "{\"a\":\"\\u0000\"}",
                         "{\"a\":01}", "nul", NULL};
    const char *why;
    for (const char **b = bad; *b; b++) {
        ck_assert_msg(parse(*b, &why) == NULL, "accepted %s", *b);
        ck_assert_ptr_nonnull(why);
    }
    /* a raw NUL inside the given length */
    ck_assert_ptr_null(dcr_json_parse(pool, "{\"a\":\"x\0y\"}", 11, 16, &why));
    ck_assert_ptr_nonnull(strstr(why, "NUL"));
    /* an absent body */
    ck_assert_ptr_null(dcr_json_parse(pool, NULL, 0, 16, &why));
    ck_assert_ptr_nonnull(why);
    /* only len bytes are read */
    ck_assert_ptr_nonnull(dcr_json_parse(pool, "{}garbage", 2, 16, &why));
}
END_TEST

START_TEST(pool_owns_the_value)
{
    apr_pool_t *sub;
    json_t *j = json_object();
    apr_pool_create(&sub, pool);
    json_incref(j); /* our own reference, to watch the pool's go away */
    ck_assert_ptr_eq(dcr_json_own(sub, j), j);
    ck_assert_int_eq((int)j->refcount, 2);
    apr_pool_destroy(sub);
    ck_assert_int_eq((int)j->refcount, 1);
    json_decref(j);
    ck_assert_ptr_null(dcr_json_own(pool, NULL));
}
END_TEST

START_TEST(dump_and_string)
{
    const char *why;
    json_t *j = parse("{ \"a\" : \"x\", \"n\" : 1, \"u\":\"\\u00e9\" }", &why);
    ck_assert_str_eq(dcr_json_dump(pool, j), "{\"a\":\"x\",\"n\":1,\"u\":\"\xc3\xa9\"}");
    ck_assert_str_eq(dcr_json_dump(pool, json_object_get(j, "n")), "1");
    ck_assert_str_eq(dcr_json_string(j, "a"), "x");
    ck_assert_ptr_null(dcr_json_string(j, "n"));
    ck_assert_ptr_null(dcr_json_string(j, "missing"));
    ck_assert_ptr_null(dcr_json_string(NULL, "a"));
}
END_TEST

/* dcr_json_dump writes what json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) writes. */
static void same_as_jansson(const json_t *j)
{
    char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *got = dcr_json_dump(pool, j);
    ck_assert_ptr_nonnull(want);
    ck_assert_msg(got && !strcmp(got, want), "dump differs:\nours:    %s\njansson: %s", got, want);
    free(want);
}

START_TEST(dump_is_janssons_byte_for_byte)
{
    static const char controls[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f e\xc3\xa9 \xf0\x9f\x94\x91";
    json_t *j = dcr_json_own(pool, json_pack("{s:s, s:s#, s:I, s:I, s:I, s:f, s:f, s:f, s:b, s:b,"
                                             " s:n, s:{}, s:[], s:[i, s, [], {s:[n]}]}",
                                             "controls", controls, "nul", "a\0b", (int)3, "zero",
                                             (json_int_t)0, "min", (json_int_t)INT64_MIN, "max",
                                             (json_int_t)INT64_MAX, "half", 0.5, "big", 1e300,
                                             "one", 1.0, "t", 1, "f", 0, "null", "empty", "none",
                                             "nested", -7, "x", "k"));
    ck_assert_ptr_nonnull(j);
    /* a key with escapes, members in insertion order */
    json_object_set_new(j, "key \"with\" \n escapes", json_string("v"));
    json_object_set_new(j, "a", json_string("after z"));
    same_as_jansson(j);
    for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it))
        same_as_jansson(json_object_iter_value(it)); /* every kind on its own (ENCODE_ANY) */

    /* random trees: what jansson writes, for values of every kind and strings of every byte
     * below 0x80 (seeded: a failure repeats) */
    srand(7);
    for (int round = 0; round < 200; round++) {
        json_t *obj = dcr_json_own(pool, json_object()), *arr = json_array();
        for (int i = 0; i < 12; i++) {
            char str[16];
            for (int k = 0; k < (int)sizeof(str) - 1; k++)
                str[k] = (char)(1 + rand() % 127);
            str[sizeof(str) - 1] = '\0';
            json_t *v = (i % 4 == 0)   ? json_string(str)
                        : (i % 4 == 1) ? json_integer(rand() - RAND_MAX / 2)
                        : (i % 4 == 2) ? json_real((double)rand() / 3.0)
                                       : json_pack("[s,{s:i}]", str, str, i);
            json_array_append(arr, v);
            json_object_set_new(obj, str, v);
        }
        json_object_set_new(obj, "all", arr);
        same_as_jansson(obj);
    }
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = unit_tcase("json");
    tcase_add_test(tc, parses_objects_and_values);
    tcase_add_test(tc, duplicate_members_refused);
    tcase_add_test(tc, depth_limit);
    tcase_add_test(tc, malformed_refused);
    tcase_add_test(tc, pool_owns_the_value);
    tcase_add_test(tc, dump_and_string);
    tcase_add_test(tc, dump_is_janssons_byte_for_byte);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(json_suite)
