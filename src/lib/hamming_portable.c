/* hamming_portable.c - Hamming kernels in plain C for any CPU, and the
 * table that picks a kernel set for a SIMD level. */
#include "hamming.h"

#define HAM_NAME(x) ham_##x##_portable
#define HAM_POPCOUNT64(x) ham_popcount64_swar(x)
#include "hamming_impl.h"

static const ham_kernels portable = { PHM_SIMD_PORTABLE, ham_scan_portable,
                                      ham_verify_portable, ham_filter_portable,
                                      ham_decode_portable };
#if defined(__x86_64__) && !defined(PHM_NO_X86_SIMD)
static const ham_kernels avx2 = { PHM_SIMD_AVX2, ham_scan_avx2, ham_verify_avx2,
                                  ham_filter_avx2, ham_decode_avx2 };
/* AVX-512 helps the sequential scan and the posting filter; verifying
 * random candidates and decoding their slots are bound by memory latency
 * and POPCNT, where the AVX2 set's are as fast. */
static const ham_kernels avx512 = { PHM_SIMD_AVX512, ham_scan_avx512,
                                    ham_verify_avx2, ham_filter_avx512,
                                    ham_decode_avx2 };
#endif

const ham_kernels *ham_kernels_for(phm_simd level)
{
#if defined(__x86_64__) && !defined(PHM_NO_X86_SIMD)
    if (level == PHM_SIMD_AVX512)
        return &avx512;
    if (level == PHM_SIMD_AVX2)
        return &avx2;
#else
    (void)level;
#endif
    return &portable;
}
