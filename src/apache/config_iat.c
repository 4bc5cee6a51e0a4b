/* DCRInitialAccessToken. Per server (main server or VirtualHost, like every DCR directive): a
 * VirtualHost inherits the main server's file unless it names its own or says none, and every
 * registration endpoint (<Location>) of a server shares its tokens. */
#include "config_iat.h"

#include "conf_file.h"
#include "conf_tree.h"
#include "config.h"
#include "preflight.h"

#include "initial_access_token.h"

#include <apr_file_info.h>
#include <apr_strings.h>

const char *dcr_ap_cmd_initial_access_token(cmd_parms *cmd, void *dconf, const char *arg)
{
    dcr_server_conf *sc = dcr_ap_sconf(cmd->server);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    (void)dconf;
    if (err)
        return err;
    if (sc->iat_file)
        return "DCRInitialAccessToken: set twice in the same server";
    if (strcasecmp(arg, "none") == 0) {
        sc->iat_file = "";
        return NULL;
    }
    if (strncmp(arg, "file:", 5) != 0 || !arg[5])
        return apr_psprintf(cmd->pool,
                            "DCRInitialAccessToken: '%s' is neither file:<path> (a file of "
                            "SHA-256 hashes of the tokens) nor none",
                            arg);
    sc->iat_file = ap_server_root_relative(cmd->pool, arg + 5);
    return sc->iat_file ? NULL : "DCRInitialAccessToken: invalid path";
}

/* Whoever can write the file can let anyone register: said, like a world-writable key file. */
static void warn_if_writable(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *v, const char *path)
{
    apr_finfo_t fi;
    if (apr_stat(&fi, path, APR_FINFO_PROT, ptemp) != APR_SUCCESS ||
        !(fi.protection & (APR_GWRITE | APR_WWRITE)))
        return;
    dcr_ap_warn_later(v, apr_psprintf(pconf,
                                      "DCRInitialAccessToken file:%s is writable by its group "
                                      "or others: whoever can write it can add a token "
                                      "(chmod go-w)",
                                      path));
}

const char *dcr_ap_iat_apply(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *main, server_rec *v)
{
    dcr_server_conf *sc = dcr_ap_sconf(v), *msc = dcr_ap_sconf(main);
    const dcr_iat_set *set = NULL;
    const char *path = sc->iat_file, *msg;
    char *text;
    apr_size_t len;
    long long now;
    int expired;

    sc->policy.initial_access_tokens = NULL;
    if (!path || !*path)
        return NULL;
    if (v != main && path == msc->iat_file) { /* inherited: the main server read it already */
        sc->policy.initial_access_tokens = msc->policy.initial_access_tokens;
        return NULL;
    }
    /* the raw text stays in ptemp; only the parsed hashes are kept */
    if ((msg = dcr_conf_read_file(ptemp, path, &text, &len)) ||
        (msg = dcr_iat_parse(pconf, text, len, &set)))
        return apr_psprintf(pconf, "DCRInitialAccessToken file:%s for %s: %s", path,
                            dcr_ap_server_label(ptemp, v), msg);
    sc->policy.initial_access_tokens = set;
    warn_if_writable(pconf, ptemp, v, path);
    now = (long long)apr_time_sec(apr_time_now());
    if ((expired = dcr_iat_count_expired(set, now)) > 0)
        dcr_ap_warn_later(
            v,
            apr_psprintf(pconf, "DCRInitialAccessToken file:%s: %d of %d token(s) expired%s", path,
                         expired, dcr_iat_count(set),
                         expired == dcr_iat_count(set) ? ": every registration is refused" : ""));
    return NULL;
}

const char *dcr_ap_iat_summary(apr_pool_t *p, const server_rec *v)
{
    const dcr_iat_set *set = dcr_ap_sconf(v)->policy.initial_access_tokens;
    if (!set)
        return NULL;
    return apr_psprintf(p, "initial access tokens: %d (%d expired)", dcr_iat_count(set),
                        dcr_iat_count_expired(set, (long long)apr_time_sec(apr_time_now())));
}
