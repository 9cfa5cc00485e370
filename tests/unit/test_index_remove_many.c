/*
 * test_index_remove_many.c - phm_index_remove_many, the removal of a
 * feed's deletions in one pass: on an index of three sources, a list of
 * names in random order (some named twice, some not stored, some of a
 * source the index does not have, some added earlier in the same
 * transaction) leaves exactly the entries an independent model keeps,
 * and the same entries (same hashes and fields) as phm_index_remove
 * called once per name on a copy; removed entries are no longer found by
 * a search, the others are; the index verifies. An invalid name refuses
 * the whole call (its index in *bad, nothing removed, the transaction
 * usable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_util.h"
#include "phmatch.h"
#include "tap.h"

#define NSRC 3
#define PER_SRC 6000  /* entries of each source at first */
#define NEW 200       /* added to source 0 in the transaction of the removal */
#define NDEL 9000     /* names in the deletion list */

static const char *const SRC[NSRC] = { "feed-a", "feed-b", "feed-c" };

/* Entry (source s, number k): id "k", its hash from the seed. */
static phm_pdq entry_hash(int s, int k)
{
    rng r = { 0x1234u + (uint64_t)s * 1000003u + (uint64_t)k * 7919u };
    return rng_hash(&r);
}

static int add_entry(phm_index_txn *txn, int s, int k)
{
    char id[32], err[PHM_ERRMSG_MAX];
    phm_entry e;
    memset(&e, 0, sizeof e);
    snprintf(id, sizeof id, "%d", k);
    e.signals = PHM_SIG_PDQ;
    e.source = SRC[s];
    e.id = id;
    e.category = k % 2 ? "odd" : "even";
    e.quality = 90;
    e.pdq = entry_hash(s, k);
    int rc = phm_index_add(txn, &e, err, sizeof err);
    if (rc)
        printf("# add: %s\n", err);
    return rc;
}

static int build(const char *path)
{
    phm_index *idx;
    phm_index_txn *txn;
    char err[PHM_ERRMSG_MAX];
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err) ||
        phm_index_txn_begin(idx, &txn, err, sizeof err)) {
        printf("# %s\n", err);
        return -1;
    }
    for (int s = 0; s < NSRC; s++)
        for (int k = 0; k < PER_SRC; k++)
            if (add_entry(txn, s, k))
                return -1;
    int rc = phm_index_txn_commit(txn, NULL, err, sizeof err);
    phm_index_close(idx);
    return rc;
}

/* The entries as text lines "source id category hash", sorted. */
typedef struct lines {
    char **l;
    size_t n, cap;
} lines;

static int collect(void *ctx, uint64_t entry, const phm_entry *e)
{
    (void)entry;
    lines *ls = ctx;
    char hex[PHM_PDQ_HEX_LEN + 1], buf[512];
    phm_pdq_to_hex(&e->pdq, hex);
    snprintf(buf, sizeof buf, "%s %s %s %s", e->source, e->id, e->category, hex);
    if (ls->n == ls->cap) {
        ls->cap = ls->cap ? 2 * ls->cap : 1024;
        ls->l = realloc(ls->l, ls->cap * sizeof *ls->l);
        if (!ls->l)
            return 1;
    }
    ls->l[ls->n++] = strdup(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_of(phm_index *idx, lines *ls)
{
    char err[PHM_ERRMSG_MAX];
    memset(ls, 0, sizeof *ls);
    if (phm_index_foreach(idx, collect, ls, err, sizeof err))
        printf("# foreach: %s\n", err);
    qsort(ls->l, ls->n, sizeof *ls->l, cmp_str);
}

static void lines_free(lines *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->l[i]);
    free(ls->l);
}

int main(void)
{
    char dir[256], pa[300], pb[300], err[PHM_ERRMSG_MAX];
    scratch_dir(dir, sizeof dir, "remove-many");
    snprintf(pa, sizeof pa, "%s/a.phmi", dir);
    snprintf(pb, sizeof pb, "%s/b.phmi", dir);
    if (build(pa) || build(pb))
        return 2;

    /* the deletion list, and the model: present[s][k] */
    static unsigned char present[NSRC][PER_SRC + NEW];
    for (int s = 0; s < NSRC; s++)
        for (int k = 0; k < PER_SRC + NEW; k++)
            present[s][k] = s != 0 && k >= PER_SRC ? 0 : 1;
    static char ids[NDEL][16];
    static phm_entry_name names[NDEL];
    rng r = { 42 };
    uint64_t want_removed = 0;
    for (int i = 0; i < NDEL; i++) {
        uint64_t x = rng_next(&r);
        int s = (int)(x % NSRC), k = (int)((x >> 8) % (PER_SRC + NEW));
        const char *src = SRC[s];
        if (x % 50 == 0) {
            src = "no-such-source";
        } else if (i > 0 && x % 10 == 1) { /* a name again */
            names[i] = names[i - 1];
            continue;
        }
        snprintf(ids[i], sizeof ids[i], "%d", k);
        names[i].source = src;
        names[i].id = ids[i];
        if (src == SRC[s] && present[s][k]) {
            present[s][k] = 0;
            want_removed++;
        }
    }

    /* a: one phm_index_remove_many, after adds in the same transaction */
    phm_index *a, *b;
    phm_index_txn *txn;
    uint64_t removed = 0;
    size_t bad = 0;
    phm_index_counts ca, cb;
    if (phm_index_open(&a, pa, 0, 0, PHM_SIMD_AUTO, err, sizeof err) ||
        phm_index_open(&b, pb, 0, 0, PHM_SIMD_AUTO, err, sizeof err) ||
        phm_index_txn_begin(a, &txn, err, sizeof err)) {
        printf("# %s\n", err);
        return 2;
    }
    for (int k = PER_SRC; k < PER_SRC + NEW; k++)
        if (add_entry(txn, 0, k))
            return 2;

    /* an invalid name (a source of 129 bytes) at 3: nothing removed */
    char longsrc[PHM_INDEX_MAX_SOURCE + 2];
    memset(longsrc, 's', sizeof longsrc - 1);
    longsrc[sizeof longsrc - 1] = '\0';
    phm_entry_name inv[5] = { names[0], names[1], names[2], { longsrc, "1" }, names[4] };
    IS_INT(phm_index_remove_many(txn, inv, 5, &removed, &bad, err, sizeof err), PHM_ERR_INVALID,
           "a source of 129 bytes: PHM_ERR_INVALID");
    IS_INT((int)bad, 3, "... *bad is its index");
    OK(strstr(err, "source is empty or longer than 128 bytes") != NULL, "... said: %s", err);
    phm_index_txn_counts(txn, &ca);
    OK(removed == 0 && ca.removed == 0, "... nothing removed");
    inv[3].source = SRC[1];
    inv[3].id = "";
    IS_INT(phm_index_remove_many(txn, inv, 5, NULL, &bad, err, sizeof err), PHM_ERR_INVALID,
           "an empty id: PHM_ERR_INVALID");
    IS_INT((int)bad, 3, "... at 3");
    IS_INT(phm_index_remove_many(txn, names, 0, &removed, NULL, err, sizeof err), PHM_OK,
           "no names: PHM_OK");

    IS_INT(phm_index_remove_many(txn, names, NDEL, &removed, &bad, err, sizeof err), PHM_OK,
           "%d names removed in one call", NDEL);
    OK(removed == want_removed, "... *removed %llu, as the model (%llu)",
       (unsigned long long)removed, (unsigned long long)want_removed);
    IS_INT(phm_index_txn_commit(txn, &ca, err, sizeof err), PHM_OK, "committed");
    OK(ca.removed == want_removed && ca.added == NEW, "... counts: removed %llu, added %llu",
       (unsigned long long)ca.removed, (unsigned long long)ca.added);

    /* b: the same changes, one phm_index_remove a name */
    if (phm_index_txn_begin(b, &txn, err, sizeof err))
        return 2;
    for (int k = PER_SRC; k < PER_SRC + NEW; k++)
        if (add_entry(txn, 0, k))
            return 2;
    int rc = PHM_OK;
    for (int i = 0; i < NDEL && rc == PHM_OK; i++)
        rc = phm_index_remove(txn, names[i].source, names[i].id, NULL, err, sizeof err);
    IS_INT(rc, PHM_OK, "the same names removed one by one on a copy");
    IS_INT(phm_index_txn_commit(txn, &cb, err, sizeof err), PHM_OK, "... committed");
    OK(cb.removed == ca.removed, "... the same count removed (%llu)",
       (unsigned long long)cb.removed);

    /* what is left: the model's entries, and the copy's */
    lines la, lb;
    lines_of(a, &la);
    lines_of(b, &lb);
    size_t want = 0, missing = 0, differ = 0;
    for (int s = 0; s < NSRC; s++)
        for (int k = 0; k < PER_SRC + NEW; k++) {
            if (!present[s][k])
                continue;
            want++;
            char key[64];
            const char *kp = key;
            snprintf(key, sizeof key, "%s %d %s", SRC[s], k, k % 2 ? "odd" : "even");
            /* binary search by prefix */
            size_t lo = 0, hi = la.n;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (strncmp(la.l[mid], kp, strlen(kp)) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            char hex[PHM_PDQ_HEX_LEN + 1], full[160];
            phm_pdq h = entry_hash(s, k);
            phm_pdq_to_hex(&h, hex);
            snprintf(full, sizeof full, "%s %s", key, hex);
            if (lo == la.n || strcmp(la.l[lo], full) != 0)
                missing++;
        }
    OK(la.n == want && missing == 0, "the entries left are the model's (%zu, want %zu, %zu missing)",
       la.n, want, missing);
    for (size_t i = 0; i < la.n && i < lb.n; i++)
        differ += strcmp(la.l[i], lb.l[i]) != 0;
    OK(la.n == lb.n && differ == 0, "... and those phm_index_remove left (%zu, %zu; %zu differ)",
       la.n, lb.n, differ);
    lines_free(&la);
    lines_free(&lb);

    /* searches: a removed entry is not found, a kept one is */
    phm_searcher *se;
    if (phm_searcher_new(a, &se, err, sizeof err))
        return 2;
    size_t found_removed = 0, lost_kept = 0, tried = 0;
    for (int s = 0; s < NSRC; s++)
        for (int k = 0; k < PER_SRC + NEW; k += 37) {
            if (s != 0 && k >= PER_SRC)
                continue;
            const phm_match *m;
            size_t n;
            phm_pdq h = entry_hash(s, k);
            if (phm_search_radius(se, &h, 0, &m, &n, err, sizeof err))
                return 2;
            tried++;
            if (present[s][k] && n == 0)
                lost_kept++;
            if (!present[s][k] && n != 0)
                found_removed++;
        }
    OK(found_removed == 0 && lost_kept == 0,
       "searches of %zu hashes: no removed entry found (%zu), no kept one lost (%zu)", tried,
       found_removed, lost_kept);
    phm_searcher_free(se);
    IS_INT(phm_index_verify(a, err, sizeof err), PHM_OK, "the index verifies");

    phm_index_close(a);
    phm_index_close(b);
    scratch_done(dir);
    return tap_done();
}
