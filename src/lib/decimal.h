/* decimal.h - library-internal: an unsigned number in decimal, without
 * snprintf's format parsing (it runs once per entry in bulk imports: a
 * list's line-number ids, an index's numeric ids decoded). */
#ifndef PHM_DECIMAL_H
#define PHM_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* Writes v in decimal and a NUL at out (at least 21 bytes); returns the
 * number of digits. */
static inline size_t phm__u64_dec(char *out, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = d[n - 1 - i];
    out[n] = '\0';
    return n;
}

#endif
