/* test_index_upgrade.c - phm_index_upgrade on the legacy fixtures of
 * tests/data/index/ (written by the last format-4 build and, v5 and
 * v5seg, the last format-5 build; README.md there): every entry, field,
 * hash, governance row and the content-id counter survive, against what
 * mkfixture.c put in and the old build's counts (vN.stats); and the
 * refusals, each leaving the old file as it was and no temporary file:
 * not an index, truncated, formats 1 and 7, a format-5 file whose search
 * structures lack hashes, a file another process has open, a write that
 * fails (RLIMIT_FSIZE). Uses the public API, and raw LMDB only to damage
 * a format-5 file. */
#include <dirent.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "index_util.h"
#include "phmatch.h"
#include "../data/index/fixture_hashes.h"
#include "tap.h"

#define FIXTURES "tests/data/index/"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* Unpacks fixture `fixture`.phmi.gz into the scratch directory as `name`. */
static int unpack_named(const char *fixture, const char *name)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gzip -dc %s%s.phmi.gz > '%s/%s'", FIXTURES, fixture, dir, name);
    return system(cmd) == 0;
}

/* Unpacks fixture vN into the scratch directory as `name`. */
static int unpack(int v, const char *name)
{
    char f[16];
    snprintf(f, sizeof f, "v%d", v);
    return unpack_named(f, name);
}

static int copy_file(const char *from, const char *to)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    return system(cmd) == 0;
}

static int same_file(const char *a, const char *b)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

/* Files in the scratch directory whose name contains `part`. */
static int count_named(const char *part)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += strstr(de->d_name, part) != NULL;
    if (d)
        closedir(d);
    return n;
}

/* A counter of vN.stats (the old build's `index stats`). */
static long long stat_of(int v, const char *name)
{
    char p[256], line[256];
    snprintf(p, sizeof p, "%sv%d.stats", FIXTURES, v);
    FILE *f = fopen(p, "r");
    long long val = -1;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == '\t')
            val = atoll(line + n + 1);
    if (f)
        fclose(f);
    return val;
}

static int same_hash(const phm_pdq *a, phm_pdq b)
{
    return !memcmp(a, &b, sizeof b);
}

typedef struct found {
    int n, a1, variants, video, bank;
    /* format 5: an image with variants and one with a numeric id in the
     * delta, a re-hashed entry, a re-noted one, a video in the delta, the
     * removed entry (must be absent); v5seg's entries with their hashes */
    int late, numid, rehashed, renoted, clip2, gone, seg_ok, seg_bad, seg_010;
} found;

static int visit(void *ctx, uint64_t entry, const phm_entry *e)
{
    found *f = ctx;
    (void)entry;
    f->n++;
    if (!strcmp(e->source, "ncmec") && !strcmp(e->id, "a1"))
        f->a1 = e->added == 1600000000 && e->quality == 90 && !strcmp(e->category, "A1") &&
                !strcmp(e->note, "first, with \"quotes\" and caf\xc3\xa9") &&
                e->signals == (PHM_SIG_PDQ | PHM_SIG_MD5) && e->md5[1] == 38 &&
                same_hash(&e->pdq, hash_of(1));
    if (!strcmp(e->id, "with-variants"))
        f->variants = e->nvariants == 2 &&
                      e->variants[0].code == phm_known_variant_code("crop10-c") &&
                      e->variants[1].code == phm_known_variant_code("rot+5") &&
                      e->added == 1600003000 && same_hash(&e->pdq, hash_of(300)) &&
                      same_hash(&e->variants[0].pdq, hash_of(301)) &&
                      same_hash(&e->variants[1].pdq, hash_of(302));
    if (!strcmp(e->id, "late-variants"))
        f->late = e->nvariants == 3 && same_hash(&e->pdq, hash_of(500)) &&
                  same_hash(&e->variants[0].pdq, hash_of(501)) &&
                  same_hash(&e->variants[1].pdq, hash_of(502)) &&
                  same_hash(&e->variants[2].pdq, hash_of(503)) &&
                  e->variants[1].code == phm_known_variant_code("crop20-tl") &&
                  (e->signals & PHM_SIG_MD5) && e->added == 1600006000;
    if (!strcmp(e->id, "12345"))
        f->numid = !strcmp(e->source, "local-case-2") && e->added == 1500000000 &&
                   same_hash(&e->pdq, hash_of(510)) && !strcmp(e->category, "");
    if (!strcmp(e->id, "bulk-06"))
        f->rehashed = same_hash(&e->pdq, hash_of(530));
    if (!strcmp(e->id, "bulk-08"))
        f->renoted = same_hash(&e->pdq, hash_of(108)) &&
                     !strcmp(e->note, "noted after the rebuild");
    if (!strcmp(e->id, "clip-2"))
        f->clip2 = e->nframes == 2 && e->frames && same_hash(&e->frames[1].hash, hash_of(521));
    if (!strcmp(e->id, "gone"))
        f->gone++;
    if (!strcmp(e->source, "seg")) {
        int i = atoi(e->id + 2);
        int ok = e->nvariants == 2 && same_hash(&e->pdq, sparse_hash((uint64_t)i * 4)) &&
                 same_hash(&e->variants[0].pdq, sparse_hash((uint64_t)i * 4 + 1)) &&
                 same_hash(&e->variants[1].pdq, sparse_hash((uint64_t)i * 4 + 2)) &&
                 e->added == 1600005000 + i && !strcmp(e->category, i % 2 ? "odd" : "");
        f->seg_ok += ok;
        f->seg_bad += !ok;
        f->seg_010 += i == 10;
    }
    if (!strcmp(e->id, "clip-1"))
        f->video = e->nframes == 3 && e->frames && e->frames[1].quality == 20 &&
                   e->frames[2].frame == 60 && e->frames[2].timestamp == 2 * 1.001;
    if (!strcmp(e->source, "bank-a"))
        f->bank++;
    return 0;
}

static int count_rows(void *ctx, const char *source, const char *id, int64_t a, int64_t b)
{
    (void)a, (void)b;
    (void)source, (void)id;
    (*(int *)ctx)++;
    return 0;
}

static int quarantine_a2(void *ctx, const char *source, const char *id, int64_t when,
                         uint64_t count)
{
    if (!strcmp(source, "ncmec") && !strcmp(id, "a2"))
        *(int *)ctx = when == 1700000000 && count == 7;
    return 0;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    if (done == total)
        (*(int *)ctx)++;
}

static void check_fixture(int v)
{
    char p[600], name[32];
    snprintf(name, sizeof name, "v%d.phmi", v);
    path_in(p, sizeof p, name);
    if (!OK(unpack(v, name), "v%d: fixture unpacked", v))
        return;
    phm_index *idx = NULL;
    int rc = phm_index_open(&idx, p, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err);
    IS_INT(rc, PHM_ERR_INDEX_VERSION, "v%d: refused by phm_index_open", v);
    OK(strstr(err, "phmatch index upgrade"), "v%d: the refusal names the command: %s", v, err);
    int ends = 0;
    rc = phm_index_upgrade(p, NULL, on_progress, &ends, err, sizeof err);
    IS_INT(rc, PHM_OK, "v%d: upgraded: %s", v, err);
    OK(!strncmp(err, "upgraded '", 10) && strstr(err, "from format"), "v%d: summary", v);
    OK(ends >= 1, "v%d: progress reached the total", v);
    IS_INT(count_named(".upgrade-"), 0, "v%d: no temporary file left", v);
    rc = phm_index_open(&idx, p, 0, 0, PHM_SIMD_AUTO, err, sizeof err);
    if (!OK(rc == PHM_OK, "v%d: opens after the upgrade: %s", v, err))
        return;
    phm_index_stats st;
    phm_index_get_stats(idx, &st, err, sizeof err);
    IS_INT(st.format_version, PHM_INDEX_FORMAT_VERSION, "v%d: format", v);
    IS_INT(st.entries, stat_of(v, "entries"), "v%d: entries as the old build counted", v);
    IS_INT(st.video_frames, stat_of(v, "video_frames"), "v%d: video frames", v);
    IS_INT(st.variant_hashes, stat_of(v, "variant_hashes"), "v%d: variant hashes", v);
    IS_INT(st.digests, stat_of(v, "digests"), "v%d: digest links", v);
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "v%d: verifies: %s", v, err);
    found f = { 0 };
    phm_index_foreach(idx, visit, &f, err, sizeof err);
    OK(f.a1, "v%d: ncmec:a1 with every field and its added time", v);
    OK(f.video, "v%d: the video with every frame", v);
    IS_INT(f.gone, 0, "v%d: the removed entry is not back", v);
    if (v >= 4) {
        OK(f.variants, "v%d: the stored variants, with their hashes", v);
        IS_INT(f.bank, 2, "v%d: HMA contents", v);
    }
    if (v >= 5) {
        OK(f.late, "v%d: an entry with variants in the delta, hashes in order", v);
        OK(f.numid, "v%d: a numeric id in the delta, added before created", v);
        OK(f.rehashed, "v%d: a re-hashed entry (its base slot dead) has its new hash", v);
        OK(f.renoted, "v%d: a re-noted entry in the base", v);
        OK(f.clip2, "v%d: a video in the delta", v);
    }
    phm_source_settings s;
    phm_index_source_get(idx, "ncmec", &s, err, sizeof err);
    int gov = v >= 3;
    OK(s.stored == gov && (!gov || (s.max_distance == 20 && s.quarantine_limit == 5 &&
                                    s.ncategories == 2 &&
                                    s.matching_ratio == (v >= 4 ? 0.25 : 1.0))),
       "v%d: ncmec's settings", v);
    phm_index_source_get(idx, "benign", &s, err, sizeof err);
    OK(s.kind == (gov ? PHM_SOURCE_SUPPRESSION : PHM_SOURCE_NORMAL), "v%d: suppression source",
       v);
    phm_index_source_get(idx, "no-entries", &s, err, sizeof err);
    OK(s.enabled == !gov, "v%d: settings of a source without entries", v);
    int rows = 0, q = 0;
    phm_index_disabled_foreach(idx, count_rows, &rows, err, sizeof err);
    IS_INT(rows, gov ? 3 : 0, "v%d: disabled rows, one naming a removed entry", v);
    int disabled = 0;
    int64_t until = 0;
    phm_index_entry_disabled(idx, "ncmec", "a1", &disabled, &until, err, sizeof err);
    OK(disabled == gov && until == (gov ? 4000000000 : 0), "v%d: a1 disabled until", v);
    phm_index_quarantine_foreach(idx, quarantine_a2, &q, err, sizeof err);
    OK(q == gov, "v%d: quarantine row with its time and count", v);
    phm_index_txn *t;
    uint64_t cid = 0;
    if (phm_index_txn_begin(idx, &t, err, sizeof err) == PHM_OK) {
        phm_index_txn_next_content_id(t, &cid, err, sizeof err);
        phm_index_txn_abort(t);
    }
    IS_INT(cid, v >= 4 ? 3 : 1, "v%d: the next HMA content id is not one handed out", v);
    phm_index_close(idx);
    rc = phm_index_upgrade(p, NULL, NULL, NULL, err, sizeof err);
    OK(rc == PHM_OK && strstr(err, "nothing to do"), "v%d: again: nothing to do (%s)", v, err);
}

/* Upgrades a file that must be refused with `want`; the file must be
 * unchanged and no temporary file left. */
static void refused(const char *name, int want, const char *what, const char *msg)
{
    char p[600], keep[640];
    path_in(p, sizeof p, name);
    snprintf(keep, sizeof keep, "%s.keep", p);
    copy_file(p, keep);
    int rc = phm_index_upgrade(p, NULL, NULL, NULL, err, sizeof err);
    IS_INT(rc, want, "%s: refused", what);
    OK(strstr(err, msg) != NULL, "%s: says '%s': %s", what, msg, err);
    OK(same_file(p, keep), "%s: the file is unchanged", what);
    IS_INT(count_named(".upgrade-"), 0, "%s: no temporary file", what);
    unlink(keep);
}

/* v5seg: a base of three 'H' segments (an entry's slots across the
 * first boundary), a dead entry and a delta. */
static void check_segmented(void)
{
    char p[600];
    path_in(p, sizeof p, "v5seg.phmi");
    if (!OK(unpack_named("v5seg", "v5seg.phmi"), "v5seg: unpacked"))
        return;
    int rc = phm_index_upgrade(p, NULL, NULL, NULL, err, sizeof err);
    IS_INT(rc, PHM_OK, "v5seg: upgraded: %s", err);
    phm_index *idx = NULL;
    if (!OK(phm_index_open(&idx, p, 0, 0, PHM_SIMD_AUTO, err, sizeof err) == PHM_OK,
            "v5seg: opens: %s", err))
        return;
    found f = { 0 };
    phm_index_foreach(idx, visit, &f, err, sizeof err);
    IS_INT(f.seg_ok, 102, "v5seg: 99 base and 3 delta entries with every hash");
    IS_INT(f.seg_bad, 0, "v5seg: none wrong");
    IS_INT(f.seg_010, 0, "v5seg: the removed one (dead in the base) is not back");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "v5seg: verifies: %s", err);
    phm_index_close(idx);
}

struct damage {
    const char *table;
    const void *key;
    size_t klen;
};

static int damage_txn(MDB_txn *txn, void *ctx)
{
    const struct damage *d = ctx;
    MDB_dbi dbi;
    MDB_val k = { d->klen, (void *)(uintptr_t)d->key };
    int rc = mdb_dbi_open(txn, d->table, 0, &dbi);
    if (rc)
        return rc;
    return d->key ? mdb_del(txn, dbi, &k, NULL) : mdb_drop(txn, dbi, 0);
}

/* Damages a format-5 file by raw LMDB: deletes `key` of `table`, or (key
 * NULL) empties it. */
static int lmdb_damage(const char *path, const char *table, const void *key, size_t klen)
{
    struct damage d = { table, key, klen };
    int rc = index_raw_edit(path, damage_txn, &d);
    char lock[640];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(lock);
    return rc;
}

static void check_v5_damaged(void)
{
    char p[600];
    static const uint8_t seg1[4] = { 1, 'H', 1, 0 }, eids[4] = { 1, 'E', 0, 0 };
    unpack_named("v5seg", "noseg.phmi");
    path_in(p, sizeof p, "noseg.phmi");
    IS_INT(lmdb_damage(p, "search", seg1, 4), 0, "v5: 'H' segment 1 deleted");
    refused("noseg.phmi", PHM_ERR_CORRUPT, "v5: a segment missing", "segment of the base");
    unpack_named("v5", "noeids.phmi");
    path_in(p, sizeof p, "noeids.phmi");
    IS_INT(lmdb_damage(p, "search", eids, 4), 0, "v5: 'E' deleted");
    refused("noeids.phmi", PHM_ERR_CORRUPT, "v5: no entry numbers", "entry numbers");
    unpack_named("v5", "nodelta.phmi");
    path_in(p, sizeof p, "nodelta.phmi");
    IS_INT(lmdb_damage(p, "delta", NULL, 0), 0, "v5: delta emptied");
    refused("nodelta.phmi", PHM_ERR_CORRUPT, "v5: hashes of the delta missing",
            "hashes in the search structures are missing");
    unpack_named("v5", "nonames.phmi");
    path_in(p, sizeof p, "nonames.phmi");
    IS_INT(lmdb_damage(p, "names", NULL, 0), 0, "v5: names emptied");
    refused("nonames.phmi", PHM_ERR_CORRUPT, "v5: no names", "has no name");
}

static void check_refusals(void)
{
    char p[600];
    path_in(p, sizeof p, "text.phmi");
    FILE *f = fopen(p, "w");
    fputs("not an index at all, just some text that is long enough\n", f);
    fclose(f);
    refused("text.phmi", PHM_ERR_INDEX, "a text file", "not a phmatch index");
    path_in(p, sizeof p, "empty.phmi");
    fclose(fopen(p, "w"));
    refused("empty.phmi", PHM_ERR_INDEX, "an empty file", "empty file");
    path_in(p, sizeof p, "missing.phmi");
    IS_INT(phm_index_upgrade(p, NULL, NULL, NULL, err, sizeof err), PHM_ERR_NOT_FOUND,
           "a missing file");

    unpack(4, "trunc.phmi");
    path_in(p, sizeof p, "trunc.phmi");
    struct stat sb;
    stat(p, &sb);
    if (truncate(p, sb.st_size / 2) != 0)
        perror("truncate");
    refused("trunc.phmi", PHM_ERR_INDEX, "a truncated file", "truncated");

    unpack(4, "f1.phmi");
    path_in(p, sizeof p, "f1.phmi");
    OK(index_set_format(p, 1) == 0, "format set to 1");
    refused("f1.phmi", PHM_ERR_INDEX_VERSION, "format 1", "cannot be upgraded");
    unpack(4, "f6.phmi");
    path_in(p, sizeof p, "f6.phmi");
    OK(index_set_format(p, PHM_INDEX_FORMAT_VERSION + 1) == 0, "format set to 6");
    refused("f6.phmi", PHM_ERR_INDEX_VERSION, "format 7", "upgrade phmatch");

    /* another process has it open, as an old build would (LMDB with its
     * lock file) */
    unpack(4, "busy.phmi");
    path_in(p, sizeof p, "busy.phmi");
    int fds[2];
    if (pipe(fds) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        MDB_env *env;
        close(fds[0]);
        /* 4 GiB, not the file's 1 TiB: room under ThreadSanitizer */
        if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 16) ||
            mdb_env_set_mapsize(env, (size_t)1 << 32) ||
            mdb_env_open(env, p, MDB_NOSUBDIR | MDB_RDONLY, 0600))
            _exit(1);
        if (write(fds[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(fds[1]);
    char c;
    OK(read(fds[0], &c, 1) == 1, "a reader process holds the file open");
    close(fds[0]);
    refused("busy.phmi", PHM_ERR_INDEX, "a file in use", "in use by process");
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    IS_INT(phm_index_upgrade(p, NULL, NULL, NULL, err, sizeof err), PHM_OK,
           "once it is closed, the upgrade runs: %s", err);

}

/* A write that fails (the file size limit): the old file intact. First
 * of all, in a child forked before this process has run anything of the
 * library's that may start threads (OpenMP), which a child must not. */
static void check_full_disk(void)
{
    char p[600], q[600];
    int fds[2];
    pid_t pid;
    unpack(4, "full.phmi");
    path_in(p, sizeof p, "full.phmi");
    path_in(q, sizeof q, "full.keep");
    copy_file(p, q);
    if (pipe(fds) != 0)
        return;
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = { 48 * 1024, 48 * 1024 };
        setrlimit(RLIMIT_FSIZE, &rl);
        int r = phm_index_upgrade(p, NULL, NULL, NULL, err, sizeof err);
        if (write(fds[1], err, strlen(err) + 1) < 0)
            _exit(3);
        _exit(r == PHM_OK ? 0 : 1);
    }
    close(fds[1]);
    char msg[PHM_ERRMSG_MAX] = "";
    ssize_t got = read(fds[0], msg, sizeof msg - 1);
    msg[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    OK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "a write beyond RLIMIT_FSIZE fails");
    OK(strstr(msg, "file size limit") != NULL, "and says why: %s", msg);
    OK(same_file(p, q), "the old file is unchanged");
    IS_INT(count_named(".upgrade-"), 0, "no temporary file");
}

static void check_backup(void)
{
    char p[600], b[600];
    unpack(4, "bk.phmi");
    path_in(p, sizeof p, "bk.phmi");
    path_in(b, sizeof b, "bk.old");
    char keep[600];
    path_in(keep, sizeof keep, "bk.pristine");
    copy_file(p, keep);
    IS_INT(phm_index_upgrade(p, b, NULL, NULL, err, sizeof err), PHM_OK, "--backup: %s", err);
    OK(same_file(b, keep), "the backup is the old file");
    phm_index *idx;
    int rc = phm_index_open(&idx, b, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err);
    OK(rc == PHM_ERR_INDEX_VERSION && strstr(err, "version 4"), "the backup is format 4");
    unpack(4, "bk2.phmi");
    path_in(p, sizeof p, "bk2.phmi");
    copy_file(p, keep);
    rc = phm_index_upgrade(p, b, NULL, NULL, err, sizeof err);
    OK(rc == PHM_ERR_UNREADABLE && strstr(err, "cannot keep"),
       "a backup name that exists: refused: %s", err);
    OK(same_file(p, keep) && count_named(".upgrade-") == 0, "and nothing changed");
}

int main(void)
{
    scratch_dir(dir, sizeof dir, "upgrade");
    check_full_disk();
    for (int v = 2; v <= 5; v++)
        check_fixture(v);
    check_segmented();
    check_refusals();
    check_v5_damaged();
    check_backup();
    scratch_done(dir);
    return tap_done();
}
