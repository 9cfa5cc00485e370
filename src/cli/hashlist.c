/* hashlist.c - hash-list formats (see hashlist.h and docs/HASHLISTS.md). */
#include "hashlist.h"
#include "delimited.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Whatever an index holds must fit a record, or export would lose it. */
#if defined(PHM_INDEX_MAX_SOURCE) && PHM_INDEX_MAX_SOURCE > HASHLIST_SOURCE_MAX
#error "HASHLIST_SOURCE_MAX is below the index's limit"
#endif
#if defined(PHM_INDEX_MAX_ID) && PHM_INDEX_MAX_ID > HASHLIST_ID_MAX
#error "HASHLIST_ID_MAX is below the index's limit"
#endif
#if defined(PHM_INDEX_MAX_CATEGORY) && PHM_INDEX_MAX_CATEGORY > HASHLIST_CATEGORY_MAX
#error "HASHLIST_CATEGORY_MAX is below the index's limit"
#endif
#if defined(PHM_INDEX_MAX_NOTE) && PHM_INDEX_MAX_NOTE > HASHLIST_NOTE_MAX
#error "HASHLIST_NOTE_MAX is below the index's limit"
#endif

/* ---------------------------------------------------------------- */
/* Columns and keys                                                  */

typedef enum col_kind {
    COL_UNKNOWN = 0,
    COL_SIGNAL_TYPE,
    COL_HASH,
    COL_QUALITY,
    COL_SOURCE,
    COL_ID,
    COL_NAME, /* the id when there is no id column */
    COL_CATEGORY,
    COL_NOTE,
    COL_ADDED,
    COL_MD5,
    COL_SHA1,
    COL_SHA256,
    COL_KINDS
} col_kind;

/* csv/tsv column names and jsonl keys. csv/tsv compare them without
 * regard to ASCII case; JSON keys are case-sensitive. */
static const struct {
    const char *name;
    col_kind kind;
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

/* The exact digests: column, presence bit, size in bytes. */
static const struct {
    col_kind kind;
    unsigned bit;
    size_t size;
    const char *name;
} digests[] = {
    { COL_MD5, HASHLIST_HAS_MD5, 16, "md5" },
    { COL_SHA1, HASHLIST_HAS_SHA1, 20, "sha1" },
    { COL_SHA256, HASHLIST_HAS_SHA256, 32, "sha256" },
};
#define NDIGESTS (sizeof digests / sizeof digests[0])

static uint8_t *digest_bytes(hashlist_record *rec, size_t which)
{
    return which == 0 ? rec->md5 : which == 1 ? rec->sha1 : rec->sha256;
}

static const uint8_t *digest_cbytes(const hashlist_record *rec, size_t which)
{
    return which == 0 ? rec->md5 : which == 1 ? rec->sha1 : rec->sha256;
}

static int lower_ascii(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Nonzero if s[0..len) equals the NUL-terminated `lit`, ignoring ASCII
 * case when `nocase`. */
static int same_name(const char *s, size_t len, const char *lit, int nocase)
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

static col_kind column_kind(const char *s, size_t len, int nocase)
{
    for (size_t i = 0; i < NCOLUMN_NAMES; i++)
        if (same_name(s, len, column_names[i].name, nocase))
            return column_names[i].kind;
    return COL_UNKNOWN;
}

/* ---------------------------------------------------------------- */
/* Small text helpers                                                */

static int is_space(int c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space((unsigned char)(*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((unsigned char)(*s)[*len - 1]))
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

/* Writes s[0..len) into out[outlen] as shown in messages: printable ASCII
 * kept, other bytes '?', cut to `max` bytes with "..." when longer. */
static const char *shown(char *out, size_t outlen, const char *s, size_t len,
                         size_t max)
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

#define SHOWN_MAX 40 /* input bytes quoted in a message */
typedef char shown_buf[SHOWN_MAX + 4];
#define SHOW(buf, s, len) shown((buf), sizeof(buf), (s), (len), SHOWN_MAX)

/* ---------------------------------------------------------------- */
/* UTF-8 and time                                                    */


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

int hashlist_parse_time(const char *s, size_t len, int64_t *out)
{
    int y, mo, d, h, mi, sec;
    uint64_t v;

    if (!s || !out)
        return -1;
    if (len > 0 && len <= 12 && parse_uint(s, len, (uint64_t)HASHLIST_TIME_MAX, &v) == 0) {
        *out = (int64_t)v;
        return 0;
    }
    /* YYYY-MM-DDTHH:MM:SSZ */
    if (len != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 ||
        mi > 59 || sec > 59)
        return -1;
    *out = days_since_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    return 0;
}

/* Writes v as exactly `n` digits at out. */
static void put_digits(char *out, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + (int)(v % 10));
        v /= 10;
    }
}

int hashlist_format_time(int64_t t, char out[21])
{
    out[0] = '\0';
    if (t < 0 || t > HASHLIST_TIME_MAX)
        return -1;
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
    return 0;
}

/* ---------------------------------------------------------------- */
/* Formats                                                           */

static const char *const format_names[] = {
    [HASHLIST_AUTO] = "auto", [HASHLIST_PDQ] = "pdq", [HASHLIST_HEX] = "hex",
    [HASHLIST_HMA] = "hma",   [HASHLIST_CSV] = "csv", [HASHLIST_TSV] = "tsv",
    [HASHLIST_JSONL] = "jsonl",
};
#define NFORMATS (sizeof format_names / sizeof format_names[0])

int hashlist_format_parse(const char *name, hashlist_format *out)
{
    if (!name || !out)
        return -1;
    for (size_t i = 0; i < NFORMATS; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (hashlist_format)i;
            return 0;
        }
    }
    if (strcmp(name, "json") == 0) {
        *out = HASHLIST_JSONL;
        return 0;
    }
    return -1;
}

const char *hashlist_format_name(hashlist_format fmt)
{
    return (size_t)fmt < NFORMATS ? format_names[fmt] : "unknown";
}

void hashlist_record_init(hashlist_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->quality = -1;
}

/* What hashlist_read() sets before parsing: every field but the digest
 * bytes (read only under their bit). */
static void record_reset(hashlist_record *rec)
{
    memset(&rec->pdq, 0, sizeof rec->pdq);
    rec->quality = -1;
    rec->added = 0;
    rec->has = 0;
    rec->source[0] = rec->id[0] = rec->category[0] = rec->note[0] = '\0';
    rec->video = NULL;
}

/* ---------------------------------------------------------------- */
/* The reader                                                        */

#define NAME_SHOWN_MAX 200
#define BUF_CAP (2 * (size_t)HASHLIST_LINE_MAX + 2)

enum { LINE_TOO_LONG = -100 }; /* next_line(): an overlong line, skipped */

struct hashlist_reader {
    FILE *fp;
    hashlist_format fmt;
    int fatal;       /* sticky error status; 0 while readable */
    int started;     /* format known, csv/tsv header read */
    int eof;         /* fread() reached the end */
    int discarding;  /* inside an overlong line */
    int first_line;  /* the next line is the file's first (BOM check) */
    int pending;     /* next_line() hands out pend_line again */
    const char *pend_line;
    size_t pend_len;
    uint64_t lineno;   /* physical lines consumed */
    uint64_t rec_line; /* first line of the current record */
    uint64_t skipped;
    int warned_signal, warned_keys;
    hashlist_options opt;
    char source[HASHLIST_SOURCE_MAX + 1];
    char category[HASHLIST_CATEGORY_MAX + 1];
    char name[NAME_SHOWN_MAX + 4];
    char fatal_msg[HASHLIST_ERRMSG_MAX];

    /* csv/tsv: the header, and the fields of the current record, decoded
     * into fbuf. */
    size_t ncols;
    unsigned char col[HASHLIST_MAX_COLUMNS]; /* col_kind of each column */
    int colidx[COL_KINDS];                   /* column of each kind, or -1 */
    size_t nfields;
    size_t foff[HASHLIST_MAX_COLUMNS], flen[HASHLIST_MAX_COLUMNS];
    char fbuf[HASHLIST_LINE_MAX];

    /* a jsonl line longer than HASHLIST_LINE_MAX, and a video's frames */
    char *big;
    size_t big_cap;
    phm_vpdq video;

    /* input: bytes buf[start, end) not yet consumed */
    size_t start, end;
    unsigned char buf[BUF_CAP];
};

/* "NAME:LINE: message" into err; a sticky status is remembered. Returns
 * `status`. */
static int fail(hashlist_reader *r, char *err, size_t errlen, int status,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "NAME:LINE: message" of the current record into msg. */
static void format_at(const hashlist_reader *r, char msg[HASHLIST_ERRMSG_MAX],
                      const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void format_at(const hashlist_reader *r, char msg[HASHLIST_ERRMSG_MAX],
                      const char *fmt, va_list ap)
{
    int n = snprintf(msg, HASHLIST_ERRMSG_MAX, "%s:%llu: ", r->name,
                     (unsigned long long)r->rec_line);
    if (n < 0)
        n = 0;
    if ((size_t)n < HASHLIST_ERRMSG_MAX)
        vsnprintf(msg + n, HASHLIST_ERRMSG_MAX - (size_t)n, fmt, ap);
}

static int fail(hashlist_reader *r, char *err, size_t errlen, int status,
                const char *fmt, ...)
{
    char msg[HASHLIST_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    format_at(r, msg, fmt, ap);
    va_end(ap);
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    if (status != HASHLIST_ERR_LINE) {
        r->fatal = status;
        snprintf(r->fatal_msg, sizeof r->fatal_msg, "%s", msg);
    }
    return status;
}

/* The stream failed (fread set ferror): a sticky error at the line that
 * could not be read. */
static int read_failed(hashlist_reader *r, char *err, size_t errlen)
{
    int e = errno;
    r->rec_line = r->lineno + 1;
    return fail(r, err, errlen, HASHLIST_ERR_IO, "cannot read: %s",
                e ? strerror(e) : "I/O error");
}

static void warn(hashlist_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(hashlist_reader *r, const char *fmt, ...)
{
    char msg[HASHLIST_ERRMSG_MAX];
    va_list ap;
    if (!r->opt.warn)
        return;
    va_start(ap, fmt);
    format_at(r, msg, fmt, ap);
    va_end(ap);
    r->opt.warn(r->opt.warn_ctx, msg);
}

int hashlist_reader_open(hashlist_reader **out, FILE *fp, const char *name,
                         hashlist_format fmt, const hashlist_options *opt,
                         char *err, size_t errlen)
{
    static const hashlist_options defaults = { 0 };
    hashlist_reader *r;
    const char *src, *cat;

    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return HASHLIST_ERR_INVALID;
    *out = NULL;
    if (!fp || !name || (size_t)fmt >= NFORMATS) {
        if (err && errlen)
            snprintf(err, errlen, "cannot read hash list: invalid argument");
        return HASHLIST_ERR_INVALID;
    }
    if (!opt)
        opt = &defaults;
    src = opt->source ? opt->source : "";
    cat = opt->category ? opt->category : "";
    if (strlen(src) > HASHLIST_SOURCE_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "the default source is longer than %d bytes",
                     HASHLIST_SOURCE_MAX);
        return HASHLIST_ERR_INVALID;
    }
    if (strlen(cat) > HASHLIST_CATEGORY_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "the default category is longer than %d bytes",
                     HASHLIST_CATEGORY_MAX);
        return HASHLIST_ERR_INVALID;
    }
    r = malloc(sizeof *r);
    if (!r) {
        if (err && errlen)
            snprintf(err, errlen, "cannot read hash list: out of memory");
        return HASHLIST_ERR_NOMEM;
    }
    /* Only the small fields are cleared; the buffers need no zeroing. */
    memset(r, 0, offsetof(hashlist_reader, ncols));
    r->fp = fp;
    r->fmt = fmt;
    r->first_line = 1;
    r->opt = *opt;
    memcpy(r->source, src, strlen(src) + 1);
    memcpy(r->category, cat, strlen(cat) + 1);
    shown(r->name, sizeof r->name, name, strlen(name), NAME_SHOWN_MAX);
    r->ncols = 0;
    r->nfields = 0;
    for (int k = 0; k < COL_KINDS; k++)
        r->colidx[k] = -1;
    r->start = r->end = 0;
    r->big = NULL;
    r->big_cap = 0;
    phm_vpdq_init(&r->video);
    *out = r;
    return HASHLIST_OK;
}

void hashlist_reader_close(hashlist_reader *r)
{
    if (!r)
        return;
    free(r->big);
    phm_vpdq_clear(&r->video);
    free(r);
}

hashlist_format hashlist_reader_format(const hashlist_reader *r)
{
    return r->fmt; /* HASHLIST_AUTO until detected */
}

uint64_t hashlist_reader_line(const hashlist_reader *r)
{
    return r->rec_line;
}

uint64_t hashlist_reader_skipped(const hashlist_reader *r)
{
    return r->skipped;
}

/* Whether the line starting at p (n bytes, no newline among them) is a
 * JSON object, which may be long. */
static int starts_object(const hashlist_reader *r, const unsigned char *p, size_t n)
{
    if (r->first_line && n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        p += 3;
        n -= 3;
    }
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    return n && *p == '{';
}

enum { LONG_OVER = 2 };

/* Reads the rest of a long object line whose start is buf[start, end) into
 * r->big. Returns 1 (the line in *line, *len), HASHLIST_ERR_IO,
 * HASHLIST_ERR_NOMEM, or LONG_OVER past HASHLIST_OBJECT_LINE_MAX (the
 * reader is then discarding the rest of the line). */
static int long_line(hashlist_reader *r, const char **line, size_t *len)
{
    size_t n = 0;
    for (;;) {
        unsigned char *p = r->buf + r->start;
        size_t avail = r->end - r->start;
        unsigned char *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) : avail;
        if (n + take > HASHLIST_OBJECT_LINE_MAX) {
            r->discarding = 1;
            return LONG_OVER;
        }
        if (n + take + 1 > r->big_cap) {
            size_t cap = r->big_cap ? r->big_cap : BUF_CAP;
            while (cap < n + take + 1)
                cap *= 2;
            char *b = realloc(r->big, cap);
            if (!b)
                return HASHLIST_ERR_NOMEM;
            r->big = b;
            r->big_cap = cap;
        }
        memcpy(r->big + n, p, take);
        n += take;
        r->start += take + (nl ? 1 : 0);
        if (nl)
            break;
        r->start = r->end = 0;
        size_t got = fread(r->buf, 1, BUF_CAP, r->fp);
        if (got == 0) {
            if (ferror(r->fp))
                return HASHLIST_ERR_IO;
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

/* The next physical line, without its '\n' (a '\r' before it is kept).
 * Valid until the next call. Returns 1; 0 at the end; LINE_TOO_LONG when a
 * line was longer than HASHLIST_LINE_MAX (it is skipped through its
 * newline; r->lineno is its number); HASHLIST_ERR_IO. */
static int next_line(hashlist_reader *r, const char **line, size_t *len)
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
            if (r->discarding || n > HASHLIST_LINE_MAX) {
                r->discarding = 0;
                r->first_line = 0;
                return LINE_TOO_LONG;
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
        if (avail > HASHLIST_LINE_MAX && !r->discarding && starts_object(r, p, avail)) {
            int rc = long_line(r, line, len);
            if (rc != LONG_OVER)
                return rc;
            continue; /* discarding the rest */
        }
        if (avail > HASHLIST_LINE_MAX) {
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
        size_t got = fread(r->buf + r->end, 1, BUF_CAP - r->end, r->fp);
        if (got == 0) {
            if (ferror(r->fp))
                return HASHLIST_ERR_IO;
            r->eof = 1;
        }
        r->end += got;
    }
}

/* ---------------------------------------------------------------- */
/* Field values                                                      */

#define LINE_ERR(...) fail(r, err, errlen, HASHLIST_ERR_LINE, __VA_ARGS__)

static int set_hash(hashlist_reader *r, hashlist_record *rec, const char *s,
                    size_t len, char *err, size_t errlen)
{
    shown_buf b;
    trim(&s, &len);
    if (len == 0)
        return LINE_ERR("missing hash");
    if (phm_pdq_from_hex(s, len, &rec->pdq) == PHM_OK) {
        rec->has |= HASHLIST_HAS_PDQ;
        return 0;
    }
    size_t bad = first_non_hex(s, len);
    if (bad < len)
        return LINE_ERR("invalid hash: '%s' at position %zu is not a hex digit",
                        SHOW(b, s + bad, 1), bad + 1);
    return LINE_ERR("invalid hash: %zu hex digits, expected 64", len);
}

static int set_quality(hashlist_reader *r, hashlist_record *rec, const char *s,
                       size_t len, char *err, size_t errlen)
{
    shown_buf b;
    uint64_t v;
    trim(&s, &len);
    if (len == 0) {
        rec->quality = -1;
        return 0;
    }
    if (parse_uint(s, len, UINT32_MAX, &v) != 0)
        return LINE_ERR("invalid quality '%s': not an integer 0..100", SHOW(b, s, len));
    if (v > 100)
        return LINE_ERR("quality '%s' is out of range 0..100", SHOW(b, s, len));
    rec->quality = (int)v;
    return 0;
}

static int set_added(hashlist_reader *r, hashlist_record *rec, const char *s,
                     size_t len, char *err, size_t errlen)
{
    shown_buf b;
    trim(&s, &len);
    if (len == 0) {
        rec->added = 0;
        return 0;
    }
    if (hashlist_parse_time(s, len, &rec->added) != 0)
        return LINE_ERR("invalid added time '%s': expected unix seconds or "
                        "YYYY-MM-DDTHH:MM:SSZ (1970 to 9999)",
                        SHOW(b, s, len));
    return 0;
}

static int set_digest(hashlist_reader *r, hashlist_record *rec, size_t which,
                      const char *s, size_t len, char *err, size_t errlen)
{
    shown_buf b;
    size_t n = digests[which].size;
    trim(&s, &len);
    if (len == 0)
        return 0;
    size_t bad = first_non_hex(s, len);
    if (bad < len)
        return LINE_ERR("invalid %s: '%s' at position %zu is not a hex digit",
                        digests[which].name, SHOW(b, s + bad, 1), bad + 1);
    if (len != 2 * n)
        return LINE_ERR("invalid %s: %zu hex digits, expected %zu", digests[which].name,
                        len, 2 * n);
    (void)phm_hex_decode(s, len, digest_bytes(rec, which), n); /* checked above */
    rec->has |= digests[which].bit;
    return 0;
}

static int set_string(hashlist_reader *r, char *dst, size_t max, const char *what,
                      const char *s, size_t len, char *err, size_t errlen)
{
    if (len > max)
        return LINE_ERR("%s is longer than %zu bytes (%zu)", what, max, len);
    if (memchr(s, '\0', len))
        return LINE_ERR("%s contains a NUL byte", what);
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

/* A signal type: 0 pdq (or empty), 1 another one to skip, or an error. */
static int check_signal_type(hashlist_reader *r, const char *s, size_t len,
                             char *err, size_t errlen)
{
    shown_buf b;
    trim(&s, &len);
    if (len == 0 || same_name(s, len, "pdq", 1))
        return 0;
    if (!r->opt.skip_other_signals)
        return LINE_ERR("signal type '%s' is not pdq", SHOW(b, s, len));
    r->skipped++;
    if (!r->warned_signal) {
        r->warned_signal = 1;
        warn(r, "skipping records of signal type '%s' and any other but pdq",
             SHOW(b, s, len));
    }
    return 1;
}

/* Defaults for what the record did not give. */
static void finish_record(hashlist_reader *r, hashlist_record *rec)
{
    if (!rec->id[0])
        snprintf(rec->id, sizeof rec->id, "%llu", (unsigned long long)r->rec_line);
    if (!rec->source[0])
        memcpy(rec->source, r->source, strlen(r->source) + 1);
    if (!rec->category[0])
        memcpy(rec->category, r->category, strlen(r->category) + 1);
}

/* ---------------------------------------------------------------- */
/* Line formats                                                      */

static void strip_cr(size_t *len, const char *line)
{
    if (*len > 0 && line[*len - 1] == '\r')
        (*len)--;
}

/* Blank (spaces and tabs only) or a '#' comment. */
static int is_blank_or_comment(const char *line, size_t len)
{
    const char *s = line;
    size_t n = len;
    trim(&s, &n);
    return n == 0 || line[0] == '#';
}

/* hash,quality[,name]: the name is everything after the second comma. */
static int parse_pdq(hashlist_reader *r, const char *line, size_t len,
                     hashlist_record *rec, char *err, size_t errlen)
{
    const char *c1 = memchr(line, ',', len);
    if (!c1)
        return LINE_ERR("expected 'hash,quality,name'");
    int rc = set_hash(r, rec, line, (size_t)(c1 - line), err, errlen);
    if (rc)
        return rc;
    const char *q = c1 + 1, *end = line + len;
    const char *c2 = memchr(q, ',', (size_t)(end - q));
    rc = set_quality(r, rec, q, (size_t)((c2 ? c2 : end) - q), err, errlen);
    if (rc || !c2)
        return rc;
    return set_string(r, rec->id, HASHLIST_ID_MAX, "name", c2 + 1, (size_t)(end - c2 - 1),
                      err, errlen);
}

static int parse_hex(hashlist_reader *r, const char *line, size_t len,
                     hashlist_record *rec, char *err, size_t errlen)
{
    return set_hash(r, rec, line, len, err, errlen);
}

/* TYPE HASH, separated by spaces or tabs. Returns 0, 1 (skipped) or an
 * error. */
static int parse_hma(hashlist_reader *r, const char *line, size_t len,
                     hashlist_record *rec, char *err, size_t errlen)
{
    const char *s = line;
    size_t n = len, t = 0;
    trim(&s, &n);
    while (t < n && !is_space((unsigned char)s[t]))
        t++;
    const char *v = s + t;
    size_t vlen = n - t;
    trim(&v, &vlen);
    if (vlen == 0)
        return LINE_ERR("expected 'pdq HASH'");
    int rc = check_signal_type(r, s, t, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < vlen; i++)
        if (is_space((unsigned char)v[i]))
            return LINE_ERR("unexpected text after the hash");
    return set_hash(r, rec, v, vlen, err, errlen);
}

/* ---------------------------------------------------------------- */
/* csv and tsv                                                       */

/* An error while splitting: of this record, or fatal in the header. */
#define SPLIT_ERR(fmt, ...)                                                     \
    fail(r, err, errlen, r->started ? HASHLIST_ERR_LINE : HASHLIST_ERR_FORMAT, \
         "%s" fmt, r->started ? "" : "invalid header: ", __VA_ARGS__)

/* Splits a csv record starting with `line` into r->fbuf, reading more
 * lines while a quoted field is open. Returns 1 (fields), 0 (a blank
 * line), or an error status. */
static int csv_split(hashlist_reader *r, const char *line, size_t len, char *err,
                     size_t errlen)
{
    size_t n = 0, used = 0, i = 0;
    int quoted = 0, closed = 0;

    if (len == 0 || (len == 1 && line[0] == '\r'))
        return 0;
    r->foff[0] = 0;
    for (;;) {
        for (; i < len; i++) {
            char c = line[i];
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < len && line[i + 1] == '"')
                        i++;
                    else {
                        quoted = 0;
                        closed = 1;
                        continue;
                    }
                }
            } else if (c == ',') {
                r->flen[n] = used - r->foff[n];
                if (++n == HASHLIST_MAX_COLUMNS)
                    return SPLIT_ERR("more than %d fields", HASHLIST_MAX_COLUMNS);
                r->foff[n] = used;
                closed = 0;
                continue;
            } else if (c == '\r' && i + 1 == len) {
                continue; /* CRLF line end */
            } else if (closed) {
                return SPLIT_ERR("unexpected text after the closing quote of field %zu",
                                n + 1);
            } else if (c == '"') {
                if (used != r->foff[n])
                    return SPLIT_ERR("unexpected quote in unquoted field %zu", n + 1);
                quoted = 1;
                continue;
            }
            if (used == sizeof r->fbuf)
                return SPLIT_ERR("record longer than %d bytes", HASHLIST_LINE_MAX);
            r->fbuf[used++] = c;
        }
        if (!quoted)
            break;
        /* The quoted field holds a line break. */
        if (used == sizeof r->fbuf)
            return SPLIT_ERR("record longer than %d bytes", HASHLIST_LINE_MAX);
        r->fbuf[used++] = '\n';
        int rc = next_line(r, &line, &len);
        if (rc == 0)
            return SPLIT_ERR("unterminated quoted field %zu", n + 1);
        if (rc == LINE_TOO_LONG)
            return SPLIT_ERR("record longer than %d bytes", HASHLIST_LINE_MAX);
        if (rc < 0)
            return read_failed(r, err, errlen);
        i = 0;
    }
    r->flen[n] = used - r->foff[n];
    r->nfields = n + 1;
    return 1;
}

/* Splits a tsv line into r->fbuf, undoing \t \n \r \\ (any other
 * backslash is kept as it is). Returns 1, or 0 for a blank line. */
static int tsv_split(hashlist_reader *r, const char *line, size_t len, char *err,
                     size_t errlen)
{
    size_t n = 0, used = 0;
    strip_cr(&len, line);
    if (len == 0)
        return 0;
    r->foff[0] = 0;
    for (size_t i = 0; i < len; i++) {
        char c = line[i];
        if (c == '\t') {
            r->flen[n] = used - r->foff[n];
            if (++n == HASHLIST_MAX_COLUMNS)
                return SPLIT_ERR("more than %d fields", HASHLIST_MAX_COLUMNS);
            r->foff[n] = used;
            continue;
        }
        if (c == '\\' && i + 1 < len) {
            char e = line[i + 1];
            char d = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == '\\' ? '\\' : 0;
            if (d) {
                c = d;
                i++;
            }
        }
        r->fbuf[used++] = c; /* never more than the line's length */
    }
    r->flen[n] = used - r->foff[n];
    r->nfields = n + 1;
    return 1;
}

static int split_fields(hashlist_reader *r, const char *line, size_t len,
                        char *err, size_t errlen)
{
    return r->fmt == HASHLIST_CSV ? csv_split(r, line, len, err, errlen)
                                  : tsv_split(r, line, len, err, errlen);
}

/* The header: which column holds what. Errors are fatal. */
static int read_header(hashlist_reader *r, const char *line, size_t len, char *err,
                       size_t errlen)
{
    char unknown[200];
    size_t nunknown = 0, ulen = 0;
    shown_buf a, b;

    int rc = split_fields(r, line, len, err, errlen);
    if (rc < 0)
        return rc; /* fatal: the header is read before r->started */
    if (rc == 0)
        return fail(r, err, errlen, HASHLIST_ERR_FORMAT, "empty header");
    r->ncols = r->nfields;
    unknown[0] = '\0';
    for (size_t i = 0; i < r->ncols; i++) {
        const char *s = r->fbuf + r->foff[i];
        size_t n = r->flen[i];
        trim(&s, &n);
        col_kind k = column_kind(s, n, 1);
        r->col[i] = (unsigned char)k;
        if (k == COL_UNKNOWN) {
            nunknown++;
            if (ulen < sizeof unknown - 1) {
                int w = snprintf(unknown + ulen, sizeof unknown - ulen, "%s'%s'",
                                 nunknown > 1 ? ", " : "", SHOW(a, s, n));
                ulen = w < 0 ? ulen : ulen + (size_t)w;
                if (ulen >= sizeof unknown)
                    ulen = sizeof unknown - 1;
            }
            continue;
        }
        if (r->colidx[k] >= 0) {
            size_t j = (size_t)r->colidx[k];
            const char *t = r->fbuf + r->foff[j];
            size_t tn = r->flen[j];
            trim(&t, &tn);
            return fail(r, err, errlen, HASHLIST_ERR_FORMAT,
                        "duplicate column: '%s' (column %zu) and '%s' (column %zu) "
                        "name the same field",
                        SHOW(a, t, tn), j + 1, SHOW(b, s, n), i + 1);
        }
        r->colidx[k] = (int)i;
    }
    if (r->colidx[COL_HASH] < 0 && r->colidx[COL_MD5] < 0 && r->colidx[COL_SHA1] < 0 &&
        r->colidx[COL_SHA256] < 0)
        return fail(r, err, errlen, HASHLIST_ERR_FORMAT,
                    "the %s header names no hash column (hash, pdq, signal, "
                    "signal_str, md5, sha1 or sha256)",
                    hashlist_format_name(r->fmt));
    if (r->colidx[COL_ID] >= 0 && r->colidx[COL_NAME] >= 0) {
        /* The id column wins; the name column is not used. */
        size_t j = (size_t)r->colidx[COL_NAME];
        const char *t = r->fbuf + r->foff[j];
        size_t tn = r->flen[j];
        trim(&t, &tn);
        r->col[j] = COL_UNKNOWN;
        r->colidx[COL_NAME] = -1;
        nunknown++;
        if (ulen < sizeof unknown - 1)
            snprintf(unknown + ulen, sizeof unknown - ulen, "%s'%s'",
                     nunknown > 1 ? ", " : "", SHOW(a, t, tn));
    }
    if (nunknown)
        warn(r, "ignoring %zu unknown column%s: %s", nunknown, nunknown > 1 ? "s" : "",
             unknown);
    return 0;
}

#define NO_HASH_MSG "missing hash: no pdq, md5, sha1 or sha256 value"

static int is_blank(const char *s, size_t len)
{
    trim(&s, &len);
    return len == 0;
}

/* A csv/tsv record's fields into `rec`. Returns 0, 1 (skipped), or an
 * error. */
static int fields_to_record(hashlist_reader *r, hashlist_record *rec, char *err,
                            size_t errlen)
{
    int rc = 0;
    const char *s = NULL;
    size_t n = 0;

    if (r->nfields != r->ncols)
        return LINE_ERR("%zu field%s, the header has %zu", r->nfields,
                        r->nfields == 1 ? "" : "s", r->ncols);
#define FIELD(k) (r->colidx[k] >= 0 && (s = r->fbuf + r->foff[r->colidx[k]], \
                                        n = r->flen[r->colidx[k]], 1))
    if (FIELD(COL_SIGNAL_TYPE) && (rc = check_signal_type(r, s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_HASH) && !is_blank(s, n) && (rc = set_hash(r, rec, s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_QUALITY) && (rc = set_quality(r, rec, s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_SOURCE) && (rc = set_string(r, rec->source, HASHLIST_SOURCE_MAX, "source",
                                              s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_ID) &&
        (rc = set_string(r, rec->id, HASHLIST_ID_MAX, "id", s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_NAME) &&
        (rc = set_string(r, rec->id, HASHLIST_ID_MAX, "name", s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_CATEGORY) && (rc = set_string(r, rec->category, HASHLIST_CATEGORY_MAX,
                                                "category", s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_NOTE) &&
        (rc = set_string(r, rec->note, HASHLIST_NOTE_MAX, "note", s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_ADDED) && (rc = set_added(r, rec, s, n, err, errlen)) != 0)
        return rc;
    for (size_t d = 0; d < NDIGESTS; d++)
        if (FIELD(digests[d].kind) && (rc = set_digest(r, rec, d, s, n, err, errlen)) != 0)
            return rc;
#undef FIELD
    if (!rec->has)
        return LINE_ERR(NO_HASH_MSG);
    return 0;
}

/* ---------------------------------------------------------------- */
/* jsonl                                                             */

static int json_text(hashlist_reader *r, json_t *v, const char *key, const char **s,
                     size_t *n, char *err, size_t errlen)
{
    if (!json_is_string(v))
        return LINE_ERR("\"%s\" must be a string", key);
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

/* "vpdq": the array of a video's vPDQ lines, parsed into r->video. */
static int json_video(hashlist_reader *r, json_t *v, hashlist_record *rec, char *err,
                      size_t errlen)
{
    if (!r->opt.allow_video)
        return LINE_ERR("a video (\"vpdq\") is not a hash to look up: match its "
                        "vPDQ file with 'phmatch match'");
    if (!json_is_array(v) || json_array_size(v) == 0)
        return LINE_ERR("\"vpdq\" must be a non-empty array of vPDQ lines");
    if (rec->has & HASHLIST_HAS_PDQ)
        return LINE_ERR("a video (\"vpdq\") has no \"hash\" of its own");
    r->video.count = 0;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        char perr[PHM_ERRMSG_MAX];
        phm_vpdq one;
        phm_vpdq_init(&one);
        if (!json_is_string(item))
            return LINE_ERR("\"vpdq\" item %zu is not a string", i + 1);
        int rc = phm_vpdq_parse(json_string_value(item), json_string_length(item), NULL,
                                &one, perr, sizeof perr);
        if (rc == PHM_OK && one.count != 1)
            rc = PHM_ERR_CORRUPT;
        if (rc == PHM_OK)
            rc = phm_vpdq_append(&r->video, &one.frames[0]);
        phm_vpdq_clear(&one);
        if (rc == PHM_ERR_NOMEM)
            return fail(r, err, errlen, HASHLIST_ERR_NOMEM, "out of memory");
        if (rc != PHM_OK) {
            shown_buf b;
            return LINE_ERR("\"vpdq\" item %zu is not one vPDQ line: %s", i + 1,
                            SHOW(b, json_string_value(item), json_string_length(item)));
        }
    }
    rec->has |= HASHLIST_HAS_VPDQ;
    rec->video = &r->video;
    return 0;
}

static int json_to_record(hashlist_reader *r, json_t *root, hashlist_record *rec,
                          char *err, size_t errlen)
{
    json_t *val[COL_KINDS] = { 0 };
    const char *keyname[COL_KINDS] = { 0 };
    const char *s = NULL;
    size_t n = 0;
    int rc;

    const char *key;
    json_t *item;
    json_t *vpdq = NULL;
    json_object_foreach(root, key, item) {
        if (strcmp(key, "vpdq") == 0) {
            vpdq = item;
            continue;
        }
        col_kind k = column_kind(key, strlen(key), 0);
        if (k == COL_UNKNOWN) {
            if (!r->warned_keys) {
                shown_buf b;
                r->warned_keys = 1;
                warn(r, "ignoring unknown key \"%s\" (and any others in this file)",
                     SHOW(b, key, strlen(key)));
            }
            continue;
        }
        if (val[k]) {
            shown_buf b1, b2;
            return LINE_ERR("duplicate key: \"%s\" and \"%s\" name the same field",
                            SHOW(b1, keyname[k], strlen(keyname[k])),
                            SHOW(b2, key, strlen(key)));
        }
        val[k] = item;
        keyname[k] = key;
    }
    if (val[COL_ID] && !json_is_null(val[COL_ID]) && val[COL_NAME]) {
        val[COL_NAME] = NULL; /* the id wins */
    }

#define PRESENT(k) (val[k] && !json_is_null(val[k]))
    if (PRESENT(COL_SIGNAL_TYPE)) {
        if ((rc = json_text(r, val[COL_SIGNAL_TYPE], keyname[COL_SIGNAL_TYPE], &s, &n,
                            err, errlen)) != 0)
            return rc;
        if ((rc = check_signal_type(r, s, n, err, errlen)) != 0)
            return rc;
    }
    if (PRESENT(COL_HASH) &&
        ((rc = json_text(r, val[COL_HASH], keyname[COL_HASH], &s, &n, err, errlen)) != 0 ||
         (rc = set_hash(r, rec, s, n, err, errlen)) != 0))
        return rc;
    if (PRESENT(COL_QUALITY)) {
        json_t *v = val[COL_QUALITY];
        if (!json_is_integer(v))
            return LINE_ERR("\"%s\" must be an integer 0..100", keyname[COL_QUALITY]);
        json_int_t q = json_integer_value(v);
        if (q < 0 || q > 100)
            return LINE_ERR("quality %" JSON_INTEGER_FORMAT " is out of range 0..100", q);
        rec->quality = (int)q;
    }
    static const struct {
        col_kind kind;
        size_t off, max;
    } strs[] = {
        { COL_SOURCE, offsetof(hashlist_record, source), HASHLIST_SOURCE_MAX },
        { COL_ID, offsetof(hashlist_record, id), HASHLIST_ID_MAX },
        { COL_NAME, offsetof(hashlist_record, id), HASHLIST_ID_MAX },
        { COL_CATEGORY, offsetof(hashlist_record, category), HASHLIST_CATEGORY_MAX },
        { COL_NOTE, offsetof(hashlist_record, note), HASHLIST_NOTE_MAX },
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        col_kind k = strs[i].kind;
        char *dst = (char *)rec + strs[i].off;
        if (!PRESENT(k))
            continue;
        if ((k == COL_ID || k == COL_NAME) && json_is_integer(val[k])) {
            snprintf(dst, strs[i].max + 1, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(val[k]));
            continue;
        }
        if ((rc = json_text(r, val[k], keyname[k], &s, &n, err, errlen)) != 0 ||
            (rc = set_string(r, dst, strs[i].max, keyname[k], s, n, err, errlen)) != 0)
            return rc;
    }
    if (PRESENT(COL_ADDED)) {
        json_t *v = val[COL_ADDED];
        if (json_is_integer(v)) {
            json_int_t t = json_integer_value(v);
            if (t < 0 || t > HASHLIST_TIME_MAX)
                return LINE_ERR("added time %" JSON_INTEGER_FORMAT
                                " is out of range (1970 to 9999)", t);
            rec->added = (int64_t)t;
        } else if (json_is_string(v)) {
            if ((rc = set_added(r, rec, json_string_value(v), json_string_length(v), err,
                                errlen)) != 0)
                return rc;
        } else {
            return LINE_ERR("\"%s\" must be an integer or a string", keyname[COL_ADDED]);
        }
    }
    for (size_t d = 0; d < NDIGESTS; d++) {
        col_kind k = digests[d].kind;
        if (!PRESENT(k))
            continue;
        if ((rc = json_text(r, val[k], keyname[k], &s, &n, err, errlen)) != 0 ||
            (rc = set_digest(r, rec, d, s, n, err, errlen)) != 0)
            return rc;
    }
#undef PRESENT
    if (vpdq && !json_is_null(vpdq) && (rc = json_video(r, vpdq, rec, err, errlen)) != 0)
        return rc;
    if (!rec->has)
        return LINE_ERR(NO_HASH_MSG);
    return 0;
}

static int parse_jsonl(hashlist_reader *r, const char *line, size_t len,
                       hashlist_record *rec, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        const char *why = je.text;
        char wb[100];
        if (strstr(why, "JSON_ALLOW_NUL"))
            why = "a string holds \\u0000 (NUL)";
        else
            why = shown(wb, sizeof wb, why, strlen(why), sizeof wb - 4);
        return LINE_ERR("invalid JSON at column %d: %s", je.column, why);
    }
    int rc;
    if (!json_is_object(root))
        rc = LINE_ERR("expected a JSON object");
    else
        rc = json_to_record(r, root, rec, err, errlen);
    json_decref(root);
    return rc;
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

/* The format of a first line (not blank, not a comment, CR stripped), or
 * HASHLIST_AUTO when none fits. */
static hashlist_format detect(const char *line, size_t len)
{
    const char *s = line;
    size_t n = len;
    trim(&s, &n);
    if (s[0] == '{')
        return HASHLIST_JSONL;
    size_t h = first_non_hex(s, n);
    if (h == n && n == PHM_PDQ_HEX_LEN)
        return HASHLIST_HEX;
    if (h == PHM_PDQ_HEX_LEN && s[h] == ',')
        return HASHLIST_PDQ;
    /* "TYPE HEX": an identifier, blanks, hex digits */
    size_t t = 0;
    if (is_ident_start((unsigned char)s[0])) {
        while (t < n && is_ident((unsigned char)s[t]))
            t++;
        if (t < n && is_space((unsigned char)s[t])) {
            const char *v = s + t;
            size_t vn = n - t;
            trim(&v, &vn);
            if (vn > 0 && first_non_hex(v, vn) == vn)
                return HASHLIST_HMA;
        }
    }
    if (memchr(line, '\t', len))
        return HASHLIST_TSV;
    if (memchr(line, ',', len) || memchr(line, '"', len))
        return HASHLIST_CSV;
    if (column_kind(s, n, 1) != COL_UNKNOWN)
        return HASHLIST_CSV; /* a one-column header */
    return HASHLIST_AUTO;
}

/* Finds the format and reads a csv/tsv header. Returns 1 ready, 0 at the
 * end (an empty list), or a sticky error. */
static int start(hashlist_reader *r, char *err, size_t errlen)
{
    const char *line;
    size_t len;
    int rc;

    if (r->fmt != HASHLIST_AUTO && r->fmt != HASHLIST_CSV && r->fmt != HASHLIST_TSV) {
        r->started = 1;
        return 1;
    }
    for (;;) {
        rc = next_line(r, &line, &len);
        r->rec_line = r->lineno;
        if (rc == 0) {
            r->started = 1;
            return 0;
        }
        if (rc == LINE_TOO_LONG)
            return fail(r, err, errlen, HASHLIST_ERR_FORMAT,
                        r->fmt == HASHLIST_AUTO
                            ? "cannot detect the format: line longer than %d bytes"
                            : "header line longer than %d bytes",
                        HASHLIST_LINE_MAX);
        if (rc < 0)
            return read_failed(r, err, errlen);
        size_t n = len;
        strip_cr(&n, line);
        if (!is_blank_or_comment(line, n))
            break;
    }
    if (r->fmt == HASHLIST_AUTO) {
        size_t n = len;
        strip_cr(&n, line);
        r->fmt = detect(line, n);
        if (r->fmt == HASHLIST_AUTO)
            return fail(r, err, errlen, HASHLIST_ERR_FORMAT,
                        "cannot detect the format of this hash list (pdq, hex, hma, "
                        "csv, tsv or jsonl); name it with --format");
    }
    if (r->fmt == HASHLIST_CSV || r->fmt == HASHLIST_TSV) {
        rc = read_header(r, line, len, err, errlen);
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

int hashlist_read(hashlist_reader *r, hashlist_record *rec, char *err, size_t errlen)
{
    const char *line;
    size_t len;
    int rc;

    if (!r || !rec)
        return HASHLIST_ERR_INVALID;
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
    for (;;) {
        rc = next_line(r, &line, &len);
        if (rc == 0)
            return HASHLIST_EOF;
        r->rec_line = r->lineno;
        if (rc == LINE_TOO_LONG)
            return LINE_ERR("line longer than %d bytes", HASHLIST_LINE_MAX);
        if (rc < 0)
            return read_failed(r, err, errlen);
        record_reset(rec);
        if (r->fmt == HASHLIST_CSV || r->fmt == HASHLIST_TSV) {
            rc = split_fields(r, line, len, err, errlen);
            if (rc == 0)
                continue; /* blank line */
            if (rc < 0)
                return rc;
            rc = fields_to_record(r, rec, err, errlen);
        } else {
            strip_cr(&len, line);
            if (is_blank_or_comment(line, len))
                continue;
            switch (r->fmt) {
            case HASHLIST_PDQ: rc = parse_pdq(r, line, len, rec, err, errlen); break;
            case HASHLIST_HEX: rc = parse_hex(r, line, len, rec, err, errlen); break;
            case HASHLIST_HMA: rc = parse_hma(r, line, len, rec, err, errlen); break;
            default: rc = parse_jsonl(r, line, len, rec, err, errlen); break;
            }
        }
        if (rc == 1)
            continue; /* another signal type, skipped */
        if (rc < 0)
            return rc;
        finish_record(r, rec);
        return HASHLIST_RECORD;
    }
}

/* ---------------------------------------------------------------- */
/* Writers                                                           */

#define HASHLIST_HAS_ALL \
    (HASHLIST_HAS_PDQ | HASHLIST_HAS_MD5 | HASHLIST_HAS_SHA1 | HASHLIST_HAS_SHA256)

static const char *const column_order[] = {
    "hash", "quality", "source", "id", "category", "note", "added", "md5", "sha1", "sha256",
};

int hashlist_write_header(FILE *fp, hashlist_format fmt)
{
    if (!fp || (size_t)fmt >= NFORMATS || fmt == HASHLIST_AUTO)
        return HASHLIST_ERR_INVALID;
    if (fmt != HASHLIST_CSV && fmt != HASHLIST_TSV)
        return HASHLIST_OK;
    for (size_t i = 0; i < sizeof column_order / sizeof column_order[0]; i++) {
        if (i)
            putc(fmt == HASHLIST_CSV ? ',' : '\t', fp);
        fputs(column_order[i], fp);
    }
    putc('\n', fp);
    return ferror(fp) ? HASHLIST_ERR_IO : HASHLIST_OK;
}

/* A JSON string; `s` is valid UTF-8 (checked by the caller). */
static void put_json(FILE *fp, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    putc('"', fp);
    for (; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                fprintf(fp, "\\u%04x", (unsigned)*p);
            } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
                /* U+2028, U+2029: valid JSON, but line breaks to some readers */
                fprintf(fp, "\\u%04x", p[2] == 0xa8 ? 0x2028u : 0x2029u);
                p += 2;
            } else {
                putc(*p, fp);
            }
        }
    }
    putc('"', fp);
}

static void put_hex_bytes(FILE *fp, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        putc(phm_hex_digits[b[i] >> 4], fp);
        putc(phm_hex_digits[b[i] & 15], fp);
    }
}

static int unrepresentable(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int unrepresentable(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return HASHLIST_ERR_UNREPRESENTABLE;
}

int hashlist_write(FILE *fp, hashlist_format fmt, const hashlist_record *rec, char *err,
                   size_t errlen)
{
    const char *strs[4], *names[4] = { "source", "id", "category", "note" };
    static const size_t maxes[4] = { HASHLIST_SOURCE_MAX, HASHLIST_ID_MAX,
                                     HASHLIST_CATEGORY_MAX, HASHLIST_NOTE_MAX };
    char hex[PHM_PDQ_HEX_LEN + 1], when[21];

    if (err && errlen)
        err[0] = '\0';
    if (!fp || !rec || (size_t)fmt >= NFORMATS || fmt == HASHLIST_AUTO)
        return HASHLIST_ERR_INVALID;
    strs[0] = rec->source;
    strs[1] = rec->id;
    strs[2] = rec->category;
    strs[3] = rec->note;
    for (int i = 0; i < 4; i++) {
        if (!memchr(strs[i], '\0', maxes[i] + 1))
            return unrepresentable(err, errlen, "%s is not terminated within %zu bytes",
                                   names[i], maxes[i]);
        if (fmt == HASHLIST_JSONL && !phm_utf8_valid(strs[i], strlen(strs[i])))
            return unrepresentable(err, errlen,
                                   "%s is not valid UTF-8, which jsonl cannot carry",
                                   names[i]);
    }
    if (rec->has & HASHLIST_HAS_VPDQ) {
        if (fmt != HASHLIST_JSONL)
            return unrepresentable(err, errlen, "a video's frames, which %s cannot carry "
                                   "(jsonl or vPDQ files can)", hashlist_format_name(fmt));
        if (!rec->video || !rec->video->count || (rec->has & HASHLIST_HAS_PDQ))
            return unrepresentable(err, errlen, "a video needs frames and no pdq hash");
    } else if (!(rec->has & HASHLIST_HAS_ALL)) {
        return unrepresentable(err, errlen, "the record has no hash (pdq, md5, sha1 or sha256)");
    }
    if (!(rec->has & HASHLIST_HAS_PDQ) &&
        (fmt == HASHLIST_PDQ || fmt == HASHLIST_HEX || fmt == HASHLIST_HMA))
        return unrepresentable(err, errlen, "the record has no pdq hash, which %s needs",
                               hashlist_format_name(fmt));
    if (rec->quality < -1 || rec->quality > 100)
        return unrepresentable(err, errlen, "quality %d is out of range 0..100",
                               rec->quality);
    if (rec->added < 0 || rec->added > HASHLIST_TIME_MAX)
        return unrepresentable(err, errlen, "added time %lld is out of range",
                               (long long)rec->added);
    if (fmt == HASHLIST_PDQ && strpbrk(rec->id, "\r\n"))
        return unrepresentable(err, errlen,
                               "a pdq line cannot carry a line break in the name (id)");

    phm_pdq_to_hex(&rec->pdq, hex);
    when[0] = '\0';
    if (rec->added)
        hashlist_format_time(rec->added, when);

    switch (fmt) {
    case HASHLIST_PDQ:
        fputs(hex, fp);
        putc(',', fp);
        if (rec->quality >= 0)
            fprintf(fp, "%d", rec->quality);
        putc(',', fp);
        fputs(rec->id, fp);
        break;
    case HASHLIST_HEX:
        fputs(hex, fp);
        break;
    case HASHLIST_HMA:
        fputs("pdq ", fp);
        fputs(hex, fp);
        break;
    case HASHLIST_CSV:
    case HASHLIST_TSV: {
        int sep = fmt == HASHLIST_CSV ? ',' : '\t';
        void (*put)(FILE *, const char *, size_t) =
            fmt == HASHLIST_CSV ? output_csv_field : output_tsv_field;
        if (rec->has & HASHLIST_HAS_PDQ)
            fputs(hex, fp);
        putc(sep, fp);
        if (rec->quality >= 0)
            fprintf(fp, "%d", rec->quality);
        for (int i = 0; i < 4; i++) {
            putc(sep, fp);
            put(fp, strs[i], strlen(strs[i]));
        }
        putc(sep, fp);
        fputs(when, fp);
        for (size_t d = 0; d < NDIGESTS; d++) {
            putc(sep, fp);
            if (rec->has & digests[d].bit)
                put_hex_bytes(fp, digest_cbytes(rec, d), digests[d].size);
        }
        break;
    }
    case HASHLIST_JSONL:
        if (rec->has & HASHLIST_HAS_PDQ)
            fprintf(fp, "{\"hash\":\"%s\",\"quality\":", hex);
        else
            fputs("{\"hash\":null,\"quality\":", fp);
        if (rec->quality >= 0)
            fprintf(fp, "%d", rec->quality);
        else
            fputs("null", fp);
        for (int i = 0; i < 4; i++) {
            fprintf(fp, ",\"%s\":", names[i]);
            put_json(fp, strs[i]);
        }
        fputs(",\"added\":", fp);
        if (rec->added)
            fprintf(fp, "\"%s\"", when);
        else
            fputs("null", fp);
        for (size_t d = 0; d < NDIGESTS; d++) {
            fprintf(fp, ",\"%s\":", digests[d].name);
            if (rec->has & digests[d].bit) {
                putc('"', fp);
                put_hex_bytes(fp, digest_cbytes(rec, d), digests[d].size);
                putc('"', fp);
            } else {
                fputs("null", fp);
            }
        }
        if (rec->has & HASHLIST_HAS_VPDQ) {
            char vl[PHM_VPDQ_LINE_MAX];
            fputs(",\"vpdq\":[", fp);
            for (size_t i = 0; i < rec->video->count; i++) {
                size_t n = phm_vpdq_format_frame(&rec->video->frames[i], vl);
                if (i)
                    putc(',', fp);
                fprintf(fp, "\"%.*s\"", (int)(n - 1), vl); /* no newline */
            }
            putc(']', fp);
        }
        putc('}', fp);
        break;
    default:
        return HASHLIST_ERR_INVALID;
    }
    putc('\n', fp);
    return ferror(fp) ? HASHLIST_ERR_IO : HASHLIST_OK;
}
