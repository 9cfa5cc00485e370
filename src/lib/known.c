/* known.c - a known image from its bytes, as phmatch index add --images
 * stores it (phm_hash_known_mem): the reference hash and the variants.
 *
 * A picture with transparency is the one case where the stored hashes
 * cannot all come from one decode: the reference hash drops alpha, while
 * what a viewer sees (and what a copy saved as JPEG holds) is the picture
 * composited over a background. Such a picture is decoded over white (its
 * edits are made from that), over black, and as the reference does; every
 * other picture once. */
#include <stdio.h>
#include <string.h>

#include "decode_internal.h"
#include "phmatch.h"

/* Appends v (code, hash) to out[0..*n) when it is worth a slot: the rules
 * phm_augment keeps an edit by (of quality PHM_AUGMENT_MIN_QUALITY or
 * more, not a pattern, more than min_distance from the own hash and from
 * every slot kept). */
static void keep(int code, const phm_pdq_result *r, const phm_pdq *own, int min_distance,
                 phm_entry_variant *out, size_t *n)
{
    if (*n >= PHM_INDEX_MAX_VARIANTS || r->quality < PHM_AUGMENT_MIN_QUALITY ||
        phm_pdq_distinct_rows(&r->hash[0]) < PHM_CUT_MIN_ROWS ||
        phm_pdq_distance(&r->hash[0], own) <= min_distance)
        return;
    for (size_t j = 0; j < *n; j++)
        if (phm_pdq_distance(&r->hash[0], &out[j].pdq) <= min_distance)
            return;
    out[(*n)++] = (phm_entry_variant){ code, r->hash[0] };
}

static int asked(const int *codes, size_t ncodes, int code)
{
    for (size_t i = 0; i < ncodes; i++)
        if (codes[i] == code)
            return 1;
    return 0;
}

/* Decodes data over `background` and hashes it into *r; the status of the
 * decode (or of the hash when that fails), and whether it composited a
 * pixel in *composited. */
static int decode_hash(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                       const char *name, int background, phm_pdq_result *r, phm_image *img,
                       int *composited, char *err, size_t errlen)
{
    dec->background = background;
    int rc = phm_decode_mem(dec, data, len, name, img, err, errlen);
    *composited = rc >= 0 && dec->composited;
    if (rc < 0)
        return rc;
    int hrc = phm_hash_image(h, img, PHM_MODE_FULL, 0, r);
    if (hrc != PHM_OK) {
        if (err && errlen)
            snprintf(err, errlen, "cannot hash '%s': %s", name ? name : "image",
                     phm_strerror(hrc));
        return hrc;
    }
    return rc;
}

int phm_hash_known_mem(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                       const char *name, const int *codes, size_t ncodes, int min_distance,
                       phm_pdq_result *own, phm_entry_variant *out, size_t *nout, char *err,
                       size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (nout)
        *nout = 0;
    if (!dec || !h || (!data && len) || !own || (ncodes && (!codes || !out || !nout)) ||
        ncodes > PHM_INDEX_MAX_VARIANTS || min_distance < 0 || min_distance > 256)
        return PHM_ERR_INVALID;
    memset(own, 0, sizeof *own);
    int saved = dec->background, flat_asked = asked(codes, ncodes, PHM_KV_FLAT_WHITE) ||
                                              asked(codes, ncodes, PHM_KV_FLAT_BLACK);
    phm_image img;
    phm_pdq_result white;
    int composited, rc;
    memset(&white, 0, sizeof white);
    /* Over white first when the flat variants are asked: most pictures
     * have no pixel that is not opaque, and theirs are then the
     * reference's pixels, decoded once. */
    rc = decode_hash(dec, h, data, len, name, flat_asked ? 255 : PHM_BACKGROUND_NONE, &white,
                     &img, &composited, err, errlen);
    if (rc < 0 || !composited) {
        dec->background = saved;
        *own = white; /* as phm_hash_mem gives it, a failed hash's too */
        if (rc < 0)
            return rc;
        if (!ncodes)
            return rc;
        char why[PHM_ERRMSG_MAX];
        int arc = phm_augment(h, &img, PHM_MODE_FULL, &own->hash[0], codes, ncodes,
                              min_distance, out, nout, why, sizeof why);
        if (arc != PHM_OK && err && errlen)
            snprintf(err, errlen, "cannot augment '%s': %s", name ? name : "image", why);
        return arc != PHM_OK ? arc : rc;
    }

    /* With transparency: the edits of the picture over white, as a viewer
     * sees it, measured against its own hash there. */
    phm_entry_variant edits[PHM_INDEX_MAX_VARIANTS];
    size_t nedits = 0;
    char why[PHM_ERRMSG_MAX];
    int arc = phm_augment(h, &img, PHM_MODE_FULL, &white.hash[0], codes, ncodes, min_distance,
                          edits, &nedits, why, sizeof why);
    phm_pdq_result black;
    int bc = 0, brc = arc == PHM_OK ? decode_hash(dec, h, data, len, name, 0, &black, &img,
                                                   &bc, why, sizeof why)
                                     : arc;
    if (arc == PHM_OK) /* the reference's, last: its status and err are the call's */
        rc = decode_hash(dec, h, data, len, name, PHM_BACKGROUND_NONE, own, &img, &composited,
                         err, errlen);
    dec->background = saved;
    if (arc != PHM_OK) {
        if (err && errlen)
            snprintf(err, errlen, "cannot augment '%s': %s", name ? name : "image", why);
        return arc;
    }
    if (rc < 0)
        return rc;
    size_t n = 0;
    if (asked(codes, ncodes, PHM_KV_FLAT_WHITE))
        keep(PHM_KV_FLAT_WHITE, &white, &own->hash[0], min_distance, out, &n);
    if (brc >= 0 && bc && asked(codes, ncodes, PHM_KV_FLAT_BLACK))
        keep(PHM_KV_FLAT_BLACK, &black, &own->hash[0], min_distance, out, &n);
    /* The edits after them, each dropped near a flat slot as phm_augment
     * drops it near one kept before (an area64 hash answers area64 hashes
     * only, so only another area64 hash makes it redundant). */
    size_t nflat = n;
    for (size_t i = 0; i < nedits && n < PHM_INDEX_MAX_VARIANTS; i++) {
        int near = 0;
        for (size_t j = 0; j < nflat && !phm_area_kind(edits[i].code); j++)
            near |= phm_pdq_distance(&edits[i].pdq, &out[j].pdq) <= min_distance;
        if (!near)
            out[n++] = edits[i];
    }
    *nout = n;
    return rc;
}

int phm_hash_known_file(phm_decoder *dec, phm_hasher *h, const char *path, const int *codes,
                        size_t ncodes, int min_distance, phm_pdq_result *own,
                        phm_entry_variant *out, size_t *nout, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (nout)
        *nout = 0;
    if (!dec || !path)
        return PHM_ERR_INVALID;
    int rc = phm__read_file(dec, path, err, errlen);
    if (rc)
        return rc;
    return phm_hash_known_mem(dec, h, dec->file, dec->file_len, path, codes, ncodes,
                              min_distance, own, out, nout, err, errlen);
}
