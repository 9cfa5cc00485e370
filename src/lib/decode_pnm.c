/* decode_pnm.c - binary PNM (P5 grey, P6 RGB), so that any decoder phmatch
 * does not link can pipe frames in (e.g. `ffmpeg ... -f image2pipe -c:v ppm`).
 * Samples with maxval other than 255 are scaled to 0..255, rounded. */
#include <string.h>

#include "decode_internal.h"

/* Reads one header integer after whitespace and '#' comments. */
static int header_uint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    size_t i = *pos;
    for (;;) {
        while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' ||
                           p[i] == '\r' || p[i] == '\v' || p[i] == '\f'))
            i++;
        if (i < len && p[i] == '#') {
            while (i < len && p[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    if (i >= len || p[i] < '0' || p[i] > '9')
        return -1;
    uint64_t v = 0;
    while (i < len && p[i] >= '0' && p[i] <= '9') {
        v = v * 10 + (uint64_t)(p[i] - '0');
        if (v > UINT32_MAX)
            return -1;
        i++;
    }
    *pos = i;
    *out = v;
    return 0;
}

int phm__pnm_header(const uint8_t *data, size_t len, uint64_t *w, uint64_t *h,
                    uint64_t *maxval, size_t *pos)
{
    *pos = 2;
    return header_uint(data, len, pos, w) || header_uint(data, len, pos, h) ||
                   header_uint(data, len, pos, maxval)
               ? -1
               : 0;
}

int phm__decode_pnm(phm_decoder *dec, const uint8_t *data, size_t len,
                    const char *name, phm_image *img, char *err, size_t errlen)
{
    const uint32_t channels = data[1] == '6' ? 3 : 1;
    size_t pos;
    uint64_t w, h, maxval;
    if (phm__pnm_header(data, len, &w, &h, &maxval, &pos))
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "malformed PNM header");
    if (maxval == 0 || maxval > 65535)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "PNM maxval %llu is not in 1..65535", (unsigned long long)maxval);
    if (pos >= len)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "PNM has no pixel data");
    pos++; /* the single whitespace byte that ends the header */

    size_t bytes;
    int rc = phm__check_dims(dec, name, w, h, channels, &bytes, err, errlen);
    if (rc)
        return rc;
    const size_t sample_bytes = maxval > 255 ? 2 : 1;
    if ((len - pos) / sample_bytes < bytes)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "PNM data truncated: %zu of %zu bytes",
                         len - pos, bytes * sample_bytes);
    uint8_t *px = phm__pixels(dec, bytes);
    if (!px)
        return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");

    const uint8_t *s = data + pos;
    if (maxval == 255) {
        memcpy(px, s, bytes);
    } else {
        uint8_t lut[256];
        const uint32_t m = (uint32_t)maxval;
        if (sample_bytes == 1)
            for (uint32_t v = 0; v < 256; v++)
                lut[v] = (uint8_t)(v > m ? 255 : (v * 255 + m / 2) / m);
        for (size_t i = 0; i < bytes; i++) {
            if (sample_bytes == 1) {
                px[i] = lut[s[i]];
            } else {
                uint32_t v = (uint32_t)s[2 * i] << 8 | s[2 * i + 1];
                px[i] = (uint8_t)(v > m ? 255 : (v * 255 + m / 2) / m);
            }
        }
    }
    img->pixels = px;
    img->width = (uint32_t)w;
    img->height = (uint32_t)h;
    img->channels = channels;
    img->stride = (size_t)w * channels;
    img->format = PHM_FORMAT_PNM;
    return PHM_OK;
}
