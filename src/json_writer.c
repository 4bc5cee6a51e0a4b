/* dcr_json_dump: compact JSON into pool memory, byte for byte what json_dumps writes with
 * JSON_COMPACT | JSON_ENCODE_ANY (check_json compares them). Ours because jansson's dump checks
 * the UTF-8 of every string again (jansson made sure of it when the string was created) and
 * grows its buffer through a callback per piece: the two dumps of a registration (record and
 * answer) cost a tenth of its CPU, more than all the rest but the signature. */
#include "json.h"

#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct out {
    apr_pool_t *pool;
    char *buf;
    size_t len, cap;
    int failed;
} out;

static void reserve(out *o, size_t n)
{
    size_t cap = o->cap;
    char *b;
    if (o->len + n <= o->cap)
        return;
    while (cap < o->len + n)
        cap *= 2;
    b = apr_palloc(o->pool, cap);
    memcpy(b, o->buf, o->len);
    o->buf = b;
    o->cap = cap;
}

static void put(out *o, const char *s, size_t n)
{
    reserve(o, n);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_char(out *o, char c)
{
    reserve(o, 1);
    o->buf[o->len++] = c;
}

/* jansson's escapes: the two mandatory ones, the short forms of five controls, \uXXXX (upper
 * case) for the other controls; everything else, UTF-8 included, as it is. */
static void put_string(out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;
    put_char(o, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        }
        if (esc)
            put(o, esc, 2);
        else
            put(o, u, sizeof(u));
    }
    put(o, s + run, n - run);
    put_char(o, '"');
}

static void put_value(out *o, const json_t *j)
{
    char num[32];
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        int first = 1;
        put_char(o, '{');
        for (void *it = json_object_iter((json_t *)j); it;
             it = json_object_iter_next((json_t *)j, it)) {
            if (!first)
                put_char(o, ',');
            first = 0;
            put_string(o, json_object_iter_key(it), json_object_iter_key_len(it));
            put_char(o, ':');
            put_value(o, json_object_iter_value(it));
        }
        put_char(o, '}');
        break;
    }
    case JSON_ARRAY:
        put_char(o, '[');
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i)
                put_char(o, ',');
            put_value(o, json_array_get(j, i));
        }
        put_char(o, ']');
        break;
    case JSON_STRING:
        put_string(o, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        put(o, num,
            (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j)));
        break;
    case JSON_REAL: { /* rare here; jansson's own rules for the digits */
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s)
            put(o, s, strlen(s));
        else
            o->failed = 1;
        free(s);
        break;
    }
    case JSON_TRUE:
        put(o, "true", 4);
        break;
    case JSON_FALSE:
        put(o, "false", 5);
        break;
    case JSON_NULL:
        put(o, "null", 4);
        break;
    }
}

char *dcr_json_dump(apr_pool_t *pool, const json_t *j)
{
    out o = {pool, NULL, 0, 1024, 0};
    if (!j)
        return NULL;
    o.buf = apr_palloc(pool, o.cap);
    put_value(&o, j);
    put_char(&o, '\0');
    return o.failed ? NULL : o.buf;
}
