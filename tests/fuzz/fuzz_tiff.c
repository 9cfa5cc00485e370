/*
 * fuzz_tiff.c - libFuzzer target: arbitrary bytes through the TIFF decoder
 * (libtiff from memory and our conversion to RGB).
 *
 * Inputs that do not start with a TIFF magic get one: the first byte picks
 * little- or big-endian classic TIFF or BigTIFF and the rest follows, so
 * that no run is wasted on other formats. Beyond ASan + UBSan, it checks:
 *   - a failure leaves the image zeroed and a message that fits; a refused
 *     size is PHM_ERR_TOO_LARGE only over the limit;
 *   - a decode (PHM_OK or PHM_WARN_RECOVERED, the latter with a message)
 *     is RGB, format tiff, stride 3 * width, within the pixel limit, and
 *     phm_image_probe() gives the same size and format;
 *   - every pixel byte is readable (a sum over them, for ASan);
 *   - decoded over white and black (background.h), the same status, size
 *     and pixels wherever nothing was composited (an alpha sample).
 *
 * The pixel limit is 1 MP, which also bounds libtiff's single allocations
 * through TIFFOpenOptions.
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
static const uint64_t max_pixels = 1000ull * 1000;
static volatile unsigned sink; /* keeps the pixel reads */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* One decoder for the run, as a worker keeps it: buffers grown by one
     * input must be right for the next. */
    phm_decode_limits lim = {.max_pixels = max_pixels};
    if (phm_decoder_new(&dec, &lim) != PHM_OK)
        abort();
    return 0;
}

static int is_tiff(const uint8_t *d, size_t n)
{
    return n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0 ||
                      memcmp(d, "II+\0", 4) == 0 || memcmp(d, "MM\0+", 4) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char magic[4][4] = {"II*\0", "MM\0*", "II+\0", "MM\0+"};
    uint8_t *buf = NULL;
    const uint8_t *in = data;
    size_t len = size;
    if (!is_tiff(data, size)) {
        if (size == 0)
            return 0;
        buf = malloc(size + 3);
        if (!buf)
            return 0;
        memcpy(buf, magic[data[0] & 3], 4);
        memcpy(buf + 4, data + 1, size - 1);
        in = buf;
        len = size + 3;
    }

    phm_image img;
    char err[256];
    memset(err, 'x', sizeof err);
    int rc = phm_decode_mem(dec, in, len, "fuzz.tif", &img, err, sizeof err);
    CHECK(memchr(err, '\0', sizeof err) != NULL);
    if (rc < 0) {
        CHECK(img.pixels == NULL && img.width == 0 && img.height == 0);
        CHECK(err[0] != '\0');
        CHECK(rc == PHM_ERR_CORRUPT || rc == PHM_ERR_UNSUPPORTED || rc == PHM_ERR_TOO_LARGE ||
              rc == PHM_ERR_NOMEM);
        if (rc == PHM_ERR_TOO_LARGE) {
            /* Only for a size over the limit, which the probe sees too. */
            phm_image_info info;
            char perr[256];
            if (phm_image_probe(in, len, "fuzz.tif", &info, perr, sizeof perr) == PHM_OK)
                CHECK((uint64_t)info.width * info.height > max_pixels);
        }
        free(buf);
        return 0;
    }
    CHECK(rc == PHM_OK || rc == PHM_WARN_RECOVERED);
    if (rc == PHM_WARN_RECOVERED)
        CHECK(err[0] != '\0');
    CHECK(img.format == PHM_FORMAT_TIFF && img.channels == 3);
    CHECK(img.width > 0 && img.height > 0);
    CHECK((uint64_t)img.width * img.height <= max_pixels);
    CHECK(img.stride == (size_t)img.width * 3);
    unsigned sum = 0;
    for (uint32_t y = 0; y < img.height; y++)
        for (size_t i = 0; i < img.stride; i++)
            sum += img.pixels[(size_t)y * img.stride + i];
    sink = sum;

    phm_image_info info;
    char perr[256];
    CHECK(phm_image_probe(in, len, "fuzz.tif", &info, perr, sizeof perr) == PHM_OK);
    CHECK(info.width == img.width && info.height == img.height);
    CHECK(info.format == PHM_FORMAT_TIFF);

    /* The probe and the sum left the image as decoded: copy it, since the
     * decodes over a background reuse the decoder's buffer. */
    uint8_t *rows = malloc(img.stride * img.height);
    CHECK(rows != NULL);
    memcpy(rows, img.pixels, img.stride * img.height);
    check_background(dec, in, len, rc, &img, rows);
    free(rows);
    free(buf);
    return 0;
}
