/* pipeline.c - parallel hashing with in-order emission (see pipeline.h).
 *
 * The window is a ring of W slots indexed by seq % W. Three counters,
 * guarded by `mu`, split it:
 *
 *     head <= claimed <= filled <= head + W
 *     [head, claimed)    being hashed or done, waiting to be emitted
 *     [claimed, filled)  enumerated, waiting for a worker
 *
 * Every thread of the OpenMP team runs the same loop: emit the finished
 * records at the head if no one else is emitting; else enumerate more
 * inputs if there is room and no one else is enumerating; else hash the
 * next claimable input; else wait on `cv`. Emitting and enumerating happen
 * outside the lock (the `emitting`/`filling` flags make each exclusive), so
 * slow output or a slow directory listing does not stop the hashing.
 */
#include "pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index_vpdq.h"

#define FILL_CHUNK 32 /* inputs enumerated per turn */
/* A slot's frame list is freed after emission when it grew past this. */
#define VIDEO_KEEP_FRAMES 65536

typedef struct slot {
    hash_record rec;
    char *path;             /* owned; grows to the longest path seen */
    size_t path_cap;
    int done;               /* hashed, waiting for emission (under mu) */
    char message[PHM_ERRMSG_MAX];
    phm_vpdq video;         /* a video's frames; memory reused */
} slot;

typedef struct pipeline {
    const pipeline_config *cfg;
    const pipeline_hooks *hooks;
    input_source *in;
    slot *slots;
    size_t window;
    unsigned char *user;    /* window * record_user_size bytes */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t head, claimed, filled;
    uint64_t left_out;      /* inputs the admit hook left out */
    int input_done, filling, emitting;
    int stop;               /* a fatal error: finish no more records */
    int status;             /* the first fatal error */
    char errmsg[PHM_ERRMSG_MAX];

    pipeline_stats stats;   /* updated by the emitter only */
} pipeline;

/* Per worker thread: created in the thread, used only there. */
typedef struct worker {
    phm_decoder *dec;
    phm_hasher *hasher;
    phm_video_hasher *video; /* created at the first video */
    phm_digester *dig;
    void *hook_state;
    int hook_started;
    char err[PHM_ERRMSG_MAX];
} worker;

const char *pipeline_cause(const char *message, const char *path)
{
    /* "cannot <verb> '<path>': <cause>" */
    size_t plen = strlen(path);
    const char *q = strchr(message, '\'');
    if (q && strncmp(q + 1, path, plen) == 0 &&
        strncmp(q + 1 + plen, "': ", 3) == 0)
        return q + 1 + plen + 3;
    if (strncmp(message, "cannot ", 7) == 0 && q) {
        /* Some other subject (a shortened name): cut at the first "': ". */
        const char *c = strstr(q + 1, "': ");
        if (c)
            return c + 3;
    }
    return message;
}

/* Marks the run as failed (first error wins). Called with mu held. */
static void fail_locked(pipeline *pl, int status, const char *msg)
{
    if (!pl->stop) {
        pl->stop = 1;
        pl->status = status < 0 ? status : PHM_ERR_INTERNAL;
        snprintf(pl->errmsg, sizeof pl->errmsg, "%s", msg);
    }
    pthread_cond_broadcast(&pl->cv);
}

static int worker_start(pipeline *pl, worker *w, int thread)
{
    const pipeline_config *cfg = pl->cfg;
    int rc;

    memset(w, 0, sizeof *w);
    rc = phm_decoder_new(&w->dec, &cfg->limits);
    if (rc == PHM_OK)
        rc = phm_hasher_new(&w->hasher, cfg->simd);
    if (rc != PHM_OK) {
        snprintf(w->err, sizeof w->err, "cannot start a worker: %s",
                 phm_strerror(rc));
        return rc;
    }
    if (cfg->digests &&
        phm_digester_new(&w->dig, cfg->digests, w->err, sizeof w->err))
        return PHM_ERR_INTERNAL;
    if (pl->hooks->thread_start) {
        if (pl->hooks->thread_start(pl->hooks->ctx, thread, &w->hook_state,
                                    w->err, sizeof w->err))
            return PHM_ERR_INTERNAL;
        w->hook_started = 1;
    }
    return PHM_OK;
}

static void worker_end(pipeline *pl, worker *w, int thread)
{
    if (w->hook_started && pl->hooks->thread_end)
        pl->hooks->thread_end(pl->hooks->ctx, thread, w->hook_state);
    phm_digester_free(w->dig);
    phm_video_hasher_free(w->video);
    phm_hasher_free(w->hasher);
    phm_decoder_free(w->dec);
}

/* The size of a file the decoder did not read (too large, empty, ...). */
static void size_from_stat(hash_record *r)
{
    struct stat st;
    if (stat(r->path, &st) == 0 && S_ISREG(st.st_mode))
        r->size = (int64_t)st.st_size;
}

/* Whether `path` is for the video decoder: a non-empty regular file whose
 * first bytes are no image format's. Anything unclear (unreadable, empty)
 * stays with the image decoder, which reports it. */
static int is_video_file(const char *path)
{
    uint8_t head[PHM_FORMAT_DETECT_BYTES];
    uint64_t size = 0;
    ssize_t n;
    int fd;

    if (phm_file_open(path, 0, 0, &fd, &size, NULL, 0) != PHM_OK)
        return 0;
    if (size == 0) {
        close(fd);
        return 0;
    }
    do
        n = read(fd, head, sizeof head);
    while (n < 0 && errno == EINTR);
    close(fd);
    return n > 0 && phm_format_detect(head, (size_t)n) == PHM_FORMAT_UNKNOWN;
}

/* Decodes and hashes one video into its slot; digests the file. */
static void process_video(pipeline *pl, worker *w, slot *s)
{
    const pipeline_config *cfg = pl->cfg;
    hash_record *r = &s->rec;
    int rc;

    r->video = &s->video;
    s->video.count = 0;
    if (!w->video) {
        rc = phm_video_hasher_new(&w->video, &cfg->video);
        if (rc != PHM_OK) {
            r->status = rc;
            snprintf(s->message, sizeof s->message,
                     "cannot start the video decoder: %s", phm_strerror(rc));
            return;
        }
    }
    if (r->stdin_video) {
        rc = phm_hash_video_fd(w->video, STDIN_FILENO, "standard input",
                               &s->video, w->err, sizeof w->err);
    } else if (cfg->read_vpdq && index_vpdq_detect(s->path)) {
        /* A video's hash file stands for the video (as in `compare`). */
        rc = phm_vpdq_load(s->path, 0, &s->video, w->err, sizeof w->err);
        snprintf(s->video.container, sizeof s->video.container, "vpdq");
        snprintf(s->video.codec, sizeof s->video.codec, "text");
    } else
        rc = phm_hash_video_file(w->video, s->path, &s->video, w->err,
                                 sizeof w->err);
    r->status = rc;
    if (rc == PHM_ERR_UNSUPPORTED && !s->video.container[0]) {
        /* Neither an image nor a video: a plain record. */
        r->video = NULL;
        if (strstr(w->err, " is not a video format") ||
            strstr(w->err, "video backend could not be loaded"))
            snprintf(s->message, sizeof s->message, "%s",
                     pipeline_cause(w->err, s->path));
        else
            snprintf(s->message, sizeof s->message,
                     "not an image or video format phmatch decodes");
    } else {
        if (w->err[0])
            snprintf(s->message, sizeof s->message, "%s",
                     pipeline_cause(w->err, s->path));
        r->width = s->video.width;
        r->height = s->video.height;
    }
    if (r->stdin_video) {
        r->size = s->video.bytes;
    } else {
        /* Digests from a second read: a video is never held in memory. */
        size_from_stat(r);
        if (w->dig && rc != PHM_ERR_NOT_FOUND && rc != PHM_ERR_IS_DIR &&
            phm_digest_file(w->dig, s->path, r->digest) == 0)
            r->has_digests = 1;
    }
}

/* With --animation frames: the frames of an animated GIF or WebP whose
 * first frame was hashed as an image, from the bytes read for it. A file of
 * one frame stays a plain image record. */
static void process_animation(const pipeline_config *cfg, worker *w, slot *s,
                              const uint8_t *bytes, size_t len)
{
    hash_record *r = &s->rec;
    s->video.count = 0;
    int rc = phm_hash_animation_mem(w->dec, w->hasher, bytes, len, s->path, &cfg->video,
                                    &s->video, w->err, sizeof w->err);
    if (rc >= 0 && s->video.frames_decoded < 2)
        return;
    r->video = &s->video;
    r->animated = 1;
    if (rc < 0) {
        r->status = rc;
        snprintf(s->message, sizeof s->message, "%s", pipeline_cause(w->err, s->path));
    }
}

/* Decodes, digests and hashes one input into its slot. */
static void process(pipeline *pl, worker *w, slot *s)
{
    const pipeline_config *cfg = pl->cfg;
    hash_record *r = &s->rec;
    phm_image_info info;
    const uint8_t *bytes;
    size_t len = 0;
    int rc;

    if (r->status != PHM_OK)
        goto out; /* an error found while enumerating */
    if (r->stdin_video || is_video_file(s->path)) {
        process_video(pl, w, s);
        goto out;
    }

    /* One pass: decode and hash together (rows stream into the hasher),
     * and from the same decode the extras asked: the content inside a
     * border (hash_record.trim), the caption cuts and the soft hash. */
    const phm_query_options qo = { .mode = cfg->mode, .dihedral = cfg->dihedral,
                                   .trim = cfg->trim, .cuts = cfg->cuts, .soft = cfg->soft,
                                   .corners = cfg->corners, .derotate = cfg->derotate,
                                   .flatten = cfg->flatten };
    phm_query_hashes q;
    rc = phm_hash_file_query(w->dec, w->hasher, s->path, &qo, &q, w->err, sizeof w->err);
    r->pdq = q.pdq;
    info = q.info;
    r->query = q;
    bytes = phm_decoder_last_bytes(w->dec, &len);
    if (bytes) {
        r->size = (int64_t)len;
        r->format = phm_format_detect(bytes, len);
    } else {
        size_from_stat(r);
    }
    if (w->dig && (bytes || r->size == 0)) {
        static const uint8_t empty[1];
        if (phm_digest_mem(w->dig, bytes ? bytes : empty, bytes ? len : 0,
                         r->digest) == 0)
            r->has_digests = 1;
    }

    if (info.format != PHM_FORMAT_UNKNOWN) {
        r->format = info.format;
        r->width = info.width;
        r->height = info.height;
    }
    if (rc == PHM_ERR_TOO_SMALL) {
        r->status = rc;
        snprintf(s->message, sizeof s->message,
                 "image is %ux%u; PDQ needs at least 5x5 pixels",
                 (unsigned)info.width, (unsigned)info.height);
        goto out;
    }
    if (rc != PHM_OK && rc != PHM_WARN_RECOVERED) {
        r->status = rc;
        snprintf(s->message, sizeof s->message, "%s",
                 pipeline_cause(w->err, s->path));
        goto out;
    }
    if (rc == PHM_WARN_RECOVERED && !cfg->accept_recovered) {
        r->status = PHM_ERR_CORRUPT;
        memset(&r->pdq, 0, sizeof r->pdq); /* a damaged image's hash is not reported */
        memset(&r->query, 0, sizeof r->query);
        snprintf(s->message, sizeof s->message,
                 "%s (damaged; --accept-recovered hashes it anyway)",
                 pipeline_cause(w->err, s->path));
        goto out;
    }
    if (rc == PHM_WARN_RECOVERED)
        snprintf(s->message, sizeof s->message, "%s",
                 pipeline_cause(w->err, s->path));
    r->status = rc;
    if (cfg->animation_frames && bytes &&
        (r->format == PHM_FORMAT_GIF || r->format == PHM_FORMAT_WEBP))
        process_animation(cfg, w, s, bytes, len);
    if (r->animated) /* matched by its frames */
        memset(&r->query, 0, sizeof r->query);
out:
    if (pl->hooks->work)
        pl->hooks->work(pl->hooks->ctx, w->hook_state, r);
}

/* Enumerates up to `n` inputs into the slots from seq `from`. Called by
 * the filler, without the lock. Returns how many were filled; sets *eof at
 * the end of the input and *fatal on a fatal error (message in err). */
static size_t fill(pipeline *pl, uint64_t from, size_t n, int *eof,
                   int *fatal, uint64_t *left_out, char *err, size_t errlen)
{
    size_t k = 0;
    while (k < n) {
        input_item item;
        int rc = input_next(pl->in, &item, err, errlen);
        if (rc == 0) {
            *eof = 1;
            break;
        }
        if (rc < 0) {
            *fatal = rc;
            break;
        }
        if (pl->hooks->admit) {
            int a = pl->hooks->admit(pl->hooks->admit_ctx, &item, err, errlen);
            if (a < 0) {
                *fatal = a;
                break;
            }
            if (a > 0) { /* done before: the next input takes slot k */
                ++*left_out;
                continue;
            }
        }
        slot *s = &pl->slots[(from + k) % pl->window];
        if (item.len + 1 > s->path_cap) {
            size_t cap = item.len + 1 < 256 ? 256 : item.len + 1;
            char *p = realloc(s->path, cap);
            if (!p) {
                snprintf(err, errlen, "out of memory");
                *fatal = PHM_ERR_NOMEM;
                break;
            }
            s->path = p;
            s->path_cap = cap;
        }
        memcpy(s->path, item.path, item.len + 1);

        hash_record *r = &s->rec;
        void *user = r->user;
        memset(r, 0, sizeof *r);
        r->user = user;
        r->seq = from + k;
        r->path = s->path;
        r->path_len = item.len;
        r->stdin_video = item.stdin_video;
        r->status = item.status;
        r->size = -1;
        snprintf(s->message, sizeof s->message, "%s", item.message);
        r->message = s->message;
        k++;
    }
    return k;
}

/* Emits records [from, to), all done. Called by the emitter, without the
 * lock. Returns 0, or nonzero if emit() failed (message in err). */
static int emit_range(pipeline *pl, uint64_t from, uint64_t to, char *err,
                      size_t errlen)
{
    pipeline_stats *st = &pl->stats;
    for (uint64_t seq = from; seq < to; seq++) {
        slot *s = &pl->slots[seq % pl->window];
        const hash_record *r = &s->rec;
        st->records++;
        if (r->size > 0)
            st->bytes += (uint64_t)r->size;
        if (r->video) {
            st->videos += !r->animated;
            st->frames += r->video->count;
        }
        if (r->status >= 0) {
            st->hashed++;
            if ((!r->video || r->animated) && r->pdq.quality < PHM_PDQ_MIN_QUALITY)
                st->low_quality++;
            if (r->status == PHM_WARN_RECOVERED)
                st->recovered++;
        } else {
            st->failed++;
        }
        int rc = pl->hooks->emit(pl->hooks->ctx, r, err, errlen);
        if (s->video.capacity > VIDEO_KEEP_FRAMES)
            phm_vpdq_clear(&s->video);
        if (rc)
            return -1;
    }
    return 0;
}

static void worker_loop(pipeline *pl, worker *w)
{
    char err[PHM_ERRMSG_MAX];

    pthread_mutex_lock(&pl->mu);
    for (;;) {
        if (pl->stop)
            break;

        /* 1. Emit the finished records at the head of the window. */
        if (!pl->emitting && pl->head < pl->filled &&
            pl->slots[pl->head % pl->window].done) {
            uint64_t from = pl->head, to = from;
            while (to < pl->claimed && pl->slots[to % pl->window].done)
                to++;
            uint64_t total = pl->filled, left_out = pl->left_out;
            int total_known = pl->input_done;
            pl->emitting = 1;
            pthread_mutex_unlock(&pl->mu);

            int rc = emit_range(pl, from, to, err, sizeof err);
            progress_set_done_before(pl->cfg->progress, left_out);
            progress_update(pl->cfg->progress,
                            pl->stats.records + left_out,
                            total + left_out, total_known,
                            pl->stats.bytes);

            pthread_mutex_lock(&pl->mu);
            for (uint64_t seq = from; seq < to; seq++)
                pl->slots[seq % pl->window].done = 0;
            pl->head = to;
            pl->emitting = 0;
            if (rc)
                fail_locked(pl, PHM_ERR_INTERNAL, err);
            pthread_cond_broadcast(&pl->cv);
            continue;
        }

        /* 2. Enumerate more inputs if there is room. */
        if (!pl->filling && !pl->input_done &&
            pl->filled - pl->head < pl->window) {
            uint64_t from = pl->filled;
            size_t room = pl->window - (size_t)(pl->filled - pl->head);
            size_t n = room < FILL_CHUNK ? room : FILL_CHUNK;
            int eof = 0, fatal = 0;
            uint64_t left_out = 0;
            pl->filling = 1;
            pthread_mutex_unlock(&pl->mu);

            size_t k = fill(pl, from, n, &eof, &fatal, &left_out, err,
                            sizeof err);

            pthread_mutex_lock(&pl->mu);
            pl->filled += k;
            pl->left_out += left_out;
            pl->filling = 0;
            if (eof)
                pl->input_done = 1;
            if (fatal)
                fail_locked(pl, fatal, err);
            pthread_cond_broadcast(&pl->cv);
            continue;
        }

        /* 3. Hash the next input. */
        if (pl->claimed < pl->filled) {
            uint64_t seq = pl->claimed++;
            slot *s = &pl->slots[seq % pl->window];
            pthread_mutex_unlock(&pl->mu);

            process(pl, w, s);

            pthread_mutex_lock(&pl->mu);
            s->done = 1;
            if (seq == pl->head)
                pthread_cond_broadcast(&pl->cv);
            continue;
        }

        /* 4. All emitted? */
        if (pl->input_done && pl->head == pl->filled)
            break;

        pthread_cond_wait(&pl->cv, &pl->mu);
    }
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

int pipeline_run(const pipeline_config *cfg, input_source *in,
                 const pipeline_hooks *hooks, pipeline_stats *stats,
                 char *err, size_t errlen)
{
    pipeline pl;
    double start = progress_now();
    int rc = PHM_OK;

    memset(&pl, 0, sizeof pl);
    memset(stats, 0, sizeof *stats);
    pl.cfg = cfg;
    pl.hooks = hooks;
    pl.in = in;
    pl.window = cfg->window ? cfg->window : 64 * (size_t)cfg->threads;
    if (pl.window < 2)
        pl.window = 2;
    pl.slots = calloc(pl.window, sizeof *pl.slots);
    if (hooks->record_user_size)
        pl.user = calloc(pl.window, hooks->record_user_size);
    if (!pl.slots || (hooks->record_user_size && !pl.user)) {
        snprintf(err, errlen, "out of memory");
        rc = PHM_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < pl.window; i++) {
        pl.slots[i].rec.user =
            pl.user ? pl.user + i * hooks->record_user_size : NULL;
        phm_vpdq_init(&pl.slots[i].video);
    }
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv, NULL);

#pragma omp parallel num_threads(cfg->threads)
    {
        worker w;
        int thread = omp_get_thread_num();
        int wrc = worker_start(&pl, &w, thread);
        if (wrc != PHM_OK) {
            pthread_mutex_lock(&pl.mu);
            fail_locked(&pl, wrc, w.err);
            pthread_mutex_unlock(&pl.mu);
        } else {
            worker_loop(&pl, &w);
        }
        worker_end(&pl, &w, thread);
    }

    pthread_cond_destroy(&pl.cv);
    pthread_mutex_destroy(&pl.mu);
    if (pl.stop) {
        rc = pl.status;
        snprintf(err, errlen, "%s", pl.errmsg);
    }
out:
    *stats = pl.stats;
    input_get_counts(in, &stats->skipped);
    stats->seconds = progress_now() - start;
    if (pl.slots)
        for (size_t i = 0; i < pl.window; i++) {
            free(pl.slots[i].path);
            phm_vpdq_clear(&pl.slots[i].video);
        }
    free(pl.slots);
    free(pl.user);
    return rc;
}
