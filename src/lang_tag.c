#include "lang_tag.h"

#include <string.h>

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool dcr_lang_tag_valid(const char *tag)
{
    size_t n = 0, len;
    const char *p = tag;
    if (!tag || (len = strlen(tag)) == 0 || len > DCR_LANG_TAG_MAX)
        return false;
    /* primary language subtag: letters only */
    while (is_alpha(p[n]))
        n++;
    if (n > 8 || n == 0)
        return false;
    if (n == 1 && lower(p[0]) != 'x' && lower(p[0]) != 'i')
        return false;
    if (n == 1 && p[n] != '-') /* "x" and "i" must be followed by subtags */
        return false;
    p += n;
    while (*p) {
        if (*p != '-')
            return false;
        p++;
        for (n = 0; is_alnum(p[n]); n++)
            ;
        if (n == 0 || n > 8)
            return false;
        p += n;
    }
    return true;
}

const char *dcr_lang_tag_split(const char *name, char *base, size_t basesz)
{
    const char *hash = strchr(name, '#');
    size_t n = hash ? (size_t)(hash - name) : strlen(name);
    if (basesz == 0)
        return hash ? hash + 1 : NULL;
    if (n >= basesz)
        n = 0;
    memcpy(base, name, n);
    base[n] = '\0';
    return hash ? hash + 1 : NULL;
}

bool dcr_lang_tag_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower(*a) != lower(*b))
            return false;
    return *a == *b;
}
