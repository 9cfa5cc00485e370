/*
 * svc_client - helpers for the phmatchd tests (tests/cli/service.sh) and
 * benchmark (bench/service.sh) that curl cannot play:
 *
 *   svc_client add INDEX SOURCE ID HEX [CATEGORY]
 *       adds one entry to the index from this process (another process
 *       than the server), as `phmatch index import` would
 *   svc_client mkindex INDEX COUNT SEED [NEAR_HEX]
 *       creates INDEX with COUNT random PDQ entries (source "bench", ids
 *       0..COUNT-1); with NEAR_HEX, every 1000th entry is within distance
 *       8 of it
 *   svc_client slow ADDR SECONDS_MAX
 *       sends a request's headers one byte every 100 ms, stops after half
 *       of them and waits: prints how many seconds passed until the
 *       server closed the connection (or "open" after SECONDS_MAX)
 *   svc_client trickle ADDR SECONDS_MAX
 *       sends one header byte every 300 ms without ever finishing: prints
 *       the seconds until the server closed the connection
 *
 *   svc_client idle ADDR SECONDS_MAX
 *       connects and sends nothing: prints the seconds until the server
 *       closed the connection (or "open")
 *   svc_client attack ADDR TOKEN MODE N SRC BODY COUNT JPG HASH
 *       an attack and a well-behaved client at once (issue 12). MODE
 *       none: no attack; idle: N connections from the IPv4 address SRC
 *       (a loopback address such as 127.0.0.2; "-": any) that send
 *       nothing; body: N connections from SRC that declare a body to
 *       /v1/match (Content-Length 33554432, the default max_body, or
 *       DECLARED when BODY is SENT:DECLARED) and send BODY (SENT) bytes of
 *       it, then stall. A second later, how many attack
 *       connections the server has kept open. Then, while the attack
 *       connections stay open, COUNT requests of a well-behaved client (from
 *       the default address, a new connection each): POST /v1/lookup of
 *       HASH, POST /v1/match of the file JPG, GET /healthz in turn, 5 s
 *       each at most. Prints one line:
 *         held=K refused=R ok=S count=COUNT p50_ms=X p99_ms=Y max_ms=Z
 *       (R: attack connections closed by the server within the second).
 *       ADDR may be ATTACK_ADDR,CLIENT_ADDR: the client then uses another
 *       listener (the Unix socket).
 *
 * ADDR is a Unix socket path or HOST:PORT (IPv4). Exit status 0 on
 * success, 1 on error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "phmatch.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_from(const char *addr, const char *src);

static int connect_to(const char *addr)
{
    return connect_from(addr, NULL);
}

/* Connects to ADDR; a TCP connection from the IPv4 address src unless
 * src is NULL or "-". */
static int connect_from(const char *addr, const char *src)
{
    int fd;
    const char *colon = strrchr(addr, ':');
    if (addr[0] == '/' || !colon) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        if (strlen(addr) >= sizeof sa.sun_path)
            return -1;
        memcpy(sa.sun_path, addr, strlen(addr));
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
            perror("connect");
            return -1;
        }
        return fd;
    }
    struct sockaddr_in sa;
    char host[64];
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host)
        return -1;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (src && strcmp(src, "-") != 0) {
        struct sockaddr_in from;
        memset(&from, 0, sizeof from);
        from.sin_family = AF_INET;
        if (inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&from, sizeof from)) {
            perror("bind");
            close(fd);
            return -1;
        }
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        perror("connect");
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether the peer closed the connection within `ms` (reads and drops
 * whatever it sends). */
static int closed_within(int fd, int ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    char buf[4096];
    double end = now() + ms / 1000.0;
    for (;;) {
        int left = (int)((end - now()) * 1000);
        if (left <= 0)
            return 0;
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return 1;
    }
}

static int slow(const char *addr, double max, int trickle)
{
    static const char req[] = "POST /v1/hash HTTP/1.1\r\nHost: x\r\n"
                              "Content-Type: application/octet-stream\r\n"
                              "Content-Length: 100\r\n\r\n";
    int fd = connect_to(addr);
    if (fd < 0)
        return 1;
    double t0 = now();
    size_t stop = trickle ? sizeof req - 3 : (sizeof req - 1) / 2;
    int step_ms = trickle ? 300 : 100;
    for (size_t i = 0; now() - t0 < max; i = i < stop ? i + 1 : i) {
        if (i < stop && send(fd, req + i, 1, MSG_NOSIGNAL) != 1) {
            printf("%.1f\n", now() - t0);
            return 0;
        }
        if (closed_within(fd, step_ms)) {
            printf("%.1f\n", now() - t0);
            return 0;
        }
        if (trickle && i + 1 >= stop)
            i = 0; /* keep sending: the headers never end */
    }
    printf("open\n");
    close(fd);
    return 0;
}

/* Whether the peer has closed the connection (now, without waiting;
 * whatever it sent is read and dropped). */
static int peer_closed(int fd)
{
    char buf[4096];
    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 0) <= 0)
            return 0;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 1;
    }
}

static int idle(const char *addr, double max)
{
    int fd = connect_to(addr);
    if (fd < 0)
        return 1;
    double t0 = now();
    if (closed_within(fd, (int)(max * 1000)))
        printf("%.1f\n", now() - t0);
    else
        printf("open\n");
    close(fd);
    return 0;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One request on a new connection (Connection: close); the answer is read
 * to its end. Returns the HTTP status, or 0 (no answer within 5 s). */
static int one_request(const char *addr, const char *head, const void *body, size_t len)
{
    int fd = connect_from(addr, NULL);
    char buf[8192];
    size_t got = 0;
    if (fd < 0)
        return 0;
    int status = 0;
    double end = now() + 5.0;
    if (send_all(fd, head, strlen(head)) || (len && send_all(fd, body, len)))
        goto out;
    for (;;) {
        int left = (int)((end - now()) * 1000);
        struct pollfd p = { fd, POLLIN, 0 };
        if (left <= 0 || poll(&p, 1, left) <= 0)
            goto out;
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (got + (size_t)n < sizeof buf - 1)
            got += (size_t)n;
    }
    buf[got] = '\0';
    if (got > 12 && !strncmp(buf, "HTTP/1.", 7))
        status = atoi(buf + 9);
out:
    close(fd);
    return status;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int attack(char **argv)
{
    char aaddr[256];
    const char *addr = argv[2], *token = argv[3], *mode = argv[4], *src = argv[6];
    /* ADDR[,CLIENT_ADDR]: the attack on ADDR, the client on CLIENT_ADDR */
    const char *comma = strchr(addr, ',');
    if (comma) {
        snprintf(aaddr, sizeof aaddr, "%.*s", (int)(comma - addr), addr);
        addr = aaddr;
    }
    const char *caddr = comma ? comma + 1 : addr;
    long n = strtol(argv[5], NULL, 10);
    char *colon;
    long body = strtol(argv[7], &colon, 10), count = strtol(argv[8], NULL, 10);
    long declared = *colon == ':' ? strtol(colon + 1, NULL, 10) : 33554432;
    const char *jpg = argv[9], *hash = argv[10];
    if (n < 0 || n > 5000 || count < 1 || count > 100000 || body < 0 || body > declared)
        return 2;

    /* the well-behaved client's requests */
    size_t jlen = 0;
    uint8_t *img = NULL;
    FILE *fp = fopen(jpg, "rb");
    if (fp) {
        img = malloc(1 << 24);
        jlen = img ? fread(img, 1, 1 << 24, fp) : 0;
        fclose(fp);
    }
    if (!jlen) {
        fprintf(stderr, "svc_client: cannot read '%s'\n", jpg);
        free(img);
        return 1;
    }
    char lookup[256], hlook[512], hmatch[512], hhealth[128];
    snprintf(lookup, sizeof lookup, "{\"hashes\":[\"%s\"]}", hash);
    snprintf(hlook, sizeof hlook, "POST /v1/lookup HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n", token, strlen(lookup));
    snprintf(hmatch, sizeof hmatch, "POST /v1/match HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n"
             "Content-Length: %zu\r\n\r\n", token, jlen);
    snprintf(hhealth, sizeof hhealth, "GET /healthz HTTP/1.1\r\nHost: x\r\n"
             "Connection: close\r\n\r\n");

    /* the attack */
    int *fds = calloc((size_t)n + 1, sizeof *fds);
    double *lat = calloc((size_t)count, sizeof *lat);
    char *junk = calloc(1, (size_t)body + 1);
    char head[512];
    long opened = 0, held = 0;
    if (!fds || !lat || !junk) {
        free(fds);
        free(lat);
        free(junk);
        free(img);
        return 1;
    }
    snprintf(head, sizeof head, "POST /v1/match HTTP/1.1\r\nHost: x\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n"
             "Content-Length: %ld\r\n\r\n", token, declared);
    for (long i = 0; i < n && strcmp(mode, "none") != 0; i++) {
        int fd = connect_from(addr, src);
        if (fd < 0)
            break;
        fds[opened++] = fd;
        if (!strcmp(mode, "body"))
            (void)(send_all(fd, head, strlen(head)) || send_all(fd, junk, (size_t)body));
    }
    /* Which of them the server closed within a second. */
    double t_end = now() + 1.0;
    int *closed = calloc((size_t)opened + 1, sizeof *closed);
    while (closed && now() < t_end) {
        for (long i = 0; i < opened; i++)
            if (!closed[i] && peer_closed(fds[i]))
                closed[i] = 1;
        struct timespec ts = { 0, 50000000 };
        nanosleep(&ts, NULL);
    }
    for (long i = 0; i < opened; i++)
        held += closed && !closed[i];

    long ok = 0;
    for (long k = 0; k < count; k++) {
        double t0 = now();
        int st;
        switch (k % 3) {
        case 0:
            st = one_request(caddr, hlook, lookup, strlen(lookup));
            break;
        case 1:
            st = one_request(caddr, hmatch, img, jlen);
            break;
        default:
            st = one_request(caddr, hhealth, NULL, 0);
            break;
        }
        lat[k] = (now() - t0) * 1000.0;
        ok += st == 200;
        if (st != 200)
            fprintf(stderr, "svc_client: request %ld: status %d\n", k, st);
    }
    qsort(lat, (size_t)count, sizeof *lat, cmp_double);
    size_t i99 = (size_t)((double)count * 0.99);
    if (i99 >= (size_t)count)
        i99 = (size_t)count - 1;
    printf("held=%ld refused=%ld ok=%ld count=%ld p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
           held, opened - held, ok, count, lat[count / 2], lat[i99], lat[count - 1]);
    for (long i = 0; i < opened; i++)
        close(fds[i]);
    free(closed);
    free(fds);
    free(lat);
    free(junk);
    free(img);
    return 0;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int mkindex(const char *path, unsigned long long count, unsigned long long seed,
                   const char *near_hex)
{
    phm_index *idx;
    phm_index_txn *txn;
    char err[PHM_ERRMSG_MAX], id[32];
    phm_pdq near;
    uint64_t s = seed;
    int rc;

    if (near_hex && phm_pdq_from_hex(near_hex, strlen(near_hex), &near)) {
        fprintf(stderr, "svc_client: bad hash\n");
        return 1;
    }
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err)) {
        fprintf(stderr, "svc_client: %s\n", err);
        return 1;
    }
    /* Batches of a million per transaction keep the buffers moderate. */
    for (unsigned long long done = 0; done < count;) {
        if ((rc = phm_index_txn_begin(idx, &txn, err, sizeof err)))
            goto fail;
        for (unsigned long long k = 0; k < 1000000 && done < count; k++, done++) {
            phm_entry e = { .source = "bench", .id = id, .category = "synthetic",
                            .signals = PHM_SIG_PDQ, .quality = 100 };
            snprintf(id, sizeof id, "%llu", done);
            for (int w = 0; w < 4; w++)
                e.pdq.w[w] = splitmix(&s);
            if (near_hex && done % 1000 == 0) {
                e.pdq = near;
                for (int b = 0; b < 8; b++) {
                    unsigned bit = (unsigned)(splitmix(&s) % 256);
                    e.pdq.w[bit / 64] ^= 1ull << (bit % 64);
                }
            }
            if ((rc = phm_index_add(txn, &e, err, sizeof err))) {
                phm_index_txn_abort(txn);
                goto fail;
            }
        }
        if ((rc = phm_index_txn_commit(txn, NULL, err, sizeof err)))
            goto fail;
    }
    /* One compacted base, as a long-lived index would have. */
    if (phm_index_compact(idx, err, sizeof err))
        goto fail;
    phm_index_close(idx);
    return 0;
fail:
    fprintf(stderr, "svc_client: %s\n", err);
    phm_index_close(idx);
    return 1;
}

static int add(const char *path, const char *source, const char *id, const char *hex,
               const char *category)
{
    phm_index *idx;
    phm_index_txn *txn;
    char err[PHM_ERRMSG_MAX];
    phm_entry e = { .source = source, .id = id, .category = category,
                    .signals = PHM_SIG_PDQ, .quality = -1 };

    if (phm_pdq_from_hex(hex, strlen(hex), &e.pdq)) {
        fprintf(stderr, "svc_client: bad hash\n");
        return 1;
    }
    if (phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err) ||
        phm_index_txn_begin(idx, &txn, err, sizeof err)) {
        fprintf(stderr, "svc_client: %s\n", err);
        return 1;
    }
    if (phm_index_add(txn, &e, err, sizeof err)) {
        phm_index_txn_abort(txn);
        fprintf(stderr, "svc_client: %s\n", err);
        phm_index_close(idx);
        return 1;
    }
    int rc = phm_index_txn_commit(txn, NULL, err, sizeof err);
    if (rc)
        fprintf(stderr, "svc_client: %s\n", err);
    phm_index_close(idx);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && !strcmp(argv[1], "add"))
        return add(argv[2], argv[3], argv[4], argv[5], argc > 6 ? argv[6] : "test");
    if (argc >= 5 && !strcmp(argv[1], "mkindex"))
        return mkindex(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                       argc > 5 ? argv[5] : NULL);
    if (argc == 4 && (!strcmp(argv[1], "slow") || !strcmp(argv[1], "trickle")))
        return slow(argv[2], strtod(argv[3], NULL), argv[1][0] == 't');
    if (argc == 4 && !strcmp(argv[1], "idle"))
        return idle(argv[2], strtod(argv[3], NULL));
    if (argc == 11 && !strcmp(argv[1], "attack"))
        return attack(argv);
    fprintf(stderr, "usage: svc_client add INDEX SOURCE ID HEX [CATEGORY]\n"
                    "       svc_client mkindex INDEX COUNT SEED [NEAR_HEX]\n"
                    "       svc_client slow|trickle|idle ADDR SECONDS_MAX\n"
                    "       svc_client attack ADDR TOKEN MODE N SRC BODY COUNT JPG HASH\n");
    return 2;
}
