/* decode_jpeg_stream.c - JPEG decoded row by row into the PDQ hasher.
 *
 * libjpeg-turbo's libjpeg API with its defaults, which are TurboJPEG's
 * defaults too (accurate integer IDCT, smooth upsampling), so the pixels
 * are exactly those of decode_jpeg.c. Sixteen rows at a time go from the
 * decoder's output straight into the hasher's streaming filter: the
 * decoded image is never stored whole, so large photos are hashed from
 * cache. Limits and error reporting match decode_jpeg.c: pixel limit from
 * the header, at most 500 progressive scans, libjpeg warnings (corrupt
 * data it recovered from) reported as PHM_WARN_RECOVERED. */
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

int phm__jpeg_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                    uint32_t *h, char *err, size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_errors jerr;
    volatile int rc = PHM_OK;

    if (len > (unsigned long)-1)
        return phm__fail(PHM_ERR_TOO_LARGE, err, errlen, name, "file too large");
    memset(&jerr, 0, sizeof jerr);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_error;
    jerr.pub.emit_message = on_message;
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

int phm__hash_jpeg_stream(phm_decoder *dec, phm_hasher *h, const uint8_t *data,
                          size_t len, const char *name, phm_mode mode, int dihedral,
                          phm_pdq_result *out, phm_image_info *info, char *err,
                          size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    jpeg_errors jerr;
    volatile int rc = PHM_OK;

    if (len > (unsigned long)-1)
        return phm__fail(PHM_ERR_TOO_LARGE, err, errlen, name, "file too large");
    memset(&jerr, 0, sizeof jerr);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_error;
    jerr.pub.emit_message = on_message;
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
    int dims = phm__check_dims(dec, name, cinfo.image_width, cinfo.image_height, channels,
                               &bytes, err, errlen);
    if (dims) {
        rc = dims;
        goto out;
    }
    info->width = cinfo.image_width;
    info->height = cinfo.image_height;
    info->format = PHM_FORMAT_JPEG;

    /* Sixteen rows of output: the hasher's block. Bounded by the pixel
     * limit already checked (width <= limit). */
    const size_t row_bytes = (size_t)cinfo.image_width * samples;
    uint8_t *buf = phm__pixels(dec, row_bytes * PDQ_LANES);
    if (!buf) {
        rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        goto out;
    }
    JSAMPROW rows[PDQ_LANES];
    for (size_t i = 0; i < PDQ_LANES; i++)
        rows[i] = buf + i * row_bytes;

    jpeg_start_decompress(&cinfo);
    int hrc = pdq_stream_begin(h, cinfo.output_width, cinfo.output_height, channels, mode);
    if (hrc) {
        rc = hrc;
        goto out;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JDIMENSION got = 0, want = cinfo.output_height - cinfo.output_scanline;
        if (want > PDQ_LANES)
            want = PDQ_LANES;
        while (got < want)
            got += jpeg_read_scanlines(&cinfo, rows + got, want - got);
        if (samples == 4)
            for (JDIMENSION i = 0; i < got; i++)
                phm__cmyk_to_rgb(rows[i], cinfo.output_width);
        pdq_stream_rows(h, buf, row_bytes, got);
    }
    jpeg_finish_decompress(&cinfo);
    hrc = pdq_stream_end(h, dihedral, out);
    if (hrc)
        rc = hrc;
    else if (jerr.warnings)
        rc = phm__fail(PHM_WARN_RECOVERED, err, errlen, name, "%s", jerr.warning);
out:
    jpeg_destroy_decompress(&cinfo);
    return rc;
}
