/* cpu.c - which SIMD level this CPU and OS can run.
 *
 * Detection asks CPUID for the instruction sets and XGETBV for the register
 * state the OS saves on a context switch: a CPU with AVX-512 under an OS
 * that does not save the ZMM registers must not run AVX-512 code.
 *
 * The answer is kept after the first call: under a hypervisor every CPUID
 * traps to it (about 45 us a call measured here), and a `phmatch hash` of
 * one file asked four times. The one piece of global state in the library
 * besides the video backend's loader: written once with the same value by
 * whichever thread gets there, read with relaxed atomics. */
#include <stdatomic.h>
#include <string.h>

#include "phmatch.h"

#if defined(__x86_64__) && !defined(PHM_NO_X86_SIMD)
#include <cpuid.h>

/* XCR0 bits: SSE and AVX (YMM upper halves) state; AVX-512 opmask, ZMM0-15
 * upper halves and ZMM16-31. */
#define XCR0_AVX (0x2u | 0x4u)
#define XCR0_AVX512 (0x20u | 0x40u | 0x80u)

static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    /* xgetbv with ECX = 0; encoded as bytes so no -mxsave is needed. */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static phm_simd detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return PHM_SIMD_PORTABLE;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, popcnt = (c >> 23) & 1;
    if (!osxsave || !avx || !popcnt)
        return PHM_SIMD_PORTABLE;
    uint64_t xcr0 = read_xcr0();
    if ((xcr0 & XCR0_AVX) != XCR0_AVX)
        return PHM_SIMD_PORTABLE;
    if (__get_cpuid_max(0, NULL) < 7)
        return PHM_SIMD_PORTABLE;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned avx2 = (b >> 5) & 1, bmi2 = (b >> 8) & 1;
    if (!avx2 || !bmi2)
        return PHM_SIMD_PORTABLE;
    unsigned f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    unsigned vpopcntdq = (c >> 14) & 1;
    if (f && bw && vl && vpopcntdq && (xcr0 & XCR0_AVX512) == XCR0_AVX512)
        return PHM_SIMD_AVX512;
    return PHM_SIMD_AVX2;
}

#else

static phm_simd detect(void)
{
    return PHM_SIMD_PORTABLE;
}

#endif

phm_simd phm_simd_detect(void)
{
    /* 0 (PHM_SIMD_AUTO, never an answer): not detected yet. */
    static atomic_int known;
    int level = atomic_load_explicit(&known, memory_order_relaxed);
    if (level == 0) {
        level = (int)detect();
        atomic_store_explicit(&known, level, memory_order_relaxed);
    }
    return (phm_simd)level;
}

phm_simd phm_simd_resolve(phm_simd requested)
{
    phm_simd best = phm_simd_detect();
    switch (requested) {
    case PHM_SIMD_PORTABLE:
        return PHM_SIMD_PORTABLE;
    case PHM_SIMD_AVX2:
    case PHM_SIMD_AVX512:
        return requested < best ? requested : best;
    case PHM_SIMD_AUTO:
    default:
        return best;
    }
}

const char *phm_simd_name(phm_simd level)
{
    switch (level) {
    case PHM_SIMD_AUTO:
        return "auto";
    case PHM_SIMD_PORTABLE:
        return "portable";
    case PHM_SIMD_AVX2:
        return "avx2";
    case PHM_SIMD_AVX512:
        return "avx512";
    }
    return "unknown";
}

int phm_simd_parse(const char *name, phm_simd *out)
{
    static const phm_simd levels[] = { PHM_SIMD_AUTO, PHM_SIMD_PORTABLE,
                                       PHM_SIMD_AVX2, PHM_SIMD_AVX512 };
    if (!name || !out)
        return PHM_ERR_INVALID;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(name, phm_simd_name(levels[i])) == 0) {
            *out = levels[i];
            return PHM_OK;
        }
    }
    return PHM_ERR_INVALID;
}
