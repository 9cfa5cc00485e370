/*
 * fuzz_handlers.c - libFuzzer target: phmatchd's HTTP request handling end
 * to end. A request (method, path, headers, body) parsed from the fuzzed
 * bytes is sent to a phmatchd server running in this process (src/daemon,
 * linked as build.sh links it: main.c's start-up is done here) and goes
 * through libmicrohttpd, routing, authentication, body gathering and the
 * handler, against a small index made at start. The connection is a Unix
 * socket or 127.0.0.1 TCP: libmicrohttpd has no way to take a request
 * without a socket.
 *
 * Input: byte 0 chooses the transport (bit 0: TCP, else the Unix socket)
 * and the credentials (bits 1-2: none, the admin token, the lookup token,
 * or only what the headers say); then "METHOD PATH\n", "Name: value\n"
 * header lines, an empty line and the body. The request is sent as
 * HTTP/1.1 with Connection: close and the body's Content-Length (fuzzed
 * Content-Length, Transfer-Encoding, Connection, Expect and, unless bits
 * 1-2 are 3, Authorization headers are left out: they would only make the
 * request wait for bytes that never come).
 *
 * Checks, beyond "no crash, leak or undefined behaviour in the server":
 *   - an answer always comes, with a status line of a known status;
 *   - a JSON answer (but to HEAD) parses; an error (4xx/5xx) in JSON is
 *     {"error": {"code": "...", "message": "..."}}, or on HMA's routes
 *     HMA's {"message": "..."} or (422) [{"type", "loc", "msg"}];
 *   - authorization holds: an endpoint that needs a role answers 401/403
 *     unless the credentials sent give that role (the Unix socket without
 *     a token is admin), and never 2xx over TCP without a known token.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "route.h"
#include "server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ADMIN_TOKEN "admin-token-0123456789abcdef"
#define LOOKUP_TOKEN "lookup-token-0123456789abcdef"
#define ANSWER_MAX (4u << 20)

static svc_server srv;
static char dir[256], sock_path[300], tok_path[300], idx_path[300];
static struct sockaddr_in tcp_addr;
static char *answer;

#include "check.h"

static void cleanup(void)
{
    http_stop(&srv);
    unlink(sock_path);
    unlink(tok_path);
    unlink(idx_path);
    char lock[320];
    snprintf(lock, sizeof lock, "%s-lock", idx_path);
    unlink(lock);
    rmdir(dir);
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_handlers: %s: %s\n", what, err);
    abort();
}

static int bind_socket(int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        die("socket", strerror(errno));
    if (family == AF_UNIX) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64))
            die(sock_path, strerror(errno));
    } else {
        socklen_t len = sizeof tcp_addr;
        tcp_addr.sin_family = AF_INET;
        tcp_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        tcp_addr.sin_port = 0;
        if (bind(fd, (struct sockaddr *)&tcp_addr, sizeof tcp_addr) || listen(fd, 64) ||
            getsockname(fd, (struct sockaddr *)&tcp_addr, &len))
            die("127.0.0.1", strerror(errno));
    }
    return fd;
}

/* Sends `req` and reads the whole answer into `answer`. Returns its length. */
static size_t exchange(int tcp, const char *req, size_t len)
{
    int fd, rc, tries = 0;
again:
    fd = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    if (tcp) {
        /* Closed with a reset, not a FIN: thousands of exchanges a second
         * would otherwise leave a TIME_WAIT socket each and use up the
         * ephemeral ports (connect then fails with EADDRNOTAVAIL after
         * ~28,000 inputs). */
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
        rc = connect(fd, (struct sockaddr *)&tcp_addr, sizeof tcp_addr);
    } else {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
        rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    }
    /* A loaded machine may run out of ephemeral ports or of listen backlog
     * for a moment (seen after ~35,000 fast exchanges): wait and retry, a
     * bounded number of times; the server is not at fault. EINTR: libFuzzer's
     * timeout timer (SIGALRM, every second) interrupted a connect that was
     * waiting for the backlog; a new socket starts over. */
    if (rc != 0 &&
        (errno == EADDRNOTAVAIL || errno == EAGAIN || errno == ECONNREFUSED || errno == EINTR) &&
        tries++ < 200) {
        close(fd);
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        goto again;
    }
    if (rc != 0)
        fprintf(stderr, "connect: %s\n", strerror(errno));
    CHECK(rc == 0);
    /* Write and read together: the server may answer (413, 401) before
     * it has read the whole body, and then close. */
    CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
    size_t sent = 0, got = 0;
    int writing = 1;
    for (;;) {
        struct pollfd p = { fd, (short)(POLLIN | (writing ? POLLOUT : 0)), 0 };
        int n = poll(&p, 1, 10000);
        if (n == 0) {
            fprintf(stderr, "fuzz_handlers: no answer in 10 s (%zu of %zu bytes sent, "
                    "%zu received)\n", sent, len, got);
            abort();
        }
        CHECK(n > 0 || errno == EINTR);
        if (writing && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
            if (w < 0 && errno != EAGAIN)
                writing = 0; /* the server closed early: read its answer */
            if (sent == len)
                writing = 0;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, answer + got, ANSWER_MAX - got, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN))
                break;
            if (r > 0)
                got += (size_t)r;
            CHECK(got < ANSWER_MAX);
        }
    }
    close(fd);
    answer[got] = '\0';
    return got;
}

static unsigned status_of(size_t n)
{
    unsigned s = 0;
    CHECK(n >= 12 && memcmp(answer, "HTTP/1.", 7) == 0);
    for (int i = 9; i < 12; i++) {
        CHECK(answer[i] >= '0' && answer[i] <= '9');
        s = s * 10 + (unsigned)(answer[i] - '0');
    }
    return s;
}

/* The value of header `name` in the answer (its head), or NULL. */
static const char *header_of(const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *end = strstr(answer, "\r\n\r\n");
    for (const char *p = strstr(answer, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *v = p + 3 + nl;
            while (*v == ' ')
                v++;
            *vlen = strcspn(v, "\r");
            return v;
        }
    }
    return NULL;
}

static void start_server(void)
{
    char err[PHM_ERRMSG_MAX];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/fuzz_handlers.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        die(dir, strerror(errno));
    snprintf(sock_path, sizeof sock_path, "%s/s", dir);
    snprintf(tok_path, sizeof tok_path, "%s/tokens", dir);
    snprintf(idx_path, sizeof idx_path, "%s/index.phmi", dir);
    FILE *fp = fopen(tok_path, "w");
    if (!fp || fprintf(fp, "ops admin %s\nscanner lookup %s\n", ADMIN_TOKEN,
                       LOOKUP_TOKEN) < 0 || fclose(fp))
        die(tok_path, "cannot write");
    chmod(tok_path, 0600);

    /* As main() starts phmatchd. */
    server_init(&srv, LOG_ERROR);
    svc_config *c = &srv.boot;
    static const char *const settings[][2] = {
        { "socket", NULL }, { "listen", "127.0.0.1:0" }, { "tokens", NULL },
        { "index", NULL }, { "index_create", "yes" }, { "threads", "1" },
        { "max_body", "1MiB" }, { "max_batch", "16" }, { "max_matches", "8" },
        { "max_pixels", "1000000" }, { "max_duration", "2" }, { "max_frames", "20" },
        { "connection_timeout", "10" }, { "log_level", "error" },
    };
    if (config_defaults(c))
        die("settings", "out of memory");
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const char *v = settings[i][1];
        if (!v)
            v = i == 0 ? sock_path : i == 2 ? tok_path : idx_path;
        if (config_set(c, settings[i][0], v, err, sizeof err))
            die(settings[i][0], err);
    }
    if (config_validate(c, err, sizeof err))
        die("settings", err);
    svc_runtime *rt = calloc(1, sizeof *rt);
    if (!rt || config_copy(&rt->cfg, c) || tokens_load(tok_path, &rt->tokens, err,
                                                       sizeof err))
        die("tokens", err);
    phm_index *idx = NULL;
    /* a map of 1 GiB, not the default 1 TiB: the index stays small, and
     * valgrind (tests/fuzz/valgrind.sh) cannot reserve a terabyte */
    if (phm_index_open(&idx, idx_path, PHM_INDEX_CREATE, (size_t)1 << 30, PHM_SIMD_AUTO, err,
                       sizeof err))
        die("index", err);
    index_init(&srv.index, idx);
    srv.unix_fd = bind_socket(AF_UNIX);
    srv.tcp_fd = bind_socket(AF_INET);
    if (workers_init(&srv.workers, 2 * (size_t)c->threads, c, err, sizeof err))
        die("workers", err);
    live_init(&srv.live, rt);
    if (http_start(&srv, err, sizeof err))
        die("http", err);
    atexit(cleanup);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    answer = malloc(ANSWER_MAX + 1);
    if (!answer)
        die("answer", "out of memory");
    start_server();

    /* A few entries to match against: two sources, one with a video. */
    static const char body[] =
        "{\"entries\":["
        "{\"source\":\"s1\",\"id\":\"a\",\"hash\":"
        "\"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22\","
        "\"quality\":90},"
        "{\"source\":\"s1\",\"id\":\"b/c\",\"hash\":"
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
        "{\"source\":\"s2\",\"id\":\"d\",\"md5\":\"0123456789abcdef0123456789abcdef\"}]}";
    char req[1024];
    int n = snprintf(req, sizeof req, "POST /v1/index/entries HTTP/1.1\r\nHost: x\r\n"
                     "Connection: close\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s", sizeof body - 1, body);
    size_t got = exchange(0, req, (size_t)n);
    unsigned st = status_of(got);
    if (st != 200 && st != 201) {
        fprintf(stderr, "fuzz_handlers: cannot fill the index: %s\n", answer);
        abort();
    }
    return 0;
}

/* Header names the request builder sets itself. */
static int builder_header(const char *h, size_t n, int keep_auth)
{
    static const char *const names[] = { "content-length", "transfer-encoding",
                                         "connection", "expect", "host", "authorization" };
    size_t colon = strcspn(h, ":");
    if (colon > n)
        colon = n;
    while (colon > 0 && (h[colon - 1] == ' ' || h[colon - 1] == '\t'))
        colon--;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == colon && strncasecmp(h, names[i], colon) == 0)
            return !(keep_auth && i == 5);
    return 0;
}

static int has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 300000)
        return 0;
    const int tcp = data[0] & 1, cred = (data[0] >> 1) & 3;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;

    /* "METHOD PATH\n" */
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        return 0;
    const char *sp = memchr(p, ' ', (size_t)(eol - p));
    if (!sp || sp == p || sp + 1 == eol || sp[1] != '/')
        return 0;
    size_t mlen = (size_t)(sp - p), ulen = (size_t)(eol - sp - 1);
    if (mlen > 16 || ulen > 4096 || has_ctl(p, (size_t)(eol - p)) ||
        memchr(sp + 1, ' ', ulen) || memchr(p, '\t', (size_t)(eol - p)))
        return 0;
    char method[17], url[4097];
    memcpy(method, p, mlen);
    method[mlen] = '\0';
    memcpy(url, sp + 1, ulen);
    url[ulen] = '\0';
    for (size_t i = 0; i < mlen; i++)
        if (!((method[i] >= 'A' && method[i] <= 'Z') || method[i] == '-'))
            return 0;

    size_t cap = size + 512;
    char *req = malloc(cap);
    CHECK(req != NULL);
    size_t len = (size_t)snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: phmatchd\r\n"
                                  "Connection: close\r\n", method, url);
    if (cred == 1 || cred == 2)
        len += (size_t)snprintf(req + len, cap - len, "Authorization: Bearer %s\r\n",
                                cred == 1 ? ADMIN_TOKEN : LOOKUP_TOKEN);
    /* Headers up to an empty line; malformed ones are dropped. */
    p = eol + 1;
    while (p < end) {
        eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        size_t hl = (size_t)(le - p);
        p = eol ? eol + 1 : end;
        if (hl == 0)
            break;
        const char *h = le - hl;
        const char *colon = memchr(h, ':', hl);
        if (!colon || colon == h || has_ctl(h, hl) || h[0] == ' ' || h[0] == '\t' ||
            memchr(h, ' ', (size_t)(colon - h)) || builder_header(h, hl, cred == 3) ||
            len + hl + 64 > cap)
            continue;
        memcpy(req + len, h, hl);
        len += hl;
        memcpy(req + len, "\r\n", 2);
        len += 2;
    }
    size_t blen = (size_t)(end - p);
    len += (size_t)snprintf(req + len, cap - len, "Content-Length: %zu\r\n\r\n", blen);
    CHECK(len + blen <= cap);
    memcpy(req + len, p, blen);
    len += blen;

    size_t got = exchange(tcp, req, len);
    unsigned status = status_of(got);
    CHECK(status >= 100 && status <= 599);

    /* JSON answers parse; JSON errors have the documented shape. */
    size_t ctl;
    const char *ct = header_of("Content-Type", &ctl);
    const char *body = strstr(answer, "\r\n\r\n");
    CHECK(body != NULL);
    body += 4;
    if (ct && ctl >= 16 && strncasecmp(ct, "application/json", 16) == 0 &&
        strcmp(method, "HEAD") != 0) { /* HEAD: the head only */
        json_error_t je;
        json_t *j = json_loadb(body, got - (size_t)(body - answer), 0, &je);
        if (!j) {
            fprintf(stderr, "fuzz_handlers: answer %u is not JSON: %s\n", status, je.text);
            abort();
        }
        /* the route of the path (libmicrohttpd routes it without the
         * query) */
        const svc_route *r = NULL;
        static char a[PATH_ARGS][PATH_ARG_MAX];
        char al[ROUTE_ALLOW_MAX], path[sizeof url];
        memcpy(path, url, sizeof url);
        path[strcspn(path, "?")] = '\0';
        route_find(method, path, &r, a, al);
        json_t *e = json_object_get(j, "error");
        if (status >= 400 && route_is_hma(r) && !e) {
            json_t *first = json_array_get(j, 0);
            CHECK(json_is_string(json_object_get(j, "message")) ||
                  (status == 422 && json_array_size(j) == 1 &&
                   json_is_string(json_object_get(first, "msg"))));
        } else if (status >= 400) {
            CHECK(json_is_object(e));
            CHECK(json_is_string(json_object_get(e, "code")));
            CHECK(json_is_string(json_object_get(e, "message")));
        }
        json_decref(j);
    }

    /* Authorization. */
    const svc_route *route = NULL;
    static char args[PATH_ARGS][PATH_ARG_MAX];
    char allow[ROUTE_ALLOW_MAX];
    if (route_find(method, url, &route, args, allow) == ROUTE_FOUND &&
        route->role != ROLE_NONE) {
        svc_role granted = ROLE_NONE;
        if (cred == 1)
            granted = ROLE_ADMIN;
        else if (cred == 2)
            granted = ROLE_LOOKUP;
        else if (cred == 0 && !tcp)
            granted = ROLE_ADMIN; /* unix_auth optional */
        if (cred != 3 && granted < route->role && status != 401 && status != 403) {
            fprintf(stderr, "fuzz_handlers: %s %s over %s with role %s needs %s but was "
                    "answered %u\n", method, url, tcp ? "tcp" : "unix", role_name(granted),
                    role_name(route->role), status);
            abort();
        }
        if (tcp && status >= 200 && status < 300) {
            CHECK(memmem(req, len, ADMIN_TOKEN, strlen(ADMIN_TOKEN)) ||
                  memmem(req, len, LOOKUP_TOKEN, strlen(LOOKUP_TOKEN)));
        }
    }
    free(req);
    return 0;
}
