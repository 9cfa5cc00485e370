/* test_index_ahead.c - a rebuild's values written to the file before the
 * commit (src/lib/index_ahead.c, wt-import3).
 *
 * Directly: values reserved in a write transaction, written ahead by
 * idx_ahead_write (from the caller's bytes, a part of the value) and
 * idx_ahead_copy (the whole value, copied), are in the file at their
 * pages before anything commits (read back with pread, after
 * idx_ahead_finish with drain); a value larger than the buffers is left to
 * the commit; the
 * transaction then aborted leaves the index as it was (verify passes, its
 * entries unchanged). Through the index: imports large enough for the
 * rebuild's two threads (and so the writing thread), with the hashes cut
 * into several segments (PHM_INDEX_TEST_HSEG), rebuilt again by a second
 * import and by a compaction (pages freed by the earlier rebuilds
 * reused): verify passes and every entry's hash is found by an exact
 * search. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index_internal.h"
#include "index_util.h"
#include "tap.h"

/* The file offset of a reserved overflow value (LMDB's page header). */
static off_t value_offset(const phm_index *idx, const void *value)
{
    MDB_stat st;
    uint64_t pgno;
    if (mdb_env_stat(idx->env, &st))
        return -1;
    memcpy(&pgno, (const uint8_t *)value - IDX_OVERFLOW_HDR, sizeof pgno);
    return (off_t)(pgno * st.ms_psize + IDX_OVERFLOW_HDR);
}

/* Whether the whole pages of value bytes [at, at + len) are in the file
 * (fd) as in `want`. */
static int file_has(int fd, off_t voff, size_t psize, size_t at, const uint8_t *want,
                    size_t len)
{
    uint64_t first = (uint64_t)voff + at;
    uint64_t lo = (first + psize - 1) / psize * psize, hi = (first + len) / psize * psize;
    if (hi <= lo)
        return 0;
    size_t n = (size_t)(hi - lo);
    uint8_t *got = malloc(n);
    int ok = got && pread(fd, got, n, (off_t)lo) == (ssize_t)n &&
             memcmp(got, want + (lo - first), n) == 0;
    free(got);
    return ok;
}

/* Whether each of h[0..n) (every step-th) is found at distance 0. */
static int all_found(const char *path, const phm_pdq *h, size_t n, size_t step)
{
    phm_index *idx;
    phm_searcher *s = NULL;
    char err[PHM_ERRMSG_MAX];
    if (phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err))
        return 0;
    int ok = phm_searcher_new(idx, &s, err, sizeof err) == PHM_OK;
    for (size_t i = 0; ok && i < n; i += step) {
        const phm_match *m;
        size_t cnt;
        ok = phm_search_radius(s, &h[i], 0, &m, &cnt, err, sizeof err) == PHM_OK && cnt >= 1 &&
             m[0].distance == 0;
        if (!ok)
            fprintf(stderr, "# hash %zu not found\n", i);
    }
    phm_searcher_free(s);
    phm_index_close(idx);
    return ok;
}

/* Reserves `len` bytes under search-table key (kind, k) in txn. */
static void *reserve(phm_index *idx, MDB_txn *txn, int kind, unsigned k, size_t len)
{
    uint8_t key[4];
    idx_blob_key(key, kind, k);
    MDB_val kv = { 4, key }, v = { len, NULL };
    return mdb_put(txn, idx->db_search, &kv, &v, MDB_RESERVE) ? NULL : v.mv_data;
}

static void direct(const char *dir, rng *r)
{
    char path[600];
    snprintf(path, sizeof path, "%s/direct.phmi", dir);
    OK(index_file_add(path, r, "d", 3000, SIZE_MAX, 0, NULL) == PHM_OK, "a small index to write beside");
    phm_index *idx;
    char err[PHM_ERRMSG_MAX];
    if (phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err)) {
        OK(0, "open: %s", err);
        return;
    }
    MDB_stat es;
    mdb_env_stat(idx->env, &es);
    size_t psize = es.ms_psize;
    int fd = -1;
    mdb_env_get_fd(idx->env, &fd);
    MDB_txn *txn;
    OK(mdb_txn_begin(idx->env, NULL, 0, &txn) == 0, "write transaction");
    /* a value written from the caller's bytes, past its first page (as a
     * hash segment), an odd length; one copied whole; one bigger than
     * the buffers (left to the commit) */
    const size_t alen = 3 * 1000 * 1000 + 123, blen = 2 * 1000 * 1000 + 7, big = 4 << 20;
    uint8_t *src = malloc(alen);
    for (size_t i = 0; i < alen; i++)
        src[i] = (uint8_t)rng_next(r);
    idx_ahead *ah = idx_ahead_start(idx, blen + 4096);
    OK(ah != NULL, "writing thread started");
    uint8_t *a = reserve(idx, txn, IDX_BLOB_HASHES, 200, alen);
    OK(a != NULL, "value a reserved");
    const size_t at = psize - IDX_OVERFLOW_HDR;
    memset(a, 0, at);
    memcpy(a + at, src + at, alen - at);
    off_t aoff = a ? value_offset(idx, a) : -1;
    idx_ahead_write(ah, a, alen, at, src + at, alen - at);
    uint8_t *b = reserve(idx, txn, IDX_BLOB_HASHES, 201, blen);
    OK(b != NULL, "value b reserved");
    for (size_t i = 0; b && i < blen; i++)
        b[i] = (uint8_t)(i * 7 + 3);
    off_t boff = b ? value_offset(idx, b) : -1;
    uint8_t *bcopy = malloc(blen);
    if (b)
        memcpy(bcopy, b, blen);
    idx_ahead_copy(ah, b, blen);
    memset(b, 0xee, blen); /* after the copy: the file must not see it */
    uint8_t *c = reserve(idx, txn, IDX_BLOB_HASHES, 202, big);
    off_t coff = c ? value_offset(idx, c) : -1;
    if (c)
        memset(c, 0x5a, big);
    idx_ahead_copy(ah, c, big);
    idx_ahead_finish(ah, 1);
    OK(aoff > 0 && file_has(fd, aoff, psize, at, src + at, alen - at),
       "a's pages are in the file before the commit");
    OK(boff > 0 && file_has(fd, boff, psize, 0, bcopy, blen),
       "b's pages are in the file as copied, before the commit");
    uint8_t *cw = malloc(big);
    memset(cw, 0x5a, big);
    OK(coff > 0 && !file_has(fd, coff, psize, 0, cw, big),
       "a value larger than the buffers is not written ahead");
    mdb_txn_abort(txn);
    phm_index_close(idx);
    OK(index_file_verifies(path), "aborted after writing ahead: verify passes");
    OK(index_file_entries(path) == 3000, "aborted after writing ahead: the 3000 entries");
    free(cw);
    free(bcopy);
    free(src);
}

int main(void)
{
    char dir[512];
    scratch_dir(dir, sizeof dir, "ahead");
    rng r = { 17 };
    direct(dir, &r);

    /* 300,000 hashes: two building threads (2^18 and more) when there
     * are two cores; segments of 65,536 hashes */
    setenv("PHM_INDEX_TEST_HSEG", "65536", 1);
    const size_t n1 = 300000, n2 = 40000;
    phm_pdq *h = malloc((n1 + n2) * sizeof *h);
    char path[600];
    snprintf(path, sizeof path, "%s/big.phmi", dir);
    OK(index_file_add(path, &r, "a", n1, SIZE_MAX, 0, h) == PHM_OK, "first import of %zu", n1);
    OK(index_file_verifies(path), "first import: verify passes");
    OK(all_found(path, h, n1, 97), "first import: every 97th hash found");
    /* more than 1/32 of the base: the commit rebuilds from base + new */
    OK(index_file_add(path, &r, "b", n2, SIZE_MAX, 0, h + n1) == PHM_OK, "second import of %zu", n2);
    OK(index_file_verifies(path), "second import (rebuilt): verify passes");
    OK(all_found(path, h, n1 + n2, 89), "second import: every 89th hash found");
    phm_index *idx;
    char err[PHM_ERRMSG_MAX];
    int st = phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err);
    if (!st) {
        st = phm_index_compact(idx, err, sizeof err);
        phm_index_close(idx);
    }
    OK(st == PHM_OK, "compacted (rebuilt into pages the earlier bases freed)");
    OK(index_file_verifies(path), "compacted: verify passes");
    OK(all_found(path, h, n1 + n2, 83), "compacted: every 83rd hash found");
    OK(index_file_entries(path) == n1 + n2, "compacted: %zu entries", n1 + n2);
    free(h);
    scratch_done(dir);
    return tap_done();
}
