#include "vc_binding.h"

#include "json.h"
#include "jws.h"

#include <apr_strings.h>
#include <string.h>

static bool fail(const char **why, const char *msg)
{
    *why = msg;
    return false;
}

/* A dateTime member of the credential, when present and well formed (check_time ran). */
static bool date_of(const json_t *cred, const char *name, long long *out)
{
    const json_t *v = json_object_get(cred, name);
    return json_is_string(v) && dcr_vc_parse_datetime(json_string_value(v), out);
}

bool dcr_vc_expires_at(const dcr_vc_claims *c, long long *out)
{
    long long t = 0, best = 0;
    bool has = false, any = false;
    const char *why = NULL;

    if (dcr_jwt_numeric_date(c->payload, "exp", &t, &has, &why) && has) {
        best = t;
        any = true;
    }
    if (date_of(c->credential, "validUntil", &t) && (!any || t < best)) {
        best = t;
        any = true;
    }
    if (c->version == 1 && date_of(c->credential, "expirationDate", &t) && (!any || t < best)) {
        best = t;
        any = true;
    }
    *out = best;
    return any;
}

bool dcr_vc_check_lifetime(const dcr_vc_claims *c, long long max_lifetime, long long *expires,
                           const char **why)
{
    long long from;
    /* without an end, a copy would work for ever: nothing could forget it */
    if (!dcr_vc_expires_at(c, expires))
        return fail(why, "the credential must expire: exp or validUntil is required");
    if (max_lifetime <= 0)
        return true;
    if (!(from = dcr_vc_issued_at(c)))
        return fail(why, "the credential's lifetime cannot be told: it names no iat, validFrom "
                         "or nbf");
    if (*expires - from > max_lifetime)
        return fail(why, "the credential is valid for longer than this server accepts "
                         "(DCRVCMaxLifetime)");
    return true;
}

/* aud (a string or a non-empty array of strings) names one of audiences. *present says
 * whether there is an aud at all; a malformed one is refused whatever the binding. */
static bool aud_names_us(const json_t *payload, const apr_array_header_t *audiences, bool *match,
                         const char **why)
{
    const json_t *aud = json_object_get(payload, "aud"), *v;
    size_t i;
    *match = false;
    if (!aud)
        return true;
    if (json_is_string(aud)) {
        *match = dcr_str_in_list(audiences, json_string_value(aud));
        return true;
    }
    if (!json_is_array(aud) || json_array_size(aud) == 0)
        return fail(why, "aud must be a string or a non-empty array of strings");
    json_array_foreach(aud, i, v)
    {
        if (!json_is_string(v))
            return fail(why, "aud holds a value that is not a string");
        *match |= dcr_str_in_list(audiences, json_string_value(v));
    }
    return true;
}

/* cnf.jwk as a one-key JWKS, or NULL when the credential names no holder key. Other cnf
 * forms (jkt, x5t#S256, jku, kid) only identify a key we cannot see: they do not bind. */
static bool holder_key(apr_pool_t *pool, const json_t *payload, json_t **jwks, const char **why)
{
    const json_t *cnf = json_object_get(payload, "cnf"), *jwk;
    const char *bad = NULL;
    *jwks = NULL;
    if (!cnf)
        return true;
    if (!json_is_object(cnf))
        return fail(why, "cnf must be a JSON object");
    if (!(jwk = json_object_get(cnf, "jwk")))
        return true;
    if (!json_is_object(jwk))
        return fail(why, "cnf.jwk must be a JSON object");
    /* a verification key: private members, symmetric and encryption-only keys are refused */
    if (!dcr_jwk_import(pool, jwk, &bad)) {
        *why = apr_psprintf(pool, "cnf.jwk is not a usable public key: %s", bad);
        return false;
    }
    *jwks = dcr_json_own(pool, json_pack("{s:[O]}", "keys", jwk));
    return *jwks != NULL || fail(why, "cnf.jwk cannot be registered");
}

bool dcr_vc_check_binding(apr_pool_t *pool, const dcr_vc_claims *c, unsigned binding,
                          const apr_array_header_t *audiences, long long expires, long long skew,
                          dcr_vc_bound *out, const char **why)
{
    bool aud_ok;
    memset(out, 0, sizeof(*out));
    if (!aud_names_us(c->payload, audiences, &aud_ok, why) ||
        !holder_key(pool, c->payload, &out->holder_jwks, why))
        return false;
    if (binding & DCR_VC_BIND_ANY)
        return true; /* bare credentials too (a startup warning says so); a cnf key still pins */
    if ((binding & DCR_VC_BIND_CNF) && out->holder_jwks)
        return true;
    if ((binding & DCR_VC_BIND_AUD) && aud_ok) {
        /* every verifier that saw it holds a copy: it registers once while it is valid */
        if (!out->holder_jwks)
            out->single_use_until = expires + (skew > 0 ? skew : 0);
        return true;
    }
    if ((binding & (DCR_VC_BIND_AUD | DCR_VC_BIND_CNF)) == DCR_VC_BIND_AUD)
        return fail(why, "the credential is not bound to this server: its aud does not name "
                         "this registration endpoint");
    if (binding == DCR_VC_BIND_CNF)
        return fail(why, "the credential is not bound to a holder key (cnf.jwk)");
    return fail(why, "the credential is not bound to this server (aud) or to a holder key "
                     "(cnf.jwk)");
}

unsigned dcr_vc_binding_parse(apr_pool_t *pool, const char *words)
{
    apr_array_header_t *w = dcr_words(pool, words);
    unsigned bits = 0;
    for (int i = 0; i < w->nelts; i++) {
        const char *s = APR_ARRAY_IDX(w, i, const char *);
        unsigned b = !strcmp(s, "aud")   ? DCR_VC_BIND_AUD
                     : !strcmp(s, "cnf") ? DCR_VC_BIND_CNF
                     : !strcmp(s, "any") ? DCR_VC_BIND_ANY
                                         : 0;
        if (!b)
            return 0;
        bits |= b;
    }
    /* any means no binding: with another word it would say two things */
    return (bits & DCR_VC_BIND_ANY) && bits != DCR_VC_BIND_ANY ? 0 : bits;
}
