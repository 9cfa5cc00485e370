/* transform.c - image edits for known-image augmentation (phmatch.h,
 * "image transforms"): crops and small rotations into caller-owned
 * buffers, never larger than the input. Rotations sample bilinearly; the
 * corners a rotation uncovers get a fill colour, or are cropped away. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "decode_internal.h"
#include "pdq_internal.h"
#include "phmatch.h"
#include "pixel.h"
#include "symmetry.h"

size_t phm_image_bytes(uint32_t width, uint32_t height, uint32_t channels)
{
    if (!width || !height || (channels != 1 && channels != 3))
        return 0;
    uint64_t n = (uint64_t)width * height * channels;
    return n > SIZE_MAX ? 0 : (size_t)n;
}

/* Whether img is a usable input: 1 or 3 channels, pixels, a stride that
 * holds a row. */
static int valid(const phm_image *img)
{
    return img && img->pixels && img->width && img->height &&
           (img->channels == 1 || img->channels == 3) &&
           img->stride >= (size_t)img->width * img->channels;
}

static void describe(phm_image *out, const phm_image *img, uint8_t *buf,
                     uint32_t w, uint32_t h)
{
    out->pixels = buf;
    out->width = w;
    out->height = h;
    out->channels = img->channels;
    out->stride = (size_t)w * img->channels;
    out->format = img->format;
}

int phm_image_crop(const phm_image *img, uint32_t x, uint32_t y, uint32_t w,
                   uint32_t h, uint8_t *buf, size_t buflen, phm_image *out)
{
    if (!valid(img) || !buf || !out || !w || !h || x > img->width ||
        w > img->width - x || y > img->height || h > img->height - y)
        return PHM_ERR_INVALID;
    size_t row = (size_t)w * img->channels;
    if (buflen / row < h)
        return PHM_ERR_INVALID;
    for (uint32_t r = 0; r < h; r++)
        memcpy(buf + r * row, img->pixels + (size_t)(y + r) * img->stride +
                                  (size_t)x * img->channels, row);
    describe(out, img, buf, w, h);
    return PHM_OK;
}

int phm_image_rotated_size(uint32_t width, uint32_t height, double degrees,
                           int crop, uint32_t *out_width, uint32_t *out_height)
{
    if (!width || !height || !out_width || !out_height || !(fabs(degrees) <= 90.0))
        return PHM_ERR_INVALID;
    *out_width = width;
    *out_height = height;
    if (!crop)
        return PHM_OK;
    /* The largest upright rectangle inside the W x H one turned by t:
     * with L, S the long and short side, either the short side alone
     * limits it (S <= 2 sin t cos t L: a thin image), giving S/2 over sin
     * and cos, or it touches all four sides: (W cos - H sin, H cos -
     * W sin) / cos 2t. One pixel less on each side keeps it clear of the
     * interpolated edge. */
    double t = fabs(degrees) * M_PI / 180.0, c = cos(t), sn = sin(t);
    double wd = width, hd = height, ow = wd, oh = hd;
    if (sn > 1e-12) {
        double lng = wd >= hd ? wd : hd, sht = wd >= hd ? hd : wd;
        if (sht <= 2.0 * sn * c * lng || fabs(c - sn) < 1e-12) {
            double half = 0.5 * sht;
            ow = wd >= hd ? half / sn : half / c;
            oh = wd >= hd ? half / c : half / sn;
        } else {
            double c2 = c * c - sn * sn;
            ow = (wd * c - hd * sn) / c2;
            oh = (hd * c - wd * sn) / c2;
        }
        ow = floor(ow) - 1;
        oh = floor(oh) - 1;
    }
    ow = ow < 1 ? 1 : ow > wd ? wd : ow;
    oh = oh < 1 ? 1 : oh > hd ? hd : oh;
    uint32_t w = (uint32_t)ow, h = (uint32_t)oh;
    *out_width = w ? w : 1;
    *out_height = h ? h : 1;
    return PHM_OK;
}

/* Draws the w x h window of img turned by `turn` whose top left sits at
 * (ox, oy) in the picture's coordinates into buf (rows of w pixels):
 * bilinear, the pixels the turn leaves uncovered in bg. One drawing for
 * the turn on the picture's canvas (phm_image_rotate) and on one grown to
 * hold it (rotate_grown): the stored rotations must not move. */
static void draw_turn(const phm_image *img, const phm__turn *turn, double ox, double oy,
                      uint32_t w, uint32_t h, const uint8_t bg[3], uint8_t *buf)
{
    const uint32_t ch = img->channels;
    const size_t row = (size_t)w * ch;
    for (uint32_t y = 0; y < h; y++) {
        uint8_t *o = buf + (size_t)y * row;
        for (uint32_t x = 0; x < w; x++, o += ch) {
            double sx, sy;
            if (phm__turn_source(turn, x + ox, y + oy, &sx, &sy)) {
                memcpy(o, bg, ch);
                continue;
            }
            sx = sx < 0 ? 0 : sx > turn->maxx ? turn->maxx : sx;
            sy = sy < 0 ? 0 : sy > turn->maxy ? turn->maxy : sy;
            uint32_t x0 = (uint32_t)sx, y0 = (uint32_t)sy;
            uint32_t x1 = x0 + 1 < img->width ? x0 + 1 : x0;
            uint32_t y1 = y0 + 1 < img->height ? y0 + 1 : y0;
            double fx = sx - x0, fy = sy - y0;
            const uint8_t *p00 = img->pixels + (size_t)y0 * img->stride + (size_t)x0 * ch;
            const uint8_t *p01 = img->pixels + (size_t)y0 * img->stride + (size_t)x1 * ch;
            const uint8_t *p10 = img->pixels + (size_t)y1 * img->stride + (size_t)x0 * ch;
            const uint8_t *p11 = img->pixels + (size_t)y1 * img->stride + (size_t)x1 * ch;
            for (uint32_t k = 0; k < ch; k++) {
                double top = p00[k] + (p01[k] - p00[k]) * fx;
                double bot = p10[k] + (p11[k] - p10[k]) * fx;
                double v = top + (bot - top) * fy;
                o[k] = phm__px(v);
            }
        }
    }
}

/* The fill colour as img's pixels have it: grey takes its luma (BT.601). */
static void fill_pixel(const phm_image *img, const uint8_t fill[3], uint8_t bg[3])
{
    bg[0] = bg[1] = bg[2] = 0;
    if (!fill)
        return;
    if (img->channels == 3)
        memcpy(bg, fill, 3);
    else
        bg[0] = (uint8_t)lround(0.299 * fill[0] + 0.587 * fill[1] + 0.114 * fill[2]);
}

int phm_image_rotate(const phm_image *img, double degrees, int crop,
                     const uint8_t fill[3], uint8_t *buf, size_t buflen,
                     phm_image *out)
{
    uint32_t w, h;
    if (!valid(img) || !buf || !out ||
        phm_image_rotated_size(img->width, img->height, degrees, crop, &w, &h))
        return PHM_ERR_INVALID;
    if (buflen / ((size_t)w * img->channels) < h)
        return PHM_ERR_INVALID;
    uint8_t bg[3];
    fill_pixel(img, fill, bg);
    const phm__turn turn = phm__turn_of(img->width, img->height, degrees);
    /* a crop's window centred, to the pixel */
    draw_turn(img, &turn, (double)((img->width - w) / 2), (double)((img->height - h) / 2), w, h,
              bg, buf);
    describe(out, img, buf, w, h);
    return PHM_OK;
}

/* The size of a w x h picture turned by `degrees` on a canvas grown to
 * hold it all: W' = W cos + H sin, H' = W sin + H cos, rounded to the
 * nearest pixel (as ImageMagick's -rotate grows it, to the pixel). */
static void grown_size(uint32_t w, uint32_t h, double degrees, uint32_t *gw, uint32_t *gh)
{
    double t = fabs(degrees) * M_PI / 180.0, c = cos(t), sn = sin(t);
    *gw = (uint32_t)lround(w * c + h * sn);
    *gh = (uint32_t)lround(w * sn + h * c);
}

/* img turned by `degrees` (phm__turn: clockwise, bilinear, as
 * phm_image_rotate) on a canvas grown to hold it (grown_size), the
 * corners it leaves in `fill`, into buf (at least grown_size's bytes). */
static int rotate_grown(const phm_image *img, double degrees, const uint8_t fill[3],
                        uint8_t *buf, size_t buflen, phm_image *out)
{
    uint32_t w, h;
    grown_size(img->width, img->height, degrees, &w, &h);
    if (!w || !h || buflen / ((size_t)w * img->channels) < h)
        return PHM_ERR_INVALID;
    uint8_t bg[3];
    fill_pixel(img, fill, bg);
    const phm__turn turn = phm__turn_of(img->width, img->height, degrees);
    /* the grown canvas's centre on the picture's */
    draw_turn(img, &turn, turn.cx - (w - 1) / 2.0, turn.cy - (h - 1) / 2.0, w, h, bg, buf);
    describe(out, img, buf, w, h);
    return PHM_OK;
}

/* The share of img's outermost pixels (its four sides) within
 * PLAIN_NOISE of grey level v in every channel. */
#define PLAIN_NOISE 40
static double edge_share(const phm_image *img, int v)
{
    const uint32_t w = img->width, h = img->height, ch = img->channels;
    size_t near = 0, all = 0;
    for (uint32_t y = 0; y < h; y++) {
        /* every pixel of the top and bottom rows, the two ends of the others */
        uint32_t step = y == 0 || y + 1 == h ? 1 : (w > 1 ? w - 1 : 1);
        const uint8_t *row = img->pixels + (size_t)y * img->stride;
        for (uint32_t x = 0; x < w; x += step) {
            int plain = 1;
            for (uint32_t k = 0; k < ch; k++)
                plain &= abs((int)row[(size_t)x * ch + k] - v) <= PLAIN_NOISE;
            near += (size_t)plain;
            all++;
        }
    }
    return all ? (double)near / (double)all : 0;
}

/* A turned picture's wedges run into its own edge where that has their
 * colour: pictures whose sides are at least this share white (black) are
 * tried turned on a white (black) canvas. */
#define GROWN_EDGE_SHARE 0.25

/* A longer side above which the grown turns are made from a copy of the
 * picture shrunk to it (area average; phm_augment makes it once): PDQ
 * sees every picture at 64 x 64, and turning a 12-megapixel drawing at
 * full size, four turns and their corner checks, took longer than all its
 * other variants together (1.8 -> 2.4-3.2 s to add it). */
#define GROWN_MAX_SIDE 1024

/* The "-grown" variants: img turned by `degrees` on a canvas grown to
 * hold it, in white, else black, where its sides are much of that colour
 * and the turn shows no corners the query side could turn it back by
 * (phm__corners_find_grown, which phm_hash_mem_query's turn back runs).
 * Elsewhere the query side does that, and no variant is made
 * (PHM_ERR_TOO_SMALL). */
static int grown_turn(const phm_image *img, double degrees, uint8_t *buf, size_t len,
                      phm_image *out)
{
    static const uint8_t fills[2][3] = { { 255, 255, 255 }, { 0, 0, 0 } };
    for (int dark = 0; dark < 2; dark++) {
        if (edge_share(img, fills[dark][0]) < GROWN_EDGE_SHARE)
            continue;
        int rc = rotate_grown(img, degrees, fills[dark], buf, len, out);
        if (rc != PHM_OK)
            return rc;
        phm_corners c;
        if (phm__corners_find_grown(out, &c) != 1)
            return PHM_OK;
    }
    return PHM_ERR_TOO_SMALL;
}

/* The turn of a "-grown" variant code, 0 for any other. */
static double grown_degrees(int code)
{
    return code == PHM_KV_ROT_P5_GROWN ? 5 : code == PHM_KV_ROT_M5_GROWN ? -5
         : code == PHM_KV_ROT_P3_GROWN ? 3 : code == PHM_KV_ROT_M3_GROWN ? -3 : 0;
}

static int area_shrink(const phm_image *img, uint32_t w, uint32_t h, uint8_t *buf,
                       phm_image *out);

/* The picture the grown turns among codes[0..n) start from: img itself,
 * or, over GROWN_MAX_SIDE, a copy shrunk to it into *buf (malloc'd; the
 * caller frees it), made only when a grown turn is asked for. PHM_OK or
 * PHM_ERR_NOMEM. */
static int grown_source(const phm_image *img, const int *codes, size_t n, phm_image *out,
                        uint8_t **buf)
{
    *out = *img;
    *buf = NULL;
    int grown = 0;
    for (size_t i = 0; i < n; i++)
        grown |= grown_degrees(codes[i]) != 0;
    if (!grown || (img->width <= GROWN_MAX_SIDE && img->height <= GROWN_MAX_SIDE))
        return PHM_OK;
    int wide = img->width >= img->height;
    uint32_t lng = wide ? img->width : img->height, sht = wide ? img->height : img->width;
    uint32_t s = (uint32_t)(((uint64_t)sht * GROWN_MAX_SIDE + lng / 2) / lng);
    s = s ? s : 1;
    uint32_t w = wide ? GROWN_MAX_SIDE : s, h = wide ? s : GROWN_MAX_SIDE;
    *buf = malloc(phm_image_bytes(w, h, img->channels));
    if (!*buf || area_shrink(img, w, h, *buf, out) != PHM_OK) {
        free(*buf);
        *buf = NULL;
        return PHM_ERR_NOMEM;
    }
    return PHM_OK;
}

/* ---- augmentation (phm_augment) ----------------------------------- */

/* The edit of each variant code: a crop (pct of width and height cut,
 * where: 0 centre, 1-4 keeping the top-left, top-right, bottom-left,
 * bottom-right part) or a rotation (degrees, crop). */
static const struct {
    double pct;
    int where;
    double degrees;
    int rot_crop;
} edits[PHM_KV_COUNT] = {
    [PHM_KV_CROP5_C] = { 5, 0, 0, 0 },       [PHM_KV_CROP10_C] = { 10, 0, 0, 0 },
    [PHM_KV_CROP15_C] = { 15, 0, 0, 0 },     [PHM_KV_CROP20_C] = { 20, 0, 0, 0 },
    [PHM_KV_CROP10_TL] = { 10, 1, 0, 0 },    [PHM_KV_CROP10_TR] = { 10, 2, 0, 0 },
    [PHM_KV_CROP10_BL] = { 10, 3, 0, 0 },    [PHM_KV_CROP10_BR] = { 10, 4, 0, 0 },
    [PHM_KV_CROP20_TL] = { 20, 1, 0, 0 },    [PHM_KV_CROP20_TR] = { 20, 2, 0, 0 },
    [PHM_KV_CROP20_BL] = { 20, 3, 0, 0 },    [PHM_KV_CROP20_BR] = { 20, 4, 0, 0 },
    [PHM_KV_ROT_P3] = { 0, 0, 3, 0 },        [PHM_KV_ROT_M3] = { 0, 0, -3, 0 },
    [PHM_KV_ROT_P5] = { 0, 0, 5, 0 },        [PHM_KV_ROT_M5] = { 0, 0, -5, 0 },
    [PHM_KV_ROT_P3_CROP] = { 0, 0, 3, 1 },   [PHM_KV_ROT_M3_CROP] = { 0, 0, -3, 1 },
    [PHM_KV_ROT_P5_CROP] = { 0, 0, 5, 1 },   [PHM_KV_ROT_M5_CROP] = { 0, 0, -5, 1 },
    [PHM_KV_CROP5_TL] = { 5, 1, 0, 0 },      [PHM_KV_CROP5_TR] = { 5, 2, 0, 0 },
    [PHM_KV_CROP5_BL] = { 5, 3, 0, 0 },      [PHM_KV_CROP5_BR] = { 5, 4, 0, 0 },
    [PHM_KV_CROP15_TL] = { 15, 1, 0, 0 },    [PHM_KV_CROP15_TR] = { 15, 2, 0, 0 },
    [PHM_KV_CROP15_BL] = { 15, 3, 0, 0 },    [PHM_KV_CROP15_BR] = { 15, 4, 0, 0 },
    [PHM_KV_CROP8_TL] = { 8, 1, 0, 0 },      [PHM_KV_CROP8_TR] = { 8, 2, 0, 0 },
    [PHM_KV_CROP8_BL] = { 8, 3, 0, 0 },      [PHM_KV_CROP8_BR] = { 8, 4, 0, 0 },
    /* their soft hashes (phm_augment hashes these crops with phm_hash_soft) */
    [PHM_KV_SOFT_CROP8_TL] = { 8, 1, 0, 0 }, [PHM_KV_SOFT_CROP8_TR] = { 8, 2, 0, 0 },
    [PHM_KV_SOFT_CROP8_BL] = { 8, 3, 0, 0 }, [PHM_KV_SOFT_CROP8_BR] = { 8, 4, 0, 0 },
};

/* The default set (docs/ROBUST.md, "Known-image augmentation": chosen by
 * measurement). */
static const int default_set[] = {
    PHM_KV_CROP5_C,   PHM_KV_CROP10_C,  PHM_KV_CROP15_C,  PHM_KV_CROP5_TL,
    PHM_KV_CROP5_TR,  PHM_KV_CROP5_BL,  PHM_KV_CROP5_BR,  PHM_KV_CROP15_TL,
    PHM_KV_CROP15_TR, PHM_KV_CROP15_BL, PHM_KV_CROP15_BR, PHM_KV_ROT_P5,
    PHM_KV_ROT_M5,    PHM_KV_ROT_P5_CROP, PHM_KV_ROT_M5_CROP, PHM_KV_GAMMA_UP,
    PHM_KV_GAMMA_DOWN, PHM_KV_BLUR,     PHM_KV_DOWN25,    PHM_KV_CROP8_TL,
    PHM_KV_CROP8_TR,  PHM_KV_CROP8_BL,  PHM_KV_CROP8_BR,
    /* letterbox and pillarbox variants (wt-lbox): the plain ones first,
     * so a blurred one is kept only where it differs from them */
    PHM_KV_LB_10,     PHM_KV_PB_10,     PHM_KV_LB_20,     PHM_KV_PB_20,
    PHM_KV_LB_BLUR10, PHM_KV_PB_BLUR10,
    /* caption cuts (wt-edits; docs/ROBUST.md, "Edits at 0.99") */
    PHM_KV_ED_CUT_BOTTOM, PHM_KV_ED_CUT_TOP,
    /* re-uploads of busy images (wt-busy; docs/ROBUST.md, "Busy images"):
     * kept only where the image's hash moves under them */
    PHM_KV_BUSY_DOWN50, PHM_KV_BUSY_JPEG30, PHM_KV_BUSY_MIRROR, PHM_KV_BUSY_ROT90,
    /* the middle cut (wt-shot; docs/ROBUST.md, "Screenshots and captions") */
    PHM_KV_ED_CUT_MIDDLE,
    /* white- and black-edged pictures as trimming finds them on a canvas
     * (wt-shot3; docs/ROBUST.md, "White-edged pictures on a canvas") */
    PHM_KV_TRIM_WHITE, PHM_KV_TRIM_BLACK,
    /* 10 % corners (wt-combo; docs/ROBUST.md, "Combinations and calm
     * pictures"): a corner crop reaches cuts within about 1 % of its own,
     * so 5, 8, 10 and 15 % cover combinations cut 4-11 % at a corner */
    PHM_KV_CROP10_TL, PHM_KV_CROP10_TR, PHM_KV_CROP10_BL, PHM_KV_CROP10_BR,
    /* the soft hashes of the 8 % corners (wt-combo2; docs/ROBUST.md,
     * "Combinations of busy images"), after the plain 8 % corners so that
     * a calm image's (near its plain crop) is dropped; a query's soft hash
     * is compared with these only, and they with nothing else */
    PHM_KV_SOFT_CROP8_TL, PHM_KV_SOFT_CROP8_TR, PHM_KV_SOFT_CROP8_BL, PHM_KV_SOFT_CROP8_BR,
    /* the whole image's soft hash (wt-tpr; docs/ROBUST.md, "Busy images
     * at a quarter"): a busy texture shrunk to 25 % by area averaging has
     * lost the texture PDQ aliased in the original, and only the
     * original's soft hash (6-22 bits) is near it. Last, so it changes no
     * slot before it. Nearest unrelated pair through it: 56 bits on the
     * benchmark, 36 against 3,659 stored clip arts (a letterboxed flat
     * wallpaper) */
    PHM_KV_ED_SOFT,
    /* white- and black-edged pictures cut as a screenshot's trimming cuts
     * them, their thin runs of rows at top and bottom left out (wt-shotgfx;
     * docs/ROBUST.md, "Sparse graphics in screenshots"). Last: no slot
     * before them changes */
    PHM_KV_TRIM_WHITE_THIN, PHM_KV_TRIM_BLACK_THIN,
    /* the image as trimming cuts it out of a copy with bars (wt-lbox2;
     * docs/ROBUST.md, "Letterboxes of small and canvas pictures"): only
     * where that is not the whole image. Last: no slot before them
     * changes */
    PHM_KV_TRIM_LB_BLACK, PHM_KV_TRIM_LB_WHITE, PHM_KV_TRIM_PB_BLACK, PHM_KV_TRIM_PB_WHITE,
    /* a small picture and its edge boxes evenly resampled to 64 x 64
     * (wt-small; docs/ROBUST.md, "Small pictures"): only for pictures of
     * at most PHM_AREA64_MAX_SIDE a side. Last: no slot before them
     * changes */
    PHM_KV_AREA64, PHM_KV_AREA64_TRIM, PHM_KV_AREA64_TRIM_THIN,
    /* the picture turned 5 and 3 degrees either way on a white (black)
     * canvas grown to hold it, where its sides are much of that colour and
     * the turn shows no corners to turn a query back by (session 26;
     * docs/ROBUST.md, "Turned drawings on white": each reaches turns
     * within about a degree of its own). Last: no slot before them
     * changes */
    PHM_KV_ROT_P5_GROWN, PHM_KV_ROT_M5_GROWN, PHM_KV_ROT_P3_GROWN, PHM_KV_ROT_M3_GROWN,
    /* a picture with transparency over white and over black (session 28;
     * docs/ROBUST.md, "Pictures with transparency"): made from the bytes
     * by phm_hash_known_mem, first among the slots; none for an opaque
     * picture, so no slot of one changes */
    PHM_KV_FLAT_WHITE, PHM_KV_FLAT_BLACK,
};

size_t phm_augment_default(int *codes, size_t cap)
{
    size_t n = sizeof default_set / sizeof default_set[0];
    for (size_t i = 0; codes && i < n && i < cap; i++)
        codes[i] = default_set[i];
    return n;
}

/* Photometric edits (same size as img, into buf): a tone curve, a
 * Gaussian blur, a shrink to a quarter and back. */

/* Every channel v -> 255 (v/255)^g. */
static void tone(const phm_image *img, double g, uint8_t *buf, phm_image *out)
{
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (uint8_t)lround(255.0 * pow(v / 255.0, g));
    size_t row = (size_t)img->width * img->channels;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *s = img->pixels + (size_t)y * img->stride;
        uint8_t *d = buf + (size_t)y * row;
        for (size_t i = 0; i < row; i++)
            d[i] = lut[s[i]];
    }
    describe(out, img, buf, img->width, img->height);
}

/* The reciprocal of a box's width 2r + 1 (r 1..1000), rounded up: a
 * multiply by it and a shift of 32 is the division, exact for every sum
 * a box can have (below 2^19; checked for each r up to 1100). A hardware
 * division per sample was most of the blur's time, and the blurred
 * pixels must stay the same, or the soft hashes stored in existing
 * indexes would move. */
static uint64_t box_inverse(long r)
{
    const uint64_t d = (uint64_t)(2 * r + 1);
    return (((uint64_t)1 << 32) + d - 1) / d;
}

/* A box filter of radius r along a row of n pixels of ch (1 or 3)
 * channels, each channel on its own (edges clamped), rounding; tmp holds
 * n * ch bytes. The sums in three locals (one used for grey), so that
 * they stay in registers. */
static void box_row(uint8_t *line, size_t n, uint32_t ch, long r, uint64_t inv, uint8_t *tmp)
{
    memcpy(tmp, line, n * ch);
    const long last = (long)n - 1;
    const int rgb = ch == 3;
    uint32_t s0 = 0, s1 = 0, s2 = 0;
    for (long i = -r; i <= r; i++) {
        const uint8_t *q = tmp + (size_t)(i < 0 ? 0 : i > last ? last : i) * ch;
        s0 += q[0];
        if (rgb) {
            s1 += q[1];
            s2 += q[2];
        }
    }
    const uint32_t ur = (uint32_t)r;
    for (long i = 0; i <= last; i++) {
        uint8_t *o = line + (size_t)i * ch;
        const long enter = i + r + 1, leave = i - r;
        const uint8_t *add = tmp + (size_t)(enter > last ? last : enter) * ch;
        const uint8_t *sub = tmp + (size_t)(leave < 0 ? 0 : leave) * ch;
        o[0] = (uint8_t)(((uint64_t)(s0 + ur) * inv) >> 32);
        s0 += (uint32_t)add[0] - (uint32_t)sub[0];
        if (rgb) {
            o[1] = (uint8_t)(((uint64_t)(s1 + ur) * inv) >> 32);
            o[2] = (uint8_t)(((uint64_t)(s2 + ur) * inv) >> 32);
            s1 += (uint32_t)add[1] - (uint32_t)sub[1];
            s2 += (uint32_t)add[2] - (uint32_t)sub[2];
        }
    }
}

/* Columns (bytes of a row) a blur filters together: as many times the
 * height of scratch. */
#define BLUR_COLS 64

/* A Gaussian blur of sigma pixels, as three passes of a box filter each
 * way (their width from sigma: 3 boxes of width b have variance
 * (b^2 - 1)/4), in place on a copy of img: linear time, one line of
 * scratch. */
int phm_image_blur(const phm_image *img, double sigma, uint8_t *buf, size_t buflen,
                   phm_image *out)
{
    if (!valid(img) || !buf || !out || !(sigma > 0 && sigma <= 1000) ||
        buflen / ((size_t)img->width * img->channels) < img->height)
        return PHM_ERR_INVALID;
    const uint32_t w = img->width, h = img->height, ch = img->channels;
    long r = lround((sqrt(4.0 * sigma * sigma + 1.0) - 1.0) / 2.0);
    r = r < 1 ? 1 : r;
    size_t row = (size_t)w * ch;
    /* The columns are filtered BLUR_COLS at a time: the block copied out
     * (blk, its rows of nb bytes one after another), then each output
     * row made from the block's sums for all nb columns at once, a loop
     * the compiler vectorises. One column at a time, walking down the
     * image, missed the cache at every pixel and could not be vectorised
     * (most of a soft hash's time). Each column gets the same sums and
     * the same division as the rows get, so the same pixels. */
    const uint64_t inv = box_inverse(r);
    /* at most the image's own size: a block is no wider than a row */
    const size_t block = row < BLUR_COLS ? row : BLUR_COLS;
    uint8_t *tmp = malloc(row), *blk = malloc((size_t)h * block);
    int32_t *sum = malloc(BLUR_COLS * sizeof *sum);
    /* Down the columns the division is by a double multiply, which the
     * compiler vectorises (AVX2 has no 64-bit multiply-high): (n + 0.5)
     * / d is at least 0.5 / d (1/4002) from an integer, and the multiply
     * by 1/d is off by at most n 2^-52 < 2^-33, so its integer part is
     * n / d's, as the rows' multiply-shift gives it. */
    const double invd = 1.0 / (double)(2 * r + 1);
    if (!tmp || !blk || !sum) {
        free(tmp);
        free(blk);
        free(sum);
        return PHM_ERR_NOMEM;
    }
    for (uint32_t y = 0; y < h; y++)
        memcpy(buf + y * row, img->pixels + (size_t)y * img->stride, row);
    const long last = (long)h - 1;
    for (int pass = 0; pass < 3; pass++) {
        for (uint32_t y = 0; y < h; y++)
            box_row(buf + y * row, w, ch, r, inv, tmp);
        for (size_t x0 = 0; x0 < row; x0 += BLUR_COLS) {
            const size_t nb = row - x0 < BLUR_COLS ? row - x0 : BLUR_COLS;
            for (size_t y = 0; y < h; y++)
                memcpy(blk + y * nb, buf + y * row + x0, nb);
            for (size_t c = 0; c < nb; c++)
                sum[c] = 0;
            for (long i = -r; i <= r; i++) {
                const uint8_t *src = blk + (size_t)(i < 0 ? 0 : i > last ? last : i) * nb;
                for (size_t c = 0; c < nb; c++)
                    sum[c] += src[c];
            }
            for (long y = 0; y <= last; y++) {
                uint8_t *dst = buf + (size_t)y * row + x0;
                const long enter = y + r + 1, leave = y - r;
                const uint8_t *add = blk + (size_t)(enter > last ? last : enter) * nb;
                const uint8_t *sub = blk + (size_t)(leave < 0 ? 0 : leave) * nb;
                for (size_t c = 0; c < nb; c++) {
                    dst[c] = (uint8_t)(int32_t)(((double)(sum[c] + (int32_t)r) + 0.5) * invd);
                    sum[c] += (int32_t)add[c] - (int32_t)sub[c];
                }
            }
        }
    }
    free(tmp);
    free(blk);
    free(sum);
    describe(out, img, buf, w, h);
    return PHM_OK;
}

/* Shrunk to ceil(w/4) x ceil(h/4) by averaging 4x4 blocks (the last ones
 * smaller), then scaled back to w x h bilinearly (pixel centres aligned). */
static int down_up(const phm_image *img, uint8_t *buf, phm_image *out)
{
    const uint32_t w = img->width, h = img->height, ch = img->channels, f = 4;
    const uint32_t sw = (w + f - 1) / f, sh = (h + f - 1) / f;
    double *sm = malloc((size_t)sw * sh * ch * sizeof *sm);
    if (!sm)
        return PHM_ERR_NOMEM;
    for (uint32_t y = 0; y < sh; y++)
        for (uint32_t x = 0; x < sw; x++)
            for (uint32_t c = 0; c < ch; c++) {
                double a = 0;
                uint32_t n = 0;
                for (uint32_t yy = y * f; yy < h && yy < y * f + f; yy++)
                    for (uint32_t xx = x * f; xx < w && xx < x * f + f; xx++, n++)
                        a += img->pixels[(size_t)yy * img->stride + (size_t)xx * ch + c];
                sm[((size_t)y * sw + x) * ch + c] = a / n;
            }
    for (uint32_t y = 0; y < h; y++) {
        double sy = (y + 0.5) * sh / h - 0.5;
        sy = sy < 0 ? 0 : sy > sh - 1 ? sh - 1 : sy;
        uint32_t y0 = (uint32_t)sy, y1 = y0 + 1 < sh ? y0 + 1 : y0;
        double fy = sy - y0;
        for (uint32_t x = 0; x < w; x++) {
            double sx = (x + 0.5) * sw / w - 0.5;
            sx = sx < 0 ? 0 : sx > sw - 1 ? sw - 1 : sx;
            uint32_t x0 = (uint32_t)sx, x1 = x0 + 1 < sw ? x0 + 1 : x0;
            double fx = sx - x0;
            for (uint32_t c = 0; c < ch; c++) {
                double p00 = sm[((size_t)y0 * sw + x0) * ch + c];
                double p01 = sm[((size_t)y0 * sw + x1) * ch + c];
                double p10 = sm[((size_t)y1 * sw + x0) * ch + c];
                double p11 = sm[((size_t)y1 * sw + x1) * ch + c];
                double top = p00 + (p01 - p00) * fx, bot = p10 + (p11 - p10) * fx;
                buf[(size_t)y * w * ch + (size_t)x * ch + c] = phm__px(top + (bot - top) * fy);
            }
        }
    }
    free(sm);
    describe(out, img, buf, w, h);
    return PHM_OK;
}

/* A letterboxed (vertical: bars top and bottom) or pillarboxed copy, at
 * img's size: the bars adding pct % of the copy's height (width), so the
 * content squeezed to 100 / (100 + pct) of it in the middle. The bars
 * black (PDQ ignores their colour: a band across the whole image adds
 * only to DCT coefficients PDQ does not use), or, blur, the image itself
 * blurred (Gaussian, sigma 2.5 % of the longer side): a copy's blurred
 * fill, the image stretched over its whole canvas, is img in this frame.
 * PDQ resamples to 64 x 64, so the variant's size does not matter. */
static int bars(const phm_image *img, int vertical, double pct, int blur, uint8_t *buf,
                size_t len, phm_image *out)
{
    const uint32_t w = img->width, h = img->height, ch = img->channels;
    const size_t row = (size_t)w * ch;
    uint32_t along = vertical ? h : w;
    uint32_t keep = (uint32_t)lround(along * 100.0 / (100.0 + pct));
    uint32_t side = w > h ? w : h;
    if (blur) {
        int rc = phm_image_blur(img, 0.025 * side, buf, len, out);
        if (rc != PHM_OK)
            return rc;
    } else {
        memset(buf, 0, row * h);
    }
    if (keep < 1 || keep >= along)
        keep = along; /* too small for a bar: the image itself */
    uint32_t off = (along - keep) / 2;
    double f = (double)along / keep;
    /* Each output line k of the squeezed axis: bilinear between source
     * lines at[k] and at[k] + 1 (the last: itself) by frac[k]; made once
     * for the whole image, not at every pixel. */
    uint32_t *at = malloc((size_t)keep * sizeof *at);
    double *frac = malloc((size_t)keep * sizeof *frac);
    if (!at || !frac) {
        free(at);
        free(frac);
        return PHM_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < keep; i++) {
        double s = (i + 0.5) * f - 0.5;
        s = s < 0 ? 0 : s > along - 1 ? along - 1 : s;
        at[i] = (uint32_t)s;
        frac[i] = s - at[i];
    }
    for (uint32_t y = 0; y < h; y++) {
        uint8_t *o = buf + (size_t)y * row;
        if (vertical) {
            if (y < off || y >= off + keep)
                continue;
            uint32_t s0 = at[y - off], s1 = s0 + 1 < along ? s0 + 1 : s0;
            const uint8_t *a = img->pixels + (size_t)s0 * img->stride;
            const uint8_t *b = img->pixels + (size_t)s1 * img->stride;
            const double t = frac[y - off];
            for (size_t i = 0; i < row; i++)
                o[i] = phm__px(a[i] + (b[i] - a[i]) * t);
        } else {
            const uint8_t *line = img->pixels + (size_t)y * img->stride;
            for (uint32_t x = off; x < off + keep; x++) {
                uint32_t s0 = at[x - off], s1 = s0 + 1 < along ? s0 + 1 : s0;
                const uint8_t *a = line + (size_t)s0 * ch, *b = line + (size_t)s1 * ch;
                const double t = frac[x - off];
                for (uint32_t c = 0; c < ch; c++)
                    o[(size_t)x * ch + c] = phm__px(a[c] + (b[c] - a[c]) * t);
            }
        }
    }
    free(at);
    free(frac);
    describe(out, img, buf, w, h);
    return PHM_OK;
}

int phm_cut_rect(uint32_t width, uint32_t height, int which, phm_rect *out)
{
    uint32_t band[2][2];
    if (!out || !width || phm__cut_bands(height, which, band) != 1)
        return PHM_ERR_INVALID;
    *out = (phm_rect){ 0, band[0][0], width, band[0][1] - band[0][0] };
    return PHM_OK;
}

int phm_cut_variant(int which)
{
    return which == PHM_CUT_BOTTOM   ? PHM_KV_ED_CUT_BOTTOM
           : which == PHM_CUT_TOP    ? PHM_KV_ED_CUT_TOP
           : which == PHM_CUT_MIDDLE ? PHM_KV_ED_CUT_MIDDLE
                                     : 0;
}

int phm__cut_bands(uint32_t height, int which, uint32_t band[2][2])
{
    const uint32_t third = height / 3;
    if (height < 3)
        return 0;
    switch (which) {
    case PHM_CUT_BOTTOM:
        band[0][0] = 0, band[0][1] = height - third;
        return 1;
    case PHM_CUT_TOP:
        band[0][0] = third, band[0][1] = height;
        return 1;
    case PHM_CUT_MIDDLE:
        band[0][0] = 0, band[0][1] = third;
        band[1][0] = 2 * third, band[1][1] = height;
        return 2;
    default:
        return 0;
    }
}

/* The middle cut of img (phm__cut_bands: its upper third over its rows
 * from 2 h/3 on, as tall as the other cuts) into buf (at least its bytes)
 * as *out; PHM_ERR_TOO_SMALL for a height below 3. */
static int cut_middle(const phm_image *img, uint8_t *buf, size_t len, phm_image *out)
{
    uint32_t band[2][2];
    const size_t row = (size_t)img->width * img->channels;
    const int nb = phm__cut_bands(img->height, PHM_CUT_MIDDLE, band);
    const uint32_t kept = nb == 2 ? (band[0][1] - band[0][0]) + (band[1][1] - band[1][0]) : 0;
    if (!kept || len < row * kept)
        return PHM_ERR_TOO_SMALL;
    uint8_t *dst = buf;
    for (int b = 0; b < nb; b++)
        for (uint32_t y = band[b][0]; y < band[b][1]; y++, dst += row)
            memcpy(dst, img->pixels + (size_t)y * img->stride, row);
    *out = (phm_image){ buf, img->width, kept, img->channels, row, img->format };
    return PHM_OK;
}

/* phm_hash_soft's first step, row by row (decode_internal.h). */
int phm__soft_begin(phm__soft_shrink *s, uint32_t width, uint32_t height, uint32_t channels)
{
    uint32_t side = width > height ? width : height;
    s->f = (side + PHM_SOFT_SIDE - 1) / PHM_SOFT_SIDE;
    s->width = width;
    s->height = height;
    s->channels = channels;
    s->sw = (width + s->f - 1) / s->f;
    s->sh = (height + s->f - 1) / s->f;
    s->y = 0;
    size_t n = phm_image_bytes(s->sw, s->sh, channels);
    s->small = n ? malloc(n) : NULL;
    s->acc = calloc((size_t)s->sw * channels, sizeof *s->acc);
    if (!s->small || !s->acc) {
        free(s->small);
        free(s->acc);
        s->small = NULL;
        s->acc = NULL;
        return PHM_ERR_NOMEM;
    }
    return PHM_OK;
}

void phm__block_sums(const uint8_t *p, uint32_t width, uint32_t f, uint32_t ch, uint32_t *acc)
{
    const uint32_t nb = (width + f - 1) / f;
    /* The sums in locals: through acc the compiler must reload and store
     * them at every pixel (p's bytes may alias them). Every pixel of a
     * query passes here. */
    for (uint32_t x = 0; x < nb; x++) {
        uint32_t bw = x + 1 < nb ? f : width - x * f;
        uint32_t *a = acc + (size_t)x * ch;
        if (ch == 3) {
            uint32_t s0 = 0, s1 = 0, s2 = 0;
            for (uint32_t k = 0; k < bw; k++, p += 3) {
                s0 += p[0];
                s1 += p[1];
                s2 += p[2];
            }
            a[0] += s0;
            a[1] += s1;
            a[2] += s2;
        } else {
            uint32_t s0 = 0;
            for (uint32_t k = 0; k < bw; k++)
                s0 += *p++;
            a[0] += s0;
        }
    }
}

void phm__soft_rows(phm__soft_shrink *s, const uint8_t *rows, size_t stride, size_t n)
{
    const uint32_t f = s->f, ch = s->channels;
    if (f == 1) { /* a picture this small is its own shrink */
        for (size_t r = 0; r < n && s->y < s->height; r++, s->y++)
            memcpy(s->small + (size_t)s->y * s->sw * ch, rows + r * stride, (size_t)s->sw * ch);
        return;
    }
    for (size_t r = 0; r < n && s->y < s->height; r++, s->y++) {
        const uint8_t *p = rows + r * stride;
        phm__block_sums(p, s->width, f, ch, s->acc);
        if ((s->y + 1) % f && s->y + 1 < s->height)
            continue;
        /* A band is complete: its row of means. */
        uint32_t bh = s->y % f + 1;
        uint8_t *out = s->small + (size_t)(s->y / f) * s->sw * ch;
        for (uint32_t x = 0; x < s->sw; x++) {
            uint32_t k = (x + 1 < s->sw ? f : s->width - x * f) * bh;
            for (uint32_t c = 0; c < ch; c++) {
                uint32_t *a = &s->acc[x * ch + c];
                out[x * ch + c] = (uint8_t)((*a + k / 2) / k);
                *a = 0;
            }
        }
    }
}

void phm__soft_free(phm__soft_shrink *s)
{
    free(s->small);
    free(s->acc);
    s->small = NULL;
    s->acc = NULL;
}

int phm_hash_soft(phm_hasher *h, const phm_image *img, phm_mode mode, int dihedral,
                  phm_pdq_result *out)
{
    if (!h || !valid(img) || !out)
        return PHM_ERR_INVALID;
    phm__soft_shrink sh;
    int rc = phm__soft_begin(&sh, img->width, img->height, img->channels);
    if (rc != PHM_OK)
        return rc;
    phm__soft_rows(&sh, img->pixels, img->stride, img->height);
    const uint32_t ch = img->channels;
    size_t n = phm_image_bytes(sh.sw, sh.sh, ch);
    uint8_t *blurred = malloc(n);
    if (!blurred) {
        phm__soft_free(&sh);
        return PHM_ERR_NOMEM;
    }
    phm_image s = { sh.small, sh.sw, sh.sh, ch, (size_t)sh.sw * ch, img->format }, b;
    uint32_t sside = sh.sw > sh.sh ? sh.sw : sh.sh;
    rc = phm_image_blur(&s, 0.0075 * sside, blurred, n, &b);
    if (rc == PHM_OK)
        rc = phm_hash_image(h, &b, mode, dihedral, out);
    free(blurred);
    phm__soft_free(&sh);
    return rc;
}

/* The number of distinct values among v[0..16). */
static int distinct16(const uint16_t v[16])
{
    int n = 0;
    for (int i = 0; i < 16; i++) {
        int j = 0;
        while (j < i && v[j] != v[i])
            j++;
        n += j == i;
    }
    return n;
}

int phm_pdq_distinct_rows(const phm_pdq *h)
{
    if (!h)
        return 0;
    uint16_t rows[16];
    for (int i = 0; i < 16; i++)
        rows[i] = (uint16_t)(h->w[i / 4] >> (16 * (i % 4)));
    return distinct16(rows);
}

int phm__pdq_distinct_columns(const phm_pdq *h)
{
    uint16_t col[16] = { 0 };
    for (unsigned r = 0; r < 16; r++) {
        unsigned row = (unsigned)(h->w[r / 4] >> (16 * (r % 4))) & 0xffffu;
        for (unsigned c = 0; c < 16; c++)
            col[c] = (uint16_t)(col[c] | ((row >> c) & 1u) << r);
    }
    return distinct16(col);
}

/* PDQ of cut `which` of img, its rows streamed band by band
 * (phm__cut_bands): no copy, also of the middle cut's two bands. */
static int hash_cut(phm_hasher *h, const phm_image *img, int which, phm_mode mode,
                    int dihedral, phm_pdq_result *out)
{
    uint32_t band[2][2], rows = 0;
    const int nb = phm__cut_bands(img->height, which, band);
    for (int b = 0; b < nb; b++)
        rows += band[b][1] - band[b][0];
    if (!nb)
        return PHM_ERR_TOO_SMALL;
    int rc = pdq_stream_begin(h, img->width, rows, img->channels, mode);
    for (int b = 0; b < nb && rc == PHM_OK; b++)
        rc = pdq_stream_rows(h, img->pixels + (size_t)band[b][0] * img->stride, img->stride,
                             band[b][1] - band[b][0]);
    return rc == PHM_OK ? pdq_stream_end(h, dihedral, out) : rc;
}

unsigned phm_hash_cuts(phm_hasher *h, const phm_image *img, phm_mode mode, int dihedral,
                       phm_pdq_result out[PHM_CUT_COUNT])
{
    unsigned ok = 0;
    for (int k = 0; h && valid(img) && out && k < PHM_CUT_COUNT; k++)
        if (hash_cut(h, img, k, mode, dihedral, &out[k]) == PHM_OK &&
            phm_pdq_distinct_rows(&out[k].hash[0]) >= PHM_CUT_MIN_ROWS)
            ok |= 1u << k;
    return ok;
}

/* ---- small pictures evenly resampled (PHM_KV_AREA64*, wt-small) ---- */

/* The weights of output sample o of 64 along a line of n source pixels
 * into w[] (indexed from *first, *count of them): the share of each source
 * pixel in o's area when n >= 64, else the two bilinear taps of o's centre
 * (pixel centres aligned). */
static void area_taps(uint32_t n, uint32_t o, double w[8], uint32_t *first, uint32_t *count)
{
    const double f = (double)n / 64;
    if (n >= 64) { /* a cell spans 1..4 source pixels (n < 256) */
        double a = o * f, b = (o + 1) * f;
        uint32_t i = (uint32_t)a, k = 0;
        *first = i;
        for (; i < n && i < b && k < 8; i++, k++)
            w[k] = ((i + 1 < b ? i + 1 : b) - (i > a ? i : a)) / f;
        *count = k;
        return;
    }
    double s = (o + 0.5) * f - 0.5;
    s = s < 0 ? 0 : s > n - 1 ? n - 1 : s;
    uint32_t i = (uint32_t)s;
    *first = i;
    w[0] = 1 - (s - i);
    w[1] = s - i;
    *count = i + 1 < n ? 2 : 1;
}

int phm_hash_area64(phm_hasher *h, const phm_image *img, phm_mode mode, int dihedral,
                    phm_pdq_result *out)
{
    if (!h || !valid(img) || !out || img->width > PHM_AREA64_MAX_SIDE ||
        img->height > PHM_AREA64_MAX_SIDE)
        return PHM_ERR_INVALID;
    const uint32_t ch = img->channels, n = 64;
    /* along x into a double row per source row, then along y */
    double *rows = malloc((size_t)img->height * n * ch * sizeof *rows);
    uint8_t *small = malloc((size_t)n * n * ch);
    int rc = PHM_ERR_NOMEM;
    if (!rows || !small)
        goto out;
    for (uint32_t x = 0; x < n; x++) {
        double w[8];
        uint32_t first, count;
        area_taps(img->width, x, w, &first, &count);
        for (uint32_t y = 0; y < img->height; y++)
            for (uint32_t c = 0; c < ch; c++) {
                const uint8_t *p = img->pixels + (size_t)y * img->stride + (size_t)first * ch + c;
                double a = 0;
                for (uint32_t k = 0; k < count; k++)
                    a += w[k] * p[(size_t)k * ch];
                rows[((size_t)y * n + x) * ch + c] = a;
            }
    }
    for (uint32_t y = 0; y < n; y++) {
        double w[8];
        uint32_t first, count;
        area_taps(img->height, y, w, &first, &count);
        for (size_t i = 0; i < (size_t)n * ch; i++) {
            double a = 0;
            for (uint32_t k = 0; k < count; k++)
                a += w[k] * rows[(size_t)(first + k) * n * ch + i];
            small[(size_t)y * n * ch + i] = phm__px(a);
        }
    }
    phm_image s = { small, n, n, ch, (size_t)n * ch, img->format };
    rc = phm_hash_image(h, &s, mode, dihedral, out);
out:
    free(rows);
    free(small);
    return rc;
}

/* The picture an area64 variant `code` is made of: img itself, or the box
 * phm__edge_box cuts off white, else off black (as trim-white or
 * trim-black, thin: as trim-white-thin or trim-black-thin); 0 when there
 * is none or it is over PHM_AREA64_MAX_SIDE a side (no variant). */
static int area_picture(const phm_image *img, int code, phm_image *out)
{
    phm_rect r = { 0, 0, img->width, img->height };
    const int thin = code == PHM_KV_AREA64_TRIM_THIN;
    if (code != PHM_KV_AREA64 && !phm__edge_box(img, 0, thin, &r) &&
        !phm__edge_box(img, 1, thin, &r))
        return 0;
    return r.width <= PHM_AREA64_MAX_SIDE && r.height <= PHM_AREA64_MAX_SIDE &&
           phm_image_view(img, &r, out) == PHM_OK;
}

/* ---- re-uploads of busy images (PHM_KV_BUSY_*, wt-busy) ------------ */

/* img shrunk to w x h (each at most img's) by area averaging: every
 * output pixel the mean of the source area it covers, partial pixels
 * weighted by their share (a box filter of the scale's width, as
 * ImageMagick's -scale and Pillow's BOX). Separable: one float row of
 * w x channels per output row. */
static int area_shrink(const phm_image *img, uint32_t w, uint32_t h, uint8_t *buf,
                       phm_image *out)
{
    const uint32_t ch = img->channels, sw = img->width, sh = img->height;
    if (!w || !h || w > sw || h > sh)
        return PHM_ERR_INVALID;
    const size_t row = (size_t)w * ch;
    double *acc = malloc(row * sizeof *acc), *line = malloc(row * sizeof *line);
    if (!acc || !line) {
        free(acc);
        free(line);
        return PHM_ERR_NOMEM;
    }
    const double fx = (double)sw / w, fy = (double)sh / h;
    for (uint32_t y = 0; y < h; y++) {
        double y0 = y * fy, y1 = (y + 1) * fy;
        memset(acc, 0, row * sizeof *acc);
        for (uint32_t sy = (uint32_t)y0; sy < sh && sy < y1; sy++) {
            double wy = (sy + 1 < y1 ? sy + 1 : y1) - (sy > y0 ? sy : y0);
            const uint8_t *src = img->pixels + (size_t)sy * img->stride;
            /* this source row averaged along x into line */
            for (uint32_t x = 0; x < w; x++) {
                double x0 = x * fx, x1 = (x + 1) * fx;
                for (uint32_t c = 0; c < ch; c++)
                    line[(size_t)x * ch + c] = 0;
                for (uint32_t sx = (uint32_t)x0; sx < sw && sx < x1; sx++) {
                    double wx = (sx + 1 < x1 ? sx + 1 : x1) - (sx > x0 ? sx : x0);
                    for (uint32_t c = 0; c < ch; c++)
                        line[(size_t)x * ch + c] += wx * src[(size_t)sx * ch + c];
                }
            }
            for (size_t i = 0; i < row; i++)
                acc[i] += wy * line[i];
        }
        uint8_t *d = buf + (size_t)y * row;
        for (size_t i = 0; i < row; i++) {
            double v = acc[i] / (fx * fy);
            d[i] = phm__px(v);
        }
    }
    free(acc);
    free(line);
    describe(out, img, buf, w, h);
    return PHM_OK;
}

/* img re-encoded as a baseline JPEG of `quality` (IJG tables, 4:2:0, grey
 * stays grey, the accurate integer DCT: libjpeg's defaults, as most tools
 * write) and decoded again into buf, with libjpeg-turbo in memory. An
 * image beyond JPEG's 65,500 pixels a side gives PHM_ERR_TOO_SMALL (no
 * variant, as for an edit too small to hash). */
static int jpeg_again(const phm_image *img, int quality, uint8_t *buf, size_t len,
                      phm_image *out)
{
    if (img->width > 65500 || img->height > 65500 || img->stride > INT32_MAX)
        return PHM_ERR_TOO_SMALL;
    if (len / ((size_t)img->width * img->channels) < img->height)
        return PHM_ERR_INVALID;
    const int grey = img->channels == 1;
    int rc = PHM_ERR_INTERNAL;
    unsigned char *jpg = NULL;
    unsigned long jlen = 0;
    tjhandle c = tjInitCompress(), d = tjInitDecompress();
    if (!c || !d)
        goto out;
    if (tjCompress2(c, img->pixels, (int)img->width, (int)img->stride, (int)img->height,
                    grey ? TJPF_GRAY : TJPF_RGB, &jpg, &jlen, grey ? TJSAMP_GRAY : TJSAMP_420,
                    quality, TJFLAG_ACCURATEDCT) != 0)
        goto out;
    if (tjDecompress2(d, jpg, jlen, buf, (int)img->width, 0, (int)img->height,
                      grey ? TJPF_GRAY : TJPF_RGB, TJFLAG_ACCURATEDCT) != 0)
        goto out;
    describe(out, img, buf, img->width, img->height);
    rc = PHM_OK;
out:
    tjFree(jpg);
    if (c)
        tjDestroy(c);
    if (d)
        tjDestroy(d);
    return rc;
}

/* img flipped left to right (rot 0) or rotated 90 degrees clockwise
 * (rot 1: w x h becomes h x w) into buf. */
static void orient(const phm_image *img, int rot, uint8_t *buf, phm_image *out)
{
    const uint32_t w = img->width, h = img->height, ch = img->channels;
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *s = img->pixels + (size_t)y * img->stride;
        for (uint32_t x = 0; x < w; x++) {
            /* clockwise: source (x, y) lands at column h-1-y of row x */
            size_t at = rot ? ((size_t)x * h + (h - 1 - y)) * ch
                            : ((size_t)y * w + (w - 1 - x)) * ch;
            memcpy(buf + at, s + (size_t)x * ch, ch);
        }
    }
    if (rot)
        describe(out, img, buf, h, w);
    else
        describe(out, img, buf, w, h);
}

/* The orientation of the own image's hashes (phm_hash_image with
 * dihedral) that a PHM_KV_BUSY_MIRROR / _ROT90 variant is compared with,
 * or -1 for other codes: PDQ's names count the other way (its "flipy"
 * hash is that of the image flipped left to right, "rot270" that of the
 * image turned 90 degrees clockwise; test_transform_busy.c checks it). */
static int busy_orientation(int code)
{
    return code == PHM_KV_BUSY_MIRROR ? PHM_DIH_FLIPY
         : code == PHM_KV_BUSY_ROT90  ? PHM_DIH_ROT270 : -1;
}

/* Applies variant `code`'s edit of img into buf (img's bytes), or, for a
 * crop, makes *out a view of img's pixels (buf unused). */
static int edit(const phm_image *img, int code, uint8_t *buf, size_t len,
                phm_image *out)
{
    phm_rect r;
    switch (code) {
    case PHM_KV_ED_CUT_BOTTOM:
    case PHM_KV_ED_CUT_TOP:
        if (phm_cut_rect(img->width, img->height,
                         code == PHM_KV_ED_CUT_TOP ? PHM_CUT_TOP : PHM_CUT_BOTTOM, &r))
            return PHM_ERR_TOO_SMALL;
        return phm_image_view(img, &r, out);
    case PHM_KV_ED_CUT_MIDDLE:
        return cut_middle(img, buf, len, out);
    case PHM_KV_TRIM_WHITE:
    case PHM_KV_TRIM_BLACK:
    case PHM_KV_TRIM_WHITE_THIN:
    case PHM_KV_TRIM_BLACK_THIN:
        /* no such edge (or no thin run at its content's ends): no variant */
        if (!phm__edge_box(img, code == PHM_KV_TRIM_BLACK || code == PHM_KV_TRIM_BLACK_THIN,
                           code == PHM_KV_TRIM_WHITE_THIN || code == PHM_KV_TRIM_BLACK_THIN, &r))
            return PHM_ERR_TOO_SMALL;
        return phm_image_view(img, &r, out);
    case PHM_KV_TRIM_LB_BLACK:
    case PHM_KV_TRIM_LB_WHITE:
    case PHM_KV_TRIM_PB_BLACK:
    case PHM_KV_TRIM_PB_WHITE:
        /* trimming keeps all of the picture: no variant */
        if (!phm__bars_box(img, code == PHM_KV_TRIM_LB_BLACK || code == PHM_KV_TRIM_LB_WHITE,
                           code == PHM_KV_TRIM_LB_WHITE || code == PHM_KV_TRIM_PB_WHITE, &r))
            return PHM_ERR_TOO_SMALL;
        return phm_image_view(img, &r, out);
    case PHM_KV_ROT_P5_GROWN:
    case PHM_KV_ROT_M5_GROWN:
    case PHM_KV_ROT_P3_GROWN:
    case PHM_KV_ROT_M3_GROWN:
        return grown_turn(img, grown_degrees(code), buf, len, out);
    case PHM_KV_GAMMA_UP:
        tone(img, 0.75, buf, out);
        return PHM_OK;
    case PHM_KV_GAMMA_DOWN:
        tone(img, 1.0 / 0.75, buf, out);
        return PHM_OK;
    case PHM_KV_BLUR: {
        uint32_t side = img->width > img->height ? img->width : img->height;
        return phm_image_blur(img, 0.0075 * side, buf, len, out);
    }
    case PHM_KV_DOWN25:
        return down_up(img, buf, out);
    case PHM_KV_BUSY_JPEG30:
        return jpeg_again(img, 30, buf, len, out);
    case PHM_KV_BUSY_DOWN50:
        if (img->width < 10 || img->height < 10)
            return PHM_ERR_TOO_SMALL;
        return area_shrink(img, (img->width + 1) / 2, (img->height + 1) / 2, buf, out);
    case PHM_KV_BUSY_MIRROR:
    case PHM_KV_BUSY_ROT90:
        orient(img, code == PHM_KV_BUSY_ROT90, buf, out);
        return PHM_OK;
    case PHM_KV_LB_10:
    case PHM_KV_LB_20:
    case PHM_KV_LB_BLUR10:
        return bars(img, 1, code == PHM_KV_LB_20 ? 20 : 10, code == PHM_KV_LB_BLUR10, buf, len,
                    out);
    case PHM_KV_PB_10:
    case PHM_KV_PB_20:
    case PHM_KV_PB_BLUR10:
        return bars(img, 0, code == PHM_KV_PB_20 ? 20 : 10, code == PHM_KV_PB_BLUR10, buf, len,
                    out);
    default:
        break;
    }
    if (edits[code].degrees != 0) {
        static const uint8_t black[3] = { 0, 0, 0 };
        return phm_image_rotate(img, edits[code].degrees, edits[code].rot_crop, black,
                                buf, len, out);
    }
    double pct = edits[code].pct;
    uint32_t dx = (uint32_t)lround(img->width * pct / 100.0);
    uint32_t dy = (uint32_t)lround(img->height * pct / 100.0);
    if (dx >= img->width)
        dx = img->width - 1;
    if (dy >= img->height)
        dy = img->height - 1;
    static const uint8_t fx[5] = { 1, 0, 2, 0, 2 }, fy[5] = { 1, 0, 0, 2, 2 };
    int w = edits[code].where;
    /* fx/fy: 0 keep the left/top, 2 keep the right/bottom, 1 centre */
    uint32_t x = fx[w] == 1 ? dx / 2 : fx[w] == 2 ? dx : 0;
    uint32_t y = fy[w] == 1 ? dy / 2 : fy[w] == 2 ? dy : 0;
    /* a view of img: phm_hash_image takes its stride, no copy */
    r = (phm_rect){ x, y, img->width - dx, img->height - dy };
    return phm_image_view(img, &r, out);
}

/* Variants that are a part of the picture (its crops, corner and centre,
 * their soft hashes, a rotation cut to its inside: in edits[], a cut or
 * rot_crop), which the quarter-turn rule in phm_augment leaves out. */
static int crop_kind(int code)
{
    return edits[code].pct > 0 || edits[code].rot_crop;
}

/* The picture with transparency over white or black: no edit of a
 * decoded image (phm_hash_known_mem makes them from the bytes). */
static int flat_kind(int code)
{
    return code == PHM_KV_FLAT_WHITE || code == PHM_KV_FLAT_BLACK;
}

int phm_augment(phm_hasher *h, const phm_image *img, phm_mode mode,
                const phm_pdq *own, const int *codes, size_t ncodes,
                int min_distance, phm_entry_variant *out, size_t *nout,
                char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (nout)
        *nout = 0;
    if (!h || !valid(img) || !own || (ncodes && !codes) || !out || !nout ||
        ncodes > PHM_INDEX_MAX_VARIANTS || min_distance < 0 || min_distance > 256) {
        if (err && errlen)
            snprintf(err, errlen, "invalid augmentation arguments");
        return PHM_ERR_INVALID;
    }
    for (size_t i = 0; i < ncodes; i++)
        if (!phm_known_variant_name(codes[i])) {
            if (err && errlen)
                snprintf(err, errlen, "unknown variant code %d", codes[i]);
            return PHM_ERR_INVALID;
        }
    phm_pdq_result dih; /* own image's 8 orientations: its quality, mirror / rot90 */
    if (ncodes) {
        int src = phm_hash_image(h, img, mode, 1, &dih);
        if (src == PHM_ERR_TOO_SMALL)
            return PHM_OK;
        if (src != PHM_OK) {
            if (err && errlen)
                snprintf(err, errlen, "cannot hash the image: %s", phm_strerror(src));
            return src;
        }
    }
    /* An image below PDQ's quality gate gets no rotation on a filled
     * canvas (phm_fill_kind): turned, a calm picture's hash is its black
     * corners, which any picture of its shape turned alike shares (14-30
     * bits: 4 of session 12's false matches, and the one on the rebuilt
     * dev set with every variant of its calm originals stored, a fabric
     * texture's rotated copy 14 bits from a calm one's rot-5). Its other
     * variants are kept: its copies are found 227 times in 875 instead of
     * 100 there, and no other pair comes within 40 bits (docs/ROBUST.md,
     * "Calm originals again"). */
    int calm = ncodes && dih.quality < PHM_PDQ_MIN_QUALITY;
    /* A picture that looks the same turned a quarter (a ring, a star, a
     * rosette, a grid of dots) gets no crop of itself: its crops look like
     * those of every picture of its kind. On 360 clip arts
     * (openclipart-png) 37 of the 38 false matches at <= 31 were a cropped
     * copy of one of 41 star polygons meeting another's stored crop at
     * 10-30 bits (its own at 2-31); at PDQ's 64 x 64 two such stars differ
     * by 3-7 % RMS, as a picture and its gamma-edited copy do
     * (docs/ROBUST.md, "Pictures that look the same turned a quarter").
     * Nor an area64 hash: evenly resampled, the fine lines that tell two
     * star polygons apart are averaged into the ring both are (clip art
     * sel5: a mirrored 79-point star 30 bits from a 39-point one's
     * area64-trim; docs/ROBUST.md, "Small pictures"). */
    int no_crops = ncodes && phm__quarter_turn(img) < PHM_SYM_QUARTER;
    /* the picture the grown turns start from (img, or a copy in gbuf); buf
     * holds img's bytes or the largest of those turns' canvases */
    phm_image gsrc;
    uint8_t *gbuf = NULL;
    if (grown_source(img, codes, ncodes, &gsrc, &gbuf) != PHM_OK) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return PHM_ERR_NOMEM;
    }
    size_t len = phm_image_bytes(img->width, img->height, img->channels);
    for (size_t i = 0; i < ncodes && len; i++)
        if (grown_degrees(codes[i]) != 0) {
            uint32_t gw, gh;
            grown_size(gsrc.width, gsrc.height, grown_degrees(codes[i]), &gw, &gh);
            size_t g = phm_image_bytes(gw, gh, img->channels);
            len = !g ? 0 : g > len ? g : len;
        }
    uint8_t *buf = len ? malloc(len) : NULL;
    if (!buf) {
        free(gbuf);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return PHM_ERR_NOMEM;
    }
    int rc = PHM_OK, failed = 0;
    size_t n = 0;
    for (size_t i = 0; i < ncodes; i++) {
        phm_image e;
        phm_pdq_result r;
        int o = busy_orientation(codes[i]);
        if ((no_crops && (crop_kind(codes[i]) || phm_area_kind(codes[i]))) ||
            (calm && phm_fill_kind(codes[i])) || flat_kind(codes[i]))
            continue; /* flat-*: phm_hash_known_mem's, from the bytes */
        if (codes[i] == PHM_KV_ED_SOFT) /* hashed as a query's soft hash is */
            rc = phm_hash_soft(h, img, mode, 0, &r);
        else if (phm_area_kind(codes[i])) /* a small picture's, evenly resampled */
            rc = area_picture(img, codes[i], &e) ? phm_hash_area64(h, &e, mode, 0, &r)
                                                 : PHM_ERR_TOO_SMALL;
        else if ((rc = edit(grown_degrees(codes[i]) != 0 ? &gsrc : img, codes[i], buf, len,
                            &e)) == PHM_OK)
            rc = phm_soft_kind(codes[i]) ? phm_hash_soft(h, &e, mode, 0, &r)
                                         : phm_hash_image(h, &e, mode, 0, &r);
        if (rc == PHM_ERR_TOO_SMALL) { /* a tiny image's edit: no variant */
            rc = PHM_OK;
            continue;
        }
        if (rc != PHM_OK) {
            failed = codes[i];
            break;
        }
        /* A low-quality hash matches noise; one near the own hash or a
         * kept variant adds a slot and no reach. An edit of quality
         * PHM_AUGMENT_MIN_QUALITY..49 that is not a pattern is kept:
         * the cut, crop or bars of a calm picture, which a copy of the
         * same low quality finds through the low-quality search (first
         * for the caption cuts, wt-shot; for every edit since wt-combo:
         * docs/ROBUST.md, "Combinations and calm pictures"). */
        int keep = r.quality >= PHM_AUGMENT_MIN_QUALITY &&
                   phm_pdq_distance(&r.hash[0], own) > min_distance;
        if (o >= 0) /* a stable image: its orientation of the own hash */
            keep = keep && phm_pdq_distance(&r.hash[0], &dih.hash[o]) > min_distance;
        /* Nor is any edit whose hash is a pattern, whatever its quality:
         * a flat clip art's blurred corner, and its plain 8 % corner, hash
         * to aaaa... at quality 100, 0 bits from a busy image's
         * pillarboxed copy (wt-combo2). */
        if (phm_pdq_distinct_rows(&r.hash[0]) < PHM_CUT_MIN_ROWS)
            keep = 0; /* a pattern: near every flat image's */
        /* An area64 hash answers a query's area64 hashes only, so it is
         * kept near the own hash or a variant of another kind (a plain
         * query hash never meets it), and dropped only near another
         * area64 one or equal to any (an entry holds each hash once: a
         * 64 x 64 picture's area64 is its own hash, and its copies'
         * area64 hashes find no area64 of it). */
        int area = phm_area_kind(codes[i]);
        if (area)
            keep = r.quality >= PHM_AUGMENT_MIN_QUALITY &&
                   phm_pdq_distinct_rows(&r.hash[0]) >= PHM_CUT_MIN_ROWS &&
                   phm_pdq_distance(&r.hash[0], own) > 0;
        for (size_t j = 0; j < n && keep; j++)
            keep = phm_pdq_distance(&r.hash[0], &out[j].pdq) >
                   (!area || phm_area_kind(out[j].code) ? min_distance : 0);
        if (keep)
            out[n++] = (phm_entry_variant){ codes[i], r.hash[0] };
    }
    free(buf);
    free(gbuf);
    if (rc != PHM_OK) {
        if (err && errlen)
            snprintf(err, errlen, "cannot make variant '%s': %s",
                     phm_known_variant_name(failed), phm_strerror(rc));
        return rc;
    }
    *nout = n;
    return PHM_OK;
}
