/*
 * fuzz_hashlist.c - libFuzzer target: the hash-list readers and writers of
 * `phmatch index import/export` (src/cli/hashlist.c, compiled in here since
 * it is part of the tool, not of libphmatch).
 *
 * Input: the first byte chooses the format (auto, pdq, hex, hma, csv, tsv,
 * jsonl) and the options; the other bytes are the file.
 *
 * Invariants from src/cli/hashlist.h, checked on arbitrary bytes:
 *   - reading ends: every call consumes at least one line or returns EOF or
 *     a sticky error, which the next call repeats word for word;
 *   - every message and warning starts "fuzz:LINE: " with the reader's
 *     line, and holds only printable ASCII;
 *   - a record is in range: at least one hash (and the PDQ hash zero when
 *     absent), quality -1..100, time 0..HASHLIST_TIME_MAX, strings
 *     NUL-terminated within their limits, a non-empty id;
 *   - round trip: each record written in each format is either refused
 *     for a documented reason only (a line break in a pdq name, text that
 *     is not UTF-8 in jsonl, no PDQ hash for pdq/hex/hma) or read back, with the format detected, to the
 *     same values for every field that format carries.
 */
#include "../../src/cli/delimited.c"
#include "../../src/cli/hashlist.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

static void check_message(const char *msg, uint64_t line)
{
    char prefix[48];
    int n = snprintf(prefix, sizeof prefix, "fuzz:%llu: ", (unsigned long long)line);
    CHECK(n > 0 && strncmp(msg, prefix, (size_t)n) == 0);
    CHECK(strlen(msg) > (size_t)n);
    for (const char *p = msg; *p; p++)
        CHECK(*p >= 0x20 && *p < 0x7f);
}

typedef struct warn_state {
    const hashlist_reader *rd;
    int count;
} warn_state;

static void on_warning(void *ctx, const char *msg)
{
    warn_state *w = ctx;
    w->count++;
    CHECK(w->count <= 2); /* one for columns or keys, one for signal types */
    check_message(msg, hashlist_reader_line(w->rd));
}

static void check_record(const hashlist_record *rec)
{
    CHECK(rec->quality >= -1 && rec->quality <= 100);
    CHECK(rec->added >= 0 && rec->added <= HASHLIST_TIME_MAX);
    CHECK(rec->has != 0 && (rec->has & ~15u) == 0);
    if (!(rec->has & HASHLIST_HAS_PDQ)) {
        static const phm_pdq zero;
        CHECK(memcmp(&rec->pdq, &zero, sizeof zero) == 0);
    }
    CHECK(memchr(rec->source, '\0', sizeof rec->source));
    CHECK(memchr(rec->id, '\0', sizeof rec->id));
    CHECK(memchr(rec->category, '\0', sizeof rec->category));
    CHECK(memchr(rec->note, '\0', sizeof rec->note));
    CHECK(rec->id[0] != '\0');
}

static int refused_for_a_reason(hashlist_format fmt, const hashlist_record *rec)
{
    if ((fmt == HASHLIST_PDQ || fmt == HASHLIST_HEX || fmt == HASHLIST_HMA) &&
        !(rec->has & HASHLIST_HAS_PDQ))
        return 1;
    if (fmt == HASHLIST_PDQ)
        return strpbrk(rec->id, "\r\n") != NULL;
    if (fmt == HASHLIST_JSONL)
        return !phm_utf8_valid(rec->source, strlen(rec->source)) ||
               !phm_utf8_valid(rec->id, strlen(rec->id)) ||
               !phm_utf8_valid(rec->category, strlen(rec->category)) ||
               !phm_utf8_valid(rec->note, strlen(rec->note));
    return 0;
}

/* Writes `rec` in `fmt`, reads it back, compares what the format carries. */
static void round_trip(hashlist_format fmt, const hashlist_record *rec)
{
    char *buf = NULL, err[HASHLIST_ERRMSG_MAX];
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return;
    CHECK(hashlist_write_header(out, fmt) == HASHLIST_OK);
    int rc = hashlist_write(out, fmt, rec, err, sizeof err);
    fclose(out);
    if (rc == HASHLIST_ERR_UNREPRESENTABLE) {
        CHECK(refused_for_a_reason(fmt, rec));
        free(buf);
        return;
    }
    CHECK(rc == HASHLIST_OK);
    CHECK(!refused_for_a_reason(fmt, rec));

    FILE *in = fmemopen(buf, len, "r");
    hashlist_reader *rd;
    hashlist_record back, extra;
    CHECK(in != NULL);
    CHECK(hashlist_reader_open(&rd, in, "rt", HASHLIST_AUTO, NULL, err, sizeof err) == 0);
    rc = hashlist_read(rd, &back, err, sizeof err);
    if (rc != HASHLIST_RECORD)
        fprintf(stderr, "fuzz_hashlist: %s record read back: %d %s\n",
                hashlist_format_name(fmt), rc, err);
    CHECK(rc == HASHLIST_RECORD);
    CHECK(hashlist_reader_format(rd) == fmt);
    uint64_t line = hashlist_reader_line(rd);
    CHECK(hashlist_read(rd, &extra, err, sizeof err) == HASHLIST_EOF);
    hashlist_reader_close(rd);
    fclose(in);
    free(buf);

    int all = fmt == HASHLIST_CSV || fmt == HASHLIST_TSV || fmt == HASHLIST_JSONL;
    int named = all || fmt == HASHLIST_PDQ;
    char lineid[32];
    snprintf(lineid, sizeof lineid, "%llu", (unsigned long long)line);
    CHECK(memcmp(&back.pdq, &rec->pdq, sizeof back.pdq) == 0);
    CHECK(back.quality == (named ? rec->quality : -1));
    CHECK(strcmp(back.id, named ? rec->id : lineid) == 0);
    CHECK(strcmp(back.source, all ? rec->source : "") == 0);
    CHECK(strcmp(back.category, all ? rec->category : "") == 0);
    CHECK(strcmp(back.note, all ? rec->note : "") == 0);
    CHECK(back.added == (all ? rec->added : 0));
    CHECK(back.has == (all ? rec->has : (unsigned)HASHLIST_HAS_PDQ));
    if (back.has & HASHLIST_HAS_MD5)
        CHECK(memcmp(back.md5, rec->md5, sizeof back.md5) == 0);
    if (back.has & HASHLIST_HAS_SHA1)
        CHECK(memcmp(back.sha1, rec->sha1, sizeof back.sha1) == 0);
    if (back.has & HASHLIST_HAS_SHA256)
        CHECK(memcmp(back.sha256, rec->sha256, sizeof back.sha256) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    hashlist_format fmt = (hashlist_format)(data[0] % 7);
    hashlist_options opt = { 0 };
    opt.skip_other_signals = (data[0] >> 3) & 1;
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

    hashlist_reader *rd;
    char err[HASHLIST_ERRMSG_MAX];
    CHECK(hashlist_reader_open(&rd, fp, "fuzz", fmt, &opt, err, sizeof err) == 0);
    w.rd = rd;

    /* No call returns without consuming a line, so the number of calls is
     * bounded by the number of newlines, plus the last line and EOF. */
    size_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    size_t calls = 0, records = 0;
    for (;;) {
        hashlist_record rec;
        CHECK(++calls <= lines + 3);
        int rc = hashlist_read(rd, &rec, err, sizeof err);
        if (rc == HASHLIST_EOF)
            break;
        if (rc == HASHLIST_RECORD) {
            check_record(&rec);
            if (fmt != HASHLIST_AUTO)
                CHECK(hashlist_reader_format(rd) == fmt);
            /* round trips cost; a few records per input are plenty */
            if (records++ < 4)
                for (int f = HASHLIST_PDQ; f <= HASHLIST_JSONL; f++)
                    round_trip((hashlist_format)f, &rec);
            continue;
        }
        check_message(err, hashlist_reader_line(rd));
        if (rc == HASHLIST_ERR_LINE)
            continue;
        CHECK(rc == HASHLIST_ERR_FORMAT || rc == HASHLIST_ERR_IO);
        char again[HASHLIST_ERRMSG_MAX];
        CHECK(hashlist_read(rd, &rec, again, sizeof again) == rc);
        CHECK(strcmp(again, err) == 0);
        break;
    }
    CHECK(opt.skip_other_signals || hashlist_reader_skipped(rd) == 0);
    hashlist_reader_close(rd);
    fclose(fp);
    return 0;
}
