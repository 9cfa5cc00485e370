/* test_index_record.c - index format 5's compact entry record (record
 * version 4), its varints and keys, and phm_index_verify on records
 * damaged in the file. The reference for every round trip is the entry
 * given to rec_encode, field by field. */
#include <lmdb.h>

#include "index_block.h"
#include "index_util.h"
#include "tap.h"

static char dir[512];

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* A names map of numbers 1..3: "src", "cat", and a 128-byte name. */
static void names_init(idx_names *nm, char *longname)
{
    memset(nm, 0, sizeof *nm);
    nm->n = 4;
    nm->str = calloc(4, sizeof *nm->str);
    nm->str[1] = strdup("src");
    nm->str[2] = strdup("cat");
    memset(longname, 'n', PHM_INDEX_MAX_SOURCE);
    longname[PHM_INDEX_MAX_SOURCE] = 0;
    nm->str[3] = strdup(longname);
    nm->created = 1700000000;
    nm->loaded = 1;
}

static int same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Whether d (decoded) has every field of e but the hashes. */
static int same_entry(const phm_entry *e, const phm_entry *d)
{
    if (e->signals != d->signals || !same_str(e->source, d->source) ||
        !same_str(e->id, d->id) || !same_str(e->category, d->category) ||
        !same_str(e->note, d->note) || !same_str(e->photodna, d->photodna) ||
        !same_str(e->attrs, d->attrs) || e->quality != d->quality || e->added != d->added)
        return 0;
    if ((e->signals & PHM_SIG_MD5) && memcmp(e->md5, d->md5, 16))
        return 0;
    if ((e->signals & PHM_SIG_SHA1) && memcmp(e->sha1, d->sha1, 20))
        return 0;
    if ((e->signals & PHM_SIG_SHA256) && memcmp(e->sha256, d->sha256, 32))
        return 0;
    if ((e->signals & PHM_SIG_VPDQ) && e->nframes != d->nframes)
        return 0;
    size_t nv = (e->signals & PHM_SIG_PDQ) ? e->nvariants : 0;
    if (d->nvariants != nv)
        return 0;
    for (size_t i = 0; i < nv; i++)
        if (d->variants[i].code != e->variants[i].code)
            return 0;
    return 1;
}

static void test_varints(void)
{
    static const uint32_t ok[] = { 0, 1, 127, 128, 0x3fff, 0x4000, 0x1fffff, 0x200000,
                                   0xfffffff, 0x10000000, UINT32_MAX };
    int good = 1, order = 1;
    uint8_t prev[5];
    size_t prevn = 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint8_t b[5];
        uint32_t v = 0;
        size_t n = idx_okey_put(b, ok[i]);
        good = good && idx_okey_get(b, n, &v) == n && v == ok[i] && idx_okey_get(b, n - 1, &v) == 0;
        if (prevn) {
            int c = memcmp(prev, b, prevn < n ? prevn : n);
            order = order && (c < 0 || (c == 0 && prevn < n));
        }
        memcpy(prev, b, n);
        prevn = n;
    }
    OK(good, "key varints round trip, and a cut one does not decode");
    OK(order, "key varints sort as their numbers");
    uint8_t nonmin[2] = { 0x80, 0x05 }; /* 5 in two bytes */
    uint32_t v;
    IS_INT((int)idx_okey_get(nonmin, 2, &v), 0, "a key varint longer than needed is refused");
    uint8_t bad[1] = { 0xf8 };
    IS_INT((int)idx_okey_get(bad, 1, &v), 0, "a key varint of an unknown first byte is refused");

    static const uint64_t u[] = { 0, 1, 127, 128, 16383, 16384, 1ull << 35, UINT64_MAX };
    good = 1;
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        uint8_t b[10];
        uint64_t w = 0;
        size_t n = idx_uv_put(b, u[i]);
        good = good && idx_uv_get(b, n, &w) == n && w == u[i] && idx_uv_get(b, n - 1, &w) == 0;
    }
    OK(good, "record varints round trip, and a cut one does not decode");
    uint8_t pad[2] = { 0x85, 0x00 };
    uint64_t w;
    IS_INT((int)idx_uv_get(pad, 2, &w), 0, "a record varint with a zero last byte is refused");
    uint8_t big[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
    IS_INT((int)idx_uv_get(big, 10, &w), 0, "a record varint beyond 64 bits is refused");
    MDB_val ev = { 2, pad };
    uint64_t eid;
    OK(idx_eid_val(&ev, &eid) != 0, "a keys value of a padded entry number is refused");
}

/* Every combination of the optional fields round trips. */
static void test_combinations(void)
{
    idx_names nm;
    char longname[PHM_INDEX_MAX_SOURCE + 1];
    names_init(&nm, longname);
    rng r = { 7 };
    char pdna[289], attrs[] = "{\"a\":1}";
    for (int i = 0; i < 288; i++)
        pdna[i] = "0123456789abcdef"[i % 16];
    pdna[288] = 0;
    static const char *const ids[] = { "x-1", "42", "0", "007" };
    static const unsigned kinds[] = { 0, PHM_SIG_PDQ, PHM_SIG_VPDQ };
    size_t runs = 0, bad = 0, numid = 0;
    char why[200] = "";
    for (unsigned kind = 0; kind < 3; kind++)
        for (unsigned dig = 0; dig < 8; dig++)
            for (unsigned opt = 0; opt < 32; opt++) {
                unsigned sig = kinds[kind];
                if (dig & 1)
                    sig |= PHM_SIG_MD5;
                if (dig & 2)
                    sig |= PHM_SIG_SHA1;
                if (dig & 4)
                    sig |= PHM_SIG_SHA256;
                if (!sig)
                    continue;
                phm_entry e = { .source = (opt & 16) ? longname : "src",
                                .id = ids[opt & 3],
                                .category = (opt & 4) ? "cat" : "",
                                .note = (opt & 8) ? "a note" : NULL,
                                .photodna = (opt & 1) ? pdna : NULL,
                                .attrs = (opt & 2) ? attrs : NULL,
                                .signals = sig,
                                .quality = (opt & 8) ? 100 : -1,
                                .added = nm.created + (int64_t)(opt * 1000) - 5000 };
                for (int b = 0; b < 16; b++)
                    e.md5[b] = (uint8_t)rng_next(&r);
                for (int b = 0; b < 20; b++)
                    e.sha1[b] = (uint8_t)rng_next(&r);
                for (int b = 0; b < 32; b++)
                    e.sha256[b] = (uint8_t)rng_next(&r);
                if (sig & PHM_SIG_PDQ) {
                    e.pdq = rng_hash(&r);
                    if (opt & 4) {
                        e.nvariants = 3;
                        for (int v = 0; v < 3; v++) {
                            e.variants[v].code = PHM_KV_CROP10_C + v;
                            e.variants[v].pdq = rng_hash(&r);
                        }
                    }
                }
                if (sig & PHM_SIG_VPDQ)
                    e.nframes = 1 + opt;
                uint8_t rec[REC_MAX];
                size_t n = rec_encode(&e, (opt & 16) ? 3 : 1, (opt & 4) ? 2 : 0, e.added,
                                      nm.created, rec);
                phm_entry d;
                rec_extra x;
                runs++;
                int st = rec_decode(rec, n, &nm, &x, &d);
                if (x.numid == d.id)
                    numid++;
                if (st != PHM_OK || !same_entry(&e, &d)) {
                    if (!bad++)
                        snprintf(why, sizeof why, "kind %u digests %u options %u: %s", kind,
                                 dig, opt, st ? "does not decode" : "differs");
                }
                /* every cut of it is refused */
                for (size_t cut = 0; cut < n; cut++)
                    if (rec_decode(rec, cut, &nm, &x, &d) == PHM_OK && !bad++)
                        snprintf(why, sizeof why, "kind %u digests %u options %u: cut at %zu "
                                 "decodes", kind, dig, opt, cut);
            }
    OK(runs > 500 && bad == 0, "%zu field combinations round trip, no cut decodes %s", runs,
       why);
    OK(numid == runs / 2, "ids '42' and '0' are stored as numbers (%zu of %zu)", numid, runs);
    idx_names_free(&nm);
}

/* Numeric ids: only decimal numbers without leading zeros that fit u64. */
static void test_ids(void)
{
    idx_names nm;
    char longname[PHM_INDEX_MAX_SOURCE + 1];
    names_init(&nm, longname);
    static const struct {
        const char *id;
        int numeric;
    } cases[] = {
        { "0", 1 },
        { "1", 1 },
        { "00", 0 },
        { "007", 0 },
        { "10", 1 },
        { "18446744073709551615", 1 }, /* UINT64_MAX, 20 digits */
        { "18446744073709551616", 0 }, /* one more */
        { "99999999999999999999", 0 },
        { "12345678901234567890", 1 },
        { "123456789012345678901", 0 }, /* 21 digits */
        { "-1", 0 },
        { "+1", 0 },
        { "1.0", 0 },
        { "1e3", 0 },
        { " 1", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        phm_entry e = { .source = "src", .id = cases[i].id, .signals = PHM_SIG_MD5,
                        .quality = -1, .added = 5 };
        uint8_t rec[REC_MAX];
        size_t n = rec_encode(&e, 1, 0, 5, nm.created, rec);
        phm_entry d;
        rec_extra x;
        int st = rec_decode(rec, n, &nm, &x, &d);
        OK(st == PHM_OK && strcmp(d.id, cases[i].id) == 0 &&
               (d.id == x.numid) == cases[i].numeric,
           "id '%s' round trips %s", cases[i].id,
           cases[i].numeric ? "as a number" : "as text");
    }
    /* the longest id, note, attrs; 16 variants; the most frames */
    char id[PHM_INDEX_MAX_ID + 1], note[PHM_INDEX_MAX_NOTE + 1], attrs[PHM_INDEX_MAX_ATTRS + 1];
    memset(id, 'i', PHM_INDEX_MAX_ID);
    id[PHM_INDEX_MAX_ID] = 0;
    memset(note, 'n', PHM_INDEX_MAX_NOTE);
    note[PHM_INDEX_MAX_NOTE] = 0;
    memset(attrs, ' ', PHM_INDEX_MAX_ATTRS);
    attrs[0] = '{';
    attrs[PHM_INDEX_MAX_ATTRS - 1] = '}';
    attrs[PHM_INDEX_MAX_ATTRS] = 0;
    rng r = { 9 };
    phm_entry e = { .source = longname, .id = id, .category = longname, .note = note,
                    .attrs = attrs, .signals = PHM_SIG_PDQ | PHM_SIG_SHA256, .quality = 0,
                    .added = INT64_MIN, .nvariants = PHM_INDEX_MAX_VARIANTS };
    e.pdq = rng_hash(&r);
    for (int v = 0; v < PHM_INDEX_MAX_VARIANTS; v++) {
        e.variants[v].code = 1 + v;
        e.variants[v].pdq = rng_hash(&r);
    }
    char err[PHM_ERRMSG_MAX];
    IS_INT(rec_validate(&e, err, sizeof err), PHM_OK, "the largest entry is valid: %s", err);
    uint8_t rec[REC_MAX];
    size_t n = rec_encode(&e, 3, 3, e.added, nm.created, rec);
    phm_entry d;
    rec_extra x;
    OK(n <= REC_MAX && rec_decode(rec, n, &nm, &x, &d) == PHM_OK && same_entry(&e, &d),
       "the largest entry round trips (%zu bytes)", n);
    e.added = INT64_MAX;
    n = rec_encode(&e, 3, 3, e.added, nm.created, rec);
    OK(rec_decode(rec, n, &nm, &x, &d) == PHM_OK && d.added == INT64_MAX,
       "added INT64_MAX round trips");
    phm_entry v = { .source = "src", .id = "v", .signals = PHM_SIG_VPDQ, .quality = -1,
                    .nframes = PHM_INDEX_MAX_VIDEO_FRAMES };
    n = rec_encode(&v, 1, 0, 0, nm.created, rec);
    OK(rec_decode(rec, n, &nm, &x, &d) == PHM_OK && d.nframes == PHM_INDEX_MAX_VIDEO_FRAMES,
       "the most frames round trip");
    /* a short record of a typical entry: what the format is for */
    phm_entry t = { .source = "src", .id = "12345678", .category = "cat",
                    .signals = PHM_SIG_PDQ, .quality = 100, .added = nm.created + 60 };
    n = rec_encode(&t, 1, 2, t.added, nm.created, rec);
    OK(n <= 12, "a PDQ entry with a numeric id takes %zu bytes", n);
    idx_names_free(&nm);
}

/* Damaged records that rec_decode refuses. */
static void test_corrupt(void)
{
    idx_names nm;
    char longname[PHM_INDEX_MAX_SOURCE + 1];
    names_init(&nm, longname);
    phm_entry e = { .source = "src", .id = "abc", .category = "cat", .note = "n",
                    .signals = PHM_SIG_PDQ, .quality = 50, .added = nm.created };
    uint8_t rec[REC_MAX], bad[REC_MAX + 8];
    size_t n = rec_encode(&e, 1, 2, e.added, nm.created, rec);
    phm_entry d;
    rec_extra x;
    IS_INT(rec_decode(rec, n, &nm, &x, &d), PHM_OK, "the record decodes");
    /* rec: 4, flags, quality, source, category, "abc\0", "n\0", added */
    memcpy(bad, rec, n);
    bad[0] = 3;
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "another record version");
    memcpy(bad, rec, n);
    bad[1] |= 0x80; /* the flags varint goes on into the quality byte */
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "flags with unknown bits");
    memcpy(bad, rec, n);
    bad[1] = (uint8_t)(REC_F_PDQ | REC_F_VPDQ | REC_F_NOTE);
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "both a PDQ hash and a video");
    memcpy(bad, rec, n);
    bad[2] = 102;
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "quality beyond 100");
    memcpy(bad, rec, n);
    bad[3] = 9;
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "an unknown source number");
    IS_INT(rec_decode(bad, n, NULL, &x, &d), PHM_OK, "which decodes without the names");
    memcpy(bad, rec, n);
    bad[4] = 9;
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "an unknown category number");
    memcpy(bad, rec, n);
    bad[3] = 0;
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "source number 0");
    memcpy(bad, rec, n);
    bad[3] = 0x81; /* a varint that never ends within the record */
    for (size_t i = 4; i < n; i++)
        bad[i] = 0xff;
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "a truncated varint");
    memcpy(bad, rec, n);
    bad[5 + 1] = 0x01; /* a control byte in the id */
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "a control byte in the id");
    memcpy(bad, rec, n);
    bad[n] = 0;
    IS_INT(rec_decode(bad, n + 1, &nm, &x, &d), PHM_ERR_CORRUPT, "a byte past the end");
    memcpy(bad, rec, n);
    bad[n - 1] |= 0x80;
    bad[n] = 0;
    IS_INT(rec_decode(bad, n + 1, &nm, &x, &d), PHM_ERR_CORRUPT,
           "added as a varint longer than needed");
    /* a text id that is a number is not the form the encoder writes */
    memcpy(bad, rec, n);
    memcpy(bad + 5, "123", 3);
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "a numeric id stored as text");
    /* variants: an unknown code, a code twice */
    phm_entry v = e;
    rng r = { 3 };
    v.nvariants = 2;
    v.variants[0].code = PHM_KV_CROP5_C;
    v.variants[0].pdq = rng_hash(&r);
    v.variants[1].code = PHM_KV_CROP10_C;
    v.variants[1].pdq = rng_hash(&r);
    n = rec_encode(&v, 1, 2, v.added, nm.created, rec);
    IS_INT(rec_decode(rec, n, &nm, &x, &d), PHM_OK, "a record with variants decodes");
    size_t codes = x.added_off - 2; /* the codes end where added starts */
    memcpy(bad, rec, n);
    bad[codes + 1] = bad[codes];
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "a variant code twice");
    memcpy(bad, rec, n);
    bad[codes] = 0;
    IS_INT(rec_decode(bad, n, &nm, &x, &d), PHM_ERR_CORRUPT, "an unknown variant code");
    /* rec_same: all but added */
    uint8_t a2[REC_MAX];
    size_t n2 = rec_encode(&v, 1, 2, v.added + 100000, nm.created, a2);
    OK(n2 != n && rec_same(rec, n, a2, n2), "records differing in added only are the same");
    v.note = "m";
    n2 = rec_encode(&v, 1, 2, v.added, nm.created, a2);
    OK(!rec_same(rec, n, a2, n2), "records differing in the note are not");
    idx_names_free(&nm);
}

static int open_env(const char *path, MDB_env **env, MDB_txn **txn)
{
    mdb_env_create(env);
    mdb_env_set_maxdbs(*env, 16);
    if (mdb_env_open(*env, path, MDB_NOSUBDIR, 0600) || mdb_txn_begin(*env, NULL, 0, txn)) {
        mdb_env_close(*env);
        return -1;
    }
    return 0;
}

/* Makes an index of a few entries; returns its path in buf. */
static void make_index(char *buf, size_t len, const char *name)
{
    char err[PHM_ERRMSG_MAX];
    path_in(buf, len, name);
    phm_index *idx;
    phm_index_txn *t;
    rng r = { 11 };
    if (phm_index_open(&idx, buf, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err) ||
        phm_index_txn_begin(idx, &t, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", 100 + i);
        phm_entry e = { .source = i < 3 ? "alpha" : "beta", .id = id,
                        .category = i & 1 ? "c1" : "", .signals = PHM_SIG_PDQ, .quality = 90,
                        .pdq = rng_hash(&r) };
        phm_index_add(t, &e, err, sizeof err);
    }
    if (phm_index_txn_commit(t, NULL, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    phm_index_close(idx);
}

/* Applies change() to the first record of `entries` (or to the names
 * table when names is set), then verifies. */
static int verify_after(const char *name, int names,
                        void (*change)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *),
                        char *err, size_t errlen)
{
    char path[600];
    make_index(path, sizeof path, name);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    if (open_env(path, &env, &txn))
        return -1;
    MDB_cursor *c;
    MDB_val k, v;
    static const char *const tables[] = { "entries", "names", "keys" };
    if (mdb_dbi_open(txn, tables[names], 0, &dbi) == 0 &&
        mdb_cursor_open(txn, dbi, &c) == 0) {
        if (mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0)
            change(txn, dbi, &k, &v);
        mdb_cursor_close(c);
    }
    mdb_txn_commit(txn);
    mdb_env_close(env);
    phm_index *idx;
    int st = phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, errlen);
    if (!st) {
        st = phm_index_verify(idx, err, errlen);
        phm_index_close(idx);
    }
    return st;
}

/* Rewrites the first record of the entries block (k, v) with byte `at`
 * (SIZE_MAX: the last) set to `byte` (-1: kept), one byte shorter when
 * `len` is SIZE_MAX (0: kept): the block is
 * decoded and coded again around it (index_block.h), so that the record
 * itself is what is wrong. */
static void put_changed(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v, size_t at,
                        int byte, size_t len)
{
    static blk_dec d;
    static uint8_t recs[8][REC_MAX], keys[8][8], block[8 * BLK_ITEM_MAX + BLK_HEADER_MAX];
    size_t rl[8], n = 0;
    if (blk_dec_start(&d, BLK_ENTRIES, k->mv_data, k->mv_size, v->mv_data, v->mv_size))
        return;
    while (n < 8 && blk_dec_next(&d) == 0) {
        memcpy(recs[n], d.val, d.vlen);
        memcpy(keys[n], d.key, 8);
        rl[n++] = d.vlen;
    }
    if (at == SIZE_MAX) /* the record's last byte */
        at = rl[0] - 1;
    if (byte >= 0)
        recs[0][at] = (uint8_t)byte;
    if (len == SIZE_MAX) /* one byte short */
        rl[0]--;
    size_t bl = 0;
    block[bl++] = BLK_ENTRIES;
    bl += idx_uv_put(block + bl, n);
    for (size_t i = 0; i < n; i++)
        bl += blk_item_code(BLK_ENTRIES, i == 0, i ? keys[i - 1] : NULL, 8,
                            i ? recs[i - 1] : NULL, i ? rl[i - 1] : 0, keys[i], 8, recs[i],
                            rl[i], block + bl);
    uint64_t key;
    memcpy(&key, k->mv_data, sizeof key);
    MDB_val kk = { sizeof key, &key }, vv = { bl, block };
    mdb_put(txn, dbi, &kk, &vv, 0);
}

static void cut_record(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    put_changed(txn, dbi, k, v, 0, -1, SIZE_MAX);
}
/* The block itself broken: one byte short, or its item count one more. */
static void cut_block(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    uint8_t buf[8 * BLK_ITEM_MAX];
    uint8_t key[BLK_KEY_MAX];
    memcpy(buf, v->mv_data, v->mv_size);
    memcpy(key, k->mv_data, k->mv_size);
    MDB_val kk = { k->mv_size, key }, vv = { v->mv_size - 1, buf };
    mdb_put(txn, dbi, &kk, &vv, 0);
}
static void count_block(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    uint8_t buf[8 * BLK_ITEM_MAX];
    uint8_t key[BLK_KEY_MAX];
    memcpy(buf, v->mv_data, v->mv_size);
    memcpy(key, k->mv_data, k->mv_size);
    buf[1]++; /* item count, a one-byte varint here */
    MDB_val kk = { k->mv_size, key }, vv = { v->mv_size, buf };
    mdb_put(txn, dbi, &kk, &vv, 0);
}
static void unknown_source(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    put_changed(txn, dbi, k, v, 3, 77, 0);
}
static void unknown_flag(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    put_changed(txn, dbi, k, v, 1, 0x41 | 0x80, 0); /* flags go on */
}
static void open_varint(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    put_changed(txn, dbi, k, v, SIZE_MAX, 0x81, 0); /* added never ends */
}
static void rename_number(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    /* the first row (name -> number) points at another number */
    (void)v;
    uint8_t key[200], val[4] = { 9, 0, 0, 0 };
    memcpy(key, k->mv_data, k->mv_size);
    MDB_val kk = { k->mv_size, key }, vv = { 4, val };
    mdb_put(txn, dbi, &kk, &vv, 0);
}

/* A number row far past the rows (16,776,960 of a table of a few): the
 * names table would be that many pointers (128 MB) if loaded. */
static void far_number(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    (void)k;
    (void)v;
    uint8_t key[5] = { 2 /* IDX_NAME_BY_NUM */, 0x00, 0xff, 0xff, 0x00 };
    MDB_val kk = { sizeof key, key }, vv = { 1, "x" };
    mdb_put(txn, dbi, &kk, &vv, 0);
}

static void test_verify(void)
{
    char err[PHM_ERRMSG_MAX] = "";
    char path[600];
    make_index(path, sizeof path, "sound.phmi");
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_RDONLY, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "open");
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "a sound index verifies: %s", err);
    phm_index_close(idx);
    static const struct {
        const char *name, *want;
        int names;
        void (*change)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *);
    } cases[] = {
        { "cut.phmi", "does not decode", 0, cut_record },
        { "source.phmi", "names a source or category number", 0, unknown_source },
        { "flag.phmi", "does not decode", 0, unknown_flag },
        { "varint.phmi", "does not decode", 0, open_varint },
        { "names.phmi", "is not the number of its name", 1, rename_number },
        { "farname.phmi", "names table has a malformed row", 1, far_number },
        { "block.phmi", "entries block does not decode", 0, cut_block },
        { "count.phmi", "entries block does not decode", 0, count_block },
        { "keyblock.phmi", "does not decode", 2, cut_block },
        { "keycount.phmi", "does not decode", 2, count_block },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = 0;
        int st = verify_after(cases[i].name, cases[i].names, cases[i].change, err, sizeof err);
        OK(st == PHM_ERR_CORRUPT && strstr(err, cases[i].want), "verify finds %s: %s",
           cases[i].name, err);
    }
}

/* Adds e in one transaction (out of key order first when `mixed`, so it
 * is buffered); returns the counts. */
static phm_index_counts add_one(phm_index *idx, const phm_entry *e, int mixed)
{
    char err[PHM_ERRMSG_MAX];
    phm_index_txn *t;
    phm_index_counts c = { 0 };
    if (phm_index_txn_begin(idx, &t, err, sizeof err))
        return c;
    if (mixed) {
        phm_entry z = { .source = "zz", .id = "z", .signals = PHM_SIG_MD5, .quality = -1 };
        phm_index_add(t, &z, err, sizeof err);
    }
    phm_index_add(t, e, err, sizeof err);
    phm_index_txn_commit(t, &c, err, sizeof err);
    return c;
}

/* Same content: the record bytes but `added` and the hashes, which the
 * record no longer holds. */
static void test_same_content(void)
{
    char path[600], err[PHM_ERRMSG_MAX];
    path_in(path, sizeof path, "same.phmi");
    phm_index *idx;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create");
    rng r = { 21 };
    phm_entry e = { .source = "s", .id = "1", .category = "c", .signals = PHM_SIG_PDQ,
                    .quality = 80, .pdq = rng_hash(&r), .nvariants = 1 };
    e.variants[0].code = PHM_KV_CROP5_C;
    e.variants[0].pdq = rng_hash(&r);
    for (int mixed = 0; mixed < 2; mixed++) {
        phm_index_counts c = add_one(idx, &e, mixed);
        /* the other entry of a mixed transaction: added once, then unchanged */
        OK(c.added + c.unchanged == 1 + (uint64_t)mixed, "%s: stored",
           mixed ? "buffered" : "direct");
        c = add_one(idx, &e, mixed);
        OK(c.unchanged == 1 + (uint64_t)mixed && c.updated == 0,
           "%s: the same again is unchanged",
           mixed ? "buffered" : "direct");
        e.pdq.w[0] ^= 1;
        c = add_one(idx, &e, mixed);
        OK(c.updated == 1, "%s: another own hash is an update", mixed ? "buffered" : "direct");
        e.variants[0].pdq.w[3] ^= 4;
        c = add_one(idx, &e, mixed);
        OK(c.updated == 1, "%s: another variant hash is an update",
           mixed ? "buffered" : "direct");
        phm_searcher *s;
        uint64_t eid = 0;
        phm_entry got;
        int ok = phm_searcher_new(idx, &s, err, sizeof err) == PHM_OK &&
                 phm_searcher_find(s, "s", "1", &eid, err, sizeof err) == PHM_OK &&
                 phm_searcher_get(s, eid, &got, err, sizeof err) == PHM_OK &&
                 memcmp(&got.pdq, &e.pdq, sizeof e.pdq) == 0 && got.nvariants == 1 &&
                 memcmp(&got.variants[0].pdq, &e.variants[0].pdq, sizeof e.pdq) == 0 &&
                 strcmp(got.id, "1") == 0 && strcmp(got.category, "c") == 0;
        OK(ok, "%s: the entry reads back with its new hashes %s",
           mixed ? "buffered" : "direct", ok ? "" : err);
        phm_searcher_free(s);
    }
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verifies: %s", err);
    phm_index_close(idx);
}

int main(void)
{
    scratch_dir(dir, sizeof dir, "record");
    test_varints();
    test_combinations();
    test_ids();
    test_corrupt();
    test_verify();
    test_same_content();
    scratch_done(dir);
    return tap_done();
}
