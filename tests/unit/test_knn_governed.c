/* test_knn_governed.c - phm_match_knn: the k nearest entries the
 * governance admits (disabled sources and entries, quarantine, a source's
 * max_distance and min_quality, suppression), checked against a brute
 * force over the entries this test planted: their distances from
 * phm_pdq_distance, the rules from the settings the test wrote, sorted by
 * distance then entry number. Also the window's bound
 * (PHM_MATCH_KNN_SKIP_MAX) on both sides. */
#include <time.h>

#include "index_util.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

enum { NQ = 4, PER_Q = 700, NFAR = 200, NSUP = 6 };
enum { S_A, S_B, S_OFF, S_HQ, S_SUP, NSRC };
static const char *const SRC[NSRC] = { "a", "b", "off", "hq", "sup" };

typedef struct model {
    int src;
    char id[24];
    phm_pdq h;
    uint64_t entry;
    int blocked; /* disabled now or quarantined */
} model;

typedef struct ref {
    uint64_t entry;
    int distance;
    int src;
} ref;

static model ents[NQ * PER_Q + NFAR + NSUP];
static size_t nents;
static int src_maxd[NSRC] = { -1, 12, -1, -1, 3 };
static const int src_minq[NSRC] = { -1, -1, -1, 80, -1 };

static int by_distance(const void *x, const void *y)
{
    const ref *a = x, *b = y;
    if (a->distance != b->distance)
        return a->distance < b->distance ? -1 : 1;
    return (a->entry > b->entry) - (a->entry < b->entry);
}

static void fail(const char *what)
{
    printf("# %s: %s\n", what, err);
    exit(2);
}

/* The reference: every planted entry the rules admit, nearest first;
 * returns their count. *supp: the nearest admitted suppression entry's
 * index in out, or -1. */
static size_t reference(const phm_pdq *q, int request, int quality, ref *out, long *supp)
{
    size_t n = 0;
    *supp = -1;
    for (size_t i = 0; i < nents; i++) {
        const model *e = &ents[i];
        int d = phm_pdq_distance(q, &e->h);
        int maxd = src_maxd[e->src] >= 0 ? src_maxd[e->src] : request;
        if (e->src == S_OFF || e->blocked || d > maxd)
            continue;
        if (quality >= 0 && src_minq[e->src] >= 0 && quality < src_minq[e->src])
            continue;
        out[n++] = (ref){ e->entry, d, e->src };
    }
    qsort(out, n, sizeof *out, by_distance);
    for (size_t i = 0; i < n; i++)
        if (out[i].src == S_SUP) {
            *supp = (long)i;
            break;
        }
    return n;
}

static void settings(phm_index *idx)
{
    for (int i = 0; i < NSRC; i++) {
        phm_source_settings st;
        phm_source_settings_init(&st);
        st.enabled = i != S_OFF;
        st.kind = i == S_SUP ? PHM_SOURCE_SUPPRESSION : PHM_SOURCE_NORMAL;
        st.max_distance = src_maxd[i];
        st.min_quality = src_minq[i];
        if (phm_index_source_set(idx, SRC[i], &st, err, sizeof err))
            fail("source settings");
    }
}

/* Compares phm_match_knn with the reference for every (query, k,
 * distance, quality); returns the number of disagreements. */
static int compare_all(phm_matcher *m, const phm_pdq *qs, int *suppressed_seen)
{
    static ref want[NQ * PER_Q + NFAR + NSUP];
    static const size_t ks[] = { 1, 3, 10, 57, 400 };
    static const int dists[] = { 31, 64 };
    static const int quals[] = { -1, 70 };
    int bad = 0;
    for (int qi = 0; qi < NQ; qi++)
        for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++)
            for (int di = 0; di < 2; di++)
                for (int ui = 0; ui < 2; ui++) {
                    long supp;
                    size_t n = reference(&qs[qi], dists[di], quals[ui], want, &supp);
                    size_t k = ks[ki], expect = n < k ? n : k;
                    phm_match_options o;
                    phm_match_options_init(&o);
                    o.max_distance = dists[di];
                    const phm_match_result *res;
                    if (phm_match_knn(m, &qs[qi], k, quals[ui], &o, &res, err, sizeof err))
                        fail("phm_match_knn");
                    int ok = res->count == expect && !res->partial &&
                             (supp >= 0 ? res->suppressed == expect && res->total == 0
                                        : res->total == expect && res->suppressed == 0);
                    for (size_t i = 0; ok && i < expect; i++) {
                        const phm_match_hit *h = &res->hits[i];
                        ok = h->entry == want[i].entry && h->distance == want[i].distance;
                        if (ok && supp >= 0)
                            ok = h->suppressed_by.entry == want[supp].entry &&
                                 h->suppressed_by.distance == want[supp].distance;
                        else if (ok)
                            ok = h->suppressed_by.source == NULL;
                    }
                    if (supp >= 0 && expect)
                        ++*suppressed_seen;
                    if (!ok && bad++ < 3)
                        printf("# query %d k %zu distance %d quality %d: %zu hits (want "
                               "%zu), suppressed %llu, partial %d\n",
                               qi, k, dists[di], quals[ui], res->count, expect,
                               (unsigned long long)res->suppressed, res->partial);
                }
    return bad;
}

static void test_bound(const char *path)
{
    phm_index *idx = NULL;
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err))
        fail("open");
    rng r = { 99 };
    phm_pdq q = rng_hash(&r);
    phm_index_txn *t;
    char id[24];
    /* PHM_MATCH_KNN_SKIP_MAX - 1000 excluded entries (a disabled source)
     * nearer than the one admitted entry: within the bound */
    size_t nex = PHM_MATCH_KNN_SKIP_MAX - 1000;
    if (phm_index_txn_begin(idx, &t, err, sizeof err))
        fail("begin");
    for (size_t i = 0; i < nex + 2000; i++) {
        snprintf(id, sizeof id, "x%zu", i);
        phm_entry e = { .source = i < nex ? "off" : "later", .id = id, .category = "C",
                        .signals = PHM_SIG_PDQ, .quality = 90,
                        .pdq = rng_near(&r, &q, (int)(i % 8)) };
        if (phm_index_add(t, &e, err, sizeof err))
            fail("add");
    }
    phm_pdq w = rng_near(&r, &q, 20);
    phm_entry e = { .source = "a", .id = "w", .category = "C", .signals = PHM_SIG_PDQ,
                    .quality = 90, .pdq = w };
    if (phm_index_add(t, &e, err, sizeof err) || phm_index_txn_commit(t, NULL, err, sizeof err))
        fail("commit");
    phm_source_settings st;
    phm_source_settings_init(&st);
    st.enabled = 0;
    if (phm_index_source_set(idx, "off", &st, err, sizeof err) ||
        phm_index_source_set(idx, "later", &st, err, sizeof err))
        fail("settings");
    phm_searcher *s;
    phm_matcher *m;
    if (phm_searcher_new(idx, &s, err, sizeof err) || phm_matcher_new(s, &m))
        fail("searcher");
    const phm_match_result *res;
    IS_INT(phm_match_knn(m, &q, 1, -1, NULL, &res, err, sizeof err), PHM_OK,
           "bound: k 1 past %zu excluded entries", nex + 2000);
    OK(res->count == 0 && res->partial == 1,
       "... more than PHM_MATCH_KNN_SKIP_MAX excluded: no hit, partial set");
    st.enabled = 1;
    if (phm_index_source_set(idx, "later", &st, err, sizeof err))
        fail("settings");
    IS_INT(phm_match_knn(m, &q, 1, -1, NULL, &res, err, sizeof err), PHM_OK,
           "bound: 'later' enabled again");
    OK(res->count == 1 && res->partial == 0 && res->hits[0].distance <= 7 &&
           strcmp(res->hits[0].e.source, "later") == 0,
       "... the nearest admitted entry past %zu excluded ones", nex);
    phm_matcher_free(m);
    phm_searcher_free(s);
    phm_index_close(idx);
}

int main(void)
{
    rng r = { 18 };
    char path[600], path2[600];
    scratch_dir(dir, sizeof dir, "knngov");
    snprintf(path, sizeof path, "%s/k.phmi", dir);
    snprintf(path2, sizeof path2, "%s/bound.phmi", dir);

    phm_index *idx = NULL;
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err))
        fail("open");
    phm_pdq qs[NQ];
    for (int i = 0; i < NQ; i++)
        qs[i] = rng_hash(&r);
    for (int i = 0; i < NQ * PER_Q + NFAR + NSUP; i++) {
        model *e = &ents[nents++];
        if (i < NQ * PER_Q) {
            e->src = (int)(rng_next(&r) % S_SUP);
            e->h = rng_near(&r, &qs[i % NQ], (int)(rng_next(&r) % 72));
        } else if (i < NQ * PER_Q + NFAR) {
            e->src = (int)(rng_next(&r) % S_SUP);
            e->h = rng_hash(&r);
        } else {
            e->src = S_SUP;
            e->h = rng_near(&r, &qs[i % NQ], 2 + (int)(rng_next(&r) % 30));
        }
        snprintf(e->id, sizeof e->id, "e%d", i);
    }
    phm_index_txn *t;
    if (phm_index_txn_begin(idx, &t, err, sizeof err))
        fail("begin");
    for (size_t i = 0; i < nents; i++) {
        phm_entry e = { .source = SRC[ents[i].src], .id = ents[i].id, .category = "C",
                        .signals = PHM_SIG_PDQ, .quality = 90, .pdq = ents[i].h };
        if (phm_index_add(t, &e, err, sizeof err))
            fail("add");
    }
    if (phm_index_txn_commit(t, NULL, err, sizeof err))
        fail("commit");
    settings(idx);

    /* a's entries: a third disabled (half of them until an hour from
     * now, half until enabled), a few with a disable that has expired;
     * b's: every fifth quarantined */
    int64_t now = (int64_t)time(NULL);
    size_t ndis = 0, nquar = 0;
    for (size_t i = 0; i < nents; i++) {
        model *e = &ents[i];
        const char *ids[1] = { e->id };
        if (e->src == S_A && i % 3 == 0) {
            int64_t until = i % 2 ? now + 3600 : 0;
            if (phm_index_entries_disable(idx, "a", ids, 1, 1, until, err, sizeof err))
                fail("disable");
            e->blocked = 1;
            ndis++;
        } else if (e->src == S_A && i % 7 == 0) {
            if (phm_index_entries_disable(idx, "a", ids, 1, 1, now - 5, err, sizeof err))
                fail("disable");
        } else if (e->src == S_B && i % 5 == 0) {
            if (phm_index_quarantine_add(idx, "b", e->id, now, 3, err, sizeof err))
                fail("quarantine");
            e->blocked = 1;
            nquar++;
        }
    }
    phm_searcher *s;
    phm_matcher *m;
    if (phm_searcher_new(idx, &s, err, sizeof err) || phm_matcher_new(s, &m))
        fail("searcher");
    for (size_t i = 0; i < nents; i++)
        if (phm_searcher_find(s, SRC[ents[i].src], ents[i].id, &ents[i].entry, err,
                              sizeof err))
            fail("find");
    phm_searcher_release(s);
    printf("# %zu entries, %zu disabled, %zu quarantined\n", nents, ndis, nquar);

    int supp_seen = 0;
    IS_INT(compare_all(m, qs, &supp_seen), 0,
           "k nearest admitted = the brute force (suppression distance 3)");
    src_maxd[S_SUP] = 40;
    settings(idx);
    int before = supp_seen;
    IS_INT(compare_all(m, qs, &supp_seen), 0,
           "k nearest admitted = the brute force (suppression distance 40)");
    OK(supp_seen > before, "... suppressed queries among them (%d)", supp_seen - before);
    src_maxd[S_SUP] = -1;
    settings(idx);
    IS_INT(compare_all(m, qs, &supp_seen), 0,
           "k nearest admitted = the brute force (suppression at the request's distance)");

    /* The old way, governance after the k nearest, comes up short. */
    const phm_match *raw;
    size_t nraw;
    const phm_match_result *res;
    phm_match_options o;
    phm_match_options_init(&o);
    o.max_distance = 64;
    static ref want[NQ * PER_Q + NFAR + NSUP];
    long supp;
    size_t n = reference(&qs[0], 64, -1, want, &supp);
    OK(phm_search_knn(s, &qs[0], 10, 64, &raw, &nraw, err, sizeof err) == PHM_OK &&
           phm_match_results(m, raw, nraw, -1, &o, &res, err, sizeof err) == PHM_OK &&
           res->count + res->suppressed < 10 && n >= 10,
       "governing the 10 nearest leaves fewer than 10 (%zu admitted exist)", n);
    IS_INT(phm_match_knn(m, &qs[0], 10, -1, &o, &res, err, sizeof err), PHM_OK,
           "phm_match_knn k 10");
    IS_INT((int)res->count, 10, "... 10 hits");
    IS_INT(phm_match_knn(m, &qs[0], 0, -1, &o, &res, err, sizeof err), PHM_ERR_INVALID,
           "k 0: invalid");
    o.max_distance = 300;
    IS_INT(phm_match_knn(m, &qs[0], 1, -1, &o, &res, err, sizeof err), PHM_ERR_INVALID,
           "max_distance 300: invalid");
    phm_matcher_free(m);
    phm_searcher_free(s);
    phm_index_close(idx);

    test_bound(path2);
    scratch_done(dir);
    return tap_done();
}
