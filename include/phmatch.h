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
 *
 * Names: phm_<type>_<verb> for what a type or handle does or holds
 * (phm_index_open, phm_searcher_get, phm_pdq_to_hex, phm_format_detect,
 * phm_size_parse, phm_index_get_stats); phm_<verb>_<what> for the work a
 * workspace does, the workspace first (phm_decode_mem, phm_hash_file,
 * phm_hash_video_file, phm_search_radius, phm_match_image,
 * phm_digest_mem). Handles made from nothing pair _new/_free, handles on a
 * file _open/_close, values the caller owns _init/_clear; every _free,
 * _close and _clear accepts NULL.
 */
#ifndef PHMATCH_H
#define PHMATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared in this header, and nothing else of libphmatch, is
 * exported from the shared library (which is built with hidden visibility;
 * tests/cli/symbols.sh checks the list). */
#if defined(__GNUC__) && !defined(PHM_NO_VISIBILITY_PRAGMA)
#pragma GCC visibility push(default)
#endif

/* The version of this header, the one source of the version (the Makefile
 * reads it from here). A program can compare it with phm_version(), the
 * version of the library it runs with. Before 1.0 the structures declared
 * here still gain fields (at their ends: phm_trim_result.canvas,
 * phm_match_options' later members) under the same SONAME,
 * libphmatch.so.0 and the same version string: build a program against
 * the header of the library it runs with (the Debian packages pin
 * libphmatch-dev to the same libphmatch0). */
#define PHM_VERSION_MAJOR 0
#define PHM_VERSION_MINOR 1
#define PHM_VERSION_PATCH 0
#define PHM_VERSION_STRING "0.1.0"

/* The version of the library linked, PHM_VERSION_STRING when it was built:
 * "0.1.0". Static; never NULL. */
const char *phm_version(void);

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
    PHM_ERR_INDEX_TRUNCATED = -16, /* index file shorter than its pages */
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

/* Hex for exact digests (MD5, SHA-1, SHA-256) and other byte strings. */

/* "0123456789abcdef". */
extern const char phm_hex_digits[16];

/* The value 0..15 of hex digit c (upper or lower case), or -1. */
int phm_hex_value(int c);

/* Writes the 2n lowercase hex digits of the n bytes at `in`, then a NUL,
 * to `out` (2n + 1 bytes). */
void phm_hex_encode(const void *in, size_t n, char *out);

/* Parses exactly 2n hex digits (either case), s[0..len), into n bytes at
 * `out`. Returns PHM_OK, or PHM_ERR_BAD_HASH if len != 2n or a character
 * is not a hex digit (`out` may then be partly written). */
int phm_hex_decode(const char *s, size_t len, void *out, size_t n);

/* Orders hashes by value, w[3] first (as their hex sorts): a comparator
 * for qsort and bsearch over phm_pdq arrays, and the order of
 * phm_vpdq_distinct()'s output. */
int phm_pdq_cmp(const void *a, const void *b);

/* The Hamming distance of two hashes, 0..256. (For many hashes at once,
 * the searches of the index use vectorised kernels.) */
int phm_pdq_distance(const phm_pdq *a, const phm_pdq *b);

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */
/*
 * Names and labels reach phmatch as bytes: file names from the file
 * system, ids and notes from hash lists. They should be UTF-8 and often
 * are not. One policy, used by phmatch, phmatchd and the hash-list
 * writers alike: text is kept as bytes; where an output needs UTF-8 (JSON,
 * an HTTP answer), each byte that does not belong to a well-formed UTF-8
 * sequence (RFC 3629: no overlong forms, surrogates or code points above
 * U+10FFFF) becomes U+FFFD. A format that must give back exactly what it
 * read (a jsonl hash list) refuses such text instead.
 */

/* The length (1..4) of the well-formed UTF-8 sequence that starts `data`,
 * of at most `len` bytes; 0 if there is none (or len is 0). */
size_t phm_utf8_seq(const void *data, size_t len);

/* Nonzero if data[0..len) is entirely well-formed UTF-8. */
int phm_utf8_valid(const void *data, size_t len);

/* Writes data[0..len) to `out` with every byte that is not part of a
 * well-formed UTF-8 sequence replaced by U+FFFD (3 bytes), then a NUL,
 * truncated to `cap` bytes (NUL included) as snprintf does. Returns the
 * length of the whole result without the NUL (at most 3 * len), so a
 * return >= cap means it was truncated. */
size_t phm_utf8_repair(const void *data, size_t len, char *out, size_t cap);

/* Writes data[0..len) as a JSON string, quotes included, then a NUL, to
 * `out`, truncated to `cap` as phm_utf8_repair. Escapes '"', '\\' and
 * control characters (\b \f \n \r \t, others \u00XX, DEL too), U+2028
 * and U+2029 (line ends for JavaScript), and writes \ufffd for each byte
 * that is not UTF-8. Returns the full length without the NUL (at most
 * 6 * len + 2). */
size_t phm_json_quote(const void *data, size_t len, char *out, size_t cap);

/* phm_json_quote() written to `fp`, in pieces (no allocation, any length).
 * Returns PHM_OK, or PHM_ERR_UNREADABLE if the stream failed. */
int phm_json_fwrite(FILE *fp, const void *data, size_t len);

/* ------------------------------------------------------------------ */
/* Digests                                                             */
/* ------------------------------------------------------------------ */

/* MD5, SHA-1 and SHA-256 of file bytes, through OpenSSL's EVP interface:
 * phmatch's --digest columns and phmatchd's ?digest= are computed here.
 * A digester holds the fetched algorithms and one context per digest; it
 * is used by one thread at a time (make one per thread), and digesting
 * allocates nothing after the first phm_digest_file (a 1 MiB buffer). */

enum {
    PHM_DIGEST_MD5 = 0,
    PHM_DIGEST_SHA1 = 1,
    PHM_DIGEST_SHA256 = 2,
    PHM_DIGEST_COUNT = 3,
    PHM_DIGEST_ALL = (1 << 3) - 1, /* mask of every digest */
};
#define PHM_DIGEST_HEX_MAX 64 /* longest digest in hex (SHA-256), no NUL */

typedef struct phm_digester phm_digester;

/* "md5", "sha1", "sha256" for PHM_DIGEST_*; "unknown" for anything else.
 * The names are the output columns and JSON keys of both programs. */
const char *phm_digest_name(int which);

/* Parses a comma-separated list of digest names (case-insensitive; "all"
 * selects every one) into a mask of (1 << PHM_DIGEST_*) bits. Returns
 * PHM_OK, or PHM_ERR_INVALID with "unknown digest 'x' (expected md5, sha1,
 * sha256 or all)" in `err` (which may be NULL). */
int phm_digest_parse_list(const char *list, unsigned *mask, char *err, size_t errlen);

/* Creates in *out a digester for the digests in `mask` (may be 0: it then
 * computes nothing). Errors: PHM_ERR_INVALID (bits beyond PHM_DIGEST_ALL),
 * PHM_ERR_NOMEM, PHM_ERR_UNSUPPORTED (OpenSSL does not provide an
 * algorithm, e.g. MD5 under a FIPS-only configuration); the reason is in
 * `err` (may be NULL). Free with phm_digester_free(). */
int phm_digester_new(phm_digester **out, unsigned mask, char *err, size_t errlen);

/* Frees `d`; NULL is allowed. */
void phm_digester_free(phm_digester *d);

/* Restricts the following digests of `d` to `mask`, a subset of the mask
 * it was made with (a service makes one digester of every digest and
 * computes per request only those asked for). Returns PHM_OK, or
 * PHM_ERR_INVALID for a digest it was not made with. */
int phm_digester_select(phm_digester *d, unsigned mask);

/* Digests data[0..len) into lowercase hex: hex[i] for each digest i in the
 * mask, "" for the others. `data` may be NULL when len is 0. Returns
 * PHM_OK, PHM_ERR_INVALID, or PHM_ERR_INTERNAL if OpenSSL failed (every
 * hex[i] is then ""). */
int phm_digest_mem(phm_digester *d, const void *data, size_t len,
                   char hex[PHM_DIGEST_COUNT][PHM_DIGEST_HEX_MAX + 1]);

/* Digests the bytes of the regular file at `path` (opened as
 * phm_file_open does, no size limit), read in 1 MiB pieces rather than
 * held in memory (videos), into hex as phm_digest_mem. Errors:
 * PHM_ERR_NOT_FOUND, PHM_ERR_IS_DIR, PHM_ERR_UNREADABLE (also a FIFO or
 * device), PHM_ERR_NOMEM, PHM_ERR_INTERNAL (OpenSSL failed); every hex[i]
 * is then "". */
int phm_digest_file(phm_digester *d, const char *path,
                    char hex[PHM_DIGEST_COUNT][PHM_DIGEST_HEX_MAX + 1]);

/* ------------------------------------------------------------------ */
/* Sizes and durations                                                 */
/* ------------------------------------------------------------------ */

/* The one meaning of size and duration values in phmatch's options and
 * phmatchd's settings.
 *
 * A size is a decimal count of bytes (no sign, no fraction, no spaces)
 * with an optional suffix, case-insensitive: k (or K), M, G, T are powers
 * of 1000 (SI), Ki, Mi, Gi, Ti powers of 1024 (IEC); either may end in B
 * ("kB", "MiB"), and "B" alone means bytes. So 32M = 32000000 and
 * 32MiB = 33554432.
 *
 * A duration is a decimal number of seconds, a fraction allowed ("1.5";
 * digits below a nanosecond are dropped), with an optional unit: ms, s, m
 * (minutes), h (hours); a plain number is seconds. */

/* Parses a size into *out (bytes). Returns PHM_OK, or PHM_ERR_INVALID for
 * an empty or malformed text or an unknown suffix, PHM_ERR_TOO_LARGE if
 * the value does not fit in 64 bits. *out is unchanged on error. */
int phm_size_parse(const char *text, uint64_t *out);

/* Parses a duration into *out, in nanoseconds. Returns PHM_OK, or
 * PHM_ERR_INVALID (empty, malformed, no digit after the point, unknown
 * unit), PHM_ERR_TOO_LARGE (beyond 2^64-1 ns, about 584 years). *out is
 * unchanged on error. */
int phm_duration_parse(const char *text, uint64_t *out);

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/* Reading a file under limits, as the library reads images and hash
 * files: opened without waiting (O_NONBLOCK, so a FIFO does not block),
 * close-on-exec, only a regular file, only up to a byte limit. Messages
 * are "cannot read 'PATH': WHY". Safe from any thread. */

#define PHM_FILE_NOFOLLOW 1u /* refuse a symbolic link as the last component */

/* Opens `path` for reading and checks it: *fd is the open descriptor (the
 * caller closes it) and *size (may be NULL) its size in bytes. `flags`:
 * 0 or PHM_FILE_NOFOLLOW. `max_bytes`: larger files are refused; 0 means
 * no limit. Errors, *fd then -1: PHM_ERR_NOT_FOUND, PHM_ERR_IS_DIR,
 * PHM_ERR_UNREADABLE (permission, I/O, "not a regular file", a symbolic
 * link with PHM_FILE_NOFOLLOW), PHM_ERR_TOO_LARGE ("N bytes is over the
 * limit of M"), PHM_ERR_NOMEM, PHM_ERR_INVALID. */
int phm_file_open(const char *path, unsigned flags, uint64_t max_bytes, int *fd,
                  uint64_t *size, char *err, size_t errlen);

/* Reads at most `size` bytes of `fd` (from its current offset; fewer if
 * the file ends first) into *buf, whose capacity is *cap: when too small
 * it is replaced by a malloc'ed buffer of size + 1 bytes (the old one is
 * freed; *buf may start NULL with *cap 0; the caller frees it with
 * free()). *len is the count read and (*buf)[*len] is a NUL byte, so text
 * can be parsed as a string. `name` names the file in messages. Errors:
 * PHM_ERR_UNREADABLE, PHM_ERR_NOMEM, PHM_ERR_TOO_LARGE, PHM_ERR_INVALID. */
int phm_file_read_fd(int fd, const char *name, uint64_t size, uint8_t **buf,
                     size_t *cap, size_t *len, char *err, size_t errlen);

/* phm_file_open() then phm_file_read_fd() and close: the whole file at
 * `path`, at most `max_bytes` (0: no limit), into *buf as above. */
int phm_file_read(const char *path, unsigned flags, uint64_t max_bytes, uint8_t **buf,
                  size_t *cap, size_t *len, char *err, size_t errlen);

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
    PHM_FORMAT_PNM,  /* binary P5 (grey) and P6 (RGB), maxval 1..65535 */
    PHM_FORMAT_WEBP, /* libwebp: lossy, lossless, alpha, animated */
    PHM_FORMAT_GIF,  /* giflib: GIF87a and GIF89a, animated */
    PHM_FORMAT_BMP,  /* Windows and OS/2 bitmaps (our own decoder) */
    PHM_FORMAT_TIFF, /* libtiff: TIFF and BigTIFF */
    PHM_FORMAT_HEIF, /* libheif: HEIC/HEIF (an ISO-BMFF file of image brand) */
    PHM_FORMAT_AVIF, /* libheif: AVIF */
    PHM_FORMAT_JXL,  /* libjxl: a JPEG XL codestream or container */
} phm_format;

/* "jpeg", "png", "pnm", "webp", "gif", "bmp", "tiff", "heif", "avif",
 * "jxl", or "unknown". Static. */
const char *phm_format_name(phm_format f);

/* The most bytes phm_format_detect() looks at: an ISO-BMFF file's `ftyp`
 * box lists the brands that tell HEIF and AVIF images from videos. */
#define PHM_FORMAT_DETECT_BYTES 64

/* Identifies the format from the first bytes (magic numbers), never from a
 * file name. Looks at up to PHM_FORMAT_DETECT_BYTES bytes; give it that
 * many where the input has them (fewer may give PHM_FORMAT_UNKNOWN for a
 * HEIF or AVIF file whose image brand comes late in its `ftyp` box). */
phm_format phm_format_detect(const void *data, size_t len);

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

/* ---- image transforms (known-image augmentation, docs/ROBUST.md) ----
 * Edits of a decoded image into a buffer the caller owns, never larger
 * than the input (so an input within the decoder's pixel limit bounds
 * them). The output is 1 or 3 channels as the input, rows packed (stride
 * = width x channels), `format` copied; it points into `buf`. Pure
 * functions: any thread. Errors: PHM_ERR_INVALID (NULL pointers, 0 or 2
 * or 4 channels, a rectangle outside the image, |degrees| above 90, a
 * buffer shorter than the output). */

/* Bytes of a packed image of that size, or 0 (a zero side, channels not 1
 * or 3, or too large for size_t). */
size_t phm_image_bytes(uint32_t width, uint32_t height, uint32_t channels);

/* Copies the w x h rectangle at (x, y) of img, exactly, into buf. */
int phm_image_crop(const phm_image *img, uint32_t x, uint32_t y, uint32_t w,
                   uint32_t h, uint8_t *buf, size_t buflen, phm_image *out);

/* The size of phm_image_rotate's output: the input's with crop 0; with
 * crop nonzero the largest upright (axis-aligned) rectangle, centred,
 * wholly inside the rotated image, less one pixel on each side so no
 * interpolated edge shows (at least 1 x 1; a rotation by 0 keeps the
 * size). */
int phm_image_rotated_size(uint32_t width, uint32_t height, double degrees,
                           int crop, uint32_t *out_width, uint32_t *out_height);

/* Rotates img about its centre by `degrees` (-90..90; positive is
 * clockwise on screen, as ImageMagick's -rotate), sampling bilinearly.
 * crop 0: the same canvas, the uncovered corners filled with `fill` (R, G,
 * B; its luma for a grey image; NULL = black). crop nonzero: the centred
 * rectangle of phm_image_rotated_size(), so no fill shows. A rotation by 0
 * copies the image. */
int phm_image_rotate(const phm_image *img, double degrees, int crop,
                     const uint8_t fill[3], uint8_t *buf, size_t buflen,
                     phm_image *out);

/* ---- rotation corners (issue 15; docs/ROBUST.md, "Rotation corners")
 * A picture rotated by a few degrees on its own canvas shows a triangle
 * of one fill colour at each corner; in a calm picture they make most of
 * its PDQ hash, so calm pictures rotated alike meet. Filled from the
 * picture next to them, the corners add no edge and the hash is the
 * picture's: when that hash is below PDQ's quality gate the corners made
 * the image's own hash, and `phmatch match` and phmatchd keep such an
 * image from the stored rotation variants (phm_query_hashes.calm_corners,
 * phm_match_options.calm_corners). */
typedef struct phm_corners {
    /* The triangle at corner k (0 top left, 1 top right, 2 bottom right,
     * 3 bottom left): its legs along the canvas's top or bottom edge
     * (leg_x) and along its left or right edge (leg_y), in pixels. */
    double leg_x[4], leg_y[4];
    uint8_t fill[3]; /* the fill colour (R, G, B; a grey image's in all 3) */
} phm_corners;

/* Looks for the four corners of one rotation in img: triangles of one
 * colour, of one angle between 0.5 and 20 degrees, each straight-edged,
 * opposite ones alike, neighbours turned the other way. Returns 1 with
 * *out set, 0 when img has none (*out zeroed), PHM_ERR_INVALID for NULL
 * pointers or a bad image. Reads a few rows and columns; allocates
 * nothing; any thread. */
int phm_corners_find(const phm_image *img, phm_corners *out);

/* Copies img into buf (phm_image_bytes of its size) with each corner of
 * `c` filled from the picture: every line across a triangle along its
 * short leg takes the mean of four picture pixels just past its long side
 * (past a guard of 2 + 1/256 of the shorter side, where the rotation
 * blended fill and picture). Legs must lie in 0..the image's sides (a
 * corner with a leg of 0 is left as it is), else PHM_ERR_INVALID, as for
 * NULL pointers, a bad image or a short buffer. */
int phm_corners_fill(const phm_image *img, const phm_corners *c, uint8_t *buf,
                     size_t buflen, phm_image *out);

/* Blurs img into buf (same size) with an approximate Gaussian of `sigma`
 * pixels (0 < sigma <= 1000): three box filters each way, edges clamped,
 * in linear time whatever sigma (within a few levels of a true Gaussian
 * on smooth content). Used by the "blur" stored variant. */
int phm_image_blur(const phm_image *img, double sigma, uint8_t *buf, size_t buflen,
                   phm_image *out);

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

/* Gives back the decoder's buffers (decoded pixels, file bytes) whose size
 * is above `keep_bytes`, so that one oversized image does not leave its
 * memory held by a long-lived decoder; buffers at most `keep_bytes` are
 * kept for reuse (0 frees every buffer). The next decode allocates again
 * what it needs. Invalidates the pixels of the last decode and
 * phm_decoder_last_bytes(). Returns the bytes freed; accepts NULL (0). */
size_t phm_decoder_trim(phm_decoder *dec, size_t keep_bytes);

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

/* Transparency (issue 15; docs/ROBUST.md, "Pictures with transparency").
 * The PDQ reference drops alpha and hashes the colours stored under it,
 * and so does every decode by default (PHM_BACKGROUND_NONE): a hash list's
 * hashes stay comparable. But a sticker or a cut-out drawn in its alpha
 * channel alone (a quarter of Debian's openclipart PNGs: black under
 * every pixel) then hashes to all zeros at quality 0, and no copy of it a
 * viewer saved (flattened over white by a browser, an editor or a
 * platform's conversion to JPEG) meets that hash. With a background grey
 * level (0..255) set, the decodes that follow composite transparent
 * pixels over it, v' = (v a + g (255 - a) + 127) / 255 per channel, for
 * the formats whose transparency users meet: PNG (alpha channel or tRNS
 * chunk), a WebP's alpha (a still, or an animation's first frame on its
 * canvas: an animated sticker), a GIF's transparent index, a HEIF or
 * AVIF image's alpha plane (a phone's sticker or cut-out), a JPEG XL
 * image's alpha (straight, or premultiplied: then v' = min(255, (vp 255 +
 * g (255 - a) + 127) / 255) of the stored colour vp), a TIFF page's first
 * extra sample (straight or associated; grey, palette, RGB or CMYK) and a
 * 16- or 32-bit BMP's alpha bit field (BI_ALPHABITFIELDS, or a V3/V4/V5
 * header's alpha mask; an image whose alpha is 0 everywhere is opaque, as
 * Windows shows it). The frames of animations (--animation frames) drop
 * alpha either way. Returns PHM_OK, or PHM_ERR_INVALID for NULL or a
 * level outside -1..255. */
#define PHM_BACKGROUND_NONE (-1)
int phm_decoder_set_background(phm_decoder *dec, int grey);

/* Nonzero when the last decode on `dec` composited at least one pixel that
 * was not opaque over the background (so its pixels differ from the
 * reference's); 0 when it found none, had no background set, failed, or
 * was of a format listed above as dropping alpha. Accepts NULL (0). */
int phm_decoder_composited(const phm_decoder *dec);

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

/* Gives back the workspace's buffers when together they are above
 * `keep_bytes` (they grow with the largest image: about 4 x W x (H / 128 +
 * 90) + 256 x H bytes for W x H, e.g. 11 MB at 10000 x 10000), so that one
 * oversized image does not leave them held; 0 frees all. The next image allocates again what it
 * needs. Not during a hash. The helper workspaces phm_hash_mem_query
 * makes for the caption cuts count with h's and are freed with them.
 * Returns the bytes freed; accepts NULL (0). */
size_t phm_hasher_trim(phm_hasher *h, size_t keep_bytes);

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

/* Reads only the header of an image held in memory: its width, height and
 * format into *info, from the same header readers the decoders use, so a
 * decode of the same bytes sees the same dimensions. Decodes no pixel,
 * applies no limit and keeps nothing after the call (a JPEG's header is
 * read by libjpeg, tables included: microseconds). For callers that budget
 * memory before decoding: width x height is the decoded size in pixels.
 * Errors: PHM_ERR_UNSUPPORTED (not a JPEG, PNG or PNM image),
 * PHM_ERR_CORRUPT (malformed or cut header, a zero dimension),
 * PHM_ERR_NOMEM, PHM_ERR_INVALID; *info is then zeroed and `err` (may be
 * NULL) says why, naming `name` as phm_decode_mem() does. Thread-safe. */
int phm_image_probe(const void *data, size_t len, const char *name, phm_image_info *info,
                    char *err, size_t errlen);

/* phm_hash_mem() on a file read as phm_decode_file() reads it; the bytes
 * stay available through phm_decoder_last_bytes() (for digests). */
int phm_hash_file(phm_decoder *dec, phm_hasher *h, const char *path, phm_mode mode,
                  int dihedral, phm_pdq_result *out, phm_image_info *info,
                  char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Border trimming (docs/ROBUST.md)                                    */
/* ------------------------------------------------------------------ */
/*
 * A letterboxed, pillarboxed or screenshotted copy of an image hashes far
 * from the image itself; the hash of its content without the border is
 * close. phmatch match and phmatchd search it as an extra query hash
 * (phm_match_options.extra, variant "trimmed"). Detection is conservative:
 * a border is a uniform colour (black, white, any, with JPEG noise; the
 * flat bars of a screenshot) ending in a sharp step, or a low-detail fill
 * (a blurred or stretched copy of the image) ending where fine detail
 * starts, the latter only with a fill of about the same depth on the
 * opposite side; any border only with one on the opposite side (a band
 * along one side alone is left). Each side's border is at least 2 % of its dimension (and
 * 2 pixels); the content keeps at least 20 % of each dimension and 16
 * pixels. Images without such a border (a night sky, a plain sky, a white
 * product shot, thin lines across a plain image) are left whole. */

/* A rectangle of an image's pixels. */
typedef struct phm_rect {
    uint32_t x, y;          /* top left */
    uint32_t width, height;
} phm_rect;

/* Finds the content of `img` inside a border. Returns 1 with *content the
 * content rectangle, 0 when there is no border (*content then the whole
 * image), or PHM_ERR_INVALID (NULL arguments, channels not 1 or 3, stride
 * below width x channels). Looks at 256 places of a line at most (each
 * with its neighbour), line by line from each edge to a few lines past
 * its border, so a large image costs a small part of its pixels; an image
 * at least 1.5 times as tall as wide whose first and last rows are mostly
 * one colour and that shows no border above and below its content is
 * also read row by row (128 places, up to 4 times) as a phone's
 * screenshot (wt-shot; docs/ROBUST.md, "Screenshots and captions of other
 * layouts"). An image of any shape whose first and last rows are mostly
 * one colour is read row by row once more (128 places) for its canvas;
 * when nothing else is found, the content off that canvas between
 * interface rows above and below it is the content (wt-shot3; the second
 * box of phm_trim_result). Allocates nothing; any thread. */
int phm_trim_detect(const phm_image *img, phm_rect *content);

/* *out = the rectangle r of img, a view sharing img's pixels (stride
 * unchanged: phm_hash_image takes it). Returns PHM_OK, or PHM_ERR_INVALID
 * when r is empty or not inside img. */
int phm_image_view(const phm_image *img, const phm_rect *r, phm_image *out);

typedef struct phm_trim_result {
    int found;              /* 1: a border was found, content and pdq set;
                               0: none, the rest zero */
    phm_rect content;       /* in the decoded image's pixels */
    phm_pdq_result pdq;     /* the content's hash (mode, dihedral as asked) */
    /* wt-shot3: a second box (found 1), on a screen of any shape whose
     * first and last rows are plain (a phone's, an image viewer's window):
     * the content off the screen's canvas where it ends elsewhere than
     * `content` (a picture whose own edge has the canvas's colour, which
     * a stored "trim-white" / "trim-black" variant matches). With canvas
     * 1 (below), that box less the thin runs of rows at its top and bottom
     * where it differs (session 27; a stored "trim-white-thin" /
     * "trim-black-thin" is cut alike). alt_found 0: none, alt_content and
     * alt_pdq zero. phmatch searches it as a second "trimmed" hash. */
    int alt_found;
    phm_rect alt_content;
    phm_pdq_result alt_pdq;
    /* wt-lbox2: 1 when no border was found and `content` is instead the
     * picture's box on a plain white or black canvas (the content off
     * that colour, as the stored "trim-white" / "trim-black" cut it; a
     * copy barred in the canvas's colour shows no border): found is 1, and
     * the query is not "bordered" (phm_match_options.bordered). 0
     * otherwise. */
    int canvas;
} phm_trim_result;


/* phm_hash_mem() plus trimming: *out, *info, the status and `err` exactly
 * as phm_hash_mem gives them (the plain hash is the file's own), and with
 * `trim` non-NULL the hash of the content inside the image's border in
 * *trim, or, with no border, of a picture's content on a plain white or
 * black canvas (trim->canvas 1; wt-lbox2) (trim->found 0 when it has
 * neither, and whenever the status is an error). A JPEG still takes one
 * pass: its rows go to the hasher as they are decoded, into the decoder's
 * buffer, kept whole when it holds at most 64 MiB, and to a copy reduced to
 * 1/8 (1/4, 1/2 for small images; block means) to look at; only when that
 * shows a border is the border found on the full pixels (decoded again
 * only when the image was too large to keep) and the content hashed.
 * Other formats are decoded once, hashed and looked at.
 * trim NULL: phm_hash_mem itself. Uses `dec` and `h` as phm_hash_mem
 * does: their buffers, one thread each. The same as phm_hash_mem_query
 * (below) with trimming alone asked; a caller that also wants the cuts or
 * the soft hash calls that, for one decode. */
int phm_hash_mem_trim(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                      const char *name, phm_mode mode, int dihedral, phm_pdq_result *out,
                      phm_image_info *info, phm_trim_result *trim, char *err,
                      size_t errlen);

/* phm_hash_mem_trim() on a file read as phm_hash_file() reads it. */
int phm_hash_file_trim(phm_decoder *dec, phm_hasher *h, const char *path, phm_mode mode,
                       int dihedral, phm_pdq_result *out, phm_image_info *info,
                       phm_trim_result *trim, char *err, size_t errlen);

/* ---- caption cuts (issue 15, wt-edits; docs/ROBUST.md, "Edits at 0.99")
 * A caption or watermark laid over an image covers content no hash can
 * recover; it usually sits in a band along the bottom or the top. The
 * image with that third cut off is hashed on both sides: stored as a
 * variant of a known image (PHM_KV_ED_CUT_BOTTOM, PHM_KV_ED_CUT_TOP) and,
 * under `phmatch match --robust`, searched as an extra hash of a query
 * (variants "cut-bottom", "cut-top"). */
enum { PHM_CUT_BOTTOM = 0, PHM_CUT_TOP = 1,
       /* wt-shot: a caption or watermark across the middle: the upper
        * and the lower third stacked (the middle third cut out; no one
        * rectangle: phm_cut_rect refuses it) */
       PHM_CUT_MIDDLE = 2,
       PHM_CUT_COUNT = 3 };

/* The stored variant code (PHM_KV_ED_CUT_*) of cut `which` (PHM_CUT_*),
 * or 0 for an unknown one: what a match through a query's cut names
 * (phm_known_variant_name). Any thread. */
int phm_cut_variant(int which);

/* *out = the part of a width x height image kept by cut `which`
 * (PHM_CUT_BOTTOM: the rows above the lower third, i.e. the first
 * height - height/3; PHM_CUT_TOP: the rows below the upper third), the
 * full width. Returns PHM_OK, or PHM_ERR_INVALID (NULL out, an unknown
 * `which` or PHM_CUT_MIDDLE, a side 0, a height below 3). Any thread. */
int phm_cut_rect(uint32_t width, uint32_t height, int which, phm_rect *out);

/* The number of distinct 16-bit rows (1..16) of PDQ hash h. A flat image
 * or one of stripes (a flag, a cut of a plain background) hashes to a
 * pattern of a few rows repeated ("aaaa5555..."), whatever its PDQ
 * quality, and such patterns lie near each other: a stored variant or a
 * query's extra hash (a cut, a crop, a trim, a soft hash) with fewer than
 * PHM_CUT_MIN_ROWS distinct rows is neither stored nor searched
 * (docs/ROBUST.md, "Edits at 0.99"); a plain hash is, whatever it is.
 * NULL: 0. */
int phm_pdq_distinct_rows(const phm_pdq *h);
#define PHM_CUT_MIN_ROWS 12

/* Hashes img's cuts (their rows of img's pixels in order: phm_cut_rect's
 * rectangle; for the middle cut the upper third, then the rows from two
 * thirds down) into out[PHM_CUT_*] (mode, dihedral as phm_hash_image) and
 * returns a mask: bit k set when out[k] is usable (hashed, not a pattern:
 * PHM_CUT_MIN_ROWS); 0 for NULL arguments. Uses h as phm_hash_image does;
 * allocates nothing beyond it. */
unsigned phm_hash_cuts(phm_hasher *h, const phm_image *img, phm_mode mode, int dihedral,
                       phm_pdq_result out[PHM_CUT_COUNT]);

/* The low-quality search of `phmatch match --robust` and phmatchd's
 * ?robust=1 (phm_match_options.low_quality_distance, low_quality_min):
 * images of quality PHM_ROBUST_LOW_QUALITY_MIN..49 searched within
 * PHM_ROBUST_LOW_QUALITY_DISTANCE (docs/ROBUST.md, "Edits at 0.99" and
 * "Low-quality copies", has the margins measured). Below 10 a picture is
 * near blank, and blank pictures hash alike. */
#define PHM_ROBUST_LOW_QUALITY_DISTANCE 24
#define PHM_ROBUST_LOW_QUALITY_MIN 10
/* ... and below PHM_ROBUST_LOW_QUALITY_MIN, a near-blank picture whose
 * hash is no pattern within this (phm_match_options.flat_distance;
 * docs/ROBUST.md, "Near-blank copies"). */
#define PHM_ROBUST_FLAT_DISTANCE 16

/* The least quality of a known image's edit that phm_augment and
 * phm_hash_known_mem keep as a variant: a stored hash is met by every
 * query, so it keeps the stricter bound the low-quality search had when
 * these rules were measured (docs/ROBUST.md, "Combinations and calm
 * pictures"). */
#define PHM_AUGMENT_MIN_QUALITY 20

/* The "soft" hash of img (issue 15, wt-edits): img shrunk by block means
 * to at most PHM_SOFT_SIDE pixels a side (an image already that small is
 * kept), blurred with sigma 0.75 % of the shrunk image's longer side
 * (phm_image_blur), then hashed (mode, dihedral as phm_hash_image). Fine
 * stripes and textures alias when PDQ scales an image to 64 x 64, so their
 * hash moves under a resize, recompression or flip; the soft hash of the
 * copy and the original's stay near. Stored as variant "soft"
 * (PHM_KV_ED_SOFT) and searched as a query's extra hash under
 * `phmatch match --robust`. Allocates one buffer of the shrunk image's
 * size twice over; uses h as phm_hash_image does. Errors: those of
 * phm_hash_image, PHM_ERR_NOMEM. */
#define PHM_SOFT_SIDE 256
int phm_hash_soft(phm_hasher *h, const phm_image *img, phm_mode mode, int dihedral,
                  phm_pdq_result *out);

/* The largest side (pixels) of a picture or trimmed box that gets an
 * area64 hash (phm_hash_area64). */
#define PHM_AREA64_MAX_SIDE 255
/* The variant name of a query's area64 hash of its trimmed box (match
 * records' "variant"); that of the whole image is "area64". */
#define PHM_AREA64_TRIMMED "area64-trimmed"
/* ... and of the picture turned back (phm_query_hashes.area[3]; docs/ROBUST.md,
 * "De-rotation of small pictures"). */
#define PHM_AREA64_DEROTATED "area64-derotated"

/* The "area64" hash of img (wt-small): img resampled to exactly 64 x 64,
 * each axis by area averaging (every output pixel the mean of the source
 * area it covers) where it is at least 64 pixels long, else bilinearly
 * (pixel centres aligned), then hashed (mode, dihedral as
 * phm_hash_image). PDQ's own filter spans about half of a cell of its
 * 64-point grid, so a picture of 1-2 pixel strokes aliases, and two
 * copies of it resampled otherwise (a screenshot's 92 %, a thumbnail)
 * hash far apart; evenly resampled they stay near. Made only for
 * pictures, and trimmed boxes, of at most PHM_AREA64_MAX_SIDE pixels a
 * side (where strokes are a sizeable part of a cell): a larger one
 * gives PHM_ERR_INVALID, as NULL pointers or a bad image do. Allocates
 * 64 x 64 x channels bytes and 64 x channels doubles per row of img;
 * uses h as phm_hash_image does; any thread with its own h. */
int phm_hash_area64(phm_hasher *h, const phm_image *img, phm_mode mode, int dihedral,
                    phm_pdq_result *out);

/* ---- every hash of a query from one decode (issue 15, wt-onepass)
 * What phmatch match and phmatchd's /v1/match search for an image: its
 * own hash and, as asked, the content inside a border (trimming), the
 * caption cuts and the soft hash, from ONE decode of its bytes. A JPEG is
 * still decoded in one pass and never held whole: each block of rows goes
 * to the hasher, to a reduced copy for border detection (opt->trim), to
 * two more hashers that take the rows of each cut (opt->cuts: the bottom
 * cut rows 0 .. h - h/3 - 1, the top cut rows h/3 .. h - 1), and to a
 * block-mean shrink for the soft hash (opt->soft); only an image whose
 * reduced copy shows a border is decoded whole again, to find the border
 * on its full pixels. Other formats are decoded whole once and every hash
 * made from those pixels.
 *
 * The hashes are bit-identical to the separate calls: pdq, info, the
 * status and err those of phm_hash_mem(); trim that of
 * phm_hash_mem_trim(); cut and cut_ok those of phm_hash_cuts(), soft
 * those of phm_hash_soft(), on the pixels phm_decode_mem() gives
 * (tests/unit/test_query.c checks all four). */
typedef struct phm_query_options {
    phm_mode mode;  /* as phm_hash_mem */
    int dihedral;   /* nonzero: the 8 orientations of every hash */
    int trim;       /* nonzero: look for a border (phm_hash_mem_trim) */
    int cuts;       /* nonzero: the caption cuts (phm_hash_cuts) */
    int soft;       /* nonzero: the soft hash (phm_hash_soft) */
    int corners;    /* nonzero: look for a rotation's corners
                       (phm_corners_find; a streamed JPEG is looked at
                       whole when kept whole (trim with cuts), else
                       decoded whole again when its reduced copy shows
                       them) */
    int derotate;   /* nonzero, with corners: a rotation found also
                       turned back (phm_query_hashes.derot;
                       phmatch match --robust, phmatchd's robust=1) */
    int flatten;    /* nonzero: a picture with transparency (a PNG,
                       WebP, GIF, HEIF, AVIF, JPEG XL, TIFF or BMP image with a
                       pixel not opaque: phm_decoder_set_background) is also
                       decoded over white and over black, as a viewer
                       or a conversion to JPEG shows it; their own
                       hashes are phm_query_hashes.flat, and every other
                       extra asked for is made from the picture over
                       white. pdq stays the reference's (alpha dropped).
                       Costs two more decodes, only for such pictures.
                       Not for a JPEG (it has no alpha) */
} phm_query_options;

/* The hashes of a query's rotation corners alone (phm_query_hashes). */
#define PHM_CORNERS_ALONE 3

typedef struct phm_query_hashes {
    phm_pdq_result pdq;                /* the image's own hash (phm_hash_mem) */
    phm_image_info info;               /* filled whenever the header was read */
    phm_trim_result trim;              /* found 0 unless asked and found */
    phm_pdq_result cut[PHM_CUT_COUNT]; /* indexed by PHM_CUT_* */
    unsigned cut_ok;                   /* bit k: cut[k] usable (phm_hash_cuts) */
    phm_pdq_result soft;               /* valid when has_soft */
    int has_soft;
    /* With opt->corners: a rotation's corners (corners_found 1, corners
     * their shape), the PDQ quality of the image with them filled
     * (phm_corners_fill: the picture's own), and calm_corners set when
     * that is below PHM_PDQ_MIN_QUALITY, i.e. when the corners make the
     * image's hash (for phm_match_options.calm_corners). */
    phm_corners corners;
    int corners_found;
    int corners_quality;
    int calm_corners;
    /* Corners found and not calm: ncorners_pdq (up to PHM_CORNERS_ALONE)
     * hashes of the corners alone, the picture flat at its mean colour
     * and the rest in the fill colour: the triangles as found, and the
     * corners a turn by 3 and by 5 degrees their way leaves on this
     * canvas (as phm_image_rotate draws a flat picture); every
     * orientation with opt->dihedral. For phm_match_options.corners_only. */
    phm_pdq_result corners_pdq[PHM_CORNERS_ALONE];
    int ncorners_pdq;
    /* Corners found and opt->derotate: the image turned back by the
     * angle the corners show and cut to the picture's box (its size from
     * the corners too: on a canvas grown by the turn, W' = W cos + H
     * sin), the corners the turn cut off filled from the picture;
     * searched as the extra "derotated" (phm_query_match_options), which
     * the entries' own hashes and crop variants answer, never a stored
     * rotation. Made with calm_corners too: then its quality is below the
     * gate, and the matcher treats it as any such extra. has_derot 0 when
     * not made (no readable angle, out of memory). */
    phm_pdq_result derot;
    int has_derot;
    /* With opt->soft (wt-small): the area64 hashes (phm_hash_area64) of
     * the image (area[0]), of trim.content (area[1]), of
     * trim.alt_content (area[2]) and of the picture turned back (area[3],
     * with derot), each made only when that picture is at most
     * PHM_AREA64_MAX_SIDE pixels a side: bit k of area_ok. */
    phm_pdq_result area[4];
    unsigned area_ok;
    /* With opt->flatten and a picture with transparency: the own hashes
     * of the picture over white (flat[0]) and over black (flat[1]); bit k
     * of flat_ok. Searched as the extras "flattened-white" and
     * "flattened-black", whose quality counts for the quality gate as the
     * own hash's does (a drawing in alpha alone is all zeros, quality 0,
     * with alpha dropped). */
    phm_pdq_result flat[2];
    unsigned flat_ok;
} phm_query_hashes;

/* Hashes the image in data[0..len) as `opt` asks into *q (zeroed first).
 * Returns what phm_hash_mem() returns for the same bytes (PHM_OK,
 * PHM_WARN_RECOVERED with every hash made from the recovered pixels, or
 * an error: then only q->pdq and q->info may be set, as phm_hash_mem sets
 * them, and the rest is zero), PHM_ERR_INVALID for NULL dec, h, opt or q.
 * The extras are best effort: a cut or soft hash that cannot be made
 * (image too small, out of memory) is left out (cut_ok bit, has_soft or
 * corners_found 0) without failing the call. Uses `dec` and `h` as phm_hash_mem does
 * (their buffers, one thread each); with opt->cuts, h also keeps two
 * helper workspaces (phm_hasher_trim and phm_hasher_free release them);
 * opt->soft allocates buffers of the shrunk image's size (at most
 * PHM_SOFT_SIDE squared x 3 bytes each, as phm_hash_soft) for the call. */
int phm_hash_mem_query(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                       const char *name, const phm_query_options *opt,
                       phm_query_hashes *q, char *err, size_t errlen);

/* The quality of the picture q hashed: its own hash's, or its hash over
 * white or black (q->flat) when better, as phm_match_image's quality gate
 * takes it through phm_query_match_options (a drawing in alpha alone is
 * quality 0 with alpha dropped). For callers reporting whether a query
 * was below the gate. Thread-safe. */
int phm_query_quality(const phm_query_hashes *q);

/* phm_hash_mem_query() on a file read as phm_hash_file() reads it; the
 * bytes stay available through phm_decoder_last_bytes(). */
int phm_hash_file_query(phm_decoder *dec, phm_hasher *h, const char *path,
                        const phm_query_options *opt, phm_query_hashes *q, char *err,
                        size_t errlen);


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

/* On-disk format version this library writes. Version 2 added video
 * entries (PHM_SIG_VPDQ); version 3 entry records that keep a PhotoDNA
 * hash and the publisher's other fields (phm_entry.photodna, .attrs);
 * version 4 stored variants of an image entry (phm_entry.variants);
 * version 5 the compact layout, version 6 the blocked entry records and
 * compact entry numbers (docs/INDEX_FORMAT.md). Files of versions
 * PHM_INDEX_FORMAT_UPGRADE_MIN to PHM_INDEX_FORMAT_MIN_VERSION - 1 are
 * refused by phm_index_open (PHM_ERR_INDEX_VERSION, naming the upgrade
 * command) and converted by phm_index_upgrade. */
#define PHM_INDEX_FORMAT_VERSION 6
/* The oldest format version this library opens. */
#define PHM_INDEX_FORMAT_MIN_VERSION 6
/* The oldest format version phm_index_upgrade converts. */
#define PHM_INDEX_FORMAT_UPGRADE_MIN 2

/* Address space reserved for the file's memory map when `mapsize` is 0:
 * 1 TiB. Only address space; the file grows as entries are added. */
#define PHM_INDEX_DEFAULT_MAPSIZE ((size_t)1 << 40)

/* Limits on entry fields, in bytes, terminator excluded. */
#define PHM_INDEX_MAX_SOURCE 128
#define PHM_INDEX_MAX_ID 256
#define PHM_INDEX_MAX_CATEGORY 128
#define PHM_INDEX_MAX_NOTE 1024
/* phm_entry.photodna: a PhotoDNA hash (144 bytes) as 192 base64 characters
 * or 288 hex digits, exactly; phm_entry.attrs: the compact text of one JSON
 * object, valid UTF-8, at most this many bytes. */
#define PHM_INDEX_MAX_PHOTODNA 288
#define PHM_INDEX_MAX_ATTRS 4096

/* Most stored variants an image entry carries (phm_entry.variants). */
#define PHM_INDEX_MAX_VARIANTS 64

/* Largest radius a search accepts. */
#define PHM_INDEX_MAX_RADIUS 256

/* Most frames a video entry holds: a 6-hour video at one hash a second
 * has 21,600; this is 12 days of them, or 48 minutes of every frame at
 * 60 fps (about 50 MB stored). */
#define PHM_INDEX_MAX_VIDEO_FRAMES 1048576u

/* phm_index_open flags. */
enum {
    PHM_INDEX_CREATE = 1u << 0, /* create the file if it does not exist */
    PHM_INDEX_RDONLY = 1u << 1, /* open read-only: writes fail with
                                   PHM_ERR_READONLY */
    PHM_INDEX_NOLOCK = 1u << 2, /* with PHM_INDEX_RDONLY only: no lock file
                                   (LMDB's MDB_NOLOCK), for a file that no
                                   process writes while it is open, such as
                                   a snapshot (phm_index_snapshot) replaced
                                   only by renaming another file over it.
                                   Such a handle may be opened while another
                                   of the same path is open in the process
                                   (the old and new file of a swap). Writing
                                   the file meanwhile gives wrong answers. */
    PHM_INDEX_HOT_COPY = 1u << 3, /* for long-running searchers of big
                                   indexes: searchers read a copy of the
                                   compacted base's search arrays (hashes
                                   and tables, ~101 bytes a hash) in
                                   anonymous memory with transparent huge
                                   pages (madvise) instead of the file's
                                   mapping, which cuts the TLB misses of
                                   random reads (docs/INDEX_FORMAT.md, "Hot
                                   copy"). The copy is made by the first
                                   search that sees a base (so the first
                                   search after the open, and the first
                                   after each rebuild that any process
                                   commits, takes the time of reading the
                                   arrays: ~16 s of system time at 100 M
                                   hashes on a 2-core VM), shared
                                   by the handle's searchers, and freed
                                   when no searcher uses it. It costs that
                                   much memory (not shared with other
                                   processes, unlike the page cache); when
                                   it cannot be made, searches read the
                                   mapping as without the flag. Results
                                   are the same either way. */
};

/* Signals an entry can carry (phm_entry.signals, a bit set). The PDQ hash
 * is searched by Hamming distance; digests by exact equality. */
enum {
    PHM_SIG_PDQ = 1u << 0,
    PHM_SIG_MD5 = 1u << 1,
    PHM_SIG_SHA1 = 1u << 2,
    PHM_SIG_SHA256 = 1u << 3,
    /* A video: its vPDQ frames (phm_entry.frames). Not with PHM_SIG_PDQ;
     * digests (of the video file) may come with it. */
    PHM_SIG_VPDQ = 1u << 4,
};

struct phm_vpdq_frame;
struct phm_vpdq;

/* ---- stored variants (known-image augmentation, docs/ROBUST.md) ----
 * An image entry may carry, besides its own PDQ hash, the PDQ hashes of
 * edits of the known image (a centre crop, a small rotation...), each
 * with a code from the fixed table below. They are search slots of the
 * entry, as a video's frame hashes are: a search returns the entry once,
 * at the distance of its nearest slot, and a match names the variant
 * (phm_match_hit.known_variant). Codes are stored in the index: never
 * renumbered, new ones only appended. */
enum {
    PHM_KV_CROP5_C = 1,   /* "crop5-c": 5 % of the width and of the height
                             cut off, half on each side */
    PHM_KV_CROP10_C,      /* "crop10-c" */
    PHM_KV_CROP15_C,      /* "crop15-c" */
    PHM_KV_CROP20_C,      /* "crop20-c" */
    PHM_KV_CROP10_TL,     /* "crop10-tl": 10 % of the width and height cut
                             off the right and the bottom (the top-left
                             part kept) */
    PHM_KV_CROP10_TR,     /* "crop10-tr" */
    PHM_KV_CROP10_BL,     /* "crop10-bl" */
    PHM_KV_CROP10_BR,     /* "crop10-br" */
    PHM_KV_ROT_P3,        /* "rot+3": rotated 3 degrees clockwise
                             (phm_image_rotate), corners black (same
                             canvas); "rot-3" anticlockwise */
    PHM_KV_ROT_M3,        /* "rot-3" */
    PHM_KV_ROT_P5,        /* "rot+5" */
    PHM_KV_ROT_M5,        /* "rot-5" */
    PHM_KV_ROT_P3_CROP,   /* "rot+3-crop": rotated, then cut to the
                             largest upright rectangle inside it */
    PHM_KV_ROT_M3_CROP,   /* "rot-3-crop" */
    PHM_KV_ROT_P5_CROP,   /* "rot+5-crop" */
    PHM_KV_ROT_M5_CROP,   /* "rot-5-crop" */
    PHM_KV_CROP20_TL,     /* "crop20-tl" */
    PHM_KV_CROP20_TR,     /* "crop20-tr" */
    PHM_KV_CROP20_BL,     /* "crop20-bl" */
    PHM_KV_CROP20_BR,     /* "crop20-br" */
    PHM_KV_CROP5_TL,      /* "crop5-tl" ... "crop5-br", "crop15-tl" ...
                             "crop15-br": as crop10-tl */
    PHM_KV_CROP5_TR,
    PHM_KV_CROP5_BL,
    PHM_KV_CROP5_BR,
    PHM_KV_CROP15_TL,
    PHM_KV_CROP15_TR,
    PHM_KV_CROP15_BL,
    PHM_KV_CROP15_BR,
    /* photometric and 8 % corner variants (issue 15, wt-aug2) */
    PHM_KV_GAMMA_UP,      /* "gamma-up": every channel v -> 255 (v/255)^0.75
                             (brighter mid-tones) */
    PHM_KV_GAMMA_DOWN,    /* "gamma-down": v -> 255 (v/255)^(1/0.75) */
    PHM_KV_BLUR,          /* "blur": Gaussian blur, sigma 0.75 % of the
                             longer side (edges clamped) */
    PHM_KV_DOWN25,        /* "down25": shrunk to a quarter a side (box
                             average), then scaled back up (bilinear) */
    PHM_KV_CROP8_TL,      /* "crop8-tl" ... "crop8-br": as crop10-tl */
    PHM_KV_CROP8_TR,
    PHM_KV_CROP8_BL,
    PHM_KV_CROP8_BR,
    /* letterbox and pillarbox variants (issue 15, wt-lbox): at the
       image's own size, the content squeezed into the middle as in a copy
       with bars adding 10 or 20 % of its height (letterbox) or width
       (pillarbox). PDQ ignores the colour of such bars (a band across
       the whole image only changes DCT coefficients it does not use), so
       one variant stands for black, white and any plain bars, of any
       resolution, and reaches bar sizes within a few % of its own. */
    PHM_KV_LB_10,         /* "letterbox10": plain bars adding 10 % */
    PHM_KV_PB_10,         /* "pillarbox10" */
    PHM_KV_LB_20,         /* "letterbox20": 20 % */
    PHM_KV_PB_20,         /* "pillarbox20" */
    PHM_KV_LB_BLUR10,     /* "letterbox10-blur": bars filled with the
                             image itself blurred (Gaussian, sigma 2.5 % of
                             the longer side) and stretched, as apps fill
                             them */
    PHM_KV_PB_BLUR10,     /* "pillarbox10-blur" */
    /* caption cuts (issue 15, wt-edits): the band where a caption or a
     * watermark usually sits cut off (phm_cut_rect) */
    PHM_KV_ED_CUT_BOTTOM, /* "cut-bottom": the lower third cut off (the
                             upper two thirds kept) */
    PHM_KV_ED_CUT_TOP,    /* "cut-top": the upper third cut off */
    PHM_KV_ED_SOFT,       /* "soft": shrunk and blurred (phm_hash_soft) */
    /* re-uploads of busy images (issue 15, wt-busy): what a re-upload
     * does to an image whose hash a plain re-encode or resize moves
     * (fine stripes, a calm sea). Each is kept only where it differs from
     * the own hash and the variants kept before it, so stable images
     * store none of them (docs/ROBUST.md, "Busy images"). */
    PHM_KV_BUSY_JPEG30,   /* "jpeg30": re-encoded as a JPEG of quality 30
                             (IJG tables, 4:2:0 chroma; libjpeg-turbo, in
                             memory) */
    PHM_KV_BUSY_DOWN50,   /* "down50": shrunk to half a side (area
                             average) */
    PHM_KV_BUSY_MIRROR,   /* "mirror": flipped left to right; kept only
                             where its hash is more than min_distance from
                             the own image's hash in that orientation
                             (phm_hash_image's PHM_DIH_FLIPY; a stable
                             image's mirror is found by a query's 8
                             orientations) */
    PHM_KV_BUSY_ROT90,    /* "rot90": rotated 90 degrees clockwise; kept as
                             "mirror" is (against PHM_DIH_ROT270) */
    /* wt-shot */
    PHM_KV_ED_CUT_MIDDLE, /* "cut-middle": the middle third cut out, the
                             upper and lower thirds stacked (PHM_CUT_MIDDLE) */
    /* wt-shot3: a picture whose own edge is plain white (black), as
     * trimming finds it on a screenshot's canvas of that colour: the
     * content off that colour (docs/ROBUST.md, "White-edged pictures on a
     * canvas"); made only for an image with such an edge */
    PHM_KV_TRIM_WHITE,    /* "trim-white": cut to its content off white */
    PHM_KV_TRIM_BLACK,    /* "trim-black": cut to its content off black */
    /* wt-combo2: the soft hash (phm_hash_soft) of the 8 % corner crops,
     * for a busy image's resized, cut and re-encoded copy, whose plain
     * hash no stored variant reaches (docs/ROBUST.md, "Combinations of
     * busy images"). Compared with a query's soft hash only, as "soft" is
     * (phm_soft_kind) */
    PHM_KV_SOFT_CROP8_TL, /* "soft-crop8-tl": crop8-tl's soft hash */
    PHM_KV_SOFT_CROP8_TR, /* "soft-crop8-tr" */
    PHM_KV_SOFT_CROP8_BL, /* "soft-crop8-bl" */
    PHM_KV_SOFT_CROP8_BR, /* "soft-crop8-br" */
    /* wt-shotgfx: a white- (black-) edged picture as a screenshot's
     * trimming cuts it out of a canvas of that colour: the content off
     * that colour less its runs of rows thinner than 5 % of its width at
     * the top and bottom (a caption, a row of small shapes), which the
     * screenshot's rule cannot tell from the screen's text lines
     * (docs/ROBUST.md, "Sparse graphics in screenshots"); made only for
     * an image with such an edge and such a run */
    PHM_KV_TRIM_WHITE_THIN, /* "trim-white-thin" */
    PHM_KV_TRIM_BLACK_THIN, /* "trim-black-thin" */
    /* wt-lbox2: the image as border trimming cuts it out of a letterboxed
     * (pillarboxed) copy of itself with black (white) bars of 10 %: a
     * picture with its own plain margin or frame loses it with the bars
     * (a 60-pixel icon's 2-pixel white margin changes its hash by 100
     * bits), and no other variant is that box (docs/ROBUST.md,
     * "Letterboxes of small and canvas pictures"); made only where the box
     * is not the whole image */
    PHM_KV_TRIM_LB_BLACK, /* "trim-lbox-black" */
    PHM_KV_TRIM_LB_WHITE, /* "trim-lbox-white" */
    PHM_KV_TRIM_PB_BLACK, /* "trim-pbox-black" */
    PHM_KV_TRIM_PB_WHITE, /* "trim-pbox-white" */
    /* wt-small: a small picture (PHM_AREA64_MAX_SIDE) evenly resampled to
     * 64 x 64 (phm_hash_area64): PDQ's own filter is narrower than its
     * 64-point grid, so a picture of 1-2 pixel strokes aliases and a
     * screenshot's or thumbnail's copy of it, resampled otherwise, moves
     * by 34-46 bits; resampled evenly both stay within 8-30
     * (docs/ROBUST.md, "Small pictures"). An area64 hash answers a query's
     * area64 hashes only (phm_area_kind). Made for the whole picture and
     * for the box trim-white cuts (trim-black's when there is none; one
     * slot, as the default set filled PHM_INDEX_MAX_VARIANTS then), and for
     * that of trim-white-thin (trim-black-thin), each when it is small */
    PHM_KV_AREA64,           /* "area64" */
    PHM_KV_AREA64_TRIM,      /* "area64-trim" */
    PHM_KV_AREA64_TRIM_THIN, /* "area64-trim-thin" */
    /* session 26: the picture rotated on a canvas grown to hold the
     * whole turn (W' = W cos + H sin), as ImageMagick's -rotate and an
     * editor's "resize canvas" turn draw it, the canvas white (else
     * black) where the picture's sides are much of that colour (a quarter
     * of their pixels at least) and the turn then shows no corners that a
     * query's turn back finds (phm__corners_find_grown): the fill runs
     * into the picture's own ground, so only a stored turn reaches such a
     * copy (docs/ROBUST.md, "Turned drawings on white"). Made only there:
     * any other turned copy is turned back by the query side */
    PHM_KV_ROT_P5_GROWN,  /* "rot+5-grown": 5 degrees clockwise */
    PHM_KV_ROT_M5_GROWN,  /* "rot-5-grown" */
    PHM_KV_ROT_P3_GROWN,  /* "rot+3-grown" */
    PHM_KV_ROT_M3_GROWN,  /* "rot-3-grown" */
    /* session 28: a picture with transparency (phm_decoder_set_background)
     * as a viewer sees it, composited over white and over black, where
     * its reference hash drops alpha (a drawing in alpha alone: all
     * zeros). Made by phm_hash_known_mem only, from the bytes: a decoded
     * phm_image has no alpha, so phm_augment makes none of them */
    PHM_KV_FLAT_WHITE,    /* "flat-white" */
    PHM_KV_FLAT_BLACK,    /* "flat-black" */
    PHM_KV_COUNT          /* one past the last code */
};

/* A stored variant: its code (PHM_KV_*) and PDQ hash. */
typedef struct phm_entry_variant {
    int code;
    phm_pdq pdq;
} phm_entry_variant;

/* The static name of variant code `code` ("crop10-c"), or NULL if it is
 * not in the table. Thread-safe. */
const char *phm_known_variant_name(int code);

/* The code of variant name `name`, or 0 if it is not in the table. */
int phm_known_variant_code(const char *name);

/* Nonzero when stored variant `code` is a soft hash (PHM_KV_ED_SOFT and
 * PHM_KV_SOFT_CROP8_*): a query's soft hash is compared with those of an
 * entry only, and they with nothing else (docs/ROBUST.md, "Combinations
 * of busy images"). Thread-safe. */
int phm_soft_kind(int code);

/* Whether stored variant `code` is a rotation on its own canvas, its
 * uncovered corners filled with one colour, black (rot+3, rot-3, rot+5,
 * rot-5; not the -crop ones). In a calm picture those corners make the hash, so such a variant
 * does not answer a query whose own hash is rotation corners over a calm
 * picture (phm_match_options.calm_corners; docs/ROBUST.md, "Rotation
 * corners"). Thread-safe. */
int phm_fill_kind(int code);

/* Nonzero when stored variant `code` is an area64 hash (PHM_KV_AREA64,
 * PHM_KV_AREA64_TRIM, PHM_KV_AREA64_TRIM_THIN): a query's area64 hashes
 * (phm_query_hashes.area) are compared with those of an entry only, and they with nothing else
 * (wt-small; docs/ROBUST.md, "Small pictures"). Thread-safe. */
int phm_area_kind(int code);

/* A known item. On input (phm_index_add) the caller owns every pointer;
 * the index copies what it keeps. On output (phm_searcher_get,
 * phm_index_foreach) the strings point into the index's memory map and
 * stay valid as documented by the function that filled the entry.
 *
 * Identity: (source, id) names an entry; adding the same pair again
 * replaces it. `source` is the list the item came from ("ncmec",
 * "local-case-1234"), `id` its identifier within that list. Strings hold
 * no control characters (bytes below 0x20, or 0x7f); source and id are not
 * empty; category and note may be NULL (stored as "").
 *
 * Videos (PHM_SIG_VPDQ): the entry keeps every frame given (frame number,
 * quality, hash, timestamp: what a vPDQ file holds, so it can be written
 * back), 1..PHM_INDEX_MAX_VIDEO_FRAMES of them; quality is -1. Searches
 * see the video's distinct frame hashes of quality >= PHM_PDQ_MIN_QUALITY
 * (phm_vpdq_distinct()): a search returns the video's entry once, at the
 * distance of its closest frame, and an image query that hits it is a
 * frame of that video. Replacing a video keeps its entry number only when
 * the frames are the same. On output, nframes is the number stored and
 * frames is filled by phm_index_foreach() only (phm_searcher_get() leaves
 * it NULL: read them with phm_searcher_get_frames()). */
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
    const struct phm_vpdq_frame *frames; /* PHM_SIG_VPDQ: nframes frames */
    size_t nframes;
    /* A PhotoDNA hash as its publisher wrote it (base64 or hex), or NULL.
     * phmatch cannot compute PhotoDNA: it is stored and exported unchanged.
     * NULL or "": none; else exactly 192 base64 characters (A-Z a-z 0-9 +
     * /) or 288 hex digits (PHM_INDEX_MAX_PHOTODNA), else phm_index_add()
     * refuses the entry. Not a signal: an entry needs a PDQ hash, a digest
     * or frames besides. */
    const char *photodna;
    /* The publisher's other fields for this entry (Project VIC's Series,
     * VictimIdentified, Tags, ...) as the text of one JSON object, or NULL.
     * Kept so that exports hand them on. NULL or "": none; else the text of
     * one JSON object, valid UTF-8 without control bytes, at most
     * PHM_INDEX_MAX_ATTRS bytes, stored byte for byte (an entry whose attrs
     * differ by one byte is `updated`). */
    const char *attrs;
    /* Stored variants (PHM_SIG_PDQ entries only; index format 4): the PDQ
     * hashes of edits of the known image, each a search slot of this
     * entry (see PHM_KV_* above). 0..PHM_INDEX_MAX_VARIANTS; codes in the
     * table and distinct; hashes distinct from each other and from `pdq`,
     * else phm_index_add() refuses the entry. Part of the entry's content:
     * other variants are an update (and a new entry number, as another
     * hash is). Filled on output by phm_searcher_get and
     * phm_index_foreach. */
    size_t nvariants;
    phm_entry_variant variants[PHM_INDEX_MAX_VARIANTS];
} phm_entry;

/* The name of the stored variant of `e` nearest to `query` (PDQ
 * distance), or NULL when e's own hash is at least as near (ties go to the
 * own hash) or e has no variants. Soft hashes (phm_soft_kind) are left
 * out: they answer a query's soft hash only. *distance (if not NULL) is set to that
 * nearest distance (the own hash's when NULL is returned; -1 if e has no
 * PDQ hash). For callers of phm_match_hit_get/phm_match_results, which do
 * not see the query: set hit.known_variant with it. */
const char *phm_entry_known_variant(const phm_entry *e, const phm_pdq *query,
                                    int *distance);

/* Known-image augmentation: hashes the edits of `img` named by codes[0..
 * ncodes) (PHM_KV_*, at most PHM_INDEX_MAX_VARIANTS) in `mode` and writes
 * those worth storing to out[0..*nout), in the order given, ready for
 * phm_entry.variants. `own` is img's own PDQ hash (as phm_hash_image gave
 * it). An image below PDQ's quality gate (PHM_PDQ_MIN_QUALITY; its eight
 * orientations are hashed here once, for this and for the mirror and
 * rot90 variants) gets no rotation on a filled canvas (phm_fill_kind):
 * turned, a calm picture's hash is its black corners, which any picture
 * of its shape turned alike shares; its other variants are kept. A
 * picture that looks the same turned a quarter (a ring, a star, a
 * rosette, a grid of dots: its grey 32 x 32 thumbnail and that turned 90
 * degrees differ by less than 0.4 of what unrelated ones would) gets no
 * crop of itself (the crops, corner and centre, their soft hashes,
 * rot+-3/5-crop): its crops are those of every picture of its kind. An edit is dropped when its hash is of quality below
 * PHM_AUGMENT_MIN_QUALITY, or is a pattern (fewer than
 * PHM_CUT_MIN_ROWS distinct rows, at any quality), or within
 * `min_distance` (0..256) of `own` or of a variant kept before it (a slot that adds no reach), or when
 * the edit is too small to hash. (An edit of quality 20..49 is kept for
 * copies of that low quality, which phmatch match --robust searches
 * within PHM_ROBUST_LOW_QUALITY_DISTANCE.) Allocates one buffer of img's size for the call; uses
 * `h` as phm_hash_image does (one thread at a time). Errors:
 * PHM_ERR_INVALID (an unknown code, too many, NULL pointers),
 * PHM_ERR_NOMEM; `err` says which variant failed. */
int phm_augment(phm_hasher *h, const phm_image *img, phm_mode mode,
                const phm_pdq *own, const int *codes, size_t ncodes,
                int min_distance, phm_entry_variant *out, size_t *nout,
                char *err, size_t errlen);

/* The default augmentation set of `phmatch index add --images --augment`
 * (docs/ROBUST.md, "Known-image augmentation", says how it was chosen):
 * writes up to `cap` codes to `codes` (may be NULL) and returns how many
 * the set has. */
size_t phm_augment_default(int *codes, size_t cap);

/* The distance phm_augment's callers in phmatch use as min_distance:
 * variants within it of the own hash or of each other are dropped. */
#define PHM_AUGMENT_MIN_DISTANCE 10

/* A known image from its encoded bytes, as phmatch index add --images
 * adds it: *own is its hash as the PDQ reference makes it (alpha dropped;
 * phm_hash_mem's, with its status and err), and with ncodes > 0 its
 * variants into out[0..*nout) (at most PHM_INDEX_MAX_VARIANTS) by
 * phm_augment's rules. For a picture with transparency (an image of a
 * format phm_decoder_set_background composites, with a pixel not opaque)
 * and the codes PHM_KV_FLAT_WHITE /
 * PHM_KV_FLAT_BLACK asked, the picture over white and over black are kept
 * first (when of quality PHM_AUGMENT_MIN_QUALITY or more, not a
 * pattern and more than min_distance from *own and each other), and every
 * other variant is an edit of the picture over white, what a viewer sees,
 * dropped within min_distance of those. Decodes such a picture three
 * times (over white, over black, as the reference); any other once. Uses
 * dec and h as phm_hash_mem and phm_augment do. Errors: those of
 * phm_hash_mem and phm_augment. */
int phm_hash_known_mem(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                       const char *name, const int *codes, size_t ncodes, int min_distance,
                       phm_pdq_result *own, phm_entry_variant *out, size_t *nout, char *err,
                       size_t errlen);

/* phm_hash_known_mem on a file read as phm_decode_file reads it (its
 * errors too); the bytes stay available through phm_decoder_last_bytes. */
int phm_hash_known_file(phm_decoder *dec, phm_hasher *h, const char *path, const int *codes,
                        size_t ncodes, int min_distance, phm_pdq_result *own,
                        phm_entry_variant *out, size_t *nout, char *err, size_t errlen);

typedef struct phm_index phm_index;

/* Opens (or with PHM_INDEX_CREATE, creates with mode 0600) the index file
 * at `path`. LMDB also keeps a lock file, `path` + "-lock".
 *
 * flags:   PHM_INDEX_CREATE and/or PHM_INDEX_RDONLY (and with it
 *          PHM_INDEX_NOLOCK: no lock file); PHM_INDEX_HOT_COPY with any.
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
 *   PHM_ERR_UNREADABLE    permission denied or an I/O error (the message
 *                         names the lock file `path`-lock when the file is
 *                         accessible and its lock file is not)
 *   PHM_ERR_INDEX         not a phmatch index (foreign file, empty file,
 *                         another program's LMDB file), corrupt file, or
 *                         another LMDB failure
 *   PHM_ERR_INDEX_TRUNCATED the file is shorter than the pages its newest
 *                         root refers to (a truncated copy)
 *   PHM_ERR_INDEX_VERSION written in another format version
 *   PHM_ERR_NOMEM, PHM_ERR_INVALID
 * A foreign file is never modified, even with PHM_INDEX_CREATE. */
int phm_index_open(phm_index **out, const char *path, unsigned flags,
                   size_t mapsize, phm_simd simd, char *err, size_t errlen);

/* Closes the handle. Every searcher and transaction of it must have been
 * freed, committed or aborted. Accepts NULL. */
void phm_index_close(phm_index *idx);

/* Checks that the file still holds every page a transaction of idx may
 * read: that it is not smaller than the handle has seen it (LMDB never
 * shrinks it), and that it holds the last page the newest root names (a
 * file grown by another process, then cut). LMDB reads the file through a
 * memory map, and a read of a page cut
 * off the file (`truncate`, a copy written over it in place, while the
 * handle is open) is a SIGBUS; so every transaction of the handle (a
 * search's snapshot, a read, a write, a copy) starts with this check and
 * fails with its error instead. For a long-running process that wants to
 * report the state without a transaction (a health check). Two fstat():
 * any thread. Returns PHM_OK, or PHM_ERR_INDEX_TRUNCATED ("cannot read
 * index 'x': index file is truncated (8192 bytes; it had 1236992)", or
 * "(184320 bytes; its pages need 1245184)"), PHM_ERR_INDEX (fstat
 * failed), PHM_ERR_INVALID. The check
 * cannot cover a file cut during a transaction already started: that
 * window, one search long, remains a SIGBUS. */
int phm_index_check(phm_index *idx, char *err, size_t errlen);

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
 * In a transaction whose commit will build the search tables from its new
 * hashes alone (an index with no compacted base and no delta: a first
 * bulk import), from 262,144 new PDQ hashes on and with more than one
 * OpenMP thread allowed, the transaction runs one thread of its own beside
 * the caller's (counting the tables' directories as the hashes arrive);
 * phm_index_txn_commit() and phm_index_txn_abort() end it.
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

/* An entry's name, for phm_index_remove_many. */
typedef struct phm_entry_name {
    const char *source;
    const char *id;
} phm_entry_name;

/* Removes the entries names[0..n) name, as n calls of phm_index_remove
 * would (a name not stored, or named twice, is no error), but each block
 * of the index that holds some of them is rewritten once, not once per
 * entry: for the deletions of a feed (100,000 of 200,000 entries: see
 * docs/HASHLISTS.md, "Deletions"). *removed (may be NULL) gets how many
 * were stored. Errors: PHM_ERR_INVALID (a source or id empty or too long:
 * *bad (may be NULL) is its index, `err` says which; nothing was removed
 * and the transaction stays usable), else as phm_index_add. Memory: about
 * 50 bytes plus twice the id's length per name, freed before it returns;
 * the caller bounds n. */
int phm_index_remove_many(phm_index_txn *txn, const phm_entry_name *names, size_t n,
                          uint64_t *removed, size_t *bad, char *err, size_t errlen);

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

/* With `on` nonzero, phm_index_add() refuses (PHM_ERR_INVALID, "id ... was
 * given another hash earlier in this transaction"; the transaction stays
 * usable and the refusal is not counted in phm_index_counts) an add of an
 * entry that this transaction already added or replaced with another PDQ
 * hash or other digests (the same hashes with other metadata are a normal
 * update): one id with two hashes in one hash list is an error of the
 * list, not an update. Costs a key lookup per add made out of key order
 * and a few bytes per add buffered. An entry only re-labelled (same hash)
 * by this transaction before a removal or a video add flushed the
 * buffered adds is not recognised afterwards. `phmatch index import` and
 * phmatchd's POST /v1/index/entries turn it on. Video entries are not
 * checked. */
void phm_index_txn_unique_ids(phm_index_txn *txn, int on);

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

/* Progress of phm_index_upgrade: `done` of `total` entries copied. */
typedef void (*phm_upgrade_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Converts the index at `path`, of format PHM_INDEX_FORMAT_UPGRADE_MIN to
 * PHM_INDEX_FORMAT_MIN_VERSION - 1 (what phm_index_open refuses with
 * PHM_ERR_INDEX_VERSION), to this build's format, in place.
 *
 * Reads the old file read-only (its own LMDB reader, no lock taken: it
 * is never written), writes a new index beside it, `path`.upgrade-XXXXXX
 * (mode 0600), through phm_index_add in transactions of bounded size
 * (from 1,000,000 entries, doubling up to 4,000,000), checks it
 * (phm_index_verify, and every count below equal to the old file's),
 * syncs it and renames it over `path`: readers see the old file or the
 * new one, never a mixture. On any failure (but one, a directory sync,
 * below) the old file is left as it
 * was and the new one removed.
 * Kept: every entry with all its fields (source, id, category, note,
 * quality, PDQ hash, digests, PhotoDNA, attrs, stored variants, a
 * video's every frame) and its `added` time; the source settings
 * (matching_ratio included), the disabled rows (until, since) and the
 * quarantine rows (when, count), also those naming entries not stored;
 * meta next_content_id (HMA content ids are not handed out twice) and the
 * creation time. Changed: entry numbers (internal; the API names entries
 * by (source, id)) are renumbered 1..n in the old order; the search
 * structures are rebuilt; the generation restarts.
 * `backup` (may be NULL): a new name for the old file, a hard link made
 * before the work starts (same file system; must not exist); it stays
 * the old file, readable by the builds that wrote it.
 * `progress` (may be NULL) is called from this thread now and then.
 * Refuses (the old file untouched): another process has the old file
 * open (LMDB's lock on `path`-lock; a process that opened it with
 * PHM_INDEX_NOLOCK is not seen), or it is written during the upgrade.
 * The lock file `path`-lock is left as it is (LMDB re-initialises a lock
 * file no process holds at its first open).
 * Returns PHM_OK, with a one-line summary in `err` ("upgraded 'x.phmi'
 * from format 5 to 6: 3 entries, ..."), or when the file is already of
 * this build's format, PHM_OK with "... is already format 5: nothing to
 * do" in `err` (and nothing changed). Errors: PHM_ERR_NOT_FOUND,
 * PHM_ERR_IS_DIR, PHM_ERR_UNREADABLE (cannot read, create, link or
 * rename; or, the one failure after which `path` is the new file, its
 * directory could not be synced after the rename: "index 'x' was upgraded
 * to format 6, but its directory '.' cannot be synced: ...", the new file
 * may not survive a crash; `backup` is kept), PHM_ERR_INDEX (not an
 * index, truncated, corrupt, in use, or a
 * write failed: "the disk is full", "the file size limit ..."),
 * PHM_ERR_INDEX_VERSION (format 1, newer formats, another byte order),
 * PHM_ERR_CORRUPT (an old record does not decode, or the new file does not
 * verify or its counts differ), PHM_ERR_FULL, PHM_ERR_NOMEM,
 * PHM_ERR_INVALID. Memory: the transactions' buffers, bounded by the
 * batch size, and one video's frames. Not thread-safe with other handles
 * of the same file in this process (close them first). */
int phm_index_upgrade(const char *path, const char *backup,
                      phm_upgrade_progress_fn progress, void *ctx, char *err,
                      size_t errlen);

/* Publishes a snapshot of the index at `out` for read-only replicas: a
 * compacted copy from one consistent snapshot (phm_index_copy; writers
 * may continue meanwhile) is written to a new temporary file in out's
 * directory, synced, mode 0600, checked by opening it (PHM_INDEX_RDONLY |
 * PHM_INDEX_NOLOCK) and reading its statistics, then renamed over `out`
 * (and the directory synced), so that a reader of `out` sees the old
 * file or the new one, never a partial one. `out` may exist (it is
 * replaced) but must be a regular file and not idx's own file. If `entries` is not NULL it
 * gets the snapshot's entry count. On error nothing is left behind and
 * `out` is unchanged. Errors: PHM_ERR_INVALID (out is idx's file, or
 * not a regular file: a device, FIFO or socket; or too long a path), PHM_ERR_NOT_FOUND (no such directory), PHM_ERR_IS_DIR,
 * PHM_ERR_UNREADABLE (cannot create, write or rename), PHM_ERR_INDEX,
 * PHM_ERR_NOMEM. Thread-safe as phm_index_copy. */
int phm_index_snapshot(phm_index *idx, const char *out, uint64_t *entries, char *err,
                       size_t errlen);

/* ---- inspecting ---- */

typedef struct phm_index_stats {
    uint32_t format_version;
    uint64_t entries;       /* stored entries */
    uint64_t pdq_entries;   /* of which with a PDQ hash */
    uint64_t video_entries; /* of which videos (PHM_SIG_VPDQ) */
    uint64_t video_frames;  /* frames stored in them */
    uint64_t video_hashes;  /* their distinct searched frame hashes */
    uint64_t variant_entries; /* image entries with stored variants */
    uint64_t variant_hashes;  /* their variants (search slots besides the
                                 entries' own hashes) */
    uint64_t digests;       /* digest -> entry links */
    uint64_t sources;       /* distinct sources */
    uint64_t base_entries;  /* PDQ hashes in the compacted structures
                               (a video's frame hashes count one each) */
    uint64_t delta_entries; /* hashes added since the last compaction */
    uint64_t dead_entries;  /* entries removed since then, still in the base */
    uint64_t generation;    /* changes with every commit that changes data */
    uint64_t file_bytes;    /* size of the file on disk */
    uint64_t used_bytes;    /* pages in use (the rest is free space) */
    uint64_t map_bytes;     /* the map size of this handle */
    int64_t created;        /* unix seconds */
    int64_t compacted;      /* unix seconds of the last compaction, or 0 */
} phm_index_stats;

/* Fills `out` from one snapshot. Errors: PHM_ERR_INDEX, PHM_ERR_INVALID. */
int phm_index_get_stats(phm_index *idx, phm_index_stats *out, char *err,
                        size_t errlen);

/* The fields of phm_index_stats by name, for reports: field i (0, 1, ...
 * in declaration order) is named the return value ("entries",
 * "video_hashes", "created"...) and its value is stored in *value (when
 * `st` and `value` are not NULL; counts above INT64_MAX saturate; created
 * and compacted are unix seconds). Returns NULL past the last field.
 * `phmatch index stats` and phmatchd's GET /v1/index both report these
 * names. Thread-safe; the name is a static string. */
const char *phm_index_stats_field(const phm_index_stats *st, size_t i, int64_t *value);

/* Calls fn(ctx, source, category, count) for each (source, category) with
 * entries, in byte order of source then category, from one snapshot.
 * Strings are valid during the call only. A nonzero return from fn stops
 * and is returned. Errors: PHM_ERR_INDEX. */
int phm_index_foreach_group(phm_index *idx,
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
 * the result array. The buffers keep the size of the largest search or
 * batch made with it until phm_searcher_free (a batch holds at most about
 * 2 M candidates: up to ~100 MB; a long-lived searcher that once ran a huge
 * batch keeps that much). */
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

/* As phm_search_radius for a plain hash (an image's own, a trimmed or cut
 * one: anything but a soft hash): each entry measured without its soft
 * hashes (phm_soft_kind), which answer a query's soft hash only. An entry
 * whose only slot within `radius` is a soft hash is left out; the others
 * are at their distance without them, sorted again. Reads every hit's
 * entry when the index has entries of several hashes. What phmatchd's
 * /m/raw_lookup and `phmatch index audit` report; the matcher applies the
 * same rule itself (phm_match_options.query). Validity and errors as
 * phm_search_radius, and PHM_ERR_CORRUPT (an entry that does not decode). */
int phm_search_radius_plain(phm_searcher *s, const phm_pdq *query, int radius,
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
 * s, valid as for phm_search_radius. Errors as phm_search_radius.
 * Radius searches (k = 0) of 64 to 4,096 queries are made together: their
 * probes of the index's tables in the order of the buckets they read, then
 * their candidates in the order they lie in the hash array (fewer are
 * searched one by one, which is as fast for so few). Send queries
 * in batches of thousands when you have them: at 1 M hashes that answers
 * about twice as many a second as one phm_search_radius each
 * (docs/INDEX_FORMAT.md, "Batches sorted by bucket"); the results are the
 * same. */
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

/* The frames of video entry `entry` (PHM_SIG_VPDQ), from the snapshot of
 * the last search on s as phm_searcher_get, copied into *out
 * (initialised; its frames are replaced, decoder fields cleared), in the
 * order they were added. Errors as phm_searcher_get, and PHM_ERR_INVALID
 * when the entry is not a video, PHM_ERR_NOMEM. */
int phm_searcher_get_frames(phm_searcher *s, uint64_t entry,
                            struct phm_vpdq *out, char *err, size_t errlen);

/* The entry number of (source, id) in the same snapshot, or
 * PHM_ERR_NOT_FOUND. */
int phm_searcher_find(phm_searcher *s, const char *source, const char *id,
                      uint64_t *entry, char *err, size_t errlen);

/* Ends the snapshot held since the last search (results and entries become
 * invalid). Call it when a searcher goes idle: a held snapshot keeps
 * writers from reusing the pages it sees, and the file grows. */
void phm_searcher_release(phm_searcher *s);

/* ---- governance: per-source settings, disabled entries, quarantine ---- */
/*
 * What may match, stored in the index (tables `sources`, `disabled` and
 * `quarantine`, docs/INDEX_FORMAT.md) so that phmatch match, phmatch lookup
 * and phmatchd, in every process and replica, honour the same rules. The
 * matcher (phm_match_image, phm_match_video, phm_match_results) applies them:
 *
 *   - a source that is not enabled never matches;
 *   - a source's max_distance (when set) replaces the request's distance
 *     for its entries: searches run at the largest of the two and each hit
 *     is held to its own source's distance;
 *   - a source's min_quality (when set): a query of known quality below it
 *     does not match the source's entries (a bare hash, quality -1, is not
 *     held back; a video's frames are gated by the request's min_quality);
 *   - a disabled entry (until a time, or until enabled) never matches;
 *   - a quarantined entry never matches until released;
 *   - a suppression source: a query that matches one of its entries has
 *     all its hits reported as suppressed by the nearest such entry
 *     (phm_match_hit.suppressed_by) and counted as none
 *     (phm_match_result.total 0).
 *
 * Writes (phm_index_source_set, phm_index_entries_disable,
 * phm_index_quarantine_add/_release) are each one durable write
 * transaction that changes the generation; searches see them at their
 * next search, as entries. Tables missing from an older file read as all
 * defaults (every source enabled, normal, no limits, nothing disabled);
 * an index opened for writing creates them. Thread-safety as the other
 * index calls.
 */

/* Limits of source settings. */
#define PHM_SOURCE_MAX_CATEGORIES 32       /* category names per source */
#define PHM_SOURCE_MAX_CATEGORY_NAME 128   /* bytes of one name */
#define PHM_QUARANTINE_MAX_LIMIT 1000      /* distinct queries per window */
#define PHM_QUARANTINE_DEFAULT_WINDOW (UINT64_C(3600) * 1000000000u) /* ns */
#define PHM_QUARANTINE_MAX_WINDOW (UINT64_C(30) * 86400 * 1000000000u)

/* A source's kind. */
enum { PHM_SOURCE_NORMAL = 0, PHM_SOURCE_SUPPRESSION = 1 };

/* A category code of a source and its human name. */
typedef struct phm_category_name {
    char code[PHM_INDEX_MAX_CATEGORY + 1];       /* 1..128 bytes */
    char name[PHM_SOURCE_MAX_CATEGORY_NAME + 1]; /* 1..128 bytes */
} phm_category_name;

/* A source's settings. Defaults (phm_source_settings_init): enabled,
 * max_distance -1 and min_quality -1 (the request's), normal, quarantine
 * off (limit 0) with a window of one hour, no category names. */
typedef struct phm_source_settings {
    int enabled;             /* 0: the source never matches */
    int max_distance;        /* -1, or 0..PHM_INDEX_MAX_RADIUS */
    int min_quality;         /* -1, or 0..100 */
    int kind;                /* PHM_SOURCE_NORMAL or PHM_SOURCE_SUPPRESSION */
    uint32_t quarantine_limit;     /* 0 off, or 1..PHM_QUARANTINE_MAX_LIMIT
                                      distinct matching queries per window
                                      (counted by phmatchd) */
    uint64_t quarantine_window_ns; /* 1 s .. PHM_QUARANTINE_MAX_WINDOW */
    size_t ncategories;
    phm_category_name categories[PHM_SOURCE_MAX_CATEGORIES]; /* by code */
    /* The share of the source's entries that lookups by ratio admit
     * (phm_source_ratio_admits; phmatchd's HMA /m/lookup, whose banks'
     * matching_enabled_ratio it is): 0..1, stored to 1e-6. Default 1.
     * The matcher itself (phm_match_*) does not apply it. */
    double matching_ratio;
    int stored;              /* output: the index holds a record for it */
} phm_source_settings;

/* Sets *s to the defaults. */
void phm_source_settings_init(phm_source_settings *s);

/* "normal" or "suppression" (NULL for another value); the parse returns
 * PHM_OK or PHM_ERR_INVALID. */
const char *phm_source_kind_name(int kind);
int phm_source_kind_parse(const char *name, int *out);

/* Names category `code` `name` in s (replacing its name; name NULL or ""
 * removes it), kept sorted by code. Errors: PHM_ERR_INVALID (a length or
 * a control character, or a 33rd code), with `err`. */
int phm_source_set_category(phm_source_settings *s, const char *code,
                            const char *name, char *err, size_t errlen);

/* The name of category `code` in s, or NULL. */
const char *phm_source_category_name(const phm_source_settings *s,
                                     const char *code);

/* Reads the settings of `source` (the defaults, stored 0, if none are
 * stored). Errors: PHM_ERR_INVALID, PHM_ERR_CORRUPT, PHM_ERR_INDEX. */
int phm_index_source_get(phm_index *idx, const char *source,
                         phm_source_settings *out, char *err, size_t errlen);

/* Stores the settings of `source` (which need not have entries yet).
 * Errors: PHM_ERR_INVALID (a value out of range: `err` says which),
 * PHM_ERR_READONLY, PHM_ERR_FULL, PHM_ERR_INDEX. */
int phm_index_source_set(phm_index *idx, const char *source,
                         const phm_source_settings *s, char *err, size_t errlen);

/* Calls fn(ctx, source, settings, entries) for every source that has
 * entries or stored settings, in byte order, from one snapshot;
 * `settings` and `source` are valid during the call only. A nonzero
 * return from fn stops and is returned. Errors: PHM_ERR_CORRUPT,
 * PHM_ERR_INDEX, PHM_ERR_NOMEM. */
int phm_index_source_foreach(phm_index *idx,
                             int (*fn)(void *ctx, const char *source,
                                       const phm_source_settings *s,
                                       uint64_t entries),
                             void *ctx, char *err, size_t errlen);

/* Disables (disable nonzero) the entries (source, ids[0..n)) until unix
 * time `until` (0: until enabled again), or enables them (disable 0;
 * `until` ignored), all in one transaction. Every id must name a stored
 * entry: otherwise nothing changes and PHM_ERR_NOT_FOUND names it. A
 * disable that has expired is the same as none. Errors: PHM_ERR_NOT_FOUND,
 * PHM_ERR_INVALID, PHM_ERR_READONLY, PHM_ERR_FULL, PHM_ERR_INDEX. */
int phm_index_entries_disable(phm_index *idx, const char *source,
                              const char *const *ids, size_t n, int disable,
                              int64_t until, char *err, size_t errlen);

/* Calls fn(ctx, source, id, until, since) for every disabled entry (expired
 * ones included; compare `until` with the time), in byte order of (source,
 * id). Errors and stopping as phm_index_source_foreach. */
int phm_index_disabled_foreach(phm_index *idx,
                               int (*fn)(void *ctx, const char *source,
                                         const char *id, int64_t until,
                                         int64_t since),
                               void *ctx, char *err, size_t errlen);

/* Quarantines the entry (source, id) (it stops matching) as of unix time
 * `when`, with `count` distinct queries seen in the window that tripped
 * it. Quarantining a quarantined entry keeps the first record. Errors:
 * PHM_ERR_NOT_FOUND (no such entry), PHM_ERR_INVALID, PHM_ERR_READONLY,
 * PHM_ERR_FULL, PHM_ERR_INDEX. */
int phm_index_quarantine_add(phm_index *idx, const char *source,
                             const char *id, int64_t when, uint64_t count,
                             char *err, size_t errlen);

/* Releases a quarantined entry: it matches again. Errors:
 * PHM_ERR_NOT_FOUND (not quarantined), and those of _add. */
int phm_index_quarantine_release(phm_index *idx, const char *source,
                                 const char *id, char *err, size_t errlen);

/* Calls fn(ctx, source, id, when, count) for every quarantined entry, in
 * byte order of (source, id). As phm_index_disabled_foreach. */
int phm_index_quarantine_foreach(phm_index *idx,
                                 int (*fn)(void *ctx, const char *source,
                                           const char *id, int64_t when,
                                           uint64_t count),
                                 void *ctx, char *err, size_t errlen);

/* Quarantine counts: phmatchd's distinct queries per entry within a
 * source's quarantine window, stored in the index (table `qcounts`) so
 * that a restart continues them. A row is an entry number and the
 * queries seen: a fingerprint the caller chooses (phmatchd: 64 bits of
 * the query hash) and the unix time in milliseconds it was last seen. */
typedef struct phm_quarantine_seen {
    uint64_t fingerprint;
    int64_t time_ms;
} phm_quarantine_seen;

typedef struct phm_quarantine_counts {
    uint64_t entry;
    const phm_quarantine_seen *seen; /* nseen of them */
    size_t nseen;                    /* 0..PHM_QUARANTINE_MAX_LIMIT + 1 */
} phm_quarantine_counts;

/* Most entries with stored counts. */
#define PHM_QUARANTINE_COUNTS_MAX 4096

/* Stores c[0..n) in one durable transaction: each entry's row becomes its
 * seen list (nseen 0 removes the row); with `replace`, every other row is
 * removed first (the table becomes c). No new generation: searches are
 * not affected. The rows stay when an entry is removed (a caller's next
 * replace drops them). Errors: PHM_ERR_INVALID (n above
 * PHM_QUARANTINE_COUNTS_MAX, an nseen above PHM_QUARANTINE_MAX_LIMIT + 1,
 * a negative time, or more than PHM_QUARANTINE_COUNTS_MAX rows after the
 * write: nothing is written), PHM_ERR_READONLY, PHM_ERR_FULL,
 * PHM_ERR_INDEX. Thread-safety as the other index writes. */
int phm_index_quarantine_counts_save(phm_index *idx, const phm_quarantine_counts *c,
                                     size_t n, int replace, char *err, size_t errlen);

/* Calls fn(ctx, c) for every stored row, by entry number, from one
 * snapshot; c and its seen list are valid during the call only. A nonzero
 * return from fn stops and is returned. Allocates 16 KiB. Errors:
 * PHM_ERR_CORRUPT (a malformed row), PHM_ERR_NOMEM, PHM_ERR_INDEX. */
int phm_index_quarantine_counts_foreach(phm_index *idx,
                                        int (*fn)(void *ctx,
                                                  const phm_quarantine_counts *c),
                                        void *ctx, char *err, size_t errlen);

/* Counts of the governance tables: sources with stored settings, entries
 * disabled now (at unix time `now`), quarantined entries. */
typedef struct phm_governance_counts {
    uint64_t sources_set, disabled, quarantined;
} phm_governance_counts;
int phm_index_governance_counts(phm_index *idx, int64_t now,
                                phm_governance_counts *out, char *err,
                                size_t errlen);

/* ---- sources as banks: ratio, content ids, disabled state, rename ---- */
/*
 * What an HMA-style ("Hasher-Matcher-Actioner") bank needs of a source:
 * a deterministic share of its entries enabled, integer content ids
 * unique across sources, an entry's disabled state, and renaming.
 */

/* Whether an entry keyed `key` (len bytes; phmatchd uses the entry id, or
 * the request's seed) is within `ratio` (0..1) of its source: a
 * deterministic coin in [0, 1) derived from the key (64-bit FNV-1a, then
 * a 64-bit finaliser; the same on every platform and version) is below
 * the ratio. ratio >= 1 admits every key, <= 0 (or NaN) none; about a
 * `ratio` share of distinct keys is admitted. Thread-safe, no state. */
int phm_source_ratio_admits(double ratio, const char *key, size_t len);

/* The next content id, from a counter kept in the index (meta
 * `next_content_id`, from 1) and increased within txn: committed with
 * what txn adds, so a crash never hands the same id out twice nor loses
 * an entry's id. Ids are unique across sources among those this counter
 * gives; the caller stores the entry under the decimal id. Errors:
 * PHM_ERR_INVALID, or a storage error after which txn can only be
 * aborted (as phm_index_add). */
int phm_index_txn_next_content_id(phm_index_txn *txn, uint64_t *out, char *err,
                                  size_t errlen);

/* The disabled row of entry (source, id), as phm_index_disabled_foreach
 * gives it: *disabled 1 and *until (0: until enabled) if one is stored
 * (an expired one too: compare until with the time), else 0. The entry
 * need not exist. Errors: PHM_ERR_INVALID, PHM_ERR_CORRUPT, PHM_ERR_INDEX. */
int phm_index_entry_disabled(phm_index *idx, const char *source, const char *id,
                             int *disabled, int64_t *until, char *err,
                             size_t errlen);

/* Renames source `from` to `to` in one durable write transaction: every
 * entry (same id, fields and added time; new entry numbers), its
 * settings and its disabled and quarantine rows. *moved (may be NULL)
 * gets the entries moved. Errors: PHM_ERR_NOT_FOUND (`from` has neither
 * entries nor settings), PHM_ERR_INVALID (a malformed name, or `to` has
 * entries or settings already: `err` says "exists"), PHM_ERR_READONLY,
 * PHM_ERR_FULL, PHM_ERR_INDEX, PHM_ERR_NOMEM. Renaming to the same name
 * changes nothing. */
int phm_index_source_rename(phm_index *idx, const char *from, const char *to,
                            uint64_t *moved, char *err, size_t errlen);

/* Deletes source `source` in one durable write transaction: its entries,
 * settings, and disabled and quarantine rows. *removed (may be NULL) gets
 * the entries removed. Errors: PHM_ERR_NOT_FOUND (neither entries nor
 * settings: nothing changed), PHM_ERR_INVALID, PHM_ERR_READONLY,
 * PHM_ERR_FULL, PHM_ERR_INDEX. */
int phm_index_source_delete(phm_index *idx, const char *source, uint64_t *removed,
                            char *err, size_t errlen);

/* ================================================================== */
/* Video                                                               */
/* ================================================================== */
/*
 * vPDQ: the PDQ hashes of a video's frames, computed as Meta's vPDQ
 * reference computes them (so vPDQ hash files interoperate), and the
 * reference's bag-of-frames comparison of two videos. Decoding is FFmpeg's
 * (libavformat, libavcodec, libswscale), in the video backend
 * phmatch-video.so, which libphmatch opens at the first video hashed
 * (thread-safe, once per process): a program that meets no video never
 * loads FFmpeg. $PHMATCH_VIDEO_BACKEND may name it; otherwise it is looked
 * for beside the program and in the installed PREFIX/lib/phmatch.
 *
 *     phm_video_options o; phm_video_hasher *vh; phm_vpdq v;
 *     char err[PHM_ERRMSG_MAX];
 *     phm_video_options_init(&o);           // one hash a second, native size
 *     if (phm_video_hasher_new(&vh, &o)) ...out of memory...
 *     phm_vpdq_init(&v);
 *     int rc = phm_hash_video_file(vh, "clip.mp4", &v, err, sizeof err);
 *     for (size_t i = 0; i < v.count; i++) {   // after an error too: the
 *         char line[PHM_VPDQ_LINE_MAX];         // frames hashed before it
 *         phm_vpdq_format_frame(&v.frames[i], line);
 *         fputs(line, stdout);                  // "0,100,e271...,0.000\n"
 *     }
 *     if (rc < 0) ...report err...
 *     phm_vpdq_clear(&v); phm_video_hasher_free(vh);
 *
 * Frames. Frame numbers count the frames the decoder outputs, from 0, as
 * the reference counts them. With fps the video stream's average frame
 * rate (its r_frame_rate when the average is unknown), frame n is hashed
 * when n % phm_vpdq_frame_step(r, fps) == 0, where r is the seconds per
 * hash; its timestamp is phm_vpdq_timestamp(n, fps). A hashed frame is
 * converted to RGB24 by swscale with SWS_AREA, at its own size or at
 * N x N, and hashed in PHM_MODE_FULL.
 *
 * Conformance. Frame numbers and timestamps are the reference's exactly;
 * hashes are bit-exact given the same RGB pixels, and the pixels are those
 * of the FFmpeg linked (phm_video_versions()): FFmpeg versions differ by a
 * few bits of a frame's hash, well within the match distance.
 *
 * Input is probed from its content, never its name. Containers: MP4/MOV,
 * Matroska/WebM, AVI, animated GIF, Y4M, MPEG-TS/PS, FLV, ASF, Ogg, NUT,
 * IVF; any video codec FFmpeg decodes. A container never opens another
 * file or URL (references to external media are refused).
 *
 * Determinism: the same input always gives the same frames and hashes,
 * whatever the threads. (FFmpeg's frame threads conceal damaged data
 * differently from run to run, so a video in which the decoder meets
 * damage is decoded again by one thread.)
 *
 * Threading: a phm_video_hasher is used by one thread at a time. With
 * phm_video_options.threads = N > 1 a call starts N - 1 worker threads of
 * its own (POSIX threads, joined before it returns) that convert and hash
 * frames while the calling thread decodes; FFmpeg's decoding threads come
 * on top (decoder_threads). phm_vpdq values may be read by any number of
 * threads at once.
 *
 * For matching: phm_vpdq_distinct() gives a video's bag of hashes (what
 * phm_vpdq_compare() compares, and what an index entry of a video holds);
 * frames[] gives a per-frame search (phm_search_batch()) its queries and
 * the frame numbers and timestamps to report.
 *
 * FFmpeg writes diagnostics to stderr through av_log, a process-wide
 * setting libphmatch leaves alone; see phm_video_silence_ffmpeg().
 */

/* Defaults of phm_video_options. */
#define PHM_VPDQ_SECONDS_PER_HASH 1.0
#define PHM_VIDEO_DEFAULT_MAX_SECONDS (6.0 * 3600) /* 6 hours */
#define PHM_VIDEO_DEFAULT_MAX_FRAMES 2000000ull    /* decoded frames */
/* Largest N x N size phm_video_options.size accepts. */
#define PHM_VIDEO_MAX_SIZE 8192

/* The reference's comparison defaults: frames of quality below 50 are
 * ignored, frames within distance 31 match, and two videos match when at
 * least 80% of the query's frames match (and 0% of the other's). */
#define PHM_VPDQ_QUERY_THRESHOLD 80.0
#define PHM_VPDQ_COMPARED_THRESHOLD 0.0

/* The hash of one frame. */
typedef struct phm_vpdq_frame {
    phm_pdq hash;
    int quality;       /* 0..100 */
    uint64_t frame;    /* frame number, from 0 */
    double timestamp;  /* seconds: phm_vpdq_timestamp(frame, fps) */
} phm_vpdq_frame;

/* A video's vPDQ hash: its hashed frames, and what the decoder saw.
 *
 * Ownership: the caller owns the struct; `frames` is allocated by the
 * library and freed by phm_vpdq_clear(). A phm_vpdq filled by one call and
 * passed to the next reuses its memory (the next call replaces the
 * frames). Initialise with phm_vpdq_init() before first use. */
typedef struct phm_vpdq {
    phm_vpdq_frame *frames;  /* `count` frames: by frame number when hashed
                                from a video, in file order when parsed */
    size_t count;
    size_t capacity;         /* frames allocated (library use) */

    /* From the decoder; zero or "" for a parsed vPDQ file. */
    double fps;              /* the frame rate of selection and timestamps */
    uint64_t step;           /* frames n % step == 0 were hashed */
    uint64_t frames_decoded; /* frames the decoder output: how far it got */
    uint32_t width, height;  /* the first frame's size */
    uint32_t hash_width, hash_height; /* the size hashed: native or N x N */
    int64_t bytes;           /* input bytes read; -1 if unknown */
    char container[24];      /* FFmpeg's demuxer: "mov", "matroska", "avi",
                                "gif", "yuv4mpegpipe", ... */
    char codec[24];          /* FFmpeg's decoder: "h264", "vp9", "gif", ... */
} phm_vpdq;

/* Sets *v to an empty value (no allocation). */
void phm_vpdq_init(phm_vpdq *v);

/* Frees v's frames and sets it empty again. Accepts NULL. */
void phm_vpdq_clear(phm_vpdq *v);

/* Appends a copy of *f, growing v->frames. Returns PHM_OK, PHM_ERR_NOMEM
 * (v unchanged) or PHM_ERR_INVALID (a NULL argument). */
int phm_vpdq_append(phm_vpdq *v, const phm_vpdq_frame *f);

/* The frame step of the reference: max(1, (int)(seconds_per_hash * fps)),
 * computed in double as the reference does; 1 for seconds_per_hash 0, for
 * an fps that is not positive and finite, or for a NaN; saturates at
 * 2^62 instead of overflowing. */
uint64_t phm_vpdq_frame_step(double seconds_per_hash, double fps);

/* The reference's timestamp of frame n: (float)n / (float)fps, in single
 * precision as the reference computes it (so printed with 3 decimals it
 * is the reference's digit for digit). 0 if fps is not positive. */
double phm_vpdq_timestamp(uint64_t frame, double fps);

/* ---- vPDQ files ---- */

/* Longest line phm_vpdq_format_frame() writes, newline and NUL included. */
#define PHM_VPDQ_LINE_MAX 128
/* Default size limit of phm_vpdq_load(): 256 MiB. */
#define PHM_VPDQ_DEFAULT_MAX_FILE_BYTES (256ull << 20)

/* Writes the reference's line for *f, "frame,quality,hash,timestamp\n"
 * (timestamp with 3 decimals, e.g. "12,100,e271...d055c,0.400\n"), and a
 * NUL. Returns the length without the NUL. */
size_t phm_vpdq_format_frame(const phm_vpdq_frame *f,
                             char out[PHM_VPDQ_LINE_MAX]);

/* Nonzero if `data` starts with a vPDQ line, ended by a newline or by the
 * end of data: how a hash file is told from a video by content. Give it
 * the first PHM_VPDQ_LINE_MAX bytes of a file (or all of a shorter one). */
int phm_vpdq_detect(const void *data, size_t len);

/* Parses vPDQ text: lines "frame,quality,hash,timestamp" (frame a decimal
 * integer, quality 0..100, hash 64 hex digits, timestamp a decimal number),
 * ending in LF or CRLF; blank lines are skipped; the last line may lack its
 * newline. Replaces the frames of *out (which must be initialised) and
 * clears its decoder fields. On error *out holds the lines before the bad
 * one and `err` names `name` (may be NULL) and the line:
 * "cannot parse vPDQ 'a.txt': line 12: malformed hash".
 * Errors: PHM_ERR_CORRUPT, PHM_ERR_TOO_LARGE (more than
 * PHM_VIDEO_DEFAULT_MAX_FRAMES lines), PHM_ERR_NOMEM, PHM_ERR_INVALID. */
int phm_vpdq_parse(const char *text, size_t len, const char *name,
                   phm_vpdq *out, char *err, size_t errlen);

/* Reads the regular file `path` (at most max_bytes; 0 =
 * PHM_VPDQ_DEFAULT_MAX_FILE_BYTES) and parses it with phm_vpdq_parse().
 * Adds PHM_ERR_NOT_FOUND, PHM_ERR_UNREADABLE (also for a FIFO or device),
 * PHM_ERR_IS_DIR and PHM_ERR_TOO_LARGE. */
int phm_vpdq_load(const char *path, uint64_t max_bytes, phm_vpdq *out,
                  char *err, size_t errlen);

/* ---- comparison ---- */

/* The result of comparing two videos as bags of frame hashes. */
typedef struct phm_vpdq_match {
    double query_percent;    /* query_matched * 100 / query_hashes */
    double compared_percent; /* compared_matched * 100 / compared_hashes */
    size_t query_hashes;     /* distinct hashes of quality >= min_quality */
    size_t compared_hashes;
    size_t query_matched;    /* of those, with one of the other within */
    size_t compared_matched; /*   max_distance */
} phm_vpdq_match;

/* Writes the distinct hashes of v's frames of quality >= min_quality to
 * `out` (room for v->count hashes), sorted by value, and returns how many.
 * The bag of hashes phm_vpdq_compare() compares, and what an index entry
 * of a video holds. */
size_t phm_vpdq_distinct(const phm_vpdq *v, int min_quality, phm_pdq *out);

/* Compares `query` with `compared` as the vPDQ reference does, with two
 * choices made where its C++ and Python implementations differ: frames of
 * quality >= min_quality are kept, identical hashes are counted once (as
 * the Python matcher deduplicates; the C++ one does not), and a hash
 * matches when some hash of the other video is at distance
 * <= max_distance (as the Python matcher; the C++ one uses <). With no
 * hash kept on either side both percentages are 0.
 * Conventional arguments: PHM_PDQ_MATCH_DISTANCE, PHM_PDQ_MIN_QUALITY.
 * Errors: PHM_ERR_NOMEM, PHM_ERR_INVALID (max_distance outside 0..256). */
int phm_vpdq_compare(const phm_vpdq *query, const phm_vpdq *compared,
                     int max_distance, int min_quality, phm_vpdq_match *out);

/* Nonzero when both sides kept a hash and query_percent >=
 * query_threshold and compared_percent >= compared_threshold (defaults
 * PHM_VPDQ_QUERY_THRESHOLD and PHM_VPDQ_COMPARED_THRESHOLD). */
int phm_vpdq_is_match(const phm_vpdq_match *m, double query_threshold,
                      double compared_threshold);

/* ---- hashing videos ---- */

typedef struct phm_video_options {
    /* One hash every this many seconds (see phm_vpdq_frame_step); 0 hashes
     * every frame. Default PHM_VPDQ_SECONDS_PER_HASH. */
    double seconds_per_hash;
    /* 0: hash frames at their own size; N (5..PHM_VIDEO_MAX_SIZE): resize
     * to N x N first, as the reference's -s N. */
    uint32_t size;
    /* Limits; 0 means the default. A frame of more than max_pixels pixels
     * (default PHM_DEFAULT_MAX_PIXELS) is refused. Decoding stops at the
     * frame whose timestamp reaches max_seconds (default
     * PHM_VIDEO_DEFAULT_MAX_SECONDS) or after max_frames frames (default
     * PHM_VIDEO_DEFAULT_MAX_FRAMES). */
    uint64_t max_pixels;
    double max_seconds;
    uint64_t max_frames;
    /* Threads for one video: the calling thread decodes, threads - 1 more
     * convert and hash frames (the calling thread helps when it would
     * wait). 0 or 1: the calling thread does everything. */
    int threads;
    /* FFmpeg's own decoding threads: 0 lets FFmpeg choose (one per core),
     * 1 decodes in the calling thread. */
    int decoder_threads;
    /* Zero: decoding stops at the first packet the decoder rejects, or
     * frame in which it had to conceal damage (PHM_ERR_CORRUPT). Nonzero:
     * such packets are skipped, such frames hashed, and decoding goes on;
     * the call then returns PHM_WARN_RECOVERED. */
    int skip_errors;
    phm_simd simd;
} phm_video_options;

/* Fills *o with the defaults: seconds_per_hash 1, native size, default
 * limits, one thread, FFmpeg's choice of decoding threads, stop at
 * errors, PHM_SIMD_AUTO. Start from this, then change fields. */
void phm_video_options_init(phm_video_options *o);

/* A reusable video hasher: a PDQ workspace, conversion context and frame
 * buffer per hashing thread. One thread at a time. */
typedef struct phm_video_hasher phm_video_hasher;

/* Creates a hasher with a copy of *o (NULL: the defaults).
 * Errors: PHM_ERR_NOMEM, PHM_ERR_INVALID (seconds_per_hash negative or
 * not finite, size 1..4 or over PHM_VIDEO_MAX_SIZE, a negative limit,
 * threads or decoder_threads negative or over 1024). */
int phm_video_hasher_new(phm_video_hasher **out, const phm_video_options *o);

/* Frees a hasher. Accepts NULL. */
void phm_video_hasher_free(phm_video_hasher *vh);

/* Decodes the video in the regular file `path` and hashes its frames into
 * *out (initialised; its previous frames are replaced). The file is read
 * as a stream, never whole into memory; there is no file size limit.
 *
 * Returns PHM_OK; PHM_WARN_RECOVERED (skip_errors: damaged packets or
 * frames met, `err` says how many and where the first was); or an error, with
 * `err` naming the file: "cannot decode video 'a.mp4': ...". On an error
 * met while decoding, *out still holds every frame hashed before it, and
 * out->frames_decoded and the message say how far decoding got
 * ("... at frame 1234 (41.133 s): Invalid data found when processing
 * input"). Errors:
 *   PHM_ERR_NOT_FOUND, PHM_ERR_IS_DIR, PHM_ERR_UNREADABLE (also for a FIFO,
 *                       socket or device: see phm_hash_video_fd)
 *   PHM_ERR_UNSUPPORTED not a container listed above, no video stream,
 *                       no decoder for its codec, or no frame rate; or the
 *                       video backend (or FFmpeg) could not be loaded:
 *                       "cannot decode video 'a.mp4': the video backend
 *                       could not be loaded: <dlerror()'s reason>"
 *   PHM_ERR_CORRUPT     damaged data, before or after some frames; or no
 *                       frame decoded at all (a container cut after its
 *                       header: "no frame could be decoded")
 *   PHM_ERR_TOO_LARGE   a frame over max_pixels, or max_seconds or
 *                       max_frames reached (the frames before are kept)
 *   PHM_ERR_TOO_SMALL   frames narrower or shorter than 5 pixels
 *   PHM_ERR_NOMEM, PHM_ERR_INVALID */
int phm_hash_video_file(phm_video_hasher *vh, const char *path, phm_vpdq *out,
                        char *err, size_t errlen);

/* As phm_hash_video_file, from an open descriptor read to its end: a
 * regular file (read from its start with seeks) or a pipe such as standard
 * input (read once, no seeking: Y4M from `ffmpeg ... -f yuv4mpegpipe -`,
 * or any container that streams: MPEG-TS, Matroska, NUT; decoded with one
 * FFmpeg thread, since a pipe cannot be read again after damage). `name`
 * (may be NULL) is the subject of messages. The descriptor is not closed. */
int phm_hash_video_fd(phm_video_hasher *vh, int fd, const char *name,
                      phm_vpdq *out, char *err, size_t errlen);

/* As phm_hash_video_fd, from the `len` bytes at `data`: a whole file held
 * in memory, such as an upload. FFmpeg reads them through custom I/O with
 * seeking, in place: they are neither copied whole nor written to disk,
 * and must stay unchanged during the call. The options' limits apply
 * (max_seconds, max_frames, max_pixels); bound `len` before the call.
 * `name` (may be NULL) is the subject of messages. Errors as
 * phm_hash_video_file, without those of opening a file. */
int phm_hash_video_mem(phm_video_hasher *vh, const void *data, size_t len,
                       const char *name, phm_vpdq *out, char *err,
                       size_t errlen);

/* Versions of the FFmpeg libraries linked, e.g. "libavformat 59.27.100,
 * libavcodec 59.37.100, libswscale 6.7.100"; "unavailable (<reason>)" if
 * the video backend cannot be loaded (this call loads it). Writes at most
 * `len` bytes including the NUL. */
void phm_video_versions(char *out, size_t len);

/* Sets FFmpeg's process-wide log level to quiet, so FFmpeg prints nothing
 * to stderr (libphmatch reports errors through return codes and `err`).
 * Affects every user of FFmpeg in the process, which is why libphmatch
 * never does it on its own; a program that owns its process, such as the
 * phmatch tool, calls it once. Does not load FFmpeg: before the first
 * video it is remembered and applied when the backend is loaded. */
void phm_video_silence_ffmpeg(void);

/* ================================================================== */
/* Animations                                                          */
/* ================================================================== */
/*
 * The frames of an animated GIF or WebP, hashed into a phm_vpdq as a
 * video's frames are, so that an animation can be matched as a video
 * (phm_vpdq_compare, phm_match_video) or written as vPDQ lines. Decoding
 * is libphmatch's own (giflib, libwebp): no FFmpeg, no video backend. As
 * an image (phm_decode_mem, phm_hash_mem) the same file is its first
 * frame; these functions are for its other frames.
 *
 *     phm_video_options o; phm_vpdq v; phm_vpdq_init(&v);
 *     phm_video_options_init(&o);             // one hash a second
 *     int rc = phm_hash_animation_file(dec, h, "a.gif", &o, &v, err,
 *                                      sizeof err);
 *     ...v.frames[0 .. v.count) as for a video; v.frames_decoded frames...
 *     phm_vpdq_clear(&v);
 *
 * Frames. Frame n (from 0) is the whole canvas (the GIF's logical screen,
 * the WebP's canvas) as a viewer shows it while the frame is displayed:
 * every earlier frame composed with its disposal and blending, alpha then
 * dropped, as ImageMagick's `-coalesce -alpha off` shows them (for GIF:
 * the canvas starts as the background colour, black without a global
 * colour table; disposal 2 clears to transparent, which leaves the colours
 * once alpha is dropped). So
 * frame 0 differs from the image decode (the first image's own rectangle,
 * transparent pixels in their palette colour) when the first image does
 * not cover the whole canvas or has transparent pixels. Frame n starts when
 * frame n-1 ends (frame 0 at 0 s) and is shown for its delay; a GIF delay
 * of 0 or 1 hundredth is taken as 10 hundredths, as browsers do.
 *
 * Selection, with r = o->seconds_per_hash: the sampling times are 0, r,
 * 2r, ...; frame n is hashed when its display interval [start, start +
 * delay) contains a sampling time not covered by an earlier frame (to
 * within a nanosecond, so that 0.1 + 0.2 counts as 0.3), i.e. each frame
 * on screen at a sampling time is hashed once, at its start time. This is
 * vPDQ's rule for videos (one frame every r seconds) for frames of
 * varying duration: a frame shown for 3 r is hashed once, a frame shown
 * between two sampling times not at all. r = 0 hashes every frame.
 * Example, delays 0.1, 0.5 and 2.0 s with r = 1: frames 0 (at 0 s) and 2
 * (at 0.6 s, covering 1 s and 2 s). Each hashed frame's `frame` is n and
 * its `timestamp` its start time in seconds; hashes are PHM_MODE_FULL of
 * the canvas at its own size (o->size, threads and decoder_threads are
 * not used).
 *
 * The phm_vpdq: frames in frame order; fps the average frame rate
 * (frames_decoded over the total duration); step 0 (selection is by
 * time); frames_decoded the frames composed; width, height, hash_width
 * and hash_height the canvas; bytes the input's length; container and
 * codec the format name ("gif", "webp").
 *
 * Limits from *o: a canvas of more than o->max_pixels pixels (and dec's
 * own pixel limit) is refused before any allocation; decoding stops with
 * PHM_ERR_TOO_LARGE at the frame whose start reaches o->max_seconds, or
 * after o->max_frames frames, the frames hashed before kept. Memory is the
 * canvas, one saved rectangle and one row, whatever the number of frames.
 *
 * Threading: `dec` and `h` are used as by phm_hash_mem (one thread at a
 * time each); no other state.
 */

/* Hashes the frames of the animation held in data[0..len) (a GIF or WebP,
 * found by content) into *out (initialised; its frames are replaced), as
 * described above. `o` may be NULL for the defaults. `name` (may be NULL)
 * is the subject of messages: "cannot decode 'a.gif': frame 3: row 7 of
 * 90: Image is defective, decoding aborted".
 *
 * Returns PHM_OK, or an error; after an error met while decoding, *out
 * holds the frames hashed before it and out->frames_decoded says how far
 * decoding got. Errors:
 *   PHM_ERR_UNSUPPORTED not a GIF or WebP (other formats, AVIF sequences
 *                       included, have no frames here)
 *   PHM_ERR_CORRUPT     malformed, truncated (before the first frame, or
 *                       inside a frame), an LZW error
 *   PHM_ERR_TOO_LARGE   a canvas over the pixel limit, max_frames or
 *                       max_seconds reached
 *   PHM_ERR_TOO_SMALL   a canvas narrower or shorter than 5 pixels
 *   PHM_ERR_NOMEM, PHM_ERR_INVALID (a NULL argument, invalid options as
 *                       phm_video_hasher_new judges them) */
int phm_hash_animation_mem(phm_decoder *dec, phm_hasher *h, const void *data,
                           size_t len, const char *name,
                           const phm_video_options *o, phm_vpdq *out,
                           char *err, size_t errlen);

/* phm_hash_animation_mem() on the file at `path`, read whole as
 * phm_decode_file() reads it (dec's max_file_bytes; the bytes stay
 * available through phm_decoder_last_bytes()). Adds PHM_ERR_NOT_FOUND,
 * PHM_ERR_UNREADABLE and PHM_ERR_IS_DIR. */
int phm_hash_animation_file(phm_decoder *dec, phm_hasher *h, const char *path,
                            const phm_video_options *o, phm_vpdq *out,
                            char *err, size_t errlen);


/* ================================================================== */
/* Matching                                                            */
/* ================================================================== */
/*
 * What an image or a video matches in an index, as phmatch match and
 * phmatchd's /v1/match report it: the search above, the quality gate, one
 * hit per entry, the entries read, and for a video the vPDQ comparison of
 * the known videos it hits and the frames in which known images appear.
 *
 *     phm_matcher *m; phm_match_options o; const phm_match_result *res;
 *     phm_match_options_init(&o);              // distance 31, quality 50
 *     o.orientations = 1;                      // r from dihedral hashing
 *     if (phm_matcher_new(searcher, &m)) ...out of memory...
 *     if (phm_match_image(m, &r, &o, &res, err, sizeof err)) ...report err...
 *     for (size_t i = 0; i < res->count; i++)
 *         phm_match_json_fwrite(stdout, &res->hits[i]), putchar('\n');
 *     phm_searcher_release(searcher);          // when going idle
 *     phm_matcher_free(m);
 *
 * Images. The hashes of a phm_pdq_result are searched at once: hash[0],
 * or with `orientations` all r->nhashes of them (the 8 orientations of a
 * dihedral hashing). An image of quality below min_quality is not
 * searched. Every entry within max_distance of some hash is reported
 * once, at its nearest distance and with the orientation that gave it
 * (the lowest one on a tie); hits are sorted by distance then entry
 * number.
 *
 * Variants. With o->extra, the hashes of each extra (its hash[0], or
 * with `orientations` all its nhashes) are searched in the same batch as
 * the image's own; an extra of quality below min_quality is left out.
 * Each entry is still reported once, at its nearest distance over all
 * of them, with the orientation and the `variant` (the extra's name;
 * NULL for the image's own hashes) that gave it; on a tie the image's
 * own hash wins, then the earlier extra, then the lower orientation. The
 * quality gate and the sources' minimum quality apply to the image's own
 * quality, or to a whole extra's (phm_match_extra.whole: the picture over
 * white) when that is better; the own hash of an image that passes the
 * gate only so is searched as an extra below the gate is (within
 * low_quality_distance, and not when a pattern). An extra named as a stored variant (a caption cut, "soft") is
 * measured against that variant of an entry only; the stored soft hashes
 * (phm_soft_kind) answer a query's "soft" extra and nothing else: every
 * other hash of the query, and phm_match_results' one hash (o->query), is
 * measured without them (docs/ROBUST.md, "Combinations of busy images").
 * Without extras phm_match_image does what it did before (one batch of
 * the image's hashes), but for that last rule.
 *
 * Videos. The distinct hashes of the video's frames of quality >=
 * min_quality (phm_vpdq_distinct) are searched at once; a video with no
 * such frame is not searched. Each entry hit is
 *   - a known video (kind PHM_MATCH_VIDEO): compared with the query by
 *     phm_vpdq_compare(max_distance, min_quality) and reported when
 *     phm_vpdq_is_match(query_threshold, compared_threshold) says so, with
 *     both percentages;
 *   - a known image (PHM_MATCH_IMAGE): reported with every frame of the
 *     query (number and timestamp) whose hash is within max_distance of it.
 * Either way `distance` is that of the nearest frame and frame/timestamp
 * name the query's first frame at that distance. Hits are sorted by
 * distance then entry number.
 *
 * Ownership and threading: a matcher uses the searcher given to
 * phm_matcher_new() (which must outlive it) and is used by one thread at a
 * time, with that searcher. Its buffers grow to the largest query and are
 * reused: once warm, a query allocates nothing (a video's comparisons
 * excepted: phm_vpdq_compare allocates). The result and everything it
 * points to (hits, frames, and the entry strings, which point into the
 * index's memory map) belong to the matcher and stay valid until the next
 * match on it, or phm_searcher_release() / another search on its searcher
 * (the entry strings). */

/* The kind of an entry matched. */
enum { PHM_MATCH_IMAGE = 0, PHM_MATCH_VIDEO = 1 };

typedef struct phm_match_options {
    int max_distance;     /* 0..PHM_INDEX_MAX_RADIUS; default
                             PHM_PDQ_MATCH_DISTANCE */
    int min_quality;      /* 0..100: the quality gate of an image, and the
                             frames of a video kept; default
                             PHM_PDQ_MIN_QUALITY */
    size_t max_matches;   /* hits listed, nearest first; 0 = all (default).
                             phm_match_result.total counts them all */
    int orientations;     /* nonzero: search every hash of the
                             phm_pdq_result (8 with dihedral); 0: hash[0]
                             only (default) */
    double query_threshold;    /* vPDQ verdict, default
                                  PHM_VPDQ_QUERY_THRESHOLD */
    double compared_threshold; /* default PHM_VPDQ_COMPARED_THRESHOLD */
    /* Query-side variants of an image (phm_match_image only; see
     * "Variants" below): `nextra` extra hashes of the same image, e.g.
     * its trimmed content (phm_hash_mem_trim). NULL/0 (default): none. */
    const struct phm_match_extra *extra;
    size_t nextra;             /* at most PHM_MATCH_MAX_EXTRA */
    /* phm_match_results only: the hash that was searched, if the caller
     * has it (NULL, the default: not known). With it, a hit of an entry
     * with stored variants names the nearest in known_variant, as
     * phm_match_image does; without it known_variant stays NULL. */
    const phm_pdq *query;
    /* Near matches of images below the quality gate (phm_match_image
     * only; issue 15, wt-edits; docs/ROBUST.md, "Edits at 0.99"): with
     * low_quality_distance > 0, an image whose quality is below
     * min_quality but at least low_quality_min (0..100) is searched too,
     * within low_quality_distance (at most max_distance) only: its own
     * hashes (every orientation searched), and extras of quality >=
     * min_quality as ever (a flat part's hash is a pattern other flat
     * images share). 0 (default): such images are not searched.
     * And (wt-shot) an extra whose quality is below min_quality but at
     * least low_quality_min, and whose hash is not a pattern
     * (phm_pdq_distinct_rows >= PHM_CUT_MIN_ROWS: the caption cut of a
     * calm picture), is searched within low_quality_distance only, with
     * an image of any quality. */
    int low_quality_distance;
    int low_quality_min;
    /* Nonzero when the query image is a rotation whose corners make its
     * hash (phm_query_hashes.calm_corners, phmatch match --robust): its
     * own hashes and "trimmed" extras are then not compared with stored
     * rotations on a filled canvas (phm_fill_kind), whose hashes in a
     * calm picture are their corners too. On a dev set, rotated copies of
     * two flat wallpapers met the stored rot+5 / rot-5 of two other
     * pictures at 22-30 bits. 0 (default): compared with every slot. */
    int calm_corners;
    /* ncorners_only hashes of the query's rotation corners alone, in the
     * orientations of the query's own hashes (phm_query_hashes.corners_pdq),
     * or NULL / 0 (default: no bound). With them, a stored rotation on a
     * filled canvas (phm_fill_kind) counts for the query's own hash in
     * orientation k only when it is nearer to that hash than every
     * corners_only[i].hash[k] is (a strict bound; an orientation they
     * lack: no bound); the entry's other hashes count as ever, and so do
     * the extras. A rotation no nearer than the corners alone says only
     * that both pictures were turned alike: on a dev set, the rotated
     * copies of a stripe picture (PDQ quality 100 from its aliasing, 14
     * bits from their corners alone) met a fabric's stored rot+5 at 24 and
     * 28 bits, itself 6 bits from the corners of its own canvas
     * (docs/ROBUST.md, "Rotation corners on busy pictures"). */
    const phm_pdq_result *corners_only;
    size_t ncorners_only;
    /* Nonzero when the query image has a border (phm_trim_result.found
     * and not .canvas, phmatch match --robust): its soft extra is then not compared with
     * entries' whole-image soft hash (PHM_KV_ED_SOFT), which no bars
     * shape; its other soft slots still count. On a dev set, letterboxed
     * copies of a flat wallpaper came 36 bits from a clip art's stored
     * "soft"; no bordered copy came within 52 of its own original's
     * (docs/ROBUST.md, "Busy images at a quarter"). 0 (default): compared
     * with every soft slot. */
    int bordered;
    /* Near matches of near-blank images (phm_match_image only;
     * docs/ROBUST.md, "Near-blank copies"): with low_quality_distance > 0
     * and flat_distance > 0, an image whose quality is below
     * low_quality_min is searched too, within flat_distance (at most
     * low_quality_distance and max_distance) only, when its own hash is no
     * pattern: at least PHM_CUT_MIN_ROWS distinct rows and as many
     * distinct columns (a blank picture hashes to a pattern, and blank
     * pictures meet each other at 0 bits). Its extras are searched as an
     * image's of quality low_quality_min are. A picture whose quality is
     * a whole extra's is not. So is, on these terms, an extra "derotated"
     * (PHM_DEROTATED) below low_quality_min, of any image: the picture
     * turned upright, as near blank as the picture ("De-rotation of small
     * pictures"); other extras that low are parts of the picture and are
     * never searched. 0 (default): none of these are searched. */
    int flat_distance;
} phm_match_options;

/* An extra hash of an image query: a variant of the image (its content
 * without the border, ...) searched with the image's own hashes. */
typedef struct phm_match_extra {
    const char *variant;       /* its name, reported as phm_match_hit.variant
                                  ("trimmed"); a static string, or one that
                                  outlives the result */
    const phm_pdq_result *pdq; /* its hashes: hash[0], or with `orientations`
                                  all pdq->nhashes (1..8) */
    int whole;                 /* nonzero: the whole picture as another
                                  decode shows it (phm_query_hashes.flat),
                                  not a part or an edit of it: its quality
                                  counts for the quality gate as the own
                                  hash's, the better of them deciding (see
                                  "Variants"). 0 (default): a part or an
                                  edit */
} phm_match_extra;

/* The most extra hashes phm_query_match_options gives. */
#define PHM_QUERY_MAX_EXTRA (2 + PHM_CUT_COUNT + 1 + 4 + 1 + 2)

/* The variant names of a query's hashes over white and over black
 * (phm_query_hashes.flat; match records' "variant"). */
#define PHM_FLATTENED_WHITE "flattened-white"
#define PHM_FLATTENED_BLACK "flattened-black"

/* The variant name of a query's de-rotated hash (phm_query_hashes.derot;
 * match records' "variant"). */
#define PHM_DEROTATED "derotated"

/* What phmatch match and phmatchd search for a query's extras: first a
 * transparent picture over white and over black as "flattened-white" /
 * "flattened-black" (whole extras), then q's
 * trimmed content (and a screenshot's second box) as "trimmed", its
 * usable cuts as "cut-bottom" / "cut-top" / "cut-middle", its
 * de-rotated hash as "derotated", its soft hash as "soft" and its
 * area64 hashes as "area64" (the image) and
 * "area64-trimmed" (a box), written to extra[] (they point into q, which must outlive the
 * match) and set as o->extra / o->nextra (left as they are when there are
 * none); o->bordered (a border was found, not a canvas box), o->calm_corners and
 * o->corners_only / ncorners_only (q->corners_pdq, ncorners_pdq) from q. The
 * rest of *o is the caller's. Returns the number of extras. */
size_t phm_query_match_options(const phm_query_hashes *q,
                               phm_match_extra extra[PHM_QUERY_MAX_EXTRA],
                               phm_match_options *o);

#define PHM_MATCH_MAX_EXTRA 16

/* Fills *o with the defaults listed above. */
void phm_match_options_init(phm_match_options *o);

/* A frame of the query video in which a known image appears. */
typedef struct phm_match_frame {
    uint64_t frame;    /* frame number, as in phm_vpdq_frame */
    double timestamp;  /* seconds */
} phm_match_frame;

/* One entry matched: the match record. phm_match_json() writes it. */
typedef struct phm_match_hit {
    uint64_t entry;       /* entry number */
    phm_entry e;          /* the entry as phm_searcher_get() reads it
                             (strings NULL if it could not be read) */
    int kind;             /* PHM_MATCH_IMAGE or PHM_MATCH_VIDEO: the entry's */
    int distance;         /* nearest Hamming distance */
    int orientation;      /* PHM_DIH_* of the query hash that gave it */
    /* Robust matching (docs/ROBUST.md): the query-side variant whose hash
     * gave this distance ("trimmed": the image with its borders cut, ...),
     * NULL for the file's own hash; and the stored variant of the entry
     * that matched (an edit of the known image added with it: "crop10-c",
     * ...), NULL for the entry's own hash. Both static strings. Distances
     * are always PDQ distances between those two hashes. */
    const char *variant;
    const char *known_variant;
    int64_t frame;        /* video query: its frame at that distance; -1 */
    double timestamp;     /* ... and that frame's timestamp */
    int compared;         /* a known video compared with a video query:
                             the percentages are set */
    double query_percent, compared_percent;
    const phm_match_frame *frames; /* a known image in a video query:
                                      every frame it appears in */
    size_t nframes;
    /* The query matched an entry of a suppression source (see
     * "governance" above): that entry, nearest first; source NULL when
     * not suppressed. Strings valid as e's. */
    struct {
        uint64_t entry;
        const char *source, *id;
        int distance;
    } suppressed_by;
} phm_match_hit;

typedef struct phm_match_result {
    int searched;         /* 0: not searched (quality below min_quality,
                             or no frame of that quality) */
    uint64_t total;       /* entries matched (0 when suppressed) */
    size_t count;         /* hits listed: min(total or suppressed,
                             max_matches) */
    const phm_match_hit *hits; /* count hits, nearest first */
    uint64_t suppressed;  /* hits suppressed (all of them carry
                             suppressed_by); then total is 0 */
    int partial;          /* phm_match_knn only: 1 when its window reached
                             its bound (PHM_MATCH_KNN_SKIP_MAX) first, so
                             there may be fewer than k hits, or a
                             suppression entry past the window unseen */
} phm_match_result;

/* A reusable matching context (see above). */
typedef struct phm_matcher phm_matcher;

/* Creates a matcher over searcher `s` (borrowed). Returns PHM_OK,
 * PHM_ERR_NOMEM or PHM_ERR_INVALID (s NULL). */
int phm_matcher_new(phm_searcher *s, phm_matcher **out);

/* Frees a matcher (not its searcher). Accepts NULL. */
void phm_matcher_free(phm_matcher *m);

/* Matches an image's hashes (see "Images" and "Variants" above). *out
 * points to the matcher's result. o NULL: the defaults. Errors:
 * PHM_ERR_INVALID (an option out of range, nhashes not 1..8, nextra above
 * PHM_MATCH_MAX_EXTRA, an extra without pdq or with nhashes not 1..8),
 * PHM_ERR_NOMEM, and the errors
 * of phm_search_batch and phm_searcher_get, with `err`. */
int phm_match_image(phm_matcher *m, const phm_pdq_result *r,
                    const phm_match_options *o, const phm_match_result **out,
                    char *err, size_t errlen);

/* Matches a video's frames (see "Videos" above); as phm_match_image, plus
 * the errors of phm_searcher_get_frames and phm_vpdq_compare. */
int phm_match_video(phm_matcher *m, const phm_vpdq *v,
                    const phm_match_options *o, const phm_match_result **out,
                    char *err, size_t errlen);

/* The radius to search at for a request of `max_distance`: the largest
 * of it and of the sources' max_distance settings (governance). Errors:
 * PHM_ERR_INVALID, PHM_ERR_INDEX. */
int phm_match_radius(phm_matcher *m, int max_distance, int *radius,
                     char *err, size_t errlen);

/* The governed result of one hash's search: `raw[0..n)` from
 * phm_search_radius/knn/batch/digest on the matcher's searcher (searched
 * at phm_match_radius()), a query of PDQ quality `quality` (-1 unknown).
 * Applies o->max_distance (per source as above), o->max_matches and the
 * governance rules; orientation PHM_DIH_ORIGINAL, no frame; known_variant
 * when o->query gives the hash searched. *out as
 * phm_match_image. Errors: as phm_searcher_get, PHM_ERR_NOMEM,
 * PHM_ERR_INVALID. */
int phm_match_results(phm_matcher *m, const phm_match *raw, size_t n,
                      int quality, const phm_match_options *o,
                      const phm_match_result **out, char *err, size_t errlen);

/* The k (>= 1) nearest entries that the governance admits (the rules
 * above: the request's o->max_distance, each source's max_distance and
 * min_quality against `quality` (-1 unknown), disabled and quarantined
 * entries), nearest first, ties to lower entry numbers: the first k hits
 * phm_match_results would give for a radius search at phm_match_radius(),
 * without reading them all. Entries the governance excludes do not take
 * a place: the window searched widens (k, 2k, 4k ... nearest entries)
 * until it holds k admitted ones, and reaches past every distance at
 * which an entry of an enabled suppression source may match (so the query
 * is suppressed as a radius search would be), or holds every entry within
 * the radius. It passes over at most PHM_MATCH_KNN_SKIP_MAX entries
 * beyond k; past that the result is what the window held, with
 * `partial` set. total (or suppressed) counts the hits, at most k;
 * o->max_matches caps count. *out as phm_match_image. The search and the
 * entries read are s's (phm_search_knn): valid until its next search.
 * Errors: PHM_ERR_INVALID (k 0, an option out of range), PHM_ERR_NOMEM,
 * and those of phm_search_knn and phm_searcher_get, with `err`. */
#define PHM_MATCH_KNN_SKIP_MAX 65536
int phm_match_knn(phm_matcher *m, const phm_pdq *query, size_t k, int quality,
                  const phm_match_options *o, const phm_match_result **out,
                  char *err, size_t errlen);

/* Fills *out as the record of search result `match` of a single hash
 * (phm_search_radius/knn/batch/digest on `s`: a hash lookup), reading its
 * entry with phm_searcher_get: orientation PHM_DIH_ORIGINAL, no frame;
 * known_variant NULL, as the query is not given (phm_entry_known_variant
 * gives it). Valid as the entry. Errors as phm_searcher_get. */
int phm_match_hit_get(phm_searcher *s, const phm_match *match,
                      phm_match_hit *out, char *err, size_t errlen);

/* The match record as one JSON object, the one shape of a match in
 * phmatch and phmatchd:
 *
 *   {"entry":7,"source":"lab","id":"a1","category":"csam","kind":"image",
 *    "distance":4,"orientation":"original","variant":null,
 *    "known_variant":null,"frame":null,"timestamp":null,
 *    "frames":null,"query_percent":null,"compared_percent":null,
 *    "suppressed_by":null}
 *
 * entry, source, id, category (strings null if the entry could not be
 * read), kind ("image" or "video": the entry's), distance, orientation
 * (phm_dihedral_name), variant and known_variant (the hit's names, or
 * null), frame and timestamp (a video query: its frame
 * nearest to the entry, the timestamp in seconds with 3 decimals; else
 * null), frames (a known image in a video query: [{"frame":N,
 * "timestamp":S}, ...]; else null), query_percent and compared_percent (a
 * known video compared with a video query, 3 decimals; else null),
 * suppressed_by ({"source":S,"id":I,"distance":D}, the suppression entry
 * that makes this hit no match; else null). Every
 * key is always present, in this order. Strings are written with
 * phm_json_quote (bytes that are not UTF-8 become \ufffd).
 *
 * phm_match_json writes it and a NUL to out[0..cap), truncated as snprintf
 * does, and returns its full length without the NUL. */
size_t phm_match_json(const phm_match_hit *h, char *out, size_t cap);

/* The same text written to `fp` (no allocation). Returns PHM_OK, or
 * PHM_ERR_UNREADABLE if the stream failed. */
int phm_match_json_fwrite(FILE *fp, const phm_match_hit *h);
/* ------------------------------------------------------------------ */
/* Hash lists                                                          */
/* ------------------------------------------------------------------ */
/*
 * Lists of known hashes as text: what `phmatch index import` and
 * phmatchd's POST /v1/index/entries read, what `phmatch index export`
 * writes, what `phmatch lookup` takes as queries. One grammar for all of
 * them, read into and written from phm_entry (docs/HASHLISTS.md describes
 * each format exactly):
 *
 *     pdq    hash,quality,name         the reference CLI's lines
 *     hex    hash                      one 64-digit hex hash per line
 *     hma    pdq hash                  HMA / python-threatexchange lines
 *     csv    header line, then rows    RFC 4180 quoting
 *     tsv    header line, then rows    \t \n \r \\ escapes
 *     jsonl  {"hash": ..., ...}        one JSON object per line
 *     vpdq   frame,quality,hash,time   a vPDQ file: the whole file is ONE
 *                                      entry, a video with every frame
 *
 * and, read only, the publishers' own formats (docs/HASHLISTS.md,
 * "Publishers' formats"): vics (Project VIC's VICS JSON), ncmec (NCMEC's
 * XML), stopncii, threatexchange (JSON), threatexchange-csv, tat, icse.
 * The JSON and XML documents are streamed: one record at a time in
 * memory (at most PHM_HASHLIST_RECORD_MAX bytes for JSON), whatever the
 * document's size; their errors and phm_hashlist_reader_line() count
 * records, not lines. Their deletion records are PHM_HASHLIST_REMOVE for
 * a caller that takes them (allow_remove). XML is read without network,
 * DTD or entities (a DOCTYPE is refused).
 *
 * Usage (import: the caller decides all-or-nothing or skip-bad):
 *
 *     phm_hashlist_reader *rd; phm_entry e; char err[PHM_HASHLIST_ERRMSG_MAX];
 *     phm_hashlist_options opt = { .source = "ncmec", .allow_video = 1 };
 *     if (phm_hashlist_reader_open(&rd, fp, "list.csv", PHM_HASHLIST_AUTO,
 *                                  &opt, err, sizeof err)) ...
 *     int rc;
 *     while ((rc = phm_hashlist_read(rd, &e, err, sizeof err)) != PHM_HASHLIST_EOF) {
 *         if (rc == PHM_HASHLIST_RECORD) { phm_index_add(txn, &e, ...); continue; }
 *         fprintf(stderr, "%s\n", err);        // "list.csv:7: ..."
 *         if (rc != PHM_ERR_CORRUPT) break;    // the list cannot be read on
 *         ...stop (abort the transaction) or go on (skip the bad record)...
 *     }
 *     phm_hashlist_reader_close(rd);
 *
 *     // export
 *     phm_hashlist_write_header(stdout, PHM_HASHLIST_TSV);
 *     ...for each entry of phm_index_foreach(): phm_hashlist_write(stdout,
 *        PHM_HASHLIST_TSV, e, err, sizeof err)...
 *
 * Entries read: every field of the phm_entry is set. Strings and frames
 * point into memory owned by the reader, valid until the next
 * phm_hashlist_read() or phm_hashlist_reader_close(); strings are
 * NUL-terminated and hold no NUL byte; category and note are never NULL
 * ("" when unknown); photodna and attrs are NULL unless the record gives
 * them (a publisher's format, or jsonl "photodna"/"attrs": then they are
 * what phm_index_add() accepts). `signals` has at least one bit; quality is -1 when the
 * list does not say, `added` 0 (the index then stores "now").
 *
 * Threading: no global state. A reader belongs to one thread at a time;
 * the writers keep no state. With phm_hashlist_options.read_ahead a
 * reader of a regular file or memory runs one thread of its own from its
 * first read to its close (that thread calls nothing of the caller's).
 *
 * Memory: a reader allocates about 200 KiB when opened; reading a pdq,
 * hex, hma, csv or tsv record allocates nothing. A jsonl object is parsed
 * by jansson (allocated and freed within the call). A line starting with
 * '{' may be up to PHM_HASHLIST_OBJECT_LINE_MAX bytes, read into memory the
 * reader keeps for the next one, as are a video's frames (at most
 * PHM_INDEX_MAX_VIDEO_FRAMES).
 *
 * Messages are in git's style, "NAME:LINE: message", lowercase, without a
 * trailing period: "list.csv:7: quality '101' is out of range 0..100".
 * Input bytes quoted in a message are cut to 40 and their control and
 * non-ASCII bytes shown as '?', so a hostile list cannot forge a line on a
 * terminal. NAME is shown the same way.
 */

/* Longest value of each text field read, in bytes without the NUL. A
 * longer value is an error naming the field. Each is at least the index's
 * limit (PHM_INDEX_MAX_*), so whatever an index holds can be exported and
 * read again. */
#define PHM_HASHLIST_SOURCE_MAX 255
#define PHM_HASHLIST_ID_MAX 256
#define PHM_HASHLIST_CATEGORY_MAX 255
#define PHM_HASHLIST_NOTE_MAX 1024

/* Longest line, in bytes without its newline; for csv, the longest record
 * (all its physical lines, quotes removed). A longer one is an error and
 * reading resumes after the next newline. */
#define PHM_HASHLIST_LINE_MAX 65536
/* ... except a line that starts with '{' (a jsonl object, which may hold a
 * video's frames): up to this many bytes. */
#define PHM_HASHLIST_OBJECT_LINE_MAX ((size_t)128 << 20)

/* Most columns a csv or tsv header may name. */
#define PHM_HASHLIST_MAX_COLUMNS 256

/* Longest message written into an `err` buffer, NUL included. Shorter
 * buffers are accepted; messages are truncated to fit. */
#define PHM_HASHLIST_ERRMSG_MAX 512

/* Largest `added` time: 9999-12-31T23:59:59Z. */
#define PHM_HASHLIST_TIME_MAX INT64_C(253402300799)

typedef enum phm_hashlist_format {
    PHM_HASHLIST_AUTO = 0, /* reading only: found from the first line */
    PHM_HASHLIST_PDQ,
    PHM_HASHLIST_HEX,
    PHM_HASHLIST_HMA,
    PHM_HASHLIST_CSV,
    PHM_HASHLIST_TSV,
    PHM_HASHLIST_JSONL,
    PHM_HASHLIST_VPDQ, /* a vPDQ file: one video entry */
    PHM_HASHLIST_VICS,              /* Project VIC VICS JSON (OData) 1.x and 2.0 */
    PHM_HASHLIST_NCMEC,             /* NCMEC hash-sharing XML; reading only */
    PHM_HASHLIST_STOPNCII,          /* StopNCII JSON; reading only */
    PHM_HASHLIST_THREATEXCHANGE,    /* ThreatExchange descriptors JSON; reading only */
    PHM_HASHLIST_THREATEXCHANGE_CSV, /* ThreatExchange CSV download; reading only */
    PHM_HASHLIST_TAT,               /* Tech Against Terrorism JSON; reading only */
    PHM_HASHLIST_ICSE,              /* Interpol ICSE CSV; reading only */
} phm_hashlist_format;

/* Parses "auto", "pdq", "hex", "hma", "csv", "tsv", "jsonl" (or "json"),
 * "vpdq", "vics", "ncmec", "stopncii", "threatexchange",
 * "threatexchange-csv", "tat", "icse". Returns PHM_OK, or PHM_ERR_INVALID
 * for any other name. */
int phm_hashlist_format_parse(const char *name, phm_hashlist_format *out);

/* The name of `fmt` as phm_hashlist_format_parse() takes it; "unknown"
 * out of range. Static. */
const char *phm_hashlist_format_name(phm_hashlist_format fmt);

/* What phm_hashlist_read() returns besides the errors below. */
enum {
    PHM_HASHLIST_RECORD = 1, /* an entry was read */
    PHM_HASHLIST_EOF = 0,    /* no more entries */
    /* A feed's deletion record (NCMEC <deletedImage>, a StopNCII hash
     * withdrawn, a ThreatExchange descriptor with should_delete, a TAT
     * record deleted): remove the entry (e->source, e->id); e's other fields
     * are unspecified. Returned only to a caller that set
     * phm_hashlist_options.allow_remove; for the others such a record is
     * an error of the record (PHM_ERR_CORRUPT), never an add. */
    PHM_HASHLIST_REMOVE = 2,
};

/* Bounds of the import checks (phm_hashlist_options.check_hashes): a PDQ
 * hash with fewer than PHM_HASHLIST_PDQ_MIN_BITS or more than
 * PHM_HASHLIST_PDQ_MAX_BITS of its 256 bits set is refused. PDQ thresholds
 * at the median, so a real hash sets about half of its bits: measured on
 * every image phmatch could hash here (docs/HASHLISTS.md, "Validation"),
 * real hashes set 128 +- 4 bits (random 256-bit values 128 +- 8 at one
 * standard deviation); a truncated or padded hash sets far fewer or more. */
#define PHM_HASHLIST_PDQ_MIN_BITS 96
#define PHM_HASHLIST_PDQ_MAX_BITS 160

/* Largest record of a JSON document format (vics, stopncii,
 * threatexchange, tat): one element of its array, in bytes. A longer one
 * is an error of that record and reading goes on after it. */
#define PHM_HASHLIST_RECORD_MAX ((size_t)1 << 20)
/* Deepest nesting of arrays and objects in a JSON or XML document. */
#define PHM_HASHLIST_DEPTH_MAX 64

typedef struct phm_hashlist_options {
    /* Given to an entry whose list has no source, or an empty one
     * (`--source`). NULL is "". At most PHM_HASHLIST_SOURCE_MAX bytes. */
    const char *source;
    /* Likewise for the category, PHM_HASHLIST_CATEGORY_MAX bytes. */
    const char *category;
    /* The id of a vPDQ file's video. NULL: the base name of the reader's
     * `name` without a trailing ".txt" or ".vpdq" (as `phmatch hash
     * --output-dir` names them). At most PHM_HASHLIST_ID_MAX bytes. */
    const char *video_id;
    /* A record of another signal type (hma "video_md5 ...", a csv/jsonl
     * signal_type other than pdq): nonzero skips it, with one warning per
     * list, and counts it (phm_hashlist_reader_skipped()); zero makes it
     * an error of the record. */
    int skip_other_signals;
    /* Nonzero accepts videos (jsonl "vpdq", vPDQ files); zero makes such a
     * record an error (a video is an entry to store, not a query). */
    int allow_video;
    /* Called with each warning, "NAME:LINE: ..." (unknown columns or keys,
     * skipped signal types), at most a few per list. NULL drops them. */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
    /* Nonzero: deletion records are returned as PHM_HASHLIST_REMOVE; zero:
     * they are errors of their record. */
    int allow_remove;
    /* Nonzero: the import checks (docs/HASHLISTS.md, "Validation"): a PDQ
     * hash all zero, all one, or with a number of set bits outside
     * PHM_HASHLIST_PDQ_MIN_BITS..PHM_HASHLIST_PDQ_MAX_BITS, and a digest all
     * zero or all one, make the record an error (PHM_ERR_CORRUPT). Zero:
     * any 64 hex digits are a hash (lookups). */
    int check_hashes;
    /* 1..100: a record whose quality is known and below this is an error
     * of the record; 0: no minimum. */
    int min_quality;
    /* Nonzero: when the input is a regular file or memory, a thread of the
     * reader's own parses the list ahead of phm_hashlist_read(), which
     * then hands over records already read (bulk imports: parsing and
     * adding run side by side). Everything read is the same, in the same
     * order: records, errors and their messages, warnings (the callback
     * is still called from the thread calling phm_hashlist_read(), before
     * the record they concern is returned), phm_hashlist_reader_line() and
     * the others. Costs one thread and 4 batches of at most 2,048 results
     * and 512 KiB each (a larger record takes a batch alone, as large as
     * it needs) until phm_hashlist_reader_close(), which stops and joins
     * the thread. From
     * a pipe or terminal, or if no thread can be made, the caller's thread
     * reads as without it. Zero: no thread. */
    int read_ahead;
} phm_hashlist_options;

typedef struct phm_hashlist_reader phm_hashlist_reader;

/* Opens a reader of `fp` (read from its current position, never closed by
 * the reader) in format `fmt`, or with PHM_HASHLIST_AUTO the format found
 * from the first line that is not blank or a '#' comment
 * (docs/HASHLISTS.md, "Detection"). `name` names the list in messages
 * (copied). `opt` may be NULL (all defaults); its strings are copied.
 * Nothing is read until the first phm_hashlist_read().
 * Returns PHM_OK, PHM_ERR_NOMEM, or PHM_ERR_INVALID (a NULL argument, a
 * format out of range, an option over its limit), with a message. */
int phm_hashlist_reader_open(phm_hashlist_reader **out, FILE *fp,
                             const char *name, phm_hashlist_format fmt,
                             const phm_hashlist_options *opt, char *err,
                             size_t errlen);

/* As phm_hashlist_reader_open(), reading data[0..len) instead of a FILE
 * (a request body). The bytes are not copied: they must stay unchanged
 * until the reader is closed. */
int phm_hashlist_reader_open_mem(phm_hashlist_reader **out, const void *data,
                                 size_t len, const char *name,
                                 phm_hashlist_format fmt,
                                 const phm_hashlist_options *opt, char *err,
                                 size_t errlen);

/* Frees a reader. Accepts NULL. Does not close its FILE. */
void phm_hashlist_reader_close(phm_hashlist_reader *r);

/* Reads the next entry into *e (every field set; see the ownership rules
 * above).
 * Returns PHM_HASHLIST_RECORD; PHM_HASHLIST_EOF; or an error with
 * "NAME:LINE: message" in `err`:
 *   PHM_ERR_CORRUPT      this record is malformed; the reader has moved
 *                        past it and the next call reads the next one
 *                        (a vPDQ file is one record: its first bad line
 *                        makes the whole file one bad record);
 *   PHM_ERR_UNSUPPORTED  the list cannot be read on: its format is not
 *                        recognised, or its csv/tsv header is unusable;
 *   PHM_ERR_UNREADABLE   the stream failed (ferror);
 *   PHM_ERR_NOMEM        out of memory;
 *   PHM_ERR_INVALID      a NULL argument.
 * All but PHM_ERR_CORRUPT are sticky: every later call returns them
 * again, with the same message. On an error *e is unspecified.
 *
 * An entry has a PDQ hash, or (csv, tsv, jsonl) at least one digest, or
 * (jsonl, vpdq) a video's frames. Defaults: an empty or missing id becomes
 * the entry's line number in decimal ("7"); an empty or missing source or
 * category the option's. A csv record spanning lines has the number of
 * its first; a vPDQ file the number of its first line. */
int phm_hashlist_read(phm_hashlist_reader *r, phm_entry *e, char *err,
                      size_t errlen);

/* The format being read: the one given, or the one detected
 * (PHM_HASHLIST_AUTO until the first phm_hashlist_read()). */
phm_hashlist_format phm_hashlist_reader_format(const phm_hashlist_reader *r);

/* The line number (from 1) where the last entry or error began; for the
 * JSON and XML document formats (vics, ncmec, stopncii, threatexchange,
 * tat) the number of the record (from 1: the first element of the
 * document's array, the first <image> or <deletedImage>). */
uint64_t phm_hashlist_reader_line(const phm_hashlist_reader *r);

/* Where the last entry or error began, as messages name it: "NAME:LINE",
 * or "NAME: record N" for the document formats, into out (truncated to
 * outlen, NUL-terminated). Returns out. */
const char *phm_hashlist_reader_where(const phm_hashlist_reader *r, char *out, size_t outlen);

/* How many records of other signal types were skipped so far. */
uint64_t phm_hashlist_reader_skipped(const phm_hashlist_reader *r);

/* Writes the csv or tsv header line, naming every column in the order
 * phm_hashlist_write() writes them:
 *     hash quality source id category note added md5 sha1 sha256
 * Writes nothing for the other formats. Returns PHM_OK,
 * PHM_ERR_UNREADABLE (the stream failed) or PHM_ERR_INVALID (fmt out of
 * range, PHM_HASHLIST_AUTO, or a format phm_hashlist_write() does not
 * write: PHM_HASHLIST_VICS starts with phm_hashlist_writer_new()). */
int phm_hashlist_write_header(FILE *fp, phm_hashlist_format fmt);

/* Writes entry *e as one record, LF-terminated (a csv record may span
 * lines when a quoted field holds a line break; a vpdq record is the
 * video's frame lines, a whole vPDQ file). What each format carries:
 *     pdq    PDQ hash, quality, id (as the name)
 *     hex    PDQ hash
 *     hma    PDQ hash
 *     csv, tsv   every field but a video's frames
 *     jsonl  every field
 *     vpdq   a video's frames only
 * Reading what was written gives back the same values for the fields the
 * format carries (the reader's defaults fill the others). NULL category
 * and note are "". Returns PHM_OK; PHM_ERR_UNREADABLE (the stream
 * failed); PHM_ERR_INVALID (NULL argument, format out of range); or
 * PHM_ERR_UNSUPPORTED with the reason in `err` (may be NULL) when the
 * entry holds what the format cannot carry (a line break in a pdq name,
 * text that is not UTF-8 in jsonl, no PDQ hash for pdq/hex/hma, a video
 * outside jsonl/vpdq, anything but a video in vpdq) or a field out of its
 * range (no signal, quality not -1..100, a time outside
 * 0..PHM_HASHLIST_TIME_MAX, a string longer than its limit): then nothing
 * was written. PHM_HASHLIST_VICS needs a phm_hashlist_writer (below):
 * here it is PHM_ERR_INVALID, as are the formats that are read only. */
int phm_hashlist_write(FILE *fp, phm_hashlist_format fmt, const phm_entry *e,
                       char *err, size_t errlen);

/* ---- Whole lists, record by record (the VICS export) ----
 *
 * A VICS hash set (PHM_HASHLIST_VICS, docs/HASHLISTS.md "vics") is one JSON
 * document, {"@odata.context": PHM_VICS_MEDIA_CONTEXT, "value": [Media,
 * ...]}, so its records need separators, a running number and a closing
 * bracket that phm_hashlist_write() cannot give: write it with a
 * phm_hashlist_writer, which streams it record by record (nothing is
 * kept in memory but the current record). The writer takes every other
 * format too (header, phm_hashlist_write() per record, nothing at the end),
 * so an export can use it for all.
 *
 *     phm_hashlist_writer *w;
 *     if (phm_hashlist_writer_new(&w, stdout, PHM_HASHLIST_VICS, err, sizeof err)) ...
 *     ...for each entry: rc = phm_hashlist_writer_write(w, e, err, sizeof err);
 *        (PHM_ERR_UNSUPPORTED: this entry was not written, the list goes on)
 *     rc = phm_hashlist_writer_finish(w);   // "]}" and a newline for VICS
 *     phm_hashlist_writer_free(w);
 *
 * A VICS Media record holds: MediaID (the entry's id when it is a decimal
 * integer 0..2^53-1 written without leading zeros, else the record's number
 * in the list, from 1), Category (the category when it is a decimal
 * integer 0..2147483647, else absent), MD5 and SHA1 (upper-case hex, when
 * the entry has them), PhotoDNA (e->photodna unchanged, when set),
 * AlternativeHashes ([{"HashName":"PDQ","HashValue":hex}] for the PDQ hash,
 * "SHA256" for a SHA-256, then the items of the publisher's own
 * AlternativeHashes in e->attrs other than these), the keys of e->attrs
 * (a JSON object's text) that are not one of those above, and
 * "@phmatch.entry" (an OData instance annotation: source, id, category,
 * note, quality, added), which gives every field back. Text must be UTF-8
 * (as jsonl); attrs must be a JSON object without duplicate keys, else the
 * entry is refused (PHM_ERR_UNSUPPORTED). Videos cannot be written.
 *
 * Threading: a writer belongs to one thread at a time. */
#define PHM_VICS_MEDIA_CONTEXT \
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"
#define PHM_VICS_CASES_CONTEXT \
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases"

typedef struct phm_hashlist_writer phm_hashlist_writer;

/* Makes a writer of format `fmt` (any but PHM_HASHLIST_AUTO) on `fp` (not
 * closed by the writer) and writes the list's start: the csv/tsv header
 * line, the VICS document's opening, nothing for the others. Returns
 * PHM_OK (*out to free with phm_hashlist_writer_free), PHM_ERR_INVALID (a
 * NULL argument, a format out of range or that cannot be written),
 * PHM_ERR_NOMEM or PHM_ERR_UNREADABLE (the stream failed); *out is NULL
 * on error. */
int phm_hashlist_writer_new(phm_hashlist_writer **out, FILE *fp,
                            phm_hashlist_format fmt, char *err, size_t errlen);

/* Writes entry *e as the list's next record. Returns what
 * phm_hashlist_write() returns, with the same meaning: PHM_ERR_UNSUPPORTED
 * (reason in `err`) wrote nothing and the list can go on;
 * PHM_ERR_INVALID after phm_hashlist_writer_finish(). */
int phm_hashlist_writer_write(phm_hashlist_writer *w, const phm_entry *e,
                              char *err, size_t errlen);

/* Writes the list's end ("\n]}\n" for VICS, nothing for the others); the
 * writer then takes no more records. Returns PHM_OK, PHM_ERR_UNREADABLE
 * (the stream failed, now or before) or PHM_ERR_INVALID (NULL, or
 * finished already). Does not flush `fp`. */
int phm_hashlist_writer_finish(phm_hashlist_writer *w);

/* Records written so far. */
uint64_t phm_hashlist_writer_count(const phm_hashlist_writer *w);

/* Frees the writer (accepts NULL); writes nothing, so a list not finished
 * stays unfinished. */
void phm_hashlist_writer_free(phm_hashlist_writer *w);

/* Parses exactly `len` bytes as a time: decimal unix seconds
 * (0..PHM_HASHLIST_TIME_MAX) or ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" (UTC,
 * years 1970..9999). Returns PHM_OK or PHM_ERR_INVALID. */
int phm_hashlist_parse_time(const char *s, size_t len, int64_t *out);

/* Writes `t` (0..PHM_HASHLIST_TIME_MAX) as "YYYY-MM-DDTHH:MM:SSZ" and a
 * NUL. Returns PHM_OK, or PHM_ERR_INVALID if t is out of range (out is
 * then ""). */
int phm_hashlist_format_time(int64_t t, char out[21]);

/* Writes data[0..len) as one tsv field: backslash, tab, LF and CR as
 * \\ \t \n \r, other bytes as they are (the hash lists' and phmatch's
 * tsv). Returns PHM_OK or PHM_ERR_UNREADABLE. */
int phm_tsv_fwrite(FILE *fp, const void *data, size_t len);

/* Writes data[0..len) as the name of a pdq line ("hash,quality,NAME", the
 * reference hasher's format): backslash as \\, tab, LF and CR as \t \n
 * \r, the other control bytes (0x01..0x1f, 0x7f) as \xHH with lower-case
 * hex digits; every other byte (commas, quotes, bytes that are not UTF-8)
 * as it is. So no name can end the line or forge a record; the hash-list
 * reader undoes exactly these escapes and refuses any other backslash
 * (docs/HASHLISTS.md). Returns PHM_OK or PHM_ERR_UNREADABLE. */
int phm_pdq_name_fwrite(FILE *fp, const void *data, size_t len);

/* Writes data[0..len) as one csv field (RFC 4180): in double quotes, with
 * quotes doubled, if it holds a comma, quote, CR or LF; else as it is.
 * Returns PHM_OK or PHM_ERR_UNREADABLE. */
int phm_csv_fwrite(FILE *fp, const void *data, size_t len);
#if defined(__GNUC__) && !defined(PHM_NO_VISIBILITY_PRAGMA)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* PHMATCH_H */
