/* index_upgrade.c - phm_index_upgrade: converts an index of formats 2 to 5
 * (docs/INDEX_FORMAT.md, "Compatibility") into this build's format. The
 * old file is read here with an LMDB environment of its own (read-only,
 * no lock), by the old layouts (format 5's hashes from its search
 * structures, by plain reads of its own: "format 5" below); the new file
 * is written only through the index's own calls (phm_index_add,
 * phm_index_source_set) and internal hooks for what the public calls
 * cannot carry over (governance rows as they are, meta next_content_id
 * and created) or do otherwise (idx_txn_flush: entries numbered in the
 * order added), so it is in whatever layout this build writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index_internal.h"

static const char *const WHAT = "cannot upgrade index";

/* Entries per write transaction: from MIN, doubling with the entries
 * written, up to MAX (what a transaction buffers is bounded by it). Each
 * commit that grows the delta beyond its limit rebuilds the search
 * structures, so fewer, larger transactions are faster: 1 M entries in one
 * took 4.6 s, in batches from 100,000 6.7-8.5 s (and a file 1.7 times as
 * large, of freed pages). */
#define UPG_BATCH_MIN 1000000u
#define UPG_BATCH_MAX 4000000u
#define UPG_PROGRESS_EVERY 16384u
/* The LMDB meta page's magic number, after the 16-byte page header. */
#define UPG_LMDB_MAGIC 0xBEEFC0DEu

/* What is counted in the old file and must be found in the new one. */
typedef struct upg_counts {
    uint64_t entries, videos, frames, variant_entries, variant_hashes, digests;
    uint64_t sources, disabled, quarantined;
} upg_counts;

/* Format 5's layout (docs/INDEX_FORMAT.md of commit 0cca3ca, the last
 * build that wrote it), read here as plain bytes so the upgrade does not
 * depend on this build's search structures. */
#define V5_FORMAT 5
#define V5_SIG_PDQ 1         /* the signal byte of `search` and `delta` keys */
#define V5_BLOB_HASHES 'H'   /* `search` key 1 'H' k 0: segment k of the hashes */
#define V5_BLOB_EIDS 'E'     /* `search` key 1 'E' 0 0: n entry numbers, u32 */
#define V5_HSEG_MAX 255      /* 'H' segments at most */
#define V5_OVERFLOW_HDR 16   /* a segment's zero pad: page size minus this */
#define V5_BASE_HEADER 40    /* meta 'base': u32 version 1, u32 tables, u64 n, */
#define V5_BASE_VERSION 1    /* u64 base id, u64 eid bound, i64 built */
#define V5_NAME_BY_NUM 2     /* `names` key 2, number u32 BE -> the name */
#define V5_NAME_MAX 128
#define V5_MAX_SLOTS (1 + PHM_INDEX_MAX_VARIANTS)

/* Format 5's base, as read from the old file's map (u32 entry numbers
 * read with memcpy: a small 'E' may sit unaligned in its page). */
typedef struct v5_base {
    uint64_t n, eid_bound;
    const uint8_t *eids;
    const uint8_t *seg[V5_HSEG_MAX];
    size_t segn[V5_HSEG_MAX], nseg;
    size_t pos;               /* the walk's next slot */
    size_t cur, cur_first;    /* the segment holding it, and its first slot */
    uint64_t last;            /* the entry number of the slot before pos */
} v5_base;

/* The old file, open read-only. */
typedef struct old_index {
    const char *path;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, entries, frames, digests, gov[3]; /* sources, disabled, quarantine */
    int has_gov[3];
    uint32_t format;
    uint64_t txnid;
    uint64_t next_content_id; /* 0: none stored */
    int64_t created;
    int has_created;
    /* format 5 */
    MDB_dbi names, search, delta;
    char **name;              /* name[number], malloc'd; NULL: no such number */
    size_t nname;
    v5_base base;
    MDB_cursor *dcur;         /* on `delta` */
} old_index;

static const char *const gov_names[3] = { "sources", "disabled", "quarantine" };

/* The pid of another process that holds `path`-lock (LMDB takes a shared
 * lock on its first byte for as long as it has the file open), or 0. Only
 * called while this process holds no lock on that file: closing the
 * descriptor would drop them. */
static long lock_holder(const char *path)
{
    size_t n = strlen(path);
    char *lp = malloc(n + 6);
    if (!lp)
        return 0;
    memcpy(lp, path, n);
    memcpy(lp + n, "-lock", 6);
    int fd = open(lp, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        fd = open(lp, O_RDONLY | O_CLOEXEC);
    free(lp);
    if (fd < 0)
        return 0;
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    long pid = 0;
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
        pid = fl.l_pid > 0 ? (long)fl.l_pid : -1;
    close(fd);
    return pid;
}

static int mdb_fail(int rc, const char *path, const char *during, char *err, size_t errlen)
{
    if (rc == ENOENT) {
        idx_err(err, errlen, WHAT, path, "no such file");
        return PHM_ERR_NOT_FOUND;
    }
    if (rc == EACCES || rc == EPERM) {
        idx_err(err, errlen, WHAT, path, "%s", strerror(rc));
        return PHM_ERR_UNREADABLE;
    }
    if (rc == ENOMEM) {
        idx_err(err, errlen, WHAT, path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    idx_err(err, errlen, WHAT, path, "%s%s%s", mdb_strerror(rc), during ? " while " : "",
            during ? during : "");
    return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ? PHM_ERR_CORRUPT : PHM_ERR_INDEX;
}

/* What is at o->path before LMDB maps it: a regular, non-empty file with
 * LMDB's magic number. */
static int old_precheck(const old_index *o, struct stat *st, char *err, size_t errlen)
{
    if (stat(o->path, st) != 0) {
        int e = errno;
        idx_err(err, errlen, WHAT, o->path, "%s", e == ENOENT ? "no such file" : strerror(e));
        return e == ENOENT ? PHM_ERR_NOT_FOUND : PHM_ERR_UNREADABLE;
    }
    if (S_ISDIR(st->st_mode)) {
        idx_err(err, errlen, WHAT, o->path, "is a directory");
        return PHM_ERR_IS_DIR;
    }
    if (!S_ISREG(st->st_mode) || st->st_size == 0) {
        idx_err(err, errlen, WHAT, o->path, "not a phmatch index (%s)",
                S_ISREG(st->st_mode) ? "empty file" : "not a regular file");
        return PHM_ERR_INDEX;
    }
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        idx_err(err, errlen, WHAT, o->path, "%s", strerror(errno));
        return PHM_ERR_UNREADABLE;
    }
    uint8_t page[20];
    ssize_t got = pread(fd, page, sizeof page, 0);
    close(fd);
    uint32_t magic = 0;
    if (got == (ssize_t)sizeof page)
        memcpy(&magic, page + 16, sizeof magic);
    if (magic != UPG_LMDB_MAGIC) {
        idx_err(err, errlen, WHAT, o->path, "not a phmatch index (not an LMDB file)");
        return PHM_ERR_INDEX;
    }
    return PHM_OK;
}

static int meta_get(const old_index *o, const char *key, MDB_val *v)
{
    MDB_val k = { strlen(key), (void *)(uintptr_t)key };
    return mdb_get(o->txn, o->meta, &k, v);
}

static void old_close(old_index *o)
{
    if (o->dcur)
        mdb_cursor_close(o->dcur);
    o->dcur = NULL;
    for (size_t i = 0; o->name && i < o->nname; i++)
        free(o->name[i]);
    free(o->name);
    o->name = NULL;
    o->nname = 0;
    if (o->txn)
        mdb_txn_abort(o->txn);
    if (o->env)
        mdb_env_close(o->env);
    o->txn = NULL;
    o->env = NULL;
}

/* ---- format 5: names and the hashes of the search structures ------ */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int v5_corrupt(const old_index *o, const char *what, char *err, size_t errlen)
{
    idx_err(err, errlen, WHAT, o->path, "index file is corrupt: %s", what);
    return PHM_ERR_CORRUPT;
}

/* The number -> name rows of `names` into o->name. Numbers are handed out
 * from 1 without gaps and never reused, so none exceeds the table's rows
 * (which bound the array). */
static int v5_names(old_index *o, char *err, size_t errlen)
{
    MDB_stat ns;
    int rc = mdb_stat(o->txn, o->names, &ns);
    if (rc)
        return mdb_fail(rc, o->path, "reading the names", err, errlen);
    o->nname = ns.ms_entries + 1;
    o->name = calloc(o->nname, sizeof *o->name);
    if (!o->name) {
        o->nname = 0;
        idx_err(err, errlen, WHAT, o->path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(o->txn, o->names, &c)))
        return mdb_fail(rc, o->path, "reading the names", err, errlen);
    uint8_t first = V5_NAME_BY_NUM;
    MDB_val k = { 1, &first }, v;
    int st = PHM_OK;
    for (int op = MDB_SET_RANGE; !st && (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
         op = MDB_NEXT) {
        const uint8_t *p = k.mv_data;
        uint32_t num = k.mv_size == 5 ? be32(p + 1) : 0;
        if (k.mv_size != 5 || p[0] != V5_NAME_BY_NUM || num == 0 || num >= o->nname ||
            o->name[num] || v.mv_size == 0 || v.mv_size > V5_NAME_MAX ||
            memchr(v.mv_data, 0, v.mv_size)) {
            st = v5_corrupt(o, "a 'names' row is malformed", err, errlen);
            break;
        }
        if (!(o->name[num] = malloc(v.mv_size + 1))) {
            idx_err(err, errlen, WHAT, o->path, "out of memory");
            st = PHM_ERR_NOMEM;
            break;
        }
        memcpy(o->name[num], v.mv_data, v.mv_size);
        o->name[num][v.mv_size] = '\0';
    }
    mdb_cursor_close(c);
    if (!st && rc != MDB_NOTFOUND)
        st = mdb_fail(rc, o->path, "reading the names", err, errlen);
    return st;
}

static int v5_blob(const old_index *o, int kind, unsigned k, MDB_val *v)
{
    uint8_t key[4] = { V5_SIG_PDQ, (uint8_t)kind, (uint8_t)k, 0 };
    MDB_val kv = { 4, key };
    return mdb_get(o->txn, o->search, &kv, v);
}

/* The base: meta 'base', the 'E' blob, the 'H' segments (each a zero pad
 * of page size - 16 bytes, then its hashes; all but the last a whole
 * number of pages of them), checked as format 5's reader did. */
static int v5_base_open(old_index *o, char *err, size_t errlen)
{
    v5_base *b = &o->base;
    MDB_val v;
    int rc = meta_get(o, "base", &v);
    if (rc == MDB_NOTFOUND)
        return v5_corrupt(o, "meta 'base' is missing", err, errlen);
    if (rc)
        return mdb_fail(rc, o->path, "reading the base", err, errlen);
    uint8_t h[V5_BASE_HEADER];
    uint32_t version, tables;
    if (v.mv_size != sizeof h)
        return v5_corrupt(o, "meta 'base' has the wrong size", err, errlen);
    memcpy(h, v.mv_data, sizeof h);
    memcpy(&version, h, 4);
    memcpy(&tables, h + 4, 4);
    memcpy(&b->n, h + 8, 8);
    memcpy(&b->eid_bound, h + 24, 8);
    if (version != V5_BASE_VERSION || (tables != 0 && tables != 16) || b->n > UINT32_MAX)
        return v5_corrupt(o, "meta 'base' is malformed", err, errlen);
    if (b->n == 0)
        return PHM_OK;
    if ((rc = v5_blob(o, V5_BLOB_EIDS, 0, &v)) && rc != MDB_NOTFOUND)
        return mdb_fail(rc, o->path, "reading the base", err, errlen);
    if (rc || v.mv_size != b->n * 4)
        return v5_corrupt(o, "the base's entry numbers are missing or have the wrong size",
                          err, errlen);
    b->eids = v.mv_data;
    MDB_stat es;
    if ((rc = mdb_env_stat(o->env, &es)))
        return mdb_fail(rc, o->path, NULL, err, errlen);
    size_t pad = es.ms_psize - V5_OVERFLOW_HDR, got = 0;
    while (got < b->n) {
        if (b->nseg == V5_HSEG_MAX)
            return v5_corrupt(o, "the base's hashes are too many segments", err, errlen);
        if ((rc = v5_blob(o, V5_BLOB_HASHES, (unsigned)b->nseg, &v)) && rc != MDB_NOTFOUND)
            return mdb_fail(rc, o->path, "reading the base", err, errlen);
        const uint8_t *p = v.mv_data;
        size_t cnt = !rc && v.mv_size > pad ? (v.mv_size - pad) / sizeof(phm_pdq) : 0;
        int bad = rc || cnt == 0 || (v.mv_size - pad) % sizeof(phm_pdq) ||
                  cnt > b->n - got || (cnt < b->n - got && (cnt * sizeof(phm_pdq)) % es.ms_psize);
        for (size_t i = 0; !bad && i < pad; i++)
            bad = p[i] != 0;
        if (bad)
            return v5_corrupt(o, "a segment of the base's hashes is missing or malformed",
                              err, errlen);
        b->seg[b->nseg] = p + pad;
        b->segn[b->nseg++] = cnt;
        got += cnt;
    }
    return PHM_OK;
}

/* Opens format 5's tables, and reads its names and base header. */
static int v5_open(old_index *o, char *err, size_t errlen)
{
    if (!o->has_created)
        return v5_corrupt(o, "meta 'created' is missing", err, errlen);
    const struct {
        const char *name;
        MDB_dbi *dbi;
    } t[] = { { "names", &o->names }, { "search", &o->search }, { "delta", &o->delta } };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int rc = mdb_dbi_open(o->txn, t[i].name, 0, t[i].dbi);
        if (rc) {
            idx_err(err, errlen, WHAT, o->path, "index file is corrupt: table '%s': %s",
                    t[i].name, mdb_strerror(rc));
            return PHM_ERR_CORRUPT;
        }
    }
    int st = v5_names(o, err, errlen);
    return st ? st : v5_base_open(o, err, errlen);
}

static uint64_t v5_eid_at(const v5_base *b, size_t i)
{
    uint32_t e;
    memcpy(&e, b->eids + 4 * i, sizeof e);
    return e;
}

/* The base slots of `eid`, for a walk in ascending entry numbers: slots
 * of lower numbers (removed entries, listed in `dead`, and videos, whose
 * hashes their frames record holds) are passed over. 0 or
 * MDB_CORRUPTED. */
static int v5_base_slots(v5_base *b, uint64_t eid, phm_pdq *out, size_t max, size_t *n)
{
    *n = 0;
    for (; b->pos < b->n; b->pos++) {
        uint64_t e = v5_eid_at(b, b->pos);
        if (e < b->last)
            return MDB_CORRUPTED; /* not ascending */
        b->last = e;
        if (e > eid)
            break;
        while (b->pos - b->cur_first >= b->segn[b->cur])
            b->cur_first += b->segn[b->cur++];
        if (e == eid) {
            if (*n == max)
                return MDB_CORRUPTED;
            memcpy(&out[(*n)++], b->seg[b->cur] + (b->pos - b->cur_first) * sizeof(phm_pdq),
                   sizeof(phm_pdq));
        }
    }
    return 0;
}

/* The delta's hashes of `eid`: keys signal, eid big-endian, [hash number
 * u32 big-endian, 0..], a 32-byte hash each. 0, MDB_CORRUPTED or an LMDB
 * code. */
static int v5_delta_slots(old_index *o, uint64_t eid, phm_pdq *out, size_t max, size_t *n)
{
    *n = 0;
    int rc = 0;
    if (!o->dcur && (rc = mdb_cursor_open(o->txn, o->delta, &o->dcur)))
        return rc;
    uint8_t key[9];
    key[0] = V5_SIG_PDQ;
    for (int i = 0; i < 8; i++)
        key[1 + i] = (uint8_t)(eid >> (56 - 8 * i));
    MDB_val k = { sizeof key, key }, v;
    for (int op = MDB_SET_RANGE; (rc = mdb_cursor_get(o->dcur, &k, &v, op)) == 0;
         op = MDB_NEXT) {
        const uint8_t *p = k.mv_data;
        if (k.mv_size < 9 || memcmp(p, key, 9) != 0)
            break;
        if (*n == max || v.mv_size != sizeof(phm_pdq) ||
            (k.mv_size != 9 && (k.mv_size != 13 || be32(p + 9) != *n)) ||
            (k.mv_size == 9 && *n != 0))
            return MDB_CORRUPTED;
        memcpy(&out[(*n)++], v.mv_data, sizeof(phm_pdq));
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Decodes format 5's record of `eid` into e (x keeps a numeric id's
 * text): its names from o->name, `added` from meta 'created', an image's
 * hashes (its own, then its variants') from the base below the eid bound,
 * else from the delta. PHM_OK or PHM_ERR_CORRUPT with u->msg set. */
static int v5_entry(old_index *o, uint64_t eid, const MDB_val *v, rec_extra *x, phm_entry *e,
                    char *msg, size_t msglen)
{
    if (rec_decode(v->mv_data, v->mv_size, NULL, x, e)) {
        snprintf(msg, msglen, "entry %llu: the record does not decode",
                 (unsigned long long)eid);
        return PHM_ERR_CORRUPT;
    }
    if (x->source >= o->nname || !o->name[x->source] ||
        (x->category && (x->category >= o->nname || !o->name[x->category]))) {
        snprintf(msg, msglen, "entry %llu: its source or category number has no name",
                 (unsigned long long)eid);
        return PHM_ERR_CORRUPT;
    }
    e->source = o->name[x->source];
    e->category = x->category ? o->name[x->category] : "";
    e->added = (int64_t)((uint64_t)e->added + (uint64_t)o->created);
    if (!(e->signals & PHM_SIG_PDQ))
        return PHM_OK;
    phm_pdq h[V5_MAX_SLOTS];
    size_t want = 1 + e->nvariants, n = 0;
    int rc = eid < o->base.eid_bound ? v5_base_slots(&o->base, eid, h, want, &n)
                                     : v5_delta_slots(o, eid, h, want, &n);
    if (rc || n != want) {
        snprintf(msg, msglen, "entry %llu (%s:%s): %s", (unsigned long long)eid, e->source,
                 e->id, rc && rc != MDB_CORRUPTED ? mdb_strerror(rc)
                        : "its hashes in the search structures are missing or too many");
        return rc && rc != MDB_CORRUPTED ? PHM_ERR_INDEX : PHM_ERR_CORRUPT;
    }
    rec_set_hashes(e, h, n);
    return PHM_OK;
}

/* Opens the old file and reads its metadata. Returns PHM_OK, 1 when the
 * file is already of this build's format, or an error. */
static int old_open(old_index *o, char *err, size_t errlen)
{
    struct stat st;
    int s = old_precheck(o, &st, err, errlen);
    if (s)
        return s;
    int rc = mdb_env_create(&o->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(o->env, IDX_MAXDBS);
    if (!rc)
        rc = mdb_env_set_mapsize(o->env, IDX_DEFAULT_MAPSIZE);
    if (!rc)
        rc = mdb_env_open(o->env, o->path,
                          MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0600);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
        idx_err(err, errlen, WHAT, o->path, "not a phmatch index (%s)", mdb_strerror(rc));
        return PHM_ERR_INDEX;
    }
    if (rc)
        return mdb_fail(rc, o->path, NULL, err, errlen);
    MDB_envinfo info;
    MDB_stat ms;
    if ((rc = mdb_env_info(o->env, &info)) || (rc = mdb_env_stat(o->env, &ms)))
        return mdb_fail(rc, o->path, NULL, err, errlen);
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    if ((uint64_t)st.st_size < need) {
        idx_err(err, errlen, WHAT, o->path,
                "index file is truncated (%lld bytes; its pages need %llu)",
                (long long)st.st_size, (unsigned long long)need);
        return PHM_ERR_INDEX;
    }
    o->txnid = (uint64_t)info.me_last_txnid;
    if ((rc = mdb_txn_begin(o->env, NULL, MDB_RDONLY, &o->txn)))
        return mdb_fail(rc, o->path, NULL, err, errlen);
    MDB_val v;
    if (mdb_dbi_open(o->txn, "meta", 0, &o->meta) || meta_get(o, "magic", &v) ||
        v.mv_size != sizeof IDX_MAGIC - 1 || memcmp(v.mv_data, IDX_MAGIC, v.mv_size)) {
        idx_err(err, errlen, WHAT, o->path,
                "not a phmatch index (an LMDB file of another program)");
        return PHM_ERR_INDEX;
    }
    uint32_t order = 0;
    if (meta_get(o, "format", &v) == 0 && v.mv_size == 4)
        memcpy(&o->format, v.mv_data, 4);
    if (meta_get(o, "byte_order", &v) == 0 && v.mv_size == 4)
        memcpy(&order, v.mv_data, 4);
    if (o->format == PHM_INDEX_FORMAT_VERSION)
        return 1;
    if (o->format < PHM_INDEX_FORMAT_UPGRADE_MIN || o->format >= PHM_INDEX_FORMAT_MIN_VERSION) {
        idx_err(err, errlen, WHAT, o->path,
                "index format version %u cannot be upgraded (this build converts "
                "versions %d to %d into version %d)%s", o->format,
                PHM_INDEX_FORMAT_UPGRADE_MIN, PHM_INDEX_FORMAT_MIN_VERSION - 1,
                PHM_INDEX_FORMAT_VERSION,
                o->format > PHM_INDEX_FORMAT_VERSION ? "; upgrade phmatch" : "");
        return PHM_ERR_INDEX_VERSION;
    }
    if (order != IDX_BYTE_ORDER) {
        idx_err(err, errlen, WHAT, o->path,
                "index was written on a machine of another byte order");
        return PHM_ERR_INDEX_VERSION;
    }
    const struct {
        const char *name;
        unsigned flags;
        MDB_dbi *dbi;
    } t[] = {
        { "entries", MDB_INTEGERKEY, &o->entries },
        { "frames", MDB_INTEGERKEY, &o->frames },
        { "digests", MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP, &o->digests },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if ((rc = mdb_dbi_open(o->txn, t[i].name, t[i].flags, t[i].dbi))) {
            idx_err(err, errlen, WHAT, o->path, "index file is corrupt: table '%s': %s",
                    t[i].name, mdb_strerror(rc));
            return PHM_ERR_CORRUPT;
        }
    }
    for (int i = 0; i < 3; i++) {
        rc = mdb_dbi_open(o->txn, gov_names[i], 0, &o->gov[i]);
        if (rc && rc != MDB_NOTFOUND) {
            idx_err(err, errlen, WHAT, o->path, "index file is corrupt: table '%s': %s",
                    gov_names[i], mdb_strerror(rc));
            return PHM_ERR_CORRUPT;
        }
        o->has_gov[i] = rc == 0;
    }
    if (meta_get(o, "next_content_id", &v) == 0 && v.mv_size == 8)
        memcpy(&o->next_content_id, v.mv_data, 8);
    if (meta_get(o, "created", &v) == 0 && v.mv_size == 8) {
        memcpy(&o->created, v.mv_data, 8);
        o->has_created = 1;
    }
    if (o->format == V5_FORMAT)
        return v5_open(o, err, errlen);
    return PHM_OK;
}

/* The state of one upgrade. */
typedef struct upgrade {
    old_index old;
    phm_index *idx;
    phm_index_txn *txn;
    upg_counts want;
    uint64_t total, done;
    phm_upgrade_progress_fn progress;
    void *ctx;
    char msg[PHM_ERRMSG_MAX];
} upgrade;

/* Commits u->txn, checking that each of its `n` adds was a new entry
 * (the counts are final only at the commit: adds are buffered). */
static int batch_commit(upgrade *u, uint64_t n)
{
    phm_index_counts c;
    phm_index_txn *t = u->txn;
    u->txn = NULL;
    int st = phm_index_txn_commit(t, &c, u->msg, sizeof u->msg);
    if (!st && c.added != n) {
        snprintf(u->msg, sizeof u->msg, "%llu of %llu entries were not new (a repeated "
                 "source and id): the old file is corrupt",
                 (unsigned long long)(n - c.added), (unsigned long long)n);
        st = PHM_ERR_CORRUPT;
    }
    return st;
}

/* Copies every entry, in entry-number order. */
static int copy_entries(upgrade *u)
{
    old_index *o = &u->old;
    MDB_cursor *c;
    int rc = mdb_cursor_open(o->txn, o->entries, &c);
    if (rc) {
        snprintf(u->msg, sizeof u->msg, "%s", mdb_strerror(rc));
        return PHM_ERR_INDEX;
    }
    /* Formats 2 to 5 share the frames record (version 1): vid_decode
     * reads the old ones too. */
    phm_vpdq frames;
    phm_vpdq_init(&frames);
    uint64_t batch = UPG_BATCH_MIN, in_batch = 0;
    int st = PHM_OK;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && !st;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t eid = 0;
        if (k.mv_size == 8)
            memcpy(&eid, k.mv_data, 8);
        phm_entry e;
        rec_extra x;
        if (k.mv_size == 8 && o->format == V5_FORMAT) {
            if ((st = v5_entry(o, eid, &v, &x, &e, u->msg, sizeof u->msg)))
                break;
        } else if (k.mv_size != 8 || rec_decode_legacy(v.mv_data, v.mv_size, &e)) {
            snprintf(u->msg, sizeof u->msg, "entry %llu: the record does not decode",
                     (unsigned long long)eid);
            st = PHM_ERR_CORRUPT;
            break;
        }
        if (e.signals & PHM_SIG_VPDQ) {
            MDB_val fv;
            int frc = mdb_get(o->txn, o->frames, &k, &fv);
            st = frc ? PHM_ERR_CORRUPT : vid_decode(fv.mv_data, fv.mv_size, &frames);
            if (!st && frames.count != e.nframes)
                st = PHM_ERR_CORRUPT;
            if (st) {
                snprintf(u->msg, sizeof u->msg, "entry %llu (%s:%s): %s",
                         (unsigned long long)eid, e.source, e.id,
                         st == PHM_ERR_NOMEM ? "out of memory"
                                             : "its frames record is missing or corrupt");
                break;
            }
            e.frames = frames.frames;
            u->want.videos++;
            u->want.frames += e.nframes;
        }
        if (e.nvariants) {
            u->want.variant_entries++;
            u->want.variant_hashes += e.nvariants;
        }
        if (!u->txn && (st = phm_index_txn_begin(u->idx, &u->txn, u->msg, sizeof u->msg)))
            break;
        /* each entry numbered as soon as added: the old file's order */
        if ((st = phm_index_add(u->txn, &e, u->msg, sizeof u->msg)) ||
            (st = idx_txn_flush(u->txn, u->msg, sizeof u->msg)))
            break;
        u->want.entries++;
        in_batch++;
        u->done++;
        if (in_batch >= batch) {
            if ((st = batch_commit(u, in_batch)))
                break;
            in_batch = 0;
            batch = u->done < UPG_BATCH_MIN ? UPG_BATCH_MIN
                  : u->done > UPG_BATCH_MAX ? UPG_BATCH_MAX : u->done;
        }
        if (u->progress && u->done % UPG_PROGRESS_EVERY == 0)
            u->progress(u->ctx, u->done, u->total);
    }
    mdb_cursor_close(c);
    phm_vpdq_clear(&frames);
    if (!st && rc != MDB_NOTFOUND) {
        snprintf(u->msg, sizeof u->msg, "%s while reading the entries", mdb_strerror(rc));
        st = rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ? PHM_ERR_CORRUPT : PHM_ERR_INDEX;
    }
    if (!st && u->txn)
        st = batch_commit(u, in_batch);
    return st;
}

/* Writes the disabled and quarantine rows as they are, and the meta
 * values the public calls do not carry, in one transaction. */
static int copy_rows(upgrade *u)
{
    old_index *o = &u->old;
    int st = phm_index_txn_begin(u->idx, &u->txn, u->msg, sizeof u->msg);
    if (st)
        return st;
    phm_index *idx;
    MDB_txn *txn = idx_txn_mdb(u->txn, &idx);
    int rc = txn ? 0 : EINVAL;
    for (int q = 0; q < 2 && !rc; q++) {
        if (!o->has_gov[1 + q])
            continue;
        MDB_cursor *c;
        if ((rc = mdb_cursor_open(o->txn, o->gov[1 + q], &c)))
            break;
        MDB_val k, v;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            char key[KEY_MAX + 1];
            const char *nul = k.mv_size <= KEY_MAX ? memchr(k.mv_data, 0, k.mv_size) : NULL;
            if (!nul || v.mv_size != GOV_STATE_BYTES) {
                rc = MDB_CORRUPTED;
                break;
            }
            memcpy(key, k.mv_data, k.mv_size);
            key[k.mv_size] = '\0';
            const uint8_t *p = v.mv_data;
            rc = idx_gov_state_put(idx, txn, q, key, key + (nul - (const char *)k.mv_data) + 1,
                                   idx_u64_le(p), idx_u64_le(p + 8));
            if (rc == EINVAL)
                rc = MDB_CORRUPTED;
            if (rc)
                break;
            if (q)
                u->want.quarantined++;
            else
                u->want.disabled++;
        }
        mdb_cursor_close(c);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    if (!rc && o->next_content_id)
        rc = idx_meta_put_u64(idx, txn, "next_content_id", o->next_content_id);
    if (rc) {
        phm_index_txn_abort(u->txn);
        u->txn = NULL;
        snprintf(u->msg, sizeof u->msg, "%s while copying the governance rows",
                 mdb_strerror(rc));
        return rc == MDB_CORRUPTED ? PHM_ERR_CORRUPT : PHM_ERR_INDEX;
    }
    return batch_commit(u, 0);
}

/* Gives the new file the old one's creation time, before any entry is
 * added: records store `added` relative to it, so changing it afterwards
 * would move every entry's time. */
static int copy_created(upgrade *u)
{
    old_index *o = &u->old;
    if (!o->has_created)
        return PHM_OK;
    int st = phm_index_txn_begin(u->idx, &u->txn, u->msg, sizeof u->msg);
    if (st)
        return st;
    phm_index *idx;
    MDB_txn *txn = idx_txn_mdb(u->txn, &idx);
    MDB_val k = { 7, "created" }, v = { sizeof o->created, &o->created };
    int rc = txn ? mdb_put(txn, idx->db_meta, &k, &v, 0) : EINVAL;
    if (rc) {
        phm_index_txn_abort(u->txn);
        u->txn = NULL;
        snprintf(u->msg, sizeof u->msg, "%s while writing the creation time",
                 mdb_strerror(rc));
        return PHM_ERR_INDEX;
    }
    return batch_commit(u, 0);
}

/* Copies the source settings (one durable write each). */
static int copy_sources(upgrade *u)
{
    old_index *o = &u->old;
    if (!o->has_gov[0])
        return PHM_OK;
    MDB_cursor *c;
    int rc = mdb_cursor_open(o->txn, o->gov[0], &c);
    if (rc) {
        snprintf(u->msg, sizeof u->msg, "%s", mdb_strerror(rc));
        return PHM_ERR_INDEX;
    }
    phm_source_settings *s = malloc(sizeof *s);
    int st = s ? PHM_OK : PHM_ERR_NOMEM;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && !st;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        char name[PHM_INDEX_MAX_SOURCE + 1];
        if (k.mv_size == 0 || k.mv_size > PHM_INDEX_MAX_SOURCE ||
            gov_source_decode_legacy(v.mv_data, v.mv_size, s)) {
            st = PHM_ERR_CORRUPT;
            snprintf(u->msg, sizeof u->msg, "a 'sources' record does not decode");
            break;
        }
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        if ((st = phm_index_source_set(u->idx, name, s, u->msg, sizeof u->msg)))
            break;
        u->want.sources++;
    }
    mdb_cursor_close(c);
    free(s);
    if (st == PHM_ERR_NOMEM && !u->msg[0])
        snprintf(u->msg, sizeof u->msg, "out of memory");
    if (!st && rc != MDB_NOTFOUND) {
        snprintf(u->msg, sizeof u->msg, "%s while reading the sources", mdb_strerror(rc));
        st = PHM_ERR_INDEX;
    }
    return st;
}

static int count_row(void *ctx, const char *source, const char *id, int64_t a, int64_t b)
{
    (void)source, (void)id, (void)a, (void)b;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* Verifies the new file and compares its counts with the old file's. */
static int check_new(upgrade *u)
{
    int st = phm_index_verify(u->idx, u->msg, sizeof u->msg);
    if (st)
        return st;
    phm_index_stats ns;
    phm_governance_counts gc;
    uint64_t disabled = 0;
    if ((st = phm_index_get_stats(u->idx, &ns, u->msg, sizeof u->msg)) ||
        (st = phm_index_governance_counts(u->idx, 0, &gc, u->msg, sizeof u->msg)) ||
        (st = phm_index_disabled_foreach(u->idx, count_row, &disabled, u->msg,
                                         sizeof u->msg)))
        return st;
    MDB_stat ds;
    int rc = mdb_stat(u->old.txn, u->old.digests, &ds);
    if (rc) {
        snprintf(u->msg, sizeof u->msg, "%s", mdb_strerror(rc));
        return PHM_ERR_INDEX;
    }
    u->want.digests = ds.ms_entries;
    const struct {
        const char *what;
        uint64_t old, now;
    } cmp[] = {
        { "entries", u->total, ns.entries },
        { "entries copied", u->want.entries, ns.entries },
        { "video entries", u->want.videos, ns.video_entries },
        { "video frames", u->want.frames, ns.video_frames },
        { "entries with variants", u->want.variant_entries, ns.variant_entries },
        { "variant hashes", u->want.variant_hashes, ns.variant_hashes },
        { "digest links", u->want.digests, ns.digests },
        { "source settings", u->want.sources, gc.sources_set },
        { "disabled rows", u->want.disabled, disabled },
        { "quarantine rows", u->want.quarantined, gc.quarantined },
    };
    for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++) {
        if (cmp[i].old != cmp[i].now) {
            snprintf(u->msg, sizeof u->msg, "the new file has %llu %s, the old one %llu",
                     (unsigned long long)cmp[i].now, cmp[i].what,
                     (unsigned long long)cmp[i].old);
            return PHM_ERR_CORRUPT;
        }
    }
    return PHM_OK;
}

static int sync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

/* The directory of `path` ("." for a bare name), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

static void remove_with_lock(const char *path)
{
    size_t n = strlen(path);
    char *lp = malloc(n + 6);
    unlink(path);
    if (lp) {
        memcpy(lp, path, n);
        memcpy(lp + n, "-lock", 6);
        unlink(lp);
        free(lp);
    }
}

/* Checks that no other process has the old file open. */
static int check_unused(const char *path, char *err, size_t errlen)
{
    long pid = lock_holder(path);
    if (!pid)
        return PHM_OK;
    if (pid > 0)
        idx_err(err, errlen, WHAT, path, "the index is in use by process %ld; stop it "
                "(phmatchd, phmatch) and try again", pid);
    else
        idx_err(err, errlen, WHAT, path, "the index is in use by another process; stop "
                "it and try again");
    return PHM_ERR_INDEX;
}

/* The upgrade proper, once the old file is open and the new one created. */
static int run(upgrade *u, const char *tmp)
{
    MDB_stat es;
    int rc = mdb_stat(u->old.txn, u->old.entries, &es);
    if (rc) {
        snprintf(u->msg, sizeof u->msg, "%s", mdb_strerror(rc));
        return PHM_ERR_INDEX;
    }
    u->total = es.ms_entries;
    int st = phm_index_open(&u->idx, tmp, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, u->msg,
                            sizeof u->msg);
    if (!st)
        st = copy_created(u);
    if (!st)
        st = copy_entries(u);
    if (!st)
        st = copy_rows(u);
    if (!st)
        st = copy_sources(u);
    if (!st)
        st = check_new(u);
    if (u->txn)
        phm_index_txn_abort(u->txn);
    u->txn = NULL;
    /* The batches' rebuilds leave freed pages behind (a 10 M-entry file
     * came out 1.7 times its size): the file renamed into place is a
     * compacted copy of the one written, taken by the snapshot code. */
    size_t tlen = strlen(tmp);
    char *packed = st ? NULL : malloc(tlen + sizeof ".packed");
    if (!st && !packed) {
        snprintf(u->msg, sizeof u->msg, "out of memory");
        st = PHM_ERR_NOMEM;
    }
    if (!st) {
        memcpy(packed, tmp, tlen);
        memcpy(packed + tlen, ".packed", sizeof ".packed");
        st = phm_index_snapshot(u->idx, packed, NULL, u->msg, sizeof u->msg);
        if (st)
            unlink(packed); /* renamed into place before a failed directory sync */
    }
    phm_index_close(u->idx);
    u->idx = NULL;
    if (!st && rename(packed, tmp) != 0) {
        snprintf(u->msg, sizeof u->msg, "cannot rename '%s' to '%s': %s", packed, tmp,
                 strerror(errno));
        unlink(packed);
        st = PHM_ERR_UNREADABLE;
    }
    free(packed);
    if (!st && sync_path(tmp, 0) != 0) {
        snprintf(u->msg, sizeof u->msg, "cannot sync '%s': %s", tmp, strerror(errno));
        st = PHM_ERR_UNREADABLE;
    }
    if (!st && u->progress)
        u->progress(u->ctx, u->done, u->total);
    return st;
}

int phm_index_upgrade(const char *path, const char *backup, phm_upgrade_progress_fn progress,
                      void *ctx, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!path || !*path || (backup && !*backup)) {
        idx_err(err, errlen, WHAT, path ? path : "", "invalid argument");
        return PHM_ERR_INVALID;
    }
    upgrade *u = calloc(1, sizeof *u);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    char *dir = dir_of(path);
    if (!u || !tmp || !dir) {
        free(u);
        free(tmp);
        free(dir);
        idx_err(err, errlen, WHAT, path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    u->old.path = path;
    u->progress = progress;
    u->ctx = ctx;
    int tmp_made = 0, backup_made = 0;
    int st = check_unused(path, err, errlen);
    if (!st)
        st = old_open(&u->old, err, errlen);
    if (st == 1) {
        if (err && errlen)
            snprintf(err, errlen, "index '%s' is already format %d: nothing to do", path,
                     PHM_INDEX_FORMAT_VERSION);
        st = PHM_OK;
        goto done;
    }
    if (st)
        goto done;
    if (backup && link(path, backup) != 0) {
        idx_err(err, errlen, WHAT, path, "cannot keep the old file as '%s': %s", backup,
                strerror(errno));
        st = PHM_ERR_UNREADABLE;
        goto done;
    }
    backup_made = backup != NULL;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".upgrade-XXXXXX", 16);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        idx_err(err, errlen, WHAT, path, "cannot create '%s': %s", tmp, strerror(errno));
        st = PHM_ERR_UNREADABLE;
        goto done;
    }
    close(fd);
    tmp_made = 1;
    if ((st = run(u, tmp))) {
        idx_err(err, errlen, WHAT, path, "%s", u->msg);
        goto done;
    }
    /* nothing may have written the old file meanwhile */
    MDB_envinfo info;
    if (mdb_env_info(u->old.env, &info) == 0 && (uint64_t)info.me_last_txnid != u->old.txnid) {
        idx_err(err, errlen, WHAT, path, "the index was written during the upgrade; "
                "stop its writers and try again");
        st = PHM_ERR_INDEX;
        goto done;
    }
    uint32_t from = u->old.format;
    old_close(&u->old);
    if ((st = check_unused(path, err, errlen)))
        goto done;
    if (rename(tmp, path) != 0) {
        idx_err(err, errlen, WHAT, path, "cannot rename '%s' over it: %s", tmp,
                strerror(errno));
        st = PHM_ERR_UNREADABLE;
        goto done;
    }
    tmp_made = 0;
    backup_made = 0;
    /* Until the directory is synced, a crash may bring the old file back
     * (or lose both names): the new file is in place, so this failure is
     * said as such, not as an upgrade that left the old file as it was. */
    if (sync_path(dir, 1) != 0) {
        int e = errno;
        remove_with_lock(tmp);
        if (err && errlen)
            snprintf(err, errlen, "index '%s' was upgraded to format %d, but its directory "
                     "'%s' cannot be synced: %s; the new file may not survive a crash "
                     "(run sync, then check it with 'phmatch index verify')",
                     path, PHM_INDEX_FORMAT_VERSION, dir, strerror(e));
        st = PHM_ERR_UNREADABLE;
        goto done;
    }
    remove_with_lock(tmp); /* the new file's lock file; tmp itself is gone */
    /* `path`-lock is kept: LMDB re-initialises a lock file that no process
     * holds at its first open, and removing it could split the locking of
     * a process that opened the new file meanwhile. */
    if (err && errlen)
        snprintf(err, errlen,
                 "upgraded '%s' from format %u to %d: %llu entries (videos: %llu, of %llu "
                 "frames; with variants: %llu), %llu digests, source settings: %llu, "
                 "disabled: %llu, quarantined: %llu",
                 path, from, PHM_INDEX_FORMAT_VERSION, (unsigned long long)u->want.entries,
                 (unsigned long long)u->want.videos, (unsigned long long)u->want.frames,
                 (unsigned long long)u->want.variant_entries,
                 (unsigned long long)u->want.digests, (unsigned long long)u->want.sources,
                 (unsigned long long)u->want.disabled,
                 (unsigned long long)u->want.quarantined);
done:
    old_close(&u->old);
    if (tmp_made)
        remove_with_lock(tmp);
    if (backup_made)
        unlink(backup);
    free(tmp);
    free(dir);
    free(u);
    return st;
}
