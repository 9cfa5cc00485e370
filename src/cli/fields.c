/* fields.c - typed record fields and their text forms (see fields.h). */
#include "fields.h"

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
