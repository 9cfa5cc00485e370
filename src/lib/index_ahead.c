/* index_ahead.c - the rebuilt base's values written to the index file
 * while the rest of the base is still being built (issue 17).
 *
 * Without MDB_WRITEMAP, LMDB writes a transaction's pages only at its
 * commit, from one thread: at a 10 M first import ~1 GB, of which the
 * kernel's part (allocating the file's page-cache pages, ~2 s a GB on the
 * virtual machines this runs on, then copying) kept one core busy and the
 * other idle for ~2.7 s. Here a thread writes each finished value of the
 * base (the 'H' segments, the tables' areas) to its place in the file as
 * soon as it is complete, beside the building of the next ones; LMDB's
 * commit then writes the same bytes again over pages the cache already
 * holds (~0.1 s a GB).
 *
 * Safe as LMDB's own spilling of dirty pages is: the pages written belong
 * to values reserved in this write transaction, so no committed snapshot
 * refers to them (new pages past the file's end, or free pages no reader
 * can see). A crash before the commit leaves the last commit whole; a
 * failed or aborted transaction leaves garbage in free pages only, as an
 * aborted spill does. A write that fails is dropped: the commit writes
 * every page anyway, and reports its own failure.
 *
 * LMDB may free a reserved value's memory at the transaction's next call
 * (spilling), so this thread never reads it after the caller goes on:
 * idx_ahead_write takes bytes that stay the caller's until
 * idx_ahead_finish (the hashes of a segment are those of the caller's
 * array), and idx_ahead_copy copies the value into one of two buffers
 * before it returns.
 *
 * Where a value lies in the file comes from its first page's header,
 * which LMDB's file format puts IDX_OVERFLOW_HDR bytes before the value
 * (the page number, then the flags and the count of overflow pages);
 * a value whose header does not read as such is not written ahead. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "index_internal.h"

/* LMDB's page header (its file format): u64 page number, u16 pad,
 * u16 flags, u32 number of overflow pages. */
#define LMDB_P_OVERFLOW 0x04u
/* Values written at once, at most (one pwrite is capped below 2 GiB). */
#define AHEAD_WRITE_MAX ((size_t)1 << 26)
#define AHEAD_QUEUE 8

typedef struct ahead_job {
    const uint8_t *src;
    size_t len;
    off_t off;
    int buf; /* the buffer it holds, or -1 */
} ahead_job;

struct idx_ahead {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a job queued, one done, or the end */
    int fd;
    size_t psize, mapsize;
    ahead_job q[AHEAD_QUEUE];
    size_t head, count; /* the jobs waiting, from q[head] */
    int busy;           /* the thread writes a job taken from the queue */
    int stop, failed;
    uint8_t *buf[2];
    size_t buf_cap;
    int buf_used[2];
};

static void *ahead_main(void *arg)
{
    idx_ahead *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->stop && !a->count)
            pthread_cond_wait(&a->cv, &a->mu);
        if (!a->count)
            break; /* stopped, and nothing left to write */
        ahead_job j = a->q[a->head];
        a->head = (a->head + 1) % AHEAD_QUEUE;
        a->count--;
        a->busy = 1;
        int skip = a->failed;
        pthread_mutex_unlock(&a->mu);
        size_t done = 0;
        while (!skip && done < j.len) {
            size_t part = j.len - done < AHEAD_WRITE_MAX ? j.len - done : AHEAD_WRITE_MAX;
            ssize_t w = pwrite(a->fd, j.src + done, part, j.off + (off_t)done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                skip = 1; /* the commit writes it, and reports the failure */
                break;
            }
            done += (size_t)w;
        }
        pthread_mutex_lock(&a->mu);
        if (skip)
            a->failed = 1;
        if (j.buf >= 0)
            a->buf_used[j.buf] = 0;
        a->busy = 0;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

idx_ahead *idx_ahead_start(phm_index *idx, size_t buf_bytes)
{
    MDB_stat st;
    MDB_envinfo ei;
    int fd;
    if (mdb_env_get_fd(idx->env, &fd) || mdb_env_stat(idx->env, &st) ||
        mdb_env_info(idx->env, &ei) || !st.ms_psize)
        return NULL;
    idx_ahead *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->fd = fd;
    a->psize = st.ms_psize;
    a->mapsize = ei.me_mapsize;
    /* malloc'd, not touched: only the values copied take pages */
    if (buf_bytes && (a->buf[0] = malloc(buf_bytes)) && (a->buf[1] = malloc(buf_bytes)))
        a->buf_cap = buf_bytes;
    if (pthread_mutex_init(&a->mu, NULL))
        goto fail;
    if (pthread_cond_init(&a->cv, NULL)) {
        pthread_mutex_destroy(&a->mu);
        goto fail;
    }
    if (pthread_create(&a->thread, NULL, ahead_main, a)) {
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        goto fail;
    }
    return a;
fail:
    free(a->buf[0]);
    free(a->buf[1]);
    free(a);
    return NULL;
}

/* The whole pages of bytes [at, at + len) of the reserved value `value`
 * (vlen bytes): their offset in the file into *off, and where they start
 * and end relative to `at` (*from, *to; *to > *from). 0 when there are
 * none, or when value's page header is not an overflow run holding it. */
static int value_pages(const idx_ahead *a, const uint8_t *value, size_t vlen, size_t at,
                       size_t len, off_t *off, size_t *from, size_t *to)
{
    const uint8_t *page = value - IDX_OVERFLOW_HDR;
    uint64_t pgno;
    uint16_t flags;
    uint32_t pages;
    memcpy(&pgno, page, sizeof pgno);
    memcpy(&flags, page + 10, sizeof flags);
    memcpy(&pages, page + 12, sizeof pages);
    uint64_t maxpg = a->mapsize / a->psize;
    if (!(flags & LMDB_P_OVERFLOW) || pgno < 2 || pgno >= maxpg || pages > maxpg - pgno ||
        (uint64_t)pages * a->psize < vlen + IDX_OVERFLOW_HDR || at > vlen || len > vlen - at)
        return 0;
    uint64_t first = pgno * a->psize + IDX_OVERFLOW_HDR + at; /* of byte at */
    uint64_t lo = (first + a->psize - 1) / a->psize * a->psize,
             hi = (first + len) / a->psize * a->psize;
    if (hi <= lo)
        return 0;
    *off = (off_t)lo;
    *from = (size_t)(lo - first);
    *to = (size_t)(hi - first);
    return 1;
}

/* Queues a job (the caller holds a->mu), waiting for room. */
static void queue_job(idx_ahead *a, const ahead_job *j)
{
    while (a->count == AHEAD_QUEUE)
        pthread_cond_wait(&a->cv, &a->mu);
    a->q[(a->head + a->count) % AHEAD_QUEUE] = *j;
    a->count++;
    pthread_cond_broadcast(&a->cv);
}

void idx_ahead_write(idx_ahead *a, const void *value, size_t vlen, size_t at, const void *src,
                     size_t len)
{
    off_t off;
    size_t from, to;
    if (!a || !value_pages(a, value, vlen, at, len, &off, &from, &to))
        return;
    ahead_job j = { (const uint8_t *)src + from, to - from, off, -1 };
    pthread_mutex_lock(&a->mu);
    if (!a->failed)
        queue_job(a, &j);
    pthread_mutex_unlock(&a->mu);
}

void idx_ahead_copy(idx_ahead *a, const void *value, size_t vlen)
{
    off_t off;
    size_t from, to;
    if (!a || !a->buf_cap || !value_pages(a, value, vlen, 0, vlen, &off, &from, &to) ||
        to - from > a->buf_cap)
        return;
    pthread_mutex_lock(&a->mu);
    while (!a->failed && a->buf_used[0] && a->buf_used[1])
        pthread_cond_wait(&a->cv, &a->mu);
    int b = a->buf_used[0] ? 1 : 0, failed = a->failed;
    if (!failed)
        a->buf_used[b] = 1; /* so the thread cannot have it */
    pthread_mutex_unlock(&a->mu);
    if (failed)
        return;
    /* the copy in halves, one a thread, as the value was filled */
    const uint8_t *src = (const uint8_t *)value + from;
    uint8_t *dst = a->buf[b];
    size_t bytes = to - from;
    int threads = 1;
#ifdef _OPENMP
    if (omp_get_max_threads() > 1)
        threads = 2;
#endif
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
#endif
    for (int k = 0; k < threads; k++) {
        size_t lo = bytes / (size_t)threads * (size_t)k,
               hi = k + 1 == threads ? bytes : bytes / (size_t)threads * (size_t)(k + 1);
        memcpy(dst + lo, src + lo, hi - lo);
    }
    ahead_job j = { dst, bytes, off, b };
    pthread_mutex_lock(&a->mu);
    queue_job(a, &j);
    pthread_mutex_unlock(&a->mu);
}

void idx_ahead_finish(idx_ahead *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a->buf[0]);
    free(a->buf[1]);
    free(a);
}
