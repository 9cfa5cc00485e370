/* decode_jxl.c - JPEG XL images through libjxl's decoder API.
 *
 * Debian's ImageMagick 6 cannot read JPEG XL, so the reference is djxl's PNG
 * (Debian libjxl-tools, `djxl F ref.png`) as phmatch's PNG decoder reads it.
 * djxl writes the first displayed frame (frames coalesced, orientation
 * applied) in libjxl's default output colour space, 8-bit samples for
 * images of up to 8 bits and 16-bit samples for deeper ones, grey as grey
 * and alpha as a channel that the PNG decoder drops. We ask libjxl for the
 * same: grey or RGB without alpha, 8-bit samples, or 16-bit samples scaled
 * to 8 bits by round(v * 255 / 65535) as libpng's png_set_scale_16 does.
 * With a background set (phm_decoder_set_background) an image with alpha
 * is asked for with its alpha channel too, 8- or 16-bit as above, and
 * composited over the background: straight alpha as the other formats'
 * (phm__composite), premultiplied alpha (alpha_premultiplied: libjxl
 * gives the colours as stored, multiplied) by the formula for that,
 * v' = min(255, (vp 255 + g (255 - a) + 127) / 255).
 *
 * One thread (no parallel runner): phmatch runs a decoder per worker
 * thread. The size from the basic info is checked against the pixel limit
 * before any pixel buffer exists; input that ends before the first frame
 * is complete is corrupt. */
#include <stdio.h>
#include <string.h>

#include <jxl/decode.h>

#include "decode_internal.h"
#include "dynlib.h"

typedef struct jxl_run {
    const phm__jxl_lib *H;
    JxlDecoder *dec;
    JxlBasicInfo info;
    JxlPixelFormat fmt;
    uint64_t width, height; /* after orientation */
} jxl_run;

/* Feeds the whole input and runs the decoder up to the basic info. */
static int jxl_start(jxl_run *r, const uint8_t *data, size_t len, int events,
                     const char *name, char *err, size_t errlen)
{
    const phm__jxl_lib *H = r->H = phm__jxl_lib_get(name, err, errlen);
    if (!H)
        return PHM_ERR_UNSUPPORTED;
    r->dec = H->JxlDecoderCreate(NULL);
    if (!r->dec)
        return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "cannot start the JPEG XL decoder");
    if (H->JxlDecoderSubscribeEvents(r->dec, events) != JXL_DEC_SUCCESS ||
        H->JxlDecoderSetInput(r->dec, data, len) != JXL_DEC_SUCCESS)
        return phm__fail(PHM_ERR_INTERNAL, err, errlen, name,
                         "cannot set up the JPEG XL decoder");
    /* The input is not closed: with all of the file given, libjxl asking
     * for more means the file is cut short. */
    JxlDecoderStatus st = H->JxlDecoderProcessInput(r->dec);
    if (st == JXL_DEC_NEED_MORE_INPUT)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "premature end of data (JPEG XL header)");
    if (st != JXL_DEC_BASIC_INFO || H->JxlDecoderGetBasicInfo(r->dec, &r->info) != JXL_DEC_SUCCESS)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "invalid JPEG XL header");
    /* With the orientation applied (libjxl's default, and djxl's), the
     * basic info gives the oriented size: 5 to 8 have their sides swapped
     * already (tests/cli/format_jxl.sh, EXIF orientation 6). */
    r->width = r->info.xsize;
    r->height = r->info.ysize;
    return PHM_OK;
}

int phm__decode_jxl(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                    phm_image *img, char *err, size_t errlen)
{
    jxl_run r = { 0 };
    int rc = jxl_start(&r, data, len, JXL_DEC_BASIC_INFO | JXL_DEC_FULL_IMAGE, name, err,
                       errlen);
    if (rc)
        goto out;

    uint32_t channels = r.info.num_color_channels == 1 ? 1 : 3;
    int deep = r.info.bits_per_sample > 8;
    /* alpha asked for only to composite it */
    int composite = dec->background != PHM_BACKGROUND_NONE && r.info.alpha_bits > 0;
    uint32_t decoded = composite ? channels + 1 : channels;
    size_t bytes;
    rc = phm__check_dims(dec, name, r.width, r.height, decoded * (deep ? 2u : 1u), &bytes,
                         err, errlen);
    if (rc)
        goto out;
    r.fmt = (JxlPixelFormat){ decoded, deep ? JXL_TYPE_UINT16 : JXL_TYPE_UINT8,
                              JXL_NATIVE_ENDIAN, 0 };

    uint8_t *px = NULL;
    for (;;) {
        JxlDecoderStatus st = r.H->JxlDecoderProcessInput(r.dec);
        if (st == JXL_DEC_NEED_IMAGE_OUT_BUFFER) {
            size_t need = 0;
            if (r.H->JxlDecoderImageOutBufferSize(r.dec, &r.fmt, &need) != JXL_DEC_SUCCESS ||
                need != bytes) {
                rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                               "JPEG XL frame does not match the image size");
                goto out;
            }
            px = phm__pixels(dec, bytes);
            if (!px) {
                rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
                goto out;
            }
            if (r.H->JxlDecoderSetImageOutBuffer(r.dec, &r.fmt, px, bytes) != JXL_DEC_SUCCESS) {
                rc = phm__fail(PHM_ERR_INTERNAL, err, errlen, name,
                               "libjxl refused the output buffer");
                goto out;
            }
        } else if (st == JXL_DEC_FULL_IMAGE) {
            break; /* the first frame: done */
        } else if (st == JXL_DEC_NEED_MORE_INPUT) {
            rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "premature end of data");
            goto out;
        } else if (st == JXL_DEC_SUCCESS) {
            rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "JPEG XL file without a frame");
            goto out;
        } else if (st == JXL_DEC_ERROR) {
            rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "invalid JPEG XL data");
            goto out;
        } /* other events are not subscribed to; go on */
    }
    if (!px) {
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "JPEG XL frame without pixels");
        goto out;
    }
    size_t samples = (size_t)r.width * (size_t)r.height * decoded;
    if (deep) {
        /* In place, front to back: sample i is written at byte i after it
         * was read from bytes 2i and 2i + 1. */
        for (size_t i = 0; i < samples; i++) {
            uint16_t v;
            memcpy(&v, px + 2 * i, 2);
            px[i] = (uint8_t)(((uint32_t)v * 255u + 32895u) >> 16);
        }
    }
    if (composite) {
        size_t npix = (size_t)r.width * (size_t)r.height;
        dec->composited =
            r.info.alpha_premultiplied
                ? phm__composite_premultiplied(px, npix, channels, dec->background)
                : phm__composite(px, npix, channels, dec->background);
    }
    img->pixels = px;
    img->width = (uint32_t)r.width;
    img->height = (uint32_t)r.height;
    img->channels = channels;
    img->stride = (size_t)r.width * channels;
    img->format = PHM_FORMAT_JXL;
out:
    if (r.dec)
        r.H->JxlDecoderDestroy(r.dec);
    return rc;
}

int phm__jxl_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                   uint32_t *h, char *err, size_t errlen)
{
    jxl_run r = { 0 };
    int rc = jxl_start(&r, data, len, JXL_DEC_BASIC_INFO, name, err, errlen);
    if (rc == PHM_OK) {
        *w = (uint32_t)r.width;
        *h = (uint32_t)r.height;
    }
    if (r.dec)
        r.H->JxlDecoderDestroy(r.dec);
    return rc;
}

void phm__jxl_version(char *out, size_t len)
{
    char why[PHM_ERRMSG_MAX];
    const phm__jxl_lib *H = phm__jxl_lib_get("libjxl", why, sizeof why);
    if (!H) {
        snprintf(out, len, "libjxl unavailable (%s)", why);
        return;
    }
    uint32_t v = H->JxlDecoderVersion();
    snprintf(out, len, "libjxl %u.%u.%u", v / 1000000, v / 1000 % 1000, v % 1000);
}
