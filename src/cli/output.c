/* output.c - record formats (see output.h). */
#include "output.h"

#include "fields.h"

#include <string.h>

/* A record as a list of typed fields (fields.h), then written in the
 * chosen format, so that every format has the same columns in the same
 * order. */
#define MAX_FIELDS (15 + PHM_DIH_COUNT + PHM_DIGEST_COUNT)

/* Text storage for the fields of one record. */
typedef struct field_text {
    char hex[PHM_DIH_COUNT][PHM_PDQ_HEX_LEN + 1];
    char format[OUTPUT_FORMAT_MAX]; /* "mov/h264" */
    char timestamp[32]; /* "12.345" */
    char fps[32];       /* "29.97" */
} field_text;

int output_format_parse(const char *name, output_format *out)
{
    static const struct {
        const char *name;
        output_format f;
    } table[] = {
        { "tsv", OUTPUT_TSV },     { "csv", OUTPUT_CSV },
        { "jsonl", OUTPUT_JSONL }, { "json", OUTPUT_JSONL },
        { "pdq", OUTPUT_PDQ },     { "vpdq", OUTPUT_VPDQ },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(name, table[i].name) == 0) {
            *out = table[i].f;
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- */
/* Field encoders                                                    */

/* ---------------------------------------------------------------- */
/* Records                                                           */

const char *output_format_column(const hash_record *r,
                                 char buf[OUTPUT_FORMAT_MAX])
{
    const phm_vpdq *v = r->video;
    if (v && !r->animated) {
        if (!v->container[0])
            return NULL;
        snprintf(buf, OUTPUT_FORMAT_MAX, "%s/%s", v->container, v->codec);
        return buf;
    }
    if (r->format != PHM_FORMAT_UNKNOWN ||
        (r->status == PHM_ERR_UNSUPPORTED && r->size >= 0))
        return phm_format_name(r->format);
    return NULL;
}

/* Fills `f` with the columns of record `r`, or of frame `fr` of the video
 * record `r`, or with r == NULL just the names. `t` provides storage for
 * the formatted values. Returns the count. */
static size_t record_fields(const output_config *cfg, const hash_record *r,
                            const phm_vpdq_frame *fr, field *f, field_text *t)
{
    static const hash_record none = { .status = PHM_ERR_INTERNAL, .size = -1 };
    const phm_vpdq *v;
    int ok;
    size_t n = 0;
    const char *format = NULL;

    if (!r)
        r = &none;
    v = r->video;
    ok = fr ? 1 : r->status >= 0;
    /* An animation's own record is an image's; its frames are a video's. */
    const phm_vpdq *vid = r->animated ? NULL : v;
    format = output_format_column(r, t->format);

    field_str(&f[n], "path", r->path);
    f[n++].len = r->path_len;
    field_str(&f[n++], "status", ok ? "ok" : phm_reason(r->status));
    field_num(&f[n++], "size", !fr && r->size >= 0, r->size);
    field_str(&f[n++], "format", format);
    if (fr) {
        field_num(&f[n++], "width", 1, v->hash_width);
        field_num(&f[n++], "height", 1, v->hash_height);
    } else {
        field_num(&f[n++], "width", r->width > 0, r->width);
        field_num(&f[n++], "height", r->height > 0, r->height);
    }
    field_str(&f[n++], "mode",
            !ok ? NULL : fr || vid ? phm_mode_name(PHM_MODE_FULL)
                                   : phm_mode_name(cfg->mode));
    int has_hash = fr || (!vid && ok);
    int quality = fr ? fr->quality : r->pdq.quality;
    if (has_hash)
        phm_pdq_to_hex(fr ? &fr->hash : &r->pdq.hash[0], t->hex[0]);
    field_str(&f[n++], "pdq", has_hash ? t->hex[0] : NULL);
    field_num(&f[n++], "quality", has_hash, quality);
    field_flags(&f[n++],
                (has_hash && quality < PHM_PDQ_MIN_QUALITY ? FIELD_FLAG_LOW_QUALITY
                                                           : 0) |
                    (!fr && r->status == PHM_WARN_RECOVERED ? FIELD_FLAG_RECOVERED
                                                            : 0));
    if (cfg->dihedral) {
        for (int i = 1; i < PHM_DIH_COUNT; i++) {
            int have = !fr && !vid && ok && r->pdq.nhashes > i;
            if (have)
                phm_pdq_to_hex(&r->pdq.hash[i], t->hex[i]);
            field_str(&f[n++], phm_dihedral_name(i), have ? t->hex[i] : NULL);
        }
    }
    for (int i = 0; i < PHM_DIGEST_COUNT; i++)
        if (cfg->digests & (1u << i))
            field_str(&f[n++], phm_digest_name(i),
                    !fr && r->has_digests && r->digest[i][0] ? r->digest[i]
                                                             : NULL);

    /* Video columns: kind, then frame and timestamp of a frame, or for the
     * video the time decoding reached, its frame rate and frames hashed. */
    field_str(&f[n++], "kind", fr ? "frame" : vid ? "video" : "image");
    field_num(&f[n++], "frame", fr != NULL, fr ? (long long)fr->frame : 0);
    int opened = vid && vid->fps > 0;
    if (fr || opened) {
        double ts = fr ? fr->timestamp
                       : phm_vpdq_timestamp(v->frames_decoded, v->fps);
        snprintf(t->timestamp, sizeof t->timestamp, "%.3f", ts);
        field_raw(&f[n++], "timestamp", t->timestamp);
    } else {
        field_str(&f[n++], "timestamp", NULL);
    }
    if (!fr && opened) {
        snprintf(t->fps, sizeof t->fps, "%.6g", v->fps);
        field_raw(&f[n++], "fps", t->fps);
    } else {
        field_str(&f[n++], "fps", NULL);
    }
    field_num(&f[n++], "frames", !fr && v != NULL,
            v ? (long long)v->count : 0);
    field_str(&f[n++], "error",
            !fr && r->message && r->message[0] ? r->message : NULL);
    return n;
}

void output_header(FILE *fp, const output_config *cfg)
{
    field f[MAX_FIELDS];
    field_text t;
    size_t n;

    if (!cfg->header || (cfg->format != OUTPUT_TSV && cfg->format != OUTPUT_CSV))
        return;
    n = record_fields(cfg, NULL, NULL, f, &t);
    fields_write_names(fp, f, n, cfg->format == OUTPUT_TSV ? '\t' : ',');
}

static void write_pdq(FILE *fp, const hash_record *r)
{
    char hex[PHM_PDQ_HEX_LEN + 1];
    if (r->animated && r->status >= 0) {
        /* The image's lines, then its frames'. */
        hash_record image = *r;
        image.video = NULL;
        image.animated = 0;
        write_pdq(fp, &image);
    }
    if (r->video) {
        /* One line per frame; frame number and timestamp after the path. */
        for (size_t i = 0; i < r->video->count; i++) {
            const phm_vpdq_frame *fr = &r->video->frames[i];
            phm_pdq_to_hex(&fr->hash, hex);
            fprintf(fp, "%s,%d,", hex, fr->quality);
            phm_pdq_name_fwrite(fp, r->path, r->path_len);
            fprintf(fp, ",%llu,%.3f\n", (unsigned long long)fr->frame,
                    fr->timestamp);
        }
        return;
    }
    if (r->status < 0)
        return;
    for (int i = 0; i < r->pdq.nhashes && i < PHM_DIH_COUNT; i++) {
        phm_pdq_to_hex(&r->pdq.hash[i], hex);
        fprintf(fp, "%s,%d,", hex, r->pdq.quality);
        phm_pdq_name_fwrite(fp, r->path, r->path_len); /* ferror checked at the end */
        putc('\n', fp);
    }
}

void output_vpdq(FILE *fp, const phm_vpdq *v)
{
    char line[PHM_VPDQ_LINE_MAX];
    for (size_t i = 0; i < v->count; i++) {
        size_t n = phm_vpdq_format_frame(&v->frames[i], line);
        fwrite(line, 1, n, fp);
    }
}

static void write_fields(FILE *fp, const output_config *cfg, const field *f,
                         size_t n)
{
    switch (cfg->format) {
    case OUTPUT_TSV:
        fields_write_delimited(fp, f, n, '\t');
        return;
    case OUTPUT_CSV:
        fields_write_delimited(fp, f, n, ',');
        return;
    case OUTPUT_JSONL:
        putc('{', fp);
        fields_write_json(fp, f, n);
        fputs("}\n", fp);
        return;
    case OUTPUT_PDQ:
    case OUTPUT_VPDQ:
        return;
    }
}

void output_record(FILE *fp, const output_config *cfg, const hash_record *r)
{
    field f[MAX_FIELDS];
    field_text t;
    size_t n;

    switch (cfg->format) {
    case OUTPUT_PDQ:
        write_pdq(fp, r);
        return;
    case OUTPUT_VPDQ:
        if (r->video)
            output_vpdq(fp, r->video);
        return;
    case OUTPUT_TSV:
    case OUTPUT_CSV:
    case OUTPUT_JSONL:
        break;
    }
    n = record_fields(cfg, r, NULL, f, &t);
    write_fields(fp, cfg, f, n);
    if (r->video) {
        for (size_t i = 0; i < r->video->count; i++) {
            n = record_fields(cfg, r, &r->video->frames[i], f, &t);
            write_fields(fp, cfg, f, n);
        }
    }
}
