/* handlers_health.c - GET /healthz (the process answers), GET /readyz
 * (the index is open and searchable), GET /metrics (Prometheus text), and
 * the check that the index file was not cut short under the server. */
#include <stdlib.h>

#include "server.h"

int index_check(svc_server *srv, phm_index *idx, char *err, size_t errlen)
{
    int cut = phm_index_check(idx, err, errlen) == PHM_ERR_INDEX_TRUNCATED;
    if (cut && !atomic_exchange(&srv->index_truncated, 1))
        SVC_LOG(&srv->log, LOG_ERROR, "%s: requests that use the index are answered 503 "
                "index_truncated until the file is whole again (put the complete file "
                "back%s)", err, srv->boot.read_only ? ", or rename a complete copy over "
                "the path" : ", then restart");
    /* read first: a whole file (every request) writes no shared line */
    else if (!cut && atomic_load(&srv->index_truncated) &&
             atomic_exchange(&srv->index_truncated, 0))
        SVC_LOG(&srv->log, LOG_WARN, "index '%s' holds all its pages again",
                phm_index_path(idx));
    return cut ? -1 : 0;
}

/* 200 while the process answers; a truncated index file is shown (the
 * process cannot mend it: /readyz fails). */
void handle_healthz(svc_request *rq, svc_worker *w)
{
    if (rq->idx && index_check(rq->srv, rq->idx, w->err, sizeof w->err)) {
        reply_json(rq, 200, json_pack("{s:s, s:s, s:s}", "status", "degraded", "index",
                                      "truncated", "message", w->err));
        return;
    }
    reply_json(rq, 200, json_pack("{s:s}", "status", "ok"));
}

void handle_readyz(svc_request *rq, svc_worker *w)
{
    phm_index_stats st;

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
    if (index_check(rq->srv, rq->idx, w->err, sizeof w->err)) {
        reply_error(rq, 503, "index_truncated", "%s", w->err);
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
