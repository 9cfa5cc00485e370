/* test_bmp.c - BMP header validation at its boundaries (decode_bmp.c),
 * through the public API: each header field one step inside and one step
 * outside what is valid, phm_image_probe() agreeing with the decode, and
 * small images whose pixels are known by construction. The conformance
 * against ImageMagick is tests/cli/format_bmp.sh's. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"

static uint8_t buf[4096];
static size_t blen;

static void put16(size_t at, uint32_t v)
{
    buf[at] = (uint8_t)v;
    buf[at + 1] = (uint8_t)(v >> 8);
}

static void put32(size_t at, uint32_t v)
{
    put16(at, v & 0xffff);
    put16(at + 2, v >> 16);
}

/* A 40-byte-header BMP, w x h, with `extra` bytes (masks, palette) after
 * the header and `pix` pixel bytes (0x5a each), fields set as given. */
static void make(int32_t w, int32_t h, uint32_t bpp, uint32_t comp, uint32_t colors,
                 size_t extra, size_t pix)
{
    memset(buf, 0, sizeof buf);
    buf[0] = 'B';
    buf[1] = 'M';
    blen = 54 + extra + pix;
    put32(2, (uint32_t)blen);
    put32(10, (uint32_t)(54 + extra));
    put32(14, 40);
    put32(18, (uint32_t)w);
    put32(22, (uint32_t)h);
    put16(26, 1);
    put16(28, bpp);
    put32(30, comp);
    put32(46, colors);
    memset(buf + 54 + extra, 0x5a, pix);
}

static phm_decoder *dec;
static char err[256];

/* Decodes buf; checks the probe agrees (same size on success). */
static int decode(phm_image *img)
{
    int rc = phm_decode_mem(dec, buf, blen, "t.bmp", img, err, sizeof err);
    phm_image_info info;
    char perr[256];
    int prc = phm_image_probe(buf, blen, "t.bmp", &info, perr, sizeof perr);
    if (rc >= 0 && (prc != PHM_OK || info.width != img->width ||
                    info.height != img->height || info.format != PHM_FORMAT_BMP)) {
        printf("# probe disagrees: rc %d, %ux%u against %ux%u (%s)\n", prc, info.width,
               info.height, img->width, img->height, perr);
        return -100;
    }
    return rc;
}

int main(void)
{
    phm_decode_limits lim = { .max_pixels = 1u << 20, .max_file_bytes = 0 };
    if (phm_decoder_new(&dec, &lim) != PHM_OK)
        return 1;
    phm_image img;

    /* 24-bit, 3x2: rows of 12 bytes (9 + 3 padding). */
    make(3, 2, 24, 0, 0, 0, 24);
    buf[54] = 1, buf[55] = 2, buf[56] = 3; /* bottom row, first pixel: BGR */
    IS_INT(decode(&img), PHM_OK, "24-bit 3x2 decodes");
    IS_INT(img.channels, 3, "... as RGB");
    OK(img.pixels[img.stride] == 3 && img.pixels[img.stride + 1] == 2 &&
           img.pixels[img.stride + 2] == 1,
       "... bottom-up: the first stored row is the last, BGR to RGB");
    blen--;
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "one byte short of the last row's padding: corrupt");
    make(3, -2, 24, 0, 0, 0, 24);
    buf[54] = 1, buf[55] = 2, buf[56] = 3;
    IS_INT(decode(&img), PHM_OK, "negative height: top-down");
    OK(img.pixels[0] == 3 && img.height == 2, "... the first stored row is the first");
    make(3, INT32_MIN, 24, 0, 0, 0, 24);
    IS_INT(decode(&img), PHM_ERR_TOO_LARGE, "height -2^31: too large, no overflow");
    make(0, 2, 24, 0, 0, 0, 24);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "width 0: corrupt");
    make(-3, 2, 24, 0, 0, 0, 24);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "negative width: corrupt");
    make(3, 0, 24, 0, 0, 0, 24);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "height 0: corrupt");
    make(3, 2, 24, 0, 0, 0, 24);
    put16(26, 2);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "2 planes: corrupt");
    OK(strstr(err, "planes") != NULL, "... saying so (%s)", err);
    make(1024, 1025, 24, 0, 0, 0, 0);
    IS_INT(decode(&img), PHM_ERR_TOO_LARGE, "1024x1025 over a 2^20 limit: too large, not truncated");
    make(1024, 1024, 24, 0, 0, 0, 0);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "1024x1024 at the limit, no pixels: truncated");
    make(0x7fffffff, 0x7fffffff, 32, 0, 0, 0, 0);
    IS_INT(decode(&img), PHM_ERR_TOO_LARGE, "2^31-1 squared: too large");

    /* Header sizes and offsets. */
    make(3, 2, 24, 0, 0, 0, 24);
    put32(14, 41);
    IS_INT(decode(&img), PHM_ERR_UNSUPPORTED, "a 41-byte header is not a BMP we detect");
    make(3, 2, 24, 0, 0, 0, 24);
    put32(10, 53);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "pixel offset inside the header: corrupt");
    put32(10, (uint32_t)blen + 1);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "pixel offset past the end: corrupt");
    make(3, 2, 24, 0, 0, 0, 24);
    put32(2, (uint32_t)blen + 1);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "declared file size one past the end: corrupt");
    put32(2, 0);
    IS_INT(decode(&img), PHM_OK, "declared file size 0: ok");
    make(3, 2, 24, 4, 0, 0, 24);
    IS_INT(decode(&img), PHM_ERR_UNSUPPORTED, "embedded JPEG: unsupported");
    make(3, 2, 24, 7, 0, 0, 24);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "compression 7: corrupt");

    /* Palettes. */
    make(2, 1, 1, 0, 2, 8, 4);
    buf[54 + 2] = 255;        /* entry 0: red */
    buf[58 + 0] = 255;        /* entry 1: blue */
    buf[62] = 0x40;           /* pixels 0, 1 */
    IS_INT(decode(&img), PHM_OK, "1-bit, two colours");
    OK(img.pixels[0] == 255 && img.pixels[2] == 0 && img.pixels[3] == 0 &&
           img.pixels[5] == 255,
       "... MSB first, BGRX entries");
    make(2, 1, 1, 0, 3, 12, 4);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "3 colours for 1 bit: corrupt");
    make(2, 1, 8, 0, 256, 1023, 0);
    blen = 54 + 1023;
    put32(2, 0);
    put32(10, (uint32_t)blen);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "256-colour palette one byte short: corrupt");
    make(2, 1, 4, 0, 1, 4, 4);
    buf[54] = 9;               /* entry 0: blue 9 */
    buf[58] = 0x01;            /* pixel 0 = index 0, pixel 1 = index 1 (past it) */
    IS_INT(decode(&img), PHM_WARN_RECOVERED, "index past a 1-colour palette: recovered");
    OK(img.pixels[5] == 9, "... as entry 0, as ImageMagick does");

    /* Bit fields. */
    make(1, 1, 16, 3, 0, 12, 4);
    put32(54, 0xf800), put32(58, 0x07e0), put32(62, 0x001f);
    put16(66, 0x8410); /* 10000 100000 10000 */
    IS_INT(decode(&img), PHM_OK, "RGB565");
    IS_INT(img.pixels[0] * 65536 + img.pixels[1] * 256 + img.pixels[2],
           132 * 65536 + 130 * 256 + 132, "... 5 bits as 5+3, 6 bits as 6+2");
    put32(58, 0x0fe0);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "overlapping masks: corrupt");
    put32(58, 0x107e0);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "a 16-bit mask past bit 15: corrupt");
    put32(54, 0), put32(58, 0), put32(62, 0);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "all masks zero: corrupt");
    make(1, 1, 32, 3, 0, 12, 4);
    put32(54, 0x3ff00000), put32(58, 0x000ffc00), put32(62, 0x000003ff);
    put32(66, 0x3ff00000 | 1 << 10 | 4);
    IS_INT(decode(&img), PHM_OK, "32-bit 10-10-10");
    IS_INT(img.pixels[0] * 65536 + img.pixels[1] * 256 + img.pixels[2], 254 * 65536,
           "... 1023 is 254, 1 and 4 are 0 (floor of v * 64 / 257, as ImageMagick)");
    make(1, 1, 8, 3, 0, 12, 4);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "bit fields at 8 bits: corrupt");
    make(1, 1, 16, 3, 0, 8, 4);
    blen = 54 + 8;
    put32(10, (uint32_t)blen), put32(2, 0);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "masks cut short: corrupt");

    /* RLE. */
    make(4, 2, 8, 1, 2, 8, 0);
    buf[56] = 200;                          /* entry 0: red 200 */
    buf[58] = 1;                            /* entry 1: blue 1 */
    const uint8_t rle[] = { 0, 2, 1, 1, 2, 1, 0, 0, 0, 1 }; /* delta (1,1), 2 x 1, EOL, EOB */
    memcpy(buf + 62, rle, sizeof rle);
    blen = 62 + sizeof rle;
    put32(2, (uint32_t)blen);
    IS_INT(decode(&img), PHM_OK, "RLE8 with a delta");
    OK(img.pixels[0] == 200 && img.pixels[3] == 0 && img.pixels[5] == 1 &&
           img.pixels[3 * 4 + 0] == 200,
       "... skipped pixels are entry 0, the run lands at (1, top row)");
    buf[62 + 3] = 9; /* delta 9 rows up: out of the image */
    IS_INT(decode(&img), PHM_WARN_RECOVERED, "RLE8 delta out of the image: recovered");
    make(4, 2, 4, 2, 0, 64, 0);
    const uint8_t rle4[] = { 0, 3, 0x12, 0x30, 4, 0x45 }; /* absolute 3, run 4, no end */
    memcpy(buf + 118, rle4, sizeof rle4);
    blen = 118 + sizeof rle4;
    put32(2, (uint32_t)blen);
    IS_INT(decode(&img), PHM_WARN_RECOVERED, "RLE4 without an end: recovered");

    /* OS/2 headers. */
    memset(buf, 0, sizeof buf);
    buf[0] = 'B', buf[1] = 'M';
    put32(10, 26 + 6), put32(14, 12), put16(18, 2), put16(20, 1), put16(22, 1),
        put16(24, 1);
    buf[26] = 7, buf[29] = 8; /* 3-byte entries */
    buf[32] = 0x40;
    blen = 36;
    IS_INT(decode(&img), PHM_OK, "OS/2 1.x, 1-bit");
    OK(img.pixels[2] == 7 && img.pixels[5] == 8, "... 3-byte palette entries");
    put16(18, 0x8000);
    IS_INT(decode(&img), PHM_ERR_CORRUPT, "OS/2 1.x width 0x8000 (negative, as ImageMagick reads it)");
    memset(buf, 0, sizeof buf);
    buf[0] = 'B', buf[1] = 'M';
    put32(10, 30 + 8), put32(14, 16), put32(18, 2), put32(22, 1), put16(26, 1), put16(28, 1);
    buf[30] = 5, buf[34] = 6; /* 4-byte entries */
    buf[38] = 0x40;
    blen = 42;
    IS_INT(decode(&img), PHM_OK, "OS/2 2.x 16-byte header, 1-bit");
    OK(img.pixels[2] == 5 && img.pixels[5] == 6, "... 4-byte palette entries, 2 colours");
    make(3, 2, 24, 3, 0, 24, 24);
    put32(14, 64);
    IS_INT(decode(&img), PHM_ERR_UNSUPPORTED, "OS/2 2.x compression 3 (Huffman): unsupported");

    phm_decoder_free(dec);
    return tap_done();
}
