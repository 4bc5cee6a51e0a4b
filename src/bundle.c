#include "bundle.h"

#include "json.h"

#include <apr_strings.h>
#include <string.h>

static bool keep_spiffe(const char *use)
{
    return use && strcmp(use, "jwt-svid") == 0;
}

static bool keep_plain(const char *use)
{
    return !use || strcmp(use, "sig") == 0;
}

static bool is_svid_use(const char *use)
{
    return use && (strcmp(use, "jwt-svid") == 0 || strcmp(use, "x509-svid") == 0 ||
                   strcmp(use, "wit-svid") == 0);
}

/* Optional non-negative integer member, -1 when absent or bad (the caller warns: consumers
 * MUST NOT depend on it for keys). */
static long long optional_count(const json_t *doc, const char *name)
{
    const json_t *v = json_object_get(doc, name);
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        return (long long)json_integer_value(v);
    return -1;
}

typedef struct {
    void (*warn)(void *, const char *);
    void *baton;
    int count;
} warn_counter;

static void count_warn(void *baton, const char *msg)
{
    warn_counter *wc = baton;
    wc->count++;
    if (wc->warn)
        wc->warn(wc->baton, msg);
}

dcr_spiffe_bundle *dcr_spiffe_bundle_parse(apr_pool_t *pool, const char *buf, size_t len,
                                           void (*warn)(void *baton, const char *msg), void *baton,
                                           const char **why)
{
    json_t *doc = dcr_json_parse(pool, buf, len, DCR_JSON_MAX_DEPTH, why);
    const json_t *keys = json_object_get(doc, "keys");
    warn_counter wc = {warn, baton, 0};
    dcr_spiffe_bundle *b;
    dcr_jwks *all;
    size_t i;

    if (!doc)
        return NULL;
    if (!json_is_object(doc) || !json_is_array(keys)) {
        *why = "not a JWK Set: no \"keys\" array";
        return NULL;
    }
    b = apr_pcalloc(pool, sizeof(*b));
    b->spiffe_shape =
        json_object_get(doc, "spiffe_sequence") || json_object_get(doc, "spiffe_refresh_hint");
    for (i = 0; i < json_array_size(keys); i++)
        b->spiffe_shape |= is_svid_use(dcr_json_string(json_array_get(keys, i), "use"));
    if ((b->sequence = optional_count(doc, "spiffe_sequence")) < 0 &&
        json_object_get(doc, "spiffe_sequence"))
        count_warn(&wc, "spiffe_sequence is not a non-negative integer: ignored");
    if ((b->refresh_hint = optional_count(doc, "spiffe_refresh_hint")) < 0 &&
        json_object_get(doc, "spiffe_refresh_hint"))
        count_warn(&wc, "spiffe_refresh_hint is not a non-negative integer: ignored");

    /* Entries another use claims are skipped by keep; say so for uses nobody knows. */
    for (i = 0; i < json_array_size(keys); i++) {
        const json_t *use = json_object_get(json_array_get(keys, i), "use");
        const char *u = json_string_value(use);
        if (!use || !u)
            continue;
        if (b->spiffe_shape ? !is_svid_use(u) : strcmp(u, "sig") != 0)
            count_warn(&wc, apr_psprintf(pool, "key %d skipped: unknown use '%.32s'", (int)i, u));
    }
    if (b->spiffe_shape)
        for (i = 0; i < json_array_size(keys); i++)
            if (json_is_object(json_array_get(keys, i)) &&
                !json_object_get(json_array_get(keys, i), "use"))
                count_warn(&wc,
                           apr_psprintf(pool, "key %d skipped: no use in a SPIFFE bundle", (int)i));

    all =
        dcr_jwks_parse(pool, doc, b->spiffe_shape ? keep_spiffe : keep_plain, count_warn, &wc, why);
    if (!all)
        return NULL;
    /* JWT-SVID keys are looked up by kid only: a key without one can never be used. */
    b->jwt_keys = apr_pcalloc(pool, sizeof(*b->jwt_keys));
    b->jwt_keys->keys = apr_pcalloc(pool, (size_t)(all->nkeys + 1) * sizeof(dcr_jwk *));
    for (int k = 0; k < all->nkeys; k++) {
        if (!dcr_jwk_kid(all->keys[k])) {
            count_warn(&wc, "a JWT key without kid skipped");
            continue;
        }
        b->jwt_keys->keys[b->jwt_keys->nkeys++] = all->keys[k];
    }
    b->skipped = wc.count;
    return b;
}
