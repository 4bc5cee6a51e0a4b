/* What only the parsed configuration tree tells: where SetHandler dcr-registration is served
 * and dcr-metadata (the <Location> paths per server), whether a server turns TLS on, whether it names itself.
 * Read in check_config, so `apache2 -t` sees the same answers as the start. */
#ifndef DCR_AP_CONF_TREE_H
#define DCR_AP_CONF_TREE_H

#include "httpd.h"
#include "http_config.h"

typedef struct dcr_ap_tree dcr_ap_tree;

/* Walks the tree from root. NULL with *out on success, else the error (a SetHandler outside a
 * plain <Location>), naming file and line. */
const char *dcr_ap_tree_read(apr_pool_t *p, const ap_directive_t *root, dcr_ap_tree **out);

/* The endpoint paths server s serves (the main server's and its own), in pconf. */
apr_array_header_t *dcr_ap_tree_locations(const dcr_ap_tree *t, apr_pool_t *pconf,
                                          const server_rec *s);

/* The same for SetHandler dcr-metadata (src/apache/metadata_config.c). */
apr_array_header_t *dcr_ap_tree_metadata_locations(const dcr_ap_tree *t, apr_pool_t *pconf,
                                                   const server_rec *s);

/* Does the <VirtualHost> of s itself hold a SetHandler dcr-registration (not only the main
 * server's <Location>, which every vhost inherits)? */
int dcr_ap_tree_own_handler(const dcr_ap_tree *t, const server_rec *s);

/* Does s serve TLS: "SSLEngine on" in its <VirtualHost>, else in the main server (which
 * mod_ssl lets it inherit)? */
int dcr_ap_tree_tls(const dcr_ap_tree *t, const server_rec *s);

/* Does s have a ServerName of its own (the main server's for the main server)? */
int dcr_ap_tree_has_server_name(const dcr_ap_tree *t, const server_rec *s);

/* "the main server" or "<VirtualHost> name:port (file:line)", for messages. */
const char *dcr_ap_server_label(apr_pool_t *p, const server_rec *s);

#endif
