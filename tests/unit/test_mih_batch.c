/* test_mih_batch.c - the search's batches (mih.h: mih_batch_probe sorts
 * the probes of many queries by bucket, mih_batch_verify reads their
 * candidates in the order of their slots) find, for every query, what a
 * brute-force comparison of the query with every hash finds, and what
 * mih_search finds alone, each slot once and by slot: on uniform hashes
 * and on families of near-duplicates (a slot found on many halves), at
 * radii 0..40, with each SIMD level's kernels, in batches of 1, 7 and 200
 * queries, in one group, in groups split in halves and with early stops,
 * and in a batch of MIH_BATCH_MAX queries;
 * a plan that scans, or a view without tables, is left to mih_search; a
 * batch of more than MIH_BATCH_MAX queries is refused. */
#include <string.h>

#include "index_util.h"
#include "mih.h"
#include "tap.h"

static void bail(void)
{
    printf("Bail out! out of memory\n");
    exit(1);
}

static const char *phase_name(const ham_kernels *k)
{
    return phm_simd_name(k->level);
}

/* Distance by a table of the bytes' bit counts: shares nothing with the
 * kernels. */
static unsigned byte_dist(const phm_pdq *a, const phm_pdq *b)
{
    static unsigned char bits[256];
    if (!bits[255])
        for (unsigned x = 1; x < 256; x++)
            bits[x] = (unsigned char)(bits[x >> 1] + (x & 1));
    unsigned d = 0;
    for (unsigned w = 0; w < 4; w++)
        for (unsigned k = 0; k < 64; k += 8)
            d += bits[((a->w[w] ^ b->w[w]) >> k) & 0xff];
    return d;
}

/* The brute force: distance of query i to hash s, dist[i * N + s]. */
static const uint16_t *brute;

typedef struct table_mem {
    uint8_t *dirs;
    uint8_t *area[MIH_TABLES];
} table_mem;

static void build(mih_view *v, table_mem *m, const phm_pdq *h, size_t n)
{
    memset(v, 0, sizeof *v);
    memset(m, 0, sizeof *m);
    v->hashes = h;
    v->n = n;
    v->has_tables = 1;
    void *scratch = malloc(mih_build_scratch_bytes(n));
    if (!(m->dirs = malloc(MIH_TABLES * MIH_DIR_BYTES)) || !scratch)
        bail();
    for (unsigned i = 0; i < MIH_TABLES; i++) {
        uint32_t *dir = (uint32_t *)(void *)(m->dirs + i * MIH_DIR_BYTES);
        mih_plan_table(h, n, i, dir);
        if (!(m->area[i] = malloc(mih_area_bytes(n, dir))))
            bail();
        mih_fill_table(h, n, i, dir, m->area[i], scratch);
        v->offsets[i] = dir;
        v->postings[i] = m->area[i];
    }
    free(scratch);
}

static void table_free(table_mem *m)
{
    free(m->dirs);
    for (unsigned i = 0; i < MIH_TABLES; i++)
        free(m->area[i]);
}

/* Whether hits[0..n) are exactly the slots within r of q, by slot, with
 * their distances. */
static int equals_brute(size_t nh, size_t qi, int r, const ham_hit *hits, size_t n)
{
    size_t j = 0;
    for (size_t s = 0; s < nh; s++) {
        unsigned d = brute[qi * nh + s];
        if (d > (unsigned)r)
            continue;
        if (j == n || hits[j].slot != s || hits[j].dist != d)
            return 0;
        j++;
    }
    return j == n;
}

static void check(const char *shape, const phm_pdq *h, size_t n, const phm_pdq *q,
                  size_t nq, const ham_kernels *k)
{
    mih_view v;
    table_mem m;
    build(&v, &m, h, n);
    static const int radii[] = { 0, 5, 16, 31, 40 };
    static const size_t sizes[] = { 1, 7, 200 };
    mih_scratch s = { 0 }, one = { 0 };
    mih_batch b = { 0 };
    for (size_t ri = 0; ri < sizeof radii / sizeof radii[0]; ri++) {
        int r = radii[ri], tables;
        mih_estimate(&v, r, &tables);
        if (!tables)
            continue;
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            size_t bad = 0, alone = 0, results = 0;
            for (size_t q0 = 0; q0 < nq; q0 += sizes[si]) {
                size_t len = nq - q0 < sizes[si] ? nq - q0 : sizes[si], done;
                if (mih_batch_probe(&b, &v, k, &q[q0], len, r, (size_t)1 << 21, &done) ||
                    done != len || mih_batch_verify(&b, &v, k, &q[q0], len, r))
                    bail();
                for (size_t j = 0; j < len; j++) {
                    const ham_hit *got = b.hits + b.qoff[j];
                    size_t cnt = b.qoff[j + 1] - b.qoff[j];
                    results += cnt;
                    if (!equals_brute(n, q0 + j, r, got, cnt))
                        bad++;
                    one.nhits = 0;
                    if (mih_search(&v, k, &q[q0 + j], r, 0, &one))
                        bail();
                    if (one.nhits != cnt || (cnt && memcmp(one.hits, got, cnt * sizeof *got)))
                        alone++;
                }
            }
            IS_INT(bad, 0, "%s %s: radius %d in batches of %zu equals brute force "
                   "(%zu results)", phase_name(k), shape, r, sizes[si], results);
            IS_INT(alone, 0, "%s %s: radius %d in batches of %zu equals mih_search alone",
                   phase_name(k), shape, r, sizes[si]);
        }
    }
    /* mih_batch_probe in many groups and calls (max_pairs 40 and 1:
     * groups split in halves down to single queries, early stops) gives
     * what brute force gives, adds each query's candidates once (as many
     * pairs in all as one call with room for all) and holds at most twice
     * max_pairs candidates, or less than max_pairs and one query's (a
     * single query is never split); a plan that scans, or a view without
     * tables, is left to mih_search */
    static const size_t caps[] = { 40, 1 };
    for (size_t ri = 0; ri < sizeof radii / sizeof radii[0]; ri++) {
        int r = radii[ri], tables;
        size_t whole = 0, done = 0;
        mih_estimate(&v, r, &tables);
        if (mih_batch_probe(&b, &v, k, q, nq, r, (size_t)1 << 30, &done))
            bail();
        if (!tables) {
            OK(done == 0 && b.npairs == 0, "%s %s: radius %d: mih_batch_probe leaves a "
               "plan that scans to mih_search", phase_name(k), shape, r);
            continue;
        }
        whole = b.npairs;
        size_t one_most = 0; /* the most candidates of one query */
        for (size_t j = 0; j < nq; j++) {
            if (mih_batch_probe(&b, &v, k, &q[j], 1, r, 1, &done) || done != 1)
                bail();
            one_most = b.npairs > one_most ? b.npairs : one_most;
        }
        for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
            size_t bad = 0, results = 0, calls = 0, pairs = 0, over = 0;
            for (size_t q0 = 0; q0 < nq; q0 += done) {
                size_t len = nq - q0;
                if (mih_batch_probe(&b, &v, k, &q[q0], len, r, caps[ci], &done) ||
                    done == 0 || done > len)
                    bail();
                calls++;
                pairs += b.npairs;
                if (b.npairs > 2 * caps[ci] && b.npairs >= caps[ci] + one_most)
                    over++;
                if (mih_batch_verify(&b, &v, k, &q[q0], done, r))
                    bail();
                for (size_t j = 0; j < done; j++) {
                    size_t cnt = b.qoff[j + 1] - b.qoff[j];
                    results += cnt;
                    if (!equals_brute(n, q0 + j, r, b.hits + b.qoff[j], cnt))
                        bad++;
                }
            }
            IS_INT(bad, 0, "%s %s: radius %d, max_pairs %zu: mih_batch_probe equals brute "
                   "force (%zu results, %zu calls)", phase_name(k), shape, r, caps[ci],
                   results, calls);
            IS_INT(pairs, whole, "%s %s: radius %d, max_pairs %zu: each query's candidates "
                   "added once", phase_name(k), shape, r, caps[ci]);
            IS_INT(over, 0, "%s %s: radius %d, max_pairs %zu: at most twice max_pairs held "
                   "(one query: %zu)", phase_name(k), shape, r, caps[ci], one_most);
            if (caps[ci] == 1 && results) /* each call stops after its first candidates */
                OK(calls > 1 && calls <= nq, "%s %s: radius %d, max_pairs 1: stopped early "
                   "(%zu calls)", phase_name(k), shape, r, calls);
        }
    }
    {
        mih_view none = v;
        size_t done = 9;
        none.has_tables = 0;
        OK(mih_batch_probe(&b, &none, k, q, nq, 31, 100, &done) == PHM_OK && done == 0 &&
               b.npairs == 0,
           "%s %s: mih_batch_probe without tables is left to mih_search", phase_name(k),
           shape);
        OK(mih_batch_probe(&b, &v, k, q, (size_t)MIH_BATCH_MAX + 1, 31, 100, &done) ==
               PHM_ERR_INVALID && done == 0,
           "%s %s: mih_batch_probe of MIH_BATCH_MAX + 1 queries is refused", phase_name(k),
           shape);
        OK(mih_batch_probe(&b, &v, k, q, 0, 31, 100, &done) == PHM_ERR_INVALID &&
               mih_batch_probe(&b, &v, k, q, nq, -1, 100, &done) == PHM_ERR_INVALID,
           "%s %s: mih_batch_probe of no queries or a negative radius is refused",
           phase_name(k), shape);
    }
    /* a scan, forced */
    s.nhits = 0;
    int rc = mih_search(&v, k, &q[0], 31, 1, &s);
    OK(rc == PHM_OK && equals_brute(n, 0, 31, s.hits, s.nhits),
       "%s %s: a forced scan gives its hits", phase_name(k), shape);
    /* a batch of too many queries is refused, not overrun */
    IS_INT(mih_batch_verify(&b, &v, k, q, (size_t)MIH_BATCH_MAX + 1, 31), PHM_ERR_NOMEM,
           "%s %s: a batch of MIH_BATCH_MAX + 1 queries is refused", phase_name(k), shape);
    mih_scratch_free(&s);
    mih_scratch_free(&one);
    mih_batch_free(&b);
    mih_batch_free(&b); /* twice: a freed batch is empty */
    table_free(&m);
}

/* A batch of MIH_BATCH_MAX queries, each a hash of h moved by 0..3
 * bits (query j near slot j % n): a probe carries its query's number in
 * 16 bits, so the last queries of a full batch are where a number cut
 * short would give one query's hits to another. Every query's hits hold
 * its own slot, and the queries compared with brute force (every 1009th
 * and the last 100) have exactly its hits. */
static void check_full_batch(const phm_pdq *h, size_t n, const ham_kernels *k)
{
    enum { R = 4 };
    size_t nq = MIH_BATCH_MAX;
    phm_pdq *q = malloc(nq * sizeof *q);
    if (!q)
        bail();
    rng g = { 99 };
    for (size_t j = 0; j < nq; j++)
        q[j] = rng_near(&g, &h[j % n], (int)(rng_next(&g) % 4));
    mih_view v;
    table_mem m;
    build(&v, &m, h, n);
    mih_batch b = { 0 };
    size_t missing = 0, wrong = 0, compared = 0, calls = 0;
    for (size_t q0 = 0, done = 0; q0 < nq; q0 += done) {
        size_t len = nq - q0;
        if (mih_batch_probe(&b, &v, k, &q[q0], len, R, (size_t)1 << 22, &done) || done == 0 ||
            done > len || mih_batch_verify(&b, &v, k, &q[q0], done, R))
            bail();
        calls++;
        for (size_t j = 0; j < done; j++) {
            size_t qi = q0 + j, cnt = b.qoff[j + 1] - b.qoff[j], own = 0;
            const ham_hit *got = b.hits + b.qoff[j];
            for (size_t i = 0; i < cnt; i++)
                own |= got[i].slot == qi % n;
            missing += !own;
            if (qi % 1009 && qi < nq - 100)
                continue;
            compared++;
            size_t want = 0, at = 0, bad = 0;
            for (size_t s = 0; s < n; s++) {
                unsigned d = byte_dist(&q[qi], &h[s]);
                if (d > R)
                    continue;
                want++;
                bad |= at == cnt || got[at].slot != s || got[at].dist != d;
                at++;
            }
            wrong += bad || want != cnt;
        }
    }
    IS_INT(missing, 0, "%s: a batch of MIH_BATCH_MAX queries: each finds its own slot "
           "(%zu calls)", phase_name(k), calls);
    IS_INT(wrong, 0, "%s: a batch of MIH_BATCH_MAX queries: %zu of them, the last 100 "
           "among them, equal brute force", phase_name(k), compared);
    mih_batch_free(&b);
    table_free(&m);
    free(q);
}

int main(void)
{
    enum { N = 24000, NQ = 200 };
    phm_pdq *h = malloc(N * sizeof *h), *q = malloc(NQ * sizeof *q);
    uint16_t *d = malloc((size_t)N * NQ * sizeof *d);
    if (!h || !q || !d)
        bail();
    brute = d;
    static const phm_simd levels[] = { PHM_SIMD_PORTABLE, PHM_SIMD_AVX2, PHM_SIMD_AVX512 };
    for (int clustered = 0; clustered < 2; clustered++) {
        rng g = { 7 + (uint64_t)clustered };
        /* uniform, or families of 40 within 0..12 bits of their first */
        for (size_t i = 0; i < N; i++)
            h[i] = clustered && i % 40 ? rng_near(&g, &h[i - i % 40], (int)(rng_next(&g) % 13))
                                       : rng_hash(&g);
        for (size_t i = 0; i < NQ; i++)
            q[i] = i % 3 == 0 ? rng_hash(&g)
                              : rng_near(&g, &h[rng_next(&g) % N], (int)(rng_next(&g) % 36));
        for (size_t i = 0; i < NQ; i++)
            for (size_t s = 0; s < N; s++)
                d[i * N + s] = (uint16_t)byte_dist(&q[i], &h[s]);
        for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
            if (!tap_simd(levels[l]))
                continue;
            check(clustered ? "families" : "uniform", h, N, q, NQ, ham_kernels_for(levels[l]));
            if (!clustered)
                check_full_batch(h, N, ham_kernels_for(levels[l]));
        }
    }
    free(h);
    free(q);
    free(d);
    return tap_done();
}
