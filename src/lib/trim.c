/* trim.c - border trimming (the "Border trimming" section of phmatch.h):
 * the content rectangle of an image inside a uniform border, a
 * low-detail fill (letterboxing and pillarboxing with a blurred or
 * stretched copy of the image) or the flat bars of a screenshot; and
 * hashing with it (phm_hash_mem_trim: a JPEG's reduced copy made in its
 * one pass, the image decoded whole again only when that shows a border).
 *
 * Each side is looked at on its own, line by line from the edge inward
 * (a line: a row for the top and bottom, a column for the left and
 * right), at LINE_SAMPLES places of each line at most, so an image costs
 * a few thousand pixels when it has no border and the border's lines
 * plus a few when it has one. Two kinds of border:
 *
 *   uniform: up to MAX_BANDS bands (a screenshot's bars), each of lines
 *     with UNIFORM_SHARE of their pixels within UNIFORM_TOL of the band's
 *     first line's mean colour (JPEG noise stays within it), each ending
 *     in a step: one of the next lines differs from the band's last line
 *     by more than STEP_LUMA in luma (or STEP_CHROMA in a channel) at
 *     STEP_SHARE of its pixels (a gradient sky, a dark night sky over a
 *     jagged skyline, a white product on white have none); and the lines
 *     after the last band are not mostly border again (a thin line across
 *     a plain image is not content).
 *     After a flat band (a screenshot's canvas, within FLAT_TOL), a band
 *     ends where the colour leaves FLAT_TOL with a softer step
 *     (FLAT_STEP), and a "band" whose off-canvas pixels span what the
 *     content's span is the content's own start (a pale sky under white).
 *     Bars of near colours (a status bar over an app bar) are split
 *     where the mean colour steps.
 *   fill: smooth lines (tune.fill_detail, tune.fill_steps) up to an edge
 *     where EDGE_SHARE of a line steps (EDGE_SHARE2 over two lines).
 *     Taken only in pairs: the opposite side has a border of about the
 *     same depth (letterboxing centres the image), since a soft sky or a
 *     blurred background alone looks the same. A weak edge (WEAK_EDGE:
 *     a blurred fill meeting its own smooth content) counts only opposite
 *     a border of nearly the same depth, and never after a plain colour.
 *   A uniform border too counts only opposite another border: a photo's
 *     own plain edge on one side is not one.
 *
 * Two passes: the bars across a screenshot cut, those along its sides
 * become whole lines. A side's border counts from MIN_BORDER of its
 * dimension, and the content must keep MIN_CONTENT of each dimension
 * (and MIN_CONTENT_PX).
 *
 * When that finds no border above and below the content, a phone's
 * screenshot whose bars carry text and icons (a status bar, an app bar,
 * a navigation bar; light or dark; rounded corners) is looked for by rows
 * instead (screen_box): rows mostly of one colour (the interface) above
 * and below a run of rows that are not (the image).
 *
 * wt-shot3: on a screen (first and last rows plain, a canvas colour;
 * any shape: an image viewer's window too), the content off the canvas
 * (screen_content) is the box when nothing else was found, and a second
 * box where it ends elsewhere than the first: a picture whose own edge
 * has the canvas's colour, which no band or layout rule can see. Its
 * stored counterpart is phm__edge_box (variants "trim-white" and
 * "trim-black"), the same rows and columns test on the known image.
 *
 * wt-shotgfx: the second box wherever the two differ at all. The runs
 * of rows screen_content leaves out at the content's top and bottom
 * (thick_rows: the screen's text lines, but a sparse graphic's own
 * caption or row of small shapes too) are left out of the known image's
 * "trim-white-thin" / "trim-black-thin" by the same function.
 *
 * Session 27: the canvas is the colour whose rows span the screen when
 * the most common plain colour is a picture's own ground (screen_canvas,
 * each candidate tried in turn); and a streamed JPEG's reduced copy is
 * looked at with the pixel minimums at its scale (tune.min_px), so a
 * picture 100 rows high on a screenshot's canvas still sends it to the
 * whole image's look; and a picture on a plain canvas (canvas_box) gets
 * a second box as a screen's does, its content less the thin runs at its
 * ends (the stored "trim-white-thin" / "trim-black-thin"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode_internal.h"
#include "phmatch.h"

#define LINE_SAMPLES 256
#define UNIFORM_TOL 40      /* per channel, from the border colour */
#define UNIFORM_SHARE 0.98  /* of a line's pixels within it */
#define STEP_LUMA 12
#define STEP_CHROMA 40
#define STEP_SHARE 0.40
#define MAX_BANDS 4
#define EDGE_SHARE 0.15
#define EDGE_SHARE2 0.25
#define WEAK_EDGE 0.06      /* a loose fill's edge (fill_depth) */
#define FLAT_TOL 10         /* a plain colour (fill_depth, flat_band) */
#define FLAT_STEP 6         /* a flat band's end (flat_band) */
#define INSIDE 4            /* a band's colour read this far inside it */
#define MIN_BORDER 0.02
#define MIN_CONTENT 0.20
#define MIN_CONTENT_PX 16u

enum { TOP, BOTTOM, LEFT, RIGHT };

/* What a fill is: its lines' fine detail at most fill_detail, at most
 * fill_steps of their pixels stepping from the line before. Strict on
 * the image itself; lenient on a streamed JPEG's reduced copy
 * (phm_hash_mem_trim), where a blur's gradients are up to 8 times steeper:
 * that look only decides whether to decode whole and look again,
 * strictly. */
typedef struct tune {
    double fill_detail, fill_steps;
    uint32_t min_px; /* MIN_CONTENT_PX at the scale looked at */
} tune;
static const tune strict = { 3.0, 0.03, MIN_CONTENT_PX }, lenient = { 8.0, 0.12, MIN_CONTENT_PX };

/* One side of an image seen as lines: pixel (k, i) is at base + k * in +
 * i * along; `lines` lines of `len` pixels. */
typedef struct side {
    const uint8_t *base;
    ptrdiff_t in, along;
    size_t lines, len;
    uint32_t channels;
    size_t n;          /* samples per line */
    const tune *t;
    /* the offset along a line of sample j, pos(j) * along: worked out
     * once, not with a division at each of a line's samples */
    ptrdiff_t off[LINE_SAMPLES];
} side;

/* Side `which` of rectangle r of img. */
static void side_init(side *s, const phm_image *img, const phm_rect *r, int which,
                      const tune *t)
{
    s->t = t;
    const ptrdiff_t ch = (ptrdiff_t)img->channels, st = (ptrdiff_t)img->stride;
    const uint8_t *tl = img->pixels + (size_t)r->y * img->stride + (size_t)r->x * img->channels;
    s->channels = img->channels;
    switch (which) {
    case TOP:
        s->base = tl, s->in = st, s->along = ch;
        s->lines = r->height, s->len = r->width;
        break;
    case BOTTOM:
        s->base = tl + (size_t)(r->height - 1) * img->stride;
        s->in = -st, s->along = ch;
        s->lines = r->height, s->len = r->width;
        break;
    case LEFT:
        s->base = tl, s->in = ch, s->along = st;
        s->lines = r->width, s->len = r->height;
        break;
    default:
        s->base = tl + (size_t)(r->width - 1) * img->channels;
        s->in = -ch, s->along = st;
        s->lines = r->width, s->len = r->height;
        break;
    }
    s->n = s->len - 1 < LINE_SAMPLES ? s->len - 1 : LINE_SAMPLES;
    for (size_t j = 0; j < s->n; j++)
        s->off[j] = (ptrdiff_t)(j * (s->len - 1) / s->n) * s->along;
}

/* Line k's first pixel; its j-th sample is at + s->off[j] (the sampled
 * positions j * (len - 1) / n: each has a right neighbour, + along). */
static const uint8_t *line_at(const side *s, size_t k)
{
    return s->base + (ptrdiff_t)k * s->in;
}

static int luma3(const uint8_t *p)
{
    return (77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8;
}

static int luma(const side *s, const uint8_t *p)
{
    return s->channels == 1 ? p[0] : luma3(p);
}

/* Mean colour of line k's samples. */
static void line_mean(const side *s, size_t k, int c[3])
{
    unsigned long sum[3] = { 0, 0, 0 };
    const uint8_t *l = line_at(s, k);
    for (size_t j = 0; j < s->n; j++) {
        const uint8_t *p = l + s->off[j];
        for (uint32_t ch = 0; ch < s->channels; ch++)
            sum[ch] += p[ch];
    }
    for (uint32_t ch = 0; ch < s->channels; ch++)
        c[ch] = (int)(sum[ch] / s->n);
}

/* Share of line k's samples within tol of colour c in every channel. */
static double share_within(const side *s, size_t k, const int c[3], int tol)
{
    size_t in = 0;
    const uint8_t *l = line_at(s, k);
    for (size_t j = 0; j < s->n; j++) {
        const uint8_t *p = l + s->off[j];
        int ok = 1;
        for (uint32_t ch = 0; ch < s->channels && ok; ch++)
            ok = abs(p[ch] - c[ch]) <= tol;
        in += (size_t)ok;
    }
    return (double)in / (double)s->n;
}

/* Share of line k's samples within UNIFORM_TOL of colour c. */
static double uniform_share(const side *s, size_t k, const int c[3])
{
    return share_within(s, k, c, UNIFORM_TOL);
}

/* Mean luma step between a sample and its neighbour along line k. */
static double detail(const side *s, size_t k)
{
    unsigned long sum = 0;
    const uint8_t *l = line_at(s, k);
    for (size_t j = 0; j < s->n; j++) {
        const uint8_t *p = l + s->off[j];
        sum += (unsigned long)abs(luma(s, p + s->along) - luma(s, p));
    }
    return (double)sum / (double)s->n;
}

/* Share of samples where line a and line b differ: in luma by more than
 * STEP_LUMA, or in a channel by more than STEP_CHROMA (colour against
 * grey of the same lightness; JPEG's chroma noise stays below it). */
static double step_share_lt(const side *s, size_t a, size_t b, int lt);

static double step_share(const side *s, size_t a, size_t b)
{
    return step_share_lt(s, a, b, STEP_LUMA);
}

/* step_share() with a luma step of more than lt. */
static double step_share_lt(const side *s, size_t a, size_t b, int lt)
{
    size_t d = 0;
    const uint8_t *la = line_at(s, a), *lb = line_at(s, b);
    if (s->channels == 3) {
        /* the same test without a branch a sample: which way it goes
         * follows the picture, and mispredicts at every edge */
        for (size_t j = 0; j < s->n; j++) {
            const uint8_t *p = la + s->off[j], *q = lb + s->off[j];
            d += (size_t)((abs(luma3(p) - luma3(q)) > lt) | (abs(p[0] - q[0]) > STEP_CHROMA) |
                          (abs(p[1] - q[1]) > STEP_CHROMA) | (abs(p[2] - q[2]) > STEP_CHROMA));
        }
        return (double)d / (double)s->n;
    }
    for (size_t j = 0; j < s->n; j++) {
        const uint8_t *p = la + s->off[j], *q = lb + s->off[j];
        int big = abs(luma(s, p) - luma(s, q)) > lt;
        for (uint32_t ch = 0; ch < s->channels && !big; ch++)
            big = abs(p[ch] - q[ch]) > STEP_CHROMA;
        d += (size_t)big;
    }
    return (double)d / (double)s->n;
}

/* Lines looked at after a border's end to see content. */
static size_t window(const side *s)
{
    size_t w = s->lines / 32;
    return w < 4 ? 4 : w;
}

/* Whether the content starts with a step at line d: one of lines d..d+2
 * differs from line d-1 at STEP_SHARE of its pixels. */
static int step_at_lt(const side *s, size_t d, double share, int lt)
{
    for (size_t j = 0; j < 3 && d + j < s->lines; j++)
        if (step_share_lt(s, d + j, d - 1, lt) >= share)
            return 1;
    return 0;
}

static int step_at(const side *s, size_t d, double share)
{
    return step_at_lt(s, d, share, STEP_LUMA);
}

/* A flat band (a screenshot's plain canvas: all of line b within FLAT_TOL
 * of c; b a few lines inside the band) from b to where the colour leaves FLAT_TOL, ending in a step of
 * more than FLAT_STEP in luma (content a little darker than a white
 * canvas: a bright sky); its end, or 0. */
static size_t flat_band(const side *s, size_t b, size_t maxd, const int c[3])
{
    size_t d = b;
    while (d < maxd && share_within(s, d, c, FLAT_TOL) >= UNIFORM_SHARE)
        d++;
    if (d - b < 2 || d >= maxd)
        return 0;
    return step_at_lt(s, d, STEP_SHARE, FLAT_STEP) ? d : 0;
}

/* The first line of b+1..e whose mean colour differs from the line
 * before's by more than STEP_LUMA in a channel, with a step there
 * (step_at); 0 if none. */
static size_t band_split(const side *s, size_t b, size_t e)
{
    int prev[3] = { 0, 0, 0 }, c[3] = { 0, 0, 0 };
    line_mean(s, b, prev);
    for (size_t k = b + 1; k <= e && k < s->lines; k++) {
        line_mean(s, k, c);
        int jump = 0;
        for (uint32_t ch = 0; ch < s->channels; ch++)
            jump |= abs(c[ch] - prev[ch]) > STEP_LUMA;
        if (jump)
            return step_at(s, k, STEP_SHARE) ? k : 0;
        memcpy(prev, c, sizeof c);
    }
    return 0;
}

/* The first and last samples of line k off colour c by more than
 * FLAT_TOL; 0 if none. */
static int off_span(const side *s, size_t k, const int c[3], size_t *lo, size_t *hi)
{
    int any = 0;
    const uint8_t *l = line_at(s, k);
    for (size_t j = 0; j < s->n; j++) {
        const uint8_t *p = l + s->off[j];
        int off = 0;
        for (uint32_t ch = 0; ch < s->channels && !off; ch++)
            off = abs(p[ch] - c[ch]) > FLAT_TOL;
        if (off) {
            if (!any)
                *lo = j;
            *hi = j;
            any = 1;
        }
    }
    return any;
}

/* Lines a and b differ from a canvas of colour c over the same span
 * (within 2 % of the line). */
static int same_span(const side *s, size_t a, size_t b, const int c[3])
{
    size_t alo = 0, ahi = 0, blo = 0, bhi = 0, tol = s->n / 50 + 1;
    if (c[0] < 0 || !off_span(s, a, c, &alo, &ahi) || !off_span(s, b, c, &blo, &bhi))
        return 0;
    return (alo > blo ? alo - blo : blo - alo) <= tol && (ahi > bhi ? ahi - bhi : bhi - ahi) <= tol;
}

/* The depth of a uniform border on this side, or 0: up to MAX_BANDS
 * bands of one colour each (a screenshot's bars), each ending in a step.
 * `maxd`: the deepest a border may go. */
static size_t uniform_depth(const side *s, size_t maxd)
{
    int c[3] = { 0, 0, 0 }, canvas[3] = { -1000, -1000, -1000 };
    size_t d = 0;
    for (int band = 0; band < MAX_BANDS; band++) {
        size_t b = d;
        /* The colour of a band after the first a little inside it: its
         * first lines may blend with the band before (JPEG's subsampled
         * chroma, ringing). */
        size_t in = b > 0 && b + INSIDE < maxd ? b + INSIDE : b;
        line_mean(s, in, c);
        /* A flat canvas (a screenshot's) ends where its colour leaves
         * FLAT_TOL: content a little darker than it (a pale sky under
         * white) is content, not more of the band. */
        size_t e = in > b && share_within(s, in, c, FLAT_TOL) >= UNIFORM_SHARE
                       ? flat_band(s, in, maxd, c)
                       : 0;
        if (e) {
            d = e;
            memcpy(canvas, c, sizeof canvas);
            continue;
        }
        while (d < maxd && uniform_share(s, d, c) >= UNIFORM_SHARE)
            d++;
        if (d == b)
            break; /* line b starts the content */
        if (d < maxd && step_at(s, d, STEP_SHARE)) {
            /* After a flat canvas, a band whose pixels off the canvas's
             * colour span what the content's span (a pale sky at the top
             * of the image) is the content's start. */
            if (in > b && d + 2 < s->lines && same_span(s, in, d + 2, canvas))
                return b; /* content seen: no need to look again */
            continue;
        }
        /* Two bars of near colours (a status bar over an app bar) within
         * UNIFORM_TOL of each other, the band ending in the second on
         * JPEG noise: it ends where the mean colour steps. */
        d = band_split(s, b, d);
        if (!d && b > 0)
            d = flat_band(s, b, maxd, c);
        if (!d && b == 0)
            return 0;
        if (!d) {
            /* Not a band after all: the content starts at b (its first
             * lines near the last band's colour, a bright sky under a
             * white bar). */
            d = b;
            break;
        }
    }
    if (d == 0)
        return 0;
    /* The content is not mostly border again (a line across a plain
     * image is not content). */
    line_mean(s, d - 1, c);
    size_t w = window(s), again = 0, seen = 0;
    for (size_t k = d; k < d + w && k < s->lines; k++, seen++)
        again += (size_t)(uniform_share(s, k, c) >= UNIFORM_SHARE);
    return seen && again * 2 < seen ? d : 0;
}

/* The depth of a low-detail fill on this side, or 0: smooth lines (fine
 * detail at most tune.fill_detail, next to no step from one line to the next)
 * up to a sharp edge (a step at EDGE_SHARE of the pixels). */
static size_t fill_depth(const side *s, size_t maxd, size_t *weak)
{
    *weak = 0;
    /* Fills come in pairs around content of at least MIN_CONTENT. */
    size_t cap = (size_t)((1.0 - MIN_CONTENT) / 2 * (double)s->lines) + 1;
    if (maxd > cap)
        maxd = cap;
    if (detail(s, 0) > s->t->fill_detail)
        return 0;
    size_t first = 0; /* the first line stepping at WEAK_EDGE */
    for (size_t d = 1; d < maxd; d++) {
        double one = step_share(s, d, d - 1);
        if (one >= EDGE_SHARE)
            return d;
        if (!first && one >= WEAK_EDGE)
            first = d;
        if (one <= s->t->fill_steps && detail(s, d) <= s->t->fill_detail)
            continue; /* still the fill */
        /* An edge over two lines: at the sharper of them. */
        if (d + 1 < s->lines && step_share(s, d + 1, d - 1) >= EDGE_SHARE2)
            return step_share(s, d + 1, d) > one ? d + 1 : d;
        /* A weak edge: a blurred fill meeting its own smooth content
         * with few steps. Taken only opposite a border of nearly the
         * same depth (borders()), and not after a plain colour (a
         * uniform border's, which ends in a clear step, or a product
         * shot's background). */
        break;
    }
    if (first) {
        int c[3] = { 0, 0, 0 };
        line_mean(s, 0, c);
        if (share_within(s, 0, c, FLAT_TOL) < UNIFORM_SHARE)
            *weak = first;
    }
    return 0;
}

static size_t absdiff(size_t a, size_t b)
{
    return a > b ? a - b : b - a;
}

/* The least depth a border of a side `full` pixels long counts from:
 * MIN_BORDER of it, 2 pixels at least. */
static size_t min_border(size_t full)
{
    size_t min = (size_t)(MIN_BORDER * (double)full);
    return min < 2 ? 2 : min;
}

/* The borders of rectangle r of img, into depth[TOP..RIGHT]; `full` the
 * image's size on each side (MIN_BORDER and the content's minimum count
 * from the whole image). */
static void borders(const phm_image *img, const phm_rect *r, const tune *t, size_t depth[4])
{
    side s[4];
    size_t uni[4], fil[4], loose[4];
    for (int k = 0; k < 4; k++) {
        side_init(&s[k], img, r, k, t);
        size_t full = k < LEFT ? img->height : img->width;
        size_t maxd = (size_t)((1.0 - MIN_CONTENT) * (double)s[k].lines);
        size_t min = min_border(full);
        uni[k] = uniform_depth(&s[k], maxd);
        loose[k] = fil[k] = 0;
        if (!uni[k])
            fil[k] = fill_depth(&s[k], maxd, &loose[k]);
        if (uni[k] < min)
            uni[k] = 0;
        if (fil[k] < min)
            fil[k] = 0;
        if (loose[k] < min)
            loose[k] = 0;
    }
    for (int k = 0; k < 4; k++) {
        int o = k ^ 1;
        size_t other = uni[o] ? uni[o] : fil[o] ? fil[o] : loose[o];
        size_t tol = s[k].lines / 64 > 3 ? s[k].lines / 64 : 3;
        size_t ltol = s[k].lines / 128 > 2 ? s[k].lines / 128 : 2;
        /* A border counts only opposite another one (letterboxing
         * centres the image; a screenshot has bars above and below):
         * a photo's own plain edge on one side is not a border. */
        int paired = uni[o] || fil[o] || (loose[o] && absdiff(loose[o], uni[k]) <= tol);
        depth[k] = paired ? uni[k] : 0;
        /* A fill only opposite a border of about its depth; a fill with
         * ringing (loose) only opposite one of nearly its depth. */
        if (fil[k] && other && absdiff(fil[k], other) <= tol)
            depth[k] = fil[k];
        if (loose[k] && other && absdiff(loose[k], other) <= ltol)
            depth[k] = loose[k];
    }
}

/* ------------------------------------------------------------------ */
/* A phone screen's layout (screen_box)                                */

#define SCREEN_SAMPLES 128
#define SCREEN_TOL 10
#define SCREEN_PLAIN 0.50   /* a row of the interface: its colour's share */
#define SCREEN_CANVAS 0.70  /* a row of the canvas (or the image's) */
#define SCREEN_COLUMN 0.90  /* a column of the canvas beside the image */
#define SCREEN_MIN_RUN 0.02 /* the interface above and below the image */
#define SCREEN_ASPECT 1.5   /* a phone's screen: at least this tall a width */
#define SCREEN_WIDTH 0.75   /* the image spans at least this of the width */
#define SCREEN_BARS 0.15    /* bars above (below) the canvas: at most this */
#define SCREEN_THIN 0.05    /* a run of rows thinner than this of the shorter side: not the image */
#define SCREEN_SPAN 0.90    /* of a phone's width, what a picture shown across it spans */

static const uint8_t *at(const phm_image *img, uint32_t x, uint32_t y)
{
    return img->pixels + (size_t)y * img->stride + (size_t)x * img->channels;
}

/* Pixel p is within tol of colour c in every channel. */
static int near_colour(const phm_image *img, const uint8_t *p, const int c[3], int tol)
{
    for (uint32_t ch = 0; ch < img->channels; ch++)
        if (abs(p[ch] - c[ch]) > tol)
            return 0;
    return 1;
}

/* Colours a and b are within tol of each other in every channel of img. */
static int near_colours(const phm_image *img, const int a[3], const int b[3], int tol)
{
    for (uint32_t ch = 0; ch < img->channels; ch++)
        if (abs(a[ch] - b[ch]) > tol)
            return 0;
    return 1;
}

/* A tall image looked at as a phone's screen: the places read across
 * each row (SCREEN_SAMPLES at most), worked out once. */
typedef struct screen {
    const phm_image *img;
    uint32_t min_px; /* tune.min_px */
    uint32_t n;
    uint32_t xs[SCREEN_SAMPLES];
} screen;

/* s for img; 0 if img is too narrow to be read as a screen. */
static int screen_init(screen *s, const phm_image *img, uint32_t min_px)
{
    if (img->width < 2 * min_px)
        return 0;
    s->img = img;
    s->min_px = min_px;
    s->n = img->width < SCREEN_SAMPLES ? img->width : SCREEN_SAMPLES;
    for (uint32_t j = 0; j < s->n; j++)
        s->xs[j] = (uint32_t)((uint64_t)j * (img->width - 1) / (s->n - 1));
    return 1;
}

/* Of row y (s->n places across it), the share of samples within
 * SCREEN_TOL of its most common colour among a few candidates (the row's
 * middle and two places near its ends: a bar's text and icons sit at the
 * ends, a rounded screen's black corners at the very ends), and that
 * colour into c. */
static double row_plain(const screen *s, uint32_t y, int c[3])
{
    const phm_image *img = s->img;
    const uint32_t n = s->n;
    const uint32_t cand[3] = { n / 2, n / 8, n - 1 - n / 8 };
    double best = 0;
    for (int k = 0; k < 3; k++) {
        const uint8_t *q = at(img, s->xs[cand[k]], y);
        int col[3] = { q[0], img->channels > 1 ? q[1] : 0, img->channels > 1 ? q[2] : 0 };
        uint32_t in = 0;
        for (uint32_t j = 0; j < n; j++)
            in += (uint32_t)near_colour(img, at(img, s->xs[j], y), col, SCREEN_TOL);
        double share = (double)in / n;
        if (share > best) {
            best = share;
            memcpy(c, col, sizeof col);
        }
    }
    return best;
}

/* The 8-levels-a-channel bin of colour c, below BINS (BINS itself: none). */
enum { BINS = 512 };

static uint32_t colour_bin(const int c[3])
{
    return (uint32_t)(c[0] >> 5) << 6 | (uint32_t)(c[1] >> 5) << 3 | (uint32_t)(c[2] >> 5);
}

/* The canvas of a phone's screen (its first and last rows plain: bars):
 * the colour of most of its plain rows (SCREEN_CANVAS; by colour_bin),
 * their mean, into canvas[0]. Returns the number of candidates, 1 or 2
 * (0: not a screen), to be tried in turn.
 *
 * A picture's own flat ground (a playing card's cream, a pale paper) may
 * fill more rows than the canvas around it, or fall in the canvas's bin
 * and pull the mean off it; but its rows stop at the picture's sides,
 * and only the canvas's span the screen (UNIFORM_SHARE; the bars at the
 * very top and bottom left out). So the mean of such full rows comes
 * first where it is off the mean of all: the most common colour's, if it
 * has SCREEN_MIN_RUN of the height of them, or else, if it has none,
 * another colour's; the mean of all the rows second. */
static int screen_canvas(const screen *s, int canvas[2][3])
{
    const phm_image *img = s->img;
    const uint32_t h = img->height;
    int c[3] = { 0, 0, 0 };
    if (row_plain(s, 0, c) < SCREEN_PLAIN)
        return 0;
    const uint32_t top_bin = colour_bin(c);
    if (row_plain(s, h - 1, c) < SCREEN_PLAIN)
        return 0;
    const uint32_t bottom_bin = colour_bin(c);
    /* sums of 64 bits: a 4-pixel-wide image may have a billion rows */
    uint32_t count[BINS], full[BINS];
    uint64_t sum[BINS][3], fsum[BINS][3];
    memset(count, 0, sizeof count);
    memset(full, 0, sizeof full);
    memset(sum, 0, sizeof sum);
    memset(fsum, 0, sizeof fsum);
    /* open_top: still in the run of rows of row 0's colour. The full rows
     * of the current run of row h - 1's colour wait in pend / psum until
     * a row of another kind ends the run: the run that reaches the last
     * row is the bottom bars'. */
    int open_top = 1;
    uint32_t pend = 0;
    uint64_t psum[3] = { 0, 0, 0 };
    for (uint32_t y = 0; y < h; y++) {
        double share = row_plain(s, y, c);
        uint32_t b = share < SCREEN_CANVAS ? BINS : colour_bin(c);
        if (b != bottom_bin && pend) {
            full[bottom_bin] += pend;
            for (int k = 0; k < 3; k++)
                fsum[bottom_bin][k] += psum[k];
            pend = 0;
            memset(psum, 0, sizeof psum);
        }
        if (b == BINS) {
            open_top = 0;
            continue;
        }
        open_top &= b == top_bin;
        count[b]++;
        for (int k = 0; k < 3; k++)
            sum[b][k] += (uint64_t)c[k];
        if (share < UNIFORM_SHARE || open_top)
            continue;
        if (b == bottom_bin) {
            pend++;
            for (int k = 0; k < 3; k++)
                psum[k] += (uint64_t)c[k];
        } else {
            full[b]++;
            for (int k = 0; k < 3; k++)
                fsum[b][k] += (uint64_t)c[k];
        }
    }
    uint32_t cb = 0, fb = 0;
    for (uint32_t b = 1; b < BINS; b++) {
        if (count[b] > count[cb])
            cb = b;
        if (full[b] > full[fb])
            fb = b;
    }
    if (!count[cb])
        return 0;
    const uint32_t min_run = (uint32_t)(SCREEN_MIN_RUN * h) > 2 ? (uint32_t)(SCREEN_MIN_RUN * h) : 2;
    int mean[3];
    for (int k = 0; k < 3; k++)
        mean[k] = (int)(sum[cb][k] / count[cb]);
    /* The full rows' colour first: of the most common colour's when it
     * has enough of them (a pale ground in the canvas's bin would shift
     * the mean off the canvas), else of another colour's when it has
     * none. */
    uint32_t first = full[cb] >= min_run ? cb : !full[cb] && full[fb] >= min_run ? fb : BINS;
    if (first == BINS) {
        memcpy(canvas[0], mean, sizeof mean);
        return 1;
    }
    for (int k = 0; k < 3; k++)
        canvas[0][k] = (int)(fsum[first][k] / full[first]);
    /* near: the mean of all the rows, as the edges found on it before
     * (a few levels move a graphic's box by a row) */
    if (near_colours(img, canvas[0], mean, SCREEN_TOL)) {
        memcpy(canvas[0], mean, sizeof mean);
        return 1;
    }
    memcpy(canvas[1], mean, sizeof mean);
    return 2;
}

/* A screenshot of a phone (screen_canvas): rows
 * of the interface (bars with text and icons on them, a plain canvas,
 * text lines: each row SCREEN_PLAIN one colour) above and below the
 * image. The image the longest run of rows from one that is not
 * plain to one that is not with no canvas row between (a graphic's own
 * flat rows of another colour are the image's, and so are such rows just
 * before and after the run in the colour it starts or ends in), with at
 * least SCREEN_MIN_RUN of the height above and below it and nothing but
 * plain rows above it; its sides where columns stop being the canvas's
 * colour (SCREEN_COLUMN), at least SCREEN_WIDTH of the width apart (an
 * app shows an image across the screen; an object on a plain background
 * is not one). The box into *box; 1 if found. Reads a row at
 * SCREEN_SAMPLES places (worked out once, screen_init), up to 3 times
 * after screen_canvas's once; allocates nothing. */
static int screen_box(const screen *s, const int canvas[3], phm_rect *box)
{
    const phm_image *img = s->img;
    const uint32_t w = img->width, h = img->height;
    int c[3] = { 0, 0, 0 };
    /* The image: the longest run from a row that is not plain to one that
     * is not, with no row of the canvas between (plain rows of another
     * colour, a flat part of a graphic, are the image's). */
    uint32_t best = 0, best_at = 0, start = 0, open = 0;
    for (uint32_t y = 0; y < h; y++) {
        if (row_plain(s, y, c) >= SCREEN_CANVAS) {
            if (near_colours(img, c, canvas, SCREEN_TOL))
                open = 0;
            continue;
        }
        if (!open) {
            open = 1;
            start = y;
        }
        if (y + 1 - start > best) {
            best = y + 1 - start;
            best_at = start;
        }
    }
    if (!best)
        return 0;
    /* Its flat first and last rows (a graphic's plain background: rows of
     * the colour the run starts or ends in, not the canvas's). */
    int edge[3] = { 0, 0, 0 };
    row_plain(s, best_at, edge);
    while (best_at > 0 && row_plain(s, best_at - 1, c) >= SCREEN_CANVAS &&
           near_colours(img, c, edge, SCREEN_TOL) && !near_colours(img, c, canvas, SCREEN_TOL))
        best_at--, best++;
    row_plain(s, best_at + best - 1, edge);
    while (best_at + best < h && row_plain(s, best_at + best, c) >= SCREEN_CANVAS &&
           near_colours(img, c, edge, SCREEN_TOL) && !near_colours(img, c, canvas, SCREEN_TOL))
        best++;
    const uint32_t top = best_at, bottom = best_at + best; /* rows [top, bottom) */
    const uint32_t min_run = (uint32_t)(SCREEN_MIN_RUN * h) > 2 ? (uint32_t)(SCREEN_MIN_RUN * h) : 2;
    if (best < s->min_px || best < MIN_CONTENT * h || top < min_run || h - bottom < min_run)
        return 0;
    /* The colours beside the image: the canvas's, the rows' above and
     * below it. */
    int above[3] = { 0, 0, 0 }, below[3] = { 0, 0, 0 };
    row_plain(s, top - 1, above);
    row_plain(s, bottom, below);
    /* The sides: columns of the canvas's colour over the image's rows. */
    const uint32_t rows = best < SCREEN_SAMPLES ? best : SCREEN_SAMPLES;
    uint32_t x0 = 0, x1 = w;
    for (int right = 0; right < 2; right++) {
        for (uint32_t k = 0; k < w / 2; k++) {
            uint32_t x = right ? w - 1 - k : k, in = 0;
            for (uint32_t j = 0; j < rows; j++) {
                uint32_t y = top + (uint32_t)((uint64_t)j * (best - 1) / (rows > 1 ? rows - 1 : 1));
                const uint8_t *p = at(img, x, y);
                in += (uint32_t)(near_colour(img, p, canvas, SCREEN_TOL) ||
                                 near_colour(img, p, above, SCREEN_TOL) ||
                                 near_colour(img, p, below, SCREEN_TOL));
            }
            if ((double)in / rows < SCREEN_COLUMN)
                break;
            if (right)
                x1 = x;
            else
                x0 = x + 1;
        }
    }
    if (x1 <= x0 || x1 - x0 < s->min_px || x1 - x0 < SCREEN_WIDTH * w)
        return 0;
    /* Above the image, the interface only: every row plain (a status
     * bar, an app bar, a canvas). */
    for (uint32_t y = 0; y < top; y++)
        if (row_plain(s, y, c) < SCREEN_PLAIN)
            return 0;
    *box = (phm_rect){ x0, top, x1 - x0, best };
    return 1;
}

/* ---- content off a plain colour (screen_content, phm__edge_box) ---- */

/* Pixels off colour c by more than EDGE_TOL (a channel) in a line: at
 * least EDGE_MIN of them, and 1 in OFF_SHARE of the line's, make the
 * line content. */
#define EDGE_TOL 24
#define EDGE_MIN 2u
#define OFF_SHARE 128u

/* The line of len pixels from (x0, y0), across (across 1) or down,
 * holds content off colour c. Every pixel is read (wt-shotgfx): sparse
 * line art's 1-pixel strokes fall between places sampled along the line,
 * and differently on a known image and on its screenshot (scaled and
 * shifted), so the two sides' boxes and runs of rows (thick_rows) came
 * out apart. 1 pixel in OFF_SHARE (as 2 of the 128 places read before):
 * 2 pixels of a wide line are JPEG's noise on a canvas a little off c (a
 * light grey screen under a white picture). A line of the canvas costs
 * its length, a line of content stops where enough pixels are off c. */
static int line_off(const phm_image *img, uint32_t x0, uint32_t y0, int across, uint32_t len,
                    const int c[3])
{
    const uint8_t *p = at(img, x0, y0);
    const size_t step = across ? img->channels : img->stride;
    const uint32_t need = len / OFF_SHARE > EDGE_MIN ? len / OFF_SHARE : EDGE_MIN;
    uint32_t off = 0;
    if (across && img->channels == 3) {
        /* A row of a colour image, most of the time the whole of it (a
         * canvas's): counted in blocks of 64 pixels without a branch, which
         * the compiler vectorises, the count looked at after each. */
        const int c0 = c[0], c1 = c[1], c2 = c[2];
        for (uint32_t j = 0; j < len && off < need;) {
            const uint32_t end = len - j < 64 ? len : j + 64;
            uint32_t o = 0;
            for (; j < end; j++) {
                const uint8_t *q = p + (size_t)j * 3;
                o += (uint32_t)((abs(q[0] - c0) > EDGE_TOL) | (abs(q[1] - c1) > EDGE_TOL) |
                                (abs(q[2] - c2) > EDGE_TOL));
            }
            off += o;
        }
        return off >= need;
    }
    for (uint32_t j = 0; j < len && off < need; j++)
        off += (uint32_t)!near_colour(img, p + (size_t)j * step, c, EDGE_TOL);
    return off >= need;
}

/* Row y of img holds content off colour c. */
static int row_off(const phm_image *img, uint32_t y, const int c[3])
{
    return line_off(img, 0, y, 1, img->width, c);
}

/* Column x of img holds content off colour c between rows y0 and y1. */
static int column_off(const phm_image *img, uint32_t x, uint32_t y0, uint32_t y1, const int c[3])
{
    return line_off(img, x, y0, 0, y1 - y0, c);
}

/* The box of the content off colour c in rows [y0, y1) of img: its first
 * and last rows that hold some, and over them its first and last columns
 * (row_off, column_off); 0 if none or smaller than min_px. */
static int off_box(const phm_image *img, uint32_t y0, uint32_t y1, const int c[3],
                   uint32_t min_px, phm_rect *box)
{
    const uint32_t w = img->width;
    while (y0 < y1 && !row_off(img, y0, c))
        y0++;
    while (y1 > y0 && !row_off(img, y1 - 1, c))
        y1--;
    if (y1 - y0 < min_px)
        return 0;
    uint32_t x0 = 0, x1 = w;
    while (x0 < x1 && !column_off(img, x0, y0, y1, c))
        x0++;
    while (x1 > x0 && !column_off(img, x1 - 1, y0, y1, c))
        x1--;
    if (x1 - x0 < min_px)
        return 0;
    *box = (phm_rect){ x0, y0, x1 - x0, y1 - y0 };
    return 1;
}

/* Row y is the canvas's: UNIFORM_SHARE of its samples within SCREEN_TOL
 * of colour c (a dark app bar over a dark canvas is not). */
static int row_canvas(const screen *s, uint32_t y, const int c[3])
{
    uint32_t in = 0;
    for (uint32_t j = 0; j < s->n; j++)
        in += (uint32_t)near_colour(s->img, at(s->img, s->xs[j], y), c, SCREEN_TOL);
    return in >= UNIFORM_SHARE * s->n;
}

/* The rows of the content off colour c in rows [y0, y1) of img, less its
 * thin runs at either end: the runs of rows off c (row_off) between rows
 * of c, and of them the first and last that are thicker than `thin` rows
 * (a text line, icons, a caption, a line of small shapes are not), into
 * [*first, *last). *thin_above (*thin_below): 1 if a thin run was left
 * out before (after) them. 0 if no run is thicker than `thin`.
 *
 * The one rule both sides of a screenshot share (wt-shotgfx): trimming
 * cuts a screenshot's picture out of its canvas by it (screen_content:
 * the thin runs are the interface's text lines), and the known image's
 * "trim-white-thin" / "trim-black-thin" variant is its own content cut
 * by it (phm__edge_box): a picture's own thin runs at its top or bottom
 * (a caption, small birds above a flock) are left out on both sides. */
static int thick_rows(const phm_image *img, uint32_t y0, uint32_t y1, const int c[3],
                      uint32_t thin, uint32_t *first, uint32_t *last, int *thin_above,
                      int *thin_below)
{
    uint32_t start = 0, open = 0, found = 0;
    *first = *last = 0;
    *thin_above = *thin_below = 0;
    for (uint32_t y = y0; y <= y1; y++) {
        int off = y < y1 && row_off(img, y, c);
        if (off && !open)
            open = 1, start = y;
        if (!off && open) {
            open = 0;
            if (y - start > thin) {
                if (!found)
                    *first = start;
                *last = y;
                found = 1;
                *thin_below = 0; /* thin runs between thick ones are the content's */
            } else if (!found) {
                *thin_above = 1;
            } else {
                *thin_below = 1;
            }
        }
    }
    return (int)found;
}

/* The thin runs of a screen (thick_rows): SCREEN_THIN of its shorter
 * side (a phone's width, a desktop's height), 2 rows at least. */
static uint32_t thin_rows(uint32_t shorter)
{
    uint32_t t = (uint32_t)(SCREEN_THIN * shorter);
    return t > 2 ? t : 2;
}

/* The image on a screen (a phone's, a desktop window's) as the content
 * off its canvas, whatever the image's own edge (a white-edged graphic
 * on a white canvas ends where its content does, as its stored
 * "trim-white" variant, phm__edge_box, does): the bars are the rows from
 * the top (bottom) down (up) to the first row of the canvas (row_canvas;
 * at most SCREEN_BARS of the height); between them, the content's rows
 * less the thin runs at its ends (thick_rows; thin_rows of the shorter
 * side); then off_box over those rows. The interface must show above and
 * below it (bars, or thin runs left out: an object on a plain background
 * is not a screen). 1 with *box if the content keeps MIN_CONTENT of the
 * width. */
static int screen_content(const screen *s, const int canvas[3], phm_rect *box)
{
    const phm_image *img = s->img;
    const uint32_t w = img->width, h = img->height;
    const uint32_t bars = (uint32_t)(SCREEN_BARS * h);
    uint32_t t = 0, b = h;
    while (t < bars && !row_canvas(s, t, canvas))
        t++;
    while (h - b < bars && !row_canvas(s, b - 1, canvas))
        b--;
    if (t >= bars || h - b >= bars || t >= b)
        return 0;
    uint32_t first, last;
    int above, below;
    if (!thick_rows(img, t, b, canvas, thin_rows(w < h ? w : h), &first, &last, &above, &below))
        return 0;
    above |= t > 0;
    below |= b < h;
    if (!above || !below || !off_box(img, first, last, canvas, s->min_px, box))
        return 0;
    return box->width >= MIN_CONTENT * w && box->height >= s->min_px;
}

/* phm__edge_box, content of min_px (MIN_CONTENT_PX at its scale) at
 * least. */
static int edge_box(const phm_image *img, int dark, int thin, uint32_t min_px, phm_rect *box)
{
    const int c[3] = { dark ? 0 : 255, dark ? 0 : 255, dark ? 0 : 255 };
    if (!img || !box || !img->pixels || (img->channels != 1 && img->channels != 3) ||
        img->width < min_px || img->height < min_px)
        return 0;
    if (thin) {
        /* The picture shown across a phone's screen, less its margins:
         * the screen's shorter side its width / SCREEN_SPAN (a run of
         * 5.2 % of the picture's width is 4.8 % of a screen it spans 92 %
         * of: thin there). No thin run at its top or bottom: the same box
         * as without (no variant). */
        uint32_t first, last;
        int above, below;
        if (!thick_rows(img, 0, img->height, c, thin_rows((uint32_t)(img->width / SCREEN_SPAN)),
                        &first, &last, &above, &below) ||
            !(above || below) || !off_box(img, first, last, c, min_px, box))
            return 0;
    } else if (!off_box(img, 0, img->height, c, min_px, box)) {
        return 0;
    }
    /* Some plain edge (1 % of a side at least), and content of
     * MIN_CONTENT of the width and MIN_CONTENT_PX high: what
     * screen_content asks of a screenshot's picture (a skyline strip 9 %
     * of the image high is one; wt-shotgfx, it asked MIN_CONTENT of the
     * height before). */
    uint32_t mx = img->width / 100 > 1 ? img->width / 100 : 1;
    uint32_t my = img->height / 100 > 1 ? img->height / 100 : 1;
    if (box->x < mx && box->y < my && img->width - box->x - box->width < mx &&
        img->height - box->y - box->height < my)
        return 0;
    return box->width >= MIN_CONTENT * img->width && box->height >= min_px;
}

int phm__edge_box(const phm_image *img, int dark, int thin, phm_rect *box)
{
    return edge_box(img, dark, thin, MIN_CONTENT_PX, box);
}

/* A picture on a plain white (black) canvas, the border trimming found
 * none: the content off that colour (phm__edge_box, the box the known
 * image's "trim-white" / "trim-black" variant is cut to) when the canvas
 * shows on two opposite sides, each MIN_BORDER of that side deep at least
 * (as bars would). A copy letterboxed or pillarboxed in the canvas's
 * colour has no border the bands can see (the bars run on into the
 * picture's own ground, and a drawing starts with no step), and its box
 * is then this one (docs/ROBUST.md, "Letterboxes of small and canvas
 * pictures"). 1 with *box and the canvas (1 black, 0 white) in *dark,
 * else 0. */
static int canvas_box(const phm_image *img, uint32_t min_px, phm_rect *box, int *dark)
{
    for (*dark = 0; *dark < 2; ++*dark) {
        if (!edge_box(img, *dark, 0, min_px, box))
            continue;
        size_t mx = min_border(img->width), my = min_border(img->height);
        int across = box->y >= my && img->height - box->y - box->height >= my;
        int along = box->x >= mx && img->width - box->x - box->width >= mx;
        if (across || along)
            return 1;
    }
    return 0;
}

/* Boxes a and b are the same. */
static int same_rect(const phm_rect *a, const phm_rect *b)
{
    return a->x == b->x && a->y == b->y && a->width == b->width && a->height == b->height;
}

/* The content box into *content (1; 0 none: the whole image), and with
 * alt non-NULL a second box into *alt (*has_alt 1): on a screen of any
 * shape whose first and last rows are plain, the content off its canvas
 * (screen_content) where it ends elsewhere than *content (a picture whose
 * own edge has the canvas's colour). */
static int detect(const phm_image *img, phm_rect *content, phm_rect *alt, int *has_alt,
                  const tune *t)
{
    if (has_alt)
        *has_alt = 0;
    if (!img || !content || !img->pixels || (img->channels != 1 && img->channels != 3) ||
        img->stride < (size_t)img->width * img->channels)
        return PHM_ERR_INVALID;
    phm_rect r = { 0, 0, img->width, img->height };
    *content = r;
    /* Two passes: the bars across a screenshot first cut, those along its
     * sides become whole lines. */
    for (int pass = 0; pass < 2; pass++) {
        if (r.width < 2 * t->min_px || r.height < 2 * t->min_px)
            break;
        size_t depth[4];
        borders(img, &r, t, depth);
        if (depth[TOP] + depth[BOTTOM] >= r.height || depth[LEFT] + depth[RIGHT] >= r.width)
            break;
        uint32_t w = r.width - (uint32_t)(depth[LEFT] + depth[RIGHT]);
        uint32_t h = r.height - (uint32_t)(depth[TOP] + depth[BOTTOM]);
        if (w < t->min_px || h < t->min_px || w < MIN_CONTENT * img->width ||
            h < MIN_CONTENT * img->height)
            break;
        if (w == r.width && h == r.height)
            break;
        r.x += (uint32_t)depth[LEFT];
        r.y += (uint32_t)depth[TOP];
        r.width = w;
        r.height = h;
    }
    int found = r.width != img->width || r.height != img->height;
    screen scr;
    int canvas[2][3];
    const int ncanvas = screen_init(&scr, img, t->min_px) ? screen_canvas(&scr, canvas) : 0;
    /* Each candidate canvas in turn, up to the first that shows a picture
     * on it. */
    for (int k = 0, shown = 0; k < ncanvas && !shown; k++) {
        phm_rect sc;
        /* No bars found above and below the content: a phone's screen
         * with text and icons on its bars (screen_box). */
        if (img->height >= SCREEN_ASPECT * img->width &&
            (r.y == 0 || r.y + r.height == img->height) && screen_box(&scr, canvas[k], &sc))
            r = sc, found = 1, shown = 1;
        /* The content off the canvas: the box itself when nothing else
         * was found, else a second box where it differs at all (wt-shotgfx:
         * the bands' ends, within FLAT_TOL of the canvas, may cut a few
         * pixels into a graphic's pale or sparse edge, where off_box is the
         * rule its stored "trim-white" takes; a photo's box is the bands'
         * one, JPEG's ringing a pixel or two outside it off the canvas). */
        if (screen_content(&scr, canvas[k], &sc)) {
            shown = 1;
            if (!found)
                r = sc, found = 1;
            else if (alt && !same_rect(&r, &sc))
                *alt = sc, *has_alt = 1;
        }
    }
    if (!found)
        return 0;
    *content = r;
    return 1;
}

int phm_trim_detect(const phm_image *img, phm_rect *content)
{
    return detect(img, content, NULL, NULL, &strict);
}

int phm__bars_box(const phm_image *img, int vertical, int white, phm_rect *box)
{
    if (!img || !box || !img->pixels || (img->channels != 1 && img->channels != 3))
        return 0;
    const uint32_t w = img->width, h = img->height, ch = img->channels;
    uint32_t along = vertical ? h : w;
    /* 5 % a side, as a 10 % letterbox; 2 pixels at least (MIN_BORDER's
     * floor): a 60-pixel icon's copy has 3 */
    uint32_t bar = (uint32_t)(along / 20) > 2 ? along / 20 : 2;
    uint32_t pw = vertical ? w : w + 2 * bar, ph = vertical ? h + 2 * bar : h;
    size_t row = (size_t)pw * ch;
    if (ph > SIZE_MAX / row)
        return 0;
    uint8_t *p = malloc(row * ph);
    if (!p)
        return 0;
    memset(p, white ? 255 : 0, row * ph);
    for (uint32_t y = 0; y < h; y++)
        memcpy(p + (size_t)(vertical ? y + bar : y) * row + (vertical ? 0 : (size_t)bar * ch),
               img->pixels + (size_t)y * img->stride, (size_t)w * ch);
    phm_image framed = { p, pw, ph, ch, row, img->format };
    phm_rect r;
    int found = detect(&framed, &r, NULL, NULL, &strict) == 1;
    free(p);
    if (!found)
        return 0;
    /* back into img's pixels: the part of the box on the picture */
    uint32_t lo = vertical ? r.y : r.x, n = vertical ? r.height : r.width;
    uint32_t a = lo > bar ? lo - bar : 0, e = lo + n - bar < along ? lo + n - bar : along;
    if (lo + n <= bar || e <= a)
        return 0;
    if (vertical)
        *box = (phm_rect){ r.x, a, r.width, e - a };
    else
        *box = (phm_rect){ a, r.y, e - a, r.height };
    return !same_rect(box, &(phm_rect){ 0, 0, w, h });
}

int phm_image_view(const phm_image *img, const phm_rect *r, phm_image *out)
{
    if (!img || !r || !out || !img->pixels || r->width == 0 || r->height == 0 ||
        r->x > img->width || r->width > img->width - r->x || r->y > img->height ||
        r->height > img->height - r->y)
        return PHM_ERR_INVALID;
    *out = *img;
    out->pixels = img->pixels + (size_t)r->y * img->stride + (size_t)r->x * img->channels;
    out->width = r->width;
    out->height = r->height;
    return PHM_OK;
}

/* ------------------------------------------------------------------ */
/* The streamed JPEG's reduced copy                                    */

int phm__thumb_begin(phm_decoder *dec, phm_thumb *t, uint32_t width, uint32_t height,
                     uint32_t channels)
{
    uint32_t f = 8;
    while (f > 1 && (width / f < THUMB_SIDE || height / f < THUMB_SIDE))
        f /= 2;
    memset(t, 0, sizeof *t);
    t->f = f;
    t->width = width;
    t->height = height;
    t->channels = channels;
    t->w = (width + f - 1) / f;
    t->h = (height + f - 1) / f;
    /* Within the pixel limit the header was checked against. */
    size_t bytes = (size_t)t->w * t->h * channels, sums = (size_t)t->w * channels;
    if (bytes > dec->thumb_cap) {
        uint8_t *p = realloc(dec->thumb, bytes);
        if (!p)
            return PHM_ERR_NOMEM;
        dec->thumb = p;
        dec->thumb_cap = bytes;
    }
    if (sums > dec->acc_cap) {
        uint32_t *p = realloc(dec->acc, sums * sizeof *p);
        if (!p)
            return PHM_ERR_NOMEM;
        dec->acc = p;
        dec->acc_cap = sums;
    }
    t->pixels = dec->thumb;
    t->acc = dec->acc;
    memset(t->acc, 0, sums * sizeof *t->acc);
    return PHM_OK;
}

void phm__thumb_rows(phm_thumb *t, const uint8_t *rows, size_t stride, size_t n)
{
    const uint32_t ch = t->channels, f = t->f;
    /* Of each band of f rows, the middle two (all with f 1 or 2) are
     * summed: a quarter of the work at f 8, and JPEG's noise still
     * averaged over 2 x f pixels. */
    const uint32_t lo = f > 2 ? f / 2 - 1 : 0, hi = f > 2 ? f / 2 : f - 1;
    for (size_t r = 0; r < n && t->y < t->height; r++, t->y++) {
        const uint8_t *p = rows + r * stride;
        uint32_t in = t->y % f;
        uint32_t last = t->height - 1 - (t->height - 1) % f; /* first row of the last band */
        if (t->y >= last && t->height - last <= hi) {
            /* The last band is too short for its middle rows: all of it. */
        } else if (in < lo || in > hi) {
            goto end;
        }
        phm__block_sums(p, t->width, f, ch, t->acc);
    end:
        /* A band of f rows (or the last, shorter one) is complete. */
        if ((t->y + 1) % f && t->y + 1 < t->height)
            continue;
        uint32_t ty = t->y / f;
        uint32_t bh = t->y >= last && t->height - last <= hi ? t->y % f + 1 : hi - lo + 1;
        uint8_t *out = t->pixels + (size_t)ty * t->w * ch;
        for (uint32_t tx = 0; tx < t->w; tx++) {
            uint32_t bw = tx + 1 < t->w ? f : t->width - tx * f;
            for (uint32_t c = 0; c < ch; c++) {
                uint32_t *a = &t->acc[tx * ch + c];
                out[tx * ch + c] = (uint8_t)((*a + bw * bh / 2) / (bw * bh));
                *a = 0;
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* Hashing with trimming                                               */

/* The content of img inside its border into *trim, hashed. */
void phm__trim_image(phm_hasher *h, const phm_image *img, phm_mode mode, int dihedral,
                     phm_trim_result *trim)
{
    phm_image view;
    phm_rect alt;
    int has_alt = 0;
    if (detect(img, &trim->content, &alt, &has_alt, &strict) == 1 &&
        phm_image_view(img, &trim->content, &view) == PHM_OK &&
        phm_hash_image(h, &view, mode, dihedral, &trim->pdq) == PHM_OK) {
        trim->found = 1;
        trim->canvas = 0;
        trim->alt_found = 0;
        if (has_alt && phm_image_view(img, &alt, &view) == PHM_OK &&
            phm_hash_image(h, &view, mode, dihedral, &trim->alt_pdq) == PHM_OK) {
            trim->alt_found = 1;
            trim->alt_content = alt;
        } else {
            memset(&trim->alt_content, 0, sizeof trim->alt_content);
            memset(&trim->alt_pdq, 0, sizeof trim->alt_pdq);
        }
        return;
    }
    memset(trim, 0, sizeof *trim);
    int dark;
    phm_rect thin;
    if (canvas_box(img, MIN_CONTENT_PX, &trim->content, &dark) &&
        phm_image_view(img, &trim->content, &view) == PHM_OK &&
        phm_hash_image(h, &view, mode, dihedral, &trim->pdq) == PHM_OK) {
        trim->found = trim->canvas = 1;
        /* A second box, the content less the thin runs of rows at its top
         * and bottom (a caption, a faint tip a JPEG's noise shows or
         * hides), where that differs: the box of the known image's
         * "trim-white-thin" / "trim-black-thin", cut by the same
         * function, as a screenshot's second box is. */
        if (edge_box(img, dark, 1, MIN_CONTENT_PX, &thin) && !same_rect(&thin, &trim->content) &&
            phm_image_view(img, &thin, &view) == PHM_OK &&
            phm_hash_image(h, &view, mode, dihedral, &trim->alt_pdq) == PHM_OK) {
            trim->alt_found = 1;
            trim->alt_content = thin;
        } else {
            memset(&trim->alt_pdq, 0, sizeof trim->alt_pdq);
        }
    } else {
        memset(trim, 0, sizeof *trim);
    }
}

int phm__trim_thumb_border(const phm_thumb *t)
{
    phm_image small = { t->pixels, t->w, t->h, t->channels, (size_t)t->w * t->channels,
                        PHM_FORMAT_JPEG };
    phm_rect r;
    /* The pixel minimums at the copy's scale: a picture 100 pixels high
     * on a screenshot's canvas is 13 rows of a copy 8 times smaller. */
    tune lt = lenient;
    lt.min_px = MIN_CONTENT_PX / t->f > 2 ? MIN_CONTENT_PX / t->f : 2;
    int dark;
    return detect(&small, &r, NULL, NULL, &lt) == 1 || canvas_box(&small, lt.min_px, &r, &dark);
}

/* phm_hash_mem_query (path NULL) or phm_hash_file_query with trimming
 * alone, the answer copied out: query.c does the work. */
static int trim_query(phm_decoder *dec, phm_hasher *h, const char *path, const void *data,
                      size_t len, const char *name, phm_mode mode, int dihedral,
                      phm_pdq_result *out, phm_image_info *info, phm_trim_result *trim,
                      char *err, size_t errlen)
{
    const phm_query_options o = { .mode = mode, .dihedral = dihedral, .trim = trim != NULL };
    phm_query_hashes q;
    if (trim)
        memset(trim, 0, sizeof *trim);
    if (info)
        memset(info, 0, sizeof *info);
    if (!out) {
        if (err && errlen)
            err[0] = '\0';
        return PHM_ERR_INVALID;
    }
    int rc = path ? phm_hash_file_query(dec, h, path, &o, &q, err, errlen)
                  : phm_hash_mem_query(dec, h, data, len, name, &o, &q, err, errlen);
    *out = q.pdq;
    if (info)
        *info = q.info;
    if (trim)
        *trim = q.trim;
    return rc;
}

int phm_hash_mem_trim(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                      const char *name, phm_mode mode, int dihedral, phm_pdq_result *out,
                      phm_image_info *info, phm_trim_result *trim, char *err, size_t errlen)
{
    return trim_query(dec, h, NULL, data, len, name, mode, dihedral, out, info, trim, err,
                      errlen);
}

int phm_hash_file_trim(phm_decoder *dec, phm_hasher *h, const char *path, phm_mode mode,
                       int dihedral, phm_pdq_result *out, phm_image_info *info,
                       phm_trim_result *trim, char *err, size_t errlen)
{
    if (!path) {
        if (trim)
            memset(trim, 0, sizeof *trim);
        if (info)
            memset(info, 0, sizeof *info);
        if (err && errlen)
            err[0] = '\0';
        return PHM_ERR_INVALID;
    }
    return trim_query(dec, h, path, NULL, 0, path, mode, dihedral, out, info, trim, err,
                      errlen);
}
