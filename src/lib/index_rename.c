/* index_rename.c - what a source needs to serve as an HMA bank
 * (phmatch.h, "sources as banks"): content ids from a counter kept in the
 * index, and renaming a source in one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_block.h"

static const char *const WHAT = "cannot write index";

int phm_index_txn_next_content_id(phm_index_txn *txn, uint64_t *out, char *err,
                                  size_t errlen)
{
    if (!txn || !out)
        return PHM_ERR_INVALID;
    phm_index *idx;
    MDB_txn *mt = idx_txn_mdb(txn, &idx);
    if (!mt) {
        if (err && errlen)
            snprintf(err, errlen, "%s: the transaction failed earlier", WHAT);
        return PHM_ERR_INVALID;
    }
    uint64_t next = 1;
    int rc = idx_meta_get_u64(idx, mt, "next_content_id", &next);
    if (rc == MDB_NOTFOUND) {
        next = 1;
        rc = 0;
    }
    if (!rc && (next == 0 || next == UINT64_MAX))
        rc = MDB_CORRUPTED;
    if (!rc)
        rc = idx_meta_put_u64(idx, mt, "next_content_id", next + 1);
    if (rc)
        return idx_mdb_err(rc, err, errlen, WHAT, idx, "allocating a content id");
    *out = next;
    return PHM_OK;
}

/* Increments the generation (a commit without entry changes does not). */
static int bump_gen(phm_index *idx, MDB_txn *mt)
{
    uint64_t gen = 0;
    int rc = idx_meta_get_u64(idx, mt, "gen", &gen);
    return rc ? rc : idx_meta_put_u64(idx, mt, "gen", gen + 1);
}

/* 1 if s is a valid source name (1..PHM_INDEX_MAX_SOURCE bytes, no
 * control characters), else 0 with a message. */
static int name_ok(const char *s, char *err, size_t errlen)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c < 0x20 || c == 0x7f || n >= PHM_INDEX_MAX_SOURCE)
            break;
    }
    if (s && n > 0 && !s[n])
        return 1;
    if (err && errlen)
        snprintf(err, errlen, "invalid source name: empty, longer than %d bytes or with "
                 "control characters", PHM_INDEX_MAX_SOURCE);
    return 0;
}

/* The ids of `source`'s entries, NUL-separated in one buffer. */
typedef struct id_list {
    char *buf;
    size_t len, cap, n;
} id_list;

static int ids_push(id_list *l, const void *id, size_t n)
{
    if (l->len + n + 1 > l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4096;
        while (cap < l->len + n + 1)
            cap *= 2;
        char *nb = realloc(l->buf, cap);
        if (!nb)
            return ENOMEM;
        l->buf = nb;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, id, n);
    l->buf[l->len + n] = '\0';
    l->len += n + 1;
    l->n++;
    return 0;
}

/* Whether `source` has entries (keys: its number, id), and with ids
 * non-NULL, collects their ids. LMDB code. */
static int source_keys(phm_index *idx, MDB_txn *txn, const char *source, int *any,
                       id_list *ids)
{
    uint32_t src;
    *any = 0;
    int rc = idx_name_find(idx, txn, source, &src);
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc;
    uint8_t key[5];
    size_t sl = idx_okey_put(key, src);
    blk_map m;
    blk_iter it;
    blk_map_init(&m, txn, idx->db_keys, BLK_KEYS);
    if ((rc = blk_iter_open(&it, &m, key, sl)))
        return rc;
    while ((rc = blk_iter_next(&it)) == 0) {
        const blk_dec *d = it.d;
        if (d->klen <= sl || memcmp(d->key, key, sl) != 0)
            break;
        *any = 1;
        if (!ids)
            break;
        if ((rc = ids_push(ids, d->key + sl, d->klen - sl)))
            break;
    }
    blk_iter_close(&it);
    blk_map_free(&m);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Adds entry (from, id) again as (to, id) within t. */
static int move_entry(phm_index_txn *t, phm_index *idx, MDB_txn *mt, const char *from,
                      const char *to, const char *id, uint8_t *rec, char *err,
                      size_t errlen)
{
    uint64_t eid = 0;
    int rc = idx_entry_find(idx, mt, from, id, &eid);
    if (rc)
        return idx_mdb_err(rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc, err, errlen, WHAT, idx,
                           "renaming a source");
    MDB_val ek = { sizeof eid, &eid }, v;
    phm_entry e;
    rec_extra x;
    rc = idx_txn_entry(t, eid, rec, &x, &e);
    if (rc == MDB_CORRUPTED) {
        idx_err(err, errlen, WHAT, idx->path, "index file is corrupt: entry %llu does not "
                "decode", (unsigned long long)eid);
        return PHM_ERR_CORRUPT;
    }
    if (rc)
        return idx_mdb_err(rc, err, errlen, WHAT, idx, "renaming a source");
    phm_vpdq frames;
    phm_vpdq_init(&frames);
    int st = PHM_OK;
    if (e.signals & PHM_SIG_VPDQ) {
        rc = mdb_get(mt, idx->db_frames, &ek, &v);
        if (rc)
            return idx_mdb_err(rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc, err, errlen, WHAT,
                               idx, "renaming a source");
        st = vid_decode(v.mv_data, v.mv_size, &frames);
        if (st) {
            idx_err(err, errlen, WHAT, idx->path, "the frames of entry %llu do not decode",
                    (unsigned long long)eid);
            return st;
        }
        e.frames = frames.frames;
        e.nframes = frames.count;
    }
    e.source = to;
    st = phm_index_add(t, &e, err, errlen);
    phm_vpdq_clear(&frames);
    return st;
}

int phm_index_source_rename(phm_index *idx, const char *from, const char *to,
                            uint64_t *moved, char *err, size_t errlen)
{
    if (moved)
        *moved = 0;
    if (!idx)
        return PHM_ERR_INVALID;
    if (!name_ok(from, err, errlen) || !name_ok(to, err, errlen))
        return PHM_ERR_INVALID;
    phm_index_txn *t;
    int st = phm_index_txn_begin(idx, &t, err, errlen);
    if (st)
        return st;
    phm_index *ti;
    MDB_txn *mt = idx_txn_mdb(t, &ti);
    id_list ids = { NULL, 0, 0, 0 };
    uint8_t *rec = malloc(REC_MAX);
    int from_set = 0, to_set = 0, to_any = 0, from_any = 0;
    int rc = rec ? 0 : ENOMEM;
    if (!rc)
        rc = idx_gov_source_exists(idx, mt, from, &from_set);
    if (!rc)
        rc = idx_gov_source_exists(idx, mt, to, &to_set);
    if (!rc)
        rc = source_keys(idx, mt, to, &to_any, NULL);
    if (!rc)
        rc = source_keys(idx, mt, from, &from_any, &ids);
    if (rc) {
        st = idx_mdb_err(rc, err, errlen, WHAT, idx, "renaming a source");
        goto fail;
    }
    if (!from_set && !from_any) {
        idx_err(err, errlen, WHAT, idx->path, "no source '%s'", from);
        st = PHM_ERR_NOT_FOUND;
        goto fail;
    }
    if (strcmp(from, to) == 0)
        goto fail; /* nothing to do: PHM_OK */
    if (to_set || to_any) {
        idx_err(err, errlen, WHAT, idx->path, "source '%s' exists", to);
        st = PHM_ERR_INVALID;
        goto fail;
    }
    const char *id = ids.buf;
    for (size_t i = 0; i < ids.n && !st; i++, id += strlen(id) + 1)
        st = move_entry(t, idx, mt, from, to, id, rec, err, errlen);
    uint64_t removed = 0;
    if (!st)
        st = phm_index_remove_source(t, from, &removed, err, errlen);
    if (!st && (mt = idx_txn_mdb(t, &ti)) != NULL &&
        ((rc = idx_gov_rename(idx, mt, from, to)) != 0 ||
         (!from_any && (rc = bump_gen(idx, mt)) != 0)))
        st = idx_mdb_err(rc, err, errlen, WHAT, idx, "renaming a source");
    if (st)
        goto fail;
    free(rec);
    free(ids.buf);
    st = phm_index_txn_commit(t, NULL, err, errlen);
    if (!st && moved)
        *moved = removed;
    return st;
fail:
    free(rec);
    free(ids.buf);
    phm_index_txn_abort(t);
    return st;
}

int phm_index_source_delete(phm_index *idx, const char *source, uint64_t *removed,
                            char *err, size_t errlen)
{
    if (removed)
        *removed = 0;
    if (!idx)
        return PHM_ERR_INVALID;
    if (!name_ok(source, err, errlen))
        return PHM_ERR_INVALID;
    phm_index_txn *t;
    int st = phm_index_txn_begin(idx, &t, err, errlen);
    if (st)
        return st;
    phm_index *ti;
    MDB_txn *mt = idx_txn_mdb(t, &ti);
    int set = 0, any = 0;
    int rc = idx_gov_source_exists(idx, mt, source, &set);
    if (!rc)
        rc = source_keys(idx, mt, source, &any, NULL);
    if (rc) {
        phm_index_txn_abort(t);
        return idx_mdb_err(rc, err, errlen, WHAT, idx, "deleting a source");
    }
    if (!set && !any) {
        phm_index_txn_abort(t);
        idx_err(err, errlen, WHAT, idx->path, "no source '%s'", source);
        return PHM_ERR_NOT_FOUND;
    }
    uint64_t n = 0;
    st = phm_index_remove_source(t, source, &n, err, errlen);
    if (!st && (mt = idx_txn_mdb(t, &ti)) != NULL &&
        (rc = idx_gov_rename(idx, mt, source, NULL)) != 0)
        st = idx_mdb_err(rc, err, errlen, WHAT, idx, "deleting a source");
    if (st) {
        phm_index_txn_abort(t);
        return st;
    }
    if (!any && (rc = bump_gen(idx, mt)) != 0) {
        phm_index_txn_abort(t);
        return idx_mdb_err(rc, err, errlen, WHAT, idx, "deleting a source");
    }
    st = phm_index_txn_commit(t, NULL, err, errlen);
    if (!st && removed)
        *removed = n;
    return st;
}
