/*
 * config.h - phmatchd's settings: one table (config.c) gives every
 * setting's name, type, bounds, default and help. Values come from the
 * defaults, then a configuration file ("name = value" lines), then the
 * command line ("--name value" / "--name=value"), later sources winning.
 *
 * A svc_config owns its strings; config_free() releases them. Nothing
 * here is shared between threads: the server publishes immutable copies
 * (see runtime.h).
 */
#ifndef SVC_CONFIG_H
#define SVC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { UNIX_AUTH_OPTIONAL = 0, UNIX_AUTH_REQUIRED = 1 };
enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

typedef struct svc_config {
    /* index */
    char *index;               /* path of the index file; "" = none */
    int index_create;          /* create it if missing */
    int read_only;             /* replica: RDONLY | NOLOCK, swapped on rename */
    int index_hot_copy;        /* PHM_INDEX_HOT_COPY */
    /* listeners */
    char *socket;              /* Unix socket path; "" = none */
    int64_t socket_mode;       /* permission bits of the socket */
    char *listen;              /* "host:port" for TCP; "" = none */
    char *tls_cert, *tls_key;  /* PEM files; both or neither */
    int allow_cleartext;       /* plain HTTP on a non-loopback address */
    /* access */
    char *tokens;              /* bearer token file; "" = none */
    int unix_auth;             /* UNIX_AUTH_* */
    char *audit_log;           /* JSON Lines file; "" = none */
    int audit_query_hash;      /* audit records carry the query hash */
    /* capacity and limits */
    int64_t threads;           /* request threads per listener */
    int64_t max_connections;   /* per listener */
    int64_t max_connections_per_client; /* per client address, TCP */
    int64_t max_pending;       /* requests in progress, all listeners */
    int64_t max_body;          /* bytes of one request body */
    int64_t max_body_memory;   /* bytes of all request bodies at once */
    int64_t max_body_memory_per_client; /* of one client address, TCP */
    int64_t max_pixels;        /* decoded image size limit */
    int64_t max_duration;      /* seconds of a video body decoded */
    int64_t max_frames;        /* frames of a video body decoded */
    int64_t max_batch;         /* hashes per lookup, entries per add */
    int64_t max_matches;       /* matches reported per hash */
    int64_t connection_timeout; /* seconds without progress */
    int64_t header_timeout;    /* seconds to send a request's headers */
    int64_t request_timeout;   /* seconds to receive a request */
    int64_t shutdown_timeout;  /* seconds to drain on SIGTERM */
    int64_t retry_after;       /* seconds, in 503 answers */
    /* matching */
    int64_t match_distance;    /* default radius */
    int64_t max_distance;      /* largest radius a request may ask */
    int64_t max_distance_lookup; /* ... with a lookup token */
    int64_t max_lookup_cost;   /* search cost units of one request */
    int64_t max_decode_pixels; /* pixels decoded at once, all workers; 0 = 2 x max_pixels */
    int64_t decode_threads;    /* threads decoding large images (restart) */
    int64_t decode_queue;      /* large images waiting for them (restart) */
    int64_t min_quality;       /* images below are not matched */
    int accept_recovered;      /* hash partly-decodable JPEGs */
    int mode;                  /* phm_mode */
    int simd;                  /* phm_simd */
    int log_level;             /* LOG_* */
} svc_config;

/* Longest list of setting names config_restart_only_diff() writes. */
#define CONFIG_NAMES_MAX 512

/* Sets every setting to its default. Returns 0, or -1 out of memory. */
int config_defaults(svc_config *c);

/* Sets setting `name` (underscores or dashes) from text. Returns 0, or -1
 * with "unknown setting 'x'" / "invalid value 'v' for x: reason" in err. */
int config_set(svc_config *c, const char *name, const char *value, char *err,
               size_t errlen);

/* Whether `name` is a setting, and whether it is boolean (a flag that
 * may stand alone on the command line). */
int config_known(const char *name, int *is_bool);

/* Reads "name = value" lines ('#' comments, blank lines) from `path` into
 * c. Returns 0, or -1 with "'path' line N: ..." in err. */
int config_load_file(svc_config *c, const char *path, char *err, size_t errlen);

/* Checks the settings together (a listener, TLS pairs, distances, a
 * TCP listener needs tokens). Returns 0 or -1 with err. */
int config_validate(const svc_config *c, char *err, size_t errlen);

/* Whether the TCP listener serves plain HTTP on an address that is not
 * loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): refused by
 * config_validate() unless allow_cleartext, warned about when allowed. */
int config_cleartext_exposed(const svc_config *c);

/* Deep copy; 0 or -1 (out of memory, dst left empty). */
int config_copy(svc_config *dst, const svc_config *src);

void config_free(svc_config *c);

/* Settings that differ between a and b and need a restart to change:
 * comma-separated names in `out` (empty if none). Returns how many. */
int config_restart_only_diff(const svc_config *a, const svc_config *b,
                             char *out, size_t outlen);

/* The help text of every setting, for --help. */
void config_print_help(FILE *fp);

/* "name = value" for every setting, for --check-config. */
void config_print(FILE *fp, const svc_config *c);

/* Parses "host:port" (IPv4, [IPv6] or localhost; port 0..65535) as
 * config_validate does. Returns 0 or -1. `host` gets the address text. */
int config_parse_listen(const char *s, char *host, size_t hostlen, int *port);

/* Name of a LOG_* level. */
const char *config_log_level_name(int level);

#endif /* SVC_CONFIG_H */
