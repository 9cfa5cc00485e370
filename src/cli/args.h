/*
 * args.h - a small command-line option parser: no global state (unlike
 * getopt), messages that name the command and the option.
 *
 * Accepted forms: short options "-j 4", "-j4", bundled flags "-qL0";
 * long options "--jobs 4", "--jobs=4" (exact names, no abbreviations);
 * "--" ends the options; "-" alone is an operand. Options and operands
 * may be mixed; operands come back in order.
 */
#ifndef PHM_ARGS_H
#define PHM_ARGS_H

#include <stdint.h>

enum {
    ARGS_END = -1,    /* no more arguments */
    ARGS_ERROR = -2,  /* bad option; the message has been printed */
    ARGS_OPERAND = 0, /* an operand; *arg points to it */
};

typedef struct args_option {
    const char *name; /* long name without "--"; NULL for short-only */
    int key;          /* short option letter, or a value > 255 if long-only;
                         must be positive. 0 ends the table, or includes
                         another: */
    int has_arg;      /* nonzero: takes a value */
    const struct args_option *include; /* with key 0: the options of this
                                          table too (e.g. hashopt_options) */
} args_option;

typedef struct args_parser {
    const char *cmd;     /* command name used in messages ("hash") */
    int argc;
    char **argv;
    int next;            /* index of the next argv element */
    const char *cluster; /* rest of a "-abc" group, or NULL */
    int no_options;      /* seen "--" */
    char spelling[64];   /* the last option as typed: "--jobs", "-j" */
} args_parser;

/* Starts parsing at argv[1] (argv[0] is the command name). */
void args_init(args_parser *p, const char *cmd, int argc, char **argv);

/* Returns the key of the next option (its value, if it takes one, in
 * *arg), ARGS_OPERAND with the operand in *arg, ARGS_END, or ARGS_ERROR
 * after printing "phmatch CMD: unknown option '--x'" (or "option '--x'
 * needs a value", "option '--x' takes no value") with the usual hint. */
int args_next(args_parser *p, const args_option *opts, const char **arg);

/* The option as the user spelled it, for messages about its value:
 * "--jobs" or "-j". Valid for the option args_next() returned last. */
const char *args_spelling(const args_parser *p);

/* Parses a decimal unsigned integer in [min, max]. With `suffixes`
 * nonzero, accepts a size suffix as phm_size_parse() does: k, M, G, T
 * (powers of 1000) or Ki, Mi, Gi, Ti (powers of 1024), B optional. On
 * error prints "phmatch CMD: invalid value 'x' for OPT: reason" and
 * returns -1; returns 0 on success. */
int args_parse_u64(const args_parser *p, const char *s, uint64_t min,
                   uint64_t max, int suffixes, uint64_t *out);

/* Parses a decimal number (digits, an optional fraction: "0.5", "2") in
 * [min, max]. On error prints "phmatch CMD: invalid value 'x' for OPT:
 * reason" and returns -1; returns 0 on success. */
int args_parse_number(const args_parser *p, const char *s, double min,
                      double max, double *out);

/* Parses a duration as phm_duration_parse() does (seconds, a fraction
 * allowed, or a unit ms, s, m, h: "1.5", "500ms", "2m") into seconds in
 * [min, max]. Errors as args_parse_number(). */
int args_parse_duration(const args_parser *p, const char *s, double min,
                        double max, double *out);

#endif /* PHM_ARGS_H */
