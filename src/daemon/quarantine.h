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
} q_track;

typedef struct svc_quarantine {
    pthread_mutex_t lock;
    q_track *t; /* QUARANTINE_TRACKED, allocated at the first match */
    size_t n;
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

#endif /* SVC_QUARANTINE_H */
