/*
 * commands.h - the list of phmatch subcommands, one line each.
 *
 * Adding a command is one line here plus its file: PHM_COMMAND(name, summary)
 * declares `int cmd_<name>(int argc, char **argv, const cli_global *g)`,
 * defined in src/cli/cmd_<name>.c, and registers it in main.c's dispatch
 * table (in this order, which is the order `phmatch help` lists them).
 *
 * No include guard: cli.h and main.c include this file with different
 * definitions of PHM_COMMAND.
 */
PHM_COMMAND(hash, "compute PDQ hashes (and file digests) of images and videos")
PHM_COMMAND(match, "hash images and look them up in a known-material index")
PHM_COMMAND(lookup, "look hashes up in a known-material index")
PHM_COMMAND(index, "create, fill, inspect and check a known-material index")
PHM_COMMAND(compare, "compare two videos (or vPDQ hash files) as vPDQ does")
PHM_COMMAND(merge, "combine the outputs of a sharded hash or match run (--shard)")
