/* index_util.h - helpers shared by the index and search tests: a scratch
 * directory, a seeded generator of hashes, and brute-force references. */
#ifndef PHM_INDEX_UTIL_H
#define PHM_INDEX_UTIL_H

#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phmatch.h"

typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline phm_pdq rng_hash(rng *r)
{
    phm_pdq h;
    for (int i = 0; i < 4; i++)
        h.w[i] = rng_next(r);
    return h;
}

/* h with `flips` distinct random bits flipped. */
static inline phm_pdq rng_near(rng *r, const phm_pdq *h, int flips)
{
    phm_pdq o = *h;
    int done = 0;
    while (done < flips) {
        int b = (int)(rng_next(r) % 256);
        uint64_t m = 1ull << (b % 64);
        if ((o.w[b / 64] ^ h->w[b / 64]) & m)
            continue;
        o.w[b / 64] ^= m;
        done++;
    }
    return o;
}

/* A fresh scratch directory; removed by scratch_done. In $TMPDIR if set,
 * else in /dev/shm when there is one (commits fsync; memory is quick). */
static inline void scratch_dir(char *buf, size_t len, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(buf, len, "%s/phm-%s-XXXXXX", tmp, name);
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        exit(2);
    }
}

static inline void scratch_done(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", dir);
}

/* Adds entry e to idx in a transaction of its own: PHM_OK, or the failing
 * call's code with its message in err. */
static inline int index_add_one(phm_index *idx, const phm_entry *e, char *err, size_t errlen)
{
    phm_index_txn *t;
    phm_index_counts c;
    int rc = phm_index_txn_begin(idx, &t, err, errlen);
    if (rc)
        return rc;
    if ((rc = phm_index_add(t, e, err, errlen))) {
        phm_index_txn_abort(t);
        return rc;
    }
    return phm_index_txn_commit(t, &c, err, errlen);
}

/* Runs edit(txn, ctx) in a write transaction of the index file at path
 * opened with LMDB itself (what another build, or damage, would leave),
 * committed when edit returns 0. Returns 0 or an LMDB code. */
static inline int index_raw_edit(const char *path, int (*edit)(MDB_txn *, void *), void *ctx)
{
    MDB_env *env;
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (rc)
        return rc;
    /* a map of 4 GiB (LMDB takes the file's size if it is larger), not
     * the 1 TiB the file records: under ThreadSanitizer (make tsan) a
     * process has room for one such map only */
    if (!(rc = mdb_env_set_maxdbs(env, 16)) &&
        !(rc = mdb_env_set_mapsize(env, (size_t)1 << 32)) &&
        !(rc = mdb_env_open(env, path, MDB_NOSUBDIR, 0600)) &&
        !(rc = mdb_txn_begin(env, NULL, 0, &txn))) {
        if ((rc = edit(txn, ctx)))
            mdb_txn_abort(txn);
        else
            rc = mdb_txn_commit(txn);
    }
    mdb_env_close(env);
    return rc;
}

static inline int index_put_format(MDB_txn *txn, void *ctx)
{
    MDB_dbi meta;
    MDB_val k = { 6, "format" }, val = { sizeof(uint32_t), ctx };
    int rc = mdb_dbi_open(txn, "meta", 0, &meta);
    return rc ? rc : mdb_put(txn, meta, &k, &val, 0);
}

/* Sets meta/format of the index file at path to `v` (what a build of
 * another format version wrote). Returns 0 or an LMDB code. */
static inline int index_set_format(const char *path, uint32_t v)
{
    return index_raw_edit(path, index_put_format, &v);
}

/* Whether phm_index_verify passes on the index file at path (its message
 * printed as a TAP comment when not). */
static inline int index_file_verifies(const char *path)
{
    phm_index *idx;
    char err[PHM_ERRMSG_MAX];
    if (phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err))
        return 0;
    int st = phm_index_verify(idx, err, sizeof err);
    if (st)
        fprintf(stderr, "# %s\n", err);
    phm_index_close(idx);
    return st == PHM_OK;
}

/* The entries of the index file at path, or (size_t)-1. */
static inline size_t index_file_entries(const char *path)
{
    phm_index *idx;
    char err[PHM_ERRMSG_MAX];
    phm_index_stats s;
    if (phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err))
        return (size_t)-1;
    int st = phm_index_get_stats(idx, &s, err, sizeof err);
    phm_index_close(idx);
    return st ? (size_t)-1 : (size_t)s.entries;
}

/* Adds n entries "<tag><i>" (ids in key order: the direct path; source
 * "s") of random hashes to the index file at path (created if missing),
 * in one transaction, their hashes into keep[0..n) unless NULL; removes
 * entry `drop` (< n) again when drop < n. Commits unless `abort_it`.
 * Returns the library status (the message as a TAP comment). */
static inline int index_file_add(const char *path, rng *r, const char *tag, size_t n,
                                 size_t drop, int abort_it, phm_pdq *keep)
{
    phm_index *idx;
    phm_index_txn *t;
    char err[PHM_ERRMSG_MAX];
    int st = phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err);
    if (st)
        return st;
    if ((st = phm_index_txn_begin(idx, &t, err, sizeof err))) {
        phm_index_close(idx);
        return st;
    }
    for (size_t i = 0; !st && i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%s%08zu", tag, i);
        phm_entry e = { .source = "s", .id = id, .signals = PHM_SIG_PDQ, .quality = 90,
                        .pdq = rng_hash(r) };
        if (keep)
            keep[i] = e.pdq;
        st = phm_index_add(t, &e, err, sizeof err);
    }
    if (!st && drop < n) {
        char id[32];
        snprintf(id, sizeof id, "%s%08zu", tag, drop);
        st = phm_index_remove(t, "s", id, NULL, err, sizeof err);
    }
    if (abort_it || st)
        phm_index_txn_abort(t);
    else
        st = phm_index_txn_commit(t, NULL, err, sizeof err);
    if (st)
        fprintf(stderr, "# %s\n", err);
    phm_index_close(idx);
    return st;
}

#endif
