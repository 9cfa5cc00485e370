/* test_index_defer.c - adds out of key order into a fresh index
 * (src/lib/index_write.c, deferred keys, wt-import): ids that are line
 * numbers ("10" sorts before "9") are written at once in the order of the
 * adds, only their keys buffered until a repeated key, a removal or the
 * commit. Checked against an index of the same entries added in key order
 * (the direct path): every id finds its hash, searches give the same ids,
 * phm_index_verify passes; entry numbers follow the adds; a repeated id
 * (same hash, another hash, with and without unique ids), a removal, an
 * abort, a bad entry in the middle, the plan thread, and a second import
 * into the built index; each kind of key the deferral tells repeats of
 * apart by (line numbers of one source: a bit each; other sources, ids
 * with a leading zero, not numbers, large numbers: a table of hashes)
 * repeated after all the others. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "index_util.h"
#include "tap.h"

#define N 3000

static phm_pdq H[N + 101]; /* ids 1..N, then N + 1..N + 100 */

static phm_index *open_new(const char *dir, const char *name)
{
    char path[600], err[PHM_ERRMSG_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    phm_index *idx = NULL;
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err))
        fprintf(stderr, "# %s\n", err);
    return idx;
}

/* Adds id i ("<i>" in decimal) with hash h. */
static int add_id(phm_index_txn *t, size_t i, const phm_pdq *h)
{
    char id[24], err[PHM_ERRMSG_MAX];
    snprintf(id, sizeof id, "%zu", i);
    phm_entry e = { .source = "s", .id = id, .category = "c", .signals = PHM_SIG_PDQ,
                    .quality = 90, .pdq = *h };
    int st = phm_index_add(t, &e, err, sizeof err);
    if (st && st != PHM_ERR_INVALID)
        fprintf(stderr, "# add %zu: %s\n", i, err);
    return st;
}

/* Adds ids from..to with their hashes H[]. */
static int add_ids(phm_index_txn *t, size_t from, size_t to)
{
    int st = PHM_OK;
    for (size_t i = from; !st && i <= to; i++)
        st = add_id(t, i, &H[i]);
    return st;
}

static int verify_ok(phm_index *idx)
{
    char err[PHM_ERRMSG_MAX];
    int st = phm_index_verify(idx, err, sizeof err);
    if (st)
        fprintf(stderr, "# verify: %s\n", err);
    return st == PHM_OK;
}

/* Entry number of id i, or UINT64_MAX when not found; its hash in *h. */
static uint64_t find_id(phm_index *idx, size_t i, phm_pdq *h)
{
    char id[24], err[PHM_ERRMSG_MAX];
    snprintf(id, sizeof id, "%zu", i);
    phm_searcher *s;
    uint64_t eid = UINT64_MAX;
    if (phm_searcher_new(idx, &s, err, sizeof err))
        return eid;
    phm_entry e;
    if (phm_searcher_find(s, "s", id, &eid, err, sizeof err) != PHM_OK ||
        phm_searcher_get(s, eid, &e, err, sizeof err) != PHM_OK)
        eid = UINT64_MAX;
    else if (h)
        *h = e.pdq;
    phm_searcher_free(s);
    return eid;
}

/* Whether ids 1..n are each found with hash H[i]. */
static int all_found(phm_index *idx, size_t n)
{
    phm_searcher *s;
    char err[PHM_ERRMSG_MAX];
    if (phm_searcher_new(idx, &s, err, sizeof err))
        return 0;
    int ok = 1;
    for (size_t i = 1; ok && i <= n; i++) {
        char id[24];
        snprintf(id, sizeof id, "%zu", i);
        uint64_t eid;
        phm_entry e;
        ok = phm_searcher_find(s, "s", id, &eid, err, sizeof err) == PHM_OK &&
             phm_searcher_get(s, eid, &e, err, sizeof err) == PHM_OK &&
             memcmp(&e.pdq, &H[i], sizeof e.pdq) == 0;
        if (!ok)
            fprintf(stderr, "# id %zu: %s\n", i, err);
    }
    phm_searcher_free(s);
    return ok;
}

/* The ids (as numbers, sorted) within radius 31 of q, into ids[]. */
static size_t search_ids(phm_index *idx, const phm_pdq *q, size_t *ids, size_t max)
{
    phm_searcher *s;
    char err[PHM_ERRMSG_MAX];
    if (phm_searcher_new(idx, &s, err, sizeof err))
        return 0;
    const phm_match *m;
    size_t cnt = 0, n = 0;
    if (phm_search_radius(s, q, 31, &m, &cnt, err, sizeof err) == PHM_OK) {
        for (size_t i = 0; i < cnt && n < max; i++) {
            phm_entry e;
            if (phm_searcher_get(s, m[i].entry, &e, err, sizeof err) == PHM_OK)
                ids[n++] = strtoull(e.id, NULL, 10);
        }
    }
    phm_searcher_free(s);
    for (size_t i = 1; i < n; i++) /* insertion sort: a few ids */
        for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            size_t x = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = x;
        }
    return n;
}

/* Adds source:id with hash h; the library status. */
static int add_named(phm_index_txn *t, const char *source, const char *id, const phm_pdq *h)
{
    char err[PHM_ERRMSG_MAX];
    phm_entry e = { .source = source, .id = id, .signals = PHM_SIG_PDQ, .quality = 90,
                    .pdq = *h };
    return phm_index_add(t, &e, err, sizeof err);
}

/* Keys of each kind the deferral tells apart (a bit per line number of
 * one source; a table of hashes for the rest), after ids 1..20 of s. */
static const struct {
    const char *source, *id;
} mixed[] = {
    { "t", "3" }, { "t", "1" },  { "s", "x1" }, { "s", "007" },
    { "s", "200000000" },        { "s", "0" },  { "s", "134217727" },
};
#define NMIXED (sizeof mixed / sizeof mixed[0])

/* A fresh index: s 1..20, the mixed keys, then key `again` (an index in
 * mixed, or 100 + a line number of s) once more with its hash. Whether
 * the counts are 20 + NMIXED added and 1 unchanged, every key is found
 * with its hash, and verify passes. */
static int mixed_repeat(const char *dir, size_t again, const char *name)
{
    char err[PHM_ERRMSG_MAX];
    phm_index *idx = open_new(dir, name);
    phm_index_txn *t;
    if (!idx || phm_index_txn_begin(idx, &t, err, sizeof err))
        return 0;
    int ok = add_ids(t, 1, 20) == PHM_OK;
    for (size_t i = 0; ok && i < NMIXED; i++)
        ok = add_named(t, mixed[i].source, mixed[i].id, &H[100 + i]) == PHM_OK;
    if (ok && again >= 100)
        ok = add_id(t, again - 100, &H[again - 100]) == PHM_OK;
    else if (ok)
        ok = add_named(t, mixed[again].source, mixed[again].id, &H[100 + again]) == PHM_OK;
    phm_index_counts c;
    ok = ok && phm_index_txn_commit(t, &c, err, sizeof err) == PHM_OK &&
         c.added == 20 + NMIXED && c.unchanged == 1 && c.updated == 0;
    if (!ok)
        fprintf(stderr, "# %s: %s\n", name, err);
    phm_searcher *s;
    if (ok && phm_searcher_new(idx, &s, err, sizeof err) == PHM_OK) {
        for (size_t i = 0; ok && i < NMIXED; i++) {
            uint64_t eid;
            phm_entry e;
            ok = phm_searcher_find(s, mixed[i].source, mixed[i].id, &eid, err, sizeof err) ==
                     PHM_OK &&
                 phm_searcher_get(s, eid, &e, err, sizeof err) == PHM_OK &&
                 memcmp(&e.pdq, &H[100 + i], sizeof e.pdq) == 0;
        }
        phm_searcher_free(s);
    }
    ok = ok && all_found(idx, 20) && verify_ok(idx);
    phm_index_close(idx);
    return ok;
}

static int cmp_dec(const void *a, const void *b)
{
    char x[24], y[24];
    snprintf(x, sizeof x, "%zu", *(const size_t *)a);
    snprintf(y, sizeof y, "%zu", *(const size_t *)b);
    return strcmp(x, y);
}

int main(void)
{
    rng r = { 17 };
    for (size_t i = 0; i < sizeof H / sizeof H[0]; i++)
        H[i] = rng_hash(&r);
    /* near neighbours, so that searches find several ids */
    for (size_t i = 2; i <= N; i += 5)
        H[i] = rng_near(&r, &H[i - 1], 8);
    char dir[512], err[PHM_ERRMSG_MAX];
    scratch_dir(dir, sizeof dir, "defer");
    phm_index_txn *t;
    phm_index_counts c;

    /* line numbers 1..N, and the same entries in key order */
    phm_index *a = open_new(dir, "a.phmi"), *b = open_new(dir, "b.phmi");
    OK(a && b, "indexes created");
    if (!a || !b)
        return tap_done();
    phm_index_txn_begin(a, &t, err, sizeof err);
    OK(add_ids(t, 1, N) == PHM_OK, "ids 1..%d added in line order", N);
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "committed");
    OK(c.added == N && c.updated == 0 && c.unchanged == 0, "%d added (%llu)", N,
       (unsigned long long)c.added);
    size_t ord[N];
    for (size_t i = 0; i < N; i++)
        ord[i] = i + 1;
    qsort(ord, N, sizeof *ord, cmp_dec);
    phm_index_txn_begin(b, &t, err, sizeof err);
    int st = PHM_OK;
    for (size_t i = 0; !st && i < N; i++)
        st = add_id(t, ord[i], &H[ord[i]]);
    OK(st == PHM_OK && phm_index_txn_commit(t, NULL, err, sizeof err) == PHM_OK,
       "the same entries in key order");
    OK(verify_ok(a) && verify_ok(b), "both verify");
    OK(all_found(a, N), "line order: every id has its hash");
    OK(all_found(b, N), "key order: every id has its hash");
    uint64_t e9 = find_id(a, 9, NULL), e10 = find_id(a, 10, NULL), e1 = find_id(a, 1, NULL);
    OK(e10 == e9 + 1 && e1 + 8 == e9, "entry numbers in the order of the adds (1: %llu, 9: "
       "%llu, 10: %llu)", (unsigned long long)e1, (unsigned long long)e9,
       (unsigned long long)e10);
    int same = 1;
    size_t total = 0;
    for (size_t q = 1; q <= N; q += 97) {
        size_t ia[64], ib[64];
        size_t na = search_ids(a, &H[q], ia, 64), nb = search_ids(b, &H[q], ib, 64);
        same = same && na == nb && na >= 1 && memcmp(ia, ib, na * sizeof *ia) == 0;
        total += na;
    }
    OK(same, "radius searches give the same ids in both (%zu hits)", total);
    /* a second import into the built index: not fresh, buffered as before */
    phm_index_txn_begin(a, &t, err, sizeof err);
    phm_pdq x = rng_hash(&r);
    OK(add_ids(t, N + 1, N + 100) == PHM_OK && add_id(t, 3, &x) == PHM_OK,
       "a second import: 100 new ids and id 3 again");
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "committed");
    OK(c.added == 100 && c.updated == 1, "100 added, 1 updated");
    phm_pdq got;
    OK(find_id(a, 3, &got) != UINT64_MAX && memcmp(&got, &x, sizeof x) == 0 && verify_ok(a),
       "id 3 has its new hash; verify passes");
    phm_index_close(a);
    phm_index_close(b);

    /* a repeated id after the deferral began: the same hash, another */
    a = open_new(dir, "c.phmi");
    phm_index_txn_begin(a, &t, err, sizeof err);
    OK(add_ids(t, 1, 20) == PHM_OK, "ids 1..20");
    OK(add_id(t, 5, &H[5]) == PHM_OK && add_id(t, 7, &x) == PHM_OK,
       "id 5 again (same hash), id 7 again (another)");
    OK(add_ids(t, 21, 30) == PHM_OK, "then ids 21..30");
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "committed");
    OK(c.added == 30 && c.unchanged == 1 && c.updated == 1,
       "30 added, 1 unchanged, 1 updated (%llu %llu %llu)", (unsigned long long)c.added,
       (unsigned long long)c.unchanged, (unsigned long long)c.updated);
    OK(find_id(a, 7, &got) != UINT64_MAX && memcmp(&got, &x, sizeof x) == 0,
       "id 7 has the later hash");
    H[7] = x;
    OK(all_found(a, 30) && verify_ok(a), "every id found; verify passes");
    phm_index_close(a);

    /* unique ids: another hash for an id is refused, the import goes on */
    a = open_new(dir, "d.phmi");
    phm_index_txn_begin(a, &t, err, sizeof err);
    phm_index_txn_unique_ids(t, 1);
    OK(add_ids(t, 1, 20) == PHM_OK, "unique: ids 1..20");
    phm_pdq y = rng_hash(&r);
    IS_INT(add_id(t, 12, &y), PHM_ERR_INVALID, "unique: id 12 with another hash refused");
    IS_INT(add_id(t, 12, &H[12]), PHM_OK, "unique: id 12 with its hash");
    OK(add_ids(t, 21, 25) == PHM_OK, "unique: ids 21..25");
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "committed");
    OK(c.added == 25 && c.unchanged == 1 && c.updated == 0, "25 added, 1 unchanged");
    OK(all_found(a, 25) && verify_ok(a), "every id has its first hash; verify passes");
    phm_index_close(a);

    /* a removal while keys are deferred, and a bad entry in the middle */
    a = open_new(dir, "e.phmi");
    phm_index_txn_begin(a, &t, err, sizeof err);
    OK(add_ids(t, 1, 15) == PHM_OK, "ids 1..15");
    int removed = 0;
    OK(phm_index_remove(t, "s", "12", &removed, err, sizeof err) == PHM_OK && removed == 1,
       "id 12 removed");
    phm_entry bad = { .source = "s", .id = "", .signals = PHM_SIG_PDQ, .quality = 90,
                      .pdq = H[1] };
    IS_INT(phm_index_add(t, &bad, err, sizeof err), PHM_ERR_INVALID, "an empty id refused");
    OK(add_ids(t, 16, 20) == PHM_OK, "ids 16..20");
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "committed");
    OK(find_id(a, 12, NULL) == UINT64_MAX && find_id(a, 11, NULL) != UINT64_MAX &&
           find_id(a, 20, NULL) != UINT64_MAX,
       "id 12 is gone, 11 and 20 are there");
    phm_index_stats stats;
    OK(phm_index_get_stats(a, &stats, err, sizeof err) == PHM_OK && stats.entries == 19 &&
           verify_ok(a),
       "19 entries; verify passes");
    phm_index_close(a);

    /* an abort while keys are deferred leaves nothing */
    a = open_new(dir, "f.phmi");
    phm_index_txn_begin(a, &t, err, sizeof err);
    OK(add_ids(t, 1, 50) == PHM_OK, "ids 1..50");
    phm_index_txn_abort(t);
    OK(phm_index_get_stats(a, &stats, err, sizeof err) == PHM_OK && stats.entries == 0 &&
           find_id(a, 10, NULL) == UINT64_MAX && verify_ok(a),
       "aborted: no entry, verify passes");
    phm_index_close(a);

    /* each kind of key repeated: found again, counted unchanged */
    for (size_t k = 0; k < NMIXED; k++) {
        char name[32];
        snprintf(name, sizeof name, "m%zu.phmi", k);
        OK(mixed_repeat(dir, k, name), "key %s:%s repeated after the mixed keys",
           mixed[k].source, mixed[k].id);
    }
    OK(mixed_repeat(dir, 100 + 7, "m7.phmi"), "line 7 repeated after the mixed keys "
       "(007 is another id)");
    OK(mixed_repeat(dir, 100 + 20, "m20.phmi"), "line 20 repeated after the mixed keys");

    /* line numbers and other ids interleaved, enough of the others for
     * their table to grow (it refiles only its own keys) */
    a = open_new(dir, "n.phmi");
    phm_index_txn_begin(a, &t, err, sizeof err);
    st = PHM_OK;
    for (size_t i = 1; !st && i <= N; i++) {
        char id[24];
        snprintf(id, sizeof id, "x%zu", i);
        st = add_id(t, i, &H[i]);
        if (!st)
            st = add_named(t, "s", id, &H[i]);
    }
    OK(st == PHM_OK && phm_index_txn_commit(t, &c, err, sizeof err) == PHM_OK &&
           c.added == 2 * N,
       "ids 1..%d and x1..x%d interleaved: %d added", N, N, 2 * N);
    phm_pdq hx;
    OK(all_found(a, N) && find_id(a, 1, &hx) != UINT64_MAX && verify_ok(a),
       "every line number found; verify passes");
    phm_index_close(a);

    /* numbered keys written by the walk of decimal prefixes (no sort):
     * sparse numbers that make it go down, up past 9s and past the
     * largest number, merged with the other keys of their source that
     * sort between them, and a number first stored directly (2), then
     * taken out when the deferral began */
    static const char *const walk[] = {
        "2", "10", "0", "9", "99", "100", "19", "1000", "999", "1234", "98765", "1a",
        "007", "0x", "9z", "134217727", "134217728", "20", "3", "1", "199", "2000",
    };
    const size_t nwalk = sizeof walk / sizeof walk[0];
    a = open_new(dir, "w.phmi");
    phm_index_txn_begin(a, &t, err, sizeof err);
    st = PHM_OK;
    for (size_t i = 0; !st && i < nwalk; i++)
        st = add_named(t, "w", walk[i], &H[i + 1]);
    if (!st)
        st = add_named(t, "v", "3", &H[nwalk + 1]); /* another source: not numbered */
    OK(st == PHM_OK && phm_index_txn_commit(t, &c, err, sizeof err) == PHM_OK &&
           c.added == nwalk + 1,
       "sparse numbers and other ids of one source: %zu added", nwalk + 1);
    phm_searcher *ws;
    int found = 1;
    if (phm_searcher_new(a, &ws, err, sizeof err) == PHM_OK) {
        for (size_t i = 0; i <= nwalk; i++) {
            uint64_t eid;
            phm_entry e;
            found = found &&
                    phm_searcher_find(ws, i < nwalk ? "w" : "v", i < nwalk ? walk[i] : "3",
                                      &eid, err, sizeof err) == PHM_OK &&
                    phm_searcher_get(ws, eid, &e, err, sizeof err) == PHM_OK &&
                    memcmp(&e.pdq, &H[i + 1], sizeof e.pdq) == 0;
            if (!found) {
                fprintf(stderr, "# not found: %s\n", i < nwalk ? walk[i] : "v:3");
                break;
            }
        }
        phm_searcher_free(ws);
    } else {
        found = 0;
    }
    OK(found && verify_ok(a), "each found with its hash (keys in order); verify passes");
    phm_index_close(a);

    /* numbers too sparse for the bits are deferred as other ids are
     * (nums_fits): three lines up to 2^27 - 1 map no half gigabyte of
     * entry numbers, and a number first deferred that way is still
     * known when it comes again after the bits grew past it */
    a = open_new(dir, "s.phmi");
    phm_index_txn_begin(a, &t, err, sizeof err);
    st = add_named(t, "s", "2", &H[1]);
    if (!st)
        st = add_named(t, "s", "1", &H[2]);
    if (!st)
        st = add_named(t, "s", "134217727", &H[3]);
    if (!st)
        st = add_named(t, "s", "70000", &H[4]);
#ifdef __GLIBC__
    struct mallinfo2 mi = mallinfo2();
    OK(st == PHM_OK && mi.hblkhd < ((size_t)64 << 20),
       "4 sparse numbers deferred: %zu MB mapped (< 64)", mi.hblkhd >> 20);
#endif
    for (size_t i = 3; !st && i <= 40; i++) {
        char id[16];
        snprintf(id, sizeof id, "%zu", i);
        st = add_named(t, "s", id, &H[i + 2]);
    }
    if (!st) /* again, once 70000 would fit the bits */
        st = add_named(t, "s", "70000", &H[50]);
    OK(st == PHM_OK && phm_index_txn_commit(t, &c, err, sizeof err) == PHM_OK &&
           c.added == 42,
       "sparse and dense numbers, one repeated: 42 added");
    uint64_t seid;
    phm_entry se;
    found = phm_searcher_new(a, &ws, err, sizeof err) == PHM_OK &&
            phm_searcher_find(ws, "s", "70000", &seid, err, sizeof err) == PHM_OK &&
            phm_searcher_get(ws, seid, &se, err, sizeof err) == PHM_OK &&
            memcmp(&se.pdq, &H[50], sizeof se.pdq) == 0 &&
            phm_searcher_find(ws, "s", "134217727", &seid, err, sizeof err) == PHM_OK;
    if (ws)
        phm_searcher_free(ws);
    OK(found && verify_ok(a), "the repeated number has its last hash; verify passes");
    phm_index_close(a);

    /* big enough for the plan thread (its threshold lowered) */
    setenv("PHM_INDEX_TEST_PLAN", "500", 1);
    a = open_new(dir, "g.phmi");
    phm_index_txn_begin(a, &t, err, sizeof err);
    OK(add_ids(t, 1, N) == PHM_OK, "with the plan thread: ids 1..%d", N);
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "committed");
    OK(c.added == N && all_found(a, N) && verify_ok(a), "every id found; verify passes");
    phm_index_close(a);
    unsetenv("PHM_INDEX_TEST_PLAN");

    scratch_done(dir);
    return tap_done();
}
