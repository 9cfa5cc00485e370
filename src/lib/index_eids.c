/* index_eids.c - the base's entry numbers ('E' blob, index format 6): slot
 * i's entry number in O(1) from a coding of about 7 bits a slot instead of
 * a u32. The numbers ascend (not strictly: an entry with variants, a video,
 * has several adjacent slots), so each block of IDX_EIDS_BLOCK slots keeps
 * its first number and the others as fixed-width differences from it:
 *
 *   u32 n, u32 W                    slots, and u64 words of differences
 *   (nb + 1) x (u32 base, u32 off)  per block b (nb = ceil(n / 64)): its
 *                                   first number, and where its words
 *                                   start; the last pair is (0, W)
 *   W x u64                         block b: off[b + 1] - off[b] = w words
 *                                   (0..32), holding its slots' differences
 *                                   in w bits each, slot j at bits jw ..
 *                                   jw + w - 1 (bit k: bit k % 64 of word
 *                                   k / 64 of the block)
 *
 * A block of 64 slots of w bits fills exactly w words, so the width is the
 * gap between two offsets and needs no field. The coding is canonical: w
 * is the bit length of the block's largest difference (its last), the
 * first difference is 0, unused bits are 0 (idx_eids_check). */
#include <stdio.h>
#include <string.h>

#include "index_internal.h"

#define PREFIX 8

static uint32_t u32_at(const uint8_t *p, size_t i)
{
    uint32_t v;
    memcpy(&v, p + 4 * i, sizeof v);
    return v;
}

static uint64_t u64_at(const uint8_t *p, size_t i)
{
    uint64_t v;
    memcpy(&v, p + 8 * i, sizeof v);
    return v;
}

static size_t nblocks(size_t n)
{
    return (n + IDX_EIDS_BLOCK - 1) / IDX_EIDS_BLOCK;
}

/* Bit length of v (0 for 0). */
static unsigned bit_len(uint64_t v)
{
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0;
}

/* Width of block b of eids[0..n). */
static unsigned block_width(const uint64_t *eids, size_t n, size_t b)
{
    size_t first = b * IDX_EIDS_BLOCK, last = first + IDX_EIDS_BLOCK - 1;
    if (last >= n)
        last = n - 1;
    return bit_len(eids[last] - eids[first]);
}

size_t idx_eids_bytes(const uint64_t *eids, size_t n)
{
    size_t nb = nblocks(n), words = 0;
    for (size_t b = 0; b < nb; b++)
        words += block_width(eids, n, b);
    return PREFIX + 8 * (nb + 1) + 8 * words;
}

void idx_eids_encode(const uint64_t *eids, size_t n, void *out)
{
    uint8_t *o = out;
    size_t nb = nblocks(n), off = 0;
    uint8_t *pairs = o + PREFIX, *data = pairs + 8 * (nb + 1);
    for (size_t b = 0; b < nb; b++) {
        size_t first = b * IDX_EIDS_BLOCK;
        size_t cnt = n - first < IDX_EIDS_BLOCK ? n - first : IDX_EIDS_BLOCK;
        unsigned w = block_width(eids, n, b);
        uint32_t pair[2] = { (uint32_t)eids[first], (uint32_t)off };
        memcpy(pairs + 8 * b, pair, sizeof pair);
        uint64_t words[32] = { 0 };
        for (size_t j = 0; w && j < cnt; j++) {
            uint64_t d = eids[first + j] - eids[first];
            size_t p = j * w, k = p / 64, sh = p % 64;
            words[k] |= d << sh;
            if (sh + w > 64)
                words[k + 1] |= d >> (64 - sh);
        }
        memcpy(data + 8 * off, words, 8 * (size_t)w);
        off += w;
    }
    uint32_t end[2] = { 0, (uint32_t)off };
    memcpy(pairs + 8 * nb, end, sizeof end);
    uint32_t head[2] = { (uint32_t)n, (uint32_t)off };
    memcpy(o, head, sizeof head);
}

int idx_eids_size_ok(const void *blob, size_t bytes, size_t n)
{
    const uint8_t *p = blob;
    if (bytes < PREFIX || n > UINT32_MAX)
        return 0;
    size_t nb = nblocks(n);
    uint64_t w = u32_at(p, 1);
    return u32_at(p, 0) == n && bytes == PREFIX + 8 * (nb + 1) + 8 * w &&
           u32_at(p + PREFIX, 2 * nb + 1) == w;
}

int idx_base_eids_get(const phm_index *idx, MDB_txn *txn, size_t n, const void **out,
                      size_t *bytes)
{
    uint8_t key[4];
    idx_blob_key(key, IDX_BLOB_EIDS, 0);
    MDB_val k = { 4, key }, v = { 0, NULL };
    int rc = mdb_get(txn, idx->db_search, &k, &v);
    *out = NULL;
    *bytes = 0;
    if (rc == MDB_NOTFOUND)
        return n ? MDB_CORRUPTED : 0;
    if (rc)
        return rc;
    /* format 6's 'E' of 0 slots is a 16-byte blob, not an empty one */
    if (!idx_eids_size_ok(v.mv_data, v.mv_size, n))
        return MDB_CORRUPTED;
    *out = v.mv_data;
    *bytes = v.mv_size;
    return 0;
}

uint64_t idx_base_eid(const void *eblob, size_t i)
{
    const uint8_t *p = eblob, *pairs = p + PREFIX;
    size_t b = i / IDX_EIDS_BLOCK, j = i % IDX_EIDS_BLOCK;
    uint32_t base = u32_at(pairs, 2 * b), off = u32_at(pairs, 2 * b + 1),
             end = u32_at(pairs, 2 * b + 3), words = u32_at(p, 1);
    if (end == off)
        return base;
    if (end > words || off > end || end - off > 32)
        return 0; /* corrupt: idx_eids_check says so; reads stay inside */
    unsigned w = end - off;
    const uint8_t *data = pairs + 8 * (nblocks(u32_at(p, 0)) + 1);
    size_t bit = j * w, k = off + bit / 64, sh = bit % 64;
    uint64_t d = u64_at(data, k) >> sh;
    if (sh + w > 64)
        d |= u64_at(data, k + 1) << (64 - sh);
    return base + (d & ((UINT64_C(1) << w) - 1));
}

size_t idx_base_run(const void *eblob, size_t n, uint64_t eid, size_t *first)
{
    const uint8_t *pairs = (const uint8_t *)eblob + PREFIX;
    /* the first block whose first number is >= eid: the run starts in the
     * block before it, or at its first slot */
    size_t lo = 0, hi = nblocks(n);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (u32_at(pairs, 2 * mid) < eid)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t s_hi = lo * IDX_EIDS_BLOCK < n ? lo * IDX_EIDS_BLOCK : n;
    size_t s_lo = lo ? (lo - 1) * IDX_EIDS_BLOCK : 0;
    return idx_run_within(eblob, s_lo, s_hi, n, eid, first, idx_base_eid);
}

int idx_eids_check(const void *blob, size_t n, char *why, size_t whylen)
{
    const uint8_t *p = blob, *pairs = p + PREFIX;
    size_t nb = nblocks(n);
    const uint8_t *data = pairs + 8 * (nb + 1);
    uint32_t words = u32_at(p, 1);
    if (u32_at(pairs, 2 * nb) != 0) {
        snprintf(why, whylen, "the end pair's number is not 0");
        return -1;
    }
    for (size_t b = 0; b < nb; b++) {
        uint32_t off = u32_at(pairs, 2 * b + 1), end = u32_at(pairs, 2 * b + 3);
        if ((b == 0 && off != 0) || end < off || end - off > 32 || end > words) {
            snprintf(why, whylen, "block %zu: offsets %u, %u out of order or too far apart",
                     b, off, end);
            return -1;
        }
        unsigned w = end - off;
        size_t first = b * IDX_EIDS_BLOCK;
        size_t cnt = n - first < IDX_EIDS_BLOCK ? n - first : IDX_EIDS_BLOCK;
        uint64_t base = u32_at(pairs, 2 * b), last = idx_base_eid(blob, first + cnt - 1);
        if (idx_base_eid(blob, first) != base || bit_len(last - base) != w) {
            snprintf(why, whylen, "block %zu: first difference not 0 or width %u not the "
                     "last difference's", b, w);
            return -1;
        }
        /* the bits past the block's last slot */
        for (size_t bit = cnt * w; bit < 64 * (size_t)w; bit++)
            if ((u64_at(data, off + bit / 64) >> (bit % 64)) & 1) {
                snprintf(why, whylen, "block %zu: a bit set past its last slot", b);
                return -1;
            }
    }
    return 0;
}
