/* hashopts.c - options shared by the commands that hash files (see
 * hashopts.h). */
#include "hashopts.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


enum {
    OPT_MAX_PIXELS = HASHOPT_KEY_BASE,
    OPT_MAX_FILE_SIZE,
    OPT_DIGEST,
    OPT_ACCEPT_RECOVERED,
    OPT_SIMD,
    OPT_WINDOW,
    OPT_SECONDS_PER_HASH,
    OPT_SIZE,
    OPT_MAX_DURATION,
    OPT_MAX_FRAMES,
    OPT_STDIN_VIDEO,
    OPT_ANIMATION,
};

const args_option hashopt_options[] = {
    { "files-from", 'T', 1, NULL },
    { "null", '0', 0, NULL },
    { "follow", 'L', 0, NULL },
    { "max-pixels", OPT_MAX_PIXELS, 1, NULL },
    { "max-file-size", OPT_MAX_FILE_SIZE, 1, NULL },
    { "mode", 'm', 1, NULL },
    { "dihedral", 'd', 0, NULL },
    { "digest", OPT_DIGEST, 1, NULL },
    { "accept-recovered", OPT_ACCEPT_RECOVERED, 0, NULL },
    { "jobs", 'j', 1, NULL },
    { "simd", OPT_SIMD, 1, NULL },
    { "window", OPT_WINDOW, 1, NULL },
    { "seconds-per-hash", OPT_SECONDS_PER_HASH, 1, NULL },
    { "size", OPT_SIZE, 1, NULL },
    { "max-duration", OPT_MAX_DURATION, 1, NULL },
    { "max-frames", OPT_MAX_FRAMES, 1, NULL },
    { "stdin-video", OPT_STDIN_VIDEO, 0, NULL },
    { "animation", OPT_ANIMATION, 1, NULL },
    { NULL, 0, 0, NULL },
};

int hashopts_init(hashopts *h, int argc, const cli_global *g)
{
    memset(h, 0, sizeof *h);
    h->specs_buf = calloc((size_t)(argc > 0 ? argc : 0) + 1,
                          sizeof *h->specs_buf);
    if (!h->specs_buf) {
        cli_error("out of memory");
        return -1;
    }
    h->inputs.specs = h->specs_buf;
    h->pipe.threads = omp_get_num_procs();
    h->pipe.simd = g->simd;
    h->pipe.mode = PHM_MODE_FULL;
    h->pipe.limits.max_pixels = PHM_DEFAULT_MAX_PIXELS;
    h->pipe.limits.max_file_bytes = PHM_DEFAULT_MAX_FILE_BYTES;
    phm_video_options_init(&h->pipe.video);
    return 0;
}

void hashopts_free(hashopts *h)
{
    free(h->specs_buf);
    h->specs_buf = NULL;
}

static void add_spec(hashopts *h, input_kind kind, const char *value)
{
    h->specs_buf[h->inputs.nspecs].kind = kind;
    h->specs_buf[h->inputs.nspecs++].value = value;
    if (kind == INPUT_LIST && strcmp(value, "-") == 0)
        h->stdin_uses++;
}

int hashopts_handle(hashopts *h, const args_parser *p, int key,
                    const char *arg)
{
    uint64_t v;
    char err[160];

    switch (key) {
    case ARGS_OPERAND:
        add_spec(h, strcmp(arg, "-") == 0 ? INPUT_LIST : INPUT_PATH, arg);
        return 1;
    case 'T':
        add_spec(h, INPUT_LIST, arg);
        return 1;
    case '0':
        h->inputs.nul = 1;
        return 1;
    case 'L':
        h->inputs.follow = 1;
        return 1;
    case OPT_MAX_PIXELS:
        if (args_parse_u64(p, arg, 1, UINT64_MAX, 1, &v))
            return -1;
        h->pipe.limits.max_pixels = v;
        return 1;
    case OPT_MAX_FILE_SIZE:
        if (args_parse_u64(p, arg, 1, UINT64_MAX, 1, &v))
            return -1;
        h->pipe.limits.max_file_bytes = v;
        return 1;
    case 'm':
        if (phm_mode_parse(arg, &h->pipe.mode) != PHM_OK) {
            cli_usage_error(p->cmd,
                            "invalid value '%s' for %s: expected full or "
                            "cli512",
                            arg, args_spelling(p));
            return -1;
        }
        return 1;
    case 'd':
        h->pipe.dihedral = 1;
        return 1;
    case OPT_DIGEST:
        if (phm_digest_parse_list(arg, &h->pipe.digests, err, sizeof err)) {
            cli_usage_error(p->cmd, "invalid value for %s: %s",
                            args_spelling(p), err);
            return -1;
        }
        return 1;
    case OPT_ACCEPT_RECOVERED:
        h->pipe.accept_recovered = 1;
        return 1;
    case 'j':
        if (args_parse_u64(p, arg, 0, 1024, 0, &v))
            return -1;
        h->pipe.threads = v ? (int)v : omp_get_num_procs();
        return 1;
    case OPT_SIMD:
        if (phm_simd_parse(arg, &h->pipe.simd) != PHM_OK) {
            cli_usage_error(p->cmd,
                            "invalid value '%s' for %s: expected auto, "
                            "portable, avx2 or avx512",
                            arg, args_spelling(p));
            return -1;
        }
        return 1;
    case OPT_WINDOW:
        if (args_parse_u64(p, arg, 2, 1u << 20, 1, &v))
            return -1;
        h->pipe.window = (size_t)v;
        return 1;
    case OPT_SECONDS_PER_HASH:
        if (args_parse_duration(p, arg, 0, 86400, &h->pipe.video.seconds_per_hash))
            return -1;
        return 1;
    case OPT_SIZE:
        if (args_parse_u64(p, arg, 5, PHM_VIDEO_MAX_SIZE, 0, &v))
            return -1;
        h->pipe.video.size = (uint32_t)v;
        return 1;
    case OPT_MAX_DURATION:
        if (args_parse_duration(p, arg, 1, 1e9, &h->pipe.video.max_seconds))
            return -1;
        return 1;
    case OPT_MAX_FRAMES:
        if (args_parse_u64(p, arg, 1, UINT64_MAX, 1, &v))
            return -1;
        h->pipe.video.max_frames = v;
        return 1;
    case OPT_STDIN_VIDEO:
        add_spec(h, INPUT_STDIN_VIDEO, "-");
        h->stdin_uses++;
        return 1;
    case OPT_ANIMATION:
        if (strcmp(arg, "first") == 0 || strcmp(arg, "frames") == 0) {
            h->pipe.animation_frames = arg[1] == 'r';
            return 1;
        }
        cli_usage_error(p->cmd, "invalid value '%s' for %s: expected first or frames",
                        arg, args_spelling(p));
        return -1;
    default:
        return 0;
    }
}

int hashopts_finish(hashopts *h, const char *cmd)
{
    if (h->inputs.nspecs == 0) {
        cli_usage_error(cmd, "no input: give PATH..., '-' or --files-from "
                             "FILE");
        return -1;
    }
    if (h->stdin_uses > 1) {
        cli_usage_error(cmd, "standard input can be read only once ('-', "
                             "--files-from -, --stdin-video)");
        return -1;
    }
    if (h->pipe.threads < 1)
        h->pipe.threads = 1;
    cli_check_simd(h->pipe.simd);

    phm_video_options *vo = &h->pipe.video;
    vo->max_pixels = h->pipe.limits.max_pixels;
    vo->skip_errors = h->pipe.accept_recovered;
    vo->simd = h->pipe.simd;
    /* Many inputs: one per thread, each video decoded and hashed by its
     * thread alone. One file (or the standard-input video), which may be a
     * long video: every thread on its frames, and FFmpeg's decoding threads
     * too. */
    const input_spec *sp = &h->inputs.specs[0];
    struct stat st;
    if (h->inputs.nspecs == 1 &&
        (sp->kind == INPUT_STDIN_VIDEO ||
         (sp->kind == INPUT_PATH && stat(sp->value, &st) == 0 &&
          S_ISREG(st.st_mode)))) {
        vo->threads = h->pipe.threads;
        vo->decoder_threads = 0;
        h->pipe.threads = 1;
    } else {
        vo->threads = 1;
        vo->decoder_threads = 1;
    }
    return 0;
}
