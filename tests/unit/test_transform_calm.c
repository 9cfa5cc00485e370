/* test_transform_calm.c - stored variants of calm pictures (issue 15,
 * wt-combo): an edit whose PDQ quality is PHM_AUGMENT_MIN_QUALITY..49
 * is kept when its hash is not a pattern (the crop of a calm picture,
 * which a copy of the same low quality finds through the low-quality
 * search), and dropped below PHM_AUGMENT_MIN_QUALITY; an image below
 * the quality gate keeps its variants but the rotations on a filled
 * canvas; an image too
 * small to hash gives no variant for any busy code.
 * The reference for each kept hash is the crop copied out and hashed
 * here; the quality of the edit is that reference's, so the test picks
 * its pictures by what PDQ says of them, not by what phm_augment does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"

static char err[PHM_ERRMSG_MAX];

/* A w x h grey RGB picture: smooth shapes of contrast amp (1: full)
 * around mid-grey, framed (frame > 0) by that many pixels of full-contrast
 * stripes, which crop5-c cuts off but which lift the whole picture's
 * quality over the gate. */
static void picture(uint8_t *p, uint32_t w, uint32_t h, double amp, uint32_t frame)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            double u = (double)x / w, v = (double)y / h;
            double a = 90 * sin(9.0 * u + 4.0 * v) * cos(7.0 * v - 1.0) +
                       ((u - 0.7) * (u - 0.7) + (v - 0.4) * (v - 0.4) < 0.05 ? 60 : 0);
            a *= amp;
            if (x < frame || y < frame || x >= w - frame || y >= h - frame)
                a = ((x + y) / 3) % 2 ? 120 : -120;
            uint8_t *o = p + ((size_t)y * w + x) * 3;
            o[0] = o[1] = o[2] = (uint8_t)lround(fmax(0, fmin(255, 128 + a)));
        }
}

/* The hash of the centre crop of pct % of img (as phm_augment's crop5-c:
 * dx = round(w pct / 100), dx / 2 on the left), copied out. */
static phm_pdq_result crop_hash(phm_hasher *h, const phm_image *img, double pct, uint8_t *buf,
                                size_t len)
{
    uint32_t dx = (uint32_t)lround(img->width * pct / 100.0);
    uint32_t dy = (uint32_t)lround(img->height * pct / 100.0);
    phm_image c;
    phm_pdq_result r = { 0 };
    if (phm_image_crop(img, dx / 2, dy / 2, img->width - dx, img->height - dy, buf, len, &c) ||
        phm_hash_image(h, &c, PHM_MODE_FULL, 0, &r))
        exit(2);
    return r;
}

/* phm_augment of one code; 1 if a variant was kept (into *v). */
static int kept(phm_hasher *h, const phm_image *img, int code, phm_pdq *v)
{
    phm_pdq_result own;
    phm_entry_variant out[1];
    size_t n = 0;
    if (phm_hash_image(h, img, PHM_MODE_FULL, 0, &own))
        exit(2);
    if (phm_augment(h, img, PHM_MODE_FULL, &own.hash[0], &code, 1, PHM_AUGMENT_MIN_DISTANCE,
                    out, &n, err, sizeof err) != PHM_OK) {
        printf("# phm_augment: %s\n", err);
        return 0;
    }
    if (n == 1)
        *v = out[0].pdq;
    return n == 1;
}

int main(void)
{
    const uint32_t w = 320, ht = 240;
    const size_t len = (size_t)w * ht * 3;
    uint8_t *pix = malloc(len), *buf = malloc(len);
    phm_hasher *h;
    if (!pix || !buf || phm_hasher_new(&h, PHM_SIMD_AUTO))
        return 2;
    phm_image img = { pix, w, ht, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    phm_pdq v;

    /* The contrast at which the picture's crop5-c falls in 20..49, and
     * one at which it falls below 20. */
    double lowamp = 0, tinyamp = 0;
    int lowq = -1, tinyq = -1;
    for (double amp = 0.002; amp <= 0.5 && (!lowamp || !tinyamp); amp *= 1.15) {
        picture(pix, w, ht, amp, 4);
        phm_pdq_result r = crop_hash(h, &img, 5, buf, len);
        if (!lowamp && r.quality >= PHM_AUGMENT_MIN_QUALITY && r.quality < PHM_PDQ_MIN_QUALITY &&
            phm_pdq_distinct_rows(&r.hash[0]) >= PHM_CUT_MIN_ROWS)
            lowamp = amp, lowq = r.quality;
        if (!tinyamp && r.quality > 0 && r.quality < PHM_AUGMENT_MIN_QUALITY)
            tinyamp = amp, tinyq = r.quality;
    }
    OK(lowamp > 0 && tinyamp > 0, "calm pictures found: contrast %.4f (quality %d), %.4f (%d)",
       lowamp, lowq, tinyamp, tinyq);

    picture(pix, w, ht, lowamp, 4);
    phm_pdq_result ref = crop_hash(h, &img, 5, buf, len), whole;
    if (phm_hash_image(h, &img, PHM_MODE_FULL, 0, &whole))
        return 2;
    OK(whole.quality >= PHM_PDQ_MIN_QUALITY, "framed calm picture: quality %d (over the gate)",
       whole.quality);
    OK(kept(h, &img, PHM_KV_CROP5_C, &v) && phm_pdq_distance(&v, &ref.hash[0]) == 0,
       "crop5-c of quality %d (20..49, not a pattern): kept, the crop's hash", ref.quality);

    picture(pix, w, ht, tinyamp, 4);
    OK(!kept(h, &img, PHM_KV_CROP5_C, &v), "crop5-c of quality %d (below 20): dropped", tinyq);

    /* The calm picture without its frame is itself below the gate: its
     * crop5-c (the same pixels as the framed one's) is kept, but no
     * rotation on a filled canvas, though that hashes over the gate and
     * far from the own hash: its black corners make it (session 12's
     * false matches; docs/ROBUST.md, "Calm originals again"). */
    picture(pix, w, ht, lowamp, 0);
    if (phm_hash_image(h, &img, PHM_MODE_FULL, 0, &whole))
        return 2;
    OK(whole.quality < PHM_PDQ_MIN_QUALITY && kept(h, &img, PHM_KV_CROP5_C, &v) &&
           phm_pdq_distance(&v, &ref.hash[0]) == 0,
       "calm picture of quality %d (below the gate): crop5-c kept, the crop's hash",
       whole.quality);
    static const uint8_t black[3] = { 0, 0, 0 };
    const int turned[] = { PHM_KV_ROT_P3, PHM_KV_ROT_M3, PHM_KV_ROT_P5, PHM_KV_ROT_M5 };
    const double degrees[] = { 3, -3, 5, -5 };
    for (size_t i = 0; i < sizeof turned / sizeof turned[0]; i++) {
        phm_image t;
        phm_pdq_result rr;
        if (phm_image_rotate(&img, degrees[i], 0, black, buf, len, &t) ||
            phm_hash_image(h, &t, PHM_MODE_FULL, 0, &rr))
            return 2;
        int far = phm_pdq_distance(&rr.hash[0], &whole.hash[0]);
        OK(rr.quality >= PHM_AUGMENT_MIN_QUALITY &&
               phm_pdq_distinct_rows(&rr.hash[0]) >= PHM_CUT_MIN_ROWS &&
               far > PHM_AUGMENT_MIN_DISTANCE && !kept(h, &img, turned[i], &v),
           "calm picture: %s (quality %d, %d bits from the own hash) not stored",
           phm_known_variant_name(turned[i]), rr.quality, far);
    }

    /* Black and white halves (one hard edge, as in clip art) under a
     * textured strip, top and bottom, that crop5-c cuts off: the crop
     * hashes to a pattern of high quality, which is near every flat
     * image's, far from the own hash: not kept. */
    for (uint32_t y = 0; y < ht; y++)
        for (uint32_t x = 0; x < w; x++) {
            double a = x < w / 2 ? -128 : 127;
            if (y < 5 || y >= ht - 5)
                a = 120 * sin(0.11 * x * (y % 7 + 1) + y);
            uint8_t *o = pix + ((size_t)y * w + x) * 3;
            o[0] = o[1] = o[2] = (uint8_t)lround(fmax(0, fmin(255, 128 + a)));
        }
    phm_pdq_result own_b, crop_b = crop_hash(h, &img, 5, buf, len);
    if (phm_hash_image(h, &img, PHM_MODE_FULL, 0, &own_b))
        return 2;
    printf("# halves: own %d rows, crop5-c %d rows, quality %d, %d bits apart\n",
           phm_pdq_distinct_rows(&own_b.hash[0]), phm_pdq_distinct_rows(&crop_b.hash[0]),
           crop_b.quality, phm_pdq_distance(&own_b.hash[0], &crop_b.hash[0]));
    OK(crop_b.quality >= PHM_PDQ_MIN_QUALITY &&
           phm_pdq_distinct_rows(&crop_b.hash[0]) < PHM_CUT_MIN_ROWS &&
           phm_pdq_distance(&own_b.hash[0], &crop_b.hash[0]) > PHM_AUGMENT_MIN_DISTANCE,
       "halves: crop5-c's hash is a pattern of quality >= 50, far from the own hash");
    OK(!kept(h, &img, PHM_KV_CROP5_C, &v), "halves: crop5-c (a pattern) dropped at quality %d",
       crop_b.quality);

    /* An image too small to hash: every busy code (each compared with
     * the own image's orientations) gives no variant and no error. */
    phm_image tiny = { pix, 6, 4, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    int codes[] = { PHM_KV_BUSY_MIRROR, PHM_KV_CROP5_C, PHM_KV_BUSY_ROT90 };
    phm_entry_variant out[3];
    size_t n = 9;
    phm_pdq own = { { 1, 2, 3, 4 } };
    IS_INT(phm_augment(h, &tiny, PHM_MODE_FULL, &own, codes, 3, 0, out, &n, err, sizeof err),
           PHM_OK, "6 x 4 image, mirror and rot90: no error");
    IS_INT((int)n, 0, "6 x 4 image: no variant");

    phm_hasher_free(h);
    free(pix);
    free(buf);
    return tap_done();
}
