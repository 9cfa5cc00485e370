/*
 * handlers_hma.c - HMA 2's ("Hasher-Matcher-Actioner", OpenMediaMatch)
 * hashing and matching API, so that its clients can point at phmatchd
 * (docs/SERVICE.md, "HMA" says what is covered and what is refused):
 *
 *   GET  /status                              I-AM-ALIVE while the index is ready
 *   GET  /m/raw_lookup?signal_type=pdq&signal=HEX[&banks=A,B][&include_distance=true]
 *                                             {"matches": [ID, ...]} or
 *                                             {"matches": [{"bank_content_id", "distance"}]}
 *   GET  /m/lookup?signal_type=pdq&signal=HEX[&banks=A,B][&seed=S][&bypass_coinflip=true]
 *                                             {"BANK": [{"bank_content_id": ID,
 *                                               "distance": "D"}], ...}
 *   POST /m/lookup (multipart `photo`)        {"pdq": {same}}
 *   GET  /m/index/status[?signal_type=pdq]    {"pdq": {"present", "built_to", "size"}}
 *   POST /m/compare {"pdq": [HEX, HEX]}       {"pdq": [MATCH, {"distance": D}]}
 *   POST /h/hash   (multipart `photo`)        {"pdq": "HEX"}
 *
 * A bank is an index source, a bank content an entry (its id the content
 * id). /m/raw_lookup is the bare search (no governance, as HMA's ignores
 * enabled states); /m/lookup applies governance (disabled banks and
 * content, quarantine, suppression), ?banks= (an unknown bank gives no
 * match) and the banks' matching_enabled_ratio: a content matches when
 * phm_source_ratio_admits(ratio, seed or its id), HMA's coin flip made
 * deterministic. Distances are strings and matches are within
 * match_distance, as in HMA.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hma.h"

json_t *hma_content_id(const char *id)
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

double hma_bank_ratio(const phm_source_settings *s)
{
    return s->enabled ? s->matching_ratio : 0.0;
}

int hma_bank_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, ",");
        if (l == n && memcmp(p, name, n) == 0)
            return 1;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Text argument `name` (?banks=, ?seed=): 1 given (into buf), 0 absent;
 * -1 after answering 400. */
static int text_arg(svc_request *rq, const char *name, char *buf, size_t len)
{
    svc_args a = request_args(rq);
    int got = args_text(&a, name, buf, len);
    if (got < 0)
        reply_error(rq, 400, "bad_request", "?%s= is malformed or longer than %zu bytes",
                    name, len - 1);
    return got;
}

/* The ratio of hit sources, looked up once per source per request. */
#define RATIO_CACHE 16
typedef struct ratio_cache {
    size_t n;
    struct {
        char source[PHM_INDEX_MAX_SOURCE + 1];
        double ratio;
    } v[RATIO_CACHE];
} ratio_cache;

static double source_ratio(svc_request *rq, ratio_cache *rc, const char *source)
{
    for (size_t i = 0; i < rc->n; i++)
        if (strcmp(rc->v[i].source, source) == 0)
            return rc->v[i].ratio;
    double r = 1.0;
    phm_source_settings *s = malloc(sizeof *s);
    char err[PHM_ERRMSG_MAX];
    if (s && phm_index_source_get(rq->idx, source, s, err, sizeof err) == PHM_OK)
        r = hma_bank_ratio(s);
    free(s);
    if (rc->n < RATIO_CACHE) {
        snprintf(rc->v[rc->n].source, sizeof rc->v[rc->n].source, "%s", source);
        rc->v[rc->n++].ratio = r;
    }
    return r;
}

typedef struct lookup_opts {
    const char *banks; /* NULL: every bank */
    const char *seed;  /* NULL: each content's id */
    int bypass;        /* bypass_coinflip: ratios not applied */
} lookup_opts;

/* Whether hit h is answered: its bank listed (when ?banks= is given),
 * and admitted by its bank's ratio (unless bypassed). */
static int hit_kept(svc_request *rq, ratio_cache *rc, const phm_match_hit *h,
                    const lookup_opts *o)
{
    if (!h->e.source || (o->banks && !hma_bank_listed(o->banks, h->e.source)))
        return 0;
    if (o->bypass || h->suppressed_by.source)
        return 1;
    const char *key = o->seed ? o->seed : h->e.id;
    return phm_source_ratio_admits(source_ratio(rq, rc, h->e.source), key, strlen(key));
}

/* {"BANK": [{"bank_content_id": ..., "distance": "D"}]} for res's hits
 * that are kept (hit_kept); those alone are audited and counted. */
static json_t *banks_json(svc_request *rq, const phm_match_result *res,
                          const phm_pdq *query, const lookup_opts *o)
{
    ratio_cache rc = { 0 };
    phm_match_hit *kept = malloc((res->count ? res->count : 1) * sizeof *kept);
    json_t *banks = json_object();
    size_t n = 0;
    if (!banks || !kept)
        goto oom;
    for (size_t i = 0; i < res->count; i++)
        if (hit_kept(rq, &rc, &res->hits[i], o))
            kept[n++] = res->hits[i];
    /* The audit records and metrics are those of any match answer. */
    report_hits(rq, kept, n, query, 0);
    for (size_t i = 0; i < n; i++) {
        const phm_match_hit *h = &kept[i];
        if (h->suppressed_by.source)
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
                                                 hma_content_id(h->e.id), "distance", dist)))
            goto oom;
    }
    free(kept);
    return banks;
oom:
    free(kept);
    json_decref(banks);
    reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
    return NULL;
}

int hma_bool_text(const char *s, int *out)
{
    static const char *const yes[] = { "1", "on", "t", "true", "y", "yes" };
    static const char *const no[] = { "0", "off", "f", "false", "n", "no" };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

/* A boolean query argument as HMA's schema reads it (hma_bool_text;
 * absent: 0). 0, or -1 after answering 422 (or 400 when unreadable). */
static int hma_bool_arg(svc_request *rq, const char *name, int *out)
{
    svc_args a = request_args(rq);
    char v[16];
    int got = args_text(&a, name, v, sizeof v);
    *out = 0;
    if (got == 0 || (got > 0 && hma_bool_text(v, out) == 0))
        return 0;
    reply_hma_invalid(rq, name, "bool_parsing",
                      "Input should be a valid boolean, unable to interpret input");
    return -1;
}

/* ?banks=, ?seed=, ?bypass_coinflip= into o (list and seed buffers): GET
 * reads bypass_coinflip as a boolean of HMA's schema (422 if it is none),
 * POST as HMA's POST does (exactly "true" bypasses, anything else not).
 * 0, or -1 after answering. */
static int lookup_args(svc_request *rq, lookup_opts *o, char *list, size_t listlen,
                       char *seed, size_t seedlen, int post)
{
    svc_args a = request_args(rq);
    memset(o, 0, sizeof *o);
    int got = text_arg(rq, "banks", list, listlen);
    if (got < 0)
        return -1;
    o->banks = got ? list : NULL;
    if ((got = text_arg(rq, "seed", seed, seedlen)) < 0)
        return -1;
    o->seed = got ? seed : NULL;
    if (post) {
        char v[8];
        o->bypass = args_text(&a, "bypass_coinflip", v, sizeof v) == 1 && !strcmp(v, "true");
        return 0;
    }
    return hma_bool_arg(rq, "bypass_coinflip", &o->bypass);
}

void handle_hma_lookup(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    svc_args a = request_args(rq);
    const char *code, *msg;
    phm_pdq_result r;
    lookup_opts o;
    char list[HMA_BANKS_ARG_MAX], seed[256];

    if (need_index(rq) || lookup_args(rq, &o, list, sizeof list, seed, sizeof seed, 0))
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
    json_t *banks = banks_json(rq, res, &r.hash[0], &o);
    if (banks)
        reply_json(rq, 200, banks);
}

void handle_hma_lookup_post(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    phm_pdq_result r;
    phm_image_info info;
    int recovered;
    lookup_opts o;
    char list[HMA_BANKS_ARG_MAX], seed[256];
    /* no robust measure (HMA's lookup is plain PDQ), but a rotation's
     * corners kept from stored rotations as on /v1/match */
    robust_extra rx = { 0 };

    if (need_index(rq) || lookup_args(rq, &o, list, sizeof list, seed, sizeof seed, 1) ||
        hash_body_trim(rq, w, 0, &r, &info, &recovered, &rx))
        return;
    const phm_match_result *res =
        match_image_trim(rq, w, &r, &rx, (int)c->match_distance, (int)c->min_quality);
    if (!res)
        return;
    json_t *banks = banks_json(rq, res, &r.hash[0], &o);
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

void handle_hma_status(svc_request *rq, svc_worker *w)
{
    int ready = rq->idx && !atomic_load(&rq->srv->shutting_down) &&
                !index_check(rq->srv, rq->idx, w->err, sizeof w->err);
    const char *t = ready ? "I-AM-ALIVE\n" : "INDEX-NOT-READY\n";
    char *text = strdup(t);
    if (!text) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    reply_text(rq, ready ? 200 : 503, "text/plain", text, strlen(text));
}

void handle_hma_raw_lookup(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    svc_args a = request_args(rq);
    const char *code, *msg;
    phm_pdq q;
    int with_dist;
    char list[HMA_BANKS_ARG_MAX];

    if (need_index(rq))
        return;
    int got = text_arg(rq, "banks", list, sizeof list);
    if (got < 0)
        return;
    const char *banks = got ? list : NULL;
    /* signal and signal_type are required by HMA's schema: 422 */
    static const char *const required[] = { "signal", "signal_type" };
    for (size_t i = 0; i < 2; i++) {
        char v[2];
        if (args_text(&a, required[i], v, sizeof v) == 0) {
            reply_hma_invalid(rq, required[i], "missing", "Field required");
            return;
        }
    }
    if (args_hma_signal(&a, &q, &code, &msg)) {
        reply_error(rq, 400, code, "%s", msg);
        return;
    }
    if (hma_bool_arg(rq, "include_distance", &with_dist))
        return;
    const phm_match *m;
    size_t n;
    /* the signal is a plain hash: entries measured without their soft
     * hashes, as /v1/lookup's matcher does */
    int rc = phm_search_radius_plain(w->searcher, &q, (int)c->match_distance, &m, &n,
                                     w->err, sizeof w->err);
    if (rc != PHM_OK) {
        reply_gov_error(rq, rc == PHM_ERR_NOT_FOUND ? PHM_ERR_INDEX : rc, w->err);
        return;
    }
    metrics_add(&rq->srv->metrics.lookups, 1);
    json_t *arr = json_array();
    size_t kept = 0;
    for (size_t i = 0; arr && i < n && kept < (size_t)c->max_matches; i++) {
        phm_entry e;
        if (phm_searcher_get(w->searcher, m[i].entry, &e, w->err, sizeof w->err) != PHM_OK)
            continue;
        if (banks && !hma_bank_listed(banks, e.source))
            continue;
        char dist[8];
        snprintf(dist, sizeof dist, "%d", m[i].distance);
        json_t *item = with_dist ? json_pack("{s:o, s:s}", "bank_content_id",
                                             hma_content_id(e.id), "distance", dist)
                                 : hma_content_id(e.id);
        json_array_append_new(arr, item);
        kept++;
    }
    if (!arr) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    reply_json(rq, 200, json_pack("{s:o}", "matches", arr));
}

/* ?signal_type= of /m/index/status: absent or pdq. 0, or -1 after 400. */
static int signal_type_arg(svc_request *rq)
{
    svc_args a = request_args(rq);
    char type[32];
    int got = args_text(&a, "signal_type", type, sizeof type);
    if (got == 0 || (got == 1 && strcmp(type, "pdq") == 0))
        return 0;
    reply_error(rq, 400, "bad_request", "No such signal type: phmatchd matches pdq");
    return -1;
}

void handle_hma_index_status(svc_request *rq, svc_worker *w)
{
    phm_index_stats st;
    if (need_index(rq) || signal_type_arg(rq))
        return;
    if (phm_index_get_stats(rq->idx, &st, w->err, sizeof w->err) != PHM_OK) {
        reply_error(rq, 500, "index_error", "%s", w->err);
        return;
    }
    /* Searches read the newest commit: the index is built up to now. */
    reply_json(rq, 200, json_pack("{s:{s:b, s:I, s:I}}", "pdq", "present", 1, "built_to",
                                  (json_int_t)time(NULL), "size",
                                  (json_int_t)(st.base_entries + st.delta_entries)));
}

void handle_hma_compare(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    json_error_t jerr;
    (void)w;
    json_t *o = json_loadb((const char *)rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        reply_error(rq, 400, "bad_request", "Request input was not a dict");
        return;
    }
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (strcmp(key, "pdq") != 0) {
            reply_error(rq, 400, "bad_request", "No such SignalType: phmatchd compares pdq");
            goto out;
        }
        phm_pdq h[2];
        if (!json_is_array(v) || json_array_size(v) != 2) {
            reply_error(rq, 400, "bad_request",
                        "Comparison hash list length must be exactly 2");
            goto out;
        }
        for (size_t i = 0; i < 2; i++) {
            json_t *s = json_array_get(v, i);
            if (!json_is_string(s) || phm_pdq_from_hex(json_string_value(s),
                                                       json_string_length(s), &h[i])) {
                reply_error(rq, 400, "bad_hash", "Invalid pdq hash: 64 hex digits expected");
                goto out;
            }
        }
        int d = phm_pdq_distance(&h[0], &h[1]);
        json_object_set_new(out, "pdq", json_pack("[b, {s:i}]", d <= c->match_distance,
                                                   "distance", d));
    }
    json_decref(o);
    reply_json(rq, 200, out);
    return;
out:
    json_decref(o);
    json_decref(out);
}
