/*
 * pdq.c - the PDQ hash (steps as in docs/PDQ.md), bit-exact with Meta's
 * reference: single-precision arithmetic in the reference's order, no
 * fused multiply-add (the Makefile builds with -ffp-contract=off).
 *
 * The expensive part, filtering the full-resolution luma, lives in
 * pdq_filter_impl.h (one build per instruction set); this file holds the
 * workspace, the 64x64 steps and the bit layout.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pdq_internal.h"
#include "phmatch.h"

#define CLI512_DIM 512

struct phm_hasher {
    phm_simd simd;
    const pdq_filter_ops *filter;
    pdq_filter_ws ws;
    float dct[PDQ_DCT_N * PDQ_DIM];
    float a[PDQ_DIM * PDQ_DIM];

    /* The image being streamed in (pdq_stream_begin .. _end). */
    uint32_t src_width, src_height, channels;
    uint32_t width, height;  /* what the core sees (512 x 512 when resizing) */
    uint32_t src_row;        /* source rows received */
    uint32_t out_row;        /* core rows produced */
    int resize, exact64, too_small;
    uint8_t *stage;          /* up to PDQ_LANES core rows awaiting a push */
    size_t stage_cap, staged;
    uint32_t col_src[CLI512_DIM]; /* cli512: source column of each output column */
    phm_hasher *aux[PDQ_AUX_COUNT]; /* pdq_aux: made at first use */
};

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

const char *phm_mode_name(phm_mode m)
{
    return m == PHM_MODE_CLI512 ? "cli512" : "full";
}

int phm_mode_parse(const char *name, phm_mode *out)
{
    if (!name || !out)
        return PHM_ERR_INVALID;
    if (strcmp(name, "full") == 0)
        *out = PHM_MODE_FULL;
    else if (strcmp(name, "cli512") == 0)
        *out = PHM_MODE_CLI512;
    else
        return PHM_ERR_INVALID;
    return PHM_OK;
}

const char *phm_dihedral_name(int orientation)
{
    static const char *const names[PHM_DIH_COUNT] = {
        "original", "rot90", "rot180", "rot270",
        "flipx", "flipy", "flipplus1", "flipminus1",
    };
    if (orientation < 0 || orientation >= PHM_DIH_COUNT)
        return "unknown";
    return names[orientation];
}

/* ------------------------------------------------------------------ */
/* Hex and bits                                                        */
/* ------------------------------------------------------------------ */

void phm_pdq_to_hex(const phm_pdq *h, char out[PHM_PDQ_HEX_LEN + 1])
{
    size_t o = 0;
    /* Words 3..0, most significant nibble first: the reference prints its
     * 16-bit words 15..0, and w[3] holds words 15..12. */
    for (int w = 3; w >= 0; w--)
        for (int shift = 60; shift >= 0; shift -= 4)
            out[o++] = phm_hex_digits[(h->w[w] >> shift) & 0xf];
    out[o] = '\0';
}

int phm_pdq_cmp(const void *a, const void *b)
{
    const phm_pdq *x = a, *y = b;
    for (int i = 3; i >= 0; i--)
        if (x->w[i] != y->w[i])
            return x->w[i] < y->w[i] ? -1 : 1;
    return 0;
}

int phm_pdq_distance(const phm_pdq *a, const phm_pdq *b)
{
    return __builtin_popcountll(a->w[0] ^ b->w[0]) +
           __builtin_popcountll(a->w[1] ^ b->w[1]) +
           __builtin_popcountll(a->w[2] ^ b->w[2]) +
           __builtin_popcountll(a->w[3] ^ b->w[3]);
}

int phm_pdq_from_hex(const char *hex, size_t len, phm_pdq *out)
{
    uint8_t b[32];
    if (!hex || !out || len != PHM_PDQ_HEX_LEN || hex_bytes(hex, 32, b))
        return PHM_ERR_BAD_HASH;
    for (int w = 0; w < 4; w++) { /* the first digits are the highest word */
        const uint8_t *p = b + 8 * w; /* written out: compilers make it one load */
        out->w[3 - w] = (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
                        (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
                        (uint64_t)p[6] << 8 | p[7];
    }
    return PHM_OK;
}

/* ------------------------------------------------------------------ */
/* Steps 4 (reference form), 6-9                                       */
/* ------------------------------------------------------------------ */

void pdq_box1d_reference(const float *in, float *out, size_t n, size_t stride,
                         uint32_t w)
{
    if (w == 1) {
        for (size_t i = 0; i < n; i++)
            out[i * stride] = in[i * stride];
        return;
    }
    size_t half = (w + 2) / 2;
    size_t ri = 0, li = 0, oi = 0;
    int count = 0;
    float sum = 0.0f;
    for (size_t i = 0; i + 1 < half; i++, ri++, count++)
        sum += in[ri * stride];
    for (size_t i = 0; i < w - half + 1; i++, ri++, oi++) {
        sum += in[ri * stride];
        count++;
        out[oi * stride] = sum / (float)count;
    }
    const size_t slide = n >= w ? n - w : 0;
    for (size_t i = 0; i < slide; i++, ri++, li++, oi++) {
        sum += in[ri * stride];
        sum -= in[li * stride];
        out[oi * stride] = sum / (float)count;
    }
    for (size_t i = 0; i + 1 < half; i++, li++, oi++) {
        sum -= in[li * stride];
        count--;
        out[oi * stride] = sum / (float)count;
    }
}

int pdq_quality(const float a[PDQ_DIM * PDQ_DIM])
{
    int sum = 0;
    for (int i = 0; i < PDQ_DIM - 1; i++)
        for (int j = 0; j < PDQ_DIM; j++) {
            float u = a[i * PDQ_DIM + j], v = a[(i + 1) * PDQ_DIM + j];
            int d = (int)(((u - v) * 100) / 255);
            sum += abs(d);
        }
    for (int i = 0; i < PDQ_DIM; i++)
        for (int j = 0; j < PDQ_DIM - 1; j++) {
            float u = a[i * PDQ_DIM + j], v = a[i * PDQ_DIM + j + 1];
            int d = (int)(((u - v) * 100) / 255);
            sum += abs(d);
        }
    int q = sum / 90;
    return q > 100 ? 100 : q;
}

void pdq_dct_matrix(float d[PDQ_DCT_N * PDQ_DIM])
{
    const double pi = 3.14159265358979323846;
    const double scale = sqrt(2.0 / PDQ_DIM);
    for (int i = 0; i < PDQ_DCT_N; i++)
        for (int j = 0; j < PDQ_DIM; j++)
            d[i * PDQ_DIM + j] =
                (float)(scale * cos((pi / 2.0 / PDQ_DIM) * (i + 1) * (2 * j + 1)));
}

void pdq_dct(const float d[PDQ_DCT_N * PDQ_DIM], const float a[PDQ_DIM * PDQ_DIM],
             float b[PDQ_DCT_N * PDQ_DCT_N])
{
    float t[PDQ_DCT_N * PDQ_DIM];
    /* T = D A. Accumulating over k in the outer loop keeps each T[i][j]'s
     * sum in k order while letting the j loop vectorise. */
    for (int i = 0; i < PDQ_DCT_N; i++) {
        float *ti = t + i * PDQ_DIM;
        for (int j = 0; j < PDQ_DIM; j++)
            ti[j] = 0.0f;
        for (int k = 0; k < PDQ_DIM; k++) {
            const float dik = d[i * PDQ_DIM + k];
            const float *ak = a + k * PDQ_DIM;
            for (int j = 0; j < PDQ_DIM; j++)
                ti[j] += dik * ak[j];
        }
    }
    /* B = T D^T */
    for (int i = 0; i < PDQ_DCT_N; i++)
        for (int j = 0; j < PDQ_DCT_N; j++) {
            float s = 0.0f;
            for (int k = 0; k < PDQ_DIM; k++)
                s += t[i * PDQ_DIM + k] * d[j * PDQ_DIM + k];
            b[i * PDQ_DCT_N + j] = s;
        }
}

float pdq_lower_median(const float b[PDQ_DCT_N * PDQ_DCT_N])
{
    /* The 128th smallest, which the reference takes from a full sort,
     * found by selection (Hoare's partition about the value at k,
     * narrowing to k's side): the same value, since equal floats are the
     * same number (+0 and -0 compare alike wherever m is used). A sort
     * through qsort's compare calls was 17 % of a `match --robust`
     * query's CPU: every extra hash takes it in 8 orientations. The
     * loop ends on any input, NaN included (a comparison with it is
     * false and the indices still move); at most n^2 steps. */
    enum { N = PDQ_DCT_N * PDQ_DCT_N, K = N / 2 - 1 };
    float s[N];
    memcpy(s, b, sizeof s);
    int lo = 0, hi = N - 1;
    while (lo < hi) {
        const float x = s[K];
        int i = lo, j = hi;
        do {
            while (s[i] < x)
                i++;
            while (x < s[j])
                j--;
            if (i <= j) {
                float t = s[i];
                s[i] = s[j];
                s[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < K)
            lo = i;
        if (K < i)
            hi = j;
    }
    return s[K];
}

void pdq_bits(const float b[PDQ_DCT_N * PDQ_DCT_N], phm_pdq *out)
{
    float m = pdq_lower_median(b);
    memset(out, 0, sizeof *out);
    for (int k = 0; k < PDQ_DCT_N * PDQ_DCT_N; k++)
        if (b[k] > m)
            out->w[k / 64] |= (uint64_t)1 << (k % 64);
}

void pdq_dihedral(const float b[PDQ_DCT_N * PDQ_DCT_N], int orientation,
                  float out[PDQ_DCT_N * PDQ_DCT_N])
{
    for (int i = 0; i < PDQ_DCT_N; i++)
        for (int j = 0; j < PDQ_DCT_N; j++) {
            const float v = b[i * PDQ_DCT_N + j];
            const int i_odd = i & 1, j_odd = j & 1, ij_odd = (i + j) & 1;
            switch (orientation) {
            case PHM_DIH_ROT90:
                out[j * PDQ_DCT_N + i] = j_odd ? v : -v;
                break;
            case PHM_DIH_ROT180:
                out[i * PDQ_DCT_N + j] = ij_odd ? -v : v;
                break;
            case PHM_DIH_ROT270:
                out[j * PDQ_DCT_N + i] = i_odd ? v : -v;
                break;
            case PHM_DIH_FLIPX:
                out[i * PDQ_DCT_N + j] = i_odd ? v : -v;
                break;
            case PHM_DIH_FLIPY:
                out[i * PDQ_DCT_N + j] = j_odd ? v : -v;
                break;
            case PHM_DIH_FLIPPLUS1:
                out[j * PDQ_DCT_N + i] = v;
                break;
            case PHM_DIH_FLIPMINUS1:
                out[j * PDQ_DCT_N + i] = ij_odd ? -v : v;
                break;
            default:
                out[i * PDQ_DCT_N + j] = v;
                break;
            }
        }
}

/* ------------------------------------------------------------------ */
/* Workspace                                                           */
/* ------------------------------------------------------------------ */

static int grow(float **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return PHM_OK;
    float *n = realloc(*p, need * sizeof **p);
    if (!n)
        return PHM_ERR_NOMEM;
    *p = n;
    *cap = need;
    return PHM_OK;
}

int pdq_filter_reserve(pdq_filter_ws *ws, uint32_t width, uint32_t height)
{
    /* Pass 2 needs rows li..ri (window + 1), pass 1 adds a block of 16 ahead,
     * and the x86 pass 2 may wait up to 8 rows to stay in step. */
    size_t ring = (size_t)pdq_window(height) + PDQ_LANES + 9;
    if (width > ws->cap_width || ring > ws->cap_ring) {
        size_t w = width > ws->cap_width ? width : ws->cap_width;
        size_t r = ring > ws->cap_ring ? ring : ws->cap_ring;
        size_t cap;
        /* Sizes are bounded by the decoder's pixel limit and checked there;
         * each product here is at most width * (window + 17) floats. */
        cap = 0;
        if (grow(&ws->rows1, &cap, w * PDQ_LANES))
            return PHM_ERR_NOMEM;
        cap = 0;
        if (grow(&ws->block_in, &cap, w * PDQ_LANES))
            return PHM_ERR_NOMEM;
        cap = 0;
        if (grow(&ws->block_out, &cap, w * PDQ_LANES))
            return PHM_ERR_NOMEM;
        cap = 0;
        if (grow(&ws->block3, &cap, w * PDQ_LANES))
            return PHM_ERR_NOMEM;
        cap = 0;
        if (grow(&ws->col_sums, &cap, w > PDQ_DIM ? w : PDQ_DIM))
            return PHM_ERR_NOMEM;
        cap = 0;
        if (grow(&ws->ring, &cap, w * r))
            return PHM_ERR_NOMEM;
        ws->cap_width = w;
        ws->cap_ring = r;
    }
    if (height > ws->cap_height) {
        size_t cap = 0;
        if (grow(&ws->narrow, &cap, (size_t)height * PDQ_DIM))
            return PHM_ERR_NOMEM;
        ws->cap_height = height;
    }
    return PHM_OK;
}

void pdq_filter_release(pdq_filter_ws *ws)
{
    free(ws->rows1);
    free(ws->block_in);
    free(ws->block_out);
    free(ws->ring);
    free(ws->col_sums);
    free(ws->block3);
    free(ws->narrow);
    memset(ws, 0, sizeof *ws);
}

void pdq_filter_start(pdq_filter_ws *ws, uint32_t width, uint32_t height,
                      uint32_t channels)
{
    ws->width = width;
    ws->height = height;
    ws->channels = channels;
    ws->next_row = 0;
    ws->wr = pdq_window(width);
    ws->wc = pdq_window(height);
    for (uint32_t i = 0; i < PDQ_DIM; i++) {
        ws->row_sel[i] = pdq_decimate_index(i, height);
        ws->col_sel[i] = pdq_decimate_index(i, width);
    }
    memset(&ws->cs, 0, sizeof ws->cs);
    ws->cs.w = ws->wc;
    const size_t half = (ws->wc + 2) / 2;
    ws->cs.plan.grow_silent = half - 1;
    ws->cs.plan.grow = ws->wc - half + 1;
    ws->cs.plan.slide = height >= ws->wc ? height - ws->wc : 0;
    ws->cs.plan.shrink = half - 1;
    if (ws->wc == 1) {
        ws->cs.reads = ws->cs.total = height;
    } else {
        ws->cs.reads = ws->cs.plan.grow_silent + ws->cs.plan.grow + ws->cs.plan.slide;
        ws->cs.total = ws->cs.reads + ws->cs.plan.shrink;
    }
    memset(ws->col_sums, 0, width * sizeof *ws->col_sums);
    /* Pass 3 filters all 16 lanes of a block; unused ones must be numbers. */
    memset(ws->block3, 0, (size_t)width * PDQ_LANES * sizeof *ws->block3);
}

void pdq_filter_image(const pdq_filter_ops *ops, pdq_filter_ws *ws,
                      const phm_image *img, float out[PDQ_DIM * PDQ_DIM])
{
    pdq_filter_start(ws, img->width, img->height, img->channels);
    for (size_t r0 = 0; r0 < img->height; r0 += PDQ_LANES) {
        size_t nb = img->height - r0 < PDQ_LANES ? img->height - r0 : PDQ_LANES;
        ops->push(ws, img->pixels + r0 * img->stride, img->stride, nb);
    }
    ops->finish(ws, out);
}

static const pdq_filter_ops *filter_for(phm_simd level)
{
#if defined(__x86_64__) && !defined(PHM_NO_X86_SIMD)
    if (level == PHM_SIMD_AVX512)
        return &pdq_filter_avx512;
    if (level == PHM_SIMD_AVX2)
        return &pdq_filter_avx2;
#else
    (void)level;
#endif
    return &pdq_filter_portable;
}

int phm_hasher_new(phm_hasher **out, phm_simd simd)
{
    if (!out)
        return PHM_ERR_INVALID;
    *out = NULL;
    phm_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return PHM_ERR_NOMEM;
    h->simd = phm_simd_resolve(simd);
    h->filter = filter_for(h->simd);
    pdq_dct_matrix(h->dct);
    *out = h;
    return PHM_OK;
}

void phm_hasher_free(phm_hasher *h)
{
    if (!h)
        return;
    for (int i = 0; i < PDQ_AUX_COUNT; i++)
        phm_hasher_free(h->aux[i]);
    pdq_filter_release(&h->ws);
    free(h->stage);
    free(h);
}

/* The bytes of buffers h holds (its own, not its helpers'). */
static size_t held_bytes(const phm_hasher *h)
{
    const pdq_filter_ws *ws = &h->ws;
    size_t floats = 4 * ws->cap_width * PDQ_LANES +
                    (ws->cap_width > PDQ_DIM ? ws->cap_width : ws->cap_width ? PDQ_DIM : 0) +
                    ws->cap_width * ws->cap_ring + ws->cap_height * PDQ_DIM;
    return floats * sizeof(float) + h->stage_cap;
}

size_t phm_hasher_trim(phm_hasher *h, size_t keep_bytes)
{
    if (!h)
        return 0;
    size_t bytes = held_bytes(h);
    for (int i = 0; i < PDQ_AUX_COUNT; i++)
        if (h->aux[i])
            bytes += held_bytes(h->aux[i]) + sizeof *h->aux[i];
    if (bytes <= keep_bytes)
        return 0;
    for (int i = 0; i < PDQ_AUX_COUNT; i++) {
        phm_hasher_free(h->aux[i]);
        h->aux[i] = NULL;
    }
    pdq_filter_release(&h->ws);
    free(h->stage);
    h->stage = NULL;
    h->stage_cap = h->staged = 0;
    return bytes;
}

phm_hasher *pdq_aux(phm_hasher *h, int i)
{
    if (!h || i < 0 || i >= PDQ_AUX_COUNT)
        return NULL;
    if (!h->aux[i] && phm_hasher_new(&h->aux[i], h->simd) != PHM_OK)
        h->aux[i] = NULL;
    return h->aux[i];
}

phm_simd phm_hasher_simd(const phm_hasher *h)
{
    return h ? h->simd : PHM_SIMD_PORTABLE;
}

/* ------------------------------------------------------------------ */
/* Streaming: rows in, hash out                                        */
/* ------------------------------------------------------------------ */

int pdq_stream_begin(phm_hasher *h, uint32_t width, uint32_t height,
                     uint32_t channels, phm_mode mode)
{
    if (!h || (channels != 1 && channels != 3))
        return PHM_ERR_INVALID;
    h->src_width = width;
    h->src_height = height;
    h->channels = channels;
    h->src_row = h->out_row = 0;
    h->staged = 0;
    h->resize = mode == PHM_MODE_CLI512 && (width > CLI512_DIM || height > CLI512_DIM);
    h->width = h->resize ? CLI512_DIM : width;
    h->height = h->resize ? CLI512_DIM : height;
    h->too_small = h->width < PDQ_MIN_DIM || h->height < PDQ_MIN_DIM;
    h->exact64 = h->width == PDQ_DIM && h->height == PDQ_DIM;
    if (h->too_small)
        return PHM_OK;
    if (h->resize) /* Step 2: source column floor(x * W / 512) */
        for (uint32_t x = 0; x < CLI512_DIM; x++)
            h->col_src[x] = (uint32_t)(((uint64_t)x * width) / CLI512_DIM);
    /* The stage holds up to 16 core rows when rows arrive in other counts. */
    size_t need = (size_t)h->width * channels * PDQ_LANES;
    if (need > h->stage_cap) {
        free(h->stage);
        h->stage = malloc(need);
        h->stage_cap = h->stage ? need : 0;
        if (!h->stage)
            return PHM_ERR_NOMEM;
    }
    if (h->exact64)
        return PHM_OK;
    int rc = pdq_filter_reserve(&h->ws, h->width, h->height);
    if (rc)
        return rc;
    pdq_filter_start(&h->ws, h->width, h->height, channels);
    return PHM_OK;
}

/* Hands core rows to the filter (or, for a 64 x 64 image, straight to
 * luma): whole blocks of 16 directly, the rest through the stage. */
static void core_rows(phm_hasher *h, const uint8_t *rows, size_t stride, size_t n)
{
    const size_t row_bytes = (size_t)h->width * h->channels;
    if (h->exact64) {
        for (size_t i = 0; i < n; i++, h->out_row++) {
            const uint8_t *r = rows + i * stride;
            float *a = h->a + (size_t)h->out_row * PDQ_DIM;
            for (size_t j = 0; j < PDQ_DIM; j++)
                a[j] = h->channels == 3 ? pdq_luma_rgb(r[3 * j], r[3 * j + 1], r[3 * j + 2])
                                        : (float)r[j];
        }
        return;
    }
    while (n > 0) {
        if (h->staged == 0 && n >= PDQ_LANES) {
            h->filter->push(&h->ws, rows, stride, PDQ_LANES);
            rows += PDQ_LANES * stride;
            n -= PDQ_LANES;
            h->out_row += PDQ_LANES;
            continue;
        }
        memcpy(h->stage + h->staged * row_bytes, rows, row_bytes);
        rows += stride;
        n--;
        h->out_row++;
        if (++h->staged == PDQ_LANES) {
            h->filter->push(&h->ws, h->stage, row_bytes, PDQ_LANES);
            h->staged = 0;
        }
    }
}

int pdq_stream_rows(phm_hasher *h, const uint8_t *rows, size_t stride, size_t n)
{
    if (!h || (!rows && n) || n > h->src_height - h->src_row)
        return PHM_ERR_INVALID;
    if (h->too_small) {
        h->src_row += (uint32_t)n;
        return PHM_OK;
    }
    if (!h->resize) {
        core_rows(h, rows, stride, n);
        h->src_row += (uint32_t)n;
        return PHM_OK;
    }
    /* Nearest neighbour: core row y takes source row floor(y * H / 512);
     * rows arrive in order, so each is used as it passes. */
    const size_t ch = h->channels;
    uint8_t tmp[CLI512_DIM * 3];
    for (size_t i = 0; i < n; i++, h->src_row++) {
        const uint8_t *src = rows + i * stride;
        while (h->out_row < CLI512_DIM &&
               (uint32_t)(((uint64_t)h->out_row * h->src_height) / CLI512_DIM) == h->src_row) {
            for (uint32_t x = 0; x < CLI512_DIM; x++)
                memcpy(tmp + x * ch, src + (size_t)h->col_src[x] * ch, ch);
            core_rows(h, tmp, sizeof tmp, 1);
        }
    }
    return PHM_OK;
}

int pdq_stream_end(phm_hasher *h, int dihedral, phm_pdq_result *out)
{
    if (!h || !out)
        return PHM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->nhashes = dihedral ? PHM_DIH_COUNT : 1;
    out->width = h->width;
    out->height = h->height;
    if (h->src_row != h->src_height)
        return PHM_ERR_INVALID; /* not all rows were given */
    if (h->too_small)
        return PHM_ERR_TOO_SMALL; /* the reference's answer: zero hash, quality 0 */
    if (!h->exact64) {
        if (h->staged) {
            const size_t row_bytes = (size_t)h->width * h->channels;
            h->filter->push(&h->ws, h->stage, row_bytes, h->staged);
            h->staged = 0;
        }
        h->filter->finish(&h->ws, h->a);
    }

    float b[PDQ_DCT_N * PDQ_DCT_N], v[PDQ_DCT_N * PDQ_DCT_N];
    out->quality = pdq_quality(h->a);
    pdq_dct(h->dct, h->a, b);
    pdq_bits(b, &out->hash[0]);
    if (dihedral) {
        for (int o = 1; o < PHM_DIH_COUNT; o++) {
            pdq_dihedral(b, o, v);
            pdq_bits(v, &out->hash[o]);
        }
    }
    return PHM_OK;
}

int phm_hash_image(phm_hasher *h, const phm_image *img, phm_mode mode,
                   int dihedral, phm_pdq_result *out)
{
    if (!h || !img || !out || !img->pixels ||
        (img->channels != 1 && img->channels != 3) ||
        img->stride < (size_t)img->width * img->channels)
        return PHM_ERR_INVALID;
    int rc = pdq_stream_begin(h, img->width, img->height, img->channels, mode);
    if (rc == PHM_OK)
        rc = pdq_stream_rows(h, img->pixels, img->stride, img->height);
    if (rc == PHM_OK)
        rc = pdq_stream_end(h, dihedral, out);
    return rc;
}
