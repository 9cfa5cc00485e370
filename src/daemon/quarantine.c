/* quarantine.c - distinct matching queries per entry over a sliding
 * window (see quarantine.h). */
#include "quarantine.h"

#include <stdlib.h>
#include <string.h>

void quarantine_init(svc_quarantine *q)
{
    pthread_mutex_init(&q->lock, NULL);
    q->t = NULL;
    q->n = 0;
}

void quarantine_free(svc_quarantine *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->t[i].seen);
    free(q->t);
    q->t = NULL;
    q->n = 0;
    pthread_mutex_destroy(&q->lock);
}

uint64_t quarantine_fp(const phm_pdq *h)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 4; i++) {
        x ^= h->w[i];
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 31;
    }
    return x;
}

/* The track of `entry`, made (replacing the one matched longest ago when
 * all are taken) if needed. NULL out of memory. */
static q_track *track_of(svc_quarantine *q, uint64_t entry)
{
    if (!q->t && !(q->t = calloc(QUARANTINE_TRACKED, sizeof *q->t)))
        return NULL;
    size_t old = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (q->t[i].entry == entry)
            return &q->t[i];
        if (q->t[i].last_ms < q->t[old].last_ms)
            old = i;
    }
    q_track *t;
    if (q->n < QUARANTINE_TRACKED) {
        t = &q->t[q->n++];
        memset(t, 0, sizeof *t);
    } else {
        t = &q->t[old];
        t->n = 0; /* its list is reused */
    }
    t->entry = entry;
    return t;
}

int quarantine_note(svc_quarantine *q, uint64_t entry, uint64_t fp, int64_t now_ms,
                    uint32_t limit, int64_t window_ms, uint64_t *count)
{
    int rc = 0;
    if (limit < 1 || limit > PHM_QUARANTINE_MAX_LIMIT)
        return 0;
    pthread_mutex_lock(&q->lock);
    q_track *t = track_of(q, entry);
    if (!t) {
        rc = -1;
        goto out;
    }
    t->last_ms = now_ms;
    /* drop what left the window; find fp */
    uint32_t k = 0;
    int found = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        if (now_ms - t->seen[i].ms >= window_ms)
            continue;
        if (t->seen[i].fp == fp) {
            t->seen[i].ms = now_ms;
            found = 1;
        }
        t->seen[k++] = t->seen[i];
    }
    t->n = k;
    if (!found) {
        if (t->n == t->cap) {
            uint32_t cap = t->cap ? 2 * t->cap : 8;
            if (cap > limit + 1)
                cap = limit + 1;
            if (cap > t->cap) {
                q_seen *s = realloc(t->seen, cap * sizeof *s);
                if (!s) {
                    rc = -1;
                    goto out;
                }
                t->seen = s;
                t->cap = cap;
            }
        }
        if (t->n < t->cap)
            t->seen[t->n++] = (q_seen){ fp, now_ms };
    }
    *count = t->n;
    if (t->n > limit) {
        rc = 1;
        t->n = 0; /* quarantined: counting starts again after a release */
    }
out:
    pthread_mutex_unlock(&q->lock);
    return rc;
}
