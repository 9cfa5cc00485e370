/* utf8.c - UTF-8 well-formedness, shared by the output formats and the
 * hash-list writers (both escape or replace what is not valid UTF-8). */
#include "utf8.h"

size_t cli_utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (len < n)
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* no overlong forms */
    else if (c == 0xed)
        hi = 0x9f; /* no surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* no overlong forms */
    else if (c == 0xf4)
        hi = 0x8f; /* nothing above U+10FFFF */
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}
