/* test_quarantine_counts.c - phm_index_quarantine_counts_save/_foreach:
 * rows written, replaced, removed and read back after the index is
 * closed and opened again, the bounds refused without writing, a
 * read-only open, verify. Expected rows are the test's own. */
#include "index_util.h"
#include "tap.h"

static char err[PHM_ERRMSG_MAX];

typedef struct dump {
    char text[512];
    size_t len, rows;
} dump;

/* "entry:fp@ms,fp@ms;" per row */
static int add_row(void *ctx, const phm_quarantine_counts *c)
{
    dump *d = ctx;
    d->rows++;
    if (d->len < sizeof d->text)
        d->len += (size_t)snprintf(d->text + d->len, sizeof d->text - d->len, "%llu:",
                                   (unsigned long long)c->entry);
    for (size_t i = 0; i < c->nseen && d->len < sizeof d->text; i++)
        d->len += (size_t)snprintf(d->text + d->len, sizeof d->text - d->len, "%s%llx@%lld",
                                   i ? "," : "", (unsigned long long)c->seen[i].fingerprint,
                                   (long long)c->seen[i].time_ms);
    if (d->len < sizeof d->text)
        d->len += (size_t)snprintf(d->text + d->len, sizeof d->text - d->len, ";");
    return 0;
}

static const char *rows_of(phm_index *idx, size_t *rows)
{
    static dump d;
    memset(&d, 0, sizeof d);
    if (phm_index_quarantine_counts_foreach(idx, add_row, &d, err, sizeof err) != PHM_OK)
        snprintf(d.text, sizeof d.text, "error: %.200s", err);
    if (rows)
        *rows = d.rows;
    return d.text;
}

static phm_index *open_idx(const char *path, unsigned flags)
{
    phm_index *idx = NULL;
    if (phm_index_open(&idx, path, flags, 0, PHM_SIMD_AUTO, err, sizeof err)) {
        printf("# %s\n", err);
        exit(2);
    }
    return idx;
}

int main(void)
{
    char dir[512], path[600];
    scratch_dir(dir, sizeof dir, "qcounts");
    snprintf(path, sizeof path, "%s/q.phmi", dir);
    phm_index *idx = open_idx(path, PHM_INDEX_CREATE);

    IS_STR(rows_of(idx, NULL), "", "a new index: no counts");
    phm_quarantine_seen a[2] = { { 0xa1, 1000 }, { 0xa2, 2000 } }, b[1] = { { 0xb1, 5 } };
    phm_quarantine_counts c[2] = { { 7, a, 2 }, { 3, b, 1 } };
    IS_INT(phm_index_quarantine_counts_save(idx, c, 2, 0, err, sizeof err), PHM_OK, "save two");
    IS_STR(rows_of(idx, NULL), "3:b1@5;7:a1@1000,a2@2000;", "read back, by entry number");

    phm_quarantine_counts del = { 3, NULL, 0 };
    IS_INT(phm_index_quarantine_counts_save(idx, &del, 1, 0, err, sizeof err), PHM_OK,
           "nseen 0 removes a row");
    IS_STR(rows_of(idx, NULL), "7:a1@1000,a2@2000;", "... entry 3 gone");
    IS_INT(phm_index_quarantine_counts_save(idx, &del, 1, 0, err, sizeof err), PHM_OK,
           "removing a missing row is fine");

    phm_quarantine_seen bad[1] = { { 1, -1 } };
    phm_quarantine_counts cb = { 9, bad, 1 };
    IS_INT(phm_index_quarantine_counts_save(idx, &cb, 1, 0, err, sizeof err), PHM_ERR_INVALID,
           "a negative time: invalid");
    phm_quarantine_counts big = { 9, a, PHM_QUARANTINE_MAX_LIMIT + 2 };
    IS_INT(phm_index_quarantine_counts_save(idx, &big, 1, 0, err, sizeof err), PHM_ERR_INVALID,
           "more than PHM_QUARANTINE_MAX_LIMIT + 1 queries: invalid");

    /* the row bound: PHM_QUARANTINE_COUNTS_MAX rows fit, one more does not */
    phm_quarantine_counts *many = calloc(PHM_QUARANTINE_COUNTS_MAX + 1, sizeof *many);
    if (!many)
        return 2;
    for (size_t i = 0; i <= PHM_QUARANTINE_COUNTS_MAX; i++)
        many[i] = (phm_quarantine_counts){ 100 + i, b, 1 };
    IS_INT(phm_index_quarantine_counts_save(idx, many, PHM_QUARANTINE_COUNTS_MAX + 1, 1, err,
                                            sizeof err),
           PHM_ERR_INVALID, "more than PHM_QUARANTINE_COUNTS_MAX in one call: invalid");
    IS_INT(phm_index_quarantine_counts_save(idx, many, PHM_QUARANTINE_COUNTS_MAX, 0, err,
                                            sizeof err),
           PHM_ERR_INVALID, "... or in the table after the write (with entry 7): invalid");
    IS_STR(rows_of(idx, NULL), "7:a1@1000,a2@2000;", "... and nothing was written");
    size_t rows = 0;
    IS_INT(phm_index_quarantine_counts_save(idx, many, PHM_QUARANTINE_COUNTS_MAX, 1, err,
                                            sizeof err),
           PHM_OK, "replace with PHM_QUARANTINE_COUNTS_MAX rows");
    rows_of(idx, &rows);
    IS_INT((int)rows, PHM_QUARANTINE_COUNTS_MAX, "... all of them, entry 7 gone");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify passes");
    IS_INT(phm_index_quarantine_counts_save(idx, c, 1, 1, err, sizeof err), PHM_OK,
           "replace with one row");
    phm_index_close(idx);
    free(many);

    idx = open_idx(path, PHM_INDEX_RDONLY);
    IS_STR(rows_of(idx, NULL), "7:a1@1000,a2@2000;", "opened again (read-only): kept");
    IS_INT(phm_index_quarantine_counts_save(idx, c, 1, 0, err, sizeof err), PHM_ERR_READONLY,
           "saving read-only: refused");
    phm_index_close(idx);

    scratch_done(dir);
    return tap_done();
}
