/* video_loader.c - the functions of phmatch.h's Video section that need
 * FFmpeg, forwarded to the video backend (phmatch-video.so, src/video/),
 * which is opened with dlopen() at the first video. See video_backend.h
 * and docs/ARCHITECTURE.md ("The video backend").
 *
 * Why: FFmpeg's libraries and their dependencies are about 130 shared
 * objects; mapping and relocating them at every start cost a `phmatch hash`
 * of one small JPEG ~15 times the CPU of decoding it. Linked this way,
 * phmatch, phmatchd and libphmatch.so have no FFmpeg dependency at all,
 * and a system without FFmpeg still hashes images.
 *
 * Where the backend is looked for, first found wins:
 *   1. $PHMATCH_VIDEO_BACKEND, a path (ignored in setuid programs);
 *   2. next to the running program (/proc/self/exe), or one or two
 *      directories up: the build tree (build/phmatch, build/tests/...);
 *   3. phmatch/ in the directory of libphmatch.so, for a program linked
 *      to the shared library, and ../lib/phmatch/ from the program's
 *      directory: an installed tree, wherever it was copied;
 *   4. PHM_VIDEO_BACKEND_DIR, the installed directory compiled in
 *      ($(PREFIX)/lib/phmatch).
 * Candidates of 2 and 3 are used only if owned by root or by the user
 * running the program and not writable by others, so a shared directory
 * such as /tmp above a program cannot plant code in it. A file that exists
 * but fails to load ends the search with its error (dlerror()).
 *
 * State: the outcome of the one load attempt (pthread_once) and whether
 * FFmpeg was asked to be quiet are process-wide, as the loaded code is;
 * nothing else is.
 */
#define _GNU_SOURCE /* secure_getenv */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phmatch.h"
#include "video_backend.h"

#ifndef PHM_VIDEO_BACKEND_DIR
#define PHM_VIDEO_BACKEND_DIR "/usr/local/lib/phmatch"
#endif

/* libphmatch's handle: the options, and the backend's hasher, made at the
 * first video hashed with it. */
struct phm_video_hasher {
    phm_video_options opt;
    phm_video_hasher *impl; /* the backend's (another struct), or NULL */
};

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const phm_video_backend *loaded;       /* set by load() */
static char load_error[PHM_ERRMSG_MAX - 64];  /* why not, set by load() */
static _Atomic(const phm_video_backend *) ready; /* loaded, for free/silence */
static atomic_int quiet_wanted;

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

/* Whether a candidate outside $PHMATCH_VIDEO_BACKEND may be loaded: a
 * regular file owned by root or by us, not writable by group or others. */
static int trusted(const struct stat *sb)
{
    return S_ISREG(sb->st_mode) &&
           (sb->st_uid == 0 || sb->st_uid == geteuid()) &&
           !(sb->st_mode & (S_IWGRP | S_IWOTH));
}

/* Opens the backend at `path`. Returns 1 (loaded), 0 (absent or not
 * trusted: try the next) or -1 (present but failed: load_error says why). */
static int try_open(const char *path, int check)
{
    struct stat sb;
    void *h;
    const phm_video_backend *b;

    if (check && (stat(path, &sb) != 0 || !trusted(&sb)))
        return 0;
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(load_error, sizeof load_error, "%s",
                 e ? e : "dlopen failed");
        return -1;
    }
    b = dlsym(h, PHM_VIDEO_BACKEND_SYMBOL);
    if (!b) {
        snprintf(load_error, sizeof load_error,
                 "'%s' is not a phmatch video backend (no %s)", path,
                 PHM_VIDEO_BACKEND_SYMBOL);
    } else if (b->abi != PHM_VIDEO_BACKEND_ABI ||
               b->size < sizeof(phm_video_backend) || !b->version ||
               strcmp(b->version, PHM_VERSION_STRING) != 0) {
        snprintf(load_error, sizeof load_error,
                 "'%s' is the video backend of another phmatch build "
                 "(version %.32s, interface %u; this is %s, interface %u)",
                 path, b->version ? b->version : "?", (unsigned)b->abi,
                 PHM_VERSION_STRING, PHM_VIDEO_BACKEND_ABI);
    } else {
        loaded = b;
        return 1;
    }
    dlclose(h);
    return -1;
}

/* Tries `dir`/`rel`/phmatch-video.so. */
static int try_dir(const char *dir, const char *rel, int check)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s%s/" PHM_VIDEO_BACKEND_FILE, dir,
                     rel);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    return try_open(path, check);
}

static void load(void)
{
    const char *env = secure_getenv("PHMATCH_VIDEO_BACKEND");
    char exe[PATH_MAX];
    ssize_t n;
    int rc = 0;

    if (env && *env) {
        try_open(env, 0);
        goto out;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            static const char *const rels[] = { "", "/..", "/../..",
                                                "/../lib/phmatch" };
            for (size_t i = 0; rc == 0 && i < sizeof rels / sizeof rels[0];
                 i++)
                rc = try_dir(exe, rels[i], 1);
            *slash = '/';
        }
    } else {
        exe[0] = '\0';
    }
    if (rc == 0) {
        /* The object this code is in: libphmatch.so, or the program. */
        Dl_info di;
        char lib[PATH_MAX];
        if (dladdr(&load_once, &di) && di.dli_fname &&
            di.dli_fname[0] == '/' &&
            snprintf(lib, sizeof lib, "%s", di.dli_fname) < (int)sizeof lib) {
            char *slash = strrchr(lib, '/');
            *slash = '\0';
            rc = try_dir(lib, "/phmatch", 1);
        }
    }
    if (rc == 0)
        rc = try_dir(PHM_VIDEO_BACKEND_DIR, "", 0);
    if (rc == 0 || (rc < 0 && !load_error[0]))
        snprintf(load_error, sizeof load_error,
                 PHM_VIDEO_BACKEND_FILE " not found in " PHM_VIDEO_BACKEND_DIR
                 " nor near '%.200s' (PHMATCH_VIDEO_BACKEND may name it)",
                 exe[0] ? exe : "the program");
out:
    if (loaded) {
        atomic_store(&ready, loaded);
        if (atomic_load(&quiet_wanted))
            loaded->silence_ffmpeg();
    }
}

/* The backend, loading it at the first call; NULL if it cannot be loaded
 * (then video_backend_error() says why). Thread-safe. */
static const phm_video_backend *backend(void)
{
    pthread_once(&load_once, load);
    return loaded;
}

/* Writes the error of a call that needed the backend, naming `name`. */
static int unavailable(const char *name, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen,
                 "cannot decode video '%s': the video backend could not be "
                 "loaded: %s",
                 name ? name : "(descriptor)", load_error);
    return PHM_ERR_UNSUPPORTED;
}

/* The backend and vh's backend hasher, made at its first video; NULL with
 * *rc and `err` set when either is unavailable. */
static const phm_video_backend *prepare(phm_video_hasher *vh, const char *name,
                                        int *rc, char *err, size_t errlen)
{
    const phm_video_backend *b = backend();

    if (!b) {
        *rc = unavailable(name, err, errlen);
        return NULL;
    }
    if (!vh->impl) {
        *rc = b->hasher_new(&vh->impl, &vh->opt);
        if (*rc != PHM_OK) {
            if (err && errlen)
                snprintf(err, errlen,
                         "cannot decode video '%s': cannot start the video "
                         "decoder: %s",
                         name ? name : "(descriptor)", phm_strerror(*rc));
            return NULL;
        }
    }
    return b;
}

/* The body of a forwarder: `call` runs with b (the backend) and vh->impl. */
#define FORWARD(vh, name, err, errlen, call)                                  \
    do {                                                                      \
        int rc_;                                                              \
        const phm_video_backend *b;                                           \
        if (err && errlen)                                                    \
            err[0] = '\0';                                                    \
        if (!(vh))                                                            \
            return PHM_ERR_INVALID;                                           \
        if (!(b = prepare(vh, name, &rc_, err, errlen)))                      \
            return rc_;                                                       \
        return b->call;                                                       \
    } while (0)

/* ------------------------------------------------------------------ */
/* The public functions                                                */
/* ------------------------------------------------------------------ */

int phm_video_hasher_new(phm_video_hasher **out, const phm_video_options *o)
{
    phm_video_hasher *vh;

    if (!out)
        return PHM_ERR_INVALID;
    *out = NULL;
    vh = calloc(1, sizeof *vh);
    if (!vh)
        return PHM_ERR_NOMEM;
    if (o)
        vh->opt = *o;
    else
        phm_video_options_init(&vh->opt);
    if (!video_options_valid(&vh->opt)) {
        free(vh);
        return PHM_ERR_INVALID;
    }
    *out = vh;
    return PHM_OK;
}

void phm_video_hasher_free(phm_video_hasher *vh)
{
    if (!vh)
        return;
    if (vh->impl) {
        const phm_video_backend *b = atomic_load(&ready);
        if (b)
            b->hasher_free(vh->impl);
    }
    free(vh);
}

int phm_hash_video_file(phm_video_hasher *vh, const char *path, phm_vpdq *out,
                        char *err, size_t errlen)
{
    FORWARD(vh, path, err, errlen, hash_file(vh->impl, path, out, err, errlen));
}

int phm_hash_video_fd(phm_video_hasher *vh, int fd, const char *name,
                      phm_vpdq *out, char *err, size_t errlen)
{
    FORWARD(vh, name, err, errlen,
            hash_fd(vh->impl, fd, name, out, err, errlen));
}

int phm_hash_video_mem(phm_video_hasher *vh, const void *data, size_t len,
                       const char *name, phm_vpdq *out, char *err,
                       size_t errlen)
{
    FORWARD(vh, name, err, errlen,
            hash_mem(vh->impl, data, len, name, out, err, errlen));
}

void phm_video_versions(char *out, size_t len)
{
    const phm_video_backend *b;

    if (!out || !len)
        return;
    b = backend();
    if (b)
        b->versions(out, len);
    else
        snprintf(out, len, "unavailable (%s)", load_error);
}

void phm_video_silence_ffmpeg(void)
{
    const phm_video_backend *b;

    /* Remembered for a backend loaded later; applied now to one loaded. */
    atomic_store(&quiet_wanted, 1);
    b = atomic_load(&ready);
    if (b)
        b->silence_ffmpeg();
}
