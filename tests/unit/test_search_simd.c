/* test_search_simd.c - the Hamming kernels of every SIMD level against the
 * portable ones (scan, candidate verification, posting filter) on random
 * inputs of awkward lengths, and the in-memory multi-index search against
 * a scan, over many radii and data shapes. */
#include <string.h>

#include "hamming.h"
#include "index_util.h"
#include "mih.h"
#include "tap.h"

static const phm_simd levels[] = { PHM_SIMD_AVX2, PHM_SIMD_AVX512 };

static int same_hits(const ham_hit *a, size_t na, const ham_hit *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].slot != b[i].slot || a[i].dist != b[i].dist)
            return 0;
    return 1;
}

static void test_kernels(void)
{
    enum { N = 1000 };
    rng g = { 7 };
    phm_pdq *h = malloc(N * sizeof *h);
    ham_hit *want = malloc(N * sizeof *want), *got = malloc(N * sizeof *got);
    uint32_t *slots = malloc(N * sizeof *slots);
    uint16_t *part = malloc(N * sizeof *part);
    uint32_t *pw = malloc(N * sizeof *pw), *pg = malloc(N * sizeof *pg);
    phm_pdq q = rng_hash(&g);
    for (size_t i = 0; i < N; i++) {
        /* distances spread over 0..256 */
        h[i] = i % 3 ? rng_near(&g, &q, (int)(rng_next(&g) % 257)) : rng_hash(&g);
        slots[i] = (uint32_t)(rng_next(&g) % N);
        part[i] = (uint16_t)rng_next(&g);
    }
    const ham_kernels *p = ham_kernels_for(PHM_SIMD_PORTABLE);
    IS_INT(p->level, PHM_SIMD_PORTABLE, "portable kernels");
    static const size_t lens[] = { 0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 999, 1000 };
    static const int radii[] = { 0, 1, 31, 64, 127, 128, 200, 255, 256 };
    for (size_t li = 0; li < sizeof levels / sizeof levels[0]; li++) {
        if (!tap_simd(levels[li]))
            continue;
        const ham_kernels *k = ham_kernels_for(levels[li]);
        IS_INT(k->level, levels[li], "%s kernels", phm_simd_name(levels[li]));
        size_t bad_scan = 0, bad_verify = 0, bad_filter = 0;
        for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++) {
            size_t n = lens[a];
            for (size_t b = 0; b < sizeof radii / sizeof radii[0]; b++) {
                int r = radii[b];
                size_t nw = p->scan(&q, h, n, 5, r, want);
                size_t ng = k->scan(&q, h, n, 5, r, got);
                bad_scan += !same_hits(want, nw, got, ng);
                nw = p->verify(&q, h, slots, n, r, want);
                ng = k->verify(&q, h, slots, n, r, got);
                bad_verify += !same_hits(want, nw, got, ng);
            }
            for (unsigned t = 0; t <= 16; t++) {
                uint16_t qp = (uint16_t)rng_next(&g);
                size_t nw = p->filter(part, n, qp, t, 100, pw);
                size_t ng = k->filter(part, n, qp, t, 100, pg);
                bad_filter += nw != ng || memcmp(pw, pg, nw * sizeof *pw) != 0;
            }
        }
        IS_INT(bad_scan, 0, "%s scan equals portable", phm_simd_name(levels[li]));
        IS_INT(bad_verify, 0, "%s verify equals portable", phm_simd_name(levels[li]));
        IS_INT(bad_filter, 0, "%s filter equals portable", phm_simd_name(levels[li]));
    }
    /* The portable scan itself against the header's distance. */
    size_t n = p->scan(&q, h, N, 0, 256, want), bad = n != N;
    for (size_t i = 0; i < n && !bad; i++)
        bad += want[i].slot != i || (int)want[i].dist != phm_pdq_distance(&q, &h[i]);
    IS_INT(bad, 0, "portable scan distances are Hamming distances");
    free(h);
    free(want);
    free(got);
    free(slots);
    free(part);
    free(pw);
    free(pg);
}

/* Builds in-memory tables over h and compares table search with a scan. */
static void test_mih(const char *shape, phm_pdq *h, size_t n, rng *g)
{
    mih_view v = { .hashes = h, .n = n, .has_tables = 1 };
    uint8_t *mem = malloc(MIH_TABLES * (MIH_OFFSETS_BYTES + n * MIH_POSTING_BYTES));
    void *scratch = malloc(mih_build_scratch_bytes(n));
    uint8_t *seen = malloc((n + 7) / 8);
    char why[256];
    size_t bad_tables = 0;
    uint8_t *p = mem;
    for (unsigned i = 0; i < MIH_TABLES; i++) {
        v.offsets[i] = (const uint32_t *)(const void *)p;
        mih_build_table(h, n, i, (uint32_t *)(void *)p, p + MIH_OFFSETS_BYTES, scratch);
        v.postings[i] = p + MIH_OFFSETS_BYTES;
        p += MIH_OFFSETS_BYTES + n * MIH_POSTING_BYTES;
        bad_tables += mih_check_table(&v, i, seen, why, sizeof why) != 0;
    }
    IS_INT(bad_tables, 0, "%s: tables check", shape);
    mih_scratch a = { 0 }, b = { 0 };
    for (size_t li = 0; li < 3; li++) {
        phm_simd level = li == 0 ? PHM_SIMD_PORTABLE : levels[li - 1];
        if (!tap_simd(level))
            continue;
        const ham_kernels *k = ham_kernels_for(level);
        size_t bad = 0, queries = 0, found = 0;
        for (int r = 0; r <= 80; r += (r < 40 ? 1 : 8)) {
            for (int i = 0; i < 12; i++) {
                phm_pdq q = i % 3 == 0 ? rng_hash(g)
                                       : rng_near(g, &h[rng_next(g) % n], (int)(rng_next(g) % (uint64_t)(r + 8)));
                a.nhits = b.nhits = 0;
                mih_search(&v, k, &q, r, 1, &a);
                mih_search(&v, k, &q, r, 0, &b);
                bad += !same_hits(a.hits, a.nhits, b.hits, b.nhits);
                queries++;
                found += a.nhits;
            }
        }
        IS_INT(bad, 0, "%s/%s: tables equal a scan (%zu queries, radii 0..80, %zu hits)",
               shape, phm_simd_name(level), queries, found);
    }
    mih_scratch_free(&a);
    mih_scratch_free(&b);
    free(mem);
    free(scratch);
    free(seen);
}

static void test_mih_shapes(void)
{
    enum { N = 6000 };
    rng g = { 11 };
    phm_pdq *h = malloc(N * sizeof *h);
    for (size_t i = 0; i < N; i++)
        h[i] = rng_hash(&g);
    test_mih("uniform", h, N, &g);
    /* near-duplicate families: many entries share substrings */
    for (size_t i = 0; i < N; i++)
        h[i] = i % 100 ? rng_near(&g, &h[i - i % 100], (int)(rng_next(&g) % 30)) : rng_hash(&g);
    test_mih("families", h, N, &g);
    /* skewed: half the bits constant (real hashes are not uniform) */
    for (size_t i = 0; i < N; i++) {
        h[i] = rng_hash(&g);
        h[i].w[1] = 0;
        h[i].w[2] &= 0xffff;
    }
    test_mih("skewed", h, N, &g);
    /* all equal */
    for (size_t i = 0; i < N; i++)
        h[i] = h[0];
    test_mih("identical", h, N, &g);
    free(h);
}

int main(void)
{
    test_kernels();
    test_mih_shapes();
    return tap_done();
}
