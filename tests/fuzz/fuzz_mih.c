/*
 * fuzz_mih.c - libFuzzer target: the multi-index search (src/lib/mih.c)
 * over damaged tables. An index file whose search tables are damaged but
 * of the right sizes opens (idx_base_load checks only the blobs' sizes;
 * mih_check_table runs in `phmatch index verify`, not at open), so
 * mih_search, mih_batch_probe and mih_batch_verify, with every kernel set
 * (hamming_impl.h, hamming_avx2.c, hamming_avx512.c), must stay within the
 * arrays, end, and report only true hits, whatever the tables hold.
 *
 * Input: a header of 4 bytes, then damage records of 5 bytes (the first
 * MAX_DAMAGE; the rest is ignored).
 *   byte 0     the hashes, byte % 8 (configs[]): n at the layout's edges
 *              (2048 = MIH_MIN_ENTRIES; odd n, with padding between the lows
 *              and the bit vector; past 65536, slots of high part 1, so the
 *              bit vector holds zeros) and shapes (families of 16 within 12
 *              bits of their first; uniform; families of 8 within 2 bits:
 *              exact duplicates; a family of 300 to 700 within 4 bits: runs
 *              of hundreds of postings). A fixed list, each built once:
 *              building 16 tables costs ~100 ms under this build's
 *              instrumentation, which per input made 3 executions a second
 *   byte 1     the seed of the queries
 *   byte 2     the radius: with bit 7 clear (byte & 127) % 24, where these
 *              sizes' plans probe the tables; set byte % 65 (0..64: above
 *              16..37 the plan scans)
 *   byte 3     bits 0-1: mih_batch_probe's max_pairs (2^20, 100, 1, 9: one
 *              group, groups split in halves, early stops); bit 2:
 *              mih_scratch.advise; bits 3-5: queries - 4 (4..11)
 *   record     byte 0: bits 0-3 the table, bits 4-5 where, with o the
 *              24-bit little-endian number of bytes 1-3:
 *                0  its directory, byte o % MIH_DIR_BYTES;
 *                1  its directory near the bucket of query (o >> 16) % nq:
 *                   byte 8 key - 8 + o % 32 (the pairs of the value before,
 *                   its own and the two after);
 *                2  its area, byte o % (the area's bytes);
 *                3  its area at that query's bucket: o & 0x8000 clear, its
 *                   run (partners, then lows) at byte (o & 0x7fff) of it;
 *                   set, its first bit's byte of the bit vector - 8 + o % 64
 *                (positions past the end wrap);
 *              byte 4: the byte XORed in.
 * The tables, built for real (mih_plan_table, mih_fill_table), are damaged
 * in place and put back after the input (areas whose size changes are
 * copied). The directory's last zeros count sizes the area
 * (mih_area_bytes), as the loader reads it: an area is given exactly that
 * size (ASan sees any read past it), cut or grown with zeros; a count that
 * would grow an area by more than AREA_SLACK bytes (up to 512 MB: the
 * loader would take it) is left undamaged, to bound the input's memory.
 *
 * Queries (a third random, the rest entries with 0..r + 2 bits flipped)
 * are searched one at a time (mih_search, every query's hits appended to
 * one scratch) and as batches (mih_batch_probe, then mih_batch_verify; a
 * plan that scans goes to mih_search), with the portable kernels and with
 * each SIMD level the CPU has (phm_simd_resolve). Invariants:
 *   - every search returns PHM_OK and ends (libFuzzer's -timeout);
 *   - each query's hits ascend by slot, each slot once, slot < n, and the
 *     distance is the true one (a popcount here, not the kernels) and <= r:
 *     no false hit;
 *   - every kernel set gives the portable set's hits, one at a time and in
 *     batches; batches give what one at a time gives;
 *   - the built tables pass mih_check_table, and when no table is damaged,
 *     or mih_check_table accepts every damaged one, the hits are exactly a
 *     brute-force scan's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/index_util.h" /* the tests' seeded hashes: rng_hash, rng_near */
#include "hamming.h"
#include "mih.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

#define HEADER 4
#define RECORD 5
#define MAX_DAMAGE 64
#define MAX_N 70001
#define MAX_QUERIES 11
/* Most bytes an area may grow by when its zeros count is damaged. */
#define AREA_SLACK 65536

/* The distance, by the compiler's popcount: shares no code with the
 * kernels. Not instrumented (see brute_count). */
__attribute__((no_sanitize("coverage"))) static unsigned true_dist(const phm_pdq *a,
                                                                   const phm_pdq *b)
{
    unsigned d = 0;
    for (int w = 0; w < 4; w++)
        d += (unsigned)__builtin_popcountll(a->w[w] ^ b->w[w]);
    return d;
}

/* The hash sets: n; the first `big` hashes one family within 4 bits of its
 * first (its halves' runs of hundreds of postings: the search's long-run
 * paths), the others families of `family` within spread - 1 bits. One
 * such family, not all: a query near one has hundreds of hits to sort. */
typedef struct config {
    size_t n, big;
    unsigned family, spread;
} config;
static const config configs[8] = {
    { 2048, 0, 16, 13 },  { 2049, 0, 1, 1 },    { 3001, 512, 16, 13 }, { 4097, 0, 8, 3 },
    { 6000, 0, 16, 13 },  { 5003, 700, 1, 1 },  { 65537, 0, 16, 13 },  { 70001, 300, 8, 3 },
};

/* A config's hashes and tables, as built: the directories are put back
 * after each input, the areas too unless copied. */
typedef struct tables {
    phm_pdq *hashes;
    uint32_t (*dirs)[2 * (MIH_VALUES + 1)];
    uint32_t zeros[MIH_TABLES]; /* each directory's last zeros count */
    uint8_t *area[MIH_TABLES];
    size_t area_bytes[MIH_TABLES];
} tables;

static tables *build(unsigned c)
{
    static tables all[8];
    tables *tb = &all[c];
    if (tb->hashes)
        return tb;
    size_t n = configs[c].n;
    size_t big = configs[c].big;
    unsigned family = configs[c].family, spread = configs[c].spread;
    tb->hashes = malloc(n * sizeof *tb->hashes);
    tb->dirs = malloc(MIH_TABLES * sizeof *tb->dirs);
    void *scratch = malloc(mih_build_scratch_bytes(n));
    CHECK(tb->hashes && tb->dirs && scratch);
    rng g = { c };
    for (size_t i = 0; i < n; i++) {
        size_t head = i < big ? 0 : i - (i - big) % family;
        unsigned most = i < big ? 5 : spread;
        tb->hashes[i] = i == head ? rng_hash(&g)
                                  : rng_near(&g, &tb->hashes[head], (int)(rng_next(&g) % most));
    }
    mih_view v = { .hashes = tb->hashes, .n = n, .has_tables = 1 };
    static uint8_t seen[(MAX_N + 7) / 8];
    char why[256];
    for (unsigned i = 0; i < MIH_TABLES; i++) {
        mih_plan_table(tb->hashes, n, i, tb->dirs[i]);
        tb->zeros[i] = mih_zero(tb->dirs[i], MIH_VALUES);
        tb->area_bytes[i] = mih_area_bytes(n, tb->dirs[i]);
        tb->area[i] = malloc(tb->area_bytes[i]);
        CHECK(tb->area[i] != NULL);
        mih_fill_table(tb->hashes, n, i, tb->dirs[i], tb->area[i], scratch);
        v.offsets[i] = tb->dirs[i];
        v.postings[i] = tb->area[i];
        if (mih_check_table(&v, i, seen, why, sizeof why)) {
            fprintf(stderr, "fuzz_mih: a built table is refused: %s\n", why);
            CHECK(0);
        }
    }
    free(scratch);
    return tb;
}

typedef struct damage {
    unsigned table, where;
    uint32_t o;
    uint8_t x;
    size_t at; /* the byte damaged */
} damage;

/* The byte record d damages in its directory (len MIH_DIR_BYTES) or its
 * area (len its bytes), which may be placed by a query's bucket in `dir`. */
static size_t damage_at(const damage *d, const uint32_t *dir, size_t len, size_t n,
                        const phm_pdq *q, size_t nq)
{
    uint32_t key = mih_key(&q[(d->o >> 16) % nq], d->table);
    uint64_t at;
    switch (d->where) {
    case 1:
        at = 8 * (uint64_t)key + MIH_DIR_BYTES - 8 + d->o % 32;
        break;
    case 3: {
        uint64_t lo = mih_off(dir, key), b0 = lo + mih_zero(dir, key);
        at = (d->o & 0x8000) ? mih_bits_at(n) + b0 / 8 + len - 8 + d->o % 64
                             : 4 * lo + (d->o & 0x7fff);
        break;
    }
    default:
        at = d->o;
        break;
    }
    return (size_t)(at % len);
}

/* Whether the records leave table i changed: some byte's XORs do not
 * cancel. */
static int changed(const damage *d, size_t nd, unsigned i)
{
    for (size_t a = 0; a < nd; a++) {
        if (d[a].table != i || d[a].x == 0)
            continue;
        uint8_t x = 0;
        for (size_t b = 0; b < nd; b++)
            if (d[b].table == i && d[b].x && (d[b].where < 2) == (d[a].where < 2) &&
                d[b].at == d[a].at)
                x ^= d[b].x;
        if (x)
            return 1;
    }
    return 0;
}

/* Whether hits[0..nh) of query q are ascending, each slot once, in range,
 * with true distances within r. */
static void check_hits(const ham_hit *h, size_t nh, const phm_pdq *q, const phm_pdq *hashes,
                       size_t n, int r)
{
    for (size_t i = 0; i < nh; i++) {
        CHECK(h[i].slot < n);
        CHECK(i == 0 || h[i].slot > h[i - 1].slot);
        CHECK(h[i].dist == true_dist(q, &hashes[h[i].slot]) && h[i].dist <= (unsigned)r);
    }
}

/* The brute force: how many hashes are within r of q. Not instrumented for
 * coverage: this loop over every hash, its comparisons traced, was most of
 * an input's time (40 ms at 65,537 hashes). */
__attribute__((no_sanitize("coverage"))) static size_t brute_count(const phm_pdq *q,
                                                                   const phm_pdq *hashes,
                                                                   size_t n, int r)
{
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        m += true_dist(q, &hashes[k]) <= (unsigned)r;
    return m;
}

static int same_hits(const ham_hit *a, size_t na, const ham_hit *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static phm_pdq queries[MAX_QUERIES];
    static ham_hit ref[MAX_QUERIES * (size_t)MAX_N];
    static size_t ref_off[MAX_QUERIES + 1];
    static uint8_t seen[(MAX_N + 7) / 8];
    static mih_scratch one, alone;
    static mih_batch batch;
    static const size_t max_pairs[4] = { (size_t)1 << 20, 100, 1, 9 };
    if (size < HEADER)
        return 0;
    unsigned c = data[0] % 8u, seed = data[1], flags = data[3];
    size_t n = configs[c].n;
    int r = data[2] & 0x80 ? data[2] % 65 : (data[2] & 0x7f) % 24;
    size_t nq = 4 + (flags >> 3 & 7);
    tables *tb = build(c);

    /* queries: a third random, the others entries with 0..r + 2 bits
     * flipped (within the radius and just past it) */
    rng g = { (uint64_t)seed << 40 | (uint64_t)flags << 32 | (uint64_t)r << 24 | c };
    for (size_t j = 0; j < nq; j++) {
        const phm_pdq *e = &tb->hashes[rng_next(&g) % n];
        queries[j] = j % 3 == 0 ? rng_hash(&g)
                                : rng_near(&g, e, (int)(rng_next(&g) % (unsigned)(r + 3)));
    }

    /* the damage: directories first (they size the areas), then areas */
    damage dmg[MAX_DAMAGE];
    size_t nd = (size - HEADER) / RECORD;
    nd = nd > MAX_DAMAGE ? MAX_DAMAGE : nd;
    for (size_t i = 0; i < nd; i++) {
        const uint8_t *p = data + HEADER + RECORD * i;
        dmg[i] = (damage){ .table = p[0] & 15u, .where = p[0] >> 4 & 3u,
                           .o = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16,
                           .x = p[4] };
        damage *d = &dmg[i];
        if (d->where >= 2 || d->x == 0)
            continue;
        d->at = damage_at(d, tb->dirs[d->table], MIH_DIR_BYTES, n, queries, nq);
        ((uint8_t *)tb->dirs[d->table])[d->at] ^= d->x;
    }
    mih_view view = { .hashes = tb->hashes, .n = n, .has_tables = 1 };
    uint8_t *copy[MIH_TABLES] = { 0 };
    for (unsigned i = 0; i < MIH_TABLES; i++) {
        uint32_t *dir = tb->dirs[i];
        size_t bytes = mih_area_bytes(n, dir);
        if (bytes > tb->area_bytes[i] + AREA_SLACK) {
            dir[2 * MIH_VALUES + 1] = tb->zeros[i];
            bytes = mih_area_bytes(n, dir);
        }
        view.offsets[i] = dir;
        view.postings[i] = tb->area[i];
        if (bytes != tb->area_bytes[i]) {
            copy[i] = calloc(1, bytes);
            CHECK(copy[i] != NULL);
            memcpy(copy[i], tb->area[i], bytes < tb->area_bytes[i] ? bytes : tb->area_bytes[i]);
            view.postings[i] = copy[i];
        }
    }
    for (size_t i = 0; i < nd; i++) {
        damage *d = &dmg[i];
        if (d->where < 2 || d->x == 0)
            continue;
        uint8_t *area = (uint8_t *)(uintptr_t)view.postings[d->table];
        d->at = damage_at(d, tb->dirs[d->table], mih_area_bytes(n, tb->dirs[d->table]), n,
                          queries, nq);
        area[d->at] ^= d->x;
    }
    /* Sound: no table changed (records may cancel), or mih_check_table
     * (verify's check, which must itself stay in bounds) accepts every
     * changed one; it stops at the first refusal, to bound the cost. */
    int sound = 1;
    char why[256];
    for (unsigned i = 0; i < MIH_TABLES && sound; i++)
        if (changed(dmg, nd, i))
            sound = mih_check_table(&view, i, seen, why, sizeof why) == 0;

    static const phm_simd levels[] = { PHM_SIMD_PORTABLE, PHM_SIMD_AVX2, PHM_SIMD_AVX512 };
    int use_tables;
    mih_estimate(&view, r, &use_tables);
    one.advise = alone.advise = (flags & 4) != 0;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        if (phm_simd_resolve(levels[l]) != levels[l])
            continue;
        const ham_kernels *k = ham_kernels_for(levels[l]);
        /* one at a time, appended to one scratch */
        one.nhits = 0;
        size_t off[MAX_QUERIES + 1];
        for (size_t j = 0; j < nq; j++) {
            off[j] = one.nhits;
            CHECK(mih_search(&view, k, &queries[j], r, 0, &one) == PHM_OK);
        }
        off[nq] = one.nhits;
        if (l == 0) { /* the portable kernels: the reference */
            for (size_t j = 0; j < nq; j++)
                check_hits(one.hits + off[j], off[j + 1] - off[j], &queries[j], tb->hashes, n,
                           r);
            memcpy(ref, one.hits, one.nhits * sizeof *ref);
            memcpy(ref_off, off, (nq + 1) * sizeof *off);
        } else {
            for (size_t j = 0; j < nq; j++)
                CHECK(same_hits(one.hits + off[j], off[j + 1] - off[j], ref + ref_off[j],
                                ref_off[j + 1] - ref_off[j]));
        }
        /* in batches */
        for (size_t q0 = 0; q0 < nq;) {
            size_t done;
            CHECK(mih_batch_probe(&batch, &view, k, queries + q0, nq - q0, r,
                                  max_pairs[flags & 3], &done) == PHM_OK);
            CHECK(done <= nq - q0);
            if (done == 0) { /* a plan that scans: mih_search's */
                CHECK(!use_tables && batch.npairs == 0);
                for (; q0 < nq; q0++) {
                    alone.nhits = 0;
                    CHECK(mih_search(&view, k, &queries[q0], r, 0, &alone) == PHM_OK);
                    CHECK(same_hits(alone.hits, alone.nhits, ref + ref_off[q0],
                                    ref_off[q0 + 1] - ref_off[q0]));
                }
                break;
            }
            CHECK(mih_batch_verify(&batch, &view, k, queries + q0, done, r) == PHM_OK);
            for (size_t j = 0; j < done; j++)
                CHECK(same_hits(batch.hits + batch.qoff[j], batch.qoff[j + 1] - batch.qoff[j],
                                ref + ref_off[q0 + j], ref_off[q0 + j + 1] - ref_off[q0 + j]));
            q0 += done;
        }
    }
    /* sound tables: exactly the brute force's hits (those found are true
     * ones, each once: as many) */
    if (sound)
        for (size_t j = 0; j < nq; j++)
            CHECK(ref_off[j + 1] - ref_off[j] == brute_count(&queries[j], tb->hashes, n, r));

    /* put the tables back (XOR undoes itself; the zeros count may have
     * been restored above, so it is set from the build) */
    for (size_t i = nd; i-- > 0;) {
        damage *d = &dmg[i];
        if (d->x == 0)
            continue;
        if (d->where < 2)
            ((uint8_t *)tb->dirs[d->table])[d->at] ^= d->x;
        else if (!copy[d->table])
            tb->area[d->table][d->at] ^= d->x;
    }
    for (unsigned i = 0; i < MIH_TABLES; i++) {
        tb->dirs[i][2 * MIH_VALUES + 1] = tb->zeros[i];
        free(copy[i]);
    }
    return 0;
}
