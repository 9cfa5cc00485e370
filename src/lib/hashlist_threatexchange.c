/* hashlist_threatexchange.c - Meta ThreatExchange descriptors: the Graph
 * API's JSON (one element of data[]) and the CSV download (one row), into
 * a phm_entry (docs/HASHLISTS.md, "threatexchange"). */
#include "hashlist_internal.h"

#include <string.h>

#include <jansson.h>

/* The indicator type: HASH_PDQ, HASH_MD5, ... as the hash kind. */
static const char *hash_kind(const char *type, size_t n)
{
    static const struct {
        const char *type, *kind;
    } types[] = {
        { "HASH_PDQ", "pdq" }, { "HASH_MD5", "md5" }, { "HASH_SHA1", "sha1" },
        { "HASH_SHA256", "sha256" },
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (hl_same_name(type, n, types[i].type, 1))
            return types[i].kind;
    return NULL;
}

static int typed(phm_hashlist_reader *r, phm_entry *e, const char *type, size_t tn,
                 const char *val, size_t vn, char *err, size_t errlen)
{
    const char *kind = hash_kind(type, tn);
    if (!kind)
        return hl_other_signal(r, type, tn, err, errlen);
    return hl_set_typed_hash(r, e, kind, val, vn, err, errlen);
}

int hl_te_record(phm_hashlist_reader *r, json_t *o, phm_entry *e, char *err, size_t errlen)
{
    const char *val, *type, *status;
    size_t vn, tn, sn;
    json_t *v;
    int rc;

    v = json_object_get(o, "id");
    if (!v || json_is_null(v))
        return HL_LINE_ERR("a descriptor needs an \"id\"");
    if ((rc = hl_json_id(r, v, "id", err, errlen)) != 0)
        return rc;
    v = json_object_get(o, "should_delete");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        return HL_LINE_ERR("\"should_delete\" must be a boolean");
    if (json_is_true(v))
        return HL_REMOVED;
    if ((rc = hl_json_opt_str(r, o, "raw_indicator", &val, &vn, err, errlen)) != 0 ||
        (rc = hl_json_opt_str(r, o, "type", &type, &tn, err, errlen)) != 0 ||
        (rc = hl_json_opt_str(r, o, "status", &status, &sn, err, errlen)) != 0)
        return rc;
    if (!val || !type)
        return HL_LINE_ERR("a descriptor needs \"raw_indicator\" and \"type\"");
    if ((rc = typed(r, e, type, tn, val, vn, err, errlen)) != 0)
        return rc;
    if (status && (rc = hl_set_string(r, r->category, PHM_HASHLIST_CATEGORY_MAX, "status",
                                      status, sn, err, errlen)) != 0)
        return rc;
    if ((rc = hl_json_time(r, json_object_get(o, "added_on"), "added_on", e, err, errlen)) != 0)
        return rc;
    /* tags.data[].text */
    json_t *tags = json_object_get(json_object_get(o, "tags"), "data");
    if (!tags || !json_is_array(tags) || json_array_size(tags) == 0)
        return 0;
    json_t *list = json_array(), *attrs = json_object(), *t;
    size_t i;
    if (!list || !attrs) {
        json_decref(list);
        json_decref(attrs);
        return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
    }
    json_array_foreach(tags, i, t) {
        json_t *text = json_object_get(t, "text");
        if (!json_is_string(text)) {
            json_decref(list);
            json_decref(attrs);
            return HL_LINE_ERR("tag %zu has no \"text\" string", i + 1);
        }
        json_array_append(list, text);
    }
    json_object_set_new(attrs, "tags", list);
    rc = hl_set_attrs(r, e, attrs, err, errlen);
    json_decref(attrs);
    return rc;
}

/* ---------------------------------------------------------------- */
/* The CSV download                                                  */

enum { TE_OTHER = 0, TE_RAW, TE_TYPE, TE_ID, TE_STATUS, TE_TAGS, TE_ADDED, TE_DELETE, TE_KINDS };

static const struct {
    const char *name;
    int kind;
} te_columns[] = {
    { "td_raw_indicator", TE_RAW }, { "td_indicator_type", TE_TYPE },
    { "td_id", TE_ID },             { "td_status", TE_STATUS },
    { "td_tags", TE_TAGS },         { "td_added_on", TE_ADDED },
    { "td_should_delete", TE_DELETE },
};

int hl_tecsv_header(phm_hashlist_reader *r, char *err, size_t errlen)
{
    for (int k = 0; k < COL_KINDS; k++)
        r->colidx[k] = -1;
    r->ncols = r->nfields;
    for (size_t i = 0; i < r->ncols; i++) {
        const char *s = r->fbuf + r->foff[i];
        size_t n = r->flen[i];
        hl_trim(&s, &n);
        r->col[i] = TE_OTHER;
        for (size_t c = 0; c < sizeof te_columns / sizeof te_columns[0]; c++) {
            if (hl_same_name(s, n, te_columns[c].name, 1)) {
                int k = te_columns[c].kind;
                if (r->colidx[k] >= 0)
                    return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                                   "duplicate column '%s'", te_columns[c].name);
                r->col[i] = (unsigned char)k;
                r->colidx[k] = (int)i;
            }
        }
    }
    if (r->colidx[TE_RAW] < 0 || r->colidx[TE_TYPE] < 0)
        return hl_fail(r, err, errlen, PHM_ERR_UNSUPPORTED,
                       "the threatexchange-csv header needs td_raw_indicator and "
                       "td_indicator_type");
    return 0;
}

int hl_tecsv_row(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    const char *f[TE_KINDS] = { 0 };
    size_t fl[TE_KINDS] = { 0 };
    int rc;

    if (r->nfields != r->ncols)
        return HL_LINE_ERR("%zu field%s, the header has %zu", r->nfields,
                           r->nfields == 1 ? "" : "s", r->ncols);
    for (int k = 1; k < TE_KINDS; k++)
        if (r->colidx[k] >= 0) {
            f[k] = r->fbuf + r->foff[r->colidx[k]];
            fl[k] = r->flen[r->colidx[k]];
            hl_trim(&f[k], &fl[k]);
        }
    if (f[TE_ID] && (rc = hl_set_string(r, r->id, PHM_HASHLIST_ID_MAX, "td_id", f[TE_ID],
                                        fl[TE_ID], err, errlen)) != 0)
        return rc;
    if (f[TE_DELETE] && fl[TE_DELETE] && hl_bool_text(f[TE_DELETE], fl[TE_DELETE]) == 1) {
        if (!r->id[0])
            return HL_LINE_ERR("a deletion (td_should_delete) without a td_id");
        return HL_REMOVED;
    }
    if ((rc = typed(r, e, f[TE_TYPE], fl[TE_TYPE], f[TE_RAW], fl[TE_RAW], err, errlen)) != 0)
        return rc;
    if (f[TE_STATUS] && (rc = hl_set_string(r, r->category, PHM_HASHLIST_CATEGORY_MAX,
                                            "td_status", f[TE_STATUS], fl[TE_STATUS], err,
                                            errlen)) != 0)
        return rc;
    if (f[TE_ADDED] && fl[TE_ADDED] && hl_feed_time(f[TE_ADDED], fl[TE_ADDED], &e->added))
        return HL_LINE_ERR("invalid time in td_added_on");
    if (f[TE_TAGS] && fl[TE_TAGS]) {
        json_t *attrs = json_object();
        if (!attrs)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        json_t *tags = json_stringn(f[TE_TAGS], fl[TE_TAGS]);
        if (!tags) {
            json_decref(attrs);
            return HL_LINE_ERR("td_tags is not UTF-8");
        }
        json_object_set_new(attrs, "tags", tags);
        rc = hl_set_attrs(r, e, attrs, err, errlen);
        json_decref(attrs);
        return rc;
    }
    return 0;
}
