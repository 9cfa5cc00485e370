/* fields.c - typed record fields and their text forms (see fields.h). */
#include "fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delimited.h"
#include "output.h"

void field_str(field *f, const char *name, const char *s)
{
    f->name = name;
    f->kind = s ? FIELD_STR : FIELD_NULL;
    f->s = s;
    f->len = s ? strlen(s) : 0;
}

void field_num(field *f, const char *name, int known, long long v)
{
    f->name = name;
    f->kind = known ? FIELD_NUM : FIELD_NULL;
    f->num = v;
}

void field_real(field *f, const char *name, int known, double v)
{
    field_num(f, name, known, 0);
    if (known)
        f->kind = FIELD_REAL;
    f->real = v;
}

void field_raw(field *f, const char *name, const char *s)
{
    field_str(f, name, s);
    if (s)
        f->kind = FIELD_RAW;
}

void field_flags(field *f, unsigned flags)
{
    f->name = "flags";
    f->kind = FIELD_FLAGS;
    f->num = flags;
}

void fields_write_names(FILE *fp, const field *f, size_t n, char sep)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            putc(sep, fp);
        fputs(f[i].name, fp);
    }
    putc('\n', fp);
}

static const char *flags_text(long long flags)
{
    return flags == (FIELD_FLAG_LOW_QUALITY | FIELD_FLAG_RECOVERED)
               ? "low_quality,recovered"
           : flags == FIELD_FLAG_LOW_QUALITY ? "low_quality"
           : flags == FIELD_FLAG_RECOVERED   ? "recovered"
                                             : "";
}

/* Numbers are written bare in every format. */
static void put_number(FILE *fp, const field *f)
{
    if (f->kind == FIELD_NUM)
        fprintf(fp, "%lld", f->num);
    else if (f->kind == FIELD_REAL)
        fprintf(fp, "%.3f", f->real);
    else
        fwrite(f->s, 1, f->len, fp);
}

void fields_write_delimited(FILE *fp, const field *f, size_t n, char sep)
{
    void (*enc)(FILE *, const char *, size_t) =
        sep == '\t' ? output_tsv_field : output_csv_field;
    for (size_t i = 0; i < n; i++) {
        if (i)
            putc(sep, fp);
        switch (f[i].kind) {
        case FIELD_NULL:
            break;
        case FIELD_STR:
            enc(fp, f[i].s, f[i].len);
            break;
        case FIELD_NUM:
        case FIELD_REAL:
        case FIELD_RAW:
            put_number(fp, &f[i]);
            break;
        case FIELD_FLAGS: {
            const char *s = flags_text(f[i].num);
            enc(fp, s, strlen(s));
            break;
        }
        }
    }
    putc('\n', fp);
}

void fields_write_json(FILE *fp, const field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            putc(',', fp);
        fprintf(fp, "\"%s\":", f[i].name);
        switch (f[i].kind) {
        case FIELD_NULL:
            fputs("null", fp);
            break;
        case FIELD_STR:
            phm_json_fwrite(fp, f[i].s, f[i].len);
            break;
        case FIELD_NUM:
        case FIELD_REAL:
        case FIELD_RAW:
            put_number(fp, &f[i]);
            break;
        case FIELD_FLAGS:
            putc('[', fp);
            if (f[i].num & FIELD_FLAG_LOW_QUALITY)
                fputs("\"low_quality\"", fp);
            if (f[i].num & FIELD_FLAG_RECOVERED)
                fputs(f[i].num & FIELD_FLAG_LOW_QUALITY ? ",\"recovered\""
                                                        : "\"recovered\"",
                      fp);
            putc(']', fp);
            break;
        }
        if (f[i].kind == FIELD_STR && strcmp(f[i].name, "path") == 0 &&
            !phm_utf8_valid(f[i].s, f[i].len)) {
            /* The exact bytes of a path that is not UTF-8. */
            fputs(",\"path_hex\":\"", fp);
            for (size_t j = 0; j < f[i].len; j++)
                fprintf(fp, "%02x", (unsigned char)f[i].s[j]);
            putc('"', fp);
        }
    }
}

/* "FRAME@SECONDS ..." of a hit's frames (malloc'd), or NULL. */
static char *frames_text(const phm_match_hit *h)
{
    /* A frame number has at most 20 digits, a timestamp < 10^12 s far less
     * than 24 characters: 48 bytes an item bounds the text. */
    if (h->nframes > ((size_t)-1) / 48 - 1)
        return NULL;
    char *s = malloc(h->nframes * 48 + 1);
    size_t len = 0;
    if (!s)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < h->nframes; i++) {
        int n = snprintf(s + len, 48, "%s%llu@%.3f", i ? " " : "",
                         (unsigned long long)h->frames[i].frame,
                         h->frames[i].timestamp);
        if (n < 0 || n >= 48) {
            free(s);
            return NULL;
        }
        len += (size_t)n;
    }
    return s;
}

size_t fields_match(field *f, const phm_match_hit *h, char **frames)
{
    const phm_entry *e = h && h->e.source ? &h->e : NULL;
    size_t n = 0;

    *frames = NULL;
    if (h && h->frames && !(*frames = frames_text(h)))
        return 0;
    field_num(&f[n++], "entry", h != NULL, h ? (long long)h->entry : 0);
    field_str(&f[n++], "source", e ? e->source : NULL);
    field_str(&f[n++], "id", e ? e->id : NULL);
    field_str(&f[n++], "category", e ? (e->category ? e->category : "") : NULL);
    field_str(&f[n++], "entry_kind",
              h ? (h->kind == PHM_MATCH_VIDEO ? "video" : "image") : NULL);
    field_num(&f[n++], "distance", h != NULL, h ? h->distance : 0);
    field_str(&f[n++], "orientation", h ? phm_dihedral_name(h->orientation) : NULL);
    field_str(&f[n++], "variant", h ? h->variant : NULL);
    field_str(&f[n++], "known_variant", h ? h->known_variant : NULL);
    field_num(&f[n++], "frame", h && h->frame >= 0, h ? h->frame : 0);
    field_real(&f[n++], "timestamp", h && h->frame >= 0, h ? h->timestamp : 0);
    field_str(&f[n++], "frames", *frames);
    field_real(&f[n++], "query_percent", h && h->compared, h ? h->query_percent : 0);
    field_real(&f[n++], "compared_percent", h && h->compared,
               h ? h->compared_percent : 0);
    return n;
}
