/* Shared by the trust source tests (check_trust_source, check_trust_refresh, check_trust_slot):
 * two slots in ordinary memory, sources attached to the first, and answers built here that play
 * the fetcher (the HTTPS path is the integration suite's). */
#ifndef DCR_TEST_TRUST_KIT_H
#define DCR_TEST_TRUST_KIT_H

#include "trust_source.h"

#include "json.h"
#include "jwt_mint.h"
#include "unit.h"

#include <apr_strings.h>
#include <string.h>

#define NOW 1800000000LL
#define URL "https://spire.example.org:8443/bundle"
#define AUD "https://as.example.com/register"

static void *region; /* two slots */
static dcr_trust_limits limits;
static dcr_fetch_conf fetch;

static inline void setup(void)
{
    region = calloc(1, dcr_trust_slots_size(2));
    dcr_trust_limits_defaults(&limits);
    dcr_fetch_defaults(&fetch);
}

static inline void teardown(void)
{
    free(region);
}

static inline char *dump(json_t *j)
{
    char *s = dcr_json_dump(pool, j);
    json_decref(j);
    return s;
}

/* A SPIFFE bundle with one JWT key per kid given, all P-256 keys from mint_key / k2. */
static inline char *bundle(long long sequence, long long hint, EVP_PKEY *key, const char *kid)
{
    json_t *doc = json_pack("{s:[o]}", "keys", mint_jwk(key, kid, "jwt-svid", NULL));
    if (sequence >= 0)
        json_object_set_new(doc, "spiffe_sequence", json_integer(sequence));
    if (hint >= 0)
        json_object_set_new(doc, "spiffe_refresh_hint", json_integer(hint));
    return dump(doc);
}

static inline dcr_trust_source *source(dcr_trust_kind kind, const char *url)
{
    const char *why = NULL;
    dcr_trust_source *s =
        dcr_trust_source_create(pool, "trust domain example.org", kind, url, &fetch, &limits, &why);
    ck_assert_msg(s != NULL, "%s", why);
    ck_assert_int_ge(dcr_trust_slot_claim(region, 2, dcr_trust_source_key(s), url, 1), 0);
    dcr_trust_source_attach(s, dcr_trust_slot_at(region, 0));
    return s;
}

static inline dcr_trust_report answer(dcr_trust_source *s, long long now, const char *ctype,
                                      const char *body, long long max_age)
{
    dcr_fetch_result r = {.http_status = 200, .content_type = ctype, .max_age = max_age};
    dcr_trust_report rep;
    r.body = apr_pstrdup(pool, body);
    r.len = strlen(body);
    dcr_trust_source_apply(s, pool, now, DCR_FETCH_OK, &r, NULL, &rep);
    return rep;
}

static inline dcr_trust_report outage(dcr_trust_source *s, long long now)
{
    dcr_fetch_result r = {0};
    dcr_trust_report rep;
    dcr_trust_source_apply(s, pool, now, DCR_FETCH_FAILED, &r, "connection refused", &rep);
    return rep;
}

static inline const dcr_jwks *keys_at(dcr_trust_source *s, long long now, const char **why)
{
    return dcr_trust_source_keys(s, pool, now, why);
}

#endif
