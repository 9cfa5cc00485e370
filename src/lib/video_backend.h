/* video_backend.h - the interface between libphmatch and its video backend,
 * build/phmatch-video.so (src/video/), the only code linked against FFmpeg.
 * Not installed; not part of the public API.
 *
 * The backend exports one symbol, PHM_VIDEO_BACKEND_SYMBOL: a table of the
 * functions of phmatch.h's Video section that need FFmpeg. libphmatch's
 * functions of the same names (video_loader.c) open the backend with
 * dlopen() at the first video and forward to the table, so a program that
 * never meets a video never maps FFmpeg's libraries.
 *
 * The table is checked field by field before use (abi, size, version):
 * a backend of another build is refused with a message, never called.
 *
 * Adding a function: a member at the end of phm_video_backend, its entry
 * in src/video/backend.c, and its forwarder in video_loader.c (FORWARD).
 */
#ifndef PHM_VIDEO_BACKEND_H
#define PHM_VIDEO_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "phmatch.h"

/* The file name of the backend, and its exported table. */
#define PHM_VIDEO_BACKEND_FILE "phmatch-video.so"
#define PHM_VIDEO_BACKEND_SYMBOL "phm_video_backend_v1"
/* Raised whenever a member changes meaning; new members go at the end and
 * are covered by `size`. */
#define PHM_VIDEO_BACKEND_ABI 1u

/* Bounds of phm_video_options.threads and decoder_threads. */
#define PHM_VIDEO_MAX_THREADS 1024

/* In the functions below, phm_video_hasher is the backend's own hasher
 * (src/video/video.c), not libphmatch's handle that wraps it. */
typedef struct phm_video_backend {
    uint32_t abi;          /* PHM_VIDEO_BACKEND_ABI */
    uint32_t size;         /* sizeof (phm_video_backend) */
    const char *version;   /* PHM_VERSION_STRING it was built with */
    int (*hasher_new)(phm_video_hasher **out, const phm_video_options *o);
    void (*hasher_free)(phm_video_hasher *vh);
    int (*hash_file)(phm_video_hasher *vh, const char *path, phm_vpdq *out,
                     char *err, size_t errlen);
    int (*hash_fd)(phm_video_hasher *vh, int fd, const char *name,
                   phm_vpdq *out, char *err, size_t errlen);
    int (*hash_mem)(phm_video_hasher *vh, const void *data, size_t len,
                    const char *name, phm_vpdq *out, char *err,
                    size_t errlen);
    void (*versions)(char *out, size_t len);
    void (*silence_ffmpeg)(void);
} phm_video_backend;

/* Nonzero if *o is a valid phm_video_options (see phm_video_hasher_new).
 * In video_options.c, shared by libphmatch and the backend. */
int video_options_valid(const phm_video_options *o);

#endif
