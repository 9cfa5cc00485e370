/* test_mih_build.c - a table filled in parts (mih_fill_scatter, then
 * mih_fill_place of each part and the edge words, what index_build.c does
 * on two threads in LMDB's reserved space) is byte for byte the table
 * filled in one part (a first pass in two halves, a second in 2..8
 * parts), and passes mih_check_table, which checks every slot
 * against its hash on its own; on areas first filled with garbage, over
 * data shapes that put few or many postings in a high byte. And an index
 * big enough for the rebuild's two threads (2^18 hashes and more), built
 * by a first import and by a compaction that merges base, delta and
 * removals, passes phm_index_verify (every table against the hashes). */
#include <string.h>

#include "index_util.h"
#include "mih.h"
#include "tap.h"

static void bail(void)
{
    printf("Bail out! out of memory\n");
    exit(1);
}

/* Table i of h[0..n) filled in `parts` parts into `area` (garbage first). */
static void fill_parts(const phm_pdq *h, size_t n, unsigned i, const uint32_t *dir,
                       uint8_t *area, void *scratch, unsigned parts)
{
    memset(area, 0xa5, mih_area_bytes(n, dir));
    mih_fill_clear(n, dir, area);
    /* first pass in two halves, the second half first */
    mih_fill_scatter(h, n, i, dir, scratch, 1, 2);
    mih_fill_scatter(h, n, i, dir, scratch, 0, 2);
    uint64_t edge[8] = { 0 };
    /* the parts in reverse, as threads may finish in any order */
    for (unsigned p = parts; p-- > 0;)
        edge[p] = mih_fill_place(n, dir, area, scratch, p, parts);
    uint64_t *bits = (uint64_t *)(void *)(area + mih_bits_at(n));
    for (unsigned p = 0; p < parts; p++)
        if (edge[p])
            bits[mih_fill_edge_word(n, dir, p, parts)] |= edge[p];
}

static void test_shape(const char *shape, const phm_pdq *h, size_t n)
{
    uint8_t *dirs = malloc(MIH_TABLES * MIH_DIR_BYTES), *seen = malloc((n + 7) / 8);
    void *scratch = malloc(mih_build_scratch_bytes(n));
    size_t bad_bytes = 0, bad_check = 0, tables = 0;
    char why[256] = "";
    mih_view v = { .hashes = h, .n = n, .has_tables = 1 };
    if (!dirs || !seen || !scratch)
        bail();
    for (unsigned i = 0; i < MIH_TABLES; i++) {
        uint32_t *dir = (uint32_t *)(void *)(dirs + i * MIH_DIR_BYTES);
        mih_plan_table(h, n, i, dir);
        size_t bytes = mih_area_bytes(n, dir);
        uint8_t *one = malloc(bytes), *area = malloc(bytes);
        if (!one || !area)
            bail();
        memset(one, 0x5a, bytes);
        mih_fill_table(h, n, i, dir, one, scratch);
        v.offsets[i] = dir;
        v.postings[i] = one;
        bad_check += mih_check_table(&v, i, seen, why, sizeof why) != 0;
        for (unsigned parts = 2; parts <= 8; parts++) {
            fill_parts(h, n, i, dir, area, scratch, parts);
            bad_bytes += memcmp(one, area, bytes) != 0;
            v.postings[i] = area;
            bad_check += mih_check_table(&v, i, seen, why, sizeof why) != 0;
            tables++;
        }
        free(one);
        free(area);
    }
    IS_INT(bad_check, 0, "%s (%zu hashes): tables filled in 1..8 parts check %s", shape, n,
           why);
    IS_INT(bad_bytes, 0, "%s: %zu tables filled in 2..8 parts equal the one-part fill",
           shape, tables);
    free(dirs);
    free(seen);
    free(scratch);
}

/* Adds entries first..first+count-1 (ids "i<number>", random hashes). */
static int add_range(phm_index *idx, rng *g, size_t first, size_t count, char *err,
                     size_t errlen)
{
    phm_index_txn *t;
    int st = phm_index_txn_begin(idx, &t, err, errlen);
    for (size_t i = first; !st && i < first + count; i++) {
        char id[32];
        snprintf(id, sizeof id, "i%09zu", i);
        phm_entry e = { .source = "s", .id = id, .signals = PHM_SIG_PDQ, .quality = 100,
                        .pdq = rng_hash(g) };
        st = phm_index_add(t, &e, err, errlen);
    }
    if (st) {
        phm_index_txn_abort(t);
        return st;
    }
    return phm_index_txn_commit(t, NULL, err, errlen);
}

static void test_index_threads(void)
{
    enum { N = 270000 }; /* past 2^18: two threads build */
    char dir[512], path[600], err[PHM_ERRMSG_MAX] = "";
    scratch_dir(dir, sizeof dir, "mihbuild");
    snprintf(path, sizeof path, "%s/x.phmi", dir);
    rng g = { 31 };
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "open: %s", err);
    IS_INT(add_range(idx, &g, 0, N, err, sizeof err), PHM_OK, "%d entries: %s", N, err);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "first import verifies: %s", err);
    IS_INT(add_range(idx, &g, N, 5000, err, sizeof err), PHM_OK, "delta: %s", err);
    phm_index_txn *t;
    uint64_t gone = 0;
    int st = phm_index_txn_begin(idx, &t, err, sizeof err);
    for (size_t i = 0; !st && i < N; i += 1000) {
        char id[32];
        int r = 0;
        snprintf(id, sizeof id, "i%09zu", i);
        st = phm_index_remove(t, "s", id, &r, err, sizeof err);
        gone += (uint64_t)r;
    }
    if (!st)
        st = phm_index_txn_commit(t, NULL, err, sizeof err);
    IS_INT(st, PHM_OK, "%llu removed: %s", (unsigned long long)gone, err);
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "compact: %s", err);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK,
           "compacted (base, delta, removals merged) verifies: %s", err);
    phm_index_close(idx);
    scratch_done(dir);
}

int main(void)
{
    enum { N = 70001 }; /* slots past 2^16: high parts 0 and 1 */
    rng g = { 29 };
    phm_pdq *h = malloc(N * sizeof *h);
    if (!h)
        bail();
    for (size_t i = 0; i < N; i++)
        h[i] = rng_hash(&g);
    test_shape("uniform", h, N);
    test_shape("uniform, small", h, 2048);
    /* few high bytes used: the parts meet inside one high byte's run or
     * are empty */
    for (size_t i = 0; i < N; i++) {
        h[i] = rng_hash(&g);
        for (int w = 0; w < 4; w++)
            h[i].w[w] &= 0x01ff01ff01ff01ffull;
    }
    test_shape("two high bytes", h, N);
    for (size_t i = 0; i < N; i++)
        h[i] = i % 50 ? rng_near(&g, &h[i - i % 50], (int)(rng_next(&g) % 30)) : rng_hash(&g);
    test_shape("families", h, N);
    for (size_t i = 0; i < N; i++)
        h[i] = h[0];
    test_shape("identical", h, 3001);
    free(h);
    test_index_threads();
    return tap_done();
}
