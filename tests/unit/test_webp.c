/* test_webp.c - the WebP decoder and its frames iterator on animations
 * assembled here: lossless frames from libwebp's encoder in a container
 * written byte by byte after the WebP container specification, so every
 * canvas the iterator should give is known in advance (opaque frames:
 * blending is a copy; disposal to the background makes the rectangle
 * transparent black, i.e. black once alpha is dropped). ImageMagick's first
 * image of an animation is frame 1 alone on a black canvas, which is also
 * what the iterator's first frame is: both are checked against it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <webp/encode.h>

#include "decode_internal.h"
#include "phmatch.h"
#include "tap.h"

#define CW 40
#define CH 30

typedef struct frame_spec {
    uint32_t x, y, w, h; /* x, y even */
    uint32_t ms;
    int dispose_bg;
    uint8_t *rgb; /* w * h * 3 */
} frame_spec;

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_le(buf *b, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        put(b, &c, 1);
    }
}

static void set_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Pixels of frame k: distinct gradients per frame. */
static uint8_t *pattern(uint32_t w, uint32_t h, uint32_t k)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            q[0] = (uint8_t)(x * 6 + k * 70);
            q[1] = (uint8_t)(y * 8 + k * 30);
            q[2] = (uint8_t)((x + y) * 3 + 40 * k + 10);
        }
    return p;
}

/* An animated WebP of CW x CH with the frames given. */
static uint8_t *make_anim(const frame_spec *f, int nf, size_t *len)
{
    buf b = {0};
    put(&b, "RIFF\0\0\0\0WEBPVP8X", 16);
    put_le(&b, 10, 4);
    put_le(&b, 0x02, 4); /* animation flag, reserved bytes */
    put_le(&b, CW - 1, 3);
    put_le(&b, CH - 1, 3);
    put(&b, "ANIM", 4);
    put_le(&b, 6, 4);
    put_le(&b, 0xff00ffff, 4); /* a background colour no one must use */
    put_le(&b, 0, 2);
    for (int i = 0; i < nf; i++) {
        uint8_t *enc = NULL;
        size_t n = WebPEncodeLosslessRGB(f[i].rgb, (int)f[i].w, (int)f[i].h,
                                         (int)f[i].w * 3, &enc);
        if (n < 20)
            abort();
        size_t chunk = n - 12; /* the VP8L chunk, header and padding included */
        put(&b, "ANMF", 4);
        put_le(&b, (uint32_t)(16 + chunk), 4);
        put_le(&b, f[i].x / 2, 3);
        put_le(&b, f[i].y / 2, 3);
        put_le(&b, f[i].w - 1, 3);
        put_le(&b, f[i].h - 1, 3);
        put_le(&b, f[i].ms, 3);
        put_le(&b, f[i].dispose_bg ? 1u : 0u, 1); /* blend, dispose */
        put(&b, enc + 12, chunk);
        WebPFree(enc);
    }
    set_le32(b.p + 4, (uint32_t)(b.n - 8));
    *len = b.n;
    return b.p;
}

static void paste(uint8_t *canvas, const frame_spec *f)
{
    for (uint32_t y = 0; y < f->h; y++)
        memcpy(canvas + ((size_t)(f->y + y) * CW + f->x) * 3, f->rgb + (size_t)y * f->w * 3,
               (size_t)f->w * 3);
}

static void clear(uint8_t *canvas, const frame_spec *f)
{
    for (uint32_t y = 0; y < f->h; y++)
        memset(canvas + ((size_t)(f->y + y) * CW + f->x) * 3, 0, (size_t)f->w * 3);
}

static int same_pixels(const phm_image *img, const uint8_t *want, uint32_t w, uint32_t h)
{
    if (!img->pixels || img->width != w || img->height != h || img->channels != 3)
        return 0;
    for (uint32_t y = 0; y < h; y++)
        if (memcmp(img->pixels + y * img->stride, want + (size_t)y * w * 3, (size_t)w * 3))
            return 0;
    return 1;
}

static int near(double a, double b)
{
    return a - b < 1e-9 && b - a < 1e-9;
}

int main(void)
{
    char err[PHM_ERRMSG_MAX];
    phm_decoder *dec;
    if (phm_decoder_new(&dec, NULL))
        return 1;

    /* Frame 1 covers the canvas; 2 is pasted over it, then disposed to the
     * background; 3 is pasted over what remains. */
    frame_spec f[3] = {
        {0, 0, CW, CH, 100, 0, pattern(CW, CH, 0)},
        {8, 6, 16, 12, 250, 1, pattern(16, 12, 1)},
        {20, 10, 10, 10, 70, 0, pattern(10, 10, 2)},
    };
    uint8_t *want[3];
    for (int i = 0; i < 3; i++)
        want[i] = malloc(CW * CH * 3);
    memset(want[0], 0, CW * CH * 3);
    paste(want[0], &f[0]);
    memcpy(want[1], want[0], CW * CH * 3);
    paste(want[1], &f[1]);
    memcpy(want[2], want[1], CW * CH * 3);
    clear(want[2], &f[1]);
    paste(want[2], &f[2]);
    const double start[3] = {0, 0.1, 0.35}, dur[3] = {0.1, 0.25, 0.07};

    size_t len;
    uint8_t *anim = make_anim(f, 3, &len);
    OK(phm_format_detect(anim, len) == PHM_FORMAT_WEBP, "assembled animation detected as WebP");

    /* phm_decode_mem: ImageMagick's first image, frame 1. */
    phm_image img;
    int rc = phm_decode_mem(dec, anim, len, "anim.webp", &img, err, sizeof err);
    IS_INT(rc, PHM_OK, "animation decodes (%s)", err);
    OK(same_pixels(&img, want[0], CW, CH), "its image is frame 1 on the canvas");
    OK(img.format == PHM_FORMAT_WEBP, "format webp");
    phm_image_info info;
    rc = phm_image_probe(anim, len, "anim.webp", &info, err, sizeof err);
    OK(rc == PHM_OK && info.width == CW && info.height == CH, "probe gives the canvas size");

    /* The iterator: three canvases, their start times and durations. */
    phm__frames *fr = NULL;
    rc = phm__webp_frames(dec, anim, len, "anim.webp", 100, &fr, err, sizeof err);
    IS_INT(rc, PHM_OK, "frames iterator opens (%s)", err);
    int n = 0;
    if (fr) {
        double s, d;
        while ((rc = fr->next(fr, &img, &s, &d, err, sizeof err)) == 1 && n < 5) {
            if (n < 3) {
                OK(same_pixels(&img, want[n], CW, CH), "frame %d: canvas as composed", n + 1);
                OK(near(s, start[n]) && near(d, dur[n]), "frame %d: start %g duration %g",
                   n + 1, s, d);
            }
            n++;
        }
        IS_INT(rc, 0, "the iterator ends with 0");
        fr->free(fr);
    }
    IS_INT(n, 3, "three frames");

    /* Frame 1 smaller than the canvas, at an offset: black around it, in
     * both the image and the iterator's first frame. */
    frame_spec g[2] = {
        {6, 4, 20, 16, 40, 0, pattern(20, 16, 3)},
        {0, 0, CW, CH, 60, 0, pattern(CW, CH, 4)},
    };
    uint8_t *want_g = calloc(CW * CH, 3);
    paste(want_g, &g[0]);
    size_t glen;
    uint8_t *ganim = make_anim(g, 2, &glen);
    rc = phm_decode_mem(dec, ganim, glen, "offset.webp", &img, err, sizeof err);
    OK(rc == PHM_OK && same_pixels(&img, want_g, CW, CH),
       "offset frame 1: image is the frame on a black canvas");
    rc = phm__webp_frames(dec, ganim, glen, "offset.webp", 0, &fr, err, sizeof err);
    if (rc == PHM_OK) {
        double s, d;
        rc = fr->next(fr, &img, &s, &d, err, sizeof err);
        OK(rc == 1 && same_pixels(&img, want_g, CW, CH) && near(d, 0.04),
           "offset frame 1: iterator's first frame is the same");
        fr->free(fr);
    } else {
        OK(0, "offset frames iterator opens (%s)", err);
    }

    /* max_frames: two frames, then too large. */
    rc = phm__webp_frames(dec, anim, len, "anim.webp", 2, &fr, err, sizeof err);
    if (rc == PHM_OK) {
        double s, d;
        int a = fr->next(fr, &img, &s, &d, err, sizeof err);
        int b = fr->next(fr, &img, &s, &d, err, sizeof err);
        int c = fr->next(fr, &img, &s, &d, err, sizeof err);
        OK(a == 1 && b == 1 && c == PHM_ERR_TOO_LARGE, "max_frames 2: two frames, then too large");
        fr->free(fr);
    } else {
        OK(0, "frames iterator opens with max_frames 2 (%s)", err);
    }

    /* A still: one frame, equal to the decoded image. */
    uint8_t *still = NULL;
    size_t slen = WebPEncodeRGB(f[0].rgb, CW, CH, CW * 3, 80, &still);
    phm_image simg;
    rc = phm_decode_mem(dec, still, slen, "still.webp", &simg, err, sizeof err);
    IS_INT(rc, PHM_OK, "lossy still decodes (%s)", err);
    uint8_t *scopy = malloc(CW * CH * 3);
    if (rc == PHM_OK)
        for (uint32_t y = 0; y < CH; y++)
            memcpy(scopy + (size_t)y * CW * 3, simg.pixels + y * simg.stride, CW * 3);
    rc = phm__webp_frames(dec, still, slen, "still.webp", 10, &fr, err, sizeof err);
    if (rc == PHM_OK) {
        double s, d;
        int a = fr->next(fr, &img, &s, &d, err, sizeof err);
        OK(a == 1 && same_pixels(&img, scopy, CW, CH), "still: one frame, the image");
        a = fr->next(fr, &img, &s, &d, err, sizeof err);
        IS_INT(a, 0, "still: no second frame");
        fr->free(fr);
    } else {
        OK(0, "still frames iterator opens (%s)", err);
        OK(0, "still: no second frame");
    }

    /* Limits and damage. */
    phm_decode_limits lim = {.max_pixels = CW * CH - 1};
    phm_decoder *small;
    if (phm_decoder_new(&small, &lim))
        return 1;
    rc = phm_decode_mem(small, anim, len, "anim.webp", &img, err, sizeof err);
    IS_INT(rc, PHM_ERR_TOO_LARGE, "canvas over the pixel limit: too large");
    rc = phm__webp_frames(small, anim, len, "anim.webp", 10, &fr, err, sizeof err);
    OK(rc == PHM_ERR_TOO_LARGE && !fr, "iterator: canvas over the pixel limit");
    phm_decoder_free(small);

    rc = phm_decode_mem(dec, anim, len - 40, "cut.webp", &img, err, sizeof err);
    IS_INT(rc, PHM_ERR_CORRUPT, "truncated animation: corrupt");
    OK(strstr(err, "truncated") != NULL, "message says truncated: %s", err);
    rc = phm__webp_frames(dec, anim, len - 40, "cut.webp", 10, &fr, err, sizeof err);
    OK(rc == PHM_ERR_CORRUPT && !fr, "iterator: truncated animation corrupt");

    rc = phm_decode_mem(dec, still, 30, "cut.webp", &img, err, sizeof err);
    IS_INT(rc, PHM_ERR_CORRUPT, "still cut in its header: corrupt");
    OK(strstr(err, "VP8_STATUS_") != NULL, "message names libwebp's status: %s", err);

    WebPFree(still);
    free(scopy);
    free(anim);
    free(ganim);
    free(want_g);
    for (int i = 0; i < 3; i++) {
        free(want[i]);
        free(f[i].rgb);
    }
    free(g[0].rgb);
    free(g[1].rgb);
    phm_decoder_free(dec);
    return tap_done();
}
