/* text.c - the one policy for text that may not be UTF-8 (see phmatch.h,
 * "Text"): validation, repair with U+FFFD, and JSON string quoting. The
 * CLI's output, the hash-list writers and phmatchd's answers all go
 * through here, so a hostile byte is treated the same way everywhere. */
#include "phmatch.h"

#include <string.h>

size_t phm_utf8_seq(const void *data, size_t len)
{
    const unsigned char *s = data;
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;

    if (len == 0)
        return 0;
    unsigned char c = s[0];
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

int phm_utf8_valid(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    while (i < len) {
        size_t n = phm_utf8_seq(p + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* Appends n bytes to out[0..cap) at *pos if they fit; *pos always advances,
 * so the caller learns the length needed, as with snprintf. */
static void put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (*pos < cap && n <= cap - *pos)
        memcpy(out + *pos, s, n);
    else if (*pos < cap)
        memcpy(out + *pos, s, cap - *pos);
    *pos += n;
}

static const char replacement[3] = { (char)0xef, (char)0xbf, (char)0xbd };

static size_t terminate(char *out, size_t cap, size_t pos)
{
    if (cap > 0)
        out[pos < cap ? pos : cap - 1] = '\0';
    return pos;
}

size_t phm_utf8_repair(const void *data, size_t len, char *out, size_t cap)
{
    const unsigned char *p = data;
    size_t pos = 0, i = 0;
    while (i < len) {
        size_t n = phm_utf8_seq(p + i, len - i);
        if (n == 0) {
            put(out, cap, &pos, replacement, sizeof replacement);
            i++;
        } else {
            put(out, cap, &pos, (const char *)p + i, n);
            i += n;
        }
    }
    return terminate(out, cap, pos);
}

size_t phm_json_quote(const void *data, size_t len, char *out, size_t cap)
{
    const unsigned char *p = data;
    size_t pos = 0, i = 0;
    char esc[8];

    put(out, cap, &pos, "\"", 1);
    while (i < len) {
        /* A run of printable ASCII but '"' and '\\' (most of an id, a
         * source, a path) is copied as it is, with one put. */
        size_t run = 0;
        while (i + run < len && p[i + run] >= 0x20 && p[i + run] < 0x7f &&
               p[i + run] != '"' && p[i + run] != '\\')
            run++;
        if (run) {
            put(out, cap, &pos, (const char *)p + i, run);
            i += run;
            continue;
        }
        unsigned char c = p[i];
        size_t n = phm_utf8_seq(p + i, len - i);
        if (n == 0) { /* not UTF-8: one replacement character per byte */
            put(out, cap, &pos, "\\ufffd", 6);
            i++;
            continue;
        }
        /* U+2028 and U+2029 are valid JSON but end a line in JavaScript. */
        if (n == 3 && c == 0xe2 && p[i + 1] == 0x80 &&
            (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
            put(out, cap, &pos, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            i += 3;
            continue;
        }
        if (n > 1) {
            put(out, cap, &pos, (const char *)p + i, n);
            i += n;
            continue;
        }
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        default: break;
        }
        if (e) {
            put(out, cap, &pos, e, 2);
        } else { /* the run above took every other one-byte character */
            static const char hex[] = "0123456789abcdef";
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            put(out, cap, &pos, esc, 6);
        }
        i++;
    }
    put(out, cap, &pos, "\"", 1);
    return terminate(out, cap, pos);
}

int phm_json_fwrite(FILE *fp, const void *data, size_t len)
{
    /* Quoted in pieces, so memory stays bounded whatever the length. */
    const unsigned char *p = data;
    char buf[6 * 256 + 8];
    size_t i = 0;

    if (putc('"', fp) == EOF)
        return PHM_ERR_UNREADABLE;
    while (i < len) {
        size_t n = len - i < 256 ? len - i : 256;
        /* Never cut a UTF-8 sequence between two pieces: a sequence has at
         * most 3 continuation bytes, so its lead is within 3 of the cut. A
         * longer run of continuations belongs to no sequence: cut anywhere. */
        if (n < len - i) {
            size_t k = n;
            while (k > n - 3 && (p[i + k] & 0xc0) == 0x80)
                k--;
            if ((p[i + k] & 0xc0) != 0x80)
                n = k;
        }
        size_t q = phm_json_quote(p + i, n, buf, sizeof buf);
        if (fwrite(buf + 1, 1, q - 2, fp) != q - 2)
            return PHM_ERR_UNREADABLE;
        i += n;
    }
    if (putc('"', fp) == EOF)
        return PHM_ERR_UNREADABLE;
    return PHM_OK;
}
