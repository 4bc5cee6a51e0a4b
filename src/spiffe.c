/* Trust domains of one VirtualHost and JWT-SVID verification. Order of checks follows
 * go-spiffe (alg first, then header, sub, trust domain, kid, signature, times, audience) plus
 * the DCR draft's iat and iss rules, then this server's SPIFFE ID policy. */
#include "spiffe.h"

#include "json.h"
#include "statement.h"
#include "trust_source.h"

#include <apr_strings.h>
#include <apr_tables.h>
#include <stdlib.h>
#include <string.h>

typedef struct trust_domain {
    const char *name;
    const char *issuer;              /* NULL: iss absent, or spiffe://<name> */
    const dcr_spiffe_bundle *bundle; /* a file's; NULL for a remote source */
    dcr_trust_source *source;        /* https:// or jwks:https:// (src/trust_source.c) */
} trust_domain;

struct dcr_spiffe_trust {
    apr_pool_t *pool;
    apr_array_header_t *domains;  /* trust_domain */
    apr_array_header_t *patterns; /* dcr_spiffe_pattern */
};

dcr_spiffe_trust *dcr_spiffe_trust_create(apr_pool_t *pool)
{
    dcr_spiffe_trust *t = apr_pcalloc(pool, sizeof(*t));
    t->pool = pool;
    t->domains = apr_array_make(pool, 2, sizeof(trust_domain));
    t->patterns = apr_array_make(pool, 2, sizeof(dcr_spiffe_pattern));
    return t;
}

static const trust_domain *find_domain(const dcr_spiffe_trust *t, const char *name)
{
    for (int i = 0; t && i < t->domains->nelts; i++) {
        const trust_domain *d = &APR_ARRAY_IDX(t->domains, i, trust_domain);
        if (strcmp(d->name, name) == 0)
            return d;
    }
    return NULL;
}

static trust_domain *add_domain(dcr_spiffe_trust *trust, const char *td, const char *issuer,
                                const char **why)
{
    trust_domain *d;
    if (!td || !dcr_spiffe_td_valid(td, strlen(td))) {
        *why = "invalid trust domain name (1..255 bytes of a-z 0-9 . - _, no spiffe:// prefix)";
        return NULL;
    }
    if (issuer && !*issuer) {
        *why = "empty issuer= value";
        return NULL;
    }
    if (find_domain(trust, td)) {
        *why = "trust domain configured twice";
        return NULL;
    }
    d = apr_array_push(trust->domains);
    memset(d, 0, sizeof(*d));
    d->name = apr_pstrdup(trust->pool, td);
    d->issuer = issuer ? apr_pstrdup(trust->pool, issuer) : NULL;
    return d;
}

bool dcr_spiffe_trust_add_domain(dcr_spiffe_trust *trust, const char *td,
                                 const dcr_spiffe_bundle *bundle, const char *issuer,
                                 const char **why)
{
    trust_domain *d;
    if (!bundle) {
        *why = "no bundle";
        return false;
    }
    if (!(d = add_domain(trust, td, issuer, why)))
        return false;
    d->bundle = bundle;
    return true;
}

bool dcr_spiffe_trust_add_remote(dcr_spiffe_trust *trust, const char *td,
                                 struct dcr_trust_source *source, const char *issuer,
                                 const char **why)
{
    trust_domain *d;
    if (!source) {
        *why = "no key source";
        return false;
    }
    if (!(d = add_domain(trust, td, issuer, why)))
        return false;
    d->source = source;
    return true;
}

bool dcr_spiffe_trust_add_pattern(dcr_spiffe_trust *trust, const char *pattern, const char **why)
{
    dcr_spiffe_pattern p;
    if (!dcr_spiffe_pattern_parse(trust->pool, pattern, &p, why))
        return false;
    *(dcr_spiffe_pattern *)apr_array_push(trust->patterns) = p;
    return true;
}

const dcr_spiffe_bundle *dcr_spiffe_trust_bundle(const dcr_spiffe_trust *trust, const char *td)
{
    const trust_domain *d = find_domain(trust, td);
    return d ? d->bundle : NULL;
}

bool dcr_spiffe_trust_has(const dcr_spiffe_trust *trust, const char *td)
{
    return find_domain(trust, td) != NULL;
}

int dcr_spiffe_trust_count(const dcr_spiffe_trust *trust)
{
    return trust ? trust->domains->nelts : 0;
}

bool dcr_spiffe_trust_allows(const dcr_spiffe_trust *trust, const dcr_spiffe_id *id)
{
    bool any = false;
    if (id->path[0] == '\0')
        return false;
    for (int i = 0; i < trust->patterns->nelts; i++) {
        const dcr_spiffe_pattern *p = &APR_ARRAY_IDX(trust->patterns, i, dcr_spiffe_pattern);
        if (strcmp(p->trust_domain, id->trust_domain) != 0)
            continue;
        any = true;
        if (dcr_spiffe_pattern_match(p, id))
            return true;
    }
    return !any;
}

#define INVALID(...) dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT, __VA_ARGS__)
#define UNAPPROVED(...) dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT, __VA_ARGS__)

static bool check_header(const dcr_jws *jws, dcr_error *err)
{
    static const char *const refused[] = {"jku", "x5u", "jwk", "x5c", NULL};
    const char *which = NULL;
    if (!jws->kid || !*jws->kid)
        return INVALID("software_statement header has no kid", NULL);
    if (jws->typ && strcmp(jws->typ, "JWT") != 0 && strcmp(jws->typ, "JOSE") != 0)
        return INVALID("software_statement typ must be JWT or JOSE for a JWT-SVID",
                       "JWT-SVID typ '%.32s'", jws->typ);
    if (dcr_jws_has_header(jws, refused, &which))
        return INVALID("software_statement header names its own key (jku, x5u, jwk or x5c): "
                       "keys come only from the trust domain's bundle",
                       "JWT-SVID header %s refused", which);
    return true;
}

static bool check_times(const dcr_statement_ctx *ctx, const json_t *payload, dcr_error *err)
{
    long long exp, iat, nbf, skew = ctx->policy->clock_skew;
    bool has_exp, has_iat, has_nbf;
    const char *why = NULL;

    if (!dcr_jwt_numeric_date(payload, "exp", &exp, &has_exp, &why) ||
        !dcr_jwt_numeric_date(payload, "iat", &iat, &has_iat, &why) ||
        !dcr_jwt_numeric_date(payload, "nbf", &nbf, &has_nbf, &why))
        return INVALID("software_statement exp, iat or nbf is not a valid NumericDate", "%s", why);
    if (!has_exp || !has_iat)
        return INVALID("software_statement must carry both exp and iat", NULL);
    if (ctx->now >= exp + skew)
        return INVALID("software_statement has expired", "exp %lld, now %lld, skew %lld", exp,
                       ctx->now, skew);
    if (iat > ctx->now + skew)
        return INVALID("software_statement iat is in the future", "iat %lld, now %lld", iat,
                       ctx->now);
    if (has_nbf && nbf > ctx->now + skew)
        return INVALID("software_statement is not valid yet (nbf)", "nbf %lld, now %lld", nbf,
                       ctx->now);
    if (exp < iat)
        return INVALID("software_statement exp is before its iat", NULL);
    if (exp - iat > ctx->policy->max_statement_lifetime)
        return INVALID("software_statement lifetime (exp - iat) is longer than this server "
                       "accepts",
                       "exp - iat = %lld s, maximum %lld s", exp - iat,
                       ctx->policy->max_statement_lifetime);
    return true;
}

static bool check_audience(const dcr_statement_ctx *ctx, const json_t *payload, dcr_error *err)
{
    const apr_array_header_t *accepted = ctx->policy->audiences;
    const json_t *aud = json_object_get(payload, "aud");
    bool match = false;
    size_t i;
    const json_t *v;

    /* An empty configured list never disables the check (go-spiffe PR 407). */
    if (!accepted || accepted->nelts == 0)
        return UNAPPROVED("this server has no audience configured for software statements",
                          "no DCRAudience and no default audience: refusing every JWT-SVID");
    if (json_is_string(aud))
        match = dcr_str_in_list(accepted, json_string_value(aud));
    else if (json_is_array(aud) && json_array_size(aud) > 0) {
        json_array_foreach(aud, i, v)
        {
            if (!json_is_string(v))
                return INVALID("software_statement aud holds a value that is not a string", NULL);
            match |= dcr_str_in_list(accepted, json_string_value(v));
        }
    } else
        return INVALID("software_statement aud is missing or empty", NULL);
    if (!match) { /* the admin must see both sides; json_dumps escapes what the client sent */
        char *presented = json_dumps(aud, JSON_COMPACT | JSON_ENCODE_ANY);
        const char *expected = "";
        for (int k = 0; k < accepted->nelts; k++)
            expected = apr_pstrcat(ctx->pool, expected, k ? " " : "",
                                   APR_ARRAY_IDX(accepted, k, const char *), NULL);
        dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                 "software_statement aud does not name this registration endpoint",
                 "audience mismatch: expected %s, presented %.200s", expected,
                 presented ? presented : "?");
        free(presented);
        return false;
    }
    return true;
}

static bool check_issuer(const dcr_statement_ctx *ctx, const trust_domain *td,
                         const json_t *payload, dcr_error *err)
{
    const json_t *iss = json_object_get(payload, "iss");
    const char *want =
        td->issuer ? td->issuer : apr_pstrcat(ctx->pool, "spiffe://", td->name, NULL);
    if (!iss && !td->issuer)
        return true;
    if (!iss)
        return INVALID("software_statement has no iss claim", "trust domain %s requires iss",
                       td->name);
    if (!json_is_string(iss))
        return INVALID("software_statement iss is not a string", NULL);
    if (strcmp(json_string_value(iss), want) == 0)
        return true;
    if (!td->issuer)
        dcr_log(ctx->log, DCR_LOG_INFO,
                "JWT-SVID of trust domain %s carries iss '%.200s', not '%s': if that issuer "
                "is right, add issuer=%.200s to its DCRTrustDomain",
                td->name, json_string_value(iss), want, json_string_value(iss));
    return INVALID("software_statement iss does not match the trust domain's issuer",
                   "trust domain %s: iss '%.200s', expected '%s'", td->name, json_string_value(iss),
                   want);
}

static void fill_identity(const dcr_statement_ctx *ctx, const dcr_spiffe_id *id,
                          const json_t *payload, dcr_identity *out)
{
    static const char *const jwt_claims[] = {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", NULL};
    json_t *meta = dcr_json_own(ctx->pool, json_deep_copy(payload));
    const char *why;
    bool has_iat;
    for (const char *const *c = jwt_claims; *c && meta; c++)
        json_object_del(meta, *c);
    out->kind = DCR_IDENTITY_SPIFFE;
    out->subject = id->id;
    out->issuer = id->trust_domain;
    out->metadata = meta;
    out->extensions = dcr_json_own(ctx->pool, json_pack("{s:s}", "spiffe_id", id->id));
    out->auth_method = ctx->policy->spiffe_auth_method;
    if (!dcr_jwt_numeric_date(payload, "iat", &out->iat, &has_iat, &why) || !has_iat)
        out->iat = 0; /* not reached: check_times required a valid iat */
}

bool dcr_spiffe_verify_statement(const dcr_statement_ctx *ctx, const char *jwt, size_t len,
                                 dcr_identity *out, dcr_error *err)
{
    const dcr_spiffe_trust *trust = ctx->policy->spiffe;
    const trust_domain *td;
    const json_t *sub;
    const dcr_jwk *key;
    const dcr_jwks *keys;
    const char *why = NULL;
    dcr_spiffe_id id;
    dcr_jws jws;

    memset(out, 0, sizeof(*out));
    /* order of judgement (DESIGN.md): the alg allow-list (in the parse), then the trust domain
     * of sub, and only then the header rules: a foreign SVID is unapproved whatever its
     * header looks like */
    if (!dcr_jws_parse_peeked(ctx->pool, jwt, len, DCR_PEEKED(ctx, jwt, header),
                              DCR_PEEKED(ctx, jwt, payload), dcr_jws_algs_svid, &jws, err))
        return false;
    sub = json_object_get(jws.payload, "sub");
    if (!json_is_string(sub))
        return INVALID("software_statement has no sub (SPIFFE ID)", NULL);
    if (!dcr_spiffe_id_parse(ctx->pool, json_string_value(sub), json_string_length(sub), &id, &why))
        return INVALID("software_statement sub is not a valid SPIFFE ID", "%s", why);
    td = trust ? find_domain(trust, id.trust_domain) : NULL;
    if (!td)
        return UNAPPROVED("software_statement comes from a trust domain this server does not "
                          "trust",
                          "trust domain '%s' not configured for this virtual host",
                          id.trust_domain);
    if (!check_header(&jws, err))
        return false;
    keys = td->source ? dcr_trust_source_keys(td->source, ctx->pool, ctx->now, &why)
                      : td->bundle->jwt_keys;
    if (!keys) /* fail closed: never fetched, or stale past DCRTrustMaxStale */
        return UNAPPROVED("the keys of this trust domain are not available", "%s", why);
    key = dcr_jwks_find(keys, jws.kid);
    /* a rotation the last refresh has not seen yet: one rate-limited refresh, then again */
    if (!key && td->source && dcr_trust_source_kid_miss(td->source) &&
        (keys = dcr_trust_source_keys(td->source, ctx->pool, ctx->now, &why)))
        key = dcr_jwks_find(keys, jws.kid);
    if (!key)
        return INVALID("software_statement is signed with a key its trust domain does not "
                       "list",
                       "kid '%.64s' not among the JWT keys of trust domain %s", jws.kid, td->name);
    if (!dcr_jws_verify(&jws, key, err) || !check_times(ctx, jws.payload, err) ||
        !check_audience(ctx, jws.payload, err) || !check_issuer(ctx, td, jws.payload, err))
        return false;
    if (id.path[0] == '\0')
        return UNAPPROVED("a SPIFFE ID without a path names a trust domain, not a workload, "
                          "and cannot register",
                          "JWT-SVID sub %s has no path", id.id);
    if (!dcr_spiffe_trust_allows(trust, &id))
        return UNAPPROVED("this SPIFFE ID is not allowed to register here",
                          "%s matches no DCRAllowSpiffeID pattern of trust domain %s", id.id,
                          td->name);
    fill_identity(ctx, &id, jws.payload, out);
    dcr_log(ctx->log, DCR_LOG_DEBUG, "JWT-SVID verified: %s (kid %.64s, %s)", id.id, jws.kid,
            jws.alg);
    return true;
}
