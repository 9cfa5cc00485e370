/* test_index_video.c - video entries in the index (PHM_SIG_VPDQ): many
 * frames stored and read back exactly, searches that find a video by any
 * of its frame hashes and report it once at its closest distance (against
 * a brute-force model, with the videos in the delta, in the base, and in
 * both after removals), idempotent adds and replacements, statistics,
 * verify catching a damaged frames table, and malformed videos refused. */
#include <lmdb.h>
#include <math.h>
#include <string.h>

#include "index_util.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

#define MAXM 400 /* entries in the model */

/* What the index should hold. */
typedef struct model {
    char id[MAXM][16];
    int video[MAXM];
    int alive[MAXM];
    phm_pdq pdq[MAXM];
    phm_vpdq frames[MAXM];
    uint64_t eid[MAXM];
    const char *src[MAXM];
    size_t n;
} model;

static int same_matches(const phm_match *a, const phm_match *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].entry != b[i].entry || a[i].distance != b[i].distance)
            return 0;
    return 1;
}

/* A video of n frames: runs of near-identical frames (every third frame
 * repeats the previous hash exactly, as still scenes do) and every seventh
 * of quality below 50. */
static void make_video(rng *r, size_t n, phm_vpdq *v)
{
    phm_vpdq_init(v);
    phm_pdq h = rng_hash(r);
    for (size_t i = 0; i < n; i++) {
        if (i % 3 != 2)
            h = i % 40 == 0 ? rng_hash(r) : rng_near(r, &h, 6);
        phm_vpdq_frame f = { .hash = h, .quality = i % 7 == 3 ? 30 : 60 + (int)(i % 41),
                             .frame = i * 25, .timestamp = (double)i * 1.0 };
        if (phm_vpdq_append(v, &f))
            exit(2);
    }
}

static phm_entry video_entry(const char *id, const phm_vpdq *v)
{
    phm_entry e = { .source = "vids", .id = id, .category = "clip",
                    .signals = PHM_SIG_VPDQ, .quality = -1, .frames = v->frames,
                    .nframes = v->count };
    return e;
}

static void model_add(model *m, phm_index_txn *t, int video, rng *r, size_t frames)
{
    size_t i = m->n++;
    snprintf(m->id[i], sizeof m->id[i], "%c%zu", video ? 'v' : 'i', i);
    m->video[i] = video;
    m->alive[i] = 1;
    m->src[i] = video ? "vids" : "imgs";
    phm_entry e;
    if (video) {
        make_video(r, frames, &m->frames[i]);
        e = video_entry(m->id[i], &m->frames[i]);
    } else {
        phm_vpdq_init(&m->frames[i]);
        m->pdq[i] = rng_hash(r);
        e = (phm_entry){ .source = "imgs", .id = m->id[i], .signals = PHM_SIG_PDQ,
                         .quality = 90, .pdq = m->pdq[i] };
    }
    if (phm_index_add(t, &e, err, sizeof err))
        fprintf(stderr, "# add: %s\n", err);
}

/* Looks up every live entry's number (after a commit). */
static void model_eids(model *m, phm_index *idx)
{
    phm_searcher *s;
    if (phm_searcher_new(idx, &s, err, sizeof err))
        exit(2);
    for (size_t i = 0; i < m->n; i++)
        if (m->alive[i] &&
            phm_searcher_find(s, m->src[i], m->id[i], &m->eid[i],
                              err, sizeof err))
            fprintf(stderr, "# find: %s\n", err);
    phm_searcher_free(s);
}

/* The model's distance of entry i from q: a video's closest searched frame
 * (quality >= 50), or 999 when it has none. */
static int model_dist(const model *m, size_t i, const phm_pdq *q)
{
    if (!m->video[i])
        return phm_pdq_distance(q, &m->pdq[i]);
    int best = 999;
    for (size_t j = 0; j < m->frames[i].count; j++) {
        const phm_vpdq_frame *f = &m->frames[i].frames[j];
        int d = phm_pdq_distance(q, &f->hash);
        if (f->quality >= PHM_PDQ_MIN_QUALITY && d < best)
            best = d;
    }
    return best;
}

static int cmp_match(const void *a, const void *b)
{
    const phm_match *x = a, *y = b;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    return (x->entry > y->entry) - (x->entry < y->entry);
}

/* Radius and k-NN searches of queries near frames, near images and at
 * random agree with the model exactly. Returns the number of queries that
 * disagreed. */
static int check_searches(const model *m, phm_index *idx, rng *r, const char *when)
{
    phm_searcher *s;
    phm_match want[MAXM];
    int bad = 0, video_hits = 0;
    if (phm_searcher_new(idx, &s, err, sizeof err))
        return 1000;
    for (int qi = 0; qi < 300; qi++) {
        size_t pick = (size_t)(rng_next(r) % m->n);
        while (qi % 3 == 0 && !m->video[pick]) /* a third aim at videos */
            pick = (size_t)(rng_next(r) % m->n);
        phm_pdq q;
        if (qi % 3 == 2)
            q = rng_hash(r);
        else if (m->video[pick] && m->frames[pick].count)
            q = rng_near(r, &m->frames[pick].frames[rng_next(r) % m->frames[pick].count].hash,
                         (int)(rng_next(r) % 20));
        else
            q = rng_near(r, &m->pdq[pick], (int)(rng_next(r) % 20));
        int radius = qi % 2 ? 31 : 12;
        size_t nw = 0;
        for (size_t i = 0; i < m->n; i++) {
            int d = m->alive[i] ? model_dist(m, i, &q) : 999;
            if (d <= radius)
                want[nw++] = (phm_match){ m->eid[i], d };
        }
        qsort(want, nw, sizeof *want, cmp_match);
        const phm_match *got;
        size_t ng;
        if (phm_search_radius(s, &q, radius, &got, &ng, err, sizeof err) ||
            ng != nw || !same_matches(got, want, nw)) {
            if (bad++ < 3)
                fprintf(stderr, "# %s: query %d radius %d: got %zu, want %zu\n", when,
                        qi, radius, ng, nw);
            continue;
        }
        for (size_t i = 0; i < nw; i++)
            for (size_t j = 0; j < m->n; j++)
                if (m->alive[j] && m->eid[j] == want[i].entry && m->video[j])
                    video_hits++;
        /* k nearest, k = 3, within 256: the model's first three */
        nw = 0;
        for (size_t i = 0; i < m->n; i++) {
            int d = m->alive[i] ? model_dist(m, i, &q) : 999;
            if (d <= 256)
                want[nw++] = (phm_match){ m->eid[i], d };
        }
        qsort(want, nw, sizeof *want, cmp_match);
        if (nw > 3)
            nw = 3;
        if (phm_search_knn(s, &q, 3, 256, &got, &ng, err, sizeof err) || ng != nw ||
            !same_matches(got, want, nw)) {
            if (bad++ < 3)
                fprintf(stderr, "# %s: query %d: k-NN differs\n", when, qi);
        }
    }
    phm_searcher_free(s);
    OK(video_hits > 50, "%s: queries hit videos (%d)", when, video_hits);
    return bad;
}

static int frames_equal(const phm_vpdq *a, const phm_vpdq_frame *b, size_t n)
{
    if (a->count != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (a->frames[i].frame != b[i].frame || a->frames[i].quality != b[i].quality ||
            a->frames[i].timestamp != b[i].timestamp ||
            memcmp(&a->frames[i].hash, &b[i].hash, sizeof b[i].hash))
            return 0;
    return 1;
}

typedef struct foreach_ctx {
    const model *m;
    size_t videos, equal;
} foreach_ctx;

static int foreach_cb(void *ctx, uint64_t eid, const phm_entry *e)
{
    foreach_ctx *c = ctx;
    if (!(e->signals & PHM_SIG_VPDQ))
        return 0;
    c->videos++;
    for (size_t i = 0; i < c->m->n; i++)
        if (c->m->alive[i] && c->m->eid[i] == eid && e->frames &&
            frames_equal(&c->m->frames[i], e->frames, e->nframes))
            c->equal++;
    return 0;
}

static void commit(phm_index_txn *t, phm_index_counts *c, const char *what)
{
    IS_INT(phm_index_txn_commit(t, c, err, sizeof err), PHM_OK, "commit %s (%s)", what, err);
}

static void check_verify(phm_index *idx, const char *when)
{
    IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "verify %s (%s)", when, err);
}

static void test_videos(model *m)
{
    char path[600];
    snprintf(path, sizeof path, "%s/v.phmi", dir);
    phm_index *idx;
    phm_index_txn *t;
    phm_index_counts c;
    rng r = { 42 };
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create");

    /* 1: images and videos, all in the delta (over 2048 hashes: tables) */
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin");
    for (int i = 0; i < 200; i++)
        model_add(m, t, i % 10 == 0, &r, 150 + (size_t)i * 3);
    commit(t, &c, "first");
    IS_INT((int)c.added, 200, "200 added");
    model_eids(m, idx);
    check_verify(idx, "delta");
    IS_INT(check_searches(m, idx, &r, "delta"), 0, "searches agree (delta)");

    phm_index_stats st;
    IS_INT(phm_index_get_stats(idx, &st, err, sizeof err), PHM_OK, "stats");
    uint64_t frames = 0;
    for (size_t i = 0; i < m->n; i++)
        frames += m->video[i] ? m->frames[i].count : 0;
    IS_INT((int)st.video_entries, 20, "stats: 20 videos");
    IS_INT((int)st.video_frames, (int)frames, "stats: frames");
    IS_INT((int)st.pdq_entries, 180, "stats: 180 PDQ entries");
    OK(st.video_hashes > 1000 && st.video_hashes < frames, "stats: %llu distinct hashes",
       (unsigned long long)st.video_hashes);
    IS_INT((int)(st.delta_entries), (int)(st.video_hashes + 180), "delta: every hash");

    /* the frames read back, exactly, in order */
    phm_searcher *s;
    phm_vpdq got;
    phm_vpdq_init(&got);
    IS_INT(phm_searcher_new(idx, &s, err, sizeof err), PHM_OK, "searcher");
    IS_INT(phm_searcher_get_frames(s, m->eid[10], &got, err, sizeof err), PHM_OK,
           "get frames (%s)", err);
    OK(frames_equal(&got, m->frames[10].frames, m->frames[10].count), "frames equal");
    phm_entry e;
    IS_INT(phm_searcher_get(s, m->eid[10], &e, err, sizeof err), PHM_OK, "get");
    OK((e.signals & PHM_SIG_VPDQ) && e.nframes == m->frames[10].count && !e.frames &&
           e.quality == -1, "entry: a video of %zu frames", e.nframes);
    IS_INT(phm_searcher_get_frames(s, m->eid[1], &got, err, sizeof err), PHM_ERR_INVALID,
           "frames of an image: refused");
    phm_searcher_free(s);

    /* 2: compaction puts the videos in the base; more go to the delta */
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "compact");
    check_verify(idx, "base");
    IS_INT(check_searches(m, idx, &r, "base"), 0, "searches agree (base)");
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin");
    for (int i = 0; i < 40; i++)
        model_add(m, t, i % 4 == 0, &r, 60 + (size_t)i);
    commit(t, &c, "second");
    model_eids(m, idx);
    check_verify(idx, "base and delta");
    IS_INT(check_searches(m, idx, &r, "base+delta"), 0, "searches agree (base+delta)");

    /* 3: idempotent; metadata only keeps the number; new frames do not */
    uint64_t old10 = m->eid[10], old20 = m->eid[20];
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin");
    phm_entry v10 = video_entry(m->id[10], &m->frames[10]);
    IS_INT(phm_index_add(t, &v10, err, sizeof err), PHM_OK, "same video again");
    phm_entry v20 = video_entry(m->id[20], &m->frames[20]);
    v20.note = "renamed";
    IS_INT(phm_index_add(t, &v20, err, sizeof err), PHM_OK, "note changed");
    m->frames[30].frames[5].quality = 99; /* a frame changed */
    phm_entry v30 = video_entry(m->id[30], &m->frames[30]);
    IS_INT(phm_index_add(t, &v30, err, sizeof err), PHM_OK, "frames changed");
    commit(t, &c, "updates");
    OK(c.unchanged == 1 && c.updated == 2 && c.added == 0, "1 unchanged, 2 updated");
    model_eids(m, idx);
    OK(m->eid[10] == old10 && m->eid[20] == old20, "numbers kept");
    check_verify(idx, "after updates");

    /* 4: removals: a video in the base, one in the delta, one added and
     * removed in the same transaction; an image replaced by a video and a
     * video by an image */
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin");
    int removed = 0;
    IS_INT(phm_index_remove(t, "vids", m->id[0], &removed, err, sizeof err), PHM_OK,
           "remove base video");
    m->alive[0] = 0;
    IS_INT(phm_index_remove(t, "vids", m->id[200], &removed, err, sizeof err), PHM_OK,
           "remove delta video");
    OK(removed, "it existed");
    m->alive[200] = 0;
    model_add(m, t, 1, &r, 500);
    IS_INT(phm_index_remove(t, "vids", m->id[m->n - 1], &removed, err, sizeof err), PHM_OK,
           "remove new video");
    m->alive[m->n - 1] = 0;
    /* image i1 becomes a video; video v40 becomes an image */
    phm_vpdq_clear(&m->frames[1]);
    make_video(&r, 90, &m->frames[1]);
    phm_entry im = video_entry(m->id[1], &m->frames[1]);
    im.source = "imgs";
    m->video[1] = 1;
    IS_INT(phm_index_add(t, &im, err, sizeof err), PHM_OK, "image -> video");
    m->video[40] = 0;
    m->pdq[40] = rng_hash(&r);
    phm_entry vi = { .source = "vids", .id = m->id[40], .signals = PHM_SIG_PDQ,
                     .quality = 70, .pdq = m->pdq[40] };
    IS_INT(phm_index_add(t, &vi, err, sizeof err), PHM_OK, "video -> image");
    commit(t, &c, "removals");
    model_eids(m, idx);
    check_verify(idx, "after removals");
    /* the model's names: i1 is a video under "imgs", v40 an image under "vids" */
    IS_INT(check_searches(m, idx, &r, "removals"), 0, "searches agree (removals)");
    IS_INT(phm_index_compact(idx, err, sizeof err), PHM_OK, "compact again");
    check_verify(idx, "compacted");
    IS_INT(check_searches(m, idx, &r, "compacted"), 0, "searches agree (compacted)");

    foreach_ctx fc = { .m = m };
    IS_INT(phm_index_foreach(idx, foreach_cb, &fc, err, sizeof err), PHM_OK, "foreach");
    OK(fc.videos == fc.equal && fc.videos == 28, "foreach: %zu videos, %zu with their frames",
       fc.videos, fc.equal);
    phm_vpdq_clear(&got);
    phm_index_close(idx);
}

static int model_lookup_video(const model *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->id[i], id) == 0)
            return (int)i;
    return -1;
}

/* Damages the frames table with LMDB directly: verify must say so. */
static void test_damaged_frames(const model *m)
{
    char path[600];
    snprintf(path, sizeof path, "%s/v.phmi", dir);
    int which = model_lookup_video(m, "v10");
    uint64_t eid = m->eid[which];
    for (int how = 0; how < 3; how++) {
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
        int ok = mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
                 mdb_env_open(env, path, MDB_NOSUBDIR, 0600) == 0 &&
                 mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
                 mdb_dbi_open(txn, "frames", MDB_INTEGERKEY, &dbi) == 0;
        MDB_val k = { sizeof eid, &eid }, v;
        uint8_t *copy = NULL, *orig = NULL;
        size_t olen = 0;
        if (ok && mdb_get(txn, dbi, &k, &v) == 0 && (copy = malloc(v.mv_size)) &&
            (orig = malloc(v.mv_size))) {
            memcpy(copy, v.mv_data, v.mv_size);
            memcpy(orig, v.mv_data, v.mv_size);
            olen = v.mv_size;
            size_t len = v.mv_size;
            if (how == 0)
                copy[16 + 17 + 4] ^= 0x10; /* a hash bit of frame 0 (quality 60) */
            else if (how == 1)
                len -= 49; /* a frame short of its count */
            else
                copy[16 + 16] = 101; /* quality of frame 0 out of range */
            MDB_val nv = { len, copy };
            ok = mdb_put(txn, dbi, &k, &nv, 0) == 0 && mdb_txn_commit(txn) == 0;
        } else if (ok) {
            mdb_txn_abort(txn);
            ok = 0;
        }
        mdb_env_close(env);
        OK(ok, "damaged the frames (%d)", how);
        phm_index *idx;
        IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_OK, "open");
        IS_INT(phm_index_verify(idx, err, sizeof err), PHM_ERR_CORRUPT, "verify fails (%d)", how);
        OK(strstr(err, "video entry") != NULL, "message: %s", err);
        phm_index_close(idx);
        /* put it back */
        if (orig && mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
            mdb_env_open(env, path, MDB_NOSUBDIR, 0600) == 0 &&
            mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
            mdb_dbi_open(txn, "frames", MDB_INTEGERKEY, &dbi) == 0) {
            MDB_val nv = { olen, orig };
            mdb_put(txn, dbi, &k, &nv, 0);
            mdb_txn_commit(txn);
        }
        mdb_env_close(env);
        free(copy);
        free(orig);
        IS_INT(phm_index_open(&idx, path, 0, 0, PHM_SIMD_AUTO, err, sizeof err), PHM_OK, "open");
        IS_INT(phm_index_verify(idx, err, sizeof err), PHM_OK, "restored (%d): %s", how, err);
        phm_index_close(idx);
    }
}

static void test_invalid_videos(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/bad.phmi", dir);
    phm_index *idx;
    phm_index_txn *t;
    IS_INT(phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err),
           PHM_OK, "create");
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin");
    phm_vpdq_frame f[2] = { { .quality = 80, .frame = 0, .timestamp = 0 },
                            { .quality = 101, .frame = 1, .timestamp = 1 } };
    phm_entry e = { .source = "s", .id = "x", .signals = PHM_SIG_VPDQ, .quality = -1,
                    .frames = f, .nframes = 0 };
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_ERR_INVALID, "no frames");
    e.nframes = PHM_INDEX_MAX_VIDEO_FRAMES + 1u;
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_ERR_INVALID, "too many frames");
    OK(strstr(err, "1..1048576 frames") != NULL, "message: %s", err);
    e.nframes = 2;
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_ERR_INVALID, "quality 101");
    f[1].quality = 50;
    f[1].timestamp = NAN;
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_ERR_INVALID, "timestamp NaN");
    f[1].timestamp = 1;
    e.signals |= PHM_SIG_PDQ;
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_ERR_INVALID, "PDQ and video");
    e.signals = PHM_SIG_VPDQ | PHM_SIG_MD5;
    memset(e.md5, 0xab, sizeof e.md5);
    IS_INT(phm_index_add(t, &e, err, sizeof err), PHM_OK, "video with an MD5: usable");
    /* a video whose frames are all of low quality: stored, never found */
    f[0].quality = f[1].quality = 10;
    phm_entry low = e;
    low.id = "low";
    low.signals = PHM_SIG_VPDQ;
    IS_INT(phm_index_add(t, &low, err, sizeof err), PHM_OK, "low-quality video");
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "commit");
    check_verify(idx, "low-quality video");
    phm_index_stats st;
    IS_INT(phm_index_get_stats(idx, &st, err, sizeof err), PHM_OK, "stats");
    OK(st.video_entries == 2 && st.video_hashes == 1 && st.pdq_entries == 0,
       "stats: 2 videos, 1 hash");
    phm_searcher *s;
    const phm_match *m;
    size_t n;
    IS_INT(phm_searcher_new(idx, &s, err, sizeof err), PHM_OK, "searcher");
    IS_INT(phm_search_radius(s, &f[0].hash, 0, &m, &n, err, sizeof err), PHM_OK, "search");
    IS_INT((int)n, 1, "the MD5 video's one hash is found, once");
    uint8_t md5[16];
    memset(md5, 0xab, sizeof md5);
    IS_INT(phm_search_digest(s, PHM_SIG_MD5, md5, &m, &n, err, sizeof err), PHM_OK, "digest");
    IS_INT((int)n, 1, "and by its MD5");
    phm_searcher_free(s);
    IS_INT(phm_index_txn_begin(idx, &t, err, sizeof err), PHM_OK, "begin");
    uint64_t gone = 0;
    IS_INT(phm_index_remove_source(t, "s", &gone, err, sizeof err), PHM_OK, "remove source");
    IS_INT(phm_index_txn_commit(t, NULL, err, sizeof err), PHM_OK, "commit");
    IS_INT((int)gone, 2, "both removed");
    check_verify(idx, "source removed");
    phm_index_close(idx);
}

static model M;

int main(void)
{
    scratch_dir(dir, sizeof dir, "index-video");
    test_videos(&M);
    test_damaged_frames(&M);
    test_invalid_videos();
    for (size_t i = 0; i < M.n; i++)
        phm_vpdq_clear(&M.frames[i]);
    scratch_done(dir);
    return tap_done();
}
