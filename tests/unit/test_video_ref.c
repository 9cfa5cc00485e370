/*
 * test_video_ref.c - vPDQ conformance with the reference's own outputs
 * (tests/data/vpdq/, provenance in PROVENANCE.md): the five reference
 * videos hashed at every frame, at native size and at 128x128, against
 * the reference video hasher's files.
 *
 * Required: the same number of frames, the same frame numbers and the same
 * printed timestamps; per-frame hash distances within a bound (frames of
 * quality >= 50 on both sides; low-quality hashes of near-flat frames are
 * unstable by nature and are only reported); every video matches itself at
 * 100% and the reference's file at >= 95% both ways. The distance
 * distribution of every video is printed as TAP comments: FFmpeg versions
 * differ in scaling, so the reference's bits are not ours exactly.
 *
 * Also: the threaded path gives the same frames as the single-threaded one,
 * and r = 1 keeps exactly the frames n % 25 == 0 of the r = 0 run (on the
 * small synthetic clip, 25 fps).
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"

#define DIR "tests/data/vpdq/"

typedef struct ref_video {
    const char *name;
    int bound_native; /* largest distance allowed, frames of quality >= 50 */
    int bound_128;    /* -1: the reference gave no 128x128 file */
} ref_video;

/* Bounds: the distances measured with Debian 12's FFmpeg 5.1 (see the
 * distributions this test prints) plus a margin. doorknob is dark and
 * nearly flat for long stretches; its quality >= 50 frames still differ by
 * up to 22 bits at native size, the "four of them within 0-6". */
static const ref_video videos[] = {
    { "chair-19-sd-bar", 8, 12 },
    { "chair-22-sd-grey-bar", 8, 12 },
    { "doorknob-hd-no-bar", 28, 22 },
    { "pattern-hd-no-bar", 8, 18 },
    { "test-padded-dimensions", 4, -1 },
};

static int hash_video(const char *path, double r, uint32_t size, int threads,
                      phm_vpdq *out)
{
    phm_video_options o;
    phm_video_hasher *vh;
    char err[PHM_ERRMSG_MAX];
    int rc;

    phm_video_options_init(&o);
    o.seconds_per_hash = r;
    o.size = size;
    o.threads = threads;
    if (phm_video_hasher_new(&vh, &o) != PHM_OK)
        return PHM_ERR_NOMEM;
    rc = phm_hash_video_file(vh, path, out, err, sizeof err);
    if (rc != PHM_OK)
        printf("# %s\n", err);
    phm_video_hasher_free(vh);
    return rc;
}

static int same_frames(const phm_vpdq *a, const phm_vpdq *b)
{
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++)
        if (a->frames[i].frame != b->frames[i].frame ||
            a->frames[i].quality != b->frames[i].quality ||
            memcmp(&a->frames[i].hash, &b->frames[i].hash, sizeof(phm_pdq)))
            return 0;
    return 1;
}

/* Compares our hash of one video at one size with the reference's file. */
static void check_one(const ref_video *rv, uint32_t size, int threads)
{
    char path[256], ref_path[256], err[PHM_ERRMSG_MAX];
    const char *label = size ? "128x128" : "native";
    int bound = size ? rv->bound_128 : rv->bound_native;
    phm_vpdq ours, ref;
    phm_vpdq_match m;
    int rc;

    snprintf(path, sizeof path, DIR "videos/%s.mp4", rv->name);
    snprintf(ref_path, sizeof ref_path, DIR "expected/%s%s.txt", rv->name,
             size ? "-128x128" : "");
    phm_vpdq_init(&ours);
    phm_vpdq_init(&ref);
    rc = phm_vpdq_load(ref_path, 0, &ref, err, sizeof err);
    if (!OK(rc == PHM_OK, "%s %s: reference file loads", rv->name, label)) {
        printf("# %s\n", err);
        goto out;
    }
    rc = hash_video(path, 0, size, threads, &ours);
    IS_INT(rc, PHM_OK, "%s %s: hashed", rv->name, label);
    IS_INT(ours.count, ref.count, "%s %s: as many frames as the reference",
           rv->name, label);

    size_t n = ours.count < ref.count ? ours.count : ref.count;
    size_t bad_number = 0, bad_time = 0, over = 0, both = 0;
    int hist[PHM_PDQ_BITS + 1] = { 0 }, qmax = 0, dmax = 0;
    for (size_t i = 0; i < n; i++) {
        char a[PHM_VPDQ_LINE_MAX], b[PHM_VPDQ_LINE_MAX];
        const phm_vpdq_frame *x = &ours.frames[i], *y = &ref.frames[i];
        if (x->frame != y->frame)
            bad_number++;
        /* Timestamps as printed: the text the reference wrote. */
        phm_vpdq_format_frame(x, a);
        phm_vpdq_format_frame(y, b);
        if (strcmp(strrchr(a, ','), strrchr(b, ',')) != 0)
            bad_time++;
        int d = phm_pdq_distance(&x->hash, &y->hash);
        int dq = abs(x->quality - y->quality);
        if (dq > qmax)
            qmax = dq;
        if (x->quality >= PHM_PDQ_MIN_QUALITY &&
            y->quality >= PHM_PDQ_MIN_QUALITY) {
            both++;
            hist[d]++;
            if (d > dmax)
                dmax = d;
            if (d > bound)
                over++;
        }
    }
    IS_INT(bad_number, 0, "%s %s: frame numbers equal the reference's",
           rv->name, label);
    IS_INT(bad_time, 0, "%s %s: timestamps equal the reference's", rv->name,
           label);
    OK(over == 0 && both > 0,
       "%s %s: %zu frames of quality >= 50, distances <= %d (max %d)",
       rv->name, label, both, bound, dmax);
    printf("# %s %s: distance distribution (quality >= 50):", rv->name,
           label);
    for (int d = 0; d <= PHM_PDQ_BITS; d++)
        if (hist[d])
            printf(" %d:%d", d, hist[d]);
    printf("; quality differs by up to %d\n", qmax);

    phm_vpdq_compare(&ours, &ours, PHM_PDQ_MATCH_DISTANCE,
                     PHM_PDQ_MIN_QUALITY, &m);
    OK(m.query_percent == 100.0 && m.compared_percent == 100.0,
       "%s %s: matches itself at 100%%", rv->name, label);
    phm_vpdq_compare(&ours, &ref, PHM_PDQ_MATCH_DISTANCE, PHM_PDQ_MIN_QUALITY,
                     &m);
    OK(m.query_percent >= 95.0 && m.compared_percent >= 95.0,
       "%s %s: matches the reference's file at >= 95%% both ways (%.2f%%, "
       "%.2f%%)",
       rv->name, label, m.query_percent, m.compared_percent);
out:
    phm_vpdq_clear(&ours);
    phm_vpdq_clear(&ref);
}

/* Threads and r = 1, on the small synthetic clip (25 fps). */
static void check_paths(void)
{
    const char *path = DIR "synthetic/mandelbrot-160x120.mp4";
    phm_vpdq one, two, sec;
    int ok = 1;

    phm_vpdq_init(&one);
    phm_vpdq_init(&two);
    phm_vpdq_init(&sec);
    hash_video(path, 0, 0, 1, &one);
    hash_video(path, 0, 0, 3, &two);
    OK(one.count > 0 && same_frames(&one, &two),
       "3 threads give the frames of 1 thread");
    hash_video(path, 1.0, 0, 2, &sec);
    IS_INT(sec.step, 25, "r = 1 at 25 fps: step 25");
    IS_INT(sec.count, (one.count + 24) / 25, "r = 1: one frame in 25");
    for (size_t i = 0; i < sec.count && ok; i++)
        ok = 25 * i < one.count && sec.frames[i].frame == 25 * i &&
             memcmp(&sec.frames[i].hash, &one.frames[25 * i].hash,
                    sizeof(phm_pdq)) == 0;
    OK(ok, "r = 1 keeps frames 0, 25, 50, ... with the r = 0 hashes");
    IS_INT(sec.frames_decoded, one.count, "r = 1 still decodes every frame");
    phm_vpdq_clear(&one);
    phm_vpdq_clear(&two);
    phm_vpdq_clear(&sec);
}

/* A small run (tap_small) hashes chair-22 and pattern at 128x128 only:
 * chair-19 and doorknob at native size take the same lines and branches
 * of src/ (a --coverage build, both sizes), and those two were 60 % of the
 * sanitizer build's time. */
static int native_in_small(const char *name)
{
    return strcmp(name, "chair-22-sd-grey-bar") && strcmp(name, "pattern-hd-no-bar");
}

int main(void)
{
    int threads = omp_get_num_procs() > 1 ? 2 : 1;
    int small = tap_small();
    for (size_t i = 0; i < sizeof videos / sizeof videos[0]; i++) {
        if (!small || native_in_small(videos[i].name))
            check_one(&videos[i], 0, threads);
        if (videos[i].bound_128 >= 0)
            check_one(&videos[i], 128, threads);
    }
    check_paths();
    return tap_done();
}
