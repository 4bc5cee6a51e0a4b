/* An RFC 7591 upstream: registration with the initial access token the upstream issued to
 * this gateway (DCRUpstreamToken), management (RFC 7592) with each client's own registration
 * access token. The upstream's answers are untrusted input: ids bounded, the management URI
 * only on the upstream's own origin (a token never goes anywhere else). */
#include "upstream.h"

#include "json.h"

#include <apr_strings.h>
#include <string.h>

#define ID_MAX 255 /* the SQL stores' key column; an id longer than this is refused */

static bool unavailable(dcr_error *err, const char *what, const char *why)
{
    return dcr_fail(err, DCR_ERR_TEMPORARILY_UNAVAILABLE,
                    "the authorization server is not available; try again later", "upstream %s: %s",
                    what, why);
}

static bool printable_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > ID_MAX)
        return false;
    for (; *s; s++)
        if (*s < 0x21 || *s > 0x7e)
            return false;
    return true;
}

/* The call: JSON in, the answer's status and body out; false only when nothing came back. */
static bool call_upstream(const dcr_upstream_call *call, const char *what, const char *method,
                          const char *url, const char *bearer, const json_t *body,
                          dcr_fetch_result *res, dcr_error *err)
{
    const char *text = body ? dcr_json_dump(call->pool, body) : NULL;
    const char *why = NULL;
    dcr_fetch_status st =
        dcr_fetch_send(call->pool, &call->up->fetch, method, url, call->up->origin, bearer,
                       "application/json", text, text ? strlen(text) : 0, res, &why);
    if (st != DCR_FETCH_OK)
        return unavailable(err, what, why ? why : "no answer");
    return true;
}

/* A 2xx registration answer into out; prev: the client's secrets so far (an update). */
static bool read_answer(const dcr_upstream_call *call, const char *what,
                        const dcr_fetch_result *res, const char *expect_id, const dcr_client *prev,
                        dcr_upstream_answer *out, dcr_error *err)
{
    apr_pool_t *p = call->pool;
    const char *why = NULL, *id, *rat, *uri, *secret;
    json_t *a = dcr_json_parse(p, res->body, res->len, 32, &why), *s, *iat;

    if (!json_is_object(a))
        return unavailable(err, what, "the answer is not a JSON object");
    id = dcr_json_string(a, "client_id");
    if (!printable_id(id))
        return unavailable(err, what, "the answer has no usable client_id");
    if (expect_id && strcmp(id, expect_id) != 0)
        return unavailable(err, what, "the answer names another client_id");
    /* RFC 7592 3: an update may rotate the token and move the URI; absent ones stay */
    rat = dcr_json_string(a, "registration_access_token");
    uri = dcr_json_string(a, "registration_client_uri");
    if (prev) {
        rat = rat ? rat : dcr_upstream_secret(p, prev, "registration_access_token");
        uri = uri ? uri : dcr_json_string(prev->upstream, "registration_client_uri");
    }
    if (!rat || !*rat || !uri)
        return unavailable(err, what,
                           apr_psprintf(p,
                                        "client %s came without registration_access_token or "
                                        "registration_client_uri: the upstream must offer RFC 7592",
                                        id));
    if (!dcr_fetch_origin(p, uri) || strcmp(dcr_fetch_origin(p, uri), call->up->origin) != 0)
        return unavailable(err, what,
                           apr_psprintf(p,
                                        "client %s: registration_client_uri is not on the "
                                        "upstream's origin %s",
                                        id, call->up->origin));
    secret = dcr_json_string(a, "client_secret");
    if (!secret && prev)
        secret = dcr_upstream_secret(p, prev, "client_secret");
    s = json_pack("{s:s}", "registration_access_token", rat);
    if (secret)
        json_object_set_new(s, "client_secret", json_string(secret));
    out->secret = dcr_json_dump(p, s);
    json_decref(s);
    out->client_id = id;
    iat = json_object_get(a, "client_id_issued_at");
    out->issued_at =
        json_is_integer(iat) && json_integer_value(iat) > 0 ? json_integer_value(iat) : 0;
    out->metadata = a;
    out->ref = dcr_json_own(p, json_pack("{s:s, s:s, s:s}", "kind", "rfc7591", "client_id", id,
                                         "registration_client_uri", uri));
    return true;
}

static bool create(const dcr_upstream_call *call, const dcr_client *c, const json_t *metadata,
                   dcr_upstream_answer *out, dcr_error *err)
{
    dcr_fetch_result res;
    (void)c;
    memset(out, 0, sizeof(*out));
    if (!call_upstream(call, "registration", "POST", call->up->url, call->up->token, metadata, &res,
                       err))
        return false;
    if (res.http_status != 201 && res.http_status != 200)
        return dcr_upstream_error_hiding(call->pool, "registration", res.http_status, res.body,
                                         call->up->token, err);
    return read_answer(call, "registration", &res, NULL, NULL, out, err);
}

/* Where and with what token c is managed at the upstream. */
static bool managed_at(const dcr_upstream_call *call, const dcr_client *c, const char **uri,
                       const char **rat, dcr_error *err)
{
    *uri = c->upstream ? dcr_json_string(c->upstream, "registration_client_uri") : NULL;
    *rat = dcr_upstream_secret(call->pool, c, "registration_access_token");
    if (!*uri || !*rat || !dcr_fetch_origin(call->pool, *uri) ||
        strcmp(dcr_fetch_origin(call->pool, *uri), call->up->origin) != 0)
        return unavailable(err, "management",
                           apr_psprintf(call->pool,
                                        "client %s: no registration_client_uri on the upstream's "
                                        "origin or no token stored",
                                        c->client_id));
    return true;
}

static bool update(const dcr_upstream_call *call, const dcr_client *c, const json_t *metadata,
                   dcr_upstream_answer *out, dcr_error *err)
{
    const char *uri, *rat, *id = dcr_client_public_id(c);
    json_t *body = dcr_json_own(call->pool, json_deep_copy(metadata));
    dcr_fetch_result res;

    memset(out, 0, sizeof(*out));
    if (!managed_at(call, c, &uri, &rat, err))
        return false;
    json_object_set_new(body, "client_id", json_string(id)); /* RFC 7592 2.2 */
    if (!call_upstream(call, "update", "PUT", uri, rat, body, &res, err))
        return false;
    if (res.http_status != 200 && res.http_status != 201)
        return dcr_upstream_error_hiding(call->pool, "update", res.http_status, res.body, rat, err);
    return read_answer(call, "update", &res, id, c, out, err);
}

static dcr_upstream_gone remove_client(const dcr_upstream_call *call, const dcr_client *c,
                                       dcr_error *err)
{
    const char *uri, *rat;
    dcr_fetch_result res;

    if (!managed_at(call, c, &uri, &rat, err))
        return DCR_UPSTREAM_ABSENT; /* nothing to call, ever: retrying would not help */
    if (!call_upstream(call, "delete", "DELETE", uri, rat, NULL, &res, err))
        return DCR_UPSTREAM_FAILED;
    if (res.http_status == 204 || res.http_status == 200)
        return DCR_UPSTREAM_DELETED;
    /* RFC 7592 2.3: an unknown client (or a revoked token) is 401; 403/404/410 alike say
     * that no later call will delete it */
    if (res.http_status == 401 || res.http_status == 403 || res.http_status == 404 ||
        res.http_status == 410) {
        dcr_fail(err, DCR_ERR_INVALID_TOKEN, "gone", "upstream delete of %s: HTTP %ld",
                 dcr_client_public_id(c), res.http_status);
        return DCR_UPSTREAM_ABSENT;
    }
    dcr_upstream_error_hiding(call->pool, "delete", res.http_status, res.body, rat, err);
    return DCR_UPSTREAM_FAILED;
}

const dcr_upstream_ops dcr_upstream_rfc7591_ops = {"rfc7591", create, update, remove_client};
