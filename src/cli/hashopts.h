/*
 * hashopts.h - the options and operands of every command that hashes
 * files (`hash`, and `match`, which reuses the pipeline): which inputs,
 * how to read them, how to hash them. The options of the run's output
 * (-o, -q ...) are in hashrun.h; the output format stays with each command.
 *
 * Use in a command:
 *
 *     static const args_option options[] = {
 *         { "format", 'f', 1, NULL },          (the command's own)
 *         { NULL, 0, 0, hashopt_options },     (all the shared ones)
 *         { NULL, 0, 0, NULL },
 *     };
 *     hashopts h;
 *     if (hashopts_init(&h, argc, g)) ...out of memory...
 *     while ((key = args_next(&p, options, &arg)) != ARGS_END) {
 *         int r = hashopts_handle(&h, &p, key, arg);
 *         if (r < 0) { status = CLI_EXIT_USAGE; goto out; }
 *         if (r > 0) continue;
 *         switch (key) { ...the command's own options... }
 *     }
 *     if (hashopts_finish(&h, "match")) ...usage error...
 *     then input_open(&in, &h.inputs, ...) and pipeline_run(&h.pipe, ...)
 *     hashopts_free(&h);
 *
 * hashrun.h wraps the loop (hashrun_next_option) and the run for commands
 * that also write records with -o, -q and a progress line.
 *
 * Keys: the short letters T 0 L j m d, and HASHOPT_KEY_BASE and up for
 * long-only options; a command's own options must use other keys.
 * HASHOPT_USAGE is the matching --help text.
 */
#ifndef PHM_HASHOPTS_H
#define PHM_HASHOPTS_H

#include "args.h"
#include "cli.h"
#include "inputs.h"
#include "pipeline.h"

#define HASHOPT_KEY_BASE 0x1000

extern const args_option hashopt_options[];

#define HASHOPT_USAGE \
    "Input:\n" \
    "  PATH                   a file, or a directory: walked recursively in\n" \
    "                         sorted order\n" \
    "  -                      read paths from standard input\n" \
    "  -T, --files-from FILE  read paths from FILE ('-': standard input),\n" \
    "                         one per line; directories in it are walked\n" \
    "  -0, --null             paths in lists end with NUL, not newline\n" \
    "                         (find -print0)\n" \
    "  -L, --follow           follow symbolic links met inside directories\n" \
    "                         (links named on the command line or in a list\n" \
    "                         are always followed)\n" \
    "      --stdin-video      read one video from standard input: Y4M\n" \
    "                         (ffmpeg ... -f yuv4mpegpipe -) or any\n" \
    "                         streamable container; its records name '-'\n" \
    "      --max-pixels N     refuse images and video frames over N pixels\n" \
    "                         (default 100M)\n" \
    "      --max-file-size N  refuse image files over N bytes (default 1Gi;\n" \
    "                         videos are streamed, not held in memory)\n" \
    "      --max-duration S   stop decoding a video at S seconds (default\n" \
    "                         21600: 6 hours); the frames before are kept\n" \
    "      --max-frames N     stop decoding a video after N frames (default\n" \
    "                         2M)\n" \
    "\n" \
    "Hashing:\n" \
    "  -m, --mode MODE        full (default): PDQ at full resolution, as the\n" \
    "                         Java/Python references and vPDQ compute it;\n" \
    "                         cli512: as the reference command-line hasher\n" \
    "                         (images over 512 px first resized to 512x512)\n" \
    "  -d, --dihedral         also the 7 rotated/flipped hashes\n" \
    "      --digest LIST      also file digests: md5,sha1,sha256 or all\n" \
    "      --accept-recovered hash images the decoder recovered from damage\n" \
    "                         (e.g. truncated JPEG), flagged 'recovered';\n" \
    "                         by default they are errors (corrupt); in\n" \
    "                         videos, skip damaged packets and go on\n" \
    "  -j, --jobs N           worker threads (default: all cores); one\n" \
    "                         input alone, such as a long video, gets them\n" \
    "                         all\n" \
    "      --simd LEVEL       auto, portable, avx2 or avx512 (default: auto,\n" \
    "                         or $PHMATCH_SIMD)\n" \
    "      --window N         inputs in flight (default 64 per thread)\n" \
    "\n" \
    "Videos (MP4, MOV, MKV, WebM, AVI, Y4M, ...; found by\n" \
    "content), hashed as Meta's vPDQ does:\n" \
    "      --seconds-per-hash R  one frame every R seconds (default 1; 0:\n" \
    "                         every frame)\n" \
    "      --size N           resize frames to NxN before hashing (as the\n" \
    "                         reference's -s N; default: native size)\n" \
    "\n" \
    "Animations (GIF, WebP): an image, its first frame, by default:\n" \
    "      --animation MODE   first (default): one image record, the first\n" \
    "                         frame, as ImageMagick reads it; frames: an\n" \
    "                         animated file's frames are also hashed, as a\n" \
    "                         video's (selected by their delays, one every\n" \
    "                         --seconds-per-hash; the canvas as shown, at\n" \
    "                         its own size) and matched as a video's\n"

typedef struct hashopts {
    input_options inputs;    /* for input_open(); specs owned here */
    pipeline_config pipe;    /* for pipeline_run(); progress left NULL */
    int stdin_uses;
    input_spec *specs_buf;
} hashopts;

/* Sets the defaults (threads: all processors; SIMD from the global
 * options) and room for up to argc inputs. Returns 0, or -1 if out of
 * memory (message printed). */
int hashopts_init(hashopts *h, int argc, const cli_global *g);

/* Handles `key` (from args_next with hashopt_options included): an operand,
 * or a shared option. Returns 1 if handled, 0 if `key` is not one of these,
 * -1 after printing a usage error that names the option. */
int hashopts_handle(hashopts *h, const args_parser *p, int key,
                    const char *arg);

/* Checks the whole: some input given, standard input read at most once;
 * warns if the CPU lacks the SIMD level asked. Returns 0, or -1 after a
 * usage error. */
int hashopts_finish(hashopts *h, const char *cmd);

void hashopts_free(hashopts *h);

#endif /* PHM_HASHOPTS_H */
