/*
 * http.c - a thin layer over libmicrohttpd: the request cycle (routing,
 * authentication, limits and overload answers, body gathering, the
 * handler), JSON answers and errors, and the bookkeeping the
 * request-timeout reaper and the metrics need. What it decides on plain
 * strings is elsewhere: route.c, auth.c, query.c, body.c, text.c.
 *
 * libmicrohttpd parses HTTP; we never do. It calls on_access() once when
 * a request's headers are in (begin_request: route, auth, limits), then
 * with each piece of body, then once more at the end (run_handler: the
 * handler runs and the answer is queued). Requests without a body are
 * answered from the last call too. An image above DECODE_FREE_PIXELS is
 * hashed by one of the decode threads instead (svc_decoders, below): the
 * connection is suspended meanwhile, so a request thread never spends a
 * second on one image while the other connections it serves wait; the
 * decode thread resumes it and the last call queues the answer.
 *
 * The URL is given to us undecoded (the unescape callback does nothing),
 * so that "%2F" inside an entry id is not taken for a path separator;
 * path segments and query values are percent-decoded one at a time
 * (route.c, query.c).
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

#include "body.h"
#include "query.h"
#include "route.h"
#include "server.h"
#include "text.h"

/* A client address with open TCP connections: what the limits per
 * client count. Unix-socket clients have none (they all share one
 * address, and the socket's permissions already choose them). */
struct svc_client {
    svc_client *next;            /* srv->clients, under srv->conns_lock */
    int family;
    unsigned char addr[16];
    int64_t conns;               /* under srv->conns_lock */
    atomic_int_fast64_t body_bytes; /* its body buffers (body.c) */
};

struct svc_conn {
    svc_server *srv;
    struct MHD_Connection *mc;
    int fd;
    svc_transport transport;
    svc_client *client;          /* NULL on the Unix socket */
    int refused;                 /* over a connection limit: being closed */
    svc_conn *prev, *next;       /* srv->conns, under srv->conns_lock */
    atomic_uint_fast64_t phase_us; /* since when the reaper's clock runs */
    atomic_int busy;             /* a handler is running: not reaped */
    atomic_int in_request;       /* its headers are in: request_timeout */
    atomic_int reaped;
    /* the request in progress */
    int active;
    int deferred;                /* enum deferral: with a decode thread */
    int responded;
    uint64_t t_start;
    svc_endpoint endpoint;
    svc_request rq;
    svc_bodybuf body;
    struct MHD_PostProcessor *pp;
};

/* Where a request handed to the decode threads is. */
enum deferral {
    DEFER_NONE = 0,
    DEFER_QUEUED,   /* suspended, waiting for or with a decode thread */
    DEFER_ANSWERED, /* resumed with its answer in rq.response */
    DEFER_DROPPED,  /* resumed without an answer: its connection was reaped */
};

/* The decode threads: a bounded queue of suspended connections, each
 * hashed by a thread with a worker of its own. */
struct svc_decoders {
    svc_server *srv;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    svc_conn **queue;            /* ring of cap */
    size_t cap, head, len;
    int stop;                    /* under lock: answer what is left 503 */
    size_t nthreads;             /* started */
    pthread_t *threads;
    svc_workers workers;
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
    /* A message may quote a hostile name that is not UTF-8. */
    char text[3 * sizeof msg];
    phm_utf8_repair(msg, strlen(msg), text, sizeof text);
    /* HMA's routes answer as HMA's Flask error handler does. */
    json_t *o = route_is_hma(rq->route)
                    ? json_pack("{s:s}", "message", text)
                    : json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", text);
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

void reply_hma_invalid(svc_request *rq, const char *field, const char *type,
                       const char *msg)
{
    json_t *loc = field ? json_pack("[s]", field) : json_array();
    reply_json(rq, 422, json_pack("[{s:s, s:o, s:s}]", "type", type, "loc", loc, "msg", msg));
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

/* ---- query arguments --------------------------------------------------- */

static const char *mhd_arg(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

svc_args request_args(svc_request *rq)
{
    return (svc_args){ mhd_arg, rq->conn };
}

int query_arg(svc_request *rq, const char *name, char *out, size_t outlen)
{
    svc_args a = request_args(rq);
    return args_text(&a, name, out, outlen);
}

int query_bool(svc_request *rq, const char *name, int *out)
{
    svc_args a = request_args(rq);
    if (args_bool(&a, name, out) == 0)
        return 0;
    reply_error(rq, 400, "bad_request", "invalid value for ?%s: expected 1 or 0", name);
    return -1;
}

int query_int(svc_request *rq, const char *name, long min, long max, long def, long *out)
{
    svc_args a = request_args(rq);
    if (args_int(&a, name, min, max, def, out) == 0)
        return 0;
    reply_error(rq, 400, "bad_request", "invalid value for ?%s: expected an integer "
                "from %ld to %ld", name, min, max);
    return -1;
}

/* ---- multipart bodies --------------------------------------------------- */

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
    return body_form_piece(&cc->body, key, off, data, size) ? MHD_NO : MHD_YES;
}

/* ---- authentication --------------------------------------------------- */

static int authenticate(svc_conn *cc, const svc_runtime *rt)
{
    svc_request *rq = &cc->rq;
    const svc_route *route = rq->route;
    const char *h = MHD_lookup_connection_value(cc->mc, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    const char *via = cc->transport == TRANSPORT_TCP ? "tcp" : "unix";
    const char *ep = endpoint_name(route->endpoint);
    svc_log *lg = &cc->srv->log;

    switch (auth_decide(rt->tokens, cc->transport == TRANSPORT_TCP,
                        rt->cfg.unix_auth == UNIX_AUTH_REQUIRED, h, route->role, &rq->role,
                        rq->who)) {
    case AUTH_OK:
        return 0;
    case AUTH_MALFORMED:
        SVC_LOG(lg, LOG_INFO, "auth: malformed Authorization header (%s, %s)", via, ep);
        reply_error(rq, 401, "unauthorized", "the Authorization header must be 'Bearer "
                    "TOKEN'");
        break;
    case AUTH_UNKNOWN:
        SVC_LOG(lg, LOG_INFO, "auth: unknown token (%s, %s)", via, ep);
        reply_error(rq, 401, "unauthorized", "unknown token");
        break;
    case AUTH_MISSING:
        reply_error(rq, 401, "unauthorized", "a bearer token is required");
        break;
    case AUTH_NO_TOKENS:
        SVC_LOG(lg, LOG_WARN, "auth: a token is required (%s, %s) but no token file is "
                "configured", via, ep);
        reply_error(rq, 401, "unauthorized", "a bearer token is required and this server "
                    "has no tokens configured");
        break;
    case AUTH_FORBIDDEN:
        SVC_LOG(lg, LOG_INFO, "auth: '%s' (role %s) refused %s", rq->who,
                role_name(rq->role), ep);
        reply_error(rq, 403, "forbidden", "'%s' has role %s; this endpoint needs %s",
                    rq->who, role_name(rq->role), role_name(route->role));
        break;
    }
    return -1;
}

/* ---- the request cycle ------------------------------------------------ */

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

/* Whether the route changes the index (refused by a read-only server). */
static int route_writes(const svc_route *r)
{
    switch (r->endpoint) {
    case EP_INDEX_ADD:
    case EP_INDEX_DELETE_ENTRY:
    case EP_INDEX_DELETE_SOURCE:
        return 1;
    case EP_INDEX_GOVERNANCE:
        return strcmp(r->method, "GET") != 0;
    default:
        return 0;
    }
}

/* Runs the route's handler with w, then gives w back. */
static void call_handler(svc_conn *cc, svc_worker *w)
{
    svc_request *rq = &cc->rq;
    svc_server *srv = cc->srv;
    int slot;

    rq->rt = live_acquire(&srv->live, &slot);
    int islot = index_acquire(&srv->index, &rq->idx);
    atomic_store(&cc->busy, 1);
    /* A file cut short under the server (LMDB would read its missing
     * pages as a SIGBUS) is a 503 index_truncated. worker_bind runs
     * first: a searcher it makes checks the file itself and fails on
     * it, so the check is asked before a failed bind is taken for
     * overload. Routes that do not use the index still run. */
    int uses = route_uses_index(rq->route);
    int unbound = worker_bind(w, &srv->index, islot, rq->idx, w->err, sizeof w->err);
    if (uses && rq->idx && index_check(srv, rq->idx, w->err, sizeof w->err))
        reply_error(rq, 503, "index_truncated", "%s", w->err);
    else if (unbound && uses)
        reply_error(rq, 503, "overloaded", "%s; try again later", w->err);
    else if (srv->boot.read_only && route_writes(rq->route))
        reply_error(rq, 403, "read_only", "this server serves a read-only copy of the "
                    "index (read_only): send changes to the primary");
    else
        rq->route->handler(rq, w);
    atomic_store(&cc->phase_us, now_micros());
    atomic_store(&cc->busy, 0);
    index_release(&srv->index, islot);
    rq->idx = NULL;
    live_release(&srv->live, slot);
    rq->rt = NULL;
    workers_release(w, &srv->metrics);
}

/* Hands cc's request to the decode threads: suspends its connection
 * (from on_access, as libmicrohttpd asks) and queues it. 0, or -1 if the
 * queue is full or the threads are stopping (nothing done). */
static int defer(svc_decoders *ds, svc_conn *cc)
{
    pthread_mutex_lock(&ds->lock);
    if (ds->stop || ds->len >= ds->cap) {
        pthread_mutex_unlock(&ds->lock);
        return -1;
    }
    cc->deferred = DEFER_QUEUED;
    MHD_suspend_connection(cc->mc);
    ds->queue[(ds->head + ds->len) % ds->cap] = cc;
    ds->len++;
    pthread_cond_signal(&ds->cond);
    pthread_mutex_unlock(&ds->lock);
    return 0;
}

/* A decode thread: hashes the queued requests one at a time with its
 * worker and resumes their connections. Once stopping, what is left in
 * the queue is answered 503 without decoding; the thread returns when the
 * queue is empty. A connection the reaper closed while it waited
 * (request_timeout) is resumed without work: libmicrohttpd then closes
 * it. */
static void *decode_thread(void *arg)
{
    svc_decoders *ds = arg;

    for (;;) {
        svc_worker *w = NULL;
        pthread_mutex_lock(&ds->lock);
        while (ds->len == 0 && !ds->stop)
            pthread_cond_wait(&ds->cond, &ds->lock);
        if (ds->len == 0) {
            pthread_mutex_unlock(&ds->lock);
            break;
        }
        svc_conn *cc = ds->queue[ds->head];
        ds->head = (ds->head + 1) % ds->cap;
        ds->len--;
        int stop = ds->stop;
        pthread_mutex_unlock(&ds->lock);

        if (atomic_load(&cc->reaped)) {
            cc->deferred = DEFER_DROPPED;
        } else {
            /* A worker per request (as many as threads: one is free), so
             * that an idle one can be moved to a swapped index. */
            if (!stop)
                w = workers_acquire(&ds->workers);
            if (stop)
                reply_error(&cc->rq, 503, "shutting_down", "the server is shutting down");
            else if (!w)
                reply_error(&cc->rq, 503, "overloaded", "no worker free; try again later");
            else
                call_handler(cc, w); /* gives w back */
            cc->deferred = DEFER_ANSWERED;
        }
        /* After this cc belongs to libmicrohttpd's thread again. */
        MHD_resume_connection(cc->mc);
    }
    return NULL;
}

static void decoders_stop(svc_decoders *ds)
{
    pthread_mutex_lock(&ds->lock);
    ds->stop = 1;
    pthread_cond_broadcast(&ds->cond);
    pthread_mutex_unlock(&ds->lock);
    for (size_t i = 0; i < ds->nthreads; i++)
        pthread_join(ds->threads[i], NULL);
    workers_free(&ds->workers);
    pthread_cond_destroy(&ds->cond);
    pthread_mutex_destroy(&ds->lock);
    free(ds->threads);
    free(ds->queue);
    free(ds);
}

static svc_decoders *decoders_start(svc_server *srv, char *err, size_t errlen)
{
    const svc_config *c = &srv->boot;
    size_t n = (size_t)c->decode_threads;
    svc_decoders *ds = calloc(1, sizeof *ds);
    if (!ds) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ds->srv = srv;
    ds->cap = c->decode_queue > 0 ? (size_t)c->decode_queue : 1;
    pthread_mutex_init(&ds->lock, NULL);
    pthread_cond_init(&ds->cond, NULL);
    ds->queue = calloc(ds->cap, sizeof *ds->queue);
    ds->threads = calloc(n, sizeof *ds->threads);
    if (!ds->queue || !ds->threads) {
        snprintf(err, errlen, "out of memory");
        decoders_stop(ds);
        return NULL;
    }
    if (c->decode_queue == 0)
        ds->stop = 1; /* no queue: every large image is refused */
    if (workers_init(&ds->workers, n, c, err, errlen)) {
        decoders_stop(ds);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (pthread_create(&ds->threads[i], NULL, decode_thread, ds)) {
            snprintf(err, errlen, "cannot start a decode thread");
            decoders_stop(ds);
            return NULL;
        }
        ds->nthreads++;
    }
    return ds;
}

void http_unbind_stale(svc_server *srv)
{
    workers_unbind_stale(&srv->workers, &srv->index);
    if (srv->decoders)
        workers_unbind_stale(&srv->decoders->workers, &srv->index);
}

/* 1 if the request went to the decode threads (its connection is
 * suspended; nothing to queue now), else 0 with the answer in rq. */
static int run_handler(svc_conn *cc)
{
    svc_request *rq = &cc->rq;
    svc_server *srv = cc->srv;
    int slot;

    svc_bodybuf *b = &cc->body;
    if (b->too_large) {
        reply_error(rq, 413, "too_large", "the request body is larger than %zu bytes",
                    b->limit);
        return 0;
    }
    if (rq->route->body != BODY_NONE) {
        if (b->overloaded) {
            metrics_add(&srv->metrics.overloaded, 1);
            reply_error(rq, 503, "overloaded", "no memory for the request body now%s; "
                        "try again later", b->overloaded == 2 ? " for this client" : "");
            return 0;
        }
        if (b->bad_form) {
            reply_error(rq, 400, "bad_request", "a multipart body must hold one 'photo'%s "
                        "file", route_takes_video(rq->route) ? " or 'video'" : "");
            return 0;
        }
        if (rq->route->body == BODY_MULTIPART && b->photo_parts == 0) {
            reply_error(rq, 400, "bad_request", "no 'photo'%s field in the multipart body",
                        route_takes_video(rq->route) ? " or 'video'" : "");
            return 0;
        }
        if (b->video_part && !route_takes_video(rq->route)) {
            reply_error(rq, 400, "bad_request", "this endpoint takes a 'photo' field, not "
                        "a 'video'");
            return 0;
        }
        if (b->len == 0) {
            reply_error(rq, 400, "bad_request", "the request body is empty");
            return 0;
        }
    }
    rq->body = b->buf;
    rq->body_len = b->len;
    for (int i = 0; i < 2; i++)
        rq->form_text[i] = b->form_len[i] ? b->form_text[i] : NULL;
    rq->form_long = b->form_long;
    rq->form_video = b->video_part;
    if (srv->decoders && (rq->route->body == BODY_IMAGE || rq->route->body == BODY_MEDIA ||
                          rq->route->body == BODY_MULTIPART)) {
        const svc_runtime *rt = live_acquire(&srv->live, &slot);
        int large = body_is_large_image(rq->body, rq->body_len, &rt->cfg) ||
                    ((rq->route->body == BODY_MEDIA || rq->form_video) &&
                     body_is_video(rq->body, rq->body_len));
        live_release(&srv->live, slot);
        if (large) {
            if (defer(srv->decoders, cc) == 0)
                return 1;
            metrics_add(&srv->metrics.overloaded, 1);
            metrics_add(&srv->metrics.decode_queue_refused, 1);
            reply_error(rq, 503, "overloaded", "too many large images or videos waiting to be "
                        "decoded (decode_queue); try again later");
            return 0;
        }
    }
    svc_worker *w = workers_acquire(&srv->workers);
    if (!w) {
        metrics_add(&srv->metrics.overloaded, 1);
        reply_error(rq, 503, "overloaded", "no worker free; try again later");
        return 0;
    }
    call_handler(cc, w);
    return 0;
}

/* ---- framing headers --------------------------------------------------- */

static enum MHD_Result count_content_length(void *cls, enum MHD_ValueKind kind,
                                            const char *key, const char *value)
{
    (void)kind;
    (void)value;
    if (key && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        ++*(unsigned *)cls;
    return MHD_YES;
}

/* More than one Content-Length header: libmicrohttpd frames the body by
 * one of them, a proxy in front may have used another (request
 * smuggling), so the request is refused whatever the values. */
static int duplicate_content_length(struct MHD_Connection *mc)
{
    unsigned n = 0;
    MHD_get_connection_values(mc, MHD_HEADER_KIND, count_content_length, &n);
    return n > 1;
}

static void begin_request(svc_conn *cc, const char *url, const char *method)
{
    svc_server *srv = cc->srv;
    svc_request *rq = &cc->rq;
    const svc_runtime *rt;
    int slot;
    char allow[ROUTE_ALLOW_MAX];

    cc->active = 1;
    atomic_store(&cc->in_request, 1);
    cc->responded = 0;
    cc->t_start = now_micros();
    cc->endpoint = EP_OTHER;
    body_begin(&cc->body, BODY_KEEP_BUFFER, 0);
    memset(rq, 0, sizeof *rq);
    rq->srv = srv;
    rq->conn = cc->mc;
    rq->transport = cc->transport;
    atomic_fetch_add(&srv->metrics.pending, 1);

    if (duplicate_content_length(cc->mc)) {
        reply_error(rq, 400, "bad_request", "more than one Content-Length header");
        queue_answer(cc);
        return;
    }
    route_result found = route_find(method, url, &rq->route, rq->path_arg, allow);
    if (found == ROUTE_NO_METHOD) {
        reply_error(rq, 405, "method_not_allowed", "%s is not allowed here; allowed: %s",
                    method, allow);
        if (rq->response)
            MHD_add_response_header(rq->response, MHD_HTTP_HEADER_ALLOW, allow);
        queue_answer(cc);
        return;
    }
    if (found == ROUTE_NOT_FOUND) {
        reply_error(rq, 404, "not_found", "no such endpoint");
        queue_answer(cc);
        return;
    }
    cc->endpoint = rq->route->endpoint;
    if (found == ROUTE_BAD_ESCAPE) {
        reply_error(rq, 400, "bad_request", "malformed percent-escape in the path");
        queue_answer(cc);
        return;
    }
    if (found == ROUTE_TOO_LONG) {
        reply_error(rq, 400, "bad_request", "a path segment is longer than %d bytes",
                    PATH_ARG_MAX - 1);
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
    size_t limit = (size_t)rt->cfg.max_body;
    int64_t budget = rt->cfg.max_body_memory;
    int64_t client_budget = rt->cfg.max_body_memory_per_client;
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
        body_begin(&cc->body, BODY_KEEP_BUFFER, budget);
        body_expect(&cc->body, 0, client_budget);
        return;
    }
    body_begin(&cc->body, limit, budget);

    const char *ct = MHD_lookup_connection_value(cc->mc, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (route_refuses_url(rq->route) &&
        MHD_lookup_connection_value(cc->mc, MHD_GET_ARGUMENT_KIND, "url")) {
        reply_error(rq, 400, "bad_request", "?url= is not supported: phmatchd never "
                    "fetches URLs; upload the content as multipart/form-data instead");
        queue_answer(cc);
        return;
    }
    const char *why = route_check_type(rq->route, ct);
    if (!why && rq->route->body == BODY_MULTIPART &&
        !(cc->pp = MHD_create_post_processor(cc->mc, 65536, post_iter, cc)))
        why = "the body must be multipart/form-data with a 'photo' field";
    if (why) {
        reply_error(rq, 415, "unsupported_media_type", "%s", why);
        queue_answer(cc);
        return;
    }

    const char *cl = MHD_lookup_connection_value(cc->mc, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (!errno && !*end && n > limit) {
            reply_error(rq, 413, "too_large", "the request body (%llu bytes) is larger "
                        "than %zu bytes", n, limit);
            queue_answer(cc);
            return;
        }
        /* Nothing is reserved from the declared length: memory is
         * charged as the bytes arrive (body.c). */
        if (!errno && !*end)
            body_expect(&cc->body, (size_t)n, client_budget);
        else
            body_expect(&cc->body, 0, client_budget);
    } else {
        body_expect(&cc->body, 0, client_budget);
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
    if (!cc || cc->refused)
        return MHD_NO;

    if (!*req_cls) {
        *req_cls = cc;
        begin_request(cc, url, method);
        return MHD_YES;
    }
    if (cc->deferred) {
        /* Resumed by a decode thread (libmicrohttpd calls again). */
        int dropped = cc->deferred == DEFER_DROPPED;
        cc->deferred = DEFER_NONE;
        if (dropped)
            return MHD_NO;
        queue_answer(cc);
        return MHD_YES;
    }
    if (cc->responded) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        svc_bodybuf *b = &cc->body;
        int was_overloaded = b->overloaded, rc;
        *upload_data_size = 0;
        if (cc->pp) {
            if (b->bad_form || MHD_post_process(cc->pp, upload_data, n) != MHD_YES ||
                b->bad_form)
                rc = body_form_failed(b, n);
            else
                rc = 0;
        } else {
            rc = body_append(b, upload_data, n);
        }
        /* Counted when it happens: a stalled upload never gets its 503. */
        if (!was_overloaded && b->overloaded)
            metrics_add(b->overloaded == 2 ? &cc->srv->metrics.body_refused_client
                                           : &cc->srv->metrics.body_refused_total, 1);
        return rc ? MHD_NO : MHD_YES;
    }
    if (cc->pp) {
        if (MHD_destroy_post_processor(cc->pp) != MHD_YES)
            body_form_failed(&cc->body, 0);
        cc->pp = NULL;
    }
    if (run_handler(cc))
        return MHD_YES;
    queue_answer(cc);
    return MHD_YES;
}

static void end_request(svc_conn *cc, int completed)
{
    svc_server *srv = cc->srv;
    if (!cc->active)
        return;
    cc->active = 0;
    atomic_store(&cc->in_request, 0);
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
    body_end(&cc->body);
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

/* The key of a client address, port aside: the IPv4 address, or the
 * IPv6 /64 prefix (one site's hosts get one, and an attacker's /64 gives
 * it 2^64 addresses). 0, or -1 for other families. */
static int client_key(const struct sockaddr *sa, int *family, unsigned char addr[16])
{
    memset(addr, 0, 16);
    if (!sa)
        return -1;
    *family = sa->sa_family;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        memcpy(addr, &s4->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(addr, &s6->sin6_addr, 8);
        return 0;
    }
    return -1;
}

/* Counts a new connection against the limits, under conns_lock: 0, or
 * -1 if it must be refused (the metric counted). A TCP connection
 * gets its client record. */
static int admit(svc_server *srv, svc_conn *cc, const struct sockaddr *sa)
{
    int slot;
    const svc_runtime *rt = live_acquire(&srv->live, &slot);
    int64_t per_client = rt->cfg.max_connections_per_client;
    live_release(&srv->live, slot);
    int64_t total = srv->boot.max_connections; /* restart-only */
    int family;
    unsigned char addr[16];

    if (srv->open[cc->transport] >= total) {
        metrics_add(&srv->metrics.conn_refused_total, 1);
        return -1;
    }
    if (cc->transport == TRANSPORT_TCP && client_key(sa, &family, addr) == 0) {
        svc_client *c;
        for (c = srv->clients; c; c = c->next)
            if (c->family == family && memcmp(c->addr, addr, 16) == 0)
                break;
        if (c && c->conns >= per_client) {
            metrics_add(&srv->metrics.conn_refused_client, 1);
            return -1;
        }
        if (!c) {
            if (!(c = calloc(1, sizeof *c)))
                return -1;
            c->family = family;
            memcpy(c->addr, addr, 16);
            atomic_init(&c->body_bytes, 0);
            c->next = srv->clients;
            srv->clients = c;
        }
        c->conns++;
        cc->client = c;
    }
    srv->open[cc->transport]++;
    return 0;
}

/* Undoes admit(), under conns_lock, once the body buffer is freed. */
static void release_client(svc_server *srv, svc_conn *cc)
{
    srv->open[cc->transport]--;
    svc_client *c = cc->client;
    cc->client = NULL;
    if (!c || --c->conns > 0)
        return;
    for (svc_client **p = &srv->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    free(c);
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
        const struct sockaddr *sa = ai ? ai->client_addr : NULL;
        body_init(&cc->body, &srv->metrics.body_bytes);
        cc->transport = (sa && sa->sa_family == AF_UNIX) ? TRANSPORT_UNIX : TRANSPORT_TCP;
        atomic_init(&cc->phase_us, now_micros());
        atomic_init(&cc->busy, 0);
        atomic_init(&cc->in_request, 0);
        atomic_init(&cc->reaped, 0);
        pthread_mutex_lock(&srv->conns_lock);
        if (admit(srv, cc, sa)) {
            pthread_mutex_unlock(&srv->conns_lock);
            /* Closed at once: libmicrohttpd sees the end of the stream
             * and closes it; nothing of it is counted. */
            cc->refused = 1;
            if (cc->fd >= 0)
                shutdown(cc->fd, SHUT_RDWR);
            return;
        }
        if (cc->client)
            body_set_client(&cc->body, &cc->client->body_bytes);
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
    *socket_context = NULL;
    if (cc->refused) {
        free(cc);
        return;
    }
    pthread_mutex_lock(&srv->conns_lock);
    if (cc->prev)
        cc->prev->next = cc->next;
    else
        srv->conns = cc->next;
    if (cc->next)
        cc->next->prev = cc->prev;
    pthread_mutex_unlock(&srv->conns_lock);
    end_request(cc, 0);
    body_free(&cc->body);
    pthread_mutex_lock(&srv->conns_lock);
    release_client(srv, cc);
    pthread_mutex_unlock(&srv->conns_lock);
    atomic_fetch_sub(&srv->metrics.connections, 1);
    free(cc);
}

int http_reap(svc_server *srv, double timeout, double header_timeout)
{
    uint64_t now = now_micros(), limit = (uint64_t)(timeout * 1e6);
    uint64_t hlimit = (uint64_t)(header_timeout * 1e6);
    int n = 0, nh = 0;
    if (hlimit > limit)
        hlimit = limit;
    pthread_mutex_lock(&srv->conns_lock);
    for (svc_conn *cc = srv->conns; cc; cc = cc->next) {
        if (atomic_load(&cc->busy) || atomic_load(&cc->reaped) || cc->fd < 0)
            continue;
        /* Before its headers are in (idle keep-alive included), a
         * connection has header_timeout; then request_timeout. */
        int headers = !atomic_load(&cc->in_request);
        /* A request may end after `now` was read: its phase_us is later
         * (and now - phase_us would wrap around to a huge age). */
        uint64_t since = atomic_load(&cc->phase_us);
        if (since >= now || now - since <= (headers ? hlimit : limit))
            continue;
        /* libmicrohttpd sees the connection fail and closes it in its
         * own thread. */
        shutdown(cc->fd, SHUT_RDWR);
        atomic_store(&cc->reaped, 1);
        if (headers && hlimit < limit)
            nh++;
        else
            n++;
    }
    pthread_mutex_unlock(&srv->conns_lock);
    if (n)
        metrics_add(&srv->metrics.timeouts, (uint64_t)n);
    if (nh)
        metrics_add(&srv->metrics.header_timeouts, (uint64_t)nh);
    return n + nh;
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
    __attribute__((format(printf, 2, 0)));
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
                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
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
        /* Our own limits (admit) close excess connections at once;
         * libmicrohttpd's, above them, would leave them waiting in the
         * listen queue. */
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(c->max_connections + c->max_connections / 4 + 16 * c->threads),
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

void server_init(svc_server *srv, int log_level)
{
    memset(srv, 0, sizeof *srv);
    srv->unix_fd = srv->tcp_fd = -1;
    atomic_init(&srv->index_truncated, 0);
    log_init(&srv->log, log_level);
    metrics_init(&srv->metrics);
    audit_init(&srv->audit);
    quarantine_init(&srv->quarantine);
    index_init(&srv->index, NULL);
    pthread_mutex_init(&srv->conns_lock, NULL);
    atomic_init(&srv->shutting_down, 0);
    srv->started = now_seconds();
}

int http_start(svc_server *srv, char *err, size_t errlen)
{
    if (!(srv->decoders = decoders_start(srv, err, errlen)))
        return -1;
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
    /* First the decode threads: they answer what waits and resume every
     * connection they hold (libmicrohttpd must not stop with a suspended
     * one). */
    if (srv->decoders)
        decoders_stop(srv->decoders);
    srv->decoders = NULL;
    if (srv->unix_d)
        MHD_stop_daemon(srv->unix_d);
    if (srv->tcp_d)
        MHD_stop_daemon(srv->tcp_d);
    srv->unix_d = srv->tcp_d = NULL;
}
