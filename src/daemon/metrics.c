/* metrics.c - lock-free counters and their Prometheus text (see
 * metrics.h). */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ep_names[EP_COUNT] = {
    "hash", "match", "lookup", "index_stats", "index_add", "index_delete_entry",
    "index_delete_source", "healthz", "readyz", "metrics", "hma_lookup", "hma_hash",
    "index_governance", "hma_curation", "other",
};

/* Index 0 is "other"; METRICS_STATUSES entries. */
static const unsigned statuses[METRICS_STATUSES] = {
    0, 200, 400, 401, 403, 404, 405, 408, 413, 415, 422, 429, 431, 500, 503, 507,
};

/* Upper bounds in microseconds. */
static const uint64_t bounds_us[METRICS_BUCKETS - 1] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 10000000,
};

const char *endpoint_name(svc_endpoint ep)
{
    return (unsigned)ep < EP_COUNT ? ep_names[ep] : "other";
}

void metrics_init(svc_metrics *m)
{
    memset(m, 0, sizeof *m);
}

void metrics_request(svc_metrics *m, svc_endpoint ep, unsigned status, uint64_t us)
{
    size_t s = 0, b = 0;
    if ((unsigned)ep >= EP_COUNT)
        ep = EP_OTHER;
    for (size_t i = 1; i < METRICS_STATUSES; i++)
        if (statuses[i] == status)
            s = i;
    while (b < METRICS_BUCKETS - 1 && us > bounds_us[b])
        b++;
    metrics_add(&m->requests[ep][s], 1);
    metrics_add(&m->latency[ep][b], 1);
    metrics_add(&m->latency_sum_us[ep], us);
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n;
        if (ncap > (64u << 20)) { /* a hard ceiling; the text is ~50 KB */
            b->failed = 1;
            return;
        }
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static uint64_t ld(atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}
static int64_t lds(atomic_int_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

int metrics_render(svc_metrics *m, const metrics_index *ix, double uptime, char **out,
                   size_t *len)
{
    sbuf b = { malloc(16384), 0, 16384, 0 };
    if (!b.p)
        return -1;

    sb_printf(&b, "# HELP phmatchd_requests_total Requests answered, by endpoint and "
                  "HTTP status.\n# TYPE phmatchd_requests_total counter\n");
    for (int e = 0; e < EP_COUNT; e++) {
        for (int s = 0; s < METRICS_STATUSES; s++) {
            uint64_t v = ld(&m->requests[e][s]);
            if (!v)
                continue;
            if (s == 0)
                sb_printf(&b, "phmatchd_requests_total{endpoint=\"%s\",status=\"other\"} "
                          "%llu\n", ep_names[e], (unsigned long long)v);
            else
                sb_printf(&b, "phmatchd_requests_total{endpoint=\"%s\",status=\"%u\"} "
                          "%llu\n", ep_names[e], statuses[s], (unsigned long long)v);
        }
    }
    sb_printf(&b, "# HELP phmatchd_request_duration_seconds Time from a request's "
                  "headers to its answer sent.\n"
                  "# TYPE phmatchd_request_duration_seconds histogram\n");
    for (int e = 0; e < EP_COUNT; e++) {
        uint64_t cum = 0, counts[METRICS_BUCKETS];
        for (int k = 0; k < METRICS_BUCKETS; k++)
            counts[k] = ld(&m->latency[e][k]);
        uint64_t total = 0;
        for (int k = 0; k < METRICS_BUCKETS; k++)
            total += counts[k];
        if (!total)
            continue;
        for (int k = 0; k < METRICS_BUCKETS; k++) {
            cum += counts[k];
            if (k < METRICS_BUCKETS - 1)
                sb_printf(&b, "phmatchd_request_duration_seconds_bucket{endpoint=\"%s\","
                          "le=\"%g\"} %llu\n", ep_names[e], (double)bounds_us[k] / 1e6,
                          (unsigned long long)cum);
            else
                sb_printf(&b, "phmatchd_request_duration_seconds_bucket{endpoint=\"%s\","
                          "le=\"+Inf\"} %llu\n", ep_names[e], (unsigned long long)cum);
        }
        sb_printf(&b, "phmatchd_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n",
                  ep_names[e], (double)ld(&m->latency_sum_us[e]) / 1e6);
        sb_printf(&b, "phmatchd_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                  ep_names[e], (unsigned long long)cum);
    }
    struct { const char *name, *help; uint64_t v; } counters[] = {
        { "phmatchd_matches_total", "Matches reported.", ld(&m->matches) },
        { "phmatchd_images_hashed_total", "Images decoded and hashed.", ld(&m->images) },
        { "phmatchd_videos_hashed_total", "Videos decoded and hashed.", ld(&m->videos) },
        { "phmatchd_hashes_looked_up_total", "Hashes searched in the index.",
          ld(&m->lookups) },
        { "phmatchd_overloaded_total", "Requests answered 503 for lack of capacity.",
          ld(&m->overloaded) },
        { "phmatchd_request_timeouts_total",
          "Connections closed for exceeding request_timeout.", ld(&m->timeouts) },
        { "phmatchd_auth_failures_total", "Requests answered 401 or 403.",
          ld(&m->auth_failures) },
        { "phmatchd_requests_aborted_total", "Requests ended before their answer was "
          "sent (client gone, timeout).", ld(&m->aborted) },
        { "phmatchd_reloads_total", "Successful SIGHUP reloads.", ld(&m->reloads) },
        { "phmatchd_index_swaps_total", "Index files swapped in (read_only: SIGHUP, "
          "or a file renamed over the index).", ld(&m->index_swaps) },
        { "phmatchd_index_swap_failures_total", "New index files that could not be "
          "opened (the previous one stays in use).", ld(&m->index_swap_failures) },
        { "phmatchd_header_timeouts_total",
          "Connections closed for exceeding header_timeout.", ld(&m->header_timeouts) },
        { "phmatchd_decode_budget_refused_total", "Images answered 503: max_decode_pixels "
          "were being decoded.", ld(&m->decode_refused) },
        { "phmatchd_decode_queue_refused_total", "Large images answered 503: "
          "decode_queue were waiting for a decode thread.", ld(&m->decode_queue_refused) },
        { "phmatchd_lookup_cost_refused_total", "Requests answered 413: their searches "
          "cost more than max_lookup_cost.", ld(&m->cost_refused) },
        { "phmatchd_worker_trimmed_bytes_total", "Bytes of worker buffers given back "
          "after an oversized image.", ld(&m->trimmed_bytes) },
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        sb_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counters[i].name,
                  counters[i].help, counters[i].name, counters[i].name,
                  (unsigned long long)counters[i].v);
    struct { const char *name, *help, *label, *v1, *v2; uint64_t n1, n2; } labelled[] = {
        { "phmatchd_connections_refused_total", "Connections closed at once because of a "
          "connection limit.", "reason", "per_client", "total", ld(&m->conn_refused_client),
          ld(&m->conn_refused_total) },
        { "phmatchd_body_memory_refused_total", "Request bodies refused (503) for lack of "
          "body memory.", "reason", "per_client", "total", ld(&m->body_refused_client),
          ld(&m->body_refused_total) },
    };
    for (size_t i = 0; i < sizeof labelled / sizeof labelled[0]; i++)
        sb_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s{%s=\"%s\"} %llu\n"
                  "%s{%s=\"%s\"} %llu\n", labelled[i].name, labelled[i].help,
                  labelled[i].name, labelled[i].name, labelled[i].label, labelled[i].v1,
                  (unsigned long long)labelled[i].n1, labelled[i].name, labelled[i].label,
                  labelled[i].v2, (unsigned long long)labelled[i].n2);
    struct { const char *name, *help; double v; } gauges[] = {
        { "phmatchd_connections", "Open connections.", (double)lds(&m->connections) },
        { "phmatchd_requests_in_progress", "Requests received and not yet answered.",
          (double)lds(&m->pending) },
        { "phmatchd_request_body_bytes", "Memory held for request bodies.",
          (double)lds(&m->body_bytes) },
        { "phmatchd_decode_pixels", "Pixels of the images being decoded now.",
          (double)lds(&m->decode_pixels) },
        { "phmatchd_uptime_seconds", "Seconds since start.", uptime },
        { "phmatchd_index_swapped_time_seconds", "Unix time of the last index swap "
          "(0: none).", (double)ld(&m->index_swapped_at) },
        { "phmatchd_index_open", "1 if the index is open and searchable.",
          ix->open ? 1.0 : 0.0 },
        { "phmatchd_index_entries", "Entries in the index.", (double)ix->entries },
        { "phmatchd_index_pdq_entries", "Index entries with a PDQ hash.",
          (double)ix->pdq_entries },
        { "phmatchd_index_generation", "Index generation (changes with each commit).",
          (double)ix->generation },
        { "phmatchd_index_file_bytes", "Size of the index file.",
          (double)ix->file_bytes },
    };
    for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++)
        sb_printf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", gauges[i].name,
                  gauges[i].help, gauges[i].name, gauges[i].name, gauges[i].v);
    if (b.failed) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
