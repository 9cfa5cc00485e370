/* audit.c - the JSON Lines audit log of matches (see audit.h). */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "server.h" /* json_text */

void audit_init(svc_audit *a)
{
    pthread_mutex_init(&a->lock, NULL);
    a->fd = -1;
    a->path = NULL;
    a->failed = 0;
}

/* What audit_open() demands of the open file. */
static int check_fd(int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        snprintf(err, errlen, "audit log '%s' must be a regular file of mode 0600 "
                 "(it is 0%o): chmod 600 it", path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

int audit_check(const char *path, char *err, size_t errlen)
{
    if (!path || !*path)
        return 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT) {
        /* audit_open() would create it: the directory must allow that. */
        char dir[4096] = ".";
        const char *slash = strrchr(path, '/');
        if (slash) {
            size_t n = slash == path ? 1 : (size_t)(slash - path);
            if (n >= sizeof dir)
                n = sizeof dir - 1;
            memcpy(dir, path, n);
            dir[n] = '\0';
        }
        if (access(dir, W_OK | X_OK)) {
            snprintf(err, errlen, "cannot create audit log '%s': %s", path,
                     strerror(errno));
            return -1;
        }
        return 0;
    }
    if (fd < 0) {
        snprintf(err, errlen, "cannot open audit log '%s': %s", path, strerror(errno));
        return -1;
    }
    int rc = check_fd(fd, path, err, errlen);
    close(fd);
    return rc;
}

int audit_open(svc_audit *a, const char *path, char *err, size_t errlen)
{
    int fd = -1;
    char *copy = NULL;

    if (path && *path) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open audit log '%s': %s", path,
                     strerror(errno));
            return -1;
        }
        if (check_fd(fd, path, err, errlen)) {
            close(fd);
            return -1;
        }
        copy = strdup(path);
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            close(fd);
            return -1;
        }
    }
    pthread_mutex_lock(&a->lock);
    int old = a->fd;
    char *oldpath = a->path;
    a->fd = fd;
    a->path = copy;
    a->failed = 0;
    pthread_mutex_unlock(&a->lock);
    if (old >= 0)
        close(old);
    free(oldpath);
    return 0;
}

int audit_write(svc_audit *a, const audit_record *r)
{
    char when[32];
    struct timespec ts;
    struct tm tm;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    /* names as the index stores them, bytes that need not be UTF-8:
     * json_text writes those as the answers do (json_pack's "s" refused
     * them, and the match went unrecorded) */
    json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o, s:o, s:i}", "time", when, "token",
                          json_text(r->token), "endpoint", r->endpoint, "source",
                          json_text(r->source), "id", json_text(r->id), "category",
                          json_text(r->category), "distance", r->distance);
    if (!o)
        return -1;
    if (r->orientation)
        json_object_set_new(o, "orientation", json_string(r->orientation));
    if (r->query_hex)
        json_object_set_new(o, "query_pdq", json_string(r->query_hex));
    if (r->sup_source) {
        json_object_set_new(o, "suppressed_by",
                            json_pack("{s:o, s:o, s:i}", "source", json_text(r->sup_source),
                                      "id", json_text(r->sup_id), "distance",
                                      r->sup_distance));
        json_object_set_new(o, "reason", json_string("suppression source"));
    }
    if (r->event) {
        json_object_set_new(o, "event", json_string(r->event));
        json_object_set_new(o, "count", json_integer((json_int_t)r->count));
        json_object_del(o, "distance");
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!line)
        return -1;
    size_t len = strlen(line);
    line[len] = '\n'; /* json_dumps' NUL becomes the newline */

    pthread_mutex_lock(&a->lock);
    if (a->fd >= 0) {
        ssize_t w = write(a->fd, line, len + 1);
        if (w != (ssize_t)(len + 1)) {
            rc = -1;
            a->failed = 1;
        }
    }
    pthread_mutex_unlock(&a->lock);
    free(line);
    return rc;
}

void audit_close(svc_audit *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    free(a->path);
    a->path = NULL;
    pthread_mutex_destroy(&a->lock);
}
