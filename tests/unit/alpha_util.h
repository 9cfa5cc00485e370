/* alpha_util.h - what the tests of transparency composited over a
 * background (test_decode_alpha*.c) share: a growable byte buffer for the
 * files they write, the pixels an image should decode to (its 8-bit
 * colours and alphas), and the check of one file decoded with no
 * background (the colours, alpha dropped), over white and over black
 * (exactly (v a + g (255 - a) + 127) / 255, or for premultiplied colours
 * (v 255 + g (255 - a) + 127) / 255 at most 255), with phm_decoder_composited
 * 1 only over a background and when some alpha was below 255. Include
 * after tap.h. */
#ifndef PHM_ALPHA_UTIL_H
#define PHM_ALPHA_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"

#define W 37 /* odd sizes: no row or pass is a whole number of anything */
#define H 23

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static inline void put(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* What an image should decode to: its 8-bit colours (ch 1 or 3) and alphas
 * (255 where opaque). */
typedef struct want {
    uint32_t w, h, ch;
    uint8_t *color;    /* w * h * ch */
    uint8_t *alpha;    /* w * h */
    int premultiplied; /* colour times alpha (a JPEG XL's associated alpha) */
} want;

static inline want want_new(uint32_t w, uint32_t h, uint32_t ch)
{
    want t = { w, h, ch, calloc((size_t)w * h * ch, 1), malloc((size_t)w * h), 0 };
    if (!t.color || !t.alpha)
        abort();
    memset(t.alpha, 255, (size_t)w * h);
    return t;
}

static inline void want_free(want *t)
{
    free(t->color);
    free(t->alpha);
}

/* An alpha for pixel i that takes 0, 255 and values between. */
static inline uint8_t alpha_at(size_t i)
{
    if (i % 5 == 0)
        return 0;
    if (i % 5 == 1)
        return 255;
    return (uint8_t)(i * 37 + 11);
}

/* v over grey g with alpha a: straight, or premultiplied (v is colour
 * times alpha: (v 255 + g (255 - a) + 127) / 255, at most 255). */
static inline uint32_t over(uint32_t v, uint32_t a, uint32_t g, int premultiplied)
{
    if (!premultiplied)
        return (v * a + g * (255 - a) + 127) / 255;
    uint32_t e = (v * 255 + g * (255 - a) + 127) / 255;
    return e < 255 ? e : 255;
}

/* Whether img is t over grey g (g < 0: t's colours, alpha dropped). */
static inline int same_as(const phm_image *img, const want *t, int g, size_t *bad)
{
    *bad = 0;
    if (!img->pixels || img->width != t->w || img->height != t->h || img->channels != t->ch)
        return 0;
    for (uint32_t y = 0; y < t->h; y++)
        for (uint32_t x = 0; x < t->w; x++)
            for (uint32_t c = 0; c < t->ch; c++) {
                size_t i = (size_t)y * t->w + x;
                uint32_t v = t->color[i * t->ch + c], a = t->alpha[i];
                uint32_t e = g < 0 ? v : over(v, a, (uint32_t)g, t->premultiplied);
                if (img->pixels[(size_t)y * img->stride + (size_t)x * t->ch + c] != e) {
                    *bad = i;
                    return 0;
                }
            }
    return 1;
}

static inline int any_clear(const want *t)
{
    for (size_t i = 0; i < (size_t)t->w * t->h; i++)
        if (t->alpha[i] != 255)
            return 1;
    return 0;
}

/* Decodes data with no background, over white and over black. */
static inline void check_image(phm_decoder *dec, const buf *b, const want *t, const char *what)
{
    static const int grounds[] = { PHM_BACKGROUND_NONE, 255, 0 };
    char err[PHM_ERRMSG_MAX];
    int clear = any_clear(t);
    for (size_t k = 0; k < sizeof grounds / sizeof grounds[0]; k++) {
        int g = grounds[k];
        phm_decoder_set_background(dec, g);
        phm_image img;
        int rc = phm_decode_mem(dec, b->p, b->len, what, &img, err, sizeof err);
        size_t bad = 0;
        if (!OK(rc == PHM_OK && same_as(&img, t, g, &bad), "%s, background %d: pixels", what,
                g)) {
            printf("#   rc %d (%s), %ux%ux%u, first wrong pixel %zu\n", rc, err, img.width,
                   img.height, img.channels, bad);
        }
        IS_INT(phm_decoder_composited(dec), g >= 0 && clear,
               "%s, background %d: composited", what, g);
    }
    phm_decoder_set_background(dec, PHM_BACKGROUND_NONE);
}

#endif /* PHM_ALPHA_UTIL_H */
