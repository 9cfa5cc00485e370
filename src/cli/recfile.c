/* recfile.c - reading back hash and match output files (see recfile.h). */
#include "recfile.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"

/* The most columns of a tsv/csv record (match's are about 30). */
#define MAX_COLUMNS 64

/* Columns of a tsv/csv record, by name or else by place (see columns()). */
typedef struct column_map {
    int status, size, flags, kind, frames, match_count;
} column_map;

struct recfile {
    const char *name;
    FILE *fp;
    output_format format;
    char *header;          /* "" or the header line with its newline */
    size_t ncols;          /* columns of every record; 0 until known */
    int is_match;          /* -1 until a record says */
    column_map map;
    int have_map;

    uint64_t pos;          /* offset of the next byte read */
    char *rec;             /* the record read ahead, NUL-terminated */
    size_t rec_len, rec_cap;
    uint64_t rec_start;    /* its offset */
    uint64_t records;      /* records read */
    int ahead;             /* rec holds a parsed record not yet grouped */
    int at_end, partial;
    uint64_t tail;

    /* The parsed record ahead. */
    char *path;
    size_t path_len, path_cap;
    recfile_counts counts;  /* what it adds if it starts a group */
    int counted;            /* whether its kind of record adds (the first of
                               an input's records) */
    char *gpath;            /* the group being returned */
    size_t gpath_cap;
};

void recfile_counts_add(recfile_counts *c, const recfile_counts *d)
{
    c->inputs += d->inputs;
    c->hashed += d->hashed;
    c->failed += d->failed;
    c->low_quality += d->low_quality;
    c->recovered += d->recovered;
    c->bytes += d->bytes;
    c->videos += d->videos;
    c->frames += d->frames;
    c->searched += d->searched;
    c->not_searched += d->not_searched;
    c->matched += d->matched;
    c->hits += d->hits;
    c->suppressed += d->suppressed;
    c->search_failed += d->search_failed;
}

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    char *p = realloc(*buf, n);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

static int rec_error(recfile *rf, char *err, size_t errlen, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
static int rec_error(recfile *rf, char *err, size_t errlen, const char *fmt,
                     ...)
{
    va_list ap;
    int n = snprintf(err, errlen, "'%s': record %llu: ", rf->name,
                     (unsigned long long)rf->records);
    if (n >= 0 && (size_t)n < errlen) {
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return PHM_ERR_INVALID;
}

/* Reads the next record into rf->rec. Returns 1, 0 at the end or at a
 * partial record (rf->partial), or a negative code. A csv record ends at a
 * newline outside quotes. */
static int read_record(recfile *rf, char *err, size_t errlen)
{
    int quoted = 0, c;
    rf->rec_len = 0;
    rf->rec_start = rf->pos;
    for (;;) {
        c = getc_unlocked(rf->fp);
        if (c == EOF)
            break;
        rf->pos++;
        if (rf->rec_len + 2 > RECFILE_MAX_RECORD) {
            rf->records++;
            return rec_error(rf, err, errlen, "longer than %zu bytes",
                             RECFILE_MAX_RECORD);
        }
        if (grow(&rf->rec, &rf->rec_cap, rf->rec_len + 2)) {
            snprintf(err, errlen, "out of memory");
            return PHM_ERR_NOMEM;
        }
        rf->rec[rf->rec_len++] = (char)c;
        if (c == '"' && rf->format == OUTPUT_CSV)
            quoted = !quoted;
        else if (c == '\n' && !quoted)
            break;
    }
    if (c == EOF && ferror(rf->fp)) {
        snprintf(err, errlen, "cannot read '%s': %s", rf->name,
                 strerror(errno ? errno : EIO));
        return PHM_ERR_UNREADABLE;
    }
    if (c == EOF) {
        rf->at_end = 1;
        rf->tail = rf->rec_start;
        rf->partial = rf->rec_len > 0;
        return 0;
    }
    rf->rec[rf->rec_len] = '\0';
    rf->records++;
    return 1;
}

static int set_path(recfile *rf, const char *s, size_t len)
{
    if (grow(&rf->path, &rf->path_cap, len + 1))
        return -1;
    memcpy(rf->path, s, len);
    rf->path[len] = '\0';
    rf->path_len = len;
    return 0;
}

/* A tsv field's bytes with \\ \t \n \r undone, or a csv field's with its
 * quotes removed, into rf->path. Returns 0, or -1 if out of memory. */
static int decode_field(recfile *rf, const char *s, size_t len)
{
    if (grow(&rf->path, &rf->path_cap, len + 1))
        return -1;
    size_t n = 0;
    if (rf->format == OUTPUT_TSV) {
        for (size_t i = 0; i < len; i++) {
            char c = s[i];
            if (c == '\\' && i + 1 < len) {
                char e = s[++i];
                c = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
            }
            rf->path[n++] = c;
        }
    } else if (len >= 2 && s[0] == '"') {
        for (size_t i = 1; i + 1 < len; i++) {
            rf->path[n++] = s[i];
            if (s[i] == '"')
                i++; /* "" is one quote */
        }
    } else {
        memcpy(rf->path, s, len);
        n = len;
    }
    rf->path[n] = '\0';
    rf->path_len = n;
    return 0;
}

/* The column map of a header line (names), or by place for a record of
 * n columns without a header: hash's columns end with kind frame timestamp
 * fps frames error (16 to 26 columns); match's with kind match_count, 14
 * match columns and error (27 and more). */
static void columns(recfile *rf, const char *const *names, size_t n)
{
    column_map *m = &rf->map;
    m->status = 1;
    m->size = 2;
    m->flags = 9;
    if (!names) {
        rf->is_match = n >= 27;
        m->kind = rf->is_match ? (int)n - 17 : (int)n - 6;
        m->frames = rf->is_match ? -1 : (int)n - 2;
        m->match_count = rf->is_match ? (int)n - 16 : -1;
    } else {
        m->kind = m->frames = m->match_count = -1;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(names[i], "match_count") == 0)
                m->match_count = (int)i;
            else if (strcmp(names[i], "kind") == 0 && m->kind < 0)
                m->kind = (int)i;
            else if (strcmp(names[i], "frames") == 0 && m->frames < 0)
                m->frames = (int)i;
        }
        rf->is_match = m->match_count >= 0;
        if (rf->is_match)
            m->frames = -1; /* match's "frames" is a hit's */
    }
    rf->have_map = 1;
}

/* Splits a tsv/csv record (without its newline) into fields. Returns the
 * count, or 0 for too many. */
static size_t split(const recfile *rf, const char *s, size_t len,
                    const char **f, size_t *flen)
{
    char sep = rf->format == OUTPUT_TSV ? '\t' : ',';
    size_t n = 0, i = 0;
    for (;;) {
        if (n == MAX_COLUMNS)
            return 0;
        size_t start = i;
        int quoted = 0;
        while (i < len && (s[i] != sep || quoted)) {
            if (s[i] == '"' && rf->format == OUTPUT_CSV)
                quoted = !quoted;
            i++;
        }
        f[n] = s + start;
        flen[n++] = i - start;
        if (i == len)
            return n;
        i++;
    }
}

/* Sets the header from its line (tsv/csv): the names give the column map. */
static int take_header(recfile *rf, const char *line, size_t len)
{
    const char *f[MAX_COLUMNS];
    size_t flen[MAX_COLUMNS];
    char *names_buf = malloc(len + 1);
    const char *names[MAX_COLUMNS];
    if (!names_buf)
        return PHM_ERR_NOMEM;
    size_t body = len && line[len - 1] == '\n' ? len - 1 : len;
    size_t n = split(rf, line, body, f, flen);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(names_buf + off, f[i], flen[i]);
        names_buf[off + flen[i]] = '\0';
        names[i] = names_buf + off;
        off += flen[i] + 1;
    }
    if (n)
        columns(rf, names, n);
    rf->ncols = n;
    free(names_buf);
    return PHM_OK;
}

static long long field_int(const char *s, size_t len, int *known)
{
    long long v = 0;
    *known = len > 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (long long)1e17) {
            *known = 0;
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int has_flag(const char *s, size_t len, const char *flag)
{
    size_t fl = strlen(flag);
    for (size_t i = 0; i + fl <= len; i++)
        if (memcmp(s + i, flag, fl) == 0 && (i == 0 || s[i - 1] == ',') &&
            (i + fl == len || s[i + fl] == ','))
            return 1;
    return 0;
}

/* What an input's first record adds to the summary, from its status,
 * flags, size, kind, frames and match_count. */
static void count_record(recfile *rf, int ok, int low, int recovered,
                         long long size, int size_known, const char *kind,
                         long long frames, int frames_known,
                         long long match_count, int mc_known, int suppressed)
{
    recfile_counts *c = &rf->counts;
    memset(c, 0, sizeof *c);
    rf->counted = !kind || strcmp(kind, "frame") != 0;
    c->inputs = 1;
    if (ok)
        c->hashed = 1;
    else
        c->failed = 1;
    c->recovered = (uint64_t)recovered;
    if (size_known && size > 0)
        c->bytes = (uint64_t)size;
    int video = kind && strcmp(kind, "video") == 0;
    c->videos = (uint64_t)video;
    if (frames_known && !rf->is_match)
        c->frames = (uint64_t)frames;
    c->low_quality = (uint64_t)(low && !video);
    if (rf->is_match) {
        if (mc_known) {
            c->searched = 1;
            c->matched = match_count > 0;
            c->hits = (uint64_t)match_count;
            c->suppressed = (uint64_t)suppressed;
        } else if (ok && low) {
            c->not_searched = 1;
        } else if (ok) {
            c->search_failed = 1;
        }
    }
}

static int parse_delimited(recfile *rf, char *err, size_t errlen)
{
    const char *f[MAX_COLUMNS];
    size_t flen[MAX_COLUMNS];
    size_t body = rf->rec_len - 1; /* the newline */
    size_t n = split(rf, rf->rec, body, f, flen);
    if (n < 10)
        return rec_error(rf, err, errlen, "not a %s record of phmatch",
                         rf->format == OUTPUT_TSV ? "tsv" : "csv");
    if (rf->ncols && n != rf->ncols)
        return rec_error(rf, err, errlen, "%zu columns, not %zu", n, rf->ncols);
    rf->ncols = n;
    if (!rf->have_map)
        columns(rf, NULL, n);
    if (decode_field(rf, f[0], flen[0])) {
        snprintf(err, errlen, "out of memory");
        return PHM_ERR_NOMEM;
    }
    const column_map *m = &rf->map;
    int ok = flen[m->status] == 2 && memcmp(f[m->status], "ok", 2) == 0;
    int size_known, fr_known = 0, mc_known = 0;
    long long size = field_int(f[m->size], flen[m->size], &size_known);
    long long frames = 0, mc = 0;
    if (m->frames >= 0)
        frames = field_int(f[m->frames], flen[m->frames], &fr_known);
    if (m->match_count >= 0)
        mc = field_int(f[m->match_count], flen[m->match_count], &mc_known);
    char kind[8] = "";
    if (m->kind >= 0 && flen[m->kind] < sizeof kind) {
        memcpy(kind, f[m->kind], flen[m->kind]);
        kind[flen[m->kind]] = '\0';
    }
    const char *fl = f[m->flags];
    size_t fll = flen[m->flags];
    if (fll >= 2 && fl[0] == '"') { /* csv: "low_quality,recovered" */
        fl++;
        fll -= 2;
    }
    count_record(rf, ok, has_flag(fl, fll, "low_quality"),
                 has_flag(fl, fll, "recovered"), size, size_known, kind,
                 frames, fr_known, mc, mc_known, 0);
    return 0;
}

static int parse_jsonl(recfile *rf, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loadb(rf->rec, rf->rec_len, JSON_DISABLE_EOF_CHECK, &je);
    int rc = 0;
    if (!json_is_object(o)) {
        rc = rec_error(rf, err, errlen, "not a JSON object: %s",
                       o ? "another value" : je.text);
        goto out;
    }
    json_t *path = json_object_get(o, "path");
    json_t *hex = json_object_get(o, "path_hex");
    if (!json_is_string(path)) {
        rc = rec_error(rf, err, errlen, "no \"path\"");
        goto out;
    }
    if (json_is_string(hex)) {
        const char *h = json_string_value(hex);
        size_t hl = json_string_length(hex);
        if (hl % 2 || grow(&rf->path, &rf->path_cap, hl / 2 + 1)) {
            rc = hl % 2 ? rec_error(rf, err, errlen, "bad \"path_hex\"")
                        : PHM_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < hl / 2; i++) {
            int a = phm_hex_value((unsigned char)h[2 * i]);
            int b = phm_hex_value((unsigned char)h[2 * i + 1]);
            if (a < 0 || b < 0) {
                rc = rec_error(rf, err, errlen, "bad \"path_hex\"");
                goto out;
            }
            rf->path[i] = (char)(a << 4 | b);
        }
        rf->path[hl / 2] = '\0';
        rf->path_len = hl / 2;
    } else if (set_path(rf, json_string_value(path),
                        json_string_length(path))) {
        rc = PHM_ERR_NOMEM;
        goto out;
    }
    json_t *matches = json_object_get(o, "matches");
    if (rf->is_match < 0)
        rf->is_match = matches != NULL;
    json_t *status = json_object_get(o, "status");
    json_t *flags = json_object_get(o, "flags");
    json_t *kind = json_object_get(o, "kind");
    json_t *mc = json_object_get(o, "match_count");
    int low = 0, rec = 0;
    size_t i;
    json_t *v;
    json_array_foreach(flags, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), "low_quality") == 0)
            low = 1;
        if (json_is_string(v) && strcmp(json_string_value(v), "recovered") == 0)
            rec = 1;
    }
    json_t *size = json_object_get(o, "size");
    json_t *frames = json_object_get(o, "frames");
    long long count = json_is_integer(mc) ? json_integer_value(mc) : 0;
    count_record(rf,
                 json_is_string(status) && strcmp(json_string_value(status), "ok") == 0,
                 low, rec, json_is_integer(size) ? json_integer_value(size) : 0,
                 json_is_integer(size),
                 json_is_string(kind) ? json_string_value(kind) : NULL,
                 json_is_integer(frames) ? json_integer_value(frames) : 0,
                 json_is_integer(frames), count, json_is_integer(mc),
                 json_is_integer(mc) && count == 0 && json_array_size(matches) > 0);
out:
    json_decref(o);
    if (rc == PHM_ERR_NOMEM)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* Whether s[0..len) ends with ",FRAME,SECONDS" (SECONDS with 3 decimals):
 * a video frame's pdq line. Sets *name_len to what precedes it. */
static int pdq_frame_suffix(const char *s, size_t len, size_t *name_len)
{
    /* From the end: 3 digits, '.', digits, ',', digits, ','. */
    static const char shape[] = "ddd.D,D,";
    size_t i = len;
    for (const char *c = shape; *c; c++) {
        size_t digits = 0;
        if (*c == 'd' || *c == 'D') {
            while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9' &&
                   (*c == 'D' || digits < 1))
                i--, digits++;
            if (!digits)
                return 0;
        } else if (i == 0 || s[--i] != *c) {
            return 0;
        }
    }
    *name_len = i;
    return 1;
}

static int parse_pdq(recfile *rf, char *err, size_t errlen)
{
    const char *s = rf->rec;
    size_t len = rf->rec_len - 1, q = PHM_PDQ_HEX_LEN + 1;
    for (size_t i = 0; i < PHM_PDQ_HEX_LEN; i++)
        if (i >= len || phm_hex_value((unsigned char)s[i]) < 0)
            return rec_error(rf, err, errlen, "not a pdq line (hash,quality,path)");
    if (len <= q || s[PHM_PDQ_HEX_LEN] != ',')
        return rec_error(rf, err, errlen, "not a pdq line (hash,quality,path)");
    int known;
    size_t qe = q;
    while (qe < len && s[qe] != ',')
        qe++;
    long long quality = field_int(s + q, qe - q, &known);
    if (!known || qe == len)
        return rec_error(rf, err, errlen, "not a pdq line (hash,quality,path)");
    const char *name = s + qe + 1;
    size_t nlen = len - qe - 1, plain;
    int frame = pdq_frame_suffix(name, nlen, &plain);
    if (frame)
        nlen = plain;
    if (grow(&rf->path, &rf->path_cap, nlen + 1)) {
        snprintf(err, errlen, "out of memory");
        return PHM_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < nlen; i++) {
        char c = name[i];
        if (c == '\\' && i + 1 < nlen) {
            char e = name[i + 1];
            int hi, lo;
            if (e == '\\' || e == 't' || e == 'n' || e == 'r') {
                c = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : '\\';
                i++;
            } else if (e == 'x' && i + 3 < nlen &&
                       (hi = phm_hex_value((unsigned char)name[i + 2])) >= 0 &&
                       (lo = phm_hex_value((unsigned char)name[i + 3])) >= 0) {
                c = (char)(hi << 4 | lo);
                i += 3;
            }
        }
        rf->path[n++] = c;
    }
    rf->path[n] = '\0';
    rf->path_len = n;
    rf->is_match = 0;
    /* A group is an image's lines (then its animation's frames) or a
     * video's frames: its first line says which. */
    count_record(rf, 1, !frame && quality < PHM_PDQ_MIN_QUALITY, 0, 0, 0,
                 frame ? "video" : "image", 0, 0, 0, 0, 0);
    rf->counts.frames = (uint64_t)frame;
    return 0;
}

/* Reads and parses the next record. Returns 1, 0 at the end, or < 0. */
static int next_record(recfile *rf, char *err, size_t errlen)
{
    int rc = read_record(rf, err, errlen);
    if (rc <= 0)
        return rc;
    switch (rf->format) {
    case OUTPUT_TSV:
    case OUTPUT_CSV:
        rc = parse_delimited(rf, err, errlen);
        break;
    case OUTPUT_JSONL:
        rc = parse_jsonl(rf, err, errlen);
        break;
    default:
        rc = parse_pdq(rf, err, errlen);
        break;
    }
    return rc < 0 ? rc : 1;
}

int recfile_open(recfile **out, const char *name, FILE *fp, int format,
                 const char *header, char *err, size_t errlen)
{
    recfile *rf = calloc(1, sizeof *rf);
    int rc = PHM_ERR_NOMEM;
    *out = NULL;
    if (!rf)
        goto fail_nomem;
    rf->name = name;
    rf->fp = fp;
    rf->is_match = -1;
    if (format == OUTPUT_VPDQ) {
        snprintf(err, errlen, "'%s': vpdq lines name no path: they cannot "
                 "be read back as records", name);
        rc = PHM_ERR_INVALID;
        goto fail;
    }
    /* The first line (read as a line: a header has no quotes) decides the
     * format and holds the header; then the records are read from the
     * start again, after the header. */
    rf->format = OUTPUT_TSV;
    rc = read_record(rf, err, errlen);
    if (rc < 0)
        goto fail;
    const char *line = rf->rec;
    size_t len = rf->rec_len;
    int partial = rf->partial;
    if (format < 0) {
        if (len >= 5 && memcmp(line, "path\t", 5) == 0)
            format = OUTPUT_TSV;
        else if (len >= 5 && memcmp(line, "path,", 5) == 0)
            format = OUTPUT_CSV;
        else if (len && line[0] == '{')
            format = OUTPUT_JSONL;
        else if (len > PHM_PDQ_HEX_LEN && line[PHM_PDQ_HEX_LEN] == ',' &&
                 strspn(line, "0123456789abcdef") == PHM_PDQ_HEX_LEN)
            format = OUTPUT_PDQ;
        else if (len && memchr(line, '\t', len))
            format = OUTPUT_TSV;
        else
            format = OUTPUT_CSV;
    }
    rf->format = (output_format)format;
    int delimited = format == OUTPUT_TSV || format == OUTPUT_CSV;
    size_t hlen = 0;
    int empty = 0; /* nothing but (a first part of) the header */
    if (delimited && !header) {
        char sep = format == OUTPUT_TSV ? '\t' : ',';
        if (!partial && len >= 5 && memcmp(line, "path", 4) == 0 &&
            line[4] == sep)
            hlen = len;
    } else if (delimited && header[0]) {
        size_t want = strlen(header);
        if (len && memcmp(line, header, len < want ? len : want) != 0) {
            rc = PHM_ERR_INVALID;
            snprintf(err, errlen, "'%s': its first line is not the header "
                     "this run writes (another format, or other options "
                     "such as --digest, --dihedral or --no-header)", name);
            goto fail;
        }
        if (len < want)
            empty = 1; /* empty, or killed while writing the header */
        else
            hlen = want;
    }
    const char *h = hlen ? line : delimited && header ? header : "";
    size_t hl = hlen ? hlen : strlen(h);
    if (!(rf->header = malloc(hl + 1)))
        goto fail_nomem;
    memcpy(rf->header, h, hl);
    rf->header[hl] = '\0';
    if (hl && take_header(rf, rf->header, hl))
        goto fail_nomem;
    if (fseeko(fp, (off_t)hlen, SEEK_SET) != 0) {
        snprintf(err, errlen, "cannot read '%s': %s", name, strerror(errno));
        rc = PHM_ERR_UNREADABLE;
        goto fail;
    }
    rf->pos = hlen;
    rf->at_end = rf->partial = 0;
    rf->records = 0;
    if (empty) {
        rf->at_end = 1;
        rf->tail = 0;
        rf->partial = len > 0;
    }
    *out = rf;
    return PHM_OK;
fail_nomem:
    snprintf(err, errlen, "out of memory");
    rc = PHM_ERR_NOMEM;
fail:
    recfile_close(rf);
    return rc;
}

int recfile_next(recfile *rf, recfile_group *g, char *err, size_t errlen)
{
    if (!rf->ahead) {
        if (rf->at_end)
            return 0;
        int rc = next_record(rf, err, errlen);
        if (rc <= 0)
            return rc;
    }
    rf->ahead = 0;
    if (grow(&rf->gpath, &rf->gpath_cap, rf->path_len + 1)) {
        snprintf(err, errlen, "out of memory");
        return PHM_ERR_NOMEM;
    }
    memcpy(rf->gpath, rf->path, rf->path_len + 1);
    memset(g, 0, sizeof *g);
    g->path = rf->gpath;
    g->path_len = rf->path_len;
    g->start = rf->rec_start;
    g->record = rf->records;
    g->counts = rf->counts;
    if (!rf->counted) {
        /* An input's records start with its own (not a frame's). */
        return rec_error(rf, err, errlen, "a frame record without its "
                         "video's or image's record before it");
    }
    for (;;) {
        g->end = rf->pos;
        int rc = next_record(rf, err, errlen);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return 1;
        if (rf->path_len != g->path_len ||
            memcmp(rf->path, g->path, g->path_len) != 0 ||
            (rf->counted && rf->format != OUTPUT_PDQ &&
             !(rf->is_match && rf->format != OUTPUT_JSONL))) {
            rf->ahead = 1;
            return 1;
        }
        if (rf->format == OUTPUT_PDQ)
            g->counts.frames += rf->counts.frames;
    }
}

uint64_t recfile_tail(const recfile *rf)
{
    return rf->tail;
}

int recfile_partial(const recfile *rf)
{
    return rf->partial;
}

output_format recfile_format(const recfile *rf)
{
    return rf->format;
}

const char *recfile_header(const recfile *rf)
{
    return rf->header;
}

int recfile_is_match(const recfile *rf)
{
    return rf->is_match;
}

void recfile_close(recfile *rf)
{
    if (!rf)
        return;
    free(rf->header);
    free(rf->rec);
    free(rf->path);
    free(rf->gpath);
    free(rf);
}
