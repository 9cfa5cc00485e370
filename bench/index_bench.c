/* index_bench.c - end-to-end benchmark of the index on synthetic hashes:
 * bulk import into a fresh file, open + first query, exact radius-31 and
 * 1-NN queries on one thread, with recall checked against brute force.
 * Not part of `make check`. Build and run from the top directory:
 *
 *   make BUILD=build-index lib
 *   cc -O2 -std=c11 -D_DEFAULT_SOURCE -Iinclude -fopenmp \
 *       bench/index_bench.c build-index/libphmatch.a \
 *       $(pkg-config --libs libturbojpeg libpng lmdb libcrypto) -lm \
 *       -o build-index/index_bench
 *   build-index/index_bench N DIR [simd] [shuffle]
 *   build-index/index_bench floor BYTES DIR
 *   build-index/index_bench hexlist N FILE
 *
 * DIR should be on the file system the index will live on.
 *
 * The floor mode times what any LMDB commit of BYTES bytes must do at the
 * least without MDB_WRITEMAP: fill that many bytes of fresh memory (the
 * transaction's dirty pages), write them to a new file and sync it. On a
 * virtual machine the first touch of a page can cost far more than the
 * copy itself; the import benchmark prints this floor beside the import.
 *
 * The hexlist mode writes N random PDQ hashes as hex, one per line, each
 * with 96..160 bits set (import refuses the rare others; docs/HASHLISTS.md,
 * "Validation"): the list bench/import.sh imports through the CLI, the same
 * on every machine (a fixed seed), in a second where a shell pipeline took
 * minutes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "phmatch.h"

static uint64_t rs = 0x1234567;
static uint64_t rnd(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
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

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Fills `bytes` of fresh memory, writes them to a new file in `dir`, syncs
 * and removes it; prints the times. */
static int write_floor(size_t bytes, const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/floor-%ld.tmp", dir, (long)getpid());
    double t0 = now(), c0 = cpu();
    unsigned char *buf = malloc(bytes ? bytes : 1);
    if (!buf) {
        fprintf(stderr, "floor: out of memory for %zu bytes\n", bytes);
        return 1;
    }
    for (size_t i = 0; i < bytes; i += 4096)
        memset(buf + i, (int)(i >> 12), bytes - i < 4096 ? bytes - i : 4096);
    double t1 = now();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        free(buf);
        return 1;
    }
    size_t done = 0;
    while (done < bytes) {
        size_t chunk = bytes - done < ((size_t)1 << 24) ? bytes - done : (size_t)1 << 24;
        ssize_t w = write(fd, buf + done, chunk);
        if (w <= 0) {
            perror(path);
            close(fd);
            unlink(path);
            free(buf);
            return 1;
        }
        done += (size_t)w;
    }
    int rc = fdatasync(fd);
    double t2 = now();
    close(fd);
    unlink(path);
    free(buf);
    if (rc) {
        perror(path);
        return 1;
    }
    printf("floor: %.2f s (fill memory %.2f s, write and sync %.2f s) for %.0f MB; cpu %.2f s\n",
           t2 - t0, t1 - t0, t2 - t1, bytes / 1e6, cpu() - c0);
    return 0;
}

static int write_hexlist(size_t n, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    static const char hex[] = "0123456789abcdef";
    char line[65];
    line[64] = '\n';
    for (size_t i = 0; i < n;) {
        uint64_t w[4];
        int bits = 0;
        for (int j = 0; j < 4; j++)
            bits += __builtin_popcountll(w[j] = rnd());
        if (bits < 96 || bits > 160)
            continue;
        for (int j = 0; j < 64; j++)
            line[j] = hex[w[j / 16] >> (60 - 4 * (j % 16)) & 15];
        if (fwrite(line, 1, sizeof line, f) != sizeof line)
            break;
        i++;
    }
    if (ferror(f) | fclose(f)) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || ((strcmp(argv[1], "floor") == 0 || strcmp(argv[1], "hexlist") == 0) &&
                     argc != 4)) {
        fprintf(stderr, "usage: index_bench N DIR [simd] [shuffle]\n"
                        "       index_bench floor BYTES DIR\n"
                        "       index_bench hexlist N FILE\n");
        return 2;
    }
    if (strcmp(argv[1], "floor") == 0)
        return write_floor(strtoull(argv[2], NULL, 10), argv[3]);
    if (strcmp(argv[1], "hexlist") == 0)
        return write_hexlist(strtoull(argv[2], NULL, 10), argv[3]);
    size_t n = strtoull(argv[1], NULL, 10);
    if (n == 0 || n > 9999999999ull) { /* ids of ten digits */
        fprintf(stderr, "index_bench: N must be 1..9999999999\n");
        return 2;
    }
    char path[1024], err[PHM_ERRMSG_MAX];
    snprintf(path, sizeof path, "%s/bench-%zu.phmi", argv[2], n);
    phm_simd simd = PHM_SIMD_AUTO;
    if (argc > 3)
        phm_simd_parse(argv[3], &simd);
    int shuffle = argc > 4 && strtol(argv[4], NULL, 10) != 0;
    unlink(path);
    char lock[1100];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(lock);

    phm_pdq *h = malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 4; j++)
            h[i].w[j] = rnd();
    size_t *order = malloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    if (shuffle)
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = rnd() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }

    /* import */
    phm_index *idx;
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, simd, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t0 = now(), c0 = cpu();
    phm_index_txn *t;
    phm_index_txn_begin(idx, &t, err, sizeof err);
    /* one entry, its id and hash set for each add: a phm_entry is ~2.4 KB,
     * and clearing one per add was a fifth of the adds' samples (the
     * bench's own work) */
    char id[11];
    phm_entry e = { .source = "bench", .id = id, .category = "c", .signals = PHM_SIG_PDQ,
                    .quality = 100 };
    id[10] = '\0';
    memset(id, '0', 10);
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        /* ten digits, as "%010zu" would print them, without snprintf
         * (an eighth of the adds' samples, the bench's own work); in key
         * order by counting up (ten divisions an add were 4 % of the
         * samples) */
        if (shuffle) {
            size_t v = i;
            for (int d = 9; d >= 0; d--, v /= 10)
                id[d] = (char)('0' + v % 10);
        } else if (k) {
            int d = 9;
            while (id[d] == '9')
                id[d--] = '0';
            id[d]++;
        }
        e.pdq = h[i];
        if (phm_index_add(t, &e, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    double t1 = now();
    if (phm_index_txn_commit(t, NULL, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t2 = now();
    phm_index_close(idx);
    struct stat st;
    stat(path, &st);
    printf("n=%zu simd=%s ids=%s\n", n, phm_simd_name(phm_simd_resolve(simd)),
           shuffle ? "shuffled" : "sorted");
    printf("import: %.2f s (adds %.2f s, commit %.2f s) = %.0f hashes/s; cpu %.2f s; "
           "file %.0f MB\n", t2 - t0, t1 - t0, t2 - t1, n / (t2 - t0), cpu() - c0,
           st.st_size / 1e6);

    fflush(stdout);
    if (getenv("IMPORT_ONLY"))
        return 0;
    /* open + first query, in a fresh process */
    pid_t pid = fork();
    if (pid == 0) {
        double a = now();
        phm_searcher *s;
        const phm_match *m;
        size_t cnt;
        if (phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, simd, err, sizeof err) ||
            phm_searcher_new(idx, &s, err, sizeof err) ||
            phm_search_radius(s, &h[n / 2], 31, &m, &cnt, err, sizeof err))
            _exit(1);
        double b = now();
        printf("open + first query (fresh process, warm page cache): %.3f s, %zu match\n",
               b - a, cnt);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    if (phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, simd, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    phm_searcher *s;
    phm_searcher_new(idx, &s, err, sizeof err);
    enum { NQ = 2000 };
    phm_pdq *q = malloc(NQ * sizeof *q);
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
    const phm_match *m;
    size_t cnt, total = 0;
    double qc0 = 0;
    for (int pass = 0; pass < 2; pass++) { /* pass 0 warms the page cache */
        total = 0;
        t0 = now();
        qc0 = cpu();
        for (size_t i = 0; i < NQ; i++) {
            phm_search_radius(s, &q[i], 31, &m, &cnt, err, sizeof err);
            total += cnt;
        }
        t1 = now();
    }
    printf("radius 31: %.0f q/s on 1 thread, %.0f q per CPU second (%zu matches for %d "
           "queries)\n", NQ / (t1 - t0), NQ / (cpu() - qc0), total, NQ);
    /* recall against brute force on a sample */
    size_t checked = n > 2000000 ? 50 : 200, missed = 0, extra = 0;
    for (size_t i = 0; i < checked; i++) {
        /* the brute force's distances against the search's, as counts per
         * distance: the two lists need not come in the same order */
        size_t per_d[32] = { 0 };
        for (size_t j = 0; j < n; j++) {
            int d = phm_pdq_distance(&q[i], &h[j]);
            if (d <= 31)
                per_d[d]++;
        }
        phm_search_radius(s, &q[i], 31, &m, &cnt, err, sizeof err);
        for (size_t j = 0; j < cnt; j++) {
            int d = m[j].distance;
            if (d < 0 || d > 31 || per_d[d] == 0)
                extra++;
            else
                per_d[d]--;
        }
        for (int d = 0; d < 32; d++)
            missed += per_d[d];
    }
    printf("recall check on %zu queries: %zu missed, %zu extra\n", checked, missed, extra);
    int knn = n > 2000000 ? 20 : 100;
    t0 = now();
    for (int i = 0; i < knn; i++)
        phm_search_knn(s, &q[i], 1, 256, &m, &cnt, err, sizeof err);
    t1 = now();
    printf("1-NN unbounded: %.1f q/s (%d queries, half far: linear scan)\n", knn / (t1 - t0), knn);
    t0 = now();
    for (int i = 0; i < NQ; i++)
        phm_search_knn(s, &q[i], 1, 31, &m, &cnt, err, sizeof err);
    t1 = now();
    printf("1-NN within 31: %.0f q/s\n", NQ / (t1 - t0));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("max RSS %.0f MB\n", (double)ru.ru_maxrss * 1024 / 1e6); /* ru_maxrss: KiB */
    phm_searcher_free(s);
    phm_index_close(idx);
    free(q);
    free(h);
    free(order);
    return 0;
}
