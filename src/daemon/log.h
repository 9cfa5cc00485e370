/*
 * log.h - phmatchd's log: one line per event on stderr,
 * "2024-05-01T12:00:00Z phmatchd[123]: info: message". Lines are written
 * with one write(2), so lines from different threads never interleave.
 * The SVC_LOG macro skips formatting when the level is off. Never log a
 * token, an image or a query hash.
 */
#ifndef SVC_LOG_H
#define SVC_LOG_H

#include <stdatomic.h>
#include <stddef.h>

#include "config.h"

typedef struct svc_log {
    atomic_int level; /* LOG_*; changed on reload */
    int fd;           /* 2 */
} svc_log;

void log_init(svc_log *lg, int level);
void log_set_level(svc_log *lg, int level);

static inline int log_enabled(svc_log *lg, int level)
{
    return level <= atomic_load_explicit(&lg->level, memory_order_relaxed);
}

void log_write(svc_log *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SVC_LOG(lg, lvl, ...)                   \
    do {                                        \
        if (log_enabled((lg), (lvl)))           \
            log_write((lg), (lvl), __VA_ARGS__); \
    } while (0)

/* Copies `s` into `out` for a log line: control bytes and quotes become
 * '?', and long text is cut with "...". Returns out. */
char *log_safe(const char *s, char *out, size_t outlen);

#endif /* SVC_LOG_H */
