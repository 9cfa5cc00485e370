/* pixel.h - library-internal: a computed value back to an 8-bit sample. */
#ifndef PHM_PIXEL_H
#define PHM_PIXEL_H

#include <stdint.h>

/* v clamped to 0..255 and rounded half away from zero: exactly
 * (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v)), NaN giving 0, but
 * inlined. lround is a libm call (it may set errno), and the edits and
 * the de-rotation make one for every channel of every pixel (11 % of
 * `index add --augment`). v - (long)v is exact below 2^31, so the
 * halfway test is lround's; tests/unit/test_index_variants.c compares
 * the two. The pixels, and so the stored variants' hashes, are the same. */
static inline uint8_t phm__px(double v)
{
    if (!(v > 0))
        return 0;
    if (v >= 255)
        return 255;
    long r = (long)v;
    return (uint8_t)(r + (v - (double)r >= 0.5));
}

#endif
