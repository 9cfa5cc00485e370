/*
 * hash_cpu - library-only cost of decoding and PDQ-hashing files.
 *
 *     hash_cpu [-m full|cli512] [-s SIMD] [-j THREADS] [-d] [-H] FILE...
 *
 * Each thread owns a phm_decoder and a phm_hasher (as the CLI's workers do)
 * and takes the next file from a shared counter; every file is read with
 * phm_decode_file() and hashed with phm_hash_image(). No output formatting,
 * no directory walk, no process start-up: what remains is the library's own
 * cost, the column that bench/run.sh prints beside the CLI's.
 *
 * Prints one tab-separated line (-H adds a header line first):
 *
 *     files  decode_cpu_s  hash_cpu_s  process_cpu_s  wall_s
 *
 * decode_cpu_s and hash_cpu_s are the per-thread CPU times of the two steps
 * summed over threads (CLOCK_THREAD_CPUTIME_ID); process_cpu_s is user+sys
 * of the whole process from getrusage(), start-up excluded; wall_s the
 * elapsed time of the loop. With -d files are only decoded (hash_cpu_s 0):
 * the in-process floor of libjpeg-turbo through TurboJPEG.
 *
 * Exit status: 0 all files hashed, 1 some file failed (named on stderr),
 * 2 usage.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "phmatch.h"

#define MAX_THREADS 256

typedef struct job {
    char **files;
    size_t nfiles;
    atomic_size_t next;
    atomic_size_t failed;
    phm_mode mode;
    phm_simd simd;
    int decode_only;
    int one_pass;
} job;

typedef struct worker {
    pthread_t tid;
    job *job;
    double decode_s, hash_s;
    int setup_failed;
} worker;

static double ts_seconds(const struct timespec *t)
{
    return (double)t->tv_sec + (double)t->tv_nsec * 1e-9;
}

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return ts_seconds(&t);
}

static double rusage_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static void *work(void *arg)
{
    worker *w = arg;
    job *j = w->job;
    phm_decoder *dec = NULL;
    phm_hasher *h = NULL;
    if (phm_decoder_new(&dec, NULL) != PHM_OK || phm_hasher_new(&h, j->simd) != PHM_OK) {
        fprintf(stderr, "hash_cpu: out of memory creating a worker\n");
        w->setup_failed = 1;
        goto out;
    }
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->nfiles)
            break;
        char err[PHM_ERRMSG_MAX];
        phm_image img;
        double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        if (j->one_pass) {
            /* phm_hash_file: rows stream from the decoder into the hasher. */
            phm_pdq_result r1;
            int rc1 = phm_hash_file(dec, h, j->files[i], j->mode, 0, &r1, NULL, err,
                                    sizeof err);
            w->hash_s += clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
            if (rc1 != PHM_OK) {
                fprintf(stderr, "hash_cpu: %s\n", err[0] ? err : phm_strerror(rc1));
                atomic_fetch_add(&j->failed, 1);
            }
            continue;
        }
        int rc = phm_decode_file(dec, j->files[i], &img, err, sizeof err);
        double t1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        w->decode_s += t1 - t0;
        if (rc < 0) {
            fprintf(stderr, "hash_cpu: %s\n", err[0] ? err : phm_strerror(rc));
            atomic_fetch_add(&j->failed, 1);
            continue;
        }
        if (j->decode_only)
            continue;
        phm_pdq_result r;
        rc = phm_hash_image(h, &img, j->mode, 0, &r);
        w->hash_s += clock_s(CLOCK_THREAD_CPUTIME_ID) - t1;
        if (rc != PHM_OK) {
            fprintf(stderr, "hash_cpu: cannot hash '%s': %s\n", j->files[i],
                    phm_strerror(rc));
            atomic_fetch_add(&j->failed, 1);
        }
    }
out:
    phm_hasher_free(h);
    phm_decoder_free(dec);
    return NULL;
}

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "hash_cpu: %s\n", msg);
    fputs("usage: hash_cpu [-m full|cli512] [-s auto|portable|avx2|avx512] "
          "[-j THREADS] [-d] [-H] FILE...\n"
          "  prints: files decode_cpu_s hash_cpu_s process_cpu_s wall_s\n"
          "  -d  decode only   -1  one pass (phm_hash_file: decode and hash\n"
          "      together; its time is reported as hash_cpu_s)\n"
          "  -H  print a header line first\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    job j = {.mode = PHM_MODE_FULL, .simd = PHM_SIMD_AUTO};
    long threads = 1;
    int header = 0, argi = 1;
    for (; argi < argc && argv[argi][0] == '-'; argi++) {
        const char *o = argv[argi];
        if (strcmp(o, "--") == 0) {
            argi++;
            break;
        }
        if (strcmp(o, "-1") == 0) {
            j.one_pass = 1;
            continue;
        }
        if (strcmp(o, "-d") == 0) {
            j.decode_only = 1;
        } else if (strcmp(o, "-H") == 0) {
            header = 1;
        } else if (strcmp(o, "-m") == 0 || strcmp(o, "-s") == 0 || strcmp(o, "-j") == 0) {
            if (++argi >= argc)
                return usage("option needs a value");
            const char *v = argv[argi];
            if (o[1] == 'm' && phm_mode_parse(v, &j.mode) != PHM_OK)
                return usage("-m: mode must be full or cli512");
            if (o[1] == 's' && phm_simd_parse(v, &j.simd) != PHM_OK)
                return usage("-s: unknown SIMD level");
            if (o[1] == 'j') {
                char *end;
                threads = strtol(v, &end, 10);
                if (*end || end == v || threads < 1 || threads > MAX_THREADS)
                    return usage("-j: threads must be 1-256");
            }
        } else {
            return usage("unknown option");
        }
    }
    if (argi >= argc)
        return usage("no files given");
    j.files = argv + argi;
    j.nfiles = (size_t)(argc - argi);

    worker w[MAX_THREADS];
    memset(w, 0, sizeof w);
    double cpu0 = rusage_cpu_s(), wall0 = clock_s(CLOCK_MONOTONIC);
    long started = 0;
    for (; started < threads; started++) {
        w[started].job = &j;
        if (pthread_create(&w[started].tid, NULL, work, &w[started]) != 0) {
            fprintf(stderr, "hash_cpu: cannot start thread %ld\n", started + 1);
            break;
        }
    }
    int setup_failed = started < threads;
    double decode_s = 0.0, hash_s = 0.0;
    for (long t = 0; t < started; t++) {
        pthread_join(w[t].tid, NULL);
        decode_s += w[t].decode_s;
        hash_s += w[t].hash_s;
        setup_failed |= w[t].setup_failed;
    }
    double wall = clock_s(CLOCK_MONOTONIC) - wall0;
    double cpu = rusage_cpu_s() - cpu0;
    if (header)
        printf("files\tdecode_cpu_s\thash_cpu_s\tprocess_cpu_s\twall_s\n");
    printf("%zu\t%.6f\t%.6f\t%.6f\t%.6f\n", j.nfiles, decode_s, hash_s, cpu, wall);
    size_t failed = atomic_load(&j.failed);
    if (failed)
        fprintf(stderr, "hash_cpu: %zu of %zu files failed\n", failed, j.nfiles);
    return failed || setup_failed ? 1 : 0;
}
