/* match.c - what an image or a video matches in an index (the Matching
 * section of phmatch.h), and the one JSON record of a match.
 *
 * An image: its hashes (1, or 8 orientations), and those of its variants
 * (phm_match_options.extra: its trimmed content, ...), searched in one
 * batch, one hit per entry at its nearest distance, nearest first.
 *
 * A video: one batch search of its distinct frame hashes; then each entry
 * hit is either a known video, compared exactly with its stored frames by
 * the vPDQ bag-of-frames comparison, or a known image, mapped back to the
 * frames of the query in which it appears.
 *
 * Everything a query needs is kept in the matcher and reused, so that a
 * worker thread matching query after query allocates nothing once its
 * buffers have grown to the largest query.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grow.h"
#include "index_internal.h"
#include "pdq_internal.h"

/* One (entry, searched hash) hit of a search. */
typedef struct pair {
    uint64_t entry;
    uint32_t q;         /* the searched hash: orientation or distinct hash */
    int32_t distance;
} pair;

struct phm_matcher {
    phm_searcher *s;
    uint32_t *code;      /* an image with variants: per searched hash,
                            variant * PHM_DIH_COUNT + orientation */
    size_t ccap;
    phm_pdq *q;          /* a video's distinct hashes searched */
    size_t qcap;
    uint8_t *marked;     /* per searched hash: matched the current image;
                            all zero between entries */
    size_t mcap;
    pair *pairs;
    size_t pcap;
    phm_match_hit *hits;
    size_t hcap;
    phm_match_frame *pool; /* the frames of every hit of the query */
    size_t plen, pcap_frames;
    size_t *first;       /* per hit, while building: its frames in pool */
    size_t fcap;
    phm_vpdq known;      /* a known video's frames */
    const phm_pdq *qhash; /* the current call's query hashes by pair.q (for
                             known_variant), NULL when they are not known */
    const uint32_t *qcode; /* with extras: pair.q's orientation + variant code
                              (m->code); NULL: pair.q is the orientation */
    phm_match_result res;
};

void phm_match_options_init(phm_match_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->max_distance = PHM_PDQ_MATCH_DISTANCE;
    o->min_quality = PHM_PDQ_MIN_QUALITY;
    o->query_threshold = PHM_VPDQ_QUERY_THRESHOLD;
    o->compared_threshold = PHM_VPDQ_COMPARED_THRESHOLD;
}

int phm_matcher_new(phm_searcher *s, phm_matcher **out)
{
    if (!out)
        return PHM_ERR_INVALID;
    *out = NULL;
    if (!s)
        return PHM_ERR_INVALID;
    phm_matcher *m = calloc(1, sizeof *m);
    if (!m)
        return PHM_ERR_NOMEM;
    m->s = s;
    phm_vpdq_init(&m->known);
    *out = m;
    return PHM_OK;
}

void phm_matcher_free(phm_matcher *m)
{
    if (!m)
        return;
    free(m->q);
    free(m->code);
    free(m->marked);
    free(m->pairs);
    free(m->hits);
    free(m->pool);
    free(m->first);
    phm_vpdq_clear(&m->known);
    free(m);
}

/* Grows *p to room for `need` elements of `size` bytes (doubling, checked
 * for overflow). 0, or -1 out of memory. */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    return phm__grow(p, cap, need, size, 64);
}

static int nomem(char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "out of memory");
    return PHM_ERR_NOMEM;
}

static int invalid(char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "invalid match options: %s", what);
    return PHM_ERR_INVALID;
}

/* Checks the options (NULL: the defaults into *def). */
static const phm_match_options *options(const phm_match_options *o,
                                        phm_match_options *def, char *err,
                                        size_t errlen, int *rc)
{
    *rc = PHM_OK;
    if (!o) {
        phm_match_options_init(def);
        return def;
    }
    if (o->max_distance < 0 || o->max_distance > PHM_INDEX_MAX_RADIUS)
        *rc = invalid(err, errlen, "max_distance outside 0..256");
    else if (o->min_quality < 0 || o->min_quality > 100)
        *rc = invalid(err, errlen, "min_quality outside 0..100");
    else if (o->low_quality_distance < 0 || o->low_quality_distance > PHM_INDEX_MAX_RADIUS)
        *rc = invalid(err, errlen, "low_quality_distance outside 0..256");
    else if (o->low_quality_min < 0 || o->low_quality_min > 100)
        *rc = invalid(err, errlen, "low_quality_min outside 0..100");
    else if (o->flat_distance < 0 || o->flat_distance > PHM_INDEX_MAX_RADIUS)
        *rc = invalid(err, errlen, "flat_distance outside 0..256");
    else if (!isfinite(o->query_threshold) || !isfinite(o->compared_threshold))
        *rc = invalid(err, errlen, "a threshold is not a number");
    return *rc == PHM_OK ? o : NULL;
}

static int pair_by_entry(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->entry != y->entry)
        return x->entry < y->entry ? -1 : 1;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    return (x->q > y->q) - (x->q < y->q);
}

static int pair_by_distance(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    return (x->entry > y->entry) - (x->entry < y->entry);
}

static int hit_by_distance(const void *a, const void *b)
{
    const phm_match_hit *x = a, *y = b;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    return (x->entry > y->entry) - (x->entry < y->entry);
}

/* The pairs of a batch search of nq hashes, sorted by entry, then
 * distance, then searched hash. Returns the count, or -1 (rc set). */
static long collect_pairs(phm_matcher *m, const phm_pdq *q, size_t nq,
                          int radius, int *rc, char *err, size_t errlen)
{
    const phm_match *mt;
    const size_t *off;
    *rc = phm_search_batch(m->s, q, nq, radius, 0, &mt, &off, err, errlen);
    if (*rc != PHM_OK)
        return -1;
    size_t np = off[nq];
    if (grow((void **)&m->pairs, &m->pcap, np, sizeof *m->pairs)) {
        *rc = nomem(err, errlen);
        return -1;
    }
    for (size_t i = 0; i < nq; i++)
        for (size_t j = off[i]; j < off[i + 1]; j++)
            m->pairs[j] = (pair){ mt[j].entry, (uint32_t)i, mt[j].distance };
    if (np > 1)
        qsort(m->pairs, np, sizeof *m->pairs, pair_by_entry);
    return (long)np;
}

static void reset(phm_matcher *m)
{
    m->res.searched = 0;
    m->res.suppressed = 0;
    m->res.total = 0;
    m->res.count = 0;
    m->res.partial = 0;
    m->res.hits = m->hits;
    m->plen = 0;
    m->qhash = NULL;
    m->qcode = NULL;
}

/* A hit of entry `entry` with its entry read (strings NULL if it is gone,
 * which cannot happen within one snapshot). */
static int new_hit(phm_matcher *m, phm_match_hit *h, uint64_t entry,
                   int distance, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->entry = entry;
    h->distance = distance;
    h->orientation = PHM_DIH_ORIGINAL;
    h->frame = -1;
    int rc = phm_searcher_get(m->s, entry, &h->e, err, errlen);
    if (rc == PHM_ERR_NOT_FOUND) {
        memset(&h->e, 0, sizeof h->e);
        if (err && errlen)
            err[0] = '\0';
        return PHM_OK;
    }
    if (rc != PHM_OK)
        return rc;
    h->kind = h->e.signals & PHM_SIG_VPDQ ? PHM_MATCH_VIDEO : PHM_MATCH_IMAGE;
    return PHM_OK;
}

int phm_match_hit_get(phm_searcher *s, const phm_match *match,
                      phm_match_hit *out, char *err, size_t errlen)
{
    if (!s || !match || !out)
        return PHM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->entry = match->entry;
    out->distance = match->distance;
    out->orientation = PHM_DIH_ORIGINAL;
    out->frame = -1;
    int rc = phm_searcher_get(s, match->entry, &out->e, err, errlen);
    if (rc != PHM_OK)
        return rc;
    out->kind = out->e.signals & PHM_SIG_VPDQ ? PHM_MATCH_VIDEO : PHM_MATCH_IMAGE;
    return PHM_OK;
}

/* ------------------------------------------------------------------ */
/* Governance (phmatch.h, "governance")                                */
/* ------------------------------------------------------------------ */

/* Whether hit h (its entry read) may match a query of PDQ quality
 * `quality` (-1 unknown): *maxd is the distance its source allows, or -1
 * when it may not match at all (source disabled, quality below the
 * source's minimum, entry disabled or quarantined). */
static int admit(phm_matcher *m, const phm_match_hit *h, int quality,
                 const phm_match_options *o, int64_t now, int *maxd, char *err,
                 size_t errlen)
{
    gov_source g;
    int blocked;
    *maxd = -1;
    if (!h->e.source)
        return PHM_OK;
    int rc = gov_source_read(m->s, h->e.source, &g, err, errlen);
    if (rc == PHM_OK)
        rc = gov_entry_blocked(m->s, h->e.source, h->e.id, now, &blocked, err, errlen);
    if (rc != PHM_OK)
        return rc;
    if (!g.enabled || blocked || (quality >= 0 && g.min_quality >= 0 && quality < g.min_quality))
        return PHM_OK;
    *maxd = g.max_distance >= 0 ? g.max_distance : o->max_distance;
    return PHM_OK;
}

/* hits[0..nh) are kept, nearest first: if one is of a suppression source,
 * the nearest such suppresses every hit of the query. */
static int suppress(phm_matcher *m, size_t nh, char *err, size_t errlen)
{
    m->res.total = nh;
    m->res.suppressed = 0;
    for (size_t i = 0; i < nh; i++) {
        gov_source g;
        int rc = gov_source_read(m->s, m->hits[i].e.source, &g, err, errlen);
        if (rc != PHM_OK)
            return rc;
        if (g.kind != PHM_SOURCE_SUPPRESSION)
            continue;
        const phm_match_hit *by = &m->hits[i];
        uint64_t entry = by->entry;
        const char *source = by->e.source, *id = by->e.id;
        int distance = by->distance;
        for (size_t k = 0; k < nh; k++) {
            m->hits[k].suppressed_by.entry = entry;
            m->hits[k].suppressed_by.source = source;
            m->hits[k].suppressed_by.id = id;
            m->hits[k].suppressed_by.distance = distance;
        }
        m->res.total = 0;
        m->res.suppressed = nh;
        break;
    }
    return PHM_OK;
}

/* The kind of a query's "derotated" extra (not a PHM_KV_* code): the
 * picture turned upright meets the entry's own hash and its crops. A
 * stored rotation is turned the other way from it, and a filled one's
 * corners are all a calm picture's hash is (docs/ROBUST.md, "De-rotation
 * by the corners"). */
#define KIND_DEROTATED (-1)

/* The stored variant an extra searched as code c is the query side of (a
 * caption cut, the soft hash: extras named as a PHM_KV_* variant),
 * KIND_DEROTATED, or 0 (the own hashes, "trimmed"). */
static int extra_kind(const phm_match_options *o, uint32_t c)
{
    if (c < PHM_DIH_COUNT)
        return 0;
    const char *name = o->extra[c / PHM_DIH_COUNT - 1].variant;
    if (name && strcmp(name, PHM_DEROTATED) == 0)
        return KIND_DEROTATED;
    /* a query's box or its picture turned back: any area64 */
    if (name && (strcmp(name, PHM_AREA64_TRIMMED) == 0 || strcmp(name, PHM_AREA64_DEROTATED) == 0))
        return PHM_KV_AREA64;
    return name ? phm_known_variant_code(name) : 0;
}

/* The distance from q to e's nearest variant of kind `kind` (the soft
 * hashes answer one another: phm_soft_kind; so do the area64 ones:
 * phm_area_kind; KIND_DEROTATED: the own hash, code 0, and the crops),
 * its code in *code; -1 when e has none. With `bordered` (phm_match_options.bordered) the whole
 * image's soft hash is left out: bars make a bordered query's soft hash,
 * and no original's whole soft hash has them. */
static int kind_distance(const phm_entry *e, int kind, const phm_pdq *q, int bordered,
                         int *code)
{
    int best = -1;
    if (kind == KIND_DEROTATED && (e->signals & PHM_SIG_PDQ)) {
        best = phm_pdq_distance(&e->pdq, q);
        *code = 0;
    }
    for (size_t v = 0; v < e->nvariants && v < PHM_INDEX_MAX_VARIANTS; v++) {
        int c = e->variants[v].code;
        if (c != kind && !(phm_soft_kind(kind) && phm_soft_kind(c)) &&
            !(phm_area_kind(kind) && phm_area_kind(c)) &&
            !(kind == KIND_DEROTATED && phm__crop_kind(c)))
            continue;
        if (bordered && c == PHM_KV_ED_SOFT)
            continue;
        int d = phm_pdq_distance(&e->variants[v].pdq, q);
        if (best < 0 || d < best) {
            best = d;
            *code = c;
        }
    }
    return best;
}

/* The fill_below of rec_plain_distance for query hash q searched as code c
 * (its orientation, plus PHM_DIH_COUNT x (1 + the extra) for an extra):
 * every filled rotation left out with calm_corners; for the query's own
 * hash, the distance from q to the nearest of the corners alone in that
 * orientation; else none left out. The rule itself is
 * phm_match_options.corners_only's (phmatch.h). */
static int fill_below(const phm_match_options *o, const phm_pdq *q, uint32_t c)
{
    if (o->calm_corners)
        return 0;
    int below = REC_FILL_ANY;
    for (size_t i = 0; o->corners_only && c < PHM_DIH_COUNT && i < o->ncorners_only; i++)
        if (c < (uint32_t)o->corners_only[i].nhashes) {
            int d = phm_pdq_distance(q, &o->corners_only[i].hash[c]);
            below = d < below ? d : below;
        }
    return below;
}

/* An extra that is an edit made on both sides (extra_kind: the query's
 * cut of its lower third, the known image's same cut) is compared with
 * that variant of an entry only: against the entry's own hash or its
 * other variants it reaches nothing true (a cut of a copy is not the whole
 * original, nor the other cuts) and only adds chances of a false match
 * (docs/ROBUST.md, "Cuts against cuts"). The search measured each pair
 * against all of an entry's hashes; here the first np pairs through such
 * an extra are measured again against the entry's variant of its kind,
 * kept at that distance when within radius and dropped otherwise (also
 * when the entry has no such variant). Every other pair is measured again
 * without the entry's soft hashes (rec_plain_distance), which answer a
 * query's soft hash only. Returns the count kept, sorted by entry as
 * before, or -1 with *rc. */
static long kind_rules(phm_matcher *m, const phm_match_options *o, const phm_pdq *q,
                      long np, int radius, int *rc, char *err, size_t errlen)
{
    /* one slot per entry: every distance is already the plain one */
    if (!o->nextra && !idx_searcher_multi(m->s)) {
        *rc = PHM_OK;
        return np;
    }
    size_t n = 0;
    int moved = 0;
    phm_entry e;
    uint64_t read = UINT64_MAX; /* the entry in e: pairs come by entry */
    int found = 0;
    /* each extra's kind once, not a name lookup per pair */
    int kinds[1 + PHM_MATCH_MAX_EXTRA] = { 0 };
    for (size_t x = 0; x < o->nextra && x < PHM_MATCH_MAX_EXTRA; x++)
        kinds[1 + x] = extra_kind(o, (uint32_t)(1 + x) * PHM_DIH_COUNT);
    for (size_t i = 0; i < (size_t)np; i++) {
        pair p = m->pairs[i];
        int kind = o->nextra ? kinds[m->code[p.q] / PHM_DIH_COUNT] : 0;
        if (p.entry != read) {
            *rc = phm_searcher_get(m->s, p.entry, &e, err, errlen);
            if (*rc != PHM_OK && *rc != PHM_ERR_NOT_FOUND)
                return -1;
            read = p.entry;
            found = *rc == PHM_OK;
        }
        if (found) {
            int code;
            int d = kind ? kind_distance(&e, kind, &q[p.q], o->bordered, &code)
                         : rec_plain_distance(&e, &q[p.q],
                                              fill_below(o, &q[p.q], o->nextra ? m->code[p.q] : p.q));
            if (!kind && d < 0)
                d = p.distance;
            if (d < 0 || d > radius)
                continue;
            moved |= d != p.distance;
            p.distance = d;
        } else if (kind) {
            continue;
        }
        m->pairs[n++] = p;
    }
    if (moved && n > 1)
        qsort(m->pairs, n, sizeof *m->pairs, pair_by_entry);
    *rc = PHM_OK;
    return (long)n;
}

/* The hits of m->pairs[0..n) (one per entry, sorted by distance then
 * entry; q is the orientation) that the governance admits at their
 * distance, into m->hits[0..*count), nearest first: reads every entry.
 * A search of one hash measured an entry's soft hashes too: its hit is
 * held at its plain distance, which may reorder the hits (an entry 3 bits
 * away through a soft slot but 30 plain comes after one 5 plain), so
 * they are sorted again before suppression and max_matches look at them. */
static int admit_pairs(phm_matcher *m, size_t n, int quality, const phm_match_options *o,
                       int measured, size_t *count, char *err, size_t errlen)
{
    int64_t now = (int64_t)time(NULL);
    size_t nh = 0;
    int raised = 0;
    if (grow((void **)&m->hits, &m->hcap, n, sizeof *m->hits))
        return nomem(err, errlen);
    m->res.hits = m->hits;
    for (size_t i = 0; i < n; i++) {
        phm_match_hit *h = &m->hits[nh];
        int maxd;
        int rc = new_hit(m, h, m->pairs[i].entry, m->pairs[i].distance, err, errlen);
        /* a search of one hash (`measured` 0: no kind_rules pass): its
         * distance without the entry's soft hashes, and the slot that
         * gives it named at once */
        const char *nearest = NULL;
        if (rc == PHM_OK && !measured && m->qhash && h->e.nvariants) {
            int d;
            const phm_pdq *qh = &m->qhash[m->pairs[i].q];
            nearest = rec_known_variant(&h->e, qh, fill_below(o, qh, PHM_DIH_ORIGINAL), &d);
            raised |= d > h->distance;
            h->distance = d > h->distance ? d : h->distance;
        }
        if (rc == PHM_OK)
            rc = admit(m, h, quality, o, now, &maxd, err, errlen);
        if (rc != PHM_OK)
            return rc;
        if (maxd < 0 || h->distance > maxd)
            continue;
        /* q indexes the hashes searched; with extras, m->qcode maps it to
         * the orientation plus PHM_DIH_COUNT x (1 + the extra). */
        uint32_t q = m->pairs[i].q, c = m->qcode ? m->qcode[q] : q;
        h->orientation = (int)(c % PHM_DIH_COUNT);
        if (c >= PHM_DIH_COUNT)
            h->variant = o->extra[c / PHM_DIH_COUNT - 1].variant;
        int kind = m->qcode ? extra_kind(o, c) : 0;
        int code = kind;
        if (kind) /* kind_rules: measured against that kind only (qcode: qhash) */
            kind_distance(&h->e, kind, &m->qhash[q], o->bordered, &code);
        if (kind)
            h->known_variant = phm_known_variant_name(code);
        else if (m->qhash && h->e.nvariants) /* the stored variant nearest */
            h->known_variant = !measured ? nearest
                                         : rec_known_variant(&h->e, &m->qhash[q],
                                                             fill_below(o, &m->qhash[q], c),
                                                             NULL);
        nh++;
    }
    if (raised && nh > 1)
        qsort(m->hits, nh, sizeof *m->hits, hit_by_distance);
    *count = nh;
    return PHM_OK;
}

/* The governed hits of m->pairs[0..n) (admit_pairs), then suppression and
 * max_matches. */
static int govern_pairs(phm_matcher *m, size_t n, int quality, const phm_match_options *o,
                        int measured, char *err, size_t errlen)
{
    size_t nh;
    int rc = admit_pairs(m, n, quality, o, measured, &nh, err, errlen);
    if (rc == PHM_OK)
        rc = suppress(m, nh, err, errlen);
    if (rc != PHM_OK)
        return rc;
    m->res.count = o->max_matches && o->max_matches < nh ? o->max_matches : nh;
    return PHM_OK;
}

int phm_match_radius(phm_matcher *m, int max_distance, int *radius, char *err,
                     size_t errlen)
{
    if (!m || !radius || max_distance < 0 || max_distance > PHM_INDEX_MAX_RADIUS)
        return PHM_ERR_INVALID;
    return gov_radius(m->s, max_distance, radius, err, errlen);
}

int phm_match_results(phm_matcher *m, const phm_match *raw, size_t n, int quality,
                      const phm_match_options *o, const phm_match_result **out,
                      char *err, size_t errlen)
{
    phm_match_options def;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!m || !out || (n && !raw))
        return PHM_ERR_INVALID;
    reset(m);
    *out = &m->res;
    if (!(o = options(o, &def, err, errlen, &rc)))
        return rc;
    m->res.searched = 1;
    if (grow((void **)&m->pairs, &m->pcap, n, sizeof *m->pairs))
        return nomem(err, errlen);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) /* one per entry: a search gives each once */
        m->pairs[np++] = (pair){ raw[i].entry, PHM_DIH_ORIGINAL, raw[i].distance };
    m->qhash = o->query; /* pair.q is 0: the one hash searched */
    if (np > 1)
        qsort(m->pairs, np, sizeof *m->pairs, pair_by_distance);
    return govern_pairs(m, np, quality, o, 0, err, errlen);
}

/* The k nearest entries the governance admits: k-NN searches of a
 * widening window (k, then doubling, at most k + PHM_MATCH_KNN_SKIP_MAX
 * entries), each governed whole, until the window holds k admitted hits
 * and reaches past every distance at which a suppression entry may match
 * (or holds every entry within the radius). The last window's results
 * come from one search, so the hits' strings stay valid together. */
int phm_match_knn(phm_matcher *m, const phm_pdq *query, size_t k, int quality,
                  const phm_match_options *o, const phm_match_result **out,
                  char *err, size_t errlen)
{
    phm_match_options def;
    int rc, radius, supp;

    if (err && errlen)
        err[0] = '\0';
    if (!m || !query || !out || k == 0)
        return PHM_ERR_INVALID;
    reset(m);
    *out = &m->res;
    if (!(o = options(o, &def, err, errlen, &rc)))
        return rc;
    m->res.searched = 1;
    if ((rc = gov_radii(m->s, o->max_distance, &radius, &supp, err, errlen)) != PHM_OK)
        return rc;
    size_t cap = k > SIZE_MAX - PHM_MATCH_KNN_SKIP_MAX ? SIZE_MAX : k + PHM_MATCH_KNN_SKIP_MAX;
    size_t win = k, nh = 0;
    for (;;) {
        const phm_match *raw;
        size_t n;
        if ((rc = phm_search_knn(m->s, query, win, radius, &raw, &n, err, errlen)) != PHM_OK)
            return rc;
        if (grow((void **)&m->pairs, &m->pcap, n, sizeof *m->pairs))
            return nomem(err, errlen);
        for (size_t i = 0; i < n; i++) /* sorted by distance, then entry */
            m->pairs[i] = (pair){ raw[i].entry, PHM_DIH_ORIGINAL, raw[i].distance };
        m->qhash = o->query;
        if ((rc = admit_pairs(m, n, quality, o, 0, &nh, err, errlen)) != PHM_OK)
            return rc;
        /* Past the suppression distance: every entry at or below it is in
         * the window (ties at the window's last distance may be cut). An
         * entry outside the window is at least as far as its last one
         * (a plain distance is never below the search's): the k-th hit
         * raised past that (admit_pairs) may yet be beaten from outside. */
        int last = n ? raw[n - 1].distance : 0;
        int done = n < win || (nh >= k && m->hits[k - 1].distance <= last &&
                               (supp < 0 || last > supp));
        if (done || win >= cap) {
            m->res.partial = !done;
            break;
        }
        win = win > cap / 2 ? cap : win * 2;
    }
    /* Suppression looks at every admitted hit of the window (a suppression
     * entry beyond the k-th hit suppresses them too); k are reported. */
    if ((rc = suppress(m, nh, err, errlen)) != PHM_OK)
        return rc;
    size_t shown = nh < k ? nh : k;
    if (m->res.suppressed)
        m->res.suppressed = shown;
    else
        m->res.total = shown;
    m->res.count = o->max_matches && o->max_matches < shown ? o->max_matches : shown;
    return PHM_OK;
}

/* ------------------------------------------------------------------ */
/* Images                                                              */
/* ------------------------------------------------------------------ */

/* Whether a near-blank picture's hash h is searched (flat_distance): not
 * when it is a pattern, in its rows or its columns. A blank picture's hash
 * is one, and blank pictures meet each other at 0 bits. */
static int flat_searched(const phm_pdq *h)
{
    return phm_pdq_distinct_rows(h) >= PHM_CUT_MIN_ROWS &&
           phm__pdq_distinct_columns(h) >= PHM_CUT_MIN_ROWS;
}

/* Whether extra k, below low_quality_min, is searched as a near-blank
 * picture is (within flat_distance, when no pattern): its de-rotation
 * only. That is the whole picture turned upright, as the image's own hash
 * is the picture; every other extra is a part of it, flatter still
 * (docs/ROBUST.md, "De-rotation of small pictures"). */
static int flat_extra(const phm_match_options *o, size_t k)
{
    return o->flat_distance > 0 &&
           extra_kind(o, (uint32_t)((k + 1) * PHM_DIH_COUNT)) == KIND_DEROTATED &&
           flat_searched(&o->extra[k].pdq->hash[0]);
}

/* The hashes of an image with variants into m->q (the image's own nq,
 * then each searched extra's) and their codes into m->code; *nq becomes
 * their count. */
static int variants(phm_matcher *m, const phm_pdq_result *r, const phm_match_options *o,
                    int own_low, size_t *nq, char *err, size_t errlen)
{
    if (o->nextra > PHM_MATCH_MAX_EXTRA)
        return invalid(err, errlen, "more than PHM_MATCH_MAX_EXTRA extra hashes");
    if (!o->extra)
        return invalid(err, errlen, "nextra without extra");
    size_t need = (1 + o->nextra) * PHM_DIH_COUNT, n = 0;
    if (grow((void **)&m->q, &m->qcap, need, sizeof *m->q) ||
        grow((void **)&m->code, &m->ccap, need, sizeof *m->code))
        return nomem(err, errlen);
    /* The own hash below the gate of a picture searched through a whole
     * extra (a drawing in alpha alone: all zeros at quality 0) is taken
     * as a low-quality extra is: near matches only, never a pattern. */
    int own = !own_low || (o->low_quality_distance > 0 && r->quality >= o->low_quality_min &&
                           phm_pdq_distinct_rows(&r->hash[0]) >= PHM_CUT_MIN_ROWS);
    for (size_t i = 0; own && i < *nq; i++, n++) {
        m->q[n] = r->hash[i];
        m->code[n] = (uint32_t)i;
    }
    for (size_t k = 0; k < o->nextra; k++) {
        const phm_pdq_result *e = o->extra[k].pdq;
        if (!e || e->nhashes < 1 || e->nhashes > PHM_DIH_COUNT)
            return invalid(err, errlen, "an extra hash without its hashes");
        /* Below the gate: searched for near matches only (drop_far_low),
         * when asked. An extra that is a pattern is never searched: it is
         * near every flat image's, and stored variants never are one
         * (phm_augment). The plain hash is searched whatever it is. */
        if (e->quality < o->min_quality &&
            !(o->low_quality_distance > 0 &&
              (e->quality >= o->low_quality_min || flat_extra(o, k))))
            continue;
        if (phm_pdq_distinct_rows(&e->hash[0]) < PHM_CUT_MIN_ROWS)
            continue;
        size_t ne = o->orientations ? (size_t)e->nhashes : 1;
        for (size_t i = 0; i < ne; i++, n++) {
            m->q[n] = e->hash[i];
            m->code[n] = (uint32_t)((k + 1) * PHM_DIH_COUNT + i);
        }
    }
    *nq = n;
    return PHM_OK;
}

/* Drops the first np pairs' of extras below the quality gate farther than
 * low_quality_distance, and of those below low_quality_min (a near-blank
 * de-rotation: flat_extra) farther than flat_distance (variants());
 * returns the count kept, in order. */
static long drop_far_low(phm_matcher *m, const phm_match_options *o, int own_low, long np)
{
    size_t k = 0;
    for (size_t i = 0; i < (size_t)np; i++) {
        uint32_t c = m->code[m->pairs[i].q];
        const phm_pdq_result *e = c >= PHM_DIH_COUNT ? o->extra[c / PHM_DIH_COUNT - 1].pdq : NULL;
        int low = e ? e->quality < o->min_quality : own_low;
        if (low && m->pairs[i].distance > o->low_quality_distance)
            continue;
        if (low && e && e->quality < o->low_quality_min &&
            m->pairs[i].distance > o->flat_distance)
            continue;
        m->pairs[k++] = m->pairs[i];
    }
    return (long)k;
}

int phm_match_image(phm_matcher *m, const phm_pdq_result *r,
                    const phm_match_options *o, const phm_match_result **out,
                    char *err, size_t errlen)
{
    phm_match_options def;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!m || !r || !out)
        return PHM_ERR_INVALID;
    reset(m);
    *out = &m->res;
    if (!(o = options(o, &def, err, errlen, &rc)))
        return rc;
    if (r->nhashes < 1 || r->nhashes > PHM_DIH_COUNT)
        return invalid(err, errlen, "the image has no hash");
    /* The picture's quality: its own hash's, or a whole extra's (the
     * picture over white, phm_match_extra.whole) when better. */
    int quality = r->quality;
    for (size_t k = 0; o->extra && o->nextra <= PHM_MATCH_MAX_EXTRA && k < o->nextra; k++)
        if (o->extra[k].whole && o->extra[k].pdq && o->extra[k].pdq->quality > quality)
            quality = o->extra[k].pdq->quality;
    /* The own hash of a picture whose quality is a whole extra's (a
     * drawing in alpha alone: all zeros at quality 0 with alpha dropped)
     * is searched as a low-quality extra is, never as the picture. */
    int own_low = quality > r->quality && r->quality < o->min_quality;
    /* Below the quality gate: searched only for near matches, when asked
     * (low_quality_distance). Below low_quality_min the picture is near
     * blank: searched nearer still (flat_distance), and only when its own
     * hash is no pattern. */
    int low = quality < o->min_quality;
    int flat = low && quality < o->low_quality_min;
    if (low && !(o->low_quality_distance > 0 &&
                 (!flat || (o->flat_distance > 0 && !own_low && flat_searched(&r->hash[0])))))
        return PHM_OK;
    m->res.searched = 1;

    size_t nq = o->orientations ? (size_t)r->nhashes : 1;
    int radius;
    if ((rc = gov_radius(m->s, o->max_distance, &radius, err, errlen)) != PHM_OK)
        return rc;
    if (low && radius > o->low_quality_distance)
        radius = o->low_quality_distance;
    if (flat && radius > o->flat_distance)
        radius = o->flat_distance;
    const phm_pdq *q = r->hash;
    /* Extras below the gate are searched within low_quality_distance only
     * (variants(), drop_far_low): a cut or trimmed part of a low-quality
     * image is flatter still, and flat images share fixed patterns. */
    if (o->nextra && (rc = variants(m, r, o, own_low, &nq, err, errlen)) != PHM_OK)
        return rc;
    if (o->nextra)
        q = m->q;
    long np = collect_pairs(m, q, nq, radius, &rc, err, errlen);
    if (np < 0)
        return rc;
    if ((np = kind_rules(m, o, q, np, radius, &rc, err, errlen)) < 0)
        return rc;
    if (o->nextra)
        np = drop_far_low(m, o, own_low, np);
    /* Pairs keep their index into q (the image's own hashes first, then
     * each extra's, so ties go to the own hash); the hit building reads
     * the orientation and variant through m->qcode. */
    m->qhash = q;
    m->qcode = o->nextra ? m->code : NULL;
    /* One hit per entry: its nearest orientation (the lowest on a tie). */
    size_t n = 0;
    for (size_t i = 0; i < (size_t)np; i++)
        if (n == 0 || m->pairs[n - 1].entry != m->pairs[i].entry)
            m->pairs[n++] = m->pairs[i];
    if (n > 1)
        qsort(m->pairs, n, sizeof *m->pairs, pair_by_distance);
    return govern_pairs(m, n, quality, o, 1, err, errlen); /* kind_rules measured */
}

/* ------------------------------------------------------------------ */
/* Videos                                                              */
/* ------------------------------------------------------------------ */

/* The index of frame f's hash among the nq searched ones, or -1. */
static long searched_index(const phm_matcher *m, size_t nq,
                           const phm_vpdq_frame *f)
{
    const phm_pdq *h = bsearch(&f->hash, m->q, nq, sizeof *m->q, phm_pdq_cmp);
    return h ? (long)(h - m->q) : -1;
}

/* Appends to the pool the frames of v whose hash is marked; *first is
 * where they start. 0, or -1 out of memory. */
static int marked_frames(phm_matcher *m, size_t nq, const phm_vpdq *v,
                         int min_quality, size_t *first, size_t *count)
{
    *first = m->plen;
    for (size_t i = 0; i < v->count; i++) {
        const phm_vpdq_frame *f = &v->frames[i];
        long k = f->quality >= min_quality ? searched_index(m, nq, f) : -1;
        if (k < 0 || !m->marked[k])
            continue;
        if (grow((void **)&m->pool, &m->pcap_frames, m->plen + 1, sizeof *m->pool))
            return -1;
        m->pool[m->plen++] = (phm_match_frame){ f->frame, f->timestamp };
    }
    *count = m->plen - *first;
    return 0;
}

int phm_match_video(phm_matcher *m, const phm_vpdq *v,
                    const phm_match_options *o, const phm_match_result **out,
                    char *err, size_t errlen)
{
    phm_match_options def;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!m || !v || !out || (v->count && !v->frames))
        return PHM_ERR_INVALID;
    reset(m);
    *out = &m->res;
    if (!(o = options(o, &def, err, errlen, &rc)))
        return rc;
    if (v->count > UINT32_MAX)
        return invalid(err, errlen, "too many frames");
    if (grow((void **)&m->q, &m->qcap, v->count, sizeof *m->q))
        return nomem(err, errlen);
    if (v->count > m->mcap) {
        free(m->marked);
        m->mcap = 0;
        if (!(m->marked = calloc(v->count, 1)))
            return nomem(err, errlen);
        m->mcap = v->count;
    }
    size_t nq = phm_vpdq_distinct(v, o->min_quality, m->q);
    if (!nq)
        return PHM_OK;
    m->res.searched = 1;

    /* One search of the sublinear index for all of the video's hashes,
     * at the largest distance a source allows. */
    int radius;
    if ((rc = gov_radius(m->s, o->max_distance, &radius, err, errlen)) != PHM_OK)
        return rc;
    long lnp = collect_pairs(m, m->q, nq, radius, &rc, err, errlen);
    if (lnp < 0)
        return rc;
    /* A frame's hash is a plain one: an image entry is measured without
     * its soft hashes (kind_rules with no extra; a video has none). */
    phm_match_options plain = *o;
    plain.nextra = 0;
    if ((lnp = kind_rules(m, &plain, m->q, lnp, radius, &rc, err, errlen)) < 0)
        return rc;
    int64_t now = (int64_t)time(NULL);
    size_t np = (size_t)lnp, nh = 0;
    for (size_t i = 0; i < np;) {
        size_t j = i;
        while (j < np && m->pairs[j].entry == m->pairs[i].entry)
            j++;
        const pair *best = &m->pairs[i];
        if (grow((void **)&m->hits, &m->hcap, nh + 1, sizeof *m->hits) ||
            grow((void **)&m->first, &m->fcap, nh + 1, sizeof *m->first))
            return nomem(err, errlen);
        phm_match_hit *h = &m->hits[nh];
        rc = new_hit(m, h, best->entry, best->distance, err, errlen);
        if (rc != PHM_OK)
            return rc;
        if (!h->e.source) { /* gone: cannot happen in one snapshot */
            i = j;
            continue;
        }
        /* Governance: the source's distance bounds this entry's pairs
         * (sorted by distance), and its comparison. */
        int maxd;
        if ((rc = admit(m, h, -1, o, now, &maxd, err, errlen)) != PHM_OK)
            return rc;
        size_t jj = i;
        while (jj < j && m->pairs[jj].distance <= maxd)
            jj++;
        if (maxd < 0 || jj == i) {
            i = j;
            continue;
        }
        j = jj < j ? jj : j;
        size_t next = i;
        while (next < np && m->pairs[next].entry == best->entry)
            next++;
        if (h->e.nvariants)
            h->known_variant = phm_entry_known_variant(&h->e, &m->q[best->q], NULL);
        for (size_t f = 0; f < v->count && h->frame < 0; f++)
            if (v->frames[f].quality >= o->min_quality &&
                memcmp(&v->frames[f].hash, &m->q[best->q], sizeof(phm_pdq)) == 0) {
                h->frame = (int64_t)v->frames[f].frame;
                h->timestamp = v->frames[f].timestamp;
            }
        if (h->kind == PHM_MATCH_VIDEO) {
            phm_vpdq_match cmp;
            rc = phm_searcher_get_frames(m->s, best->entry, &m->known, err, errlen);
            if (rc == PHM_OK) {
                rc = phm_vpdq_compare(v, &m->known, maxd, o->min_quality, &cmp);
                if (rc != PHM_OK && err && errlen)
                    snprintf(err, errlen, "cannot compare with video entry %llu: %s",
                             (unsigned long long)best->entry, phm_strerror(rc));
            }
            if (rc != PHM_OK)
                return rc;
            h->compared = 1;
            h->query_percent = cmp.query_percent;
            h->compared_percent = cmp.compared_percent;
            if (phm_vpdq_is_match(&cmp, o->query_threshold, o->compared_threshold))
                nh++;
        } else {
            size_t first, count;
            for (size_t k = i; k < j; k++)
                m->marked[m->pairs[k].q] = 1;
            int bad = marked_frames(m, nq, v, o->min_quality, &first, &count);
            for (size_t k = i; k < j; k++)
                m->marked[m->pairs[k].q] = 0;
            if (bad)
                return nomem(err, errlen);
            /* An offset for now: the pool may still move. */
            h->nframes = count;
            m->first[nh] = first;
            nh++;
        }
        i = next;
    }
    /* The pool is complete: offsets become pointers. */
    for (size_t k = 0; k < nh; k++) {
        phm_match_hit *h = &m->hits[k];
        if (h->kind == PHM_MATCH_IMAGE)
            h->frames = m->pool + m->first[k];
    }
    if (nh > 1)
        qsort(m->hits, nh, sizeof *m->hits, hit_by_distance);
    m->res.hits = m->hits;
    if ((rc = suppress(m, nh, err, errlen)) != PHM_OK)
        return rc;
    m->res.count = o->max_matches && o->max_matches < nh ? o->max_matches : nh;
    return PHM_OK;
}

/* ------------------------------------------------------------------ */
/* The match record                                                    */
/* ------------------------------------------------------------------ */

/* Where the record goes: a stream, or a buffer as snprintf writes one. */
typedef struct sink {
    FILE *fp;
    char *out;
    size_t cap, len;
    int failed;
} sink;

static void put(sink *k, const char *s, size_t n)
{
    if (k->fp) {
        if (n && fwrite(s, 1, n, k->fp) != n)
            k->failed = 1;
    } else if (k->len < k->cap) {
        size_t room = k->cap - k->len;
        memcpy(k->out + k->len, s, n < room ? n : room);
    }
    k->len += n;
}

static void put_lit(sink *k, const char *s)
{
    put(k, s, strlen(s));
}

/* A string literal, its length known when compiled. */
#define PUT_LIT(k, lit) put((k), (lit), sizeof(lit) - 1)

/* v in decimal: digits without snprintf, which with strlen was most of
 * writing a record's numbers. */
static void put_u64(sink *k, unsigned long long v)
{
    char num[24], *p = num + sizeof num;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(k, p, (size_t)(num + sizeof num - p));
}

/* A JSON string of index text (phm_json_quote's policy), or null. */
static void put_text(sink *k, const char *s)
{
    if (!s) {
        PUT_LIT(k, "null");
        return;
    }
    size_t n = strlen(s);
    if (k->fp) {
        if (phm_json_fwrite(k->fp, s, n) != PHM_OK)
            k->failed = 1;
        return;
    }
    size_t room = k->len < k->cap ? k->cap - k->len : 0;
    k->len += phm_json_quote(s, n, room ? k->out + k->len : NULL, room);
}

static void put_int(sink *k, long long v)
{
    if (v < 0) {
        PUT_LIT(k, "-");
        put_u64(k, 0ull - (unsigned long long)v);
    } else {
        put_u64(k, (unsigned long long)v);
    }
}

static void put_real(sink *k, int known, double v)
{
    char num[64];
    int n;
    if (known && isfinite(v) && (n = snprintf(num, sizeof num, "%.3f", v)) > 0)
        put(k, num, (size_t)n < sizeof num ? (size_t)n : sizeof num - 1);
    else
        PUT_LIT(k, "null");
}

/* The one writer of the record (phm_match_json documents it). */
static void write_record(sink *k, const phm_match_hit *h)
{
    PUT_LIT(k, "{\"entry\":");
    put_u64(k, (unsigned long long)h->entry);
    PUT_LIT(k, ",\"source\":");
    put_text(k, h->e.source);
    PUT_LIT(k, ",\"id\":");
    put_text(k, h->e.id);
    PUT_LIT(k, ",\"category\":");
    put_text(k, h->e.source ? (h->e.category ? h->e.category : "") : NULL);
    put_lit(k, h->kind == PHM_MATCH_VIDEO ? ",\"kind\":\"video\"" : ",\"kind\":\"image\"");
    PUT_LIT(k, ",\"distance\":");
    put_int(k, h->distance);
    PUT_LIT(k, ",\"orientation\":\"");
    put_lit(k, phm_dihedral_name(h->orientation));
    PUT_LIT(k, "\",\"variant\":");
    put_text(k, h->variant);
    PUT_LIT(k, ",\"known_variant\":");
    put_text(k, h->known_variant);
    PUT_LIT(k, ",\"frame\":");
    if (h->frame >= 0)
        put_int(k, h->frame);
    else
        PUT_LIT(k, "null");
    PUT_LIT(k, ",\"timestamp\":");
    put_real(k, h->frame >= 0, h->timestamp);
    PUT_LIT(k, ",\"frames\":");
    if (h->frames) {
        for (size_t i = 0; i < h->nframes; i++) {
            put_lit(k, i ? ",{\"frame\":" : "[{\"frame\":");
            put_u64(k, (unsigned long long)h->frames[i].frame);
            PUT_LIT(k, ",\"timestamp\":");
            put_real(k, 1, h->frames[i].timestamp);
            PUT_LIT(k, "}");
        }
        put_lit(k, h->nframes ? "]" : "[]");
    } else {
        PUT_LIT(k, "null");
    }
    PUT_LIT(k, ",\"query_percent\":");
    put_real(k, h->compared, h->query_percent);
    PUT_LIT(k, ",\"compared_percent\":");
    put_real(k, h->compared, h->compared_percent);
    PUT_LIT(k, ",\"suppressed_by\":");
    if (h->suppressed_by.source) {
        PUT_LIT(k, "{\"source\":");
        put_text(k, h->suppressed_by.source);
        PUT_LIT(k, ",\"id\":");
        put_text(k, h->suppressed_by.id);
        PUT_LIT(k, ",\"distance\":");
        put_int(k, h->suppressed_by.distance);
        PUT_LIT(k, "}");
    } else {
        PUT_LIT(k, "null");
    }
    PUT_LIT(k, "}");
}

size_t phm_match_json(const phm_match_hit *h, char *out, size_t cap)
{
    sink k = { NULL, out, cap, 0, 0 };
    if (!h) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    write_record(&k, h);
    if (cap)
        out[k.len < cap ? k.len : cap - 1] = '\0';
    return k.len;
}

int phm_match_json_fwrite(FILE *fp, const phm_match_hit *h)
{
    sink k = { fp, NULL, 0, 0, 0 };
    if (!fp || !h)
        return PHM_ERR_INVALID;
    write_record(&k, h);
    return k.failed ? PHM_ERR_UNREADABLE : PHM_OK;
}
