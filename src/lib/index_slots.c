/* index_slots.c - an entry's PDQ hashes, read from the search structures
 * (index format 5 keeps no copy in the entry record): the base's 'E' and
 * 'H' blobs for entries below its eid bound, `delta` for the others. */
#include <string.h>

#include "index_internal.h"

/* Element i of an array of u64 in memory. */
static uint64_t u64_at(const void *a, size_t i)
{
    return ((const uint64_t *)a)[i];
}

size_t idx_run_within(const void *eids, size_t lo, size_t hi, size_t n, uint64_t eid,
                      size_t *first, uint64_t (*at)(const void *, size_t))
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at(eids, mid) < eid)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    size_t end = lo;
    while (end < n && at(eids, end) == eid)
        end++;
    return end - lo;
}

size_t idx_slots_run(const uint64_t *eids, size_t n, uint64_t eid, size_t *first)
{
    return idx_run_within(eids, 0, n, n, eid, first, u64_at);
}

int idx_slots_open(idx_slots *r, phm_index *idx, MDB_txn *txn)
{
    memset(r, 0, sizeof *r);
    r->idx = idx;
    r->txn = txn;
    int rc = idx_base_header_get(idx, txn, &r->h);
    if (rc || r->h.n == 0)
        return rc;
    const void *e;
    size_t eb;
    rc = idx_base_eids_get(idx, txn, (size_t)r->h.n, &e, &eb);
    r->eids = e;
    if (!rc)
        rc = idx_base_hash_segments(idx, txn, (size_t)r->h.n, r->seg, r->segn, &r->nseg);
    if (rc)
        return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
    r->n = (size_t)r->h.n;
    return 0;
}

/* Copies base slots [first, first + cnt) out of the 'H' segments (every
 * segment but the last holds segn[0] hashes). */
static void base_hashes(const idx_slots *r, size_t first, size_t cnt, phm_pdq *out)
{
    size_t per = r->segn[0];
    for (size_t i = 0; i < cnt; i++) {
        size_t s = first + i;
        memcpy(&out[i], &r->seg[s / per][s % per], sizeof *out);
    }
}

void idx_slots_close(idx_slots *r)
{
    if (r->delta)
        mdb_cursor_close(r->delta);
    r->delta = NULL;
}

int idx_slots_get(idx_slots *r, uint64_t eid, phm_pdq *out, size_t max, size_t *n)
{
    *n = 0;
    if (eid < r->h.eid_bound) {
        size_t first, cnt;
        /* a walk in ascending numbers: look ahead of the last place first */
        if (r->pos < r->n && idx_base_eid(r->eids, r->pos) <= eid &&
            (r->pos == 0 || idx_base_eid(r->eids, r->pos - 1) < eid)) {
            size_t p = r->pos;
            while (p < r->n && p - r->pos < 8 && idx_base_eid(r->eids, p) < eid)
                p++;
            if (p < r->n && idx_base_eid(r->eids, p) < eid) {
                cnt = idx_base_run(r->eids, r->n, eid, &first);
            } else {
                first = p;
                cnt = 0;
                while (first + cnt < r->n && idx_base_eid(r->eids, first + cnt) == eid)
                    cnt++;
            }
        } else {
            cnt = idx_base_run(r->eids, r->n, eid, &first);
        }
        if (cnt > max)
            return MDB_CORRUPTED;
        if (cnt)
            base_hashes(r, first, cnt, out);
        r->pos = first + cnt;
        *n = cnt;
        return 0;
    }
    int rc = 0;
    if (!r->delta && (rc = mdb_cursor_open(r->txn, r->idx->db_delta, &r->delta)))
        return rc;
    uint8_t key[9];
    idx_delta_key(key, eid);
    MDB_val k = { 9, key }, v;
    for (int op = MDB_SET_RANGE; (rc = mdb_cursor_get(r->delta, &k, &v, op)) == 0;
         op = MDB_NEXT) {
        if (k.mv_size < 9 || memcmp(k.mv_data, key, 9) != 0)
            break;
        if (*n == max || v.mv_size != sizeof(phm_pdq))
            return MDB_CORRUPTED;
        memcpy(&out[(*n)++], v.mv_data, sizeof(phm_pdq));
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int idx_entry_hashes(phm_index *idx, MDB_txn *txn, uint64_t eid, phm_pdq *out,
                     size_t max, size_t *n)
{
    idx_slots r;
    *n = 0;
    int rc = idx_slots_open(&r, idx, txn);
    if (!rc)
        rc = idx_slots_get(&r, eid, out, max, n);
    idx_slots_close(&r);
    return rc;
}

void rec_set_hashes(phm_entry *e, const phm_pdq *h, size_t n)
{
    if (n)
        e->pdq = h[0];
    for (size_t i = 0; i + 1 < n && i < e->nvariants; i++)
        e->variants[i].pdq = h[1 + i];
}
