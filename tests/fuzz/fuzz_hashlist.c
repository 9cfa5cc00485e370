/*
 * fuzz_hashlist.c - libFuzzer target: libphmatch's hash-list readers and
 * writers (phm_hashlist_*, src/lib/hashlist*.c), what `phmatch index
 * import/export` and phmatchd's POST /v1/index/entries use.
 *
 * Input: the first byte chooses the format (bits 0-2: auto, pdq, hex, hma,
 * csv, tsv, jsonl, vpdq; with bit 7 set: vics, ncmec, stopncii,
 * threatexchange, threatexchange-csv, tat, icse, auto), the options (bit 3
 * skip other signal types and take deletions, bit 4 default source and
 * category, bit 6 allow videos and check hashes) and whether the reader
 * reads a FILE or memory (bit 5); the other bytes are the list.
 *
 * Invariants from include/phmatch.h "Hash lists", checked on arbitrary
 * bytes:
 *   - reading ends: every call consumes at least one line (a document: one
 *     byte) or returns EOF or a sticky error, which the next call repeats
 *     word for word;
 *   - every message and warning starts "fuzz:LINE: " (a document:
 *     "fuzz: record N: ") as phm_hashlist_reader_where() says, and holds
 *     only printable ASCII;
 *   - a deletion comes only to a reader that takes them, with an id;
 *   - photodna and attrs are what an index entry holds, and come back
 *     from jsonl;
 *   - a record is in range: at least one hash (and the PDQ hash zero when
 *     absent), quality -1..100, time 0..HASHLIST_TIME_MAX, strings
 *     NUL-terminated within their limits, a non-empty id;
 *   - read ahead (from memory): the same statuses, messages and records
 *     as the plain reader, call by call;
 *   - round trip: each record written in each format is either refused
 *     for a documented reason only (text that is not UTF-8 in jsonl, no
 *     PDQ hash for pdq/hex/hma; a pdq name escapes its line breaks) or
 *     read back, with the format detected, to the same values for every
 *     field that format carries.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"
#include "phmatch.h"

#define HASHLIST_TIME_MAX PHM_HASHLIST_TIME_MAX
#define HASHLIST_ERRMSG_MAX PHM_HASHLIST_ERRMSG_MAX

/* A copy of an entry read (the reader's memory is valid until its next
 * read); `has` holds PHM_SIG_*. */
typedef struct snap {
    unsigned has;
    phm_pdq pdq;
    uint8_t md5[16];
    uint8_t sha1[20];
    uint8_t sha256[32];
    int quality;
    int64_t added;
    char source[PHM_HASHLIST_SOURCE_MAX + 1];
    char id[PHM_HASHLIST_ID_MAX + 1];
    char category[PHM_HASHLIST_CATEGORY_MAX + 1];
    char note[PHM_HASHLIST_NOTE_MAX + 1];
    char photodna[PHM_INDEX_MAX_PHOTODNA + 1];
    char attrs[PHM_INDEX_MAX_ATTRS + 1];
    int video; /* a video: its frames are not kept */
} snap;

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    CHECK(n < cap);
    memcpy(dst, src, n + 1);
}

static int snap_read(phm_hashlist_reader *rd, snap *s, char *err, size_t errlen)
{
    phm_entry e;
    int rc = phm_hashlist_read(rd, &e, err, errlen);
    if (rc == PHM_HASHLIST_REMOVE) {
        CHECK(e.source && e.id && e.id[0]);
        return rc;
    }
    if (rc != PHM_HASHLIST_RECORD)
        return rc;
    CHECK(e.source && e.id && e.category && e.note);
    CHECK(!(e.signals & PHM_SIG_VPDQ) || (e.frames && e.nframes && !(e.signals & PHM_SIG_PDQ)));
    memset(s, 0, sizeof *s);
    s->has = e.signals & ~(unsigned)PHM_SIG_VPDQ; /* frames are not compared */
    s->pdq = e.pdq;
    memcpy(s->md5, e.md5, sizeof s->md5);
    memcpy(s->sha1, e.sha1, sizeof s->sha1);
    memcpy(s->sha256, e.sha256, sizeof s->sha256);
    s->quality = e.quality;
    s->added = e.added;
    copy_text(s->source, sizeof s->source, e.source);
    copy_text(s->id, sizeof s->id, e.id);
    copy_text(s->category, sizeof s->category, e.category);
    copy_text(s->note, sizeof s->note, e.note);
    copy_text(s->photodna, sizeof s->photodna, e.photodna ? e.photodna : "");
    copy_text(s->attrs, sizeof s->attrs, e.attrs ? e.attrs : "");
    CHECK(!e.photodna || strlen(e.photodna) == 192 || strlen(e.photodna) == 288);
    CHECK(!e.attrs || (e.attrs[0] == '{' && e.attrs[strlen(e.attrs) - 1] == '}'));
    s->video = (e.signals & PHM_SIG_VPDQ) != 0;
    return rc;
}

static int snap_write(FILE *fp, phm_hashlist_format fmt, const snap *s, char *err,
                      size_t errlen)
{
    phm_entry e = { .source = s->source, .id = s->id, .category = s->category,
                    .note = s->note, .signals = s->has, .quality = s->quality,
                    .added = s->added, .pdq = s->pdq,
                    .photodna = s->photodna[0] ? s->photodna : NULL,
                    .attrs = s->attrs[0] ? s->attrs : NULL };
    memcpy(e.md5, s->md5, sizeof e.md5);
    memcpy(e.sha1, s->sha1, sizeof e.sha1);
    memcpy(e.sha256, s->sha256, sizeof e.sha256);
    return phm_hashlist_write(fp, fmt, &e, err, errlen);
}

static void check_message(const char *msg, const phm_hashlist_reader *rd)
{
    char prefix[64], where[48];
    int n = snprintf(prefix, sizeof prefix, "%s: ",
                     phm_hashlist_reader_where(rd, where, sizeof where));
    CHECK(n > 0 && strncmp(msg, prefix, (size_t)n) == 0);
    CHECK(strlen(msg) > (size_t)n);
    for (const char *p = msg; *p; p++)
        CHECK(*p >= 0x20 && *p < 0x7f);
}

typedef struct warn_state {
    const phm_hashlist_reader *rd;
    int count;
} warn_state;

static void on_warning(void *ctx, const char *msg)
{
    warn_state *w = ctx;
    w->count++;
    CHECK(w->count <= 2); /* one for columns or keys, one for signal types */
    check_message(msg, w->rd);
}

static void check_record(const snap *rec)
{
    CHECK(rec->quality >= -1 && rec->quality <= 100);
    CHECK(rec->added >= 0 && rec->added <= HASHLIST_TIME_MAX);
    CHECK((rec->has != 0 || rec->video) && (rec->has & ~15u) == 0);
    if (!(rec->has & PHM_SIG_PDQ)) {
        static const phm_pdq zero;
        CHECK(memcmp(&rec->pdq, &zero, sizeof zero) == 0);
    }
    CHECK(memchr(rec->source, '\0', sizeof rec->source));
    CHECK(memchr(rec->id, '\0', sizeof rec->id));
    CHECK(memchr(rec->category, '\0', sizeof rec->category));
    CHECK(memchr(rec->note, '\0', sizeof rec->note));
    CHECK(rec->id[0] != '\0');
}

static int refused_for_a_reason(phm_hashlist_format fmt, const snap *rec)
{
    if ((fmt == PHM_HASHLIST_PDQ || fmt == PHM_HASHLIST_HEX || fmt == PHM_HASHLIST_HMA) &&
        !(rec->has & PHM_SIG_PDQ))
        return 1;
    if (fmt == PHM_HASHLIST_JSONL)
        return !phm_utf8_valid(rec->source, strlen(rec->source)) ||
               !phm_utf8_valid(rec->id, strlen(rec->id)) ||
               !phm_utf8_valid(rec->category, strlen(rec->category)) ||
               !phm_utf8_valid(rec->note, strlen(rec->note));
    return 0;
}

/* Writes `rec` in `fmt`, reads it back, compares what the format carries. */
static void round_trip(phm_hashlist_format fmt, const snap *rec)
{
    char *buf = NULL, err[HASHLIST_ERRMSG_MAX];
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return;
    CHECK(phm_hashlist_write_header(out, fmt) == PHM_OK);
    int rc = snap_write(out, fmt, rec, err, sizeof err);
    fclose(out);
    if (rc == PHM_ERR_UNSUPPORTED) {
        CHECK(refused_for_a_reason(fmt, rec));
        free(buf);
        return;
    }
    CHECK(rc == PHM_OK);
    CHECK(!refused_for_a_reason(fmt, rec));

    FILE *in = fmemopen(buf, len, "r");
    phm_hashlist_reader *rd;
    snap back, extra;
    CHECK(in != NULL);
    CHECK(phm_hashlist_reader_open(&rd, in, "rt", PHM_HASHLIST_AUTO, NULL, err, sizeof err) == 0);
    rc = snap_read(rd, &back, err, sizeof err);
    if (rc != PHM_HASHLIST_RECORD)
        fprintf(stderr, "fuzz_hashlist: %s record read back: %d %s\n",
                phm_hashlist_format_name(fmt), rc, err);
    CHECK(rc == PHM_HASHLIST_RECORD);
    CHECK(phm_hashlist_reader_format(rd) == fmt);
    uint64_t line = phm_hashlist_reader_line(rd);
    CHECK(snap_read(rd, &extra, err, sizeof err) == PHM_HASHLIST_EOF);
    phm_hashlist_reader_close(rd);
    fclose(in);
    free(buf);

    int all = fmt == PHM_HASHLIST_CSV || fmt == PHM_HASHLIST_TSV || fmt == PHM_HASHLIST_JSONL;
    int named = all || fmt == PHM_HASHLIST_PDQ;
    char lineid[32];
    snprintf(lineid, sizeof lineid, "%llu", (unsigned long long)line);
    CHECK(memcmp(&back.pdq, &rec->pdq, sizeof back.pdq) == 0);
    CHECK(back.quality == (named ? rec->quality : -1));
    CHECK(strcmp(back.id, named ? rec->id : lineid) == 0);
    CHECK(strcmp(back.source, all ? rec->source : "") == 0);
    CHECK(strcmp(back.category, all ? rec->category : "") == 0);
    CHECK(strcmp(back.note, all ? rec->note : "") == 0);
    CHECK(back.added == (all ? rec->added : 0));
    CHECK(back.has == (all ? rec->has : (unsigned)PHM_SIG_PDQ));
    if (back.has & PHM_SIG_MD5)
        CHECK(memcmp(back.md5, rec->md5, sizeof back.md5) == 0);
    if (back.has & PHM_SIG_SHA1)
        CHECK(memcmp(back.sha1, rec->sha1, sizeof back.sha1) == 0);
    if (back.has & PHM_SIG_SHA256)
        CHECK(memcmp(back.sha256, rec->sha256, sizeof back.sha256) == 0);
    if (fmt == PHM_HASHLIST_JSONL) {
        CHECK(strcmp(back.photodna, rec->photodna) == 0);
        CHECK(strcmp(back.attrs, rec->attrs) == 0);
    }
}

/* The read-ahead path (phm_hashlist_options.read_ahead: the list parsed
 * on a thread of the reader's own) gives what the plain one gives, call
 * by call: status, message and record. */
static void same_ahead(const uint8_t *data, size_t size, phm_hashlist_format fmt,
                       const phm_hashlist_options *base)
{
    phm_hashlist_options o = *base;
    o.warn = NULL;
    o.warn_ctx = NULL;
    phm_hashlist_reader *a, *b;
    char ea[HASHLIST_ERRMSG_MAX], eb[HASHLIST_ERRMSG_MAX];
    CHECK(phm_hashlist_reader_open_mem(&a, data, size, "fuzz", fmt, &o, ea, sizeof ea) == 0);
    o.read_ahead = 1;
    CHECK(phm_hashlist_reader_open_mem(&b, data, size, "fuzz", fmt, &o, eb, sizeof eb) == 0);
    for (size_t calls = 0; calls <= size + 3; calls++) {
        snap ra, rb;
        int x = snap_read(a, &ra, ea, sizeof ea), y = snap_read(b, &rb, eb, sizeof eb);
        CHECK(x == y);
        if (x == PHM_HASHLIST_EOF)
            break;
        if (x == PHM_HASHLIST_RECORD)
            CHECK(memcmp(&ra, &rb, sizeof ra) == 0);
        else if (x != PHM_HASHLIST_REMOVE) {
            CHECK(strcmp(ea, eb) == 0);
            if (x != PHM_ERR_CORRUPT)
                break;
        }
    }
    phm_hashlist_reader_close(b);
    phm_hashlist_reader_close(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    phm_hashlist_format fmt = (phm_hashlist_format)(data[0] % 8);
    if (data[0] & 128)
        fmt = (data[0] & 7) == 7 ? PHM_HASHLIST_AUTO
                                 : (phm_hashlist_format)(PHM_HASHLIST_VICS + (data[0] & 7));
    phm_hashlist_options opt = { 0 };
    int from_memory = (data[0] >> 5) & 1;
    opt.skip_other_signals = (data[0] >> 3) & 1;
    opt.allow_remove = (data[0] >> 3) & 1;
    opt.allow_video = (data[0] >> 6) & 1;
    opt.check_hashes = (data[0] >> 6) & 1;
    if ((data[0] >> 4) & 1) {
        opt.source = "src";
        opt.category = "cat";
    }
    warn_state w = { 0 };
    opt.warn = on_warning;
    opt.warn_ctx = &w;
    data++;
    size--;

    static const char empty[1] = "";
    FILE *fp = fmemopen(size ? (void *)(uintptr_t)data : (void *)(uintptr_t)empty,
                        size ? size : 1, "r");
    if (!fp)
        return 0;
    if (!size)
        (void)fgetc(fp);

    phm_hashlist_reader *rd;
    char err[HASHLIST_ERRMSG_MAX];
    if (from_memory)
        CHECK(phm_hashlist_reader_open_mem(&rd, data, size, "fuzz", fmt, &opt, err,
                                           sizeof err) == 0);
    else
        CHECK(phm_hashlist_reader_open(&rd, fp, "fuzz", fmt, &opt, err, sizeof err) == 0);
    w.rd = rd;

    /* No call returns without consuming a line, so the number of calls is
     * bounded by the number of newlines, plus the last line and EOF. */
    size_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    size_t calls = 0, records = 0;
    for (;;) {
        snap rec;
        phm_hashlist_format now = phm_hashlist_reader_format(rd);
        int doc = now == PHM_HASHLIST_VICS || now == PHM_HASHLIST_NCMEC ||
                  now == PHM_HASHLIST_STOPNCII || now == PHM_HASHLIST_THREATEXCHANGE ||
                  now == PHM_HASHLIST_TAT;
        CHECK(++calls <= (doc ? size : lines) + 3);
        int rc = snap_read(rd, &rec, err, sizeof err);
        if (rc == PHM_HASHLIST_EOF)
            break;
        if (rc == PHM_HASHLIST_REMOVE) {
            CHECK(opt.allow_remove);
            continue;
        }
        if (rc == PHM_HASHLIST_RECORD) {
            check_record(&rec);
            if (fmt != PHM_HASHLIST_AUTO)
                CHECK(phm_hashlist_reader_format(rd) == fmt);
            /* round trips cost; a few records per input are plenty */
            if (!rec.video && records++ < 4)
                for (int f = PHM_HASHLIST_PDQ; f <= PHM_HASHLIST_JSONL; f++)
                    round_trip((phm_hashlist_format)f, &rec);
            continue;
        }
        check_message(err, rd);
        if (rc == PHM_ERR_CORRUPT)
            continue;
        CHECK(rc == PHM_ERR_UNSUPPORTED || rc == PHM_ERR_UNREADABLE);
        char again[HASHLIST_ERRMSG_MAX];
        CHECK(snap_read(rd, &rec, again, sizeof again) == rc);
        CHECK(strcmp(again, err) == 0);
        break;
    }
    CHECK(opt.skip_other_signals || phm_hashlist_reader_skipped(rd) == 0);
    phm_hashlist_reader_close(rd);
    fclose(fp);
    if (from_memory)
        same_ahead(data, size, fmt, &opt);
    return 0;
}
