/* decode_webp.c - WebP through libwebp (stills) and libwebpdemux (animations).
 *
 * The pixels are ImageMagick's: its WebP reader decodes with libwebp's
 * defaults (fancy upsampling) to non-premultiplied RGBA and we drop the
 * alpha, which leaves the colour channels exactly as libwebp's RGB output
 * gives them, so a still decodes straight into the decoder's buffer as
 * RGB. Of an animation ImageMagick's first image is the first frame alone,
 * placed at its offset on a canvas of the animation's size whose other
 * pixels are 0 (black once alpha is dropped): no background colour, no
 * blending (the first frame is a key frame). We do the same, decoding the
 * frame into its rectangle of the canvas. With a background set
 * (phm_decoder_set_background) a still with alpha, and an animation's
 * first frame on its canvas (transparent outside the frame), are decoded
 * as RGBA and composited over it instead; the frames of an animation
 * (phm__webp_frames) drop alpha either way.
 *
 * Hostile input: the size comes from WebPGetFeatures (the VP8X canvas for
 * extended files) and is checked against the pixel limit before any pixel
 * memory; WebPDemux refuses an animation whose frames leave the canvas or
 * whose container is cut short. A still cut short is PHM_ERR_CORRUPT, or
 * PHM_WARN_RECOVERED when libwebp's incremental decoder could decode some
 * of its rows (the rest are black).
 *
 * phm__webp_frames gives every frame of an animation as the whole canvas
 * (WebPAnimDecoder applies disposal and blending), converted to RGB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "decode_internal.h"

static const char *status_name(VP8StatusCode s)
{
    switch (s) {
    case VP8_STATUS_OK: return "VP8_STATUS_OK";
    case VP8_STATUS_OUT_OF_MEMORY: return "VP8_STATUS_OUT_OF_MEMORY";
    case VP8_STATUS_INVALID_PARAM: return "VP8_STATUS_INVALID_PARAM";
    case VP8_STATUS_BITSTREAM_ERROR: return "VP8_STATUS_BITSTREAM_ERROR";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "VP8_STATUS_UNSUPPORTED_FEATURE";
    case VP8_STATUS_SUSPENDED: return "VP8_STATUS_SUSPENDED";
    case VP8_STATUS_USER_ABORT: return "VP8_STATUS_USER_ABORT";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "VP8_STATUS_NOT_ENOUGH_DATA";
    default: return "unknown libwebp status";
    }
}

/* A libwebp failure as our status and message. */
static int webp_fail(VP8StatusCode s, const char *what, char *err, size_t errlen,
                     const char *name)
{
    int rc = s == VP8_STATUS_OUT_OF_MEMORY ? PHM_ERR_NOMEM : PHM_ERR_CORRUPT;
    const char *why = s == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated, " : "";
    return phm__fail(rc, err, errlen, name, "%s: %slibwebp says %s", what, why,
                     status_name(s));
}

/* The RIFF size field of a file phm_format_detect() called WebP. */
static uint64_t riff_bytes(const uint8_t *data)
{
    return 8 + ((uint64_t)data[4] | (uint64_t)data[5] << 8 | (uint64_t)data[6] << 16 |
                (uint64_t)data[7] << 24);
}

/* The whole container, demuxed; NULL with the message in err. Nothing
 * here allocates pixels. */
static WebPDemuxer *demux_open(const uint8_t *data, size_t len, const char *name,
                               char *err, size_t errlen)
{
    WebPData wd = {data, len};
    WebPDemuxer *dmx = WebPDemux(&wd);
    if (dmx)
        return dmx;
    if (len >= 12 && riff_bytes(data) > len)
        phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                  "truncated WebP container (%llu bytes of the %llu its header says)",
                  (unsigned long long)len, (unsigned long long)riff_bytes(data));
    else
        phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                  "malformed WebP container (libwebp's demuxer refuses it)");
    return NULL;
}

/* Decodes the WebP bitstream at data (a whole file, or an animation
 * frame's ALPH + VP8/VP8L chunks) as `mode` (MODE_RGB, or MODE_RGBA: not
 * premultiplied, the colours those of MODE_RGB) into the w x h rectangle
 * at `out`, rows `stride` bytes apart. */
static VP8StatusCode decode_into(const uint8_t *data, size_t len, uint8_t *out, int w,
                                 int h, size_t stride, WEBP_CSP_MODE mode,
                                 WebPDecoderConfig *cfg)
{
    size_t bpp = mode == MODE_RGBA ? 4 : 3;
    cfg->output.colorspace = mode;
    cfg->output.is_external_memory = 1;
    cfg->output.u.RGBA.rgba = out;
    cfg->output.u.RGBA.stride = (int)stride;
    cfg->output.u.RGBA.size = stride * (size_t)(h - 1) + (size_t)w * bpp;
    return WebPDecode(data, len, cfg);
}

/* A still cut short: the rows libwebp's incremental decoder gets from the
 * bytes there are, the others black. PHM_WARN_RECOVERED if there was at
 * least one row, else PHM_ERR_CORRUPT. RGB only: a truncated still drops
 * its alpha even with a background set (composited stays 0), which keeps
 * this rarely taken path as simple as it was. */
static int decode_partial(const uint8_t *data, size_t len, uint8_t *px, int w, int h,
                          const char *name, char *err, size_t errlen)
{
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg))
        return phm__fail(PHM_ERR_INTERNAL, err, errlen, name, "libwebp version mismatch");
    size_t stride = (size_t)w * 3;
    cfg.output.colorspace = MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = px;
    cfg.output.u.RGBA.stride = (int)stride;
    cfg.output.u.RGBA.size = stride * (size_t)h;
    int rows = 0;
    WebPIDecoder *idec = WebPIDecode(NULL, 0, &cfg);
    if (idec) {
        VP8StatusCode s = WebPIUpdate(idec, data, len);
        int lw, lh, ls;
        if ((s == VP8_STATUS_OK || s == VP8_STATUS_SUSPENDED) &&
            WebPIDecGetRGB(idec, &rows, &lw, &lh, &ls) == px && lw == w && lh == h) {
            if (rows < 0 || rows > h)
                rows = 0;
        } else {
            rows = 0;
        }
        WebPIDelete(idec);
    }
    if (rows <= 0)
        return webp_fail(VP8_STATUS_NOT_ENOUGH_DATA, "WebP image", err, errlen, name);
    memset(px + (size_t)rows * stride, 0, (size_t)(h - rows) * stride);
    return phm__fail(PHM_WARN_RECOVERED, err, errlen, name,
                     "truncated WebP image, %d of %d rows decoded", rows, h);
}

/* ImageMagick's first image of an animation: frame 1 on a black canvas. */
static int decode_first_frame(const uint8_t *data, size_t len, uint8_t *px, uint32_t cw,
                              uint32_t ch, int rgba, const char *name, char *err,
                              size_t errlen)
{
    WebPDemuxer *dmx = demux_open(data, len, name, err, errlen);
    if (!dmx)
        return PHM_ERR_CORRUPT;
    int rc = PHM_OK;
    WebPIterator it;
    int have = WebPDemuxGetFrame(dmx, 1, &it);
    if (!have) {
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "animated WebP without frames");
        goto out;
    }
    if (WebPDemuxGetI(dmx, WEBP_FF_CANVAS_WIDTH) != cw ||
        WebPDemuxGetI(dmx, WEBP_FF_CANVAS_HEIGHT) != ch) {
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                       "WebP canvas size differs between the header and the demuxer");
        goto out;
    }
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg)) {
        rc = phm__fail(PHM_ERR_INTERNAL, err, errlen, name, "libwebp version mismatch");
        goto out;
    }
    VP8StatusCode s = WebPGetFeatures(it.fragment.bytes, it.fragment.size, &cfg.input);
    if (s != VP8_STATUS_OK) {
        rc = webp_fail(s, "frame 1", err, errlen, name);
        goto out;
    }
    int fw = cfg.input.width, fh = cfg.input.height;
    if (fw != it.width || fh != it.height || it.x_offset < 0 || it.y_offset < 0 ||
        (uint64_t)it.x_offset + (uint64_t)fw > cw ||
        (uint64_t)it.y_offset + (uint64_t)fh > ch) {
        rc = phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                       "frame 1 (%dx%d at +%d+%d) does not fit the %ux%u canvas", fw, fh,
                       it.x_offset, it.y_offset, cw, ch);
        goto out;
    }
    /* With rgba (a background to composite over), the canvas outside the
     * frame is transparent: 0 in all four bytes. */
    size_t bpp = rgba ? 4 : 3, stride = (size_t)cw * bpp;
    if ((uint32_t)fw != cw || (uint32_t)fh != ch)
        memset(px, 0, stride * ch);
    uint8_t *at = px + (size_t)it.y_offset * stride + (size_t)it.x_offset * bpp;
    s = decode_into(it.fragment.bytes, it.fragment.size, at, fw, fh, stride,
                    rgba ? MODE_RGBA : MODE_RGB, &cfg);
    if (s != VP8_STATUS_OK)
        rc = webp_fail(s, "frame 1", err, errlen, name);
out:
    if (have)
        WebPDemuxReleaseIterator(&it);
    WebPDemuxDelete(dmx);
    return rc;
}

int phm__decode_webp(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                     phm_image *img, char *err, size_t errlen)
{
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg))
        return phm__fail(PHM_ERR_INTERNAL, err, errlen, name, "libwebp version mismatch");
    VP8StatusCode s = WebPGetFeatures(data, len, &cfg.input);
    if (s != VP8_STATUS_OK)
        return webp_fail(s, "WebP header", err, errlen, name);
    /* The canvas of an animation, else the image. */
    uint32_t w = (uint32_t)cfg.input.width, h = (uint32_t)cfg.input.height;
    /* Over a background: a still with alpha, or an animation (a sticker's
     * first frame, whose canvas outside the frame is transparent too),
     * decoded as RGBA, then composited to RGB in place. */
    int composite = dec->background != PHM_BACKGROUND_NONE &&
                    (cfg.input.has_animation || cfg.input.has_alpha);
    size_t bytes;
    int rc = phm__check_dims(dec, name, w, h, composite ? 4 : 3, &bytes, err, errlen);
    if (rc)
        return rc;
    uint8_t *px = phm__pixels(dec, bytes);
    if (!px)
        return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");

    if (cfg.input.has_animation) {
        rc = decode_first_frame(data, len, px, w, h, composite, name, err, errlen);
        if (rc >= 0 && composite)
            dec->composited = phm__composite(px, (size_t)w * h, 3, dec->background);
    } else {
        s = decode_into(data, len, px, (int)w, (int)h, (size_t)w * (composite ? 4 : 3),
                        composite ? MODE_RGBA : MODE_RGB, &cfg);
        if (s == VP8_STATUS_NOT_ENOUGH_DATA)
            rc = decode_partial(data, len, px, (int)w, (int)h, name, err, errlen);
        else if (s != VP8_STATUS_OK)
            rc = webp_fail(s, "WebP image", err, errlen, name);
        else if (cfg.output.width != (int)w || cfg.output.height != (int)h)
            rc = phm__fail(PHM_ERR_INTERNAL, err, errlen, name,
                           "libwebp decoded %dx%d, its header said %ux%u",
                           cfg.output.width, cfg.output.height, w, h);
        else if (composite)
            dec->composited = phm__composite(px, (size_t)w * h, 3, dec->background);
    }
    if (rc < 0)
        return rc;
    img->pixels = px;
    img->width = w;
    img->height = h;
    img->channels = 3;
    img->stride = (size_t)w * 3;
    img->format = PHM_FORMAT_WEBP;
    return rc;
}

int phm__webp_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                    uint32_t *h, char *err, size_t errlen)
{
    WebPBitstreamFeatures f;
    VP8StatusCode s = WebPGetFeatures(data, len, &f);
    if (s != VP8_STATUS_OK)
        return webp_fail(s, "WebP header", err, errlen, name);
    *w = (uint32_t)f.width;
    *h = (uint32_t)f.height;
    return PHM_OK;
}

void phm__webp_version(char *out, size_t len)
{
    int v = WebPGetDecoderVersion();
    snprintf(out, len, "libwebp %d.%d.%d", v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff);
}

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

typedef struct webp_frames {
    phm__frames fr; /* first: the iterator is freed through it */
    WebPAnimDecoder *anim;
    uint8_t *rgb;   /* the canvas as RGB, width * height * 3 */
    uint32_t width, height;
    uint64_t max_frames; /* 0: no bound (beyond the file's ANMF chunks) */
    uint32_t done;  /* frames returned */
    int prev_ms;    /* end of the last frame returned */
    char name[];    /* for messages */
} webp_frames;

static int frames_next(phm__frames *fr, phm_image *img, double *start, double *duration,
                       char *err, size_t errlen)
{
    webp_frames *wf = (webp_frames *)fr;
    if (!WebPAnimDecoderHasMoreFrames(wf->anim))
        return 0;
    if (wf->max_frames && wf->done >= wf->max_frames)
        return phm__fail(PHM_ERR_TOO_LARGE, err, errlen, wf->name,
                         "more than %llu frames", (unsigned long long)wf->max_frames);
    uint8_t *rgba;
    int end_ms;
    if (!WebPAnimDecoderGetNext(wf->anim, &rgba, &end_ms))
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, wf->name,
                         "frame %u: libwebp cannot decode it", wf->done + 1);
    size_t n = (size_t)wf->width * wf->height;
    for (size_t i = 0; i < n; i++) {
        wf->rgb[3 * i] = rgba[4 * i];
        wf->rgb[3 * i + 1] = rgba[4 * i + 1];
        wf->rgb[3 * i + 2] = rgba[4 * i + 2];
    }
    memset(img, 0, sizeof *img);
    img->pixels = wf->rgb;
    img->width = wf->width;
    img->height = wf->height;
    img->channels = 3;
    img->stride = (size_t)wf->width * 3;
    img->format = PHM_FORMAT_WEBP;
    /* libwebp gives each frame's end: the sum of the durations so far. */
    if (start)
        *start = wf->prev_ms / 1000.0;
    if (duration)
        *duration = (end_ms - wf->prev_ms) / 1000.0;
    wf->prev_ms = end_ms;
    wf->done++;
    return 1;
}

static void frames_free(phm__frames *fr)
{
    webp_frames *wf = (webp_frames *)fr;
    if (!wf)
        return;
    WebPAnimDecoderDelete(wf->anim);
    free(wf->rgb);
    free(wf);
}

int phm__webp_frames(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                     uint64_t max_frames, phm__frames **out, char *err, size_t errlen)
{
    *out = NULL;
    dec->composited = 0; /* animations drop alpha */
    WebPBitstreamFeatures f;
    VP8StatusCode s = WebPGetFeatures(data, len, &f);
    if (s != VP8_STATUS_OK)
        return webp_fail(s, "WebP header", err, errlen, name);
    size_t bytes;
    /* WebPAnimDecoder keeps two RGBA canvases; we one RGB canvas. */
    int rc = phm__check_dims(dec, name, (uint32_t)f.width, (uint32_t)f.height, 3, &bytes,
                             err, errlen);
    if (rc)
        return rc;
    WebPDemuxer *dmx = demux_open(data, len, name, err, errlen);
    if (!dmx)
        return PHM_ERR_CORRUPT;
    uint32_t cw = WebPDemuxGetI(dmx, WEBP_FF_CANVAS_WIDTH);
    uint32_t ch = WebPDemuxGetI(dmx, WEBP_FF_CANVAS_HEIGHT);
    uint32_t count = WebPDemuxGetI(dmx, WEBP_FF_FRAME_COUNT);
    WebPDemuxDelete(dmx);
    if (cw != (uint32_t)f.width || ch != (uint32_t)f.height)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                         "WebP canvas size differs between the header and the demuxer");
    if (count == 0)
        return phm__fail(PHM_ERR_CORRUPT, err, errlen, name, "WebP without frames");

    const char *label = name ? name : "(memory)";
    webp_frames *wf = calloc(1, sizeof *wf + strlen(label) + 1);
    if (!wf)
        return phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
    wf->fr.next = frames_next;
    wf->fr.free = frames_free;
    wf->width = cw;
    wf->height = ch;
    wf->max_frames = max_frames;
    memcpy(wf->name, label, strlen(label) + 1);
    WebPAnimDecoderOptions opt;
    if (!WebPAnimDecoderOptionsInit(&opt)) {
        frames_free(&wf->fr);
        return phm__fail(PHM_ERR_INTERNAL, err, errlen, name, "libwebpdemux version mismatch");
    }
    opt.color_mode = MODE_RGBA;
    opt.use_threads = 0;
    WebPData wd = {data, len};
    wf->anim = WebPAnimDecoderNew(&wd, &opt);
    wf->rgb = malloc(bytes);
    if (!wf->anim || !wf->rgb) {
        rc = wf->anim ? phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory")
                      : phm__fail(PHM_ERR_CORRUPT, err, errlen, name,
                                  "libwebp cannot start decoding the animation");
        frames_free(&wf->fr);
        return rc;
    }
    *out = &wf->fr;
    return PHM_OK;
}
