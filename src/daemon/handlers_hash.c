/* handlers_hash.c - POST /v1/hash: an uploaded image's PDQ hashes,
 * quality, size and format, optionally its dihedral variants and
 * cryptographic digests. The image is decoded and hashed in memory,
 * straight from the request buffer; nothing is written to disk. */
#include <stdio.h>
#include <string.h>

#include "server.h"

/* What decoding the body costs the decode budget (decode_charge of the
 * size its header announces), or 0: not an image whose header reads, over
 * max_pixels (the decoder refuses it before allocating its pixels), or
 * small enough to fit in what a worker keeps anyway (WORKER_KEEP_BYTES,
 * ~5.6 MP), so photos keep flowing while large images wait. */
static uint64_t body_charge(const uint8_t *body, size_t len, const svc_config *c,
                            phm_image_info *head, int cuts, int flatten)
{
    if (phm_image_probe(body, len, "upload", head, NULL, 0) != PHM_OK ||
        (uint64_t)head->width * head->height > (uint64_t)c->max_pixels)
        return 0;
    uint64_t pixels = decode_charge(head->width, head->height);
    /* Composited over a background, a picture with alpha is decoded with
     * its alpha byte first: a third more than its RGB (the header does
     * not say whether it has any; a JPEG never does). */
    if (flatten && head->format != PHM_FORMAT_JPEG)
        pixels += (uint64_t)head->width * head->height / 3 + 1;
    if (cuts) {
        /* The cuts' hashers (PHM_CUT_COUNT) keep their rows (2/3 of
         * the image's each) while the image's keeps its own
         * (phm_hash_mem_query). */
        uint64_t rows = decode_charge(1, head->height) / 3 * (3 + 2 * PHM_CUT_COUNT);
        if (rows > pixels)
            pixels = rows;
        /* A rotation's de-rotation (phm_query_options.derotate) turns a
         * copy of the whole image: reserved for every robust image, as
         * the header cannot say which is rotated. */
        pixels += (uint64_t)head->width * head->height;
    }
    return pixels > DECODE_FREE_PIXELS ? pixels : 0;
}

int body_is_large_image(const uint8_t *body, size_t len, const svc_config *c)
{
    phm_image_info head;
    return body_charge(body, len, c, &head, 0, 0) != 0;
}

int body_is_video(const uint8_t *body, size_t len)
{
    return phm_format_detect(body, len) == PHM_FORMAT_UNKNOWN &&
           !phm_vpdq_detect(body, len < PHM_VPDQ_LINE_MAX ? len : PHM_VPDQ_LINE_MAX);
}

int hash_body(svc_request *rq, svc_worker *w, int dihedral, phm_pdq_result *r,
              phm_image_info *info, int *recovered)
{
    return hash_body_trim(rq, w, dihedral, r, info, recovered, NULL);
}

int hash_body_trim(svc_request *rq, svc_worker *w, int dihedral, phm_pdq_result *r,
                   phm_image_info *info, int *recovered, robust_extra *rx)
{
    const svc_config *c = &rq->rt->cfg;
    phm_image_info head;

    /* The decode budget, shared by all workers: what the header announces
     * is reserved before any pixel is allocated. */
    uint64_t pixels =
        body_charge(rq->body, rq->body_len, c, &head, rx && rx->robust, rx && rx->flatten);
    if (pixels) {
        int busy = decode_reserve(&rq->srv->metrics, c, pixels);
        if (busy == -2) {
            reply_error(rq, 422, "too_large", "cannot decode 'upload': a %ux%u image needs "
                        "the memory of %llu pixels to hash, over max_decode_pixels",
                        head.width, head.height, (unsigned long long)pixels);
            return -1;
        }
        if (busy) {
            metrics_add(&rq->srv->metrics.overloaded, 1);
            reply_error(rq, 503, "overloaded", "too many pixels being decoded now for "
                        "this %ux%u image (max_decode_pixels); try again later",
                        head.width, head.height);
            return -1;
        }
    }
    /* With rx its extras too, from the same decode within the same
     * reservation (a JPEG decoded whole again only when it has a border
     * or a rotation's corners). */
    const phm_query_options qo = { .mode = (phm_mode)c->mode, .dihedral = dihedral,
                                   .trim = rx && rx->trim, .cuts = rx && rx->robust,
                                   .soft = rx && rx->robust, .corners = rx != NULL,
                                   .derotate = rx && rx->robust,
                                   .flatten = rx && rx->flatten };
    phm_query_hashes local, *q = rx ? &rx->q : &local;
    int rc = phm_hash_mem_query(w->dec, w->hasher, rq->body, rq->body_len, "upload", &qo,
                                q, w->err, sizeof w->err);
    *r = q->pdq;
    *info = q->info;
    if (pixels)
        decode_unreserve(&rq->srv->metrics, pixels);
    *recovered = 0;
    if (rc == PHM_WARN_RECOVERED && c->accept_recovered) {
        *recovered = 1;
        rc = PHM_OK;
    }
    if (rc != PHM_OK) {
        reply_phm_error(rq, rc, w->err);
        return -1;
    }
    metrics_add(&rq->srv->metrics.images, 1);
    return 0;
}

/* ?digest=sha256,md5 (or "all") into a bit mask. */
static int parse_digests(svc_request *rq, unsigned *mask)
{
    svc_args a = request_args(rq);
    if (args_digests(&a, mask) == 0)
        return 0;
    reply_error(rq, 400, "bad_request", "invalid ?digest: expected a comma-separated "
                "list of md5, sha1, sha256 or all");
    return -1;
}

static json_t *digests_json(svc_request *rq, svc_worker *w, unsigned mask)
{
    char hex[PHM_DIGEST_COUNT][PHM_DIGEST_HEX_MAX + 1];
    json_t *o;

    if (phm_digester_select(w->digester, mask) != PHM_OK ||
        phm_digest_mem(w->digester, rq->body, rq->body_len, hex) != PHM_OK ||
        !(o = json_object()))
        return NULL;
    for (int i = 0; i < PHM_DIGEST_COUNT; i++)
        if (mask & (1u << i))
            json_object_set_new(o, phm_digest_name(i), json_string(hex[i]));
    return o;
}

json_t *image_json(svc_request *rq, const phm_pdq_result *r, const phm_image_info *info,
                   int recovered)
{
    char hex[PHM_PDQ_HEX_LEN + 1];
    const svc_config *c = &rq->rt->cfg;

    phm_pdq_to_hex(&r->hash[0], hex);
    json_t *o = json_pack("{s:s, s:i, s:I, s:I, s:s, s:s, s:b}", "pdq", hex, "quality",
                          r->quality, "width", (json_int_t)info->width, "height",
                          (json_int_t)info->height, "format", phm_format_name(info->format),
                          "mode", phm_mode_name((phm_mode)c->mode), "low_quality",
                          r->quality < PHM_PDQ_MIN_QUALITY);
    if (o && recovered)
        json_object_set_new(o, "recovered", json_true());
    if (o && r->nhashes == PHM_DIH_COUNT) {
        json_t *d = json_object();
        for (int i = 1; d && i < PHM_DIH_COUNT; i++) {
            phm_pdq_to_hex(&r->hash[i], hex);
            json_object_set_new(d, phm_dihedral_name(i), json_string(hex));
        }
        json_object_set_new(o, "dihedral", d);
    }
    return o;
}

void handle_hash(svc_request *rq, svc_worker *w)
{
    int dihedral, recovered;
    unsigned mask;
    phm_pdq_result r;
    phm_image_info info;

    if (query_bool(rq, "dihedral", &dihedral) || parse_digests(rq, &mask) ||
        hash_body(rq, w, dihedral, &r, &info, &recovered))
        return;
    json_t *o = image_json(rq, &r, &info, recovered);
    if (o && mask) {
        json_t *d = digests_json(rq, w, mask);
        if (!d) {
            json_decref(o);
            reply_error(rq, 500, "internal", "OpenSSL failed to compute a digest");
            return;
        }
        json_object_set_new(o, "digests", d);
    }
    reply_json(rq, 200, o);
}
