/* decode_webp.c - WebP images (placeholder: the decoder is being written). */
#include <stdio.h>

#include <webp/decode.h>
#include "decode_internal.h"

int phm__decode_webp(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                   phm_image *img, char *err, size_t errlen)
{
    (void)dec, (void)data, (void)len, (void)img;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "WebP decoding is not built yet");
}

int phm__webp_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                  uint32_t *h, char *err, size_t errlen)
{
    (void)data, (void)len, (void)w, (void)h;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "WebP decoding is not built yet");
}

void phm__webp_version(char *out, size_t len)
{
    int v = WebPGetDecoderVersion();
    snprintf(out, len, "libwebp %d.%d.%d", v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff);
}

int phm__webp_frames(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                     uint64_t max_frames, phm__frames **out, char *err, size_t errlen)
{
    (void)dec, (void)data, (void)len, (void)max_frames;
    *out = NULL;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "WebP decoding is not built yet");
}
