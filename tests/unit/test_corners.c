/* test_corners.c - a rotation's corners (corners.c) and what matching does
 * with them (issue 15; docs/ROBUST.md, "Rotation corners"):
 *   - phm_corners_find finds the four triangles of phm_image_rotate on
 *     its own canvas (both ways, several angles, black or white fill, RGB
 *     and grey, a picture dark at the bottom whose lower corners run into
 *     it), with legs of the angle's shape, and nothing in pictures that
 *     have no such corners (unrotated, letterboxed, square dark corners,
 *     a vignette, all black, tiny);
 *   - phm_corners_fill leaves a flat picture flat (no edge where the
 *     corners were: quality below the gate) and a busy one busy;
 *   - phm_hash_mem_query says calm_corners for a rotated flat picture only;
 *   - phm_match_image with calm_corners does not compare the query with
 *     an entry's filled rotations (phm_fill_kind), but still with its own
 *     hash and its other variants;
 *   - phm_hash_mem_query gives a rotated busy picture the hash of its
 *     corners alone (corners_pdq: near a flat picture turned alike), and
 *     phm_match_image with corners_only counts a filled rotation for the
 *     query's own hash only when it is nearer than those corners are;
 *   - phm_hash_mem_query turns a busy picture rotated by 4 or -6 degrees
 *     back by the angle its corners show (derot: within 31 bits of the
 *     picture, its own hash not) on its own canvas when asked (derotate),
 *     makes none for a picture without corners, and one below the quality
 *     gate for a flat one; the
 *     matcher lets a "derotated" extra meet an entry's own hash and
 *     crops, never its stored rotations;
 *   - a picture turned by 5, -4 or 2.5 degrees on a canvas grown to hold
 *     it (phm__corners_find_grown), as a PNM and as a streamed JPEG, is
 *     turned back to within 16 bits of the picture, and reports no
 *     corners; nothing is found in the picture, its turn on its own
 *     canvas, the picture on a larger canvas, or a turn with room to
 *     spare. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "decode_internal.h"
#include "index_util.h"
#include "phmatch.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

/* A busy w x h picture (ch 1 or 3) of mid-level content, no pixel near
 * black or white, so that a fill of either is told from it. dark: the
 * lower third near black, as many wallpapers are. */
static uint8_t *picture(uint32_t w, uint32_t h, uint32_t ch, int dark, phm_image *img)
{
    uint8_t *p = malloc((size_t)w * h * ch);
    if (!p)
        exit(2);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < ch; c++) {
                double v = 128 + 60 * sin(x * 0.05 + c) * cos(y * 0.037) +
                           30 * sin((x + 2.0 * y) * 0.011);
                if (dark && y > h * 2 / 3)
                    v = 8 + (x + y) % 5;
                p[((size_t)y * w + x) * ch + c] = (uint8_t)lround(v);
            }
    *img = (phm_image){ p, w, h, ch, (size_t)w * ch, PHM_FORMAT_UNKNOWN };
    return p;
}

static int rotated(const phm_image *in, double deg, const uint8_t fill[3], phm_image *out)
{
    size_t n = phm_image_bytes(in->width, in->height, in->channels);
    uint8_t *b = malloc(n);
    if (!b || phm_image_rotate(in, deg, 0, fill, b, n, out) != PHM_OK)
        exit(2);
    return 0;
}

static void test_find(void)
{
    static const uint8_t white[3] = { 255, 255, 255 };
    static const double angles[] = { 1.5, 3, 5, -5, 8, -12 };
    phm_image pic, r;
    phm_corners c;
    for (uint32_t ch = 1; ch <= 3; ch += 2) {
        uint8_t *p = picture(640, 420, ch, 0, &pic);
        for (size_t i = 0; i < sizeof angles / sizeof angles[0]; i++) {
            double deg = angles[i];
            rotated(&pic, deg, i % 2 ? white : NULL, &r);
            int found = phm_corners_find(&r, &c);
            IS_INT(found, 1, "%u channel(s), %+.1f degrees, %s fill: found", ch, deg,
                   i % 2 ? "white" : "black");
            /* Clockwise (positive), the top-left triangle runs down the
             * left edge (tall) and the top-right one along the top. */
            int shape = 1;
            double t = tan(fabs(deg) * M_PI / 180);
            for (int k = 0; k < 4 && found == 1; k++) {
                int tall = c.leg_y[k] > c.leg_x[k];
                double ratio = tall ? c.leg_x[k] / c.leg_y[k] : c.leg_y[k] / c.leg_x[k];
                shape &= tall == ((deg > 0) ^ (k & 1)) && fabs(ratio - t) < 0.25 * t + 0.01;
            }
            OK(found == 1 && shape, "%u channel(s), %+.1f degrees: legs of that angle", ch,
               deg);
            IS_INT(c.fill[0], found == 1 ? (i % 2 ? 255 : 0) : c.fill[0], "the fill colour");
            free((void *)r.pixels);
        }
        IS_INT(phm_corners_find(&pic, &c), 0, "%u channel(s): the picture itself has none", ch);
        free(p);
    }

    /* Lower corners running into a dark picture: taken from the upper. */
    uint8_t *p = picture(700, 460, 3, 1, &pic);
    rotated(&pic, 5, NULL, &r);
    IS_INT(phm_corners_find(&r, &c), 1, "dark lower third: found from the upper corners");
    OK(fabs(c.leg_x[2] - c.leg_x[0]) < 1e-9 && fabs(c.leg_y[3] - c.leg_y[1]) < 1e-9,
       "the lower corners are the upper ones' opposites");
    free((void *)r.pixels);

    /* Pictures with no rotation's corners. */
    uint8_t *q = malloc((size_t)700 * 460 * 3);
    phm_image v = pic;
    v.pixels = q;
    memcpy(q, p, (size_t)700 * 460 * 3);
    for (uint32_t y = 0; y < 460; y++) /* letterboxed: bars of 40 rows */
        if (y < 40 || y >= 420)
            memset(q + (size_t)y * 700 * 3, 0, 700 * 3);
    IS_INT(phm_corners_find(&v, &c), 0, "letterbox bars are no corners");
    memcpy(q, p, (size_t)700 * 460 * 3);
    for (uint32_t y = 0; y < 460; y++) /* square black corners */
        for (uint32_t x = 0; x < 700; x++)
            if ((x < 40 || x >= 660) && (y < 40 || y >= 420))
                memset(q + ((size_t)y * 700 + x) * 3, 0, 3);
    IS_INT(phm_corners_find(&v, &c), 0, "square corners are no triangles");
    for (uint32_t y = 0; y < 460; y++) /* a vignette: black past an ellipse */
        for (uint32_t x = 0; x < 700; x++) {
            double u = (x - 350.0) / 350, w = (y - 230.0) / 230;
            if (u * u + w * w > 1.3)
                memset(q + ((size_t)y * 700 + x) * 3, 0, 3);
            else
                memcpy(q + ((size_t)y * 700 + x) * 3, p + ((size_t)y * 700 + x) * 3, 3);
        }
    IS_INT(phm_corners_find(&v, &c), 0, "a vignette's curved corners are no triangles");
    memset(q, 0, (size_t)700 * 460 * 3);
    IS_INT(phm_corners_find(&v, &c), 0, "an all-black picture has none");
    v.width = v.height = 12;
    v.stride = 36;
    IS_INT(phm_corners_find(&v, &c), 0, "a 12 x 12 picture has none");
    IS_INT(phm_corners_find(NULL, &c), PHM_ERR_INVALID, "NULL image");
    IS_INT(phm_corners_find(&pic, NULL), PHM_ERR_INVALID, "NULL out");
    free(q);
    free(p);
}

static void test_fill(void)
{
    phm_hasher *h;
    phm_image pic, r, f;
    phm_corners c;
    phm_pdq_result hr;
    if (phm_hasher_new(&h, PHM_SIMD_AUTO))
        exit(2);
    uint8_t *p = picture(600, 400, 3, 0, &pic);
    memset(p, 140, (size_t)600 * 400 * 3); /* flat */
    rotated(&pic, 5, NULL, &r);
    size_t n = phm_image_bytes(600, 400, 3);
    uint8_t *buf = malloc(n);
    IS_INT(phm_hash_image(h, &r, PHM_MODE_FULL, 0, &hr), PHM_OK, "hash the rotated flat picture");
    OK(hr.quality >= PHM_PDQ_MIN_QUALITY, "its corners lift it over the gate (quality %d)",
       hr.quality);
    IS_INT(phm_corners_find(&r, &c), 1, "its corners found");
    IS_INT(phm_corners_fill(&r, &c, buf, n, &f), PHM_OK, "filled");
    int far = 0;
    for (size_t i = 0; i < n; i++)
        far = abs(buf[i] - 140) > far ? abs(buf[i] - 140) : far;
    OK(far <= 2, "filled, the flat picture is flat again (largest difference %d)", far);
    IS_INT(phm_hash_image(h, &f, PHM_MODE_FULL, 0, &hr), PHM_OK, "hash it");
    OK(hr.quality < PHM_PDQ_MIN_QUALITY, "below the gate (quality %d)", hr.quality);
    free((void *)r.pixels);

    free(p);
    p = picture(600, 400, 3, 0, &pic); /* busy */
    rotated(&pic, -5, NULL, &r);
    IS_INT(phm_corners_find(&r, &c), 1, "a busy picture's corners found");
    IS_INT(phm_corners_fill(&r, &c, buf, n, &f), PHM_OK, "filled");
    IS_INT(phm_hash_image(h, &f, PHM_MODE_FULL, 0, &hr), PHM_OK, "hash it");
    OK(hr.quality >= PHM_PDQ_MIN_QUALITY, "a busy picture stays over the gate (quality %d)",
       hr.quality);
    /* no fill colour left near the corners */
    int black = 0;
    for (uint32_t y = 0; y < 400; y++)
        for (uint32_t x = 0; x < 600; x++)
            black += f.pixels[(size_t)y * f.stride + (size_t)x * 3] < 20;
    IS_INT(black, 0, "no pixel of the fill left");
    IS_INT(phm_corners_fill(&r, &c, buf, n - 1, &f), PHM_ERR_INVALID, "short buffer");
    IS_INT(phm_corners_fill(&r, NULL, buf, n, &f), PHM_ERR_INVALID, "NULL corners");
    phm_corners bad = c;
    bad.leg_x[1] = 1e300;
    IS_INT(phm_corners_fill(&r, &bad, buf, n, &f), PHM_ERR_INVALID, "a leg past the image");
    bad = c;
    bad.leg_y[2] = NAN;
    IS_INT(phm_corners_fill(&r, &bad, buf, n, &f), PHM_ERR_INVALID, "a leg that is no number");
    bad = c;
    bad.leg_x[0] = -1;
    IS_INT(phm_corners_fill(&r, &bad, buf, n, &f), PHM_ERR_INVALID, "a negative leg");
    free((void *)r.pixels);
    free(buf);
    free(p);
    phm_hasher_free(h);
}

/* The image as a binary PNM (P6) in memory. */
static uint8_t *pnm(const phm_image *img, size_t *len)
{
    char head[64];
    int hl = snprintf(head, sizeof head, "P6\n%u %u\n255\n", img->width, img->height);
    size_t n = (size_t)img->width * img->height * 3;
    uint8_t *b = malloc((size_t)hl + n);
    if (!b)
        exit(2);
    memcpy(b, head, (size_t)hl);
    for (uint32_t y = 0; y < img->height; y++)
        memcpy(b + hl + (size_t)y * img->width * 3, img->pixels + (size_t)y * img->stride,
               (size_t)img->width * 3);
    *len = (size_t)hl + n;
    return b;
}

static void test_query(void)
{
    phm_decoder *dec;
    phm_hasher *h;
    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO))
        exit(2);
    const phm_query_options o = { .mode = PHM_MODE_FULL, .corners = 1 };
    for (int flat = 0; flat < 3; flat++) {
        phm_image pic, r;
        uint8_t *p = picture(500, 360, 3, 0, &pic);
        if (flat == 1)
            memset(p, 160, (size_t)500 * 360 * 3);
        if (flat < 2)
            rotated(&pic, 5, NULL, &r);
        else
            r = pic;
        size_t len;
        uint8_t *b = pnm(&r, &len);
        phm_query_hashes q;
        IS_INT(phm_hash_mem_query(dec, h, b, len, "x.ppm", &o, &q, err, sizeof err), PHM_OK,
               "query %d hashed", flat);
        IS_INT(q.corners_found, flat < 2, "query %d: corners found", flat);
        IS_INT(q.calm_corners, flat == 1, "query %d: calm corners only for the flat one",
               flat);
        OK(flat != 1 || q.pdq.quality >= PHM_PDQ_MIN_QUALITY,
           "the rotated flat one's own hash passes the gate (quality %d)", q.pdq.quality);
        IS_INT(q.ncorners_pdq, flat == 0 ? PHM_CORNERS_ALONE : 0,
               "query %d: the corners alone hashed for the busy one", flat);
        if (flat == 0) {
            /* the corners alone: what a flat picture turned alike gives
             * (exactly, drawn as phm_image_rotate draws it) */
            phm_image fr;
            uint8_t *fp = picture(500, 360, 3, 0, &pic);
            memset(fp, 160, (size_t)500 * 360 * 3);
            rotated(&pic, 5, NULL, &fr);
            phm_pdq_result fh;
            if (phm_hash_image(h, &fr, PHM_MODE_FULL, 0, &fh))
                exit(2);
            IS_INT(phm_pdq_distance(&fh.hash[0], &q.corners_pdq[2].hash[0]), 0,
                   "... the third the very hash of a flat picture turned by 5 degrees");
            int d = phm_pdq_distance(&fh.hash[0], &q.corners_pdq[0].hash[0]);
            OK(d <= 16, "... the first, the triangles as found, near it (%d bits)", d);
            OK(phm_pdq_distance(&q.pdq.hash[0], &q.corners_pdq[0].hash[0]) > 31,
               "... and far from the busy picture's own hash");
            IS_INT(q.corners_pdq[0].nhashes, 1, "... one orientation without dihedral");
            phm_query_options od = o;
            od.dihedral = 1;
            IS_INT(phm_hash_mem_query(dec, h, b, len, "x.ppm", &od, &q, err, sizeof err), PHM_OK,
                   "hashed again with the orientations");
            IS_INT(q.corners_pdq[2].nhashes, 8, "... the corners alone in all 8");
            IS_INT(phm_pdq_distance(&fh.hash[0], &q.corners_pdq[2].hash[0]), 0,
                   "... the turn by 5 degrees the same in the first");
            phm_match_extra x[PHM_QUERY_MAX_EXTRA];
            phm_match_options mo;
            phm_match_options_init(&mo);
            phm_query_match_options(&q, x, &mo);
            OK(mo.corners_only == q.corners_pdq && mo.ncorners_only == PHM_CORNERS_ALONE,
               "phm_query_match_options passes them on");
            free((void *)fr.pixels);
            free(fp);
        }
        free(b);
        if (flat < 2)
            free((void *)r.pixels);
        free(p);
    }
    /* A streamed JPEG: kept whole with trimming and cuts, else looked at
     * whole again because its reduced copy shows the corners. */
    phm_image pic, r;
    uint8_t *p = picture(900, 600, 3, 1, &pic);
    memset(p, 170, (size_t)900 * 400 * 3); /* flat, dark at the bottom */
    rotated(&pic, -5, NULL, &r);
    tjhandle tj = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long jl = 0;
    if (!tj || tjCompress2(tj, r.pixels, 900, 0, 600, TJPF_RGB, &jpg, &jl, TJSAMP_420, 90, 0))
        exit(2);
    static const int sets[3][2] = { { 1, 0 }, { 1, 1 }, { 0, 0 } };
    for (int i = 0; i < 3; i++) {
        phm_query_options jo = { .mode = PHM_MODE_FULL, .trim = sets[i][0],
                                 .cuts = sets[i][1], .corners = 1 };
        phm_query_hashes q;
        IS_INT(phm_hash_mem_query(dec, h, jpg, jl, "x.jpg", &jo, &q, err, sizeof err), PHM_OK,
               "JPEG, trim %d cuts %d: hashed", jo.trim, jo.cuts);
        IS_INT(q.corners_found, 1, "JPEG, trim %d cuts %d: corners found", jo.trim, jo.cuts);
        IS_INT(q.calm_corners, 1, "... and calm");
    }
    tjFree(jpg);
    tjDestroy(tj);
    free((void *)r.pixels);
    free(p);
    phm_hasher_free(h);
    phm_decoder_free(dec);
}

/* A w x h RGB picture of a few large shapes on a gradient, with some
 * texture: its PDQ hash rests on the shapes, as a photo's does (the
 * sines of picture() alone hash 48 bits off once turned and turned back:
 * a texture's hash is fragile). */
static uint8_t *shapes(uint32_t w, uint32_t h, phm_image *img)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    if (!p)
        exit(2);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < 3; c++) {
                double dx = x - 0.3 * w, dy = y - 0.4 * h;
                double v = 70 + 0.1 * x + 0.08 * y + 25 * sin(x * 0.05 + c) * cos(y * 0.037);
                if (dx * dx + dy * dy < 0.04 * w * w)
                    v += 110;
                if (x > 0.55 * w && x < 0.85 * w && y > 0.5 * h && y < 0.8 * h)
                    v += 90 - 40.0 * c;
                if ((x / 60 + y / 50) % 4 == 0)
                    v -= 30;
                p[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
            }
    *img = (phm_image){ p, w, h, 3, (size_t)w * 3, PHM_FORMAT_UNKNOWN };
    return p;
}

/* The hashes phm_query_match_options gives q's extra `name`, or NULL. */
static const phm_pdq_result *extra_named(const phm_query_hashes *q, const char *name)
{
    phm_match_extra x[PHM_QUERY_MAX_EXTRA];
    phm_match_options mo;
    phm_match_options_init(&mo);
    size_t n = phm_query_match_options(q, x, &mo);
    for (size_t k = 0; k < n; k++)
        if (strcmp(x[k].variant, name) == 0)
            return x[k].pdq;
    return NULL;
}

static void test_derotate(void)
{
    phm_decoder *dec;
    phm_hasher *h;
    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO))
        exit(2);
    const phm_query_options o = { .mode = PHM_MODE_FULL, .trim = 1, .corners = 1,
                                  .derotate = 1 };
    phm_query_options plain = o;
    plain.derotate = 0;
    phm_image pic;
    uint8_t *p = shapes(600, 400, &pic);
    phm_pdq_result own;
    if (phm_hash_image(h, &pic, PHM_MODE_FULL, 0, &own))
        exit(2);
    static const double angles[] = { 4, -6 };
    for (int i = 0; i < 2; i++) {
        phm_image r;
        rotated(&pic, angles[i], NULL, &r);
        size_t len;
        uint8_t *b = pnm(&r, &len);
        phm_query_hashes q;
        IS_INT(phm_hash_mem_query(dec, h, b, len, "x.ppm", &o, &q, err, sizeof err), PHM_OK,
               "%+.0f degrees: hashed", angles[i]);
        int d0 = phm_pdq_distance(&own.hash[0], &q.pdq.hash[0]);
        OK(d0 > 31, "... its own hash %d bits from the picture's", d0);
        IS_INT(q.has_derot, 1, "... de-rotated");
        int d = phm_pdq_distance(&own.hash[0], &q.derot.hash[0]);
        OK(q.has_derot && d <= 31, "... within 31 bits of the picture (%d)", d);
        OK(extra_named(&q, PHM_DEROTATED) == &q.derot,
           "... searched as the extra \"derotated\"");
        IS_INT(phm_hash_mem_query(dec, h, b, len, "x.ppm", &plain, &q, err, sizeof err), PHM_OK,
               "... hashed without derotate");
        OK(q.corners_found && !q.has_derot, "... corners found, not turned back");
        free(b);
        free((void *)r.pixels);
    }
    /* no corners: no de-rotation */
    size_t len;
    uint8_t *b = pnm(&pic, &len);
    phm_query_hashes q;
    IS_INT(phm_hash_mem_query(dec, h, b, len, "x.ppm", &o, &q, err, sizeof err), PHM_OK,
           "the picture itself hashed");
    IS_INT(q.corners_found + q.has_derot, 0, "... no corners, no de-rotation");
    phm_match_extra x[PHM_QUERY_MAX_EXTRA];
    phm_match_options mo;
    phm_match_options_init(&mo);
    size_t n = phm_query_match_options(&q, x, &mo);
    int named = 0;
    for (size_t k = 0; k < n; k++)
        named |= strcmp(x[k].variant, PHM_DEROTATED) == 0;
    IS_INT(named, 0, "... and no \"derotated\" extra");
    free(b);
    phm_image r;
    memset(p, 160, (size_t)600 * 400 * 3);
    rotated(&pic, 5, NULL, &r);
    b = pnm(&r, &len);
    IS_INT(phm_hash_mem_query(dec, h, b, len, "x.ppm", &o, &q, err, sizeof err), PHM_OK,
           "a flat picture turned hashed");
    OK(q.calm_corners && q.has_derot && q.derot.quality < PHM_PDQ_MIN_QUALITY,
       "... calm corners: de-rotated, below the quality gate (%d)", q.derot.quality);
    free(b);
    free((void *)r.pixels);
    free(p);
    phm_hasher_free(h);
    phm_decoder_free(dec);
}

/* pic turned by deg on a canvas grown to hold it all, as ImageMagick's
 * -rotate makes it: pic centred on a W cos + H sin by H cos + W sin
 * canvas of the fill, turned there (its corners then touch the sides).
 * im: sized as ImageMagick sizes it, rounded up and up again to keep the
 * picture's centre on a pixel's (a 60-pixel picture turned 4 or 5
 * degrees: 66 a side), so the picture's corners stop short of the sides. */
static uint32_t grown_side(double side, uint32_t own, int im)
{
    if (!im)
        return (uint32_t)lround(side);
    uint32_t s = (uint32_t)ceil(side);
    return s + ((s - own) & 1);
}

static void grown_im(const phm_image *pic, double deg, const uint8_t fill[3], int im,
                     phm_image *out)
{
    double t = fabs(deg) * M_PI / 180;
    uint32_t w = grown_side(pic->width * cos(t) + pic->height * sin(t), pic->width, im);
    uint32_t hh = grown_side(pic->height * cos(t) + pic->width * sin(t), pic->height, im);
    uint8_t *c = malloc((size_t)w * hh * 3);
    if (!c)
        exit(2);
    for (size_t i = 0; i < (size_t)w * hh; i++)
        memcpy(c + 3 * i, fill, 3);
    uint32_t x0 = (w - pic->width) / 2, y0 = (hh - pic->height) / 2;
    for (uint32_t y = 0; y < pic->height; y++)
        memcpy(c + ((size_t)(y0 + y) * w + x0) * 3, pic->pixels + (size_t)y * pic->stride,
               (size_t)pic->width * 3);
    phm_image canvas = { c, w, hh, 3, (size_t)w * 3, PHM_FORMAT_UNKNOWN };
    rotated(&canvas, deg, fill, out);
    free(c);
}

static void grown(const phm_image *pic, double deg, const uint8_t fill[3], phm_image *out)
{
    grown_im(pic, deg, fill, 0, out);
}

/* An image as two query files: a PNM, and a JPEG (quality 90, 4:2:0). */
typedef struct encoded {
    uint8_t *pnm;
    size_t pnm_len;
    unsigned char *jpg;
    unsigned long jpg_len;
} encoded;

static void encode(tjhandle tj, const phm_image *r, encoded *e)
{
    e->jpg = NULL;
    e->jpg_len = 0;
    if (tjCompress2(tj, r->pixels, (int)r->width, 0, (int)r->height, TJPF_RGB, &e->jpg,
                    &e->jpg_len, TJSAMP_420, 90, 0))
        exit(2);
    e->pnm = pnm(r, &e->pnm_len);
}

static void encoded_free(encoded *e)
{
    free(e->pnm);
    tjFree(e->jpg);
}

/* phm_hash_mem_query of e's JPEG (asjpeg) or PNM. */
static int query_encoded(phm_decoder *dec, phm_hasher *h, const encoded *e, int asjpeg,
                         const phm_query_options *o, phm_query_hashes *q)
{
    return phm_hash_mem_query(dec, h, asjpeg ? e->jpg : e->pnm, asjpeg ? e->jpg_len : e->pnm_len,
                              asjpeg ? "x.jpg" : "x.ppm", o, q, err, sizeof err);
}

static void test_derotate_grown(void)
{
    phm_decoder *dec;
    phm_hasher *h;
    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO))
        exit(2);
    phm_query_options o = { .mode = PHM_MODE_FULL, .trim = 1, .cuts = 1, .soft = 1,
                            .corners = 1, .derotate = 1 };
    phm_image pic;
    uint8_t *p = shapes(600, 400, &pic);
    phm_pdq_result own;
    if (phm_hash_image(h, &pic, PHM_MODE_FULL, 0, &own))
        exit(2);
    static const uint8_t black[3] = { 0, 0, 0 }, white[3] = { 255, 255, 255 };
    static const double angles[] = { 5, -4, 2.5 };
    tjhandle tj = tjInitCompress();
    if (!tj)
        exit(2);
    for (int i = 0; i < 3; i++) {
        phm_image r;
        phm_corners c;
        grown(&pic, angles[i], i == 1 ? white : black, &r);
        IS_INT(phm__corners_find_grown(&r, &c), 1, "%+.1f degrees on a grown canvas: found",
               angles[i]);
        IS_INT(phm_corners_find(&r, &c), 0, "... not as corners on its own canvas");
        encoded e;
        encode(tj, &r, &e);
        for (int asjpeg = 0; asjpeg < 2; asjpeg++) { /* decoded whole; streamed */
            for (int cuts = 0; cuts < 2; cuts++) { /* kept whole or decoded again */
                phm_query_hashes q;
                o.cuts = cuts;
                IS_INT(query_encoded(dec, h, &e, asjpeg, &o, &q), PHM_OK,
                       "... %s, cuts %d: hashed", asjpeg ? "JPEG" : "PNM", cuts);
                int d0 = phm_pdq_distance(&own.hash[0], &q.pdq.hash[0]);
                OK(d0 > 31, "... its own hash %d bits from the picture's", d0);
                int d = phm_pdq_distance(&own.hash[0], &q.derot.hash[0]);
                OK(q.has_derot && d <= 16, "... de-rotated, %d bits from the picture", d);
                IS_INT(q.corners_found, 0, "... no corners of a stored rotation reported");
            }
        }
        phm_query_options plain = o;
        plain.derotate = 0;
        phm_query_hashes q;
        IS_INT(query_encoded(dec, h, &e, 0, &plain, &q), PHM_OK, "... without derotate: hashed");
        IS_INT(q.has_derot, 0, "... not turned back");
        encoded_free(&e);
        free((void *)r.pixels);
    }
    /* Not a grown canvas: the picture itself, its turn on its own canvas,
     * the picture on a larger canvas (square corners), and a turn on a
     * canvas larger than the turn needs (the legs do not make the sides). */
    phm_corners c;
    phm_image r, big;
    IS_INT(phm__corners_find_grown(&pic, &c), 0, "the picture itself: none");
    rotated(&pic, 5, black, &r);
    IS_INT(phm__corners_find_grown(&r, &c), 0, "a turn on its own canvas: none");
    free((void *)r.pixels);
    uint8_t *padded = malloc((size_t)700 * 500 * 3);
    if (!padded)
        exit(2);
    memset(padded, 0, (size_t)700 * 500 * 3);
    for (uint32_t y = 0; y < 400; y++)
        memcpy(padded + ((size_t)(y + 50) * 700 + 50) * 3, p + (size_t)y * 600 * 3, 600 * 3);
    big = (phm_image){ padded, 700, 500, 3, 700 * 3, PHM_FORMAT_UNKNOWN };
    IS_INT(phm__corners_find_grown(&big, &c), 0, "a picture on a larger canvas: none");
    rotated(&big, 5, black, &r);
    IS_INT(phm__corners_find_grown(&r, &c), 0, "a turn on a canvas larger than it needs: none");
    free((void *)r.pixels);
    IS_INT(phm__corners_find_grown(NULL, &c), PHM_ERR_INVALID, "NULL image");
    free(padded);
    tjDestroy(tj);
    free(p);
    phm_hasher_free(h);
    phm_decoder_free(dec);
}

/* A 60-pixel icon: a dark ring with a grey inside and a dark bar across,
 * drawn on white, its edges anti-aliased (a pixel's value its covered
 * share, sampled 4 x 4). */
static uint8_t *icon(phm_image *img)
{
    enum { S = 60 };
    uint8_t *p = malloc((size_t)S * S * 3);
    if (!p)
        exit(2);
    for (uint32_t y = 0; y < S; y++)
        for (uint32_t x = 0; x < S; x++) {
            double sum = 0;
            for (int sy = 0; sy < 4; sy++)
                for (int sx = 0; sx < 4; sx++) {
                    double fx = x + (sx + 0.5) / 4, fy = y + (sy + 0.5) / 4;
                    double r = hypot(fx - 26, fy - 27), v = 255;
                    if (r < 17)
                        v = 200;
                    else if (r < 22)
                        v = 60;
                    /* the bar: within 3 of the line x = y from (30, 30) on */
                    if (fabs(fx - fy) < 3 * M_SQRT2 && fx + fy > 60 && fx + fy < 104)
                        v = 40;
                    sum += v;
                }
            uint8_t v = (uint8_t)lround(sum / 16);
            memset(p + ((size_t)y * S + x) * 3, v, 3);
        }
    *img = (phm_image){ p, S, S, 3, (size_t)S * 3, PHM_FORMAT_UNKNOWN };
    return p;
}

/* A small picture's turn read from its edges (docs/ROBUST.md, "De-rotation
 * of small pictures"): read from the whole-pixel runs of its corners'
 * legs, a 60-pixel icon turned 5 degrees came back turned a degree off,
 * 30-40 bits from itself. */
static void test_derotate_small(void)
{
    phm_decoder *dec;
    phm_hasher *h;
    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO))
        exit(2);
    const phm_query_options o = { .mode = PHM_MODE_FULL, .trim = 1, .cuts = 1, .soft = 1,
                                  .corners = 1, .derotate = 1 };
    phm_image pic;
    uint8_t *p = icon(&pic);
    phm_pdq_result own, own_area;
    if (phm_hash_image(h, &pic, PHM_MODE_FULL, 0, &own) ||
        phm_hash_area64(h, &pic, PHM_MODE_FULL, 0, &own_area))
        exit(2);
    static const uint8_t black[3] = { 0, 0, 0 };
    static const double angles[] = { -5, 5, 4 };
    tjhandle tj = tjInitCompress();
    if (!tj)
        exit(2);
    for (int i = 0; i < 3; i++) {
        phm_image r;
        grown_im(&pic, angles[i], black, 1, &r);
        encoded e;
        encode(tj, &r, &e);
        for (int asjpeg = 0; asjpeg < 2; asjpeg++) {
            phm_query_hashes q;
            IS_INT(query_encoded(dec, h, &e, asjpeg, &o, &q), PHM_OK,
                   "a 60-pixel icon turned %+.0f degrees on a grown canvas, %s: hashed",
                   angles[i], asjpeg ? "JPEG" : "PNM");
            int d0 = phm_pdq_distance(&own.hash[0], &q.pdq.hash[0]);
            OK(d0 > 31, "... its own hash %d bits from the icon's", d0);
            int d = q.has_derot ? phm_pdq_distance(&own.hash[0], &q.derot.hash[0]) : 256;
            OK(d <= 20, "... de-rotated, %d bits from the icon", d);
            /* small: evenly resampled too, searched against area64 hashes */
            int da = q.area_ok & 8u ? phm_pdq_distance(&own_area.hash[0], &q.area[3].hash[0])
                                    : 256;
            OK(da <= 20, "... its area64 hash %d bits from the icon's", da);
            OK(extra_named(&q, PHM_AREA64_DEROTATED) == &q.area[3],
               "... searched as the extra \"%s\"", PHM_AREA64_DEROTATED);
        }
        encoded_free(&e);
        free((void *)r.pixels);
    }
    tjDestroy(tj);
    free(p);
    phm_hasher_free(h);
    phm_decoder_free(dec);
}

static void test_kinds(void)
{
    OK(phm_fill_kind(PHM_KV_ROT_P5) && phm_fill_kind(PHM_KV_ROT_M5) &&
           phm_fill_kind(PHM_KV_ROT_P3) && phm_fill_kind(PHM_KV_ROT_M3),
       "the rotations on their canvas are filled kinds");
    OK(!phm_fill_kind(PHM_KV_ROT_P5_CROP) && !phm_fill_kind(PHM_KV_CROP5_C) &&
           !phm_fill_kind(PHM_KV_LB_10) && !phm_fill_kind(0),
       "cropped rotations, crops and bars are not");
}

static phm_pdq hash_of(uint32_t seed)
{
    rng r = { seed * 0x9e3779b97f4a7c15ull };
    return rng_hash(&r);
}

static int add(phm_index *idx, const phm_entry *e)
{
    return index_add_one(idx, e, err, sizeof err);
}

/* The matches of r under o as "id@distance:known_variant", comma-separated,
 * into out. */
static const char *matches_of(phm_index *idx, const phm_pdq_result *r,
                              const phm_match_options *o, char *out, size_t len)
{
    phm_searcher *s;
    phm_matcher *m;
    const phm_match_result *res;
    out[0] = 0;
    if (phm_searcher_new(idx, &s, err, sizeof err) || phm_matcher_new(s, &m))
        return "error";
    if (phm_match_image(m, r, o, &res, err, sizeof err) == PHM_OK)
        for (size_t i = 0; i < res->count; i++) {
            size_t l = strlen(out);
            snprintf(out + l, len - l, "%s%s@%d:%s", i ? "," : "", res->hits[i].e.id,
                     res->hits[i].distance,
                     res->hits[i].known_variant ? res->hits[i].known_variant : "-");
        }
    else
        snprintf(out, len, "error: %.200s", err);
    phm_matcher_free(m);
    phm_searcher_free(s);
    return out;
}

/* The matches of q (or, with `trimmed`, of another hash with q as its
 * "trimmed" extra) as "id@distance:known_variant", calm_corners as given. */
static const char *matched_as(phm_index *idx, const phm_pdq *q, int trimmed, int calm,
                              char *out, size_t len)
{
    phm_match_options o;
    phm_match_options_init(&o);
    o.calm_corners = calm;
    phm_pdq_result r = { .nhashes = 1, .quality = 70 };
    r.hash[0] = *q;
    phm_match_extra x = { "trimmed", NULL, 0 };
    phm_pdq_result xr = r;
    if (trimmed) { /* the own hash far from everything, q the content's */
        r.hash[0] = hash_of(99);
        x.pdq = &xr;
        o.extra = &x;
        o.nextra = 1;
    }
    return matches_of(idx, &r, &o, out, len);
}

/* q with its first `bits` bits flipped. */
static phm_pdq flipped(phm_pdq q, int bits)
{
    for (int i = 0; i < bits; i++)
        q.w[i / 64] ^= 1ull << (i % 64);
    return q;
}

/* The matches of q as matched_as() gives them, with corners_only a
 * far hash and `corners` (NULL: none). */
static const char *matched_corners(phm_index *idx, const phm_pdq *q, const phm_pdq *corners,
                                   char *out, size_t len)
{
    phm_match_options o;
    phm_match_options_init(&o);
    phm_pdq_result r = { .nhashes = 1, .quality = 70 }, c[2] = { r, r };
    r.hash[0] = *q;
    if (corners) { /* the nearer of the two sets the bound */
        c[0].hash[0] = hash_of(98);
        c[1].hash[0] = *corners;
        o.corners_only = c;
        o.ncorners_only = 2;
    }
    return matches_of(idx, &r, &o, out, len);
}

static const char *matched(phm_index *idx, const phm_pdq *q, int calm, char *out, size_t len)
{
    return matched_as(idx, q, 0, calm, out, len);
}

/* The matches of a query whose own hash is far from everything and whose
 * extra `name` ("derotated", "area64-derotated") is q. */
static const char *matched_extra(phm_index *idx, const char *name, const phm_pdq *q, char *out,
                                 size_t len)
{
    phm_match_options o;
    phm_match_options_init(&o);
    phm_pdq_result r = { .nhashes = 1, .quality = 70 }, xr = r;
    r.hash[0] = hash_of(99);
    xr.hash[0] = *q;
    phm_match_extra x = { name, &xr, 0 };
    o.extra = &x;
    o.nextra = 1;
    return matches_of(idx, &r, &o, out, len);
}

static void test_match(void)
{
    char path[600], buf[256];
    snprintf(path, sizeof path, "%s/c.phmi", dir);
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create an index");
    phm_pdq own = hash_of(1), rot = hash_of(2), crop = hash_of(3), other = hash_of(4);
    phm_entry a = { .source = "s", .id = "a", .signals = PHM_SIG_PDQ, .quality = 90,
                    .pdq = own, .nvariants = 2 };
    a.variants[0] = (phm_entry_variant){ PHM_KV_ROT_P5, rot };
    a.variants[1] = (phm_entry_variant){ PHM_KV_CROP5_C, crop };
    phm_entry b = { .source = "s", .id = "b", .signals = PHM_SIG_PDQ, .quality = 90,
                    .pdq = other };
    IS_INT(add(idx, &a), PHM_OK, "an entry with rot+5 and crop5-c");
    IS_INT(add(idx, &b), PHM_OK, "a plain entry");
    IS_STR(matched(idx, &rot, 0, buf, sizeof buf), "a@0:rot+5",
           "a query at its rot+5 matches through it");
    IS_STR(matched(idx, &rot, 1, buf, sizeof buf), "",
           "... not when its hash is calm corners");
    IS_STR(matched(idx, &crop, 1, buf, sizeof buf), "a@0:crop5-c",
           "calm corners still meet a crop variant");
    IS_STR(matched(idx, &own, 1, buf, sizeof buf), "a@0:-", "... and an entry's own hash");
    IS_STR(matched(idx, &other, 1, buf, sizeof buf), "b@0:-", "... and a plain entry");
    IS_STR(matched_as(idx, &rot, 1, 0, buf, sizeof buf), "a@0:rot+5",
           "trimmed content at the rot+5 matches through it");
    IS_STR(matched_as(idx, &rot, 1, 1, buf, sizeof buf), "",
           "... not when the image's hash is calm corners");
    /* corners_only: the query 12 bits from the stored rot+5 */
    phm_pdq q12 = flipped(rot, 12);
    IS_STR(matched_corners(idx, &q12, NULL, buf, sizeof buf), "a@12:rot+5",
           "a query 12 bits from rot+5 matches through it");
    phm_pdq far = flipped(q12, 40), near = flipped(q12, 11);
    far.w[3] ^= ~0ull; /* 40 + 64 bits from the query, in bits it has not flipped */
    IS_STR(matched_corners(idx, &q12, &far, buf, sizeof buf), "a@12:rot+5",
           "... and so when its corners alone are far");
    near.w[2] ^= 0xfffull; /* 11 + 12 = 23 bits from the query */
    IS_STR(matched_corners(idx, &q12, &near, buf, sizeof buf), "a@12:rot+5",
           "... and when they are 23 bits off (nearer the slot than the corners)");
    phm_pdq at12 = q12;
    at12.w[2] ^= 0xfffull; /* exactly 12 bits from the query: as near as the slot */
    IS_STR(matched_corners(idx, &q12, &at12, buf, sizeof buf), "",
           "... not when the corners alone are as near as rot+5 (strict)");
    IS_STR(matched_corners(idx, &q12, &q12, buf, sizeof buf), "",
           "... nor when the query's hash is its corners'");
    phm_pdq c12 = flipped(crop, 12);
    IS_STR(matched_corners(idx, &c12, &c12, buf, sizeof buf), "a@12:crop5-c",
           "the bound leaves other variants alone");
    phm_pdq o12 = flipped(own, 12);
    IS_STR(matched_corners(idx, &o12, &o12, buf, sizeof buf), "a@12:-",
           "... and the entry's own hash");
    /* a "derotated" extra: the own hash and crops, never a rotation */
    IS_STR(matched_extra(idx, PHM_DEROTATED, &own, buf, sizeof buf), "a@0:-",
           "a de-rotated hash at an entry's own matches it");
    IS_STR(matched_extra(idx, PHM_DEROTATED, &crop, buf, sizeof buf), "a@0:crop5-c",
           "... and at its crop5-c");
    IS_STR(matched_extra(idx, PHM_DEROTATED, &rot, buf, sizeof buf), "",
           "... not at its stored rot+5");
    IS_STR(matched_extra(idx, PHM_DEROTATED, &other, buf, sizeof buf), "b@0:-",
           "... a plain entry too");
    /* its area64 hash ("area64-derotated"): the entries' area64 hashes only */
    phm_pdq small = hash_of(5), small_area = hash_of(6);
    phm_entry c = { .source = "s", .id = "c", .signals = PHM_SIG_PDQ, .quality = 90,
                    .pdq = small, .nvariants = 1 };
    c.variants[0] = (phm_entry_variant){ PHM_KV_AREA64, small_area };
    IS_INT(add(idx, &c), PHM_OK, "an entry with an area64 hash");
    IS_STR(matched_extra(idx, PHM_AREA64_DEROTATED, &small_area, buf, sizeof buf),
           "c@0:area64", "a de-rotation's area64 hash at it matches through it");
    IS_STR(matched_extra(idx, PHM_AREA64_DEROTATED, &small, buf, sizeof buf), "",
           "... not at the entry's own hash");
    IS_STR(matched_extra(idx, PHM_DEROTATED, &small_area, buf, sizeof buf), "",
           "a de-rotated hash does not meet an area64 hash");
    phm_index_close(idx);
}

int main(void)
{
    scratch_dir(dir, sizeof dir, "corners");
    test_find();
    test_fill();
    test_query();
    test_derotate();
    test_derotate_grown();
    test_derotate_small();
    test_kinds();
    test_match();
    scratch_done(dir);
    return tap_done();
}
