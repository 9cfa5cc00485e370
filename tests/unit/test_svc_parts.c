/*
 * test_svc_parts.c - phmatchd's request handling without a server: routing
 * (route.c), query arguments (query.c), request bodies (body.c), text
 * helpers (text.c), tokens and who may do what (auth.c), and settings
 * (config.c). Linked with phmatchd's objects but main.o (the Makefile's
 * rule for tests/unit/test_svc_*.c).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "body.h"
#include "config.h"
#include "phmatch.h"
#include "query.h"
#include "route.h"
#include "text.h"
#include "tap.h"

/* ---- routing ---- */

static void test_route(void)
{
    char args[PATH_ARGS][PATH_ARG_MAX], allow[ROUTE_ALLOW_MAX];
    const svc_route *r = NULL;

    IS_INT(route_find("POST", "/v1/hash", &r, args, allow), ROUTE_FOUND, "POST /v1/hash found");
    OK(r && r->endpoint == EP_HASH && r->role == ROLE_LOOKUP, "... the hash endpoint, lookup role");
    IS_INT(route_find("GET", "/v1/index", &r, args, allow), ROUTE_FOUND, "GET /v1/index found");
    OK(r && r->endpoint == EP_INDEX_STATS, "... the statistics endpoint");
    IS_INT(route_find("DELETE", "/v1/index/entries/src/a%2Fb", &r, args, allow), ROUTE_FOUND,
           "DELETE /v1/index/entries/S/ID found");
    OK(r && r->role == ROLE_ADMIN, "... admin only");
    IS_STR(args[0], "src", "... source segment");
    IS_STR(args[1], "a/b", "... id segment percent-decoded");
    IS_INT(route_find("DELETE", "/v1/index/entries/src/a%2", &r, args, allow),
           ROUTE_BAD_ESCAPE, "a malformed escape in a segment");
    IS_INT(route_find("DELETE", "/v1/index/entries/src/a%00b", &r, args, allow),
           ROUTE_BAD_ESCAPE, "an escaped NUL in a segment");
    {
        /* wt-audit: a segment too long to decode is said so, not called a
         * malformed escape; one that fits once decoded is found. */
        char url[4200];
        int n = snprintf(url, sizeof url, "/v1/index/disabled/s/");
        memset(url + n, 'a', PATH_ARG_MAX);
        url[n + PATH_ARG_MAX] = '\0';
        IS_INT(route_find("PUT", url, &r, args, allow), ROUTE_TOO_LONG,
               "a segment of PATH_ARG_MAX bytes: too long");
        for (int i = 0; i < PATH_ARG_MAX - 1; i++)
            memcpy(url + n + 3 * i, "%41", 3);
        url[n + 3 * (PATH_ARG_MAX - 1)] = '\0';
        IS_INT(route_find("PUT", url, &r, args, allow), ROUTE_FOUND,
               "... PATH_ARG_MAX - 1 escaped bytes fit");
        IS_INT((int)strlen(args[1]), PATH_ARG_MAX - 1, "... decoded whole");
    }
    IS_INT(route_find("GET", "/v1/hash", &r, args, allow), ROUTE_NO_METHOD,
           "GET /v1/hash: known path, other method");
    OK(strstr(allow, "POST") != NULL, "... Allow lists POST (%s)", allow);
    IS_INT(route_find("GET", "/v1/nothing", &r, args, allow), ROUTE_NOT_FOUND, "unknown path");
    IS_INT(route_find("GET", "/v1/index/", &r, args, allow), ROUTE_NOT_FOUND,
           "a trailing slash is another path");
    IS_INT(route_find("DELETE", "/v1/index/entries//x", &r, args, allow), ROUTE_NOT_FOUND,
           "an empty segment does not match '*'");
    IS_INT(route_find("GET", "/healthz", &r, args, allow), ROUTE_FOUND, "GET /healthz found");
    OK(r && r->role == ROLE_NONE, "... open to all");

    route_find("POST", "/v1/hash", &r, args, allow);
    OK(route_check_type(r, NULL) == NULL, "image body: no Content-Type is fine");
    OK(route_check_type(r, "image/jpeg") == NULL, "image body: image/jpeg");
    OK(route_check_type(r, "application/octet-stream") == NULL, "image body: octet-stream");
    OK(route_check_type(r, "application/x-www-form-urlencoded") != NULL,
       "image body: a form type is refused (415)");
    route_find("POST", "/v1/lookup", &r, args, allow);
    OK(route_check_type(r, "application/json; charset=utf-8") == NULL,
       "JSON body: application/json with parameters");
    OK(route_check_type(r, "text/plain") != NULL, "JSON body: text/plain refused");
}

/* ---- query arguments ---- */

typedef struct q_pairs {
    const char *const *kv; /* name, value, ..., NULL */
} q_pairs;

static const char *q_get(void *ctx, const char *name)
{
    const q_pairs *q = ctx;
    for (size_t i = 0; q->kv[i]; i += 2)
        if (strcmp(q->kv[i], name) == 0)
            return q->kv[i + 1];
    return NULL;
}

static void test_query(void)
{
    static const char *const kv[] = { "dihedral", "1",       "flag", "yes",
                                      "bad", "maybe",        "max_distance", "40",
                                      "neg", "-3",           "big", "99999999999999999999",
                                      "digest", "SHA256,md5", "text", "a%20b+c",
                                      "esc", "%zz",          NULL };
    q_pairs q = { kv };
    svc_args a = { q_get, &q };
    char buf[16];
    int b = -1;
    long l = -1;
    unsigned mask = 99;

    IS_INT(args_text(&a, "text", buf, sizeof buf), 1, "text: present");
    IS_STR(buf, "a b c", "text: percent and '+' decoded");
    IS_INT(args_text(&a, "none", buf, sizeof buf), 0, "text: absent");
    IS_INT(args_text(&a, "esc", buf, sizeof buf), -1, "text: malformed escape");
    IS_INT(args_text(&a, "big", buf, 4), -1, "text: longer than the buffer");
    IS_INT(args_bool(&a, "dihedral", &b), 0, "bool: 1");
    IS_INT(b, 1, "bool: 1 is true");
    IS_INT(args_bool(&a, "flag", &b), 0, "bool: yes");
    IS_INT(b, 1, "bool: yes is true");
    IS_INT(args_bool(&a, "none", &b), 0, "bool: absent");
    IS_INT(b, 0, "bool: absent is false");
    IS_INT(args_bool(&a, "bad", &b), -1, "bool: 'maybe' refused");
    IS_INT(args_int(&a, "max_distance", 0, 64, 31, &l), 0, "int: in range");
    IS_INT(l, 40, "int: value");
    IS_INT(args_int(&a, "none", 0, 64, 31, &l), 0, "int: absent");
    IS_INT(l, 31, "int: absent gives the default");
    IS_INT(args_int(&a, "max_distance", 0, 39, 31, &l), -1, "int: above max");
    IS_INT(args_int(&a, "neg", -10, 10, 0, &l), -1, "int: a sign is refused");
    IS_INT(args_int(&a, "big", 0, 64, 31, &l), -1, "int: overflow refused");
    IS_INT(args_digests(&a, &mask), 0, "digest: sha256,md5 (any case)");
    IS_INT(mask, (1u << PHM_DIGEST_SHA256) | (1u << PHM_DIGEST_MD5), "digest: the mask");

    static const char *const kv2[] = { "digest", "all", NULL };
    static const char *const kv3[] = { "digest", "crc32", NULL };
    q_pairs q2 = { kv2 }, q3 = { kv3 };
    svc_args a2 = { q_get, &q2 }, a3 = { q_get, &q3 };
    IS_INT(args_digests(&a2, &mask), 0, "digest: all");
    IS_INT(mask, PHM_DIGEST_ALL, "digest: all is every digest");
    IS_INT(args_digests(&a3, &mask), -1, "digest: crc32 refused");

    static const char hex[] = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    static const char *const hma[] = { "signal_type", "pdq", "signal", hex, NULL };
    static const char *const hma_url[] = { "url", "http://x/", NULL };
    static const char *const hma_video[] = { "signal_type", "video_md5", "signal", hex, NULL };
    q_pairs qh = { hma }, qu = { hma_url }, qv = { hma_video };
    phm_pdq h;
    const char *code = NULL, *msg = NULL;
    char back[PHM_PDQ_HEX_LEN + 1];
    IS_INT(args_hma_signal(&(svc_args){ q_get, &qh }, &h, &code, &msg), 0, "HMA: pdq signal");
    phm_pdq_to_hex(&h, back);
    IS_STR(back, hex, "HMA: the hash");
    IS_INT(args_hma_signal(&(svc_args){ q_get, &qu }, &h, &code, &msg), -1, "HMA: url refused");
    OK(code && strcmp(code, "bad_request") == 0 && msg && strstr(msg, "url"),
       "... bad_request naming url");
    IS_INT(args_hma_signal(&(svc_args){ q_get, &qv }, &h, &code, &msg), -1,
           "HMA: another signal type refused");
}

/* ---- text helpers ---- */

static void test_text(void)
{
    char out[8];
    IS_INT(pct_decode("a%41+b", 6, 1, out, sizeof out), 0, "pct_decode: a query string");
    IS_STR(out, "aA b", "pct_decode: %%41 and a plus");
    IS_INT(pct_decode("a+b", 3, 0, out, sizeof out), 0, "pct_decode: path");
    IS_STR(out, "a+b", "pct_decode: '+' stays in a path");
    IS_INT(pct_decode("%4", 2, 0, out, sizeof out), -1, "pct_decode: short escape");
    IS_INT(pct_decode("%g0", 3, 0, out, sizeof out), -1, "pct_decode: bad hex digit");
    IS_INT(pct_decode("%00", 3, 0, out, sizeof out), -1, "pct_decode: NUL refused");
    IS_INT(pct_decode("12345678", 8, 0, out, sizeof out), -1, "pct_decode: too long");
    IS_INT(pct_decode("1234567", 7, 0, out, sizeof out), 0, "pct_decode: just fits");
    OK(content_type_is("Application/JSON; charset=utf-8", "application/json"),
       "content type: case and parameters");
    OK(!content_type_is("application/jsonx", "application/json"), "content type: prefix only");
    OK(!content_type_is(NULL, "application/json"), "content type: absent");
}

/* ---- request bodies ---- */

static void test_body(void)
{
    atomic_int_fast64_t in_use;
    svc_bodybuf b;
    char chunk[600];

    atomic_init(&in_use, 0);
    memset(chunk, 'x', sizeof chunk);
    body_init(&b, &in_use);
    body_begin(&b, 1000, 1 << 20);
    IS_INT(body_append(&b, chunk, 600), 0, "body: 600 bytes under a 1000-byte limit");
    IS_INT((int)b.len, 600, "body: kept");
    OK(!b.too_large, "body: not too large");
    OK(atomic_load(&in_use) >= 600, "body: memory counted");
    body_append(&b, chunk, 600);
    OK(b.too_large, "body: 1200 bytes over the limit: too large (413)");
    OK(b.len <= 1000, "body: never more than the limit kept (%zu)", b.len);
    body_end(&b);
    body_free(&b);
    /* A fresh body (no buffer kept from before) under a 100-byte budget. */
    body_init(&b, &in_use);
    body_begin(&b, 1 << 20, 100);
    body_append(&b, chunk, 600);
    OK(b.overloaded, "body: over the memory budget: overloaded (503)");
    IS_INT((int)b.len, 0, "body: nothing kept");
    body_end(&b);
    body_free(&b);
    IS_INT((int)atomic_load(&in_use), 0, "body: every byte given back");

    /* Charged as bytes arrive (issue 12): a body that declares 32 MiB and
     * sends 2 bytes holds one first step, not 32 MiB. */
    atomic_int_fast64_t client;
    atomic_init(&client, 0);
    body_init(&b, &in_use);
    body_set_client(&b, &client);
    body_begin(&b, 32u << 20, INT64_C(512) << 20);
    body_expect(&b, 32u << 20, INT64_C(64) << 20);
    body_append(&b, chunk, 2);
    OK(!b.overloaded && b.len == 2, "body: 2 bytes of a declared 32 MiB: kept");
    OK(atomic_load(&in_use) <= 16384, "body: ... charged one step, not the declared "
       "length (%lld)", (long long)atomic_load(&in_use));
    IS_INT((int)atomic_load(&client), (int)atomic_load(&in_use),
           "body: ... charged to the client too");
    body_end(&b);
    body_free(&b);
    /* Grows in steps, never past the declared length. */
    static char big[100000];
    body_init(&b, &in_use);
    body_begin(&b, 1u << 20, INT64_C(512) << 20);
    body_expect(&b, 100000, INT64_C(64) << 20);
    for (size_t off = 0; off < sizeof big; off += 1000)
        body_append(&b, big + off, 1000);
    IS_INT((int)b.len, 100000, "body: 100000 bytes in pieces of 1000: kept");
    IS_INT((int)b.cap, 100000, "body: ... the buffer is the declared length exactly");
    body_free(&b);
    /* One client's share: a second body over it is refused (2) and frees
     * its buffer at once; the first keeps its bytes. */
    svc_bodybuf b2;
    body_init(&b, &in_use);
    body_set_client(&b, &client);
    body_init(&b2, &in_use);
    body_set_client(&b2, &client);
    body_begin(&b, 1u << 20, INT64_C(512) << 20);
    body_expect(&b, 100000, 150000);
    body_begin(&b2, 1u << 20, INT64_C(512) << 20);
    body_expect(&b2, 100000, 150000);
    body_append(&b, big, sizeof big);
    body_append(&b2, big, 20000);
    body_append(&b2, big, 60000);
    OK(!b.overloaded && b.len == 100000, "body: a client's first 100000 bytes: kept");
    IS_INT(b2.overloaded, 2, "body: its second body past its 150000-byte share: refused "
           "for the client");
    OK(b2.buf == NULL && b2.cap == 0, "body: ... holding nothing");
    IS_INT((int)atomic_load(&client), 100000, "body: the client is charged its first body");
    body_free(&b);
    body_free(&b2);
    IS_INT((int)atomic_load(&client), 0, "body: every byte given back by the client");
    IS_INT((int)atomic_load(&in_use), 0, "body: and in all");
}

/* ---- tokens and roles ---- */

static void test_auth(void)
{
    static const char file[] = "# tokens\n"
                               "ops admin 0123456789abcdef-admin\n"
                               "app lookup 0123456789abcdef-lookup\n";
    svc_tokens *t = NULL;
    char err[256], who[AUTH_NAME_MAX];
    const char *tok;
    size_t len;
    svc_role role;

    IS_INT(tokens_parse(file, sizeof file - 1, "t", &t, err, sizeof err), 0, "tokens: parsed");
    IS_INT(t ? (int)t->count : -1, 2, "tokens: two");
    OK(tokens_find(t, "0123456789abcdef-lookup", 23) != NULL, "tokens: found");
    OK(tokens_find(t, "0123456789abcdef-looku", 22) == NULL, "tokens: a prefix is not found");
    IS_INT(auth_parse_bearer("bearer abc", &tok, &len), 0, "bearer: scheme case-insensitive");
    IS_INT((int)len, 3, "bearer: token length");
    IS_INT(auth_parse_bearer("Basic eDp5", &tok, &len), -1, "bearer: Basic refused");
    IS_INT(auth_decide(t, 1, 0, NULL, ROLE_LOOKUP, &role, who), AUTH_MISSING,
           "TCP without a token: missing");
    IS_INT(auth_decide(t, 1, 0, "Bearer 0123456789abcdef-lookup", ROLE_LOOKUP, &role, who),
           AUTH_OK, "TCP with a lookup token: lookup allowed");
    IS_STR(who, "app", "... the token's name");
    IS_INT(auth_decide(t, 1, 0, "Bearer 0123456789abcdef-lookup", ROLE_ADMIN, &role, who),
           AUTH_FORBIDDEN, "TCP with a lookup token: admin forbidden");
    IS_INT(auth_decide(t, 1, 0, "Bearer wrong-token-0123456789", ROLE_LOOKUP, &role, who),
           AUTH_UNKNOWN, "TCP with an unknown token");
    IS_INT(auth_decide(t, 0, 0, NULL, ROLE_ADMIN, &role, who), AUTH_OK,
           "Unix socket without a token: admin");
    IS_INT(auth_decide(t, 0, 1, NULL, ROLE_LOOKUP, &role, who), AUTH_MISSING,
           "Unix socket, tokens required: missing");
    IS_INT(auth_decide(NULL, 1, 0, NULL, ROLE_NONE, &role, who), AUTH_OK,
           "an open endpoint needs nothing");
    tokens_free(t);
    t = NULL;

    static const char bad_role[] = "x root 0123456789abcdef0\n";
    OK(tokens_parse(bad_role, sizeof bad_role - 1, "t", &t, err, sizeof err) != 0,
       "tokens: unknown role refused");
    OK(strstr(err, "line 1") != NULL, "... with the line (%s)", err);
    static const char short_tok[] = "x admin short\n";
    OK(tokens_parse(short_tok, sizeof short_tok - 1, "t", &t, err, sizeof err) != 0,
       "tokens: a token under 16 characters refused");
}

/* ---- settings ---- */

static void test_config(void)
{
    svc_config c;
    char err[256], path[] = "/tmp/phm-test-svc.XXXXXX";

    IS_INT(config_defaults(&c), 0, "config: defaults");
    IS_INT(c.max_body, 32 << 20, "config: default max_body 32MiB keeps 33554432");
    IS_INT(c.max_body_memory, INT64_C(512) << 20, "config: default max_body_memory 512MiB");
    IS_INT(c.request_timeout, 120, "config: default request_timeout");
    IS_INT(c.max_connections_per_client, 64, "config: default max_connections_per_client");
    IS_INT(c.max_body_memory_per_client, INT64_C(64) << 20,
           "config: default max_body_memory_per_client 64MiB");
    IS_INT(c.header_timeout, 10, "config: default header_timeout");
    IS_INT(config_set(&c, "max_body", "32M", err, sizeof err), 0, "config: max_body 32M");
    IS_INT(c.max_body, 32000000, "config: M is 10^6, as in phmatch");
    IS_INT(config_set(&c, "max-body", "64KiB", err, sizeof err), 0, "config: dashes, KiB");
    IS_INT(c.max_body, 65536, "config: KiB is 1024");
    IS_INT(config_set(&c, "max_body", "2kb", err, sizeof err), 0, "config: kb, any case");
    IS_INT(c.max_body, 2000, "config: kB is 1000");
    OK(config_set(&c, "max_body", "1.5M", err, sizeof err) != 0, "config: no fractions");
    OK(config_set(&c, "max_body", "100", err, sizeof err) != 0, "config: below the minimum");
    OK(strstr(err, "max_body") != NULL, "... the message names it (%s)", err);
    OK(config_set(&c, "max_body", "5GiB", err, sizeof err) != 0, "config: above the maximum");
    OK(config_set(&c, "max_body", "32X", err, sizeof err) != 0, "config: unknown suffix");
    OK(config_set(&c, "max_body", "", err, sizeof err) != 0, "config: empty size");
    IS_INT(config_set(&c, "request_timeout", "2m", err, sizeof err), 0, "config: 2m");
    IS_INT(c.request_timeout, 120, "config: 2m is 120 s");
    IS_INT(config_set(&c, "connection_timeout", "45", err, sizeof err), 0, "config: plain");
    IS_INT(c.connection_timeout, 45, "config: plain seconds");
    IS_INT(config_set(&c, "shutdown_timeout", "2000ms", err, sizeof err), 0, "config: 2000ms");
    IS_INT(c.shutdown_timeout, 2, "config: 2000ms is 2 s");
    OK(config_set(&c, "shutdown_timeout", "1500ms", err, sizeof err) != 0,
       "config: timeouts are whole seconds");
    OK(config_set(&c, "request_timeout", "2d", err, sizeof err) != 0, "config: unknown unit");
    OK(config_set(&c, "request_timeout", "0", err, sizeof err) != 0, "config: below 1 s");
    IS_INT(config_set(&c, "index_create", "YES", err, sizeof err), 0, "config: bool YES");
    IS_INT(c.index_create, 1, "config: bool value");
    OK(config_set(&c, "index_create", "sure", err, sizeof err) != 0, "config: bad bool");
    IS_INT(c.index_hot_copy, 0, "config: index_hot_copy off by default");
    IS_INT(config_set(&c, "index_hot_copy", "yes", err, sizeof err), 0, "config: index_hot_copy");
    IS_INT(c.index_hot_copy, 1, "config: index_hot_copy value");
    IS_INT(config_set(&c, "mode", "cli512", err, sizeof err), 0, "config: enum");
    OK(config_set(&c, "mode", "fast", err, sizeof err) != 0, "config: bad enum");
    OK(strstr(err, "full") && strstr(err, "cli512"), "... lists the choices (%s)", err);
    IS_INT(config_set(&c, "socket_mode", "0600", err, sizeof err), 0, "config: octal");
    IS_INT(c.socket_mode, 0600, "config: octal value");
    OK(config_set(&c, "socket_mode", "0800", err, sizeof err) != 0, "config: bad octal");
    OK(config_set(&c, "no_such", "1", err, sizeof err) != 0, "config: unknown setting");
    OK(config_set(&c, "index", "a\nb", err, sizeof err) != 0, "config: text on two lines");
    int is_bool = -1;
    OK(config_known("index-create", &is_bool) && is_bool == 1, "config: known, boolean");
    OK(!config_known("nope", &is_bool), "config: unknown name");
    config_free(&c);

    int fd = mkstemp(path);
    OK(fd >= 0, "config file: made");
    if (fd >= 0) {
        static const char text[] = "# phmatchd\n\nmax_body = 1MiB\nrequest_timeout=1h\n"
                                   "max_batch = 0\n";
        OK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1), "config file: written");
        close(fd);
        config_defaults(&c);
        OK(config_load_file(&c, path, err, sizeof err) != 0, "config file: a bad line fails");
        OK(strstr(err, "line 5") != NULL, "... naming the line (%s)", err);
        IS_INT(c.max_body, 1 << 20, "config file: sizes read as on the command line");
        IS_INT(c.request_timeout, 3600, "config file: durations too");
        config_free(&c);
        unlink(path);
    }
}

int main(void)
{
    test_route();
    test_query();
    test_text();
    test_body();
    test_auth();
    test_config();
    return tap_done();
}
