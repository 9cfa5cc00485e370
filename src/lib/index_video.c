/* index_video.c - the frames of video entries: validation and the byte
 * layout of the "frames" table (docs/INDEX_FORMAT.md). A record read back
 * is checked in full (size from its count, qualities, timestamps) before
 * any frame is used. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_internal.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int vid_validate(const phm_entry *e, char *err, size_t errlen)
{
    if (!e->frames || e->nframes == 0 || e->nframes > PHM_INDEX_MAX_VIDEO_FRAMES) {
        snprintf(err, errlen, "invalid entry '%s:%s': a video needs 1..%u frames "
                 "(has %zu)", e->source, e->id, PHM_INDEX_MAX_VIDEO_FRAMES,
                 e->frames ? e->nframes : 0);
        return PHM_ERR_INVALID;
    }
    for (size_t i = 0; i < e->nframes; i++) {
        const phm_vpdq_frame *f = &e->frames[i];
        if (f->quality < 0 || f->quality > 100 || !isfinite(f->timestamp) ||
            f->timestamp < 0) {
            snprintf(err, errlen, "invalid entry '%s:%s': frame %zu has quality "
                     "%d or timestamp %g out of range", e->source, e->id, i,
                     f->quality, f->timestamp);
            return PHM_ERR_INVALID;
        }
    }
    return PHM_OK;
}

size_t vid_bytes(size_t n)
{
    return VID_HEADER + n * VID_FRAME_BYTES;
}

void vid_encode(const phm_entry *e, uint32_t nhashes, uint8_t *buf)
{
    memset(buf, 0, VID_HEADER);
    buf[0] = VID_VERSION;
    put32(buf + 4, (uint32_t)e->nframes);
    put32(buf + 8, nhashes);
    uint8_t *p = buf + VID_HEADER;
    for (size_t i = 0; i < e->nframes; i++, p += VID_FRAME_BYTES) {
        const phm_vpdq_frame *f = &e->frames[i];
        uint64_t ts;
        memcpy(&ts, &f->timestamp, sizeof ts);
        idx_u64_le_put(p, f->frame);
        idx_u64_le_put(p + 8, ts);
        p[16] = (uint8_t)f->quality;
        for (int w = 0; w < 4; w++)
            idx_u64_le_put(p + 17 + 8 * w, f->hash.w[w]);
    }
}

int vid_header(const void *rec, size_t len, uint32_t *nframes, uint32_t *nhashes)
{
    const uint8_t *p = rec;
    if (len < VID_HEADER || p[0] != VID_VERSION || p[1] || p[2] || p[3] ||
        get32(p + 12))
        return PHM_ERR_CORRUPT;
    *nframes = get32(p + 4);
    *nhashes = get32(p + 8);
    if (*nframes == 0 || *nframes > PHM_INDEX_MAX_VIDEO_FRAMES ||
        *nhashes > *nframes || len != vid_bytes(*nframes))
        return PHM_ERR_CORRUPT;
    return PHM_OK;
}

int vid_decode(const void *rec, size_t len, phm_vpdq *out)
{
    uint32_t n, nh;
    if (vid_header(rec, len, &n, &nh))
        return PHM_ERR_CORRUPT;
    if (out->capacity < n) {
        phm_vpdq_frame *fr = realloc(out->frames, n * sizeof *fr);
        if (!fr)
            return PHM_ERR_NOMEM;
        out->frames = fr;
        out->capacity = n;
    }
    /* a parsed file's fields: no decoder, frames in stored order */
    phm_vpdq_frame *fr = out->frames;
    size_t cap = out->capacity;
    phm_vpdq_init(out);
    out->frames = fr;
    out->capacity = cap;
    const uint8_t *p = (const uint8_t *)rec + VID_HEADER;
    for (uint32_t i = 0; i < n; i++, p += VID_FRAME_BYTES) {
        phm_vpdq_frame *f = &fr[i];
        uint64_t ts = idx_u64_le(p + 8);
        f->frame = idx_u64_le(p);
        memcpy(&f->timestamp, &ts, sizeof ts);
        f->quality = p[16];
        for (int w = 0; w < 4; w++)
            f->hash.w[w] = idx_u64_le(p + 17 + 8 * w);
        if (f->quality > 100 || !isfinite(f->timestamp) || f->timestamp < 0)
            return PHM_ERR_CORRUPT;
    }
    out->count = n;
    return PHM_OK;
}

size_t vid_distinct(const phm_vpdq_frame *frames, size_t nframes, phm_pdq *out)
{
    phm_vpdq v;
    phm_vpdq_init(&v);
    v.frames = (phm_vpdq_frame *)(uintptr_t)frames;
    v.count = nframes;
    return phm_vpdq_distinct(&v, PHM_PDQ_MIN_QUALITY, out);
}
