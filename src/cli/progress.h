/*
 * progress.h - the live progress line on a terminal's stderr:
 *
 *     1234/5678 files  210.4 files/s  48.2 MB/s  ETA 0:21
 *
 * While the input is still being enumerated the total shows as "5678+"
 * and there is no ETA. Redrawn at most four times a second; drawn only if
 * enabled (the caller decides: stderr is a terminal, no --no-progress).
 * Not thread-safe: one thread at a time (the pipeline's emitter).
 */
#ifndef PHM_PROGRESS_H
#define PHM_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct progress progress;

/* Returns NULL if out of memory; a disabled progress is valid and draws
 * nothing. */
progress *progress_new(FILE *fp, int enabled);
void progress_free(progress *p);

/* Reports `done` of `total` inputs finished (`total_known` zero while more
 * may come) and `bytes` read so far. Redraws if the last draw is older than
 * 250 ms. */
void progress_update(progress *p, uint64_t done, uint64_t total,
                     int total_known, uint64_t bytes);

/* Says that `n` of the inputs counted as done in updates were done before
 * this run (--resume): the rate and the ETA leave them out. */
void progress_set_done_before(progress *p, uint64_t n);

/* Erases the line, so a message can be written to the same stream; the
 * next update redraws it. */
void progress_clear(progress *p);

/* Seconds on a monotonic clock, for elapsed-time arithmetic. */
double progress_now(void);

#endif /* PHM_PROGRESS_H */
