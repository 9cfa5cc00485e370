/* index_vpdq.c - vPDQ files and the index (index_vpdq.h). A vPDQ file is
 * a video's hash: its frames, one line each. Imported (by the library's
 * hash-list reader, format vpdq), the whole file becomes one video entry
 * keeping every line, so that export writes the same lines back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "index_vpdq.h"

int index_vpdq_detect(const char *path)
{
    char buf[PHM_VPDQ_LINE_MAX];
    int fd;
    if (phm_file_open(path, 0, 0, &fd, NULL, NULL, 0) != PHM_OK)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n > 0 && phm_vpdq_detect(buf, (size_t)n);
}

/* ---- export ---- */

typedef struct export_ctx {
    const char *dir;
    uint64_t written, others, failed;
} export_ctx;

/* Writes one video's lines to DIR/<id>.txt, created exclusively. */
static int export_video(void *ctx, uint64_t entry, const phm_entry *e)
{
    export_ctx *x = ctx;
    char path[4096];
    const char *why = NULL;

    if (!(e->signals & PHM_SIG_VPDQ)) {
        x->others++;
        return 0;
    }
    if (strchr(e->id, '/') || strcmp(e->id, ".") == 0 || strcmp(e->id, "..") == 0)
        why = "its id is not a file name";
    else if ((size_t)snprintf(path, sizeof path, "%s/%s.txt", x->dir, e->id) >= sizeof path)
        why = "file name too long";
    int fd = why ? -1 : open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (!why && fd < 0)
        why = strerror(errno);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !fp) {
        why = strerror(errno);
        close(fd);
    }
    if (fp) {
        errno = 0;
        if (phm_hashlist_write(fp, PHM_HASHLIST_VPDQ, e, NULL, 0) != PHM_OK ||
            fflush(fp) != 0 || ferror(fp))
            why = strerror(errno ? errno : EIO);
        if (fclose(fp) != 0 && !why)
            why = strerror(errno);
    }
    if (why && fd >= 0)
        unlink(path); /* ours (O_EXCL): no truncated file left to block the next export */
    if (why) {
        fprintf(stderr, "phmatch: entry %llu ('", (unsigned long long)entry);
        cli_put_quoted(stderr, e->source);
        fputc(':', stderr);
        cli_put_quoted(stderr, e->id);
        fprintf(stderr, "') not exported: %s\n", why);
        x->failed++;
        return 0;
    }
    x->written++;
    return 0;
}

int index_vpdq_export(phm_index *idx, const char *dir)
{
    char err[PHM_ERRMSG_MAX];
    export_ctx x = { .dir = dir };
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("cannot write to '%s': not a directory", dir);
        return CLI_EXIT_USAGE;
    }
    int rc = phm_index_foreach(idx, export_video, &x, err, sizeof err);
    if (rc < 0) {
        cli_error("%s", err);
        return rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_PARTIAL;
    }
    printf("videos %llu, not videos %llu, failed %llu\n", (unsigned long long)x.written,
           (unsigned long long)x.others, (unsigned long long)x.failed);
    if (x.others)
        cli_error("%llu entries are not videos, which format vpdq cannot hold: "
                  "export them in another format", (unsigned long long)x.others);
    return x.failed ? CLI_EXIT_PARTIAL : CLI_EXIT_OK;
}
