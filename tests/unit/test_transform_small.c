/* test_transform_small.c - copies of small pictures of thin strokes: a
 * thumbnail and a screenshot (issue 15; docs/ROBUST.md, "Small pictures").
 *
 * Generated pictures only: line drawings of 1-pixel strokes on white
 * (circles, spokes, a lattice, a few filled shapes), 120-240 pixels a side,
 * as clip arts and icons are. PDQ's own filter is narrower than a cell of
 * its 64-point grid, so such strokes alias, and a copy resampled otherwise
 * hashes far from the original and from every variant of it. Each picture
 * is augmented with the default set (phm_augment_default) and added to an
 * index; its copies are hashed as `phmatch match --robust` hashes a query
 * (phm_hash_mem_query on a PPM in memory, phm_query_match_options) and
 * matched (phm_match_image, radius 31). Checked, per picture:
 *   - its thumbnail (shrunk to a quarter a side by area averaging, as
 *     image tools scale) and its screenshot (scaled bilinearly to 92 % of
 *     the width of a white portrait canvas with coloured bars at the top
 *     and bottom and two grey text lines under it) match it, and their
 *     area64 hashes (the query's "area64" / "area64-trimmed") are within
 *     31 bits of a stored one ("area64" / "area64-trim"); the screenshot
 *     is found through that alone: its own and trimmed hashes are 38-60 bits from every
 *     other stored hash of the picture (so without area64 it is missed;
 *     a thumbnail not re-encoded stays 18-28 bits from down25 or down50);
 *   - no copy matches another picture's entry;
 *   - a star polygon (the same turned a quarter) stores no area64
 *     variant, as it stores no crop;
 *   - a picture over PHM_AREA64_MAX_SIDE a side stores no area64 variant,
 *     and a query that large gets no area64 hash of itself.
 * Without the area64 hashes (main before wt-small) the screenshots are
 * missed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_util.h"
#include "phmatch.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

typedef struct pic {
    uint8_t *px;
    uint32_t w, h;
} pic;

static pic blank(uint32_t w, uint32_t h, int v)
{
    pic p = { malloc((size_t)w * h * 3), w, h };
    if (!p.px)
        exit(2);
    memset(p.px, v, (size_t)w * h * 3);
    return p;
}

static void dot(pic *p, long x, long y, int r, int g, int b)
{
    if (x < 0 || y < 0 || x >= (long)p->w || y >= (long)p->h)
        return;
    uint8_t *o = p->px + ((size_t)y * p->w + (size_t)x) * 3;
    o[0] = (uint8_t)r, o[1] = (uint8_t)g, o[2] = (uint8_t)b;
}

/* Line drawing `k` (0..2) on a white side x side canvas: 1-pixel circles
 * and spokes about a centre, a lattice of 1-pixel lines in one quarter,
 * two filled shapes; each k places and sizes them differently. */
static pic drawing(uint32_t side, int k)
{
    pic p = blank(side, side, 255);
    const double s = side, cx = s * (0.45 + 0.05 * k), cy = s * (0.5 - 0.04 * k);
    for (int ring = 1; ring <= 14 + 2 * k; ring++) { /* circles 3-4 pixels apart */
        double r = s * (0.04 + 0.022 * ring);
        for (int a = 0; a < 2000; a++) {
            double t = a * 2 * M_PI / 2000;
            dot(&p, lround(cx + r * cos(t)), lround(cy + r * sin(t)), 30, 30, 60);
        }
    }
    for (int a = 0; a < 7 + 3 * k; a++) { /* spokes */
        double t = a * 2 * M_PI / (7 + 3 * k) + 0.3 * k;
        for (double d = 0; d < s * 0.42; d += 0.5)
            dot(&p, lround(cx + d * cos(t)), lround(cy + d * sin(t)), 20, 20, 20);
    }
    uint32_t q0 = (uint32_t)(s * (k == 1 ? 0.05 : 0.55)), step = 3;
    for (uint32_t y = (uint32_t)(s * 0.55); y < (uint32_t)(s * 0.95); y++) /* lattice */
        for (uint32_t x = q0; x < q0 + (uint32_t)(s * 0.4); x++)
            if (x % step == 0 || y % step == 0)
                dot(&p, x, y, 70, 40, 20);
    for (uint32_t y = (uint32_t)(s * 0.06); y < (uint32_t)(s * (0.22 + 0.05 * k)); y++)
        for (uint32_t x = (uint32_t)(s * 0.06); x < (uint32_t)(s * 0.3); x++)
            dot(&p, x, y, 200, 40 + 60 * k, 40); /* a filled box */
    for (uint32_t y = (uint32_t)(s * 0.08); y < (uint32_t)(s * 0.3); y++)
        for (uint32_t x = (uint32_t)(s * 0.7); x < (uint32_t)(s * 0.7) + (y - (uint32_t)(s * 0.08)); x++)
            dot(&p, x, y, 40, 120, 200); /* a filled triangle */
    return p;
}

/* in shrunk to w x h by area averaging (the copy's own code, not the
 * library's). */
static pic shrink(const pic *in, uint32_t w, uint32_t h)
{
    pic o = blank(w, h, 0);
    const double fx = (double)in->w / w, fy = (double)in->h / h;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double a = 0;
                for (uint32_t sy = (uint32_t)(y * fy); sy < in->h && sy < (y + 1) * fy; sy++)
                    for (uint32_t sx = (uint32_t)(x * fx); sx < in->w && sx < (x + 1) * fx;
                         sx++) {
                        double wy = fmin(sy + 1, (y + 1) * fy) - fmax(sy, y * fy);
                        double wx = fmin(sx + 1, (x + 1) * fx) - fmax(sx, x * fx);
                        a += wx * wy * in->px[((size_t)sy * in->w + sx) * 3 + (size_t)c];
                    }
                o.px[((size_t)y * w + x) * 3 + (size_t)c] = (uint8_t)lround(a / (fx * fy));
            }
    return o;
}

/* A phone screenshot of in: in scaled bilinearly to 92 % of a white
 * canvas of its width, 16:9 tall, a blue bar at the top, a grey one at
 * the bottom, two grey text lines under the picture. */
static pic screenshot(const pic *in)
{
    const uint32_t W = in->w, H = in->w * 16 / 9;
    const uint32_t pw = (uint32_t)lround(W * 0.92), ph = (uint32_t)lround((double)in->h * pw / in->w);
    const uint32_t x0 = (W - pw) / 2, y0 = H / 6;
    pic o = blank(W, H, 255);
    for (uint32_t y = 0; y < H / 12; y++)
        for (uint32_t x = 0; x < W; x++)
            dot(&o, x, y, 40, 90, 200);
    for (uint32_t y = H - H / 14; y < H; y++)
        for (uint32_t x = 0; x < W; x++)
            dot(&o, x, y, 225, 225, 225);
    for (uint32_t y = 0; y < ph; y++) {
        double sy = fmin(fmax((y + 0.5) * in->h / ph - 0.5, 0), in->h - 1);
        uint32_t a = (uint32_t)sy, b = a + 1 < in->h ? a + 1 : a;
        for (uint32_t x = 0; x < pw; x++) {
            double sx = fmin(fmax((x + 0.5) * in->w / pw - 0.5, 0), in->w - 1);
            uint32_t l = (uint32_t)sx, r = l + 1 < in->w ? l + 1 : l;
            for (int c = 0; c < 3; c++) {
                const uint8_t *p = in->px;
                double t = p[((size_t)a * in->w + l) * 3 + (size_t)c] * (1 - (sx - l)) +
                           p[((size_t)a * in->w + r) * 3 + (size_t)c] * (sx - l);
                double u = p[((size_t)b * in->w + l) * 3 + (size_t)c] * (1 - (sx - l)) +
                           p[((size_t)b * in->w + r) * 3 + (size_t)c] * (sx - l);
                o.px[((size_t)(y0 + y) * W + x0 + x) * 3 + (size_t)c] =
                    (uint8_t)lround(t + (u - t) * (sy - a));
            }
        }
    }
    for (int line = 0; line < 2; line++) /* text lines */
        for (uint32_t y = y0 + ph + 8 + 10 * (uint32_t)line; y < y0 + ph + 12 + 10 * (uint32_t)line; y++)
            for (uint32_t x = x0 + 4; x < x0 + pw * (line ? 6 : 9) / 10; x++)
                dot(&o, x, y, 120, 120, 120);
    return o;
}

static uint8_t *ppm(const pic *p, size_t *len)
{
    char head[64];
    int n = snprintf(head, sizeof head, "P6\n%u %u\n255\n", p->w, p->h);
    *len = (size_t)n + (size_t)p->w * p->h * 3;
    uint8_t *f = malloc(*len);
    if (!f)
        exit(2);
    memcpy(f, head, (size_t)n);
    memcpy(f + n, p->px, (size_t)p->w * p->h * 3);
    return f;
}

static int add(phm_index *idx, const phm_entry *e)
{
    return index_add_one(idx, e, err, sizeof err);
}

/* Augments p with the default set into *e (id `id`); 0 on failure. */
static int entry_of(phm_hasher *h, const pic *p, const char *id, phm_entry *e)
{
    int codes[PHM_INDEX_MAX_VARIANTS];
    size_t n = phm_augment_default(codes, PHM_INDEX_MAX_VARIANTS);
    phm_image img = { p->px, p->w, p->h, 3, (size_t)p->w * 3, PHM_FORMAT_PNG };
    phm_pdq_result r;
    memset(e, 0, sizeof *e);
    if (phm_hash_image(h, &img, PHM_MODE_FULL, 0, &r) != PHM_OK)
        return 0;
    *e = (phm_entry){ .source = "s", .id = id, .signals = PHM_SIG_PDQ, .quality = r.quality,
                      .pdq = r.hash[0] };
    return phm_augment(h, &img, PHM_MODE_FULL, &e->pdq, codes, n, PHM_AUGMENT_MIN_DISTANCE,
                       e->variants, &e->nvariants, err, sizeof err) == PHM_OK;
}

/* The nearest to q of e's own hash and its variants not named area64*. */
static int nearest_plain(const phm_entry *e, const phm_pdq *q)
{
    int best = phm_pdq_distance(&e->pdq, q);
    for (size_t i = 0; i < e->nvariants; i++) {
        const char *n = phm_known_variant_name(e->variants[i].code);
        int d = phm_pdq_distance(&e->variants[i].pdq, q);
        if (strncmp(n, "area64", 6) && d < best)
            best = d;
    }
    return best;
}

/* The nearest to q of e's area64 variants, or 257. */
static int nearest_area(const phm_entry *e, const phm_pdq *q)
{
    int best = 257;
    for (size_t i = 0; i < e->nvariants; i++) {
        int d = phm_pdq_distance(&e->variants[i].pdq, q);
        if (!strncmp(phm_known_variant_name(e->variants[i].code), "area64", 6) && d < best)
            best = d;
    }
    return best;
}

/* The copy c's hashes as a --robust query, matched at radius 31 into
 * out as "id:variant:known_variant" comma-separated; *plain the nearest
 * of its own and trimmed hashes to e's hashes other than area64, *area
 * the nearest of its area64 hashes to e's area64 ones. */
static const char *query(phm_decoder *dec, phm_hasher *h, phm_index *idx, const pic *c,
                         const phm_entry *e, int *plain, int *area, char *out, size_t len)
{
    const phm_query_options qo = { .mode = PHM_MODE_FULL, .trim = 1, .cuts = 1, .soft = 1,
                                   .corners = 1 };
    size_t n;
    uint8_t *f = ppm(c, &n);
    phm_query_hashes q;
    int rc = phm_hash_mem_query(dec, h, f, n, "copy.ppm", &qo, &q, err, sizeof err);
    free(f);
    out[0] = 0;
    if (rc != PHM_OK)
        return "error";
    *plain = nearest_plain(e, &q.pdq.hash[0]);
    if (q.trim.found) {
        int d = nearest_plain(e, &q.trim.pdq.hash[0]);
        *plain = d < *plain ? d : *plain;
    }
    if (q.trim.alt_found) {
        int d = nearest_plain(e, &q.trim.alt_pdq.hash[0]);
        *plain = d < *plain ? d : *plain;
    }
    *area = 257;
    for (int k = 0; k < 3; k++)
        if (q.area_ok & (1u << k)) {
            int d = nearest_area(e, &q.area[k].hash[0]);
            *area = d < *area ? d : *area;
        }
    phm_match_extra x[PHM_QUERY_MAX_EXTRA];
    phm_match_options mo;
    phm_match_options_init(&mo);
    mo.max_distance = 31;
    phm_query_match_options(&q, x, &mo);
    phm_searcher *s;
    phm_matcher *m;
    const phm_match_result *res;
    if (phm_searcher_new(idx, &s, err, sizeof err) || phm_matcher_new(s, &m))
        return "error";
    if (phm_match_image(m, &q.pdq, &mo, &res, err, sizeof err) == PHM_OK)
        for (size_t i = 0; i < res->count; i++) {
            size_t l = strlen(out);
            snprintf(out + l, len - l, "%s%s:%s:%s", i ? "," : "", res->hits[i].e.id,
                     res->hits[i].variant ? res->hits[i].variant : "-",
                     res->hits[i].known_variant ? res->hits[i].known_variant : "-");
        }
    phm_matcher_free(m);
    phm_searcher_free(s);
    return out;
}

int main(void)
{
    phm_hasher *h;
    phm_decoder *dec;
    if (phm_hasher_new(&h, PHM_SIMD_AUTO) || phm_decoder_new(&dec, NULL))
        return 2;
    scratch_dir(dir, sizeof dir, "small");
    char path[600], buf[512];
    snprintf(path, sizeof path, "%s/s.phmi", dir);
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create an index");
    static const uint32_t sides[] = { 120, 150, 240 };
    enum { N = sizeof sides / sizeof sides[0] };
    static const char *ids[N] = { "d0", "d1", "d2" };
    pic p[N];
    static phm_entry e[N];
    for (int k = 0; k < N; k++) {
        p[k] = drawing(sides[k], k);
        OK(entry_of(h, &p[k], ids[k], &e[k]), "drawing %d (%u px) augmented: %s", k,
           sides[k], err);
        int area = 0;
        for (size_t i = 0; i < e[k].nvariants; i++)
            area |= strncmp(phm_known_variant_name(e[k].variants[i].code), "area64", 6) == 0;
        OK(area, "drawing %d stores an area64 variant", k);
        IS_INT(add(idx, &e[k]), PHM_OK, "drawing %d indexed", k);
    }
    for (int k = 0; k < N; k++) {
        int plain = 0, area = 0;
        char want[64];
        pic c[2] = { shrink(&p[k], (p[k].w + 2) / 4, (p[k].h + 2) / 4), screenshot(&p[k]) };
        static const char *what[2] = { "thumbnail", "screenshot" };
        for (int j = 0; j < 2; j++) {
            query(dec, h, idx, &c[j], &e[k], &plain, &area, buf, sizeof buf);
            snprintf(want, sizeof want, "%s:", ids[k]);
            OK(strncmp(buf, want, strlen(want)) == 0 && !strchr(buf, ','),
               "drawing %d's %s (%ux%u) matches it alone (%s)", k, what[j], c[j].w, c[j].h,
               buf);
            OK(area <= 31, "... its area64 hashes within 31 of a stored area64 (%d)", area);
            if (j) /* a thumbnail's own hash may be near down25 or down50 */
                OK(plain > 31 && strstr(buf, ":area64"),
                   "... its own and trimmed hashes far (%d): found through area64", plain);
        }
        free(c[0].px);
        free(c[1].px);
    }
    /* a large picture: no area64 variant, no area64 query hash */
    pic big = drawing(300, 0);
    phm_entry eb;
    OK(entry_of(h, &big, "big", &eb), "a 300-pixel drawing augmented");
    int area = 0;
    for (size_t i = 0; i < eb.nvariants; i++)
        area |= strncmp(phm_known_variant_name(eb.variants[i].code), "area64", 6) == 0;
    OK(!area, "a picture over PHM_AREA64_MAX_SIDE stores no area64 variant");
    {
        const phm_query_options qo = { .mode = PHM_MODE_FULL, .trim = 1, .cuts = 1, .soft = 1 };
        size_t n;
        uint8_t *f = ppm(&big, &n);
        phm_query_hashes q;
        IS_INT(phm_hash_mem_query(dec, h, f, n, "big.ppm", &qo, &q, err, sizeof err), PHM_OK,
               "the large drawing hashed as a query");
        OK(!(q.area_ok & 1), "... with no area64 hash of itself");
        free(f);
    }
    /* a star polygon of 1-pixel lines: the same turned a quarter */
    pic star = blank(121, 121, 255);
    for (int a = 0; a < 41; a++) {
        double t0 = a * 2 * M_PI / 41, t1 = (a + 13) * 2 * M_PI / 41;
        for (double f = 0; f <= 1; f += 0.002)
            dot(&star, lround(60 + 55 * ((1 - f) * cos(t0) + f * cos(t1))),
                lround(60 + 55 * ((1 - f) * sin(t0) + f * sin(t1))), 20, 20, 20);
    }
    phm_entry es;
    OK(entry_of(h, &star, "star", &es), "a 41-point star polygon augmented");
    area = 0;
    for (size_t i = 0; i < es.nvariants; i++)
        area |= strncmp(phm_known_variant_name(es.variants[i].code), "area64", 6) == 0;
    OK(!area, "... it stores no area64 variant (evenly resampled, stars are alike)");
    free(star.px);
    phm_image im = { big.px, big.w, big.h, 3, (size_t)big.w * 3, PHM_FORMAT_PNG };
    phm_pdq_result r;
    IS_INT(phm_hash_area64(h, &im, PHM_MODE_FULL, 0, &r), PHM_ERR_INVALID,
           "phm_hash_area64 refuses a picture over PHM_AREA64_MAX_SIDE");
    free(big.px);
    for (int k = 0; k < N; k++)
        free(p[k].px);
    phm_index_close(idx);
    phm_decoder_free(dec);
    phm_hasher_free(h);
    scratch_done(dir);
    return tap_done();
}
