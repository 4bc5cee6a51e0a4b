/* Per-VirtualHost configuration: creation, the httpd-style merge (a vhost's own value wins, a
 * repeatable list set in a vhost replaces the main server's). Directive parsing is in
 * directives.c; the endpoint <Location> paths are learnt in startup.c. */
#include "config.h"

#include "config_keycloak.h"
#include "config_upstream.h"

#include "config_spiffe.h"
#include "config_vc.h"
#include "metadata_config.h"

#include <apr_strings.h>

dcr_server_conf *dcr_ap_sconf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &dcr_trusted_module);
}

int dcr_ap_require_tls(const dcr_server_conf *sc)
{
    return sc->require_tls != 0; /* unset (-1) means On */
}

apr_off_t dcr_ap_max_body(const dcr_server_conf *sc)
{
    return sc->max_body >= 0 ? sc->max_body : 65536;
}

void *dcr_ap_create_server(apr_pool_t *p, server_rec *s)
{
    dcr_server_conf *sc = apr_pcalloc(p, sizeof(*sc));
    dcr_policy_defaults(p, &sc->policy);
    sc->spiffe = dcr_spiffe_conf_create(p);
    sc->vc = dcr_vc_conf_create(p);
    sc->keycloak = dcr_keycloak_conf_create(p);
    sc->upstream = dcr_ap_upstream_conf_create(p);
    sc->metadata = dcr_ap_metadata_conf_create(p);
    sc->require_tls = -1;
    sc->max_body = -1;
    return sc;
}

void *dcr_ap_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    const dcr_server_conf *base = basev, *add = addv;
    dcr_server_conf *sc = apr_pcalloc(p, sizeof(*sc));
    const dcr_policy *bp = &base->policy, *ap = &add->policy;
    dcr_policy *pol = &sc->policy;
    unsigned set = add->policy_set;

    *pol = *ap; /* fields other areas own keep the vhost's (default or own) value */
#define PICK(flag, field) pol->field = (set & (flag)) ? ap->field : bp->field
    PICK(DCR_SET_GRANTS, grant_types);
    PICK(DCR_SET_RESPONSES, response_types);
    PICK(DCR_SET_SCHEMES, redirect_schemes);
    PICK(DCR_SET_REQUIRE_STATEMENT, require_statement);
    PICK(DCR_SET_SKEW, clock_skew);
    PICK(DCR_SET_MAX_LIFETIME, max_statement_lifetime);
    PICK(DCR_SET_AUDIENCES, audiences);
    PICK(DCR_SET_AUTH_METHOD, spiffe_auth_method);
    PICK(DCR_SET_REG_LIFETIME, registration_lifetime);
    PICK(DCR_SET_REREGISTER, reregister);
    PICK(DCR_SET_MAX_REGS, max_registrations);
    PICK(DCR_SET_MAX_PER_SUBJECT, max_per_subject);
    PICK(DCR_SET_ROTATE, rotate_token_on_update);
    PICK(DCR_SET_REFUSALS, refusal_limit);
    PICK(DCR_SET_REFUSALS, refusal_window);
#undef PICK
    sc->policy_set = base->policy_set | add->policy_set;

    sc->spiffe = dcr_spiffe_conf_merge(p, base->spiffe, add->spiffe);
    sc->vc = dcr_vc_conf_merge(p, base->vc, add->vc);
    sc->keycloak = dcr_keycloak_conf_merge(p, base->keycloak, add->keycloak);
    sc->upstream = dcr_ap_upstream_conf_merge(p, base->upstream, add->upstream);

    if (add->store) {
        sc->store = add->store;
        sc->store_cfg = add->store_cfg;
        sc->store_arg = add->store_arg;
    } else { /* inherited: the vhost shares the main server's store */
        sc->store = base->store;
        sc->store_cfg = base->store_cfg;
        sc->store_arg = base->store_arg;
    }
    sc->require_tls = add->require_tls >= 0 ? add->require_tls : base->require_tls;
    sc->public_url = add->public_url ? add->public_url : base->public_url;
    sc->max_body = add->max_body >= 0 ? add->max_body : base->max_body;
    sc->cors = add->cors ? add->cors : base->cors;
    sc->iat_file = add->iat_file ? add->iat_file : base->iat_file;
    sc->metadata = dcr_ap_metadata_conf_merge(p, base->metadata, add->metadata);
    return sc;
}
