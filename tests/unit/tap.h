/*
 * tap.h - a minimal TAP producer for the unit tests.
 *
 * Each test program prints "ok N - name" / "not ok N - name" lines and a
 * plan "1..N": first (tap_plan) when the count is known in advance, else
 * last (tap_done). tests/check.sh fails a program whose plan is missing
 * or disagrees with the lines it printed, so one that stops early (a crash,
 * an exit(0) halfway) fails even if every line it printed was "ok". A
 * failing check prints where it failed and what it saw, so the log alone
 * says what broke. Skipped checks are "ok N - # SKIP why" (tap_skip).
 */
#ifndef PHM_TAP_H
#define PHM_TAP_H

#include <stdarg.h>
#include <stdio.h>

typedef struct tap_state {
    int run;
    int failed;
    int planned; /* tap_plan's count; 0 without one */
} tap_state;

static tap_state tap_g; /* test programs are single-purpose; main owns this */

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tap_g.run++;
    if (!cond)
        tap_g.failed++;
    printf("%sok %d - ", cond ? "" : "not ", tap_g.run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond)
        printf("#   failed at %s:%d\n", file, line);
    fflush(stdout);
    return cond;
}

#define OK(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define IS_INT(got, want, ...)                                                \
    do {                                                                      \
        long long tap_got_ = (long long)(got), tap_want_ = (long long)(want); \
        if (!OK(tap_got_ == tap_want_, __VA_ARGS__))                          \
            printf("#   got %lld, want %lld\n", tap_got_, tap_want_);         \
    } while (0)
#define IS_STR(got, want, ...)                                              \
    do {                                                                    \
        const char *tap_gs_ = (got), *tap_ws_ = (want);                     \
        int tap_eq_ = tap_gs_ && tap_ws_ && strcmp(tap_gs_, tap_ws_) == 0;  \
        if (!OK(tap_eq_, __VA_ARGS__))                                      \
            printf("#   got '%s', want '%s'\n", tap_gs_ ? tap_gs_ : "(null)", \
                   tap_ws_ ? tap_ws_ : "(null)");                           \
    } while (0)

/* Declares the count of checks up front (before the first one). */
static inline void tap_plan(int n)
{
    tap_g.planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

/* A check not run, counted as skipped: "ok N - # SKIP why". */
static inline void tap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_skip(const char *fmt, ...)
{
    va_list ap;
    printf("ok %d - # SKIP ", ++tap_g.run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

#include <stdlib.h>
#include <string.h>

/* 1 when the test should take its smaller inputs: in the sanitizer build
 * (which runs ten times slower; make check runs the plain build's full
 * size beside it), unless PHM_TEST_SIZE=full; PHM_TEST_SIZE=small asks for
 * them in any build. A test shrinks only inputs whose full size reaches no
 * line or branch of src/ that the smaller one, or another test of the
 * sanitizer build's run, misses (measured with a --coverage build under
 * both sizes: README.md, "Two commands"). */
static inline int tap_small(void)
{
    const char *size = getenv("PHM_TEST_SIZE");
    if (size && strcmp(size, "small") == 0)
        return 1;
    if (size && strcmp(size, "full") == 0)
        return 0;
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#else
    return 0;
#endif
}

#ifdef PHMATCH_H
/* Whether the checks of SIMD `level` can run here: the CPU has it and
 * PHMATCH_SIMD, if set, does not cap the levels below it (so a machine
 * with AVX-512 can test what a machine without it reports). Otherwise
 * prints a SKIP line for it and returns 0. */
static inline int tap_simd(phm_simd level)
{
    const char *env = getenv("PHMATCH_SIMD");
    phm_simd cap = PHM_SIMD_AUTO;
    if (env && *env && phm_simd_parse(env, &cap) != PHM_OK)
        cap = PHM_SIMD_AUTO;
    if (phm_simd_resolve(level) != level) {
        tap_skip("%s not supported by this CPU", phm_simd_name(level));
        return 0;
    }
    if (cap != PHM_SIMD_AUTO && level > cap) {
        tap_skip("%s above PHMATCH_SIMD=%s", phm_simd_name(level), phm_simd_name(cap));
        return 0;
    }
    return 1;
}
#endif

/* The closing plan (unless tap_plan gave it) and the exit status: 1 if a
 * check failed or the count differs from the plan. */
static inline int tap_done(void)
{
    if (tap_g.planned) {
        if (tap_g.run != tap_g.planned) {
            printf("# planned %d checks, ran %d\n", tap_g.planned, tap_g.run);
            return 1;
        }
    } else {
        printf("1..%d\n", tap_g.run);
    }
    if (tap_g.failed)
        printf("# %d of %d failed\n", tap_g.failed, tap_g.run);
    return tap_g.failed ? 1 : 0;
}

#endif
