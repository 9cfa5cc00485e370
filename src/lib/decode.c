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
    default: return "unknown";
    }
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
    return PHM_FORMAT_UNKNOWN;
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
    if (limits && limits->max_pixels)
        dec->limits.max_pixels = limits->max_pixels;
    if (limits && limits->max_file_bytes)
        dec->limits.max_file_bytes = limits->max_file_bytes;
    return PHM_OK;
}

void phm_decoder_free(phm_decoder *dec)
{
    if (!dec)
        return;
    free(dec->pixels);
    free(dec->file);
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
    return freed;
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
    default:
        return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                         "not a JPEG, PNG or PNM image");
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
    default:
        return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                         "not a JPEG, PNG or PNM image");
    }
    if (rc < 0)
        memset(img, 0, sizeof *img);
    return rc;
}

int phm__read_file(phm_decoder *dec, const char *path, char *err, size_t errlen)
{
    dec->file_len = 0;
    return phm_file_read(path, 0, dec->limits.max_file_bytes, &dec->file, &dec->file_cap,
                         &dec->file_len, err, errlen);
}

int phm_decode_file(phm_decoder *dec, const char *path, phm_image *img,
                    char *err, size_t errlen)
{
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
    snprintf(out, len, "libjpeg-turbo %s, libpng %u.%u.%u",
             STR(LIBJPEG_TURBO_VERSION), (unsigned)(v / 10000),
             (unsigned)(v / 100 % 100), (unsigned)(v % 100));
}
