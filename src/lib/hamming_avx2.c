/* hamming_avx2.c - Hamming kernels for AVX2 + POPCNT (flags from the
 * Makefile's file-name rule). The scan counts bits four hashes at a time
 * with the vpshufb nibble table; verification of scattered candidates uses
 * POPCNT, since it waits on memory, not on arithmetic. */
#if defined(__x86_64__) && !defined(PHM_NO_X86_SIMD)
#include <immintrin.h>

#include "hamming.h"

#define HAM_NAME(x) ham_##x##_avx2
#define HAM_POPCOUNT64(x) ((unsigned)__builtin_popcountll(x))
#define HAM_NO_SCALAR_SCAN 1
#define HAM_NO_SCALAR_FILTER 1
#include "hamming_impl.h"

/* Bits set in each byte of x, as bytes. */
static inline __m256i popcount_bytes(__m256i x)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
                                         3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2,
                                         2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, low));
    __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
    return _mm256_add_epi8(lo, hi);
}

/* The lanes of x (16 postings) within t bits of the partner key q, as
 * the even bits of a 32-bit mask (a compare gives two bits a lane). */
static inline uint32_t passing(__m256i x, __m256i qv, __m256i tv)
{
    __m256i c = popcount_bytes(_mm256_xor_si256(x, qv));
    c = _mm256_add_epi16(_mm256_and_si256(c, _mm256_set1_epi16(0xff)), _mm256_srli_epi16(c, 8));
    /* lanes <= t  <=>  not (lane > t); counts are 0..16, signed compare */
    return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi16(c, tv)) & 0x55555555u;
}

/* Appends first + the lane of each of m's bits to out[k..]; the new k. */
static inline size_t put_lanes(uint32_t *out, size_t k, uint32_t first, uint32_t m)
{
    while (m) {
        out[k++] = first + (uint32_t)__builtin_ctz(m) / 2;
        m &= m - 1;
    }
    return k;
}

/* 16 postings per step. */
size_t ham_filter_avx2(const uint16_t *p, size_t n, uint16_t q, unsigned t,
                       uint32_t first, uint32_t *out)
{
    const __m256i qv = _mm256_set1_epi16((short)q), tv = _mm256_set1_epi16((short)t);
    size_t k = 0, i = 0;
    for (; i + 16 <= n; i += 16)
        k = put_lanes(out, k, first + (uint32_t)i,
                      passing(_mm256_loadu_si256((const __m256i *)(const void *)&p[i]), qv, tv));
    /* The rest (at 1 M hashes most runs are shorter than 16) in one step
     * too: a masked load of the whole 32-bit words among them, which
     * faults on nothing masked off; an odd last one alone, so that
     * nothing past p[n - 1] is read. */
    size_t rest = n - i, pairs = rest / 2;
    if (pairs) {
        const __m256i words = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)pairs), words);
        __m256i x = _mm256_maskload_epi32((const int *)(const void *)&p[i], live);
        k = put_lanes(out, k, first + (uint32_t)i,
                      passing(x, qv, tv) & (uint32_t)((1ull << (4 * pairs)) - 1));
    }
    if (rest & 1) {
        out[k] = first + (uint32_t)(n - 1);
        k += (unsigned)__builtin_popcount((uint16_t)(p[n - 1] ^ q)) <= t;
    }
    return k;
}

/* Four 64-bit partial counts of one hash's distance. */
static inline __m256i partial(const phm_pdq *h, __m256i qv)
{
    __m256i x = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)h), qv);
    return _mm256_sad_epu8(popcount_bytes(x), _mm256_setzero_si256());
}

size_t ham_scan_avx2(const phm_pdq *q, const phm_pdq *h, size_t n,
                     uint32_t first, int r, ham_hit *out)
{
    const __m256i qv = _mm256_loadu_si256((const __m256i *)(const void *)q);
    const __m128i rv = _mm_set1_epi32(r);
    size_t k = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i s0 = partial(&h[i], qv), s1 = partial(&h[i + 1], qv);
        __m256i s2 = partial(&h[i + 2], qv), s3 = partial(&h[i + 3], qv);
        /* Pack hash pairs into 32-bit halves, then add the four partial
         * sums of each: lanes end as the distances of h[i..i+3]. */
        __m256i p = _mm256_or_si256(s0, _mm256_slli_epi64(s1, 32));
        __m256i t = _mm256_or_si256(s2, _mm256_slli_epi64(s3, 32));
        __m256i x = _mm256_add_epi64(_mm256_unpacklo_epi64(p, t),
                                     _mm256_unpackhi_epi64(p, t));
        __m128i d = _mm_add_epi64(_mm256_castsi256_si128(x),
                                  _mm256_extracti128_si256(x, 1));
        int over = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(d, rv)));
        if (over != 0xf) {
            uint32_t dist[4];
            _mm_storeu_si128((__m128i *)(void *)dist, d);
            for (unsigned j = 0; j < 4; j++) {
                if (!(over & (1 << j))) {
                    out[k].slot = first + (uint32_t)(i + j);
                    out[k].dist = dist[j];
                    k++;
                }
            }
        }
    }
    for (; i < n; i++) {
        unsigned d = ham_dist_avx2(q, &h[i]);
        if (d <= (unsigned)r) {
            out[k].slot = first + (uint32_t)i;
            out[k].dist = d;
            k++;
        }
    }
    return k;
}
#endif
