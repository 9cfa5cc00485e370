/*
 * phmatch.h - perceptual-hash matching of known imagery
 *
 * The public interface of libphmatch. Everything a program needs to decode
 * images, compute PDQ hashes that are bit-for-bit those of Meta's PDQ
 * reference, and compare them.
 *
 * Usage, one thread:
 *
 *     phm_decoder *dec; phm_hasher *h; phm_image img; phm_pdq_result r;
 *     char err[PHM_ERRMSG_MAX];
 *     if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO))
 *         ...out of memory...
 *     int rc = phm_decode_file(dec, "photo.jpg", &img, err, sizeof err);
 *     if (rc == PHM_OK || rc == PHM_WARN_RECOVERED)
 *         rc = phm_hash_image(h, &img, PHM_MODE_FULL, 0, &r);
 *     if (rc == PHM_OK) { char hex[PHM_PDQ_HEX_LEN + 1];
 *         phm_pdq_to_hex(&r.hash[0], hex); printf("%s,%d\n", hex, r.quality); }
 *     phm_hasher_free(h); phm_decoder_free(dec);
 *
 * Threading: no function keeps global mutable state. A phm_decoder and a
 * phm_hasher are each used by one thread at a time; give every worker thread
 * its own pair. Values (phm_pdq, phm_image descriptors) may be shared freely.
 *
 * Errors: functions return PHM_OK (0), a positive warning, or a negative
 * PHM_ERR_* code. phm_strerror() describes a code; functions taking an
 * `err` buffer also write a message naming the subject and the cause, in the
 * form "cannot decode 'x.jpg': premature end of data".
 */
#ifndef PHMATCH_H
#define PHMATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PHM_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

enum {
    PHM_OK = 0,
    /* A decoder met corrupt data but recovered (e.g. a truncated JPEG whose
     * missing rows were filled). The image is usable; the message says what
     * was wrong. Callers decide whether to trust it. */
    PHM_WARN_RECOVERED = 1,

    PHM_ERR_NOMEM = -1,       /* allocation failed */
    PHM_ERR_INVALID = -2,     /* invalid argument (a programming error) */
    PHM_ERR_NOT_FOUND = -3,   /* path does not exist */
    PHM_ERR_UNREADABLE = -4,  /* I/O error or permission denied */
    PHM_ERR_UNSUPPORTED = -5, /* not a format phmatch decodes */
    PHM_ERR_CORRUPT = -6,     /* malformed or truncated data */
    PHM_ERR_TOO_LARGE = -7,   /* over the pixel or byte limit */
    PHM_ERR_TOO_SMALL = -8,   /* fewer than 5 rows or columns: no PDQ hash */
    PHM_ERR_BAD_HASH = -9,    /* malformed hash text */
    PHM_ERR_IS_DIR = -10,     /* a directory where a file was expected */
    PHM_ERR_INTERNAL = -11,   /* an invariant failed; please report */
    PHM_ERR_INDEX = -12,      /* index storage error; see message */
    PHM_ERR_INDEX_VERSION = -13, /* index written by an incompatible version */
    PHM_ERR_FULL = -14,       /* index map full (raise the map size) */
    PHM_ERR_READONLY = -15,   /* write attempted on a read-only index */
};

/* Longest message any function writes into an `err` buffer, NUL included.
 * Shorter buffers are accepted; messages are truncated to fit. */
#define PHM_ERRMSG_MAX 512

/* A short, static, human description of `status` ("premature end of data"
 * style). Never NULL, for any int. */
const char *phm_strerror(int status);

/* A stable machine-readable reason code for `status`, as used in output
 * records: "ok", "recovered", "not_found", "unreadable", "unsupported_format",
 * "corrupt", "too_large", "too_small", "bad_hash", "is_directory",
 * "out_of_memory", "invalid_argument", "internal", ... Static; never NULL. */
const char *phm_reason(int status);

/* ------------------------------------------------------------------ */
/* Hashes                                                              */
/* ------------------------------------------------------------------ */

/* A 256-bit PDQ hash. Bit k (k = i*16 + j for DCT coefficient (i, j)) is
 * bit k%64 of w[k/64]. This matches the reference's 16 x 16-bit word layout
 * read as little-endian 64-bit words. */
typedef struct phm_pdq {
    uint64_t w[4];
} phm_pdq;

#define PHM_PDQ_HEX_LEN 64   /* characters, no terminator */
#define PHM_PDQ_BITS 256
#define PHM_PDQ_MATCH_DISTANCE 31  /* the conventional match threshold */
#define PHM_PDQ_MIN_QUALITY 50     /* below this, matchers ignore a hash */

/* Writes the 64 lowercase hex characters of `h` and a NUL to `out`, in the
 * reference's order (16-bit words 15..0, each as 4 digits). */
void phm_pdq_to_hex(const phm_pdq *h, char out[PHM_PDQ_HEX_LEN + 1]);

/* Parses exactly `len` characters of hex (upper or lower case) into `out`.
 * Returns PHM_OK, or PHM_ERR_BAD_HASH if len != 64 or a character is not a
 * hex digit; `out` is untouched on error. */
int phm_pdq_from_hex(const char *hex, size_t len, phm_pdq *out);

/* Hamming distance, 0..256. */
static inline int phm_pdq_distance(const phm_pdq *a, const phm_pdq *b)
{
    return __builtin_popcountll(a->w[0] ^ b->w[0]) +
           __builtin_popcountll(a->w[1] ^ b->w[1]) +
           __builtin_popcountll(a->w[2] ^ b->w[2]) +
           __builtin_popcountll(a->w[3] ^ b->w[3]);
}

/* ------------------------------------------------------------------ */
/* Run-time SIMD selection                                             */
/* ------------------------------------------------------------------ */

/* Instruction-set levels. Every level computes identical results (the
 * tests compare each against PHM_SIMD_PORTABLE); they differ in speed. */
typedef enum phm_simd {
    PHM_SIMD_AUTO = 0,     /* the best level this CPU supports */
    PHM_SIMD_PORTABLE = 1, /* plain C, any CPU */
    PHM_SIMD_AVX2 = 2,     /* x86-64 AVX2 + POPCNT */
    PHM_SIMD_AVX512 = 3,   /* x86-64 AVX-512 F/BW/VL + VPOPCNTDQ */
} phm_simd;

/* The best level this CPU and OS support (never PHM_SIMD_AUTO). */
phm_simd phm_simd_detect(void);

/* Resolves a request to a level this CPU can run: AUTO becomes the detected
 * level; a level the CPU lacks is lowered to the best one it has. */
phm_simd phm_simd_resolve(phm_simd requested);

/* "portable", "avx2", "avx512" or "auto". Static. */
const char *phm_simd_name(phm_simd level);

/* Parses "auto", "portable", "avx2" or "avx512". Returns PHM_OK or
 * PHM_ERR_INVALID. */
int phm_simd_parse(const char *name, phm_simd *out);

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

typedef enum phm_format {
    PHM_FORMAT_UNKNOWN = 0,
    PHM_FORMAT_JPEG,
    PHM_FORMAT_PNG,
    PHM_FORMAT_PNM, /* binary P5 (grey) and P6 (RGB), maxval 1..65535 */
} phm_format;

/* "jpeg", "png", "pnm", or "unknown". Static. */
const char *phm_format_name(phm_format f);

/* Identifies the format from the first bytes (magic numbers), never from a
 * file name. Needs at most 8 bytes; fewer give PHM_FORMAT_UNKNOWN. */
phm_format phm_detect_format(const void *data, size_t len);

/* A decoded image: 8-bit samples, rows top to bottom, `channels` samples per
 * pixel (1 = grey, 3 = R,G,B), `stride` bytes between rows. */
typedef struct phm_image {
    const uint8_t *pixels;
    uint32_t width;
    uint32_t height;
    uint32_t channels;
    size_t stride;
    phm_format format;
} phm_image;

/* Default pixel limit: 100 megapixels. */
#define PHM_DEFAULT_MAX_PIXELS (100ull * 1000 * 1000)
/* Default limit on an input file's size: 1 GiB. */
#define PHM_DEFAULT_MAX_FILE_BYTES (1ull << 30)

typedef struct phm_decode_limits {
    uint64_t max_pixels;     /* width*height above this: PHM_ERR_TOO_LARGE */
    uint64_t max_file_bytes; /* phm_decode_file refuses larger files */
} phm_decode_limits;

/* A reusable decoder: holds library handles and an output buffer that grows
 * to the largest image decoded so far (never beyond the pixel limit).
 * One thread at a time. */
typedef struct phm_decoder phm_decoder;

/* Creates a decoder. `limits` may be NULL for the defaults; a zero field
 * also means its default. Returns PHM_OK or PHM_ERR_NOMEM. */
int phm_decoder_new(phm_decoder **out, const phm_decode_limits *limits);

/* Frees a decoder and its buffers. Accepts NULL. */
void phm_decoder_free(phm_decoder *dec);

/* Decodes an image held in memory. The format comes from the magic bytes.
 * Dimensions are checked against the pixel limit from the header, before
 * any pixel buffer is allocated.
 *
 * On PHM_OK or PHM_WARN_RECOVERED, `*img` describes pixels owned by `dec`,
 * valid until the next decode call on `dec` or phm_decoder_free(). On a
 * warning, `err` holds what the decoder recovered from. On failure `*img`
 * is zeroed and `err` says why. `name` (may be NULL) is the subject used in
 * messages, e.g. the file name.
 *
 * Errors: PHM_ERR_UNSUPPORTED, PHM_ERR_CORRUPT, PHM_ERR_TOO_LARGE,
 * PHM_ERR_NOMEM, PHM_ERR_INVALID. */
int phm_decode_mem(phm_decoder *dec, const void *data, size_t len,
                   const char *name, phm_image *img, char *err, size_t errlen);

/* Reads `path` (a regular file of at most max_file_bytes) into the decoder's
 * read buffer and decodes it as phm_decode_mem does. Adds PHM_ERR_NOT_FOUND,
 * PHM_ERR_UNREADABLE and PHM_ERR_IS_DIR. The file bytes stay available
 * through phm_decoder_last_bytes() until the next call. */
int phm_decode_file(phm_decoder *dec, const char *path, phm_image *img,
                    char *err, size_t errlen);

/* The bytes read by the last phm_decode_file() call (for digests computed
 * in the same read), or NULL/0 if none. Owned by `dec`. */
const uint8_t *phm_decoder_last_bytes(const phm_decoder *dec, size_t *len);

/* Versions of the image libraries linked, e.g. "libjpeg-turbo 2.1.5,
 * libpng 1.6.39". Writes at most `len` bytes including the NUL. */
void phm_decoder_versions(char *out, size_t len);

/* ------------------------------------------------------------------ */
/* PDQ hashing                                                         */
/* ------------------------------------------------------------------ */

typedef enum phm_mode {
    /* PDQ on the full-resolution pixels, as the Java reference, the C++
     * buffer API (and so the Python bindings) and vPDQ compute it. */
    PHM_MODE_FULL = 0,
    /* What the reference command-line hasher prints: an image wider or taller
     * than 512 is first resized to exactly 512x512 by nearest neighbour. */
    PHM_MODE_CLI512 = 1,
} phm_mode;

/* "full" or "cli512". Static. */
const char *phm_mode_name(phm_mode m);
/* Parses "full" or "cli512". Returns PHM_OK or PHM_ERR_INVALID. */
int phm_mode_parse(const char *name, phm_mode *out);

/* Orientations, in the order of phm_pdq_result.hash[]. Each names the
 * transform applied to the image whose hash that is. */
enum {
    PHM_DIH_ORIGINAL = 0,
    PHM_DIH_ROT90,
    PHM_DIH_ROT180,
    PHM_DIH_ROT270,
    PHM_DIH_FLIPX,
    PHM_DIH_FLIPY,
    PHM_DIH_FLIPPLUS1,  /* transpose */
    PHM_DIH_FLIPMINUS1, /* anti-transpose */
    PHM_DIH_COUNT = 8,
};

/* "original", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1",
 * "flipminus1". Static; "unknown" out of range. */
const char *phm_dihedral_name(int orientation);

typedef struct phm_pdq_result {
    phm_pdq hash[PHM_DIH_COUNT]; /* [0] always; [1..7] when dihedral */
    int nhashes;                 /* 1, or 8 when dihedral was asked */
    int quality;                 /* 0..100; below 50 is low quality */
    uint32_t width, height;      /* what the hashing core saw */
} phm_pdq_result;

/* A per-thread hashing workspace: float buffers that grow to the largest
 * image seen, and the DCT matrix. No allocation per image once warm. */
typedef struct phm_hasher phm_hasher;

/* Creates a workspace using SIMD level `simd` (resolved with
 * phm_simd_resolve). Returns PHM_OK or PHM_ERR_NOMEM. */
int phm_hasher_new(phm_hasher **out, phm_simd simd);

/* Frees a workspace. Accepts NULL. */
void phm_hasher_free(phm_hasher *h);

/* The SIMD level this workspace runs. */
phm_simd phm_hasher_simd(const phm_hasher *h);

/* Computes the PDQ hash of `img` in `mode`, and with `dihedral` nonzero the
 * seven other orientations from the same DCT. Bit-exact with the reference.
 * Errors: PHM_ERR_TOO_SMALL (fewer than 5 rows or columns; `out` then holds
 * the reference's answer, an all-zero hash of quality 0), PHM_ERR_NOMEM,
 * PHM_ERR_INVALID (channels not 1 or 3, NULL pixels). */
int phm_hash_image(phm_hasher *h, const phm_image *img, phm_mode mode,
                   int dihedral, phm_pdq_result *out);

/* What phm_hash_mem/phm_hash_file decoded. */
typedef struct phm_image_info {
    uint32_t width, height; /* of the decoded image (before any cli512 resize) */
    phm_format format;
} phm_image_info;

/* Decodes and hashes in one pass: the fast path for batch hashing. A JPEG's
 * rows go to the hasher as libjpeg-turbo produces them, so the full image
 * never sits in memory (a 12 MP photo needs ~1 MB of buffers instead of
 * 36 MB, and stays in cache); other formats are decoded whole and hashed.
 * The hashes are identical to phm_decode_mem() followed by
 * phm_hash_image() (the golden test checks both paths).
 *
 * Returns PHM_OK, or PHM_WARN_RECOVERED with `*out` computed from the
 * pixels the decoder recovered and `err` saying what was wrong, or any
 * error of phm_decode_mem() and phm_hash_image(). `info` may be NULL; it is
 * filled whenever the header was read. Uses `dec` and `h` as their own
 * functions do: one thread at a time for each. */
int phm_hash_mem(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                 const char *name, phm_mode mode, int dihedral, phm_pdq_result *out,
                 phm_image_info *info, char *err, size_t errlen);

/* phm_hash_mem() on a file read as phm_decode_file() reads it; the bytes
 * stay available through phm_decoder_last_bytes() (for digests). */
int phm_hash_file(phm_decoder *dec, phm_hasher *h, const char *path, phm_mode mode,
                  int dihedral, phm_pdq_result *out, phm_image_info *info,
                  char *err, size_t errlen);

/* ================================================================== */
/* Known-material index                                                */
/* ================================================================== */
/*
 * A persistent list of known hashes with their provenance, in one LMDB
 * file (docs/INDEX_FORMAT.md), and exact searches over it.
 *
 *     phm_index *idx; phm_searcher *s; char err[PHM_ERRMSG_MAX];
 *     if (phm_index_open(&idx, "known.phmi", PHM_INDEX_CREATE, 0,
 *                        PHM_SIMD_AUTO, err, sizeof err)) ...report err...
 *     phm_index_txn *txn;
 *     phm_index_txn_begin(idx, &txn, err, sizeof err);
 *     phm_entry e = { .source = "ncmec", .id = "123", .category = "A1",
 *                     .signals = PHM_SIG_PDQ, .pdq = hash, .quality = 90 };
 *     if (phm_index_add(txn, &e, err, sizeof err)) ...
 *     phm_index_txn_commit(txn, NULL, err, sizeof err);  // one transaction
 *
 *     phm_searcher_new(idx, &s, err, sizeof err);         // one per thread
 *     const phm_match *m; size_t n;
 *     phm_search_radius(s, &query, PHM_PDQ_MATCH_DISTANCE, &m, &n, err, sizeof err);
 *     for (size_t i = 0; i < n; i++) {
 *         phm_entry hit;
 *         phm_searcher_get(s, m[i].entry, &hit, err, sizeof err);
 *         printf("%s:%s %s distance %d\n", hit.source, hit.id, hit.category,
 *                m[i].distance);
 *     }
 *     phm_searcher_free(s); phm_index_close(idx);
 *
 * Exactness: every search returns exactly the entries a brute-force scan
 * would (recall 1.000), whatever the index size and however many entries
 * were added or removed since the last compaction.
 *
 * Threading and processes: a phm_index may be shared by all threads of a
 * process; open each file only once per process at a time (LMDB's rule: a
 * second open in the same process breaks its file locks). Searches
 * need a phm_searcher each, used by one thread at a time. Writes go
 * through a phm_index_txn; only one write transaction exists at a time
 * for a file, across threads and processes: phm_index_txn_begin waits for
 * the current one to end. Readers never wait for writers and see each
 * commit, from any process, at their next search. Never use a handle in a
 * child after fork(); open the index again there.
 *
 * Durability: a commit is on disk when phm_index_txn_commit returns; a
 * crash or kill at any moment leaves the index at its last commit.
 */

/* On-disk format version this library reads and writes. */
#define PHM_INDEX_FORMAT_VERSION 1

/* Address space reserved for the file's memory map when `mapsize` is 0:
 * 1 TiB. Only address space; the file grows as entries are added. */
#define PHM_INDEX_DEFAULT_MAPSIZE ((size_t)1 << 40)

/* Limits on entry fields, in bytes, terminator excluded. */
#define PHM_INDEX_MAX_SOURCE 128
#define PHM_INDEX_MAX_ID 256
#define PHM_INDEX_MAX_CATEGORY 128
#define PHM_INDEX_MAX_NOTE 1024

/* Largest radius a search accepts. */
#define PHM_INDEX_MAX_RADIUS 256

/* phm_index_open flags. */
enum {
    PHM_INDEX_CREATE = 1u << 0, /* create the file if it does not exist */
    PHM_INDEX_RDONLY = 1u << 1, /* open read-only: writes fail with
                                   PHM_ERR_READONLY */
};

/* Signals an entry can carry (phm_entry.signals, a bit set). The PDQ hash
 * is searched by Hamming distance; digests by exact equality. */
enum {
    PHM_SIG_PDQ = 1u << 0,
    PHM_SIG_MD5 = 1u << 1,
    PHM_SIG_SHA1 = 1u << 2,
    PHM_SIG_SHA256 = 1u << 3,
};

/* A known item. On input (phm_index_add) the caller owns every pointer;
 * the index copies what it keeps. On output (phm_searcher_get,
 * phm_index_foreach) the strings point into the index's memory map and
 * stay valid as documented by the function that filled the entry.
 *
 * Identity: (source, id) names an entry; adding the same pair again
 * replaces it. `source` is the list the item came from ("ncmec",
 * "local-case-1234"), `id` its identifier within that list. Strings hold
 * no control characters (bytes below 0x20, or 0x7f); source and id are not
 * empty; category and note may be NULL (stored as ""). */
typedef struct phm_entry {
    const char *source;   /* 1..PHM_INDEX_MAX_SOURCE bytes */
    const char *id;       /* 1..PHM_INDEX_MAX_ID bytes */
    const char *category; /* label, 0..PHM_INDEX_MAX_CATEGORY bytes */
    const char *note;     /* free text, 0..PHM_INDEX_MAX_NOTE bytes */
    unsigned signals;     /* PHM_SIG_* present below; at least one */
    int quality;          /* PDQ quality 0..100, or -1 if unknown */
    int64_t added;        /* unix seconds when stored; 0 on input = now */
    phm_pdq pdq;
    uint8_t md5[16];
    uint8_t sha1[20];
    uint8_t sha256[32];
} phm_entry;

typedef struct phm_index phm_index;

/* Opens (or with PHM_INDEX_CREATE, creates with mode 0600) the index file
 * at `path`. LMDB also keeps a lock file, `path` + "-lock".
 *
 * flags:   PHM_INDEX_CREATE and/or PHM_INDEX_RDONLY.
 * mapsize: the largest size, in bytes, the file may reach through this
 *          handle; 0 = PHM_INDEX_DEFAULT_MAPSIZE. Writes beyond it fail
 *          with PHM_ERR_FULL. Never below the file's current size.
 * simd:    the instruction set for searches, resolved with
 *          phm_simd_resolve(); phm_index_simd() tells which runs.
 *
 * On success *out is a handle to free with phm_index_close(). On error
 * *out is NULL and `err` names the file and the cause:
 *   PHM_ERR_NOT_FOUND     no such file (and no PHM_INDEX_CREATE)
 *   PHM_ERR_IS_DIR        `path` is a directory
 *   PHM_ERR_UNREADABLE    permission denied or an I/O error
 *   PHM_ERR_INDEX         not a phmatch index (foreign file, empty file,
 *                         another program's LMDB file), truncated file,
 *                         corrupt file, or another LMDB failure
 *   PHM_ERR_INDEX_VERSION written in another format version
 *   PHM_ERR_NOMEM, PHM_ERR_INVALID
 * A foreign file is never modified, even with PHM_INDEX_CREATE. */
int phm_index_open(phm_index **out, const char *path, unsigned flags,
                   size_t mapsize, phm_simd simd, char *err, size_t errlen);

/* Closes the handle. Every searcher and transaction of it must have been
 * freed, committed or aborted. Accepts NULL. */
void phm_index_close(phm_index *idx);

/* The path given to phm_index_open (owned by idx), and the SIMD level its
 * searches run. */
const char *phm_index_path(const phm_index *idx);
phm_simd phm_index_simd(const phm_index *idx);

/* ---- writing ---- */

typedef struct phm_index_txn phm_index_txn;

/* What a write transaction did, counted per call: an add of an entry not
 * in the index is `added`; of one identical to the stored entry (every
 * field but `added`) `unchanged`; of one that differs `updated`. */
typedef struct phm_index_counts {
    uint64_t added, unchanged, updated, removed;
} phm_index_counts;

/* Starts the write transaction, waiting while another thread or process
 * holds one. The calling thread must not already hold a write transaction
 * on this file, and must use this one from this thread only. Nothing is
 * visible to searches until phm_index_txn_commit().
 * Errors: PHM_ERR_READONLY (opened read-only), PHM_ERR_INDEX,
 * PHM_ERR_NOMEM, PHM_ERR_INVALID. */
int phm_index_txn_begin(phm_index *idx, phm_index_txn **out, char *err,
                        size_t errlen);

/* Adds or replaces the entry (source, id). Idempotent: adding an identical
 * entry changes nothing. While adds arrive in (source, id) byte order past
 * every stored name (e.g. a sorted list into a new index) they are written
 * at once; otherwise they are buffered (memory about the size of their
 * records, written at 1 GiB or 16 M adds) and written in key order. An
 * import of millions of lines is best done as one transaction.
 * Errors: PHM_ERR_INVALID (a malformed entry: `err` says which field; the
 * transaction stays usable), or a storage error (PHM_ERR_FULL,
 * PHM_ERR_INDEX, PHM_ERR_NOMEM) after which the transaction can only be
 * aborted. */
int phm_index_add(phm_index_txn *txn, const phm_entry *e, char *err,
                  size_t errlen);

/* Removes the entry (source, id). *removed (may be NULL) is set to 1 if it
 * existed, else 0 (not an error). Errors as phm_index_add. */
int phm_index_remove(phm_index_txn *txn, const char *source, const char *id,
                     int *removed, char *err, size_t errlen);

/* Removes every entry of `source`; *removed (may be NULL) gets how many.
 * Errors as phm_index_add. */
int phm_index_remove_source(phm_index_txn *txn, const char *source,
                            uint64_t *removed, char *err, size_t errlen);

/* The counts so far. */
void phm_index_txn_counts(const phm_index_txn *txn, phm_index_counts *out);

/* Writes the buffered adds, updates the search structures (merging them
 * into a fresh compacted base when the part added since the last
 * compaction has grown large; with a million hashes or more, that uses
 * up to 4 OpenMP threads) and commits durably. Always ends and frees
 * the transaction; on error nothing of it is stored. `counts` (may be
 * NULL) receives the final counts.
 * Errors: PHM_ERR_FULL (the map size is too small: reopen with a larger
 * one), PHM_ERR_INDEX, PHM_ERR_NOMEM, or the error that failed an
 * earlier call on this transaction. */
int phm_index_txn_commit(phm_index_txn *txn, phm_index_counts *counts,
                         char *err, size_t errlen);

/* Discards the transaction and frees it. Accepts NULL. */
void phm_index_txn_abort(phm_index_txn *txn);

/* Rebuilds the search structures from every stored entry, so nothing is
 * left in the delta or among the removed-but-indexed (one write
 * transaction). Searches keep running meanwhile and switch over at their
 * next call. Errors: PHM_ERR_READONLY, PHM_ERR_FULL, PHM_ERR_INDEX,
 * PHM_ERR_NOMEM. */
int phm_index_compact(phm_index *idx, char *err, size_t errlen);

/* Writes a compacted copy of the index (free pages dropped) to the new
 * file `dest`, mode 0600, from one consistent snapshot. Searches and
 * writes may continue meanwhile. Errors: PHM_ERR_UNREADABLE (cannot
 * create dest, or it exists), PHM_ERR_INDEX. */
int phm_index_copy(phm_index *idx, const char *dest, char *err, size_t errlen);

/* ---- inspecting ---- */

typedef struct phm_index_stats {
    uint32_t format_version;
    uint64_t entries;       /* stored entries */
    uint64_t pdq_entries;   /* of which with a PDQ hash */
    uint64_t digests;       /* digest -> entry links */
    uint64_t sources;       /* distinct sources */
    uint64_t base_entries;  /* PDQ hashes in the compacted structures */
    uint64_t delta_entries; /* PDQ hashes added since the last compaction */
    uint64_t dead_entries;  /* removed since then, still in the base */
    uint64_t generation;    /* changes with every commit that changes data */
    uint64_t file_bytes;    /* size of the file on disk */
    uint64_t used_bytes;    /* pages in use (the rest is free space) */
    uint64_t map_bytes;     /* the map size of this handle */
    int64_t created;        /* unix seconds */
    int64_t compacted;      /* unix seconds of the last compaction, or 0 */
} phm_index_stats;

/* Fills `out` from one snapshot. Errors: PHM_ERR_INDEX, PHM_ERR_INVALID. */
int phm_index_stats_get(phm_index *idx, phm_index_stats *out, char *err,
                        size_t errlen);

/* Calls fn(ctx, source, category, count) for each (source, category) with
 * entries, in byte order of source then category, from one snapshot.
 * Strings are valid during the call only. A nonzero return from fn stops
 * and is returned. Errors: PHM_ERR_INDEX. */
int phm_index_groups(phm_index *idx,
                     int (*fn)(void *ctx, const char *source,
                               const char *category, uint64_t count),
                     void *ctx, char *err, size_t errlen);

/* Calls fn(ctx, entry_number, entry) for every entry in the order they
 * were stored, from one snapshot (an export sees no partial commit).
 * `entry` and its strings are valid during the call only. A nonzero return
 * from fn stops and is returned. Errors: PHM_ERR_INDEX, PHM_ERR_CORRUPT
 * (an undecodable record; `err` gives its number). */
int phm_index_foreach(phm_index *idx,
                      int (*fn)(void *ctx, uint64_t entry, const phm_entry *e),
                      void *ctx, char *err, size_t errlen);

/* Checks, from one snapshot, that the index is consistent: metadata,
 * every record decodes, names, digests and counts agree with the records,
 * every PDQ entry is in the search structures exactly once (base or
 * delta) with its own hash, and the structures are well formed.
 * Returns PHM_OK, or PHM_ERR_CORRUPT with the first problem in `err`, or
 * PHM_ERR_INDEX / PHM_ERR_NOMEM. Reads the whole file. */
int phm_index_verify(phm_index *idx, char *err, size_t errlen);

/* ---- searching ---- */

/* A search result: the entry number (resolve it with phm_searcher_get)
 * and the Hamming distance from the query. Entry numbers are positive,
 * never reused, and kept while an entry's PDQ hash is unchanged. */
typedef struct phm_match {
    uint64_t entry;
    int distance;
} phm_match;

/* A search context for one thread: an LMDB read slot, scratch buffers and
 * the result array. */
typedef struct phm_searcher phm_searcher;

/* Errors: PHM_ERR_NOMEM, PHM_ERR_INDEX (e.g. no reader slot left). */
int phm_searcher_new(phm_index *idx, phm_searcher **out, char *err,
                     size_t errlen);

/* Frees the searcher; results and entries it returned become invalid.
 * Accepts NULL. */
void phm_searcher_free(phm_searcher *s);

/* Every entry whose PDQ hash is within `radius` (0..PHM_INDEX_MAX_RADIUS)
 * of `query`, sorted by distance then entry number. Each search reads the
 * newest committed state. *matches (owned by s) and the snapshot stay
 * valid until the next search or phm_searcher_release() on s.
 * Errors: PHM_ERR_INVALID, PHM_ERR_NOMEM, PHM_ERR_INDEX. */
int phm_search_radius(phm_searcher *s, const phm_pdq *query, int radius,
                      const phm_match **matches, size_t *count, char *err,
                      size_t errlen);

/* The k (>= 1) nearest entries within `max_distance` (0..256), sorted by
 * distance then entry number (ties at the k-th distance go to lower entry
 * numbers). Fewer than k if fewer are within max_distance. Far queries on
 * large indexes cost a linear scan: bound max_distance when you can.
 * Validity and errors as phm_search_radius. */
int phm_search_knn(phm_searcher *s, const phm_pdq *query, size_t k,
                   int max_distance, const phm_match **matches, size_t *count,
                   char *err, size_t errlen);

/* Many queries against one snapshot. k = 0: radius search; k >= 1: the k
 * nearest within `radius`. The results of query i are
 * (*matches)[(*offsets)[i] .. (*offsets)[i + 1]); both arrays are owned by
 * s, valid as for phm_search_radius. Errors as phm_search_radius. */
int phm_search_batch(phm_searcher *s, const phm_pdq *queries, size_t nqueries,
                     int radius, size_t k, const phm_match **matches,
                     const size_t **offsets, char *err, size_t errlen);

/* Entries carrying the digest `digest` of type `signal` (PHM_SIG_MD5: 16
 * bytes, PHM_SIG_SHA1: 20, PHM_SIG_SHA256: 32), distance 0, by entry
 * number. Validity and errors as phm_search_radius. */
int phm_search_digest(phm_searcher *s, unsigned signal, const uint8_t *digest,
                      const phm_match **matches, size_t *count, char *err,
                      size_t errlen);

/* Reads entry `entry` from the snapshot of the last search on s (or the
 * newest one if there is none). The strings in *out point into the memory
 * map, valid until the next search or phm_searcher_release() on s.
 * Errors: PHM_ERR_NOT_FOUND (no such entry, e.g. removed since),
 * PHM_ERR_CORRUPT, PHM_ERR_INDEX. */
int phm_searcher_get(phm_searcher *s, uint64_t entry, phm_entry *out,
                     char *err, size_t errlen);

/* The entry number of (source, id) in the same snapshot, or
 * PHM_ERR_NOT_FOUND. */
int phm_searcher_find(phm_searcher *s, const char *source, const char *id,
                      uint64_t *entry, char *err, size_t errlen);

/* Ends the snapshot held since the last search (results and entries become
 * invalid). Call it when a searcher goes idle: a held snapshot keeps
 * writers from reusing the pages it sees, and the file grows. */
void phm_searcher_release(phm_searcher *s);

#ifdef __cplusplus
}
#endif
#endif /* PHMATCH_H */
