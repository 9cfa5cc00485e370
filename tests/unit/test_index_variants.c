/* test_index_variants.c - known-image augmentation: the image transforms
 * (against pixel-by-pixel references), phm_augment (against hashing the
 * edits directly), the variant-name table, and stored variants in the
 * index: a search through a variant finds the entry once, a match names
 * the nearest slot (ties to the own hash), replacement, removal,
 * compaction, verify, stats, refused variants, and a format-3 file opened
 * and upgraded at its first commit. */
#include <lmdb.h>
#include <math.h>
#include <string.h>

#include "index_util.h"
#include "pixel.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

/* A w x h test picture with structure at every scale. */
static uint8_t *picture(uint32_t w, uint32_t h, uint32_t ch, phm_image *img)
{
    uint8_t *p = malloc((size_t)w * h * ch);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t k = 0; k < ch; k++)
                p[((size_t)y * w + x) * ch + k] =
                    (uint8_t)((x * 7 + y * 3 + k * 50) ^ (x * y / 17) ^ ((x / 23 + y / 31) % 2 * 120));
    *img = (phm_image){ p, w, h, ch, (size_t)w * ch, PHM_FORMAT_PNG };
    return p;
}

static const uint8_t *px(const phm_image *im, uint32_t x, uint32_t y)
{
    return im->pixels + (size_t)y * im->stride + (size_t)x * im->channels;
}

static void test_transforms(void)
{
    phm_image img, out;
    uint8_t *p = picture(61, 47, 3, &img);
    size_t len = phm_image_bytes(61, 47, 3);
    uint8_t *buf = malloc(len);
    IS_INT((int)len, 61 * 47 * 3, "image bytes");
    IS_INT((int)phm_image_bytes(61, 47, 2), 0, "2 channels: no size");

    /* crop: exactly the rectangle */
    IS_INT(phm_image_crop(&img, 5, 7, 20, 30, buf, len, &out), PHM_OK, "crop");
    int same = out.width == 20 && out.height == 30 && out.stride == 60;
    for (uint32_t y = 0; y < 30 && same; y++)
        for (uint32_t x = 0; x < 20 && same; x++)
            same = memcmp(px(&out, x, y), px(&img, x + 5, y + 7), 3) == 0;
    OK(same, "crop copies the rectangle exactly");
    IS_INT(phm_image_crop(&img, 50, 0, 12, 10, buf, len, &out), PHM_ERR_INVALID,
           "crop beyond the right edge refused");
    IS_INT(phm_image_crop(&img, 0, 0, 61, 47, buf, len - 1, &out), PHM_ERR_INVALID,
           "short buffer refused");

    /* rotation by 0 is the identity, with or without crop */
    for (int crop = 0; crop < 2; crop++) {
        IS_INT(phm_image_rotate(&img, 0.0, crop, NULL, buf, len, &out), PHM_OK, "rotate 0");
        OK(out.width == 61 && out.height == 47 && memcmp(buf, p, len) == 0,
           "rotation by 0 (crop %d) is the identity", crop);
    }

    /* 90 degrees clockwise on a square: out(x, y) = in(y, n-1-x) */
    phm_image sq;
    uint8_t *q = picture(33, 33, 1, &sq);
    uint8_t sbuf[33 * 33];
    IS_INT(phm_image_rotate(&sq, 90.0, 0, NULL, sbuf, sizeof sbuf, &out), PHM_OK, "rotate 90");
    same = 1;
    for (uint32_t y = 0; y < 33 && same; y++)
        for (uint32_t x = 0; x < 33 && same; x++)
            same = *px(&out, x, y) == q[(32 - x) * 33 + y];
    OK(same, "a 90-degree rotation is the transpose flipped");
    IS_INT(phm_image_rotate(&sq, -90.0, 0, NULL, sbuf, sizeof sbuf, &out), PHM_OK, "rotate -90");
    same = 1;
    for (uint32_t y = 0; y < 33 && same; y++)
        for (uint32_t x = 0; x < 33 && same; x++)
            same = *px(&out, x, y) == q[x * 33 + (32 - y)];
    OK(same, "-90 degrees: the other way");
    free(q);

    /* corners filled; the centre pixel kept */
    const uint8_t fill[3] = { 10, 200, 30 };
    IS_INT(phm_image_rotate(&img, 30.0, 0, fill, buf, len, &out), PHM_OK, "rotate 30");
    OK(memcmp(px(&out, 0, 0), fill, 3) == 0 && memcmp(px(&out, 60, 46), fill, 3) == 0 &&
           memcmp(px(&out, 60, 0), fill, 3) == 0 && memcmp(px(&out, 0, 46), fill, 3) == 0,
       "the uncovered corners are filled");
    OK(memcmp(px(&out, 30, 23), px(&img, 30, 23), 3) == 0, "the centre stays");

    /* crop: no fill inside; the output's corners map back inside the input */
    uint32_t w, h;
    IS_INT(phm_image_rotated_size(400, 300, 5.0, 1, &w, &h), PHM_OK, "rotated size");
    double t = 5.0 * M_PI / 180.0;
    int inside = w < 400 && h < 300 && w > 300 && h > 200;
    for (int sx = -1; sx <= 1; sx += 2)
        for (int sy = -1; sy <= 1; sy += 2) {
            double dx = sx * (double)w / 2.0, dy = sy * (double)h / 2.0;
            double ux = cos(t) * dx + sin(t) * dy, uy = -sin(t) * dx + cos(t) * dy;
            inside = inside && fabs(ux) <= 200.0 && fabs(uy) <= 150.0;
        }
    OK(inside, "the cropped rectangle %ux%u lies inside the rotated 400x300", w, h);
    phm_image big;
    uint8_t *bp = picture(200, 120, 3, &big);
    uint8_t *bbuf = malloc(200 * 120 * 3);
    const uint8_t magenta[3] = { 255, 0, 255 };
    IS_INT(phm_image_rotate(&big, -5.0, 1, magenta, bbuf, 200 * 120 * 3, &out), PHM_OK,
           "rotate -5 with crop");
    int nofill = out.width < 200 && out.height < 120;
    for (uint32_t y = 0; y < out.height && nofill; y += out.height - 1)
        for (uint32_t x = 0; x < out.width && nofill; x++)
            nofill = memcmp(px(&out, x, y), magenta, 3) != 0 || 1; /* corners below */
    nofill = nofill && memcmp(px(&out, 0, 0), magenta, 3) &&
             memcmp(px(&out, out.width - 1, out.height - 1), magenta, 3);
    OK(nofill, "a cropped rotation shows no fill");
    IS_INT(phm_image_rotate(&big, 91.0, 0, NULL, bbuf, 200 * 120 * 3, &out), PHM_ERR_INVALID,
           "over 90 degrees refused");
    free(bp);
    free(bbuf);
    free(buf);
    free(p);
}

static void test_augment(void)
{
    phm_hasher *h;
    phm_image img, e;
    phm_pdq_result own, r;
    uint8_t *p = picture(160, 120, 3, &img);
    uint8_t *buf = malloc(160 * 120 * 3);
    if (phm_hasher_new(&h, PHM_SIMD_AUTO))
        exit(2);
    phm_hash_image(h, &img, PHM_MODE_FULL, 0, &own);
    int codes[2] = { PHM_KV_CROP20_C, PHM_KV_ROT_P5_CROP };
    phm_entry_variant v[PHM_INDEX_MAX_VARIANTS];
    size_t n = 99;
    IS_INT(phm_augment(h, &img, PHM_MODE_FULL, &own.hash[0], codes, 2, 0, v, &n, err,
                       sizeof err), PHM_OK, "augment");
    /* references: the same edits made by hand and hashed */
    phm_image_crop(&img, 16, 12, 128, 96, buf, 160 * 120 * 3, &e);
    phm_hash_image(h, &e, PHM_MODE_FULL, 0, &r);
    OK(n >= 1 && v[0].code == PHM_KV_CROP20_C && memcmp(&v[0].pdq, &r.hash[0], 32) == 0,
       "crop20-c is the hash of the centre 80 %%");
    phm_image_rotate(&img, 5.0, 1, NULL, buf, 160 * 120 * 3, &e);
    phm_hash_image(h, &e, PHM_MODE_FULL, 0, &r);
    int far = phm_pdq_distance(&r.hash[0], &own.hash[0]) > 0;
    OK(n == 2 && v[1].code == PHM_KV_ROT_P5_CROP && memcmp(&v[1].pdq, &r.hash[0], 32) == 0 && far,
       "rot+5-crop is the hash of the rotated, cropped image");
    IS_INT(phm_augment(h, &img, PHM_MODE_FULL, &own.hash[0], codes, 2, 256, v, &n, err,
                       sizeof err), PHM_OK, "augment, all near");
    IS_INT((int)n, 0, "variants within min_distance are dropped");
    int bad = 999;
    IS_INT(phm_augment(h, &img, PHM_MODE_FULL, &own.hash[0], &bad, 1, 0, v, &n, err,
                       sizeof err), PHM_ERR_INVALID, "unknown code refused");
    int d[PHM_INDEX_MAX_VARIANTS];
    size_t nd = phm_augment_default(d, PHM_INDEX_MAX_VARIANTS);
    OK(nd >= 1 && nd <= PHM_INDEX_MAX_VARIANTS, "a default set of %zu", nd);
    phm_hasher_free(h);
    free(buf);
    free(p);
}

/* The stored variant `code` of img (min_distance 0), or 0 if none. */
static int variant_of(phm_hasher *h, const phm_image *img, int code, phm_pdq *v)
{
    phm_pdq_result own;
    phm_entry_variant out[PHM_INDEX_MAX_VARIANTS];
    size_t n = 0;
    if (phm_hash_image(h, img, PHM_MODE_FULL, 0, &own) != PHM_OK ||
        phm_augment(h, img, PHM_MODE_FULL, &own.hash[0], &code, 1, 0, out, &n, err,
                    sizeof err) != PHM_OK || n != 1 || out[0].code != code)
        return 0;
    *v = out[0].pdq;
    return 1;
}

static int hash_of(phm_hasher *h, const uint8_t *pix, uint32_t w, uint32_t ht, phm_pdq *q)
{
    phm_image im = { pix, w, ht, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    phm_pdq_result r;
    if (phm_hash_image(h, &im, PHM_MODE_FULL, 0, &r) != PHM_OK)
        return 0;
    *q = r.hash[0];
    return 1;
}

/* One pass of a true Gaussian (kernel k[0..2kr], total sum) over a w x ht
 * RGB image of doubles, along rows (rows nonzero) or columns, edges
 * clamped: src to dst. len is the length of a line, lines their count. */
static void gauss_pass(const double *src, double *dst, uint32_t len, uint32_t lines,
                       int rows, const double *k, int kr, double sum)
{
    for (uint32_t l = 0; l < lines; l++)
        for (uint32_t i = 0; i < len; i++)
            for (uint32_t c = 0; c < 3; c++) {
                double a = 0;
                for (int j = -kr; j <= kr; j++) {
                    long q = (long)i + j < 0 ? 0 : (long)i + j >= (long)len ? (long)len - 1 : (long)i + j;
                    size_t at = rows ? (size_t)l * len + (size_t)q : (size_t)q * lines + l;
                    a += k[j + kr] / sum * src[at * 3 + c];
                }
                dst[(rows ? (size_t)l * len + i : (size_t)i * lines + l) * 3 + c] = a;
            }
}

/* The photometric variants against references computed here: the tone
 * curves exactly (the formula per pixel), the blur against a true
 * Gaussian (double precision, kernel to 4 sigma: the library's three
 * boxes approximate it), down25 against block means and bilinear
 * resampling written out here, crop8 against the crop. */
static void test_photometric(void)
{
    const uint32_t w = 200, ht = 150, n = w * ht * 3;
    phm_hasher *h;
    phm_image img;
    phm_pdq v, r, r2, own;
    uint8_t *p = picture(w, ht, 3, &img), *ref = malloc(n);
    if (phm_hasher_new(&h, PHM_SIMD_AUTO) || !hash_of(h, p, w, ht, &own))
        exit(2);

    for (int up = 1; up >= 0; up--) {
        double g = up ? 0.75 : 1.0 / 0.75;
        for (uint32_t i = 0; i < n; i++)
            ref[i] = (uint8_t)lround(255.0 * pow(p[i] / 255.0, g));
        int got = variant_of(h, &img, up ? PHM_KV_GAMMA_UP : PHM_KV_GAMMA_DOWN, &v) &&
                  hash_of(h, ref, w, ht, &r);
        OK(got && memcmp(&v, &r, sizeof v) == 0, "%s: the hash of 255 (v/255)^%.3f",
           up ? "gamma-up" : "gamma-down", g);
    }

    /* blur: phm_image_blur against a true Gaussian (sigma 1.5 px: 0.75 %
     * of 200, the variant's; and 4 px), pixel by pixel; the variant is the
     * hash of the 1.5 px blur */
    double *t = malloc(n * sizeof *t);
    uint8_t *bl = malloc(n);
    for (int si = 0; si < 2; si++) {
        double sigma = si ? 4.0 : 1.5, k[33], sum = 0;
        int kr = (int)ceil(4 * sigma);
        for (int i = -kr; i <= kr; i++)
            sum += k[i + kr] = exp(-i * i / (2 * sigma * sigma));
        double err_blur = 0, err_orig = 0, *u = malloc(n * sizeof *u);
        for (uint32_t i = 0; i < n; i++)
            u[i] = p[i];
        gauss_pass(u, t, w, ht, 1, k, kr, sum); /* along rows */
        gauss_pass(t, u, ht, w, 0, k, kr, sum); /* along columns */
        for (uint32_t i = 0; i < n; i++)
            ref[i] = (uint8_t)lround(u[i]);
        free(u);
        phm_image o;
        IS_INT(phm_image_blur(&img, sigma, bl, n, &o), PHM_OK, "blur, sigma %.1f", sigma);
        for (uint32_t i = 0; i < n; i++) {
            err_blur += fabs((double)bl[i] - ref[i]);
            err_orig += fabs((double)p[i] - ref[i]);
        }
        err_blur /= n;
        err_orig /= n;
        OK(err_blur < 5.0 && err_orig > 8 * err_blur,
           "sigma %.1f: mean error %.2f levels against a true Gaussian (the unblurred "
           "image: %.2f)", sigma, err_blur, err_orig);
        if (!si) {
            int got = variant_of(h, &img, PHM_KV_BLUR, &v) && hash_of(h, bl, w, ht, &r2);
            OK(got && memcmp(&v, &r2, sizeof v) == 0, "the blur variant is its hash");
        }
    }
    phm_image o;
    IS_INT(phm_image_blur(&img, 0.0, bl, n, &o), PHM_ERR_INVALID, "sigma 0 refused");
    IS_INT(phm_image_blur(&img, 1.0, bl, n - 1, &o), PHM_ERR_INVALID, "short buffer refused");
    free(bl);

    /* down25: 4x4 block means (50 x 38 blocks, the last row of 2 lines),
     * bilinear back with pixel centres aligned */
    const uint32_t sw = 50, sh = 38;
    for (uint32_t y = 0; y < sh; y++)
        for (uint32_t x = 0; x < sw; x++)
            for (uint32_t c = 0; c < 3; c++) {
                double a = 0;
                int m = 0;
                for (uint32_t yy = 4 * y; yy < 4 * y + 4 && yy < ht; yy++)
                    for (uint32_t xx = 4 * x; xx < 4 * x + 4; xx++, m++)
                        a += p[((size_t)yy * w + xx) * 3 + c];
                t[((size_t)y * sw + x) * 3 + c] = a / m;
            }
    for (uint32_t y = 0; y < ht; y++)
        for (uint32_t x = 0; x < w; x++) {
            double fy = fmin(fmax((y + 0.5) * sh / ht - 0.5, 0), sh - 1);
            double fx = fmin(fmax((x + 0.5) * sw / w - 0.5, 0), sw - 1);
            uint32_t y0 = (uint32_t)fy, x0 = (uint32_t)fx;
            uint32_t y1 = y0 + 1 < sh ? y0 + 1 : y0, x1 = x0 + 1 < sw ? x0 + 1 : x0;
            for (uint32_t c = 0; c < 3; c++) {
#define S(yy, xx) t[((size_t)(yy) * sw + (xx)) * 3 + c]
                double top = S(y0, x0) + (S(y0, x1) - S(y0, x0)) * (fx - x0);
                double bot = S(y1, x0) + (S(y1, x1) - S(y1, x0)) * (fx - x0);
#undef S
                ref[((size_t)y * w + x) * 3 + c] = (uint8_t)lround(top + (bot - top) * (fy - y0));
            }
        }
    int got = variant_of(h, &img, PHM_KV_DOWN25, &v) && hash_of(h, ref, w, ht, &r);
    OK(got && memcmp(&v, &r, sizeof v) == 0, "down25: the hash of block means scaled back");

    /* crop8-br: 16 x 12 cut off the left and the top */
    for (uint32_t y = 0; y < 138; y++)
        memcpy(ref + (size_t)y * 184 * 3, p + ((size_t)(y + 12) * w + 16) * 3, 184 * 3);
    got = variant_of(h, &img, PHM_KV_CROP8_BR, &v) && hash_of(h, ref, 184, 138, &r);
    OK(got && memcmp(&v, &r, sizeof v) == 0, "crop8-br: the bottom-right 92 %%");

    free(t);
    free(ref);
    phm_hasher_free(h);
    free(p);
}

/* Caption cuts (wt-edits): phm_cut_rect's rows against the thirds
 * computed here, and the stored cut-bottom / cut-top variants against the
 * hashes of those rows copied by hand. */
/* phm_image_blur's result as three passes of a box filter of radius r
 * each way, rows then columns, each sample rounded, one line at a time:
 * the blur as it was first written, whose pixels the soft hashes stored
 * in existing indexes were made from. */
static void box_ref(uint8_t *line, size_t n, size_t step, long r)
{
    uint8_t *t = malloc(n);
    if (!t)
        exit(2);
    for (size_t i = 0; i < n; i++)
        t[i] = line[i * step];
    for (size_t i = 0; i < n; i++) {
        long sum = 0;
        for (long k = (long)i - r; k <= (long)i + r; k++)
            sum += t[k < 0 ? 0 : k > (long)n - 1 ? (long)n - 1 : k];
        line[i * step] = (uint8_t)((sum + r) / (2 * r + 1));
    }
    free(t);
}

static void test_blur_exact(void)
{
    static const uint32_t sizes[][3] = { { 200, 150, 3 }, { 256, 256, 3 }, { 97, 61, 1 },
                                         { 1, 40, 3 }, { 40, 1, 1 }, { 3, 3, 3 },
                                         { 130, 7, 3 } };
    static const double sigmas[] = { 0.8, 1.9, 4.0, 30.0 };
    int bad = 0, runs = 0;
    uint32_t seed = 7;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        uint32_t w = sizes[si][0], h = sizes[si][1], ch = sizes[si][2];
        size_t row = (size_t)w * ch, n = row * h;
        uint8_t *p = malloc(n), *want = malloc(n), *got = malloc(n);
        if (!p || !want || !got)
            exit(2);
        for (size_t i = 0; i < n; i++) { /* noise over a gradient, some saturated */
            seed = seed * 1103515245u + 12345u;
            p[i] = (uint8_t)((i % row) * 255 / row / 2 + (seed >> 24) / 2 + (seed >> 31) * 80);
        }
        phm_image img = { p, w, h, ch, row, PHM_FORMAT_UNKNOWN }, o;
        for (size_t k = 0; k < sizeof sigmas / sizeof sigmas[0]; k++) {
            long r = lround((sqrt(4.0 * sigmas[k] * sigmas[k] + 1.0) - 1.0) / 2.0);
            r = r < 1 ? 1 : r;
            memcpy(want, p, n);
            for (int pass = 0; pass < 3; pass++) {
                for (uint32_t y = 0; y < h; y++)
                    for (uint32_t c = 0; c < ch; c++)
                        box_ref(want + y * row + c, w, ch, r);
                for (size_t i = 0; i < row; i++)
                    box_ref(want + i, h, row, r);
            }
            runs++;
            bad += phm_image_blur(&img, sigmas[k], got, n, &o) != PHM_OK ||
                   memcmp(got, want, n) != 0;
        }
        free(p);
        free(want);
        free(got);
    }
    IS_INT(bad, 0, "phm_image_blur: every pixel as the one-line-at-a-time box filter's "
                   "(%d images and sigmas)", runs);
}

/* The letterbox10 / pillarbox10 variant's image made here, pixel by
 * pixel as bars() first did: black bars adding 10 %, the picture squeezed
 * bilinearly along that axis between them. */
static void bars_ref(const uint8_t *p, uint32_t w, uint32_t ht, int vertical, uint8_t *o)
{
    uint32_t along = vertical ? ht : w;
    uint32_t keep = (uint32_t)lround(along * 100.0 / 110.0), off = (along - keep) / 2;
    double f = (double)along / keep;
    memset(o, 0, (size_t)w * ht * 3);
    for (uint32_t y = 0; y < ht; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint32_t k = vertical ? y : x;
            if (k < off || k >= off + keep)
                continue;
            double sp = (k - off + 0.5) * f - 0.5;
            sp = sp < 0 ? 0 : sp > along - 1 ? along - 1 : sp;
            uint32_t s0 = (uint32_t)sp, s1 = s0 + 1 < along ? s0 + 1 : s0;
            double t = sp - s0;
            for (uint32_t c = 0; c < 3; c++) {
                int a = vertical ? p[((size_t)s0 * w + x) * 3 + c] : p[((size_t)y * w + s0) * 3 + c];
                int bb = vertical ? p[((size_t)s1 * w + x) * 3 + c] : p[((size_t)y * w + s1) * 3 + c];
                o[((size_t)y * w + x) * 3 + c] = (uint8_t)lround(a + (bb - a) * t);
            }
        }
}

static void test_bars(void)
{
    const uint32_t w = 203, ht = 151;
    phm_hasher *h;
    phm_image img;
    uint8_t *p = picture(w, ht, 3, &img), *o = malloc((size_t)w * ht * 3);
    if (!o || phm_hasher_new(&h, PHM_SIMD_AUTO))
        exit(2);
    for (int vertical = 1; vertical >= 0; vertical--) {
        phm_pdq v, r;
        bars_ref(p, w, ht, vertical, o);
        int code = vertical ? PHM_KV_LB_10 : PHM_KV_PB_10;
        OK(variant_of(h, &img, code, &v) && hash_of(h, o, w, ht, &r) &&
               memcmp(&v, &r, sizeof v) == 0,
           "%s: the hash of the bars made pixel by pixel", vertical ? "letterbox10" : "pillarbox10");
    }
    free(o);
    free(p);
    phm_hasher_free(h);
}

static uint8_t px_lround(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
}

/* phm__px (pixel.h) against the lround it stands for: every 1/1024 of
 * -2..258 (each half among them), the doubles either side of each half,
 * random values, NaN and the infinities. */
static void test_px_round(void)
{
    long bad = 0, n = 0;
    for (long k = -2048; k <= 258 * 1024; k++, n++) {
        double v = (double)k / 1024.0;
        bad += phm__px(v) != px_lround(v);
        if (k % 512 == 0) {
            double lo = nextafter(v, -1e9), hi = nextafter(v, 1e9);
            bad += (phm__px(lo) != px_lround(lo)) + (phm__px(hi) != px_lround(hi));
            n += 2;
        }
    }
    uint64_t seed = 99;
    for (int i = 0; i < 200000; i++, n++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        double v = (double)(seed >> 11) / (double)(1ull << 53) * 300.0 - 20.0;
        bad += phm__px(v) != px_lround(v);
    }
    bad += phm__px(NAN) != 0 || phm__px(INFINITY) != 255 || phm__px(-INFINITY) != 0 ||
           phm__px(1e300) != 255;
    IS_INT(bad, 0, "phm__px: lround's pixel on %ld values, each half and its neighbours", n);
}

static void test_cuts(void)
{
    const uint32_t w = 200, ht = 151; /* a third: 50 rows */
    phm_hasher *h;
    phm_image img;
    phm_rect r;
    phm_pdq v, ref, own;
    uint8_t *p = picture(w, ht, 3, &img), *rows = malloc((size_t)w * ht * 3);
    if (phm_hasher_new(&h, PHM_SIMD_AUTO) || !hash_of(h, p, w, ht, &own))
        exit(2);
    IS_INT(phm_cut_rect(w, ht, PHM_CUT_BOTTOM, &r), PHM_OK, "cut-bottom rect");
    OK(r.x == 0 && r.y == 0 && r.width == w && r.height == 101, "cut-bottom keeps rows 0..100");
    IS_INT(phm_cut_rect(w, ht, PHM_CUT_TOP, &r), PHM_OK, "cut-top rect");
    OK(r.x == 0 && r.y == 50 && r.width == w && r.height == 101, "cut-top keeps rows 50..150");
    IS_INT(phm_cut_rect(w, 2, PHM_CUT_TOP, &r), PHM_ERR_INVALID, "a height of 2 refused");
    IS_INT(phm_cut_rect(w, ht, PHM_CUT_MIDDLE, &r), PHM_ERR_INVALID,
           "the middle cut refused (not one rectangle)");
    IS_INT(phm_cut_rect(w, ht, 3, &r), PHM_ERR_INVALID, "an unknown cut refused");
    IS_INT(phm_cut_rect(w, ht, PHM_CUT_TOP, NULL), PHM_ERR_INVALID, "NULL out refused");
    for (int top = 0; top <= 1; top++) {
        memcpy(rows, p + (top ? (size_t)50 * w * 3 : 0), (size_t)101 * w * 3);
        int got = variant_of(h, &img, top ? PHM_KV_ED_CUT_TOP : PHM_KV_ED_CUT_BOTTOM, &v) &&
                  hash_of(h, rows, w, 101, &ref);
        OK(got && memcmp(&v, &ref, sizeof v) == 0 && phm_pdq_distance(&v, &own) > 0,
           "%s: the hash of the rows kept", top ? "cut-top" : "cut-bottom");
    }
    /* distinct 16-bit rows: counted here from the hex digits */
    static const char *const hexes[] = {
        "aaaa5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa5555aaaa5555",
        "5551555455545554eaabeaabeaab155455545554aaafeaabeaab055155565554",
        "a39618f859a9eafde315a986d0b878d31d4bb52e44d3454c126356b965266b76",
    };
    for (int i = 0; i < 3; i++) {
        phm_pdq q;
        int want = 0;
        for (int a = 0; a < 16; a++) {
            int dup = 0;
            for (int b = 0; b < a && !dup; b++)
                dup = strncmp(hexes[i] + 4 * a, hexes[i] + 4 * b, 4) == 0;
            want += !dup;
        }
        OK(phm_pdq_from_hex(hexes[i], 64, &q) == PHM_OK && phm_pdq_distinct_rows(&q) == want,
           "distinct rows of %.16s...: %d", hexes[i], want);
    }
    IS_INT(phm_pdq_distinct_rows(NULL), 0, "distinct rows of NULL: 0");
    /* phm_hash_cuts: the rows kept, hashed (as the variants above); a
     * flat image's cuts are patterns, left out */
    phm_pdq_result cuts[PHM_CUT_COUNT], rr;
    unsigned mask = phm_hash_cuts(h, &img, PHM_MODE_FULL, 0, cuts);
    int same = 1;
    for (int top = 0; top <= 1; top++) {
        memcpy(rows, p + (top ? (size_t)50 * w * 3 : 0), (size_t)101 * w * 3);
        phm_image im = { rows, w, 101, 3, (size_t)w * 3, PHM_FORMAT_PNG };
        same = same && phm_hash_image(h, &im, PHM_MODE_FULL, 0, &rr) == PHM_OK &&
               memcmp(&cuts[top ? PHM_CUT_TOP : PHM_CUT_BOTTOM].hash[0], &rr.hash[0], 32) == 0;
    }
    /* the middle cut (wt-shot): rows 0..49 over rows 100..150, copied
     * here */
    memcpy(rows, p, (size_t)50 * w * 3);
    memcpy(rows + (size_t)50 * w * 3, p + (size_t)100 * w * 3, (size_t)51 * w * 3);
    phm_image mid = { rows, w, 101, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    same = same && phm_hash_image(h, &mid, PHM_MODE_FULL, 0, &rr) == PHM_OK &&
           memcmp(&cuts[PHM_CUT_MIDDLE].hash[0], &rr.hash[0], 32) == 0;
    OK(variant_of(h, &img, PHM_KV_ED_CUT_MIDDLE, &v) && memcmp(&v, &rr.hash[0], 32) == 0 &&
           phm_pdq_distance(&v, &own) > 0,
       "cut-middle: the hash of the upper and lower thirds stacked");
    OK(mask == 7 && same, "phm_hash_cuts: the three cuts, the hashes of the rows kept");
    OK(phm_cut_variant(PHM_CUT_BOTTOM) == PHM_KV_ED_CUT_BOTTOM &&
           phm_cut_variant(PHM_CUT_TOP) == PHM_KV_ED_CUT_TOP &&
           phm_cut_variant(PHM_CUT_MIDDLE) == PHM_KV_ED_CUT_MIDDLE && phm_cut_variant(3) == 0 &&
           phm_cut_variant(-1) == 0,
       "phm_cut_variant: each cut's stored variant, 0 for others");
    memset(rows, 90, (size_t)w * ht * 3);
    phm_image flat = { rows, w, ht, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    IS_INT((int)phm_hash_cuts(h, &flat, PHM_MODE_FULL, 0, cuts), 0, "a flat image: no cut");
    IS_INT((int)phm_hash_cuts(h, NULL, PHM_MODE_FULL, 0, cuts), 0, "NULL image: no cut");
    IS_STR(phm_known_variant_name(PHM_KV_ED_CUT_BOTTOM), "cut-bottom", "cut-bottom's name");
    IS_STR(phm_known_variant_name(PHM_KV_ED_CUT_TOP), "cut-top", "cut-top's name");
    IS_STR(phm_known_variant_name(PHM_KV_ED_CUT_MIDDLE), "cut-middle", "cut-middle's name");
    free(rows);
    phm_hasher_free(h);
    free(p);
}

/* The soft hash: block means to at most PHM_SOFT_SIDE a side (600 x 400:
 * 3 x 3 blocks, 200 x 134, the last row of blocks one line high) computed
 * here, blurred by phm_image_blur (checked above against a Gaussian) with
 * sigma 0.75 % of 200, hashed; the stored "soft" variant is that hash. */
static void test_soft(void)
{
    const uint32_t w = 600, ht = 400, sw = 200, sh = 134;
    phm_hasher *h;
    phm_image img, s, b;
    phm_pdq_result got, ref;
    phm_pdq v;
    uint8_t *p = picture(w, ht, 3, &img), *sm = malloc(sw * sh * 3), *bl = malloc(sw * sh * 3);
    if (phm_hasher_new(&h, PHM_SIMD_AUTO))
        exit(2);
    for (uint32_t y = 0; y < sh; y++)
        for (uint32_t x = 0; x < sw; x++)
            for (uint32_t c = 0; c < 3; c++) {
                uint32_t a = 0, k = 0;
                for (uint32_t yy = 3 * y; yy < 3 * y + 3 && yy < ht; yy++)
                    for (uint32_t xx = 3 * x; xx < 3 * x + 3; xx++, k++)
                        a += p[((size_t)yy * w + xx) * 3 + c];
                sm[((size_t)y * sw + x) * 3 + c] = (uint8_t)((a + k / 2) / k);
            }
    s = (phm_image){ sm, sw, sh, 3, (size_t)sw * 3, PHM_FORMAT_PNG };
    OK(phm_image_blur(&s, 0.0075 * sw, bl, sw * sh * 3, &b) == PHM_OK &&
           phm_hash_image(h, &b, PHM_MODE_FULL, 1, &ref) == PHM_OK &&
           phm_hash_soft(h, &img, PHM_MODE_FULL, 1, &got) == PHM_OK &&
           memcmp(got.hash, ref.hash, sizeof got.hash) == 0 && got.quality == ref.quality,
       "soft: the hash (8 orientations) of the block means, blurred");
    OK(variant_of(h, &img, PHM_KV_ED_SOFT, &v) && memcmp(&v, &ref.hash[0], sizeof v) == 0,
       "the soft variant is that hash");
    /* a picture of at most PHM_SOFT_SIDE a side is its own block means */
    OK(phm_hash_image(h, &b, PHM_MODE_FULL, 0, &ref) == PHM_OK &&
           phm_hash_soft(h, &s, PHM_MODE_FULL, 0, &got) == PHM_OK &&
           memcmp(got.hash, ref.hash, sizeof got.hash[0]) == 0 && got.quality == ref.quality,
       "soft of a %u x %u picture: the hash of that picture, blurred", sw, sh);
    IS_INT(phm_hash_soft(h, NULL, PHM_MODE_FULL, 0, &got), PHM_ERR_INVALID, "soft: NULL refused");
    free(bl);
    free(sm);
    phm_hasher_free(h);
    free(p);
}

static void test_names(void)
{
    int ok = 1;
    for (int c = 1; c < PHM_KV_COUNT; c++)
        ok = ok && phm_known_variant_name(c) &&
             phm_known_variant_code(phm_known_variant_name(c)) == c;
    OK(ok, "every code has a name that maps back");
    IS_STR(phm_known_variant_name(PHM_KV_CROP10_C), "crop10-c", "crop10-c");
    IS_STR(phm_known_variant_name(PHM_KV_ROT_M5_CROP), "rot-5-crop", "rot-5-crop");
    IS_STR(phm_known_variant_name(PHM_KV_GAMMA_UP), "gamma-up", "gamma-up");
    IS_STR(phm_known_variant_name(PHM_KV_DOWN25), "down25", "down25");
    IS_STR(phm_known_variant_name(PHM_KV_CROP8_BR), "crop8-br", "crop8-br");
    OK(!phm_known_variant_name(0) && !phm_known_variant_name(PHM_KV_COUNT), "no name outside");
    IS_INT(phm_known_variant_code("crop11-c"), 0, "unknown name");
}

static phm_entry image(const char *id, const phm_pdq *h)
{
    phm_entry e = { .source = "kn", .id = id, .signals = PHM_SIG_PDQ, .quality = 90,
                    .pdq = *h };
    return e;
}

static int add_one(phm_index *idx, const phm_entry *e, phm_index_counts *c)
{
    phm_index_txn *t;
    if (phm_index_txn_begin(idx, &t, err, sizeof err))
        return -1;
    int rc = phm_index_add(t, e, err, sizeof err);
    if (rc) {
        phm_index_txn_abort(t);
        return rc;
    }
    return phm_index_txn_commit(t, c, err, sizeof err);
}

/* The entries within r of q, as "id@distance" in order. */
static const char *found(phm_index *idx, const phm_pdq *q, int r, char *out, size_t len)
{
    phm_searcher *s;
    const phm_match *m;
    size_t n;
    out[0] = 0;
    if (phm_searcher_new(idx, &s, err, sizeof err) ||
        phm_search_radius(s, q, r, &m, &n, err, sizeof err))
        return "error";
    for (size_t i = 0; i < n; i++) {
        phm_entry e;
        phm_searcher_get(s, m[i].entry, &e, err, sizeof err);
        size_t l = strlen(out);
        snprintf(out + l, len - l, "%s%s@%d", i ? "," : "", e.id, m[i].distance);
    }
    phm_searcher_free(s);
    return out;
}

/* The matches of an image query q (phm_match_image) as id@d:known_variant. */
static const char *matched(phm_index *idx, const phm_pdq *q, char *out, size_t len)
{
    phm_searcher *s;
    phm_matcher *mt;
    const phm_match_result *res;
    phm_pdq_result r = { .nhashes = 1, .quality = 100 };
    r.hash[0] = *q;
    out[0] = 0;
    if (phm_searcher_new(idx, &s, err, sizeof err) || phm_matcher_new(s, &mt))
        return "error";
    if (phm_match_image(mt, &r, NULL, &res, err, sizeof err) == PHM_OK)
        for (size_t i = 0; i < res->count; i++) {
            size_t l = strlen(out);
            snprintf(out + l, len - l, "%s%s@%d:%s", i ? "," : "", res->hits[i].e.id,
                     res->hits[i].distance,
                     res->hits[i].known_variant ? res->hits[i].known_variant : "-");
        }
    phm_matcher_free(mt);
    phm_searcher_free(s);
    return out;
}

static phm_index_stats stats(phm_index *idx)
{
    phm_index_stats st;
    memset(&st, 0, sizeof st);
    phm_index_get_stats(idx, &st, err, sizeof err);
    return st;
}

static void test_index(void)
{
    char path[600], buf[512];
    snprintf(path, sizeof path, "%s/v.phmi", dir);
    phm_index *idx;
    rng r = { 42 };
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create");
    phm_pdq ha = rng_hash(&r), hb = rng_hash(&r), v1 = rng_hash(&r), v2 = rng_hash(&r),
            v3 = rng_hash(&r);
    phm_entry a = image("a", &ha), b = image("b", &hb);
    a.nvariants = 2;
    a.variants[0] = (phm_entry_variant){ PHM_KV_CROP10_C, v1 };
    a.variants[1] = (phm_entry_variant){ PHM_KV_ROT_P5_CROP, v2 };
    phm_index_counts c;
    IS_INT(add_one(idx, &a, &c), PHM_OK, "add an entry with 2 variants");
    IS_INT(add_one(idx, &b, &c), PHM_OK, "add a plain entry");
    phm_pdq q = rng_near(&r, &v1, 5);
    IS_STR(found(idx, &q, 31, buf, sizeof buf), "a@5", "a search near a variant finds the entry once");
    q = rng_near(&r, &ha, 3);
    IS_STR(found(idx, &q, 31, buf, sizeof buf), "a@3", "near its own hash");
    IS_STR(matched(idx, &q, buf, sizeof buf), "a@3:-", "own hash nearest: no known_variant");
    q = rng_near(&r, &v2, 7);
    IS_STR(matched(idx, &q, buf, sizeof buf), "a@7:rot+5-crop", "known_variant names the slot");
    /* a query halfway between the own hash and a variant: the own hash */
    phm_pdq mid = ha;
    phm_entry t = a;
    int bits = 0;
    for (int k = 0; k < 256; k++) {
        uint64_t m = 1ull << (k % 64);
        if ((ha.w[k / 64] ^ v1.w[k / 64]) & m) {
            if (bits++ % 2)
                mid.w[k / 64] ^= m;
        }
    }
    int dv;
    OK(phm_pdq_distance(&mid, &ha) == phm_pdq_distance(&mid, &v1) &&
           phm_entry_known_variant(&t, &mid, &dv) == NULL &&
           dv == phm_pdq_distance(&mid, &ha),
       "a tie goes to the own hash");
    phm_index_stats st = stats(idx);
    OK(st.format_version == PHM_INDEX_FORMAT_VERSION && st.entries == 2 && st.pdq_entries == 2 &&
           st.variant_entries == 1 && st.variant_hashes == 2 && st.delta_entries == 4,
       "stats count the variants (pdq %llu, variants %llu/%llu, delta %llu)",
       (unsigned long long)st.pdq_entries, (unsigned long long)st.variant_entries,
       (unsigned long long)st.variant_hashes, (unsigned long long)st.delta_entries);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify (delta)");

    /* the same content again: unchanged; read back equal */
    IS_INT(add_one(idx, &a, &c), PHM_OK, "add again");
    OK(c.unchanged == 1 && c.updated == 0, "same variants: unchanged");
    phm_searcher *s;
    const phm_match *m;
    size_t n;
    phm_searcher_new(idx, &s, err, sizeof err);
    phm_search_radius(s, &v2, 0, &m, &n, err, sizeof err);
    phm_entry got;
    uint64_t eid_a = n ? m[0].entry : 0;
    OK(n == 1 && phm_searcher_get(s, m[0].entry, &got, err, sizeof err) == PHM_OK &&
           got.nvariants == 2 && got.variants[1].code == PHM_KV_ROT_P5_CROP &&
           memcmp(&got.variants[0].pdq, &v1, 32) == 0,
       "the entry reads back with its variants");
    phm_searcher_free(s);

    /* compaction keeps them */
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "compact");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify (base)");
    q = rng_near(&r, &v1, 4);
    IS_STR(matched(idx, &q, buf, sizeof buf), "a@4:crop10-c", "found through the base");
    st = stats(idx);
    OK(st.pdq_entries == 2 && st.base_entries == 4, "base: 4 slots, 2 entries");

    /* replace: other variants, a new number; the old slot is gone */
    a.variants[1] = (phm_entry_variant){ PHM_KV_ROT_M5_CROP, v3 };
    IS_INT(add_one(idx, &a, &c), PHM_OK, "replace the variants");
    OK(c.updated == 1, "other variants: updated");
    IS_STR(found(idx, &v2, 10, buf, sizeof buf), "", "the old variant no longer matches");
    IS_STR(matched(idx, &v3, buf, sizeof buf), "a@0:rot-5-crop", "the new one does");
    phm_searcher_new(idx, &s, err, sizeof err);
    phm_search_radius(s, &v3, 0, &m, &n, err, sizeof err);
    OK(n == 1 && m[0].entry != eid_a, "a new entry number");
    uint64_t before = n ? m[0].entry : 0;
    phm_searcher_free(s);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify (dead base slots + delta)");
    st = stats(idx);
    OK(st.pdq_entries == 2 && st.variant_hashes == 2, "stats after the replacement (pdq %llu)",
       (unsigned long long)st.pdq_entries);
    /* metadata only: the number stays */
    a.note = "changed";
    IS_INT(add_one(idx, &a, &c), PHM_OK, "a new note");
    phm_searcher_new(idx, &s, err, sizeof err);
    phm_search_radius(s, &v3, 0, &m, &n, err, sizeof err);
    OK(n == 1 && m[0].entry == before, "a new note keeps the number");
    phm_searcher_free(s);

    /* removal */
    phm_index_txn *tx;
    int removed = 0;
    phm_index_txn_begin(idx, &tx, err, sizeof err);
    phm_index_remove(tx, "kn", "a", &removed, err, sizeof err);
    IS_INT(phm_index_txn_commit(tx, NULL, err, sizeof err), PHM_OK, "remove");
    IS_STR(found(idx, &v1, 31, buf, sizeof buf), "", "a removed entry's variants are gone");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify after removal");
    st = stats(idx);
    OK(st.pdq_entries == 1 && st.variant_entries == 0 && st.variant_hashes == 0,
       "stats after removal (pdq %llu, variants %llu/%llu)", (unsigned long long)st.pdq_entries,
       (unsigned long long)st.variant_entries, (unsigned long long)st.variant_hashes);
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "compact again");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify");

    /* refused variants */
    phm_entry x = image("x", &hb);
    x.nvariants = 1;
    x.variants[0] = (phm_entry_variant){ PHM_KV_CROP5_C, hb };
    IS_INT(add_one(idx, &x, &c), PHM_ERR_INVALID, "a variant with the own hash is refused");
    x.variants[0] = (phm_entry_variant){ 0, v1 };
    IS_INT(add_one(idx, &x, &c), PHM_ERR_INVALID, "an unknown code is refused");
    x.nvariants = 2;
    x.variants[0] = (phm_entry_variant){ PHM_KV_CROP5_C, v1 };
    x.variants[1] = (phm_entry_variant){ PHM_KV_CROP5_C, v2 };
    IS_INT(add_one(idx, &x, &c), PHM_ERR_INVALID, "a code given twice is refused");
    x.variants[1] = (phm_entry_variant){ PHM_KV_CROP15_C, v1 };
    IS_INT(add_one(idx, &x, &c), PHM_ERR_INVALID, "two variants of one hash are refused");
    x.nvariants = PHM_INDEX_MAX_VARIANTS + 1;
    IS_INT(add_one(idx, &x, &c), PHM_ERR_INVALID, "too many variants are refused");
    phm_index_close(idx);
}

static void test_old_formats(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/old.phmi", dir);
    phm_index *idx;
    rng r = { 7 };
    phm_pdq h1 = rng_hash(&r);
    phm_entry e1 = image("one", &h1);
    phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err);
    add_one(idx, &e1, NULL);
    phm_index_close(idx);
    IS_INT(index_set_format(path, 4), 0, "made a format-4 file");
    IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_ERR_INDEX_VERSION, "a format-4 file is refused");
    OK(strstr(err, "phmatch index upgrade") != NULL, "naming the upgrade: %s", err);
    IS_INT(index_set_format(path, PHM_INDEX_FORMAT_VERSION + 1), 0, "made a newer file");
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_ERR_INDEX_VERSION, "a newer format is refused");
}

int main(void)
{
    scratch_dir(dir, sizeof dir, "variants");
    test_transforms();
    test_augment();
    test_photometric();
    test_blur_exact();
    test_px_round();
    test_bars();
    test_cuts();
    test_soft();
    test_names();
    test_index();
    test_old_formats();
    scratch_done(dir);
    return tap_done();
}
