#include "config_upstream.h"

#include "conf_file.h"
#include "config.h"
#include "config_keycloak.h"
#include "config_vc.h"
#include "keycloak_client.h"
#include "preflight.h"
#include "store_socache.h"

#include <apr_strings.h>
#include <apr_uri.h>
#include <string.h>

void *dcr_ap_upstream_conf_create(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(dcr_ap_upstream_conf));
}

void *dcr_ap_upstream_conf_merge(apr_pool_t *p, void *base, void *add)
{
    dcr_ap_upstream_conf *b = base, *a = add, *m = apr_pcalloc(p, sizeof(*m));
    /* the upstream and its token go together: a vhost naming its own upstream never sends the
     * main server's token to it */
    const dcr_ap_upstream_conf *src = a->ops ? a : b;
    m->ops = src->ops;
    m->url = src->url;
    m->token_file = a->token_file ? a->token_file : (a->ops ? NULL : b->token_file);
    m->auth_method = a->auth_method ? a->auth_method : b->auth_method;
    return m;
}

static dcr_ap_upstream_conf *uconf(cmd_parms *cmd)
{
    return dcr_ap_sconf(cmd->server)->upstream;
}

const char *dcr_ap_cmd_upstream(cmd_parms *cmd, void *dconf, const char *kind, const char *url)
{
    dcr_ap_upstream_conf *u = uconf(cmd);
    apr_uri_t parsed;
    (void)dconf;
    if (u->ops)
        return "DCRUpstream: set twice in the same server";
    if (!(u->ops = dcr_upstream_kind(kind)))
        return apr_psprintf(cmd->pool, "DCRUpstream: unknown kind '%s' (expected rfc7591%s)", kind,
                            dcr_upstream_kind("keycloak") ? " or keycloak" : "");
    if (!dcr_fetch_origin(cmd->temp_pool, url) ||
        apr_uri_parse(cmd->temp_pool, url, &parsed) != APR_SUCCESS || parsed.query ||
        parsed.fragment)
        return apr_psprintf(cmd->pool,
                            "DCRUpstream %s: '%s' is not an https URL without userinfo, query "
                            "or fragment",
                            kind, url);
    u->url = apr_pstrdup(cmd->pool, url);
    while (strlen(u->url) > 8 && u->url[strlen(u->url) - 1] == '/')
        ((char *)u->url)[strlen(u->url) - 1] = '\0';
    return NULL;
}

const char *dcr_ap_cmd_upstream_token(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    if (strncmp(arg, "file:", 5) != 0 || !arg[5])
        return "DCRUpstreamToken: expected file:<path> (the token is never written into the "
               "configuration itself)";
    uconf(cmd)->token_file = ap_server_root_relative(cmd->pool, arg + 5);
    return NULL;
}

const char *dcr_ap_cmd_upstream_auth_method(cmd_parms *cmd, void *dconf, const char *arg)
{
    static const char *const ok[] = {"private_key_jwt", "tls_client_auth",
                                     "self_signed_tls_client_auth", "spiffe_jwt", NULL};
    (void)dconf;
    for (const char *const *m = ok; *m; m++)
        if (strcmp(arg, *m) == 0) {
            uconf(cmd)->auth_method = *m;
            return NULL;
        }
    return apr_psprintf(cmd->pool,
                        "DCRUpstreamAuthMethod: '%s' is not one of private_key_jwt, "
                        "tls_client_auth, self_signed_tls_client_auth, spiffe_jwt (a SPIFFE "
                        "client never gets a secret, upstream included)",
                        arg);
}

/* The token file: one line of visible ASCII, trailing white space ignored. The token is a
 * secret: messages name the file, never its contents. */
static const char *read_token(apr_pool_t *pconf, const char *file, const char **token)
{
    char *buf;
    apr_size_t len;
    const char *why = dcr_conf_read_file(pconf, file, &buf, &len);
    if (why)
        return apr_psprintf(pconf, "DCRUpstreamToken file %s: %s", file, why);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        buf[--len] = '\0';
    if (len == 0 || len > 4096)
        return apr_psprintf(pconf, "DCRUpstreamToken file %s: %s", file,
                            len ? "longer than 4096 bytes" : "empty");
    for (apr_size_t i = 0; i < len; i++)
        if (buf[i] < 0x21 || buf[i] > 0x7e)
            return apr_psprintf(pconf,
                                "DCRUpstreamToken file %s: the token must be one line of "
                                "visible ASCII characters",
                                file);
    *token = buf;
    return NULL;
}

const char *dcr_ap_upstream_apply(apr_pool_t *pconf, server_rec *s, dcr_server_conf *sc)
{
    dcr_ap_upstream_conf *u = sc->upstream;
    const dcr_fetch_conf *fetch;
    const char *msg = NULL;
    dcr_upstream *up;

    u->up = NULL;
    /* DCRUpstreamCredentials' secret file is read (and checked) wherever it is set */
    if ((msg = dcr_keycloak_conf_apply(pconf, s, sc->keycloak, u->ops ? u->ops->kind : NULL,
                                       sc->locations && sc->locations->nelts > 0, &sc->policy,
                                       sc->policy_set)))
        return msg;
    if (u->ops != &dcr_upstream_keycloak_ops && dcr_keycloak_conf_set(sc->keycloak) &&
        sc->locations && sc->locations->nelts > 0)
        dcr_ap_warn_later(s, "DCRUpstreamCredentials / DCRUpstreamSpiffeIdP are set but this "
                             "server's DCRUpstream is not keycloak: they are not used");
    if (!u->ops) {
        if (u->token_file)
            dcr_ap_warn_later(s, "DCRUpstreamToken without DCRUpstream: the token is not used");
        return NULL;
    }
    if (u->ops == &dcr_upstream_keycloak_ops) {
        if (!dcr_keycloak_admin_base(pconf, u->url))
            return apr_psprintf(pconf,
                                "DCRUpstream keycloak: '%s' is not a realm URL "
                                "(https://<host>[/<path>]/realms/<realm>)",
                                u->url);
        if (u->token_file || u->auth_method)
            return "DCRUpstreamToken and DCRUpstreamAuthMethod do not apply to DCRUpstream "
                   "keycloak: it authenticates with DCRUpstreamCredentials, and SPIFFE clients "
                   "authenticate to Keycloak with their JWT-SVID (federated-jwt)";
    }
    if (sc->store == &dcr_ap_store_socache && sc->locations && sc->locations->nelts > 0)
        return apr_psprintf(pconf,
                            "DCRUpstream needs a SQL store (DCRStore sqlite:<file> or dbd), not "
                            "%s: a socache store cannot sweep and loses every registration at "
                            "a graceful restart, which would leave clients at the upstream "
                            "that nobody can delete",
                            sc->store_arg);
    if (!(fetch = dcr_vc_conf_fetch(pconf, sc->vc, &msg)))
        return msg;
    up = apr_pcalloc(pconf, sizeof(*up));
    up->ops = u->ops;
    up->url = u->url;
    up->origin = dcr_fetch_origin(pconf, u->url);
    up->auth_method = u->auth_method ? u->auth_method : "private_key_jwt";
    if (u->ops == &dcr_upstream_keycloak_ops) {
        /* SPIFFE clients keep DCRSpiffeAuthMethod: Keycloak verifies their JWT-SVIDs */
        up->auth_method = sc->policy.spiffe_auth_method;
        dcr_keycloak_conf_fill(sc->keycloak, up);
    }
    up->fetch = *fetch;
    up->fetch.source_origin = up->origin; /* the upstream's host counts as DCRFetchAllow-listed */
    up->fetch.max_redirects = 0;
    if (u->token_file && (msg = read_token(pconf, u->token_file, &up->token)))
        return msg;
    /* SPIFFE clients are registered (here and upstream) with what the upstream can verify */
    sc->policy.spiffe_auth_method = up->auth_method;
    u->up = up;
    return NULL;
}

const dcr_upstream *dcr_ap_upstream(const dcr_server_conf *sc)
{
    const dcr_ap_upstream_conf *u = sc->upstream;
    return u ? u->up : NULL;
}
