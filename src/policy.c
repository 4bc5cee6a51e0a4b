#include "policy.h"

#include <apr_strings.h>
#include <string.h>

static apr_array_header_t *list_of(apr_pool_t *pool, const char *const *items)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    for (; *items; items++)
        APR_ARRAY_PUSH(a, const char *) = *items;
    return a;
}

void dcr_policy_defaults(apr_pool_t *pool, dcr_policy *policy)
{
    static const char *const grants[] = {"authorization_code", "refresh_token",
                                         "client_credentials", NULL};
    static const char *const responses[] = {"code", NULL};
    memset(policy, 0, sizeof(*policy));
    policy->grant_types = list_of(pool, grants);
    policy->response_types = list_of(pool, responses);
    policy->redirect_schemes = apr_array_make(pool, 1, sizeof(const char *));
    policy->require_statement = true;
    policy->clock_skew = 60;
    policy->max_statement_lifetime = 3600;
    policy->spiffe_auth_method = "spiffe_jwt";
    policy->reregister = DCR_REREGISTER_REPLACE;
    policy->max_per_subject = -1;
    policy->retry_after = 60;
}

long long dcr_policy_subject_ceiling(const dcr_policy *policy)
{
    if (policy->max_per_subject >= 0)
        return policy->max_per_subject;
    return policy->reregister == DCR_REREGISTER_NEW ? 0 : DCR_DEFAULT_SUBJECT_CEILING;
}

bool dcr_policy_has_anchors(const dcr_policy *policy)
{
    return policy->spiffe != NULL || policy->vc != NULL;
}

bool dcr_str_in_list(const apr_array_header_t *list, const char *s)
{
    if (!list || !s)
        return false;
    for (int i = 0; i < list->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(list, i, const char *), s) == 0)
            return true;
    return false;
}

apr_array_header_t *dcr_words(apr_pool_t *pool, const char *words)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    char *copy = apr_pstrdup(pool, words ? words : ""), *state = NULL, *w;
    for (w = apr_strtok(copy, " \t", &state); w; w = apr_strtok(NULL, " \t", &state))
        APR_ARRAY_PUSH(a, const char *) = w;
    return a;
}
