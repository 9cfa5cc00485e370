/*
 * hashrun.h - one run of a command that hashes files (`hash`, `match`):
 * the output file, the progress line, the pipeline, the per-record
 * messages on stderr and the exit status. What the command writes, and
 * what it does with each record (pipeline hooks), stay with the command.
 *
 * Use in a command, beside hashopts.h:
 *
 *     static const args_option options[] = {
 *         { "format", 'f', 1, NULL },          (the command's own)
 *         { NULL, 0, 0, hashopt_options },
 *         { NULL, 0, 0, hashrun_options },     (-o, -q, --no-header,
 *         { NULL, 0, 0, NULL },                 --no-progress)
 *     };
 *     hashopts_init(&h, argc, g); hashrun_config_init(&cfg);
 *     while ((key = hashrun_next_option(&p, options, &h, &cfg, &arg)) !=
 *            ARGS_END)
 *         switch (key) { ...ARGS_ERROR, the command's own options... }
 *     hashopts_finish(&h, "match");
 *     hashrun r;
 *     status = hashrun_open(&r, &cfg, &h);     (inputs, output, progress)
 *     if (status >= 0) goto out;
 *     ...write the header to r.out...
 *     rc = hashrun_pipeline(&r, &h, &hooks, &stats);
 *     status = hashrun_status(&r, rc, status_if_the_run_worked);
 *     ...the summary, unless cfg.quiet...
 *   out:
 *     status = hashrun_close(&r, status);
 *
 * In the emit hook: hashrun_report(&r, rec) for the record's error or
 * warning, and after writing it hashrun_check_write(&r, err, errlen).
 */
#ifndef PHM_HASHRUN_H
#define PHM_HASHRUN_H

#include <stddef.h>
#include <stdio.h>

#include "args.h"
#include "hashopts.h"
#include "inputs.h"
#include "output.h"
#include "pipeline.h"
#include "progress.h"
#include "recfile.h"

/* Keys of the long-only options in hashrun_options: above hashopts'. */
#define HASHRUN_KEY_BASE 0x1100

/* The --help lines of the run options hashrun parses (--resume, --shard),
 * for the usage texts of hash and match. */
#define HASHRUN_USAGE \
    "      --resume           continue the run that wrote -o FILE and was\n" \
    "                         interrupted: its records are checked against\n" \
    "                         the inputs, a partial last input is done\n" \
    "                         again, the rest appended (a fresh run if FILE\n" \
    "                         is missing or empty)\n" \
    "      --shard I/N        only share I of N (1 <= I <= N) of the inputs,\n" \
    "                         chosen by a hash of each path under its root;\n" \
    "                         'phmatch merge' combines the N outputs\n"

/* -o/--output, --no-header, -q/--quiet, --no-progress; --resume,
 * --shard I/N. */
extern const args_option hashrun_options[];

typedef struct hashrun_config {
    const char *output_path; /* NULL: stdout */
    int header;              /* header line in tsv and csv */
    int quiet;               /* no summary, warnings or progress */
    int no_progress;
    int resume;              /* --resume: continue the run recorded in
                                output_path */
} hashrun_config;

/* The defaults: stdout, with a header, progress on a terminal. */
void hashrun_config_init(hashrun_config *c);

/* Handles `key` if it is one of hashrun_options. Returns 1 if handled, 0
 * if not. */
int hashrun_handle(hashrun_config *c, int key, const char *arg);

/* args_next() for a hashing command: operands and the options of
 * hashopt_options and hashrun_options are handled here. Returns the key
 * of one of the command's own options (value in *arg), ARGS_END, or
 * ARGS_ERROR after a usage error was printed. */
int hashrun_next_option(args_parser *p, const args_option *opts, hashopts *h,
                        hashrun_config *c, const char **arg);

/* The -o FILE's stdio buffer: larger than any record but a long video's. */
#define HASHRUN_FILE_BUF (1 << 20)

typedef struct hashrun {
    const hashrun_config *cfg;
    input_source *in;
    FILE *out;            /* stdout or the -o file */
    const char *out_name; /* for messages */
    progress *progress;   /* never NULL once hashrun_open() went on */
    int is_file;          /* -o FILE: each record flushed (one write()) */
    char *out_buf;        /* FILE's stdio buffer (HASHRUN_FILE_BUF), owned */
    double synced;        /* when FILE was last fsync'ed */
    /* --resume (see hashrun_begin()): */
    FILE *rin;            /* FILE read again to check the inputs */
    recfile *verify;
    const char *cur_path; /* the record to check next (in verify) */
    size_t cur_len;
    uint64_t cur_record;
    output_format format;
    uint64_t todo, verified, seen; /* inputs recorded, checked, enumerated */
    uint64_t cut;         /* FILE is cut to this length before appending */
    int cut_done, refused;
    recfile_counts before; /* what the inputs left out had given */
} hashrun;

/* Opens the inputs of `h`, the output (fully buffered unless a terminal)
 * and the progress line (shown when stderr is a terminal, not -q or
 * --no-progress, and records do not go to the same terminal); sets
 * h->pipe.progress. Returns -1 to go on, or an exit status after a message
 * (2 for unusable inputs or output, 3 out of memory). *r is ready for
 * hashrun_close() either way. */
int hashrun_open(hashrun *r, const hashrun_config *cfg, hashopts *h);

/* Writes the header (header(fp, ctx) writes it, or nothing) and, with
 * --resume, reads FILE as records of `format` written with this header:
 * the inputs it holds whole (all but its last, whose records may have
 * been cut) are left out of the run, each checked against the input it
 * stands for as they are enumerated (a difference stops the run before
 * FILE is changed), and their counts go to r->before; FILE is cut after
 * them (its header kept) just before the first record is appended.
 * Returns -1 to go on, or an exit status after a message. */
int hashrun_begin(hashrun *r, output_format format,
                  void (*header)(FILE *fp, const void *ctx), const void *ctx);

/* Runs the pipeline over the inputs; erases the progress line after.
 * Returns PHM_OK, or the code of a run that stopped early after printing
 * its message. *stats is filled either way. */
int hashrun_pipeline(hashrun *r, const hashopts *h,
                     const pipeline_hooks *hooks, pipeline_stats *stats);

/* The exit status of a run that returned `rc`: `if_ok` (the command's
 * judgement of the records) when rc is PHM_OK, else CLI_EXIT_FATAL; and
 * CLI_EXIT_FATAL after a message if the output cannot be flushed. */
int hashrun_status(hashrun *r, int rc, int if_ok);

/* Closes the output (a failure to close a file makes a non-fatal status
 * CLI_EXIT_FATAL, with a message), the progress line and the inputs.
 * Returns the status. */
int hashrun_close(hashrun *r, int status);

/* On stderr, for a record in emission order: why it could not be hashed,
 * or (unless quiet) that it was damaged and what was recovered. */
void hashrun_report(const hashrun *r, const hash_record *rec);

/* After writing a record: 0, or -1 with "cannot write to ..." in err if
 * the output has an error. A -o FILE gets the record now (one write()),
 * and an fsync() every 10 s. */
int hashrun_check_write(hashrun *r, char *err, size_t errlen);

/* The summary's start, "phmatch: N files: H hashed", and end,
 * "; T s, R files/s[, M MB/s]\n", on stderr. */
void hashrun_summary_start(const pipeline_stats *st);
void hashrun_summary_end(const pipeline_stats *st, int with_bytes);
/* The middle of `phmatch hash`'s summary: " (L low quality, R recovered),
 * F failed[; V videos, N frames hashed]". */
void hashrun_summary_hash_counts(const pipeline_stats *st);

#endif /* PHM_HASHRUN_H */
