/* hashlist_doc.c - the JSON document formats (vics, stopncii,
 * threatexchange, tat): one big object holding an array of records. A
 * small scanner walks the document byte by byte, aware of strings and
 * escapes and of the nesting, and hands out the bytes of each record (an
 * element of the records' array, at most PHM_HASHLIST_RECORD_MAX) to
 * jansson; memory stays bounded whatever the document's size. Also the
 * field helpers the feed formats share (docs/HASHLISTS.md). */
#include "hashlist_internal.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---------------------------------------------------------------- */
/* Input                                                             */

long hl_raw_read(phm_hashlist_reader *r, unsigned char *dst, size_t n)
{
    size_t avail = r->end - r->start;
    if (avail) {
        if (n > avail)
            n = avail;
        memcpy(dst, r->buf + r->start, n);
        r->start += n;
        return (long)n;
    }
    if (r->eof)
        return 0;
    if (r->fp) {
        size_t got = fread(dst, 1, n, r->fp);
        if (got == 0 && ferror(r->fp))
            return -1;
        if (got == 0)
            r->eof = 1;
        return (long)got;
    }
    size_t left = r->mem_len - r->mem_pos;
    if (n > left)
        n = left;
    memcpy(dst, r->mem + r->mem_pos, n);
    r->mem_pos += n;
    if (n == 0)
        r->eof = 1;
    return (long)n;
}

/* ---------------------------------------------------------------- */
/* Detection                                                         */

/* The top-level keys of the object at p[0..n) (which starts, after
 * blanks, with '{'): the first that names a document format decides. */
phm_hashlist_format hl_doc_detect(const unsigned char *p, size_t n)
{
    static const struct {
        const char *key;
        phm_hashlist_format fmt;
    } keys[] = {
        { "odata.metadata", PHM_HASHLIST_VICS }, { "@odata.context", PHM_HASHLIST_VICS },
        { "value", PHM_HASHLIST_VICS },          { "hashRecords", PHM_HASHLIST_STOPNCII },
        { "results", PHM_HASHLIST_TAT },         { "data", PHM_HASHLIST_THREATEXCHANGE },
    };
    int depth = 0, in_str = 0, esc = 0, expect_key = 0;
    size_t kstart = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"') {
                in_str = 0;
                if (depth == 1 && expect_key) {
                    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
                        if (hl_same_name((const char *)p + kstart, i - kstart, keys[k].key, 0))
                            return keys[k].fmt;
                    expect_key = 0;
                }
            }
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            kstart = i + 1;
            break;
        case '{':
        case '[':
            depth++;
            expect_key = depth == 1;
            break;
        case '}':
        case ']':
            if (--depth <= 0)
                return PHM_HASHLIST_JSONL;
            break;
        case ',':
            if (depth == 1)
                expect_key = 1;
            break;
        default: break;
        }
    }
    return PHM_HASHLIST_JSONL;
}

/* ---------------------------------------------------------------- */
/* The scanner                                                       */

static void frame_name(hl_jframe *f, const char *s, size_t n)
{
    if (n > HL_KEY_MAX) {
        f->nlen = HL_KEY_MAX + 1;
        return;
    }
    memcpy(f->name, s, n);
    f->nlen = (unsigned char)n;
}

static int frame_is(const hl_jframe *f, const char *lit)
{
    return f->nlen <= HL_KEY_MAX && hl_same_name(f->name, f->nlen, lit, 0);
}

/* Whether the array being opened at depth js->depth, as the value of key
 * (the parent object's last key), holds the records. */
static int is_record_array(const phm_hashlist_reader *r, const hl_jscan *js)
{
    int d = js->depth; /* the new frame is js->st[d] */
    if (d == 0)
        return 1; /* a top-level array of records */
    const hl_jframe *nf = &js->st[d];
    switch (r->fmt) {
    case PHM_HASHLIST_VICS:
        if (!js->cases)
            return d == 1 && frame_is(nf, "value");
        /* a case file: value[i].Media[] */
        return d == 3 && js->st[1].arr && frame_is(&js->st[1], "value") && !js->st[2].arr &&
               frame_is(nf, "Media");
    case PHM_HASHLIST_STOPNCII: return d == 1 && frame_is(nf, "hashRecords");
    case PHM_HASHLIST_THREATEXCHANGE: return d == 1 && frame_is(nf, "data");
    case PHM_HASHLIST_TAT: return d == 1 && frame_is(nf, "results");
    default: return 0;
    }
}

static int cap_byte(phm_hashlist_reader *r, hl_jscan *js, unsigned char c)
{
    if (js->cap_over)
        return 0;
    if (js->cap_len >= PHM_HASHLIST_RECORD_MAX) {
        js->cap_over = 1;
        return 0;
    }
    if (js->cap_len + 1 > r->big_cap) {
        size_t cap = r->big_cap ? r->big_cap * 2 : 4096;
        if (cap > PHM_HASHLIST_RECORD_MAX + 1)
            cap = PHM_HASHLIST_RECORD_MAX + 1;
        char *b = realloc(r->big, cap);
        if (!b)
            return -1;
        r->big = b;
        r->big_cap = cap;
    }
    r->big[js->cap_len++] = (char)c;
    return 0;
}

/* Scanner results besides errors. */
enum { SCAN_RECORD = 1, SCAN_END = 0, SCAN_NOT_OBJECT = 2, SCAN_BAD = 3 };

/* Scans on to the end of the next record (its bytes in r->big,
 * js->cap_len), the end of the input, or something malformed (*why). */
static int scan(phm_hashlist_reader *r, hl_jscan *js, const char **why)
{
    for (;;) {
        if (r->start == r->end) {
            r->start = r->end = 0;
            long got = hl_raw_read(r, r->buf, HL_BUF_CAP);
            if (got < 0)
                return PHM_ERR_UNREADABLE;
            if (got == 0) {
                if (js->depth || js->in_str) {
                    *why = "the document ends inside a value (truncated?)";
                    return SCAN_BAD;
                }
                return SCAN_END;
            }
            r->end = (size_t)got;
        }
        while (r->start < r->end) {
            unsigned char c = r->buf[r->start++];
            if (js->capturing && cap_byte(r, js, c) < 0)
                return PHM_ERR_NOMEM;
            hl_jframe *top = js->depth ? &js->st[js->depth - 1] : NULL;
            if (js->in_str) {
                if (js->esc) {
                    js->esc = 0;
                } else if (c == '\\') {
                    js->esc = 1;
                } else if (c == '"') {
                    js->in_str = 0;
                    if (js->str_key)
                        top->expect_key = 0;
                    if (js->str_ctx && r->fmt == PHM_HASHLIST_VICS) {
                        js->ctx[js->ctxlen < sizeof js->ctx ? js->ctxlen : sizeof js->ctx - 1] =
                            '\0';
                        if (strstr(js->ctx, "#Cases"))
                            js->cases = 1;
                    }
                    continue;
                }
                if (js->str_key) {
                    if (top->klen < HL_KEY_MAX)
                        top->key[top->klen++] = (char)c;
                    else
                        top->klen = HL_KEY_MAX + 1;
                } else if (js->str_ctx && js->ctxlen < sizeof js->ctx - 1) {
                    js->ctx[js->ctxlen++] = (char)c;
                }
                continue;
            }
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                continue;
            if (js->closed) {
                *why = "text after the end of the document";
                return SCAN_BAD;
            }
            int value_start = c != ':' && c != ',' && c != '}' && c != ']' &&
                              !(top && !top->arr && top->expect_key);
            if (value_start && top && top->arr && top->rec_arr && top->want_val &&
                !js->capturing && c != '{') {
                /* an element of the records' array that is no object */
                top->want_val = 0;
                if (c == '"') {
                    js->in_str = 1;
                    js->str_key = js->str_ctx = 0;
                }
                return SCAN_NOT_OBJECT;
            }
            if (top && top->arr)
                top->want_val = 0;
            switch (c) {
            case '"':
                js->in_str = 1;
                js->str_key = top && !top->arr && top->expect_key;
                if (js->str_key)
                    top->klen = 0;
                js->str_ctx = !js->str_key && js->depth == 1 && !js->capturing &&
                              (top->klen <= HL_KEY_MAX &&
                               (hl_same_name(top->key, top->klen, "@odata.context", 0) ||
                                hl_same_name(top->key, top->klen, "odata.metadata", 0)));
                js->ctxlen = 0;
                break;
            case '{':
            case '[': {
                if (js->depth == PHM_HASHLIST_DEPTH_MAX) {
                    *why = "nested deeper than 64 levels";
                    return SCAN_BAD;
                }
                if (c == '{' && top && top->arr && top->rec_arr && !js->capturing) {
                    js->capturing = 1;
                    js->cap_depth = js->depth;
                    js->cap_len = 0;
                    js->cap_over = 0;
                    if (cap_byte(r, js, c) < 0)
                        return PHM_ERR_NOMEM;
                }
                hl_jframe *f = &js->st[js->depth];
                memset(f, 0, sizeof *f);
                f->arr = c == '[';
                f->expect_key = c == '{';
                f->want_val = 1;
                if (top && !top->arr)
                    frame_name(f, top->key, top->klen);
                if (f->arr && !js->capturing && is_record_array(r, js)) {
                    f->rec_arr = 1;
                    js->saw_array = 1;
                }
                js->depth++;
                break;
            }
            case '}':
            case ']':
                if (!top || top->arr != (c == ']')) {
                    *why = "mismatched brackets";
                    return SCAN_BAD;
                }
                js->depth--;
                if (js->depth == 0)
                    js->closed = 1;
                if (js->capturing && js->depth == js->cap_depth) {
                    js->capturing = 0;
                    return SCAN_RECORD;
                }
                break;
            case ',':
                if (top && !top->arr)
                    top->expect_key = 1;
                else if (top)
                    top->want_val = 1;
                break;
            default: break; /* ':' and the bytes of numbers and literals */
            }
        }
    }
}

static const char *format_key(phm_hashlist_format fmt)
{
    switch (fmt) {
    case PHM_HASHLIST_VICS: return "\"value\"";
    case PHM_HASHLIST_STOPNCII: return "\"hashRecords\"";
    case PHM_HASHLIST_THREATEXCHANGE: return "\"data\"";
    default: return "\"results\"";
    }
}

/* One record object into e by its format's mapper. */
static int map_record(phm_hashlist_reader *r, json_t *o, phm_entry *e, char *err,
                      size_t errlen)
{
    switch (r->fmt) {
    case PHM_HASHLIST_VICS: return hl_vics_media(r, o, e, err, errlen);
    case PHM_HASHLIST_STOPNCII: return hl_stopncii_record(r, o, e, err, errlen);
    case PHM_HASHLIST_THREATEXCHANGE: return hl_te_record(r, o, e, err, errlen);
    default: return hl_tat_record(r, o, e, err, errlen);
    }
}

/* vics: the next Media of a case read whole (a case file without its
 * #Cases context). Returns -1 when the case has no more. */
static int case_next(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    json_t *media = json_object_get(r->vcase, "Media");
    if (r->vcase_next >= json_array_size(media)) {
        json_decref(r->vcase);
        r->vcase = NULL;
        return -1;
    }
    size_t i = r->vcase_next++;
    json_t *m = json_array_get(media, i);
    if (!json_is_object(m))
        return HL_LINE_ERR("Media item %zu is not an object", i + 1);
    return hl_vics_media(r, m, e, err, errlen);
}

int hl_doc_read(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    const char *why = NULL;
    if (r->vcase) {
        int rc = case_next(r, e, err, errlen);
        if (rc != -1)
            return rc;
    }
    if (!r->js) {
        r->js = calloc(1, sizeof *r->js);
        if (!r->js)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
    }
    hl_jscan *js = r->js;
    if (js->ended)
        return HL_DOC_EOF;
    int rc = scan(r, js, &why);
    if (rc == PHM_ERR_UNREADABLE)
        return hl_read_failed(r, err, errlen);
    if (rc == PHM_ERR_NOMEM)
        return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
    if (rc == SCAN_END) {
        js->ended = 1;
        if (!js->saw_array) {
            r->rec_line = r->lineno + 1;
            return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                           "not a %s document: no %s array of records",
                           phm_hashlist_format_name(r->fmt), format_key(r->fmt));
        }
        return HL_DOC_EOF;
    }
    r->rec_line = ++r->lineno;
    if (rc == SCAN_BAD) {
        js->ended = 1;
        return HL_LINE_ERR("invalid JSON document: %s", why);
    }
    if (rc == SCAN_NOT_OBJECT)
        return HL_LINE_ERR("expected a JSON object");
    if (js->cap_over)
        return HL_LINE_ERR("record longer than %zu bytes", PHM_HASHLIST_RECORD_MAX);
    json_error_t je;
    json_t *o = json_loadb(r->big, js->cap_len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        char wb[100];
        return HL_LINE_ERR("invalid JSON at column %d of the record: %s", je.column,
                           hl_shown(wb, sizeof wb, je.text, strlen(je.text), sizeof wb - 4));
    }
    if (r->fmt == PHM_HASHLIST_VICS && json_is_array(json_object_get(o, "Media")) &&
        !json_object_get(o, "MediaID")) {
        r->vcase = o;
        r->vcase_next = 0;
        rc = case_next(r, e, err, errlen);
        return rc == -1 ? 1 : rc; /* an empty case: nothing to return */
    }
    rc = map_record(r, o, e, err, errlen);
    json_decref(o);
    return rc;
}

void hl_doc_close(phm_hashlist_reader *r)
{
    free(r->js);
    r->js = NULL;
    json_decref(r->vcase);
    r->vcase = NULL;
}

/* ---------------------------------------------------------------- */
/* Field helpers                                                     */

int hl_set_typed_hash(phm_hashlist_reader *r, phm_entry *e, const char *type, const char *s,
                      size_t len, char *err, size_t errlen)
{
    size_t tl = strlen(type);
    if (hl_same_name(type, tl, "pdq", 1))
        return hl_set_hash(r, e, s, len, err, errlen);
    for (size_t d = 0; d < HL_NDIGESTS; d++)
        if (hl_same_name(type, tl, hl_digests[d].name, 1)) {
            hl_trim(&s, &len);
            if (len == 0)
                return HL_LINE_ERR("missing %s", hl_digests[d].name);
            return hl_set_digest(r, e, d, s, len, err, errlen);
        }
    return hl_other_signal(r, type, tl, err, errlen);
}

int hl_other_signal(phm_hashlist_reader *r, const char *type, size_t len, char *err,
                    size_t errlen)
{
    hl_shown_buf b;
    const char *t = type;
    size_t n = len;
    hl_trim(&t, &n);
    if (n == 0)
        return HL_LINE_ERR("missing signal type");
    int rc = hl_check_signal_type(r, type, len, err, errlen);
    if (rc == 0) /* "pdq" is no type of this format */
        return HL_LINE_ERR("unknown signal type '%s'", HL_SHOW(b, t, n));
    return rc;
}

int hl_set_photodna(phm_hashlist_reader *r, phm_entry *e, const char *s, size_t len,
                    char *err, size_t errlen)
{
    hl_trim(&s, &len);
    if (len == 0)
        return 0;
    int hex = len == 288, b64 = len == 192;
    for (size_t i = 0; i < len && (hex || b64); i++) {
        unsigned char c = (unsigned char)s[i];
        if (hex && phm_hex_value(c) < 0)
            hex = 0;
        if (b64 && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                     (c >= '0' && c <= '9') || c == '+' || c == '/'))
            b64 = 0;
    }
    if (!hex && !b64) {
        hl_shown_buf b;
        return HL_LINE_ERR("invalid PhotoDNA hash '%s' (%zu characters): expected 192 "
                           "base64 characters or 288 hex digits",
                           HL_SHOW(b, s, len), len);
    }
    memcpy(r->photodna, s, len);
    r->photodna[len] = '\0';
    e->photodna = r->photodna;
    return 0;
}

/* Whether a string in v holds a NUL byte (jansson keeps one from a CSV
 * field or a \u0000; written back as \u0000, the jsonl reader refuses it,
 * so the entry could not be exported and read again). */
static int holds_nul(json_t *v, int depth)
{
    size_t i;
    const char *k;
    json_t *x;
    if (depth > 64)
        return 1;
    if (json_is_string(v))
        return memchr(json_string_value(v), 0, json_string_length(v)) != NULL;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x) {
            if (holds_nul(x, depth + 1))
                return 1;
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, k, x) {
            if (holds_nul(x, depth + 1))
                return 1;
        }
    }
    return 0;
}

int hl_set_attrs(phm_hashlist_reader *r, phm_entry *e, json_t *attrs, char *err, size_t errlen)
{
    if (!attrs || json_object_size(attrs) == 0)
        return 0;
    if (holds_nul(attrs, 0))
        return HL_LINE_ERR("a field holds a NUL byte");
    /* jansson escapes control characters but DEL (0x7f), which can only
     * be inside a string: written \u007f, so the text has no control byte */
    size_t n = json_dumpb(attrs, NULL, 0, JSON_COMPACT), dels = 0;
    if (n == 0 || n > PHM_INDEX_MAX_ATTRS)
        return HL_LINE_ERR("the other fields take %zu bytes as JSON, more than %d", n,
                           PHM_INDEX_MAX_ATTRS);
    json_dumpb(attrs, r->attrs, n, JSON_COMPACT);
    for (size_t i = 0; i < n; i++)
        dels += r->attrs[i] == 0x7f;
    if (n + 5 * dels > PHM_INDEX_MAX_ATTRS)
        return HL_LINE_ERR("the other fields take %zu bytes as JSON, more than %d",
                           n + 5 * dels, PHM_INDEX_MAX_ATTRS);
    size_t total = n + 5 * dels, j = total;
    for (size_t i = n; dels && i-- > 0;) {
        if (r->attrs[i] == 0x7f) {
            j -= 6;
            memcpy(r->attrs + j, "\\u007f", 6);
        } else {
            r->attrs[--j] = r->attrs[i];
        }
    }
    n = total;
    r->attrs[n] = '\0';
    e->attrs = r->attrs;
    return 0;
}

int hl_json_id(phm_hashlist_reader *r, json_t *v, const char *what, char *err, size_t errlen)
{
    if (json_is_integer(v)) {
        snprintf(r->id, sizeof r->id, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v))
        return HL_LINE_ERR("\"%s\" must be a string or an integer", what);
    return hl_set_string(r, r->id, PHM_HASHLIST_ID_MAX, what, json_string_value(v),
                         json_string_length(v), err, errlen);
}

int hl_json_opt_str(phm_hashlist_reader *r, json_t *o, const char *key, const char **s,
                    size_t *n, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    *s = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return HL_LINE_ERR("\"%s\" must be a string", key);
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

static int two(const char *s, int *v)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    *v = (s[0] - '0') * 10 + (s[1] - '0');
    return 0;
}

int hl_feed_time(const char *s, size_t len, int64_t *out)
{
    char iso[21];
    int64_t t;
    size_t i;
    hl_trim(&s, &len);
    if (len > 0 && s[0] >= '0' && s[0] <= '9') {
        for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == len) {
            if (len > 15)
                return -1;
            if (phm_hashlist_parse_time(s, len, &t) == PHM_OK) {
                *out = t;
                return 0;
            }
            /* milliseconds */
            uint64_t v = 0;
            for (i = 0; i < len; i++)
                v = v * 10 + (uint64_t)(s[i] - '0');
            if (v / 1000 > (uint64_t)PHM_HASHLIST_TIME_MAX)
                return -1;
            *out = (int64_t)(v / 1000);
            return 0;
        }
    }
    /* YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|+HH:MM|+HHMM|-...] */
    if (len < 19 || (s[10] != 'T' && s[10] != ' '))
        return -1;
    memcpy(iso, s, 19);
    iso[10] = 'T';
    iso[19] = 'Z';
    iso[20] = '\0';
    if (phm_hashlist_parse_time(iso, 20, &t) != PHM_OK)
        return -1;
    i = 19;
    if (i < len && s[i] == '.') {
        i++;
        size_t d = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return -1;
    }
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '+' ? 1 : -1, hh, mm;
        i++;
        if (len - i < 4 || two(s + i, &hh))
            return -1;
        i += 2;
        if (s[i] == ':')
            i++;
        if (len - i < 2 || two(s + i, &mm) || hh > 23 || mm > 59)
            return -1;
        i += 2;
        t -= sign * (hh * 3600 + mm * 60);
    }
    if (i != len || t < 0 || t > PHM_HASHLIST_TIME_MAX)
        return -1;
    *out = t;
    return 0;
}

int hl_json_time(phm_hashlist_reader *r, json_t *v, const char *what, phm_entry *e, char *err,
                 size_t errlen)
{
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        char b[32];
        int n = snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (n > 0 && hl_feed_time(b, (size_t)n, &e->added) == 0)
            return 0;
    } else if (json_is_string(v) &&
               hl_feed_time(json_string_value(v), json_string_length(v), &e->added) == 0) {
        return 0;
    }
    return HL_LINE_ERR("invalid time in \"%s\": expected unix seconds or ISO 8601", what);
}

int hl_bool_text(const char *s, size_t len)
{
    hl_trim(&s, &len);
    static const char *const yes[] = { "true", "yes", "1", "y" };
    static const char *const no[] = { "false", "no", "0", "n" };
    for (size_t i = 0; i < 4; i++) {
        if (hl_same_name(s, len, yes[i], 1))
            return 1;
        if (hl_same_name(s, len, no[i], 1))
            return 0;
    }
    return -1;
}

int hl_unknown_field(phm_hashlist_reader *r, const char *key)
{
    if (!r->warned_fields) {
        hl_shown_buf b;
        r->warned_fields = 1;
        hl_warn(r, "ignoring field \"%s\" (and any other this format does not map)",
                HL_SHOW(b, key, strlen(key)));
    }
    return 0;
}
