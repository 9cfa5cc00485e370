/* decode_bmp.c - BMP images (placeholder: the decoder is being written). */
#include <stdio.h>


#include "decode_internal.h"

int phm__decode_bmp(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                   phm_image *img, char *err, size_t errlen)
{
    (void)dec, (void)data, (void)len, (void)img;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "BMP decoding is not built yet");
}

int phm__bmp_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                  uint32_t *h, char *err, size_t errlen)
{
    (void)data, (void)len, (void)w, (void)h;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "BMP decoding is not built yet");
}

