/* test_trim.c - border trimming (phm_trim_detect, phm_image_view,
 * phm_hash_mem_trim) on generated images: a textured "photo" put inside a
 * black, white or coloured border, a blurred-fill letterbox and
 * pillarbox, and a screenshot's bars, raw and JPEG-compressed, each
 * giving back the rectangle it was put at; and the images that must be
 * left whole: no border, a dark night sky over a jagged skyline, a
 * gradient sky, a white product shot, thin lines across a plain image, a
 * border too thin, content too small; blurred fills meeting smooth
 * content, a screenshot's bars of near colours over a pale sky; and left
 * whole too: a soft vignette, a gradient, a blurred photo, a dark sky, a
 * smooth wallpaper, a band along one side only; sparse line art (a flock
 * of birds) on a phone's screen, found through its stored
 * "trim-white-thin" / "trim-black-thin"; a playing card whose cream
 * ground outnumbers the screen's canvas, and a small button on a large
 * screen as a JPEG (found through the streamed decode's reduced copy);
 * a drawing letterboxed in its own white with a faint stroke the known
 * image lacks (found through the canvas's second box).
 * The trimmed hash is checked
 * against an independent one: the content cut out by copying its pixels,
 * then hashed; the plain hash against phm_hash_mem's. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "tap.h"
#include "phmatch.h"

typedef struct pic {
    uint8_t *p;
    uint32_t w, h;
} pic;

static uint32_t hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* Value noise: lattice values every `cell` pixels, bilinear between. */
static double noise(uint32_t seed, double x, double y, double cell)
{
    double fx = x / cell, fy = y / cell;
    int ix = (int)floor(fx), iy = (int)floor(fy);
    double tx = fx - ix, ty = fy - iy;
    double v[4];
    for (int k = 0; k < 4; k++)
        v[k] = (hash32(seed ^ hash32((uint32_t)(ix + (k & 1)) * 73856093u ^
                                     (uint32_t)(iy + (k >> 1)) * 19349663u)) & 0xffff) /
               65535.0;
    double a = v[0] + (v[1] - v[0]) * tx, b = v[2] + (v[3] - v[2]) * tx;
    return a + (b - a) * ty;
}

static pic new_pic(uint32_t w, uint32_t h)
{
    pic q = { calloc((size_t)w * h * 3, 1), w, h };
    return q;
}

static uint8_t *at(const pic *q, uint32_t x, uint32_t y)
{
    return q->p + ((size_t)y * q->w + x) * 3;
}

static uint8_t clamp(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* A textured picture: noise at three scales per channel and a few sharp
 * edged rectangles. */
static pic photo(uint32_t w, uint32_t h, uint32_t seed)
{
    pic q = new_pic(w, h);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                uint32_t s = seed * 3 + (uint32_t)c;
                double v = 150 * noise(s, x, y, 40) + 70 * noise(s + 99, x, y, 9) +
                           35 * noise(s + 7, x, y, 3);
                at(&q, x, y)[c] = clamp(v);
            }
    for (int k = 0; k < 6; k++) {
        uint32_t r = hash32(seed * 31 + (uint32_t)k);
        uint32_t x0 = r % w, y0 = (r >> 8) % h, x1 = x0 + w / 5, y1 = y0 + h / 6;
        for (uint32_t y = y0; y < y1 && y < h; y++)
            for (uint32_t x = x0; x < x1 && x < w; x++)
                at(&q, x, y)[k % 3] = (uint8_t)(at(&q, x, y)[k % 3] / 3);
    }
    return q;
}

static void paste(pic *dst, const pic *src, uint32_t x0, uint32_t y0)
{
    for (uint32_t y = 0; y < src->h; y++)
        memcpy(at(dst, x0, y0 + y), at(src, 0, y), (size_t)src->w * 3);
}

static pic solid(uint32_t w, uint32_t h, uint8_t r, uint8_t g, uint8_t b)
{
    pic q = new_pic(w, h);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        q.p[3 * i] = r;
        q.p[3 * i + 1] = g;
        q.p[3 * i + 2] = b;
    }
    return q;
}

/* src stretched to w x h (nearest), then box-blurred (radius r, 3 passes
 * each way): the fill of a blurred letterbox. */
static pic blurred_fill(const pic *src, uint32_t w, uint32_t h, int r)
{
    pic q = new_pic(w, h), t = new_pic(w, h);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            memcpy(at(&q, x, y), at(src, x * src->w / w, y * src->h / h), 3);
    for (int pass = 0; pass < 6; pass++) {
        int horiz = pass % 2 == 0;
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) {
                    int sum = 0, n = 0;
                    for (int d = -r; d <= r; d++) {
                        long xx = horiz ? (long)x + d : (long)x, yy = horiz ? (long)y : (long)y + d;
                        if (xx < 0 || yy < 0 || xx >= (long)w || yy >= (long)h)
                            continue;
                        sum += at(&q, (uint32_t)xx, (uint32_t)yy)[c];
                        n++;
                    }
                    at(&t, x, y)[c] = (uint8_t)(sum / n);
                }
        pic sw = q;
        q = t;
        t = sw;
    }
    free(t.p);
    return q;
}

/* q through JPEG at `quality` and back (libjpeg-turbo): the noise a
 * border has in practice. */
static pic jpeg_roundtrip(const pic *q, int quality)
{
    tjhandle c = tjInitCompress(), d = tjInitDecompress();
    unsigned char *buf = NULL;
    unsigned long len = 0;
    pic out = new_pic(q->w, q->h);
    if (tjCompress2(c, q->p, (int)q->w, 0, (int)q->h, TJPF_RGB, &buf, &len, TJSAMP_420,
                    quality, 0) != 0 ||
        tjDecompress2(d, buf, len, out.p, (int)q->w, 0, (int)q->h, TJPF_RGB, 0) != 0)
        memset(out.p, 0, (size_t)q->w * q->h * 3);
    tjFree(buf);
    tjDestroy(c);
    tjDestroy(d);
    return out;
}

/* q as a JPEG at `quality` (4:2:0), *len bytes; tjFree it. NULL if
 * libjpeg-turbo fails. */
static unsigned char *jpeg_of(const pic *q, int quality, unsigned long *len)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpg = NULL;
    *len = 0;
    if (tjCompress2(tj, q->p, (int)q->w, 0, (int)q->h, TJPF_RGB, &jpg, len, TJSAMP_420, quality,
                    0) != 0) {
        tjFree(jpg);
        jpg = NULL;
    }
    tjDestroy(tj);
    return jpg;
}

static phm_image view_of(const pic *q)
{
    phm_image img = { q->p, q->w, q->h, 3, (size_t)q->w * 3, PHM_FORMAT_UNKNOWN };
    return img;
}

/* |a - b| <= tol */
static int near(uint32_t a, uint32_t b, uint32_t tol)
{
    return (a > b ? a - b : b - a) <= tol;
}

/* The rectangle found in q (and in its JPEG copy) is (x, y, w, h), within
 * tol pixels (tolj for the JPEG copy). */
static void finds(const pic *q, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t tolj,
                  const char *what)
{
    phm_rect r;
    phm_image img = view_of(q);
    int rc = phm_trim_detect(&img, &r);
    if (!OK(rc == 1 && r.x == x && r.y == y && r.width == w && r.height == h,
            "%s: found at %ux%u+%u+%u", what, w, h, x, y))
        printf("#   rc %d, %ux%u+%u+%u\n", rc, r.width, r.height, r.x, r.y);
    pic j = jpeg_roundtrip(q, 75);
    img = view_of(&j);
    rc = phm_trim_detect(&img, &r);
    if (!OK(rc == 1 && near(r.x, x, tolj) && near(r.y, y, tolj) && near(r.width, w, 2 * tolj) &&
                near(r.height, h, 2 * tolj),
            "%s, JPEG quality 75: found within %u pixels", what, tolj))
        printf("#   rc %d, %ux%u+%u+%u\n", rc, r.width, r.height, r.x, r.y);
    free(j.p);
}

/* q (and its JPEG copy) is left whole. */
static void left_whole(const pic *q, const char *what)
{
    phm_rect r;
    phm_image img = view_of(q);
    int rc = phm_trim_detect(&img, &r);
    if (!OK(rc == 0 && r.x == 0 && r.y == 0 && r.width == q->w && r.height == q->h,
            "%s: left whole", what))
        printf("#   rc %d, %ux%u+%u+%u\n", rc, r.width, r.height, r.x, r.y);
    pic j = jpeg_roundtrip(q, 75);
    img = view_of(&j);
    rc = phm_trim_detect(&img, &r);
    if (!OK(rc == 0, "%s, JPEG quality 75: left whole", what))
        printf("#   rc %d, %ux%u+%u+%u\n", rc, r.width, r.height, r.x, r.y);
    free(j.p);
}

static void test_borders(void)
{
    pic c = photo(240, 180, 1);
    struct {
        uint8_t r, g, b;
        const char *name;
    } colours[] = { { 0, 0, 0, "black" }, { 255, 255, 255, "white" }, { 40, 90, 160, "blue" } };
    for (size_t k = 0; k < 3; k++) {
        char what[64];
        pic lb = solid(240, 230, colours[k].r, colours[k].g, colours[k].b);
        paste(&lb, &c, 0, 25);
        snprintf(what, sizeof what, "letterbox, %s", colours[k].name);
        finds(&lb, 0, 25, 240, 180, 3, what);
        free(lb.p);
        pic pb = solid(300, 180, colours[k].r, colours[k].g, colours[k].b);
        paste(&pb, &c, 30, 0);
        snprintf(what, sizeof what, "pillarbox, %s", colours[k].name);
        finds(&pb, 30, 0, 240, 180, 3, what);
        free(pb.p);
    }
    /* All four sides, unequal. */
    pic fr = solid(300, 240, 250, 250, 250);
    paste(&fr, &c, 20, 40);
    finds(&fr, 20, 40, 240, 180, 3, "frame on four sides");
    free(fr.p);

    /* Blurred fill, letterbox and pillarbox. */
    pic f = blurred_fill(&c, 240, 230, 10);
    paste(&f, &c, 0, 25);
    finds(&f, 0, 25, 240, 180, 3, "letterbox, blurred fill");
    free(f.p);
    f = blurred_fill(&c, 300, 180, 10);
    paste(&f, &c, 30, 0);
    finds(&f, 30, 0, 240, 180, 3, "pillarbox, blurred fill");
    free(f.p);

    /* A screenshot: dark status bar, light canvas, the image scaled into
     * it. */
    pic s = solid(240, 320, 242, 242, 242);
    for (uint32_t y = 0; y < 24; y++)
        for (uint32_t x = 0; x < 240; x++)
            memset(at(&s, x, y), 32, 3);
    pic small = photo(180, 135, 2);
    paste(&s, &small, 30, 90);
    finds(&s, 30, 90, 180, 135, 3, "screenshot bars");
    free(s.p);
    free(small.p);
    free(c.p);
}

/* A phone screenshot (wt-shot): bars with text and icons on them (marks
 * of another colour), a canvas, the image, a row of icons and grey text
 * lines under it, a navigation bar or a gesture pill, optionally a rounded
 * screen's black corners. */
static void mark(pic *q, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h, uint8_t v)
{
    for (uint32_t y = y0; y < y0 + h && y < q->h; y++)
        for (uint32_t x = x0; x < x0 + w && x < q->w; x++)
            memset(at(q, x, y), v, 3);
}

static void bar(pic *q, uint32_t y0, uint32_t h, uint8_t r, uint8_t g, uint8_t b)
{
    for (uint32_t y = y0; y < y0 + h; y++)
        for (uint32_t x = 0; x < q->w; x++) {
            at(q, x, y)[0] = r;
            at(q, x, y)[1] = g;
            at(q, x, y)[2] = b;
        }
}

static pic screen(int dark, int round, const pic *image, uint32_t x0, uint32_t y0)
{
    uint8_t cv = dark ? 18 : 250, ink = dark ? 230 : 30;
    pic s = solid(240, 480, cv, cv, cv);
    bar(&s, 0, 16, dark ? 0 : 30, dark ? 0 : 100, dark ? 0 : 200); /* status bar */
    mark(&s, 8, 4, 18, 8, 255);                                   /* the time */
    for (uint32_t k = 0; k < 3; k++)
        mark(&s, 190 + 12 * k, 4, 6, 8, 255); /* icons */
    bar(&s, 16, 32, dark ? 40 : 40, dark ? 40 : 140, dark ? 40 : 230); /* app bar */
    mark(&s, 10, 28, 16, 4, 255);                                      /* menu */
    mark(&s, 40, 26, 40, 10, 255);                                     /* title */
    paste(&s, image, x0, y0);
    uint32_t ly = y0 + image->h + 12;
    for (uint32_t k = 0; k < 3; k++)
        mark(&s, 10 + 24 * k, ly, 12, 12, ink); /* like, comment, share */
    mark(&s, 10, ly + 24, 200, 8, dark ? 90 : 200); /* text lines */
    mark(&s, 10, ly + 40, 140, 8, dark ? 90 : 200);
    if (dark) {
        mark(&s, 80, 468, 80, 5, ink); /* gesture pill */
    } else {
        bar(&s, 444, 36, 0, 0, 0); /* navigation bar */
        for (uint32_t k = 0; k < 3; k++)
            mark(&s, 50 + 64 * k, 456, 12, 12, 255);
    }
    if (round) /* a rounded screen: black corners of radius 20 */
        for (uint32_t y = 0; y < 480; y++)
            for (uint32_t x = 0; x < 240; x++) {
                long dx = x < 20 ? 20 - (long)x : x >= 220 ? (long)x - 219 : 0;
                long dy = y < 20 ? 20 - (long)y : y >= 460 ? (long)y - 459 : 0;
                if (dx * dx + dy * dy > 400)
                    memset(at(&s, x, y), 0, 3);
            }
    return s;
}

static void test_screens(void)
{
    pic full = photo(240, 160, 7), narrow = photo(216, 150, 8);
    pic s = screen(0, 0, &full, 0, 70);
    finds(&s, 0, 70, 240, 160, 3, "phone screen, text and icons on its bars, full width");
    free(s.p);
    s = screen(1, 0, &narrow, 12, 130);
    finds(&s, 12, 130, 216, 150, 3, "phone screen, dark mode, centred");
    free(s.p);
    s = screen(0, 1, &narrow, 12, 60);
    finds(&s, 12, 60, 216, 150, 3, "phone screen, rounded corners");
    free(s.p);
    /* A graphic with flat bands of its own colour across it: one image,
     * not three (plain rows of another colour than the canvas). */
    pic g = photo(240, 180, 9);
    for (uint32_t y = 60; y < 80; y++)
        for (uint32_t x = 0; x < 240; x++) {
            at(&g, x, y)[0] = 200;
            at(&g, x, y)[1] = 60;
            at(&g, x, y)[2] = 60;
        }
    s = screen(0, 0, &g, 0, 64);
    finds(&s, 0, 64, 240, 180, 3, "phone screen, a graphic with a flat band");
    free(s.p);
    free(g.p);
    /* Left whole: a tall photo, and one with a plain sky at the top
     * (the interface must be above and below). */
    pic tall = photo(200, 400, 11);
    left_whole(&tall, "a tall photo");
    bar(&tall, 0, 60, 120, 170, 230);
    left_whole(&tall, "a tall photo under a plain sky");
    free(tall.p);
    free(full.p);
    free(narrow.p);
}

static void test_false_trims(void)
{
    pic c = photo(240, 180, 3);
    left_whole(&c, "a photo without a border");

    /* A night photo: black sky with sensor noise, then a jagged skyline
     * of lit windows. */
    pic n = new_pic(240, 180);
    for (uint32_t y = 0; y < 180; y++)
        for (uint32_t x = 0; x < 240; x++) {
            uint32_t sky = 60 + hash32(x / 12) % 60; /* the skyline's height */
            uint8_t v = (uint8_t)(hash32(x * 7919 + y) % 6);
            if (y > sky)
                v = (uint8_t)(hash32(x / 4 * 31 + y / 5) % 3 == 0 ? 200 : 20 + v);
            memset(at(&n, x, y), v, 3);
        }
    left_whole(&n, "a night sky over a jagged skyline");
    free(n.p);

    /* A gradient sky over land. */
    pic g = photo(240, 180, 4);
    for (uint32_t y = 0; y < 90; y++)
        for (uint32_t x = 0; x < 240; x++) {
            uint8_t *p = at(&g, x, y);
            p[0] = (uint8_t)(60 + y);
            p[1] = (uint8_t)(110 + y);
            p[2] = (uint8_t)(200 + y / 2);
        }
    left_whole(&g, "a gradient sky");
    free(g.p);

    /* A product shot: a textured ellipse on white. */
    pic w = solid(240, 240, 255, 255, 255);
    for (uint32_t y = 0; y < 240; y++)
        for (uint32_t x = 0; x < 240; x++) {
            double dx = (x - 120.0) / 80, dy = (y - 120.0) / 100;
            if (dx * dx + dy * dy <= 1)
                memcpy(at(&w, x, y), at(&c, x % 240, y % 180), 3);
        }
    left_whole(&w, "a white product shot");
    free(w.p);

    /* Thin dark lines across a white page. */
    pic l = solid(240, 240, 255, 255, 255);
    for (uint32_t y = 30; y < 240; y += 40)
        for (uint32_t x = 0; x < 240; x++)
            memset(at(&l, x, y), 0, 3);
    left_whole(&l, "thin lines across a plain image");
    free(l.p);

    /* A border of 1 % of the height. */
    pic t = solid(240, 200, 0, 0, 0);
    pic tall = photo(240, 196, 5);
    paste(&t, &tall, 0, 2);
    left_whole(&t, "a border of 1 % of the height");
    free(t.p);
    free(tall.p);

    /* Content of 10 % of the width. */
    pic narrow = solid(300, 180, 0, 0, 0);
    pic strip = photo(30, 180, 6);
    paste(&narrow, &strip, 135, 0);
    left_whole(&narrow, "content of 10 % of the width");
    free(narrow.p);
    free(strip.p);

    /* A uniform image. */
    pic u = solid(200, 200, 128, 128, 128);
    left_whole(&u, "a uniform image");
    free(u.p);
    free(c.p);
}

/* A smooth picture (broad colour changes, little fine detail: a soft
 * wallpaper), which a blurred copy of itself meets with few steps. */
static pic smooth_photo(uint32_t w, uint32_t h, uint32_t seed)
{
    pic q = new_pic(w, h);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                uint32_t s = seed * 3 + (uint32_t)c;
                double v = 60 + 150 * noise(s, x, y, 50) + 40 * noise(s + 5, x, y, 14);
                at(&q, x, y)[c] = clamp(v);
            }
    return q;
}

/* src shrunk to a sixteenth (block means), stretched back to w x h
 * (bilinear): the fill of a blurred letterbox as video tools and
 * tools/mkqueries make it. */
static pic stretched_fill(const pic *src, uint32_t w, uint32_t h)
{
    uint32_t sw = src->w / 16, sh = src->h / 16;
    pic small = new_pic(sw, sh), q = new_pic(w, h);
    for (uint32_t y = 0; y < sh; y++)
        for (uint32_t x = 0; x < sw; x++)
            for (int c = 0; c < 3; c++) {
                unsigned sum = 0;
                for (uint32_t j = 0; j < 16; j++)
                    for (uint32_t i = 0; i < 16; i++)
                        sum += at(src, x * 16 + i, y * 16 + j)[c];
                at(&small, x, y)[c] = (uint8_t)(sum / 256);
            }
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            double fx = ((double)x + 0.5) * sw / w - 0.5, fy = ((double)y + 0.5) * sh / h - 0.5;
            fx = fx < 0 ? 0 : fx > sw - 1 ? sw - 1 : fx;
            fy = fy < 0 ? 0 : fy > sh - 1 ? sh - 1 : fy;
            uint32_t x0 = (uint32_t)fx, y0 = (uint32_t)fy;
            uint32_t x1 = x0 + 1 < sw ? x0 + 1 : x0, y1 = y0 + 1 < sh ? y0 + 1 : y0;
            double tx = fx - x0, ty = fy - y0;
            for (int c = 0; c < 3; c++) {
                double a = at(&small, x0, y0)[c] * (1 - tx) + at(&small, x1, y0)[c] * tx;
                double b = at(&small, x0, y1)[c] * (1 - tx) + at(&small, x1, y1)[c] * tx;
                at(&q, x, y)[c] = clamp(a + (b - a) * ty);
            }
        }
    free(small.p);
    return q;
}

/* Blurred fills meeting smooth content (weak edges, paired), and a
 * phone screenshot with two bars of near colours and a bright sky at the
 * image's top edge. */
static void test_soft_edges(void)
{
    pic c = smooth_photo(320, 240, 11);
    pic f = stretched_fill(&c, 320, 264);
    paste(&f, &c, 0, 12);
    finds(&f, 0, 12, 320, 240, 3, "letterbox, stretched fill of smooth content");
    free(f.p);
    f = stretched_fill(&c, 352, 240);
    paste(&f, &c, 16, 0);
    finds(&f, 16, 0, 320, 240, 3, "pillarbox, stretched fill of smooth content");
    free(f.p);
    free(c.p);

    static const uint8_t status[3] = { 21, 101, 192 }, appbar[3] = { 30, 136, 229 };
    pic s = solid(320, 568, 255, 255, 255);
    for (uint32_t y = 0; y < 62; y++)
        for (uint32_t x = 0; x < 320; x++)
            memcpy(at(&s, x, y), y < 22 ? status : appbar, 3);
    for (uint32_t y = 522; y < 568; y++)
        for (uint32_t x = 0; x < 320; x++)
            memset(at(&s, x, y), 32, 3);
    pic img = photo(294, 220, 12);
    paste(&s, &img, 13, 140);
    /* Raw pixels: through JPEG quality 75 the thin status bar's edge
     * spreads over lines enough to hide it (docs/ROBUST.md). */
    phm_rect r;
    phm_image v = view_of(&s);
    int rc = phm_trim_detect(&v, &r);
    if (!OK(rc == 1 && r.x == 13 && r.y == 140 && r.width == 294 && r.height == 220,
            "screenshot, bars of near colours: found at 294x220+13+140"))
        printf("#   rc %d, %ux%u+%u+%u\n", rc, r.width, r.height, r.x, r.y);
    /* The image's top a pale sky, near the canvas' white. */
    for (uint32_t y = 0; y < 40; y++)
        for (uint32_t x = 0; x < 294; x++) {
            uint8_t *p = at(&s, 13 + x, 140 + y);
            p[0] = (uint8_t)(226 + (x + y) % 5);
            p[1] = (uint8_t)(238 + y % 3);
            p[2] = 246;
        }
    v = view_of(&s);
    rc = phm_trim_detect(&v, &r);
    if (!OK(rc == 1 && r.x == 13 && r.y == 140 && r.width == 294 && r.height == 220,
            "screenshot, a pale sky under the white canvas: found at 294x220+13+140"))
        printf("#   rc %d, %ux%u+%u+%u\n", rc, r.width, r.height, r.x, r.y);
    free(s.p);
    free(img.p);
}

/* Images with soft or one-sided edges that must stay whole. */
static void test_soft_false_trims(void)
{
    pic c = photo(320, 240, 21);
    /* A soft vignette. */
    pic v = photo(320, 240, 21);
    for (uint32_t y = 0; y < 240; y++)
        for (uint32_t x = 0; x < 320; x++) {
            double dx = (x - 160.0) / 160, dy = (y - 120.0) / 120;
            double k = 1 - 0.7 * (dx * dx + dy * dy) / 2;
            for (int ch = 0; ch < 3; ch++)
                at(&v, x, y)[ch] = clamp(at(&v, x, y)[ch] * k);
        }
    left_whole(&v, "a photo with a soft vignette");
    free(v.p);

    /* A plain gradient, top to bottom. */
    pic g = new_pic(320, 240);
    for (uint32_t y = 0; y < 240; y++)
        for (uint32_t x = 0; x < 320; x++) {
            uint8_t *p = at(&g, x, y);
            p[0] = (uint8_t)(20 + y / 2);
            p[1] = (uint8_t)(40 + y * 2 / 3);
            p[2] = (uint8_t)(90 + y / 3);
        }
    left_whole(&g, "a gradient");
    free(g.p);

    /* A blurred photo without bars. */
    pic b = blurred_fill(&c, 320, 240, 4);
    left_whole(&b, "a blurred photo without bars");
    free(b.p);

    /* A dark, smooth sky over a textured land, and a smooth
     * wallpaper. */
    pic d = photo(320, 240, 22);
    for (uint32_t y = 0; y < 100; y++)
        for (uint32_t x = 0; x < 320; x++) {
            uint8_t *p = at(&d, x, y);
            p[0] = (uint8_t)(8 + y / 10);
            p[1] = (uint8_t)(10 + y / 9);
            p[2] = (uint8_t)(24 + y / 6 + hash32(x * 131 + y) % 3);
        }
    left_whole(&d, "a photo with a dark sky");
    free(d.p);
    pic w = smooth_photo(320, 240, 23);
    left_whole(&w, "a smooth wallpaper");
    free(w.p);

    /* A dark band on one side only: a photo's own edge, not a border. */
    pic one = solid(320, 264, 0, 0, 0);
    paste(&one, &c, 0, 24);
    left_whole(&one, "a dark band along one side only");
    free(one.p);
    free(c.p);
}

static void test_api(void)
{
    pic c = photo(64, 48, 7);
    phm_image img = view_of(&c), v;
    phm_rect r = { 8, 4, 32, 20 };
    OK(phm_image_view(&img, &r, &v) == PHM_OK && v.width == 32 && v.height == 20 &&
           v.stride == img.stride && v.pixels == c.p + 4 * img.stride + 8 * 3,
       "view: the rectangle's pixels, the image's stride");
    r.width = 57;
    IS_INT(phm_image_view(&img, &r, &v), PHM_ERR_INVALID, "view: past the right edge");
    r = (phm_rect){ 0, 0, 0, 10 };
    IS_INT(phm_image_view(&img, &r, &v), PHM_ERR_INVALID, "view: empty");
    IS_INT(phm_trim_detect(NULL, &r), PHM_ERR_INVALID, "detect: NULL image");
    img.channels = 4;
    IS_INT(phm_trim_detect(&img, &r), PHM_ERR_INVALID, "detect: 4 channels");
    img.channels = 3;
    img.stride = 10;
    IS_INT(phm_trim_detect(&img, &r), PHM_ERR_INVALID, "detect: stride below the width");
    /* A tiny image: nothing to trim, no read outside it. */
    pic tiny = solid(5, 5, 0, 0, 0);
    img = view_of(&tiny);
    IS_INT(phm_trim_detect(&img, &r), 0, "detect: 5x5, left whole");
    free(tiny.p);
    free(c.p);
}

/* phm_hash_mem_trim on a letterboxed photo, as a JPEG (one pass and its
 * reduced copy) and as a PNG (decoded once): the plain hash is
 * phm_hash_mem's, the trimmed one that of the decoded content copied out
 * and hashed; nothing for the photo alone. */
static void hash_case(phm_decoder *dec, phm_hasher *h, const unsigned char *file, size_t len,
                      const pic *c, int want, const char *what)
{
    char err[PHM_ERRMSG_MAX];
    phm_trim_result t;
    phm_pdq_result plain, ref_plain;
    phm_image_info info, ref_info;
    int rc = phm_hash_mem_trim(dec, h, file, len, what, PHM_MODE_FULL, 1, &plain, &info, &t,
                               err, sizeof err);
    int rrc = phm_hash_mem(dec, h, file, len, what, PHM_MODE_FULL, 1, &ref_plain, &ref_info,
                           err, sizeof err);
    OK(rc == PHM_OK && rrc == PHM_OK &&
           memcmp(&plain, &ref_plain, sizeof plain) == 0 &&
           memcmp(&info, &ref_info, sizeof info) == 0,
       "%s: the plain hash and info are phm_hash_mem's", what);
    if (!want) {
        OK(t.found == 0, "%s: no border, none found", what);
        return;
    }
    OK(t.found == 1 && near(t.content.y, 100, 3) && near(t.content.height, 768, 6) &&
           t.content.width == 1024,
       "%s: the content found (%ux%u+%u+%u)", what, t.content.width, t.content.height,
       t.content.x, t.content.y);
    IS_INT(t.pdq.nhashes, 8, "%s: dihedral as asked", what);
    /* Reference: decode whole, copy the rectangle out, hash the copy. */
    phm_image img;
    phm_pdq_result ref;
    memset(&ref, 0, sizeof ref);
    if (t.found && phm_decode_mem(dec, file, len, what, &img, err, sizeof err) == PHM_OK) {
        pic cut = new_pic(t.content.width, t.content.height);
        for (uint32_t y = 0; y < cut.h; y++)
            memcpy(at(&cut, 0, y),
                   img.pixels + (size_t)(t.content.y + y) * img.stride + (size_t)t.content.x * 3,
                   (size_t)cut.w * 3);
        phm_image ci = view_of(&cut);
        phm_hash_image(h, &ci, PHM_MODE_FULL, 1, &ref);
        free(cut.p);
    }
    OK(memcmp(&ref.hash, &t.pdq.hash, sizeof ref.hash) == 0 && ref.quality == t.pdq.quality,
       "%s: the hash of the content copied out", what);
    phm_pdq_result own;
    phm_image ci = view_of(c);
    phm_hash_image(h, &ci, PHM_MODE_FULL, 0, &own);
    int d = phm_pdq_distance(&own.hash[0], &t.pdq.hash[0]);
    OK(d <= 16, "%s: trimmed hash near the photo's own (distance %d)", what, d);
    d = phm_pdq_distance(&own.hash[0], &plain.hash[0]);
    OK(d > 31, "%s: the plain hash is not (distance %d)", what, d);
}

/* A binary PPM of q (the PNM decoder reads it): a format decoded whole. */
static unsigned char *ppm(const pic *q, size_t *len)
{
    char head[64];
    int n = snprintf(head, sizeof head, "P6\n%u %u\n255\n", q->w, q->h);
    *len = (size_t)n + (size_t)q->w * q->h * 3;
    unsigned char *b = malloc(*len);
    if (b) {
        memcpy(b, head, (size_t)n);
        memcpy(b + n, q->p, (size_t)q->w * q->h * 3);
    }
    return b;
}

static void test_hash(void)
{
    phm_decoder *dec = NULL;
    phm_hasher *h = NULL;
    char err[PHM_ERRMSG_MAX];
    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO)) {
        OK(0, "decoder and hasher");
        return;
    }
    pic c = photo(1024, 768, 8);
    pic lb = solid(1024, 968, 0, 0, 0);
    paste(&lb, &c, 0, 100);
    tjhandle tj = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long len = 0;
    OK(tjCompress2(tj, lb.p, 1024, 0, 968, TJPF_RGB, &jpg, &len, TJSAMP_420, 85, 0) == 0,
       "a letterboxed JPEG");
    hash_case(dec, h, jpg, len, &c, 1, "letterboxed JPEG");
    tjFree(jpg);
    jpg = NULL;
    size_t plen;
    unsigned char *pnm = ppm(&lb, &plen);
    hash_case(dec, h, pnm, plen, &c, 1, "letterboxed PPM");
    free(pnm);

    OK(tjCompress2(tj, c.p, 1024, 0, 768, TJPF_RGB, &jpg, &len, TJSAMP_420, 85, 0) == 0,
       "a JPEG without a border");
    hash_case(dec, h, jpg, len, &c, 0, "JPEG without a border");
    tjFree(jpg);
    pnm = ppm(&c, &plen);
    hash_case(dec, h, pnm, plen, &c, 0, "PPM without a border");
    free(pnm);

    phm_trim_result t;
    phm_pdq_result r;
    int rc = phm_hash_mem_trim(dec, h, "junk", 4, "junk", PHM_MODE_FULL, 0, &r, NULL, &t, err,
                               sizeof err);
    OK(rc < 0 && t.found == 0 && strstr(err, "junk"), "hash_mem_trim: an error for junk");
    tjDestroy(tj);
    free(lb.p);
    free(c.p);
    phm_decoder_free(dec);
    phm_hasher_free(h);
}


/* wt-shot3: a picture whose own edge is white (black) on a phone's white
 * (dark) canvas: nothing in the pixels says where the picture ends, so
 * trimming's second box is the content off the canvas, and the known
 * image's stored "trim-white" ("trim-black") variant is that content cut
 * out of it. The independent reference: the test knows where it drew the
 * content, copies it out and hashes it. */
static pic edged(int dark, uint32_t seed)
{
    uint8_t e = dark ? 0 : 255;
    pic g = solid(240, 160, e, e, e);
    pic c = photo(150, 100, seed);
    paste(&g, &c, 40, 30);
    free(c.p);
    return g;
}

static phm_pdq hash_of(phm_hasher *h, const pic *q, uint32_t x, uint32_t y, uint32_t w,
                       uint32_t hh)
{
    pic c = new_pic(w, hh);
    for (uint32_t k = 0; k < hh; k++)
        memcpy(at(&c, 0, k), at(q, x, y + k), (size_t)w * 3);
    phm_image img = view_of(&c);
    phm_pdq_result r;
    memset(&r, 0, sizeof r);
    phm_hash_image(h, &img, PHM_MODE_FULL, 0, &r);
    free(c.p);
    return r.hash[0];
}

static void test_white_edges(void)
{
    phm_hasher *h;
    phm_decoder *dec;
    char err[PHM_ERRMSG_MAX];
    phm_hasher_new(&h, PHM_SIMD_AUTO);
    phm_decoder_new(&dec, NULL);
    const int codes[2] = { PHM_KV_TRIM_WHITE, PHM_KV_TRIM_BLACK };
    for (int dark = 0; dark < 2; dark++) {
        const char *what = dark ? "black-edged picture, dark screen" : "white-edged picture, light screen";
        pic g = edged(dark, 21 + (uint32_t)dark);
        phm_pdq ref = hash_of(h, &g, 40, 30, 150, 100); /* the content, copied out */
        /* The stored variant: the content off the edge's colour. */
        phm_image gi = view_of(&g);
        phm_pdq_result own;
        phm_hash_image(h, &gi, PHM_MODE_FULL, 0, &own);
        phm_entry_variant v[2];
        size_t nv = 0;
        int rc = phm_augment(h, &gi, PHM_MODE_FULL, &own.hash[0], codes, 2,
                             PHM_AUGMENT_MIN_DISTANCE, v, &nv, err, sizeof err);
        OK(rc == PHM_OK && nv == 1 && v[0].code == codes[dark] &&
               phm_pdq_distance(&v[0].pdq, &ref) == 0,
           "%s: one stored variant, %s, the content's hash", what,
           phm_known_variant_name(codes[dark]));
        /* The screenshot, as a JPEG: a second trimmed box around the
         * content, whose hash is near the variant and not the old box. */
        pic s = screen(dark, 0, &g, 0, 70);
        unsigned long len;
        unsigned char *jpg = jpeg_of(&s, 85, &len);
        phm_pdq_result r;
        phm_trim_result t;
        rc = phm_hash_mem_trim(dec, h, jpg, len, what, PHM_MODE_FULL, 0, &r, NULL, &t, err,
                               sizeof err);
        const phm_rect *b = t.alt_found ? &t.alt_content : &t.content;
        const phm_pdq *bh = t.alt_found ? &t.alt_pdq.hash[0] : &t.pdq.hash[0];
        if (!OK(rc == PHM_OK && t.found && near(b->x, 40, 2) && near(b->y, 100, 2) &&
                    near(b->width, 150, 3) && near(b->height, 100, 3),
                "%s: the content off the canvas found (second box %d)", what, t.alt_found))
            printf("#   rc %d found %d %ux%u+%u+%u alt %d %ux%u+%u+%u\n", rc, t.found,
                   t.content.width, t.content.height, t.content.x, t.content.y, t.alt_found,
                   t.alt_content.width, t.alt_content.height, t.alt_content.x, t.alt_content.y);
        int d = phm_pdq_distance(bh, &v[0].pdq), d0 = phm_pdq_distance(&r.hash[0], &own.hash[0]);
        OK(d <= 16 && d0 > 31, "%s: matches the stored variant (%d), not the own hash (%d)", what,
           d, d0);
        tjFree(jpg);
        free(s.p);
        free(g.p);
    }
    /* A picture without a plain edge stores neither variant, and its
     * screenshot gets no second box: no more hashes to match falsely. */
    pic p = photo(240, 160, 23);
    phm_image pi = view_of(&p);
    phm_pdq_result own;
    phm_hash_image(h, &pi, PHM_MODE_FULL, 0, &own);
    phm_entry_variant v[2];
    size_t nv = 9;
    int rc = phm_augment(h, &pi, PHM_MODE_FULL, &own.hash[0], codes, 2, PHM_AUGMENT_MIN_DISTANCE,
                         v, &nv, err, sizeof err);
    OK(rc == PHM_OK && nv == 0, "a picture without a plain edge: no trim variant (%zu)", nv);
    for (int dark = 0; dark < 2; dark++) {
        pic s = screen(dark, 0, &p, 0, 70);
        size_t plen;
        unsigned char *pnm = ppm(&s, &plen);
        phm_pdq_result r;
        phm_trim_result t;
        rc = phm_hash_mem_trim(dec, h, pnm, plen, "shot", PHM_MODE_FULL, 0, &r, NULL, &t, err,
                               sizeof err);
        OK(rc == PHM_OK && t.found && t.content.y == 70 && t.content.height == 160 &&
               !t.alt_found,
           "%s screen of a plain picture: one box, no second", dark ? "dark" : "light");
        free(pnm);
        free(s.p);
    }
    /* An edge under 1 % of a side is none. */
    pic q = solid(200, 200, 255, 255, 255);
    pic c = photo(198, 198, 24);
    paste(&q, &c, 1, 1);
    phm_image qi = view_of(&q);
    phm_hash_image(h, &qi, PHM_MODE_FULL, 0, &own);
    rc = phm_augment(h, &qi, PHM_MODE_FULL, &own.hash[0], codes, 2, PHM_AUGMENT_MIN_DISTANCE, v,
                     &nv, err, sizeof err);
    OK(rc == PHM_OK && nv == 0, "a one-pixel white edge: no trim variant");
    free(q.p);
    free(c.p);
    free(p.p);
    phm_decoder_free(dec);
    phm_hasher_free(h);
}

/* wt-shotgfx: sparse line art (a flock of small birds drawn in 1-pixel
 * strokes on white) whose top and bottom rows of birds are thin runs of
 * rows: on a phone's white screen, trimming's rule leaves them out with
 * the text lines (it cannot tell them apart), where the known image's
 * "trim-white" keeps them. The known image stores "trim-white-thin", its
 * content cut by the same rule (thick_rows), so the screenshot (a JPEG)
 * matches one of the default set's stored hashes; the screenshot of
 * another flock matches none of them. */
static void bird(pic *q, uint32_t x, uint32_t y, uint8_t ink)
{
    for (uint32_t k = 0; k < 5; k++) {
        memset(at(q, x + k, y + k), ink, 3);
        memset(at(q, x + 8 - k, y + k), ink, 3);
    }
}

/* dark: light birds on near black (the dark screen's canvas colour: a
 * black of 0 would be its status bar's too, and the canvas found would be
 * between them), for a dark screen ("trim-black-thin"). */
static pic flock(uint32_t seed, int dark)
{
    uint8_t bg = dark ? 18 : 255, ink = dark ? 215 : 40;
    pic g = solid(224, 170, bg, bg, bg);
    for (uint32_t k = 0; k < 6; k++) /* a thin run of birds at the top */
        bird(&g, 6 + hash32(seed + k) % 200, 3, ink);
    for (uint32_t y = 24; y < 140; y += 4) /* the flock: rows without a gap */
        for (uint32_t k = 0; k < 3; k++) {
            uint32_t r = hash32(seed * 977 + y * 13 + k);
            bird(&g, 6 + r % 200, y + (r >> 12) % 3, ink);
        }
    for (uint32_t k = 0; k < 5; k++) /* and one at the bottom */
        bird(&g, 6 + hash32(seed + 50 + k) % 200, 160, ink);
    return g;
}

/* A flock (flock(seed, dark)) put on a phone's screen as a JPEG: the
 * distance from any of its hashes (plain, trimmed, second box) to the
 * nearest of the known image's (own hash, variants v), and through which. */
static int shot_distance(phm_decoder *dec, phm_hasher *h, const pic *g, int dark,
                         const phm_pdq *own, const phm_entry_variant *v, size_t nv,
                         const char **via)
{
    char err[PHM_ERRMSG_MAX];
    pic s = screen(dark, 0, g, 8, 70);
    pic j = jpeg_roundtrip(&s, 85);
    size_t plen;
    unsigned char *pnm = ppm(&j, &plen);
    phm_pdq_result r;
    phm_trim_result t;
    int best = 256;
    *via = "none";
    if (phm_hash_mem_trim(dec, h, pnm, plen, "flock", PHM_MODE_FULL, 0, &r, NULL, &t, err,
                          sizeof err) == PHM_OK) {
        const phm_pdq *q[3] = { &r.hash[0], t.found ? &t.pdq.hash[0] : NULL,
                                t.alt_found ? &t.alt_pdq.hash[0] : NULL };
        for (int a = 0; a < 3; a++) {
            if (!q[a])
                continue;
            int d = phm_pdq_distance(q[a], own);
            if (d < best)
                best = d, *via = "own";
            for (size_t b = 0; b < nv; b++)
                if ((d = phm_pdq_distance(q[a], &v[b].pdq)) < best)
                    best = d, *via = phm_known_variant_name(v[b].code);
        }
    }
    free(pnm);
    free(j.p);
    free(s.p);
    return best;
}

static void test_sparse_shots(void)
{
    phm_hasher *h;
    phm_decoder *dec;
    char err[PHM_ERRMSG_MAX];
    phm_hasher_new(&h, PHM_SIMD_AUTO);
    phm_decoder_new(&dec, NULL);
    int codes[PHM_INDEX_MAX_VARIANTS];
    size_t ncodes = phm_augment_default(codes, PHM_INDEX_MAX_VARIANTS);
    for (int dark = 0; dark < 2; dark++) {
        const char *what = dark ? "light flock on black, dark screen"
                                : "flock on white, light screen";
        pic known = flock(31, dark), other = flock(32, dark);
        phm_pdq_result own;
        phm_entry_variant v[PHM_INDEX_MAX_VARIANTS];
        size_t nv = 0;
        phm_image gi = view_of(&known);
        phm_hash_image(h, &gi, PHM_MODE_FULL, 0, &own);
        int rc = phm_augment(h, &gi, PHM_MODE_FULL, &own.hash[0], codes, ncodes,
                             PHM_AUGMENT_MIN_DISTANCE, v, &nv, err, sizeof err);
        OK(rc == PHM_OK && own.quality >= 50, "%s: augmented (%zu variants, quality %d)", what,
           nv, own.quality);
        const char *via;
        int d = shot_distance(dec, h, &known, dark, &own.hash[0], v, nv, &via);
        OK(d <= 31, "%s: its screenshot matches it (%d bits, via %s)", what, d, via);
        d = shot_distance(dec, h, &other, dark, &own.hash[0], v, nv, &via);
        OK(d > 31, "%s: another one's screenshot matches none of its hashes (%d bits, via %s)",
           what, d, via);
        free(known.p);
        free(other.p);
    }
    /* A graphic whose content starts with a few sparse rows (birds over
     * a photo's top edge): the bands end at the photo, the content off the
     * canvas 3 rows higher, where the stored "trim-white" starts too. Within
     * 1 % of the screen's height of each other, but a second box all the
     * same (a sparse graphic's hash moves with a few rows). */
    pic g = solid(224, 150, 255, 255, 255), c = photo(200, 100, 33);
    paste(&g, &c, 12, 30);
    for (uint32_t k = 0; k < 5; k++)
        bird(&g, 20 + 40 * k, 27, 40);
    pic s = screen(0, 0, &g, 8, 70);
    size_t plen;
    unsigned char *pnm = ppm(&s, &plen);
    phm_pdq_result r;
    phm_trim_result t;
    int rc = phm_hash_mem_trim(dec, h, pnm, plen, "birds", PHM_MODE_FULL, 0, &r, NULL, &t, err,
                               sizeof err);
    if (!OK(rc == PHM_OK && t.found && t.content.y == 100 && t.alt_found && t.alt_content.y == 97,
            "sparse rows over a photo: the bands' box, and a second box 3 rows higher"))
        printf("#   box %ux%u+%u+%u, second %d %ux%u+%u+%u\n", t.content.width, t.content.height,
               t.content.x, t.content.y, t.alt_found, t.alt_content.width, t.alt_content.height,
               t.alt_content.x, t.alt_content.y);
    free(pnm);
    free(s.p);
    free(g.p);
    free(c.p);
    /* A strip (a skyline) 10 % of a white image's height: a screenshot's
     * picture as screen_content takes it (MIN_CONTENT of the width, 16
     * pixels high), so its "trim-white" is stored. */
    pic strip = solid(200, 200, 255, 255, 255), sc = photo(180, 20, 34);
    paste(&strip, &sc, 10, 90);
    phm_image si = view_of(&strip);
    phm_pdq_result own;
    phm_hash_image(h, &si, PHM_MODE_FULL, 0, &own);
    const int tw = PHM_KV_TRIM_WHITE;
    phm_entry_variant v;
    size_t nv = 0;
    rc = phm_augment(h, &si, PHM_MODE_FULL, &own.hash[0], &tw, 1, PHM_AUGMENT_MIN_DISTANCE, &v,
                     &nv, err, sizeof err);
    OK(rc == PHM_OK && nv == 1 && phm_pdq_distance(&v.pdq, &own.hash[0]) > 10,
       "a strip 10 %% of the height: trim-white stored (%zu)", nv);
    free(strip.p);
    free(sc.p);
    phm_decoder_free(dec);
    phm_hasher_free(h);
}

/* A web page's button: a red rounded rectangle, lighter towards its
 * top, with white letters, its edges anti-aliased (4 x 4 samples a pixel)
 * on white. */
static pic button(uint32_t w, uint32_t h)
{
    pic q = solid(w, h, 255, 255, 255);
    const double r = h / 2.0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            int in = 0;
            for (int sy = 0; sy < 4; sy++)
                for (int sx = 0; sx < 4; sx++) {
                    double px = x + (sx + 0.5) / 4, py = y + (sy + 0.5) / 4;
                    double cx = px < r ? r : px > w - r ? w - r : px;
                    in += (px - cx) * (px - cx) + (py - r) * (py - r) <= r * r;
                }
            double a = in / 16.0, light = 60.0 * (h - y) / h;
            uint8_t *p = at(&q, x, y);
            p[0] = clamp(255 * (1 - a) + (220 + light / 2) * a);
            p[1] = clamp(255 * (1 - a) + (40 + light) * a);
            p[2] = clamp(255 * (1 - a) + (50 + light) * a);
        }
    for (uint32_t k = 0; k < 6; k++) /* the letters */
        mark(&q, w / 5 + k * (w * 3 / 5) / 6, h / 3, w / 14, h / 3, 250);
    return q;
}

/* Two screenshots the canvas rule once missed (session 27):
 *   - a card: a picture whose own flat cream ground fills more rows than
 *     the white canvas around it (its rows stop at the card's sides, where
 *     the canvas shows; only the canvas's rows span the screen);
 *   - a small object on a white-edged picture on a large screen, as a
 *     JPEG: 110 rows high, 13 rows of the reduced copy the streamed
 *     decode looks at first (which must still send it to the whole
 *     image's look). */
static void test_screen_canvases(void)
{
    pic card = solid(220, 300, 240, 244, 217);
    pic face = photo(120, 100, 31);
    paste(&card, &face, 50, 110);
    mark(&card, 12, 12, 14, 24, 20);   /* a corner's letter */
    mark(&card, 194, 264, 14, 24, 20); /* and the opposite one's */
    pic s = screen(0, 0, &card, 10, 60);
    finds(&s, 10, 60, 220, 300, 3, "phone screen, a card whose cream ground outnumbers the canvas");
    free(s.p);
    free(card.p);
    free(face.p);

    phm_hasher *h;
    phm_decoder *dec;
    char err[PHM_ERRMSG_MAX];
    phm_hasher_new(&h, PHM_SIMD_AUTO);
    phm_decoder_new(&dec, NULL);
    /* bench/robustness.sh's screenshot of a 724 x 1024 white picture with
     * an object 110 rows high in its middle (mkqueries' layout: the
     * picture at 92 % of the width, bars of 4, 7 and 8 % of the height;
     * no text lines): the canvas's bands run from the bars to the object,
     * whose rows step from them, and leave too little between for a
     * border; the content off the canvas is what finds it */
    pic big = solid(724, 1411, 255, 255, 255);
    bar(&big, 0, 56, 0x15, 0x65, 0xc0);    /* status bar */
    bar(&big, 56, 99, 0x1e, 0x88, 0xe5);   /* app bar */
    bar(&big, 1298, 113, 0x20, 0x20, 0x20); /* navigation bar */
    pic obj = button(360, 110);
    paste(&big, &obj, 182, 638);
    unsigned long len;
    unsigned char *jpg = jpeg_of(&big, 90, &len);
    phm_pdq_result r;
    phm_trim_result t;
    int rc = phm_hash_mem_trim(dec, h, jpg, len, "small object", PHM_MODE_FULL, 0, &r, NULL, &t,
                               err, sizeof err);
    /* the box, or the second box (the content off the canvas) */
    const phm_rect *box = t.alt_found ? &t.alt_content : &t.content;
    const phm_pdq *bh = t.alt_found ? &t.alt_pdq.hash[0] : &t.pdq.hash[0];
    if (!OK(rc == PHM_OK && t.found && near(box->x, 182, 2) && near(box->y, 638, 2) &&
                near(box->width, 360, 4) && near(box->height, 110, 4),
            "JPEG phone screen, a 110-row object on white: found at 360x110+182+638"))
        printf("#   rc %d found %d %ux%u+%u+%u alt %d %ux%u+%u+%u\n", rc, t.found,
               t.content.width, t.content.height, t.content.x, t.content.y, t.alt_found,
               t.alt_content.width, t.alt_content.height, t.alt_content.x, t.alt_content.y);
    phm_pdq ref = hash_of(h, &big, box->x, box->y, box->width, box->height);
    OK(t.found && phm_pdq_distance(bh, &ref) <= 16, "... its trimmed hash is the box's (%d bits)",
       phm_pdq_distance(bh, &ref));
    tjFree(jpg);
    free(big.p);
    free(obj.p);
    phm_decoder_free(dec);
    phm_hasher_free(h);
}

/* A disk of photo() texture (radius r, its edge anti-aliased by 4 x 4
 * samples a pixel) centred at (cx, cy) on q: a drawing with no straight
 * edge for a band to end at. */
static void disk(pic *q, const pic *tex, double cx, double cy, double r)
{
    for (uint32_t y = 0; y < q->h; y++)
        for (uint32_t x = 0; x < q->w; x++) {
            int in = 0;
            for (int k = 0; k < 16; k++) {
                double dx = x + (k % 4 + 0.5) / 4 - cx, dy = y + (k / 4 + 0.5) / 4 - cy;
                in += dx * dx + dy * dy <= r * r;
            }
            if (!in)
                continue;
            /* the texture moves with the disk */
            const uint8_t *t = at(tex, (uint32_t)fmax(0, x + r - cx) % tex->w,
                                  (uint32_t)fmax(0, y + r - cy) % tex->h);
            for (int c = 0; c < 3; c++)
                at(q, x, y)[c] = clamp((t[c] * in + at(q, x, y)[c] * (16 - in)) / 16.0);
        }
}

/* A drawing on white letterboxed in white (no border the bands see: its
 * content off white is the box) with a faint thin stroke above it that
 * the known image lacks (a tip a JPEG's noise shows on one side and hides
 * on the other): the second box, the content less the thin runs at its
 * ends, is the known image's own "trim-white" box. */
static void test_canvas_thin(void)
{
    phm_hasher *h;
    phm_decoder *dec;
    char err[PHM_ERRMSG_MAX];
    phm_hasher_new(&h, PHM_SIMD_AUTO);
    phm_decoder_new(&dec, NULL);
    pic tex = photo(240, 240, 41);
    pic known = solid(240, 200, 255, 255, 255);
    disk(&known, &tex, 120, 110, 50);
    phm_image ki = view_of(&known);
    phm_pdq_result own;
    phm_hash_image(h, &ki, PHM_MODE_FULL, 0, &own);
    const int code = PHM_KV_TRIM_WHITE;
    phm_entry_variant v[1];
    size_t nv = 0;
    int rc = phm_augment(h, &ki, PHM_MODE_FULL, &own.hash[0], &code, 1, PHM_AUGMENT_MIN_DISTANCE,
                         v, &nv, err, sizeof err);
    OK(rc == PHM_OK && nv == 1, "canvas: the known drawing stores trim-white (%zu)", nv);
    /* the copy: 20 rows of white above and below, the stroke 8 rows above
     * the disk, 30 levels off white */
    pic copy = solid(240, 240, 255, 255, 255);
    disk(&copy, &tex, 120, 130, 50);
    mark(&copy, 100, 69, 40, 3, 225);
    size_t plen;
    unsigned char *pnm = ppm(&copy, &plen);
    phm_pdq_result r;
    phm_trim_result t;
    rc = phm_hash_mem_trim(dec, h, pnm, plen, "canvas copy", PHM_MODE_FULL, 0, &r, NULL, &t, err,
                           sizeof err);
    if (!OK(rc == PHM_OK && t.found && t.canvas && t.content.y == 69 && t.alt_found &&
                near(t.alt_content.x, 70, 1) && near(t.alt_content.y, 80, 1) &&
                near(t.alt_content.width, 100, 2) && near(t.alt_content.height, 100, 2),
            "canvas: the content with the stroke, and a second box without it at 100x100+70+80"))
        printf("#   rc %d found %d canvas %d %ux%u+%u+%u alt %d %ux%u+%u+%u\n", rc, t.found,
               t.canvas, t.content.width, t.content.height, t.content.x, t.content.y,
               t.alt_found, t.alt_content.width, t.alt_content.height, t.alt_content.x,
               t.alt_content.y);
    int d = nv ? phm_pdq_distance(&t.alt_pdq.hash[0], &v[0].pdq) : 256;
    int d0 = nv ? phm_pdq_distance(&t.pdq.hash[0], &v[0].pdq) : 256;
    OK(t.alt_found && d <= 8,
       "canvas: the second box's hash is the stored trim-white's (%d bits; the first box's %d)",
       d, d0);
    free(pnm);
    free(copy.p);
    free(known.p);
    free(tex.p);
    phm_decoder_free(dec);
    phm_hasher_free(h);
}

int main(void)
{
    test_api();
    test_borders();
    test_false_trims();
    test_screens();
    test_soft_edges();
    test_soft_false_trims();
    test_hash();
    test_white_edges();
    test_sparse_shots();
    test_screen_canvases();
    test_canvas_thin();
    return tap_done();
}
