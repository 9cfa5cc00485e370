/* test_transform_trimbox.c - letterboxed and pillarboxed copies of small
 * pictures with a margin of their own, and of pictures on a plain canvas
 * (issue 15; docs/ROBUST.md, "Letterboxes of small and canvas pictures").
 *
 * Generated pictures only: a 60-pixel icon (a window: a white margin, a
 * dark frame, a title bar, shapes), and a 60-pixel drawing on a white
 * canvas. Their copies
 * get bars of 3 pixels a side (10 %), black or white, and are hashed as a
 * query is (phm_hash_mem_trim on a PPM in memory: decoded whole, hashed,
 * trimmed). The known pictures are augmented with the default set
 * (phm_augment_default). Checked:
 *   - the icon's trimmed copies are within 31 bits of one of its stored
 *     trim variants, none of them of the own hash, and the white-barred
 *     ones of trim-lbox-white only (the icon as trimming cuts it out of
 *     a barred copy of itself): trimming cuts the icon's margin and
 *     frame with the bars, and on a 60-pixel icon that moves the hash
 *     by 60-100 bits;
 *   - the drawing's copies with white bars (no border the bands can see:
 *     the bars run on into its canvas) get a trimmed box, the content off
 *     white, within 31 bits of its stored trim-white;
 *   - a picture with no border or canvas of its own stores none of the
 *     trim-lbox-* variants, and phm__bars_box's box is all of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"

static char err[PHM_ERRMSG_MAX];

#define SIDE 60u
#define BAR 3u

static void set(uint8_t *p, uint32_t w, uint32_t x, uint32_t y, int v)
{
    memset(p + ((size_t)y * w + x) * 3, v, 3);
}

/* Fills the rectangle [x0, x1) x [y0, y1) of the SIDE-wide picture p. */
static void rect(uint8_t *p, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1, int v)
{
    for (uint32_t y = y0; y < y1; y++)
        for (uint32_t x = x0; x < x1; x++)
            set(p, SIDE, x, y, v);
}

/* The icon, a window: a white margin of 2 pixels, a dark frame 2 pixels
 * wide, a title bar with a close box, a light body with two squares and
 * two lines under them. */
static uint8_t *icon(void)
{
    uint8_t *p = malloc((size_t)SIDE * SIDE * 3);
    memset(p, 255, (size_t)SIDE * SIDE * 3);
    rect(p, 2, 2, SIDE - 2, SIDE - 2, 50);
    rect(p, 4, 4, SIDE - 4, 12, 140);
    rect(p, 47, 6, 53, 10, 50);
    rect(p, 4, 12, SIDE - 4, SIDE - 4, 205);
    rect(p, 8, 16, 25, 33, 120);
    rect(p, 32, 16, 51, 31, 90);
    rect(p, 8, 40, 27, 44, 50);
    rect(p, 32, 44, 53, 47, 70);
    return p;
}

/* The drawing on a white canvas: a dark body that starts in a point at
 * its top (no row of it steps from the canvas: no border for the bands),
 * a grey disc and three strokes, 8 pixels of canvas around them. */
static uint8_t *drawing(void)
{
    uint8_t *p = malloc((size_t)SIDE * SIDE * 3);
    memset(p, 255, (size_t)SIDE * SIDE * 3);
    for (uint32_t y = 8; y < SIDE - 8; y++)
        for (uint32_t x = 8; x < SIDE - 8; x++) {
            int dx = (int)x - 38, dy = (int)y - 38;
            if (x + (y - 8) / 2 >= 28 && x < 28 + (y - 8) / 3)
                set(p, SIDE, x, y, 60);
            else if (dx * dx + dy * dy < 64)
                set(p, SIDE, x, y, 150);
            else if (x > 40 && (y == 14 || y == 20 || y == 26) && x < 40 + (y - 8) / 2)
                set(p, SIDE, x, y, 90);
        }
    return p;
}

/* A copy of the SIDE x SIDE picture p with bars of `fill` BAR pixels
 * deep above and below (vertical) or left and right, as a binary PPM
 * into *len bytes (malloc'd). */
static uint8_t *barred_ppm(const uint8_t *p, int vertical, int fill, size_t *len)
{
    uint32_t w = vertical ? SIDE : SIDE + 2 * BAR, h = vertical ? SIDE + 2 * BAR : SIDE;
    char head[32];
    int n = snprintf(head, sizeof head, "P6\n%u %u\n255\n", w, h);
    *len = (size_t)n + (size_t)w * h * 3;
    uint8_t *f = malloc(*len), *px = f + n;
    memcpy(f, head, (size_t)n);
    memset(px, fill, (size_t)w * h * 3);
    for (uint32_t y = 0; y < SIDE; y++)
        memcpy(px + ((size_t)(vertical ? y + BAR : y) * w + (vertical ? 0 : BAR)) * 3,
               p + (size_t)y * SIDE * 3, (size_t)SIDE * 3);
    return f;
}

/* The default set's variants of p into v (*nv), the own hash into *own. */
static int augment(phm_hasher *h, const uint8_t *p, phm_pdq *own, phm_entry_variant *v,
                   size_t *nv)
{
    int codes[PHM_INDEX_MAX_VARIANTS];
    size_t n = phm_augment_default(codes, PHM_INDEX_MAX_VARIANTS);
    phm_image img = { p, SIDE, SIDE, 3, (size_t)SIDE * 3, PHM_FORMAT_PNG };
    phm_pdq_result r;
    if (phm_hash_image(h, &img, PHM_MODE_FULL, 0, &r) != PHM_OK)
        return 0;
    *own = r.hash[0];
    return phm_augment(h, &img, PHM_MODE_FULL, own, codes, n, PHM_AUGMENT_MIN_DISTANCE, v, nv,
                       err, sizeof err) == PHM_OK;
}

/* The nearest of the variants named with prefix `pre` (NULL: those not
 * named so) to q, or 257; its name into *name. */
static int nearest(const phm_entry_variant *v, size_t nv, const char *pre, int with,
                   const phm_pdq *q, const char **name)
{
    int best = 257;
    *name = "none";
    for (size_t i = 0; i < nv; i++) {
        const char *vn = phm_known_variant_name(v[i].code);
        int is = vn && strncmp(vn, pre, strlen(pre)) == 0;
        if (is != with)
            continue;
        int d = phm_pdq_distance(&v[i].pdq, q);
        if (d < best) {
            best = d;
            *name = vn;
        }
    }
    return best;
}

/* The query's trimmed hash of the copy of p, barred as asked; 0 if none. */
static int trimmed(phm_decoder *dec, phm_hasher *h, const uint8_t *p, int vertical, int fill,
                   phm_pdq *q)
{
    size_t len;
    uint8_t *f = barred_ppm(p, vertical, fill, &len);
    phm_pdq_result r;
    phm_image_info info;
    phm_trim_result t;
    int rc = phm_hash_mem_trim(dec, h, f, len, "copy.ppm", PHM_MODE_FULL, 0, &r, &info, &t,
                               err, sizeof err);
    free(f);
    if (rc != PHM_OK || !t.found)
        return 0;
    *q = t.pdq.hash[0];
    return 1;
}

int main(void)
{
    phm_hasher *h;
    phm_decoder *dec;
    if (phm_hasher_new(&h, PHM_SIMD_AUTO) || phm_decoder_new(&dec, NULL))
        return 2;
    static const struct {
        int vertical, fill;
        const char *what;
    } copies[] = {
        { 1, 0, "letterbox black" },
        { 1, 255, "letterbox white" },
        { 0, 0, "pillarbox black" },
        { 0, 255, "pillarbox white" },
    };
    const char *name;

    /* the icon with a margin and a frame */
    uint8_t *p = icon();
    phm_pdq own, q;
    phm_entry_variant v[PHM_INDEX_MAX_VARIANTS];
    size_t nv = 0;
    OK(augment(h, p, &own, v, &nv), "the icon is augmented: %s", err);
    for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++) {
        int got = trimmed(dec, h, p, copies[i].vertical, copies[i].fill, &q);
        OK(got, "icon, %s: trimmed", copies[i].what);
        if (!got)
            continue;
        int d = nearest(v, nv, "trim-", 1, &q, &name);
        int down = phm_pdq_distance(&q, &own);
        OK(d <= 31, "icon, %s: a stored trim variant within 31 (%s at %d)", copies[i].what,
           name, d);
        OK(down > 31, "icon, %s: its own hash is not (%d)", copies[i].what, down);
    }
    /* what the rule adds: the variants made before it reach no copy */
    int reached_before = 0;
    for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++) {
        if (!trimmed(dec, h, p, copies[i].vertical, copies[i].fill, &q))
            continue;
        int best = phm_pdq_distance(&q, &own);
        for (size_t k = 0; k < nv; k++) {
            const char *vn = phm_known_variant_name(v[k].code);
            if (strncmp(vn, "trim-lbox", 9) && strncmp(vn, "trim-pbox", 9)) {
                int d = phm_pdq_distance(&v[k].pdq, &q);
                best = d < best ? d : best;
            }
        }
        reached_before += best <= 31;
    }
    /* black bars: trimming stops at the icon's dark frame, trim-white's
     * box; white bars run on into its margin, and trimming takes the frame
     * with them, a box only trim-lbox-white is */
    IS_INT(reached_before, 2, "the variants of the rules before reach only the black-barred copies");
    free(p);

    /* the drawing on a white canvas: white bars give no border */
    p = drawing();
    OK(augment(h, p, &own, v, &nv), "the drawing is augmented: %s", err);
    for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++) {
        if (copies[i].fill != 255)
            continue;
        int got = trimmed(dec, h, p, copies[i].vertical, copies[i].fill, &q);
        OK(got, "drawing, %s: its content off the canvas is the trimmed box", copies[i].what);
        if (!got)
            continue;
        int d = nearest(v, nv, "trim-white", 1, &q, &name);
        OK(d <= 31, "drawing, %s: within 31 of trim-white (%s at %d)", copies[i].what, name, d);
    }
    free(p);

    /* a picture with no margin, frame or canvas: no trim-lbox variant */
    p = malloc((size_t)SIDE * SIDE * 3);
    for (uint32_t y = 0; y < SIDE; y++)
        for (uint32_t x = 0; x < SIDE; x++)
            set(p, SIDE, x, y, (int)((x * 7 + y * 3 + (x * y) % 23) % 200) + 20);
    OK(augment(h, p, &own, v, &nv), "the full picture is augmented: %s", err);
    int lbox = 0;
    for (size_t i = 0; i < nv; i++) {
        const char *vn = phm_known_variant_name(v[i].code);
        lbox += !strncmp(vn, "trim-lbox", 9) || !strncmp(vn, "trim-pbox", 9);
    }
    IS_INT(lbox, 0, "a picture without a margin stores no trim-lbox/pbox variant");
    free(p);

    phm_decoder_free(dec);
    phm_hasher_free(h);
    return tap_done();
}
