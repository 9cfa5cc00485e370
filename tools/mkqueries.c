/*
 * mkqueries - make transformed copies of photos, as queries for
 * `phmatch match` (the demo's data/queries/, the match tests, and the
 * edited copies of bench/robustness.sh).
 *
 *     mkqueries [-t LIST] [-q QUALITY] [-m MAX] [-b PCT] OUTDIR IMAGE...
 *
 * For every IMAGE (JPEG, PNG or PNM, decoded by libphmatch) named
 * DIR/NAME.EXT, writes OUTDIR/NAME-T.jpg for each transform T of LIST
 * (comma-separated; default half,q20,crop,rot90,mirror; "bench" stands for
 * the robustness benchmark's 27 edits, rot90 to combo below):
 *
 *   half    resized to half its width and height (2x2 box filter)
 *   q20     re-encoded at JPEG quality 20
 *   crop    cropped by 1 % on every side
 *   rot90   rotated 90 degrees clockwise
 *   mirror  flipped left to right
 *   same    re-encoded unchanged, written as OUTDIR/NAME.jpg
 *
 *   resize50, resize25   resized to 50 % / 25 % a side (area averaging)
 *   q30                  re-encoded at JPEG quality 30
 *   grey                 greyscale (Rec. 601 luma)
 *   gamma                gamma 0.6 (brighter mid-tones)
 *   blur                 Gaussian blur, sigma 0.5 % of the longer side
 *                        (at least 1.5 pixels)
 *   text                 a caption in a bitmap font, white at 60 % opacity,
 *                        60 % of the width, across the lower third
 *   screenshot           scaled into a portrait canvas (9:16 or taller)
 *                        with flat-coloured bars top and bottom, as a phone
 *                        screenshot
 *   letterbox-black, letterbox-white, letterbox-blur
 *                        bars top and bottom adding 10 % of the height in
 *                        all; blur: the bars show a blurred, stretched copy
 *                        of the image
 *   pillarbox-black, pillarbox-white, pillarbox-blur
 *                        the same left and right (10 % of the width)
 *   crop5-c, crop15-c    5 % / 15 % of the width and of the height cut off,
 *                        half on each side
 *   crop5-off, crop15-off  the same, all of it from the top and the left
 *   rot5-fill, rotm5-fill  rotated 5 degrees clockwise / anticlockwise on
 *                        the same canvas, the corners filled black
 *   rot5-crop, rotm5-crop  rotated, then cut to the largest upright
 *                        rectangle inside the rotated image
 *   rot5-grow, rotm5-grow  rotated on a canvas grown to hold the whole
 *                        picture (W cos + H sin wide), the corners white /
 *                        black, as ImageMagick's -rotate and image editors
 *                        turn a picture
 *   combo                resized to 60 %, 8 % cut off the right and the
 *                        bottom, JPEG quality 50
 *
 * -b PCT makes the letterbox and pillarbox bars add PCT % instead of 10
 * (a development check that trimming is not tuned to the benchmark's 10).
 *
 * -m MAX first shrinks each IMAGE (area averaging) so that neither side
 * exceeds MAX pixels; the transforms apply to the result.
 *
 * The pixel operations are this tool's own (not libphmatch's, whose
 * matching the copies measure). JPEGs are written by libjpeg-turbo
 * (TurboJPEG), baseline, 4:2:0 chroma (grey images stay grey), quality 85
 * unless -q or the transform says otherwise. The output depends only on the
 * input pixels, the arguments and the libjpeg-turbo and libm versions:
 * running it twice writes the same bytes.
 *
 * Exit status: 0 success, 1 an image could not be read or written (the
 * message names it), 2 usage.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <turbojpeg.h>

#include "phmatch.h"

static const char usage_text[] =
    "usage: mkqueries [-t LIST] [-q QUALITY] [-m MAX] [-b PCT] OUTDIR IMAGE...\n"
    "  -t LIST  transforms, comma-separated: half,q20,crop,rot90,mirror,same,\n"
    "           resize50,resize25,q30,grey,gamma,blur,text,screenshot,\n"
    "           letterbox-black,letterbox-white,letterbox-blur,pillarbox-black,\n"
    "           pillarbox-white,pillarbox-blur,crop5-c,crop5-off,crop15-c,\n"
    "           crop15-off,rot5-fill,rotm5-fill,rot5-crop,rotm5-crop,rot5-grow,\n"
    "           rotm5-grow,combo; bench: the benchmark's 27 (rot90 to combo)\n"
    "           (default: half,q20,crop,rot90,mirror)\n"
    "  -q Q     JPEG quality of the copies, 1-100 (default 85; q20, q30 and\n"
    "           combo use 20, 30 and 50)\n"
    "  -m MAX   first shrink each image to at most MAX pixels a side\n"
    "  -b PCT   letterbox/pillarbox bars add PCT % (1-100, default 10)\n"
    "Writes OUTDIR/NAME-T.jpg for each IMAGE (NAME: its file name without\n"
    "extension) and transform T. OUTDIR is created if missing.\n";

enum {
    T_HALF, T_Q20, T_CROP, T_ROT90, T_MIRROR, T_SAME,
    /* the robustness benchmark's edits (with rot90 and mirror) */
    T_RESIZE50, T_RESIZE25, T_Q30, T_GREY, T_GAMMA, T_BLUR, T_TEXT,
    T_SCREENSHOT, T_LBOX_BLACK, T_LBOX_WHITE, T_LBOX_BLUR, T_PBOX_BLACK,
    T_PBOX_WHITE, T_PBOX_BLUR, T_CROP5_C, T_CROP5_OFF, T_CROP15_C,
    T_CROP15_OFF, T_ROT5_FILL, T_ROTM5_FILL, T_ROT5_CROP, T_ROTM5_CROP,
    T_ROT5_GROW, T_ROTM5_GROW, T_COMBO, T_COUNT
};
static const char *const transform_names[T_COUNT] = {
    "half", "q20", "crop", "rot90", "mirror", "same",
    "resize50", "resize25", "q30", "grey", "gamma", "blur", "text",
    "screenshot", "letterbox-black", "letterbox-white", "letterbox-blur",
    "pillarbox-black", "pillarbox-white", "pillarbox-blur", "crop5-c",
    "crop5-off", "crop15-c", "crop15-off", "rot5-fill", "rotm5-fill",
    "rot5-crop", "rotm5-crop", "rot5-grow", "rotm5-grow", "combo",
};
#define DEFAULT_SET                                                        \
    ((1u << T_HALF) | (1u << T_Q20) | (1u << T_CROP) | (1u << T_ROT90) |  \
     (1u << T_MIRROR))
#define BENCH_SET                                                          \
    ((((1u << T_COUNT) - 1) & ~((1u << T_RESIZE50) - 1)) |               \
     (1u << T_ROT90) | (1u << T_MIRROR))

/* An owned 8-bit image. */
typedef struct picture {
    uint8_t *px;
    uint32_t w, h, ch; /* ch: 1 or 3 */
} picture;

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "mkqueries: %s\n", msg);
    fputs(usage_text, stderr);
    return 2;
}

static int parse_transforms(const char *list, unsigned *out)
{
    unsigned set = 0;
    const char *s = list;
    while (*s) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        int found = 0;
        if (len == 5 && strncmp(s, "bench", 5) == 0) {
            set |= BENCH_SET;
            found = 1;
        }
        for (int i = 0; i < T_COUNT; i++)
            if (strlen(transform_names[i]) == len &&
                strncmp(s, transform_names[i], len) == 0) {
                set |= 1u << i;
                found = 1;
            }
        if (!found)
            return -1;
        s += len + (c ? 1 : 0);
    }
    *out = set;
    return set ? 0 : -1;
}

static int alloc_picture(picture *p, uint32_t w, uint32_t h, uint32_t ch)
{
    p->w = w;
    p->h = h;
    p->ch = ch;
    p->px = malloc((size_t)w * h * ch);
    return p->px ? 0 : -1;
}

/* Copies the decoder's image into an owned, tightly packed picture. */
static int copy_image(const phm_image *img, picture *p)
{
    if (alloc_picture(p, img->width, img->height, img->channels))
        return -1;
    size_t row = (size_t)img->width * img->channels;
    for (uint32_t y = 0; y < img->height; y++)
        memcpy(p->px + y * row, img->pixels + y * img->stride, row);
    return 0;
}

/* Shrinks `in` to w x h (not larger) by area averaging: each output pixel
 * is the mean of the source area it covers, partial pixels weighted. */
static int resize_area(const picture *in, uint32_t w, uint32_t h, picture *out)
{
    uint32_t ch = in->ch;
    double sx = (double)in->w / w, sy = (double)in->h / h;
    if (alloc_picture(out, w, h, ch))
        return -1;
    for (uint32_t y = 0; y < h; y++) {
        double y0 = y * sy, y1 = (y + 1) * sy;
        for (uint32_t x = 0; x < w; x++) {
            double x0 = x * sx, x1 = (x + 1) * sx;
            double acc[3] = { 0, 0, 0 }, total = 0;
            for (uint32_t yy = (uint32_t)y0; yy < in->h && yy < y1; yy++) {
                double wy = (yy + 1 < y1 ? yy + 1 : y1) - (yy > y0 ? yy : y0);
                for (uint32_t xx = (uint32_t)x0; xx < in->w && xx < x1; xx++) {
                    double wx = (xx + 1 < x1 ? xx + 1 : x1) - (xx > x0 ? xx : x0);
                    const uint8_t *p = in->px + ((size_t)yy * in->w + xx) * ch;
                    for (uint32_t c = 0; c < ch; c++)
                        acc[c] += wx * wy * p[c];
                    total += wx * wy;
                }
            }
            for (uint32_t c = 0; c < ch; c++)
                out->px[((size_t)y * w + x) * ch + c] =
                    (uint8_t)(acc[c] / total + 0.5);
        }
    }
    return 0;
}

/* ---- The benchmark's edits. Every one makes `out` from `in`; they return
 * 0, or -1 when out of memory. Sizes come from the decoded image, which
 * the decoder's pixel limit bounds. ---- */

static int copy_rect(const picture *in, uint32_t x0, uint32_t y0, uint32_t w,
                     uint32_t h, picture *out)
{
    uint32_t ch = in->ch;
    if (alloc_picture(out, w ? w : 1, h ? h : 1, ch))
        return -1;
    for (uint32_t y = 0; y < out->h; y++)
        memcpy(out->px + (size_t)y * out->w * ch,
               in->px + ((size_t)(y + y0) * in->w + x0) * ch,
               (size_t)out->w * ch);
    return 0;
}

/* Cuts `pct` % of the width and of the height off: half on each side
 * (centre) or all from the top and the left (off), or (off == 2) all from
 * the right and the bottom. */
static int crop_percent(const picture *in, double pct, int off, picture *out)
{
    uint32_t dx = (uint32_t)(in->w * pct / 100.0 + 0.5);
    uint32_t dy = (uint32_t)(in->h * pct / 100.0 + 0.5);
    if (dx >= in->w)
        dx = in->w - 1;
    if (dy >= in->h)
        dy = in->h - 1;
    uint32_t x0 = off == 1 ? dx : off == 2 ? 0 : dx / 2;
    uint32_t y0 = off == 1 ? dy : off == 2 ? 0 : dy / 2;
    return copy_rect(in, x0, y0, in->w - dx, in->h - dy, out);
}

static int resize_percent(const picture *in, double pct, picture *out)
{
    uint32_t w = (uint32_t)(in->w * pct / 100.0 + 0.5);
    uint32_t h = (uint32_t)(in->h * pct / 100.0 + 0.5);
    return resize_area(in, w ? w : 1, h ? h : 1, out);
}

static uint8_t clamp_u8(double v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5);
}

static int to_grey(const picture *in, picture *out)
{
    if (in->ch == 1)
        return copy_rect(in, 0, 0, in->w, in->h, out);
    if (alloc_picture(out, in->w, in->h, 1))
        return -1;
    size_t n = (size_t)in->w * in->h;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = in->px + i * 3;
        out->px[i] = clamp_u8(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
    }
    return 0;
}

static int apply_gamma(const picture *in, double g, picture *out)
{
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = clamp_u8(255.0 * pow(v / 255.0, g));
    if (copy_rect(in, 0, 0, in->w, in->h, out))
        return -1;
    size_t n = (size_t)in->w * in->h * in->ch;
    for (size_t i = 0; i < n; i++)
        out->px[i] = lut[out->px[i]];
    return 0;
}

/* One pass of a 1-D kernel k[0..2r] along n samples `step` apart, edges
 * clamped. */
static void blur_line(const double *src, double *dst, size_t n, size_t step,
                      const double *k, int r)
{
    for (size_t i = 0; i < n; i++) {
        double acc = 0;
        for (int j = -r; j <= r; j++) {
            long at = (long)i + j;
            at = at < 0 ? 0 : at >= (long)n ? (long)n - 1 : at;
            acc += k[j + r] * src[(size_t)at * step];
        }
        dst[i * step] = acc;
    }
}

/* Separable Gaussian blur, edges clamped. */
static int gaussian_blur(const picture *in, double sigma, picture *out)
{
    uint32_t w = in->w, h = in->h, ch = in->ch;
    size_t row = (size_t)w * ch, n = row * h;
    int r = (int)ceil(3.0 * sigma);
    if (r > 200)
        r = 200;
    double k[401], sum = 0;
    for (int i = -r; i <= r; i++)
        sum += k[i + r] = exp(-(double)(i * i) / (2.0 * sigma * sigma));
    for (int i = 0; i <= 2 * r; i++)
        k[i] /= sum;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    if (!a || !b || alloc_picture(out, w, h, ch)) {
        free(a);
        free(b);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = in->px[i];
    for (size_t y = 0; y < h; y++) /* along the rows, a -> b */
        for (size_t c = 0; c < ch; c++)
            blur_line(a + y * row + c, b + y * row + c, w, ch, k, r);
    for (size_t x = 0; x < row; x++) /* along the columns, b -> a */
        blur_line(b + x, a + x, h, row, k, r);
    for (size_t i = 0; i < n; i++)
        out->px[i] = clamp_u8(a[i]);
    free(a);
    free(b);
    return 0;
}

/* Bilinear sample of `in` at pixel-centre coordinates (fx, fy) into dst;
 * points more than half a pixel outside the image take `fill`. */
static void sample(const picture *in, double fx, double fy, uint8_t fill,
                   uint8_t *dst)
{
    uint32_t ch = in->ch;
    if (fx < -0.5 || fy < -0.5 || fx > in->w - 0.5 || fy > in->h - 0.5) {
        memset(dst, fill, ch);
        return;
    }
    fx = fx < 0 ? 0 : fx > in->w - 1.0 ? in->w - 1.0 : fx;
    fy = fy < 0 ? 0 : fy > in->h - 1.0 ? in->h - 1.0 : fy;
    uint32_t x0 = (uint32_t)fx, y0 = (uint32_t)fy;
    uint32_t x1 = x0 + 1 < in->w ? x0 + 1 : x0;
    uint32_t y1 = y0 + 1 < in->h ? y0 + 1 : y0;
    double ax = fx - x0, ay = fy - y0;
    for (uint32_t c = 0; c < ch; c++) {
        double top = (1 - ax) * in->px[((size_t)y0 * in->w + x0) * ch + c] +
                     ax * in->px[((size_t)y0 * in->w + x1) * ch + c];
        double bot = (1 - ax) * in->px[((size_t)y1 * in->w + x0) * ch + c] +
                     ax * in->px[((size_t)y1 * in->w + x1) * ch + c];
        dst[c] = clamp_u8((1 - ay) * top + ay * bot);
    }
}

/* Stretches (or shrinks) `in` to w x h by bilinear interpolation. */
static int resize_bilinear(const picture *in, uint32_t w, uint32_t h,
                           picture *out)
{
    if (alloc_picture(out, w, h, in->ch))
        return -1;
    double sx = (double)in->w / w, sy = (double)in->h / h;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            sample(in, (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5, 0,
                   out->px + ((size_t)y * w + x) * in->ch);
    return 0;
}

enum { ROT_SAME, ROT_CROP, ROT_GROW };

/* Rotates by `deg` degrees clockwise about the centre: ROT_SAME on the
 * same canvas, ROT_GROW on one grown to hold the whole picture, the
 * corners `fill` on both; ROT_CROP cut to the largest upright rectangle
 * inside the rotated image. */
static int rotate(const picture *in, double deg, int how, uint8_t fill, picture *out)
{
    double a = deg * 3.14159265358979323846 / 180.0;
    double s = sin(a), c = cos(a);
    double w = in->w, h = in->h, ow = w, oh = h;
    if (how == ROT_GROW) {
        ow = ceil(w * fabs(c) + h * fabs(s) - 1e-9);
        oh = ceil(h * fabs(c) + w * fabs(s) - 1e-9);
    } else if (how == ROT_CROP) {
        /* The largest axis-aligned rectangle inside a w x h rectangle
         * turned by a: either limited by the short side alone (long thin
         * images) or touching all four sides. */
        double as = fabs(s), ac = fabs(c);
        double lng = w >= h ? w : h, sht = w >= h ? h : w;
        if (sht <= 2.0 * as * ac * lng || fabs(as - ac) < 1e-10) {
            double x = 0.5 * sht;
            ow = w >= h ? x / as : x / ac;
            oh = w >= h ? x / ac : x / as;
        } else {
            double c2 = ac * ac - as * as;
            ow = (w * ac - h * as) / c2;
            oh = (h * ac - w * as) / c2;
        }
        ow = floor(ow) - 1; /* keep clear of the interpolated edge */
        oh = floor(oh) - 1;
        ow = ow < 1 ? 1 : ow > w ? w : ow;
        oh = oh < 1 ? 1 : oh > h ? h : oh;
    }
    if (alloc_picture(out, (uint32_t)ow, (uint32_t)oh, in->ch))
        return -1;
    double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    double ocx = (ow - 1) / 2.0, ocy = (oh - 1) / 2.0;
    for (uint32_t y = 0; y < out->h; y++)
        for (uint32_t x = 0; x < out->w; x++) {
            /* output point relative to the centre, turned back by -a
             * (y points down, so clockwise is the positive angle) */
            double dx = x - ocx, dy = y - ocy;
            double sx = c * dx + s * dy + cx, sy = -s * dx + c * dy + cy;
            sample(in, sx, sy, fill, out->px + ((size_t)y * out->w + x) * in->ch);
        }
    return 0;
}

static void fill_rect(picture *p, uint32_t x0, uint32_t y0, uint32_t w,
                      uint32_t h, const uint8_t rgb[3])
{
    uint8_t v[3] = { rgb[0], rgb[1], rgb[2] };
    if (p->ch == 1)
        v[0] = clamp_u8(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
    for (uint32_t y = y0; y < y0 + h && y < p->h; y++)
        for (uint32_t x = x0; x < x0 + w && x < p->w; x++)
            memcpy(p->px + ((size_t)y * p->w + x) * p->ch, v, p->ch);
}

static void paste(picture *dst, const picture *src, uint32_t x0, uint32_t y0)
{
    for (uint32_t y = 0; y < src->h && y + y0 < dst->h; y++)
        memcpy(dst->px + ((size_t)(y + y0) * dst->w + x0) * dst->ch,
               src->px + (size_t)y * src->w * src->ch,
               (size_t)src->w * src->ch);
}

/* A blurred copy of `in` stretched to w x h: shrunk to a sixteenth,
 * blurred, stretched back up (the fill of "blurred" letterboxing). */
static int blur_fill(const picture *in, uint32_t w, uint32_t h, picture *out)
{
    picture small = { 0 }, soft = { 0 };
    uint32_t sw = in->w / 16 ? in->w / 16 : 1, sh = in->h / 16 ? in->h / 16 : 1;
    int rc = -1;
    if (resize_area(in, sw, sh, &small) == 0 &&
        gaussian_blur(&small, 1.5, &soft) == 0 &&
        resize_bilinear(&soft, w, h, out) == 0)
        rc = 0;
    free(small.px);
    free(soft.px);
    return rc;
}

/* Letterbox (vertical == 1: bars top and bottom) or pillarbox, the bars
 * adding pct % (the benchmark: 10) of the height (width) in all. fill: 0
 * black, 255 white, -1 a blurred stretched copy of the image. */
static int add_bars(const picture *in, int vertical, int fill, int pct, picture *out)
{
    uint32_t add = (uint32_t)((vertical ? in->h : in->w) * (double)pct / 100.0 + 0.5);
    add = add ? add : 2;
    uint32_t w = in->w + (vertical ? 0 : add), h = in->h + (vertical ? add : 0);
    if (fill < 0) {
        if (blur_fill(in, w, h, out))
            return -1;
    } else {
        if (alloc_picture(out, w, h, in->ch))
            return -1;
        memset(out->px, fill, (size_t)w * h * in->ch);
    }
    paste(out, in, vertical ? 0 : add / 2, vertical ? add / 2 : 0);
    return 0;
}

/* A 5x7 bitmap font: the glyphs the caption needs, one byte a row, the
 * low 5 bits the pixels (bit 4 leftmost). */
static const struct glyph {
    char c;
    uint8_t rows[7];
} font[] = {
    { 'A', { 0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11 } },
    { 'C', { 0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e } },
    { 'E', { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f } },
    { 'H', { 0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11 } },
    { 'M', { 0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11 } },
    { 'O', { 0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e } },
    { 'P', { 0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10 } },
    { 'R', { 0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11 } },
    { 'S', { 0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e } },
    { 'T', { 0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 } },
    { 'W', { 0x11, 0x11, 0x11, 0x15, 0x15, 0x1b, 0x11 } },
    { 'Y', { 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04 } },
    { '0', { 0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e } },
    { '2', { 0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f } },
    { '6', { 0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e } },
    { '@', { 0x0e, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0e } },
};

static const uint8_t *glyph_rows(char c)
{
    for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
        if (font[i].c == c)
            return font[i].rows;
    return NULL; /* a space */
}

/* Blends colour v (grey level) at opacity `alpha` into pixel (x, y). */
static void blend(picture *p, uint32_t x, uint32_t y, double v, double alpha)
{
    if (x >= p->w || y >= p->h)
        return;
    uint8_t *d = p->px + ((size_t)y * p->w + x) * p->ch;
    for (uint32_t c = 0; c < p->ch; c++)
        d[c] = clamp_u8((1 - alpha) * d[c] + alpha * v);
}

/* A watermark caption across the lower third: the text in white at 60 %
 * opacity, as large as 60 % of the width allows. */
static int add_caption(const picture *in, picture *out)
{
    static const char text[] = "@PHMATCH COPY 2026";
    size_t n = sizeof text - 1;
    if (copy_rect(in, 0, 0, in->w, in->h, out))
        return -1;
    uint32_t scale = (uint32_t)(in->w * 0.6 / (6.0 * (double)n));
    if (scale < 1)
        scale = 1;
    if (scale * 9 > in->h / 3)
        scale = in->h / 27 ? in->h / 27 : 1;
    uint32_t tw = (uint32_t)(6 * n - 1) * scale;
    uint32_t x0 = in->w > tw ? (in->w - tw) / 2 : 0;
    uint32_t y0 = (uint32_t)(in->h * 0.72);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *rows = glyph_rows(text[i]);
        if (!rows)
            continue;
        for (uint32_t gy = 0; gy < 7 * scale; gy++)
            for (uint32_t gx = 0; gx < 5 * scale; gx++)
                if (rows[gy / scale] & (0x10 >> (gx / scale)))
                    blend(out, x0 + (uint32_t)(6 * i) * scale + gx, y0 + gy,
                          255, 0.6);
    }
    return 0;
}

/* A phone screenshot: a portrait canvas (9:16, or taller for a tall image)
 * as wide as the image, a status bar and an app bar on top, a navigation
 * bar below, the image scaled to 92 % of the width between them on white,
 * and two grey "text" lines under it. */
static int screenshot(const picture *in, picture *out)
{
    static const uint8_t status[3] = { 0x15, 0x65, 0xc0 };
    static const uint8_t appbar[3] = { 0x1e, 0x88, 0xe5 };
    static const uint8_t navbar[3] = { 0x20, 0x20, 0x20 };
    static const uint8_t lines[3] = { 0xc8, 0xc8, 0xc8 };
    uint32_t w = in->w < 16 ? 16 : in->w;
    uint32_t iw = (uint32_t)(w * 0.92), ih = (uint32_t)((double)in->h * iw / in->w);
    iw = iw ? iw : 1;
    ih = ih ? ih : 1;
    uint32_t h = (uint32_t)(w * 16.0 / 9.0);
    if (h < ih + ih / 2)
        h = ih + ih / 2;
    uint32_t top = h * 4 / 100 + h * 7 / 100, bottom = h * 8 / 100;
    picture small = { 0 };
    if (iw <= in->w ? resize_area(in, iw, ih, &small) : resize_bilinear(in, iw, ih, &small))
        return -1;
    if (alloc_picture(out, w, h, in->ch)) {
        free(small.px);
        return -1;
    }
    memset(out->px, 255, (size_t)w * h * in->ch);
    fill_rect(out, 0, 0, w, h * 4 / 100, status);
    fill_rect(out, 0, h * 4 / 100, w, h * 7 / 100, appbar);
    fill_rect(out, 0, h - bottom, w, bottom, navbar);
    uint32_t y0 = top + (h - top - bottom - ih) / 3;
    paste(out, &small, (w - iw) / 2, y0);
    uint32_t ly = y0 + ih + h / 40, lh = h / 60 ? h / 60 : 1;
    fill_rect(out, (w - iw) / 2, ly, iw * 9 / 10, lh, lines);
    fill_rect(out, (w - iw) / 2, ly + 2 * lh, iw * 6 / 10, lh, lines);
    free(small.px);
    return 0;
}

/* Resize to 60 %, cut 8 % off the right and the bottom (quality 50 comes
 * from quality_of). */
static int combo(const picture *in, picture *out)
{
    picture mid = { 0 };
    if (resize_percent(in, 60, &mid))
        return -1;
    int rc = crop_percent(&mid, 8, 2, out);
    free(mid.px);
    return rc;
}

static int quality_of(int t, int quality)
{
    return t == T_Q20 ? 20 : t == T_Q30 ? 30 : t == T_COMBO ? 50 : quality;
}

static int transform(const picture *in, int t, int bars, picture *out)
{
    uint32_t ch = in->ch;
    switch (t) {
    case T_HALF:
        return resize_area(in, in->w / 2 ? in->w / 2 : 1,
                           in->h / 2 ? in->h / 2 : 1, out);
    case T_CROP: {
        uint32_t dx = in->w / 100, dy = in->h / 100;
        uint32_t w = in->w - 2 * dx, h = in->h - 2 * dy;
        if (alloc_picture(out, w, h, ch))
            return -1;
        for (uint32_t y = 0; y < h; y++)
            memcpy(out->px + (size_t)y * w * ch,
                   in->px + ((size_t)(y + dy) * in->w + dx) * ch,
                   (size_t)w * ch);
        return 0;
    }
    case T_ROT90: /* clockwise: out(x, y) = in(y, H - 1 - x) */
        if (alloc_picture(out, in->h, in->w, ch))
            return -1;
        for (uint32_t y = 0; y < out->h; y++)
            for (uint32_t x = 0; x < out->w; x++)
                memcpy(out->px + ((size_t)y * out->w + x) * ch,
                       in->px + ((size_t)(in->h - 1 - x) * in->w + y) * ch, ch);
        return 0;
    case T_MIRROR:
        if (alloc_picture(out, in->w, in->h, ch))
            return -1;
        for (uint32_t y = 0; y < in->h; y++)
            for (uint32_t x = 0; x < in->w; x++)
                memcpy(out->px + ((size_t)y * in->w + x) * ch,
                       in->px + ((size_t)y * in->w + (in->w - 1 - x)) * ch, ch);
        return 0;
    case T_RESIZE50:
        return resize_percent(in, 50, out);
    case T_RESIZE25:
        return resize_percent(in, 25, out);
    case T_GREY:
        return to_grey(in, out);
    case T_GAMMA:
        return apply_gamma(in, 0.6, out);
    case T_BLUR: {
        double sigma = (in->w > in->h ? in->w : in->h) * 0.005;
        return gaussian_blur(in, sigma < 1.5 ? 1.5 : sigma, out);
    }
    case T_TEXT:
        return add_caption(in, out);
    case T_SCREENSHOT:
        return screenshot(in, out);
    case T_LBOX_BLACK:
    case T_LBOX_WHITE:
    case T_LBOX_BLUR:
        return add_bars(in, 1, t == T_LBOX_BLACK ? 0 : t == T_LBOX_WHITE ? 255 : -1, bars, out);
    case T_PBOX_BLACK:
    case T_PBOX_WHITE:
    case T_PBOX_BLUR:
        return add_bars(in, 0, t == T_PBOX_BLACK ? 0 : t == T_PBOX_WHITE ? 255 : -1, bars, out);
    case T_CROP5_C:
    case T_CROP5_OFF:
        return crop_percent(in, 5, t == T_CROP5_OFF, out);
    case T_CROP15_C:
    case T_CROP15_OFF:
        return crop_percent(in, 15, t == T_CROP15_OFF, out);
    case T_ROT5_FILL:
    case T_ROTM5_FILL:
    case T_ROT5_CROP:
    case T_ROTM5_CROP:
        return rotate(in, t == T_ROT5_FILL || t == T_ROT5_CROP ? 5.0 : -5.0,
                      t == T_ROT5_CROP || t == T_ROTM5_CROP ? ROT_CROP : ROT_SAME, 0, out);
    case T_ROT5_GROW:
    case T_ROTM5_GROW:
        return rotate(in, t == T_ROT5_GROW ? 5.0 : -5.0, ROT_GROW,
                      t == T_ROT5_GROW ? 255 : 0, out);
    case T_COMBO:
        return combo(in, out);
    default: /* q20, q30, same: the pixels unchanged */
        if (alloc_picture(out, in->w, in->h, ch))
            return -1;
        memcpy(out->px, in->px, (size_t)in->w * in->h * ch);
        return 0;
    }
}

/* Writes p as a JPEG to `path`. Returns 0, or -1 after a message. */
static int write_jpeg(tjhandle tj, const picture *p, int quality,
                      const char *path)
{
    unsigned char *buf = NULL;
    unsigned long len = 0;
    int gray = p->ch == 1;
    if (tjCompress2(tj, p->px, (int)p->w, 0, (int)p->h,
                    gray ? TJPF_GRAY : TJPF_RGB, &buf, &len,
                    gray ? TJSAMP_GRAY : TJSAMP_420, quality, TJFLAG_ACCURATEDCT)) {
        fprintf(stderr, "mkqueries: cannot encode '%s': %s\n", path,
                tjGetErrorStr2(tj));
        tjFree(buf);
        return -1;
    }
    FILE *fp = fopen(path, "wb");
    int ok = fp && fwrite(buf, 1, len, fp) == len;
    if (fp && fclose(fp) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "mkqueries: cannot write '%s': %s\n", path,
                strerror(errno));
    tjFree(buf);
    return ok ? 0 : -1;
}

/* "dir/name.jpg" -> "name" into out. */
static void stem(const char *path, char *out, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(out, len, "%.*s", (int)n, base);
}

int main(int argc, char **argv)
{
    unsigned set = DEFAULT_SET;
    int quality = 85, bars = 10, i = 1, status = 0;
    long maxdim = 0;

    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            return usage("option needs a value");
        if (strcmp(argv[i], "-t") == 0) {
            if (parse_transforms(argv[++i], &set))
                return usage("bad transform list");
        } else if (strcmp(argv[i], "-q") == 0) {
            char *end;
            long q = strtol(argv[++i], &end, 10);
            if (*end || q < 1 || q > 100)
                return usage("quality must be 1-100");
            quality = (int)q;
        } else if (strcmp(argv[i], "-b") == 0) {
            char *end;
            long b = strtol(argv[++i], &end, 10);
            if (*end || b < 1 || b > 100)
                return usage("PCT must be 1-100");
            bars = (int)b;
        } else if (strcmp(argv[i], "-m") == 0) {
            char *end;
            maxdim = strtol(argv[++i], &end, 10);
            if (*end || maxdim < 8 || maxdim > 100000)
                return usage("MAX must be 8-100000");
        } else {
            return usage("unknown option");
        }
    }
    if (argc - i < 2)
        return usage(NULL);
    const char *outdir = argv[i++];
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkqueries: cannot create '%s': %s\n", outdir,
                strerror(errno));
        return 1;
    }

    phm_decoder *dec = NULL;
    tjhandle tj = tjInitCompress();
    char err[PHM_ERRMSG_MAX];
    if (!tj || phm_decoder_new(&dec, NULL) != PHM_OK) {
        fprintf(stderr, "mkqueries: out of memory\n");
        if (tj)
            tjDestroy(tj);
        return 1;
    }
    for (; i < argc; i++) {
        phm_image img;
        picture src = { 0 };
        char name[256], path[4096];
        int rc = phm_decode_file(dec, argv[i], &img, err, sizeof err);
        if (rc != PHM_OK || copy_image(&img, &src)) {
            fprintf(stderr, "mkqueries: %s\n",
                    rc != PHM_OK ? err : "out of memory");
            status = 1;
            continue;
        }
        if (maxdim && (src.w > (uint32_t)maxdim || src.h > (uint32_t)maxdim)) {
            picture small = { 0 };
            uint32_t big = src.w > src.h ? src.w : src.h;
            uint32_t w = (uint32_t)((uint64_t)src.w * (uint64_t)maxdim / big);
            uint32_t h = (uint32_t)((uint64_t)src.h * (uint64_t)maxdim / big);
            if (resize_area(&src, w ? w : 1, h ? h : 1, &small)) {
                fprintf(stderr, "mkqueries: out of memory\n");
                free(src.px);
                status = 1;
                continue;
            }
            free(src.px);
            src = small;
        }
        stem(argv[i], name, sizeof name);
        for (int t = 0; t < T_COUNT; t++) {
            picture out = { 0 };
            if (!(set & (1u << t)))
                continue;
            int len = t == T_SAME
                          ? snprintf(path, sizeof path, "%s/%s.jpg", outdir, name)
                          : snprintf(path, sizeof path, "%s/%s-%s.jpg", outdir,
                                     name, transform_names[t]);
            if (len < 0 || (size_t)len >= sizeof path) {
                fprintf(stderr, "mkqueries: path too long for '%s'\n", argv[i]);
                status = 1;
                continue;
            }
            if (transform(&src, t, bars, &out)) {
                fprintf(stderr, "mkqueries: out of memory\n");
                status = 1;
            } else if (write_jpeg(tj, &out, quality_of(t, quality), path)) {
                status = 1;
            }
            free(out.px);
        }
        free(src.px);
    }
    phm_decoder_free(dec);
    tjDestroy(tj);
    return status;
}
