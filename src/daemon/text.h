/*
 * text.h - the small text codecs of requests: percent-escapes and media
 * types (hex is the library's, phm_hex_*). Pure functions on plain buffers (fuzzed by
 * tests/fuzz/fuzz_request.c).
 */
#ifndef SVC_TEXT_H
#define SVC_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Percent-decodes [s, s+n) into out (outlen bytes, NUL-terminated); '+'
 * is a space when `plus` (query strings). Refuses NUL bytes, malformed
 * escapes and results longer than outlen - 1: 0 or -1. */
int pct_decode(const char *s, size_t n, int plus, char *out, size_t outlen);

/* Whether the Content-Type value `ct` (may be NULL) is the media type
 * `want`, alone or followed by parameters (case-insensitive). */
int content_type_is(const char *ct, const char *want);

#endif /* SVC_TEXT_H */
