/* test_search.c - property tests: every search is compared with a
 * brute-force scan of the same entries (recall and precision exactly 1),
 * on uniform random hashes and on clustered families of near-duplicates,
 * at radii 0, 8, 31, 64 and 100, for radius, k-nearest and batch searches,
 * after the structures are built, with entries added since (the delta,
 * with and without its own tables), removed (base and delta), re-hashed,
 * and after compaction; at every SIMD level. */
#include <string.h>

#include "hamming.h"
#include "index_util.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

/* The reference: entry i is "s:<i>". */
typedef struct ref {
    phm_pdq *h;
    uint64_t *eid;
    uint8_t *live;
    size_t n, cap;
} ref;

static void ref_push(ref *r, const phm_pdq *h)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->h = realloc(r->h, r->cap * sizeof *r->h);
        r->eid = realloc(r->eid, r->cap * sizeof *r->eid);
        r->live = realloc(r->live, r->cap);
    }
    r->h[r->n] = *h;
    r->eid[r->n] = 0;
    r->live[r->n] = 1;
    r->n++;
}

static int cmp_match(const void *a, const void *b)
{
    const phm_match *x = a, *y = b;
    if (x->distance != y->distance)
        return x->distance - y->distance;
    return (x->entry > y->entry) - (x->entry < y->entry);
}

/* Field by field: phm_match has padding. */
static int same(const phm_match *a, const phm_match *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].entry != b[i].entry || a[i].distance != b[i].distance)
            return 0;
    return 1;
}

static int dist(const phm_pdq *a, const phm_pdq *b)
{
    unsigned d = 0;
    for (int i = 0; i < 4; i++)
        d += ham_popcount64_swar(a->w[i] ^ b->w[i]);
    return (int)d;
}

/* Each query's distance to every entry, computed once per check_all: the
 * searches are compared with brute force thousands of times a phase, on
 * the same 100 queries, and recomputing the distances each time was two
 * thirds of this program's time (three quarters under ASan). */
static int *distances(const ref *r, const phm_pdq *q, size_t nq)
{
    int *d = malloc(nq * r->n * sizeof *d);
    for (size_t j = 0; d && j < nq; j++)
        for (size_t i = 0; i < r->n; i++)
            d[j * r->n + i] = dist(&q[j], &r->h[i]);
    return d;
}

/* Brute force over d (a query's distances, from distances()): all live
 * within r, sorted; k > 0 keeps the first k. */
static size_t brute(const ref *r, const int *dq, int radius, size_t k, phm_match *out)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!r->live[i])
            continue;
        int d = dq[i];
        if (d > radius)
            continue;
        phm_match m = { r->eid[i], d };
        if (!k) {
            out[n++] = m;
            continue;
        }
        /* keep the k best, sorted, by insertion */
        if (n == k && cmp_match(&m, &out[k - 1]) >= 0)
            continue;
        size_t j = n < k ? n++ : k - 1;
        while (j > 0 && cmp_match(&m, &out[j - 1]) < 0) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = m;
    }
    if (!k)
        qsort(out, n, sizeof *out, cmp_match);
    return n;
}

static phm_index_txn *begin(phm_index *idx)
{
    phm_index_txn *t = NULL;
    if (phm_index_txn_begin(idx, &t, err, sizeof err))
        fprintf(stderr, "# begin: %s\n", err);
    return t;
}

static void add(phm_index_txn *t, ref *r, size_t i)
{
    char id[32];
    snprintf(id, sizeof id, "%zu", i);
    phm_entry e = { .source = "s", .id = id, .category = i % 3 ? "c" : "d",
                    .signals = PHM_SIG_PDQ, .quality = 90, .pdq = r->h[i] };
    if (phm_index_add(t, &e, err, sizeof err))
        fprintf(stderr, "# add: %s\n", err);
}

/* After a commit: learn the entry numbers of live entries. */
static int learn_eids(phm_index *idx, ref *r)
{
    phm_searcher *s;
    int bad = 0;
    if (phm_searcher_new(idx, &s, err, sizeof err))
        return -1;
    for (size_t i = 0; i < r->n; i++) {
        if (!r->live[i])
            continue;
        char id[32];
        snprintf(id, sizeof id, "%zu", i);
        if (phm_searcher_find(s, "s", id, &r->eid[i], err, sizeof err))
            bad++;
    }
    phm_searcher_free(s);
    return bad;
}

static void make_queries(rng *g, const ref *r, phm_pdq *q, size_t nq)
{
    for (size_t i = 0; i < nq; i++) {
        switch (i % 4) {
        case 0:
            q[i] = rng_hash(g);
            break;
        case 1: /* near an entry, up to 40 bits */
            q[i] = rng_near(g, &r->h[rng_next(g) % r->n], (int)(rng_next(g) % 41));
            break;
        case 2: /* an entry exactly */
            q[i] = r->h[rng_next(g) % r->n];
            break;
        default: /* between two entries of a family, or far */
            q[i] = rng_near(g, &r->h[rng_next(g) % r->n], 50 + (int)(rng_next(g) % 40));
        }
    }
}

/* Compares every kind of search with brute force; returns mismatches. */
static void check_all(phm_index *idx, const ref *r, rng *g, const char *phase)
{
    enum { NQ = 100 };
    static const int radii[] = { 0, 8, 31, 64, 100 };
    static const size_t ks[] = { 1, 5, 20 };
    phm_pdq q[NQ];
    make_queries(g, r, q, NQ);
    phm_match *want = malloc(r->n * sizeof *want);
    int *dq = distances(r, q, NQ);
    phm_searcher *s;
    if (!want || !dq) {
        OK(0, "%s: out of memory", phase);
        free(want);
        free(dq);
        return;
    }
    if (phm_searcher_new(idx, &s, err, sizeof err)) {
        OK(0, "%s: searcher: %s", phase, err);
        free(want);
        free(dq);
        return;
    }
    for (size_t ri = 0; ri < sizeof radii / sizeof radii[0]; ri++) {
        size_t bad = 0, total = 0;
        for (size_t i = 0; i < NQ; i++) {
            const phm_match *m;
            size_t n;
            size_t wn = brute(r, dq + i * r->n, radii[ri], 0, want);
            total += wn;
            if (phm_search_radius(s, &q[i], radii[ri], &m, &n, err, sizeof err) ||
                n != wn || !same(m, want, n)) {
                if (!bad++ && getenv("DEBUG")) {
                    printf("# query %zu: got %zu:", i, n);
                    for (size_t j = 0; j < n && j < 5; j++)
                        printf(" (%llu,%d)", (unsigned long long)m[j].entry, m[j].distance);
                    printf(" want %zu:", wn);
                    for (size_t j = 0; j < wn && j < 5; j++)
                        printf(" (%llu,%d)", (unsigned long long)want[j].entry, want[j].distance);
                    printf(" %s\n", err);
                }
            }
        }
        IS_INT(bad, 0, "%s: radius %d on %d queries (%zu results) equals brute force",
               phase, radii[ri], NQ, total);
    }
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        for (int bound = 0; bound < 2; bound++) {
            int maxd = bound ? 31 : 256;
            size_t bad = 0;
            for (size_t i = 0; i < NQ; i += bound ? 1 : 3) {
                const phm_match *m;
                size_t n;
                size_t wn = brute(r, dq + i * r->n, maxd, ks[ki], want);
                if (phm_search_knn(s, &q[i], ks[ki], maxd, &m, &n, err, sizeof err) ||
                    n != wn || !same(m, want, n))
                    bad++;
            }
            IS_INT(bad, 0, "%s: %zu-nearest within %d equals brute force", phase, ks[ki],
                   maxd);
        }
    }
    /* batch = one by one */
    const phm_match *bm;
    const size_t *off;
    size_t bad = 0;
    if (phm_search_batch(s, q, NQ, 31, 0, &bm, &off, err, sizeof err) == PHM_OK) {
        for (size_t i = 0; i < NQ; i++) {
            size_t wn = brute(r, dq + i * r->n, 31, 0, want);
            if (off[i + 1] - off[i] != wn || !same(bm + off[i], want, wn))
                bad++;
        }
    } else {
        bad = NQ;
    }
    IS_INT(bad, 0, "%s: batch radius 31 equals brute force", phase);
    bad = 0;
    if (phm_search_batch(s, q, NQ, 64, 3, &bm, &off, err, sizeof err) == PHM_OK) {
        for (size_t i = 0; i < NQ; i++) {
            size_t wn = brute(r, dq + i * r->n, 64, 3, want);
            if (off[i + 1] - off[i] != wn || !same(bm + off[i], want, wn))
                bad++;
        }
    } else {
        bad = NQ;
    }
    IS_INT(bad, 0, "%s: batch 3-nearest within 64 equals brute force", phase);
    phm_searcher_free(s);
    /* Batches of 600 (the queries six times) at each radius, from a fresh
     * searcher whose first search is the batch. One call of the library's
     * (BATCH_QUERIES) here; test_search_cap, whose batches stop at 64
     * candidates, runs the same over many. */
    enum { NB = 6 * NQ };
    phm_pdq *bq = malloc(NB * sizeof *bq);
    for (size_t i = 0; bq && i < NB; i++)
        bq[i] = q[(i * 7) % NQ];
    for (size_t ri = 0; bq && ri < sizeof radii / sizeof radii[0]; ri++) {
        size_t bad2 = 0, total = 0;
        if (phm_searcher_new(idx, &s, err, sizeof err) ||
            phm_search_batch(s, bq, NB, radii[ri], 0, &bm, &off, err, sizeof err) != PHM_OK) {
            bad2 = NB;
        } else {
            /* Query j is bq[i] for the six i with i * 7 % NQ == j (i = j *
             * 43 % NQ + m * NQ: 7 * 43 = 301): one brute force for the six,
             * which took a quarter of this program's time done for each. */
            for (size_t j = 0; j < NQ; j++) {
                size_t wn = brute(r, dq + j * r->n, radii[ri], 0, want);
                for (size_t i = j * 43 % NQ; i < NB; i += NQ) {
                    total += wn;
                    if ((i * 7) % NQ != j || off[i + 1] - off[i] != wn ||
                        !same(bm + off[i], want, wn))
                        bad2++;
                }
            }
        }
        phm_searcher_free(s);
        IS_INT(bad2, 0, "%s: a first batch of %d at radius %d equals brute force (%zu results)",
               phase, NB, radii[ri], total);
    }
    OK(bq != NULL, "%s: batch queries", phase);
    free(bq);
    free(want);
    free(dq);
}

/* A small run (tap_small) indexes half the hashes: the same lines and
 * branches of src/ reached (a --coverage build, both sizes, this program
 * and test_search_cap; a third of them missed some). */
static void run_level(phm_simd level, int clustered, int small)
{
    const size_t nbase = small ? 6000 : 12000, nmore = small ? 1500 : 3000;
    char path[600];
    snprintf(path, sizeof path, "%s/%s-%d.phmi", dir, phm_simd_name(level), clustered);
    phm_index *idx;
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, level, err, sizeof err)) {
        OK(0, "open: %s", err);
        return;
    }
    char phase[96];
    const char *kind = clustered ? "families" : "uniform";
    rng g = { 100 + (uint64_t)level * 10 + (uint64_t)clustered };
    ref r = { 0 };
    /* 12000 hashes: uniform, or 240 families of 50 within 0..40 bits */
    for (size_t i = 0; i < nbase; i++) {
        phm_pdq h = rng_hash(&g);
        if (clustered && i % 50)
            h = rng_near(&g, &r.h[i - i % 50], (int)(rng_next(&g) % 41));
        ref_push(&r, &h);
    }
    phm_index_txn *t = begin(idx);
    for (size_t i = 0; i < r.n; i++)
        add(t, &r, i);
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "commit: %s", err);
    IS_INT(learn_eids(idx, &r), 0, "entry numbers");
    phm_index_stats st;
    phm_index_get_stats(idx, &st, err, sizeof err);
    IS_INT(st.delta_entries, nbase, "%s/%s: a small import stays in the delta",
           phm_simd_name(level), kind);
    snprintf(phase, sizeof phase, "%s/%s delta only", phm_simd_name(level), kind);
    check_all(idx, &r, &g, phase);
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "compact: %s", err);
    phm_index_get_stats(idx, &st, err, sizeof err);
    IS_INT(st.base_entries, nbase, "compacted");
    snprintf(phase, sizeof phase, "%s/%s base", phm_simd_name(level), kind);
    check_all(idx, &r, &g, phase);

    /* 3000 more, some near existing ones: a delta with its own tables */
    t = begin(idx);
    for (size_t i = 0; i < nmore; i++) {
        phm_pdq h = i % 2 ? rng_hash(&g) : rng_near(&g, &r.h[rng_next(&g) % r.n], (int)(i % 35));
        ref_push(&r, &h);
        add(t, &r, r.n - 1);
    }
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "commit delta");
    learn_eids(idx, &r);
    phm_index_get_stats(idx, &st, err, sizeof err);
    IS_INT(st.delta_entries, nmore, "%zu in the delta", nmore);
    snprintf(phase, sizeof phase, "%s/%s +delta", phm_simd_name(level), kind);
    check_all(idx, &r, &g, phase);

    /* removals from base and delta, re-hashed entries, a few additions */
    t = begin(idx);
    for (size_t i = 0; i < r.n; i += 37) {
        char id[32];
        snprintf(id, sizeof id, "%zu", i);
        int removed = 0;
        phm_index_remove(t, "s", id, &removed, err, sizeof err);
        r.live[i] = 0;
    }
    for (size_t i = 5; i < r.n; i += 101) {
        if (!r.live[i])
            continue;
        r.h[i] = rng_near(&g, &r.h[i], 3);
        add(t, &r, i);
    }
    for (size_t i = 0; i < 200; i++) {
        phm_pdq h = rng_near(&g, &r.h[rng_next(&g) % r.n], 12);
        ref_push(&r, &h);
        add(t, &r, r.n - 1);
    }
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "commit changes: %s", err);
    learn_eids(idx, &r);
    phm_index_get_stats(idx, &st, err, sizeof err);
    OK(st.dead_entries > 0, "removed base entries are pending (%llu)",
       (unsigned long long)st.dead_entries);
    snprintf(phase, sizeof phase, "%s/%s +removals", phm_simd_name(level), kind);
    check_all(idx, &r, &g, phase);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify: %s", err);

    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "compact: %s", err);
    snprintf(phase, sizeof phase, "%s/%s compacted", phm_simd_name(level), kind);
    check_all(idx, &r, &g, phase);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify compacted: %s", err);
    phm_index_close(idx);
    free(r.h);
    free(r.eid);
    free(r.live);
}

int main(void)
{
    scratch_dir(dir, sizeof dir, "search");
    static const phm_simd levels[] = { PHM_SIMD_PORTABLE, PHM_SIMD_AVX2, PHM_SIMD_AVX512 };
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (!tap_simd(levels[i]))
            continue;
        run_level(levels[i], 0, tap_small());
        run_level(levels[i], 1, tap_small());
    }
    scratch_done(dir);
    return tap_done();
}
