/* corners.c - the corners a small rotation uncovers (phmatch.h, "rotation
 * corners"): found by their shape, and filled from the picture next to
 * them.
 *
 * A picture rotated by a few degrees on its own canvas shows four
 * triangles of one fill colour at the canvas corners. In a calm picture
 * those triangles are most of what PDQ sees (a flat picture rotated by 5
 * degrees hashes at quality ~70), so the hashes of two different calm
 * pictures rotated alike meet: on a dev set, rotated copies of flat
 * wallpapers matched the stored rotations of two other pictures at 22-30
 * bits (docs/ROBUST.md, "Rotation corners"). Filled from the picture,
 * the corners carry no edge of their own and the hash is the picture's:
 * when that hash is below PDQ's quality gate, the corners made the
 * image's own hash, and the matcher keeps it from the stored rotations
 * (phm_match_options.calm_corners).
 *
 * Every triangle of one rotation has the same angle (its short leg over
 * its long leg is tan(degrees)), opposite corners are congruent (the
 * rotation is about the centre), and neighbours lie the other way (one
 * tall, the next wide): the finder asks all of that, so a dark picture
 * whose own corners are dark, a vignette or a frame is not taken for one. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "decode_internal.h"
#include "phmatch.h"

/* Channel difference within which a pixel is of the fill colour (JPEG
 * noise on a flat fill stays well within it; an anti-aliased edge
 * pixel, half fill, half picture, is usually out). */
#define FILL_TOLERANCE 28
/* The angles looked for: tan(0.5 deg) .. tan(20 deg). */
#define RATIO_MIN 0.0087
#define RATIO_MAX 0.364
/* The shortest leg taken for a triangle, in pixels: below it the shape
 * cannot be told from noise. */
#define LEG_MIN 3

/* Corner k: 0 top left, 1 top right, 2 bottom right, 3 bottom left. */
static const int step_x[4] = { 1, -1, -1, 1 }, step_y[4] = { 1, 1, -1, -1 };

static const uint8_t *pixel(const phm_image *img, uint32_t x, uint32_t y)
{
    return img->pixels + (size_t)y * img->stride + (size_t)x * img->channels;
}

static int near_fill(const phm_image *img, const uint8_t *p, const int fill[3])
{
    for (uint32_t c = 0; c < img->channels; c++)
        if (abs(p[c] - fill[c]) > FILL_TOLERANCE)
            return 0;
    return 1;
}

/* Pixels of the fill colour from corner k along line `at` (a row when
 * along_x, else a column; counted from the corner's side), up to max. */
static uint32_t run(const phm_image *img, int k, int along_x, uint32_t at, uint32_t max,
                    const int fill[3])
{
    uint32_t x0 = step_x[k] > 0 ? 0 : img->width - 1;
    uint32_t y0 = step_y[k] > 0 ? 0 : img->height - 1;
    uint32_t n = 0;
    while (n < max) {
        uint32_t x, y;
        if (along_x) {
            x = step_x[k] > 0 ? x0 + n : x0 - n;
            y = step_y[k] > 0 ? y0 + at : y0 - at;
        } else {
            x = step_x[k] > 0 ? x0 + at : x0 - at;
            y = step_y[k] > 0 ? y0 + n : y0 - n;
        }
        if (!near_fill(img, pixel(img, x, y), fill))
            break;
        n++;
    }
    return n;
}

/* The triangle at corner k: its legs along x and y measured on the
 * second row and column (the first may hold an edge artefact), then
 * its long side checked for straightness at a quarter, half and three
 * quarters. Its legs stay under half the sides on the picture's own
 * canvas; on a canvas grown to hold the turn (`grown`) the long one
 * runs to where the picture's corner touches that side, most of it.
 * 1 when it is one, with *lx, *ly its legs. */
static int triangle(const phm_image *img, int k, const int fill[3], int grown, double *lx,
                    double *ly)
{
    uint32_t maxx = grown ? img->width - 2 : img->width / 2;
    uint32_t maxy = grown ? img->height - 2 : img->height / 2;
    uint32_t a = run(img, k, 1, 1, maxx, fill), b = run(img, k, 0, 1, maxy, fill);
    if (a < LEG_MIN || b < LEG_MIN || a >= maxx || b >= maxy)
        return 0;
    int wide = a >= b;
    double longl = wide ? a : b, shortl = wide ? b : a;
    double r = shortl / longl;
    if (r < RATIO_MIN || r > RATIO_MAX)
        return 0;
    /* Measured one line in, each leg is short of the corner's by about
     * the other's slope: put that back. */
    double a0 = a + (double)a / b, b0 = b + (double)b / a;
    double slack = 2.0 + 0.2 * (wide ? b0 : a0);
    for (int q = 1; q <= 3; q++) {
        double t = q / 4.0;
        uint32_t at = (uint32_t)lround(t * (wide ? a0 : b0));
        double want = (1.0 - t) * (wide ? b0 : a0);
        uint32_t got = run(img, k, !wide, at, wide ? maxy : maxx, fill);
        if (fabs(got - want) > slack)
            return 0;
    }
    *lx = a0;
    *ly = b0;
    return 1;
}

/* The fill: the top-left pixel one in from the edge; the other corners
 * must agree with it. 0 when they do not or the image is too small. */
static int canvas_fill(const phm_image *img, int fill[3])
{
    fill[0] = fill[1] = fill[2] = 0;
    if (img->width < 16 || img->height < 16)
        return 0;
    const uint8_t *p = pixel(img, 1, 1);
    for (uint32_t c = 0; c < img->channels; c++)
        fill[c] = p[c];
    const uint32_t cx[4] = { 1, img->width - 2, img->width - 2, 1 };
    const uint32_t cy[4] = { 1, 1, img->height - 2, img->height - 2 };
    for (int k = 1; k < 4; k++)
        if (!near_fill(img, pixel(img, cx[k], cy[k]), fill))
            return 0;
    return 1;
}

/* A corner whose picture is near the fill colour runs on into the
 * picture and is no triangle (wallpapers dark at the bottom lose both
 * lower ones): such a corner is its opposite's (the rotation is about
 * the centre) if that one is a triangle and this one is of the fill
 * colour at least that far. 0 when a corner is neither. */
static int borrow_opposite(const phm_image *img, const int fill[3], const int ok[4],
                           double lx[4], double ly[4], int grown)
{
    uint32_t maxx = grown ? img->width - 2 : img->width / 2;
    uint32_t maxy = grown ? img->height - 2 : img->height / 2;
    for (int k = 0; k < 4; k++) {
        int o = (k + 2) & 3;
        if (ok[k])
            continue;
        if (!ok[o])
            return 0;
        lx[k] = lx[o];
        ly[k] = ly[o];
        if (run(img, k, 1, 1, maxx, fill) + 2 + 0.1 * lx[o] < lx[o] - lx[o] / ly[o] ||
            run(img, k, 0, 1, maxy, fill) + 2 + 0.1 * ly[o] < ly[o] - ly[o] / lx[o])
            return 0;
    }
    return 1;
}

/* One rotation: neighbours lie the other way, opposite corners are
 * alike, and all four have about one angle. 1 with *out set when the
 * legs lx, ly are that. */
static int one_rotation(const phm_image *img, const int fill[3], const double lx[4],
                        const double ly[4], phm_corners *out)
{
    int wide0 = lx[0] >= ly[0];
    double rmin = 1, rmax = 0;
    for (int k = 0; k < 4; k++) {
        int wide = lx[k] >= ly[k];
        if (wide != (wide0 ^ (k & 1)))
            return 0;
        double r = wide ? ly[k] / lx[k] : lx[k] / ly[k];
        rmin = r < rmin ? r : rmin;
        rmax = r > rmax ? r : rmax;
    }
    if (rmax > 1.5 * rmin)
        return 0;
    for (int k = 0; k < 2; k++)
        if (fabs(lx[k] - lx[k + 2]) > 3 + 0.15 * lx[k] ||
            fabs(ly[k] - ly[k + 2]) > 3 + 0.15 * ly[k])
            return 0;
    for (int k = 0; k < 4; k++) {
        out->leg_x[k] = lx[k];
        out->leg_y[k] = ly[k];
    }
    for (uint32_t c = 0; c < 3; c++)
        out->fill[c] = (uint8_t)fill[img->channels == 3 ? c : 0];
    return 1;
}

/* Whether, on a canvas grown to hold the turn, each side of the w x h
 * canvas is the two legs on it (the picture's corner touching it where
 * they meet), within tw across and th down. */
static int legs_fill_sides(const double lx[4], const double ly[4], double w, double h,
                           double tw, double th)
{
    return fabs(lx[0] + lx[1] - w) <= tw && fabs(lx[3] + lx[2] - w) <= tw &&
           fabs(ly[0] + ly[3] - h) <= th && fabs(ly[1] + ly[2] - h) <= th;
}

/* What both finders do first: check the arguments (PHM_ERR_INVALID),
 * clear *out, and read the fill (0 when the corners do not agree on one,
 * else 1). */
static int find_begin(const phm_image *img, phm_corners *out, int fill[3])
{
    if (!img || !out || !img->pixels || (img->channels != 1 && img->channels != 3) ||
        img->stride < (size_t)img->width * img->channels)
        return PHM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    return canvas_fill(img, fill);
}

/* The four corners' triangles (grown: legs may run the whole side), a
 * missing one borrowed from its opposite; 1 when at least two were found
 * and the rest could be borrowed. */
static int find_triangles(const phm_image *img, const int fill[3], int grown, double lx[4],
                          double ly[4])
{
    int ok[4], nok = 0;
    for (int k = 0; k < 4; k++)
        nok += ok[k] = triangle(img, k, fill, grown, &lx[k], &ly[k]);
    return nok >= 2 && borrow_opposite(img, fill, ok, lx, ly, grown);
}

int phm_corners_find(const phm_image *img, phm_corners *out)
{
    int fill[3], rc = find_begin(img, out, fill);
    if (rc != 1)
        return rc;
    double lx[4], ly[4];
    if (!find_triangles(img, fill, 0, lx, ly))
        return 0;
    return one_rotation(img, fill, lx, ly, out);
}

int phm__corners_find_grown(const phm_image *img, phm_corners *out)
{
    int fill[3], rc = find_begin(img, out, fill);
    if (rc != 1)
        return rc;
    /* As on the picture's own canvas, a corner may be its opposite's;
     * then each side of the canvas must be the two legs on it, the
     * picture's corner touching it where they meet (W' = W cos + H sin).
     * Where the picture is of the fill's colour at two neighbouring
     * corners, a leg runs on past that point and the sums fail: no
     * de-rotation, as before. */
    double lx[4], ly[4];
    if (!find_triangles(img, fill, 1, lx, ly))
        return 0;
    /* A long leg ends where the picture's edge, a slope of tan(angle),
     * leaves the fill: its anti-aliased pixels put that a pixel either
     * way across, 1 / tan(angle) along. */
    double w = img->width, h = img->height, slope = 0;
    for (int k = 0; k < 4; k++)
        slope += (lx[k] > ly[k] ? lx[k] / ly[k] : ly[k] / lx[k]) / 4;
    if (!legs_fill_sides(lx, ly, w, h, 4 + 0.02 * w + slope, 4 + 0.02 * h + slope))
        return 0;
    return one_rotation(img, fill, lx, ly, out);
}

/* Fills corner k's triangle in out (a copy of the image): along its
 * short leg, each line of the triangle takes the mean of the four
 * picture pixels just past its long side (past `guard` more, where the
 * rotation blended fill and picture and JPEG rang). */
static void fill_triangle(const phm_image *out, uint8_t *px, int k, double lx, double ly, uint32_t guard)
{
    int wide = lx >= ly;
    /* A wide triangle is filled column by column (down from the top or
     * up from the bottom), a tall one row by row. */
    double longl = wide ? lx : ly, shortl = wide ? ly : lx;
    /* The guard runs along the long side past its end too: the rotation
     * blended the pixels there as well. */
    double reach = longl * (1.0 + guard / shortl); /* shortl > 0: legs_fit */
    uint32_t nlines = wide ? out->width : out->height;
    uint32_t lines = reach < nlines ? (uint32_t)ceil(reach) : nlines;
    uint32_t span = wide ? out->height : out->width; /* along a line */
    const uint32_t ch = out->channels;
    for (uint32_t i = 0; i < lines; i++) {
        double edge = shortl * (1.0 - (i + 0.5) / longl) + guard;
        if (edge <= 0)
            break;
        if (edge + 4 > span / 2.0)
            continue; /* a tiny image: nothing of the picture near */
        uint32_t from = (uint32_t)ceil(edge);
        /* the line's first pixel (on the canvas edge) and the step along it */
        uint8_t *base;
        ptrdiff_t step;
        if (wide) {
            uint32_t x = step_x[k] > 0 ? i : out->width - 1 - i;
            base = px + (size_t)x * ch +
                   (step_y[k] > 0 ? 0 : (size_t)(out->height - 1) * out->stride);
            step = step_y[k] > 0 ? (ptrdiff_t)out->stride : -(ptrdiff_t)out->stride;
        } else {
            uint32_t y = step_y[k] > 0 ? i : out->height - 1 - i;
            base = px + (size_t)y * out->stride +
                   (step_x[k] > 0 ? 0 : (size_t)(out->width - 1) * ch);
            step = step_x[k] > 0 ? (ptrdiff_t)ch : -(ptrdiff_t)ch;
        }
        unsigned sum[3] = { 0, 0, 0 };
        for (uint32_t j = from; j < from + 4; j++)
            for (uint32_t c = 0; c < ch; c++)
                sum[c] += base[(ptrdiff_t)j * step + c];
        uint8_t v[3];
        for (uint32_t c = 0; c < ch; c++)
            v[c] = (uint8_t)((sum[c] + 2) / 4);
        for (uint32_t j = 0; j < from; j++)
            memcpy(base + (ptrdiff_t)j * step, v, ch);
    }
}

/* Whether c's legs fit img: each finite, 0..its side times `sides` (0: no
 * triangle). The caller's corners may come from anywhere, not only
 * phm_corners_find. */
static int legs_within(const phm_image *img, const phm_corners *c, double sides)
{
    for (int k = 0; k < 4; k++)
        if (!(c->leg_x[k] >= 0 && c->leg_x[k] <= sides * img->width && c->leg_y[k] >= 0 &&
              c->leg_y[k] <= sides * img->height))
            return 0; /* also NaN */
    return 1;
}

static int legs_fit(const phm_image *img, const phm_corners *c)
{
    return legs_within(img, c, 1.0);
}

static void fill_all(const phm_image *img, uint8_t *px, const phm_corners *c)
{
    uint32_t side = img->width < img->height ? img->width : img->height;
    uint32_t guard = 2 + side / 256;
    for (int k = 0; k < 4; k++)
        if (c->leg_x[k] > 0 && c->leg_y[k] > 0)
            fill_triangle(img, px, k, c->leg_x[k], c->leg_y[k], guard);
}

int phm_corners_fill(const phm_image *img, const phm_corners *c, uint8_t *buf,
                     size_t buflen, phm_image *out)
{
    if (!img || !c || !legs_fit(img, c))
        return PHM_ERR_INVALID;
    /* the whole image copied (phm_image_crop checks the rest) */
    int rc = phm_image_crop(img, 0, 0, img->width, img->height, buf, buflen, out);
    if (rc == PHM_OK)
        fill_all(out, buf, c);
    return rc;
}

void phm__corners_fill_in_place(const phm_image *img, uint8_t *pixels, const phm_corners *c)
{
    if (legs_fit(img, c))
        fill_all(img, pixels, c);
}

/* The picture's mean colour (the filled image's: its corners carry the
 * picture's own colours). */
static void mean_colour(const phm_image *img, const uint8_t *pixels, uint8_t mean[3])
{
    double sum[3] = { 0, 0, 0 };
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++)
            for (uint32_t k = 0; k < img->channels; k++)
                sum[k] += pixels[(size_t)y * img->stride + (size_t)x * img->channels + k];
    double n = (double)img->width * img->height;
    for (uint32_t k = 0; k < 3; k++)
        mean[k] = k < img->channels ? (uint8_t)(sum[k] / n + 0.5) : 0;
}

/* The corners alone (phm_query_hashes.corners_pdq), drawn over img's
 * pixels: the picture flat at its mean colour (mean), the rest in c's fill
 * colour. degrees 0: each triangle of c as found; else the corners a turn
 * by that many degrees leaves on the canvas, drawn as phm_image_rotate
 * draws a flat picture (a pixel whose source lies outside the picture
 * takes the fill, every other the flat colour, no blend), i.e. what a
 * flat picture of this size gives as its stored rotation. PDQ's hash
 * ignores the mean (the DC term) and the contrast, so either is the hash
 * the corners give any picture flat to PDQ; but such a hash is fragile
 * (most of its DCT terms are near zero: the same corners drawn at 256
 * pixels a side land 70 bits off), hence both drawings, at full size. */
static void paint(const phm_image *img, uint8_t *pixels, const phm_corners *c,
                  const uint8_t mean[3], double degrees)
{
    uint32_t ch = img->channels;
    const phm__turn turn = phm__turn_of(img->width, img->height, degrees);
    for (uint32_t y = 0; y < img->height; y++) {
        uint8_t *row = pixels + (size_t)y * img->stride;
        for (uint32_t x = 0; x < img->width; x++) {
            int in = 0;
            if (degrees != 0) {
                double sx, sy;
                in = phm__turn_source(&turn, x, y, &sx, &sy);
            } else {
                for (int k = 0; k < 4 && !in; k++) {
                    /* the pixel's distance from corner k's two edges */
                    double ex = step_x[k] > 0 ? x : img->width - 1 - x;
                    double ey = step_y[k] > 0 ? y : img->height - 1 - y;
                    in = c->leg_x[k] > 0 && c->leg_y[k] > 0 &&
                         ex / c->leg_x[k] + ey / c->leg_y[k] < 1.0;
                }
            }
            memcpy(row + (size_t)x * ch, in ? c->fill : mean, ch);
        }
    }
}

int phm__corners_alone(phm_hasher *h, const phm_image *img, uint8_t *pixels,
                       const phm_corners *c, phm_mode mode, int dihedral,
                       phm_pdq_result out[PHM_CORNERS_ALONE])
{
    /* the turns stored on a filled canvas (phm_fill_kind: 3 and 5
     * degrees), the way the found corners lie: clockwise (positive) leaves
     * the top-left triangle tall */
    static const double turns[PHM_CORNERS_ALONE - 1] = { 3, 5 };
    if (!legs_fit(img, c))
        return 0;
    int k0 = c->leg_x[0] > 0 ? 0 : 2; /* a corner found on the picture's side */
    double way = c->leg_y[k0] > c->leg_x[k0] ? 1 : -1;
    uint8_t mean[3];
    mean_colour(img, pixels, mean);
    int n = 0;
    for (int i = 0; i < PHM_CORNERS_ALONE; i++) {
        paint(img, pixels, c, mean, i ? way * turns[i - 1] : 0);
        if (phm_hash_image(h, img, mode, dihedral, &out[n]) == PHM_OK)
            n++;
    }
    return n;
}

/* The reduced copy t as an image, and its fill: the colour of its first
 * block. 0 when it is too small to tell a triangle in. */
static int thumb_image(const phm_thumb *t, phm_image *img, int fill[3])
{
    *img = (phm_image){ t->pixels, t->w, t->h, t->channels, (size_t)t->w * t->channels,
                        PHM_FORMAT_JPEG };
    fill[0] = fill[1] = fill[2] = 0;
    if (!t->pixels || t->w < 16 || t->h < 16)
        return 0;
    for (uint32_t c = 0; c < img->channels; c++)
        fill[c] = t->pixels[c];
    return 1;
}

/* The reduced copy of a streamed JPEG (8 x 8 block means) blurs a
 * triangle's long side and shortens its short leg to a few pixels, too
 * few for phm_corners_find to be sure of: here only the pattern is asked,
 * each corner of the fill colour with a long run one way and a short one
 * the other, neighbours turned the other way. The image is then decoded
 * whole again and looked at on its full pixels. */
int phm__thumb_corners(const phm_thumb *t)
{
    phm_image img;
    int fill[3];
    if (!thumb_image(t, &img, fill))
        return 0;
    /* which way the top-left corner's triangle would lie: wide (1) or
     * tall (0); each corner's own answer is turned for odd k */
    int way = -1, good = 0;
    for (int k = 0; k < 4; k++) {
        uint32_t a = run(&img, k, 1, 0, img.width / 2, fill);
        uint32_t b = run(&img, k, 0, 0, img.height / 2, fill);
        if (!a || !b)
            return 0; /* a corner not of the fill colour */
        uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
        if (a == img.width / 2 || b == img.height / 2 || hi < 4 || 2 * lo > hi)
            continue; /* runs on into a picture of about the fill's colour */
        int w = (a >= b) ^ (k & 1);
        if (way >= 0 && w != way)
            return 0;
        way = w;
        good++;
    }
    return good >= 2;
}

/* phm__thumb_corners for a rotation on a canvas grown to hold it: each
 * corner with a long run of the fill colour one way and a short one the
 * other, neighbours turned the other way, and each side of the canvas
 * about the two runs on it (the block means blur where the picture's
 * corner touches it). Only a trigger: the full pixels decide. */
int phm__thumb_corners_grown(const phm_thumb *t)
{
    phm_image img;
    int fill[3];
    if (!thumb_image(t, &img, fill))
        return 0;
    /* A long run stops where the wedge is thinner than a block, about
     * 1 / tan(angle) blocks short of the touching point (20 at 2.5
     * degrees): the sums are let off that much (slope). */
    double a[4], b[4];
    int way = -1;
    double slope = 0;
    for (int k = 0; k < 4; k++) {
        uint32_t ra = run(&img, k, 1, 0, img.width, fill);
        uint32_t rb = run(&img, k, 0, 0, img.height, fill);
        uint32_t lo = ra < rb ? ra : rb, hi = ra < rb ? rb : ra;
        /* the short leg of a small turn can be a block or none */
        if (hi < 4 || 2 * lo > hi || ra == img.width || rb == img.height)
            return 0;
        int wide = (ra >= rb) ^ (k & 1);
        if (way >= 0 && wide != way)
            return 0;
        way = wide;
        slope += (double)hi / (lo ? lo : 1) / 4;
        a[k] = ra;
        b[k] = rb;
    }
    double w = img.width, h = img.height;
    return legs_fill_sides(a, b, w, h, 3 + 0.1 * w + slope, 3 + 0.1 * h + slope);
}

/* The turn c's triangles show and the picture's size (issue 15,
 * docs/ROBUST.md, "De-rotation by the corners"): each triangle's short
 * leg over its long leg is tan(angle); a tall one at the top left or
 * bottom right (a wide one at the other two) is a clockwise turn, as
 * phm__corners_alone reads it. Each hypotenuse lies on an edge of the
 * picture, a tall one on its left or right edge, a wide one on its top
 * or bottom: its midpoint's distance from the canvas centre, across that
 * edge, is half the picture's width or height. That holds on the
 * picture's own canvas (corners of the picture cut off: the sizes come
 * out as the canvas's) and on a canvas grown to hold the whole turn (W'
 * = W cos + H sin: the sizes come out as the picture's). Returns 0 when c
 * has no triangle to read. */
static int corners_turn(const phm_image *img, const phm_corners *c, double *degrees,
                        double *width, double *height)
{
    double shortl = 0, longl = 0;
    int way = 0;
    for (int k = 0; k < 4; k++) {
        double lx = c->leg_x[k], ly = c->leg_y[k];
        if (!(lx > 0 && ly > 0))
            continue;
        shortl += lx < ly ? lx : ly;
        longl += lx < ly ? ly : lx;
        way += ((ly > lx) ^ (k & 1)) ? 1 : -1;
    }
    if (!(longl > 0) || way == 0)
        return 0;
    double t = atan(shortl / longl) * (way > 0 ? 1 : -1);
    double ux = cos(t), uy = sin(t); /* the picture's x axis (y down) */
    double cx = img->width / 2.0, cy = img->height / 2.0;
    double sum_w = 0, sum_h = 0;
    int nw = 0, nh = 0;
    for (int k = 0; k < 4; k++) {
        double lx = c->leg_x[k], ly = c->leg_y[k];
        if (!(lx > 0 && ly > 0))
            continue;
        double mx = step_x[k] > 0 ? lx / 2 : img->width - lx / 2;
        double my = step_y[k] > 0 ? ly / 2 : img->height - ly / 2;
        if (ly > lx) { /* the left or right edge: across it is along x */
            sum_w += 2 * fabs(ux * (mx - cx) + uy * (my - cy));
            nw++;
        } else {
            sum_h += 2 * fabs(-uy * (mx - cx) + ux * (my - cy));
            nh++;
        }
    }
    *degrees = t * 180.0 / M_PI;
    *width = nw ? sum_w / nw : img->width;
    *height = nh ? sum_h / nh : img->height;
    return 1;
}

/* The pixel `depth` in from the canvas edge on line `line` of corner k's
 * triangle: a column for a wide one (its long leg along x), else a row. */
static const uint8_t *along(const phm_image *img, int k, int wide, uint32_t line, uint32_t depth)
{
    uint32_t a = wide ? line : depth, b = wide ? depth : line;
    return pixel(img, step_x[k] > 0 ? a : img->width - 1 - a,
                 step_y[k] > 0 ? b : img->height - 1 - b);
}

/* At most this many lines are read along a long leg. */
#define EDGE_LINES 128
/* The least contrast between the fill and the picture past it for a line
 * to say where the edge crosses it. */
#define EDGE_CONTRAST 48

/* Where line `line` of corner k's triangle leaves the fill, to a fraction
 * of a pixel, from the canvas edge: the fill's share of each pixel about
 * the first one off it, against the picture two pixels further (an
 * anti-aliased edge pixel is the two blended by the area each covers).
 * -1 when the line shows no edge to measure (no contrast, or no picture
 * within max). */
static double edge_depth(const phm_image *img, int k, int wide, uint32_t line, uint32_t max,
                         const uint8_t fill[3])
{
    int f[3] = { fill[0], fill[1], fill[2] };
    uint32_t span = wide ? img->height : img->width, r = 0;
    if (span < 4)
        return -1;
    if (max > span - 3)
        max = span - 3; /* the picture two past the edge is read */
    while (r < max && near_fill(img, along(img, k, wide, line, r), f))
        r++;
    if (r == 0 || r >= max)
        return -1;
    const uint8_t *q = along(img, k, wide, line, r + 2);
    uint32_t best = 0;
    for (uint32_t c = 1; c < img->channels; c++)
        if (abs(q[c] - f[c]) > abs(q[best] - f[best]))
            best = c;
    double contrast = q[best] - f[best];
    if (fabs(contrast) < EDGE_CONTRAST)
        return -1;
    double depth = r - 1.0;
    for (uint32_t d = r - 1; d <= r + 1; d++) {
        double share = (q[best] - along(img, k, wide, line, d)[best]) / contrast;
        depth += share < 0 ? 0 : share > 1 ? 1 : share;
    }
    return depth;
}

/* Corner k's legs measured along its long side, in place of the two runs
 * of whole pixels the finder reads (issue 15, docs/ROBUST.md,
 * "De-rotation of small pictures"). A run is a pixel either way, and a
 * short leg of a small picture's turn is a few pixels: a 60-pixel icon
 * turned 5 degrees read as 6.1 degrees, and turned back by that it lands
 * 26-40 bits from its own hash (by the true angle, 4-24). Each line
 * across the long leg crosses the picture's edge; a straight line fitted
 * through the crossings (twice, the second time without the lines more
 * than a pixel off the first, where the picture's own edges or JPEG's
 * ringing moved one) gives the short leg where it meets the canvas edge
 * and the angle. Returns 0, leaving the legs as they are, when fewer than
 * 8 lines show the edge or the fit does not agree with the runs. */
static int edge_legs(const phm_image *img, int k, const uint8_t fill[3], double *lx, double *ly)
{
    int wide = *lx >= *ly;
    double longl = wide ? *lx : *ly, shortl = wide ? *ly : *lx;
    uint32_t lines = wide ? img->width : img->height;
    /* the lines where the edge is a pixel in or more: all of them, for an
     * aliased edge (a turn without blending) is a staircase, and a line
     * fitted to part of one is off by up to half a step over that part */
    double end = longl * (1.0 - 1.0 / shortl);
    if (!(shortl >= LEG_MIN) || !(end >= 9) || lines < 3)
        return 0;
    uint32_t last = end < lines - 2 ? (uint32_t)end : lines - 2;
    uint32_t step = last / EDGE_LINES + 1, max = (uint32_t)(shortl + 4);
    double u[EDGE_LINES + 1], v[EDGE_LINES + 1];
    int n = 0;
    for (uint32_t i = 1; i <= last && n <= EDGE_LINES; i += step) {
        double d = edge_depth(img, k, wide, i, max, fill);
        if (d >= 0) {
            u[n] = i + 0.5; /* the line's centre */
            v[n++] = d;
        }
    }
    double a = 0, b = 0;
    for (int pass = 0; pass < 2; pass++) {
        double su = 0, sv = 0, suu = 0, suv = 0, m = 0;
        for (int i = 0; i < n; i++) {
            if (pass && fabs(v[i] - (a + b * u[i])) > 1.0)
                continue;
            su += u[i];
            sv += v[i];
            suu += u[i] * u[i];
            suv += u[i] * v[i];
            m++;
        }
        double det = m * suu - su * su;
        if (m < 8 || !(det > 0))
            return 0;
        b = (m * suv - su * sv) / det;
        a = (sv - b * su) / m;
    }
    /* the edge falls away from the corner, at about the runs' angle */
    double ratio = -b, measured = shortl / longl;
    if (!(ratio > measured / 1.5 && ratio < measured * 1.5) || !(a > 0))
        return 0;
    /* On a canvas grown with room to spare (ImageMagick's, a pixel or two
     * a side) the line meets the canvas edge past the picture's corner:
     * the legs are then longer than the runs, by a pixel across and
     * 1 / tan(angle) along. */
    double s = a, l = a / ratio;
    if (l > 2.0 * (wide ? img->width : img->height) || s > (wide ? img->height : img->width))
        return 0;
    *lx = wide ? l : s;
    *ly = wide ? s : l;
    return 1;
}

void phm__corners_measure(const phm_image *img, const phm_corners *c, phm_corners *out)
{
    *out = *c;
    if (!img || !legs_fit(img, c))
        return;
    for (int k = 0; k < 4; k++)
        if (out->leg_x[k] > 0 && out->leg_y[k] > 0)
            edge_legs(img, k, c->fill, &out->leg_x[k], &out->leg_y[k]);
}

int phm__corners_derotate(phm_hasher *h, const phm_image *img, const phm_corners *c,
                          int grown, phm_mode mode, int dihedral, phm_pdq_result *out,
                          phm_pdq_result *area, int *area_made)
{
    double degrees, pw, ph;
    phm_image turned, view;
    int rc = PHM_ERR_INVALID;
    if (area_made)
        *area_made = 0;
    /* legs measured along the edges may run past the canvas (edge_legs) */
    if (!legs_within(img, c, 2.0) || !corners_turn(img, c, &degrees, &pw, &ph))
        return rc;
    size_t n = phm_image_bytes(img->width, img->height, img->channels);
    uint8_t *buf = n ? malloc(n) : NULL;
    if (!buf)
        return PHM_ERR_NOMEM;
    rc = phm_image_rotate(img, -degrees, 0, c->fill, buf, n, &turned);
    if (rc != PHM_OK)
        goto out;
    /* the picture, upright about the canvas centre: its box, within the
     * canvas. On its own canvas that is the canvas: a size read off the
     * edges there (of an aliased turn, a staircase) may come out a pixel
     * short, and a cut of one pixel's row and column at one side leaves
     * the corners the turn cut off unfound below. */
    if (!grown)
        pw = img->width, ph = img->height;
    uint32_t w = pw < 1 ? 1 : pw >= img->width ? img->width : (uint32_t)lround(pw);
    uint32_t hh = ph < 1 ? 1 : ph >= img->height ? img->height : (uint32_t)lround(ph);
    phm_rect box = { (img->width - w) / 2, (img->height - hh) / 2, w, hh };
    rc = phm_image_view(&turned, &box, &view);
    if (rc != PHM_OK)
        goto out;
    /* On its own canvas the turn cut the picture's corners off: turned
     * back, they are triangles of the fill, filled as the query's were. */
    phm_corners lost;
    if (phm_corners_find(&view, &lost) == 1)
        phm__corners_fill_in_place(&view, (uint8_t *)(uintptr_t)view.pixels, &lost);
    rc = phm_hash_image(h, &view, mode, dihedral, out);
    /* a small picture evenly resampled too, as the query's own is */
    if (rc == PHM_OK && area && area_made && view.width <= PHM_AREA64_MAX_SIDE &&
        view.height <= PHM_AREA64_MAX_SIDE)
        *area_made = phm_hash_area64(h, &view, mode, dihedral, area) == PHM_OK;
out:
    free(buf);
    return rc;
}
