/*
 * server.h - what phmatchd's modules share: the server object main()
 * owns, the reloadable settings snapshot, the per-thread workers and the
 * request a handler answers.
 *
 * Threads: main() runs the signal loop (reload, request-timeout reaper,
 * shutdown). libmicrohttpd's pool threads run http.c's callbacks and the
 * handlers. Handlers touch only their request, their worker (one thread
 * at a time, taken from a pool) and the server's thread-safe parts
 * (metrics, audit, log, index).
 */
#ifndef SVC_SERVER_H
#define SVC_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "phmatch.h"
#include "quarantine.h"
#include "query.h"
#include "text.h"

/* ---- reloadable snapshot --------------------------------------------- */

/* The settings and tokens in force. Immutable once published. */
typedef struct svc_runtime {
    svc_config cfg;
    svc_tokens *tokens; /* NULL: no tokens configured */
} svc_runtime;

/* Publication without locks on the request path: readers take a slot's
 * reference and recheck that it is still current; main() reuses only a
 * slot nobody references (see runtime.c). */
#define RUNTIME_SLOTS 4
typedef struct svc_live {
    atomic_int current;
    atomic_int refs[RUNTIME_SLOTS];
    svc_runtime *slot[RUNTIME_SLOTS];
} svc_live;

void live_init(svc_live *l, svc_runtime *first);
/* A reference to the current snapshot; *slot is for live_release. */
const svc_runtime *live_acquire(svc_live *l, int *slot);
void live_release(svc_live *l, int slot);
/* main() only: makes rt current. Returns 0, or -1 if every other slot is
 * still referenced (try again shortly; rt is not taken). */
int live_publish(svc_live *l, svc_runtime *rt);
/* Frees every snapshot (at exit, no reader left). */
void live_free(svc_live *l);
void runtime_free(svc_runtime *rt);

/* ---- the index in use -------------------------------------------------- */

/* The open index, published as the settings are (same slot discipline):
 * a request takes a reference to the current slot for its handler, and a
 * worker keeps one to the slot its searcher was made on. A read-only
 * replica (read_only) opens a new file into a free slot and makes it
 * current (index_publish); the old one is closed once no request and no
 * worker refers to it any more (main.c). */
#define INDEX_SLOTS 4
typedef struct svc_indexes {
    atomic_int current;
    atomic_int refs[INDEX_SLOTS];
    phm_index *slot[INDEX_SLOTS]; /* NULL: free, or no index open */
} svc_indexes;

void index_init(svc_indexes *x, phm_index *first);
/* A reference to the current slot (its index in *idx, NULL when no index
 * is open); give it back with index_release. */
int index_acquire(svc_indexes *x, phm_index **idx);
void index_release(svc_indexes *x, int slot);
/* main() only: makes idx current. Returns 0, or -1 if no slot is free
 * (old indexes still in use: try again shortly; idx is not taken). */
int index_publish(svc_indexes *x, phm_index *idx);
/* main() only: closes the indexes that are no longer current and no
 * longer referenced. Returns how many remain open besides the current. */
int index_reap(svc_indexes *x);
/* Closes every index (at exit, no reader left). */
void index_free(svc_indexes *x);

/* ---- workers ---------------------------------------------------------- */


/* What one request thread needs: created once, reused for every request,
 * so hashing and searching allocate nothing once warm. */
typedef struct svc_worker {
    atomic_int busy;
    phm_decoder *dec;
    phm_hasher *hasher;
    phm_searcher *searcher; /* NULL without an index */
    phm_matcher *matcher;   /* over searcher; NULL without an index */
    atomic_int ix_slot;     /* svc_indexes slot searcher is on (a
                               reference), -1: none */
    phm_video_hasher *vh;   /* created at the first video body */
    int64_t vh_duration, vh_frames; /* the limits vh was made with */
    phm_vpdq video;         /* a video body's frames */
    phm_digester *digester; /* every digest */
    phm_pdq *queries;       /* max_batch hashes (grown on reload) */
    size_t queries_cap;
    phm_match_hit *hits;    /* a lookup's match records */
    size_t hits_cap;
    char *text;             /* an answer being written (match records) */
    size_t text_len, text_cap;
    char err[PHM_ERRMSG_MAX];
} svc_worker;

typedef struct svc_workers {
    size_t count;
    svc_worker *w;
} svc_workers;

/* Searchers are made at a worker's first request on an index
 * (worker_bind). */
int workers_init(svc_workers *ws, size_t count, const svc_config *cfg, char *err,
                 size_t errlen);
/* Makes w's searcher and matcher for the index of `slot` (a reference the
 * caller holds; idx NULL: none), unless w has them already; w then holds
 * a reference of its own. 0, or -1 out of memory (w has none). */
int worker_bind(svc_worker *w, svc_indexes *x, int slot, phm_index *idx, char *err,
                size_t errlen);
/* main() only: frees the searchers of idle workers on an index that is no
 * longer current, giving back their references. */
void workers_unbind_stale(svc_workers *ws, svc_indexes *x);
/* A free worker; NULL only if all are busy (more requests than threads:
 * cannot happen while count >= request threads; main() holds an idle one
 * for a moment in workers_unbind_stale, which this waits out). */
svc_worker *workers_acquire(svc_workers *ws);
/* Ends w's request: ends its index snapshot and gives back buffers above
 * WORKER_KEEP_BYTES (counted in m->trimmed_bytes; m may be NULL). */
void workers_release(svc_worker *w, svc_metrics *m);
void workers_free(svc_workers *ws);
/* Room for n entries in w->queries / w->hits. 0 or -1 (out of memory). */
int worker_reserve_queries(svc_worker *w, size_t n);
int worker_reserve_hits(svc_worker *w, size_t n);
/* The video hasher for the settings in force (made or remade when they
 * changed). NULL out of memory. */
phm_video_hasher *worker_video_hasher(svc_worker *w, const svc_config *cfg);

/* What a worker keeps of its decoding buffers between requests: more
 * (an image above ~5 MP as PNG or PNM, a large answer) is given back to
 * the system when the request ends (workers_release). */
#define WORKER_KEEP_BYTES ((size_t)16 << 20)
/* Images of at most this many pixels (RGB within WORKER_KEEP_BYTES) are
 * not charged to the decode budget: their memory is already bounded by
 * the workers' count. */
#define DECODE_FREE_PIXELS ((uint64_t)WORKER_KEEP_BYTES / 3)

/* ---- budgets shared by all workers (workers.c) ------------------------ */

/* What a width x height image is charged in the decode budget, in pixels:
 * its pixels, or 86 a row if more: the PDQ hasher keeps 256 bytes of
 * floats a row (as much as 86 RGB pixels), which dominate for a tall
 * narrow image (10 x 10,000,000: 100 MP, but 2.6 GB to hash). */
static inline uint64_t decode_charge(uint32_t width, uint32_t height)
{
    uint64_t px = (uint64_t)width * height, rows = 86 * (uint64_t)height;
    return px > rows ? px : rows;
}

/* The decode budget: reserves `pixels` (decode_charge of an image's
 * header) in m->decode_pixels unless that would put the pixels being
 * decoded above max_decode_pixels (0: twice max_pixels). 0; -1 over
 * budget now (counted in decode_refused); -2 more than the whole budget.
 * decode_unreserve gives them back. */
int decode_reserve(svc_metrics *m, const svc_config *c, uint64_t pixels);
void decode_unreserve(svc_metrics *m, uint64_t pixels);

/* The largest max_distance a request of `role` may ask for. */
int64_t max_distance_for(const svc_config *c, svc_role role);

/* ---- the server ------------------------------------------------------- */

typedef struct svc_conn svc_conn; /* http.c: one connection */
typedef struct svc_decoders svc_decoders; /* http.c: the decode threads */
typedef struct svc_client svc_client; /* http.c: one client address */

typedef struct svc_server {
    svc_log log;
    svc_metrics metrics;
    svc_live live;
    svc_config boot;      /* settings at start: the restart-only ones apply */
    svc_audit audit;
    svc_quarantine quarantine; /* distinct queries per entry (governance) */
    /* the thread that keeps the quarantine counts in the index (main.c) */
    pthread_t qflush;
    int qflush_on, qflush_failing;
    atomic_int qflush_stop;
    svc_indexes index;    /* the index in use (swapped by read-only replicas) */
    svc_workers workers;
    svc_decoders *decoders; /* large images' threads (http_start .. http_stop) */
    struct MHD_Daemon *unix_d, *tcp_d;
    int unix_fd, tcp_fd;  /* listening sockets (owned until handed over) */
    char tcp_addr[80];    /* "127.0.0.1:8731" as bound */
    char *tls_cert_pem, *tls_key_pem;
    atomic_int shutting_down;
    atomic_int index_truncated; /* index_check saw the file cut short */
    double started;       /* monotonic seconds */
    /* open connections, for the request-timeout reaper and the limits
     * per client and per listener (index svc_transport) */
    pthread_mutex_t conns_lock;
    svc_conn *conns;
    svc_client *clients;
    int64_t open[2];
} svc_server;

/* Monotonic time. */
double now_seconds(void);
uint64_t now_micros(void);

/* ---- requests, as handlers see them ----------------------------------- */

typedef enum svc_transport { TRANSPORT_UNIX = 0, TRANSPORT_TCP = 1 } svc_transport;

typedef struct svc_request svc_request;
typedef void svc_handler_fn(svc_request *rq, svc_worker *w);

/* What a route's body is. */
typedef enum svc_body {
    BODY_NONE,      /* GET/DELETE: no body expected */
    BODY_IMAGE,     /* raw image bytes */
    BODY_MEDIA,     /* raw image or video bytes (or vPDQ text) */
    BODY_JSON,      /* application/json */
    BODY_MULTIPART, /* multipart/form-data with a `photo` field */
    BODY_LIST,      /* a hash list: application/json entries, or a list's
                       text type (json_body.h, entries_body_type) */
} svc_body;

typedef struct svc_route {
    const char *method;
    const char *pattern; /* '*' matches one path segment */
    svc_endpoint endpoint;
    svc_role role;
    svc_body body;
    svc_handler_fn *handler;
} svc_route;

#define PATH_ARGS 2
#define PATH_ARG_MAX 1024

struct svc_request {
    svc_server *srv;
    const svc_runtime *rt;        /* during the handler */
    phm_index *idx;               /* during the handler; NULL: no index open */
    struct MHD_Connection *conn;
    const svc_route *route;
    svc_transport transport;
    svc_role role;
    char who[AUTH_NAME_MAX];      /* token name, "unix" or "-" (open endpoint) */
    const uint8_t *body;
    size_t body_len;
    /* a multipart body's `metadata` and `note` text fields (HMA), NUL
     * terminated, NULL when absent; form_long: one was too long */
    const char *form_text[2];
    int form_long;
    int form_video; /* the multipart file is a `video` field (HMA content) */
    char path_arg[PATH_ARGS][PATH_ARG_MAX]; /* decoded '*' segments */
    /* the answer */
    unsigned status;
    struct MHD_Response *response;
};

/* Answers: exactly one per request. */
void reply_json(svc_request *rq, unsigned status, json_t *body); /* steals body */
void reply_error(svc_request *rq, unsigned status, const char *code, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));
void reply_text(svc_request *rq, unsigned status, const char *content_type, char *text,
                size_t len); /* takes a malloc'd text */
/* HMA 2's answer to a request its schema refuses (flask-openapi3's
 * pydantic validation): 422, [{"type": TYPE, "loc": [FIELD], "msg": MSG}]
 * (loc [] when field is NULL). */
void reply_hma_invalid(svc_request *rq, const char *field, const char *type,
                       const char *msg);
/* The error answer for a libphmatch status from decoding/hashing. */
void reply_phm_error(svc_request *rq, int rc, const char *msg);

/* The request's query arguments (query.h). */
svc_args request_args(svc_request *rq);
/* A query argument, percent-decoded into out. Returns 1 if present, 0 if
 * absent, -1 if malformed or longer than outlen - 1. */
int query_arg(svc_request *rq, const char *name, char *out, size_t outlen);
/* Parses a boolean argument (1/0/true/false/yes/no); absent = 0.
 * Returns 0, or -1 after answering 400. */
int query_bool(svc_request *rq, const char *name, int *out);
/* Parses an integer argument in [min, max]; absent = def. Returns 0, or
 * -1 after answering 400. */
int query_int(svc_request *rq, const char *name, long min, long max, long def,
              long *out);

/* ---- handlers (handlers_*.c) ------------------------------------------ */

svc_handler_fn handle_hash, handle_match, handle_lookup;
svc_handler_fn handle_index_stats, handle_index_add, handle_index_delete_entry,
    handle_index_delete_source;
/* governance (handlers_governance.c) */
svc_handler_fn handle_gov_sources, handle_gov_source_get, handle_gov_source_put,
    handle_gov_quarantine, handle_gov_quarantine_release, handle_gov_disabled,
    handle_gov_disable, handle_gov_enable;
svc_handler_fn handle_healthz, handle_readyz, handle_metrics;
svc_handler_fn handle_hma_lookup, handle_hma_lookup_post, handle_hma_hash;
/* HMA 2 matching (handlers_hma.c) and curation (handlers_hma_curation.c) */
svc_handler_fn handle_hma_status, handle_hma_raw_lookup, handle_hma_index_status,
    handle_hma_compare;
svc_handler_fn handle_hma_banks, handle_hma_bank_create, handle_hma_bank_get,
    handle_hma_bank_put, handle_hma_bank_delete, handle_hma_content_add,
    handle_hma_content_get, handle_hma_content_put, handle_hma_content_delete,
    handle_hma_signal_add;

/* Decodes and hashes the request body (handlers_hash.c). Returns 0, or -1
 * after answering the error (415, 422, ...). *recovered is set when the
 * decoder recovered from damage and accept_recovered allowed it. */
int hash_body(svc_request *rq, svc_worker *w, int dihedral, phm_pdq_result *r,
              phm_image_info *info, int *recovered);
/* A query image's extras: with `trim` its content inside a border, with
 * ?robust=1 (issue 15; docs/ROBUST.md, "Edits at 0.99") the caption cuts,
 * the soft hash and the low-quality search, and always whether its hash
 * is a rotation's corners (docs/ROBUST.md, "Rotation corners"). */
typedef struct robust_extra {
    int trim;                 /* in: look for a border */
    int flatten;              /* in: a picture with transparency also over
                                 white and black (phm_query_options) */
    int robust;               /* in: the cuts and the soft hash too */
    int low_quality_distance; /* in: 0: images below the gate not searched */
    phm_query_hashes q;       /* out: the hashes (phm_hash_mem_query) */
} robust_extra;

/* hash_body, and with `rx` non-NULL the extras rx asks for into rx->q,
 * all from one decode (phm_hash_mem_query). */
int hash_body_trim(svc_request *rq, svc_worker *w, int dihedral, phm_pdq_result *r,
                   phm_image_info *info, int *recovered, robust_extra *rx);

/* 1 if the body is an image whose header reads and announces more than
 * DECODE_FREE_PIXELS (but at most max_pixels): it is hashed by a decode
 * thread, not a request thread (handlers_hash.c). */
int body_is_large_image(const uint8_t *body, size_t len, const svc_config *c);

/* 1 if the body is a video for /v1/match (no image format, no vPDQ text):
 * decoding it takes up to max_duration of video, so it goes to a decode
 * thread too (handlers_hash.c). */
int body_is_video(const uint8_t *body, size_t len);

/* Hashes the body, a video (or its vPDQ text), from memory into
 * w->video as /v1/match does (max_duration, max_frames, max_pixels).
 * 0, or -1 after answering the error (415, 422, 503). */
int hash_video_body(svc_request *rq, svc_worker *w);

/* The fields /v1/hash and /v1/match share: pdq, quality, width, height,
 * format, mode, low_quality, recovered, dihedral. NULL out of memory. */
json_t *image_json(svc_request *rq, const phm_pdq_result *r, const phm_image_info *info,
                   int recovered);

/* What an image's hashes match (libphmatch's phm_match_image with w's
 * matcher: every orientation in r, one hit per entry, nearest first, at
 * most max_matches), gated at min_quality (0: none). Returns the result,
 * valid until the worker is released, or NULL after answering the error
 * (handlers_match.c). */
const phm_match_result *match_image(svc_request *rq, svc_worker *w,
                                    const phm_pdq_result *r, int radius,
                                    int min_quality);
/* match_image, with rx (may be NULL) the query's extras
 * (phm_query_match_options: "trimmed", the cuts, "soft"; the corners
 * rule) and its low-quality search. */
const phm_match_result *match_image_trim(svc_request *rq, svc_worker *w,
                                         const phm_pdq_result *r, const robust_extra *rx,
                                         int radius, int min_quality);

/* The answer to an index call's error rc with its message msg: 404
 * not found, 400 invalid, 507 full, 503 out of memory or a truncated
 * index file, 403 read-only, else 500 (handlers_governance.c). */
void reply_gov_error(svc_request *rq, int rc, const char *msg);

/* Answers 503 and returns -1 when no index is configured. */
int need_index(svc_request *rq);

/* Whether idx's file still holds its pages (phm_index_check): 0, or -1
 * with the message in err when it was cut short under the server. The
 * first failure is logged, and so is the file being whole again
 * (handlers_health.c; called per request and each main-loop tick). */
int index_check(svc_server *srv, phm_index *idx, char *err, size_t errlen);

/* Shared by the match handlers (handlers_match.c): writes the audit
 * records of hits[0..n) (with their orientation when with_orientation)
 * and counts them in the metrics. */
void report_hits(svc_request *rq, const phm_match_hit *hits, size_t n,
                 const phm_pdq *query, int with_orientation);

/* A JSON string of index text: as is when it is UTF-8, else with the
 * bytes above 0x7f replaced by '?'. NULL out of memory. */
json_t *json_text(const char *s);


/* ---- http.c ----------------------------------------------------------- */

/* Sets *srv to a server with nothing open: no socket, no index, empty
 * metrics and audit log, logging at `log_level`, started now. What main()
 * and the handler fuzzer do first. */
void server_init(svc_server *srv, int log_level);
/* Starts libmicrohttpd on the listening sockets already bound in srv
 * (unix_fd and/or tcp_fd). Returns 0 or -1 with err. */
int http_start(svc_server *srv, char *err, size_t errlen);
/* Stops accepting: the listening sockets are closed. */
void http_quiesce(svc_server *srv);
/* Closes every connection and joins the threads. */
void http_stop(svc_server *srv);
/* workers_unbind_stale on every worker: request and decode threads'. */
void http_unbind_stale(svc_server *srv);
/* Requests in progress (headers received, answer not yet sent). */
int64_t http_pending(svc_server *srv);
/* Closes connections that have taken longer than request_timeout to send
 * a request or receive its answer, or longer than header_timeout to send
 * a request's headers (counted from the connection's start or its
 * previous answer). Returns how many. */
int http_reap(svc_server *srv, double timeout, double header_timeout);

#endif /* SVC_SERVER_H */
