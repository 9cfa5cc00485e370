/* index_write.c - write transactions: add, remove, remove a source, and
 * commit.
 *
 * Adds that arrive in (source, id) order past every stored name are
 * appended at once (MDB_APPEND, entry numbers too): the bulk import of a
 * sorted list into a new index. Others are buffered and written in key
 * order when the buffer fills, before a removal, and at commit, so LMDB's
 * B-tree writes stay sequential; when the stored keys are few beside the
 * buffer, they are taken out and merged with it, so that all is appended
 * still (full pages, no lookups). In a transaction that began with no key
 * stored, adds out of key order (ids that are line numbers: "10" sorts
 * before "9") are written at once as well, entry numbers in the order of
 * the adds, and only their keys are buffered (deferred keys), until the
 * first repeated key, a removal, or the commit. New PDQ hashes are kept in memory until
 * commit, which either appends them to the delta table or, when the delta
 * has grown large, rebuilds the compacted structure with them included
 * (index_build.c) - all inside the one LMDB transaction, so a crash at any
 * point leaves the last commit intact. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "index_block.h"

static const char *const WHAT = "cannot write index";

/* Buffered adds are written when either limit is reached. */
#define PEND_MAX_ITEMS (16u << 20)
#define PEND_MAX_BYTES ((size_t)1 << 30)

/* Rebuild the base at commit when the delta would exceed this... */
static uint64_t delta_limit(uint64_t base_n)
{
    uint64_t l = base_n / 32;
    return l > 65536 ? l : 65536;
}
/* ...or the removed-but-indexed exceed this. */
static uint64_t dead_limit(uint64_t base_n)
{
    uint64_t l = base_n / 8;
    return l > 65536 ? l : 65536;
}

/* A buffered add: 24 bytes (40 before: a pointer to the record and a
 * sequence number, both implied), since a bulk import of ids that do not
 * come in key order (line numbers) buffers every add, and the first touch
 * of that memory is a good part of its cost. The pends are never moved:
 * their order in t->pend is the order of the adds. */
typedef struct pend {
    const uint8_t *key; /* in the arena, then the record, then the hashes */
    uint16_t key_len, rec_len;
    uint32_t hash; /* key_hash(key) when the transaction checks unique ids */
    uint8_t nh; /* PDQ hashes after the record in the arena (format 5) */
} pend;
_Static_assert(IDX_KEY_MAX <= UINT16_MAX && REC_MAX <= UINT16_MAX,
               "a pend's lengths are 16 bits");

/* p's record, after its key in the arena */
static inline const uint8_t *pend_rec(const pend *p)
{
    return p->key + p->key_len;
}

/* The arena holding buffered keys and records: a list of chunks, so that
 * growing it never moves what pend points to. */
typedef struct chunk {
    struct chunk *next;
    size_t len, cap;
    uint8_t data[];
} chunk;
#define CHUNK_BYTES ((size_t)16 << 20)

/* Count changes per (source, category), applied at commit. */
typedef struct group_slot {
    uint8_t *key; /* NULL = empty slot */
    size_t len;
    int64_t delta;
} group_slot;

struct phm_index_txn {
    phm_index *idx;
    MDB_txn *txn;
    int failed; /* the status that failed the transaction, or 0 */
    char failmsg[PHM_ERRMSG_MAX];
    int changed;
    int64_t now;
    uint64_t next_eid, first_new_eid;
    idx_base_header base;
    phm_index_counts counts;
    /* buffered adds; with kdefer, the deferred keys instead: each pend a
     * key whose record is the 8-byte entry number (its entry is written) */
    pend *pend;
    size_t npend, pend_cap;
    int keys_fresh;  /* no key was stored when the transaction began */
    int kdefer;      /* adds out of key order written, their keys deferred */
    int kdefer_tried;
    size_t kdefer_slot; /* the next deferred key's pset slot, SIZE_MAX, or
                         * KDEFER_NUMBERED (number kdefer_num of source
                         * kdefer_src) */
    uint64_t kdefer_num;
    uint32_t kdefer_src;
    /* ...the deferred keys that are decimal numbers below NUMS_MAX under
     * source nums_src: a bit each (line numbers need no hash table), the
     * entry number in num_eid (no pend: their order is the numbers'
     * decimal order, walked at the commit instead of sorted) */
    uint64_t *nums;
    uint32_t *num_eid; /* nums_words * 64 of them, set where nums's bit is */
    size_t nums_words, nums_n;
    uint32_t nums_src;
    chunk *arena;      /* newest first */
    size_t arena_bytes;
    /* this transaction's new PDQ hashes, ascending entry numbers;
     * new_gone (those removed again) allocated at the first removal */
    uint64_t *new_eids;
    phm_pdq *new_hashes;
    uint8_t *new_gone;
    size_t nnew, new_cap, ngone;
    /* wt-import: the tables' directories counted while adds arrive
     * (index_plan.c), when the commit will rebuild a first import */
    idx_plan *plan;
    int plan_tried;
    size_t plan_min; /* plan_min(), read once: getenv at every add was
                      * a sixteenth of a 262,144-hash import's instructions */
    /* direct mode: while adds arrive in key order past every stored key,
     * they are appended at once, without buffering */
    int direct;
    blk_map em, km; /* the entries and keys tables (index_block.c) */
    uint8_t direct_last[IDX_KEY_MAX];
    size_t direct_last_len; /* 0: no key stored yet */
    /* count changes: the last group touched, then the table */
    uint8_t last_key[IDX_GROUP_KEY_MAX];
    size_t last_len;
    int64_t last_delta;
    uint32_t last_gsrc, last_gcat; /* last_key's numbers (while last_len) */
    group_slot *groups;
    size_t ngroups, groups_cap;
    /* the video being added (video_add): its frames record and searched
     * hashes, and whether its frames equal the stored entry's */
    uint8_t *vrec;
    size_t vrec_len, vrec_cap;
    phm_pdq *vhashes;
    size_t nvhashes, vhashes_cap;
    int video_same;
    /* change of the stored variants' counts (meta "variants"): entries
     * with variants, and variant hashes */
    int64_t var_entries, var_hashes;
    /* phm_index_txn_unique_ids(): the buffered adds by key (key_hash << 32
     * | pend index + 1 in an open-addressing table, 0 empty: a probe reads
     * no pend unless the hashes agree), cleared when they are written */
    int unique;
    uint64_t *pset;
    size_t pset_cap, pset_n;
    /* ...and a bit per key hash of every key this transaction stored under
     * a new entry number (entry_insert), so that most checks need no
     * lookup in the keys table; NULL when unique ids were turned on after
     * the first such key (then every check looks the key up) */
    uint8_t *kfilt;
    /* format 5: the names as this transaction sees them, and the last
     * source and category numbered */
    idx_names names;
    char last_src[PHM_INDEX_MAX_SOURCE + 1], last_cat[PHM_INDEX_MAX_CATEGORY + 1];
    uint32_t last_src_num, last_cat_num;
    /* stored entries' hashes: the base and delta as the transaction began */
    idx_slots slots;
    int slots_open;
};

static int load_record(phm_index_txn *t, uint64_t eid, uint8_t *old, size_t *olen);
static size_t plan_min(void);
static int flush_pending(phm_index_txn *t);
static int pend_push(phm_index_txn *t, const uint8_t *key, size_t klen, const uint8_t *rec,
                     size_t rlen, const phm_pdq *h, size_t nh, uint32_t kh);
static int pset_put(phm_index_txn *t, size_t i, size_t slot);
static int kdefer_add(phm_index_txn *t, const uint8_t *key, size_t klen, uint64_t eid,
                      size_t slot);
static int decode_stored(phm_index_txn *t, uint64_t eid, const uint8_t *rec, size_t rlen,
                         rec_extra *x, phm_entry *e);

/* ---- failure ----------------------------------------------------- */

/* Records an LMDB failure: the transaction can then only be aborted. */
static int fail_mdb(phm_index_txn *t, int rc, const char *during, char *err,
                    size_t errlen)
{
    t->failed = idx_mdb_err(rc, t->failmsg, sizeof t->failmsg, WHAT, t->idx, during);
    if (err && errlen)
        snprintf(err, errlen, "%s", t->failmsg);
    return t->failed;
}

static int fail_nomem(phm_index_txn *t, char *err, size_t errlen)
{
    return fail_mdb(t, ENOMEM, NULL, err, errlen);
}

static int failed(const phm_index_txn *t, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", t->failmsg);
    return t->failed;
}

/* ---- group counts ------------------------------------------------ */

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* The hash of a key in the unique-id checks (pset, kfilt): of all but
 * its last byte, plus that byte. Keys that differ only there (ids that are
 * consecutive numbers: line numbers, a publisher's counter) land in
 * neighbouring slots, so ten adds in a row touch one or two cache lines
 * of the table instead of ten random ones; other keys spread as well as
 * with a hash of every byte. */
static uint32_t key_hash(const uint8_t *key, size_t klen)
{
    if (klen == 0)
        return 0;
    uint64_t h = fnv1a(key, klen - 1);
    return (uint32_t)(h ^ h >> 32) + key[klen - 1];
}

/* The buffered adds' table: cap slots of zeros. From 2 MiB up, its own
 * mapping advised to be backed by huge pages: each add probes it at a
 * random place, and with 4 KiB pages nearly every probe also missed the
 * TLB (the table is 16 bytes a buffered add). */
#define PSET_MAP_MIN ((size_t)2 << 20)

static uint64_t *pset_alloc(size_t cap)
{
    size_t bytes = cap * sizeof(uint64_t);
    if (bytes < PSET_MAP_MIN)
        return calloc(cap, sizeof(uint64_t));
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: errors do not matter */
#endif
    return p;
}

static void pset_free(uint64_t *p, size_t cap)
{
    if (p && cap * sizeof(uint64_t) >= PSET_MAP_MIN)
        munmap(p, cap * sizeof(uint64_t));
    else
        free(p);
}

static int group_apply(phm_index_txn *t, const uint8_t *key, size_t len,
                       int64_t delta)
{
    if (t->ngroups * 2 >= t->groups_cap) {
        size_t cap = t->groups_cap ? t->groups_cap * 2 : 64;
        group_slot *g = calloc(cap, sizeof *g);
        if (!g)
            return -1;
        for (size_t i = 0; i < t->groups_cap; i++) {
            if (!t->groups[i].key)
                continue;
            size_t j = fnv1a(t->groups[i].key, t->groups[i].len) & (cap - 1);
            while (g[j].key)
                j = (j + 1) & (cap - 1);
            g[j] = t->groups[i];
        }
        free(t->groups);
        t->groups = g;
        t->groups_cap = cap;
    }
    size_t j = fnv1a(key, len) & (t->groups_cap - 1);
    while (t->groups[j].key &&
           (t->groups[j].len != len || memcmp(t->groups[j].key, key, len) != 0))
        j = (j + 1) & (t->groups_cap - 1);
    if (!t->groups[j].key) {
        if (!(t->groups[j].key = malloc(len)))
            return -1;
        memcpy(t->groups[j].key, key, len);
        t->groups[j].len = len;
        t->ngroups++;
    }
    t->groups[j].delta += delta;
    return 0;
}

/* Entries come in key order, so runs share (source, category): count a
 * run in place and touch the table once per run. */
static int group_add(phm_index_txn *t, uint32_t source, uint32_t category,
                     int64_t delta)
{
    if (t->last_len && t->last_gsrc == source && t->last_gcat == category) {
        t->last_delta += delta;
        return 0;
    }
    uint8_t key[IDX_GROUP_KEY_MAX];
    size_t len = idx_group_key(source, category, key);
    if (t->last_len && t->last_delta && group_apply(t, t->last_key, t->last_len, t->last_delta))
        return -1;
    memcpy(t->last_key, key, len);
    t->last_len = len;
    t->last_delta = delta;
    t->last_gsrc = source;
    t->last_gcat = category;
    return 0;
}

static int groups_flush(phm_index_txn *t)
{
    if (t->last_len && t->last_delta &&
        group_apply(t, t->last_key, t->last_len, t->last_delta))
        return ENOMEM;
    t->last_len = 0;
    t->last_delta = 0;
    for (size_t i = 0; i < t->groups_cap; i++) {
        group_slot *g = &t->groups[i];
        if (!g->key || g->delta == 0)
            continue;
        MDB_val k = { g->len, g->key }, v;
        uint64_t count = 0;
        int rc = mdb_get(t->txn, t->idx->db_counts, &k, &v);
        if (rc == 0 && v.mv_size == sizeof count)
            memcpy(&count, v.mv_data, sizeof count);
        else if (rc == 0)
            return MDB_CORRUPTED;
        else if (rc != MDB_NOTFOUND)
            return rc;
        int64_t next = (int64_t)count + g->delta;
        if (next < 0)
            return MDB_CORRUPTED;
        if (next == 0) {
            rc = mdb_del(t->txn, t->idx->db_counts, &k, NULL);
            if (rc && rc != MDB_NOTFOUND)
                return rc;
        } else {
            count = (uint64_t)next;
            v = (MDB_val){ sizeof count, &count };
            if ((rc = mdb_put(t->txn, t->idx->db_counts, &k, &v, 0)))
                return rc;
        }
        g->delta = 0;
    }
    return 0;
}

/* ---- begin and abort --------------------------------------------- */

/* (Re)enters direct mode: remembers the last stored key. */
static int direct_start(phm_index_txn *t)
{
    uint8_t k[BLK_KEY_MAX];
    size_t kl = 0;
    int rc = blk_last(&t->km, k, &kl);
    if (rc == MDB_NOTFOUND) {
        t->direct_last_len = 0;
    } else if (rc) {
        return rc;
    } else if (kl > IDX_KEY_MAX) {
        return MDB_CORRUPTED;
    } else {
        memcpy(t->direct_last, k, kl);
        t->direct_last_len = kl;
    }
    t->direct = 1;
    return 0;
}

int phm_index_txn_begin(phm_index *idx, phm_index_txn **out, char *err,
                        size_t errlen)
{
    if (!idx || !out)
        return PHM_ERR_INVALID;
    *out = NULL;
    if (idx->rdonly) {
        idx_err(err, errlen, WHAT, idx->path, "opened read-only");
        return PHM_ERR_READONLY;
    }
    phm_index_txn *t = calloc(1, sizeof *t);
    if (!t) {
        idx_err(err, errlen, WHAT, idx->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    t->idx = idx;
    t->now = (int64_t)time(NULL);
    t->plan_min = plan_min();
    idx_len len;
    int rc = idx_txn_begin(idx, 0, &t->txn, &len);
    if (!rc)
        rc = idx_meta_get_u64(idx, t->txn, "next_eid", &t->next_eid);
    if (!rc)
        rc = idx_base_header_get(idx, t->txn, &t->base);
    if (!rc)
        rc = idx_names_load(idx, t->txn, &t->names);
    if (rc) {
        int st = idx_txn_err(rc, &len, err, errlen, WHAT, idx, NULL);
        if (t->txn)
            mdb_txn_abort(t->txn);
        free(t);
        return st;
    }
    t->first_new_eid = t->next_eid;
    blk_map_init(&t->em, t->txn, idx->db_entries, BLK_ENTRIES);
    blk_map_init(&t->km, t->txn, idx->db_keys, BLK_KEYS);
    if ((rc = direct_start(t))) {
        int st = idx_mdb_err(rc, err, errlen, WHAT, idx, NULL);
        phm_index_txn_abort(t); /* the names loaded too */
        return st;
    }
    t->keys_fresh = t->direct_last_len == 0;
    t->kdefer_slot = SIZE_MAX;
    *out = t;
    return PHM_OK;
}

static void txn_free(phm_index_txn *t)
{
    free(t->pend);
    free(t->nums);
    free(t->num_eid);
    while (t->arena) {
        chunk *c = t->arena;
        t->arena = c->next;
        free(c);
    }
    idx_plan_free(t->plan); /* its thread reads new_hashes: ended first */
    free(t->new_eids);
    free(t->new_hashes);
    free(t->new_gone);
    for (size_t i = 0; i < t->groups_cap; i++)
        free(t->groups[i].key);
    free(t->groups);
    free(t->vrec);
    free(t->vhashes);
    pset_free(t->pset, t->pset_cap);
    free(t->kfilt);
    idx_names_free(&t->names);
    blk_map_free(&t->em);
    blk_map_free(&t->km);
    free(t);
}

/* Bits of the filter of keys stored by the transaction (kfilt): 64 KiB,
 * few false hits while it holds up to some 50,000 keys (an import whose
 * first ids came in key order, before the rest did not); past that it
 * only saves less. */
#define KFILT_BITS ((size_t)1 << 19)

void phm_index_txn_unique_ids(phm_index_txn *t, int on)
{
    if (!t)
        return;
    t->unique = on != 0;
    /* the filter must have seen every new key: only from the start */
    if (t->unique && !t->kfilt && t->next_eid == t->first_new_eid)
        t->kfilt = calloc(KFILT_BITS / 8, 1); /* NULL: no filter, still correct */
}

/* Closes the slots reader's cursor while the transaction lives. */
static void slots_done(phm_index_txn *t)
{
    if (t->slots_open)
        idx_slots_close(&t->slots);
    t->slots_open = 0;
}

void phm_index_txn_abort(phm_index_txn *t)
{
    if (!t)
        return;
    slots_done(t);
    if (t->txn)
        mdb_txn_abort(t->txn);
    txn_free(t);
}

MDB_txn *idx_txn_mdb(phm_index_txn *t, phm_index **idx)
{
    *idx = t->idx;
    /* the keys of the entries written, for whoever reads the tables */
    int rc = t->failed || !t->kdefer ? 0 : flush_pending(t);
    if (!rc && !t->failed)
        rc = blk_flush(&t->em);
    if (!rc && !t->failed)
        rc = blk_flush(&t->km);
    if (rc)
        fail_mdb(t, rc, "writing entries", NULL, 0);
    return t->failed ? NULL : t->txn;
}

int idx_txn_entry(phm_index_txn *t, uint64_t eid, uint8_t *rec, rec_extra *x,
                  phm_entry *e)
{
    size_t rlen;
    int rc = load_record(t, eid, rec, &rlen);
    return rc ? rc : decode_stored(t, eid, rec, rlen, x, e);
}

void phm_index_txn_counts(const phm_index_txn *t, phm_index_counts *out)
{
    if (t && out)
        *out = t->counts;
}

/* ---- entry-level writes ------------------------------------------ */

/* New hashes from which a first import's directories are counted while
 * the adds arrive (PHM_INDEX_TEST_PLAN: another number, for tests). */
#define PLAN_MIN ((size_t)1 << 18)
/* ...handed to the counting thread this many at a time. */
#define PLAN_FEED ((size_t)1 << 16)

/* Starts the counting of the directories (index_plan.c) when this
 * transaction's commit will rebuild the base from its new hashes alone
 * (no base, no delta: idx_rebuild's first import) and a second core can
 * count. Tried once; without it the commit plans them as before. */
static void plan_try(phm_index_txn *t)
{
    t->plan_tried = 1;
    int cores = 1;
#ifdef _OPENMP
    cores = omp_get_max_threads();
#endif
    MDB_stat ds;
    if (cores < 2 || t->base.n || t->ngone || mdb_stat(t->txn, t->idx->db_delta, &ds) ||
        ds.ms_entries)
        return;
    t->plan = idx_plan_start();
    if (t->plan)
        idx_plan_feed(t->plan, t->new_hashes, t->new_eids, t->nnew, t->new_cap);
}

static size_t plan_min(void)
{
    const char *v = getenv("PHM_INDEX_TEST_PLAN");
    if (v && *v) {
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        if (!*end && n >= 1)
            return (size_t)n;
    }
    return PLAN_MIN;
}

static int new_push(phm_index_txn *t, uint64_t eid, const phm_pdq *h)
{
    if (t->nnew == t->new_cap) {
        size_t cap = t->new_cap ? t->new_cap * 2 : 4096;
        if (t->plan)
            idx_plan_hold(t->plan); /* new_hashes may move */
        uint64_t *e = realloc(t->new_eids, cap * sizeof *e);
        if (e)
            t->new_eids = e;
        phm_pdq *p = realloc(t->new_hashes, cap * sizeof *p);
        if (p)
            t->new_hashes = p;
        uint8_t *g = t->new_gone ? realloc(t->new_gone, cap) : NULL;
        if (g) {
            memset(g + t->new_cap, 0, cap - t->new_cap);
            t->new_gone = g;
        }
        if (t->plan)
            idx_plan_feed(t->plan, t->new_hashes, t->new_eids, t->nnew, t->new_cap);
        if (!e || !p || (t->new_gone && !g))
            return ENOMEM;
        t->new_cap = cap;
    }
    t->new_eids[t->nnew] = eid;
    t->new_hashes[t->nnew] = *h;
    t->nnew++;
    if (t->plan) {
        if (t->nnew % PLAN_FEED == 0)
            idx_plan_feed(t->plan, t->new_hashes, t->new_eids, t->nnew, t->new_cap);
    } else if (!t->plan_tried && t->nnew >= t->plan_min) {
        plan_try(t);
    }
    return 0;
}

/* Takes entry `eid`'s PDQ hash (multi: a video's hashes) out of the
 * search structures. */
static int pdq_remove(phm_index_txn *t, uint64_t eid, int multi)
{
    if (eid >= t->first_new_eid) {
        size_t lo = 0, hi = t->nnew;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (t->new_eids[mid] < eid)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == t->nnew || t->new_eids[lo] != eid || (t->new_gone && t->new_gone[lo]))
            return MDB_CORRUPTED;
        if (!t->new_gone && !(t->new_gone = calloc(t->new_cap, 1)))
            return ENOMEM;
        /* the counted directories are of every new hash: no longer */
        idx_plan_free(t->plan);
        t->plan = NULL;
        do {
            t->new_gone[lo++] = 1;
            t->ngone++;
        } while (multi && lo < t->nnew && t->new_eids[lo] == eid);
        return 0;
    }
    if (eid >= t->base.eid_bound) {
        uint8_t key[9];
        idx_delta_key(key, eid);
        MDB_val k = { 9, key };
        if (!multi)
            return mdb_del(t->txn, t->idx->db_delta, &k, NULL);
        /* every key starting with the 9-byte one */
        MDB_cursor *c;
        int rc = mdb_cursor_open(t->txn, t->idx->db_delta, &c);
        if (rc)
            return rc;
        size_t n = 0;
        for (;;) {
            MDB_val v;
            k = (MDB_val){ 9, key };
            rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
            if (rc || k.mv_size < 9 || memcmp(k.mv_data, key, 9) != 0)
                break;
            if ((rc = mdb_cursor_del(c, 0)))
                break;
            n++;
        }
        mdb_cursor_close(c);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        return n ? 0 : MDB_NOTFOUND;
    }
    MDB_val k = { sizeof eid, &eid }, v = { 0, NULL };
    return mdb_put(t->txn, t->idx->db_dead, &k, &v, MDB_NOOVERWRITE);
}

static const unsigned digest_sigs[3] = { PHM_SIG_MD5, PHM_SIG_SHA1, PHM_SIG_SHA256 };

static int digests_put(phm_index_txn *t, const phm_entry *e, uint64_t eid, int del)
{
    for (unsigned i = 0; i < 3; i++) {
        if (!(e->signals & digest_sigs[i]))
            continue;
        uint8_t key[33];
        size_t len = rec_digest_len(digest_sigs[i]);
        key[0] = (uint8_t)rec_digest_type(digest_sigs[i]);
        memcpy(key + 1, rec_digest_of(e, digest_sigs[i]), len);
        MDB_val k = { len + 1, key }, v = { sizeof eid, &eid };
        int rc = del ? mdb_del(t->txn, t->idx->db_digests, &k, &v)
                     : mdb_put(t->txn, t->idx->db_digests, &k, &v, MDB_NODUPDATA);
        if (rc && rc != MDB_KEYEXIST && rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

/* Deletes entry `eid` (its decoded record `e`, x) everywhere but the keys
 * and entries tables. */
static int entry_forget(phm_index_txn *t, uint64_t eid, const phm_entry *e,
                        const rec_extra *x)
{
    MDB_val k = { sizeof eid, &eid };
    int rc = digests_put(t, e, eid, 1);
    if (!rc && (e->signals & PHM_SIG_PDQ))
        rc = pdq_remove(t, eid, e->nvariants > 0);
    if (e->nvariants) {
        t->var_entries--;
        t->var_hashes -= (int64_t)e->nvariants;
    }
    if (!rc && (e->signals & PHM_SIG_VPDQ)) {
        MDB_val v;
        uint32_t nf, nh = 0;
        rc = mdb_get(t->txn, t->idx->db_frames, &k, &v);
        if (!rc && vid_header(v.mv_data, v.mv_size, &nf, &nh))
            rc = MDB_CORRUPTED;
        if (!rc)
            rc = mdb_del(t->txn, t->idx->db_frames, &k, NULL);
        if (!rc && nh)
            rc = pdq_remove(t, eid, 1);
        if (rc == MDB_NOTFOUND)
            rc = MDB_CORRUPTED;
    }
    if (!rc && group_add(t, x->source, x->category, -1))
        rc = ENOMEM;
    t->changed = 1;
    return rc;
}

/* Deletes entry `eid` (its decoded record `e`, x) everywhere but the keys
 * table. */
static int entry_delete(phm_index_txn *t, uint64_t eid, const phm_entry *e,
                        const rec_extra *x)
{
    uint8_t ek[8];
    blk_u64_put(ek, eid);
    int rc = blk_del(&t->em, ek, 8);
    return rc ? rc : entry_forget(t, eid, e, x);
}

/* Stores a new entry under a new number. `append`: its key goes after
 * every stored one; else it is put normally (possibly replacing). */
static int entry_insert(phm_index_txn *t, int append, const uint8_t *key, size_t klen,
                        const uint8_t *rec, size_t rlen, const phm_entry *e,
                        const rec_extra *x)
{
    if (t->next_eid > IDX_MAX_EID)
        return IDX_ERR_EIDS_USED;
    uint64_t eid = t->next_eid++;
    MDB_val k = { sizeof eid, &eid };
    uint8_t ek[8];
    blk_u64_put(ek, eid);
    int rc = blk_append(&t->em, ek, 8, rec, rlen);
    if (rc)
        return rc;
    if (t->kdefer) {
        /* the key later, in key order (flush_pending) */
        rc = kdefer_add(t, key, klen, eid, t->kdefer_slot);
        t->kdefer_slot = SIZE_MAX;
    } else {
        rc = append ? blk_append(&t->km, key, klen, ek, 8) : blk_put(&t->km, key, klen, ek, 8);
    }
    if (t->kfilt) {
        size_t b = key_hash(key, klen) & (KFILT_BITS - 1);
        t->kfilt[b / 8] |= (uint8_t)(1u << (b % 8));
    }
    if (!rc)
        rc = digests_put(t, e, eid, 0);
    if (!rc && (e->signals & PHM_SIG_PDQ))
        rc = new_push(t, eid, &e->pdq);
    for (size_t i = 0; !rc && (e->signals & PHM_SIG_PDQ) && i < e->nvariants; i++)
        rc = new_push(t, eid, &e->variants[i].pdq);
    if ((e->signals & PHM_SIG_PDQ) && e->nvariants) {
        t->var_entries++;
        t->var_hashes += (int64_t)e->nvariants;
    }
    if (!rc && (e->signals & PHM_SIG_VPDQ)) {
        /* only video_add inserts videos: t->vrec and t->vhashes are its */
        MDB_val fv = { t->vrec_len, t->vrec };
        rc = mdb_put(t->txn, t->idx->db_frames, &k, &fv, 0);
        for (size_t i = 0; !rc && i < t->nvhashes; i++)
            rc = new_push(t, eid, &t->vhashes[i]);
    }
    if (!rc && group_add(t, x->source, x->category, 1))
        rc = ENOMEM;
    t->changed = 1;
    return rc;
}

/* Appends key -> eid to the keys table. */
static int key_append(phm_index_txn *t, const uint8_t *key, size_t klen, uint64_t eid)
{
    uint8_t ev[8];
    blk_u64_put(ev, eid);
    return blk_append(&t->km, key, klen, ev, 8);
}

/* The PDQ hashes of stored entry eid (1 + its variants), from this
 * transaction's new ones or the search structures. */
static int stored_hashes(phm_index_txn *t, uint64_t eid, phm_pdq *out, size_t *n)
{
    if (eid >= t->first_new_eid) {
        size_t first = 0, cnt = t->nnew ? idx_slots_run(t->new_eids, t->nnew, eid, &first) : 0;
        if (cnt > 1 + PHM_INDEX_MAX_VARIANTS)
            return MDB_CORRUPTED;
        if (cnt)
            memcpy(out, t->new_hashes + first, cnt * sizeof *out);
        *n = cnt;
        return 0;
    }
    if (!t->slots_open) {
        int rc = idx_slots_open(&t->slots, t->idx, t->txn);
        if (rc)
            return rc;
        t->slots_open = 1;
    }
    return idx_slots_get(&t->slots, eid, out, 1 + PHM_INDEX_MAX_VARIANTS, n);
}

/* Decodes stored record rec of entry eid into e (x), with its hashes. */
static int decode_stored(phm_index_txn *t, uint64_t eid, const uint8_t *rec, size_t rlen,
                         rec_extra *x, phm_entry *e)
{
    if (rec_decode(rec, rlen, &t->names, x, e))
        return MDB_CORRUPTED;
    if (!(e->signals & PHM_SIG_PDQ))
        return 0;
    phm_pdq h[1 + PHM_INDEX_MAX_VARIANTS];
    size_t n = 0;
    int rc = stored_hashes(t, eid, h, &n);
    if (!rc && n != 1 + e->nvariants)
        rc = MDB_CORRUPTED;
    if (!rc)
        rec_set_hashes(e, h, n);
    return rc;
}

/* Whether two decoded entries have the same PDQ hashes. */
static int same_slots(const phm_entry *a, const phm_entry *b)
{
    int same = (a->signals & PHM_SIG_PDQ) == (b->signals & PHM_SIG_PDQ) &&
               (!(a->signals & PHM_SIG_PDQ) || memcmp(&a->pdq, &b->pdq, sizeof a->pdq) == 0);
    same = same && a->nvariants == b->nvariants;
    for (size_t i = 0; same && i < a->nvariants; i++)
        same = memcmp(&a->variants[i].pdq, &b->variants[i].pdq, sizeof(phm_pdq)) == 0;
    return same;
}

/* Replaces stored entry `eid` (decoded oe, ox, with its hashes) by rec
 * (decoded ne, nx, with its hashes). The number stays when the PDQ hash
 * does; otherwise the entry gets a new one, so that a number always means
 * one hash. `append` 0: the key is in the keys table; 1: it is to be
 * appended (a merge in flush_pending took it out). */
static int entry_replace(phm_index_txn *t, int append, uint64_t eid, const phm_entry *oe, const rec_extra *ox,
                         const uint8_t *key, size_t klen, const uint8_t *rec,
                         size_t rlen, const phm_entry *ne, const rec_extra *nx)
{
    /* stored variants are slots too: the same number only for the same ones */
    int same_hash = same_slots(oe, ne);
    if ((oe->signals | ne->signals) & PHM_SIG_VPDQ)
        same_hash = (oe->signals & ne->signals & PHM_SIG_VPDQ) && t->video_same;
    int rc;
    if (!same_hash) {
        if ((rc = entry_delete(t, eid, oe, ox)))
            return rc;
        return entry_insert(t, append, key, klen, rec, rlen, ne, nx);
    }
    if (append && (rc = key_append(t, key, klen, eid)))
        return rc;
    if ((rc = digests_put(t, oe, eid, 1)))
        return rc;
    if (group_add(t, ox->source, ox->category, -1))
        return ENOMEM;
    uint8_t ek[8];
    blk_u64_put(ek, eid);
    if ((rc = blk_put(&t->em, ek, 8, rec, rlen)))
        return rc;
    if ((rc = digests_put(t, ne, eid, 0)))
        return rc;
    if (group_add(t, nx->source, nx->category, 1))
        return ENOMEM;
    t->changed = 1;
    return 0;
}

/* ---- buffered adds ------------------------------------------------ */

static int cmp_keys(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static int cmp_pend(const void *x, const void *y)
{
    const pend *a = x, *b = y;
    int c = cmp_keys(a->key, a->key_len, b->key, b->key_len);
    return c ? c : (a > b) - (a < b); /* both in t->pend: the order of the adds */
}

/* Sorting the buffered adds: by the first 8 bytes of their keys (zero
 * padded: the same order as cmp_keys wherever they differ), a radix sort
 * of 16-byte items, then runs of equal prefixes by cmp_pend. The pends
 * stay where they are: the writes take them through the sorted pointers.
 * (qsort of the pends read their keys from the arena at each of n log n
 * comparisons, then moved the 40-byte pends in a chain of dependent
 * cache misses.) */
typedef struct sort_item {
    uint64_t prefix;
    const pend *p;
} sort_item;

static uint64_t key_prefix(const uint8_t *k, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = v << 8 | (i < len ? k[i] : 0);
    return v;
}

static int cmp_item(const void *x, const void *y)
{
    return cmp_pend(((const sort_item *)x)->p, ((const sort_item *)y)->p);
}

/* ps[0..n) in cmp_pend order as pointers into a new array (*out, to
 * free); already `sorted`: in their order. 0 or ENOMEM. */
static int sort_pending(const pend *ps, size_t n, int sorted, const pend ***out)
{
    const pend **ord = malloc(n * sizeof *ord);
    *out = ord;
    if (!ord)
        return ENOMEM;
    if (sorted) {
        for (size_t i = 0; i < n; i++)
            ord[i] = &ps[i];
        return 0;
    }
    sort_item *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    size_t (*cnt)[256] = calloc(8, sizeof *cnt);
    if (!a || !b || !cnt) {
        free(a);
        free(b);
        free(cnt);
        free(ord);
        *out = NULL;
        return ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t v = key_prefix(ps[i].key, ps[i].key_len);
        a[i] = (sort_item){ v, &ps[i] };
        for (int d = 0; d < 8; d++)
            cnt[d][(v >> (8 * d)) & 255]++;
    }
    /* least significant byte first; stable, so equal prefixes keep the
     * pends' order; a byte all items share needs no pass */
    for (int d = 0; d < 8; d++) {
        size_t *c = cnt[d], sum = 0;
        if (c[(a[0].prefix >> (8 * d)) & 255] == n)
            continue;
        for (int k = 0; k < 256; k++) {
            size_t x = c[k];
            c[k] = sum;
            sum += x;
        }
        for (size_t i = 0; i < n; i++)
            b[c[(a[i].prefix >> (8 * d)) & 255]++] = a[i];
        sort_item *s = a;
        a = b;
        b = s;
    }
    free(b);
    free(cnt);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && a[j].prefix == a[i].prefix; j++)
            ;
        if (j - i > 1)
            qsort(a + i, j - i, sizeof *a, cmp_item);
    }
    for (size_t i = 0; i < n; i++)
        ord[i] = a[i].p;
    free(a);
    return 0;
}

/* Copies stored entry `eid`'s record into old[REC_MAX]. */
static int load_record(phm_index_txn *t, uint64_t eid, uint8_t *old, size_t *olen)
{
    int rc = blk_entry_get(&t->em, eid, old, olen);
    return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
}

/* The hashes stored after a buffered record (p->nh of them) into e. */
static void pend_hashes(const pend *p, phm_entry *e)
{
    phm_pdq h[1 + PHM_INDEX_MAX_VARIANTS];
    memcpy(h, pend_rec(p) + p->rec_len, p->nh * sizeof *h);
    rec_set_hashes(e, h, p->nh);
}

/* Whether buffered add p holds the same content as the state before it:
 * buffered add cur, or (cur NULL) stored entry oe of record old/olen.
 * Records equal but for `added`, and the same hashes. */
static int same_content(const pend *cur, const uint8_t *old, size_t olen,
                        const phm_entry *oe, const pend *p)
{
    const uint8_t *ph = pend_rec(p) + p->rec_len;
    if (cur)
        return rec_same(pend_rec(cur), cur->rec_len, pend_rec(p), p->rec_len) &&
               cur->nh == p->nh &&
               memcmp(pend_rec(cur) + cur->rec_len, ph, p->nh * sizeof(phm_pdq)) == 0;
    if (!rec_same(old, olen, pend_rec(p), p->rec_len) ||
        p->nh != ((oe->signals & PHM_SIG_PDQ) ? 1 + oe->nvariants : 0))
        return 0;
    if (p->nh && memcmp(&oe->pdq, ph, sizeof(phm_pdq)))
        return 0;
    for (size_t i = 0; i < oe->nvariants; i++)
        if (memcmp(&oe->variants[i].pdq, ph + (1 + i) * sizeof(phm_pdq), sizeof(phm_pdq)))
            return 0;
    return 1;
}

/* Writes one group of adds of the same key: the last one wins; each is
 * counted against the state before it. `append` 0: the key is looked up
 * in the keys table. Otherwise it is not in the table and is appended: a
 * new key (`have` NULL), or a stored one (entry *have) that a merge in
 * flush_pending took out. */
static int flush_group(phm_index_txn *t, int append, const pend *const *g, size_t n,
                       const uint64_t *have)
{
    const uint8_t *key = g[0]->key;
    size_t klen = g[0]->key_len;
    uint64_t eid = 0;
    uint8_t old[REC_MAX];
    size_t olen = 0;
    int exists = 0, rc;
    if (!append) {
        rc = blk_key_get(&t->km, key, klen, &eid);
        if (rc == 0) {
            exists = 1;
        } else if (rc != MDB_NOTFOUND) {
            return rc;
        }
    } else if (have) {
        eid = *have;
        exists = 1;
    }
    phm_entry oe = { 0 }, e;
    rec_extra ox = { 0 }, x;
    if (exists && ((rc = load_record(t, eid, old, &olen)) ||
                   (rc = decode_stored(t, eid, old, olen, &ox, &oe))))
        return rc;
    /* cur: the add the next one is compared with (NULL: the stored entry) */
    const pend *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        const pend *p = g[i];
        if (!cur && !exists) {
            t->counts.added++;
        } else if (same_content(cur, old, olen, &oe, p)) {
            t->counts.unchanged++;
            continue;
        } else {
            t->counts.updated++;
        }
        cur = p;
    }
    if (exists && !cur) /* nothing changed */
        return append ? key_append(t, key, klen, eid) : 0;
    if (rec_decode(pend_rec(cur), cur->rec_len, &t->names, &x, &e))
        return MDB_CORRUPTED;
    pend_hashes(cur, &e);
    if (!exists)
        return entry_insert(t, append, key, klen, pend_rec(cur), cur->rec_len, &e, &x);
    return entry_replace(t, append, eid, &oe, &ox, key, klen, pend_rec(cur), cur->rec_len,
                         &e, &x);
}

/* The keys table's contents, taken out of it to be merged with a batch. */
typedef struct stored_keys {
    uint8_t *bytes;   /* the keys, back to back */
    size_t *end;      /* key i ends at bytes[end[i]] */
    uint64_t *eid;
    size_t n;
} stored_keys;

/* Stored key i; its length in *len. */
static const uint8_t *stored_key(const stored_keys *sk, size_t i, size_t *len)
{
    size_t at = i ? sk->end[i - 1] : 0;
    *len = sk->end[i] - at;
    return sk->bytes + at;
}

static void stored_keys_free(stored_keys *sk)
{
    free(sk->bytes);
    free(sk->end);
    free(sk->eid);
}

/* Reads the whole keys table (n entries) into sk, then empties it. */
static int stored_keys_take(phm_index_txn *t, size_t n, stored_keys *sk)
{
    size_t cap = n * 32 + IDX_KEY_MAX, len = 0;
    sk->bytes = malloc(cap);
    sk->end = malloc((n ? n : 1) * sizeof *sk->end);
    sk->eid = malloc((n ? n : 1) * sizeof *sk->eid);
    if (!sk->bytes || !sk->end || !sk->eid)
        return ENOMEM;
    blk_iter it;
    int rc = blk_iter_open(&it, &t->km, NULL, 0);
    if (rc)
        return rc;
    while ((rc = blk_iter_next(&it)) == 0) {
        const blk_dec *d = it.d;
        if (sk->n == n || d->klen > IDX_KEY_MAX) {
            rc = MDB_CORRUPTED;
            break;
        }
        sk->eid[sk->n] = blk_u64_get(d->val);
        if (cap - len < d->klen) {
            cap = cap * 2 > len + IDX_KEY_MAX ? cap * 2 : len + IDX_KEY_MAX;
            uint8_t *nb = realloc(sk->bytes, cap);
            if (!nb) {
                rc = ENOMEM;
                break;
            }
            sk->bytes = nb;
        }
        memcpy(sk->bytes + len, d->key, d->klen);
        len += d->klen;
        sk->end[sk->n] = len;
        sk->n++;
    }
    blk_iter_close(&it);
    if (rc != MDB_NOTFOUND)
        return rc;
    if (sk->n != n)
        return MDB_CORRUPTED;
    t->km.tail_on = 0; /* the table is emptied under it */
    return mdb_drop(t->txn, t->idx->db_keys, 0);
}

/* Whether the keys table holds at most `most` keys, and how many (*n). */
static int keys_few(phm_index_txn *t, size_t most, int *few, size_t *n)
{
    MDB_stat ks;
    int rc = blk_flush(&t->km);
    if (!rc)
        rc = mdb_stat(t->txn, t->idx->db_keys, &ks);
    *few = 0;
    if (rc || ks.ms_entries > most) /* each block holds one key or more */
        return rc;
    uint64_t cnt = 0;
    if ((rc = blk_count(&t->km, &cnt)))
        return rc;
    *few = cnt <= most;
    *n = (size_t)cnt;
    return 0;
}

/* Empties the buffer of adds (or deferred keys) once written. */
static void pend_reset(phm_index_txn *t)
{
    t->npend = 0;
    if (t->pset_n) {
        memset(t->pset, 0, t->pset_cap * sizeof *t->pset);
        t->pset_n = 0;
    }
    /* keep one chunk for the next adds */
    while (t->arena && t->arena->next) {
        chunk *c = t->arena;
        t->arena = c->next;
        free(c);
    }
    if (t->arena)
        t->arena->len = 0;
    t->arena_bytes = 0;
}

/* Deferred keys that are decimal ids (no leading zero) below NUMS_MAX, of
 * one source, are told apart by a bit each in t->nums (at most 16 MiB),
 * the others by the pset. */
#define NUMS_MAX ((uint64_t)1 << 27)
#define KDEFER_NUMBERED (SIZE_MAX - 1)

/* The number of key's id, when it is one of t->nums's (source nums_src,
 * or any source while no key is numbered yet): 1 and *v, else 0. */
static int key_number(const phm_index_txn *t, const uint8_t *key, size_t klen, uint32_t *src,
                      uint64_t *v)
{
    size_t a = idx_okey_get(key, klen, src);
    if (!a || a == klen || (t->nums && *src != t->nums_src) ||
        (key[a] == '0' && klen - a > 1) || klen - a > 9)
        return 0;
    uint64_t x = 0;
    for (size_t i = a; i < klen; i++) {
        if (key[i] < '0' || key[i] > '9')
            return 0;
        x = x * 10 + (uint64_t)(key[i] - '0');
    }
    *v = x;
    return x < NUMS_MAX;
}

/* Whether number v may take a bit (and an entry number) in t->nums: the
 * arrays grow to the largest number, so only while the numbers are
 * dense, at least a quarter of the words below v in use (line numbers
 * are). A sparse one ("2", "1", "134217727") is a pend in the pset, as
 * other ids are: three lines must not map half a gigabyte. */
static int nums_fits(const phm_index_txn *t, uint64_t v)
{
    return v / 64 < t->nums_words || v / 64 < 4 * ((uint64_t)t->nums_n + 1) + 1024;
}

/* Whether number v (of source src) is among the deferred keys. */
static int nums_has(const phm_index_txn *t, uint64_t v)
{
    return v / 64 < t->nums_words && (t->nums[v / 64] >> (v % 64) & 1);
}

/* Records number v (of source src, v < NUMS_MAX) as deferred key of
 * entry eid. 0 or ENOMEM. */
static int nums_set(phm_index_txn *t, uint32_t src, uint64_t v, uint64_t eid)
{
    size_t w = (size_t)(v / 64);
    if (w >= t->nums_words) {
        size_t n = t->nums_words ? t->nums_words : 1024;
        while (n <= w)
            n *= 2;
        uint64_t *p = realloc(t->nums, n * sizeof *p);
        if (p)
            t->nums = p;
        /* no need to clear: only read where a bit is set */
        uint32_t *q = p ? realloc(t->num_eid, n * 64 * sizeof *q) : NULL;
        if (q)
            t->num_eid = q;
        if (!p || !q)
            return ENOMEM;
        memset(p + t->nums_words, 0, (n - t->nums_words) * sizeof *p);
        t->nums_words = n;
        t->nums_src = src;
    }
    t->nums[w] |= (uint64_t)1 << (v % 64);
    t->num_eid[v] = (uint32_t)eid; /* entry numbers are 32 bits (IDX_MAX_EID) */
    t->nums_n++;
    return 0;
}

/* Defers key (klen) of new entry eid: a number in nums (slot
 * KDEFER_NUMBERED: t->kdefer_num of t->kdefer_src; SIZE_MAX: when
 * key_number says so), else a pend whose record is the entry number, in
 * the pset at `slot` (from pset_slot, or SIZE_MAX). 0 or ENOMEM. */
static int kdefer_add(phm_index_txn *t, const uint8_t *key, size_t klen, uint64_t eid,
                      size_t slot)
{
    _Static_assert(IDX_MAX_EID <= UINT32_MAX, "num_eid holds 32-bit entry numbers");
    uint32_t src;
    uint64_t v;
    if (slot == KDEFER_NUMBERED)
        return nums_set(t, t->kdefer_src, t->kdefer_num, eid);
    if (slot == SIZE_MAX && key_number(t, key, klen, &src, &v) && nums_fits(t, v))
        return nums_set(t, src, v, eid);
    uint8_t ek[8];
    blk_u64_put(ek, eid);
    int rc = pend_push(t, key, klen, ek, 8, NULL, 0, key_hash(key, klen));
    return rc ? rc : pset_put(t, t->npend - 1, slot);
}

/* The deferred numbers in the order of their keys, the decimal order of
 * their ids ("0" < "1" < "10" < "100" < "11" < "2"): a walk of the tree of
 * decimal prefixes up to the largest number, testing each number's bit,
 * in place of a sort. Its cost is the numbers walked before the last one
 * deferred: at most NUMS_MAX steps (a fraction of a second), as many as
 * there are lines for a list's line numbers. */
typedef struct num_walk {
    const uint64_t *bits;
    uint64_t max, cur, left; /* left: deferred numbers not given yet */
    uint8_t key[IDX_KEY_MAX]; /* the source's number, then cur's digits */
    size_t pre, len;
    int started;
} num_walk;

static void num_walk_init(num_walk *w, const phm_index_txn *t)
{
    *w = (num_walk){ .bits = t->nums, .left = t->nums_n };
    for (size_t i = t->nums_words; i-- > 0;)
        if (t->nums[i]) {
            w->max = i * 64 + 63 - (uint64_t)__builtin_clzll(t->nums[i]);
            break;
        }
    w->pre = w->len = idx_key(t->nums_src, "", w->key);
}

/* Steps to the next deferred number: its key in w->key (w->len bytes),
 * 1; or 0 after the last. */
static int num_walk_next(num_walk *w)
{
    _Static_assert(NUMS_MAX <= 1000000000, "a deferred number has at most 9 digits");
    while (w->left) {
        if (!w->started) {
            w->started = 1;
            w->key[w->pre] = '0';
            w->len = w->pre + 1;
        } else if (w->len == w->pre + 1 && w->key[w->pre] == '0') {
            w->key[w->pre] = '1'; /* no number starts with 0 but 0 */
            w->cur = 1;
        } else if (w->cur <= w->max / 10) {
            w->key[w->len++] = '0'; /* down: cur * 10 */
            w->cur *= 10;
        } else {
            /* up past the 9s and the numbers above max, then the next
             * sibling (its last digit below 9: no carry) */
            while (w->key[w->len - 1] == '9' || w->cur + 1 > w->max) {
                if (--w->len == w->pre)
                    return 0;
                w->cur /= 10;
            }
            w->key[w->len - 1]++;
            w->cur++;
        }
        if (w->bits[w->cur / 64] >> (w->cur % 64) & 1) {
            w->left--;
            return 1;
        }
    }
    return 0;
}

/* Writes the deferred keys into the keys table (empty: every key of the
 * transaction is among them) in key order, and ends the deferral: the
 * pends sorted, merged with the numbers' walk. */
static int keys_deferred_write(phm_index_txn *t)
{
    const pend **ps = NULL;
    size_t i = 1;
    int rc = 0;
    if (t->npend) {
        while (i < t->npend && cmp_pend(&t->pend[i - 1], &t->pend[i]) < 0)
            i++;
        rc = sort_pending(t->pend, t->npend, i >= t->npend, &ps);
    }
    num_walk w;
    int more = 0;
    if (!rc && t->nums_n) {
        num_walk_init(&w, t);
        more = num_walk_next(&w);
    }
    for (i = 0; !rc && (i < t->npend || more);) {
        if (more && (i == t->npend || cmp_keys(w.key, w.len, ps[i]->key, ps[i]->key_len) < 0)) {
            rc = key_append(t, w.key, w.len, t->num_eid[w.cur]);
            more = num_walk_next(&w);
            continue;
        }
        if (i + 8 < t->npend)
            __builtin_prefetch(ps[i + 8]->key);
        rc = key_append(t, ps[i]->key, ps[i]->key_len, blk_u64_get(pend_rec(ps[i])));
        i++;
    }
    if (!rc && t->nums_n && w.left)
        rc = MDB_CORRUPTED; /* cannot be: the walk passes every number up to max */
    free(ps);
    /* the table of keys is not needed again at this size: its memory
     * back rather than cleared */
    pset_free(t->pset, t->pset_cap);
    t->pset = NULL;
    t->pset_cap = t->pset_n = 0;
    free(t->nums);
    free(t->num_eid);
    t->nums = NULL;
    t->num_eid = NULL;
    t->nums_words = t->nums_n = 0;
    pend_reset(t);
    t->kdefer = 0;
    return rc ? rc : direct_start(t);
}

/* Starts deferring the keys of the adds (kdefer): the keys this
 * transaction stored so far (all there are: keys_fresh) are taken out of
 * the keys table into the buffer, to be written with the others. */
static int keys_defer_start(phm_index_txn *t)
{
    t->kdefer_tried = 1;
    uint64_t n = 0;
    stored_keys sk = { 0 };
    int rc = blk_flush(&t->km);
    if (!rc)
        rc = blk_count(&t->km, &n);
    if (!rc && n > PEND_MAX_ITEMS / 2)
        return 0; /* too many already: buffer the adds as before */
    if (!rc && n)
        rc = stored_keys_take(t, (size_t)n, &sk);
    t->kdefer = !rc;
    for (size_t i = 0; !rc && i < sk.n; i++) {
        size_t len;
        const uint8_t *key = stored_key(&sk, i, &len);
        rc = kdefer_add(t, key, len, sk.eid[i], SIZE_MAX);
    }
    stored_keys_free(&sk);
    return rc;
}

static int flush_pending(phm_index_txn *t)
{
    if (t->kdefer)
        return keys_deferred_write(t);
    if (!t->npend)
        return 0;
    /* Input is often in key order already: check before sorting. */
    size_t i = 1;
    while (i < t->npend && cmp_pend(&t->pend[i - 1], &t->pend[i]) < 0)
        i++;
    const pend **ps;
    int append = 1, rc = sort_pending(t->pend, t->npend, i == t->npend, &ps);
    if (rc)
        return rc;
    stored_keys sk = { 0 };
    /* Keys all beyond the last stored one: append, no lookups. Else, when
     * the stored keys are few beside the batch (a list whose ids are line
     * numbers, "10" sorting before "9", arrives in a new index that way),
     * take them out and merge them with the batch, so that everything is
     * still appended; else look each key up. */
    uint8_t last[BLK_KEY_MAX];
    size_t ll = 0;
    int lr = blk_last(&t->km, last, &ll);
    rc = lr == MDB_NOTFOUND ? 0 : lr;
    if (lr == 0 && cmp_keys(ps[0]->key, ps[0]->key_len, last, ll) <= 0) {
        int few = 0;
        size_t nk = 0;
        rc = keys_few(t, t->npend / 2, &few, &nk);
        if (!rc && few)
            rc = stored_keys_take(t, nk, &sk);
        else if (!rc)
            append = 0;
    }
    size_t si = 0; /* the next stored key to merge */
    for (i = 0; !rc && i < t->npend;) {
        /* the pends are read in key order, at random places: ask for the
         * next ones early (the pend, then its key, record and hashes) */
        if (i + 16 < t->npend)
            __builtin_prefetch(ps[i + 16]);
        if (i + 8 < t->npend) {
            __builtin_prefetch(ps[i + 8]->key);
            __builtin_prefetch(pend_rec(ps[i + 8]) + ps[i + 8]->rec_len);
        }
        size_t j = i + 1;
        while (j < t->npend && ps[j]->key_len == ps[i]->key_len &&
               memcmp(ps[j]->key, ps[i]->key, ps[i]->key_len) == 0)
            j++;
        const uint64_t *have = NULL;
        for (; !rc && si < sk.n; si++) {
            size_t len;
            const uint8_t *key = stored_key(&sk, si, &len);
            int c = cmp_keys(key, len, ps[i]->key, ps[i]->key_len);
            if (c > 0)
                break;
            if (c == 0) {
                have = &sk.eid[si++];
                break;
            }
            rc = key_append(t, key, len, sk.eid[si]);
        }
        if (!rc)
            rc = flush_group(t, append, ps + i, j - i, have);
        i = j;
    }
    for (; !rc && si < sk.n; si++) {
        size_t len;
        const uint8_t *key = stored_key(&sk, si, &len);
        rc = key_append(t, key, len, sk.eid[si]);
    }
    stored_keys_free(&sk);
    free(ps);
    pend_reset(t);
    if (!rc)
        rc = direct_start(t);
    return rc;
}

/* Keeps name s in buf of size n (a copy without snprintf's parsing:
 * this runs for each added entry whose category differs from the last). */
static void name_keep(char *buf, size_t n, const char *s)
{
    size_t len = strnlen(s, n - 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
}

/* The numbers of e's source and category, given at first use. */
static int entry_names(phm_index_txn *t, const phm_entry *e, uint32_t *src, uint32_t *cat)
{
    const char *c = e->category ? e->category : "";
    int rc = 0;
    if (!t->last_src_num || strcmp(t->last_src, e->source) != 0) {
        if ((rc = idx_name_make(t->idx, t->txn, &t->names, e->source, &t->last_src_num)))
            return rc;
        name_keep(t->last_src, sizeof t->last_src, e->source);
    }
    if (t->last_cat_num == UINT32_MAX || strcmp(t->last_cat, c) != 0) {
        if ((rc = idx_name_make(t->idx, t->txn, &t->names, c, &t->last_cat_num)))
            return rc;
        name_keep(t->last_cat, sizeof t->last_cat, c);
    }
    *src = t->last_src_num;
    *cat = t->last_cat_num;
    return 0;
}

/* e's key and record (record version 4). 0 or an LMDB code. */
static int entry_encode(phm_index_txn *t, const phm_entry *e, uint8_t *key, size_t *klen,
                        uint8_t *rec, size_t *rlen)
{
    uint32_t src, cat;
    int rc = entry_names(t, e, &src, &cat);
    if (rc)
        return rc;
    *klen = idx_key(src, e->id, key);
    *rlen = rec_encode(e, src, cat, e->added ? e->added : t->now, t->names.created, rec);
    return 0;
}

/* Adds a video entry at once, never buffered: its frames are compared
 * with the stored ones here, and its record may be far larger than a
 * buffered one. Videos come one per file, so this costs little. */
static int video_add(phm_index_txn *t, const phm_entry *e, char *err, size_t errlen)
{
    int rc = flush_pending(t);
    if (rc)
        return fail_mdb(t, rc, "writing entries", err, errlen);
    size_t need = vid_bytes(e->nframes);
    if (need > t->vrec_cap) {
        uint8_t *p = realloc(t->vrec, need);
        if (!p)
            return fail_nomem(t, err, errlen);
        t->vrec = p;
        t->vrec_cap = need;
    }
    if (e->nframes > t->vhashes_cap) {
        phm_pdq *h = realloc(t->vhashes, e->nframes * sizeof *h);
        if (!h)
            return fail_nomem(t, err, errlen);
        t->vhashes = h;
        t->vhashes_cap = e->nframes;
    }
    t->nvhashes = vid_distinct(e->frames, e->nframes, t->vhashes);
    vid_encode(e, (uint32_t)t->nvhashes, t->vrec);
    t->vrec_len = need;
    uint8_t key[IDX_KEY_MAX], rec[REC_MAX];
    size_t klen, rlen;
    if ((rc = entry_encode(t, e, key, &klen, rec, &rlen)))
        return fail_mdb(t, rc, "writing a video entry", err, errlen);
    phm_entry ne;
    rec_extra nx;
    if (rec_decode(rec, rlen, &t->names, &nx, &ne))
        return fail_mdb(t, MDB_CORRUPTED, "writing a video entry", err, errlen);
    MDB_val v;
    uint64_t eid = 0;
    rc = blk_key_get(&t->km, key, klen, &eid);
    if (rc == MDB_NOTFOUND) {
        rc = entry_insert(t, 0, key, klen, rec, rlen, &ne, &nx);
        t->counts.added++;
    } else if (!rc) {
        uint8_t old[REC_MAX];
        size_t olen;
        phm_entry oe;
        rec_extra ox;
        MDB_val ek = { sizeof eid, &eid };
        rc = load_record(t, eid, old, &olen);
        if (!rc)
            rc = decode_stored(t, eid, old, olen, &ox, &oe);
        if (!rc) {
            rc = mdb_get(t->txn, t->idx->db_frames, &ek, &v);
            t->video_same = rc == 0 && v.mv_size == need &&
                            memcmp(v.mv_data, t->vrec, need) == 0;
            if (rc == MDB_NOTFOUND)
                rc = 0; /* the stored entry is not a video */
        }
        if (!rc && t->video_same && rec_same(old, olen, rec, rlen)) {
            t->counts.unchanged++;
        } else if (!rc) {
            rc = entry_replace(t, 0, eid, &oe, &ox, key, klen, rec, rlen, &ne, &nx);
            t->counts.updated++;
        }
        t->video_same = 0;
    }
    if (!rc)
        rc = direct_start(t);
    if (rc)
        return fail_mdb(t, rc, "writing a video entry", err, errlen);
    return PHM_OK;
}

/* ---- one hash per id (phm_index_txn_unique_ids) ------------------- */

/* Whether x (a decoded entry with its hashes) holds the hashes of e (PDQ
 * hash and digests). */
static int same_hashes(const phm_entry *x, const phm_entry *e)
{
    const unsigned sigs = PHM_SIG_PDQ | PHM_SIG_MD5 | PHM_SIG_SHA1 | PHM_SIG_SHA256;
    if ((x->signals & sigs) != (e->signals & sigs))
        return 0;
    if ((x->signals & PHM_SIG_PDQ) && memcmp(&x->pdq, &e->pdq, sizeof x->pdq))
        return 0;
    for (unsigned i = 0; i < 3; i++)
        if ((x->signals & digest_sigs[i]) &&
            memcmp(rec_digest_of(x, digest_sigs[i]), rec_digest_of(e, digest_sigs[i]),
                   rec_digest_len(digest_sigs[i])))
            return 0;
    return 1;
}

/* The slot of key (hash h) in the buffered adds' table: its pend, or an
 * empty one. */
static size_t pset_slot(const phm_index_txn *t, const uint8_t *key, size_t klen, uint32_t h)
{
    size_t j = h & (t->pset_cap - 1);
    for (;;) {
        uint64_t v = t->pset[j];
        if (!v)
            return j;
        if ((uint32_t)(v >> 32) == h) {
            const pend *p = &t->pend[(uint32_t)v - 1];
            if (p->key_len == klen && memcmp(p->key, key, klen) == 0)
                return j;
        }
        j = (j + 1) & (t->pset_cap - 1);
    }
}

/* Files the buffered add t->pend[i] under its key; `slot` is its slot
 * from pset_slot() while the table has not changed since, or SIZE_MAX.
 * 0 or ENOMEM. */
static int pset_put(phm_index_txn *t, size_t i, size_t slot)
{
    if ((t->pset_n + 1) * 2 > t->pset_cap) {
        size_t cap = t->pset_cap ? t->pset_cap * 2 : 1024;
        uint64_t *n = pset_alloc(cap);
        if (!n)
            return ENOMEM;
        /* Refiled from the old table: its keys are distinct (one slot a
         * key, its latest add), so each goes to the first free slot from
         * its hash, without reading keys; and only what the table holds
         * (numbers deferred while dense, nums_fits, are not in it). */
        for (size_t j = 0; j < t->pset_cap; j++) {
            uint64_t v = t->pset[j];
            if (!v)
                continue;
            size_t k = (uint32_t)(v >> 32) & (cap - 1);
            while (n[k])
                k = (k + 1) & (cap - 1);
            n[k] = v;
        }
        pset_free(t->pset, t->pset_cap);
        t->pset = n;
        t->pset_cap = cap;
        slot = SIZE_MAX;
    }
    const pend *p = &t->pend[i];
    size_t j = slot != SIZE_MAX ? slot : pset_slot(t, p->key, p->key_len, p->hash);
    if (!t->pset[j])
        t->pset_n++;
    t->pset[j] = (uint64_t)p->hash << 32 | (uint32_t)(i + 1);
    return 0;
}

/* Refuses (PHM_ERR_INVALID) an add giving an id this transaction already
 * stored another hash for. e's key is key[0..klen), its key_hash h; *slot
 * is set to its slot in the buffered adds' table (or SIZE_MAX). 0,
 * PHM_ERR_INVALID, or a storage error. */
static int unique_check(phm_index_txn *t, const phm_entry *e, const uint8_t *key,
                        size_t klen, uint32_t h, size_t *slot, char *err, size_t errlen)
{
    int clash = 0;
    phm_entry x;
    rec_extra xx;
    *slot = SIZE_MAX;
    if (t->pset_cap) {
        *slot = pset_slot(t, key, klen, h);
        uint64_t v = t->pset[*slot];
        if (v) {
            const pend *p = &t->pend[(uint32_t)v - 1];
            clash = rec_decode(pend_rec(p), p->rec_len, &t->names, &xx, &x) != PHM_OK;
            if (!clash) {
                pend_hashes(p, &x);
                clash = !same_hashes(&x, e);
            }
            goto out;
        }
    }
    /* not buffered: written by this transaction? never, if the filter of
     * the keys it stored has not its bit */
    if (t->kfilt) {
        size_t b = h & (KFILT_BITS - 1);
        if (!(t->kfilt[b / 8] & (1u << (b % 8))))
            return PHM_OK;
    }
    uint64_t eid = 0;
    int rc = blk_key_get(&t->km, key, klen, &eid);
    if (rc == MDB_NOTFOUND)
        return PHM_OK;
    if (rc)
        return fail_mdb(t, rc, "checking an id", err, errlen);
    if (eid >= t->first_new_eid) { /* stored by this transaction */
        uint8_t old[REC_MAX];
        size_t olen;
        if ((rc = load_record(t, eid, old, &olen)) != 0 ||
            (rc = decode_stored(t, eid, old, olen, &xx, &x)) != 0)
            return fail_mdb(t, rc, "checking an id", err, errlen);
        clash = !same_hashes(&x, e);
    }
out:
    if (!clash)
        return PHM_OK;
    snprintf(err, errlen, "id '%s' of source '%s' was given another hash earlier in this "
             "import", e->id, e->source);
    return PHM_ERR_INVALID;
}

int phm_index_add(phm_index_txn *t, const phm_entry *e, char *err, size_t errlen)
{
    if (!t)
        return PHM_ERR_INVALID;
    if (t->failed)
        return failed(t, err, errlen);
    int st = rec_validate(e, err, errlen);
    if (st)
        return st;
    if (e->signals & PHM_SIG_VPDQ)
        return video_add(t, e, err, errlen);
    uint8_t key[IDX_KEY_MAX], rec[REC_MAX];
    size_t klen, rlen;
    int rc = entry_encode(t, e, key, &klen, rec, &rlen);
    if (rc)
        return fail_mdb(t, rc, "writing entries", err, errlen);
    if (t->direct) {
        if (!t->direct_last_len ||
            cmp_keys(key, klen, t->direct_last, t->direct_last_len) > 0) {
            /* entry_insert takes only the names' numbers from x, the
             * ones entry_encode just used: no decoding of rec */
            rec_extra x = { .source = t->last_src_num, .category = t->last_cat_num };
            rc = entry_insert(t, 1, key, klen, rec, rlen, e, &x);
            if (rc)
                return fail_mdb(t, rc, "writing entries", err, errlen);
            t->counts.added++;
            memcpy(t->direct_last, key, klen);
            t->direct_last_len = klen;
            return PHM_OK;
        }
        t->direct = 0; /* out of order: buffer from now on */
        if (t->keys_fresh && !t->kdefer_tried && !t->npend &&
            (rc = keys_defer_start(t)) != 0)
            return fail_mdb(t, rc, "writing entries", err, errlen);
    }
    if (t->kdefer) {
        /* a key not among the transaction's (all there are) is new: its
         * entry is written at once, the key deferred; a repeated one
         * ends the deferral, and is buffered as below */
        uint32_t ns;
        uint64_t nv;
        size_t ks = SIZE_MAX;
        /* a number deferred while sparse (nums_fits) is in the pset */
        if (t->pset_cap)
            ks = pset_slot(t, key, klen, key_hash(key, klen));
        int seen = ks != SIZE_MAX && t->pset[ks];
        if (key_number(t, key, klen, &ns, &nv)) {
            seen = seen || nums_has(t, nv);
            if (nums_fits(t, nv)) { /* its bit is set with its entry number (kdefer_add) */
                ks = KDEFER_NUMBERED;
                t->kdefer_num = nv;
                t->kdefer_src = ns;
            }
        }
        if (!seen && t->npend < PEND_MAX_ITEMS && t->arena_bytes < PEND_MAX_BYTES) {
            rec_extra x = { .source = t->last_src_num, .category = t->last_cat_num };
            t->kdefer_slot = ks;
            rc = entry_insert(t, 1, key, klen, rec, rlen, e, &x);
            if (rc)
                return fail_mdb(t, rc, "writing entries", err, errlen);
            t->counts.added++;
            return PHM_OK;
        }
        if ((rc = flush_pending(t)) != 0)
            return fail_mdb(t, rc, "writing entries", err, errlen);
        t->direct = 0;
    }
    /* entry_encode gave the source its number: the key is e's */
    uint32_t kh = 0;
    size_t slot = SIZE_MAX;
    if (t->unique) {
        kh = key_hash(key, klen);
        if ((st = unique_check(t, e, key, klen, kh, &slot, err, errlen)) != PHM_OK)
            return st;
    }
    if (t->npend == PEND_MAX_ITEMS || t->arena_bytes >= PEND_MAX_BYTES) {
        rc = flush_pending(t);
        if (rc)
            return fail_mdb(t, rc, "writing entries", err, errlen);
        slot = SIZE_MAX; /* the table was emptied */
    }
    phm_pdq h[1 + PHM_INDEX_MAX_VARIANTS];
    size_t nh = (e->signals & PHM_SIG_PDQ) ? rec_slots(e, h) : 0;
    if (pend_push(t, key, klen, rec, rlen, h, nh, kh) ||
        (t->unique && pset_put(t, t->npend - 1, slot)))
        return fail_nomem(t, err, errlen);
    return PHM_OK;
}

/* Buffers key, record and nh PDQ hashes h in the arena as t->pend's next
 * item (key hash kh). 0 or ENOMEM. */
static int pend_push(phm_index_txn *t, const uint8_t *key, size_t klen, const uint8_t *rec,
                     size_t rlen, const phm_pdq *h, size_t nh, uint32_t kh)
{
    if (t->npend == t->pend_cap) {
        size_t cap = t->pend_cap ? t->pend_cap * 2 : 1024;
        pend *p = realloc(t->pend, cap * sizeof *p);
        if (!p)
            return ENOMEM;
        t->pend = p;
        t->pend_cap = cap;
    }
    size_t hb = nh * sizeof *h;
    if (!t->arena || t->arena->cap - t->arena->len < klen + rlen + hb) {
        chunk *c = malloc(sizeof *c + CHUNK_BYTES);
        if (!c)
            return ENOMEM;
        c->next = t->arena;
        c->len = 0;
        c->cap = CHUNK_BYTES;
        t->arena = c;
    }
    chunk *c = t->arena;
    pend *p = &t->pend[t->npend];
    uint8_t *dst = c->data + c->len;
    memcpy(dst, key, klen);
    memcpy(dst + klen, rec, rlen);
    if (hb)
        memcpy(dst + klen + rlen, h, hb);
    p->key = dst;
    p->key_len = (uint16_t)klen;
    p->rec_len = (uint16_t)rlen;
    p->nh = (uint8_t)nh;
    p->hash = kh;
    c->len += klen + rlen + hb;
    t->arena_bytes += klen + rlen + hb;
    t->npend++;
    return 0;
}

/* ---- removal ------------------------------------------------------ */

static int check_name(const phm_index_txn *t, const char *what, const char *s,
                      size_t max, char *err, size_t errlen)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    if (n == 0 || n > max) {
        idx_err(err, errlen, WHAT, t->idx->path, "%s is empty or longer than %zu bytes",
                what, max);
        return PHM_ERR_INVALID;
    }
    return PHM_OK;
}

/* Deletes the entry whose number and key are known. */
static int remove_eid(phm_index_txn *t, uint64_t eid)
{
    uint8_t rec[REC_MAX];
    size_t rlen;
    int rc = load_record(t, eid, rec, &rlen);
    if (rc)
        return rc;
    phm_entry e;
    rec_extra x;
    if (rec_decode(rec, rlen, &t->names, &x, &e))
        return MDB_CORRUPTED;
    if ((rc = entry_delete(t, eid, &e, &x)))
        return rc;
    t->counts.removed++;
    return 0;
}

/* What a removal starts with: the names checked (id NULL: a source's
 * removal), the buffered adds written, source's number found into *src
 * (0: the source has nothing stored). PHM_OK or an error. */
static int removal_start(phm_index_txn *t, const char *source, const char *id,
                         uint32_t *src, char *err, size_t errlen)
{
    *src = 0;
    if (!t)
        return PHM_ERR_INVALID;
    if (t->failed)
        return failed(t, err, errlen);
    int st = check_name(t, "source", source, PHM_INDEX_MAX_SOURCE, err, errlen);
    if (!st && id)
        st = check_name(t, "id", id, PHM_INDEX_MAX_ID, err, errlen);
    if (st)
        return st;
    int rc = flush_pending(t);
    if (rc)
        return fail_mdb(t, rc, "writing entries", err, errlen);
    rc = idx_name_find(t->idx, t->txn, source, src);
    if (rc == MDB_NOTFOUND)
        return PHM_OK;
    if (rc)
        return fail_mdb(t, rc, id ? "removing an entry" : "removing a source", err, errlen);
    return PHM_OK;
}

int phm_index_remove(phm_index_txn *t, const char *source, const char *id,
                     int *removed, char *err, size_t errlen)
{
    if (removed)
        *removed = 0;
    uint32_t src;
    int st = removal_start(t, source, id ? id : "", &src, err, errlen);
    if (st || !src)
        return st;
    uint8_t key[IDX_KEY_MAX];
    size_t klen = idx_key(src, id, key);
    uint64_t eid = 0;
    int rc = blk_key_get(&t->km, key, klen, &eid);
    if (rc == MDB_NOTFOUND)
        return PHM_OK;
    if (!rc)
        rc = remove_eid(t, eid);
    if (!rc)
        rc = blk_del(&t->km, key, klen);
    if (rc)
        return fail_mdb(t, rc, "removing an entry", err, errlen);
    if (removed)
        *removed = 1;
    return PHM_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Deletes the entries of sk (keys ascending): their records read in
 * number order, then the entries' and the keys' blocks each rewritten
 * once (blk_del_many), not once per entry. */
static int remove_sorted(phm_index_txn *t, stored_keys *sk)
{
    size_t *eend = malloc(sk->n * sizeof *eend);
    uint8_t *ekeys = malloc(sk->n * 8);
    int rc = eend && ekeys ? 0 : ENOMEM;
    if (!rc) {
        qsort(sk->eid, sk->n, sizeof *sk->eid, cmp_u64);
        blk_map_cache(&t->em); /* ascending numbers: one decode a block */
    }
    for (size_t i = 0; !rc && i < sk->n; i++) {
        uint8_t rec[REC_MAX];
        size_t rlen;
        phm_entry e;
        rec_extra x;
        rc = load_record(t, sk->eid[i], rec, &rlen);
        if (!rc && rec_decode(rec, rlen, &t->names, &x, &e))
            rc = MDB_CORRUPTED;
        if (!rc)
            rc = entry_forget(t, sk->eid[i], &e, &x);
        blk_u64_put(ekeys + 8 * i, sk->eid[i]);
        eend[i] = 8 * (i + 1);
    }
    t->em.cache_on = 0;
    if (!rc)
        rc = blk_del_many(&t->em, ekeys, eend, sk->n);
    if (!rc)
        rc = blk_del_many(&t->km, sk->bytes, sk->end, sk->n);
    if (!rc)
        t->counts.removed += sk->n;
    free(eend);
    free(ekeys);
    return rc;
}

int phm_index_remove_source(phm_index_txn *t, const char *source,
                            uint64_t *removed, char *err, size_t errlen)
{
    if (removed)
        *removed = 0;
    uint32_t src;
    int rc, st = removal_start(t, source, NULL, &src, err, errlen);
    if (st || !src)
        return st;
    uint8_t prefix[5];
    size_t plen = idx_okey_put(prefix, src); /* prefix-free */
    /* the source's keys first, then the removals (they change the blocks) */
    stored_keys sk = { 0 };
    size_t cap = 0, len = 0;
    blk_iter it;
    if ((rc = blk_iter_open(&it, &t->km, prefix, plen)))
        return fail_mdb(t, rc, "removing a source", err, errlen);
    while ((rc = blk_iter_next(&it)) == 0) {
        const blk_dec *d = it.d;
        if (d->klen < plen || memcmp(d->key, prefix, plen) != 0)
            break;
        if (sk.n % 1024 == 0) {
            size_t *ne = realloc(sk.end, (sk.n + 1024) * sizeof *ne);
            if (ne)
                sk.end = ne;
            uint64_t *ni = realloc(sk.eid, (sk.n + 1024) * sizeof *ni);
            if (ni)
                sk.eid = ni;
            if (!ne || !ni) {
                rc = ENOMEM;
                break;
            }
        }
        if (cap - len < d->klen) {
            size_t nc = cap ? 2 * cap : 64 * 1024;
            uint8_t *nb = realloc(sk.bytes, nc);
            if (!nb) {
                rc = ENOMEM;
                break;
            }
            sk.bytes = nb;
            cap = nc;
        }
        memcpy(sk.bytes + len, d->key, d->klen);
        len += d->klen;
        sk.end[sk.n] = len;
        sk.eid[sk.n++] = blk_u64_get(d->val);
    }
    blk_iter_close(&it);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (!rc && sk.n)
        rc = remove_sorted(t, &sk);
    uint64_t n = rc ? 0 : sk.n;
    stored_keys_free(&sk);
    if (rc)
        return fail_mdb(t, rc, "removing a source", err, errlen);
    if (removed)
        *removed = n;
    return PHM_OK;
}

/* phm_index_remove_many: one name's key, in an arena. */
typedef struct named_key {
    const uint8_t *k;
    size_t kl;
} named_key;

static int cmp_named_key(const void *a, const void *b)
{
    const named_key *x = a, *y = b;
    return cmp_keys(x->k, x->kl, y->k, y->kl);
}

/* The keys of names[0..n) stored in the index, ascending, once each,
 * with their entry numbers, into sk (its arrays malloc'd). */
static int named_keys_stored(phm_index_txn *t, const phm_entry_name *names, size_t n,
                             stored_keys *sk)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += 5 + strlen(names[i].id); /* idx_key's length at most */
    uint8_t *arena = malloc(bytes ? bytes : 1);
    named_key *nk = malloc((n ? n : 1) * sizeof *nk);
    sk->bytes = malloc(bytes ? bytes : 1);
    sk->end = malloc((n ? n : 1) * sizeof *sk->end);
    sk->eid = malloc((n ? n : 1) * sizeof *sk->eid);
    int rc = arena && nk && sk->bytes && sk->end && sk->eid ? 0 : ENOMEM;
    size_t nn = 0, at = 0;
    const char *last = NULL; /* the source of the name before, and its number */
    uint32_t src = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (!last || strcmp(last, names[i].source) != 0) {
            rc = idx_name_find(t->idx, t->txn, names[i].source, &src);
            if (rc == MDB_NOTFOUND) {
                rc = 0;
                src = 0; /* the source has nothing stored */
            }
            last = names[i].source;
        }
        if (rc || !src)
            continue;
        nk[nn].k = arena + at;
        nk[nn].kl = idx_key(src, names[i].id, arena + at);
        at += nk[nn++].kl;
    }
    if (!rc)
        qsort(nk, nn, sizeof *nk, cmp_named_key);
    at = 0;
    for (size_t i = 0; !rc && i < nn; i++) {
        if (i && cmp_named_key(&nk[i - 1], &nk[i]) == 0)
            continue; /* named twice */
        uint64_t eid;
        rc = blk_key_get(&t->km, nk[i].k, nk[i].kl, &eid);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        memcpy(sk->bytes + at, nk[i].k, nk[i].kl);
        at += nk[i].kl;
        sk->end[sk->n] = at;
        sk->eid[sk->n++] = eid;
    }
    free(arena);
    free(nk);
    return rc;
}

int phm_index_remove_many(phm_index_txn *t, const phm_entry_name *names, size_t n,
                          uint64_t *removed, size_t *bad, char *err, size_t errlen)
{
    if (removed)
        *removed = 0;
    if (bad)
        *bad = n;
    if (!t || (n && !names))
        return PHM_ERR_INVALID;
    if (t->failed)
        return failed(t, err, errlen);
    for (size_t i = 0; i < n; i++) {
        int st = check_name(t, "source", names[i].source, PHM_INDEX_MAX_SOURCE, err, errlen);
        if (!st)
            st = check_name(t, "id", names[i].id, PHM_INDEX_MAX_ID, err, errlen);
        if (st) {
            if (bad)
                *bad = i;
            return st;
        }
    }
    int rc = flush_pending(t);
    if (rc)
        return fail_mdb(t, rc, "writing entries", err, errlen);
    stored_keys sk = { 0 };
    rc = named_keys_stored(t, names, n, &sk);
    if (!rc && sk.n)
        rc = remove_sorted(t, &sk);
    uint64_t done = rc ? 0 : sk.n;
    stored_keys_free(&sk);
    if (rc)
        return fail_mdb(t, rc, "removing entries", err, errlen);
    if (removed)
        *removed = done;
    return PHM_OK;
}

/* ---- commit ------------------------------------------------------- */

/* Appends the transaction's surviving new hashes to the delta, or
 * rebuilds the base with them when the delta has grown large. */
static int store_new_hashes(phm_index_txn *t, char *err, size_t errlen, int *st)
{
    size_t live = t->ngone ? 0 : t->nnew;
    for (size_t i = 0; t->ngone && i < t->nnew; i++) {
        if (t->new_gone[i])
            continue;
        t->new_eids[live] = t->new_eids[i];
        t->new_hashes[live] = t->new_hashes[i];
        live++;
    }
    t->nnew = live;
    MDB_stat ds, xs;
    int rc = mdb_stat(t->txn, t->idx->db_delta, &ds);
    if (!rc)
        rc = mdb_stat(t->txn, t->idx->db_dead, &xs);
    if (rc)
        return rc;
    if (ds.ms_entries + live > delta_limit(t->base.n) ||
        xs.ms_entries > dead_limit(t->base.n)) {
        /* the directories counted while the adds arrived, when they are
         * of these hashes (nothing removed since); else planned there */
        uint32_t *dirs = NULL;
        if (t->plan && !t->ngone)
            dirs = idx_plan_finish(t->plan, t->new_hashes, live);
        else
            idx_plan_free(t->plan);
        t->plan = NULL;
        *st = idx_rebuild(t->idx, t->txn, t->new_eids, t->new_hashes, live,
                          t->next_eid, dirs, err, errlen);
        free(dirs);
        t->changed = 1;
        return 0;
    }
    idx_plan_free(t->plan);
    t->plan = NULL;
    if (!live)
        return 0;
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(t->txn, t->idx->db_delta, &c)))
        return rc;
    uint32_t seq = 0; /* a video's hashes: the hash number in the key */
    for (size_t i = 0; !rc && i < live; i++) {
        uint8_t key[IDX_DELTA_KEY_MULTI];
        idx_delta_key(key, t->new_eids[i]);
        int multi = (i + 1 < live && t->new_eids[i + 1] == t->new_eids[i]) ||
                    (i && t->new_eids[i - 1] == t->new_eids[i]);
        seq = i && t->new_eids[i - 1] == t->new_eids[i] ? seq + 1 : 0;
        for (int b = 0; b < 4; b++)
            key[9 + b] = (uint8_t)(seq >> (24 - 8 * b));
        MDB_val k = { multi ? IDX_DELTA_KEY_MULTI : 9, key },
                v = { sizeof(phm_pdq), &t->new_hashes[i] };
        rc = mdb_cursor_put(c, &k, &v, MDB_APPEND);
    }
    mdb_cursor_close(c);
    return rc;
}

int phm_index_txn_commit(phm_index_txn *t, phm_index_counts *counts, char *err,
                         size_t errlen)
{
    if (!t)
        return PHM_ERR_INVALID;
    if (t->failed) {
        int st = failed(t, err, errlen);
        phm_index_txn_abort(t);
        return st;
    }
    int st = PHM_OK;
    int rc = flush_pending(t);
    if (!rc)
        rc = blk_flush(&t->em);
    if (!rc)
        rc = blk_flush(&t->km);
    slots_done(t); /* before the commit rebuilds the base */
    if (!rc)
        rc = groups_flush(t);
    if (!rc)
        rc = store_new_hashes(t, err, errlen, &st);
    if (!rc && !st && (t->var_entries || t->var_hashes))
        rc = idx_variants_update(t->idx, t->txn, t->var_entries, t->var_hashes);
    if (!rc && !st && t->changed) {
        uint64_t gen = 0;
        rc = idx_meta_get_u64(t->idx, t->txn, "gen", &gen);
        if (!rc)
            rc = idx_meta_put_u64(t->idx, t->txn, "gen", gen + 1);
        if (!rc)
            rc = idx_meta_put_u64(t->idx, t->txn, "next_eid", t->next_eid);
    }
    if (counts)
        *counts = t->counts;
    if (rc || st) {
        if (rc)
            st = idx_mdb_err(rc, err, errlen, WHAT, t->idx, "committing");
        phm_index_txn_abort(t);
        return st;
    }
    phm_index *idx = t->idx;
    rc = mdb_txn_commit(t->txn);
    t->txn = NULL;
    txn_free(t);
    if (rc)
        return idx_mdb_err(rc, err, errlen, WHAT, idx, "committing");
    return PHM_OK;
}

int phm_index_compact(phm_index *idx, char *err, size_t errlen)
{
    phm_index_txn *t;
    int st = phm_index_txn_begin(idx, &t, err, errlen);
    if (st)
        return st;
    st = idx_rebuild(idx, t->txn, NULL, NULL, 0, t->next_eid, NULL, err, errlen);
    if (st) {
        phm_index_txn_abort(t);
        return st;
    }
    t->changed = 1;
    return phm_index_txn_commit(t, NULL, err, errlen);
}

/* wt-iup5: the upgrade's hook (index_internal.h). */
int idx_txn_flush(phm_index_txn *t, char *err, size_t errlen)
{
    if (t->failed)
        return failed(t, err, errlen);
    int rc = flush_pending(t);
    return rc ? fail_mdb(t, rc, "writing entries", err, errlen) : PHM_OK;
}
