/* index_verify.c - phm_index_verify: checks, from one snapshot, that every
 * table of the index agrees with the stored entries (docs/INDEX_FORMAT.md
 * lists the invariants). Entries, base entry numbers and removed entry
 * numbers all ascend, so the membership checks are one merge pass. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_block.h"

static const char *const WHAT = "index is inconsistent";

typedef struct verifier {
    phm_index *idx;
    MDB_txn *txn;
    char *err;
    size_t errlen;
    int st; /* first failure */
    /* (source, category) counts seen, open addressing */
    struct gslot {
        uint8_t *key;
        size_t len;
        uint64_t count;
    } *g;
    size_t gn, gcap;
    idx_names names; /* format 5 */
    idx_slots slots; /* entries' hashes, read in entry order */
    int slots_open;
    blk_map km; /* the keys table (index_block.c) */
} verifier;

static int bad(verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(verifier *v, const char *fmt, ...)
{
    if (v->st)
        return v->st;
    char msg[PHM_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    idx_err(v->err, v->errlen, WHAT, v->idx->path, "%s", msg);
    v->st = PHM_ERR_CORRUPT;
    return v->st;
}

static int mdb_bad(verifier *v, int rc)
{
    if (v->st)
        return v->st;
    v->st = idx_mdb_err(rc, v->err, v->errlen, "cannot verify index", v->idx, NULL);
    return v->st;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static int group_count(verifier *v, const rec_extra *x)
{
    uint8_t key[IDX_GROUP_KEY_MAX];
    size_t len = idx_group_key(x->source, x->category, key);
    if (v->gn * 2 >= v->gcap) {
        size_t cap = v->gcap ? v->gcap * 2 : 64;
        struct gslot *g = calloc(cap, sizeof *g);
        if (!g)
            return -1;
        for (size_t i = 0; i < v->gcap; i++) {
            if (!v->g[i].key)
                continue;
            size_t j = hash_bytes(v->g[i].key, v->g[i].len) & (cap - 1);
            while (g[j].key)
                j = (j + 1) & (cap - 1);
            g[j] = v->g[i];
        }
        free(v->g);
        v->g = g;
        v->gcap = cap;
    }
    size_t j = hash_bytes(key, len) & (v->gcap - 1);
    while (v->g[j].key && (v->g[j].len != len || memcmp(v->g[j].key, key, len)))
        j = (j + 1) & (v->gcap - 1);
    if (!v->g[j].key) {
        if (!(v->g[j].key = malloc(len)))
            return -1;
        memcpy(v->g[j].key, key, len);
        v->g[j].len = len;
        v->gn++;
    }
    v->g[j].count++;
    return 0;
}

static const unsigned digest_sigs[3] = { PHM_SIG_MD5, PHM_SIG_SHA1, PHM_SIG_SHA256 };

/* The keys, digests and counts of one entry. */
static int check_links(verifier *v, MDB_cursor *dc, uint64_t eid, const phm_entry *e,
                       const rec_extra *x, uint64_t *ndigests)
{
    uint8_t key[IDX_KEY_MAX];
    size_t kl = idx_key(x->source, e->id, key);
    uint64_t got = 0;
    int rc = blk_key_get(&v->km, key, kl, &got);
    if (rc == MDB_CORRUPTED)
        return bad(v, "the block holding the name of entry %llu ('%s:%s') does not decode",
                   (unsigned long long)eid, e->source, e->id);
    if (rc && rc != MDB_NOTFOUND)
        return mdb_bad(v, rc);
    if (got != eid)
        return bad(v, "entry %llu ('%s:%s') is not under its name",
                   (unsigned long long)eid, e->source, e->id);
    for (unsigned i = 0; i < 3; i++) {
        if (!(e->signals & digest_sigs[i]))
            continue;
        uint8_t dk[33];
        size_t len = rec_digest_len(digest_sigs[i]);
        dk[0] = (uint8_t)rec_digest_type(digest_sigs[i]);
        memcpy(dk + 1, rec_digest_of(e, digest_sigs[i]), len);
        MDB_val kk = { len + 1, dk }, vv = { sizeof eid, &eid };
        rc = mdb_cursor_get(dc, &kk, &vv, MDB_GET_BOTH);
        if (rc == MDB_NOTFOUND)
            return bad(v, "entry %llu: a digest is not in the digest table",
                       (unsigned long long)eid);
        if (rc)
            return mdb_bad(v, rc);
        (*ndigests)++;
    }
    if (group_count(v, x))
        return mdb_bad(v, ENOMEM);
    return 0;
}

/* The names table: every row decodes, and the two directions agree. */
static int check_names(verifier *v)
{
    int rc = idx_names_load(v->idx, v->txn, &v->names);
    if (rc == MDB_CORRUPTED)
        return bad(v, "the names table has a malformed row");
    if (rc)
        return mdb_bad(v, rc);
    size_t numbered = 0, named = 0;
    for (size_t i = 1; i < v->names.n; i++) {
        if (!v->names.str[i])
            continue;
        numbered++;
        uint32_t back;
        rc = idx_name_find(v->idx, v->txn, v->names.str[i], &back);
        if (rc && rc != MDB_NOTFOUND && rc != MDB_CORRUPTED)
            return mdb_bad(v, rc);
        for (const char *c = v->names.str[i]; !rc && *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                rc = MDB_CORRUPTED;
        if (rc || back != i)
            return bad(v, "name number %zu ('%s') is not the number of its name", i,
                       v->names.str[i]);
    }
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(v->txn, v->idx->db_names, &c)))
        return mdb_bad(v, rc);
    MDB_val k, val;
    for (int op = MDB_FIRST; (rc = mdb_cursor_get(c, &k, &val, op)) == 0; op = MDB_NEXT) {
        if (((const uint8_t *)k.mv_data)[0] == IDX_NAME_BY_STR)
            named++;
        else if (((const uint8_t *)k.mv_data)[0] != IDX_NAME_BY_NUM)
            named = SIZE_MAX / 2;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND)
        return mdb_bad(v, rc);
    if (named != numbered)
        return bad(v, "the names table holds %zu names for %zu numbers", named, numbered);
    return 0;
}

static int check_counts(verifier *v)
{
    MDB_cursor *c;
    MDB_val k, val;
    size_t seen = 0;
    int rc = mdb_cursor_open(v->txn, v->idx->db_counts, &c);
    if (rc)
        return mdb_bad(v, rc);
    for (int op = MDB_FIRST; (rc = mdb_cursor_get(c, &k, &val, op)) == 0; op = MDB_NEXT) {
        uint64_t count;
        if (val.mv_size != sizeof count) {
            rc = -1;
            break;
        }
        memcpy(&count, val.mv_data, sizeof count);
        size_t j = hash_bytes(k.mv_data, k.mv_size) & (v->gcap ? v->gcap - 1 : 0);
        while (v->gcap && v->g[j].key &&
               (v->g[j].len != k.mv_size || memcmp(v->g[j].key, k.mv_data, k.mv_size)))
            j = (j + 1) & (v->gcap - 1);
        if (!v->gcap || !v->g[j].key || v->g[j].count != count) {
            rc = -1;
            break;
        }
        seen++;
    }
    mdb_cursor_close(c);
    if (rc == -1 || (rc == MDB_NOTFOUND && seen != v->gn))
        return bad(v, "the per-source counts disagree with the entries");
    return rc == MDB_NOTFOUND ? 0 : mdb_bad(v, rc);
}

static int check_slots(verifier *v, uint64_t eid, const phm_entry *e,
                       const phm_pdq *hashes, size_t n, const idx_base_header *h,
                       const mih_view *base, const void *base_eids,
                       size_t *slot, uint64_t *ndelta, const char *kind,
                       const char *what);

/* Scratch for check_video. */
typedef struct video_check {
    phm_vpdq v;
    phm_pdq *hashes;
    size_t cap;
} video_check;

/* A video entry: its frames record decodes and agrees with the record, and
 * its searched hashes (distinct, quality >= 50, sorted) are the next base
 * slots (below the bound; *slot moves past them) or the delta's keys of
 * its number. Returns 0, -1 after bad(), or 1 when the next base slot is
 * of an earlier entry (the caller skips removed ones and calls again). */
static int check_video(verifier *v, uint64_t eid, const phm_entry *e,
                       const idx_base_header *h, const mih_view *base,
                       const void *base_eids, size_t *slot, video_check *vc,
                       uint64_t *ndelta)
{
    MDB_val k = { sizeof eid, &eid }, val;
    int rc = mdb_get(v->txn, v->idx->db_frames, &k, &val);
    if (rc == MDB_NOTFOUND)
        return bad(v, "video entry %llu has no frames", (unsigned long long)eid), -1;
    if (rc)
        return mdb_bad(v, rc), -1;
    uint32_t nf, nh;
    int st = vid_header(val.mv_data, val.mv_size, &nf, &nh);
    if (!st)
        st = vid_decode(val.mv_data, val.mv_size, &vc->v);
    if (st == PHM_ERR_NOMEM)
        return mdb_bad(v, ENOMEM), -1;
    if (st || nf != e->nframes)
        return bad(v, "the frames of video entry %llu do not decode or disagree "
                      "with it", (unsigned long long)eid), -1;
    if (vc->cap < nf) {
        phm_pdq *p = realloc(vc->hashes, nf * sizeof *p);
        if (!p)
            return mdb_bad(v, ENOMEM), -1;
        vc->hashes = p;
        vc->cap = nf;
    }
    size_t n = vid_distinct(vc->v.frames, vc->v.count, vc->hashes);
    if (n != nh)
        return bad(v, "video entry %llu: %u searched hashes recorded, %zu found "
                      "in its frames", (unsigned long long)eid, nh, n), -1;
    if (!n)
        return 0;
    return check_slots(v, eid, e, vc->hashes, n, h, base, base_eids, slot, ndelta,
                       "video", "frame hashes");
}

/* Entry eid's searched hashes hashes[0..n) (a video's, or an image's own
 * hash and stored variants) are the next base slots (below the bound;
 * *slot moves past them) or exactly the delta's keys of its number.
 * Returns as check_video. */
static int check_slots(verifier *v, uint64_t eid, const phm_entry *e,
                       const phm_pdq *hashes, size_t n, const idx_base_header *h,
                       const mih_view *base, const void *base_eids,
                       size_t *slot, uint64_t *ndelta, const char *kind,
                       const char *what)
{
    int rc;
    /* hashes NULL: an image, whose record holds no hash; its slots must be
     * n distinct hashes */
    phm_pdq got[1 + PHM_INDEX_MAX_VARIANTS];
    if (!hashes) {
        if (n > 1 + PHM_INDEX_MAX_VARIANTS)
            return bad(v, "entry %llu has too many variants", (unsigned long long)eid), -1;
        size_t have = 0;
        rc = v->slots_open ? 0 : idx_slots_open(&v->slots, v->idx, v->txn);
        v->slots_open = 1;
        if (!rc)
            rc = idx_slots_get(&v->slots, eid, got, n, &have);
        if (rc && rc != MDB_CORRUPTED)
            return mdb_bad(v, rc), -1;
        if (rc || have != n)
            return bad(v, "%s entry %llu ('%s:%s') has not its %s in the search structure",
                       kind, (unsigned long long)eid, e->source, e->id, what), -1;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (memcmp(&got[i], &got[j], sizeof got[i]) == 0)
                    return bad(v, "%s entry %llu has a variant of the same hash as "
                               "another slot", kind, (unsigned long long)eid), -1;
        hashes = got;
    }
    if (eid < h->eid_bound) {
        if (*slot < base->n && idx_base_eid(base_eids, *slot) < eid)
            return 1;
        for (size_t i = 0; i < n; i++, (*slot)++)
            if (*slot == base->n || idx_base_eid(base_eids, *slot) != eid ||
                memcmp(&base->hashes[*slot], &hashes[i], sizeof(phm_pdq)))
                return bad(v, "%s entry %llu ('%s:%s') has not its %s in the search "
                              "structure", kind, (unsigned long long)eid, e->source,
                           e->id, what), -1;
        if (*slot < base->n && idx_base_eid(base_eids, *slot) == eid)
            return bad(v, "%s entry %llu has extra hashes in the search "
                          "structure", kind, (unsigned long long)eid), -1;
        return 0;
    }
    uint8_t key[9];
    idx_delta_key(key, eid);
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(v->txn, v->idx->db_delta, &c)))
        return mdb_bad(v, rc), -1;
    size_t i = 0;
    MDB_val dk = { 9, key }, dv;
    for (int op = MDB_SET_RANGE; (rc = mdb_cursor_get(c, &dk, &dv, op)) == 0;
         op = MDB_NEXT) {
        if (dk.mv_size < 9 || memcmp(dk.mv_data, key, 9) != 0)
            break;
        if (i == n || dv.mv_size != sizeof(phm_pdq) ||
            memcmp(dv.mv_data, &hashes[i], sizeof(phm_pdq)) ||
                (n > 1 && dk.mv_size != IDX_DELTA_KEY_MULTI) || (n == 1 && dk.mv_size != 9)) {
            i = n + 1;
            break;
        }
        i++;
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND)
        return mdb_bad(v, rc), -1;
    if (i != n)
        return bad(v, "%s entry %llu ('%s:%s') has not its %s in the delta", kind,
                   (unsigned long long)eid, e->source, e->id, what), -1;
    *ndelta += n;
    return 0;
}

int phm_index_verify(phm_index *idx, char *err, size_t errlen)
{
    if (!idx)
        return PHM_ERR_INVALID;
    verifier v = { .idx = idx, .err = err, .errlen = errlen };
    video_check vid = { 0 };
    phm_vpdq_init(&vid.v);
    MDB_cursor *dc = NULL, *xc = NULL;
    blk_map em;
    blk_iter eit = { 0 };
    idx_base_mem copies = { 0 };
    uint8_t *seen = NULL;
    int rc = idx_begin(idx, MDB_RDONLY, &v.txn, "cannot verify index", err, errlen);
    if (rc)
        return rc;
    blk_map_init(&v.km, v.txn, idx->db_keys, BLK_KEYS);
    blk_map_init(&em, v.txn, idx->db_entries, BLK_ENTRIES);

    uint64_t gen, next_eid;
    idx_base_header h;
    if (idx_meta_get_u64(idx, v.txn, "gen", &gen) ||
        idx_meta_get_u64(idx, v.txn, "next_eid", &next_eid) ||
        idx_base_header_get(idx, v.txn, &h)) {
        bad(&v, "metadata is missing or malformed");
        goto out;
    }
    if (h.eid_bound > next_eid || h.eid_bound == 0) {
        bad(&v, "base bound %llu is beyond the next entry number %llu",
            (unsigned long long)h.eid_bound, (unsigned long long)next_eid);
        goto out;
    }
    mih_view base;
    const void *base_eids;
    if ((v.st = idx_base_load(idx, v.txn, &h, &base, &base_eids, &copies, err, errlen)))
        goto out;
    if (base.n) {
        char why[160];
        if (idx_eids_check(base_eids, base.n, why, sizeof why)) {
            bad(&v, "search structure 'E': %s", why);
            goto out;
        }
    }
    for (size_t s = 0; s < base.n; s++) {
        uint64_t e = idx_base_eid(base_eids, s);
        if ((s && e < idx_base_eid(base_eids, s - 1)) || e >= h.eid_bound || e == 0) {
            bad(&v, "base entry numbers do not ascend below the bound (slot %zu)", s);
            goto out;
        }
    }
    if (base.has_tables != mih_wants_tables(base.n)) {
        bad(&v, "base of %zu hashes %s tables", base.n,
            base.has_tables ? "has" : "lacks");
        goto out;
    }
    if (base.has_tables) {
        char why[256];
        if (!(seen = malloc((base.n + 7) / 8))) {
            mdb_bad(&v, ENOMEM);
            goto out;
        }
        for (unsigned i = 0; i < MIH_TABLES; i++) {
            if (mih_check_table(&base, i, seen, why, sizeof why)) {
                bad(&v, "search structure: %s", why);
                goto out;
            }
        }
    }

    if (check_names(&v))
        goto out;
    /* One pass over the entries, merged with the base and dead lists. */
    if ((rc = blk_iter_open(&eit, &em, NULL, 0)) ||
        (rc = mdb_cursor_open(v.txn, idx->db_digests, &dc)) ||
        (rc = mdb_cursor_open(v.txn, idx->db_dead, &xc))) {
        mdb_bad(&v, rc);
        goto out;
    }
    MDB_val val, dk, dv;
    int drc = mdb_cursor_get(xc, &dk, &dv, MDB_FIRST);
    size_t slot = 0;
    uint64_t nentries = 0, ndigests = 0, ndelta = 0, ndead = 0, nvideos = 0;
    uint64_t nvar_entries = 0, nvar_hashes = 0;
    /* Consumes base slots below `limit`: each must be a removed entry. */
#define SKIP_DEAD_BELOW(limit)                                                        \
    while (slot < base.n && idx_base_eid(base_eids, slot) < (limit)) {                \
        uint64_t de = 0;                                                              \
        if (drc == 0 && dk.mv_size == sizeof de)                                      \
            memcpy(&de, dk.mv_data, sizeof de);                                       \
        if (drc != 0 || de != idx_base_eid(base_eids, slot)) {                        \
            bad(&v, "base slot %zu (entry %llu) is neither stored nor removed", slot, \
                (unsigned long long)idx_base_eid(base_eids, slot));                   \
            goto out;                                                                 \
        }                                                                             \
        slot++;                                                                       \
        if (slot == base.n || idx_base_eid(base_eids, slot) != de) { /* a video */    \
            ndead++;                                                                  \
            drc = mdb_cursor_get(xc, &dk, &dv, MDB_NEXT);                             \
        }                                                                             \
    }
    uint64_t eid = 0;
    while ((rc = blk_iter_next(&eit)) == 0) {
        phm_entry e;
        rec_extra x;
        eid = blk_u64_get(eit.d->key);
        val = (MDB_val){ eit.d->vlen, (void *)(uintptr_t)eit.d->val };
        /* decoded again without names only to tell the two failures apart */
        if (rec_decode(val.mv_data, val.mv_size, &v.names, &x, &e)) {
            if (rec_decode(val.mv_data, val.mv_size, NULL, &x, &e))
                bad(&v, "entry %llu does not decode", (unsigned long long)eid);
            else
                bad(&v, "entry %llu names a source or category number (%lu, %lu) that the "
                    "names table lacks", (unsigned long long)eid, (unsigned long)x.source,
                    (unsigned long)x.category);
            goto out;
        }
        if (eid == 0 || eid >= next_eid) {
            bad(&v, "entry number %llu is beyond the next one, %llu",
                (unsigned long long)eid, (unsigned long long)next_eid);
            goto out;
        }
        nentries++;
        if (check_links(&v, dc, eid, &e, &x, &ndigests))
            goto out;
        if (e.signals & PHM_SIG_VPDQ) {
            int vr = check_video(&v, eid, &e, &h, &base, base_eids, &slot, &vid,
                                 &ndelta);
            if (vr > 0) { /* its base slots are not next: removed ones first */
                SKIP_DEAD_BELOW(eid);
                vr = check_video(&v, eid, &e, &h, &base, base_eids, &slot, &vid,
                                 &ndelta);
            }
            if (vr)
                goto out;
            nvideos++;
            continue;
        }
        if (!(e.signals & PHM_SIG_PDQ))
            continue;
        {   /* own hash (and variants): 1 + n slots, read from there */
            size_t ns = 1 + e.nvariants;
            int vr = check_slots(&v, eid, &e, NULL, ns, &h, &base, base_eids, &slot,
                                 &ndelta, "image", ns > 1 ? "hash and variants" : "hash");
            if (vr > 0) {
                SKIP_DEAD_BELOW(eid);
                vr = check_slots(&v, eid, &e, NULL, ns, &h, &base, base_eids, &slot,
                                 &ndelta, "image", ns > 1 ? "hash and variants" : "hash");
            }
            if (vr)
                goto out;
            if (e.nvariants) {
                nvar_entries++;
                nvar_hashes += e.nvariants;
            }
        }
    }
    if (rc == MDB_CORRUPTED) {
        bad(&v, "an entries block does not decode (%s entry %llu)", eid ? "after" : "before",
            (unsigned long long)eid);
        goto out;
    }
    if (rc != MDB_NOTFOUND) {
        mdb_bad(&v, rc);
        goto out;
    }
    SKIP_DEAD_BELOW(UINT64_MAX);
    {   /* every block of the keys table decodes, with one name per entry */
        blk_iter kit;
        uint64_t nkeys = 0;
        if ((rc = blk_iter_open(&kit, &v.km, NULL, 0))) {
            mdb_bad(&v, rc);
            goto out;
        }
        while ((rc = blk_iter_next(&kit)) == 0)
            nkeys++;
        blk_iter_close(&kit);
        if (rc == MDB_CORRUPTED) {
            bad(&v, "a block of names does not decode (after %llu names)",
                (unsigned long long)nkeys);
            goto out;
        }
        if (rc != MDB_NOTFOUND) {
            mdb_bad(&v, rc);
            goto out;
        }
        if (nkeys != nentries) {
            bad(&v, "%llu names for %llu entries", (unsigned long long)nkeys,
                (unsigned long long)nentries);
            goto out;
        }
    }
#undef SKIP_DEAD_BELOW
    /* Each table holds exactly what the entries need. */
    const struct {
        MDB_dbi db;
        uint64_t want;
        const char *fmt;
    } sizes[] = {
        { idx->db_dead, ndead, "%llu removed entries are listed, %llu found in the base" },
        { idx->db_delta, ndelta, "the delta holds %llu hashes, %llu entries need it" },
        { idx->db_frames, nvideos, "the frames table holds %llu videos, %llu entries are videos" },
        { idx->db_digests, ndigests, "%llu digest links for %llu digests in entries" },
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        MDB_stat st;
        if ((rc = mdb_stat(v.txn, sizes[i].db, &st))) {
            mdb_bad(&v, rc);
            goto out;
        }
        if (st.ms_entries != sizes[i].want) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
            bad(&v, sizes[i].fmt, (unsigned long long)st.ms_entries,
                (unsigned long long)sizes[i].want);
#pragma GCC diagnostic pop
            goto out;
        }
    }
    uint64_t ve, vh;
    if ((rc = idx_variants_get(idx, v.txn, &ve, &vh))) {
        mdb_bad(&v, rc);
        goto out;
    }
    if (ve != nvar_entries || vh != nvar_hashes) {
        bad(&v, "the variant counts (%llu entries, %llu hashes) disagree with the "
                "entries (%llu, %llu)", (unsigned long long)ve, (unsigned long long)vh,
            (unsigned long long)nvar_entries, (unsigned long long)nvar_hashes);
        goto out;
    }
    check_counts(&v);
    if (!v.st)
        v.st = idx_gov_verify(idx, v.txn, err, errlen);
out:
    if (v.slots_open)
        idx_slots_close(&v.slots);
    blk_iter_close(&eit);
    blk_map_free(&em);
    blk_map_free(&v.km);
    if (dc)
        mdb_cursor_close(dc);
    if (xc)
        mdb_cursor_close(xc);
    mdb_txn_abort(v.txn);
    idx_base_mem_free(&copies);
    for (size_t i = 0; i < v.gcap; i++)
        free(v.g[i].key);
    free(v.g);
    idx_names_free(&v.names);
    free(seen);
    phm_vpdq_clear(&vid.v);
    free(vid.hashes);
    return v.st;
}
