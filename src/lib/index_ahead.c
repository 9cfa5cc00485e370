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
 * Nothing waits for this thread: a value finished while both buffers are
 * still being written is left to the commit, the copied values go before
 * the segments' hashes (which need no buffer, and are written a piece at a
 * time when no copy waits), and idx_ahead_finish drops what is not
 * written yet (after the piece being written): the commit writes every
 * page anyway. So on a machine whose other core is busy the rebuild is
 * not held up by a thread that cannot run.
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
#include "worker.h"

/* LMDB's page header (its file format): u64 page number, u16 pad,
 * u16 flags, u32 number of overflow pages. */
#define LMDB_P_OVERFLOW 0x04u
/* Bytes written by one pwrite: between two of them the thread looks for
 * a copied value (before more of a segment) and for the end. */
#define AHEAD_PIECE ((size_t)8 << 20)
/* Segments held at most (more are left to the commit). */
#define AHEAD_SEGS 8

typedef struct ahead_job {
    const uint8_t *src;
    size_t len, done;
    off_t off;
} ahead_job;

struct idx_ahead {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* work queued, or the end */
    int fd;
    size_t psize, mapsize;
    ahead_job copy[2]; /* the copied values, in buf[0] and buf[1] */
    int queued[2];     /* copy[b] waits or is being written (buf[b] in use) */
    int first;         /* of two queued copies, the older */
    ahead_job seg[AHEAD_SEGS]; /* segments' hashes, written in order */
    size_t nseg, seg_at;
    int stop, drain, failed;
    uint8_t *buf[2];
    size_t buf_cap;
};

/* Writes one piece of job j; 0, or -1 after a failed write. */
static int write_piece(int fd, ahead_job *j)
{
    size_t part = j->len - j->done < AHEAD_PIECE ? j->len - j->done : AHEAD_PIECE;
    for (;;) {
        ssize_t w = pwrite(fd, j->src + j->done, part, j->off + (off_t)j->done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        j->done += (size_t)w;
        return 0;
    }
}

/* The next job with bytes left: the older copied value, else the first
 * unfinished segment; NULL when none. *b: the copy's buffer, or -1. */
static ahead_job *next_job(idx_ahead *a, int *b)
{
    if (a->queued[0] || a->queued[1]) {
        *b = a->queued[0] && a->queued[1] ? a->first : a->queued[0] ? 0 : 1;
        return &a->copy[*b];
    }
    *b = -1;
    while (a->seg_at < a->nseg && a->seg[a->seg_at].done == a->seg[a->seg_at].len)
        a->seg_at++;
    return a->seg_at < a->nseg ? &a->seg[a->seg_at] : NULL;
}

static void *ahead_main(void *arg)
{
    idx_ahead *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        ahead_job *j = NULL;
        int b = -1;
        for (;;) {
            if (a->failed || (a->stop && !a->drain))
                break; /* the rest is the commit's */
            if ((j = next_job(a, &b)) || a->stop)
                break;
            pthread_cond_wait(&a->cv, &a->mu);
        }
        if (!j || a->failed || (a->stop && !a->drain))
            break;
        /* the job stays where it is: the caller only adds jobs, and
         * touches a copy's slot only once it is no longer queued */
        pthread_mutex_unlock(&a->mu);
        int rc = write_piece(a->fd, j);
        pthread_mutex_lock(&a->mu);
        if (rc)
            a->failed = 1; /* the commit writes it, and reports the failure */
        else if (b >= 0 && j->done == j->len)
            a->queued[b] = 0;
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
    if (phm__worker_start(&a->thread, &a->mu, &a->cv, ahead_main, a))
        goto fail;
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
    /* a value longer than a page is always in overflow pages (LMDB puts
     * only values of less than half a page into a leaf), so the bytes
     * before it are its page header, not another node's */
    if (vlen < a->psize)
        return 0;
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

void idx_ahead_write(idx_ahead *a, const void *value, size_t vlen, size_t at, const void *src,
                     size_t len)
{
    off_t off;
    size_t from, to;
    if (!a || !value_pages(a, value, vlen, at, len, &off, &from, &to))
        return;
    pthread_mutex_lock(&a->mu);
    if (!a->failed && a->nseg < AHEAD_SEGS) {
        a->seg[a->nseg++] = (ahead_job){ (const uint8_t *)src + from, to - from, 0, off };
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
}

void idx_ahead_copy(idx_ahead *a, const void *value, size_t vlen)
{
    off_t off;
    size_t from, to;
    if (!a || !a->buf_cap || !value_pages(a, value, vlen, 0, vlen, &off, &from, &to) ||
        to - from > a->buf_cap)
        return;
    /* a free buffer, or none: the commit writes this one */
    pthread_mutex_lock(&a->mu);
    int b = !a->queued[0] ? 0 : !a->queued[1] ? 1 : -1;
    if (a->failed)
        b = -1;
    pthread_mutex_unlock(&a->mu);
    if (b < 0)
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
    pthread_mutex_lock(&a->mu);
    a->copy[b] = (ahead_job){ dst, bytes, 0, off };
    a->first = a->queued[b ^ 1] ? b ^ 1 : b;
    a->queued[b] = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

void idx_ahead_finish(idx_ahead *a, int drain)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    a->drain = drain;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    phm__worker_join(a->thread, &a->mu, &a->cv);
    free(a->buf[0]);
    free(a->buf[1]);
    free(a);
}
