/* hashrun.c - one run of a command that hashes files (see hashrun.h). */
#include "hashrun.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum {
    OPT_NO_HEADER = HASHRUN_KEY_BASE,
    OPT_NO_PROGRESS,
};

const args_option hashrun_options[] = {
    { "output", 'o', 1, NULL },
    { "no-header", OPT_NO_HEADER, 0, NULL },
    { "quiet", 'q', 0, NULL },
    { "no-progress", OPT_NO_PROGRESS, 0, NULL },
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
    if (cfg->output_path) {
        r->out = fopen(cfg->output_path, "w");
        r->out_name = cfg->output_path;
        if (!r->out) {
            cli_error("cannot open '%s' for writing: %s", cfg->output_path,
                      strerror(errno));
            return CLI_EXIT_USAGE;
        }
    }
    if (!isatty(fileno(r->out)))
        setvbuf(r->out, NULL, _IOFBF, 1 << 16);
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

int hashrun_pipeline(hashrun *r, const hashopts *h,
                     const pipeline_hooks *hooks, pipeline_stats *stats)
{
    char err[PHM_ERRMSG_MAX];
    int rc = pipeline_run(&h->pipe, r->in, hooks, stats, err, sizeof err);
    progress_clear(r->progress);
    if (rc != PHM_OK)
        cli_error("%s", err);
    return rc;
}

int hashrun_status(hashrun *r, int rc, int if_ok)
{
    int status = rc == PHM_OK ? if_ok : CLI_EXIT_FATAL;
    if (fflush(r->out) != 0 || ferror(r->out)) {
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

int hashrun_check_write(const hashrun *r, char *err, size_t errlen)
{
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

void hashrun_summary_end(const pipeline_stats *st, int with_bytes)
{
    double rate = st->seconds > 0 ? (double)st->records / st->seconds : 0;
    fprintf(stderr, "; %.2f s, %.1f files/s", st->seconds, rate);
    if (with_bytes)
        fprintf(stderr, ", %.1f MB/s",
                st->seconds > 0 ? (double)st->bytes / st->seconds / 1e6 : 0);
    fputc('\n', stderr);
}
