/* mih.c - multi-index hashing: table building and checking, the query
 * planner and the exact radius search described in mih.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "grow.h"
#include "mih.h"

/* Cost model, in nanoseconds, measured with bench/search_micro.c on an
 * x86-64 server with the arrays in RAM. A probe reads an offsets entry and
 * starts a run of postings (about one cache miss); a posting is read
 * sequentially and filtered; a candidate that passes the chunk filter
 * reads its slot and hash at random (misses, overlapped by prefetching); a
 * scan reads hashes sequentially. Only the ratios matter. */
#define COST_PROBE 50.0
#define COST_POSTING 0.6
#define COST_CANDIDATE 40.0
#define COST_SCAN 0.8

/* Probes buffered before their offsets are read, so the misses overlap. */
#define PROBE_BATCH 512
#define SCAN_BLOCK 4096
/* Most of a run's partners prefetched ahead of its filter (1 KB: 512
 * postings, three times the mean run at 10 M). */
#define PREFETCH_RUN_BYTES 1024
/* The rest of a run, up to PREFETCH_RUN_MAX bytes, prefetched RUN_AHEAD
 * runs ahead of its filter (at 100 M a run is ~3 KB). */
#define PREFETCH_RUN_MAX 8192
#define RUN_AHEAD 4
/* Runs of at least this many postings have their bit vector prefetched
 * with the run (they likely have a candidate). */
#define EARLY_BITS_RUN 256

/* A posting on its way to its bucket: the fill is a two-pass radix sort,
 * by the high byte of the value and then the low byte, so that the
 * scattered writes of each pass stay within the caches. */
typedef struct build_rec {
    uint32_t slot;
    uint16_t partner;
    uint16_t low; /* low byte of the value */
} build_rec;

size_t mih_build_scratch_bytes(size_t n)
{
    return n * sizeof(build_rec) + 257 * sizeof(uint32_t);
}

void mih_plan_table(const phm_pdq *hashes, size_t n, unsigned i, uint32_t *dir)
{
    memset(dir, 0, MIH_DIR_BYTES);
    /* counts, and each bucket's last (largest) high part */
    for (size_t s = 0; s < n; s++) {
        uint32_t v = mih_key(&hashes[s], i);
        dir[2 * v]++;
        dir[2 * v + 1] = (uint32_t)(s >> 16);
    }
    mih_plan_sums(dir, n);
}

void mih_plan_sums(uint32_t *dir, size_t n)
{
    uint32_t sum = 0, zsum = 0;
    for (size_t v = 0; v < MIH_VALUES; v++) {
        uint32_t c = dir[2 * v], z = dir[2 * v + 1];
        dir[2 * v] = sum;
        dir[2 * v + 1] = zsum;
        sum += c;
        zsum += z;
    }
    dir[2 * MIH_VALUES] = (uint32_t)n;
    dir[2 * MIH_VALUES + 1] = zsum;
}

void mih_fill_scatter(const phm_pdq *hashes, size_t n, unsigned i, const uint32_t *dir,
                      void *scratch, unsigned half, unsigned halves)
{
    build_rec *tmp = scratch;
    uint32_t cur[256];
    /* Pass 1: group by high byte, keeping slot order (256 write streams).
     * Of two halves, the second fills each group from its end, backwards:
     * the halves meet where the first one's postings end. */
    if (halves == 2 && half == 1) {
        for (unsigned h = 0; h < 256; h++)
            cur[h] = mih_off(dir, (h + 1) << 8);
        for (size_t s = n; s-- > n / 2;) {
            uint32_t v = mih_key(&hashes[s], i);
            build_rec *r = &tmp[--cur[v >> 8]];
            r->slot = (uint32_t)s;
            r->partner = (uint16_t)mih_key(&hashes[s], i ^ 1);
            r->low = (uint16_t)(v & 0xff);
        }
        return;
    }
    size_t end = halves == 2 ? n / 2 : n;
    for (unsigned h = 0; h < 256; h++)
        cur[h] = mih_off(dir, h << 8);
    for (size_t s = 0; s < end; s++) {
        uint32_t v = mih_key(&hashes[s], i);
        build_rec *r = &tmp[cur[v >> 8]++];
        r->slot = (uint32_t)s;
        r->partner = (uint16_t)mih_key(&hashes[s], i ^ 1);
        r->low = (uint16_t)(v & 0xff);
    }
}

void mih_fill_clear(size_t n, const uint32_t *dir, uint8_t *area)
{
    memset(area + 4 * n, 0, mih_area_bytes(n, dir) - 4 * n);
}

/* First high byte of part p of `parts`: parts hold about n / parts
 * postings each. */
static unsigned part_start(size_t n, const uint32_t *dir, unsigned p, unsigned parts)
{
    if (p >= parts)
        return 256;
    uint64_t want = (uint64_t)n * p / parts;
    unsigned h = 0;
    while (h < 256 && mih_off(dir, h << 8) < want)
        h++;
    return h;
}

size_t mih_fill_edge_word(size_t n, const uint32_t *dir, unsigned part, unsigned parts)
{
    size_t v = (size_t)part_start(n, dir, part, parts) << 8;
    return (size_t)(((uint64_t)mih_off(dir, v) + mih_zero(dir, v)) >> 6);
}

uint64_t mih_fill_place(size_t n, const uint32_t *dir, uint8_t *area, const void *scratch,
                        unsigned part, unsigned parts)
{
    uint16_t *post = (uint16_t *)(void *)area; /* bucket [lo, hi): 2lo .. 2hi */
    uint64_t *bits = (uint64_t *)(void *)(area + mih_bits_at(n));
    const build_rec *tmp = scratch;
    unsigned h0 = part_start(n, dir, part, parts), h1 = part_start(n, dir, part + 1, parts);
    uint64_t edge = 0;
    size_t edge_w = mih_fill_edge_word(n, dir, part, parts);
    /* Pass 2: within each high byte, place by low byte. The buckets of one
     * high byte are contiguous, about 4.25n/256 bytes: cache-resident. */
    for (unsigned h = h0; h < h1; h++) {
        uint32_t cur[256], high[256], lo[256], hi[256];
        uint64_t bit[256];
        uint32_t base = h << 8;
        for (unsigned l = 0; l < 256; l++) {
            cur[l] = 0;
            lo[l] = mih_off(dir, base + l);
            hi[l] = mih_off(dir, base + l + 1);
            high[l] = 0;
            bit[l] = (uint64_t)mih_off(dir, base + l) + mih_zero(dir, base + l);
        }
        for (uint32_t k = mih_off(dir, base); k < mih_off(dir, base + 256); k++) {
            const build_rec *r = &tmp[k];
            uint32_t j = cur[r->low]++, top = r->slot >> 16;
            post[2 * (size_t)lo[r->low] + j] = r->partner;
            post[(size_t)lo[r->low] + hi[r->low] + j] = (uint16_t)r->slot;
            uint64_t b = bit[r->low] + (top - high[r->low]);
            uint64_t one = (uint64_t)1 << (b & 63);
            if ((size_t)(b >> 6) == edge_w)
                edge |= one;
            else
                bits[b >> 6] |= one;
            bit[r->low] = b + 1;
            high[r->low] = top;
        }
    }
    return edge;
}

void mih_fill_table(const phm_pdq *hashes, size_t n, unsigned i, const uint32_t *dir,
                    uint8_t *area, void *scratch)
{
    /* padding between lows and bits, and the bits, start at 0 */
    mih_fill_clear(n, dir, area);
    mih_fill_scatter(hashes, n, i, dir, scratch, 0, 1);
    uint64_t edge = mih_fill_place(n, dir, area, scratch, 0, 1);
    uint64_t *bits = (uint64_t *)(void *)(area + mih_bits_at(n));
    if (edge)
        bits[mih_fill_edge_word(n, dir, 0, 1)] |= edge;
}

/* Reads a bit vector one bit at a time (verify only). */
typedef struct bit_reader {
    const uint64_t *w;
    uint64_t pos, end;
} bit_reader;

static int next_bit(bit_reader *b)
{
    uint64_t p = b->pos++;
    return (int)(b->w[p >> 6] >> (p & 63) & 1);
}

int mih_check_table(const mih_view *v, unsigned i, uint8_t *seen, char *why,
                    size_t whylen)
{
    const uint32_t *dir = v->offsets[i];
    size_t n = v->n;
    memset(seen, 0, (n + 7) / 8);
    if (mih_off(dir, 0) != 0 || mih_off(dir, MIH_VALUES) != n || mih_zero(dir, 0) != 0) {
        snprintf(why, whylen, "table %u: offsets span %u..%u, not 0..%zu, or zeros start at %u",
                 i, mih_off(dir, 0), mih_off(dir, MIH_VALUES), n, mih_zero(dir, 0));
        return -1;
    }
    const uint16_t *post = (const uint16_t *)(const void *)v->postings[i];
    size_t nwords = mih_bit_words(n, dir);
    bit_reader br = { (const uint64_t *)(const void *)(v->postings[i] + mih_bits_at(n)), 0,
                      (uint64_t)nwords * 64 };
    uint32_t maxhigh = n ? (uint32_t)((n - 1) >> 16) : 0;
    for (size_t val = 0; val < MIH_VALUES; val++) {
        uint32_t lo = mih_off(dir, val), hi = mih_off(dir, val + 1);
        if (hi < lo || hi > n) {
            snprintf(why, whylen, "table %u: offsets decrease at value %zu", i, val);
            return -1;
        }
        if (mih_zero(dir, val + 1) < mih_zero(dir, val) || mih_zero(dir, val + 1) - mih_zero(dir, val) > maxhigh ||
            (hi == lo && mih_zero(dir, val + 1) != mih_zero(dir, val)) ||
            (uint64_t)hi + mih_zero(dir, val + 1) > (uint64_t)n + mih_zero(dir, MIH_VALUES)) {
            snprintf(why, whylen, "table %u: zeros of value %zu are %u..%u", i, val,
                     mih_zero(dir, val), mih_zero(dir, val + 1));
            return -1;
        }
        if (br.pos != (uint64_t)lo + mih_zero(dir, val)) {
            snprintf(why, whylen, "table %u: high parts of value %zu start at bit %llu, "
                     "not %llu", i, val, (unsigned long long)br.pos,
                     (unsigned long long)lo + mih_zero(dir, val));
            return -1;
        }
        uint64_t end = (uint64_t)hi + mih_zero(dir, val + 1);
        uint32_t prev = 0, high = 0;
        for (uint32_t j = lo; j < hi; j++) {
            int one = 0;
            while (br.pos < end && !(one = next_bit(&br)))
                high++;
            /* the last posting's one ends the bucket, no other's does */
            if (!one || (br.pos == end) != (j + 1 == hi)) {
                snprintf(why, whylen,
                         "table %u: high parts of value %zu: %u postings, bits "
                         "malformed at posting %u", i, val, hi - lo, j - lo);
                return -1;
            }
            uint16_t low = post[hi + j], partner = post[lo + j];
            uint32_t s = high << 16 | low;
            if (high > maxhigh || s >= n || (seen[s >> 3] & (1u << (s & 7))) ||
                (j > lo && s <= prev)) {
                snprintf(why, whylen,
                         "table %u: slot %u (high %u, low %u) out of range, out of "
                         "order or listed twice", i, s, high, low);
                return -1;
            }
            prev = s;
            seen[s >> 3] = (uint8_t)(seen[s >> 3] | (1u << (s & 7)));
            if (mih_key(&v->hashes[s], i) != val || partner != mih_key(&v->hashes[s], i ^ 1)) {
                snprintf(why, whylen, "table %u: slot %u filed under the wrong value "
                         "or partner", i, s);
                return -1;
            }
        }
        if (br.pos != end) {
            snprintf(why, whylen, "table %u: value %zu has %llu stray bits after its postings",
                     i, val, (unsigned long long)(end - br.pos));
            return -1;
        }
    }
    /* the padding: between lows and bits, and after the last bit */
    for (size_t b = 4 * n; b < mih_bits_at(n); b++)
        if (v->postings[i][b]) {
            snprintf(why, whylen, "table %u: padding byte %zu is not 0", i, b);
            return -1;
        }
    while (br.pos < br.end)
        if (next_bit(&br)) {
            snprintf(why, whylen, "table %u: stray bit %llu past the last value", i,
                     (unsigned long long)(br.pos - 1));
            return -1;
        }
    return 0;
}

void mih_scratch_free(mih_scratch *s)
{
    if (!s)
        return;
    free(s->cand);
    free(s->hits);
    memset(s, 0, sizeof *s);
}

int mih_hits_reserve(mih_scratch *s, size_t more)
{
    /* A fresh scratch gets its array even for no hits: the search then
     * computes s->hits + nhits, which on a null pointer is undefined even
     * for 0 (clang's UBSan stopped fuzz_mih there on its first input). */
    if (s->hits && s->hits_cap - s->nhits >= more)
        return PHM_OK;
    size_t cap = s->hits_cap ? s->hits_cap : 1024;
    while (cap - s->nhits < more) {
        if (cap > SIZE_MAX / 4 / sizeof *s->hits)
            return PHM_ERR_NOMEM;
        cap *= 2;
    }
    ham_hit *p = realloc(s->hits, cap * sizeof *p);
    if (!p)
        return PHM_ERR_NOMEM;
    s->hits = p;
    s->hits_cap = cap;
    return PHM_OK;
}

/* Makes room for `need` candidates; allocates the array even for none,
 * as mih_hits_reserve (flush_probes computes s->cand + ncand). */
static int cand_reserve(mih_scratch *s, size_t need)
{
    if (s->cand && need <= s->cand_cap)
        return PHM_OK;
    size_t cap = s->cand_cap ? s->cand_cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 4 / sizeof *s->cand)
            return PHM_ERR_NOMEM;
        cap *= 2;
    }
    uint32_t *c = realloc(s->cand, cap * sizeof *c);
    if (!c)
        return PHM_ERR_NOMEM;
    s->cand = c;
    s->cand_cap = cap;
    return PHM_OK;
}

/* ---- planning ---------------------------------------------------- */

/* binom16[d] = C(16, d); below16[x] = number of 16-bit values of weight
 * <= x, i.e. 65536 * P(a random half is within x). */
static const double binom16[17] = { 1, 16, 120, 560, 1820, 4368, 8008, 11440,
                                    12870, 11440, 8008, 4368, 1820, 560, 120,
                                    16, 1 };
static const double below16[17] = { 1, 17, 137, 697, 2517, 6885, 14893,
                                    26333, 39203, 50643, 58651, 63019,
                                    64839, 65399, 65519, 65535, 65536 };

/* Half-thresholds for a chunk threshold T >= 0: t0 + t1 = T - 1, balanced
 * (probes grow fastest with a lopsided split). */
static void split(int T, int *t0, int *t1)
{
    if (T >= 32) { /* the filter passes everything: probe every value once */
        *t0 = 16;
        *t1 = -1;
        return;
    }
    *t0 = T / 2;
    *t1 = T - 1 - *t0;
}

/* Weights of a probe, a posting read and a candidate in half_cost: the
 * cost model's, or the candidates alone (their expected number). */
typedef struct cost_weights {
    double probe, posting, candidate;
} cost_weights;
static const cost_weights COST = { COST_PROBE, COST_POSTING, COST_CANDIDATE },
                          CANDIDATES = { 0, 0, 1 };

/* Expected cost of probing one half at threshold t under chunk filter T,
 * for n uniform hashes, with weights w. A posting in a probe at distance
 * d passes the filter when the other half is within T - d. */
static double half_cost(size_t n, int t, int T, const cost_weights *w)
{
    double per_probe = (double)n / MIH_VALUES, cost = 0;
    for (int d = 0; d <= t; d++) {
        int left = T - d;
        double pass = left < 0 ? 0 : left > 16 ? 1 : below16[left] / MIH_VALUES;
        cost += binom16[d] * (w->probe + per_probe * (w->posting + pass * w->candidate));
    }
    return cost;
}

static double chunk_cost(size_t n, int T, const cost_weights *w)
{
    if (T < 0)
        return 0;
    int t0, t1;
    split(T, &t0, &t1);
    return half_cost(n, t0, T, w) + (t1 >= 0 ? half_cost(n, t1, T, w) : 0);
}

/* Chunk thresholds T[0..7] with sum(T_c + 1) = r + 1, raised greedily
 * where the marginal cost is least. Returns the total cost, or 1e300 once
 * it passes `limit`. */
static double plan(size_t n, int r, double limit, int T[MIH_CHUNKS])
{
    for (unsigned c = 0; c < MIH_CHUNKS; c++)
        T[c] = -1;
    /* Chunks are alike, so the greedy choice is round-robin: every chunk
     * at floor or ceil of (r + 1) / 8 - 1. */
    int total = r + 1, base = total / MIH_CHUNKS, extra = total % MIH_CHUNKS;
    double cost = 0;
    for (unsigned c = 0; c < MIH_CHUNKS; c++) {
        T[c] = base - 1 + ((int)c < extra ? 1 : 0);
        cost += chunk_cost(n, T[c], &COST);
        if (cost > limit)
            return 1e300;
    }
    return cost;
}

double mih_estimate(const mih_view *v, int r, int *use_tables)
{
    int T[MIH_CHUNKS];
    double scan = COST_SCAN * (double)v->n;
    double probe = v->has_tables ? plan(v->n, r, scan, T) : 1e300;
    *use_tables = probe < scan;
    return probe < scan ? probe : scan;
}

/* ---- search ------------------------------------------------------ */

static int cmp_hit_slot(const void *a, const void *b)
{
    uint32_t x = ((const ham_hit *)a)->slot, y = ((const ham_hit *)b)->slot;
    return (x > y) - (x < y);
}

/* Hits of a query are sorted by insertion while that moves few of them:
 * up to 2.5 % of `phmatch lookup` at 1 M went to qsort's calls of
 * cmp_hit_slot on a handful of hits, and a batch's hits come nearly in
 * slot order (mih_batch_verify reads them by region of slots), where a
 * family of near-duplicates gave a query a hundred or more and qsort was
 * 3.9 %. Past HITS_MOVES(n) moves (unsorted hits, many of them) the rest
 * is left to qsort, so the sort stays O(n log n). */
#define HITS_MOVES(n) (8 * (n) + 1024)

/* Sorts hits[0..n) by slot and keeps each slot once (a hash close on
 * several halves was found once per half); returns how many are left. */
static size_t hits_unique(ham_hit *h, size_t n)
{
    if (n < 2)
        return n;
    size_t moves = 0, budget = HITS_MOVES(n), i = 1;
    for (; i < n && moves <= budget; i++) {
        ham_hit x = h[i];
        size_t j = i;
        for (; j > 0 && h[j - 1].slot > x.slot; j--)
            h[j] = h[j - 1];
        h[j] = x;
        moves += i - j;
    }
    if (i < n)
        qsort(h, n, sizeof *h, cmp_hit_slot);
    size_t u = 1;
    for (size_t k = 1; k < n; k++)
        if (h[k].slot != h[u - 1].slot)
            h[u++] = h[k];
    return u;
}

static int scan_all(const mih_view *v, const ham_kernels *k, const phm_pdq *q,
                    int r, mih_scratch *s)
{
    for (size_t i = 0; i < v->n; i += SCAN_BLOCK) {
        size_t len = v->n - i < SCAN_BLOCK ? v->n - i : SCAN_BLOCK;
        if (mih_hits_reserve(s, len))
            return PHM_ERR_NOMEM;
        s->nhits += k->scan(q, v->hashes + i, len, (uint32_t)i, r, s->hits + s->nhits);
    }
    s->candidates += v->n;
    return PHM_OK;
}

typedef struct probe {
    uint32_t lo, hi;  /* its run of postings */
    uint32_t c0, c1;  /* its candidates in the scratch list */
    uint32_t key;
    uint16_t table;
    uint16_t t;       /* partner threshold: T - distance of the probe */
} probe;

/* Pages asked for (mih_scratch.advise): the last range, to skip repeats. */
typedef struct advice {
    uintptr_t page, lo, hi;
} advice;

/* Asks the kernel to start reading the pages of [p, p + len) (at least
 * one byte), unless the last request covered them. */
static void advise(advice *a, const void *p, size_t len)
{
    uintptr_t lo = (uintptr_t)p & ~(a->page - 1),
              hi = ((uintptr_t)p + len + a->page - 1) & ~(a->page - 1);
    if (lo >= a->lo && hi <= a->hi)
        return;
    (void)madvise((void *)lo, hi - lo, MADV_WILLNEED); /* a hint: errors do not matter */
    a->lo = lo;
    a->hi = hi;
}

typedef struct probe_state {
    const mih_view *v;
    const ham_kernels *k;
    const phm_pdq *q;
    mih_scratch *s;
    size_t ncand;
    probe buf[PROBE_BATCH];
    size_t nbuf;
    advice adv; /* adv.page 0: no advice */
} probe_state;

/* Replaces the candidates c0..c1 of probe p (posting numbers within its
 * bucket, ascending) by their slots (k->decode). Returns the new end of
 * the candidates. */
static uint32_t decode_slots(const mih_view *v, const ham_kernels *k, const probe *p,
                             uint32_t *cand)
{
    const uint32_t *dir = v->offsets[p->table];
    const uint8_t *area = v->postings[p->table];
    const uint16_t *lows = (const uint16_t *)(const void *)area + p->lo + p->hi;
    const uint64_t *bits = (const uint64_t *)(const void *)(area + mih_bits_at(v->n));
    return k->decode(bits, mih_bit_words(v->n, dir), (uint64_t)p->lo + mih_zero(dir, p->key),
                     lows, cand, p->c0, p->c1, v->n);
}

/* Asks for the first PREFETCH_RUN_BYTES of the partners of the run
 * [lo, hi) (lo <= hi) of a table's area. */
static inline void prefetch_run_head(const uint8_t *area, uint32_t lo, uint32_t hi)
{
    const uint8_t *run = area + 4 * (size_t)lo;
    size_t bytes = 2 * (size_t)(hi - lo);
    if (bytes > PREFETCH_RUN_BYTES)
        bytes = PREFETCH_RUN_BYTES;
    for (size_t b = 0; b < bytes; b += 64)
        __builtin_prefetch(run + b, 0, 3);
}

/* Reads the buffered probes in passes, so that the cache misses of each
 * pass are in flight together: the offsets, then the runs of partners,
 * filtered, then the low and high parts of the passing postings. */
static int flush_probes(probe_state *ps)
{
    mih_scratch *s = ps->s;
    const mih_view *v = ps->v;
    int adv = ps->adv.page != 0;
    for (size_t j = 0; j < ps->nbuf; j++) {
        const uint32_t *at = &v->offsets[ps->buf[j].table][2 * ps->buf[j].key];
        if (adv)
            advise(&ps->adv, at, 4 * sizeof *at);
        __builtin_prefetch(at, 0, 3);
    }
    if (adv) { /* each bucket, its partners and lows, and its first bits */
        for (size_t j = 0; j < ps->nbuf; j++) {
            probe *p = &ps->buf[j];
            const uint32_t *dir = v->offsets[p->table];
            uint32_t lo = mih_off(dir, p->key), hi = mih_off(dir, p->key + 1);
            if (hi <= lo || hi > v->n)
                continue;
            advise(&ps->adv, v->postings[p->table] + 4 * (size_t)lo, 4 * (size_t)(hi - lo));
            uint64_t b0 = (uint64_t)lo + mih_zero(dir, p->key);
            if ((b0 >> 6) < mih_bit_words(v->n, dir))
                advise(&ps->adv, v->postings[p->table] + mih_bits_at(v->n) + (b0 >> 6) * 8, 8);
        }
    }
    size_t total = 0;
    for (size_t j = 0; j < ps->nbuf; j++) {
        probe *p = &ps->buf[j];
        const uint32_t *dir = v->offsets[p->table];
        p->lo = mih_off(dir, p->key);
        p->hi = mih_off(dir, p->key + 1);
        if (p->hi < p->lo || p->hi > v->n) /* damaged: verify reports it */
            p->hi = p->lo = 0;
        /* The whole run of partners: runs average n / 65536 postings (5
         * lines at 10 M), and a demand miss per line would stall the
         * filter. Capped so a huge run cannot flood the fill buffers. */
        prefetch_run_head(v->postings[p->table], p->lo, p->hi);
        /* A long run's bit vector, every line of it (decode_slots walks
         * its words up to the last candidate: about 6 lines at 100 M).
         * Asked for here, in a loop of prefetches alone, so that the page
         * walks of the runs and of the vectors overlap; asked for between
         * two filters, each walk stalled the search alone. A short run
         * (at 1 M: 15 postings) rarely has a candidate: its first word is
         * asked for after its filter, if it has one. */
        if (p->hi - p->lo >= EARLY_BITS_RUN) {
            uint64_t b0 = (uint64_t)p->lo + mih_zero(dir, p->key),
                     b1 = (uint64_t)p->hi + mih_zero(dir, p->key + 1);
            const uint8_t *bits = v->postings[p->table] + mih_bits_at(v->n);
            size_t w0 = (size_t)(b0 >> 6), w1 = (size_t)((b1 - 1) >> 6), nw = mih_bit_words(v->n, dir);
            if (w1 >= nw)
                w1 = nw - 1;
            if (w1 - w0 > PREFETCH_RUN_BYTES / 8)
                w1 = w0 + PREFETCH_RUN_BYTES / 8;
            for (size_t w = w0 & ~(size_t)7; w <= w1 && w0 < nw; w += 8)
                __builtin_prefetch(bits + 8 * w, 0, 3);
        }
        total += p->hi - p->lo;
    }
    s->probes += ps->nbuf;
    s->postings += total;
    if (cand_reserve(s, ps->ncand + total))
        return PHM_ERR_NOMEM;
    for (size_t j = 0; j < ps->nbuf; j++) {
        probe *p = &ps->buf[j];
        uint32_t qp = mih_key(ps->q, (unsigned)p->table ^ 1);
        /* The rest of a long run (past its first PREFETCH_RUN_BYTES, at
         * 100 M most of it), RUN_AHEAD runs ahead of its filter: their
         * pages' walks were done by the first bytes' prefetches. */
        if (j + RUN_AHEAD < ps->nbuf) {
            const probe *a = &ps->buf[j + RUN_AHEAD];
            size_t bytes = 2 * (size_t)(a->hi - a->lo);
            if (bytes > PREFETCH_RUN_BYTES) {
                const uint8_t *run = v->postings[a->table] + 4 * (size_t)a->lo;
                if (bytes > PREFETCH_RUN_MAX)
                    bytes = PREFETCH_RUN_MAX;
                for (size_t b = PREFETCH_RUN_BYTES; b < bytes; b += 64)
                    __builtin_prefetch(run + b, 0, 3);
            }
        }
        const uint16_t *part = (const uint16_t *)(const void *)v->postings[p->table] + 2 * (size_t)p->lo;
        p->c0 = (uint32_t)ps->ncand;
        ps->ncand += ps->k->filter(part, p->hi - p->lo, (uint16_t)qp, p->t, 0,
                                   s->cand + ps->ncand);
        p->c1 = (uint32_t)ps->ncand;
        if (p->c1 == p->c0)
            continue;
        /* The low parts and the first word of high parts, read once every
         * run is filtered. */
        const uint16_t *lows = part + (p->hi - p->lo);
        for (uint32_t c = p->c0; c < p->c1; c++)
            __builtin_prefetch(&lows[s->cand[c]], 0, 3);
        if (p->hi - p->lo < EARLY_BITS_RUN) {
            uint64_t b0 = (uint64_t)p->lo + mih_zero(v->offsets[p->table], p->key);
            __builtin_prefetch(v->postings[p->table] + mih_bits_at(v->n) + (b0 >> 6) * 8, 0, 3);
        }
    }
    /* Then the candidates' hashes, random in the array, for verify. The
     * decoded list may be shorter only if the vector is damaged. */
    size_t out = ps->nbuf ? ps->buf[0].c0 : ps->ncand;
    for (size_t j = 0; j < ps->nbuf; j++) {
        probe *p = &ps->buf[j];
        if (p->c1 == p->c0)
            continue;
        uint32_t end = decode_slots(v, ps->k, p, s->cand);
        for (uint32_t c = p->c0; c < end; c++) {
            s->cand[out++] = s->cand[c];
            if (adv)
                advise(&ps->adv, &v->hashes[s->cand[c]], sizeof(phm_pdq));
        }
    }
    /* In a loop of prefetches alone, after every decode: their page walks
     * (a TLB miss nearly each, at 100 M) overlap. Issued one by one among
     * the decodes, each walk stalled the search (measured at 100 M on one
     * thread: 4,200 -> 5,300 queries per CPU second). */
    size_t from = ps->nbuf ? ps->buf[0].c0 : out;
    for (size_t c = from; c < out; c++)
        __builtin_prefetch(&v->hashes[s->cand[c]], 0, 3);
    ps->ncand = out;
    ps->nbuf = 0;
    return PHM_OK;
}

/* The next larger number with as many ones as mask (> 0): Gosper's
 * next combination; a 16-bit mask's last is followed by one >= 2^16. */
static inline uint32_t next_combination(uint32_t mask)
{
    uint32_t c = mask & (~mask + 1), nx = mask + c;
    return (((nx ^ mask) >> 2) / c) | nx;
}

/* Every value within distance t of the query's half: for each d = 0..t,
 * every 16-bit mask of d bits. */
static int probe_half(probe_state *ps, unsigned table, int T, int t)
{
    int rc;
    uint32_t value = mih_key(ps->q, table);
    for (int d = 0; d <= t; d++) {
        int pt = T - d > 16 ? 16 : T - d;
        uint32_t mask = (1u << d) - 1;
        do {
            probe *p = &ps->buf[ps->nbuf++];
            p->key = value ^ mask;
            p->table = (uint16_t)table;
            p->t = (uint16_t)pt;
            if (ps->nbuf == PROBE_BATCH && (rc = flush_probes(ps)))
                return rc;
            if (d == 0)
                break;
            mask = next_combination(mask);
        } while (mask < MIH_VALUES);
    }
    return PHM_OK;
}

int mih_search(const mih_view *v, const ham_kernels *k, const phm_pdq *q,
               int r, int force_scan, mih_scratch *s)
{
    size_t first = s->nhits;
    s->probes = s->postings = s->candidates = 0;
    if (v->n == 0 || r < 0)
        return PHM_OK;
    if (r > PHM_PDQ_BITS)
        r = PHM_PDQ_BITS;
    int T[MIH_CHUNKS];
    double scan = COST_SCAN * (double)v->n;
    if (force_scan || !v->has_tables || plan(v->n, r, scan, T) >= scan)
        return scan_all(v, k, q, r, s);

    probe_state ps = { .v = v, .k = k, .q = q, .s = s };
    if (s->advise) {
        long pg = sysconf(_SC_PAGESIZE);
        ps.adv.page = pg > 0 ? (uintptr_t)pg : 4096;
    }
    int rc;
    for (unsigned c = 0; c < MIH_CHUNKS; c++) {
        if (T[c] < 0)
            continue;
        int t0, t1;
        split(T[c], &t0, &t1);
        if ((rc = probe_half(&ps, 2 * c, T[c], t0)))
            return rc;
        if (t1 >= 0 && (rc = probe_half(&ps, 2 * c + 1, T[c], t1)))
            return rc;
    }
    if (ps.nbuf && (rc = flush_probes(&ps)))
        return rc;
    s->candidates = ps.ncand;
    if (mih_hits_reserve(s, ps.ncand))
        return PHM_ERR_NOMEM;
    size_t n = k->verify(q, v->hashes, s->cand, ps.ncand, r, s->hits + first);
    s->nhits = first + hits_unique(s->hits + first, n);
    return PHM_OK;
}

/* ---- batches ----------------------------------------------------- */

/* Slots per region of a batch's sweep: 2048 hashes, 64 KB of the array
 * (16 pages, two lines of page-table entries), more for arrays of more
 * than 2^27 hashes so that there are at most 65536 regions. */
static unsigned region_shift(size_t n)
{
    unsigned sh = 11;
    while (sh < 32 && ((uint64_t)n >> sh) >= MIH_VALUES)
        sh++;
    return sh;
}

/* Candidates read ahead of the one compared. */
#define BATCH_PREFETCH 24

void mih_batch_free(mih_batch *b)
{
    if (!b)
        return;
    free(b->pairs);
    free(b->sorted);
    free(b->count);
    free(b->hits);
    free(b->qoff);
    free(b->probes);
    free(b->psorted);
    free(b->pcount);
    free(b->run);
    free(b->masks);
    memset(b, 0, sizeof *b);
}

/* Grows *p (elements of `size` bytes, capacity *cap) to hold `need`. */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    return phm__grow(p, cap, need, size, 1024);
}

/* Probes one table pass of mih_batch_probe holds at most (8 bytes each,
 * twice): its scratch is bounded whatever the radius. */
#define SWEEP_PROBES ((size_t)1 << 20)
/* Probes between a directory read's prefetch and its use, and between
 * the prefetch of a run's first bytes (up to PREFETCH_RUN_BYTES: at 100 M
 * a run is ~3 KB) and its filter: the probes are sorted, so these reads
 * are forward and near one another, and a few in flight are enough. */
#define SWEEP_DIR_AHEAD 16
#define SWEEP_RUN_AHEAD 8

/* Number of 16-bit masks of weight <= t (0..16). */
static size_t masks_within(int t)
{
    return (size_t)below16[t > 16 ? 16 : t];
}

/* The probes' masks of a half at threshold t under chunk threshold T:
 * (partner threshold << 16 | mask), every mask of weight d = 0..t
 * (next_combination), as probe_half makes them. Returns their
 * number (masks_within(t)). */
static size_t sweep_masks(uint32_t *out, int T, int t)
{
    size_t n = 0;
    for (int d = 0; d <= t && d <= 16; d++) {
        uint32_t pt = (uint32_t)(T - d > 16 ? 16 : T - d), mask = (1u << d) - 1;
        do {
            out[n++] = pt << 16 | mask;
            if (d == 0)
                break;
            mask = next_combination(mask);
        } while (mask < MIH_VALUES);
    }
    return n;
}

/* Probes fewer than this are sorted a byte of the bucket at a time: the
 * one-pass counting sort clears and sums 65,536 counters a table, which
 * for a batch of a few queries (a few hundred probes) was most of the
 * batch's time (test_mih_batch: 85 % in that sum). */
#define SWEEP_BYTE_SORT (MIH_VALUES / 4)

/* Stable counting sort of n probes from src into dst by the byte of the
 * bucket at bit `shift` of each. */
static void sort_byte(const uint64_t *src, uint64_t *dst, size_t n, unsigned shift)
{
    size_t count[257] = { 0 };
    for (size_t i = 0; i < n; i++)
        count[(src[i] >> shift & 0xffu) + 1]++;
    for (size_t v = 1; v <= 256; v++)
        count[v] += count[v - 1];
    for (size_t i = 0; i < n; i++)
        dst[count[src[i] >> shift & 0xffu]++] = src[i];
}

/* Probes of queries [q0, q0 + g) in table tb, (bucket << 48 | the
 * query's key in the partner table << 32 | partner threshold << 16 |
 * query), sorted by bucket, stably (a query's probes of one bucket in the
 * order made), into b->psorted or b->probes; *sorted says which. Returns
 * their number. The partner key rides in the probe because the sweep
 * takes the probes in bucket order, so the queries in random order: read
 * from the query there, it was a cache miss a probe. */
_Static_assert(MIH_BATCH_MAX <= 65536, "a probe holds a query number in 16 bits");
static size_t sweep_make(mih_batch *b, const phm_pdq *queries, size_t q0, size_t g,
                         unsigned tb, int T, int t, const uint64_t **sorted)
{
    uint32_t *masks = b->masks, *count = b->pcount;
    size_t nm = sweep_masks(masks, T, t), np = 0;
    uint64_t *pr = b->probes;
    int small = g * nm < SWEEP_BYTE_SORT;
    if (!small)
        memset(count, 0, (MIH_VALUES + 1) * sizeof *count);
    for (size_t j = q0; j < q0 + g; j++) {
        uint32_t value = mih_key(&queries[j], tb);
        uint64_t base = (uint64_t)mih_key(&queries[j], tb ^ 1) << 32 | j;
        for (size_t m = 0; m < nm; m++) {
            uint32_t key = value ^ (masks[m] & 0xffffu);
            if (!small)
                count[key + 1]++;
            pr[np++] = (uint64_t)key << 48 | (masks[m] & 0xffff0000u) | base;
        }
    }
    if (small) { /* low byte, then high: the same order */
        sort_byte(pr, b->psorted, np, 48);
        sort_byte(b->psorted, pr, np, 56);
        *sorted = pr;
        return np;
    }
    for (size_t v = 1; v <= MIH_VALUES; v++)
        count[v] += count[v - 1];
    for (size_t i = 0; i < np; i++)
        b->psorted[count[pr[i] >> 48]++] = pr[i];
    *sorted = b->psorted;
    return np;
}

/* One group's sweep of every table. Stops with *too_many = 1 before the
 * batch would hold more than `limit` candidates (those the group added
 * stay in b: the caller drops them). */
static int sweep_group(mih_batch *b, const mih_view *v, const ham_kernels *k,
                       const phm_pdq *queries, size_t q0, size_t g, const int T[MIH_CHUNKS],
                       size_t limit, int *too_many)
{
    *too_many = 0;
    for (unsigned tb = 0; tb < MIH_TABLES; tb++) {
        int Tc = T[tb >> 1], t0, t1;
        if (Tc < 0)
            continue;
        split(Tc, &t0, &t1);
        int t = (tb & 1) ? t1 : t0;
        if (t < 0)
            continue;
        const uint64_t *sorted;
        size_t np = sweep_make(b, queries, q0, g, tb, Tc, t, &sorted);
        const uint32_t *dir = v->offsets[tb];
        const uint16_t *post = (const uint16_t *)(const void *)v->postings[tb];
        for (size_t i = 0; i < np; i++) {
            if (i + SWEEP_DIR_AHEAD < np)
                __builtin_prefetch(&dir[2 * (sorted[i + SWEEP_DIR_AHEAD] >> 48)], 0, 3);
            if (i + SWEEP_RUN_AHEAD < np) {
                uint32_t key = (uint32_t)(sorted[i + SWEEP_RUN_AHEAD] >> 48);
                uint32_t lo = mih_off(dir, key), hi = mih_off(dir, key + 1);
                if (lo < hi && hi <= v->n)
                    prefetch_run_head(v->postings[tb], lo, hi);
            }
            uint32_t key = (uint32_t)(sorted[i] >> 48), j = (uint32_t)sorted[i] & 0xffffu;
            uint16_t partner = (uint16_t)(sorted[i] >> 32);
            unsigned pt = (unsigned)(sorted[i] >> 16) & 0xffffu;
            probe p = { .lo = mih_off(dir, key), .hi = mih_off(dir, key + 1),
                        .key = key, .table = (uint16_t)tb };
            if (p.hi <= p.lo || p.hi > v->n) /* empty, or damaged: verify reports it */
                continue;
            size_t len = p.hi - p.lo;
            if (len > b->run_cap && grow((void **)&b->run, &b->run_cap, len, sizeof *b->run))
                return PHM_ERR_NOMEM;
            p.c1 = (uint32_t)k->filter(post + 2 * (size_t)p.lo, len, partner, pt, 0, b->run);
            if (p.c1 == 0)
                continue;
            uint32_t end = decode_slots(v, k, &p, b->run);
            if (end > limit - b->npairs) { /* b->npairs <= limit */
                *too_many = 1;
                return PHM_OK;
            }
            if (grow((void **)&b->pairs, &b->pairs_cap, b->npairs + end, sizeof *b->pairs))
                return PHM_ERR_NOMEM;
            for (uint32_t c = 0; c < end; c++)
                b->pairs[b->npairs++] = (mih_pair){ .slot = b->run[c], .query = j };
        }
    }
    return PHM_OK;
}

/* Queries in a group of mih_batch_probe expecting `each` candidates a
 * query: half max_pairs in all, 1..cap. */
static size_t group_size(size_t max_pairs, double each, size_t cap)
{
    double g = (double)max_pairs / 2 / (each > 1 ? each : 1);
    return g < 1 ? 1 : g > (double)cap ? cap : (size_t)g;
}

int mih_batch_probe(mih_batch *b, const mih_view *v, const ham_kernels *k,
                    const phm_pdq *queries, size_t nqueries, int r, size_t max_pairs,
                    size_t *done)
{
    *done = 0;
    b->npairs = 0;
    if (nqueries == 0 || nqueries > MIH_BATCH_MAX || r < 0)
        return PHM_ERR_INVALID;
    if (!v->has_tables || v->n == 0)
        return PHM_OK;
    if (r > PHM_PDQ_BITS)
        r = PHM_PDQ_BITS;
    int T[MIH_CHUNKS];
    double scan = COST_SCAN * (double)v->n;
    if (plan(v->n, r, scan, T) >= scan)
        return PHM_OK;
    size_t most = 1; /* one query's probes of one table, at most */
    for (unsigned c = 0; c < MIH_CHUNKS; c++) {
        int t0, t1;
        if (T[c] < 0)
            continue;
        split(T[c], &t0, &t1);
        size_t m0 = masks_within(t0), m1 = t1 >= 0 ? masks_within(t1) : 0;
        most = m0 > most ? m0 : most;
        most = m1 > most ? m1 : most;
    }
    size_t cap = SWEEP_PROBES / most ? SWEEP_PROBES / most : 1;
    if (cap > nqueries)
        cap = nqueries;
    if (grow((void **)&b->probes, &b->probes_cap, cap * most, sizeof *b->probes) ||
        grow((void **)&b->psorted, &b->psorted_cap, cap * most, sizeof *b->psorted) ||
        grow((void **)&b->masks, &b->masks_cap, most, sizeof *b->masks))
        return PHM_ERR_NOMEM;
    if (!b->pcount && !(b->pcount = malloc((MIH_VALUES + 1) * sizeof *b->pcount)))
        return PHM_ERR_NOMEM;
    /* Groups of about half max_pairs candidates: past that a batch stops
     * anyway, and at 100 M hashes (a thousand candidates a query, runs of
     * 3 KB) larger groups read the tables no faster. The sizes from what
     * the last group of this base and radius found a query, or for a
     * first group from the cost model's uniform hashes. */
    if (b->each_n != v->n || b->each_r != r) {
        b->each = 0;
        for (unsigned c = 0; c < MIH_CHUNKS; c++)
            b->each += chunk_cost(v->n, T[c], &CANDIDATES);
        b->each_n = v->n;
        b->each_r = r;
    }
    size_t group = group_size(max_pairs, b->each, cap);
    /* A group that would take the batch past twice max_pairs candidates
     * is searched again in halves (one query is never split): the scratch
     * stays near what one by one would hold. */
    size_t limit = max_pairs > SIZE_MAX / 2 ? SIZE_MAX : 2 * max_pairs;
    size_t q0 = 0;
    while (q0 < nqueries) {
        size_t g = nqueries - q0 < group ? nqueries - q0 : group, start = b->npairs;
        int too_many;
        int rc = sweep_group(b, v, k, queries, q0, g, T, g > 1 ? limit : SIZE_MAX, &too_many);
        if (rc)
            return rc;
        if (too_many) {
            b->npairs = start;
            group = g / 2;
            continue;
        }
        q0 += g;
        b->each = (double)(b->npairs - start) / (double)g;
        if (b->npairs >= max_pairs)
            break;
        group = group_size(max_pairs, b->each, cap);
    }
    *done = q0;
    return PHM_OK;
}

int mih_batch_verify(mih_batch *b, const mih_view *v, const ham_kernels *k,
                     const phm_pdq *queries, size_t nqueries, int r)
{
    size_t n = b->npairs;
    unsigned sh = region_shift(v->n);
    size_t regions = (size_t)((uint64_t)v->n >> sh) + 1;
    size_t sorted_cap = b->pairs_cap;
    /* sorted has the capacity of pairs; count one per region; qoff one
     * per query and one more */
    if (sorted_cap > SIZE_MAX / sizeof *b->sorted)
        return PHM_ERR_NOMEM;
    mih_pair *srt = realloc(b->sorted, (sorted_cap ? sorted_cap : 1) * sizeof *srt);
    if (!srt)
        return PHM_ERR_NOMEM;
    b->sorted = srt;
    if (nqueries > MIH_BATCH_MAX || grow((void **)&b->count, &b->count_cap, regions + 1, sizeof *b->count) ||
        grow((void **)&b->qoff, &b->qoff_cap, nqueries + 1, sizeof *b->qoff) ||
        grow((void **)&b->hits, &b->hits_cap, n ? n : 1, sizeof *b->hits))
        return PHM_ERR_NOMEM;
    /* by region: a counting sort */
    uint32_t *count = b->count;
    memset(count, 0, (regions + 1) * sizeof *count);
    for (size_t i = 0; i < n; i++)
        if (b->pairs[i].slot < v->n) /* decode_slots keeps them in range */
            count[(b->pairs[i].slot >> sh) + 1]++;
    for (size_t g = 1; g <= regions; g++)
        count[g] += count[g - 1];
    for (size_t i = 0; i < n; i++) {
        uint32_t slot = b->pairs[i].slot;
        if (slot < v->n)
            srt[count[slot >> sh]++] = b->pairs[i];
    }
    n = count[regions - 1]; /* all in range: the last region's end */
    /* the sweep: compared in that order, read ahead; a hit is kept in
     * place, its distance beside its query number */
    size_t nh = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + BATCH_PREFETCH < n)
            __builtin_prefetch(&v->hashes[srt[i + BATCH_PREFETCH].slot], 0, 3);
        ham_hit h;
        if (k->verify(&queries[srt[i].query], v->hashes, &srt[i].slot, 1, r, &h)) {
            srt[nh].slot = srt[i].slot;
            srt[nh].query = srt[i].query << 9 | h.dist;
            nh++;
        }
    }
    /* by query (hits are few): counts, then each query's hits by slot,
     * each slot once (a hash close on two halves of a chunk is a
     * candidate twice) */
    size_t *qoff = b->qoff;
    memset(qoff, 0, (nqueries + 1) * sizeof *qoff);
    for (size_t i = 0; i < nh; i++)
        qoff[(srt[i].query >> 9) + 1]++;
    for (size_t j = 1; j <= nqueries; j++)
        qoff[j] += qoff[j - 1];
    for (size_t i = 0; i < nh; i++) {
        size_t at = qoff[srt[i].query >> 9]++;
        b->hits[at].slot = srt[i].slot;
        b->hits[at].dist = srt[i].query & 511;
    }
    for (size_t j = nqueries; j > 0; j--)
        qoff[j] = qoff[j - 1];
    qoff[0] = 0;
    size_t out = 0;
    for (size_t j = 0; j < nqueries; j++) {
        ham_hit *h = b->hits + qoff[j];
        size_t m = hits_unique(h, qoff[j + 1] - qoff[j]);
        memmove(b->hits + out, h, m * sizeof *h);
        qoff[j] = out;
        out += m;
    }
    qoff[nqueries] = out;
    b->npairs = 0;
    return PHM_OK;
}
