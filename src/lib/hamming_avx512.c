/* hamming_avx512.c - the linear scan for AVX-512 F/BW/VL + VPOPCNTDQ (flags
 * from the Makefile's file-name rule): eight hashes per step, VPOPCNTQ on
 * two hashes per register, then the 32 partial counts folded into eight
 * distances in registers. */
#if defined(__x86_64__) && !defined(PHM_NO_X86_SIMD)
#include <immintrin.h>

#include "hamming.h"

static inline unsigned dist_scalar(const phm_pdq *a, const phm_pdq *b)
{
    return (unsigned)(__builtin_popcountll(a->w[0] ^ b->w[0]) +
                      __builtin_popcountll(a->w[1] ^ b->w[1]) +
                      __builtin_popcountll(a->w[2] ^ b->w[2]) +
                      __builtin_popcountll(a->w[3] ^ b->w[3]));
}

static inline __m512i counts2(const phm_pdq *h, __m512i qv)
{
    __m512i x = _mm512_xor_si512(_mm512_loadu_si512((const void *)h), qv);
    return _mm512_popcnt_epi64(x);
}

/* Bits set in each 16-bit lane: nibble table lookups, then byte pairs. */
static inline __m512i popcount16(__m512i x)
{
    const __m512i lut = _mm512_broadcast_i32x4(
        _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4));
    const __m512i low = _mm512_set1_epi8(0x0f);
    __m512i c = _mm512_add_epi8(
        _mm512_shuffle_epi8(lut, _mm512_and_si512(x, low)),
        _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(x, 4), low)));
    return _mm512_add_epi16(_mm512_and_si512(c, _mm512_set1_epi16(0xff)),
                            _mm512_srli_epi16(c, 8));
}

/* 32 postings per step; passing ones are rare (about 1%), so they are
 * emitted from the mask one by one. */
size_t ham_filter_avx512(const uint16_t *p, size_t n, uint16_t q, unsigned t,
                         uint32_t first, uint32_t *out)
{
    const __m512i qv = _mm512_set1_epi16((short)q);
    const __m512i tv = _mm512_set1_epi16((short)t);
    size_t k = 0, i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512i c = popcount16(_mm512_xor_si512(_mm512_loadu_si512((const void *)&p[i]), qv));
        uint32_t m = (uint32_t)_mm512_cmple_epu16_mask(c, tv);
        while (m) {
            out[k++] = first + (uint32_t)i + (uint32_t)__builtin_ctz(m);
            m &= m - 1;
        }
    }
    if (i < n) {
        __mmask32 live = (__mmask32)((1ull << (n - i)) - 1);
        __m512i v = _mm512_maskz_loadu_epi16(live, (const void *)&p[i]);
        __m512i c = popcount16(_mm512_xor_si512(v, qv));
        uint32_t m = (uint32_t)_mm512_mask_cmple_epu16_mask(live, c, tv);
        while (m) {
            out[k++] = first + (uint32_t)i + (uint32_t)__builtin_ctz(m);
            m &= m - 1;
        }
    }
    return k;
}

size_t ham_scan_avx512(const phm_pdq *q, const phm_pdq *h, size_t n,
                       uint32_t first, int r, ham_hit *out)
{
    const __m512i qv = _mm512_broadcast_i64x4(
        _mm256_loadu_si256((const __m256i *)(const void *)q));
    const __m256i rv = _mm256_set1_epi32(r);
    /* 64-bit lanes 0,1 (first hashes) and 4,5 (second hashes). */
    const __m512i pick = _mm512_setr_epi64(0, 1, 4, 5, 0, 1, 4, 5);
    /* Distances arrive as hashes 0,2,4,6,1,3,5,7; restore the order. */
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    size_t k = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i z0 = counts2(&h[i], qv), z1 = counts2(&h[i + 2], qv);
        __m512i z2 = counts2(&h[i + 4], qv), z3 = counts2(&h[i + 6], qv);
        __m512i p = _mm512_or_si512(z0, _mm512_slli_epi64(z1, 32));
        __m512i t = _mm512_or_si512(z2, _mm512_slli_epi64(z3, 32));
        __m512i x = _mm512_add_epi64(_mm512_unpacklo_epi64(p, t),
                                     _mm512_unpackhi_epi64(p, t));
        __m512i y = _mm512_add_epi64(
            x, _mm512_shuffle_i64x2(x, x, _MM_SHUFFLE(2, 3, 0, 1)));
        __m256i d = _mm512_castsi512_si256(_mm512_permutexvar_epi64(pick, y));
        d = _mm256_permutexvar_epi32(order, d);
        __mmask8 hit = _mm256_cmple_epu32_mask(d, rv);
        if (hit) {
            uint32_t dist[8];
            _mm256_storeu_si256((__m256i *)(void *)dist, d);
            for (unsigned j = 0; j < 8; j++) {
                if (hit & (1u << j)) {
                    out[k].slot = first + (uint32_t)(i + j);
                    out[k].dist = dist[j];
                    k++;
                }
            }
        }
    }
    for (; i < n; i++) {
        unsigned d = dist_scalar(q, &h[i]);
        if (d <= (unsigned)r) {
            out[k].slot = first + (uint32_t)i;
            out[k].dist = d;
            k++;
        }
    }
    return k;
}
#endif
