/* test_flatten.c - pictures with transparency as a viewer sees them
 * (issue 15; docs/ROBUST.md, "Pictures with transparency").
 *
 * Generated pictures only: drawings made in the alpha channel alone over
 * black colour bytes, as a quarter of Debian's openclipart PNGs are, so
 * that with alpha dropped (the PDQ reference, and phmatch's default
 * decode) every one of them is black: hash all zeros, quality 0. Checked:
 *   - phm_hash_mem_query with flatten keeps the reference hash as pdq and
 *     adds the picture over white and over black (flat[0], flat[1]); the
 *     one over white is within a few bits of the hash of a JPEG copy
 *     flattened over white by the test itself; without flatten, or for an
 *     opaque PNG or a JPEG, there is no flat hash;
 *   - phm_hash_known_mem stores flat-white for such a picture (not
 *     flat-black: over black a black drawing is black, quality 0), its
 *     other variants edits of it over white, and no flat variant for an
 *     opaque one, whose variants are phm_augment's exactly;
 *   - matched (phm_match_image, radius 31, as phmatch match does): the
 *     JPEG copy finds the transparent known picture through its stored
 *     flat-white; the transparent picture as a query finds an entry of its
 *     JPEG copy through "flattened-white" and is searched although its
 *     own hash is below the quality gate; without flatten it is not
 *     searched at all;
 *   - a second, different drawing (the same all-zero reference hash)
 *     matches neither the first's entry nor its copy's: its all-zero own
 *     hash is a pattern, never searched. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "index_util.h"
#include "phmatch.h"
#include "tap.h"

static char err[PHM_ERRMSG_MAX];

enum { W = 240, H = 180 };

/* Drawing k as RGBA: colour bytes 0, the shapes in alpha only (filled
 * discs with soft edges, bars, a ring; k moves and sizes them). */
static uint8_t *drawing(int k)
{
    uint8_t *p = calloc((size_t)W * H, 4);
    if (!p)
        exit(2);
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++) {
            double a = 0;
            for (int d = 0; d < 3 + k; d++) { /* discs with a soft edge */
                double cx = W * (0.2 + 0.25 * d + 0.07 * k), cy = H * (0.3 + 0.2 * ((d + k) % 3));
                double r = H * (0.12 + 0.03 * ((d * 7 + k) % 4));
                double e = r - hypot(x - cx, y - cy);
                a = fmax(a, fmin(1, fmax(0, e / 3)));
            }
            if ((x / (10 + 4 * (uint32_t)k)) % 3 == 0 && y > H * 0.75) /* bars */
                a = 1;
            double ring = fabs(hypot(x - W * 0.7, y - H * (0.3 + 0.3 * k)) - H * 0.2);
            if (ring < 2.5) /* a ring */
                a = fmax(a, 0.6);
            p[((size_t)y * W + x) * 4 + 3] = (uint8_t)lround(a * 255);
        }
    return p;
}

/* RGBA as a PNG in memory (libpng's simplified writer). */
static uint8_t *png_of(const uint8_t *rgba, int alpha, size_t *len)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = W;
    im.height = H;
    im.format = alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    uint8_t *rgb = NULL;
    const uint8_t *src = rgba;
    if (!alpha) { /* the colour bytes alone */
        rgb = malloc((size_t)W * H * 3);
        if (!rgb)
            exit(2);
        for (size_t i = 0; i < (size_t)W * H; i++)
            memcpy(rgb + i * 3, rgba + i * 4, 3);
        src = rgb;
    }
    png_alloc_size_t n = 0;
    if (!png_image_write_to_memory(&im, NULL, &n, 0, src, 0, NULL))
        exit(2);
    uint8_t *out = malloc(n);
    if (!out || !png_image_write_to_memory(&im, out, &n, 0, src, 0, NULL))
        exit(2);
    free(rgb);
    *len = n;
    return out;
}

/* RGBA over a grey level, as RGB (the formula the decoders use). */
static uint8_t *over(const uint8_t *rgba, int grey)
{
    uint8_t *o = malloc((size_t)W * H * 3);
    if (!o)
        exit(2);
    for (size_t i = 0; i < (size_t)W * H; i++) {
        unsigned a = rgba[i * 4 + 3];
        for (int c = 0; c < 3; c++)
            o[i * 3 + (size_t)c] =
                (uint8_t)((rgba[i * 4 + (size_t)c] * a + (unsigned)grey * (255 - a) + 127) / 255);
    }
    return o;
}

static unsigned char *jpeg_of(const uint8_t *rgb, unsigned long *len)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpg = NULL;
    *len = 0;
    if (!tj || tjCompress2(tj, rgb, W, 0, H, TJPF_RGB, &jpg, len, TJSAMP_420, 85, 0) != 0)
        exit(2);
    tjDestroy(tj);
    return jpg;
}

static const phm_query_options QO = { .mode = PHM_MODE_FULL, .trim = 1, .flatten = 1 };

static int is_zero(const phm_pdq *p)
{
    return !p->w[0] && !p->w[1] && !p->w[2] && !p->w[3];
}

/* The entry of the known picture in data (phm_hash_known_mem, default
 * set), id `id`. */
static int known(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                 const char *id, phm_entry *e)
{
    int codes[PHM_INDEX_MAX_VARIANTS];
    size_t n = phm_augment_default(codes, PHM_INDEX_MAX_VARIANTS);
    phm_pdq_result r;
    memset(e, 0, sizeof *e);
    int rc = phm_hash_known_mem(dec, h, data, len, id, codes, n, PHM_AUGMENT_MIN_DISTANCE, &r,
                                e->variants, &e->nvariants, err, sizeof err);
    e->source = "s";
    e->id = id;
    e->signals = PHM_SIG_PDQ;
    e->quality = r.quality;
    e->pdq = r.hash[0];
    return rc;
}

static int has(const phm_entry *e, int code, phm_pdq *out)
{
    for (size_t i = 0; i < e->nvariants; i++)
        if (e->variants[i].code == code) {
            if (out)
                *out = e->variants[i].pdq;
            return 1;
        }
    return 0;
}

/* data as a query (options qo) matched at radius 31 against idx: the hits
 * as "id:variant:known_variant" comma-separated into out; *searched. */
static void query(phm_decoder *dec, phm_hasher *h, phm_index *idx, const void *data,
                  size_t len, const phm_query_options *qo, int *searched, char *out, size_t cap)
{
    phm_query_hashes q;
    out[0] = 0;
    *searched = -1;
    if (phm_hash_mem_query(dec, h, data, len, "query", qo, &q, err, sizeof err) < 0)
        return;
    phm_match_extra x[PHM_QUERY_MAX_EXTRA];
    phm_match_options mo;
    phm_match_options_init(&mo);
    mo.max_distance = 31;
    phm_query_match_options(&q, x, &mo);
    phm_searcher *s;
    phm_matcher *m;
    const phm_match_result *res;
    if (phm_searcher_new(idx, &s, err, sizeof err) || phm_matcher_new(s, &m))
        return;
    if (phm_match_image(m, &q.pdq, &mo, &res, err, sizeof err) == PHM_OK) {
        *searched = res->searched;
        for (size_t i = 0; i < res->count; i++) {
            size_t l = strlen(out);
            snprintf(out + l, cap - l, "%s%s:%s:%s", i ? "," : "", res->hits[i].e.id,
                     res->hits[i].variant ? res->hits[i].variant : "-",
                     res->hits[i].known_variant ? res->hits[i].known_variant : "-");
        }
    }
    phm_matcher_free(m);
    phm_searcher_free(s);
}

int main(void)
{
    phm_hasher *h;
    phm_decoder *dec;
    if (phm_hasher_new(&h, PHM_SIMD_AUTO) || phm_decoder_new(&dec, NULL))
        return 2;
    uint8_t *a = drawing(0), *b = drawing(1);
    size_t alen, blen, olen;
    uint8_t *apng = png_of(a, 1, &alen), *bpng = png_of(b, 1, &blen);
    uint8_t *awhite = over(a, 255);
    unsigned long jlen;
    unsigned char *ajpg = jpeg_of(awhite, &jlen);
    uint8_t *opng = png_of(a, 0, &olen); /* opaque: all black */

    /* the query's hashes */
    phm_query_hashes q, c;
    IS_INT(phm_hash_mem_query(dec, h, apng, alen, "a.png", &QO, &q, err, sizeof err), PHM_OK,
           "the transparent drawing hashed as a query");
    OK(is_zero(&q.pdq.hash[0]) && q.pdq.quality == 0,
       "its reference hash (alpha dropped) is all zeros at quality 0 (quality %d)",
       q.pdq.quality);
    OK(q.flat_ok == 3u, "it has hashes over white and over black (flat_ok %u)", q.flat_ok);
    OK(q.flat[0].quality >= PHM_PDQ_MIN_QUALITY, "over white it is of quality %d",
       q.flat[0].quality);
    IS_INT(phm_hash_mem_query(dec, h, ajpg, jlen, "a.jpg", &QO, &c, err, sizeof err), PHM_OK,
           "its copy flattened over white, as a JPEG, hashed");
    int d = phm_pdq_distance(&q.flat[0].hash[0], &c.pdq.hash[0]);
    OK(d <= 16, "the query over white is %d bits from the JPEG copy's hash", d);
    OK(c.flat_ok == 0, "a JPEG has no flat hash");
    phm_query_options plain = QO;
    plain.flatten = 0;
    IS_INT(phm_hash_mem_query(dec, h, apng, alen, "a.png", &plain, &c, err, sizeof err), PHM_OK,
           "hashed without flatten");
    OK(c.flat_ok == 0 && phm_pdq_cmp(&c.pdq.hash[0], &q.pdq.hash[0]) == 0,
       "no flat hash then, and the same reference hash");
    IS_INT(phm_hash_mem_query(dec, h, opng, olen, "o.png", &QO, &c, err, sizeof err), PHM_OK,
           "an opaque PNG hashed with flatten");
    OK(c.flat_ok == 0, "no flat hash for an opaque PNG");
    IS_INT(phm_decoder_composited(dec), 0, "nothing composited for it");

    /* the stored variants */
    phm_entry ea, ej, eo;
    IS_INT(known(dec, h, apng, alen, "a.png", &ea), PHM_OK, "the transparent drawing as known");
    phm_pdq fw = { { 0 } };
    OK(is_zero(&ea.pdq) && has(&ea, PHM_KV_FLAT_WHITE, &fw),
       "its entry keeps the reference hash and stores flat-white (%zu variants)", ea.nvariants);
    OK(ea.variants[0].code == PHM_KV_FLAT_WHITE && phm_pdq_cmp(&fw, &q.flat[0].hash[0]) == 0,
       "flat-white first, the query's hash over white exactly");
    OK(!has(&ea, PHM_KV_FLAT_BLACK, NULL) && q.flat[1].quality == 0,
       "over black a black drawing is black (quality %d): no flat-black slot",
       q.flat[1].quality);
    OK(ea.nvariants > 10, "and edits of it over white (%zu variants)", ea.nvariants);
    IS_INT(known(dec, h, ajpg, jlen, "a.jpg", &ej), PHM_OK, "the JPEG copy as known");
    OK(!has(&ej, PHM_KV_FLAT_WHITE, NULL) && !has(&ej, PHM_KV_FLAT_BLACK, NULL),
       "a JPEG stores no flat variant");
    {
        /* an opaque picture's variants are phm_augment's, exactly */
        int codes[PHM_INDEX_MAX_VARIANTS];
        size_t n = phm_augment_default(codes, PHM_INDEX_MAX_VARIANTS), nv = 0;
        phm_image img;
        phm_pdq_result r;
        static phm_entry_variant v[PHM_INDEX_MAX_VARIANTS];
        IS_INT(phm_decode_mem(dec, ajpg, jlen, "a.jpg", &img, err, sizeof err), PHM_OK,
               "the JPEG decoded");
        phm_hash_image(h, &img, PHM_MODE_FULL, 0, &r);
        phm_augment(h, &img, PHM_MODE_FULL, &r.hash[0], codes, n, PHM_AUGMENT_MIN_DISTANCE, v,
                    &nv, err, sizeof err);
        OK(nv == ej.nvariants && !memcmp(v, ej.variants, nv * sizeof *v) &&
               !phm_pdq_cmp(&r.hash[0], &ej.pdq),
           "an opaque picture's entry is phm_augment's (%zu variants)", nv);
    }
    IS_INT(known(dec, h, opng, olen, "o.png", &eo), PHM_OK, "the opaque black PNG as known");
    OK(!has(&eo, PHM_KV_FLAT_WHITE, NULL), "an opaque PNG stores no flat variant");

    /* matched */
    char dir[512], path[600], buf[512];
    scratch_dir(dir, sizeof dir, "flatten");
    snprintf(path, sizeof path, "%s/a.phmi", dir);
    phm_index *ia, *ij;
    IS_INT(phm_index_open(&ia, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "an index of the transparent drawing");
    IS_INT(index_add_one(ia, &ea, err, sizeof err), PHM_OK, "... added");
    snprintf(path, sizeof path, "%s/j.phmi", dir);
    IS_INT(phm_index_open(&ij, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "an index of its JPEG copy, unaugmented");
    ej.nvariants = 0;
    IS_INT(index_add_one(ij, &ej, err, sizeof err), PHM_OK, "... added");
    int searched;
    query(dec, h, ia, ajpg, jlen, &QO, &searched, buf, sizeof buf);
    OK(!strcmp(buf, "a.png:-:flat-white"), "the JPEG copy finds the drawing through flat-white (%s)",
       buf);
    query(dec, h, ij, apng, alen, &QO, &searched, buf, sizeof buf);
    OK(searched == 1 && !strcmp(buf, "a.jpg:flattened-white:-"),
       "the transparent drawing finds its JPEG copy over white (searched %d: %s)", searched, buf);
    query(dec, h, ij, apng, alen, &plain, &searched, buf, sizeof buf);
    OK(searched == 0 && !buf[0], "without flatten it is below the gate, not searched (%d: %s)",
       searched, buf);
    query(dec, h, ia, bpng, blen, &QO, &searched, buf, sizeof buf);
    OK(searched == 1 && !buf[0],
       "another drawing (the same all-zero reference hash) does not match the first (%s)", buf);
    query(dec, h, ij, bpng, blen, &QO, &searched, buf, sizeof buf);
    OK(searched == 1 && !buf[0], "nor the first's JPEG copy (%s)", buf);

    /* A picture below the gate whatever it is over (a thin outline over
     * white, quality 30): searched as a low-quality picture, within 16 as
     * --robust does, but its own all-zero hash not at all: it would meet
     * every drawing in alpha alone (phmatch's first build of this met 300
     * entries at 0 bits so). */
    {
        phm_index *iz;
        snprintf(path, sizeof path, "%s/z.phmi", dir);
        IS_INT(phm_index_open(&iz, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
               PHM_OK, "an index of an all-zero entry and another");
        rng g = { 28 };
        phm_entry z = { .source = "s", .id = "zero", .signals = PHM_SIG_PDQ, .quality = 0 };
        phm_entry x = { .source = "s", .id = "x", .signals = PHM_SIG_PDQ, .quality = 30,
                        .pdq = rng_hash(&g) };
        IS_INT(index_add_one(iz, &z, err, sizeof err), PHM_OK, "... the all-zero one");
        IS_INT(index_add_one(iz, &x, err, sizeof err), PHM_OK, "... the other");
        phm_pdq_result own = { .nhashes = 1, .quality = 0 }, white = { .nhashes = 1,
                                                                     .quality = 30 };
        white.hash[0] = rng_near(&g, &x.pdq, 6);
        phm_match_extra ex = { PHM_FLATTENED_WHITE, &white, 1 };
        phm_match_options mo;
        phm_match_options_init(&mo);
        mo.max_distance = 31;
        mo.extra = &ex;
        mo.nextra = 1;
        mo.low_quality_distance = PHM_ROBUST_LOW_QUALITY_DISTANCE;
        mo.low_quality_min = PHM_ROBUST_LOW_QUALITY_MIN;
        phm_searcher *s;
        phm_matcher *m;
        const phm_match_result *res = NULL;
        if (phm_searcher_new(iz, &s, err, sizeof err) || phm_matcher_new(s, &m))
            return 2;
        IS_INT(phm_match_image(m, &own, &mo, &res, err, sizeof err), PHM_OK, "matched");
        OK(res->searched && res->count == 1 && !strcmp(res->hits[0].e.id, "x") &&
               !strcmp(res->hits[0].variant, PHM_FLATTENED_WHITE),
           "a low-quality picture over white finds the other entry alone (%zu hits, first %s)",
           res->count, res->count ? res->hits[0].e.id : "-");
        mo.nextra = 0;
        IS_INT(phm_match_image(m, &own, &mo, &res, err, sizeof err), PHM_OK, "matched alone");
        OK(!res->searched, "without its extra the all-zero hash is not searched at all");
        phm_matcher_free(m);
        phm_searcher_free(s);
        phm_index_close(iz);
    }

    phm_index_close(ia);
    phm_index_close(ij);
    scratch_done(dir);
    free(a);
    free(b);
    free(apng);
    free(bpng);
    free(opng);
    free(awhite);
    tjFree(ajpg);
    phm_decoder_free(dec);
    phm_hasher_free(h);
    return tap_done();
}
