/* test_symmetry.c - pictures that look the same turned a quarter (issue 15;
 * src/lib/symmetry.c): the measure itself, and phm_augment storing no crop
 * of such a picture while it still crops any other. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "symmetry.h"
#include "tap.h"

static char err[PHM_ERRMSG_MAX];

/* A star-polygon ring on white, as clip-art "stars" are: points on a circle
 * joined `step` apart, drawn as dark dots (2 thick + 1 pixels wide) along
 * each chord, and a solid ring around them; `points` a multiple of 4 makes
 * it turn onto itself. */
static void ring(uint8_t *p, uint32_t s, int points, int step, long thick)
{
    memset(p, 255, (size_t)s * s * 3);
    const double c = (s - 1) / 2.0, r = 0.42 * s;
    for (int i = 0; i < points; i++) {
        double a0 = 2 * M_PI * i / points, a1 = 2 * M_PI * ((i + step) % points) / points;
        double x0 = c + r * cos(a0), y0 = c + r * sin(a0);
        double x1 = c + r * cos(a1), y1 = c + r * sin(a1);
        for (int k = 0; k <= 4 * (int)s; k++) {
            double t = k / (4.0 * s);
            long x = lround(x0 + t * (x1 - x0)), y = lround(y0 + t * (y1 - y0));
            for (long dy = -thick; dy <= thick; dy++)
                for (long dx = -thick; dx <= thick; dx++) {
                    long xx = x + dx, yy = y + dy;
                    if (xx >= 0 && yy >= 0 && xx < (long)s && yy < (long)s)
                        memset(p + ((size_t)yy * s + (size_t)xx) * 3, 20, 3);
                }
        }
    }
    for (uint32_t y = 0; y < s; y++)
        for (uint32_t x = 0; x < s; x++) {
            double d = hypot(x - c, y - c);
            if (d > r + 0.02 * s && d < r + 0.05 * s)
                memset(p + ((size_t)y * s + x) * 3, 40, 3);
        }
}

/* An ordinary picture: a gradient, waves of several sizes, an off-centre
 * disc and bar (detail at every scale, so that its crops move its hash). */
static void scene(uint8_t *p, uint32_t w, uint32_t h)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            double u = (double)x / w, v = (double)y / h;
            double a = 70 * (u - 0.5) + 50 * sin(9.0 * u + 4.0 * v) * cos(7.0 * v - 1.0) +
                       30 * sin(31.0 * u * v + 3.0 * u) + 20 * cos(23.0 * v - 11.0 * u * u) +
                       ((u - 0.7) * (u - 0.7) + (v - 0.4) * (v - 0.4) < 0.02 ? 60 : 0) +
                       (u > 0.1 && u < 0.45 && v > 0.7 && v < 0.8 ? -70 : 0);
            uint8_t *o = p + ((size_t)y * w + x) * 3;
            o[0] = (uint8_t)lround(fmax(0, fmin(255, 128 + a)));
            o[1] = (uint8_t)lround(fmax(0, fmin(255, 128 + a / 2)));
            o[2] = (uint8_t)lround(fmax(0, fmin(255, 128 + a / 3)));
        }
}

/* img turned 90 degrees clockwise into q (s x s, 3 channels). */
static void turn(const uint8_t *p, uint8_t *q, uint32_t s)
{
    for (uint32_t y = 0; y < s; y++)
        for (uint32_t x = 0; x < s; x++)
            memcpy(q + ((size_t)y * s + x) * 3, p + ((size_t)(s - 1 - x) * s + y) * 3, 3);
}

static int crop_name(int code)
{
    const char *n = phm_known_variant_name(code);
    size_t l = n ? strlen(n) : 0;
    return n && (!strncmp(n, "crop", 4) || !strncmp(n, "soft-crop", 9) ||
                 (l > 5 && !strcmp(n + l - 5, "-crop")));
}

/* phm_augment of the default set: how many variants, how many crops. */
static void augment(phm_hasher *h, const phm_image *img, size_t *n, size_t *crops, int *quality)
{
    int codes[PHM_INDEX_MAX_VARIANTS];
    size_t nc = phm_augment_default(codes, PHM_INDEX_MAX_VARIANTS);
    phm_pdq_result own;
    phm_entry_variant out[PHM_INDEX_MAX_VARIANTS];
    if (phm_hash_image(h, img, PHM_MODE_FULL, 0, &own) ||
        phm_augment(h, img, PHM_MODE_FULL, &own.hash[0], codes, nc, PHM_AUGMENT_MIN_DISTANCE,
                    out, n, err, sizeof err)) {
        fprintf(stderr, "augment failed: %s\n", err);
        exit(2);
    }
    *quality = own.quality;
    *crops = 0;
    for (size_t i = 0; i < *n; i++)
        *crops += (size_t)crop_name(out[i].code);
}

int main(void)
{
    const uint32_t s = 480;
    uint8_t *a = malloc((size_t)s * s * 3), *b = malloc((size_t)s * s * 3);
    phm_hasher *h = NULL;
    if (!a || !b || phm_hasher_new(&h, PHM_SIMD_AUTO))
        return 2;
    phm_image img = { a, s, s, 3, (size_t)s * 3, PHM_FORMAT_UNKNOWN };
    phm_image rot = { b, s, s, 3, (size_t)s * 3, PHM_FORMAT_UNKNOWN };

    /* the measure */
    ring(a, s, 36, 11, 1);
    double r36 = phm__quarter_turn(&img);
    OK(r36 < PHM_SYM_QUARTER, "a 36-point star ring turns onto itself (%.4f)", r36);
    turn(a, b, s);
    OK(fabs(phm__quarter_turn(&rot) - r36) < 1e-6, "... and so does it turned a quarter");
    ring(a, s, 38, 7, 0); /* 38 points of thin lines: a quarter turn is off by half a point */
    double r38 = phm__quarter_turn(&img);
    OK(r38 < PHM_SYM_QUARTER, "a 38-point ring of thin lines too, as to the eye (%.4f)", r38);
    scene(a, s, s);
    double rs = phm__quarter_turn(&img);
    OK(rs > 2 * PHM_SYM_QUARTER, "an ordinary picture does not (%.4f)", rs);
    for (size_t i = 0; i < (size_t)s * s * 3; i++) /* noise: a flat thumbnail, no likeness */
        a[i] = (uint8_t)(((i / 3) * 2654435761u) >> 13);
    double rn = phm__quarter_turn(&img);
    OK(rn > 2 * PHM_SYM_QUARTER, "noise does not either (%.4f)", rn);
    memset(a, 200, (size_t)s * s * 3);
    OK(phm__quarter_turn(&img) == 1, "a flat picture: 1 (nothing to turn)");
    phm_image tiny = { a, 3, 2, 3, 9, PHM_FORMAT_UNKNOWN };
    for (int i = 0; i < 18; i++)
        a[i] = (uint8_t)(i * 14);
    double rt = phm__quarter_turn(&tiny);
    OK(rt > 0 && rt < 2, "a picture smaller than the grid is measured (3 x 2: %.3f)", rt);
    phm_image bad = { a, s, s, 4, (size_t)s * 4, PHM_FORMAT_UNKNOWN };
    OK(phm__quarter_turn(&bad) == 1 && phm__quarter_turn(NULL) == 1,
       "4 channels or NULL: 1 (not symmetric)");

    /* phm_augment: a ring gets no crop of itself, an ordinary picture does */
    size_t n, crops;
    int q;
    ring(a, s, 36, 11, 1);
    augment(h, &img, &n, &crops, &q);
    OK(q >= PHM_PDQ_MIN_QUALITY, "the ring is over PDQ's quality gate (%d): it gets variants", q);
    OK(n > 0 && crops == 0, "the ring: %zu variants, none a crop", n);
    scene(a, s, s);
    augment(h, &img, &n, &crops, &q);
    OK(q >= PHM_PDQ_MIN_QUALITY && crops >= 8, "an ordinary picture: %zu variants, %zu crops", n,
       crops);

    phm_hasher_free(h);
    free(a);
    free(b);
    return tap_done();
}
