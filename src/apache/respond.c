/* Writing answers: every one JSON with Cache-Control: no-store and Pragma: no-cache, the RFC
 * 6750 challenge on 401s, Retry-After on 429/503, CORS headers for configured origins, and
 * the notes/env (DCR_CLIENT_ID, DCR_DECISION) that LogFormat can show. */
#include "respond.h"

#include "http_log.h"
#include "http_protocol.h"

#include <apr_strings.h>

APLOG_USE_MODULE(dcr_trusted);

static const char *allowed_origin(request_rec *r, const dcr_server_conf *sc)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    if (!origin || !sc->cors)
        return NULL;
    for (int i = 0; i < sc->cors->nelts; i++)
        if (strcasecmp(APR_ARRAY_IDX(sc->cors, i, const char *), origin) == 0)
            return origin;
    return NULL;
}

void dcr_ap_cors_headers(request_rec *r, const dcr_server_conf *sc)
{
    const char *origin = allowed_origin(r, sc);
    if (sc->cors)
        apr_table_mergen(r->err_headers_out, "Vary", "Origin");
    if (!origin)
        return;
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", origin);
    apr_table_setn(r->err_headers_out, "Access-Control-Expose-Headers",
                   "WWW-Authenticate, Retry-After, Location");
}

/* Is want one of the comma-separated methods? */
static int method_listed(apr_pool_t *p, const char *methods, const char *want)
{
    char *copy = apr_pstrdup(p, methods), *state = NULL, *m;
    for (m = apr_strtok(copy, ", ", &state); m; m = apr_strtok(NULL, ", ", &state))
        if (strcmp(m, want) == 0)
            return 1;
    return 0;
}

int dcr_ap_preflight(request_rec *r, const dcr_server_conf *sc, const char *methods)
{
    const char *origin = allowed_origin(r, sc);
    const char *want = apr_table_get(r->headers_in, "Access-Control-Request-Method");
    if (!origin || !want || !method_listed(r->pool, methods, want))
        return 0;
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods", methods);
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers",
                   "Content-Type, Authorization");
    apr_table_setn(r->err_headers_out, "Access-Control-Max-Age", "600");
    return 1;
}

void dcr_ap_notes(request_rec *r, const char *client_id, const char *decision)
{
    if (client_id) {
        apr_table_set(r->notes, "DCR_CLIENT_ID", client_id);
        apr_table_set(r->subprocess_env, "DCR_CLIENT_ID", client_id);
    }
    if (decision) {
        apr_table_set(r->notes, "DCR_DECISION", decision);
        apr_table_set(r->subprocess_env, "DCR_DECISION", decision);
    }
}

int dcr_ap_send(request_rec *r, const dcr_response *res)
{
    apr_table_t *h = r->err_headers_out; /* sent with every status */
    apr_table_setn(h, "Cache-Control", "no-store");
    apr_table_setn(h, "Pragma", "no-cache");
    if (res->status == 401)
        apr_table_setn(h, "WWW-Authenticate",
                       res->err.code == DCR_ERR_INVALID_TOKEN ? "Bearer error=\"invalid_token\""
                                                              : "Bearer");
    if (res->status == 429 || res->status == 503)
        apr_table_setn(h, "Retry-After",
                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                    (apr_int64_t)(res->retry_after > 0 ? res->retry_after : 60)));
    if (res->status == 413 || res->status >= 500)
        r->connection->keepalive = AP_CONN_CLOSE; /* never read (the rest of) the body */
    if (res->status >= 500 && res->err.detail[0]) /* operators must see these */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "%s: %s",
                      res->decision ? res->decision : "error", res->err.detail);
    dcr_ap_notes(r, res->client_id, res->decision);
    r->status = res->status;
    if (res->status == HTTP_NO_CONTENT) /* no body, so no Content-Type or -Length either */
        return OK;
    ap_set_content_type(r, "application/json");
    if (res->body) {
        ap_set_content_length(r, strlen(res->body));
        if (!r->header_only)
            ap_rputs(res->body, r);
    } else {
        ap_set_content_length(r, 0);
    }
    return OK;
}

int dcr_ap_send_error(request_rec *r, dcr_error_code code, int status, const char *description,
                      long long retry_after)
{
    dcr_response res;
    dcr_error err;
    memset(&res, 0, sizeof(res));
    dcr_fail_status(&err, code, status, description, NULL);
    dcr_response_error(r->pool, &err, &res);
    res.status = status;
    res.retry_after = retry_after;
    return dcr_ap_send(r, &res);
}
