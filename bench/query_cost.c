/*
 * query_cost - the library's CPU cost of a query's hashes (issue 15,
 * wt-onepass): the image's own hash, its trimmed hash and its two caption
 * cuts (and with -s the soft hash), three ways, on the same files:
 *
 *   separate  what phmatch match --robust and phmatchd's ?robust=1 did
 *             before phm_hash_mem_query: phm_hash_mem_trim (one pass),
 *             then phm_decode_mem again and phm_hash_cuts (phm_hash_soft)
 *   query     phm_hash_mem_query: one decode, a JPEG's rows streamed to
 *             the hasher, the cuts' helper hashers and the soft shrink
 *   whole     the other design measured: phm_decode_mem once (the image
 *             held whole), then phm_hash_image, phm_trim_detect on the
 *             full pixels with the content hashed when found,
 *             phm_hash_cuts (phm_hash_soft)
 *   plain, trim  the floors: phm_hash_mem alone; phm_hash_mem_trim
 *
 *     query_cost [-r ROUNDS] [-s] FILE...
 *
 * The files are read into memory first; each round runs every way over
 * every file, the ways in turn (interleaved), timed with the thread's CPU
 * clock. Prints, per way, the median over the rounds of the CPU
 * milliseconds per image, and the ratio to `separate`. Also checks that
 * `query` gives the hashes of `separate` (exit 1 if not).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phmatch.h"

typedef struct file {
    unsigned char *data;
    size_t len;
    const char *name;
} file;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int read_file(const char *path, file *f)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    int rc = -1;
    long n;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (f->data = malloc((size_t)n)) && fread(f->data, 1, (size_t)n, fp) == (size_t)n) {
        f->len = (size_t)n;
        f->name = path;
        rc = 0;
    }
    fclose(fp);
    return rc;
}

enum { SEPARATE, QUERY, WHOLE, PLAIN, TRIM, WAYS };
static const char *const way_name[WAYS] = { "separate", "query", "whole", "plain", "trim" };

/* One file one way; the hashes into *q (for the check). */
static void run(int way, phm_decoder *dec, phm_hasher *h, const file *f, int soft,
                phm_query_hashes *q)
{
    char err[PHM_ERRMSG_MAX];
    phm_image img;
    memset(q, 0, sizeof *q);
    if (way == PLAIN || way == TRIM) { /* the floors: the own hash, + trimming */
        phm_hash_mem_trim(dec, h, f->data, f->len, f->name, PHM_MODE_FULL, 1, &q->pdq,
                          &q->info, way == TRIM ? &q->trim : NULL, err, sizeof err);
        return;
    }
    if (way == QUERY) {
        phm_query_options o = { .mode = PHM_MODE_FULL, .dihedral = 1, .trim = 1, .cuts = 1, .soft = soft };
        phm_hash_mem_query(dec, h, f->data, f->len, f->name, &o, q, err, sizeof err);
        return;
    }
    if (way == SEPARATE) {
        int rc = phm_hash_mem_trim(dec, h, f->data, f->len, f->name, PHM_MODE_FULL, 1, &q->pdq,
                                   &q->info, &q->trim, err, sizeof err);
        if (rc < 0 || phm_decode_mem(dec, f->data, f->len, f->name, &img, err, sizeof err) < 0)
            return;
    } else {
        if (phm_decode_mem(dec, f->data, f->len, f->name, &img, err, sizeof err) < 0 ||
            phm_hash_image(h, &img, PHM_MODE_FULL, 1, &q->pdq) != PHM_OK)
            return;
        phm_image v;
        if (phm_trim_detect(&img, &q->trim.content) == 1 &&
            phm_image_view(&img, &q->trim.content, &v) == PHM_OK)
            q->trim.found =
                phm_hash_image(h, &v, PHM_MODE_FULL, 1, &q->trim.pdq) == PHM_OK;
    }
    q->cut_ok = phm_hash_cuts(h, &img, PHM_MODE_FULL, 1, q->cut);
    if (soft)
        q->has_soft = phm_hash_soft(h, &img, PHM_MODE_FULL, 1, &q->soft) == PHM_OK;
}

static int same(const phm_query_hashes *a, const phm_query_hashes *b)
{
    if (memcmp(&a->pdq.hash, &b->pdq.hash, sizeof a->pdq.hash) || a->cut_ok != b->cut_ok ||
        a->trim.found != b->trim.found || a->has_soft != b->has_soft)
        return 0;
    for (int k = 0; k < PHM_CUT_COUNT; k++)
        if ((a->cut_ok & (1u << k)) &&
            memcmp(&a->cut[k].hash, &b->cut[k].hash, sizeof a->cut[k].hash))
            return 0;
    return (!a->trim.found || !memcmp(&a->trim.pdq.hash, &b->trim.pdq.hash,
                                      sizeof a->trim.pdq.hash)) &&
           (!a->has_soft || !memcmp(&a->soft.hash, &b->soft.hash, sizeof a->soft.hash));
}

int main(int argc, char **argv)
{
    int rounds = 3, soft = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-s"))
            soft = 1;
        else
            break;
    }
    if (i >= argc || rounds < 1 || rounds > 99) {
        fprintf(stderr, "usage: query_cost [-r ROUNDS] [-s] FILE...\n");
        return 2;
    }
    size_t n = (size_t)(argc - i);
    file *files = calloc(n, sizeof *files);
    phm_decoder *dec;
    phm_hasher *h;
    if (!files || phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO)) {
        fprintf(stderr, "query_cost: out of memory\n");
        return 2;
    }
    for (size_t k = 0; k < n; k++)
        if (read_file(argv[i + (int)k], &files[k])) {
            fprintf(stderr, "query_cost: cannot read '%s'\n", argv[i + (int)k]);
            return 2;
        }
    double *ms = calloc((size_t)WAYS * (size_t)rounds, sizeof *ms);
    phm_query_hashes *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    if (!ms || !a || !b)
        return 2;
    int bad = 0;
    for (int r = 0; r < rounds; r++)
        for (int w0 = 0; w0 < WAYS; w0++) {
            int w = (w0 + r) % WAYS; /* a different way first each round */
            double t0 = now_ms();
            for (size_t k = 0; k < n; k++)
                run(w, dec, h, &files[k], soft, a);
            ms[w * rounds + r] = (now_ms() - t0) / (double)n;
        }
    for (size_t k = 0; k < n; k++) {
        run(SEPARATE, dec, h, &files[k], soft, a);
        run(QUERY, dec, h, &files[k], soft, b);
        if (!same(a, b)) {
            fprintf(stderr, "query_cost: '%s': query differs from separate\n", files[k].name);
            bad = 1;
        }
    }
    double base = 0;
    printf("way\tms_cpu_per_image\tratio\n");
    for (int w = 0; w < WAYS; w++) {
        qsort(ms + w * rounds, (size_t)rounds, sizeof *ms, cmp_double);
        double med = ms[w * rounds + rounds / 2];
        if (w == SEPARATE)
            base = med;
        printf("%s\t%.3f\t%.2f\n", way_name[w], med, base > 0 ? med / base : 0);
    }
    printf("# %zu images, %d rounds, soft %d\n", n, rounds, soft);
    for (size_t k = 0; k < n; k++)
        free(files[k].data);
    free(files);
    free(ms);
    free(a);
    free(b);
    phm_decoder_free(dec);
    phm_hasher_free(h);
    return bad;
}
