/* log.c - one-line log records on stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void log_init(svc_log *lg, int level)
{
    atomic_init(&lg->level, level);
    lg->fd = STDERR_FILENO;
}

void log_set_level(svc_log *lg, int level)
{
    atomic_store(&lg->level, level);
}

void log_write(svc_log *lg, int level, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int w = snprintf(line + n, sizeof line - n, " phmatchd[%ld]: %s: ", (long)getpid(),
                     config_log_level_name(level));
    if (w > 0)
        n += (size_t)w;
    va_start(ap, fmt);
    w = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    if (w > 0)
        n += (size_t)w;
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    /* One write: a line is never split by another thread's. */
    for (size_t off = 0; off < n;) {
        ssize_t r = write(lg->fd, line + off, n - off);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
}

char *log_safe(const char *s, char *out, size_t outlen)
{
    size_t i = 0;
    if (!outlen)
        return out;
    if (!s)
        s = "";
    for (; *s && i + 1 < outlen; s++) {
        unsigned char c = (unsigned char)*s;
        out[i++] = (c < 0x20 || c == 0x7f || c == '\'' || c == '"') ? '?' : (char)c;
    }
    if (*s && outlen > 4)
        memcpy(out + (i > outlen - 4 ? outlen - 4 : i), "...", 4);
    else
        out[i] = '\0';
    return out;
}
