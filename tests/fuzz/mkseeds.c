/*
 * mkseeds.c - writes tiny images that start the decode fuzzer off in the
 * less common corners: every PNG colour type and bit depth (palette with
 * and without tRNS, grey and RGB tRNS keys, 16-bit, 1-bit, Adam7), PNM P5/P6 with 8- and 16-bit
 * maxvals and a comment, grey and progressive JPEGs, and a picture turned by
 * 6 degrees on its own canvas (black corners, for phm_corners_find) and on
 * one grown to hold it (phm__corners_find_grown).
 *
 *     mkseeds OUTDIR
 *
 * Built by tests/fuzz/build.sh without sanitizers; the images are made at
 * build time so that no corpus is committed. Exit status 0, or 1 on error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <turbojpeg.h>

#define W 13
#define H 9

static const char *outdir;

/* A smooth pattern with some edges; sample c of pixel (x, y). */
static unsigned pattern(unsigned x, unsigned y, unsigned c, unsigned maxval)
{
    unsigned v = (x * 37u + y * 71u + c * 101u + (x ^ y) * 13u) % 256u;
    return v * maxval / 255u;
}

static FILE *create(const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        fprintf(stderr, "mkseeds: cannot create '%s': %s\n", path, strerror(errno));
    return f;
}

static int finish(FILE *f, const char *path)
{
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "mkseeds: cannot write '%s'\n", path);
        return -1;
    }
    return 0;
}

static int write_png(const char *name, int color_type, int depth, int interlace,
                     int trns)
{
    unsigned channels = color_type == PNG_COLOR_TYPE_RGB         ? 3u
                        : color_type == PNG_COLOR_TYPE_RGB_ALPHA  ? 4u
                        : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2u
                                                                  : 1u;
    unsigned bytes = depth == 16 ? 2u : 1u;
    unsigned maxval = color_type == PNG_COLOR_TYPE_PALETTE ? 15u
                      : depth == 16                       ? 65535u
                                                          : (1u << depth) - 1u;
    char path[4096];
    png_bytep row = malloc((size_t)W * channels * bytes);
    FILE *f = row ? create(name, path, sizeof path) : NULL;
    if (!f) {
        free(row);
        return -1;
    }
    /* Nothing below changes a local that the error path reads. */
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "mkseeds: libpng failed on '%s'\n", path);
        png_destroy_write_struct(&png, &info);
        free(row);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, depth, color_type, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[16];
        png_byte alpha[16];
        for (unsigned i = 0; i < 16; i++) {
            pal[i].red = (png_byte)(i * 16);
            pal[i].green = (png_byte)(255 - i * 16);
            pal[i].blue = (png_byte)(i * 7);
            alpha[i] = (png_byte)(i * 17);
        }
        png_set_PLTE(png, info, pal, 16);
        if (trns)
            png_set_tRNS(png, info, alpha, 16, NULL);
    } else if (trns && !(color_type & PNG_COLOR_MASK_ALPHA)) {
        png_color_16 key = {0, 200, 100, 50, 1}; /* index, r, g, b, grey */
        png_set_tRNS(png, info, NULL, 0, &key);
    }
    png_write_info(png, info);
    if (depth < 8)
        png_set_packing(png); /* rows below hold one sample per byte */
    if (depth == 16)
        png_set_swap(png); /* rows below are little-endian 16-bit */
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++) {
        for (unsigned y = 0; y < H; y++) {
            for (unsigned x = 0; x < W; x++)
                for (unsigned c = 0; c < channels; c++) {
                    unsigned v = pattern(x, y, c, maxval);
                    size_t i = ((size_t)x * channels + c) * bytes;
                    row[i] = (png_byte)(v & 0xff);
                    if (bytes == 2)
                        row[i + 1] = (png_byte)(v >> 8);
                }
            png_write_row(png, row);
        }
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    return finish(f, path);
}

static int write_pnm(const char *name, unsigned channels, unsigned maxval,
                     const char *comment)
{
    char path[4096];
    FILE *f = create(name, path, sizeof path);
    if (!f)
        return -1;
    fprintf(f, "P%c\n%s%u %u\n%u\n", channels == 1 ? '5' : '6', comment, W, H, maxval);
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            for (unsigned c = 0; c < channels; c++) {
                unsigned v = pattern(x, y, c, maxval);
                if (maxval > 255)
                    fputc((int)(v >> 8), f);
                fputc((int)(v & 0xff), f);
            }
    return finish(f, path);
}

static int write_jpeg(const char *name, int grey, int flags)
{
    char path[4096];
    unsigned char px[W * H * 3];
    unsigned channels = grey ? 1 : 3;
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            for (unsigned c = 0; c < channels; c++)
                px[(y * W + x) * channels + c] = (unsigned char)pattern(x, y, c, 255);
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long len = 0;
    if (!tj || tjCompress2(tj, px, W, 0, H, grey ? TJPF_GRAY : TJPF_RGB, &jpeg, &len,
                           grey ? TJSAMP_GRAY : TJSAMP_420, 75, flags) != 0) {
        fprintf(stderr, "mkseeds: cannot encode '%s': %s\n", name, tjGetErrorStr2(tj));
        if (tj)
            tjDestroy(tj);
        return -1;
    }
    tjDestroy(tj);
    FILE *f = create(name, path, sizeof path);
    if (f)
        fwrite(jpeg, 1, len, f);
    tjFree(jpeg);
    return f ? finish(f, path) : -1;
}

/* A 120 x 90 flat picture with a bright square, turned by 6 degrees about
 * its centre (nearest sample), its uncovered corners black, as P6: on its
 * own canvas, or (grown) on one grown to hold it all, 129 x 103. */
static int write_rotated(const char *name, int grown)
{
    enum { RW = 120, RH = 90 };
    const double c = 0.9945218953682733, s = 0.10452846326765347; /* 6 degrees */
    const int ow = grown ? (int)(RW * c + RH * s + 0.999) : RW; /* rounded up */
    const int oh = grown ? (int)(RH * c + RW * s + 0.999) : RH;
    char path[4096];
    FILE *f = create(name, path, sizeof path);
    if (!f)
        return 1;
    fprintf(f, "P6\n%d %d\n255\n", ow, oh);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            double dx = x - (ow - 1) / 2.0, dy = y - (oh - 1) / 2.0;
            double u = dx * c + dy * s + (RW - 1) / 2.0;
            double v = -dx * s + dy * c + (RH - 1) / 2.0;
            int in = u >= -0.5 && u < RW - 0.5 && v >= -0.5 && v < RH - 0.5;
            int sq = u > 45 && u < 75 && v > 30 && v < 60;
            unsigned char px[3] = { 0, 0, 0 };
            if (in)
                px[0] = px[1] = px[2] = sq ? 220 : 140;
            fwrite(px, 1, 3, f);
        }
    return finish(f, path);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: mkseeds OUTDIR\n", stderr);
        return 2;
    }
    outdir = argv[1];
    int bad = 0;
    bad |= write_png("grey8.png", PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, 0);
    bad |= write_png("grey1.png", PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, 0);
    bad |= write_png("grey2-trns.png", PNG_COLOR_TYPE_GRAY, 2, PNG_INTERLACE_NONE, 1);
    bad |= write_png("grey16.png", PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, 0);
    bad |= write_png("greyalpha8.png", PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, 0);
    bad |= write_png("rgb8-adam7.png", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, 0);
    bad |= write_png("rgb8-trns.png", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, 1);
    bad |= write_png("rgb16.png", PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE, 0);
    bad |= write_png("rgba16.png", PNG_COLOR_TYPE_RGB_ALPHA, 16, PNG_INTERLACE_NONE, 0);
    bad |= write_png("rgba8.png", PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE, 0);
    bad |= write_png("palette4.png", PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_NONE, 0);
    bad |= write_png("palette4-trns.png", PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_NONE, 1);
    bad |= write_pnm("grey.pgm", 1, 255, "");
    bad |= write_pnm("rgb.ppm", 3, 255, "# a comment\n");
    bad |= write_pnm("rgb16.ppm", 3, 65535, "");
    bad |= write_pnm("grey-max7.pgm", 1, 7, "");
    bad |= write_jpeg("grey.jpg", 1, 0);
    bad |= write_jpeg("progressive.jpg", 0, TJFLAG_PROGRESSIVE);
    bad |= write_rotated("rotated.ppm", 0);
    bad |= write_rotated("rotated-grown.ppm", 1);
    return bad ? 1 : 0;
}
