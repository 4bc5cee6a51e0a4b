/* DCRUpstream, DCRUpstreamToken, DCRUpstreamAuthMethod: where vetted registrations are
 * forwarded (docs/upstream.md). The token file is read in check_config, by root, so
 * `apache2 -t` refuses what a start would. */
#ifndef DCR_AP_CONFIG_UPSTREAM_H
#define DCR_AP_CONFIG_UPSTREAM_H

#include "httpd.h"
#include "http_config.h"

#include "upstream.h"

const char *dcr_ap_cmd_upstream(cmd_parms *cmd, void *dconf, const char *kind, const char *url);
const char *dcr_ap_cmd_upstream_token(cmd_parms *cmd, void *dconf, const char *arg);
const char *dcr_ap_cmd_upstream_auth_method(cmd_parms *cmd, void *dconf, const char *arg);

/* clang-format off */
#define DCR_UPSTREAM_COMMANDS                                                                      \
    AP_INIT_TAKE2("DCRUpstream", dcr_ap_cmd_upstream, NULL, RSRC_CONF,                             \
                  "forward vetted registrations: rfc7591 <registration endpoint URL> or "         \
                  "keycloak <realm URL>"),                                                         \
    AP_INIT_TAKE1("DCRUpstreamToken", dcr_ap_cmd_upstream_token, NULL, RSRC_CONF,                  \
                  "file:<path> with the initial access token of an RFC 7591 upstream"),           \
    AP_INIT_TAKE1("DCRUpstreamAuthMethod", dcr_ap_cmd_upstream_auth_method, NULL, RSRC_CONF,       \
                  "token_endpoint_auth_method registered upstream for SPIFFE clients "            \
                  "(private_key_jwt)"),
/* clang-format on */

/* The directives' values in a server config (created and merged with it). */
typedef struct dcr_ap_upstream_conf {
    const dcr_upstream_ops *ops; /* NULL: no DCRUpstream */
    const char *url;
    const char *token_file;
    const char *auth_method; /* NULL: private_key_jwt */
    dcr_upstream *up;        /* built in check_config */
} dcr_ap_upstream_conf;

void *dcr_ap_upstream_conf_create(apr_pool_t *p);
void *dcr_ap_upstream_conf_merge(apr_pool_t *p, void *base, void *add);

/* check_config for one server: the store must be a SQL store, the token file is read, the
 * dcr_upstream built with the server's DCRFetch* settings (fetch); SPIFFE clients are
 * registered with DCRUpstreamAuthMethod (policy). Error text or NULL. */
struct dcr_server_conf;
const char *dcr_ap_upstream_apply(apr_pool_t *pconf, server_rec *s, struct dcr_server_conf *sc);

/* The server's upstream for requests (NULL: none). */
const dcr_upstream *dcr_ap_upstream(const struct dcr_server_conf *sc);

#endif
