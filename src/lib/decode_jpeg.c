/* decode_jpeg.c - what the JPEG paths share besides the decoder itself
 * (decode_jpeg_stream.c decodes, whole or streaming).
 *
 * Adobe CMYK/YCCK JPEGs become RGB as libjpeg-turbo's djpeg and the
 * reference do. */
#include "decode_internal.h"

void phm__cmyk_to_rgb(uint8_t *p, size_t npixels)
{
    for (size_t i = 0; i < npixels; i++) {
        const uint8_t *s = p + 4 * i;
        uint8_t c = s[0], m = s[1], y = s[2], k = s[3];
        uint8_t *d = p + 3 * i;
        d[0] = (uint8_t)(c * k / 255.0 + 0.5);
        d[1] = (uint8_t)(m * k / 255.0 + 0.5);
        d[2] = (uint8_t)(y * k / 255.0 + 0.5);
    }
}
