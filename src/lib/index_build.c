/* index_build.c - rebuilding the compacted search structure (the "base")
 * inside a write transaction: the live hashes of the old base, the delta
 * and the transaction's new hashes are merged in entry-number order, the
 * 16 multi-index tables are built (two at a time, on two threads with
 * OpenMP when there is more than one core) and stored as LMDB values of
 * less than 2 GiB each (the hashes in segments: index_internal.h,
 * IDX_HSEG_HASHES), which readers then use in place through the memory
 * map. With two building threads, a third writes each finished value to
 * the file while the next is built (index_ahead.c), so that the commit's
 * write finds the file's pages in the page cache. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "index_internal.h"

static const char *const WHAT = "cannot write index";

/* Reserves `len` bytes under blob key (kind, table): *out points to the
 * space, which must be filled before any other LMDB call (LMDB may spill
 * dirty pages at the next one). */
static int reserve_blob(phm_index *idx, MDB_txn *txn, int kind, unsigned table,
                        size_t len, void **out)
{
    uint8_t key[4];
    idx_blob_key(key, kind, table);
    MDB_val k = { 4, key }, v = { len, NULL };
    int rc = mdb_put(txn, idx->db_search, &k, &v, MDB_RESERVE);
    *out = v.mv_data;
    return rc;
}

/* Stores `len` bytes under blob key (kind, table). */
static int put_blob(phm_index *idx, MDB_txn *txn, int kind, unsigned table,
                    const void *data, size_t len)
{
    void *p;
    int rc = reserve_blob(idx, txn, kind, table, len, &p);
    if (!rc && len)
        memcpy(p, data, len);
    return rc;
}

/* Stores the entry numbers as the 'E' blob (index_eids.c's coding). */
static int put_eids(phm_index *idx, MDB_txn *txn, const uint64_t *eids, size_t n)
{
    void *p;
    size_t bytes = idx_eids_bytes(eids, n);
    int rc = reserve_blob(idx, txn, IDX_BLOB_EIDS, 0, bytes, &p);
    if (rc)
        return rc;
    idx_eids_encode(eids, n, p);
    return 0;
}

static int del_blob(phm_index *idx, MDB_txn *txn, int kind, unsigned table)
{
    uint8_t key[4];
    idx_blob_key(key, kind, table);
    MDB_val k = { 4, key };
    int rc = mdb_del(txn, idx->db_search, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Growable arrays of the merged hashes and entry numbers. */
typedef struct merged {
    phm_pdq *hashes;
    uint64_t *eids;
    size_t n, cap;
} merged;

static int merged_push(merged *m, uint64_t eid, const void *hash)
{
    /* entry numbers ascend (a video's hashes share one) and fit 32 bits:
     * idx_eids_encode's blocks hold differences of at most 32 bits */
    if (eid > IDX_MAX_EID || (m->n && eid < m->eids[m->n - 1]))
        return MDB_CORRUPTED;
    if (m->n == m->cap)
        return ENOMEM;
    memcpy(&m->hashes[m->n], hash, sizeof(phm_pdq));
    m->eids[m->n++] = eid;
    return 0;
}

/* Threads that build the tables: two for big ones, at most two (the
 * halves of mih_fill_scatter). */
static int build_threads(size_t n)
{
    int threads = 1;
#ifdef _OPENMP
    if (n >= ((size_t)1 << 18) && omp_get_max_threads() > 1)
        threads = 2;
#endif
    return threads;
}

/* The second pass of a table's fill is cut into this many parts when
 * threads share it. */
#define PLACE_PARTS 8

/* Builds the 16 tables over hashes[0..n) and stores them: per table its
 * directory ('O' t) and its area ('P' t), a value each (one blob of all 16
 * areas would pass 2 GiB at ~32 M hashes). The areas are filled in place,
 * in LMDB's reserved space, a table at a time (reserved first: the first
 * pass writes only the scratch), each pass split between the threads: a
 * reserved value must be filled before the next LMDB call (LMDB may spill
 * dirty pages at it). A filled area is handed to `ah` (copied) before that
 * call. */
static int build_tables(phm_index *idx, MDB_txn *txn, const phm_pdq *hashes, size_t n,
                        const uint32_t *planned, idx_ahead *ah)
{
    unsigned threads = (unsigned)build_threads(n), parts = threads > 1 ? PLACE_PARTS : 1;
    uint8_t *own = planned ? NULL : malloc(MIH_TABLES * MIH_DIR_BYTES);
    const uint8_t *dirs = planned ? (const uint8_t *)planned : own;
    void *scratch = malloc(mih_build_scratch_bytes(n));
    int rc = 0;
    if (!dirs || !scratch) {
        rc = ENOMEM;
        goto out;
    }
    if (own) {
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
#endif
        for (unsigned i = 0; i < MIH_TABLES; i++)
            mih_plan_table(hashes, n, i, (uint32_t *)(void *)(own + i * MIH_DIR_BYTES));
    }
    for (unsigned i = 0; !rc && i < MIH_TABLES; i++)
        rc = put_blob(idx, txn, IDX_BLOB_OFFSETS, i, dirs + i * MIH_DIR_BYTES, MIH_DIR_BYTES);
    for (unsigned i = 0; !rc && i < MIH_TABLES; i++) {
        const uint32_t *dir = (const uint32_t *)(const void *)(dirs + i * MIH_DIR_BYTES);
        void *p;
        if ((rc = reserve_blob(idx, txn, IDX_BLOB_POSTINGS, i, mih_area_bytes(n, dir), &p)))
            break;
        /* an overflow page's data: 16 bytes into a page */
        if ((uintptr_t)p % 8) {
            rc = MDB_BAD_VALSIZE;
            break;
        }
        uint8_t *area = p;
        uint64_t edge[PLACE_PARTS] = { 0 };
        mih_fill_clear(n, dir, area);
        /* one parallel region a table (a thread waiting between regions
         * spins for a while): the first pass, then the second, in parts
         * taken as the threads come free (the writing thread of
         * index_ahead.c shares the cores with them) */
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
        {
            unsigned t = 0, nt = 1;
#ifdef _OPENMP
            t = (unsigned)omp_get_thread_num();
            nt = (unsigned)omp_get_num_threads();
#endif
            for (unsigned k = t; k < threads; k += nt)
                mih_fill_scatter(hashes, n, i, dir, scratch, k, threads);
#ifdef _OPENMP
#pragma omp barrier
#pragma omp for schedule(dynamic, 1)
#endif
            for (unsigned k = 0; k < parts; k++)
                edge[k] = mih_fill_place(n, dir, area, scratch, k, parts);
        }
        uint64_t *bits = (uint64_t *)(void *)(area + mih_bits_at(n));
        for (unsigned part = 0; part < parts; part++)
            if (edge[part])
                bits[mih_fill_edge_word(n, dir, part, parts)] |= edge[part];
        /* complete: to the file beside the next table's fill */
        idx_ahead_copy(ah, area, mih_area_bytes(n, dir));
    }
out:
    free(own);
    free(scratch);
    return rc;
}

/* The most bytes a table's area over n hashes can take: its postings,
 * then a bit vector of n ones and at most n - 1 zeros (each value's
 * last high part, summed over the 65,536 values). */
static size_t area_bound(size_t n)
{
    return mih_bits_at(n) + 8 * (size_t)((2 * (uint64_t)n + 63) / 64);
}

/* Hashes per 'H' segment: IDX_HSEG_HASHES, or for tests the value of
 * PHM_INDEX_TEST_HSEG (a multiple of a page's worth of hashes), raised so
 * that n fits in IDX_HSEG_MAX segments. */
static size_t hseg_hashes(size_t n, size_t psize)
{
    size_t page = psize / sizeof(phm_pdq), per = IDX_HSEG_HASHES;
    const char *t = getenv("PHM_INDEX_TEST_HSEG");
    if (t && *t) {
        char *end;
        unsigned long long v = strtoull(t, &end, 10);
        if (!*end && v >= page && v <= IDX_HSEG_HASHES && v % page == 0)
            per = (size_t)v;
    }
    size_t least = (n + IDX_HSEG_MAX - 1) / IDX_HSEG_MAX;
    if (per < least)
        per = (least + page - 1) / page * page;
    return per;
}

/* Stores hashes[0..n) as 'H' segments (each: IDX_HSEG_PAD zero bytes, then
 * its hashes) and deletes the segments of a bigger old base; their hashes
 * are written ahead from `hashes` (ah, when not NULL). */
static int put_hashes(phm_index *idx, MDB_txn *txn, const phm_pdq *hashes, size_t n,
                      idx_ahead *ah)
{
    MDB_stat es;
    int rc = mdb_env_stat(idx->env, &es);
    if (rc)
        return rc;
    size_t pad = IDX_HSEG_PAD(es.ms_psize), per = hseg_hashes(n, es.ms_psize);
    unsigned k = 0;
    for (size_t at = 0; !rc && at < n; at += per, k++) {
        size_t cnt = n - at < per ? n - at : per;
        void *p;
        if ((rc = reserve_blob(idx, txn, IDX_BLOB_HASHES, k, pad + cnt * sizeof(phm_pdq), &p)))
            break;
        memset(p, 0, pad);
        uint8_t *dst = (uint8_t *)p + pad;
        const uint8_t *src = (const uint8_t *)(hashes + at);
        size_t bytes = cnt * sizeof(phm_pdq);
        /* to the file from the caller's array, beside the copy */
        idx_ahead_write(ah, p, pad + bytes, pad, src, bytes);
        /* the copy (and the first touch of the reserved pages) in halves,
         * one a thread */
        unsigned threads = (unsigned)build_threads(cnt);
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
#endif
        for (unsigned j = 0; j < threads; j++) {
            size_t lo = bytes / threads * j, hi = j + 1 == threads ? bytes : bytes / threads * (j + 1);
            memcpy(dst + lo, src + lo, hi - lo);
        }
    }
    for (; !rc && k < IDX_HSEG_MAX; k++) {
        uint8_t key[4];
        idx_blob_key(key, IDX_BLOB_HASHES, k);
        MDB_val kv = { 4, key };
        rc = mdb_del(txn, idx->db_search, &kv, NULL);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
    }
    return rc;
}

int idx_rebuild(phm_index *idx, MDB_txn *txn, const uint64_t *extra_eids,
                const phm_pdq *extra_hashes, size_t nextra, uint64_t eid_bound,
                const uint32_t *planned, char *err, size_t errlen)
{
    idx_base_header h;
    merged m = { 0 };
    uint64_t *dead = NULL;
    size_t ndead = 0;
    MDB_cursor *c = NULL;
    MDB_stat st;
    const void *old_e = NULL;
    idx_ahead *ah = NULL;
    int tables;
    const phm_pdq *old_seg[IDX_HSEG_MAX];
    size_t old_cnt[IDX_HSEG_MAX], old_nseg = 0;
    int rc = idx_base_header_get(idx, txn, &h);
    if (!rc)
        rc = idx_base_hash_segments(idx, txn, (size_t)h.n, old_seg, old_cnt, &old_nseg);
    size_t old_e_bytes = 0;
    if (!rc)
        rc = idx_base_eids_get(idx, txn, (size_t)h.n, &old_e, &old_e_bytes);
    if (rc)
        goto out;

    /* The removed entries still in the base, ascending. */
    if ((rc = mdb_stat(txn, idx->db_dead, &st)))
        goto out;
    if (st.ms_entries && !(dead = malloc(st.ms_entries * sizeof *dead))) {
        rc = ENOMEM;
        goto out;
    }
    if ((rc = mdb_cursor_open(txn, idx->db_dead, &c)))
        goto out;
    MDB_val key, val;
    for (int op = MDB_FIRST; (rc = mdb_cursor_get(c, &key, &val, op)) == 0; op = MDB_NEXT) {
        if (key.mv_size != sizeof(uint64_t) || ndead == st.ms_entries) {
            rc = MDB_CORRUPTED;
            goto out;
        }
        memcpy(&dead[ndead++], key.mv_data, sizeof(uint64_t));
    }
    if (rc != MDB_NOTFOUND)
        goto out;
    mdb_cursor_close(c);
    c = NULL;

    MDB_stat dst;
    if ((rc = mdb_stat(txn, idx->db_delta, &dst)))
        goto out;
    size_t cap = (size_t)h.n + dst.ms_entries + nextra;
    if (cap > MIH_MAX_ENTRIES) {
        idx_err(err, errlen, WHAT, idx->path, "more than %u PDQ hashes",
                MIH_MAX_ENTRIES);
        free(dead);
        return PHM_ERR_INVALID;
    }
    const phm_pdq *use_h;
    const uint64_t *use_e;
    size_t use_n;
    const uint32_t *dirs = NULL;
    if (h.n == 0 && dst.ms_entries == 0) {
        /* Only new hashes (a first import): use them as they are. */
        for (size_t i = 1; i < nextra; i++)
            if (extra_eids[i] < extra_eids[i - 1]) {
                rc = MDB_CORRUPTED;
                goto out;
            }
        use_h = extra_hashes;
        use_e = extra_eids;
        use_n = nextra;
        dirs = planned; /* the directories of exactly these hashes */
        free(dead);
        dead = NULL;
        goto write;
    }
    m.cap = cap;
    m.hashes = malloc((cap ? cap : 1) * sizeof *m.hashes);
    m.eids = malloc((cap ? cap : 1) * sizeof *m.eids);
    if (!m.hashes || !m.eids) {
        rc = ENOMEM;
        goto out;
    }
    /* Old base minus the dead: both ascend. */
    size_t di = 0, s = 0;
    for (size_t k = 0; k < old_nseg; k++)
        for (size_t j = 0; j < old_cnt[k]; j++, s++) {
            uint64_t eid = idx_base_eid(old_e, s);
            while (di < ndead && dead[di] < eid)
                di++;
            if (di < ndead && dead[di] == eid)
                continue;
            if ((rc = merged_push(&m, eid, &old_seg[k][j])))
                goto out;
        }
    /* Then the delta, in key (= entry number) order. */
    if ((rc = mdb_cursor_open(txn, idx->db_delta, &c)))
        goto out;
    for (int op = MDB_FIRST; (rc = mdb_cursor_get(c, &key, &val, op)) == 0; op = MDB_NEXT) {
        if ((key.mv_size != 9 && key.mv_size != IDX_DELTA_KEY_MULTI) ||
            ((uint8_t *)key.mv_data)[0] != IDX_SIG_PDQ ||
            val.mv_size != sizeof(phm_pdq)) {
            rc = MDB_CORRUPTED;
            goto out;
        }
        if ((rc = merged_push(&m, idx_delta_key_eid(key.mv_data), val.mv_data)))
            goto out;
    }
    if (rc != MDB_NOTFOUND)
        goto out;
    mdb_cursor_close(c);
    c = NULL;
    for (size_t i = 0; i < nextra; i++)
        if ((rc = merged_push(&m, extra_eids[i], &extra_hashes[i])))
            goto out;

    /* Everything is copied out of the map: now overwrite. */
    free(dead);
    dead = NULL;
    use_h = m.hashes;
    use_e = m.eids;
    use_n = m.n;
write:
    tables = mih_wants_tables(use_n);
    /* with two threads building, a third writes the finished values */
    if (build_threads(use_n) > 1)
        ah = idx_ahead_start(idx, tables ? area_bound(use_n) : 0);
    if ((rc = put_hashes(idx, txn, use_h, use_n, ah)) ||
        (rc = put_eids(idx, txn, use_e, use_n)))
        goto out;
    if (tables) {
        rc = build_tables(idx, txn, use_h, use_n, dirs, ah);
    } else {
        for (unsigned i = 0; !rc && i < MIH_TABLES; i++) {
            rc = del_blob(idx, txn, IDX_BLOB_OFFSETS, i);
            if (!rc)
                rc = del_blob(idx, txn, IDX_BLOB_POSTINGS, i);
        }
    }
    if (rc)
        goto out;
    idx_base_header nh = { .version = IDX_BASE_VERSION,
                           .tables = tables ? MIH_TABLES : 0,
                           .n = use_n,
                           .base_id = h.base_id + 1,
                           .eid_bound = eid_bound,
                           .built = (int64_t)time(NULL) };
    MDB_val hk = { 4, "base" }, hv = { sizeof nh, &nh };
    if ((rc = mdb_put(txn, idx->db_meta, &hk, &hv, 0)))
        goto out;
    if ((rc = mdb_drop(txn, idx->db_delta, 0)))
        goto out;
    rc = mdb_drop(txn, idx->db_dead, 0);
out:
    idx_ahead_finish(ah, 0); /* it reads use_h: before m is freed */
    if (c)
        mdb_cursor_close(c);
    free(dead);
    free(m.hashes);
    free(m.eids);
    if (rc == MDB_CORRUPTED) {
        idx_err(err, errlen, WHAT, idx->path,
                "index file is corrupt: the search structures do not agree; "
                "run verify");
        return PHM_ERR_CORRUPT;
    }
    if (rc)
        return idx_mdb_err(rc, err, errlen, WHAT, idx, "rebuilding the search structures");
    return PHM_OK;
}
