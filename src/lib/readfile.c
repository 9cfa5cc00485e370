/* readfile.c - reading a file under limits (see phmatch.h, "Files"): the
 * one place where open, fstat, the regular-file check, the size limit,
 * the read loop and errno become a PHM_ERR_* code and a message. Images
 * (decode.c), vPDQ hash files (video_vpdq.c), videos (video.c) and the
 * front-ends' token and list files go through here. */
#include "phmatch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int file_fail(int status, char *err, size_t errlen, const char *path,
                     const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "cannot read '%s': %s", path, what);
    return status;
}

int phm_file_open(const char *path, unsigned flags, uint64_t max_bytes, int *fd,
                  uint64_t *size, char *err, size_t errlen)
{
    struct stat sb;
    int f, rc;

    if (err && errlen)
        err[0] = '\0';
    if (!path || !fd || (flags & ~(unsigned)PHM_FILE_NOFOLLOW))
        return PHM_ERR_INVALID;
    *fd = -1;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    f = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                       (flags & PHM_FILE_NOFOLLOW ? O_NOFOLLOW : 0));
    if (f < 0) {
        int e = errno;
        return file_fail(e == ENOENT || e == ENOTDIR ? PHM_ERR_NOT_FOUND
                         : e == EISDIR               ? PHM_ERR_IS_DIR
                         : e == ENOMEM               ? PHM_ERR_NOMEM
                                                     : PHM_ERR_UNREADABLE,
                         err, errlen, path,
                         e == ELOOP && (flags & PHM_FILE_NOFOLLOW) ? "is a symbolic link"
                                                                    : strerror(e));
    }
    if (fstat(f, &sb) != 0)
        rc = file_fail(PHM_ERR_UNREADABLE, err, errlen, path, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        rc = file_fail(PHM_ERR_IS_DIR, err, errlen, path, "is a directory");
    else if (!S_ISREG(sb.st_mode))
        rc = file_fail(PHM_ERR_UNREADABLE, err, errlen, path, "not a regular file");
    else if (max_bytes && (uint64_t)sb.st_size > max_bytes) {
        if (err && errlen)
            snprintf(err, errlen, "cannot read '%s': %lld bytes is over the limit of %llu",
                     path, (long long)sb.st_size, (unsigned long long)max_bytes);
        rc = PHM_ERR_TOO_LARGE;
    } else {
        *fd = f;
        if (size)
            *size = (uint64_t)sb.st_size;
        return PHM_OK;
    }
    close(f);
    return rc;
}

int phm_file_read_fd(int fd, const char *name, uint64_t size, uint8_t **buf,
                     size_t *cap, size_t *len, char *err, size_t errlen)
{
    size_t want, got = 0;

    if (err && errlen)
        err[0] = '\0';
    if (fd < 0 || !buf || !cap || !len || (!*buf && *cap))
        return PHM_ERR_INVALID;
    if (!name)
        name = "(descriptor)";
    *len = 0;
    if (size >= SIZE_MAX)
        return file_fail(PHM_ERR_TOO_LARGE, err, errlen, name, "too large for memory");
    want = (size_t)size;
    if (want + 1 > *cap || !*buf) {
        uint8_t *b = malloc(want + 1);
        if (!b)
            return file_fail(PHM_ERR_NOMEM, err, errlen, name, "out of memory");
        free(*buf);
        *buf = b;
        *cap = want + 1;
    }
    while (got < want) {
        ssize_t n = read(fd, *buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            (*buf)[0] = 0;
            return file_fail(PHM_ERR_UNREADABLE, err, errlen, name, strerror(e));
        }
        if (n == 0)
            break; /* shrank while we read: the caller gets what is there */
        got += (size_t)n;
    }
    (*buf)[got] = 0;
    *len = got;
    return PHM_OK;
}

int phm_file_read(const char *path, unsigned flags, uint64_t max_bytes, uint8_t **buf,
                  size_t *cap, size_t *len, char *err, size_t errlen)
{
    uint64_t size = 0;
    int fd, rc;

    if (len)
        *len = 0;
    if (!buf || !cap || !len)
        return PHM_ERR_INVALID;
    rc = phm_file_open(path, flags, max_bytes, &fd, &size, err, errlen);
    if (rc != PHM_OK)
        return rc;
    rc = phm_file_read_fd(fd, path, size, buf, cap, len, err, errlen);
    close(fd);
    return rc;
}
