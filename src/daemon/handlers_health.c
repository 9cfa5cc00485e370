/* handlers_health.c - GET /healthz (the process answers), GET /readyz
 * (the index is open and searchable), GET /metrics (Prometheus text). */
#include <stdlib.h>

#include "server.h"

void handle_healthz(svc_request *rq, svc_worker *w)
{
    (void)w;
    reply_json(rq, 200, json_pack("{s:s}", "status", "ok"));
}

void handle_readyz(svc_request *rq, svc_worker *w)
{
    phm_index_stats st;
    (void)w;

    if (atomic_load(&rq->srv->shutting_down)) {
        reply_error(rq, 503, "shutting_down", "the server is shutting down");
        return;
    }
    if (!rq->idx && *rq->srv->boot.index) {
        reply_error(rq, 503, "not_ready", "the index '%s' is not open yet",
                    rq->srv->boot.index);
        return;
    }
    if (!rq->idx) {
        reply_json(rq, 200, json_pack("{s:s, s:b}", "status", "ready", "index", 0));
        return;
    }
    if (phm_index_get_stats(rq->idx, &st, w->err, sizeof w->err) != PHM_OK) {
        reply_error(rq, 503, "not_ready", "%s", w->err);
        return;
    }
    reply_json(rq, 200, json_pack("{s:s, s:b, s:I, s:I}", "status", "ready", "index", 1,
                                  "entries", (json_int_t)st.entries, "generation",
                                  (json_int_t)st.generation));
}

void handle_metrics(svc_request *rq, svc_worker *w)
{
    metrics_index ix = { 0, 0, 0, 0, 0 };
    phm_index_stats st;
    char *text;
    size_t len;

    if (rq->idx && phm_index_get_stats(rq->idx, &st, w->err, sizeof w->err) ==
                            PHM_OK) {
        ix.open = 1;
        ix.entries = st.entries;
        ix.pdq_entries = st.pdq_entries;
        ix.generation = st.generation;
        ix.file_bytes = st.file_bytes;
    }
    if (metrics_render(&rq->srv->metrics, &ix, now_seconds() - rq->srv->started, &text,
                       &len)) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    reply_text(rq, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}
