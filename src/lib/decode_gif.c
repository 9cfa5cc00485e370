/* decode_gif.c - GIF images (placeholder: the decoder is being written). */
#include <stdio.h>

#include <gif_lib.h>
#include "decode_internal.h"

int phm__decode_gif(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                   phm_image *img, char *err, size_t errlen)
{
    (void)dec, (void)data, (void)len, (void)img;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "GIF decoding is not built yet");
}

int phm__gif_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                  uint32_t *h, char *err, size_t errlen)
{
    (void)data, (void)len, (void)w, (void)h;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "GIF decoding is not built yet");
}

void phm__gif_version(char *out, size_t len)
{
    snprintf(out, len, "giflib %d.%d.%d", GIFLIB_MAJOR, GIFLIB_MINOR, GIFLIB_RELEASE);
}

int phm__gif_frames(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                    uint64_t max_frames, phm__frames **out, char *err, size_t errlen)
{
    (void)dec, (void)data, (void)len, (void)max_frames;
    *out = NULL;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "GIF decoding is not built yet");
}
