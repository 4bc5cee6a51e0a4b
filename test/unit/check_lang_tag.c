/* BCP 47 tag shape and member-name splitting (src/lang_tag.c). */
#include "lang_tag.h"
#include "unit.h"

#include <string.h>

START_TEST(valid_tags)
{
    const char *ok[] = {"fr",        "en-GB",         "ja-Jpan-JP", "zh-Hant-TW", "de-CH-1996",
                        "sgn-BE-FR", "es-419",        "x-klingon",  "i-enochian", "EN",
                        "abcdefgh",  "fr-x-a1b2c3d4", NULL};
    for (const char **p = ok; *p; p++)
        ck_assert_msg(dcr_lang_tag_valid(*p), "%s refused", *p);
}
END_TEST

START_TEST(malformed_tags)
{
    const char *bad[] = {"",      "f",         "q-x",    "x",     "abcdefghi", "1fr",
                         "fr-",   "-fr",       "fr--CA", "fr_CA", "fr CA",     "fr-abcdefghi",
                         "fr-C@", "\xc3\xa9n", "fr-CA-", NULL};
    char longtag[DCR_LANG_TAG_MAX + 8];
    for (const char **p = bad; *p; p++)
        ck_assert_msg(!dcr_lang_tag_valid(*p), "%s accepted", *p);
    ck_assert(!dcr_lang_tag_valid(NULL));
    /* over the length cap even though every subtag is well formed */
    strcpy(longtag, "en");
    while (strlen(longtag) <= DCR_LANG_TAG_MAX)
        strcat(longtag, "-abc");
    ck_assert(!dcr_lang_tag_valid(longtag));
}
END_TEST

START_TEST(split)
{
    char base[32];
    ck_assert_str_eq(dcr_lang_tag_split("client_name#fr-CA", base, sizeof(base)), "fr-CA");
    ck_assert_str_eq(base, "client_name");
    ck_assert_ptr_null(dcr_lang_tag_split("client_name", base, sizeof(base)));
    ck_assert_str_eq(base, "client_name");
    ck_assert_str_eq(dcr_lang_tag_split("a#b#c", base, sizeof(base)), "b#c");
    ck_assert_str_eq(base, "a");
    ck_assert_str_eq(dcr_lang_tag_split("x#", base, sizeof(base)), "");
    /* a base that does not fit is emptied, never truncated into another name */
    ck_assert_str_eq(
        dcr_lang_tag_split("a_very_long_member_name_over_32_chars#fr", base, sizeof(base)), "fr");
    ck_assert_str_eq(base, "");
}
END_TEST

START_TEST(case_insensitive_equality)
{
    ck_assert(dcr_lang_tag_equal("fr-CA", "FR-ca"));
    ck_assert(dcr_lang_tag_equal("ja-Jpan-JP", "ja-jpan-jp"));
    ck_assert(!dcr_lang_tag_equal("fr", "fr-CA"));
    ck_assert(!dcr_lang_tag_equal("fr-CA", "fr"));
    ck_assert(!dcr_lang_tag_equal("en", "de"));
}
END_TEST

static Suite *lang_tag_suite(void)
{
    Suite *s = suite_create("lang_tag");
    TCase *tc = unit_tcase("lang_tag");
    tcase_add_test(tc, valid_tags);
    tcase_add_test(tc, malformed_tags);
    tcase_add_test(tc, split);
    tcase_add_test(tc, case_insensitive_equality);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(lang_tag_suite)
