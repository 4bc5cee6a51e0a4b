/* SetHandler dcr-registration: POST <location> registers (RFC 7591); GET, PUT and DELETE on
 * <location>/<client_id> read, replace and delete a registration (RFC 7592). The glue checks
 * transport (TLS, method, content type, body size), builds a dcr_request and writes the core's
 * dcr_response back. */
#include "handler.h"

#include "body.h"
#include "config.h"
#include "config_upstream.h"
#include "respond.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"

#include <apr_lib.h>
#include <apr_strings.h>

APLOG_USE_MODULE(dcr_trusted);

typedef struct dcr_ap_ctx {
    request_rec *r;
    const dcr_server_conf *sc;
    const char *client_id; /* NULL on the endpoint itself */
    dcr_request req;
    dcr_logger log;
} dcr_ap_ctx;

typedef int (*dcr_ap_op)(dcr_ap_ctx *ctx);

static int do_register(dcr_ap_ctx *ctx);
static int do_read(dcr_ap_ctx *ctx);
static int do_update(dcr_ap_ctx *ctx);
static int do_delete(dcr_ap_ctx *ctx);

/* What each target answers (Allow and the CORS preflight are derived from this table). */
static const struct route {
    int on_client; /* 0: the endpoint, 1: <location>/<client_id> */
    int method;
    const char *name;
    dcr_ap_op op;
} routes[] = {
    {0, M_POST, "POST", do_register},
    {1, M_GET, "GET", do_read},
    {1, M_PUT, "PUT", do_update},
    {1, M_DELETE, "DELETE", do_delete},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *allow_of(apr_pool_t *p, int on_client)
{
    const char *allow = NULL;
    for (size_t i = 0; i < NROUTES; i++)
        if (routes[i].on_client == on_client)
            allow = allow ? apr_pstrcat(p, allow, ", ", routes[i].name, NULL) : routes[i].name;
    return allow;
}

static void log_fn(void *baton, int level, const char *msg)
{
    request_rec *r = baton;
    ap_log_rerror(APLOG_MARK, level, 0, r, "%s", msg);
}

/* scheme://ServerName[:port] of the vhost (never the Host header), or DCRPublicURL. */
static const char *base_url(request_rec *r, const dcr_server_conf *sc)
{
    const char *scheme = ap_http_scheme(r), *host = r->server->server_hostname;
    apr_port_t port = r->server->port ? r->server->port : r->connection->local_addr->port;
    apr_port_t dflt = strcmp(scheme, "https") == 0 ? 443 : 80;
    if (sc->public_url)
        return sc->public_url;
    if (host && strchr(host, ':'))
        host = apr_pstrcat(r->pool, "[", host, "]", NULL);
    if (port == dflt)
        return apr_pstrcat(r->pool, scheme, "://", host, NULL);
    return apr_psprintf(r->pool, "%s://%s:%u", scheme, host, (unsigned)port);
}

/* RFC 6750 2.1: "Bearer <token>"; anything else counts as no token. */
static const char *bearer_of(request_rec *r)
{
    const char *h = apr_table_get(r->headers_in, "Authorization");
    char *t;
    apr_size_t n;
    if (!h)
        return NULL;
    while (apr_isspace(*h))
        h++;
    if (strncasecmp(h, "Bearer", 6) != 0 || !apr_isspace(h[6]))
        return NULL;
    for (h += 6; apr_isspace(*h); h++)
        ;
    t = apr_pstrdup(r->pool, h);
    for (n = strlen(t); n > 0 && apr_isspace(t[n - 1]); n--)
        t[n - 1] = '\0';
    return *t ? t : NULL;
}

static int is_json(const char *ct)
{
    const char *end;
    if (!ct)
        return 0;
    while (apr_isspace(*ct))
        ct++;
    if (strncasecmp(ct, "application/json", 16) != 0)
        return 0;
    for (end = ct + 16; *end == ' ' || *end == '\t'; end++)
        ;
    return *end == '\0' || *end == ';';
}

/* Content type and bounded body for POST and PUT: OK with ctx->req.body set, or the answer
 * already sent (415, 413, 400) as DONE. */
static int take_json_body(dcr_ap_ctx *ctx)
{
    request_rec *r = ctx->r;
    char *body;
    apr_size_t len;
    int rc;

    if (!is_json(apr_table_get(r->headers_in, "Content-Type"))) {
        dcr_ap_send_error(r, DCR_ERR_INVALID_REQUEST, 415,
                          "the request body must be application/json", 0);
        return DONE;
    }
    rc = dcr_ap_read_body(r, dcr_ap_max_body(ctx->sc), &body, &len);
    if (rc != OK) {
        if (rc == HTTP_REQUEST_ENTITY_TOO_LARGE)
            dcr_ap_send_error(r, DCR_ERR_INVALID_REQUEST, 413, "the request body is too large", 0);
        else
            dcr_ap_send_error(r, DCR_ERR_INVALID_REQUEST, 400, "the request body could not be read",
                              0);
        return DONE;
    }
    ctx->req.body = body;
    ctx->req.body_len = len;
    return OK;
}

static int do_register(dcr_ap_ctx *ctx)
{
    request_rec *r = ctx->r;
    dcr_response res;

    if (take_json_body(ctx) != OK)
        return OK;
    dcr_register(&ctx->req, &res);
    if (res.status == 201 && res.location) /* the client_id percent-encoded */
        apr_table_setn(r->err_headers_out, "Location", res.location);
    return dcr_ap_send(r, &res);
}

static int do_update(dcr_ap_ctx *ctx)
{
    dcr_response res;
    if (take_json_body(ctx) != OK)
        return OK;
    dcr_update(&ctx->req, ctx->client_id, &res);
    return dcr_ap_send(ctx->r, &res);
}

static int do_delete(dcr_ap_ctx *ctx)
{
    dcr_response res;
    dcr_delete(&ctx->req, ctx->client_id, &res);
    return dcr_ap_send(ctx->r, &res);
}

static int do_read(dcr_ap_ctx *ctx)
{
    dcr_response res;
    dcr_read(&ctx->req, ctx->client_id, &res);
    return dcr_ap_send(ctx->r, &res);
}

/* Which target r->uri is under one location: 0 the endpoint, 1 a client (sets *client_id),
 * -1 neither. */
static int target_in(request_rec *r, const char *loc, const char **client_id)
{
    size_t n = strlen(loc);
    const char *rest;
    if (strncmp(r->uri, loc, n) != 0)
        return -1;
    rest = r->uri + n;
    if (*rest == '\0' || (rest[0] == '/' && rest[1] == '\0'))
        return 0;
    if (rest[0] != '/' || strchr(rest + 1, '/'))
        return -1;
    *client_id = rest + 1;
    return 1;
}

/* The longest configured location r->uri falls under (*loc), and the target there. */
static int target_of(request_rec *r, const dcr_server_conf *sc, const char **loc,
                     const char **client_id)
{
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; sc->locations && i < sc->locations->nelts; i++) {
        const char *l = APR_ARRAY_IDX(sc->locations, i, const char *), *id = NULL;
        int t = target_in(r, l, &id);
        if (t >= 0 && (best < 0 || strlen(l) > best_len)) {
            best = t;
            best_len = strlen(l);
            *loc = l;
            *client_id = id;
        }
    }
    return best;
}

static int dcr_handler(request_rec *r)
{
    dcr_ap_ctx ctx;
    const char *loc = NULL;
    dcr_policy *policy;
    dcr_error err;
    int target;

    if (!r->handler || strcmp(r->handler, DCR_HANDLER) != 0)
        return DECLINED;
    memset(&ctx, 0, sizeof(ctx));
    ctx.r = r;
    ctx.sc = dcr_ap_sconf(r->server);
    if (!ctx.sc->store) { /* startup refuses this; a handler set by other means gets here */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "DCRStore is not set for this server");
        return dcr_ap_send_error(r, DCR_ERR_SERVER_ERROR, 500, "server misconfiguration", 0);
    }
    dcr_ap_cors_headers(r, ctx.sc);
    if (dcr_ap_require_tls(ctx.sc) && !ap_ssl_conn_is_ssl(r->connection))
        return dcr_ap_send_error(r, DCR_ERR_INVALID_REQUEST, 403, "TLS is required", 0);
    target = target_of(r, ctx.sc, &loc, &ctx.client_id);
    if (target < 0)
        return dcr_ap_send_error(r, DCR_ERR_INVALID_REQUEST, 404, "no such resource", 0);

    if (r->method_number == M_OPTIONS) {
        if (dcr_ap_preflight(r, ctx.sc, allow_of(r->pool, target))) {
            dcr_response res = {.status = 204, .decision = "preflight"};
            return dcr_ap_send(r, &res);
        }
    }
    for (size_t i = 0; i < NROUTES; i++) {
        if (routes[i].on_client != target || routes[i].method != r->method_number)
            continue;
        /* the core's request: the vhost policy, audiences defaulting to the endpoint URL */
        ctx.req.pool = r->pool;
        ctx.req.now = (long long)apr_time_sec(r->request_time);
        ctx.req.endpoint_url = apr_pstrcat(r->pool, base_url(r, ctx.sc), loc, NULL);
        ctx.req.bearer = bearer_of(r);
        ctx.req.client_addr = r->useragent_ip;
        ctx.req.cache = ctx.sc->cache;
        ctx.req.upstream = dcr_ap_upstream(ctx.sc);
        policy = apr_pmemdup(r->pool, &ctx.sc->policy, sizeof(*policy));
        if (!policy->audiences || policy->audiences->nelts == 0) {
            apr_array_header_t *aud = apr_array_make(r->pool, 1, sizeof(const char *));
            APR_ARRAY_PUSH(aud, const char *) = ctx.req.endpoint_url;
            policy->audiences = aud;
        }
        ctx.req.policy = policy;
        ctx.log.fn = log_fn;
        ctx.log.baton = r;
        ctx.req.log = &ctx.log;
        dcr_error_clear(&err);
        ctx.req.store = ctx.sc->store->open(r, ctx.sc->store_cfg, &err);
        if (!ctx.req.store) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "DCRStore %s: %s", ctx.sc->store_arg,
                          err.detail);
            return dcr_ap_send_error(r, DCR_ERR_TEMPORARILY_UNAVAILABLE, 503,
                                     "the registration store is unavailable", policy->retry_after);
        }
        return routes[i].op(&ctx);
    }
    apr_table_setn(r->err_headers_out, "Allow", allow_of(r->pool, target));
    return dcr_ap_send_error(r, DCR_ERR_INVALID_REQUEST, 405, "method not allowed", 0);
}

/* Core answers TRACE in map_to_storage by echoing the request, Bearer token included. For
 * our paths, claim the mapping (nothing to map: the endpoint is no file) so the handler
 * answers 405 instead. */
static int dcr_map_trace(request_rec *r)
{
    const char *loc = NULL, *id = NULL;
    if (r->method_number != M_TRACE || r->main)
        return DECLINED;
    return target_of(r, dcr_ap_sconf(r->server), &loc, &id) >= 0 ? OK : DECLINED;
}

void dcr_ap_register_handler(void)
{
    ap_hook_map_to_storage(dcr_map_trace, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(dcr_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
