/* search_micro.c - microbenchmark of the in-memory exact radius search
 * (src/lib/mih.c) on synthetic hashes, to choose the multi-index layout.
 * Not part of `make check`. Build and run from the top directory:
 *
 *   make BUILD=build-index lib
 *   cc -O2 -std=c11 -D_DEFAULT_SOURCE -Iinclude -Isrc/lib -fopenmp \
 *       bench/search_micro.c build-index/libphmatch.a \
 *       $(pkg-config --libs libturbojpeg libpng lmdb libcrypto) -lm \
 *       -o build-index/search_micro
 *   build-index/search_micro N [radius] [simd]
 *
 * Queries: half are entries with 5..30 random bits flipped, half uniform
 * random. Prints queries/s on one thread for a linear scan and for the
 * tables, mean probes, postings read and candidates verified per query,
 * and checks result sets against the scan (recall). Environment: NOREF=1
 * skips the scan reference; HUGE=1 asks for transparent huge pages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include <omp.h>

#include "mih.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *big_alloc(size_t len)
{
    size_t hb = (len + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
    void *p = aligned_alloc(2u << 20, hb);
    if (p && getenv("HUGE"))
        madvise(p, hb, MADV_HUGEPAGE);
    return p;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int r = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 31;
    phm_simd level = PHM_SIMD_AUTO;
    if (argc > 3 && phm_simd_parse(argv[3], &level)) {
        fprintf(stderr, "bad simd level\n");
        return 2;
    }
    level = phm_simd_resolve(level);
    const ham_kernels *k = ham_kernels_for(level);
    enum { NQ = 20000 };
    size_t hb = (n * sizeof(phm_pdq) + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
    phm_pdq *h = aligned_alloc(2u << 20, hb);
    if (getenv("HUGE"))
        madvise(h, hb, MADV_HUGEPAGE);
    phm_pdq *q = malloc(NQ * sizeof *q);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 4; j++)
            h[i].w[j] = rnd();
    for (size_t i = 0; i < NQ; i++) {
        if (i % 2) {
            for (int j = 0; j < 4; j++)
                q[i].w[j] = rnd();
        } else {
            q[i] = h[rnd() % n];
            int flips = 5 + (int)(rnd() % 26);
            for (int f = 0; f < flips; f++) {
                int b = (int)(rnd() % 256);
                q[i].w[b / 64] ^= 1ull << (b % 64);
            }
        }
    }
    printf("n=%zu radius=%d simd=%s\n", n, r, phm_simd_name(level));

    /* Reference: scan. */
    mih_scratch ref = { 0 }, s = { 0 };
    size_t *ref_off = malloc((NQ + 1) * sizeof *ref_off);
    mih_view scanv = { .hashes = h, .n = n };
    double t0 = now();
    int nref = getenv("NOREF") ? 0 : n > 2000000 ? 200 : NQ;
    for (int i = 0; i < nref; i++) {
        ref_off[i] = ref.nhits;
        mih_search(&scanv, k, &q[i], r, 1, &ref);
    }
    ref_off[nref] = ref.nhits;
    double ts = now() - t0;
    printf("scan: %.1f q/s\n", nref / ts);

    {
        mih_view v = { .hashes = h, .n = n, .has_tables = 1 };
        size_t mem = 0;
        t0 = now();
#pragma omp parallel for schedule(dynamic) reduction(+ : mem)
        for (unsigned i = 0; i < MIH_TABLES; i++)
        {
            uint32_t *dir = big_alloc(MIH_DIR_BYTES);
            mih_plan_table(h, n, i, dir);
            size_t bytes = mih_area_bytes(n, dir);
            uint8_t *area = big_alloc(bytes);
            void *tmp = malloc(mih_build_scratch_bytes(n));
            mih_fill_table(h, n, i, dir, area, tmp);
            free(tmp);
            v.offsets[i] = dir;
            v.postings[i] = area;
            mem += MIH_DIR_BYTES + bytes;
        }
        double tb = now() - t0;
        int use;
        double est = mih_estimate(&v, r, &use);
        for (int i = 0; i < 50; i++) {
            s.nhits = 0;
            mih_search(&v, k, &q[i], r, 0, &s);
        }
        size_t probes = 0, posts = 0, cands = 0, bad = 0, results = 0;
        t0 = now();
        for (int i = 0; i < NQ; i++) {
            s.nhits = 0;
            mih_search(&v, k, &q[i], r, 0, &s);
            probes += s.probes;
            posts += s.postings;
            cands += s.candidates;
            results += s.nhits;
            if (i < nref) {
                size_t rn = ref_off[i + 1] - ref_off[i];
                if (rn != s.nhits ||
                    memcmp(ref.hits + ref_off[i], s.hits, rn * sizeof *s.hits))
                    bad++;
            }
        }
        double tq = now() - t0;
        printf("build=%.2fs (%d threads) mem=%.0fMB est=%.0fns (%s): %.0f q/s "
               "(%.1f us/query), %.0f probes, %.0f postings, %.0f candidates/query, "
               "%zu results, %zu/%d mismatches\n",
               tb, omp_get_max_threads(), (double)mem / 1e6, est, use ? "mih" : "scan",
               NQ / tq, tq / NQ * 1e6, (double)probes / NQ, (double)posts / NQ,
               (double)cands / NQ, results, bad, nref);
        for (unsigned i = 0; i < MIH_TABLES; i++) {
            free((void *)v.offsets[i]);
            free((void *)v.postings[i]);
        }
    }
    mih_scratch_free(&s);
    mih_scratch_free(&ref);
    free(ref_off);
    free(q);
    free(h);
    return 0;
}
