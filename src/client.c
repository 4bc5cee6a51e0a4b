#include "client.h"
#include "sha256.h"

#include "json.h"

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#define ID_BYTES 24                               /* 192 bits -> 32 base64url characters */
#define TOKEN_BYTES 32                            /* 256 bits -> 43 base64url characters */
#define RECORD_MAX_DEPTH (DCR_JSON_MAX_DEPTH + 4) /* metadata sits below the record's root */

/* base64url without padding (RFC 4648 section 5). Its alphabet has no ':' or '/', so an id can
 * never look like an https:// URL (which would collide with Client ID Metadata Documents). */
static char *random_b64url(apr_pool_t *pool, size_t nbytes)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[64];
    char *out, *o;
    size_t i;
    if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
        return NULL;
    out = o = apr_palloc(pool, (nbytes * 4 + 2) / 3 + 1);
    for (i = 0; i + 2 < nbytes; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
        *o++ = alphabet[v & 63];
    }
    if (nbytes - i == 1) {
        unsigned v = (unsigned)raw[i] << 16;
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
    } else if (nbytes - i == 2) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8;
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
    }
    *o = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return out;
}

char *dcr_client_new_id(apr_pool_t *pool)
{
    return random_b64url(pool, ID_BYTES);
}

char *dcr_client_new_token(apr_pool_t *pool)
{
    return random_b64url(pool, TOKEN_BYTES);
}

void dcr_token_hash(const char *token, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[DCR_SHA256_LEN];
    unsigned int len = DCR_SHA256_LEN;
    out[0] = '\0';
    if (!token || !dcr_sha256_1(md, token, strlen(token)) || len * 2 != DCR_TOKEN_HASH_HEX)
        return;
    for (unsigned int i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[DCR_TOKEN_HASH_HEX] = '\0';
}

static bool hash_matches(const char *stored, const char *token)
{
    char presented[DCR_TOKEN_HASH_HEX + 1];
    if (!token || !*token || strlen(stored) != DCR_TOKEN_HASH_HEX)
        return false;
    dcr_token_hash(token, presented);
    if (strlen(presented) != DCR_TOKEN_HASH_HEX)
        return false;
    /* Compares hashes, so timing says nothing about the token; constant time anyway. */
    return CRYPTO_memcmp(presented, stored, DCR_TOKEN_HASH_HEX) == 0;
}

bool dcr_client_token_matches(const dcr_client *c, const char *token)
{
    return c && hash_matches(c->rat_hash, token);
}

bool dcr_client_secret_matches(const dcr_client *c, const char *secret)
{
    return c && hash_matches(c->secret_hash, secret);
}

bool dcr_client_may_rewrite(const dcr_client *existing, const dcr_client *incoming)
{
    return existing->endpoint && incoming->endpoint &&
           strcmp(existing->endpoint, incoming->endpoint) == 0 && existing->statement_hash[0] &&
           incoming->statement_hash[0] &&
           strcmp(existing->statement_hash, incoming->statement_hash) != 0 &&
           incoming->statement_iat > existing->statement_iat;
}

/* Escapes ' ' and '%' so "vc <issuer> <subject>" splits one way only. */
static const char *key_part(apr_pool_t *pool, const char *s)
{
    size_t extra = 0;
    char *out, *o;
    for (const char *p = s; *p; p++)
        extra += (*p == ' ' || *p == '%') ? 2 : 0;
    if (!extra)
        return s;
    out = o = apr_palloc(pool, strlen(s) + extra + 1);
    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '%') {
            memcpy(o, *p == ' ' ? "%20" : "%25", 3);
            o += 3;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

const char *dcr_client_subject_key(apr_pool_t *pool, const dcr_client *c)
{
    if (!c->subject || !*c->subject || !c->subject_kind)
        return NULL;
    if (strcmp(c->subject_kind, "spiffe") == 0)
        return apr_pstrcat(pool, "spiffe ", key_part(pool, c->subject), NULL);
    if (strcmp(c->subject_kind, "vc") == 0 && c->issuer)
        return apr_pstrcat(pool, "vc ", key_part(pool, c->issuer), " ", key_part(pool, c->subject),
                           NULL);
    return NULL;
}

/* ---- the stored record (docs/record.md) ------------------------------------------------ */

static void set_opt_string(json_t *o, const char *key, const char *v)
{
    if (v)
        json_object_set_new(o, key, json_string(v));
}

char *dcr_client_to_record(apr_pool_t *pool, const dcr_client *c)
{
    json_t *r;
    char *text;
    if (!c->client_id)
        return NULL;
    r = json_pack("{s:i, s:s, s:I, s:I, s:s, s:O}", "version", DCR_RECORD_VERSION, "client_id",
                  c->client_id, "client_id_issued_at", (json_int_t)c->issued_at, "expires_at",
                  (json_int_t)c->expires_at, "registration_access_token_sha256", c->rat_hash,
                  "metadata", c->metadata ? c->metadata : json_object());
    if (!r)
        return NULL;
    set_opt_string(r, "subject_kind", c->subject_kind);
    set_opt_string(r, "subject", c->subject);
    set_opt_string(r, "issuer", c->issuer);
    if (c->statement)
        json_object_set(r, "statement", c->statement);
    if (c->secret_hash[0])
        json_object_set_new(r, "client_secret_sha256", json_string(c->secret_hash));
    set_opt_string(r, "endpoint", c->endpoint);
    if (c->statement_hash[0]) {
        json_object_set_new(r, "statement_sha256", json_string(c->statement_hash));
        json_object_set_new(r, "statement_iat", json_integer((json_int_t)c->statement_iat));
    }
    if (c->upstream) /* its public part only: the upstream's secrets stay beside the record */
        json_object_set(r, "upstream", c->upstream);
    text = dcr_json_dump(pool, r);
    json_decref(r);
    return text;
}

static bool corrupt(dcr_error *err, const char *what)
{
    return dcr_fail(err, DCR_ERR_SERVER_ERROR, "stored client record is unreadable",
                    "client record: %s", what);
}

static bool hex_hash_ok(const char *s)
{
    if (!s || strlen(s) != DCR_TOKEN_HASH_HEX)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

/* Optional string member: absent is fine, present must be a string. */
static bool opt_string(const json_t *r, const char *key, const char **out)
{
    const json_t *v = json_object_get(r, key);
    *out = NULL;
    if (!v)
        return true;
    if (!json_is_string(v))
        return false;
    *out = json_string_value(v);
    return true;
}

/* What version 2 added: the endpoint binding and the statement that last wrote the client. */
static bool version2(const json_t *r, dcr_client *c, dcr_error *err)
{
    const json_t *iat = json_object_get(r, "statement_iat");
    const char *hash;
    if (!opt_string(r, "endpoint", &c->endpoint) || (c->endpoint && !*c->endpoint))
        return corrupt(err, "endpoint not a non-empty string");
    if (!opt_string(r, "statement_sha256", &hash) || (hash && !hex_hash_ok(hash)))
        return corrupt(err, "statement_sha256 not hex SHA-256");
    if (!hash != !iat || (iat && (!json_is_integer(iat) || json_integer_value(iat) < 0)))
        return corrupt(err, "statement_sha256 and statement_iat (an integer) go together");
    if (hash) {
        memcpy(c->statement_hash, hash, DCR_TOKEN_HASH_HEX + 1);
        c->statement_iat = json_integer_value(iat);
    }
    /* an optional member of version 2 (docs/record.md): the upstream's client */
    c->upstream = json_object_get(r, "upstream");
    if (c->upstream &&
        (!json_is_object(c->upstream) || !json_is_string(json_object_get(c->upstream, "kind")) ||
         !json_is_string(json_object_get(c->upstream, "client_id"))))
        return corrupt(err, "upstream not an object with a kind and a client_id");
    return true;
}

dcr_client *dcr_client_from_record(apr_pool_t *pool, const char *record, size_t len, dcr_error *err)
{
    const char *why = NULL, *hash;
    json_t *r, *v;
    dcr_client *c;
    if (!record)
        return corrupt(err, "no record"), NULL;
    if (!(r = dcr_json_parse(pool, record, len, RECORD_MAX_DEPTH, &why)))
        return corrupt(err, why), NULL;
    if (!json_is_object(r))
        return corrupt(err, "not an object"), NULL;
    v = json_object_get(r, "version");
    if (!json_is_integer(v))
        return corrupt(err, "no integer version"), NULL;
    if (json_integer_value(v) != 1 && json_integer_value(v) != DCR_RECORD_VERSION)
        return dcr_fail(err, DCR_ERR_SERVER_ERROR, "stored client record is unreadable",
                        "client record: unsupported version %lld",
                        (long long)json_integer_value(v)),
               NULL;
    c = apr_pcalloc(pool, sizeof(*c));
    c->client_id = dcr_json_string(r, "client_id");
    if (!c->client_id || !*c->client_id)
        return corrupt(err, "client_id missing or not a string"), NULL;
    v = json_object_get(r, "client_id_issued_at");
    if (!json_is_integer(v))
        return corrupt(err, "client_id_issued_at missing or not an integer"), NULL;
    c->issued_at = json_integer_value(v);
    v = json_object_get(r, "expires_at");
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return corrupt(err, "expires_at missing or not a non-negative integer"), NULL;
    c->expires_at = json_integer_value(v);
    /* "" is a client no token can manage (none issued); anything else must be a hash */
    hash = dcr_json_string(r, "registration_access_token_sha256");
    if (!hash || (*hash && !hex_hash_ok(hash)))
        return corrupt(err, "registration_access_token_sha256 missing or not hex SHA-256"), NULL;
    memcpy(c->rat_hash, hash, strlen(hash) + 1);
    if (!opt_string(r, "client_secret_sha256", &hash) || (hash && !hex_hash_ok(hash)))
        return corrupt(err, "client_secret_sha256 not hex SHA-256"), NULL;
    if (hash)
        memcpy(c->secret_hash, hash, DCR_TOKEN_HASH_HEX + 1);
    c->metadata = json_object_get(r, "metadata"); /* borrowed: r is owned by pool */
    if (!json_is_object(c->metadata))
        return corrupt(err, "metadata missing or not an object"), NULL;
    c->statement = json_object_get(r, "statement");
    if (c->statement && !json_is_object(c->statement))
        return corrupt(err, "statement not an object"), NULL;
    if (!opt_string(r, "subject_kind", &c->subject_kind) ||
        !opt_string(r, "subject", &c->subject) || !opt_string(r, "issuer", &c->issuer))
        return corrupt(err, "subject_kind, subject or issuer not a string"), NULL;
    if (c->subject_kind && strcmp(c->subject_kind, "spiffe") != 0 &&
        strcmp(c->subject_kind, "vc") != 0)
        return corrupt(err, "unknown subject_kind"), NULL;
    if (json_integer_value(json_object_get(r, "version")) > 1 && !version2(r, c, err))
        return NULL;
    return c;
}

/* ---- the RFC 7591 / 7592 response ------------------------------------------------------ */

const char *dcr_client_public_id(const dcr_client *c)
{
    const char *up =
        c->upstream ? json_string_value(json_object_get(c->upstream, "client_id")) : NULL;
    return up ? up : c->client_id;
}

/* A client_id as one path segment: an upstream's ids may hold any character (ours are
 * base64url, which needs no escaping). */
char *dcr_client_uri(apr_pool_t *pool, const char *endpoint_url, const dcr_client *c)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *id = dcr_client_public_id(c);
    char *seg = apr_palloc(pool, 3 * strlen(id) + 1), *o = seg;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            (*p && strchr("-._~", *p))) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return apr_pstrcat(pool, endpoint_url, "/", seg, NULL);
}

json_t *dcr_client_response(apr_pool_t *pool, const dcr_client *c, const char *token,
                            const char *client_uri)
{
    json_t *r = dcr_json_own(pool, c->metadata ? json_copy(c->metadata) : json_object());
    if (!r)
        return NULL;
    /* Secrets are never stored, so never shown from the record; the expiry only belongs to a
     * client that policy gave a secret. */
    json_object_del(r, "client_secret");
    if (!c->secret_hash[0] && !c->upstream) /* an upstream's expiry is the upstream's word */
        json_object_del(r, "client_secret_expires_at");
    json_object_del(r, "registration_access_token");
    json_object_del(r, "registration_client_uri");
    json_object_set_new(r, "client_id", json_string(dcr_client_public_id(c)));
    json_object_set_new(r, "client_id_issued_at", json_integer((json_int_t)c->issued_at));
    if (client_uri)
        json_object_set_new(r, "registration_client_uri", json_string(client_uri));
    if (token)
        json_object_set_new(r, "registration_access_token", json_string(token));
    return r;
}
