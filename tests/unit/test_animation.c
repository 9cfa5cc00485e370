/* test_animation.c - phm_hash_animation_mem on GIFs written here with
 * giflib's encoder: which frames the seconds_per_hash rule selects and
 * their timestamps, the limits, damage, and frame hashes against the
 * hashes of single images (an independent decode path). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>

#include "phmatch.h"
#include "tap.h"

#define W 64
#define H 48

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static int on_write(GifFileType *gif, const GifByteType *data, int n)
{
    buf *b = gif->UserData;
    if (b->len + (size_t)n > b->cap) {
        size_t cap = (b->len + (size_t)n) * 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, (size_t)n);
    b->len += (size_t)n;
    return n;
}

/* Frame k's picture: a different pattern each, so each hashes apart. */
static GifByteType pixel(int k, int x, int y)
{
    switch (k % 4) {
    case 0: return (GifByteType)((x * 4) & 255);
    case 1: return (GifByteType)((y * 5) & 255);
    case 2: return (GifByteType)(((x / 8 + y / 8) & 1) ? 200 : 30);
    default: return (GifByteType)((x * y) & 255);
    }
}

/* A GIF of n full-screen frames; frame i of picture pics[i] shown for
 * delays[i] hundredths. A grey palette. Caller frees out->p. */
static int make_gif(int n, const int *pics, const int *delays, buf *out)
{
    int e = 0;
    memset(out, 0, sizeof *out);
    GifFileType *gif = EGifOpen(out, on_write, &e);
    if (!gif)
        return -1;
    GifColorType colors[256];
    for (int i = 0; i < 256; i++)
        colors[i].Red = colors[i].Green = colors[i].Blue = (GifByteType)i;
    ColorMapObject *map = GifMakeMapObject(256, colors);
    EGifSetGifVersion(gif, true);
    int ok = EGifPutScreenDesc(gif, W, H, 8, 0, map) == GIF_OK;
    GifByteType line[W];
    for (int i = 0; ok && i < n; i++) {
        GraphicsControlBlock gcb = { DISPOSAL_UNSPECIFIED, false, delays[i],
                                     NO_TRANSPARENT_COLOR };
        GifByteType ext[4];
        size_t len = EGifGCBToExtension(&gcb, ext);
        ok = EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, (int)len, ext) == GIF_OK &&
             EGifPutImageDesc(gif, 0, 0, W, H, false, NULL) == GIF_OK;
        for (int y = 0; ok && y < H; y++) {
            for (int x = 0; x < W; x++)
                line[x] = pixel(pics[i], x, y);
            ok = EGifPutLine(gif, line, W) == GIF_OK;
        }
    }
    if (EGifCloseFile(gif, &e) != GIF_OK)
        ok = 0;
    GifFreeMapObject(map);
    return ok ? 0 : -1;
}

/* The hash of a one-frame GIF of picture `pic`, through the image path. */
static phm_pdq image_hash(phm_decoder *dec, phm_hasher *h, int pic)
{
    int pics[1] = { pic }, delays[1] = { 10 };
    buf b;
    phm_pdq_result r;
    memset(&r, 0, sizeof r);
    if (make_gif(1, pics, delays, &b) == 0)
        phm_hash_mem(dec, h, b.p, b.len, "one.gif", PHM_MODE_FULL, 0, &r, NULL, NULL, 0);
    free(b.p);
    return r.hash[0];
}

static int near(double a, double b)
{
    return fabs(a - b) < 1e-6;
}

int main(void)
{
    phm_decoder *dec;
    phm_hasher *h;
    phm_video_options o;
    phm_vpdq v;
    char err[PHM_ERRMSG_MAX];
    buf b;
    int rc;

    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO)) {
        printf("Bail out! out of memory\n");
        return 1;
    }
    phm_vpdq_init(&v);

    /* Delays 0.1, 0.5 and 2.0 s: frames on screen [0, 0.1), [0.1, 0.6),
     * [0.6, 2.6). */
    int pics[3] = { 0, 1, 2 }, delays[3] = { 10, 50, 200 };
    OK(make_gif(3, pics, delays, &b) == 0, "a 3-frame GIF written with giflib");

    /* seconds_per_hash 1: samples at 0, 1, 2 -> frame 0 (0 s) and frame 2
     * (covers 1 s and 2 s, hashed once, at its start 0.6 s). */
    phm_video_options_init(&o);
    rc = phm_hash_animation_mem(dec, h, b.p, b.len, "a.gif", &o, &v, err, sizeof err);
    IS_INT(rc, PHM_OK, "r=1: hashed (%s)", err);
    IS_INT(v.count, 2, "r=1: two frames hashed");
    IS_INT(v.frames_decoded, 3, "r=1: three frames decoded");
    if (v.count == 2) {
        IS_INT(v.frames[0].frame, 0, "r=1: frame 0 first");
        OK(near(v.frames[0].timestamp, 0.0), "r=1: at 0 s");
        IS_INT(v.frames[1].frame, 2, "r=1: then frame 2 (frame 1 covers no sample)");
        OK(near(v.frames[1].timestamp, 0.6), "r=1: at its start, 0.6 s (got %.6f)",
           v.frames[1].timestamp);
        phm_pdq h0 = image_hash(dec, h, 0), h2 = image_hash(dec, h, 2);
        IS_INT(phm_pdq_distance(&v.frames[0].hash, &h0), 0,
               "frame 0's hash is the image hash of its picture");
        IS_INT(phm_pdq_distance(&v.frames[1].hash, &h2), 0,
               "frame 2's hash is the image hash of its picture");
    } else {
        for (int i = 0; i < 6; i++)
            OK(0, "r=1: frame details (no frames)");
    }
    OK(near(v.fps, 3 / 2.6), "fps is frames over total duration (got %f)", v.fps);
    IS_STR(v.container, "gif", "container gif");
    IS_INT(v.width, W, "canvas width");
    IS_INT(v.hash_height, H, "hashed height");
    IS_INT(v.bytes, (long long)b.len, "bytes: the input's length");

    /* seconds_per_hash 0: every frame, at 0, 0.1, 0.6. */
    o.seconds_per_hash = 0;
    rc = phm_hash_animation_mem(dec, h, b.p, b.len, "a.gif", &o, &v, err, sizeof err);
    IS_INT(v.count, 3, "r=0: every frame hashed");
    OK(v.count == 3 && near(v.frames[1].timestamp, 0.1) && near(v.frames[2].timestamp, 0.6),
       "r=0: timestamps 0, 0.1, 0.6");

    /* seconds_per_hash 0.5: samples 0, 0.5, 1.0, ... -> frame 0 (0), frame 1
     * (0.5), frame 2 (1.0 and on): all three. */
    o.seconds_per_hash = 0.5;
    rc = phm_hash_animation_mem(dec, h, b.p, b.len, "a.gif", &o, &v, err, sizeof err);
    IS_INT(v.count, 3, "r=0.5: each frame covers a sample");

    /* seconds_per_hash 3: only frame 0 (the next sample, 3 s, is after the
     * end). */
    o.seconds_per_hash = 3;
    rc = phm_hash_animation_mem(dec, h, b.p, b.len, "a.gif", &o, &v, err, sizeof err);
    IS_INT(v.count, 1, "r=3: only frame 0");

    /* Limits: max_frames 2 stops with TOO_LARGE, the two frames kept. */
    phm_video_options_init(&o);
    o.seconds_per_hash = 0;
    o.max_frames = 2;
    rc = phm_hash_animation_mem(dec, h, b.p, b.len, "a.gif", &o, &v, err, sizeof err);
    IS_INT(rc, PHM_ERR_TOO_LARGE, "max_frames 2: too large");
    IS_INT(v.count, 2, "max_frames 2: the two frames before are kept");
    OK(strstr(err, "'a.gif'") && strstr(err, "more than 2 frames"),
       "max_frames: the message says so (%s)", err);
    o.max_frames = 0;
    o.max_seconds = 0.5;
    rc = phm_hash_animation_mem(dec, h, b.p, b.len, "a.gif", &o, &v, err, sizeof err);
    IS_INT(rc, PHM_ERR_TOO_LARGE, "max_seconds 0.5: too large at frame 2 (0.6 s)");
    IS_INT(v.count, 2, "max_seconds: frames 0 and 1 kept");
    o.max_seconds = 0;
    o.max_pixels = W * H - 1;
    rc = phm_hash_animation_mem(dec, h, b.p, b.len, "a.gif", &o, &v, err, sizeof err);
    IS_INT(rc, PHM_ERR_TOO_LARGE, "max_pixels below the canvas: too large");
    IS_INT(v.count, 0, "max_pixels: nothing hashed");
    o.max_pixels = 0;

    /* Damage: cut inside frame 2 -> CORRUPT, frames 0 and 1 kept. */
    rc = phm_hash_animation_mem(dec, h, b.p, b.len - 200, "cut.gif", &o, &v, err,
                                sizeof err);
    IS_INT(rc, PHM_ERR_CORRUPT, "cut inside frame 2: corrupt");
    IS_INT(v.count, 2, "cut: the frames before it are kept");
    OK(strstr(err, "frame 2") != NULL, "cut: the message names the frame (%s)", err);
    /* Cut between frames (no trailer): the frames there are, no error. */
    rc = phm_hash_animation_mem(dec, h, b.p, b.len - 1, "notrailer.gif", &o, &v, err,
                                sizeof err);
    IS_INT(rc, PHM_OK, "no trailer: fine, as browsers show it");
    IS_INT(v.count, 3, "no trailer: all three frames");
    free(b.p);

    /* Delays of 0 are shown for 0.1 s, as browsers do. */
    int zero[3] = { 0, 1, 0 };
    OK(make_gif(3, pics, zero, &b) == 0, "a GIF of delays 0, 1, 0");
    o.seconds_per_hash = 0;
    rc = phm_hash_animation_mem(dec, h, b.p, b.len, "z.gif", &o, &v, err, sizeof err);
    OK(rc == PHM_OK && v.count == 3 && near(v.frames[1].timestamp, 0.1) &&
           near(v.frames[2].timestamp, 0.2),
       "delays 0 and 1 count as 0.1 s: timestamps 0, 0.1, 0.2");
    o.seconds_per_hash = 0.2;
    rc = phm_hash_animation_mem(dec, h, b.p, b.len, "z.gif", &o, &v, err, sizeof err);
    OK(rc == PHM_OK && v.count == 2 && v.frames[1].frame == 2,
       "r=0.2: frames 0 and 2 (0.2 s is frame 2's start, not frame 1's end)");
    free(b.p);

    /* Not an animation format. */
    rc = phm_hash_animation_mem(dec, h, "\x89PNG\r\n\x1a\n", 8, "x.png", &o, &v, err,
                                sizeof err);
    IS_INT(rc, PHM_ERR_UNSUPPORTED, "a PNG: unsupported");
    rc = phm_hash_animation_mem(dec, h, "GIF89a", 6, "x.gif", &o, &v, err, sizeof err);
    IS_INT(rc, PHM_ERR_CORRUPT, "a GIF header alone: corrupt");
    rc = phm_hash_animation_mem(NULL, h, "GIF89a", 6, "x.gif", &o, &v, err, sizeof err);
    IS_INT(rc, PHM_ERR_INVALID, "no decoder: invalid");
    o.seconds_per_hash = -1;
    rc = phm_hash_animation_mem(dec, h, "GIF89a", 6, "x.gif", &o, &v, err, sizeof err);
    IS_INT(rc, PHM_ERR_INVALID, "negative seconds_per_hash: invalid");

    phm_vpdq_clear(&v);
    phm_hasher_free(h);
    phm_decoder_free(dec);
    return tap_done();
}
