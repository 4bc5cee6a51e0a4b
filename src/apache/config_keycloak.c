/* The Keycloak directives (DCRUpstreamCredentials, DCRUpstreamSpiffeIdP). Values are checked
 * when read; the secret file in check_config, so every (graceful) restart reads it again. */
#include "config_keycloak.h"

#include "conf_file.h"
#include "config.h"

#include "http_log.h"

#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(dcr_trusted);

typedef struct dcr_keycloak_conf {
    const char *client_id;   /* NULL: unset (inherited) */
    const char *secret_file; /* absolute path */
    const char *secret;      /* read in check_config */
    const char *idp;         /* NULL: unset (inherited) */
} dcr_keycloak_conf;

static dcr_keycloak_conf *my_conf(cmd_parms *cmd)
{
    return dcr_ap_sconf(cmd->server)->keycloak;
}

void *dcr_keycloak_conf_create(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(dcr_keycloak_conf));
}

void *dcr_keycloak_conf_merge(apr_pool_t *p, void *basev, void *addv)
{
    const dcr_keycloak_conf *base = basev, *add = addv;
    dcr_keycloak_conf *c = apr_pcalloc(p, sizeof(*c));
    if (add->client_id) {
        c->client_id = add->client_id;
        c->secret_file = add->secret_file;
    } else {
        c->client_id = base->client_id;
        c->secret_file = base->secret_file;
    }
    c->idp = add->idp ? add->idp : base->idp;
    return c;
}

/* Printable ASCII without spaces: what a client_id and an alias are, and what goes into a
 * form body or an attribute unchanged. */
static int plain(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++)
        if (*s <= 0x20 || *s > 0x7e)
            return 0;
    return 1;
}

const char *dcr_keycloak_cmd_credentials(cmd_parms *cmd, void *dconf, const char *client_id,
                                         const char *secret)
{
    dcr_keycloak_conf *c = my_conf(cmd);
    (void)dconf;
    if (c->client_id)
        return "DCRUpstreamCredentials: set twice in the same server";
    if (!plain(client_id, 255))
        return "DCRUpstreamCredentials: the client_id must be 1 to 255 printable characters "
               "without spaces";
    if (strncmp(secret, "file:", 5) != 0 || !secret[5])
        return "DCRUpstreamCredentials: the secret must be given as file:<path> (a secret on "
               "the command line would show in the configuration)";
    c->secret_file = ap_server_root_relative(cmd->pool, secret + 5);
    if (!c->secret_file)
        return apr_psprintf(cmd->pool, "DCRUpstreamCredentials: bad path %s", secret + 5);
    c->client_id = apr_pstrdup(cmd->pool, client_id);
    return NULL;
}

const char *dcr_keycloak_cmd_idp(cmd_parms *cmd, void *dconf, const char *alias)
{
    dcr_keycloak_conf *c = my_conf(cmd);
    (void)dconf;
    if (c->idp)
        return "DCRUpstreamSpiffeIdP: set twice in the same server";
    if (!plain(alias, 255))
        return "DCRUpstreamSpiffeIdP: the alias must be 1 to 255 printable characters without "
               "spaces";
    c->idp = apr_pstrdup(cmd->pool, alias);
    return NULL;
}

/* The secret: the file's first line, trailing white space dropped; never echoed. */
static const char *read_secret(apr_pool_t *pconf, dcr_keycloak_conf *c)
{
    char *buf;
    apr_size_t len;
    apr_finfo_t fi;
    const char *why;
    if (apr_stat(&fi, c->secret_file, APR_FINFO_SIZE, pconf) == APR_SUCCESS &&
        fi.size > DCR_KC_SECRET_MAX)
        return apr_psprintf(pconf, "DCRUpstreamCredentials: %s is larger than %d bytes",
                            c->secret_file, DCR_KC_SECRET_MAX);
    if ((why = dcr_conf_read_file(pconf, c->secret_file, &buf, &len)))
        return apr_psprintf(pconf, "DCRUpstreamCredentials: cannot read %s: %s", c->secret_file,
                            why);
    if (len > DCR_KC_SECRET_MAX)
        return apr_psprintf(pconf, "DCRUpstreamCredentials: %s is larger than %d bytes",
                            c->secret_file, DCR_KC_SECRET_MAX);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                   buf[len - 1] == '\t'))
        buf[--len] = '\0';
    if (len == 0)
        return apr_psprintf(pconf, "DCRUpstreamCredentials: %s is empty", c->secret_file);
    if (strlen(buf) != len || !plain(buf, DCR_KC_SECRET_MAX))
        return apr_psprintf(pconf,
                            "DCRUpstreamCredentials: %s must hold the secret alone on one line "
                            "(printable characters, no spaces)",
                            c->secret_file);
    c->secret = buf;
    return NULL;
}

const char *dcr_keycloak_conf_apply(apr_pool_t *pconf, server_rec *s, void *conf,
                                    const char *upstream_kind, int serves, dcr_policy *policy,
                                    unsigned policy_set)
{
    dcr_keycloak_conf *c = conf;
    const char *msg;
    (void)s;
    c->secret = NULL;
    if (c->client_id && (msg = read_secret(pconf, c)))
        return msg;
    if (!upstream_kind || strcmp(upstream_kind, "keycloak") != 0)
        return NULL;
    if (!(policy_set & DCR_SET_MAX_PER_SUBJECT))
        policy->max_per_subject = 1; /* one upstream client per SPIFFE ID */
    if (!serves) /* a server without the handler (the main one, say) forwards nothing */
        return NULL;
    if (!c->client_id)
        return "DCRUpstream keycloak needs DCRUpstreamCredentials <client_id> "
               "file:<secret-path> (a service account of the realm with manage-clients)";
    if (!c->idp)
        return "DCRUpstream keycloak needs DCRUpstreamSpiffeIdP <alias> (the realm's SPIFFE "
               "identity provider)";
    /* Keycloak refuses token requests when two clients carry the same SPIFFE ID */
    if (policy->reregister == DCR_REREGISTER_NEW)
        return "DCRReregister new cannot be used with DCRUpstream keycloak: Keycloak needs "
               "exactly one client per SPIFFE ID (use replace or reuse)";
    if ((policy_set & DCR_SET_MAX_PER_SUBJECT) && policy->max_per_subject != 1)
        return "DCRMaxRegistrationsPerSubject must be 1 with DCRUpstream keycloak: Keycloak "
               "needs exactly one client per SPIFFE ID";
    return NULL;
}

void dcr_keycloak_conf_fill(const void *conf, dcr_upstream *up)
{
    const dcr_keycloak_conf *c = conf;
    up->admin_client_id = c->client_id;
    up->admin_secret = c->secret;
    up->spiffe_idp = c->idp;
}

int dcr_keycloak_conf_set(const void *conf)
{
    const dcr_keycloak_conf *c = conf;
    return c && (c->client_id || c->idp);
}
