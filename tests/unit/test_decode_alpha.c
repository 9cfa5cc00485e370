/* test_decode_alpha.c - compositing transparency over a background grey
 * (phm_decoder_set_background) on images written here with libpng,
 * libwebp's encoder and giflib, so that the colours and alphas of every
 * pixel are known: with no background the colours under alpha (as the PDQ
 * reference decodes them), over white and black exactly
 * (v a + g (255 - a) + 127) / 255, computed here; phm_decoder_composited
 * only when some pixel was not opaque, and back to 0 after the next decode
 * of an opaque image, a failed one, or a JPEG streamed to the hasher.
 * The other formats that composite have their own programs,
 * test_decode_alpha_*.c; what they share is alpha_util.h. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>
#include <png.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include "decode_internal.h"
#include "phmatch.h"
#include "tap.h"
#include "alpha_util.h"

/* ------------------------------------------------------------------ */
/* Writers                                                              */
/* ------------------------------------------------------------------ */

static void png_put(png_structp png, png_bytep data, size_t n)
{
    put(png_get_io_ptr(png), data, n);
}

static void png_flush(png_structp png)
{
    (void)png;
}

typedef struct png_spec {
    int color, depth, interlace;
    const png_color *palette;
    int npalette;
    const png_byte *trans; /* palette alphas */
    int ntrans;
    const png_color_16 *key; /* grey or RGB tRNS colour */
} png_spec;

/* A PNG of rows packed as libpng takes them (16-bit big-endian). */
static int write_png(buf *out, uint32_t w, uint32_t h, const png_spec *s, const uint8_t *rows,
                     size_t stride)
{
    memset(out, 0, sizeof *out);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_set_write_fn(png, out, png_put, png_flush);
    png_set_IHDR(png, info, w, h, s->depth, s->color, s->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (s->palette)
        png_set_PLTE(png, info, s->palette, s->npalette);
    if (s->trans || s->key)
        png_set_tRNS(png, info, s->trans, s->ntrans, s->key);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (uint32_t y = 0; y < h; y++)
            png_write_row(png, rows + (size_t)y * stride);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

static int gif_put(GifFileType *gif, const GifByteType *data, int n)
{
    put(gif->UserData, data, (size_t)n);
    return n;
}

/* A one-image GIF of indices idx (w x h) over a 256-colour table, with
 * index `clear` transparent (NO_TRANSPARENT_COLOR: none). */
static int write_gif(buf *out, uint32_t w, uint32_t h, const GifColorType *colors,
                     uint8_t *idx, int clear)
{
    int e = 0;
    memset(out, 0, sizeof *out);
    GifFileType *gif = EGifOpen(out, gif_put, &e);
    if (!gif)
        return -1;
    ColorMapObject *map = GifMakeMapObject(256, colors);
    EGifSetGifVersion(gif, true);
    GraphicsControlBlock gcb = { DISPOSAL_UNSPECIFIED, false, 10, clear };
    GifByteType ext[4];
    size_t n = EGifGCBToExtension(&gcb, ext);
    int ok = EGifPutScreenDesc(gif, (int)w, (int)h, 8, 0, map) == GIF_OK &&
             EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, (int)n, ext) == GIF_OK &&
             EGifPutImageDesc(gif, 0, 0, (int)w, (int)h, false, NULL) == GIF_OK;
    for (uint32_t y = 0; ok && y < h; y++)
        ok = EGifPutLine(gif, idx + (size_t)y * w, (int)w) == GIF_OK;
    if (EGifCloseFile(gif, &e) != GIF_OK)
        ok = 0;
    GifFreeMapObject(map);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Checks                                                               */
/* ------------------------------------------------------------------ */

/* phm__composite on every colour and alpha, and each way out of a block. */
static void check_composite(void)
{
    uint8_t *px = malloc(256 * 256 * 4);
    int exact = 1;
    for (int g = 0; g < 256 && exact; g += 51) {
        for (uint32_t ch = 1; ch <= 3 && exact; ch += 2) {
            /* 65536 pixels: the in-place compaction crosses many blocks. */
            for (uint32_t i = 0; i < 65536; i++) {
                for (uint32_t c = 0; c < ch; c++)
                    px[i * (ch + 1) + c] = (uint8_t)(i & 255);
                px[i * (ch + 1) + ch] = (uint8_t)(i >> 8);
            }
            int mixed = phm__composite(px, 65536, ch, g);
            exact = mixed != 0;
            for (uint32_t i = 0; i < 65536 && exact; i++) {
                uint32_t v = i & 255, a = i >> 8;
                uint32_t e = (v * a + (uint32_t)g * (255 - a) + 127) / 255;
                for (uint32_t c = 0; c < ch; c++)
                    exact &= px[i * ch + c] == e;
                if (a == 255)
                    exact &= px[i * ch] == v;
                if (a == 0)
                    exact &= px[i * ch] == g;
            }
            if (!exact)
                printf("#   grey %d, %u channel(s)\n", g, ch);
        }
    }
    OK(exact, "phm__composite: every colour and alpha over greys 0..255, 1 and 3 channels");

    /* Opaque: nothing composited, colours kept; grey < 0 drops alpha. */
    for (uint32_t i = 0; i < 3000; i++) {
        px[4 * i] = (uint8_t)i;
        px[4 * i + 1] = (uint8_t)(i >> 3);
        px[4 * i + 2] = (uint8_t)(i * 7);
        px[4 * i + 3] = 255;
    }
    int mixed = phm__composite(px, 3000, 3, 128);
    int kept = 1;
    for (uint32_t i = 0; i < 3000; i++)
        kept &= px[3 * i] == (uint8_t)i && px[3 * i + 1] == (uint8_t)(i >> 3) &&
                px[3 * i + 2] == (uint8_t)(i * 7);
    OK(!mixed && kept, "phm__composite: opaque pixels kept, none composited");
    for (uint32_t i = 0; i < 3000; i++) {
        px[2 * i] = (uint8_t)(i * 3);
        px[2 * i + 1] = (uint8_t)(i == 2999 ? 254 : 255);
    }
    mixed = phm__composite(px, 3000, 1, -1);
    kept = 1;
    for (uint32_t i = 0; i < 3000; i++)
        kept &= px[i] == (uint8_t)(i * 3);
    OK(mixed && kept, "phm__composite, no grey: alpha dropped, the last pixel's 254 seen");
    free(px);
}

/* The RGBA source of the PNG and WebP tests: a gradient under alpha_at. */
static want rgba_source(uint32_t w, uint32_t h, uint8_t *rows)
{
    want t = want_new(w, h, 3);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            for (uint32_t c = 0; c < 3; c++)
                t.color[i * 3 + c] = rows[i * 4 + c] = (uint8_t)(x * 7 + y * 11 + c * 80);
            t.alpha[i] = rows[i * 4 + 3] = alpha_at(i);
        }
    return t;
}

static void check_png(phm_decoder *dec)
{
    buf b;
    uint8_t rows[W * H * 8];

    /* RGBA, then the same interlaced. */
    want t = rgba_source(W, H, rows);
    png_spec s = { PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, NULL };
    if (OK(write_png(&b, W, H, &s, rows, W * 4) == 0, "RGBA PNG written"))
        check_image(dec, &b, &t, "RGBA PNG");
    free(b.p);
    s.interlace = PNG_INTERLACE_ADAM7;
    if (OK(write_png(&b, W, H, &s, rows, W * 4) == 0, "interlaced RGBA PNG written"))
        check_image(dec, &b, &t, "interlaced RGBA PNG");
    free(b.p);

    /* All opaque: nothing composited, the pixels as without a background. */
    for (size_t i = 0; i < (size_t)W * H; i++)
        t.alpha[i] = rows[i * 4 + 3] = 255;
    s.interlace = PNG_INTERLACE_NONE;
    if (OK(write_png(&b, W, H, &s, rows, W * 4) == 0, "opaque RGBA PNG written"))
        check_image(dec, &b, &t, "RGBA PNG of alpha 255");
    free(b.p);
    want_free(&t);

    /* Grey + alpha: one channel. */
    t = want_new(W, H, 1);
    for (size_t i = 0; i < (size_t)W * H; i++) {
        t.color[i] = rows[2 * i] = (uint8_t)(i * 5 + 3);
        t.alpha[i] = rows[2 * i + 1] = alpha_at(i + 2);
    }
    s = (png_spec){ PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, NULL };
    if (OK(write_png(&b, W, H, &s, rows, W * 2) == 0, "grey+alpha PNG written"))
        check_image(dec, &b, &t, "grey+alpha PNG");
    free(b.p);
    want_free(&t);

    /* 16-bit RGBA: colour and alpha scaled by round(v * 255 / 65535). */
    t = want_new(W, H, 3);
    for (size_t i = 0; i < (size_t)W * H; i++) {
        for (uint32_t c = 0; c < 4; c++) {
            uint32_t v = (uint32_t)(i * 1777 + c * 12345 + 99) & 0xffff;
            if (c == 3)
                v = i % 5 == 0 ? 0 : i % 5 == 1 ? 65535 : v;
            rows[i * 8 + c * 2] = (uint8_t)(v >> 8);
            rows[i * 8 + c * 2 + 1] = (uint8_t)v;
            uint8_t v8 = (uint8_t)((v * 255 + 32767) / 65535);
            if (c < 3)
                t.color[i * 3 + c] = v8;
            else
                t.alpha[i] = v8;
        }
    }
    s = (png_spec){ PNG_COLOR_TYPE_RGB_ALPHA, 16, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, NULL };
    if (OK(write_png(&b, W, H, &s, rows, W * 8) == 0, "16-bit RGBA PNG written"))
        check_image(dec, &b, &t, "16-bit RGBA PNG");
    free(b.p);
    want_free(&t);

    /* A palette with tRNS: entries 0..9 have alphas, 10..15 none (opaque). */
    png_color pal[16];
    png_byte trans[10] = { 0, 255, 128, 17, 1, 254, 200, 60, 0, 99 };
    for (int k = 0; k < 16; k++)
        pal[k] = (png_color){ (png_byte)(k * 16), (png_byte)(255 - k * 9), (png_byte)(k * 5) };
    t = want_new(W, H, 3);
    for (size_t i = 0; i < (size_t)W * H; i++) {
        uint8_t k = (uint8_t)((i * 7 + i / W) % 16);
        rows[i] = k;
        t.color[i * 3] = pal[k].red;
        t.color[i * 3 + 1] = pal[k].green;
        t.color[i * 3 + 2] = pal[k].blue;
        t.alpha[i] = k < 10 ? trans[k] : 255;
    }
    s = (png_spec){ PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, pal, 16, trans, 10, NULL };
    if (OK(write_png(&b, W, H, &s, rows, W) == 0, "palette PNG with tRNS written"))
        check_image(dec, &b, &t, "palette PNG with tRNS");
    free(b.p);
    want_free(&t);

    /* RGB with a tRNS colour key: that colour alone is clear. */
    png_color_16 key = { 0, 200, 100, 50, 0 };
    t = want_new(W, H, 3);
    for (size_t i = 0; i < (size_t)W * H; i++) {
        int is_key = (i + i / W) % 4 == 0;
        uint8_t v[3] = { (uint8_t)(i * 3), (uint8_t)(i * 5 + 1), (uint8_t)(i >> 2) };
        if (is_key) {
            v[0] = 200;
            v[1] = 100;
            v[2] = 50;
        } else if (v[0] == 200 && v[1] == 100 && v[2] == 50) {
            v[2] = 51;
        }
        memcpy(rows + i * 3, v, 3);
        memcpy(t.color + i * 3, v, 3);
        t.alpha[i] = is_key ? 0 : 255;
    }
    s = (png_spec){ PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, &key };
    if (OK(write_png(&b, W, H, &s, rows, W * 3) == 0, "RGB PNG with a tRNS key written"))
        check_image(dec, &b, &t, "RGB PNG with a tRNS key");
    free(b.p);

    /* The same RGB without tRNS: opaque, never composited. */
    memset(t.alpha, 255, (size_t)W * H);
    s.key = NULL;
    if (OK(write_png(&b, W, H, &s, rows, W * 3) == 0, "RGB PNG written"))
        check_image(dec, &b, &t, "RGB PNG without alpha");
    free(b.p);
    want_free(&t);

    /* Grey with a tRNS key. */
    png_color_16 gkey = { 0, 0, 0, 0, 77 };
    t = want_new(W, H, 1);
    for (size_t i = 0; i < (size_t)W * H; i++) {
        uint8_t v = (uint8_t)(i * 3);
        if (i % 6 == 0)
            v = 77;
        else if (v == 77)
            v = 78;
        t.color[i] = rows[i] = v;
        t.alpha[i] = v == 77 ? 0 : 255;
    }
    s = (png_spec){ PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, &gkey };
    if (OK(write_png(&b, W, H, &s, rows, W) == 0, "grey PNG with a tRNS key written"))
        check_image(dec, &b, &t, "grey PNG with a tRNS key");
    free(b.p);
    want_free(&t);
}

/* A WebP's expected pixels from libwebp's own RGBA decode of it. */
static int webp_want(const uint8_t *data, size_t len, want *t)
{
    int w, h;
    uint8_t *rgba = WebPDecodeRGBA(data, len, &w, &h);
    if (!rgba)
        return -1;
    *t = want_new((uint32_t)w, (uint32_t)h, 3);
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        memcpy(t->color + i * 3, rgba + i * 4, 3);
        t->alpha[i] = rgba[i * 4 + 3];
    }
    WebPFree(rgba);
    return 0;
}

static void check_webp(phm_decoder *dec)
{
    uint8_t rows[W * H * 4];
    want src = rgba_source(W, H, rows);
    want_free(&src);
    static const struct { int lossless; const char *what; } kinds[] = {
        { 1, "lossless WebP with alpha" },
        { 0, "lossy WebP with alpha" },
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        uint8_t *enc = NULL;
        size_t n = kinds[k].lossless ? WebPEncodeLosslessRGBA(rows, W, H, W * 4, &enc)
                                     : WebPEncodeRGBA(rows, W, H, W * 4, 90, &enc);
        want t;
        if (!OK(n > 0 && webp_want(enc, n, &t) == 0, "%s written", kinds[k].what)) {
            WebPFree(enc);
            continue;
        }
        OK(any_clear(&t), "%s keeps its alpha", kinds[k].what);
        buf b = { enc, n, n };
        check_image(dec, &b, &t, kinds[k].what);
        if (kinds[k].lossless) {
            /* Lossless: the source itself (libwebp may change the colour
             * under alpha 0, so only where alpha is not 0). */
            int same = 1;
            for (size_t i = 0; i < (size_t)W * H; i++)
                same &= t.alpha[i] == rows[i * 4 + 3] &&
                        (t.alpha[i] == 0 || memcmp(t.color + i * 3, rows + i * 4, 3) == 0);
            OK(same, "lossless WebP: libwebp's RGBA is the source");
        }
        want_free(&t);
        WebPFree(enc);
    }
}

static void check_gif(phm_decoder *dec)
{
    GifColorType colors[256];
    for (int i = 0; i < 256; i++)
        colors[i] = (GifColorType){ (GifByteType)i, (GifByteType)(255 - i),
                                    (GifByteType)(i * 7) };
    uint8_t idx[W * H];
    want t = want_new(W, H, 3);
    for (size_t i = 0; i < (size_t)W * H; i++) {
        idx[i] = (uint8_t)((i * 5 + i / W * 3) % 32);
        t.color[i * 3] = colors[idx[i]].Red;
        t.color[i * 3 + 1] = colors[idx[i]].Green;
        t.color[i * 3 + 2] = colors[idx[i]].Blue;
        t.alpha[i] = idx[i] == 7 ? 0 : 255;
    }
    buf b;
    if (OK(write_gif(&b, W, H, colors, idx, 7) == 0, "GIF with a transparent index written"))
        check_image(dec, &b, &t, "GIF with a transparent index");
    free(b.p);
    /* A transparent index no pixel uses: nothing composited. */
    memset(t.alpha, 255, (size_t)W * H);
    if (OK(write_gif(&b, W, H, colors, idx, 200) == 0, "GIF with an unused transparent index"))
        check_image(dec, &b, &t, "GIF whose transparent index is unused");
    free(b.p);
    want_free(&t);
}

/* A black drawing in alpha alone (every colour byte 0), as many clip-art
 * PNGs are: a disc and a bar with soft edges on a clear ground. */
static void check_drawing(phm_decoder *dec, phm_hasher *h)
{
    enum { S = 128 };
    uint8_t *rows = calloc((size_t)S * S * 4, 1);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int dx = x - 45, dy = y - 50, d2 = dx * dx + dy * dy;
            int a = d2 < 25 * 25 ? 255 : d2 < 28 * 28 ? 128 : 0;
            if (x >= 80 && x < 110 && y >= 20 && y < 115)
                a = 255;
            rows[((size_t)y * S + (size_t)x) * 4 + 3] = (uint8_t)a;
        }
    png_spec s = { PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, NULL };
    buf b;
    if (!OK(write_png(&b, S, S, &s, rows, S * 4) == 0, "drawing PNG written")) {
        free(rows);
        return;
    }
    char err[PHM_ERRMSG_MAX];
    phm_image img;
    phm_pdq_result none, white, mem;
    memset(&none, 0, sizeof none);
    memset(&white, 0, sizeof white);
    phm_decoder_set_background(dec, PHM_BACKGROUND_NONE);
    if (phm_decode_mem(dec, b.p, b.len, "drawing.png", &img, err, sizeof err) == PHM_OK)
        phm_hash_image(h, &img, PHM_MODE_FULL, 0, &none);
    phm_pdq zero;
    memset(&zero, 0, sizeof zero);
    OK(phm_pdq_distance(&none.hash[0], &zero) == 0 && none.quality == 0,
       "drawing, alpha dropped: all-zero hash of quality 0 (quality %d)", none.quality);

    phm_decoder_set_background(dec, 255);
    if (phm_decode_mem(dec, b.p, b.len, "drawing.png", &img, err, sizeof err) == PHM_OK)
        phm_hash_image(h, &img, PHM_MODE_FULL, 0, &white);
    OK(white.quality >= 50 && phm_pdq_distance(&white.hash[0], &none.hash[0]) > 0,
       "drawing over white: another hash, of quality %d", white.quality);
    IS_INT(phm_decoder_composited(dec), 1, "drawing over white: composited");
    /* The one-call path decodes the same way. */
    int rc = phm_hash_mem(dec, h, b.p, b.len, "drawing.png", PHM_MODE_FULL, 0, &mem, NULL, err,
                          sizeof err);
    OK(rc == PHM_OK && phm_pdq_distance(&mem.hash[0], &white.hash[0]) == 0 &&
           phm_decoder_composited(dec),
       "phm_hash_mem over white: the same hash, composited");
    phm_decoder_set_background(dec, PHM_BACKGROUND_NONE);
    free(b.p);
    free(rows);
}

/* composited() after the next decode: 0 for an opaque image, a failure,
 * a streamed JPEG. */
static void check_reset(phm_decoder *dec, phm_hasher *h)
{
    char err[PHM_ERRMSG_MAX];
    phm_image img;
    uint8_t rows[W * H * 4];
    want t = rgba_source(W, H, rows);
    want_free(&t);
    png_spec s = { PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, NULL };
    buf clear, opaque;
    write_png(&clear, W, H, &s, rows, W * 4);
    s.color = PNG_COLOR_TYPE_RGB;
    for (size_t i = 0; i < (size_t)W * H; i++)
        memmove(rows + i * 3, rows + i * 4, 3);
    write_png(&opaque, W, H, &s, rows, W * 3);

    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long jlen = 0;
    int jok = tj && tjCompress2(tj, rows, W, 0, H, TJPF_RGB, &jpeg, &jlen, TJSAMP_420, 90, 0) == 0;
    OK(jok, "JPEG written");

    phm_decoder_set_background(dec, 255);
    static const char *const after[] = { "an opaque PNG", "a failed decode", "a JPEG",
                                         "a JPEG hashed in one pass", "no file" };
    for (size_t k = 0; k < sizeof after / sizeof after[0]; k++) {
        phm_decode_mem(dec, clear.p, clear.len, "clear.png", &img, err, sizeof err);
        int before = phm_decoder_composited(dec);
        phm_pdq_result r;
        switch (k) {
        case 0: phm_decode_mem(dec, opaque.p, opaque.len, "o.png", &img, err, sizeof err); break;
        case 1: phm_decode_mem(dec, clear.p, 40, "cut.png", &img, err, sizeof err); break;
        case 2: phm_decode_mem(dec, jpeg, jok ? jlen : 0, "o.jpg", &img, err, sizeof err); break;
        case 3:
            phm_hash_mem(dec, h, jpeg, jok ? jlen : 0, "o.jpg", PHM_MODE_FULL, 0, &r, NULL, err,
                         sizeof err);
            break;
        default:
            phm_decode_file(dec, "/nonexistent/phmatch/alpha.png", &img, err, sizeof err);
            break;
        }
        OK(before == 1 && phm_decoder_composited(dec) == 0,
           "composited 1, then 0 after %s", after[k]);
    }
    phm_decoder_set_background(dec, PHM_BACKGROUND_NONE);
    tjFree(jpeg);
    if (tj)
        tjDestroy(tj);
    free(clear.p);
    free(opaque.p);
}

int main(void)
{
    phm_decoder *dec;
    phm_hasher *h;
    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO))
        return 1;

    IS_INT(phm_decoder_set_background(dec, 256), PHM_ERR_INVALID, "background 256 refused");
    IS_INT(phm_decoder_set_background(dec, -2), PHM_ERR_INVALID, "background -2 refused");
    IS_INT(phm_decoder_set_background(NULL, 0), PHM_ERR_INVALID, "NULL decoder refused");
    IS_INT(phm_decoder_set_background(dec, 0), PHM_OK, "background 0 taken");
    IS_INT(phm_decoder_set_background(dec, 255), PHM_OK, "background 255 taken");
    IS_INT(phm_decoder_set_background(dec, PHM_BACKGROUND_NONE), PHM_OK, "no background taken");
    IS_INT(phm_decoder_composited(NULL), 0, "composited(NULL) is 0");
    IS_INT(phm_decoder_composited(dec), 0, "a new decoder composited nothing");

    check_composite();
    check_png(dec);
    check_webp(dec);
    check_gif(dec);
    check_drawing(dec, h);
    check_reset(dec, h);

    phm_hasher_free(h);
    phm_decoder_free(dec);
    return tap_done();
}
