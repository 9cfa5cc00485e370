/* mkfixture.c - writes the legacy index fixtures of tests/data/index/
 * (README.md there). Built against the tree of the LAST format-4 build
 * (commit 798ea6a), not this one: see mkfixtures.sh.
 *
 *     mkfixture DB FORMAT   (FORMAT 2, 3 or 4)
 *
 * Adds entries of every kind the format holds (images with category,
 * note, quality, added time, digests; PhotoDNA and attrs from format 3;
 * stored variants and HMA content ids in format 4; a video), removes one
 * (a gap in the entry numbers), and sets governance rows (source
 * settings, disabled and quarantine rows, one naming the removed entry).
 * Format 2 and 3 files are then marked as such in meta/format, and a
 * format 2 file loses its governance tables, which that format had not.
 *
 * Format 5 (built against commit 0cca3ca, the last format-5 build), whose
 * hashes live only in the search structures: the entries above are put
 * into the base (phm_index_compact), then more go to the delta (an image
 * with variants, a plain one, a video, a base entry re-hashed: a new
 * number, the old one dead; another given a new note: same number), and
 * the removed entry stays in the base, listed in `dead`.
 *
 *     mkfixture DB 5seg   (run with PHM_INDEX_TEST_HSEG=128)
 *
 * A second format-5 file whose base 'H' has several segments: 100 images
 * of three slots each (own hash, two variants; entry 43's slots straddle
 * the first segment boundary), one removed after the rebuild (dead), and
 * three added after it (delta).
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "fixture_hashes.h"

static char err[PHM_ERRMSG_MAX];

static void die(const char *what, int rc)
{
    fprintf(stderr, "mkfixture: %s: %d %s\n", what, rc, err);
    exit(1);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 31 + i * 7);
}

static void add(phm_index_txn *t, phm_entry *e)
{
    int rc = phm_index_add(t, e, err, sizeof err);
    if (rc)
        die("add", rc);
}

/* A hash of few set bits (the file stays small gzip'd), distinct for
 * distinct i. */
static void seg_entry(phm_index_txn *t, int i)
{
    char id[16];
    snprintf(id, sizeof id, "s-%03d", i);
    phm_entry e;
    memset(&e, 0, sizeof e);
    e.source = "seg";
    e.id = id;
    e.category = i % 2 ? "odd" : "";
    e.signals = PHM_SIG_PDQ;
    e.quality = 100;
    e.added = 1600005000 + i;
    e.pdq = sparse_hash((uint64_t)i * 4);
    e.nvariants = 2;
    e.variants[0].code = phm_known_variant_code("crop10-c");
    e.variants[0].pdq = sparse_hash((uint64_t)i * 4 + 1);
    e.variants[1].code = phm_known_variant_code("rot-3");
    e.variants[1].pdq = sparse_hash((uint64_t)i * 4 + 2);
    add(t, &e);
}

/* The format-5 file of several 'H' segments (see the top). */
static int segmented(phm_index *idx)
{
    phm_index_txn *t;
    int rc, removed;
    if ((rc = phm_index_txn_begin(idx, &t, err, sizeof err)))
        die("begin", rc);
    for (int i = 0; i < 100; i++)
        seg_entry(t, i);
    if ((rc = phm_index_txn_commit(t, NULL, err, sizeof err)))
        die("commit", rc);
    if ((rc = phm_index_compact(idx, err, sizeof err)))
        die("compact", rc);
    if ((rc = phm_index_txn_begin(idx, &t, err, sizeof err)))
        die("begin", rc);
    for (int i = 100; i < 103; i++)
        seg_entry(t, i);
    if ((rc = phm_index_remove(t, "seg", "s-010", &removed, err, sizeof err)) || !removed ||
        (rc = phm_index_txn_commit(t, NULL, err, sizeof err)))
        die("remove", rc);
    phm_index_close(idx);
    return 0;
}

/* What format 5 adds after the rebuild: entries in the delta, a re-hashed
 * and a re-noted base entry. */
static void delta_entries(phm_index *idx)
{
    phm_index_txn *t;
    int rc = phm_index_txn_begin(idx, &t, err, sizeof err);
    if (rc)
        die("begin", rc);
    phm_entry e;
    memset(&e, 0, sizeof e);
    e.source = "ncmec";
    e.id = "late-variants";
    e.category = "A1";
    e.signals = PHM_SIG_PDQ | PHM_SIG_MD5;
    e.quality = 77;
    e.added = 1600006000;
    e.pdq = hash_of(500);
    fill(e.md5, 16, 5);
    e.nvariants = 3;
    e.variants[0].code = phm_known_variant_code("rot-5");
    e.variants[0].pdq = hash_of(501);
    e.variants[1].code = phm_known_variant_code("crop20-tl");
    e.variants[1].pdq = hash_of(502);
    e.variants[2].code = phm_known_variant_code("crop10-c");
    e.variants[2].pdq = hash_of(503);
    add(t, &e);

    memset(&e, 0, sizeof e);
    e.source = "local-case-2";
    e.id = "12345";
    e.signals = PHM_SIG_PDQ;
    e.quality = 64;
    e.added = 1500000000;
    e.note = "in the delta, a numeric id, added before created";
    e.pdq = hash_of(510);
    add(t, &e);

    phm_vpdq_frame fr[2];
    for (int i = 0; i < 2; i++) {
        fr[i].hash = hash_of(520 + (uint64_t)i);
        fr[i].quality = 100;
        fr[i].frame = (uint64_t)i;
        fr[i].timestamp = i * 0.5;
    }
    memset(&e, 0, sizeof e);
    e.source = "videos";
    e.id = "clip-2";
    e.category = "V";
    e.signals = PHM_SIG_VPDQ;
    e.quality = -1;
    e.added = 1600006100;
    e.frames = fr;
    e.nframes = 2;
    add(t, &e);

    /* bulk-06 re-hashed: a new number in the delta, its base slot dead */
    memset(&e, 0, sizeof e);
    e.source = "ncmec";
    e.id = "bulk-06";
    e.category = "C";
    e.signals = PHM_SIG_PDQ;
    e.quality = 56;
    e.added = 1600001006;
    e.pdq = hash_of(530);
    add(t, &e);
    /* bulk-08 with a note: same hash, same number, still in the base */
    memset(&e, 0, sizeof e);
    e.source = "ncmec";
    e.id = "bulk-08";
    e.category = "A1";
    e.note = "noted after the rebuild";
    e.signals = PHM_SIG_PDQ;
    e.quality = 58;
    e.added = 1600001008;
    e.pdq = hash_of(108);
    add(t, &e);
    if ((rc = phm_index_txn_commit(t, NULL, err, sizeof err)))
        die("commit", rc);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    const char *db = argv[1];
    int format = atoi(argv[2]);
    phm_index *idx;
    int rc = phm_index_open(&idx, db, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err);
    if (rc)
        die("open", rc);
    if (!strcmp(argv[2], "5seg"))
        return segmented(idx);
    phm_index_txn *t;
    if ((rc = phm_index_txn_begin(idx, &t, err, sizeof err)))
        die("begin", rc);
    phm_entry e;

    memset(&e, 0, sizeof e);
    e.source = "ncmec";
    e.id = "a1";
    e.category = "A1";
    e.note = "first, with \"quotes\" and caf\xc3\xa9";
    e.signals = PHM_SIG_PDQ | PHM_SIG_MD5;
    e.quality = 90;
    e.added = 1600000000;
    e.pdq = hash_of(1);
    fill(e.md5, 16, 1);
    add(t, &e);

    memset(&e, 0, sizeof e);
    e.source = "ncmec";
    e.id = "a2";
    e.category = "B1";
    e.signals = PHM_SIG_PDQ | PHM_SIG_SHA1 | PHM_SIG_SHA256;
    e.quality = 75;
    e.added = 1600000100;
    e.pdq = hash_of(2);
    fill(e.sha1, 20, 2);
    fill(e.sha256, 32, 3);
    char pdna[193];
    for (int i = 0; i < 192; i++)
        pdna[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i * 7) % 64];
    pdna[192] = '\0';
    if (format >= 3) {
        e.photodna = pdna;
        e.attrs = "{\"Series\":\"s-1\",\"VictimIdentified\":false,\"Tags\":[\"x\",\"y\"]}";
    }
    add(t, &e);

    memset(&e, 0, sizeof e);
    e.source = "local-case-1";
    e.id = "doc 1";
    e.category = "";
    e.note = "an MD5 only";
    e.signals = PHM_SIG_MD5;
    e.quality = -1;
    e.added = 1600000200;
    fill(e.md5, 16, 4);
    add(t, &e);

    memset(&e, 0, sizeof e);
    e.source = "local-case-1";
    e.id = "gone";
    e.signals = PHM_SIG_PDQ;
    e.quality = 60;
    e.added = 1600000300;
    e.pdq = hash_of(3);
    add(t, &e);

    for (int i = 0; i < 40; i++) { /* a bulk of plain entries */
        char id[32];
        snprintf(id, sizeof id, "bulk-%02d", i);
        memset(&e, 0, sizeof e);
        e.source = i % 2 ? "benign" : "ncmec";
        e.id = id;
        e.category = i % 3 ? "A1" : "C";
        e.signals = PHM_SIG_PDQ;
        e.quality = 50 + i;
        e.added = 1600001000 + i;
        e.pdq = hash_of(100 + (uint64_t)i);
        add(t, &e);
    }

    /* a video: three frames, one of low quality */
    phm_vpdq_frame fr[3];
    for (int i = 0; i < 3; i++) {
        fr[i].hash = hash_of(200 + (uint64_t)i);
        fr[i].quality = i == 1 ? 20 : 100;
        fr[i].frame = (uint64_t)i * 30;
        fr[i].timestamp = i * 1.001;
    }
    memset(&e, 0, sizeof e);
    e.source = "videos";
    e.id = "clip-1";
    e.category = "V";
    e.signals = PHM_SIG_VPDQ;
    e.quality = -1;
    e.added = 1600002000;
    e.frames = fr;
    e.nframes = 3;
    add(t, &e);

    if (format >= 4) {
        memset(&e, 0, sizeof e);
        e.source = "ncmec";
        e.id = "with-variants";
        e.signals = PHM_SIG_PDQ;
        e.quality = 88;
        e.added = 1600003000;
        e.pdq = hash_of(300);
        e.nvariants = 2;
        e.variants[0].code = phm_known_variant_code("crop10-c");
        e.variants[0].pdq = hash_of(301);
        e.variants[1].code = phm_known_variant_code("rot+5");
        e.variants[1].pdq = hash_of(302);
        add(t, &e);
        for (int i = 0; i < 2; i++) { /* HMA bank contents */
            uint64_t cid;
            if ((rc = phm_index_txn_next_content_id(t, &cid, err, sizeof err)))
                die("content id", rc);
            char id[24];
            snprintf(id, sizeof id, "%llu", (unsigned long long)cid);
            memset(&e, 0, sizeof e);
            e.source = "bank-a";
            e.id = id;
            e.signals = PHM_SIG_PDQ;
            e.quality = 100;
            e.added = 1600004000 + i;
            e.pdq = hash_of(400 + (uint64_t)i);
            add(t, &e);
        }
    }
    if ((rc = phm_index_txn_commit(t, NULL, err, sizeof err)))
        die("commit", rc);
    if (format >= 5) {
        if ((rc = phm_index_compact(idx, err, sizeof err)))
            die("compact", rc);
        delta_entries(idx);
    }

    /* governance */
    phm_source_settings s;
    phm_source_settings_init(&s);
    s.max_distance = 20;
    s.min_quality = 50;
    s.quarantine_limit = 5;
    s.quarantine_window_ns = UINT64_C(7200) * 1000000000u;
    if (format >= 4)
        s.matching_ratio = 0.25;
    if (phm_source_set_category(&s, "A1", "Apples", err, sizeof err) ||
        phm_source_set_category(&s, "B1", "Bananas", err, sizeof err))
        die("category", 0);
    if ((rc = phm_index_source_set(idx, "ncmec", &s, err, sizeof err)))
        die("source set", rc);
    phm_source_settings_init(&s);
    s.kind = PHM_SOURCE_SUPPRESSION;
    if ((rc = phm_index_source_set(idx, "benign", &s, err, sizeof err)))
        die("source set", rc);
    phm_source_settings_init(&s);
    s.enabled = 0;
    if ((rc = phm_index_source_set(idx, "no-entries", &s, err, sizeof err)))
        die("source set", rc);
    const char *ids1[] = { "a1" };
    const char *ids2[] = { "doc 1", "gone" };
    if ((rc = phm_index_entries_disable(idx, "ncmec", ids1, 1, 1, 4000000000, err, sizeof err)) ||
        (rc = phm_index_entries_disable(idx, "local-case-1", ids2, 2, 1, 0, err, sizeof err)))
        die("disable", rc);
    if ((rc = phm_index_quarantine_add(idx, "ncmec", "a2", 1700000000, 7, err, sizeof err)) ||
        (rc = phm_index_quarantine_add(idx, "local-case-1", "gone", 1700000500, 3, err,
                                       sizeof err)))
        die("quarantine", rc);
    /* a removed entry: a gap in the numbers, rows naming it stay */
    if ((rc = phm_index_txn_begin(idx, &t, err, sizeof err)))
        die("begin", rc);
    int removed;
    if ((rc = phm_index_remove(t, "local-case-1", "gone", &removed, err, sizeof err)) ||
        (rc = phm_index_txn_commit(t, NULL, err, sizeof err)))
        die("remove", rc);
    phm_index_close(idx);
    if (format >= 4)
        return 0;

    /* mark the file as of an older format */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 16)) ||
        (rc = mdb_env_open(env, db, MDB_NOSUBDIR, 0600)) ||
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, "meta", 0, &meta)))
        die(mdb_strerror(rc), rc);
    uint32_t f = (uint32_t)format;
    MDB_val k = { 6, "format" }, v = { 4, &f };
    if ((rc = mdb_put(txn, meta, &k, &v, 0)))
        die(mdb_strerror(rc), rc);
    if (format == 2) {
        const char *gov[] = { "sources", "disabled", "quarantine" };
        for (int i = 0; i < 3; i++) {
            MDB_dbi d;
            if ((rc = mdb_dbi_open(txn, gov[i], 0, &d)) || (rc = mdb_drop(txn, d, 1)))
                die(mdb_strerror(rc), rc);
        }
    }
    if ((rc = mdb_txn_commit(txn)))
        die(mdb_strerror(rc), rc);
    mdb_env_close(env);
    return 0;
}
