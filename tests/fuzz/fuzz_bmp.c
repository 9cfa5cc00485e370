/*
 * fuzz_bmp.c - libFuzzer target: arbitrary bytes after a "BM" magic through
 * our own BMP decoder (src/lib/decode_bmp.c) via phm_decode_mem(), with a
 * pixel limit of 64 K pixels so that each input is fast.
 *
 * Beyond "no crash, no leak, no undefined behaviour" (ASan + UBSan):
 *   - statuses: ok, recovered (with a message) or a data error (corrupt,
 *     too large, unsupported) with a message, the image then zeroed;
 *   - phm_image_probe() agrees: a decoded image has the probe's size; a
 *     probed size over the limit is too_large, found before any pixel
 *     memory (the decode cannot fail otherwise on such a header);
 *   - a decoded image is RGB, stride 3 x width, format BMP, within the
 *     limit;
 *   - every output pixel is written: the pixel buffer is filled with two
 *     different patterns before two more decodes, which must give the
 *     first decode's bytes (an unwritten pixel would keep the pattern);
 *   - decoded over white and black (background.h), the same status, size
 *     and pixels wherever nothing was composited (an alpha bit field).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "check.h"
#include "background.h" /* before `dec`, which its parameter would shadow */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static phm_decoder *dec;
static const uint64_t max_pixels = 64 * 1024;
static uint8_t *first; /* the first decode's pixels */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    phm_decode_limits lim = {.max_pixels = max_pixels, .max_file_bytes = 0};
    first = malloc(max_pixels * 3);
    if (!first || phm_decoder_new(&dec, &lim) != PHM_OK) {
        fprintf(stderr, "fuzz_bmp: out of memory at start\n");
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The magic and a known header size, so that every input reaches the
     * BMP decoder: the fuzzer mutates what follows. */
    static const uint8_t sizes[] = {12, 16, 40, 52, 56, 64, 108, 124};
    if (size < 15)
        return 0;
    uint8_t *in = malloc(size);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[0] = 'B';
    in[1] = 'M';
    if (phm_format_detect(in, size) != PHM_FORMAT_BMP) {
        /* Make the header size one in use, from the input's own byte. */
        if (size < 18) {
            free(in);
            return 0;
        }
        in[14] = sizes[in[14] % sizeof sizes];
        in[15] = in[16] = in[17] = 0;
    }
    CHECK(phm_format_detect(in, size) == PHM_FORMAT_BMP);

    char err[PHM_ERRMSG_MAX], perr[PHM_ERRMSG_MAX];
    phm_image_info probe;
    int prc = phm_image_probe(in, size, "fuzz", &probe, perr, sizeof perr);
    CHECK(prc == PHM_OK || prc == PHM_ERR_CORRUPT || prc == PHM_ERR_UNSUPPORTED);
    CHECK(prc == PHM_OK || perr[0] != '\0');

    phm_image img;
    memset(err, 'x', sizeof err);
    int rc = phm_decode_mem(dec, in, size, "fuzz", &img, err, sizeof err);
    CHECK(memchr(err, '\0', sizeof err) != NULL);
    CHECK(rc == PHM_OK || err[0] != '\0');
    if (prc == PHM_OK && (uint64_t)probe.width * probe.height > max_pixels)
        CHECK(rc == PHM_ERR_TOO_LARGE);
    if (prc != PHM_OK)
        CHECK(rc == prc);
    if (rc < 0) {
        static const phm_image zero;
        CHECK(rc == PHM_ERR_CORRUPT || rc == PHM_ERR_TOO_LARGE || rc == PHM_ERR_UNSUPPORTED);
        CHECK(memcmp(&img, &zero, sizeof img) == 0);
        free(in);
        return 0;
    }
    CHECK(rc == PHM_OK || rc == PHM_WARN_RECOVERED);
    CHECK(prc == PHM_OK && probe.width == img.width && probe.height == img.height &&
          probe.format == PHM_FORMAT_BMP);
    CHECK(img.format == PHM_FORMAT_BMP && img.channels == 3 && img.pixels != NULL);
    CHECK(img.stride == (size_t)img.width * 3);
    CHECK((uint64_t)img.width * img.height <= max_pixels);

    const size_t bytes = img.stride * img.height;
    memcpy(first, img.pixels, bytes);
    for (int pattern = 0; pattern < 2; pattern++) {
        memset((uint8_t *)(uintptr_t)img.pixels, pattern ? 0x5a : 0xa5, bytes);
        phm_image again;
        int rc2 = phm_decode_mem(dec, in, size, "fuzz", &again, err, sizeof err);
        CHECK(rc2 == rc && again.width == img.width && again.height == img.height);
        CHECK(memcmp(again.pixels, first, bytes) == 0);
    }
    check_background(dec, in, size, rc, &img, first);
    free(in);
    return 0;
}
