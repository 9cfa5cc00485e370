/* test_hashlist.c - the hash-list formats of libphmatch (phm_hashlist_*,
 * src/lib/hashlist*.c): each format read, auto-detection, "FILE:LINE:
 * message" errors for malformed input and the reader going on after them,
 * bounds, readers on memory, and the round trip write -> read for every
 * format with awkward strings.
 *
 * An entry read is valid until the next read; the tests keep copies
 * (`snap`). Sample files are read from tests/data/hashlists/, so run from
 * the top of the source tree (tests/check.sh does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"

#include "phmatch.h"

/* A copy of an entry read (its strings and frames belong to the reader
 * until the next read), and what the tests write. `has` holds PHM_SIG_*. */
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
    const phm_vpdq *video; /* read: a view of the reader's frames */
    phm_vpdq view;
} snap;

static void snap_init(snap *s)
{
    memset(s, 0, sizeof *s);
    s->quality = -1;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* phm_hashlist_read() into a copy. */
static int snap_read(phm_hashlist_reader *rd, snap *s, char *err, size_t errlen)
{
    phm_entry e;
    int rc = phm_hashlist_read(rd, &e, err, errlen);
    if (rc != PHM_HASHLIST_RECORD)
        return rc;
    snap_init(s);
    s->has = e.signals;
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
    if (e.signals & PHM_SIG_VPDQ) {
        phm_vpdq_init(&s->view);
        s->view.frames = (phm_vpdq_frame *)(uintptr_t)e.frames;
        s->view.count = e.nframes;
        s->video = &s->view;
    }
    return rc;
}

/* phm_hashlist_write() of a copy. */
static int snap_write(FILE *fp, phm_hashlist_format fmt, const snap *s, char *err,
                      size_t errlen)
{
    phm_entry e = { .source = s->source, .id = s->id, .category = s->category,
                    .note = s->note, .signals = s->has, .quality = s->quality,
                    .added = s->added, .pdq = s->pdq };
    memcpy(e.md5, s->md5, sizeof e.md5);
    memcpy(e.sha1, s->sha1, sizeof e.sha1);
    memcpy(e.sha256, s->sha256, sizeof e.sha256);
    if (s->video) {
        e.frames = s->video->frames;
        e.nframes = s->video->count;
    }
    return phm_hashlist_write(fp, fmt, &e, err, errlen);
}

#define SAMPLES "tests/data/hashlists/"
#define H1 "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
#define H2 "f0a5e102f1ccc0bd945308720fff038de34ef1e8ada9a956d2967ade5ea91a50"
#define H3 "1049d96239e24d4dca2c55512b8bdb77425f4dbcf575a0a95555aaab5554aaaa"

#define MAXREC 32

/* Everything one reading of a list gave. */
typedef struct result {
    int nrec, nerr;
    int fatal;   /* the sticky status that ended reading, or 0 */
    phm_hashlist_format fmt;
    uint64_t skipped;
    snap rec[MAXREC];
    uint64_t rec_line[MAXREC];
    char err[MAXREC][PHM_HASHLIST_ERRMSG_MAX];
    int nwarn;
    char warn[4][PHM_HASHLIST_ERRMSG_MAX];
} result;

static void collect_warning(void *ctx, const char *msg)
{
    result *res = ctx;
    if (res->nwarn < 4)
        snprintf(res->warn[res->nwarn], sizeof res->warn[0], "%s", msg);
    res->nwarn++;
}

/* Reads all of `fp` as `fmt`; errors of a line are collected and reading
 * goes on, as --skip-bad would. */
static void read_fp(FILE *fp, const char *name, phm_hashlist_format fmt,
                    const phm_hashlist_options *opt_in, result *res)
{
    phm_hashlist_options opt = { 0 };
    phm_hashlist_reader *rd;
    char err[PHM_HASHLIST_ERRMSG_MAX];

    memset(res, 0, sizeof *res);
    if (opt_in)
        opt = *opt_in;
    opt.warn = collect_warning;
    opt.warn_ctx = res;
    if (phm_hashlist_reader_open(&rd, fp, name, fmt, &opt, err, sizeof err) != 0) {
        res->fatal = PHM_ERR_NOMEM;
        return;
    }
    for (int guard = 0; guard < 1000; guard++) {
        snap rec;
        int rc = snap_read(rd, &rec, err, sizeof err);
        if (rc == PHM_HASHLIST_EOF)
            break;
        if (rc == PHM_HASHLIST_RECORD) {
            if (res->nrec < MAXREC) {
                res->rec[res->nrec] = rec;
                res->rec_line[res->nrec] = phm_hashlist_reader_line(rd);
            }
            res->nrec++;
            continue;
        }
        if (res->nerr < MAXREC)
            snprintf(res->err[res->nerr], sizeof res->err[0], "%s", err);
        res->nerr++;
        if (rc != PHM_ERR_CORRUPT) {
            res->fatal = rc;
            /* sticky: the next call says the same */
            char again[PHM_HASHLIST_ERRMSG_MAX];
            snap rec2;
            if (snap_read(rd, &rec2, again, sizeof again) != rc ||
                strcmp(again, err) != 0)
                res->fatal = 999;
            break;
        }
    }
    res->fmt = phm_hashlist_reader_format(rd);
    res->skipped = phm_hashlist_reader_skipped(rd);
    phm_hashlist_reader_close(rd);
}

static void read_mem(const char *text, size_t len, const char *name, phm_hashlist_format fmt,
                     const phm_hashlist_options *opt, result *res)
{
    /* fmemopen() of 0 bytes fails with EINVAL on some C libraries. */
    static const char empty[1] = "";
    FILE *fp = fmemopen(len ? (void *)(uintptr_t)text : (void *)(uintptr_t)empty,
                        len ? len : 1, "r");
    if (!fp) {
        memset(res, 0, sizeof *res);
        res->fatal = PHM_ERR_UNREADABLE;
        return;
    }
    if (!len)
        fgetc(fp); /* at the end */
    read_fp(fp, name, fmt, opt, res);
    fclose(fp);
}

static void read_str(const char *text, const char *name, phm_hashlist_format fmt, result *res)
{
    read_mem(text, strlen(text), name, fmt, NULL, res);
}

static int read_file(const char *path, phm_hashlist_format fmt, const phm_hashlist_options *opt,
                     result *res)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        memset(res, 0, sizeof *res);
        return -1;
    }
    read_fp(fp, path, fmt, opt, res);
    fclose(fp);
    return 0;
}

static const char *hex_of(const snap *rec, char out[PHM_PDQ_HEX_LEN + 1])
{
    phm_pdq_to_hex(&rec->pdq, out);
    return out;
}

static result *result_alloc(void)
{
    result *r = malloc(sizeof *r);
    if (!r) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    return r;
}

/* ---------------------------------------------------------------- */

static void test_format_names(void)
{
    phm_hashlist_format f;
    static const char *const names[] = { "auto", "pdq", "hex", "hma", "csv", "tsv", "jsonl" };
    for (int i = 0; i < 7; i++) {
        int ok = phm_hashlist_format_parse(names[i], &f) == 0 && (int)f == i &&
                 strcmp(phm_hashlist_format_name(f), names[i]) == 0;
        OK(ok, "format name '%s' parses and prints back", names[i]);
    }
    OK(phm_hashlist_format_parse("json", &f) == 0 && f == PHM_HASHLIST_JSONL, "'json' is jsonl");
    OK(phm_hashlist_format_parse("CSV", &f) == PHM_ERR_INVALID, "format names are case-sensitive");
    IS_STR(phm_hashlist_format_name((phm_hashlist_format)42), "unknown", "out-of-range format name");
}

static void test_time(void)
{
    static const struct {
        const char *s;
        int64_t t;
    } good[] = {
        { "1970-01-01T00:00:00Z", 0 },
        { "2000-02-29T12:00:00Z", 951825600 },
        { "2024-01-02T03:04:05Z", 1704164645 },
        { "2024-02-29T23:59:59Z", 1709251199 },
        { "2100-03-01T00:00:00Z", 4107542400 },
        { "9999-12-31T23:59:59Z", 253402300799 },
        { "1700000000", 1700000000 },
        { "0", 0 },
        { "253402300799", 253402300799 },
    };
    static const char *const bad[] = {
        "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "1969-12-31T23:59:59Z",
        "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-01-00T00:00:00Z",
        "2024-04-31T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z",
        "2024-01-01T00:00:60Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00",
        "2024-01-01T00:00:00+00:00", "2024-1-01T00:00:00Z", "253402300800",
        "-1", "+5", "1e9", "", "12a",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t t = -1;
        int rc = phm_hashlist_parse_time(good[i].s, strlen(good[i].s), &t);
        OK(rc == 0 && t == good[i].t, "time '%s' = %lld", good[i].s, (long long)good[i].t);
    }
    int bad_ok = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t;
        if (phm_hashlist_parse_time(bad[i], strlen(bad[i]), &t) == 0) {
            printf("# accepted '%s'\n", bad[i]);
            bad_ok = 0;
        }
    }
    OK(bad_ok, "%zu malformed or out-of-range times are refused", sizeof bad / sizeof bad[0]);

    char out[21];
    OK(phm_hashlist_format_time(1709251199, out) == 0 && strcmp(out, "2024-02-29T23:59:59Z") == 0,
       "format 2024-02-29T23:59:59Z");
    OK(phm_hashlist_format_time(PHM_HASHLIST_TIME_MAX, out) == 0 &&
           strcmp(out, "9999-12-31T23:59:59Z") == 0,
       "format the largest time");
    OK(phm_hashlist_format_time(-1, out) == PHM_ERR_INVALID && out[0] == '\0', "format refuses -1");
    OK(phm_hashlist_format_time(PHM_HASHLIST_TIME_MAX + 1, out) == PHM_ERR_INVALID, "format refuses > 9999");

    /* format -> parse over the whole range, each day boundary of the first
     * years and a spread of others, against gmtime_r where time_t allows */
    int round = 1, gm = 1;
    uint64_t s = 88172645463325252ull;
    for (int i = 0; i < 200000 && round; i++) {
        int64_t t;
        if (i < 3 * 366 * 2)
            t = (int64_t)(i / 2) * 86400 + (i % 2 ? 86399 : 0);
        else {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            t = (int64_t)(s % (uint64_t)(PHM_HASHLIST_TIME_MAX + 1));
        }
        int64_t back = -1;
        if (phm_hashlist_format_time(t, out) != 0 || phm_hashlist_parse_time(out, 20, &back) != 0 ||
            back != t) {
            printf("# %lld -> '%s' -> %lld\n", (long long)t, out, (long long)back);
            round = 0;
        }
        time_t tt = (time_t)t;
        struct tm tm;
        char ref[32];
        if (gm && gmtime_r(&tt, &tm) &&
            strftime(ref, sizeof ref, "%Y-%m-%dT%H:%M:%SZ", &tm) == 20 &&
            strcmp(ref, out) != 0) {
            printf("# %lld: '%s', gmtime says '%s'\n", (long long)t, out, ref);
            gm = 0;
        }
    }
    OK(round, "format then parse gives back the time (200000 times)");
    OK(gm, "formatted times agree with gmtime_r");
}

/* ---------------------------------------------------------------- */
/* Each format                                                       */

static void test_pdq(void)
{
    result *res = result_alloc();
    char hex[65];
    read_str(H1 ",100,a.jpg\n"
                "# a comment\n"
                "\n" H2 ",7,dir/with, commas,, and more.jpg\r\n" H3 ",,\n" H1 ",0\n" H2
                ",55, leading and trailing blanks \n",
             "l.pdq", PHM_HASHLIST_PDQ, res);
    IS_INT(res->nerr, 0, "pdq: no errors");
    IS_INT(res->nrec, 5, "pdq: five records");
    IS_STR(hex_of(&res->rec[0], hex), H1, "pdq: hash");
    IS_INT(res->rec[0].quality, 100, "pdq: quality");
    IS_STR(res->rec[0].id, "a.jpg", "pdq: the name is the id");
    IS_STR(res->rec[1].id, "dir/with, commas,, and more.jpg",
           "pdq: the name is everything after the second comma, CR of CRLF dropped");
    IS_INT(res->rec[1].quality, 7, "pdq: quality 7");
    IS_INT(res->rec[2].quality, -1, "pdq: empty quality is unknown");
    IS_STR(res->rec[2].id, "5", "pdq: empty name: the id is the line number");
    IS_STR(res->rec[3].id, "6", "pdq: no name: the id is the line number");
    IS_INT(res->rec[3].quality, 0, "pdq: quality 0");
    IS_STR(res->rec[4].id, " leading and trailing blanks ", "pdq: the name is verbatim");
    IS_INT((int)res->rec_line[1], 4, "pdq: record line numbers count comments and blanks");
    OK(res->rec[0].source[0] == '\0' && res->rec[0].category[0] == '\0' &&
           res->rec[0].note[0] == '\0' && res->rec[0].added == 0 && res->rec[0].has == PHM_SIG_PDQ,
       "pdq: other fields unknown");
    free(res);
}

/* phm_pdq_name_fwrite and the pdq reader: every byte but NUL survives,
 * nothing written ends the line, a backslash that starts no escape is an
 * error. */
static void test_pdq_escapes(void)
{
    char name[256], *buf = NULL, hex[65];
    size_t len = 0;
    for (int i = 1; i < 256; i++)
        name[i - 1] = (char)i;
    FILE *out = open_memstream(&buf, &len);
    fputs(H1 ",5,", out);
    OK(phm_pdq_name_fwrite(out, name, 255) == PHM_OK, "pdq name: written");
    putc('\n', out);
    fclose(out);
    OK(memchr(buf, '\n', len) == buf + len - 1 && !memchr(buf, '\r', len),
       "pdq name: every byte 1..255 on one line, no CR");
    OK(strstr(buf, "\\x01") && strstr(buf, "\\x7f") && strstr(buf, "\\n") &&
           strstr(buf, "\\\\") && strstr(buf, "\\t"),
       "pdq name: control bytes as \\xHH, LF, tab and backslash as \\n \\t \\\\");
    result *res = result_alloc();
    read_mem(buf, len, "e.pdq", PHM_HASHLIST_PDQ, NULL, res);
    IS_INT(res->nerr, 0, "pdq name: read back without errors");
    OK(res->nrec == 1 && strlen(res->rec[0].id) == 255 &&
           memcmp(res->rec[0].id, name, 255) == 0,
       "pdq name: every byte 1..255 read back");
    free(res);
    free(buf);

    res = result_alloc();
    read_str(H1 ",1,a\\x41\\x0a\\\\b,c\n", "e.pdq", PHM_HASHLIST_PDQ, res);
    OK(res->nrec == 1 && strcmp(res->rec[0].id, "aA\n\\b,c") == 0,
       "pdq name: \\xHH in either case read, commas kept");
    IS_STR(hex_of(&res->rec[0], hex), H1, "pdq name: the hash");
    free(res);
}

static void test_hex(void)
{
    result *res = result_alloc();
    phm_hashlist_options opt = { .source = "ncmec", .category = "csam" };
    char hex[65];
    const char *text = "# header comment\n\n" H1 "\n"
                       "F0A5E102F1CCC0BD945308720FFF038DE34EF1E8ADA9A956D2967ADE5EA91A50\n"
                       "\t" H3 "  \r\n";
    read_mem(text, strlen(text), "l.hex", PHM_HASHLIST_HEX, &opt, res);
    IS_INT(res->nerr, 0, "hex: no errors");
    IS_INT(res->nrec, 3, "hex: three records");
    IS_STR(hex_of(&res->rec[1], hex), H2, "hex: upper case read");
    IS_STR(hex_of(&res->rec[2], hex), H3, "hex: blanks around the hash ignored");
    IS_STR(res->rec[0].id, "3", "hex: the id is the line number");
    IS_STR(res->rec[0].source, "ncmec", "hex: the source is the caller's");
    IS_STR(res->rec[2].category, "csam", "hex: the category is the caller's");
    IS_INT(res->rec[0].quality, -1, "hex: quality unknown");
    free(res);
}

static void test_hma(void)
{
    result *res = result_alloc();
    char hex[65];
    read_str("pdq " H1 "\n"
             "PDQ\t" H2 "\n"
             "video_md5 d41d8cd98f00b204e9800998ecf8427e\n"
             "pdq " H3 " trailing\n"
             "pdq\n"
             "  pdq   " H3 "  \n",
             "l.hma", PHM_HASHLIST_HMA, res);
    IS_INT(res->nrec, 4, "hma: four records");
    IS_STR(hex_of(&res->rec[1], hex), H2, "hma: type in any case, tab separator");
    IS_INT((int)res->rec[2].has, PHM_SIG_MD5, "hma: video_md5 is an MD5 digest (HMA's local file)");
    IS_STR(hex_of(&res->rec[3], hex), H3, "hma: blanks around");
    IS_INT(res->nerr, 2, "hma: two bad lines");
    IS_STR(res->err[0], "l.hma:4: unexpected text after the hash", "hma: text after the hash");
    IS_STR(res->err[1], "l.hma:5: expected 'pdq HASH'", "hma: no hash");
    read_str("tmk d41d8cd98f00b204e9800998ecf8427e\n", "o.hma", PHM_HASHLIST_HMA, res);
    IS_STR(res->nerr ? res->err[0] : "", "o.hma:1: signal type 'tmk' is not pdq",
           "hma: other signal type");

    phm_hashlist_options opt = { .skip_other_signals = 1 };
    const char *text = "pdq " H1 "\ntmk d41d8cd98f00b204e9800998ecf8427e\n"
                       "tmk d41d8cd98f00b204e9800998ecf8427f\npdq " H2 "\n";
    read_mem(text, strlen(text), "s.hma", PHM_HASHLIST_AUTO, &opt, res);
    OK(res->nrec == 2 && res->nerr == 0, "hma: other signal types skipped when asked");
    IS_INT((int)res->skipped, 2, "hma: skipped lines counted");
    IS_INT(res->nwarn, 1, "hma: one warning");
    IS_STR(res->warn[0],
           "s.hma:2: skipping records of signal type 'tmk' and any other but pdq",
           "hma: the warning names the file, line and type");
    free(res);
}

static void test_csv(void)
{
    result *res = result_alloc();
    char hex[65];
    const char *text =
        "# exported list\n"
        " Hash , QUALITY,list,bank_content_id,label,note,time,md5,sha1,sha256,extra,more\n"
        "" H1 ",90,ncmec,1,csam,\"a, \"\"b\"\"\",2024-01-02T03:04:05Z,"
        "d41d8cd98f00b204e9800998ecf8427e,,,x,y\r\n"
        "\n"
        "" H2 ",,,,,\"line one\r\nline two\n\",1700000000,,"
        "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,,\n"
        "" H3 ",\" 7 \",\"\",\"\",,,,,,,,\n";
    read_str(text, "l.csv", PHM_HASHLIST_CSV, res);
    IS_INT(res->nerr, 0, "csv: no errors");
    if (res->nerr)
        printf("# %s\n", res->err[0]);
    IS_INT(res->nrec, 3, "csv: three records");
    IS_INT(res->nwarn, 1, "csv: one warning");
    IS_STR(res->warn[0], "l.csv:2: ignoring 2 unknown columns: 'extra', 'more'",
           "csv: the warning lists the unknown columns");
    const snap *a = &res->rec[0], *b = &res->rec[1], *c = &res->rec[2];
    IS_STR(hex_of(a, hex), H1, "csv: hash");
    IS_INT(a->quality, 90, "csv: quality");
    IS_STR(a->source, "ncmec", "csv: 'list' is the source");
    IS_STR(a->id, "1", "csv: 'bank_content_id' is the id");
    IS_STR(a->category, "csam", "csv: 'label' is the category");
    IS_STR(a->note, "a, \"b\"", "csv: quoted comma and doubled quotes");
    IS_INT(a->added, 1704164645, "csv: ISO 8601 time");
    OK(a->has == (PHM_SIG_PDQ | PHM_SIG_MD5) && a->md5[0] == 0xd4 && a->md5[15] == 0x7e, "csv: md5");
    IS_STR(b->note, "line one\r\nline two\n", "csv: line breaks inside quotes kept as written");
    IS_INT((int)res->rec_line[1], 5, "csv: a record spanning lines has its first line's number");
    IS_INT(b->added, 1700000000, "csv: unix seconds");
    IS_INT(b->quality, -1, "csv: empty quality is unknown");
    OK(b->has == (PHM_SIG_PDQ | PHM_SIG_SHA1 | PHM_SIG_SHA256) && b->sha1[0] == 0xda &&
           b->sha256[31] == 0x55,
       "csv: sha1 (upper case) and sha256");
    IS_INT(c->quality, 7, "csv: blanks around a number are ignored");
    IS_STR(c->id, "8", "csv: empty id: the line number");
    IS_INT((int)res->rec_line[2], 8, "csv: line numbers after a multi-line record");
    free(res);
}

static void test_csv_name_column(void)
{
    result *res = result_alloc();
    read_str("pdq,path,quality\n" H1 ",a/b.jpg,90\n", "n.csv", PHM_HASHLIST_AUTO, res);
    OK(res->nrec == 1 && strcmp(res->rec[0].id, "a/b.jpg") == 0 && res->nwarn == 0,
       "csv: without an id column, 'path' is the id");
    read_str("id,name,hash\nX,a/b.jpg," H1 "\n", "n.csv", PHM_HASHLIST_AUTO, res);
    OK(res->nrec == 1 && strcmp(res->rec[0].id, "X") == 0, "csv: the id column wins over 'name'");
    IS_STR(res->warn[0], "n.csv:1: ignoring 1 unknown column: 'name'",
           "csv: the unused name column is warned about");
    read_str("signal_type,signal_str,collab,category,tags\n"
             "pdq," H1 ",Sample Data,INVESTIGATION_SEED,a b\n"
             "video_md5,d41d8cd98f00b204e9800998ecf8427e,Sample Data,,\n",
             "tx.csv", PHM_HASHLIST_AUTO, res);
    OK(res->nrec == 1 && strcmp(res->rec[0].source, "Sample Data") == 0 &&
           strcmp(res->rec[0].category, "INVESTIGATION_SEED") == 0,
       "csv: python-threatexchange's dataset csv");
    IS_STR(res->err[0], "tx.csv:3: signal type 'video_md5' is not pdq",
           "csv: signal_type other than pdq is an error by default");
    free(res);
}

static void test_tsv(void)
{
    result *res = result_alloc();
    char hex[65];
    read_str("hash\tnote\tid\n" H1 "\ta\\tb\\nc\\\\d\\re\\x\\\tX\n" H2 "\t\\\t\\\\\\\\\r\n",
             "l.tsv", PHM_HASHLIST_AUTO, res);
    IS_INT(res->fmt, PHM_HASHLIST_TSV, "tsv: detected");
    IS_INT(res->nerr, 0, "tsv: no errors");
    IS_INT(res->nrec, 2, "tsv: two records");
    IS_STR(res->rec[0].note, "a\tb\nc\\d\re\\x\\", "tsv: escapes undone, others kept");
    IS_STR(res->rec[0].id, "X", "tsv: id");
    IS_STR(hex_of(&res->rec[1], hex), H2, "tsv: CRLF line");
    IS_STR(res->rec[1].note, "\\", "tsv: a lone trailing backslash is kept");
    IS_STR(res->rec[1].id, "\\\\", "tsv: \\\\\\\\ is two backslashes");
    free(res);
}

static void test_jsonl(void)
{
    result *res = result_alloc();
    char hex[65];
    read_str("{\"hash\":\"" H1 "\",\"quality\":88,\"source\":\"s\",\"id\":\"i\","
             "\"category\":\"c\",\"note\":\"n \\\"q\\\" \\u00e9 \\ud83d\\ude00\","
             "\"added\":\"2024-01-02T03:04:05Z\",\"md5\":null,"
             "\"sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\","
             "\"extra\":[1,2]}\n"
             "\n"
             "  {\"pdq\":\"" H2 "\",\"bank_content_id\":42,\"label\":\"x\",\"time\":1700000000,"
             "\"quality\":null}  \n"
             "{\"signal\":\"" H3 "\",\"name\":\"nm\",\"other\":1}\n",
             "l.jsonl", PHM_HASHLIST_AUTO, res);
    IS_INT(res->fmt, PHM_HASHLIST_JSONL, "jsonl: detected");
    IS_INT(res->nerr, 0, "jsonl: no errors");
    if (res->nerr)
        printf("# %s\n", res->err[0]);
    IS_INT(res->nrec, 3, "jsonl: three records");
    const snap *a = &res->rec[0], *b = &res->rec[1];
    IS_STR(hex_of(a, hex), H1, "jsonl: hash");
    OK(a->quality == 88 && strcmp(a->source, "s") == 0 && strcmp(a->id, "i") == 0 &&
           strcmp(a->category, "c") == 0,
       "jsonl: quality, source, id, category");
    IS_STR(a->note, "n \"q\" \xc3\xa9 \xf0\x9f\x98\x80", "jsonl: escapes and a surrogate pair");
    OK(a->added == 1704164645 && a->has == (PHM_SIG_PDQ | PHM_SIG_SHA256), "jsonl: time and digest");
    IS_STR(b->id, "42", "jsonl: an integer id");
    OK(b->quality == -1 && b->added == 1700000000 && strcmp(b->category, "x") == 0,
       "jsonl: synonyms, null quality, integer time");
    IS_STR(res->rec[2].id, "nm", "jsonl: 'name' is the id when there is no id");
    IS_INT(res->nwarn, 1, "jsonl: one warning for unknown keys");
    IS_STR(res->warn[0], "l.jsonl:1: ignoring unknown key \"extra\" (and any others in this file)",
           "jsonl: the warning names the key");
    free(res);

    /* "path_hex": the exact bytes of a name that is not UTF-8, as phmatch
     * hash writes it; it wins over "path", not over "id" */
    res = result_alloc();
    read_str("{\"path\":\"caf\ufffd\",\"path_hex\":\"636166e9\",\"pdq\":\"" H1 "\"}\n"
             "{\"id\":\"x\",\"path_hex\":\"636166e9\",\"pdq\":\"" H1 "\"}\n"
             "{\"path_hex\":\"63616\",\"pdq\":\"" H1 "\"}\n",
             "p.jsonl", PHM_HASHLIST_JSONL, res);
    OK(res->nrec == 2 && strcmp(res->rec[0].id, "caf\xe9") == 0 &&
           strcmp(res->rec[1].id, "x") == 0,
       "jsonl: path_hex gives the name's bytes, id wins over it");
    OK(res->nerr == 1 && strstr(res->err[0], "p.jsonl:3: \"path_hex\" must be") != NULL,
       "jsonl: a path_hex that is not pairs of hex digits is an error");
    free(res);
}

/* ---------------------------------------------------------------- */
/* Errors                                                            */

/* One line of `fmt` (with `header` first for csv/tsv) must give exactly
 * the error `want`. */
static void expect_error(phm_hashlist_format fmt, const char *header, const char *line,
                         const char *want, const char *what)
{
    char text[1024];
    result *res = result_alloc();
    /* a good last line, with as many fields as the header */
    char tail[64] = "";
    size_t nt = 0;
    if (fmt == PHM_HASHLIST_PDQ)
        snprintf(tail, sizeof tail, ",50,last");
    for (const char *h = header; h && *h && nt + 1 < sizeof tail; h++)
        if (*h == ',' || *h == '\t')
            tail[nt++] = *h;
    snprintf(text, sizeof text, "%s%s%s\n" H3 "%s\n", header ? header : "", header ? "\n" : "",
             line, tail);
    if (fmt == PHM_HASHLIST_JSONL)
        snprintf(text, sizeof text, "%s\n{\"hash\":\"" H3 "\"}\n", line);
    if (fmt == PHM_HASHLIST_HMA)
        snprintf(text, sizeof text, "%s\npdq " H3 "\n", line);
    read_str(text, "f.txt", fmt, res);
    int ok = res->nerr == 1 && strcmp(res->err[0], want) == 0 && res->nrec == 1 &&
             res->fatal == 0;
    OK(ok, "%s: %s", phm_hashlist_format_name(fmt), what);
    if (!ok)
        printf("#   got %d errors ('%s'), %d records, want '%s'\n", res->nerr,
               res->nerr ? res->err[0] : "", res->nrec, want);
    free(res);
}

#define CSVH "hash,quality,id,note"
#define TSVH "hash\tquality\tid\tnote"

static void test_errors(void)
{
    expect_error(PHM_HASHLIST_HEX, NULL, "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2",
                 "f.txt:1: invalid hash: 63 hex digits, expected 64", "wrong-length hex");
    expect_error(PHM_HASHLIST_HEX, NULL, H1 "0", "f.txt:1: invalid hash: 65 hex digits, expected 64",
                 "one digit too many");
    expect_error(PHM_HASHLIST_HEX, NULL, "f8f8g0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
                 "f.txt:1: invalid hash: 'g' at position 5 is not a hex digit", "non-hex character");
    expect_error(PHM_HASHLIST_HEX, NULL, "f8f8\x1b[2Jf4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
                 "f.txt:1: invalid hash: '?' at position 5 is not a hex digit",
                 "control characters are not echoed");
    expect_error(PHM_HASHLIST_HEX, NULL, H1 " " H2, "f.txt:1: invalid hash: ' ' at position 65 is not a hex digit",
                 "two hashes on a line");
    expect_error(PHM_HASHLIST_PDQ, NULL, H1 ",101,x", "f.txt:1: quality '101' is out of range 0..100",
                 "quality over 100");
    expect_error(PHM_HASHLIST_PDQ, NULL, H1 ",-1,x", "f.txt:1: invalid quality '-1': not an integer 0..100",
                 "negative quality");
    expect_error(PHM_HASHLIST_PDQ, NULL, H1 ",9x,x", "f.txt:1: invalid quality '9x': not an integer 0..100",
                 "quality not a number");
    expect_error(PHM_HASHLIST_PDQ, NULL, H1 ",99999999999999999999999,x",
                 "f.txt:1: invalid quality '99999999999999999999999': not an integer 0..100",
                 "huge quality");
    expect_error(PHM_HASHLIST_PDQ, NULL, H1, "f.txt:1: expected 'hash,quality,name'", "no comma");
    expect_error(PHM_HASHLIST_PDQ, NULL, H1 ",1,C:\\imgs\\a.jpg",
                 "f.txt:1: invalid escape '\\img' in the name: the escapes are \\\\ \\n \\r "
                 "\\t and \\xHH (not \\x00)",
                 "pdq: a backslash that starts no escape");
    expect_error(PHM_HASHLIST_PDQ, NULL, H1 ",1,a\\x00",
                 "f.txt:1: invalid escape '\\x00' in the name: the escapes are \\\\ \\n "
                 "\\r \\t and \\xHH (not \\x00)",
                 "pdq: \\x00");
    expect_error(PHM_HASHLIST_PDQ, NULL, H1 ",1,a\\x4",
                 "f.txt:1: invalid escape '\\x4' in the name: the escapes are \\\\ \\n "
                 "\\r \\t and \\xHH (not \\x00)",
                 "pdq: \\x and one digit");
    expect_error(PHM_HASHLIST_PDQ, NULL, H1 ",1,end\\",
                 "f.txt:1: invalid escape '\\' in the name: the escapes are \\\\ \\n "
                 "\\r \\t and \\xHH (not \\x00)",
                 "pdq: a backslash at the end");
    expect_error(PHM_HASHLIST_PDQ, NULL, ",50,x", "f.txt:1: missing hash", "empty hash");
    expect_error(PHM_HASHLIST_CSV, CSVH, H1 ",1,x\"y,z", "f.txt:2: unexpected quote in unquoted field 3",
                 "quote inside an unquoted field");
    expect_error(PHM_HASHLIST_CSV, CSVH, H1 ",1,\"x\"y,z",
                 "f.txt:2: unexpected text after the closing quote of field 3",
                 "text after a closing quote");
    expect_error(PHM_HASHLIST_CSV, CSVH, H1 ",1,x", "f.txt:2: 3 fields, the header has 4",
                 "too few fields");
    expect_error(PHM_HASHLIST_CSV, CSVH, H1 ",1,x,y,z", "f.txt:2: 5 fields, the header has 4",
                 "too many fields");
    expect_error(PHM_HASHLIST_TSV, TSVH, H1 "\t1\tx", "f.txt:2: 3 fields, the header has 4",
                 "too few fields");
    expect_error(PHM_HASHLIST_CSV, "hash,md5", H1 ",d41d8cd98f00b204e9800998ecf8427",
                 "f.txt:2: invalid md5: 31 hex digits, expected 32", "short md5");
    expect_error(PHM_HASHLIST_CSV, "hash,sha1", H1 ",z",
                 "f.txt:2: invalid sha1: 'z' at position 1 is not a hex digit", "non-hex sha1");
    expect_error(PHM_HASHLIST_CSV, "hash,added", H1 ",2023-02-29T00:00:00Z",
                 "f.txt:2: invalid added time '2023-02-29T00:00:00Z': expected unix seconds or "
                 "YYYY-MM-DDTHH:MM:SSZ (1970 to 9999)",
                 "a day that does not exist");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\": \"" H1 "\"",
                 "f.txt:1: invalid JSON at column 75: '}' expected near end of file",
                 "bad JSON");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\"} x",
                 "f.txt:1: invalid JSON at column 77: end of file expected near 'x'",
                 "text after the object");
    expect_error(PHM_HASHLIST_JSONL, NULL, "[\"" H1 "\"]", "f.txt:1: expected a JSON object",
                 "not an object");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"hash\":\"" H1 "\"}",
                 "f.txt:1: invalid JSON at column 81: duplicate object key near '\"hash\"'",
                 "duplicate key");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"pdq\":\"" H1 "\"}",
                 "f.txt:1: duplicate key: \"hash\" and \"pdq\" name the same field",
                 "two keys for the hash");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"quality\":5}",
                 "f.txt:1: missing hash: no pdq, md5, sha1 or sha256 value",
                 "no hash");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"quality\":\"5\"}",
                 "f.txt:1: \"quality\" must be an integer 0..100", "quality as a string");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"quality\":5.0}",
                 "f.txt:1: \"quality\" must be an integer 0..100", "quality as a real");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"quality\":-3}",
                 "f.txt:1: quality -3 is out of range 0..100", "negative quality");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"note\":5}",
                 "f.txt:1: \"note\" must be a string", "note as a number");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"note\":\"a\\u0000b\"}",
                 "f.txt:1: invalid JSON at column 92: a string holds \\u0000 (NUL)",
                 "a NUL in a string");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"note\":\"\xff\"}",
                 "f.txt:1: invalid JSON at column 83: unable to decode byte 0xff near '\"'",
                 "invalid UTF-8");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"added\":-1}",
                 "f.txt:1: added time -1 is out of range (1970 to 9999)", "negative time");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"added\":true}",
                 "f.txt:1: \"added\" must be an integer or a string", "time as a boolean");
    expect_error(PHM_HASHLIST_JSONL, NULL, "{\"hash\":\"" H1 "\",\"signal_type\":\"photo_md5\"}",
                 "f.txt:1: signal type 'photo_md5' is not pdq", "another signal type");
}

/* Errors that need more than one line of text. */
static void test_errors_long(void)
{
    result *res = result_alloc();
    size_t big = PHM_HASHLIST_LINE_MAX + 10;
    char *text = malloc(big + 400);
    size_t n = 0;

    /* An overlong line is reported and reading goes on after it. */
    n = (size_t)snprintf(text, 400, "%s\n", H1);
    memset(text + n, 'a', big);
    n += big;
    n += (size_t)snprintf(text + n, 400, "\n%s\n", H2);
    read_mem(text, n, "long.hex", PHM_HASHLIST_HEX, NULL, res);
    OK(res->nrec == 2 && res->nerr == 1, "overlong line: one error, the lines around it read");
    IS_STR(res->err[0], "long.hex:2: line longer than 65536 bytes", "overlong line: message");
    IS_INT((int)res->rec_line[1], 3, "overlong line: line numbers go on");

    /* ... also when it is the last line, without a newline */
    n = (size_t)snprintf(text, 400, "%s\n", H1);
    memset(text + n, 'a', big);
    n += big;
    read_mem(text, n, "long.hex", PHM_HASHLIST_HEX, NULL, res);
    OK(res->nrec == 1 && res->nerr == 1 && strcmp(res->err[0], "long.hex:2: line longer than 65536 bytes") == 0,
       "overlong last line without a newline");

    /* The longest line allowed is read: a pdq name of exactly the limit is
     * too long for the id, so the error is the field's, not the line's. */
    n = (size_t)snprintf(text, 400, "%s,1,", H1);
    memset(text + n, 'n', PHM_HASHLIST_LINE_MAX - n);
    n = PHM_HASHLIST_LINE_MAX;
    text[n++] = '\n';
    read_mem(text, n, "max.pdq", PHM_HASHLIST_PDQ, NULL, res);
    IS_STR(res->err[0], "max.pdq:1: name is longer than 256 bytes (65469)",
           "a line of exactly 65536 bytes is read");

    /* A csv quoted field that never closes stops at the record limit. */
    n = (size_t)snprintf(text, 400, "hash,note\n%s,\"", H1);
    for (int i = 0; n < big + 200; i++)
        n += (size_t)snprintf(text + n, 400, "line %d\n", i);
    read_mem(text, n, "q.csv", PHM_HASHLIST_CSV, NULL, res);
    OK(res->nerr >= 1 && strcmp(res->err[0], "q.csv:2: record longer than 65536 bytes") == 0,
       "runaway quote: record longer than the limit");

    /* ... and one that closes at the end of the file is unterminated */
    static const char unterminated[] = "hash,note\n" H1 ",\"one\ntwo\n" H2 ",x\n";
    read_mem(unterminated, sizeof unterminated - 1, "u.csv", PHM_HASHLIST_CSV, NULL, res);
    OK(res->nrec == 0 && res->nerr == 1 &&
           strcmp(res->err[0], "u.csv:2: unterminated quoted field 2") == 0,
       "unterminated quote: reported at the line where the record began");

    /* A string field over its limit names the field. */
    n = (size_t)snprintf(text, 400, "hash,category,note\n%s,", H1);
    memset(text + n, 'x', 256);
    n += 256;
    n += (size_t)snprintf(text + n, 400, ",\n%s,", H2);
    memset(text + n, 'y', 255);
    n += 255;
    text[n++] = ',';
    memset(text + n, 'z', 1024);
    n += 1024;
    n += (size_t)snprintf(text + n, 400, "\n%s,,", H3);
    memset(text + n, 'z', 1025);
    n += 1025;
    text[n++] = '\n';
    read_mem(text, n, "s.csv", PHM_HASHLIST_CSV, NULL, res);
    OK(res->nerr == 2 && res->nrec == 1 && strlen(res->rec[0].category) == 255 &&
           strlen(res->rec[0].note) == 1024,
       "string fields: category 255 and note 1024 bytes read, one more refused");
    IS_STR(res->err[0], "s.csv:2: category is longer than 255 bytes (256)",
           "category too long");
    IS_STR(res->err[1], "s.csv:4: note is longer than 1024 bytes (1025)", "note too long");

    /* A NUL byte in a csv field */
    static const char nul[] = "hash,note\n" H1 ",a\0b\n" H2 ",c\n";
    read_mem(nul, sizeof nul - 1, "nul.csv", PHM_HASHLIST_CSV, NULL, res);
    OK(res->nrec == 1 && res->nerr == 1 && strcmp(res->err[0], "nul.csv:2: note contains a NUL byte") == 0,
       "a NUL byte in a string field");

    free(text);
    free(res);
}

static void expect_fatal(const char *text, phm_hashlist_format fmt, int status, const char *want,
                         const char *what)
{
    result *res = result_alloc();
    read_str(text, "h.txt", fmt, res);
    int ok = res->fatal == status && res->nrec == 0 && res->nerr == 1 &&
             strcmp(res->err[0], want) == 0;
    OK(ok, "fatal: %s", what);
    if (!ok)
        printf("#   got status %d, %d records, '%s'; want '%s'\n", res->fatal, res->nrec,
               res->nerr ? res->err[0] : "", want);
    free(res);
}

static void test_fatal(void)
{
    expect_fatal("hash,quality,pdq\n" H1 ",1," H1 "\n", PHM_HASHLIST_AUTO, PHM_ERR_UNSUPPORTED,
                 "h.txt:1: duplicate column: 'hash' (column 1) and 'pdq' (column 3) name the same field",
                 "duplicate column (synonyms)");
    expect_fatal("hash\tHASH\n", PHM_HASHLIST_TSV, PHM_ERR_UNSUPPORTED,
                 "h.txt:1: duplicate column: 'hash' (column 1) and 'HASH' (column 2) name the same field",
                 "duplicate column (case)");
    expect_fatal("quality,id\n5,x\n", PHM_HASHLIST_CSV, PHM_ERR_UNSUPPORTED,
                 "h.txt:1: the csv header names no hash column (hash, pdq, signal, signal_str, md5, sha1 "
                 "or sha256)",
                 "no hash column");
    expect_fatal("\n# c\nhash,\"quality\n", PHM_HASHLIST_CSV, PHM_ERR_UNSUPPORTED,
                 "h.txt:3: invalid header: unterminated quoted field 2", "unterminated quote in the header");
    expect_fatal("hello world\n", PHM_HASHLIST_AUTO, PHM_ERR_UNSUPPORTED,
                 "h.txt:1: cannot detect the format of this hash list (pdq, hex, hma, csv, tsv, "
                 "jsonl, vpdq, vics, ncmec, stopncii, threatexchange, threatexchange-csv, tat "
                 "or icse); name it with --format",
                 "undetectable format");
    expect_fatal(H1 "\tx\n", PHM_HASHLIST_AUTO, PHM_ERR_UNSUPPORTED,
                 "h.txt:1: the tsv header names no hash column (hash, pdq, signal, signal_str, md5, sha1 "
                 "or sha256)",
                 "a tsv file needs a header");
}

/* ---------------------------------------------------------------- */
/* Detection                                                         */

static void test_detect(void)
{
    static const struct {
        const char *text;
        phm_hashlist_format fmt;
        int nrec;
    } cases[] = {
        { H1 ",100,a\n", PHM_HASHLIST_PDQ, 1 },
        { "# c\n\n" H1 ",\n", PHM_HASHLIST_PDQ, 1 },
        { H1 "\n" H2 "\n", PHM_HASHLIST_HEX, 2 },
        { "  " H1 "\r\n", PHM_HASHLIST_HEX, 1 },
        { "pdq " H1 "\n", PHM_HASHLIST_HMA, 1 },
        { "pdq\t" H1 "\n", PHM_HASHLIST_HMA, 1 },
        { "hash,quality\n" H1 ",5\n", PHM_HASHLIST_CSV, 1 },
        { "hash\n" H1 "\n", PHM_HASHLIST_CSV, 1 },
        { "\"hash\"\n" H1 "\n", PHM_HASHLIST_CSV, 1 },
        { "hash\tquality\n" H1 "\t5\n", PHM_HASHLIST_TSV, 1 },
        { "{\"hash\":\"" H1 "\"}\n", PHM_HASHLIST_JSONL, 1 },
        { "\xef\xbb\xbfhash,id\r\n" H1 ",x\r\n", PHM_HASHLIST_CSV, 1 },
        { "\xef\xbb\xbf" H1 "\n", PHM_HASHLIST_HEX, 1 },
        { "", PHM_HASHLIST_AUTO, 0 },
        { "\n# only comments\n\n", PHM_HASHLIST_AUTO, 0 },
    };
    result *res = result_alloc();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        read_str(cases[i].text, "d", PHM_HASHLIST_AUTO, res);
        int ok = res->fmt == cases[i].fmt && res->nrec == cases[i].nrec && res->nerr == 0;
        OK(ok, "detect case %zu: %s, %d record(s)", i, phm_hashlist_format_name(cases[i].fmt),
           cases[i].nrec);
        if (!ok)
            printf("#   got %s, %d records, %d errors: %s\n", phm_hashlist_format_name(res->fmt),
                   res->nrec, res->nerr, res->nerr ? res->err[0] : "");
    }
    /* every format reads an empty file as an empty list */
    int empty_ok = 1;
    for (int f = PHM_HASHLIST_PDQ; f <= PHM_HASHLIST_JSONL; f++) {
        read_str("", "e", (phm_hashlist_format)f, res);
        empty_ok &= res->nrec == 0 && res->nerr == 0 && res->fatal == 0;
        read_str("\n\n", "e", (phm_hashlist_format)f, res);
        empty_ok &= res->nrec == 0 && res->nerr == 0 && res->fatal == 0;
    }
    OK(empty_ok, "every format reads an empty or blank file as no records");
    read_str("hash,id\n", "e", PHM_HASHLIST_CSV, res);
    OK(res->nrec == 0 && res->nerr == 0, "csv: a header and nothing else");
    free(res);
}

/* ---------------------------------------------------------------- */
/* Sample files                                                      */

static void test_samples(void)
{
    result *res = result_alloc();
    phm_hashlist_options opt = { .source = "samples" };
    char hex[65];

    if (read_file(SAMPLES "sample.pdq", PHM_HASHLIST_AUTO, &opt, res) != 0) {
        OK(0, "sample files found (run from the top of the source tree)");
        free(res);
        return;
    }
    OK(res->fmt == PHM_HASHLIST_PDQ && res->nrec == 3 && res->nerr == 0 &&
           strcmp(res->rec[1].id, "dih/bridge, flipped.jpg") == 0 &&
           strcmp(res->rec[1].source, "samples") == 0 && res->rec[2].quality == 41,
       "sample.pdq");
    read_file(SAMPLES "sample.hex", PHM_HASHLIST_AUTO, &opt, res);
    OK(res->fmt == PHM_HASHLIST_HEX && res->nrec == 3 && res->nerr == 0 &&
           strcmp(hex_of(&res->rec[0], hex), H1) == 0 && strcmp(res->rec[2].id, "5") == 0,
       "sample.hex");
    read_file(SAMPLES "sample.hma", PHM_HASHLIST_AUTO, &opt, res);
    OK(res->fmt == PHM_HASHLIST_HMA && res->nrec == 4 && res->nerr == 0 &&
           res->rec[2].has == PHM_SIG_MD5,
       "sample.hma: the video_md5 line is an MD5 entry");
    read_file(SAMPLES "sample.csv", PHM_HASHLIST_AUTO, &opt, res);
    OK(res->fmt == PHM_HASHLIST_CSV && res->nrec == 3 && res->nerr == 0 && res->nwarn == 1 &&
           strcmp(res->rec[0].note, "first, with a comma") == 0 &&
           strcmp(res->rec[1].note, "two lines\nand \"quotes\"") == 0 &&
           strcmp(res->rec[1].source, "local-case-1234") == 0 &&
           strcmp(res->rec[2].source, "samples") == 0 &&
           strcmp(res->rec[2].note, "\xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9") == 0 &&
           res->rec[0].has == (PHM_SIG_PDQ | PHM_SIG_MD5) &&
           res->rec[0].added == 1704164645,
       "sample.csv");
    read_file(SAMPLES "sample.tsv", PHM_HASHLIST_AUTO, &opt, res);
    OK(res->fmt == PHM_HASHLIST_TSV && res->nrec == 2 && res->nerr == 0 &&
           strcmp(res->rec[0].note, "tab\there, new\nline, back\\slash") == 0 &&
           res->rec[0].added == 1709251199 &&
           res->rec[0].has == (PHM_SIG_PDQ | PHM_SIG_SHA1) &&
           res->rec[1].has == (PHM_SIG_PDQ | PHM_SIG_SHA256),
       "sample.tsv");
    read_file(SAMPLES "sample.jsonl", PHM_HASHLIST_AUTO, &opt, res);
    OK(res->fmt == PHM_HASHLIST_JSONL && res->nrec == 3 && res->nerr == 0 &&
           strcmp(res->rec[0].note, "json \"quoted\" \xc3\xa9") == 0 &&
           strcmp(res->rec[1].id, "42") == 0 && strcmp(res->rec[2].id, "4") == 0,
       "sample.jsonl");
    read_file(SAMPLES "bad.pdq", PHM_HASHLIST_AUTO, &opt, res);
    OK(res->nrec == 2 && res->nerr == 4, "bad.pdq: 2 good lines, 4 bad");
    IS_STR(res->err[0], SAMPLES "bad.pdq:2: invalid hash: 8 hex digits, expected 64", "bad.pdq line 2");
    IS_STR(res->err[1], SAMPLES "bad.pdq:3: invalid hash: 'g' at position 64 is not a hex digit",
           "bad.pdq line 3");
    IS_STR(res->err[2], SAMPLES "bad.pdq:4: quality '101' is out of range 0..100", "bad.pdq line 4");
    IS_STR(res->err[3], SAMPLES "bad.pdq:5: invalid quality 'abc': not an integer 0..100",
           "bad.pdq line 5");
    IS_STR(res->rec[1].id, "last.jpg", "bad.pdq: reading went on to the last line");
    free(res);
}

/* ---------------------------------------------------------------- */
/* Round trips                                                       */

static void fill_hash(snap *rec, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        rec->pdq.w[i] = seed;
    }
    rec->has |= PHM_SIG_PDQ;
}

#define NAWK 7

/* Records with strings that each format must carry or refuse cleanly. */
static void awkward_records(snap rec[NAWK])
{
    for (int i = 0; i < NAWK; i++) {
        snap_init(&rec[i]);
        fill_hash(&rec[i], UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(i + 1));
    }
    /* commas, quotes, tabs, newlines, backslashes */
    rec[0].quality = 0;
    rec[0].added = 1;
    snprintf(rec[0].source, sizeof rec[0].source, "ncmec");
    snprintf(rec[0].id, sizeof rec[0].id, "a,b,\"c\"");
    snprintf(rec[0].category, sizeof rec[0].category, "tab\there");
    snprintf(rec[0].note, sizeof rec[0].note, "comma, \"quote\"\ttab\nnewline\r\ncrlf\\back\\\\");
    rec[0].has |= PHM_SIG_MD5;
    memset(rec[0].md5, 0xab, sizeof rec[0].md5);
    /* nothing known but the hash and an id */
    snprintf(rec[1].id, sizeof rec[1].id, "x");
    /* every field at its limit */
    rec[2].quality = 100;
    rec[2].added = PHM_HASHLIST_TIME_MAX;
    memset(rec[2].source, 's', PHM_HASHLIST_SOURCE_MAX);
    memset(rec[2].id, 'i', PHM_HASHLIST_ID_MAX);
    memset(rec[2].category, 'c', PHM_HASHLIST_CATEGORY_MAX);
    memset(rec[2].note, '"', PHM_HASHLIST_NOTE_MAX);
    rec[2].has |= PHM_SIG_MD5 | PHM_SIG_SHA1 | PHM_SIG_SHA256;
    for (int k = 0; k < 32; k++) {
        rec[2].sha256[k] = (uint8_t)(k * 8 + 7);
        if (k < 20)
            rec[2].sha1[k] = (uint8_t)(255 - k);
        if (k < 16)
            rec[2].md5[k] = (uint8_t)k;
    }
    /* non-ASCII UTF-8, U+2028, blanks that must stay, text like a comment */
    rec[3].quality = 49;
    rec[3].added = 1709251199;
    snprintf(rec[3].source, sizeof rec[3].source, "caf\xc3\xa9 \xe2\x9c\x93");
    snprintf(rec[3].id, sizeof rec[3].id, "  padded  ");
    snprintf(rec[3].category, sizeof rec[3].category, "\xe2\x80\xa8line sep\xe2\x80\xa9");
    snprintf(rec[3].note, sizeof rec[3].note, "#not a comment \xf0\x9f\x98\x80");
    /* quotes alone, a formula-looking string, control characters */
    rec[4].quality = 50;
    snprintf(rec[4].id, sizeof rec[4].id, "\"");
    snprintf(rec[4].source, sizeof rec[4].source, "=SUM(A1)");
    snprintf(rec[4].note, sizeof rec[4].note, "\x01\x1b[31m\x7f end");
    rec[4].has |= PHM_SIG_SHA1;
    /* JSON-looking and pdq-looking strings, a lone CR */
    rec[5].quality = 1;
    snprintf(rec[5].id, sizeof rec[5].id, "{\"hash\":1}, x");
    snprintf(rec[5].note, sizeof rec[5].note, "\r");
    snprintf(rec[5].category, sizeof rec[5].category, H1 ",50,");
    /* backslash sequences tsv must not misread */
    snprintf(rec[6].id, sizeof rec[6].id, "\\t\\n\\\\");
    snprintf(rec[6].note, sizeof rec[6].note, "\\");
    snprintf(rec[6].source, sizeof rec[6].source, "pdq %s", H2);
}

/* What `fmt` carries of `a` must be in `b`; the rest must be defaults. */
static int same_carried(phm_hashlist_format fmt, const snap *a,
                        const snap *b, uint64_t line, char *why, size_t whylen)
{
    char lineid[32];
    snprintf(lineid, sizeof lineid, "%llu", (unsigned long long)line);
    if (memcmp(&a->pdq, &b->pdq, sizeof a->pdq) != 0)
        return snprintf(why, whylen, "hash"), 0;
    int all = fmt == PHM_HASHLIST_CSV || fmt == PHM_HASHLIST_TSV || fmt == PHM_HASHLIST_JSONL;
    int q = all || fmt == PHM_HASHLIST_PDQ;
    if (b->quality != (q ? a->quality : -1))
        return snprintf(why, whylen, "quality %d", b->quality), 0;
    if (strcmp(b->id, q ? a->id : lineid) != 0)
        return snprintf(why, whylen, "id '%s'", b->id), 0;
    if (strcmp(b->source, all ? a->source : "") != 0)
        return snprintf(why, whylen, "source '%s'", b->source), 0;
    if (strcmp(b->category, all ? a->category : "") != 0)
        return snprintf(why, whylen, "category '%s'", b->category), 0;
    if (strcmp(b->note, all ? a->note : "") != 0)
        return snprintf(why, whylen, "note '%s'", b->note), 0;
    if (b->added != (all ? a->added : 0))
        return snprintf(why, whylen, "added %lld", (long long)b->added), 0;
    if (b->has != (all ? a->has : (unsigned)PHM_SIG_PDQ))
        return snprintf(why, whylen, "digest bits %u", b->has), 0;
    if (((b->has & PHM_SIG_MD5) && memcmp(a->md5, b->md5, 16)) ||
        ((b->has & PHM_SIG_SHA1) && memcmp(a->sha1, b->sha1, 20)) ||
        ((b->has & PHM_SIG_SHA256) && memcmp(a->sha256, b->sha256, 32)))
        return snprintf(why, whylen, "digest bytes"), 0;
    return 1;
}

/* Writes `n` records in `fmt`, reads them back, compares. */
static void round_trip(phm_hashlist_format fmt, const snap *recs, int n,
                       const char *what)
{
    char *buf = NULL, err[PHM_HASHLIST_ERRMSG_MAX], why[128] = "";
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    int ok = phm_hashlist_write_header(out, fmt) == PHM_OK;
    for (int i = 0; i < n && ok; i++) {
        int rc = snap_write(out, fmt, &recs[i], err, sizeof err);
        ok = rc == PHM_OK;
        if (!ok)
            printf("#   write %d: %d %s\n", i, rc, err);
    }
    fclose(out);
    result *res = result_alloc();
    if (ok) {
        read_mem(buf, len, "rt", PHM_HASHLIST_AUTO, NULL, res);
        ok = res->fmt == fmt && res->nerr == 0 && res->nrec == n;
        if (!ok)
            printf("#   read back as %s: %d records, %d errors %s\n",
                   phm_hashlist_format_name(res->fmt), res->nrec, res->nerr,
                   res->nerr ? res->err[0] : "");
        for (int i = 0; ok && i < n; i++) {
            ok = same_carried(fmt, &recs[i], &res->rec[i], res->rec_line[i], why, sizeof why);
            if (!ok)
                printf("#   record %d differs: %s\n", i, why);
        }
        /* and writing what was read gives the same bytes */
        if (ok && (fmt == PHM_HASHLIST_CSV || fmt == PHM_HASHLIST_TSV || fmt == PHM_HASHLIST_JSONL ||
                   fmt == PHM_HASHLIST_PDQ)) {
            char *buf2 = NULL;
            size_t len2 = 0;
            FILE *out2 = open_memstream(&buf2, &len2);
            phm_hashlist_write_header(out2, fmt);
            for (int i = 0; i < n; i++)
                snap_write(out2, fmt, &res->rec[i], NULL, 0);
            fclose(out2);
            ok = len2 == len && memcmp(buf, buf2, len) == 0;
            if (!ok)
                printf("#   second export differs\n");
            free(buf2);
        }
    }
    OK(ok, "round trip %s: %s", phm_hashlist_format_name(fmt), what);
    free(res);
    free(buf);
}

static void test_round_trips(void)
{
    snap recs[NAWK];
    awkward_records(recs);
    for (int f = PHM_HASHLIST_PDQ; f <= PHM_HASHLIST_JSONL; f++) {
        phm_hashlist_format fmt = (phm_hashlist_format)f;
        round_trip(fmt, recs, NAWK, "awkward strings, every field at its limit");
    }

    /* bytes that are not UTF-8: csv, tsv and pdq carry them, jsonl refuses */
    snap bin;
    snap_init(&bin);
    fill_hash(&bin, 7);
    snprintf(bin.id, sizeof bin.id, "latin1 caf\xe9 \xff\xfe");
    snprintf(bin.note, sizeof bin.note, "\xc0\x80 overlong \xed\xa0\x80 surrogate");
    round_trip(PHM_HASHLIST_CSV, &bin, 1, "bytes that are not UTF-8");
    round_trip(PHM_HASHLIST_TSV, &bin, 1, "bytes that are not UTF-8");
    round_trip(PHM_HASHLIST_PDQ, &bin, 1, "bytes that are not UTF-8 in the name");
    char err[PHM_HASHLIST_ERRMSG_MAX];
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    int rc = snap_write(out, PHM_HASHLIST_JSONL, &bin, err, sizeof err);
    fflush(out);
    OK(rc == PHM_ERR_UNSUPPORTED && len == 0, "jsonl refuses text that is not UTF-8");
    IS_STR(err, "id is not valid UTF-8, which jsonl cannot carry", "jsonl: the refusal names the field");

    /* pdq escapes a line break in the name: one line, read back as it was */
    snap nl = recs[1];
    snprintf(nl.id, sizeof nl.id, "two\nlines");
    char *nbuf = NULL;
    size_t nlen = 0;
    FILE *nout = open_memstream(&nbuf, &nlen);
    rc = snap_write(nout, PHM_HASHLIST_PDQ, &nl, err, sizeof err);
    fclose(nout);
    OK(rc == PHM_OK && nlen > 0 && memchr(nbuf, '\n', nlen) == nbuf + nlen - 1,
       "pdq writes a line break in the name as an escape, on one line");
    free(nbuf);
    round_trip(PHM_HASHLIST_PDQ, &nl, 1, "a line break in the name");

    /* out-of-range values are refused by every format */
    snap badq = recs[1];
    badq.quality = 101;
    rc = snap_write(out, PHM_HASHLIST_HEX, &badq, err, sizeof err);
    OK(rc == PHM_ERR_UNSUPPORTED, "quality 101 refused");
    badq = recs[1];
    badq.added = -5;
    rc = snap_write(out, PHM_HASHLIST_CSV, &badq, err, sizeof err);
    OK(rc == PHM_ERR_UNSUPPORTED, "a negative time refused");
    badq = recs[1];
    memset(badq.note, 'x', sizeof badq.note);
    rc = snap_write(out, PHM_HASHLIST_TSV, &badq, err, sizeof err);
    OK(rc == PHM_ERR_UNSUPPORTED, "an unterminated string refused");
    fflush(out);
    IS_INT((int)len, 0, "nothing written for refused records");
    OK(snap_write(out, PHM_HASHLIST_AUTO, &recs[1], NULL, 0) == PHM_ERR_INVALID &&
           phm_hashlist_write_header(out, PHM_HASHLIST_AUTO) == PHM_ERR_INVALID,
       "writing 'auto' is an invalid argument");
    fclose(out);
    free(buf);

    /* the exact text of each format for one record */
    snap one;
    snap_init(&one);
    phm_pdq_from_hex(H1, 64, &one.pdq);
    one.quality = 90;
    one.added = 1704164645;
    snprintf(one.source, sizeof one.source, "ncmec");
    snprintf(one.id, sizeof one.id, "a,\"b\"");
    snprintf(one.category, sizeof one.category, "c\td");
    snprintf(one.note, sizeof one.note, "n\n");
    one.has = PHM_SIG_PDQ | PHM_SIG_MD5;
    memset(one.md5, 0x0f, 16);
    static const struct {
        phm_hashlist_format fmt;
        const char *text;
    } exact[] = {
        { PHM_HASHLIST_PDQ, H1 ",90,a,\"b\"\n" },
        { PHM_HASHLIST_HEX, H1 "\n" },
        { PHM_HASHLIST_HMA, "pdq " H1 "\n" },
        { PHM_HASHLIST_CSV, "hash,quality,source,id,category,note,added,md5,sha1,sha256\n" H1
                        ",90,ncmec,\"a,\"\"b\"\"\",c\td,\"n\n\",2024-01-02T03:04:05Z,"
                        "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f,,\n" },
        { PHM_HASHLIST_TSV, "hash\tquality\tsource\tid\tcategory\tnote\tadded\tmd5\tsha1\tsha256\n" H1
                        "\t90\tncmec\ta,\"b\"\tc\\td\tn\\n\t2024-01-02T03:04:05Z\t"
                        "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\t\t\n" },
        { PHM_HASHLIST_JSONL, "{\"hash\":\"" H1 "\",\"quality\":90,\"source\":\"ncmec\","
                          "\"id\":\"a,\\\"b\\\"\",\"category\":\"c\\td\",\"note\":\"n\\n\","
                          "\"added\":\"2024-01-02T03:04:05Z\","
                          "\"md5\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"sha1\":null,"
                          "\"sha256\":null}\n" },
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        buf = NULL;
        len = 0;
        out = open_memstream(&buf, &len);
        phm_hashlist_write_header(out, exact[i].fmt);
        snap_write(out, exact[i].fmt, &one, NULL, 0);
        fclose(out);
        IS_STR(buf, exact[i].text, "exact %s output", phm_hashlist_format_name(exact[i].fmt));
        free(buf);
    }
}

/* Records with exact digests and no PDQ hash (forensic hash sets). */
static void test_digest_only(void)
{
    result *res = result_alloc();
    read_str("MD5,id\nd41d8cd98f00b204e9800998ecf8427e,case-1\n", "m.csv", PHM_HASHLIST_AUTO, res);
    OK(res->nrec == 1 && res->nerr == 0 && res->rec[0].has == PHM_SIG_MD5 &&
           res->rec[0].md5[0] == 0xd4 && res->rec[0].pdq.w[0] == 0 && res->rec[0].pdq.w[3] == 0,
       "csv: an md5-only list");
    read_str("hash\tsha1\n\tda39a3ee5e6b4b0d3255bfef95601890afd80709\n\t\n" H1 "\t\n",
             "m.tsv", PHM_HASHLIST_AUTO, res);
    OK(res->nrec == 2 && res->nerr == 1 && res->rec[0].has == PHM_SIG_SHA1 &&
           res->rec[1].has == PHM_SIG_PDQ,
       "tsv: an empty hash with a digest, a hash without one");
    IS_STR(res->err[0], "m.tsv:3: missing hash: no pdq, md5, sha1 or sha256 value",
           "tsv: a row with no hash at all");
    read_str("{\"sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\","
             "\"hash\":null}\n",
             "m.jsonl", PHM_HASHLIST_AUTO, res);
    OK(res->nrec == 1 && res->rec[0].has == PHM_SIG_SHA256, "jsonl: a sha256-only record");

    snap rec;
    snap_init(&rec);
    rec.has = PHM_SIG_MD5 | PHM_SIG_SHA256;
    memset(rec.md5, 0x5a, sizeof rec.md5);
    memset(rec.sha256, 0xa5, sizeof rec.sha256);
    snprintf(rec.id, sizeof rec.id, "digest-only");
    snprintf(rec.note, sizeof rec.note, "no pdq, \"quoted\"");
    round_trip(PHM_HASHLIST_CSV, &rec, 1, "no PDQ hash, md5 and sha256");
    round_trip(PHM_HASHLIST_TSV, &rec, 1, "no PDQ hash, md5 and sha256");
    round_trip(PHM_HASHLIST_JSONL, &rec, 1, "no PDQ hash, md5 and sha256");
    char err[PHM_HASHLIST_ERRMSG_MAX];
    static const phm_hashlist_format line_formats[] = { PHM_HASHLIST_PDQ, PHM_HASHLIST_HEX, PHM_HASHLIST_HMA };
    for (size_t i = 0; i < 3; i++) {
        char want[128];
        int rc = snap_write(stdout, line_formats[i], &rec, err, sizeof err);
        snprintf(want, sizeof want, "the record has no pdq hash, which %s needs",
                 phm_hashlist_format_name(line_formats[i]));
        OK(rc == PHM_ERR_UNSUPPORTED && strcmp(err, want) == 0,
           "%s refuses a record without a PDQ hash", phm_hashlist_format_name(line_formats[i]));
    }
    snap_init(&rec);
    OK(snap_write(stdout, PHM_HASHLIST_CSV, &rec, err, sizeof err) ==
               PHM_ERR_UNSUPPORTED &&
           strcmp(err, "the record has no hash (pdq, md5, sha1 or sha256)") == 0,
       "a record without any hash is refused");
    free(res);
}

/* Videos: only jsonl carries their frames ("vpdq"), on a line that may be
 * far longer than PHM_HASHLIST_LINE_MAX; other writers refuse them. */
static void test_video(void)
{
    enum { NF = 3000 }; /* about 240 KB of vPDQ lines: a long line */
    phm_vpdq v;
    phm_vpdq_init(&v);
    for (int i = 0; i < NF; i++) {
        phm_vpdq_frame f = { .frame = (uint64_t)i * 30, .quality = i % 101,
                             .timestamp = i * 1.0 };
        f.hash.w[i % 4] = 0x9e3779b97f4a7c15ull * (uint64_t)(unsigned)(i + 1);
        if (phm_vpdq_append(&v, &f))
            exit(2);
    }
    snap rec;
    snap_init(&rec);
    rec.has = PHM_SIG_VPDQ | PHM_SIG_MD5;
    memset(rec.md5, 0x11, sizeof rec.md5);
    rec.video = &v;
    snprintf(rec.source, sizeof rec.source, "lab");
    snprintf(rec.id, sizeof rec.id, "clip-1");
    char err[PHM_HASHLIST_ERRMSG_MAX], *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    snap img;
    snap_init(&img);
    img.has = PHM_SIG_PDQ;
    snprintf(img.source, sizeof img.source, "lab");
    snprintf(img.id, sizeof img.id, "img");
    int wrc = snap_write(out, PHM_HASHLIST_JSONL, &rec, err, sizeof err);
    wrc |= snap_write(out, PHM_HASHLIST_JSONL, &img, err, sizeof err);
    wrc |= snap_write(out, PHM_HASHLIST_JSONL, &rec, err, sizeof err);
    fclose(out);
    IS_INT(wrc, PHM_OK, "jsonl: a video written");
    OK(len > 2 * PHM_HASHLIST_LINE_MAX, "... on lines longer than the line limit (%zu bytes)", len);

    /* read back: video, image, video; the frames exactly */
    FILE *in = fmemopen(buf, len, "r");
    phm_hashlist_reader *rd;
    phm_hashlist_options vopt = { .allow_video = 1 };
    phm_hashlist_reader_open(&rd, in, "v.jsonl", PHM_HASHLIST_AUTO, &vopt, err, sizeof err);
    int got[3] = { 0 }, same = 0;
    for (int i = 0; i < 3; i++) {
        snap r;
        got[i] = snap_read(rd, &r, err, sizeof err);
        if (got[i] != PHM_HASHLIST_RECORD)
            printf("# read %d: %s\n", i, err);
        if (got[i] == PHM_HASHLIST_RECORD && i != 1 && r.has == rec.has && r.video &&
            r.video->count == NF && strcmp(r.id, "clip-1") == 0 && r.md5[0] == 0x11) {
            size_t k = 0;
            while (k < NF && r.video->frames[k].frame == v.frames[k].frame &&
                   r.video->frames[k].quality == v.frames[k].quality &&
                   r.video->frames[k].timestamp == v.frames[k].timestamp &&
                   memcmp(&r.video->frames[k].hash, &v.frames[k].hash, sizeof(phm_pdq)) == 0)
                k++;
            same += k == NF;
        }
        if (got[i] == PHM_HASHLIST_RECORD && i == 1)
            same += r.has == PHM_SIG_PDQ && !r.video && strcmp(r.id, "img") == 0;
    }
    IS_INT(same, 3, "jsonl: two videos and an image read back, frames exact");
    snap r;
    IS_INT(snap_read(rd, &r, err, sizeof err), PHM_HASHLIST_EOF, "... then the end");
    phm_hashlist_reader_close(rd);
    fclose(in);
    free(buf);

    static const phm_hashlist_format others[] = { PHM_HASHLIST_PDQ, PHM_HASHLIST_HEX, PHM_HASHLIST_HMA,
                                              PHM_HASHLIST_CSV, PHM_HASHLIST_TSV };
    for (size_t i = 0; i < 5; i++) {
        int rc = snap_write(stdout, others[i], &rec, err, sizeof err);
        OK(rc == PHM_ERR_UNSUPPORTED && strstr(err, "a video's frames"),
           "%s refuses a video: %s", phm_hashlist_format_name(others[i]), err);
    }

    result *res = result_alloc();
    read_str("{\"id\":\"d\",\"vpdq\":[\"0,100," H1 ",0.000\"]}\n", "q.jsonl", PHM_HASHLIST_AUTO,
             res);
    IS_STR(res->err[0], "q.jsonl:1: a video (\"vpdq\") is not a hash to look up: match its "
           "vPDQ file with 'phmatch match'", "videos only where allowed");
    static const char bad[] =
        "{\"id\":\"a\",\"vpdq\":[\"0,100," H1 ",0.000\",\"1,100,zz,0.033\"]}\n"
        "{\"id\":\"b\",\"hash\":\"" H1 "\",\"vpdq\":[\"0,100," H1 ",0.000\"]}\n"
        "{\"id\":\"c\",\"vpdq\":[]}\n"
        "{\"id\":\"d\",\"vpdq\":[\"0,100," H1 ",0.000\"]}\n";
    phm_hashlist_options vo = { .allow_video = 1 };
    read_mem(bad, strlen(bad), "bad.jsonl", PHM_HASHLIST_AUTO, &vo, res);
    IS_INT((int)res->nrec, 1, "jsonl videos: one good record of four");
    IS_STR(res->err[0], "bad.jsonl:1: \"vpdq\" item 2 is not one vPDQ line: 1,100,zz,0.033",
           "a malformed frame line");
    IS_STR(res->err[1], "bad.jsonl:2: a video (\"vpdq\") has no \"hash\" of its own",
           "a video with a hash");
    IS_STR(res->err[2], "bad.jsonl:3: \"vpdq\" must be a non-empty array of vPDQ lines",
           "no frames");
    free(res);
    phm_vpdq_clear(&v);
}

/* Many records, for a rough speed figure (not a test of speed). */
static void test_volume(void)
{
    const int n = 200000;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    snap rec;
    snap_init(&rec);
    for (int i = 0; i < n; i++) {
        fill_hash(&rec, (uint64_t)i + 1);
        rec.quality = i % 101;
        snprintf(rec.id, sizeof rec.id, "images/%07d.jpg", i);
        snap_write(out, PHM_HASHLIST_PDQ, &rec, NULL, 0);
    }
    fclose(out);

    FILE *in = fmemopen(buf, len, "r");
    phm_hashlist_reader *rd;
    char err[PHM_HASHLIST_ERRMSG_MAX];
    int count = 0, last_ok = 0, rc;
    struct timespec t0, t1;
    phm_hashlist_reader_open(&rd, in, "volume.pdq", PHM_HASHLIST_AUTO, NULL, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while ((rc = snap_read(rd, &rec, err, sizeof err)) == PHM_HASHLIST_RECORD) {
        count++;
        last_ok = rec.quality == (count - 1) % 101;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    OK(rc == PHM_HASHLIST_EOF && count == n && last_ok, "%d pdq lines read back", n);
    printf("# pdq reading: %.2f M records/s (%.1f MB/s)\n", s > 0 ? n / s / 1e6 : 0.0,
           s > 0 ? (double)len / s / 1e6 : 0.0);
    phm_hashlist_reader_close(rd);
    fclose(in);
    free(buf);
}

static void test_api_edges(void)
{
    phm_hashlist_reader *rd = (phm_hashlist_reader *)1;
    char err[PHM_HASHLIST_ERRMSG_MAX];
    char longsrc[PHM_HASHLIST_SOURCE_MAX + 2];
    memset(longsrc, 's', sizeof longsrc - 1);
    longsrc[sizeof longsrc - 1] = '\0';
    phm_hashlist_options opt = { .source = longsrc };
    OK(phm_hashlist_reader_open(&rd, stdin, "x", PHM_HASHLIST_AUTO, &opt, err, sizeof err) ==
               PHM_ERR_INVALID &&
           rd == NULL,
       "a default source over 255 bytes is refused");
    IS_STR(err, "the default source is longer than 255 bytes", "the refusal names the option");
    OK(phm_hashlist_reader_open(&rd, NULL, "x", PHM_HASHLIST_AUTO, NULL, err, sizeof err) ==
           PHM_ERR_INVALID,
       "no stream: invalid argument");
    OK(phm_hashlist_reader_open(&rd, stdin, "x", (phm_hashlist_format)99, NULL, err, sizeof err) ==
           PHM_ERR_INVALID,
       "a format out of range: invalid argument");
    phm_hashlist_reader_close(NULL);
    OK(1, "close accepts NULL");

    /* a stream that cannot be read: a sticky I/O error */
    FILE *wo = fopen("/dev/null", "w");
    if (wo) {
        snap r1;
        phm_hashlist_reader_open(&rd, wo, "wo", PHM_HASHLIST_AUTO, NULL, err, sizeof err);
        int rc1 = snap_read(rd, &r1, err, sizeof err);
        OK(rc1 == PHM_ERR_UNREADABLE && strcmp(err, "wo:1: cannot read: Bad file descriptor") == 0,
           "read error: sticky I/O error with the system's reason");
        if (rc1 != PHM_ERR_UNREADABLE)
            printf("#   got %d '%s'\n", rc1, err);
        OK(snap_read(rd, &r1, err, sizeof err) == PHM_ERR_UNREADABLE, "read error: sticky");
        phm_hashlist_reader_close(rd);
        fclose(wo);
    }
    /* a stream that cannot be written */
    FILE *ro = fopen("/dev/null", "r");
    if (ro) {
        snap r2;
        snap_init(&r2);
        r2.has = PHM_SIG_PDQ;
        OK(snap_write(ro, PHM_HASHLIST_HEX, &r2, err, sizeof err) == PHM_ERR_UNREADABLE &&
               phm_hashlist_write_header(ro, PHM_HASHLIST_CSV) == PHM_ERR_UNREADABLE,
           "write error: PHM_ERR_UNREADABLE");
        fclose(ro);
    }

    /* a hostile file name is shown without control characters */
    result *res = result_alloc();
    read_str("nonsense here\n", "evil\n\x1b[2Jname", PHM_HASHLIST_AUTO, res);
    OK(strncmp(res->err[0], "evil??[2Jname:1: ", 17) == 0, "control bytes in the name are shown as '?'");

    /* small err buffers are filled without overflow */
    FILE *fp = fmemopen((void *)(uintptr_t)"zz\n", 3, "r");
    snap rec;
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    phm_hashlist_reader_open(&rd, fp, "f", PHM_HASHLIST_HEX, NULL, NULL, 0);
    int rc = snap_read(rd, &rec, tiny, 5);
    OK(rc == PHM_ERR_CORRUPT && strcmp(tiny, "f:1:") == 0 && tiny[5] == 'x',
       "messages are cut to the buffer");
    phm_hashlist_reader_close(rd);
    fclose(fp);
    free(res);
}

/* Readers on memory (phmatchd's request bodies) read what a FILE reader
 * reads; vPDQ files are one video entry each; the csv/tsv field writers. */
static void test_mem_and_vpdq(void)
{
    static const char *const files[] = { "sample.csv", "sample.tsv", "sample.jsonl",
                                         "sample.pdq", "sample.hex" };
    char err[PHM_HASHLIST_ERRMSG_MAX];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[256], *text = NULL;
        size_t len = 0, cap = 0;
        snprintf(path, sizeof path, SAMPLES "%s", files[i]);
        FILE *fp = fopen(path, "rb");
        int same = fp != NULL;
        for (int c; fp && (c = fgetc(fp)) != EOF;) {
            if (len + 1 >= cap) {
                cap = cap ? 2 * cap : 4096;
                char *t = realloc(text, cap);
                if (!t)
                    break;
                text = t;
            }
            text[len++] = (char)c;
        }
        if (fp)
            rewind(fp);
        phm_hashlist_reader *a = NULL, *b = NULL;
        phm_hashlist_options opt = { .source = "s" };
        same = same && phm_hashlist_reader_open(&a, fp, path, PHM_HASHLIST_AUTO, &opt, err,
                                                sizeof err) == PHM_OK &&
               phm_hashlist_reader_open_mem(&b, text, len, path, PHM_HASHLIST_AUTO, &opt, err,
                                            sizeof err) == PHM_OK;
        int n = 0;
        for (int guard = 0; same && guard < 100; guard++) {
            snap x, y;
            char e1[PHM_HASHLIST_ERRMSG_MAX], e2[PHM_HASHLIST_ERRMSG_MAX];
            int r1 = snap_read(a, &x, e1, sizeof e1), r2 = snap_read(b, &y, e2, sizeof e2);
            if (r1 != r2) {
                same = 0;
                break;
            }
            if (r1 == PHM_HASHLIST_EOF)
                break;
            if (r1 == PHM_HASHLIST_RECORD)
                same = x.has == y.has && strcmp(x.id, y.id) == 0 &&
                       strcmp(x.note, y.note) == 0 && x.quality == y.quality &&
                       memcmp(&x.pdq, &y.pdq, sizeof x.pdq) == 0;
            else
                same = strcmp(e1, e2) == 0 && r1 == PHM_ERR_CORRUPT;
            n++;
        }
        OK(same && n > 0, "%s: read from memory as from the file (%d records)", files[i], n);
        phm_hashlist_reader_close(a);
        phm_hashlist_reader_close(b);
        if (fp)
            fclose(fp);
        free(text);
    }

    /* a vPDQ file: detected, one entry, the id from the name */
    const char *v = "0,100," H1 ",0.000\r\n\n30,49," H2 ",1.001\n";
    phm_hashlist_options vo = { .source = "vid", .category = "clips", .allow_video = 1 };
    phm_hashlist_reader *rd;
    phm_entry e;
    OK(phm_hashlist_reader_open_mem(&rd, v, strlen(v), "dir/clip-7.txt", PHM_HASHLIST_AUTO, &vo,
                                    err, sizeof err) == PHM_OK,
       "vpdq: reader opened");
    int rc = phm_hashlist_read(rd, &e, err, sizeof err);
    OK(rc == PHM_HASHLIST_RECORD && phm_hashlist_reader_format(rd) == PHM_HASHLIST_VPDQ &&
           e.signals == PHM_SIG_VPDQ && e.nframes == 2 && e.frames[1].frame == 30 &&
           e.frames[1].quality == 49 && e.quality == -1 && strcmp(e.id, "clip-7") == 0 &&
           strcmp(e.source, "vid") == 0 && strcmp(e.category, "clips") == 0 &&
           phm_hashlist_reader_line(rd) == 1,
       "vpdq: the whole file is one video entry, id from the name");
    char *buf = NULL;
    size_t blen = 0;
    FILE *out = open_memstream(&buf, &blen);
    OK(out && phm_hashlist_write(out, PHM_HASHLIST_VPDQ, &e, err, sizeof err) == PHM_OK,
       "vpdq: written back");
    if (out)
        fclose(out);
    IS_STR(buf ? buf : "", "0,100," H1 ",0.000\n30,49," H2 ",1.001\n",
           "vpdq: the same lines (timestamps with 3 decimals)");
    free(buf);
    OK(phm_hashlist_read(rd, &e, err, sizeof err) == PHM_HASHLIST_EOF, "vpdq: then the end");
    phm_hashlist_reader_close(rd);

    vo.video_id = "named";
    const char *bad = "0,100," H1 ",0.000\n1,100,12zz,0.033\n2,100," H1 ",0.066\n";
    phm_hashlist_reader_open_mem(&rd, bad, strlen(bad), "b.vpdq", PHM_HASHLIST_VPDQ, &vo, err,
                                 sizeof err);
    rc = phm_hashlist_read(rd, &e, err, sizeof err);
    OK(rc == PHM_ERR_CORRUPT && strncmp(err, "b.vpdq:2: invalid vPDQ line", 27) == 0,
       "vpdq: a bad line makes the file one bad record: %s", err);
    OK(phm_hashlist_read(rd, &e, err, sizeof err) == PHM_HASHLIST_EOF, "... then the end");
    phm_hashlist_reader_close(rd);

    vo.source = NULL;
    phm_hashlist_reader_open_mem(&rd, v, strlen(v), "c.txt", PHM_HASHLIST_AUTO, &vo, err,
                                 sizeof err);
    rc = phm_hashlist_read(rd, &e, err, sizeof err);
    OK(rc == PHM_ERR_CORRUPT && strstr(err, "names no source"), "vpdq: needs a source: %s",
       err);
    phm_hashlist_reader_close(rd);
    vo.source = "vid";
    vo.allow_video = 0;
    phm_hashlist_reader_open_mem(&rd, v, strlen(v), "c.txt", PHM_HASHLIST_AUTO, &vo, err,
                                 sizeof err);
    rc = phm_hashlist_read(rd, &e, err, sizeof err);
    OK(rc == PHM_ERR_CORRUPT && strstr(err, "not a hash to look up"),
       "vpdq: refused where videos are not taken: %s", err);
    phm_hashlist_reader_close(rd);

    snap img;
    snap_init(&img);
    img.has = PHM_SIG_PDQ;
    snprintf(img.id, sizeof img.id, "x");
    OK(snap_write(stdout, PHM_HASHLIST_VPDQ, &img, err, sizeof err) == PHM_ERR_UNSUPPORTED &&
           strstr(err, "not a video"),
       "vpdq: an image is refused: %s", err);
    OK(phm_hashlist_reader_open_mem(&rd, NULL, 0, "empty", PHM_HASHLIST_AUTO, NULL, err,
                                    sizeof err) == PHM_OK &&
           phm_hashlist_read(rd, &e, err, sizeof err) == PHM_HASHLIST_EOF,
       "memory: an empty body is an empty list");
    phm_hashlist_reader_close(rd);
    OK(phm_hashlist_reader_open_mem(&rd, NULL, 5, "x", PHM_HASHLIST_AUTO, NULL, err,
                                    sizeof err) == PHM_ERR_INVALID && rd == NULL,
       "memory: NULL with a length is an invalid argument");

    buf = NULL;
    out = open_memstream(&buf, &blen);
    if (out) {
        phm_csv_fwrite(out, "a,b", 3);
        putc('|', out);
        phm_csv_fwrite(out, "say \"x\"", 7);
        putc('|', out);
        phm_csv_fwrite(out, "plain", 5);
        putc('|', out);
        phm_tsv_fwrite(out, "t\tn\nr\r\\", 7);
        fclose(out);
    }
    IS_STR(buf ? buf : "", "\"a,b\"|\"say \"\"x\"\"\"|plain|t\\tn\\nr\\r\\\\",
           "csv and tsv fields");
    free(buf);
}

int main(void)
{
    test_format_names();
    test_time();
    test_pdq();
    test_pdq_escapes();
    test_hex();
    test_hma();
    test_csv();
    test_csv_name_column();
    test_tsv();
    test_jsonl();
    test_errors();
    test_errors_long();
    test_fatal();
    test_detect();
    test_samples();
    test_round_trips();
    test_digest_only();
    test_video();
    test_volume();
    test_api_edges();
    test_mem_and_vpdq();
    return tap_done();
}
