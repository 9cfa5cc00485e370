/* test_transform_lbox.c - the letterbox and pillarbox stored variants
 * (letterbox10, pillarbox10, letterbox20, pillarbox20, letterbox10-blur,
 * pillarbox10-blur; issue 15): each against a reference made here (black
 * or the blurred image, the content squeezed into its middle by linear
 * interpolation written out per pixel), and
 * against letterboxed copies made here as users' tools make them (bars of
 * other sizes, black, white or a blurred stretched fill, at another
 * resolution): the variant is near them where the own hash is not. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"

static char err[PHM_ERRMSG_MAX];

/* A w x h RGB picture: soft shapes (a photo's low frequencies, which PDQ
 * keeps) and some texture. */
static uint8_t *picture(uint32_t w, uint32_t h)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            double u = (double)x / w, v = (double)y / h;
            double a = 128 + 90 * sin(6.0 * u + 2.0 * v) * cos(5.0 * v - 1.0);
            double b = (u - 0.3) * (u - 0.3) + (v - 0.6) * (v - 0.6) < 0.04 ? 200 : 60;
            double t = ((x / 7 + y / 5) % 2) * 12.0;
            uint8_t *o = p + ((size_t)y * w + x) * 3;
            o[0] = (uint8_t)lround(fmin(255, a + t));
            o[1] = (uint8_t)lround(fmin(255, 0.5 * a + b * 0.5));
            o[2] = (uint8_t)lround(fmin(255, b + t));
        }
    return p;
}

/* The PDQ hash of a w x ht RGB buffer into *q; 0 if it has none. */
static int hash_of(phm_hasher *h, const uint8_t *pix, uint32_t w, uint32_t ht, phm_pdq *q)
{
    phm_pdq_result r;
    const phm_image im = { pix, w, ht, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    int ok = phm_hash_image(h, &im, PHM_MODE_FULL, 0, &r) == PHM_OK;
    if (ok)
        *q = r.hash[0];
    return ok;
}

/* All n variants `codes` of img, none dropped (min_distance 0), in order,
 * into v; 0 if phm_augment fails or leaves one out. */
static int all_variants(phm_hasher *h, const phm_image *img, const phm_pdq *own,
                        const int *codes, size_t n, phm_pdq *v)
{
    phm_entry_variant out[PHM_INDEX_MAX_VARIANTS];
    size_t got = 0;
    if (phm_augment(h, img, PHM_MODE_FULL, own, codes, n, 0, out, &got, err, sizeof err))
        return 0;
    for (size_t i = 0; i < got; i++)
        v[i] = out[i].pdq;
    for (size_t i = 0; i < got; i++)
        if (out[i].code != codes[i])
            return 0;
    return got == n;
}

/* The reference of a variant: black, or, blur, the whole image blurred
 * (phm_image_blur, checked against a true Gaussian by
 * test_index_variants; sigma 2.5 % of the longer side), then the
 * content, squeezed along one axis to n * 100 / (100 + pct) lines by
 * linear interpolation between the two nearest source lines (centres
 * aligned), written over its middle. */
static void reference(const uint8_t *p, uint32_t w, uint32_t ht, int vertical, double pct,
                      int blur, uint8_t *ref)
{
    phm_image img = { p, w, ht, 3, (size_t)w * 3, PHM_FORMAT_PNG }, o;
    size_t n = (size_t)w * ht * 3;
    if (!blur)
        memset(ref, 0, n);
    else if (phm_image_blur(&img, 0.025 * (w > ht ? w : ht), ref, n, &o) != PHM_OK)
        exit(2);
    uint32_t len = vertical ? ht : w;
    uint32_t keep = (uint32_t)lround(len * 100.0 / (100.0 + pct)), off = (len - keep) / 2;
    for (uint32_t k = off; k < off + keep; k++) {
        double s = fmin(fmax((k - off + 0.5) * len / keep - 0.5, 0), len - 1);
        uint32_t a = (uint32_t)floor(s), b = a + 1 < len ? a + 1 : a;
        double f = s - a;
        for (uint32_t i = 0; i < (vertical ? w : ht); i++)
            for (int c = 0; c < 3; c++) {
                size_t at = vertical ? ((size_t)a * w + i) * 3 : ((size_t)i * w + a) * 3;
                size_t bt = vertical ? ((size_t)b * w + i) * 3 : ((size_t)i * w + b) * 3;
                size_t to = vertical ? ((size_t)k * w + i) * 3 : ((size_t)i * w + k) * 3;
                ref[to + (size_t)c] = (uint8_t)lround((1 - f) * p[at + (size_t)c] + f * p[bt + (size_t)c]);
            }
    }
}

/* A letterboxed (vertical) or pillarboxed copy of p as a user's tool
 * makes it: p scaled by `scale` (nearest neighbour), bars adding pct %
 * of that, filled with `fill` (0..255), or, fill -1, with the scaled
 * image stretched over the canvas and blurred by 4 % of its longer side.
 * Into *out (malloc'd); its size in *cw, *ch. */
static uint8_t *copy_with_bars(const uint8_t *p, uint32_t w, uint32_t ht, double scale,
                               int vertical, double pct, int fill, uint32_t *cw, uint32_t *chh)
{
    uint32_t sw = (uint32_t)lround(w * scale), sh = (uint32_t)lround(ht * scale);
    uint32_t add = (uint32_t)lround((vertical ? sh : sw) * pct / 100.0);
    uint32_t W = sw + (vertical ? 0 : add), H = sh + (vertical ? add : 0);
    uint8_t *c = malloc((size_t)W * H * 3);
    if (!c)
        exit(2);
    if (fill >= 0) {
        memset(c, fill, (size_t)W * H * 3);
    } else {
        uint8_t *st = malloc((size_t)W * H * 3);
        for (uint32_t y = 0; y < H; y++)
            for (uint32_t x = 0; x < W; x++)
                memcpy(st + ((size_t)y * W + x) * 3,
                       p + ((size_t)(y * ht / H) * w + x * w / W) * 3, 3);
        phm_image s = { st, W, H, 3, (size_t)W * 3, PHM_FORMAT_PNG }, o;
        if (phm_image_blur(&s, 0.04 * (W > H ? W : H), c, (size_t)W * H * 3, &o) != PHM_OK)
            exit(2);
        free(st);
    }
    uint32_t x0 = vertical ? 0 : add / 2, y0 = vertical ? add / 2 : 0;
    for (uint32_t y = 0; y < sh; y++)
        for (uint32_t x = 0; x < sw; x++)
            memcpy(c + ((size_t)(y + y0) * W + x + x0) * 3,
                   p + ((size_t)(y * ht / sh) * w + x * w / sw) * 3, 3);
    *cw = W;
    *chh = H;
    return c;
}

#define NKV 6 /* the variants, letterboxes first */

int main(void)
{
    const uint32_t w = 240, ht = 180;
    phm_hasher *h;
    if (phm_hasher_new(&h, PHM_SIMD_AUTO))
        return 2;
    uint8_t *p = picture(w, ht), *ref = malloc((size_t)w * ht * 3);
    phm_image img = { p, w, ht, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    phm_pdq own, v[NKV], r;
    if (!hash_of(h, p, w, ht, &own))
        return 2;
    static const struct {
        int code, vertical;
        double pct;
        int blur;
        const char *name;
    } kv[NKV] = {
        { PHM_KV_LB_10, 1, 10, 0, "letterbox10" },
        { PHM_KV_LB_20, 1, 20, 0, "letterbox20" },
        { PHM_KV_LB_BLUR10, 1, 10, 1, "letterbox10-blur" },
        { PHM_KV_PB_10, 0, 10, 0, "pillarbox10" },
        { PHM_KV_PB_20, 0, 20, 0, "pillarbox20" },
        { PHM_KV_PB_BLUR10, 0, 10, 1, "pillarbox10-blur" },
    };
    int codes[NKV];
    for (int i = 0; i < NKV; i++)
        codes[i] = kv[i].code;
    OK(all_variants(h, &img, &own, codes, NKV, v), "phm_augment makes all six");
    for (int i = 0; i < NKV; i++) {
        reference(p, w, ht, kv[i].vertical, kv[i].pct, kv[i].blur, ref);
        int got = hash_of(h, ref, w, ht, &r);
        OK(got && memcmp(&v[i], &r, sizeof r) == 0, "%s: the hash of the reference",
           kv[i].name);
        IS_STR(phm_known_variant_name(kv[i].code), kv[i].name, "named %s", kv[i].name);
        IS_INT(phm_known_variant_code(kv[i].name), kv[i].code, "%s maps back", kv[i].name);
        OK(phm_pdq_distance(&v[i], &own) > PHM_AUGMENT_MIN_DISTANCE,
           "%s differs from the own hash (%d bits)", kv[i].name, phm_pdq_distance(&v[i], &own));
    }

    /* Copies of the photos of data/ with bars of 6 to 25 % (the
     * benchmark's are 10 %), black, white or a blurred fill (blurred more
     * than the variant's), made here: the nearest variant of the bars'
     * direction within 31 for nearly all, where the own hash is farther
     * (the edit they exist for). The 256-pixel labelme photos are left
     * out: any resampling moves their hashes by 40 bits or more. */
    static const char *const photos[] = {
        "data/known/bridge.jpg", "data/known/misc-c.jpg", "data/known/pen-and-coaster.jpg",
        "data/known/phone.jpg",  "data/photos/bridge.jpg",
    };
    static const double pcts[] = { 6, 10, 16, 25 };
    static const int fills[] = { -1, 0, 255 };
    phm_decoder *dec;
    if (phm_decoder_new(&dec, NULL))
        return 2;
    int found[3] = { 0, 0, 0 }, plain[3] = { 0, 0, 0 }, copies = 0, same = 0;
    phm_pdq black = { { 0 } };
    for (size_t i = 0; i < sizeof photos / sizeof photos[0]; i++) {
        phm_image ph;
        phm_pdq pown, pv[NKV];
        int ok = phm_decode_file(dec, photos[i], &ph, err, sizeof err) >= 0 && ph.channels == 3 &&
                 ph.stride == (size_t)ph.width * 3;
        uint8_t *pix = ok ? malloc((size_t)ph.width * ph.height * 3) : NULL;
        if (pix) {
            memcpy(pix, ph.pixels, (size_t)ph.width * ph.height * 3);
            ph.pixels = pix;
        }
        ok = ok && hash_of(h, pix, ph.width, ph.height, &pown) &&
             all_variants(h, &ph, &pown, codes, NKV, pv);
        OK(ok, "%s: its variants", photos[i]);
        if (!ok)
            continue;
        for (int vert = 1; vert >= 0; vert--)
            for (size_t k = 0; k < sizeof pcts / sizeof pcts[0]; k++)
                for (size_t f = 0; f < 3; f++) {
                    uint32_t cw, chh;
                    uint8_t *c = copy_with_bars(pix, ph.width, ph.height, 1.0, vert, pcts[k],
                                                fills[f], &cw, &chh);
                    phm_pdq q;
                    if (!hash_of(h, c, cw, chh, &q))
                        return 2;
                    if (fills[f] == 0)
                        black = q;
                    else if (fills[f] == 255)
                        same += phm_pdq_distance(&q, &black) == 0;
                    int a = phm_pdq_distance(&q, &pv[vert ? 0 : 3]);
                    int b = phm_pdq_distance(&q, &pv[vert ? 1 : 4]);
                    int bl = phm_pdq_distance(&q, &pv[vert ? 2 : 5]);
                    int best = a < b ? a : b;
                    found[f] += (best < bl ? best : bl) <= 31;
                    plain[f] += phm_pdq_distance(&q, &pown) <= 31;
                    copies += f == 0;
                    if (getenv("LBOX_VERBOSE"))
                        printf("# %s %s %g %d: 10: %d, 20: %d, blur %d, own %d\n", photos[i],
                             vert ? "lbox" : "pbox", pcts[k], fills[f], a, b, bl,
                             phm_pdq_distance(&q, &pown));
                    free(c);
                }
        free(pix);
    }
    /* Plain bars: all sizes reached (10 and 20 % stored); blurred fills
     * differ more from the stored blur (only at 10 %): at 25 % some are
     * reached only through the plain letterbox20 (docs/ROBUST.md). */
    for (size_t f = 0; f < 3; f++) {
        const char *what = fills[f] < 0 ? "blurred fill" : fills[f] ? "white bars" : "black bars";
        int want = fills[f] < 0 ? 85 : 95;
        OK(copies && found[f] * 100 >= copies * want && plain[f] * 10 <= copies,
           "%s, 6-25 %%: %d of %d copies within 31 of a variant (at least %d %%; the own "
           "hash: %d)", what, found[f], copies, want, plain[f]);
    }
    OK(copies && same == copies, "PDQ ignores the bars' colour: %d of %d copies with white bars "
       "hash as with black", same, copies);
    phm_decoder_free(dec);

    /* In the default set, which still fits an entry. */
    int d[PHM_INDEX_MAX_VARIANTS], in = 0;
    size_t nd = phm_augment_default(d, PHM_INDEX_MAX_VARIANTS);
    for (size_t i = 0; i < nd && i < PHM_INDEX_MAX_VARIANTS; i++)
        for (int j = 0; j < NKV; j++)
            in += d[i] == kv[j].code;
    OK(in == NKV && nd <= PHM_INDEX_MAX_VARIANTS, "all six in the default set of %zu", nd);

    /* A tiny image: too small for a bar, no failure. */
    phm_image tiny = { p, 3, 2, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    phm_entry_variant out[4];
    size_t n = 9;
    IS_INT(phm_augment(h, &tiny, PHM_MODE_FULL, &own, codes, 1, 0, out, &n, err, sizeof err),
           PHM_OK, "3 x 2 image: no error");
    IS_INT((int)n, 0, "3 x 2 image: no variant (too small to hash)");

    phm_hasher_free(h);
    free(ref);
    free(p);
    return tap_done();
}
