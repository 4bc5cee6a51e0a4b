/* SPIFFE ID parser against every public vector, plus lengths, NUL and patterns. */
#include "spiffe_id.h"

#include "json.h"
#include "unit.h"

#include <apr_strings.h>
#include <string.h>

static json_t *load_vectors(void)
{
    json_error_t jerr;
    json_t *v =
        json_load_file(DCR_TEST_DATA "/spiffe_id_vectors.json", JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_msg(json_is_array(v), "cannot read vectors: %s", jerr.text);
    return v;
}

START_TEST(public_vectors)
{
    json_t *vectors = load_vectors(), *v;
    size_t i, valid = 0, invalid = 0;
    ck_assert_uint_ge(json_array_size(vectors), 60);
    json_array_foreach(vectors, i, v)
    {
        const json_t *id = json_object_get(v, "id");
        bool want = json_is_true(json_object_get(v, "valid"));
        const char *why = NULL;
        dcr_spiffe_id out;
        bool got =
            dcr_spiffe_id_parse(pool, json_string_value(id), json_string_length(id), &out, &why);
        ck_assert_msg(got == want, "vector %d '%.80s': expected %s (%s)", (int)i,
                      json_string_value(id), want ? "valid" : "invalid",
                      json_string_value(json_object_get(v, "why")));
        if (got) {
            valid++;
            ck_assert_str_eq(out.id, json_string_value(id));
            ck_assert_int_eq(strncmp(out.id + 9, out.trust_domain, strlen(out.trust_domain)), 0);
        } else {
            invalid++;
            ck_assert_ptr_nonnull(why);
        }
    }
    ck_assert_uint_gt(valid, 10);
    ck_assert_uint_gt(invalid, 10);
    json_decref(vectors);
}
END_TEST

START_TEST(shared_spec_copy_matches)
{
    /* The committed copy must not drift from the spec digest's vectors (when present). */
    json_error_t jerr;
    json_t *spec = json_load_file(DCR_SPEC_DIR "/spiffe_id_vectors.json", 0, &jerr);
    json_t *local = load_vectors();
    if (spec)
        ck_assert(json_equal(spec, local));
    json_decref(spec);
    json_decref(local);
}
END_TEST

START_TEST(parts_and_nul)
{
    dcr_spiffe_id id;
    const char *why = NULL;
    const char with_nul[] = "spiffe://example.org/a\0b";
    ck_assert(dcr_spiffe_id_parse(pool, "spiffe://example.org/ns/x", 25, &id, &why));
    ck_assert_str_eq(id.trust_domain, "example.org");
    ck_assert_str_eq(id.path, "/ns/x");
    ck_assert(dcr_spiffe_id_parse(pool, "spiffe://example.org", 20, &id, &why));
    ck_assert_str_eq(id.path, "");
    /* Embedded NUL: refused, never truncated to the valid prefix. */
    ck_assert(!dcr_spiffe_id_parse(pool, with_nul, sizeof(with_nul) - 1, &id, &why));
    ck_assert_ptr_nonnull(strstr(why, "NUL"));
    /* Only len bytes are read: a valid prefix of a longer buffer parses as that prefix. */
    ck_assert(dcr_spiffe_id_parse(pool, "spiffe://example.org/a/..", 22, &id, &why));
    ck_assert_str_eq(id.id, "spiffe://example.org/a");
    ck_assert(!dcr_spiffe_id_parse(pool, NULL, 0, NULL, &why));
    ck_assert(dcr_spiffe_id_parse(pool, "spiffe://a/b", 12, NULL, &why));
}
END_TEST

START_TEST(length_limits)
{
    char *td255 = apr_palloc(pool, 256), *id;
    const char *why = NULL;
    memset(td255, 'a', 255);
    td255[255] = '\0';
    id = apr_pstrcat(pool, "spiffe://", td255, "/x", NULL);
    ck_assert(dcr_spiffe_id_parse(pool, id, strlen(id), NULL, &why));
    ck_assert(dcr_spiffe_td_valid(td255, 255));
    id = apr_pstrcat(pool, "spiffe://", td255, "a/x", NULL);
    ck_assert(!dcr_spiffe_id_parse(pool, id, strlen(id), NULL, &why));
    ck_assert_ptr_nonnull(strstr(why, "255"));
    ck_assert(!dcr_spiffe_td_valid(id + 9, 256));
    ck_assert(!dcr_spiffe_td_valid("", 0));
    ck_assert(!dcr_spiffe_td_valid("Example.org", 11));
    ck_assert(!dcr_spiffe_td_valid("spiffe://x", 10));
}
END_TEST

static bool pmatch(const char *pattern, const char *id_s)
{
    dcr_spiffe_pattern p;
    dcr_spiffe_id id;
    const char *why = NULL;
    ck_assert_msg(dcr_spiffe_pattern_parse(pool, pattern, &p, &why), "%s: %s", pattern, why);
    ck_assert(dcr_spiffe_id_parse(pool, id_s, strlen(id_s), &id, &why));
    return dcr_spiffe_pattern_match(&p, &id);
}

START_TEST(patterns)
{
    dcr_spiffe_pattern p;
    const char *why = NULL;
    ck_assert(pmatch("spiffe://example.org/ns/prod/*", "spiffe://example.org/ns/prod/web"));
    ck_assert(pmatch("spiffe://example.org/ns/prod/*", "spiffe://example.org/ns/prod/a/b"));
    ck_assert(!pmatch("spiffe://example.org/ns/prod/*", "spiffe://example.org/ns/prod"));
    ck_assert(!pmatch("spiffe://example.org/ns/prod/*", "spiffe://example.org/ns/production"));
    ck_assert(!pmatch("spiffe://example.org/ns/prod/*", "spiffe://example.org/ns/prodx/web"));
    ck_assert(!pmatch("spiffe://example.org/ns/prod/*", "spiffe://other.org/ns/prod/web"));
    ck_assert(!pmatch("spiffe://example.org/ns/prod/*", "spiffe://example.org/NS/prod/web"));
    ck_assert(pmatch("spiffe://example.org/a", "spiffe://example.org/a"));
    ck_assert(!pmatch("spiffe://example.org/a", "spiffe://example.org/a/b"));
    ck_assert(!pmatch("spiffe://example.org/a", "spiffe://example.org/ab"));
    ck_assert(!pmatch("spiffe://example.org/a", "spiffe://example.orga"));
    ck_assert(pmatch("spiffe://example.org/*", "spiffe://example.org/anything/at/all"));
    ck_assert(!pmatch("spiffe://example.org/*", "spiffe://example.org"));
    ck_assert(!pmatch("spiffe://example.org/*", "spiffe://example.org.evil/x"));
    /* Malformed patterns. */
    ck_assert(!dcr_spiffe_pattern_parse(pool, "spiffe://example.org", &p, &why));
    ck_assert(!dcr_spiffe_pattern_parse(pool, "spiffe://example.org/a*", &p, &why));
    ck_assert(!dcr_spiffe_pattern_parse(pool, "spiffe://example.org/*/b", &p, &why));
    ck_assert(!dcr_spiffe_pattern_parse(pool, "spiffe://example.org/a//*", &p, &why));
    ck_assert(!dcr_spiffe_pattern_parse(pool, "spiffe://Example.org/a", &p, &why));
    ck_assert(!dcr_spiffe_pattern_parse(pool, "example.org/a", &p, &why));
    ck_assert(!dcr_spiffe_pattern_parse(pool, "spiffe://*", &p, &why));
    ck_assert(!dcr_spiffe_pattern_parse(pool, "", &p, &why));
}
END_TEST

static Suite *spiffe_id_suite(void)
{
    Suite *s = suite_create("spiffe_id");
    TCase *tc = unit_tcase("spiffe_id");
    tcase_add_test(tc, public_vectors);
    tcase_add_test(tc, shared_spec_copy_matches);
    tcase_add_test(tc, parts_and_nul);
    tcase_add_test(tc, length_limits);
    tcase_add_test(tc, patterns);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(spiffe_id_suite)
