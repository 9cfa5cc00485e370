/* index_block.c - the blocked map of index format 6 (index_block.h): the
 * `entries` and `keys` tables as blocks of items coded relative to each
 * other, so that an entry costs a few bytes instead of an LMDB node, its
 * key and its repeated id. Lookups find the block with MDB_SET_RANGE (or
 * the one before) and decode up to the item; changes decode the block,
 * change it and write it again, split in even parts when it grows past
 * BLK_TARGET and merged with the next one when it shrinks below a
 * quarter; appends past the last key (every import) fill the last block
 * in memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "index_block.h"

MDB_val blk_lmdb_key(int kind, const uint8_t *k, size_t kl, uint8_t *buf)
{
    if (kind == BLK_ENTRIES) {
        uint64_t v = kl == 8 ? blk_u64_get(k) : 0;
        memcpy(buf, &v, sizeof v);
        return (MDB_val){ sizeof v, buf };
    }
    return (MDB_val){ kl, (void *)(uintptr_t)k };
}

/* memcpy of the few bytes a decoded item is made of (a record's parts,
 * an item's key and value: mostly under 32), as two overlapping moves of
 * a fixed size, which the compiler makes plain loads and stores: the
 * library call and its size dispatch were a third of decoding an
 * entries item. Reads and writes only [0, n). */
static inline void copy_few(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n > 16 && n <= 32) {
        uint64_t a[2], b[2];
        memcpy(a, src, 16);
        memcpy(b, src + n - 16, 16);
        memcpy(dst, a, 16);
        memcpy(dst + n - 16, b, 16);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n > 32) {
        memcpy(dst, src, n);
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i];
    }
}

static int cmp_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    if (al == 8 && bl == 8) { /* entry numbers: every lookup's compares */
        uint64_t x = blk_u64_get(a), y = blk_u64_get(b);
        return (x > y) - (x < y);
    }
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static uint64_t zigzag(uint64_t d) /* d: a two's complement difference */
{
    return (d << 1) ^ (uint64_t)(-(int64_t)(d >> 63));
}

static uint64_t unzigzag(uint64_t z)
{
    return (z >> 1) ^ (uint64_t)(-(int64_t)(z & 1));
}

/* ---- coding ------------------------------------------------------- */

/* BLK_KEYS item header (but the first's): bit 7, the entry number is the
 * previous one + 1 (else a zigzag varint of the difference follows the
 * key); bits 6-3, the shared prefix c (15: "15 + a varint"); bits 2-0,
 * the suffix length l (7: "7 + a varint"); c's varint first. */
#define KEY_NEXT 0x80u
static size_t front_put(uint8_t *out, int next, size_t c, size_t l)
{
    size_t n = 1;
    out[0] = (uint8_t)((next ? KEY_NEXT : 0) | (c < 15 ? c : 15) << 3 | (l < 7 ? l : 7));
    if (c >= 15)
        n += idx_uv_put(out + n, c - 15);
    if (l >= 7)
        n += idx_uv_put(out + n, l - 7);
    return n;
}

/* Bytes at the start of a[0..n) and b[0..n) that are equal, a word at a
 * time (the first differing byte of two little-endian words is their
 * XOR's lowest set byte). An entries item compares each record with the
 * one before it, a keys item each key, and byte loops over those bytes
 * were a third of an import's adds. */
static size_t same_head(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t c = 0;
    for (; c + 8 <= n; c += 8) {
        uint64_t x = idx_u64_le(a + c) ^ idx_u64_le(b + c);
        if (x)
            return c + (size_t)__builtin_ctzll(x) / 8;
    }
    while (c < n && a[c] == b[c])
        c++;
    return c;
}

/* Bytes at the end of a[0..n) and b[0..n) (ending at a + n, b + n) that
 * are equal. */
static size_t same_tail(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t s = 0;
    for (; s + 8 <= n; s += 8) {
        uint64_t x = idx_u64_le(a + n - s - 8) ^ idx_u64_le(b + n - s - 8);
        if (x)
            return s + (size_t)__builtin_clzll(x) / 8;
    }
    while (s < n && a[n - 1 - s] == b[n - 1 - s])
        s++;
    return s;
}

/* The places of the zero bytes of x, as the low 8 bits: exactly (no
 * carry crosses a byte), their top bits gathered into one byte by a
 * multiply whose partial products never meet. */
static inline uint64_t zero_bytes(uint64_t x)
{
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
    uint64_t zero = ~(((x & low7) + low7) | x | low7);
    return ((zero >> 7) * 0x0102040810204080ull) >> 56;
}

/* Bit j set where a[j] == b[j], for j < n <= 64, a word at a time; the
 * last part word is the word that ends at n, shifted down. */
static uint64_t same_mask(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint64_t m = 0;
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        m |= zero_bytes(idx_u64_le(a + j) ^ idx_u64_le(b + j)) << j;
    if (j < n && n >= 8) {
        uint64_t x = (idx_u64_le(a + n - 8) ^ idx_u64_le(b + n - 8)) >> 8 * (8 - (n - j));
        m |= zero_bytes(x) << j;
    } else {
        for (; j < n; j++)
            m |= (uint64_t)(a[j] == b[j]) << j;
    }
    return n < 64 ? m & (((uint64_t)1 << n) - 1) : m;
}

/* The first longest run of equal bytes at the same positions of a and b
 * (n bytes each): its start *at and length (0 if none). Up to 64 bytes
 * (every record's middle but a long note's) from a mask of equal places:
 * after k rounds of m &= m >> 1 a bit stays where k + 1 equal bytes
 * begin, so the last nonzero mask marks where the longest runs begin. */
static size_t best_run(const uint8_t *a, const uint8_t *b, size_t n, size_t *at)
{
    size_t best = 0, run = 0;
    *at = 0;
    if (n <= 64) {
        uint64_t m = same_mask(a, b, n), last = 0;
        for (; m; m &= m >> 1, best++)
            last = m;
        if (best)
            *at = (size_t)__builtin_ctzll(last);
        return best;
    }
    for (size_t j = 0; j < n; j++) {
        run = a[j] == b[j] ? run + 1 : 0;
        if (run > best) {
            best = run;
            *at = j + 1 - run;
        }
    }
    return best;
}

/* Whether a[0..n) and b[0..n) share a run of 2 bytes or more at the
 * same place (best_run >= 2, without finding the longest): two equal
 * places in a row. */
static int pair_run(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n <= 64) {
        uint64_t m = same_mask(a, b, n);
        return (m & m >> 1) != 0;
    }
    size_t at;
    return best_run(a, b, n, &at) >= 2;
}

/* An entries item: header byte h (bit 7: a gap varint follows, bit 6: two
 * literal runs, bits 5-3: s, bits 2-0: m1, 7 meaning "7 + a varint"),
 * [gap - 1], c, [s - 7], [m1 - 7], [k, m2], m1 bytes, [m2 bytes]. The
 * record is the previous one's first c bytes, the m1 bytes, [k bytes of
 * the previous one at the same place, the m2 bytes,] and its last s
 * bytes. Two runs only when both middles have the same length and share
 * a run of 2 bytes or more at the same place (the first longest). */
#define ENT_GAP 0x80u
#define ENT_TWO 0x40u
static size_t entry_code(int first, const uint8_t *pk, const uint8_t *pv, size_t pvl,
                         const uint8_t *k, const uint8_t *v, size_t vl, uint8_t *out)
{
    uint64_t gap = first ? 0 : blk_u64_get(k) - blk_u64_get(pk) - 1;
    if (first)
        pvl = 0;
    size_t c = 0, s = 0;
    if (!first) {
        c = same_head(pv, v, pvl < vl ? pvl : vl);
        size_t left = (pvl < vl ? pvl : vl) - c; /* bytes a shared suffix may take */
        s = same_tail(pv + pvl - left, v + vl - left, left);
    }
    size_t mid = vl - c - s, m1 = mid, kk = 0, m2 = 0, at = 0;
    if (pvl - c - s == mid && mid >= 3 && (kk = best_run(pv + c, v + c, mid, &at)) >= 2) {
        m1 = at;
        m2 = mid - at - kk;
    } else {
        kk = 0;
    }
    size_t n = 1;
    out[0] = (uint8_t)((gap ? ENT_GAP : 0) | (kk ? ENT_TWO : 0) | (s < 7 ? s : 7) << 3 |
                       (m1 < 7 ? m1 : 7));
    if (gap)
        n += idx_uv_put(out + n, gap);
    n += idx_uv_put(out + n, c);
    if (s >= 7)
        n += idx_uv_put(out + n, s - 7);
    if (m1 >= 7)
        n += idx_uv_put(out + n, m1 - 7);
    if (kk) {
        n += idx_uv_put(out + n, kk);
        n += idx_uv_put(out + n, m2);
    }
    copy_few(out + n, v + c, m1);
    n += m1;
    copy_few(out + n, v + c + m1 + kk, m2);
    return n + m2;
}

size_t blk_item_code(int kind, int first, const uint8_t *pk, size_t pkl,
                     const uint8_t *pv, size_t pvl, const uint8_t *k, size_t kl,
                     const uint8_t *v, size_t vl, uint8_t *out)
{
    if (kind == BLK_ENTRIES)
        return entry_code(first, pk, pv, pvl, k, v, vl, out);
    size_t n = 0;
    uint64_t d = blk_u64_get(v) - (first ? 0 : blk_u64_get(pv));
    if (!first) {
        size_t c = same_head(pk, k, pkl < kl ? pkl : kl);
        n += front_put(out, d == 1, c, kl - c);
        copy_few(out + n, k + c, kl - c);
        n += kl - c;
        if (d == 1)
            return n;
    }
    return n + idx_uv_put(out + n, zigzag(d));
}

int blk_dec_start(blk_dec *d, int kind, const void *lkey, size_t lklen, const void *blk,
                  size_t len)
{
    const uint8_t *b = blk;
    uint64_t n = 0;
    size_t h;
    d->kind = kind;
    if (len < 2 || b[0] != kind || !(h = idx_uv_get(b + 1, len - 1, &n)) || n == 0 ||
        n > BLK_MAX_ITEMS)
        return MDB_CORRUPTED;
    if (kind == BLK_ENTRIES) {
        uint64_t e;
        if (lklen != sizeof e)
            return MDB_CORRUPTED;
        memcpy(&e, lkey, sizeof e);
        blk_u64_put(d->key, e);
        d->klen = 8;
    } else {
        if (lklen == 0 || lklen > BLK_KEY_MAX)
            return MDB_CORRUPTED;
        memcpy(d->key, lkey, lklen);
        d->klen = lklen;
    }
    d->p = b + 1 + h;
    d->end = b + len;
    d->n = d->left = (size_t)n;
    d->cur = 0;
    d->val = d->vbuf[0];
    d->vlen = 0;
    return 0;
}

static int get_uv(blk_dec *d, uint64_t *v)
{
    if (d->p < d->end && *d->p < 0x80) { /* one byte, most of them */
        *v = *d->p++;
        return 0;
    }
    size_t n = idx_uv_get(d->p, (size_t)(d->end - d->p), v);
    d->p += n;
    return n ? 0 : MDB_CORRUPTED;
}

/* An entries item (entry_code). */
static int entry_next(blk_dec *d, int first)
{
    if (d->p == d->end)
        return MDB_CORRUPTED;
    unsigned h = *d->p++;
    uint64_t gap = 0, c, s = h >> 3 & 7, m1 = h & 7, kk = 0, m2 = 0, x;
    if ((h & ENT_GAP) && (first || get_uv(d, &gap) || gap == 0))
        return MDB_CORRUPTED;
    if (!first) {
        uint64_t prev = blk_u64_get(d->key);
        if (gap >= UINT64_MAX - prev)
            return MDB_CORRUPTED;
        blk_u64_put(d->key, prev + gap + 1);
    }
    if (get_uv(d, &c) || (s == 7 && (get_uv(d, &x) || (s = 7 + x) < 7)) ||
        (m1 == 7 && (get_uv(d, &x) || (m1 = 7 + x) < 7)))
        return MDB_CORRUPTED;
    if ((h & ENT_TWO) && (get_uv(d, &kk) || get_uv(d, &m2)))
        return MDB_CORRUPTED;
    size_t pl = first ? 0 : d->vlen;
    const uint8_t *pv = d->vbuf[d->cur];
    uint8_t *nv = d->vbuf[d->cur ^ 1];
    if (c > pl || s > pl - c || m1 > BLK_VAL_MAX || kk > BLK_VAL_MAX || m2 > BLK_VAL_MAX ||
        m1 + kk + m2 > BLK_VAL_MAX - c - s || m1 + m2 > (uint64_t)(d->end - d->p))
        return MDB_CORRUPTED;
    size_t mid = (size_t)(m1 + kk + m2), nl = (size_t)c + mid + (size_t)s;
    /* two runs: the middles align, and the k bytes are the first longest
     * shared run, 2 or more, with a byte before and after it */
    int two = (h & ENT_TWO) != 0;
    if (two && (pl - c - s != mid || kk < 2 || m1 == 0 || m2 == 0))
        return MDB_CORRUPTED;
    copy_few(nv, pv, c);
    copy_few(nv + c, d->p, m1);
    copy_few(nv + c + m1, pv + c + m1, kk);
    copy_few(nv + c + m1 + kk, d->p + m1, m2);
    copy_few(nv + c + mid, pv + pl - s, s);
    /* canonical: the prefix and suffix shared are the longest, and two
     * runs exactly when entry_code makes them */
    if ((c < pl && c < nl && pv[c] == nv[c]) ||
        (s < pl - c && s < nl - c && pv[pl - 1 - s] == nv[nl - 1 - s]))
        return MDB_CORRUPTED;
    if (two) {
        size_t at = 0, best = best_run(pv + c, nv + c, mid, &at);
        if (best != kk || at != m1)
            return MDB_CORRUPTED;
    } else if (pl - c - s == mid && mid >= 3 && pair_run(pv + c, nv + c, mid)) {
        return MDB_CORRUPTED;
    }
    d->p += m1 + m2;
    d->cur ^= 1;
    d->val = nv;
    d->vlen = nl;
    return 0;
}

int blk_dec_next(blk_dec *d)
{
    if (!d->left)
        return d->p == d->end ? MDB_NOTFOUND : MDB_CORRUPTED;
    int first = d->left == d->n;
    if (d->kind == BLK_ENTRIES) {
        int rc = entry_next(d, first);
        if (!rc)
            d->left--;
        return rc;
    }
    uint64_t x, c, s;
    unsigned h = 0;
    if (!first) {
        if (d->p == d->end)
            return MDB_CORRUPTED;
        h = *d->p++;
        c = h >> 3 & 15;
        s = h & 7; /* the suffix length */
        if ((c == 15 && (get_uv(d, &x) || (c = 15 + x) < 15)) ||
            (s == 7 && (get_uv(d, &x) || (s = 7 + x) < 7)))
            return MDB_CORRUPTED;
        /* the new key must be greater: a non-empty suffix, above the old byte */
        if (c > d->klen || s == 0 || s > BLK_KEY_MAX - c || s > (uint64_t)(d->end - d->p) ||
            (c < d->klen && d->p[0] <= d->key[c]))
            return MDB_CORRUPTED;
        memcpy(d->key + c, d->p, s);
        d->p += s;
        d->klen = c + s;
    }
    uint64_t prev = first ? 0 : blk_u64_get(d->vbuf[0]);
    if (h & KEY_NEXT)
        x = zigzag(1);
    else if (get_uv(d, &x) || (!first && unzigzag(x) == 1))
        return MDB_CORRUPTED; /* + 1 has its bit */
    blk_u64_put(d->vbuf[0], prev + unzigzag(x));
    d->val = d->vbuf[0];
    d->vlen = 8;
    d->left--;
    return 0;
}

/* ---- items -------------------------------------------------------- */

static void items_free(blk_items *it)
{
    free(it->a);
    free(it->bytes);
    memset(it, 0, sizeof *it);
}

/* Inserts (k, v) at position at. */
static int items_insert(blk_items *it, size_t at, const uint8_t *k, size_t kl,
                        const uint8_t *v, size_t vl)
{
    if (it->n == it->cap) {
        size_t cap = it->cap ? 2 * it->cap : 2 * BLK_MAX_ITEMS;
        blk_item *a = realloc(it->a, cap * sizeof *a);
        if (!a)
            return ENOMEM;
        it->a = a;
        it->cap = cap;
    }
    if (it->bcap - it->len < kl + vl) {
        size_t cap = it->bcap ? it->bcap : 64 * 1024;
        while (cap - it->len < kl + vl)
            cap *= 2;
        uint8_t *nb = realloc(it->bytes, cap);
        if (!nb)
            return ENOMEM;
        it->bytes = nb;
        it->bcap = cap;
    }
    size_t tail = it->n - at;
    if (tail)
        memmove(it->a + at + 1, it->a + at, tail * sizeof *it->a);
    copy_few(it->bytes + it->len, k, kl);
    it->a[at].ko = it->len;
    it->a[at].kl = kl;
    it->len += kl;
    copy_few(it->bytes + it->len, v, vl);
    it->a[at].vo = it->len;
    it->a[at].vl = vl;
    it->len += vl;
    it->n++;
    return 0;
}

static void items_remove(blk_items *it, size_t at)
{
    size_t tail = it->n - at - 1;
    memmove(it->a + at, it->a + at + 1, tail * sizeof *it->a);
    it->n--;
}

#define IK(it, i) ((it)->bytes + (it)->a[i].ko)
#define IV(it, i) ((it)->bytes + (it)->a[i].vo)

/* Appends every item of block (lkey, val) to it. */
static int items_load(blk_map *m, blk_items *it, const MDB_val *lkey, const MDB_val *val)
{
    blk_dec *d = m->dec;
    int rc = blk_dec_start(d, m->kind, lkey->mv_data, lkey->mv_size, val->mv_data,
                           val->mv_size);
    size_t before = it->n; /* keys ascend within a block (blk_dec_next) */
    while (!rc && (rc = blk_dec_next(d)) == 0) {
        if (it->n == before && it->n &&
            cmp_bytes(IK(it, it->n - 1), it->a[it->n - 1].kl, d->key, d->klen) >= 0)
            return MDB_CORRUPTED;
        rc = items_insert(it, it->n, d->key, d->klen, d->val, d->vlen);
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- the map ------------------------------------------------------ */

void blk_map_init(blk_map *m, MDB_txn *txn, MDB_dbi dbi, int kind)
{
    memset(m, 0, sizeof *m);
    m->txn = txn;
    m->dbi = dbi;
    m->kind = kind;
}

void blk_map_free(blk_map *m)
{
    if (!m)
        return;
    free(m->tval);
    free(m->body);
    free(m->dec);
    items_free(&m->it);
    items_free(&m->cache);
    memset(m, 0, sizeof *m);
}

/* The scratch decoder, for a use other than the cache's. */
static int need_dec(blk_map *m)
{
    m->cache_valid = 0;
    if (!m->dec && !(m->dec = malloc(sizeof *m->dec)))
        return ENOMEM;
    return 0;
}

/* Item i of it coded as in a block whose first item is a (the first
 * alone, the others relative to the one before), into out; its size. */
static size_t item_code(const blk_map *m, const blk_items *it, size_t a, size_t i, uint8_t *out)
{
    int f = i == a;
    return blk_item_code(m->kind, f, f ? NULL : IK(it, i - 1), f ? 0 : it->a[i - 1].kl,
                         f ? NULL : IV(it, i - 1), f ? 0 : it->a[i - 1].vl, IK(it, i),
                         it->a[i].kl, IV(it, i), it->a[i].vl, out);
}

/* Writes block items [a, b) of it as one block. */
static int write_items(blk_map *m, const blk_items *it, size_t a, size_t b)
{
    size_t len = 0;
    uint8_t item[BLK_ITEM_MAX];
    for (size_t i = a; i < b; i++)
        len += item_code(m, it, a, i, item);
    uint8_t hdr[BLK_HEADER_MAX], kb[8];
    hdr[0] = (uint8_t)m->kind;
    size_t hl = 1 + idx_uv_put(hdr + 1, b - a);
    MDB_val k = blk_lmdb_key(m->kind, IK(it, a), it->a[a].kl, kb), v = { hl + len, NULL };
    int rc = mdb_put(m->txn, m->dbi, &k, &v, MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *out = v.mv_data;
    memcpy(out, hdr, hl);
    out += hl;
    for (size_t i = a; i < b; i++)
        out += item_code(m, it, a, i, out);
    return 0;
}

/* A row's bytes (key and value) that appends fill a block to, and the
 * items' bytes that changes split blocks at (index_block.h). */
static size_t row_max(const blk_map *m)
{
    return m->kind == BLK_ENTRIES ? BLK_ENTRIES_ROW_MAX : BLK_ROW_MAX;
}

static size_t target(const blk_map *m)
{
    return row_max(m) - 20;
}

/* Writes all of it as blocks of about target() bytes each, split evenly. */
static int write_all(blk_map *m, const blk_items *it)
{
    if (!it->n)
        return 0;
    size_t *sz = malloc(it->n * sizeof *sz), total = 0;
    if (!sz)
        return ENOMEM;
    uint8_t item[BLK_ITEM_MAX];
    for (size_t i = 0; i < it->n; i++) {
        sz[i] = item_code(m, it, 0, i, item);
        total += sz[i];
    }
    /* parts of even size (a block just over the target: two halves) */
    size_t parts = (total + target(m) - 1) / target(m);
    size_t by_n = (it->n + BLK_MAX_ITEMS - 1) / BLK_MAX_ITEMS;
    if (parts < by_n)
        parts = by_n;
    size_t per = (total + parts - 1) / parts;
    int rc = 0;
    for (size_t a = 0, b; !rc && a < it->n; a = b) {
        size_t acc = 0;
        for (b = a; b < it->n && b - a < BLK_MAX_ITEMS && (b == a || acc + sz[b] <= per); b++)
            acc += sz[b];
        rc = write_items(m, it, a, b);
    }
    free(sz);
    return rc;
}

int blk_flush(blk_map *m)
{
    if (!m->tail_on || !m->tail_dirty || !m->tn)
        return 0;
    uint8_t hdr[BLK_HEADER_MAX], kb[8];
    hdr[0] = (uint8_t)m->kind;
    size_t hl = 1 + idx_uv_put(hdr + 1, m->tn);
    MDB_val k = blk_lmdb_key(m->kind, m->tfirst, m->tfirst_len, kb),
            v = { hl + m->body_len, NULL };
    int rc = mdb_put(m->txn, m->dbi, &k, &v, (m->tail_stored ? 0 : MDB_APPEND) | MDB_RESERVE);
    if (rc)
        return rc;
    memcpy(v.mv_data, hdr, hl);
    memcpy((uint8_t *)v.mv_data + hl, m->body, m->body_len);
    m->tail_dirty = 0;
    m->tail_stored = 1;
    return 0;
}

/* The block holding k, or where k goes: *found 0 if the table is empty;
 * the block's key and value in lk, lv. first: k is below every block. */
static int locate(blk_map *m, MDB_cursor *c, const uint8_t *k, size_t kl, MDB_val *lk,
                  MDB_val *lv, int *found, int *below)
{
    uint8_t kb[8];
    *found = *below = 0;
    *lk = blk_lmdb_key(m->kind, k, kl, kb);
    MDB_val want = *lk;
    int rc = mdb_cursor_get(c, lk, lv, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(c, lk, lv, MDB_LAST);
        if (rc == MDB_NOTFOUND)
            return 0;
    } else if (!rc && (lk->mv_size != want.mv_size ||
                       memcmp(lk->mv_data, want.mv_data, want.mv_size) != 0)) {
        MDB_val pk, pv;
        rc = mdb_cursor_get(c, &pk, &pv, MDB_PREV);
        if (rc == MDB_NOTFOUND) {
            *below = 1;
            rc = mdb_cursor_get(c, lk, lv, MDB_FIRST);
        } else if (!rc) {
            *lk = pk;
            *lv = pv;
        }
    }
    if (!rc)
        *found = 1;
    return rc;
}

/* Writes the tail, then opens a cursor (*c, closed by the caller when
 * this succeeds) and locates k's block with it. */
static int open_at(blk_map *m, const uint8_t *k, size_t kl, MDB_cursor **c, MDB_val *lk,
                   MDB_val *lv, int *found, int *below)
{
    int rc = blk_flush(m);
    if (!rc)
        rc = need_dec(m);
    if (!rc)
        rc = mdb_cursor_open(m->txn, m->dbi, c);
    if (rc)
        return rc;
    if ((rc = locate(m, *c, k, kl, lk, lv, found, below)))
        mdb_cursor_close(*c);
    return rc;
}

void blk_map_cache(blk_map *m)
{
    m->cache_on = 1;
    m->cache_valid = 0;
}

/* blk_get through the cache: the items of k's block decoded so far (up
 * to the furthest key asked for), the decoder kept where it stopped. */
static int cached_get(blk_map *m, const uint8_t *k, size_t kl, uint8_t *val, size_t *vl)
{
    blk_items *it = &m->cache;
    blk_dec *d = m->dec;
    size_t id = mdb_txn_id(m->txn);
    int rc, fresh = !m->cache_valid || m->cache_txn != id || !it->n ||
                    cmp_bytes(k, kl, IK(it, 0), it->a[0].kl) < 0 ||
                    (m->cache_done &&
                     cmp_bytes(k, kl, IK(it, it->n - 1), it->a[it->n - 1].kl) > 0);
    if (fresh) {
        MDB_cursor *c;
        MDB_val lk, lv;
        int found, below;
        m->cache_valid = m->cache_done = 0;
        it->n = it->len = 0;
        if ((rc = open_at(m, k, kl, &c, &lk, &lv, &found, &below)))
            return rc;
        d = m->dec;
        if (!found || below)
            rc = MDB_NOTFOUND;
        if (!rc)
            rc = blk_dec_start(d, m->kind, lk.mv_data, lk.mv_size, lv.mv_data, lv.mv_size);
        mdb_cursor_close(c); /* the block stays in the map while the snapshot lasts */
        if (rc)
            return rc;
        m->cache_valid = 1;
        m->cache_txn = id;
    }
    if (it->n && cmp_bytes(k, kl, IK(it, it->n - 1), it->a[it->n - 1].kl) <= 0) {
        size_t lo = 0, hi = it->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cmp_bytes(IK(it, mid), it->a[mid].kl, k, kl) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (cmp_bytes(IK(it, lo), it->a[lo].kl, k, kl) != 0)
            return MDB_NOTFOUND;
        memcpy(val, IV(it, lo), it->a[lo].vl);
        *vl = it->a[lo].vl;
        return 0;
    }
    while (!m->cache_done) {
        rc = blk_dec_next(d);
        if (rc == MDB_NOTFOUND) {
            m->cache_done = 1;
            break;
        }
        if (!rc)
            rc = items_insert(it, it->n, d->key, d->klen, d->val, d->vlen);
        if (rc) {
            m->cache_valid = 0;
            return rc;
        }
        int c = cmp_bytes(d->key, d->klen, k, kl);
        if (c == 0) {
            memcpy(val, d->val, d->vlen);
            *vl = d->vlen;
            return 0;
        }
        if (c > 0)
            return MDB_NOTFOUND;
    }
    if (fresh)
        return MDB_NOTFOUND; /* past the last item of its block */
    m->cache_valid = 0; /* beyond this block: look again */
    return cached_get(m, k, kl, val, vl);
}

int blk_get(blk_map *m, const uint8_t *k, size_t kl, uint8_t *val, size_t *vl)
{
    if (m->cache_on)
        return cached_get(m, k, kl, val, vl);
    MDB_cursor *c;
    MDB_val lk, lv;
    int found, below;
    int rc = open_at(m, k, kl, &c, &lk, &lv, &found, &below);
    if (rc)
        return rc;
    if (!found || below)
        rc = MDB_NOTFOUND;
    if (!rc)
        rc = blk_dec_start(m->dec, m->kind, lk.mv_data, lk.mv_size, lv.mv_data, lv.mv_size);
    while (!rc && (rc = blk_dec_next(m->dec)) == 0) {
        int cmp = cmp_bytes(m->dec->key, m->dec->klen, k, kl);
        if (cmp == 0) {
            memcpy(val, m->dec->val, m->dec->vlen);
            *vl = m->dec->vlen;
            break;
        }
        if (cmp > 0)
            rc = MDB_NOTFOUND;
    }
    mdb_cursor_close(c);
    return rc;
}

/* Whether the block stored under LMDB key lk is the tail's. */
static int is_tail(blk_map *m, const MDB_val *lk)
{
    uint8_t kb[8];
    MDB_val t = blk_lmdb_key(m->kind, m->tfirst, m->tfirst_len, kb);
    return !m->tn ||
           (t.mv_size == lk->mv_size && memcmp(t.mv_data, lk->mv_data, t.mv_size) == 0);
}

/* Changes the block where k is or goes: put (v non-NULL) or delete. The
 * tail stays in memory unless this block (or the next one, merged) is
 * its. */
static int change(blk_map *m, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    MDB_cursor *c;
    MDB_val lk, lv;
    int found, below, merged = 0;
    int rc = open_at(m, k, kl, &c, &lk, &lv, &found, &below);
    if (rc)
        return rc;
    blk_items *it = &m->it;
    it->n = it->len = 0;
    uint8_t oldkey[BLK_KEY_MAX], nextkey[BLK_KEY_MAX];
    size_t oldlen = 0, nextlen = 0;
    if (m->tail_on && (!found || is_tail(m, &lk)))
        m->tail_on = 0;
    if (found) {
        oldlen = lk.mv_size;
        memcpy(oldkey, lk.mv_data, oldlen);
        rc = items_load(m, it, &lk, &lv);
    }
    size_t at = 0;
    int cmp = 1;
    while (!rc && at < it->n && (cmp = cmp_bytes(IK(it, at), it->a[at].kl, k, kl)) < 0)
        at++;
    if (rc)
        goto out;
    if (!v) {
        if (at == it->n || cmp != 0) {
            rc = MDB_NOTFOUND;
            goto out;
        }
        items_remove(it, at);
        /* small: merge with the next block */
        size_t bytes = 0;
        uint8_t item[BLK_ITEM_MAX];
        for (size_t i = 0; i < it->n && bytes < target(m) / 4; i++)
            bytes += item_code(m, it, 0, i, item);
        if (bytes < target(m) / 4) {
            MDB_val nk, nv;
            int nr = mdb_cursor_get(c, &nk, &nv, MDB_NEXT);
            if (nr == 0) {
                if (m->tail_on && is_tail(m, &nk))
                    m->tail_on = 0;
                nextlen = nk.mv_size;
                memcpy(nextkey, nk.mv_data, nextlen);
                rc = items_load(m, it, &nk, &nv);
                merged = 1;
            } else if (nr != MDB_NOTFOUND) {
                rc = nr;
            }
        }
    } else if (at < it->n && cmp == 0) {
        /* replace: the old bytes stay in the arena, unused */
        items_remove(it, at);
        rc = items_insert(it, at, k, kl, v, vl);
    } else {
        rc = items_insert(it, at, k, kl, v, vl);
    }
    mdb_cursor_close(c);
    c = NULL;
    if (rc)
        goto out;
    if (found) {
        MDB_val dk = { oldlen, oldkey };
        rc = mdb_del(m->txn, m->dbi, &dk, NULL);
    }
    if (!rc && merged) {
        MDB_val dk = { nextlen, nextkey };
        rc = mdb_del(m->txn, m->dbi, &dk, NULL);
    }
    if (!rc)
        rc = write_all(m, it);
out:
    if (c)
        mdb_cursor_close(c);
    return rc;
}

int blk_put(blk_map *m, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    return change(m, k, kl, v, vl);
}

int blk_del(blk_map *m, const uint8_t *k, size_t kl)
{
    return change(m, k, kl, NULL, 0);
}

/* Blocks blk_del_many takes in before it writes what is left of them. */
#define DEL_BLOCKS 256

int blk_del_many(blk_map *m, const uint8_t *bytes, const size_t *end, size_t n)
{
    struct {
        uint8_t k[BLK_KEY_MAX];
        size_t len;
    } *gone = malloc(DEL_BLOCKS * sizeof *gone);
    if (!gone)
        return ENOMEM;
    blk_items *it = &m->it;
    size_t i = 0;
    int rc = 0;
#define DK(j) (bytes + ((j) ? end[(j) - 1] : 0))
#define DKL(j) (end[j] - ((j) ? end[(j) - 1] : 0))
    while (!rc && i < n) {
        MDB_cursor *c;
        MDB_val lk, lv;
        int found, below;
        size_t ngone = 0, first = i;
        if ((rc = open_at(m, DK(i), DKL(i), &c, &lk, &lv, &found, &below)))
            break;
        if (!found || below)
            rc = MDB_NOTFOUND;
        it->n = it->len = 0;
        /* the block of key i, then the next ones while what is left is
         * small (as change() merges) */
        while (!rc) {
            if (m->tail_on && is_tail(m, &lk))
                m->tail_on = 0;
            gone[ngone].len = lk.mv_size;
            memcpy(gone[ngone++].k, lk.mv_data, lk.mv_size);
            size_t from = it->n, w = from;
            if ((rc = items_load(m, it, &lk, &lv)))
                break;
            for (size_t r = from; r < it->n; r++) {
                int cmp = i < n ? cmp_bytes(DK(i), DKL(i), IK(it, r), it->a[r].kl) : 1;
                if (cmp < 0) {
                    rc = MDB_NOTFOUND; /* key i is not stored */
                    break;
                }
                if (cmp == 0)
                    i++;
                else
                    it->a[w++] = it->a[r];
            }
            it->n = w;
            size_t left = 0;
            uint8_t item[BLK_ITEM_MAX];
            for (size_t r = 0; r < it->n && left < target(m) / 4; r++)
                left += item_code(m, it, 0, r, item);
            if (rc || left >= target(m) / 4 || ngone == DEL_BLOCKS)
                break;
            int nr = mdb_cursor_get(c, &lk, &lv, MDB_NEXT);
            if (nr == MDB_NOTFOUND)
                break;
            rc = nr;
        }
        mdb_cursor_close(c);
        if (!rc && i == first)
            rc = MDB_NOTFOUND; /* key i was not in its block */
        for (size_t g = 0; !rc && g < ngone; g++) {
            MDB_val dk = { gone[g].len, gone[g].k };
            rc = mdb_del(m->txn, m->dbi, &dk, NULL);
        }
        if (!rc)
            rc = write_all(m, it);
    }
#undef DK
#undef DKL
    free(gone);
    return rc;
}

/* Loads the table's last block as the tail. */
static int tail_load(blk_map *m)
{
    int rc = need_dec(m);
    if (!rc && !m->tval && !(m->tval = malloc(BLK_VAL_MAX)))
        rc = ENOMEM;
    if (!rc && m->body_cap < BLK_TARGET + BLK_ITEM_MAX) {
        uint8_t *b = realloc(m->body, BLK_TARGET + BLK_ITEM_MAX);
        if (!b)
            return ENOMEM;
        m->body = b;
        m->body_cap = BLK_TARGET + BLK_ITEM_MAX;
    }
    if (rc)
        return rc;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(m->txn, m->dbi, &c)))
        return rc;
    MDB_val lk, lv;
    m->tn = m->body_len = 0;
    m->tail_stored = m->tail_dirty = 0;
    rc = mdb_cursor_get(c, &lk, &lv, MDB_LAST);
    if (rc == MDB_NOTFOUND) {
        rc = 0;
    } else if (!rc) {
        blk_dec *d = m->dec;
        rc = blk_dec_start(d, m->kind, lk.mv_data, lk.mv_size, lv.mv_data, lv.mv_size);
        size_t hl = rc ? 0 : (size_t)(d->p - (const uint8_t *)lv.mv_data);
        while (!rc && (rc = blk_dec_next(d)) == 0)
            ;
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            size_t bl = lv.mv_size - hl;
            if (bl > m->body_cap) {
                uint8_t *b = realloc(m->body, bl + BLK_ITEM_MAX);
                if (!b)
                    rc = ENOMEM;
                else {
                    m->body = b;
                    m->body_cap = bl + BLK_ITEM_MAX;
                }
            }
            if (!rc) {
                memcpy(m->body, (const uint8_t *)lv.mv_data + hl, bl);
                m->body_len = bl;
                m->tn = d->n;
                m->tail_stored = 1;
                memcpy(m->tkey, d->key, d->klen);
                m->tkey_len = d->klen;
                memcpy(m->tval, d->val, d->vlen);
                m->tval_len = d->vlen;
                uint8_t kb[8];
                if (m->kind == BLK_ENTRIES) {
                    uint64_t e;
                    memcpy(&e, lk.mv_data, sizeof e);
                    blk_u64_put(kb, e);
                    memcpy(m->tfirst, kb, 8);
                    m->tfirst_len = 8;
                } else {
                    memcpy(m->tfirst, lk.mv_data, lk.mv_size);
                    m->tfirst_len = lk.mv_size;
                }
            }
        }
    }
    mdb_cursor_close(c);
    if (!rc)
        m->tail_on = 1;
    return rc;
}

int blk_append(blk_map *m, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    int rc = m->tail_on ? 0 : tail_load(m);
    if (rc)
        return rc;
    if (m->tn && cmp_bytes(k, kl, m->tkey, m->tkey_len) <= 0)
        return MDB_KEYEXIST;
    /* the item is coded in place, after the tail's items: room for one */
    if (m->body_cap - m->body_len < BLK_ITEM_MAX) {
        uint8_t *b = realloc(m->body, m->body_len + BLK_ITEM_MAX + BLK_TARGET);
        if (!b)
            return ENOMEM;
        m->body = b;
        m->body_cap = m->body_len + BLK_ITEM_MAX + BLK_TARGET;
    }
    size_t n = 0;
    if (m->tn) {
        n = blk_item_code(m->kind, 0, m->tkey, m->tkey_len, m->tval, m->tval_len, k, kl, v, vl,
                          m->body + m->body_len);
        /* the row (key, header, items) within row_max(): whole rows to a page */
        if (m->tfirst_len + 3 + m->body_len + n > row_max(m) || m->tn == BLK_MAX_ITEMS) {
            if ((rc = blk_flush(m)))
                return rc;
            m->tn = m->body_len = 0;
            m->tail_stored = 0;
        }
    }
    if (!m->tn) {
        n = blk_item_code(m->kind, 1, NULL, 0, NULL, 0, k, kl, v, vl, m->body + m->body_len);
        memcpy(m->tfirst, k, kl);
        m->tfirst_len = kl;
    }
    m->body_len += n;
    m->tn++;
    copy_few(m->tkey, k, kl);
    m->tkey_len = kl;
    copy_few(m->tval, v, vl);
    m->tval_len = vl;
    m->tail_dirty = 1;
    return 0;
}

int blk_last(blk_map *m, uint8_t *k, size_t *kl)
{
    int rc = m->tail_on ? 0 : tail_load(m);
    if (rc)
        return rc;
    if (!m->tn)
        return MDB_NOTFOUND;
    memcpy(k, m->tkey, m->tkey_len);
    *kl = m->tkey_len;
    return 0;
}

int blk_count(blk_map *m, uint64_t *n)
{
    int rc = blk_flush(m);
    *n = 0;
    MDB_cursor *c;
    if (rc || (rc = mdb_cursor_open(m->txn, m->dbi, &c)))
        return rc;
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST; (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
         op = MDB_NEXT) {
        uint64_t x;
        const uint8_t *b = v.mv_data;
        if (v.mv_size < 2 || b[0] != m->kind || !idx_uv_get(b + 1, v.mv_size - 1, &x)) {
            rc = MDB_CORRUPTED;
            break;
        }
        *n += x;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- walks -------------------------------------------------------- */

int blk_iter_open(blk_iter *it, blk_map *m, const uint8_t *k, size_t kl)
{
    memset(it, 0, sizeof *it);
    it->m = m;
    int rc = blk_flush(m);
    if (!rc && !(it->d = malloc(sizeof *it->d)))
        rc = ENOMEM;
    if (!rc)
        rc = mdb_cursor_open(m->txn, m->dbi, &it->c);
    if (rc) {
        free(it->d);
        it->d = NULL;
        return rc;
    }
    if (k) {
        memcpy(it->from, k, kl);
        it->from_len = kl;
        it->has_from = 1;
    }
    return 0;
}

/* Moves to the next block (the first one: where `from` is). */
static int next_block(blk_iter *it)
{
    MDB_val lk, lv;
    int rc;
    if (!it->started && it->has_from) {
        int found, below;
        rc = locate(it->m, it->c, it->from, it->from_len, &lk, &lv, &found, &below);
        if (!rc && !found)
            rc = MDB_NOTFOUND;
    } else {
        rc = mdb_cursor_get(it->c, &lk, &lv, it->started ? MDB_NEXT : MDB_FIRST);
    }
    it->started = 1;
    if (!rc) {
        rc = blk_dec_start(it->d, it->m->kind, lk.mv_data, lk.mv_size, lv.mv_data,
                           lv.mv_size);
        it->blocks++;
    }
    it->inblock = !rc;
    return rc;
}

int blk_iter_next(blk_iter *it)
{
    for (;;) {
        int rc = it->inblock ? 0 : next_block(it);
        if (!rc)
            rc = blk_dec_next(it->d);
        if (rc == MDB_NOTFOUND && it->inblock) {
            it->inblock = 0;
            continue;
        }
        if (rc)
            return rc;
        blk_dec *d = it->d;
        if (it->has_prev && cmp_bytes(it->prev, it->prev_len, d->key, d->klen) >= 0)
            return MDB_CORRUPTED; /* blocks overlap */
        memcpy(it->prev, d->key, d->klen);
        it->prev_len = d->klen;
        it->has_prev = 1;
        if (it->has_from && cmp_bytes(d->key, d->klen, it->from, it->from_len) < 0)
            continue;
        return 0;
    }
}

void blk_iter_close(blk_iter *it)
{
    if (it->c)
        mdb_cursor_close(it->c);
    free(it->d);
    memset(it, 0, sizeof *it);
}

int blk_entry_get(blk_map *m, uint64_t eid, uint8_t *rec, size_t *len)
{
    uint8_t k[8];
    blk_u64_put(k, eid);
    return blk_get(m, k, 8, rec, len);
}

int blk_key_get(blk_map *m, const uint8_t *k, size_t kl, uint64_t *eid)
{
    uint8_t v[BLK_VAL_MAX];
    size_t vl = 0;
    int rc = blk_get(m, k, kl, v, &vl);
    if (!rc && vl != 8)
        rc = MDB_CORRUPTED;
    if (!rc)
        *eid = blk_u64_get(v);
    return rc;
}
