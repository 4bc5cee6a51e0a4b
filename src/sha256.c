#include "sha256.h"

#include <openssl/evp.h>
#include <pthread.h>

static EVP_MD *md;
static pthread_once_t fetched = PTHREAD_ONCE_INIT;

static void fetch(void)
{
    md = EVP_MD_fetch(NULL, "SHA256", NULL); /* kept for the life of the process */
}

bool dcr_sha256(unsigned char out[DCR_SHA256_LEN], int n, const void *const *data,
                const size_t *len)
{
    EVP_MD_CTX *ctx;
    unsigned int outlen = 0;
    bool ok;
    pthread_once(&fetched, fetch);
    if (!md || !(ctx = EVP_MD_CTX_new()))
        return false;
    ok = EVP_DigestInit_ex2(ctx, md, NULL) == 1;
    for (int i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, data[i], len[i]) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, out, &outlen) == 1 && outlen == DCR_SHA256_LEN;
    EVP_MD_CTX_free(ctx);
    return ok;
}

bool dcr_sha256_1(unsigned char out[DCR_SHA256_LEN], const void *data, size_t len)
{
    return dcr_sha256(out, 1, &data, &len);
}
