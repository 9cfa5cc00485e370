/* index.c - the known-material index file: opening and creating it (with
 * the checks that turn a foreign, truncated or newer file into a clear
 * error), error messages, metadata, statistics, iteration and copies.
 * Writes are in index_write.c, the search structures in index_build.c,
 * searches in index_search.c, consistency checks in index_verify.c. */
#define _GNU_SOURCE /* mremap */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "index_block.h"

/* ---- errors ------------------------------------------------------ */

void idx_err(char *err, size_t errlen, const char *what, const char *path,
             const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    int n = snprintf(err, errlen, "%s '%s': ", what, path ? path : "");
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Below this much free space (or this close to the file size limit) a
 * failed write is taken to be for want of space. */
#define IDX_SPACE_MARGIN (UINT64_C(1) << 20)

/* Why a write of file `path` (the index, or a copy of it) failed, if for
 * want of space: LMDB reports a short write (what a full disk or
 * RLIMIT_FSIZE gives) as EIO, so the file system and the limit are asked.
 * NULL if neither is exhausted. */
static const char *space_exhausted(const char *path, int rc)
{
    if (rc == ENOSPC)
        return "the disk is full (no space left on the device)";
#ifdef EDQUOT
    if (rc == EDQUOT)
        return "the disk quota is exceeded";
#endif
    if (rc != EIO && rc != EFBIG)
        return NULL;
    struct rlimit rl;
    struct stat st;
    if (path && getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
        rl.rlim_cur != RLIM_INFINITY && stat(path, &st) == 0 &&
        (uint64_t)st.st_size + IDX_SPACE_MARGIN > (uint64_t)rl.rlim_cur)
        return "the file size limit (RLIMIT_FSIZE, ulimit -f) is reached";
    if (rc == EFBIG)
        return "the file is too large for this file system";
    struct statvfs vfs;
    if (path && statvfs(path, &vfs) == 0) {
        /* root may use the reserved blocks, others may not */
        uint64_t blocks = geteuid() == 0 ? (uint64_t)vfs.f_bfree : (uint64_t)vfs.f_bavail;
        if (blocks * (uint64_t)vfs.f_frsize < IDX_SPACE_MARGIN)
            return "the disk is full (no space left on the device)";
    }
    return NULL;
}

int idx_mdb_err(int rc, char *err, size_t errlen, const char *what,
                const phm_index *idx, const char *during)
{
    return idx_txn_err(rc, NULL, err, errlen, what, idx, during);
}

int idx_txn_err(int rc, const idx_len *len, char *err, size_t errlen, const char *what,
                const phm_index *idx, const char *during)
{
    const char *path = idx ? idx->path : "";
    const char *sep = during ? " while " : "";
    const char *space = space_exhausted(idx ? idx->path : NULL, rc);
    during = during ? during : "";
    if (space) {
        idx_err(err, errlen, what, path, "%s%s%s", space, sep, during);
        return PHM_ERR_INDEX;
    }
    switch (rc) {
    case IDX_ERR_EIDS_USED:
        idx_err(err, errlen, what, path,
                "index has used 4,294,967,295 entry numbers, the most it can "
                "hold (numbers of removed entries are not reused); import its "
                "entries into a new index%s%s", sep, during);
        return PHM_ERR_INDEX;
    case IDX_ERR_TRUNCATED:
        if (len && len->pages)
            idx_err(err, errlen, what, path,
                    "index file is truncated (%llu bytes; its pages need %llu)",
                    (unsigned long long)len->have, (unsigned long long)len->need);
        else if (len)
            idx_err(err, errlen, what, path, "index file is truncated (%llu bytes; it had %llu)",
                    (unsigned long long)len->have, (unsigned long long)len->need);
        else
            idx_err(err, errlen, what, path, "index file is truncated");
        return PHM_ERR_INDEX_TRUNCATED;
    case MDB_MAP_FULL: {
        MDB_envinfo info;
        size_t map = 0;
        if (idx && mdb_env_info(idx->env, &info) == 0)
            map = info.me_mapsize;
        idx_err(err, errlen, what, path,
                "index is full: the map size is %zu bytes; reopen it with a "
                "larger map size%s%s", map, sep, during);
        return PHM_ERR_FULL;
    }
    case MDB_VERSION_MISMATCH:
        idx_err(err, errlen, what, path,
                "written by an incompatible version of LMDB");
        return PHM_ERR_INDEX_VERSION;
    case MDB_INVALID:
        idx_err(err, errlen, what, path, "not a phmatch index (not an LMDB file)");
        return PHM_ERR_INDEX;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        idx_err(err, errlen, what, path, "index file is corrupt%s%s", sep, during);
        return PHM_ERR_INDEX;
    case MDB_MAP_RESIZED:
        idx_err(err, errlen, what, path,
                "another process grew the map beyond this handle's map size; "
                "reopen the index");
        return PHM_ERR_INDEX;
    case MDB_READERS_FULL:
        idx_err(err, errlen, what, path, "too many concurrent readers (%d)",
                IDX_MAXREADERS);
        return PHM_ERR_INDEX;
    case ENOMEM:
        idx_err(err, errlen, what, path, "out of memory%s%s", sep, during);
        return PHM_ERR_NOMEM;
    case ENOENT:
        idx_err(err, errlen, what, path, "no such file");
        return PHM_ERR_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        idx_err(err, errlen, what, path, "%s", strerror(rc));
        return PHM_ERR_UNREADABLE;
    default:
        idx_err(err, errlen, what, path, "%s%s%s", mdb_strerror(rc), sep, during);
        return PHM_ERR_INDEX;
    }
}

/* ---- metadata ---------------------------------------------------- */

int idx_meta_get_u64(const phm_index *idx, MDB_txn *txn, const char *key,
                     uint64_t *out)
{
    MDB_val k = { strlen(key), (void *)(uintptr_t)key }, v;
    int rc = mdb_get(txn, idx->db_meta, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != sizeof *out)
        return MDB_CORRUPTED;
    memcpy(out, v.mv_data, sizeof *out);
    return 0;
}

int idx_meta_put_u64(const phm_index *idx, MDB_txn *txn, const char *key,
                     uint64_t val)
{
    MDB_val k = { strlen(key), (void *)(uintptr_t)key }, v = { sizeof val, &val };
    return mdb_put(txn, idx->db_meta, &k, &v, 0);
}

int idx_variants_get(const phm_index *idx, MDB_txn *txn, uint64_t *entries,
                     uint64_t *hashes)
{
    uint64_t c[2] = { 0, 0 };
    MDB_val k = { 8, "variants" }, v;
    int rc = mdb_get(txn, idx->db_meta, &k, &v);
    if (rc == 0 && v.mv_size != sizeof c)
        rc = MDB_CORRUPTED;
    if (rc == 0)
        memcpy(c, v.mv_data, sizeof c);
    *entries = c[0];
    *hashes = c[1];
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int idx_variants_update(const phm_index *idx, MDB_txn *txn, int64_t entries,
                        int64_t hashes)
{
    uint64_t c[2];
    int rc = idx_variants_get(idx, txn, &c[0], &c[1]);
    if (rc)
        return rc;
    if ((entries < 0 && c[0] < (uint64_t)-entries) ||
        (hashes < 0 && c[1] < (uint64_t)-hashes))
        return MDB_CORRUPTED;
    c[0] += (uint64_t)entries;
    c[1] += (uint64_t)hashes;
    MDB_val k = { 8, "variants" }, v = { sizeof c, c };
    return mdb_put(txn, idx->db_meta, &k, &v, 0);
}

int idx_base_header_get(const phm_index *idx, MDB_txn *txn, idx_base_header *h)
{
    MDB_val k = { 4, "base" }, v;
    int rc = mdb_get(txn, idx->db_meta, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != sizeof *h)
        return MDB_CORRUPTED;
    memcpy(h, v.mv_data, sizeof *h);
    if (h->version != IDX_BASE_VERSION ||
        (h->tables != 0 && h->tables != MIH_TABLES) || h->n > MIH_MAX_ENTRIES)
        return MDB_CORRUPTED;
    return 0;
}

typedef struct blob_want {
    int kind;
    unsigned table;
    size_t bytes, align;
    const void *got;
} blob_want;

/* Fetches blob (kind, table) of `bytes` bytes (any size if `bytes` is
 * SIZE_MAX), copying it into *copy when it is not `align`-aligned. */
static int base_blob(const phm_index *idx, MDB_txn *txn, int kind, unsigned table,
                     size_t bytes, size_t align, const void **got, MDB_val *val,
                     void **copy, char *err, size_t errlen)
{
    uint8_t key[4];
    idx_blob_key(key, kind, table);
    MDB_val k = { 4, key };
    int rc = mdb_get(txn, idx->db_search, &k, val);
    if (rc == MDB_NOTFOUND || (rc == 0 && bytes != SIZE_MAX && val->mv_size != bytes)) {
        idx_err(err, errlen, "cannot read index", idx->path,
                "search structure '%c%u' is missing or has the wrong size; "
                "run compact", kind, table);
        return PHM_ERR_CORRUPT;
    }
    if (rc)
        return idx_mdb_err(rc, err, errlen, "cannot read index", idx, NULL);
    if ((uintptr_t)val->mv_data % align) {
        /* Small values sit inside LMDB pages, 2-byte aligned. */
        void *c = malloc(val->mv_size ? val->mv_size : 1);
        if (!c) {
            idx_err(err, errlen, "cannot read index", idx->path, "out of memory");
            return PHM_ERR_NOMEM;
        }
        memcpy(c, val->mv_data, val->mv_size);
        *copy = c;
        *got = c;
    } else {
        *got = val->mv_data;
    }
    return PHM_OK;
}

void idx_base_mem_free(idx_base_mem *m)
{
    for (size_t i = 0; i < sizeof m->copy / sizeof m->copy[0]; i++)
        free(m->copy[i]);
    if (m->map)
        munmap(m->map, m->map_len);
    memset(m, 0, sizeof *m);
}

int idx_base_hash_segments(const phm_index *idx, MDB_txn *txn, size_t n,
                           const phm_pdq **seg, size_t *cnt, size_t *nseg)
{
    MDB_stat es;
    int rc = mdb_env_stat(idx->env, &es);
    if (rc)
        return rc;
    size_t pad = IDX_HSEG_PAD(es.ms_psize), got = 0, k = 0;
    *nseg = 0;
    while (got < n) {
        if (k == IDX_HSEG_MAX)
            return MDB_CORRUPTED;
        uint8_t key[4];
        idx_blob_key(key, IDX_BLOB_HASHES, (unsigned)k);
        MDB_val kv = { 4, key }, v;
        if ((rc = mdb_get(txn, idx->db_search, &kv, &v)))
            return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
        if (v.mv_size <= pad || (v.mv_size - pad) % sizeof(phm_pdq))
            return MDB_CORRUPTED;
        /* the pad is zeros: a damaged one is told, not ignored */
        const uint8_t *b = v.mv_data;
        for (size_t i = 0; i < pad; i++)
            if (b[i])
                return MDB_CORRUPTED;
        size_t c = (v.mv_size - pad) / sizeof(phm_pdq);
        if (c > n - got || (c < n - got && (c * sizeof(phm_pdq)) % es.ms_psize))
            return MDB_CORRUPTED;
        seg[k] = (const phm_pdq *)(const void *)((const uint8_t *)v.mv_data + pad);
        cnt[k++] = c;
        got += c;
    }
    *nseg = k;
    return 0;
}

/* Makes the segments one array: their pages, which start on pages of the
 * file and fill whole pages but the last, mapped side by side again from
 * LMDB's shared map (mremap with old size 0 makes a second mapping of the
 * same pages: no copy, no memory). Where that cannot be done (segments
 * written in this transaction live in private memory), a copy. */
static int join_segments(const phm_index *idx, const phm_pdq *const *seg, const size_t *cnt,
                         size_t nseg, size_t n, idx_base_mem *mem, const phm_pdq **out)
{
    MDB_stat es;
    if (mdb_env_stat(idx->env, &es) == 0) {
        size_t ps = es.ms_psize, len = (n * sizeof(phm_pdq) + ps - 1) / ps * ps;
        int ok = 1;
        for (size_t k = 0; ok && k < nseg; k++)
            ok = (uintptr_t)seg[k] % ps == 0;
        void *map = ok ? mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                              -1, 0)
                       : MAP_FAILED;
        if (map != MAP_FAILED) {
            size_t at = 0;
            for (size_t k = 0; ok && k < nseg; k++) {
                size_t bytes = cnt[k] * sizeof(phm_pdq);
                size_t mlen = (bytes + ps - 1) / ps * ps;
                ok = mremap((void *)(uintptr_t)seg[k], 0, mlen, MREMAP_MAYMOVE | MREMAP_FIXED,
                            (uint8_t *)map + at) != MAP_FAILED;
                at += bytes;
            }
            if (ok) {
                mem->map = map;
                mem->map_len = len;
                *out = map;
                return PHM_OK;
            }
            munmap(map, len);
        }
    }
    phm_pdq *c = malloc(n * sizeof *c);
    if (!c)
        return PHM_ERR_NOMEM;
    for (size_t k = 0, at = 0; k < nseg; at += cnt[k], k++)
        memcpy(c + at, seg[k], cnt[k] * sizeof *c);
    mem->copy[0] = c;
    *out = c;
    return PHM_OK;
}

int idx_base_load(const phm_index *idx, MDB_txn *txn, const idx_base_header *h,
                  mih_view *v, const void **eids, idx_base_mem *mem,
                  char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    v->n = (size_t)h->n;
    v->has_tables = h->tables == MIH_TABLES;
    *eids = NULL;
    if (v->n == 0)
        return PHM_OK; /* a new index has no blobs yet */
    MDB_val val;
    const void *got;
    const phm_pdq *seg[IDX_HSEG_MAX];
    size_t cnt[IDX_HSEG_MAX], nseg;
    int rc = idx_base_hash_segments(idx, txn, v->n, seg, cnt, &nseg);
    if (rc == MDB_CORRUPTED) {
        idx_err(err, errlen, "cannot read index", idx->path,
                "search structure 'H' is missing or has the wrong size; run verify");
        return PHM_ERR_CORRUPT;
    }
    if (rc)
        return idx_mdb_err(rc, err, errlen, "cannot read index", idx, NULL);
    int st = PHM_OK;
    if (nseg == 1 && (uintptr_t)seg[0] % 8 == 0)
        v->hashes = seg[0];
    else if ((st = join_segments(idx, seg, cnt, nseg, v->n, mem, &v->hashes))) {
        idx_err(err, errlen, "cannot read index", idx->path, "out of memory");
        return st;
    }
    size_t eb;
    if ((rc = idx_base_eids_get(idx, txn, v->n, eids, &eb)) == MDB_CORRUPTED) {
        idx_err(err, errlen, "cannot read index", idx->path,
                "search structure 'E0' is missing or has the wrong size; run compact");
        return PHM_ERR_CORRUPT;
    }
    if (rc)
        return idx_mdb_err(rc, err, errlen, "cannot read index", idx, NULL);
    if (!v->has_tables)
        return PHM_OK;
    /* each table: its directory, then the area it sizes */
    for (unsigned i = 0; i < MIH_TABLES; i++) {
        if ((st = base_blob(idx, txn, IDX_BLOB_OFFSETS, i, MIH_DIR_BYTES, 4, &got, &val,
                            &mem->copy[2 + i], err, errlen)))
            return st;
        v->offsets[i] = got;
        if ((st = base_blob(idx, txn, IDX_BLOB_POSTINGS, i, mih_area_bytes(v->n, got), 8,
                            &got, &val, &mem->copy[2 + MIH_TABLES + i], err, errlen)))
            return st;
        v->postings[i] = got;
    }
    return PHM_OK;
}

/* ---- open and close ---------------------------------------------- */

/* The LMDB meta page: a 16-byte page header, then the magic number. */
#define LMDB_MAGIC 0xBEEFC0DEu

/* Checks what is at `path` before LMDB touches it. Sets *fresh when the
 * file is missing or empty and may be created. */
static int precheck(const char *path, unsigned flags, int *fresh, char *err,
                    size_t errlen)
{
    const char *what = "cannot open index";
    struct stat st;
    *fresh = 0;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT && (flags & PHM_INDEX_CREATE) && !(flags & PHM_INDEX_RDONLY)) {
            *fresh = 1;
            return PHM_OK;
        }
        int e = errno;
        idx_err(err, errlen, what, path, "%s", e == ENOENT ? "no such file" : strerror(e));
        return e == ENOENT ? PHM_ERR_NOT_FOUND : PHM_ERR_UNREADABLE;
    }
    if (S_ISDIR(st.st_mode)) {
        idx_err(err, errlen, what, path, "is a directory");
        return PHM_ERR_IS_DIR;
    }
    if (!S_ISREG(st.st_mode)) {
        idx_err(err, errlen, what, path, "not a regular file");
        return PHM_ERR_INDEX;
    }
    if (st.st_size == 0) {
        if ((flags & PHM_INDEX_CREATE) && !(flags & PHM_INDEX_RDONLY)) {
            *fresh = 1;
            return PHM_OK;
        }
        idx_err(err, errlen, what, path, "not a phmatch index (empty file)");
        return PHM_ERR_INDEX;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        idx_err(err, errlen, what, path, "%s", strerror(errno));
        return PHM_ERR_UNREADABLE;
    }
    uint8_t head[24];
    ssize_t got = pread(fd, head, sizeof head, 0);
    close(fd);
    uint32_t magic = 0;
    if (got == (ssize_t)sizeof head)
        memcpy(&magic, head + 16, 4);
    if (magic != LMDB_MAGIC) {
        idx_err(err, errlen, what, path, "not a phmatch index (not an LMDB file)");
        return PHM_ERR_INDEX;
    }
    return PHM_OK;
}

/* Whether the file still holds every page LMDB may read through its map.
 * LMDB (without MDB_WRITEMAP) only ever grows the file, so the largest
 * size this handle has seen it with is a floor: checked at open against
 * the pages the newest root refers to, and raised at every check; the two
 * meta pages, read through the map too, are one in any case. The bytes it
 * has and needs in *len. 0, an errno code, or IDX_ERR_TRUNCATED. */
static int length_check(phm_index *idx, idx_len *len)
{
    int fd;
    struct stat st;
    len->have = len->need = 0;
    len->pages = 0;
    /* the floor is read before the size: another thread may raise it to
     * what the file grew to after this fstat */
    uint64_t seen = atomic_load(&idx->size_seen);
    int rc = mdb_env_get_fd(idx->env, &fd);
    if (rc)
        return rc;
    if (fstat(fd, &st) != 0)
        return errno;
    len->have = (uint64_t)st.st_size;
    len->need = seen > 2 * (uint64_t)idx->psize ? seen : 2 * (uint64_t)idx->psize;
    if (len->have < len->need)
        return IDX_ERR_TRUNCATED;
    while (seen < len->have &&
           !atomic_compare_exchange_weak(&idx->size_seen, &seen, len->have))
        ;
    return 0;
}

/* The floor misses a file grown by another process and then cut (or
 * overwritten in place by a larger copy): back above the floor, its meta
 * pages may name pages that are not there. So, with the transaction
 * begun, the newest root's last page against the size: the last page is
 * read before the fstat, and LMDB writes a commit's pages before the meta
 * page naming them, so a writer committing in between only makes the file
 * longer than needed (the other order raced: e0864d7). len->have is the
 * size length_check found: when it holds the pages already (no commit
 * grew the file since), the file held them at that fstat, and a cut
 * after it is the window no check covers; only otherwise is the file
 * asked again (a search in its own snapshot, docs/INDEX_FORMAT.md:
 * 1.27-1.38 us, 2.03-2.23 with the fstat every time, 1.17-1.32 without
 * this check). 0, an errno or LMDB code, or
 * IDX_ERR_TRUNCATED. */
static int pages_check(phm_index *idx, idx_len *len)
{
    MDB_envinfo info;
    int fd;
    struct stat st;
    int rc = mdb_env_info(idx->env, &info);
    if (rc)
        return rc;
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * idx->psize;
    if (len->have >= need)
        return 0;
    rc = mdb_env_get_fd(idx->env, &fd);
    if (!rc && fstat(fd, &st) != 0)
        rc = errno;
    if (!rc) {
        len->have = (uint64_t)st.st_size;
        len->need = need;
        len->pages = 1;
        if (len->have < len->need)
            rc = IDX_ERR_TRUNCATED;
    }
    return rc;
}

int idx_txn_begin(phm_index *idx, unsigned flags, MDB_txn **txn, idx_len *len)
{
    int rc = length_check(idx, len);
    if (!rc)
        rc = mdb_txn_begin(idx->env, NULL, flags, txn);
    if (!rc && (rc = pages_check(idx, len))) {
        mdb_txn_abort(*txn);
        *txn = NULL;
    }
    return rc;
}

int idx_txn_renew(phm_index *idx, MDB_txn *txn, idx_len *len)
{
    int rc = length_check(idx, len);
    if (!rc)
        rc = mdb_txn_renew(txn);
    /* reset, not aborted: the caller's handle stays renewable */
    if (!rc && (rc = pages_check(idx, len)))
        mdb_txn_reset(txn);
    return rc;
}

/* Both checks, outside a transaction (the one at open, phm_index_check,
 * the copy's). */
static int full_check(phm_index *idx, idx_len *len)
{
    int rc = length_check(idx, len);
    return rc ? rc : pages_check(idx, len);
}

int phm_index_check(phm_index *idx, char *err, size_t errlen)
{
    idx_len len;
    if (!idx)
        return PHM_ERR_INVALID;
    int rc = full_check(idx, &len);
    return rc ? idx_txn_err(rc, &len, err, errlen, "cannot read index", idx, NULL) : PHM_OK;
}

/* At open: the page size, then (not for a file just created) the length:
 * a truncated copy, shorter than the pages its newest root refers to.
 * mdb_env_open has just read both meta pages with read(), so the file
 * holds them. The size found is the floor of later checks. */
static int check_length(phm_index *idx, int fresh, char *err, size_t errlen)
{
    MDB_stat st;
    idx_len len = { 0, 0, 0 };
    int rc = mdb_env_stat(idx->env, &st);
    if (!rc) {
        idx->psize = st.ms_psize;
        rc = fresh ? length_check(idx, &len) : full_check(idx, &len);
    }
    return rc ? idx_txn_err(rc, &len, err, errlen, "cannot open index", idx, NULL) : PHM_OK;
}

static const struct {
    const char *name;
    unsigned flags;
    size_t off;
} db_table[] = {
    { "meta", 0, offsetof(phm_index, db_meta) },
    { "entries", MDB_INTEGERKEY, offsetof(phm_index, db_entries) },
    { "keys", 0, offsetof(phm_index, db_keys) },
    { "digests", MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP, offsetof(phm_index, db_digests) },
    { "counts", 0, offsetof(phm_index, db_counts) },
    { "delta", 0, offsetof(phm_index, db_delta) },
    { "dead", MDB_INTEGERKEY, offsetof(phm_index, db_dead) },
    { "search", 0, offsetof(phm_index, db_search) },
    { "frames", MDB_INTEGERKEY, offsetof(phm_index, db_frames) },
    { "names", 0, offsetof(phm_index, db_names) },
};
#define NDBS (sizeof db_table / sizeof db_table[0])

static MDB_dbi *dbi_of(phm_index *idx, size_t i)
{
    return (MDB_dbi *)(void *)((char *)idx + db_table[i].off);
}

/* Creates the tables and metadata of a new index. */
static int initialise(phm_index *idx, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(idx->env, NULL, 0, &txn);
    if (rc)
        return idx_mdb_err(rc, err, errlen, "cannot create index", idx, NULL);
    MDB_dbi main_db;
    MDB_stat st;
    rc = mdb_dbi_open(txn, NULL, 0, &main_db);
    if (!rc)
        rc = mdb_stat(txn, main_db, &st);
    if (!rc && st.ms_entries != 0) {
        mdb_txn_abort(txn);
        idx_err(err, errlen, "cannot open index", idx->path,
                "not a phmatch index (an LMDB file of another program)");
        return PHM_ERR_INDEX;
    }
    for (size_t i = 0; !rc && i < NDBS; i++)
        rc = mdb_dbi_open(txn, db_table[i].name, db_table[i].flags | MDB_CREATE,
                          dbi_of(idx, i));
    uint32_t format = PHM_INDEX_FORMAT_VERSION, order = IDX_BYTE_ORDER;
    int64_t now = (int64_t)time(NULL);
    idx_base_header h = { .version = IDX_BASE_VERSION, .eid_bound = 1 };
    struct {
        const char *key;
        const void *val;
        size_t len;
    } meta[] = {
        { "magic", IDX_MAGIC, sizeof IDX_MAGIC - 1 },
        { "format", &format, sizeof format },
        { "byte_order", &order, sizeof order },
        { "created", &now, sizeof now },
        { "base", &h, sizeof h },
    };
    for (size_t i = 0; !rc && i < sizeof meta / sizeof meta[0]; i++) {
        MDB_val k = { strlen(meta[i].key), (void *)(uintptr_t)meta[i].key };
        MDB_val v = { meta[i].len, (void *)(uintptr_t)meta[i].val };
        rc = mdb_put(txn, idx->db_meta, &k, &v, MDB_NOOVERWRITE);
    }
    if (!rc)
        rc = idx_meta_put_u64(idx, txn, "gen", 1);
    if (!rc)
        rc = idx_meta_put_u64(idx, txn, "next_eid", 1);
    if (!rc)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc)
        return idx_mdb_err(rc, err, errlen, "cannot create index", idx, NULL);
    return PHM_OK;
}

/* Opens the tables of an existing index and checks its metadata. */
static int attach(phm_index *idx, int *missing, char *err, size_t errlen)
{
    const char *what = "cannot open index";
    MDB_txn *txn;
    *missing = 0;
    int rc = mdb_txn_begin(idx->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return idx_mdb_err(rc, err, errlen, what, idx, NULL);
    rc = mdb_dbi_open(txn, "meta", 0, &idx->db_meta);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        MDB_dbi main_db;
        MDB_stat st;
        *missing = mdb_dbi_open(txn, NULL, 0, &main_db) == 0 &&
                   mdb_stat(txn, main_db, &st) == 0 && st.ms_entries == 0;
        mdb_txn_abort(txn);
        if (*missing)
            return PHM_OK; /* an empty LMDB file: the caller may initialise */
        idx_err(err, errlen, what, idx->path,
                "not a phmatch index (an LMDB file of another program)");
        return PHM_ERR_INDEX;
    }
    if (rc) {
        mdb_txn_abort(txn);
        return idx_mdb_err(rc, err, errlen, what, idx, NULL);
    }
    MDB_val k = { 5, "magic" }, v;
    rc = mdb_get(txn, idx->db_meta, &k, &v);
    if (rc || v.mv_size != sizeof IDX_MAGIC - 1 ||
        memcmp(v.mv_data, IDX_MAGIC, v.mv_size) != 0) {
        mdb_txn_abort(txn);
        idx_err(err, errlen, what, idx->path,
                "not a phmatch index (an LMDB file of another program)");
        return PHM_ERR_INDEX;
    }
    uint32_t format = 0, order = 0;
    k = (MDB_val){ 6, "format" };
    if (mdb_get(txn, idx->db_meta, &k, &v) == 0 && v.mv_size == 4)
        memcpy(&format, v.mv_data, 4);
    if (format >= PHM_INDEX_FORMAT_UPGRADE_MIN && format < PHM_INDEX_FORMAT_MIN_VERSION) {
        mdb_txn_abort(txn);
        idx_err(err, errlen, what, idx->path,
                "index format version %u is older than this build's (version %d): "
                "convert it with 'phmatch index upgrade %s'", format,
                PHM_INDEX_FORMAT_VERSION, idx->path);
        return PHM_ERR_INDEX_VERSION;
    }
    if (format < PHM_INDEX_FORMAT_MIN_VERSION || format > PHM_INDEX_FORMAT_VERSION) {
        mdb_txn_abort(txn);
        idx_err(err, errlen, what, idx->path,
                "index format version %u is not supported (this build reads "
                "version %d)%s", format, PHM_INDEX_FORMAT_VERSION,
                format > PHM_INDEX_FORMAT_VERSION ? "; upgrade phmatch" : "");
        return PHM_ERR_INDEX_VERSION;
    }
    k = (MDB_val){ 10, "byte_order" };
    if (mdb_get(txn, idx->db_meta, &k, &v) == 0 && v.mv_size == 4)
        memcpy(&order, v.mv_data, 4);
    if (order != IDX_BYTE_ORDER) {
        mdb_txn_abort(txn);
        idx_err(err, errlen, what, idx->path,
                "index was written on a machine of another byte order");
        return PHM_ERR_INDEX_VERSION;
    }
    for (size_t i = 1; i < NDBS; i++) {
        rc = mdb_dbi_open(txn, db_table[i].name, db_table[i].flags, dbi_of(idx, i));
        if (rc) {
            mdb_txn_abort(txn);
            if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
                idx_err(err, errlen, what, idx->path,
                        "index file is corrupt: table '%s' is %s", db_table[i].name,
                        rc == MDB_NOTFOUND ? "missing" : "of the wrong kind");
                return PHM_ERR_INDEX;
            }
            return idx_mdb_err(rc, err, errlen, what, idx, NULL);
        }
    }
    idx_base_header h;
    uint64_t gen, next;
    rc = idx_base_header_get(idx, txn, &h);
    if (!rc)
        rc = idx_meta_get_u64(idx, txn, "gen", &gen);
    if (!rc)
        rc = idx_meta_get_u64(idx, txn, "next_eid", &next);
    if (rc) {
        mdb_txn_abort(txn);
        idx_err(err, errlen, what, idx->path, "index metadata is missing or corrupt");
        return PHM_ERR_INDEX;
    }
    /* A read transaction's table handles survive only if it commits. */
    rc = mdb_txn_commit(txn);
    if (rc)
        return idx_mdb_err(rc, err, errlen, what, idx, NULL);
    return PHM_OK;
}

int phm_index_open(phm_index **out, const char *path, unsigned flags,
                   size_t mapsize, phm_simd simd, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    unsigned known = PHM_INDEX_CREATE | PHM_INDEX_RDONLY | PHM_INDEX_NOLOCK | PHM_INDEX_HOT_COPY;
    if (!out || !path || !*path || (flags & ~known) ||
        ((flags & PHM_INDEX_NOLOCK) && !(flags & PHM_INDEX_RDONLY))) {
        if (out)
            *out = NULL;
        idx_err(err, errlen, "cannot open index", path ? path : "", "invalid argument");
        return PHM_ERR_INVALID;
    }
    *out = NULL;
    int fresh, rc = precheck(path, flags, &fresh, err, errlen);
    if (rc)
        return rc;
    phm_index *idx = calloc(1, sizeof *idx);
    if (!idx || !(idx->path = strdup(path))) {
        free(idx);
        idx_err(err, errlen, "cannot open index", path, "out of memory");
        return PHM_ERR_NOMEM;
    }
    idx->rdonly = (flags & PHM_INDEX_RDONLY) != 0;
    idx->simd = phm_simd_resolve(simd);
    idx->kern = ham_kernels_for(idx->simd);
    idx->hot_copy = (flags & PHM_INDEX_HOT_COPY) != 0;
    if (pthread_mutex_init(&idx->lock, NULL) != 0) {
        free(idx->path);
        free(idx);
        idx_err(err, errlen, "cannot open index", path, "cannot create a mutex");
        return PHM_ERR_NOMEM;
    }
    if (pthread_mutex_init(&idx->hot_lock, NULL) != 0) {
        pthread_mutex_destroy(&idx->lock);
        free(idx->path);
        free(idx);
        idx_err(err, errlen, "cannot open index", path, "cannot create a mutex");
        return PHM_ERR_NOMEM;
    }
    int mrc = mdb_env_create(&idx->env);
    if (!mrc)
        mrc = mdb_env_set_maxdbs(idx->env, IDX_MAXDBS);
    if (!mrc)
        mrc = mdb_env_set_maxreaders(idx->env, IDX_MAXREADERS);
    if (!mrc)
        mrc = mdb_env_set_mapsize(idx->env, mapsize ? mapsize : IDX_DEFAULT_MAPSIZE);
    unsigned envflags = MDB_NOSUBDIR | MDB_NOTLS | (idx->rdonly ? MDB_RDONLY : 0) |
                        ((flags & PHM_INDEX_NOLOCK) ? MDB_NOLOCK : 0);
    if (!mrc)
        mrc = mdb_env_open(idx->env, path, envflags, 0600);
    if (mrc) {
        rc = idx_mdb_err(mrc, err, errlen, "cannot open index", idx, NULL);
        if ((mrc == EACCES || mrc == EROFS) && !(flags & PHM_INDEX_NOLOCK) &&
            access(path, idx->rdonly ? R_OK : R_OK | W_OK) == 0) {
            /* The file is accessible: LMDB's lock file beside it is not
             * (a read-only directory or file system, another owner). */
            idx_err(err, errlen, "cannot open index", path,
                    "cannot open or create its lock file '%s-lock': %s", path,
                    strerror(mrc));
        }
        goto fail;
    }
    if ((rc = check_length(idx, fresh, err, errlen)))
        goto fail;
    if (!idx->rdonly) {
        int dead;
        mdb_reader_check(idx->env, &dead); /* slots of killed processes */
    }
    int missing;
    if ((rc = attach(idx, &missing, err, errlen)))
        goto fail;
    if (missing) {
        if (!(flags & PHM_INDEX_CREATE) || idx->rdonly) {
            idx_err(err, errlen, "cannot open index", path,
                    "not a phmatch index (an empty LMDB file)");
            rc = PHM_ERR_INDEX;
            goto fail;
        }
        if ((rc = initialise(idx, err, errlen)))
            goto fail;
    }
    if ((rc = idx_gov_attach(idx, err, errlen)))
        goto fail;
    *out = idx;
    return PHM_OK;
fail:
    phm_index_close(idx);
    return rc;
}

void phm_index_close(phm_index *idx)
{
    if (!idx)
        return;
    if (idx->view)
        idx_view_release(idx, idx->view);
    if (idx->hot)
        idx_hot_release(idx->hot);
    if (idx->env)
        mdb_env_close(idx->env);
    pthread_mutex_destroy(&idx->lock);
    pthread_mutex_destroy(&idx->hot_lock);
    free(idx->path);
    free(idx);
}

const char *phm_index_path(const phm_index *idx)
{
    return idx ? idx->path : "";
}

phm_simd phm_index_simd(const phm_index *idx)
{
    return idx ? idx->simd : PHM_SIMD_PORTABLE;
}

/* ---- inspecting -------------------------------------------------- */

int idx_begin(phm_index *idx, unsigned flags, MDB_txn **txn, const char *what, char *err,
              size_t errlen)
{
    idx_len len;
    int rc = idx_txn_begin(idx, flags, txn, &len);
    return rc ? idx_txn_err(rc, &len, err, errlen, what, idx, NULL) : PHM_OK;
}

/* The video counts of stats, and pdq_entries corrected for them: a
 * video's hashes fill several slots, and a removed video all of its base
 * slots. Reads the frames table's headers and, if videos were removed
 * since the last compaction, the base's entry numbers. */
static int video_stats(phm_index *idx, MDB_txn *txn, const idx_base_header *h,
                       phm_index_stats *out)
{
    MDB_cursor *c;
    MDB_val key, val;
    int rc = mdb_cursor_open(txn, idx->db_frames, &c);
    if (rc)
        return rc;
    for (int op = MDB_FIRST; (rc = mdb_cursor_get(c, &key, &val, op)) == 0; op = MDB_NEXT) {
        uint32_t nf, nh;
        if (vid_header(val.mv_data, val.mv_size, &nf, &nh)) {
            rc = MDB_CORRUPTED;
            break;
        }
        out->video_entries++;
        out->video_frames += nf;
        out->video_hashes += nh;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND)
        return rc;
    if ((rc = idx_variants_get(idx, txn, &out->variant_entries, &out->variant_hashes)))
        return rc;
    /* removed entries count their base slots (an image with variants, a
     * video: several) */
    uint64_t dead_slots = 0;
    if (out->dead_entries) {
        const void *e;
        size_t eb;
        if ((rc = idx_base_eids_get(idx, txn, (size_t)h->n, &e, &eb)))
            return rc;
        if (!e)
            return MDB_CORRUPTED; /* removed entries of a base never built */
        if ((rc = mdb_cursor_open(txn, idx->db_dead, &c)))
            return rc;
        for (int op = MDB_FIRST; (rc = mdb_cursor_get(c, &key, &val, op)) == 0;
             op = MDB_NEXT) {
            uint64_t eid;
            if (key.mv_size != sizeof eid)
                break;
            memcpy(&eid, key.mv_data, sizeof eid);
            size_t first;
            dead_slots += idx_base_run(e, (size_t)h->n, eid, &first);
        }
        mdb_cursor_close(c);
        if (rc != MDB_NOTFOUND)
            return rc ? rc : MDB_CORRUPTED;
    }
    uint64_t live = h->n - dead_slots + out->delta_entries,
             other = out->video_hashes + out->variant_hashes;
    out->pdq_entries = live > other ? live - other : 0;
    return 0;
}

int phm_index_get_stats(phm_index *idx, phm_index_stats *out, char *err,
                        size_t errlen)
{
    const char *what = "cannot read index";
    if (!idx || !out)
        return PHM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    MDB_txn *txn;
    int rc = idx_begin(idx, MDB_RDONLY, &txn, what, err, errlen);
    if (rc)
        return rc;
    MDB_stat st;
    MDB_envinfo info;
    idx_base_header h;
    /* entries: the sum of the per-group counts (the entries table holds
     * blocks of them); distinct sources: group keys are sorted, so sources
     * are runs */
    int mrc = 0;
    MDB_cursor *gc;
    if (!(mrc = mdb_cursor_open(txn, idx->db_counts, &gc))) {
        MDB_val gk, gv;
        uint32_t prev = 0, src, cat;
        for (MDB_cursor_op op = MDB_FIRST; (mrc = mdb_cursor_get(gc, &gk, &gv, op)) == 0;
             op = MDB_NEXT) {
            uint64_t cnt;
            if (gv.mv_size != sizeof cnt) {
                mrc = MDB_CORRUPTED;
                break;
            }
            memcpy(&cnt, gv.mv_data, sizeof cnt);
            out->entries += cnt;
            if (idx_group_key_parse(gk.mv_data, gk.mv_size, &src, &cat) != 0) {
                mrc = MDB_CORRUPTED; /* src unset: not counted as a source */
                break;
            }
            if (src != prev)
                out->sources++;
            prev = src;
        }
        mdb_cursor_close(gc);
        if (mrc == MDB_NOTFOUND)
            mrc = 0;
    }
    if (!mrc)
        mrc = mdb_stat(txn, idx->db_digests, &st);
    if (!mrc) {
        out->digests = st.ms_entries;
        mrc = mdb_stat(txn, idx->db_delta, &st);
    }
    if (!mrc) {
        out->delta_entries = st.ms_entries;
        mrc = mdb_stat(txn, idx->db_dead, &st);
    }
    if (!mrc) {
        out->dead_entries = st.ms_entries;
        mrc = idx_base_header_get(idx, txn, &h);
    }
    if (!mrc) {
        out->base_entries = h.n;
        out->compacted = h.built;
        out->pdq_entries = h.n - out->dead_entries + out->delta_entries;
        mrc = video_stats(idx, txn, &h, out);
    }
    if (!mrc)
        mrc = idx_meta_get_u64(idx, txn, "gen", &out->generation);
    MDB_val k = { 7, "created" }, v;
    if (!mrc && (mrc = mdb_get(txn, idx->db_meta, &k, &v)) == 0 &&
        v.mv_size == sizeof out->created)
        memcpy(&out->created, v.mv_data, sizeof out->created);
    uint32_t format = PHM_INDEX_FORMAT_VERSION;
    k = (MDB_val){ 6, "format" };
    if (!mrc && mdb_get(txn, idx->db_meta, &k, &v) == 0 && v.mv_size == sizeof format)
        memcpy(&format, v.mv_data, sizeof format);
    MDB_cursor *c;
    /* free pages, for used_bytes */
    size_t free_pages = 0;
    if (!mrc && (mrc = mdb_cursor_open(txn, 0, &c)) == 0) {
        MDB_val key, val;
        int op = MDB_FIRST;
        while (mdb_cursor_get(c, &key, &val, op) == 0) {
            op = MDB_NEXT;
            size_t cnt;
            if (val.mv_size >= sizeof cnt) {
                memcpy(&cnt, val.mv_data, sizeof cnt);
                free_pages += cnt;
            }
        }
        mdb_cursor_close(c);
    }
    if (!mrc)
        mrc = mdb_env_info(idx->env, &info);
    if (!mrc)
        mrc = mdb_env_stat(idx->env, &st);
    mdb_txn_abort(txn);
    if (mrc)
        return idx_mdb_err(mrc, err, errlen, what, idx, NULL);
    struct stat fst;
    if (stat(idx->path, &fst) == 0)
        out->file_bytes = (uint64_t)fst.st_size;
    out->format_version = format;
    out->map_bytes = info.me_mapsize;
    uint64_t pages = (uint64_t)info.me_last_pgno + 1;
    out->used_bytes = (pages > free_pages ? pages - free_pages : 0) * st.ms_psize;
    return PHM_OK;
}

/* A record of one walk: returns 0 to go on, or nonzero to stop (a
 * visitor that finds the record corrupt writes err and returns
 * PHM_ERR_CORRUPT). */
typedef int walk_visit(const phm_index *idx, MDB_txn *txn, const MDB_val *key,
                       const MDB_val *val, void *ctx, char *err,
                       size_t errlen);

/* Calls visit() for every record of table `dbi` in key order, from one
 * read snapshot. Returns 0, visit()'s nonzero return, or an LMDB error
 * mapped by idx_mdb_err(). */
/* The items of a blocked table (index_block.c) as key (the entry number
 * for BLK_ENTRIES) and value. */
static int walk_blocks(phm_index *idx, MDB_txn *txn, MDB_dbi dbi, int kind,
                       walk_visit *visit, void *ctx, char *err, size_t errlen)
{
    blk_map m;
    blk_iter it;
    blk_map_init(&m, txn, dbi, kind);
    int rc = 0, mrc = blk_iter_open(&it, &m, NULL, 0);
    while (!mrc && (mrc = blk_iter_next(&it)) == 0) {
        uint64_t eid = blk_u64_get(it.d->key);
        MDB_val key = kind == BLK_ENTRIES ? (MDB_val){ sizeof eid, &eid }
                                          : (MDB_val){ it.d->klen, it.d->key },
                val = { it.d->vlen, (void *)(uintptr_t)it.d->val };
        if ((rc = visit(idx, txn, &key, &val, ctx, err, errlen)))
            break;
    }
    blk_iter_close(&it);
    blk_map_free(&m);
    if (!rc && mrc != MDB_NOTFOUND)
        return idx_mdb_err(mrc, err, errlen, "cannot read index", idx, NULL);
    return rc;
}

/* Calls visit for every row of dbi (kind: 0, or a blocked table's) in one
 * snapshot. */
static int walk(phm_index *idx, MDB_dbi dbi, int kind, walk_visit *visit, void *ctx,
                char *err, size_t errlen)
{
    const char *what = "cannot read index";
    MDB_txn *txn;
    MDB_cursor *c;
    int rc = idx_begin(idx, MDB_RDONLY, &txn, what, err, errlen);
    if (rc)
        return rc;
    if (kind) {
        rc = walk_blocks(idx, txn, dbi, kind, visit, ctx, err, errlen);
        mdb_txn_abort(txn);
        return rc;
    }
    int mrc = mdb_cursor_open(txn, dbi, &c);
    if (mrc) {
        mdb_txn_abort(txn);
        return idx_mdb_err(mrc, err, errlen, what, idx, NULL);
    }
    MDB_val key, val;
    int op = MDB_FIRST;
    while ((mrc = mdb_cursor_get(c, &key, &val, op)) == 0) {
        op = MDB_NEXT;
        if ((rc = visit(idx, txn, &key, &val, ctx, err, errlen)))
            break;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    if (!rc && mrc != MDB_NOTFOUND)
        return idx_mdb_err(mrc, err, errlen, what, idx, NULL);
    return rc;
}

typedef struct group_row {
    const char *source, *category; /* in names */
    uint64_t count;
} group_row;

typedef struct group_walk {
    idx_names names;
    group_row *rows;
    size_t n, cap;
} group_walk;

/* A counts record: key source number, category number; value a u64. */
static int visit_group(const phm_index *idx, MDB_txn *txn, const MDB_val *key,
                       const MDB_val *val, void *ctx, char *err,
                       size_t errlen)
{
    group_walk *g = ctx;
    uint64_t count;
    uint32_t src, cat;
    if (!g->names.loaded) {
        int rc = idx_names_load(idx, txn, &g->names);
        if (rc)
            return idx_mdb_err(rc, err, errlen, "cannot read index", idx, NULL);
    }
    const char *s = NULL, *c = NULL;
    if (!idx_group_key_parse(key->mv_data, key->mv_size, &src, &cat)) {
        s = idx_names_str(&g->names, src);
        c = idx_names_str(&g->names, cat);
    }
    if (!s || !c || val->mv_size != sizeof count) {
        idx_err(err, errlen, "cannot read index", idx->path,
                "index file is corrupt: bad count record");
        return PHM_ERR_CORRUPT;
    }
    memcpy(&count, val->mv_data, sizeof count);
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        group_row *r = realloc(g->rows, cap * sizeof *r);
        if (!r) {
            idx_err(err, errlen, "cannot read index", idx->path, "out of memory");
            return PHM_ERR_NOMEM;
        }
        g->rows = r;
        g->cap = cap;
    }
    g->rows[g->n++] = (group_row){ s, c, count };
    return 0;
}

static int cmp_group(const void *a, const void *b)
{
    const group_row *x = a, *y = b;
    int c = strcmp(x->source, y->source);
    return c ? c : strcmp(x->category, y->category);
}

int phm_index_foreach_group(phm_index *idx,
                     int (*fn)(void *ctx, const char *source,
                               const char *category, uint64_t count),
                     void *ctx, char *err, size_t errlen)
{
    if (!idx || !fn)
        return PHM_ERR_INVALID;
    group_walk g = { { 0 }, NULL, 0, 0 };
    /* keys are in number order: the rows are sorted by name here */
    int rc = walk(idx, idx->db_counts, 0, visit_group, &g, err, errlen);
    if (!rc && g.n > 1)
        qsort(g.rows, g.n, sizeof *g.rows, cmp_group);
    for (size_t i = 0; !rc && i < g.n; i++)
        rc = fn(ctx, g.rows[i].source, g.rows[i].category, g.rows[i].count);
    free(g.rows);
    idx_names_free(&g.names);
    return rc;
}

typedef struct entry_walk {
    int (*fn)(void *ctx, uint64_t entry, const phm_entry *e);
    void *ctx;
    phm_vpdq frames; /* a video entry's frames, reused from one to the next */
    /* format 5: the snapshot's names, and its slots read in entry order */
    idx_names names;
    idx_slots slots;
    int started;
} entry_walk;

/* An entries record: key the entry number, value the encoded entry; a
 * video entry's frames come from the frames table of the same snapshot. */
static int visit_entry(const phm_index *idx, MDB_txn *txn, const MDB_val *key,
                       const MDB_val *val, void *ctx, char *err,
                       size_t errlen)
{
    const char *what = "cannot read index";
    entry_walk *w = ctx;
    uint64_t eid = 0;
    phm_entry e;
    rec_extra x;
    if (!w->started) {
        int rc = idx_names_load(idx, txn, &w->names);
        if (!rc)
            rc = idx_slots_open(&w->slots, (phm_index *)(uintptr_t)idx, txn);
        if (rc)
            return idx_mdb_err(rc, err, errlen, what, idx, NULL);
        w->started = 1;
    }
    if (key->mv_size == sizeof eid)
        memcpy(&eid, key->mv_data, sizeof eid);
    phm_pdq h[1 + PHM_INDEX_MAX_VARIANTS];
    size_t nh = 0;
    int bad = key->mv_size != sizeof eid ||
              rec_decode(val->mv_data, val->mv_size, &w->names, &x, &e);
    if (!bad && (e.signals & PHM_SIG_PDQ)) {
        int rc = idx_slots_get(&w->slots, eid, h, 1 + PHM_INDEX_MAX_VARIANTS, &nh);
        if (rc && rc != MDB_CORRUPTED)
            return idx_mdb_err(rc, err, errlen, what, idx, NULL);
        bad = rc || nh != 1 + e.nvariants;
        rec_set_hashes(&e, h, nh);
    }
    if (bad) {
        idx_err(err, errlen, what, idx->path,
                "index file is corrupt: entry %llu does not decode",
                (unsigned long long)eid);
        return PHM_ERR_CORRUPT;
    }
    if (e.signals & PHM_SIG_VPDQ) {
        MDB_val fkey = *key, fv;
        int fr = mdb_get(txn, idx->db_frames, &fkey, &fv);
        if (fr && fr != MDB_NOTFOUND)
            return idx_mdb_err(fr, err, errlen, what, idx, NULL);
        int rc = fr ? PHM_ERR_CORRUPT : vid_decode(fv.mv_data, fv.mv_size, &w->frames);
        if (!rc && w->frames.count != e.nframes)
            rc = PHM_ERR_CORRUPT;
        if (rc) {
            if (rc == PHM_ERR_NOMEM)
                idx_err(err, errlen, what, idx->path, "out of memory");
            else
                idx_err(err, errlen, what, idx->path,
                        "index file is corrupt: the frames of entry %llu do not decode",
                        (unsigned long long)eid);
            return rc;
        }
        e.frames = w->frames.frames;
    }
    return w->fn(w->ctx, eid, &e);
}

int phm_index_foreach(phm_index *idx,
                      int (*fn)(void *ctx, uint64_t entry, const phm_entry *e),
                      void *ctx, char *err, size_t errlen)
{
    if (!idx || !fn)
        return PHM_ERR_INVALID;
    entry_walk w = { .fn = fn, .ctx = ctx };
    phm_vpdq_init(&w.frames);
    int rc = walk(idx, idx->db_entries, BLK_ENTRIES, visit_entry, &w, err, errlen);
    phm_vpdq_clear(&w.frames);
    idx_slots_close(&w.slots);
    idx_names_free(&w.names);
    return rc;
}

int phm_index_copy(phm_index *idx, const char *dest, char *err, size_t errlen)
{
    if (!idx || !dest || !*dest)
        return PHM_ERR_INVALID;
    int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        idx_err(err, errlen, "cannot create index copy", dest, "%s", strerror(e));
        return e == ENOENT ? PHM_ERR_NOT_FOUND : PHM_ERR_UNREADABLE;
    }
    /* the copy reads every page through the map */
    idx_len len;
    int rc = full_check(idx, &len);
    if (!rc)
        rc = mdb_env_copyfd2(idx->env, fd, MDB_CP_COMPACT);
    if (!rc && fsync(fd) != 0)
        rc = errno;
    if (close(fd) != 0 && !rc)
        rc = errno;
    if (rc) {
        /* a failed write is the copy's (its disk, its size), not the
         * index's: asked and named before the copy is removed */
        const char *space = space_exhausted(dest, rc);
        int st = PHM_ERR_INDEX;
        if (space || rc == EIO)
            idx_err(err, errlen, "cannot write index copy", dest, "%s",
                    space ? space : strerror(rc));
        else
            st = idx_txn_err(rc, &len, err, errlen, "cannot copy index", idx, NULL);
        unlink(dest);
        return st;
    }
    return PHM_OK;
}
