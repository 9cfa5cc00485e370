/* index_hot.c - the base's search arrays copied into anonymous memory
 * backed by transparent huge pages (PHM_INDEX_HOT_COPY).
 *
 * A radius-31 search at 100 M hashes reads a few hundred buckets and a few
 * thousand candidates' hashes at random in ~10 GB of arrays: in the file
 * mapping's 4 KB pages nearly every read is a TLB miss whose page walk
 * misses the caches too. Copied into 2 MB pages, the page tables of the
 * whole copy fit in the caches. The copy is made when a searcher first
 * sees a base (the open's first search, then each rebuild another process
 * or this one commits: the same moment the searcher refetches the base's
 * pointers) and is shared by the index's searchers, reference-counted;
 * a searcher of an older snapshot keeps the copy of its base (one that
 * first looks at an older base than the shared copy's searches the map). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "index_internal.h"

#define HUGE_PAGE ((size_t)2 << 20)
/* Pieces of the copy handed to the threads. */
#define HOT_PIECE ((size_t)64 << 20)

/* One range to copy: from the file (pread at `off`) when `off` >= 0,
 * else from memory at `src`. */
typedef struct hot_part {
    uint8_t *dst;
    const uint8_t *src;
    long long off;
    size_t len;
} hot_part;

static void hot_free(idx_hot *h)
{
    if (!h)
        return;
    if (h->map)
        munmap(h->map, h->map_len);
    free(h);
}

void idx_hot_release(idx_hot *h)
{
    if (!h)
        return;
    /* no lock: a reference is only taken under hot_lock while the index
     * holds its own, so the count reaches 0 once */
    if (atomic_fetch_sub(&h->refs, 1) == 1)
        hot_free(h);
}

/* The address of the file's first byte in LMDB's map, from the first
 * hash segment: an overflow value starts IDX_OVERFLOW_HDR bytes into its
 * first page, whose header begins with the page's number (LMDB's page
 * header). Checked by reading those bytes of the file: 0 when they
 * differ (then the copy reads the map instead). */
static uintptr_t map_base(int fd, const MDB_envinfo *ei, size_t psize, const uint8_t *value)
{
    const uint8_t *page = value - IDX_OVERFLOW_HDR;
    uint64_t pgno;
    memcpy(&pgno, page, sizeof pgno);
    if (!psize || pgno > ei->me_mapsize / psize || (uintptr_t)page < pgno * psize)
        return 0;
    uint8_t buf[64];
    if (pread(fd, buf, sizeof buf, (off_t)(pgno * psize)) != (ssize_t)sizeof buf ||
        memcmp(buf, page, sizeof buf) != 0)
        return 0;
    return (uintptr_t)page - (uintptr_t)(pgno * psize);
}

/* Where `p` (len bytes) lies in the file, or -1 when it is not in LMDB's
 * map (a copy made by idx_base_load, the joined 'H' mapping). */
static long long file_offset(uintptr_t base, size_t mapsize, const void *p, size_t len)
{
    uintptr_t x = (uintptr_t)p;
    if (!base || x < base || x - base > mapsize || len > mapsize - (x - base))
        return -1;
    return (long long)(x - base);
}

/* Copies the parts, split into pieces, on up to two threads; a piece the
 * file does not give (a read error) is copied from the map, which holds
 * the same bytes. */
static void copy_parts(int fd, const hot_part *parts, size_t nparts)
{
    size_t npieces = 0;
    for (size_t i = 0; i < nparts; i++)
        npieces += (parts[i].len + HOT_PIECE - 1) / HOT_PIECE;
    int threads = 1;
#ifdef _OPENMP
    if (npieces > 1 && omp_get_max_threads() > 1)
        threads = 2;
#endif
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1)
#endif
    for (size_t k = 0; k < npieces; k++) {
        /* piece k: find its part */
        size_t i = 0, at = k;
        while (at >= (parts[i].len + HOT_PIECE - 1) / HOT_PIECE) {
            at -= (parts[i].len + HOT_PIECE - 1) / HOT_PIECE;
            i++;
        }
        size_t lo = at * HOT_PIECE, len = parts[i].len - lo < HOT_PIECE ? parts[i].len - lo : HOT_PIECE;
        if (parts[i].off < 0) {
            memcpy(parts[i].dst + lo, parts[i].src + lo, len);
            continue;
        }
        size_t got = 0;
        while (got < len) {
            ssize_t r = pread(fd, parts[i].dst + lo + got, len - got,
                              (off_t)(parts[i].off + (long long)(lo + got)));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                /* the map has the same bytes: read them there */
                memcpy(parts[i].dst + lo + got, parts[i].src + lo + got, len - got);
                break;
            }
            got += (size_t)r;
        }
    }
}

static int idx_hot_build(const phm_index *idx, MDB_txn *txn, uint64_t base_id,
                         const mih_view *base, idx_hot **out)
{
    *out = NULL;
    if (base->n == 0)
        return PHM_OK;
    idx_hot *h = calloc(1, sizeof *h);
    if (!h)
        return PHM_ERR_NOMEM;
    atomic_init(&h->refs, 1);
    h->base_id = base_id;
    /* the hashes (from their 'H' segments, which lie in the map), then
     * each table's directory and area, each part 64-byte aligned */
    const phm_pdq *seg[IDX_HSEG_MAX];
    size_t cnt[IDX_HSEG_MAX], nseg = 0;
    int have_segs = idx_base_hash_segments(idx, txn, base->n, seg, cnt, &nseg) == 0;
    if (!have_segs) {
        nseg = 1; /* read them where the base has them */
        seg[0] = base->hashes;
        cnt[0] = base->n;
    }
    hot_part parts[IDX_HSEG_MAX + 2 * MIH_TABLES];
    size_t nparts = 0, total = 0;
    for (size_t k = 0; k < nseg; k++) {
        parts[nparts++] = (hot_part){ .src = (const uint8_t *)seg[k],
                                      .len = cnt[k] * sizeof(phm_pdq),
                                      .off = (long long)total }; /* dst offset for now */
        total += cnt[k] * sizeof(phm_pdq);
    }
    size_t at_tables = (total + 63) & ~(size_t)63;
    total = at_tables;
    if (base->has_tables)
        for (unsigned i = 0; i < MIH_TABLES; i++) {
            parts[nparts++] = (hot_part){ .src = (const uint8_t *)base->offsets[i],
                                          .len = MIH_DIR_BYTES, .off = (long long)total };
            total = (total + MIH_DIR_BYTES + 63) & ~(size_t)63;
            size_t area = mih_area_bytes(base->n, base->offsets[i]);
            parts[nparts++] = (hot_part){ .src = base->postings[i], .len = area,
                                          .off = (long long)total };
            total = (total + area + 63) & ~(size_t)63;
        }
    /* one mapping, its start on a huge page */
    size_t len = (total + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE + HUGE_PAGE;
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        free(h);
        return PHM_ERR_NOMEM;
    }
    h->map = map;
    h->map_len = len;
    uint8_t *mem = (uint8_t *)(((uintptr_t)map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
    (void)madvise(mem, len - (size_t)(mem - (uint8_t *)map), MADV_HUGEPAGE);
#endif
    /* Read from the file where the arrays lie in the map: pread fills the
     * copy without mapping the file's pages into this process. */
    MDB_envinfo ei;
    MDB_stat es;
    mdb_filehandle_t fd = -1;
    uintptr_t base_addr = 0;
    if (have_segs && mdb_env_info(idx->env, &ei) == 0 && mdb_env_stat(idx->env, &es) == 0 &&
        mdb_env_get_fd(idx->env, &fd) == 0)
        base_addr = map_base(fd, &ei, es.ms_psize, (const uint8_t *)seg[0] - IDX_HSEG_PAD(es.ms_psize));
    for (size_t k = 0; k < nparts; k++) {
        parts[k].dst = mem + parts[k].off;
        parts[k].off = file_offset(base_addr, base_addr ? ei.me_mapsize : 0, parts[k].src,
                                   parts[k].len);
    }
    copy_parts(fd, parts, nparts);
    h->view = *base;
    h->view.hashes = (const phm_pdq *)(const void *)mem;
    if (base->has_tables)
        for (unsigned i = 0; i < MIH_TABLES; i++) {
            h->view.offsets[i] = (const uint32_t *)(const void *)parts[nseg + 2 * i].dst;
            h->view.postings[i] = parts[nseg + 2 * i + 1].dst;
        }
    *out = h;
    return PHM_OK;
}

int idx_hot_get(phm_index *idx, MDB_txn *txn, uint64_t base_id, const mih_view *base,
                idx_hot **out)
{
    int st = PHM_OK;
    /* held while copying: two searchers that see a new base make one copy */
    pthread_mutex_lock(&idx->hot_lock);
    idx_hot *h = idx->hot;
    if (h && h->base_id == base_id) {
        atomic_fetch_add(&h->refs, 1);
    } else if (h && h->base_id > base_id) {
        /* a snapshot older than the shared copy's base: searched in the
         * map (a private copy of ~10 GB at 100 M for one old snapshot
         * would double the memory) */
        h = NULL;
    } else {
        if (h) {
            /* the index lets go of the old copy first: freed now if no
             * searcher holds it, so that two copies are not alive at once */
            idx->hot = NULL;
            idx_hot_release(h);
        }
        st = idx_hot_build(idx, txn, base_id, base, &h);
        if (st == PHM_OK && h) {
            idx->hot = h;
            atomic_fetch_add(&h->refs, 1); /* the index's reference */
        }
    }
    pthread_mutex_unlock(&idx->hot_lock);
    *out = h;
    return st;
}
