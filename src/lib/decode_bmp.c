/* decode_bmp.c - BMP images, our own decoder (docs/PDQ.md, "BMP").
 *
 * Headers: OS/2 1.x (12 bytes, 16-bit sizes, 3-byte palette entries),
 * OS/2 2.x (16 or 64 bytes), Windows 3 (40), the 52- and 56-byte variants
 * (masks in the header), Windows 4 (108) and 5 (124). Pixels: 1/4/8-bit
 * palettes, RLE8 and RLE4, 16 and 32 bits with bit fields (BI_BITFIELDS,
 * BI_ALPHABITFIELDS; 5-5-5 for 16-bit BI_RGB), 24-bit; bottom-up and
 * top-down. The result is always RGB, the pixels ImageMagick 6 (Q16) gives
 * when it writes the file as png24 (alpha dropped; over a background, see
 * the end):
 *   - palette entries as they are; an index past the palette is entry 0
 *     (PHM_WARN_RECOVERED, ImageMagick says "InvalidColormapIndex");
 *   - a bit-field channel is moved to the top of a 16-bit sample, then
 *     its bits repeated downwards as ImageMagick does (16-bit pixels: a
 *     5-bit channel as 5+3, green's 6 bits as 6+2, then any channel of at
 *     most 8 bits copies its high byte into the low one; 32-bit pixels:
 *     only an 8-bit channel is copied), and the 16-bit sample taken to 8
 *     bits as floor(v / 257), which is what ImageMagick's png24 holds for
 *     every value (measured; a rounding would differ for 10-bit fields);
 *   - RLE pixels that the stream skips (delta, early end of line or of
 *     bitmap) are palette entry 0; a run past the image's end is cut there;
 *     a top-down RLE image whose stream meets the end of the file stays in
 *     bottom-up row order (ImageMagick stops before its flip).
 * Every header field is checked before any allocation: sizes, planes, bit
 * count per compression, palette size and place, masks (contiguous, not
 * overlapping, inside the pixel), bfOffBits and the pixel data's length,
 * the stride in 64 bits, the pixel limit (and, for RLE, rows over 256
 * times the file's size, as ImageMagick). Truncated uncompressed pixels
 * are PHM_ERR_CORRUPT (ImageMagick refuses the file); a truncated RLE
 * stream is PHM_WARN_RECOVERED with the rows read so far (ImageMagick
 * keeps them and says "UnexpectedEndOfFile").
 *
 * Alpha: with a background set (phm_decoder_set_background), a 16- or
 * 32-bit image with an alpha bit field (BI_ALPHABITFIELDS' fourth mask
 * after a 40-byte header, or the alpha mask of a 56-byte, V4 or V5 header
 * with BI_BITFIELDS or BI_ALPHABITFIELDS) is composited over it,
 * v' = (v a + g (255 - a) + 127) / 255, the colours as above and the alpha
 * field taken to 8 bits by repeating its bits (browsers' reading, not
 * ImageMagick's: see alpha_value). An image whose alpha is 0 in every
 * pixel is opaque, as Windows and browsers show it (encoders leave the
 * byte 0), so it is not composited; a look over the source pixels finds
 * that first, without a buffer. An alpha mask that is not one run of bits
 * inside the pixel clear of the colours' is ignored (opaque). 32-bit
 * BI_RGB has no alpha. Without a background nothing of this is read. */
#include <string.h>

#include "decode_internal.h"

enum { BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3, BI_JPEG = 4,
       BI_PNG = 5, BI_ALPHABITFIELDS = 6 };

typedef struct bmp_header {
    uint32_t width, height; /* height as |biHeight| */
    int top_down;
    uint32_t bpp, compression;
    uint32_t colors;        /* palette entries (bpp <= 8) */
    uint32_t entry;         /* bytes per palette entry: 3 or 4 */
    size_t palette_at;      /* offset of the palette in the file */
    size_t pixels_at;       /* bfOffBits */
    uint32_t mask[3];       /* red, green, blue (bpp 16 and 32) */
    uint32_t alpha_mask;    /* bit fields' alpha, or 0: none (or unusable) */
} bmp_header;

static uint32_t rd16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* A mask is one run of set bits (or zero: the channel is black). */
static int mask_contiguous(uint32_t m)
{
    if (!m)
        return 1;
    while (!(m & 1))
        m >>= 1;
    return (m & (m + 1)) == 0;
}

static int bmp_parse(const uint8_t *d, size_t len, const char *name, bmp_header *h,
                     char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    if (len < 18 || d[0] != 'B' || d[1] != 'M')
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "BMP header truncated");
    const uint32_t file_size = rd32(d + 2), offset = rd32(d + 10), hsize = rd32(d + 14);
    if (hsize != 12 && hsize != 16 && hsize != 40 && hsize != 52 && hsize != 56 &&
        hsize != 64 && hsize != 108 && hsize != 124)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "BMP info header of %u bytes is not one in use", hsize);
    if (len < 14 + (size_t)hsize)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "BMP header truncated: %zu of %u bytes", len, 14 + hsize);
    /* The file's own size may be 0 (unknown) or smaller (trailing bytes). */
    if (file_size != 0 && file_size > len)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "BMP truncated: %zu of the %u bytes its header declares", len,
                         file_size);

    int64_t w, hh;
    uint32_t planes;
    size_t masks_end = 14 + (size_t)hsize;
    if (hsize == 12) {
        /* OS/2 1.x: 16-bit sizes, signed as ImageMagick reads them. */
        w = (int16_t)rd16(d + 18);
        hh = (int16_t)rd16(d + 20);
        planes = rd16(d + 22);
        h->bpp = rd16(d + 24);
        h->compression = BI_RGB;
        h->entry = 3;
    } else {
        w = (int32_t)rd32(d + 18);
        hh = (int32_t)rd32(d + 22);
        planes = rd16(d + 26);
        h->bpp = rd16(d + 28);
        h->compression = hsize >= 20 ? rd32(d + 30) : BI_RGB;
        h->colors = hsize >= 40 ? rd32(d + 46) : 0;
        /* ImageMagick reads 3-byte palette entries after a 64-byte OS/2
         * 2.x header (the OS/2 RGB2 entry has 4); its pixels are the ones
         * to match, so we do the same. */
        h->entry = hsize == 64 ? 3 : 4;
        if (hsize == 16 || hsize == 64) {
            /* OS/2 2.x: 3 is Huffman 1D and 4 RLE24 there, not bit fields. */
            if (h->compression == 3 || h->compression == 4)
                return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                                 "OS/2 BMP compression %s is not supported",
                                 h->compression == 3 ? "Huffman 1D" : "RLE24");
        } else if (h->compression == BI_BITFIELDS || h->compression == BI_ALPHABITFIELDS) {
            size_t at = 54;
            if (hsize == 40)
                masks_end += h->compression == BI_ALPHABITFIELDS ? 16 : 12;
            if (len < masks_end)
                return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                                 "BMP bit-field masks truncated");
            for (int i = 0; i < 3; i++)
                h->mask[i] = rd32(d + at + 4 * (size_t)i);
            /* The alpha mask follows: after the 40-byte header with
             * BI_ALPHABITFIELDS, in the 56-byte (V3), V4 and V5 ones. */
            if ((hsize == 40 && h->compression == BI_ALPHABITFIELDS) || hsize >= 56)
                h->alpha_mask = rd32(d + at + 12);
        }
    }
    if (w <= 0 || hh == 0)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "BMP size %lldx%lld is not positive", (long long)w, (long long)hh);
    h->width = (uint32_t)w;
    h->top_down = hh < 0;
    h->height = (uint32_t)(hh < 0 ? -hh : hh);
    if (planes != 1)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "BMP has %u planes, not 1", planes);

    const uint32_t bpp = h->bpp, c = h->compression;
    int bpp_ok;
    switch (c) {
    case BI_RGB:
        bpp_ok = bpp == 1 || bpp == 4 || bpp == 8 || bpp == 16 || bpp == 24 || bpp == 32;
        break;
    case BI_RLE8: bpp_ok = bpp == 8; break;
    case BI_RLE4: bpp_ok = bpp == 4; break;
    case BI_BITFIELDS:
    case BI_ALPHABITFIELDS: bpp_ok = bpp == 16 || bpp == 32; break;
    case BI_JPEG:
    case BI_PNG:
        return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                         "BMP with an embedded %s image is not supported",
                         c == BI_JPEG ? "JPEG" : "PNG");
    default:
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "unknown BMP compression %u", c);
    }
    if (!bpp_ok)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "%u bits per pixel is not valid with BMP compression %u", bpp, c);

    if (c == BI_RGB && bpp == 16) {
        h->mask[0] = 0x7c00;
        h->mask[1] = 0x03e0;
        h->mask[2] = 0x001f;
    } else if (c == BI_RGB && bpp == 32) {
        h->mask[0] = 0xff0000;
        h->mask[1] = 0x00ff00;
        h->mask[2] = 0x0000ff;
    } else if (c == BI_BITFIELDS || c == BI_ALPHABITFIELDS) {
        const uint32_t *m = h->mask;
        for (int i = 0; i < 3; i++)
            if (!mask_contiguous(m[i]) || (bpp == 16 && m[i] > 0xffff))
                return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                                 "BMP %s mask 0x%08x is not one run of bits inside "
                                 "the %u-bit pixel",
                                 i == 0 ? "red" : i == 1 ? "green" : "blue", m[i], bpp);
        if ((m[0] & m[1]) || (m[0] & m[2]) || (m[1] & m[2]))
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                             "BMP masks overlap (0x%08x, 0x%08x, 0x%08x)", m[0], m[1], m[2]);
        if (!(m[0] | m[1] | m[2]))
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "BMP masks are all zero");
        /* Alpha is read only to composite it: a mask that cannot be one
         * is ignored (the pixels opaque), never a reason to refuse a file
         * the decode with alpha dropped takes. */
        const uint32_t a = h->alpha_mask;
        if (!mask_contiguous(a) || (bpp == 16 && a > 0xffff) || (a & (m[0] | m[1] | m[2])))
            h->alpha_mask = 0;
    } else {
        h->alpha_mask = 0;
    }

    if (h->colors > len)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "BMP declares %u colours, more than the file has bytes", h->colors);
    h->palette_at = 14 + (size_t)hsize;
    if (bpp <= 8) {
        if (h->colors > (1u << bpp))
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                             "BMP palette of %u colours for %u bits per pixel", h->colors,
                             bpp);
        if (h->colors == 0)
            h->colors = 1u << bpp;
        if (len - h->palette_at < (size_t)h->colors * h->entry)
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                             "BMP palette of %u colours truncated", h->colors);
    }
    if (offset < masks_end || offset > len)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "BMP pixel data offset %u is outside the file (header ends at "
                         "%zu, file has %zu bytes)",
                         offset, masks_end, len);
    h->pixels_at = offset;
    return PHM_OK;
}

int phm__bmp_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                   uint32_t *h, char *err, size_t errlen)
{
    bmp_header hd;
    int rc = bmp_parse(data, len, name, &hd, err, errlen);
    if (rc)
        return rc;
    *w = hd.width;
    *h = hd.height;
    return PHM_OK;
}

typedef struct bmp_chan {
    uint32_t mask, shift, bits;
} bmp_chan;

static bmp_chan chan_of(uint32_t mask)
{
    bmp_chan c = { mask, 0, 0 };
    if (mask) {
        while (!(mask << c.shift & 0x80000000u))
            c.shift++;
        while (c.shift + c.bits < 32 && (mask << (c.shift + c.bits) & 0x80000000u))
            c.bits++;
    }
    return c;
}

static uint8_t chan_value(uint32_t pix, const bmp_chan *c, int green, int bpp16)
{
    uint32_t v = ((pix & c->mask) << c->shift) >> 16;
    if (bpp16) {
        if (c->bits == 5)
            v |= (v & 0xe000) >> 5;
        if (green && c->bits == 6)
            v |= (v & 0xc000) >> 6;
        if (c->bits <= 8)
            v |= (v & 0xff00) >> 8;
    } else if (c->bits == 8) {
        v |= v >> 8;
    }
    return (uint8_t)(v / 257); /* floor, as measured: docs/PDQ.md */
}

/* One channel's table from its raw value (at most 12 bits) to 8 bits. */
static void chan_table(const bmp_chan *c, int green, int bpp16, uint8_t *lut)
{
    uint32_t low = c->mask ? 32 - c->shift - c->bits : 0;
    for (uint32_t v = 0; v < (1u << c->bits); v++)
        lut[v] = chan_value(v << low, c, green, bpp16);
}

/* An alpha field to 8 bits as browsers take it, its bits repeated
 * downwards (a 1-bit alpha is 0 or 255, a 4-bit one 17 v), or its top 8
 * bits. Not ImageMagick's scaling of a colour field: that gives a 1-bit
 * alpha of 1 as 128 and a 4-bit alpha of 15 as 240, half or nearly
 * transparent where every viewer shows the pixel opaque. */
static uint8_t alpha_value(uint32_t v, uint32_t bits)
{
    if (bits >= 8)
        return (uint8_t)(v >> (bits - 8));
    uint32_t a = 0;
    for (int sh = 8 - (int)bits; sh > -(int)bits; sh -= (int)bits)
        a |= sh >= 0 ? v << sh : v >> -sh;
    return (uint8_t)a;
}

/* Whether any pixel has an alpha other than 0: Windows and browsers show
 * a bit-field image whose alpha is 0 everywhere as opaque (the byte
 * unused, as encoders leave it), so it is not composited. A pass over the
 * source rows, stopping at the first; no buffer. */
static int any_alpha(const uint8_t *src, uint64_t stride, uint32_t w, uint32_t h, int bpp16,
                     uint32_t mask)
{
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *r = src + (size_t)y * stride;
        for (uint32_t x = 0; x < w; x++)
            if ((bpp16 ? rd16(r + 2 * (size_t)x) : rd32(r + 4 * (size_t)x)) & mask)
                return 1;
    }
    return 0;
}

/* One row's RGB (o, as decoded) composited in place over grey g by its
 * pixels' alpha fields (r, the source row). Returns the AND of the
 * alphas: 255 when every one was opaque. */
static unsigned over_grey(const uint8_t *r, uint32_t w, int bpp16, const bmp_chan *a,
                          const uint8_t *lut, uint32_t g, uint8_t *o)
{
    const uint32_t low = 32 - a->shift - a->bits;
    uint8_t alpha[256]; /* a run's 8-bit alphas: no buffer per row */
    unsigned all = 255;
    for (uint32_t x = 0; x < w; x += (uint32_t)sizeof alpha) {
        uint32_t k = w - x < sizeof alpha ? w - x : (uint32_t)sizeof alpha;
        for (uint32_t j = 0; j < k; j++) {
            size_t at = (size_t)x + j;
            uint32_t v = ((bpp16 ? rd16(r + 2 * at) : rd32(r + 4 * at)) & a->mask) >> low;
            alpha[j] = a->bits <= 8 ? lut[v] : alpha_value(v, a->bits);
        }
        all &= phm__over_grey_rgb(o + 3 * (size_t)x, alpha, k, (int)g, 0);
    }
    return all;
}

/* The RLE stream into palette indexes, in the stream's row order, as
 * ImageMagick runs it: one position in a width x height buffer that runs
 * may carry past the end of a row; a delta moves it; it stops at the end
 * of bitmap, at the buffer's end, or at the end of the data. Encoders
 * (ImageMagick's among them) run each row over its padding, so a last run
 * may pass the image's end by `slack` pixels unnoticed. Returns 0, 1 if
 * the data ended before an end of bitmap (or of the last row), 2 if a run
 * or delta went further past the image. */
static int rle_run(const uint8_t *s, size_t n, int rle4, uint8_t *idx, uint32_t w,
                   uint32_t h, uint32_t slack, size_t *end)
{
    const uint64_t total = (uint64_t)w * h;
    uint64_t p = 0, x = 0, y = 0;
    size_t i = 0;
    *end = n; /* where the data ran out, unless set below */
    int over = 0;
    memset(idx, 0, (size_t)total);
    while (y < h && p < total) {
        if (i >= n)
            return 1;
        uint32_t count = s[i++];
        if (count > 0) {
            if (i >= n)
                return 1;
            uint8_t b = s[i++];
            if (count > total - p) {
                over |= count - (total - p) > slack;
                count = (uint32_t)(total - p);
            }
            for (uint32_t k = 0; k < count; k++)
                idx[p++] = rle4 ? (uint8_t)(k & 1 ? b & 0x0f : b >> 4) : b;
            x += count;
            continue;
        }
        if (i >= n)
            return 1;
        uint32_t esc = s[i++];
        if (esc == 1) {
            *end = i;
            return over ? 2 : 0;
        }
        if (esc == 0) {
            x = 0;
            y++;
            p = y * w;
        } else if (esc == 2) {
            if (n - i < 2)
                return 1;
            x += s[i];
            y += s[i + 1];
            i += 2;
            p = y * w + x;
            if (p > total || (p == total && y < h)) {
                *end = i;
                return 2;
            }
        } else {
            /* Absolute mode: esc literal pixels, padded to 16 bits. */
            uint32_t count2 = esc;
            if (count2 > total - p) {
                over |= count2 - (total - p) > slack;
                count2 = (uint32_t)(total - p);
            }
            size_t bytes = rle4 ? ((size_t)esc + 1) / 2 : esc;
            size_t have = n - i < bytes ? n - i : bytes;
            for (uint32_t k = 0; k < count2; k++) {
                size_t at = rle4 ? k / 2 : k;
                if (at >= have)
                    return 1;
                idx[p++] = rle4 ? (uint8_t)(k & 1 ? s[i + at] & 0x0f : s[i + at] >> 4)
                                : s[i + at];
            }
            if (have < bytes)
                return 1;
            i += bytes + (bytes & 1);
            x += esc;
            if (i > n)
                return 1;
        }
    }
    *end = i;
    return over ? 2 : 0;
}

/* rle_run, and whether ImageMagick would meet the end of the file: it
 * reads two more bytes after the stream (the end of line or bitmap it
 * expects), and at the end of the file it warns and skips the flip of a
 * top-down image. */
static int rle_decode(const uint8_t *s, size_t n, int rle4, uint8_t *idx, uint32_t w,
                      uint32_t h, uint32_t slack, int *eof)
{
    size_t end;
    int rc = rle_run(s, n, rle4, idx, w, h, slack, &end);
    *eof = rc == 1 || n - end < 2;
    return rc;
}

int phm__decode_bmp(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                    phm_image *img, char *err, size_t errlen)
{
    bmp_header hd;
    int rc = bmp_parse(data, len, name, &hd, err, errlen);
    if (rc)
        return rc;
    const uint32_t w = hd.width, h = hd.height, bpp = hd.bpp;
    const int rle = hd.compression == BI_RLE8 || hd.compression == BI_RLE4;
    size_t bytes;
    rc = phm__check_dims(dec, name, w, h, 3, &bytes, err, errlen);
    if (rc)
        return rc;
    /* Rows of 32-bit words; w < 2^31 and bpp <= 32, so no overflow in 64. */
    const uint64_t stride = ((uint64_t)w * bpp + 31) / 32 * 4;
    const size_t avail = len - hd.pixels_at;
    if (!rle && (uint64_t)avail / stride < h)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "BMP pixel data truncated: %zu of %llu bytes", avail,
                         (unsigned long long)stride * h);

    /* ImageMagick refuses an RLE image whose rows (at 8 bits a pixel, RLE4
     * too) are over 256 times the file's size; so do we, which also bounds
     * what a small file can make us allocate. */
    const uint64_t rows8 = ((uint64_t)w * 8 + 31) / 32 * 4 * h;
    if (rle && rows8 / 256 > len)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "BMP of %ux%u pixels in %zu bytes of RLE: too little data", w, h,
                         len);

    /* RLE indexes go after the RGB pixels in the same buffer. */
    const size_t extra = rle ? (size_t)w * h : 0;
    uint8_t *px = phm__pixels(dec, bytes + extra);
    if (!px)
        return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");

    uint8_t pal[256][3];
    memset(pal, 0, sizeof pal);
    for (uint32_t i = 0; bpp <= 8 && i < hd.colors; i++) {
        const uint8_t *e = data + hd.palette_at + (size_t)i * hd.entry;
        pal[i][0] = e[2];
        pal[i][1] = e[1];
        pal[i][2] = e[0];
    }
    const uint8_t *src = data + hd.pixels_at;
    const size_t row = (size_t)w * 3;
    int bad_index = 0, rle_status = 0;

    if (rle) {
        uint8_t *idx = px + bytes;
        const uint32_t slack = (uint32_t)(stride * 8 / bpp - w);
        int eof;
        rle_status = rle_decode(src, avail, hd.compression == BI_RLE4, idx, w, h, slack, &eof);
        const int top_down = hd.top_down && !eof;
        for (uint32_t y = 0; y < h; y++) {
            uint8_t *o = px + (size_t)(top_down ? y : h - 1 - y) * row;
            const uint8_t *r = idx + (size_t)y * w;
            for (uint32_t x = 0; x < w; x++, o += 3) {
                uint32_t k = r[x];
                if (k >= hd.colors) {
                    k = 0;
                    bad_index = 1;
                }
                memcpy(o, pal[k], 3);
            }
        }
    } else if (bpp <= 8) {
        const uint32_t per = 8 / bpp, m = (1u << bpp) - 1;
        for (uint32_t y = 0; y < h; y++) {
            const uint8_t *r = src + (size_t)y * stride;
            uint8_t *o = px + (size_t)(hd.top_down ? y : h - 1 - y) * row;
            for (uint32_t x = 0; x < w; x++, o += 3) {
                uint32_t sh = (per - 1 - x % per) * bpp;
                uint32_t k = (uint32_t)(r[x / per] >> sh) & m;
                if (k >= hd.colors) {
                    k = 0;
                    bad_index = 1;
                }
                memcpy(o, pal[k], 3);
            }
        }
    } else if (bpp == 24) {
        for (uint32_t y = 0; y < h; y++) {
            const uint8_t *r = src + (size_t)y * stride;
            uint8_t *o = px + (size_t)(hd.top_down ? y : h - 1 - y) * row;
            for (uint32_t x = 0; x < w; x++, r += 3, o += 3) {
                o[0] = r[2];
                o[1] = r[1];
                o[2] = r[0];
            }
        }
    } else {
        const int bpp16 = bpp == 16;
        bmp_chan ch[3];
        uint8_t lut[3][4096];
        int use_lut = 1;
        for (int i = 0; i < 3; i++) {
            ch[i] = chan_of(hd.mask[i]);
            if (ch[i].bits > 12)
                use_lut = 0;
        }
        for (int i = 0; use_lut && i < 3; i++)
            chan_table(&ch[i], i == 1, bpp16, lut[i]);
        uint32_t low[3];
        for (int i = 0; i < 3; i++)
            low[i] = ch[i].mask ? 32 - ch[i].shift - ch[i].bits : 0;
        /* Alpha, with a background to show through it (and unless every
         * pixel's is 0): each row composited once decoded. */
        const int composite = dec->background != PHM_BACKGROUND_NONE && hd.alpha_mask &&
                              any_alpha(src, stride, w, h, bpp16, hd.alpha_mask);
        const bmp_chan ach = chan_of(hd.alpha_mask);
        uint8_t alut[256];
        for (uint32_t v = 0; composite && ach.bits <= 8 && v < (1u << ach.bits); v++)
            alut[v] = alpha_value(v, ach.bits);
        unsigned all = 255;
        for (uint32_t y = 0; y < h; y++) {
            const uint8_t *r = src + (size_t)y * stride;
            uint8_t *o = px + (size_t)(hd.top_down ? y : h - 1 - y) * row;
            for (uint32_t x = 0; x < w; x++, o += 3) {
                uint32_t pix = bpp16 ? rd16(r + 2 * (size_t)x) : rd32(r + 4 * (size_t)x);
                for (int i = 0; i < 3; i++)
                    o[i] = use_lut ? lut[i][(pix & ch[i].mask) >> low[i]]
                                   : chan_value(pix, &ch[i], i == 1, bpp16);
            }
            if (composite)
                all &= over_grey(r, w, bpp16, &ach, alut, (uint32_t)dec->background,
                                 px + (size_t)(hd.top_down ? y : h - 1 - y) * row);
        }
        dec->composited = all != 255;
    }

    img->pixels = px;
    img->width = w;
    img->height = h;
    img->channels = 3;
    img->stride = row;
    img->format = PHM_FORMAT_BMP;
    if (rle_status == 1)
        return phm__fail(PHM_WARN_RECOVERED, err, errlen, name,
                         "BMP RLE data ends early; missing pixels are palette entry 0");
    if (rle_status == 2)
        return phm__fail(PHM_WARN_RECOVERED, err, errlen, name,
                         "BMP RLE data runs past the end of the image");
    if (bad_index)
        return phm__fail(PHM_WARN_RECOVERED, err, errlen, name,
                         "BMP pixel refers past the %u-colour palette; taken as entry 0",
                         hd.colors);
    return PHM_OK;
}
