/* check_config: every check that can fail without the running server, so `apache2 -t` (and
 * Debian's `apache2ctl graceful`, which runs it first) refuses what the start would refuse:
 * the handler's <Location>s, DCRStore present and usable by User, every trust file read and
 * validated, TLS and trust anchors where the endpoint needs them. */
#ifndef DCR_AP_PREFLIGHT_H
#define DCR_AP_PREFLIGHT_H

#include "httpd.h"
#include "http_config.h"

int dcr_ap_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* A warning found while checking, logged by dcr_ap_log_warnings in post_config (the error log
 * is not open in check_config). msg must live in pconf. */
void dcr_ap_warn_later(server_rec *s, const char *msg);

/* post_config: the warnings of this configuration pass, once (not in the pre-detach pass). */
void dcr_ap_log_warnings(void);

/* scheme://host[:port] of server s as clients see it: DCRPublicURL, else ServerName and port
 * over https when s serves TLS. For startup messages; the handler uses the request's scheme. */
const char *dcr_ap_public_base(apr_pool_t *p, const server_rec *s, int tls);

#endif
