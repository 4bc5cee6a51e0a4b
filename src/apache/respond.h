/* Writing a dcr_response (or a glue-level error) back to the client, with the headers every
 * answer carries, CORS, and the notes/env for LogFormat. */
#ifndef DCR_AP_RESPOND_H
#define DCR_AP_RESPOND_H

#include "httpd.h"

#include "config.h"
#include "registrar.h"

/* CORS headers for an allowed Origin (DCRCORSOrigins); Vary: Origin whenever CORS is on. */
void dcr_ap_cors_headers(request_rec *r, const dcr_server_conf *sc);

/* An OPTIONS preflight from an allowed origin asking for one of methods ("POST"): sets the
 * preflight headers and returns 1; 0 when it is not one we answer. */
int dcr_ap_preflight(request_rec *r, const dcr_server_conf *sc, const char *methods);

/* r->notes and r->subprocess_env DCR_CLIENT_ID / DCR_DECISION (NULL: left unset). */
void dcr_ap_notes(request_rec *r, const char *client_id, const char *decision);

/* Sends res: status, JSON body, Cache-Control/Pragma, WWW-Authenticate on 401, Retry-After on
 * 429/503; closes the connection after 413 and 5xx. Returns OK for the handler. */
int dcr_ap_send(request_rec *r, const dcr_response *res);

/* An error the glue decides (405, 413, 415, 403, 503 ...), as {"error","error_description"}. */
int dcr_ap_send_error(request_rec *r, dcr_error_code code, int status, const char *description,
                      long long retry_after);

#endif
