/* units.c - sizes ("32MiB") and durations ("1.5s") as phmatch's options
 * and phmatchd's settings write them: one meaning for both programs (see
 * phmatch.h, "Sizes and durations"). */
#include "phmatch.h"

#include <string.h>

/* Reads the decimal digits at *s into *v; returns how many there were,
 * or -1 on overflow. */
static int read_digits(const char **s, uint64_t *v)
{
    int n = 0;
    uint64_t x = 0;

    for (; **s >= '0' && **s <= '9'; (*s)++, n++) {
        if (__builtin_mul_overflow(x, 10u, &x) ||
            __builtin_add_overflow(x, (uint64_t)(**s - '0'), &x))
            return -1;
    }
    *v = x;
    return n;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int phm_size_parse(const char *text, uint64_t *out)
{
    static const char prefixes[] = "kmgt";
    const char *s = text;
    uint64_t v, mult = 1;
    int n;

    if (!text || !out)
        return PHM_ERR_INVALID;
    n = read_digits(&s, &v);
    if (n < 0)
        return PHM_ERR_TOO_LARGE;
    if (n == 0)
        return PHM_ERR_INVALID;
    if (*s && *s != 'b' && *s != 'B') {
        const char *p = strchr(prefixes, lower((unsigned char)*s));
        if (!p || !*p)
            return PHM_ERR_INVALID;
        s++;
        uint64_t base = 1000;
        if (*s == 'i' || *s == 'I') {
            base = 1024;
            s++;
        }
        for (long i = 0; i <= p - prefixes; i++)
            mult *= base;
    }
    if (*s == 'b' || *s == 'B')
        s++;
    if (*s)
        return PHM_ERR_INVALID;
    if (__builtin_mul_overflow(v, mult, &v))
        return PHM_ERR_TOO_LARGE;
    *out = v;
    return PHM_OK;
}

int phm_duration_parse(const char *text, uint64_t *out)
{
    const char *s = text;
    uint64_t whole, frac = 0, unit, scale = 1, v, part;
    int n, nfrac = 0;

    if (!text || !out)
        return PHM_ERR_INVALID;
    n = read_digits(&s, &whole);
    if (n < 0)
        return PHM_ERR_TOO_LARGE;
    if (n == 0)
        return PHM_ERR_INVALID;
    if (*s == '.') {
        s++;
        const char *f = s;
        while (*s >= '0' && *s <= '9')
            s++;
        nfrac = (int)(s - f);
        if (nfrac < 1)
            return PHM_ERR_INVALID;
        if (nfrac > 9)
            nfrac = 9; /* below a nanosecond: dropped */
        for (int i = 0; i < nfrac; i++) {
            frac = frac * 10 + (uint64_t)(f[i] - '0');
            scale *= 10;
        }
    }
    if (!*s || strcmp(s, "s") == 0)
        unit = UINT64_C(1000000000);
    else if (strcmp(s, "ms") == 0)
        unit = UINT64_C(1000000);
    else if (strcmp(s, "m") == 0)
        unit = UINT64_C(60000000000);
    else if (strcmp(s, "h") == 0)
        unit = UINT64_C(3600000000000);
    else
        return PHM_ERR_INVALID;
    /* scale divides every unit but ms (with more than 6 fraction digits),
     * and then frac * unit < 10^9 * 10^6 fits: no overflow either way. */
    part = unit % scale == 0 ? frac * (unit / scale) : frac * unit / scale;
    if (__builtin_mul_overflow(whole, unit, &v) || __builtin_add_overflow(v, part, &v))
        return PHM_ERR_TOO_LARGE;
    *out = v;
    return PHM_OK;
}
