/* test_decode_tiff.c - the TIFF decoder's pixels against ImageMagick's,
 * byte for byte, on TIFFs written here with libtiff so that every sample
 * value and every odd layout is there: 16-bit ramps (every value), every
 * CMYK cyan x black pair, associated alpha at every (value, alpha) pair,
 * MinIsWhite, 1/2/4/12-bit grey, 16-bit and old 8-bit colormaps, separate
 * planes, edge tiles, big-endian files. The reference is Debian's
 * ImageMagick 6: `convert 'F[0]' -alpha off png24:ref.png`, read back as
 * raw RGB. Skips when `convert` is not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>

#include "phmatch.h"
#include "tap.h"

static char dir[] = "/tmp/phm-tiff-XXXXXX";

typedef struct tcase {
    const char *name;
    uint32_t w, h;
    uint16_t bps, spp, photo, planar, extra; /* extra: EXTRASAMPLE_* or 0 */
    uint32_t tile;                           /* tile side, 0 for strips */
    int bigendian;
    uint16_t *cmap; /* palette: 3 << bps entries */
    /* sample value of channel c at (x, y) */
    uint32_t (*sample)(uint32_t x, uint32_t y, uint32_t c);
} tcase;

/* A 256 x 256 image: pixel i = y * 256 + x holds i in channel 0. */
static uint32_t ramp16(uint32_t x, uint32_t y, uint32_t c)
{
    uint32_t i = y * 256 + x;
    return c == 0 ? i : c == 1 ? 65535 - i : c == 2 ? (i * 13) & 65535 : (i * 7) & 65535;
}

static uint32_t grey_small(uint32_t x, uint32_t y, uint32_t c)
{
    (void)c;
    return (x * 7 + y * 3) & 4095; /* masked to bps when written */
}

/* CMYK: every cyan (y) x black (x) pair; M and Y vary too. */
static uint32_t cmyk8(uint32_t x, uint32_t y, uint32_t c)
{
    return c == 0 ? y : c == 1 ? (y * 3) & 255 : c == 2 ? (x * 5 + y) & 255 : x;
}

/* Associated alpha: every (value, alpha) pair, value in R, alpha last. */
static uint32_t assoc8(uint32_t x, uint32_t y, uint32_t c)
{
    return c == 0 ? x : c == 1 ? 255 - x : c == 2 ? (x + y) & 255 : y;
}

static uint32_t assoc16(uint32_t x, uint32_t y, uint32_t c)
{
    return c == 3 ? y * 257 + (x & 255) : ramp16(x, y, c);
}

static uint32_t assoc_grey(uint32_t x, uint32_t y, uint32_t c)
{
    return c == 0 ? x : y;
}

static uint32_t assoc_cmyk(uint32_t x, uint32_t y, uint32_t c)
{
    return c == 4 ? y : cmyk8(x, (y * 7 + x) & 255, c);
}

static uint32_t index8(uint32_t x, uint32_t y, uint32_t c)
{
    (void)c;
    return (x + y * 3) & 255;
}

static int write_tiff(const tcase *tc, const char *path)
{
    TIFF *tif = TIFFOpen(path, tc->bigendian ? "wb" : "wl");
    if (!tif)
        return -1;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, tc->w);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, tc->h);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, tc->bps);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, tc->spp);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, tc->photo);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, tc->planar);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
    if (tc->extra) {
        uint16_t e = tc->extra;
        TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, 1, &e);
    }
    if (tc->cmap) {
        size_t n = (size_t)1 << tc->bps;
        TIFFSetField(tif, TIFFTAG_COLORMAP, tc->cmap, tc->cmap + n, tc->cmap + 2 * n);
    }
    uint32_t bw = tc->tile ? tc->tile : tc->w, bh = tc->tile ? tc->tile : 16;
    if (tc->tile) {
        TIFFSetField(tif, TIFFTAG_TILEWIDTH, bw);
        TIFFSetField(tif, TIFFTAG_TILELENGTH, bh);
    } else {
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, bh);
    }
    uint32_t per = tc->planar == PLANARCONFIG_CONTIG ? tc->spp : 1;
    uint32_t planes = tc->planar == PLANARCONFIG_CONTIG ? 1 : tc->spp;
    size_t rowbytes = ((size_t)bw * per * tc->bps + 7) / 8;
    uint8_t *buf = calloc(rowbytes * bh, 1);
    int rc = 0;
    uint32_t mask = tc->bps == 16 ? 65535 : (1u << tc->bps) - 1;
    for (uint32_t p = 0; p < planes && rc == 0; p++)
        for (uint32_t y0 = 0; y0 < tc->h && rc == 0; y0 += bh)
            for (uint32_t x0 = 0; x0 < tc->w && rc == 0; x0 += bw) {
                memset(buf, 0, rowbytes * bh);
                for (uint32_t r = 0; r < bh && y0 + r < tc->h; r++) {
                    uint8_t *row = buf + r * rowbytes;
                    uint64_t bit = 0;
                    for (uint32_t x = 0; x < bw; x++)
                        for (uint32_t s = 0; s < per; s++) {
                            uint32_t c = planes > 1 ? p : s;
                            uint32_t v = x0 + x < tc->w ? tc->sample(x0 + x, y0 + r, c) & mask : 0;
                            if (tc->bps == 16) {
                                uint16_t v16 = (uint16_t)v;
                                memcpy(row + bit / 8, &v16, 2);
                            } else {
                                for (int b = tc->bps - 1; b >= 0; b--)
                                    row[(bit + (unsigned)(tc->bps - 1 - b)) / 8] |=
                                        (uint8_t)(((v >> b) & 1u)
                                                  << (7 - (bit + (unsigned)(tc->bps - 1 - b)) % 8));
                            }
                            bit += tc->bps;
                        }
                }
                if (tc->tile) {
                    if (TIFFWriteTile(tif, buf, x0, y0, 0, (uint16_t)p) < 0)
                        rc = -1;
                } else {
                    uint32_t rows = bh < tc->h - y0 ? bh : tc->h - y0;
                    uint32_t s = TIFFComputeStrip(tif, y0, (uint16_t)p);
                    if (TIFFWriteEncodedStrip(tif, s, buf, (tmsize_t)(rowbytes * rows)) < 0)
                        rc = -1;
                }
            }
    free(buf);
    TIFFClose(tif);
    return rc;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = n > 0 ? malloc((size_t)n) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *len = p ? (size_t)n : 0;
    return p;
}

static void check(phm_decoder *dec, const tcase *tc)
{
    char tif[96], png[96], rgb[96], cmd[1024], err[256];
    snprintf(tif, sizeof tif, "%s/%s.tif", dir, tc->name);
    snprintf(png, sizeof png, "%s/%s.png", dir, tc->name);
    snprintf(rgb, sizeof rgb, "%s/%s.rgb", dir, tc->name);
    if (!OK(write_tiff(tc, tif) == 0, "%s: written with libtiff", tc->name))
        return;
    snprintf(cmd, sizeof cmd,
             "convert '%s[0]' -alpha off png24:'%s' 2>/dev/null && "
             "convert '%s' -depth 8 rgb:'%s'", tif, png, png, rgb);
    size_t reflen = 0, len = 0;
    uint8_t *ref = system(cmd) == 0 ? slurp(rgb, &reflen) : NULL;
    uint8_t *data = slurp(tif, &len);
    phm_image img;
    int rc = phm_decode_mem(dec, data, len, tc->name, &img, err, sizeof err);
    if (!OK(rc == PHM_OK && ref && reflen == (size_t)tc->w * tc->h * 3, "%s: decoded", tc->name)) {
        printf("#   rc %d (%s), ImageMagick's %zu bytes\n", rc, err, reflen);
    } else {
        size_t diff = 0, first = 0;
        for (uint32_t y = 0; y < img.height; y++)
            for (size_t i = 0; i < (size_t)img.width * 3; i++)
                if (img.pixels[y * img.stride + i] != ref[(size_t)y * img.width * 3 + i] &&
                    diff++ == 0)
                    first = (size_t)y * img.width * 3 + i;
        if (!OK(diff == 0 && img.channels == 3, "%s: ImageMagick's pixels exactly",
                tc->name))
            printf("#   %zu bytes differ, the first at %zu: %u, ImageMagick %u\n", diff,
                   first, img.pixels[first / (img.width * 3) * img.stride +
                                     first % (img.width * 3)],
                   ref[first]);
    }
    free(ref);
    free(data);
    unlink(tif);
    unlink(png);
    unlink(rgb);
}

int main(void)
{
    if (system("command -v convert >/dev/null 2>&1") != 0) {
        printf("1..0 # SKIP ImageMagick's convert not installed (make deps)\n");
        return 0;
    }
    if (!mkdtemp(dir)) {
        printf("1..0 # SKIP no temporary directory\n");
        return 0;
    }
    TIFFSetWarningHandler(NULL); /* the writer's notes; main owns the process */
    phm_decoder *dec = NULL;
    phm_decoder_new(&dec, NULL);

    /* Colormaps: one with 16-bit entries that are not multiples of 257, one
     * old-style with every entry below 256 (ImageMagick scales by 255). */
    uint16_t *cm16 = malloc(3 * 256 * sizeof *cm16), cm8[3 * 16];
    for (uint32_t i = 0; i < 3 * 256; i++)
        cm16[i] = (uint16_t)(i * 20011u + 129u);
    for (uint32_t i = 0; i < 3 * 16; i++)
        cm8[i] = (uint16_t)((i * 37u) & 255u);

    const uint16_t C = PLANARCONFIG_CONTIG, S = PLANARCONFIG_SEPARATE;
    const tcase cases[] = {
        { "grey16", 256, 256, 16, 1, PHOTOMETRIC_MINISBLACK, C, 0, 0, 0, NULL, ramp16 },
        { "grey16-miniswhite", 256, 256, 16, 1, PHOTOMETRIC_MINISWHITE, C, 0, 0, 0, NULL, ramp16 },
        { "grey16-bigendian", 256, 256, 16, 1, PHOTOMETRIC_MINISBLACK, C, 0, 0, 1, NULL, ramp16 },
        { "grey12", 101, 67, 12, 1, PHOTOMETRIC_MINISBLACK, C, 0, 0, 0, NULL, grey_small },
        { "grey4-miniswhite", 101, 67, 4, 1, PHOTOMETRIC_MINISWHITE, C, 0, 0, 0, NULL, grey_small },
        { "grey2", 101, 67, 2, 1, PHOTOMETRIC_MINISBLACK, C, 0, 0, 0, NULL, grey_small },
        { "grey2-miniswhite", 101, 67, 2, 1, PHOTOMETRIC_MINISWHITE, C, 0, 0, 0, NULL, grey_small },
        { "grey12-miniswhite", 101, 67, 12, 1, PHOTOMETRIC_MINISWHITE, C, 0, 0, 0, NULL, grey_small },
        { "grey8-miniswhite", 101, 67, 8, 1, PHOTOMETRIC_MINISWHITE, C, 0, 0, 0, NULL, grey_small },
        { "grey6-miniswhite", 101, 67, 6, 1, PHOTOMETRIC_MINISWHITE, C, 0, 0, 0, NULL, grey_small },
        { "grey10", 101, 67, 10, 1, PHOTOMETRIC_MINISBLACK, C, 0, 0, 0, NULL, grey_small },
        { "grey4-miniswhite-a", 101, 67, 4, 2, PHOTOMETRIC_MINISWHITE, C, EXTRASAMPLE_UNASSALPHA, 0, 0, NULL, grey_small },
        { "grey8-miniswhite-a", 101, 67, 8, 2, PHOTOMETRIC_MINISWHITE, C, EXTRASAMPLE_UNASSALPHA, 0, 0, NULL, grey_small },
        { "grey16-miniswhite-a", 256, 256, 16, 2, PHOTOMETRIC_MINISWHITE, C, EXTRASAMPLE_UNASSALPHA, 0, 0, NULL, assoc16 },
        { "grey16-miniswhite-assoc", 256, 256, 16, 2, PHOTOMETRIC_MINISWHITE, C, EXTRASAMPLE_ASSOCALPHA, 0, 0, NULL, assoc16 },
        { "rgb8-tiles-planes", 200, 130, 8, 3, PHOTOMETRIC_RGB, S, 0, 64, 0, NULL, assoc8 },
        { "rgb4", 101, 67, 4, 3, PHOTOMETRIC_RGB, C, 0, 0, 0, NULL, assoc8 },
        { "grey1-miniswhite", 101, 67, 1, 1, PHOTOMETRIC_MINISWHITE, C, 0, 0, 0, NULL, grey_small },
        { "rgb16", 256, 256, 16, 3, PHOTOMETRIC_RGB, C, 0, 0, 0, NULL, ramp16 },
        { "rgb16-planes", 256, 256, 16, 3, PHOTOMETRIC_RGB, S, 0, 0, 1, NULL, ramp16 },
        { "rgb16-tiles", 256, 256, 16, 3, PHOTOMETRIC_RGB, C, 0, 48, 0, NULL, ramp16 },
        { "grey16-tiles-edge", 200, 130, 16, 1, PHOTOMETRIC_MINISBLACK, C, 0, 64, 0, NULL, ramp16 },
        { "palette8-cmap16", 256, 256, 8, 1, PHOTOMETRIC_PALETTE, C, 0, 0, 0, cm16, index8 },
        { "palette4-cmap8", 101, 67, 4, 1, PHOTOMETRIC_PALETTE, C, 0, 0, 0, cm8, grey_small },
        { "cmyk8", 256, 256, 8, 4, PHOTOMETRIC_SEPARATED, C, 0, 0, 0, NULL, cmyk8 },
        { "cmyk8-planes", 256, 256, 8, 4, PHOTOMETRIC_SEPARATED, S, 0, 0, 0, NULL, cmyk8 },
        { "cmyk16", 256, 256, 16, 4, PHOTOMETRIC_SEPARATED, C, 0, 0, 0, NULL, ramp16 },
        { "rgba8-associated", 256, 256, 8, 4, PHOTOMETRIC_RGB, C, EXTRASAMPLE_ASSOCALPHA, 0, 0, NULL, assoc8 },
        { "rgba16-associated", 256, 256, 16, 4, PHOTOMETRIC_RGB, C, EXTRASAMPLE_ASSOCALPHA, 0, 0, NULL, assoc16 },
        { "rgba8-associated-planes", 256, 256, 8, 4, PHOTOMETRIC_RGB, S, EXTRASAMPLE_ASSOCALPHA, 0, 0, NULL, assoc8 },
        { "greya8-associated", 256, 256, 8, 2, PHOTOMETRIC_MINISBLACK, C, EXTRASAMPLE_ASSOCALPHA, 0, 0, NULL, assoc_grey },
        { "cmyka8-associated", 256, 256, 8, 5, PHOTOMETRIC_SEPARATED, C, EXTRASAMPLE_ASSOCALPHA, 0, 0, NULL, assoc_cmyk },
        { "rgba16-unassociated", 256, 256, 16, 4, PHOTOMETRIC_RGB, C, EXTRASAMPLE_UNASSALPHA, 0, 0, NULL, assoc16 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(dec, &cases[i]);

    phm_decoder_free(dec);
    free(cm16);
    rmdir(dir);
    return tap_done();
}
