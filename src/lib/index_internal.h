/* index_internal.h - the known-material index: shared structures of
 * index*.c. The on-disk schema is docs/INDEX_FORMAT.md; keep the two in
 * step. Not installed. */
#ifndef PHM_INDEX_INTERNAL_H
#define PHM_INDEX_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
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
    IDX_BLOB_HASHES = 'H',   /* n x 32 bytes, slot order */
    IDX_BLOB_EIDS = 'E',     /* n x u32, ascending: read by idx_base_eid */
    IDX_BLOB_OFFSETS = 'O',  /* per table, its directory, MIH_DIR_BYTES */
    IDX_BLOB_POSTINGS = 'P', /* table 0 only: the 16 areas, in table order */
};

/* Entry numbers of the base are u32: the largest an index hands out, and
 * the code (beside LMDB's) an add past it fails with (idx_mdb_err). */
#define IDX_MAX_EID 0xffffffffu
#define IDX_ERR_EIDS_USED (-30700)

/* Entry number of base slot i, from the 'E' blob (4-byte aligned). */
uint64_t idx_base_eid(const void *eblob, size_t i);
/* Whether two of the n slots share an entry number (a video, an image
 * with variants). */
int idx_base_multi(const void *eblob, size_t n);

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
/* (source, id) key: source, NUL, id. */
#define KEY_MAX (PHM_INDEX_MAX_SOURCE + 1 + PHM_INDEX_MAX_ID)
/* (source, category) count key. */
#define GROUP_KEY_MAX (PHM_INDEX_MAX_SOURCE + 1 + PHM_INDEX_MAX_CATEGORY)

/* Validates e; on failure writes why into err and returns PHM_ERR_INVALID. */
int rec_validate(const phm_entry *e, char *err, size_t errlen);
/* Serialises a validated entry into buf (REC_MAX bytes); returns length. */
size_t rec_encode(const phm_entry *e, int64_t added, uint8_t *buf);
/* Decodes a record; PHM_OK or PHM_ERR_CORRUPT. Strings point into rec. */
int rec_decode(const void *rec, size_t len, phm_entry *out);
/* Decodes a record of index formats 2 to 4 (record versions 1 to 3, the
 * PDQ hash and the variants inside): what phm_index_upgrade reads. Same
 * contract as rec_decode. */
int rec_decode_legacy(const void *rec, size_t len, phm_entry *out);
/* Builds the (source, id) key; returns its length. */
size_t rec_key(const char *source, const char *id, uint8_t *buf);
/* Builds the (source, category) group key; returns its length. */
size_t rec_group_key(const char *source, const char *category, uint8_t *buf);
/* Whether two records hold the same content (all but `added`). */
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

struct phm_index {
    MDB_env *env;
    MDB_dbi db_meta, db_entries, db_keys, db_digests, db_counts, db_delta,
        db_dead, db_search, db_frames;
    /* governance tables (governance.c); gov_present 0: the file has none
     * (opened read-only before any write open created them): defaults */
    MDB_dbi db_sources, db_disabled, db_quarantine;
    int gov_present;
    int rdonly;
    phm_simd simd;
    const ham_kernels *kern;
    char *path;
    pthread_mutex_t lock; /* guards view */
    idx_view *view;       /* the newest view built, or NULL */
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
    void *base_copy[3 + MIH_TABLES];
    mih_scratch scr;
    /* results */
    phm_match *res;
    size_t nres, res_cap;
    size_t *offsets;
    size_t offsets_cap;
    /* k-NN heap */
    phm_match *heap;
    size_t heap_cap;
};

/* ---- shared helpers (index.c) ------------------------------------ */

/* Writes "<what> '<path>': <fmt...>" into err. */
void idx_err(char *err, size_t errlen, const char *what, const char *path,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Maps an LMDB or errno code to a status, writing a message. */
int idx_mdb_err(int rc, char *err, size_t errlen, const char *what,
                const phm_index *idx, const char *during);

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

/* Reads the base's blobs from `txn` into a view; pointers into the map.
 * Fails with PHM_ERR_CORRUPT when sizes disagree with the header. When a
 * blob is misaligned, copies it into copies[] (3 + MIH_TABLES of them,
 * malloc'd; caller frees). */
int idx_base_load(const phm_index *idx, MDB_txn *txn, const idx_base_header *h,
                  mih_view *v, const void **eids, void **copies,
                  char *err, size_t errlen);

/* Rebuilds the base from base - dead + delta + `extra` (the transaction's
 * new hashes, ascending eids, all greater than every stored eid), within
 * the write transaction `txn`. Clears the delta and dead tables and
 * writes a new base header with eid_bound. (index_build.c) */
int idx_rebuild(phm_index *idx, MDB_txn *txn, const uint64_t *extra_eids,
                const phm_pdq *extra_hashes, size_t nextra, uint64_t eid_bound,
                char *err, size_t errlen);

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
/* The LMDB write transaction of t, NULL once t has failed
 * (index_write.c): what index_rename.c needs to write beside
 * phm_index_add in the same transaction. */
MDB_txn *idx_txn_mdb(phm_index_txn *t, phm_index **idx);

#endif
