/* cmd_merge.c - `phmatch merge`: the outputs of a sharded run (--shard
 * I/N) put back together, in the order the unsharded run writes.
 *
 * The order is the inputs' (inputs.h): a directory is walked depth first,
 * each directory's entries in byte order, so that two paths of the same
 * walk compare component by component, each component by its bytes (as
 * strcmp), a directory's files before the next entry of its parent. Each
 * shard file is in that order already; merge takes, input by input
 * (recfile.h), the smallest path among the files' next ones and copies its
 * records byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "hashrun.h"
#include "output.h"
#include "progress.h"
#include "recfile.h"

static const char usage_text[] =
    "usage: phmatch merge [-o OUT] [-f FMT] [-q] FILE...\n"
    "\n"
    "Combines the outputs of 'phmatch hash' or 'phmatch match' run with\n"
    "--shard I/N (one FILE per share, in any order) into the file the run\n"
    "without --shard writes: the same bytes, records in input order, one\n"
    "header line, and on stderr the summary of the whole run.\n"
    "\n"
    "Input order is restored from the paths: a directory's files are\n"
    "walked in byte order of their names, so the paths of one run over\n"
    "directories (or over paths named in that order) sort back into it.\n"
    "Refused, touching nothing: shards that hold the same input\n"
    "(overlapping), files of different formats or columns, a file whose\n"
    "records are not in that order (a run over a list, --files-from, or\n"
    "over operands not in byte order: merge cannot restore its order), a\n"
    "file that ends with a partial record (an interrupted shard: finish it\n"
    "with --resume first).\n"
    "\n"
    "Options:\n"
    "  -o, --output OUT       write to OUT (through a temporary file renamed\n"
    "                         at the end; a device or a FIFO directly)\n"
    "                         instead of stdout\n"
    "  -f, --format FMT       the FILEs' format: tsv, csv, jsonl or pdq\n"
    "                         (default: found from the first line; give it\n"
    "                         for tsv or csv written with --no-header)\n"
    "  -q, --quiet            no summary\n"
    "  -h, --help             show this help\n"
    "\n"
    "The summary counts what the records say: pdq lines leave out failed\n"
    "inputs and file sizes, tsv and csv do not show suppressed matches.\n"
    "\n"
    "Exit status: 0 merged, 2 usage error or files refused, 3 cannot\n"
    "read or write.\n";

static const args_option options[] = {
    { "output", 'o', 1, NULL },
    { "format", 'f', 1, NULL },
    { "quiet", 'q', 0, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL },
};

/* One shard file and its next input. */
typedef struct shard {
    const char *name;
    FILE *fp;
    recfile *rf;
    recfile_group g;
    int have;          /* g holds its next input */
    char *prev;        /* the path of the input before (order check) */
    size_t prev_len, prev_cap;
    uint64_t prev_record;
} shard;

/* Compares two paths in input order: component by component, each by its
 * bytes, a path that ends first (fewer components) first. */
static int path_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t i = 0, j = 0;
    for (;;) {
        if (i >= al || j >= bl)
            return (i < al) - (j < bl);
        const char *sa = memchr(a + i, '/', al - i);
        const char *sb = memchr(b + j, '/', bl - j);
        size_t ca = (sa ? (size_t)(sa - a) : al) - i;
        size_t cb = (sb ? (size_t)(sb - b) : bl) - j;
        int c = memcmp(a + i, b + j, ca < cb ? ca : cb);
        if (c)
            return c;
        if (ca != cb)
            return ca < cb ? -1 : 1;
        i += ca + 1;
        j += cb + 1;
    }
}

/* Fetches shard s's next input, checking that it comes after the one
 * before. Returns 0 or an exit status after a message. */
static int advance(shard *s)
{
    char err[PHM_ERRMSG_MAX];
    if (s->have) {
        if (s->g.path_len + 1 > s->prev_cap) {
            char *p = realloc(s->prev, s->g.path_len + 1);
            if (!p) {
                cli_error("out of memory");
                return CLI_EXIT_FATAL;
            }
            s->prev = p;
            s->prev_cap = s->g.path_len + 1;
        }
        memcpy(s->prev, s->g.path, s->g.path_len + 1);
        s->prev_len = s->g.path_len;
        s->prev_record = s->g.record;
    }
    int rc = recfile_next(s->rf, &s->g, err, sizeof err);
    s->have = rc > 0;
    if (rc < 0) {
        cli_error("%s", err);
        return rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_USAGE;
    }
    if (rc == 0 && recfile_partial(s->rf)) {
        cli_error("'%s' ends with a partial record (its run was "
                  "interrupted): finish it with --resume first", s->name);
        return CLI_EXIT_USAGE;
    }
    if (s->have && s->prev &&
        path_cmp(s->prev, s->prev_len, s->g.path, s->g.path_len) > 0) {
        fputs("phmatch: '", stderr);
        cli_put_quoted(stderr, s->name);
        fprintf(stderr, "': record %llu ('",
                (unsigned long long)s->g.record);
        cli_put_quoted(stderr, s->g.path);
        fprintf(stderr, "') comes before record %llu ('",
                (unsigned long long)s->prev_record);
        cli_put_quoted(stderr, s->prev);
        fputs("') in input order: merge restores the order of runs over "
              "directories only (not --files-from lists, nor operands out "
              "of byte order)\n", stderr);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Copies bytes [start, end) of s's file to out. Returns 0 or -1. */
static int copy_range(const shard *s, FILE *out, uint64_t start, uint64_t end)
{
    char buf[1 << 16];
    int fd = fileno(s->fp);
    while (start < end) {
        size_t n = end - start < sizeof buf ? (size_t)(end - start) : sizeof buf;
        ssize_t got = pread(fd, buf, n, (off_t)start);
        if (got <= 0) {
            cli_error("cannot read '%s': %s", s->name,
                      got < 0 ? strerror(errno) : "file shrank");
            return -1;
        }
        if (fwrite(buf, 1, (size_t)got, out) != (size_t)got)
            return -1;
        start += (uint64_t)got;
    }
    return 0;
}

static void print_summary(const recfile_counts *c, int is_match,
                          double seconds)
{
    pipeline_stats st;
    memset(&st, 0, sizeof st);
    st.records = c->inputs;
    st.hashed = c->hashed;
    st.seconds = seconds;
    hashrun_summary_start(&st);
    if (is_match) {
        fprintf(stderr,
                ", %llu failed; %llu searched, %llu not searched (low "
                "quality); %llu matched (%llu match%s)",
                (unsigned long long)c->failed,
                (unsigned long long)c->searched,
                (unsigned long long)c->not_searched,
                (unsigned long long)c->matched, (unsigned long long)c->hits,
                c->hits == 1 ? "" : "es");
        if (c->suppressed)
            fprintf(stderr, "; %llu suppressed",
                    (unsigned long long)c->suppressed);
        if (c->search_failed)
            fprintf(stderr, "; %llu search%s failed",
                    (unsigned long long)c->search_failed,
                    c->search_failed == 1 ? "" : "es");
    } else {
        st.failed = c->failed;
        st.low_quality = c->low_quality;
        st.recovered = c->recovered;
        st.videos = c->videos;
        st.frames = c->frames;
        hashrun_summary_hash_counts(&st);
    }
    fprintf(stderr, "; merged in %.2f s\n", seconds);
}

int cmd_merge(int argc, char **argv, const cli_global *g)
{
    args_parser p;
    const char *arg, *out_path = NULL;
    int key, given = -1, format = -1, quiet = 0, status = CLI_EXIT_OK;
    shard *sh = NULL;
    size_t n = 0;
    FILE *out = stdout;
    char tmp[4096] = "";
    recfile_counts total;
    int is_match = -1, direct = 0;
    const char *header = NULL, *header_of = NULL;
    double start = progress_now();

    (void)g;
    memset(&total, 0, sizeof total);
    if (!(sh = calloc((size_t)argc, sizeof *sh))) {
        cli_error("out of memory");
        return CLI_EXIT_FATAL;
    }
    args_init(&p, "merge", argc, argv);
    while ((key = args_next(&p, options, &arg)) != ARGS_END) {
        switch (key) {
        case ARGS_ERROR:
            status = CLI_EXIT_USAGE;
            goto out;
        case ARGS_OPERAND:
            sh[n++].name = arg;
            break;
        case 'o':
            out_path = strcmp(arg, "-") == 0 ? NULL : arg;
            break;
        case 'f': {
            output_format f;
            if (output_format_parse(arg, &f) || f == OUTPUT_VPDQ) {
                status = cli_usage_error("merge",
                                         "invalid value '%s' for %s: "
                                         "expected tsv, csv, jsonl or pdq",
                                         arg, args_spelling(&p));
                goto out;
            }
            given = (int)f;
            break;
        }
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            goto out;
        default:
            status = cli_usage_error("merge", "internal error: option %d", key);
            goto out;
        }
    }
    if (!n) {
        status = cli_usage_error("merge", "no FILE given");
        goto out;
    }

    /* Open every file, and check that they are of one run. */
    for (size_t i = 0; i < n; i++) {
        char err[PHM_ERRMSG_MAX];
        shard *s = &sh[i];
        if (!(s->fp = fopen(s->name, "rb"))) {
            cli_error("cannot open '%s': %s", s->name, strerror(errno));
            status = CLI_EXIT_USAGE;
            goto out;
        }
        int rc = recfile_open(&s->rf, s->name, s->fp, given, NULL, err,
                              sizeof err);
        if (rc != PHM_OK) {
            cli_error("%s", err);
            status = rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_USAGE;
            goto out;
        }
        if ((status = advance(s)) != 0)
            goto out;
        const char *h = recfile_header(s->rf);
        int empty = !s->have && !h[0];
        if (empty)
            continue; /* a share without inputs: nothing to agree on */
        if (format < 0)
            format = (int)recfile_format(s->rf);
        if (!header) {
            header = h;
            header_of = s->name;
        }
        if (recfile_format(s->rf) != (output_format)format ||
            strcmp(header, h) != 0) {
            cli_error("'%s' and '%s' are not outputs of one run: their "
                      "formats or columns differ", header_of, s->name);
            status = CLI_EXIT_USAGE;
            goto out;
        }
    }

    struct stat st_out;
    if (out_path && stat(out_path, &st_out) == 0 && !S_ISREG(st_out.st_mode) &&
        !S_ISDIR(st_out.st_mode)) {
        /* A device or a FIFO (or a link to one) is written as it is:
         * renaming a file over it would replace it (/dev/null too). */
        direct = 1;
        if (!(out = fopen(out_path, "w"))) {
            cli_error("cannot write '%s': %s", out_path, strerror(errno));
            out = stdout;
            status = CLI_EXIT_USAGE;
            goto out;
        }
    } else if (out_path) {
        /* In the directory of OUT, renamed over it at the end. */
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.merge-XXXXXX", out_path) >=
            sizeof tmp) {
            cli_error("cannot write '%s': name too long", out_path);
            status = CLI_EXIT_USAGE;
            goto out;
        }
        int fd = mkstemp(tmp);
        if (fd < 0 || !(out = fdopen(fd, "w"))) {
            cli_error("cannot write '%s': %s", out_path, strerror(errno));
            if (fd >= 0)
                close(fd);
            out = stdout;
            if (fd >= 0)
                unlink(tmp);
            tmp[0] = '\0';
            status = CLI_EXIT_USAGE;
            goto out;
        }
    }
    if (header)
        fputs(header, out);
    for (;;) {
        shard *best = NULL;
        for (size_t i = 0; i < n; i++) {
            shard *s = &sh[i];
            if (!s->have)
                continue;
            int c = best ? path_cmp(s->g.path, s->g.path_len, best->g.path,
                                    best->g.path_len)
                         : -1;
            if (c == 0) {
                fputs("phmatch: '", stderr);
                cli_put_quoted(stderr, best->name);
                fputs("' and '", stderr);
                cli_put_quoted(stderr, s->name);
                fputs("' both hold '", stderr);
                cli_put_quoted(stderr, s->g.path);
                fputs("': overlapping shards (the same share twice, or "
                      "shards of different --shard N)\n", stderr);
                status = CLI_EXIT_USAGE;
                goto out;
            }
            if (c < 0)
                best = s;
        }
        if (!best)
            break;
        if (is_match < 0)
            is_match = recfile_is_match(best->rf);
        recfile_counts_add(&total, &best->g.counts);
        if (copy_range(best, out, best->g.start, best->g.end) != 0) {
            status = CLI_EXIT_FATAL;
            goto out;
        }
        if ((status = advance(best)) != 0)
            goto out;
    }
    if (fflush(out) != 0 || ferror(out) ||
        (out != stdout && !direct && fsync(fileno(out)) != 0)) {
        cli_error("cannot write '%s': %s", out_path ? out_path : "standard output",
                  strerror(errno ? errno : EIO));
        status = CLI_EXIT_FATAL;
        goto out;
    }
    if (out != stdout) {
        int crc = fclose(out);
        out = stdout;
        if (crc != 0 || (!direct && rename(tmp, out_path) != 0)) {
            cli_error("cannot write '%s': %s", out_path, strerror(errno));
            status = CLI_EXIT_FATAL;
            goto out;
        }
        tmp[0] = '\0';
    }
    if (!quiet)
        print_summary(&total, is_match > 0, progress_now() - start);
out:
    if (out != stdout)
        fclose(out);
    if (tmp[0])
        unlink(tmp);
    for (size_t i = 0; sh && i < n; i++) {
        recfile_close(sh[i].rf);
        if (sh[i].fp)
            fclose(sh[i].fp);
        free(sh[i].prev);
    }
    free(sh);
    return status;
}
