/* decode_jxl.c - JPEG XL images (placeholder: the decoder is being written). */
#include <stdio.h>

#include <jxl/decode.h>
#include "decode_internal.h"

int phm__decode_jxl(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                   phm_image *img, char *err, size_t errlen)
{
    (void)dec, (void)data, (void)len, (void)img;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "JPEG XL decoding is not built yet");
}

int phm__jxl_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                  uint32_t *h, char *err, size_t errlen)
{
    (void)data, (void)len, (void)w, (void)h;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "JPEG XL decoding is not built yet");
}

void phm__jxl_version(char *out, size_t len)
{
    uint32_t v = JxlDecoderVersion();
    snprintf(out, len, "libjxl %u.%u.%u", v / 1000000, v / 1000 % 1000, v % 1000);
}
