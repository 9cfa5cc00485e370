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
