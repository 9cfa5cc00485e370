/* json_body.c - the JSON bodies of /v1/lookup and /v1/index/entries (see
 * json_body.h). */
#include "json_body.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

static void set_bad(svc_bad *bad, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_bad(svc_bad *bad, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    bad->status = status;
    bad->code = code;
    va_start(ap, fmt);
    vsnprintf(bad->msg, sizeof bad->msg, fmt, ap);
    va_end(ap);
}

static json_t *load(const uint8_t *body, size_t len, svc_bad *bad)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        set_bad(bad, 400, "bad_json", "malformed JSON at line %d column %d: %s", je.line,
                je.column, je.text);
    return root;
}

int lookup_body_parse(const uint8_t *body, size_t len, const svc_config *c,
                      phm_pdq *hashes, size_t cap, lookup_body *out, svc_bad *bad)
{
    json_t *root, *list, *v;
    json_int_t radius = c->match_distance, k = 0;
    int rc = -1;

    if (!(root = load(body, len, bad)))
        return -1;
    if (!json_is_object(root) || !json_is_array(list = json_object_get(root, "hashes"))) {
        set_bad(bad, 400, "bad_request", "expected {\"hashes\": [\"<64 hex digits>\", "
                "...]}");
        goto out;
    }
    if ((v = json_object_get(root, "max_distance")) &&
        (!json_is_integer(v) || (radius = json_integer_value(v)) < 0 ||
         radius > c->max_distance)) {
        set_bad(bad, 400, "bad_request", "max_distance must be an integer from 0 to %lld",
                (long long)c->max_distance);
        goto out;
    }
    if ((v = json_object_get(root, "k")) &&
        (!json_is_integer(v) || (k = json_integer_value(v)) < 1 || k > c->max_matches)) {
        set_bad(bad, 400, "bad_request", "k must be an integer from 1 to %lld",
                (long long)c->max_matches);
        goto out;
    }
    size_t n = json_array_size(list);
    if (n > (size_t)c->max_batch || n > cap) {
        set_bad(bad, 413, "too_large", "%zu hashes in one lookup; at most %lld", n,
                (long long)c->max_batch);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_array_get(list, i);
        if (!json_is_string(h) || phm_pdq_from_hex(json_string_value(h),
                                                   json_string_length(h), &hashes[i])) {
            set_bad(bad, 400, "bad_hash", "hashes[%zu] is not a PDQ hash of 64 hex digits",
                    i);
            goto out;
        }
    }
    out->n = n;
    out->radius = (int)radius;
    out->k = (size_t)k;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int entry_from_json(json_t *j, phm_entry *e, char *err, size_t errlen)
{
    static const struct { const char *name; unsigned sig; size_t len; } digests[] = {
        { "md5", PHM_SIG_MD5, 16 }, { "sha1", PHM_SIG_SHA1, 20 },
        { "sha256", PHM_SIG_SHA256, 32 },
    };
    const char *key;
    json_t *v;

    memset(e, 0, sizeof *e);
    e->quality = -1;
    if (!json_is_object(j)) {
        snprintf(err, errlen, "not an object");
        return -1;
    }
    json_object_foreach(j, key, v) {
        if (!strcmp(key, "source") || !strcmp(key, "id") || !strcmp(key, "category") ||
            !strcmp(key, "note")) {
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
                snprintf(err, errlen, "%s must be a string without NUL", key);
                return -1;
            }
            const char *s = json_string_value(v);
            if (key[0] == 's')
                e->source = s;
            else if (key[0] == 'i')
                e->id = s;
            else if (key[0] == 'c')
                e->category = s;
            else
                e->note = s;
        } else if (!strcmp(key, "hash") || !strcmp(key, "pdq")) {
            if (!json_is_string(v) || phm_pdq_from_hex(json_string_value(v),
                                                        json_string_length(v), &e->pdq)) {
                snprintf(err, errlen, "%s must be a PDQ hash of 64 hex digits", key);
                return -1;
            }
            e->signals |= PHM_SIG_PDQ;
        } else if (!strcmp(key, "quality")) {
            if (!json_is_integer(v) || json_integer_value(v) < -1 ||
                json_integer_value(v) > 100) {
                snprintf(err, errlen, "quality must be an integer from -1 to 100");
                return -1;
            }
            e->quality = (int)json_integer_value(v);
        } else if (!strcmp(key, "added")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                snprintf(err, errlen, "added must be unix seconds");
                return -1;
            }
            e->added = json_integer_value(v);
        } else {
            size_t d;
            for (d = 0; d < 3; d++)
                if (!strcmp(key, digests[d].name))
                    break;
            if (d == 3) {
                snprintf(err, errlen, "unknown field '%.64s'", key);
                return -1;
            }
            uint8_t *dst = digests[d].sig == PHM_SIG_MD5    ? e->md5
                           : digests[d].sig == PHM_SIG_SHA1 ? e->sha1
                                                            : e->sha256;
            if (!json_is_string(v) || phm_hex_decode(json_string_value(v), json_string_length(v),
                                                 dst, digests[d].len)) {
                snprintf(err, errlen, "%s must be %zu hex digits", key, 2 * digests[d].len);
                return -1;
            }
            e->signals |= digests[d].sig;
        }
    }
    if (!e->source || !e->id) {
        snprintf(err, errlen, "source and id are required");
        return -1;
    }
    if (!e->signals) {
        snprintf(err, errlen, "no signal: give hash (PDQ), md5, sha1 or sha256");
        return -1;
    }
    return 0;
}

static json_t *entry_at(json_t *root, size_t i)
{
    json_t *list = json_is_object(root) ? json_object_get(root, "entries") : NULL;
    return list ? json_array_get(list, i) : root;
}

json_t *entries_body_parse(const uint8_t *body, size_t len, size_t max_batch, size_t *n,
                           svc_bad *bad)
{
    json_t *root, *list;
    char msg[200];

    if (!(root = load(body, len, bad)))
        return NULL;
    list = json_is_object(root) ? json_object_get(root, "entries") : NULL;
    if (list && !json_is_array(list)) {
        set_bad(bad, 400, "bad_request", "entries must be an array");
        goto fail;
    }
    *n = list ? json_array_size(list) : 1;
    if (*n > max_batch) {
        set_bad(bad, 413, "too_large", "%zu entries in one request; at most %zu", *n,
                max_batch);
        goto fail;
    }
    for (size_t i = 0; i < *n; i++) {
        phm_entry e;
        if (entry_from_json(entry_at(root, i), &e, msg, sizeof msg)) {
            set_bad(bad, 400, "bad_entry", "entries[%zu]: %s", i, msg);
            goto fail;
        }
    }
    return root;
fail:
    json_decref(root);
    return NULL;
}

void entries_body_get(json_t *root, size_t i, phm_entry *e)
{
    char msg[8];
    /* Checked by entries_body_parse: it succeeds. */
    entry_from_json(entry_at(root, i), e, msg, sizeof msg);
}
