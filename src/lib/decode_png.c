/* decode_png.c - PNG through libpng's progressive-free classic API.
 *
 * Every colour type and bit depth: palettes expanded to RGB, 1/2/4-bit grey
 * expanded to 0..255, 16-bit scaled (not truncated) to 8-bit. Alpha and
 * tRNS are ignored by default, as the PDQ reference does; with a
 * background set (phm_decoder_set_background) they are composited over it
 * instead. Grey stays one channel so that luma is exactly the grey value. */
#include <setjmp.h>
#include <string.h>

#include <png.h>

#include "decode_internal.h"

typedef struct png_source {
    const uint8_t *data;
    size_t len, pos;
    char message[160]; /* libpng's last error or warning */
} png_source;

static void on_read(png_structp png, png_bytep out, size_t n)
{
    png_source *src = png_get_io_ptr(png);
    if (n > src->len - src->pos)
        png_error(png, "premature end of data");
    memcpy(out, src->data + src->pos, n);
    src->pos += n;
}

static void on_error(png_structp png, png_const_charp msg)
{
    png_source *src = png_get_error_ptr(png);
    snprintf(src->message, sizeof src->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* ancillary-chunk trouble: libpng carries on and so do we */
}

int phm__decode_png(phm_decoder *dec, const uint8_t *data, size_t len,
                    const char *name, phm_image *img, char *err, size_t errlen)
{
    /* The size check comes first, from IHDR's bytes: libpng itself reads on
     * to the image data before reporting dimensions, so a file cut after a
     * hostile header would otherwise be called corrupt, not too large. */
    if (len >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        uint64_t w = (uint64_t)data[16] << 24 | (uint64_t)data[17] << 16 |
                     (uint64_t)data[18] << 8 | data[19];
        uint64_t h = (uint64_t)data[20] << 24 | (uint64_t)data[21] << 16 |
                     (uint64_t)data[22] << 8 | data[23];
        size_t bytes;
        int dims = phm__check_dims(dec, name, w, h, 1, &bytes, err, errlen);
        if (dims == PHM_ERR_TOO_LARGE)
            return dims;
    }

    png_source src = { data, len, 0, "" };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error,
                                             on_warning);
    if (!png)
        return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "cannot start the PNG decoder");
    png_infop info = png_create_info_struct(png);
    volatile int rc = PHM_OK;
    if (!info) {
        rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "cannot start the PNG decoder");
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s",
                       src.message[0] ? src.message : "malformed PNG");
        goto out;
    }
    png_set_read_fn(png, &src, on_read);
    /* Dimensions are checked against our own pixel limit below; these keep
     * libpng from buffering huge ancillary chunks. */
    png_set_user_limits(png, 0x7fffffffu, 0x7fffffffu);
    png_set_chunk_malloc_max(png, 8u << 20);
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info);
    png_uint_32 h = png_get_image_height(png, info);
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    uint32_t channels = (color & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    size_t bytes;
    int dims = phm__check_dims(dec, name, w, h, channels, &bytes, err, errlen);
    if (dims) {
        rc = dims;
        goto out;
    }

    /* Transparency to composite: an alpha channel, or a tRNS chunk (a
     * palette's alphas, or the one grey or RGB colour that is clear). */
    int composite = dec->background != PHM_BACKGROUND_NONE &&
                    ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS));
    /* Each row as decoded: with alpha after the colour when compositing. */
    uint32_t decoded = composite ? channels + 1 : channels;
    if (composite) {
        /* The same pixel count as checked above; only the bytes differ. */
        dims = phm__check_dims(dec, name, w, h, decoded, &bytes, err, errlen);
        if (dims) {
            rc = dims;
            goto out;
        }
    }

    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16)
        png_set_scale_16(png); /* alpha too */
    if (composite) {
        /* Palette expansion already turns tRNS into alpha; grey and RGB
         * need asking. */
        if (!(color & PNG_COLOR_MASK_ALPHA))
            png_set_tRNS_to_alpha(png);
    } else {
        /* Always without a background: palette expansion turns a tRNS
         * chunk into an alpha channel too, and the reference ignores
         * transparency either way. */
        png_set_strip_alpha(png);
    }
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * decoded) {
        rc = phm__fail(PHM_ERR_INTERNAL, err, errlen, name,
                       "unexpected PNG row size after conversion");
        goto out;
    }

    uint8_t *px = phm__pixels(dec, bytes);
    if (!px) {
        rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        goto out;
    }
    /* Row by row, pass by pass: no array of h row pointers to allocate. */
    for (int p = 0; p < passes; p++)
        for (png_uint_32 y = 0; y < h; y++)
            png_read_row(png, px + (size_t)y * w * decoded, NULL);
    /* After the last pass: only then are an interlaced image's rows whole. */
    int mixed = composite && phm__composite(px, (size_t)w * h, channels, dec->background);

    img->pixels = px;
    img->width = w;
    img->height = h;
    img->channels = channels;
    img->stride = (size_t)w * channels;
    img->format = PHM_FORMAT_PNG;
    dec->composited = mixed;
out:
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    return rc;
}
