/* cmd_index_gov.h - the governance subcommands of `phmatch index`
 * (cmd_index_gov.c): source show|set, disable, enable, disabled,
 * quarantine, audit; and their lines in `index stats`. */
#ifndef PHM_CMD_INDEX_GOV_H
#define PHM_CMD_INDEX_GOV_H

#include "cli.h"

/* Whether `sub` (argv[1] of `phmatch index`) is one of these. */
int cmd_index_gov_is(const char *sub);
/* Runs `phmatch index SUB ...` (argv[0] "index", argv[1] SUB). */
int cmd_index_gov(int argc, char **argv, const cli_global *g);
/* `index stats` lines (text) or members (json, each with a leading comma):
 * the governance counts, and each source's settings. */
void cmd_index_gov_stats(phm_index *idx, int json);
void cmd_index_gov_stats_sources(phm_index *idx, int json);
/* One source's settings as a tsv row (no newline) or a JSON object. */
void gov_print_source(const char *source, const phm_source_settings *s,
                      uint64_t entries, int json);

#endif
