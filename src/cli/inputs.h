/*
 * inputs.h - the stream of input paths: operands, path lists and the files
 * under directories, enumerated lazily and in a reproducible order.
 *
 * Order: sources in the order given; a directory is walked depth first,
 * each directory's entries sorted by byte value (strcmp, not the locale),
 * so the same tree always gives the same sequence. Only one directory's
 * listing per level of the current walk is held in memory, never the
 * whole list: a million-file run stays small.
 *
 * Symbolic links named as operands or in a list are followed. Links met
 * while walking a directory are skipped (and counted) unless `follow` is
 * set, when directory loops are detected and reported. Special files
 * (FIFOs, sockets, devices) met in a walk are skipped and counted; named
 * explicitly, they give an error record. Reading them could block forever.
 *
 * One thread at a time.
 */
#ifndef PHM_INPUTS_H
#define PHM_INPUTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum input_kind {
    INPUT_PATH, /* a file or directory */
    INPUT_LIST, /* a file listing paths, one per line (or NUL-separated) */
    INPUT_STDIN_VIDEO, /* one video read from standard input (value "-") */
} input_kind;

typedef struct input_spec {
    input_kind kind;
    const char *value; /* the path; for a list "-" means standard input */
} input_spec;

typedef struct input_options {
    const input_spec *specs; /* borrowed; must outlive the source */
    size_t nspecs;
    int follow;              /* follow symbolic links met in walks */
    int nul;                 /* lists are NUL-separated, not by newlines */
    size_t max_path;         /* longest list entry accepted; 0: 65536 */
    /* --shard: only the inputs of share shard_index (0-based) of
     * shard_count (0 or 1: all inputs); see input_shard_of(). */
    uint32_t shard_index, shard_count;
} input_options;

typedef struct input_item {
    const char *path; /* NUL-terminated; valid until the next input_next() */
    size_t len;       /* strlen(path) */
    int status;       /* PHM_OK: a file to hash. Else a PHM_ERR_* code for
                         a path that failed while enumerating (e.g. an
                         unreadable directory): an error record. */
    const char *message; /* the cause when status != PHM_OK ("Permission
                            denied"); valid like `path` */
    int stdin_video;  /* the INPUT_STDIN_VIDEO item: path is "-" */
} input_item;

typedef struct input_counts {
    uint64_t symlinks_skipped; /* links met in walks, not followed */
} input_counts;

typedef struct input_source input_source;

/* Creates a source and opens every list it names, so that a missing list
 * is reported before any work. Returns PHM_OK; PHM_ERR_NOMEM; or
 * PHM_ERR_NOT_FOUND / PHM_ERR_UNREADABLE with "cannot open 'x': ..." in
 * `err`. */
int input_open(input_source **out, const input_options *opt, char *err,
               size_t errlen);

/* Fetches the next input into *item. Returns 1 with an item, 0 at the end,
 * or a negative PHM_ERR_* code on a fatal error (a list cannot be read,
 * out of memory) with a message in `err`. */
int input_next(input_source *in, input_item *item, char *err, size_t errlen);

/* The share (0 .. n-1) of an input whose path relative to its
 * command-line root is rel[0..len): the file's path under the directory
 * named on the command line (or in a list) for a file met in a walk, and
 * the path as given for a path named directly. 64-bit FNV-1a of the bytes
 * (offset basis 0xcbf29ce484222325, prime 0x100000001b3), mixed by
 * MurmurHash3's 64-bit finalizer (fmix64), modulo n. n >= 1. */
uint32_t input_shard_of(const char *rel, size_t len, uint32_t n);

void input_get_counts(const input_source *in, input_counts *out);

/* Closes lists (not standard input) and frees. Accepts NULL. */
void input_close(input_source *in);

#endif /* PHM_INPUTS_H */
