/* SetHandler dcr-metadata: GET and HEAD of the metadata document, public and briefly cacheable;
 * 503 with Retry-After while there is no document to serve (an https source not fetched yet or
 * stale beyond DCRTrustMaxStale). The document itself comes from src/as_metadata.c. */
#include "metadata_handler.h"

#include "config.h"
#include "metadata_config.h"
#include "respond.h"
#include "trust_source.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"

#include <apr_strings.h>

APLOG_USE_MODULE(dcr_trusted);

/* Seconds clients may cache the document: short, so a changed upstream shows soon. */
#define METADATA_MAX_AGE 300

/* Is r->uri one of the server's metadata <Location> paths (a trailing slash allowed)? */
static int is_metadata_uri(const request_rec *r, const dcr_metadata_conf *m)
{
    for (int i = 0; m->locations && i < m->locations->nelts; i++) {
        const char *loc = APR_ARRAY_IDX(m->locations, i, const char *);
        size_t n = strlen(loc);
        if (strncmp(r->uri, loc, n) == 0 && (!r->uri[n] || !strcmp(r->uri + n, "/")))
            return 1;
    }
    return 0;
}

/* 503 with Retry-After; the error log gets why (one line, as for the registration handler). */
static int unavailable(request_rec *r, const dcr_server_conf *sc, const char *why)
{
    dcr_response res;
    dcr_error err;
    memset(&res, 0, sizeof(res));
    dcr_fail_status(&err, DCR_ERR_TEMPORARILY_UNAVAILABLE, 503,
                    "the authorization server metadata is unavailable",
                    "metadata document unavailable: %s", why);
    dcr_response_error(r->pool, &err, &res);
    res.retry_after = sc->policy.retry_after;
    return dcr_ap_send(r, &res);
}

static int metadata_handler(request_rec *r)
{
    const dcr_server_conf *sc;
    const dcr_metadata_conf *m;
    const char *doc, *out, *why = NULL;
    size_t len = 0, out_len = 0;

    if (!r->handler || strcmp(r->handler, DCR_METADATA_HANDLER) != 0)
        return DECLINED;
    sc = dcr_ap_sconf(r->server);
    m = sc->metadata;
    dcr_ap_cors_headers(r, sc);
    if (!m->rules.issuer) { /* startup refuses this; a handler set by other means gets here */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "SetHandler " DCR_METADATA_HANDLER " outside a <Location> checked at "
                      "startup");
        return dcr_ap_send_error(r, DCR_ERR_SERVER_ERROR, 500, "server misconfiguration", 0);
    }
    if (dcr_ap_require_tls(sc) && !ap_ssl_conn_is_ssl(r->connection))
        return dcr_ap_send_error(r, DCR_ERR_INVALID_REQUEST, 403, "TLS is required", 0);
    if (!is_metadata_uri(r, m))
        return dcr_ap_send_error(r, DCR_ERR_INVALID_REQUEST, 404, "no such resource", 0);
    if (r->method_number == M_OPTIONS && dcr_ap_preflight(r, sc, "GET")) {
        dcr_response res = {.status = 204, .decision = "preflight"};
        /* MCP clients send MCP-Protocol-Version with discovery requests */
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers",
                       "MCP-Protocol-Version, Accept");
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods", "GET, HEAD");
        return dcr_ap_send(r, &res);
    }
    if (r->method_number != M_GET) { /* HEAD is M_GET with header_only */
        apr_table_setn(r->err_headers_out, "Allow", "GET, HEAD");
        return dcr_ap_send_error(r, DCR_ERR_INVALID_REQUEST, 405, "method not allowed", 0);
    }

    if (m->remote) {
        doc = dcr_trust_source_doc(m->remote, r->pool, (long long)apr_time_sec(r->request_time),
                                   &len, &why);
    } else {
        doc = m->doc;
        len = m->doc_len;
    }
    if (!doc)
        return unavailable(r, sc, why);
    /* the issuer is checked again: several vhosts may share one fetched document */
    if (!(out = dcr_as_metadata_render(r->pool, doc, len, &m->rules, &out_len, &why)))
        return unavailable(r, sc, why);

    dcr_ap_notes(r, NULL, "metadata");
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control",
                   apr_psprintf(r->pool, "public, max-age=%d", METADATA_MAX_AGE));
    ap_set_content_length(r, (apr_off_t)out_len);
    if (!r->header_only)
        ap_rwrite(out, (int)out_len, r);
    return OK;
}

/* Core answers TRACE in map_to_storage by echoing the request: claim the mapping of the
 * metadata paths (no file behind them) so the handler answers 405 like for other methods. */
static int metadata_map_trace(request_rec *r)
{
    const dcr_metadata_conf *m = dcr_ap_sconf(r->server)->metadata;
    if (r->method_number != M_TRACE || r->main || !m)
        return DECLINED;
    return is_metadata_uri(r, m) ? OK : DECLINED;
}

void dcr_ap_register_metadata_handler(void)
{
    ap_hook_map_to_storage(metadata_map_trace, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(metadata_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
