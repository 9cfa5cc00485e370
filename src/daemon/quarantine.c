/* quarantine.c - distinct matching queries per entry over a sliding
 * window (see quarantine.h). */
#include "quarantine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void quarantine_init(svc_quarantine *q)
{
    pthread_mutex_init(&q->lock, NULL);
    q->t = NULL;
    q->n = 0;
    q->nevicted = 0;
    q->full = 0;
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
        if (q->nevicted < QUARANTINE_TRACKED)
            q->evicted[q->nevicted++] = t->entry;
        else
            q->full = 1;
    }
    t->entry = entry;
    t->dirty = 1;
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
    t->dirty = 1;
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

/* ---- kept in the index -------------------------------------------------- */

typedef struct load_ctx {
    svc_quarantine *q;
    int64_t shift; /* monotonic = unix + shift */
    size_t rows;
    int nomem;
} load_ctx;

static int load_row(void *ctx, const phm_quarantine_counts *c)
{
    load_ctx *l = ctx;
    svc_quarantine *q = l->q;
    if (!c->nseen)
        return 0;
    l->rows++;
    q_track *t = track_of(q, c->entry);
    if (!t)
        return l->nomem = 1;
    if (t->cap < c->nseen) {
        q_seen *s = realloc(t->seen, c->nseen * sizeof *s);
        if (!s)
            return l->nomem = 1;
        t->seen = s;
        t->cap = (uint32_t)c->nseen;
    }
    t->n = (uint32_t)c->nseen;
    t->last_ms = INT64_MIN;
    for (size_t i = 0; i < c->nseen; i++) {
        t->seen[i] = (q_seen){ c->seen[i].fingerprint, c->seen[i].time_ms + l->shift };
        if (t->seen[i].ms > t->last_ms)
            t->last_ms = t->seen[i].ms;
    }
    t->dirty = 0;
    return 0;
}

int quarantine_load(svc_quarantine *q, phm_index *idx, int64_t now_ms, int64_t wall_ms,
                    char *err, size_t errlen)
{
    load_ctx l = { q, now_ms - wall_ms, 0, 0 };
    pthread_mutex_lock(&q->lock);
    int rc = phm_index_quarantine_counts_foreach(idx, load_row, &l, err, errlen);
    if (l.nomem) {
        snprintf(err, errlen, "out of memory");
        rc = PHM_ERR_NOMEM;
    }
    /* rows beyond what is followed go at the next flush */
    q->nevicted = 0;
    q->full = l.rows > QUARANTINE_TRACKED;
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int quarantine_flush(svc_quarantine *q, phm_index *idx, int64_t now_ms, int64_t wall_ms,
                     char *err, size_t errlen)
{
    phm_quarantine_counts *c = NULL;
    phm_quarantine_seen *pool = NULL;
    size_t nc = 0, np = 0, want = 0;
    int replace, rc = PHM_OK;

    pthread_mutex_lock(&q->lock);
    replace = q->full;
    for (size_t i = 0; i < q->n; i++)
        if (replace || q->t[i].dirty)
            np += q->t[i].n, want++;
    if (!want && !q->nevicted && !replace)
        goto unlock;
    want += replace ? 0 : q->nevicted;
    c = malloc((want ? want : 1) * sizeof *c);
    pool = malloc((np ? np : 1) * sizeof *pool);
    if (!c || !pool) {
        snprintf(err, errlen, "out of memory");
        rc = PHM_ERR_NOMEM;
        goto unlock;
    }
    /* forgotten entries first: one that came back is written after */
    for (size_t i = 0; !replace && i < q->nevicted; i++)
        c[nc++] = (phm_quarantine_counts){ q->evicted[i], NULL, 0 };
    np = 0;
    for (size_t i = 0; i < q->n; i++) {
        q_track *t = &q->t[i];
        if (!replace && !t->dirty)
            continue;
        c[nc] = (phm_quarantine_counts){ t->entry, pool + np, t->n };
        for (uint32_t j = 0; j < t->n; j++) {
            int64_t w = wall_ms - (now_ms - t->seen[j].ms);
            pool[np++] = (phm_quarantine_seen){ t->seen[j].fp, w > 0 ? w : 0 };
        }
        t->dirty = 0;
        if (replace && !t->n)
            continue; /* nothing to keep */
        nc++;
    }
    q->nevicted = 0;
    q->full = 0;
unlock:
    pthread_mutex_unlock(&q->lock);
    if (rc == PHM_OK && (nc || replace))
        rc = phm_index_quarantine_counts_save(idx, c, nc, replace, err, errlen);
    if (rc != PHM_OK) {
        pthread_mutex_lock(&q->lock);
        q->full = 1; /* the next flush rewrites them all */
        pthread_mutex_unlock(&q->lock);
    }
    free(c);
    free(pool);
    return rc;
}
