/* governance.c - what may match, stored in the index: per-source settings
 * (table `sources`), disabled entries (`disabled`) and quarantined entries
 * (`quarantine`); the schema is docs/INDEX_FORMAT.md ("Governance"), the
 * rules the Governance block of phmatch.h. Matching (match.c) reads them
 * from its searcher's snapshot through gov_*(); writes are one durable
 * LMDB write transaction each, which bumps the generation. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index_internal.h"

static const char *const WHAT_R = "cannot read index";
static const char *const WHAT_W = "cannot write index";

/* ---- settings values --------------------------------------------- */

/* A source without a record: what phm_source_settings_init gives, as
 * matching reads it (gov_source_read). */
static const gov_source gov_default = { .enabled = 1, .kind = PHM_SOURCE_NORMAL,
                                        .max_distance = -1, .min_quality = -1 };

void phm_source_settings_init(phm_source_settings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof *s);
    s->enabled = gov_default.enabled;
    s->max_distance = gov_default.max_distance;
    s->min_quality = gov_default.min_quality;
    s->kind = gov_default.kind;
    s->quarantine_window_ns = PHM_QUARANTINE_DEFAULT_WINDOW;
    s->matching_ratio = 1.0;
}

const char *phm_source_kind_name(int kind)
{
    return kind == PHM_SOURCE_NORMAL ? "normal"
           : kind == PHM_SOURCE_SUPPRESSION ? "suppression"
                                             : NULL;
}

int phm_source_kind_parse(const char *name, int *out)
{
    if (!name || !out)
        return PHM_ERR_INVALID;
    if (strcmp(name, "normal") == 0)
        *out = PHM_SOURCE_NORMAL;
    else if (strcmp(name, "suppression") == 0)
        *out = PHM_SOURCE_SUPPRESSION;
    else
        return PHM_ERR_INVALID;
    return PHM_OK;
}

/* Length of s if it is 1..max bytes without control characters, else -1. */
static long text_len(const char *s, size_t max)
{
    if (!s || !*s)
        return -1;
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c < 0x20 || c == 0x7f || n >= max)
            return -1;
    }
    return (long)n;
}

static int gov_invalid(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int gov_invalid(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "invalid source settings: ");
        if (n > 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return PHM_ERR_INVALID;
}

int phm_source_set_category(phm_source_settings *s, const char *code,
                            const char *name, char *err, size_t errlen)
{
    if (!s)
        return PHM_ERR_INVALID;
    if (text_len(code, PHM_INDEX_MAX_CATEGORY) < 0)
        return gov_invalid(err, errlen, "category code '%s' is empty, too long or "
                           "has control characters", code ? code : "");
    size_t i = 0;
    while (i < s->ncategories && strcmp(s->categories[i].code, code) < 0)
        i++;
    int exists = i < s->ncategories && strcmp(s->categories[i].code, code) == 0;
    if (!name || !*name) {
        if (exists) {
            memmove(&s->categories[i], &s->categories[i + 1],
                    (s->ncategories - i - 1) * sizeof s->categories[0]);
            s->ncategories--;
        }
        return PHM_OK;
    }
    if (text_len(name, PHM_SOURCE_MAX_CATEGORY_NAME) < 0)
        return gov_invalid(err, errlen, "category name '%s' is too long or has control "
                           "characters", name);
    if (!exists) {
        if (s->ncategories >= PHM_SOURCE_MAX_CATEGORIES)
            return gov_invalid(err, errlen, "more than %s category names", "32");
        memmove(&s->categories[i + 1], &s->categories[i],
                (s->ncategories - i) * sizeof s->categories[0]);
        s->ncategories++;
        snprintf(s->categories[i].code, sizeof s->categories[i].code, "%s", code);
    }
    snprintf(s->categories[i].name, sizeof s->categories[i].name, "%s", name);
    return PHM_OK;
}

const char *phm_source_category_name(const phm_source_settings *s, const char *code)
{
    if (!s || !code)
        return NULL;
    for (size_t i = 0; i < s->ncategories && i < PHM_SOURCE_MAX_CATEGORIES; i++)
        if (strcmp(s->categories[i].code, code) == 0)
            return s->categories[i].name;
    return NULL;
}

static int settings_check(const phm_source_settings *s, char *err, size_t errlen)
{
    char num[32];
    if (s->max_distance < -1 || s->max_distance > PHM_INDEX_MAX_RADIUS) {
        snprintf(num, sizeof num, "%d", s->max_distance);
        return gov_invalid(err, errlen, "max_distance %s is outside 0..256", num);
    }
    if (s->min_quality < -1 || s->min_quality > 100) {
        snprintf(num, sizeof num, "%d", s->min_quality);
        return gov_invalid(err, errlen, "min_quality %s is outside 0..100", num);
    }
    if (!phm_source_kind_name(s->kind))
        return gov_invalid(err, errlen, "unknown kind%s", "");
    if (s->quarantine_limit > PHM_QUARANTINE_MAX_LIMIT) {
        snprintf(num, sizeof num, "%u", (unsigned)s->quarantine_limit);
        return gov_invalid(err, errlen, "quarantine limit %s is above 1000", num);
    }
    if (s->quarantine_window_ns < UINT64_C(1000000000) ||
        s->quarantine_window_ns > PHM_QUARANTINE_MAX_WINDOW)
        return gov_invalid(err, errlen, "quarantine window is outside %s",
                           "1 second .. 30 days");
    if (s->ncategories > PHM_SOURCE_MAX_CATEGORIES)
        return gov_invalid(err, errlen, "more than %s category names", "32");
    if (!(s->matching_ratio >= 0.0 && s->matching_ratio <= 1.0))
        return gov_invalid(err, errlen, "matching_ratio is outside %s", "0..1");
    for (size_t i = 0; i < s->ncategories; i++) {
        const phm_category_name *c = &s->categories[i];
        if (!memchr(c->code, 0, sizeof c->code) || !memchr(c->name, 0, sizeof c->name) ||
            text_len(c->code, PHM_INDEX_MAX_CATEGORY) < 0 ||
            text_len(c->name, PHM_SOURCE_MAX_CATEGORY_NAME) < 0)
            return gov_invalid(err, errlen, "category name %s is malformed", "entry");
        if (i && strcmp(s->categories[i - 1].code, c->code) >= 0)
            return gov_invalid(err, errlen, "category codes %s", "repeat or are unsorted");
    }
    return PHM_OK;
}

/* ---- the source record ------------------------------------------- */

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static unsigned get16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

#define GOV_RECORD_MAX                                                   \
    (GOV_SOURCE_HEADER +                                                 \
     PHM_SOURCE_MAX_CATEGORIES * (4 + PHM_INDEX_MAX_CATEGORY + PHM_SOURCE_MAX_CATEGORY_NAME))

/* Encodes checked settings into buf (GOV_RECORD_MAX bytes). */
static size_t source_encode(const phm_source_settings *s, uint8_t *buf)
{
    memset(buf, 0, GOV_SOURCE_HEADER);
    buf[0] = GOV_SOURCE_VERSION;
    buf[1] = (uint8_t)((s->enabled ? 1 : 0) | (s->kind == PHM_SOURCE_SUPPRESSION ? 2 : 0));
    put16(buf + 2, (unsigned)(uint16_t)(int16_t)s->max_distance);
    put16(buf + 4, (unsigned)(uint16_t)(int16_t)s->min_quality);
    put16(buf + 6, (unsigned)s->ncategories);
    put16(buf + 8, s->quarantine_limit & 0xffff);
    put16(buf + 10, s->quarantine_limit >> 16);
    /* bytes 12..15: the share NOT admitted, in millionths (0: ratio 1, so
     * records written before the field existed read as 1) */
    uint32_t off = (uint32_t)((1.0 - s->matching_ratio) * 1e6 + 0.5);
    put16(buf + 12, off & 0xffff);
    put16(buf + 14, off >> 16);
    idx_u64_le_put(buf + 16, s->quarantine_window_ns);
    size_t n = GOV_SOURCE_HEADER;
    for (size_t i = 0; i < s->ncategories; i++) {
        const char *t[2] = { s->categories[i].code, s->categories[i].name };
        for (int j = 0; j < 2; j++) {
            size_t l = strlen(t[j]);
            put16(buf + n, (unsigned)l);
            memcpy(buf + n + 2, t[j], l);
            n += 2 + l;
        }
    }
    return n;
}

/* Decodes a record: PHM_OK or PHM_ERR_CORRUPT (also when its values
 * would not pass settings_check). */
static int source_decode(const void *rec, size_t len, phm_source_settings *out)
{
    const uint8_t *p = rec;
    phm_source_settings_init(out);
    if (len < GOV_SOURCE_HEADER || p[0] != GOV_SOURCE_VERSION || (p[1] & ~3u))
        return PHM_ERR_CORRUPT;
    uint32_t off = (uint32_t)get16(p + 12) | (uint32_t)get16(p + 14) << 16;
    if (off > 1000000)
        return PHM_ERR_CORRUPT;
    out->matching_ratio = (1000000 - off) / 1e6;
    out->enabled = p[1] & 1;
    out->kind = p[1] & 2 ? PHM_SOURCE_SUPPRESSION : PHM_SOURCE_NORMAL;
    out->max_distance = (int16_t)get16(p + 2);
    out->min_quality = (int16_t)get16(p + 4);
    size_t nc = get16(p + 6);
    out->quarantine_limit = (uint32_t)get16(p + 8) | (uint32_t)get16(p + 10) << 16;
    out->quarantine_window_ns = idx_u64_le(p + 16);
    if (nc > PHM_SOURCE_MAX_CATEGORIES)
        return PHM_ERR_CORRUPT;
    size_t n = GOV_SOURCE_HEADER;
    for (size_t i = 0; i < nc; i++) {
        char *t[2] = { out->categories[i].code, out->categories[i].name };
        size_t max[2] = { PHM_INDEX_MAX_CATEGORY, PHM_SOURCE_MAX_CATEGORY_NAME };
        for (int j = 0; j < 2; j++) {
            if (len - n < 2)
                return PHM_ERR_CORRUPT;
            size_t l = get16(p + n);
            if (l > max[j] || len - n - 2 < l)
                return PHM_ERR_CORRUPT;
            memcpy(t[j], p + n + 2, l);
            t[j][l] = '\0';
            if (memchr(t[j], 0, l))
                return PHM_ERR_CORRUPT;
            n += 2 + l;
        }
    }
    out->ncategories = nc;
    if (n != len)
        return PHM_ERR_CORRUPT;
    out->stored = 1;
    return settings_check(out, NULL, 0) == PHM_OK ? PHM_OK : PHM_ERR_CORRUPT;
}

int gov_source_decode_legacy(const void *rec, size_t len, phm_source_settings *out)
{
    return source_decode(rec, len, out);
}

/* ---- opening ----------------------------------------------------- */

static const struct {
    const char *name;
    size_t off;
} gov_tables[] = {
    { "sources", offsetof(phm_index, db_sources) },
    { "disabled", offsetof(phm_index, db_disabled) },
    { "quarantine", offsetof(phm_index, db_quarantine) },
};
#define NGOV (sizeof gov_tables / sizeof gov_tables[0])

static MDB_dbi *gov_dbi(phm_index *idx, size_t i)
{
    return (MDB_dbi *)(void *)((char *)idx + gov_tables[i].off);
}

int idx_gov_attach(phm_index *idx, char *err, size_t errlen)
{
    const char *what = "cannot open index";
    MDB_txn *txn;
    int rc = idx_begin(idx, idx->rdonly ? MDB_RDONLY : 0, &txn, what, err, errlen);
    if (rc)
        return rc;
    unsigned flags = idx->rdonly ? 0 : MDB_CREATE;
    for (size_t i = 0; !rc && i < NGOV; i++)
        rc = mdb_dbi_open(txn, gov_tables[i].name, flags, gov_dbi(idx, i));
    if (rc == MDB_NOTFOUND && idx->rdonly) {
        /* an older file never opened for writing since: all defaults */
        mdb_txn_abort(txn);
        idx->gov_present = 0;
        return PHM_OK;
    }
    /* The counts' table came later than the others: a file opened
     * read-only without it has no counts stored. */
    idx->qcounts_present = 0;
    if (!rc) {
        int q = mdb_dbi_open(txn, "qcounts", flags, &idx->db_qcounts);
        if (q == 0)
            idx->qcounts_present = 1;
        else if (!(q == MDB_NOTFOUND && idx->rdonly))
            rc = q;
    }
    if (rc == MDB_INCOMPATIBLE) {
        mdb_txn_abort(txn);
        idx_err(err, errlen, what, idx->path,
                "index file is corrupt: a governance table is of the wrong kind");
        return PHM_ERR_INDEX;
    }
    if (!rc)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc)
        return idx_mdb_err(rc, err, errlen, what, idx, NULL);
    idx->gov_present = 1;
    return PHM_OK;
}

/* ---- reading ----------------------------------------------------- */

static int check_source(const char *source, char *err, size_t errlen)
{
    if (text_len(source, PHM_INDEX_MAX_SOURCE) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "invalid source name: empty, longer than %d bytes or "
                     "with control characters", PHM_INDEX_MAX_SOURCE);
        return PHM_ERR_INVALID;
    }
    return PHM_OK;
}

/* Reads the record of `source` in txn into *out (defaults if none). */
static int source_get_txn(phm_index *idx, MDB_txn *txn, const char *source,
                          phm_source_settings *out, char *err, size_t errlen)
{
    phm_source_settings_init(out);
    if (!idx->gov_present)
        return PHM_OK;
    MDB_val k = { strlen(source), (void *)(uintptr_t)source }, v;
    int rc = mdb_get(txn, idx->db_sources, &k, &v);
    if (rc == MDB_NOTFOUND)
        return PHM_OK;
    if (rc)
        return idx_mdb_err(rc, err, errlen, WHAT_R, idx, NULL);
    if (source_decode(v.mv_data, v.mv_size, out)) {
        idx_err(err, errlen, WHAT_R, idx->path,
                "index file is corrupt: the settings of source '%s' do not decode", source);
        return PHM_ERR_CORRUPT;
    }
    return PHM_OK;
}

int phm_index_source_get(phm_index *idx, const char *source, phm_source_settings *out,
                         char *err, size_t errlen)
{
    if (!idx || !out)
        return PHM_ERR_INVALID;
    phm_source_settings_init(out);
    int st = check_source(source, err, errlen);
    if (st)
        return st;
    MDB_txn *txn;
    int rc = idx_begin(idx, MDB_RDONLY, &txn, WHAT_R, err, errlen);
    if (rc)
        return rc;
    st = source_get_txn(idx, txn, source, out, err, errlen);
    mdb_txn_abort(txn);
    return st;
}

/* The sources: names from `counts` (with their entry counts) and from
 * `sources`, merged in byte order. */
typedef struct src_name {
    char name[PHM_INDEX_MAX_SOURCE + 1];
    uint64_t entries;
} src_name;

typedef struct src_list {
    src_name *v;
    size_t n, cap;
} src_list;

static int list_push(src_list *l, const void *name, size_t len, uint64_t count)
{
    if (len > PHM_INDEX_MAX_SOURCE)
        return MDB_CORRUPTED;
    if (l->n && strlen(l->v[l->n - 1].name) == len &&
        memcmp(l->v[l->n - 1].name, name, len) == 0) {
        l->v[l->n - 1].entries += count;
        return 0;
    }
    if (l->n == l->cap) {
        size_t c = l->cap ? 2 * l->cap : 16;
        src_name *nv = realloc(l->v, c * sizeof *nv);
        if (!nv)
            return ENOMEM;
        l->v = nv;
        l->cap = c;
    }
    memcpy(l->v[l->n].name, name, len);
    l->v[l->n].name[len] = '\0';
    l->v[l->n].entries = count;
    l->n++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const src_name *)a)->name, ((const src_name *)b)->name);
}

int phm_index_source_foreach(phm_index *idx,
                             int (*fn)(void *ctx, const char *source,
                                       const phm_source_settings *s, uint64_t entries),
                             void *ctx, char *err, size_t errlen)
{
    if (!idx || !fn)
        return PHM_ERR_INVALID;
    src_list l = { NULL, 0, 0 };
    phm_source_settings *set = malloc(sizeof *set);
    MDB_txn *txn = NULL;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    idx_len len = { 0, 0, 0 };
    int st = PHM_OK, rc = set ? idx_txn_begin(idx, MDB_RDONLY, &txn, &len) : ENOMEM;
    idx_names names = { 0 };
    if (!rc)
        rc = idx_names_load(idx, txn, &names);
    if (!rc)
        rc = mdb_cursor_open(txn, idx->db_counts, &c);
    /* counts keys: source number, category number (a source's are a run) */
    for (int op = MDB_FIRST; !rc && (rc = mdb_cursor_get(c, &k, &v, op)) == 0; op = MDB_NEXT) {
        uint32_t src, cat;
        const char *name = NULL;
        uint64_t cnt = 0;
        if (!idx_group_key_parse(k.mv_data, k.mv_size, &src, &cat))
            name = idx_names_str(&names, src);
        if (!name || v.mv_size != sizeof cnt)
            rc = MDB_CORRUPTED;
        else
            memcpy(&cnt, v.mv_data, sizeof cnt);
        if (!rc)
            rc = list_push(&l, name, strlen(name), cnt);
    }
    idx_names_free(&names);
    if (c)
        mdb_cursor_close(c);
    c = NULL;
    size_t counted = l.n;
    if (counted > 1)
        qsort(l.v, counted, sizeof *l.v, cmp_names);
    if (rc == MDB_NOTFOUND)
        rc = idx->gov_present ? mdb_cursor_open(txn, idx->db_sources, &c) : 0;
    for (int op = MDB_FIRST; !rc && c && (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
         op = MDB_NEXT) {
        src_name key = { .entries = 0 };
        if (k.mv_size > PHM_INDEX_MAX_SOURCE) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(key.name, k.mv_data, k.mv_size);
        key.name[k.mv_size] = '\0';
        if (!counted || !bsearch(&key, l.v, counted, sizeof *l.v, cmp_names)) {
            if (l.n == l.cap) {
                size_t cap = l.cap ? 2 * l.cap : 16;
                src_name *nv = realloc(l.v, cap * sizeof *nv);
                if (!nv) {
                    rc = ENOMEM;
                    break;
                }
                l.v = nv;
                l.cap = cap;
            }
            l.v[l.n++] = key;
        }
    }
    if (c)
        mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc) {
        st = idx_txn_err(rc, &len, err, errlen, WHAT_R, idx, NULL);
        goto out;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_names);
    for (size_t i = 0; i < l.n && !st; i++) {
        st = source_get_txn(idx, txn, l.v[i].name, set, err, errlen);
        if (!st)
            st = fn(ctx, l.v[i].name, set, l.v[i].entries);
    }
out:
    if (txn)
        mdb_txn_abort(txn);
    free(l.v);
    free(set);
    return st;
}

/* Walks a (source, id)-keyed state table. */
static int state_foreach(phm_index *idx, MDB_dbi dbi,
                         int (*fn)(void *ctx, const char *source, const char *id,
                                   uint64_t a, uint64_t b),
                         void *ctx, char *err, size_t errlen)
{
    if (!idx->gov_present)
        return PHM_OK;
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int st = PHM_OK, rc = idx_begin(idx, MDB_RDONLY, &txn, WHAT_R, err, errlen);
    if (rc)
        return rc;
    rc = mdb_cursor_open(txn, dbi, &c);
    for (int op = MDB_FIRST; !rc && (rc = mdb_cursor_get(c, &k, &v, op)) == 0; op = MDB_NEXT) {
        char key[KEY_MAX + 1];
        const char *nul = memchr(k.mv_data, 0, k.mv_size);
        if (!nul || k.mv_size > KEY_MAX || v.mv_size != GOV_STATE_BYTES) {
            idx_err(err, errlen, WHAT_R, idx->path,
                    "index file is corrupt: bad disabled or quarantine record");
            st = PHM_ERR_CORRUPT;
            break;
        }
        memcpy(key, k.mv_data, k.mv_size);
        key[k.mv_size] = '\0';
        size_t sl = (size_t)(nul - (const char *)k.mv_data);
        if ((st = fn(ctx, key, key + sl + 1, idx_u64_le(v.mv_data),
                     idx_u64_le((const uint8_t *)v.mv_data + 8))))
            break;
    }
    if (c)
        mdb_cursor_close(c);
    mdb_txn_abort(txn);
    if (!st && rc && rc != MDB_NOTFOUND)
        st = idx_mdb_err(rc, err, errlen, WHAT_R, idx, NULL);
    return st;
}

typedef struct disabled_walk {
    int (*fn)(void *ctx, const char *source, const char *id, int64_t until, int64_t since);
    int (*qfn)(void *ctx, const char *source, const char *id, int64_t when, uint64_t count);
    void *ctx;
} disabled_walk;

static int visit_disabled(void *ctx, const char *source, const char *id, uint64_t a,
                          uint64_t b)
{
    disabled_walk *w = ctx;
    return w->fn(w->ctx, source, id, (int64_t)a, (int64_t)b);
}

static int visit_quarantine(void *ctx, const char *source, const char *id, uint64_t a,
                            uint64_t b)
{
    disabled_walk *w = ctx;
    return w->qfn(w->ctx, source, id, (int64_t)a, b);
}

int phm_index_disabled_foreach(phm_index *idx,
                               int (*fn)(void *ctx, const char *source, const char *id,
                                         int64_t until, int64_t since),
                               void *ctx, char *err, size_t errlen)
{
    if (!idx || !fn)
        return PHM_ERR_INVALID;
    disabled_walk w = { fn, NULL, ctx };
    return state_foreach(idx, idx->db_disabled, visit_disabled, &w, err, errlen);
}

int phm_index_quarantine_foreach(phm_index *idx,
                                 int (*fn)(void *ctx, const char *source, const char *id,
                                           int64_t when, uint64_t count),
                                 void *ctx, char *err, size_t errlen)
{
    if (!idx || !fn)
        return PHM_ERR_INVALID;
    disabled_walk w = { NULL, fn, ctx };
    return state_foreach(idx, idx->db_quarantine, visit_quarantine, &w, err, errlen);
}

typedef struct disabled_count {
    int64_t now;
    uint64_t n;
} disabled_count;

static int count_disabled(void *ctx, const char *source, const char *id, int64_t until,
                          int64_t since)
{
    (void)source, (void)id, (void)since;
    disabled_count *c = ctx;
    if (until == 0 || until > c->now)
        c->n++;
    return 0;
}

int phm_index_governance_counts(phm_index *idx, int64_t now, phm_governance_counts *out,
                                char *err, size_t errlen)
{
    if (!idx || !out)
        return PHM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!idx->gov_present)
        return PHM_OK;
    MDB_txn *txn;
    MDB_stat st;
    int rc = idx_begin(idx, MDB_RDONLY, &txn, WHAT_R, err, errlen);
    if (rc)
        return rc;
    if (!(rc = mdb_stat(txn, idx->db_quarantine, &st)))
        out->quarantined = st.ms_entries;
    if (!rc && !(rc = mdb_stat(txn, idx->db_sources, &st)))
        out->sources_set = st.ms_entries;
    mdb_txn_abort(txn);
    if (rc)
        return idx_mdb_err(rc, err, errlen, WHAT_R, idx, NULL);
    disabled_count dc = { now, 0 };
    int s = phm_index_disabled_foreach(idx, count_disabled, &dc, err, errlen);
    out->disabled = dc.n;
    return s;
}

/* ---- writing ----------------------------------------------------- */

typedef struct gov_write {
    phm_index *idx;
    MDB_txn *txn;
} gov_write;

static int write_begin(phm_index *idx, gov_write *w, char *err, size_t errlen)
{
    w->idx = idx;
    w->txn = NULL;
    if (idx->rdonly || !idx->gov_present) {
        idx_err(err, errlen, WHAT_W, idx->path, "opened read-only");
        return PHM_ERR_READONLY;
    }
    return idx_begin(idx, 0, &w->txn, WHAT_W, err, errlen);
}

/* Commits with the generation bumped (or aborts after an error rc). */
static int write_end(gov_write *w, int rc, char *err, size_t errlen)
{
    if (rc) {
        mdb_txn_abort(w->txn);
        return idx_mdb_err(rc, err, errlen, WHAT_W, w->idx, NULL);
    }
    uint64_t gen = 0;
    rc = idx_meta_get_u64(w->idx, w->txn, "gen", &gen);
    if (!rc)
        rc = idx_meta_put_u64(w->idx, w->txn, "gen", gen + 1);
    if (rc) {
        mdb_txn_abort(w->txn);
        return idx_mdb_err(rc, err, errlen, WHAT_W, w->idx, NULL);
    }
    rc = mdb_txn_commit(w->txn);
    return rc ? idx_mdb_err(rc, err, errlen, WHAT_W, w->idx, "committing") : PHM_OK;
}

int phm_index_source_set(phm_index *idx, const char *source, const phm_source_settings *s,
                         char *err, size_t errlen)
{
    if (!idx || !s)
        return PHM_ERR_INVALID;
    int st = check_source(source, err, errlen);
    if (!st)
        st = settings_check(s, err, errlen);
    if (st)
        return st;
    uint8_t *buf = malloc(GOV_RECORD_MAX);
    if (!buf) {
        idx_err(err, errlen, WHAT_W, idx->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    gov_write w;
    if (!(st = write_begin(idx, &w, err, errlen))) {
        MDB_val k = { strlen(source), (void *)(uintptr_t)source };
        MDB_val v = { source_encode(s, buf), buf };
        st = write_end(&w, mdb_put(w.txn, idx->db_sources, &k, &v, 0), err, errlen);
    }
    free(buf);
    return st;
}

/* Whether (source, id) is a stored entry in txn: 0 yes, MDB_NOTFOUND no. */
static int entry_exists(phm_index *idx, MDB_txn *txn, const char *source, const char *id)
{
    uint64_t eid;
    return idx_entry_find(idx, txn, source, id, &eid);
}

static int check_id(const char *source, const char *id, char *err, size_t errlen)
{
    int st = check_source(source, err, errlen);
    if (!st && text_len(id, PHM_INDEX_MAX_ID) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "invalid entry id: empty, longer than %d bytes or with "
                     "control characters", PHM_INDEX_MAX_ID);
        st = PHM_ERR_INVALID;
    }
    return st;
}

static int not_found(phm_index *idx, const char *source, const char *id, const char *what,
                     char *err, size_t errlen)
{
    idx_err(err, errlen, WHAT_W, idx->path, "no %s '%s:%s'", what, source, id);
    return PHM_ERR_NOT_FOUND;
}

int phm_index_entries_disable(phm_index *idx, const char *source, const char *const *ids,
                              size_t n, int disable, int64_t until, char *err,
                              size_t errlen)
{
    if (!idx || (n && !ids) || until < 0)
        return PHM_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        int st = check_id(source, ids[i], err, errlen);
        if (st)
            return st;
    }
    gov_write w;
    int st = write_begin(idx, &w, err, errlen);
    if (st)
        return st;
    int rc = 0;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n && !rc; i++) {
        uint8_t key[KEY_MAX], val[GOV_STATE_BYTES];
        size_t kl = rec_key(source, ids[i], key);
        rc = entry_exists(idx, w.txn, source, ids[i]);
        if (rc == MDB_NOTFOUND) {
            mdb_txn_abort(w.txn);
            return not_found(idx, source, ids[i], "entry", err, errlen);
        }
        if (rc)
            break;
        MDB_val k = { kl, key };
        if (disable) {
            idx_u64_le_put(val, (uint64_t)until);
            idx_u64_le_put(val + 8, (uint64_t)now);
            MDB_val v = { sizeof val, val };
            rc = mdb_put(w.txn, idx->db_disabled, &k, &v, 0);
        } else {
            rc = mdb_del(w.txn, idx->db_disabled, &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
    }
    return write_end(&w, rc, err, errlen);
}

int phm_index_quarantine_add(phm_index *idx, const char *source, const char *id,
                             int64_t when, uint64_t count, char *err, size_t errlen)
{
    if (!idx)
        return PHM_ERR_INVALID;
    int st = check_id(source, id, err, errlen);
    if (st)
        return st;
    gov_write w;
    if ((st = write_begin(idx, &w, err, errlen)))
        return st;
    uint8_t key[KEY_MAX], val[GOV_STATE_BYTES];
    size_t kl = rec_key(source, id, key);
    int rc = entry_exists(idx, w.txn, source, id);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(w.txn);
        return not_found(idx, source, id, "entry", err, errlen);
    }
    idx_u64_le_put(val, (uint64_t)when);
    idx_u64_le_put(val + 8, count);
    MDB_val k = { kl, key }, v = { sizeof val, val };
    if (!rc) {
        rc = mdb_put(w.txn, idx->db_quarantine, &k, &v, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST) {
            mdb_txn_abort(w.txn);
            return PHM_OK;
        }
    }
    return write_end(&w, rc, err, errlen);
}

int phm_index_quarantine_release(phm_index *idx, const char *source, const char *id,
                                 char *err, size_t errlen)
{
    if (!idx)
        return PHM_ERR_INVALID;
    int st = check_id(source, id, err, errlen);
    if (st)
        return st;
    gov_write w;
    if ((st = write_begin(idx, &w, err, errlen)))
        return st;
    uint8_t key[KEY_MAX];
    MDB_val k = { rec_key(source, id, key), key };
    int rc = mdb_del(w.txn, idx->db_quarantine, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(w.txn);
        return not_found(idx, source, id, "quarantined entry", err, errlen);
    }
    return write_end(&w, rc, err, errlen);
}

int idx_gov_state_put(phm_index *idx, MDB_txn *txn, int quarantine, const char *source,
                      const char *id, uint64_t a, uint64_t b)
{
    uint8_t key[KEY_MAX], val[GOV_STATE_BYTES];
    if (text_len(source, PHM_INDEX_MAX_SOURCE) < 1 || text_len(id, PHM_INDEX_MAX_ID) < 1)
        return EINVAL;
    idx_u64_le_put(val, a);
    idx_u64_le_put(val + 8, b);
    MDB_val k = { rec_key(source, id, key), key }, v = { sizeof val, val };
    return mdb_put(txn, quarantine ? idx->db_quarantine : idx->db_disabled, &k, &v, 0);
}

/* ---- matching (match.c) ------------------------------------------ */

/* Reads only the header of a source record (matching needs no names). */
static int header_decode(const MDB_val *v, gov_source *g)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < GOV_SOURCE_HEADER || p[0] != GOV_SOURCE_VERSION || (p[1] & ~3u))
        return -1;
    g->enabled = p[1] & 1;
    g->kind = p[1] & 2 ? PHM_SOURCE_SUPPRESSION : PHM_SOURCE_NORMAL;
    g->max_distance = (int16_t)get16(p + 2);
    g->min_quality = (int16_t)get16(p + 4);
    if (g->max_distance < -1 || g->max_distance > PHM_INDEX_MAX_RADIUS ||
        g->min_quality < -1 || g->min_quality > 100)
        return -1;
    return 0;
}

int gov_radius(phm_searcher *s, int request, int *radius, char *err, size_t errlen)
{
    int supp;
    return gov_radii(s, request, radius, &supp, err, errlen);
}

int gov_radii(phm_searcher *s, int request, int *radius, int *suppression, char *err,
              size_t errlen)
{
    phm_index *idx = s->idx;
    *radius = request;
    *suppression = -1;
    if (!idx->gov_present)
        return PHM_OK;
    int st = idx_searcher_begin(s, err, errlen);
    if (st)
        return st;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(s->txn, idx->db_sources, &c);
    for (int op = MDB_FIRST; !rc && (rc = mdb_cursor_get(c, &k, &v, op)) == 0; op = MDB_NEXT) {
        gov_source g;
        if (header_decode(&v, &g)) {
            mdb_cursor_close(c);
            idx_err(err, errlen, WHAT_R, idx->path,
                    "index file is corrupt: source settings do not decode");
            return PHM_ERR_CORRUPT;
        }
        if (g.enabled && g.max_distance > *radius)
            *radius = g.max_distance;
        int own = g.max_distance >= 0 ? g.max_distance : request;
        if (g.enabled && g.kind == PHM_SOURCE_SUPPRESSION && own > *suppression)
            *suppression = own;
    }
    if (c)
        mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return idx_mdb_err(rc, err, errlen, WHAT_R, idx, NULL);
    return PHM_OK;
}

int gov_source_read(phm_searcher *s, const char *source, gov_source *out, char *err,
                    size_t errlen)
{
    phm_index *idx = s->idx;
    /* The defaults without a phm_source_settings: this runs for every hit
     * of every query, and the full settings (with their category names,
     * 8 KB) cost a memset each time (3 % of `phmatch lookup` at 1 M). */
    *out = gov_default;
    if (!idx->gov_present || !source)
        return PHM_OK;
    MDB_val k = { strlen(source), (void *)(uintptr_t)source }, v;
    int rc = mdb_get(s->txn, idx->db_sources, &k, &v);
    if (rc == MDB_NOTFOUND)
        return PHM_OK;
    if (rc)
        return idx_mdb_err(rc, err, errlen, WHAT_R, idx, NULL);
    if (header_decode(&v, out)) {
        idx_err(err, errlen, WHAT_R, idx->path,
                "index file is corrupt: the settings of source '%s' do not decode", source);
        return PHM_ERR_CORRUPT;
    }
    return PHM_OK;
}

int gov_entry_blocked(phm_searcher *s, const char *source, const char *id, int64_t now,
                      int *blocked, char *err, size_t errlen)
{
    phm_index *idx = s->idx;
    *blocked = 0;
    if (!idx->gov_present || !source || !id)
        return PHM_OK;
    uint8_t key[KEY_MAX];
    MDB_val k = { rec_key(source, id, key), key }, v;
    int rc = mdb_get(s->txn, idx->db_disabled, &k, &v);
    if (rc == 0 && v.mv_size == GOV_STATE_BYTES) {
        int64_t until = (int64_t)idx_u64_le(v.mv_data);
        if (until == 0 || until > now) {
            *blocked = 1;
            return PHM_OK;
        }
    } else if (rc && rc != MDB_NOTFOUND) {
        return idx_mdb_err(rc, err, errlen, WHAT_R, idx, NULL);
    }
    rc = mdb_get(s->txn, idx->db_quarantine, &k, &v);
    if (rc == 0) {
        *blocked = 1;
        return PHM_OK;
    }
    return rc == MDB_NOTFOUND ? PHM_OK : idx_mdb_err(rc, err, errlen, WHAT_R, idx, NULL);
}

/* ---- quarantine counts ------------------------------------------- */
/*
 * Table `qcounts`: key the entry number (8 bytes, little-endian), value
 * 1..PHM_QUARANTINE_MAX_LIMIT + 1 records of 16 bytes (the fingerprint,
 * then the unix milliseconds it was last seen, both little-endian), at
 * most PHM_QUARANTINE_COUNTS_MAX rows. Written without a new generation:
 * the counts do not change what matches.
 */

#define QC_REC 16
#define QC_VALUE_MAX ((PHM_QUARANTINE_MAX_LIMIT + 1) * QC_REC)

static int qc_row_ok(const MDB_val *k, const MDB_val *v)
{
    if (k->mv_size != 8 || v->mv_size < QC_REC || v->mv_size > QC_VALUE_MAX ||
        v->mv_size % QC_REC)
        return 0;
    for (size_t i = 0; i < v->mv_size; i += QC_REC)
        if ((int64_t)idx_u64_le((const uint8_t *)v->mv_data + i + 8) < 0)
            return 0;
    return 1;
}

int phm_index_quarantine_counts_save(phm_index *idx, const phm_quarantine_counts *c, size_t n,
                                     int replace, char *err, size_t errlen)
{
    if (!idx || (n && !c) || n > PHM_QUARANTINE_COUNTS_MAX)
        return gov_invalid(err, errlen, "%s", "quarantine counts: NULL or more than "
                           "PHM_QUARANTINE_COUNTS_MAX entries");
    for (size_t i = 0; i < n; i++) {
        if (c[i].nseen > PHM_QUARANTINE_MAX_LIMIT + 1 || (c[i].nseen && !c[i].seen))
            return gov_invalid(err, errlen, "%s", "quarantine counts: more than "
                               "PHM_QUARANTINE_MAX_LIMIT + 1 queries for an entry");
        for (size_t j = 0; j < c[i].nseen; j++)
            if (c[i].seen[j].time_ms < 0)
                return gov_invalid(err, errlen, "%s", "quarantine counts: a negative time");
    }
    if (idx->rdonly || !idx->qcounts_present) {
        idx_err(err, errlen, WHAT_W, idx->path, "opened read-only");
        return PHM_ERR_READONLY;
    }
    uint8_t *buf = malloc(QC_VALUE_MAX);
    if (!buf) {
        idx_err(err, errlen, WHAT_W, idx->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    MDB_txn *txn = NULL;
    idx_len len = { 0, 0, 0 };
    int rc = idx_txn_begin(idx, 0, &txn, &len);
    if (!rc && replace)
        rc = mdb_drop(txn, idx->db_qcounts, 0);
    for (size_t i = 0; !rc && i < n; i++) {
        uint8_t key[8];
        idx_u64_le_put(key, c[i].entry);
        MDB_val k = { sizeof key, key }, v = { c[i].nseen * QC_REC, buf };
        if (!c[i].nseen) {
            rc = mdb_del(txn, idx->db_qcounts, &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
            continue;
        }
        for (size_t j = 0; j < c[i].nseen; j++) {
            idx_u64_le_put(buf + j * QC_REC, c[i].seen[j].fingerprint);
            idx_u64_le_put(buf + j * QC_REC + 8, (uint64_t)c[i].seen[j].time_ms);
        }
        rc = mdb_put(txn, idx->db_qcounts, &k, &v, 0);
    }
    MDB_stat ms;
    int st = PHM_OK;
    if (!rc && !(rc = mdb_stat(txn, idx->db_qcounts, &ms)) &&
        ms.ms_entries > PHM_QUARANTINE_COUNTS_MAX) {
        idx_err(err, errlen, WHAT_W, idx->path, "more than %d entries would have "
                "quarantine counts (save them with replace)", PHM_QUARANTINE_COUNTS_MAX);
        st = PHM_ERR_INVALID;
    }
    free(buf);
    if (rc || st) {
        if (txn)
            mdb_txn_abort(txn);
        return st ? st : idx_txn_err(rc, &len, err, errlen, WHAT_W, idx, NULL);
    }
    rc = mdb_txn_commit(txn);
    return rc ? idx_mdb_err(rc, err, errlen, WHAT_W, idx, "committing") : PHM_OK;
}

int phm_index_quarantine_counts_foreach(phm_index *idx,
                                        int (*fn)(void *ctx, const phm_quarantine_counts *c),
                                        void *ctx, char *err, size_t errlen)
{
    if (!idx || !fn)
        return PHM_ERR_INVALID;
    if (!idx->qcounts_present)
        return PHM_OK;
    phm_quarantine_seen *seen = malloc((PHM_QUARANTINE_MAX_LIMIT + 1) * sizeof *seen);
    if (!seen) {
        idx_err(err, errlen, WHAT_R, idx->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int st = PHM_OK, rc = idx_begin(idx, MDB_RDONLY, &txn, WHAT_R, err, errlen);
    if (rc) {
        free(seen);
        return rc;
    }
    rc = mdb_cursor_open(txn, idx->db_qcounts, &cur);
    for (int op = MDB_FIRST; !rc && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0;
         op = MDB_NEXT) {
        if (!qc_row_ok(&k, &v)) {
            idx_err(err, errlen, WHAT_R, idx->path,
                    "index file is corrupt: bad quarantine counts record");
            st = PHM_ERR_CORRUPT;
            break;
        }
        phm_quarantine_counts c = { idx_u64_le(k.mv_data), seen, v.mv_size / QC_REC };
        for (size_t j = 0; j < c.nseen; j++) {
            const uint8_t *p = (const uint8_t *)v.mv_data + j * QC_REC;
            seen[j].fingerprint = idx_u64_le(p);
            seen[j].time_ms = (int64_t)idx_u64_le(p + 8);
        }
        if ((st = fn(ctx, &c)))
            break;
    }
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    free(seen);
    if (!st && rc && rc != MDB_NOTFOUND)
        st = idx_mdb_err(rc, err, errlen, WHAT_R, idx, NULL);
    return st;
}

/* ---- verify ------------------------------------------------------ */

int idx_gov_verify(phm_index *idx, MDB_txn *txn, char *err, size_t errlen)
{
    const char *what = "index is inconsistent";
    if (!idx->gov_present)
        return PHM_OK;
    phm_source_settings *set = malloc(sizeof *set);
    if (!set) {
        idx_err(err, errlen, what, idx->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int st = PHM_OK;
    int rc = mdb_cursor_open(txn, idx->db_sources, &c);
    for (int op = MDB_FIRST; !rc && (rc = mdb_cursor_get(c, &k, &v, op)) == 0; op = MDB_NEXT) {
        if (k.mv_size < 1 || k.mv_size > PHM_INDEX_MAX_SOURCE ||
            memchr(k.mv_data, 0, k.mv_size) || source_decode(v.mv_data, v.mv_size, set)) {
            idx_err(err, errlen, what, idx->path, "a source settings record is malformed");
            st = PHM_ERR_CORRUPT;
            break;
        }
    }
    if (c)
        mdb_cursor_close(c);
    MDB_dbi dbs[2] = { idx->db_disabled, idx->db_quarantine };
    for (int i = 0; i < 2 && !st && (rc == 0 || rc == MDB_NOTFOUND); i++) {
        c = NULL;
        rc = mdb_cursor_open(txn, dbs[i], &c);
        for (int op = MDB_FIRST; !rc && (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
             op = MDB_NEXT) {
            const uint8_t *nul = memchr(k.mv_data, 0, k.mv_size);
            size_t sl = nul ? (size_t)(nul - (const uint8_t *)k.mv_data) : 0;
            if (!nul || sl < 1 || sl > PHM_INDEX_MAX_SOURCE || k.mv_size - sl - 1 < 1 ||
                k.mv_size - sl - 1 > PHM_INDEX_MAX_ID ||
                memchr(nul + 1, 0, k.mv_size - sl - 1) || v.mv_size != GOV_STATE_BYTES ||
                (int64_t)idx_u64_le(v.mv_data) < 0) {
                idx_err(err, errlen, what, idx->path, "a %s record is malformed",
                        i ? "quarantine" : "disabled");
                st = PHM_ERR_CORRUPT;
                break;
            }
        }
        if (c)
            mdb_cursor_close(c);
    }
    if (!st && (rc == 0 || rc == MDB_NOTFOUND) && idx->qcounts_present) {
        c = NULL;
        rc = mdb_cursor_open(txn, idx->db_qcounts, &c);
        uint64_t rows = 0;
        for (int op = MDB_FIRST; !rc && (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
             op = MDB_NEXT) {
            if (!qc_row_ok(&k, &v) || ++rows > PHM_QUARANTINE_COUNTS_MAX) {
                idx_err(err, errlen, what, idx->path, "a quarantine counts record is "
                        "malformed, or there are more than %d", PHM_QUARANTINE_COUNTS_MAX);
                st = PHM_ERR_CORRUPT;
                break;
            }
        }
        if (c)
            mdb_cursor_close(c);
    }
    free(set);
    if (!st && rc && rc != MDB_NOTFOUND)
        st = idx_mdb_err(rc, err, errlen, "cannot verify index", idx, NULL);
    return st;
}

/* ---- sources as banks (phmatch.h) ---------------------------------- */

int phm_source_ratio_admits(double ratio, const char *key, size_t len)
{
    if (!(ratio > 0.0))
        return 0;
    if (ratio >= 1.0)
        return 1;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; key && i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= UINT64_C(0x100000001b3);
    }
    /* FNV alone spreads short decimal keys poorly in its high bits */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    double coin = (double)(h >> 11) / 9007199254740992.0; /* [0, 1) */
    return coin < ratio;
}

int phm_index_entry_disabled(phm_index *idx, const char *source, const char *id,
                             int *disabled, int64_t *until, char *err, size_t errlen)
{
    if (!idx || !disabled || !until)
        return PHM_ERR_INVALID;
    *disabled = 0;
    *until = 0;
    int st = check_id(source, id, err, errlen);
    if (st || !idx->gov_present)
        return st;
    MDB_txn *txn;
    int rc = idx_begin(idx, MDB_RDONLY, &txn, WHAT_R, err, errlen);
    if (rc)
        return rc;
    uint8_t key[KEY_MAX];
    MDB_val k = { rec_key(source, id, key), key }, v;
    rc = mdb_get(txn, idx->db_disabled, &k, &v);
    if (rc == 0 && v.mv_size != GOV_STATE_BYTES) {
        mdb_txn_abort(txn);
        idx_err(err, errlen, WHAT_R, idx->path,
                "index file is corrupt: bad disabled or quarantine record");
        return PHM_ERR_CORRUPT;
    }
    if (rc == 0) {
        *disabled = 1;
        *until = (int64_t)idx_u64_le(v.mv_data);
    }
    mdb_txn_abort(txn);
    if (rc && rc != MDB_NOTFOUND)
        return idx_mdb_err(rc, err, errlen, WHAT_R, idx, NULL);
    return PHM_OK;
}

/* Moves the (source, id)-keyed rows of `dbi` from `from` to `to`
 * (deletes them when to is NULL). */
static int move_state_rows(MDB_txn *txn, MDB_dbi dbi, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = to ? strlen(to) : 0;
    uint8_t key[KEY_MAX + 1], nkey[KEY_MAX];
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return rc;
    for (;;) {
        memcpy(key, from, fl);
        key[fl] = '\0';
        MDB_val k = { fl + 1, key }, v;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        if (k.mv_size <= fl + 1 || k.mv_size > KEY_MAX || memcmp(k.mv_data, from, fl) ||
            ((const uint8_t *)k.mv_data)[fl] != 0)
            break; /* past the source's rows */
        uint8_t val[GOV_STATE_BYTES];
        if (v.mv_size != sizeof val) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(val, v.mv_data, sizeof val);
        size_t il = k.mv_size - fl - 1;
        if (!to) {
            if ((rc = mdb_cursor_del(c, 0)))
                break;
            continue;
        }
        if (tl + 1 + il > KEY_MAX) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(nkey, to, tl);
        nkey[tl] = '\0';
        memcpy(nkey + tl + 1, (const uint8_t *)k.mv_data + fl + 1, il);
        if ((rc = mdb_cursor_del(c, 0)))
            break;
        MDB_val nk = { tl + 1 + il, nkey }, nv = { sizeof val, val };
        if ((rc = mdb_put(txn, dbi, &nk, &nv, 0)))
            break;
    }
    mdb_cursor_close(c);
    return rc;
}

int idx_gov_source_exists(phm_index *idx, MDB_txn *txn, const char *source, int *exists)
{
    *exists = 0;
    if (!idx->gov_present)
        return 0;
    MDB_val k = { strlen(source), (void *)(uintptr_t)source }, v;
    int rc = mdb_get(txn, idx->db_sources, &k, &v);
    if (rc == 0)
        *exists = 1;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int idx_gov_rename(phm_index *idx, MDB_txn *txn, const char *from, const char *to)
{
    if (!idx->gov_present)
        return 0;
    MDB_val k = { strlen(from), (void *)(uintptr_t)from }, v;
    int rc = mdb_get(txn, idx->db_sources, &k, &v);
    if (rc == 0 && !to) {
        rc = mdb_del(txn, idx->db_sources, &k, NULL);
    } else if (rc == 0) {
        uint8_t *rec = malloc(v.mv_size ? v.mv_size : 1);
        if (!rec)
            return ENOMEM;
        size_t n = v.mv_size;
        memcpy(rec, v.mv_data, n);
        MDB_val nk = { strlen(to), (void *)(uintptr_t)to }, nv = { n, rec };
        rc = mdb_put(txn, idx->db_sources, &nk, &nv, 0);
        if (!rc)
            rc = mdb_del(txn, idx->db_sources, &k, NULL);
        free(rec);
    } else if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    if (!rc)
        rc = move_state_rows(txn, idx->db_disabled, from, to);
    if (!rc)
        rc = move_state_rows(txn, idx->db_quarantine, from, to);
    return rc;
}
