#include "subject_index.h"

#include "json.h"
#include "sha256.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

const char *dcr_index_software(apr_pool_t *p, const dcr_client *c)
{
    const char *sw = dcr_json_string(c->metadata, "software_id");
    unsigned char md[DCR_SHA256_LEN];
    char *hex;
    if (!sw)
        return "-";
    if (!dcr_sha256_1(md, sw, strlen(sw)))
        return NULL;
    hex = apr_palloc(p, 2 * DCR_SHA256_LEN + 1);
    for (int i = 0; i < DCR_SHA256_LEN; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

const char *dcr_index_line_of(apr_pool_t *p, const dcr_client *c)
{
    const char *sw = dcr_index_software(p, c);
    return sw ? apr_psprintf(p, "%s\t%" APR_INT64_T_FMT "\t%" APR_INT64_T_FMT "\t%s", c->client_id,
                             (apr_int64_t)c->issued_at, (apr_int64_t)c->expires_at, sw)
              : c->client_id; /* no hash: an older line, which readers handle */
}

static bool number(const char *s, const char *end, long long *out)
{
    char *stop;
    if (s == end || *s == '-')
        return false;
    *out = strtoll(s, &stop, 10);
    return stop == end;
}

bool dcr_index_line_parse(apr_pool_t *p, const char *line, dcr_index_line *out)
{
    const char *t1 = strchr(line, '\t'), *t2, *t3;
    memset(out, 0, sizeof(*out));
    if (!*line || line[0] == '\t')
        return false;
    if (!t1) { /* an older line: the id alone */
        out->client_id = line;
        return true;
    }
    t2 = strchr(t1 + 1, '\t');
    t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
    if (!t3 || strchr(t3 + 1, '\t') || !t3[1] || !number(t1 + 1, t2, &out->issued_at) ||
        !number(t2 + 1, t3, &out->expires_at))
        return false;
    out->client_id = apr_pstrmemdup(p, line, (apr_size_t)(t1 - line));
    out->software = t3 + 1;
    return true;
}
