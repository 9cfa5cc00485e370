/*
 * handlers_hma_curation.c - HMA 2's bank curation API (admin), banks
 * being index sources and bank content entries (hma.h):
 *
 *   GET    /c/banks                        [{"name", "matching_enabled_ratio"}]
 *   POST   /c/banks {"name", "enabled_ratio"|"enabled"}   201 with the bank
 *   GET    /c/bank/NAME                    the bank (404 if none)
 *   PUT    /c/bank/NAME {"name", "enabled", "enabled_ratio"}   rename, enable
 *   DELETE /c/bank/NAME                    {"message": "Done"} (a missing one too)
 *   POST   /c/bank/NAME/content            multipart `photo` [+ `metadata`, `note`]
 *                                          {"id": N, "signals": {"pdq": HEX}}
 *                                          or `video`: {"vpdq": HMA's vPDQ text}
 *   GET    /c/bank/NAME/content/ID[?include_signals=true]
 *   PUT    /c/bank/NAME/content/ID {"disable_until_ts", "note"}
 *   DELETE /c/bank/NAME/content/ID         {"deleted": 0|1}
 *   POST   /c/bank/NAME/signal {"pdq": HEX}    as content, from a bare hash
 *
 * Content ids come from the index's counter (phm_index_txn_next_content_id,
 * committed with the entry); the entry's id is the decimal number, its
 * note the content's note and its attrs the content's metadata.
 * disable_until_ts maps to the governance disable (HMA: 1 enabled, 0
 * disabled, else disabled until that unix time).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hma.h"

/* HMA: a PUT's disable_until_ts is at most five years ahead. */
#define FIVE_YEARS (5 * 365 * 86400LL)
/* HMA's note: at most 255 characters. */
#define HMA_NOTE_MAX 255
#define BANKS_LIST_MAX 10000

/* HMA's bank name rule: [A-Z_][A-Z0-9_]*, here at most a source's length. */
static int bank_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PHM_INDEX_MAX_SOURCE || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

typedef struct exists_ctx {
    const char *source;
    int found;
} exists_ctx;

static int find_group(void *ctx, const char *source, const char *category, uint64_t count)
{
    exists_ctx *x = ctx;
    (void)category;
    int c = strcmp(source, x->source);
    if (c == 0 && count)
        x->found = 1;
    return c >= 0; /* groups come in byte order: stop at or past it */
}

/* Reads bank `name` into *s: 1 exists (stored settings or entries), 0
 * not; -1 after answering an error. */
static int bank_read(svc_request *rq, svc_worker *w, const char *name,
                     phm_source_settings *s)
{
    int rc = phm_index_source_get(rq->idx, name, s, w->err, sizeof w->err);
    if (rc == PHM_ERR_INVALID)
        return 0; /* not a possible source name: no such bank */
    if (rc != PHM_OK) {
        reply_gov_error(rq, rc, w->err);
        return -1;
    }
    if (s->stored)
        return 1;
    exists_ctx x = { name, 0 };
    rc = phm_index_foreach_group(rq->idx, find_group, &x, w->err, sizeof w->err);
    if (rc < 0) {
        reply_gov_error(rq, rc, w->err);
        return -1;
    }
    return x.found;
}

static json_t *bank_json(const char *name, const phm_source_settings *s)
{
    return json_pack("{s:o, s:f}", "name", json_text(name), "matching_enabled_ratio",
                     hma_bank_ratio(s));
}

/* Settings buffer (large: category names) or NULL after answering 503. */
static phm_source_settings *settings_new(svc_request *rq)
{
    phm_source_settings *s = malloc(sizeof *s);
    if (!s)
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
    return s;
}

/* The JSON object body, or NULL after answering 400 (bad JSON), or 422
 * when `schema` (a body HMA validates with its schema) and the JSON is
 * not an object. */
static json_t *body_object(svc_request *rq, int schema)
{
    json_error_t jerr;
    json_t *o = json_loadb((const char *)rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (o && !json_is_object(o) && schema) {
        json_decref(o);
        reply_hma_invalid(rq, NULL, "model_type", "Input should be a valid dictionary");
        return NULL;
    }
    if (!o || !json_is_object(o)) {
        json_decref(o);
        reply_error(rq, 400, "bad_request", "the body must be a JSON object");
        return NULL;
    }
    return o;
}

/* HMA's schema (pydantic, lax): a boolean is a JSON boolean, 0 or 1, or
 * a string of hma_bool_text; a number a JSON number or a string that
 * reads as one. 0 with *out set, or -1 after answering 422. */
static int schema_bool(svc_request *rq, const char *field, json_t *v, int *out)
{
    if (json_is_boolean(v))
        return *out = json_is_true(v), 0;
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        return *out = json_integer_value(v) == 1, 0;
    if (json_is_string(v) && hma_bool_text(json_string_value(v), out) == 0)
        return 0;
    reply_hma_invalid(rq, field, "bool_parsing",
                      "Input should be a valid boolean, unable to interpret input");
    return -1;
}

static int schema_number(svc_request *rq, const char *field, json_t *v, double *out)
{
    if (json_is_number(v))
        return *out = json_number_value(v), 0;
    if (json_is_string(v) && json_string_length(v) > 0) {
        char *end;
        errno = 0;
        *out = strtod(json_string_value(v), &end);
        if (!errno && !*end)
            return 0;
    }
    reply_hma_invalid(rq, field, json_is_string(v) ? "float_parsing" : "float_type",
                      json_is_string(v)
                          ? "Input should be a valid number, unable to parse string as a "
                            "number"
                          : "Input should be a valid number");
    return -1;
}

/* Applies HMA's "enabled" / "enabled_ratio" members of o to s (the ratio
 * wins, as in HMA). 0, or -1 after answering (422 for a value HMA's
 * schema refuses, 400 for a ratio outside 0..1). */
static int apply_ratio(svc_request *rq, json_t *o, phm_source_settings *s)
{
    json_t *en = json_object_get(o, "enabled"), *r = json_object_get(o, "enabled_ratio");
    if (en && !json_is_null(en)) {
        int on;
        if (schema_bool(rq, "enabled", en, &on))
            return -1;
        s->enabled = on;
        s->matching_ratio = s->enabled ? 1.0 : s->matching_ratio;
    }
    if (r && !json_is_null(r)) {
        double v;
        if (schema_number(rq, "enabled_ratio", r, &v))
            return -1;
        if (!(v >= 0.0 && v <= 1.0)) {
            reply_error(rq, 400, "bad_request", "enabled_ratio must be a number in 0..1");
            return -1;
        }
        s->matching_ratio = v;
        s->enabled = v > 0.0;
    }
    return 0;
}

/* ---- banks ------------------------------------------------------------ */

typedef struct banks_ctx {
    json_t *arr;
    size_t n;
} banks_ctx;

static int add_bank(void *ctx, const char *source, const phm_source_settings *s,
                    uint64_t entries)
{
    banks_ctx *b = ctx;
    (void)entries;
    if (b->n++ == BANKS_LIST_MAX)
        return 1;
    json_array_append_new(b->arr, bank_json(source, s));
    return 0;
}

void handle_hma_banks(svc_request *rq, svc_worker *w)
{
    if (need_index(rq))
        return;
    banks_ctx b = { json_array(), 0 };
    if (!b.arr) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    int rc = phm_index_source_foreach(rq->idx, add_bank, &b, w->err, sizeof w->err);
    if (rc < 0) {
        json_decref(b.arr);
        reply_gov_error(rq, rc, w->err);
        return;
    }
    reply_json(rq, 200, b.arr);
}

void handle_hma_bank_create(svc_request *rq, svc_worker *w)
{
    phm_source_settings *s;
    json_t *o;
    if (need_index(rq) || !(o = body_object(rq, 1)))
        return;
    json_t *name = json_object_get(o, "name");
    if (!json_is_string(name)) { /* HMA's schema: a required string */
        json_decref(o);
        if (name)
            reply_hma_invalid(rq, "name", "string_type", "Input should be a valid string");
        else
            reply_hma_invalid(rq, "name", "missing", "Field required");
        return;
    }
    if (!bank_name_ok(json_string_value(name))) {
        json_decref(o);
        reply_error(rq, 400, "bad_request", "Bank names must be UPPER_WITH_UNDERSCORE "
                    "([A-Z_][A-Z0-9_]*, at most %d bytes)", PHM_INDEX_MAX_SOURCE);
        return;
    }
    if (!(s = settings_new(rq))) {
        json_decref(o);
        return;
    }
    const char *n = json_string_value(name);
    int exists = bank_read(rq, w, n, s);
    if (exists < 0)
        goto out;
    if (exists) {
        reply_error(rq, 403, "exists", "Bank already exists");
        goto out;
    }
    phm_source_settings_init(s);
    if (apply_ratio(rq, o, s))
        goto out;
    int rc = phm_index_source_set(rq->idx, n, s, w->err, sizeof w->err);
    if (rc != PHM_OK) {
        reply_gov_error(rq, rc, w->err);
        goto out;
    }
    reply_json(rq, 201, bank_json(n, s));
out:
    free(s);
    json_decref(o);
}

void handle_hma_bank_get(svc_request *rq, svc_worker *w)
{
    phm_source_settings *s;
    const char *name = rq->path_arg[0];
    if (need_index(rq) || !(s = settings_new(rq)))
        return;
    int exists = bank_read(rq, w, name, s);
    if (exists == 0)
        reply_error(rq, 404, "not_found", "bank '%s' not found", name);
    else if (exists > 0)
        reply_json(rq, 200, bank_json(name, s));
    free(s);
}

void handle_hma_bank_put(svc_request *rq, svc_worker *w)
{
    phm_source_settings *s, *t = NULL;
    const char *name = rq->path_arg[0];
    json_t *o;
    if (need_index(rq) || !(o = body_object(rq, 1)))
        return;
    if (!(s = settings_new(rq))) {
        json_decref(o);
        return;
    }
    int exists = bank_read(rq, w, name, s);
    if (exists == 0)
        reply_error(rq, 404, "not_found", "Bank not found");
    if (exists <= 0)
        goto out;
    json_t *nn = json_object_get(o, "name");
    const char *to = NULL;
    if (nn && !json_is_null(nn) && !json_is_string(nn)) {
        reply_hma_invalid(rq, "name", "string_type", "Input should be a valid string");
        goto out;
    }
    if (nn && !json_is_null(nn)) {
        if (!bank_name_ok(json_string_value(nn))) {
            reply_error(rq, 400, "bad_request", "Bank names must be UPPER_WITH_UNDERSCORE "
                        "([A-Z_][A-Z0-9_]*, at most %d bytes)", PHM_INDEX_MAX_SOURCE);
            goto out;
        }
        to = json_string_value(nn);
        if (strcmp(to, name) == 0) {
            to = NULL;
        } else {
            if (!(t = settings_new(rq)))
                goto out;
            int taken = bank_read(rq, w, to, t);
            if (taken < 0)
                goto out;
            if (taken) {
                reply_error(rq, 403, "exists", "Bank name already exists");
                goto out;
            }
        }
    }
    if (apply_ratio(rq, o, s))
        goto out;
    int rc = phm_index_source_set(rq->idx, name, s, w->err, sizeof w->err);
    if (rc == PHM_OK && to)
        rc = phm_index_source_rename(rq->idx, name, to, NULL, w->err, sizeof w->err);
    if (rc != PHM_OK) {
        reply_gov_error(rq, rc, w->err);
        goto out;
    }
    reply_json(rq, 200, bank_json(to ? to : name, s));
out:
    free(s);
    free(t);
    json_decref(o);
}

void handle_hma_bank_delete(svc_request *rq, svc_worker *w)
{
    const char *name = rq->path_arg[0];
    if (need_index(rq))
        return;
    uint64_t removed = 0;
    int rc = phm_index_source_delete(rq->idx, name, &removed, w->err, sizeof w->err);
    if (rc != PHM_OK && rc != PHM_ERR_NOT_FOUND && rc != PHM_ERR_INVALID) {
        reply_gov_error(rq, rc, w->err);
        return;
    }
    /* As HMA: deleting a bank that does not exist succeeds. */
    reply_json(rq, 200, json_pack("{s:s}", "message", "Done"));
}

/* ---- content ---------------------------------------------------------- */

/* The content id of the path (a positive decimal number) into id (its
 * canonical text). 0, or -1 after answering 404 (HMA's route takes an
 * int). */
static int content_id_arg(svc_request *rq, char *id, size_t len)
{
    const char *p = rq->path_arg[1];
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (!*p || *end || p[0] < '0' || p[0] > '9' || strlen(p) > 19) {
        reply_error(rq, 404, "not_found", "content '%s' not found", p);
        return -1;
    }
    snprintf(id, len, "%llu", v);
    return 0;
}

/* Checks HMA metadata text: a JSON object whose keys are content_id,
 * content_uri (strings) and json (an object). Writes its compact form to
 * *attrs (malloc'd; NULL for none). 0, or -1 after answering 400. */
static int metadata_check(svc_request *rq, const char *text, char **attrs)
{
    json_error_t jerr;
    *attrs = NULL;
    if (!text)
        return 0;
    json_t *m = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!m || !json_is_object(m)) {
        json_decref(m);
        reply_error(rq, 400, "bad_request", "metadata should be a json object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(m, key, v) {
        int ok = (strcmp(key, "content_id") == 0 || strcmp(key, "content_uri") == 0)
                     ? json_is_string(v) || json_is_null(v)
                 : strcmp(key, "json") == 0 ? json_is_object(v) || json_is_null(v)
                                            : -1;
        if (ok <= 0) {
            reply_error(rq, 400, "bad_request", ok < 0 ? "metadata contains unexpected "
                        "keys: %s" : "metadata: '%s' has the wrong type", key);
            json_decref(m);
            return -1;
        }
    }
    *attrs = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(m);
    if (!*attrs) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return -1;
    }
    if (strlen(*attrs) > PHM_INDEX_MAX_ATTRS) {
        free(*attrs);
        *attrs = NULL;
        reply_error(rq, 400, "bad_request", "metadata is longer than %d bytes",
                    PHM_INDEX_MAX_ATTRS);
        return -1;
    }
    return 0;
}

/* HMA's note: at most 255 characters, and (the index's rule) no control
 * characters. 0, or -1 after answering 400. */
static int note_check(svc_request *rq, const char *note)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)note; note && *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            reply_error(rq, 400, "bad_request", "note has a control character");
            return -1;
        }
        chars += (*p & 0xc0) != 0x80;
    }
    if (chars > HMA_NOTE_MAX) {
        reply_error(rq, 400, "bad_request", "note is longer than %d characters",
                    HMA_NOTE_MAX);
        return -1;
    }
    return 0;
}

/* Commits txn when rc is PHM_OK, else aborts it; answers the error.
 * 0 committed, -1 answered. */
static int txn_finish(svc_request *rq, svc_worker *w, phm_index_txn *txn, int rc)
{
    if (rc == PHM_OK)
        rc = phm_index_txn_commit(txn, NULL, w->err, sizeof w->err);
    else
        phm_index_txn_abort(txn);
    if (rc == PHM_OK)
        return 0;
    reply_gov_error(rq, rc, w->err);
    return -1;
}

/* A timestamp as python-threatexchange writes it (Python's "{:.3}": 3
 * significant digits, fixed notation with at least one decimal when the
 * exponent is -4..1, else scientific as 1.23e+02). */
static void ts_text(double t, char *out, size_t len)
{
    char sci[32];
    if (!(t == t) || t < 0 || t > 1e300)
        t = 0;
    snprintf(sci, sizeof sci, "%.2e", t);
    int exp = atoi(strchr(sci, 'e') + 1);
    if (t == 0 || (exp >= -4 && exp < 2)) {
        snprintf(out, len, "%.*f", t == 0 ? 1 : 2 - exp, t);
        size_t n = strlen(out);
        while (n > 2 && out[n - 1] == '0' && out[n - 2] != '.')
            out[--n] = '\0';
        return;
    }
    char *e = strchr(sci, 'e'), mant[8];
    size_t m = (size_t)(e - sci) < sizeof mant ? (size_t)(e - sci) : sizeof mant - 1;
    memcpy(mant, sci, m);
    mant[m] = '\0';
    while (m > 1 && mant[m - 1] == '0')
        mant[--m] = '\0';
    if (mant[m - 1] == '.')
        mant[--m] = '\0';
    snprintf(out, len, "%se%c%02d", mant, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* A video's frames as HMA's vpdq signal (python-threatexchange's
 * vpdq_to_json: a JSON array of "HEX,QUALITY,TIMESTAMP" strings, with
 * Python's ", " separator). malloc'd; NULL out of memory. */
static char *hma_vpdq_text(const phm_vpdq_frame *f, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        char hex[PHM_PDQ_HEX_LEN + 1], ts[32], item[PHM_PDQ_HEX_LEN + 48];
        phm_pdq_to_hex(&f[i].hash, hex);
        ts_text(f[i].timestamp, ts, sizeof ts);
        snprintf(item, sizeof item, "%s,%d,%s", hex, f[i].quality, ts);
        if (json_array_append_new(a, json_string(item))) {
            json_decref(a);
            a = NULL;
        }
    }
    char *text = a ? json_dumps(a, JSON_INDENT(0)) : NULL;
    json_decref(a);
    return text;
}

/* Reads HMA's vpdq signal text (python-threatexchange's serialization: a
 * JSON array of "HEX,QUALITY,TIMESTAMP" strings; hma_vpdq_text writes
 * it) into v->frames (malloc'd, the caller frees them) and v->count, the
 * frames numbered in order: 1..PHM_INDEX_MAX_VIDEO_FRAMES of them, each a
 * PDQ hash of 64 hex digits, a quality 0..100 and a timestamp >= 0.
 * PHM_OK, PHM_ERR_NOMEM, or PHM_ERR_CORRUPT with the reason in why. */
static int hma_vpdq_parse(const char *text, size_t len, phm_vpdq *v, char *why,
                          size_t whylen)
{
    json_error_t jerr;
    json_t *a = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    size_t n = json_is_array(a) ? json_array_size(a) : 0;
    int rc = PHM_ERR_CORRUPT;
    v->frames = NULL;
    v->count = 0;
    if (!json_is_array(a)) {
        snprintf(why, whylen, "not a JSON array of \"HEX,QUALITY,TIMESTAMP\" strings");
        goto out;
    }
    if (n == 0 || n > PHM_INDEX_MAX_VIDEO_FRAMES) {
        snprintf(why, whylen, "%zu frames; 1 to %u expected", n, PHM_INDEX_MAX_VIDEO_FRAMES);
        goto out;
    }
    if (!(v->frames = calloc(n, sizeof *v->frames))) {
        rc = PHM_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(a, i);
        const char *t = json_is_string(s) ? json_string_value(s) : NULL;
        const char *c1 = t ? strchr(t, ',') : NULL, *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        char *end;
        phm_vpdq_frame *f = &v->frames[i];
        int ok = c2 && !strchr(c2 + 1, ',') &&
                 phm_pdq_from_hex(t, (size_t)(c1 - t), &f->hash) == PHM_OK;
        if (ok) {
            errno = 0;
            long q = strtol(c1 + 1, &end, 10);
            ok = !errno && end == c2 && end > c1 + 1 && q >= 0 && q <= 100;
            f->quality = (int)q;
        }
        if (ok) {
            errno = 0;
            f->timestamp = strtod(c2 + 1, &end);
            ok = !errno && !*end && end > c2 + 1 && f->timestamp >= 0 &&
                 f->timestamp <= 1e12;
        }
        if (!ok) {
            snprintf(why, whylen, "frame %zu is not \"HEX,QUALITY,TIMESTAMP\"", i);
            goto out;
        }
        f->frame = i;
    }
    v->count = n;
    rc = PHM_OK;
out:
    json_decref(a);
    if (rc != PHM_OK) {
        free(v->frames);
        v->frames = NULL;
    }
    return rc;
}

/* Content ids content_store tries, past those the bank's entries hold. */
#define CONTENT_ID_TRIES 1000

int hma_content_id_pick(phm_index_txn *txn, phm_searcher *s, const char *bank,
                        uint64_t *cid, char *id, size_t idlen, char *err, size_t errlen)
{
    /* An id an entry of the bank already has (imported under a decimal
     * id) is skipped: adding it would replace that entry. Only "no such
     * entry" makes an id free: any other answer of the lookup is an error,
     * never a guess that could overwrite a content. */
    for (int tries = 0; tries < CONTENT_ID_TRIES; tries++) {
        uint64_t eid;
        char why[PHM_ERRMSG_MAX] = "";
        int rc = phm_index_txn_next_content_id(txn, cid, err, errlen);
        if (rc != PHM_OK)
            return rc;
        snprintf(id, idlen, "%llu", (unsigned long long)*cid);
        rc = phm_searcher_find(s, bank, id, &eid, why, sizeof why);
        if (rc == PHM_ERR_NOT_FOUND)
            return PHM_OK;
        if (rc != PHM_OK) {
            snprintf(err, errlen, "cannot store a content of bank '%s': cannot tell whether "
                     "content id %s is free: %s", bank, id, why[0] ? why : phm_reason(rc));
            return PHM_ERR_INDEX;
        }
    }
    /* the last id tried is taken too: never replace it */
    snprintf(err, errlen, "bank '%s' has entries under the next %d content ids: none is free",
             bank, CONTENT_ID_TRIES);
    return PHM_ERR_INDEX;
}

/* Stores a new content of bank `name` with hash h (quality -1 unknown),
 * or the frames of video v when not NULL, note and attrs, and answers
 * {"id": N, "signals": {"pdq": HEX}} ({"vpdq": HMA's text} for a video:
 * vtext when given, the signal as the client sent it, else the frames
 * serialized). */
static void content_store(svc_request *rq, svc_worker *w, const char *name,
                          const phm_pdq *h, int quality, const phm_vpdq *v,
                          const char *vtext, const char *note, const char *attrs)
{
    phm_index_txn *txn = NULL;
    uint64_t cid = 0;
    char id[32], hex[PHM_PDQ_HEX_LEN + 1];
    int rc = phm_index_txn_begin(rq->idx, &txn, w->err, sizeof w->err);
    if (rc == PHM_OK)
        rc = hma_content_id_pick(txn, w->searcher, name, &cid, id, sizeof id, w->err,
                                 sizeof w->err);
    phm_searcher_release(w->searcher);
    if (rc == PHM_OK) {
        phm_entry e;
        memset(&e, 0, sizeof e);
        e.source = name;
        e.id = id;
        e.note = note;
        e.attrs = attrs;
        if (v) {
            e.signals = PHM_SIG_VPDQ;
            e.quality = -1;
            e.frames = v->frames;
            e.nframes = v->count;
        } else {
            e.signals = PHM_SIG_PDQ;
            e.quality = quality;
            e.pdq = *h;
        }
        rc = phm_index_add(txn, &e, w->err, sizeof w->err);
    }
    if (txn_finish(rq, w, txn, rc))
        return;
    if (v) {
        char *text = vtext ? strdup(vtext) : hma_vpdq_text(v->frames, v->count);
        json_t *o = text ? json_pack("{s:I, s:{s:s}}", "id", (json_int_t)cid, "signals",
                                     "vpdq", text)
                         : NULL;
        free(text);
        if (o)
            reply_json(rq, 200, o);
        else
            reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    phm_pdq_to_hex(h, hex);
    reply_json(rq, 200, json_pack("{s:I, s:{s:s}}", "id", (json_int_t)cid, "signals", "pdq",
                                  hex));
}

/* The bank of the path must exist: 0, or -1 after answering 404. */
static int need_bank(svc_request *rq, svc_worker *w, phm_source_settings **s)
{
    const char *name = rq->path_arg[0];
    if (!(*s = settings_new(rq)))
        return -1;
    int exists = bank_read(rq, w, name, *s);
    if (exists == 0)
        reply_error(rq, 404, "not_found", "bank '%s' not found", name);
    if (exists <= 0) {
        free(*s);
        *s = NULL;
        return -1;
    }
    return 0;
}

void handle_hma_content_add(svc_request *rq, svc_worker *w)
{
    phm_source_settings *s;
    phm_pdq_result r;
    phm_image_info info;
    int recovered;
    char *attrs = NULL;

    if (need_index(rq) || need_bank(rq, w, &s))
        return;
    free(s);
    if (rq->form_long) {
        reply_error(rq, 400, "bad_request", "the metadata or note field is longer than "
                    "8192 bytes");
        return;
    }
    const char *note = rq->form_text[1];
    if (note_check(rq, note) || metadata_check(rq, rq->form_text[0], &attrs))
        return;
    if (rq->form_video) { /* HMA's `video` field: its vPDQ frames */
        if (phm_format_detect(rq->body, rq->body_len) != PHM_FORMAT_UNKNOWN)
            reply_error(rq, 415, "unsupported_format", "the 'video' field holds an image: "
                        "send it as 'photo'");
        else if (hash_video_body(rq, w) == 0)
            content_store(rq, w, rq->path_arg[0], NULL, -1, &w->video, NULL, note, attrs);
    } else if (hash_body(rq, w, 0, &r, &info, &recovered) == 0) {
        content_store(rq, w, rq->path_arg[0], &r.hash[0], r.quality, NULL, NULL, note,
                      attrs);
    }
    free(attrs);
}

void handle_hma_signal_add(svc_request *rq, svc_worker *w)
{
    phm_source_settings *s;
    json_t *o;
    if (need_index(rq) || need_bank(rq, w, &s))
        return;
    free(s);
    if (!(o = body_object(rq, 0)))
        return;
    if (json_object_size(o) == 0) {
        reply_error(rq, 400, "bad_request", "No signals given");
        json_decref(o);
        return;
    }
    const char *key;
    json_t *v;
    phm_pdq h;
    phm_vpdq video = { 0 };
    char why[96];
    json_object_foreach(o, key, v) {
        if (strcmp(key, "pdq") != 0 && strcmp(key, "vpdq") != 0) {
            reply_error(rq, 400, "bad_request", "No such signal type %s: phmatchd "
                        "stores pdq and vpdq", key);
            goto out;
        }
        if (json_object_size(o) > 1) {
            reply_error(rq, 400, "bad_request", "one signal per content: phmatchd stores "
                        "a pdq hash or a vpdq video, not both in one content");
            goto out;
        }
        if (!json_is_string(v)) {
            reply_error(rq, 400, "bad_hash", "Invalid %s signal: not a string", key);
            goto out;
        }
        if (strcmp(key, "pdq") == 0 &&
            phm_pdq_from_hex(json_string_value(v), json_string_length(v), &h) != PHM_OK) {
            reply_error(rq, 400, "bad_hash", "Invalid pdq signal: 64 hex digits expected");
            goto out;
        }
        if (strcmp(key, "vpdq") == 0) {
            int rc = hma_vpdq_parse(json_string_value(v), json_string_length(v), &video,
                                    why, sizeof why);
            if (rc == PHM_ERR_NOMEM) {
                reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
                goto out;
            }
            if (rc != PHM_OK) {
                reply_error(rq, 400, "bad_hash", "Invalid vpdq signal: %s", why);
                goto out;
            }
            content_store(rq, w, rq->path_arg[0], NULL, -1, &video, json_string_value(v),
                          NULL, NULL);
            goto out;
        }
    }
    content_store(rq, w, rq->path_arg[0], &h, -1, NULL, NULL, NULL, NULL);
out:
    free(video.frames);
    json_decref(o);
}

/* The content's JSON (HMA's BankContentConfig), with its signals when
 * asked. NULL out of memory or with *missing set. */
static json_t *content_json(svc_request *rq, svc_worker *w, const phm_source_settings *s,
                           const char *id, int signals, int *missing, int *failed)
{
    const char *name = rq->path_arg[0];
    uint64_t eid;
    phm_entry e;
    *missing = *failed = 0;
    int rc = phm_searcher_find(w->searcher, name, id, &eid, w->err, sizeof w->err);
    if (rc == PHM_OK)
        rc = phm_searcher_get(w->searcher, eid, &e, w->err, sizeof w->err);
    if (rc == PHM_ERR_NOT_FOUND) {
        *missing = 1;
        return NULL;
    }
    int disabled = 0;
    int64_t until = 0;
    if (rc == PHM_OK)
        rc = phm_index_entry_disabled(rq->idx, name, id, &disabled, &until, w->err,
                                      sizeof w->err);
    if (rc != PHM_OK) {
        *failed = rc;
        return NULL;
    }
    json_t *meta = NULL;
    if (e.attrs && *e.attrs) {
        json_error_t jerr;
        meta = json_loads(e.attrs, 0, &jerr);
    }
    json_t *uri = meta ? json_object_get(meta, "content_uri") : NULL;
    json_t *o = json_pack("{s:o, s:I, s:O, s:o}", "id", hma_content_id(e.id),
                          "disable_until_ts", (json_int_t)(disabled ? until : 1),
                          "original_media_uri", json_is_string(uri) ? uri : json_null(),
                          "bank", bank_json(name, s));
    if (o && meta)
        json_object_set(o, "metadata", meta);
    if (o && e.note && *e.note)
        json_object_set_new(o, "note", json_text(e.note));
    if (o && signals && (e.signals & PHM_SIG_PDQ)) {
        char hex[PHM_PDQ_HEX_LEN + 1];
        phm_pdq_to_hex(&e.pdq, hex);
        json_object_set_new(o, "signals", json_pack("{s:s}", "pdq", hex));
    }
    if (o && signals && (e.signals & PHM_SIG_VPDQ)) {
        phm_vpdq v;
        phm_vpdq_init(&v);
        char *text = NULL;
        int frc = phm_searcher_get_frames(w->searcher, eid, &v, w->err, sizeof w->err);
        if (frc == PHM_OK)
            text = hma_vpdq_text(v.frames, v.count);
        phm_vpdq_clear(&v);
        if (!text) {
            *failed = frc != PHM_OK ? frc : PHM_ERR_NOMEM;
            json_decref(o);
            json_decref(meta);
            return NULL;
        }
        json_object_set_new(o, "signals", json_pack("{s:s}", "vpdq", text));
        free(text);
    }
    json_decref(meta);
    return o;
}

static void reply_content(svc_request *rq, svc_worker *w, const phm_source_settings *s,
                          const char *id, int signals)
{
    int missing, failed;
    json_t *o = content_json(rq, w, s, id, signals, &missing, &failed);
    if (missing)
        reply_error(rq, 404, "not_found", "content '%s' not found", id);
    else if (failed)
        reply_gov_error(rq, failed, w->err);
    else if (!o)
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
    else
        reply_json(rq, 200, o);
}

void handle_hma_content_get(svc_request *rq, svc_worker *w)
{
    phm_source_settings *s;
    char id[32], flag[8];
    if (need_index(rq) || need_bank(rq, w, &s))
        return;
    if (content_id_arg(rq, id, sizeof id) == 0) {
        svc_args a = request_args(rq);
        /* as HMA: only "true" (any case) includes them */
        int signals = args_text(&a, "include_signals", flag, sizeof flag) == 1 &&
                      strcasecmp(flag, "true") == 0;
        reply_content(rq, w, s, id, signals);
    }
    free(s);
}

/* Rewrites the note of entry (source, id) read through w's searcher. */
static int set_note(svc_request *rq, svc_worker *w, const char *id, const char *note)
{
    uint64_t eid;
    phm_entry e;
    phm_index_txn *txn = NULL;
    phm_vpdq v;
    phm_vpdq_init(&v);
    int rc = phm_searcher_find(w->searcher, rq->path_arg[0], id, &eid, w->err,
                               sizeof w->err);
    if (rc == PHM_OK)
        rc = phm_searcher_get(w->searcher, eid, &e, w->err, sizeof w->err);
    if (rc == PHM_OK && (e.signals & PHM_SIG_VPDQ)) {
        rc = phm_searcher_get_frames(w->searcher, eid, &v, w->err, sizeof w->err);
        e.frames = v.frames;
        e.nframes = v.count;
    }
    if (rc == PHM_OK)
        rc = phm_index_txn_begin(rq->idx, &txn, w->err, sizeof w->err);
    if (rc == PHM_OK) {
        e.note = note;
        rc = phm_index_add(txn, &e, w->err, sizeof w->err);
    }
    if (rc == PHM_OK) {
        rc = phm_index_txn_commit(txn, NULL, w->err, sizeof w->err);
        txn = NULL;
    }
    phm_index_txn_abort(txn);
    phm_vpdq_clear(&v);
    phm_searcher_release(w->searcher);
    return rc;
}

void handle_hma_content_put(svc_request *rq, svc_worker *w)
{
    phm_source_settings *s;
    char id[32];
    json_t *o = NULL;
    if (need_index(rq) || need_bank(rq, w, &s))
        return;
    if (content_id_arg(rq, id, sizeof id) || !(o = body_object(rq, 0)))
        goto out;
    int missing, failed;
    json_t *cur = content_json(rq, w, s, id, 0, &missing, &failed);
    json_decref(cur);
    phm_searcher_release(w->searcher);
    if (missing || failed || !cur) {
        reply_content(rq, w, s, id, 0);
        goto out;
    }
    json_t *d = json_object_get(o, "disable_until_ts"), *n = json_object_get(o, "note");
    long long until = -1;
    if (d && !json_is_null(d)) {
        char *end = NULL;
        if (json_is_integer(d))
            until = json_integer_value(d);
        else if (json_is_string(d))
            until = strtoll(json_string_value(d), &end, 10);
        if ((!json_is_integer(d) && !(json_is_string(d) && *json_string_value(d) && !*end)) ||
            until < 0) {
            reply_error(rq, 400, "bad_request", "disable_until_ts must be a non-negative "
                        "integer");
            goto out;
        }
        if (until > (long long)time(NULL) + FIVE_YEARS) {
            reply_error(rq, 400, "bad_request", "disable_until_ts must be less than 5 "
                        "years in the future");
            goto out;
        }
    }
    const char *note = NULL;
    if (n && !json_is_null(n)) {
        if (!json_is_string(n)) {
            reply_error(rq, 400, "bad_request", "note must be a string");
            goto out;
        }
        note = json_string_value(n);
        if (note_check(rq, note))
            goto out;
    }
    int rc = PHM_OK;
    const char *ids[1] = { id };
    if (until >= 0)
        /* HMA: 1 enabled, 0 disabled for good, else disabled until then */
        rc = phm_index_entries_disable(rq->idx, rq->path_arg[0], ids, 1, until != 1,
                                       until == 1 ? 0 : until, w->err, sizeof w->err);
    if (rc == PHM_OK && note)
        rc = set_note(rq, w, id, note);
    if (rc != PHM_OK) {
        reply_gov_error(rq, rc, w->err);
        goto out;
    }
    reply_content(rq, w, s, id, 0);
out:
    json_decref(o);
    free(s);
}

void handle_hma_content_delete(svc_request *rq, svc_worker *w)
{
    phm_source_settings *s;
    phm_index_txn *txn = NULL;
    char id[32];
    int removed = 0;
    if (need_index(rq) || need_bank(rq, w, &s))
        return;
    free(s);
    if (content_id_arg(rq, id, sizeof id))
        return;
    int rc = phm_index_txn_begin(rq->idx, &txn, w->err, sizeof w->err);
    if (rc == PHM_OK)
        rc = phm_index_remove(txn, rq->path_arg[0], id, &removed, w->err, sizeof w->err);
    if (txn_finish(rq, w, txn, rc))
        return;
    reply_json(rq, 200, json_pack("{s:i}", "deleted", removed));
}
