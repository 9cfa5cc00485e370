/* test_index_block.c - the blocked map of index format 6
 * (src/lib/index_block.c): item coding round trips, the decoder's
 * refusals, and random puts, appends, deletes and gets on both kinds of
 * table checked against a plain sorted array (the model), with the
 * blocks split and merged as they grow and shrink. */
#include <lmdb.h>

#include "index_block.h"
#include "index_util.h"
#include "tap.h"

/* ---- the model: a sorted array of (key, value) ---------------------- */

typedef struct mitem {
    uint8_t k[BLK_KEY_MAX], v[64];
    size_t kl, vl;
} mitem;

typedef struct model {
    mitem *a;
    size_t n, cap;
} model;

static int mcmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Index of k, or where it goes (*found). */
static size_t mfind(const model *m, const uint8_t *k, size_t kl, int *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (mcmp(m->a[mid].k, m->a[mid].kl, k, kl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < m->n && mcmp(m->a[lo].k, m->a[lo].kl, k, kl) == 0;
    return lo;
}

static void mput(model *m, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    int found;
    size_t at = mfind(m, k, kl, &found);
    if (!found) {
        if (m->n == m->cap) {
            m->cap = m->cap ? 2 * m->cap : 1024;
            m->a = realloc(m->a, m->cap * sizeof *m->a);
            if (!m->a)
                exit(2);
        }
        memmove(m->a + at + 1, m->a + at, (m->n - at) * sizeof *m->a);
        m->n++;
    }
    memcpy(m->a[at].k, k, kl);
    m->a[at].kl = kl;
    memcpy(m->a[at].v, v, vl);
    m->a[at].vl = vl;
}

static int mdel(model *m, const uint8_t *k, size_t kl)
{
    int found;
    size_t at = mfind(m, k, kl, &found);
    if (!found)
        return 0;
    memmove(m->a + at, m->a + at + 1, (m->n - at - 1) * sizeof *m->a);
    m->n--;
    return 1;
}

/* ---- generated items ---------------------------------------------- */

/* A key of kind: an entry number (8 bytes big-endian) up to `range`, or a
 * keys key: a source number byte and an id of the form "i%05u" or a few
 * random letters. */
static size_t gen_key(rng *r, int kind, uint64_t range, uint8_t *k)
{
    if (kind == BLK_ENTRIES) {
        blk_u64_put(k, 1 + rng_next(r) % range);
        return 8;
    }
    k[0] = (uint8_t)(1 + rng_next(r) % 3);
    if (rng_next(r) % 4)
        return 1 + (size_t)snprintf((char *)k + 1, 12, "i%05u",
                                    (unsigned)(rng_next(r) % range));
    size_t n = 1 + rng_next(r) % 6;
    for (size_t i = 0; i < n; i++)
        k[1 + i] = (uint8_t)('a' + rng_next(r) % 4);
    return 1 + n;
}

/* A value: a record-like run of bytes (entries) sharing much with others,
 * or an entry number (keys). */
static size_t gen_val(rng *r, int kind, uint8_t *v)
{
    if (kind == BLK_KEYS) {
        blk_u64_put(v, rng_next(r) % 3 ? 1 + rng_next(r) % 100000 : rng_next(r));
        return 8;
    }
    size_t n = 1 + rng_next(r) % 40;
    for (size_t i = 0; i < n; i++)
        v[i] = (uint8_t)(rng_next(r) % 3 ? 'a' + i % 7 : rng_next(r));
    return n;
}

/* ---- checks -------------------------------------------------------- */

static MDB_env *env;
static char dir[400];

static MDB_txn *begin(void)
{
    MDB_txn *t;
    if (mdb_txn_begin(env, NULL, 0, &t))
        exit(2);
    return t;
}

/* Whether the table as the map walks it equals the model, and its block
 * count (*blocks). */
static int same_as_model(blk_map *m, const model *md, uint64_t *blocks)
{
    blk_iter it;
    if (blk_iter_open(&it, m, NULL, 0))
        return 0;
    size_t i = 0;
    int rc, ok = 1;
    while ((rc = blk_iter_next(&it)) == 0) {
        if (i >= md->n || it.d->klen != md->a[i].kl ||
            memcmp(it.d->key, md->a[i].k, it.d->klen) != 0 || it.d->vlen != md->a[i].vl ||
            memcmp(it.d->val, md->a[i].v, it.d->vlen) != 0)
            ok = 0;
        i++;
    }
    *blocks = it.blocks;
    blk_iter_close(&it);
    uint64_t cnt = 0;
    return ok && rc == MDB_NOTFOUND && i == md->n && blk_count(m, &cnt) == 0 && cnt == md->n;
}

static void test_random(int kind, const char *name, uint64_t seed)
{
    MDB_txn *t = begin();
    MDB_dbi dbi;
    if (mdb_dbi_open(t, name, MDB_CREATE | (kind == BLK_ENTRIES ? MDB_INTEGERKEY : 0), &dbi))
        exit(2);
    blk_map m;
    blk_map_init(&m, t, dbi, kind);
    model md = { 0 };
    rng r = { seed };
    uint64_t range = 6000;
    int bad_get = 0, bad_op = 0, bad_last = 0;
    uint64_t most_blocks = 0, blocks = 0;
    uint8_t k[BLK_KEY_MAX], v[BLK_VAL_MAX], got[BLK_VAL_MAX];
    /* first a run of appends (an import), then random changes, then
     * deletes of most (merges), with gets and walks between */
    for (int phase = 0; phase < 3; phase++) {
        int ops = phase == 0 ? 3000 : phase == 1 ? 6000 : (int)(md.n * 3 / 4);
        for (int i = 0; i < ops; i++) {
            size_t kl = gen_key(&r, kind, range, k), vl = gen_val(&r, kind, v), gl = 0;
            unsigned op = (unsigned)(rng_next(&r) % 10);
            if (phase == 0) {
                /* increasing keys past the last */
                if (kind == BLK_ENTRIES) {
                    blk_u64_put(k, md.n ? blk_u64_get(md.a[md.n - 1].k) + 1 + rng_next(&r) % 3
                                        : 1);
                } else {
                    k[0] = 1;
                    kl = 1 + (size_t)snprintf((char *)k + 1, 12, "a%06d", i);
                }
                if (blk_append(&m, k, kl, v, vl))
                    bad_op++;
                mput(&md, k, kl, v, vl);
            } else if (phase == 1 && op < 5) {
                if (blk_put(&m, k, kl, v, vl))
                    bad_op++;
                mput(&md, k, kl, v, vl);
            } else if (phase == 1 && op < 7 && md.n) {
                /* an append past the last (or refused if not past it) */
                int rc = blk_append(&m, k, kl, v, vl);
                int past = mcmp(k, kl, md.a[md.n - 1].k, md.a[md.n - 1].kl) > 0;
                if (past ? rc != 0 : rc != MDB_KEYEXIST)
                    bad_op++;
                if (past)
                    mput(&md, k, kl, v, vl);
            } else if (op < 8 || phase == 2) {
                /* delete: a stored key most of the time */
                if (md.n && (phase == 2 || rng_next(&r) % 4)) {
                    const mitem *x = &md.a[rng_next(&r) % md.n];
                    memcpy(k, x->k, x->kl);
                    kl = x->kl;
                }
                int had = mdel(&md, k, kl);
                int rc = blk_del(&m, k, kl);
                if (had ? rc != 0 : rc != MDB_NOTFOUND)
                    bad_op++;
            }
            /* a get, present or not */
            if (md.n && rng_next(&r) % 2) {
                const mitem *x = &md.a[rng_next(&r) % md.n];
                if (blk_get(&m, x->k, x->kl, got, &gl) || gl != x->vl ||
                    memcmp(got, x->v, gl) != 0)
                    bad_get++;
            } else {
                kl = gen_key(&r, kind, range, k);
                int found;
                size_t at = mfind(&md, k, kl, &found);
                int rc = blk_get(&m, k, kl, got, &gl);
                if (found ? rc != 0 || gl != md.a[at].vl || memcmp(got, md.a[at].v, gl)
                          : rc != MDB_NOTFOUND)
                    bad_get++;
            }
            if (md.n) {
                size_t ll = 0;
                if (blk_last(&m, k, &ll) || ll != md.a[md.n - 1].kl ||
                    memcmp(k, md.a[md.n - 1].k, ll) != 0)
                    bad_last++;
            }
        }
        OK(same_as_model(&m, &md, &blocks),
           "%s phase %d: the table equals the model (%zu items)", name, phase, md.n);
        if (blocks > most_blocks)
            most_blocks = blocks;
    }
    IS_INT(bad_op, 0, "%s: every put, append and delete returned what the model says", name);
    IS_INT(bad_get, 0, "%s: every get returned the model's value or not found", name);
    IS_INT(bad_last, 0, "%s: the last key is the model's", name);
    OK(most_blocks > 10, "%s: the table grew to %llu blocks (split)", name,
       (unsigned long long)most_blocks);
    OK(blocks < most_blocks / 2, "%s: deletes merged blocks (%llu of %llu left)", name,
       (unsigned long long)blocks, (unsigned long long)most_blocks);
    /* committed, the table reads the same in a new transaction */
    OK(blk_flush(&m) == 0 && mdb_txn_commit(t) == 0, "%s: commit", name);
    blk_map_free(&m);
    MDB_txn *rt;
    mdb_txn_begin(env, NULL, MDB_RDONLY, &rt);
    blk_map_init(&m, rt, dbi, kind);
    OK(same_as_model(&m, &md, &blocks), "%s: committed, the table still equals the model",
       name);
    blk_map_free(&m);
    /* gets through the cache of the last block: neighbours, then random
     * keys, present or not */
    blk_map_init(&m, rt, dbi, kind);
    blk_map_cache(&m);
    bad_get = 0;
    for (int i = 0; i < 4000; i++) {
        size_t kl = 0, gl = 0, at;
        int found = 0;
        if (md.n && i < 2000) {
            at = (size_t)i % md.n;
            memcpy(k, md.a[at].k, md.a[at].kl);
            kl = md.a[at].kl;
            found = 1;
        } else {
            kl = gen_key(&r, kind, range, k);
            at = mfind(&md, k, kl, &found);
        }
        int rc = blk_get(&m, k, kl, got, &gl);
        if (found ? rc != 0 || gl != md.a[at].vl || memcmp(got, md.a[at].v, gl)
                  : rc != MDB_NOTFOUND)
            bad_get++;
    }
    IS_INT(bad_get, 0, "%s: gets through the block cache return the model's values", name);
    blk_map_free(&m);
    mdb_txn_abort(rt);
    free(md.a);
}

/* blk_del_many: sorted sets of keys deleted at once (runs of whole
 * blocks, scattered ones, the first and the last) leave the table equal
 * to the model and no more blocks than deleting them one at a time; a key
 * not stored is MDB_NOTFOUND. */
static void test_del_many(int kind, const char *name, uint64_t seed)
{
    MDB_txn *t = begin();
    MDB_dbi dbi, dbi1;
    char name1[64];
    snprintf(name1, sizeof name1, "%s-one", name);
    unsigned fl = MDB_CREATE | (kind == BLK_ENTRIES ? MDB_INTEGERKEY : 0);
    if (mdb_dbi_open(t, name, fl, &dbi) || mdb_dbi_open(t, name1, fl, &dbi1))
        exit(2);
    blk_map m, m1;
    blk_map_init(&m, t, dbi, kind);
    blk_map_init(&m1, t, dbi1, kind);
    model md = { 0 };
    rng r = { seed };
    uint8_t k[BLK_KEY_MAX], v[BLK_VAL_MAX];
    for (int i = 0; i < 6000; i++) {
        size_t kl = 8, vl = gen_val(&r, kind, v);
        if (kind == BLK_ENTRIES) {
            blk_u64_put(k, 1 + (uint64_t)i * 2);
        } else {
            k[0] = (uint8_t)(1 + i % 3); /* three sources interleaved */
            kl = 1 + (size_t)snprintf((char *)k + 1, 12, "a%06d", i);
        }
        mput(&md, k, kl, v, vl);
    }
    int bad = 0;
    for (size_t i = 0; i < md.n; i++) /* in order: appends */
        bad |= blk_append(&m, md.a[i].k, md.a[i].kl, md.a[i].v, md.a[i].vl) ||
               blk_append(&m1, md.a[i].k, md.a[i].kl, md.a[i].v, md.a[i].vl);
    IS_INT(bad, 0, "%s: %zu items appended to both tables", name, md.n);
    uint8_t *bytes = malloc(md.n * BLK_KEY_MAX);
    size_t *end = malloc(md.n * sizeof *end);
    if (!bytes || !end)
        exit(2);
    /* rounds: a third of the keys (every third: a source), a run of 500,
     * scattered 1 in 7, the first and the last, then all that is left */
    for (int round = 0; round < 5; round++) {
        size_t n = 0, len = 0, keep = 0;
        for (size_t i = 0; i < md.n; i++) {
            int del = round == 0   ? (md.a[i].k[kind == BLK_KEYS ? 0 : 7] % 3) == 1
                      : round == 1 ? i >= md.n / 3 && i < md.n / 3 + 500
                      : round == 2 ? rng_next(&r) % 7 == 0
                      : round == 3 ? i == 0 || i + 1 == md.n
                                   : 1;
            if (!del) {
                md.a[keep++] = md.a[i];
                continue;
            }
            memcpy(bytes + len, md.a[i].k, md.a[i].kl);
            len += md.a[i].kl;
            end[n++] = len;
            if (blk_del(&m1, md.a[i].k, md.a[i].kl))
                bad++;
        }
        md.n = keep;
        int rc = blk_del_many(&m, bytes, end, n);
        IS_INT(rc, 0, "%s round %d: %zu keys deleted at once", name, round, n);
        IS_INT(bad, 0, "%s round %d: and one at a time in the other table", name, round);
        uint64_t blocks = 0, blocks1 = 0;
        OK(same_as_model(&m, &md, &blocks), "%s round %d: the table equals the model (%zu "
           "items)", name, round, md.n);
        int same1 = same_as_model(&m1, &md, &blocks1);
        OK(same1 && blocks <= blocks1 + 1,
           "%s round %d: %llu blocks (one at a time: %llu)", name, round,
           (unsigned long long)blocks, (unsigned long long)blocks1);
        if (round == 1 && md.n > 2) {
            /* a key not stored, just after a stored one (entries: the
             * even number after an odd one; keys: a zero byte added) */
            const mitem *a = &md.a[md.n / 2];
            uint8_t miss[BLK_KEY_MAX + 1];
            size_t ml = a->kl;
            memcpy(miss, a->k, a->kl);
            if (kind == BLK_ENTRIES)
                blk_u64_put(miss, blk_u64_get(a->k) + 1);
            else
                miss[ml++] = 0;
            memcpy(bytes, miss, ml);
            end[0] = ml;
            IS_INT(blk_del_many(&m, bytes, end, 1), MDB_NOTFOUND,
                   "%s: a key not stored is not found", name);
            memcpy(bytes, a->k, a->kl);
            memcpy(bytes + a->kl, miss, ml);
            end[0] = a->kl;
            end[1] = a->kl + ml;
            IS_INT(blk_del_many(&m, bytes, end, 2), MDB_NOTFOUND,
                   "%s: a key not stored after one that is: not found", name);
            memcpy(miss, a->k, a->kl); /* a moves with mdel */
            ml = a->kl;
            mdel(&md, miss, ml);
            OK(blk_del(&m, miss, ml) == 0 && blk_del(&m1, miss, ml) == 0,
               "%s: the stored one is still there", name);
        }
    }
    OK(md.n == 0, "%s: all deleted", name);
    free(bytes);
    free(end);
    blk_map_free(&m);
    blk_map_free(&m1);
    mdb_txn_abort(t);
    free(md.a);
}

/* Codes n items into one block (first key implied) and decodes them. */
static int round_trip(int kind, const uint8_t (*k)[BLK_KEY_MAX], const size_t *kl,
                      const uint8_t (*v)[BLK_VAL_MAX], const size_t *vl, size_t n,
                      uint8_t *block, size_t *blen)
{
    static blk_dec d;
    size_t len = 0;
    block[len++] = (uint8_t)kind;
    len += idx_uv_put(block + len, n);
    for (size_t i = 0; i < n; i++)
        len += blk_item_code(kind, i == 0, i ? k[i - 1] : NULL, i ? kl[i - 1] : 0,
                             i ? v[i - 1] : NULL, i ? vl[i - 1] : 0, k[i], kl[i], v[i], vl[i],
                             block + len);
    *blen = len;
    uint8_t lkb[8];
    MDB_val lk = blk_lmdb_key(kind, k[0], kl[0], lkb);
    if (blk_dec_start(&d, kind, lk.mv_data, lk.mv_size, block, len))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (blk_dec_next(&d) || d.klen != kl[i] || memcmp(d.key, k[i], kl[i]) ||
            d.vlen != vl[i] || memcmp(d.val, v[i], vl[i]))
            return 0;
    return blk_dec_next(&d) == MDB_NOTFOUND;
}

/* Decodes an entries block of the item coded from `prev` (entry 1000)
 * and the item `item` (entry 1001, ilen bytes) after it: 0 when the
 * second decodes to `want`, else the decoder's code. */
static int second_item(const char *prev, const uint8_t *item, size_t ilen, const char *want)
{
    static blk_dec d;
    uint8_t block[64], k0[8], lkb[8];
    size_t len = 0;
    blk_u64_put(k0, 1000);
    block[len++] = BLK_ENTRIES;
    block[len++] = 2;
    len += blk_item_code(BLK_ENTRIES, 1, NULL, 0, NULL, 0, k0, 8, (const uint8_t *)prev,
                         strlen(prev), block + len);
    memcpy(block + len, item, ilen);
    len += ilen;
    MDB_val lk = blk_lmdb_key(BLK_ENTRIES, k0, 8, lkb);
    int rc = blk_dec_start(&d, BLK_ENTRIES, lk.mv_data, lk.mv_size, block, len);
    if (!rc)
        rc = blk_dec_next(&d);
    if (!rc)
        rc = blk_dec_next(&d);
    if (!rc && (d.vlen != strlen(want) || memcmp(d.val, want, d.vlen)))
        rc = -1;
    return rc;
}

/* An entries item is coded one way only: the middles of "PabcdefgS" and
 * "PxbcyefzS" share "bc" and "ef", so the item is two literal runs around
 * "bc", the first longest. The same record coded as one run, or as two
 * around "ef", decodes to the same bytes but is refused: only the
 * canonical coding is read, so a changed byte cannot pass as another
 * coding of a valid block. */
static void test_entries_canonical(void)
{
    const char *prev = "PabcdefgS", *next = "PxbcyefzS";
    uint8_t k0[8], k1[8], item[32];
    blk_u64_put(k0, 1000);
    blk_u64_put(k1, 1001);
    size_t n = blk_item_code(BLK_ENTRIES, 0, k0, 8, (const uint8_t *)prev, strlen(prev), k1, 8,
                             (const uint8_t *)next, strlen(next), item);
    IS_INT(second_item(prev, item, n, next), 0, "entries: the coded item decodes");
    OK(n > 0 && item[0] == (0x40u | 1u << 3 | 1u),
       "entries: it is two runs around the first longest shared run (header 0x%02x)",
       n ? item[0] : 0);
    /* one run: s 1, m1 7 + 0, c 1, the 7 bytes */
    const uint8_t one[] = { 1u << 3 | 7u, 1, 0, 'x', 'b', 'c', 'y', 'e', 'f', 'z' };
    IS_INT(second_item(prev, one, sizeof one, next), MDB_CORRUPTED,
           "entries: the same record as one run is refused");
    /* two runs around "ef": m1 4, k 2, m2 1 */
    const uint8_t late[] = { 0x40u | 1u << 3 | 4u, 1, 2, 1, 'x', 'b', 'c', 'y', 'z' };
    IS_INT(second_item(prev, late, sizeof late, next), MDB_CORRUPTED,
           "entries: two runs around a shared run not the first longest are refused");
    /* a prefix shorter than the one shared: c 0, s 1, m1 8 */
    const uint8_t shortc[] = { 1u << 3 | 7u, 0, 1, 'P', 'x', 'b', 'c', 'y', 'e', 'f', 'z' };
    IS_INT(second_item(prev, shortc, sizeof shortc, next), MDB_CORRUPTED,
           "entries: a shared prefix left out is refused");
}

/* The entries item as docs/INDEX_FORMAT.md defines it, a byte at a time:
 * the model blk_item_code's word-at-a-time comparisons must equal. */
static size_t model_entry(uint64_t gap, const uint8_t *pv, size_t pvl, const uint8_t *v,
                          size_t vl, uint8_t *out)
{
    size_t c = 0, s = 0;
    while (c < pvl && c < vl && pv[c] == v[c])
        c++;
    while (s < pvl - c && s < vl - c && pv[pvl - 1 - s] == v[vl - 1 - s])
        s++;
    size_t mid = vl - c - s, m1 = mid, kk = 0, m2 = 0, at = 0;
    if (pvl - c - s == mid && mid >= 3) {
        size_t run = 0;
        for (size_t j = 0; j < mid; j++) {
            run = pv[c + j] == v[c + j] ? run + 1 : 0;
            if (run > kk) {
                kk = run;
                at = j + 1 - run;
            }
        }
    }
    if (kk >= 2) {
        m1 = at;
        m2 = mid - at - kk;
    } else {
        kk = 0;
    }
    /* the header, then the varints present, in the format's order */
    const struct {
        int present;
        uint64_t value;
    } field[] = { { gap != 0, gap }, { 1, c },       { s >= 7, s - 7 },
                  { m1 >= 7, m1 - 7 }, { kk != 0, kk }, { kk != 0, m2 } };
    size_t n = 0;
    out[n++] = (uint8_t)((gap ? 0x80u : 0) | (kk ? 0x40u : 0) | (s < 7 ? s : 7) << 3 |
                         (m1 < 7 ? m1 : 7));
    for (size_t f = 0; f < sizeof field / sizeof field[0]; f++)
        if (field[f].present)
            n += idx_uv_put(out + n, field[f].value);
    memcpy(out + n, v + c, m1);
    memcpy(out + n + m1, v + c + m1 + kk, m2);
    return n + m1 + m2;
}

/* blk_item_code's entries items equal the model's bytes, for records of
 * 0..140 bytes (middles on both sides of the 64 a mask holds) from a
 * three-letter alphabet (many shared runs, at every place in a word),
 * each one an edit of the one before, or unrelated. */
static void test_entries_model(void)
{
    static uint8_t pv[BLK_VAL_MAX], v[BLK_VAL_MAX], got[BLK_ITEM_MAX], want[BLK_ITEM_MAX];
    uint64_t r = 0x9e3779b97f4a7c15ull;
    size_t bad = 0, pvl = 0, twos = 0, longs = 0, runs_late = 0;
    uint8_t k0[8], k1[8];
    for (int round = 0; round < 200000; round++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        size_t vl = (size_t)(r % 141);
        if (r >> 60 < 3) { /* unrelated */
            for (size_t j = 0; j < vl; j++) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                v[j] = (uint8_t)('a' + r % 3);
            }
        } else { /* pv with a few bytes changed, its length kept or not */
            if (r >> 62 == 3)
                vl = pvl;
            for (size_t j = 0; j < vl; j++)
                v[j] = j < pvl ? pv[j] : 'a';
            for (int e = (int)(r >> 56 & 7); e-- > 0 && vl;) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                v[r % vl] = (uint8_t)('a' + (r >> 32) % 3);
            }
        }
        uint64_t gap = r >> 40 & 3;
        blk_u64_put(k0, 5000);
        blk_u64_put(k1, 5001 + gap);
        size_t g = blk_item_code(BLK_ENTRIES, 0, k0, 8, pv, pvl, k1, 8, v, vl, got);
        size_t w = model_entry(gap, pv, pvl, v, vl, want);
        if (g != w || memcmp(got, want, w)) {
            if (bad++ < 3)
                printf("# entries item %d (%zu then %zu bytes) differs from the model\n", round,
                     pvl, vl);
        }
        if (w && (want[0] & 0x40u)) {
            twos++;
            runs_late += (want[0] & 7u) >= 7; /* the shared run 7 bytes in or more */
        }
        longs += pvl == vl && vl > 64;
        memcpy(pv, v, vl);
        pvl = vl;
    }
    IS_INT((long)bad, 0, "entries: 200,000 items coded as the byte-at-a-time model codes them");
    OK(twos > 1000 && runs_late > 100 && longs > 1000,
       "entries: the items included two-run ones (%zu, %zu with the run 7 bytes in or more) "
       "and equal-length records over 64 bytes (%zu)", twos, runs_late, longs);
}

/* A keys item as docs/INDEX_FORMAT.md defines it, a byte at a time (not
 * a block's first): header, the varints present, the key's suffix, the
 * entry number's zigzag difference unless it is the previous one + 1. */
static size_t model_key(const uint8_t *pk, size_t pkl, const uint8_t *k, size_t kl,
                        uint64_t d, uint8_t *out)
{
    size_t c = 0;
    while (c < pkl && c < kl && pk[c] == k[c])
        c++;
    size_t l = kl - c;
    uint64_t z = (d << 1) ^ (uint64_t)(-(int64_t)(d >> 63));
    const struct {
        int present;
        uint64_t value;
    } field[] = { { c >= 15, c - 15 }, { l >= 7, l - 7 } };
    size_t n = 0;
    out[n++] = (uint8_t)((d == 1 ? 0x80u : 0) | (c < 15 ? c : 15) << 3 | (l < 7 ? l : 7));
    for (size_t f = 0; f < sizeof field / sizeof field[0]; f++)
        if (field[f].present)
            n += idx_uv_put(out + n, field[f].value);
    memcpy(out + n, k + c, l);
    n += l;
    return d == 1 ? n : n + idx_uv_put(out + n, z);
}

/* blk_item_code's keys items equal the model's bytes, for keys of 0..40
 * bytes (shared prefixes on both sides of a word and of 15) from a
 * three-letter alphabet, entry numbers the next one, near or far. */
static void test_keys_model(void)
{
    uint8_t pk[64], k[64], pv[8], v[8], got[BLK_ITEM_MAX], want[BLK_ITEM_MAX];
    uint64_t r = 0x2545f4914f6cdd1dull, e = 1000;
    size_t bad = 0, pkl = 0, long_prefix = 0;
    for (int round = 0; round < 100000; round++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        size_t kl = (size_t)(r % 41), keep = (size_t)(r >> 8) % 41;
        for (size_t j = 0; j < kl; j++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            k[j] = j < keep && j < pkl ? pk[j] : (uint8_t)('a' + r % 3);
        }
        uint64_t d = (r >> 20 & 3) == 0 ? 1 : (r >> 22 & 1) ? (r >> 24) % 9 : r >> 30;
        blk_u64_put(pv, e);
        blk_u64_put(v, e + d);
        size_t g = blk_item_code(BLK_KEYS, 0, pk, pkl, pv, 8, k, kl, v, 8, got);
        size_t w = model_key(pk, pkl, k, kl, d, want);
        if ((g != w || memcmp(got, want, w)) && bad++ < 3)
            printf("# keys item %d (%zu then %zu bytes) differs from the model\n", round, pkl,
                   kl);
        long_prefix += keep >= 15 && pkl >= 15 && kl >= 15;
        memcpy(pk, k, kl);
        pkl = kl;
        e += d;
    }
    IS_INT((long)bad, 0, "keys: 100,000 items coded as the byte-at-a-time model codes them");
    OK(long_prefix > 1000, "keys: with shared prefixes of 15 bytes or more (%zu)", long_prefix);
}

static void test_coding(void)
{
    static uint8_t k[4][BLK_KEY_MAX], v[4][BLK_VAL_MAX], block[4 * BLK_ITEM_MAX + 16];
    size_t kl[4], vl[4], blen;
    /* entries: the spec-1 records of bench/search_bench.c differ in the id's
     * last digit and the category now and then */
    for (int i = 0; i < 4; i++) {
        blk_u64_put(k[i], 1000 + (uint64_t)i);
        kl[i] = 8;
        vl[i] = (size_t)snprintf((char *)v[i], 40, "\x04\x01\x5b\x01%c\x0ci000000000%02d\x7f",
                                 'A' + i / 3, 17 + i);
    }
    OK(round_trip(BLK_ENTRIES, k, kl, v, vl, 4, block, &blen), "entries: 4 records round-trip");
    /* header 2, the first 3 + 22, two of one digit 6 each, the last (its
     * category and two digits differ) 18 */
    OK(blen <= 2 + 25 + 2 * 6 + 18, "entries: the 3 after the first take a few bytes each "
       "(%zu in all)", blen);
    /* the largest record, after an unrelated one */
    memset(v[1], 'x', BLK_VAL_MAX);
    vl[1] = BLK_VAL_MAX;
    OK(round_trip(BLK_ENTRIES, k, kl, v, vl, 2, block, &blen),
       "entries: a record of REC_MAX bytes");
    /* keys: front-coded, with long shared prefixes (escaped nibbles) */
    uint64_t eids[4] = { 5, 6, 3, UINT64_MAX };
    const char *ids[4] = { "i00000000017", "i00000000018", "i00000000018x",
                           "i0000000001900000000000000000000000000000z" };
    for (int i = 0; i < 4; i++) {
        k[i][0] = 1;
        kl[i] = 1 + strlen(ids[i]);
        memcpy(k[i] + 1, ids[i], kl[i] - 1);
        blk_u64_put(v[i], eids[i]);
        vl[i] = 8;
    }
    OK(round_trip(BLK_KEYS, k, kl, v, vl, 4, block, &blen), "keys: 4 names round-trip");
    /* the decoder refuses */
    static blk_dec d;
    uint8_t lkb[8];
    MDB_val lk = blk_lmdb_key(BLK_KEYS, k[0], kl[0], lkb);
    int rc = 0;
    for (size_t cut = 0; cut < blen; cut++) {
        int r1 = blk_dec_start(&d, BLK_KEYS, lk.mv_data, lk.mv_size, block, cut);
        while (!r1)
            r1 = blk_dec_next(&d);
        rc |= r1 != MDB_CORRUPTED;
    }
    IS_INT(rc, 0, "keys: every cut block is refused as corrupt");
    OK(blk_dec_start(&d, BLK_ENTRIES, lk.mv_data, lk.mv_size, block, blen) == MDB_CORRUPTED,
       "a keys block is not an entries block");
    uint8_t zero[3] = { BLK_KEYS, 0, 0 };
    OK(blk_dec_start(&d, BLK_KEYS, lk.mv_data, lk.mv_size, zero, 2) == MDB_CORRUPTED,
       "a block of 0 items is refused");
    /* keys that do not ascend: the second equal to the first */
    memcpy(k[1], k[0], kl[0]);
    kl[1] = kl[0];
    size_t len = 0;
    block[len++] = BLK_KEYS;
    block[len++] = 2;
    len += blk_item_code(BLK_KEYS, 1, NULL, 0, NULL, 0, k[0], kl[0], v[0], 8, block + len);
    block[len++] = (uint8_t)(kl[0] << 3 | 0); /* all shared, suffix 0 */
    block[len++] = 0;                         /* the same entry number */
    rc = blk_dec_start(&d, BLK_KEYS, lk.mv_data, lk.mv_size, block, len);
    if (!rc)
        rc = blk_dec_next(&d);
    if (!rc)
        rc = blk_dec_next(&d);
    IS_INT(rc, MDB_CORRUPTED, "a key equal to the one before is refused");
    test_entries_canonical();
}

int main(void)
{
    scratch_dir(dir, sizeof dir, "block");
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) ||
        mdb_env_set_mapsize(env, (size_t)1 << 30) ||
        mdb_env_open(env, dir, MDB_NOSYNC, 0600)) {
        fprintf(stderr, "cannot open an LMDB environment in %s\n", dir);
        return 2;
    }
    test_coding();
    test_entries_model();
    test_keys_model();
    test_random(BLK_ENTRIES, "entries", 17);
    test_random(BLK_KEYS, "keys", 23);
    test_del_many(BLK_ENTRIES, "entries-many", 31);
    test_del_many(BLK_KEYS, "keys-many", 37);
    mdb_env_close(env);
    scratch_done(dir);
    return tap_done();
}
