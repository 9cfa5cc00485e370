/* workers.c - the pool of per-thread hashing and search contexts (see
 * server.h). A request takes a free worker for the time of its handler;
 * there are as many workers as request threads, so one is always free. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

int worker_reserve_queries(svc_worker *w, size_t n)
{
    if (n <= w->queries_cap)
        return 0;
    phm_pdq *q = realloc(w->queries, n * sizeof *q);
    if (!q)
        return -1;
    w->queries = q;
    w->queries_cap = n;
    return 0;
}

int worker_reserve_hits(svc_worker *w, size_t n)
{
    if (n <= w->hits_cap)
        return 0;
    phm_match_hit *h = realloc(w->hits, n * sizeof *h);
    if (!h)
        return -1;
    w->hits = h;
    w->hits_cap = n;
    return 0;
}

phm_video_hasher *worker_video_hasher(svc_worker *w, const svc_config *cfg)
{
    if (w->vh && w->vh_duration == cfg->max_duration && w->vh_frames == cfg->max_frames)
        return w->vh;
    phm_video_hasher_free(w->vh);
    w->vh = NULL;
    /* As `phmatch match` hashes a video by default (one hash a second,
     * native size), in the request's thread alone. */
    phm_video_options o;
    phm_video_options_init(&o);
    o.max_pixels = (uint64_t)cfg->max_pixels;
    o.max_seconds = (double)cfg->max_duration;
    o.max_frames = (uint64_t)cfg->max_frames;
    o.threads = 1;
    o.decoder_threads = 1;
    o.simd = (phm_simd)cfg->simd;
    if (phm_video_hasher_new(&w->vh, &o) != PHM_OK)
        return NULL;
    w->vh_duration = cfg->max_duration;
    w->vh_frames = cfg->max_frames;
    return w->vh;
}

/* Frees w's searcher and matcher and gives back its index reference. */
static void worker_unbind(svc_worker *w, svc_indexes *x)
{
    phm_matcher_free(w->matcher);
    phm_searcher_free(w->searcher);
    w->matcher = NULL;
    w->searcher = NULL;
    if (w->ix_slot >= 0 && x)
        index_release(x, w->ix_slot);
    w->ix_slot = -1;
}

int worker_bind(svc_worker *w, svc_indexes *x, int slot, phm_index *idx, char *err,
                size_t errlen)
{
    if (w->ix_slot == slot)
        return 0; /* its reference keeps the slot's index: the same one */
    worker_unbind(w, x);
    if (idx && phm_searcher_new(idx, &w->searcher, err, errlen))
        return -1;
    if (w->searcher && phm_matcher_new(w->searcher, &w->matcher) != PHM_OK) {
        phm_searcher_free(w->searcher);
        w->searcher = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    atomic_fetch_add(&x->refs[slot], 1);
    w->ix_slot = slot;
    return 0;
}

void workers_unbind_stale(svc_workers *ws, svc_indexes *x)
{
    int cur = atomic_load(&x->current);
    for (size_t i = 0; i < ws->count; i++) {
        svc_worker *w = &ws->w[i];
        int expected = 0, bound = atomic_load(&w->ix_slot);
        if (bound < 0 || bound == cur ||
            !atomic_compare_exchange_strong(&w->busy, &expected, 1))
            continue; /* busy: its request rebinds it, or the next sweep */
        bound = atomic_load(&w->ix_slot);
        if (bound >= 0 && bound != cur)
            worker_unbind(w, x);
        atomic_store(&w->busy, 0);
    }
}

static int worker_init(svc_worker *w, const svc_config *cfg, char *err, size_t errlen)
{
    phm_decode_limits lim = { (uint64_t)cfg->max_pixels, 0 };

    memset(w, 0, sizeof *w);
    atomic_init(&w->busy, 0);
    w->ix_slot = -1;
    if (phm_decoder_new(&w->dec, &lim) || phm_hasher_new(&w->hasher, (phm_simd)cfg->simd) ||
        worker_reserve_queries(w, (size_t)cfg->max_batch)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (phm_digester_new(&w->digester, PHM_DIGEST_ALL, err, errlen) != PHM_OK)
        return -1;
    phm_vpdq_init(&w->video);
    return 0;
}

static void worker_free(svc_worker *w)
{
    phm_matcher_free(w->matcher);
    phm_searcher_free(w->searcher);
    phm_video_hasher_free(w->vh);
    phm_vpdq_clear(&w->video);
    phm_hasher_free(w->hasher);
    phm_decoder_free(w->dec);
    phm_digester_free(w->digester);
    free(w->queries);
    free(w->hits);
    free(w->text);
}

int workers_init(svc_workers *ws, size_t count, const svc_config *cfg, char *err,
                 size_t errlen)
{
    ws->count = 0;
    ws->w = calloc(count, sizeof *ws->w);
    if (!ws->w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        ws->count = i + 1;
        if (worker_init(&ws->w[i], cfg, err, errlen))
            return -1;
    }
    return 0;
}

svc_worker *workers_acquire(svc_workers *ws)
{
    /* A few passes: main() may be holding the one free worker for the
     * microseconds it takes to free a searcher (workers_unbind_stale). */
    for (int pass = 0; pass < 50; pass++) {
        for (size_t i = 0; i < ws->count; i++) {
            int expected = 0;
            if (atomic_load_explicit(&ws->w[i].busy, memory_order_relaxed) == 0 &&
                atomic_compare_exchange_strong(&ws->w[i].busy, &expected, 1))
                return &ws->w[i];
        }
        struct timespec ts = { 0, 20000 }; /* 20 us; 1 ms in all */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Gives back what one oversized request left in w: the decoder's pixels
 * (300 MB after a 100 MP RGB PNG), the hasher's float rows, a large
 * answer's text. Buffers above 4 MiB are mmap'd (main's mallopt), so
 * free() returns them; malloc_trim returns what smaller pieces left free
 * in the heaps. Returns the bytes given back. */
static size_t worker_trim(svc_worker *w)
{
    size_t freed = phm_decoder_trim(w->dec, WORKER_KEEP_BYTES) +
                   phm_hasher_trim(w->hasher, WORKER_KEEP_BYTES);
    if (w->text_cap > WORKER_KEEP_BYTES) {
        freed += w->text_cap;
        free(w->text);
        w->text = NULL;
        w->text_len = w->text_cap = 0;
    }
#ifdef __GLIBC__
    if (freed)
        malloc_trim(0);
#endif
    return freed;
}

void workers_release(svc_worker *w, svc_metrics *m)
{
    /* The snapshot a search took is ended, so writers can reuse pages. */
    if (w->searcher)
        phm_searcher_release(w->searcher);
    size_t freed = worker_trim(w);
    if (freed && m)
        metrics_add(&m->trimmed_bytes, freed);
    atomic_store(&w->busy, 0);
}

int decode_reserve(svc_metrics *m, const svc_config *c, uint64_t pixels)
{
    int64_t limit = c->max_decode_pixels ? c->max_decode_pixels : 2 * c->max_pixels;
    int64_t cur = atomic_load(&m->decode_pixels);
    if (pixels > (uint64_t)limit)
        return -2;
    do {
        if (cur > limit - (int64_t)pixels) {
            metrics_add(&m->decode_refused, 1);
            return -1;
        }
    } while (!atomic_compare_exchange_weak(&m->decode_pixels, &cur,
                                           cur + (int64_t)pixels));
    return 0;
}

void decode_unreserve(svc_metrics *m, uint64_t pixels)
{
    atomic_fetch_sub(&m->decode_pixels, (int64_t)pixels);
}

int64_t max_distance_for(const svc_config *c, svc_role role)
{
    if (role == ROLE_ADMIN || c->max_distance_lookup > c->max_distance)
        return c->max_distance;
    return c->max_distance_lookup;
}

void workers_free(svc_workers *ws)
{
    for (size_t i = 0; i < ws->count; i++)
        worker_free(&ws->w[i]);
    free(ws->w);
    ws->w = NULL;
    ws->count = 0;
}
