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
    pdq_filter_fn filter;
    pdq_filter_ws ws;
    uint8_t *resized;      /* cli512 mode: 512 x 512 x 3 */
    float dct[PDQ_DCT_N * PDQ_DIM];
    float a[PDQ_DIM * PDQ_DIM];
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
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;
    /* Words 3..0, most significant nibble first: the reference prints its
     * 16-bit words 15..0, and w[3] holds words 15..12. */
    for (int w = 3; w >= 0; w--)
        for (int shift = 60; shift >= 0; shift -= 4)
            out[o++] = digits[(h->w[w] >> shift) & 0xf];
    out[o] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int phm_pdq_from_hex(const char *hex, size_t len, phm_pdq *out)
{
    phm_pdq h = { { 0, 0, 0, 0 } };
    if (!hex || !out || len != PHM_PDQ_HEX_LEN)
        return PHM_ERR_BAD_HASH;
    for (size_t i = 0; i < PHM_PDQ_HEX_LEN; i++) {
        int v = hex_value(hex[i]);
        if (v < 0)
            return PHM_ERR_BAD_HASH;
        size_t word = 3 - i / 16;
        h.w[word] = (h.w[word] << 4) | (uint64_t)v;
    }
    *out = h;
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

static int float_cmp(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

float pdq_lower_median(const float b[PDQ_DCT_N * PDQ_DCT_N])
{
    float s[PDQ_DCT_N * PDQ_DCT_N];
    memcpy(s, b, sizeof s);
    qsort(s, PDQ_DCT_N * PDQ_DCT_N, sizeof s[0], float_cmp);
    return s[PDQ_DCT_N * PDQ_DCT_N / 2 - 1];
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

static pdq_filter_fn filter_for(phm_simd level)
{
#if defined(__x86_64__) && !defined(PHM_NO_X86_SIMD)
    if (level == PHM_SIMD_AVX512)
        return pdq_filter_avx512;
    if (level == PHM_SIMD_AVX2)
        return pdq_filter_avx2;
#else
    (void)level;
#endif
    return pdq_filter_portable;
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
    pdq_filter_release(&h->ws);
    free(h->resized);
    free(h);
}

phm_simd phm_hasher_simd(const phm_hasher *h)
{
    return h ? h->simd : PHM_SIMD_PORTABLE;
}

/* Step 2: the reference CLI's nearest-neighbour resize to 512 x 512. */
static int resize_cli512(phm_hasher *h, const phm_image *img, phm_image *out)
{
    const size_t ch = img->channels;
    if (!h->resized) {
        h->resized = malloc((size_t)CLI512_DIM * CLI512_DIM * 3);
        if (!h->resized)
            return PHM_ERR_NOMEM;
    }
    uint32_t src_x[CLI512_DIM];
    for (uint32_t x = 0; x < CLI512_DIM; x++)
        src_x[x] = (uint32_t)(((uint64_t)x * img->width) / CLI512_DIM);
    for (uint32_t y = 0; y < CLI512_DIM; y++) {
        const uint8_t *row =
            img->pixels + (size_t)(((uint64_t)y * img->height) / CLI512_DIM) * img->stride;
        uint8_t *dst = h->resized + (size_t)y * CLI512_DIM * ch;
        for (uint32_t x = 0; x < CLI512_DIM; x++)
            memcpy(dst + x * ch, row + src_x[x] * ch, ch);
    }
    *out = *img;
    out->pixels = h->resized;
    out->width = out->height = CLI512_DIM;
    out->stride = (size_t)CLI512_DIM * ch;
    return PHM_OK;
}

/* Step 1 only: an image of exactly 64 x 64 is its own decimation. */
static void luma_64(const phm_image *img, float *a)
{
    for (size_t i = 0; i < PDQ_DIM; i++) {
        const uint8_t *row = img->pixels + i * img->stride;
        for (size_t j = 0; j < PDQ_DIM; j++)
            a[i * PDQ_DIM + j] = img->channels == 3
                                     ? pdq_luma_rgb(row[3 * j], row[3 * j + 1], row[3 * j + 2])
                                     : (float)row[j];
    }
}

int phm_hash_image(phm_hasher *h, const phm_image *img, phm_mode mode,
                   int dihedral, phm_pdq_result *out)
{
    if (!h || !img || !out || !img->pixels ||
        (img->channels != 1 && img->channels != 3) ||
        img->stride < (size_t)img->width * img->channels)
        return PHM_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->nhashes = dihedral ? PHM_DIH_COUNT : 1;

    phm_image src = *img;
    if (mode == PHM_MODE_CLI512 && (img->width > CLI512_DIM || img->height > CLI512_DIM)) {
        int rc = resize_cli512(h, img, &src);
        if (rc)
            return rc;
    }
    out->width = src.width;
    out->height = src.height;
    if (src.width < PDQ_MIN_DIM || src.height < PDQ_MIN_DIM)
        return PHM_ERR_TOO_SMALL; /* the reference's answer: zero hash, quality 0 */

    if (src.width == PDQ_DIM && src.height == PDQ_DIM) {
        luma_64(&src, h->a);
    } else {
        int rc = pdq_filter_reserve(&h->ws, src.width, src.height);
        if (rc)
            return rc;
        h->filter(&h->ws, &src, h->a);
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
