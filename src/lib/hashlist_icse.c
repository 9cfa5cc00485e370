/* hashlist_icse.c - Interpol ICSE's CSV export: semicolon-separated, header
 * MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender
 * identified;Series name;... (docs/HASHLISTS.md, "icse"). Rows are split
 * by the csv splitter with ';' as the separator. */
#include "hashlist_internal.h"

#include <string.h>

#include <jansson.h>

enum {
    IC_OTHER = 0, IC_MD5, IC_SHA1, IC_SHA256, IC_PHOTODNA, IC_ID, IC_CATEGORY,
    IC_DISTRIBUTED, IC_VICTIM, IC_OFFENDER, IC_SERIES, IC_KINDS
};

/* Column names (compared without case) and the attrs key they become. */
static const struct {
    const char *name;
    int kind;
    const char *attr;
} ic_columns[] = {
    { "MD5", IC_MD5, NULL },
    { "SHA1", IC_SHA1, NULL },
    { "SHA256", IC_SHA256, NULL },
    { "PhotoDNA", IC_PHOTODNA, NULL },
    { "Image ID", IC_ID, NULL },
    { "Category", IC_CATEGORY, NULL },
    { "Is distributed", IC_DISTRIBUTED, "IsDistributed" },
    { "Victim identified", IC_VICTIM, "VictimIdentified" },
    { "Offender identified", IC_OFFENDER, "OffenderIdentified" },
    { "Series name", IC_SERIES, "Series" },
};
#define IC_NCOLUMNS (sizeof ic_columns / sizeof ic_columns[0])

int hl_icse_header(phm_hashlist_reader *r, char *err, size_t errlen)
{
    int seen[IC_KINDS] = { 0 };
    r->ncols = r->nfields;
    for (size_t i = 0; i < r->ncols; i++) {
        const char *s = r->fbuf + r->foff[i];
        size_t n = r->flen[i];
        hl_trim(&s, &n);
        r->col[i] = IC_OTHER;
        for (size_t c = 0; c < IC_NCOLUMNS; c++) {
            if (!hl_same_name(s, n, ic_columns[c].name, 1))
                continue;
            if (seen[ic_columns[c].kind]++)
                return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                               "duplicate column '%s'", ic_columns[c].name);
            r->col[i] = (unsigned char)c + 1; /* the table's row, from 1 */
        }
    }
    if (!seen[IC_MD5] && !seen[IC_SHA1] && !seen[IC_SHA256])
        return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                       "the icse header names no MD5, SHA1 or SHA256 column");
    /* Column names are kept for the other columns' attrs keys: the header
     * is copied where rows do not reach (the end of fbuf is reused). */
    return 0;
}

int hl_icse_row(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    json_t *attrs = NULL;
    int rc = 0;

    if (r->nfields != r->ncols)
        return HL_LINE_ERR("%zu field%s, the header has %zu", r->nfields,
                           r->nfields == 1 ? "" : "s", r->ncols);
    for (size_t i = 0; i < r->ncols && !rc; i++) {
        const char *s = r->fbuf + r->foff[i];
        size_t n = r->flen[i];
        hl_trim(&s, &n);
        if (r->col[i] == IC_OTHER || n == 0)
            continue;
        size_t c = r->col[i] - 1u;
        switch (ic_columns[c].kind) {
        case IC_MD5: rc = hl_set_digest(r, e, 0, s, n, err, errlen); break;
        case IC_SHA1: rc = hl_set_digest(r, e, 1, s, n, err, errlen); break;
        case IC_SHA256: rc = hl_set_digest(r, e, 2, s, n, err, errlen); break;
        case IC_PHOTODNA: rc = hl_set_photodna(r, e, s, n, err, errlen); break;
        case IC_ID:
            rc = hl_set_string(r, r->id, PHM_HASHLIST_ID_MAX, "Image ID", s, n, err, errlen);
            break;
        case IC_CATEGORY:
            rc = hl_set_string(r, r->category, PHM_HASHLIST_CATEGORY_MAX, "Category", s, n,
                               err, errlen);
            break;
        default: {
            json_t *v;
            if (ic_columns[c].kind == IC_SERIES) {
                v = json_stringn(s, n);
            } else {
                int b = hl_bool_text(s, n);
                if (b < 0) {
                    rc = HL_LINE_ERR("'%s' must be yes/no, true/false or 1/0",
                                     ic_columns[c].name);
                    break;
                }
                v = json_boolean(b);
            }
            if (!v) {
                rc = HL_LINE_ERR("'%s' is not UTF-8", ic_columns[c].name);
                break;
            }
            if (!attrs && !(attrs = json_object())) {
                json_decref(v);
                rc = hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
                break;
            }
            json_object_set_new(attrs, ic_columns[c].attr, v);
        }
        }
    }
    if (!rc)
        rc = hl_set_attrs(r, e, attrs, err, errlen);
    json_decref(attrs);
    if (!rc && !e->signals)
        rc = HL_LINE_ERR("no MD5, SHA1 or SHA256 value%s",
                         e->photodna ? " (PhotoDNA alone cannot be matched)" : "");
    return rc;
}
