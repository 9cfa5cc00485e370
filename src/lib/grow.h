/* grow.h - library-internal: growing an array by doubling. */
#ifndef PHM_GROW_H
#define PHM_GROW_H

#include <stdint.h>
#include <stdlib.h>

/* Makes *p (an array of *cap elements of `size` bytes, or NULL) hold at
 * least `need`, doubling from `first` (or from *cap), and keeps *p as it
 * was on failure. 0, or -1 when the size overflows or no memory. */
static inline int phm__grow(void **p, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : first;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    if (c > SIZE_MAX / size)
        return -1;
    void *n = realloc(*p, c * size);
    if (!n)
        return -1;
    *p = n;
    *cap = c;
    return 0;
}

#endif
