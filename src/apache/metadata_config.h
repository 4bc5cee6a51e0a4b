/* DCRMetadataDocument and what SetHandler dcr-metadata needs from the configuration: where the
 * authorization server's document comes from (a file, or an https URL fetched and refreshed as
 * a trust source), the issuer this server's metadata URL implies, this vhost's registration
 * endpoint, and the auth methods it may register. All settled in check_config, so
 * `apache2 -t` refuses what the start would. */
#ifndef DCR_AP_METADATA_CONFIG_H
#define DCR_AP_METADATA_CONFIG_H

#include "httpd.h"
#include "http_config.h"

#include "as_metadata.h"
#include "conf_tree.h"

struct dcr_trust_source; /* src/trust_source.h */

#define DCR_METADATA_HANDLER "dcr-metadata"

typedef struct dcr_metadata_conf {
    /* DCRMetadataDocument (per server; a vhost's own wins) */
    const char *source; /* the argument, for messages; NULL unset */
    const char *file;   /* file:<path>, server-root relative */
    const char *url;    /* https://... */
    /* settled in check_config for the server that serves dcr-metadata */
    apr_array_header_t *locations; /* paths of its SetHandler dcr-metadata <Location>s */
    dcr_as_metadata_rules rules;
    const char *doc; /* the file's contents, checked */
    apr_size_t doc_len;
    struct dcr_trust_source *remote; /* the URL's */
} dcr_metadata_conf;

dcr_metadata_conf *dcr_ap_metadata_conf_create(apr_pool_t *p);
dcr_metadata_conf *dcr_ap_metadata_conf_merge(apr_pool_t *p, const dcr_metadata_conf *base,
                                              const dcr_metadata_conf *add);

const char *dcr_ap_cmd_metadata_document(cmd_parms *cmd, void *dconf, const char *arg);

/* clang-format off */
#define DCR_METADATA_COMMANDS                                                                      \
    AP_INIT_TAKE1("DCRMetadataDocument", dcr_ap_cmd_metadata_document, NULL, RSRC_CONF,            \
                  "the authorization server's RFC 8414 / OpenID Connect discovery document that "  \
                  "SetHandler " DCR_METADATA_HANDLER " serves: file:<path> or https://..."),
/* clang-format on */

/* check_config, after the trust anchors are applied (the policy is whole): the metadata
 * <Location>s of server v, their issuer, the registration endpoint, the document (a file read
 * and checked now; a URL made a trust source). NULL or why httpd must refuse to start. */
const char *dcr_ap_metadata_check(apr_pool_t *pconf, server_rec *v, const dcr_ap_tree *t);

#endif
