/* config.c - the table of phmatchd's settings, and reading them from a
 * file and from text values (see config.h). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "phmatch.h"

typedef enum {
    T_STR,   /* text (paths, addresses) */
    T_BOOL,  /* yes/no, true/false, on/off, 1/0 */
    T_INT,   /* decimal integer in [min, max] */
    T_SIZE,  /* bytes, as phm_size_parse: K, M, G, T powers of 1000, KiB, MiB... of 1024 */
    T_SECS,  /* whole seconds, as phm_duration_parse: plain seconds, or ms, s, m, h */
    T_OCTAL, /* permission bits */
    T_ENUM,  /* one of `choices`; stored as its index */
} setting_type;

enum { RESTART = 1u << 0 }; /* needs a restart: SIGHUP keeps the old value */

typedef struct setting {
    const char *name;
    setting_type type;
    size_t offset;
    int64_t min, max;
    const char *const *choices; /* T_ENUM, NULL-terminated */
    const char *def;
    unsigned flags;
    const char *help;
} setting;

static const char *const unix_auth_names[] = { "optional", "required", NULL };
static const char *const mode_names[] = { "full", "cli512", NULL };
static const char *const simd_names[] = { "auto", "portable", "avx2", "avx512", NULL };
static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };

#define OFF(f) offsetof(svc_config, f)
#define GiB (INT64_C(1) << 30)

static const setting settings[] = {
    { "index", T_STR, OFF(index), 0, 0, NULL, "", RESTART,
      "index file to match against (empty: hashing only)" },
    { "index_create", T_BOOL, OFF(index_create), 0, 1, NULL, "no", RESTART,
      "create the index file if it does not exist" },
    { "read_only", T_BOOL, OFF(read_only), 0, 1, NULL, "no", RESTART,
      "serve the index read-only without a lock file (a replica's snapshot: never "
      "written in place); writes answer 403; SIGHUP or a file renamed over it swaps it" },
    { "index_hot_copy", T_BOOL, OFF(index_hot_copy), 0, 1, NULL, "no", RESTART,
      "search a copy of the index's search arrays in huge pages (~101 bytes a hash of "
      "memory; faster on indexes of tens of millions of hashes; made at start and at "
      "each rebuild)" },
    { "socket", T_STR, OFF(socket), 0, 0, NULL, "/run/phmatch/phmatchd.sock", RESTART,
      "Unix socket to listen on (empty: none)" },
    { "socket_mode", T_OCTAL, OFF(socket_mode), 0, 0777, NULL, "0660", RESTART,
      "permission bits of the Unix socket" },
    { "listen", T_STR, OFF(listen), 0, 0, NULL, "", RESTART,
      "TCP address HOST:PORT to listen on, e.g. 127.0.0.1:8731 (empty: none)" },
    { "tls_cert", T_STR, OFF(tls_cert), 0, 0, NULL, "", RESTART,
      "PEM certificate chain: serve TLS on the TCP listener" },
    { "tls_key", T_STR, OFF(tls_key), 0, 0, NULL, "", RESTART,
      "PEM private key (unencrypted) of tls_cert" },
    { "allow_cleartext", T_BOOL, OFF(allow_cleartext), 0, 1, NULL, "no", RESTART,
      "serve plain HTTP on a TCP address that is not loopback (else refused without TLS)" },
    { "tokens", T_STR, OFF(tokens), 0, 0, NULL, "", 0,
      "bearer token file, mode 0600: lines 'NAME ROLE TOKEN', ROLE lookup or admin" },
    { "unix_auth", T_ENUM, OFF(unix_auth), 0, 0, unix_auth_names, "optional", 0,
      "tokens on the Unix socket: optional (no token = admin) or required" },
    { "audit_log", T_STR, OFF(audit_log), 0, 0, NULL, "", 0,
      "JSON Lines audit log of matches, mode 0600 (empty: none)" },
    { "audit_query_hash", T_BOOL, OFF(audit_query_hash), 0, 1, NULL, "no", 0,
      "audit records include the query's PDQ hash" },
    { "threads", T_INT, OFF(threads), 0, 256, NULL, "0", RESTART,
      "request threads per listener (0: one per core)" },
    { "max_connections", T_INT, OFF(max_connections), 1, 65536, NULL, "1024", RESTART,
      "open connections per listener; more are closed at once" },
    { "max_pending", T_INT, OFF(max_pending), 1, 1000000, NULL, "256", 0,
      "requests in progress at once; more are answered 503" },
    { "max_body", T_SIZE, OFF(max_body), 1024, 4 * GiB, NULL, "32MiB", 0,
      "largest request body; larger are answered 413" },
    { "max_body_memory", T_SIZE, OFF(max_body_memory), 1024, 256 * GiB, NULL, "512MiB", 0,
      "memory for request bodies at once; beyond it requests are answered 503" },
    { "max_pixels", T_INT, OFF(max_pixels), 25, INT64_C(10000000000), NULL, "100000000",
      RESTART, "largest image in pixels (checked from the header, before decoding)" },
    { "max_duration", T_INT, OFF(max_duration), 1, 86400, NULL, "600", 0,
      "seconds of a video body decoded by /v1/match; a longer one is answered 422" },
    { "max_frames", T_INT, OFF(max_frames), 1, INT64_C(100000000), NULL, "100000", 0,
      "frames of a video body decoded by /v1/match; a longer one is answered 422" },
    { "max_batch", T_INT, OFF(max_batch), 1, 100000, NULL, "1000", 0,
      "hashes in one /v1/lookup, entries in one index add" },
    { "max_matches", T_INT, OFF(max_matches), 1, 100000, NULL, "100", 0,
      "matches reported per query hash (nearest first)" },
    { "connection_timeout", T_SECS, OFF(connection_timeout), 1, 86400, NULL, "30", RESTART,
      "seconds a connection may make no progress before it is closed" },
    /* Limits per client (issue 12): kept together. */
    { "max_connections_per_client", T_INT, OFF(max_connections_per_client), 1, 65536, NULL,
      "64", 0, "open TCP connections per client address (IPv6: per /64); more are closed "
      "at once" },
    { "max_body_memory_per_client", T_SIZE, OFF(max_body_memory_per_client), 1024,
      256 * GiB, NULL, "64MiB", 0,
      "request body memory of one TCP client address at once; beyond it: 503" },
    { "header_timeout", T_SECS, OFF(header_timeout), 1, 86400, NULL, "10", 0,
      "seconds a connection may take to send a request's headers (idle keep-alive "
      "included)" },
    { "request_timeout", T_SECS, OFF(request_timeout), 1, 86400, NULL, "120", 0,
      "seconds to receive a whole request and send its answer (not counting processing)" },
    { "shutdown_timeout", T_SECS, OFF(shutdown_timeout), 0, 3600, NULL, "30", 0,
      "seconds to let requests in flight finish after SIGTERM" },
    { "retry_after", T_SECS, OFF(retry_after), 1, 3600, NULL, "1", RESTART,
      "Retry-After seconds in overload answers" },
    { "match_distance", T_INT, OFF(match_distance), 0, PHM_INDEX_MAX_RADIUS, NULL, "31", 0,
      "Hamming distance of a match when a request does not say" },
    { "max_distance", T_INT, OFF(max_distance), 0, PHM_INDEX_MAX_RADIUS, NULL, "64", 0,
      "largest distance a request may ask for (an admin token's, or the Unix socket's)" },
    { "max_distance_lookup", T_INT, OFF(max_distance_lookup), 0, PHM_INDEX_MAX_RADIUS, NULL,
      "40", 0, "largest distance a request with a lookup token may ask for" },
    { "max_lookup_cost", T_INT, OFF(max_lookup_cost), 1, INT64_C(1000000000000), NULL,
      "16000", 0, "search cost of one request: hashes x 2^((distance - 31) / 4) (1 at "
      "31 or less, at most 128 a hash); more is answered 413" },
    { "max_decode_pixels", T_INT, OFF(max_decode_pixels), 0, INT64_C(100000000000), NULL,
      "0", 0, "pixels of the images being decoded at once, all requests (0: twice "
      "max_pixels); more is answered 503" },
    { "decode_threads", T_INT, OFF(decode_threads), 1, 64, NULL, "1", RESTART,
      "threads that decode images above ~5.6 MP and videos, apart from the request threads" },
    { "decode_queue", T_INT, OFF(decode_queue), 0, 4096, NULL, "8", RESTART,
      "large images and videos waiting for a decode thread; more are answered 503" },
    { "min_quality", T_INT, OFF(min_quality), 0, 100, NULL, "50", 0,
      "images whose PDQ quality is below this are hashed but not matched" },
    { "accept_recovered", T_BOOL, OFF(accept_recovered), 0, 1, NULL, "no", 0,
      "hash JPEGs the decoder could only partly recover (else 422)" },
    { "mode", T_ENUM, OFF(mode), 0, 0, mode_names, "full", 0,
      "PDQ mode: full (full resolution, as the reference library) or cli512" },
    { "simd", T_ENUM, OFF(simd), 0, 0, simd_names, "auto", RESTART,
      "instruction set: auto, portable, avx2, avx512 (identical results)" },
    { "log_level", T_ENUM, OFF(log_level), 0, 0, level_names, "info", 0,
      "stderr log level: error, warn, info, debug (debug: one line a request)" },
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

static char **str_field(svc_config *c, const setting *s)
{
    return (char **)(void *)((char *)c + s->offset);
}
static char *const *cstr_field(const svc_config *c, const setting *s)
{
    return (char *const *)(const void *)((const char *)c + s->offset);
}
static int64_t *int_field(svc_config *c, const setting *s)
{
    return (int64_t *)(void *)((char *)c + s->offset);
}
static int64_t cint_field(const svc_config *c, const setting *s)
{
    return *(const int64_t *)(const void *)((const char *)c + s->offset);
}
static int *flag_field(svc_config *c, const setting *s)
{
    return (int *)(void *)((char *)c + s->offset);
}
static int cflag_field(const svc_config *c, const setting *s)
{
    return *(const int *)(const void *)((const char *)c + s->offset);
}

/* "max-body" and "max_body" name the same setting. */
static const setting *find_setting(const char *name)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *a = settings[i].name, *b = name;
        while (*a && (*a == *b || (*a == '_' && *b == '-'))) {
            a++;
            b++;
        }
        if (!*a && !*b)
            return &settings[i];
    }
    return NULL;
}

int config_known(const char *name, int *is_bool)
{
    const setting *s = find_setting(name);
    if (is_bool)
        *is_bool = s && s->type == T_BOOL;
    return s != NULL;
}

static int parse_int(const char *v, int base, int64_t *out)
{
    char *end;
    if (!*v || *v == '+' || *v == ' ')
        return -1;
    errno = 0;
    long long x = strtoll(v, &end, base);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}

static int parse_size(const char *v, int64_t *out)
{
    uint64_t x;
    if (phm_size_parse(v, &x) != PHM_OK || x > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)x;
    return 0;
}

/* A duration in whole seconds ("90", "1.5m", "2h"; not "1500ms"). */
static int parse_secs(const char *v, int64_t *out)
{
    uint64_t ns;
    if (phm_duration_parse(v, &ns) != PHM_OK || ns % 1000000000u)
        return -1;
    *out = (int64_t)(ns / 1000000000u);
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = { "1", "yes", "true", "on" };
    static const char *const no[] = { "0", "no", "false", "off" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int set_one(svc_config *c, const setting *s, const char *v, char *err,
                   size_t errlen)
{
    int64_t x = 0;
    int b;

    switch (s->type) {
    case T_STR: {
        if (strlen(v) > 4096 || strpbrk(v, "\n\r")) {
            snprintf(err, errlen, "invalid value for %s: too long or several lines",
                     s->name);
            return -1;
        }
        char *copy = strdup(v);
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(*str_field(c, s));
        *str_field(c, s) = copy;
        return 0;
    }
    case T_BOOL:
        if (parse_bool(v, &b)) {
            snprintf(err, errlen, "invalid value '%.64s' for %s: expected yes or no", v,
                     s->name);
            return -1;
        }
        *flag_field(c, s) = b;
        return 0;
    case T_ENUM:
        for (int i = 0; s->choices[i]; i++) {
            if (strcasecmp(v, s->choices[i]) == 0) {
                *flag_field(c, s) = i;
                return 0;
            }
        }
        snprintf(err, errlen, "invalid value '%.64s' for %s: expected", v, s->name);
        for (int i = 0; s->choices[i]; i++) {
            size_t n = strlen(err);
            snprintf(err + n, errlen > n ? errlen - n : 0, "%s %s",
                     i == 0 ? "" : (s->choices[i + 1] ? "," : " or"), s->choices[i]);
        }
        return -1;
    case T_INT:
    case T_OCTAL:
    case T_SIZE:
    case T_SECS:
        if ((s->type == T_SIZE   ? parse_size(v, &x)
             : s->type == T_SECS ? parse_secs(v, &x)
                                 : parse_int(v, s->type == T_OCTAL ? 8 : 10, &x)) ||
            x < s->min || x > s->max) {
            if (s->type == T_OCTAL)
                snprintf(err, errlen, "invalid value '%.64s' for %s: expected octal "
                         "permission bits, at most 0777", v, s->name);
            else
                snprintf(err, errlen, "invalid value '%.64s' for %s: expected %s "
                         "%lld to %lld", v, s->name,
                         s->type == T_SIZE   ? "a size in bytes (K, M, G: powers of "
                                                 "1000; KiB, MiB, GiB: of 1024) from"
                         : s->type == T_SECS ? "whole seconds (or with a unit s, m, h) from"
                                             : "an integer from",
                         (long long)s->min, (long long)s->max);
            return -1;
        }
        *int_field(c, s) = x;
        return 0;
    }
    return -1;
}

int config_set(svc_config *c, const char *name, const char *value, char *err,
               size_t errlen)
{
    const setting *s = find_setting(name);
    if (!s) {
        snprintf(err, errlen, "unknown setting '%.64s'", name);
        return -1;
    }
    return set_one(c, s, value, err, errlen);
}

int config_defaults(svc_config *c)
{
    char err[256];
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (set_one(c, &settings[i], settings[i].def, err, sizeof err)) {
            config_free(c);
            return -1;
        }
    }
    return 0;
}

void config_free(svc_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].type == T_STR) {
            free(*str_field(c, &settings[i]));
            *str_field(c, &settings[i]) = NULL;
        }
    }
}

int config_copy(svc_config *dst, const svc_config *src)
{
    *dst = *src;
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].type == T_STR)
            *str_field(dst, &settings[i]) = NULL;
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].type != T_STR)
            continue;
        char *s = strdup(*cstr_field(src, &settings[i]));
        if (!s) {
            config_free(dst);
            return -1;
        }
        *str_field(dst, &settings[i]) = s;
    }
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Largest configuration file: a real one is a few KiB. */
#define CONFIG_FILE_MAX (1u << 20)

int config_load_file(svc_config *c, const char *path, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    char line[8192], msg[384];
    int lineno = 0, rc = -1;

    /* Read whole and bounded: only a regular file (never /dev/zero), at
     * most CONFIG_FILE_MAX bytes. */
    if (phm_file_read(path, 0, CONFIG_FILE_MAX, &buf, &cap, &len, msg, sizeof msg) !=
        PHM_OK) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    for (const char *q = (const char *)buf, *end = q + len; q < end;) {
        const char *eol = memchr(q, '\n', (size_t)(end - q));
        size_t n = (size_t)((eol ? eol : end) - q);
        lineno++;
        if (memchr(q, '\0', n)) {
            snprintf(err, errlen, "'%s' line %d: holds a NUL byte", path, lineno);
            goto out;
        }
        if (n >= sizeof line) {
            snprintf(err, errlen, "'%s' line %d: line too long", path, lineno);
            goto out;
        }
        memcpy(line, q, n);
        line[n] = '\0';
        q += n + (eol != NULL);
        char *p = trim(line);
        if (!*p || *p == '#')
            continue;
        size_t klen = strcspn(p, " \t=");
        char *v = p + klen;
        int had_eq = 0;
        while (*v == ' ' || *v == '\t' || (*v == '=' && !had_eq)) {
            if (*v == '=')
                had_eq = 1;
            v++;
        }
        p[klen] = '\0';
        v = trim(v);
        if (!*v && !had_eq) {
            snprintf(err, errlen, "'%s' line %d: expected 'name = value'", path, lineno);
            goto out;
        }
        if (config_set(c, p, v, msg, sizeof msg)) {
            snprintf(err, errlen, "'%s' line %d: %s", path, lineno, msg);
            goto out;
        }
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

int config_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    size_t hl;
    const char *h = s;

    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    int64_t p;
    if (parse_int(colon + 1, 10, &p) || p < 0 || p > 65535)
        return -1;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hostlen, "127.0.0.1");
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
        return -1;
    *port = (int)p;
    return 0;
}

int config_cleartext_exposed(const svc_config *c)
{
    char host[64];
    int port;
    unsigned char a[16];

    if (!*c->listen || *c->tls_cert)
        return 0;
    if (config_parse_listen(c->listen, host, sizeof host, &port))
        return 1;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] != 127;
    if (inet_pton(AF_INET6, host, a) != 1)
        return 1;
    static const unsigned char loop6[16] = { [15] = 1 };
    static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
    if (memcmp(a, loop6, 16) == 0)
        return 0;
    return !(memcmp(a, mapped, 12) == 0 && a[12] == 127); /* ::ffff:127.x.y.z */
}

int config_validate(const svc_config *c, char *err, size_t errlen)
{
    char host[64];
    int port;

    if (!*c->socket && !*c->listen) {
        snprintf(err, errlen, "nothing to listen on: set socket or listen");
        return -1;
    }
    if (c->read_only && (!*c->index || c->index_create)) {
        snprintf(err, errlen, "read_only needs an index%s", c->index_create ?
                 " and excludes index_create" : "");
        return -1;
    }
    if (*c->listen) {
        if (config_parse_listen(c->listen, host, sizeof host, &port)) {
            snprintf(err, errlen, "invalid listen address '%.128s': expected "
                     "HOST:PORT with a numeric IPv4 address, [IPv6] or localhost",
                     c->listen);
            return -1;
        }
        /* Every TCP request is authenticated, loopback included: any
         * local user can reach a loopback port, unlike the Unix socket,
         * whose permissions keep them out. */
        if (!*c->tokens) {
            snprintf(err, errlen, "listening on TCP (%s) needs tokens: every TCP request "
                     "is authenticated; set tokens to a token file, or serve only the "
                     "Unix socket", c->listen);
            return -1;
        }
    }
    if (!*c->tls_cert && !c->allow_cleartext && config_cleartext_exposed(c)) {
        snprintf(err, errlen, "refusing to listen on %.128s without TLS: it is not a "
                 "loopback address, so tokens and images would cross the network in "
                 "the clear; set tls_cert and tls_key, listen on 127.0.0.1 or [::1], or "
                 "set allow_cleartext (--allow-cleartext) if something else encrypts "
                 "the traffic", c->listen);
        return -1;
    }
    if (!*c->tls_cert != !*c->tls_key) {
        snprintf(err, errlen, "tls_cert and tls_key go together: set both or neither");
        return -1;
    }
    if (*c->tls_cert && !*c->listen) {
        snprintf(err, errlen, "TLS is served on the TCP listener: set listen too");
        return -1;
    }
    if (c->match_distance > c->max_distance) {
        snprintf(err, errlen, "match_distance (%lld) is above max_distance (%lld)",
                 (long long)c->match_distance, (long long)c->max_distance);
        return -1;
    }
    if (c->match_distance > c->max_distance_lookup) {
        snprintf(err, errlen, "match_distance (%lld) is above max_distance_lookup (%lld): "
                 "lookup tokens could not use the default distance",
                 (long long)c->match_distance, (long long)c->max_distance_lookup);
        return -1;
    }
    if (c->max_decode_pixels && c->max_decode_pixels < c->max_pixels) {
        snprintf(err, errlen, "max_decode_pixels (%lld) is below max_pixels (%lld): the "
                 "largest image allowed could never be decoded",
                 (long long)c->max_decode_pixels, (long long)c->max_pixels);
        return -1;
    }
    if (c->unix_auth == UNIX_AUTH_REQUIRED && !*c->tokens && *c->socket) {
        snprintf(err, errlen, "unix_auth is required but no tokens file is set");
        return -1;
    }
    if (c->max_body > c->max_body_memory) {
        snprintf(err, errlen, "max_body is above max_body_memory");
        return -1;
    }
    if (c->max_body > c->max_body_memory_per_client) {
        snprintf(err, errlen, "max_body is above max_body_memory_per_client");
        return -1;
    }
    return 0;
}

static int differs(const svc_config *a, const svc_config *b, const setting *s)
{
    switch (s->type) {
    case T_STR:
        return strcmp(*cstr_field(a, s), *cstr_field(b, s)) != 0;
    case T_BOOL:
    case T_ENUM:
        return cflag_field(a, s) != cflag_field(b, s);
    default:
        return cint_field(a, s) != cint_field(b, s);
    }
}

int config_restart_only_diff(const svc_config *a, const svc_config *b, char *out,
                             size_t outlen)
{
    int n = 0;
    size_t used = 0;
    if (outlen)
        out[0] = '\0';
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (!(settings[i].flags & RESTART) || !differs(a, b, &settings[i]))
            continue;
        int w = snprintf(out + used, outlen > used ? outlen - used : 0, "%s%s",
                         n ? ", " : "", settings[i].name);
        if (w > 0)
            used += (size_t)w;
        n++;
    }
    return n;
}

static void format_value(const svc_config *c, const setting *s, char *buf, size_t len)
{
    switch (s->type) {
    case T_STR:
        snprintf(buf, len, "%s", *cstr_field(c, s));
        break;
    case T_BOOL:
        snprintf(buf, len, "%s", cflag_field(c, s) ? "yes" : "no");
        break;
    case T_ENUM:
        snprintf(buf, len, "%s", s->choices[cflag_field(c, s)]);
        break;
    case T_OCTAL:
        snprintf(buf, len, "0%llo", (unsigned long long)cint_field(c, s));
        break;
    default:
        snprintf(buf, len, "%lld", (long long)cint_field(c, s));
        break;
    }
}

void config_print(FILE *fp, const svc_config *c)
{
    char v[4200];
    for (size_t i = 0; i < NSETTINGS; i++) {
        format_value(c, &settings[i], v, sizeof v);
        fprintf(fp, "%s = %s\n", settings[i].name, v);
    }
}

void config_print_help(FILE *fp)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        char flag[64];
        size_t j;
        for (j = 0; j < sizeof flag - 1 && s->name[j]; j++)
            flag[j] = s->name[j] == '_' ? '-' : s->name[j];
        flag[j] = '\0';
        fprintf(fp, "  --%-20s %s\n", flag, s->help);
        fprintf(fp, "  %-22s (default: %s%s)\n", "",
                *s->def ? s->def : "none",
                s->flags & RESTART ? "; restart to change" : "");
    }
}

const char *config_log_level_name(int level)
{
    return level >= 0 && level <= LOG_DEBUG ? level_names[level] : "info";
}
