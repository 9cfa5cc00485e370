/* lookup_cost.c - what one /v1/lookup of many hashes costs by radius: the
 * figures behind phmatchd's lookup cost weights (max_lookup_cost,
 * docs/SERVICE.md). Builds (or reuses) an index of N uniform random PDQ
 * hashes in DIR, then times phm_search_batch of Q random query hashes at
 * each radius (one thread, best of 3 after a warm-up pass). Not part of
 * `make check`. From the top directory:
 *
 *   make lib
 *   cc -O2 -std=c11 -D_DEFAULT_SOURCE -Iinclude -fopenmp bench/lookup_cost.c \
 *       build/libphmatch.a $(pkg-config --libs libturbojpeg libpng lmdb \
 *       libcrypto jansson) -ljpeg -lm -ldl -o build/lookup_cost
 *   build/lookup_cost N DIR [Q [RADIUS...]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "phmatch.h"

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void random_hash(phm_pdq *h)
{
    for (size_t i = 0; i < 4; i++)
        h->w[i] = rnd();
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int build(const char *path, size_t n)
{
    char err[PHM_ERRMSG_MAX];
    phm_index *idx = NULL;
    phm_index_txn *txn = NULL;
    int status = 1;

    remove(path);
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err) ||
        phm_index_txn_begin(idx, &txn, err, sizeof err))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        char id[24];
        snprintf(id, sizeof id, "%012zu", i);
        phm_entry e = { .source = "bench", .id = id, .signals = PHM_SIG_PDQ,
                        .quality = 100, .added = 1 };
        random_hash(&e.pdq);
        if (phm_index_add(txn, &e, err, sizeof err))
            goto fail;
    }
    phm_index_txn *t = txn;
    txn = NULL;
    if (phm_index_txn_commit(t, NULL, err, sizeof err))
        goto fail;
    status = 0;
    goto out;
fail:
    fprintf(stderr, "lookup_cost: %s\n", err);
out:
    phm_index_txn_abort(txn);
    phm_index_close(idx);
    return status;
}

/* The best of three timed batch searches of the q queries at radius r
 * (one more before them warms the pages); -1 when a search fails. */
static double time_radius(phm_searcher *s, const phm_pdq *qs, size_t q, int r)
{
    char err[PHM_ERRMSG_MAX];
    const phm_match *m;
    const size_t *off;
    double best = 1e9;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = now();
        if (phm_search_batch(s, qs, q, r, 0, &m, &off, err, sizeof err)) {
            fprintf(stderr, "lookup_cost: %s\n", err);
            return -1;
        }
        double t = now() - t0;
        if (rep && t < best)
            best = t;
        phm_searcher_release(s);
    }
    return best;
}

int main(int argc, char **argv)
{
    static const int def_radii[] = { 0, 16, 24, 31, 32, 36, 40, 44, 48, 52, 56, 60, 64 };
    char path[4096], err[PHM_ERRMSG_MAX];
    phm_index *idx = NULL;
    phm_searcher *s = NULL;
    struct stat st;

    if (argc < 3) {
        fprintf(stderr, "usage: lookup_cost N DIR [Q [RADIUS...]]\n");
        return 2;
    }
    size_t n = strtoull(argv[1], NULL, 10), q = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000;
    snprintf(path, sizeof path, "%s/lookup_cost_%zu.phmi", argv[2], n);
    if (stat(path, &st) != 0) {
        double t0 = now();
        if (build(path, n))
            return 1;
        printf("built %zu entries in %.1f s\n", n, now() - t0);
    }
    phm_pdq *qs = malloc((q ? q : 1) * sizeof *qs);
    if (!qs)
        return 1;
    for (size_t i = 0; i < q; i++)
        random_hash(&qs[i]);
    if (phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err) ||
        phm_searcher_new(idx, &s, err, sizeof err)) {
        fprintf(stderr, "lookup_cost: %s\n", err);
        return 1;
    }
    int nr = argc > 4 ? argc - 4 : (int)(sizeof def_radii / sizeof def_radii[0]);
    /* radius 31 first, listed or not: every row's ratio needs it */
    double base = time_radius(s, qs, q, 31);
    if (base < 0)
        return 1;
    printf("%6s %10s %12s %8s\n", "radius", "seconds", "us/hash", "vs r31");
    for (int i = 0; i < nr; i++) {
        int r = argc > 4 ? atoi(argv[4 + i]) : def_radii[i];
        double best = r == 31 ? base : time_radius(s, qs, q, r);
        if (best < 0)
            return 1;
        printf("%6d %10.4f %12.1f %8.2f\n", r, best, best * 1e6 / (double)q,
               base > 0 ? best / base : 0.0);
    }
    phm_searcher_free(s);
    phm_index_close(idx);
    free(qs);
    return 0;
}
