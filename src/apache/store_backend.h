/* How a DCRStore backend plugs into the glue. DCRStore's argument selects a backend by the
 * prefix before the first ':' ("socache", "sqlite", "dbd"); config.c keeps the table. */
#ifndef DCR_AP_STORE_BACKEND_H
#define DCR_AP_STORE_BACKEND_H

#include "httpd.h"
#include "http_config.h"

#include "error.h"
#include "store.h"

typedef struct dcr_ap_store_backend {
    const char *prefix;
    /* Directive time: parse what follows "prefix:" (NULL when nothing); *cfg gets the backend's
     * own state. Returns an error message or NULL. */
    const char *(*configure)(cmd_parms *cmd, const char *args, void **cfg);
    /* check_config (so `apache2 -t` too), for every server that has this store: what can be
     * checked without creating anything (paths, permissions for User, needed modules). NULL
     * when fine, else the message. May be NULL. */
    const char *(*check_config)(apr_pool_t *ptemp, server_rec *s, void *cfg);
    /* post_config, once per vhost that has this store: create/attach shared state, schema. */
    const char *(*post_config)(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s, void *cfg);
    /* child_init: re-attach mutexes and shared memory. */
    void (*child_init)(apr_pool_t *pchild, server_rec *s, void *cfg);
    /* Per request: a store handle valid for the request's lifetime (r->pool). NULL with err
     * (temporarily_unavailable) when the store cannot be reached. */
    dcr_store *(*open)(request_rec *r, void *cfg, dcr_error *err);
} dcr_ap_store_backend;

extern const dcr_ap_store_backend dcr_ap_store_socache; /* store_socache.c */
extern const dcr_ap_store_backend dcr_ap_store_sqlite;  /* store_sqlite_glue.c (storage) */
extern const dcr_ap_store_backend dcr_ap_store_dbd;     /* store_dbd.c (storage) */

#endif
