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

#ifdef __cplusplus
}
#endif
#endif /* PHMATCH_H */
