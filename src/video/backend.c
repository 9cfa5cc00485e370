/* backend.c - the one symbol the video backend (phmatch-video.so) exports:
 * the table libphmatch's loader (src/lib/video_loader.c) forwards to. See
 * src/lib/video_backend.h. Everything else in the backend is hidden
 * (-fvisibility=hidden and the version script phmatch-video.map). */
#include <stdio.h>

#include "phmatch.h"
#include "video_backend.h"

/* STUB until phm_video_hash_mem() (issue 11, point 2: videos decoded from
 * memory, helper H2) is merged into src/video/video.c. The merge deletes
 * this function and sets the table's hash_mem to phm_video_hash_mem. */
static int hash_mem_stub(phm_video_hasher *vh, const void *data, size_t len,
                         const char *name, phm_vpdq *out, char *err,
                         size_t errlen)
{
    (void)vh;
    (void)data;
    (void)len;
    (void)out;
    if (err && errlen)
        snprintf(err, errlen,
                 "cannot decode video '%s': decoding from memory is not "
                 "implemented yet",
                 name ? name : "(memory)");
    return PHM_ERR_UNSUPPORTED;
}

extern const phm_video_backend phm_video_backend_v1;

__attribute__((visibility("default")))
const phm_video_backend phm_video_backend_v1 = {
    .abi = PHM_VIDEO_BACKEND_ABI,
    .size = sizeof(phm_video_backend),
    .version = PHM_VERSION_STRING,
    .hasher_new = phm_video_hasher_new,
    .hasher_free = phm_video_hasher_free,
    .hash_file = phm_video_hash_file,
    .hash_fd = phm_video_hash_fd,
    .hash_mem = hash_mem_stub,
    .versions = phm_video_versions,
    .silence_ffmpeg = phm_video_silence_ffmpeg,
};
