/* cmd_lookup.c - `phmatch lookup --index DB [FILE...]`: hashes in, matches
 * out. Queries are read by the library's hash-list reader (any list
 * format, found from the first line) and searched in batches with
 * phm_search_batch(). */
#include <errno.h>
#include <inttypes.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "fields.h"
#include "output.h"

/* Exit status of --fail-on-match when some query matched (as `match`). */
#define LOOKUP_EXIT_MATCHED 4

/* Queries searched together when reading a regular file, per thread (the
 * library sorts a batch's probes by bucket: a thread's share of 4,096 reads
 * its tables most densely; docs/INDEX_FORMAT.md, "Batches sorted by
 * bucket"). Other inputs
 * (pipes, FIFOs, terminals) are answered line by line (lookup_stream), so
 * that a long-running lookup answers each query as it arrives. */
#define LOOKUP_BATCH 4096

/* A batch of at least this many queries is split between the OpenMP
 * threads (each with its own searcher and output buffer, written in input
 * order); smaller ones are searched by the calling thread. At most
 * LOOKUP_MAX_THREADS threads. */
#define LOOKUP_PARALLEL_MIN 512
#define LOOKUP_MAX_THREADS 16

/* Bytes of a jsonl line built on the stack before it is written (a query
 * with a few image matches takes ~200-2,000): one fwrite a query, not a
 * dozen small writes. A longer line goes out in pieces. */
#define LOOKUP_LINE_BUF 8192

static const char usage_text[] =
    "usage: phmatch lookup --index DB [options] [FILE...]\n"
    "\n"
    "Looks up hashes in a known-material index. Each FILE (standard input\n"
    "when none, or -) is a hash list: one 64-digit hex hash per line, or any\n"
    "format 'phmatch index import' reads (pdq, hma, csv, tsv, jsonl), found\n"
    "from the first line. A query with only digests (md5, sha1, sha256) is\n"
    "matched exactly on them. Each search sees every entry committed so far,\n"
    "by any process.\n"
    "\n"
    "Options:\n"
    "      --index DB          the index (required)\n"
    "      --max-distance R    largest Hamming distance, 0..128 (default 31)\n"
    "      --knn K             only the K nearest admitted entries within R\n"
    "      --format F          tsv (default), csv or jsonl\n"
    "      --fail-on-match     exit 4 when any query matched\n"
    "      --hot-copy          search a copy of the index's arrays in huge\n"
    "                          pages (~101 bytes a hash of memory, read at\n"
    "                          the first query): less CPU a query on\n"
    "                          indexes of tens of millions of hashes\n"
    "  -j, --jobs N            search threads, 1..16 (default: all cores,\n"
    "                          or OMP_NUM_THREADS; 0 = all cores). Batches\n"
    "                          of 512 queries or more are split between them\n"
    "  -h, --help              show this help\n"
    "\n"
    "--dihedral is not available here: a bare hash does not carry its\n"
    "rotations (they come from the image's DCT). Use 'phmatch match\n"
    "--dihedral' on the images instead.\n"
    "\n"
    "Output (tsv, csv): a header, then one row per match: input line query\n"
    "status, then the match record's columns as 'phmatch match' writes them\n"
    "(entry source id category entry_kind distance orientation variant\n"
    "known_variant frame timestamp frames query_percent compared_percent),\n"
    "status 'match'; a query without matches gives one row of status 'none' with the match\n"
    "fields empty. jsonl: one object per query, input line query, and its\n"
    "match records in a \"matches\" array (the record of 'phmatch match').\n"
    "\n"
    "Exit status: 0 the run worked, whether or not anything matched; 1 some\n"
    "input lines were bad or unreadable (reported as FILE:LINE: message);\n"
    "2 usage error or an index that cannot be opened; 3 cannot write the\n"
    "output or out of memory; 4 with --fail-on-match, something matched.\n";

enum {
    OPT_INDEX = 256,
    OPT_MAX_DISTANCE,
    OPT_KNN,
    OPT_DIHEDRAL,
    OPT_FORMAT,
    OPT_FAIL_ON_MATCH,
    OPT_HOT_COPY,
};

static const args_option options[] = {
    { "index", OPT_INDEX, 1, NULL },
    { "max-distance", OPT_MAX_DISTANCE, 1, NULL },
    { "knn", OPT_KNN, 1, NULL },
    { "dihedral", OPT_DIHEDRAL, 0, NULL },
    { "format", OPT_FORMAT, 1, NULL },
    { "fail-on-match", OPT_FAIL_ON_MATCH, 0, NULL },
    { "hot-copy", OPT_HOT_COPY, 0, NULL },
    { "jobs", 'j', 1, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL },
};

typedef enum lookup_format { LK_TSV, LK_CSV, LK_JSONL } lookup_format;

/* A query waiting in the batch: what a search and its output need of
 * the entry read (its hashes), not the whole phm_entry, whose variants
 * make it 2.4 KB: copying that was 3 % of a lookup at 1 M. */
typedef struct lookup_query {
    uint64_t line;
    unsigned signals; /* PHM_SIG_* */
    int quality;
    phm_pdq pdq;
    uint8_t md5[16], sha1[20], sha256[32];
} lookup_query;

static void keep_query(lookup_query *q, const phm_entry *e, uint64_t line)
{
    q->line = line;
    q->signals = e->signals;
    q->quality = e->quality;
    q->pdq = e->pdq;
    memcpy(q->md5, e->md5, sizeof q->md5);
    memcpy(q->sha1, e->sha1, sizeof q->sha1);
    memcpy(q->sha256, e->sha256, sizeof q->sha256);
}

/* What one thread needs to search part of a batch. */
typedef struct lookup_worker {
    phm_searcher *s;  /* PDQ batches */
    phm_searcher *ds; /* digest queries */
    phm_matcher *m, *dm; /* governance of their results (one per searcher) */
    phm_pdq *pdq;     /* its PDQ queries */
    size_t *slot;     /* query index -> pdq index (not with --knn) */
    char *text;       /* its output (open_memstream), in parallel batches */
    size_t text_len;
    uint64_t queries, matched;
    int failed;
    char err[PHM_ERRMSG_MAX];
} lookup_worker;

typedef struct lookup_run {
    const char *index_path;
    int radius;
    size_t knn;
    lookup_format fmt;
    int fail_on_match;
    int hot_copy;
    lookup_worker *w;
    int nw;
    lookup_query *q;
    size_t nq, cap;
    uint64_t bad;
    /* jsonl: the start of every line of the current input, its name
     * quoted once: {"input":"NAME","line": */
    char *jhead;
    size_t jhead_len;
} lookup_run;

/* A jsonl line built in memory and written when full or done. */
typedef struct line_buf {
    FILE *out;
    size_t n;
    char b[LOOKUP_LINE_BUF];
} line_buf;

static void lb_flush(line_buf *l)
{
    fwrite(l->b, 1, l->n, l->out); /* ferror checked at the end */
    l->n = 0;
}

static void lb_put(line_buf *l, const char *s, size_t n)
{
    if (n > sizeof l->b - l->n) {
        lb_flush(l);
        if (n > sizeof l->b) {
            fwrite(s, 1, n, l->out);
            return;
        }
    }
    memcpy(l->b + l->n, s, n);
    l->n += n;
}

/* Decimal digits of v (no NUL) at the end of buf[0..20); returns the
 * first. */
static char *u64_digits(uint64_t v, char buf[20])
{
    char *p = buf + 20;
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    return p;
}

/* Sets r->jhead for input `name` (the same for every line of an input:
 * quoted once, not per query). Returns 0 or -1 out of memory. */
static int set_jhead(lookup_run *r, const char *name)
{
    static const char pre[] = "{\"input\":", post[] = ",\"line\":";
    size_t len = strlen(name);
    if (len > (SIZE_MAX - 64) / 6)
        return -1;
    size_t cap = sizeof pre + 6 * len + 2 + sizeof post;
    char *h = realloc(r->jhead, cap);
    if (!h)
        return -1;
    memcpy(h, pre, sizeof pre - 1);
    size_t n = sizeof pre - 1;
    n += phm_json_quote(name, len, h + n, cap - n);
    memcpy(h + n, post, sizeof post - 1);
    r->jhead = h;
    r->jhead_len = n + sizeof post - 1;
    return 0;
}

/* A digest query's strongest digest: its bytes, with its signal, size and
 * the prefix of its text ("sha256:"). */
static const uint8_t *query_digest(const lookup_query *q, unsigned *sig, size_t *n,
                                   const char **kind)
{
    if (q->signals & PHM_SIG_SHA256) {
        *sig = PHM_SIG_SHA256, *n = sizeof q->sha256, *kind = "sha256:";
        return q->sha256;
    }
    if (q->signals & PHM_SIG_SHA1) {
        *sig = PHM_SIG_SHA1, *n = sizeof q->sha1, *kind = "sha1:";
        return q->sha1;
    }
    *sig = PHM_SIG_MD5, *n = sizeof q->md5, *kind = "md5:";
    return q->md5;
}

static void query_text(const lookup_query *q, char *buf, size_t len)
{
    if (q->signals & PHM_SIG_PDQ) {
        char hex[PHM_PDQ_HEX_LEN + 1];
        phm_pdq_to_hex(&q->pdq, hex);
        snprintf(buf, len, "%s", hex);
        return;
    }
    unsigned sig;
    size_t n;
    const char *kind;
    const uint8_t *d = query_digest(q, &sig, &n, &kind);
    size_t k = (size_t)snprintf(buf, len, "%s", kind);
    for (size_t i = 0; i < n && k + 2 < len; i++) {
        buf[k++] = phm_hex_digits[d[i] >> 4];
        buf[k++] = phm_hex_digits[d[i] & 15];
    }
    buf[k < len ? k : len - 1] = '\0';
}

/* The columns of a tsv/csv line: the query's, then the match record's
 * (fields_match: the same columns as `phmatch match`). h NULL: none. */
static size_t line_fields(field *f, const char *input, const char *lineno,
                          const char *qt, const phm_match_hit *h, char **frames)
{
    size_t n = 0;
    field_str(&f[n++], "input", input);
    field_raw(&f[n++], "line", lineno);
    field_str(&f[n++], "query", qt);
    field_str(&f[n++], "status", h ? "match" : "none");
    return n + fields_match(f + n, h, frames);
}

/* The governed result of query q (the index's governance applied): the
 * search results m[0..n) of matcher mt's searcher (phm_match_results),
 * or with --knn the K nearest admitted entries (phm_match_knn; m unused).
 * Returns 0 or -1 (message in w->err). */
static int govern(const lookup_run *r, lookup_worker *w, phm_matcher *mt,
                  const lookup_query *q, const phm_match *m, size_t n,
                  const phm_match_result **res)
{
    phm_match_options o;
    phm_match_options_init(&o);
    o.max_distance = r->radius;
    int quality = q->signals & PHM_SIG_PDQ ? q->quality : -1;
    if (q->signals & PHM_SIG_PDQ)
        o.query = &q->pdq; /* known_variant of entries with stored variants */
    int rc = r->knn && (q->signals & PHM_SIG_PDQ)
                 ? phm_match_knn(mt, &q->pdq, r->knn, quality, &o, res, w->err,
                                 sizeof w->err)
                 : phm_match_results(mt, m, n, quality, &o, res, w->err, sizeof w->err);
    return rc == PHM_OK ? 0 : -1;
}

/* Writes one query's jsonl line to `out`: r->jhead, the line number, the
 * query, its match records (phm_match_json) in "matches". Built in one
 * buffer and written with one call: the stream's many small writes cost
 * more than the search of a far query. Returns 0. */
static int emit_jsonl(const lookup_run *r, FILE *out, const lookup_query *q,
                      const char *qt, const phm_match_result *res)
{
    static const char mid[] = ",\"query\":\"", open[] = "\",\"matches\":[";
    line_buf l;
    char num[20];
    const char *d = u64_digits(q->line, num);
    l.out = out;
    l.n = 0;
    lb_put(&l, r->jhead, r->jhead_len);
    lb_put(&l, d, (size_t)(num + sizeof num - d));
    lb_put(&l, mid, sizeof mid - 1);
    lb_put(&l, qt, strlen(qt));
    lb_put(&l, open, sizeof open - 1);
    for (size_t i = 0; i < res->count; i++) {
        const phm_match_hit *h = &res->hits[i];
        if (i)
            lb_put(&l, ",", 1);
        size_t room = sizeof l.b - l.n;
        size_t len = phm_match_json(h, l.b + l.n, room);
        if (len >= room && l.n) { /* not room for it: the line so far out */
            lb_flush(&l);
            room = sizeof l.b;
            len = phm_match_json(h, l.b, room);
        }
        if (len < room) {
            l.n += len;
        } else { /* longer than the buffer (many frames): streamed */
            phm_match_json_fwrite(out, h);
        }
    }
    lb_put(&l, "]}\n", 3);
    lb_flush(&l);
    return 0;
}

/* Writes one query's results to `out`: each match as the match record
 * (govern(), phm_match_json_fwrite). A suppressed query: its records in
 * jsonl, one row of status 'suppressed' in tsv and csv. Returns 0 or -1
 * (message in w->err). */
static int emit(const lookup_run *r, lookup_worker *w, phm_matcher *mt,
                FILE *out, const char *input, const lookup_query *q,
                const phm_match *m, size_t n)
{
    char qt[80], lineno[24];
    char sep = r->fmt == LK_TSV ? '\t' : ',';
    field f[4 + FIELDS_MATCH_COUNT];
    char *frames;
    size_t shown = 0;
    const phm_match_result *res;
    if (govern(r, w, mt, q, m, n, &res))
        return -1;
    query_text(q, qt, sizeof qt);
    w->queries++;
    if (res->total)
        w->matched++;
    if (r->fmt == LK_JSONL)
        return emit_jsonl(r, out, q, qt, res);
    snprintf(lineno, sizeof lineno, "%" PRIu64, q->line);
    for (size_t i = 0; i < res->count; i++) {
        const phm_match_hit *h = &res->hits[i];
        if (!res->suppressed) {
            fields_write_delimited(out, f,
                                   line_fields(f, input, lineno, qt, h, &frames), sep);
            free(frames); /* none: a hash lookup has no frames */
        }
        shown++;
    }
    if (res->suppressed) {
        size_t nf = line_fields(f, input, lineno, qt, NULL, &frames);
        field_str(&f[3], "status", "suppressed");
        fields_write_delimited(out, f, nf, sep);
    } else if (!shown) {
        fields_write_delimited(out, f, line_fields(f, input, lineno, qt, NULL, &frames),
                               sep);
    }
    return 0;
}

/* Searches queries q[0..n) with worker w and writes their results to
 * `out`. Returns 0 or -1 (message in w->err). */
static int search_range(const lookup_run *r, lookup_worker *w, FILE *out,
                        const char *input, const lookup_query *q, size_t n)
{
    const phm_match *m = NULL;
    const size_t *off = NULL;
    size_t np = 0;
    int rc;

    /* the PDQ queries searched as one batch (--knn: none, each is its
     * own phm_match_knn in govern()) */
    for (size_t i = 0; !r->knn && i < n; i++)
        if (q[i].signals & PHM_SIG_PDQ) {
            w->slot[i] = np;
            w->pdq[np++] = q[i].pdq;
        }
    if (np) {
        int radius; /* the largest distance a source allows (governance) */
        rc = phm_match_radius(w->m, r->radius, &radius, w->err, sizeof w->err);
        if (rc == PHM_OK)
            rc = phm_search_batch(w->s, w->pdq, np, radius, 0, &m, &off,
                                  w->err, sizeof w->err);
        if (rc != PHM_OK)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (q[i].signals & PHM_SIG_PDQ) {
            const phm_match *qm = NULL;
            size_t qn = 0;
            if (!r->knn) {
                size_t j = w->slot[i];
                qm = m + off[j];
                qn = off[j + 1] - off[j];
            }
            if (emit(r, w, w->m, out, input, &q[i], qm, qn))
                return -1;
            continue;
        }
        /* Digest query: the strongest digest it carries. */
        unsigned sig;
        size_t dlen;
        const char *kind;
        const uint8_t *d = query_digest(&q[i], &sig, &dlen, &kind);
        const phm_match *dm;
        size_t dn;
        rc = phm_search_digest(w->ds, sig, d, &dm, &dn, w->err, sizeof w->err);
        if (rc != PHM_OK)
            return -1;
        if (emit(r, w, w->dm, out, input, &q[i], dm, dn))
            return -1;
    }
    phm_searcher_release(w->ds);
    return 0;
}

/* Searches and writes the batch: split between the threads when it is
 * large, each thread writing into a buffer of its own, the buffers then
 * written in order. Every search of a batch may see a different commit;
 * each is a consistent snapshot. Returns 0 or -1 (message printed). */
static int flush_batch(lookup_run *r, const char *input)
{
    int nw = r->nq >= LOOKUP_PARALLEL_MIN ? r->nw : 1;
    size_t n = r->nq, per = (n + (size_t)nw - 1) / (size_t)nw;
    int ret = 0;

    r->nq = 0;
    if (nw == 1) {
        if (search_range(r, &r->w[0], stdout, input, r->q, n) != 0) {
            cli_error("%s", r->w[0].err);
            return -1;
        }
        return 0;
    }
#pragma omp parallel for num_threads(nw) schedule(static, 1)
    for (int t = 0; t < nw; t++) {
        lookup_worker *w = &r->w[t];
        size_t lo = (size_t)t * per, hi = lo + per < n ? lo + per : n;
        FILE *out;
        w->failed = 0;
        w->text = NULL;
        w->text_len = 0;
        out = open_memstream(&w->text, &w->text_len);
        if (!out) {
            snprintf(w->err, sizeof w->err, "out of memory");
            w->failed = 1;
            continue;
        }
        if (lo < hi && search_range(r, w, out, input, r->q + lo, hi - lo) != 0)
            w->failed = 1;
        if (fclose(out) != 0 && !w->failed) {
            snprintf(w->err, sizeof w->err, "out of memory");
            w->failed = 1;
        }
        phm_searcher_release(w->s);
    }
    for (int t = 0; t < nw; t++) {
        lookup_worker *w = &r->w[t];
        if (w->failed && !ret) {
            cli_error("%s", w->err);
            ret = -1;
        }
        if (!ret && w->text_len)
            fwrite(w->text, 1, w->text_len, stdout);
        free(w->text);
        w->text = NULL;
    }
    return ret;
}

/* Prints a reader's "NAME:LINE: message" with the line number `line` of
 * the whole input (a line read on its own is always line 1 or 2). */
static void print_line_error(const char *name, uint64_t line, const char *err)
{
    size_t k = strlen(name);
    if (strncmp(err, name, k) == 0 && err[k] == ':') {
        const char *rest = err + k + 1;
        while (*rest >= '0' && *rest <= '9')
            rest++;
        if (*rest == ':') {
            fprintf(stderr, "%s:%" PRIu64 "%s\n", name, line, rest);
            return;
        }
    }
    fprintf(stderr, "%s\n", err);
}

/* Reads the next line of fp (with its newline) into *line, of capacity
 * *cap, keeping at most the reader's longest line (*max:
 * PHM_HASHLIST_LINE_MAX, or PHM_HASHLIST_OBJECT_LINE_MAX for a line
 * starting with '{', a jsonl object) and its newline: the rest of a longer
 * line is read and dropped, and *too_long set. Returns the bytes kept (0
 * at the end of the input), or -1 out of memory. */
static ssize_t read_line_bounded(FILE *fp, char **line, size_t *cap, size_t *max,
                                 int *too_long)
{
    size_t n = 0;
    int c;

    *too_long = 0;
    *max = PHM_HASHLIST_LINE_MAX + 1;
    while ((c = getc(fp)) != EOF) {
        if (n == 0 && c == '{')
            *max = PHM_HASHLIST_OBJECT_LINE_MAX + 1;
        if (n < *max) {
            if (n + 2 > *cap) {
                size_t ncap = *cap ? *cap * 2 : 4096;
                if (ncap > *max + 2)
                    ncap = *max + 2;
                char *nl = realloc(*line, ncap);
                if (!nl)
                    return -1;
                *line = nl;
                *cap = ncap;
            }
            (*line)[n++] = (char)c;
        } else {
            *too_long = 1;
        }
        if (c == '\n')
            break;
    }
    if (n)
        (*line)[n] = '\0';
    return (ssize_t)n;
}

/* A pipe, FIFO or terminal: answers each line as it arrives (the hash-list
 * reader reads ahead in large blocks, which would wait for more input).
 * Each line is parsed on its own, after the csv/tsv header when the list
 * has one; a csv record spanning lines is not supported here. Returns 0,
 * or -1 on a fatal error. */
static int lookup_stream(lookup_run *r, FILE *fp, const char *name,
                         const char *label)
{
    phm_hashlist_options hopt = { 0 };
    phm_hashlist_format fmt = PHM_HASHLIST_AUTO;
    char err[PHM_HASHLIST_ERRMSG_MAX];
    char *line = NULL, *prefix = NULL, *buf = NULL;
    size_t cap = 0, plen = 0, bcap = 0;
    uint64_t lineno = 0;
    ssize_t n;
    size_t max;
    int ret = 0, too_long;

    /* A line is bounded as the reader bounds one: /dev/zero or a hostile
     * pipe cannot make it grow. */
    while ((n = read_line_bounded(fp, &line, &cap, &max, &too_long)) > 0) {
        phm_hashlist_reader *rd = NULL;
        phm_entry e;
        size_t need = plen + (size_t)n + 2;
        int rc;
        lineno++;
        if (too_long) {
            fprintf(stderr, "%s:%" PRIu64 ": line longer than %zu bytes\n", name,
                    lineno, max - 1);
            r->bad++;
            continue;
        }
        if (need > bcap) {
            char *nb = realloc(buf, need);
            if (!nb) {
                cli_error("out of memory");
                ret = -1;
                break;
            }
            buf = nb;
            bcap = need;
        }
        if (plen)
            memcpy(buf, prefix, plen);
        memcpy(buf + plen, line, (size_t)n);
        size_t len = plen + (size_t)n;
        if (buf[len - 1] != '\n')
            buf[len++] = '\n';
        if (phm_hashlist_reader_open_mem(&rd, buf, len, name, fmt, &hopt, err,
                                         sizeof err) != PHM_OK) {
            cli_error("out of memory");
            ret = -1;
            break;
        }
        rc = phm_hashlist_read(rd, &e, err, sizeof err);
        if (rc == PHM_HASHLIST_RECORD)
            keep_query(&r->q[0], &e, lineno);
        if (fmt == PHM_HASHLIST_AUTO &&
            phm_hashlist_reader_format(rd) != PHM_HASHLIST_AUTO) {
            fmt = phm_hashlist_reader_format(rd);
            if ((fmt == PHM_HASHLIST_CSV || fmt == PHM_HASHLIST_TSV) && rc >= 0) {
                prefix = malloc((size_t)n + 1);
                if (!prefix) {
                    cli_error("out of memory");
                    ret = -1;
                } else {
                    memcpy(prefix, buf, len);
                    plen = len;
                }
            }
        }
        phm_hashlist_reader_close(rd);
        if (ret)
            break;
        if (rc == PHM_HASHLIST_RECORD) {
            r->nq = 1;
            if (flush_batch(r, label) != 0) {
                ret = -1;
                break;
            }
            phm_searcher_release(r->w[0].s);
            fflush(stdout);
        } else if (rc != PHM_HASHLIST_EOF) {
            print_line_error(name, lineno, err);
            r->bad++;
        }
    }
    if (n < 0) {
        cli_error("out of memory");
        ret = -1;
    }
    if (!ret && ferror(fp)) {
        cli_error("cannot read '%s': %s", name, strerror(errno));
        r->bad++;
    }
    free(line);
    free(prefix);
    free(buf);
    return ret;
}

/* Looks up every query of one input. Returns 0, or -1 on a fatal error. */
static int lookup_file(lookup_run *r, const char *path)
{
    phm_hashlist_options hopt = { 0 };
    phm_hashlist_reader *rd = NULL;
    char err[PHM_HASHLIST_ERRMSG_MAX];
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "-" : path;
    FILE *fp = is_stdin ? stdin : fopen(path, "r");
    struct stat st;
    size_t batch;
    int ret = 0, rc;

    if (!fp) {
        cli_error("cannot open '%s': %s", path, strerror(errno));
        r->bad++;
        return 0;
    }
    if (r->fmt == LK_JSONL && set_jhead(r, name) != 0) {
        cli_error("out of memory");
        if (!is_stdin)
            fclose(fp);
        return -1;
    }
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        ret = lookup_stream(r, fp, is_stdin ? "(standard input)" : path,
                            name);
        goto out;
    }
    batch = r->cap;
    rc = phm_hashlist_reader_open(&rd, fp, is_stdin ? "(standard input)" : path,
                                  PHM_HASHLIST_AUTO, &hopt, err, sizeof err);
    if (rc != PHM_OK) {
        cli_error("%s", err);
        ret = -1;
        goto out;
    }
    for (;;) {
        phm_entry e;
        rc = phm_hashlist_read(rd, &e, err, sizeof err);
        if (rc == PHM_HASHLIST_EOF)
            break;
        if (rc == PHM_ERR_CORRUPT) {
            fprintf(stderr, "%s\n", err);
            r->bad++;
            continue;
        }
        if (rc != PHM_HASHLIST_RECORD) {
            fprintf(stderr, "%s\n", err);
            r->bad++;
            if (rc == PHM_ERR_NOMEM)
                ret = -1;
            break;
        }
        keep_query(&r->q[r->nq], &e, phm_hashlist_reader_line(rd));
        if (++r->nq >= batch) {
            if (flush_batch(r, name) != 0) {
                ret = -1;
                goto out;
            }
        }
    }
    if (r->nq && flush_batch(r, name) != 0)
        ret = -1;
    phm_searcher_release(r->w[0].s);
out:
    phm_hashlist_reader_close(rd);
    if (!is_stdin)
        fclose(fp);
    return ret;
}

int cmd_lookup(int argc, char **argv, const cli_global *g)
{
    lookup_run r;
    args_parser p;
    phm_index *idx = NULL;
    const char *arg;
    char **files = NULL;
    char err[PHM_ERRMSG_MAX];
    int nfiles = 0, key, status = -1, rc, jobs = 0;
    uint64_t v;

    memset(&r, 0, sizeof r);
    r.radius = PHM_PDQ_MATCH_DISTANCE;
    files = calloc((size_t)argc + 1, sizeof *files);
    if (!files) {
        cli_error("out of memory");
        return CLI_EXIT_FATAL;
    }
    args_init(&p, "lookup", argc, argv);
    while ((key = args_next(&p, options, &arg)) != ARGS_END) {
        switch (key) {
        case ARGS_ERROR: status = CLI_EXIT_USAGE; goto out;
        case ARGS_OPERAND: files[nfiles++] = (char *)arg; break;
        case 'h':
            fputs(usage_text, stdout);
            status = CLI_EXIT_OK;
            goto out;
        case OPT_INDEX: r.index_path = arg; break;
        case OPT_MAX_DISTANCE:
            if (args_parse_u64(&p, arg, 0, 128, 0, &v) != 0) {
                status = CLI_EXIT_USAGE;
                goto out;
            }
            r.radius = (int)v;
            break;
        case OPT_KNN:
            if (args_parse_u64(&p, arg, 1, 1000000, 0, &v) != 0) {
                status = CLI_EXIT_USAGE;
                goto out;
            }
            r.knn = (size_t)v;
            break;
        case OPT_DIHEDRAL:
            status = cli_usage_error(
                "lookup", "--dihedral needs the image: a hash does not carry "
                          "its rotations; use 'phmatch match --dihedral'");
            goto out;
        case OPT_FORMAT:
            if (strcmp(arg, "tsv") == 0)
                r.fmt = LK_TSV;
            else if (strcmp(arg, "csv") == 0)
                r.fmt = LK_CSV;
            else if (strcmp(arg, "jsonl") == 0)
                r.fmt = LK_JSONL;
            else {
                status = cli_usage_error("lookup", "unknown format '%s' "
                                         "(tsv, csv or jsonl)", arg);
                goto out;
            }
            break;
        case OPT_FAIL_ON_MATCH: r.fail_on_match = 1; break;
        case OPT_HOT_COPY: r.hot_copy = 1; break;
        case 'j':
            if (args_parse_u64(&p, arg, 0, LOOKUP_MAX_THREADS, 0, &v) != 0) {
                status = CLI_EXIT_USAGE;
                goto out;
            }
            jobs = v ? (int)v : omp_get_num_procs();
            break;
        default: break;
        }
    }
    if (!r.index_path) {
        status = cli_usage_error("lookup", "--index DB is required");
        goto out;
    }
    if (nfiles == 0)
        files[nfiles++] = "-";
    cli_check_simd(g->simd);

    rc = phm_index_open(&idx, r.index_path,
                        PHM_INDEX_RDONLY | (r.hot_copy ? PHM_INDEX_HOT_COPY : 0), 0, g->simd,
                        err, sizeof err);
    r.nw = jobs ? jobs : omp_get_max_threads();
    if (r.nw < 1)
        r.nw = 1;
    if (r.nw > LOOKUP_MAX_THREADS)
        r.nw = LOOKUP_MAX_THREADS;
    r.cap = LOOKUP_BATCH * (size_t)r.nw;
    r.w = calloc((size_t)r.nw, sizeof *r.w);
    r.q = malloc(r.cap * sizeof *r.q);
    if (!r.w || !r.q) {
        cli_error("out of memory");
        status = CLI_EXIT_FATAL;
        goto out;
    }
    for (int t = 0; t < r.nw && rc == PHM_OK; t++) {
        lookup_worker *w = &r.w[t];
        rc = phm_searcher_new(idx, &w->s, err, sizeof err);
        if (rc == PHM_OK)
            rc = phm_searcher_new(idx, &w->ds, err, sizeof err);
        if (rc == PHM_OK && (phm_matcher_new(w->s, &w->m) != PHM_OK ||
                             phm_matcher_new(w->ds, &w->dm) != PHM_OK)) {
            snprintf(err, sizeof err, "out of memory");
            rc = PHM_ERR_NOMEM;
        }
        if (rc == PHM_OK && !r.knn) { /* the batch's PDQ queries (search_range) */
            w->pdq = malloc(r.cap * sizeof *w->pdq);
            w->slot = malloc(r.cap * sizeof *w->slot);
            if (!w->pdq || !w->slot) {
                snprintf(err, sizeof err, "out of memory");
                rc = PHM_ERR_NOMEM;
            }
        }
    }
    if (rc != PHM_OK) {
        cli_error("%s", err);
        status = rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_USAGE;
        goto out;
    }
    if (r.fmt != LK_JSONL) {
        field f[4 + FIELDS_MATCH_COUNT];
        char *frames;
        fields_write_names(stdout, f, line_fields(f, "", "", "", NULL, &frames),
                           r.fmt == LK_TSV ? '\t' : ',');
    }
    status = CLI_EXIT_OK;
    for (int i = 0; i < nfiles; i++) {
        if (lookup_file(&r, files[i]) != 0) {
            status = CLI_EXIT_FATAL;
            break;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output: %s",
                  strerror(errno ? errno : EIO));
        status = CLI_EXIT_FATAL;
    }
    uint64_t matched = 0;
    for (int t = 0; t < r.nw; t++)
        matched += r.w[t].matched;
    if (status == CLI_EXIT_OK) {
        if (r.fail_on_match && matched)
            status = LOOKUP_EXIT_MATCHED;
        else if (r.bad)
            status = CLI_EXIT_PARTIAL;
    }
out:
    free(r.q);
    free(r.jhead);
    for (int t = 0; r.w && t < r.nw; t++) {
        free(r.w[t].pdq);
        free(r.w[t].slot);
        phm_matcher_free(r.w[t].m);
        phm_matcher_free(r.w[t].dm);
        phm_searcher_free(r.w[t].s);
        phm_searcher_free(r.w[t].ds);
    }
    free(r.w);
    phm_index_close(idx);
    free(files);
    return status;
}
