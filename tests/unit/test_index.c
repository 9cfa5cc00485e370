/* test_index.c - the known-material index: entries in and out, idempotent
 * adds, updates, removals, statistics, iteration, copies, and the faults:
 * malformed entries, missing, foreign, empty, truncated and newer files,
 * read-only handles, and a map too small for a transaction. */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <string.h>
#include <sys/stat.h>

#include "index_util.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static phm_entry entry(const char *source, const char *id, const char *cat,
                       const phm_pdq *h)
{
    phm_entry e = { .source = source, .id = id, .category = cat,
                    .signals = PHM_SIG_PDQ, .quality = 80, .pdq = *h };
    return e;
}

static int count_cb(void *ctx, uint64_t eid, const phm_entry *e)
{
    (void)eid;
    (void)e;
    (*(size_t *)ctx)++;
    return 0;
}

typedef struct groups_seen {
    char text[1024];
} groups_seen;

static int group_cb(void *ctx, const char *source, const char *category,
                    uint64_t count)
{
    groups_seen *g = ctx;
    size_t n = strlen(g->text);
    snprintf(g->text + n, sizeof g->text - n, "%s/%s=%llu;", source, category,
             (unsigned long long)count);
    return 0;
}

static size_t radius_count(phm_index *idx, const phm_pdq *q, int r)
{
    phm_searcher *s;
    const phm_match *m;
    size_t n = 0;
    if (phm_searcher_new(idx, &s, err, sizeof err))
        return (size_t)-1;
    if (phm_search_radius(s, q, r, &m, &n, err, sizeof err))
        n = (size_t)-1;
    phm_searcher_free(s);
    return n;
}

static void test_simd_names(void)
{
    phm_simd l;
    IS_INT(phm_simd_parse("avx2", &l), PHM_OK, "parse avx2");
    IS_INT(l, PHM_SIMD_AVX2, "avx2 level");
    IS_INT(phm_simd_parse("AVX2", &l), PHM_ERR_INVALID, "names are lowercase");
    IS_STR(phm_simd_name(PHM_SIMD_AVX512), "avx512", "name avx512");
    IS_INT(phm_simd_resolve(PHM_SIMD_PORTABLE), PHM_SIMD_PORTABLE, "portable stays");
    OK(phm_simd_resolve(PHM_SIMD_AUTO) == phm_simd_detect(), "auto is detected");
    OK(phm_simd_resolve(PHM_SIMD_AVX512) <= phm_simd_detect(), "never above the CPU");
    OK(phm_simd_detect() != PHM_SIMD_AUTO, "detect gives a level");
}

static void test_basic(void)
{
    char path[600];
    path_in(path, sizeof path, "basic.phmi");
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_ERR_NOT_FOUND, "missing file without CREATE");
    OK(strstr(err, "cannot open index") && strstr(err, "basic.phmi"), "message: %s", err);
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create: %s", err);
    struct stat st;
    OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "file mode 0600");
    phm_index_stats stats;
    IS_INT(phm_index_get_stats(idx, &stats, err, sizeof err), PHM_OK, "stats of empty");
    IS_INT(stats.entries, 0, "no entries");
    IS_INT(stats.format_version, PHM_INDEX_FORMAT_VERSION, "format version");

    rng r = { 1 };
    phm_pdq h[4];
    for (int i = 0; i < 4; i++)
        h[i] = rng_hash(&r);
    phm_index_txn *t;
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin");
    phm_entry e = entry("ncmec", "a1", "A1", &h[0]);
    e.note = "first";
    e.added = 1700000000;
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "add a1");
    e = entry("ncmec", "a2", "A1", &h[1]);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "add a2");
    e = entry("ncmec", "a2", "A1", &h[1]);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "add a2 again, same txn");
    e = entry("local", "x", "B", &h[2]);
    e.signals |= PHM_SIG_MD5 | PHM_SIG_SHA256;
    memset(e.md5, 0xab, sizeof e.md5);
    memset(e.sha256, 0xcd, sizeof e.sha256);
    e.quality = -1;
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "add with digests");
    phm_entry d = { .source = "forensic", .id = "f1", .signals = PHM_SIG_SHA1,
                    .quality = -1 };
    memset(d.sha1, 0x11, sizeof d.sha1);
    IS_INT(phm_index_add(t, &d, err, sizeof err), PHM_OK, "add digest-only entry");
    phm_index_counts c;
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "commit: %s", err);
    IS_INT(c.added, 4, "4 added");
    IS_INT(c.unchanged, 1, "1 unchanged (duplicate line)");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify: %s", err);

    /* searching and reading back */
    phm_searcher *s;
    IS_INT(phm_searcher_new(idx, &s, err, sizeof err), PHM_OK, "searcher");
    const phm_match *m;
    size_t n;
    phm_pdq q = rng_near(&r, &h[0], 10);
    IS_INT(phm_search_radius(s, &q, 31, &m, &n, err, sizeof err), PHM_OK, "radius search");
    IS_INT(n, 1, "one match");
    IS_INT(n ? m[0].distance : -1, 10, "distance 10");
    phm_entry got;
    IS_INT(phm_searcher_get(s, n ? m[0].entry : 0, &got, err, sizeof err), PHM_OK, "get");
    IS_STR(got.source, "ncmec", "source");
    IS_STR(got.id, "a1", "id");
    IS_STR(got.category, "A1", "category");
    IS_STR(got.note, "first", "note");
    IS_INT(got.quality, 80, "quality");
    IS_INT(got.added, 1700000000, "added kept");
    OK(memcmp(&got.pdq, &h[0], sizeof got.pdq) == 0, "hash");
    uint64_t a1 = n ? m[0].entry : 0, eid;
    IS_INT(phm_searcher_find(s, "ncmec", "a1", &eid, err, sizeof err), PHM_OK, "find");
    IS_INT(eid, a1, "find gives the same entry");
    IS_INT(phm_searcher_find(s, "ncmec", "zz", &eid, err, sizeof err), PHM_ERR_NOT_FOUND,
           "find missing");
    IS_INT(phm_search_radius(s, &q, 9, &m, &n, err, sizeof err), PHM_OK, "radius 9");
    IS_INT(n, 0, "nothing within 9");
    IS_INT(phm_search_radius(s, &q, 257, &m, &n, err, sizeof err), PHM_ERR_INVALID,
           "radius 257 refused");
    IS_INT(phm_search_knn(s, &q, 2, 256, &m, &n, err, sizeof err), PHM_OK, "knn 2");
    IS_INT(n, 2, "two nearest");
    OK(n == 2 && m[0].entry == a1 && m[1].distance >= m[0].distance, "knn order");
    uint8_t md5[16], sha1[20];
    memset(md5, 0xab, sizeof md5);
    memset(sha1, 0x11, sizeof sha1);
    IS_INT(phm_search_digest(s, PHM_SIG_MD5, md5, &m, &n, err, sizeof err), PHM_OK,
           "md5 lookup");
    IS_INT(n, 1, "md5 found");
    IS_INT(phm_searcher_get(s, n ? m[0].entry : 0, &got, err, sizeof err), PHM_OK, "get md5 hit");
    IS_STR(got.id, "x", "md5 entry");
    OK((got.signals & PHM_SIG_SHA256) && got.sha256[31] == 0xcd && got.quality == -1,
       "digests and unknown quality round trip");
    IS_INT(phm_search_digest(s, PHM_SIG_SHA1, sha1, &m, &n, err, sizeof err), PHM_OK,
           "sha1 lookup");
    IS_INT(n, 1, "digest-only entry found");
    md5[0] = 0;
    IS_INT(phm_search_digest(s, PHM_SIG_MD5, md5, &m, &n, err, sizeof err), PHM_OK,
           "absent md5");
    IS_INT(n, 0, "absent md5 finds nothing");
    phm_searcher_release(s);

    /* idempotence and updates */
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin 2");
    e = entry("ncmec", "a1", "A1", &h[0]);
    e.note = "first";
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "re-add a1 (new added time)");
    e = entry("ncmec", "a2", "A2", &h[1]);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "a2 new category");
    e = entry("local", "x", "B", &h[3]);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "x new hash, no digests");
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "commit 2: %s", err);
    IS_INT(c.unchanged, 1, "a1 unchanged");
    IS_INT(c.updated, 2, "two updated");
    IS_INT(c.added, 0, "none added");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify 2: %s", err);
    IS_INT(phm_searcher_find(s, "ncmec", "a1", &eid, err, sizeof err), PHM_OK, "find a1");
    IS_INT(eid, a1, "a1 keeps its number");
    IS_INT(radius_count(idx, &h[2], 0), 0, "old hash of x gone");
    IS_INT(radius_count(idx, &h[3], 0), 1, "new hash of x found");
    IS_INT(phm_search_digest(s, PHM_SIG_MD5, (uint8_t[16]){ 0xab, 0xab, 0xab, 0xab, 0xab,
                                                          0xab, 0xab, 0xab, 0xab, 0xab,
                                                          0xab, 0xab, 0xab, 0xab, 0xab,
                                                          0xab },
                             &m, &n, err, sizeof err),
           PHM_OK, "md5 after update");
    IS_INT(n, 0, "dropped digest gone");

    groups_seen g = { "" };
    IS_INT(phm_index_foreach_group(idx, group_cb, &g, err, sizeof err), PHM_OK, "groups");
    IS_STR(g.text, "forensic/=1;local/B=1;ncmec/A1=1;ncmec/A2=1;", "group counts");
    size_t cnt = 0;
    IS_INT(phm_index_foreach(idx, count_cb, &cnt, err, sizeof err), PHM_OK, "foreach");
    IS_INT(cnt, 4, "foreach sees 4");

    /* removal */
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin 3");
    int removed;
    IS_INT(phm_index_remove(t, "ncmec", "nope", &removed, err, sizeof err), PHM_OK,
           "remove missing");
    IS_INT(removed, 0, "nothing removed");
    IS_INT(phm_index_remove(t, "local", "x", &removed, err, sizeof err), PHM_OK, "remove x");
    IS_INT(removed, 1, "x removed");
    uint64_t nr;
    IS_INT(phm_index_remove_source(t, "ncmec", &nr, err, sizeof err), PHM_OK,
           "remove source");
    IS_INT(nr, 2, "two ncmec entries removed");
    IS_INT(phm_index_remove(t, "", "x", &removed, err, sizeof err), PHM_ERR_INVALID,
           "empty source refused");
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "commit 3: %s", err);
    IS_INT(c.removed, 3, "3 removed");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify 3: %s", err);
    IS_INT(radius_count(idx, &h[0], 64), 0, "a1 no longer found");
    IS_INT(phm_index_get_stats(idx, &stats, err, sizeof err), PHM_OK, "stats");
    IS_INT(stats.entries, 1, "one entry left");
    IS_INT(stats.sources, 1, "one source left");
    IS_INT(stats.pdq_entries, 0, "no PDQ hashes left");
    OK(stats.file_bytes > 0 && stats.used_bytes > 0, "sizes reported");

    /* abort leaves nothing */
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin 4");
    e = entry("tmp", "1", "", &h[0]);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "add then abort");
    phm_index_txn_abort(t);
    IS_INT(radius_count(idx, &h[0], 0), 0, "aborted add not visible");
    phm_searcher_free(s);
    phm_index_close(idx);
}

static void test_invalid_entries(void)
{
    char path[600];
    path_in(path, sizeof path, "invalid.phmi");
    phm_index *idx;
    phm_index_txn *t;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create");
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin");
    rng r = { 2 };
    phm_pdq h = rng_hash(&r);
    char longcat[PHM_INDEX_MAX_CATEGORY + 2];
    memset(longcat, 'c', sizeof longcat - 1);
    longcat[sizeof longcat - 1] = 0;
    struct {
        phm_entry e;
        const char *why;
    } bad[] = {
        { entry("", "1", "", &h), "source is empty" },
        { entry("s", "", "", &h), "id is empty" },
        { entry("s", "a\tb", "", &h), "control characters" },
        { entry("s", "1", longcat, &h), "category is longer" },
        { { .source = "s", .id = "1", .quality = 1 }, "no PDQ hash or digest" },
        { { .source = "s", .id = "1", .signals = PHM_SIG_PDQ, .quality = 101 },
          "quality 101" },
        { { .source = "s", .id = "1", .signals = 1u << 9 }, "unknown signal" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        IS_INT(phm_index_add(t, &bad[i].e, err, sizeof err), PHM_ERR_INVALID,
               "malformed entry %zu refused", i);
        OK(strstr(err, bad[i].why) != NULL, "message names the problem: %s", err);
    }
    phm_entry good = entry("s", "1", "", &h);
    IS_INT(phm_index_add(t, &good, err, sizeof err), PHM_OK, "txn still usable");
    phm_index_counts c;
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "commit");
    IS_INT(c.added, 1, "only the good one stored");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify");
    phm_index_close(idx);
}

static void test_readonly(void)
{
    char path[600];
    path_in(path, sizeof path, "basic.phmi");
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "open read-only: %s", err);
    phm_index_txn *t;
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_ERR_READONLY, "write refused");
    OK(strstr(err, "read-only") != NULL, "message: %s", err);
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_ERR_READONLY, "compact refused");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify read-only");
    phm_searcher *s;
    IS_INT(phm_searcher_new(idx, &s, err, sizeof err), PHM_OK, "search read-only");
    phm_searcher_free(s);
    phm_index_close(idx);
    char other[600];
    path_in(other, sizeof other, "never.phmi");
    IS_INT(phm_index_open(&idx, other, PHM_INDEX_RDONLY | PHM_INDEX_CREATE, 0,
                          PHM_SIMD_AUTO, err, sizeof err),
           PHM_ERR_NOT_FOUND, "read-only never creates");
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

/* Adds n entries "s"/"0".."n-1" of random hashes (rng seeded with seed) in
 * one transaction; the first hash in *first when given. */
static void add_random(phm_index *idx, uint64_t seed, int n, phm_pdq *first)
{
    phm_index_txn *t;
    rng r = { seed };
    phm_index_txn_begin(idx, &t, err, sizeof err);
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%d", i);
        phm_pdq h = rng_hash(&r);
        if (i == 0 && first)
            *first = h;
        phm_entry e = entry("s", id, "c", &h);
        phm_index_add(t, &e, err, sizeof err);
    }
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "commit %d", n);
}

static int copy_truncated(const char *from, const char *to, long keep)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out)
        return -1;
    char buf[4096];
    long done = 0;
    size_t n;
    while (done < keep && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (done + (long)n > keep)
            n = (size_t)(keep - done);
        fwrite(buf, 1, n, out);
        done += (long)n;
    }
    fclose(in);
    fclose(out);
    return 0;
}

static void test_bad_files(void)
{
    char path[600];
    phm_index *idx;
    IS_INT(phm_index_open(&idx, dir, 0, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_ERR_IS_DIR,
           "a directory");

    path_in(path, sizeof path, "photo.jpg");
    static const char jpeg[] = "\xff\xd8\xff\xe0 not an index, but long enough to read a header";
    write_file(path, jpeg, sizeof jpeg);
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_ERR_INDEX, "foreign file");
    OK(strstr(err, "not a phmatch index") != NULL, "message: %s", err);
    struct stat st;
    OK(stat(path, &st) == 0 && st.st_size == (off_t)sizeof jpeg, "foreign file untouched");

    path_in(path, sizeof path, "empty.phmi");
    write_file(path, "", 0);
    IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_ERR_INDEX,
           "empty file");
    OK(strstr(err, "empty") != NULL, "message: %s", err);
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "empty file with CREATE becomes an index");
    phm_index_close(idx);

    /* a truncated copy of a real index */
    char big[600], cut[600];
    path_in(big, sizeof big, "big.phmi");
    IS_INT(phm_index_open(&idx, big, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create big");
    add_random(idx, 3, 5000, NULL);
    phm_index_close(idx);
    stat(big, &st);
    path_in(cut, sizeof cut, "cut.phmi");
    copy_truncated(big, cut, (long)st.st_size / 2);
    IS_INT(phm_index_open(&idx, cut, 0, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_ERR_INDEX_TRUNCATED, "truncated file");
    OK(strstr(err, "truncated") != NULL, "message: %s", err);
    copy_truncated(big, cut, 100);
    IS_INT(phm_index_open(&idx, cut, 0, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_ERR_INDEX,
           "file cut inside its header");
    OK(strstr(err, "not a phmatch index") || strstr(err, "truncated"), "message: %s", err);

    /* another program's LMDB file */
    path_in(path, sizeof path, "other.lmdb");
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    mdb_env_create(&env);
    if (mdb_env_open(env, path, MDB_NOSUBDIR, 0600) == 0 &&
        mdb_txn_begin(env, NULL, 0, &txn) == 0) {
        mdb_dbi_open(txn, NULL, 0, &dbi);
        MDB_val k = { 3, "foo" }, v = { 3, "bar" };
        mdb_put(txn, dbi, &k, &v, 0);
        mdb_txn_commit(txn);
    }
    mdb_env_close(env);
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_ERR_INDEX, "foreign LMDB file");
    OK(strstr(err, "another program") != NULL, "message: %s", err);

    /* another format version: older than the oldest upgraded (1: before
     * videos), newer than this one; versions 2 to 4 are refused with the
     * upgrade command (below) */
    for (uint32_t ver = PHM_INDEX_FORMAT_UPGRADE_MIN - 1; ver <= PHM_INDEX_FORMAT_VERSION + 1;
         ver += PHM_INDEX_FORMAT_VERSION - PHM_INDEX_FORMAT_UPGRADE_MIN + 2) {
        char name[32], want[32];
        snprintf(name, sizeof name, "v%u.phmi", ver);
        path_in(path, sizeof path, name);
        IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err,
                              sizeof err),
               PHM_OK, "create %s", name);
        phm_index_close(idx);
        index_set_format(path, ver);
        IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err),
               PHM_ERR_INDEX_VERSION, "format version %u refused", ver);
        snprintf(name, sizeof name, "version %u ", ver);
        snprintf(want, sizeof want, "version %d)", PHM_INDEX_FORMAT_VERSION);
        OK(strstr(err, name) && strstr(err, want), "message: %s", err);
    }

    /* files of the formats the upgrade converts: refused, naming it */
    for (uint32_t ver = PHM_INDEX_FORMAT_UPGRADE_MIN; ver < PHM_INDEX_FORMAT_MIN_VERSION; ver++) {
        char name[32];
        snprintf(name, sizeof name, "old%u.phmi", ver);
        path_in(path, sizeof path, name);
        IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err,
                              sizeof err),
               PHM_OK, "create %s", name);
        phm_index_close(idx);
        index_set_format(path, ver);
        IS_INT(phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err),
               PHM_ERR_INDEX_VERSION, "format version %u refused", ver);
        OK(strstr(err, "phmatch index upgrade") && strstr(err, name), "message: %s", err);
    }
}

/* The file cut short under an open handle (`truncate`, a copy written over
 * it in place): LMDB reads it through its map, where a page past the end
 * of the file is a SIGBUS. Every transaction checks the length first, so
 * each call fails with PHM_ERR_INDEX_TRUNCATED; put back, it reads again. */
static void test_truncated_live(void)
{
    char path[600], copy[600];
    phm_index *idx;
    phm_searcher *s;
    const phm_match *m;
    size_t n;
    path_in(path, sizeof path, "live.phmi");
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "live: create");
    phm_index_txn *t;
    phm_pdq first;
    add_random(idx, 5, 5000, &first);
    IS_INT(phm_searcher_new(idx, &s, err, sizeof err), PHM_OK, "live: searcher");
    IS_INT(phm_search_radius(s, &first, 0, &m, &n, err, sizeof err), PHM_OK, "live: search");
    IS_INT((int)n, 1, "live: found");
    phm_searcher_release(s);
    IS_INT(phm_index_check(idx, err, sizeof err), PHM_OK, "live: whole");

    struct stat st;
    stat(path, &st);
    path_in(copy, sizeof copy, "live-whole.phmi");
    copy_truncated(path, copy, (long)st.st_size);
    long page = sysconf(_SC_PAGESIZE);
    for (int k = 0; k < 2; k++) {
        /* its two meta pages kept, then nothing at all */
        long keep = k == 0 ? 2 * page : 0;
        OK(truncate(path, keep) == 0, "live: file cut to %ld bytes", keep);
        IS_INT(phm_index_check(idx, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
               "live: check sees it cut to %ld", keep);
        OK(strstr(err, "live.phmi") && strstr(err, "index file is truncated"), "message: %s",
           err);
        IS_INT(phm_search_radius(s, &first, 0, &m, &n, err, sizeof err),
               PHM_ERR_INDEX_TRUNCATED, "live: a search fails, no SIGBUS");
        OK(strstr(err, "truncated") != NULL, "message: %s", err);
        phm_searcher *s2 = NULL;
        IS_INT(phm_searcher_new(idx, &s2, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
               "live: a new searcher fails");
        phm_index_stats stats;
        IS_INT(phm_index_get_stats(idx, &stats, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
               "live: stats fail");
        phm_source_settings ss;
        IS_INT(phm_index_source_get(idx, "s", &ss, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
               "live: a governance read fails");
        IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
               "live: a write fails");
        char dest[600];
        path_in(dest, sizeof dest, "live-copy.phmi");
        IS_INT(phm_index_copy(idx, dest, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
               "live: a copy fails");
        OK(access(dest, F_OK) != 0, "live: no copy left");
    }
    /* put back in place: the pages read again */
    copy_truncated(copy, path, (long)st.st_size);
    IS_INT(phm_index_check(idx, err, sizeof err), PHM_OK, "live: whole again");
    IS_INT(phm_search_radius(s, &first, 0, &m, &n, err, sizeof err), PHM_OK,
           "live: search again");
    IS_INT((int)n, 1, "live: found again");
    phm_searcher_free(s);
    phm_index_close(idx);
}

/* Grown by another process, then cut back to no less than the size this
 * handle last saw (here: the start of a larger index written over it in
 * place): the largest size seen passes, but the meta pages name pages
 * past the end. The newest root's last page, checked with the transaction
 * begun, catches it: PHM_ERR_INDEX_TRUNCATED, no SIGBUS. */
static void test_grown_then_cut(void)
{
    char path[600], big[600];
    phm_index *idx, *other;
    phm_searcher *s;
    const phm_match *m;
    size_t n;
    phm_pdq first;
    path_in(path, sizeof path, "grown.phmi");
    path_in(big, sizeof big, "grown-big.phmi");
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "grown: create");
    add_random(idx, 6, 2000, &first);
    IS_INT(phm_searcher_new(idx, &s, err, sizeof err), PHM_OK, "grown: searcher");
    phm_searcher_release(s);
    IS_INT(phm_index_check(idx, err, sizeof err), PHM_OK, "grown: whole");
    struct stat st, bst;
    stat(path, &st);
    IS_INT(phm_index_open(&other, big, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "grown: the larger index");
    add_random(other, 7, 20000, NULL);
    phm_index_close(other);
    stat(big, &bst);
    OK(bst.st_size > st.st_size, "grown: %lld bytes over %lld", (long long)bst.st_size,
       (long long)st.st_size);
    OK(copy_truncated(big, path, (long)st.st_size) == 0, "grown: written over, cut");
    IS_INT(phm_index_check(idx, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
           "grown: check sees it");
    OK(strstr(err, "grown.phmi") && strstr(err, "its pages need"), "message: %s", err);
    IS_INT(phm_search_radius(s, &first, 0, &m, &n, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
           "grown: a search fails, no SIGBUS");
    OK(strstr(err, "truncated") != NULL, "message: %s", err);
    phm_searcher *s2 = NULL;
    IS_INT(phm_searcher_new(idx, &s2, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
           "grown: a new searcher fails");
    phm_index_stats stats;
    IS_INT(phm_index_get_stats(idx, &stats, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
           "grown: stats fail");
    phm_index_txn *t;
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_ERR_INDEX_TRUNCATED,
           "grown: a write fails");
    /* the whole of it: its pages are there */
    OK(copy_truncated(big, path, (long)bst.st_size) == 0, "grown: written over whole");
    IS_INT(phm_index_check(idx, err, sizeof err), PHM_OK, "grown: whole again");
    phm_searcher_free(s);
    phm_index_close(idx);
}

static void test_map_full(void)
{
    char path[600];
    path_in(path, sizeof path, "small.phmi");
    phm_index *idx;
    phm_index_txn *t;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 1u << 20, PHM_SIMD_AUTO, err,
                          sizeof err),
           PHM_OK, "create with a 1 MiB map");
    rng r = { 4 };
    phm_index_txn_begin(idx, &t, err, sizeof err);
    for (int i = 0; i < 100; i++) {
        char id[32];
        snprintf(id, sizeof id, "small-%d", i);
        phm_pdq h = rng_hash(&r);
        phm_entry e = entry("s", id, "c", &h);
        phm_index_add(t, &e, err, sizeof err);
    }
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "100 entries fit");
    phm_index_txn_begin(idx, &t, err, sizeof err);
    int st = PHM_OK;
    for (int i = 0; i < 50000 && st == PHM_OK; i++) {
        char id[32];
        snprintf(id, sizeof id, "big-%d", i);
        phm_pdq h = rng_hash(&r);
        phm_entry e = entry("s", id, "c", &h);
        e.note = "a note long enough to fill the map quickly, a note long enough";
        st = phm_index_add(t, &e, err, sizeof err);
    }
    if (st == PHM_OK)
        st = phm_index_txn_commit(t, NULL, err, sizeof err);
    else
        phm_index_txn_abort(t);
    IS_INT(st, PHM_ERR_FULL, "50000 more do not");
    OK(strstr(err, "map size") != NULL, "message: %s", err);
    phm_index_close(idx);
    IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_OK,
           "reopens");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verifies: %s", err);
    phm_index_stats stats;
    phm_index_get_stats(idx, &stats, err, sizeof err);
    IS_INT(stats.entries, 100, "the last commit is intact");
    phm_index_close(idx);
}

/* Opens the index file at path as a plain LMDB file with a write
 * transaction: 1 if both began (the caller closes env either way). */
static int lmdb_write(const char *path, MDB_env **env, MDB_txn **txn)
{
    mdb_env_create(env);
    mdb_env_set_maxdbs(*env, 16);
    return mdb_env_open(*env, path, MDB_NOSUBDIR, 0600) == 0 &&
           mdb_txn_begin(*env, NULL, 0, txn) == 0;
}

/* Entry numbers are u32 in the base (format 5): with meta next_eid set
 * to the last one, one add takes it, the next is refused; what was
 * committed searches and verifies, with the entry number past 2^31. */
static void test_eid_limit(void)
{
    char path[600];
    path_in(path, sizeof path, "eids.phmi");
    phm_index *idx;
    phm_index_txn *t;
    rng r = { 41 };
    phm_pdq h[3] = { rng_hash(&r), rng_hash(&r), rng_hash(&r) };
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "eid limit: create");
    phm_index_txn_begin(idx, &t, err, sizeof err);
    phm_entry e = entry("s", "first", "c", &h[0]);
    phm_index_add(t, &e, err, sizeof err);
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "eid limit: one entry");
    phm_index_close(idx);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int ok = 0;
    if (lmdb_write(path, &env, &txn)) {
        uint64_t next = 0xffffffffu;
        MDB_val k = { 8, "next_eid" }, v = { sizeof next, &next };
        ok = mdb_dbi_open(txn, "meta", 0, &dbi) == 0 && mdb_put(txn, dbi, &k, &v, 0) == 0 &&
             mdb_txn_commit(txn) == 0;
    }
    mdb_env_close(env);
    OK(ok, "eid limit: next entry number set to 4,294,967,295");
    IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_OK,
           "eid limit: reopen");
    phm_index_txn_begin(idx, &t, err, sizeof err);
    e = entry("s", "last", "c", &h[1]);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "eid limit: the last number is used");
    e = entry("s", "past", "c", &h[2]);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_ERR_INDEX, "eid limit: the next add is refused");
    OK(strstr(err, "index has used 4,294,967,295 entry numbers") != NULL, "message: %s", err);
    phm_index_txn_abort(t);
    phm_index_txn_begin(idx, &t, err, sizeof err);
    e = entry("s", "last", "c", &h[1]);
    phm_index_add(t, &e, err, sizeof err);
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "eid limit: commit the last");
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "eid limit: compact");
    phm_searcher *s;
    const phm_match *m = NULL;
    size_t n = 0;
    phm_searcher_new(idx, &s, err, sizeof err);
    IS_INT(phm_search_radius(s, &h[1], 0, &m, &n, err, sizeof err), PHM_OK, "eid limit: search");
    OK(n == 1 && m[0].entry == 0xffffffffu, "eid limit: found as entry 4294967295 (%zu, %llu)", n,
       n ? (unsigned long long)m[0].entry : 0ull);
    phm_searcher_free(s);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "eid limit: verifies: %s", err);
    phm_index_close(idx);
}

/* Flips one bit of search blob (kind, table) of the file at byte `at`
 * (modulo its size); 1 if done. */
static int flip_blob(const char *path, char kind, uint8_t table, size_t at, unsigned bit)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int ok = 0;
    if (lmdb_write(path, &env, &txn)) {
        uint8_t key[4] = { 1, (uint8_t)kind, table, 0 };
        MDB_val k = { 4, key }, v;
        if (mdb_dbi_open(txn, "search", 0, &dbi) == 0 && mdb_get(txn, dbi, &k, &v) == 0 &&
            v.mv_size) {
            uint8_t *copy = malloc(v.mv_size);
            size_t len = v.mv_size;
            memcpy(copy, v.mv_data, len);
            copy[at % len] ^= (uint8_t)(1u << (bit % 8));
            MDB_val nv = { len, copy };
            ok = mdb_put(txn, dbi, &k, &nv, 0) == 0;
            free(copy);
        }
        if (ok)
            ok = mdb_txn_commit(txn) == 0;
        else
            mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    return ok;
}

/* One-bit flips in the base's search blobs (hashes, entry numbers,
 * directories, areas) are reported by verify, and searches of the damaged
 * file do not crash. */
static void test_blob_corruption(void)
{
    enum { N = 3000 };
    char path[600], copy[600];
    path_in(path, sizeof path, "blobs.phmi");
    path_in(copy, sizeof copy, "blobs-bad.phmi");
    phm_index *idx;
    phm_index_txn *t;
    rng r = { 43 };
    phm_pdq *h = malloc(N * sizeof *h);
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "blobs: create");
    phm_index_txn_begin(idx, &t, err, sizeof err);
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "b-%d", i);
        h[i] = rng_hash(&r);
        phm_entry e = entry("s", id, "c", &h[i]);
        phm_index_add(t, &e, err, sizeof err);
    }
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "blobs: %d entries", N);
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "blobs: compact");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "blobs: verifies");
    phm_index_close(idx);
    static const struct {
        char kind;
        uint8_t table;
    } blobs[] = { { 'H', 0 }, { 'E', 0 }, { 'O', 0 }, { 'O', 9 }, { 'P', 0 } };
    size_t tried = 0, missed = 0;
    for (size_t b = 0; b < sizeof blobs / sizeof blobs[0]; b++) {
        for (int rep = 0; rep < 12; rep++) {
            FILE *in = fopen(path, "rb"), *out = fopen(copy, "wb");
            char buf[65536];
            size_t got;
            while (in && out && (got = fread(buf, 1, sizeof buf, in)) > 0)
                fwrite(buf, 1, got, out);
            if (in)
                fclose(in);
            if (out)
                fclose(out);
            size_t at = (size_t)rng_next(&r);
            if (blobs[b].kind == 'O') /* the used values' pairs */
                at = 8 * (size_t)(rng_next(&r) % 65536) + at % 8;
            if (!flip_blob(copy, blobs[b].kind, blobs[b].table, at, (unsigned)rng_next(&r)))
                continue;
            tried++;
            if (phm_index_open(&idx, copy, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err)) {
                continue; /* refused at open: reported */
            }
            if (phm_index_verify(idx, err, sizeof err) == PHM_OK)
                missed++;
            for (int q = 0; q < 20; q++) {
                phm_pdq near = rng_near(&r, &h[rng_next(&r) % N], 6);
                radius_count(idx, &near, 31);
            }
            phm_index_close(idx);
        }
    }
    OK(tried >= 50, "blobs: %zu one-bit flips made", tried);
    IS_INT(missed, 0, "blobs: every flip reported by verify");
    remove(copy);
    free(h);
}

static void test_compact_and_copy(void)
{
    char path[600], copy[600];
    path_in(path, sizeof path, "compact.phmi");
    path_in(copy, sizeof copy, "compact-copy.phmi");
    phm_index *idx;
    phm_index_txn *t;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create");
    rng r = { 5 };
    phm_pdq keep[20];
    phm_index_txn_begin(idx, &t, err, sizeof err);
    for (int i = 0; i < 3000; i++) {
        char id[32];
        snprintf(id, sizeof id, "%d", i);
        phm_pdq h = rng_hash(&r);
        if (i < 20)
            keep[i] = h;
        phm_entry e = entry("s", id, i % 2 ? "odd" : "even", &h);
        phm_index_add(t, &e, err, sizeof err);
    }
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "commit");
    phm_index_txn_begin(idx, &t, err, sizeof err);
    for (int i = 0; i < 10; i++) {
        char id[32];
        snprintf(id, sizeof id, "%d", i);
        phm_index_remove(t, "s", id, NULL, err, sizeof err);
    }
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "remove 10");
    phm_index_stats stats;
    phm_index_get_stats(idx, &stats, err, sizeof err);
    IS_INT(stats.pdq_entries, 2990, "2990 hashes");
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "compact: %s", err);
    phm_index_get_stats(idx, &stats, err, sizeof err);
    IS_INT(stats.base_entries, 2990, "all in the base");
    IS_INT(stats.delta_entries + stats.dead_entries, 0, "no delta, no dead");
    OK(stats.compacted > 0, "compaction time recorded");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify: %s", err);
    IS_INT(radius_count(idx, &keep[5], 0), 0, "removed stays removed");
    IS_INT(radius_count(idx, &keep[15], 0), 1, "kept stays found");
    IS_INT(phm_index_copy(idx, copy, err, sizeof err), PHM_OK, "copy: %s", err);
    IS_INT(phm_index_copy(idx, copy, err, sizeof err), PHM_ERR_UNREADABLE,
           "copy never overwrites");
    phm_index_close(idx);
    IS_INT(phm_index_open(&idx, copy, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "open the copy");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "copy verifies");
    IS_INT(radius_count(idx, &keep[15], 0), 1, "copy searches");
    phm_index_close(idx);
}

/* phm_index_snapshot: a compacted copy renamed over its target while a
 * write transaction is open (the copy holds the last commit), opened
 * without a lock file (PHM_INDEX_NOLOCK) beside another handle of the
 * same path; its refusals. */
static void test_snapshot(void)
{
    char path[600], snap[600], lock[620], bad[620];
    path_in(path, sizeof path, "snap-src.phmi");
    path_in(snap, sizeof snap, "snap.phmi");
    phm_index *idx, *a, *b;
    phm_index_txn *t;
    uint64_t n = 99;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create");
    rng r = { 9 };
    phm_pdq first, late;
    phm_index_txn_begin(idx, &t, err, sizeof err);
    for (int i = 0; i < 200; i++) {
        char id[32];
        snprintf(id, sizeof id, "%d", i);
        phm_entry e = { .source = "s", .id = id, .quality = 90, .signals = PHM_SIG_PDQ };
        e.pdq = rng_hash(&r);
        if (i == 0)
            first = e.pdq;
        phm_index_add(t, &e, err, sizeof err);
    }
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "commit 200");
    /* an uncommitted add is not in the snapshot */
    phm_index_txn_begin(idx, &t, err, sizeof err);
    phm_entry e = { .source = "s", .id = "late", .quality = 90, .signals = PHM_SIG_PDQ };
    late = e.pdq = rng_hash(&r);
    phm_index_add(t, &e, err, sizeof err);
    IS_INT(phm_index_snapshot(idx, snap, &n, err, sizeof err), PHM_OK, "snapshot: %s", err);
    IS_INT(n, 200, "its entry count: the last commit");
    phm_index_txn_commit(t, NULL, err, sizeof err);
    IS_INT(phm_index_snapshot(idx, path, NULL, err, sizeof err), PHM_ERR_INVALID,
           "not onto the index itself");
    snprintf(bad, sizeof bad, "%s/no-such-dir/x.phmi", dir);
    IS_INT(phm_index_snapshot(idx, bad, NULL, err, sizeof err), PHM_ERR_NOT_FOUND,
           "not into a missing directory");
    OK(strstr(err, "cannot snapshot index") != NULL, "message: %s", err);
    IS_INT(phm_index_open(&a, snap, PHM_INDEX_NOLOCK, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_ERR_INVALID, "NOLOCK needs RDONLY");
    IS_INT(phm_index_open(&a, snap, PHM_INDEX_RDONLY | PHM_INDEX_NOLOCK, 0, PHM_SIMD_AUTO,
                          err, sizeof err), PHM_OK, "open the snapshot without a lock");
    IS_INT(radius_count(a, &first, 0), 1, "it searches");
    IS_INT(radius_count(a, &late, 0), 0, "without the uncommitted entry");
    /* the next snapshot renamed over it while `a` is open: `a` keeps the
     * old file, a second handle of the same path sees the new one */
    IS_INT(phm_index_snapshot(idx, snap, &n, err, sizeof err), PHM_OK, "again: %s", err);
    IS_INT(n, 201, "with the late entry");
    IS_INT(phm_index_open(&b, snap, PHM_INDEX_RDONLY | PHM_INDEX_NOLOCK, 0, PHM_SIMD_AUTO,
                          err, sizeof err), PHM_OK, "a second handle of the path");
    IS_INT(radius_count(a, &late, 0), 0, "the old handle: the old file");
    IS_INT(radius_count(b, &late, 0), 1, "the new handle: the new file");
    IS_INT(phm_index_verify(b, err, sizeof err), PHM_OK, "verifies: %s", err);
    phm_index_close(a);
    phm_index_close(b);
    phm_index_close(idx);
    snprintf(lock, sizeof lock, "%s-lock", snap);
    OK(access(lock, F_OK) != 0, "no lock file beside the snapshot");
}

/* The entry number of ("s", id), 0 when absent; its note into note[16]. */
static uint64_t key_eid(phm_index *idx, const char *id, char *note)
{
    phm_searcher *s;
    phm_entry e;
    uint64_t eid = 0;
    note[0] = '\0';
    if (phm_searcher_new(idx, &s, err, sizeof err))
        return 0;
    if (phm_searcher_find(s, "s", id, &eid, err, sizeof err) != PHM_OK)
        eid = 0;
    else if (phm_searcher_get(s, eid, &e, err, sizeof err) == PHM_OK)
        snprintf(note, 16, "%s", e.note ? e.note : "");
    phm_searcher_free(s);
    return eid;
}

/* A batch out of key order, much larger than the stored keys, is merged
 * with them (the keys table is rewritten by appends): stored keys, new
 * keys, unchanged, updated with the same hash and with a new one must all
 * come out as a lookup of each key would have made them. */
static void test_merge_keys(void)
{
    char path[600];
    path_in(path, sizeof path, "merge.phmi");
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create: %s", err);
    rng r = { 7 };
    phm_pdq h[12];
    for (int i = 0; i < 12; i++)
        h[i] = rng_hash(&r);
    phm_index_txn *t;
    phm_entry e;
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin");
    const char *first[] = { "k05", "k10", "k15" };
    for (int i = 0; i < 3; i++) {
        e = entry("s", first[i], "c", &h[i]);
        IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "add %s", first[i]);
    }
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "commit: %s", err);
    char note[16];
    uint64_t k05 = key_eid(idx, "k05", note), k10 = key_eid(idx, "k10", note),
             k15 = key_eid(idx, "k15", note);
    OK(k05 && k10 && k15, "the stored keys are found (numbers start at 1)");

    /* k20 is appended at once; from k01 on the adds are buffered: 9 of
     * them against 4 stored keys */
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin batch");
    const char *ids[] = { "k20", "k01", "k07", "k10", "k03", "k05", "k02", "k15", "k04", "k06" };
    for (int i = 0; i < 10; i++) {
        const char *id = ids[i];
        if (strcmp(id, "k10") == 0)
            e = entry("s", id, "c", &h[1]); /* unchanged */
        else if (strcmp(id, "k05") == 0) {
            e = entry("s", id, "c", &h[0]); /* same hash, new note */
            e.note = "moved";
        } else if (strcmp(id, "k15") == 0)
            e = entry("s", id, "c", &h[11]); /* a new hash */
        else
            e = entry("s", id, "c", &h[3 + i % 8]);
        IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "add %s", id);
    }
    phm_index_counts c;
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "commit batch: %s", err);
    IS_INT(c.added, 7, "7 added");
    IS_INT(c.unchanged, 1, "1 unchanged");
    IS_INT(c.updated, 2, "2 updated");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify: %s", err);

    size_t cnt = 0;
    IS_INT(phm_index_foreach(idx, count_cb, &cnt, err, sizeof err), PHM_OK, "foreach");
    IS_INT(cnt, 10, "10 entries");
    OK(key_eid(idx, "k05", note) == k05 && strcmp(note, "moved") == 0,
       "same hash: same entry number, new note");
    OK(key_eid(idx, "k10", note) == k10, "unchanged kept");
    OK(key_eid(idx, "k15", note) > k15, "new hash: new entry number");
    IS_INT(radius_count(idx, &h[2], 0), 0, "k15's old hash is gone");
    IS_INT(radius_count(idx, &h[11], 0), 1, "k15's new hash is found");

    /* every key is still there: re-adding them all changes nothing */
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin again");
    e = entry("s", "k05", "c", &h[0]);
    e.note = "moved";
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "add k05 again");
    e = entry("s", "k15", "c", &h[11]);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "add k15 again");
    e = entry("s", "k10", "c", &h[1]);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "add k10 again");
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "commit again: %s", err);
    IS_INT(c.added, 0, "none added");
    IS_INT(c.unchanged, 3, "3 unchanged");
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin remove");
    int gone[3] = { 0 };
    const char *rm[] = { "k01", "k20", "k09" };
    for (int i = 0; i < 3; i++)
        IS_INT(phm_index_remove(t, "s", rm[i], &gone[i], err, sizeof err), PHM_OK,
               "remove %s by key", rm[i]);
    OK(gone[0] == 1 && gone[1] == 1 && gone[2] == 0, "the merged keys are found, k09 is not");
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "commit remove: %s", err);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify: %s", err);
    phm_index_close(idx);
}

/* photodna and attrs: stored, read back by foreach and the searcher,
 * compared for "unchanged", refused when malformed; unique ids. */
typedef struct extra_seen {
    char photodna[PHM_INDEX_MAX_PHOTODNA + 1];
    char attrs[PHM_INDEX_MAX_ATTRS + 1];
    int n;
} extra_seen;

static int extra_cb(void *ctx, uint64_t eid, const phm_entry *e)
{
    extra_seen *x = ctx;
    (void)eid;
    if (strcmp(e->id, "x") == 0) {
        snprintf(x->photodna, sizeof x->photodna, "%s", e->photodna ? e->photodna : "(null)");
        snprintf(x->attrs, sizeof x->attrs, "%s", e->attrs ? e->attrs : "(null)");
    }
    x->n++;
    return 0;
}

static void test_extra_fields(void)
{
    char path[600], b64[193];
    phm_index *idx;
    phm_index_txn *t;
    phm_index_counts c;
    phm_pdq h = { { 0x5555555555555555ull, 0xaaaaaaaaaaaaaaaaull, 0x0f0f0f0f0f0f0f0full,
                    0xf0f0f0f0f0f0f0f0ull } };
    for (int i = 0; i < 192; i++)
        b64[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64];
    b64[192] = '\0';
    path_in(path, sizeof path, "extra.phmi");
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err)) {
        OK(0, "open extra.phmi: %s", err);
        return;
    }
    phm_entry e = entry("s", "x", "A1", &h);
    e.photodna = b64;
    e.attrs = "{\"Series\":\"s\",\"Tags\":[\"a\"]}";
    phm_index_txn_begin(idx, &t, err, sizeof err);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "an entry with photodna and attrs");
    phm_entry bad = e;
    bad.id = "y";
    bad.photodna = "abc";
    IS_INT(phm_index_add(t, &bad, err, sizeof err), PHM_ERR_INVALID, "a short photodna refused");
    bad.photodna = NULL;
    bad.attrs = "[1]";
    IS_INT(phm_index_add(t, &bad, err, sizeof err), PHM_ERR_INVALID, "attrs not an object refused");
    bad.attrs = "{\"a\":1";
    IS_INT(phm_index_add(t, &bad, err, sizeof err), PHM_ERR_INVALID, "attrs not JSON refused");
    phm_index_txn_commit(t, &c, err, sizeof err);
    extra_seen x = { "", "", 0 };
    phm_index_foreach(idx, extra_cb, &x, err, sizeof err);
    IS_STR(x.photodna, b64, "foreach: photodna back");
    IS_STR(x.attrs, e.attrs, "foreach: attrs back");
    phm_searcher *s;
    if (phm_searcher_new(idx, &s, err, sizeof err) == PHM_OK) {
        uint64_t eid = 0;
        phm_entry got;
        if (phm_searcher_find(s, "s", "x", &eid, err, sizeof err) == PHM_OK &&
            phm_searcher_get(s, eid, &got, err, sizeof err) == PHM_OK)
            OK(got.photodna && strcmp(got.photodna, b64) == 0 && got.attrs &&
                   strcmp(got.attrs, e.attrs) == 0,
               "searcher_get: photodna and attrs back");
        else
            OK(0, "searcher_get: %s", err);
        phm_searcher_free(s);
    }
    /* the same again: unchanged; other attrs: updated; none: updated */
    phm_index_txn_begin(idx, &t, err, sizeof err);
    phm_index_add(t, &e, err, sizeof err);
    e.attrs = "{\"Series\":\"t\"}";
    phm_index_add(t, &e, err, sizeof err);
    e.attrs = NULL;
    e.photodna = NULL;
    phm_index_add(t, &e, err, sizeof err);
    phm_index_txn_commit(t, &c, err, sizeof err);
    OK(c.unchanged == 1 && c.updated == 2, "unchanged, then updated twice (%llu, %llu)",
       (unsigned long long)c.unchanged, (unsigned long long)c.updated);
    x.n = 0;
    phm_index_foreach(idx, extra_cb, &x, err, sizeof err);
    IS_STR(x.photodna, "(null)", "removed photodna reads back as NULL");

    /* unique ids: one id, two hashes, in one transaction */
    phm_index_txn_begin(idx, &t, err, sizeof err);
    phm_index_txn_unique_ids(t, 1);
    phm_entry u = entry("s", "u1", "", &h);
    IS_INT(phm_index_add(t, &u, err, sizeof err), PHM_OK, "unique: first add");
    IS_INT(phm_index_add(t, &u, err, sizeof err), PHM_OK, "unique: the same hash again");
    u.category = "other";
    IS_INT(phm_index_add(t, &u, err, sizeof err), PHM_OK, "unique: the same hash, relabelled");
    phm_pdq h2 = h;
    h2.w[3] ^= 0xffull;
    u.pdq = h2;
    IS_INT(phm_index_add(t, &u, err, sizeof err), PHM_ERR_INVALID, "unique: another hash refused");
    OK(strstr(err, "another hash") != NULL, "... saying so: %s", err);
    /* after a removal (which writes the buffered adds) */
    phm_entry a = entry("s", "a0", "", &h);
    phm_index_add(t, &a, err, sizeof err);
    phm_index_remove(t, "s", "zz", NULL, err, sizeof err);
    IS_INT(phm_index_add(t, &u, err, sizeof err), PHM_ERR_INVALID,
           "unique: refused after the adds were written too");
    /* an entry stored before this transaction may change its hash */
    e.pdq = h2;
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "unique: a stored entry re-hashed");
    IS_INT(phm_index_txn_commit(t, &c, err, sizeof err), PHM_OK, "unique: commit");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify: %s", err);
    phm_index_close(idx);
}

/* An empty base is rebuilt again and again (compact of an empty index,
 * or of one whose entries were all removed). */
static void test_compact_empty(void)
{
    char path[600];
    path_in(path, sizeof path, "compact-empty.phmi");
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "empty: create");
    for (int i = 1; i <= 3; i++)
        IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "empty: compact %d: %s", i, err);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "empty: verify: %s", err);
    phm_index_close(idx);
}

/* A new index at path holding n entries of source "s", ids "e000"...,
 * category "c", random hashes from seed; opened (write) into *idx. */
static void small_index(const char *path, int n, uint64_t seed, phm_index **idx,
                        const char *what)
{
    phm_index_txn *t;
    rng r = { seed };
    IS_INT(phm_index_open(idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "%s: create", what);
    phm_index_txn_begin(*idx, &t, err, sizeof err);
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%03d", i);
        phm_pdq h = rng_hash(&r);
        phm_entry e = entry("s", id, "c", &h);
        phm_index_add(t, &e, err, sizeof err);
    }
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "%s: %d entries", what, n);
}

static int cut_eids(MDB_txn *txn, void *ctx)
{
    MDB_dbi dbi;
    uint8_t key[4] = { 1, 'E', 0, 0 };
    MDB_val k = { 4, key }, v;
    int rc = mdb_dbi_open(txn, "search", 0, &dbi);
    if (!rc)
        rc = mdb_get(txn, dbi, &k, &v);
    if (rc)
        return rc;
    if (*(int *)ctx) /* shorter by 8 bytes */
        return mdb_put(txn, dbi, &k, &(MDB_val){ v.mv_size - 8, v.mv_data }, 0);
    return mdb_del(txn, dbi, &k, NULL);
}

/* The base's 'E' blob missing or of the wrong size in a built base: the
 * searcher, the statistics, a removal, verify and a rebuild (the places
 * that fetch it, idx_base_eids_get) each report the file corrupt. */
static void test_eids_damaged(void)
{
    for (int shorter = 0; shorter < 2; shorter++) {
        char path[600];
        path_in(path, sizeof path, shorter ? "eids-short.phmi" : "eids-gone.phmi");
        phm_index *idx;
        phm_index_txn *t;
        rng r = { 5 };
        small_index(path, 300, 5, &idx, "eids");
        IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "eids: compact");
        phm_index_txn_begin(idx, &t, err, sizeof err);
        phm_index_remove(t, "s", "e001", NULL, err, sizeof err); /* a dead row */
        IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "eids: remove one");
        phm_index_close(idx);
        IS_INT(index_raw_edit(path, cut_eids, &shorter), 0, "eids: 'E' %s",
               shorter ? "cut short" : "deleted");
        IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_OK,
               "eids: opens");
        phm_searcher *s = NULL;
        const phm_match *m;
        size_t n = 0;
        phm_pdq q = rng_hash(&r);
        int st = phm_searcher_new(idx, &s, err, sizeof err);
        if (!st)
            st = phm_search_radius(s, &q, 31, &m, &n, err, sizeof err);
        IS_INT(st, PHM_ERR_CORRUPT, "eids: a search fails");
        OK(strstr(err, "'E0' is missing or has the wrong size") != NULL, "eids: says so: %s",
           err);
        phm_searcher_free(s);
        phm_index_stats stats;
        OK(phm_index_get_stats(idx, &stats, err, sizeof err) != PHM_OK, "eids: stats fail");
        OK(phm_index_verify(idx, err, sizeof err) != PHM_OK, "eids: verify fails: %s", err);
        OK(phm_index_compact(idx, err, sizeof err) != PHM_OK, "eids: compact fails: %s", err);
        phm_index_txn_begin(idx, &t, err, sizeof err);
        phm_pdq h = rng_hash(&r);
        phm_entry e = entry("s", "e002", "", &h); /* a new hash: the old one read */
        OK(phm_index_add(t, &e, err, sizeof err) != PHM_OK ||
               phm_index_txn_commit(t, NULL, err, sizeof err) != PHM_OK,
           "eids: replacing a base entry fails: %s", err);
        phm_index_close(idx);
    }
}

static int bad_group_key(MDB_txn *txn, void *ctx)
{
    (void)ctx;
    MDB_dbi dbi;
    uint64_t one = 1;
    uint8_t key[1] = { 0 }; /* source number 0: no group */
    int rc = mdb_dbi_open(txn, "counts", 0, &dbi);
    return rc ? rc : mdb_put(txn, dbi, &(MDB_val){ 1, key }, &(MDB_val){ 8, &one }, 0);
}

/* A per-source count row whose key names no source: the statistics say
 * the file is corrupt (they read its source number unset before). */
static void test_stats_bad_group(void)
{
    char path[600];
    path_in(path, sizeof path, "badgroup.phmi");
    phm_index *idx;
    small_index(path, 1, 9, &idx, "bad group");
    phm_index_close(idx);
    IS_INT(index_raw_edit(path, bad_group_key, NULL), 0, "bad group: a malformed key");
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "bad group: opens");
    phm_index_stats st;
    OK(phm_index_get_stats(idx, &st, err, sizeof err) != PHM_OK && strstr(err, "corrupt"),
       "bad group: the statistics say corrupt: %s", err);
    OK(phm_index_verify(idx, err, sizeof err) != PHM_OK, "bad group: verify fails: %s", err);
    phm_index_close(idx);
}

static int bad_last_keys(MDB_txn *txn, void *ctx)
{
    (void)ctx;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k, v;
    static const uint8_t junk[4] = { 2, 0x7f, 0xff, 0xff }; /* BLK_KEYS, too many items */
    int rc = mdb_dbi_open(txn, "keys", 0, &dbi);
    if (!rc)
        rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return rc;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (!rc)
        rc = mdb_cursor_put(c, &k, &(MDB_val){ sizeof junk, (void *)junk }, MDB_CURRENT);
    mdb_cursor_close(c);
    return rc;
}

/* A write transaction that cannot begin (the keys table's last block is
 * corrupt) says so and leaks nothing (the names it loaded: ASan). */
static void test_begin_corrupt_keys(void)
{
    char path[600];
    path_in(path, sizeof path, "badkeys.phmi");
    phm_index *idx;
    phm_index_txn *t;
    small_index(path, 50, 13, &idx, "bad keys");
    phm_index_close(idx);
    IS_INT(index_raw_edit(path, bad_last_keys, NULL), 0, "bad keys: the last block spoilt");
    IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_OK,
           "bad keys: opens");
    t = NULL;
    OK(phm_index_txn_begin(idx, &t, err, sizeof err) != PHM_OK && !t && strstr(err, "corrupt"),
       "bad keys: a write transaction does not begin: %s", err);
    phm_index_close(idx);
}

/* The export of an index as text: every entry's number and fields. */
typedef struct dump {
    char *text;
    size_t len, cap;
} dump;

static int dump_cb(void *ctx, uint64_t eid, const phm_entry *e)
{
    dump *d = ctx;
    if (d->cap - d->len < 512) {
        d->cap = d->cap ? 2 * d->cap : 1 << 20;
        if (!(d->text = realloc(d->text, d->cap)))
            exit(2);
    }
    int n = snprintf(d->text + d->len, d->cap - d->len,
                     "%llu %s %s %s %u %lld %016llx %02x%02x %zu %016llx\n",
                     (unsigned long long)eid, e->source, e->id, e->category, e->signals,
                     (long long)e->added, (unsigned long long)e->pdq.w[0], e->md5[0],
                     e->md5[15], e->nvariants,
                     (unsigned long long)(e->nvariants ? e->variants[0].pdq.w[1] : 0));
    d->len += (size_t)n;
    return 0;
}

/* Builds the same index in a and b: three sources interleaved over
 * thousands of entries (many blocks), digests and variants on some, then
 * a second transaction that gives some of source b new hashes (new
 * numbers, out of key order) and adds more. */
static void build_three(phm_index *idx, const char *what)
{
    rng r = { 11 };
    phm_index_txn *t;
    char id[16];
    int bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "%s: begin %d", what,
               pass);
        for (int i = 0; i < 6000; i++) {
            if (pass == 1 && (i % 3 != 1 || i % 5) && i < 5400)
                continue;
            const char *src = i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c";
            snprintf(id, sizeof id, "i%05d", pass == 1 && i >= 5400 ? i + 1000 : i);
            phm_pdq h = rng_hash(&r);
            phm_entry e = entry(src, id, i % 2 ? "x" : "y", &h);
            e.added = 1700000000 + i;
            if (i % 4 == 0) {
                e.signals |= PHM_SIG_MD5;
                memset(e.md5, i & 0xff, sizeof e.md5);
            }
            if (i % 10 == 7) {
                e.nvariants = 1;
                e.variants[0].code = PHM_KV_CROP5_C;
                e.variants[0].pdq = rng_hash(&r);
            }
            bad |= phm_index_add(t, &e, err, sizeof err) != PHM_OK;
        }
        IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "%s: commit %d: %s",
               what, pass, err);
    }
    IS_INT(bad, 0, "%s: every add stored", what);
}

/* phm_index_remove_source (blocks rewritten once each) leaves the index
 * exactly as removing the source's entries one by one does. */
static void test_remove_source_blocks(void)
{
    char pa[600], pb[600];
    path_in(pa, sizeof pa, "rsa.phmi");
    path_in(pb, sizeof pb, "rsb.phmi");
    phm_index *a, *b;
    IS_INT(phm_index_open(&a, pa, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create a");
    IS_INT(phm_index_open(&b, pb, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create b");
    build_three(a, "a");
    build_three(b, "b");
    /* b's ids, as stored */
    dump before = { 0 };
    IS_INT(phm_index_foreach(b, dump_cb, &before, err, sizeof err), PHM_OK, "export");
    phm_index_txn *t;
    uint64_t n = 0;
    phm_index_counts ca, cb;
    IS_INT(phm_index_txn_begin(a, &t, err, sizeof err), PHM_OK, "begin a");
    IS_INT(phm_index_remove_source(t, "b", &n, err, sizeof err), PHM_OK, "remove source b: %s",
           err);
    IS_INT(phm_index_txn_commit(t, &ca, err, sizeof err), PHM_OK, "commit a: %s", err);
    IS_INT(phm_index_txn_begin(b, &t, err, sizeof err), PHM_OK, "begin b");
    uint64_t one = 0;
    for (char *line = before.text; line && line < before.text + before.len;) {
        /* "number source id ...": the ids of b */
        char *src = strchr(line, ' ') + 1, id[16];
        int removed = 0;
        if (strncmp(src, "b i", 3) == 0) {
            snprintf(id, sizeof id, "%.6s", src + 2);
            if (phm_index_remove(t, "b", id, &removed, err, sizeof err) == PHM_OK)
                one += (uint64_t)removed;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    IS_INT(phm_index_txn_commit(t, &cb, err, sizeof err), PHM_OK, "commit b: %s", err);
    OK(n > 2000 && n == one, "%llu removed at once, %llu one by one", (unsigned long long)n,
       (unsigned long long)one);
    IS_INT(ca.removed, cb.removed, "the counts say the same");
    IS_INT(phm_index_verify(a, err, sizeof err), PHM_OK, "verify a: %s", err);
    IS_INT(phm_index_verify(b, err, sizeof err), PHM_OK, "verify b: %s", err);
    dump da = { 0 }, db = { 0 };
    IS_INT(phm_index_foreach(a, dump_cb, &da, err, sizeof err), PHM_OK, "export a");
    IS_INT(phm_index_foreach(b, dump_cb, &db, err, sizeof err), PHM_OK, "export b");
    OK(da.len > 0 && da.len == db.len && memcmp(da.text, db.text, da.len) == 0,
       "the exports are equal (%zu bytes)", da.len);
    OK(da.text && !strstr(da.text, " b i"), "no entry of b is left");
    groups_seen ga = { "" }, gb = { "" };
    phm_index_foreach_group(a, group_cb, &ga, err, sizeof err);
    phm_index_foreach_group(b, group_cb, &gb, err, sizeof err);
    IS_STR(ga.text, gb.text, "the group counts are equal");
    /* in one transaction: adds appended at once (the blocks' tails in
     * memory), a source removed, more adds, another source removed */
    rng r = { 3 };
    IS_INT(phm_index_txn_begin(a, &t, err, sizeof err), PHM_OK, "mixed: begin");
    int bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 1500; i++) {
            char id[16];
            snprintf(id, sizeof id, "n%05d", i);
            phm_pdq h = rng_hash(&r);
            phm_entry e = entry(i < 700 ? "d" : "e", id, "", &h);
            bad |= phm_index_add(t, &e, err, sizeof err) != PHM_OK;
        }
        bad |= phm_index_remove_source(t, pass ? "e" : "d", &n, err, sizeof err) != PHM_OK;
        bad |= n != (pass ? 800u : 700u);
    }
    IS_INT(bad, 0, "mixed: adds and removals: %s", err);
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "mixed: commit: %s", err);
    IS_INT(phm_index_verify(a, err, sizeof err), PHM_OK, "mixed: verify: %s", err);
    phm_index_stats st;
    phm_index_get_stats(a, &st, err, sizeof err);
    uint64_t lines = 0; /* a and c, exported above */
    for (size_t i = 0; i < da.len; i++)
        lines += da.text[i] == '\n';
    IS_INT(st.entries, lines + 700, "mixed: the entries left (a, c and the 700 of d)");
    free(before.text);
    free(da.text);
    free(db.text);
    phm_index_close(a);
    phm_index_close(b);
}

static int huge_delta_eid(MDB_txn *txn, void *ctx)
{
    (void)ctx;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k, v;
    uint8_t key[9], hash[32];
    int rc = mdb_dbi_open(txn, "delta", 0, &dbi);
    if (!rc)
        rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return rc;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (!rc && (k.mv_size != sizeof key || v.mv_size != sizeof hash))
        rc = MDB_INCOMPATIBLE;
    if (!rc) {
        memcpy(key, k.mv_data, sizeof key);
        memcpy(hash, v.mv_data, sizeof hash);
        rc = mdb_cursor_del(c, 0);
    }
    mdb_cursor_close(c);
    key[3] = 1; /* key: signal, entry number big-endian: now 2^40 + n */
    return rc ? rc : mdb_put(txn, dbi, &(MDB_val){ sizeof key, key },
                             &(MDB_val){ sizeof hash, hash }, 0);
}

/* A delta row whose entry number is above the 32 bits entry numbers have
 * (a damaged file): a rebuild says the file is corrupt. It coded the
 * number's block in 41-bit differences into a buffer for 32 (stack
 * overflow in idx_eids_encode) before. */
static void test_delta_huge_eid(void)
{
    char path[600];
    path_in(path, sizeof path, "delta-eid.phmi");
    phm_index *idx;
    phm_index_txn *t;
    rng r = { 11 };
    small_index(path, 100, 7, &idx, "delta eid");
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "delta eid: compact");
    phm_index_txn_begin(idx, &t, err, sizeof err);
    phm_pdq h = rng_hash(&r);
    phm_entry e = entry("s", "x", "c", &h);
    phm_index_add(t, &e, err, sizeof err);
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "delta eid: one in the delta");
    phm_index_close(idx);
    IS_INT(index_raw_edit(path, huge_delta_eid, NULL), 0, "delta eid: its number 2^40 + n");
    IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_OK,
           "delta eid: opens");
    int st = phm_index_compact(idx, err, sizeof err);
    OK(st != PHM_OK && strstr(err, "corrupt"), "delta eid: compact says corrupt (%d): %s", st,
       err);
    OK(phm_index_verify(idx, err, sizeof err) != PHM_OK, "delta eid: verify fails: %s", err);
    phm_index_close(idx);
}

int main(void)
{
    scratch_dir(dir, sizeof dir, "index");
    test_simd_names();
    test_basic();
    test_invalid_entries();
    test_readonly();
    test_bad_files();
    test_truncated_live();
    test_grown_then_cut();
    test_map_full();
    test_compact_and_copy();
    test_compact_empty();
    test_eid_limit();
    test_blob_corruption();
    test_snapshot();
    test_merge_keys();
    test_extra_fields();
    test_remove_source_blocks();
    test_eids_damaged();
    test_delta_huge_eid();
    test_stats_bad_group();
    test_begin_corrupt_keys();
    scratch_done(dir);
    return tap_done();
}
