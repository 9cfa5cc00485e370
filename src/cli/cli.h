/*
 * cli.h - what every phmatch subcommand shares: its signature, the global
 * options main() parses before the command name, the exit statuses, and
 * the message helpers that give every command git-style diagnostics.
 */
#ifndef PHM_CLI_H
#define PHM_CLI_H

#include <stdio.h>

#include "phmatch.h"

/* Exit statuses, the same for every command. */
enum {
    CLI_EXIT_OK = 0,      /* everything asked for was done */
    CLI_EXIT_PARTIAL = 1, /* ran to the end, but some inputs failed */
    CLI_EXIT_USAGE = 2,   /* bad option or argument; nothing was done */
    CLI_EXIT_FATAL = 3,   /* stopped early: output incomplete (write error,
                             out of memory, unreadable path list) */
};

/* Options given before the command name, resolved by main(). Read-only for
 * commands. */
typedef struct cli_global {
    const char *prog;      /* "phmatch" */
    phm_simd simd;         /* from --simd or PHMATCH_SIMD; PHM_SIMD_AUTO */
} cli_global;

/* A subcommand: argv[0] is the command name; `CMD --help` prints the
 * command's usage on stdout and returns CLI_EXIT_OK. Returns an exit
 * status. */
typedef int cli_command_fn(int argc, char **argv, const cli_global *g);

#define PHM_COMMAND(name, summary) cli_command_fn cmd_##name;
#include "commands.h"
#undef PHM_COMMAND

/* "phmatch: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "phmatch CMD: <message>\n" and "Try 'phmatch CMD --help'." on stderr;
 * returns CLI_EXIT_USAGE so callers can `return cli_usage_error(...)`. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Warns on stderr when `requested` is a level this CPU cannot run (it will
 * be lowered, see phm_simd_resolve). Commands call it once options are
 * parsed. */
void cli_check_simd(phm_simd requested);

/* Writes `s` to `fp` for a terminal or log: bytes below 0x20 and 0x7f are
 * written as C escapes (\n, \t, \x1b ...), so a hostile file name cannot
 * move the cursor or forge a line. Other bytes, UTF-8 included, pass
 * through. */
void cli_put_quoted(FILE *fp, const char *s);

#endif /* PHM_CLI_H */
