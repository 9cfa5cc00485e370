/* test_banks.c - what a source needs to serve as an HMA bank (phmatch.h,
 * "sources as banks"): the ratio coin against values computed apart (a
 * Python model of FNV-1a and the finaliser, in tests/cli/service_hma.sh),
 * matching_ratio's round trip and range, content ids from the index's
 * counter (an aborted transaction hands none out), and renaming and
 * deleting a source with its settings, disabled and quarantine rows in
 * one transaction, checked through the other index calls. */
#include <math.h>
#include <string.h>

#include "index_util.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

static void add(phm_index *idx, const char *source, const char *id, const phm_pdq *h)
{
    phm_index_txn *t;
    phm_entry e = { .source = source, .id = id, .category = "C", .note = "n",
                    .signals = PHM_SIG_PDQ, .quality = 90, .pdq = *h };
    if (phm_index_txn_begin(idx, &t, err, sizeof err) || phm_index_add(t, &e, err, sizeof err) ||
        phm_index_txn_commit(t, NULL, err, sizeof err)) {
        printf("# %s\n", err);
        exit(2);
    }
}

/* The source of (source, id) as a fresh searcher finds it: 1 or 0. */
static int has(phm_index *idx, const char *source, const char *id)
{
    phm_searcher *s;
    uint64_t eid;
    if (phm_searcher_new(idx, &s, err, sizeof err))
        return -1;
    int rc = phm_searcher_find(s, source, id, &eid, err, sizeof err);
    phm_searcher_free(s);
    return rc == PHM_OK;
}

static int count_rows(void *ctx, const char *source, const char *id, int64_t a, int64_t b)
{
    (void)id, (void)a, (void)b;
    char *list = ctx;
    strcat(list, source);
    strcat(list, " ");
    return 0;
}

static int count_q(void *ctx, const char *source, const char *id, int64_t a, uint64_t b)
{
    return count_rows(ctx, source, id, a, (int64_t)b);
}

static uint64_t next_id(phm_index *idx, int commit)
{
    phm_index_txn *t;
    uint64_t id = 0;
    if (phm_index_txn_begin(idx, &t, err, sizeof err) ||
        phm_index_txn_next_content_id(t, &id, err, sizeof err))
        return 0;
    if (commit)
        phm_index_txn_commit(t, NULL, err, sizeof err);
    else
        phm_index_txn_abort(t);
    return id;
}

int main(void)
{
    rng r = { 18 };
    char path[600], key[16], bits[40], list[256];

    /* the coin: ids 1..32 at 0.5 and 0.1, as the Python model gives */
    for (int k = 0; k < 2; k++) {
        double ratio = k ? 0.1 : 0.5;
        for (int i = 1; i <= 32; i++) {
            snprintf(key, sizeof key, "%d", i);
            bits[i - 1] = phm_source_ratio_admits(ratio, key, strlen(key)) ? '1' : '0';
        }
        bits[32] = '\0';
        IS_STR(bits, k ? "00000001010001000100000000000010" : "10001001110101100101101100000010",
               "ratio %.1f: ids 1..32 admitted as the reference model", ratio);
    }
    OK(phm_source_ratio_admits(1.0, "x", 1) && !phm_source_ratio_admits(0.0, "x", 1) &&
           !phm_source_ratio_admits(NAN, "x", 1) && phm_source_ratio_admits(2.0, "x", 1),
       "ratio 1 admits, 0 and NaN do not");

    scratch_dir(dir, sizeof dir, "banks");
    snprintf(path, sizeof path, "%s/b.phmi", dir);
    phm_index *idx = NULL;
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err)) {
        printf("# %s\n", err);
        return 2;
    }

    /* matching_ratio */
    phm_source_settings s, g;
    phm_source_settings_init(&s);
    OK(s.matching_ratio == 1.0, "default matching_ratio 1");
    s.matching_ratio = 0.333333;
    IS_INT(phm_index_source_set(idx, "A", &s, err, sizeof err), PHM_OK, "ratio 0.333333 stored");
    IS_INT(phm_index_source_get(idx, "A", &g, err, sizeof err), PHM_OK, "read back");
    OK(fabs(g.matching_ratio - 0.333333) < 1e-9, "... the same ratio (%f)", g.matching_ratio);
    IS_INT(phm_index_source_get(idx, "never", &g, err, sizeof err), PHM_OK, "no record");
    OK(g.matching_ratio == 1.0, "... ratio 1");
    s.matching_ratio = 1.5;
    IS_INT(phm_index_source_set(idx, "A", &s, err, sizeof err), PHM_ERR_INVALID, "1.5 refused");
    s.matching_ratio = NAN;
    IS_INT(phm_index_source_set(idx, "A", &s, err, sizeof err), PHM_ERR_INVALID, "NaN refused");
    s.matching_ratio = 0.5;
    phm_index_source_set(idx, "A", &s, err, sizeof err);

    /* content ids */
    IS_INT((int)next_id(idx, 0), 1, "first content id 1 (aborted)");
    IS_INT((int)next_id(idx, 1), 1, "... not handed out: 1 again (committed)");
    IS_INT((int)next_id(idx, 1), 2, "then 2");

    /* rename with entries, a disabled and a quarantined one */
    phm_pdq h1 = rng_hash(&r), h2 = rng_hash(&r), h3 = rng_hash(&r);
    add(idx, "A", "1", &h1);
    add(idx, "A", "2", &h2);
    add(idx, "Z", "3", &h3);
    const char *one[1] = { "1" };
    IS_INT(phm_index_entries_disable(idx, "A", one, 1, 1, 0, err, sizeof err), PHM_OK,
           "A:1 disabled");
    IS_INT(phm_index_quarantine_add(idx, "A", "2", 5, 9, err, sizeof err), PHM_OK,
           "A:2 quarantined");
    uint64_t moved = 0;
    IS_INT(phm_index_source_rename(idx, "A", "Z", &moved, err, sizeof err), PHM_ERR_INVALID,
           "rename onto a source with entries refused");
    OK(strstr(err, "exists") != NULL, "... it exists");
    IS_INT(phm_index_source_rename(idx, "nope", "Q", &moved, err, sizeof err),
           PHM_ERR_NOT_FOUND, "rename of a missing source: not found");
    IS_INT(phm_index_source_rename(idx, "A", "B", &moved, err, sizeof err), PHM_OK, "A -> B");
    IS_INT((int)moved, 2, "... 2 entries moved");
    OK(has(idx, "B", "1") == 1 && has(idx, "B", "2") == 1 && has(idx, "A", "1") == 0 &&
           has(idx, "A", "2") == 0 && has(idx, "Z", "3") == 1,
       "the entries are B's; Z's untouched");
    int dis = 0;
    int64_t until = -1;
    IS_INT(phm_index_entry_disabled(idx, "B", "1", &dis, &until, err, sizeof err), PHM_OK,
           "disabled state of B:1");
    OK(dis == 1 && until == 0, "... still disabled for good");
    phm_index_entry_disabled(idx, "A", "1", &dis, &until, err, sizeof err);
    OK(dis == 0, "... A:1 has no row left");
    list[0] = '\0';
    phm_index_quarantine_foreach(idx, count_q, list, err, sizeof err);
    IS_STR(list, "B ", "the quarantine row moved");
    IS_INT(phm_index_source_get(idx, "B", &g, err, sizeof err), PHM_OK, "B's settings");
    OK(g.stored && g.matching_ratio == 0.5, "... the ratio came along");
    phm_index_source_get(idx, "A", &g, err, sizeof err);
    OK(!g.stored, "A has no settings left");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify passes after the rename");

    /* a search finds the entry under its new name */
    phm_searcher *se;
    const phm_match *m;
    size_t n = 0;
    phm_entry e;
    phm_searcher_new(idx, &se, err, sizeof err);
    int rc = phm_search_radius(se, &h2, 0, &m, &n, err, sizeof err);
    if (rc == PHM_OK && n == 1)
        rc = phm_searcher_get(se, m[0].entry, &e, err, sizeof err);
    OK(rc == PHM_OK && n == 1 && strcmp(e.source, "B") == 0 && strcmp(e.id, "2") == 0 &&
           strcmp(e.note, "n") == 0,
       "a search finds B:2 with its note");
    phm_searcher_free(se);

    /* delete */
    uint64_t removed = 0;
    IS_INT(phm_index_source_delete(idx, "B", &removed, err, sizeof err), PHM_OK, "delete B");
    IS_INT((int)removed, 2, "... 2 entries");
    OK(has(idx, "B", "1") == 0, "... gone");
    list[0] = '\0';
    phm_index_disabled_foreach(idx, count_rows, list, err, sizeof err);
    phm_index_quarantine_foreach(idx, count_q, list, err, sizeof err);
    IS_STR(list, "", "... with its disabled and quarantine rows");
    phm_index_source_get(idx, "B", &g, err, sizeof err);
    OK(!g.stored, "... and its settings");
    IS_INT(phm_index_source_delete(idx, "B", &removed, err, sizeof err), PHM_ERR_NOT_FOUND,
           "deleting it again: not found");
    phm_index_source_set(idx, "S", &s, err, sizeof err);
    IS_INT(phm_index_source_delete(idx, "S", &removed, err, sizeof err), PHM_OK,
           "a source with settings only is deleted");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify passes");
    phm_index_close(idx);
    scratch_done(dir);
    return tap_done();
}
