/*
 * handlers_governance.c - the governance endpoints (admin): what may match,
 * stored in the index (phmatch.h, "governance"):
 *
 *   GET    /v1/index/sources                   every source: entries, settings
 *   GET    /v1/index/sources/{source}          one source's settings
 *   PUT    /v1/index/sources/{source}          change them (JSON, the fields given)
 *   GET    /v1/index/quarantine                quarantined entries
 *   DELETE /v1/index/quarantine/{source}/{id}  release one
 *   GET    /v1/index/disabled                  disabled entries
 *   PUT    /v1/index/disabled/{source}/{id}    disable one (?until=TIME)
 *   DELETE /v1/index/disabled/{source}/{id}    enable it again
 *
 * (DELETE /v1/index/sources/{source} removes a source's entries:
 * handlers_index.c.) Each change is one durable write transaction; every
 * process's next search sees it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_body.h"
#include "server.h"

/* The JSON of a source's settings (as `phmatch index source show
 * --format jsonl`). NULL out of memory. */
static json_t *source_json(const char *source, const phm_source_settings *s,
                           uint64_t entries)
{
    json_t *cats = json_object();
    for (size_t i = 0; cats && i < s->ncategories; i++)
        json_object_set_new(cats, s->categories[i].code, json_text(s->categories[i].name));
    return json_pack("{s:o, s:I, s:b, s:s, s:o, s:o, s:I, s:f, s:o, s:b, s:f}", "source",
                     json_text(source), "entries", (json_int_t)entries, "enabled",
                     s->enabled, "kind", phm_source_kind_name(s->kind), "max_distance",
                     s->max_distance >= 0 ? json_integer(s->max_distance) : json_null(),
                     "min_quality",
                     s->min_quality >= 0 ? json_integer(s->min_quality) : json_null(),
                     "quarantine_limit", (json_int_t)s->quarantine_limit,
                     "quarantine_window", (double)s->quarantine_window_ns / 1e9,
                     "categories", cats ? cats : json_null(), "stored", s->stored,
                     "matching_ratio", s->matching_ratio);
}

void reply_gov_error(svc_request *rq, int rc, const char *msg)
{
    if (rc == PHM_ERR_NOT_FOUND)
        reply_error(rq, 404, "not_found", "%s", msg);
    else if (rc == PHM_ERR_INVALID)
        reply_error(rq, 400, "bad_request", "%s", msg);
    else if (rc == PHM_ERR_FULL)
        reply_error(rq, 507, "index_full", "%s", msg);
    else if (rc == PHM_ERR_NOMEM)
        reply_error(rq, 503, "out_of_memory", "%s", msg);
    else if (rc == PHM_ERR_READONLY)
        reply_error(rq, 403, "read_only", "%s", msg);
    else if (rc == PHM_ERR_INDEX_TRUNCATED)
        reply_error(rq, 503, "index_truncated", "%s", msg);
    else
        reply_error(rq, 500, "index_error", "%s", msg);
}

typedef struct list_ctx {
    json_t *arr;
    size_t n;
    int truncated;
} list_ctx;

#define GOV_LIST_MAX 10000

static int add_source(void *ctx, const char *source, const phm_source_settings *s,
                      uint64_t entries)
{
    list_ctx *l = ctx;
    if (l->n == GOV_LIST_MAX) {
        l->truncated = 1;
        return 1;
    }
    l->n++;
    json_array_append_new(l->arr, source_json(source, s, entries));
    return 0;
}

static void reply_list(svc_request *rq, svc_worker *w, const char *name, list_ctx *l, int rc)
{
    if (rc < 0) {
        json_decref(l->arr);
        reply_gov_error(rq, rc, w->err);
        return;
    }
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, name, l->arr);
        if (l->truncated)
            json_object_set_new(o, "truncated", json_true());
    } else {
        json_decref(l->arr);
    }
    reply_json(rq, 200, o);
}

void handle_gov_sources(svc_request *rq, svc_worker *w)
{
    if (need_index(rq))
        return;
    list_ctx l = { json_array(), 0, 0 };
    int rc = l.arr ? phm_index_source_foreach(rq->idx, add_source, &l, w->err,
                                              sizeof w->err)
                   : PHM_ERR_NOMEM;
    if (!l.arr)
        snprintf(w->err, sizeof w->err, "out of memory");
    reply_list(rq, w, "sources", &l, rc);
}

typedef struct count_ctx {
    const char *source;
    uint64_t entries;
} count_ctx;

static int count_group(void *ctx, const char *source, const char *category, uint64_t count)
{
    count_ctx *c = ctx;
    (void)category;
    if (strcmp(source, c->source) == 0)
        c->entries += count;
    return 0;
}

/* Answers 200 with the settings of rq's source (after a PUT too). */
static void reply_source(svc_request *rq, svc_worker *w, phm_source_settings *s)
{
    const char *source = rq->path_arg[0];
    count_ctx c = { source, 0 };
    int rc = phm_index_foreach_group(rq->idx, count_group, &c, w->err, sizeof w->err);
    if (rc == PHM_OK)
        rc = phm_index_source_get(rq->idx, source, s, w->err, sizeof w->err);
    if (rc != PHM_OK) {
        reply_gov_error(rq, rc, w->err);
        return;
    }
    reply_json(rq, 200, source_json(source, s, c.entries));
}

void handle_gov_source_get(svc_request *rq, svc_worker *w)
{
    phm_source_settings *s;
    if (need_index(rq))
        return;
    if (!(s = malloc(sizeof *s))) {
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    reply_source(rq, w, s);
    free(s);
}

/* Applies the members of body `o` to s. 0, or -1 with a message in msg. */
static int apply_settings(json_t *o, phm_source_settings *s, char *msg, size_t len)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (strcmp(key, "enabled") == 0 && json_is_boolean(v)) {
            s->enabled = json_is_true(v);
        } else if (strcmp(key, "max_distance") == 0 &&
                   (json_is_null(v) || json_is_integer(v))) {
            json_int_t d = json_is_null(v) ? -1 : json_integer_value(v);
            if (d < -1 || d > PHM_INDEX_MAX_RADIUS) {
                snprintf(msg, len, "max_distance must be 0..256 or null");
                return -1;
            }
            s->max_distance = (int)d;
        } else if (strcmp(key, "min_quality") == 0 &&
                   (json_is_null(v) || json_is_integer(v))) {
            json_int_t q = json_is_null(v) ? -1 : json_integer_value(v);
            if (q < -1 || q > 100) {
                snprintf(msg, len, "min_quality must be 0..100 or null");
                return -1;
            }
            s->min_quality = (int)q;
        } else if (strcmp(key, "kind") == 0 && json_is_string(v)) {
            if (phm_source_kind_parse(json_string_value(v), &s->kind) != PHM_OK) {
                snprintf(msg, len, "kind must be \"normal\" or \"suppression\"");
                return -1;
            }
        } else if (strcmp(key, "quarantine_limit") == 0 && json_is_integer(v)) {
            json_int_t l = json_integer_value(v);
            if (l < 0 || l > PHM_QUARANTINE_MAX_LIMIT) {
                snprintf(msg, len, "quarantine_limit must be 0..%d", PHM_QUARANTINE_MAX_LIMIT);
                return -1;
            }
            s->quarantine_limit = (uint32_t)l;
        } else if (strcmp(key, "quarantine_window") == 0 &&
                   (json_is_number(v) || json_is_string(v))) {
            uint64_t ns = 0;
            if (json_is_string(v)) {
                if (phm_duration_parse(json_string_value(v), &ns) != PHM_OK)
                    ns = 0;
            } else {
                double secs = json_number_value(v);
                ns = secs >= 1 && secs <= 30 * 86400.0 ? (uint64_t)(secs * 1e9 + 0.5) : 0;
            }
            if (ns < UINT64_C(1000000000) || ns > PHM_QUARANTINE_MAX_WINDOW) {
                snprintf(msg, len, "quarantine_window must be 1 s .. 30 days (seconds, "
                         "or a duration such as \"10m\")");
                return -1;
            }
            s->quarantine_window_ns = ns;
        } else if (strcmp(key, "categories") == 0 && json_is_object(v)) {
            const char *code;
            json_t *name;
            json_object_foreach(v, code, name) {
                if (!json_is_string(name) && !json_is_null(name)) {
                    snprintf(msg, len, "categories: each name must be a string or null");
                    return -1;
                }
                char err[PHM_ERRMSG_MAX];
                if (phm_source_set_category(s, code,
                                            json_is_null(name) ? NULL : json_string_value(name),
                                            err, sizeof err) != PHM_OK) {
                    snprintf(msg, len, "%s", err);
                    return -1;
                }
            }
        } else if (strcmp(key, "matching_ratio") == 0 && json_is_number(v)) {
            double r = json_number_value(v);
            if (!(r >= 0.0 && r <= 1.0)) {
                snprintf(msg, len, "matching_ratio must be 0..1");
                return -1;
            }
            s->matching_ratio = r;
        } else {
            snprintf(msg, len, "unknown or malformed member '%.64s' (expected enabled, "
                     "max_distance, min_quality, kind, quarantine_limit, "
                     "quarantine_window, categories, matching_ratio)", key);
            return -1;
        }
    }
    return 0;
}

void handle_gov_source_put(svc_request *rq, svc_worker *w)
{
    phm_source_settings *s;
    json_error_t jerr;
    char msg[PHM_ERRMSG_MAX], who[AUTH_NAME_MAX], src[80];
    if (need_index(rq))
        return;
    json_t *o = json_loadb((const char *)rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        reply_error(rq, 400, "bad_json", "the body must be a JSON object of settings");
        return;
    }
    if (!(s = malloc(sizeof *s))) {
        json_decref(o);
        reply_error(rq, 503, "out_of_memory", "out of memory; try again later");
        return;
    }
    const char *source = rq->path_arg[0];
    int rc = phm_index_source_get(rq->idx, source, s, w->err, sizeof w->err);
    if (rc == PHM_OK && apply_settings(o, s, msg, sizeof msg)) {
        reply_error(rq, 400, "bad_request", "%s", msg);
        goto out;
    }
    if (rc == PHM_OK)
        rc = phm_index_source_set(rq->idx, source, s, w->err, sizeof w->err);
    if (rc != PHM_OK) {
        reply_gov_error(rq, rc, w->err);
        goto out;
    }
    SVC_LOG(&rq->srv->log, LOG_INFO, "index: '%s' changed the settings of source '%s'",
            log_safe(rq->who, who, sizeof who), log_safe(source, src, sizeof src));
    reply_source(rq, w, s);
out:
    json_decref(o);
    free(s);
}

static int add_quarantined(void *ctx, const char *source, const char *id, int64_t when,
                           uint64_t count)
{
    list_ctx *l = ctx;
    if (l->n == GOV_LIST_MAX) {
        l->truncated = 1;
        return 1;
    }
    l->n++;
    json_array_append_new(l->arr, json_pack("{s:o, s:o, s:I, s:I}", "source",
                                            json_text(source), "id", json_text(id),
                                            "since", (json_int_t)when, "count",
                                            (json_int_t)count));
    return 0;
}

void handle_gov_quarantine(svc_request *rq, svc_worker *w)
{
    if (need_index(rq))
        return;
    list_ctx l = { json_array(), 0, 0 };
    int rc = l.arr ? phm_index_quarantine_foreach(rq->idx, add_quarantined, &l, w->err,
                                                  sizeof w->err)
                   : PHM_ERR_NOMEM;
    if (!l.arr)
        snprintf(w->err, sizeof w->err, "out of memory");
    reply_list(rq, w, "quarantined", &l, rc);
}

void handle_gov_quarantine_release(svc_request *rq, svc_worker *w)
{
    char who[AUTH_NAME_MAX], src[80], id[80];
    if (need_index(rq))
        return;
    int rc = phm_index_quarantine_release(rq->idx, rq->path_arg[0], rq->path_arg[1],
                                          w->err, sizeof w->err);
    if (rc != PHM_OK) {
        reply_gov_error(rq, rc, w->err);
        return;
    }
    SVC_LOG(&rq->srv->log, LOG_INFO, "index: '%s' released '%s:%s' from quarantine",
            log_safe(rq->who, who, sizeof who), log_safe(rq->path_arg[0], src, sizeof src),
            log_safe(rq->path_arg[1], id, sizeof id));
    reply_json(rq, 200, json_pack("{s:b}", "released", 1));
}

static int add_disabled(void *ctx, const char *source, const char *id, int64_t until,
                        int64_t since)
{
    list_ctx *l = ctx;
    if (l->n == GOV_LIST_MAX) {
        l->truncated = 1;
        return 1;
    }
    l->n++;
    int64_t now = (int64_t)time(NULL);
    json_array_append_new(l->arr,
                          json_pack("{s:o, s:o, s:I, s:I, s:b}", "source", json_text(source),
                                    "id", json_text(id), "until", (json_int_t)until, "since",
                                    (json_int_t)since, "active", until == 0 || until > now));
    return 0;
}

void handle_gov_disabled(svc_request *rq, svc_worker *w)
{
    if (need_index(rq))
        return;
    list_ctx l = { json_array(), 0, 0 };
    int rc = l.arr ? phm_index_disabled_foreach(rq->idx, add_disabled, &l, w->err,
                                                sizeof w->err)
                   : PHM_ERR_NOMEM;
    if (!l.arr)
        snprintf(w->err, sizeof w->err, "out of memory");
    reply_list(rq, w, "disabled", &l, rc);
}

static void disable_common(svc_request *rq, svc_worker *w, int disable)
{
    char until_s[32], who[AUTH_NAME_MAX], src[80], id[80];
    int64_t until = 0;
    if (need_index(rq))
        return;
    int r = query_arg(rq, "until", until_s, sizeof until_s);
    if (r < 0 || (r > 0 && (phm_hashlist_parse_time(until_s, strlen(until_s), &until) ||
                            until <= 0))) {
        reply_error(rq, 400, "bad_request", "invalid value for ?until: expected unix seconds "
                    "or YYYY-MM-DDTHH:MM:SSZ");
        return;
    }
    const char *ids[1] = { rq->path_arg[1] };
    int rc = phm_index_entries_disable(rq->idx, rq->path_arg[0], ids, 1, disable, until,
                                       w->err, sizeof w->err);
    if (rc != PHM_OK) {
        reply_gov_error(rq, rc, w->err);
        return;
    }
    SVC_LOG(&rq->srv->log, LOG_INFO, "index: '%s' %s '%s:%s'",
            log_safe(rq->who, who, sizeof who), disable ? "disabled" : "enabled",
            log_safe(rq->path_arg[0], src, sizeof src),
            log_safe(rq->path_arg[1], id, sizeof id));
    reply_json(rq, 200, json_pack("{s:b, s:I}", "disabled", disable, "until",
                                  (json_int_t)(disable ? until : 0)));
}

void handle_gov_disable(svc_request *rq, svc_worker *w)
{
    disable_common(rq, w, 1);
}

void handle_gov_enable(svc_request *rq, svc_worker *w)
{
    disable_common(rq, w, 0);
}
