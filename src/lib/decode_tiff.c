/* decode_tiff.c - TIFF through libtiff, read from memory.
 *
 * The first directory (page) only. Grey (MinIsBlack, MinIsWhite), palette,
 * RGB, CMYK (Separated, InkSet CMYK) and YCbCr with JPEG compression; 1 to
 * 16 bits per sample, unsigned; strips or tiles, contiguous or separate
 * planes; whatever compression libtiff was built with. Extra samples (alpha)
 * are dropped, unless a background is set (phm_decoder_set_background) and
 * there is one: then the first extra sample is the alpha, whatever the
 * ExtraSamples tag calls it (as ImageMagick 6.9.11 takes it, unspecified
 * too; libtiff names the samples past the colour ones unspecified when the
 * tag is missing), and each pixel's 8-bit RGB below, straight (associated
 * alpha divided out), is composited over the grey with that alpha scaled to
 * 8 bits as a colour sample is, v' = (v a + g (255 - a) + 127) / 255 (grey,
 * palette, RGB and CMYK; every depth; both plane layouts, the alpha plane
 * then read too, and a block whose alpha plane cannot be read left opaque,
 * so that the status is the one without a background). The pixels are
 * ImageMagick 6's: every sample goes to ImageMagick's 16-bit quantum as
 * ImageMagick scales it, associated alpha is divided out as ImageMagick
 * does, CMYK goes to RGB by its formula, and the 16-bit quantum to 8 bits as
 * its 8-bit outputs have it, floor(q / 257) (measured: not rounded). One
 * ImageMagick bug is not copied: grey with alpha in separate planes, whose
 * alpha plane it reads into green (docs/PDQ.md); phmatch gives the
 * contiguous file's pixels. Grey comes out as RGB, R = G = B, as
 * ImageMagick's PNG24 has it: PDQ's luma of (g, g, g) is not always g in
 * float.
 *
 * libtiff is opened on the bytes with client procedures (no file, no
 * mapping) and per-handle error and warning handlers (no global state);
 * its single allocations are bounded from the decoder's limits. Strips
 * and tiles are decoded one at a time into a buffer of their own and
 * converted into the pixel buffer, so the image is never held twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "decode_internal.h"
#include "dynlib.h"

/* libtiff's functions, through the table dynlib.c loaded at the entry
 * points below (phm__tiff_lib_get), which every path here starts from. */
#define TL phm__tiff_lib_loaded()

/* The memory source and what libtiff said about it. */
typedef struct tiff_src {
    const uint8_t *data;
    size_t len, pos;
    const char *name;
    char message[200]; /* libtiff's first error */
} tiff_src;

static tmsize_t src_read(thandle_t h, void *buf, tmsize_t n)
{
    tiff_src *s = h;
    if (n <= 0)
        return 0;
    size_t left = s->len - s->pos;
    size_t k = (uint64_t)n < left ? (size_t)n : left;
    memcpy(buf, s->data + s->pos, k);
    s->pos += k;
    return (tmsize_t)k;
}

static tmsize_t src_write(thandle_t h, void *buf, tmsize_t n)
{
    (void)h, (void)buf, (void)n;
    return -1;
}

static toff_t src_seek(thandle_t h, toff_t off, int whence)
{
    tiff_src *s = h;
    uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->len : 0;
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
        return (toff_t)-1;
    /* Offsets are unsigned: past the end is an error, not a wrap. */
    if (off > s->len || base + off > s->len)
        return (toff_t)-1;
    s->pos = (size_t)(base + off);
    return s->pos;
}

static int src_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t src_size(thandle_t h)
{
    return ((tiff_src *)h)->len;
}

static int src_map(thandle_t h, void **base, toff_t *size)
{
    (void)h, (void)base, (void)size;
    return 0; /* no mapping: libtiff reads through src_read */
}

static void src_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h, (void)base, (void)size;
}

__attribute__((format(printf, 4, 0))) static int on_error(TIFF *tif, void *user,
                                                          const char *module,
                                                          const char *fmt, va_list ap)
{
    (void)tif;
    tiff_src *s = user;
    if (s->message[0])
        return 1; /* the first error is the cause; later ones follow from it */
    int n = 0;
    /* The module of the open and directory errors is the name we gave. */
    if (module && *module && strcmp(module, s->name) != 0)
        n = snprintf(s->message, sizeof s->message, "%s: ", module);
    if (n >= 0 && (size_t)n < sizeof s->message)
        vsnprintf(s->message + n, sizeof s->message - (size_t)n, fmt, ap);
    return 1; /* handled: libtiff's global handlers (stderr) are not called */
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt,
                      va_list ap)
{
    /* Unknown tags, odd but readable fields: libtiff carries on, so do we
     * (ImageMagick only reports them). */
    (void)tif, (void)user, (void)module, (void)fmt, (void)ap;
    return 1;
}

/* Opens the first directory. max_alloc bounds each of libtiff's own
 * allocations. NULL with src->message on failure. */
static TIFF *tiff_open(tiff_src *src, uint64_t max_alloc)
{
    TIFFOpenOptions *opts = TL->TIFFOpenOptionsAlloc();
    if (!opts) {
        snprintf(src->message, sizeof src->message, "out of memory");
        return NULL;
    }
    if (max_alloc > (uint64_t)INT64_MAX / 2)
        max_alloc = (uint64_t)INT64_MAX / 2;
    TL->TIFFOpenOptionsSetMaxSingleMemAlloc(opts, (tmsize_t)max_alloc);
    TL->TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, src);
    TL->TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, src);
    /* r: read; m: no memory mapping; O: strip and tile offsets loaded on
     * demand, so a hostile count of strips costs no memory up front. */
    TIFF *tif = TL->TIFFClientOpenExt(src->name, "rmO", (thandle_t)src, src_read, src_write,
                                  src_seek, src_close, src_size, src_map, src_unmap,
                                  opts);
    TL->TIFFOpenOptionsFree(opts);
    if (!tif && !src->message[0])
        snprintf(src->message, sizeof src->message, "not a readable TIFF file");
    return tif;
}

/* How the samples of the first page become RGB. */
typedef struct tiff_layout {
    uint32_t w, h;
    uint16_t bps, spp, photo, planar;
    uint32_t ncolour; /* colour samples: 1 grey or palette, 3 RGB, 4 CMYK */
    uint32_t nread;   /* samples used: ncolour, plus 1 for an alpha divided
                       * out or composited */
    int invert;       /* MinIsWhite */
    int assoc;        /* associated (premultiplied) alpha at sample ncolour */
    int grey;         /* the background alpha at sample ncolour is composited
                       * over, or -1: alpha not read */
    uint32_t range;   /* largest sample value, (1 << bps) - 1 */
    uint8_t *lut8;    /* sample -> 8-bit (grey, RGB without assoc. alpha) */
    uint16_t *lut16;  /* sample -> ImageMagick's 16-bit quantum */
    uint8_t *cmap;    /* palette: index -> R, G, B */
    uint8_t *alpha8;  /* compositing: alpha sample -> 8 bits */
} tiff_layout;

/* ImageMagick 6 (Q16): ScaleAnyToQuantum, floor(65535 * v / range + 0.5),
 * in exact integers (range is odd, so never a tie). */
static uint16_t to_quantum(uint32_t v, uint32_t range)
{
    if (v >= range)
        return 65535;
    return (uint16_t)(((uint64_t)v * 2 * 65535 + range) / ((uint64_t)range * 2));
}

/* A 16-bit quantum to 8 bits as Debian's ImageMagick 6.9.11 (Q16) writes
 * it to PNG24 (and to any 8-bit output): floor(q / 257), measured on every
 * value (tests/cli/format_tiff.sh), not rounded. */
static uint8_t quantum_to_char(uint32_t q)
{
    return (uint8_t)(q / 257);
}

/* ImageMagick's ClampToQuantum for a non-HDRI build. */
static uint32_t clamp_quantum(double v)
{
    if (!(v > 0.0))
        return 0;
    if (v >= 65535.0)
        return 65535;
    return (uint32_t)(v + 0.5);
}

/* Associated alpha divided out as ImageMagick's ImportQuantumPixels does:
 * PerceptibleReciprocal(QuantumScale * alpha) times the sample. */
static double unpremultiply_gain(uint32_t alpha_q)
{
    double a = (1.0 / 65535.0) * (double)alpha_q;
    return a >= 1.0e-12 ? 1.0 / a : 1.0e12;
}

/* ImageMagick's CMYK to RGB (ConvertCMYKToRGB in colorspace.c), on 16-bit
 * quanta: R = QuantumRange - (QuantumScale * C * (QuantumRange - K) + K). */
static uint8_t cmyk_channel(uint32_t c, uint32_t k)
{
    double v = 65535.0 - ((1.0 / 65535.0) * (double)c * (65535.0 - (double)k) + (double)k);
    return quantum_to_char(clamp_quantum(v));
}

/* Unpacks `count` samples of `bps` bits, MSB first, from a byte-aligned
 * row; 16-bit samples are in host order (libtiff swabs them). */
static void unpack(const uint8_t *src, unsigned bps, size_t count, uint16_t *dst,
                   size_t step)
{
    if (bps == 8) {
        for (size_t i = 0; i < count; i++)
            dst[i * step] = src[i];
    } else if (bps == 16) {
        for (size_t i = 0; i < count; i++) {
            uint16_t v;
            memcpy(&v, src + 2 * i, 2);
            dst[i * step] = v;
        }
    } else {
        uint64_t bit = 0;
        for (size_t i = 0; i < count; i++) {
            uint32_t v = 0;
            for (unsigned b = 0; b < bps; b++, bit++)
                v = v << 1 | (((uint32_t)src[bit >> 3] >> (7 - (bit & 7))) & 1u);
            dst[i * step] = (uint16_t)v;
        }
    }
}

/* n pixels of unpacked samples (spp apart) to RGB. */
static void convert(const tiff_layout *L, const uint16_t *s, size_t n, uint8_t *out)
{
    size_t spp = L->spp;
    for (size_t i = 0; i < n; i++, s += spp, out += 3) {
        if (L->photo == PHOTOMETRIC_PALETTE) {
            memcpy(out, L->cmap + 3 * (size_t)s[0], 3);
            continue;
        }
        if (!L->assoc && L->ncolour != 4) {
            if (L->ncolour == 1) {
                out[0] = out[1] = out[2] = L->lut8[s[0]];
            } else {
                out[0] = L->lut8[s[0]];
                out[1] = L->lut8[s[1]];
                out[2] = L->lut8[s[2]];
            }
            continue;
        }
        uint32_t q[4];
        for (uint32_t c = 0; c < L->ncolour; c++)
            q[c] = L->lut16[s[c]];
        if (L->assoc) {
            /* ImageMagick divides every colour sample by alpha, CMYK's
             * black too (measured). */
            double g = unpremultiply_gain(to_quantum(s[L->ncolour], L->range));
            for (uint32_t c = 0; c < L->ncolour; c++)
                q[c] = clamp_quantum(g * (double)q[c]);
        }
        if (L->ncolour == 1) {
            out[0] = out[1] = out[2] = quantum_to_char(q[0]);
        } else if (L->ncolour == 3) {
            out[0] = quantum_to_char(q[0]);
            out[1] = quantum_to_char(q[1]);
            out[2] = quantum_to_char(q[2]);
        } else {
            out[0] = cmyk_channel(q[0], q[3]);
            out[1] = cmyk_channel(q[1], q[3]);
            out[2] = cmyk_channel(q[2], q[3]);
        }
    }
}

/* n pixels of RGB (convert's) composited in place over L->grey by their
 * alpha samples (the unpacked ones, spp apart). Nonzero when some alpha
 * was below 255. */
static int over_grey(const tiff_layout *L, const uint16_t *s, size_t n, uint8_t *out)
{
    uint8_t alpha[256]; /* a run's 8-bit alphas: no buffer per block */
    unsigned all = 255;
    for (size_t i = 0; i < n; i += sizeof alpha) {
        size_t k = n - i < sizeof alpha ? n - i : sizeof alpha;
        for (size_t j = 0; j < k; j++)
            alpha[j] = L->alpha8[s[(i + j) * L->spp + L->ncolour]];
        all &= phm__over_grey_rgb(out + 3 * i, alpha, k, L->grey, 0);
    }
    return all != 255;
}

/* The tags of the first page, checked, and the tables for convert(). */
static int layout_read(TIFF *tif, phm_decoder *dec, tiff_layout *L, size_t *bytes,
                       const char *name, char *err, size_t errlen)
{
    uint16_t sfmt = SAMPLEFORMAT_UINT, nextra = 0, *extra = NULL, compression = 1;
    if (!TL->TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &L->w) ||
        !TL->TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &L->h))
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "TIFF without an image size");
    int rc = phm__check_dims(dec, name, L->w, L->h, 3, bytes, err, errlen);
    if (rc)
        return rc;
    TL->TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &L->bps);
    TL->TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &L->spp);
    TL->TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &L->planar);
    TL->TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &sfmt);
    TL->TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
    TL->TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    if (!TL->TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &L->photo))
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "TIFF without a photometric interpretation");
    if (L->bps < 1 || L->bps > 16)
        return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                         "TIFF with %u bits per sample (1 to 16 are read)",
                         (unsigned)L->bps);
    if (sfmt != SAMPLEFORMAT_UINT && sfmt != SAMPLEFORMAT_VOID)
        return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                         "TIFF with sample format %u (unsigned integers are read)",
                         (unsigned)sfmt);
    switch (L->photo) {
    case PHOTOMETRIC_MINISWHITE:
        L->invert = 1;
        /* fall through */
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_PALETTE:
        L->ncolour = 1;
        break;
    case PHOTOMETRIC_RGB:
        L->ncolour = 3;
        break;
    case PHOTOMETRIC_SEPARATED: {
        uint16_t inkset = INKSET_CMYK;
        TL->TIFFGetFieldDefaulted(tif, TIFFTAG_INKSET, &inkset);
        if (inkset != INKSET_CMYK)
            return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                             "TIFF with separated inks other than CMYK");
        L->ncolour = 4;
        break;
    }
    case PHOTOMETRIC_YCBCR:
        if (compression != COMPRESSION_JPEG)
            return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                             "TIFF with YCbCr samples not in JPEG compression");
        /* libjpeg converts to RGB, as for ImageMagick, which reads these
         * through libtiff's RGBA interface that does the same. */
        if (!TL->TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s",
                             "cannot set up the TIFF's JPEG decoder");
        L->ncolour = 3;
        break;
    default:
        return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                         "TIFF with photometric interpretation %u (grey, palette, "
                         "RGB, CMYK and JPEG YCbCr are read)", (unsigned)L->photo);
    }
    if (L->spp < L->ncolour || L->spp > 16)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "TIFF with %u samples per pixel for %u colour samples",
                         (unsigned)L->spp, (unsigned)L->ncolour);
    if (L->photo == PHOTOMETRIC_PALETTE && L->bps > 8 && L->bps != 16)
        return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                         "TIFF palette of %u bits", (unsigned)L->bps);
    /* ImageMagick takes the alpha as associated when any extra sample says
     * so, and the first extra sample as the alpha. */
    for (uint16_t i = 0; extra && i < nextra; i++)
        if (extra[i] == EXTRASAMPLE_ASSOCALPHA && L->spp > L->ncolour &&
            L->photo != PHOTOMETRIC_PALETTE)
            L->assoc = 1;
    /* ImageMagick 6.9.11 inverts MinIsWhite grey of 1, 8 and 16 bits
     * without extra samples only; at other depths, or with alpha, it takes
     * the samples as MinIsBlack (measured: tests/unit/test_decode_tiff.c). */
    if (L->invert && (L->spp != 1 || (L->bps != 1 && L->bps != 8 && L->bps != 16)))
        L->invert = 0;
    /* Only with a background is the alpha read at all (for associated
     * alpha it is read anyway, to divide it out): without one the pixels,
     * and the planes read, stay the reference's. */
    L->grey = dec->background != PHM_BACKGROUND_NONE && nextra > 0 && L->spp > L->ncolour
                  ? dec->background
                  : -1;
    L->nread = L->ncolour + (uint32_t)(L->assoc || L->grey >= 0);
    L->range = (1u << L->bps) - 1;

    size_t entries = (size_t)L->range + 1;
    if (L->grey >= 0) {
        /* The alpha as ImageMagick scales any sample: its quantum, then
         * to 8 bits as the colours are. */
        L->alpha8 = malloc(entries);
        if (!L->alpha8)
            return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        for (uint32_t v = 0; v <= L->range; v++)
            L->alpha8[v] = quantum_to_char(to_quantum(v, L->range));
    }
    if (L->photo == PHOTOMETRIC_PALETTE) {
        uint16_t *r, *g, *b;
        if (!TL->TIFFGetField(tif, TIFFTAG_COLORMAP, &r, &g, &b))
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "TIFF palette without a colormap");
        L->cmap = malloc(3 * entries);
        if (!L->cmap)
            return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        /* ImageMagick: a colormap whose entries are all below 256 is an
         * old-style 8-bit one; otherwise 16-bit, scaled to the quantum. */
        uint32_t crange = 255;
        for (size_t i = 0; i < entries; i++)
            if (r[i] >= 256 || g[i] >= 256 || b[i] >= 256)
                crange = 65535;
        for (size_t i = 0; i < entries; i++) {
            L->cmap[3 * i] = quantum_to_char(to_quantum(r[i], crange));
            L->cmap[3 * i + 1] = quantum_to_char(to_quantum(g[i], crange));
            L->cmap[3 * i + 2] = quantum_to_char(to_quantum(b[i], crange));
        }
        return PHM_OK;
    }
    L->lut8 = malloc(entries);
    L->lut16 = malloc(entries * sizeof *L->lut16);
    if (!L->lut8 || !L->lut16)
        return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
    for (uint32_t v = 0; v <= L->range; v++) {
        /* MinIsWhite: ImageMagick's QuantumRange - quantum equals the
         * quantum of range - v (no ties, range being odd). */
        L->lut16[v] = to_quantum(L->invert ? L->range - v : v, L->range);
        L->lut8[v] = quantum_to_char(L->lut16[v]);
    }
    return PHM_OK;
}

/* The pixels of one strip or tile: `rows` rows of `n` pixels from its
 * buffers (one per plane, or one for contiguous samples), `rowbytes`
 * apart, to RGB at (x0, y0), composited over L->grey when `composite`.
 * Nonzero when some pixel's alpha was below 255 there. */
static int block_convert(const tiff_layout *L, uint8_t *const *planes, size_t rowbytes,
                         uint32_t x0, uint32_t y0, uint32_t n, uint32_t rows, int composite,
                         uint16_t *work, uint8_t *px)
{
    int mixed = 0;
    for (uint32_t r = 0; r < rows; r++) {
        uint8_t *out = px + ((size_t)(y0 + r) * L->w + x0) * 3;
        if (L->planar == PLANARCONFIG_CONTIG) {
            unpack(planes[0] + r * rowbytes, L->bps, (size_t)n * L->spp, work, 1);
        } else {
            for (uint32_t p = 0; p < L->nread; p++)
                unpack(planes[p] + r * rowbytes, L->bps, n, work + p, L->spp);
        }
        convert(L, work, n, out);
        if (composite)
            mixed |= over_grey(L, work, n, out);
    }
    return mixed;
}

/* A strip or tile that libtiff could not decode, at (x, y), blackened as
 * ImageMagick 6.9.11 leaves it (measured on LZW files with one damaged
 * block: `convert` writes the image and exits 1). A strip: it and every
 * row after it, and reading stops. A tile: it and the rest of its row of
 * tiles, and reading goes on with the next row of tiles. */
static void blacken(const tiff_layout *L, uint8_t *px, uint32_t x, uint32_t y,
                    uint32_t rows, int tiled)
{
    size_t stride = (size_t)L->w * 3;
    for (uint32_t r = y; r < y + rows; r++)
        memset(px + r * stride + (size_t)x * 3, 0, ((size_t)L->w - x) * 3);
    if (!tiled)
        memset(px + (size_t)(y + rows) * stride, 0, (size_t)(L->h - y - rows) * stride);
}

/* Decodes the page, strip by strip or tile by tile, into px; *mixed
 * nonzero when a pixel was composited. */
static int read_blocks(TIFF *tif, const tiff_layout *L, uint8_t *px, int *mixed,
                       tiff_src *src, const char *name, char *err, size_t errlen)
{
    int rc = PHM_OK;
    int tiled = TL->TIFFIsTiled(tif);
    uint32_t bw = L->w, bh = L->h;
    uint64_t rowbytes, blockbytes;
    if (tiled) {
        if (!TL->TIFFGetField(tif, TIFFTAG_TILEWIDTH, &bw) ||
            !TL->TIFFGetField(tif, TIFFTAG_TILELENGTH, &bh) || bw == 0 || bh == 0)
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "TIFF tiles without a size");
        rowbytes = TL->TIFFTileRowSize64(tif);
        blockbytes = TL->TIFFTileSize64(tif);
    } else {
        TL->TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &bh);
        if (bh == 0 || bh > L->h)
            bh = L->h;
        rowbytes = TL->TIFFScanlineSize64(tif);
        blockbytes = TL->TIFFVStripSize64(tif, bh);
    }
    uint32_t planesamples = L->planar == PLANARCONFIG_CONTIG ? L->spp : 1;
    /* What the rows must hold, and a bound on the block: a tile may pad
     * the image, but not by more than the image itself plus 16 MiB. */
    uint64_t need = ((uint64_t)(bw < L->w ? bw : L->w) * planesamples * L->bps + 7) / 8;
    uint64_t image = ((uint64_t)L->w * planesamples * L->bps + 7) / 8 * L->h;
    if (rowbytes < need || blockbytes < rowbytes * (tiled ? bh : 1) ||
        blockbytes > image * 4 + (16u << 20) || blockbytes > SIZE_MAX / 8)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "TIFF %s of %llu bytes for %llu-byte rows", tiled ? "tile" : "strip",
                         (unsigned long long)blockbytes, (unsigned long long)rowbytes);
    /* Strips of separate planes that end in a short last strip: the block
     * read is the rows left, never more than blockbytes. */
    uint32_t nplanes = L->planar == PLANARCONFIG_CONTIG ? 1 : L->nread;
    /* Zeroed once, as ImageMagick zeroes its strip buffer: libtiff may
     * report a damaged block whole with only its first rows written (a
     * CCITT strip that ends early), and the rest must not be whatever
     * the heap held (found by fuzz_tiff: two decodes of one file differed). */
    uint8_t *buf = calloc(nplanes, (size_t)blockbytes);
    uint16_t *work = malloc(((size_t)bw < L->w ? bw : L->w) * L->spp * sizeof *work);
    if (!buf || !work) {
        rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        goto out;
    }
    uint8_t *planes[16];
    for (uint32_t p = 0; p < nplanes; p++)
        planes[p] = buf + (size_t)p * blockbytes;

    uint32_t per_plane = tiled ? 0 : (L->h - 1) / bh + 1;
    /* The plane read for compositing alone, if any. */
    uint32_t alpha_plane = nplanes > 1 && L->grey >= 0 && !L->assoc ? L->ncolour : UINT32_MAX;
    uint64_t good = 0, bad = 0;
    uint32_t bad_y = 0;
    for (uint32_t y = 0; y < L->h; y += bh) {
        uint32_t rows = bh < L->h - y ? bh : L->h - y;
        for (uint32_t x = 0; x < L->w; x += bw) {
            uint32_t n = bw < L->w - x ? bw : L->w - x;
            int ok = 1, composite = L->grey >= 0;
            for (uint32_t p = 0; p < nplanes && ok; p++) {
                int said = src->message[0] != '\0';
                tmsize_t got, want;
                if (tiled) {
                    uint32_t t = TL->TIFFComputeTile(tif, x, y, 0, (uint16_t)p);
                    want = (tmsize_t)blockbytes;
                    got = TL->TIFFReadEncodedTile(tif, t, planes[p], want);
                } else {
                    uint32_t s = p * per_plane + y / bh;
                    want = (tmsize_t)(rowbytes * rows);
                    got = TL->TIFFReadEncodedStrip(tif, s, planes[p], want);
                }
                ok = got >= 0 && got >= (tiled ? (tmsize_t)(rowbytes * rows) : want);
                if (!ok && p == alpha_plane) {
                    /* Read only to composite: without it the block is
                     * what it is with no background (opaque), and the
                     * status stays that decode's. */
                    ok = 1;
                    composite = 0;
                    if (!said)
                        src->message[0] = '\0';
                }
            }
            if (ok) {
                *mixed |= block_convert(L, planes, (size_t)rowbytes, x, y, n, rows, composite,
                                        work, px);
                good++;
                continue;
            }
            blacken(L, px, x, y, rows, tiled);
            if (bad++ == 0)
                bad_y = y;
            if (!tiled)
                goto damaged;
            break; /* the next row of tiles */
        }
    }
damaged:
    if (bad) {
        /* Usable only when some block came out whole. */
        const char *why = src->message[0] ? src->message : "TIFF strip or tile cut short";
        if (good == 0)
            rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s", why);
        else if (tiled)
            rc = phm__fail(PHM_WARN_RECOVERED, err, errlen, name,
                           "%s (%llu damaged tiles, the first in rows from %u, each left "
                           "black with the rest of its row of tiles)",
                           why, (unsigned long long)bad, (unsigned)bad_y);
        else
            rc = phm__fail(PHM_WARN_RECOVERED, err, errlen, name,
                           "%s (rows from %u left black)", why, (unsigned)bad_y);
    }
out:
    free(buf);
    free(work);
    return rc;
}

int phm__decode_tiff(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                     phm_image *img, char *err, size_t errlen)
{
    if (!phm__tiff_lib_get(name, err, errlen))
        return PHM_ERR_UNSUPPORTED;
    tiff_src src = { data, len, 0, name ? name : "(memory)", "" };
    tiff_layout L;
    memset(&L, 0, sizeof L);
    /* libtiff allocates its raw strip (at most the input) and codec
     * buffers (at most a decoded strip, bounded by the pixel limit). */
    uint64_t max_alloc = (uint64_t)len + (16u << 20);
    if (dec->limits.max_pixels < (UINT64_MAX - max_alloc) / 64)
        max_alloc += dec->limits.max_pixels * 64;
    else
        max_alloc = UINT64_MAX;
    TIFF *tif = tiff_open(&src, max_alloc);
    if (!tif)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s", src.message);
    src.message[0] = '\0'; /* what libtiff got over while opening */
    size_t bytes;
    int rc = layout_read(tif, dec, &L, &bytes, name, err, errlen);
    if (rc)
        goto out;
    uint8_t *px = phm__pixels(dec, bytes);
    if (!px) {
        rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        goto out;
    }
    int mixed = 0;
    rc = read_blocks(tif, &L, px, &mixed, &src, name, err, errlen);
    if (rc < 0)
        goto out;
    dec->composited = mixed;
    img->pixels = px;
    img->width = L.w;
    img->height = L.h;
    img->channels = 3;
    img->stride = (size_t)L.w * 3;
    img->format = PHM_FORMAT_TIFF;
out:
    free(L.lut8);
    free(L.lut16);
    free(L.cmap);
    free(L.alpha8);
    TL->TIFFClose(tif);
    return rc;
}

int phm__tiff_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                    uint32_t *h, char *err, size_t errlen)
{
    if (!phm__tiff_lib_get(name, err, errlen))
        return PHM_ERR_UNSUPPORTED;
    tiff_src src = { data, len, 0, name ? name : "(memory)", "" };
    /* The directory only: tags and their arrays, bounded by the input. */
    TIFF *tif = tiff_open(&src, (uint64_t)len + (16u << 20));
    if (!tif)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s", src.message);
    int rc = PHM_OK;
    if (!TL->TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, w) || !TL->TIFFGetField(tif, TIFFTAG_IMAGELENGTH, h))
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "TIFF without an image size");
    TL->TIFFClose(tif);
    return rc;
}

void phm__tiff_version(char *out, size_t len)
{
    char why[PHM_ERRMSG_MAX];
    if (!phm__tiff_lib_get("libtiff", why, sizeof why)) {
        snprintf(out, len, "libtiff unavailable (%s)", why);
        return;
    }
    /* TIFFGetVersion() is a multi-line banner; its first line names the version. */
    const char *v = TL->TIFFGetVersion();
    const char *num = strstr(v, "Version ");
    num = num ? num + 8 : v;
    size_t n = strcspn(num, "\n");
    snprintf(out, len, "libtiff %.*s", (int)n, num);
}
