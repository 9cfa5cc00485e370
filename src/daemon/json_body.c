/* json_body.c - the bodies of /v1/lookup and /v1/index/entries (see
 * json_body.h). Entries are read by the library's hash-list reader: this
 * file only finds the list in the request. */
#include "json_body.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

uint64_t lookup_cost(size_t n, int radius)
{
    double each = radius <= 31 ? 1.0 : exp2((double)(radius - 31) / 4.0);
    if (each > 128.0)
        each = 128.0;
    return (uint64_t)ceil((double)n * each);
}

int lookup_cost_check(const svc_config *c, size_t n, int radius, svc_bad *bad)
{
    uint64_t cost = lookup_cost(n, radius);
    if (cost <= (uint64_t)c->max_lookup_cost)
        return 0;
    set_bad(bad, 413, "too_costly",
            "%zu hashes at max_distance %d cost %llu; at most %lld in one request "
            "(max_lookup_cost): send fewer hashes or a smaller max_distance",
            n, radius, (unsigned long long)cost, (long long)c->max_lookup_cost);
    return -1;
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

/* ---- POST /v1/index/entries ------------------------------------------- */

int entries_body_type(const char *ct, phm_hashlist_format *fmt, int *json)
{
    static const struct {
        const char *type;
        phm_hashlist_format fmt;
        int json;
    } types[] = {
        { "application/json", PHM_HASHLIST_JSONL, 1 },
        { "application/x-ndjson", PHM_HASHLIST_JSONL, 0 },
        { "application/jsonl", PHM_HASHLIST_JSONL, 0 },
        { "text/csv", PHM_HASHLIST_CSV, 0 },
        { "text/tab-separated-values", PHM_HASHLIST_TSV, 0 },
        { "text/plain", PHM_HASHLIST_AUTO, 0 },
        { "application/xml", PHM_HASHLIST_NCMEC, 0 },
        { "text/xml", PHM_HASHLIST_NCMEC, 0 },
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (content_type_is(ct, types[i].type)) {
            *fmt = types[i].fmt;
            *json = types[i].json;
            return 0;
        }
    }
    return -1;
}

/* Room for the ENTRYs of a JSON body written again as jsonl lines: what
 * jansson writes is at most a few times what it read (a real such as 0.1
 * comes back with 17 digits), and never more than this. */
#define LINES_MAX(len) (8 * (len) + 4096)

/* Whether a JSON object is a publisher's document (VICS, StopNCII,
 * ThreatExchange, TAT: docs/HASHLISTS.md), read as it is. */
static int is_document(json_t *root)
{
    static const char *const keys[] = { "@odata.context", "odata.metadata", "value",
                                        "hashRecords", "results", "data" };
    if (!json_is_object(root) || json_object_get(root, "entries"))
        return 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_object_get(root, keys[i]))
            return 1;
    return 0;
}

/* An application/json body: {"entries": [ENTRY, ...]} or one ENTRY, each
 * ENTRY written as one jsonl line into b->lines, for the hash-list reader;
 * or a publisher's document, which the reader reads as it is (b->fmt
 * PHM_HASHLIST_AUTO: detected from its keys). 0, or -1 with *bad. */
static int json_to_lines(const uint8_t *body, size_t len, size_t max_batch, entries_body *b,
                         svc_bad *bad)
{
    json_t *root, *list;
    size_t n, used = 0, cap = LINES_MAX(len);
    int rc = -1;

    if (!(root = load(body, len, bad)))
        return -1;
    if (is_document(root)) {
        b->fmt = PHM_HASHLIST_AUTO;
        json_decref(root);
        return 0;
    }
    list = json_is_object(root) ? json_object_get(root, "entries") : NULL;
    if (list && !json_is_array(list)) {
        set_bad(bad, 400, "bad_request", "entries must be an array");
        goto out;
    }
    n = list ? json_array_size(list) : 1;
    if (n > max_batch) {
        set_bad(bad, 413, "too_large", "%zu entries in one request; at most %zu", n,
                max_batch);
        goto out;
    }
    b->lines = malloc(cap);
    if (!b->lines) {
        set_bad(bad, 503, "out_of_memory", "no memory for the request now; try again later");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = list ? json_array_get(list, i) : root;
        size_t k = json_dumpb(e, b->lines + used, cap - used - 1, JSON_COMPACT | JSON_ENCODE_ANY);
        if (k == 0 || k >= cap - used - 1) {
            set_bad(bad, 413, "too_large", "the entries take too much memory");
            goto out;
        }
        used += k;
        b->lines[used++] = '\n'; /* a JSON text holds no raw newline */
    }
    b->data = (const uint8_t *)b->lines;
    b->len = used;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

void entries_body_where(const entries_body *b, const phm_hashlist_reader *rd, const char *what,
                        char *msg, size_t msglen)
{
    char where[PHM_HASHLIST_ERRMSG_MAX];
    uint64_t line = phm_hashlist_reader_line(rd);
    phm_hashlist_reader_where(rd, where, sizeof where);
    size_t k = strlen(where);
    if (strncmp(what, where, k) == 0 && strncmp(what + k, ": ", 2) == 0)
        what += k + 2; /* a reader's message */
    if (b->lines)
        snprintf(msg, msglen, "entries[%llu]: %s", (unsigned long long)(line - 1), what);
    else
        snprintf(msg, msglen, "%s: %s", where, what);
}

int entries_body_reader(const entries_body *b, phm_hashlist_reader **rd)
{
    return phm_hashlist_reader_open_mem(rd, b->data, b->len, b->name, b->fmt, &b->opt, NULL, 0)
               ? -1
               : 0;
}

int entries_body_check(const uint8_t *body, size_t len, const char *ct, const char *source,
                       const char *category, const char *video_id, int min_quality,
                       size_t max_batch, entries_body *out, svc_bad *bad)
{
    phm_hashlist_reader *rd = NULL;
    char err[PHM_HASHLIST_ERRMSG_MAX];
    phm_entry e;
    int json, rc;

    memset(out, 0, sizeof *out);
    if (entries_body_type(ct, &out->fmt, &json) != 0) {
        set_bad(bad, 415, "unsupported_media_type",
                "the body must be application/json, application/x-ndjson, text/csv, "
                "text/tab-separated-values or text/plain (a hash list)");
        return -1;
    }
    out->opt.source = source;
    out->opt.category = category;
    out->opt.video_id = video_id;
    out->opt.allow_video = 1;
    out->opt.allow_remove = 1;
    out->opt.check_hashes = 1;
    out->opt.min_quality = min_quality;
    out->name = json ? "entries" : "body";
    out->data = body;
    out->len = len;
    if (json && json_to_lines(body, len, max_batch, out, bad) != 0)
        goto fail;
    rc = phm_hashlist_reader_open_mem(&rd, out->data, out->len, out->name, out->fmt, &out->opt,
                                      err, sizeof err);
    if (rc != PHM_OK) {
        if (rc == PHM_ERR_NOMEM)
            set_bad(bad, 503, "out_of_memory", "no memory for the request now; try again later");
        else
            set_bad(bad, 400, "bad_request", "%s", err);
        goto fail;
    }
    while ((rc = phm_hashlist_read(rd, &e, err, sizeof err)) == PHM_HASHLIST_RECORD ||
           rc == PHM_HASHLIST_REMOVE) {
        if (++out->n > max_batch) {
            set_bad(bad, 413, "too_large", "more than %zu entries in one request", max_batch);
            goto fail;
        }
    }
    if (rc == PHM_ERR_CORRUPT) {
        set_bad(bad, 400, "bad_entry", "%s", "");
        entries_body_where(out, rd, err, bad->msg, sizeof bad->msg);
        goto fail;
    }
    if (rc == PHM_ERR_NOMEM) {
        set_bad(bad, 503, "out_of_memory", "no memory for the request now; try again later");
        goto fail;
    }
    if (rc != PHM_HASHLIST_EOF) {
        set_bad(bad, 400, "bad_request", "%s", err);
        goto fail;
    }
    if (phm_hashlist_reader_format(rd) == PHM_HASHLIST_VPDQ && out->n && !video_id) {
        set_bad(bad, 400, "bad_request", "a vPDQ body is one video: name it with ?id=");
        goto fail;
    }
    phm_hashlist_reader_close(rd);
    return 0;
fail:
    phm_hashlist_reader_close(rd);
    entries_body_free(out);
    return -1;
}

void entries_body_free(entries_body *b)
{
    free(b->lines);
    b->lines = NULL;
}
