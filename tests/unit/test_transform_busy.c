/* test_transform_busy.c - the stored variants for busy images (down50,
 * jpeg30, mirror, rot90; issue 15): each against a reference made here
 * (2 x 2 block means, a JPEG written and read back with libjpeg's own
 * API, pixels moved one by one), the rule that keeps mirror and rot90
 * only where the image's hash moves under them (PDQ's orientation
 * names: the "flipy" hash is that of the image flipped left to right,
 * "rot270" of it turned clockwise), and the crop variants made as views
 * (the hash of a copied crop). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "phmatch.h"
#include "tap.h"

static char err[PHM_ERRMSG_MAX];

/* A w x h RGB picture: smooth shapes, or, busy, fine stripes a pixel
 * or two wide over them (what a resampling aliases). */
static uint8_t *picture(uint32_t w, uint32_t h, int busy)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    if (!p)
        exit(2);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            double u = (double)x / w, v = (double)y / h;
            double a = 128 + 90 * sin(9.0 * u + 4.0 * v) * cos(7.0 * v - 1.0);
            double b = (u - 0.7) * (u - 0.7) + (v - 0.4) * (v - 0.4) < 0.05 ? 120 : 0;
            b += (u - 0.2) * (u - 0.2) + (v - 0.7) * (v - 0.7) < 0.02 ? -100 : 0;
            if (busy)
                a += ((x * 3 + y) / 2 % 2 ? 40 : -40) + ((x + 2 * y) % 3 == 0 ? 25 : 0);
            uint8_t *o = p + ((size_t)y * w + x) * 3;
            o[0] = (uint8_t)lround(fmax(0, fmin(255, a + b)));
            o[1] = (uint8_t)lround(fmax(0, fmin(255, 0.7 * a)));
            o[2] = (uint8_t)lround(fmax(0, fmin(255, 255 - a + b)));
        }
    return p;
}

/* The PDQ result of a w x ht RGB buffer (stride w x 3), with the 8
 * orientations. */
static phm_pdq_result hash8(phm_hasher *h, const uint8_t *pix, uint32_t w, uint32_t ht)
{
    phm_pdq_result r;
    const phm_image im = { pix, w, ht, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    if (phm_hash_image(h, &im, PHM_MODE_FULL, 1, &r) != PHM_OK)
        exit(2);
    return r;
}

/* The variant `code` of img at min_distance md into *v; 1 if kept. */
static int variant(phm_hasher *h, const phm_image *img, const phm_pdq *own, int code, int md,
                   phm_pdq *v)
{
    phm_entry_variant out[1];
    size_t n = 0;
    if (phm_augment(h, img, PHM_MODE_FULL, own, &code, 1, md, out, &n, err, sizeof err) !=
        PHM_OK) {
        printf("# phm_augment: %s\n", err);
        return 0;
    }
    if (n == 1)
        *v = out[0].pdq;
    return n == 1 && out[0].code == code;
}

/* p written as a baseline JPEG of quality q (libjpeg's defaults: 4:2:0,
 * the slow integer DCT) and read back (fancy upsampling), into a new
 * buffer. */
static uint8_t *jpeg_round_trip(const uint8_t *p, uint32_t w, uint32_t h, int q)
{
    struct jpeg_compress_struct c;
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e1, e2;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&e1);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = w;
    c.image_height = h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, q, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < h) {
        JSAMPROW row = (JSAMPROW)(p + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    uint8_t *out = malloc((size_t)w * h * 3);
    if (!out)
        exit(2);
    d.err = jpeg_std_error(&e2);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, mem, len);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    while (d.output_scanline < h) {
        JSAMPROW row = out + (size_t)d.output_scanline * w * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    free(mem);
    return out;
}

/* The w x h RGB p flipped left to right (rot 0) or turned 90 degrees
 * clockwise (rot 1) into out, pixel by pixel: a pixel (x, y) of the
 * flipped image is p's (w-1-x, y); of the turned one (h wide), p's
 * (y, h-1-x). */
static void turn(const uint8_t *p, uint32_t w, uint32_t h, int rot, uint8_t *out)
{
    uint32_t ow = rot ? h : w, oh = rot ? w : h;
    for (uint32_t y = 0; y < oh; y++)
        for (uint32_t x = 0; x < ow; x++) {
            uint32_t sx = rot ? y : w - 1 - x, sy = rot ? h - 1 - x : y;
            memcpy(out + ((size_t)y * ow + x) * 3, p + ((size_t)sy * w + sx) * 3, 3);
        }
}

/* wt-tpr (docs/ROBUST.md, "Busy images at a quarter"): the default set
 * stores the whole image's soft hash of a busy picture, and a copy
 * shrunk to a quarter a side by area averaging (as the benchmark's
 * resize25) reaches it with its own soft hash: the shrink averaged away
 * the stripes, the soft hash blurs them away. (On the dev set's textures
 * the copy's plain hash was 36-64 bits from every plain slot; on this
 * picture its smooth shapes keep it nearer, so only the soft slot is
 * checked.) */
static void quarter_soft(phm_hasher *h)
{
    const uint32_t w = 800, ht = 600, qw = w / 4, qh = ht / 4;
    uint8_t *busy = picture(w, ht, 0), *q = malloc((size_t)qw * qh * 3);
    if (!q)
        exit(2);
    /* stripes of 5.3 pixels at an angle over the shapes: coarse enough
     * that PDQ's 64 x 64 scaling aliases them, fine enough that a quarter
     * shrink averages them out (the dev set's busy textures) */
    for (uint32_t y = 0; y < ht; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < 3; c++) {
                uint8_t *o = busy + ((size_t)y * w + x) * 3 + c;
                double t = 80 * sin(2 * M_PI * (x * 0.94 + y * 0.34) / 5.3);
                *o = (uint8_t)lround(fmax(0, fmin(255, *o + t)));
            }
    for (uint32_t y = 0; y < qh; y++)
        for (uint32_t x = 0; x < qw; x++)
            for (uint32_t c = 0; c < 3; c++) {
                unsigned sum = 0;
                for (uint32_t j = 0; j < 4; j++)
                    for (uint32_t i = 0; i < 4; i++)
                        sum += busy[((size_t)(4 * y + j) * w + 4 * x + i) * 3 + c];
                q[((size_t)y * qw + x) * 3 + c] = (uint8_t)((sum + 8) / 16);
            }
    const phm_image img = { busy, w, ht, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    const phm_image small = { q, qw, qh, 3, (size_t)qw * 3, PHM_FORMAT_PNG };
    phm_pdq_result own = hash8(h, busy, w, ht), plain = hash8(h, q, qw, qh), soft;
    if (phm_hash_soft(h, &small, PHM_MODE_FULL, 0, &soft) != PHM_OK)
        exit(2);
    int codes[PHM_INDEX_MAX_VARIANTS];
    size_t nd = phm_augment_default(codes, PHM_INDEX_MAX_VARIANTS), n = 0;
    phm_entry_variant out[PHM_INDEX_MAX_VARIANTS];
    if (phm_augment(h, &img, PHM_MODE_FULL, &own.hash[0], codes, nd, 10, out, &n, err,
                    sizeof err) != PHM_OK)
        exit(2);
    int near_plain = phm_pdq_distance(&plain.hash[0], &own.hash[0]), near_soft = -1;
    for (size_t i = 0; i < n; i++) {
        int dd = phm_pdq_distance(&plain.hash[0], &out[i].pdq);
        if (out[i].code == PHM_KV_ED_SOFT)
            near_soft = phm_pdq_distance(&soft.hash[0], &out[i].pdq);
        else if (!phm_soft_kind(out[i].code) && dd < near_plain)
            near_plain = dd;
    }
    OK(near_soft >= 0 && near_soft <= PHM_PDQ_MATCH_DISTANCE,
       "quarter copy: its soft hash within %d of the stored 'soft' (%d; plain %d from the "
       "nearest plain slot)", PHM_PDQ_MATCH_DISTANCE, near_soft, near_plain);
    free(q);
    free(busy);
}

int main(void)
{
    /* The busy picture even (down50 is exact 2 x 2 blocks) and of a size
     * that PDQ's box filter reads with an even window (W / 128 rounded
     * up: 2), so that it samples it flipped differently (as at 1024
     * pixels: 8); the calm one square with an odd window (3): flipped or
     * turned, PDQ samples it alike. */
    const uint32_t w = 254, ht = 190, cs = 330;
    phm_hasher *h;
    if (phm_hasher_new(&h, PHM_SIMD_AUTO))
        return 2;
    uint8_t *busy = picture(w, ht, 1), *calm = picture(cs, cs, 0);
    uint8_t *ref = malloc((size_t)cs * cs * 3); /* the larger */
    if (!ref)
        return 2;
    phm_image img = { busy, w, ht, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    phm_pdq_result own = hash8(h, busy, w, ht), r;
    phm_pdq v;

    /* down50: every pixel the rounded mean of a 2 x 2 block */
    for (uint32_t y = 0; y < ht / 2; y++)
        for (uint32_t x = 0; x < w / 2; x++)
            for (int c = 0; c < 3; c++) {
                unsigned s = 0;
                for (uint32_t k = 0; k < 4; k++)
                    s += busy[((size_t)(2 * y + k / 2) * w + 2 * x + k % 2) * 3 + (size_t)c];
                ref[((size_t)y * (w / 2) + x) * 3 + (size_t)c] = (uint8_t)((s + 2) / 4);
            }
    r = hash8(h, ref, w / 2, ht / 2);
    OK(variant(h, &img, &own.hash[0], PHM_KV_BUSY_DOWN50, 0, &v) &&
           phm_pdq_distance(&v, &r.hash[0]) == 0,
       "down50: the hash of the 2 x 2 block means");

    /* jpeg30: libjpeg's API at quality 30 */
    uint8_t *j = jpeg_round_trip(busy, w, ht, 30);
    r = hash8(h, j, w, ht);
    int kept = variant(h, &img, &own.hash[0], PHM_KV_BUSY_JPEG30, 0, &v);
    OK(kept && phm_pdq_distance(&v, &r.hash[0]) == 0,
       "jpeg30: the hash of a quality 30 JPEG written with libjpeg (%d bits apart; %d from "
       "the own hash)", kept ? phm_pdq_distance(&v, &r.hash[0]) : -1,
       kept ? phm_pdq_distance(&v, &own.hash[0]) : -1);
    free(j);

    /* mirror and rot90: the pixels moved; and what PDQ's orientations
     * call them */
    for (int rot = 0; rot <= 1; rot++) {
        const char *name = rot ? "rot90" : "mirror";
        turn(busy, w, ht, rot, ref);
        r = hash8(h, ref, rot ? ht : w, rot ? w : ht);
        int code = rot ? PHM_KV_BUSY_ROT90 : PHM_KV_BUSY_MIRROR;
        OK(variant(h, &img, &own.hash[0], code, 0, &v) && phm_pdq_distance(&v, &r.hash[0]) == 0,
           "%s: the hash of the pixels moved", name);
        IS_STR(phm_known_variant_name(code), name, "named %s", name);
        IS_INT(phm_known_variant_code(name), code, "%s maps back", name);
        /* on the calm picture the own hash's orientation is the variant */
        phm_pdq_result co = hash8(h, calm, cs, cs);
        turn(calm, cs, cs, rot, ref);
        r = hash8(h, ref, cs, cs);
        int o = rot ? PHM_DIH_ROT270 : PHM_DIH_FLIPY, other = rot ? PHM_DIH_ROT90 : PHM_DIH_FLIPX;
        int near = phm_pdq_distance(&r.hash[0], &co.hash[o]);
        int far = phm_pdq_distance(&r.hash[0], &co.hash[other]);
        OK(near <= PHM_AUGMENT_MIN_DISTANCE && far > 64,
           "%s of a calm picture: PDQ's %s hash (%d bits; %s %d)", name, phm_dihedral_name(o),
           near, phm_dihedral_name(other), far);
        phm_image ci = { calm, cs, cs, 3, (size_t)cs * 3, PHM_FORMAT_PNG };
        OK(!variant(h, &ci, &co.hash[0], code, PHM_AUGMENT_MIN_DISTANCE, &v),
           "%s of a calm picture: not stored", name);
        /* the busy picture's moves: stored */
        kept = variant(h, &img, &own.hash[0], code, PHM_AUGMENT_MIN_DISTANCE, &v);
        OK(kept, "%s of the busy picture: stored (%d bits from its %s hash)", name,
           kept ? phm_pdq_distance(&v, &own.hash[o]) : -1, phm_dihedral_name(o));
    }

    /* crops are views of the image: the hash of the crop copied out */
    const uint32_t dx5 = (uint32_t)lround(w * 0.05), dy5 = (uint32_t)lround(ht * 0.05);
    const uint32_t dx15 = (uint32_t)lround(w * 0.15), dy15 = (uint32_t)lround(ht * 0.15);
    const struct {
        int code;
        uint32_t x, y, cw, ch;
    } crops[] = {
        { PHM_KV_CROP5_BR, dx5, dy5, w - dx5, ht - dy5 },
        { PHM_KV_CROP15_C, dx15 / 2, dy15 / 2, w - dx15, ht - dy15 },
        { PHM_KV_ED_CUT_BOTTOM, 0, 0, w, ht - ht / 3 },
        { PHM_KV_ED_CUT_TOP, 0, ht / 3, w, ht - ht / 3 },
    };
    for (size_t i = 0; i < sizeof crops / sizeof crops[0]; i++) {
        phm_image c;
        if (phm_image_crop(&img, crops[i].x, crops[i].y, crops[i].cw, crops[i].ch, ref,
                           (size_t)w * ht * 3, &c) != PHM_OK)
            return 2;
        r = hash8(h, ref, crops[i].cw, crops[i].ch);
        OK(variant(h, &img, &own.hash[0], crops[i].code, 0, &v) &&
               phm_pdq_distance(&v, &r.hash[0]) == 0,
           "%s: the hash of the crop copied out", phm_known_variant_name(crops[i].code));
    }

    /* In the default set, which still fits an entry. */
    int d[PHM_INDEX_MAX_VARIANTS], in = 0;
    size_t nd = phm_augment_default(d, PHM_INDEX_MAX_VARIANTS);
    for (size_t i = 0; i < nd && i < PHM_INDEX_MAX_VARIANTS; i++)
        in += d[i] == PHM_KV_BUSY_DOWN50 || d[i] == PHM_KV_BUSY_JPEG30 ||
              d[i] == PHM_KV_BUSY_MIRROR || d[i] == PHM_KV_BUSY_ROT90;
    OK(in == 4 && nd <= PHM_INDEX_MAX_VARIANTS, "all four in the default set of %zu", nd);

    /* A tiny image: no variant, no failure. */
    phm_image tiny = { busy, 6, 4, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    int codes[] = { PHM_KV_BUSY_DOWN50, PHM_KV_BUSY_JPEG30, PHM_KV_BUSY_MIRROR,
                    PHM_KV_BUSY_ROT90 };
    phm_entry_variant out[4];
    size_t n = 9;
    IS_INT(phm_augment(h, &tiny, PHM_MODE_FULL, &own.hash[0], codes, 4, 0, out, &n, err,
                       sizeof err),
           PHM_OK, "6 x 4 image: no error");
    IS_INT((int)n, 0, "6 x 4 image: no variant (too small to hash)");

    quarter_soft(h);

    phm_hasher_free(h);
    free(ref);
    free(busy);
    free(calm);
    return tap_done();
}
