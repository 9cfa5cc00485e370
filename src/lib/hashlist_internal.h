/*
 * hashlist_internal.h - what the files of the hash-list reader share
 * (phm_hashlist_*, include/phmatch.h "Hash lists"; docs/HASHLISTS.md):
 *
 *   hashlist.c            the reader: input (FILE or memory), lines,
 *                         detection, the line formats, field values, vPDQ
 *                         files, times, format names
 *   hashlist_delimited.c  csv and tsv: splitting, the header, rows; the
 *                         csv/tsv field writers
 *   hashlist_json.c       the jsonl object grammar
 *   hashlist_write.c      the writers
 *   hashlist_vics.c       the VICS hash-set writer and phm_hashlist_writer
 */
#ifndef PHM_HASHLIST_INTERNAL_H
#define PHM_HASHLIST_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "phmatch.h"

/* Whatever an index holds must fit a list, or export would lose it. */
#if PHM_INDEX_MAX_SOURCE > PHM_HASHLIST_SOURCE_MAX || PHM_INDEX_MAX_ID > PHM_HASHLIST_ID_MAX || \
    PHM_INDEX_MAX_CATEGORY > PHM_HASHLIST_CATEGORY_MAX || PHM_INDEX_MAX_NOTE > PHM_HASHLIST_NOTE_MAX
#error "a hash-list field limit is below the index's"
#endif

/* The fields of a record: csv/tsv columns and jsonl keys. */
typedef enum hl_col {
    COL_UNKNOWN = 0,
    COL_SIGNAL_TYPE,
    COL_HASH,
    COL_QUALITY,
    COL_SOURCE,
    COL_ID,
    COL_NAME, /* the id when there is no id column */
    COL_CATEGORY,
    COL_NOTE,
    COL_ADDED,
    COL_MD5,
    COL_SHA1,
    COL_SHA256,
    COL_KINDS
} hl_col;

/* The exact digests: field, signal bit, size in bytes, name. */
typedef struct hl_digest {
    hl_col kind;
    unsigned sig;
    size_t size;
    const char *name;
} hl_digest;
#define HL_NDIGESTS 3
extern const hl_digest hl_digests[HL_NDIGESTS];

/* The bytes of digest `which` (index into hl_digests) of e. */
uint8_t *hl_digest_bytes(phm_entry *e, size_t which);

/* The field named s[0..len), ignoring ASCII case when `nocase`. */
hl_col hl_column_kind(const char *s, size_t len, int nocase);
/* Nonzero if s[0..len) equals `lit`, ignoring ASCII case when `nocase`. */
int hl_same_name(const char *s, size_t len, const char *lit, int nocase);

/* Trims spaces and tabs at both ends. */
void hl_trim(const char **s, size_t *len);
int hl_is_space(int c);

/* s[0..len) as shown in messages: printable ASCII kept, other bytes '?',
 * cut to HL_SHOWN_MAX bytes with "...". */
#define HL_SHOWN_MAX 40
typedef char hl_shown_buf[HL_SHOWN_MAX + 4];
const char *hl_shown(char *out, size_t outlen, const char *s, size_t len, size_t max);
#define HL_SHOW(buf, s, len) hl_shown((buf), sizeof(buf), (s), (len), HL_SHOWN_MAX)

#define HL_NAME_SHOWN_MAX 200
#define HL_BUF_CAP (2 * (size_t)PHM_HASHLIST_LINE_MAX + 2)

/* hl_next_line(): an overlong line, skipped. */
enum { HL_LINE_TOO_LONG = -100 };

struct phm_hashlist_reader {
    FILE *fp;               /* input: a stream ... */
    const unsigned char *mem; /* ... or memory */
    size_t mem_len, mem_pos;
    phm_hashlist_format fmt;
    int fatal;       /* sticky error status; 0 while readable */
    int started;     /* format known, csv/tsv header read */
    int eof;         /* the input is at its end */
    int discarding;  /* inside an overlong line */
    int first_line;  /* the next line is the list's first (BOM check) */
    int pending;     /* hl_next_line() hands out pend_line again */
    int video_done;  /* vpdq: the file's one record was read */
    const char *pend_line;
    size_t pend_len;
    uint64_t lineno;   /* physical lines consumed */
    uint64_t rec_line; /* first line of the current record */
    uint64_t skipped;
    int warned_signal, warned_keys;
    phm_hashlist_options opt;
    char def_source[PHM_HASHLIST_SOURCE_MAX + 1];
    char def_category[PHM_HASHLIST_CATEGORY_MAX + 1];
    char video_id[PHM_HASHLIST_ID_MAX + 1];
    char name[HL_NAME_SHOWN_MAX + 4];
    char fatal_msg[PHM_HASHLIST_ERRMSG_MAX];

    /* the text of the entry being read; phm_entry points here */
    char source[PHM_HASHLIST_SOURCE_MAX + 1];
    char id[PHM_HASHLIST_ID_MAX + 1];
    char category[PHM_HASHLIST_CATEGORY_MAX + 1];
    char note[PHM_HASHLIST_NOTE_MAX + 1];
    /* a video's frames (jsonl "vpdq", vPDQ files), and one line's */
    phm_vpdq video;
    phm_vpdq one;

    /* csv/tsv: the header, and the fields of the current record, decoded
     * into fbuf. */
    size_t ncols;
    unsigned char col[PHM_HASHLIST_MAX_COLUMNS]; /* hl_col of each column */
    int colidx[COL_KINDS];                       /* column of each kind, or -1 */
    size_t nfields;
    size_t foff[PHM_HASHLIST_MAX_COLUMNS], flen[PHM_HASHLIST_MAX_COLUMNS];
    char fbuf[PHM_HASHLIST_LINE_MAX];

    /* a jsonl line longer than PHM_HASHLIST_LINE_MAX */
    char *big;
    size_t big_cap;

    /* input: bytes buf[start, end) not yet consumed */
    size_t start, end;
    unsigned char buf[HL_BUF_CAP];
};

/* "NAME:LINE: message" of the current record into err; a status other
 * than PHM_ERR_CORRUPT is remembered (sticky). Returns `status`. */
int hl_fail(phm_hashlist_reader *r, char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define HL_LINE_ERR(...) hl_fail(r, err, errlen, PHM_ERR_CORRUPT, __VA_ARGS__)

/* A warning "NAME:LINE: ..." to the caller's callback. */
void hl_warn(phm_hashlist_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The stream failed: a sticky error at the line that could not be read. */
int hl_read_failed(phm_hashlist_reader *r, char *err, size_t errlen);

/* The next physical line, without its '\n' (a '\r' before it is kept),
 * valid until the next call. Returns 1; 0 at the end; HL_LINE_TOO_LONG
 * (skipped through its newline; r->lineno is its number);
 * PHM_ERR_UNREADABLE or PHM_ERR_NOMEM. */
int hl_next_line(phm_hashlist_reader *r, const char **line, size_t *len);

void hl_strip_cr(size_t *len, const char *line);

/* Field values into e (or the reader's text buffers). 0, or an error. */
int hl_set_hash(phm_hashlist_reader *r, phm_entry *e, const char *s, size_t len, char *err,
                size_t errlen);
int hl_set_quality(phm_hashlist_reader *r, phm_entry *e, const char *s, size_t len, char *err,
                   size_t errlen);
int hl_set_added(phm_hashlist_reader *r, phm_entry *e, const char *s, size_t len, char *err,
                 size_t errlen);
int hl_set_digest(phm_hashlist_reader *r, phm_entry *e, size_t which, const char *s, size_t len,
                  char *err, size_t errlen);
int hl_set_string(phm_hashlist_reader *r, char *dst, size_t max, const char *what, const char *s,
                  size_t len, char *err, size_t errlen);
/* A signal type: 0 pdq (or empty), 1 another one to skip, or an error. */
int hl_check_signal_type(phm_hashlist_reader *r, const char *s, size_t len, char *err,
                         size_t errlen);
/* The video's frames are in r->video: checks and sets e's. 0 or an error. */
int hl_set_video(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen);

#define HL_NO_HASH_MSG "missing hash: no pdq, md5, sha1 or sha256 value"

/* csv/tsv (hashlist_delimited.c) */
int hl_split_fields(phm_hashlist_reader *r, const char *line, size_t len, char *err,
                    size_t errlen);
int hl_read_header(phm_hashlist_reader *r, const char *line, size_t len, char *err,
                   size_t errlen);
int hl_fields_to_entry(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen);

/* jsonl (hashlist_json.c): one line. 0, 1 (another signal type, skipped)
 * or an error. */
int hl_parse_jsonl(phm_hashlist_reader *r, const char *line, size_t len, phm_entry *e, char *err,
                   size_t errlen);

/* The writers' refusal: the message in err (may be NULL), returns
 * PHM_ERR_UNSUPPORTED. */
int unrepresentable(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* phm_hashlist_write() with the record's number in its list (from 1; a
 * VICS MediaID when the id is not one). */
int hl_write_record(FILE *fp, phm_hashlist_format fmt, const phm_entry *e, uint64_t seq,
                    char *err, size_t errlen);
/* One VICS Media object of e, checked before anything is written (attrs
 * parsed), without a separator or newline (hashlist_vics.c). */
int hl_vics_write_media(FILE *fp, const phm_entry *e, uint64_t seq, char *err,
                        size_t errlen);

#endif /* PHM_HASHLIST_INTERNAL_H */
