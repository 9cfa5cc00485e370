/* test_index_hot.c - PHM_INDEX_HOT_COPY: searchers of a handle opened
 * with it read a copy of the base's arrays (index_hot.c), and answer
 * exactly as a handle without it and as a brute-force scan of the live
 * hashes: after the first compaction, after another handle's commits that
 * add to the delta and remove base entries, and after a rebuild that the
 * hot searcher must follow (a new base: a new copy), also of a base whose
 * hashes are cut into several segments (PHM_INDEX_TEST_HSEG). Radius and
 * k-nearest searches, several searchers sharing one copy. */
#include <string.h>

#include "index_internal.h"
#include "index_util.h"
#include "tap.h"

enum { N0 = 6000, NQ = 160, RADIUS = 31 };

typedef struct live {
    phm_pdq *h;
    int *alive;
    size_t n, cap;
} live;

static void bail(void)
{
    printf("Bail out! out of memory\n");
    exit(1);
}

/* Adds entries first..first+count-1 ("i<number>"): families of near
 * duplicates, so that radius-31 queries find several. */
static int add_range(phm_index *idx, live *L, rng *g, size_t first, size_t count, char *err,
                     size_t errlen)
{
    phm_index_txn *t;
    int st = phm_index_txn_begin(idx, &t, err, errlen);
    for (size_t i = first; !st && i < first + count; i++) {
        if (i >= L->cap)
            bail();
        char id[32];
        snprintf(id, sizeof id, "i%09zu", i);
        phm_pdq h = i % 8 && i > 0 ? rng_near(g, &L->h[i - i % 8], (int)(rng_next(g) % 24))
                                   : rng_hash(g);
        phm_entry e = { .source = "s", .id = id, .signals = PHM_SIG_PDQ, .quality = 100,
                        .pdq = h };
        if (!(st = phm_index_add(t, &e, err, errlen))) {
            L->h[i] = h;
            L->alive[i] = 1;
            if (i + 1 > L->n)
                L->n = i + 1;
        }
    }
    if (st) {
        phm_index_txn_abort(t);
        return st;
    }
    return phm_index_txn_commit(t, NULL, err, errlen);
}

static int remove_every(phm_index *idx, live *L, size_t step, char *err, size_t errlen)
{
    phm_index_txn *t;
    int st = phm_index_txn_begin(idx, &t, err, errlen);
    for (size_t i = 1; !st && i < L->n; i += step) {
        char id[32];
        int r = 0;
        snprintf(id, sizeof id, "i%09zu", i);
        if (!(st = phm_index_remove(t, "s", id, &r, err, errlen)) && r)
            L->alive[i] = 0;
    }
    if (st) {
        phm_index_txn_abort(t);
        return st;
    }
    return phm_index_txn_commit(t, NULL, err, errlen);
}

static int dist(const phm_pdq *a, const phm_pdq *b)
{
    int d = 0;
    for (int w = 0; w < 4; w++)
        d += __builtin_popcountll(a->w[w] ^ b->w[w]);
    return d;
}

/* Whether two result lists are equal (field by field: a phm_match has
 * padding). */
static int same(const phm_match *a, size_t na, const phm_match *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].entry != b[i].entry || a[i].distance != b[i].distance)
            return 0;
    return 1;
}

static int cmp_match(const void *a, const void *b)
{
    const phm_match *x = a, *y = b;
    return (x->entry > y->entry) - (x->entry < y->entry);
}

/* The queries: near an entry (0..40 bits flipped) or random. */
static void make_queries(const live *L, rng *g, phm_pdq *q)
{
    for (size_t i = 0; i < NQ; i++)
        q[i] = i % 4 == 3 ? rng_hash(g)
                          : rng_near(g, &L->h[rng_next(g) % L->n], (int)(rng_next(g) % 41));
}

/* Compares, for every query: the hot searchers' radius results with the
 * map searcher's and with brute force (by entry number, through the map
 * searcher's find), and their k-nearest with the map's. */
static void compare(const char *when, phm_searcher *map, phm_searcher *const *hot, size_t nhot,
                    const live *L, rng *g)
{
    phm_pdq q[NQ];
    make_queries(L, g, q);
    char err[PHM_ERRMSG_MAX] = "";
    /* entry numbers of the live ids */
    uint64_t *eid = calloc(L->n ? L->n : 1, sizeof *eid);
    phm_match *want = malloc((L->n ? L->n : 1) * sizeof *want), *got = malloc((L->n ? L->n : 1) * sizeof *got);
    if (!eid || !want || !got)
        bail();
    size_t bad_find = 0;
    const phm_match *m0;
    size_t n0;
    /* a search takes the newest snapshot, which the finds then read */
    IS_INT(phm_search_radius(map, &q[0], 0, &m0, &n0, err, sizeof err), PHM_OK,
           "%s: a search: %s", when, err);
    for (size_t i = 0; i < L->n; i++) {
        if (!L->alive[i])
            continue;
        char id[32];
        snprintf(id, sizeof id, "i%09zu", i);
        bad_find += phm_searcher_find(map, "s", id, &eid[i], err, sizeof err) != PHM_OK;
    }
    IS_INT(bad_find, 0, "%s: every live entry found: %s", when, err);
    size_t bad_brute = 0, bad_map = 0, bad_knn = 0, hits = 0, fails = 0;
    for (size_t k = 0; k < NQ; k++) {
        size_t nw = 0;
        for (size_t i = 0; i < L->n; i++) {
            int d;
            if (L->alive[i] && (d = dist(&q[k], &L->h[i])) <= RADIUS)
                want[nw++] = (phm_match){ .entry = eid[i], .distance = d };
        }
        qsort(want, nw, sizeof *want, cmp_match);
        hits += nw;
        const phm_match *m;
        size_t cnt, mcnt;
        if (phm_search_radius(map, &q[k], RADIUS, &m, &mcnt, err, sizeof err)) {
            fails++;
            continue;
        }
        memcpy(got, m, mcnt * sizeof *got);
        qsort(got, mcnt, sizeof *got, cmp_match);
        bad_map += !same(got, mcnt, want, nw);
        phm_match kmap[5];
        size_t kcnt = 0;
        if (phm_search_knn(map, &q[k], 5, 64, &m, &kcnt, err, sizeof err)) {
            fails++;
            continue;
        }
        memcpy(kmap, m, kcnt * sizeof *m);
        for (size_t s = 0; s < nhot; s++) {
            if (phm_search_radius(hot[s], &q[k], RADIUS, &m, &cnt, err, sizeof err)) {
                fails++;
                continue;
            }
            memcpy(got, m, cnt * sizeof *got);
            qsort(got, cnt, sizeof *got, cmp_match);
            bad_brute += !same(got, cnt, want, nw);
            if (phm_search_knn(hot[s], &q[k], 5, 64, &m, &cnt, err, sizeof err)) {
                fails++;
                continue;
            }
            bad_knn += !same(m, cnt, kmap, kcnt);
        }
    }
    IS_INT(fails, 0, "%s: searches succeed: %s", when, err);
    OK(hits > NQ / 2, "%s: the queries find entries (%zu)", when, hits);
    IS_INT(bad_map, 0, "%s: the map's radius results equal brute force", when);
    IS_INT(bad_brute, 0, "%s: the hot copy's radius results equal brute force (%zu searchers)",
           when, nhot);
    IS_INT(bad_knn, 0, "%s: the hot copy's 5 nearest equal the map's", when);
    /* the forced path is the one taken: the searchers read one copy */
    int used = 1;
    for (size_t s = 0; s < nhot; s++)
        used &= hot[s]->hot != NULL && hot[s]->base.hashes == hot[s]->hot->view.hashes &&
                hot[s]->hot == hot[0]->hot;
    OK(used, "%s: the hot searchers read one shared copy", when);
    OK(map->hot == NULL, "%s: the map searcher reads the map", when);
    free(eid);
    free(want);
    free(got);
}

int main(void)
{
    char dir[512], path[600], err[PHM_ERRMSG_MAX] = "";
    scratch_dir(dir, sizeof dir, "hot");
    snprintf(path, sizeof path, "%s/x.phmi", dir);
    live L = { .cap = N0 + 4000 };
    L.h = calloc(L.cap, sizeof *L.h);
    L.alive = calloc(L.cap, sizeof *L.alive);
    if (!L.h || !L.alive)
        bail();
    rng g = { 77 };
    phm_index *w, *rmap, *rhot;
    IS_INT(phm_index_open(&w, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_OK,
           "open for writing: %s", err);
    IS_INT(add_range(w, &L, &g, 0, N0, err, sizeof err), PHM_OK, "%d entries: %s", N0, err);
    IS_INT(phm_index_compact(w, err, sizeof err), PHM_OK, "compact: %s", err);
    IS_INT(phm_index_open(&rmap, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "open read-only: %s", err);
    IS_INT(phm_index_open(&rhot, path, PHM_INDEX_RDONLY | PHM_INDEX_HOT_COPY, 0, PHM_SIMD_AUTO,
                          err, sizeof err),
           PHM_OK, "open read-only with PHM_INDEX_HOT_COPY: %s", err);
    phm_searcher *map, *hot[2];
    IS_INT(phm_searcher_new(rmap, &map, err, sizeof err), PHM_OK, "searcher: %s", err);
    IS_INT(phm_searcher_new(rhot, &hot[0], err, sizeof err), PHM_OK, "hot searcher: %s", err);
    IS_INT(phm_searcher_new(rhot, &hot[1], err, sizeof err), PHM_OK, "hot searcher 2: %s", err);
    compare("first base", map, hot, 2, &L, &g);
    const void *first_copy = hot[0]->hot ? hot[0]->hot->view.hashes : NULL;

    /* another handle's commits: a delta and removals from the base */
    IS_INT(add_range(w, &L, &g, N0, 1500, err, sizeof err), PHM_OK, "delta: %s", err);
    IS_INT(remove_every(w, &L, 7, err, sizeof err), PHM_OK, "removals: %s", err);
    compare("base + delta - removed", map, hot, 2, &L, &g);
    OK(hot[0]->hot && hot[0]->hot->view.hashes == first_copy,
       "a commit that does not rebuild keeps the copy");

    /* a rebuild, its hashes in segments of 128: the copy follows */
    setenv("PHM_INDEX_TEST_HSEG", "128", 1);
    IS_INT(add_range(w, &L, &g, N0 + 1500, 2000, err, sizeof err), PHM_OK, "more: %s", err);
    IS_INT(phm_index_compact(w, err, sizeof err), PHM_OK, "compact, segmented: %s", err);
    unsetenv("PHM_INDEX_TEST_HSEG");
    compare("rebuilt base in segments", map, hot, 2, &L, &g);
    OK(rhot->hot && rhot->hot->base_id == hot[0]->base_id,
       "the index holds the new copy");

    /* a searcher of the handle made after the copy shares it */
    phm_searcher *late;
    IS_INT(phm_searcher_new(rhot, &late, err, sizeof err), PHM_OK, "late searcher: %s", err);
    phm_searcher *three[3] = { hot[0], hot[1], late };
    compare("a third searcher", map, three, 3, &L, &g);
    phm_searcher_free(late);
    phm_searcher_free(hot[0]);
    phm_searcher_free(hot[1]);
    phm_searcher_free(map);
    phm_index_close(rhot);
    phm_index_close(rmap);

    /* the writer's own handle with the flag: its searchers follow its
     * own commits */
    phm_index_close(w);
    IS_INT(phm_index_open(&w, path, PHM_INDEX_HOT_COPY, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "open for writing with PHM_INDEX_HOT_COPY: %s", err);
    IS_INT(phm_index_open(&rmap, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "open read-only: %s", err);
    IS_INT(phm_searcher_new(rmap, &map, err, sizeof err), PHM_OK, "searcher: %s", err);
    IS_INT(phm_searcher_new(w, &hot[0], err, sizeof err), PHM_OK, "writer's searcher: %s", err);
    compare("writer's handle", map, hot, 1, &L, &g);
    IS_INT(remove_every(w, &L, 5, err, sizeof err), PHM_OK, "removals: %s", err);
    IS_INT(phm_index_compact(w, err, sizeof err), PHM_OK, "compact: %s", err);
    compare("writer's handle, rebuilt", map, hot, 1, &L, &g);
    IS_INT(phm_index_verify(w, err, sizeof err), PHM_OK, "verify: %s", err);
    phm_searcher_free(hot[0]);
    phm_searcher_free(map);
    phm_index_close(rmap);
    phm_index_close(w);

    /* flags: PHM_INDEX_HOT_COPY is known; an unknown bit is refused */
    phm_index *bad = NULL;
    IS_INT(phm_index_open(&bad, path, PHM_INDEX_RDONLY | (1u << 9), 0, PHM_SIMD_AUTO, err,
                          sizeof err),
           PHM_ERR_INVALID, "an unknown flag is refused");
    free(L.h);
    free(L.alive);
    scratch_done(dir);
    return tap_done();
}
