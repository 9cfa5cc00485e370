/* cmd_hash.c - `phmatch hash`: PDQ hashes (and digests) of many files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "hashopts.h"
#include "hashrun.h"
#include "output.h"

static const char usage_text[] =
    "usage: phmatch hash [options] PATH...\n"
    "\n"
    "Computes the PDQ hash of every image file named, of every file under\n"
    "the directories named (recursively, in sorted order), and of the paths\n"
    "listed in '-' (standard input) or --files-from lists. Writes one record\n"
    "per file, in input order: a result, or an error with its reason. A\n"
    "video gives a summary record and one record per hashed frame; an\n"
    "animated GIF or WebP is an image (its first frame), and with\n"
    "--animation frames its image record is followed by its frames'.\n"
    "\n" HASHOPT_USAGE
    "\n"
    "Output:\n"
    "  -f, --format FMT       tsv (default, with a header line), csv, jsonl,\n"
    "                         pdq (the reference's hash,quality,path lines),\n"
    "                         or vpdq (the vPDQ reference's\n"
    "                         frame,quality,hash,timestamp lines; videos only)\n"
    "  -o, --output FILE      write records to FILE instead of stdout\n"
    "      --no-header        no header line in tsv and csv\n"
    "      --output-dir DIR   also write each video's vPDQ lines to\n"
    "                         DIR/NAME.txt (NAME: the file name without its\n"
    "                         extension), as the reference's hasher does;\n"
    "                         with -f vpdq, only there\n"
    "  -q, --quiet            no summary, warnings or progress on stderr\n"
    "      --no-progress      no progress line (shown only on a terminal)\n"
    HASHRUN_USAGE
    "  -h, --help             show this help\n"
    "\n"
    "Columns: path status size format width height mode pdq quality flags\n"
    "[rot90 rot180 rot270 flipx flipy flipplus1 flipminus1] [md5 sha1 sha256]\n"
    "kind frame timestamp fps frames error. status is 'ok' or a reason:\n"
    "not_found, unreadable, unsupported_format, corrupt, too_large,\n"
    "too_small, is_directory ... flags: low_quality (quality < 50),\n"
    "recovered. kind: image, video (a video's summary: timestamp = seconds\n"
    "decoded, frames = frames hashed), frame (frame number, timestamp;\n"
    "an animation's image record has frames = frames hashed).\n"
    "\n"
    "Exit status: 0 all hashed, 1 some failed, 2 usage error, 3 stopped\n"
    "early (write error, out of memory, unreadable list).\n";

enum {
    OPT_OUTPUT_DIR = 256,
};

static const args_option options[] = {
    { "format", 'f', 1, NULL },
    { "output-dir", OPT_OUTPUT_DIR, 1, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, hashopt_options },
    { NULL, 0, 0, hashrun_options },
    { NULL, 0, 0, NULL },
};

/* Everything `phmatch hash` decided from its arguments. */
typedef struct hash_options {
    hashopts h;               /* inputs and hashing */
    hashrun_config run;       /* output file, quiet, progress */
    output_config out;
    const char *output_dir;   /* --output-dir, or NULL */
} hash_options;

/* The names written in --output-dir during this run, so that two videos
 * with the same name never overwrite each other: an open-addressing set. */
typedef struct name_set {
    char **slots;
    size_t cap, count;
} name_set;

/* State of a run, shared with the emit hook. */
typedef struct hash_run {
    const hash_options *opt;
    hashrun r;
    name_set written;
    uint64_t dir_failed; /* videos whose vPDQ file could not be written */
} hash_run;

static size_t name_hash(const char *s)
{
    size_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Adds `name` to the set. Returns 1 if added, 0 if already there, -1 if
 * out of memory. */
static int name_set_add(name_set *ns, const char *name)
{
    if (ns->count * 2 >= ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 64;
        char **slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < ns->cap; i++) {
            if (!ns->slots[i])
                continue;
            size_t j = name_hash(ns->slots[i]) & (cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = ns->slots[i];
        }
        free(ns->slots);
        ns->slots = slots;
        ns->cap = cap;
    }
    size_t j = name_hash(name) & (ns->cap - 1);
    while (ns->slots[j]) {
        if (strcmp(ns->slots[j], name) == 0)
            return 0;
        j = (j + 1) & (ns->cap - 1);
    }
    if (!(ns->slots[j] = strdup(name)))
        return -1;
    ns->count++;
    return 1;
}

static void name_set_free(name_set *ns)
{
    for (size_t i = 0; i < ns->cap; i++)
        free(ns->slots[i]);
    free(ns->slots);
}

/* Writes the vPDQ file of video record `r` into --output-dir, through a
 * temporary file renamed into place (mode 0600, as hash lists are
 * sensitive). Returns 0, or -1 after a message. */
static int write_vpdq_file(hash_run *run, const hash_record *r)
{
    const char *dir = run->opt->output_dir;
    const char *base = r->path, *slash = strrchr(r->path, '/');
    char name[4096], tmp[4096], final[4096];
    const char *why = NULL;
    int fd = -1, have_tmp = 0;
    FILE *fp = NULL;

    if (r->stdin_video)
        base = "stdin";
    else if (slash)
        base = slash + 1;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    final[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)base[i];
        if (c < 0x20 || c == 0x7f) {
            /* The file's name becomes the video's id on import. */
            why = "the name holds control characters, which a video id cannot";
            goto fail;
        }
    }
    if ((size_t)snprintf(name, sizeof name, "%.*s.txt", (int)len, base) >=
            sizeof name ||
        (size_t)snprintf(final, sizeof final, "%s/%s", dir, name) >=
            sizeof final ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >=
            sizeof tmp) {
        why = "file name too long";
        goto fail;
    }
    int added = name_set_add(&run->written, name);
    if (added < 0) {
        why = strerror(ENOMEM);
        goto fail;
    }
    if (added == 0) {
        why = "an earlier video of this run has the same name";
        goto fail;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        why = strerror(errno);
        goto fail;
    }
    have_tmp = 1;
    if (!(fp = fdopen(fd, "w"))) {
        why = strerror(errno);
        goto fail;
    }
    fd = -1;
    errno = 0;
    output_vpdq(fp, r->video);
    if (fflush(fp) != 0 || ferror(fp)) {
        why = strerror(errno ? errno : EIO);
        goto fail;
    }
    int crc = fclose(fp);
    fp = NULL;
    if (crc != 0) {
        why = strerror(errno);
        goto fail;
    }
    if (rename(tmp, final) != 0) {
        why = strerror(errno);
        goto fail;
    }
    return 0;
fail:
    if (fp)
        fclose(fp);
    if (fd >= 0)
        close(fd);
    if (have_tmp)
        (void)unlink(tmp);
    progress_clear(run->r.progress);
    fputs("phmatch: cannot write the vPDQ file of '", stderr);
    cli_put_quoted(stderr, r->path);
    fputs("' to '", stderr);
    cli_put_quoted(stderr, final[0] ? final : dir);
    fprintf(stderr, "': %s\n", why);
    run->dir_failed++;
    return -1;
}

static int emit_record(void *ctx, const hash_record *r, char *err,
                       size_t errlen)
{
    hash_run *run = ctx;

    hashrun_report(&run->r, r);
    if (run->opt->output_dir && r->video && (r->status >= 0 || r->video->count))
        write_vpdq_file(run, r);
    /* With --output-dir the vpdq lines go to the files only. */
    if (run->opt->output_dir && run->opt->out.format == OUTPUT_VPDQ)
        return 0;
    errno = 0;
    output_record(run->r.out, &run->opt->out, r);
    return hashrun_check_write(&run->r, err, errlen);
}

static void write_header(FILE *fp, const void *out)
{
    output_header(fp, out);
}

/* Adds the counts of the inputs a resumed run left out (recfile.h). */
static void add_before(pipeline_stats *st, const recfile_counts *c)
{
    st->records += c->inputs;
    st->hashed += c->hashed;
    st->failed += c->failed;
    st->low_quality += c->low_quality;
    st->recovered += c->recovered;
    st->bytes += c->bytes;
    st->videos += c->videos;
    st->frames += c->frames;
}

static void print_summary(const pipeline_stats *st)
{
    hashrun_summary_start(st);
    hashrun_summary_hash_counts(st);
    hashrun_summary_end(st, 1);

    const input_counts *sk = &st->skipped;
    if (sk->symlinks_skipped)
        fprintf(stderr, "phmatch: skipped %llu symbolic link%s (-L follows them)\n",
                (unsigned long long)sk->symlinks_skipped,
                sk->symlinks_skipped == 1 ? "" : "s");
}

/* Parses the arguments into *o. Returns -1 to go on, or an exit status
 * (help shown, or a usage error reported). */
static int parse_options(int argc, char **argv, const cli_global *g,
                         hash_options *o)
{
    args_parser p;
    const char *arg;
    int key;

    memset(o, 0, sizeof *o);
    if (hashopts_init(&o->h, argc, g))
        return CLI_EXIT_FATAL;
    hashrun_config_init(&o->run);
    o->out.format = OUTPUT_TSV;

    args_init(&p, "hash", argc, argv);
    while ((key = hashrun_next_option(&p, options, &o->h, &o->run, &arg)) !=
           ARGS_END) {
        switch (key) {
        case ARGS_ERROR:
            return CLI_EXIT_USAGE;
        case 'f':
            if (output_format_parse(arg, &o->out.format))
                return cli_usage_error("hash",
                                       "invalid value '%s' for %s: expected "
                                       "tsv, csv, jsonl, pdq or vpdq",
                                       arg, args_spelling(&p));
            break;
        case OPT_OUTPUT_DIR: {
            struct stat st;
            if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode))
                return cli_usage_error("hash",
                                       "invalid value '%s' for %s: not a "
                                       "directory",
                                       arg, args_spelling(&p));
            o->output_dir = arg;
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("hash", "internal error: option %d", key);
        }
    }
    if (hashopts_finish(&o->h, "hash"))
        return CLI_EXIT_USAGE;
    if (o->run.resume && o->out.format == OUTPUT_VPDQ)
        return cli_usage_error("hash", "--resume cannot continue -f vpdq "
                               "output: its lines name no input");
    o->out.header = o->run.header;
    o->out.mode = o->h.pipe.mode;
    o->out.dihedral = o->h.pipe.dihedral;
    o->out.digests = o->h.pipe.digests;
    return -1;
}

int cmd_hash(int argc, char **argv, const cli_global *g)
{
    hash_options o;
    hash_run run;
    pipeline_hooks hooks;
    pipeline_stats stats;
    int rc, status;

    memset(&run, 0, sizeof run);
    status = parse_options(argc, argv, g, &o);
    if (status >= 0)
        goto out;
    run.opt = &o;
    status = hashrun_open(&run.r, &o.run, &o.h);
    if (status >= 0)
        goto out;

    status = hashrun_begin(&run.r, o.out.format, write_header, &o.out);
    if (status >= 0)
        goto out;
    memset(&hooks, 0, sizeof hooks);
    hooks.ctx = &run;
    hooks.emit = emit_record;
    rc = hashrun_pipeline(&run.r, &o.h, &hooks, &stats);
    add_before(&stats, &run.r.before); /* --resume: the whole run's */
    status = hashrun_status(&run.r, rc,
                            stats.failed || run.dir_failed ? CLI_EXIT_PARTIAL
                                                           : CLI_EXIT_OK);
    if (!o.run.quiet && !run.r.refused)
        print_summary(&stats);
out:
    status = hashrun_close(&run.r, status);
    name_set_free(&run.written);
    hashopts_free(&o.h);
    return status;
}
