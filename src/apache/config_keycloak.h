/* DCRUpstreamCredentials and DCRUpstreamSpiffeIdP: what DCRUpstream keycloak needs besides the
 * realm URL. The secret file is read in check_config by the parent as root (bounded, never
 * logged), so `apache2 -t` refuses a missing or empty one; docs/upstream.md. */
#ifndef DCR_AP_CONFIG_KEYCLOAK_H
#define DCR_AP_CONFIG_KEYCLOAK_H

#include "httpd.h"
#include "http_config.h"

#include "policy.h"
#include "upstream.h"

/* The largest secret file accepted (a client secret is far shorter). */
#define DCR_KC_SECRET_MAX 4096

const char *dcr_keycloak_cmd_credentials(cmd_parms *cmd, void *dconf, const char *client_id,
                                         const char *secret);
const char *dcr_keycloak_cmd_idp(cmd_parms *cmd, void *dconf, const char *alias);

/* Entries for the module's command table, each followed by a comma. */
/* clang-format off */
#define DCR_KEYCLOAK_COMMANDS                                                                      \
    AP_INIT_TAKE2("DCRUpstreamCredentials", dcr_keycloak_cmd_credentials, NULL, RSRC_CONF,         \
                  "<client_id> file:<secret-path>: the service account of the Keycloak realm "    \
                  "(manage-clients) for DCRUpstream keycloak"),                                  \
    AP_INIT_TAKE1("DCRUpstreamSpiffeIdP", dcr_keycloak_cmd_idp, NULL, RSRC_CONF,                   \
                  "alias of the realm's SPIFFE identity provider (jwt.credential.issuer of "      \
                  "SPIFFE clients) for DCRUpstream keycloak"),
/* clang-format on */

void *dcr_keycloak_conf_create(apr_pool_t *p);
void *dcr_keycloak_conf_merge(apr_pool_t *p, void *base, void *add);

/* check_config: reads the secret file named by DCRUpstreamCredentials (when set). With
 * upstream_kind "keycloak" (the server's DCRUpstream), one registration per subject becomes
 * the default (DCRMaxRegistrationsPerSubject 1), and where the server serves the handler
 * (serves) what that upstream needs: credentials and an IdP alias set, DCRReregister other
 * than new, no other DCRMaxRegistrationsPerSubject. policy_set: the server's DCR_SET_* bits.
 * NULL, or the message. */
const char *dcr_keycloak_conf_apply(apr_pool_t *pconf, server_rec *s, void *conf,
                                    const char *upstream_kind, int serves, dcr_policy *policy,
                                    unsigned policy_set);

/* Fills up's admin_client_id, admin_secret and spiffe_idp (after apply). */
void dcr_keycloak_conf_fill(const void *conf, dcr_upstream *up);

/* Whether any keycloak directive is set (a warning where no keycloak upstream uses them). */
int dcr_keycloak_conf_set(const void *conf);

#endif
