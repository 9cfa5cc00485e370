/*
 * main.c - phmatchd: command line, configuration, signals and lifecycle.
 *
 *   start:    settings (defaults < file < flags), tokens, index, audit log,
 *             listening sockets, then libmicrohttpd's threads;
 *   running:  the main thread only waits for signals: SIGHUP reloads the
 *             settings and tokens, and every 200 ms connections that are
 *             too slow to send a request are closed (request_timeout);
 *   SIGTERM/SIGINT: stop accepting, let requests in flight finish (up to
 *             shutdown_timeout), close the index, exit 0. A second signal
 *             exits at once (status 1). SIGPIPE and SIGXFSZ are ignored.
 *
 * Signal handlers only set flags (Redis's discipline); the flags are the
 * only mutable state outside the server object main() owns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "server.h"

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_hup;

static void on_stop(int sig)
{
    if (got_stop) {
        static const char msg[] = "phmatchd: second signal: exiting now\n";
        ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)r;
        _exit(1);
    }
    got_stop = sig;
}

static void on_hup(int sig)
{
    (void)sig;
    got_hup = 1;
}

/* ---- command line ----------------------------------------------------- */

typedef struct cmdline {
    const char *config;   /* -c FILE */
    int check;            /* -n */
    size_t nflags;
    const char **names, **values; /* --name value, in order */
} cmdline;

static void usage(FILE *fp)
{
    fputs("usage: phmatchd [-c FILE] [-n] [--SETTING VALUE ...]\n"
          "       phmatchd --version | --help\n"
          "\n"
          "The phmatch service: PDQ hashing and matching of images against a known-\n"
          "material index over HTTP/JSON, on a Unix socket and/or TCP.\n"
          "\n"
          "  -c, --config FILE   read settings from FILE ('name = value' lines)\n"
          "  -n, --check-config  check the settings and token file, print them, exit\n"
          "  -h, --help          this help\n"
          "  -V, --version       versions of phmatchd and its libraries\n"
          "\n"
          "Settings (in FILE as name = value; flags override the file):\n",
          fp);
    config_print_help(fp);
    fputs("\nSignals: SIGHUP reloads settings and tokens; SIGTERM/SIGINT drain and "
          "stop.\nSee man phmatchd and docs/SERVICE.md.\n", fp);
}

static int parse_cmdline(int argc, char **argv, cmdline *cl)
{
    memset(cl, 0, sizeof *cl);
    cl->names = calloc((size_t)argc + 1, sizeof *cl->names);
    cl->values = calloc((size_t)argc + 1, sizeof *cl->values);
    if (!cl->names || !cl->values) {
        fprintf(stderr, "phmatchd: out of memory\n");
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "phmatchd: option '%s' needs a value\n", a);
                return -1;
            }
            cl->config = argv[++i];
        } else if (!strncmp(a, "--config=", 9)) {
            cl->config = a + 9;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--check-config")) {
            cl->check = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            char dec[256];
            phm_decoder_versions(dec, sizeof dec);
            printf("phmatchd %s\nlibmicrohttpd %s%s\njansson %s\ndecoders: %s\n"
                   "simd: %s\n", phm_version(), MHD_get_version(),
                   MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES ? " (TLS)" : "",
                   JANSSON_VERSION, dec, phm_simd_name(phm_simd_detect()));
            exit(0);
        } else if (!strncmp(a, "--", 2) && a[2]) {
            char name[64];
            const char *eq = strchr(a, '=');
            size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            int is_bool;
            if (n >= sizeof name) {
                fprintf(stderr, "phmatchd: unknown option '%s'\n", a);
                return -1;
            }
            memcpy(name, a + 2, n);
            name[n] = '\0';
            if (!config_known(name, &is_bool)) {
                fprintf(stderr, "phmatchd: unknown option '--%s'; see phmatchd --help\n",
                        name);
                return -1;
            }
            cl->names[cl->nflags] = a + 2;
            if (eq) {
                cl->values[cl->nflags] = eq + 1;
            } else if (is_bool) {
                cl->values[cl->nflags] = "yes";
            } else if (i + 1 < argc) {
                cl->values[cl->nflags] = argv[++i];
            } else {
                fprintf(stderr, "phmatchd: option '%s' needs a value\n", a);
                return -1;
            }
            cl->nflags++;
        } else {
            fprintf(stderr, "phmatchd: unexpected argument '%s'; see phmatchd --help\n", a);
            return -1;
        }
    }
    return 0;
}

/* Defaults, then the file, then the flags; then checked together. */
static int load_settings(const cmdline *cl, svc_config *c, char *err, size_t errlen)
{
    char name[64], msg[384];
    if (config_defaults(c)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cl->config && config_load_file(c, cl->config, err, errlen))
        goto fail;
    for (size_t i = 0; i < cl->nflags; i++) {
        size_t n = strcspn(cl->names[i], "=");
        memcpy(name, cl->names[i], n);
        name[n] = '\0';
        if (config_set(c, name, cl->values[i], msg, sizeof msg)) {
            snprintf(err, errlen, "%s (option --%s)", msg, name);
            goto fail;
        }
    }
    if (c->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = n > 0 ? (n > 64 ? 64 : n) : 2;
    }
    if (config_validate(c, err, errlen))
        goto fail;
    return 0;
fail:
    config_free(c);
    return -1;
}

static char *read_small_file(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!fp) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 || n > (1 << 20) ||
        fseek(fp, 0, SEEK_SET) || !(buf = malloc((size_t)n + 1)) ||
        fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        snprintf(err, errlen, "cannot read '%s' (at most 1 MiB)", path);
        free(buf);
        fclose(fp);
        return NULL;
    }
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* ---- listening sockets ------------------------------------------------- */

static int bind_unix(const char *path, int mode, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd;

    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path '%s' is too long", path);
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "'%s' exists and is not a socket", path);
            return -1;
        }
        /* A live server answers; a stale socket file is replaced. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            close(fd);
            snprintf(err, errlen, "another server is listening on '%s'", path);
            return -1;
        }
        if (fd >= 0)
            close(fd);
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a Unix socket: %s", strerror(errno));
        return -1;
    }
    /* Created with the final permissions: no window with wider ones. */
    mode_t old = umask((mode_t)(0777 & ~mode));
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc || chmod(path, (mode_t)mode) || listen(fd, 511)) {
        snprintf(err, errlen, "cannot listen on '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int bind_tcp(const char *spec, char *bound, size_t boundlen, char *err,
                    size_t errlen)
{
    char host[64];
    int port, fd, one = 1;
    struct sockaddr_storage ss;
    socklen_t len;

    memset(&ss, 0, sizeof ss);
    config_parse_listen(spec, host, sizeof host, &port); /* validated already */
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        len = sizeof *s4;
    } else {
        inet_pton(AF_INET6, host, &s6->sin6_addr);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof *s6;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a TCP socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 511) ||
        getsockname(fd, (struct sockaddr *)&ss, &len)) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
        close(fd);
        return -1;
    }
    port = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
    snprintf(bound, boundlen, ss.ss_family == AF_INET ? "%s:%d" : "[%s]:%d", host, port);
    return fd;
}

/* ---- reload ------------------------------------------------------------ */

static svc_runtime *make_runtime(const svc_config *c, char *err, size_t errlen)
{
    svc_runtime *rt = calloc(1, sizeof *rt);
    if (!rt || config_copy(&rt->cfg, c)) {
        free(rt);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (*c->tokens && tokens_load(c->tokens, &rt->tokens, err, errlen)) {
        runtime_free(rt);
        return NULL;
    }
    return rt;
}

static void reload(svc_server *srv, const cmdline *cl, svc_runtime **pending)
{
    svc_config c;
    char err[PHM_ERRMSG_MAX], names[CONFIG_NAMES_MAX];

    if (load_settings(cl, &c, err, sizeof err)) {
        SVC_LOG(&srv->log, LOG_ERROR, "reload failed, keeping the settings in force: %s",
                err);
        return;
    }
    if (*srv->boot.listen && !*c.tokens) {
        /* The listener stays until a restart: it keeps needing tokens. */
        SVC_LOG(&srv->log, LOG_ERROR, "reload failed, keeping the settings in force: the "
                "TCP listener %s stays until a restart and needs tokens", srv->tcp_addr);
        config_free(&c);
        return;
    }
    svc_runtime *rt = make_runtime(&c, err, sizeof err);
    if (!rt) {
        SVC_LOG(&srv->log, LOG_ERROR, "reload failed, keeping the settings in force: %s",
                err);
        config_free(&c);
        return;
    }
    if (config_restart_only_diff(&srv->boot, &c, names, sizeof names))
        SVC_LOG(&srv->log, LOG_WARN, "reload: changes to %s take effect at the next "
                "restart", names);
    if (audit_open(&srv->audit, c.audit_log, err, sizeof err))
        SVC_LOG(&srv->log, LOG_ERROR, "reload: %s; the audit log stays as it was", err);
    log_set_level(&srv->log, c.log_level);
    config_free(&c);
    runtime_free(*pending);
    *pending = rt;
    metrics_add(&srv->metrics.reloads, 1);
    SVC_LOG(&srv->log, LOG_INFO, "reloaded settings and tokens (%zu token%s)",
            rt->tokens ? rt->tokens->count : 0,
            rt->tokens && rt->tokens->count == 1 ? "" : "s");
}

/* ---- read-only replicas: swapping the index file ------------------------ */

/* What main() knows of the index file it serves (read_only). */
typedef struct index_watch {
    int known;          /* dev/ino below are of the file last opened or tried */
    dev_t dev;
    ino_t ino;
    double next_check;  /* monotonic seconds: stat at most once a second */
    int stale;          /* a previous index is still open (in use) */
} index_watch;

#define REPLICA_FLAGS (PHM_INDEX_RDONLY | PHM_INDEX_NOLOCK)

/* Opens `path` with `flags` and loads its search structures (one search),
 * so that the first requests on it do not wait for them. */
static int open_warm(svc_server *srv, const char *path, unsigned flags, phm_index **out,
                     char *err, size_t errlen)
{
    phm_searcher *s = NULL;
    const phm_match *m;
    size_t n;
    phm_pdq q;
    if (srv->boot.index_hot_copy)
        flags |= PHM_INDEX_HOT_COPY; /* the copy is made by the search below */
    int rc = phm_index_open(out, path, flags, 0, (phm_simd)srv->boot.simd, err, errlen);
    if (rc)
        return rc;
    memset(&q, 0, sizeof q);
    rc = phm_searcher_new(*out, &s, err, errlen);
    if (!rc)
        rc = phm_search_radius(s, &q, 0, &m, &n, err, errlen);
    phm_searcher_free(s);
    if (rc) {
        phm_index_close(*out);
        *out = NULL;
    }
    return rc;
}

/* Opens the file now at the index path and makes it the one new requests
 * use; requests in progress finish on the old one, closed once unused
 * (see the main loop). On failure the old one stays. */
static void index_swap(svc_server *srv, index_watch *iw, const char *why)
{
    const char *path = srv->boot.index;
    char err[PHM_ERRMSG_MAX];
    struct stat st;
    phm_index *idx = NULL;
    phm_index_stats ist;

    if (stat(path, &st) != 0) {
        if (iw->known || strcmp(why, "SIGHUP") == 0)
            SVC_LOG(&srv->log, LOG_ERROR, "index swap (%s): cannot stat '%s': %s; "
                    "still serving the previous index", why, path, strerror(errno));
        iw->known = 0;
        return;
    }
    double t0 = now_seconds();
    int rc = open_warm(srv, path, REPLICA_FLAGS, &idx, err, sizeof err);
    if (!rc)
        rc = phm_index_get_stats(idx, &ist, err, sizeof err);
    if (rc) {
        phm_index_close(idx);
        metrics_add(&srv->metrics.index_swap_failures, 1);
        SVC_LOG(&srv->log, LOG_ERROR, "index swap (%s): %s; still serving the previous "
                "index", why, err);
        iw->known = 1; /* not again until the file changes */
        iw->dev = st.st_dev;
        iw->ino = st.st_ino;
        return;
    }
    if (index_publish(&srv->index, idx)) {
        phm_index_close(idx);
        SVC_LOG(&srv->log, LOG_WARN, "index swap (%s) postponed: the previous indexes "
                "are still in use", why);
        return; /* iw unchanged: tried again at the next check */
    }
    iw->known = 1;
    iw->dev = st.st_dev;
    iw->ino = st.st_ino;
    iw->stale = 1;
    metrics_add(&srv->metrics.index_swaps, 1);
    atomic_store_explicit(&srv->metrics.index_swapped_at, (uint64_t)time(NULL),
                          memory_order_relaxed);
    SVC_LOG(&srv->log, LOG_INFO, "index swapped (%s): %s: %llu entries, generation "
            "%llu, opened in %.3f s", why, path, (unsigned long long)ist.entries,
            (unsigned long long)ist.generation, now_seconds() - t0);
}

/* One tick of the main loop for a read-only server: swaps when the file
 * at the index path is another one, and closes old indexes once unused. */
static void index_watch_tick(svc_server *srv, index_watch *iw)
{
    double now = now_seconds();
    struct stat st;
    if (now >= iw->next_check) {
        iw->next_check = now + 1.0;
        if (stat(srv->boot.index, &st) == 0 &&
            (!iw->known || st.st_dev != iw->dev || st.st_ino != iw->ino))
            index_swap(srv, iw, iw->known ? "file replaced" : "file appeared");
    }
    if (iw->stale) {
        http_unbind_stale(srv);
        iw->stale = index_reap(&srv->index) > 0;
        if (!iw->stale)
            SVC_LOG(&srv->log, LOG_DEBUG, "closed the previous index");
    }
}

/* ---- main -------------------------------------------------------------- */

/* Unix and monotonic milliseconds of the same instant. */
static void clocks_ms(int64_t *mono, int64_t *wall)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *wall = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    *mono = (int64_t)(now_micros() / 1000u);
}

/* Writes the quarantine counts that changed to the index (primary only).
 * A failure is logged once until a write succeeds again (an index that
 * is full would otherwise log it every second). */
static void qflush_once(svc_server *srv)
{
    char err[PHM_ERRMSG_MAX];
    int64_t mono, wall;
    if (!srv->index.slot[0])
        return;
    clocks_ms(&mono, &wall);
    int failed = quarantine_flush(&srv->quarantine, srv->index.slot[0], mono, wall, err,
                                  sizeof err) != PHM_OK;
    if (failed && !srv->qflush_failing)
        SVC_LOG(&srv->log, LOG_ERROR, "cannot keep the quarantine counts: %s (retried "
                "each second)", err);
    else if (!failed && srv->qflush_failing)
        SVC_LOG(&srv->log, LOG_INFO, "quarantine counts kept again");
    srv->qflush_failing = failed;
}

/* The flusher thread: the changed counts each second, until stopped. */
static void *qflush_main(void *arg)
{
    svc_server *srv = arg;
    while (!atomic_load(&srv->qflush_stop)) {
        for (int i = 0; i < 10 && !atomic_load(&srv->qflush_stop); i++) {
            struct timespec ts = { 0, 100 * 1000000L };
            nanosleep(&ts, NULL);
        }
        qflush_once(srv);
    }
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL); /* a signal ends it early */
}

int main(int argc, char **argv)
{
    cmdline cl;
    svc_server srv;
    svc_runtime *rt = NULL, *pending = NULL;
    char err[PHM_ERRMSG_MAX];
    int status = 1, unix_bound = 0;
    sigset_t block, oldmask;
    index_watch iw = { 0, 0, 0, 0.0, 0 };

#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /* Every request allocates and frees its body (0.1-4 MB for a photo).
     * With glibc's defaults the freed block goes back to the kernel
     * (madvise, a TLB flush on every core) and the next request faults
     * it in again: 5-8 % of phmatchd's CPU per 0.3 MP match, measured.
     * Blocks up to 4 MiB stay in the heap, and a heap keeps up to 16 MiB
     * free before it is trimmed; max_body_memory still bounds the peak. */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif
    server_init(&srv, LOG_INFO);

    if (parse_cmdline(argc, argv, &cl)) {
        free(cl.names);
        free(cl.values);
        return 2;
    }
    if (load_settings(&cl, &srv.boot, err, sizeof err)) {
        fprintf(stderr, "phmatchd: %s\n", err);
        status = 2;
        goto out_args;
    }
    log_set_level(&srv.log, srv.boot.log_level);
    if (!(rt = make_runtime(&srv.boot, err, sizeof err))) {
        fprintf(stderr, "phmatchd: %s\n", err);
        goto out_cfg;
    }
    if (*srv.boot.tls_cert &&
        (!(srv.tls_cert_pem = read_small_file(srv.boot.tls_cert, err, sizeof err)) ||
         !(srv.tls_key_pem = read_small_file(srv.boot.tls_key, err, sizeof err)))) {
        fprintf(stderr, "phmatchd: TLS: %s\n", err);
        goto out_rt;
    }
    if (*srv.boot.tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        fprintf(stderr, "phmatchd: this libmicrohttpd was built without TLS\n");
        goto out_rt;
    }
    if (cl.check) {
        struct stat st;
        if (*srv.boot.index && !srv.boot.index_create && stat(srv.boot.index, &st)) {
            fprintf(stderr, "phmatchd: index '%s': %s\n", srv.boot.index, strerror(errno));
            goto out_rt;
        }
        if (config_cleartext_exposed(&srv.boot))
            fprintf(stderr, "phmatchd: warning: %s serves plain HTTP (allow_cleartext): "
                    "tokens and images cross the network unencrypted\n", srv.boot.listen);
        if (audit_check(srv.boot.audit_log, err, sizeof err)) {
            fprintf(stderr, "phmatchd: %s\n", err);
            goto out_rt;
        }
        config_print(stdout, &srv.boot);
        fprintf(stderr, "phmatchd: configuration OK (%zu token%s)\n",
                rt->tokens ? rt->tokens->count : 0,
                rt->tokens && rt->tokens->count == 1 ? "" : "s");
        status = 0;
        goto out_rt;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    /* A file size limit is a write error (EFBIG: the index's commit, the
     * audit log say so), not SIGXFSZ ending the service. */
    sigaction(SIGXFSZ, &sa, NULL);
    /* libmicrohttpd's threads inherit this mask: signals go to main. */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &oldmask);

    if (*srv.boot.index && srv.boot.read_only) {
        /* A replica may start before its first snapshot arrives: it is
         * not ready (/readyz) until the file appears. */
        struct stat st;
        phm_index *idx = NULL;
        if (stat(srv.boot.index, &st) == 0) {
            if (open_warm(&srv, srv.boot.index, REPLICA_FLAGS, &idx, err, sizeof err)) {
                fprintf(stderr, "phmatchd: %s\n", err);
                goto out_sig;
            }
            iw.known = 1;
            iw.dev = st.st_dev;
            iw.ino = st.st_ino;
        } else {
            SVC_LOG(&srv.log, LOG_WARN, "index '%s' does not exist yet: not ready until "
                    "it appears", srv.boot.index);
        }
        index_init(&srv.index, idx);
    } else if (*srv.boot.index) {
        unsigned flags = srv.boot.index_create ? PHM_INDEX_CREATE : 0;
        phm_index *idx = NULL;
        if (open_warm(&srv, srv.boot.index, flags, &idx, err, sizeof err)) {
            fprintf(stderr, "phmatchd: %s\n", err);
            goto out_sig;
        }
        index_init(&srv.index, idx);
        /* The quarantine counts of the last run continue (the primary
         * counts; replicas do not). */
        int64_t mono, wall;
        clocks_ms(&mono, &wall);
        if (quarantine_load(&srv.quarantine, idx, mono, wall, err, sizeof err) != PHM_OK)
            SVC_LOG(&srv.log, LOG_WARN, "quarantine counts start afresh: %s", err);
        atomic_store(&srv.qflush_stop, 0);
        srv.qflush_on = pthread_create(&srv.qflush, NULL, qflush_main, &srv) == 0;
    }
    if (audit_open(&srv.audit, srv.boot.audit_log, err, sizeof err)) {
        fprintf(stderr, "phmatchd: %s\n", err);
        goto out_sig;
    }
    if (*srv.boot.socket &&
        (srv.unix_fd = bind_unix(srv.boot.socket, (int)srv.boot.socket_mode, err,
                                 sizeof err)) < 0) {
        fprintf(stderr, "phmatchd: %s\n", err);
        goto out_sig;
    }
    unix_bound = srv.unix_fd >= 0;
    if (config_cleartext_exposed(&srv.boot))
        SVC_LOG(&srv.log, LOG_WARN, "listen %s is not a loopback address and serves plain "
                "HTTP (allow_cleartext): tokens and images cross the network unencrypted",
                srv.boot.listen);
    if (*srv.boot.listen &&
        (srv.tcp_fd = bind_tcp(srv.boot.listen, srv.tcp_addr, sizeof srv.tcp_addr,
                               err, sizeof err)) < 0) {
        fprintf(stderr, "phmatchd: %s\n", err);
        goto out_sig;
    }
    size_t listeners = (size_t)(srv.unix_fd >= 0) + (size_t)(srv.tcp_fd >= 0);
    if (workers_init(&srv.workers, listeners * (size_t)srv.boot.threads, &srv.boot, err,
                     sizeof err)) {
        fprintf(stderr, "phmatchd: %s\n", err);
        goto out_sig;
    }
    live_init(&srv.live, rt);
    rt = NULL; /* owned by srv.live now */
    if (http_start(&srv, err, sizeof err)) {
        fprintf(stderr, "phmatchd: %s\n", err);
        goto out_http;
    }
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);

    if (*srv.boot.socket)
        SVC_LOG(&srv.log, LOG_INFO, "listening on unix %s (mode 0%llo)", srv.boot.socket,
                (unsigned long long)srv.boot.socket_mode);
    if (*srv.boot.listen)
        SVC_LOG(&srv.log, LOG_INFO, "listening on tcp %s%s", srv.tcp_addr,
                srv.tls_cert_pem ? " (TLS)" : "");
    if (srv.index.slot[0]) {
        phm_index_stats st;
        if (phm_index_get_stats(srv.index.slot[0], &st, err, sizeof err) == PHM_OK)
            SVC_LOG(&srv.log, LOG_INFO, "index %s: %llu entries, simd %s%s", srv.boot.index,
                    (unsigned long long)st.entries,
                    phm_simd_name(phm_index_simd(srv.index.slot[0])),
                    srv.boot.read_only ? ", read-only (swapped when replaced)" : "");
    } else if (!*srv.boot.index) {
        SVC_LOG(&srv.log, LOG_INFO, "no index: hashing only");
    }
    SVC_LOG(&srv.log, LOG_INFO, "ready: %lld thread%s per listener, pid %ld",
            (long long)srv.boot.threads, srv.boot.threads == 1 ? "" : "s",
            (long)getpid());

    while (!got_stop) {
        if (got_hup) {
            got_hup = 0;
            reload(&srv, &cl, &pending);
            if (srv.boot.read_only)
                index_swap(&srv, &iw, "SIGHUP");
        }
        if (srv.boot.read_only)
            index_watch_tick(&srv, &iw);
        {
            /* logged at once, not at the next request that reads it */
            phm_index *idx;
            int islot = index_acquire(&srv.index, &idx);
            if (idx)
                (void)index_check(&srv, idx, err, sizeof err);
            index_release(&srv.index, islot);
        }
        if (pending && live_publish(&srv.live, pending) == 0)
            pending = NULL;
        int slot;
        const svc_runtime *cur = live_acquire(&srv.live, &slot);
        double timeout = (double)cur->cfg.request_timeout;
        double htimeout = (double)cur->cfg.header_timeout;
        live_release(&srv.live, slot);
        int n = http_reap(&srv, timeout, htimeout);
        if (n)
            SVC_LOG(&srv.log, LOG_INFO, "closed %d connection%s slower than "
                    "header_timeout (%.0f s) or request_timeout (%.0f s)", n,
                    n == 1 ? "" : "s", htimeout, timeout);
        sleep_ms(200);
    }

    /* Graceful stop. */
    SVC_LOG(&srv.log, LOG_INFO, "%s: stopping; %lld request%s in progress",
            got_stop == SIGINT ? "SIGINT" : "SIGTERM", (long long)http_pending(&srv),
            http_pending(&srv) == 1 ? "" : "s");
    atomic_store(&srv.shutting_down, 1);
    http_quiesce(&srv);
    {
        double deadline = now_seconds() + (double)srv.boot.shutdown_timeout;
        while (http_pending(&srv) > 0 && now_seconds() < deadline) {
            http_reap(&srv, (double)srv.boot.request_timeout,
                      (double)srv.boot.header_timeout);
            sleep_ms(20);
        }
        if (http_pending(&srv) > 0)
            SVC_LOG(&srv.log, LOG_WARN, "shutdown_timeout: closing %lld request%s in "
                    "progress", (long long)http_pending(&srv),
                    http_pending(&srv) == 1 ? "" : "s");
    }
    status = 0;
out_http:
    http_stop(&srv);
out_sig:
    if (srv.qflush_on) { /* the last counts, after the last request */
        atomic_store(&srv.qflush_stop, 1);
        pthread_join(srv.qflush, NULL);
        srv.qflush_on = 0;
        qflush_once(&srv);
    }
    workers_free(&srv.workers);
    index_free(&srv.index);
    if (srv.unix_fd >= 0)
        close(srv.unix_fd);
    if (srv.tcp_fd >= 0)
        close(srv.tcp_fd);
    if (unix_bound)
        unlink(srv.boot.socket);
    if (status == 0)
        SVC_LOG(&srv.log, LOG_INFO, "stopped");
out_rt:
    runtime_free(rt);
    runtime_free(pending);
    live_free(&srv.live);
    audit_close(&srv.audit);
    quarantine_free(&srv.quarantine);
    free(srv.tls_cert_pem);
    if (srv.tls_key_pem) {
        OPENSSL_cleanse(srv.tls_key_pem, strlen(srv.tls_key_pem));
        free(srv.tls_key_pem);
    }
out_cfg:
    config_free(&srv.boot);
out_args:
    free(cl.names);
    free(cl.values);
    pthread_mutex_destroy(&srv.conns_lock);
    return status;
}
