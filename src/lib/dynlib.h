/* dynlib.h - libraries opened at their first use (dynlib.c).
 *
 * libheif, libjxl, libtiff and libxml2 are not linked: loading them (and
 * through them x265, libde265, dav1d, aom, libhwy, libstdc++, ICU, jbig,
 * Lerc, zstd...) ran their static initialisers and relocations at every
 * start of every program, libhwy's timer calibration among them, which
 * made `phmatch hash` of one small JPEG cost 5.5 times djpeg's CPU
 * (bench/startup.sh). They are opened with dlopen() at the first HEIF,
 * AVIF, JPEG XL or TIFF file or NCMEC list, like the video backend, by
 * their SONAME (the one the build compiled against), and their functions
 * are called through the tables below: each field has the name and type of
 * the function. */
#ifndef PHM_DYNLIB_H
#define PHM_DYNLIB_H

#include <stddef.h>

#include <jxl/decode.h>
#include <libheif/heif.h>
#include <libxml/xmlreader.h>
#include <tiffio.h>

#define PHM__HEIF_FUNCS(X)                                                                \
    X(heif_get_version) X(heif_context_alloc) X(heif_context_free)                        \
    X(heif_context_set_max_decoding_threads) X(heif_context_set_maximum_image_size_limit) \
    X(heif_context_read_from_memory_without_copy) X(heif_context_get_primary_image_handle) \
    X(heif_image_handle_get_width) X(heif_image_handle_get_height)                        \
    X(heif_image_handle_get_ispe_width) X(heif_image_handle_get_ispe_height)              \
    X(heif_image_handle_release) X(heif_decoding_options_alloc)                           \
    X(heif_decoding_options_free) X(heif_decode_image) X(heif_image_release)              \
    X(heif_image_get_width) X(heif_image_get_height) X(heif_image_get_bits_per_pixel)     \
    X(heif_image_get_plane_readonly) X(heif_image_has_channel)                            \
    X(heif_image_handle_has_alpha_channel) X(heif_image_handle_is_premultiplied_alpha)

#define PHM__JXL_FUNCS(X)                                                                 \
    X(JxlDecoderVersion) X(JxlDecoderCreate) X(JxlDecoderDestroy)                         \
    X(JxlDecoderSubscribeEvents) X(JxlDecoderSetInput) X(JxlDecoderProcessInput)          \
    X(JxlDecoderGetBasicInfo) X(JxlDecoderImageOutBufferSize)                             \
    X(JxlDecoderSetImageOutBuffer)

#define PHM__TIFF_FUNCS(X)                                                                \
    X(TIFFGetVersion) X(TIFFClientOpenExt) X(TIFFClose) X(TIFFComputeTile)                \
    X(TIFFGetField) X(TIFFGetFieldDefaulted) X(TIFFIsTiled) X(TIFFOpenOptionsAlloc)       \
    X(TIFFOpenOptionsFree) X(TIFFOpenOptionsSetErrorHandlerExtR)                          \
    X(TIFFOpenOptionsSetMaxSingleMemAlloc) X(TIFFOpenOptionsSetWarningHandlerExtR)        \
    X(TIFFReadEncodedStrip) X(TIFFReadEncodedTile) X(TIFFSetField) X(TIFFScanlineSize64)     \
    X(TIFFTileRowSize64) X(TIFFTileSize64) X(TIFFVStripSize64)

#define PHM__XML_FUNCS(X)                                                                 \
    X(xmlTextReaderMoveToAttribute) X(xmlTextReaderMoveToElement) X(xmlFreeTextReader) X(xmlInitParser) X(xmlReaderForIO)                  \
    X(xmlTextReaderConstLocalName) X(xmlTextReaderConstValue) X(xmlTextReaderDepth)       \
    X(xmlTextReaderGetParserLineNumber)                      \
    X(xmlTextReaderIsEmptyElement) X(xmlTextReaderNodeType) X(xmlTextReaderRead)          \
    X(xmlTextReaderSetErrorHandler)

#define PHM__DYNLIB_FIELD(f) __typeof__(f) *f;

typedef struct phm__heif_lib {
    PHM__HEIF_FUNCS(PHM__DYNLIB_FIELD)
} phm__heif_lib;

typedef struct phm__jxl_lib {
    PHM__JXL_FUNCS(PHM__DYNLIB_FIELD)
} phm__jxl_lib;

typedef struct phm__tiff_lib {
    PHM__TIFF_FUNCS(PHM__DYNLIB_FIELD)
} phm__tiff_lib;

typedef struct phm__xml_lib {
    PHM__XML_FUNCS(PHM__DYNLIB_FIELD)
} phm__xml_lib;

/* The library's table, loaded at the first call (once per process, by
 * any thread), or NULL: then `err` says "cannot decode 'NAME': libheif
 * could not be loaded: <dlerror()>" and the caller returns
 * PHM_ERR_UNSUPPORTED. */
const phm__heif_lib *phm__heif_lib_get(const char *name, char *err, size_t errlen);
const phm__jxl_lib *phm__jxl_lib_get(const char *name, char *err, size_t errlen);
const phm__tiff_lib *phm__tiff_lib_get(const char *name, char *err, size_t errlen);
/* libxml2's: `err` holds "libxml2 could not be loaded: ..." (no file name:
 * the hash-list reader adds its own). */
const phm__xml_lib *phm__xml_lib_get(char *err, size_t errlen);

/* The table of a library whose _get() has succeeded, for the code called
 * after that (every libtiff call in decode_tiff.c goes through it). */
const phm__tiff_lib *phm__tiff_lib_loaded(void);

#endif
