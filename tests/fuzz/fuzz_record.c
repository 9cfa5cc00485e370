/*
 * fuzz_record.c - libFuzzer target: index format 5's entry record (record
 * version 4) and the varints of records and keys (src/lib/index_record.c,
 * src/lib/index_names.c).
 *
 * Invariants, on arbitrary bytes:
 *   - rec_decode() returns PHM_OK or PHM_ERR_CORRUPT, reading only the
 *     bytes given (ASan), with or without a names map;
 *   - the encoding is canonical: a record that decodes is exactly what
 *     rec_encode() writes for the entry decoded from it;
 *   - it decodes to the same entry with and without the names map, but for
 *     the source and category strings; rec_same() holds between it and
 *     itself;
 *   - record and key varints that decode are re-encoded to the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *names[4] = { NULL, (char *)"src", (char *)"cat", (char *)"other" };
    idx_names nm = { .str = names, .n = 4, .created = 1700000000, .loaded = 1 };
    phm_entry e, f;
    rec_extra x, y;
    int st = rec_decode(data, size, &nm, &x, &e);
    CHECK(st == PHM_OK || st == PHM_ERR_CORRUPT);
    int st0 = rec_decode(data, size, NULL, &y, &f);
    CHECK(st0 == PHM_OK || st0 == PHM_ERR_CORRUPT);
    if (st == PHM_OK) {
        CHECK(st0 == PHM_OK);
        CHECK(x.source == y.source && x.category == y.category && x.added_off == y.added_off);
        CHECK(strcmp(e.id, f.id) == 0 && e.signals == f.signals && e.quality == f.quality &&
              e.nvariants == f.nvariants && e.nframes == f.nframes);
        static uint8_t rec[REC_MAX];
        size_t n = rec_encode(&e, x.source, x.category, e.added, nm.created, rec);
        CHECK(n == size && memcmp(rec, data, size) == 0);
        CHECK(rec_same(data, size, rec, n));
    }
    uint64_t v;
    size_t n = idx_uv_get(data, size, &v);
    if (n) {
        uint8_t b[10];
        CHECK(idx_uv_put(b, v) == n && memcmp(b, data, n) == 0);
    }
    uint32_t k;
    n = idx_okey_get(data, size, &k);
    if (n) {
        uint8_t b[5];
        CHECK(idx_okey_put(b, k) == n && memcmp(b, data, n) == 0);
    }
    return 0;
}
