/* decode_heif.c - HEIF images (placeholder: the decoder is being written). */
#include <stdio.h>

#include <libheif/heif.h>
#include "decode_internal.h"

int phm__decode_heif(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                   phm_image *img, char *err, size_t errlen)
{
    (void)dec, (void)data, (void)len, (void)img;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "HEIF decoding is not built yet");
}

int phm__heif_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                  uint32_t *h, char *err, size_t errlen)
{
    (void)data, (void)len, (void)w, (void)h;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "HEIF decoding is not built yet");
}

void phm__heif_version(char *out, size_t len)
{
    snprintf(out, len, "libheif %s", heif_get_version());
}
