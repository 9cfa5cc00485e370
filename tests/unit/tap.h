/*
 * tap.h - a minimal TAP producer for the unit tests.
 *
 * Each test program prints "ok N - name" / "not ok N - name" lines and a
 * closing plan; tests/check.sh counts them. A failing check prints where it
 * failed and what it saw, so the log alone says what broke.
 */
#ifndef PHM_TAP_H
#define PHM_TAP_H

#include <stdarg.h>
#include <stdio.h>

typedef struct tap_state {
    int run;
    int failed;
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

static inline int tap_done(void)
{
    printf("1..%d\n", tap_g.run);
    if (tap_g.failed)
        printf("# %d of %d failed\n", tap_g.failed, tap_g.run);
    return tap_g.failed ? 1 : 0;
}

#endif
