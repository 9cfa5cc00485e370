/* search_bench.c - the phmatch side of bench/search.sh: synthetic hashes,
 * bulk import into a fresh index, then exact radius and 1-NN queries on
 * 1..T threads through the public API (one phm_searcher per thread).
 *
 *   search_bench build DIR N uniform|clustered SEED
 *       writes DIR/db.bin (N hashes, 32 bytes each, the phm_pdq words as
 *       stored in memory: what FAISS reads as uint8 vectors), DIR/q.bin
 *       (1000 queries: 500 entries with 5..30 distinct bits flipped, then
 *       500 uniform random), and imports the N hashes into DIR/idx.phmi
 *       (entry i+1 = row i) in one transaction. Prints
 *       "import_s=.. rate=.. file_mb=.. maxrss_mb=..".
 *   search_bench query DIR THREADS radius|knn NQ [RADIUS]
 *       opens DIR/idx.phmi read-only, times open + the first query, then
 *       answers queries 0..NQ/2-1 and 500..500+NQ/2-1 of q.bin (NQ = 1000:
 *       all) at radius RADIUS (default 31), or their nearest neighbour
 *       (k = 1, any distance), on THREADS threads. Writes the result sets to
 *       DIR/phm-MODE.txt ("q: row row ..." ascending; knn "q: distance"), and
 *       prints "open_ms=.. cold_qps=.. qps=.. cpu_qps=.. results=..
 *       maxrss_mb=..": cpu_qps is queries per CPU second of all threads
 *       (equal at 1 and 2 threads when nothing contends);
 *       cold_qps is the first pass over the queries (the index's pages
 *       faulted in), qps the second, which answers the queries
 *       BENCH_SEARCH_ROUNDS times (default 20 for radius, 1 for knn): one
 *       round of radius queries takes ~15 ms, short enough for a thread
 *       start or one time slice lost to another process on a shared machine
 *       to dominate, which made 2 threads look slower than 1.
 *
 * Not a test. Built by bench/search.sh with the Makefile's flags. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "phmatch.h"

#define NQUERIES 1000

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
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

/* CPU seconds of all the process's threads. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double maxrss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static void random_hash(rng *r, phm_pdq *h)
{
    for (int i = 0; i < 4; i++)
        h->w[i] = rnd(r);
}

/* Flips `k` distinct random bits of h. */
static void flip_bits(rng *r, phm_pdq *h, int k)
{
    phm_pdq done = { { 0, 0, 0, 0 } };
    while (k > 0) {
        unsigned b = (unsigned)(rnd(r) & 255);
        uint64_t m = 1ull << (b & 63);
        if (done.w[b >> 6] & m)
            continue;
        done.w[b >> 6] |= m;
        h->w[b >> 6] ^= m;
        k--;
    }
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    int ok = fp && fwrite(data, 1, len, fp) == len;
    if (fp && fclose(fp) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "search_bench: cannot write '%s'\n", path);
    return ok ? 0 : -1;
}

static void *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    void *buf = NULL;
    if (!fp)
        goto fail;
    if (fseek(fp, 0, SEEK_END) != 0)
        goto fail;
    long n = ftell(fp);
    if (n <= 0 || fseek(fp, 0, SEEK_SET) != 0)
        goto fail;
    buf = malloc((size_t)n);
    if (!buf || fread(buf, 1, (size_t)n, fp) != (size_t)n)
        goto fail;
    fclose(fp);
    *len = (size_t)n;
    return buf;
fail:
    fprintf(stderr, "search_bench: cannot read '%s'\n", path);
    free(buf);
    if (fp)
        fclose(fp);
    return NULL;
}

static int cmd_build(const char *dir, size_t n, int clustered, uint64_t seed)
{
    char path[4096], err[PHM_ERRMSG_MAX];
    rng r = { seed * 0x2545f4914f6cdd1dull + 1 };
    phm_pdq *db = malloc(n * sizeof *db), q[NQUERIES];
    phm_index *idx = NULL;
    phm_index_txn *txn = NULL;
    int status = 1;

    if (!db) {
        fprintf(stderr, "search_bench: out of memory\n");
        return 1;
    }
    /* Clustered: families of 1..20 near-duplicates (2..24 bits from their
     * centre), as re-encodings and edits of one picture give. */
    for (size_t i = 0; i < n;) {
        random_hash(&r, &db[i]);
        size_t fam = clustered ? 1 + rnd(&r) % 20 : 1;
        phm_pdq centre = db[i++];
        for (size_t j = 1; j < fam && i < n; j++, i++) {
            db[i] = centre;
            flip_bits(&r, &db[i], 2 + (int)(rnd(&r) % 23));
        }
    }
    for (int i = 0; i < NQUERIES / 2; i++) {
        q[i] = db[rnd(&r) % n];
        flip_bits(&r, &q[i], 5 + (int)(rnd(&r) % 26));
    }
    for (int i = NQUERIES / 2; i < NQUERIES; i++)
        random_hash(&r, &q[i]);
    snprintf(path, sizeof path, "%s/db.bin", dir);
    if (write_file(path, db, n * sizeof *db))
        goto out;
    snprintf(path, sizeof path, "%s/q.bin", dir);
    if (write_file(path, q, sizeof q))
        goto out;

    snprintf(path, sizeof path, "%s/idx.phmi", dir);
    remove(path);
    double t0 = now();
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err,
                       sizeof err) ||
        phm_index_txn_begin(idx, &txn, err, sizeof err)) {
        fprintf(stderr, "search_bench: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char id[24];
        snprintf(id, sizeof id, "%012zu", i);
        phm_entry e = { .source = "bench", .id = id, .signals = PHM_SIG_PDQ,
                        .quality = 100, .added = 1, .pdq = db[i] };
        if (phm_index_add(txn, &e, err, sizeof err)) {
            fprintf(stderr, "search_bench: %s\n", err);
            goto out;
        }
    }
    phm_index_txn *t = txn;
    txn = NULL;
    if (phm_index_txn_commit(t, NULL, err, sizeof err)) {
        fprintf(stderr, "search_bench: %s\n", err);
        goto out;
    }
    double secs = now() - t0;
    struct stat st;
    if (stat(path, &st) != 0)
        st.st_size = 0;
    printf("import_s=%.2f rate=%.0f file_mb=%.0f maxrss_mb=%.0f\n", secs,
           (double)n / secs, (double)st.st_size / 1e6, maxrss_mb());
    status = 0;
out:
    phm_index_txn_abort(txn);
    phm_index_close(idx);
    free(db);
    return status;
}

/* Answers queries q[0..nq) on `threads` threads, one searcher each, into
 * counts[] and rows[] (entry - 1, or the distance for knn). Returns the
 * seconds taken; *failed counts failed searches. */
static double run_pass(phm_index *idx, const phm_pdq *q, size_t nq,
                       size_t rounds, int threads, int knn, int radius,
                       size_t *counts, uint64_t **rows, int *failed)
{
    int nfail = 0;
    for (size_t i = 0; i < nq; i++) {
        free(rows[i]);
        rows[i] = NULL;
        counts[i] = 0;
    }
    double t1 = now();
#pragma omp parallel num_threads(threads) reduction(+ : nfail)
    {
        phm_searcher *s = NULL;
        char e[PHM_ERRMSG_MAX];
        if (phm_searcher_new(idx, &s, e, sizeof e)) {
            fprintf(stderr, "search_bench: %s\n", e);
            nfail++;
        }
#pragma omp for schedule(dynamic, 4)
        for (size_t k = 0; k < nq * rounds; k++) {
            size_t i = k % nq;
            const phm_match *mm;
            size_t c;
            if (!s)
                continue;
            int rc = knn ? phm_search_knn(s, &q[i], 1, PHM_PDQ_BITS, &mm, &c,
                                          e, sizeof e)
                         : phm_search_radius(s, &q[i], radius, &mm, &c, e,
                                             sizeof e);
            if (rc) {
                nfail++;
                continue;
            }
            free(rows[i]); /* an earlier round's, the same set */
            counts[i] = c;
            rows[i] = malloc((c ? c : 1) * sizeof **rows);
            if (!rows[i]) {
                nfail++;
                continue;
            }
            for (size_t j = 0; j < c; j++)
                rows[i][j] = knn ? (uint64_t)mm[j].distance : mm[j].entry - 1;
        }
        phm_searcher_free(s);
    }
    *failed += nfail;
    return now() - t1;
}

static int cmd_query(const char *dir, int threads, int knn, size_t nq,
                     size_t rounds, int radius)
{
    char path[4096], err[PHM_ERRMSG_MAX];
    size_t qlen = 0;
    phm_pdq *all = NULL, q[NQUERIES];
    phm_index *idx = NULL;
    phm_searcher *s0 = NULL;
    const phm_match *m;
    size_t cnt;
    int status = 1, failed = 0;
    size_t *counts = NULL;
    uint64_t **rows = NULL;

    snprintf(path, sizeof path, "%s/q.bin", dir);
    all = read_file(path, &qlen);
    if (!all || qlen != sizeof q)
        goto out;
    if (nq > NQUERIES)
        nq = NQUERIES;
    for (size_t i = 0; i < nq / 2; i++) {
        q[i] = all[i];
        q[nq / 2 + i] = all[NQUERIES / 2 + i];
    }
    nq = nq / 2 * 2;

    snprintf(path, sizeof path, "%s/idx.phmi", dir);
    double t0 = now();
    if (phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err,
                       sizeof err) ||
        phm_searcher_new(idx, &s0, err, sizeof err) ||
        phm_search_radius(s0, &q[0], radius, &m, &cnt, err, sizeof err)) {
        fprintf(stderr, "search_bench: %s\n", err);
        goto out;
    }
    double open_ms = (now() - t0) * 1e3;
    phm_searcher_free(s0);
    s0 = NULL;

    counts = calloc(nq, sizeof *counts);
    rows = calloc(nq, sizeof *rows);
    if (!counts || !rows)
        goto out;
    /* Two passes: the first also faults the index's pages in (a fresh
     * process on a just-written file), the second is the steady state. */
    double cold = run_pass(idx, q, nq, 1, threads, knn, radius, counts, rows,
                           &failed);
    double cpu0 = cpu_now();
    double secs = failed ? 0 : run_pass(idx, q, nq, rounds, threads, knn, radius,
                                        counts, rows, &failed);
    double cpu_secs = cpu_now() - cpu0;
    if (failed) {
        fprintf(stderr, "search_bench: %d searches failed\n", failed);
        goto out;
    }

    snprintf(path, sizeof path, "%s/phm-%s.txt", dir, knn ? "knn" : "radius");
    FILE *fp = fopen(path, "w");
    size_t results = 0;
    for (size_t i = 0; fp && i < nq; i++) {
        size_t qi = i < nq / 2 ? i : NQUERIES / 2 + (i - nq / 2);
        fprintf(fp, "%zu:", qi);
        if (!knn) {
            /* ascending rows: sort the distance-ordered result */
            for (size_t a = 1; a < counts[i]; a++)
                for (size_t b = a; b > 0 && rows[i][b - 1] > rows[i][b]; b--) {
                    uint64_t tmp = rows[i][b];
                    rows[i][b] = rows[i][b - 1];
                    rows[i][b - 1] = tmp;
                }
        }
        for (size_t j = 0; j < counts[i]; j++)
            fprintf(fp, " %llu", (unsigned long long)rows[i][j]);
        fputc('\n', fp);
        results += counts[i];
    }
    if (!fp || fclose(fp) != 0) {
        fprintf(stderr, "search_bench: cannot write '%s'\n", path);
        goto out;
    }
    printf("open_ms=%.1f cold_qps=%.0f qps=%.0f cpu_qps=%.0f results=%zu "
           "maxrss_mb=%.0f\n",
           open_ms, (double)nq / cold, (double)(nq * rounds) / secs,
           (double)(nq * rounds) / cpu_secs, results, maxrss_mb());
    status = 0;
out:
    if (rows)
        for (size_t i = 0; i < nq; i++)
            free(rows[i]);
    free(rows);
    free(counts);
    phm_searcher_free(s0);
    phm_index_close(idx);
    free(all);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "build") == 0) {
        size_t n = strtoull(argv[3], NULL, 10);
        int clustered = strcmp(argv[4], "clustered") == 0;
        if (n == 0 || (!clustered && strcmp(argv[4], "uniform") != 0))
            goto usage;
        return cmd_build(argv[2], n, clustered, strtoull(argv[5], NULL, 10));
    }
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "query") == 0) {
        int threads = (int)strtol(argv[3], NULL, 10);
        int knn = strcmp(argv[4], "knn") == 0;
        size_t nq = strtoull(argv[5], NULL, 10);
        int radius = argc == 7 ? (int)strtol(argv[6], NULL, 10)
                               : PHM_PDQ_MATCH_DISTANCE;
        if (threads < 1 || nq < 2 || (!knn && strcmp(argv[4], "radius") != 0))
            goto usage;
        const char *r = getenv("BENCH_SEARCH_ROUNDS");
        size_t rounds = knn ? 1 : 20;
        if (r && *r)
            rounds = strtoull(r, NULL, 10);
        if (rounds < 1)
            rounds = 1;
        return cmd_query(argv[2], threads, knn, nq, rounds, radius);
    }
usage:
    fputs("usage: search_bench build DIR N uniform|clustered SEED\n"
          "       search_bench query DIR THREADS radius|knn NQ [RADIUS]\n",
          stderr);
    return 2;
}
