/*
 * format_target.h - the body of the one-format libFuzzer targets
 * (fuzz_heif.c, fuzz_jxl.c): arbitrary bytes through phm_decode_mem() with a
 * small pixel limit, for inputs whose magic bytes name one of the target's
 * formats (others are skipped, so the corpus stays on that decoder).
 *
 * Define FORMAT_TARGET (the target's name, a string) and
 * FORMAT_WANTED(f) (whether phm_format f is the target's) before including,
 * and FORMAT_LEAKS (LeakSanitizer suppressions) if a library leaks.
 * Beyond "no crash, leak or undefined behaviour" it checks:
 *   - the status is OK or a data error (unsupported, corrupt, too large,
 *     out of memory) with a message; a failure leaves the image zeroed;
 *   - a decoded image is within the pixel limit, grey or RGB, with the
 *     format of its magic bytes, and phm_image_probe() gave its size;
 *   - a second decode with the same decoder gives the same pixels;
 *   - decoded over white and black, the same status, size and pixels
 *     wherever nothing was composited (background.h).
 * Pixel limit 1 MP (PHM_FUZZ_MAX_PIXELS overrides it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "check.h"
#include "background.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FORMAT_LEAKS
/* Leaks inside the system's libraries that phmatch cannot avoid (see the
 * target's comment), for LeakSanitizer. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return FORMAT_LEAKS;
}
#endif

static phm_decoder *dec;
static uint64_t max_pixels = 1000 * 1000;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    max_pixels = fuzz_env_u64("PHM_FUZZ_MAX_PIXELS", max_pixels);
    phm_decode_limits lim = {.max_pixels = max_pixels, .max_file_bytes = 0};
    if (phm_decoder_new(&dec, &lim) != PHM_OK) {
        fprintf(stderr, "%s: out of memory at start\n", FORMAT_TARGET);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    phm_format f = phm_format_detect(data, size);
    if (!FORMAT_WANTED(f))
        return 0;

    phm_image_info probe;
    char perr[PHM_ERRMSG_MAX];
    int prc = phm_image_probe(data, size, "fuzz", &probe, perr, sizeof perr);
    CHECK(prc == PHM_OK || prc == PHM_ERR_UNSUPPORTED || prc == PHM_ERR_CORRUPT ||
          prc == PHM_ERR_NOMEM);
    CHECK(prc == PHM_OK || perr[0] != '\0');

    char err[PHM_ERRMSG_MAX];
    phm_image img;
    memset(err, 'x', sizeof err);
    int rc = phm_decode_mem(dec, data, size, "fuzz", &img, err, sizeof err);
    CHECK(memchr(err, '\0', sizeof err) != NULL);
    if (rc < 0) {
        static const phm_image zero;
        if (rc != PHM_ERR_UNSUPPORTED && rc != PHM_ERR_CORRUPT && rc != PHM_ERR_TOO_LARGE &&
            rc != PHM_ERR_NOMEM) {
            fprintf(stderr, "%s: decode gave %s (%d), not a data error: %s\n", FORMAT_TARGET,
                    phm_reason(rc), rc, err);
            abort();
        }
        CHECK(memcmp(&img, &zero, sizeof img) == 0);
        CHECK(err[0] != '\0');
        return 0;
    }
    CHECK(rc == PHM_OK || rc == PHM_WARN_RECOVERED);
    CHECK(img.pixels != NULL && img.width > 0 && img.height > 0);
    CHECK((uint64_t)img.width * img.height <= max_pixels);
    CHECK(img.channels == 1 || img.channels == 3);
    CHECK(img.stride >= (size_t)img.width * img.channels);
    CHECK(img.format == f);
    CHECK(prc == PHM_OK && probe.width == img.width && probe.height == img.height &&
          probe.format == f);

    /* The same bytes again, with the buffers the first decode left: the
     * same pixels (libFuzzer's -detect_leaks covers the rest). */
    size_t row = (size_t)img.width * img.channels, n = row * img.height;
    uint8_t *copy = malloc(n);
    CHECK(copy != NULL);
    for (uint32_t y = 0; y < img.height; y++)
        memcpy(copy + y * row, img.pixels + y * img.stride, row);
    phm_image again;
    rc = phm_decode_mem(dec, data, size, "fuzz", &again, err, sizeof err);
    CHECK(rc >= 0 && again.width == img.width && again.height == img.height &&
          again.channels == img.channels);
    for (uint32_t y = 0; y < again.height; y++)
        CHECK(memcmp(copy + y * row, again.pixels + y * again.stride, row) == 0);
    check_background(dec, data, size, rc, &again, copy);
    free(copy);
    return 0;
}
