/* index_plan.c - the search tables' directories of a bulk import, counted
 * while the adds arrive (issue 17).
 *
 * A first import (no base, no delta) rebuilds the base at commit from the
 * transaction's new hashes alone, and its first step is to plan the 16
 * tables' directories: 16 counting passes over every hash
 * (mih_plan_table), ~0.3 s at 10 M hashes on the commit's critical path.
 * Here a thread of the transaction counts the hashes as the adds append
 * them, a batch at a time (the batch stays in the cache across the 16
 * passes), on the core the adding thread leaves idle; the commit then only
 * counts the last batch and turns counts into offsets. The directories
 * are exactly mih_plan_table's (tests/unit/test_index_plan.c compares
 * them).
 *
 * The caller's array of hashes may move (realloc): idx_plan_hold waits
 * until the thread has left it, idx_plan_feed gives the new place.
 *
 * The same thread also faults in, ahead of the adds, the pages of the
 * caller's arrays of hashes and entry numbers that the next adds will
 * write (MADV_POPULATE_WRITE: contents unchanged), so that the first
 * touch of that fresh memory (~2 us a page on the virtual machines this
 * runs on) is not on the adding thread. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "index_internal.h"
#include "worker.h"

/* Hashes the thread waits for (2 MB), and takes at most at once (8 MB). */
#define PLAN_BATCH ((size_t)1 << 16)
#define PLAN_TAKE ((size_t)1 << 18)
/* Slots past those appended whose pages it faults in (32 + 8 MB). */
#define PLAN_AHEAD ((size_t)1 << 20)

struct idx_plan {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* work fed, the thread idle again, or the end */
    const phm_pdq *h;   /* the caller's array, NULL while held */
    void *wh, *we;      /* its arrays of hashes and entry numbers (written) */
    size_t cap;         /* their capacity, in slots */
    size_t pop;         /* slots below this are faulted in */
    size_t avail;       /* hashes the caller has appended */
    size_t done;        /* hashes counted */
    int busy;           /* the thread reads h */
    int stop;
    uint32_t *dirs;     /* MIH_TABLES directories: counts and last high parts */
};

/* Counts hashes [from, to) of h into the 16 directories: per value, the
 * number of hashes and the high part (slot >> 16) of the last one, as
 * mih_plan_table does before its prefix sums. The two tables of one
 * 32-bit chunk are counted together (their directories, 1 MB, stay in
 * the cache while the batch is read). */
static void plan_count(uint32_t *dirs, const phm_pdq *h, size_t from, size_t to)
{
    const size_t per = MIH_DIR_BYTES / sizeof *dirs;
    for (unsigned c = 0; c < MIH_TABLES / 2; c++) {
        uint32_t *lo = dirs + (size_t)(2 * c) * per, *hi = lo + per;
        for (size_t s = from; s < to; s++) {
            uint32_t x = mih_chunk(&h[s], c), z = (uint32_t)(s >> 16);
            lo[2 * (x & 0xffffu)]++;
            lo[2 * (x & 0xffffu) + 1] = z;
            hi[2 * (x >> 16)]++;
            hi[2 * (x >> 16) + 1] = z;
        }
    }
}

/* Faults in the whole pages of [p, p + bytes) for writing. */
static void populate(void *p, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1),
              b = ((uintptr_t)p + bytes) & ~(uintptr_t)(page - 1);
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_POPULATE_WRITE); /* a hint */
#else
    (void)p;
    (void)bytes;
#endif
}

static void *plan_main(void *arg)
{
    idx_plan *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && (!p->h || p->avail - p->done < PLAN_BATCH))
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop)
            break;
        const phm_pdq *h = p->h;
        size_t from = p->done, to = p->avail - from > PLAN_TAKE ? from + PLAN_TAKE : p->avail;
        size_t pfrom = p->pop > p->avail ? p->pop : p->avail, pto = 0;
        if (p->wh && p->we && p->cap > p->avail)
            pto = p->cap - p->avail > PLAN_AHEAD ? p->avail + PLAN_AHEAD : p->cap;
        uint8_t *wh = p->wh, *we = p->we;
        p->busy = 1;
        pthread_mutex_unlock(&p->mu);
        plan_count(p->dirs, h, from, to);
        if (pto > pfrom) {
            populate(wh + pfrom * sizeof(phm_pdq), (pto - pfrom) * sizeof(phm_pdq));
            populate(we + pfrom * sizeof(uint64_t), (pto - pfrom) * sizeof(uint64_t));
        }
        pthread_mutex_lock(&p->mu);
        if (pto > p->pop)
            p->pop = pto;
        p->done = to;
        p->busy = 0;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

idx_plan *idx_plan_start(void)
{
    idx_plan *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->dirs = calloc(MIH_TABLES, MIH_DIR_BYTES);
    if (!p->dirs)
        goto fail;
    if (phm__worker_start(&p->thread, &p->mu, &p->cv, plan_main, p))
        goto fail;
    return p;
fail:
    free(p->dirs);
    free(p);
    return NULL;
}

void idx_plan_hold(idx_plan *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->busy)
        pthread_cond_wait(&p->cv, &p->mu);
    p->h = NULL;
    p->pop = 0; /* a moved array: its new pages from the appended on */
    pthread_mutex_unlock(&p->mu);
}

void idx_plan_feed(idx_plan *p, phm_pdq *hashes, uint64_t *eids, size_t n, size_t cap)
{
    pthread_mutex_lock(&p->mu);
    p->h = hashes;
    p->wh = hashes;
    p->we = eids;
    p->cap = cap;
    p->avail = n;
    if (!p->busy && n - p->done >= PLAN_BATCH)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Ends the thread; returns the hashes it counted. */
static size_t plan_stop(idx_plan *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    phm__worker_join(p->thread, &p->mu, &p->cv);
    return p->done;
}

uint32_t *idx_plan_finish(idx_plan *p, const phm_pdq *hashes, size_t n)
{
    size_t done = plan_stop(p), fed = p->avail;
    uint32_t *dirs = p->dirs;
    p->dirs = NULL;
    free(p);
    if (fed > n || done > n) { /* the caller's hashes are not those fed */
        free(dirs);
        return NULL;
    }
    plan_count(dirs, hashes, done, n);
    for (unsigned i = 0; i < MIH_TABLES; i++)
        mih_plan_sums(dirs + (size_t)i * (MIH_DIR_BYTES / sizeof *dirs), n);
    return dirs;
}

void idx_plan_free(idx_plan *p)
{
    if (!p)
        return;
    plan_stop(p);
    free(p->dirs);
    free(p);
}
