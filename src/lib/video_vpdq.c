/* video_vpdq.c - vPDQ values: frame lists, frame selection arithmetic, the
 * reference's text lines, and the bag-of-frames comparison (see the Video
 * section of phmatch.h). No FFmpeg here: video.c decodes. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phmatch.h"

/* ------------------------------------------------------------------ */
/* Frame lists                                                         */
/* ------------------------------------------------------------------ */

void phm_vpdq_init(phm_vpdq *v)
{
    if (!v)
        return;
    memset(v, 0, sizeof *v);
    v->bytes = -1;
}

void phm_vpdq_clear(phm_vpdq *v)
{
    if (!v)
        return;
    free(v->frames);
    phm_vpdq_init(v);
}

int phm_vpdq_append(phm_vpdq *v, const phm_vpdq_frame *f)
{
    if (!v || !f)
        return PHM_ERR_INVALID;
    if (v->count == v->capacity) {
        size_t cap = v->capacity ? v->capacity * 2 : 64;
        if (cap > SIZE_MAX / sizeof *v->frames)
            return PHM_ERR_NOMEM;
        phm_vpdq_frame *p = realloc(v->frames, cap * sizeof *p);
        if (!p)
            return PHM_ERR_NOMEM;
        v->frames = p;
        v->capacity = cap;
    }
    v->frames[v->count++] = *f;
    return PHM_OK;
}

/* ------------------------------------------------------------------ */
/* Frame selection                                                     */
/* ------------------------------------------------------------------ */

#define STEP_MAX (1ull << 62)

uint64_t phm_vpdq_frame_step(double seconds_per_hash, double fps)
{
    /* The reference: int m = secondsPerHash * frameRate; if (m == 0) m = 1.
     * The product is truncated toward zero; NaN and anything below 1 give
     * 1. */
    double m = seconds_per_hash * fps;
    if (!(m >= 1.0) || !isfinite(fps))
        return 1;
    if (m >= (double)STEP_MAX)
        return STEP_MAX;
    return (uint64_t)m;
}

double phm_vpdq_timestamp(uint64_t frame, double fps)
{
    /* The reference stores the rate as a float and divides in float. */
    float rate = (float)fps;
    if (!(rate > 0.0f) || !isfinite(rate))
        return 0.0;
    return (double)((float)frame / rate);
}

/* ------------------------------------------------------------------ */
/* Text lines                                                          */
/* ------------------------------------------------------------------ */

size_t phm_vpdq_format_frame(const phm_vpdq_frame *f,
                             char out[PHM_VPDQ_LINE_MAX])
{
    char hex[PHM_PDQ_HEX_LEN + 1];
    double ts = f->timestamp;
    int n;

    phm_pdq_to_hex(&f->hash, hex);
    /* 20 + 1 + 11 + 1 + 64 + 1 + up to 28 (timestamps are clamped) + 1. */
    if (!isfinite(ts) || ts < 0)
        ts = 0;
    if (ts > 1e15)
        ts = 1e15;
    n = snprintf(out, PHM_VPDQ_LINE_MAX, "%llu,%d,%s,%.3f\n",
                 (unsigned long long)f->frame, f->quality, hex, ts);
    if (n < 0)
        n = 0;
    if (n >= PHM_VPDQ_LINE_MAX)
        n = PHM_VPDQ_LINE_MAX - 1;
    return (size_t)n;
}

typedef struct line_fields {
    uint64_t frame;
    int quality;
    phm_pdq hash;
    double timestamp;
} line_fields;

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses decimal digits at s[*i..end) into *out (at most 19 digits, so no
 * overflow). Returns 0, or -1 if there is no digit or too many. */
static int parse_uint(const char *s, size_t end, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    size_t start = *i;
    while (*i < end && is_digit(s[*i])) {
        if (*i - start >= 19)
            return -1;
        v = v * 10 + (uint64_t)(s[*i] - '0');
        (*i)++;
    }
    if (*i == start)
        return -1;
    *out = v;
    return 0;
}

/* Parses one line s[0..len) (no line end). Returns NULL, or what is wrong.
 * The timestamp is parsed without strtod, whose decimal point depends on
 * the locale. */
static const char *parse_line(const char *s, size_t len, line_fields *f)
{
    size_t i = 0;
    uint64_t v;

    if (parse_uint(s, len, &i, &v))
        return "malformed frame number";
    f->frame = v;
    if (i >= len || s[i++] != ',')
        return "expected 'frame,quality,hash,timestamp'";
    if (parse_uint(s, len, &i, &v) || v > 100)
        return "malformed quality (expected 0..100)";
    f->quality = (int)v;
    if (i >= len || s[i++] != ',')
        return "expected 'frame,quality,hash,timestamp'";
    if (len - i < PHM_PDQ_HEX_LEN ||
        phm_pdq_from_hex(s + i, PHM_PDQ_HEX_LEN, &f->hash) != PHM_OK)
        return "malformed hash (expected 64 hex digits)";
    i += PHM_PDQ_HEX_LEN;
    if (i >= len || s[i++] != ',')
        return "expected 'frame,quality,hash,timestamp'";
    if (parse_uint(s, len, &i, &v))
        return "malformed timestamp";
    double ts = (double)v;
    if (i < len && s[i] == '.') {
        double scale = 0.1;
        size_t digits = 0;
        i++;
        while (i < len && is_digit(s[i])) {
            if (digits++ < 17) {
                ts += (s[i] - '0') * scale;
                scale /= 10;
            }
            i++;
        }
        if (digits == 0)
            return "malformed timestamp";
    }
    if (i != len)
        return "unexpected text after the timestamp";
    f->timestamp = ts;
    return NULL;
}

int phm_vpdq_detect(const void *data, size_t len)
{
    const char *s = data;
    size_t n = 0;
    line_fields f;

    if (!s || len == 0)
        return 0;
    if (len > PHM_VPDQ_LINE_MAX)
        len = PHM_VPDQ_LINE_MAX;
    while (n < len && s[n] != '\n')
        n++;
    /* A line too long to be one, seen whole only if data ends there. */
    if (n == len && len == PHM_VPDQ_LINE_MAX)
        return 0;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    return parse_line(s, n, &f) == NULL;
}

static int parse_fail(int status, char *err, size_t errlen, const char *name,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int parse_fail(int status, char *err, size_t errlen, const char *name,
                      const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "cannot parse vPDQ '%s': ",
                         name ? name : "(memory)");
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return status;
}

static void reset_fields(phm_vpdq *v)
{
    phm_vpdq_frame *frames = v->frames;
    size_t cap = v->capacity;
    phm_vpdq_init(v);
    v->frames = frames;
    v->capacity = cap;
}

int phm_vpdq_parse(const char *text, size_t len, const char *name,
                   phm_vpdq *out, char *err, size_t errlen)
{
    size_t pos = 0;
    uint64_t lineno = 0;

    if (err && errlen)
        err[0] = '\0';
    if (!out || (!text && len))
        return PHM_ERR_INVALID;
    reset_fields(out);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        line_fields f;
        const char *why;

        lineno++;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        if (n == 0) {
            pos = nl ? end + 1 : len;
            continue;
        }
        if (memchr(text + pos, '\0', n))
            return parse_fail(PHM_ERR_CORRUPT, err, errlen, name,
                              "line %llu: not text (NUL byte)",
                              (unsigned long long)lineno);
        why = parse_line(text + pos, n, &f);
        if (why)
            return parse_fail(PHM_ERR_CORRUPT, err, errlen, name,
                              "line %llu: %s", (unsigned long long)lineno,
                              why);
        if (out->count >= PHM_VIDEO_DEFAULT_MAX_FRAMES)
            return parse_fail(PHM_ERR_TOO_LARGE, err, errlen, name,
                              "more than %llu frames",
                              (unsigned long long)PHM_VIDEO_DEFAULT_MAX_FRAMES);
        phm_vpdq_frame fr = { f.hash, f.quality, f.frame, f.timestamp };
        if (phm_vpdq_append(out, &fr) != PHM_OK)
            return parse_fail(PHM_ERR_NOMEM, err, errlen, name,
                              "out of memory");
        pos = nl ? end + 1 : len;
    }
    return PHM_OK;
}

int phm_vpdq_load(const char *path, uint64_t max_bytes, phm_vpdq *out,
                  char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t got = 0, cap = 0;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!path || !out)
        return PHM_ERR_INVALID;
    reset_fields(out);
    out->count = 0;
    if (max_bytes == 0)
        max_bytes = PHM_VPDQ_DEFAULT_MAX_FILE_BYTES;

    rc = phm_file_read(path, 0, max_bytes, &buf, &cap, &got, err, errlen);
    if (rc == PHM_OK)
        rc = phm_vpdq_parse((const char *)buf, got, path, out, err, errlen);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Comparison                                                          */
/* ------------------------------------------------------------------ */

size_t phm_vpdq_distinct(const phm_vpdq *v, int min_quality, phm_pdq *out)
{
    size_t n = 0, k = 0;

    if (!v || !out)
        return 0;
    for (size_t i = 0; i < v->count; i++)
        if (v->frames[i].quality >= min_quality)
            out[n++] = v->frames[i].hash;
    if (n < 2)
        return n;
    qsort(out, n, sizeof *out, phm_pdq_cmp);
    for (size_t i = 1; i < n; i++)
        if (phm_pdq_cmp(&out[i], &out[k]) != 0)
            out[++k] = out[i];
    return k + 1;
}

/* How many of a[0..na) are within `dist` of some of b[0..nb). */
static size_t count_matched(const phm_pdq *a, size_t na, const phm_pdq *b,
                            size_t nb, int dist)
{
    size_t matched = 0;
    for (size_t i = 0; i < na; i++) {
        for (size_t j = 0; j < nb; j++) {
            if (phm_pdq_distance(&a[i], &b[j]) <= dist) {
                matched++;
                break;
            }
        }
    }
    return matched;
}

int phm_vpdq_compare(const phm_vpdq *query, const phm_vpdq *compared,
                     int max_distance, int min_quality, phm_vpdq_match *out)
{
    phm_pdq *q = NULL, *c = NULL;

    if (!out)
        return PHM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!query || !compared || max_distance < 0 ||
        max_distance > PHM_PDQ_BITS)
        return PHM_ERR_INVALID;
    q = malloc((query->count ? query->count : 1) * sizeof *q);
    c = malloc((compared->count ? compared->count : 1) * sizeof *c);
    if (!q || !c) {
        free(q);
        free(c);
        return PHM_ERR_NOMEM;
    }
    out->query_hashes = phm_vpdq_distinct(query, min_quality, q);
    out->compared_hashes = phm_vpdq_distinct(compared, min_quality, c);
    if (out->query_hashes && out->compared_hashes) {
        out->query_matched = count_matched(q, out->query_hashes, c,
                                           out->compared_hashes, max_distance);
        out->compared_matched = count_matched(c, out->compared_hashes, q,
                                              out->query_hashes, max_distance);
        out->query_percent =
            (double)out->query_matched * 100.0 / (double)out->query_hashes;
        out->compared_percent = (double)out->compared_matched * 100.0 /
                                (double)out->compared_hashes;
    }
    free(q);
    free(c);
    return PHM_OK;
}

int phm_vpdq_is_match(const phm_vpdq_match *m, double query_threshold,
                      double compared_threshold)
{
    return m && m->query_hashes > 0 && m->compared_hashes > 0 &&
           m->query_percent >= query_threshold &&
           m->compared_percent >= compared_threshold;
}
