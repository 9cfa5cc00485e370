/* decode_jpeg.c - JPEG through libjpeg-turbo's TurboJPEG API.
 *
 * TurboJPEG's default flags give the pixels the PDQ golden vectors were made
 * from: accurate integer IDCT and smooth ("fancy") chroma upsampling.
 * Grey JPEGs stay one channel (luma = the grey value, as for grey PNG);
 * CMYK/YCCK become RGB as libjpeg-turbo's djpeg and the reference do. */
#include <string.h>

#include <turbojpeg.h>

#include "decode_internal.h"

void phm__jpeg_free(void *tj)
{
    if (tj)
        tjDestroy(tj);
}

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

int phm__decode_jpeg(phm_decoder *dec, const uint8_t *data, size_t len,
                     const char *name, phm_image *img, char *err, size_t errlen)
{
    if (!dec->tj) {
        dec->tj = tjInitDecompress();
        if (!dec->tj)
            return phm__fail(PHM_ERR_NOMEM, err, errlen, name,
                             "cannot start the JPEG decoder: %s", tjGetErrorStr2(NULL));
    }
    int rc;
    if (len > (unsigned long)-1)
        return phm__fail(PHM_ERR_TOO_LARGE, err, errlen, name, "file too large for TurboJPEG");

    int w = 0, h = 0, subsamp = 0, colorspace = 0;
    if (tjDecompressHeader3(dec->tj, data, (unsigned long)len, &w, &h, &subsamp,
                            &colorspace) != 0) {
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s", tjGetErrorStr2(dec->tj));
        goto reset;
    }

    int pf = TJPF_RGB;
    uint32_t channels = 3, out_channels = 3;
    if (colorspace == TJCS_GRAY) {
        pf = TJPF_GRAY;
        channels = out_channels = 1;
    } else if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
        pf = TJPF_CMYK;
        channels = 4;
    }
    size_t bytes;
    rc = phm__check_dims(dec, name, (uint64_t)(w < 0 ? 0 : w),
                             (uint64_t)(h < 0 ? 0 : h), channels, &bytes, err, errlen);
    if (rc)
        return rc;
    uint8_t *px = phm__pixels(dec, bytes);
    if (!px)
        return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory for %dx%d pixels", w, h);

    /* LIMITSCANS: a progressive file with thousands of scans is a known way
     * to make a decoder spin for minutes on a few kilobytes. */
    rc = PHM_OK;
    if (tjDecompress2(dec->tj, data, (unsigned long)len, px, w, 0, h, pf,
                      TJFLAG_LIMITSCANS) != 0) {
        int warning = tjGetErrorCode(dec->tj) == TJERR_WARNING;
        rc = phm__fail(warning ? PHM_WARN_RECOVERED : PHM_ERR_CORRUPT, err, errlen, name,
                       "%s", tjGetErrorStr2(dec->tj));
        phm__jpeg_free(dec->tj);
        dec->tj = NULL;
        if (!warning)
            return rc;
    }
    if (pf == TJPF_CMYK)
        phm__cmyk_to_rgb(px, (size_t)w * (size_t)h);

    img->pixels = px;
    img->width = (uint32_t)w;
    img->height = (uint32_t)h;
    img->channels = out_channels;
    img->stride = (size_t)w * out_channels;
    img->format = PHM_FORMAT_JPEG;
    return rc;

reset:
    /* TurboJPEG 2.1 leaves a handle that failed mid-header in a state that
     * fails the next, valid, file; a fresh handle costs microseconds. */
    phm__jpeg_free(dec->tj);
    dec->tj = NULL;
    return rc;
}
