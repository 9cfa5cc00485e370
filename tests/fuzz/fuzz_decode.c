/*
 * fuzz_decode.c - libFuzzer target: arbitrary bytes through the decoders and,
 * when they decode, through PDQ hashing in both modes.
 *
 * Beyond "no crash, no leak, no undefined behaviour" (ASan + UBSan), it
 * checks what include/phmatch.h promises:
 *   - a failure leaves the image zeroed and a non-empty message that fits
 *     the buffer; success gives a sane descriptor within the pixel limit,
 *     with the format the magic bytes say;
 *   - hashing succeeds, or says PHM_ERR_TOO_SMALL exactly when a side is
 *     under 5 pixels, with the reference's all-zero, quality-0 answer;
 *   - the dihedral hash [0] equals the plain hash, and the portable code
 *     gives bit-identical results to the SIMD level this CPU runs;
 *   - phm_image_probe() sees the size and format of every image that
 *     decodes (phmatchd reserves its decode budget from the probe);
 *   - border trimming (phm_trim_detect, which reads the pixels of hostile
 *     images) gives a rectangle inside the image, the whole image when it
 *     finds none; phm_hash_mem_trim gives phm_hash_mem's plain hash and
 *     a border only where phm_trim_detect finds one, else at most a
 *     picture's box on a plain canvas, inside the image;
 *   - a rotation's corners (phm_corners_find, on the same hostile pixels)
 *     are four triangles inside the image, and filling them keeps its
 *     size; phm_hash_mem_query looking for them gives phm_hash_mem's
 *     plain hash, and corner figures only with corners found; with soft
 *     hashes asked for too, an area64 hash of the whole image only when
 *     it is at most PHM_AREA64_MAX_SIDE pixels a side;
 *   - a rotation's turn measured along its corners' edges
 *     (phm__corners_measure), for the corners found or for any legs that
 *     fit (read off the input's last bytes), gives finite legs within
 *     twice the sides, and the image turned back by it
 *     (phm__corners_derotate) a hash or a plain error, an area64 hash
 *     only with the hash;
 *   - the quarter-turn measure of known-image augmentation
 *     (phm__quarter_turn, on the same pixels) is a finite number >= 0;
 *   - on an image of at most 64 x 64 pixels (one input in four), the
 *     default augmentation set succeeds, names each variant once, and gives the same variants
 *     with the portable code as with this CPU's SIMD level;
 *   - decoded over a background (phm_decoder_set_background: white, then
 *     black), an image has the status, size and channels of its decode
 *     with alpha dropped, and its very pixels when nothing was composited;
 *     only the formats fuzz_composites (background.h) names composite;
 *     phm_hash_mem_query with flatten gives phm_hash_mem's plain hash,
 *     flat hashes only for such an image, and leaves the decoder's
 *     background as it was; on a small image (one input in four)
 *     phm_hash_known_mem with the flat codes gives the same own hash too.
 *
 * The pixel limit is 2 MP (PHM_FUZZ_MAX_PIXELS overrides it) so that each
 * input stays fast; a header claiming more must be refused as too large.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode_internal.h"
#include "phmatch.h"
#include "symmetry.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static phm_decoder *dec;
static phm_hasher *fast, *portable;
static uint64_t max_pixels = 2ull * 1000 * 1000;

/* The largest image check_augment runs the default augmentation set on. */
#define AUGMENT_MAX_PIXELS (64 * 64)

#include "check.h"
#include "background.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *env = getenv("PHM_FUZZ_MAX_PIXELS");
    if (env && *env) {
        char *end;
        unsigned long long v = strtoull(env, &end, 10);
        if (*end == '\0' && v > 0)
            max_pixels = v;
    }
    /* One decoder and two hashers for the whole run, as a CLI worker keeps
     * them: buffers grown by one input must be right for the next. */
    phm_decode_limits lim = {.max_pixels = max_pixels, .max_file_bytes = 0};
    if (phm_decoder_new(&dec, &lim) != PHM_OK ||
        phm_hasher_new(&fast, PHM_SIMD_AUTO) != PHM_OK ||
        phm_hasher_new(&portable, PHM_SIMD_PORTABLE) != PHM_OK) {
        fprintf(stderr, "fuzz_decode: out of memory at start\n");
        abort();
    }
    return 0;
}

static int zero_hash(const phm_pdq *h)
{
    return (h->w[0] | h->w[1] | h->w[2] | h->w[3]) == 0;
}

static void check_hash(const phm_image *img, phm_mode mode)
{
    phm_pdq_result a, b, plain;
    int too_small = img->width < 5 || img->height < 5;

    int rc = phm_hash_image(fast, img, mode, 1, &a);
    CHECK(rc == (too_small ? PHM_ERR_TOO_SMALL : PHM_OK));
    CHECK(a.quality >= 0 && a.quality <= 100);
    if (too_small) {
        CHECK(zero_hash(&a.hash[0]) && a.quality == 0);
        return;
    }
    CHECK(a.nhashes == PHM_DIH_COUNT);
    if (mode == PHM_MODE_CLI512 && (img->width > 512 || img->height > 512))
        CHECK(a.width == 512 && a.height == 512);
    else
        CHECK(a.width == img->width && a.height == img->height);

    rc = phm_hash_image(fast, img, mode, 0, &plain);
    CHECK(rc == PHM_OK && plain.nhashes == 1);
    CHECK(phm_pdq_distance(&plain.hash[0], &a.hash[0]) == 0);
    CHECK(plain.quality == a.quality);

    /* Every SIMD level must compute the portable code's bits. */
    if (phm_hasher_simd(fast) != PHM_SIMD_PORTABLE) {
        rc = phm_hash_image(portable, img, mode, 1, &b);
        CHECK(rc == PHM_OK && b.quality == a.quality && b.nhashes == a.nhashes);
        for (int i = 0; i < a.nhashes; i++)
            CHECK(phm_pdq_distance(&a.hash[i], &b.hash[i]) == 0);
    }
}

/* A rotation's corners on the decoded image, into *c_out; 1 when found. */
static int check_corners(const phm_image *img, phm_corners *c_out)
{
    phm_corners c;
    int found = phm_corners_find(img, &c);
    CHECK(found == 0 || found == 1);
    *c_out = c;
    if (found != 1)
        return 0;
    for (int k = 0; k < 4; k++)
        CHECK(c.leg_x[k] > 0 && c.leg_x[k] <= img->width && c.leg_y[k] > 0 &&
              c.leg_y[k] <= img->height);
    size_t n = phm_image_bytes(img->width, img->height, img->channels);
    uint8_t *buf = malloc(n);
    phm_image f;
    if (buf) {
        CHECK(phm_corners_fill(img, &c, buf, n, &f) == PHM_OK);
        CHECK(f.width == img->width && f.height == img->height &&
              f.channels == img->channels);
    }
    free(buf);
    return 1;
}

/* The turn phm__corners_derotate reads (phm__corners_measure) on hostile
 * pixels: of the corners found (check_corners), else of legs and a fill
 * read off the input's last 11 bytes, on its own canvas or a grown one by
 * the last. */
static void check_measure(const phm_image *img, const phm_corners *found, const uint8_t *data,
                          size_t size)
{
    phm_corners c, m;
    if (found) {
        c = *found;
    } else {
        if (size < 11)
            return;
        for (size_t k = 0; k < 4; k++) {
            c.leg_x[k] = data[size - 1 - k] * (double)img->width / 255;
            c.leg_y[k] = data[size - 5 - k] * (double)img->height / 255;
        }
        memcpy(c.fill, data + size - 11, 3);
    }
    phm__corners_measure(img, &c, &m);
    for (int k = 0; k < 4; k++)
        CHECK(m.leg_x[k] >= 0 && m.leg_x[k] <= 2.0 * img->width && m.leg_y[k] >= 0 &&
              m.leg_y[k] <= 2.0 * img->height);
    phm_pdq_result r, area;
    int made = 0;
    int rc = phm__corners_derotate(fast, img, &m, (int)(size & 1), PHM_MODE_FULL, 0, &r, &area,
                                   &made);
    CHECK(rc == PHM_OK || rc == PHM_ERR_INVALID || rc == PHM_ERR_NOMEM ||
          rc == PHM_ERR_TOO_SMALL);
    CHECK(!made || rc == PHM_OK);
}

/* phm_hash_mem_query looking for corners (trimming, soft and area64
 * hashes too): the plain hash is phm_hash_mem's (decodes again: img is no
 * longer valid after it), and the whole image has an area64 hash only
 * when it is small. */
static void check_query_corners(const uint8_t *data, size_t size)
{
    phm_query_options o = { .mode = PHM_MODE_FULL, .trim = 1, .corners = 1, .soft = 1,
                            .derotate = 1 };
    phm_query_hashes q;
    phm_pdq_result b;
    char err[PHM_ERRMSG_MAX];
    int rc = phm_hash_mem_query(dec, fast, data, size, "fuzz", &o, &q, err, sizeof err);
    int rb = phm_hash_mem(dec, fast, data, size, "fuzz", PHM_MODE_FULL, 0, &b, NULL, err,
                          sizeof err);
    CHECK(rc == rb && memcmp(&q.pdq, &b, sizeof b) == 0);
    CHECK(q.corners_found || (!q.corners_quality && !q.calm_corners));
    CHECK(!(q.area_ok & 1u) || (rc >= 0 && q.info.width <= PHM_AREA64_MAX_SIDE &&
                                q.info.height <= PHM_AREA64_MAX_SIDE));
}

/* Transparency composited over a background (see the header comment);
 * *ref is the decode with alpha dropped, copied (the decodes below reuse
 * the decoder's buffer), and decoded again into *ref at the end. */
static void check_flatten(phm_image *ref, int ref_rc, const uint8_t *data, size_t size)
{
    size_t row = (size_t)ref->width * ref->channels;
    uint8_t *keep = malloc(row * ref->height);
    if (!keep)
        return;
    for (uint32_t y = 0; y < ref->height; y++)
        memcpy(keep + y * row, ref->pixels + y * ref->stride, row);
    int can = fuzz_composites(phm_format_detect(data, size));
    char err[PHM_ERRMSG_MAX];
    check_background(dec, data, size, ref_rc, ref, keep);
    free(keep);
    phm_query_options o = { .mode = PHM_MODE_FULL, .trim = 1, .flatten = 1 };
    phm_query_hashes q;
    phm_pdq_result b;
    int rq = phm_hash_mem_query(dec, fast, data, size, "fuzz", &o, &q, err, sizeof err);
    int rb = phm_hash_mem(dec, fast, data, size, "fuzz", PHM_MODE_FULL, 0, &b, NULL, err,
                          sizeof err);
    CHECK(rq == rb && memcmp(&q.pdq, &b, sizeof b) == 0);
    CHECK(!q.flat_ok || can);
    if (size % 4 == 0 && (uint64_t)ref->width * ref->height <= AUGMENT_MAX_PIXELS) {
        static const int codes[] = { PHM_KV_FLAT_WHITE, PHM_KV_FLAT_BLACK, PHM_KV_CROP10_C,
                                     PHM_KV_BLUR };
        phm_entry_variant v[PHM_INDEX_MAX_VARIANTS];
        size_t nv = 0;
        phm_pdq_result own;
        int rk = phm_hash_known_mem(dec, fast, data, size, "fuzz", codes, 4, 8, &own, v, &nv,
                                    err, sizeof err);
        CHECK((rk == rb && memcmp(&own, &b, sizeof b) == 0) || rk == PHM_ERR_NOMEM);
        CHECK(nv <= 4);
        for (size_t i = 0; i < nv; i++)
            CHECK(can || (v[i].code != PHM_KV_FLAT_WHITE && v[i].code != PHM_KV_FLAT_BLACK));
    }
    /* whatever happened, the decoder is left as the caller set it */
    CHECK(phm_decode_mem(dec, data, size, "fuzz", ref, err, sizeof err) == ref_rc &&
          !phm_decoder_composited(dec));
}

/* Known-image augmentation (every edit of the default set: crops,
 * rotations, bars, blurs, soft and area64 hashes) on a small decoded
 * image: it succeeds, names each kind once, and the portable code gives
 * the same variants as the SIMD level this CPU runs. Only for one input
 * in four (by its size) and small images: in the sanitizer build the set
 * takes a quarter of a second even on a tiny image, twice over. */
static void check_augment(const phm_image *img, size_t size)
{
    if ((uint64_t)img->width * img->height > AUGMENT_MAX_PIXELS || size % 4 != 0)
        return;
    int codes[PHM_INDEX_MAX_VARIANTS];
    size_t nc = phm_augment_default(codes, PHM_INDEX_MAX_VARIANTS);
    phm_pdq_result own;
    if (phm_hash_image(fast, img, PHM_MODE_FULL, 0, &own) != PHM_OK)
        return; /* too small to hash */
    phm_entry_variant a[PHM_INDEX_MAX_VARIANTS], b[PHM_INDEX_MAX_VARIANTS];
    size_t na = 0, nb = 0;
    char err[PHM_ERRMSG_MAX];
    int ra = phm_augment(fast, img, PHM_MODE_FULL, &own.hash[0], codes, nc, 8, a, &na, err,
                         sizeof err);
    int rb = phm_augment(portable, img, PHM_MODE_FULL, &own.hash[0], codes, nc, 8, b, &nb, err,
                         sizeof err);
    CHECK(ra == rb && (ra == PHM_OK || ra == PHM_ERR_NOMEM));
    CHECK(na == nb && na <= nc);
    for (size_t i = 0; i < na; i++) {
        CHECK(a[i].code == b[i].code && phm_pdq_distance(&a[i].pdq, &b[i].pdq) == 0);
        CHECK(phm_known_variant_name(a[i].code) != NULL);
        for (size_t j = 0; j < i; j++)
            CHECK(a[j].code != a[i].code);
    }
}

/* Border trimming on the decoded image, then through phm_hash_mem_trim
 * (which decodes again: img is no longer valid after it). */
static void check_trim(const phm_image *img, const uint8_t *data, size_t size)
{
    phm_rect r;
    int found = phm_trim_detect(img, &r);
    uint32_t w = img->width, h = img->height;
    CHECK(found == 0 || found == 1);
    CHECK(r.width > 0 && r.height > 0 && r.x <= w && r.y <= h && r.width <= w - r.x &&
          r.height <= h - r.y);
    CHECK(found == 1 || (r.x == 0 && r.y == 0 && r.width == w && r.height == h));
    CHECK(found == 0 || r.width < w || r.height < h);
    phm_trim_result t;
    phm_pdq_result a, b;
    char err[PHM_ERRMSG_MAX];
    int rc = phm_hash_mem_trim(dec, fast, data, size, "fuzz", PHM_MODE_FULL, 0, &a, NULL, &t,
                               err, sizeof err);
    int rb = phm_hash_mem(dec, fast, data, size, "fuzz", PHM_MODE_FULL, 0, &b, NULL, err,
                          sizeof err);
    /* The plain hash is phm_hash_mem's; a border is found on the whole
     * image only where phm_trim_detect finds it (a JPEG's reduced copy
     * may only keep it from looking). Without one, a picture's box on a
     * plain canvas (t.canvas) is a part of the image, not all of it. */
    CHECK(rc == rb && memcmp(&a, &b, sizeof a) == 0);
    CHECK(!t.canvas || t.found);
    CHECK(t.found == 0 || t.canvas ||
          (rc >= 0 && found == 1 && t.content.x == r.x && t.content.y == r.y &&
           t.content.width == r.width && t.content.height == r.height));
    CHECK(!t.canvas ||
          (rc >= 0 && t.content.width > 0 && t.content.height > 0 && t.content.x <= w &&
           t.content.y <= h && t.content.width <= w - t.content.x &&
           t.content.height <= h - t.content.y && (t.content.width < w || t.content.height < h)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[PHM_ERRMSG_MAX];
    phm_image img;
    memset(err, 'x', sizeof err);

    /* phmatchd budgets memory by the probe's answer before decoding: the
     * probe must see what the decoder will see. */
    phm_image_info probe;
    char perr[PHM_ERRMSG_MAX];
    int prc = phm_image_probe(data, size, "fuzz", &probe, perr, sizeof perr);
    CHECK(prc == PHM_OK || prc == PHM_ERR_UNSUPPORTED || prc == PHM_ERR_CORRUPT ||
          prc == PHM_ERR_NOMEM);
    CHECK(prc == PHM_OK || (perr[0] != '\0' && probe.width == 0 && probe.height == 0));

    int rc = phm_decode_mem(dec, data, size, "fuzz", &img, err, sizeof err);
    CHECK(memchr(err, '\0', sizeof err) != NULL);
    if (rc >= 0)
        CHECK(prc == PHM_OK && probe.width == img.width && probe.height == img.height &&
              probe.format == img.format);
    if (rc < 0) {
        static const phm_image zero;
        if (rc != PHM_ERR_UNSUPPORTED && rc != PHM_ERR_CORRUPT &&
            rc != PHM_ERR_TOO_LARGE && rc != PHM_ERR_NOMEM) {
            fprintf(stderr, "fuzz_decode: decode gave %s (%d), not a data error: %s\n",
                    phm_reason(rc), rc, err);
            abort();
        }
        CHECK(memcmp(&img, &zero, sizeof img) == 0);
        CHECK(err[0] != '\0');
        CHECK(strcmp(phm_reason(rc), "ok") != 0);
        return 0;
    }
    CHECK(rc == PHM_OK || rc == PHM_WARN_RECOVERED);
    if (rc == PHM_WARN_RECOVERED)
        CHECK(err[0] != '\0');
    CHECK(img.pixels != NULL);
    CHECK(img.width > 0 && img.height > 0);
    CHECK((uint64_t)img.width * img.height <= max_pixels);
    CHECK(img.channels == 1 || img.channels == 3);
    CHECK(img.stride >= (size_t)img.width * img.channels);
    CHECK(img.format != PHM_FORMAT_UNKNOWN && img.format == phm_format_detect(data, size));

    check_hash(&img, PHM_MODE_FULL);
    check_hash(&img, PHM_MODE_CLI512);
    check_flatten(&img, rc, data, size); /* img decoded again at its end */
    phm_corners corners;
    int found = check_corners(&img, &corners);
    check_measure(&img, found ? &corners : NULL, data, size);
    check_augment(&img, size);
    double turn = phm__quarter_turn(&img);
    CHECK(turn >= 0 && turn < 1e6); /* not NaN, not infinite */
    check_trim(&img, data, size);
    check_query_corners(data, size);
    return 0;
}
