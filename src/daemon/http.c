/*
 * http.c - a thin layer over libmicrohttpd: the routing table, request
 * bodies gathered into a per-connection buffer under a hard cap and a
 * server-wide memory budget, authentication, overload answers, JSON
 * answers and errors, and the bookkeeping the request-timeout reaper and
 * the metrics need.
 *
 * libmicrohttpd parses HTTP; we never do. It calls on_access() once when
 * a request's headers are in (begin_request: route, auth, limits), then
 * with each piece of body (accept_body), then once more at the end
 * (finish_request: the handler runs and the answer is queued). Requests
 * without a body are answered from the first call.
 *
 * The URL is given to us undecoded (the unescape callback does nothing),
 * so that "%2F" inside an entry id is not taken for a path separator;
 * path segments and query values are percent-decoded here, one at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "server.h"

/* Body buffers up to this size stay with a keep-alive connection for its
 * next request; larger ones are freed when the request ends. */
#define KEEP_BUFFER (64u * 1024)
/* A body over the limit is read and dropped (so the 413 can be sent);
 * past this multiple of the limit the connection is closed instead. */
#define DISCARD_FACTOR 4

static const svc_route routes[] = {
    { "POST", "/v1/hash", EP_HASH, ROLE_LOOKUP, BODY_IMAGE, handle_hash },
    { "POST", "/v1/match", EP_MATCH, ROLE_LOOKUP, BODY_IMAGE, handle_match },
    { "POST", "/v1/lookup", EP_LOOKUP, ROLE_LOOKUP, BODY_JSON, handle_lookup },
    { "GET", "/v1/index", EP_INDEX_STATS, ROLE_LOOKUP, BODY_NONE, handle_index_stats },
    { "POST", "/v1/index/entries", EP_INDEX_ADD, ROLE_ADMIN, BODY_JSON, handle_index_add },
    { "DELETE", "/v1/index/entries/*/*", EP_INDEX_DELETE_ENTRY, ROLE_ADMIN, BODY_NONE,
      handle_index_delete_entry },
    { "DELETE", "/v1/index/sources/*", EP_INDEX_DELETE_SOURCE, ROLE_ADMIN, BODY_NONE,
      handle_index_delete_source },
    { "GET", "/healthz", EP_HEALTHZ, ROLE_NONE, BODY_NONE, handle_healthz },
    { "GET", "/readyz", EP_READYZ, ROLE_NONE, BODY_NONE, handle_readyz },
    { "GET", "/metrics", EP_METRICS, ROLE_LOOKUP, BODY_NONE, handle_metrics },
    { "GET", "/m/lookup", EP_HMA_LOOKUP, ROLE_LOOKUP, BODY_NONE, handle_hma_lookup },
    { "POST", "/m/lookup", EP_HMA_LOOKUP, ROLE_LOOKUP, BODY_MULTIPART,
      handle_hma_lookup_post },
    { "POST", "/h/hash", EP_HMA_HASH, ROLE_LOOKUP, BODY_MULTIPART, handle_hma_hash },
};
#define NROUTES (sizeof routes / sizeof routes[0])

struct svc_conn {
    svc_server *srv;
    struct MHD_Connection *mc;
    int fd;
    svc_transport transport;
    svc_conn *prev, *next;       /* srv->conns, under srv->conns_lock */
    atomic_uint_fast64_t phase_us; /* since when the reaper's clock runs */
    atomic_int busy;             /* a handler is running: not reaped */
    atomic_int reaped;
    /* the request in progress */
    int active;
    int responded;
    uint64_t t_start;
    svc_endpoint endpoint;
    svc_request rq;
    /* its body */
    uint8_t *buf;
    size_t len, cap;             /* cap bytes are counted in body_bytes */
    size_t limit;                /* max_body when the request began */
    int64_t budget;              /* max_body_memory when it began */
    int too_large, overloaded, bad_form;
    uint64_t discarded;
    struct MHD_PostProcessor *pp;
    int photo_parts;
};

/* ---- answers ---------------------------------------------------------- */

static void set_response(svc_request *rq, unsigned status, struct MHD_Response *r)
{
    if (rq->response)
        MHD_destroy_response(rq->response);
    rq->response = r;
    rq->status = r ? status : 500;
    if (!r)
        return;
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (atomic_load(&rq->srv->shutting_down))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
}

void reply_text(svc_request *rq, unsigned status, const char *content_type, char *text,
                size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(text);
    else
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    set_response(rq, status, r);
}

void reply_json(svc_request *rq, unsigned status, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!s) {
        static const char oom[] =
            "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";
        set_response(rq, 503,
                     MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom,
                                                     MHD_RESPMEM_PERSISTENT));
        if (rq->response)
            MHD_add_response_header(rq->response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    "application/json");
        return;
    }
    reply_text(rq, status, "application/json", s, strlen(s));
}

static void add_retry_after(svc_request *rq, int64_t seconds)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)seconds);
    if (rq->response)
        MHD_add_response_header(rq->response, MHD_HTTP_HEADER_RETRY_AFTER, v);
}

void reply_error(svc_request *rq, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[PHM_ERRMSG_MAX + 128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
    if (!o) /* a message that is not UTF-8 (from a hostile name) */
        o = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", code);
    reply_json(rq, status, o);
    svc_metrics *m = &rq->srv->metrics;
    if (status == 401 || status == 403)
        metrics_add(&m->auth_failures, 1);
    if (status == 401 && rq->response)
        MHD_add_response_header(rq->response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"phmatchd\"");
    if (status == 503 || status == 429)
        add_retry_after(rq, rq->srv->boot.retry_after);
}

void reply_phm_error(svc_request *rq, int rc, const char *msg)
{
    switch (rc) {
    case PHM_ERR_UNSUPPORTED:
        reply_error(rq, 415, "unsupported_format", "%s", msg);
        break;
    case PHM_ERR_CORRUPT:
    case PHM_WARN_RECOVERED:
        reply_error(rq, 422, "corrupt", "%s", msg);
        break;
    case PHM_ERR_TOO_SMALL:
        reply_error(rq, 422, "too_small", "%s", msg);
        break;
    case PHM_ERR_TOO_LARGE:
        reply_error(rq, 422, "too_large", "%s", msg);
        break;
    case PHM_ERR_NOMEM:
        metrics_add(&rq->srv->metrics.overloaded, 1);
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        break;
    default:
        reply_error(rq, 500, "internal", "%s", msg);
        break;
    }
}

/* ---- URL pieces ------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [s, s+n) into out (outlen, NUL-terminated); '+' is a
 * space when `plus`. Refuses NUL bytes, bad escapes and overflow. */
static int pct_decode(const char *s, size_t n, int plus, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (n - i < 3 || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= outlen)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

int query_arg(svc_request *rq, const char *name, char *out, size_t outlen)
{
    const char *v = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v)
        return 0;
    return pct_decode(v, strlen(v), 1, out, outlen) ? -1 : 1;
}

int query_bool(svc_request *rq, const char *name, int *out)
{
    char v[16];
    int r = query_arg(rq, name, v, sizeof v);
    *out = 0;
    if (r == 0)
        return 0;
    if (r > 0) {
        if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")) {
            *out = 1;
            return 0;
        }
        if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !*v)
            return 0;
    }
    reply_error(rq, 400, "bad_request", "invalid value for ?%s: expected 1 or 0", name);
    return -1;
}

int query_int(svc_request *rq, const char *name, long min, long max, long def, long *out)
{
    char v[24], *end;
    int r = query_arg(rq, name, v, sizeof v);
    *out = def;
    if (r == 0)
        return 0;
    if (r > 0 && v[0] >= '0' && v[0] <= '9') {
        errno = 0;
        long x = strtol(v, &end, 10);
        if (!errno && !*end && x >= min && x <= max) {
            *out = x;
            return 0;
        }
    }
    reply_error(rq, 400, "bad_request", "invalid value for ?%s: expected an integer "
                "from %ld to %ld", name, min, max);
    return -1;
}

/* Matches the undecoded path against a route pattern, decoding the '*'
 * segments into rq->path_arg. 1 match, 0 no match, -1 malformed escape. */
static int match_pattern(const char *pat, const char *url, svc_request *rq)
{
    int arg = 0;
    for (;;) {
        if (*pat != '/' || *url != '/')
            return 0;
        pat++;
        url++;
        size_t pl = strcspn(pat, "/"), ul = strcspn(url, "/");
        if (pl == 1 && *pat == '*') {
            if (ul == 0)
                return 0;
            if (rq && pct_decode(url, ul, 0, rq->path_arg[arg], PATH_ARG_MAX))
                return -1;
            arg++;
        } else if (pl != ul || memcmp(pat, url, pl) != 0) {
            return 0;
        }
        pat += pl;
        url += ul;
        if (!*pat || !*url)
            return !*pat && !*url;
    }
}

/* ---- request body ----------------------------------------------------- */

static int buf_reserve(svc_conn *cc, size_t need)
{
    if (need <= cc->cap)
        return 0;
    size_t ncap = cc->cap ? cc->cap * 2 : 16384;
    if (ncap < need)
        ncap = need;
    if (ncap > cc->limit)
        ncap = need > cc->limit ? need : cc->limit;
    int64_t add = (int64_t)(ncap - cc->cap);
    svc_metrics *m = &cc->srv->metrics;
    int64_t before = atomic_fetch_add(&m->body_bytes, add);
    if (before + add > cc->budget) {
        atomic_fetch_sub(&m->body_bytes, add);
        return -1;
    }
    uint8_t *nb = realloc(cc->buf, ncap);
    if (!nb) {
        atomic_fetch_sub(&m->body_bytes, add);
        return -1;
    }
    cc->buf = nb;
    cc->cap = ncap;
    return 0;
}

static void buf_drop(svc_conn *cc)
{
    free(cc->buf);
    atomic_fetch_sub(&cc->srv->metrics.body_bytes, (int64_t)cc->cap);
    cc->buf = NULL;
    cc->cap = 0;
    cc->len = 0;
}

/* Appends body bytes, or drops them once the request cannot succeed.
 * Returns 0, or -1 to close the connection. */
static int body_append(svc_conn *cc, const char *data, size_t n)
{
    if (!cc->too_large && !cc->overloaded && !cc->bad_form) {
        if (n > cc->limit - cc->len) {
            cc->too_large = 1;
        } else if (buf_reserve(cc, cc->len + n)) {
            cc->overloaded = 1;
        } else {
            memcpy(cc->buf + cc->len, data, n);
            cc->len += n;
            return 0;
        }
    }
    cc->discarded += n;
    return cc->discarded > (uint64_t)cc->limit * DISCARD_FACTOR ? -1 : 0;
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size)
{
    svc_conn *cc = cls;
    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    if (!key || strcmp(key, "photo") != 0)
        return MHD_YES; /* other fields are ignored */
    if (off == 0 && ++cc->photo_parts > 1)
        cc->bad_form = 1;
    return body_append(cc, data, size) ? MHD_NO : MHD_YES;
}

/* ---- authentication --------------------------------------------------- */

static int authenticate(svc_conn *cc, const svc_runtime *rt)
{
    svc_request *rq = &cc->rq;
    const svc_route *route = rq->route;
    const char *h = MHD_lookup_connection_value(cc->mc, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    svc_log *lg = &cc->srv->log;

    if (route->role == ROLE_NONE) {
        rq->role = ROLE_NONE;
        snprintf(rq->who, sizeof rq->who, "-");
        return 0;
    }
    if (rt->tokens) {
        const char *tok;
        size_t len;
        if (h) {
            const svc_token *t;
            if (auth_parse_bearer(h, &tok, &len)) {
                SVC_LOG(lg, LOG_INFO, "auth: malformed Authorization header (%s, %s)",
                        cc->transport == TRANSPORT_TCP ? "tcp" : "unix",
                        endpoint_name(route->endpoint));
                reply_error(rq, 401, "unauthorized",
                            "the Authorization header must be 'Bearer TOKEN'");
                return -1;
            }
            if (!(t = tokens_find(rt->tokens, tok, len))) {
                SVC_LOG(lg, LOG_INFO, "auth: unknown token (%s, %s)",
                        cc->transport == TRANSPORT_TCP ? "tcp" : "unix",
                        endpoint_name(route->endpoint));
                reply_error(rq, 401, "unauthorized", "unknown token");
                return -1;
            }
            rq->role = t->role;
            snprintf(rq->who, sizeof rq->who, "%s", t->name);
        } else if (cc->transport == TRANSPORT_UNIX &&
                   rt->cfg.unix_auth == UNIX_AUTH_OPTIONAL) {
            rq->role = ROLE_ADMIN;
            snprintf(rq->who, sizeof rq->who, "unix");
        } else {
            reply_error(rq, 401, "unauthorized", "a bearer token is required");
            return -1;
        }
    } else if (cc->transport == TRANSPORT_UNIX) {
        rq->role = ROLE_ADMIN;
        snprintf(rq->who, sizeof rq->who, "unix");
    } else {
        /* Loopback TCP without a token file (config_validate refuses
         * other addresses): anonymous, lookups only. */
        rq->role = ROLE_LOOKUP;
        snprintf(rq->who, sizeof rq->who, "anonymous");
    }
    if (rq->role < route->role) {
        SVC_LOG(lg, LOG_INFO, "auth: '%s' (role %s) refused %s", rq->who,
                role_name(rq->role), endpoint_name(route->endpoint));
        reply_error(rq, 403, "forbidden", "'%s' has role %s; this endpoint needs %s",
                    rq->who, role_name(rq->role), role_name(route->role));
        return -1;
    }
    return 0;
}

/* ---- the request cycle ------------------------------------------------ */

static int content_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void queue_answer(svc_conn *cc)
{
    svc_request *rq = &cc->rq;
    if (!rq->response)
        reply_error(rq, 500, "internal", "no answer was produced");
    if (rq->response) {
        if (MHD_queue_response(cc->mc, rq->status, rq->response) != MHD_YES)
            SVC_LOG(&cc->srv->log, LOG_WARN, "cannot queue the answer to a request");
        MHD_destroy_response(rq->response);
        rq->response = NULL;
    }
    cc->responded = 1;
}

static void run_handler(svc_conn *cc)
{
    svc_request *rq = &cc->rq;
    svc_server *srv = cc->srv;
    int slot;

    if (cc->too_large) {
        reply_error(rq, 413, "too_large", "the request body is larger than %zu bytes",
                    cc->limit);
        return;
    }
    if (rq->route->body != BODY_NONE) {
        if (cc->too_large) {
            reply_error(rq, 413, "too_large", "the request body is larger than %zu bytes",
                        cc->limit);
            return;
        }
        if (cc->overloaded) {
            metrics_add(&srv->metrics.overloaded, 1);
            reply_error(rq, 503, "overloaded", "no memory for the request body now; "
                        "try again later");
            return;
        }
        if (cc->bad_form) {
            reply_error(rq, 400, "bad_request", "a multipart body must hold one 'photo' "
                        "file");
            return;
        }
        if (rq->route->body == BODY_MULTIPART && cc->photo_parts == 0) {
            reply_error(rq, 400, "bad_request", "no 'photo' field in the multipart body");
            return;
        }
        if (cc->len == 0) {
            reply_error(rq, 400, "bad_request", "the request body is empty");
            return;
        }
    }
    rq->body = cc->buf;
    rq->body_len = cc->len;
    svc_worker *w = workers_acquire(&srv->workers);
    if (!w) {
        metrics_add(&srv->metrics.overloaded, 1);
        reply_error(rq, 503, "overloaded", "no worker free; try again later");
        return;
    }
    rq->rt = live_acquire(&srv->live, &slot);
    atomic_store(&cc->busy, 1);
    rq->route->handler(rq, w);
    atomic_store(&cc->phase_us, now_micros());
    atomic_store(&cc->busy, 0);
    live_release(&srv->live, slot);
    rq->rt = NULL;
    workers_release(w);
}

static void begin_request(svc_conn *cc, const char *url, const char *method)
{
    svc_server *srv = cc->srv;
    svc_request *rq = &cc->rq;
    const svc_runtime *rt;
    int slot, path_known = 0, bad_escape = 0;
    char allow[64] = "";

    cc->active = 1;
    cc->responded = 0;
    cc->t_start = now_micros();
    cc->endpoint = EP_OTHER;
    cc->len = 0;
    cc->too_large = cc->overloaded = cc->bad_form = 0;
    cc->discarded = 0;
    cc->photo_parts = 0;
    memset(rq, 0, sizeof *rq);
    rq->srv = srv;
    rq->conn = cc->mc;
    rq->transport = cc->transport;
    atomic_fetch_add(&srv->metrics.pending, 1);

    for (size_t i = 0; i < NROUTES; i++) {
        int m = match_pattern(routes[i].pattern, url, NULL);
        if (m == 0)
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, method) == 0) {
            if (match_pattern(routes[i].pattern, url, rq) < 0)
                bad_escape = 1;
            rq->route = &routes[i];
            break;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", routes[i].method);
    }
    if (!rq->route) {
        if (path_known) {
            reply_error(rq, 405, "method_not_allowed", "%s is not allowed here; "
                        "allowed: %s", method, allow);
            if (rq->response)
                MHD_add_response_header(rq->response, MHD_HTTP_HEADER_ALLOW, allow);
        } else {
            reply_error(rq, 404, "not_found", "no such endpoint");
        }
        queue_answer(cc);
        return;
    }
    cc->endpoint = rq->route->endpoint;
    if (bad_escape) {
        reply_error(rq, 400, "bad_request", "malformed percent-escape in the path");
        queue_answer(cc);
        return;
    }
    if (atomic_load(&srv->shutting_down)) {
        reply_error(rq, 503, "shutting_down", "the server is shutting down");
        queue_answer(cc);
        return;
    }

    rt = live_acquire(&srv->live, &slot);
    int refused = authenticate(cc, rt);
    cc->limit = (size_t)rt->cfg.max_body;
    cc->budget = rt->cfg.max_body_memory;
    int64_t max_pending = rt->cfg.max_pending;
    live_release(&srv->live, slot);
    if (refused) {
        queue_answer(cc);
        return;
    }
    if (atomic_load(&srv->metrics.pending) > max_pending) {
        metrics_add(&srv->metrics.overloaded, 1);
        reply_error(rq, 503, "overloaded", "too many requests in progress; try again "
                    "later");
        queue_answer(cc);
        return;
    }
    if (rq->route->body == BODY_NONE) {
        /* Answered at the final call: an answer queued before libmicrohttpd
         * knows the request is complete would close the connection. A body
         * sent anyway is kept up to 64 KiB and ignored. */
        cc->limit = KEEP_BUFFER;
        return;
    }

    const char *ct = MHD_lookup_connection_value(cc->mc, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    switch (rq->route->body) {
    case BODY_IMAGE:
        if (ct && !content_type_is(ct, "application/octet-stream") &&
            strncasecmp(ct, "image/", 6) != 0) {
            reply_error(rq, 415, "unsupported_media_type", "send the image bytes as "
                        "application/octet-stream or image/*");
            queue_answer(cc);
            return;
        }
        break;
    case BODY_JSON:
        if (!content_type_is(ct, "application/json")) {
            reply_error(rq, 415, "unsupported_media_type", "the body must be "
                        "application/json");
            queue_answer(cc);
            return;
        }
        break;
    case BODY_MULTIPART:
        if (!content_type_is(ct, "multipart/form-data") ||
            !(cc->pp = MHD_create_post_processor(cc->mc, 65536, post_iter, cc))) {
            reply_error(rq, 415, "unsupported_media_type", "the body must be "
                        "multipart/form-data with a 'photo' field");
            queue_answer(cc);
            return;
        }
        break;
    case BODY_NONE:
        break;
    }

    const char *cl = MHD_lookup_connection_value(cc->mc, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (!errno && !*end && n > cc->limit) {
            reply_error(rq, 413, "too_large", "the request body (%llu bytes) is larger "
                        "than %zu bytes", n, cc->limit);
            queue_answer(cc);
            return;
        }
        if (!errno && !*end && n > 0 && buf_reserve(cc, (size_t)n)) {
            metrics_add(&srv->metrics.overloaded, 1);
            reply_error(rq, 503, "overloaded", "no memory for the request body now; "
                        "try again later");
            queue_answer(cc);
            return;
        }
    }
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *mc, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    (void)cls;
    (void)version;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    svc_conn *cc = ci ? ci->socket_context : NULL;
    if (!cc)
        return MHD_NO;

    if (!*req_cls) {
        *req_cls = cc;
        begin_request(cc, url, method);
        return MHD_YES;
    }
    if (cc->responded) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (cc->pp) {
            if (!cc->bad_form && MHD_post_process(cc->pp, upload_data, n) != MHD_YES)
                cc->bad_form = 1;
            if (cc->bad_form)
                cc->discarded += n;
            return cc->discarded > (uint64_t)cc->limit * DISCARD_FACTOR ? MHD_NO : MHD_YES;
        }
        return body_append(cc, upload_data, n) ? MHD_NO : MHD_YES;
    }
    if (cc->pp) {
        if (MHD_destroy_post_processor(cc->pp) != MHD_YES)
            cc->bad_form = 1;
        cc->pp = NULL;
    }
    run_handler(cc);
    queue_answer(cc);
    return MHD_YES;
}

static void end_request(svc_conn *cc, int completed)
{
    svc_server *srv = cc->srv;
    if (!cc->active)
        return;
    cc->active = 0;
    uint64_t us = now_micros() - cc->t_start;
    unsigned status = cc->responded ? cc->rq.status : 0;
    metrics_request(&srv->metrics, cc->endpoint, status, us);
    if (!completed || !cc->responded)
        metrics_add(&srv->metrics.aborted, 1);
    atomic_fetch_sub(&srv->metrics.pending, 1);
    if (cc->pp) {
        MHD_destroy_post_processor(cc->pp);
        cc->pp = NULL;
    }
    if (cc->rq.response) {
        MHD_destroy_response(cc->rq.response);
        cc->rq.response = NULL;
    }
    if (cc->cap > KEEP_BUFFER)
        buf_drop(cc);
    cc->len = 0;
    atomic_store(&cc->phase_us, now_micros());
    SVC_LOG(&srv->log, LOG_DEBUG, "request: %s %u %.3f ms %s%s",
            endpoint_name(cc->endpoint), status, (double)us / 1000.0,
            cc->rq.who[0] ? cc->rq.who : "-", completed ? "" : " (aborted)");
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mc;
    svc_conn *cc = *req_cls;
    if (cc)
        end_request(cc, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    *req_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    svc_server *srv = cls;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        svc_conn *cc = calloc(1, sizeof *cc);
        *socket_context = cc;
        if (!cc)
            return; /* on_access refuses the connection */
        cc->srv = srv;
        cc->mc = mc;
        const union MHD_ConnectionInfo *fdi =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        cc->fd = fdi ? fdi->connect_fd : -1;
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        cc->transport = (ai && ai->client_addr && ai->client_addr->sa_family == AF_UNIX)
                            ? TRANSPORT_UNIX
                            : TRANSPORT_TCP;
        atomic_init(&cc->phase_us, now_micros());
        atomic_init(&cc->busy, 0);
        atomic_init(&cc->reaped, 0);
        pthread_mutex_lock(&srv->conns_lock);
        cc->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = cc;
        srv->conns = cc;
        pthread_mutex_unlock(&srv->conns_lock);
        atomic_fetch_add(&srv->metrics.connections, 1);
        return;
    }
    /* MHD_CONNECTION_NOTIFY_CLOSED: the descriptor is still open here
     * (libmicrohttpd closes it after this call), so the reaper, which
     * works under conns_lock, never shuts down a reused descriptor. */
    svc_conn *cc = *socket_context;
    if (!cc)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    if (cc->prev)
        cc->prev->next = cc->next;
    else
        srv->conns = cc->next;
    if (cc->next)
        cc->next->prev = cc->prev;
    pthread_mutex_unlock(&srv->conns_lock);
    end_request(cc, 0);
    buf_drop(cc);
    atomic_fetch_sub(&srv->metrics.connections, 1);
    free(cc);
    *socket_context = NULL;
}

int http_reap(svc_server *srv, double timeout)
{
    uint64_t now = now_micros(), limit = (uint64_t)(timeout * 1e6);
    int n = 0;
    pthread_mutex_lock(&srv->conns_lock);
    for (svc_conn *cc = srv->conns; cc; cc = cc->next) {
        if (atomic_load(&cc->busy) || atomic_load(&cc->reaped) || cc->fd < 0)
            continue;
        if (now - atomic_load(&cc->phase_us) <= limit)
            continue;
        /* libmicrohttpd sees the connection fail and closes it in its
         * own thread. */
        shutdown(cc->fd, SHUT_RDWR);
        atomic_store(&cc->reaped, 1);
        n++;
    }
    pthread_mutex_unlock(&srv->conns_lock);
    if (n)
        metrics_add(&srv->metrics.timeouts, (uint64_t)n);
    return n;
}

int64_t http_pending(svc_server *srv)
{
    return atomic_load(&srv->metrics.pending);
}

/* ---- starting and stopping -------------------------------------------- */

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    svc_server *srv = cls;
    char msg[512];
    if (!log_enabled(&srv->log, LOG_DEBUG))
        return;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_write(&srv->log, LOG_DEBUG, "libmicrohttpd: %s", msg);
}

static struct MHD_Daemon *start_one(svc_server *srv, int fd, int tls, char *err,
                                    size_t errlen)
{
    const svc_config *c = &srv->boot;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls_opts[3] = {
        { MHD_OPTION_END, 0, NULL }, { MHD_OPTION_END, 0, NULL },
        { MHD_OPTION_END, 0, NULL }
    };
    if (tls) {
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
                                               srv->tls_key_pem };
        tls_opts[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
                                               srv->tls_cert_pem };
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, /* first, as libmicrohttpd asks */
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)c->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
        MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!d)
        snprintf(err, errlen, "cannot start the HTTP server%s",
                 tls ? " (TLS: check the certificate and key)" : "");
    return d;
}

int http_start(svc_server *srv, char *err, size_t errlen)
{
    if (srv->unix_fd >= 0) {
        if (!(srv->unix_d = start_one(srv, srv->unix_fd, 0, err, errlen)))
            return -1;
        srv->unix_fd = -1; /* libmicrohttpd owns it now */
    }
    if (srv->tcp_fd >= 0) {
        if (!(srv->tcp_d = start_one(srv, srv->tcp_fd, srv->tls_cert_pem != NULL, err,
                                     errlen)))
            return -1;
        srv->tcp_fd = -1;
    }
    return 0;
}

void http_quiesce(svc_server *srv)
{
    struct MHD_Daemon *ds[2] = { srv->unix_d, srv->tcp_d };
    for (int i = 0; i < 2; i++) {
        if (!ds[i])
            continue;
        MHD_socket fd = MHD_quiesce_daemon(ds[i]);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
}

void http_stop(svc_server *srv)
{
    if (srv->unix_d)
        MHD_stop_daemon(srv->unix_d);
    if (srv->tcp_d)
        MHD_stop_daemon(srv->tcp_d);
    srv->unix_d = srv->tcp_d = NULL;
}
