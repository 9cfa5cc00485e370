/*
 * audit.h - the optional audit log: one JSON object a line for each match
 * reported, in a file of mode 0600. A record holds the time, the token's
 * name, the endpoint, the matched entry's source, id and category, the
 * distance and orientation, and the query's PDQ hash only when
 * audit_query_hash is set. Never the image; queries that match nothing
 * leave no record. A suppressed match (governance) also has
 * "suppressed_by" {source, id, distance} and "reason"; an entry
 * quarantined by phmatchd has a record of "event" "quarantine" with the
 * "count" of distinct queries that tripped it.
 *
 * Records from all threads go through one mutex and one write(2) each
 * (O_APPEND), so lines never interleave. audit_reopen() (SIGHUP) lets a
 * log rotator move the file away.
 */
#ifndef SVC_AUDIT_H
#define SVC_AUDIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct svc_audit {
    pthread_mutex_t lock;
    int fd;      /* -1: no audit log */
    char *path;
    int failed;  /* a write failed; logged once */
} svc_audit;

typedef struct audit_record {
    const char *token;    /* token name, or "unix" */
    const char *endpoint; /* "match", "lookup", "hma_lookup" */
    const char *source, *id, *category;
    int distance;
    const char *orientation; /* or NULL */
    const char *query_hex;   /* written only if the log is so configured */
    /* governance: a suppressed match names its suppression entry
     * ("suppressed_by", "reason"); event "quarantine" records an entry
     * quarantined after `count` distinct queries (distance then unused) */
    const char *sup_source, *sup_id;
    int sup_distance;
    const char *event;       /* NULL: a match */
    uint64_t count;
} audit_record;

void audit_init(svc_audit *a);

/* Opens `path` for appending (created 0600; an existing file readable by
 * group or others is refused). path NULL or "" closes the log. Returns 0
 * or -1 with err; on error the previous file stays open. */
int audit_open(svc_audit *a, const char *path, char *err, size_t errlen);

/* What phmatchd -n checks of `path` without creating it: an existing file
 * must pass audit_open()'s checks, a missing one must be creatable in its
 * directory. path NULL or "" passes. Returns 0 or -1 with err. */
int audit_check(const char *path, char *err, size_t errlen);

/* Writes one record. Returns 0, or -1 if the write failed. */
int audit_write(svc_audit *a, const audit_record *r);

void audit_close(svc_audit *a);

#endif /* SVC_AUDIT_H */
