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

static int connect_to(const char *addr)
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
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        perror("connect");
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
    fprintf(stderr, "usage: svc_client add INDEX SOURCE ID HEX [CATEGORY]\n"
                    "       svc_client mkindex INDEX COUNT SEED [NEAR_HEX]\n"
                    "       svc_client slow|trickle ADDR SECONDS_MAX\n");
    return 2;
}
