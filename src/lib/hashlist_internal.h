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
 *   hashlist_vics_write.c the VICS hash-set writer and phm_hashlist_writer
 *   hashlist_doc.c        the JSON document formats: a bounded scanner
 *                         that finds each record of the document's array,
 *                         parsed by jansson; field helpers they share
 *   hashlist_vics.c, hashlist_stopncii.c, hashlist_threatexchange.c,
 *   hashlist_tat.c        one JSON record of each into a phm_entry
 *   hashlist_icse.c       Interpol ICSE CSV (and the ThreatExchange CSV
 *                         download, in hashlist_threatexchange.c): headers
 *                         and rows, split by the csv splitter
 *   hashlist_ncmec.c      NCMEC XML, libxml2's streaming reader
 *   hashlist_check.c      the import checks (check_hashes, min_quality)
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

/* The JSON scanner's state (hashlist_doc.c): one frame per open array or
 * object. */
#define HL_KEY_MAX 24
typedef struct hl_jframe {
    unsigned char arr;        /* an array (else an object) */
    unsigned char expect_key; /* object: the next string is a key */
    unsigned char rec_arr;    /* array: its elements are records */
    unsigned char want_val;   /* array: a new element may start */
    unsigned char klen;       /* the last key's length, HL_KEY_MAX+1: longer */
    char key[HL_KEY_MAX];     /* the last key of an object */
    char name[HL_KEY_MAX];    /* the key this container is the value of */
    unsigned char nlen;
} hl_jframe;

typedef struct hl_jscan {
    hl_jframe st[PHM_HASHLIST_DEPTH_MAX];
    int depth;
    int in_str, esc, str_key, str_ctx;
    int capturing, cap_depth, cap_over;
    size_t cap_len;
    int cases;      /* vics: the document is a case file (#Cases) */
    int saw_array;  /* a record array was found */
    int closed;     /* the top-level value ended */
    int ended;      /* nothing more to return */
    char ctx[128];  /* the odata context being read */
    size_t ctxlen;
} hl_jscan;

/* Deletion records, from the format readers to phm_hashlist_read(). */
enum { HL_REMOVED = 2, HL_DOC_EOF = 3 };

/* hl_next_line(): an overlong line, skipped. */
enum { HL_LINE_TOO_LONG = -100 };

/* Bytes kept between fields one thread writes often and fields another
 * reads often, whatever the allocation's alignment: a cache line, so
 * that they never share one (with a read-ahead thread, the caller's
 * every read missed on a line that the thread had just written). */
#define HL_APART 64

struct phm_hashlist_reader {
    /* the caller's, read at every phm_hashlist_read() */
    int ahead_tried; /* read_ahead: hl_ahead_start() was called */
    struct hl_ahead *ahead; /* read_ahead: its thread reads the rest */
    char apart[HL_APART];   /* from here on, the read-ahead thread's */
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

    /* a jsonl line longer than PHM_HASHLIST_LINE_MAX; a document's record */
    char *big;
    size_t big_cap;

    /* the document formats: records are numbered, not lines */
    int by_record;
    char sep;           /* the csv separator: ',' or ';' (icse) */
    hl_jscan *js;       /* JSON documents */
    void *xml;          /* NCMEC: the xmlTextReader */
    void *xin;          /* NCMEC: its input buffer */
    void *vcase;        /* vics: a case read whole (json_t *), its Media */
    size_t vcase_next;
    int warned_fields;
    char photodna[PHM_INDEX_MAX_PHOTODNA + 1];
    char attrs[PHM_INDEX_MAX_ATTRS + 1];

    /* input: bytes buf[start, end) not yet consumed */
    size_t start, end;
    unsigned char buf[HL_BUF_CAP];
};

/* The reader's answers about the last record read (format, line,
 * skipped), as they stood when it was read. */
typedef struct hl_where {
    phm_hashlist_format fmt;
    int by_record;
    uint64_t rec_line, skipped;
} hl_where;

/* phm_hashlist_read() without the read-ahead: the next record, read here. */
int hl_read_one(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen);

/* Read-ahead (hashlist_ahead.c; phm_hashlist_options.read_ahead): a thread
 * runs hl_read_one() ahead of the caller, handing records over in batches
 * of bounded memory. hl_ahead_start() starts it when the input is a
 * regular file or memory (a read from a pipe or terminal could block the
 * close) and a thread can be made; otherwise r->ahead stays NULL and the
 * caller's thread reads. hl_ahead_read() is phm_hashlist_read() through
 * it: the same results, messages and warnings (given to the callback on
 * the caller's thread), in the same order. hl_ahead_close() stops and
 * joins the thread (accepts a reader without one). */
void hl_ahead_start(phm_hashlist_reader *r);
int hl_ahead_read(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen);
const hl_where *hl_ahead_state(const phm_hashlist_reader *r);
void hl_ahead_close(phm_hashlist_reader *r);

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

/* The document formats. hl_doc_read(): the next record of a JSON
 * document into e: 0 an entry, HL_REMOVED, 1 (skipped: another signal
 * type), HL_DOC_EOF at the end, or an error. hl_ncmec_read() likewise. */
int hl_doc_read(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen);
void hl_doc_close(phm_hashlist_reader *r);
int hl_ncmec_read(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen);
void hl_ncmec_close(phm_hashlist_reader *r);
/* The format of a document starting with '{' from its top-level keys in
 * p[0..n), or PHM_HASHLIST_JSONL. */
phm_hashlist_format hl_doc_detect(const unsigned char *p, size_t n);
/* Up to n bytes of input into dst: first what the line buffer holds. 0 at
 * the end; -1 on a read error. */
long hl_raw_read(phm_hashlist_reader *r, unsigned char *dst, size_t n);

/* Record mappers: 0 an entry, HL_REMOVED, 1 skipped, or an error. */
struct json_t;
int hl_vics_media(phm_hashlist_reader *r, struct json_t *o, phm_entry *e, char *err,
                  size_t errlen);
int hl_stopncii_record(phm_hashlist_reader *r, struct json_t *o, phm_entry *e, char *err,
                       size_t errlen);
int hl_te_record(phm_hashlist_reader *r, struct json_t *o, phm_entry *e, char *err,
                 size_t errlen);
int hl_tat_record(phm_hashlist_reader *r, struct json_t *o, phm_entry *e, char *err,
                  size_t errlen);
/* The csv-based formats: header and rows (fields in r->fbuf). */
int hl_icse_header(phm_hashlist_reader *r, char *err, size_t errlen);
int hl_icse_row(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen);
int hl_tecsv_header(phm_hashlist_reader *r, char *err, size_t errlen);
int hl_tecsv_row(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen);

/* Field helpers of the feed formats (hashlist_doc.c). */
/* A hash of the named type ("pdq", "md5", "sha1", "sha256", compared
 * without case) into e: 0, 1 (another type: skipped, counted and warned
 * once, or with skip_other_signals unset an error), or an error. */
int hl_set_typed_hash(phm_hashlist_reader *r, phm_entry *e, const char *type, const char *s,
                      size_t len, char *err, size_t errlen);
/* A signal type the format does not map: 1 (skipped, as
 * hl_check_signal_type()) or an error; never 0. */
int hl_other_signal(phm_hashlist_reader *r, const char *type, size_t len, char *err,
                    size_t errlen);
int hl_set_photodna(phm_hashlist_reader *r, phm_entry *e, const char *s, size_t len,
                    char *err, size_t errlen);
/* The object `attrs` (not freed) as e->attrs; nothing if it is empty. */
int hl_set_attrs(phm_hashlist_reader *r, phm_entry *e, struct json_t *attrs, char *err,
                 size_t errlen);
/* A JSON string or integer into r->id. */
int hl_json_id(phm_hashlist_reader *r, struct json_t *v, const char *what, char *err,
               size_t errlen);
/* A string field of o, or NULL if absent or null; an error if another type. */
int hl_json_opt_str(phm_hashlist_reader *r, struct json_t *o, const char *key, const char **s,
                    size_t *n, char *err, size_t errlen);
/* A time as feeds write it: unix seconds (or milliseconds, past year 5138),
 * or ISO 8601 with optional fraction and Z / +HH:MM / +HHMM offset.
 * 0 or -1. */
int hl_feed_time(const char *s, size_t len, int64_t *out);
int hl_json_time(phm_hashlist_reader *r, struct json_t *v, const char *what, phm_entry *e,
                 char *err, size_t errlen);
/* true/false, or the strings "true"/"false"/"yes"/"no"/"1"/"0" (any case):
 * 1 or 0, -1 for anything else. */
int hl_bool_text(const char *s, size_t len);
/* Warns once per list of a field the format's mapping does not use. */
int hl_unknown_field(phm_hashlist_reader *r, const char *key);

/* The import checks of an entry read (hashlist_check.c): 0 or an error of
 * the record. */
int hl_check_entry(phm_hashlist_reader *r, const phm_entry *e, char *err, size_t errlen);

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
 * parsed), without a separator or newline (hashlist_vics_write.c). */
int hl_vics_write_media(FILE *fp, const phm_entry *e, uint64_t seq, char *err,
                        size_t errlen);

#endif /* PHM_HASHLIST_INTERNAL_H */
