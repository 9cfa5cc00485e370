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
    phm_index *idx = rq->srv->idx;

    if (need_index(rq))
        return;
    if (phm_index_stats_get(idx, &st, w->err, sizeof w->err) != PHM_OK) {
        reply_error(rq, 500, "index_error", "%s", w->err);
        return;
    }
    groups_ctx g = { json_array(), 0, 0 };
    int rc = g.arr ? phm_index_groups(idx, add_group, &g, w->err, sizeof w->err) : -1;
    if (rc < 0) {
        json_decref(g.arr);
        reply_error(rq, 500, "index_error", "%s", g.arr ? w->err : "out of memory");
        return;
    }
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o}",
        "format_version", (json_int_t)st.format_version, "entries", (json_int_t)st.entries,
        "pdq_entries", (json_int_t)st.pdq_entries, "digests", (json_int_t)st.digests,
        "sources", (json_int_t)st.sources, "base_entries", (json_int_t)st.base_entries,
        "delta_entries", (json_int_t)st.delta_entries, "dead_entries",
        (json_int_t)st.dead_entries, "generation", (json_int_t)st.generation,
        "file_bytes", (json_int_t)st.file_bytes, "used_bytes", (json_int_t)st.used_bytes,
        "created", (json_int_t)st.created, "compacted", (json_int_t)st.compacted, "simd",
        phm_simd_name(phm_index_simd(idx)), "groups", g.arr);
    if (o && g.truncated)
        json_object_set_new(o, "groups_truncated", json_true());
    reply_json(rq, 200, o);
}

/* Reads one entry object. Strings point into the JSON (valid while it
 * is). Returns 0 or -1 with the reason in err. */
static int entry_from_json(json_t *j, phm_entry *e, char *err, size_t errlen)
{
    static const struct { const char *name; unsigned sig; size_t len; } digests[] = {
        { "md5", PHM_SIG_MD5, 16 }, { "sha1", PHM_SIG_SHA1, 20 },
        { "sha256", PHM_SIG_SHA256, 32 },
    };
    const char *key;
    json_t *v;

    memset(e, 0, sizeof *e);
    e->quality = -1;
    if (!json_is_object(j)) {
        snprintf(err, errlen, "not an object");
        return -1;
    }
    json_object_foreach(j, key, v) {
        if (!strcmp(key, "source") || !strcmp(key, "id") || !strcmp(key, "category") ||
            !strcmp(key, "note")) {
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
                snprintf(err, errlen, "%s must be a string without NUL", key);
                return -1;
            }
            const char *s = json_string_value(v);
            if (key[0] == 's')
                e->source = s;
            else if (key[0] == 'i')
                e->id = s;
            else if (key[0] == 'c')
                e->category = s;
            else
                e->note = s;
        } else if (!strcmp(key, "hash") || !strcmp(key, "pdq")) {
            if (!json_is_string(v) || phm_pdq_from_hex(json_string_value(v),
                                                        json_string_length(v), &e->pdq)) {
                snprintf(err, errlen, "%s must be a PDQ hash of 64 hex digits", key);
                return -1;
            }
            e->signals |= PHM_SIG_PDQ;
        } else if (!strcmp(key, "quality")) {
            if (!json_is_integer(v) || json_integer_value(v) < -1 ||
                json_integer_value(v) > 100) {
                snprintf(err, errlen, "quality must be an integer from -1 to 100");
                return -1;
            }
            e->quality = (int)json_integer_value(v);
        } else if (!strcmp(key, "added")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                snprintf(err, errlen, "added must be unix seconds");
                return -1;
            }
            e->added = json_integer_value(v);
        } else {
            size_t d;
            for (d = 0; d < 3; d++)
                if (!strcmp(key, digests[d].name))
                    break;
            if (d == 3) {
                snprintf(err, errlen, "unknown field '%.64s'", key);
                return -1;
            }
            uint8_t *dst = digests[d].sig == PHM_SIG_MD5    ? e->md5
                           : digests[d].sig == PHM_SIG_SHA1 ? e->sha1
                                                            : e->sha256;
            if (!json_is_string(v) || hex_decode(json_string_value(v), json_string_length(v),
                                                 dst, digests[d].len)) {
                snprintf(err, errlen, "%s must be %zu hex digits", key, 2 * digests[d].len);
                return -1;
            }
            e->signals |= digests[d].sig;
        }
    }
    if (!e->source || !e->id) {
        snprintf(err, errlen, "source and id are required");
        return -1;
    }
    if (!e->signals) {
        snprintf(err, errlen, "no signal: give hash (PDQ), md5, sha1 or sha256");
        return -1;
    }
    return 0;
}

static void reply_write_error(svc_request *rq, int rc, const char *msg)
{
    if (rc == PHM_ERR_FULL)
        reply_error(rq, 507, "index_full", "%s", msg);
    else if (rc == PHM_ERR_NOMEM)
        reply_error(rq, 503, "out_of_memory", "%s", msg);
    else if (rc == PHM_ERR_READONLY)
        reply_error(rq, 403, "read_only", "%s", msg);
    else
        reply_error(rq, 500, "index_error", "%s", msg);
}

/* POST /v1/index/entries: {"entries": [{...}, ...]} or one {...}. */
void handle_index_add(svc_request *rq, svc_worker *w)
{
    const svc_config *c = &rq->rt->cfg;
    json_error_t je;
    json_t *root, *list;
    phm_index_txn *txn = NULL;
    phm_index_counts counts;
    char msg[PHM_ERRMSG_MAX], who[AUTH_NAME_MAX];

    if (need_index(rq))
        return;
    root = json_loadb((const char *)rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        reply_error(rq, 400, "bad_json", "malformed JSON at line %d column %d: %s",
                    je.line, je.column, je.text);
        return;
    }
    list = json_is_object(root) ? json_object_get(root, "entries") : NULL;
    if (list && !json_is_array(list)) {
        reply_error(rq, 400, "bad_request", "entries must be an array");
        goto out;
    }
    size_t n = list ? json_array_size(list) : 1;
    if (n > (size_t)c->max_batch) {
        reply_error(rq, 413, "too_large", "%zu entries in one request; at most %lld", n,
                    (long long)c->max_batch);
        goto out;
    }
    /* Validate everything before taking the write lock. */
    for (size_t i = 0; i < n; i++) {
        phm_entry e;
        if (entry_from_json(list ? json_array_get(list, i) : root, &e, msg, sizeof msg)) {
            reply_error(rq, 400, "bad_entry", "entries[%zu]: %s", i, msg);
            goto out;
        }
    }
    int rc = phm_index_txn_begin(rq->srv->idx, &txn, w->err, sizeof w->err);
    for (size_t i = 0; rc == PHM_OK && i < n; i++) {
        phm_entry e;
        entry_from_json(list ? json_array_get(list, i) : root, &e, msg, sizeof msg);
        rc = phm_index_add(txn, &e, w->err, sizeof w->err);
        if (rc == PHM_ERR_INVALID) {
            phm_index_txn_abort(txn);
            txn = NULL;
            reply_error(rq, 400, "bad_entry", "entries[%zu]: %s", i, w->err);
            goto out;
        }
    }
    if (rc == PHM_OK) {
        rc = phm_index_txn_commit(txn, &counts, w->err, sizeof w->err);
        txn = NULL;
    }
    if (rc != PHM_OK) {
        phm_index_txn_abort(txn);
        reply_write_error(rq, rc, w->err);
        goto out;
    }
    SVC_LOG(&rq->srv->log, LOG_INFO, "index: '%s' added %llu, updated %llu, left %llu "
            "unchanged", log_safe(rq->who, who, sizeof who),
            (unsigned long long)counts.added, (unsigned long long)counts.updated,
            (unsigned long long)counts.unchanged);
    reply_json(rq, 200, json_pack("{s:I, s:I, s:I}", "added", (json_int_t)counts.added,
                                  "updated", (json_int_t)counts.updated, "unchanged",
                                  (json_int_t)counts.unchanged));
out:
    json_decref(root);
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
    rc = phm_index_txn_begin(rq->srv->idx, &txn, w->err, sizeof w->err);
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
        if (rc == PHM_ERR_INVALID)
            reply_error(rq, 400, "bad_request", "%s", w->err);
        else
            reply_write_error(rq, rc, w->err);
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
