/* The parsed configuration tree, read once per configuration pass in check_config. SetHandler
 * is an expression inside core's per-dir config and SSLEngine lives in mod_ssl's opaque server
 * config, so the tree is the one reliable place to learn both. */
#include "conf_tree.h"

#include "config.h"
#include "metadata_config.h"

#include <apr_hash.h>
#include <apr_strings.h>

typedef struct server_facts {
    apr_array_header_t *locations; /* const char *, NULL: none */
    apr_array_header_t *metadata;  /* the same for SetHandler dcr-metadata */
    int tls;                       /* -1 no SSLEngine, 0 off/optional, 1 on */
    int server_name;
} server_facts;

struct dcr_ap_tree {
    apr_pool_t *p;
    apr_hash_t *servers; /* "main" or "file:line" of a <VirtualHost> -> server_facts */
    const char *error;
};

static server_facts *facts(dcr_ap_tree *t, const ap_directive_t *vh)
{
    const char *key = vh ? apr_psprintf(t->p, "%s:%d", vh->filename, vh->line_num) : "main";
    server_facts *f = apr_hash_get(t->servers, key, APR_HASH_KEY_STRING);
    if (!f) {
        f = apr_pcalloc(t->p, sizeof(*f));
        f->tls = -1;
        apr_hash_set(t->servers, key, APR_HASH_KEY_STRING, f);
    }
    return f;
}

/* A vhost's own facts (NULL when the tree has none for it). */
static const server_facts *facts_of(const dcr_ap_tree *t, const server_rec *s)
{
    if (!s->defn_name)
        return NULL;
    return apr_hash_get(t->servers, apr_psprintf(t->p, "%s:%d", s->defn_name, s->defn_line_number),
                        APR_HASH_KEY_STRING);
}

/* First word of a directive's arguments, unquoted. */
static const char *first_word(apr_pool_t *p, const char *args)
{
    const char *w = args ? ap_getword_conf(p, &args) : NULL;
    return w ? w : "";
}

/* A <Location> argument (the tree keeps its closing '>') as a path prefix: unquoted, no
 * trailing slash ("/" becomes ""). */
static const char *location_path(apr_pool_t *p, const char *args)
{
    char *copy = apr_pstrdup(p, args), *end = strrchr(copy, '>'), *loc;
    const char *rest = copy;
    apr_size_t n;
    if (end)
        *end = '\0';
    loc = ap_getword_conf(p, &rest);
    n = strlen(loc);
    while (n > 0 && loc[n - 1] == '/')
        loc[--n] = '\0';
    return loc;
}

static int is_dir_section(const char *name)
{
    static const char *const sections[] = {
        "<Location", "<LocationMatch", "<Directory", "<DirectoryMatch",
        "<Files",    "<FilesMatch",    NULL};
    for (int i = 0; sections[i]; i++)
        if (!strcasecmp(name, sections[i]))
            return 1;
    return 0;
}

/* The <Location> around a SetHandler dcr-registration gives the endpoint path, the
 * <VirtualHost> around that (or "main", which every vhost inherits) says who serves it. */
static void walk(dcr_ap_tree *t, const ap_directive_t *d, const ap_directive_t *vh,
                 const ap_directive_t *loc)
{
    for (; d && !t->error; d = d->next) {
        const ap_directive_t *in_vh = vh, *in_loc = loc;
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            in_vh = d;
            facts(t, d); /* every vhost has an entry, even an empty one */
        } else if (is_dir_section(d->directive)) {
            in_loc = d;
        } else if (!loc && !strcasecmp(d->directive, "SSLEngine")) {
            facts(t, vh)->tls = !strcasecmp(first_word(t->p, d->args), "on");
        } else if (!loc && !strcasecmp(d->directive, "ServerName")) {
            facts(t, vh)->server_name = 1;
        } else if (!strcasecmp(d->directive, "SetHandler") &&
                   (!strcasecmp(first_word(t->p, d->args), DCR_HANDLER) ||
                    !strcasecmp(first_word(t->p, d->args), DCR_METADATA_HANDLER))) {
            server_facts *f = facts(t, vh);
            const char *args = loc ? loc->args : NULL, *name = first_word(t->p, d->args);
            apr_array_header_t **list =
                !strcasecmp(name, DCR_HANDLER) ? &f->locations : &f->metadata;
            if (!loc || strcasecmp(loc->directive, "<Location") != 0 || !args || *args == '~' ||
                strchr(args, '*') || strchr(args, '?')) {
                t->error = apr_psprintf(t->p,
                                        "SetHandler %s (%s:%d) must be inside a "
                                        "<Location /path> section with a plain path",
                                        name, d->filename, d->line_num);
                return;
            }
            if (!*list)
                *list = apr_array_make(t->p, 2, sizeof(const char *));
            APR_ARRAY_PUSH(*list, const char *) = location_path(t->p, args);
        }
        if (d->first_child)
            walk(t, d->first_child, in_vh, in_loc);
    }
}

const char *dcr_ap_tree_read(apr_pool_t *p, const ap_directive_t *root, dcr_ap_tree **out)
{
    dcr_ap_tree *t = apr_pcalloc(p, sizeof(*t));
    t->p = p;
    t->servers = apr_hash_make(p);
    facts(t, NULL);
    walk(t, root, NULL, NULL);
    *out = t;
    return t->error;
}

static apr_array_header_t *served(const dcr_ap_tree *t, apr_pool_t *pconf, const server_rec *s,
                                  int metadata)
{
    apr_array_header_t *out = apr_array_make(pconf, 2, sizeof(const char *));
    const server_facts *m = apr_hash_get(t->servers, "main", APR_HASH_KEY_STRING);
    const server_facts *own = s->is_virtual ? facts_of(t, s) : NULL;
    apr_array_header_t *mine = m ? (metadata ? m->metadata : m->locations) : NULL;
    apr_array_header_t *its = own ? (metadata ? own->metadata : own->locations) : NULL;
    if (mine)
        apr_array_cat(out, mine);
    if (its)
        apr_array_cat(out, its);
    for (int i = 0; i < out->nelts; i++) /* outlive the walk's pool */
        APR_ARRAY_IDX(out, i, const char *) =
            apr_pstrdup(pconf, APR_ARRAY_IDX(out, i, const char *));
    return out;
}

apr_array_header_t *dcr_ap_tree_locations(const dcr_ap_tree *t, apr_pool_t *pconf,
                                          const server_rec *s)
{
    return served(t, pconf, s, 0);
}

apr_array_header_t *dcr_ap_tree_metadata_locations(const dcr_ap_tree *t, apr_pool_t *pconf,
                                                   const server_rec *s)
{
    return served(t, pconf, s, 1);
}

int dcr_ap_tree_own_handler(const dcr_ap_tree *t, const server_rec *s)
{
    const server_facts *own = s->is_virtual ? facts_of(t, s) : NULL;
    return own && own->locations && own->locations->nelts > 0;
}

int dcr_ap_tree_tls(const dcr_ap_tree *t, const server_rec *s)
{
    const server_facts *m = apr_hash_get(t->servers, "main", APR_HASH_KEY_STRING);
    const server_facts *own = s->is_virtual ? facts_of(t, s) : NULL;
    if (own && own->tls >= 0)
        return own->tls;
    return m && m->tls == 1;
}

int dcr_ap_tree_has_server_name(const dcr_ap_tree *t, const server_rec *s)
{
    const server_facts *f =
        s->is_virtual ? facts_of(t, s) : apr_hash_get(t->servers, "main", APR_HASH_KEY_STRING);
    return f && f->server_name;
}

const char *dcr_ap_server_label(apr_pool_t *p, const server_rec *s)
{
    if (!s->is_virtual)
        return "the main server";
    return apr_psprintf(p, "<VirtualHost> %s:%u (%s:%d)",
                        s->server_hostname ? s->server_hostname : "?", (unsigned)s->port,
                        s->defn_name ? s->defn_name : "?", s->defn_line_number);
}
