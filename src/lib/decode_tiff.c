/* decode_tiff.c - TIFF images (placeholder: the decoder is being written). */
#include <stdio.h>

#include <string.h>
#include <tiffio.h>
#include "decode_internal.h"

int phm__decode_tiff(phm_decoder *dec, const uint8_t *data, size_t len, const char *name,
                   phm_image *img, char *err, size_t errlen)
{
    (void)dec, (void)data, (void)len, (void)img;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "TIFF decoding is not built yet");
}

int phm__tiff_probe(const uint8_t *data, size_t len, const char *name, uint32_t *w,
                  uint32_t *h, char *err, size_t errlen)
{
    (void)data, (void)len, (void)w, (void)h;
    return phm__fail(PHM_ERR_UNSUPPORTED, err, errlen, name, "TIFF decoding is not built yet");
}

void phm__tiff_version(char *out, size_t len)
{
    /* TIFFGetVersion() is a multi-line banner; its first line names the version. */
    const char *v = TIFFGetVersion();
    const char *num = strstr(v, "Version ");
    num = num ? num + 8 : v;
    size_t n = strcspn(num, "\n");
    snprintf(out, len, "libtiff %.*s", (int)n, num);
}
