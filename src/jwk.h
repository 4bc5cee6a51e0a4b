/* Internals of dcr_jwk shared by jwk.c (import, JWKS) and jws.c (signature checks). The public
 * JWK API is declared in jws.h. */
#ifndef DCR_JWK_H
#define DCR_JWK_H

#include "jws.h"

/* The OpenSSL key (borrowed; freed with the pool the key was imported into). */
EVP_PKEY *dcr_jwk_pkey(const dcr_jwk *k);
/* Bytes of one EC coordinate (32, 48, 66); 0 for non-EC keys. */
size_t dcr_jwk_ec_coord_len(const dcr_jwk *k);

#endif
