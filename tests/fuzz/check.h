/*
 * check.h - the fuzz targets' invariant check: a failed one names the
 * target's source and line and aborts, so that libFuzzer saves the input.
 * Include after <stdio.h> and <stdlib.h>.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s: check failed at line %d: %s\n", __FILE__,   \
                    __LINE__, #cond);                                        \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* The value of environment variable `name` when it is a positive decimal
 * number, else `dflt` (PHM_FUZZ_MAX_PIXELS and the like). Needs <stdint.h>. */
static inline uint64_t fuzz_env_u64(const char *name, uint64_t dflt)
{
    const char *env = getenv(name);
    char *end;
    if (!env || !*env)
        return dflt;
    unsigned long long v = strtoull(env, &end, 10);
    return *end == '\0' && v > 0 ? (uint64_t)v : dflt;
}

#endif /* FUZZ_CHECK_H */
