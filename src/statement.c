#include "statement.h"

#include "b64.h"
#include "json.h"
#include "jws.h"

#include <string.h>

#define DCR_STATEMENT_MAX_LEN (16 * 1024)

typedef enum { PROFILE_UNKNOWN, PROFILE_SPIFFE, PROFILE_VC } profile;

static bool is_vc_typ(const char *typ)
{
    static const char *const vc_types[] = {"vc+jwt", "vc+ld+jwt", "vc+sd-jwt", "dc+sd-jwt", NULL};
    for (const char *const *t = vc_types; typ && *t; t++)
        if (strcmp(typ, *t) == 0)
            return true;
    return false;
}

/* Only chooses where to send the statement: nothing read here is trusted. */
static profile choose_profile(const json_t *header, const json_t *payload)
{
    const char *sub = dcr_json_string(payload, "sub");
    if (is_vc_typ(dcr_json_string(header, "typ")) || json_object_get(payload, "vc") ||
        json_object_get(payload, "credentialSubject") || json_object_get(payload, "@context"))
        return PROFILE_VC;
    if (sub && strncmp(sub, "spiffe://", 9) == 0)
        return PROFILE_SPIFFE;
    return PROFILE_UNKNOWN;
}

bool dcr_statement_verify(const dcr_statement_ctx *in, const char *jwt, size_t len,
                          dcr_identity *out, dcr_error *err)
{
    dcr_statement_ctx peeked = *in, *ctx = &peeked;
    const dcr_policy *policy = ctx->policy;
    const char *dot1, *dot2;
    json_t *header, *payload;
    int dots = 0;

    memset(out, 0, sizeof(*out));
    if (!dcr_policy_has_anchors(policy))
        return dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT,
                        "this server trusts no software statement issuer",
                        "software_statement sent but no DCRTrustDomain or DCRVCIssuer is "
                        "configured for this virtual host");
    if (len == 0 || len > DCR_STATEMENT_MAX_LEN)
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement is empty or too long", "statement length %zu", len);
    if (jwt[0] == '{')
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "JWS JSON serialization is not supported: send the compact form", NULL);
    if (memchr(jwt, '~', len))
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "SD-JWT software statements are not supported", NULL);
    for (size_t i = 0; i < len; i++)
        dots += jwt[i] == '.';
    if (dots == 4)
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "encrypted (JWE) software statements are not supported", NULL);
    if (dots != 2)
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement is not a compact JWS", "%d dots", dots);

    dot1 = memchr(jwt, '.', len);
    dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - jwt));
    header = dcr_jws_peek_part(ctx->pool, jwt, (size_t)(dot1 - jwt));
    payload = dcr_jws_peek_part(ctx->pool, dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (!header || !payload)
        return dcr_fail(err, DCR_ERR_INVALID_SOFTWARE_STATEMENT,
                        "software_statement header or payload is not a base64url JSON object",
                        NULL);
    /* the profile parses the JWS without decoding these two again */
    peeked.peeked_jwt = jwt;
    peeked.peeked_header = header;
    peeked.peeked_payload = payload;

    switch (choose_profile(header, payload)) {
    case PROFILE_SPIFFE:
        if (!policy->spiffe)
            return dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT,
                            "no SPIFFE trust domain is trusted by this server",
                            "JWT-SVID sent but no DCRTrustDomain is configured");
        return dcr_spiffe_verify_statement(ctx, jwt, len, out, err);
    case PROFILE_VC:
        if (!policy->vc)
            return dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT,
                            "no verifiable credential issuer is trusted by this server",
                            "VC-JWT sent but no DCRVCIssuer is configured");
        return dcr_vc_verify_statement(ctx, jwt, len, out, err);
    default:
        return dcr_fail(err, DCR_ERR_UNAPPROVED_SOFTWARE_STATEMENT,
                        "software_statement is neither a SPIFFE JWT-SVID nor a verifiable "
                        "credential from a trusted issuer",
                        NULL);
    }
}
