/*
 * recfile.h - reading back an output file of `phmatch hash` or `phmatch
 * match` (tsv, csv, jsonl or pdq), one input at a time: for --resume (which
 * inputs an interrupted run recorded) and `phmatch merge` (shard outputs
 * put back in input order).
 *
 * An input's records are consecutive and name the same path (a video's
 * summary and frames, an image's match lines, its eight pdq lines with
 * --dihedral): they are read as one group, with the byte range they hold
 * in the file, the path decoded to its exact bytes, and what they add to a
 * run's summary. A last record without its newline is a partial record
 * (the run was killed while writing it): it ends the groups, and
 * recfile_tail() says where it starts.
 *
 * What the records cannot say is not counted: pdq lines omit failed inputs
 * and file sizes; tsv and csv do not show whether an input's matches were
 * suppressed (jsonl does).
 *
 * Memory: one record at a time, at most RECFILE_MAX_RECORD bytes.
 */
#ifndef PHM_CLI_RECFILE_H
#define PHM_CLI_RECFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "output.h"

/* The longest record read: a jsonl match line of --max-matches 100000. */
#define RECFILE_MAX_RECORD ((size_t)64 << 20)

/* What inputs add to a run's summary (hash's, then match's counters). */
typedef struct recfile_counts {
    uint64_t inputs, hashed, failed, low_quality, recovered, bytes, videos,
        frames;
    uint64_t searched, not_searched, matched, hits, suppressed, search_failed;
} recfile_counts;

/* c += d. */
void recfile_counts_add(recfile_counts *c, const recfile_counts *d);

typedef struct recfile_group {
    const char *path;      /* decoded; valid until the next recfile_next() */
    size_t path_len;
    uint64_t start, end;   /* its bytes in the file: [start, end) */
    uint64_t record;       /* 1-based number of its first record (the
                              header line not counted) */
    recfile_counts counts; /* this input's share (inputs = 1) */
} recfile_group;

typedef struct recfile recfile;

/* Reads `fp` (named `name` in messages; read from its current position,
 * which must be the file's start; not closed here) as records of `format`,
 * or with format < 0 the format found from the first line (a tsv or csv
 * header, '{', a pdq line, else tsv if it holds a tab, else csv).
 *
 * header: NULL to take a tsv/csv header line from the file when it starts
 * with "path" and the separator; else the header this run writes ("" for
 * none): a file that is not empty must start with it exactly, and a file
 * holding only a first part of it counts as empty (recfile_tail() 0).
 *
 * Returns PHM_OK, PHM_ERR_NOMEM, or PHM_ERR_INVALID with "'NAME': ..." in
 * err (vpdq, which names no path; a header that differs). */
int recfile_open(recfile **out, const char *name, FILE *fp, int format,
                 const char *header, char *err, size_t errlen);

/* The next input's group. Returns 1 with *g, 0 at the end (or at a partial
 * last record), or a negative code with "'NAME': record N: ..." in err
 * (a record that is not one of this format: a corrupt file). */
int recfile_next(recfile *rf, recfile_group *g, char *err, size_t errlen);

/* After recfile_next() returned 0: the offset where the complete records
 * end (a partial record, if any, starts there). */
uint64_t recfile_tail(const recfile *rf);

/* After recfile_next() returned 0: nonzero if a partial record follows
 * recfile_tail(). */
int recfile_partial(const recfile *rf);

/* The format read, the header line ("" if none; with its newline), and
 * whether the records are `match`'s (1), `hash`'s (0) or not known yet
 * (-1: no record read). */
output_format recfile_format(const recfile *rf);
const char *recfile_header(const recfile *rf);
int recfile_is_match(const recfile *rf);

/* Accepts NULL. Does not close the FILE. */
void recfile_close(recfile *rf);

#endif /* PHM_CLI_RECFILE_H */
