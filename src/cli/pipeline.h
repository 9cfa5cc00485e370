/*
 * pipeline.h - hash a stream of inputs in parallel and hand each finished
 * record to the command, in input order.
 *
 * The engine behind `phmatch hash`, meant to be reused by any command that
 * hashes files (`match` looks each hash up in an index):
 *
 *     input_source --> [ window of W slots ] --> emit(record), in order
 *                        | | |  worker threads (OpenMP): decode, digest,
 *                        | | |  hash, then the command's work() hook
 *
 * Each worker thread owns one phm_decoder, one phm_hasher and one digester,
 * created once and reused: no allocation per image in the hot path. At most
 * W inputs are in flight (enumerated but not yet emitted), so memory is
 * bounded whatever the number of inputs; a slow image at the head of the
 * window holds back emission, never correctness. Enumeration, hashing and
 * emission overlap: one thread at a time enumerates, one emits, the others
 * hash.
 *
 * Every input gives exactly one record, emitted exactly once: a result, or
 * an error with its status and message. A video is one record too, which
 * carries its frames (hash_record.video). Videos are found by content: a
 * file whose first bytes are not an image format's goes to the video
 * decoder (phm_hash_video_file), which reads it as a stream. With
 * read_vpdq, a vPDQ file (content starting with a vPDQ line) stands for
 * its video: its frames are read (phm_vpdq_load), format "vpdq/text".
 */
#ifndef PHM_PIPELINE_H
#define PHM_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "inputs.h"
#include "phmatch.h"
#include "progress.h"

typedef struct hash_record {
    uint64_t seq;          /* 0-based position in the input */
    const char *path;      /* as enumerated (operand prefix kept) */
    size_t path_len;
    /* PHM_OK; PHM_WARN_RECOVERED (only with accept_recovered: hashed, but
     * the decoder recovered from damage); or a PHM_ERR_* code: no hash. A
     * recovered image without accept_recovered is PHM_ERR_CORRUPT. */
    int status;
    /* Why it failed, or what the decoder recovered from; "" otherwise. The
     * cause only, without the path: "premature end of data". */
    const char *message;
    int64_t size;          /* file size in bytes; -1 if unknown */
    phm_format format;     /* from the magic bytes; UNKNOWN if not read */
    uint32_t width, height; /* the decoded image's size; 0 if not decoded */
    phm_pdq_result pdq;    /* valid when status >= 0 */
    int has_digests;       /* digest[] below holds the requested digests */
    char digest[PHM_DIGEST_COUNT][PHM_DIGEST_HEX_MAX + 1]; /* "" if not requested */
    /* A video: NULL for an image. Its hashed frames and what the decoder
     * saw; owned by the pipeline, valid until emit() returns. `status` is
     * the video's: PHM_OK; PHM_WARN_RECOVERED (accept_recovered: damaged
     * packets skipped); or an error, and then video->count frames hashed
     * before it are still there (the message says how far decoding got).
     * width and height above are the first frame's. */
    const phm_vpdq *video;
    int stdin_video;       /* the video read from standard input ("-") */
    /* An animated image with animation_frames: the record is an image (pdq
     * its first frame, as without the option) and `video` holds the frames
     * hashed (phm_hash_animation_mem; status is then the animation's:
     * after an error the frames before it are kept, as for a video). */
    int animated;
    /* The image's extras asked (trim, cuts, soft, corners: its content
     * inside a border, its cuts, its soft hash, a rotation's corners;
     * phm_hash_file_query), for phm_query_match_options. All zero when not
     * asked, when the image is not hashed and for an animation matched by
     * its frames. (query.pdq is pdq above.) */
    phm_query_hashes query;
    void *user;            /* hooks->record_user_size bytes for this slot,
                              zeroed once at start; NULL if size is 0 */
} hash_record;

typedef struct pipeline_hooks {
    void *ctx; /* passed to every hook */
    /* Optional, in each worker thread before its first record (e.g. open a
     * per-thread index cursor). Nonzero stops the run, message in err. */
    int (*thread_start)(void *ctx, int thread, void **thread_state,
                        char *err, size_t errlen);
    /* Optional, in each worker thread after its last record. */
    void (*thread_end)(void *ctx, int thread, void *thread_state);
    /* Optional, in the worker thread that hashed `rec`, right after, for
     * every record (errors too); calls for different records run in
     * parallel. May fill rec->user. */
    void (*work)(void *ctx, void *thread_state, hash_record *rec);
    /* Required: each record in input order, one call at a time (not always
     * from the same thread). Nonzero stops the run (e.g. a write error),
     * message in err. */
    int (*emit)(void *ctx, const hash_record *rec, char *err, size_t errlen);
    size_t record_user_size;
    /* Optional (--resume), in input order as each input is enumerated,
     * one call at a time: 0 to hash it, 1 to leave it out (done before:
     * no record, no stats; it counts as done in the progress line), or
     * negative to stop the run (message in err). */
    int (*admit)(void *admit_ctx, const input_item *item, char *err,
                 size_t errlen);
    void *admit_ctx;
} pipeline_hooks;

typedef struct pipeline_config {
    int threads;             /* >= 1 */
    size_t window;           /* inputs in flight; 0: 64 per thread */
    phm_decode_limits limits;
    phm_simd simd;
    phm_mode mode;
    int dihedral;            /* compute the 7 other orientations too */
    unsigned digests;        /* 1 << PHM_DIGEST_* bits; 0 for none */
    int accept_recovered;    /* hash recovered images (flagged), skip
                                damaged video packets */
    phm_video_options video; /* how videos are hashed; its threads are per
                                video, beside `threads` above */
    int read_vpdq;           /* vPDQ files are read as their videos */
    int animation_frames;    /* --animation frames: an animated GIF or WebP
                                also gets its frames (hash_record.animated) */
    int trim;                /* images: also look for a border, hash the
                                content inside it (hash_record.trim) */
    int flatten;             /* images: one with transparency also over
                                white and black (phm_query_options) */
    int cuts;                /* images: also hash them with the lower and
                                the upper third cut off (hash_record.cut) */
    int soft;                /* images: also their soft hash
                                (hash_record.soft) */
    int corners;             /* images: look for a rotation's corners
                                (hash_record.query.calm_corners) */
    int derotate;            /* images with corners: also turned back
                                (hash_record.query.derot; --robust) */
    progress *progress;      /* may be NULL */
} pipeline_config;

typedef struct pipeline_stats {
    uint64_t records;     /* emitted */
    uint64_t hashed;      /* status >= 0 */
    uint64_t failed;      /* status < 0 */
    uint64_t low_quality; /* hashed with quality < PHM_PDQ_MIN_QUALITY */
    uint64_t recovered;   /* hashed with PHM_WARN_RECOVERED */
    uint64_t bytes;       /* file bytes read */
    uint64_t videos;      /* records that are videos (hashed or not) */
    uint64_t frames;      /* video frames hashed */
    double seconds;       /* wall time of the run */
    input_counts skipped; /* symbolic links not followed */
} pipeline_stats;

/* Runs the inputs of `in` through the pipeline. Returns PHM_OK when every
 * input was emitted (some may be error records), or a negative code when
 * the run stopped early (out of memory, a list unreadable, emit() failed),
 * with the message in `err`. *stats is filled either way. */
int pipeline_run(const pipeline_config *cfg, input_source *in,
                 const pipeline_hooks *hooks, pipeline_stats *stats,
                 char *err, size_t errlen);

/* The cause part of a library message: for "cannot decode 'x.jpg':
 * premature end of data" and path "x.jpg", "premature end of data". A
 * message of another shape comes back whole. */
const char *pipeline_cause(const char *message, const char *path);

#endif /* PHM_PIPELINE_H */
