/* test_match.c - libphmatch's matching (phm_matcher): an image's
 * orientations giving one hit per entry at its nearest distance, the
 * quality gate, max_matches against the total, a video's known videos
 * (both percentages, the verdict) and known images (the frames they appear
 * in), and the one match record (phm_match_json): its exact text, null
 * members, text that is not UTF-8, truncation, and the stream writer
 * giving the same bytes. */
#include <string.h>

#include "index_util.h"
#include "tap.h"

static char dir[512];
static char err[PHM_ERRMSG_MAX];

static uint64_t entry_of(phm_searcher *s, const char *src, const char *id)
{
    uint64_t e = 0;
    if (phm_searcher_find(s, src, id, &e, err, sizeof err) != PHM_OK)
        printf("# find %s/%s: %s\n", src, id, err);
    return e;
}

static void test_record(void)
{
    phm_match_frame fr[2] = { { 25, 1.0 }, { 50, 2.0 } };
    phm_match_hit h;
    memset(&h, 0, sizeof h);
    h.entry = 7;
    h.e.source = "lab";
    h.e.id = "a\"1";
    h.e.category = "c\xff";
    h.kind = PHM_MATCH_IMAGE;
    h.distance = 4;
    h.orientation = PHM_DIH_ROT90;
    h.frame = -1;
    char buf[1024];
    size_t n = phm_match_json(&h, buf, sizeof buf);
    IS_STR(buf,
           "{\"entry\":7,\"source\":\"lab\",\"id\":\"a\\\"1\",\"category\":\"c\\ufffd\","
           "\"kind\":\"image\",\"distance\":4,\"orientation\":\"rot90\",\"variant\":null,\"known_variant\":null,\"frame\":null,"
           "\"timestamp\":null,\"frames\":null,\"query_percent\":null,"
           "\"compared_percent\":null,\"suppressed_by\":null}",
           "record: every key, escaped, not-UTF-8 repaired, nulls");
    IS_INT(n, strlen(buf), "record: the length returned");

    char small[16];
    IS_INT(phm_match_json(&h, small, sizeof small), n, "truncated: the full length");
    IS_INT(strlen(small), sizeof small - 1, "truncated: NUL-terminated in the buffer");

    h.e.source = NULL; /* an entry that could not be read */
    h.frame = 50;
    h.timestamp = 2.0;
    h.frames = fr;
    h.nframes = 2;
    h.kind = PHM_MATCH_IMAGE;
    h.variant = "trimmed";
    h.known_variant = "crop10-c";
    phm_match_json(&h, buf, sizeof buf);
    IS_STR(buf,
           "{\"entry\":7,\"source\":null,\"id\":\"a\\\"1\",\"category\":null,"
           "\"kind\":\"image\",\"distance\":4,\"orientation\":\"rot90\",\"variant\":\"trimmed\",\"known_variant\":\"crop10-c\",\"frame\":50,"
           "\"timestamp\":2.000,\"frames\":[{\"frame\":25,\"timestamp\":1.000},"
           "{\"frame\":50,\"timestamp\":2.000}],\"query_percent\":null,"
           "\"compared_percent\":null,\"suppressed_by\":null}",
           "record: frames of a known image in a video, variants named");
    h.variant = h.known_variant = NULL;
    /* numbers at their ends: the largest entry number, frame and distance 0 */
    h.entry = UINT64_MAX;
    h.distance = 0;
    fr[0].frame = 0;
    phm_match_json(&h, buf, sizeof buf);
    static const char big[] = "{\"entry\":18446744073709551615,";
    OK(strncmp(buf, big, sizeof big - 1) == 0 &&
           strstr(buf, "\"distance\":0,") && strstr(buf, "[{\"frame\":0,"),
       "record: entry 2^64 - 1, distance 0, frame 0 written whole");
    h.entry = 7;
    h.distance = 4;

    h.e.source = "v";
    h.e.id = "x";
    h.e.category = NULL;
    h.frames = NULL;
    h.kind = PHM_MATCH_VIDEO;
    h.compared = 1;
    h.query_percent = 100;
    h.compared_percent = 12.5;
    n = phm_match_json(&h, buf, sizeof buf);
    OK(strstr(buf, "\"category\":\"\",\"kind\":\"video\"") &&
           strstr(buf, "\"query_percent\":100.000,\"compared_percent\":12.500,\"suppressed_by\":null}"),
       "record: a known video's percentages");

    char *mem = NULL;
    size_t mlen = 0;
    FILE *fp = open_memstream(&mem, &mlen);
    OK(fp && phm_match_json_fwrite(fp, &h) == PHM_OK, "fwrite: PHM_OK");
    if (fp)
        fclose(fp);
    OK(mem && mlen == n && memcmp(mem, buf, n) == 0, "fwrite: the same bytes");
    free(mem);
}

/* *q: one hash h of quality 90, no orientations. */
static void one_hash(phm_pdq_result *q, phm_pdq h)
{
    memset(q, 0, sizeof *q);
    q->nhashes = 1;
    q->quality = 90;
    q->hash[0] = h;
}

/* An index at dir/NAME holding entries[0..n), with a searcher and a
 * matcher on it; 0, or -1 with err set (what was made is closed). */
static int kind_index(const char *name, const phm_entry *entries, size_t n, phm_index **idx,
                      phm_searcher **s, phm_matcher **m)
{
    char path[600];
    phm_index_txn *t = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *idx = NULL;
    *s = NULL;
    *m = NULL;
    int bad = phm_index_open(idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err) ||
              phm_index_txn_begin(*idx, &t, err, sizeof err);
    for (size_t i = 0; !bad && i < n; i++)
        bad = phm_index_add(t, &entries[i], err, sizeof err) != PHM_OK;
    bad = bad || phm_index_txn_commit(t, NULL, err, sizeof err) ||
          phm_searcher_new(*idx, s, err, sizeof err) || phm_matcher_new(*s, m);
    if (bad) {
        phm_searcher_free(*s);
        phm_index_close(*idx);
        return -1;
    }
    return 0;
}

/* An extra named as a stored variant (a caption cut) is compared with
 * that variant of an entry only (match.c same_kind): never with the
 * entry's own hash or its other variants, nor with an entry without it;
 * its distance is the one to that variant even where another hash of the
 * entry is nearer. "trimmed" (no stored twin) is compared with all. */
static void test_same_kind(rng *r)
{
    phm_index *idx;
    phm_searcher *s;
    phm_matcher *m;
    const phm_match_result *res;
    phm_pdq p = rng_hash(r), x = rng_hash(r), cb = rng_near(r, &x, 21), d = rng_hash(r);
    phm_entry ec[2] = { { .source = "s", .id = "c", .signals = PHM_SIG_PDQ, .quality = 90,
                          .pdq = p, .nvariants = 2 },
                        { .source = "s", .id = "d", .signals = PHM_SIG_PDQ, .quality = 90,
                          .pdq = d } };
    ec[0].variants[0] = (phm_entry_variant){ .code = PHM_KV_ED_CUT_BOTTOM, .pdq = cb };
    ec[0].variants[1] = (phm_entry_variant){ .code = PHM_KV_CROP5_C, .pdq = x };
    if (kind_index("kind.phmi", ec, 2, &idx, &s, &m)) {
        OK(0, "same kind: index of two entries (%s)", err);
        return;
    }
    uint64_t nc = entry_of(s, "s", "c");
    phm_match_options o;
    phm_match_options_init(&o);
    phm_pdq_result own, cut;
    one_hash(&own, rng_hash(r)); /* far from everything */
    cut = own;
    phm_match_extra ex = { "cut-bottom", &cut, 0 };
    o.extra = &ex;
    o.nextra = 1;

    cut.hash[0] = rng_near(r, &p, 2);
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 0,
       "same kind: a cut near an entry's own hash is not a match");
    ex.variant = "trimmed";
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 1 &&
           res->hits[0].entry == nc && res->hits[0].distance == 2,
       "same kind: a trimmed hash there is (no stored twin)");
    ex.variant = "cut-bottom";
    cut.hash[0] = rng_near(r, &d, 3);
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 0,
       "same kind: not an entry without the cut");
    cut.hash[0] = rng_near(r, &cb, 5);
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 1 &&
           res->hits[0].entry == nc && res->hits[0].distance == 5 &&
           res->hits[0].variant && strcmp(res->hits[0].variant, "cut-bottom") == 0 &&
           res->hits[0].known_variant && strcmp(res->hits[0].known_variant, "cut-bottom") == 0,
       "same kind: the cut against the stored cut at 5");
    /* Nearer another variant (crop5-c at 1) than its own kind (20-22). */
    cut.hash[0] = rng_near(r, &x, 1);
    int dcb = phm_pdq_distance(&cut.hash[0], &cb);
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 1 &&
           dcb >= 20 && res->hits[0].distance == dcb &&
           strcmp(res->hits[0].known_variant, "cut-bottom") == 0,
       "same kind: measured against the stored cut (%d), not crop5-c (1)", dcb);
    phm_matcher_free(m);
    phm_searcher_free(s);
    phm_index_close(idx);
}

/* The soft hashes (wt-combo2): a query's soft hash is measured against
 * an entry's nearest soft hash ("soft" or a "soft-crop8-*"; a bordered
 * query's against the "soft-crop8-*" only), which the record names; every other query hash (the own one, a trimmed one, a
 * plain search of one hash) against the entry's own hash and its other
 * variants only, never its soft hashes. */
static void test_soft_kind(rng *r)
{
    phm_index *idx;
    phm_searcher *s;
    phm_matcher *m;
    const phm_match_result *res;
    phm_pdq p = rng_hash(r), sf = rng_hash(r), sc = rng_hash(r);
    phm_entry e = { .source = "s", .id = "b", .signals = PHM_SIG_PDQ, .quality = 90,
                    .pdq = p, .nvariants = 2 };
    e.variants[0] = (phm_entry_variant){ .code = PHM_KV_ED_SOFT, .pdq = sf };
    e.variants[1] = (phm_entry_variant){ .code = PHM_KV_SOFT_CROP8_TL, .pdq = sc };
    if (kind_index("soft.phmi", &e, 1, &idx, &s, &m)) {
        OK(0, "soft kind: index of one entry (%s)", err);
        return;
    }
    OK(phm_soft_kind(PHM_KV_ED_SOFT) && phm_soft_kind(PHM_KV_SOFT_CROP8_BR) &&
           !phm_soft_kind(PHM_KV_CROP8_TL) && !phm_soft_kind(0),
       "soft kind: soft and soft-crop8-* are, crop8-tl is not");
    phm_match_options o;
    phm_match_options_init(&o);
    phm_pdq_result own, soft;
    one_hash(&own, rng_near(r, &sc, 3)); /* the own hash near a stored soft hash */
    one_hash(&soft, rng_hash(r));
    phm_match_extra ex = { "soft", &soft, 0 };
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 0,
       "soft kind: an own hash near a stored soft-crop8-tl is not a match");
    const phm_match *raw = NULL;
    size_t nraw = 0;
    int n1 = phm_search_radius(s, &own.hash[0], 31, &raw, &nraw, err, sizeof err) == PHM_OK
                 ? (int)nraw : -1;
    phm_match_options o1;
    phm_match_options_init(&o1);
    o1.query = &own.hash[0];
    OK(n1 == 1 && phm_match_results(m, raw, nraw, 90, &o1, &res, err, sizeof err) == PHM_OK &&
           res->count == 0,
       "soft kind: nor through a search of the one hash (%d found)", n1);
    const char *kv = phm_entry_known_variant(&e, &own.hash[0], NULL);
    OK(kv == NULL, "soft kind: phm_entry_known_variant names no soft hash (%s)", kv ? kv : "-");
    o.extra = &ex;
    o.nextra = 1;
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 0,
       "soft kind: nor with a soft hash far from both");
    soft.hash[0] = rng_near(r, &sc, 6);
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 1 &&
           res->hits[0].distance == 6 && strcmp(res->hits[0].variant, "soft") == 0 &&
           strcmp(res->hits[0].known_variant, "soft-crop8-tl") == 0,
       "soft kind: the soft hash against the stored soft-crop8-tl at 6");
    soft.hash[0] = rng_near(r, &sf, 4);
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 1 &&
           res->hits[0].distance == 4 && strcmp(res->hits[0].known_variant, "soft") == 0,
       "soft kind: and against the stored soft at 4");
    /* wt-tpr: a bordered query's soft hash is its bars' too; it is not
     * compared with the whole image's soft hash, only the corners' */
    o.bordered = 1;
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 0,
       "soft kind: a bordered query's soft hash does not meet the stored soft");
    soft.hash[0] = sc; /* 5 bits off, without drawing from r: later tests' hashes stay */
    soft.hash[0].w[0] ^= 0x1f;
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 1 &&
           res->hits[0].distance == 5 &&
           strcmp(res->hits[0].known_variant, "soft-crop8-tl") == 0,
       "soft kind: ... but still the stored soft-crop8-tl at 5");
    o.bordered = 0;
    soft.hash[0] = rng_near(r, &p, 2);
    OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count == 0,
       "soft kind: a soft hash near the entry's own hash is not a match");
    phm_matcher_free(m);
    phm_searcher_free(s);
    phm_index_close(idx);
}

/* Review of wt-soft: a plain hash's distance to an entry leaves out its
 * soft hashes everywhere. A (3 bits through its soft-crop8-bl, 30 plain),
 * B (5 plain), C (its soft-crop8-tr equal to the query, nothing else
 * near): a raw search gives C 0, A 3, B 5. phm_search_radius_plain (what
 * /m/raw_lookup and index audit report) drops C and gives B 5, A 30; the
 * matcher's nearest (max_matches 1, k-NN of 1) is B, not A at 30; a
 * video frame of the query hash meets B and A at 5 and 30, not C. */
static void test_soft_order(rng *r)
{
    phm_index *idx;
    phm_searcher *s;
    phm_matcher *m;
    const phm_match_result *res;
    phm_pdq q = rng_hash(r);
    phm_entry e[3] = {
        { .source = "s", .id = "A", .signals = PHM_SIG_PDQ, .quality = 90,
          .pdq = rng_near(r, &q, 30), .nvariants = 1 },
        { .source = "s", .id = "B", .signals = PHM_SIG_PDQ, .quality = 90,
          .pdq = rng_near(r, &q, 5) },
        { .source = "s", .id = "C", .signals = PHM_SIG_PDQ, .quality = 90,
          .pdq = rng_hash(r), .nvariants = 1 },
    };
    e[0].variants[0] = (phm_entry_variant){ .code = PHM_KV_SOFT_CROP8_BL,
                                            .pdq = rng_near(r, &q, 3) };
    e[2].variants[0] = (phm_entry_variant){ .code = PHM_KV_SOFT_CROP8_TR, .pdq = q };
    if (kind_index("order.phmi", e, 3, &idx, &s, &m)) {
        OK(0, "soft order: index of three entries (%s)", err);
        return;
    }
    uint64_t a = entry_of(s, "s", "A"), b = entry_of(s, "s", "B");
    const phm_match *raw = NULL;
    size_t nraw = 0;
    OK(phm_search_radius(s, &q, 31, &raw, &nraw, err, sizeof err) == PHM_OK && nraw == 3 &&
           raw[0].distance == 0 && raw[1].entry == a && raw[1].distance == 3,
       "soft order: the raw search meets C at 0 and A at 3 through soft slots");
    const phm_match *pm = NULL;
    size_t np = 0;
    OK(phm_search_radius_plain(s, &q, 31, &pm, &np, err, sizeof err) == PHM_OK && np == 2 &&
           pm[0].entry == b && pm[0].distance == 5 && pm[1].entry == a && pm[1].distance == 30,
       "soft order: the plain search drops C and gives B at 5, A at 30");
    OK(phm_search_radius_plain(s, &q, 29, &pm, &np, err, sizeof err) == PHM_OK && np == 1 &&
           pm[0].entry == b,
       "soft order: A beyond radius 29 without its soft slot");
    OK(phm_search_radius_plain(s, &e[2].pdq, 0, &pm, &np, err, sizeof err) == PHM_OK &&
           np == 1 && pm[0].distance == 0,
       "soft order: an entry's own hash still finds it");
    phm_match_options o;
    phm_match_options_init(&o);
    o.query = &q;
    o.max_matches = 1;
    if (phm_search_radius(s, &q, 31, &raw, &nraw, err, sizeof err) != PHM_OK)
        nraw = 0;
    OK(phm_match_results(m, raw, nraw, 90, &o, &res, err, sizeof err) == PHM_OK &&
           res->total == 2 && res->count == 1 && res->hits[0].entry == b &&
           res->hits[0].distance == 5,
       "soft order: max_matches 1 of the results keeps B at 5, not A at 30");
    OK(phm_match_knn(m, &q, 1, 90, &o, &res, err, sizeof err) == PHM_OK && res->count == 1 &&
           res->hits[0].entry == b && res->hits[0].distance == 5 && !res->partial,
       "soft order: the k-NN of 1 is B at 5 (the window widened past A)");
    /* a video's frame is a plain hash too */
    phm_vpdq qv;
    phm_vpdq_init(&qv);
    phm_vpdq_frame f = { .hash = q, .quality = 90, .frame = 0 };
    phm_vpdq_append(&qv, &f);
    OK(phm_match_video(m, &qv, NULL, &res, err, sizeof err) == PHM_OK && res->count == 2 &&
           res->hits[0].entry == b && res->hits[0].distance == 5 &&
           res->hits[1].entry == a && res->hits[1].distance == 30,
       "soft order: a video frame meets B at 5, A at 30, not C");
    phm_vpdq_clear(&qv);
    phm_matcher_free(m);
    phm_searcher_free(s);
    phm_index_close(idx);
}

int main(void)
{
    rng r = { 11 };
    phm_index *idx = NULL;
    phm_index_txn *t = NULL;
    phm_searcher *s = NULL;
    phm_matcher *m = NULL;
    const phm_match_result *res;
    char path[600];

    test_record();

    scratch_dir(dir, sizeof dir, "match");
    test_same_kind(&r);
    test_soft_kind(&r);
    rng r2 = { 21 };
    test_soft_order(&r2);
    snprintf(path, sizeof path, "%s/k.phmi", dir);
    if (phm_index_open(&idx, path, PHM_INDEX_CREATE, 0, PHM_SIMD_AUTO, err, sizeof err) ||
        phm_index_txn_begin(idx, &t, err, sizeof err)) {
        printf("# %s\n", err);
        return 2;
    }
    phm_pdq a = rng_hash(&r), b = rng_near(&r, &a, 8);
    phm_entry ea = { .source = "s", .id = "a", .category = "A", .signals = PHM_SIG_PDQ,
                     .quality = 90, .pdq = a };
    phm_entry eb = { .source = "s", .id = "b", .signals = PHM_SIG_PDQ, .quality = 90,
                     .pdq = b };
    /* A known video: 4 frames. */
    phm_vpdq kv;
    phm_vpdq_init(&kv);
    phm_pdq vh[4];
    for (int i = 0; i < 4; i++) {
        vh[i] = rng_hash(&r);
        phm_vpdq_frame f = { .hash = vh[i], .quality = 90, .frame = (uint64_t)i * 30,
                             .timestamp = i };
        phm_vpdq_append(&kv, &f);
    }
    phm_entry ev = { .source = "v", .id = "clip", .category = "V", .signals = PHM_SIG_VPDQ,
                     .quality = -1, .frames = kv.frames, .nframes = kv.count };
    OK(phm_index_add(t, &ea, err, sizeof err) == PHM_OK &&
           phm_index_add(t, &eb, err, sizeof err) == PHM_OK &&
           phm_index_add(t, &ev, err, sizeof err) == PHM_OK &&
           phm_index_txn_commit(t, NULL, err, sizeof err) == PHM_OK,
       "index of two images and a video");
    OK(phm_searcher_new(idx, &s, err, sizeof err) == PHM_OK &&
           phm_matcher_new(s, &m) == PHM_OK,
       "a searcher and a matcher");
    phm_matcher *none = m;
    IS_INT(phm_matcher_new(NULL, &none), PHM_ERR_INVALID, "a matcher needs a searcher");
    OK(none == NULL, "... and gives none");
    if (!m)
        return 2;
    uint64_t na = entry_of(s, "s", "a"), nb = entry_of(s, "s", "b"),
             nv = entry_of(s, "v", "clip");

    /* An image: hash[0] at distance 12 of a, hash[3] (rot270) exactly a. */
    phm_pdq_result q;
    memset(&q, 0, sizeof q);
    q.nhashes = 8;
    q.quality = 80;
    q.hash[0] = rng_near(&r, &a, 12);
    for (int i = 1; i < 8; i++)
        q.hash[i] = rng_hash(&r);
    q.hash[3] = a;
    phm_match_options o;
    phm_match_options_init(&o);
    IS_INT(o.max_distance, 31, "defaults: distance 31");
    IS_INT(o.min_quality, 50, "defaults: quality 50");
    o.orientations = 1;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK, "image: PHM_OK");
    IS_INT(res->searched, 1, "image: searched");
    IS_INT(res->total, 2, "image: a and b, once each over 8 orientations");
    OK(res->count == 2 && res->hits[0].entry == na && res->hits[0].distance == 0 &&
           res->hits[0].orientation == PHM_DIH_ROT270 &&
           strcmp(res->hits[0].e.id, "a") == 0 && strcmp(res->hits[0].e.category, "A") == 0,
       "image: a first, at 0, through rot270, its entry read");
    OK(res->count == 2 && res->hits[1].entry == nb && res->hits[1].distance == 8 &&
           res->hits[1].orientation == PHM_DIH_ROT270 && res->hits[1].kind == PHM_MATCH_IMAGE &&
           res->hits[1].frame == -1,
       "image: then b at 8");

    o.orientations = 0;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
           res->hits[0].entry == na && res->hits[0].distance == 12 &&
           res->hits[0].orientation == PHM_DIH_ORIGINAL,
       "orientations 0: hash[0] only");
    o.orientations = 1;
    o.max_matches = 1;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && res->total == 2 &&
           res->count == 1,
       "max_matches 1: one listed, total 2");
    o.max_matches = 0;
    q.quality = 49;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && !res->searched &&
           res->count == 0,
       "quality below min_quality: not searched");
    /* Below the gate with low_quality_distance (wt-edits): searched, only
     * within that distance (a at 0 through rot270, b at 8), and not below
     * low_quality_min. */
    IS_INT(o.low_quality_distance, 0, "defaults: low_quality_distance 0");
    o.low_quality_distance = 4;
    o.low_quality_min = 20;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && res->searched &&
           res->total == 1 && res->hits[0].entry == na && res->hits[0].distance == 0,
       "low quality within 4: a at 0 only, b at 8 left out");
    o.low_quality_distance = 8;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && res->total == 2,
       "low quality within 8: a and b");
    o.max_distance = 5;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && res->total == 1,
       "low quality: max_distance still bounds it");
    o.max_distance = 31;
    q.quality = 19;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && !res->searched,
       "below low_quality_min: not searched");
    /* Near blank, below low_quality_min (session 30): searched within
     * flat_distance (and low_quality_distance) when the own hash is no
     * pattern, in its rows or its columns. */
    IS_INT(o.flat_distance, 0, "defaults: flat_distance 0");
    o.flat_distance = 4;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && res->searched &&
           res->total == 1 && res->hits[0].entry == na && res->hits[0].distance == 0 &&
           res->hits[0].orientation == PHM_DIH_ROT270,
       "near blank within 4: a at 0 through rot270 only");
    o.flat_distance = 12;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && res->total == 2,
       "near blank within 12: a and b, bounded by low_quality_distance 8");
    o.low_quality_distance = 3;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && res->total == 1,
       "... and by a low_quality_distance of 3: a only");
    o.low_quality_distance = 0;
    OK(phm_match_image(m, &q, &o, &res, err, sizeof err) == PHM_OK && !res->searched,
       "flat_distance without low_quality_distance: not searched");
    o.low_quality_distance = 8;
    {
        phm_pdq_result pq = q;
        /* 16 distinct rows, each column twice (bit 2k = bit 2k + 1) */
        for (unsigned row = 0; row < 16; row++) {
            unsigned v = 0;
            for (unsigned k = 0; k < 4; k++)
                v |= ((row >> k) & 1u) * (3u << (2 * k)) | (((row ^ 5u) >> k) & 1u) * (3u << (8 + 2 * k));
            pq.hash[0].w[row / 4] &= ~((uint64_t)0xffff << (16 * (row % 4)));
            pq.hash[0].w[row / 4] |= (uint64_t)v << (16 * (row % 4));
        }
        OK(phm_pdq_distinct_rows(&pq.hash[0]) == 16, "a hash of 16 distinct rows ...");
        OK(phm_match_image(m, &pq, &o, &res, err, sizeof err) == PHM_OK && !res->searched,
           "... but 8 distinct columns: near blank, not searched");
        for (int w = 0; w < 4; w++)
            pq.hash[0].w[w] = 0x5555aaaa5555aaaaull;
        OK(phm_match_image(m, &pq, &o, &res, err, sizeof err) == PHM_OK && !res->searched,
           "a hash of two rows: not searched");
        pq.quality = 20;
        OK(phm_match_image(m, &pq, &o, &res, err, sizeof err) == PHM_OK && res->searched,
           "... at low_quality_min it is, pattern or not");
    }
    o.flat_distance = 257;
    IS_INT(phm_match_image(m, &q, &o, &res, err, sizeof err), PHM_ERR_INVALID,
           "flat_distance 257: invalid");
    o.flat_distance = 0;
    o.low_quality_distance = 257;
    IS_INT(phm_match_image(m, &q, &o, &res, err, sizeof err), PHM_ERR_INVALID,
           "low_quality_distance 257: invalid");
    o.low_quality_distance = 0;
    o.low_quality_min = 0;
    q.quality = 80;
    q.nhashes = 0;
    IS_INT(phm_match_image(m, &q, &o, &res, err, sizeof err), PHM_ERR_INVALID,
           "nhashes 0: invalid");
    q.nhashes = 8;
    o.max_distance = 300;
    IS_INT(phm_match_image(m, &q, &o, &res, err, sizeof err), PHM_ERR_INVALID,
           "max_distance 300: invalid");
    o.max_distance = 31;

    /* Query-side variants (phm_match_options.extra): a "trimmed" hash at
     * distance 3 of a, the image's own hash[0] at 12; a tie goes to the
     * image's own hash; an extra below min_quality is left out. */
    {
        phm_pdq_result tr;
        memset(&tr, 0, sizeof tr);
        tr.nhashes = 8;
        tr.quality = 70;
        for (int i = 0; i < 8; i++)
            tr.hash[i] = rng_hash(&r);
        tr.hash[0] = rng_near(&r, &a, 3);
        phm_pdq_result own = q;
        own.hash[3] = rng_hash(&r); /* the image's own: a at 12 only */
        phm_match_extra ex = { "trimmed", &tr, 0 };
        o.extra = &ex;
        o.nextra = 1;
        o.orientations = 1;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].entry == na && res->hits[0].distance == 3 &&
               res->hits[0].variant && strcmp(res->hits[0].variant, "trimmed") == 0 &&
               res->hits[0].orientation == PHM_DIH_ORIGINAL,
           "extra: a at 3 through the trimmed hash, variant trimmed");
        int once = 1;
        for (size_t i = 0; i < res->count; i++)
            for (size_t k = i + 1; k < res->count; k++)
                once &= res->hits[i].entry != res->hits[k].entry;
        tr.hash[0] = rng_hash(&r);
        tr.hash[5] = own.hash[0]; /* the same distance as the image's own */
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].entry == na && res->hits[0].distance == 12 &&
               res->hits[0].variant == NULL && res->hits[0].orientation == PHM_DIH_ORIGINAL,
           "extra: a tie goes to the image's own hash");
        tr.hash[5] = rng_near(&r, &a, 2);
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].distance == 2 && res->hits[0].orientation == PHM_DIH_FLIPY &&
               res->hits[0].variant && strcmp(res->hits[0].variant, "trimmed") == 0,
           "extra: its orientations searched too (flipy of trimmed)");
        o.orientations = 0;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].distance == 12 && res->hits[0].variant == NULL,
           "extra: orientations 0, only its hash[0]");
        o.orientations = 1;
        tr.quality = 40;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].distance == 12 && res->hits[0].variant == NULL,
           "extra: below min_quality, not searched");
        /* wt-shot: with low_quality_distance, an extra below the gate
         * (not a pattern: a caption cut of a calm picture) is searched
         * within that distance only, with an image of any quality. */
        tr.hash[5] = rng_hash(&r);
        tr.hash[0] = rng_near(&r, &a, 3);
        o.low_quality_distance = 4;
        o.low_quality_min = 20;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].entry == na && res->hits[0].distance == 3 &&
               res->hits[0].variant && strcmp(res->hits[0].variant, "trimmed") == 0,
           "extra below the gate: a at 3 within low_quality_distance 4");
        o.low_quality_distance = 2;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].distance == 12 && res->hits[0].variant == NULL,
           "extra below the gate: not beyond low_quality_distance 2");
        o.low_quality_distance = 4;
        tr.quality = 19;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].distance == 12 && res->hits[0].variant == NULL,
           "extra below low_quality_min: not searched");
        /* Near blank (session 31): of the extras, a de-rotation alone, as
         * the picture it turns upright is, within flat_distance. */
        o.flat_distance = 4;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].distance == 12 && res->hits[0].variant == NULL,
           "... nor with flat_distance: a part of the picture");
        ex.variant = PHM_DEROTATED;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].entry == na && res->hits[0].distance == 3 &&
               res->hits[0].variant && strcmp(res->hits[0].variant, PHM_DEROTATED) == 0,
           "a de-rotation below low_quality_min: a at 3 within flat_distance 4");
        o.flat_distance = 2;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].distance == 12 && res->hits[0].variant == NULL,
           "... not beyond flat_distance 2");
        o.flat_distance = 4;
        o.low_quality_distance = 2;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].distance == 12 && res->hits[0].variant == NULL,
           "... nor beyond low_quality_distance 2");
        o.low_quality_distance = 4;
        o.flat_distance = 0;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK && res->count >= 1 &&
               res->hits[0].distance == 12 && res->hits[0].variant == NULL,
           "... nor with flat_distance 0");
        ex.variant = "trimmed";
        tr.quality = 40;
        o.low_quality_distance = 0;
        o.low_quality_min = 0;
        OK(once, "extra: one hit per entry");
        o.nextra = PHM_MATCH_MAX_EXTRA + 1;
        IS_INT(phm_match_image(m, &own, &o, &res, err, sizeof err), PHM_ERR_INVALID,
               "extra: too many");
        o.nextra = 1;
        ex.pdq = NULL;
        IS_INT(phm_match_image(m, &own, &o, &res, err, sizeof err), PHM_ERR_INVALID,
               "extra: without its hashes");
        o.extra = NULL;
        o.nextra = 0;
        OK(phm_match_image(m, &own, &o, &res, err, sizeof err) == PHM_OK &&
               res->hits[0].distance == 12 && res->hits[0].variant == NULL,
           "no extra: the image's own hashes");
    }

    /* An image that is a frame of the known video. */
    q.hash[0] = vh[2];
    q.nhashes = 1;
    OK(phm_match_image(m, &q, NULL, &res, err, sizeof err) == PHM_OK && res->count == 1 &&
           res->hits[0].entry == nv && res->hits[0].kind == PHM_MATCH_VIDEO,
       "an image that is a frame of a known video: kind video");

    /* A video query: the known video's 4 frames, then a (frames 40 and
     * 60) and between them b in a frame of low quality (not searched; b
     * is found through a's hash, at 8). */
    phm_vpdq qv;
    phm_vpdq_init(&qv);
    for (int i = 0; i < 7; i++) {
        phm_vpdq_frame f = { .quality = 90, .frame = (uint64_t)i * 10, .timestamp = i * 0.5 };
        f.hash = i < 4 ? vh[i] : i == 5 ? b : a;
        if (i == 5)
            f.quality = 10;
        phm_vpdq_append(&qv, &f);
    }
    OK(phm_match_video(m, &qv, NULL, &res, err, sizeof err) == PHM_OK, "video: PHM_OK");
    IS_INT(res->total, 3, "video: the known video, a, and b through a's frames");
    const phm_match_hit *hv = NULL, *ha = NULL, *hb = NULL;
    for (size_t i = 0; i < res->count; i++) {
        if (res->hits[i].entry == nv)
            hv = &res->hits[i];
        if (res->hits[i].entry == na)
            ha = &res->hits[i];
        if (res->hits[i].entry == nb)
            hb = &res->hits[i];
    }
    OK(hv && hv->kind == PHM_MATCH_VIDEO && hv->compared && hv->distance == 0 &&
           hv->compared_percent == 100.0 && hv->query_percent == 80.0 && hv->frame == 0 &&
           !hv->frames,
       "video: the known video, 4 of its 4 hashes, 4 of the query's 5");
    OK(ha && ha->kind == PHM_MATCH_IMAGE && !ha->compared && ha->nframes == 2 &&
           ha->frames[0].frame == 40 && ha->frames[1].frame == 60 &&
           ha->frames[1].timestamp == 3.0 && ha->frame == 40 && ha->distance == 0,
       "video: image a, in frames 40 and 60 with their timestamps");
    OK(hb && hb->distance == 8 && hb->nframes == 2 && hb->frames[0].frame == 40,
       "video: image b at 8, in a's frames");
    OK(res->count == 3 && res->hits[2].entry == nb, "video: nearest first");
    o.query_threshold = 90;
    OK(phm_match_video(m, &qv, &o, &res, err, sizeof err) == PHM_OK && res->total == 2 &&
           res->hits[0].entry != nv && res->hits[1].entry != nv,
       "video: query_threshold 90: the known video is not a match");
    o.query_threshold = PHM_VPDQ_QUERY_THRESHOLD;
    o.min_quality = 95;
    OK(phm_match_video(m, &qv, &o, &res, err, sizeof err) == PHM_OK && !res->searched,
       "video: no frame of min_quality: not searched");

    phm_vpdq_clear(&qv);
    phm_vpdq_clear(&kv);
    phm_matcher_free(m);
    phm_matcher_free(NULL);
    phm_searcher_free(s);
    phm_index_close(idx);
    scratch_done(dir);
    return tap_done();
}
