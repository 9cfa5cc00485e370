/* hashrun.c - one run of a command that hashes files (see hashrun.h). */
#include "hashrun.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum {
    OPT_NO_HEADER = HASHRUN_KEY_BASE,
    OPT_NO_PROGRESS,
    OPT_RESUME,
    OPT_SHARD,
};

/* How often a -o FILE is fsync'ed during a run (and at its end). */
#define SYNC_SECONDS 10.0
/* The most shards of --shard. */
#define SHARD_MAX 1000000

const args_option hashrun_options[] = {
    { "output", 'o', 1, NULL },
    { "no-header", OPT_NO_HEADER, 0, NULL },
    { "quiet", 'q', 0, NULL },
    { "no-progress", OPT_NO_PROGRESS, 0, NULL },
    { "resume", OPT_RESUME, 0, NULL },
    { "shard", OPT_SHARD, 1, NULL },
    { NULL, 0, 0, NULL },
};

void hashrun_config_init(hashrun_config *c)
{
    memset(c, 0, sizeof *c);
    c->header = 1;
}

int hashrun_handle(hashrun_config *c, int key, const char *arg)
{
    switch (key) {
    case 'o':
        c->output_path = strcmp(arg, "-") == 0 ? NULL : arg;
        return 1;
    case OPT_NO_HEADER:
        c->header = 0;
        return 1;
    case 'q':
        c->quiet = 1;
        return 1;
    case OPT_NO_PROGRESS:
        c->no_progress = 1;
        return 1;
    case OPT_RESUME:
        c->resume = 1;
        return 1;
    default:
        return 0;
    }
}

int hashrun_next_option(args_parser *p, const args_option *opts, hashopts *h,
                        hashrun_config *c, const char **arg)
{
    int key;
    while ((key = args_next(p, opts, arg)) != ARGS_END) {
        int r = hashopts_handle(h, p, key, *arg);
        if (r < 0)
            return ARGS_ERROR;
        if (key == OPT_SHARD) {
            /* I/N, 1 <= I <= N: the inputs of share I-1 (input_shard_of). */
            char *end;
            unsigned long long i = 0, n = 0;
            errno = 0;
            if ((*arg)[0] >= '1' && (*arg)[0] <= '9') {
                i = strtoull(*arg, &end, 10);
                if (*end == '/' && end[1] >= '1' && end[1] <= '9')
                    n = strtoull(end + 1, &end, 10);
            }
            if (errno || !n || *end || i > n || n > SHARD_MAX) {
                cli_usage_error(p->cmd,
                                "invalid value '%s' for %s: expected I/N, "
                                "1 <= I <= N <= %d (e.g. 2/8)",
                                *arg, args_spelling(p), SHARD_MAX);
                return ARGS_ERROR;
            }
            h->inputs.shard_index = (uint32_t)(i - 1);
            h->inputs.shard_count = (uint32_t)n;
            continue;
        }
        if (r == 0 && !hashrun_handle(c, key, *arg))
            return key;
    }
    return ARGS_END;
}

int hashrun_open(hashrun *r, const hashrun_config *cfg, hashopts *h)
{
    char err[PHM_ERRMSG_MAX];

    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    int rc = input_open(&r->in, &h->inputs, err, sizeof err);
    if (rc != PHM_OK) {
        cli_error("%s", err);
        return rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_USAGE;
    }
    r->out = stdout;
    r->out_name = "standard output";
    if (cfg->resume && !cfg->output_path) {
        cli_error("--resume needs the output file: -o FILE");
        return CLI_EXIT_USAGE;
    }
    if (cfg->output_path) {
        r->out_name = cfg->output_path;
        if (cfg->resume) {
            /* Not truncated: hashrun_begin() reads it first. */
            int fd = open(cfg->output_path,
                          O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
            r->out = fd < 0 ? NULL : fdopen(fd, "a");
            if (fd >= 0 && !r->out)
                close(fd);
        } else {
            r->out = fopen(cfg->output_path, "w");
        }
        if (!r->out) {
            cli_error("cannot open '%s' for writing: %s", cfg->output_path,
                      strerror(errno));
            return CLI_EXIT_USAGE;
        }
        r->is_file = 1;
        r->synced = progress_now();
    }
    /* A file gets each record with one write() (flushed at its end,
     * hashrun_check_write): a killed run leaves whole records but perhaps
     * the last, which --resume cuts. glibc ignores setvbuf's size without
     * a buffer (it takes the file's block size, 4 KB, which splits a
     * video's record), hence one of our own; stdout keeps stdio's, as it
     * is flushed after hashrun_close() would free one. */
    if (r->is_file && (r->out_buf = malloc(HASHRUN_FILE_BUF)) != NULL)
        setvbuf(r->out, r->out_buf, _IOFBF, HASHRUN_FILE_BUF);
    r->progress = progress_new(
        stderr, !cfg->quiet && !cfg->no_progress && isatty(STDERR_FILENO) &&
                    !(r->out == stdout && isatty(STDOUT_FILENO)));
    if (!r->progress) {
        cli_error("out of memory");
        return CLI_EXIT_FATAL;
    }
    h->pipe.progress = r->progress;
    return -1;
}

/* Cuts FILE after the records kept (--resume). Returns 0, or -1 with a
 * message in err. */
static int cut_file(hashrun *r, char *err, size_t errlen)
{
    r->cut_done = 1;
    if (ftruncate(fileno(r->out), (off_t)r->cut) != 0 ||
        fsync(fileno(r->out)) != 0) {
        snprintf(err, errlen, "cannot cut '%s' after its last whole input: "
                 "%s", r->out_name, strerror(errno));
        return -1;
    }
    return 0;
}

int hashrun_begin(hashrun *r, output_format format,
                  void (*header)(FILE *fp, const void *ctx), const void *ctx)
{
    char err[PHM_ERRMSG_MAX];
    char *text = NULL;
    size_t len = 0;
    recfile *rf = NULL;
    recfile_group g;
    uint64_t groups = 0, last_start = 0;
    recfile_counts last;
    int status = -1, rc;

    FILE *ms = open_memstream(&text, &len);
    if (ms) {
        header(ms, ctx);
        if (fclose(ms) != 0) {
            free(text);
            text = NULL;
        }
    }
    if (!ms || !text) {
        cli_error("out of memory");
        return CLI_EXIT_FATAL;
    }
    if (!r->cfg->resume) {
        fwrite(text, 1, len, r->out);
        goto out;
    }
    r->format = format;
    memset(&last, 0, sizeof last);
    if (!(r->rin = fopen(r->out_name, "rb"))) {
        cli_error("cannot read '%s': %s", r->out_name, strerror(errno));
        status = CLI_EXIT_USAGE;
        goto out;
    }
    rc = recfile_open(&rf, r->out_name, r->rin, (int)format, text, err,
                      sizeof err);
    while (rc == PHM_OK && (rc = recfile_next(rf, &g, err, sizeof err)) > 0) {
        if (groups++)
            recfile_counts_add(&r->before, &last);
        last = g.counts;
        last_start = g.start;
        rc = PHM_OK;
    }
    if (rc < 0) {
        cli_error("cannot resume: %s", err);
        status = rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_USAGE;
        goto out;
    }
    /* The last input is done again: its records may have been cut (a
     * video's frames, an image's match lines). */
    r->todo = groups ? groups - 1 : 0;
    r->cut = groups ? last_start : recfile_tail(rf);
    recfile_close(rf);
    rf = NULL;
    if (r->cut == 0)
        fwrite(text, 1, len, r->out);
    if (r->todo == 0) {
        if (cut_file(r, err, sizeof err)) {
            cli_error("%s", err);
            status = CLI_EXIT_FATAL;
        }
        goto out;
    }
    /* Read again, input by input, as the inputs are enumerated. */
    if (fseeko(r->rin, 0, SEEK_SET) != 0) {
        cli_error("cannot read '%s': %s", r->out_name, strerror(errno));
        status = CLI_EXIT_FATAL;
    } else if (recfile_open(&r->verify, r->out_name, r->rin, (int)format, text, err,
                            sizeof err) != PHM_OK) {
        /* its message names the file and says what failed; errno may not */
        cli_error("cannot resume: %s", err);
        status = CLI_EXIT_FATAL;
    }
out:
    recfile_close(rf);
    free(text);
    return status;
}

/* The pipeline's admit hook with --resume: leaves out the inputs FILE
 * holds, each checked against its record. */
static int admit(void *ctx, const input_item *item, char *err, size_t errlen)
{
    hashrun *r = ctx;
    recfile_group g;
    r->seen++;
    if (r->verified == r->todo)
        return 0;
    for (;;) {
        if (!r->cur_path) {
            int rc = recfile_next(r->verify, &g, err, errlen);
            if (rc <= 0) { /* read before: cannot change but for I/O */
                if (rc == 0)
                    snprintf(err, errlen, "'%s' changed during the run",
                             r->out_name);
                return rc < 0 ? rc : PHM_ERR_INVALID;
            }
            r->cur_path = g.path;
            r->cur_len = g.path_len;
            r->cur_record = g.record;
        }
        if (item->len == r->cur_len &&
            memcmp(item->path, r->cur_path, item->len) == 0)
            break;
        if (r->format == OUTPUT_PDQ)
            return 1; /* pdq lines omit failed inputs: one of them */
        r->refused = 1;
        snprintf(err, errlen, "cannot resume '%s': it is not the output of "
                 "this run's inputs: its record %llu names '%.*s', where "
                 "input %llu is '%.*s'",
                 r->out_name, (unsigned long long)r->cur_record,
                 (int)(r->cur_len > 512 ? 512 : r->cur_len), r->cur_path,
                 (unsigned long long)r->seen,
                 (int)(item->len > 512 ? 512 : item->len), item->path);
        return PHM_ERR_INVALID;
    }
    r->cur_path = NULL;
    if (++r->verified == r->todo && cut_file(r, err, errlen))
        return PHM_ERR_UNREADABLE;
    return 1;
}

int hashrun_pipeline(hashrun *r, const hashopts *h,
                     const pipeline_hooks *hooks, pipeline_stats *stats)
{
    char err[PHM_ERRMSG_MAX];
    pipeline_hooks hk = *hooks;
    if (r->verify) {
        hk.admit = admit;
        hk.admit_ctx = r;
        r->seen = 0;
    }
    int rc = pipeline_run(&h->pipe, r->in, &hk, stats, err, sizeof err);
    progress_clear(r->progress);
    if (rc == PHM_OK && r->verify && r->verified < r->todo) {
        recfile_group g;
        r->refused = 1;
        rc = PHM_ERR_INVALID;
        if (r->cur_path || recfile_next(r->verify, &g, err, sizeof err) > 0) {
            if (!r->cur_path) {
                r->cur_path = g.path;
                r->cur_len = g.path_len;
                r->cur_record = g.record;
            }
            snprintf(err, sizeof err, "cannot resume '%s': it holds records "
                     "of more inputs than this run has: its record %llu "
                     "names '%.*s', not one of them (or not in this order)",
                     r->out_name, (unsigned long long)r->cur_record,
                     (int)(r->cur_len > 512 ? 512 : r->cur_len), r->cur_path);
        }
    }
    if (rc != PHM_OK)
        cli_error("%s", err);
    return rc;
}

int hashrun_status(hashrun *r, int rc, int if_ok)
{
    int status = rc == PHM_OK ? if_ok : r->refused ? CLI_EXIT_USAGE
                                                   : CLI_EXIT_FATAL;
    if (fflush(r->out) != 0 || ferror(r->out) ||
        (r->is_file && fsync(fileno(r->out)) != 0 && errno != EINVAL)) {
        if (rc == PHM_OK)
            cli_error("cannot write to '%s': %s", r->out_name,
                      strerror(errno ? errno : EIO));
        status = CLI_EXIT_FATAL;
    }
    return status;
}

int hashrun_close(hashrun *r, int status)
{
    if (r->out && r->out != stdout && fclose(r->out) != 0 &&
        status != CLI_EXIT_FATAL) {
        cli_error("cannot write to '%s': %s", r->out_name, strerror(errno));
        status = CLI_EXIT_FATAL;
    }
    r->out = NULL;
    free(r->out_buf);
    r->out_buf = NULL;
    recfile_close(r->verify);
    r->verify = NULL;
    if (r->rin)
        fclose(r->rin);
    r->rin = NULL;
    progress_free(r->progress);
    r->progress = NULL;
    input_close(r->in);
    r->in = NULL;
    return status;
}

void hashrun_report(const hashrun *r, const hash_record *rec)
{
    if (rec->status < 0) {
        progress_clear(r->progress);
        fputs("phmatch: cannot hash '", stderr);
        cli_put_quoted(stderr, rec->path);
        fputs("': ", stderr);
        cli_put_quoted(stderr, rec->message[0] ? rec->message
                                               : phm_strerror(rec->status));
        fputc('\n', stderr);
    } else if (rec->status == PHM_WARN_RECOVERED && !r->cfg->quiet) {
        progress_clear(r->progress);
        fputs("phmatch: warning: '", stderr);
        cli_put_quoted(stderr, rec->path);
        fputs("' is damaged (", stderr);
        cli_put_quoted(stderr, rec->message);
        fputs("); hashed what the decoder recovered\n", stderr);
    }
}

int hashrun_check_write(hashrun *r, char *err, size_t errlen)
{
    if (r->is_file && !ferror(r->out)) {
        /* The record with one write(); FILE on disk every SYNC_SECONDS. */
        double now = progress_now();
        if (fflush(r->out) == 0 && now - r->synced >= SYNC_SECONDS) {
            r->synced = now;
            if (fsync(fileno(r->out)) != 0 && errno != EINVAL) {
                snprintf(err, errlen, "cannot write to '%s': %s",
                         r->out_name, strerror(errno));
                return -1;
            }
        }
    }
    if (!ferror(r->out))
        return 0;
    snprintf(err, errlen, "cannot write to '%s': %s", r->out_name,
             strerror(errno ? errno : EIO));
    return -1;
}

void hashrun_summary_start(const pipeline_stats *st)
{
    fprintf(stderr, "phmatch: %llu file%s: %llu hashed",
            (unsigned long long)st->records, st->records == 1 ? "" : "s",
            (unsigned long long)st->hashed);
}

void hashrun_summary_hash_counts(const pipeline_stats *st)
{
    if (st->low_quality || st->recovered) {
        fprintf(stderr, " (");
        if (st->low_quality)
            fprintf(stderr, "%llu low quality",
                    (unsigned long long)st->low_quality);
        if (st->recovered)
            fprintf(stderr, "%s%llu recovered", st->low_quality ? ", " : "",
                    (unsigned long long)st->recovered);
        fprintf(stderr, ")");
    }
    fprintf(stderr, ", %llu failed", (unsigned long long)st->failed);
    if (st->videos)
        fprintf(stderr, "; %llu video%s, %llu frames hashed",
                (unsigned long long)st->videos, st->videos == 1 ? "" : "s",
                (unsigned long long)st->frames);
}

void hashrun_summary_end(const pipeline_stats *st, int with_bytes)
{
    double rate = st->seconds > 0 ? (double)st->records / st->seconds : 0;
    fprintf(stderr, "; %.2f s, %.1f files/s", st->seconds, rate);
    if (with_bytes)
        fprintf(stderr, ", %.1f MB/s",
                st->seconds > 0 ? (double)st->bytes / st->seconds / 1e6 : 0);
    fputc('\n', stderr);
}
