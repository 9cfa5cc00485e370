/*
 * handlers_index.c - the index endpoints:
 *
 *   GET    /v1/index                          statistics and per-source counts
 *   POST   /v1/index/entries                  add or replace entries (admin)
 *   DELETE /v1/index/entries/{source}/{id}    remove one entry (admin)
 *   DELETE /v1/index/sources/{source}         remove a whole source (admin)
 *
 * A change is one write transaction, committed durably before the answer;
 * searches see it at their next request, in this process and others. A
 * write waits while another process (an import) holds the index's write
 * transaction.
 */
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "json_body.h"
#include "server.h"

#define MAX_GROUPS 1000

typedef struct groups_ctx {
    json_t *arr;
    size_t n;
    int truncated;
} groups_ctx;

static int add_group(void *ctx, const char *source, const char *category, uint64_t count)
{
    groups_ctx *g = ctx;
    if (g->n == MAX_GROUPS) {
        g->truncated = 1;
        return 1;
    }
    g->n++;
    json_array_append_new(g->arr, json_pack("{s:o, s:o, s:I}", "source", json_text(source),
                                            "category", json_text(category), "count",
                                            (json_int_t)count));
    return 0;
}

void handle_index_stats(svc_request *rq, svc_worker *w)
{
    phm_index_stats st;
    phm_index *idx = rq->idx;

    if (need_index(rq))
        return;
    if (phm_index_get_stats(idx, &st, w->err, sizeof w->err) != PHM_OK) {
        reply_error(rq, 500, "index_error", "%s", w->err);
        return;
    }
    groups_ctx g = { json_array(), 0, 0 };
    int rc = g.arr ? phm_index_foreach_group(idx, add_group, &g, w->err, sizeof w->err) : -1;
    if (rc < 0) {
        json_decref(g.arr);
        reply_error(rq, 500, "index_error", "%s", g.arr ? w->err : "out of memory");
        return;
    }
    /* The fields of phm_index_stats by their names, as `phmatch index stats`. */
    json_t *o = json_object();
    const char *name;
    int64_t v;
    for (size_t i = 0; o && (name = phm_index_stats_field(&st, i, &v)) != NULL; i++)
        json_object_set_new(o, name, json_integer((json_int_t)v));
    phm_governance_counts gc; /* as `phmatch index stats` */
    if (o && phm_index_governance_counts(idx, (int64_t)time(NULL), &gc, w->err,
                                         sizeof w->err) == PHM_OK) {
        json_object_set_new(o, "sources_set", json_integer((json_int_t)gc.sources_set));
        json_object_set_new(o, "disabled", json_integer((json_int_t)gc.disabled));
        json_object_set_new(o, "quarantined", json_integer((json_int_t)gc.quarantined));
    }
    if (o) {
        json_object_set_new(o, "simd", json_string(phm_simd_name(phm_index_simd(idx))));
        json_object_set_new(o, "groups", g.arr);
    } else {
        json_decref(g.arr);
    }
    if (o && g.truncated)
        json_object_set_new(o, "groups_truncated", json_true());
    reply_json(rq, 200, o);
}

/* A request's deletions (a feed's) read one after another, removed
 * together by one phm_index_remove_many, before the next add and at the
 * end: each block of the index is rewritten once, not once per deletion.
 * Copies of their names; max_batch bounds how many. */
typedef struct del_list {
    phm_entry_name *names;
    size_t n, cap;
} del_list;

static void del_list_clear(del_list *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free((char *)d->names[i].source);
        free((char *)d->names[i].id);
    }
    d->n = 0;
}

/* 0, or -1 out of memory. */
static int del_list_add(del_list *d, const phm_entry *e)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 64;
        phm_entry_name *nn = realloc(d->names, cap * sizeof *nn);
        if (!nn)
            return -1;
        d->names = nn;
        d->cap = cap;
    }
    char *src = strdup(e->source ? e->source : ""), *id = strdup(e->id ? e->id : "");
    if (!src || !id) {
        free(src);
        free(id);
        return -1;
    }
    d->names[d->n].source = src;
    d->names[d->n++].id = id;
    return 0;
}

/* Removes the names held (then none): a status as phm_index_remove_many. */
static int del_list_flush(del_list *d, phm_index_txn *txn, char *err, size_t errlen)
{
    int rc = phm_index_remove_many(txn, d->names, d->n, NULL, NULL, err, errlen);
    del_list_clear(d);
    return rc;
}

/* POST /v1/index/entries: a hash list (json_body.h): {"entries": [{...},
 * ...]} or one {...} as application/json, or a list in any format of
 * `phmatch index import`; ?source=, ?category= and ?id= (a vPDQ body's
 * video) are the defaults of `--source`, `--category` and `--id`. */
void handle_index_add(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    entries_body body;
    phm_hashlist_reader *rd = NULL;
    phm_index_txn *txn = NULL;
    phm_index_counts counts;
    del_list dels = { NULL, 0, 0 };
    char who[AUTH_NAME_MAX], msg[PHM_HASHLIST_ERRMSG_MAX];
    char source[PHM_HASHLIST_SOURCE_MAX + 1], category[PHM_HASHLIST_CATEGORY_MAX + 1];
    char id[PHM_HASHLIST_ID_MAX + 1];
    const char *defaults[3] = { NULL, NULL, NULL };
    static const char *const names[3] = { "source", "category", "id" };
    char *bufs[3] = { source, category, id };
    const size_t sizes[3] = { sizeof source, sizeof category, sizeof id };
    svc_bad bad;

    if (need_index(rq))
        return;
    for (int i = 0; i < 3; i++) {
        int r = query_arg(rq, names[i], bufs[i], sizes[i]);
        if (r < 0) {
            reply_error(rq, 400, "bad_request", "invalid value for ?%s: malformed or longer "
                        "than %zu bytes", names[i], sizes[i] - 1);
            return;
        }
        defaults[i] = r ? bufs[i] : NULL;
    }
    /* A ?source= with a stored minimum quality holds the body to it, as
     * `phmatch index import --source` is held. An invalid name is left to
     * the records' own check. */
    int min_quality = 0;
    if (defaults[0]) {
        phm_source_settings ss;
        int grc = phm_index_source_get(rq->idx, defaults[0], &ss, w->err, sizeof w->err);
        if (grc == PHM_OK && ss.min_quality > 0)
            min_quality = ss.min_quality;
        else if (grc != PHM_OK && grc != PHM_ERR_INVALID) {
            reply_error(rq, 500, "index_error", "%s", w->err);
            return;
        }
    }
    /* Everything is read and checked before taking the write lock. */
    const char *ct = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (entries_body_check(rq->body, rq->body_len, ct, defaults[0], defaults[1], defaults[2],
                           min_quality, (size_t)c->max_batch, &body, &bad) != 0) {
        reply_error(rq, bad.status, bad.code, "%s", bad.msg);
        return;
    }
    if (entries_body_reader(&body, &rd) != 0) {
        reply_error(rq, 503, "out_of_memory", "no memory for the request now; try again later");
        goto out;
    }
    int rc = phm_index_txn_begin(rq->idx, &txn, w->err, sizeof w->err);
    phm_entry e;
    int got;
    if (rc == PHM_OK)
        phm_index_txn_unique_ids(txn, 1);
    while (rc == PHM_OK &&
           (got = phm_hashlist_read(rd, &e, msg, sizeof msg)) != PHM_HASHLIST_EOF) {
        if (got == PHM_HASHLIST_REMOVE) {
            /* a feed's deletion record: held until the next add, its name
             * checked now so that a bad one is reported with its record
             * (the list reader allows longer sources than the index) */
            size_t ns = e.source ? strnlen(e.source, PHM_INDEX_MAX_SOURCE + 1) : 0;
            size_t ni = e.id ? strnlen(e.id, PHM_INDEX_MAX_ID + 1) : 0;
            if (ns == 0 || ns > PHM_INDEX_MAX_SOURCE || ni == 0 || ni > PHM_INDEX_MAX_ID) {
                phm_index_txn_abort(txn);
                txn = NULL;
                snprintf(w->err, sizeof w->err, "%s is empty or longer than %d bytes",
                         ns == 0 || ns > PHM_INDEX_MAX_SOURCE ? "source" : "id",
                         ns == 0 || ns > PHM_INDEX_MAX_SOURCE ? PHM_INDEX_MAX_SOURCE
                                                              : PHM_INDEX_MAX_ID);
                entries_body_where(&body, rd, w->err, msg, sizeof msg);
                reply_error(rq, 400, "bad_entry", "%s", msg);
                goto out;
            }
            if (del_list_add(&dels, &e) == 0)
                continue;
            phm_index_txn_abort(txn);
            txn = NULL;
            reply_error(rq, 503, "out_of_memory", "no memory for the request now; try again later");
            goto out;
        }
        if (dels.n && (rc = del_list_flush(&dels, txn, w->err, sizeof w->err)) != PHM_OK)
            break;
        if (got != PHM_HASHLIST_RECORD) {
            /* Read and checked before: only memory can fail now. */
            phm_index_txn_abort(txn);
            txn = NULL;
            reply_error(rq, 503, "out_of_memory", "%s", msg);
            goto out;
        } else {
            rc = phm_index_add(txn, &e, w->err, sizeof w->err);
        }
        if (rc == PHM_ERR_INVALID) {
            phm_index_txn_abort(txn);
            txn = NULL;
            entries_body_where(&body, rd, w->err, msg, sizeof msg);
            reply_error(rq, 400, "bad_entry", "%s", msg);
            goto out;
        }
    }
    if (rc == PHM_OK && dels.n)
        rc = del_list_flush(&dels, txn, w->err, sizeof w->err);
    if (rc == PHM_ERR_INVALID) { /* a deletion's name: checked above, so not expected */
        phm_index_txn_abort(txn);
        txn = NULL;
        reply_error(rq, 400, "bad_entry", "%s", w->err);
        goto out;
    }
    if (rc == PHM_OK) {
        rc = phm_index_txn_commit(txn, &counts, w->err, sizeof w->err);
        txn = NULL;
    }
    if (rc != PHM_OK) {
        phm_index_txn_abort(txn);
        reply_gov_error(rq, rc, w->err);
        goto out;
    }
    SVC_LOG(&rq->srv->log, LOG_INFO, "index: '%s' added %llu, updated %llu, left %llu "
            "unchanged, removed %llu", log_safe(rq->who, who, sizeof who),
            (unsigned long long)counts.added, (unsigned long long)counts.updated,
            (unsigned long long)counts.unchanged, (unsigned long long)counts.removed);
    reply_json(rq, 200, json_pack("{s:I, s:I, s:I, s:I}", "added", (json_int_t)counts.added,
                                  "updated", (json_int_t)counts.updated, "unchanged",
                                  (json_int_t)counts.unchanged, "removed",
                                  (json_int_t)counts.removed));
out:
    del_list_clear(&dels);
    free(dels.names);
    phm_hashlist_reader_close(rd);
    entries_body_free(&body);
}

/* DELETE /v1/index/entries/{source}/{id} and /v1/index/sources/{source} */
static void remove_common(svc_request *rq, svc_worker *w, int whole_source)
{
    phm_index_txn *txn = NULL;
    uint64_t removed = 0;
    char who[AUTH_NAME_MAX], src[80];
    int rc;

    if (need_index(rq))
        return;
    rc = phm_index_txn_begin(rq->idx, &txn, w->err, sizeof w->err);
    if (rc == PHM_OK) {
        if (whole_source) {
            rc = phm_index_remove_source(txn, rq->path_arg[0], &removed, w->err,
                                         sizeof w->err);
        } else {
            int one = 0;
            rc = phm_index_remove(txn, rq->path_arg[0], rq->path_arg[1], &one, w->err,
                                  sizeof w->err);
            removed = (uint64_t)one;
        }
    }
    if (rc == PHM_OK && removed == 0) {
        phm_index_txn_abort(txn);
        reply_error(rq, 404, "not_found", whole_source ? "no entry has this source"
                                                       : "no such entry");
        return;
    }
    if (rc == PHM_OK) {
        rc = phm_index_txn_commit(txn, NULL, w->err, sizeof w->err);
        txn = NULL;
    }
    if (rc != PHM_OK) {
        phm_index_txn_abort(txn);
        reply_gov_error(rq, rc, w->err);
        return;
    }
    SVC_LOG(&rq->srv->log, LOG_INFO, "index: '%s' removed %llu entr%s of source '%s'",
            log_safe(rq->who, who, sizeof who), (unsigned long long)removed,
            removed == 1 ? "y" : "ies", log_safe(rq->path_arg[0], src, sizeof src));
    reply_json(rq, 200, json_pack("{s:I}", "removed", (json_int_t)removed));
}

void handle_index_delete_entry(svc_request *rq, svc_worker *w)
{
    remove_common(rq, w, 0);
}

void handle_index_delete_source(svc_request *rq, svc_worker *w)
{
    remove_common(rq, w, 1);
}
