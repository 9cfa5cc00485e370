/*
 * report.h - `phmatch match --report DIR`: what a lab hands on after a run.
 *
 *   DIR/case.json    the run's matched files as a Project VIC VICS 2.0 case
 *                    file (#Cases: one Case, its Media nested), which review
 *                    tools ingest;
 *   DIR/report.html  one self-contained HTML page (inline CSS, no script, no
 *                    external resource, no image of any file): parameters,
 *                    versions, counts per source and category, and per
 *                    matched file its matches.
 *
 * DIR is created with mode 0700; an existing DIR is used only if it is
 * empty or holds nothing but a previous report (its files are replaced).
 * Files are created with mode 0600, written as DIR/NAME.part and renamed
 * when the run ends, so a report is whole or absent. Matched files are
 * streamed: the case file as they come, the HTML rows into an unlinked
 * file in DIR that report_finish() copies after the summary. Memory: one
 * counter per (source, category) matched.
 *
 * The emitter calls these, one call at a time (docs: README "--report").
 */
#ifndef PHM_REPORT_H
#define PHM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "inputs.h"
#include "phmatch.h"
#include "pipeline.h"

typedef struct report report;

typedef struct report_params {
    const char *dir;
    int argc;          /* the command line, `match` and its arguments */
    char **argv;
    const char *index_path;
    phm_index *idx;    /* for its statistics */
    int max_distance, min_quality, dihedral;
    size_t max_matches;
    double query_threshold, compared_threshold;
    phm_mode mode;
    const input_spec *specs; /* the inputs named, for RelativeFilePath */
    size_t nspecs;
} report_params;

/* What the run counted, for the summary. */
typedef struct report_counts {
    uint64_t searched, low_quality, matched_inputs, matches, search_failed;
    /* files whose matches a suppression source suppressed: counted, never
     * listed (they are not matches; jsonl output lists them) */
    uint64_t suppressed_inputs;
} report_counts;

/* Creates DIR (or checks it) and starts both files. Returns 0, or -1 with
 * the message in err. */
int report_open(report **out, const report_params *p, char *err, size_t errlen);

/* One matched file: report_file_begin, report_match for each listed hit
 * (nearest first), report_file_end with the number of entries matched. */
void report_file_begin(report *r, const hash_record *rec);
void report_match(report *r, const hash_record *rec, const phm_match_hit *h);
void report_file_end(report *r, const hash_record *rec, uint64_t total);

/* Ends both files and renames them into place; `stopped` (NULL if the run
 * worked) says why the run stopped early. Returns 0, or -1 with the
 * message in err (a write error). */
int report_finish(report *r, const pipeline_stats *st, const report_counts *c,
                  const char *stopped, char *err, size_t errlen);

/* Frees; the .part files of a report not finished are removed. Accepts
 * NULL. */
void report_free(report *r);

#endif /* PHM_REPORT_H */
