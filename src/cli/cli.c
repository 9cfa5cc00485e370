/* cli.c - diagnostics shared by every command (see cli.h). */
#include "cli.h"

#include <stdarg.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("phmatch: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "phmatch%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'phmatch%s%s --help'.\n", cmd ? " " : "",
            cmd ? cmd : "");
    return CLI_EXIT_USAGE;
}

void cli_put_quoted(FILE *fp, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:
            if (*c < 0x20 || *c == 0x7f)
                fprintf(fp, "\\x%02x", *c);
            else
                fputc(*c, fp);
        }
    }
}

void cli_check_simd(phm_simd requested)
{
    phm_simd level = phm_simd_resolve(requested);
    if (requested != PHM_SIMD_AUTO && level != requested)
        cli_error("warning: this CPU cannot run %s; using %s",
                  phm_simd_name(requested), phm_simd_name(level));
}
