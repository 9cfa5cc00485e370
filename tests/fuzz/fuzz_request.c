/*
 * fuzz_request.c - libFuzzer target: phmatchd's own request handling,
 * everything between libmicrohttpd and the handlers' index work
 * (src/daemon/route.c, query.c, json_body.c, auth.c, body.c, text.c).
 * The first byte chooses the part; the rest is its input:
 *
 *   0  routing: "METHOD URL\nCONTENT-TYPE"; a route found has that method,
 *      decoded path segments without NUL; a known path with another
 *      method lists the allowed ones; Content-Type checks never crash
 *   1  query arguments: a query string split as libmicrohttpd does
 *      ('&', '='; values undecoded), read as /v1/hash, /v1/match and HMA's
 *      /m/lookup read it; values in range; an accepted HMA signal is a
 *      hash whose hex is the decoded signal's, lowercased
 *   2  a /v1/lookup body: accepted ones have at most max_batch hashes,
 *      radius and k in range; refusals say 400 or 413 with a code
 *   3  a /v1/index/entries body (its type from the next byte: JSON
 *      entries, jsonl, csv or a detected list): accepted entries have
 *      source, id and a signal, and reading them again gives as many;
 *      refusals as above (or 503)
 *   4  authorization: the Authorization header against a fixed token file,
 *      over TCP and the Unix socket: TCP without a known token is never
 *      let in; a role is granted only with a known token or the socket;
 *      then the rest parsed as a token file
 *   5  request bodies: a sequence of appends, multipart pieces and ends
 *      under a small limit and budget; never over the limit, memory
 *      accounted exactly
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "body.h"
#include "config.h"
#include "json_body.h"
#include "query.h"
#include "route.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "check.h"

/* A NUL-terminated copy of data[0..n). */
static char *text_of(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

static void fuzz_route(char *in)
{
    static const char *const methods[] = { "GET", "POST", "DELETE", "PUT", "HEAD" };
    char args[PATH_ARGS][PATH_ARG_MAX], allow[ROUTE_ALLOW_MAX];
    const svc_route *r;
    char *ct = strchr(in, '\n'), *url = in;
    const char *method = methods[(unsigned char)in[0] % 5];

    if (ct)
        *ct++ = '\0';
    if (*url)
        url++;
    route_result rr = route_find(method, url, &r, args, allow);
    switch (rr) {
    case ROUTE_FOUND:
        CHECK(r && strcmp(r->method, method) == 0 && r->handler);
        for (int k = 0, star = 0; r->pattern[k]; k++) {
            if (r->pattern[k] != '*')
                continue;
            /* Decoded, non-empty, no NUL inside, no '/' left undecoded. */
            size_t len = strnlen(args[star], PATH_ARG_MAX);
            CHECK(len > 0 && len < PATH_ARG_MAX);
            star++;
        }
        route_check_type(r, ct);
        route_check_type(r, NULL);
        break;
    case ROUTE_BAD_ESCAPE:
    case ROUTE_TOO_LONG:
        CHECK(r && strcmp(r->method, method) == 0);
        break;
    case ROUTE_NO_METHOD:
        CHECK(!r && allow[0] && strstr(allow, method) == NULL);
        break;
    case ROUTE_NOT_FOUND:
        CHECK(!r);
        break;
    }
}

/* A query string split at '&' and '=' (libmicrohttpd's way). */
#define MAX_ARGS 16
typedef struct qargs {
    int n;
    char *name[MAX_ARGS], *value[MAX_ARGS];
} qargs;

static const char *q_get(void *ctx, const char *name)
{
    qargs *q = ctx;
    for (int i = 0; i < q->n; i++)
        if (strcmp(q->name[i], name) == 0)
            return q->value[i];
    return NULL;
}

static void fuzz_query(char *in)
{
    qargs q = { 0, { 0 }, { 0 } };
    svc_args a = { q_get, &q };
    char *save = NULL, buf[128];
    int b;
    long l;
    unsigned mask;
    phm_pdq h;
    const char *code, *msg;

    for (char *tok = strtok_r(in, "&", &save); tok && q.n < MAX_ARGS;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq++ = '\0';
        q.name[q.n] = tok;
        q.value[q.n++] = eq ? eq : tok + strlen(tok);
    }
    int r = args_text(&a, "signal", buf, sizeof buf);
    CHECK(r >= -1 && r <= 1);
    if (r == 1)
        CHECK(strlen(buf) < sizeof buf);
    if (args_bool(&a, "dihedral", &b) == 0)
        CHECK(b == 0 || b == 1);
    if (args_int(&a, "max_distance", 0, 64, 31, &l) == 0)
        CHECK(l >= 0 && l <= 64);
    else
        CHECK(l == 31);
    if (args_digests(&a, &mask) == 0)
        CHECK(mask < 8);
    if (args_hma_signal(&a, &h, &code, &msg) == 0) {
        char hex[PHM_PDQ_HEX_LEN + 1];
        CHECK(args_text(&a, "signal", buf, sizeof buf) == 1);
        phm_pdq_to_hex(&h, hex);
        for (int i = 0; i < PHM_PDQ_HEX_LEN; i++)
            CHECK(hex[i] == (buf[i] >= 'A' && buf[i] <= 'F' ? buf[i] + 32 : buf[i]));
    } else {
        CHECK(code && msg && *msg);
    }
}

static svc_config *config(void)
{
    static svc_config c;
    static int ready;
    if (!ready) {
        CHECK(config_defaults(&c) == 0);
        c.max_batch = 20;
        c.max_matches = 10;
        ready = 1;
    }
    return &c;
}

static void fuzz_lookup(const uint8_t *body, size_t len)
{
    const svc_config *c = config();
    phm_pdq hashes[20];
    lookup_body lb;
    svc_bad bad;

    if (lookup_body_parse(body, len, c, hashes, 20, &lb, &bad) == 0) {
        CHECK(lb.n <= 20);
        CHECK(lb.radius >= 0 && lb.radius <= c->max_distance);
        CHECK(lb.k <= (size_t)c->max_matches);
    } else {
        CHECK((bad.status == 400 || bad.status == 413) && bad.code && bad.msg[0]);
    }
}

static void fuzz_entries(const uint8_t *body, size_t len)
{
    /* The body's type from its first byte, then the body. */
    static const char *const types[] = { "application/json", "application/x-ndjson",
                                         "text/csv", "text/plain" };
    const char *ct = types[len ? body[0] % 4 : 0];
    entries_body b;
    svc_bad bad;
    if (len) {
        body++;
        len--;
    }
    if (entries_body_check(body, len, ct, "src", NULL, NULL, 0, 20, &b, &bad) != 0) {
        CHECK((bad.status == 400 || bad.status == 413 || bad.status == 503) && bad.code &&
              bad.msg[0]);
        return;
    }
    CHECK(b.n <= 20);
    phm_hashlist_reader *rd;
    if (entries_body_reader(&b, &rd) == 0) {
        phm_entry e;
        char err[PHM_HASHLIST_ERRMSG_MAX];
        size_t n = 0;
        while (phm_hashlist_read(rd, &e, err, sizeof err) == PHM_HASHLIST_RECORD) {
            CHECK(e.source && e.id && e.signals);
            CHECK(e.quality >= -1 && e.quality <= 100);
            n++;
        }
        CHECK(n == b.n); /* the second reading reads what the check read */
        phm_hashlist_reader_close(rd);
    }
    entries_body_free(&b);
}

static const char token_file[] =
    "# name role token\n"
    "ops admin admin-token-0123456789abcdef\n"
    "pipeline lookup lookup-token-0123456789abcdef\n";

static void fuzz_auth(const char *in, const uint8_t *rest, size_t restlen)
{
    static svc_tokens *tokens;
    char err[256], who[AUTH_NAME_MAX];
    svc_role role;

    if (!tokens)
        CHECK(tokens_parse(token_file, sizeof token_file - 1, "t", &tokens, err,
                           sizeof err) == 0 && tokens->count == 2);
    const char *tok;
    size_t tl;
    int bearer = auth_parse_bearer(in, &tok, &tl) == 0;
    const svc_token *known = bearer ? tokens_find(tokens, tok, tl) : NULL;
    if (bearer)
        CHECK(tl > 0 && tok >= in && tok + tl <= in + strlen(in));
    for (int tcp = 0; tcp < 2; tcp++) {
        for (int need = ROLE_NONE; need <= ROLE_ADMIN; need++) {
            for (int with_tokens = 0; with_tokens < 2; with_tokens++) {
                auth_outcome o = auth_decide(with_tokens ? tokens : NULL, tcp, 0, in,
                                             (svc_role)need, &role, who);
                CHECK(memchr(who, '\0', AUTH_NAME_MAX) != NULL);
                if (need == ROLE_NONE) {
                    CHECK(o == AUTH_OK);
                    continue;
                }
                if (o == AUTH_OK) {
                    CHECK((int)role >= need);
                    /* A role comes from a known token, or from the socket. */
                    CHECK((with_tokens && known && role == known->role) ||
                          (!tcp && role == ROLE_ADMIN));
                }
                if (tcp && (!with_tokens || !known))
                    CHECK(o != AUTH_OK && o != AUTH_FORBIDDEN);
                /* Without a header: never over TCP, nor with unix_auth
                 * required. */
                CHECK(auth_decide(with_tokens ? tokens : NULL, 1, 0, NULL, (svc_role)need,
                                  &role, who) != AUTH_OK);
                CHECK(auth_decide(with_tokens ? tokens : NULL, 0, 1, NULL, (svc_role)need,
                                  &role, who) != AUTH_OK);
            }
        }
    }
    svc_tokens *t = NULL;
    if (tokens_parse((const char *)rest, restlen, "fuzz", &t, err, sizeof err) == 0) {
        for (size_t i = 0; i < t->count; i++) {
            CHECK(t->tok[i].role == ROLE_LOOKUP || t->tok[i].role == ROLE_ADMIN);
            CHECK(t->tok[i].name[0] && strlen(t->tok[i].name) < AUTH_NAME_MAX);
        }
        tokens_free(t);
    } else {
        CHECK(t == NULL && err[0]);
    }
}

static void fuzz_body(const uint8_t *d, size_t n)
{
    atomic_int_fast64_t in_use;
    svc_bodybuf b;
    size_t i = 0;

    atomic_init(&in_use, 0);
    body_init(&b, &in_use);
    body_begin(&b, 1000, 3000);
    while (i + 2 <= n) {
        unsigned op = d[i] & 7, len = d[i + 1];
        i += 2;
        if (len > n - i)
            len = (unsigned)(n - i);
        const char *chunk = (const char *)d + i;
        i += len;
        switch (op) {
        case 0:
        case 1:
            body_append(&b, chunk, len);
            break;
        case 2:
            body_form_piece(&b, "photo", len & 1 ? 0 : 1, chunk, len);
            break;
        case 3: {
            /* other fields: `video` (HMA's video file, kept as the
             * body), ignored ones, or HMA's text fields (continued
             * where they stand, or out of place) */
            static const char *const keys[4] = { "video", NULL, "metadata", "note" };
            const char *k = keys[len & 3];
            uint64_t off = (len & 4) && (len & 2) ? b.form_len[(len & 3) == 3] : 0;
            body_form_piece(&b, k, off, chunk, len);
            break;
        }
        case 4:
            body_form_failed(&b, len);
            break;
        case 5:
            body_reserve(&b, (size_t)len * 8);
            break;
        case 6:
            body_end(&b);
            body_begin(&b, len & 1 ? 1000 : BODY_KEEP_BUFFER, len & 2 ? 3000 : 100);
            break;
        default:
            CHECK(b.len <= b.cap || b.cap == 0);
            break;
        }
        CHECK(b.len <= b.limit || b.limit == 0);
        CHECK(b.len <= b.cap || b.len == 0);
        CHECK(atomic_load(&in_use) == (int_fast64_t)b.cap);
        for (int t = 0; t < 2; t++)
            CHECK(b.form_len[t] <= BODY_FORM_TEXT_MAX && b.form_text[t][b.form_len[t]] == '\0');
    }
    body_free(&b);
    CHECK(atomic_load(&in_use) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    unsigned part = data[0] % 6;
    const uint8_t *d = data + 1;
    size_t n = size - 1;

    if (part == 2) {
        fuzz_lookup(d, n);
    } else if (part == 3) {
        fuzz_entries(d, n);
    } else if (part == 5) {
        fuzz_body(d, n);
    } else {
        char *s = text_of(d, n);
        if (part == 0)
            fuzz_route(s);
        else if (part == 1)
            fuzz_query(s);
        else {
            /* The header is the first line; the rest a token file. */
            char *nl = strchr(s, '\n');
            size_t hl = nl ? (size_t)(nl - s) : n;
            if (nl)
                *nl = '\0';
            fuzz_auth(s, d + (hl < n ? hl + 1 : n), hl < n ? n - hl - 1 : 0);
        }
        free(s);
    }
    return 0;
}
