/*
 * quarantine.h - phmatchd's count of distinct matching queries per entry
 * over a sliding window (governance: an entry matched by more than its
 * source's quarantine_limit distinct queries within its
 * quarantine_window is quarantined in the index).
 *
 * Memory is bounded: at most QUARANTINE_TRACKED entries are followed (the
 * one matched longest ago is forgotten to make room), each with a list of
 * at most limit + 1 (<= PHM_QUARANTINE_MAX_LIMIT + 1) distinct query
 * fingerprints (64 bits of the query's PDQ hash) and when each was last
 * seen; fingerprints older than the window are dropped as the entry is
 * matched again. Worst case QUARANTINE_TRACKED x 1001 x 16 bytes (16 MiB);
 * an entry's list grows only with the distinct queries it meets. Exact for
 * the entries followed (two hashes with the same 64-bit fingerprint
 * count once). One mutex; the work per match is a lookup among the
 * followed entries and a pass over one entry's list.
 *
 * Across restarts: the followed entries' lists are kept in the index
 * (phm_index_quarantine_counts_*: loaded at start by quarantine_load,
 * written by quarantine_flush: phmatchd's flusher thread each second the
 * counts changed, and at a stop), so a restart continues counting; a
 * crash loses at most the last second's queries. Times are stored as
 * unix milliseconds and kept here as monotonic ones.
 */
#ifndef SVC_QUARANTINE_H
#define SVC_QUARANTINE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "phmatch.h"

#define QUARANTINE_TRACKED 1024

typedef struct q_seen {
    uint64_t fp;
    int64_t ms; /* last seen, monotonic milliseconds */
} q_seen;

typedef struct q_track {
    uint64_t entry;
    int64_t last_ms;
    uint32_t n, cap;
    q_seen *seen;
    int dirty; /* changed since the last flush */
} q_track;

typedef struct svc_quarantine {
    pthread_mutex_t lock;
    q_track *t; /* QUARANTINE_TRACKED, allocated at the first match */
    size_t n;
    /* entries forgotten since the last flush (their rows go), or `full`:
     * too many, the next flush rewrites the table */
    uint64_t evicted[QUARANTINE_TRACKED];
    size_t nevicted;
    int full;
} svc_quarantine;

void quarantine_init(svc_quarantine *q);
void quarantine_free(svc_quarantine *q);

/* The fingerprint of a query hash. */
uint64_t quarantine_fp(const phm_pdq *h);

/* Notes that query `fp` matched `entry` at `now_ms`, for a source of
 * `limit` (1..PHM_QUARANTINE_MAX_LIMIT) distinct queries per `window_ms`.
 * Returns 1 when this makes more than `limit` (the entry is then forgotten
 * here; *count says how many), 0 otherwise, -1 out of memory. */
int quarantine_note(svc_quarantine *q, uint64_t entry, uint64_t fp, int64_t now_ms,
                    uint32_t limit, int64_t window_ms, uint64_t *count);

/* Follows the counts stored in idx (the entries last seen most recently
 * when there are more than QUARANTINE_TRACKED), `now_ms` being monotonic
 * and `wall_ms` unix milliseconds at the same instant. Call before
 * matching starts. PHM_OK or a libphmatch error with err. */
int quarantine_load(svc_quarantine *q, phm_index *idx, int64_t now_ms, int64_t wall_ms,
                    char *err, size_t errlen);

/* Stores the counts changed since the last flush in idx (one
 * transaction; nothing when nothing changed). The lock is held only to
 * copy them. PHM_OK or a libphmatch error with err (the next flush then
 * rewrites every count). */
int quarantine_flush(svc_quarantine *q, phm_index *idx, int64_t now_ms, int64_t wall_ms,
                     char *err, size_t errlen);

#endif /* SVC_QUARANTINE_H */
