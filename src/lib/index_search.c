/* index_search.c - searchers: exact radius, k-nearest, batch and digest
 * searches, and reading entries back.
 *
 * Every search starts by renewing the searcher's LMDB read transaction,
 * which takes the newest committed snapshot (so commits by any process are
 * seen at the next search). If the snapshot is newer than the one last
 * checked, the metadata says whether the data changed (generation) and
 * whether the compacted base was rebuilt (base id):
 *   - the base is searched in place, through pointers into the memory
 *     map, refetched only when the base id changes;
 *   - the delta and the set of removed base entries are small; each
 *     generation's are loaded into a view shared by the index's
 *     searchers (built once, reference-counted).
 * Both parts are searched exactly (mih.c), removed base entries dropped,
 * and the results merged. */
#include <stdlib.h>
#include <string.h>

#include "index_block.h"

static const char *const WHAT = "cannot search index";

/* phm_search_batch: radius queries whose base is searched together
 * (mih.h, mih_batch_probe), this many at a time, when the base has at
 * least BATCH_MIN_BASE hashes: at 1 M hashes their probes of a table
 * reach most of its buckets, so it is read forward, near-densely. */
#define BATCH_QUERIES 4096
/* A batch holds at most about this many candidates (8 bytes each, twice;
 * a group of queries up to twice as many before it is split, and more
 * only for a single query that has more). The Makefile's
 * test_search_cap builds this file with a cap of 64, so that the tests
 * reach the early stop. */
#ifndef BATCH_PAIRS
#define BATCH_PAIRS ((size_t)1 << 21)
#endif
#define BATCH_MIN_BASE ((size_t)MIH_MIN_ENTRIES)
/* Fewer queries than this are searched one by one: sorting a group's
 * probes by bucket pays only once they share buckets. One thread, radius
 * 31 (search_bench, BENCH_SEARCH_BATCH=B, queries per CPU second against
 * one at a time): 1 M hashes B=8 0.8 x, 16 1.0, 32 0.8-0.9, 64 0.9-1.2,
 * 200 1.0, 1,000 1.7-2.1; 10 M B=16-32 0.8, 50 0.9, 100 1.1, 1,000 1.5. */
#define BATCH_MIN_QUERIES 64

/* ---- views -------------------------------------------------------- */

static void view_free(idx_view *v)
{
    if (!v)
        return;
    free(v->delta_hashes);
    free(v->delta_eids);
    free(v->delta_tables);
    free(v->dead_bits);
    free(v);
}

void idx_view_release(phm_index *idx, idx_view *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&idx->lock);
    int last = --v->refs == 0;
    pthread_mutex_unlock(&idx->lock);
    if (last)
        view_free(v);
}

/* Loads the delta and the removed base entries of the snapshot `txn`. */
static int view_build(phm_index *idx, MDB_txn *txn, uint64_t gen,
                      const idx_base_header *h, const void *base_eids,
                      idx_view **out, char *err, size_t errlen)
{
    idx_view *v = calloc(1, sizeof *v);
    MDB_cursor *c = NULL;
    MDB_stat st;
    MDB_val key, val;
    int rc;
    if (!v)
        goto nomem;
    v->refs = 1;
    v->gen = gen;
    v->base_id = h->base_id;
    v->base_n = h->n;
    if ((rc = mdb_stat(txn, idx->db_delta, &st)))
        goto mdb_fail;
    size_t n = st.ms_entries;
    v->delta_hashes = malloc((n ? n : 1) * sizeof(phm_pdq));
    v->delta_eids = malloc((n ? n : 1) * sizeof(uint64_t));
    if (!v->delta_hashes || !v->delta_eids)
        goto nomem;
    if ((rc = mdb_cursor_open(txn, idx->db_delta, &c)))
        goto mdb_fail;
    size_t got = 0;
    for (int op = MDB_FIRST; (rc = mdb_cursor_get(c, &key, &val, op)) == 0; op = MDB_NEXT) {
        if (got == n || (key.mv_size != 9 && key.mv_size != IDX_DELTA_KEY_MULTI) ||
            val.mv_size != sizeof(phm_pdq))
            goto corrupt;
        if (key.mv_size == IDX_DELTA_KEY_MULTI)
            v->multi = 1;
        v->delta_eids[got] = idx_delta_key_eid(key.mv_data);
        memcpy(&v->delta_hashes[got], val.mv_data, sizeof(phm_pdq));
        got++;
    }
    if (rc != MDB_NOTFOUND || got != n)
        goto corrupt;
    mdb_cursor_close(c);
    c = NULL;
    v->delta_n = n;
    v->delta.hashes = v->delta_hashes;
    v->delta.n = n;
    if (mih_wants_tables(n)) {
        /* the directories, then the areas: the base's layout (mih.h) */
        uint8_t *dirs = malloc(MIH_TABLES * MIH_DIR_BYTES);
        void *scratch = malloc(mih_build_scratch_bytes(n));
        size_t at[MIH_TABLES + 1];
        at[0] = MIH_TABLES * MIH_DIR_BYTES;
        for (unsigned i = 0; dirs && i < MIH_TABLES; i++) {
            mih_plan_table(v->delta_hashes, n, i,
                           (uint32_t *)(void *)(dirs + i * MIH_DIR_BYTES));
            at[i + 1] = at[i] + mih_area_bytes(n, (const uint32_t *)(const void *)(dirs + i * MIH_DIR_BYTES));
        }
        uint8_t *mem = dirs && scratch ? aligned_alloc(64, (at[MIH_TABLES] + 63) & ~(size_t)63)
                                       : NULL;
        if (!mem) {
            free(dirs);
            free(scratch);
            goto nomem;
        }
        memcpy(mem, dirs, MIH_TABLES * MIH_DIR_BYTES);
        free(dirs);
        v->delta_tables = mem;
        for (unsigned i = 0; i < MIH_TABLES; i++) {
            const uint32_t *dir = (const uint32_t *)(const void *)(mem + i * MIH_DIR_BYTES);
            mih_fill_table(v->delta_hashes, n, i, dir, mem + at[i], scratch);
            v->delta.offsets[i] = dir;
            v->delta.postings[i] = mem + at[i];
        }
        free(scratch);
        v->delta.has_tables = 1;
    }
    /* Removed entries still in the base: mark their slots. */
    if ((rc = mdb_stat(txn, idx->db_dead, &st)))
        goto mdb_fail;
    if (st.ms_entries) {
        if (!(v->dead_bits = calloc((size_t)(h->n + 7) / 8, 1)))
            goto nomem;
        if ((rc = mdb_cursor_open(txn, idx->db_dead, &c)))
            goto mdb_fail;
        for (int op = MDB_FIRST; (rc = mdb_cursor_get(c, &key, &val, op)) == 0; op = MDB_NEXT) {
            uint64_t eid;
            if (key.mv_size != sizeof eid || !base_eids)
                goto corrupt;
            memcpy(&eid, key.mv_data, sizeof eid);
            size_t lo, cnt = idx_base_run(base_eids, (size_t)h->n, eid, &lo);
            if (cnt == 0)
                goto corrupt;
            for (size_t end = lo + cnt; lo < end; lo++) /* a video's slots */
                v->dead_bits[lo >> 3] = (uint8_t)(v->dead_bits[lo >> 3] | (1u << (lo & 7)));
            v->dead_n++;
        }
        if (rc != MDB_NOTFOUND)
            goto corrupt;
        mdb_cursor_close(c);
        c = NULL;
    }
    *out = v;
    return PHM_OK;
nomem:
    if (c)
        mdb_cursor_close(c);
    view_free(v);
    idx_err(err, errlen, WHAT, idx->path, "out of memory");
    return PHM_ERR_NOMEM;
corrupt:
    if (c)
        mdb_cursor_close(c);
    view_free(v);
    idx_err(err, errlen, WHAT, idx->path,
            "index file is corrupt: the delta or removed-entry tables are "
            "malformed; run verify");
    return PHM_ERR_CORRUPT;
mdb_fail:
    if (c)
        mdb_cursor_close(c);
    view_free(v);
    return idx_mdb_err(rc, err, errlen, WHAT, idx, NULL);
}

/* ---- snapshots ---------------------------------------------------- */

static void base_drop(phm_searcher *s)
{
    idx_hot_release(s->hot);
    s->hot = NULL;
    idx_base_mem_free(&s->base_mem);
    memset(&s->base, 0, sizeof s->base);
    s->base_eids = NULL;
    s->base_valid = 0;
}

/* Takes the newest snapshot and brings the base pointers and the view up
 * to it. */
/* What phm_searcher_get hands out (index format 6): the records decoded
 * from their blocks and numeric ids' text, in chunks kept until the next
 * snapshot. */
#define IDTEXT_CHUNK (64 * 1024)
struct idx_idtext {
    struct idx_idtext *next;
    size_t used, cap;
    char buf[];
};

static void idtext_reset(phm_searcher *s)
{
    struct idx_idtext *t = s->idtext;
    while (t && t->next) {
        struct idx_idtext *n = t->next;
        t->next = n->next;
        free(n);
    }
    if (t)
        t->used = 0;
}

static void idtext_free(phm_searcher *s)
{
    while (s->idtext) {
        struct idx_idtext *n = s->idtext->next;
        free(s->idtext);
        s->idtext = n;
    }
}

/* Room for n bytes (at most IDTEXT_CHUNK), or NULL. */
static char *idtext_room(phm_searcher *s, size_t n)
{
    struct idx_idtext *t = s->idtext;
    if (!t || t->cap - t->used < n) {
        if (!(t = malloc(sizeof *t + IDTEXT_CHUNK)))
            return NULL;
        t->used = 0;
        t->cap = IDTEXT_CHUNK;
        t->next = s->idtext;
        s->idtext = t;
    }
    char *p = t->buf + t->used;
    t->used += n;
    return p;
}

static int snapshot(phm_searcher *s, char *err, size_t errlen)
{
    phm_index *idx = s->idx;
    if (s->active) {
        mdb_txn_reset(s->txn);
        s->active = 0;
    }
    idx_len len;
    int rc = idx_txn_renew(idx, s->txn, &len);
    if (rc)
        return idx_txn_err(rc, &len, err, errlen, WHAT, idx, NULL);
    s->active = 1;
    idtext_reset(s);
    size_t id = mdb_txn_id(s->txn);
    if (id == s->txn_id && s->view && s->base_valid)
        return PHM_OK;
    uint64_t gen;
    idx_base_header h;
    rc = idx_meta_get_u64(idx, s->txn, "gen", &gen);
    if (!rc)
        rc = idx_base_header_get(idx, s->txn, &h);
    if (rc) {
        if (rc == MDB_NOTFOUND || rc == MDB_CORRUPTED) {
            idx_err(err, errlen, WHAT, idx->path, "index metadata is missing or corrupt");
            return PHM_ERR_CORRUPT;
        }
        return idx_mdb_err(rc, err, errlen, WHAT, idx, NULL);
    }
    if (!s->base_valid || s->base_id != h.base_id) {
        base_drop(s);
        int st = idx_base_load(idx, s->txn, &h, &s->base, &s->base_eids,
                               &s->base_mem, err, errlen);
        if (st) {
            base_drop(s);
            return st;
        }
        /* Whether an entry may have several base slots (an image with
         * stored variants, a video), from the counts the index keeps: a
         * scan of 'E' took seconds at open at 100 M hashes. */
        uint64_t ventries = 0, vhashes = 0;
        MDB_stat fs;
        rc = idx_variants_get(idx, s->txn, &ventries, &vhashes);
        if (!rc)
            rc = mdb_stat(s->txn, idx->db_frames, &fs);
        if (rc) {
            base_drop(s);
            return idx_mdb_err(rc, err, errlen, WHAT, idx, NULL);
        }
        s->base_id = h.base_id;
        s->base_valid = 1;
        s->base_cold = 1; /* its first search: mih.h, advise */
        /* PHM_INDEX_HOT_COPY: search a copy in huge pages; where it cannot
         * be made (memory), the map as without it */
        if (idx->hot_copy && idx_hot_get(idx, s->txn, h.base_id, &s->base, &s->hot) == PHM_OK &&
            s->hot) {
            s->base = s->hot->view;
            s->base_cold = 0; /* read in by the copy */
        }
        s->base_multi = ventries > 0 || fs.ms_entries > 0;
    }
    if (!s->view || s->view->gen != gen || s->view->base_id != h.base_id) {
        idx_view *v = NULL;
        pthread_mutex_lock(&idx->lock);
        if (idx->view && idx->view->gen == gen && idx->view->base_id == h.base_id) {
            v = idx->view;
            v->refs++;
        }
        pthread_mutex_unlock(&idx->lock);
        if (!v) {
            int st = view_build(idx, s->txn, gen, &h, s->base_eids, &v, err, errlen);
            if (st)
                return st;
            idx_view *old = NULL;
            pthread_mutex_lock(&idx->lock);
            if (!idx->view || idx->view->gen <= gen) {
                old = idx->view;
                idx->view = v;
                v->refs++;
            }
            pthread_mutex_unlock(&idx->lock);
            idx_view_release(idx, old);
        }
        idx_view_release(idx, s->view);
        s->view = v;
    }
    s->txn_id = id;
    return PHM_OK;
}

int idx_searcher_begin(phm_searcher *s, char *err, size_t errlen)
{
    return snapshot(s, err, errlen);
}

int phm_searcher_new(phm_index *idx, phm_searcher **out, char *err, size_t errlen)
{
    if (!idx || !out)
        return PHM_ERR_INVALID;
    *out = NULL;
    phm_searcher *s = calloc(1, sizeof *s);
    if (!s) {
        idx_err(err, errlen, WHAT, idx->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    s->idx = idx;
    s->res_cap = 256;
    if (!(s->res = malloc(s->res_cap * sizeof *s->res))) {
        free(s);
        idx_err(err, errlen, WHAT, idx->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    int rc = idx_begin(idx, MDB_RDONLY, &s->txn, WHAT, err, errlen);
    if (rc) {
        free(s->res);
        free(s);
        return rc;
    }
    mdb_txn_reset(s->txn); /* keeps the reader slot */
    *out = s;
    return PHM_OK;
}

void phm_searcher_release(phm_searcher *s)
{
    if (s && s->active) {
        mdb_txn_reset(s->txn);
        s->active = 0;
    }
}

void phm_searcher_free(phm_searcher *s)
{
    if (!s)
        return;
    if (s->txn)
        mdb_txn_abort(s->txn);
    base_drop(s);
    idx_view_release(s->idx, s->view);
    mih_scratch_free(&s->scr);
    mih_batch_free(&s->batch);
    idx_names_free(&s->names);
    idtext_free(s);
    blk_map_free(s->blk);
    free(s->blk);
    free(s->res);
    free(s->offsets);
    free(s->heap);
    free(s);
}

/* ---- results ------------------------------------------------------ */

static int res_reserve(phm_searcher *s, size_t more, char *err, size_t errlen)
{
    if (s->res_cap - s->nres >= more)
        return PHM_OK;
    size_t cap = s->res_cap ? s->res_cap : 256;
    while (cap - s->nres < more) {
        if (cap > SIZE_MAX / 4 / sizeof *s->res)
            goto nomem;
        cap *= 2;
    }
    phm_match *r = realloc(s->res, cap * sizeof *r);
    if (!r)
        goto nomem;
    s->res = r;
    s->res_cap = cap;
    return PHM_OK;
nomem:
    idx_err(err, errlen, WHAT, s->idx->path, "out of memory");
    return PHM_ERR_NOMEM;
}

static int cmp_match(const void *a, const void *b)
{
    const phm_match *x = a, *y = b;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    return (x->entry > y->entry) - (x->entry < y->entry);
}

/* Sorts m[0..n) by cmp_match: by insertion for the handful of results a
 * query mostly has (qsort's setup and calls through a pointer were 3.7 %
 * of `phmatch lookup` at 1 M, for 2.3 results a query). */
#define MATCH_INSERTION_MAX 32
static void sort_matches(phm_match *m, size_t n)
{
    if (n > MATCH_INSERTION_MAX) {
        qsort(m, n, sizeof *m, cmp_match);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        phm_match x = m[i];
        size_t j = i;
        for (; j > 0 && cmp_match(&m[j - 1], &x) > 0; j--)
            m[j] = m[j - 1];
        m[j] = x;
    }
}

static int cmp_entry(const void *a, const void *b)
{
    const phm_match *x = a, *y = b;
    if (x->entry != y->entry)
        return x->entry < y->entry ? -1 : 1;
    return (x->distance > y->distance) - (x->distance < y->distance);
}

static int is_dead(const idx_view *v, uint32_t slot)
{
    return v->dead_bits && (v->dead_bits[slot >> 3] & (1u << (slot & 7)));
}

/* Appends the live entries of the hits of part 0 (base) or 1 (delta) to
 * s->res. */
static int add_hits(phm_searcher *s, int part, const ham_hit *h, size_t n, char *err,
                    size_t errlen)
{
    const idx_view *v = s->view;
    int st = res_reserve(s, n, err, errlen);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++) {
        uint32_t slot = h[i].slot;
        if (part == 0 && is_dead(v, slot))
            continue;
        s->res[s->nres].entry = part == 0 ? idx_base_eid(s->base_eids, slot)
                                          : v->delta_eids[slot];
        s->res[s->nres].distance = (int)h[i].dist;
        s->nres++;
    }
    return PHM_OK;
}

/* Appends every live entry within r of q to s->res (unsorted): from part
 * `from` (0: base and delta, 1: the delta only). */
static int radius_collect(phm_searcher *s, const phm_pdq *q, int r, int from, char *err,
                          size_t errlen)
{
    const idx_view *v = s->view;
    const ham_kernels *k = s->idx->kern;
    for (int part = from; part < 2; part++) {
        const mih_view *mv = part == 0 ? &s->base : &v->delta;
        s->scr.nhits = 0;
        /* The base is read through the memory map: its first search after
         * a (re)load, likely on a cold page cache, asks for the pages of
         * each pass ahead (mih.h, advise). Only the first: while a cache
         * warms, the kernel's read-around of page faults (up to 32 pages)
         * brings in more that later searches use; measured at 100 M, a
         * first pass of 1,000 queries ran at 30 q/s advised, 200 not. */
        s->scr.advise = part == 0 && s->base_cold;
        if (part == 0)
            s->base_cold = 0;
        if (mih_search(mv, k, q, r, 0, &s->scr)) {
            idx_err(err, errlen, WHAT, s->idx->path, "out of memory");
            return PHM_ERR_NOMEM;
        }
        int st = add_hits(s, part, s->scr.hits, s->scr.nhits, err, errlen);
        if (st)
            return st;
    }
    return PHM_OK;
}

/* k-NN heap: a max-heap on (distance, entry) holding the best k so far. */
static int heap_less(const phm_match *a, const phm_match *b)
{
    return cmp_match(a, b) < 0;
}

static void heap_offer(phm_match *h, size_t *n, size_t k, phm_match m)
{
    if (*n < k) {
        size_t i = (*n)++;
        while (i && heap_less(&h[(i - 1) / 2], &m)) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = m;
        return;
    }
    if (!heap_less(&m, &h[0]))
        return;
    /* replace the root and sift down */
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1;
        if (l >= *n)
            break;
        size_t big = r < *n && heap_less(&h[l], &h[r]) ? r : l;
        if (!heap_less(&m, &h[big]))
            break;
        h[i] = h[big];
        i = big;
    }
    h[i] = m;
}

static void heap_sift_down(phm_match *h, size_t n, size_t i)
{
    phm_match m = h[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1;
        if (l >= n)
            break;
        size_t big = r < n && heap_less(&h[l], &h[r]) ? r : l;
        if (!heap_less(&m, &h[big]))
            break;
        h[i] = h[big];
        i = big;
    }
    h[i] = m;
}

/* heap_offer for indexes with entries of several hashes (videos): an entry
 * is in the heap once, at its smallest distance. */
static void heap_offer_unique(phm_match *h, size_t *n, size_t k, phm_match m)
{
    for (size_t i = 0; i < *n; i++) {
        if (h[i].entry != m.entry)
            continue;
        if (m.distance >= h[i].distance)
            return;
        h[i] = h[--*n];
        for (size_t j = *n / 2; j-- > 0;)
            heap_sift_down(h, *n, j);
        break;
    }
    heap_offer(h, n, k, m);
}

/* Keeps one result per entry in s->res[start..], the closest: entries of
 * several hashes (videos) can be hit by more than one. */
static void dedup_results(phm_searcher *s, size_t start)
{
    size_t n = s->nres - start;
    if (n < 2)
        return;
    phm_match *r = s->res + start;
    qsort(r, n, sizeof *r, cmp_entry);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (r[i].entry != r[k - 1].entry)
            r[k++] = r[i];
    s->nres = start + k;
}

/* The k nearest within maxd by a linear scan of base and delta, the bound
 * tightening as the heap fills. Appends them, unsorted, to s->res. */
static int knn_scan(phm_searcher *s, const phm_pdq *q, size_t k, int maxd,
                    char *err, size_t errlen)
{
    enum { BLOCK = 4096 };
    const idx_view *v = s->view;
    size_t total = s->base.n + v->delta_n;
    if (k > total)
        k = total;
    if (k == 0)
        return PHM_OK;
    if (s->heap_cap < k) {
        phm_match *h = realloc(s->heap, k * sizeof *h);
        if (!h) {
            idx_err(err, errlen, WHAT, s->idx->path, "out of memory");
            return PHM_ERR_NOMEM;
        }
        s->heap = h;
        s->heap_cap = k;
    }
    if (mih_hits_reserve(&s->scr, BLOCK)) {
        idx_err(err, errlen, WHAT, s->idx->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    size_t hn = 0;
    int multi = s->base_multi || v->multi;
    for (int part = 0; part < 2; part++) {
        const phm_pdq *hashes = part == 0 ? s->base.hashes : v->delta_hashes;
        size_t n = part == 0 ? s->base.n : v->delta_n;
        for (size_t i = 0; i < n; i += BLOCK) {
            size_t len = n - i < BLOCK ? n - i : BLOCK;
            int bound = hn == k ? s->heap[0].distance : maxd;
            size_t got = s->idx->kern->scan(q, hashes + i, len, (uint32_t)i, bound,
                                            s->scr.hits);
            for (size_t j = 0; j < got; j++) {
                uint32_t slot = s->scr.hits[j].slot;
                if (part == 0 && is_dead(v, slot))
                    continue;
                phm_match m = { part == 0 ? idx_base_eid(s->base_eids, slot)
                                          : v->delta_eids[slot],
                                (int)s->scr.hits[j].dist };
                if (multi)
                    heap_offer_unique(s->heap, &hn, k, m);
                else
                    heap_offer(s->heap, &hn, k, m);
            }
        }
    }
    int st = res_reserve(s, hn, err, errlen);
    if (st)
        return st;
    memcpy(s->res + s->nres, s->heap, hn * sizeof *s->heap);
    s->nres += hn;
    return PHM_OK;
}

/* Appends the results of one query, sorted: all within radius (k = 0) or
 * the k nearest within radius. */
static int search_one(phm_searcher *s, const phm_pdq *q, int radius, size_t k,
                      char *err, size_t errlen)
{
    size_t start = s->nres;
    int multi = idx_searcher_multi(s);
    int st;
    if (k == 0) {
        if ((st = radius_collect(s, q, radius, 0, err, errlen)))
            return st;
        if (multi)
            dedup_results(s, start);
    } else {
        /* Exact radius searches of growing radius while the tables beat a
         * scan: once k entries lie within r, they are the k nearest. */
        int r = radius < PHM_PDQ_MATCH_DISTANCE ? radius : PHM_PDQ_MATCH_DISTANCE;
        for (;;) {
            int tables;
            mih_estimate(&s->base, r, &tables);
            if (!tables) {
                s->nres = start;
                st = knn_scan(s, q, k, radius, err, errlen);
                break;
            }
            s->nres = start;
            if ((st = radius_collect(s, q, r, 0, err, errlen)))
                return st;
            if (multi)
                dedup_results(s, start);
            if (s->nres - start >= k || r >= radius)
                break;
            r = radius - r > 16 ? r + 16 : radius;
        }
        if (st)
            return st;
    }
    size_t n = s->nres - start;
    sort_matches(s->res + start, n);
    if (k && n > k)
        s->nres = start + k;
    return PHM_OK;
}

static int check_query(phm_searcher *s, const void *q, int radius, char *err,
                       size_t errlen)
{
    if (!s || !q || radius < 0 || radius > PHM_INDEX_MAX_RADIUS) {
        idx_err(err, errlen, WHAT, s ? s->idx->path : "",
                "invalid argument (radius must be 0..%d)", PHM_INDEX_MAX_RADIUS);
        return PHM_ERR_INVALID;
    }
    return PHM_OK;
}

int phm_search_radius(phm_searcher *s, const phm_pdq *query, int radius,
                      const phm_match **matches, size_t *count, char *err,
                      size_t errlen)
{
    int st = check_query(s, query, radius, err, errlen);
    if (st || !matches || !count)
        return st ? st : PHM_ERR_INVALID;
    *matches = NULL;
    *count = 0;
    if ((st = snapshot(s, err, errlen)))
        return st;
    s->nres = 0;
    if ((st = search_one(s, query, radius, 0, err, errlen)))
        return st;
    *matches = s->res;
    *count = s->nres;
    return PHM_OK;
}

int phm_search_radius_plain(phm_searcher *s, const phm_pdq *query, int radius,
                            const phm_match **matches, size_t *count, char *err,
                            size_t errlen)
{
    int st = phm_search_radius(s, query, radius, matches, count, err, errlen);
    /* one hash per entry: no entry has a soft slot */
    if (st || !idx_searcher_multi(s))
        return st;
    /* s->res is the searcher's: phm_searcher_get reads beside it */
    size_t n = 0;
    int moved = 0;
    for (size_t i = 0; i < s->nres; i++) {
        phm_match m = s->res[i];
        phm_entry e;
        st = phm_searcher_get(s, m.entry, &e, err, errlen);
        if (st != PHM_OK && st != PHM_ERR_NOT_FOUND)
            return st;
        int d = st == PHM_OK ? rec_plain_distance(&e, query, REC_FILL_ANY) : -1;
        if (d > radius)
            continue;
        if (d >= 0) {
            moved |= d != m.distance;
            m.distance = d;
        }
        s->res[n++] = m;
    }
    if (err && errlen)
        err[0] = '\0';
    if (moved)
        sort_matches(s->res, n);
    s->nres = n;
    *matches = s->res;
    *count = n;
    return PHM_OK;
}

int phm_search_knn(phm_searcher *s, const phm_pdq *query, size_t k,
                   int max_distance, const phm_match **matches, size_t *count,
                   char *err, size_t errlen)
{
    int st = check_query(s, query, max_distance, err, errlen);
    if (st || !matches || !count || k == 0) {
        if (!st)
            idx_err(err, errlen, WHAT, s->idx->path, "invalid argument (k must be >= 1)");
        return st ? st : PHM_ERR_INVALID;
    }
    *matches = NULL;
    *count = 0;
    if ((st = snapshot(s, err, errlen)))
        return st;
    s->nres = 0;
    if ((st = search_one(s, query, max_distance, k, err, errlen)))
        return st;
    *matches = s->res;
    *count = s->nres;
    return PHM_OK;
}

/* Radius searches of queries[0 .. *n) (*n <= BATCH_QUERIES) whose base
 * is searched together (mih.h, mih_batch_probe and mih_batch_verify),
 * appending their results, as search_one's, and setting
 * s->offsets[at .. at + *n). Stops early, setting *n to the queries
 * searched, once BATCH_PAIRS candidates are held, or to 0, with nothing
 * done, when the planner would scan the base. */
static int radius_batch(phm_searcher *s, const phm_pdq *queries, size_t *np, size_t at,
                        int radius, char *err, size_t errlen)
{
    size_t n = *np;
    const ham_kernels *k = s->idx->kern;
    mih_batch *b = &s->batch;
    size_t done;
    int rc = mih_batch_probe(b, &s->base, k, queries, n, radius, BATCH_PAIRS, &done);
    if (rc == PHM_ERR_NOMEM)
        goto nomem;
    if (rc) { /* n is 1..BATCH_QUERIES, the radius checked */
        idx_err(err, errlen, WHAT, s->idx->path, "invalid batch");
        return rc;
    }
    n = *np = done;
    if (n == 0) /* a plan that scans: the caller searches one by one */
        return PHM_OK;
    if (mih_batch_verify(b, &s->base, k, queries, n, radius))
        goto nomem;
    int multi = idx_searcher_multi(s);
    for (size_t j = 0; j < n; j++) {
        size_t start = s->nres;
        s->offsets[at + j] = start;
        int st = add_hits(s, 0, b->hits + b->qoff[j], b->qoff[j + 1] - b->qoff[j], err, errlen);
        if (!st)
            st = radius_collect(s, &queries[j], radius, 1, err, errlen);
        if (st)
            return st;
        if (multi)
            dedup_results(s, start);
        sort_matches(s->res + start, s->nres - start);
    }
    return PHM_OK;
nomem:
    idx_err(err, errlen, WHAT, s->idx->path, "out of memory");
    return PHM_ERR_NOMEM;
}

int phm_search_batch(phm_searcher *s, const phm_pdq *queries, size_t nqueries,
                     int radius, size_t k, const phm_match **matches,
                     const size_t **offsets, char *err, size_t errlen)
{
    int st = check_query(s, nqueries ? (const void *)queries : (const void *)s,
                         radius, err, errlen);
    if (st || !matches || !offsets)
        return st ? st : PHM_ERR_INVALID;
    *matches = NULL;
    *offsets = NULL;
    if (s->offsets_cap < nqueries + 1) {
        size_t *o = realloc(s->offsets, (nqueries + 1) * sizeof *o);
        if (!o) {
            idx_err(err, errlen, WHAT, s->idx->path, "out of memory");
            return PHM_ERR_NOMEM;
        }
        s->offsets = o;
        s->offsets_cap = nqueries + 1;
    }
    if ((st = snapshot(s, err, errlen)))
        return st;
    s->nres = 0;
    size_t i = 0;
    int tables = 0;
    if (k == 0 && nqueries >= BATCH_MIN_QUERIES && s->base.n >= BATCH_MIN_BASE)
        mih_estimate(&s->base, radius, &tables);
    while (i < nqueries) {
        if (tables && !s->base_cold) {
            size_t n = nqueries - i < BATCH_QUERIES ? nqueries - i : BATCH_QUERIES;
            if ((st = radius_batch(s, queries + i, &n, i, radius, err, errlen)))
                return st;
            tables = n > 0;
            i += n;
            continue;
        }
        s->offsets[i] = s->nres;
        if ((st = search_one(s, &queries[i], radius, k, err, errlen)))
            return st;
        i++;
    }
    s->offsets[nqueries] = s->nres;
    *matches = s->res;
    *offsets = s->offsets;
    return PHM_OK;
}

int phm_search_digest(phm_searcher *s, unsigned signal, const uint8_t *digest,
                      const phm_match **matches, size_t *count, char *err,
                      size_t errlen)
{
    size_t len = rec_digest_len(signal);
    if (!s || !digest || !matches || !count || !len) {
        idx_err(err, errlen, WHAT, s ? s->idx->path : "",
                "invalid argument (signal must be one digest type)");
        return PHM_ERR_INVALID;
    }
    *matches = NULL;
    *count = 0;
    int st = snapshot(s, err, errlen);
    if (st)
        return st;
    s->nres = 0;
    uint8_t key[33];
    key[0] = (uint8_t)rec_digest_type(signal);
    memcpy(key + 1, digest, len);
    MDB_cursor *c;
    int rc = mdb_cursor_open(s->txn, s->idx->db_digests, &c);
    if (rc)
        return idx_mdb_err(rc, err, errlen, WHAT, s->idx, NULL);
    MDB_val k = { len + 1, key }, v;
    for (int op = MDB_SET; (rc = mdb_cursor_get(c, &k, &v, op)) == 0; op = MDB_NEXT_DUP) {
        uint64_t eid;
        if (v.mv_size != sizeof eid) {
            rc = MDB_CORRUPTED;
            break;
        }
        if ((st = res_reserve(s, 1, err, errlen)))
            break;
        memcpy(&eid, v.mv_data, sizeof eid);
        s->res[s->nres++] = (phm_match){ eid, 0 };
    }
    mdb_cursor_close(c);
    if (st)
        return st;
    if (rc != MDB_NOTFOUND)
        return idx_mdb_err(rc, err, errlen, WHAT, s->idx, NULL);
    *matches = s->res;
    *count = s->nres;
    return PHM_OK;
}

int phm_searcher_get(phm_searcher *s, uint64_t entry, phm_entry *out, char *err,
                     size_t errlen)
{
    if (!s || !out)
        return PHM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    int st = s->active ? PHM_OK : snapshot(s, err, errlen);
    if (st)
        return st;
    if (!s->blk && !(s->blk = calloc(1, sizeof *s->blk))) {
        idx_err(err, errlen, "cannot read index", s->idx->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    if (!s->blk->txn) {
        blk_map_init(s->blk, s->txn, s->idx->db_entries, BLK_ENTRIES);
        blk_map_cache(s->blk); /* a search's hits are often neighbours */
    }
    s->blk->txn = s->txn;
    uint8_t rec[REC_MAX];
    size_t rlen = 0;
    int rc = blk_entry_get(s->blk, entry, rec, &rlen);
    MDB_val v = { rlen, NULL };
    if (!rc && !(v.mv_data = idtext_room(s, rlen))) {
        idx_err(err, errlen, "cannot read index", s->idx->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    if (!rc)
        memcpy(v.mv_data, rec, rlen);
    if (rc == MDB_NOTFOUND) {
        idx_err(err, errlen, "cannot read index", s->idx->path, "no entry %llu",
                (unsigned long long)entry);
        return PHM_ERR_NOT_FOUND;
    }
    if (rc)
        return idx_mdb_err(rc, err, errlen, "cannot read index", s->idx, NULL);
    /* names: loaded once per generation */
    uint64_t gen = s->view ? s->view->gen : 0;
    if (!s->names.loaded || s->names.gen != gen || !s->view) {
        if ((rc = idx_names_load(s->idx, s->txn, &s->names)))
            return rc == MDB_CORRUPTED
                       ? (idx_err(err, errlen, "cannot read index", s->idx->path,
                                  "index file is corrupt: bad names table"),
                          PHM_ERR_CORRUPT)
                       : idx_mdb_err(rc, err, errlen, "cannot read index", s->idx, NULL);
        s->names.gen = gen;
    }
    rec_extra x;
    int bad = rec_decode(v.mv_data, v.mv_size, &s->names, &x, out) != PHM_OK;
    if (!bad && out->id == x.numid) {
        char *t = idtext_room(s, REC_NUMID_MAX);
        if (!t) {
            idx_err(err, errlen, "cannot read index", s->idx->path, "out of memory");
            return PHM_ERR_NOMEM;
        }
        memcpy(t, x.numid, sizeof x.numid);
        out->id = t;
    }
    if (!bad && (out->signals & PHM_SIG_PDQ)) {
        /* the hashes: the base's slots or the delta's, both in memory */
        size_t first = 0, n = 0;
        const phm_pdq *h = NULL;
        if (s->base.n && (n = idx_base_run(s->base_eids, s->base.n, entry, &first)))
            h = s->base.hashes + first;
        if (!n && s->view && s->view->delta_n &&
            (n = idx_slots_run(s->view->delta_eids, s->view->delta_n, entry, &first)))
            h = s->view->delta_hashes + first;
        bad = n != 1 + out->nvariants;
        if (!bad)
            rec_set_hashes(out, h, n);
    }
    if (bad) {
        idx_err(err, errlen, "cannot read index", s->idx->path,
                "index file is corrupt: entry %llu does not decode",
                (unsigned long long)entry);
        return PHM_ERR_CORRUPT;
    }
    return PHM_OK;
}

int phm_searcher_find(phm_searcher *s, const char *source, const char *id,
                      uint64_t *entry, char *err, size_t errlen)
{
    if (!s || !source || !id || !entry || strnlen(source, PHM_INDEX_MAX_SOURCE + 1) > PHM_INDEX_MAX_SOURCE ||
        strnlen(id, PHM_INDEX_MAX_ID + 1) > PHM_INDEX_MAX_ID)
        return PHM_ERR_INVALID;
    *entry = 0;
    int st = s->active ? PHM_OK : snapshot(s, err, errlen);
    if (st)
        return st;
    int rc = idx_entry_find(s->idx, s->txn, source, id, entry);
    if (rc == MDB_NOTFOUND) {
        idx_err(err, errlen, "cannot read index", s->idx->path, "no entry '%s:%s'",
                source, id);
        return PHM_ERR_NOT_FOUND;
    }
    if (rc == MDB_CORRUPTED) {
        idx_err(err, errlen, "cannot read index", s->idx->path,
                "index file is corrupt: bad key record");
        return PHM_ERR_CORRUPT;
    }
    if (rc)
        return idx_mdb_err(rc, err, errlen, "cannot read index", s->idx, NULL);
    return PHM_OK;
}

int phm_searcher_get_frames(phm_searcher *s, uint64_t entry, phm_vpdq *out,
                            char *err, size_t errlen)
{
    phm_entry e;
    int st = phm_searcher_get(s, entry, &e, err, errlen);
    if (st)
        return st;
    if (!out || !(e.signals & PHM_SIG_VPDQ)) {
        idx_err(err, errlen, "cannot read index", s->idx->path,
                "entry %llu is not a video", (unsigned long long)entry);
        return PHM_ERR_INVALID;
    }
    MDB_val k = { sizeof entry, &entry }, v;
    int rc = mdb_get(s->txn, s->idx->db_frames, &k, &v);
    if (rc && rc != MDB_NOTFOUND)
        return idx_mdb_err(rc, err, errlen, "cannot read index", s->idx, NULL);
    st = rc ? PHM_ERR_CORRUPT : vid_decode(v.mv_data, v.mv_size, out);
    if (st == PHM_ERR_NOMEM)
        idx_err(err, errlen, "cannot read index", s->idx->path, "out of memory");
    else if (st)
        idx_err(err, errlen, "cannot read index", s->idx->path,
                "index file is corrupt: the frames of entry %llu do not decode",
                (unsigned long long)entry);
    return st;
}
