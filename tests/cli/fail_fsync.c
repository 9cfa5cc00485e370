/* fail_fsync.c - an LD_PRELOAD shim for the CLI tests (index_upgrade.sh):
 * fsync() of a directory fails with EIO, after the first
 * $FAIL_FSYNC_DIR_AFTER (default 0) such calls of the process, which pass;
 * fsync() of anything else is libc's.
 * Built by the test that preloads it (cc -shared -fPIC), never linked into
 * a program. It stands for a file system that cannot make a rename
 * durable, which a test cannot otherwise bring about. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync(int fd)
{
    struct stat st;
    static long dirs; /* directory fsyncs so far */
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        const char *after = getenv("FAIL_FSYNC_DIR_AFTER");
        if (dirs++ >= (after ? atol(after) : 0)) {
            errno = EIO;
            return -1;
        }
    }
    int (*next)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (!next) {
        errno = ENOSYS;
        return -1;
    }
    return next(fd);
}
