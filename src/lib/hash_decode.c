/* hash_decode.c - decode and hash in one call: the streaming JPEG path
 * where it applies, decode-then-hash elsewhere. */
#include <string.h>

#include "decode_internal.h"
#include "phmatch.h"

int phm_hash_mem(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                 const char *name, phm_mode mode, int dihedral, phm_pdq_result *out,
                 phm_image_info *info, char *err, size_t errlen)
{
    phm_image_info scratch;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    if (err && errlen)
        err[0] = '\0';
    if (!dec || !h || !out || (!data && len))
        return PHM_ERR_INVALID;
    memset(out, 0, sizeof *out);

    if (phm_format_detect(data, len) == PHM_FORMAT_JPEG)
        return phm__hash_jpeg_stream(dec, h, data, len, name, mode, dihedral, out, info,
                                     err, errlen);

    phm_image img;
    int rc = phm_decode_mem(dec, data, len, name, &img, err, errlen);
    if (rc < 0)
        return rc;
    info->width = img.width;
    info->height = img.height;
    info->format = img.format;
    int hrc = phm_hash_image(h, &img, mode, dihedral, out);
    return hrc ? hrc : rc;
}

int phm_hash_file(phm_decoder *dec, phm_hasher *h, const char *path, phm_mode mode,
                  int dihedral, phm_pdq_result *out, phm_image_info *info,
                  char *err, size_t errlen)
{
    /* Without trim, phm_hash_file_trim reads the file and calls
     * phm_hash_mem (trim.c). */
    return phm_hash_file_trim(dec, h, path, mode, dihedral, out, info, NULL, err, errlen);
}
