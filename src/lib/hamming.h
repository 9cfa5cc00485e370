/* hamming.h - Hamming-distance kernels over arrays of PDQ hashes, one set
 * per instruction-set level (hamming_portable.c, hamming_avx2.c,
 * hamming_avx512.c). Every set returns exactly the same hits in the same
 * order; tests/unit/test_search_simd.c checks that. Not installed. */
#ifndef PHM_HAMMING_H
#define PHM_HAMMING_H

#include <stddef.h>
#include <stdint.h>

#include "phmatch.h"

/* A hash within the radius: its position and its distance. */
typedef struct ham_hit {
    uint32_t slot;
    uint32_t dist;
} ham_hit;

/* Compares q with h[0..n) and appends {first + i, d} to `out` for every i
 * with d = distance(q, h[i]) <= r, in increasing i. `out` has room for n
 * hits. Returns the number appended. */
typedef size_t (*ham_scan_fn)(const phm_pdq *q, const phm_pdq *h, size_t n,
                              uint32_t first, int r, ham_hit *out);

/* Compares q with h[slots[i]] for i in 0..n and appends {slots[i], d} for
 * each d <= r, in order. Prefetches ahead: slots are random positions in a
 * large array. `out` has room for n hits. Returns the number appended. */
typedef size_t (*ham_verify_fn)(const phm_pdq *q, const phm_pdq *h,
                                const uint32_t *slots, size_t n, int r,
                                ham_hit *out);

/* The posting filter of the multi-index tables (mih.h): appends first + i
 * to `out` for every i in 0..n with popcount(p[i] ^ q) <= t, in order.
 * `out` has room for n. Returns the number appended. */
typedef size_t (*ham_filter_fn)(const uint16_t *p, size_t n, uint16_t q,
                                unsigned t, uint32_t first, uint32_t *out);

/* The slots of a multi-index bucket's candidates (mih.h's layout):
 * cand[c0..c1) are posting numbers within the bucket, ascending; posting
 * j's high part is the position of the (j+1)-th one bit of the vector
 * `bits` (nwords words) counted from bit b0, minus j, and its low part is
 * lows[j]. Writes the slots, in order, to cand[c0..), dropping any that a
 * damaged vector puts at n or beyond (and the rest once the vector ends),
 * and returns the end. */
typedef uint32_t (*ham_decode_fn)(const uint64_t *bits, size_t nwords, uint64_t b0,
                                  const uint16_t *lows, uint32_t *cand, uint32_t c0,
                                  uint32_t c1, size_t n);

typedef struct ham_kernels {
    phm_simd level;
    ham_scan_fn scan;
    ham_verify_fn verify;
    ham_filter_fn filter;
    ham_decode_fn decode;
} ham_kernels;

/* The kernels for `level` (already resolved; AUTO is treated as portable).
 * Static; never NULL. */
const ham_kernels *ham_kernels_for(phm_simd level);

size_t ham_scan_portable(const phm_pdq *q, const phm_pdq *h, size_t n,
                         uint32_t first, int r, ham_hit *out);
size_t ham_verify_portable(const phm_pdq *q, const phm_pdq *h,
                           const uint32_t *slots, size_t n, int r, ham_hit *out);
size_t ham_scan_avx2(const phm_pdq *q, const phm_pdq *h, size_t n,
                     uint32_t first, int r, ham_hit *out);
size_t ham_verify_avx2(const phm_pdq *q, const phm_pdq *h,
                       const uint32_t *slots, size_t n, int r, ham_hit *out);
uint32_t ham_decode_portable(const uint64_t *bits, size_t nwords, uint64_t b0,
                             const uint16_t *lows, uint32_t *cand, uint32_t c0,
                             uint32_t c1, size_t n);
uint32_t ham_decode_avx2(const uint64_t *bits, size_t nwords, uint64_t b0,
                         const uint16_t *lows, uint32_t *cand, uint32_t c0,
                         uint32_t c1, size_t n);
size_t ham_filter_portable(const uint16_t *p, size_t n, uint16_t q,
                           unsigned t, uint32_t first, uint32_t *out);
size_t ham_filter_avx2(const uint16_t *p, size_t n, uint16_t q, unsigned t,
                       uint32_t first, uint32_t *out);
size_t ham_filter_avx512(const uint16_t *p, size_t n, uint16_t q, unsigned t,
                         uint32_t first, uint32_t *out);
size_t ham_scan_avx512(const phm_pdq *q, const phm_pdq *h, size_t n,
                       uint32_t first, int r, ham_hit *out);

/* Population count without the POPCNT instruction (the portable build may
 * run on CPUs that lack it, where the builtin becomes a library call). */
static inline unsigned ham_popcount64_swar(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

#endif
