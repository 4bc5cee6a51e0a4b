#include "grants.h"

#include "json.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_VALUES 32
#define MAX_VALUE_LEN 256

static bool failf(dcr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool failf(dcr_error *err, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return dcr_fail(err, DCR_ERR_INVALID_CLIENT_METADATA, buf, NULL);
}

static bool has_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = s; *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && memcmp(p, word, n) == 0)
            return true;
        p += len;
        while (*p == ' ')
            p++;
    }
    return false;
}

void dcr_response_type_needs(const char *rt, bool *needs_code, bool *needs_implicit)
{
    *needs_code = has_word(rt, "code");
    *needs_implicit = has_word(rt, "token") || has_word(rt, "id_token");
}

bool dcr_grant_type_known(const char *g)
{
    static const char *const known[] = {"authorization_code", "implicit",      "password",
                                        "client_credentials", "refresh_token", NULL};
    const char *colon = strchr(g, ':');
    for (int i = 0; known[i]; i++)
        if (strcmp(g, known[i]) == 0)
            return true;
    /* an absolute URI: a scheme of letters (then letters, digits, + - .) and something after */
    if (!colon || colon == g || !colon[1] ||
        !((*g >= 'a' && *g <= 'z') || (*g >= 'A' && *g <= 'Z')))
        return false;
    for (const char *p = g; p < colon; p++)
        if (!(isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'))
            return false;
    return strchr(g, ' ') == NULL;
}

bool dcr_response_type_known(const char *rt)
{
    bool any = false;
    if (strcmp(rt, "none") == 0)
        return true;
    for (const char *p = rt; *p;) {
        size_t len = strcspn(p, " ");
        if (!((len == 4 && !memcmp(p, "code", 4)) || (len == 5 && !memcmp(p, "token", 5)) ||
              (len == 8 && !memcmp(p, "id_token", 8))))
            return false;
        any = true;
        p += len;
        while (*p == ' ')
            p++;
    }
    return any;
}

static bool contains(const json_t *arr, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

/* Copies a request list into a fresh array of distinct strings, checking types. */
static json_t *read_list(const json_t *in, const char *member, dcr_error *err)
{
    json_t *out;
    size_t i;
    const json_t *v;
    if (!json_is_array(in)) {
        failf(err, "%s must be an array of strings", member);
        return NULL;
    }
    if (json_array_size(in) > MAX_VALUES) {
        failf(err, "%s has more than %d values", member, MAX_VALUES);
        return NULL;
    }
    out = json_array();
    json_array_foreach(in, i, v)
    {
        const char *s = json_string_value(v);
        size_t len = s ? strlen(s) : 0;
        bool ok = s && len > 0 && len <= MAX_VALUE_LEN;
        for (size_t k = 0; ok && k < len; k++)
            ok = (unsigned char)s[k] >= 0x20 && s[k] != 0x7f;
        if (!ok) {
            json_decref(out);
            failf(err, "%s[%zu] must be a non-empty printable string of at most %d bytes", member,
                  i, MAX_VALUE_LEN);
            return NULL;
        }
        if (!contains(out, s))
            json_array_append(out, (json_t *)v);
    }
    return out;
}

/* The table, checked on one pair of lists. why gets the first violation. */
static bool consistent(const json_t *grants, const json_t *responses, const char **why)
{
    bool any_code = false, any_implicit = false;
    size_t i;
    const json_t *v;
    json_array_foreach(responses, i, v)
    {
        bool c, im;
        dcr_response_type_needs(json_string_value(v), &c, &im);
        if (c && !contains(grants, "authorization_code")) {
            *why = "response type with code needs grant type authorization_code";
            return false;
        }
        if (im && !contains(grants, "implicit")) {
            *why = "response type with token or id_token needs grant type implicit";
            return false;
        }
        any_code |= c;
        any_implicit |= im;
    }
    if (contains(grants, "authorization_code") && !any_code) {
        *why = "grant type authorization_code needs response type code";
        return false;
    }
    if (contains(grants, "implicit") && !any_implicit) {
        *why = "grant type implicit needs response type token";
        return false;
    }
    return true;
}

static void keep_allowed(json_t *arr, const apr_array_header_t *allowed)
{
    for (size_t i = json_array_size(arr); i-- > 0;)
        if (!dcr_str_in_list(allowed, json_string_value(json_array_get(arr, i))))
            json_array_remove(arr, i);
}

/* After the policy filter: drop response types whose grant went, and redirect grants whose
 * response types went, until nothing changes. */
static void cascade(json_t *grants, json_t *responses)
{
    bool changed = true;
    while (changed) {
        bool any_code = false, any_implicit = false;
        changed = false;
        for (size_t i = json_array_size(responses); i-- > 0;) {
            bool c, im;
            dcr_response_type_needs(json_string_value(json_array_get(responses, i)), &c, &im);
            if ((c && !contains(grants, "authorization_code")) ||
                (im && !contains(grants, "implicit"))) {
                json_array_remove(responses, i);
                changed = true;
                continue;
            }
            any_code |= c;
            any_implicit |= im;
        }
        for (size_t i = json_array_size(grants); i-- > 0;) {
            const char *g = json_string_value(json_array_get(grants, i));
            if ((strcmp(g, "authorization_code") == 0 && !any_code) ||
                (strcmp(g, "implicit") == 0 && !any_implicit)) {
                json_array_remove(grants, i);
                changed = true;
            }
        }
    }
}

static bool not_only_refresh(const json_t *g, dcr_error *err)
{
    bool only_refresh = true;
    size_t i;
    const json_t *v;
    json_array_foreach(g, i, v) only_refresh &= strcmp(json_string_value(v), "refresh_token") == 0;
    if (only_refresh)
        return failf(err, "grant type refresh_token needs another grant type");
    return true;
}

bool dcr_grants_resolve(apr_pool_t *pool, const json_t *grant_types, const json_t *response_types,
                        const dcr_policy *policy, json_t **grants_out, json_t **responses_out,
                        dcr_error *err)
{
    json_t *g, *r;
    const char *why = NULL;

    if (grant_types) {
        if (!(g = read_list(grant_types, "grant_types", err)))
            return false;
    } else {
        g = json_pack("[s]", "authorization_code");
    }
    dcr_json_own(pool, g);
    if (response_types) {
        if (!(r = read_list(response_types, "response_types", err)))
            return false;
    } else {
        r = json_array();
        if (contains(g, "authorization_code"))
            json_array_append_new(r, json_string("code"));
        if (contains(g, "implicit"))
            json_array_append_new(r, json_string("token"));
    }
    dcr_json_own(pool, r);

    if (!consistent(g, r, &why))
        return failf(err, "%s", why);

    keep_allowed(g, policy->grant_types);
    keep_allowed(r, policy->response_types);
    cascade(g, r);

    if (json_array_size(g) == 0)
        return failf(err, "none of the requested grant types is allowed by this server");
    if (!not_only_refresh(g, err))
        return false;
    *grants_out = g;
    *responses_out = r;
    return true;
}

bool dcr_grants_need_redirect(const json_t *grants)
{
    return contains(grants, "authorization_code") || contains(grants, "implicit");
}

bool dcr_grants_public_client(json_t *grants, const char *auth_method, dcr_error *err)
{
    if (!auth_method || strcmp(auth_method, "none") != 0)
        return true;
    for (size_t i = json_array_size(grants); i-- > 0;)
        if (strcmp(json_string_value(json_array_get(grants, i)), "client_credentials") == 0)
            json_array_remove(grants, i);
    if (json_array_size(grants) == 0)
        return failf(err, "grant type client_credentials is only for confidential clients "
                          "(RFC 6749 4.4): register keys (jwks or jwks_uri) to use it");
    return not_only_refresh(grants, err);
}
