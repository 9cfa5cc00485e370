/*
 * fuzz_block.c - libFuzzer target: index format 6's blocks of the
 * `entries` and `keys` tables (src/lib/index_block.c).
 *
 * Input: byte 0 picks the kind (odd: entries, even: keys); for keys, byte 1
 * is the length of the LMDB key that follows (the block's first key); for
 * entries the 8 bytes after byte 0 are the LMDB key (a native u64); the
 * rest is the block.
 *
 * Invariants, on arbitrary bytes:
 *   - blk_dec_start() and blk_dec_next() return only 0, MDB_NOTFOUND (the
 *     block ended exactly after its last item) or MDB_CORRUPTED, reading
 *     only the bytes given (ASan);
 *   - keys strictly ascend, values stay within BLK_VAL_MAX;
 *   - the coding is canonical: each item decoded is exactly what
 *     blk_item_code() writes for it after the one before.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

static int cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static blk_dec d;
    static uint8_t pk[BLK_KEY_MAX], pv[BLK_VAL_MAX], item[BLK_ITEM_MAX];
    if (size < 2)
        return 0;
    int kind = data[0] & 1 ? BLK_ENTRIES : BLK_KEYS;
    size_t kl = kind == BLK_ENTRIES ? 8 : data[1];
    size_t at = kind == BLK_ENTRIES ? 1 : 2;
    if (size < at + kl)
        return 0;
    const uint8_t *lkey = data + at, *blk = data + at + kl;
    size_t len = size - at - kl;
    int rc = blk_dec_start(&d, kind, lkey, kl, blk, len);
    CHECK(rc == 0 || rc == MDB_CORRUPTED);
    size_t pkl = 0, pvl = 0, n = 0;
    while (rc == 0) {
        const uint8_t *from = d.p;
        rc = blk_dec_next(&d);
        CHECK(rc == 0 || rc == MDB_NOTFOUND || rc == MDB_CORRUPTED);
        if (rc)
            break;
        CHECK(d.klen <= BLK_KEY_MAX && d.vlen <= BLK_VAL_MAX);
        CHECK(d.p >= from && d.p <= blk + len);
        if (n)
            CHECK(cmp(pk, pkl, d.key, d.klen) < 0);
        size_t w = blk_item_code(kind, n == 0, pk, pkl, pv, pvl, d.key, d.klen, d.val, d.vlen,
                                 item);
        CHECK(w == (size_t)(d.p - from) && memcmp(item, from, w) == 0);
        memcpy(pk, d.key, d.klen);
        pkl = d.klen;
        memcpy(pv, d.val, d.vlen);
        pvl = d.vlen;
        n++;
    }
    if (rc == MDB_NOTFOUND)
        CHECK(n == d.n && n >= 1 && n <= BLK_MAX_ITEMS);
    return 0;
}
