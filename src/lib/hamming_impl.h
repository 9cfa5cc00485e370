/* hamming_impl.h - the scalar kernels, compiled once per instruction set:
 * the including file defines HAM_NAME(x) and HAM_POPCOUNT64(x). With
 * -mpopcnt the builtin is one instruction; the portable file uses SWAR. */
#ifndef HAM_NAME
#error "define HAM_NAME and HAM_POPCOUNT64 before including hamming_impl.h"
#endif

#include "hamming.h"

/* How many candidates ahead to prefetch when verifying. A DRAM miss takes
 * ~100 ns; 16 in flight keeps the memory system busy. */
#define HAM_PREFETCH_AHEAD 16

static inline unsigned HAM_NAME(dist)(const phm_pdq *a, const phm_pdq *b)
{
    return (unsigned)(HAM_POPCOUNT64(a->w[0] ^ b->w[0]) +
                      HAM_POPCOUNT64(a->w[1] ^ b->w[1]) +
                      HAM_POPCOUNT64(a->w[2] ^ b->w[2]) +
                      HAM_POPCOUNT64(a->w[3] ^ b->w[3]));
}

size_t HAM_NAME(verify)(const phm_pdq *q, const phm_pdq *h,
                        const uint32_t *slots, size_t n, int r, ham_hit *out)
{
    size_t k = 0;
    unsigned ur = (unsigned)r;
    size_t i = 0;
    for (; i + HAM_PREFETCH_AHEAD < n; i++) {
        __builtin_prefetch(&h[slots[i + HAM_PREFETCH_AHEAD]], 0, 3);
        unsigned d = HAM_NAME(dist)(q, &h[slots[i]]);
        out[k].slot = slots[i];
        out[k].dist = d;
        k += d <= ur;
    }
    for (; i < n; i++) {
        unsigned d = HAM_NAME(dist)(q, &h[slots[i]]);
        out[k].slot = slots[i];
        out[k].dist = d;
        k += d <= ur;
    }
    return k;
}

/* Position of the (k+1)-th one bit of x (x has more than k ones). A
 * loop, not BMI2's pdep: that is microcoded, hundreds of cycles, on AMD
 * before Zen 3. */
static inline unsigned HAM_NAME(select64)(uint64_t x, unsigned k)
{
    for (; k; k--)
        x &= x - 1;
    return (unsigned)__builtin_ctzll(x);
}

/* Walks the bucket's words once: the candidates ascend. The popcount of
 * each word is most of the work: with POPCNT one instruction, in the
 * portable build a dozen (10 % of a lone query's time at 10 M hashes). */
uint32_t HAM_NAME(decode)(const uint64_t *bits, size_t nwords, uint64_t b0,
                          const uint16_t *lows, uint32_t *cand, uint32_t c0,
                          uint32_t c1, size_t n)
{
    size_t w = (size_t)(b0 >> 6);
    if (w >= nwords)
        return c0;
    uint64_t word = bits[w] & (~(uint64_t)0 << (b0 & 63));
    uint32_t before = 0, out = c0; /* ones of the bucket before word w */
    for (uint32_t c = c0; c < c1; c++) {
        uint32_t j = cand[c];
        unsigned ones;
        while (before + (ones = HAM_POPCOUNT64(word)) <= j) {
            before += ones;
            if (++w == nwords)
                return out;
            word = bits[w];
        }
        uint64_t pos = (uint64_t)w * 64 + HAM_NAME(select64)(word, j - before);
        uint64_t slot = (pos - b0 - j) << 16 | lows[j];
        if (slot < n)
            cand[out++] = (uint32_t)slot;
    }
    return out;
}

#ifndef HAM_NO_SCALAR_FILTER
size_t HAM_NAME(filter)(const uint16_t *p, size_t n, uint16_t q, unsigned t,
                        uint32_t first, uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        out[k] = first + (uint32_t)i;
        k += HAM_POPCOUNT64((uint64_t)(uint16_t)(p[i] ^ q)) <= t;
    }
    return k;
}
#endif

#ifndef HAM_NO_SCALAR_SCAN
size_t HAM_NAME(scan)(const phm_pdq *q, const phm_pdq *h, size_t n,
                      uint32_t first, int r, ham_hit *out)
{
    size_t k = 0;
    unsigned ur = (unsigned)r;
    for (size_t i = 0; i < n; i++) {
        unsigned d = HAM_NAME(dist)(q, &h[i]);
        out[k].slot = first + (uint32_t)i;
        out[k].dist = d;
        k += d <= ur;
    }
    return k;
}
#endif
