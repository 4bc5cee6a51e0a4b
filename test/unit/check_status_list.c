/* Both status list decoders: the digest's vectors (oauth_vc.md 6.1-6.3) and lists generated
 * here with zlib, read back at index 0, the last index, out of range, and 2-bit values. */
#include "b64.h"
#include "status_list.h"
#include "unit.h"
#include "vc_kit.h"

#include <apr_strings.h>
#include <string.h>

static const char *why;

static unsigned w3c(const unsigned char *l, size_t n, unsigned long long idx, unsigned size)
{
    unsigned v = 99;
    ck_assert_msg(dcr_status_w3c_get(l, n, idx, size, &v, &why), "idx %llu: %s", idx, why);
    return v;
}

static unsigned tsl(const unsigned char *l, size_t n, unsigned long long idx, unsigned bits)
{
    unsigned v = 99;
    ck_assert_msg(dcr_status_token_get(l, n, idx, bits, &v, &why), "idx %llu: %s", idx, why);
    return v;
}

START_TEST(w3c_spec_example_all_zero)
{
    unsigned char *l;
    size_t n;
    const char *enc = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";
    ck_assert(dcr_status_w3c_decode(pool, enc, DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert_uint_eq(n, 16384);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(l[i], 0);
    /* StatusList2021 form: the same without the multibase prefix */
    ck_assert(dcr_status_w3c_decode(pool, enc + 1, DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert_uint_eq(n, 16384);
}
END_TEST

START_TEST(w3c_digest_vector_msb_first)
{
    unsigned char *l;
    size_t n;
    const char *enc = "uH4sIAAAAAAAC_-3QAQ0AAAgDIN_c6ObwgwjsAAAAAAAAAAAAAADQJgoAAAAA3jky_qmsAEAAAA";
    ck_assert(dcr_status_w3c_decode(pool, enc, DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert_uint_eq(n, 16384);
    ck_assert_uint_eq(l[0], 0x80);
    ck_assert_uint_eq(l[11820], 0x01);
    ck_assert_uint_eq(w3c(l, n, 0, 1), 1);
    ck_assert_uint_eq(w3c(l, n, 94567, 1), 1);
    ck_assert_uint_eq(w3c(l, n, 1, 1), 0);
    ck_assert_uint_eq(w3c(l, n, 94566, 1), 0);
    ck_assert_uint_eq(w3c(l, n, 94568, 1), 0);
}
END_TEST

START_TEST(w3c_generated_edges)
{
    unsigned char raw[16384] = {0}, *l;
    size_t n;
    unsigned v;
    raw[0] = 0x80;     /* index 0 */
    raw[1] = 0x04;     /* index 13 */
    raw[16383] = 0x01; /* last index 131071 */
    for (int mb = 0; mb < 2; mb++) {
        char *enc = kit_pack(pool, raw, sizeof raw, 31, mb);
        ck_assert(dcr_status_w3c_decode(pool, enc, DCR_STATUS_MAX_BYTES, &l, &n, &why));
        ck_assert_uint_eq(n, sizeof raw);
        ck_assert_uint_eq(w3c(l, n, 0, 1), 1);
        ck_assert_uint_eq(w3c(l, n, 13, 1), 1);
        ck_assert_uint_eq(w3c(l, n, 12, 1), 0);
        ck_assert_uint_eq(w3c(l, n, 131071, 1), 1);
        ck_assert_uint_eq(w3c(l, n, 131070, 1), 0);
        ck_assert(!dcr_status_w3c_get(l, n, 131072, 1, &v, &why));
        ck_assert(!dcr_status_w3c_get(l, n, ~0ULL, 1, &v, &why));
        /* 2-bit entries, MSB-first: byte 0 = 0x80 -> entry 0 = 0b10 */
        ck_assert_uint_eq(w3c(l, n, 0, 2), 2);
        ck_assert_uint_eq(w3c(l, n, 6, 2), 1); /* byte 1 0x04: bits 13..12 -> entry 6 = 01 */
        ck_assert_uint_eq(w3c(l, n, 65535, 2), 1);
        ck_assert(!dcr_status_w3c_get(l, n, 65536, 2, &v, &why));
    }
}
END_TEST

START_TEST(w3c_refuses_bad_input)
{
    unsigned char raw[64] = {0}, *l;
    size_t n;
    char *enc = kit_pack(pool, raw, sizeof raw, 15, true); /* zlib, not gzip */
    ck_assert(!dcr_status_w3c_decode(pool, enc, DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert(!dcr_status_w3c_decode(pool, "u!!!!", DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert(!dcr_status_w3c_decode(pool, "", DCR_STATUS_MAX_BYTES, &l, &n, &why));
    /* truncated gzip */
    enc = kit_pack(pool, raw, sizeof raw, 31, true);
    enc[strlen(enc) - 6] = 0;
    ck_assert(!dcr_status_w3c_decode(pool, enc, DCR_STATUS_MAX_BYTES, &l, &n, &why));
    /* size bound: 16 KiB list against an 8 KiB limit */
    {
        unsigned char big[16384] = {0};
        enc = kit_pack(pool, big, sizeof big, 31, true);
        ck_assert(!dcr_status_w3c_decode(pool, enc, 8192, &l, &n, &why));
        ck_assert_ptr_nonnull(strstr(why, "size limit"));
        ck_assert(dcr_status_w3c_decode(pool, enc, 16384, &l, &n, &why));
    }
}
END_TEST

START_TEST(token_draft_1bit_vector_lsb_first)
{
    static const unsigned expect[16] = {1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1};
    unsigned char *l;
    size_t n;
    unsigned v;
    ck_assert(dcr_status_token_decode(pool, "eNrbuRgAAhcBXQ", DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(l[0], 0xb9);
    ck_assert_uint_eq(l[1], 0xa3);
    for (unsigned i = 0; i < 16; i++)
        ck_assert_uint_eq(tsl(l, n, i, 1), expect[i]);
    ck_assert(!dcr_status_token_get(l, n, 16, 1, &v, &why));
    ck_assert(!dcr_status_token_get(l, n, 0, 3, &v, &why));
}
END_TEST

START_TEST(token_draft_2bit_vector)
{
    unsigned char *l;
    size_t n;
    unsigned v;
    ck_assert(dcr_status_token_decode(pool, "eNo76fITAAPfAgc", DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(l[0], 0xc9);
    ck_assert_uint_eq(l[1], 0x44);
    ck_assert_uint_eq(l[2], 0xf9);
    ck_assert_uint_eq(tsl(l, n, 5, 2), 1);
    ck_assert_uint_eq(tsl(l, n, 1, 2), 2);
    ck_assert_uint_eq(tsl(l, n, 0, 2), 1);
    ck_assert_uint_eq(tsl(l, n, 11, 2), 3); /* last entry: 0xf9 >> 6 */
    ck_assert(!dcr_status_token_get(l, n, 12, 2, &v, &why));
}
END_TEST

START_TEST(token_generated_digest_vector)
{
    unsigned char *l;
    size_t n;
    ck_assert(dcr_status_token_decode(pool,
                                      "eNrt0AENAAAIAyDf3Ojm8IMIZAAAAAAAAAAAAAAAaLMKAAAAAN45aocAgg",
                                      DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert_uint_eq(n, 16384);
    ck_assert_uint_eq(l[0], 0x01);
    ck_assert_uint_eq(l[11820], 0x80);
    ck_assert_uint_eq(tsl(l, n, 0, 1), 1);
    ck_assert_uint_eq(tsl(l, n, 94567, 1), 1);
    ck_assert_uint_eq(tsl(l, n, 94566, 1), 0);
    /* the same bytes read by the W3C decoder give other answers: bit orders differ */
    ck_assert_uint_eq(w3c(l, n, 94567, 1), 0);
    ck_assert_uint_eq(w3c(l, n, 94560, 1), 1);
}
END_TEST

START_TEST(token_generated_widths)
{
    unsigned char raw[4] = {0x00, 0x00, 0x00, 0x00}, *l;
    size_t n;
    unsigned v;
    raw[0] = 0x02 | 0x40; /* 2-bit: idx0 = 2 (suspended), idx3 = 1 */
    raw[1] = 0xa0;        /* 4-bit: idx3 = 0xa */
    raw[3] = 0x7f;        /* 8-bit: idx3 = 0x7f */
    {
        char *enc = kit_pack(pool, raw, sizeof raw, 15, false);
        ck_assert(dcr_status_token_decode(pool, enc, DCR_STATUS_MAX_BYTES, &l, &n, &why));
    }
    ck_assert_uint_eq(tsl(l, n, 0, 2), 2);
    ck_assert_uint_eq(tsl(l, n, 3, 2), 1);
    ck_assert_uint_eq(tsl(l, n, 3, 4), 0xa);
    ck_assert_uint_eq(tsl(l, n, 3, 8), 0x7f);
    ck_assert_uint_eq(tsl(l, n, 31, 1), 0);
    ck_assert_uint_eq(tsl(l, n, 30, 1), 1);
    ck_assert(!dcr_status_token_get(l, n, 4, 8, &v, &why));
    ck_assert(!dcr_status_token_get(l, n, 8, 4, &v, &why));
}
END_TEST

START_TEST(token_refuses_bad_input)
{
    unsigned char raw[32] = {0}, *l;
    size_t n;
    char *enc = kit_pack(pool, raw, sizeof raw, 31, false); /* gzip, not zlib */
    ck_assert(!dcr_status_token_decode(pool, enc, DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert(
        !dcr_status_token_decode(pool, "eNrbuRgAAhcBXQ==", DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert(!dcr_status_token_decode(pool, "eNrbuRgAAhcBX", DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert(!dcr_status_token_decode(pool, "eNrbuRgAAhcB", DCR_STATUS_MAX_BYTES, &l, &n, &why));
    ck_assert(!dcr_status_token_decode(pool, "eNrbuRgAAhcBXQ", 1, &l, &n, &why));
    /* trailing garbage after the stream */
    {
        unsigned char big[100000];
        memset(big, 0, sizeof big);
        enc = kit_pack(pool, big, sizeof big, 15, false);
        ck_assert(!dcr_status_token_decode(pool, enc, 50000, &l, &n, &why));
        ck_assert(dcr_status_token_decode(pool, enc, 100000, &l, &n, &why));
        enc = apr_pstrcat(pool, enc, "AAAA", NULL);
        ck_assert(!dcr_status_token_decode(pool, enc, 100000, &l, &n, &why));
    }
}
END_TEST

START_TEST(base64_tolerance)
{
    size_t n;
    unsigned char *r = dcr_base64_any_decode(pool, "+/8=", 4, &n);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(r[0], 0xfb);
    ck_assert_uint_eq(r[1], 0xff);
    r = dcr_base64_any_decode(pool, "-_8", 3, &n);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r[0], 0xfb);
    ck_assert_ptr_null(dcr_base64_any_decode(pool, "-_9", 3, &n)); /* non-zero spare bits */
    ck_assert_ptr_null(dcr_base64_any_decode(pool, "A=AA", 4, &n));
    ck_assert_ptr_null(dcr_base64_any_decode(pool, "AAAAA", 5, &n));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("status_list");
    TCase *tc = unit_tcase("core");
    tcase_add_test(tc, w3c_spec_example_all_zero);
    tcase_add_test(tc, w3c_digest_vector_msb_first);
    tcase_add_test(tc, w3c_generated_edges);
    tcase_add_test(tc, w3c_refuses_bad_input);
    tcase_add_test(tc, token_draft_1bit_vector_lsb_first);
    tcase_add_test(tc, token_draft_2bit_vector);
    tcase_add_test(tc, token_generated_digest_vector);
    tcase_add_test(tc, token_generated_widths);
    tcase_add_test(tc, token_refuses_bad_input);
    tcase_add_test(tc, base64_tolerance);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
