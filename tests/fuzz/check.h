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

#endif /* FUZZ_CHECK_H */
