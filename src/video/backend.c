/* backend.c - the one symbol the video backend (phmatch-video.so) exports:
 * the table libphmatch's loader (src/lib/video_loader.c) forwards to. See
 * src/lib/video_backend.h. Everything else in the backend is hidden
 * (-fvisibility=hidden and the version script phmatch-video.map). */
#include "phmatch.h"
#include "video_backend.h"

extern const phm_video_backend phm_video_backend_v1;

__attribute__((visibility("default")))
const phm_video_backend phm_video_backend_v1 = {
    .abi = PHM_VIDEO_BACKEND_ABI,
    .size = sizeof(phm_video_backend),
    .version = PHM_VERSION_STRING,
    .hasher_new = phm_video_hasher_new,
    .hasher_free = phm_video_hasher_free,
    .hash_file = phm_hash_video_file,
    .hash_fd = phm_hash_video_fd,
    .hash_mem = phm_hash_video_mem,
    .versions = phm_video_versions,
    .silence_ffmpeg = phm_video_silence_ffmpeg,
};
