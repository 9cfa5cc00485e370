/* index_snapshot.c - publishing a compacted copy of an index for
 * read-only replicas (phm_index_snapshot): copy to a temporary file
 * beside the target, sync, check, rename over the target. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index_internal.h"

#define WHAT "cannot snapshot index"

/* Syncs the directory holding `path`, so that a rename into it survives a
 * crash. 0 or an errno value. */
static int sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        dir[0] = '.';
        dir[1] = 0;
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, n); /* n < strlen(path) < PATH_MAX: checked */
        dir[n] = 0;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) != 0 ? errno : 0;
    close(fd);
    return rc;
}

/* The errno of a failed file operation as a status. */
static int errno_status(int e)
{
    if (e == ENOENT)
        return PHM_ERR_NOT_FOUND;
    if (e == EISDIR)
        return PHM_ERR_IS_DIR;
    if (e == ENOMEM)
        return PHM_ERR_NOMEM;
    return PHM_ERR_UNREADABLE;
}

int phm_index_snapshot(phm_index *idx, const char *out, uint64_t *entries, char *err,
                       size_t errlen)
{
    char tmp[PATH_MAX], cause[PHM_ERRMSG_MAX];
    struct stat st_out, st_idx;
    phm_index *check = NULL;
    phm_index_stats stats;
    int rc = PHM_ERR_UNREADABLE;

    if (err && errlen)
        err[0] = 0;
    if (entries)
        *entries = 0;
    if (!idx || !out || !*out) {
        idx_err(err, errlen, WHAT, out ? out : "", "invalid argument");
        return PHM_ERR_INVALID;
    }
    if (stat(out, &st_out) == 0) {
        if (S_ISDIR(st_out.st_mode)) {
            idx_err(err, errlen, WHAT, out, "is a directory");
            return PHM_ERR_IS_DIR;
        }
        if (!S_ISREG(st_out.st_mode)) {
            /* A device, FIFO or socket (or a link to one) would be
             * replaced by the rename below, /dev/full by an index file. */
            idx_err(err, errlen, WHAT, out, "not a regular file");
            return PHM_ERR_INVALID;
        }
        if (stat(idx->path, &st_idx) == 0 && st_idx.st_dev == st_out.st_dev &&
            st_idx.st_ino == st_out.st_ino) {
            idx_err(err, errlen, WHAT, out, "it is the index itself ('%s')", idx->path);
            return PHM_ERR_INVALID;
        }
    }
    /* A name of our own beside `out` (same file system, so rename is
     * atomic): pid, clock and a retry count; O_EXCL in phm_index_copy
     * refuses an existing one. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int attempt = 0;; attempt++) {
        int n = snprintf(tmp, sizeof tmp, "%s.tmp-%ld-%ld-%d", out, (long)getpid(),
                         (long)ts.tv_nsec, attempt);
        if (n < 0 || (size_t)n >= sizeof tmp) {
            idx_err(err, errlen, WHAT, out, "path too long");
            return PHM_ERR_INVALID;
        }
        rc = phm_index_copy(idx, tmp, cause, sizeof cause);
        if (rc == PHM_OK)
            break;
        if (access(tmp, F_OK) != 0 || attempt >= 8) {
            /* not a name clash: the copy itself failed */
            idx_err(err, errlen, WHAT, out, "%s", cause);
            return rc;
        }
    }
    /* The copy is synced and closed (phm_index_copy); check it reads. */
    rc = phm_index_open(&check, tmp, PHM_INDEX_RDONLY | PHM_INDEX_NOLOCK, 0,
                        phm_index_simd(idx), cause, sizeof cause);
    if (rc == PHM_OK)
        rc = phm_index_get_stats(check, &stats, cause, sizeof cause);
    phm_index_close(check);
    if (rc != PHM_OK) {
        idx_err(err, errlen, WHAT, out, "the copy does not read back: %s", cause);
        goto fail;
    }
    if (chmod(tmp, 0600) != 0 || rename(tmp, out) != 0) {
        int e = errno;
        idx_err(err, errlen, WHAT, out, "%s", strerror(e));
        rc = errno_status(e);
        goto fail;
    }
    int e = sync_dir_of(out);
    if (e) {
        /* Renamed already: the snapshot is in place, only not yet durable. */
        idx_err(err, errlen, WHAT, out, "cannot sync its directory: %s", strerror(e));
        return PHM_ERR_UNREADABLE;
    }
    if (entries)
        *entries = stats.entries;
    return PHM_OK;
fail:
    unlink(tmp);
    return rc;
}
