/* Fixture shared by the registrar, management and lifecycle tests: a policy, an in-memory
 * store, a request at a fixed clock, and helpers that run one call and parse its answer. */
#ifndef DCR_TEST_REGISTRAR_FIXTURE_H
#define DCR_TEST_REGISTRAR_FIXTURE_H

#include "json.h"
#include "memstore.h"
#include "registrar.h"
#include "unit.h"

#include <apr_strings.h>
#include <string.h>

#define ENDPOINT "https://as.example.com/register"
#define NOW 1790000000LL

static dcr_policy policy;
static dcr_store *store;
static dcr_request req;

static void fixture_setup(void)
{
    unit_setup();
    dcr_policy_defaults(pool, &policy);
    policy.require_statement = false;
    store = memstore_create(pool);
    memset(&req, 0, sizeof(req));
    req.pool = pool;
    req.now = NOW;
    req.endpoint_url = ENDPOINT;
    req.policy = &policy;
    req.store = store;
}

static inline TCase *fixture_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, fixture_setup, unit_teardown);
    return tc;
}

static inline json_t *answer(const dcr_response *res)
{
    const char *why;
    return res->body ? dcr_json_parse(pool, res->body, strlen(res->body), 8, &why) : NULL;
}

/* Runs op (dcr_register when client_id is NULL) with body and bearer. */
static inline json_t *call(void (*op)(const dcr_request *, const char *, dcr_response *),
                           const char *client_id, const char *bearer, const char *body,
                           dcr_response *res)
{
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.bearer = bearer;
    if (op)
        op(&req, client_id, res);
    else
        dcr_register(&req, res);
    return answer(res);
}

static inline json_t *post(const char *body, dcr_response *res)
{
    return call(NULL, NULL, NULL, body, res);
}

static inline void assert_error(const json_t *j, const dcr_response *res, int status,
                                const char *code)
{
    ck_assert_int_eq(res->status, status);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(dcr_json_string(j, "error"), code);
    ck_assert_ptr_nonnull(dcr_json_string(j, "error_description"));
}

/* Registers one plain client and returns its id and token. */
static inline void register_one(const char **id, const char **token)
{
    dcr_response res;
    json_t *j = post("{\"redirect_uris\":[\"https://app.example/cb\"]}", &res);
    ck_assert_int_eq(res.status, 201);
    *id = apr_pstrdup(pool, dcr_json_string(j, "client_id"));
    *token = apr_pstrdup(pool, dcr_json_string(j, "registration_access_token"));
}

#endif
