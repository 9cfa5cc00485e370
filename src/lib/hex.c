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

/* The n bytes that the 2n hex digits s[0..2n) spell, into out; nonzero if
 * any is not a hex digit. The digits are valued by comparisons rather than
 * the table above, with no branch and no early exit, so that the compiler
 * vectorises the loop: bulk imports parse tens of millions of hashes, and
 * a table lookup per digit, chained through shifts, took about 5 times as
 * long (60 against 12 ns a PDQ hash). */
unsigned hex_bytes(const char *s, size_t n, uint8_t *out)
{
    uint8_t nib[2 * HEX_BYTES_MAX];
    unsigned bad = 0;
    if (n > HEX_BYTES_MAX)
        return 1;
    for (size_t i = 0; i < 2 * n; i++) {
        uint8_t c = (uint8_t)s[i];
        uint8_t d = (uint8_t)(c - '0'), l = (uint8_t)((c | 0x20) - 'a');
        uint8_t is_d = d < 10, is_l = l < 6; /* 'A'..'F' alone join 'a'..'f' */
        bad |= (unsigned)!(is_d | is_l);
        nib[i] = is_d ? d : (uint8_t)(l + 10);
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(nib[2 * i] << 4 | nib[2 * i + 1]);
    return bad;
}

int phm_hex_decode(const char *s, size_t len, void *out, size_t n)
{
    uint8_t *b = out;
    if (!s || !out || len != 2 * n)
        return PHM_ERR_BAD_HASH;
    for (size_t at = 0; at < n; at += HEX_BYTES_MAX) {
        size_t k = n - at < HEX_BYTES_MAX ? n - at : HEX_BYTES_MAX;
        if (hex_bytes(s + 2 * at, k, b + at))
            return PHM_ERR_BAD_HASH;
    }
    return PHM_OK;
}
