/*
 * fuzz_jpeg_diff.c - libFuzzer target: the two JPEG paths must agree.
 *
 * phm_hash_mem() decodes a JPEG row by row into the hasher
 * (src/lib/decode_jpeg_stream.c); phm_decode_mem() decodes it whole
 * (src/lib/decode_jpeg.c) and phm_hash_image() hashes it. include/phmatch.h
 * promises they give the same result, so for every input that is a JPEG
 * by its magic bytes:
 *   - the same status: both fail with the same error code, or both succeed,
 *     both with PHM_WARN_RECOVERED or both with PHM_OK;
 *   - when they succeed: the same size, quality and all eight hashes,
 *     bit for bit, in both modes (full and cli512);
 *   - the one-pass path fills `info` like the decoded image.
 * One decoder and one hasher for the whole run, as a CLI worker keeps them:
 * state left by one input must not change the answer for the next.
 * Pixel limit 2 MP (PHM_FUZZ_MAX_PIXELS overrides it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static phm_decoder *dec;
static phm_hasher *hasher;

#include "check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    uint64_t max_pixels = 2ull * 1000 * 1000;
    const char *env = getenv("PHM_FUZZ_MAX_PIXELS");
    if (env && *env) {
        char *end;
        unsigned long long v = strtoull(env, &end, 10);
        if (*end == '\0' && v > 0)
            max_pixels = v;
    }
    phm_decode_limits lim = {.max_pixels = max_pixels, .max_file_bytes = 0};
    if (phm_decoder_new(&dec, &lim) != PHM_OK || phm_hasher_new(&hasher, PHM_SIMD_AUTO)) {
        fprintf(stderr, "fuzz_jpeg_diff: out of memory at start\n");
        abort();
    }
    return 0;
}

static void compare(const uint8_t *data, size_t size, phm_mode mode)
{
    char ea[PHM_ERRMSG_MAX], eb[PHM_ERRMSG_MAX];
    phm_image img;
    phm_pdq_result a, b;
    phm_image_info info;
    memset(&a, 0, sizeof a);

    int ra = phm_decode_mem(dec, data, size, "fuzz", &img, ea, sizeof ea);
    uint32_t w = 0, h = 0;
    if (ra >= 0) {
        w = img.width;
        h = img.height;
        int hr = phm_hash_image(hasher, &img, mode, 1, &a);
        if (hr)
            ra = hr;
    }
    int rb = phm_hash_mem(dec, hasher, data, size, "fuzz", mode, 1, &b, &info, eb, sizeof eb);
    if (ra != rb) {
        fprintf(stderr, "fuzz_jpeg_diff: decode+hash gave %s (%s), one pass %s (%s)\n",
                phm_reason(ra), ea, phm_reason(rb), eb);
        abort();
    }
    if (ra < 0 && ra != PHM_ERR_TOO_SMALL)
        return;
    CHECK(info.width == w && info.height == h && info.format == PHM_FORMAT_JPEG);
    CHECK(a.quality == b.quality && a.width == b.width && a.height == b.height);
    CHECK(a.nhashes == b.nhashes);
    for (int o = 0; o < a.nhashes; o++)
        CHECK(phm_pdq_distance(&a.hash[o], &b.hash[o]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (phm_format_detect(data, size) != PHM_FORMAT_JPEG)
        return 0;
    compare(data, size, PHM_MODE_FULL);
    compare(data, size, PHM_MODE_CLI512);
    return 0;
}
