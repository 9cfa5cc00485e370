/* decode_heif.c - HEIF/HEIC and AVIF images through libheif.
 *
 * The primary image, with the transformations libheif applies by default
 * (irot, imir, clap), grid images assembled by libheif, alpha ignored
 * (with a background set, phm_decoder_set_background, composited over it:
 * an 8-bit alpha plane libheif gives beside the colour planes, straight
 * or premultiplied as the file says).
 *
 * The pixels are those Debian 12's ImageMagick 6.9.11 gives, which the PDQ
 * reference hashes. Its HEIC coder asks libheif for YCbCr 4:2:0 with
 * convert_hdr_to_8bit set (so 10- and 12-bit images come as 8-bit planes,
 * scaled by libheif), whatever the file's own chroma format, matrix or
 * range; it takes each pixel's chroma from the 4:2:0 planes at (x/2, y/2),
 * and turns YCbCr into RGB with its own full-range BT.601 matrix in double
 * precision on 16-bit samples (v * 257), rounded and clamped to 0..65535;
 * its 8-bit PNG then holds q / 257 rounded down. We ask libheif for the same
 * planes and do the same arithmetic, so the result is equal bit for bit
 * (tests/cli/format_heif.sh). Monochrome files come out as RGB too: the
 * matrix makes G one less than Y there, as ImageMagick's PNG shows. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libheif/heif.h>

#include "decode_internal.h"
#include "dynlib.h"

/* libheif's own per-side limit for every image item it reads (tiles of a
 * grid included); the primary image's size is checked against our pixel
 * limit before decoding. 32768 is libheif 1.15's default. */
#define HEIF_MAX_SIDE 32768

/* libheif 1.15 bounds every item it decodes (grid tiles included) by one
 * side limit only, so an item of limit x limit pixels is allowed: 32768
 * would let one hostile tile take ~3 GB before our check of the primary
 * image's size could help (fuzz_heif met it). The limit is tied to the
 * pixel limit instead: twice its square root (20,000 at the default
 * 100 MP, enough for panoramas of that area), at least 4096, at most
 * libheif's 32768; the worst item is then 4 x max_pixels. */
static uint64_t heif_side_limit(uint64_t max_pixels)
{
    /* r: the least r with r * r >= max_pixels (at most HEIF_MAX_SIDE),
     * from sqrt() and corrected for its rounding: no loop per image. */
    uint64_t r = max_pixels >= (uint64_t)HEIF_MAX_SIDE * HEIF_MAX_SIDE
                     ? HEIF_MAX_SIDE
                     : (uint64_t)sqrt((double)max_pixels);
    while (r * r < max_pixels)
        r++;
    while (r > 1 && (r - 1) * (r - 1) >= max_pixels)
        r--;
    if (r < 1)
        r = 1;
    if (r > HEIF_MAX_SIDE)
        r = HEIF_MAX_SIDE;
    uint64_t side = 2 * r;
    if (side < 4096)
        side = 4096;
    if (side > HEIF_MAX_SIDE)
        side = HEIF_MAX_SIDE;
    return side < max_pixels ? side : max_pixels;
}

static int heif_status(const struct heif_error *e)
{
    if (e->subcode == heif_suberror_Security_limit_exceeded)
        return PHM_ERR_TOO_LARGE;
    if (e->code == heif_error_Unsupported_feature ||
        e->code == heif_error_Unsupported_filetype)
        return PHM_ERR_UNSUPPORTED;
    return PHM_ERR_CORRUPT;
}

static int heif_fail(const struct heif_error *e, char *err, size_t errlen,
                     const char *name)
{
    const char *m = e->message && e->message[0] ? e->message : "malformed HEIF file";
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--; /* some of libheif's messages end in a newline */
    return phm__fail(heif_status(e), err, errlen, name, "%.*s", (int)(n < 1000 ? n : 1000), m);
}

/* Reads the file's boxes and opens its primary image. On success the caller
 * releases *handle and frees *ctx. */
static int heif_open(const phm__heif_lib *H, const uint8_t *data, size_t len, const char *name, uint64_t max_side,
                     struct heif_context **ctx, struct heif_image_handle **handle,
                     char *err, size_t errlen)
{
    *handle = NULL;
    *ctx = H->heif_context_alloc();
    if (!*ctx)
        return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "cannot start the HEIF decoder");
    /* Tiles are decoded in this thread: the callers run one decoder per
     * worker thread already. */
    H->heif_context_set_max_decoding_threads(*ctx, 0);
    /* libheif refuses a side equal to its limit, hence the + 1. */
    H->heif_context_set_maximum_image_size_limit(*ctx, (int)max_side + 1);
    struct heif_error e = H->heif_context_read_from_memory_without_copy(*ctx, data, len, NULL);
    if (e.code == heif_error_Ok)
        e = H->heif_context_get_primary_image_handle(*ctx, handle);
    if (e.code != heif_error_Ok) {
        int rc = heif_fail(&e, err, errlen, name);
        H->heif_context_free(*ctx);
        *ctx = NULL;
        *handle = NULL;
        return rc;
    }
    return PHM_OK;
}

/* Whether the fourcc `fcc` occurs anywhere in data (a box of that type may
 * be there; a match elsewhere costs only a needless check). */
static int has_fourcc(const uint8_t *data, size_t len, const char fcc[4])
{
    for (const uint8_t *p = data; len >= 4;) {
        const uint8_t *q = memchr(p, fcc[0], len - 3);
        if (!q)
            return 0;
        if (memcmp(q, fcc, 4) == 0)
            return 1;
        len -= (size_t)(q + 1 - p);
        p = q + 1;
    }
    return 0;
}

/* A clean aperture ('clap') crops a rectangle of the size it names,
 * centred on the decoded image, whatever that image's size. When the HEVC
 * stream's SPS gives a larger picture than its slices cover (64x96 over
 * slices coded for 64x64), libde265 leaves the rest unwritten without a
 * word and libheif 1.15 reports success: a crop that takes in those rows
 * takes in whatever the heap held (fuzz_heif: two decodes of one file gave
 * different pixels). The result has the announced size, so only the coded
 * size can tell: for a file that may hold a 'clap', the image is decoded
 * once without its transformations first, and refused unless that size is
 * the 'ispe' box's or smaller by less than HEIF_ISPE_PAD in either
 * direction (encoders pad 'ispe' to the codec's block size and crop back
 * with 'clap': 464x464 coded as 462x462, cut to 461x462). An 'ispe' far
 * larger than the coded picture explains nothing and would let a stream
 * whose SPS was enlarged pass with an 'ispe' enlarged to match (64x96 coded
 * under 64x192). (Without a 'clap' a coded size other than the 'ispe'
 * shows in the result's size, checked after the decode.) */
#define HEIF_ISPE_PAD 16
static int heif_check_coded_size(const phm__heif_lib *H, const struct heif_image_handle *handle,
                                 struct heif_decoding_options *opts, const char *name,
                                 char *err, size_t errlen)
{
    struct heif_image *raw = NULL;
    opts->ignore_transformations = 1;
    struct heif_error e = H->heif_decode_image(handle, &raw, heif_colorspace_YCbCr,
                                               heif_chroma_420, opts);
    opts->ignore_transformations = 0;
    if (e.code != heif_error_Ok)
        return heif_fail(&e, err, errlen, name);
    int w = H->heif_image_get_width(raw, heif_channel_Y);
    int h = H->heif_image_get_height(raw, heif_channel_Y);
    H->heif_image_release(raw);
    int iw = H->heif_image_handle_get_ispe_width(handle);
    int ih = H->heif_image_handle_get_ispe_height(handle);
    if (w > iw || h > ih || iw - w >= HEIF_ISPE_PAD || ih - h >= HEIF_ISPE_PAD)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "coded image is %dx%d, its 'ispe' box says %dx%d", w, h, iw, ih);
    return PHM_OK;
}

/* ImageMagick's YCbCr-to-RGB matrix (its ConvertYPbPrToRGB), rows R, G, B;
 * columns Y, Cb - 0.5, Cr - 0.5. */
static const double im_matrix[3][3] = {
    { 0.99999999999914679361, -1.2188941887145875e-06, 1.4019995886561440468 },
    { 0.99999975910502514331, -0.34413567816504303521, -0.71413649331646789076 },
    { 1.00000124040004623180, 1.77200006607230409200, 2.1453384174593273e-06 },
};

/* The terms of the matrix for every 8-bit sample, computed as ImageMagick
 * computes them (sample * 257 as a 16-bit quantum, times 1/65535), so that
 * a pixel is three additions: the same doubles in the same order. */
typedef struct im_terms {
    double y[3][256], cb[3][256], cr[3][256];
} im_terms;

static void im_terms_init(im_terms *t)
{
    const double scale = 1.0 / 65535.0;
    for (int v = 0; v < 256; v++) {
        double s = scale * (double)(v * 257);
        for (int c = 0; c < 3; c++) {
            t->y[c][v] = im_matrix[c][0] * s;
            t->cb[c][v] = im_matrix[c][1] * (s - 0.5);
            t->cr[c][v] = im_matrix[c][2] * (s - 0.5);
        }
    }
}

/* A channel's value to ImageMagick's 16-bit quantum (rounded, clamped),
 * then to the 8 bits its PNG writer gives (q / 257, rounded down). */
static uint8_t im_channel(double v)
{
    double q = 65535.0 * v;
    if (q <= 0.0)
        return 0;
    if (q >= 65535.0)
        return 255;
    return (uint8_t)((unsigned)(q + 0.5) / 257u);
}

/* px (w x h RGB, the reference's colours) composited over grey g by the
 * alpha plane pa (rows sa bytes apart); with premultiplied colours the
 * background's share is added alone. Nonzero when some alpha was below
 * 255. */
static int heif_composite(uint8_t *px, uint32_t w, uint32_t h, const uint8_t *pa, size_t sa,
                          int premultiplied, uint32_t g)
{
    unsigned all = 255;
    for (uint32_t y = 0; y < h; y++)
        all &= phm__over_grey_rgb(px + (size_t)y * w * 3, pa + (size_t)y * sa, w, (int)g,
                                  premultiplied);
    return all != 255;
}

int phm__decode_heif(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                     phm_image *img, char *err, size_t errlen)
{
    struct heif_context *ctx;
    struct heif_image_handle *handle;
    struct heif_image *him = NULL;
    struct heif_decoding_options *opts = NULL;
    im_terms terms; /* 18 KiB on the stack: no allocation per image */
    uint64_t side = heif_side_limit(dec->limits.max_pixels);
    const phm__heif_lib *H = phm__heif_lib_get(name, err, errlen);
    if (!H)
        return PHM_ERR_UNSUPPORTED;
    int rc = heif_open(H, data, len, name, side, &ctx, &handle, err, errlen);
    if (rc)
        return rc;

    /* The size after the transformations, before any pixel is decoded. */
    int hw = H->heif_image_handle_get_width(handle), hh = H->heif_image_handle_get_height(handle);
    size_t bytes;
    rc = phm__check_dims(dec, name, hw > 0 ? (uint64_t)hw : 0, hh > 0 ? (uint64_t)hh : 0, 3,
                         &bytes, err, errlen);
    if (rc)
        goto out;

    opts = H->heif_decoding_options_alloc();
    if (!opts) {
        rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        goto out;
    }
    opts->convert_hdr_to_8bit = 1;
    if (has_fourcc(data, len, "clap") &&
        (rc = heif_check_coded_size(H, handle, opts, name, err, errlen)))
        goto out;
    struct heif_error e = H->heif_decode_image(handle, &him, heif_colorspace_YCbCr,
                                            heif_chroma_420, opts);
    if (e.code != heif_error_Ok) {
        rc = heif_fail(&e, err, errlen, name);
        him = NULL;
        goto out;
    }

    /* The decoded size must be the announced one: phm_image_probe() (and
     * phmatchd's memory budget) go by the latter. */
    int w = H->heif_image_get_width(him, heif_channel_Y);
    int h = H->heif_image_get_height(him, heif_channel_Y);
    if (w != hw || h != hh) {
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                       "decoded image is %dx%d, its header says %dx%d", w, h, hw, hh);
        goto out;
    }
    int sy, scb, scr;
    const uint8_t *py = H->heif_image_get_plane_readonly(him, heif_channel_Y, &sy);
    const uint8_t *pcb = H->heif_image_get_plane_readonly(him, heif_channel_Cb, &scb);
    const uint8_t *pcr = H->heif_image_get_plane_readonly(him, heif_channel_Cr, &scr);
    /* What libheif promised for 4:2:0 at 8 bits; checked, since the loop
     * below trusts it. */
    uint64_t cw = ((uint64_t)w + 1) / 2, ch = ((uint64_t)h + 1) / 2;
    if (!py || !pcb || !pcr || sy < w || scb < (int)cw || scr < (int)cw ||
        H->heif_image_get_bits_per_pixel(him, heif_channel_Y) != 8 ||
        H->heif_image_get_bits_per_pixel(him, heif_channel_Cb) != 8 ||
        H->heif_image_get_bits_per_pixel(him, heif_channel_Cr) != 8 ||
        (uint64_t)H->heif_image_get_width(him, heif_channel_Cb) < cw ||
        (uint64_t)H->heif_image_get_height(him, heif_channel_Cb) < ch ||
        (uint64_t)H->heif_image_get_width(him, heif_channel_Cr) < cw ||
        (uint64_t)H->heif_image_get_height(him, heif_channel_Cr) < ch) {
        rc = phm__fail(PHM_ERR_INTERNAL, err, errlen, name,
                       "libheif returned unexpected planes for 8-bit YCbCr 4:2:0");
        goto out;
    }

    /* The alpha plane to composite, when there is a background and the
     * plane is what was asked for (8 bits, the image's size); else none. */
    const uint8_t *pa = NULL;
    int sa = 0;
    if (dec->background != PHM_BACKGROUND_NONE && H->heif_image_handle_has_alpha_channel(handle) &&
        H->heif_image_has_channel(him, heif_channel_Alpha) &&
        H->heif_image_get_bits_per_pixel(him, heif_channel_Alpha) == 8 &&
        H->heif_image_get_width(him, heif_channel_Alpha) >= w &&
        H->heif_image_get_height(him, heif_channel_Alpha) >= h) {
        pa = H->heif_image_get_plane_readonly(him, heif_channel_Alpha, &sa);
        if (sa < w)
            pa = NULL;
    }
    uint8_t *px = phm__pixels(dec, bytes);
    if (!px) {
        rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        goto out;
    }
    im_terms_init(&terms);
    for (int y = 0; y < h; y++) {
        const uint8_t *ry = py + (size_t)y * (size_t)sy;
        const uint8_t *rcb = pcb + (size_t)(y / 2) * (size_t)scb;
        const uint8_t *rcr = pcr + (size_t)(y / 2) * (size_t)scr;
        uint8_t *o = px + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w; x++) {
            uint8_t vy = ry[x], vcb = rcb[x / 2], vcr = rcr[x / 2];
            for (int c = 0; c < 3; c++)
                o[c] = im_channel(terms.y[c][vy] + terms.cb[c][vcb] + terms.cr[c][vcr]);
            o += 3;
        }
    }
    if (pa)
        dec->composited = heif_composite(px, (uint32_t)w, (uint32_t)h, pa, (size_t)sa,
                                         H->heif_image_handle_is_premultiplied_alpha(handle),
                                         (uint32_t)dec->background);
    img->pixels = px;
    img->width = (uint32_t)w;
    img->height = (uint32_t)h;
    img->channels = 3;
    img->stride = (size_t)w * 3;
    img->format = phm_format_detect(data, len);
out:
    H->heif_decoding_options_free(opts);
    H->heif_image_release(him);
    H->heif_image_handle_release(handle);
    H->heif_context_free(ctx);
    return rc;
}

int phm__heif_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                    uint32_t *h, char *err, size_t errlen)
{
    struct heif_context *ctx;
    struct heif_image_handle *handle;
    /* No side limit here: the caller compares the size with its own. What
     * libheif still refuses as over its limits (an iloc claiming gigabytes)
     * is a malformed header to a probe, which applies no limit. */
    const phm__heif_lib *H = phm__heif_lib_get(name, err, errlen);
    if (!H)
        return PHM_ERR_UNSUPPORTED;
    int rc = heif_open(H, data, len, name, INT_MAX - 1, &ctx, &handle, err, errlen);
    if (rc)
        return rc == PHM_ERR_TOO_LARGE ? PHM_ERR_CORRUPT : rc;
    int hw = H->heif_image_handle_get_width(handle), hh = H->heif_image_handle_get_height(handle);
    *w = hw > 0 ? (uint32_t)hw : 0;
    *h = hh > 0 ? (uint32_t)hh : 0;
    H->heif_image_handle_release(handle);
    H->heif_context_free(ctx);
    return PHM_OK;
}

void phm__heif_version(char *out, size_t len)
{
    char why[PHM_ERRMSG_MAX];
    const phm__heif_lib *H = phm__heif_lib_get("libheif", why, sizeof why);
    if (H)
        snprintf(out, len, "libheif %s", H->heif_get_version());
    else
        snprintf(out, len, "libheif unavailable (%s)", why);
}
