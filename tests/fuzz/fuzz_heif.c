/*
 * fuzz_heif.c - libFuzzer target: HEIF/HEIC and AVIF files (by their ftyp
 * brands) through libheif and decode_heif.c; see format_target.h for what
 * is checked. Seeds: tests/fuzz/corpus/fuzz_heif (tiny files made by
 * ImageMagick, heif-enc and tests/cli/heif_build.py: lossy, 10-bit,
 * alpha, monochrome, rotated, mirrored, cropped, a 2x2 grid).
 *
 * libheif 1.15's dav1d plugin leaks dav1d's 40-byte data reference when
 * dav1d refuses the data (an AV1 item of zero bytes): suppressed here, as
 * nothing outside libheif can free it (docs/PDQ.md notes it).
 */
#define FORMAT_LEAKS "leak:libdav1d.so\n"
#define FORMAT_TARGET "fuzz_heif"
#define FORMAT_WANTED(f) ((f) == PHM_FORMAT_HEIF || (f) == PHM_FORMAT_AVIF)
#include "format_target.h"
