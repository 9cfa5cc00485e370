/* index_internal.h - the known-material index: shared structures of
 * index*.c. The on-disk schema is docs/INDEX_FORMAT.md; keep the two in
 * step. Not installed. */
#ifndef PHM_INDEX_INTERNAL_H
#define PHM_INDEX_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hamming.h"
#include "mih.h"
#include "phmatch.h"

/* ---- schema ------------------------------------------------------ */

#define IDX_MAGIC "phmatch-index"
#define IDX_BYTE_ORDER 0x01020304u
#define IDX_MAXDBS 16
#define IDX_MAXREADERS 510

/* Signal-type bytes, used in keys (docs/INDEX_FORMAT.md). */
enum {
    IDX_SIG_PDQ = 1,
    IDX_SIG_MD5 = 2,
    IDX_SIG_SHA1 = 3,
    IDX_SIG_SHA256 = 4,
};

/* Kinds of search-structure blobs (db "search", key: signal, kind,
 * table, 0). */
enum {
    IDX_BLOB_HASHES = 'H',   /* per segment (IDX_HSEG_*): pad, then hashes in slot order */
    IDX_BLOB_EIDS = 'E',     /* entry numbers, ascending, coded: index_eids.c */
    IDX_BLOB_OFFSETS = 'O',  /* per table, its directory, MIH_DIR_BYTES */
    IDX_BLOB_POSTINGS = 'P', /* per table, its area, mih_area_bytes */
};

/* Entry numbers of the base are u32: the largest an index hands out, and
 * the code (beside LMDB's) an add past it fails with (idx_mdb_err). */
#define IDX_MAX_EID 0xffffffffu
#define IDX_ERR_EIDS_USED (-30700)
/* The file is shorter than the pages LMDB may read through its map (cut
 * short under an open handle): idx_txn_begin's code, idx_mdb_err's
 * PHM_ERR_INDEX_TRUNCATED. */
#define IDX_ERR_TRUNCATED (-30701)

/* The base's entry numbers ('E' blob, index format 6; index_eids.c):
 * blocks of IDX_EIDS_BLOCK slots, each its first number and fixed-width
 * differences. idx_eids_bytes: the coding's size for eids[0..n) (ascending,
 * each < 2^32); idx_eids_encode writes it (that many bytes); a blob read
 * from a file is used only after idx_eids_size_ok (its sizes agree with
 * bytes and n: then idx_base_eid reads inside it whatever the rest holds);
 * idx_eids_check: the rest canonical (0, or -1 and why); idx_base_eid:
 * slot i's number (i < n), O(1). Any alignment. */
#define IDX_EIDS_BLOCK 64
size_t idx_eids_bytes(const uint64_t *eids, size_t n);
void idx_eids_encode(const uint64_t *eids, size_t n, void *out);
int idx_eids_size_ok(const void *blob, size_t bytes, size_t n);
/* The base's 'E' blob for a base of n slots, checked by idx_eids_size_ok,
 * into *out (in the map) and *bytes; absent (*out NULL, 0 bytes) only
 * while the base is empty and was never built. 0, MDB_CORRUPTED or an
 * LMDB code. */
int idx_base_eids_get(const phm_index *idx, MDB_txn *txn, size_t n, const void **out,
                      size_t *bytes);
int idx_eids_check(const void *blob, size_t n, char *why, size_t whylen);
uint64_t idx_base_eid(const void *eblob, size_t i);

/* The map a handle asks for when its caller gives no size. Under
 * ThreadSanitizer (`make tsan`) 16 GiB: TSan's layout of a process
 * leaves about 1.5 TiB of address space for mappings, so at 1 TiB a
 * second index open in the same process would fail with ENOMEM. */
#if defined(__has_feature) /* clang */
#if __has_feature(thread_sanitizer)
#define IDX_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(IDX_TSAN) /* GCC's, clang's */
#define IDX_DEFAULT_MAPSIZE ((size_t)1 << 34)
#else
#define IDX_DEFAULT_MAPSIZE PHM_INDEX_DEFAULT_MAPSIZE
#endif

/* LMDB cannot write a value of 2 GiB or more without MDB_WRITEMAP (it
 * writes a value's overflow pages with one pwrite(), which Linux caps at
 * 0x7ffff000 bytes, and reports the short write as EIO), so no blob may
 * reach it: the hashes ('H') are cut into segments of at most
 * IDX_HSEG_HASHES (1 GiB), each table's area is a blob of its own ('P' t).
 * An 'H' segment starts with IDX_HSEG_PAD(page size) zero bytes, so that
 * its hashes start on a page of the file: LMDB puts an overflow value
 * IDX_OVERFLOW_HDR bytes (its page header) into its first page. Readers
 * then map the segments' pages side by side into one contiguous array. */
#define IDX_HSEG_HASHES ((size_t)1 << 25)
#define IDX_HSEG_MAX 255
#define IDX_OVERFLOW_HDR 16
#define IDX_HSEG_PAD(psize) ((size_t)(psize) - IDX_OVERFLOW_HDR)

/* What a loaded base owns besides the map: copies of misaligned blobs
 * (malloc'd) and the contiguous mapping of a segmented 'H'.
 * idx_base_mem_free releases both and zeroes it. */
typedef struct idx_base_mem {
    void *copy[2 + 2 * MIH_TABLES];
    void *map;
    size_t map_len;
} idx_base_mem;
void idx_base_mem_free(idx_base_mem *m);

/* index_hot.c. idx_hot_get: the copy of the
 * base `base` (id base_id, of snapshot txn) in *out, shared (made if the
 * index has none of that base; PHM_OK with *out NULL for an empty base);
 * PHM_ERR_NOMEM or PHM_ERR_UNREADABLE when it cannot be made (the caller
 * then searches the map). idx_hot_release drops a reference. */
typedef struct idx_hot idx_hot;
int idx_hot_get(phm_index *idx, MDB_txn *txn, uint64_t base_id, const mih_view *base,
                idx_hot **out);
void idx_hot_release(idx_hot *h);

/* meta "base": describes the compacted PDQ structure. */
typedef struct idx_base_header {
    uint32_t version;   /* IDX_BASE_VERSION */
    uint32_t tables;    /* 0 (scan only) or MIH_TABLES */
    uint64_t n;         /* hashes in the base */
    uint64_t base_id;   /* changes at every rebuild */
    uint64_t eid_bound; /* every PDQ entry below this is in the base */
    int64_t built;      /* unix seconds; 0 = never */
} idx_base_header;
#define IDX_BASE_VERSION 1

/* Entry record layout (db "entries"; all integers little-endian). */
#define REC_VERSION 1
/* Version 2 (index format 3): photodna and attrs follow the note; written
 * only for an entry that has either, so other records stay version 1. */
#define REC_VERSION_EXTRA 2
/* Version 3 (index format 4): photodna and attrs (either may be empty),
 * then the stored variants: u8 n (1..PHM_INDEX_MAX_VARIANTS), n x (u8
 * code, 32-byte hash); written only for an entry that has variants. */
#define REC_VERSION_VARIANTS 3
#define REC_VARIANT_BYTES 33
#define REC_FLAG_PDQ 0x01
#define REC_FLAG_VPDQ 0x02   /* a video: u32 frames, u32 0 where a PDQ hash goes */
#define REC_HEADER 16        /* version, flags, digests, 0, quality, 0, added */
#define REC_ADDED_OFFSET 8   /* the one field ignored when comparing */
#define REC_MAX                                                        \
    (REC_HEADER + 32 + 16 + 20 + 32 + 4 * 3 + PHM_INDEX_MAX_SOURCE +    \
     PHM_INDEX_MAX_ID + PHM_INDEX_MAX_CATEGORY + PHM_INDEX_MAX_NOTE + 4 + \
     2 * 3 + PHM_INDEX_MAX_PHOTODNA + PHM_INDEX_MAX_ATTRS + 1 +          \
     REC_VARIANT_BYTES * PHM_INDEX_MAX_VARIANTS)
/* (source, id) key of the governance tables: source, NUL, id (the
 * `keys` table's are idx_key's). */
#define KEY_MAX (PHM_INDEX_MAX_SOURCE + 1 + PHM_INDEX_MAX_ID)

/* ---- format 5 (issue 17): compact records, names, keys ------------ */

/* Entry record version 4 (index format 5; docs/INDEX_FORMAT.md "Entry
 * record"): varints, source and category as name numbers, no hashes. */
#define REC_VERSION_COMPACT 4
#define REC_F_PDQ 0x001
#define REC_F_VPDQ 0x002
#define REC_F_MD5 0x004
#define REC_F_SHA1 0x008
#define REC_F_SHA256 0x010
#define REC_F_NUMID 0x020 /* the id is a decimal number, stored as a varint */
#define REC_F_NOTE 0x040
#define REC_F_PHOTODNA 0x080
#define REC_F_ATTRS 0x100
#define REC_F_VARIANTS 0x200
#define REC_F_ALL 0x3ff
/* A decimal id without leading zeros fitting u64: at most 20 digits. */
#define REC_NUMID_MAX 21

/* The number <-> name map of the `names` table, as one snapshot (or write
 * transaction) sees it; names are owned copies. */
typedef struct idx_names {
    char **str;     /* str[number], NULL where no name has that number */
    size_t n;       /* numbers 0 .. n - 1 */
    int64_t created; /* meta "created": what `added` is stored relative to */
    uint64_t gen;   /* the generation it was loaded at */
    int loaded;
} idx_names;

/* names keys: IDX_NAME_BY_STR, name -> number u32 LE; IDX_NAME_BY_NUM,
 * number u32 big-endian -> name. Number 0 is the empty category. */
#define IDX_NAME_BY_STR 1
#define IDX_NAME_BY_NUM 2
#define IDX_NAME_MAX (PHM_INDEX_MAX_SOURCE > PHM_INDEX_MAX_CATEGORY \
                          ? PHM_INDEX_MAX_SOURCE : PHM_INDEX_MAX_CATEGORY)

/* Reads every name and meta "created" of txn into nm (replacing what it
 * held). 0, ENOMEM, MDB_CORRUPTED or an LMDB code. (index_names.c) */
int idx_names_load(const phm_index *idx, MDB_txn *txn, idx_names *nm);
void idx_names_free(idx_names *nm);
/* The name of number v, or NULL. 0 is "". */
const char *idx_names_str(const idx_names *nm, uint64_t v);
/* The number of name s in txn: 0 or MDB_NOTFOUND (or an LMDB code). "" is 0. */
int idx_name_find(const phm_index *idx, MDB_txn *txn, const char *s, uint32_t *num);
/* The same, giving s the next free number when it has none (write
 * transaction; nm, if not NULL, learns it). */
int idx_name_make(const phm_index *idx, MDB_txn *txn, idx_names *nm, const char *s,
                  uint32_t *num);
/* Order-preserving, prefix-free varint of a u32 (1 to 5 bytes): what keys
 * use. get: bytes read, or 0 if p does not start with a shortest form. */
size_t idx_okey_put(uint8_t *p, uint32_t v);
size_t idx_okey_get(const uint8_t *p, size_t len, uint32_t *v);
/* LEB128 varint (1 to 10 bytes) of a u64; get: bytes read, 0 if not a
 * shortest form within len. */
size_t idx_uv_put(uint8_t *p, uint64_t v);
size_t idx_uv_get(const uint8_t *p, size_t len, uint64_t *v);
/* keys value: the entry number as a LEB128 varint, exactly. */
#define IDX_EID_VAL_MAX 10
int idx_eid_val(const MDB_val *v, uint64_t *eid);
/* keys key: source number (okey), id bytes. */
#define IDX_KEY_MAX (5 + PHM_INDEX_MAX_ID)
size_t idx_key(uint32_t source, const char *id, uint8_t *buf);
/* The entry number of (source, id) in txn: 0, MDB_NOTFOUND, MDB_CORRUPTED
 * or an LMDB code. */
int idx_entry_find(const phm_index *idx, MDB_txn *txn, const char *source,
                   const char *id, uint64_t *eid);
/* counts key: source number, category number (okey each). */
#define IDX_GROUP_KEY_MAX 10
size_t idx_group_key(uint32_t source, uint32_t category, uint8_t *buf);
int idx_group_key_parse(const void *key, size_t len, uint32_t *source,
                        uint32_t *category);

/* What decoding a record gives besides the entry: its name numbers, where
 * `added` starts (rec_same), and a numeric id's text (out->id points
 * here, so this must live as long as the entry). */
typedef struct rec_extra {
    uint32_t source, category;
    size_t added_off;
    char numid[REC_NUMID_MAX];
} rec_extra;

/* Entry hashes of a PDQ entry (its own, then its variants') from the
 * search structures of txn: the base's 'H' and 'E' blobs below the eid
 * bound, `delta` at or above it. *n = 0 if none. 0, MDB_CORRUPTED, or an
 * LMDB code; more than max: MDB_CORRUPTED. (index_slots.c) */
int idx_entry_hashes(phm_index *idx, MDB_txn *txn, uint64_t eid, phm_pdq *out,
                     size_t max, size_t *n);
/* The same for walks in ascending entry numbers: the reader keeps its place
 * in the base. */
typedef struct idx_slots {
    phm_index *idx;
    MDB_txn *txn;
    idx_base_header h;
    const uint8_t *eids;               /* the base's 'E' blob */
    const phm_pdq *seg[IDX_HSEG_MAX];  /* and its 'H' segments */
    size_t segn[IDX_HSEG_MAX], nseg;
    size_t n, pos;
    MDB_cursor *delta;
} idx_slots;
int idx_slots_open(idx_slots *r, phm_index *idx, MDB_txn *txn);
int idx_slots_get(idx_slots *r, uint64_t eid, phm_pdq *out, size_t max, size_t *n);
void idx_slots_close(idx_slots *r);
/* Slots found in memory: the first of eid's run in an ascending array of
 * n entry numbers, and the run's length (0 if absent). idx_slots_run: an
 * array of u64 (the delta's, a transaction's new hashes); idx_base_run:
 * the base's 'E' blob (index_eids.c: a binary search over its blocks). */
size_t idx_slots_run(const uint64_t *eids, size_t n, uint64_t eid, size_t *first);
size_t idx_base_run(const void *eblob, size_t n, uint64_t eid, size_t *first);
/* The run of slots numbered eid in a non-decreasing array of n read by
 * at(), its first slot searched for in [lo, hi) (both the callers above). */
size_t idx_run_within(const void *eids, size_t lo, size_t hi, size_t n, uint64_t eid,
                      size_t *first, uint64_t (*at)(const void *, size_t));
/* Fills e's own hash and its variants' from h (1 + e->nvariants hashes). */
void rec_set_hashes(phm_entry *e, const phm_pdq *h, size_t n);

/* Nonzero when stored variant `code` is a plain crop of the known image
 * (centred or at a corner; not a rotation's crop, not a soft hash): with
 * the own hash, what a query's de-rotated hash may meet (match.c), as
 * phm_soft_kind / phm_area_kind / phm_fill_kind name the other kinds.
 * The codes are in the ranges PHM_KV_* keeps them in: new codes are only
 * appended. */
int phm__crop_kind(int code);

/* A fill_below that leaves no rotation on a filled canvas out. */
#define REC_FILL_ANY (PHM_PDQ_BITS + 1)

/* The distance from q to e's own hash and its variants that are not soft
 * hashes (phm_soft_kind) nor rotations on a filled canvas (phm_fill_kind)
 * at fill_below bits or more from q (0: every such rotation left out,
 * REC_FILL_ANY: none; phm_match_options.calm_corners and corners_only),
 * or -1 when e has no variant that could be left out (the search's
 * distance, over all of e's slots, stands). index_record.c says why. */
int rec_plain_distance(const phm_entry *e, const phm_pdq *q, int fill_below);
/* phm_entry_known_variant, leaving out filled rotations as
 * rec_plain_distance does. */
const char *rec_known_variant(const phm_entry *e, const phm_pdq *query, int fill_below,
                              int *distance);

/* Validates e; on failure writes why into err and returns PHM_ERR_INVALID. */
int rec_validate(const phm_entry *e, char *err, size_t errlen);
/* Serialises a validated entry into buf (REC_MAX bytes) as record version
 * 4, with its name numbers, `added` relative to `created`; returns length. */
size_t rec_encode(const phm_entry *e, uint32_t source, uint32_t category,
                  int64_t added, int64_t created, uint8_t *buf);
/* Decodes a record version 4; PHM_OK or PHM_ERR_CORRUPT (also when nm
 * does not know a number). Strings point into rec (a numeric id into x);
 * no hashes (rec_set_hashes). Record version 4 is the record of index
 * formats 5 (one per `entries` row) and 6 (inside the blocks of
 * index_block.h): what an upgrade of format 5 reads. */
int rec_decode(const void *rec, size_t len, const idx_names *nm, rec_extra *x,
               phm_entry *out);
/* Decodes a record of index formats 2 to 4 (record versions 1 to 3, the
 * PDQ hash and the variants inside): what phm_index_upgrade reads. Same
 * contract as rec_decode. */
int rec_decode_legacy(const void *rec, size_t len, phm_entry *out);
/* Builds the (source, id) key of the governance tables; returns its length. */
size_t rec_key(const char *source, const char *id, uint8_t *buf);
/* Whether two records hold the same bytes (all but `added`); the hashes
 * are compared apart. */
int rec_same(const void *a, size_t alen, const void *b, size_t blen);
/* The searched hashes of a PDQ entry: its own hash, then its variants in
 * stored order (1 + e->nvariants; out has room for 1 +
 * PHM_INDEX_MAX_VARIANTS). */
size_t rec_slots(const phm_entry *e, phm_pdq *out);
/* Bytes of the digest of a PHM_SIG_* type, and its signal-type byte. */
size_t rec_digest_len(unsigned sig);
int rec_digest_type(unsigned sig);
/* Pointer to the digest of type sig inside e. */
const uint8_t *rec_digest_of(const phm_entry *e, unsigned sig);

/* ---- video frames (index_video.c; db "frames", key entry number) ---- */

#define VID_HEADER 16      /* version, 0, 0, 0, u32 frames, u32 hashes, u32 0 */
#define VID_FRAME_BYTES 49 /* u64 frame, f64 timestamp, u8 quality, 32 hash */
#define VID_VERSION 1

/* Checks e's frames (count, qualities, timestamps); PHM_ERR_INVALID with
 * a message naming the entry and the frame. */
int vid_validate(const phm_entry *e, char *err, size_t errlen);
/* Bytes of the frames record of n frames. */
size_t vid_bytes(size_t n);
/* Writes e's frames record (vid_bytes(e->nframes) bytes) to buf. */
void vid_encode(const phm_entry *e, uint32_t nhashes, uint8_t *buf);
/* Checks a frames record's size and header: PHM_OK or PHM_ERR_CORRUPT,
 * with its counts. */
int vid_header(const void *rec, size_t len, uint32_t *nframes,
               uint32_t *nhashes);
/* Decodes a frames record into *out (replacing its frames):
 * PHM_OK, PHM_ERR_CORRUPT or PHM_ERR_NOMEM. */
int vid_decode(const void *rec, size_t len, phm_vpdq *out);
/* The searched hashes of a video: its distinct frame hashes of quality
 * >= PHM_PDQ_MIN_QUALITY, sorted (out has room for nframes). */
size_t vid_distinct(const phm_vpdq_frame *frames, size_t nframes, phm_pdq *out);

/* ---- handles ----------------------------------------------------- */

/* What readers share for one generation: the delta (PDQ hashes added
 * since the last rebuild, searched from memory) and the removed base
 * slots. Immutable once published; reference-counted under idx->lock. */
typedef struct idx_view {
    int refs;
    uint64_t gen;
    uint64_t base_id;
    /* delta */
    size_t delta_n;
    phm_pdq *delta_hashes;
    uint64_t *delta_eids;
    mih_view delta;
    void *delta_tables; /* one allocation for the delta's tables */
    /* removed entries still in the base */
    uint64_t base_n;
    uint8_t *dead_bits; /* base_n bits, NULL if none */
    size_t dead_n;
    int multi; /* the delta holds an entry of several hashes (a video) */
} idx_view;

/* A copy of a base's search arrays in anonymous memory advised for
 * transparent huge pages (PHM_INDEX_HOT_COPY; index_hot.c): the hashes,
 * the directories and the areas, `view` pointing into it. Shared by the
 * index's searchers that see base `base_id`, reference-counted (made and
 * taken under phm_index.hot_lock). */
struct idx_hot {
    atomic_int refs; /* taken under hot_lock, released without it */
    uint64_t base_id;
    mih_view view;
    void *map; /* the mapping (view's arrays start at its first huge page) */
    size_t map_len;
};

struct phm_index {
    MDB_env *env;
    MDB_dbi db_meta, db_entries, db_keys, db_digests, db_counts, db_delta,
        db_dead, db_search, db_frames;
    /* governance tables (governance.c); gov_present 0: the file has none
     * (opened read-only before any write open created them): defaults */
    MDB_dbi db_sources, db_disabled, db_quarantine;
    int gov_present;
    /* quarantine counts (governance.c, phm_index_quarantine_counts_*);
     * qcounts_present 0: the file has no such table yet (none stored) */
    MDB_dbi db_qcounts;
    int qcounts_present;
    MDB_dbi db_names; /* format 5: source and category names <-> numbers */
    int rdonly;
    unsigned psize; /* LMDB's page size, read at open (idx_txn_begin) */
    /* the largest size the file was seen with: LMDB never shrinks it, so a
     * smaller one is a file cut short (idx_txn_begin) */
    _Atomic uint64_t size_seen;
    phm_simd simd;
    const ham_kernels *kern;
    char *path;
    pthread_mutex_t lock; /* guards view */
    idx_view *view;       /* the newest view built, or NULL */
    /* PHM_INDEX_HOT_COPY: searchers use copies of the base (index_hot.c) */
    int hot_copy;
    pthread_mutex_t hot_lock; /* guards hot and the copies' counts */
    idx_hot *hot;             /* the newest copy, or NULL */
};

struct phm_searcher {
    phm_index *idx;
    MDB_txn *txn;     /* read transaction; reset between searches */
    int active;       /* txn holds a snapshot */
    size_t txn_id;    /* snapshot the view and base pointers were checked at */
    idx_view *view;
    /* the base, from the memory map (or copies if misaligned) */
    uint64_t base_id;
    int base_valid;
    mih_view base;
    const void *base_eids; /* the 'E' blob: idx_base_eid */
    int base_multi; /* an entry has several base slots (a video) */
    int base_cold;  /* no search of the base yet: mih_scratch.advise */
    idx_base_mem base_mem;
    idx_hot *hot;   /* PHM_INDEX_HOT_COPY: the copy `base` points into */
    mih_scratch scr;
    mih_batch batch; /* phm_search_batch's candidates (mih.h) */
    /* results */
    phm_match *res;
    size_t nres, res_cap;
    size_t *offsets;
    size_t offsets_cap;
    /* k-NN heap */
    phm_match *heap;
    size_t heap_cap;
    /* format 5: names of the snapshot (reloaded when gen changes) and
     * numeric ids' text for phm_searcher_get, valid until the next search */
    idx_names names;
    struct idx_idtext *idtext;
    struct blk_map *blk; /* format 6: the entries table (index_block.c) */
};

/* Whether an entry of the searcher's snapshot has several slots (variants
 * or a video's frames): only then can a hit's distance differ from its
 * plain one (kind_rules, phm_search_radius_plain). After a search. */
static inline int idx_searcher_multi(const phm_searcher *s)
{
    return s->base_multi || s->view->multi;
}

/* ---- shared helpers (index.c) ------------------------------------ */

/* Writes "<what> '<path>': <fmt...>" into err. */
void idx_err(char *err, size_t errlen, const char *what, const char *path,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The file's size and the size its check needed (idx_txn_begin): pages
 * 1 if need is the newest root's last page, 0 if the largest size seen. */
typedef struct {
    uint64_t have, need;
    int pages;
} idx_len;
/* Maps an LMDB or errno code to a status, writing a message. Never
 * PHM_OK (rc 0 gives PHM_ERR_INDEX): a caller that returns it on failure
 * need not set its outputs. */
int idx_mdb_err(int rc, char *err, size_t errlen, const char *what,
                const phm_index *idx, const char *during);
/* idx_mdb_err for a code from idx_txn_begin / idx_txn_renew: the sizes
 * of an IDX_ERR_TRUNCATED are len's (NULL: none in the message). */
int idx_txn_err(int rc, const idx_len *len, char *err, size_t errlen, const char *what,
                const phm_index *idx, const char *during);
/* idx_txn_begin with its error as idx_txn_err words it (`what`, e.g.
 * "cannot read index"): PHM_OK or a PHM status, *txn begun on success. */
int idx_begin(phm_index *idx, unsigned flags, MDB_txn **txn, const char *what, char *err,
              size_t errlen);
/* mdb_txn_begin / mdb_txn_renew with checks that the file still holds
 * every page the transaction may read: before, the largest size seen;
 * after, the newest root's last page. Else IDX_ERR_TRUNCATED (sizes in
 * *len) and no transaction (begin: *txn NULL; renew: txn reset): a page
 * cut off the mapped file is a SIGBUS when read. Every transaction of an
 * open handle starts through these. */
int idx_txn_begin(phm_index *idx, unsigned flags, MDB_txn **txn, idx_len *len);
int idx_txn_renew(phm_index *idx, MDB_txn *txn, idx_len *len);

/* meta accessors within a transaction */
int idx_meta_get_u64(const phm_index *idx, MDB_txn *txn, const char *key,
                     uint64_t *out);
int idx_meta_put_u64(const phm_index *idx, MDB_txn *txn, const char *key,
                     uint64_t v);
int idx_base_header_get(const phm_index *idx, MDB_txn *txn, idx_base_header *h);
/* meta "variants" (format 4): entries with stored variants and their
 * variant hashes, two u64; absent = none. get: 0, or an LMDB code. */
int idx_variants_get(const phm_index *idx, MDB_txn *txn, uint64_t *entries,
                     uint64_t *hashes);
/* Adds the changes to meta "variants" (MDB_CORRUPTED if a count would go
 * below 0). */
int idx_variants_update(const phm_index *idx, MDB_txn *txn, int64_t entries,
                        int64_t hashes);

/* Blob key: signal, kind, table, 0. */
static inline void idx_blob_key(uint8_t key[4], int kind, unsigned table)
{
    key[0] = IDX_SIG_PDQ;
    key[1] = (uint8_t)kind;
    key[2] = (uint8_t)table;
    key[3] = 0;
}

/* Delta key: signal, eid big-endian (so byte order is number order); a
 * video's hashes have 13-byte keys: that, then its hash number u32
 * big-endian. */
#define IDX_DELTA_KEY_MULTI 13
static inline void idx_delta_key(uint8_t key[9], uint64_t eid)
{
    key[0] = IDX_SIG_PDQ;
    for (int i = 0; i < 8; i++)
        key[1 + i] = (uint8_t)(eid >> (56 - 8 * i));
}
static inline uint64_t idx_delta_key_eid(const uint8_t *key)
{
    uint64_t eid = 0;
    for (int i = 0; i < 8; i++)
        eid = eid << 8 | key[1 + i];
    return eid;
}

/* 8 bytes as a little-endian number (the byte order of LMDB's own headers,
 * of the index's stored 64-bit fields (governance, video frames, old
 * records) and of index_block.c's word-at-a-time compares: byte j is bits
 * 8j..8j+7). Written out byte by byte, which the compiler makes one load
 * on a little-endian host and still right on another. */
static inline uint64_t idx_u64_le(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* Stores v as 8 little-endian bytes (idx_u64_le reads them back). */
static inline void idx_u64_le_put(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Reads the base's blobs from `txn` into a view; pointers into the map
 * (or into `mem`). Fails with PHM_ERR_CORRUPT when sizes disagree with
 * the header. `mem` must be zeroed or freed before; the caller frees it
 * with idx_base_mem_free once the view is no longer used. */
int idx_base_load(const phm_index *idx, MDB_txn *txn, const idx_base_header *h,
                  mih_view *v, const void **eids, idx_base_mem *mem,
                  char *err, size_t errlen);

/* The 'H' segments of a base of n hashes in txn: up to IDX_HSEG_MAX
 * pointers to their first hash and their counts (the segments' pad
 * skipped, sizes checked: each but the last a whole number of pages).
 * Returns 0, MDB_CORRUPTED or an LMDB code. */
int idx_base_hash_segments(const phm_index *idx, MDB_txn *txn, size_t n,
                           const phm_pdq **seg, size_t *cnt, size_t *nseg);

/* wt-import: the tables' directories of a first import, counted by a
 * thread of the transaction while the adds arrive (index_plan.c). */
typedef struct idx_plan idx_plan;
/* Starts the thread: NULL when it cannot (no memory, no thread). */
idx_plan *idx_plan_start(void);
/* hashes[0..n) are appended and stay as they are; the array is at
 * `hashes` (it may have moved since the last call), beside the entry
 * numbers `eids`, both of `cap` slots (the thread faults in the pages of
 * the next slots: contents unchanged). */
void idx_plan_feed(idx_plan *p, phm_pdq *hashes, uint64_t *eids, size_t n, size_t cap);
/* Waits until the thread has left the array, before the caller moves it;
 * the thread then waits for the next idx_plan_feed. */
void idx_plan_hold(idx_plan *p);
/* Ends the thread and frees p; counts the rest of hashes[0..n) (the
 * hashes fed, unchanged) and returns the MIH_TABLES directories,
 * MIH_DIR_BYTES each, as mih_plan_table makes them (malloc'd: the
 * caller frees), or NULL (no memory, or fewer than the hashes fed). */
uint32_t *idx_plan_finish(idx_plan *p, const phm_pdq *hashes, size_t n);
/* Ends the thread and frees p (NULL: nothing). */
void idx_plan_free(idx_plan *p);
/* wt-import3: a rebuild's finished values written to the file by a
 * thread of their own while the next ones are built (index_ahead.c), so
 * that LMDB's commit rewrites pages the page cache already holds.
 * idx_ahead_start: NULL when no thread can be made; buf_bytes: the
 * largest value idx_ahead_copy will be given (two buffers of it are
 * allocated, touched only as values are copied). */
typedef struct idx_ahead idx_ahead;
idx_ahead *idx_ahead_start(phm_index *idx, size_t buf_bytes);
/* Bytes [at, at + len) of the value just reserved at `value` (vlen
 * bytes, an overflow value of this transaction) are src[0..len), which
 * stays unchanged until idx_ahead_finish: queues their whole pages (at
 * most 8 such values; more are left to the commit). */
void idx_ahead_write(idx_ahead *a, const void *value, size_t vlen, size_t at, const void *src,
                     size_t len);
/* The value at `value` (vlen bytes) is complete: copies its whole pages
 * into a free buffer and queues them, before returning (the caller may
 * then make LMDB calls, which may free the value); with no free buffer,
 * nothing (the commit writes it). Copies are written before segments. */
void idx_ahead_copy(idx_ahead *a, const void *value, size_t vlen);
/* Ends the thread once the piece it writes is written (drain = 0: what
 * is not written is left to the commit; 1: after everything queued) and
 * frees a (NULL: nothing). Before the transaction commits. */
void idx_ahead_finish(idx_ahead *a, int drain);
/* Rebuilds the base from base - dead + delta + `extra` (the transaction's
 * new hashes, ascending eids, all greater than every stored eid), within
 * the write transaction `txn`. Clears the delta and dead tables and
 * writes a new base header with eid_bound. `dirs`: the directories of
 * extra_hashes[0..nextra) (from idx_plan_finish; NULL: planned here),
 * used when the rebuild is a first import (the base is those hashes
 * alone); it stays the caller's. (index_build.c) */
int idx_rebuild(phm_index *idx, MDB_txn *txn, const uint64_t *extra_eids,
                const phm_pdq *extra_hashes, size_t nextra, uint64_t eid_bound,
                const uint32_t *dirs, char *err, size_t errlen);

/* Views (index_search.c). */
void idx_view_release(phm_index *idx, idx_view *v);
/* Takes the newest snapshot on s, as a search does (index_search.c). */
int idx_searcher_begin(phm_searcher *s, char *err, size_t errlen);

/* ---- governance (governance.c; docs/INDEX_FORMAT.md "Governance") ---- */

#define GOV_SOURCE_VERSION 1
#define GOV_SOURCE_HEADER 24
#define GOV_STATE_BYTES 16 /* disabled: until, since; quarantine: when, count */

/* What matching needs of a source's settings. */
typedef struct gov_source {
    int enabled, kind, max_distance, min_quality;
} gov_source;

/* Opens the governance tables after the others, creating them if the
 * index is writable (idx->gov_present says whether they exist). */
int idx_gov_attach(phm_index *idx, char *err, size_t errlen);
/* Checks the governance tables within a read transaction (verify). */
int idx_gov_verify(phm_index *idx, MDB_txn *txn, char *err, size_t errlen);
/* The largest of `request` and every source's max_distance, read from s's
 * snapshot (taken if needed). */
int gov_radius(phm_searcher *s, int request, int *radius, char *err,
               size_t errlen);
/* gov_radius, and in *suppression the largest distance at which an entry
 * of an enabled suppression source may match a request of `request` (its
 * own max_distance, or `request`), -1 if there is no such source. */
int gov_radii(phm_searcher *s, int request, int *radius, int *suppression,
              char *err, size_t errlen);
/* A source's settings in s's active snapshot (defaults if none). */
int gov_source_read(phm_searcher *s, const char *source, gov_source *out,
                    char *err, size_t errlen);
/* Whether entry (source, id) is disabled at `now` or quarantined, in s's
 * active snapshot. */
int gov_entry_blocked(phm_searcher *s, const char *source, const char *id,
                      int64_t now, int *blocked, char *err, size_t errlen);

/* Sources as banks (governance.c): whether `source` has a settings row
 * in txn, and moving its settings, disabled and quarantine rows to `to`
 * within txn (deleting them when to is NULL). LMDB codes. */
int idx_gov_source_exists(phm_index *idx, MDB_txn *txn, const char *source,
                          int *exists);
int idx_gov_rename(phm_index *idx, MDB_txn *txn, const char *from, const char *to);
/* For phm_index_upgrade (index_upgrade.c): decodes a `sources` record
 * of formats 3 and 4 (PHM_OK or PHM_ERR_CORRUPT), and writes a
 * `disabled` (quarantine 0: a = until, b = since) or `quarantine` row
 * (a = when, b = count) as it is, whether or not the entry is stored
 * (LMDB codes; EINVAL for a malformed name). */
int gov_source_decode_legacy(const void *rec, size_t len, phm_source_settings *out);
int idx_gov_state_put(phm_index *idx, MDB_txn *txn, int quarantine, const char *source,
                      const char *id, uint64_t a, uint64_t b);
/* The LMDB write transaction of t, NULL once t has failed
 * (index_write.c): what index_rename.c needs to write beside
 * phm_index_add in the same transaction. */
MDB_txn *idx_txn_mdb(phm_index_txn *t, phm_index **idx);
/* Stored entry eid as t sees it: its record copied into rec (REC_MAX
 * bytes), decoded into e (strings point into rec, x) with its hashes. 0,
 * MDB_CORRUPTED, or an LMDB code. (index_write.c) */
int idx_txn_entry(phm_index_txn *t, uint64_t eid, uint8_t *rec, rec_extra *x,
                  phm_entry *e);
/* Writes t's buffered adds now. An add that does not come in key order
 * past every stored key is buffered; it is numbered in key order when the
 * buffer is written, except in a transaction that began with no key
 * stored, which numbers adds in their order (deferred keys,
 * docs/INDEX_FORMAT.md). phm_index_upgrade calls it after each add, so the
 * new file numbers entries in the old file's order in any transaction.
 * PHM_OK or an error as phm_index_add's. (index_write.c) */
int idx_txn_flush(phm_index_txn *t, char *err, size_t errlen);

#endif
