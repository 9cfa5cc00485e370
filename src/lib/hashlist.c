/* hashlist.c - the hash-list reader: input, lines, detection, the line
 * formats (pdq, hex, hma), field values, vPDQ files, times and format
 * names (include/phmatch.h "Hash lists", docs/HASHLISTS.md). csv/tsv are
 * in hashlist_delimited.c, jsonl in hashlist_json.c, the writers in
 * hashlist_write.c. */
#include "hashlist_internal.h"
#include "decimal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- */
/* Columns and keys                                                  */

/* csv/tsv column names and jsonl keys. csv/tsv compare them without
 * regard to ASCII case; JSON keys are case-sensitive. */
static const struct {
    const char *name;
    hl_col kind;
} column_names[] = {
    { "signal_type", COL_SIGNAL_TYPE },
    { "hash", COL_HASH },       { "pdq", COL_HASH },
    { "signal", COL_HASH },     { "signal_str", COL_HASH },
    { "quality", COL_QUALITY },
    { "source", COL_SOURCE },   { "list", COL_SOURCE },
    { "collab", COL_SOURCE },
    { "id", COL_ID },           { "external_id", COL_ID },
    { "bank_content_id", COL_ID },
    { "name", COL_NAME },       { "path", COL_NAME },
    { "category", COL_CATEGORY }, { "label", COL_CATEGORY },
    { "note", COL_NOTE },
    { "added", COL_ADDED },     { "time", COL_ADDED },
    { "md5", COL_MD5 },         { "sha1", COL_SHA1 },
    { "sha256", COL_SHA256 },
};
#define NCOLUMN_NAMES (sizeof column_names / sizeof column_names[0])

const hl_digest hl_digests[HL_NDIGESTS] = {
    { COL_MD5, PHM_SIG_MD5, 16, "md5" },
    { COL_SHA1, PHM_SIG_SHA1, 20, "sha1" },
    { COL_SHA256, PHM_SIG_SHA256, 32, "sha256" },
};

uint8_t *hl_digest_bytes(phm_entry *e, size_t which)
{
    return which == 0 ? e->md5 : which == 1 ? e->sha1 : e->sha256;
}

static int lower_ascii(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int hl_same_name(const char *s, size_t len, const char *lit, int nocase)
{
    size_t n = strlen(lit);
    if (n != len)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int a = (unsigned char)s[i], b = (unsigned char)lit[i];
        if (nocase) {
            a = lower_ascii(a);
            b = lower_ascii(b);
        }
        if (a != b)
            return 0;
    }
    return 1;
}

hl_col hl_column_kind(const char *s, size_t len, int nocase)
{
    for (size_t i = 0; i < NCOLUMN_NAMES; i++)
        if (hl_same_name(s, len, column_names[i].name, nocase))
            return column_names[i].kind;
    return COL_UNKNOWN;
}

/* ---------------------------------------------------------------- */
/* Small text helpers                                                */

int hl_is_space(int c)
{
    return c == ' ' || c == '\t';
}

void hl_trim(const char **s, size_t *len)
{
    while (*len > 0 && hl_is_space((unsigned char)(*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && hl_is_space((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* Position of the first byte of s[0..len) that is not a hex digit, or len. */
static size_t first_non_hex(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && phm_hex_value(s[i]) >= 0)
        i++;
    return i;
}

/* Decimal digits only, at most `max`. Returns 0 or -1. */
static int parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d > 9 || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

const char *hl_shown(char *out, size_t outlen, const char *s, size_t len, size_t max)
{
    size_t n = 0;
    if (outlen == 0)
        return out;
    for (size_t i = 0; i < len && i < max && n + 1 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (len > max)
        for (int k = 0; k < 3 && n + 1 < outlen; k++)
            out[n++] = '.';
    out[n] = '\0';
    return out;
}

/* ---------------------------------------------------------------- */
/* Time                                                              */

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days before month m (1..12) in a common year. */
static const int month_start[13] = { 0,   0,   31,  59,  90,  120, 151,
                                     181, 212, 243, 273, 304, 334 };

static int month_days(int64_t y, int m)
{
    static const int len[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return len[m] + (m == 2 && is_leap(y));
}

/* Leap years in 1..y-1 (proleptic Gregorian). */
static int64_t leaps_before(int64_t y)
{
    y -= 1;
    return y / 4 - y / 100 + y / 400;
}

/* Days from 1970-01-01 to y-m-d, for y >= 1970. */
static int64_t days_since_epoch(int64_t y, int m, int d)
{
    return 365 * (y - 1970) + leaps_before(y) - leaps_before(1970) +
           month_start[m] + (m > 2 && is_leap(y)) + d - 1;
}

/* Exactly `n` decimal digits at s. */
static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = (unsigned char)s[i] - '0';
        if (d < 0 || d > 9)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int phm_hashlist_parse_time(const char *s, size_t len, int64_t *out)
{
    int y, mo, d, h, mi, sec;
    uint64_t v;

    if (!s || !out)
        return PHM_ERR_INVALID;
    if (len > 0 && len <= 12 &&
        parse_uint(s, len, (uint64_t)PHM_HASHLIST_TIME_MAX, &v) == 0) {
        *out = (int64_t)v;
        return PHM_OK;
    }
    /* YYYY-MM-DDTHH:MM:SSZ */
    if (len != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z')
        return PHM_ERR_INVALID;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
        return PHM_ERR_INVALID;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 ||
        mi > 59 || sec > 59)
        return PHM_ERR_INVALID;
    *out = days_since_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    return PHM_OK;
}

/* Writes v as exactly `n` digits at out. */
static void put_digits(char *out, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + (int)(v % 10));
        v /= 10;
    }
}

int phm_hashlist_format_time(int64_t t, char out[21])
{
    out[0] = '\0';
    if (t < 0 || t > PHM_HASHLIST_TIME_MAX)
        return PHM_ERR_INVALID;
    int64_t days = t / 86400, secs = t % 86400;
    int64_t y = 1970 + days / 366; /* at or below the year */
    while (days_since_epoch(y + 1, 1, 1) <= days)
        y++;
    int64_t left = days - days_since_epoch(y, 1, 1);
    int m = 1;
    while (left >= month_days(y, m)) {
        left -= month_days(y, m);
        m++;
    }
    put_digits(out, y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, left + 1, 2);
    out[10] = 'T';
    put_digits(out + 11, secs / 3600, 2);
    out[13] = ':';
    put_digits(out + 14, secs / 60 % 60, 2);
    out[16] = ':';
    put_digits(out + 17, secs % 60, 2);
    out[19] = 'Z';
    out[20] = '\0';
    return PHM_OK;
}

/* ---------------------------------------------------------------- */
/* Formats                                                           */

static const char *const format_names[] = {
    [PHM_HASHLIST_AUTO] = "auto", [PHM_HASHLIST_PDQ] = "pdq",
    [PHM_HASHLIST_HEX] = "hex",   [PHM_HASHLIST_HMA] = "hma",
    [PHM_HASHLIST_CSV] = "csv",   [PHM_HASHLIST_TSV] = "tsv",
    [PHM_HASHLIST_JSONL] = "jsonl", [PHM_HASHLIST_VPDQ] = "vpdq",
    [PHM_HASHLIST_VICS] = "vics", [PHM_HASHLIST_NCMEC] = "ncmec",
    [PHM_HASHLIST_STOPNCII] = "stopncii", [PHM_HASHLIST_THREATEXCHANGE] = "threatexchange",
    [PHM_HASHLIST_THREATEXCHANGE_CSV] = "threatexchange-csv", [PHM_HASHLIST_TAT] = "tat",
    [PHM_HASHLIST_ICSE] = "icse",
};
#define NFORMATS (sizeof format_names / sizeof format_names[0])

int phm_hashlist_format_parse(const char *name, phm_hashlist_format *out)
{
    if (!name || !out)
        return PHM_ERR_INVALID;
    for (size_t i = 0; i < NFORMATS; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (phm_hashlist_format)i;
            return PHM_OK;
        }
    }
    if (strcmp(name, "json") == 0) {
        *out = PHM_HASHLIST_JSONL;
        return PHM_OK;
    }
    return PHM_ERR_INVALID;
}

const char *phm_hashlist_format_name(phm_hashlist_format fmt)
{
    return (size_t)fmt < NFORMATS ? format_names[fmt] : "unknown";
}

/* ---------------------------------------------------------------- */
/* Messages                                                          */

/* "NAME:LINE: message" of the current record into msg. */
static void format_at(const phm_hashlist_reader *r, char msg[PHM_HASHLIST_ERRMSG_MAX],
                      const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void format_at(const phm_hashlist_reader *r, char msg[PHM_HASHLIST_ERRMSG_MAX],
                      const char *fmt, va_list ap)
{
    int n = snprintf(msg, PHM_HASHLIST_ERRMSG_MAX, r->by_record ? "%s: record %llu: " : "%s:%llu: ",
                     r->name, (unsigned long long)r->rec_line);
    if (n < 0)
        n = 0;
    if ((size_t)n < PHM_HASHLIST_ERRMSG_MAX)
        vsnprintf(msg + n, PHM_HASHLIST_ERRMSG_MAX - (size_t)n, fmt, ap);
}

int hl_fail(phm_hashlist_reader *r, char *err, size_t errlen, int status, const char *fmt, ...)
{
    char msg[PHM_HASHLIST_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    format_at(r, msg, fmt, ap);
    va_end(ap);
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    if (status != PHM_ERR_CORRUPT) {
        r->fatal = status;
        snprintf(r->fatal_msg, sizeof r->fatal_msg, "%s", msg);
    }
    return status;
}

int hl_read_failed(phm_hashlist_reader *r, char *err, size_t errlen)
{
    int e = errno;
    r->rec_line = r->lineno + 1;
    return hl_fail(r, err, errlen, PHM_ERR_UNREADABLE, "cannot read: %s",
                   e ? strerror(e) : "I/O error");
}

void hl_warn(phm_hashlist_reader *r, const char *fmt, ...)
{
    char msg[PHM_HASHLIST_ERRMSG_MAX];
    va_list ap;
    if (!r->opt.warn)
        return;
    va_start(ap, fmt);
    format_at(r, msg, fmt, ap);
    va_end(ap);
    r->opt.warn(r->opt.warn_ctx, msg);
}

/* ---------------------------------------------------------------- */
/* Opening                                                           */

/* The id of a vPDQ file's video: the base name of `name` without a
 * trailing ".txt" or ".vpdq". */
static void video_id_of(const char *name, char *out, size_t len)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    size_t n = strlen(base);
    static const char *const ext[] = { ".txt", ".vpdq" };
    for (size_t i = 0; i < 2; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcmp(base + n - e, ext[i]) == 0) {
            n -= e;
            break;
        }
    }
    if (n >= len)
        n = len - 1;
    memcpy(out, base, n);
    out[n] = '\0';
}

/* The formats whose records are numbered, not their lines. */
static int is_document(phm_hashlist_format fmt)
{
    return fmt == PHM_HASHLIST_VICS || fmt == PHM_HASHLIST_NCMEC ||
           fmt == PHM_HASHLIST_STOPNCII || fmt == PHM_HASHLIST_THREATEXCHANGE ||
           fmt == PHM_HASHLIST_TAT;
}

static int open_reader(phm_hashlist_reader **out, FILE *fp, const void *mem, size_t mem_len,
                       const char *name, phm_hashlist_format fmt,
                       const phm_hashlist_options *opt, char *err, size_t errlen)
{
    static const phm_hashlist_options defaults = { 0 };
    phm_hashlist_reader *r;
    const char *src, *cat;

    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return PHM_ERR_INVALID;
    *out = NULL;
    if ((!fp && !mem && mem_len) || !name || (size_t)fmt >= NFORMATS) {
        if (err && errlen)
            snprintf(err, errlen, "cannot read hash list: invalid argument");
        return PHM_ERR_INVALID;
    }
    if (!opt)
        opt = &defaults;
    src = opt->source ? opt->source : "";
    cat = opt->category ? opt->category : "";
    if (strlen(src) > PHM_HASHLIST_SOURCE_MAX || strlen(cat) > PHM_HASHLIST_CATEGORY_MAX ||
        (opt->video_id && strlen(opt->video_id) > PHM_HASHLIST_ID_MAX)) {
        if (err && errlen)
            snprintf(err, errlen, "the default %s is longer than %d bytes",
                     strlen(src) > PHM_HASHLIST_SOURCE_MAX   ? "source"
                     : strlen(cat) > PHM_HASHLIST_CATEGORY_MAX ? "category"
                                                               : "video id",
                     strlen(src) > PHM_HASHLIST_SOURCE_MAX     ? PHM_HASHLIST_SOURCE_MAX
                     : strlen(cat) > PHM_HASHLIST_CATEGORY_MAX ? PHM_HASHLIST_CATEGORY_MAX
                                                               : PHM_HASHLIST_ID_MAX);
        return PHM_ERR_INVALID;
    }
    r = malloc(sizeof *r);
    if (!r) {
        if (err && errlen)
            snprintf(err, errlen, "cannot read hash list: out of memory");
        return PHM_ERR_NOMEM;
    }
    /* Only the small fields are cleared; the buffers need no zeroing. */
    memset(r, 0, offsetof(phm_hashlist_reader, ncols));
    r->fp = fp;
    r->mem = mem;
    r->mem_len = mem ? mem_len : 0;
    r->fmt = fmt;
    r->first_line = 1;
    r->opt = *opt;
    r->opt.source = r->opt.category = r->opt.video_id = NULL; /* copied */
    memcpy(r->def_source, src, strlen(src) + 1);
    memcpy(r->def_category, cat, strlen(cat) + 1);
    if (opt->video_id)
        memcpy(r->video_id, opt->video_id, strlen(opt->video_id) + 1);
    else
        video_id_of(name, r->video_id, sizeof r->video_id);
    hl_shown(r->name, sizeof r->name, name, strlen(name), HL_NAME_SHOWN_MAX);
    r->ncols = 0;
    r->nfields = 0;
    for (int k = 0; k < COL_KINDS; k++)
        r->colidx[k] = -1;
    r->start = r->end = 0;
    r->big = NULL;
    r->big_cap = 0;
    r->sep = ',';
    r->js = NULL;
    r->xml = r->xin = r->vcase = NULL;
    r->vcase_next = 0;
    r->warned_fields = 0;
    r->by_record = is_document(fmt);
    phm_vpdq_init(&r->video);
    phm_vpdq_init(&r->one);
    *out = r;
    return PHM_OK;
}

int phm_hashlist_reader_open(phm_hashlist_reader **out, FILE *fp, const char *name,
                             phm_hashlist_format fmt, const phm_hashlist_options *opt,
                             char *err, size_t errlen)
{
    if (!fp) {
        if (out)
            *out = NULL;
        if (err && errlen)
            snprintf(err, errlen, "cannot read hash list: invalid argument");
        return PHM_ERR_INVALID;
    }
    return open_reader(out, fp, NULL, 0, name, fmt, opt, err, errlen);
}

int phm_hashlist_reader_open_mem(phm_hashlist_reader **out, const void *data, size_t len,
                                 const char *name, phm_hashlist_format fmt,
                                 const phm_hashlist_options *opt, char *err, size_t errlen)
{
    static const unsigned char empty[1];
    return open_reader(out, NULL, data ? data : (len ? NULL : empty), len, name, fmt, opt, err,
                       errlen);
}

void phm_hashlist_reader_close(phm_hashlist_reader *r)
{
    if (!r)
        return;
    hl_ahead_close(r); /* first: its thread uses the rest */
    free(r->big);
    hl_doc_close(r);
    hl_ncmec_close(r);
    phm_vpdq_clear(&r->video);
    phm_vpdq_clear(&r->one);
    free(r);
}

/* While a read-ahead thread runs, the reader's own fields are its: these
 * answer from what came with the last record handed out (hl_ahead_state). */
phm_hashlist_format phm_hashlist_reader_format(const phm_hashlist_reader *r)
{
    if (r && r->ahead)
        return hl_ahead_state(r)->fmt;
    return r ? r->fmt : PHM_HASHLIST_AUTO; /* PHM_HASHLIST_AUTO until detected */
}

uint64_t phm_hashlist_reader_line(const phm_hashlist_reader *r)
{
    if (r && r->ahead)
        return hl_ahead_state(r)->rec_line;
    return r ? r->rec_line : 0;
}

const char *phm_hashlist_reader_where(const phm_hashlist_reader *r, char *out, size_t outlen)
{
    if (!out || !outlen)
        return out;
    if (!r) {
        out[0] = '\0';
        return out;
    }
    const hl_where *w = r->ahead ? hl_ahead_state(r) : NULL;
    int by_record = w ? w->by_record : r->by_record;
    uint64_t line = w ? w->rec_line : r->rec_line;
    snprintf(out, outlen, by_record ? "%s: record %llu" : "%s:%llu", r->name,
             (unsigned long long)line);
    return out;
}

uint64_t phm_hashlist_reader_skipped(const phm_hashlist_reader *r)
{
    if (r && r->ahead)
        return hl_ahead_state(r)->skipped;
    return r ? r->skipped : 0;
}

/* ---------------------------------------------------------------- */
/* Input and lines                                                   */

/* Up to n bytes of input into dst. Returns the count; 0 at the end or on
 * an error (*failed then set). */
static size_t input(phm_hashlist_reader *r, unsigned char *dst, size_t n, int *failed)
{
    *failed = 0;
    if (r->fp) {
        size_t got = fread(dst, 1, n, r->fp);
        if (got == 0 && ferror(r->fp))
            *failed = 1;
        return got;
    }
    size_t left = r->mem_len - r->mem_pos;
    if (n > left)
        n = left;
    if (n)
        memcpy(dst, r->mem + r->mem_pos, n);
    r->mem_pos += n;
    return n;
}

/* Whether the line starting at p (n bytes, no newline among them) is a
 * JSON object, which may be long. */
/* The first byte of p[0..*n) after a UTF-8 byte order mark (if `bom`) and
 * blanks (spaces and tabs; CR and LF too if `newlines`); *n is what is
 * left from there. */
static const unsigned char *skip_lead(const unsigned char *p, size_t *n, int bom, int newlines)
{
    if (bom && *n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        p += 3;
        *n -= 3;
    }
    while (*n && (*p == ' ' || *p == '\t' || (newlines && (*p == '\r' || *p == '\n')))) {
        p++;
        (*n)--;
    }
    return p;
}

static int starts_object(const phm_hashlist_reader *r, const unsigned char *p, size_t n)
{
    p = skip_lead(p, &n, r->first_line, 0);
    return n && *p == '{';
}

enum { LONG_OVER = 2 };

/* Reads the rest of a long object line whose start is buf[start, end) into
 * r->big. Returns 1 (the line in *line, *len), PHM_ERR_UNREADABLE,
 * PHM_ERR_NOMEM, or LONG_OVER past PHM_HASHLIST_OBJECT_LINE_MAX (the
 * reader is then discarding the rest of the line). */
static int long_line(phm_hashlist_reader *r, const char **line, size_t *len)
{
    size_t n = 0;
    for (;;) {
        unsigned char *p = r->buf + r->start;
        size_t avail = r->end - r->start;
        unsigned char *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) : avail;
        if (n + take > PHM_HASHLIST_OBJECT_LINE_MAX) {
            r->discarding = 1;
            return LONG_OVER;
        }
        if (n + take + 1 > r->big_cap) {
            size_t cap = r->big_cap ? r->big_cap : HL_BUF_CAP;
            while (cap < n + take + 1)
                cap *= 2;
            char *b = realloc(r->big, cap);
            if (!b)
                return PHM_ERR_NOMEM;
            r->big = b;
            r->big_cap = cap;
        }
        memcpy(r->big + n, p, take);
        n += take;
        r->start += take + (nl ? 1 : 0);
        if (nl)
            break;
        r->start = r->end = 0;
        int failed;
        size_t got = input(r, r->buf, HL_BUF_CAP, &failed);
        if (got == 0) {
            if (failed)
                return PHM_ERR_UNREADABLE;
            r->eof = 1;
            break;
        }
        r->end = got;
    }
    r->lineno++;
    const char *s = r->big;
    if (r->first_line && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3;
        n -= 3;
    }
    r->first_line = 0;
    *line = s;
    *len = n;
    return 1;
}

int hl_next_line(phm_hashlist_reader *r, const char **line, size_t *len)
{
    if (r->pending) {
        r->pending = 0;
        *line = r->pend_line;
        *len = r->pend_len;
        return 1;
    }
    for (;;) {
        size_t avail = r->end - r->start;
        unsigned char *p = r->buf + r->start;
        unsigned char *nl = avail ? memchr(p, '\n', avail) : NULL;
        if (nl || (r->eof && (avail || r->discarding))) {
            size_t n = nl ? (size_t)(nl - p) : avail;
            r->start += nl ? n + 1 : n;
            r->lineno++;
            if (r->discarding || n > PHM_HASHLIST_LINE_MAX) {
                r->discarding = 0;
                r->first_line = 0;
                return HL_LINE_TOO_LONG;
            }
            if (r->first_line) {
                r->first_line = 0;
                if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
                    p += 3; /* a UTF-8 byte order mark */
                    n -= 3;
                }
            }
            *line = (const char *)p;
            *len = n;
            return 1;
        }
        if (r->eof)
            return 0;
        if (avail > PHM_HASHLIST_LINE_MAX && !r->discarding && starts_object(r, p, avail)) {
            int rc = long_line(r, line, len);
            if (rc != LONG_OVER)
                return rc;
            continue; /* discarding the rest */
        }
        if (avail > PHM_HASHLIST_LINE_MAX) {
            /* No newline within the limit: drop what we have and the rest
             * of the line as it arrives. */
            r->discarding = 1;
            r->start = r->end = 0;
            avail = 0;
        }
        if (r->start) {
            memmove(r->buf, r->buf + r->start, avail);
            r->start = 0;
            r->end = avail;
        }
        int failed;
        size_t got = input(r, r->buf + r->end, HL_BUF_CAP - r->end, &failed);
        if (got == 0) {
            if (failed)
                return PHM_ERR_UNREADABLE;
            r->eof = 1;
        }
        r->end += got;
    }
}

void hl_strip_cr(size_t *len, const char *line)
{
    if (*len > 0 && line[*len - 1] == '\r')
        (*len)--;
}

/* Blank (spaces and tabs only) or a '#' comment. */
static int is_blank_or_comment(const char *line, size_t len)
{
    const char *s = line;
    size_t n = len;
    hl_trim(&s, &n);
    return n == 0 || line[0] == '#';
}

/* ---------------------------------------------------------------- */
/* Field values                                                      */

int hl_set_hash(phm_hashlist_reader *r, phm_entry *e, const char *s, size_t len, char *err,
                size_t errlen)
{
    hl_shown_buf b;
    hl_trim(&s, &len);
    if (len == 0)
        return HL_LINE_ERR("missing hash");
    if (phm_pdq_from_hex(s, len, &e->pdq) == PHM_OK) {
        e->signals |= PHM_SIG_PDQ;
        return 0;
    }
    size_t bad = first_non_hex(s, len);
    if (bad < len)
        return HL_LINE_ERR("invalid hash: '%s' at position %zu is not a hex digit",
                           HL_SHOW(b, s + bad, 1), bad + 1);
    return HL_LINE_ERR("invalid hash: %zu hex digits, expected 64", len);
}

int hl_set_quality(phm_hashlist_reader *r, phm_entry *e, const char *s, size_t len, char *err,
                   size_t errlen)
{
    hl_shown_buf b;
    uint64_t v;
    hl_trim(&s, &len);
    if (len == 0) {
        e->quality = -1;
        return 0;
    }
    if (parse_uint(s, len, UINT32_MAX, &v) != 0)
        return HL_LINE_ERR("invalid quality '%s': not an integer 0..100", HL_SHOW(b, s, len));
    if (v > 100)
        return HL_LINE_ERR("quality '%s' is out of range 0..100", HL_SHOW(b, s, len));
    e->quality = (int)v;
    return 0;
}

int hl_set_added(phm_hashlist_reader *r, phm_entry *e, const char *s, size_t len, char *err,
                 size_t errlen)
{
    hl_shown_buf b;
    hl_trim(&s, &len);
    if (len == 0) {
        e->added = 0;
        return 0;
    }
    if (phm_hashlist_parse_time(s, len, &e->added) != PHM_OK)
        return HL_LINE_ERR("invalid added time '%s': expected unix seconds or "
                           "YYYY-MM-DDTHH:MM:SSZ (1970 to 9999)",
                           HL_SHOW(b, s, len));
    return 0;
}

int hl_set_digest(phm_hashlist_reader *r, phm_entry *e, size_t which, const char *s, size_t len,
                  char *err, size_t errlen)
{
    hl_shown_buf b;
    size_t n = hl_digests[which].size;
    hl_trim(&s, &len);
    if (len == 0)
        return 0;
    size_t bad = first_non_hex(s, len);
    if (bad < len)
        return HL_LINE_ERR("invalid %s: '%s' at position %zu is not a hex digit",
                           hl_digests[which].name, HL_SHOW(b, s + bad, 1), bad + 1);
    if (len != 2 * n)
        return HL_LINE_ERR("invalid %s: %zu hex digits, expected %zu", hl_digests[which].name,
                           len, 2 * n);
    (void)phm_hex_decode(s, len, hl_digest_bytes(e, which), n); /* checked above */
    e->signals |= hl_digests[which].sig;
    return 0;
}

int hl_set_string(phm_hashlist_reader *r, char *dst, size_t max, const char *what, const char *s,
                  size_t len, char *err, size_t errlen)
{
    if (len > max)
        return HL_LINE_ERR("%s is longer than %zu bytes (%zu)", what, max, len);
    if (memchr(s, '\0', len))
        return HL_LINE_ERR("%s contains a NUL byte", what);
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

int hl_check_signal_type(phm_hashlist_reader *r, const char *s, size_t len, char *err,
                         size_t errlen)
{
    hl_shown_buf b;
    hl_trim(&s, &len);
    if (len == 0 || hl_same_name(s, len, "pdq", 1))
        return 0;
    if (!r->opt.skip_other_signals)
        return HL_LINE_ERR("signal type '%s' is not pdq", HL_SHOW(b, s, len));
    r->skipped++;
    if (!r->warned_signal) {
        r->warned_signal = 1;
        hl_warn(r, "skipping records of signal type '%s' and any other but pdq",
                HL_SHOW(b, s, len));
    }
    return 1;
}

int hl_set_video(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    if (r->video.count > PHM_INDEX_MAX_VIDEO_FRAMES)
        return HL_LINE_ERR("a video of more than %u frames", PHM_INDEX_MAX_VIDEO_FRAMES);
    e->signals |= PHM_SIG_VPDQ;
    e->frames = r->video.frames;
    e->nframes = r->video.count;
    return 0;
}

/* What every read starts from: no signals, unknown values, the reader's
 * empty text. */
static void entry_reset(phm_hashlist_reader *r, phm_entry *e)
{
    /* all but the variants' array (1.3 KB), of which only the first
     * nvariants (now 0) count: this runs for every record */
    memset(e, 0, offsetof(phm_entry, variants));
    e->quality = -1;
    r->source[0] = r->id[0] = r->category[0] = r->note[0] = '\0';
    e->source = r->source;
    e->id = r->id;
    e->category = r->category;
    e->note = r->note;
}

/* Defaults for what the record did not give. */
static void finish_entry(phm_hashlist_reader *r)
{
    if (!r->id[0]) /* the line number */
        phm__u64_dec(r->id, r->rec_line);
    if (!r->source[0])
        memcpy(r->source, r->def_source, strlen(r->def_source) + 1);
    if (!r->category[0])
        memcpy(r->category, r->def_category, strlen(r->def_category) + 1);
}

/* ---------------------------------------------------------------- */
/* Line formats                                                      */

/* Undoes phm_pdq_name_fwrite()'s escapes of the name s[0..len) into
 * r->fbuf (never longer than s), *out its length. A backslash that starts
 * no escape is an error, not a guess. */
static int unescape_name(phm_hashlist_reader *r, const char *s, size_t len, size_t *out,
                         char *err, size_t errlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\') {
            char e = i + 1 < len ? s[i + 1] : '\0';
            int hi, lo;
            if (e == '\\' || e == 'n' || e == 'r' || e == 't') {
                c = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : '\\';
                i++;
            } else if (e == 'x' && i + 3 < len &&
                       (hi = phm_hex_value((unsigned char)s[i + 2])) >= 0 &&
                       (lo = phm_hex_value((unsigned char)s[i + 3])) >= 0 && (hi | lo)) {
                c = (char)(hi << 4 | lo);
                i += 3;
            } else {
                hl_shown_buf b;
                return HL_LINE_ERR("invalid escape '%s' in the name: the escapes are "
                                   "\\\\ \\n \\r \\t and \\xHH (not \\x00)",
                                   HL_SHOW(b, s + i, len - i < 4 ? len - i : 4));
            }
        }
        r->fbuf[n++] = c;
    }
    *out = n;
    return 0;
}

/* hash,quality[,name]: the name is everything after the second comma,
 * commas included, with phm_pdq_name_fwrite()'s escapes undone. */
static int parse_pdq(phm_hashlist_reader *r, const char *line, size_t len, phm_entry *e,
                     char *err, size_t errlen)
{
    const char *c1 = memchr(line, ',', len);
    if (!c1)
        return HL_LINE_ERR("expected 'hash,quality,name'");
    int rc = hl_set_hash(r, e, line, (size_t)(c1 - line), err, errlen);
    if (rc)
        return rc;
    const char *q = c1 + 1, *end = line + len;
    const char *c2 = memchr(q, ',', (size_t)(end - q));
    rc = hl_set_quality(r, e, q, (size_t)((c2 ? c2 : end) - q), err, errlen);
    if (rc || !c2)
        return rc;
    size_t n = 0;
    if ((rc = unescape_name(r, c2 + 1, (size_t)(end - c2 - 1), &n, err, errlen)) != 0)
        return rc;
    return hl_set_string(r, r->id, PHM_HASHLIST_ID_MAX, "name", r->fbuf, n, err, errlen);
}

/* TYPE HASH, separated by spaces or tabs. Returns 0, 1 (skipped) or an
 * error. */
static int parse_hma(phm_hashlist_reader *r, const char *line, size_t len, phm_entry *e,
                     char *err, size_t errlen)
{
    const char *s = line;
    size_t n = len, t = 0;
    hl_trim(&s, &n);
    while (t < n && !hl_is_space((unsigned char)s[t]))
        t++;
    const char *v = s + t;
    size_t vlen = n - t;
    hl_trim(&v, &vlen);
    if (vlen == 0)
        return HL_LINE_ERR("expected 'pdq HASH'");
    /* HMA's local file: pdq, video_md5 and md5 (a file's MD5) */
    int md5 = hl_same_name(s, t, "md5", 1) || hl_same_name(s, t, "video_md5", 1);
    int rc = md5 ? 0 : hl_check_signal_type(r, s, t, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < vlen; i++)
        if (hl_is_space((unsigned char)v[i]))
            return HL_LINE_ERR("unexpected text after the hash");
    if (md5)
        return hl_set_digest(r, e, 0, v, vlen, err, errlen);
    return hl_set_hash(r, e, v, vlen, err, errlen);
}

/* ---------------------------------------------------------------- */
/* vPDQ files                                                        */

/* The whole file as one video entry. Returns PHM_HASHLIST_RECORD,
 * PHM_HASHLIST_EOF (an empty file, or after the record) or an error; after
 * a bad line the rest of the file is not read. */
static int read_video_file(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    const char *line;
    size_t len;
    uint64_t first = 0;
    int rc;

    if (r->video_done)
        return PHM_HASHLIST_EOF;
    r->video_done = 1;
    r->video.count = 0;
    for (;;) {
        rc = hl_next_line(r, &line, &len);
        if (rc == 0)
            break;
        r->rec_line = r->lineno;
        if (rc == HL_LINE_TOO_LONG)
            return HL_LINE_ERR("line longer than %d bytes", PHM_HASHLIST_LINE_MAX);
        if (rc == PHM_ERR_NOMEM)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        if (rc < 0)
            return hl_read_failed(r, err, errlen);
        hl_strip_cr(&len, line);
        if (len == 0)
            continue;
        if (!first) {
            first = r->lineno;
            if (!r->opt.allow_video)
                return HL_LINE_ERR("a vPDQ file is a video, not a hash to look up: "
                                   "match it with 'phmatch match'");
            if (!r->def_source[0])
                return HL_LINE_ERR("a vPDQ file names no source: give --source");
        }
        char perr[PHM_ERRMSG_MAX];
        rc = phm_vpdq_parse(line, len, NULL, &r->one, perr, sizeof perr);
        if (rc == PHM_ERR_NOMEM)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        if (rc != PHM_OK || r->one.count != 1) {
            const char *why = strstr(perr, "line 1: ");
            return HL_LINE_ERR("invalid vPDQ line: %s", why ? why + 8 : "not one frame");
        }
        if (r->video.count >= PHM_INDEX_MAX_VIDEO_FRAMES)
            return HL_LINE_ERR("a video of more than %u frames", PHM_INDEX_MAX_VIDEO_FRAMES);
        if (phm_vpdq_append(&r->video, &r->one.frames[0]) != PHM_OK)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
    }
    if (!first)
        return PHM_HASHLIST_EOF;
    r->rec_line = first;
    entry_reset(r, e);
    memcpy(r->id, r->video_id, strlen(r->video_id) + 1);
    if ((rc = hl_set_video(r, e, err, errlen)) != 0)
        return rc;
    finish_entry(r);
    return PHM_HASHLIST_RECORD;
}

/* ---------------------------------------------------------------- */
/* Detection and reading                                             */

static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_ident(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '_';
}

/* ICSE's header: semicolons, the first field MD5 (quoted or not). */
static int is_icse_header(const char *s, size_t n)
{
    const char *semi = memchr(s, ';', n);
    if (!semi)
        return 0;
    const char *f = s;
    size_t fl = (size_t)(semi - s);
    hl_trim(&f, &fl);
    if (fl >= 2 && f[0] == '"' && f[fl - 1] == '"') {
        f++;
        fl -= 2;
    }
    return hl_same_name(f, fl, "MD5", 1);
}

/* Whether s[0..n) holds `word`, ignoring ASCII case. */
static int has_word(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++)
        if (hl_same_name(s + i, w, word, 1))
            return 1;
    return 0;
}

/* The format of a first line (not blank, not a comment, CR stripped), or
 * PHM_HASHLIST_AUTO when none fits. */
static phm_hashlist_format detect(const char *line, size_t len)
{
    const char *s = line;
    size_t n = len;
    hl_trim(&s, &n);
    if (s[0] == '{')
        return PHM_HASHLIST_JSONL;
    size_t h = first_non_hex(s, n);
    if (h == n && n == PHM_PDQ_HEX_LEN)
        return PHM_HASHLIST_HEX;
    if (h == PHM_PDQ_HEX_LEN && s[h] == ',')
        return PHM_HASHLIST_PDQ;
    if (phm_vpdq_detect(line, len))
        return PHM_HASHLIST_VPDQ;
    /* "TYPE HEX": an identifier, blanks, hex digits */
    size_t t = 0;
    if (is_ident_start((unsigned char)s[0])) {
        while (t < n && is_ident((unsigned char)s[t]))
            t++;
        if (t < n && hl_is_space((unsigned char)s[t])) {
            const char *v = s + t;
            size_t vn = n - t;
            hl_trim(&v, &vn);
            if (vn > 0 && first_non_hex(v, vn) == vn)
                return PHM_HASHLIST_HMA;
        }
    }
    if (is_icse_header(s, n))
        return PHM_HASHLIST_ICSE;
    if (has_word(line, len, "td_raw_indicator"))
        return PHM_HASHLIST_THREATEXCHANGE_CSV;
    if (memchr(line, '\t', len))
        return PHM_HASHLIST_TSV;
    if (memchr(line, ',', len) || memchr(line, '"', len))
        return PHM_HASHLIST_CSV;
    if (hl_column_kind(s, n, 1) != COL_UNKNOWN)
        return PHM_HASHLIST_CSV; /* a one-column header */
    return PHM_HASHLIST_AUTO;
}

/* The formats read as csv records with a header line. */
static int is_delimited(phm_hashlist_format fmt)
{
    return fmt == PHM_HASHLIST_CSV || fmt == PHM_HASHLIST_TSV || fmt == PHM_HASHLIST_ICSE ||
           fmt == PHM_HASHLIST_THREATEXCHANGE_CSV;
}

/* With PHM_HASHLIST_AUTO: fills the line buffer (without consuming it)
 * and looks at the first byte that is not blank: '<' is an NCMEC XML
 * document, '{' a JSON document when its top-level keys name one (else
 * jsonl, decided by the lines). *f is the format, or PHM_HASHLIST_AUTO
 * for the line rules. 0 or PHM_ERR_UNREADABLE. */
static int peek_document(phm_hashlist_reader *r, phm_hashlist_format *f)
{
    *f = PHM_HASHLIST_AUTO;
    while (r->end < HL_BUF_CAP && !r->eof) {
        int failed;
        size_t got = input(r, r->buf + r->end, HL_BUF_CAP - r->end, &failed);
        if (got == 0) {
            if (failed)
                return PHM_ERR_UNREADABLE;
            r->eof = 1;
        }
        r->end += got;
    }
    size_t n = r->end - r->start;
    const unsigned char *p = skip_lead(r->buf + r->start, &n, 1, 1);
    if (n && *p == '<')
        *f = PHM_HASHLIST_NCMEC;
    else if (n && *p == '{' && hl_doc_detect(p, n) != PHM_HASHLIST_JSONL)
        *f = hl_doc_detect(p, n);
    return 0;
}

/* Finds the format and reads a csv/tsv header. Returns 1 ready, 0 at the
 * end (an empty list), or a sticky error. */
static int start(phm_hashlist_reader *r, char *err, size_t errlen)
{
    const char *line;
    size_t len;
    int rc;

    if (r->fmt == PHM_HASHLIST_AUTO) {
        phm_hashlist_format f;
        rc = peek_document(r, &f);
        if (rc < 0)
            return rc == PHM_ERR_NOMEM ? hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory")
                                       : hl_read_failed(r, err, errlen);
        if (f != PHM_HASHLIST_AUTO) {
            r->fmt = f;
            r->by_record = is_document(f);
        }
    }
    if (r->fmt == PHM_HASHLIST_ICSE)
        r->sep = ';';
    if (r->fmt != PHM_HASHLIST_AUTO && !is_delimited(r->fmt)) {
        r->started = 1;
        return 1;
    }
    for (;;) {
        rc = hl_next_line(r, &line, &len);
        r->rec_line = r->lineno;
        if (rc == 0) {
            r->started = 1;
            return 0;
        }
        if (rc == HL_LINE_TOO_LONG)
            return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                           r->fmt == PHM_HASHLIST_AUTO
                               ? "cannot detect the format: line longer than %d bytes"
                               : "header line longer than %d bytes",
                           PHM_HASHLIST_LINE_MAX);
        if (rc == PHM_ERR_NOMEM)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        if (rc < 0)
            return hl_read_failed(r, err, errlen);
        size_t n = len;
        hl_strip_cr(&n, line);
        if (!is_blank_or_comment(line, n))
            break;
    }
    if (r->fmt == PHM_HASHLIST_AUTO) {
        size_t n = len;
        hl_strip_cr(&n, line);
        r->fmt = detect(line, n);
        if (r->fmt == PHM_HASHLIST_AUTO)
            return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                           "cannot detect the format of this hash list (pdq, hex, hma, "
                           "csv, tsv, jsonl, vpdq, vics, ncmec, stopncii, threatexchange, "
                           "threatexchange-csv, tat or icse); name it with --format");
        if (r->fmt == PHM_HASHLIST_ICSE)
            r->sep = ';';
    }
    if (r->fmt == PHM_HASHLIST_CSV || r->fmt == PHM_HASHLIST_TSV) {
        rc = hl_read_header(r, line, len, err, errlen);
        if (rc < 0)
            return rc;
    } else if (is_delimited(r->fmt)) {
        rc = hl_split_fields(r, line, len, err, errlen);
        if (rc == 0)
            rc = hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED, "empty header");
        if (rc < 0)
            return rc;
        rc = r->fmt == PHM_HASHLIST_ICSE ? hl_icse_header(r, err, errlen)
                                         : hl_tecsv_header(r, err, errlen);
        if (rc < 0)
            return rc;
    } else {
        r->pending = 1; /* the line is the first record */
        r->pend_line = line;
        r->pend_len = len;
    }
    r->started = 1;
    return 1;
}

static int read_line(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen);

/* The next record of a JSON or XML document: 0 an entry, HL_REMOVED,
 * -1000 at the end, or an error. */
static int read_document(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    for (;;) {
        entry_reset(r, e);
        int rc = r->fmt == PHM_HASHLIST_NCMEC ? hl_ncmec_read(r, e, err, errlen)
                                              : hl_doc_read(r, e, err, errlen);
        if (rc == 1)
            continue; /* another signal type, skipped */
        if (rc == 0 || rc == HL_REMOVED) {
            finish_entry(r);
            return rc;
        }
        return rc == HL_DOC_EOF ? -1000 : rc;
    }
}

/* An entry read (0) or a deletion (HL_REMOVED) as phm_hashlist_read()
 * returns it. */
static int deliver(phm_hashlist_reader *r, int rc, phm_entry *e, char *err, size_t errlen)
{
    if (rc == HL_REMOVED) {
        hl_shown_buf b; /* an id may hold any byte but NUL (XML allows DEL) */
        if (!r->opt.allow_remove)
            return HL_LINE_ERR("a deletion record (of id '%s'): this reader applies no "
                               "deletions",
                               HL_SHOW(b, r->id, strlen(r->id)));
        return PHM_HASHLIST_REMOVE;
    }
    if (!e->signals)
        return HL_LINE_ERR(HL_NO_HASH_MSG);
    if ((rc = hl_check_entry(r, e, err, errlen)) != 0)
        return rc;
    return PHM_HASHLIST_RECORD;
}

int phm_hashlist_read(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!r || !e)
        return PHM_ERR_INVALID;
    if (!r->ahead_tried && r->opt.read_ahead) { /* opt is the thread's side */
        r->ahead_tried = 1;
        hl_ahead_start(r); /* when it cannot (not a file, no thread): read here */
    }
    if (r->ahead)
        return hl_ahead_read(r, e, err, errlen);
    return hl_read_one(r, e, err, errlen);
}

int hl_read_one(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (r->fatal) {
        if (err && errlen)
            snprintf(err, errlen, "%s", r->fatal_msg);
        return r->fatal;
    }
    if (!r->started) {
        rc = start(r, err, errlen);
        if (rc <= 0)
            return rc;
    }
    if (r->fmt == PHM_HASHLIST_VPDQ) {
        rc = read_video_file(r, e, err, errlen);
        return rc == PHM_HASHLIST_RECORD ? deliver(r, 0, e, err, errlen) : rc;
    }
    if (is_document(r->fmt)) {
        rc = read_document(r, e, err, errlen);
        if (rc == -1000)
            return PHM_HASHLIST_EOF;
        return rc < 0 ? rc : deliver(r, rc, e, err, errlen);
    }
    rc = read_line(r, e, err, errlen);
    return rc < 0 || rc == PHM_HASHLIST_EOF ? rc : deliver(r, rc == 2 ? HL_REMOVED : 0, e, err,
                                                         errlen);
}

/* The next record of a line format: 1 an entry, 2 a deletion,
 * PHM_HASHLIST_EOF, or an error. */
static int read_line(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    const char *line;
    size_t len;
    int rc;
    for (;;) {
        rc = hl_next_line(r, &line, &len);
        if (rc == 0)
            return PHM_HASHLIST_EOF;
        r->rec_line = r->lineno;
        if (rc == HL_LINE_TOO_LONG)
            return HL_LINE_ERR("line longer than %d bytes", PHM_HASHLIST_LINE_MAX);
        if (rc == PHM_ERR_NOMEM)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        if (rc < 0)
            return hl_read_failed(r, err, errlen);
        entry_reset(r, e);
        if (r->fmt == PHM_HASHLIST_CSV || r->fmt == PHM_HASHLIST_TSV) {
            rc = hl_split_fields(r, line, len, err, errlen);
            if (rc == 0)
                continue; /* blank line */
            if (rc < 0)
                return rc;
            rc = hl_fields_to_entry(r, e, err, errlen);
        } else if (is_delimited(r->fmt)) {
            rc = hl_split_fields(r, line, len, err, errlen);
            if (rc == 0)
                continue; /* blank line */
            if (rc < 0)
                return rc;
            rc = r->fmt == PHM_HASHLIST_ICSE ? hl_icse_row(r, e, err, errlen)
                                             : hl_tecsv_row(r, e, err, errlen);
            if (rc == HL_REMOVED) {
                finish_entry(r);
                return 2;
            }
        } else {
            hl_strip_cr(&len, line);
            if (is_blank_or_comment(line, len))
                continue;
            switch (r->fmt) {
            case PHM_HASHLIST_PDQ: rc = parse_pdq(r, line, len, e, err, errlen); break;
            case PHM_HASHLIST_HEX: rc = hl_set_hash(r, e, line, len, err, errlen); break;
            case PHM_HASHLIST_HMA: rc = parse_hma(r, line, len, e, err, errlen); break;
            default: rc = hl_parse_jsonl(r, line, len, e, err, errlen); break;
            }
        }
        if (rc == 1)
            continue; /* another signal type, skipped */
        if (rc < 0)
            return rc;
        finish_entry(r);
        return PHM_HASHLIST_RECORD;
    }
}
