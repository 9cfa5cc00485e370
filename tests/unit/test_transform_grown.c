/* test_transform_grown.c - drawings on a plain canvas turned on a canvas
 * grown to hold them (issue 15, session 26; docs/ROBUST.md, "Turned
 * drawings on white").
 *
 * A drawing whose own edge is plain white (black), turned by ImageMagick's
 * -rotate or an editor's "resize canvas" turn, lies on a bigger canvas of
 * that same colour: no corners show, so a query cannot be turned back,
 * and only a stored turn on such a canvas reaches it. Generated pictures
 * only: a drawing defined as shapes (a dark wedge, a grey disc, strokes),
 * rendered upright for the known image and rendered turned, 4 x 4 samples
 * a pixel, on a canvas grown to hold the turn for the copies: a rendering
 * of the turn that owes nothing to transform.c's bilinear one. Checked:
 *   - the drawing on white stores rot+5-grown, rot-5-grown, rot+3-grown
 *     and rot-3-grown (default set), and each copy turned 5 or 3 degrees
 *     that way on a white canvas is within 31 bits of its variant, and
 *     at 5 degrees more than 31 from the own hash and from every stored
 *     variant but the grown turns (what they add);
 *   - the same drawing on black, turned on black: the same, through the
 *     variants turned on black;
 *   - a grey (one channel) drawing stores them too;
 *   - so does the drawing cut to its shapes' box, touching every side
 *     with no margin (most clip art as drawn), its ground still white;
 *   - and the drawing at 1,200 x 900, whose turns are made from a copy
 *     shrunk to 1,024 pixels (GROWN_MAX_SIDE), against copies turned at
 *     full size;
 *   - a picture whose sides are no plain colour (a texture) stores none:
 *     its turned copy shows corners, which phm__corners_find_grown finds;
 *   - the sizes: a grown variant is not its picture's size (it is not the
 *     same-canvas rot+5). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"

static char err[PHM_ERRMSG_MAX];

#define W 240u
#define H 180u

/* The drawing's grey level at (x, y) in its own W x H frame (continuous
 * coordinates), `ground` outside its shapes: a wedge, a disc, three
 * strokes and a bar, 20 pixels of ground around them. */
static double shape(double x, double y, double ground)
{
    if (x < 20 || y < 20 || x > W - 20 || y > H - 20)
        return ground;
    if (x > 30 && x < 30 + (y - 20) * 0.7 && y < 150)
        return 60;
    double dx = x - 160, dy = y - 70;
    if (dx * dx + dy * dy < 30 * 30)
        return dx * dx + dy * dy < 12 * 12 ? 200 - (ground > 128 ? 120 : 0) : 140;
    for (int k = 0; k < 3; k++)
        if (fabs(y - (120 + 14 * k)) < 2.5 && x > 110 && x < 210 - 20 * k)
            return 90;
    if (x > 60 && x < 100 && y > 40 && y < 52)
        return 110;
    return ground;
}

/* The drawing cut to its shapes' box (x 30..210, y 20..152): they touch
 * every side, the ground still white between. */
static double tight(double x, double y, double ground)
{
    return shape(30 + x * 180.0 / W, 20 + y * 132.0 / H, ground);
}

/* A texture to every side: no plain edge. */
static double texture(double x, double y, double ground)
{
    (void)ground;
    return 128 + 60 * sin(x * 0.07) * cos(y * 0.05) + 40 * sin((x + 2 * y) * 0.02);
}

typedef double (*picture_fn)(double, double, double);

/* The picture rendered `scale` times its W x H frame, turned by `deg`
 * (clockwise on screen) about its centre on a canvas grown to hold it
 * (deg 0: upright), 4 x 4 samples a pixel (2 x 2 when scaled up),
 * `ground` outside it, as ch-channel pixels (malloc'd); its size into
 * *w, *h. */
static uint8_t *render(picture_fn f, double scale, double deg, double ground, uint32_t ch,
                       uint32_t *w, uint32_t *h)
{
    double t = deg * M_PI / 180.0, c = cos(t), s = sin(t);
    *w = (uint32_t)lround(scale * (W * fabs(c) + H * fabs(s)));
    *h = (uint32_t)lround(scale * (W * fabs(s) + H * fabs(c)));
    const int k = scale > 1 ? 2 : 4;
    uint8_t *p = malloc((size_t)*w * *h * ch);
    for (uint32_t y = 0; y < *h; y++)
        for (uint32_t x = 0; x < *w; x++) {
            double sum = 0;
            for (int j = 0; j < k; j++)
                for (int i = 0; i < k; i++) {
                    double dx = (x + (i + 0.5) / k - *w / 2.0) / scale,
                           dy = (y + (j + 0.5) / k - *h / 2.0) / scale;
                    /* the source of a clockwise turn: the inverse rotation */
                    double sx = c * dx + s * dy + W / 2.0, sy = -s * dx + c * dy + H / 2.0;
                    int in = sx >= 0 && sy >= 0 && sx < W && sy < H;
                    sum += in ? f(sx, sy, ground) : ground;
                }
            for (uint32_t m = 0; m < ch; m++)
                p[((size_t)y * *w + x) * ch + m] = (uint8_t)lround(sum / (k * k));
        }
    return p;
}

static int hash_of(phm_hasher *h, const uint8_t *p, uint32_t w, uint32_t hh, uint32_t ch,
                   phm_pdq *out)
{
    phm_image img = { p, w, hh, ch, (size_t)w * ch, PHM_FORMAT_PNG };
    phm_pdq_result r;
    if (phm_hash_image(h, &img, PHM_MODE_FULL, 0, &r) != PHM_OK)
        return 0;
    *out = r.hash[0];
    return 1;
}

/* The default set's variants of the upright picture into v (*nv), the own
 * hash into *own. */
static int augment(phm_hasher *h, picture_fn f, double scale, double ground, uint32_t ch,
                   phm_pdq *own, phm_entry_variant *v, size_t *nv)
{
    uint32_t w, hh;
    uint8_t *p = render(f, scale, 0, ground, ch, &w, &hh);
    int codes[PHM_INDEX_MAX_VARIANTS];
    size_t n = phm_augment_default(codes, PHM_INDEX_MAX_VARIANTS);
    phm_image img = { p, w, hh, ch, (size_t)w * ch, PHM_FORMAT_PNG };
    int ok = hash_of(h, p, w, hh, ch, own) &&
             phm_augment(h, &img, PHM_MODE_FULL, own, codes, n, PHM_AUGMENT_MIN_DISTANCE, v,
                         nv, err, sizeof err) == PHM_OK;
    free(p);
    return ok;
}

static int find(const phm_entry_variant *v, size_t nv, int code)
{
    for (size_t i = 0; i < nv; i++)
        if (v[i].code == code)
            return (int)i;
    return -1;
}

static int grown_code(int code)
{
    return code >= PHM_KV_ROT_P5_GROWN && code <= PHM_KV_ROT_M3_GROWN;
}

/* The nearest of v but the grown turns, and the own hash, to q. */
static int nearest_other(const phm_entry_variant *v, size_t nv, const phm_pdq *own,
                         const phm_pdq *q)
{
    int best = phm_pdq_distance(own, q);
    for (size_t i = 0; i < nv; i++)
        if (!grown_code(v[i].code)) {
            int d = phm_pdq_distance(&v[i].pdq, q);
            best = d < best ? d : best;
        }
    return best;
}

/* The drawing on `ground` (ch channels): both grown variants stored, each
 * turned copy near its own and near nothing else stored. */
static void turned_copies(phm_hasher *h, picture_fn f, double scale, double ground,
                          uint32_t ch, const char *what)
{
    phm_pdq own;
    phm_entry_variant v[PHM_INDEX_MAX_VARIANTS];
    size_t nv = 0;
    OK(augment(h, f, scale, ground, ch, &own, v, &nv), "%s: augmented: %s", what, err);
    /* alone: no other slot reaches the copy (at 3 degrees a crop or the
     * own hash may: the turn moves the hash less) */
    static const struct {
        double deg;
        int code, alone;
    } turns[] = { { 5, PHM_KV_ROT_P5_GROWN, 1 },
                  { -5, PHM_KV_ROT_M5_GROWN, 1 },
                  { 3, PHM_KV_ROT_P3_GROWN, 0 },
                  { -3, PHM_KV_ROT_M3_GROWN, 0 } };
    for (size_t k = 0; k < sizeof turns / sizeof turns[0]; k++) {
        int at = find(v, nv, turns[k].code);
        OK(at >= 0, "%s: %s stored", what, phm_known_variant_name(turns[k].code));
        uint32_t w, hh;
        uint8_t *p = render(f, scale, turns[k].deg, ground, ch, &w, &hh);
        phm_pdq q;
        OK(hash_of(h, p, w, hh, ch, &q), "%s: the copy turned %+.0f is hashed", what,
           turns[k].deg);
        free(p);
        if (at < 0)
            continue;
        int d = phm_pdq_distance(&v[at].pdq, &q), other = nearest_other(v, nv, &own, &q);
        OK(d <= 31, "%s: the copy turned %+.0f on a grown canvas is within 31 of %s (%d)", what,
           turns[k].deg, phm_known_variant_name(turns[k].code), d);
        if (turns[k].alone)
            OK(other > 31, "%s: ... and nothing stored but the grown turns is (nearest %d)",
               what, other);
    }
}

int main(void)
{
    phm_hasher *h;
    if (phm_hasher_new(&h, PHM_SIMD_AUTO))
        return 2;

    turned_copies(h, shape, 1, 255, 3, "drawing on white");
    turned_copies(h, shape, 1, 0, 3, "drawing on black");
    turned_copies(h, shape, 1, 255, 1, "grey drawing on white");
    turned_copies(h, tight, 1, 255, 3, "drawing with no margin");
    /* 1,200 x 900: its turns are made from a copy shrunk to 1,024, and
     * still meet the copies turned at full size */
    turned_copies(h, shape, 5, 255, 3, "drawing of 1,200 pixels");

    /* no plain edge: no grown variant */
    phm_pdq own;
    phm_entry_variant v[PHM_INDEX_MAX_VARIANTS];
    size_t nv = 0;
    OK(augment(h, texture, 1, 0, 3, &own, v, &nv), "the texture is augmented: %s", err);
    int grown = 0;
    for (size_t i = 0; i < nv; i++)
        grown += v[i].code >= PHM_KV_ROT_P5_GROWN && v[i].code <= PHM_KV_ROT_M3_GROWN;
    IS_INT(grown, 0, "a picture whose sides are no plain colour stores no grown turn");

    /* the grown turn is not the same-canvas one: asked for alone, with
     * rot+5, both are kept, and they differ */
    uint32_t w, hh;
    uint8_t *p = render(shape, 1, 0, 255, 3, &w, &hh);
    phm_image img = { p, w, hh, 3, (size_t)w * 3, PHM_FORMAT_PNG };
    const int codes[3] = { PHM_KV_ROT_P5, PHM_KV_ROT_P5_GROWN, PHM_KV_ROT_P3_GROWN };
    OK(hash_of(h, p, w, hh, 3, &own), "the drawing is hashed");
    IS_INT(phm_augment(h, &img, PHM_MODE_FULL, &own, codes, 3, 0, v, &nv, err, sizeof err),
           PHM_OK, "rot+5, rot+5-grown and rot+3-grown asked for: %s", err);
    IS_INT((int)nv, 3, "all three kept");
    if (nv == 3)
        OK(phm_pdq_distance(&v[0].pdq, &v[1].pdq) > 0 && phm_pdq_distance(&v[1].pdq, &v[2].pdq) > 0,
           "they differ (%d, %d bits)", phm_pdq_distance(&v[0].pdq, &v[1].pdq),
           phm_pdq_distance(&v[1].pdq, &v[2].pdq));
    IS_STR(phm_known_variant_name(PHM_KV_ROT_M3_GROWN), "rot-3-grown", "the names");
    IS_INT(phm_known_variant_code("rot+5-grown"), PHM_KV_ROT_P5_GROWN, "the codes");
    free(p);

    phm_hasher_free(h);
    return tap_done();
}
