#include "ca_bundle.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

bool dcr_ca_bundle_check(const char *pem, size_t len, int *count, const char **why)
{
    BIO *bio;
    int n = 0;
    bool ok = true;

    if (count)
        *count = 0;
    if (!pem || len == 0 || len > 0x7fffffff) {
        *why = "empty";
        return false;
    }
    if (!(bio = BIO_new_mem_buf(pem, (int)len))) {
        *why = "out of memory";
        return false;
    }
    for (;;) {
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (!x) {
            unsigned long e = ERR_peek_last_error();
            /* the normal end: no further "-----BEGIN" in the rest */
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break;
            ok = false;
            *why = "holds a PEM block that is not a valid certificate (truncated or corrupt?)";
            break;
        }
        X509_free(x);
        n++;
    }
    ERR_clear_error();
    BIO_free(bio);
    if (ok && n == 0) {
        ok = false;
        *why = "holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
    }
    if (count)
        *count = n;
    return ok;
}
