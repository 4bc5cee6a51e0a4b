/* Helpers shared by the metadata unit tests: parse test JSON into the per-test pool and run
 * dcr_metadata_register with the default policy. */
#ifndef DCR_METADATA_KIT_H
#define DCR_METADATA_KIT_H

#include "json.h"
#include "metadata.h"
#include "unit.h"

#include <apr_strings.h>
#include <string.h>

static dcr_policy pol;

static dcr_error err;

#define CB "\"redirect_uris\":[\"https://app.example/cb\"]"

static inline json_t *js(const char *text)
{
    const char *why = NULL;
    json_t *j = dcr_json_parse(pool, text, strlen(text), DCR_JSON_MAX_DEPTH, &why);
    ck_assert_msg(j != NULL, "test JSON does not parse: %s (%s)", text, why);
    return j;
}

static inline json_t *reg2(const char *request, const char *statement, const char *forced)
{
    dcr_error_clear(&err);
    dcr_policy_defaults(pool, &pol);
    return dcr_metadata_register(pool, js(request), statement ? js(statement) : NULL, &pol, forced,
                                 &err);
}

static inline json_t *reg(const char *request)
{
    return reg2(request, NULL, NULL);
}

static inline json_t *reg_ok(const char *request)
{
    json_t *m = reg(request);
    ck_assert_msg(m != NULL, "refused %s: %s", request, err.description);
    ck_assert_int_eq(err.code, DCR_OK);
    return m;
}

static inline void reg_fails(const char *request, dcr_error_code code)
{
    json_t *m = reg(request);
    ck_assert_msg(m == NULL, "accepted %s as %s", request, m ? dcr_json_dump(pool, m) : "");
    ck_assert_msg(err.code == code, "%s: got %s (%s)", request, dcr_error_name(err.code),
                  err.description);
    ck_assert_int_eq(err.status, 400);
    ck_assert(err.description[0] != '\0');
}

static inline const char *str(const json_t *o, const char *k)
{
    return dcr_json_string(o, k);
}

static inline const char *dump(const json_t *j)
{
    return j ? dcr_json_dump(pool, j) : "(absent)";
}

#endif
