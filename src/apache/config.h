/* Per-VirtualHost and per-directory configuration of the module. OWNER: glue helper (extend
 * freely; keep `policy`, `spiffe`, `vc` and dcr_ap_sconf, which the SPIFFE and VC areas use). */
#ifndef DCR_AP_CONFIG_H
#define DCR_AP_CONFIG_H

#include "httpd.h"
#include "http_config.h"

#include "policy.h"
#include "store_backend.h"

extern module AP_MODULE_DECLARE_DATA dcr_trusted_module;

#define DCR_HANDLER "dcr-registration"

/* DCRRegistrationLifetime on socache stores when unset: 29 days */
#define DCR_SOCACHE_DEFAULT_LIFETIME (29LL * 86400)

/* Which policy values a server set itself (the rest is inherited when merging). */
enum {
    DCR_SET_GRANTS = 1 << 0,
    DCR_SET_RESPONSES = 1 << 1,
    DCR_SET_SCHEMES = 1 << 2,
    DCR_SET_REQUIRE_STATEMENT = 1 << 3,
    DCR_SET_SKEW = 1 << 4,
    DCR_SET_MAX_LIFETIME = 1 << 5,
    DCR_SET_AUDIENCES = 1 << 6,
    DCR_SET_AUTH_METHOD = 1 << 7,
    DCR_SET_REG_LIFETIME = 1 << 8,
    DCR_SET_REREGISTER = 1 << 9,
    DCR_SET_MAX_REGS = 1 << 10,
    DCR_SET_MAX_PER_SUBJECT = 1 << 11,
    DCR_SET_ROTATE = 1 << 12,
    DCR_SET_REFUSALS = 1 << 13,
};

typedef struct dcr_server_conf {
    dcr_policy policy;   /* the core's view; spiffe/vc anchors are set in post_config */
    void *spiffe;        /* struct dcr_spiffe_conf, src/apache/config_spiffe.c */
    void *vc;            /* struct dcr_vc_conf, src/apache/config_vc.c */
    void *keycloak;      /* struct dcr_keycloak_conf, src/apache/config_keycloak.c */
    void *upstream;      /* dcr_ap_upstream_conf, src/apache/config_upstream.c */
    unsigned policy_set; /* DCR_SET_* */

    /* DCRStore: backend and its own state; NULL when unset (inherited from the main server) */
    const dcr_ap_store_backend *store;
    void *store_cfg;
    const char *store_arg; /* the directive's argument, for messages */

    int require_tls;          /* DCRRequireTLS: -1 unset (On) */
    const char *public_url;   /* DCRPublicURL without trailing slash, NULL unset */
    apr_off_t max_body;       /* DCRMaxBodySize: -1 unset (65536) */
    apr_array_header_t *cors; /* DCRCORSOrigins, NULL unset (none) */
    const char *iat_file;     /* DCRInitialAccessToken path, NULL unset, "" none; the parsed
                                 set is policy.initial_access_tokens (check_config) */
    struct dcr_cache *cache;  /* DCRCache, set in post_config where DCRRefusalLimit needs it */

    /* set in check_config from the config tree: paths of the <Location> sections (no trailing
     * slash) with SetHandler dcr-registration that this server serves (check_config) */
    apr_array_header_t *locations;
    int tls; /* set in check_config from the tree: the server turns on SSLEngine */
    struct dcr_metadata_conf *metadata; /* DCRMetadataDocument, SetHandler dcr-metadata */
} dcr_server_conf;

dcr_server_conf *dcr_ap_sconf(const server_rec *s);

/* Effective values (defaults applied). */
int dcr_ap_require_tls(const dcr_server_conf *sc);
apr_off_t dcr_ap_max_body(const dcr_server_conf *sc);

/* Config hooks for mod_dcr_trusted.c (directives.h: the command table; startup.h: the
 * post_config checks). */
void *dcr_ap_create_server(apr_pool_t *p, server_rec *s);
void *dcr_ap_merge_server(apr_pool_t *p, void *base, void *add);

#endif
