/* handlers_match.c - POST /v1/match (an image or a video, hashed and
 * looked up in one call) and POST /v1/lookup (a batch of hashes), and the
 * match reporting they share with the HMA endpoints. Matching is
 * libphmatch's (phm_match_image, phm_match_video); every match is written
 * as libphmatch's one match record (phm_match_json), as phmatch writes it.
 * Every search reads the newest committed state of the index, so entries
 * added by another process are found at the next request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_body.h"
#include "server.h"

int need_index(svc_request *rq)
{
    if (rq->idx)
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

/* ---- the answer's text ------------------------------------------------- */

/* w->text holds the match records of an answer. It grows with what is put
 * in, which the request's limits bound (max_batch hashes, max_matches
 * matches each, a video's frames). 0, or -1 out of memory. */
static int text_reserve(svc_worker *w, size_t more)
{
    if (more <= w->text_cap - w->text_len)
        return 0;
    size_t cap = w->text_cap ? w->text_cap : 4096;
    while (cap - w->text_len < more) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *t = realloc(w->text, cap);
    if (!t)
        return -1;
    w->text = t;
    w->text_cap = cap;
    return 0;
}

static int text_put(svc_worker *w, const char *s, size_t n)
{
    if (text_reserve(w, n + 1))
        return -1;
    memcpy(w->text + w->text_len, s, n);
    w->text_len += n;
    w->text[w->text_len] = '\0';
    return 0;
}

static int text_lit(svc_worker *w, const char *s)
{
    return text_put(w, s, strlen(s));
}

/* Appends hits[0..n) as a JSON array of match records. */
static int text_hits(svc_worker *w, const phm_match_hit *hits, size_t n)
{
    if (text_lit(w, "["))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (i && text_lit(w, ","))
            return -1;
        size_t room = w->text_cap - w->text_len;
        size_t len = phm_match_json(&hits[i], w->text + w->text_len, room);
        if (len >= room) {
            if (text_reserve(w, len + 1))
                return -1;
            phm_match_json(&hits[i], w->text + w->text_len, len + 1);
        }
        w->text_len += len;
    }
    return text_lit(w, "]");
}

/* Answers 200 with object o (stolen) and the members in w->text
 * ("name":value,...) added at its end. */
static void reply_with_text(svc_request *rq, svc_worker *w, json_t *o)
{
    char *head = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    size_t hlen = head ? strlen(head) : 0;
    char *body = hlen >= 2 ? malloc(hlen + w->text_len + 2) : NULL;
    if (!body) {
        free(head);
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    /* head is "{...}": its members, a comma unless there are none, ours. */
    size_t n = hlen - 1;
    memcpy(body, head, n);
    if (hlen > 2)
        body[n++] = ',';
    memcpy(body + n, w->text, w->text_len);
    n += w->text_len;
    body[n++] = '}';
    free(head);
    reply_text(rq, 200, "application/json", body, n);
}

/* ---- matching ---------------------------------------------------------- */

/* The limits on a request's searches: max_distance by role, then the
 * cost of n hashes at `radius` (json_body.h). 0, or -1 after answering
 * 400 (distance) or 413 (cost). */
static int search_allowed(svc_request *rq, size_t n, long radius)
{
    const svc_config *c = &rq->rt->cfg;
    int64_t cap = max_distance_for(c, rq->role);
    svc_bad bad;

    if (radius > cap) {
        reply_error(rq, 400, "bad_request", "max_distance %ld is above %lld, the largest "
                    "for %s (max_distance%s)", radius, (long long)cap,
                    rq->role == ROLE_ADMIN ? "this request" : "a lookup token",
                    rq->role == ROLE_ADMIN ? "" : "_lookup");
        return -1;
    }
    if (lookup_cost_check(c, n, (int)radius, &bad)) {
        metrics_add(&rq->srv->metrics.cost_refused, 1);
        reply_error(rq, bad.status, bad.code, "%s", bad.msg);
        return -1;
    }
    return 0;
}

const phm_match_result *match_image(svc_request *rq, svc_worker *w,
                                    const phm_pdq_result *r, int radius,
                                    int min_quality)
{
    return match_image_trim(rq, w, r, NULL, radius, min_quality);
}

const phm_match_result *match_image_trim(svc_request *rq, svc_worker *w,
                                         const phm_pdq_result *r, const robust_extra *rx,
                                         int radius, int min_quality)
{
    const svc_config *c = &rq->rt->cfg;
    const phm_match_result *res;
    phm_match_options o;

    phm_match_options_init(&o);
    o.max_distance = radius;
    o.min_quality = min_quality;
    o.max_matches = (size_t)c->max_matches;
    o.orientations = 1;
    phm_match_extra extra[PHM_QUERY_MAX_EXTRA];
    if (rx) { /* as phmatch match searches them */
        phm_query_match_options(&rx->q, extra, &o);
        o.low_quality_distance = rx->low_quality_distance;
        o.low_quality_min = PHM_ROBUST_LOW_QUALITY_MIN;
        /* with the low-quality search only, as phmatch match has it */
        o.flat_distance = rx->low_quality_distance > 0 ? PHM_ROBUST_FLAT_DISTANCE : 0;
    }
    int rc = phm_match_image(w->matcher, r, &o, &res, w->err, sizeof w->err);
    if (rc != PHM_OK) {
        if (rc == PHM_ERR_NOMEM)
            reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        else
            reply_error(rq, 500, "index_error", "%s", w->err);
        return NULL;
    }
    if (res->searched)
        metrics_add(&rq->srv->metrics.lookups, (uint64_t)r->nhashes * (1 + o.nextra));
    return res;
}

/* Quarantine (governance): counts query `fp` against hit h's entry when
 * its source has a quarantine limit; an entry over it is quarantined in
 * the index (it stops matching, for every process), logged and audited. */
static void quarantine_count(svc_request *rq, const phm_match_hit *h, uint64_t fp)
{
    if (rq->srv->boot.read_only)
        return; /* a replica cannot write: the primary counts (docs/DEPLOY.md) */
    phm_source_settings *s = malloc(sizeof *s);
    char err[PHM_ERRMSG_MAX], src[80], id[80];
    uint64_t count = 0;
    if (!s)
        return;
    if (phm_index_source_get(rq->idx, h->e.source, s, err, sizeof err) != PHM_OK ||
        s->quarantine_limit == 0)
        goto out;
    int64_t window_ms = (int64_t)(s->quarantine_window_ns / 1000000u);
    int r = quarantine_note(&rq->srv->quarantine, h->entry, fp,
                            (int64_t)(now_micros() / 1000u), s->quarantine_limit, window_ms,
                            &count);
    if (r <= 0)
        goto out;
    int rc = phm_index_quarantine_add(rq->idx, h->e.source, h->e.id, (int64_t)time(NULL),
                                      count, err, sizeof err);
    log_safe(h->e.source, src, sizeof src);
    log_safe(h->e.id, id, sizeof id);
    if (rc != PHM_OK) {
        SVC_LOG(&rq->srv->log, LOG_ERROR, "cannot quarantine '%s:%s': %s", src, id, err);
        goto out;
    }
    SVC_LOG(&rq->srv->log, LOG_WARN, "quarantine: '%s:%s' matched %llu distinct queries "
            "within %.0f s (limit %u): it no longer matches until released", src, id,
            (unsigned long long)count, (double)s->quarantine_window_ns / 1e9,
            (unsigned)s->quarantine_limit);
    audit_record ar = { .token = rq->who, .endpoint = endpoint_name(rq->route->endpoint),
                        .source = h->e.source, .id = h->e.id,
                        .category = h->e.category ? h->e.category : "",
                        .event = "quarantine", .count = count };
    if (audit_write(&rq->srv->audit, &ar))
        SVC_LOG(&rq->srv->log, LOG_ERROR, "cannot write the audit log");
out:
    free(s);
}

void report_hits(svc_request *rq, const phm_match_hit *hits, size_t n,
                 const phm_pdq *query, int with_orientation)
{
    const svc_config *c = &rq->rt->cfg;
    char qhex[PHM_PDQ_HEX_LEN + 1];
    size_t reported = 0;

    if (c->audit_query_hash && query)
        phm_pdq_to_hex(query, qhex);
    for (size_t i = 0; i < n; i++) {
        const phm_match_hit *h = &hits[i];
        if (!h->e.source)
            continue;
        audit_record ar = { rq->who, endpoint_name(rq->route->endpoint), h->e.source,
                            h->e.id, h->e.category ? h->e.category : "", h->distance,
                            with_orientation ? phm_dihedral_name(h->orientation) : NULL,
                            c->audit_query_hash && query ? qhex : NULL,
                            h->suppressed_by.source, h->suppressed_by.id,
                            h->suppressed_by.distance, NULL, 0 };
        if (audit_write(&rq->srv->audit, &ar))
            SVC_LOG(&rq->srv->log, LOG_ERROR, "cannot write the audit log");
        if (h->suppressed_by.source)
            continue; /* suppressed: no match */
        reported++;
        if (query)
            quarantine_count(rq, h, quarantine_fp(query));
    }
    metrics_add(&rq->srv->metrics.matches, reported);
}

/* Ends the answer of /v1/match: "matches" (and "truncated") from res into
 * w->text, then the reply. */
static void reply_match(svc_request *rq, svc_worker *w, json_t *o,
                        const phm_match_result *res)
{
    w->text_len = 0;
    if (!res->searched)
        json_object_set_new(o, "not_matched", json_string("low_quality"));
    if (res->total > res->count || res->suppressed > res->count)
        json_object_set_new(o, "truncated", json_true());
    if (res->suppressed)
        json_object_set_new(o, "suppressed", json_true());
    if (text_lit(w, "\"matches\":") || text_hits(w, res->hits, res->count)) {
        json_decref(o);
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    reply_with_text(rq, w, o);
}

int hash_video_body(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    int rc;

    if (phm_vpdq_detect(rq->body, rq->body_len < PHM_VPDQ_LINE_MAX ? rq->body_len
                                                                    : PHM_VPDQ_LINE_MAX)) {
        rc = phm_vpdq_parse((const char *)rq->body, rq->body_len, "upload", &w->video,
                            w->err, sizeof w->err);
    } else {
        phm_video_hasher *vh = worker_video_hasher(w, c);
        rc = vh ? phm_hash_video_mem(vh, rq->body, rq->body_len, "upload", &w->video,
                                     w->err, sizeof w->err)
                : PHM_ERR_NOMEM;
    }
    if (rc != PHM_OK) {
        reply_phm_error(rq, rc, w->err);
        return -1;
    }
    metrics_add(&rq->srv->metrics.videos, 1);
    return 0;
}

/* A video body (or vPDQ text): hashed from memory, its frames matched. */
static void match_video_body(svc_request *rq, svc_worker *w, long radius)
{
    const svc_config *c = &rq->rt->cfg;
    const phm_match_result *res;
    phm_match_options o;
    int rc;

    if (hash_video_body(rq, w) || search_allowed(rq, w->video.count, radius))
        return;

    phm_match_options_init(&o);
    o.max_distance = (int)radius;
    o.min_quality = (int)c->min_quality;
    o.max_matches = (size_t)c->max_matches;
    rc = phm_match_video(w->matcher, &w->video, &o, &res, w->err, sizeof w->err);
    if (rc != PHM_OK) {
        if (rc == PHM_ERR_NOMEM)
            reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        else
            reply_error(rq, 500, "index_error", "%s", w->err);
        return;
    }
    const phm_vpdq *v = &w->video;
    char format[64];
    snprintf(format, sizeof format, "%s/%s", v->container[0] ? v->container : "vpdq",
             v->codec[0] ? v->codec : "-");
    json_t *obj = json_pack("{s:s, s:s, s:I, s:I, s:f, s:I, s:I}", "kind", "video", "format",
                            format, "width", (json_int_t)v->width, "height",
                            (json_int_t)v->height, "fps", v->fps, "frames",
                            (json_int_t)v->count, "max_distance", (json_int_t)radius);
    if (!obj) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    if (res->searched)
        metrics_add(&rq->srv->metrics.lookups, (uint64_t)v->count);
    report_hits(rq, res->hits, res->count, NULL, 0);
    reply_match(rq, w, obj, res);
}

/* POST /v1/match?max_distance=N&dihedral=1&trim=0&flatten=0&robust=1 */
void handle_match(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    int dihedral, recovered, robust;
    long radius, trim, flatten;
    phm_pdq_result r;
    phm_image_info info;
    robust_extra rx;

    if (need_index(rq) || query_bool(rq, "dihedral", &dihedral) ||
        query_bool(rq, "robust", &robust) || query_int(rq, "trim", 0, 1, 1, &trim) ||
        query_int(rq, "flatten", 0, 1, 1, &flatten) ||
        query_int(rq, "max_distance", 0, (long)c->max_distance, (long)c->match_distance,
                  &radius) ||
        search_allowed(rq, 0, radius))
        return;
    if (robust) /* every query-side measure (docs/ROBUST.md) */
        dihedral = 1;
    /* Not an image format: a video (or its vPDQ hash), as phmatch match
     * takes either. */
    if (phm_format_detect(rq->body, rq->body_len) == PHM_FORMAT_UNKNOWN) {
        match_video_body(rq, w, radius);
        return;
    }
    /* ?robust=1: the caption cuts, the soft hash and the low-quality and
     * near-blank searches too; a rotation's corners always */
    rx.trim = trim != 0;
    rx.flatten = flatten != 0;
    rx.robust = robust;
    rx.low_quality_distance = robust ? PHM_ROBUST_LOW_QUALITY_DISTANCE : 0;
    if (hash_body_trim(rq, w, dihedral, &r, &info, &recovered, &rx))
        return;
    json_t *o = image_json(rq, &r, &info, recovered);
    if (!o) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    /* A picture with transparency is as good as it looks over white or
     * black (a drawing in alpha alone is quality 0 with alpha dropped),
     * as phmatch match's flags say. */
    if (phm_query_quality(&rx.q) >= PHM_PDQ_MIN_QUALITY)
        json_object_set_new(o, "low_quality", json_false());
    /* the image's hashes once for itself and once per extra searched */
    phm_match_extra parts[PHM_QUERY_MAX_EXTRA];
    phm_match_options po;
    phm_match_options_init(&po);
    size_t nparts = 1 + phm_query_match_options(&rx.q, parts, &po);
    if (search_allowed(rq, (size_t)r.nhashes * nparts, radius)) {
        json_decref(o);
        return;
    }
    json_object_set_new(o, "kind", json_string("image"));
    json_object_set_new(o, "max_distance", json_integer(radius));
    const phm_match_result *res =
        match_image_trim(rq, w, &r, &rx, (int)radius,
                         (int)c->min_quality);
    if (!res) {
        json_decref(o);
        return;
    }
    report_hits(rq, res->hits, res->count, &r.hash[0], dihedral);
    reply_match(rq, w, o, res);
}

/* POST /v1/lookup {"hashes": [...], "max_distance": 31, "k": 5} */
void handle_lookup(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    const phm_match *m = NULL;
    const size_t *off = NULL;
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
    if (search_allowed(rq, n, lb.radius))
        return;
    int radius; /* the largest distance a source allows (governance) */
    /* k: each hash its own phm_match_knn (the k nearest admitted). */
    if (n && !lb.k &&
        (phm_match_radius(w->matcher, (int)lb.radius, &radius, w->err,
                          sizeof w->err) != PHM_OK ||
         phm_search_batch(w->searcher, w->queries, n, radius, 0, &m, &off,
                          w->err, sizeof w->err) != PHM_OK)) {
        reply_error(rq, 500, "index_error", "%s", w->err);
        return;
    }
    phm_match_options o;
    phm_match_options_init(&o);
    o.max_distance = (int)lb.radius;
    o.max_matches = (size_t)c->max_matches;
    metrics_add(&rq->srv->metrics.lookups, n);
    /* {"results":[{"matches":[RECORD,...]},...],"max_distance":R} */
    w->text_len = 0;
    int fail = text_lit(w, "{\"results\":[");
    for (size_t i = 0; i < n && !fail; i++) {
        const phm_match_result *res;
        o.query = &w->queries[i]; /* known_variant of entries with stored variants */
        int rc = lb.k ? phm_match_knn(w->matcher, &w->queries[i], lb.k, -1, &o, &res,
                                      w->err, sizeof w->err)
                      : phm_match_results(w->matcher, m + off[i], off[i + 1] - off[i], -1,
                                          &o, &res, w->err, sizeof w->err);
        if (rc != PHM_OK) {
            reply_error(rq, rc == PHM_ERR_NOMEM ? 503 : 500,
                        rc == PHM_ERR_NOMEM ? "out_of_memory" : "index_error", "%s", w->err);
            return;
        }
        uint64_t all = res->suppressed ? res->suppressed : res->total;
        report_hits(rq, res->hits, res->count, &w->queries[i], 0);
        fail = text_lit(w, i ? ",{\"matches\":" : "{\"matches\":") ||
               text_hits(w, res->hits, res->count) ||
               (res->suppressed && text_lit(w, ",\"suppressed\":true")) ||
               text_lit(w, res->count < all || res->partial ? ",\"truncated\":true}"
                                                            : "}");
    }
    char tail[48];
    snprintf(tail, sizeof tail, "],\"max_distance\":%d}", (int)lb.radius);
    if (fail || text_lit(w, tail)) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    /* The answer takes the buffer. */
    reply_text(rq, 200, "application/json", w->text, w->text_len);
    w->text = NULL;
    w->text_len = w->text_cap = 0;
}
