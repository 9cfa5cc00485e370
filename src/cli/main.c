/* main.c - the phmatch command: global options, then dispatch to a
 * subcommand from one table (commands.h lists them). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "args.h"
#include "cli.h"

typedef struct command {
    const char *name;
    cli_command_fn *fn;
    const char *summary;
} command;

static const command commands[] = {
#define PHM_COMMAND(name, summary) { #name, cmd_##name, summary },
#include "commands.h"
#undef PHM_COMMAND
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

enum { OPT_SIMD = 256, OPT_VERSION };

static const args_option global_options[] = {
    { "simd", OPT_SIMD, 1, NULL },
    { "version", OPT_VERSION, 0, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL },
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_usage(FILE *fp)
{
    fputs("usage: phmatch [--simd LEVEL] COMMAND [options] [ARGS]\n"
          "       phmatch --version\n"
          "       phmatch help [COMMAND]\n"
          "\n"
          "PDQ perceptual hashes of images, bit-exact with Meta's reference,\n"
          "matched against lists of known hashes.\n"
          "\n"
          "Commands:\n",
          fp);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("  help       show this help, or a command's: phmatch help COMMAND\n"
          "\n"
          "Global options:\n"
          "  --simd LEVEL  instruction set: auto (default), portable, avx2,\n"
          "                avx512; overrides $PHMATCH_SIMD. Every level gives\n"
          "                identical hashes.\n"
          "  --version     versions of phmatch and its decoders, SIMD level\n"
          "  -h, --help    show this help\n"
          "\n"
          "See 'phmatch COMMAND --help' or man phmatch.\n",
          fp);
}

static int print_version(phm_simd requested)
{
    char decoders[256];
    phm_simd level = phm_simd_resolve(requested);

    phm_decoder_versions(decoders, sizeof decoders);
    printf("phmatch %s\n", phm_version());
    printf("decoders: %s\n", decoders);
    phm_video_versions(decoders, sizeof decoders);
    printf("video: %s\n", decoders);
    printf("digests: %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("simd: %s", phm_simd_name(level));
    if (requested != PHM_SIMD_AUTO)
        printf(" (requested %s; this CPU supports up to %s)",
               phm_simd_name(requested), phm_simd_name(phm_simd_detect()));
    else
        printf(" (detected)");
    putchar('\n');
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FATAL;
}

/* A command's status once what it wrote to stdout is flushed: output that
 * could not be written (a full disk, /dev/full) is an error, exit 3, even
 * for commands that print and return (help, index stats ...). A command
 * that failed writing has said so and returned CLI_EXIT_FATAL already. */
static int flush_stdout(int status)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return status;
    if (status != CLI_EXIT_FATAL)
        cli_error("cannot write to standard output: %s",
                  strerror(errno ? errno : EIO));
    return CLI_EXIT_FATAL;
}

/* `phmatch help [COMMAND]` */
static int run_help(int argc, char **argv, const cli_global *g)
{
    if (argc < 2) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    const command *c = find_command(argv[1]);
    if (!c) {
        cli_error("no such command '%s'; see 'phmatch help'", argv[1]);
        return CLI_EXIT_USAGE;
    }
    char help_flag[] = "--help";
    char *sub_argv[] = { argv[1], help_flag, NULL };
    return c->fn(2, sub_argv, g);
}

int main(int argc, char **argv)
{
    cli_global g = { "phmatch", PHM_SIMD_AUTO };
    args_parser p;
    const char *arg = NULL;
    const char *env = getenv("PHMATCH_SIMD");
    int key, show_version = 0;

    /* A file size limit (ulimit -f) makes a write fail with EFBIG, which
     * every output path reports ("cannot write to 'out.tsv': File too
     * large", exit 3), instead of SIGXFSZ killing the process silently. */
    signal(SIGXFSZ, SIG_IGN);
    /* FFmpeg's own messages would interleave with ours; its errors come
     * back through libphmatch's return codes and messages. */
    phm_video_silence_ffmpeg();
    if (env && *env && phm_simd_parse(env, &g.simd) != PHM_OK) {
        cli_error("invalid PHMATCH_SIMD '%s': expected auto, portable, avx2 "
                  "or avx512",
                  env);
        return CLI_EXIT_USAGE;
    }

    /* Global options stop at the first operand: the command name. */
    args_init(&p, NULL, argc, argv);
    for (;;) {
        key = args_next(&p, global_options, &arg);
        if (key == ARGS_END || key == ARGS_OPERAND)
            break;
        switch (key) {
        case ARGS_ERROR:
            return CLI_EXIT_USAGE;
        case OPT_SIMD:
            if (phm_simd_parse(arg, &g.simd) != PHM_OK) {
                cli_usage_error(NULL,
                                "invalid value '%s' for --simd: expected auto, "
                                "portable, avx2 or avx512",
                                arg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_VERSION:
            show_version = 1;
            break;
        case 'h':
            print_usage(stdout);
            return flush_stdout(CLI_EXIT_OK);
        }
    }
    if (show_version)
        return print_version(g.simd);
    if (key == ARGS_END) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }

    /* argv[p.next - 1] is the command name; it becomes the command's
     * argv[0]. */
    int cmd_argc = argc - (p.next - 1);
    char **cmd_argv = argv + (p.next - 1);
    if (strcmp(arg, "help") == 0)
        return flush_stdout(run_help(cmd_argc, cmd_argv, &g));
    const command *c = find_command(arg);
    if (!c) {
        cli_error("'%s' is not a phmatch command; see 'phmatch help'", arg);
        return CLI_EXIT_USAGE;
    }
    return flush_stdout(c->fn(cmd_argc, cmd_argv, &g));
}
