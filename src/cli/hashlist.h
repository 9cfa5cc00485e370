/*
 * hashlist.h - lists of known hashes as text: reading and writing the
 * formats `phmatch index import` takes and `export` writes.
 *
 * Formats (docs/HASHLISTS.md describes each one exactly):
 *
 *     pdq    hash,quality,name         the reference CLI's lines
 *     hex    hash                      one 64-digit hex hash per line
 *     hma    pdq hash                  HMA / python-threatexchange lines
 *     csv    header line, then rows    RFC 4180 quoting
 *     tsv    header line, then rows    \t \n \r \\ escapes
 *     jsonl  {"hash": ..., ...}        one JSON object per line
 *
 * Usage:
 *
 *     hashlist_reader *rd; hashlist_record rec; char err[HASHLIST_ERRMSG_MAX];
 *     hashlist_options opt = { .source = "ncmec" };
 *     if (hashlist_reader_open(&rd, fp, "list.csv", HASHLIST_AUTO, &opt,
 *                              err, sizeof err) != 0) ...out of memory...
 *     int rc;
 *     while ((rc = hashlist_read(rd, &rec, err, sizeof err)) != 0) {
 *         if (rc == HASHLIST_RECORD) { ...use rec... continue; }
 *         fprintf(stderr, "%s\n", err);        // "list.csv:7: ..."
 *         if (rc != HASHLIST_ERR_LINE) break;  // the file cannot be read on
 *         ...stop (one transaction) or go on (--skip-bad)...
 *     }
 *     hashlist_reader_close(rd);
 *
 * Threading: no global mutable state. A reader belongs to one thread at a
 * time; the writers keep no state.
 *
 * Memory: a reader allocates its buffers (about 200 KiB) once, when opened;
 * reading a pdq, hex, hma, csv or tsv record allocates nothing. A jsonl
 * record is parsed by jansson, which allocates the object and frees it
 * before hashlist_read() returns. A jsonl line longer than
 * HASHLIST_LINE_MAX (a video's) and a video's frames are held in memory
 * the reader keeps for the next one.
 *
 * Videos: a jsonl object may carry "vpdq", an array of a video's vPDQ
 * lines ("frame,quality,hash,timestamp"), instead of a hash; only jsonl
 * can carry one (the other writers refuse such a record).
 *
 * Messages are in git's style, lowercase, without a trailing period:
 * "list.csv:7: quality '101' is out of range 0..100". Bytes of the input
 * quoted in a message are cut to a few dozen and their control and
 * non-ASCII bytes shown as '?', so a hostile list cannot forge a line on a
 * terminal. The file name is shown the same way.
 */
#ifndef PHM_HASHLIST_H
#define PHM_HASHLIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "phmatch.h"

/* Longest value of each text field, in bytes, without the terminating NUL.
 * A longer value is an error naming the field. Each is at least the
 * index's limit (PHM_INDEX_MAX_*), so whatever an index holds can be
 * exported and imported again. */
#define HASHLIST_SOURCE_MAX 255
#define HASHLIST_ID_MAX 256
#define HASHLIST_CATEGORY_MAX 255
#define HASHLIST_NOTE_MAX 1024

/* Longest line, in bytes without its newline; for csv, the longest record
 * (all its physical lines, once quotes are removed). A longer one is an
 * error, and reading resumes after the next newline. */
#define HASHLIST_LINE_MAX 65536
/* ... except a line that starts with '{' (a jsonl object, which may hold a
 * video's frames): up to this many bytes, read into memory allocated as
 * such a line arrives (a video of PHM_INDEX_MAX_VIDEO_FRAMES frames takes
 * about 90 MiB). */
#define HASHLIST_OBJECT_LINE_MAX ((size_t)128 << 20)

/* Most columns a csv or tsv header may name. */
#define HASHLIST_MAX_COLUMNS 256

/* Longest message written into an `err` buffer, NUL included. Shorter
 * buffers are accepted; messages are truncated to fit. */
#define HASHLIST_ERRMSG_MAX 512

/* Largest `added` time: 9999-12-31T23:59:59Z. */
#define HASHLIST_TIME_MAX INT64_C(253402300799)

typedef enum hashlist_format {
    HASHLIST_AUTO = 0, /* reading only: found from the first line */
    HASHLIST_PDQ,
    HASHLIST_HEX,
    HASHLIST_HMA,
    HASHLIST_CSV,
    HASHLIST_TSV,
    HASHLIST_JSONL,
} hashlist_format;

/* Parses "auto", "pdq", "hex", "hma", "csv", "tsv", "jsonl" (or "json").
 * Returns 0, or -1 for any other name. */
int hashlist_format_parse(const char *name, hashlist_format *out);

/* The name of `fmt` as hashlist_format_parse() takes it; "unknown" out of
 * range. Static. */
const char *hashlist_format_name(hashlist_format fmt);

/* Results of the readers and writers. */
enum {
    HASHLIST_RECORD = 1, /* hashlist_read(): a record was read */
    HASHLIST_EOF = 0,    /* hashlist_read(): no more records */
    HASHLIST_OK = 0,     /* writers and hashlist_reader_open(): done */
    /* This record is malformed. The reader has moved past it: the next call
     * reads the next record. */
    HASHLIST_ERR_LINE = -1,
    /* The file cannot be read on: its format is not recognised, or its
     * csv/tsv header is unusable. Every later call returns this again. */
    HASHLIST_ERR_FORMAT = -2,
    /* Reading or writing the stream failed (ferror). Sticky for readers. */
    HASHLIST_ERR_IO = -3,
    HASHLIST_ERR_NOMEM = -4, /* allocation failed. Sticky for readers. */
    /* Writers: the record holds a value this format cannot carry (a newline
     * in a pdq name, text that is not UTF-8 in jsonl, no PDQ hash for pdq, hex
     * or hma), or a field out of its range (no hash at all, quality not
     * -1..100, a time outside 0..HASHLIST_TIME_MAX, a string not terminated
     * within its limit). Nothing was written. */
    HASHLIST_ERR_UNREPRESENTABLE = -5,
    HASHLIST_ERR_INVALID = -6, /* a bad argument (a programming error) */
};

/* Which hashes a record carries (hashlist_record.has). A record read has
 * at least one. The values are those of the index's PHM_SIG_* today, but
 * map them by name. */
enum {
    HASHLIST_HAS_PDQ = 1u << 0,
    HASHLIST_HAS_MD5 = 1u << 1,
    HASHLIST_HAS_SHA1 = 1u << 2,
    HASHLIST_HAS_SHA256 = 1u << 3,
    HASHLIST_HAS_VPDQ = 1u << 4, /* a video: its frames (jsonl only) */
};

/* One entry of a hash list: a PDQ hash, exact digests, or both (forensic
 * hash sets are mostly MD5/SHA-1 only; csv, tsv and jsonl can carry such
 * records, the line formats cannot). Strings are NUL-terminated, never
 * contain a NUL byte, and are otherwise bytes as read (UTF-8 is expected
 * but only jsonl requires it). */
typedef struct hashlist_record {
    unsigned has;    /* HASHLIST_HAS_* bits: which hashes below are set */
    phm_pdq pdq;     /* zero without HASHLIST_HAS_PDQ */
    uint8_t md5[16];
    uint8_t sha1[20];
    uint8_t sha256[32];
    int quality;     /* 0..100, or -1 when the list does not say */
    int64_t added;   /* unix seconds, 0..HASHLIST_TIME_MAX; 0 is unknown */
    char source[HASHLIST_SOURCE_MAX + 1];     /* the list, e.g. "ncmec" */
    char id[HASHLIST_ID_MAX + 1];             /* the id within the list */
    char category[HASHLIST_CATEGORY_MAX + 1]; /* category or label */
    char note[HASHLIST_NOTE_MAX + 1];
    /* HASHLIST_HAS_VPDQ: the video's frames, in the order of its vPDQ
     * lines. Read: owned by the reader, valid until the next read. Written:
     * the caller's. NULL otherwise. A video has no PDQ hash of its own. */
    const phm_vpdq *video;
} hashlist_record;

/* Sets every field to "unknown": no hashes (zero bytes), quality -1,
 * time 0, empty strings. */
void hashlist_record_init(hashlist_record *rec);

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

typedef struct hashlist_options {
    /* Given to a record whose list has no source, or an empty one
     * (`--source`). NULL is "". At most HASHLIST_SOURCE_MAX bytes. */
    const char *source;
    /* Likewise for the category (`--category`), HASHLIST_CATEGORY_MAX. */
    const char *category;
    /* A line of another signal type (hma "video_md5 ...", a csv/jsonl
     * signal_type other than pdq): nonzero skips it, with one warning per
     * file, and counts it (hashlist_reader_skipped()); zero makes it a
     * HASHLIST_ERR_LINE error. */
    int skip_other_signals;
    /* Nonzero accepts videos (jsonl "vpdq"); zero makes such a record a
     * HASHLIST_ERR_LINE error (they are entries to store, not hashes to
     * look up). */
    int allow_video;
    /* Called with each warning, "FILE:LINE: ..." (unknown columns or keys,
     * skipped signal types), at most a few per file. NULL drops them. */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
} hashlist_options;

typedef struct hashlist_reader hashlist_reader;

/* Opens a reader of `fp` (read from its current position; not closed by
 * the reader) in format `fmt`, or with HASHLIST_AUTO the format found from
 * the first line that is not blank or a '#' comment (see
 * docs/HASHLISTS.md). `name` names the file in messages (copied). `opt`
 * may be NULL (all defaults); its strings are copied. Nothing is read
 * until the first hashlist_read().
 * Returns HASHLIST_OK, HASHLIST_ERR_NOMEM, or HASHLIST_ERR_INVALID (NULL
 * argument, or a source/category over its limit), with a message in
 * `err`. */
int hashlist_reader_open(hashlist_reader **out, FILE *fp, const char *name,
                         hashlist_format fmt, const hashlist_options *opt,
                         char *err, size_t errlen);

/* Frees a reader. Accepts NULL. Does not close its FILE. */
void hashlist_reader_close(hashlist_reader *r);

/* Reads the next record into `rec` (every field is set).
 * Returns HASHLIST_RECORD; HASHLIST_EOF; HASHLIST_ERR_LINE with
 * "FILE:LINE: message" in `err` (the next call goes on with the next
 * record); or a sticky HASHLIST_ERR_FORMAT, HASHLIST_ERR_IO or
 * HASHLIST_ERR_NOMEM with its message. On an error `rec` is unspecified.
 *
 * A record has a PDQ hash, or in csv, tsv and jsonl at least one digest
 * instead (an empty hash field); a record with neither is an error.
 * Defaults: an empty or missing id becomes the record's line number in
 * decimal ("7"); an empty or missing source or category becomes the
 * option's. A csv record spanning lines has the number of its first. */
int hashlist_read(hashlist_reader *r, hashlist_record *rec, char *err,
                  size_t errlen);

/* The format being read: the one given, or the one detected (HASHLIST_AUTO
 * until the first hashlist_read()). */
hashlist_format hashlist_reader_format(const hashlist_reader *r);

/* The line number (from 1) where the last record or error began. */
uint64_t hashlist_reader_line(const hashlist_reader *r);

/* How many records of other signal types were skipped so far
 * (skip_other_signals). */
uint64_t hashlist_reader_skipped(const hashlist_reader *r);

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* Writes the csv or tsv header line, naming every column in the order
 * hashlist_write() writes them:
 *     hash quality source id category note added md5 sha1 sha256
 * Writes nothing for the other formats. Returns HASHLIST_OK,
 * HASHLIST_ERR_IO (ferror) or HASHLIST_ERR_INVALID (fmt out of range or
 * HASHLIST_AUTO). */
int hashlist_write_header(FILE *fp, hashlist_format fmt);

/* Writes `rec` as one record (one line; a csv record may span lines when a
 * quoted field holds a newline), LF-terminated. What each format carries:
 *     pdq    PDQ hash, quality, id (as the name)
 *     hex    PDQ hash
 *     hma    PDQ hash
 *     csv, tsv, jsonl   every field
 * Reading what was written gives back the same values for the fields the
 * format carries (the defaults of hashlist_read() fill the others).
 * Returns HASHLIST_OK, HASHLIST_ERR_IO (ferror), HASHLIST_ERR_INVALID, or
 * HASHLIST_ERR_UNREPRESENTABLE with the field named in `err` (may be NULL),
 * in which case nothing was written. */
int hashlist_write(FILE *fp, hashlist_format fmt, const hashlist_record *rec,
                   char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Field helpers (exposed for the commands and the tests)              */
/* ------------------------------------------------------------------ */

/* Parses exactly `len` bytes as a time: decimal unix seconds
 * (0..HASHLIST_TIME_MAX) or ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" (UTC, years
 * 1970..9999). Returns 0 or -1. */
int hashlist_parse_time(const char *s, size_t len, int64_t *out);

/* Writes `t` (0..HASHLIST_TIME_MAX) as "YYYY-MM-DDTHH:MM:SSZ" and a NUL.
 * Returns 0, or -1 if t is out of range (out is then ""). */
int hashlist_format_time(int64_t t, char out[21]);

#endif /* PHM_HASHLIST_H */
