/*
 * fuzz_gif.c - libFuzzer target: arbitrary bytes through the GIF decoder
 * (decode_gif.c, giflib) as an image and as frames.
 *
 * Beyond "no crash, no leak, no undefined behaviour" (ASan + UBSan):
 *   - phm_decode_mem with a small pixel limit: a data error or a sane RGB
 *     image within the limit, whose size phm_image_probe() saw too, and
 *     decoded over white and black (background.h) the same status, size
 *     and pixels wherever nothing was composited;
 *   - the frames iterator (phm__gif_frames) read to its end, or to its
 *     error: every frame the same canvas within the limit, start times in
 *     order, durations positive, at most max_frames frames (then
 *     PHM_ERR_TOO_LARGE), a message on every error;
 *   - phm_hash_animation_mem on the same bytes: its frame count and
 *     timestamps agree with the iterator's.
 * Every input is made a GIF: its bytes follow "GIF89a" unless they start
 * with a GIF signature already.
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
#define MAX_FRAMES 64

static phm_decoder *dec;
static phm_hasher *hasher;
static uint8_t *buf;
static size_t buf_cap;

#include "check.h"
#include "background.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    phm_decode_limits lim = {.max_pixels = MAX_PIXELS, .max_file_bytes = 0};
    if (phm_decoder_new(&dec, &lim) != PHM_OK ||
        phm_hasher_new(&hasher, PHM_SIMD_AUTO) != PHM_OK) {
        fprintf(stderr, "fuzz_gif: out of memory at start\n");
        abort();
    }
    return 0;
}

static int data_error(int rc)
{
    return rc == PHM_ERR_CORRUPT || rc == PHM_ERR_TOO_LARGE || rc == PHM_ERR_NOMEM;
}

/* The iterator to its end. Returns the frames it gave; *rc its end. */
static uint64_t walk_frames(const uint8_t *p, size_t n, double *starts, int *end_rc)
{
    char err[PHM_ERRMSG_MAX];
    phm__frames *fr = NULL;
    uint64_t count = 0;
    err[0] = '\0';
    int rc = phm__gif_frames(dec, p, n, "fuzz", MAX_FRAMES, &fr, err, sizeof err);
    if (rc < 0) {
        CHECK(fr == NULL && data_error(rc) && err[0] != '\0');
        *end_rc = rc;
        return 0;
    }
    CHECK(fr != NULL);
    uint32_t w = 0, h = 0;
    double last_end = 0;
    for (;;) {
        phm_image img;
        double start = -1, duration = -1;
        err[0] = '\0';
        rc = fr->next(fr, &img, &start, &duration, err, sizeof err);
        if (rc <= 0)
            break;
        CHECK(rc == 1);
        CHECK(img.pixels && img.channels == 3 && img.format == PHM_FORMAT_GIF);
        CHECK(img.stride == (size_t)img.width * 3);
        CHECK((uint64_t)img.width * img.height <= MAX_PIXELS);
        if (count == 0) {
            w = img.width;
            h = img.height;
        }
        CHECK(img.width == w && img.height == h);
        CHECK(start >= last_end - 1e-6 && start <= last_end + 1e-6 && duration > 0);
        last_end = start + duration;
        if (count < MAX_FRAMES)
            starts[count] = start;
        count++;
        CHECK(count <= MAX_FRAMES);
    }
    CHECK(rc == 0 || (data_error(rc) && err[0] != '\0'));
    if (rc == PHM_ERR_TOO_LARGE && count == MAX_FRAMES)
        CHECK(strstr(err, "frames") != NULL || strstr(err, "limit") != NULL);
    /* After the end, the end again. */
    if (rc == 0) {
        phm_image img;
        double s, d;
        CHECK(fr->next(fr, &img, &s, &d, err, sizeof err) == 0);
    }
    fr->free(fr);
    *end_rc = rc;
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[PHM_ERRMSG_MAX];
    const uint8_t *p = data;
    size_t n = size;

    if (size < 6 || (memcmp(data, "GIF89a", 6) != 0 && memcmp(data, "GIF87a", 6) != 0)) {
        if (size + 6 > buf_cap) {
            free(buf);
            buf_cap = size + 6;
            buf = malloc(buf_cap);
            if (!buf)
                abort();
        }
        memcpy(buf, "GIF89a", 6);
        if (size)
            memcpy(buf + 6, data, size);
        p = buf;
        n = size + 6;
    }

    /* The image: the first frame, as the probe sees it. */
    phm_image_info probe;
    char perr[PHM_ERRMSG_MAX];
    int prc = phm_image_probe(p, n, "fuzz", &probe, perr, sizeof perr);
    CHECK(prc == PHM_OK || prc == PHM_ERR_CORRUPT || prc == PHM_ERR_NOMEM);
    phm_image img;
    memset(err, 'x', sizeof err);
    int rc = phm_decode_mem(dec, p, n, "fuzz", &img, err, sizeof err);
    CHECK(memchr(err, '\0', sizeof err) != NULL);
    if (rc < 0) {
        CHECK(data_error(rc) && err[0] != '\0');
    } else {
        CHECK(rc == PHM_OK);
        CHECK(prc == PHM_OK && probe.width == img.width && probe.height == img.height &&
              probe.format == PHM_FORMAT_GIF);
        CHECK(img.pixels && img.channels == 3 && img.format == PHM_FORMAT_GIF);
        CHECK((uint64_t)img.width * img.height <= MAX_PIXELS);
        size_t bytes = (size_t)img.width * img.height * 3;
        uint8_t *rows = malloc(bytes);
        CHECK(rows != NULL);
        for (uint32_t y = 0; y < img.height; y++)
            memcpy(rows + (size_t)y * img.width * 3, img.pixels + y * img.stride,
                   (size_t)img.width * 3);
        check_background(dec, p, n, rc, &img, rows);
        free(rows);
    }

    /* The frames, by the iterator and by the animation API. */
    double starts[MAX_FRAMES];
    int end_rc = 0;
    uint64_t frames = walk_frames(p, n, starts, &end_rc);

    phm_video_options o;
    phm_video_options_init(&o);
    o.seconds_per_hash = 0; /* every frame: counts comparable */
    o.max_frames = MAX_FRAMES;
    o.max_pixels = MAX_PIXELS;
    o.max_seconds = 1e9; /* 64 frames of 655.35 s: beyond the default */
    phm_vpdq v;
    phm_vpdq_init(&v);
    rc = phm_hash_animation_mem(dec, hasher, p, n, "fuzz", &o, &v, err, sizeof err);
    CHECK(rc == PHM_OK || data_error(rc) || rc == PHM_ERR_TOO_SMALL);
    CHECK(v.frames_decoded == frames || rc == PHM_ERR_TOO_SMALL);
    if (rc == PHM_OK) {
        CHECK(end_rc == 0 && v.count == frames);
        for (size_t i = 0; i < v.count; i++)
            CHECK(v.frames[i].frame == i && v.frames[i].timestamp == starts[i] &&
                  v.frames[i].quality >= 0 && v.frames[i].quality <= 100);
    }
    phm_vpdq_clear(&v);
    return 0;
}
