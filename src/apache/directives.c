/* The core directives (names from DESIGN.md's table): parsing and argument checks. Every error
 * names its directive, since httpd prints it with the file and line. */
#include "directives.h"

#include "config.h"
#include "config_iat.h"
#include "config_keycloak.h"
#include "config_spiffe.h"
#include "config_upstream.h"
#include "config_vc.h"
#include "metadata_config.h"
#include "store_dbd.h"
#include "store_sqlite_glue.h"

#include "grants.h"

#include "http_log.h"

#include <apr_strings.h>
#include <apr_uri.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>

APLOG_USE_MODULE(dcr_trusted);

/* DCRStore backends by prefix. */
static const dcr_ap_store_backend *const backends[] = {
    &dcr_ap_store_socache,
    &dcr_ap_store_sqlite,
    &dcr_ap_store_dbd,
    NULL,
};

static dcr_server_conf *conf_of(cmd_parms *cmd)
{
    return dcr_ap_sconf(cmd->server);
}

static const char *set_store(cmd_parms *cmd, void *dc, const char *arg)
{
    dcr_server_conf *sc = conf_of(cmd);
    const char *colon = strchr(arg, ':');
    const char *prefix = colon ? apr_pstrndup(cmd->temp_pool, arg, colon - arg) : arg;
    const char *rest = colon && colon[1] ? colon + 1 : NULL;
    const char *msg;

    if (sc->store)
        return "DCRStore: set twice in the same server";
    for (int i = 0; backends[i]; i++) {
        if (strcasecmp(backends[i]->prefix, prefix) != 0)
            continue;
        msg = backends[i]->configure(cmd, rest, &sc->store_cfg);
        if (msg)
            return apr_psprintf(cmd->pool, "DCRStore %s: %s", arg, msg);
        sc->store = backends[i];
        sc->store_arg = apr_pstrdup(cmd->pool, arg);
        return NULL;
    }
    return apr_psprintf(cmd->pool,
                        "DCRStore: unknown store '%s' (expected socache:<provider>[:<args>], "
                        "sqlite:<file> or dbd)",
                        arg);
}

/* A positive integer within [min, max]. */
static const char *parse_num(cmd_parms *cmd, const char *arg, long long min, long long max,
                             long long *out)
{
    char *end = NULL;
    apr_int64_t v;
    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno || !end || *end || end == arg || v < min || v > max)
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a number between %" APR_INT64_T_FMT
                            " and %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, (apr_int64_t)min, (apr_int64_t)max);
    *out = v;
    return NULL;
}

enum { F_SKEW, F_MAXLIFE, F_REGLIFE, F_BODY, F_MAXREGS, F_MAXSUBJ };

static const char *set_number(cmd_parms *cmd, void *dc, const char *arg)
{
    dcr_server_conf *sc = conf_of(cmd);
    long long v;
    const char *msg;
    switch ((int)(intptr_t)cmd->info) {
    case F_SKEW:
        if ((msg = parse_num(cmd, arg, 0, 3600, &v)))
            return msg;
        sc->policy.clock_skew = v;
        sc->policy_set |= DCR_SET_SKEW;
        break;
    case F_MAXLIFE:
        if ((msg = parse_num(cmd, arg, 1, 31536000, &v)))
            return msg;
        sc->policy.max_statement_lifetime = v;
        sc->policy_set |= DCR_SET_MAX_LIFETIME;
        break;
    case F_REGLIFE:
        if ((msg = parse_num(cmd, arg, 0, 3153600000LL, &v)))
            return msg;
        sc->policy.registration_lifetime = v;
        sc->policy_set |= DCR_SET_REG_LIFETIME;
        break;
    case F_BODY:
        if ((msg = parse_num(cmd, arg, 256, 16 * 1024 * 1024, &v)))
            return msg;
        sc->max_body = (apr_off_t)v;
        break;
    case F_MAXREGS:
        if ((msg = parse_num(cmd, arg, 0, 1000000000000LL, &v)))
            return msg;
        sc->policy.max_registrations = v;
        sc->policy_set |= DCR_SET_MAX_REGS;
        break;
    case F_MAXSUBJ:
        if ((msg = parse_num(cmd, arg, 0, 1000000, &v)))
            return msg;
        sc->policy.max_per_subject = v;
        sc->policy_set |= DCR_SET_MAX_PER_SUBJECT;
        break;
    }
    return NULL;
}

static const char *set_flag(cmd_parms *cmd, void *dc, int on)
{
    dcr_server_conf *sc = conf_of(cmd);
    if (cmd->info == (void *)1) {
        sc->policy.require_statement = on;
        sc->policy_set |= DCR_SET_REQUIRE_STATEMENT;
    } else if (cmd->info == (void *)2) {
        sc->policy.rotate_token_on_update = on;
        sc->policy_set |= DCR_SET_ROTATE;
    } else {
        sc->require_tls = on;
    }
    return NULL;
}

static const char *set_reregister(cmd_parms *cmd, void *dc, const char *arg)
{
    dcr_server_conf *sc = conf_of(cmd);
    if (!strcasecmp(arg, "replace"))
        sc->policy.reregister = DCR_REREGISTER_REPLACE;
    else if (!strcasecmp(arg, "new"))
        sc->policy.reregister = DCR_REREGISTER_NEW;
    else if (!strcasecmp(arg, "reuse"))
        sc->policy.reregister = DCR_REREGISTER_REUSE;
    else
        return apr_psprintf(cmd->pool, "DCRReregister: '%s' is not new, replace or reuse", arg);
    sc->policy_set |= DCR_SET_REREGISTER;
    return NULL;
}

static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || strchr("_-.:/+", *s)))
            return 0;
    return 1;
}

/* http(s)://host[:port] with nothing after the authority. */
static int is_origin(apr_pool_t *p, const char *s)
{
    apr_uri_t u;
    if (apr_uri_parse(p, s, &u) != APR_SUCCESS || !u.scheme || !u.hostname || u.user || u.query ||
        u.fragment || (u.path && *u.path))
        return 0;
    return !strcasecmp(u.scheme, "https") || !strcasecmp(u.scheme, "http");
}

/* Repeatable lists: the first use in a server replaces what it would inherit. */
enum { L_GRANTS, L_RESPONSES, L_SCHEMES, L_AUDIENCES, L_CORS };

static const char *add_list(cmd_parms *cmd, void *dc, const char *arg)
{
    dcr_server_conf *sc = conf_of(cmd);
    int which = (int)(intptr_t)cmd->info;
    static const unsigned flags[] = {DCR_SET_GRANTS, DCR_SET_RESPONSES, DCR_SET_SCHEMES,
                                     DCR_SET_AUDIENCES, 0};
    const apr_array_header_t **slot;

    if (which == L_CORS) {
        if (!is_origin(cmd->temp_pool, arg))
            return apr_psprintf(cmd->pool,
                                "DCRCORSOrigins: '%s' is not an origin (https://host[:port])", arg);
        if (!sc->cors)
            sc->cors = apr_array_make(cmd->pool, 2, sizeof(const char *));
        APR_ARRAY_PUSH(sc->cors, const char *) = apr_pstrdup(cmd->pool, arg);
        return NULL;
    }
    if (which == L_AUDIENCES ? !*arg : !is_token(arg))
        return apr_psprintf(cmd->pool, "%s: bad value '%s'", cmd->cmd->name, arg);
    /* a typo here would make every registration fail, so refuse it now */
    if (which == L_GRANTS && !dcr_grant_type_known(arg))
        return apr_psprintf(cmd->pool,
                            "DCRAllowedGrantTypes: unknown grant type '%s' (authorization_code, "
                            "implicit, password, client_credentials, refresh_token or an "
                            "extension grant URI)",
                            arg);
    if (which == L_RESPONSES && !dcr_response_type_known(arg))
        return apr_psprintf(cmd->pool,
                            "DCRAllowedResponseTypes: unknown response type '%s' (code, token, "
                            "id_token or none)",
                            arg);
    if (which == L_SCHEMES) {
        for (const char *c = arg; *c; c++)
            if (!(isalnum((unsigned char)*c) || strchr("+-.", *c)))
                return apr_psprintf(cmd->pool, "DCRRedirectSchemes: '%s' is not a URI scheme", arg);
        if (!strcasecmp(arg, "http") || !strcasecmp(arg, "https") ||
            !strcasecmp(arg, "javascript") || !strcasecmp(arg, "data"))
            return apr_psprintf(cmd->pool, "DCRRedirectSchemes: '%s' is not a private-use scheme",
                                arg);
    }
    slot = which == L_GRANTS      ? &sc->policy.grant_types
           : which == L_RESPONSES ? &sc->policy.response_types
           : which == L_SCHEMES   ? &sc->policy.redirect_schemes
                                  : &sc->policy.audiences;
    if (!(sc->policy_set & flags[which])) { /* first use here: drop the inherited list */
        *slot = apr_array_make(cmd->pool, 4, sizeof(const char *));
        sc->policy_set |= flags[which];
    }
    APR_ARRAY_PUSH((apr_array_header_t *)*slot, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_public_url(cmd_parms *cmd, void *dc, const char *arg)
{
    dcr_server_conf *sc = conf_of(cmd);
    apr_uri_t u;
    char *url;
    apr_size_t n;
    if (apr_uri_parse(cmd->temp_pool, arg, &u) != APR_SUCCESS || !u.scheme || !u.hostname ||
        (strcasecmp(u.scheme, "https") && strcasecmp(u.scheme, "http")) || u.query || u.fragment ||
        u.user)
        return apr_psprintf(cmd->pool,
                            "DCRPublicURL: '%s' is not an absolute http(s) URL without query "
                            "or fragment",
                            arg);
    url = apr_pstrdup(cmd->pool, arg);
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    sc->public_url = url;
    return NULL;
}

static const char *set_auth_method(cmd_parms *cmd, void *dc, const char *arg)
{
    dcr_server_conf *sc = conf_of(cmd);
    if (!is_token(arg))
        return apr_psprintf(cmd->pool, "DCRSpiffeAuthMethod: bad value '%s'", arg);
    /* draft-kasselman: a SPIFFE client MUST NOT get a secret; it has its SVIDs */
    if (strncmp(arg, "client_secret_", 14) == 0)
        return "DCRSpiffeAuthMethod: SPIFFE clients get no client secret; use spiffe_jwt, "
               "private_key_jwt, none or another method without a secret";
    sc->policy.spiffe_auth_method = apr_pstrdup(cmd->pool, arg);
    sc->policy_set |= DCR_SET_AUTH_METHOD;
    return NULL;
}

/* DCRRefusalLimit <count> <seconds>: refused registrations per client address and window. */
static const char *set_refusal_limit(cmd_parms *cmd, void *dc, const char *count,
                                     const char *seconds)
{
    dcr_server_conf *sc = conf_of(cmd);
    long long n, w;
    const char *msg;
    if ((msg = parse_num(cmd, count, 0, 1000000, &n)) ||
        (msg = parse_num(cmd, seconds, 1, 86400, &w)))
        return msg;
    sc->policy.refusal_limit = n;
    sc->policy.refusal_window = w;
    sc->policy_set |= DCR_SET_REFUSALS;
    return NULL;
}

#define INFO(x) ((void *)(intptr_t)(x))

const command_rec dcr_ap_commands[] = {
    AP_INIT_TAKE1("DCRStore", set_store, NULL, RSRC_CONF,
                  "socache:<provider>[:<args>], sqlite:<file> or dbd"),
    AP_INIT_FLAG("DCRRequireStatement", set_flag, INFO(1), RSRC_CONF,
                 "On: registrations need a trusted software statement (default On)"),
    AP_INIT_FLAG("DCRRequireTLS", set_flag, INFO(0), RSRC_CONF,
                 "On: refuse requests not made over TLS (default On)"),
    AP_INIT_TAKE1("DCRPublicURL", set_public_url, NULL, RSRC_CONF,
                  "base URL for absolute URLs behind a TLS-terminating proxy"),
    AP_INIT_TAKE1("DCRMaxBodySize", set_number, INFO(F_BODY), RSRC_CONF,
                  "largest request body in bytes (65536)"),
    AP_INIT_TAKE1("DCRClockSkew", set_number, INFO(F_SKEW), RSRC_CONF,
                  "tolerated clock skew in seconds (60)"),
    AP_INIT_TAKE1("DCRMaxStatementLifetime", set_number, INFO(F_MAXLIFE), RSRC_CONF,
                  "longest accepted exp - iat of a statement in seconds (3600)"),
    AP_INIT_TAKE1("DCRRegistrationLifetime", set_number, INFO(F_REGLIFE), RSRC_CONF,
                  "seconds a registration lives, 0 = unlimited (0)"),
    AP_INIT_TAKE1("DCRReregister", set_reregister, NULL, RSRC_CONF,
                  "a subject registering again: new, replace or reuse (replace)"),
    AP_INIT_TAKE1("DCRMaxRegistrations", set_number, INFO(F_MAXREGS), RSRC_CONF,
                  "ceiling of live registrations, 0 = none (SQL stores only) (0)"),
    AP_INIT_TAKE1("DCRMaxRegistrationsPerSubject", set_number, INFO(F_MAXSUBJ), RSRC_CONF,
                  "ceiling of live registrations per subject, 0 = none (0)"),
    AP_INIT_TAKE2("DCRRefusalLimit", set_refusal_limit, NULL, RSRC_CONF,
                  "refused registrations per client address and window: <count> <seconds>, "
                  "count 0 = off (0)"),
    AP_INIT_FLAG("DCRRotateTokenOnUpdate", set_flag, INFO(2), RSRC_CONF,
                 "On: an RFC 7592 update issues a new registration access token (Off)"),
    AP_INIT_ITERATE("DCRAllowedGrantTypes", add_list, INFO(L_GRANTS), RSRC_CONF,
                    "grant types clients may register"),
    AP_INIT_ITERATE("DCRAllowedResponseTypes", add_list, INFO(L_RESPONSES), RSRC_CONF,
                    "response types clients may register"),
    AP_INIT_ITERATE("DCRRedirectSchemes", add_list, INFO(L_SCHEMES), RSRC_CONF,
                    "private-use URI schemes allowed in redirect URIs"),
    AP_INIT_ITERATE("DCRAudience", add_list, INFO(L_AUDIENCES), RSRC_CONF,
                    "accepted audiences of software statements (default the endpoint URL)"),
    AP_INIT_ITERATE("DCRCORSOrigins", add_list, INFO(L_CORS), RSRC_CONF,
                    "origins allowed to call the endpoint from a browser"),
    AP_INIT_TAKE1("DCRSpiffeAuthMethod", set_auth_method, NULL, RSRC_CONF,
                  "token_endpoint_auth_method registered for SPIFFE clients (spiffe_jwt)"),
    DCR_IAT_COMMANDS DCR_SPIFFE_COMMANDS DCR_VC_COMMANDS DCR_STORE_SQLITE_COMMANDS
        DCR_STORE_DBD_COMMANDS DCR_UPSTREAM_COMMANDS DCR_KEYCLOAK_COMMANDS DCR_METADATA_COMMANDS{
            NULL},
};
