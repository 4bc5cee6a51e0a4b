/* x5c certificate chains for VC issuers (oauth_vc.md 7.2): validated with OpenSSL against the
 * roots an admin configured (never the system store), at the request's time, with the leaf
 * bound to the issuer identifier. */
#ifndef DCR_X509_H
#define DCR_X509_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>

#define DCR_X5C_MAX_CERTS 8

typedef struct dcr_x509_roots dcr_x509_roots;

/* Loads every certificate of a PEM buffer as a trust anchor; none at all is an error. Lives
 * until pool is cleared; read-only afterwards, so threads may share it. */
dcr_x509_roots *dcr_x509_roots_from_pem(apr_pool_t *pool, const char *pem, size_t len,
                                        const char **why);
int dcr_x509_roots_count(const dcr_x509_roots *roots);

/* True when the certificate names the issuer: a URI SAN equal to it, or (for an http(s)
 * issuer) a DNS SAN equal to its host. */
bool dcr_x509_bound_to_issuer(X509 *cert, const char *issuer);

/* True when s is a dotted-decimal OID (what DCRVCx5cEKU takes). */
bool dcr_x509_oid_valid(const char *s);

/* NULL when the leaf may sign credentials, else a static reason: not a CA (basicConstraints
 * CA:TRUE; no basicConstraints is an end entity), digitalSignature where keyUsage is present,
 * an extendedKeyUsage that is not only TLS or e-mail purposes (serverAuth, clientAuth,
 * emailProtection), and, when eku (dotted OIDs, const char *) is not NULL, one of its OIDs. */
const char *dcr_x509_leaf_purpose_problem(X509 *leaf, const apr_array_header_t *eku);

/* Validates the x5c header value (array of base64 DER, leaf first) to one of roots at time now,
 * checks the leaf's purpose (dcr_x509_leaf_purpose_problem with eku) and binds the leaf to
 * issuer. Returns the leaf's public key, referenced until pool is cleared, or NULL with *why. */
EVP_PKEY *dcr_x509_verify_x5c(apr_pool_t *pool, const dcr_x509_roots *roots, const json_t *x5c,
                              long long now, const char *issuer, const apr_array_header_t *eku,
                              const char **why);

#endif
