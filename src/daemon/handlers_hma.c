/*
 * handlers_hma.c - the subset of Meta's Hasher-Matcher-Actioner (HMA 2,
 * "OpenMediaMatch") API that its clients use to hash and match photos, so
 * they can point at phmatchd (docs/SERVICE.md says exactly what is
 * covered):
 *
 *   GET  /m/lookup?signal_type=pdq&signal=HEX  {"SOURCE": [{"bank_content_id":
 *                                               ID, "distance": "D"}], ...}
 *   POST /m/lookup (multipart `photo`)         {"pdq": {same}}
 *   POST /h/hash   (multipart `photo`)         {"pdq": "HEX"}
 *
 * An index source plays the part of an HMA bank; an entry id the part of
 * a bank content id (a JSON number when it is one, else a string). As in
 * HMA, the distance is a string and a match is within match_distance.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* HMA's bank_content_id is an integer: ids that are decimal numbers are
 * sent as numbers. */
static json_t *content_id(const char *id)
{
    char *end;
    if (id[0] >= '1' && id[0] <= '9' && strlen(id) <= 18) {
        errno = 0;
        long long v = strtoll(id, &end, 10);
        if (!errno && !*end)
            return json_integer(v);
    }
    return json_text(id);
}

/* {"SOURCE": [{"bank_content_id": ..., "distance": "D"}]} for res's hits. */
static json_t *banks_json(svc_request *rq, const phm_match_result *res,
                          const phm_pdq *query)
{
    json_t *banks = json_object();
    if (!banks)
        goto oom;
    /* The audit records and metrics are those of any match answer. */
    report_hits(rq, res->hits, res->count, query, 0);
    for (size_t i = 0; i < res->count; i++) {
        const phm_match_hit *h = &res->hits[i];
        if (!h->e.source || h->suppressed_by.source)
            continue; /* suppressed (governance): no match for HMA */
        char dist[8];
        snprintf(dist, sizeof dist, "%d", h->distance);
        /* Keys are UTF-8 for jansson: the one policy for other bytes. */
        char src[3 * PHM_INDEX_MAX_SOURCE + 1];
        phm_utf8_repair(h->e.source, strlen(h->e.source), src, sizeof src);
        json_t *arr = json_object_get(banks, src);
        if (!arr) {
            arr = json_array();
            if (!arr || json_object_set_new(banks, src, arr))
                goto oom;
        }
        if (json_array_append_new(arr, json_pack("{s:o, s:s}", "bank_content_id",
                                                 content_id(h->e.id), "distance", dist)))
            goto oom;
    }
    return banks;
oom:
    json_decref(banks);
    reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
    return NULL;
}

void handle_hma_lookup(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    svc_args a = request_args(rq);
    const char *code, *msg;
    phm_pdq_result r;

    if (need_index(rq))
        return;
    if (args_hma_signal(&a, &r.hash[0], &code, &msg)) {
        reply_error(rq, 400, code, "%s", msg);
        return;
    }
    r.nhashes = 1;
    r.quality = 0; /* a bare hash: no quality gate */
    const phm_match_result *res = match_image(rq, w, &r, (int)c->match_distance, 0);
    if (!res)
        return;
    json_t *banks = banks_json(rq, res, &r.hash[0]);
    if (banks)
        reply_json(rq, 200, banks);
}

void handle_hma_lookup_post(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    phm_pdq_result r;
    phm_image_info info;
    int recovered;

    if (need_index(rq) || hash_body(rq, w, 0, &r, &info, &recovered))
        return;
    const phm_match_result *res =
        match_image(rq, w, &r, (int)c->match_distance, (int)c->min_quality);
    if (!res)
        return;
    json_t *banks = banks_json(rq, res, &r.hash[0]);
    if (banks)
        reply_json(rq, 200, json_pack("{s:o}", "pdq", banks));
}

void handle_hma_hash(svc_request *rq, svc_worker *w)
{
    phm_pdq_result r;
    phm_image_info info;
    int recovered;
    char hex[PHM_PDQ_HEX_LEN + 1];

    if (hash_body(rq, w, 0, &r, &info, &recovered))
        return;
    phm_pdq_to_hex(&r.hash[0], hex);
    reply_json(rq, 200, json_pack("{s:s}", "pdq", hex));
}
