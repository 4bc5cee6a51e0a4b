#include "vc.h"

#include "cache.h"
#include "json.h"
#include "statement.h"
#include "vc_binding.h"
#include "status_list.h"
#include "trust_source.h"
#include "vc_payload.h"
#include "vc_status.h"

#include <apr_strings.h>
#include <string.h>

void dcr_vc_trust_defaults(struct dcr_vc_trust *trust)
{
    memset(trust, 0, sizeof(*trust));
    trust->metadata_from = DCR_VC_META_SUBJECT;
    trust->status_ttl_min = 60;
    trust->status_ttl_max = 3600;
    trust->status_max_bytes = DCR_STATUS_MAX_BYTES;
    trust->binding = DCR_VC_BIND_AUD | DCR_VC_BIND_CNF;
}

const dcr_vc_issuer *dcr_vc_find_issuer(const struct dcr_vc_trust *trust, const char *id)
{
    for (int i = 0; id && trust->issuers && i < trust->issuers->nelts; i++) {
        const dcr_vc_issuer *is = APR_ARRAY_IDX(trust->issuers, i, const dcr_vc_issuer *);
        if (strcmp(is->id, id) == 0)
            return is;
    }
    return NULL;
}

/* Signing keys only: `use` absent or "sig". */
static bool keep_sig(const char *use)
{
    return !use || strcmp(use, "sig") == 0;
}

int dcr_vc_issuer_key_count(const dcr_vc_issuer *is)
{
    switch (is->source) {
    case DCR_VC_KEYS_JWKS:
        return is->jwks ? is->jwks->nkeys : 0;
    case DCR_VC_KEYS_PEM:
        return is->key ? 1 : 0;
    default:
        return is->roots ? dcr_x509_roots_count(is->roots) : 0;
    }
}

dcr_vc_issuer *dcr_vc_issuer_load(apr_pool_t *pool, const char *id, dcr_vc_key_source source,
                                  const char *buf, size_t len, const char **why)
{
    dcr_vc_issuer *is = apr_pcalloc(pool, sizeof(*is));
    is->id = apr_pstrdup(pool, id);
    is->source = source;
    switch (source) {
    case DCR_VC_KEYS_JWKS: {
        json_t *j = dcr_json_parse(pool, buf, len, DCR_JSON_MAX_DEPTH, why);
        if (!j)
            return NULL;
        is->jwks = dcr_jwks_parse(pool, j, keep_sig, NULL, NULL, why);
        if (is->jwks && is->jwks->nkeys == 0) {
            *why = "the JWKS holds no usable signing key";
            return NULL;
        }
        return is->jwks ? is : NULL;
    }
    case DCR_VC_KEYS_PEM:
        is->key = dcr_jwk_from_pem(pool, buf, len, why);
        return is->key ? is : NULL;
    case DCR_VC_KEYS_X5C:
        is->roots = dcr_x509_roots_from_pem(pool, buf, len, why);
        return is->roots ? is : NULL;
    }
    return NULL;
}

/* A kid equal to a JWKS kid, or a DID / absolute-URL kid whose fragment equals one. */
static const dcr_jwk *key_by_kid(const dcr_jwks *set, const char *kid)
{
    const dcr_jwk *k = dcr_jwks_find(set, kid);
    const char *frag = strrchr(kid, '#');
    if (!k && frag && frag[1])
        k = dcr_jwks_find(set, frag + 1);
    return k;
}

bool dcr_vc_verify_signature(apr_pool_t *pool, const dcr_vc_issuer *iss, const dcr_jws *jws,
                             long long now, dcr_error *err)
{
    const char *why;
    const dcr_jwks *keys = iss->jwks;
    int tried = 0;

    switch (iss->source) {
    case DCR_VC_KEYS_PEM:
        return dcr_jws_verify(jws, iss->key, err);
    case DCR_VC_KEYS_X5C: {
        const json_t *x5c = json_object_get(jws->header, "x5c");
        EVP_PKEY *leaf;
        const dcr_jwk *k;
        if (!x5c)
            return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                            "this issuer signs with a certificate chain: the x5c header is "
                            "missing",
                            "issuer %s", iss->id);
        leaf = dcr_x509_verify_x5c(pool, iss->roots, x5c, now, iss->id, iss->x5c_eku, &why);
        if (!leaf)
            return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                            "the x5c certificate chain is not valid for this issuer", "%s", why);
        k = dcr_jwk_from_evp(pool, leaf, NULL, &why);
        if (!k)
            return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                            "the x5c leaf key is not usable", "%s", why);
        return dcr_jws_verify(jws, k, err);
    }
    case DCR_VC_KEYS_JWKS:
        break;
    }
    /* a JWKS URL: the set in force, fail closed when there is none (never fetched, stale) */
    if (iss->remote && !(keys = dcr_trust_source_keys(iss->remote, pool, now, &why)))
        return dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT,
                        "the keys of this credential issuer are not available", "%s", why);
    if (jws->kid) {
        const dcr_jwk *k = key_by_kid(keys, jws->kid);
        /* a rotation not seen yet: one rate-limited refresh, then look again */
        if (!k && iss->remote && dcr_trust_source_kid_miss(iss->remote) &&
            (keys = dcr_trust_source_keys(iss->remote, pool, now, &why)))
            k = key_by_kid(keys, jws->kid);
        if (!k)
            return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                            "no key of the issuer matches the kid of the credential",
                            "issuer %s kid %s", iss->id, jws->kid);
        return dcr_jws_verify(jws, k, err);
    }
    /* no kid: a handful of the keys that fit alg */
    for (int i = 0; i < keys->nkeys && tried < DCR_VC_MAX_KEY_TRIES; i++) {
        const dcr_jwk *k = keys->keys[i];
        if (!dcr_jwk_fits_alg(k, jws->alg))
            continue;
        tried++;
        if (dcr_jws_verify(jws, k, NULL))
            return true;
    }
    return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                    "the credential signature does not verify with the issuer's keys",
                    "issuer %s alg %s, %d keys tried, no kid", iss->id, jws->alg, tried);
}

static bool invalid(dcr_error *err, const char *why, const char *issuer)
{
    return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT, why, "VC from %s", issuer);
}

/* iss, issuer and vc.issuer, where present, name the same issuer. */
static bool names_agree(const json_t *payload)
{
    const json_t *vc = json_object_get(payload, "vc");
    const char *names[3] = {dcr_json_string(payload, "iss"), NULL, NULL}, *first = NULL;
    const json_t *objs[2] = {json_object_get(payload, "issuer"),
                             json_is_object(vc) ? json_object_get(vc, "issuer") : NULL};
    for (int i = 0; i < 2; i++)
        names[i + 1] = json_is_string(objs[i])   ? json_string_value(objs[i])
                       : json_is_object(objs[i]) ? dcr_json_string(objs[i], "id")
                                                 : NULL;
    for (int i = 0; i < 3; i++) {
        if (names[i] && first && strcmp(names[i], first) != 0)
            return false;
        if (names[i] && !first)
            first = names[i];
    }
    return true;
}

bool dcr_vc_verify_statement(const dcr_statement_ctx *ctx, const char *jwt, size_t len,
                             dcr_identity *out, dcr_error *err)
{
    const struct dcr_vc_trust *trust = ctx->policy->vc;
    const dcr_vc_issuer *issuer;
    dcr_vc_claims c;
    dcr_jws jws;
    dcr_vc_bound bound;
    const char *why, *claimed;
    json_t *meta;
    long long expires;

    memset(out, 0, sizeof(*out));
    if (!trust)
        return dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT,
                        "no verifiable credential issuer is trusted by this server", NULL);
    if (!dcr_jws_parse_peeked(ctx->pool, jwt, len, DCR_PEEKED(ctx, jwt, header),
                              DCR_PEEKED(ctx, jwt, payload), dcr_jws_algs_vc, &jws, err))
        return false;

    /* order of judgement: an issuer we do not know is unapproved, whatever else is wrong */
    claimed = dcr_vc_claimed_issuer(jws.payload);
    issuer = dcr_vc_find_issuer(trust, claimed);
    if (!issuer)
        return dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT,
                        "the credential issuer is not trusted by this server",
                        "VC issuer %s not configured (DCRVCIssuer)", claimed ? claimed : "(none)");
    /* before the signature: else a mismatch reads as a bad signature by the iss's keys */
    if (!names_agree(jws.payload))
        return invalid(err, "iss and issuer disagree", issuer->id);
    if (!dcr_vc_verify_signature(ctx->pool, issuer, &jws, ctx->now, err))
        return false;

    if (!dcr_vc_map(ctx->pool, jws.typ, jws.payload, &c, &why))
        return invalid(err, why, issuer->id);
    if (strcmp(c.issuer, issuer->id) != 0) /* claimed_issuer took the first of several */
        return invalid(err, "the credential names its issuer inconsistently", issuer->id);
    if (!c.subject || !*c.subject)
        return invalid(err, "the credential names no subject (credentialSubject.id or sub)",
                       issuer->id);
    if (!dcr_vc_check_time(ctx->pool, &c, ctx->now, ctx->policy->clock_skew, &why) ||
        !dcr_vc_check_lifetime(&c, trust->max_lifetime, &expires, &why) ||
        !dcr_vc_check_binding(ctx->pool, &c, trust->binding, ctx->policy->audiences, expires,
                              ctx->policy->clock_skew, &bound, &why))
        return invalid(err, why, issuer->id);
    meta = dcr_vc_harvest_metadata(ctx->pool, &c, trust->metadata_from, &why);
    if (!meta)
        return invalid(err, why, issuer->id);

    /* policy on a valid credential (DESIGN.md: order of judgement); local, so before the
     * status list fetch: a credential refused anyway costs no outbound request (nor a 503) */
    for (int i = 0; trust->required_types && i < trust->required_types->nelts; i++) {
        const char *t = APR_ARRAY_IDX(trust->required_types, i, const char *);
        if (!dcr_vc_has_type(&c, t))
            return dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT,
                            "the credential type is not accepted by this server",
                            "VC from %s lacks required type %s", issuer->id, t);
    }
    if (!dcr_vc_check_status(ctx, trust, issuer, &c, err))
        return false;

    out->kind = DCR_IDENTITY_VC;
    out->subject = apr_pstrdup(ctx->pool, c.subject);
    out->issuer = issuer->id;
    out->metadata = meta;
    out->extensions = dcr_json_own(ctx->pool, json_object());
    json_object_set_new(out->extensions, "vc_issuer", json_string(issuer->id));
    json_object_set_new(out->extensions, "vc_subject", json_string(c.subject));
    out->auth_method = trust->auth_method;
    out->iat = dcr_vc_issued_at(&c);
    out->single_use_until = bound.single_use_until;
    if (bound.holder_jwks) {
        /* pinned to the holder: its key is the client's only credential, whatever the request
         * or DCRVCAuthMethod say (statement values win, and the key replaces a jwks_uri) */
        json_object_set(meta, "jwks", bound.holder_jwks);
        json_object_del(meta, "jwks_uri");
        out->auth_method = "private_key_jwt";
    }
    dcr_log(ctx->log, DCR_LOG_INFO, "VC verified: issuer %s subject %s", issuer->id, c.subject);
    return true;
}
