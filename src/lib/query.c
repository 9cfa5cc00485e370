/* query.c - every hash of a query from one decode (phm_hash_mem_query):
 * the image's own hash, the content inside a border, the caption cuts and
 * the soft hash. A JPEG's rows stream from libjpeg-turbo to the hasher
 * and, through a row tap, to the reduced copy border detection looks at,
 * to helper hashers that take the rows of each cut (PDQ of a view is
 * PDQ of its rows in order, so a cut is hashed as its rows pass) and to a
 * block-mean shrink for the soft hash; the image is never held whole
 * unless the reduced copy shows a border. Other formats are decoded whole
 * once and every hash is made from those pixels. */
#include <stdlib.h>
#include <string.h>

#include "decode_internal.h"
#include "pdq_internal.h"
#include "phmatch.h"

_Static_assert(PDQ_AUX_COUNT >= PHM_CUT_COUNT, "a helper hasher per cut");

/* The largest JPEG (decoded bytes) a query with trimming keeps whole
 * while it streams (query_jpeg): 64 MiB, about 21 MP of RGB; a larger one
 * is streamed in blocks and decoded again for a border. */
#define QUERY_KEEP_MAX ((size_t)64 << 20)


/* The row tap of a streamed JPEG: where its rows go besides the hasher. */
typedef struct query_tap {
    phm__row_tap tap; /* first: the decoder calls through it */
    phm_decoder *dec;
    phm_hasher *h;
    const phm_query_options *opt;
    phm_thumb thumb;               /* opt->trim or corners: the reduced copy
                                      (pixels NULL when not begun) */
    phm_hasher *cut[PHM_CUT_COUNT]; /* a cut being hashed, or NULL */
    uint32_t cut_band[PHM_CUT_COUNT][2][2]; /* phm__cut_bands */
    int cut_nband[PHM_CUT_COUNT];
    phm__soft_shrink soft;              /* opt->soft: small non-NULL while made */
    uint32_t y;                    /* image rows seen */
} query_tap;

static int tap_begin(phm__row_tap *tp, uint32_t width, uint32_t height, uint32_t channels)
{
    query_tap *t = (query_tap *)tp;
    const phm_query_options *o = t->opt;
    t->y = 0;
    if (o->trim || o->corners) {
        int rc = phm__thumb_begin(t->dec, &t->thumb, width, height, channels);
        if (rc && o->trim)
            return rc; /* as phm_hash_mem_trim always did; corners alone:
                          best effort (no copy, no look) */
    }
    /* The extras below are best effort: one that cannot start is left out. */
    for (int k = 0; o->cuts && k < PHM_CUT_COUNT; k++) {
        phm_hasher *a;
        uint32_t(*band)[2] = t->cut_band[k];
        int nb = phm__cut_bands(height, k, band);
        uint32_t rows = 0;
        for (int b = 0; b < nb; b++)
            rows += band[b][1] - band[b][0];
        t->cut_nband[k] = nb;
        if (nb && (a = pdq_aux(t->h, k)) &&
            pdq_stream_begin(a, width, rows, channels, o->mode) == PHM_OK)
            t->cut[k] = a;
    }
    if (o->soft)
        phm__soft_begin(&t->soft, width, height, channels);
    return PHM_OK;
}

static void tap_rows(phm__row_tap *tp, const uint8_t *rows, size_t stride, size_t n)
{
    query_tap *t = (query_tap *)tp;
    if (t->thumb.pixels)
        phm__thumb_rows(&t->thumb, rows, stride, n);
    /* Each cut takes the rows of its bands that are in this block. */
    for (int k = 0; k < PHM_CUT_COUNT; k++) {
        for (int i = 0; t->cut[k] && i < t->cut_nband[k]; i++) {
            uint64_t lo = t->cut_band[k][i][0], hi = t->cut_band[k][i][1];
            uint64_t a = t->y > lo ? t->y : lo, b = t->y + n < hi ? t->y + n : hi;
            if (a < b)
                pdq_stream_rows(t->cut[k], rows + (size_t)(a - t->y) * stride, stride,
                                (size_t)(b - a));
        }
    }
    if (t->soft.small)
        phm__soft_rows(&t->soft, rows, stride, n);
    t->y += (uint32_t)n;
}

/* A rotation's corners in img, the quality of img with them filled
 * (whether they make its hash: phm_query_hashes.calm_corners) and, when
 * they do not, the hashes of the corners alone (corners_pdq). Both are
 * made in img's own pixels, the decoder's buffer: this is the last look
 * at them, and a copy would be a second image outside phmatchd's decode
 * budget. With `derotate`, the image turned back (phm_query_hashes.derot):
 * that one copy is made, for the few queries that are rotations. */
/* phm__corners_derotate into q->derot, and with `soft` its area64 hash
 * into q->area[3] (area_ok bit 3) when the picture is small. */
static void derotate_into(phm_hasher *h, const phm_image *img, const phm_corners *turn,
                          int grown, phm_mode mode, int dihedral, int soft, phm_query_hashes *q)
{
    int area = 0;
    q->has_derot = phm__corners_derotate(h, img, turn, grown, mode, dihedral, &q->derot,
                                         soft ? &q->area[3] : NULL, &area) == PHM_OK;
    q->area_ok |= area ? 1u << 3 : 0;
}

static void corners_of_image(phm_hasher *h, const phm_image *img, phm_mode mode,
                             int dihedral, int derotate, int soft, phm_query_hashes *q)
{
    phm_pdq_result r;
    uint8_t *px = (uint8_t *)(uintptr_t)img->pixels;
    if (phm_corners_find(img, &q->corners) != 1) {
        /* On a grown canvas the whole picture is there, turned: only its
         * de-rotation is wanted (corners_found stays 0: the image's own
         * hash is its picture's, not its corners', and the stored
         * rotations are on the picture's own canvas). */
        phm_corners grown, turn;
        if (derotate && phm__corners_find_grown(img, &grown) == 1) {
            phm__corners_measure(img, &grown, &turn);
            derotate_into(h, img, &turn, 1, mode, dihedral, soft, q);
        }
        return;
    }
    /* the turn read off the triangles while they are there */
    phm_corners turn;
    if (derotate)
        phm__corners_measure(img, &q->corners, &turn);
    phm__corners_fill_in_place(img, px, &q->corners);
    if (phm_hash_image(h, img, mode, 0, &r) != PHM_OK) {
        memset(&q->corners, 0, sizeof q->corners);
        return;
    }
    q->corners_found = 1;
    q->corners_quality = r.quality;
    q->calm_corners = r.quality < PHM_PDQ_MIN_QUALITY;
    /* Before the corners alone are drawn over the pixels. A calm picture
     * too (its filled rotations are not stored: wt-calm): turned back it
     * is as calm, below the quality gate, so its hash is searched only as
     * the low-quality extras are, within low_quality_distance and not
     * when a pattern (docs/ROBUST.md, "De-rotation by the corners"). */
    if (derotate)
        derotate_into(h, img, &turn, 0, mode, dihedral, soft, q);
    if (q->calm_corners)
        return; /* kept from every stored rotation: no bound needed */
    q->ncorners_pdq = phm__corners_alone(h, img, px, &q->corners, mode, dihedral, q->corners_pdq);
}

/* The area64 hashes (phm_hash_area64) of img and of its trimmed boxes in
 * q->trim, each when that picture is small; best effort, as the soft
 * hash. */
static void area_of_image(phm_hasher *h, const phm_image *img, phm_mode mode, int dihedral,
                          phm_query_hashes *q)
{
    const phm_rect whole = { 0, 0, img->width, img->height };
    const phm_rect *box[3] = { &whole, q->trim.found ? &q->trim.content : NULL,
                               q->trim.alt_found ? &q->trim.alt_content : NULL };
    for (int k = 0; k < 3; k++) {
        phm_image v;
        if (box[k] && box[k]->width <= PHM_AREA64_MAX_SIDE &&
            box[k]->height <= PHM_AREA64_MAX_SIDE && phm_image_view(img, box[k], &v) == PHM_OK &&
            phm_hash_area64(h, &v, mode, dihedral, &q->area[k]) == PHM_OK)
            q->area_ok |= 1u << k;
    }
}

/* The hashes of a query's extras on a whole image (not a streamed JPEG). */
static void extras_of_image(phm_hasher *h, const phm_image *img, const phm_query_options *o,
                            phm_query_hashes *q)
{
    if (o->trim)
        phm__trim_image(h, img, o->mode, o->dihedral, &q->trim);
    if (o->cuts)
        q->cut_ok = phm_hash_cuts(h, img, o->mode, o->dihedral, q->cut);
    if (o->soft)
        q->has_soft = phm_hash_soft(h, img, o->mode, o->dihedral, &q->soft) == PHM_OK;
    if (o->soft)
        area_of_image(h, img, o->mode, o->dihedral, q);
    if (o->corners) /* last: it draws over img's pixels */
        corners_of_image(h, img, o->mode, o->dihedral, o->derotate, o->soft, q);
}

/* A JPEG in one pass, its extras from the rows as they pass. */
static int query_jpeg(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                      const char *name, const phm_query_options *o, phm_query_hashes *q,
                      char *err, size_t errlen)
{
    query_tap t;
    memset(&t, 0, sizeof t);
    t.tap.begin = tap_begin;
    t.tap.rows = tap_rows;
    t.dec = dec;
    t.h = h;
    t.opt = o;
    /* Trimming (the default, and under --robust): the image decoded into
     * place, kept whole, for a border or canvas the reduced copy shows
     * (a fifth of photos, more with clip art on white: most turn out to
     * have no border on the full pixels) to be looked for again without
     * a second decode. Writing the rows into place costs less than the
     * decodes it saves; phmatchd's decode budget charges a query the
     * whole image either way. */
    phm_image kept = { 0 };
    int rc = phm__hash_jpeg_stream_tap(dec, h, data, len, name, o->mode, o->dihedral,
                                       &q->pdq, &q->info, &t.tap, o->trim ? &kept : NULL,
                                       QUERY_KEEP_MAX, err, errlen);
    if (rc < 0)
        goto out;
    for (int k = 0; k < PHM_CUT_COUNT; k++)
        if (t.cut[k] && pdq_stream_end(t.cut[k], o->dihedral, &q->cut[k]) == PHM_OK &&
            phm_pdq_distinct_rows(&q->cut[k].hash[0]) >= PHM_CUT_MIN_ROWS)
            q->cut_ok |= 1u << k;
    /* What phm_hash_cuts leaves in a cut it did not make usable stays:
     * callers look at cut_ok only. */
    if (t.soft.small) {
        phm_image s = { t.soft.small, t.soft.sw, t.soft.sh, t.soft.channels,
                        (size_t)t.soft.sw * t.soft.channels, PHM_FORMAT_JPEG };
        q->has_soft = phm_hash_soft(h, &s, o->mode, o->dihedral, &q->soft) == PHM_OK;
    }
    int border = o->trim && phm__trim_thumb_border(&t.thumb);
    /* kept whole under --robust (the cuts): the corners looked for on the
     * full pixels at once; otherwise only where the reduced copy shows
     * them, as for an image not kept */
    int corners = o->corners && ((kept.pixels && o->cuts) || phm__thumb_corners(&t.thumb) ||
                                 (o->derotate && phm__thumb_corners_grown(&t.thumb)));
    /* The area64 hashes of a small image or of a small box in it: with
     * the image whole (below), or from the soft hash's shrink, which keeps
     * a small image as it is, when nothing else wants it whole. */
    int small = q->info.width <= PHM_AREA64_MAX_SIDE && q->info.height <= PHM_AREA64_MAX_SIDE;
    if (o->soft && small && !border && !corners && !kept.pixels && t.soft.small &&
        t.soft.f == 1) {
        phm_image s = { t.soft.small, t.soft.sw, t.soft.sh, t.soft.channels,
                        (size_t)t.soft.sw * t.soft.channels, PHM_FORMAT_JPEG };
        area_of_image(h, &s, o->mode, o->dihedral, q);
    }
    int area = o->soft && (border || (small && kept.pixels));
    if (border || corners || area) {
        /* Only now is the image wanted whole: the border again on its
         * full pixels, the content hashed; the corners. */
        phm_image img = kept;
        char again[PHM_ERRMSG_MAX];
        if (img.pixels || phm_decode_mem(dec, data, len, name, &img, again, sizeof again) >= 0) {
            if (border)
                phm__trim_image(h, &img, o->mode, o->dihedral, &q->trim);
            if (area)
                area_of_image(h, &img, o->mode, o->dihedral, q);
            if (corners)
                corners_of_image(h, &img, o->mode, o->dihedral, o->derotate, o->soft, q);
        }
    }
out:
    phm__soft_free(&t.soft);
    return rc;
}

/* The image's own hash and size into q (pdq, info). */
static int own_of_image(phm_hasher *h, const phm_image *img, const phm_query_options *o,
                        phm_query_hashes *q)
{
    q->info.width = img->width;
    q->info.height = img->height;
    q->info.format = img->format;
    return phm_hash_image(h, img, o->mode, o->dihedral, &q->pdq);
}

/* A picture with transparency, *white its decode over white: hashed
 * (flat[0]) and its extras made, as a viewer sees it; then decoded over
 * black (flat[1]) and, last, as the reference does (alpha dropped: pdq,
 * info, and the status and err that phm_hash_mem gives). The decodes
 * reuse the decoder's one buffer, so each picture is done with before
 * the next decode. */
static int query_flat(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                      const char *name, const phm_query_options *o, const phm_image *white,
                      phm_query_hashes *q, char *err, size_t errlen)
{
    if (phm_hash_image(h, white, o->mode, o->dihedral, &q->flat[0]) == PHM_OK)
        q->flat_ok |= 1u;
    extras_of_image(h, white, o, q);
    phm_image img;
    char again[PHM_ERRMSG_MAX];
    dec->background = 0;
    if (phm_decode_mem(dec, data, len, name, &img, again, sizeof again) >= 0 &&
        dec->composited && phm_hash_image(h, &img, o->mode, o->dihedral, &q->flat[1]) == PHM_OK)
        q->flat_ok |= 2u;
    dec->background = PHM_BACKGROUND_NONE;
    int rc = phm_decode_mem(dec, data, len, name, &img, err, errlen);
    if (rc < 0)
        return rc;
    int hrc = own_of_image(h, &img, o, q);
    return hrc ? hrc : rc;
}

int phm_hash_mem_query(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                       const char *name, const phm_query_options *opt,
                       phm_query_hashes *q, char *err, size_t errlen)
{
    if (q)
        memset(q, 0, sizeof *q);
    if (err && errlen)
        err[0] = '\0';
    if (!dec || !h || !opt || !q || (!data && len))
        return PHM_ERR_INVALID;
    phm_format format = phm_format_detect(data, len);
    if (!opt->trim && !opt->cuts && !opt->soft && !opt->corners &&
        !(opt->flatten && format != PHM_FORMAT_JPEG))
        return phm_hash_mem(dec, h, data, len, name, opt->mode, opt->dihedral, &q->pdq,
                            &q->info, err, errlen);
    if (format == PHM_FORMAT_JPEG)
        return query_jpeg(dec, h, data, len, name, opt, q, err, errlen);

    /* Other formats are decoded whole anyway: hashed, then the extras.
     * With flatten, over white first: most pictures have no pixel that is
     * not opaque, and then those pixels are the reference's. */
    int background = dec->background;
    if (opt->flatten)
        dec->background = 255;
    phm_image img;
    int rc = phm_decode_mem(dec, data, len, name, &img, err, errlen);
    if (rc >= 0 && opt->flatten && dec->composited) {
        rc = query_flat(dec, h, data, len, name, opt, &img, q, err, errlen);
        dec->background = background;
        return rc;
    }
    dec->background = background;
    if (rc < 0)
        return rc;
    int hrc = own_of_image(h, &img, opt, q);
    if (hrc)
        return hrc;
    extras_of_image(h, &img, opt, q);
    return rc;
}

int phm_hash_file_query(phm_decoder *dec, phm_hasher *h, const char *path,
                        const phm_query_options *opt, phm_query_hashes *q, char *err,
                        size_t errlen)
{
    if (q)
        memset(q, 0, sizeof *q);
    if (err && errlen)
        err[0] = '\0';
    if (!dec || !h || !path || !opt || !q)
        return PHM_ERR_INVALID;
    int rc = phm__read_file(dec, path, err, errlen);
    if (rc)
        return rc;
    return phm_hash_mem_query(dec, h, dec->file, dec->file_len, path, opt, q, err, errlen);
}

int phm_query_quality(const phm_query_hashes *q)
{
    int quality = q ? q->pdq.quality : 0;
    for (int k = 0; q && k < 2; k++)
        if ((q->flat_ok & (1u << k)) && q->flat[k].quality > quality)
            quality = q->flat[k].quality;
    return quality;
}

size_t phm_query_match_options(const phm_query_hashes *q,
                               phm_match_extra extra[PHM_QUERY_MAX_EXTRA],
                               phm_match_options *o)
{
    _Static_assert(PHM_QUERY_MAX_EXTRA <= PHM_MATCH_MAX_EXTRA, "the matcher takes them all");
    size_t n = 0;
    if (!q || !extra || !o)
        return 0;
    /* First, as the whole picture as a viewer sees it (a tie goes to the
     * earlier extra); their quality is the picture's for the gate. */
    if (q->flat_ok & 1u)
        extra[n++] = (phm_match_extra){ PHM_FLATTENED_WHITE, &q->flat[0], 1 };
    if (q->flat_ok & 2u)
        extra[n++] = (phm_match_extra){ PHM_FLATTENED_BLACK, &q->flat[1], 1 };
    if (q->trim.found) {
        extra[n++] = (phm_match_extra){ "trimmed", &q->trim.pdq, 0 };
        if (q->trim.alt_found) /* a screen's or a canvas's second box */
            extra[n++] = (phm_match_extra){ "trimmed", &q->trim.alt_pdq, 0 };
    }
    for (int k = 0; k < PHM_CUT_COUNT; k++)
        if (q->cut_ok & (1u << k))
            extra[n++] = (phm_match_extra){ phm_known_variant_name(phm_cut_variant(k)),
                                            &q->cut[k], 0 };
    if (q->has_derot) /* the own hashes and crops only (match.c) */
        extra[n++] = (phm_match_extra){ PHM_DEROTATED, &q->derot, 0 };
    if (q->has_soft) /* compared with the entries' soft hashes only */
        extra[n++] = (phm_match_extra){ phm_known_variant_name(PHM_KV_ED_SOFT), &q->soft, 0 };
    /* compared with the entries' area64 hashes only */
    static const char *const area_names[4] = { "area64", PHM_AREA64_TRIMMED, PHM_AREA64_TRIMMED,
                                               PHM_AREA64_DEROTATED };
    for (int k = 0; k < 4; k++)
        if (q->area_ok & (1u << k))
            extra[n++] = (phm_match_extra){ area_names[k], &q->area[k], 0 };
    if (n) {
        o->extra = extra;
        o->nextra = n;
    }
    /* a picture's box on a plain canvas is no border: a small or flat
     * picture's resized copy keeps its whole soft hash (K0063 of the second
     * held-out set, matched through it at 4 bits) */
    o->bordered = q->trim.found && !q->trim.canvas;
    o->calm_corners = q->calm_corners;
    o->corners_only = q->ncorners_pdq ? q->corners_pdq : NULL;
    o->ncorners_only = (size_t)q->ncorners_pdq;
    return n;
}
