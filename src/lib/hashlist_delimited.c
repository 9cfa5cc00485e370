/* hashlist_delimited.c - csv and tsv hash lists: splitting records into
 * fields, the header, a row into a phm_entry; and the csv/tsv field
 * writers (phm_csv_fwrite, phm_tsv_fwrite), one definition for every
 * writer of such text (hash lists, phmatch's output). See
 * docs/HASHLISTS.md. */
#include "hashlist_internal.h"

#include <string.h>

/* ---------------------------------------------------------------- */
/* Field writers                                                     */

int phm_tsv_fwrite(FILE *fp, const void *data, size_t len)
{
    const char *s = data;
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '\\': fputs("\\\\", fp); break;
        case '\t': fputs("\\t", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        default: putc(s[i], fp);
        }
    }
    return ferror(fp) ? PHM_ERR_UNREADABLE : PHM_OK;
}

int phm_pdq_name_fwrite(FILE *fp, const void *data, size_t len)
{
    const unsigned char *s = data;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '\\')
            fputs("\\\\", fp);
        else if (c == '\n')
            fputs("\\n", fp);
        else if (c == '\r')
            fputs("\\r", fp);
        else if (c == '\t')
            fputs("\\t", fp);
        else if (c < 0x20 || c == 0x7f)
            fprintf(fp, "\\x%c%c", phm_hex_digits[c >> 4], phm_hex_digits[c & 15]);
        else
            putc(c, fp);
    }
    return ferror(fp) ? PHM_ERR_UNREADABLE : PHM_OK;
}

int phm_csv_fwrite(FILE *fp, const void *data, size_t len)
{
    const char *s = data;
    int quote = 0;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        if (len)
            fwrite(s, 1, len, fp);
        return ferror(fp) ? PHM_ERR_UNREADABLE : PHM_OK;
    }
    putc('"', fp);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            putc('"', fp);
        putc(s[i], fp);
    }
    putc('"', fp);
    return ferror(fp) ? PHM_ERR_UNREADABLE : PHM_OK;
}

/* ---------------------------------------------------------------- */
/* Splitting                                                         */

/* An error while splitting: of this record, or fatal in the header. */
#define SPLIT_ERR(fmt, ...)                                                          \
    hl_fail(r, err, errlen, r->started ? PHM_ERR_CORRUPT : PHM_ERR_UNSUPPORTED, \
            "%s" fmt, r->started ? "" : "invalid header: ", __VA_ARGS__)

/* Splits a csv record starting with `line` into r->fbuf, reading more
 * lines while a quoted field is open. Returns 1 (fields), 0 (a blank
 * line), or an error status. */
static int csv_split(phm_hashlist_reader *r, const char *line, size_t len, char *err,
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
            } else if (c == r->sep) {
                r->flen[n] = used - r->foff[n];
                if (++n == PHM_HASHLIST_MAX_COLUMNS)
                    return SPLIT_ERR("more than %d fields", PHM_HASHLIST_MAX_COLUMNS);
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
                return SPLIT_ERR("record longer than %d bytes", PHM_HASHLIST_LINE_MAX);
            r->fbuf[used++] = c;
        }
        if (!quoted)
            break;
        /* The quoted field holds a line break. */
        if (used == sizeof r->fbuf)
            return SPLIT_ERR("record longer than %d bytes", PHM_HASHLIST_LINE_MAX);
        r->fbuf[used++] = '\n';
        int rc = hl_next_line(r, &line, &len);
        if (rc == 0)
            return SPLIT_ERR("unterminated quoted field %zu", n + 1);
        if (rc == HL_LINE_TOO_LONG)
            return SPLIT_ERR("record longer than %d bytes", PHM_HASHLIST_LINE_MAX);
        if (rc == PHM_ERR_NOMEM)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        if (rc < 0)
            return hl_read_failed(r, err, errlen);
        i = 0;
    }
    r->flen[n] = used - r->foff[n];
    r->nfields = n + 1;
    return 1;
}

/* Splits a tsv line into r->fbuf, undoing \t \n \r \\ (any other
 * backslash is kept as it is). Returns 1, or 0 for a blank line. */
static int tsv_split(phm_hashlist_reader *r, const char *line, size_t len, char *err,
                     size_t errlen)
{
    size_t n = 0, used = 0;
    hl_strip_cr(&len, line);
    if (len == 0)
        return 0;
    r->foff[0] = 0;
    for (size_t i = 0; i < len; i++) {
        char c = line[i];
        if (c == '\t') {
            r->flen[n] = used - r->foff[n];
            if (++n == PHM_HASHLIST_MAX_COLUMNS)
                return SPLIT_ERR("more than %d fields", PHM_HASHLIST_MAX_COLUMNS);
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
        if (used == sizeof r->fbuf) /* a line of an object read long */
            return SPLIT_ERR("record longer than %d bytes", PHM_HASHLIST_LINE_MAX);
        r->fbuf[used++] = c;
    }
    r->flen[n] = used - r->foff[n];
    r->nfields = n + 1;
    return 1;
}

int hl_split_fields(phm_hashlist_reader *r, const char *line, size_t len, char *err,
                    size_t errlen)
{
    return r->fmt != PHM_HASHLIST_TSV ? csv_split(r, line, len, err, errlen)
                                      : tsv_split(r, line, len, err, errlen);
}

/* ---------------------------------------------------------------- */
/* The header                                                        */

int hl_read_header(phm_hashlist_reader *r, const char *line, size_t len, char *err,
                   size_t errlen)
{
    char unknown[200];
    size_t nunknown = 0, ulen = 0;
    hl_shown_buf a, b;

    int rc = hl_split_fields(r, line, len, err, errlen);
    if (rc < 0)
        return rc; /* fatal: the header is read before r->started */
    if (rc == 0)
        return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED, "empty header");
    r->ncols = r->nfields;
    unknown[0] = '\0';
    for (size_t i = 0; i < r->ncols; i++) {
        const char *s = r->fbuf + r->foff[i];
        size_t n = r->flen[i];
        hl_trim(&s, &n);
        hl_col k = hl_column_kind(s, n, 1);
        r->col[i] = (unsigned char)k;
        if (k == COL_UNKNOWN) {
            nunknown++;
            if (ulen < sizeof unknown - 1) {
                int w = snprintf(unknown + ulen, sizeof unknown - ulen, "%s'%s'",
                                 nunknown > 1 ? ", " : "", HL_SHOW(a, s, n));
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
            hl_trim(&t, &tn);
            return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                           "duplicate column: '%s' (column %zu) and '%s' (column %zu) "
                           "name the same field",
                           HL_SHOW(a, t, tn), j + 1, HL_SHOW(b, s, n), i + 1);
        }
        r->colidx[k] = (int)i;
    }
    if (r->colidx[COL_HASH] < 0 && r->colidx[COL_MD5] < 0 && r->colidx[COL_SHA1] < 0 &&
        r->colidx[COL_SHA256] < 0)
        return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                       "the %s header names no hash column (hash, pdq, signal, "
                       "signal_str, md5, sha1 or sha256)",
                       phm_hashlist_format_name(r->fmt));
    if (r->colidx[COL_ID] >= 0 && r->colidx[COL_NAME] >= 0) {
        /* The id column wins; the name column is not used. */
        size_t j = (size_t)r->colidx[COL_NAME];
        const char *t = r->fbuf + r->foff[j];
        size_t tn = r->flen[j];
        hl_trim(&t, &tn);
        r->col[j] = COL_UNKNOWN;
        r->colidx[COL_NAME] = -1;
        nunknown++;
        if (ulen < sizeof unknown - 1)
            snprintf(unknown + ulen, sizeof unknown - ulen, "%s'%s'",
                     nunknown > 1 ? ", " : "", HL_SHOW(a, t, tn));
    }
    if (nunknown)
        hl_warn(r, "ignoring %zu unknown column%s: %s", nunknown, nunknown > 1 ? "s" : "",
                unknown);
    return 0;
}

/* ---------------------------------------------------------------- */
/* Rows                                                              */

static int is_blank(const char *s, size_t len)
{
    hl_trim(&s, &len);
    return len == 0;
}

int hl_fields_to_entry(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    int rc = 0;
    const char *s = NULL;
    size_t n = 0;

    if (r->nfields != r->ncols)
        return HL_LINE_ERR("%zu field%s, the header has %zu", r->nfields,
                           r->nfields == 1 ? "" : "s", r->ncols);
#define FIELD(k) (r->colidx[k] >= 0 && (s = r->fbuf + r->foff[r->colidx[k]], \
                                        n = r->flen[r->colidx[k]], 1))
    if (FIELD(COL_SIGNAL_TYPE) && (rc = hl_check_signal_type(r, s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_HASH) && !is_blank(s, n) && (rc = hl_set_hash(r, e, s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_QUALITY) && (rc = hl_set_quality(r, e, s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_SOURCE) && (rc = hl_set_string(r, r->source, PHM_HASHLIST_SOURCE_MAX,
                                                 "source", s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_ID) &&
        (rc = hl_set_string(r, r->id, PHM_HASHLIST_ID_MAX, "id", s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_NAME) &&
        (rc = hl_set_string(r, r->id, PHM_HASHLIST_ID_MAX, "name", s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_CATEGORY) && (rc = hl_set_string(r, r->category, PHM_HASHLIST_CATEGORY_MAX,
                                                   "category", s, n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_NOTE) && (rc = hl_set_string(r, r->note, PHM_HASHLIST_NOTE_MAX, "note", s,
                                               n, err, errlen)) != 0)
        return rc;
    if (FIELD(COL_ADDED) && (rc = hl_set_added(r, e, s, n, err, errlen)) != 0)
        return rc;
    for (size_t d = 0; d < HL_NDIGESTS; d++)
        if (FIELD(hl_digests[d].kind) &&
            (rc = hl_set_digest(r, e, d, s, n, err, errlen)) != 0)
            return rc;
#undef FIELD
    if (!e->signals)
        return HL_LINE_ERR(HL_NO_HASH_MSG);
    return 0;
}
