/*
 * fuzz_jpeg_stream.c - libFuzzer target: the one-pass JPEG path that
 * phmatch and phmatchd use for every JPEG, phm_hash_mem() on the bytes in
 * memory and phm_hash_file() on the same bytes in a file (a memfd, read
 * through /proc/self/fd as any path is).
 *
 * For every input that is a JPEG by its magic bytes, beyond "no crash,
 * leak or undefined behaviour":
 *   - the status is OK, PHM_WARN_RECOVERED or a data error (corrupt, too
 *     large, too small, out of memory), with a message naming the input
 *     when it is not OK;
 *   - on success: `info` gives the size, within the pixel limit, and the
 *     JPEG format; quality 0..100; eight hashes with dihedral, the first
 *     equal to the plain hash; cli512 at most 512x512;
 *   - too small exactly when a side is under 5 pixels, with the all-zero,
 *     quality-0 answer;
 *   - the file gives the status and hash that the memory gives, and its
 *     bytes stay available (phm_decoder_last_bytes).
 * Pixel limit 2 MP (PHM_FUZZ_MAX_PIXELS overrides it).
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "phmatch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static phm_decoder *dec;
static phm_hasher *hasher;
static uint64_t max_pixels = 2ull * 1000 * 1000;
static int memfd = -1;
static char memfd_path[64];

#include "check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *env = getenv("PHM_FUZZ_MAX_PIXELS");
    if (env && *env) {
        char *end;
        unsigned long long v = strtoull(env, &end, 10);
        if (*end == '\0' && v > 0)
            max_pixels = v;
    }
    phm_decode_limits lim = {.max_pixels = max_pixels, .max_file_bytes = 0};
    memfd = memfd_create("fuzz_jpeg_stream", MFD_CLOEXEC);
    if (phm_decoder_new(&dec, &lim) != PHM_OK || phm_hasher_new(&hasher, PHM_SIMD_AUTO) ||
        memfd < 0) {
        fprintf(stderr, "fuzz_jpeg_stream: cannot start (memory or memfd)\n");
        abort();
    }
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    return 0;
}

static int zero_hash(const phm_pdq *h)
{
    return (h->w[0] | h->w[1] | h->w[2] | h->w[3]) == 0;
}

/* The invariants of one phm_hash_mem/phm_hash_file answer. */
static void check_answer(int rc, const phm_pdq_result *r, const phm_image_info *info,
                         const char *err, phm_mode mode, int dihedral, const char *name)
{
    CHECK(memchr(err, '\0', PHM_ERRMSG_MAX) != NULL);
    CHECK(rc == PHM_OK || rc == PHM_WARN_RECOVERED || rc == PHM_ERR_CORRUPT ||
          rc == PHM_ERR_TOO_LARGE || rc == PHM_ERR_TOO_SMALL || rc == PHM_ERR_NOMEM);
    if (rc != PHM_OK) {
        char want[128];
        snprintf(want, sizeof want, "cannot decode '%s': ", name);
        CHECK(strncmp(err, want, strlen(want)) == 0 || rc == PHM_ERR_TOO_SMALL);
    }
    CHECK(r->quality >= 0 && r->quality <= 100);
    if (rc < 0 && rc != PHM_ERR_TOO_SMALL)
        return;
    CHECK(info->format == PHM_FORMAT_JPEG);
    CHECK(info->width > 0 && info->height > 0);
    CHECK((uint64_t)info->width * info->height <= max_pixels);
    if (rc == PHM_ERR_TOO_SMALL) {
        CHECK(info->width < 5 || info->height < 5);
        CHECK(zero_hash(&r->hash[0]) && r->quality == 0);
        return;
    }
    CHECK(info->width >= 5 && info->height >= 5);
    CHECK(r->nhashes == (dihedral ? PHM_DIH_COUNT : 1));
    if (mode == PHM_MODE_CLI512 && (info->width > 512 || info->height > 512))
        CHECK(r->width == 512 && r->height == 512);
    else
        CHECK(r->width == info->width && r->height == info->height);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (phm_format_detect(data, size) != PHM_FORMAT_JPEG)
        return 0;
    char err[PHM_ERRMSG_MAX];
    phm_pdq_result a, plain, f;
    phm_image_info info, finfo;

    /* Memory, full mode, every orientation. */
    memset(err, 'x', sizeof err);
    int rc = phm_hash_mem(dec, hasher, data, size, "fuzz", PHM_MODE_FULL, 1, &a, &info, err,
                          sizeof err);
    check_answer(rc, &a, &info, err, PHM_MODE_FULL, 1, "fuzz");

    /* Memory, plain: the first orientation of the same pixels; then cli512. */
    int rp = phm_hash_mem(dec, hasher, data, size, "fuzz", PHM_MODE_FULL, 0, &plain, NULL,
                          err, sizeof err);
    CHECK(rp == rc);
    if (rc >= 0) {
        CHECK(phm_pdq_distance(&plain.hash[0], &a.hash[0]) == 0);
        CHECK(plain.quality == a.quality);
    }
    rp = phm_hash_mem(dec, hasher, data, size, "fuzz", PHM_MODE_CLI512, 0, &plain, &info,
                      err, sizeof err);
    check_answer(rp, &plain, &info, err, PHM_MODE_CLI512, 0, "fuzz");
    CHECK((rp < 0) == (rc < 0));

    /* The same bytes from a file. */
    CHECK(ftruncate(memfd, 0) == 0);
    CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
    memset(err, 'x', sizeof err);
    int rf = phm_hash_file(dec, hasher, memfd_path, PHM_MODE_FULL, 1, &f, &finfo, err,
                           sizeof err);
    check_answer(rf, &f, &finfo, err, PHM_MODE_FULL, 1, memfd_path);
    CHECK(rf == rc);
    if (rc >= 0 || rc == PHM_ERR_TOO_SMALL) {
        CHECK(f.quality == a.quality && f.nhashes == a.nhashes);
        for (int o = 0; o < a.nhashes; o++)
            CHECK(phm_pdq_distance(&f.hash[o], &a.hash[o]) == 0);
    }
    size_t n = 0;
    const void *bytes = phm_decoder_last_bytes(dec, &n);
    CHECK(n == size && (size == 0 || memcmp(bytes, data, size) == 0));
    return 0;
}
