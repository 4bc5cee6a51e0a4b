#include "x509.h"

#include "b64.h"

#include <apr_strings.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct dcr_x509_roots {
    X509_STORE *store;
    int count;
};

static apr_status_t store_cleanup(void *data)
{
    X509_STORE_free(data);
    return APR_SUCCESS;
}

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static apr_status_t stack_cleanup(void *data)
{
    sk_X509_free(data); /* the certificates have their own cleanups */
    return APR_SUCCESS;
}

dcr_x509_roots *dcr_x509_roots_from_pem(apr_pool_t *pool, const char *pem, size_t len,
                                        const char **why)
{
    dcr_x509_roots *r = apr_pcalloc(pool, sizeof(*r));
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *cert;

    if (!bio) {
        *why = "out of memory";
        return NULL;
    }
    r->store = X509_STORE_new();
    apr_pool_cleanup_register(pool, r->store, store_cleanup, apr_pool_cleanup_null);
    while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        X509_STORE_add_cert(r->store, cert); /* takes its own reference */
        X509_free(cert);
        r->count++;
    }
    BIO_free(bio);
    if (r->count == 0) {
        *why = "no PEM certificate found";
        return NULL;
    }
    return r;
}

int dcr_x509_roots_count(const dcr_x509_roots *roots)
{
    return roots ? roots->count : 0;
}

/* The host of an http(s) URL, lower case as written; NULL for anything else. */
static char *url_host(const char *url)
{
    const char *p, *end;
    if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else
        return NULL;
    end = p + strcspn(p, "/:?#@");
    if (end == p || *end == '@')
        return NULL;
    return strndup(p, (size_t)(end - p));
}

bool dcr_x509_bound_to_issuer(X509 *cert, const char *issuer)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    char *host = url_host(issuer);
    bool ok = false;

    for (int i = 0; sans && !ok && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
        const ASN1_IA5STRING *s;
        if (gn->type == GEN_URI) {
            s = gn->d.uniformResourceIdentifier;
            ok = (size_t)s->length == strlen(issuer) &&
                 memcmp(s->data, issuer, (size_t)s->length) == 0;
        } else if (gn->type == GEN_DNS && host) {
            s = gn->d.dNSName;
            ok = (size_t)s->length == strlen(host) &&
                 strncasecmp((const char *)s->data, host, (size_t)s->length) == 0;
        }
    }
    GENERAL_NAMES_free(sans);
    free(host);
    return ok;
}

static X509 *decode_cert(apr_pool_t *pool, const json_t *item)
{
    const char *b64 = json_string_value(item);
    const unsigned char *der, *p;
    size_t der_len;
    X509 *cert;

    /* x5c is standard base64 (RFC 7515 4.1.6), not base64url */
    if (!b64 || strpbrk(b64, "-_"))
        return NULL;
    der = dcr_base64_any_decode(pool, b64, strlen(b64), &der_len);
    if (!der || der_len == 0 || der_len > 64 * 1024)
        return NULL;
    p = der;
    cert = d2i_X509(NULL, &p, (long)der_len);
    if (!cert)
        return NULL;
    apr_pool_cleanup_register(pool, cert, x509_cleanup, apr_pool_cleanup_null);
    if (p != der + der_len)
        return NULL; /* trailing bytes */
    return cert;
}

bool dcr_x509_oid_valid(const char *s)
{
    ASN1_OBJECT *o;
    int arcs = 1;
    /* arcs of digits joined by single dots: OBJ_txt2obj would also take names and "1..3" */
    if (!s || !*s || strspn(s, "0123456789.") != strlen(s) || strlen(s) > 128 || *s == '.' ||
        s[strlen(s) - 1] == '.' || strstr(s, ".."))
        return false;
    for (const char *p = s; *p; p++)
        arcs += *p == '.';
    if (arcs < 2)
        return false;
    o = OBJ_txt2obj(s, 1);
    ASN1_OBJECT_free(o);
    return o != NULL;
}

/* True when the certificate lists an extendedKeyUsage with one of the configured OIDs. */
static bool eku_lists(EXTENDED_KEY_USAGE *ekus, const apr_array_header_t *want)
{
    for (int i = 0; i < sk_ASN1_OBJECT_num(ekus); i++) {
        char buf[160];
        if (OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(ekus, i), 1) <= 0)
            continue;
        for (int k = 0; k < want->nelts; k++)
            if (strcmp(buf, APR_ARRAY_IDX(want, k, const char *)) == 0)
                return true;
    }
    return false;
}

/* TLS and e-mail purposes: a certificate for a web server, a TLS client or a mailbox is not a
 * credential issuer's signing key, even when a SAN names the issuer's host. */
static bool eku_only_tls_or_mail(EXTENDED_KEY_USAGE *ekus)
{
    for (int i = 0; i < sk_ASN1_OBJECT_num(ekus); i++) {
        int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(ekus, i));
        if (nid != NID_server_auth && nid != NID_client_auth && nid != NID_email_protect)
            return false;
    }
    return true; /* an empty list names no other purpose either */
}

const char *dcr_x509_leaf_purpose_problem(X509 *leaf, const apr_array_header_t *eku)
{
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
    EXTENDED_KEY_USAGE *ekus;
    const char *problem = NULL;

    /* crit -1: absent (an end entity); -2: repeated; >= 0 with NULL: undecodable */
    if (bc ? bc->ca != 0 : crit != -1)
        problem = "x5c leaf certificate is a CA certificate (basicConstraints), not a signing "
                  "leaf";
    BASIC_CONSTRAINTS_free(bc);
    if (problem)
        return problem;
    if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) &&
        !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))
        return "x5c leaf certificate is not allowed to sign (keyUsage)";

    crit = -1;
    ekus = X509_get_ext_d2i(leaf, NID_ext_key_usage, &crit, NULL);
    if (!ekus && crit != -1)
        return "x5c leaf certificate has a malformed or repeated extendedKeyUsage";
    if (ekus && eku_only_tls_or_mail(ekus))
        problem = "x5c leaf certificate is for TLS or e-mail only (extendedKeyUsage), not for "
                  "signing credentials";
    else if (eku && eku->nelts > 0 && !(ekus && eku_lists(ekus, eku)))
        problem = "x5c leaf certificate lacks an extendedKeyUsage named by DCRVCx5cEKU";
    sk_ASN1_OBJECT_pop_free(ekus, ASN1_OBJECT_free);
    return problem;
}

EVP_PKEY *dcr_x509_verify_x5c(apr_pool_t *pool, const dcr_x509_roots *roots, const json_t *x5c,
                              long long now, const char *issuer, const apr_array_header_t *eku,
                              const char **why)
{
    STACK_OF(X509) * chain;
    X509_STORE_CTX *sctx;
    X509 *leaf = NULL;
    EVP_PKEY *key;
    size_t n = json_array_size(x5c);
    int rc;

    if (!roots || !json_is_array(x5c) || n == 0 || n > DCR_X5C_MAX_CERTS) {
        *why = "x5c must be an array of 1 to 8 certificates";
        return NULL;
    }
    chain = sk_X509_new_null();
    apr_pool_cleanup_register(pool, chain, stack_cleanup, apr_pool_cleanup_null);
    for (size_t i = 0; i < n; i++) {
        X509 *c = decode_cert(pool, json_array_get(x5c, i));
        if (!c) {
            *why = apr_psprintf(pool, "x5c[%" APR_SIZE_T_FMT "] is not a base64 DER certificate",
                                (apr_size_t)i);
            return NULL;
        }
        if (i == 0)
            leaf = c;
        else
            sk_X509_push(chain, c);
    }

    sctx = X509_STORE_CTX_new();
    if (!sctx || !X509_STORE_CTX_init(sctx, roots->store, leaf, chain)) {
        X509_STORE_CTX_free(sctx);
        *why = "out of memory";
        return NULL;
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(sctx), (time_t)now);
    rc = X509_verify_cert(sctx);
    if (rc != 1)
        *why = apr_psprintf(pool, "x5c chain does not validate to a configured root: %s",
                            X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)));
    X509_STORE_CTX_free(sctx);
    if (rc != 1)
        return NULL;

    if ((*why = dcr_x509_leaf_purpose_problem(leaf, eku)))
        return NULL;
    if (!dcr_x509_bound_to_issuer(leaf, issuer)) {
        *why = "x5c leaf certificate does not name the issuer (URI or DNS subjectAltName)";
        return NULL;
    }
    key = X509_get_pubkey(leaf);
    if (!key) {
        *why = "x5c leaf public key unreadable";
        return NULL;
    }
    apr_pool_cleanup_register(pool, key, pkey_cleanup, apr_pool_cleanup_null);
    return key;
}
