/* test_index_plan.c - the directories of a first import counted while the
 * adds arrive (src/lib/index_plan.c, wt-import): against mih_plan_table
 * (the commit's own planning, an independent pass per table) for sizes
 * around the 64 Ki boundaries of the high parts, fed in uneven steps, with
 * the array moved between feeds; then through the index: a first import
 * large enough to start the thread (PHM_INDEX_TEST_PLAN lowers its
 * threshold), one with a removal of a new entry (the count is dropped),
 * an abort while it counts, and a second import (no thread): each file's
 * stored directories equal mih_plan_table over its stored hashes, and
 * phm_index_verify passes. */
#include <stdlib.h>
#include <string.h>

#include "index_internal.h"
#include "index_util.h"
#include "tap.h"

/* The 16 directories of hashes[0..n) as the commit plans them. */
static uint32_t *ref_dirs(const phm_pdq *h, size_t n)
{
    uint32_t *d = malloc(MIH_TABLES * MIH_DIR_BYTES);
    for (unsigned i = 0; d && i < MIH_TABLES; i++)
        mih_plan_table(h, n, i, d + (size_t)i * (MIH_DIR_BYTES / sizeof *d));
    return d;
}

/* Feeds h[0..n) to a plan in steps of about `step` (varied), moving the
 * array (a copy, the old one freed) every `move` feeds; finishes it with
 * n. Returns whether its directories equal mih_plan_table's. */
static int plan_matches(rng *r, size_t n, size_t step, int move)
{
    phm_pdq *h = malloc((n ? n : 1) * sizeof *h);
    for (size_t i = 0; i < n; i++)
        h[i] = rng_hash(r);
    /* some repeated values, as near-duplicate hashes give */
    for (size_t i = 1; i < n; i += 7)
        h[i].w[0] = h[i - 1].w[0];
    idx_plan *p = idx_plan_start();
    if (!p) {
        free(h);
        return 0;
    }
    size_t fed = 0;
    int feeds = 0;
    while (fed < n) {
        size_t k = step / 2 + (size_t)(rng_next(r) % (step + 1));
        fed = n - fed < k ? n : fed + k;
        if (move && ++feeds % move == 0) {
            idx_plan_hold(p);
            phm_pdq *c = malloc(n * sizeof *c);
            memcpy(c, h, n * sizeof *c);
            memset(h, 0xa5, n * sizeof *h); /* the old place is garbage now */
            free(h);
            h = c;
        }
        idx_plan_feed(p, h, NULL, fed, 0);
    }
    uint32_t *got = idx_plan_finish(p, h, n);
    uint32_t *want = ref_dirs(h, n);
    int ok = got && want && memcmp(got, want, MIH_TABLES * MIH_DIR_BYTES) == 0;
    free(got);
    free(want);
    free(h);
    return ok;
}

/* Whether the stored base of the index at path has tables whose
 * directories equal mih_plan_table over its stored hashes. */
static int stored_dirs_match(const char *path, size_t want_n)
{
    phm_index *idx;
    char err[PHM_ERRMSG_MAX];
    if (phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err))
        return 0;
    MDB_txn *txn;
    int ok = 0;
    if (mdb_txn_begin(idx->env, NULL, MDB_RDONLY, &txn) == 0) {
        idx_base_header hd;
        const phm_pdq *seg[IDX_HSEG_MAX];
        size_t cnt[IDX_HSEG_MAX], nseg = 0;
        if (idx_base_header_get(idx, txn, &hd) == 0 && hd.n == want_n &&
            hd.tables == MIH_TABLES &&
            idx_base_hash_segments(idx, txn, (size_t)hd.n, seg, cnt, &nseg) == 0) {
            phm_pdq *h = malloc((size_t)hd.n * sizeof *h);
            size_t at = 0;
            for (size_t k = 0; h && k < nseg; k++) {
                memcpy(h + at, seg[k], cnt[k] * sizeof *h);
                at += cnt[k];
            }
            uint32_t *want = h ? ref_dirs(h, (size_t)hd.n) : NULL;
            ok = want != NULL;
            if (!ok)
                fprintf(stderr, "# no reference\n");
            for (unsigned i = 0; ok && i < MIH_TABLES; i++) {
                uint8_t key[4];
                idx_blob_key(key, IDX_BLOB_OFFSETS, i);
                MDB_val k = { 4, key }, v;
                int grc = mdb_get(txn, idx->db_search, &k, &v);
                ok = grc == 0 && v.mv_size == MIH_DIR_BYTES &&
                     memcmp(v.mv_data, want + (size_t)i * (MIH_DIR_BYTES / sizeof *want),
                            MIH_DIR_BYTES) == 0;
                if (!ok) {
                    fprintf(stderr, "# table %u: rc %d size %zu\n", i, grc, grc ? 0 : v.mv_size);
                    const uint32_t *a = grc ? NULL : v.mv_data, *b = want + (size_t)i * (MIH_DIR_BYTES / sizeof *want);
                    for (size_t j = 0; a && j < MIH_DIR_BYTES / 4; j++)
                        if (a[j] != b[j]) { fprintf(stderr, "# at %zu: %u vs %u\n", j, a[j], b[j]); break; }
                }
            }
            free(want);
            free(h);
        } else {
            fprintf(stderr, "# base: n %llu tables %u\n", (unsigned long long)hd.n, hd.tables);
        }
        mdb_txn_abort(txn);
    }
    phm_index_close(idx);
    return ok;
}

int main(void)
{
    rng r = { 42 };
    static const size_t sizes[] = { 0, 1, 2047, 65535, 65536, 65537, 131073, 300001 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        OK(plan_matches(&r, n, 70000, 0), "plan of %zu hashes fed in steps of ~70000", n);
        OK(plan_matches(&r, n, 5000, 3), "plan of %zu hashes fed in steps of ~5000, moved", n);
    }
    OK(plan_matches(&r, 200000, 1, 0), "plan of 200000 hashes fed about one at a time");
    {
        /* fewer hashes at the end than were fed: refused */
        phm_pdq *h = calloc(70000, sizeof *h);
        idx_plan *p = idx_plan_start();
        OK(p != NULL, "plan started");
        if (p) {
            idx_plan_feed(p, h, NULL, 70000, 0);
            OK(idx_plan_finish(p, h, 10) == NULL, "finish with fewer hashes than fed: NULL");
        }
        idx_plan_free(NULL);
        p = idx_plan_start();
        if (p) {
            idx_plan_feed(p, h, NULL, 70000, 0);
            idx_plan_free(p); /* while it may count */
        }
        OK(1, "plan freed while counting");
        free(h);
    }

    char dir[512], path[600];
    scratch_dir(dir, sizeof dir, "plan");
    setenv("PHM_INDEX_TEST_PLAN", "3000", 1);
    const size_t n = 70000; /* past the delta limit (65,536): the commit rebuilds */

    snprintf(path, sizeof path, "%s/a.phmi", dir);
    OK(index_file_add(path, &r, "a", n, SIZE_MAX, 0, NULL) == PHM_OK, "first import of %zu (counted ahead)", n);
    OK(index_file_verifies(path), "verify passes");
    OK(stored_dirs_match(path, n), "stored directories equal mih_plan_table's");
    OK(index_file_entries(path) == n, "%zu entries", n);

    snprintf(path, sizeof path, "%s/b.phmi", dir);
    OK(index_file_add(path, &r, "b", n, 5000, 0, NULL) == PHM_OK, "first import with a new entry removed");
    OK(index_file_verifies(path), "verify passes");
    OK(stored_dirs_match(path, n - 1), "stored directories equal mih_plan_table's");
    OK(index_file_entries(path) == n - 1, "%zu entries", n - 1);

    snprintf(path, sizeof path, "%s/c.phmi", dir);
    OK(index_file_add(path, &r, "c", n, SIZE_MAX, 1, NULL) == PHM_OK, "an import aborted while counting");
    OK(index_file_add(path, &r, "c", 67000, SIZE_MAX, 0, NULL) == PHM_OK, "then a first import of 67000");
    OK(index_file_verifies(path) && stored_dirs_match(path, 67000), "verify passes, directories equal");
    /* a second import into a built base: merged and planned at commit */
    OK(index_file_add(path, &r, "d", n, SIZE_MAX, 0, NULL) == PHM_OK, "a second import of %zu", n);
    OK(index_file_verifies(path) && stored_dirs_match(path, 67000 + n), "verify passes, directories equal");

    unsetenv("PHM_INDEX_TEST_PLAN");
    scratch_done(dir);
    return tap_done();
}
