/*
 * svc_inproc - the in-process baseline of bench/service.sh: what phmatchd's
 * endpoints do, called directly, on THREADS threads (each its own decoder,
 * hasher and searcher, as phmatchd's workers have).
 *
 *   svc_inproc lookup INDEX THREADS SECONDS [BATCH]
 *       radius-31 searches of random hashes (BATCH per call, default 1)
 *   svc_inproc match INDEX THREADS SECONDS FILE...
 *       decode + hash + radius-31 search of the files, held in memory,
 *       round robin
 *
 * Prints one line: "calls/s p50_us p99_us" (latency of one call).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>

#include "phmatch.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct file {
    unsigned char *data;
    size_t len;
} file;

#define MAX_SAMPLES 2000000

int main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[1], "lookup") && strcmp(argv[1], "match")) ||
        (argv[1][0] == 'm' && argc < 6)) {
        fprintf(stderr, "usage: svc_inproc lookup INDEX THREADS SECONDS [BATCH]\n"
                        "       svc_inproc match INDEX THREADS SECONDS FILE...\n");
        return 2;
    }
    int do_match = argv[1][0] == 'm';
    int threads = (int)strtol(argv[3], NULL, 10);
    double seconds = strtod(argv[4], NULL);
    size_t batch = !do_match && argc > 5 ? (size_t)strtoul(argv[5], NULL, 10) : 1;
    char err[PHM_ERRMSG_MAX];
    phm_index *idx;
    file *files = NULL;
    int nfiles = 0;

    if (threads < 1 || batch < 1 || batch > 10000 || seconds <= 0)
        return 2;
    if (phm_index_open(&idx, argv[2], PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err)) {
        fprintf(stderr, "svc_inproc: %s\n", err);
        return 1;
    }
    if (do_match) {
        nfiles = argc - 5;
        files = calloc((size_t)nfiles, sizeof *files);
        for (int i = 0; i < nfiles; i++) {
            FILE *fp = fopen(argv[5 + i], "rb");
            if (!fp || fseek(fp, 0, SEEK_END))
                return 1;
            long n = ftell(fp);
            rewind(fp);
            files[i].data = malloc((size_t)n);
            files[i].len = fread(files[i].data, 1, (size_t)n, fp);
            fclose(fp);
        }
    }
    double *lat = calloc(MAX_SAMPLES, sizeof *lat);
    size_t nlat = 0;
    unsigned long long calls = 0;
    double t0 = now(), t1 = t0;
    int failed = 0;

#pragma omp parallel num_threads(threads) reduction(+ : calls)
    {
        phm_searcher *s = NULL;
        phm_decoder *dec = NULL;
        phm_hasher *h = NULL;
        char e[PHM_ERRMSG_MAX];
        phm_pdq *q = calloc(batch, sizeof *q);
        uint64_t seed = 12345u + (uint64_t)omp_get_thread_num() * 7919u;
        int k = omp_get_thread_num();
        if (phm_searcher_new(idx, &s, e, sizeof e) || phm_decoder_new(&dec, NULL) ||
            phm_hasher_new(&h, PHM_SIMD_AUTO)) {
#pragma omp atomic write
            failed = 1;
        }
        while (!failed) {
            double a = now();
            if (a - t0 >= seconds)
                break;
            const phm_match *m;
            const size_t *off;
            size_t n;
            if (do_match) {
                phm_pdq_result r;
                file *f = &files[k++ % nfiles];
                if (phm_hash_mem(dec, h, f->data, f->len, NULL, PHM_MODE_FULL, 0, &r, NULL,
                                 e, sizeof e) < 0 ||
                    phm_search_radius(s, &r.hash[0], 31, &m, &n, e, sizeof e))
                    failed = 1;
            } else {
                for (size_t i = 0; i < batch; i++)
                    for (int w = 0; w < 4; w++)
                        q[i].w[w] = splitmix(&seed);
                if (phm_search_batch(s, q, batch, 31, 0, &m, &off, e, sizeof e))
                    failed = 1;
            }
            phm_searcher_release(s);
            double b = now();
            calls++;
            size_t slot;
#pragma omp atomic capture
            slot = nlat++;
            if (slot < MAX_SAMPLES)
                lat[slot] = b - a;
        }
        phm_searcher_free(s);
        phm_decoder_free(dec);
        phm_hasher_free(h);
        free(q);
    }
    t1 = now();
    if (failed) {
        fprintf(stderr, "svc_inproc: a call failed\n");
        return 1;
    }
    if (nlat > MAX_SAMPLES)
        nlat = MAX_SAMPLES;
    qsort(lat, nlat, sizeof *lat, cmp_d);
    printf("%.1f %.1f %.1f\n", (double)calls / (t1 - t0), lat[nlat / 2] * 1e6,
           lat[(size_t)((double)nlat * 0.99)] * 1e6);
    free(lat);
    phm_index_close(idx);
    return 0;
}
