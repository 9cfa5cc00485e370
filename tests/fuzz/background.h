/*
 * background.h - the fuzz targets' check of transparency composited over
 * a background (phm_decoder_set_background): the bytes decoded over white
 * and over black have the status, size, channels and format of their
 * decode with alpha dropped, and its very pixels wherever nothing was
 * composited; only PNG, WebP, GIF, HEIF/AVIF, JPEG XL, TIFF and BMP
 * composite; the decoder is left with no background. Include after
 * check.h and phmatch.h.
 */
#ifndef FUZZ_BACKGROUND_H
#define FUZZ_BACKGROUND_H

/* Whether format f composites transparency over a background. */
static inline int fuzz_composites(phm_format f)
{
    return f == PHM_FORMAT_PNG || f == PHM_FORMAT_WEBP || f == PHM_FORMAT_GIF ||
           f == PHM_FORMAT_HEIF || f == PHM_FORMAT_AVIF || f == PHM_FORMAT_JXL ||
           f == PHM_FORMAT_TIFF || f == PHM_FORMAT_BMP;
}

/* ref: the decode with alpha dropped (status ref_rc >= 0), its rows packed
 * (width x channels bytes each) in a copy the decodes here cannot touch. */
static inline void check_background(phm_decoder *dec, const uint8_t *data, size_t size,
                                    int ref_rc, const phm_image *ref, const uint8_t *rows)
{
    int can = fuzz_composites(phm_format_detect(data, size));
    size_t row = (size_t)ref->width * ref->channels;
    char err[PHM_ERRMSG_MAX];
    for (int k = 0; k < 2; k++) {
        phm_image img;
        CHECK(phm_decoder_set_background(dec, k ? 0 : 255) == PHM_OK);
        int rc = phm_decode_mem(dec, data, size, "fuzz", &img, err, sizeof err);
        int mixed = phm_decoder_composited(dec);
        CHECK(rc == ref_rc && (!mixed || can));
        CHECK(img.width == ref->width && img.height == ref->height &&
              img.channels == ref->channels && img.format == ref->format);
        for (uint32_t y = 0; !mixed && y < img.height; y++)
            CHECK(memcmp(rows + y * row, img.pixels + y * img.stride, row) == 0);
    }
    CHECK(phm_decoder_set_background(dec, PHM_BACKGROUND_NONE) == PHM_OK);
}

#endif /* FUZZ_BACKGROUND_H */
