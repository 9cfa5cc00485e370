/*
 * match_video.h - `phmatch match` on a video: what its frames match in the
 * index, in one batch search of the sublinear index.
 *
 * The video's distinct frame hashes of quality >= min_quality (its bag of
 * hashes, phm_vpdq_distinct) are searched with one phm_search_batch. Each
 * entry hit is then either
 *   - a known video: a candidate, compared exactly with the video's stored
 *     frames by the vPDQ bag-of-frames comparison (phm_vpdq_compare, at
 *     the same distance); reported when the verdict against the
 *     thresholds is a match, with both percentages; or
 *   - a known image: reported with every frame (number and timestamp)
 *     whose hash is within the distance of it.
 */
#ifndef PHM_MATCH_VIDEO_H
#define PHM_MATCH_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include "phmatch.h"

typedef struct match_video_opts {
    int radius;             /* match distance, as for images */
    int min_quality;        /* frames below are not searched nor compared */
    double query_threshold; /* the vPDQ verdict: percent of the input's */
    double compared_threshold; /* ... and of the known video's hashes */
} match_video_opts;

/* One entry the video matches. */
typedef struct match_video_hit {
    uint64_t entry;
    int distance;       /* closest frame's distance */
    int64_t frame;      /* the input's frame closest to it */
    double timestamp;   /* and its timestamp */
    int is_video;       /* the entry is a known video */
    double query_percent, compared_percent; /* is_video: the comparison */
    char *frames;       /* an image: "FRAME@SECONDS ..." of every frame of
                           the input it appears in (malloc'd; the caller
                           frees it); NULL for a video */
} match_video_hit;

/* Per-thread scratch, reused from video to video. */
typedef struct match_video_scratch match_video_scratch;

void match_video_scratch_free(match_video_scratch *m);

/* Searches video `v` with searcher s (the results stay in s's snapshot
 * until the caller releases it). *searched is 0 when no frame has the
 * quality to be searched. On success *hits (owned by *scr, valid until the
 * next call; the frames strings belong to the caller) holds *nhits hits
 * sorted by distance then entry. *scr may be NULL at the first call.
 * Returns PHM_OK, or an error with `err` (search or out of memory). */
int match_video_search(phm_searcher *s, const phm_vpdq *v, const match_video_opts *o,
                       match_video_scratch **scr, int *searched,
                       match_video_hit **hits, size_t *nhits, char *err,
                       size_t errlen);

#endif /* PHM_MATCH_VIDEO_H */
