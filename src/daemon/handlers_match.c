/* handlers_match.c - POST /v1/match (an image, hashed and looked up in
 * one call) and POST /v1/lookup (a batch of hashes), and the search and
 * answer code they share with the HMA endpoints. Every search reads the
 * newest committed state of the index, so entries added by another
 * process are found at the next request. */
#include <stdlib.h>
#include <string.h>

#include "json_body.h"
#include "server.h"

int need_index(svc_request *rq)
{
    if (rq->srv->idx)
        return 0;
    reply_error(rq, 503, "no_index", "no index is configured");
    return -1;
}

json_t *json_text(const char *s)
{
    if (!s)
        s = "";
    json_t *j = json_string(s);
    if (j)
        return j;
    /* Not UTF-8 (the index stores bytes): phmatch.h's one policy. */
    size_t n = strlen(s), cap = 3 * n + 1;
    char *copy = malloc(cap);
    if (!copy)
        return NULL;
    phm_utf8_repair(s, n, copy, cap);
    j = json_string(copy);
    free(copy);
    return j;
}

static int cmp_entry(const void *a, const void *b)
{
    const svc_hit *x = a, *y = b;
    if (x->entry != y->entry)
        return x->entry < y->entry ? -1 : 1;
    if (x->distance != y->distance)
        return x->distance - y->distance;
    return x->orientation - y->orientation;
}

static int cmp_distance(const void *a, const void *b)
{
    const svc_hit *x = a, *y = b;
    if (x->distance != y->distance)
        return x->distance - y->distance;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

long search_image(svc_request *rq, svc_worker *w, const phm_pdq_result *r, int radius,
                  size_t max, int *truncated)
{
    const phm_match *m;
    size_t n = 0;
    int rc;

    *truncated = 0;
    if (r->nhashes == 1) {
        rc = phm_search_radius(w->searcher, &r->hash[0], radius, &m, &n, w->err,
                               sizeof w->err);
        if (rc == PHM_OK && worker_reserve_hits(w, n ? n : 1) == 0) {
            for (size_t i = 0; i < n; i++)
                w->hits[i] = (svc_hit){ m[i].entry, m[i].distance, PHM_DIH_ORIGINAL };
        } else if (rc == PHM_OK) {
            rc = PHM_ERR_NOMEM;
        }
    } else {
        const size_t *off;
        rc = phm_search_batch(w->searcher, r->hash, (size_t)r->nhashes, radius, 0, &m,
                              &off, w->err, sizeof w->err);
        if (rc == PHM_OK) {
            size_t total = off[r->nhashes];
            if (worker_reserve_hits(w, total ? total : 1)) {
                rc = PHM_ERR_NOMEM;
            } else {
                for (int o = 0; o < r->nhashes; o++)
                    for (size_t i = off[o]; i < off[o + 1]; i++)
                        w->hits[n++] = (svc_hit){ m[i].entry, m[i].distance, o };
                /* One hit per entry: its nearest orientation. */
                qsort(w->hits, n, sizeof *w->hits, cmp_entry);
                size_t k = 0;
                for (size_t i = 0; i < n; i++)
                    if (k == 0 || w->hits[k - 1].entry != w->hits[i].entry)
                        w->hits[k++] = w->hits[i];
                n = k;
                qsort(w->hits, n, sizeof *w->hits, cmp_distance);
            }
        }
    }
    if (rc != PHM_OK) {
        if (rc == PHM_ERR_NOMEM)
            reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        else
            reply_error(rq, 500, "index_error", "%s", w->err);
        return -1;
    }
    metrics_add(&rq->srv->metrics.lookups, (uint64_t)r->nhashes);
    if (n > max) {
        n = max;
        *truncated = 1;
    }
    return (long)n;
}

int matches_to_json(svc_request *rq, svc_worker *w, const svc_hit *hits, size_t n,
                    const phm_pdq *query, int with_orientation, json_t *arr)
{
    const svc_config *c = &rq->rt->cfg;
    char qhex[PHM_PDQ_HEX_LEN + 1];
    size_t reported = 0;

    if (c->audit_query_hash && query)
        phm_pdq_to_hex(query, qhex);
    for (size_t i = 0; i < n; i++) {
        phm_entry e;
        int rc = phm_searcher_get(w->searcher, hits[i].entry, &e, w->err, sizeof w->err);
        if (rc == PHM_ERR_NOT_FOUND)
            continue;
        if (rc != PHM_OK) {
            reply_error(rq, 500, "index_error", "%s", w->err);
            return -1;
        }
        const char *orient = with_orientation ? phm_dihedral_name(hits[i].orientation)
                                              : NULL;
        json_t *o = json_pack("{s:o, s:o, s:o, s:i}", "source", json_text(e.source),
                              "id", json_text(e.id), "category", json_text(e.category),
                              "distance", hits[i].distance);
        if (!o) {
            reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
            return -1;
        }
        if (orient)
            json_object_set_new(o, "orientation", json_string(orient));
        /* A frame of a known video matched: say so, the id names a video. */
        if (e.signals & PHM_SIG_VPDQ)
            json_object_set_new(o, "kind", json_string("video"));
        json_array_append_new(arr, o);
        reported++;
        audit_record ar = { rq->who, endpoint_name(rq->route->endpoint), e.source, e.id,
                            e.category, hits[i].distance, orient,
                            c->audit_query_hash && query ? qhex : NULL };
        if (audit_write(&rq->srv->audit, &ar))
            SVC_LOG(&rq->srv->log, LOG_ERROR, "cannot write the audit log");
    }
    metrics_add(&rq->srv->metrics.matches, reported);
    return 0;
}

/* POST /v1/match?max_distance=N&dihedral=1 */
void handle_match(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    int dihedral, recovered, truncated = 0;
    long radius;
    phm_pdq_result r;
    phm_image_info info;

    if (need_index(rq) || query_bool(rq, "dihedral", &dihedral) ||
        query_int(rq, "max_distance", 0, (long)c->max_distance, (long)c->match_distance,
                  &radius) ||
        hash_body(rq, w, dihedral, &r, &info, &recovered))
        return;
    json_t *o = image_json(rq, &r, &info, recovered);
    json_t *arr = json_array();
    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    json_object_set_new(o, "max_distance", json_integer(radius));
    json_object_set_new(o, "matches", arr);
    if (r.quality >= c->min_quality) {
        long n = search_image(rq, w, &r, (int)radius, (size_t)c->max_matches, &truncated);
        if (n < 0 ||
            matches_to_json(rq, w, w->hits, (size_t)n, &r.hash[0], dihedral, arr)) {
            json_decref(o);
            return;
        }
    } else {
        json_object_set_new(o, "not_matched", json_string("low_quality"));
    }
    if (truncated)
        json_object_set_new(o, "truncated", json_true());
    reply_json(rq, 200, o);
}

/* POST /v1/lookup {"hashes": [...], "max_distance": 31, "k": 5} */
void handle_lookup(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    json_t *results, *out;
    const phm_match *m;
    const size_t *off;
    lookup_body lb;
    svc_bad bad;

    if (need_index(rq))
        return;
    if (worker_reserve_queries(w, (size_t)c->max_batch) ||
        worker_reserve_hits(w, (size_t)c->max_matches)) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    if (lookup_body_parse(rq->body, rq->body_len, c, w->queries, w->queries_cap, &lb,
                          &bad)) {
        reply_error(rq, bad.status, bad.code, "%s", bad.msg);
        return;
    }
    size_t n = lb.n;
    json_int_t radius = lb.radius;
    if (n && phm_search_batch(w->searcher, w->queries, n, lb.radius, lb.k, &m, &off,
                              w->err, sizeof w->err) != PHM_OK) {
        reply_error(rq, 500, "index_error", "%s", w->err);
        return;
    }
    metrics_add(&rq->srv->metrics.lookups, n);
    results = json_array();
    out = json_pack("{s:o, s:I}", "results", results, "max_distance", radius);
    if (!out) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t cnt = off[i + 1] - off[i], keep = cnt;
        if (keep > (size_t)c->max_matches)
            keep = (size_t)c->max_matches;
        for (size_t j = 0; j < keep; j++)
            w->hits[j] = (svc_hit){ m[off[i] + j].entry, m[off[i] + j].distance, -1 };
        json_t *arr = json_array(), *res = json_object();
        if (!arr || !res) {
            json_decref(arr);
            json_decref(res);
            reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
            goto out;
        }
        json_object_set_new(res, "matches", arr);
        if (keep < cnt)
            json_object_set_new(res, "truncated", json_true());
        json_array_append_new(results, res);
        if (matches_to_json(rq, w, w->hits, keep, &w->queries[i], 0, arr))
            goto out;
    }
    reply_json(rq, 200, out);
    out = NULL;
out:
    json_decref(out);
}
