/*
 * fuzz_webp.c - libFuzzer target: WebP files through phm_decode_mem (libwebp,
 * the demuxer for animations, the incremental decoder for truncated
 * stills), phm_image_probe and the frames iterator (WebPAnimDecoder).
 *
 * Inputs that are not WebP by their magic bytes are left to fuzz_decode.
 * Checks, beyond ASan + UBSan:
 *   - the status is one phm_decode_mem may return for an image; a failure
 *     leaves the image zeroed with a message, a success (or a recovered
 *     decode) gives a WebP RGB image within the pixel limit whose every
 *     pixel can be read;
 *   - phm_image_probe gives the size of every image that decodes;
 *   - decoded over white and black (background.h), the same status, size
 *     and pixels wherever nothing was composited;
 *   - the frames iterator, driven to its end (at most MAX_FRAMES frames,
 *     then PHM_ERR_TOO_LARGE), gives canvases of that size with start times
 *     that never go back, and its first frame is the decoded image (both
 *     are frame 1 on a transparent-black canvas).
 *
 * The pixel limit is small (256 K pixels) so each input stays fast.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode_internal.h"
#include "phmatch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIXELS (256u * 1024)
#define MAX_FRAMES 8

static phm_decoder *dec;
static uint8_t *first; /* a copy of the decoded image */

#include "check.h"
#include "background.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    phm_decode_limits lim = {.max_pixels = MAX_PIXELS, .max_file_bytes = 0};
    first = malloc((size_t)MAX_PIXELS * 3);
    if (phm_decoder_new(&dec, &lim) != PHM_OK || !first) {
        fprintf(stderr, "fuzz_webp: out of memory at start\n");
        abort();
    }
    return 0;
}

static int message_ok(const char *err)
{
    size_t n = strnlen(err, PHM_ERRMSG_MAX);
    return n > 0 && n < PHM_ERRMSG_MAX;
}

/* Reads every pixel, so ASan sees an image that is shorter than it says. */
static unsigned sum_pixels(const phm_image *img)
{
    unsigned s = 0;
    for (uint32_t y = 0; y < img->height; y++)
        for (size_t x = 0; x < (size_t)img->width * 3; x++)
            s += img->pixels[y * img->stride + x];
    return s;
}

static void check_image(const phm_image *img)
{
    CHECK(img->pixels != NULL);
    CHECK(img->width > 0 && img->height > 0);
    CHECK((uint64_t)img->width * img->height <= MAX_PIXELS);
    CHECK(img->channels == 3 && img->stride >= (size_t)img->width * 3);
    CHECK(img->format == PHM_FORMAT_WEBP);
    volatile unsigned s = sum_pixels(img);
    (void)s;
}

static void check_frames(const uint8_t *data, size_t size, int decoded, const phm_image *img)
{
    char err[PHM_ERRMSG_MAX] = "";
    phm__frames *fr = (phm__frames *)1;
    int rc = phm__webp_frames(dec, data, size, "fuzz", MAX_FRAMES, &fr, err, sizeof err);
    if (rc != PHM_OK) {
        CHECK(fr == NULL);
        CHECK(rc < 0 && message_ok(err));
        return;
    }
    CHECK(fr != NULL && fr->next && fr->free);
    double last = 0;
    int n = 0;
    for (;;) {
        phm_image f;
        double start = -1, dur = -1;
        err[0] = '\0';
        rc = fr->next(fr, &f, &start, &dur, err, sizeof err);
        if (rc <= 0) {
            CHECK(rc == 0 || message_ok(err));
            CHECK(rc != PHM_ERR_TOO_LARGE || n == MAX_FRAMES);
            CHECK(rc == 0 || rc == PHM_ERR_TOO_LARGE || rc == PHM_ERR_CORRUPT ||
                  rc == PHM_ERR_NOMEM);
            break;
        }
        CHECK(rc == 1 && n < MAX_FRAMES);
        check_image(&f);
        CHECK(start >= last && dur >= 0);
        last = start;
        if (decoded) {
            CHECK(f.width == img->width && f.height == img->height);
            if (n == 0)
                for (uint32_t y = 0; y < f.height; y++)
                    CHECK(memcmp(f.pixels + y * f.stride, first + (size_t)y * f.width * 3,
                                 (size_t)f.width * 3) == 0);
        }
        n++;
    }
    fr->free(fr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (phm_format_detect(data, size) != PHM_FORMAT_WEBP)
        return 0;
    char err[PHM_ERRMSG_MAX] = "";
    phm_image img;
    int rc = phm_decode_mem(dec, data, size, "fuzz", &img, err, sizeof err);
    CHECK(rc == PHM_OK || rc == PHM_WARN_RECOVERED || rc == PHM_ERR_CORRUPT ||
          rc == PHM_ERR_TOO_LARGE || rc == PHM_ERR_NOMEM || rc == PHM_ERR_UNSUPPORTED);
    if (rc < 0) {
        const phm_image zero = {0};
        CHECK(memcmp(&img, &zero, sizeof img) == 0);
        CHECK(message_ok(err));
    } else {
        check_image(&img);
        CHECK(rc == PHM_OK || message_ok(err));
        phm_image_info info;
        char perr[PHM_ERRMSG_MAX];
        CHECK(phm_image_probe(data, size, "fuzz", &info, perr, sizeof perr) == PHM_OK);
        CHECK(info.width == img.width && info.height == img.height);
        CHECK(info.format == PHM_FORMAT_WEBP);
        for (uint32_t y = 0; y < img.height; y++)
            memcpy(first + (size_t)y * img.width * 3, img.pixels + y * img.stride,
                   (size_t)img.width * 3);
        check_background(dec, data, size, rc, &img, first);
    }
    /* The iterator overwrites nothing of the decoder's image, but the
     * copy makes the comparison independent of that. */
    check_frames(data, size, rc == PHM_OK, &img);
    return 0;
}
