/* test_decode_alpha_tiff.c - TIFFs with an alpha sample composited over a
 * background (decode_tiff.c): files built byte by byte here (uncompressed,
 * little-endian; strips or tiles, contiguous or separate planes), so that
 * every sample is known. With no background the pixels are those of the
 * decode with alpha dropped (ImageMagick's, test_decode_tiff.c checks them
 * against it): the colour samples as ImageMagick scales them, associated
 * alpha divided out, CMYK converted; over white and black exactly
 * (v a + g (255 - a) + 127) / 255 of those, with the alpha scaled to 8 bits
 * as a colour sample is. The expected colours are computed here from the
 * samples by ImageMagick's formulas (docs in decode_tiff.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"
#include "alpha_util.h"

enum { MINISWHITE = 0, MINISBLACK = 1, RGB = 2, PALETTE = 3, SEPARATED = 5 };
enum { UNSPECIFIED = 0, ASSOC = 1, UNASSOC = 2, NO_TAG = 3 };

typedef struct tspec {
    const char *what;
    uint32_t w, h;
    uint16_t bps, spp, photo, planar; /* planar 1 contiguous, 2 separate */
    int extra;                        /* ExtraSamples' one entry, or NO_TAG */
    uint32_t tile;                    /* tile side (a multiple of 16), or 0 */
    uint32_t rows;                    /* rows per strip */
} tspec;

/* ------------------------------------------------------------------ */
/* The writer                                                           */
/* ------------------------------------------------------------------ */

static void put16(buf *b, uint32_t v)
{
    uint8_t p[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    put(b, p, 2);
}

static void put32(buf *b, uint32_t v)
{
    put16(b, v & 0xffff);
    put16(b, v >> 16);
}

typedef struct tag {
    uint16_t id, type; /* 3 SHORT, 4 LONG */
    uint32_t count;
    const uint32_t *v;
} tag;

/* One IFD entry: its values in place when they fit in 4 bytes, else at
 * *at in `arrays` (which is written after `arrays_base`). */
static void put_entry(buf *ifd, buf *arrays, uint32_t arrays_base, const tag *t)
{
    uint32_t size = t->type == 3 ? 2 : 4;
    put16(ifd, t->id);
    put16(ifd, t->type);
    put32(ifd, t->count);
    buf *to = ifd;
    if (t->count * size > 4) {
        put32(ifd, arrays_base + (uint32_t)arrays->len);
        to = arrays;
    }
    for (uint32_t i = 0; i < t->count; i++)
        size == 2 ? put16(to, t->v[i]) : put32(to, t->v[i]);
    if (to == ifd)
        for (uint32_t i = t->count * size; i < 4; i++)
            put(ifd, "", 1);
}

/* The TIFF of samples s (w x h x spp, sample c of pixel i at s[i * spp +
 * c]) as ts lays it out; cmap: a palette's 3 << bps entries. lost: the
 * last plane's blocks point past the end of the file. */
static buf write_tiff(const tspec *ts, const uint16_t *s, const uint16_t *cmap, int lost)
{
    buf b = { 0 };
    put(&b, "II*\0\0\0\0\0", 8); /* the IFD's offset is patched in below */
    const uint32_t planes = ts->planar == 2 ? ts->spp : 1;
    const uint32_t per = ts->planar == 2 ? 1 : ts->spp; /* samples per pixel and plane */
    const uint32_t bw = ts->tile ? ts->tile : ts->w, bh = ts->tile ? ts->tile : ts->rows;
    const uint32_t across = (ts->w + bw - 1) / bw, down = (ts->h + bh - 1) / bh;
    const size_t rowbytes = ((size_t)bw * per * ts->bps + 7) / 8;
    uint32_t nblocks = across * down * planes;
    uint32_t *offs = calloc(nblocks, sizeof *offs), *lens = calloc(nblocks, sizeof *lens);
    uint32_t k = 0;
    for (uint32_t p = 0; p < planes; p++)
        for (uint32_t by = 0; by < down; by++)
            for (uint32_t bx = 0; bx < across; bx++, k++) {
                /* A strip ends with the image; a tile is whole, padded. */
                uint32_t rows = ts->tile ? bh : (ts->h - by * bh < bh ? ts->h - by * bh : bh);
                size_t n = rowbytes * rows;
                uint8_t *blk = calloc(n, 1);
                for (uint32_t r = 0; r < rows; r++) {
                    uint64_t bit = 0;
                    for (uint32_t x = 0; x < bw; x++)
                        for (uint32_t c = 0; c < per; c++, bit += ts->bps) {
                            uint32_t X = bx * bw + x, Y = by * bh + r;
                            if (X >= ts->w || Y >= ts->h)
                                continue;
                            uint32_t v = s[((size_t)Y * ts->w + X) * ts->spp + p + c];
                            uint8_t *row = blk + r * rowbytes;
                            if (ts->bps == 16) {
                                row[bit / 8] = (uint8_t)v; /* little-endian file */
                                row[bit / 8 + 1] = (uint8_t)(v >> 8);
                                continue;
                            }
                            for (uint32_t j = 0; j < ts->bps; j++) {
                                uint64_t at = bit + j;
                                if (v >> (ts->bps - 1 - j) & 1)
                                    row[at / 8] |= (uint8_t)(0x80 >> (at % 8));
                            }
                        }
                }
                offs[k] = lost && p == planes - 1 ? 0x7fff0000u : (uint32_t)b.len;
                lens[k] = (uint32_t)n;
                put(&b, blk, n);
                free(blk);
            }
    if (b.len & 1)
        put(&b, "", 1);

    uint32_t bps[16], one[9], ex = ts->extra == NO_TAG ? 0 : (uint32_t)ts->extra;
    for (uint32_t i = 0; i < ts->spp; i++)
        bps[i] = ts->bps;
    uint32_t ncmap = 3u << ts->bps, *cm = NULL;
    if (cmap) {
        cm = malloc(ncmap * sizeof *cm);
        for (uint32_t i = 0; i < ncmap; i++)
            cm[i] = cmap[i];
    }
    one[0] = ts->w, one[1] = ts->h, one[2] = 1, one[3] = ts->photo, one[4] = ts->spp;
    one[5] = bh, one[6] = ts->planar, one[7] = bw, one[8] = ex;
    tag tags[16];
    int nt = 0;
    tags[nt++] = (tag){ 256, 4, 1, &one[0] };
    tags[nt++] = (tag){ 257, 4, 1, &one[1] };
    tags[nt++] = (tag){ 258, 3, ts->spp, bps };
    tags[nt++] = (tag){ 259, 3, 1, &one[2] };
    tags[nt++] = (tag){ 262, 3, 1, &one[3] };
    if (!ts->tile)
        tags[nt++] = (tag){ 273, 4, nblocks, offs };
    tags[nt++] = (tag){ 277, 3, 1, &one[4] };
    if (!ts->tile) {
        tags[nt++] = (tag){ 278, 4, 1, &one[5] };
        tags[nt++] = (tag){ 279, 4, nblocks, lens };
    }
    tags[nt++] = (tag){ 284, 3, 1, &one[6] };
    if (cm)
        tags[nt++] = (tag){ 320, 3, ncmap, cm };
    if (ts->tile) {
        tags[nt++] = (tag){ 322, 4, 1, &one[7] };
        tags[nt++] = (tag){ 323, 4, 1, &one[5] };
        tags[nt++] = (tag){ 324, 4, nblocks, offs };
        tags[nt++] = (tag){ 325, 4, nblocks, lens };
    }
    if (ts->extra != NO_TAG)
        tags[nt++] = (tag){ 338, 3, 1, &one[8] };

    /* The IFD, then its arrays. */
    uint32_t ifd_at = (uint32_t)b.len, ifd_size = 2 + 12 * (uint32_t)nt + 4;
    buf ifd = { 0 }, arrays = { 0 };
    put16(&ifd, (uint32_t)nt);
    for (int i = 0; i < nt; i++)
        put_entry(&ifd, &arrays, ifd_at + ifd_size, &tags[i]);
    put32(&ifd, 0);
    put(&b, ifd.p, ifd.len);
    if (arrays.len)
        put(&b, arrays.p, arrays.len);
    b.p[4] = (uint8_t)ifd_at, b.p[5] = (uint8_t)(ifd_at >> 8);
    b.p[6] = (uint8_t)(ifd_at >> 16), b.p[7] = (uint8_t)(ifd_at >> 24);
    free(ifd.p);
    free(arrays.p);
    free(offs);
    free(lens);
    free(cm);
    return b;
}

/* ------------------------------------------------------------------ */
/* ImageMagick's arithmetic, for the expected pixels                    */
/* ------------------------------------------------------------------ */

/* A sample to the 16-bit quantum: round(65535 v / range). */
static uint32_t quantum(uint32_t v, uint32_t range)
{
    return (uint32_t)(((uint64_t)v * 2 * 65535 + range) / ((uint64_t)range * 2));
}

static uint32_t clamp_q(double v)
{
    return !(v > 0.0) ? 0 : v >= 65535.0 ? 65535 : (uint32_t)(v + 0.5);
}

/* The 8-bit straight colours of a pixel's samples, as decode_tiff.c's
 * header gives them; *a its 8-bit alpha. */
static void expect(const tspec *ts, const uint16_t *s, const uint16_t *cmap, uint8_t rgb[3],
                   uint8_t *a)
{
    const uint32_t range = (1u << ts->bps) - 1;
    const uint32_t nc = ts->photo == RGB ? 3 : ts->photo == SEPARATED ? 4 : 1;
    *a = ts->spp > nc ? (uint8_t)(quantum(s[nc], range) / 257) : 255;
    if (ts->photo == PALETTE) {
        for (int c = 0; c < 3; c++)
            rgb[c] = (uint8_t)(cmap[((size_t)c << ts->bps) + s[0]] / 257);
        return;
    }
    uint32_t q[4];
    for (uint32_t c = 0; c < nc; c++)
        q[c] = quantum(s[c], range);
    if (ts->extra == ASSOC && ts->spp > nc) {
        /* PerceptibleReciprocal(QuantumScale * alpha) times each sample. */
        double al = (1.0 / 65535.0) * quantum(s[nc], range), gain = al >= 1e-12 ? 1.0 / al : 1e12;
        for (uint32_t c = 0; c < nc; c++)
            q[c] = clamp_q(gain * q[c]);
    }
    for (int c = 0; c < 3; c++) {
        uint32_t v = q[nc == 1 ? 0 : c];
        if (nc == 4) /* QuantumRange - (QuantumScale C (QuantumRange - K) + K) */
            v = clamp_q(65535.0 - ((1.0 / 65535.0) * q[c] * (65535.0 - q[3]) + q[3]));
        rgb[c] = (uint8_t)(v / 257);
    }
}

/* ------------------------------------------------------------------ */
/* Cases                                                                */
/* ------------------------------------------------------------------ */

/* Samples of pixel i: colours that vary, and an alpha that takes 0, the
 * maximum and values between (`opaque`: the maximum everywhere). */
static void fill(const tspec *ts, uint16_t *s, int opaque)
{
    const uint32_t range = (1u << ts->bps) - 1;
    const uint32_t nc = ts->photo == RGB ? 3 : ts->photo == SEPARATED ? 4 : 1;
    for (size_t i = 0; i < (size_t)ts->w * ts->h; i++)
        for (uint32_t c = 0; c < ts->spp; c++) {
            uint32_t v = (uint32_t)(i * 2654435761u >> (c * 5 + 3)) & range;
            if (c == nc)
                v = opaque || i % 5 == 1 ? range : i % 5 == 0 ? 0 : v;
            else if (c > nc)
                v = (uint32_t)i & range; /* a second extra sample: never read */
            s[i * ts->spp + c] = (uint16_t)v;
        }
}

static void check_tiff(phm_decoder *dec, const tspec *ts, int opaque, int lost)
{
    size_t n = (size_t)ts->w * ts->h;
    uint16_t *s = malloc(n * ts->spp * sizeof *s);
    uint16_t *cmap = NULL;
    if (ts->photo == PALETTE) {
        cmap = malloc((3u << ts->bps) * sizeof *cmap);
        for (uint32_t i = 0; i < (3u << ts->bps); i++)
            cmap[i] = (uint16_t)(i * 40503u + 1000u);
    }
    fill(ts, s, opaque || lost);
    want t = want_new(ts->w, ts->h, 3);
    for (size_t i = 0; i < n; i++)
        expect(ts, s + i * ts->spp, cmap, t.color + i * 3, &t.alpha[i]);
    buf b = write_tiff(ts, s, cmap, lost);
    char what[128];
    snprintf(what, sizeof what, "%s%s", ts->what, opaque ? ", alpha all opaque" : "");
    check_image(dec, &b, &t, what);
    want_free(&t);
    free(b.p);
    free(s);
    free(cmap);
}

int main(void)
{
    phm_decoder *dec;
    if (phm_decoder_new(&dec, NULL))
        return 1;
    phm_image img;
    char err[PHM_ERRMSG_MAX];
    if (phm_decode_mem(dec, "II*\0\10\0\0\0\0\0", 10, "t.tif", &img, err, sizeof err) ==
        PHM_ERR_UNSUPPORTED) {
        printf("1..0 # SKIP libtiff not available: %s\n", err);
        phm_decoder_free(dec);
        return 0;
    }

    const tspec cases[] = {
        { "RGBA 8-bit unassociated", W, H, 8, 4, RGB, 1, UNASSOC, 0, 5 },
        { "RGBA 8-bit associated", W, H, 8, 4, RGB, 1, ASSOC, 0, 5 },
        { "RGBA 16-bit unassociated", W, H, 16, 4, RGB, 1, UNASSOC, 0, 7 },
        { "RGBA 16-bit associated", W, H, 16, 4, RGB, 1, ASSOC, 0, 7 },
        { "RGBA 8-bit, unspecified extra sample", W, H, 8, 4, RGB, 1, UNSPECIFIED, 0, 5 },
        { "RGBA 8-bit without ExtraSamples", W, H, 8, 4, RGB, 1, NO_TAG, 0, 5 },
        { "RGBA 8-bit and a second extra sample", W, H, 8, 5, RGB, 1, UNASSOC, 0, 5 },
        { "RGBA 8-bit separate planes", W, H, 8, 4, RGB, 2, UNASSOC, 0, 4 },
        { "RGBA 8-bit associated, separate planes", W, H, 8, 4, RGB, 2, ASSOC, 0, 4 },
        { "RGBA 8-bit tiles", W, H, 8, 4, RGB, 1, UNASSOC, 16, 0 },
        { "RGBA 8-bit separate planes in tiles", W, H, 8, 4, RGB, 2, UNASSOC, 16, 0 },
        { "RGBA 4-bit", W, H, 4, 4, RGB, 1, UNASSOC, 0, 6 },
        { "grey+alpha 8-bit", W, H, 8, 2, MINISBLACK, 1, UNASSOC, 0, 5 },
        { "grey+alpha 8-bit associated", W, H, 8, 2, MINISBLACK, 1, ASSOC, 0, 5 },
        { "MinIsWhite grey+alpha 8-bit", W, H, 8, 2, MINISWHITE, 1, UNASSOC, 0, 5 },
        { "grey+alpha 16-bit separate planes in tiles", W, H, 16, 2, MINISBLACK, 2, UNASSOC,
          16, 0 },
        { "grey+alpha 4-bit", W, H, 4, 2, MINISBLACK, 1, UNASSOC, 0, 5 },
        { "grey+alpha 2-bit", W, H, 2, 2, MINISBLACK, 1, UNASSOC, 0, 5 },
        { "grey+alpha 1-bit", W, H, 1, 2, MINISBLACK, 1, UNASSOC, 0, 5 },
        { "grey+alpha 1-bit separate planes", W, H, 1, 2, MINISBLACK, 2, UNASSOC, 0, 5 },
        { "palette+alpha 8-bit", W, H, 8, 2, PALETTE, 1, UNASSOC, 0, 5 },
        { "palette+alpha 4-bit separate planes", W, H, 4, 2, PALETTE, 2, UNASSOC, 0, 5 },
        { "CMYK+alpha 8-bit", W, H, 8, 5, SEPARATED, 1, UNASSOC, 0, 5 },
        { "CMYK+alpha 8-bit associated", W, H, 8, 5, SEPARATED, 1, ASSOC, 0, 5 },
        { "CMYK+alpha 16-bit separate planes", W, H, 16, 5, SEPARATED, 2, UNASSOC, 0, 5 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_tiff(dec, &cases[i], 0, 0);
    /* Alpha everywhere opaque: nothing composited. */
    check_tiff(dec, &cases[0], 1, 0);
    check_tiff(dec, &cases[10], 1, 0);
    /* Separate planes whose alpha plane cannot be read: as with no
     * background (opaque), the same status. */
    const tspec lost[] = {
        { "RGBA 8-bit separate planes, alpha plane lost", W, H, 8, 4, RGB, 2, UNASSOC, 0, 4 },
        { "grey+alpha 8-bit separate tiles, alpha plane lost", W, H, 8, 2, MINISBLACK, 2,
          UNASSOC, 16, 0 },
    };
    for (size_t i = 0; i < sizeof lost / sizeof lost[0]; i++)
        check_tiff(dec, &lost[i], 0, 1);
    /* No extra sample: never composited. */
    const tspec plain[] = {
        { "RGB 8-bit", W, H, 8, 3, RGB, 1, NO_TAG, 0, 5 },
        { "grey 8-bit separate planes", W, H, 8, 1, MINISBLACK, 2, NO_TAG, 0, 5 },
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        check_tiff(dec, &plain[i], 0, 0);

    phm_decoder_free(dec);
    return tap_done();
}
