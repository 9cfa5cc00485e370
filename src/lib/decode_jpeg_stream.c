/* decode_jpeg_stream.c - JPEG through libjpeg-turbo's libjpeg API, for
 * both JPEG paths: decoded whole (phm_decode_mem, decode_jpeg.c) or row by
 * row straight into the PDQ hasher (phm_hash_mem).
 *
 * One function does both, so the two paths accept, warn about and refuse
 * exactly the same files, as djpeg does: libjpeg's defaults (accurate
 * integer IDCT, smooth upsampling; TurboJPEG's defaults too, which the PDQ
 * golden vectors were made with), a fresh decompressor per image (a reused
 * one keeps the quantization tables of the previous image and would decode
 * a file that has none), the pixel limit from the header, at most 500
 * progressive scans, libjpeg warnings (corrupt data it recovered from)
 * reported as PHM_WARN_RECOVERED and any error, even after warnings, as
 * PHM_ERR_CORRUPT. Streaming, sixteen rows at a time go from the decoder's
 * output to the hasher's filter: the decoded image is never stored whole,
 * so large photos are hashed from cache. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

#include "decode_internal.h"
#include "pdq_internal.h"

#define MAX_SCANS 500

typedef struct jpeg_errors {
    struct jpeg_error_mgr pub; /* first: libjpeg casts to it */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    char warning[JMSG_LENGTH_MAX];
    int warnings;
} jpeg_errors;

static void on_error(j_common_ptr c)
{
    jpeg_errors *e = (jpeg_errors *)c->err;
    (*c->err->format_message)(c, e->message);
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr c, int level)
{
    jpeg_errors *e = (jpeg_errors *)c->err;
    if (level >= 0)
        return; /* trace output */
    if (e->warnings++ == 0)
        (*c->err->format_message)(c, e->warning);
}

/* A progressive file of thousands of tiny scans makes a decoder spin for
 * minutes on a few kilobytes; refuse it as TurboJPEG's LIMITSCANS does. */
static void on_progress(j_common_ptr c)
{
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > MAX_SCANS) {
        jpeg_errors *e = (jpeg_errors *)c->err;
        snprintf(e->message, sizeof e->message,
                 "more than %d progressive scans: refusing a decoder bomb", MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

/* Our error manager: errors jump back to the caller's setjmp, warnings
 * are counted and the first kept. */
static struct jpeg_error_mgr *errors_init(jpeg_errors *e)
{
    memset(e, 0, sizeof *e);
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error;
    e->pub.emit_message = on_message;
    return &e->pub;
}

int phm__jpeg_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                    uint32_t *h, char *err, size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_errors jerr;
    volatile int rc = PHM_OK;

    if (len > (unsigned long)-1)
        return phm__fail(PHM_ERR_TOO_LARGE, err, errlen, name, "file too large");
    cinfo.err = errors_init(&jerr);
    if (setjmp(jerr.jump)) {
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s", jerr.message);
        goto out;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    *w = cinfo.image_width;
    *h = cinfo.image_height;
out:
    jpeg_destroy_decompress(&cinfo);
    return rc;
}

/* Where the rows go: the whole image into dec->pixels (`img`), or the
 * hasher (`h`, with `mode`, `dihedral`, `out`). */
typedef struct jpeg_sink {
    phm_image *img;
    phm_hasher *h;
    phm_mode mode;
    int dihedral;
    phm_pdq_result *out;
    phm__row_tap *tap;  /* streaming: the rows go there too (may be NULL) */
    phm_image *kept;    /* streaming: the image kept whole there too when it
                           takes at most keep_max bytes (may be NULL) */
    size_t keep_max;
} jpeg_sink;

static int jpeg_decode(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                       const jpeg_sink *sink, phm_image_info *info, char *err,
                       size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    jpeg_errors jerr;
    volatile int rc = PHM_OK;

    /* JPEG has no alpha: the streamed paths (phm_hash_mem, queries), which
     * bypass phm_decode_mem, say so too. */
    dec->composited = 0;
    if (len > (unsigned long)-1)
        return phm__fail(PHM_ERR_TOO_LARGE, err, errlen, name, "file too large");
    cinfo.err = errors_init(&jerr);
    if (setjmp(jerr.jump)) {
        if (rc == PHM_OK)
            rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "%s", jerr.message);
        goto out;
    }
    jpeg_create_decompress(&cinfo);
    progress.progress_monitor = on_progress;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);

    /* Grey stays one channel (luma = the grey value, as for grey PNG);
     * CMYK/YCCK become RGB as djpeg and the reference do. */
    uint32_t channels = 3, samples = 3;
    if (cinfo.jpeg_color_space == JCS_GRAYSCALE) {
        cinfo.out_color_space = JCS_GRAYSCALE;
        channels = samples = 1;
    } else if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        cinfo.out_color_space = JCS_CMYK;
        samples = 4;
    } else {
        cinfo.out_color_space = JCS_RGB;
    }
    size_t bytes;
    int dims = phm__check_dims(dec, name, cinfo.image_width, cinfo.image_height, samples,
                               &bytes, err, errlen);
    if (dims) {
        rc = dims;
        goto out;
    }
    if (info) {
        info->width = cinfo.image_width;
        info->height = cinfo.image_height;
        info->format = PHM_FORMAT_JPEG;
    }

    /* Whole: the image. Streaming: sixteen rows, the hasher's block,
     * bounded by the pixel limit already checked (width <= limit), or the
     * image when it is to be kept: each block decoded into its place. */
    const size_t row_bytes = (size_t)cinfo.image_width * samples;
    const int keep = !sink->img && sink->kept && bytes <= sink->keep_max;
    uint8_t *buf = phm__pixels(dec, sink->img || keep ? bytes : row_bytes * PDQ_LANES);
    if (!buf) {
        rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory for %ux%u pixels",
                       cinfo.image_width, cinfo.image_height);
        goto out;
    }
    JSAMPROW rows[PDQ_LANES];
    for (size_t i = 0; i < PDQ_LANES; i++)
        rows[i] = buf + i * row_bytes;

    jpeg_start_decompress(&cinfo);
    if (!sink->img) {
        int hrc = pdq_stream_begin(sink->h, cinfo.output_width, cinfo.output_height,
                                   channels, sink->mode);
        if (!hrc && sink->tap)
            hrc = sink->tap->begin(sink->tap, cinfo.output_width, cinfo.output_height,
                                   channels);
        if (hrc) {
            rc = hrc;
            goto out;
        }
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JDIMENSION got = 0, want = cinfo.output_height - cinfo.output_scanline;
        if (want > PDQ_LANES)
            want = PDQ_LANES;
        uint8_t *block = buf;
        if (sink->img || keep) {
            block = buf + (size_t)cinfo.output_scanline * row_bytes;
            for (JDIMENSION i = 0; i < want; i++)
                rows[i] = block + i * row_bytes;
        }
        while (got < want)
            got += jpeg_read_scanlines(&cinfo, rows + got, want - got);
        if (sink->img)
            continue;
        if (samples == 4)
            for (JDIMENSION i = 0; i < got; i++)
                phm__cmyk_to_rgb(rows[i], cinfo.output_width);
        pdq_stream_rows(sink->h, block, row_bytes, got);
        if (sink->tap)
            sink->tap->rows(sink->tap, block, row_bytes, got);
    }
    jpeg_finish_decompress(&cinfo);
    if (sink->img) {
        if (samples == 4)
            phm__cmyk_to_rgb(buf, (size_t)cinfo.output_width * cinfo.output_height);
        phm_image *img = sink->img;
        img->pixels = buf;
        img->width = cinfo.output_width;
        img->height = cinfo.output_height;
        img->channels = channels;
        img->stride = (size_t)cinfo.output_width * channels;
        img->format = PHM_FORMAT_JPEG;
    } else {
        int hrc = pdq_stream_end(sink->h, sink->dihedral, sink->out);
        if (hrc) {
            rc = hrc;
            goto out;
        }
        if (keep) /* CMYK converted row by row: RGB at a stride of 4 bytes a pixel */
            *sink->kept = (phm_image){ buf, cinfo.output_width, cinfo.output_height, channels,
                                       row_bytes, PHM_FORMAT_JPEG };
    }
    if (jerr.warnings)
        rc = phm__fail(PHM_WARN_RECOVERED, err, errlen, name, "%s", jerr.warning);
out:
    jpeg_destroy_decompress(&cinfo);
    return rc;
}

int phm__decode_jpeg(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                     phm_image *img, char *err, size_t errlen)
{
    const jpeg_sink sink = {.img = img};
    return jpeg_decode(dec, data, len, name, &sink, NULL, err, errlen);
}

int phm__hash_jpeg_stream(phm_decoder *dec, phm_hasher *h, const uint8_t *data,
                          size_t len, const char *name, phm_mode mode, int dihedral,
                          phm_pdq_result *out, phm_image_info *info, char *err,
                          size_t errlen)
{
    const jpeg_sink sink = {.h = h, .mode = mode, .dihedral = dihedral, .out = out};
    return jpeg_decode(dec, data, len, name, &sink, info, err, errlen);
}

int phm__hash_jpeg_stream_tap(phm_decoder *dec, phm_hasher *h, const uint8_t *data,
                              size_t len, const char *name, phm_mode mode, int dihedral,
                              phm_pdq_result *out, phm_image_info *info, phm__row_tap *tap,
                              phm_image *kept, size_t keep_max, char *err, size_t errlen)
{
    const jpeg_sink sink = {.h = h, .mode = mode, .dihedral = dihedral, .out = out,
                            .tap = tap, .kept = kept, .keep_max = keep_max};
    return jpeg_decode(dec, data, len, name, &sink, info, err, errlen);
}
