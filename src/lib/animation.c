/* animation.c - the frames of an animated GIF or WebP hashed into a
 * phm_vpdq (the Animations section of phmatch.h): the format's frames
 * iterator (phm__gif_frames, phm__webp_frames in decode_*.c), the
 * selection of frames by their display times, PDQ of each selected canvas. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decode_internal.h"
#include "video_backend.h"

/* Sampling times within this of a frame's end belong to the next frame:
 * start times are sums of delays, and 0.1 + 0.2 is not 0.3 in double. */
#define SAMPLE_EPS 1e-9

int phm_hash_animation_mem(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                           const char *name, const phm_video_options *o, phm_vpdq *out,
                           char *err, size_t errlen)
{
    phm_video_options opt; /* *o, or the defaults */
    phm__frames *fr = NULL;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (o)
        opt = *o;
    else
        phm_video_options_init(&opt);
    if (!dec || !h || !out || (!data && len) || !video_options_valid(&opt))
        return PHM_ERR_INVALID;
    o = &opt;
    {
        phm_vpdq_frame *frames = out->frames;
        size_t cap = out->capacity;
        phm_vpdq_init(out);
        out->frames = frames;
        out->capacity = cap;
    }
    out->bytes = (int64_t)len;

    phm_format f = phm_format_detect(data, len);
    uint64_t max_frames = o->max_frames ? o->max_frames : PHM_VIDEO_DEFAULT_MAX_FRAMES;
    double max_seconds = o->max_seconds > 0 ? o->max_seconds : PHM_VIDEO_DEFAULT_MAX_SECONDS;
    uint64_t max_pixels = o->max_pixels ? o->max_pixels : PHM_DEFAULT_MAX_PIXELS;

    /* The iterators check the canvas against dec's limit: the lower one. */
    uint64_t dec_max = dec->limits.max_pixels;
    if (max_pixels < dec_max)
        dec->limits.max_pixels = max_pixels;
    if (f == PHM_FORMAT_GIF)
        rc = phm__gif_frames(dec, data, len, name, max_frames, &fr, err, errlen);
    else if (f == PHM_FORMAT_WEBP)
        rc = phm__webp_frames(dec, data, len, name, max_frames, &fr, err, errlen);
    else
        rc = phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name,
                       "not an animation format phmatch reads (GIF, WebP)");
    dec->limits.max_pixels = dec_max;
    if (rc < 0)
        return rc;
    snprintf(out->container, sizeof out->container, "%s", phm_format_name(f));
    snprintf(out->codec, sizeof out->codec, "%s", phm_format_name(f));

    double r = o->seconds_per_hash;
    double next = 0; /* index of the next sampling time, k in k * r */
    double end = 0;  /* where the last frame ended */
    for (uint64_t n = 0;; n++) {
        phm_image img;
        double start = 0, duration = 0;
        rc = fr->next(fr, &img, &start, &duration, err, errlen);
        if (rc <= 0)
            break;
        if (n == 0) {
            out->width = out->hash_width = img.width;
            out->height = out->hash_height = img.height;
        }
        if (start >= max_seconds) {
            rc = phm__fail(PHM_ERR_TOO_LARGE, err, errlen, name,
                           "frame %llu starts at %.3f s, over the limit of %.3f s",
                           (unsigned long long)n, start, max_seconds);
            break;
        }
        out->frames_decoded = n + 1;
        end = start + duration;
        int take = r <= 0;
        if (!take && next * r < end - SAMPLE_EPS) {
            take = 1;
            next = ceil((end - SAMPLE_EPS) / r);
        }
        if (!take)
            continue;
        phm_pdq_result res;
        int hrc = phm_hash_image(h, &img, PHM_MODE_FULL, 0, &res);
        if (hrc == PHM_ERR_TOO_SMALL) {
            rc = phm__fail(hrc, err, errlen, name,
                           "canvas is %ux%u; PDQ needs at least 5x5 pixels",
                           (unsigned)img.width, (unsigned)img.height);
            break;
        }
        if (hrc < 0) {
            rc = phm__fail(hrc, err, errlen, name, "frame %llu: %s", (unsigned long long)n,
                           phm_strerror(hrc));
            break;
        }
        phm_vpdq_frame vf = { res.hash[0], res.quality, n, start };
        if (phm_vpdq_append(out, &vf) != PHM_OK) {
            rc = phm__fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
            break;
        }
    }
    fr->free(fr);
    if (end > 0)
        out->fps = (double)out->frames_decoded / end;
    return rc < 0 ? rc : PHM_OK;
}

int phm_hash_animation_file(phm_decoder *dec, phm_hasher *h, const char *path,
                            const phm_video_options *o, phm_vpdq *out, char *err,
                            size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    int rc = dec && h && path && out ? phm__read_file(dec, path, err, errlen)
                                     : PHM_ERR_INVALID;
    if (rc)
        return rc;
    return phm_hash_animation_mem(dec, h, dec->file, dec->file_len, path, o, out, err, errlen);
}
