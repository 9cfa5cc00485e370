/* test_text.c - the one policy for text that is not UTF-8 (phmatch.h,
 * "Text"): sequence lengths at every boundary of RFC 3629, repair and JSON
 * quoting, truncation as snprintf does it, and the streamed writer against
 * the buffer one on long input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"

static void test_seq(void)
{
    static const struct {
        const char *s;
        size_t len, want;
    } t[] = {
        { "a", 1, 1 },
        { "\x7f", 1, 1 },
        { "\x80", 1, 0 },            /* lone continuation */
        { "\xc1\xbf", 2, 0 },        /* overlong */
        { "\xc2\x80", 2, 2 },
        { "\xc2", 1, 0 },            /* cut short */
        { "\xe0\x9f\xbf", 3, 0 },    /* overlong */
        { "\xe0\xa0\x80", 3, 3 },
        { "\xed\x9f\xbf", 3, 3 },
        { "\xed\xa0\x80", 3, 0 },    /* surrogate */
        { "\xef\xbf\xbf", 3, 3 },
        { "\xf0\x8f\xbf\xbf", 4, 0 }, /* overlong */
        { "\xf0\x90\x80\x80", 4, 4 },
        { "\xf4\x8f\xbf\xbf", 4, 4 }, /* U+10FFFF */
        { "\xf4\x90\x80\x80", 4, 0 }, /* above U+10FFFF */
        { "\xf5\x80\x80\x80", 4, 0 },
        { "\xe2\x82", 2, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        IS_INT(phm_utf8_seq(t[i].s, t[i].len), t[i].want, "utf8_seq case %zu", i);
    IS_INT(phm_utf8_seq("", 0), 0, "utf8_seq of nothing");
    OK(phm_utf8_valid("", 0), "empty text is UTF-8");
    OK(phm_utf8_valid("caf\xc3\xa9 \xe2\x80\xa8", 9), "valid text");
    OK(!phm_utf8_valid("caf\xe9", 4), "latin-1 is not UTF-8");
}

static void test_repair(void)
{
    char out[64];
    IS_INT(phm_utf8_repair("a\xffz", 3, out, sizeof out), 5, "repair length");
    IS_STR(out, "a\xef\xbf\xbdz", "one U+FFFD per bad byte");
    phm_utf8_repair("\xe2\x82\xac", 3, out, sizeof out);
    IS_STR(out, "\xe2\x82\xac", "valid text unchanged");
    IS_INT(phm_utf8_repair("abcdef", 6, out, 4), 6, "truncated: full length returned");
    IS_STR(out, "abc", "truncated to cap");
    OK(phm_utf8_valid(out, strlen(out)), "repaired text is valid");
}

static void test_quote(void)
{
    char out[128];
    size_t n = phm_json_quote("a\"b\\c\n\t\x01\x7f", 9, out, sizeof out);
    IS_STR(out, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\"", "escapes");
    IS_INT(n, strlen(out), "length returned");
    phm_json_quote("\xe2\x80\xa8\xe2\x80\xa9", 6, out, sizeof out);
    IS_STR(out, "\"\\u2028\\u2029\"", "U+2028/9 escaped");
    phm_json_quote("\xff\xc3\xa9", 3, out, sizeof out);
    IS_STR(out, "\"\\ufffd\xc3\xa9\"", "bad byte replaced, UTF-8 kept");
    IS_INT(phm_json_quote("\x01", 1, out, 3), 8, "truncated quote returns full length");
    IS_INT(strlen(out), 2, "truncated quote fits cap");
}

/* Runs of plain ASCII (copied whole) between escapes, UTF-8, U+2028 and
 * bytes that are not UTF-8; cut at every cap, the result is the whole
 * one's first cap - 1 bytes, as snprintf cuts, and the length the
 * whole one's. */
static void test_quote_runs(void)
{
    static const char in[] = "id-12 \"q\" a\\b/c\tx\xc3\xa9plain text\xe2\x80\xa8"
                             "\xff" "end~ \x7f";
    static const char want[] = "\"id-12 \\\"q\\\" a\\\\b/c\\tx\xc3\xa9plain text"
                               "\\u2028\\ufffdend~ \\u007f\"";
    char out[128], cut[128];
    size_t len = sizeof in - 1, full = sizeof want - 1;
    IS_INT(phm_json_quote(in, len, out, sizeof out), full, "runs: length");
    IS_STR(out, want, "runs: ASCII runs between escapes and UTF-8");
    int same = 1;
    for (size_t cap = 0; cap <= full + 1; cap++) {
        memset(cut, 'X', sizeof cut);
        size_t n = phm_json_quote(in, len, cap ? cut : NULL, cap);
        size_t keep = cap ? (cap - 1 < full ? cap - 1 : full) : 0;
        if (n != full || (cap && (memcmp(cut, want, keep) != 0 || cut[keep] != '\0')) ||
            (cap && cut[cap] != 'X'))
            same = 0;
    }
    OK(same, "runs: cut at every cap as snprintf cuts");
}

/* The streamed writer cuts its input in pieces: the result must be the one
 * phm_json_quote gives for the whole, wherever sequences fall. */
static void test_fwrite(void)
{
    size_t len = 5000;
    unsigned char *in = malloc(len);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < len; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        /* mostly multi-byte sequences, some broken */
        static const unsigned char pick[] = { 'a', 0xe2, 0x82, 0xac, 0xf0, 0x9f,
                                              0x98, 0x80, 0xc3, 0xa9, '"', 0xff };
        in[i] = pick[s % sizeof pick];
    }
    size_t cap = 6 * len + 3;
    char *want = malloc(cap);
    phm_json_quote(in, len, want, cap);
    char *got = NULL;
    size_t gotlen = 0;
    FILE *fp = open_memstream(&got, &gotlen);
    IS_INT(phm_json_fwrite(fp, in, len), PHM_OK, "fwrite status");
    fclose(fp);
    OK(gotlen == strlen(want) && memcmp(got, want, gotlen) == 0,
       "streamed writer equals buffer quote (%zu bytes)", gotlen);
    free(in);
    free(want);
    free(got);
}

int main(void)
{
    test_seq();
    test_repair();
    test_quote();
    test_quote_runs();
    test_fwrite();
    return tap_done();
}
