/*
 * fuzz_jxl.c - libFuzzer target: JPEG XL codestreams and containers (by
 * their signature) through libjxl and decode_jxl.c; see format_target.h for
 * what is checked. Seeds: tests/fuzz/corpus/fuzz_jxl (tiny files made by
 * cjxl: lossless, lossy, 16-bit, grey, alpha, an animation, a recompressed
 * JPEG).
 */
#define FORMAT_TARGET "fuzz_jxl"
#define FORMAT_WANTED(f) ((f) == PHM_FORMAT_JXL)
#include "format_target.h"
