/* decode.c - the decoder object: format detection by magic bytes, limits,
 * file reading, and dispatch to the per-format decoders. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <png.h>

#include "decode_internal.h"

#include <jconfig.h> /* LIBJPEG_TURBO_VERSION */

#define STR_(x) #x
#define STR(x) STR_(x)

const char *phm_format_name(phm_format f)
{
    switch (f) {
    case PHM_FORMAT_JPEG: return "jpeg";
    case PHM_FORMAT_PNG: return "png";
    case PHM_FORMAT_PNM: return "pnm";
    case PHM_FORMAT_WEBP: return "webp";
    case PHM_FORMAT_GIF: return "gif";
    case PHM_FORMAT_BMP: return "bmp";
    case PHM_FORMAT_TIFF: return "tiff";
    case PHM_FORMAT_HEIF: return "heif";
    case PHM_FORMAT_AVIF: return "avif";
    case PHM_FORMAT_JXL: return "jxl";
    default: return "unknown";
    }
}

/* The sizes of the BMP info headers in use (OS/2 1.x and 2.x, Windows
 * 3.x to 5): a "BM" start alone is too weak a magic for a file name-blind
 * detector. */
static int bmp_header_size_known(const uint8_t *p)
{
    uint32_t n = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    return n == 12 || n == 16 || n == 40 || n == 52 || n == 56 || n == 64 ||
           n == 108 || n == 124;
}

/* An ISO-BMFF file (`ftyp` box first) is a HEIF or AVIF image when its major
 * brand or a compatible brand is an image brand; MP4 and QuickTime videos
 * list none, and go to the video path. AVIF wins over HEIF when both are
 * listed, since an AVIF file's images are AV1. */
static phm_format detect_bmff(const uint8_t *p, size_t len)
{
    if (len < 16 || memcmp(p + 4, "ftyp", 4) != 0)
        return PHM_FORMAT_UNKNOWN;
    size_t box = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (box < 16)
        return PHM_FORMAT_UNKNOWN;
    if (box > len)
        box = len;
    int heif = 0, avif = 0;
    for (size_t at = 8; at + 4 <= box; at += at == 8 ? 8 : 4) {
        const uint8_t *b = p + at;
        if (memcmp(b, "avif", 4) == 0 || memcmp(b, "avis", 4) == 0)
            avif = 1;
        else if (memcmp(b, "heic", 4) == 0 || memcmp(b, "heix", 4) == 0 ||
                 memcmp(b, "heim", 4) == 0 || memcmp(b, "heis", 4) == 0 ||
                 memcmp(b, "hevc", 4) == 0 || memcmp(b, "hevx", 4) == 0 ||
                 memcmp(b, "mif1", 4) == 0 || memcmp(b, "msf1", 4) == 0)
            heif = 1;
    }
    return avif ? PHM_FORMAT_AVIF : heif ? PHM_FORMAT_HEIF : PHM_FORMAT_UNKNOWN;
}

phm_format phm_format_detect(const void *data, size_t len)
{
    const uint8_t *p = data;
    if (!p)
        return PHM_FORMAT_UNKNOWN;
    if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return PHM_FORMAT_JPEG;
    if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return PHM_FORMAT_PNG;
    if (len >= 3 && p[0] == 'P' && (p[1] == '5' || p[1] == '6') &&
        (p[2] == ' ' || p[2] == '\t' || p[2] == '\n' || p[2] == '\r' || p[2] == '#'))
        return PHM_FORMAT_PNM;
    if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return PHM_FORMAT_WEBP;
    if (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
        return PHM_FORMAT_GIF;
    if (len >= 18 && p[0] == 'B' && p[1] == 'M' && bmp_header_size_known(p + 14))
        return PHM_FORMAT_BMP;
    if (len >= 4 && (memcmp(p, "II*\0", 4) == 0 || memcmp(p, "MM\0*", 4) == 0 ||
                     memcmp(p, "II+\0", 4) == 0 || memcmp(p, "MM\0+", 4) == 0))
        return PHM_FORMAT_TIFF;
    if ((len >= 2 && p[0] == 0xff && p[1] == 0x0a) ||
        (len >= 12 && memcmp(p, "\0\0\0\x0cJXL \r\n\x87\n", 12) == 0))
        return PHM_FORMAT_JXL;
    return detect_bmff(p, len);
}

int phm__fail(int status, char *err, size_t errlen, const char *name,
              const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "cannot decode '%s': ", name ? name : "(memory)");
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return status;
}

int phm__check_dims(const phm_decoder *dec, const char *name, uint64_t width,
                    uint64_t height, uint32_t channels, size_t *bytes,
                    char *err, size_t errlen)
{
    if (width == 0 || height == 0)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "image has a zero dimension (%llux%llu)",
                         (unsigned long long)width, (unsigned long long)height);
    /* Both factors fit in 32 bits, so the product cannot overflow 64. */
    if (width > UINT32_MAX || height > UINT32_MAX ||
        width * height > dec->limits.max_pixels)
        return phm__fail(PHM_ERR_TOO_LARGE, err, errlen, name,
                         "%llux%llu pixels is over the limit of %llu",
                         (unsigned long long)width, (unsigned long long)height,
                         (unsigned long long)dec->limits.max_pixels);
    uint64_t b = width * height * channels;
    if (b > SIZE_MAX)
        return phm__fail(PHM_ERR_TOO_LARGE, err, errlen, name,
                         "image does not fit in memory");
    *bytes = (size_t)b;
    return PHM_OK;
}

/* One block of phm__composite: separate buffers (restrict) and a constant
 * pixel size, so that the compiler can vectorise it. Exact for every a:
 * 255 gives v, 0 gives g. */
static unsigned over_grey(const uint8_t *restrict in, uint8_t *restrict out, size_t n,
                          uint32_t channels, uint32_t g)
{
    unsigned all = 255;
    if (channels == 3) {
        for (size_t i = 0; i < n; i++) {
            uint32_t a = in[4 * i + 3], b = (255 - a) * g + 127;
            out[3 * i] = (uint8_t)((in[4 * i] * a + b) / 255);
            out[3 * i + 1] = (uint8_t)((in[4 * i + 1] * a + b) / 255);
            out[3 * i + 2] = (uint8_t)((in[4 * i + 2] * a + b) / 255);
            all &= a;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t a = in[2 * i + 1];
            out[i] = (uint8_t)((in[2 * i] * a + (255 - a) * g + 127) / 255);
            all &= a;
        }
    }
    return all;
}

/* over_grey for premultiplied colours vp (colour times alpha, stored so):
 * v' = (vp 255 + g (255 - a) + 127) / 255, which is vp + (g (255 - a) +
 * 127) / 255 since vp 255 divides exactly; at most 255, as a decoder's
 * rounding may leave vp above a. */
static unsigned over_grey_premultiplied(const uint8_t *restrict in, uint8_t *restrict out,
                                        size_t n, uint32_t channels, uint32_t g)
{
    unsigned all = 255;
    const size_t step = (size_t)channels + 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t a = in[step * i + channels], b = ((255 - a) * g + 127) / 255;
        for (uint32_t c = 0; c < channels; c++) {
            uint32_t v = in[step * i + c] + b;
            out[channels * i + c] = (uint8_t)(v < 255 ? v : 255);
        }
        all &= a;
    }
    return all;
}

unsigned phm__over_grey_rgb(uint8_t *rgb, const uint8_t *alpha, size_t n, int grey,
                           int premultiplied)
{
    const uint32_t g = (uint32_t)grey;
    unsigned all = 255;
    for (size_t i = 0; i < n; i++, rgb += 3) {
        uint32_t a = alpha[i], b = (255 - a) * g + 127;
        all &= a;
        for (int c = 0; c < 3; c++) {
            uint32_t v = premultiplied ? rgb[c] + b / 255 : (rgb[c] * a + b) / 255;
            rgb[c] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    return all;
}

static unsigned drop_alpha(const uint8_t *restrict in, uint8_t *restrict out, size_t n,
                           uint32_t channels)
{
    unsigned all = 255;
    if (channels == 3) {
        for (size_t i = 0; i < n; i++) {
            out[3 * i] = in[4 * i];
            out[3 * i + 1] = in[4 * i + 1];
            out[3 * i + 2] = in[4 * i + 2];
            all &= in[4 * i + 3];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            out[i] = in[2 * i];
            all &= in[2 * i + 1];
        }
    }
    return all;
}

/* phm__composite and phm__composite_premultiplied: which blend, block by
 * block. */
static int composite_blocks(uint8_t *px, size_t npix, uint32_t channels, int grey,
                            int premultiplied)
{
    /* A block's input is copied out first: in place, the output of the
     * first blocks overlaps their own input, and a copy in the cache
     * costs less than the scalar loop aliasing would force. */
    enum { BLOCK = 1024 };
    uint8_t in[BLOCK * 4];
    const size_t step = (size_t)channels + 1;
    unsigned all = 255;
    for (size_t i = 0; i < npix; i += BLOCK) {
        size_t n = npix - i < BLOCK ? npix - i : BLOCK;
        memcpy(in, px + i * step, n * step);
        uint8_t *out = px + i * channels;
        all &= grey < 0        ? drop_alpha(in, out, n, channels)
               : premultiplied ? over_grey_premultiplied(in, out, n, channels, (uint32_t)grey)
                               : over_grey(in, out, n, channels, (uint32_t)grey);
    }
    return all != 255;
}

int phm__composite(uint8_t *px, size_t npix, uint32_t channels, int grey)
{
    return composite_blocks(px, npix, channels, grey, 0);
}

int phm__composite_premultiplied(uint8_t *px, size_t npix, uint32_t channels, int grey)
{
    return composite_blocks(px, npix, channels, grey, 1);
}

uint8_t *phm__pixels(phm_decoder *dec, size_t bytes)
{
    if (bytes > dec->pixels_cap) {
        /* No realloc: the old pixels are dead, copying them would waste time. */
        free(dec->pixels);
        dec->pixels = malloc(bytes);
        dec->pixels_cap = dec->pixels ? bytes : 0;
    }
    return dec->pixels;
}

int phm_decoder_new(phm_decoder **out, const phm_decode_limits *limits)
{
    if (!out)
        return PHM_ERR_INVALID;
    phm_decoder *dec = calloc(1, sizeof *dec);
    *out = dec;
    if (!dec)
        return PHM_ERR_NOMEM;
    dec->limits.max_pixels = PHM_DEFAULT_MAX_PIXELS;
    dec->limits.max_file_bytes = PHM_DEFAULT_MAX_FILE_BYTES;
    dec->background = PHM_BACKGROUND_NONE;
    if (limits && limits->max_pixels)
        dec->limits.max_pixels = limits->max_pixels;
    if (limits && limits->max_file_bytes)
        dec->limits.max_file_bytes = limits->max_file_bytes;
    return PHM_OK;
}

int phm_decoder_set_background(phm_decoder *dec, int grey)
{
    if (!dec || grey < PHM_BACKGROUND_NONE || grey > 255)
        return PHM_ERR_INVALID;
    dec->background = grey;
    return PHM_OK;
}

int phm_decoder_composited(const phm_decoder *dec)
{
    return dec ? dec->composited : 0;
}

void phm_decoder_free(phm_decoder *dec)
{
    if (!dec)
        return;
    free(dec->pixels);
    free(dec->file);
    free(dec->thumb);
    free(dec->acc);
    free(dec);
}

size_t phm_decoder_trim(phm_decoder *dec, size_t keep_bytes)
{
    size_t freed = 0;
    if (!dec)
        return 0;
    if (dec->pixels_cap > keep_bytes) {
        freed += dec->pixels_cap;
        free(dec->pixels);
        dec->pixels = NULL;
        dec->pixels_cap = 0;
    }
    if (dec->file_cap > keep_bytes) {
        freed += dec->file_cap;
        free(dec->file);
        dec->file = NULL;
        dec->file_cap = 0;
    }
    dec->file_len = 0;
    if (dec->thumb_cap + dec->acc_cap * sizeof *dec->acc > keep_bytes) {
        freed += dec->thumb_cap + dec->acc_cap * sizeof *dec->acc;
        free(dec->thumb);
        free(dec->acc);
        dec->thumb = NULL;
        dec->acc = NULL;
        dec->thumb_cap = dec->acc_cap = 0;
    }
    return freed;
}

#define UNSUPPORTED                                                              \
    "not an image format phmatch reads (JPEG, PNG, PNM, WebP, GIF, BMP, TIFF, " \
    "HEIF/HEIC, AVIF, JPEG XL)"

static int probe_other(phm_format f, const uint8_t *p, size_t len, const char *name,
                       uint32_t *w, uint32_t *h, char *err, size_t errlen)
{
    switch (f) {
    case PHM_FORMAT_WEBP: return phm__webp_probe(p, len, name, w, h, err, errlen);
    case PHM_FORMAT_GIF: return phm__gif_probe(p, len, name, w, h, err, errlen);
    case PHM_FORMAT_BMP: return phm__bmp_probe(p, len, name, w, h, err, errlen);
    case PHM_FORMAT_TIFF: return phm__tiff_probe(p, len, name, w, h, err, errlen);
    case PHM_FORMAT_HEIF:
    case PHM_FORMAT_AVIF: return phm__heif_probe(p, len, name, w, h, err, errlen);
    case PHM_FORMAT_JXL: return phm__jxl_probe(p, len, name, w, h, err, errlen);
    default: return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "%s", UNSUPPORTED);
    }
}

int phm_image_probe(const void *data, size_t len, const char *name, phm_image_info *info,
                    char *err, size_t errlen)
{
    const uint8_t *p = data;
    uint64_t w = 0, h = 0;
    int rc = PHM_OK;

    if (err && errlen)
        err[0] = '\0';
    if (!info)
        return PHM_ERR_INVALID;
    memset(info, 0, sizeof *info);
    if (!data && len)
        return PHM_ERR_INVALID;
    phm_format f = phm_format_detect(data, len);
    switch (f) {
    case PHM_FORMAT_JPEG: {
        uint32_t jw = 0, jh = 0;
        rc = phm__jpeg_probe(p, len, name, &jw, &jh, err, errlen);
        w = jw;
        h = jh;
        break;
    }
    case PHM_FORMAT_PNG:
        /* IHDR is the first chunk, as libpng requires and decode_png.c reads. */
        if (len < 24 || memcmp(p + 12, "IHDR", 4) != 0)
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "PNG without an IHDR chunk");
        w = (uint64_t)p[16] << 24 | (uint64_t)p[17] << 16 | (uint64_t)p[18] << 8 | p[19];
        h = (uint64_t)p[20] << 24 | (uint64_t)p[21] << 16 | (uint64_t)p[22] << 8 | p[23];
        break;
    case PHM_FORMAT_PNM: {
        uint64_t maxval;
        size_t pos;
        if (phm__pnm_header(p, len, &w, &h, &maxval, &pos))
            return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "malformed PNM header");
        break;
    }
    case PHM_FORMAT_WEBP:
    case PHM_FORMAT_GIF:
    case PHM_FORMAT_BMP:
    case PHM_FORMAT_TIFF:
    case PHM_FORMAT_HEIF:
    case PHM_FORMAT_AVIF:
    case PHM_FORMAT_JXL: {
        uint32_t fw = 0, fh = 0;
        rc = probe_other(f, p, len, name, &fw, &fh, err, errlen);
        w = fw;
        h = fh;
        break;
    }
    default:
        return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "%s", UNSUPPORTED);
    }
    if (rc != PHM_OK)
        return rc;
    if (w == 0 || h == 0 || w > UINT32_MAX || h > UINT32_MAX)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "image has an invalid size (%llux%llu)", (unsigned long long)w,
                         (unsigned long long)h);
    info->width = (uint32_t)w;
    info->height = (uint32_t)h;
    info->format = f;
    return PHM_OK;
}

int phm_decode_mem(phm_decoder *dec, const void *data, size_t len,
                   const char *name, phm_image *img, char *err, size_t errlen)
{
    /* First: every way out, failures included, leaves it 0 unless the
     * format's decoder composited. */
    if (dec)
        dec->composited = 0;
    if (err && errlen)
        err[0] = '\0';
    if (!img)
        return PHM_ERR_INVALID;
    memset(img, 0, sizeof *img);
    if (!dec || (!data && len))
        return PHM_ERR_INVALID;
    if (len == 0)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "empty input");

    int rc;
    switch (phm_format_detect(data, len)) {
    case PHM_FORMAT_JPEG:
        rc = phm__decode_jpeg(dec, data, len, name, img, err, errlen);
        break;
    case PHM_FORMAT_PNG:
        rc = phm__decode_png(dec, data, len, name, img, err, errlen);
        break;
    case PHM_FORMAT_PNM:
        rc = phm__decode_pnm(dec, data, len, name, img, err, errlen);
        break;
    case PHM_FORMAT_WEBP:
        rc = phm__decode_webp(dec, data, len, name, img, err, errlen);
        break;
    case PHM_FORMAT_GIF:
        rc = phm__decode_gif(dec, data, len, name, img, err, errlen);
        break;
    case PHM_FORMAT_BMP:
        rc = phm__decode_bmp(dec, data, len, name, img, err, errlen);
        break;
    case PHM_FORMAT_TIFF:
        rc = phm__decode_tiff(dec, data, len, name, img, err, errlen);
        break;
    case PHM_FORMAT_HEIF:
    case PHM_FORMAT_AVIF:
        rc = phm__decode_heif(dec, data, len, name, img, err, errlen);
        break;
    case PHM_FORMAT_JXL:
        rc = phm__decode_jxl(dec, data, len, name, img, err, errlen);
        break;
    default:
        return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "%s", UNSUPPORTED);
    }
    if (rc < 0)
        memset(img, 0, sizeof *img);
    return rc;
}

int phm__read_file(phm_decoder *dec, const char *path, char *err, size_t errlen)
{
    /* A file that cannot be read is a failed decode too. */
    dec->composited = 0;
    dec->file_len = 0;
    return phm_file_read(path, 0, dec->limits.max_file_bytes, &dec->file, &dec->file_cap,
                         &dec->file_len, err, errlen);
}

int phm_decode_file(phm_decoder *dec, const char *path, phm_image *img,
                    char *err, size_t errlen)
{
    if (dec)
        dec->composited = 0;
    if (err && errlen)
        err[0] = '\0';
    if (!dec || !path || !img)
        return PHM_ERR_INVALID;
    memset(img, 0, sizeof *img);
    int rc = phm__read_file(dec, path, err, errlen);
    if (rc)
        return rc;
    return phm_decode_mem(dec, dec->file, dec->file_len, path, img, err, errlen);
}

const uint8_t *phm_decoder_last_bytes(const phm_decoder *dec, size_t *len)
{
    if (len)
        *len = dec ? dec->file_len : 0;
    return dec && dec->file_len ? dec->file : NULL;
}

void phm_decoder_versions(char *out, size_t len)
{
    if (!out || !len)
        return;
    png_uint_32 v = png_access_version_number();
    int n = snprintf(out, len, "libjpeg-turbo %s, libpng %u.%u.%u",
                     STR(LIBJPEG_TURBO_VERSION), (unsigned)(v / 10000),
                     (unsigned)(v / 100 % 100), (unsigned)(v % 100));
    /* Each format's library appends ", name version". */
    void (*const more[])(char *, size_t) = {
        phm__webp_version, phm__gif_version, phm__tiff_version,
        phm__heif_version, phm__jxl_version,
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        if (n < 0 || (size_t)n + 3 >= len)
            return;
        memcpy(out + n, ", ", 3);
        n += 2;
        more[i](out + n, len - (size_t)n);
        n += (int)strlen(out + n);
    }
}
