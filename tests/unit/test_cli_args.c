/*
 * test_cli_args.c - phmatch's option parser (src/cli/args.c): short,
 * long, bundled and "--" forms, values, size and duration suffixes, and
 * the messages of every error. args.c and cli.c are compiled in here
 * (they are the CLI's, not the library's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/cli/args.c"
#include "../../src/cli/cli.c"
#include "tap.h"

enum { OPT_JOBS = 'j', OPT_QUIET = 'q', OPT_LIST = 'L', OPT_ZERO = '0', OPT_FORMAT = 'f',
       OPT_MAX_SIZE = 300, OPT_EVERY };

static const args_option shared[] = {
    { "max-size", OPT_MAX_SIZE, 1, NULL },
    { "every", OPT_EVERY, 1, NULL },
    { NULL, 0, 0, NULL },
};
static const args_option opts[] = {
    { "jobs", OPT_JOBS, 1, NULL },
    { "quiet", OPT_QUIET, 0, NULL },
    { "follow", OPT_LIST, 0, NULL },
    { NULL, OPT_ZERO, 0, NULL },
    { "format", OPT_FORMAT, 1, NULL },
    { NULL, 0, 0, shared },
    { NULL, 0, 0, NULL },
};

/* Standard error of the calls between capture_begin and capture_end. */
static int saved_fd = -1;
static FILE *cap;
static char captured[1024];

static void capture_begin(void)
{
    fflush(stderr);
    cap = tmpfile();
    saved_fd = dup(2);
    dup2(fileno(cap), 2);
}

static const char *capture_end(void)
{
    size_t n;
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    rewind(cap);
    n = fread(captured, 1, sizeof captured - 1, cap);
    captured[n] = '\0';
    fclose(cap);
    return captured;
}

/* Parses argv (NULL-terminated, argv[0] the command) into "k=v k op=x"
 * words, or the error message. */
static const char *parse(char **argv, char *out, size_t outlen)
{
    args_parser p;
    const char *arg;
    int argc = 0, k;
    size_t used = 0;

    while (argv[argc])
        argc++;
    out[0] = '\0';
    args_init(&p, "test", argc, argv);
    capture_begin();
    while ((k = args_next(&p, opts, &arg)) != ARGS_END) {
        if (k == ARGS_ERROR) {
            snprintf(out, outlen, "error: %s", capture_end());
            return out;
        }
        int w = k == ARGS_OPERAND ? snprintf(out + used, outlen - used, "%sop=%s",
                                             used ? " " : "", arg)
                : k < 256 && (k == 'j' || k == 'f')
                    ? snprintf(out + used, outlen - used, "%s%c=%s", used ? " " : "", k, arg)
                : k < 256 ? snprintf(out + used, outlen - used, "%s%c", used ? " " : "", k)
                          : snprintf(out + used, outlen - used, "%s%d=%s", used ? " " : "", k,
                                     arg);
        used += (size_t)w;
    }
    capture_end();
    return out;
}

#define PARSE(...) parse((char *[]){ "test", __VA_ARGS__, NULL }, buf, sizeof buf)

static void test_forms(void)
{
    char buf[1024];

    IS_STR(PARSE("-j", "4", "a"), "j=4 op=a", "short option, separate value");
    IS_STR(PARSE("-j4"), "j=4", "short option, attached value");
    IS_STR(PARSE("-qL0"), "q L 0", "bundled flags");
    IS_STR(PARSE("-qj8"), "q j=8", "bundled flags ending in one with a value");
    IS_STR(PARSE("--jobs", "2"), "j=2", "long option, separate value");
    IS_STR(PARSE("--jobs=2"), "j=2", "long option, attached value");
    IS_STR(PARSE("--jobs="), "j=", "long option, empty attached value");
    IS_STR(PARSE("--max-size", "1k"), "300=1k", "an option of an included table");
    IS_STR(PARSE("a", "-q", "b"), "op=a q op=b", "options and operands mixed, in order");
    IS_STR(PARSE("--", "-q", "--jobs"), "op=-q op=--jobs", "'--' ends the options");
    IS_STR(PARSE("-", "x"), "op=- op=x", "'-' alone is an operand");
    IS_STR(PARSE("-j", "-q"), "j=-q", "a value may start with '-'");
    IS_STR(PARSE("--jobs", "--quiet"), "j=--quiet", "... also after a long option");
}

static void test_errors(void)
{
    char buf[1024];

    IS_STR(PARSE("--nope"), "error: phmatch test: unknown option '--nope'\n"
                            "Try 'phmatch test --help'.\n", "unknown long option");
    IS_STR(PARSE("-x"), "error: phmatch test: unknown option '-x'\n"
                        "Try 'phmatch test --help'.\n", "unknown short option");
    IS_STR(PARSE("--job", "2"), "error: phmatch test: unknown option '--job'\n"
                                "Try 'phmatch test --help'.\n", "no abbreviations");
    IS_STR(PARSE("--jobs"), "error: phmatch test: option '--jobs' needs a value\n"
                            "Try 'phmatch test --help'.\n", "long option without its value");
    IS_STR(PARSE("-q", "-j"), "error: phmatch test: option '-j' needs a value\n"
                              "Try 'phmatch test --help'.\n", "short option without its value");
    IS_STR(PARSE("--quiet=yes"), "error: phmatch test: option '--quiet' takes no value\n"
                                 "Try 'phmatch test --help'.\n", "a flag given a value");
    IS_STR(PARSE("-\x01"), "error: phmatch test: unknown option '-\\x01'\n"
                           "Try 'phmatch test --help'.\n", "a control character, escaped");
    IS_STR(PARSE("-q-"), "error: phmatch test: unknown option '--'\n"
                         "Try 'phmatch test --help'.\n", "a punctuation letter in a bundle");
}

/* One value through args_parse_u64 / args_parse_duration: "=N" or the
 * message. */
static const char *u64(const char *s, uint64_t min, uint64_t max, int suffixes, char *out,
                       size_t outlen)
{
    args_parser p;
    uint64_t v = 0;
    char *argv[] = { "test", NULL };
    args_init(&p, "test", 1, argv);
    snprintf(p.spelling, sizeof p.spelling, "--n");
    capture_begin();
    int rc = args_parse_u64(&p, s, min, max, suffixes, &v);
    const char *msg = capture_end();
    if (rc == 0)
        snprintf(out, outlen, "=%llu", (unsigned long long)v);
    else
        snprintf(out, outlen, "%.*s", (int)strcspn(msg, "\n"), msg);
    return out;
}

static const char *dur(const char *s, double min, double max, char *out, size_t outlen)
{
    args_parser p;
    double v = 0;
    char *argv[] = { "test", NULL };
    args_init(&p, "test", 1, argv);
    snprintf(p.spelling, sizeof p.spelling, "--t");
    capture_begin();
    int rc = args_parse_duration(&p, s, min, max, &v);
    const char *msg = capture_end();
    if (rc == 0)
        snprintf(out, outlen, "=%g", v);
    else
        snprintf(out, outlen, "%.*s", (int)strcspn(msg, "\n"), msg);
    return out;
}

static void test_values(void)
{
    char b[512];

    IS_STR(u64("42", 0, 100, 0, b, sizeof b), "=42", "integer");
    IS_STR(u64("0", 0, 100, 0, b, sizeof b), "=0", "zero");
    IS_STR(u64("101", 0, 100, 0, b, sizeof b),
           "phmatch test: invalid value '101' for --n: must be 0..100", "above the maximum");
    IS_STR(u64("4", 5, 100, 0, b, sizeof b),
           "phmatch test: invalid value '4' for --n: must be 5..100", "below the minimum");
    IS_STR(u64("", 0, 100, 0, b, sizeof b),
           "phmatch test: invalid value '' for --n: not a number", "empty");
    IS_STR(u64("-1", 0, 100, 0, b, sizeof b),
           "phmatch test: invalid value '-1' for --n: not a number", "a sign");
    IS_STR(u64(" 1", 0, 100, 0, b, sizeof b),
           "phmatch test: invalid value ' 1' for --n: not a number", "a space");
    IS_STR(u64("5k", 0, 100000, 0, b, sizeof b),
           "phmatch test: invalid value '5k' for --n: not a number",
           "no suffix where none is allowed");
    IS_STR(u64("18446744073709551615", 0, UINT64_MAX, 0, b, sizeof b),
           "=18446744073709551615", "2^64-1");
    IS_STR(u64("18446744073709551616", 0, UINT64_MAX, 0, b, sizeof b),
           "phmatch test: invalid value '18446744073709551616' for --n: too large",
           "2^64 is too large");
    IS_STR(u64("5k", 0, UINT64_MAX, 1, b, sizeof b), "=5000", "k is 1000");
    IS_STR(u64("5K", 0, UINT64_MAX, 1, b, sizeof b), "=5000", "K is 1000");
    IS_STR(u64("3M", 0, UINT64_MAX, 1, b, sizeof b), "=3000000", "M is 10^6");
    IS_STR(u64("2G", 0, UINT64_MAX, 1, b, sizeof b), "=2000000000", "G is 10^9");
    IS_STR(u64("1T", 0, UINT64_MAX, 1, b, sizeof b), "=1000000000000", "T is 10^12");
    IS_STR(u64("5Ki", 0, UINT64_MAX, 1, b, sizeof b), "=5120", "Ki is 1024");
    IS_STR(u64("3MiB", 0, UINT64_MAX, 1, b, sizeof b), "=3145728", "MiB is 2^20");
    IS_STR(u64("1Gi", 0, UINT64_MAX, 1, b, sizeof b), "=1073741824", "Gi is 2^30");
    IS_STR(u64("1TiB", 0, UINT64_MAX, 1, b, sizeof b), "=1099511627776", "TiB is 2^40");
    IS_STR(u64("64B", 0, UINT64_MAX, 1, b, sizeof b), "=64", "B is bytes");
    IS_STR(u64("16EiB", 0, UINT64_MAX, 1, b, sizeof b),
           "phmatch test: invalid value '16EiB' for --n: expected a number with an optional "
           "k, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti (powers of 1024) suffix",
           "unknown suffix");
    IS_STR(u64("1.5M", 0, UINT64_MAX, 1, b, sizeof b),
           "phmatch test: invalid value '1.5M' for --n: expected a number with an optional "
           "k, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti (powers of 1024) suffix",
           "no fractions");
    IS_STR(u64("20000000T", 0, UINT64_MAX, 1, b, sizeof b),
           "phmatch test: invalid value '20000000T' for --n: too large",
           "overflow after the suffix");
    IS_STR(u64("2k", 0, 1999, 1, b, sizeof b),
           "phmatch test: invalid value '2k' for --n: must be 0..1999",
           "range checked after the suffix");

    IS_STR(dur("1.5", 0, 100, b, sizeof b), "=1.5", "duration: plain seconds");
    IS_STR(dur("500ms", 0, 100, b, sizeof b), "=0.5", "duration: ms");
    IS_STR(dur("2m", 0, 1000, b, sizeof b), "=120", "duration: m is minutes");
    IS_STR(dur("1h", 0, 1e9, b, sizeof b), "=3600", "duration: h");
    IS_STR(dur("0", 0, 100, b, sizeof b), "=0", "duration: zero");
    IS_STR(dur("2h", 0, 3600, b, sizeof b),
           "phmatch test: invalid value '2h' for --t: must be 0..3600 seconds",
           "duration: above the maximum");
    IS_STR(dur("1d", 0, 3600, b, sizeof b),
           "phmatch test: invalid value '1d' for --t: expected seconds, or a number with a "
           "unit ms, s, m or h",
           "duration: unknown unit");
    IS_STR(dur(".5", 0, 3600, b, sizeof b),
           "phmatch test: invalid value '.5' for --t: expected seconds, or a number with a "
           "unit ms, s, m or h",
           "duration: a digit before the point");
}

int main(void)
{
    test_forms();
    test_errors();
    test_values();
    return tap_done();
}
