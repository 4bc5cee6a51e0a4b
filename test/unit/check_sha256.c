/* src/sha256.c: FIPS 180-2 vectors, and parts hash as their concatenation. */
#include "unit.h"

#include "sha256.h"

#include <stdio.h>
#include <string.h>

static const char *hex(const unsigned char *md)
{
    static char out[2 * DCR_SHA256_LEN + 1];
    for (int i = 0; i < DCR_SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return out;
}

START_TEST(known_vectors)
{
    unsigned char md[DCR_SHA256_LEN];
    ck_assert(dcr_sha256_1(md, "abc", 3));
    ck_assert_str_eq(hex(md), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert(dcr_sha256_1(md, "", 0));
    ck_assert_str_eq(hex(md), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(parts_hash_as_one)
{
    static const char whole[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    unsigned char a[DCR_SHA256_LEN], b[DCR_SHA256_LEN];
    const void *parts[] = {whole, whole + 10, whole + 11};
    const size_t lens[] = {10, 1, strlen(whole) - 11};
    ck_assert(dcr_sha256(a, 3, parts, lens));
    ck_assert(dcr_sha256_1(b, whole, strlen(whole)));
    ck_assert_mem_eq(a, b, sizeof(a));
    ck_assert_str_eq(hex(a), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = unit_tcase("sha256");
    tcase_add_test(tc, known_vectors);
    tcase_add_test(tc, parts_hash_as_one);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
