/* hex.c - hexadecimal digits, for PDQ hashes and exact digests alike (see
 * phmatch.h): one table, used by the library, the tool and the service. */
#include "pdq_internal.h"
#include "phmatch.h"

/* 1 + the value of each hex digit, 0 for anything else. A table rather
 * than comparisons: random hashes mix digits and letters, which
 * mispredicts the branches, and bulk imports parse millions of hashes. */
static const uint8_t hex_plus1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

const char phm_hex_digits[16] = "0123456789abcdef";

int phm_hex_value(int c)
{
    return (int)hex_plus1[(unsigned char)c] - 1;
}

void phm_hex_encode(const void *in, size_t n, char *out)
{
    const uint8_t *b = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = phm_hex_digits[b[i] >> 4];
        out[2 * i + 1] = phm_hex_digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int phm_hex_decode(const char *s, size_t len, void *out, size_t n)
{
    uint8_t *b = out;
    if (!s || !out || len != 2 * n)
        return PHM_ERR_BAD_HASH;
    for (size_t i = 0; i < n; i++) {
        int hi = phm_hex_value(s[2 * i]), lo = phm_hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return PHM_ERR_BAD_HASH;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    return PHM_OK;
}

uint64_t hex_u64(const char *s, unsigned *bad)
{
    uint64_t v = 0;
    unsigned zero = 0;
    /* no branch per digit: a non-digit is noted in `zero` */
    for (int i = 0; i < 16; i++) {
        unsigned d = hex_plus1[(unsigned char)s[i]];
        zero |= d == 0;
        v = v << 4 | (uint64_t)((d - 1) & 15);
    }
    *bad |= zero;
    return v;
}
