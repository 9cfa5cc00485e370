/* cmd_compare.c - `phmatch compare A B`: two videos, or vPDQ hash files,
 * compared as bags of frame hashes as Meta's vPDQ reference does. */
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"

static const char usage_text[] =
    "usage: phmatch compare [options] A B\n"
    "\n"
    "Compares two videos as the vPDQ reference does: each is a bag of frame\n"
    "hashes (frames of quality >= 50, identical hashes counted once); a\n"
    "frame of one matches when a frame of the other is within distance 31.\n"
    "A and B are videos (hashed as 'phmatch hash' hashes them) or vPDQ hash\n"
    "files ('phmatch hash --format vpdq', or the reference's), told apart by\n"
    "content; an animated GIF or WebP is compared by its frames, as\n"
    "'phmatch hash --animation frames' hashes them. Prints the percentage of A's hashes found in B (query match)\n"
    "and of B's found in A (compared match), and the verdict.\n"
    "\n"
    "Options:\n"
    "      --query-threshold P     A matches B when at least P% of A's\n"
    "                              hashes match (default 80)\n"
    "      --compared-threshold P  ... and at least P% of B's (default 0)\n"
    "      --distance D            largest matching distance (default 31)\n"
    "      --quality Q             ignore frames of quality below Q\n"
    "                              (default 50)\n"
    "      --seconds-per-hash R    for videos: one frame every R seconds\n"
    "                              (default 1; 0: every frame)\n"
    "      --size N                for videos: hash frames resized to NxN\n"
    "      --max-duration S, --max-frames N, --max-pixels N\n"
    "                              video limits, as for 'phmatch hash'\n"
    "  -j, --jobs N                threads for hashing a video (default:\n"
    "                              all cores)\n"
    "  -q, --quiet                 no warnings on stderr\n"
    "  -h, --help                  show this help\n"
    "\n"
    "Output, one line each:\n"
    "  query_match PERCENT MATCHED DISTINCT A\n"
    "  compared_match PERCENT MATCHED DISTINCT B\n"
    "  verdict match|no_match\n"
    "\n"
    "A video that fails to decode part way is compared on the frames hashed\n"
    "before the failure, with a warning.\n"
    "\n"
    "Exit status: 0 the videos match, 1 they do not, 2 usage error or an\n"
    "input that cannot be read, decoded or parsed.\n";

enum {
    OPT_QUERY_THRESHOLD = 256,
    OPT_COMPARED_THRESHOLD,
    OPT_DISTANCE,
    OPT_QUALITY,
    OPT_SECONDS_PER_HASH,
    OPT_SIZE,
    OPT_MAX_DURATION,
    OPT_MAX_FRAMES,
    OPT_MAX_PIXELS,
};

static const args_option options[] = {
    { "query-threshold", OPT_QUERY_THRESHOLD, 1, NULL },
    { "compared-threshold", OPT_COMPARED_THRESHOLD, 1, NULL },
    { "distance", OPT_DISTANCE, 1, NULL },
    { "quality", OPT_QUALITY, 1, NULL },
    { "seconds-per-hash", OPT_SECONDS_PER_HASH, 1, NULL },
    { "size", OPT_SIZE, 1, NULL },
    { "max-duration", OPT_MAX_DURATION, 1, NULL },
    { "max-frames", OPT_MAX_FRAMES, 1, NULL },
    { "max-pixels", OPT_MAX_PIXELS, 1, NULL },
    { "jobs", 'j', 1, NULL },
    { "quiet", 'q', 0, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL },
};

typedef struct compare_options {
    const char *path[2];
    double query_threshold, compared_threshold;
    int distance, quality, quiet;
    phm_video_options video;
} compare_options;

enum { SIDE_VIDEO, SIDE_VPDQ, SIDE_ANIMATION };

/* What the file holds: a vPDQ hash file, a GIF or WebP (an animation), or
 * else a video. Unreadable files are left to the video decoder, which
 * reports why. */
static int side_kind(const char *path)
{
    char head[PHM_VPDQ_LINE_MAX];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0)
        return 0;
    do
        n = read(fd, head, sizeof head);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return SIDE_VIDEO;
    phm_format f = phm_format_detect(head, (size_t)n);
    if (f == PHM_FORMAT_GIF || f == PHM_FORMAT_WEBP)
        return SIDE_ANIMATION;
    return phm_vpdq_detect(head, (size_t)n) ? SIDE_VPDQ : SIDE_VIDEO;
}

/* Hashes the frames of an animation (phm_hash_animation_file). */
static int hash_animation(const compare_options *o, const char *path, phm_vpdq *v,
                          char *err, size_t errlen)
{
    phm_decode_limits lim = { o->video.max_pixels, 0 };
    phm_decoder *dec = NULL;
    phm_hasher *h = NULL;
    int rc = phm_decoder_new(&dec, &lim);
    if (rc == PHM_OK)
        rc = phm_hasher_new(&h, o->video.simd);
    if (rc == PHM_OK)
        rc = phm_hash_animation_file(dec, h, path, &o->video, v, err, errlen);
    else
        snprintf(err, errlen, "cannot hash '%s': %s", path, phm_strerror(rc));
    phm_hasher_free(h);
    phm_decoder_free(dec);
    return rc;
}

/* Loads or hashes one side into *v. Returns 0, or -1 after a message. */
static int load_side(const compare_options *o, phm_video_hasher *vh,
                     const char *path, phm_vpdq *v)
{
    char err[PHM_ERRMSG_MAX];
    int rc;

    int kind = side_kind(path);
    if (kind == SIDE_VPDQ)
        rc = phm_vpdq_load(path, 0, v, err, sizeof err);
    else if (kind == SIDE_ANIMATION)
        rc = hash_animation(o, path, v, err, sizeof err);
    else
        rc = phm_hash_video_file(vh, path, v, err, sizeof err);
    if (rc >= 0) {
        if (rc == PHM_WARN_RECOVERED && !o->quiet)
            cli_error("warning: %s", err);
        return 0;
    }
    if (v->count > 0) {
        if (!o->quiet)
            cli_error("warning: %s; comparing the %zu frame%s hashed before",
                      err, v->count, v->count == 1 ? "" : "s");
        return 0;
    }
    cli_error("%s", err);
    return -1;
}

static void print_side(const char *label, double percent, size_t matched,
                       size_t distinct, const char *path)
{
    printf("%s %.3f %zu %zu ", label, percent, matched, distinct);
    cli_put_quoted(stdout, path);
    putchar('\n');
}

/* Parses the arguments into *o. Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, const cli_global *g,
                         compare_options *o)
{
    args_parser p;
    const char *arg;
    uint64_t v;
    double d;
    int key, nops = 0;

    memset(o, 0, sizeof *o);
    o->query_threshold = PHM_VPDQ_QUERY_THRESHOLD;
    o->compared_threshold = PHM_VPDQ_COMPARED_THRESHOLD;
    o->distance = PHM_PDQ_MATCH_DISTANCE;
    o->quality = PHM_PDQ_MIN_QUALITY;
    phm_video_options_init(&o->video);
    o->video.simd = g->simd;
    o->video.threads = omp_get_num_procs();

    args_init(&p, "compare", argc, argv);
    while ((key = args_next(&p, options, &arg)) != ARGS_END) {
        switch (key) {
        case ARGS_ERROR:
            return CLI_EXIT_USAGE;
        case ARGS_OPERAND:
            if (nops == 2)
                return cli_usage_error("compare", "too many operands: "
                                                  "expected A B");
            o->path[nops++] = arg;
            break;
        case OPT_QUERY_THRESHOLD:
            if (args_parse_number(&p, arg, 0, 100, &o->query_threshold))
                return CLI_EXIT_USAGE;
            break;
        case OPT_COMPARED_THRESHOLD:
            if (args_parse_number(&p, arg, 0, 100, &o->compared_threshold))
                return CLI_EXIT_USAGE;
            break;
        case OPT_DISTANCE:
            if (args_parse_u64(&p, arg, 0, PHM_PDQ_BITS, 0, &v))
                return CLI_EXIT_USAGE;
            o->distance = (int)v;
            break;
        case OPT_QUALITY:
            if (args_parse_u64(&p, arg, 0, 100, 0, &v))
                return CLI_EXIT_USAGE;
            o->quality = (int)v;
            break;
        case OPT_SECONDS_PER_HASH:
            if (args_parse_duration(&p, arg, 0, 86400, &d))
                return CLI_EXIT_USAGE;
            o->video.seconds_per_hash = d;
            break;
        case OPT_SIZE:
            if (args_parse_u64(&p, arg, 5, PHM_VIDEO_MAX_SIZE, 0, &v))
                return CLI_EXIT_USAGE;
            o->video.size = (uint32_t)v;
            break;
        case OPT_MAX_DURATION:
            if (args_parse_duration(&p, arg, 1, 1e9, &o->video.max_seconds))
                return CLI_EXIT_USAGE;
            break;
        case OPT_MAX_FRAMES:
            if (args_parse_u64(&p, arg, 1, UINT64_MAX, 1, &v))
                return CLI_EXIT_USAGE;
            o->video.max_frames = v;
            break;
        case OPT_MAX_PIXELS:
            if (args_parse_u64(&p, arg, 1, UINT64_MAX, 1, &v))
                return CLI_EXIT_USAGE;
            o->video.max_pixels = v;
            break;
        case 'j':
            if (args_parse_u64(&p, arg, 0, 1024, 0, &v))
                return CLI_EXIT_USAGE;
            o->video.threads = v ? (int)v : omp_get_num_procs();
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("compare", "internal error: option %d",
                                   key);
        }
    }
    if (nops != 2)
        return cli_usage_error("compare", "expected two operands: A B");
    cli_check_simd(o->video.simd);
    return -1;
}

int cmd_compare(int argc, char **argv, const cli_global *g)
{
    compare_options o;
    phm_video_hasher *vh = NULL;
    phm_vpdq v[2];
    phm_vpdq_match m;
    int status, rc;

    phm_vpdq_init(&v[0]);
    phm_vpdq_init(&v[1]);
    status = parse_options(argc, argv, g, &o);
    if (status >= 0)
        goto out;
    status = CLI_EXIT_USAGE;
    /* Report a missing or unreadable operand before hashing the other. */
    for (int i = 0; i < 2; i++) {
        if (access(o.path[i], R_OK) != 0) {
            cli_error("cannot read '%s': %s", o.path[i], strerror(errno));
            goto out;
        }
    }
    rc = phm_video_hasher_new(&vh, &o.video);
    if (rc != PHM_OK) {
        cli_error("cannot start the video decoder: %s", phm_strerror(rc));
        goto out;
    }
    if (load_side(&o, vh, o.path[0], &v[0]) ||
        load_side(&o, vh, o.path[1], &v[1]))
        goto out;
    rc = phm_vpdq_compare(&v[0], &v[1], o.distance, o.quality, &m);
    if (rc != PHM_OK) {
        cli_error("cannot compare: %s", phm_strerror(rc));
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        size_t n = i ? m.compared_hashes : m.query_hashes;
        if (n == 0 && !o.quiet)
            cli_error("warning: '%s' has no frame hash of quality >= %d: "
                      "nothing to compare",
                      o.path[i], o.quality);
    }
    print_side("query_match", m.query_percent, m.query_matched,
               m.query_hashes, o.path[0]);
    print_side("compared_match", m.compared_percent, m.compared_matched,
               m.compared_hashes, o.path[1]);
    int match = phm_vpdq_is_match(&m, o.query_threshold, o.compared_threshold);
    printf("verdict %s\n", match ? "match" : "no_match");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output: %s",
                  strerror(errno ? errno : EIO));
        goto out;
    }
    status = match ? 0 : 1;
out:
    phm_vpdq_clear(&v[0]);
    phm_vpdq_clear(&v[1]);
    phm_video_hasher_free(vh);
    return status;
}
