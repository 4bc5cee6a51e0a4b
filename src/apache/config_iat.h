/* DCRInitialAccessToken file:<path> | none: the directive, and the token file read by the
 * parent (as root) in check_config, so `apache2 -t` refuses a broken file and every (graceful)
 * restart reads it again. The file format and the check are the core's
 * (src/initial_access_token.h); the glue only reads the file and hands the set to the policy. */
#ifndef DCR_AP_CONFIG_IAT_H
#define DCR_AP_CONFIG_IAT_H

#include "httpd.h"
#include "http_config.h"

const char *dcr_ap_cmd_initial_access_token(cmd_parms *cmd, void *dconf, const char *arg);

/* Entry for the module's command table, followed by a comma. */
#define DCR_IAT_COMMANDS                                                                           \
    AP_INIT_TAKE1("DCRInitialAccessToken", dcr_ap_cmd_initial_access_token, NULL, RSRC_CONF,       \
                  "file:<path> of SHA-256 hashes of initial access tokens registrations must "     \
                  "present, or none (none)"),

/* check_config, for server v (main: the main server, checked first): reads and parses v's
 * token file into v's policy (pconf), shared with the main server's set when v inherits the
 * same file. Returns the refusal message naming the directive and file, or NULL. */
const char *dcr_ap_iat_apply(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *main, server_rec *v);

/* "initial access tokens: n (m expired)" for the startup line, or NULL when none required. */
const char *dcr_ap_iat_summary(apr_pool_t *p, const server_rec *v);

#endif
