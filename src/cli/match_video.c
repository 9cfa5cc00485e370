/* match_video.c - a video's matches in the index (match_video.h): one
 * batch search of its distinct frame hashes, then the known videos hit
 * compared exactly with their stored frames, and the known images hit
 * mapped back to the frames where they appear. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match_video.h"

struct match_video_scratch {
    phm_pdq *q;          /* the distinct hashes searched */
    size_t qcap;
    uint8_t *marked;     /* per searched hash: matched the current image;
                            all zero between entries */
    size_t mcap;
    struct pair {
        uint64_t entry;
        uint32_t q;
        int32_t distance;
    } *pairs;            /* (entry, hash) hits */
    size_t pcap;
    match_video_hit *hits;
    size_t hcap;
    phm_vpdq known;      /* a known video's frames */
};

void match_video_scratch_free(match_video_scratch *m)
{
    if (!m)
        return;
    free(m->q);
    free(m->marked);
    free(m->pairs);
    free(m->hits);
    phm_vpdq_clear(&m->known);
    free(m);
}

static int pair_cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->entry != y->entry)
        return x->entry < y->entry ? -1 : 1;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    return (x->q > y->q) - (x->q < y->q);
}

static int hit_cmp(const void *a, const void *b)
{
    const match_video_hit *x = a, *y = b;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    return (x->entry > y->entry) - (x->entry < y->entry);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *n = realloc(*p, c * size);
    if (!n)
        return -1;
    *p = n;
    *cap = c;
    return 0;
}

/* The index of frame f's hash among the searched ones, or -1. */
static long searched_index(const match_video_scratch *m, size_t nq,
                           const phm_vpdq_frame *f)
{
    const phm_pdq *h = bsearch(&f->hash, m->q, nq, sizeof *m->q, phm_pdq_cmp);
    return h ? (long)(h - m->q) : -1;
}

/* "FRAME@SECONDS ..." of the frames whose hash is marked. */
static char *frames_text(const match_video_scratch *m, size_t nq, const phm_vpdq *v,
                         int min_quality)
{
    size_t len = 0, cap = 0;
    char *s = NULL;
    for (size_t i = 0; i < v->count; i++) {
        const phm_vpdq_frame *f = &v->frames[i];
        long k = f->quality >= min_quality ? searched_index(m, nq, f) : -1;
        if (k < 0 || !m->marked[k])
            continue;
        char item[64];
        int n = snprintf(item, sizeof item, "%s%llu@%.3f", len ? " " : "",
                         (unsigned long long)f->frame, f->timestamp);
        if (n < 0 || grow((void **)&s, &cap, len + (size_t)n + 1, 1)) {
            free(s);
            return NULL;
        }
        memcpy(s + len, item, (size_t)n + 1);
        len += (size_t)n;
    }
    return s;
}

int match_video_search(phm_searcher *s, const phm_vpdq *v, const match_video_opts *o,
                       match_video_scratch **scr, int *searched,
                       match_video_hit **hits, size_t *nhits, char *err,
                       size_t errlen)
{
    match_video_scratch *m = *scr;
    *searched = 0;
    *hits = NULL;
    *nhits = 0;
    if (!m) {
        if (!(m = calloc(1, sizeof *m)))
            goto nomem;
        phm_vpdq_init(&m->known);
        *scr = m;
    }
    if (grow((void **)&m->q, &m->qcap, v->count, sizeof *m->q))
        goto nomem;
    if (v->count > m->mcap) {
        free(m->marked);
        m->mcap = 0;
        if (!(m->marked = calloc(v->count, 1)))
            goto nomem;
        m->mcap = v->count;
    }
    size_t nq = phm_vpdq_distinct(v, o->min_quality, m->q);
    if (!nq)
        return PHM_OK;
    *searched = 1;

    /* One search of the sublinear index for all of the video's hashes. */
    const phm_match *mt;
    const size_t *off;
    int rc = phm_search_batch(s, m->q, nq, o->radius, 0, &mt, &off, err, errlen);
    if (rc != PHM_OK)
        return rc;
    size_t np = off[nq];
    if (grow((void **)&m->pairs, &m->pcap, np, sizeof *m->pairs))
        goto nomem;
    for (size_t i = 0; i < nq; i++)
        for (size_t j = off[i]; j < off[i + 1]; j++)
            m->pairs[j] = (struct pair){ mt[j].entry, (uint32_t)i, mt[j].distance };
    if (np > 1)
        qsort(m->pairs, np, sizeof *m->pairs, pair_cmp);

    size_t nh = 0;
    rc = PHM_OK;
    for (size_t i = 0; i < np;) {
        size_t j = i;
        while (j < np && m->pairs[j].entry == m->pairs[i].entry)
            j++;
        const struct pair *best = &m->pairs[i];
        phm_entry e;
        rc = phm_searcher_get(s, best->entry, &e, err, errlen);
        if (rc == PHM_ERR_NOT_FOUND) { /* cannot happen in one snapshot */
            i = j;
            continue;
        }
        if (rc != PHM_OK)
            goto fail;
        if (grow((void **)&m->hits, &m->hcap, nh + 1, sizeof *m->hits))
            goto nomem_hits;
        match_video_hit *h = &m->hits[nh];
        memset(h, 0, sizeof *h);
        h->entry = best->entry;
        h->distance = best->distance;
        h->frame = -1;
        for (size_t f = 0; f < v->count && h->frame < 0; f++)
            if (v->frames[f].quality >= o->min_quality &&
                memcmp(&v->frames[f].hash, &m->q[best->q], sizeof(phm_pdq)) == 0) {
                h->frame = (int64_t)v->frames[f].frame;
                h->timestamp = v->frames[f].timestamp;
            }
        if (e.signals & PHM_SIG_VPDQ) {
            phm_vpdq_match cmp;
            rc = phm_searcher_get_frames(s, best->entry, &m->known, err, errlen);
            if (rc == PHM_OK)
                rc = phm_vpdq_compare(v, &m->known, o->radius, o->min_quality, &cmp);
            if (rc != PHM_OK)
                goto fail;
            h->is_video = 1;
            h->query_percent = cmp.query_percent;
            h->compared_percent = cmp.compared_percent;
            if (phm_vpdq_is_match(&cmp, o->query_threshold, o->compared_threshold))
                nh++;
        } else {
            for (size_t k = i; k < j; k++)
                m->marked[m->pairs[k].q] = 1;
            h->frames = frames_text(m, nq, v, o->min_quality);
            for (size_t k = i; k < j; k++)
                m->marked[m->pairs[k].q] = 0;
            if (!h->frames)
                goto nomem_hits;
            nh++;
        }
        i = j;
    }
    if (nh > 1)
        qsort(m->hits, nh, sizeof *m->hits, hit_cmp);
    *hits = m->hits;
    *nhits = nh;
    return PHM_OK;
nomem_hits:
    snprintf(err, errlen, "out of memory");
    rc = PHM_ERR_NOMEM;
fail:
    for (size_t k = 0; k < nh; k++)
        free(m->hits[k].frames);
    return rc;
nomem:
    snprintf(err, errlen, "out of memory");
    return PHM_ERR_NOMEM;
}
