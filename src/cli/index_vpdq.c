/* index_vpdq.c - vPDQ files in and out of the index (index_vpdq.h). A
 * vPDQ file is a video's hash: its frames, one line each. Imported, the
 * whole file becomes one video entry keeping every line, so that export
 * writes the same lines back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "index_vpdq.h"
#include "output.h"

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

void index_vpdq_id(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    static const char *const ext[] = { ".txt", ".vpdq" };
    for (size_t i = 0; i < 2; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcmp(base + n - e, ext[i]) == 0) {
            n -= e;
            break;
        }
    }
    snprintf(out, len, "%.*s", (int)n, base);
}

int index_vpdq_import(phm_index_txn *txn, const char *path,
                      const index_vpdq_opts *o, int *rc_out)
{
    char err[PHM_ERRMSG_MAX], id[PHM_INDEX_MAX_ID + 2];
    phm_vpdq v;
    int ret = 0;

    phm_vpdq_init(&v);
    if (!o->source || !o->source[0]) {
        fputs("phmatch: '", stderr);
        cli_put_quoted(stderr, path);
        fputs("' is a vPDQ file, which names no source: give --source\n", stderr);
        return 1;
    }
    int rc = phm_vpdq_load(path, 0, &v, err, sizeof err);
    if (rc == PHM_ERR_NOMEM) {
        cli_error("%s", err);
        *rc_out = rc;
        ret = -1;
    } else if (rc != PHM_OK) {
        fputs("phmatch: ", stderr);
        cli_put_quoted(stderr, err); /* names the file and the line */
        fputc('\n', stderr);
        ret = 1;
    } else {
        if (o->id)
            snprintf(id, sizeof id, "%s", o->id);
        else
            index_vpdq_id(path, id, sizeof id);
        phm_entry e = { .source = o->source, .id = id, .category = o->category,
                        .signals = PHM_SIG_VPDQ, .quality = -1, .frames = v.frames,
                        .nframes = v.count };
        rc = phm_index_add(txn, &e, err, sizeof err);
        if (rc == PHM_ERR_INVALID) {
            fputs("phmatch: '", stderr);
            cli_put_quoted(stderr, path);
            fputs("': ", stderr);
            cli_put_quoted(stderr, err);
            fputc('\n', stderr);
            ret = 1;
        } else if (rc != PHM_OK) {
            cli_error("%s", err);
            *rc_out = rc;
            ret = -1;
        }
    }
    phm_vpdq_clear(&v);
    return ret;
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
        phm_vpdq v;
        phm_vpdq_init(&v);
        v.frames = (phm_vpdq_frame *)(uintptr_t)e->frames;
        v.count = e->nframes;
        errno = 0;
        output_vpdq(fp, &v);
        if (fflush(fp) != 0 || ferror(fp))
            why = strerror(errno ? errno : EIO);
        if (fclose(fp) != 0 && !why)
            why = strerror(errno);
    }
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
