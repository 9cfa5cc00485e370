/* test_hashlist_ahead.c - the hash-list reader's read-ahead
 * (phm_hashlist_options.read_ahead, src/lib/hashlist_ahead.c): reading a
 * list with it must give exactly what reading without it gives - every
 * record with every field, every error with its message, the warnings
 * (through the callback, on this thread, before the record they precede),
 * and the reader's line, place, skipped count and format after each read,
 * the sticky end repeated. Each list is read both ways into a transcript
 * and the two compared; the lists are the samples of every format
 * (tests/data/hashlists/, so run from the top of the source tree) and
 * generated ones that fill many batches, hold bad records, warnings,
 * multi-line csv records and one record (a video) larger than a batch.
 * Also: readers on memory, a pipe (read without the thread), and a close
 * before the end (the thread stopped while it waits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

#include "phmatch.h"

#define SAMPLES "tests/data/hashlists/"

/* A growing text, bounded by what the tests read. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

/* Room for n more bytes and a NUL in t. */
static void reserve(text *t, size_t n)
{
    if (t->cap - t->len > n)
        return;
    size_t cap = t->cap ? 2 * t->cap : 4096;
    while (cap - t->len <= n)
        cap *= 2;
    char *s = realloc(t->s, cap);
    if (!s) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    t->s = s;
    t->cap = cap;
}

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        reserve(t, (size_t)n);
    }
}

/* What add(t, "%02x", p[i]) for each byte wrote, without a vsnprintf a
 * byte: those were most of this program's time (ASan intercepts each). */
static void add_hex(text *t, const uint8_t *p, size_t n)
{
    reserve(t, 2 * n);
    phm_hex_encode(p, n, t->s + t->len);
    t->len += 2 * n;
}

static void warned(void *ctx, const char *msg)
{
    add(ctx, "W %s\n", msg);
}

/* Every field of e. */
static void add_entry(text *t, const phm_entry *e)
{
    add(t, "src=%s id=%s cat=%s note=%s sig=%u q=%d added=%lld ", e->source, e->id,
        e->category, e->note, e->signals, e->quality, (long long)e->added);
    add_hex(t, (const uint8_t *)&e->pdq, sizeof e->pdq);
    add(t, " ");
    add_hex(t, e->md5, sizeof e->md5);
    add_hex(t, e->sha1, sizeof e->sha1);
    add_hex(t, e->sha256, sizeof e->sha256);
    add(t, " pdna=%s attrs=%s nv=%zu", e->photodna ? e->photodna : "(null)",
        e->attrs ? e->attrs : "(null)", e->nvariants);
    for (size_t i = 0; i < e->nvariants; i++) {
        add(t, " %d:", e->variants[i].code);
        add_hex(t, (const uint8_t *)&e->variants[i].pdq, sizeof(phm_pdq));
    }
    add(t, " frames=%zu", e->nframes);
    for (size_t i = 0; i < e->nframes; i++) {
        const phm_vpdq_frame *f = &e->frames[i];
        add(t, " %llu/%d/%.3f/", (unsigned long long)f->frame, f->quality, f->timestamp);
        add_hex(t, (const uint8_t *)&f->hash, sizeof f->hash);
    }
    add(t, "\n");
}

/* Reads everything (and `extra` calls past the end) into a transcript;
 * stops after `most` reads (then closes the reader early). */
static void transcript(phm_hashlist_reader *rd, text *t, int extra, size_t most)
{
    phm_entry e;
    char err[PHM_HASHLIST_ERRMSG_MAX], where[PHM_HASHLIST_ERRMSG_MAX];
    int rc, after = 0;
    for (size_t n = 0; n < most; n++) {
        err[0] = 'x';
        err[1] = '\0';
        rc = phm_hashlist_read(rd, &e, err, sizeof err);
        add(t, "rc=%d line=%llu where=%s skipped=%llu fmt=%s err=%s\n", rc,
            (unsigned long long)phm_hashlist_reader_line(rd),
            phm_hashlist_reader_where(rd, where, sizeof where),
            (unsigned long long)phm_hashlist_reader_skipped(rd),
            phm_hashlist_format_name(phm_hashlist_reader_format(rd)), err);
        if (rc == PHM_HASHLIST_RECORD)
            add_entry(t, &e);
        else if (rc == PHM_HASHLIST_REMOVE)
            add(t, "remove %s %s\n", e.source, e.id);
        if (rc != PHM_HASHLIST_RECORD && rc != PHM_HASHLIST_REMOVE && rc != PHM_ERR_CORRUPT &&
            after++ == extra)
            break;
    }
}

/* The transcript of `path` read with read_ahead `ahead`: from the file,
 * or (mem) from memory. */
static int read_path(const char *path, phm_hashlist_format fmt, int ahead, int mem, text *t,
                     size_t most)
{
    char err[PHM_HASHLIST_ERRMSG_MAX];
    phm_hashlist_options opt = { .source = "s", .category = "c", .warn = warned,
                                 .warn_ctx = t, .allow_video = 1, .allow_remove = 1,
                                 .check_hashes = 1, .skip_other_signals = 1,
                                 .read_ahead = ahead };
    phm_hashlist_reader *rd = NULL;
    FILE *fp = fopen(path, "rb");
    char *data = NULL;
    int rc;
    if (!fp)
        return -1;
    if (mem) {
        fseek(fp, 0, SEEK_END);
        long n = ftell(fp);
        rewind(fp);
        data = malloc(n > 0 ? (size_t)n : 1);
        if (!data || fread(data, 1, (size_t)n, fp) != (size_t)n) {
            fclose(fp);
            free(data);
            return -1;
        }
        rc = phm_hashlist_reader_open_mem(&rd, data, (size_t)n, path, fmt, &opt, err,
                                          sizeof err);
    } else {
        rc = phm_hashlist_reader_open(&rd, fp, path, fmt, &opt, err, sizeof err);
    }
    if (rc == PHM_OK)
        transcript(rd, t, 2, most);
    else
        add(t, "open %d %s\n", rc, err);
    phm_hashlist_reader_close(rd);
    fclose(fp);
    free(data);
    return 0;
}

/* Reads path both ways and compares; the transcript must hold `must`
 * (what makes the comparison worth it: warnings, errors), unless NULL. */
static void same_both_ways(const char *path, phm_hashlist_format fmt, const char *what,
                           const char *must)
{
    for (int mem = 0; mem < 2; mem++) {
        text a = { 0 }, b = { 0 };
        int ra = read_path(path, fmt, 0, mem, &a, (size_t)-1);
        int rb = read_path(path, fmt, 1, mem, &b, (size_t)-1);
        int same = ra == 0 && rb == 0 && a.len == b.len && memcmp(a.s, b.s, a.len) == 0 &&
                   (!must || strstr(a.s, must));
        if (!OK(same, "%s (%s): the same with read-ahead (%zu bytes of transcript)", what,
                mem ? "memory" : "file", a.len)) {
            size_t i = 0;
            while (i < a.len && i < b.len && a.s[i] == b.s[i])
                i++;
            printf("#   first difference at byte %zu: '%.60s' vs '%.60s'\n", i,
                   a.s ? a.s + i : "", b.s ? b.s + i : "");
        }
        free(a.s);
        free(b.s);
    }
}

static const char *const samples[] = {
    "bad.pdq",        "feed.icse.csv",   "feed.ncmec-update.xml", "feed.ncmec.xml",
    "feed.stopncii.json", "feed.tat.json", "feed.te.csv",        "feed.te.json",
    "feed.vics.json", "feed.vics2.json", "sample.csv",           "sample.hex",
    "sample.hma",     "sample.jsonl",    "sample.pdq",           "sample.tsv",
};

static void test_samples(void)
{
    char path[256];
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        snprintf(path, sizeof path, SAMPLES "%s", samples[i]);
        same_both_ways(path, PHM_HASHLIST_AUTO, samples[i], NULL);
    }
}

/* A random PDQ-like hash of 128 set bits, as hex. */
static void rand_hex(uint64_t *s, char out[65])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 64; i += 2) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned v = (unsigned)(*s >> 33) & 255;
        v = (v & 0xf0) | (~v >> 4 & 0x0f); /* as many bits set as not */
        out[i] = d[v >> 4];
        out[i + 1] = d[v & 15];
    }
    out[64] = '\0';
}

static void write_lists(const char *dir)
{
    char path[512], h[65];
    uint64_t s = 42;
    FILE *fp;

    /* hex: many batches; comments, blanks, bad lines, a CRLF */
    snprintf(path, sizeof path, "%s/big.hex", dir);
    fp = fopen(path, "w");
    for (int i = 0; i < 30000 && fp; i++) {
        rand_hex(&s, h);
        if (i % 997 == 5)
            fprintf(fp, "%.60s\n", h); /* too short */
        else if (i % 1499 == 7)
            fprintf(fp, "# comment %d\n\n", i);
        else if (i % 2003 == 9)
            fprintf(fp, "%s\r\n", h);
        else if (i % 2503 == 11)
            fprintf(fp, "%s\n", "0000000000000000000000000000000000000000000000000000000000000000");
        else
            fprintf(fp, "%s\n", h);
    }
    if (fp)
        fclose(fp);

    /* csv: an unknown column (a warning), quoted multi-line notes, bad
     * qualities and times, duplicates */
    snprintf(path, sizeof path, "%s/big.csv", dir);
    fp = fopen(path, "w");
    if (fp)
        fprintf(fp, "hash,quality,source,id,category,note,added,mystery\n");
    for (int i = 0; i < 12000 && fp; i++) {
        rand_hex(&s, h);
        fprintf(fp, "%s,%d,%s,id-%d,%s,\"line one\nline \"\"%d\"\"\",%s,m\n", h,
                i % 577 == 3 ? 101 : i % 101, i % 3 ? "" : "feed", i % 4000,
                i % 5 ? "" : "cat", i, i % 811 == 1 ? "yesterday" : "1700000000");
    }
    if (fp)
        fclose(fp);

    /* hma: other signal types, skipped with one warning, md5 lines */
    snprintf(path, sizeof path, "%s/big.hma", dir);
    fp = fopen(path, "w");
    for (int i = 0; i < 9000 && fp; i++) {
        rand_hex(&s, h);
        if (i % 7 == 3)
            fprintf(fp, "tmk %s\n", h);
        else if (i % 11 == 5)
            fprintf(fp, "md5 %.32s\n", h);
        else
            fprintf(fp, "pdq %s\n", h);
    }
    if (fp)
        fclose(fp);

    /* jsonl: variants, digests, attrs */
    snprintf(path, sizeof path, "%s/big.jsonl", dir);
    fp = fopen(path, "w");
    for (int i = 0; i < 6000 && fp; i++) {
        char v[65];
        rand_hex(&s, h);
        rand_hex(&s, v);
        fprintf(fp, "{\"hash\":\"%s\",\"id\":\"j%d\",\"variants\":{\"crop10-c\":\"%s\"},"
                    "\"attrs\":{\"n\":%d},\"md5\":\"%.32s\"}\n",
                h, i, v, i, v);
        if (i % 1000 == 17)
            fprintf(fp, "{\"hash\":\"%s\",\"id\":\n", h); /* invalid JSON */
    }
    if (fp)
        fclose(fp);

    /* vPDQ: one video larger than a batch */
    snprintf(path, sizeof path, "%s/long.vpdq", dir);
    fp = fopen(path, "w");
    for (int i = 0; i < 20000 && fp; i++) {
        rand_hex(&s, h);
        fprintf(fp, "%d,%d,%s,%d.%03d\n", i, i % 101, h, i / 30, (i % 30) * 33);
    }
    if (fp)
        fclose(fp);
}

static void test_generated(const char *dir)
{
    static const struct {
        const char *name, *must;
    } lists[] = {
        { "big.hex", "invalid hash: 60 hex digits, expected 64" },
        { "big.hex", "PDQ hash is all zero" },
        { "big.csv", "W " },
        { "big.csv", "quality '101' is out of range" },
        { "big.hma", "W " },
        { "big.jsonl", "invalid JSON" },
        { "long.vpdq", "frames=20000 " },
    };
    char path[512];
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, lists[i].name);
        same_both_ways(path, PHM_HASHLIST_AUTO, lists[i].name, lists[i].must);
    }
    /* a format named, and one that does not fit (errors on every line) */
    snprintf(path, sizeof path, "%s/big.hex", dir);
    same_both_ways(path, PHM_HASHLIST_HEX, "big.hex as hex", NULL);
    same_both_ways(path, PHM_HASHLIST_PDQ, "big.hex as pdq", "expected 'hash,quality,name'");
}

/* The threads of this process (Linux), or -1. */
static int threads(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (fp && fgets(line, sizeof line, fp))
        if (strncmp(line, "Threads:", 8) == 0)
            n = atoi(line + 8);
    if (fp)
        fclose(fp);
    return n;
}

/* The read-ahead reads in a thread of its own while the reader is open.
 * The list has more records (40,000) than the thread's ring holds (16
 * batches of at most 2,048): after one read the thread waits for a batch
 * to be given back, so it is still there when counted. (big.hex's 30,000
 * fit: a thread scheduled before the count could read them all and end,
 * which a loaded machine did in two make check runs.) */
static void test_thread(const char *dir)
{
    char path[512], err[PHM_HASHLIST_ERRMSG_MAX], h[65];
    snprintf(path, sizeof path, "%s/thread.hex", dir);
    FILE *w = fopen(path, "w");
    uint64_t seed = 7;
    for (int i = 0; i < 40000 && w; i++) {
        rand_hex(&seed, h);
        fprintf(w, "%s\n", h);
    }
    if (!w || fclose(w)) {
        OK(0, "write %s", path);
        return;
    }
    int before = threads();
    if (before < 0) {
        tap_skip("no /proc/self/status");
        return;
    }
    FILE *fp = fopen(path, "r");
    phm_hashlist_options opt = { .read_ahead = 1 };
    phm_hashlist_reader *rd = NULL;
    phm_entry e;
    int during = -1;
    if (fp && phm_hashlist_reader_open(&rd, fp, path, PHM_HASHLIST_AUTO, &opt, err,
                                       sizeof err) == PHM_OK &&
        phm_hashlist_read(rd, &e, err, sizeof err) == PHM_HASHLIST_RECORD)
        during = threads();
    phm_hashlist_reader_close(rd);
    if (fp)
        fclose(fp);
    IS_INT(during, before + 1, "a thread reads ahead while the reader is open");
    IS_INT(threads(), before, "and ends with the close");
}

/* Closing before the end: the thread, waiting for a batch to be given
 * back, stops (no hang; ASan: nothing leaked). */
static void test_early_close(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/big.hex", dir);
    text a = { 0 }, b = { 0 };
    read_path(path, PHM_HASHLIST_AUTO, 0, 0, &a, 100);
    read_path(path, PHM_HASHLIST_AUTO, 1, 0, &b, 100);
    OK(a.len && a.len == b.len && memcmp(a.s, b.s, a.len) == 0,
       "the first 100 reads the same, then an early close");
    free(a.s);
    free(b.s);
    b = (text){ 0 };
    read_path(path, PHM_HASHLIST_AUTO, 1, 0, &b, 0);
    OK(b.len == 0, "a close before any read");
    free(b.s);
}

/* From a pipe the caller's thread reads (a read-ahead thread could block
 * the close): still the same records. */
static void test_pipe(void)
{
    int fd[2];
    char err[PHM_HASHLIST_ERRMSG_MAX];
    const char list[] = "# hex\n"
                        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22\n"
                        "bad\n"
                        "f0a5e102f1ccc0bd945308720fff038de34ef1e8ada9a956d2967ade5ea91a50\n";
    if (pipe(fd) != 0 || write(fd[1], list, sizeof list - 1) != (ssize_t)(sizeof list - 1)) {
        OK(0, "pipe");
        return;
    }
    close(fd[1]);
    FILE *fp = fdopen(fd[0], "r");
    phm_hashlist_options opt = { .read_ahead = 1, .check_hashes = 1 };
    phm_hashlist_reader *rd;
    text t = { 0 };
    if (fp && phm_hashlist_reader_open(&rd, fp, "p", PHM_HASHLIST_AUTO, &opt, err,
                                       sizeof err) == PHM_OK) {
        transcript(rd, &t, 0, (size_t)-1);
        phm_hashlist_reader_close(rd);
    }
    if (!OK(t.s && strstr(t.s, "rc=1 line=2 ") && strstr(t.s, "err=p:3: invalid hash") &&
                strstr(t.s, "rc=1 line=4 ") && strstr(t.s, "rc=0 line=4"),
            "read-ahead from a pipe: the records and the error"))
        printf("# %s", t.s ? t.s : "(nothing read)\n");
    free(t.s);
    if (fp)
        fclose(fp);
}

int main(void)
{
    char dir[] = "/tmp/phm-ahead-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("1..1\nnot ok 1 - cannot make a temporary directory\n");
        return 1;
    }
    FILE *probe = fopen(SAMPLES "sample.hex", "r");
    if (!probe) {
        OK(0, "sample files found (run from the top of the source tree)");
    } else {
        fclose(probe);
        test_samples();
    }
    write_lists(dir);
    test_generated(dir);
    test_thread(dir);
    test_early_close(dir);
    test_pipe();
    static const char *const names[] = { "big.hex", "big.csv", "big.hma", "big.jsonl",
                                         "long.vpdq", "thread.hex" };
    char path[600];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return tap_done();
}
