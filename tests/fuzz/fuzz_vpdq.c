/*
 * fuzz_vpdq.c - libFuzzer target: vPDQ text (phm_vpdq_parse), the hash
 * files `phmatch compare` reads.
 *
 * Beyond "no crash, leak or UB":
 *   - the status is OK or one of the documented errors, and an error
 *     message names the input and says what is wrong ("cannot parse vPDQ
 *     'fuzz': ..."); on error the frames before the bad line are kept;
 *   - parsed frames are in range (quality 0..100, timestamp finite, >= 0),
 *     at most one per line;
 *   - every frame written back with phm_vpdq_format_frame() parses to the
 *     same frame number, quality and hash, and the timestamp to 3 decimals;
 *   - phm_vpdq_detect() accepts text whose first line parsed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[PHM_ERRMSG_MAX];
    phm_vpdq v, back;
    size_t lines = 1;

    if (size > (1u << 20))
        return 0;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    phm_vpdq_init(&v);
    phm_vpdq_init(&back);
    int rc = phm_vpdq_parse(text, size, "fuzz", &v, err, sizeof err);
    CHECK(rc == PHM_OK || rc == PHM_ERR_CORRUPT || rc == PHM_ERR_TOO_LARGE ||
          rc == PHM_ERR_NOMEM);
    if (rc != PHM_OK)
        CHECK(strncmp(err, "cannot parse vPDQ 'fuzz': ", 26) == 0 && err[26]);
    CHECK(v.count <= lines);
    for (size_t i = 0; i < v.count; i++) {
        CHECK(v.frames[i].quality >= 0 && v.frames[i].quality <= 100);
        CHECK(isfinite(v.frames[i].timestamp) && v.frames[i].timestamp >= 0);
    }

    /* Written back and read again. */
    char *out = malloc(v.count * PHM_VPDQ_LINE_MAX + 1);
    size_t len = 0;
    CHECK(out != NULL);
    for (size_t i = 0; i < v.count; i++) {
        size_t n = phm_vpdq_format_frame(&v.frames[i], out + len);
        CHECK(n > 0 && n < PHM_VPDQ_LINE_MAX && out[len + n - 1] == '\n');
        len += n;
    }
    CHECK(phm_vpdq_parse(out, len, NULL, &back, err, sizeof err) == PHM_OK);
    CHECK(back.count == v.count);
    for (size_t i = 0; i < v.count; i++) {
        const phm_vpdq_frame *a = &v.frames[i], *b = &back.frames[i];
        CHECK(a->frame == b->frame && a->quality == b->quality);
        CHECK(memcmp(&a->hash, &b->hash, sizeof a->hash) == 0);
        double want = a->timestamp > 1e15 ? 1e15 : a->timestamp;
        CHECK(fabs(want - b->timestamp) <= 0.0006 + want * 1e-15);
    }
    if (v.count)
        CHECK(phm_vpdq_detect(out, len < PHM_VPDQ_LINE_MAX ? len : PHM_VPDQ_LINE_MAX));
    /* The input's own first line, when it is the first frame. */
    if (rc == PHM_OK && v.count && size && data[0] != '\n' && data[0] != '\r') {
        const char *nl = memchr(text, '\n', size);
        if ((size_t)((nl ? nl : text + size) - text) < PHM_VPDQ_LINE_MAX)
            CHECK(phm_vpdq_detect(text, size < PHM_VPDQ_LINE_MAX ? size
                                                                 : PHM_VPDQ_LINE_MAX));
    }
    free(out);
    phm_vpdq_clear(&v);
    phm_vpdq_clear(&back);
    return 0;
}
