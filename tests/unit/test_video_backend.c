/*
 * test_video_backend.c - the video backend is opened at the first video,
 * once, from many threads at once (src/lib/video_loader.c):
 *   - before a video nothing of FFmpeg is mapped (/proc/self/maps), even
 *     after phm_video_silence_ffmpeg() and phm_video_hasher_new();
 *   - threads that meet their first video together all get the same
 *     frames, and the backend is mapped once;
 *   - phm_hash_video_mem() is forwarded.
 * Run from the source tree (tests/check.sh does). TAP on stdout.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"

#define CLIP "tests/data/vpdq/synthetic/mandelbrot-160x120.mp4"
#define NTHREADS 8

/* How many lines of /proc/self/maps name `what` (-1: unreadable). */
static int mapped(const char *what)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    char line[4096];
    int n = 0;
    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp))
        if (strstr(line, what))
            n++;
    fclose(fp);
    return n;
}

typedef struct job {
    pthread_barrier_t *start;
    phm_vpdq v;
    int rc;
    char err[PHM_ERRMSG_MAX];
} job;

static void *run(void *arg)
{
    job *j = arg;
    phm_video_hasher *vh = NULL;

    j->rc = phm_video_hasher_new(&vh, NULL);
    pthread_barrier_wait(j->start);
    if (j->rc == PHM_OK)
        j->rc = phm_hash_video_file(vh, CLIP, &j->v, j->err, sizeof j->err);
    phm_video_hasher_free(vh);
    return NULL;
}

static int same_frames(const phm_vpdq *a, const phm_vpdq *b)
{
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++)
        if (a->frames[i].frame != b->frames[i].frame ||
            a->frames[i].quality != b->frames[i].quality ||
            phm_pdq_distance(&a->frames[i].hash, &b->frames[i].hash) != 0)
            return 0;
    return 1;
}

int main(void)
{
    phm_video_hasher *vh = NULL;
    phm_video_options o;
    pthread_barrier_t start;
    pthread_t tid[NTHREADS];
    job jobs[NTHREADS];
    char ver[256];
    int started = 0;

    if (mapped("libc") <= 0) {
        OK(0, "/proc/self/maps is readable");
        return tap_done();
    }
    phm_video_silence_ffmpeg();
    IS_INT(phm_video_hasher_new(&vh, NULL), PHM_OK, "a hasher with defaults");
    phm_video_options_init(&o);
    o.size = 3;
    phm_video_hasher *bad = NULL;
    IS_INT(phm_video_hasher_new(&bad, &o), PHM_ERR_INVALID,
           "invalid options refused without the backend");
    OK(bad == NULL, "and no hasher made");
    IS_INT(mapped("libavcodec"), 0,
           "no FFmpeg mapped before a video (after silence and hasher_new)");
    IS_INT(mapped("phmatch-video.so"), 0, "nor the backend");

    /* Many threads meet their first video at once. */
    if (pthread_barrier_init(&start, NULL, NTHREADS) != 0) {
        OK(0, "pthread_barrier_init");
        return tap_done();
    }
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < NTHREADS; i++) {
        jobs[i].start = &start;
        phm_vpdq_init(&jobs[i].v);
        if (pthread_create(&tid[i], NULL, run, &jobs[i]) == 0)
            started++;
    }
    IS_INT(started, NTHREADS, "%d threads started", NTHREADS);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&start);
    int all_ok = 1, all_same = 1;
    for (int i = 0; i < started; i++) {
        if (jobs[i].rc != PHM_OK) {
            all_ok = 0;
            printf("# thread %d: %d %s\n", i, jobs[i].rc, jobs[i].err);
        }
        if (!same_frames(&jobs[i].v, &jobs[0].v))
            all_same = 0;
    }
    OK(all_ok, "every thread hashed the video");
    OK(all_same && jobs[0].v.count > 0, "with the same %zu frames",
       jobs[0].v.count);
    IS_INT(mapped("libavcodec") > 0, 1, "FFmpeg mapped after the first video");
    OK(mapped("phmatch-video.so") > 0, "the backend mapped");

    /* The hasher made before the backend was loaded works too, twice. */
    phm_vpdq v;
    char err[PHM_ERRMSG_MAX];
    phm_vpdq_init(&v);
    for (int k = 0; k < 2; k++) {
        IS_INT(phm_hash_video_file(vh, CLIP, &v, err, sizeof err), PHM_OK,
               "a hasher made before loading: video %d", k + 1);
        OK(same_frames(&v, &jobs[0].v), "the same frames");
    }

    /* From memory: forwarded to the backend, the same frames as the file. */
    FILE *fp = fopen(CLIP, "rb");
    static unsigned char buf[1 << 20];
    size_t len = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp)
        fclose(fp);
    OK(len > 1000, "read the clip (%zu bytes)", len);
    int rc = phm_hash_video_mem(vh, buf, len, "clip", &v, err, sizeof err);
    IS_INT(rc, PHM_OK, "hash_mem: %s", rc ? err : "ok");
    OK(rc == PHM_OK && same_frames(&v, &jobs[0].v), "hash_mem: the same frames");

    phm_video_versions(ver, sizeof ver);
    OK(strncmp(ver, "libavformat ", 12) == 0, "versions: %s", ver);
    IS_STR(phm_version(), PHM_VERSION_STRING, "phm_version()");

    phm_vpdq_clear(&v);
    for (int i = 0; i < NTHREADS; i++)
        phm_vpdq_clear(&jobs[i].v);
    phm_video_hasher_free(vh);
    return tap_done();
}
