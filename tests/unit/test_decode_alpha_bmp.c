/* test_decode_alpha_bmp.c - BMPs with an alpha bit field composited over a
 * background (decode_bmp.c), built byte by byte here: 32-bit ARGB in the
 * V3, V4 and V5 headers and with BI_ALPHABITFIELDS, bottom-up and
 * top-down; 16-bit 1-5-5-5 and 4-4-4-4; alpha fields of 2 and 12 bits.
 * The colours are ImageMagick's (the decode with alpha dropped: each field
 * moved to the top of 16 bits, its bits repeated as decode_bmp.c's header
 * says, then floor(v / 257)); the alpha is the field's bits repeated
 * downwards to 8 (or its top 8), as browsers take it. Over white and black
 * exactly (v a + g (255 - a) + 127) / 255. An image whose alphas are all 0
 * is opaque (Windows, browsers): never composited; nor is a 32-bit BI_RGB
 * image whose header has an alpha mask, nor a file whose alpha mask
 * overlaps a colour's (ignored, the file still read). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"
#include "alpha_util.h"

enum { BI_RGB = 0, BI_BITFIELDS = 3, BI_ALPHABITFIELDS = 6 };

typedef struct bspec {
    const char *what;
    uint32_t hsize, bpp, compression;
    uint32_t mask[4]; /* red, green, blue, alpha */
    int top_down;
} bspec;

static void le(buf *b, uint32_t v, int n)
{
    for (int i = 0; i < n; i++) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        put(b, &c, 1);
    }
}

/* The file of W x H pixels pix (row 0 on top), each bpp / 8 bytes. */
static buf write_bmp(const bspec *bs, const uint32_t *pix)
{
    const uint32_t bytes = bs->bpp / 8, stride = (W * bytes + 3) / 4 * 4;
    const uint32_t masks = bs->hsize == 40 && bs->compression != BI_RGB
                               ? (bs->compression == BI_ALPHABITFIELDS ? 16 : 12)
                               : 0;
    const uint32_t off = 14 + bs->hsize + masks;
    buf b = { 0 };
    put(&b, "BM", 2);
    le(&b, off + stride * H, 4);
    le(&b, 0, 4);
    le(&b, off, 4);
    le(&b, bs->hsize, 4);
    le(&b, W, 4);
    le(&b, bs->top_down ? (uint32_t)-H : H, 4);
    le(&b, 1, 2);
    le(&b, bs->bpp, 2);
    le(&b, bs->compression, 4);
    le(&b, stride * H, 4);
    le(&b, 2835, 4);
    le(&b, 2835, 4);
    le(&b, 0, 4);
    le(&b, 0, 4);
    /* The masks: after a 40-byte header, or its next fields; the rest of
     * a V4 or V5 header (colour space and so on) zero. */
    uint32_t n = masks ? masks / 4 : bs->hsize >= 56 ? 4 : 0;
    for (uint32_t i = 0; i < n; i++)
        le(&b, bs->mask[i], 4);
    for (uint32_t i = 40 + (masks ? 0 : 4 * n); i < bs->hsize; i++)
        le(&b, 0, 1);
    for (uint32_t r = 0; r < H; r++) {
        uint32_t y = bs->top_down ? r : H - 1 - r;
        for (uint32_t x = 0; x < W; x++)
            le(&b, pix[y * W + x], (int)bytes);
        le(&b, 0, (int)(stride - W * bytes));
    }
    return b;
}

static uint32_t field_bits(uint32_t m, uint32_t *low)
{
    uint32_t bits = 0;
    *low = 0;
    while (m && !(m >> *low & 1))
        ++*low;
    while (*low + bits < 32 && (m >> (*low + bits) & 1))
        bits++;
    return bits;
}

/* A colour field as ImageMagick scales it (decode_bmp.c's header). */
static uint8_t colour8(uint32_t raw, uint32_t bits, int green, int bpp16)
{
    uint32_t v = bits <= 16 ? raw << (16 - bits) : raw >> (bits - 16);
    if (bpp16) {
        if (bits == 5)
            v |= (v & 0xe000) >> 5;
        if (green && bits == 6)
            v |= (v & 0xc000) >> 6;
        if (bits <= 8)
            v |= (v & 0xff00) >> 8;
    } else if (bits == 8) {
        v |= v >> 8;
    }
    return (uint8_t)(v / 257);
}

/* An alpha field to 8 bits, its bits repeated (written out: 1, 2, 4 bits). */
static uint8_t alpha8(uint32_t raw, uint32_t bits)
{
    switch (bits) {
    case 1: return raw ? 255 : 0;
    case 2: return (uint8_t)(raw * 85);
    case 4: return (uint8_t)(raw * 17);
    default: return (uint8_t)(bits >= 8 ? raw >> (bits - 8) : 0);
    }
}

/* Pixel i's alpha field: 0, the maximum, half and values between;
 * `alphas` 0: every one 0, 1: every one the maximum, 2: mixed. */
static uint32_t alpha_raw(size_t i, uint32_t max, int alphas)
{
    if (alphas < 2)
        return alphas ? max : 0;
    switch (i % 6) {
    case 0: return 0;
    case 1: return max;
    case 2: return (max + 1) / 2;
    default: return (uint32_t)(i * 2654435761u >> 7) & max;
    }
}

/* has_alpha: whether the decoder is to take the alpha mask. */
static void check_bmp(phm_decoder *dec, const bspec *bs, int alphas, int has_alpha)
{
    uint32_t pix[W * H];
    want t = want_new(W, H, 3);
    uint32_t low[4], bits[4];
    for (int c = 0; c < 4; c++)
        bits[c] = field_bits(bs->mask[c], &low[c]);
    for (size_t i = 0; i < (size_t)W * H; i++) {
        uint32_t p = 0;
        for (int c = 0; c < 3; c++) {
            uint32_t max = bits[c] == 32 ? 0xffffffffu : (1u << bits[c]) - 1;
            uint32_t v = (uint32_t)((i * 7 + (size_t)c * 91) * 2654435761u >> 9) & max;
            p |= v << low[c];
            t.color[i * 3 + (size_t)c] = colour8(v, bits[c], c == 1, bs->bpp == 16);
        }
        /* (An alpha mask over a colour's: the colour's bits alone.) */
        if (bits[3] && !(bs->mask[3] & (bs->mask[0] | bs->mask[1] | bs->mask[2]))) {
            uint32_t a = alpha_raw(i, (1u << bits[3]) - 1, alphas);
            p |= a << low[3];
            if (has_alpha && alphas > 0)
                t.alpha[i] = alpha8(a, bits[3]);
        }
        pix[i] = p;
    }
    buf b = write_bmp(bs, pix);
    char what[160];
    snprintf(what, sizeof what, "%s%s", bs->what,
             alphas == 0 ? ", every alpha 0" : alphas == 1 ? ", every alpha opaque" : "");
    check_image(dec, &b, &t, what);
    want_free(&t);
    free(b.p);
}

int main(void)
{
    phm_decoder *dec;
    if (phm_decoder_new(&dec, NULL))
        return 1;
    const uint32_t ARGB[4] = { 0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000 };
    const bspec with[] = {
        { "V5 32-bit ARGB", 124, 32, BI_BITFIELDS, { ARGB[0], ARGB[1], ARGB[2], ARGB[3] }, 0 },
        { "V5 32-bit ARGB top-down", 124, 32, BI_BITFIELDS,
          { ARGB[0], ARGB[1], ARGB[2], ARGB[3] }, 1 },
        { "V4 32-bit ARGB", 108, 32, BI_BITFIELDS, { ARGB[0], ARGB[1], ARGB[2], ARGB[3] }, 0 },
        { "V3 (56-byte) 32-bit ARGB", 56, 32, BI_BITFIELDS,
          { ARGB[0], ARGB[1], ARGB[2], ARGB[3] }, 0 },
        { "BI_ALPHABITFIELDS 32-bit ARGB", 40, 32, BI_ALPHABITFIELDS,
          { ARGB[0], ARGB[1], ARGB[2], ARGB[3] }, 0 },
        { "V5 32-bit RGBA, alpha low", 124, 32, BI_BITFIELDS,
          { 0xff000000, 0x00ff0000, 0x0000ff00, 0x000000ff }, 0 },
        { "V5 32-bit 2-10-10-10", 124, 32, BI_BITFIELDS,
          { 0x3ff00000, 0x000ffc00, 0x000003ff, 0xc0000000 }, 0 },
        { "V5 32-bit, a 12-bit alpha", 124, 32, BI_BITFIELDS,
          { 0x000000ff, 0x0000ff00, 0x000f0000, 0xfff00000 }, 0 },
        { "BI_ALPHABITFIELDS 16-bit 1-5-5-5", 40, 16, BI_ALPHABITFIELDS,
          { 0x7c00, 0x03e0, 0x001f, 0x8000 }, 0 },
        { "V5 16-bit 4-4-4-4", 124, 16, BI_BITFIELDS, { 0x0f00, 0x00f0, 0x000f, 0xf000 }, 0 },
    };
    for (size_t i = 0; i < sizeof with / sizeof with[0]; i++)
        check_bmp(dec, &with[i], 2, 1);
    /* Every alpha 0: opaque, as Windows and browsers show it. Every alpha
     * the maximum: nothing to composite. */
    check_bmp(dec, &with[0], 0, 1);
    check_bmp(dec, &with[8], 0, 1);
    check_bmp(dec, &with[0], 1, 1);
    check_bmp(dec, &with[8], 1, 1);

    /* An alpha mask the decoder does not take: none in a 40-byte
     * BI_BITFIELDS header (the top byte unused), BI_RGB, one that
     * overlaps a colour's. */
    const bspec without[] = {
        { "40-byte BI_BITFIELDS 32-bit, top byte set", 40, 32, BI_BITFIELDS,
          { ARGB[0], ARGB[1], ARGB[2], 0 }, 0 },
        { "V5 32-bit BI_RGB with an alpha mask", 124, 32, BI_RGB,
          { ARGB[0], ARGB[1], ARGB[2], ARGB[3] }, 0 },
        { "V5 32-bit, alpha mask over green's", 124, 32, BI_BITFIELDS,
          { 0x00ff0000, 0x0000ff00, 0x000000ff, 0x0000ff00 }, 0 },
    };
    for (size_t i = 0; i < sizeof without / sizeof without[0]; i++)
        check_bmp(dec, &without[i], 2, 0);

    /* The 40-byte BI_BITFIELDS file's top byte is still there: set it as
     * the alpha would be, so the test above is not empty. */
    uint32_t pix[W * H];
    for (size_t i = 0; i < (size_t)W * H; i++)
        pix[i] = (uint32_t)i * 0x01010101u | alpha_raw(i, 255, 2) << 24;
    buf b = write_bmp(&without[0], pix);
    phm_image img;
    char err[PHM_ERRMSG_MAX];
    phm_decoder_set_background(dec, 255);
    int rc = phm_decode_mem(dec, b.p, b.len, "t.bmp", &img, err, sizeof err);
    OK(rc == PHM_OK && !phm_decoder_composited(dec) && img.pixels[0] == 0,
       "40-byte BI_BITFIELDS with its top byte set: read, not composited");
    phm_decoder_set_background(dec, PHM_BACKGROUND_NONE);
    free(b.p);

    phm_decoder_free(dec);
    return tap_done();
}
