#include "vc_payload.h"

#include "json.h"
#include "jws.h"
#include "metadata.h"

#include <apr_strings.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Never client metadata, whatever dcr_metadata_is_known says (oauth_vc.md 5.4). */
static const char *const reserved[] = {"iss",
                                       "sub",
                                       "aud",
                                       "exp",
                                       "nbf",
                                       "iat",
                                       "jti",
                                       "cnf",
                                       "vc",
                                       "vp",
                                       "@context",
                                       "type",
                                       "id",
                                       "issuer",
                                       "validFrom",
                                       "validUntil",
                                       "issuanceDate",
                                       "expirationDate",
                                       "credentialStatus",
                                       "credentialSchema",
                                       "credentialSubject",
                                       "proof",
                                       "status",
                                       "evidence",
                                       "termsOfUse",
                                       "refreshService",
                                       NULL};

static bool is_reserved(const char *name)
{
    for (const char *const *r = reserved; *r; r++)
        if (strcmp(*r, name) == 0)
            return true;
    return false;
}

/* issuer as a string or an object with a string id; NULL otherwise. */
static const char *issuer_of(const json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_object(v))
        return dcr_json_string(v, "id");
    return NULL;
}

const char *dcr_vc_claimed_issuer(const json_t *payload)
{
    const char *s = dcr_json_string(payload, "iss");
    const json_t *vc = json_object_get(payload, "vc");
    if (!s)
        s = issuer_of(json_object_get(payload, "issuer"));
    if (!s && json_is_object(vc))
        s = issuer_of(json_object_get(vc, "issuer"));
    return s;
}

static bool context_ok(const json_t *cred, bool allow_v1, bool allow_v2)
{
    const json_t *ctx = json_object_get(cred, "@context");
    const char *first =
        json_is_array(ctx) ? json_string_value(json_array_get(ctx, 0)) : json_string_value(ctx);
    return first && ((allow_v1 && strcmp(first, DCR_VC_CONTEXT_V1) == 0) ||
                     (allow_v2 && strcmp(first, DCR_VC_CONTEXT_V2) == 0));
}

/* "application/vc+jwt" and "VC+JWT" both mean vc+jwt (RFC 7515 4.1.9). */
static const char *media_type(apr_pool_t *pool, const char *typ)
{
    char *t;
    if (!typ)
        return NULL;
    if (strncasecmp(typ, "application/", 12) == 0)
        typ += 12;
    t = apr_pstrdup(pool, typ);
    for (char *p = t; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return t;
}

static bool fail(const char **why, const char *msg)
{
    *why = msg;
    return false;
}

bool dcr_vc_map(apr_pool_t *pool, const char *typ, const json_t *payload, dcr_vc_claims *out,
                const char **why)
{
    const char *t = media_type(pool, typ), *iss, *cred_issuer, *sub, *cs_id, *jti, *id;
    const json_t *cs, *vc = json_object_get(payload, "vc"), *st;
    bool legacy = false;

    memset(out, 0, sizeof(*out));
    out->payload = payload;
    if (t && (strcmp(t, "vc+sd-jwt") == 0 || strcmp(t, "dc+sd-jwt") == 0))
        return fail(why, "SD-JWT verifiable credentials are not supported");
    if (!t || strcmp(t, "jwt") == 0) {
        if (json_is_object(vc))
            out->version = 1;
        else if (!vc && json_object_get(payload, "@context"))
            out->version = 2; /* a 2.0 credential without the recommended typ */
        else
            return fail(why, "JWT carries no verifiable credential (no vc object)");
    } else if (strcmp(t, "vc+jwt") == 0 || (legacy = strcmp(t, "vc+ld+jwt") == 0)) {
        if (vc || json_object_get(payload, "vp"))
            return fail(why, "a vc+jwt credential must not carry a vc or vp claim");
        out->version = 2;
    } else {
        return fail(why, "unsupported typ for a verifiable credential");
    }

    out->credential = out->version == 1 ? vc : payload;
    if (!context_ok(out->credential, out->version == 1 || legacy, out->version == 2))
        return fail(why, out->version == 1 ? "vc.@context must start with " DCR_VC_CONTEXT_V1
                                           : "@context must start with " DCR_VC_CONTEXT_V2);

    iss = dcr_json_string(payload, "iss");
    if (json_object_get(payload, "iss") && !iss)
        return fail(why, "iss must be a string");
    cred_issuer = issuer_of(json_object_get(out->credential, "issuer"));
    if (json_object_get(out->credential, "issuer") && !cred_issuer)
        return fail(why, "issuer must be a URL or an object with an id");
    if (out->version == 1 && !iss)
        return fail(why, "a VCDM 1.1 JWT credential must carry iss");
    if (out->version == 2 && !cred_issuer)
        return fail(why, "the credential has no issuer");
    if (iss && cred_issuer && strcmp(iss, cred_issuer) != 0)
        return fail(why, "iss and issuer disagree");
    out->issuer = iss ? iss : cred_issuer;

    cs = json_object_get(out->credential, "credentialSubject");
    if (json_is_array(cs)) {
        if (json_array_size(cs) != 1)
            return fail(why, "credentials with several subjects cannot register a client");
        cs = json_array_get(cs, 0);
    }
    if (!json_is_object(cs))
        return fail(why, "credentialSubject must be one object");
    out->subject_claims = cs;
    sub = dcr_json_string(payload, "sub");
    cs_id = dcr_json_string(cs, "id");
    if ((json_object_get(payload, "sub") && !sub) || (json_object_get(cs, "id") && !cs_id))
        return fail(why, "sub and credentialSubject.id must be strings");
    if (sub && cs_id && strcmp(sub, cs_id) != 0)
        return fail(why, "sub and credentialSubject.id disagree");
    out->subject = cs_id ? cs_id : sub; /* may be NULL: status list credentials */

    jti = dcr_json_string(payload, "jti");
    id = dcr_json_string(out->credential, "id");
    if (jti && id && strcmp(jti, id) != 0)
        return fail(why, "jti and the credential id disagree");

    out->status = json_object_get(out->credential, "credentialStatus");
    if (out->status && !json_is_object(out->status) && !json_is_array(out->status))
        return fail(why, "credentialStatus must be an object or an array");
    st = json_object_get(payload, "status");
    if (st) {
        if (!json_is_object(st))
            return fail(why, "status must be an object");
        out->token_status = json_object_get(st, "status_list");
        if (out->token_status && !json_is_object(out->token_status))
            return fail(why, "status.status_list must be an object");
    }
    if (!dcr_vc_has_type(out, "VerifiableCredential"))
        return fail(why, "type does not contain VerifiableCredential");
    return true;
}

bool dcr_vc_has_type(const dcr_vc_claims *c, const char *name)
{
    const json_t *type = json_object_get(c->credential, "type"), *v;
    size_t i;
    if (json_is_string(type))
        return strcmp(json_string_value(type), name) == 0;
    json_array_foreach(type, i, v) if (json_is_string(v) &&
                                       strcmp(json_string_value(v), name) == 0) return true;
    return false;
}

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool dcr_vc_parse_datetime(const char *s, long long *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int Y, M, D, h, mi, sec, oh = 0, om = 0;
    const char *p;
    long long t;

    if (!s || strlen(s) < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) ||
        s[7] != '-' || !digits(s + 8, 2, &D) || s[10] != 'T' || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return false;
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || sec > 59)
        return false;
    if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
        return false;
    p = s + 19;
    if (*p == '.') {
        if (!isdigit((unsigned char)p[1]))
            return false;
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 14 || om > 59)
            return false;
        if (*p == '-') {
            oh = -oh;
            om = -om;
        }
        p += 6;
    } else {
        return false; /* a time zone is mandatory: local times are ambiguous */
    }
    if (*p)
        return false;
    t = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 + sec;
    *out = t - (oh * 3600 + om * 60);
    return true;
}

/* A dateTime property of the credential: *present false when absent. */
static bool date_prop(const json_t *cred, const char *name, long long *out, bool *present,
                      const char **why, apr_pool_t *pool)
{
    const json_t *v = json_object_get(cred, name);
    *present = v != NULL;
    if (v && !dcr_vc_parse_datetime(json_string_value(v), out)) {
        *why = apr_psprintf(pool, "%s is not a date-time with a time zone", name);
        return false;
    }
    return true;
}

bool dcr_vc_check_time(apr_pool_t *pool, const dcr_vc_claims *c, long long now, long long skew,
                       const char **why)
{
    long long exp = 0, nbf = 0, iat = 0, from = 0, until = 0, issued = 0, expires = 0;
    bool has_exp, has_nbf, has_iat, has_from, has_until, has_issued = false, has_expires = false;

    if (!dcr_jwt_numeric_date(c->payload, "exp", &exp, &has_exp, why) ||
        !dcr_jwt_numeric_date(c->payload, "nbf", &nbf, &has_nbf, why) ||
        !dcr_jwt_numeric_date(c->payload, "iat", &iat, &has_iat, why))
        return false;
    if (!date_prop(c->credential, "validFrom", &from, &has_from, why, pool) ||
        !date_prop(c->credential, "validUntil", &until, &has_until, why, pool))
        return false;
    if (c->version == 1 &&
        (!date_prop(c->credential, "issuanceDate", &issued, &has_issued, why, pool) ||
         !date_prop(c->credential, "expirationDate", &expires, &has_expires, why, pool)))
        return false;

    /* 1.1: nbf/exp mirror issuanceDate/expirationDate, so a mismatch is a forgery or a bug */
    if (has_nbf && has_issued && nbf != issued)
        return fail(why, "nbf and issuanceDate disagree");
    if (has_exp && has_expires && exp != expires)
        return fail(why, "exp and expirationDate disagree");
    if (has_from && has_until && from > until)
        return fail(why, "validFrom is after validUntil");

    if ((has_exp && now - skew >= exp) || (has_expires && now - skew >= expires))
        return fail(why, "the credential has expired");
    if (has_until && now - skew > until)
        return fail(why, "the credential is past its validUntil");
    if ((has_nbf && now + skew < nbf) || (has_issued && now + skew < issued))
        return fail(why, "the credential is not yet valid");
    if (has_from && now + skew < from)
        return fail(why, "the credential is before its validFrom");
    if (has_iat && now + skew < iat)
        return fail(why, "the credential was issued in the future (iat)");
    return true;
}

long long dcr_vc_issued_at(const dcr_vc_claims *c)
{
    long long t = 0;
    bool has = false;
    const char *why = NULL;
    if (dcr_jwt_numeric_date(c->payload, "iat", &t, &has, &why) && has)
        return t;
    if (c->credential && json_is_string(json_object_get(c->credential, "validFrom")) &&
        dcr_vc_parse_datetime(json_string_value(json_object_get(c->credential, "validFrom")), &t))
        return t;
    if (dcr_jwt_numeric_date(c->payload, "nbf", &t, &has, &why) && has)
        return t;
    if (c->version == 1 && c->credential &&
        json_is_string(json_object_get(c->credential, "issuanceDate")) &&
        dcr_vc_parse_datetime(json_string_value(json_object_get(c->credential, "issuanceDate")),
                              &t))
        return t;
    return 0;
}

static bool harvest_from(const json_t *src, json_t *into, const char **why)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)src, name, v)
    {
        json_t *have;
        if (is_reserved(name) || !dcr_metadata_is_known(name))
            continue;
        have = json_object_get(into, name);
        if (have && !json_equal(have, v))
            return fail(why, "the credential gives different values for the same client "
                             "metadata in credentialSubject and its top-level claims");
        json_object_set(into, name, v);
    }
    return true;
}

json_t *dcr_vc_harvest_metadata(apr_pool_t *pool, const dcr_vc_claims *c, int from,
                                const char **why)
{
    json_t *meta = dcr_json_own(pool, json_object());
    if ((from & 1) && !harvest_from(c->subject_claims, meta, why))
        return NULL;
    if ((from & 2) && !harvest_from(c->payload, meta, why))
        return NULL;
    return meta;
}
