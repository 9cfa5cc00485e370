/* video_options.c - phm_video_options defaults and validation: no FFmpeg,
 * so in libphmatch itself, and linked into the video backend as well. */
#include <math.h>
#include <string.h>

#include "phmatch.h"
#include "video_backend.h"

void phm_video_options_init(phm_video_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->seconds_per_hash = PHM_VPDQ_SECONDS_PER_HASH;
    o->simd = PHM_SIMD_AUTO;
}

int video_options_valid(const phm_video_options *o)
{
    return isfinite(o->seconds_per_hash) && o->seconds_per_hash >= 0 &&
           (o->size == 0 || (o->size >= 5 && o->size <= PHM_VIDEO_MAX_SIZE)) &&
           !isnan(o->max_seconds) && o->max_seconds >= 0 &&
           o->threads >= 0 && o->threads <= PHM_VIDEO_MAX_THREADS &&
           o->decoder_threads >= 0 &&
           o->decoder_threads <= PHM_VIDEO_MAX_THREADS;
}
