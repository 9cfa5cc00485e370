/*
 * pdq_filter_x86.h - the two steps of the streaming filter that compilers
 * do not vectorise on their own, written with AVX2 intrinsics for the
 * _avx2 and _avx512 builds: RGB deinterleave for luma, register
 * transposes fused into passes 1 and 2 so their data does not make extra
 * round trips through memory. Both only move and convert data; the arithmetic is the
 * portable code's, operation for operation (multiplies and adds, never
 * fused), so the results are identical. In the _avx512 build (__AVX512F__)
 * luma and the divisions of the sliding phases of passes 1 and 2 work on
 * 16 lanes per register instead of 8: the divisions are what those loops
 * wait for.
 */
#ifndef PHM_PDQ_FILTER_X86_H
#define PHM_PDQ_FILTER_X86_H

#include <immintrin.h>

#ifndef PDQ_X86
#error "include pdq_filter_impl.h first, with PDQ_X86 defined"
#endif

/* Byte positions of R (G, B: +1, +2) of pixels 0..15 within the three
 * 16-byte loads of 48 bytes; -1 clears the lane. */
static const int8_t shuf_rgb[3][3][16] = {
    { /* R */
      { 0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 },
      { -1, -1, -1, -1, -1, -1, 2, 5, 8, 11, 14, -1, -1, -1, -1, -1 },
      { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 4, 7, 10, 13 } },
    { /* G */
      { 1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 },
      { -1, -1, -1, -1, -1, 0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1 },
      { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 2, 5, 8, 11, 14 } },
    { /* B */
      { 2, 5, 8, 11, 14, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 },
      { -1, -1, -1, -1, -1, 1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1 },
      { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 3, 6, 9, 12, 15 } },
};

static inline __m128i channel16(__m128i a0, __m128i a1, __m128i a2, int c)
{
    __m128i r = _mm_shuffle_epi8(a0, _mm_loadu_si128((const __m128i *)shuf_rgb[c][0]));
    r = _mm_or_si128(r, _mm_shuffle_epi8(a1, _mm_loadu_si128((const __m128i *)shuf_rgb[c][1])));
    return _mm_or_si128(r, _mm_shuffle_epi8(a2, _mm_loadu_si128((const __m128i *)shuf_rgb[c][2])));
}

static inline __m256 u8x8_to_ps(__m128i v)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v));
}

/* In-register transpose of eight rows of eight floats. */
static inline void transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

#ifdef __AVX512F__
/* The low and high eight lanes of v (AVX512F alone: no DQ extract). */
static inline void split16(__m512 v, __m256 *lo, __m256 *hi)
{
    *lo = _mm512_castps512_ps256(v);
    *hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}
#endif

/* R, G and B of 16 RGB pixels (48 bytes), one byte per lane. */
static inline void rgb16(const uint8_t *p, __m128i *r, __m128i *g, __m128i *b)
{
    __m128i a0 = _mm_loadu_si128((const __m128i *)p);
    __m128i a1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i a2 = _mm_loadu_si128((const __m128i *)(p + 32));
    *r = channel16(a0, a1, a2, 0);
    *g = channel16(a0, a1, a2, 1);
    *b = channel16(a0, a1, a2, 2);
}

/* Luma of 16 RGB pixels (48 bytes) as two vectors of 8. With AVX-512 the
 * 16 are converted in one register (half the conversions, multiplies and
 * adds), with the same operations per pixel. */
static inline void luma16_rgb(const uint8_t *p, __m256 *lo, __m256 *hi)
{
    __m128i r, g, b;
    rgb16(p, &r, &g, &b);
#ifdef __AVX512F__
    const __m512 kr = _mm512_set1_ps(0.299f), kg = _mm512_set1_ps(0.587f),
                 kb = _mm512_set1_ps(0.114f);
    __m512 fr = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(r));
    __m512 fg = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(g));
    __m512 fb = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
    split16(_mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(kr, fr), _mm512_mul_ps(kg, fg)),
                          _mm512_mul_ps(kb, fb)),
            lo, hi);
#else
    const __m256 kr = _mm256_set1_ps(0.299f), kg = _mm256_set1_ps(0.587f),
                 kb = _mm256_set1_ps(0.114f);
    __m256 out[2];
    for (int h = 0; h < 2; h++) {
        __m256 fr = u8x8_to_ps(r), fg = u8x8_to_ps(g), fb = u8x8_to_ps(b);
        out[h] = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(kr, fr), _mm256_mul_ps(kg, fg)),
                               _mm256_mul_ps(kb, fb));
        r = _mm_srli_si128(r, 8);
        g = _mm_srli_si128(g, 8);
        b = _mm_srli_si128(b, 8);
    }
    *lo = out[0];
    *hi = out[1];
#endif
}

/* Writes output vector o (16 lanes) of sweep position `pos` to the rows. */
static inline void scatter16(const float *o, size_t pos, float *const rows[LANES])
{
    for (size_t l = 0; l < LANES; l++)
        rows[l][pos] = o[l];
}

/* Pass 1, fused: luma is transposed in registers straight into block_in,
 * and the sliding phase transposes its outputs in registers straight into
 * the destination rows, so neither the luma rows nor the bulk of the
 * filtered block make a round trip through memory. The growing and
 * shrinking phases are sweep16()'s own. */
static void pass1_block(pdq_filter_ws *ws, const uint8_t *base, size_t stride,
                        size_t nb, float *const out[LANES])
{
    const size_t width = ws->width;
    const uint32_t wr = ws->wr;
    float *restrict blk = ws->block_in;
    const uint8_t *src[LANES];
    size_t t = 0;

    for (size_t l = 0; l < LANES; l++)
        src[l] = base + (l < nb ? l : 0) * stride;
    if (ws->channels == 3) {
        for (; t + 16 <= width; t += 16)
            for (int half = 0; half < 2; half++) {
                __m256 lo[8], hi[8];
                for (int l = 0; l < 8; l++)
                    luma16_rgb(src[8 * half + l] + 3 * t, &lo[l], &hi[l]);
                transpose8(lo);
                transpose8(hi);
                for (int k = 0; k < 8; k++) {
                    _mm256_storeu_ps(blk + (t + (size_t)k) * LANES + 8 * half, lo[k]);
                    _mm256_storeu_ps(blk + (t + 8 + (size_t)k) * LANES + 8 * half, hi[k]);
                }
            }
    } else {
        for (; t + 8 <= width; t += 8)
            for (int half = 0; half < 2; half++) {
                __m256 v[8];
                for (int l = 0; l < 8; l++)
                    v[l] = u8x8_to_ps(
                        _mm_loadl_epi64((const __m128i *)(src[8 * half + l] + t)));
                transpose8(v);
                for (int k = 0; k < 8; k++)
                    _mm256_storeu_ps(blk + (t + (size_t)k) * LANES + 8 * half, v[k]);
            }
    }
    for (; t < width; t++)
        for (size_t l = 0; l < LANES; l++) {
            const uint8_t *p = src[l];
            blk[t * LANES + l] = ws->channels == 3
                                     ? pdq_luma_rgb(p[3 * t], p[3 * t + 1], p[3 * t + 2])
                                     : (float)p[t];
        }
    /* Lanes past nb repeat the first row; their outputs go to scratch. */

    if (wr == 1) {
        for (size_t k = 0; k < width; k++)
            scatter16(blk + k * LANES, k, out);
        return;
    }
    /* sweep16() with its sliding phase eight steps at a time, transposed
     * in registers into the rows. The other outputs (growing, shrinking,
     * the last slide steps) are staged in block_out, [t][16], and
     * scattered to the rows after. */
    const pdq_box_plan p = box_plan_for(width, wr);
    float *restrict staged = ws->block_out;
    sweep16_state st;
    sweep16_grow(&st, blk, &p, staged, NULL);
    const float *add = st.add, *sub = st.sub;
    size_t oi = st.oi;
#ifdef __AVX512F__
    /* The 16 lanes in one register: one division instead of two, and the
     * divisions are what this loop waits for. */
    __m512 s16 = _mm512_loadu_ps(st.s);
    const __m512 c16 = _mm512_set1_ps((float)st.count);
#else
    __m256 slo = _mm256_loadu_ps(st.s), shi = _mm256_loadu_ps(st.s + 8);
    const __m256 c = _mm256_set1_ps((float)st.count);
#endif
    size_t i = 0;
    for (; i + 8 <= p.slide; i += 8, oi += 8) {
        __m256 lo[8], hi[8];
        for (int k = 0; k < 8; k++, add += LANES, sub += LANES) {
#ifdef __AVX512F__
            s16 = _mm512_sub_ps(_mm512_add_ps(s16, _mm512_loadu_ps(add)), _mm512_loadu_ps(sub));
            split16(_mm512_div_ps(s16, c16), &lo[k], &hi[k]);
#else
            slo = _mm256_sub_ps(_mm256_add_ps(slo, _mm256_loadu_ps(add)), _mm256_loadu_ps(sub));
            shi = _mm256_sub_ps(_mm256_add_ps(shi, _mm256_loadu_ps(add + 8)),
                                _mm256_loadu_ps(sub + 8));
            lo[k] = _mm256_div_ps(slo, c);
            hi[k] = _mm256_div_ps(shi, c);
#endif
        }
        transpose8(lo);
        transpose8(hi);
        for (int l = 0; l < 8; l++) {
            _mm256_storeu_ps(out[l] + oi, lo[l]);
            _mm256_storeu_ps(out[8 + l] + oi, hi[l]);
        }
    }
#ifdef __AVX512F__
    _mm512_storeu_ps(st.s, s16);
#else
    _mm256_storeu_ps(st.s, slo);
    _mm256_storeu_ps(st.s + 8, shi);
#endif
    st.add = add;
    st.sub = sub;
    st.oi = oi;
    sweep16_slide(&st, p.slide - i, staged, NULL);
    sweep16_shrink(&st, &p, staged, NULL);
    for (size_t k = 0; k < p.grow; k++)
        scatter16(staged + k * LANES, k, out);
    for (size_t k = oi; k < width; k++)
        scatter16(staged + k * LANES, k, out);
}

/* Pass 2, eight sliding steps: for each run of 8 columns the running sums
 * stay in a register while rows ri..ri+7 enter and li..li+7 leave; the
 * eight output rows are transposed in registers into their lanes of
 * block3, which is the layout pass 3 sweeps. Per column the operations are
 * row_slide_emit()'s, in the same order. */
static void pass2_slide8(pdq_filter_ws *ws, const col_sweep *cs, size_t width)
{
    const float *in[8], *out[8];
    for (size_t k = 0; k < 8; k++) {
        in[k] = ws->ring + ((cs->ri + k) % ws->cap_ring) * width;
        out[k] = ws->ring + ((cs->li + k) % ws->cap_ring) * width;
    }
    float *restrict s = ws->col_sums;
    float *restrict dst = ws->block3 + cs->oi % LANES;
    const __m256 c = _mm256_set1_ps((float)cs->count);
    size_t j = 0;
#ifdef __AVX512F__
    /* Sixteen columns a step: half the divisions, which dominate. */
    const __m512 c16 = _mm512_set1_ps((float)cs->count);
    for (; j + 16 <= width; j += 16) {
        __m512 v = _mm512_loadu_ps(s + j);
        __m256 lo[8], hi[8];
        for (int k = 0; k < 8; k++) {
            v = _mm512_sub_ps(_mm512_add_ps(v, _mm512_loadu_ps(in[k] + j)),
                              _mm512_loadu_ps(out[k] + j));
            split16(_mm512_div_ps(v, c16), &lo[k], &hi[k]);
        }
        _mm512_storeu_ps(s + j, v);
        transpose8(lo);
        transpose8(hi);
        for (int m = 0; m < 8; m++) {
            _mm256_storeu_ps(dst + (j + (size_t)m) * LANES, lo[m]);
            _mm256_storeu_ps(dst + (j + 8 + (size_t)m) * LANES, hi[m]);
        }
    }
#endif
    for (; j + 8 <= width; j += 8) {
        __m256 v = _mm256_loadu_ps(s + j), r[8];
        for (int k = 0; k < 8; k++) {
            v = _mm256_sub_ps(_mm256_add_ps(v, _mm256_loadu_ps(in[k] + j)),
                              _mm256_loadu_ps(out[k] + j));
            r[k] = _mm256_div_ps(v, c);
        }
        _mm256_storeu_ps(s + j, v);
        transpose8(r);
        for (int m = 0; m < 8; m++)
            _mm256_storeu_ps(dst + (j + (size_t)m) * LANES, r[m]);
    }
    const float cc = (float)cs->count;
    for (; j < width; j++)
        for (size_t k = 0; k < 8; k++) {
            s[j] += in[k][j];
            s[j] -= out[k][j];
            dst[j * LANES + k] = s[j] / cc;
        }
}

#endif
