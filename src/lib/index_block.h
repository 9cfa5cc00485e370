/* index_block.h - the blocked map of index format 6 (index_block.c):
 * the `entries` and `keys` tables as sorted runs of items packed into
 * blocks, one LMDB row per block (docs/INDEX_FORMAT.md "Entries and keys
 * in blocks"). Not installed.
 *
 * An item is a (key, value) pair of bytes; items ascend by key (memcmp,
 * shorter first) across the whole table. A block is stored under its first
 * item's key and holds up to BLK_MAX_ITEMS items, each coded relative to
 * the one before it:
 *   BLK_ENTRIES: key = entry number, 8 bytes big-endian here (the LMDB key
 *                is the native u64 of an MDB_INTEGERKEY table), coded as
 *                the gap from the previous one; value = the entry record,
 *                coded as shared prefix, shared suffix and the bytes
 *                between;
 *   BLK_KEYS:    key = idx_key bytes, front-coded; value = the entry
 *                number, 8 bytes big-endian here, coded as the zigzag
 *                difference from the previous one.
 * Block: u8 kind, varint n (1..BLK_MAX_ITEMS), then the n items; item 0's
 * key is the LMDB key and is not repeated. */
#ifndef PHM_INDEX_BLOCK_H
#define PHM_INDEX_BLOCK_H

#include "index_internal.h"

#define BLK_ENTRIES 1
#define BLK_KEYS 2
/* Appends fill a block until its row (key and value) would pass
 * BLK_ROW_MAX bytes (`entries`: BLK_ENTRIES_ROW_MAX): LMDB puts four
 * such rows (twelve) in a 4 KiB page (each costs 2 + 8 + key + value
 * bytes, rounded up to even, of the 4,080 after the page header);
 * `entries` rows are smaller because a lookup decodes the block up to
 * its record. Changes split blocks into parts of about the row size - 20
 * bytes of items, and merge one of less than a quarter of that with the
 * next. A block holds at most BLK_MAX_ITEMS items. BLK_TARGET: the
 * largest of those. */
#define BLK_ROW_MAX 1010
#define BLK_ENTRIES_ROW_MAX 330
#define BLK_TARGET 990
#define BLK_MAX_ITEMS 512
#define BLK_KEY_MAX (IDX_KEY_MAX > 8 ? IDX_KEY_MAX : 8)
#define BLK_VAL_MAX (REC_MAX > 8 ? REC_MAX : 8)
/* Worst-case bytes of one coded item, and of a block's header. */
#define BLK_ITEM_MAX (3 * 10 + BLK_KEY_MAX + BLK_VAL_MAX)
#define BLK_HEADER_MAX 11

/* Reads a block's items in order. The current item is key/klen and
 * val/vlen, valid until the next call. */
typedef struct blk_dec {
    int kind;
    const uint8_t *p, *end;
    size_t n, left; /* items in the block, items not yet read */
    uint8_t key[BLK_KEY_MAX];
    size_t klen;
    uint8_t vbuf[2][BLK_VAL_MAX];
    int cur;
    const uint8_t *val;
    size_t vlen;
} blk_dec;

/* Starts reading block blk (len bytes) stored under LMDB key lkey. 0 or
 * MDB_CORRUPTED (bad header or key). */
int blk_dec_start(blk_dec *d, int kind, const void *lkey, size_t lklen, const void *blk,
                  size_t len);
/* Reads the next item: 0, MDB_NOTFOUND after the last (when the block
 * ended exactly there), or MDB_CORRUPTED. Keys must strictly ascend. */
int blk_dec_next(blk_dec *d);

/* Codes item (k, v) after item (pk, pv) into out (BLK_ITEM_MAX bytes);
 * first: the first item of a block (key implied, value from nothing).
 * Returns the bytes written. k must be greater than pk. */
size_t blk_item_code(int kind, int first, const uint8_t *pk, size_t pkl,
                     const uint8_t *pv, size_t pvl, const uint8_t *k, size_t kl,
                     const uint8_t *v, size_t vl, uint8_t *out);

/* The LMDB key of a block whose first item key is k (buf: 8 bytes or
 * more). Returns MDB_CORRUPTED-free: a BLK_ENTRIES key must be 8 bytes. */
MDB_val blk_lmdb_key(int kind, const uint8_t *k, size_t kl, uint8_t *buf);

/* Entry numbers as BLK_ENTRIES keys and BLK_KEYS values, big-endian.
 * Written out byte by byte, which the compiler turns into one swap and
 * store (a loop it did not: a fifth of decoding an entries item). */
static inline void blk_u64_put(uint8_t b[8], uint64_t v)
{
    b[0] = (uint8_t)(v >> 56);
    b[1] = (uint8_t)(v >> 48);
    b[2] = (uint8_t)(v >> 40);
    b[3] = (uint8_t)(v >> 32);
    b[4] = (uint8_t)(v >> 24);
    b[5] = (uint8_t)(v >> 16);
    b[6] = (uint8_t)(v >> 8);
    b[7] = (uint8_t)v;
}

static inline uint64_t blk_u64_get(const uint8_t b[8])
{
    return (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 |
           (uint64_t)b[3] << 32 | (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
           (uint64_t)b[6] << 8 | (uint64_t)b[7];
}

/* Items of one or more blocks decoded for a change: offsets into bytes. */
typedef struct blk_item {
    size_t ko, kl, vo, vl;
} blk_item;
typedef struct blk_items {
    blk_item *a;
    size_t n, cap;
    uint8_t *bytes;
    size_t len, bcap;
} blk_items;

/* One table seen through one transaction. A write transaction appends
 * through the tail: the last block kept in memory, written when it is
 * full, before any other operation of the map, and by blk_flush. */
typedef struct blk_map {
    MDB_txn *txn;
    MDB_dbi dbi;
    int kind;
    int tail_on;     /* the tail holds the table's last block (or the table is empty) */
    int tail_dirty;  /* it differs from what is stored */
    int tail_stored; /* a block is stored under its first key */
    uint8_t tfirst[BLK_KEY_MAX], tkey[BLK_KEY_MAX];
    size_t tfirst_len, tkey_len, tn;
    uint8_t *tval; /* BLK_VAL_MAX bytes */
    size_t tval_len;
    uint8_t *body; /* the tail's coded items */
    size_t body_len, body_cap;
    blk_items it; /* scratch of changes */
    blk_dec *dec; /* scratch decoder */
    /* blk_map_cache: the items of the last get's block decoded so far
     * (all: cache_done; the decoder `dec` rests after them), and the
     * snapshot (mdb_txn_id) it was read in */
    int cache_on, cache_valid, cache_done;
    size_t cache_txn;
    blk_items cache;
} blk_map;

/* A map of table dbi (kind BLK_ENTRIES or BLK_KEYS) in txn; allocates
 * nothing until used. blk_map_free releases it (without writing the
 * tail: call blk_flush first to keep it). */
void blk_map_init(blk_map *m, MDB_txn *txn, MDB_dbi dbi, int kind);
/* Makes blk_get keep the last block it read decoded, for gets of its
 * other items (a search's hits are often neighbours), while the snapshot
 * (mdb_txn_id of m->txn) stays the same. Only for maps that do not change
 * the table (a read transaction's). */
void blk_map_cache(blk_map *m);
void blk_map_free(blk_map *m);
/* Writes the tail if it has changed. 0 or an LMDB code. */
int blk_flush(blk_map *m);
/* The value of key k into val (BLK_VAL_MAX bytes): 0, MDB_NOTFOUND,
 * MDB_CORRUPTED, ENOMEM or an LMDB code. */
int blk_get(blk_map *m, const uint8_t *k, size_t kl, uint8_t *val, size_t *vl);
/* Stores (k, v), replacing k's value if it has one. */
int blk_put(blk_map *m, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl);
/* Appends (k, v): k must be greater than every stored key (else
 * MDB_KEYEXIST, nothing changed). */
int blk_append(blk_map *m, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl);
/* Deletes k: 0 or MDB_NOTFOUND. */
int blk_del(blk_map *m, const uint8_t *k, size_t kl);
/* Deletes n keys, ascending: key i is bytes [end[i - 1], end[i]) (key 0
 * from 0), each block that holds some decoded and rewritten once (a
 * small rest merged with the next block, as blk_del does). 0,
 * MDB_NOTFOUND (a key not stored; keys before it may be deleted: abort
 * the transaction), ENOMEM or an LMDB code. */
int blk_del_many(blk_map *m, const uint8_t *bytes, const size_t *end, size_t n);
/* The greatest key (k: BLK_KEY_MAX bytes): 0 or MDB_NOTFOUND. */
int blk_last(blk_map *m, uint8_t *k, size_t *kl);
/* Items in the table (reads every block's header). */
int blk_count(blk_map *m, uint64_t *n);

/* Walks the items from the first key >= k (k NULL: from the first) in
 * order. blk_iter_next: 0 (the item is it->d->key, ->val), MDB_NOTFOUND at
 * the end, MDB_CORRUPTED (also when blocks do not ascend), or an LMDB
 * code. The map's tail is written first; the table must not change
 * while the walk lasts. */
typedef struct blk_iter {
    blk_map *m;
    MDB_cursor *c;
    blk_dec *d;
    int started, inblock;
    uint8_t from[BLK_KEY_MAX], prev[BLK_KEY_MAX];
    size_t from_len, prev_len;
    int has_from, has_prev;
    uint64_t blocks; /* blocks read */
} blk_iter;
int blk_iter_open(blk_iter *it, blk_map *m, const uint8_t *k, size_t kl);
int blk_iter_next(blk_iter *it);
void blk_iter_close(blk_iter *it);

/* Entries and keys through maps: the record of entry eid, and the entry
 * number of a keys key. */
int blk_entry_get(blk_map *m, uint64_t eid, uint8_t *rec, size_t *len);
int blk_key_get(blk_map *m, const uint8_t *k, size_t kl, uint64_t *eid);

#endif
