/* test_governance.c - the index's governance (phmatch.h, "governance"):
 * source settings round trip and validation, the defaults of an index
 * without the tables, and the rules matching applies: per-source
 * distance, min_quality, disabled sources and entries (until a time),
 * suppression, quarantine. Expected sets are computed from the hashes'
 * own distances (phm_pdq_distance), not from the index. */
#include <lmdb.h>
#include <time.h>

#include "index_util.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

static phm_index *open_rw(const char *path)
{
    phm_index *idx = NULL;
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err)) {
        printf("# %s\n", err);
        exit(2);
    }
    return idx;
}

static void add(phm_index *idx, const char *source, const char *id, const phm_pdq *h)
{
    phm_index_txn *t;
    phm_entry e = { .source = source, .id = id, .category = "C", .signals = PHM_SIG_PDQ,
                    .quality = 90, .pdq = *h };
    if (phm_index_txn_begin(idx, &t, err, sizeof err) || phm_index_add(t, &e, err, sizeof err) ||
        phm_index_txn_commit(t, NULL, err, sizeof err)) {
        printf("# %s\n", err);
        exit(2);
    }
}

/* "source:id,source:id" of a result's hits, in order, and the counts. */
static const char *hits_of(const phm_match_result *res, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < res->count && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s:%s", i ? "," : "", res->hits[i].e.source,
                              res->hits[i].e.id);
    return buf;
}

static const char *match(phm_matcher *m, const phm_pdq *q, int quality, uint64_t *total,
                         char *buf, size_t len)
{
    phm_pdq_result r = { .nhashes = 1, .quality = quality };
    const phm_match_result *res;
    r.hash[0] = *q;
    if (phm_match_image(m, &r, NULL, &res, err, sizeof err) != PHM_OK) {
        snprintf(buf, len, "error: %.200s", err);
        return buf;
    }
    if (total)
        *total = res->total;
    return hits_of(res, buf, len);
}

/* Drops the governance tables with LMDB itself: what a file written
 * before them looks like. */
static int drop_tables(const char *path)
{
    MDB_env *env;
    MDB_txn *txn;
    static const char *const names[] = { "sources", "disabled", "quarantine" };
    int rc = mdb_env_create(&env);
    if (!rc)
        rc = mdb_env_set_maxdbs(env, 16);
    if (!rc)
        rc = mdb_env_open(env, path, MDB_NOSUBDIR, 0600);
    if (!rc)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    for (int i = 0; !rc && i < 3; i++) {
        MDB_dbi dbi;
        rc = mdb_dbi_open(txn, names[i], 0, &dbi);
        if (!rc)
            rc = mdb_drop(txn, dbi, 1);
    }
    if (!rc)
        rc = mdb_txn_commit(txn);
    mdb_env_close(env);
    return rc;
}

static int count_sources(void *ctx, const char *source, const phm_source_settings *s,
                         uint64_t entries)
{
    char *buf = ctx;
    size_t n = strlen(buf);
    snprintf(buf + n, 256 - n, "%s%s=%llu%s", n ? "," : "", source,
             (unsigned long long)entries, s->stored ? "*" : "");
    return 0;
}

static int list_q(void *ctx, const char *source, const char *id, int64_t when,
                  uint64_t count)
{
    char *buf = ctx;
    size_t n = strlen(buf);
    snprintf(buf + n, 256 - n, "%s%s:%s/%llu/%d", n ? "," : "", source, id,
             (unsigned long long)count, when > 0);
    return 0;
}

static void test_settings(phm_index *idx)
{
    phm_source_settings s, g;
    phm_source_settings_init(&s);
    phm_index_source_get(idx, "lab", &g, err, sizeof err);
    OK(g.enabled == 1 && g.max_distance == -1 && g.min_quality == -1 &&
           g.kind == PHM_SOURCE_NORMAL && g.quarantine_limit == 0 &&
           g.quarantine_window_ns == PHM_QUARANTINE_DEFAULT_WINDOW && !g.stored &&
           g.ncategories == 0,
       "defaults for a source without settings");
    s.enabled = 0;
    s.max_distance = 12;
    s.min_quality = 70;
    s.kind = PHM_SOURCE_SUPPRESSION;
    s.quarantine_limit = 7;
    s.quarantine_window_ns = UINT64_C(90) * 1000000000u;
    OK(phm_source_set_category(&s, "B2", "second", err, sizeof err) == PHM_OK &&
           phm_source_set_category(&s, "A1", "first", err, sizeof err) == PHM_OK &&
           phm_source_set_category(&s, "C3", "third", err, sizeof err) == PHM_OK &&
           phm_source_set_category(&s, "C3", NULL, err, sizeof err) == PHM_OK,
       "category names set and removed");
    IS_INT(phm_index_source_set(idx, "lab", &s, err, sizeof err), PHM_OK, "settings stored");
    IS_INT(phm_index_source_get(idx, "lab", &g, err, sizeof err), PHM_OK, "settings read");
    OK(g.enabled == 0 && g.max_distance == 12 && g.min_quality == 70 &&
           g.kind == PHM_SOURCE_SUPPRESSION && g.quarantine_limit == 7 &&
           g.quarantine_window_ns == UINT64_C(90) * 1000000000u && g.stored &&
           g.ncategories == 2,
       "round trip: every field");
    IS_STR(phm_source_category_name(&g, "A1"), "first", "round trip: names sorted by code");
    IS_STR(g.categories[1].code, "B2", "round trip: second code");
    OK(phm_source_category_name(&g, "C3") == NULL, "a removed name is gone");
    s.max_distance = 257;
    IS_INT(phm_index_source_set(idx, "lab", &s, err, sizeof err), PHM_ERR_INVALID,
           "max_distance 257 refused");
    OK(strstr(err, "max_distance") != NULL, "... and the message says which");
    s.max_distance = 12;
    s.quarantine_limit = PHM_QUARANTINE_MAX_LIMIT + 1;
    IS_INT(phm_index_source_set(idx, "lab", &s, err, sizeof err), PHM_ERR_INVALID,
           "a quarantine limit above 1000 refused");
    s.quarantine_limit = 1;
    s.quarantine_window_ns = 1000;
    IS_INT(phm_index_source_set(idx, "lab", &s, err, sizeof err), PHM_ERR_INVALID,
           "a window below a second refused");
    IS_INT(phm_index_source_set(idx, "", &s, err, sizeof err), PHM_ERR_INVALID,
           "an empty source name refused");
    phm_source_settings_init(&s);
    IS_INT(phm_index_source_set(idx, "lab", &s, err, sizeof err), PHM_OK,
           "back to the defaults (stored)");
    IS_INT(phm_source_kind_parse("suppression", &s.kind), PHM_OK, "kind parse");
    IS_INT(phm_source_kind_parse("other", &s.kind), PHM_ERR_INVALID, "unknown kind refused");
}

static void test_missing_tables(const char *path)
{
    phm_index *idx = NULL;
    phm_source_settings g;
    char buf[256] = "";
    IS_INT(drop_tables(path), 0, "governance tables dropped with LMDB");
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "an index without them opens read-only");
    if (!idx)
        return;
    IS_INT(phm_index_source_get(idx, "lab", &g, err, sizeof err), PHM_OK,
           "without tables: settings read");
    OK(g.enabled && !g.stored && g.max_distance == -1, "without tables: the defaults");
    phm_index_source_foreach(idx, count_sources, buf, err, sizeof err);
    IS_STR(buf, "lab=1", "without tables: sources from the entries, none stored");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "without tables: verify passes");
    const char *ids[1] = { "a" };
    IS_INT(phm_index_entries_disable(idx, "lab", ids, 1, 1, 0, err, sizeof err),
           PHM_ERR_READONLY, "without tables, read-only: no write");
    phm_searcher *s;
    phm_matcher *m;
    OK(phm_searcher_new(idx, &s, err, sizeof err) == PHM_OK && phm_matcher_new(s, &m) == PHM_OK,
       "without tables: a matcher");
    phm_matcher_free(m);
    phm_searcher_free(s);
    phm_index_close(idx);
    idx = open_rw(path);
    IS_INT(phm_index_entries_disable(idx, "lab", ids, 1, 1, 0, err, sizeof err), PHM_OK,
           "opened for writing: the tables are created");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "... and verify passes");
    phm_index_close(idx);
}

int main(void)
{
    rng r = { 14 };
    char path[600], path2[600], buf[512];
    uint64_t total = 0;

    scratch_dir(dir, sizeof dir, "gov");
    snprintf(path, sizeof path, "%s/g.phmi", dir);
    snprintf(path2, sizeof path2, "%s/old.phmi", dir);
    phm_index *idx = open_rw(path);
    test_settings(idx);

    /* The query q; entries at known distances from it. */
    phm_pdq q = rng_hash(&r);
    phm_pdq a = rng_near(&r, &q, 8), b = rng_near(&r, &q, 20), c = rng_near(&r, &q, 35);
    phm_pdq far = rng_hash(&r);
    OK(phm_pdq_distance(&q, &a) == 8 && phm_pdq_distance(&q, &b) == 20 &&
           phm_pdq_distance(&q, &c) == 35 && phm_pdq_distance(&q, &far) > 60,
       "distances of the planted entries: 8, 20, 35, far");
    add(idx, "lab", "a", &a);
    add(idx, "ncmec", "b", &b);
    add(idx, "lab", "c", &c);
    add(idx, "lab", "far", &far);

    phm_searcher *s;
    phm_matcher *m;
    if (phm_searcher_new(idx, &s, err, sizeof err) || phm_matcher_new(s, &m)) {
        printf("# %s\n", err);
        return 2;
    }
    IS_STR(match(m, &q, 90, &total, buf, sizeof buf), "lab:a,ncmec:b",
           "no settings: the request's distance 31");

    phm_source_settings st;
    phm_source_settings_init(&st);
    st.max_distance = 10;
    phm_index_source_set(idx, "ncmec", &st, err, sizeof err);
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "lab:a",
           "ncmec max_distance 10: its entry at 20 does not match");
    st.max_distance = 40;
    phm_index_source_set(idx, "lab", &st, err, sizeof err);
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "lab:a,lab:c",
           "lab max_distance 40: its entry at 35 matches (searched beyond 31)");
    int radius = -1;
    IS_INT(phm_match_radius(m, 31, &radius, err, sizeof err), PHM_OK, "phm_match_radius");
    IS_INT(radius, 40, "... the largest source distance");

    /* phm_match_results: raw search results governed the same way */
    const phm_match *raw;
    size_t nraw;
    const phm_match_result *res;
    phm_match_options o;
    phm_match_options_init(&o);
    OK(phm_search_radius(s, &q, radius, &raw, &nraw, err, sizeof err) == PHM_OK && nraw == 3,
       "raw search at 40: three entries");
    IS_INT(phm_match_results(m, raw, nraw, -1, &o, &res, err, sizeof err), PHM_OK,
           "phm_match_results");
    IS_STR(hits_of(res, buf, sizeof buf), "lab:a,lab:c", "phm_match_results: the same rule");

    /* min_quality */
    phm_source_settings_init(&st);
    st.min_quality = 80;
    phm_index_source_set(idx, "lab", &st, err, sizeof err);
    IS_STR(match(m, &q, 70, NULL, buf, sizeof buf), "",
           "lab min_quality 80: a query of quality 70 matches nothing of lab");
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "lab:a",
           "... a query of quality 90 matches it");
    IS_INT(phm_match_results(m, raw, nraw, -1, &o, &res, err, sizeof err), PHM_OK,
           "unknown quality (a bare hash)");
    IS_STR(hits_of(res, buf, sizeof buf), "lab:a", "... is not held back");

    /* a disabled source */
    phm_source_settings_init(&st);
    st.enabled = 0;
    phm_index_source_set(idx, "lab", &st, err, sizeof err);
    phm_index_source_set(idx, "ncmec", &st, err, sizeof err);
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "", "disabled sources never match");
    phm_source_settings_init(&st);
    phm_index_source_set(idx, "lab", &st, err, sizeof err);
    phm_index_source_set(idx, "ncmec", &st, err, sizeof err);
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "lab:a,ncmec:b", "enabled again: both");

    /* disabled entries, until a time */
    const char *ids[1] = { "a" };
    int64_t now = (int64_t)time(NULL);
    IS_INT(phm_index_entries_disable(idx, "lab", ids, 1, 1, now + 3600, err, sizeof err),
           PHM_OK, "lab:a disabled for an hour");
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "ncmec:b", "... it does not match");
    IS_INT(phm_index_entries_disable(idx, "lab", ids, 1, 1, now - 10, err, sizeof err),
           PHM_OK, "lab:a disabled until 10 s ago");
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "lab:a,ncmec:b",
           "... an expired disable: it matches");
    phm_governance_counts gc;
    phm_index_governance_counts(idx, now, &gc, err, sizeof err);
    IS_INT((int)gc.disabled, 0, "an expired disable is not counted");
    IS_INT(phm_index_entries_disable(idx, "lab", ids, 1, 1, 0, err, sizeof err), PHM_OK,
           "lab:a disabled until enabled");
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "ncmec:b", "... it does not match");
    phm_index_governance_counts(idx, now, &gc, err, sizeof err);
    IS_INT((int)gc.disabled, 1, "stats count it");
    IS_INT(phm_index_entries_disable(idx, "lab", ids, 1, 0, 0, err, sizeof err), PHM_OK,
           "enabled");
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "lab:a,ncmec:b", "... it matches again");
    const char *bad[2] = { "a", "nope" };
    IS_INT(phm_index_entries_disable(idx, "lab", bad, 2, 1, 0, err, sizeof err),
           PHM_ERR_NOT_FOUND, "an unknown id: not found");
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "lab:a,ncmec:b",
           "... and nothing was disabled");

    /* suppression */
    phm_pdq l = rng_near(&r, &q, 12);
    add(idx, "logos", "l1", &l);
    phm_source_settings_init(&st);
    st.kind = PHM_SOURCE_SUPPRESSION;
    st.max_distance = 15;
    phm_index_source_set(idx, "logos", &st, err, sizeof err);
    phm_pdq_result pr = { .nhashes = 1, .quality = 90 };
    pr.hash[0] = q;
    IS_INT(phm_match_image(m, &pr, NULL, &res, err, sizeof err), PHM_OK, "a suppressed query");
    OK(res->total == 0 && res->suppressed == 3 && res->count == 3,
       "suppressed: total 0, 3 hits suppressed and listed");
    int all = 1;
    for (size_t i = 0; i < res->count; i++)
        all &= res->hits[i].suppressed_by.source &&
               strcmp(res->hits[i].suppressed_by.source, "logos") == 0 &&
               strcmp(res->hits[i].suppressed_by.id, "l1") == 0 &&
               res->hits[i].suppressed_by.distance == 12;
    OK(all, "every hit is suppressed by logos:l1 at 12");
    phm_match_json(&res->hits[0], buf, sizeof buf);
    OK(strstr(buf, ",\"suppressed_by\":{\"source\":\"logos\",\"id\":\"l1\",\"distance\":12}}") !=
           NULL,
       "the match record names it");
    st.max_distance = 10;
    phm_index_source_set(idx, "logos", &st, err, sizeof err);
    IS_STR(match(m, &q, 90, &total, buf, sizeof buf), "lab:a,ncmec:b",
           "suppression distance 10: l1 at 12 does not suppress");
    IS_INT((int)total, 2, "... two matches count");

    /* quarantine */
    IS_INT(phm_index_quarantine_add(idx, "ncmec", "b", now, 9, err, sizeof err), PHM_OK,
           "ncmec:b quarantined");
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "lab:a", "... it does not match");
    buf[0] = '\0';
    phm_index_quarantine_foreach(idx, list_q, buf, err, sizeof err);
    IS_STR(buf, "ncmec:b/9/1", "... it is listed with its count");
    IS_INT(phm_index_quarantine_add(idx, "ncmec", "zz", now, 9, err, sizeof err),
           PHM_ERR_NOT_FOUND, "quarantining an unknown entry: not found");
    IS_INT(phm_index_quarantine_release(idx, "ncmec", "b", err, sizeof err), PHM_OK, "released");
    IS_STR(match(m, &q, 90, NULL, buf, sizeof buf), "lab:a,ncmec:b", "... it matches again");
    IS_INT(phm_index_quarantine_release(idx, "ncmec", "b", err, sizeof err), PHM_ERR_NOT_FOUND,
           "releasing again: not found");

    buf[0] = '\0';
    phm_index_source_foreach(idx, count_sources, buf, err, sizeof err);
    IS_STR(buf, "lab=3*,logos=1*,ncmec=1*", "source_foreach: entries and stored settings");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify passes");

    phm_matcher_free(m);
    phm_searcher_free(s);
    phm_index_close(idx);

    /* an index without the governance tables */
    idx = open_rw(path2);
    add(idx, "lab", "a", &a);
    phm_index_close(idx);
    test_missing_tables(path2);

    scratch_done(dir);
    return tap_done();
}
