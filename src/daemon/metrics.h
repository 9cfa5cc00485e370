/*
 * metrics.h - counters for /metrics (Prometheus text format 0.0.4):
 * requests by endpoint and status, a latency histogram per endpoint,
 * matches, hashes, overloads, timeouts. Every counter is a relaxed atomic:
 * request threads add without locks; a scrape reads each once.
 */
#ifndef SVC_METRICS_H
#define SVC_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Endpoints, as labelled in metrics. */
typedef enum svc_endpoint {
    EP_HASH = 0,
    EP_MATCH,
    EP_LOOKUP,
    EP_INDEX_STATS,
    EP_INDEX_ADD,
    EP_INDEX_DELETE_ENTRY,
    EP_INDEX_DELETE_SOURCE,
    EP_HEALTHZ,
    EP_READYZ,
    EP_METRICS,
    EP_HMA_LOOKUP,
    EP_HMA_HASH,
    EP_INDEX_GOVERNANCE, /* /v1/index/sources..., quarantine, disabled */
    EP_HMA_CURATION, /* HMA's /c/banks, /c/bank/... */
    EP_OTHER, /* no route: 404 and 405 */
    EP_COUNT
} svc_endpoint;

/* The statuses phmatchd answers with; others count as "other". */
#define METRICS_STATUSES 16
#define METRICS_BUCKETS 15

typedef struct svc_metrics {
    atomic_uint_fast64_t requests[EP_COUNT][METRICS_STATUSES];
    atomic_uint_fast64_t latency[EP_COUNT][METRICS_BUCKETS]; /* not cumulative */
    atomic_uint_fast64_t latency_sum_us[EP_COUNT];
    atomic_uint_fast64_t matches;          /* matches reported */
    atomic_uint_fast64_t images;           /* images hashed */
    atomic_uint_fast64_t videos;           /* videos hashed (/v1/match) */
    atomic_uint_fast64_t lookups;          /* hashes looked up */
    atomic_uint_fast64_t overloaded;       /* 503 for lack of capacity */
    atomic_uint_fast64_t timeouts;         /* connections closed by request_timeout */
    atomic_uint_fast64_t auth_failures;    /* 401 and 403 */
    atomic_uint_fast64_t aborted;          /* requests ended without an answer sent */
    atomic_int_fast64_t connections;       /* open now */
    atomic_int_fast64_t pending;           /* requests in progress now */
    atomic_int_fast64_t body_bytes;        /* request body memory now */
    atomic_uint_fast64_t reloads;
    atomic_uint_fast64_t index_swaps;      /* read_only: new index files opened */
    atomic_uint_fast64_t index_swap_failures; /* ... that could not be opened */
    atomic_uint_fast64_t index_swapped_at; /* Unix time of the last swap */
    /* limits per client and in total (http.c) */
    atomic_uint_fast64_t conn_refused_client; /* over max_connections_per_client */
    atomic_uint_fast64_t conn_refused_total;  /* over max_connections */
    atomic_uint_fast64_t body_refused_client; /* over max_body_memory_per_client */
    atomic_uint_fast64_t body_refused_total;  /* over max_body_memory */
    atomic_uint_fast64_t header_timeouts;     /* closed by header_timeout */
    /* budgets (workers.c) */
    atomic_int_fast64_t decode_pixels;     /* pixels being decoded now: the budget */
    atomic_uint_fast64_t decode_refused;   /* 503: over max_decode_pixels */
    atomic_uint_fast64_t decode_queue_refused; /* 503: decode_queue full (http.c) */
    atomic_uint_fast64_t cost_refused;     /* 413: over max_lookup_cost */
    atomic_uint_fast64_t trimmed_bytes;    /* worker buffers given back */
} svc_metrics;

void metrics_init(svc_metrics *m);

static inline void metrics_add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Records one finished request. */
void metrics_request(svc_metrics *m, svc_endpoint ep, unsigned status,
                     uint64_t micros);

/* Index figures for the scrape, read by the caller from the index. */
typedef struct metrics_index {
    int open;
    uint64_t entries, pdq_entries, generation, file_bytes;
} metrics_index;

/* Writes the exposition text into a malloc'd string (*out, *len).
 * Returns 0 or -1 (out of memory). */
int metrics_render(svc_metrics *m, const metrics_index *ix, double uptime,
                   char **out, size_t *len);

const char *endpoint_name(svc_endpoint ep);

#endif /* SVC_METRICS_H */
