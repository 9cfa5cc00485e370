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
 *   search_bench gen DIR N uniform|clustered SEED
 *       writes DIR/db.bin and DIR/q.bin as build does, streamed (memory
 *       does not grow with N), every hash with 96..160 bits set (what the
 *       importers accept); build = gen, then import without spec.
 *   search_bench import DIR [spec]
 *       imports DIR/db.bin, read in chunks, into a fresh DIR/idx.phmi in
 *       one transaction: source "bench", id of 12 digits, or with "spec"
 *       issue 17's entries: id "i" + 11 digits and a category (A1, A2, B1,
 *       B2). Prints "import_s=.. rate=.. file_mb=.. file_bytes=.. n=..
 *       maxrss_mb=.. cpu_s=.." (cpu_s: user + sys seconds of the import,
 *       all threads).
 *   search_bench list DIR OUT.csv
 *       writes the same entries as `import DIR spec` as a csv list
 *       (hash,id,category) for `phmatch index import --source bench`.
 *   search_bench lookup-queries DIR NQ OUT.txt
 *       writes NQ hex queries for `phmatch lookup`: even lines a random
 *       entry with 5..30 bits flipped, odd lines a random hash.
 *   search_bench recall DIR NSAMPLE
 *       brute force over DIR/db.bin for the first NSAMPLE/2 near and far
 *       queries, compared with DIR/phm-radius.txt (radius 31). Prints
 *       "recall_queries=.. rows=.. results=.. mismatches=.. missed=..
 *       extra=.. recall=..".
 *   search_bench query DIR THREADS radius|knn NQ [RADIUS]
 *       opens DIR/idx.phmi read-only, times open + the first query, then
 *       answers queries 0..NQ/2-1 and 500..500+NQ/2-1 of q.bin (NQ = 1000:
 *       all) at radius RADIUS (default 31), or their nearest neighbour
 *       (k = 1, any distance), on THREADS threads. Writes the result sets to
 *       DIR/phm-MODE.txt ("q: row row ..." ascending; knn "q: distance"), and
 *       prints "open_ms=.. cold_qps=.. qps=.. cpu_qps=.. results=..
 *       maxrss_mb=.. open_rss_mb=..": open_rss_mb is the peak RSS after
 *       open + first query; cpu_qps is queries per CPU second of all threads
 *       (equal at 1 and 2 threads when nothing contends);
 *       BENCH_SEARCH_HOT=1 opens with PHM_INDEX_HOT_COPY (open_ms then
 *       includes making the copy); BENCH_SEARCH_BATCH=B (radius only)
 *       searches B queries at a time with phm_search_batch, as `phmatch
 *       lookup` and phmatchd do (a pass over the NQ queries: NQ a multiple
 *       of B keeps every batch full).
 *       cold_qps is the first pass over the queries (the index's pages
 *       faulted in), qps the second, which answers the queries
 *       BENCH_SEARCH_ROUNDS times (default 20 for radius, 1 for knn): one
 *       round of radius queries takes ~15 ms, short enough for a thread
 *       start or one time slice lost to another process on a shared machine
 *       to dominate, which made 2 threads look slower than 1.
 *   search_bench cold DIR RUNS
 *       RUNS times: evicts DIR/idx.phmi from the page cache
 *       (posix_fadvise POSIX_FADV_DONTNEED; other files stay cached), then
 *       times open + the first radius-31 query (query i of q.bin, the near
 *       ones) in this process. Prints "cold_ms=MEDIAN runs=a,b,..
 *       majflt=MEDIAN" (major page faults of open + query).
 *
 * Not a test. Built by bench/search.sh with the Makefile's flags. */
#include <fcntl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* A hash the importers accept: 96..160 bits set (docs/HASHLISTS.md,
 * "Validation"; about 1 in 16,000 uniform random hashes is outside). */
static int plausible(const phm_pdq *h)
{
    int c = 0;
    for (int i = 0; i < 4; i++)
        c += __builtin_popcountll(h->w[i]);
    return c >= 96 && c <= 160;
}

static void random_plausible(rng *r, phm_pdq *h)
{
    do
        random_hash(r, h);
    while (!plausible(h));
}

/* Rows written by cmd_gen at a time. */
#define GEN_CHUNK 65536

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Writes DIR/db.bin (n hashes, streamed: memory does not grow with n) and
 * DIR/q.bin (500 entries with 5..30 bits flipped, then 500 random). */
static int cmd_gen(const char *dir, size_t n, int clustered, uint64_t seed)
{
    char path[4096];
    rng r = { seed * 0x2545f4914f6cdd1dull + 1 };
    rng rq = { seed * 0x9e3779b97f4a7c15ull + 7 };
    phm_pdq *buf = malloc(GEN_CHUNK * sizeof *buf), q[NQUERIES], centre;
    size_t pick[NQUERIES / 2], fill = 0, next = 0, left = 0;
    FILE *fp = NULL;
    int status = 1;

    if (!buf)
        return 1;
    for (int i = 0; i < NQUERIES / 2; i++)
        pick[i] = (size_t)(rnd(&rq) % n);
    qsort(pick, NQUERIES / 2, sizeof *pick, cmp_size);
    snprintf(path, sizeof path, "%s/db.bin", dir);
    fp = fopen(path, "wb");
    if (!fp)
        goto out;
    /* Clustered: families of 1..20 near-duplicates (2..24 bits from their
     * centre), as re-encodings and edits of one picture give. */
    for (size_t i = 0; i < n; i++) {
        phm_pdq h;
        if (left == 0) {
            random_plausible(&r, &centre);
            h = centre;
            left = clustered ? (size_t)(rnd(&r) % 20) : 0;
        } else {
            do {
                h = centre;
                flip_bits(&r, &h, 2 + (int)(rnd(&r) % 23));
            } while (!plausible(&h));
            left--;
        }
        while (next < NQUERIES / 2 && pick[next] == i)
            q[next++] = h;
        buf[fill++] = h;
        if (fill == GEN_CHUNK || i + 1 == n) {
            if (fwrite(buf, sizeof *buf, fill, fp) != fill)
                goto out;
            fill = 0;
        }
    }
    if (fclose(fp) != 0) {
        fp = NULL;
        goto out;
    }
    fp = NULL;
    for (int i = 0; i < NQUERIES / 2; i++)
        flip_bits(&rq, &q[i], 5 + (int)(rnd(&rq) % 26));
    for (int i = NQUERIES / 2; i < NQUERIES; i++)
        random_hash(&rq, &q[i]);
    snprintf(path, sizeof path, "%s/q.bin", dir);
    if (write_file(path, q, sizeof q))
        goto out;
    status = 0;
out:
    if (status)
        fprintf(stderr, "search_bench: cannot write '%s'\n", path);
    if (fp)
        fclose(fp);
    free(buf);
    return status;
}

/* The metadata of row i. spec 0: source "bench", id of 12 digits (what
 * bench/search.sh always measured); spec 1 (issue 17's entries): also a
 * category, one of 4, and ids "i" + 11 digits. */
static const char *const categories[4] = { "A1", "A2", "B1", "B2" };
static void row_meta(size_t i, int spec, char *id, size_t len, const char **cat)
{
    /* the digits by hand: snprintf here cost ~3 % of an import's CPU,
     * time the library's figure should not include */
    size_t digits = spec ? 11 : 12, at = spec ? 1 : 0, v = i;
    if (len < at + digits + 1 || i >= (size_t)100000000000) {
        snprintf(id, len, spec ? "i%011zu" : "%012zu", i);
    } else {
        id[0] = 'i';
        for (size_t k = at + digits; k-- > at; v /= 10)
            id[k] = (char)('0' + v % 10);
        id[at + digits] = '\0';
    }
    *cat = spec ? categories[(i / 3) % 4] : NULL;
}

/* Imports DIR/db.bin (read in chunks) into a fresh DIR/idx.phmi in one
 * transaction (entry i+1 = row i). */
static int cmd_import(const char *dir, int spec)
{
    char path[4096], err[PHM_ERRMSG_MAX];
    phm_pdq *buf = malloc(GEN_CHUNK * sizeof *buf);
    phm_index *idx = NULL;
    phm_index_txn *txn = NULL;
    FILE *fp = NULL;
    int status = 1;
    size_t n = 0, got;

    snprintf(path, sizeof path, "%s/db.bin", dir);
    if (!buf || !(fp = fopen(path, "rb"))) {
        fprintf(stderr, "search_bench: cannot read '%s'\n", path);
        goto out;
    }
    snprintf(path, sizeof path, "%s/idx.phmi", dir);
    remove(path);
    double t0 = now(), c0 = cpu_now();
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err,
                       sizeof err) ||
        phm_index_txn_begin(idx, &txn, err, sizeof err)) {
        fprintf(stderr, "search_bench: %s\n", err);
        goto out;
    }
    while ((got = fread(buf, sizeof *buf, GEN_CHUNK, fp)) > 0) {
        for (size_t k = 0; k < got; k++, n++) {
            char id[24];
            const char *cat;
            row_meta(n, spec, id, sizeof id, &cat);
            phm_entry e = { .source = "bench", .id = id, .category = cat,
                            .signals = PHM_SIG_PDQ, .quality = 100, .added = 1,
                            .pdq = buf[k] };
            if (phm_index_add(txn, &e, err, sizeof err)) {
                fprintf(stderr, "search_bench: %s\n", err);
                goto out;
            }
        }
    }
    phm_index_txn *t = txn;
    txn = NULL;
    if (phm_index_txn_commit(t, NULL, err, sizeof err)) {
        fprintf(stderr, "search_bench: %s\n", err);
        goto out;
    }
    double secs = now() - t0, cpu_s = cpu_now() - c0;
    struct stat st;
    if (stat(path, &st) != 0)
        st.st_size = 0;
    printf("import_s=%.2f rate=%.0f file_mb=%.0f file_bytes=%lld n=%zu "
           "maxrss_mb=%.0f cpu_s=%.2f\n", secs, (double)n / secs, (double)st.st_size / 1e6,
           (long long)st.st_size, n, maxrss_mb(), cpu_s);
    status = 0;
out:
    phm_index_txn_abort(txn);
    phm_index_close(idx);
    if (fp)
        fclose(fp);
    free(buf);
    return status;
}

/* Closes the input `fp` and the output `o` (either may be NULL) of a
 * writer whose status so far is `status`; returns its final status, with
 * a message when it failed. */
static int close_files(FILE *fp, FILE *o, int status, const char *out,
                       const char *path)
{
    if (fp)
        fclose(fp);
    if (o && fclose(o) != 0)
        status = 1;
    if (status)
        fprintf(stderr, "search_bench: cannot write '%s' from '%s'\n", out, path);
    return status;
}

/* Writes the csv list `phmatch index import --source bench` reads to make
 * the same entries as cmd_import with spec 1: hash,id,category. */
static int cmd_list(const char *dir, const char *out)
{
    char path[4096];
    phm_pdq *buf = malloc(GEN_CHUNK * sizeof *buf);
    FILE *fp = NULL, *o = NULL;
    size_t n = 0, got;
    int status = 1;

    snprintf(path, sizeof path, "%s/db.bin", dir);
    if (!buf || !(fp = fopen(path, "rb")) || !(o = fopen(out, "w")))
        goto out;
    fputs("hash,id,category\n", o);
    while ((got = fread(buf, sizeof *buf, GEN_CHUNK, fp)) > 0)
        for (size_t k = 0; k < got; k++, n++) {
            char hex[PHM_PDQ_HEX_LEN + 1], id[24];
            const char *cat;
            row_meta(n, 1, id, sizeof id, &cat);
            phm_pdq_to_hex(&buf[k], hex);
            fprintf(o, "%s,%s,%s\n", hex, id, cat);
        }
    status = 0;
out:
    status = close_files(fp, o, status, out, path);
    free(buf);
    return status;
}

/* Writes NQ lookup queries as hex lines to OUT: the even ones an entry
 * (a random row of db.bin) with 5..30 bits flipped, the odd ones random. */
static int cmd_lookup_queries(const char *dir, size_t nq, const char *out)
{
    char path[4096];
    rng r = { 0x5eed1234567ull };
    FILE *fp = NULL, *o = NULL;
    int status = 1;
    long long rows;

    snprintf(path, sizeof path, "%s/db.bin", dir);
    if (!(fp = fopen(path, "rb")) || fseeko(fp, 0, SEEK_END) != 0 ||
        (rows = (long long)(ftello(fp) / (off_t)sizeof(phm_pdq))) <= 0 ||
        !(o = fopen(out, "w")))
        goto out;
    for (size_t i = 0; i < nq; i++) {
        phm_pdq h;
        char hex[PHM_PDQ_HEX_LEN + 1];
        if (i % 2 == 0) {
            off_t at = (off_t)(rnd(&r) % (uint64_t)rows) * (off_t)sizeof h;
            if (fseeko(fp, at, SEEK_SET) != 0 || fread(&h, sizeof h, 1, fp) != 1)
                goto out;
            do {
                phm_pdq c = h;
                flip_bits(&r, &c, 5 + (int)(rnd(&r) % 26));
                if (plausible(&c)) {
                    h = c;
                    break;
                }
            } while (1);
        } else {
            random_plausible(&r, &h);
        }
        phm_pdq_to_hex(&h, hex);
        fprintf(o, "%s\n", hex);
    }
    status = 0;
out:
    status = close_files(fp, o, status, out, path);
    return status;
}

/* Brute force: scans DIR/db.bin for the queries of DIR/phm-radius.txt
 * (written by `query DIR T radius NQ`), the first NS/2 near and NS/2 far
 * ones, and compares each result set with phmatch's. Prints
 * "recall_queries=.. mismatches=.. missed=.. extra=.. recall=..". */
static int cmd_recall(const char *dir, size_t ns, int radius)
{
    char path[4096];
    size_t qlen = 0, got, row = 0;
    phm_pdq *q = NULL, *buf = malloc(GEN_CHUNK * sizeof *buf);
    FILE *fp = NULL;
    int status = 1;
    size_t qi[NQUERIES], nqs = 0, *cnt = NULL, *cap = NULL;
    uint64_t **want = NULL;

    snprintf(path, sizeof path, "%s/q.bin", dir);
    q = read_file(path, &qlen);
    if (!q || qlen != NQUERIES * sizeof *q || !buf)
        goto out;
    if (ns > NQUERIES)
        ns = NQUERIES;
    for (size_t i = 0; i < ns / 2; i++) {
        qi[nqs++] = i;
        qi[nqs++] = NQUERIES / 2 + i;
    }
    cnt = calloc(nqs ? nqs : 1, sizeof *cnt);
    cap = calloc(nqs ? nqs : 1, sizeof *cap);
    want = calloc(nqs ? nqs : 1, sizeof *want);
    snprintf(path, sizeof path, "%s/db.bin", dir);
    if (!cnt || !cap || !want || !(fp = fopen(path, "rb")))
        goto out;
    while ((got = fread(buf, sizeof *buf, GEN_CHUNK, fp)) > 0) {
        for (size_t k = 0; k < got; k++, row++)
            for (size_t j = 0; j < nqs; j++) {
                if (phm_pdq_distance(&q[qi[j]], &buf[k]) > radius)
                    continue;
                if (cnt[j] == cap[j]) {
                    size_t nc = cap[j] ? cap[j] * 2 : 16;
                    uint64_t *nw = realloc(want[j], nc * sizeof *nw);
                    if (!nw)
                        goto out;
                    want[j] = nw;
                    cap[j] = nc;
                }
                want[j][cnt[j]++] = row; /* ascending */
            }
    }
    fclose(fp);
    /* phm-radius.txt: "q: row row ..." ascending, one line per query */
    snprintf(path, sizeof path, "%s/phm-radius.txt", dir);
    fp = fopen(path, "r");
    if (!fp)
        goto out;
    char line[1 << 16];
    size_t mism = 0, missed = 0, extra = 0, seen = 0, total = 0;
    while (fgets(line, sizeof line, fp)) {
        char *p = line, *e;
        size_t k = strtoull(p, &e, 10), j;
        if (*e != ':')
            continue;
        for (j = 0; j < nqs && qi[j] != k; j++)
            ;
        if (j == nqs)
            continue;
        seen++;
        total += cnt[j];
        size_t a = 0, bad = 0;
        p = e + 1;
        for (;;) {
            uint64_t v = strtoull(p, &e, 10);
            if (e == p)
                break;
            p = e;
            while (a < cnt[j] && want[j][a] < v) {
                a++, missed++, bad = 1;
            }
            if (a < cnt[j] && want[j][a] == v)
                a++;
            else
                extra++, bad = 1;
        }
        missed += cnt[j] - a;
        bad |= a < cnt[j];
        mism += bad;
    }
    if (seen != nqs) {
        fprintf(stderr, "search_bench: '%s' has %zu of the %zu sampled queries\n",
                path, seen, nqs);
        goto out;
    }
    printf("recall_queries=%zu rows=%zu results=%zu mismatches=%zu missed=%zu "
           "extra=%zu recall=%.3f\n", nqs, row, total, mism, missed, extra,
           total ? (double)(total - missed) / (double)total : 1.0);
    status = 0;
out:
    if (status)
        fprintf(stderr, "search_bench: recall check failed ('%s')\n", path);
    if (fp)
        fclose(fp);
    for (size_t j = 0; want && j < nqs; j++)
        free(want[j]);
    free(want);
    free(cnt);
    free(cap);
    free(buf);
    free(q);
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
    const char *be = getenv("BENCH_SEARCH_BATCH");
    size_t batch = be && *be ? strtoull(be, NULL, 10) : 1;
    if (batch > nq)
        batch = nq;
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
        if (batch > 1 && !knn && s) {
            /* BENCH_SEARCH_BATCH: phm_search_batch over runs of `batch`
             * queries (the lookup's and phmatchd's path) */
            /* every round searches all nq queries, the last batch of a
             * round the shorter one; only the last round keeps the rows,
             * so no two threads write the same query's (rounds > 1) */
            size_t nb = (nq + batch - 1) / batch;
#pragma omp for schedule(dynamic, 1)
            for (size_t b = 0; b < nb * rounds; b++) {
                size_t i = b % nb * batch, len = nq - i < batch ? nq - i : batch;
                const phm_match *mm;
                const size_t *off;
                if (phm_search_batch(s, &q[i], len, radius, 0, &mm, &off, e, sizeof e)) {
                    nfail++;
                    continue;
                }
                if (b / nb + 1 < rounds)
                    continue;
                for (size_t j = 0; j < len; j++) {
                    size_t c = off[j + 1] - off[j];
                    counts[i + j] = c;
                    rows[i + j] = malloc((c ? c : 1) * sizeof **rows);
                    if (!rows[i + j]) {
                        nfail++;
                        continue;
                    }
                    for (size_t x = 0; x < c; x++)
                        rows[i + j][x] = mm[off[j] + x].entry - 1;
                }
            }
            phm_searcher_free(s);
            s = NULL;
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
            if (k / nq + 1 < rounds)
                continue; /* only the last round keeps the rows (see above) */
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
    const char *hot = getenv("BENCH_SEARCH_HOT");
    unsigned oflags = PHM_INDEX_RDONLY | (hot && strcmp(hot, "1") == 0 ? PHM_INDEX_HOT_COPY : 0);
    if (phm_index_open(&idx, path, oflags, 0, PHM_SIMD_AUTO, err, sizeof err) ||
        phm_searcher_new(idx, &s0, err, sizeof err) ||
        phm_search_radius(s0, &q[0], radius, &m, &cnt, err, sizeof err)) {
        fprintf(stderr, "search_bench: %s\n", err);
        goto out;
    }
    double open_ms = (now() - t0) * 1e3, open_rss = maxrss_mb();
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
           "maxrss_mb=%.0f open_rss_mb=%.0f\n",
           open_ms, (double)nq / cold, (double)(nq * rounds) / secs,
           (double)(nq * rounds) / cpu_secs, results, maxrss_mb(), open_rss);
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmd_cold(const char *dir, size_t runs)
{
    char path[4096], qpath[4096], err[PHM_ERRMSG_MAX];
    size_t qlen = 0;
    snprintf(qpath, sizeof qpath, "%s/q.bin", dir);
    phm_pdq *q = read_file(qpath, &qlen);
    snprintf(path, sizeof path, "%s/idx.phmi", dir);
    double ms[64], flt[64];
    if (!q || qlen != NQUERIES * sizeof *q || runs < 1 || runs > 64) {
        fprintf(stderr, "search_bench: cannot read '%s' (or RUNS not 1..64)\n", qpath);
        free(q);
        return 1;
    }
    printf("cold_ms=");
    for (size_t i = 0; i < runs; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) {
            fprintf(stderr, "search_bench: cannot evict '%s'\n", path);
            free(q);
            return 1;
        }
        close(fd);
        struct rusage r0, r1;
        getrusage(RUSAGE_SELF, &r0);
        phm_index *idx = NULL;
        phm_searcher *s = NULL;
        const phm_match *m;
        size_t cnt;
        double t0 = now();
        if (phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err) ||
            phm_searcher_new(idx, &s, err, sizeof err) ||
            phm_search_radius(s, &q[i % (NQUERIES / 2)], PHM_PDQ_MATCH_DISTANCE, &m, &cnt, err,
                              sizeof err)) {
            fprintf(stderr, "search_bench: %s\n", err);
            phm_searcher_free(s);
            phm_index_close(idx);
            free(q);
            return 1;
        }
        ms[i] = (now() - t0) * 1e3;
        getrusage(RUSAGE_SELF, &r1);
        flt[i] = (double)(r1.ru_majflt - r0.ru_majflt);
        phm_searcher_free(s);
        phm_index_close(idx);
    }
    double sorted[64];
    memcpy(sorted, ms, runs * sizeof *ms);
    qsort(sorted, runs, sizeof *sorted, cmp_double);
    printf("%.1f runs=", sorted[runs / 2]);
    for (size_t i = 0; i < runs; i++)
        printf("%s%.1f", i ? "," : "", ms[i]);
    qsort(flt, runs, sizeof *flt, cmp_double);
    printf(" majflt=%.0f\n", flt[runs / 2]);
    free(q);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 6 && (strcmp(argv[1], "build") == 0 || strcmp(argv[1], "gen") == 0))) {
        size_t n = strtoull(argv[3], NULL, 10);
        int clustered = strcmp(argv[4], "clustered") == 0;
        if (n == 0 || (!clustered && strcmp(argv[4], "uniform") != 0))
            goto usage;
        int rc = cmd_gen(argv[2], n, clustered, strtoull(argv[5], NULL, 10));
        if (rc || strcmp(argv[1], "gen") == 0)
            return rc;
        return cmd_import(argv[2], 0);
    }
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "import") == 0)
        return cmd_import(argv[2], argc == 4 && strcmp(argv[3], "spec") == 0);
    if (argc == 4 && strcmp(argv[1], "list") == 0)
        return cmd_list(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "lookup-queries") == 0)
        return cmd_lookup_queries(argv[2], strtoull(argv[3], NULL, 10), argv[4]);
    if (argc == 4 && strcmp(argv[1], "cold") == 0)
        return cmd_cold(argv[2], strtoull(argv[3], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "recall") == 0)
        return cmd_recall(argv[2], strtoull(argv[3], NULL, 10),
                          PHM_PDQ_MATCH_DISTANCE);
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
    fputs("usage: search_bench build|gen DIR N uniform|clustered SEED\n"
          "       search_bench import DIR [spec]\n"
          "       search_bench list DIR OUT.csv\n"
          "       search_bench lookup-queries DIR NQ OUT.txt\n"
          "       search_bench recall DIR NSAMPLE\n"
          "       search_bench cold DIR RUNS\n"
          "       search_bench query DIR THREADS radius|knn NQ [RADIUS]\n",
          stderr);
    return 2;
}
