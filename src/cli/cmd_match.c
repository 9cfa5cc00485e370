/* cmd_match.c - `phmatch match`: hash files and look each hash up in a
 * known-material index, in one parallel pass.
 *
 * The hashing pipeline (pipeline.h) does the inputs, the threads and the
 * order; this file adds three hooks:
 *
 *   thread_start  opens one phm_searcher per worker thread;
 *   work          right after a worker hashed an input, matches it with
 *                 libphmatch (phm_match_image: its 8 orientations with
 *                 --dihedral; phm_match_video: known videos compared with
 *                 their stored frames, known images with the frames they
 *                 appear in) and keeps the closest --max-matches hits in
 *                 the record's user area;
 *   emit          in input order, reads the entries again with the
 *                 emitter's own searcher (emission is one call at a time)
 *                 and writes the record: the match records with
 *                 phm_match_json_fwrite, their tsv/csv columns with
 *                 fields_match.
 *
 * What every hashing command shares (options, inputs, output file,
 * progress, exit status) is hashrun.c's; the columns are written by
 * fields.c.
 *
 * The index is opened read-only; every search takes the index's newest
 * committed state, so entries imported by another process during a long
 * run are found by the inputs hashed after the import.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "fields.h"
#include "hashopts.h"
#include "hashrun.h"
#include "output.h"
#include "report.h"

/* Exit status of --fail-on-match when some input matched. */
#define MATCH_EXIT_MATCHED 4
#define MATCH_DEFAULT_MAX_MATCHES 100
/* Below the quality gate: --robust's distance and the least quality
 * searched (phmatch.h). */
#define MATCH_STR_(x) #x
#define MATCH_STR(x) MATCH_STR_(x)
#define MATCH_MAX_MATCHES_LIMIT 100000

static const char usage_text[] =
    "usage: phmatch match --index DB [options] PATH...\n"
    "\n"
    "Hashes every input as 'phmatch hash' does (same inputs, order, threads\n"
    "and error records) and looks each hash up in the known-material index\n"
    "DB. Writes one record per input with the entries it matches, or none.\n"
    "\n"
    "Matching:\n"
    "  -i, --index DB         the index to search (opened read-only; entries\n"
    "                         another process commits during the run are\n"
    "                         found by the inputs hashed after the commit)\n"
    "  -r, --max-distance R   match entries within Hamming distance R, 0-256\n"
    "                         (default 31)\n"
    "      --min-quality Q    inputs of PDQ quality below Q (default 50) are\n"
    "                         flagged low_quality and not searched\n"
    "      --max-matches N    list at most the N closest matches of an input\n"
    "                         (default 100); 'match_count' still counts them\n"
    "                         all\n"
    "  -d, --dihedral         also search the 7 rotated and flipped\n"
    "                         orientations of each image; 'orientation' says\n"
    "                         which one matched\n"
    "      --no-trim          do not look for borders (on by default: an\n"
    "                         image inside a uniform border, letterboxing or\n"
    "                         a screenshot's bars is also searched by the hash\n"
    "                         of its content, and one on a plain white or black\n"
    "                         canvas by its content off the canvas, with and\n"
    "                         without thin rows at its ends; variant\n"
    "                         'trimmed' says it matched so)\n"
    "      --no-flatten       hash a PNG, WebP, GIF, HEIF, AVIF, JPEG XL,\n"
    "                         TIFF or BMP image with transparent pixels only\n"
    "                         as the PDQ reference does, alpha dropped\n"
    "                         (by default it is also searched as a viewer\n"
    "                         sees it, over white and over black: variant\n"
    "                         'flattened-white' / 'flattened-black'; a\n"
    "                         drawing in alpha alone is then searched though\n"
    "                         its reference hash is all zeros)\n"
    "      --robust           every query-side measure: the 8 orientations\n"
    "                         (--dihedral), trimming, --cuts, --soft,\n"
    "                         --low-quality-distance "
    MATCH_STR(PHM_ROBUST_LOW_QUALITY_DISTANCE) ", --flat-distance "
    MATCH_STR(PHM_ROBUST_FLAT_DISTANCE) "\n"
    "                         and an image rotated on its canvas, or on one\n"
    "                         grown to hold it, turned back by the angle its\n"
    "                         corners show (variant 'derotated', against\n"
    "                         entries' own hashes and crops; docs/ROBUST.md).\n"
    "                         Always: an image whose hash is the corners a\n"
    "                         small rotation left (a calm picture rotated) is\n"
    "                         not matched through stored rot+-3/rot+-5 variants\n"
    "      --cuts             also search each image with its lower, its\n"
    "                         upper or its middle third cut off (a caption's\n"
    "                         band); variant 'cut-bottom', 'cut-top' or\n"
    "                         'cut-middle' says so\n"
    "      --soft             also search each image's soft hash (shrunk and\n"
    "                         blurred: fine stripes and textures); variant\n"
    "                         'soft' says it matched so; compared with\n"
    "                         entries' stored soft hashes only ('soft',\n"
    "                         'soft-crop8-tl' ...: index add --augment); an\n"
    "                         image or trimmed box of at most 255 pixels a\n"
    "                         side also resampled evenly to 64 x 64, as\n"
    "                         'area64' / 'area64-trimmed' (a picture turned\n"
    "                         back: 'area64-derotated'), against stored\n"
    "                         area64 hashes only\n"
    "      --low-quality-distance D  search inputs of quality below\n"
    "                         --min-quality (and at least "
    MATCH_STR(PHM_ROBUST_LOW_QUALITY_MIN) ") too, for\n"
    "                         matches within D only (default 0: not at all)\n"
    "      --flat-distance D  with the low-quality search, also search inputs\n"
    "                         below quality " MATCH_STR(PHM_ROBUST_LOW_QUALITY_MIN)
    " (near blank) whose hash is no\n"
    "                         repeated pattern, and de-rotations as near\n"
    "                         blank (--robust), for matches within D only\n"
    "                         (default 0: not at all; --robust: "
    MATCH_STR(PHM_ROBUST_FLAT_DISTANCE) ")\n"
    "      --fail-on-match    exit 4 when any input matched\n"
    "      --query-threshold P     a video matches a known video when at\n"
    "                         least P% of its frame hashes match (default 80)\n"
    "      --compared-threshold P  ... and at least P% of the known video's\n"
    "                         (default 0)\n"
    "\n" HASHOPT_USAGE
    "\n"
    "Output:\n"
    "  -f, --format FMT       tsv (default, with a header line), csv or jsonl\n"
    "  -o, --output FILE      write records to FILE instead of stdout\n"
    "      --no-header        no header line in tsv and csv\n"
    "      --report DIR       also write DIR/case.json (the matched files as a\n"
    "                         Project VIC VICS 2.0 case, with MD5 and SHA-1)\n"
    "                         and DIR/report.html (a summary page: options,\n"
    "                         versions, counts, each matched file and its\n"
    "                         matches; no image); DIR is created (mode 0700)\n"
    "                         or must be empty or hold a previous report\n"
    "  -q, --quiet            no summary, warnings or progress on stderr\n"
    "      --no-progress      no progress line (shown only on a terminal)\n"
    HASHRUN_USAGE
    "  -h, --help             show this help\n"
    "\n"
    "Columns: path status size format width height mode pdq quality flags\n"
    "[md5 sha1 sha256] kind match_count, then the match record: entry\n"
    "source id category entry_kind distance orientation variant known_variant\n"
    "frame timestamp frames query_percent compared_percent; then error. tsv and csv write\n"
    "one line per match, the input's columns repeated, closest first; an\n"
    "input without a match (or not searched) has one line with the match\n"
    "columns empty. 'match_count' is the number of entries matched: 0 for\n"
    "none, empty when not searched (an error, or flags low_quality). jsonl\n"
    "writes one object per input, its match records in an array 'matches'\n"
    "(null when not searched), each with the same fields as the columns\n"
    "('kind' for entry_kind; frames as [{\"frame\":N,\"timestamp\":S}]):\n"
    "the record of 'phmatch lookup' and phmatchd.\n"
    "\n"
    "Videos (and vPDQ files, as the video they hash): the distinct hashes of\n"
    "the frames of quality >= Q are searched at once. Known videos\n"
    "(entry_kind video) are compared with the input frame by frame as\n"
    "'phmatch compare' does and listed when they match,\n"
    "with query_percent (of the input's hashes) and compared_percent (of the\n"
    "known video's). Known images are listed with 'frames', every frame they\n"
    "appear in as FRAME@SECONDS, space-separated. 'frame' and 'timestamp'\n"
    "are the input's frame closest to the entry. With --animation frames an\n"
    "animated GIF or WebP is matched so too, by its frames (its record's\n"
    "pdq is still its first frame's).\n"
    "\n"
    "Governance: the index's source settings, disabled and quarantined\n"
    "entries apply ('phmatch index source --help'). An input that matches a\n"
    "suppression source is suppressed: match_count 0, no match lines in tsv\n"
    "and csv; jsonl lists its matches, each with 'suppressed_by'.\n"
    "\n"
    "Exit status: 0 the run worked (whether or not anything matched), 1 some\n"
    "inputs failed, 2 usage error or unusable index, 3 stopped early (write\n"
    "error, out of memory), 4 with --fail-on-match: something matched (and\n"
    "the run worked, or some inputs failed).\n";

enum {
    OPT_MIN_QUALITY = 256,
    OPT_MAX_MATCHES,
    OPT_FAIL_ON_MATCH,
    OPT_QUERY_THRESHOLD,
    OPT_COMPARED_THRESHOLD,
    OPT_REPORT,
    OPT_NO_TRIM,
    OPT_NO_FLATTEN,
    OPT_TRIM,
    OPT_ROBUST,
    OPT_CUTS,
    OPT_SOFT,
    OPT_LOW_QUALITY_DISTANCE,
    OPT_FLAT_DISTANCE,
};

static const args_option options[] = {
    { "index", 'i', 1, NULL },
    { "max-distance", 'r', 1, NULL },
    { "min-quality", OPT_MIN_QUALITY, 1, NULL },
    { "max-matches", OPT_MAX_MATCHES, 1, NULL },
    { "fail-on-match", OPT_FAIL_ON_MATCH, 0, NULL },
    { "query-threshold", OPT_QUERY_THRESHOLD, 1, NULL },
    { "compared-threshold", OPT_COMPARED_THRESHOLD, 1, NULL },
    { "report", OPT_REPORT, 1, NULL },
    { "no-trim", OPT_NO_TRIM, 0, NULL },
    { "no-flatten", OPT_NO_FLATTEN, 0, NULL },
    { "trim", OPT_TRIM, 0, NULL },
    { "robust", OPT_ROBUST, 0, NULL },
    { "cuts", OPT_CUTS, 0, NULL },
    { "soft", OPT_SOFT, 0, NULL },
    { "low-quality-distance", OPT_LOW_QUALITY_DISTANCE, 1, NULL },
    { "flat-distance", OPT_FLAT_DISTANCE, 1, NULL },
    { "format", 'f', 1, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, hashopt_options },
    { NULL, 0, 0, hashrun_options },
    { NULL, 0, 0, NULL },
};

typedef struct match_options {
    hashopts h;
    hashrun_config run; /* output file, header, quiet, progress */
    const char *index_path;
    int radius;
    int min_quality;
    size_t max_matches;
    int fail_on_match;
    double query_threshold, compared_threshold;
    output_format format;
    const char *report_dir;   /* --report */
    int trim;                 /* 1 unless --no-trim (-1 while parsing: not given) */
    int no_flatten;           /* --no-flatten */
    int robust;               /* --robust */
    int cuts;                 /* --cuts (or --robust) */
    int soft;                 /* --soft (or --robust) */
    int low_quality_distance; /* --low-quality-distance (-1: not given) */
    int flat_distance;        /* --flat-distance (-1: not given) */
    unsigned out_digests;     /* the digest columns asked for (--digest) */
    int argc;                 /* the command line, for the report */
    char **argv;
} match_options;

/* One match of an input (phm_match_hit without its entry, which is read
 * again at emission; the frames are the record's own copy). */
typedef struct match_hit {
    uint64_t entry;
    int64_t frame;
    int32_t distance;
    int32_t orientation;
    const char *variant, *known_variant; /* static strings */
    int32_t kind;
    int32_t compared;
    double timestamp;
    double query_percent, compared_percent;
    phm_match_frame *frames; /* malloc'd; freed at emit */
    size_t nframes;
} match_hit;

/* What `work` leaves for `emit`, in the record's user area. */
typedef struct match_result {
    int searched;     /* 0: an error record or low quality */
    int status;       /* PHM_OK, or the search's error */
    uint64_t total;   /* entries matched */
    size_t listed;    /* hits[] filled: min(total or suppressed, max_matches) */
    uint64_t suppressed; /* hits suppressed (governance): total is then 0 */
    uint64_t sup_entry;  /* ... by this suppression entry */
    int sup_distance;
    char message[PHM_ERRMSG_MAX]; /* the search error */
    match_hit hits[]; /* max_matches, closest first */
} match_result;

/* A worker thread's searcher and matcher (libphmatch's Matching). */
typedef struct match_thread {
    phm_searcher *s;
    phm_matcher *m;
} match_thread;

typedef struct match_run {
    const match_options *opt;
    phm_index *idx;
    phm_searcher *emit_s; /* resolves entries at emission */
    phm_match_options mo;
    hashrun r;            /* output, progress */
    report *rep;          /* --report, or NULL */
    uint64_t searched, low_quality, matched_inputs, hits, search_failed;
    uint64_t suppressed_inputs; /* matched only as suppressed (governance) */
} match_run;

/* ---------------------------------------------------------------- */
/* Searching (worker threads)                                        */

static int thread_start(void *ctx, int thread, void **state, char *err,
                        size_t errlen)
{
    match_run *run = ctx;
    match_thread *t = calloc(1, sizeof *t);
    (void)thread;
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (phm_searcher_new(run->idx, &t->s, err, errlen) != PHM_OK) {
        free(t);
        return -1;
    }
    if (phm_matcher_new(t->s, &t->m) != PHM_OK) {
        snprintf(err, errlen, "out of memory");
        phm_searcher_free(t->s);
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static void thread_end(void *ctx, int thread, void *state)
{
    match_thread *t = state;
    (void)ctx;
    (void)thread;
    if (!t)
        return;
    phm_matcher_free(t->m);
    phm_searcher_free(t->s);
    free(t);
}

/* The work hook: matches the record's image or video (libphmatch's
 * phm_match_image/phm_match_video), keeps the closest hits. */
static void work(void *ctx, void *state, hash_record *rec)
{
    const match_run *run = ctx;
    match_thread *t = state;
    match_result *res = rec->user;
    const phm_match_result *mr = NULL;
    int rc = PHM_OK;

    res->searched = 0;
    res->status = PHM_OK;
    res->total = 0;
    res->listed = 0;
    res->suppressed = 0;
    res->message[0] = '\0';

    /* A video's frames hashed, after a decoding error too (those before
     * it); an image only when it was hashed. */
    if (rec->video) {
        rc = phm_match_video(t->m, rec->video, &run->mo, &mr, res->message,
                             sizeof res->message);
    } else if (rec->status >= 0) {
        /* The content inside a border, the caption cuts, the soft hash:
         * extra hashes (as phmatchd searches them). */
        phm_match_options mo = run->mo;
        phm_match_extra extra[PHM_QUERY_MAX_EXTRA];
        phm_query_match_options(&rec->query, extra, &mo);
        rc = phm_match_image(t->m, &rec->pdq, &mo, &mr, res->message,
                             sizeof res->message);
    }
    if (rc == PHM_OK && mr && mr->searched) {
        res->searched = 1;
        res->total = mr->total;
        res->suppressed = mr->suppressed;
        if (mr->suppressed && mr->count) {
            res->sup_entry = mr->hits[0].suppressed_by.entry;
            res->sup_distance = mr->hits[0].suppressed_by.distance;
        }
        for (size_t k = 0; k < mr->count && rc == PHM_OK; k++) {
            const phm_match_hit *h = &mr->hits[k];
            match_hit *c = &res->hits[k];
            *c = (match_hit){ h->entry, h->frame, h->distance, h->orientation,
                              h->variant, h->known_variant, h->kind, h->compared, h->timestamp, h->query_percent,
                              h->compared_percent, NULL, h->nframes };
            if (h->frames) {
                c->frames = malloc(h->nframes * sizeof *c->frames);
                if (!c->frames) {
                    snprintf(res->message, sizeof res->message, "out of memory");
                    rc = PHM_ERR_NOMEM;
                } else {
                    memcpy(c->frames, h->frames, h->nframes * sizeof *c->frames);
                }
            }
            res->listed = k + 1;
        }
    }
    /* Results are copied: end the snapshot, so that an idle worker does
     * not keep the writer from reusing pages. */
    phm_searcher_release(t->s);
    if (rc != PHM_OK)
        res->status = rc;
}

/* ---------------------------------------------------------------- */
/* Output (emitter)                                                  */

/* The most columns of a line: the input's, a hit's and `error`. */
#define MAX_FIELDS 40

/* Storage for a record's formatted values. */
typedef struct record_text {
    char hex[PHM_PDQ_HEX_LEN + 1];
    char format[OUTPUT_FORMAT_MAX];
} record_text;

/* The input's columns (everything before the match columns, and `error`
 * apart). r == NULL: just the names. */
static size_t input_fields(const match_run *run, const hash_record *r,
                           const match_result *res, field *f, record_text *t)
{
    static const hash_record none = { .status = PHM_ERR_INTERNAL, .size = -1 };
    const match_options *o = run->opt;
    size_t n = 0;
    const char *format = NULL;

    if (!r)
        r = &none;
    const phm_vpdq *v = r->video;
    int ok = r->status >= 0;
    format = output_format_column(r, t->format);
    field_str(&f[n], "path", r->path);
    f[n++].len = r->path_len;
    field_str(&f[n++], "status", ok ? "ok" : phm_reason(r->status));
    field_num(&f[n++], "size", r->size >= 0, r->size);
    field_str(&f[n++], "format", format);
    field_num(&f[n++], "width", r->width > 0, r->width);
    field_num(&f[n++], "height", r->height > 0, r->height);
    field_str(&f[n++], "mode",
            !ok ? NULL
            : v && !r->animated ? phm_mode_name(PHM_MODE_FULL)
                                : phm_mode_name(o->h.pipe.mode));
    /* An animation (--animation frames) is an image matched as a video. */
    int has_hash = (!v || r->animated) && ok;
    if (has_hash)
        phm_pdq_to_hex(&r->pdq.hash[0], t->hex);
    field_str(&f[n++], "pdq", has_hash ? t->hex : NULL);
    field_num(&f[n++], "quality", has_hash, r->pdq.quality);
    /* The picture's quality: the reference hash's, or as a viewer sees
     * it (a drawing in alpha alone is quality 0 with alpha dropped). */
    int low = (has_hash && phm_query_quality(&r->query) < o->min_quality) ||
              (v && res && !res->searched && v->count > 0);
    field_flags(&f[n++], (low ? FIELD_FLAG_LOW_QUALITY : 0) |
                             (r->status == PHM_WARN_RECOVERED
                                  ? FIELD_FLAG_RECOVERED
                                  : 0));
    for (int i = 0; i < PHM_DIGEST_COUNT; i++)
        if (o->out_digests & (1u << i))
            field_str(&f[n++], phm_digest_name(i),
                    r->has_digests && r->digest[i][0] ? r->digest[i] : NULL);
    field_str(&f[n++], "kind", v && !r->animated ? "video" : "image");
    field_num(&f[n++], "match_count", res && res->searched && res->status == PHM_OK,
            res ? (long long)res->total : 0);
    return n;
}

/* The `error` column: the hashing error or warning, else the search's. */
static const char *record_error(const hash_record *r, const match_result *res)
{
    if (res && res->status != PHM_OK)
        return res->message[0] ? res->message : phm_strerror(res->status);
    return r && r->message && r->message[0] ? r->message : NULL;
}

static void write_header(FILE *fp, const void *ctx)
{
    const match_run *run = ctx;
    field f[MAX_FIELDS];
    record_text t;
    size_t n;
    char sep = run->opt->format == OUTPUT_TSV ? '\t' : ',';

    if (!run->opt->run.header ||
        (run->opt->format != OUTPUT_TSV && run->opt->format != OUTPUT_CSV))
        return;
    char *frames;
    n = input_fields(run, NULL, NULL, f, &t);
    n += fields_match(f + n, NULL, &frames);
    field_str(&f[n++], "error", NULL);
    fields_write_names(fp, f, n, sep);
}

/* The record of hit `h` with its entry read through the emitter's
 * searcher. If it cannot be read (removed since the search, or an index
 * error: message on stderr) the record has null names. */
static void resolve(match_run *run, const hash_record *r, const match_result *res,
                    const match_hit *h, phm_match_hit *out)
{
    char err[PHM_ERRMSG_MAX];
    memset(out, 0, sizeof *out);
    out->entry = h->entry;
    out->kind = h->kind;
    out->distance = h->distance;
    out->orientation = h->orientation;
    out->variant = h->variant;
    out->known_variant = h->known_variant;
    out->frame = h->frame;
    out->timestamp = h->timestamp;
    out->compared = h->compared;
    out->query_percent = h->query_percent;
    out->compared_percent = h->compared_percent;
    out->frames = h->frames;
    out->nframes = h->nframes;
    int rc = phm_searcher_get(run->emit_s, h->entry, &out->e, err, sizeof err);
    if (rc == PHM_OK && res->suppressed) {
        phm_entry by;
        rc = phm_searcher_get(run->emit_s, res->sup_entry, &by, err, sizeof err);
        if (rc == PHM_OK) {
            out->suppressed_by.entry = res->sup_entry;
            out->suppressed_by.source = by.source;
            out->suppressed_by.id = by.id;
            out->suppressed_by.distance = res->sup_distance;
        }
    }
    if (rc == PHM_OK)
        return;
    memset(&out->e, 0, sizeof out->e);
    if (!run->opt->run.quiet) {
        progress_clear(run->r.progress);
        fputs("phmatch: warning: match of '", stderr);
        cli_put_quoted(stderr, r->path);
        fprintf(stderr, "': %s\n", err);
    }
}

static void write_record(match_run *run, const hash_record *r,
                         const match_result *res)
{
    field f[MAX_FIELDS];
    record_text t;
    phm_match_hit mh;
    FILE *fp = run->r.out;
    size_t ni = input_fields(run, r, res, f, &t);
    const char *error = record_error(r, res);
    int ok = res->searched && res->status == PHM_OK;
    size_t listed = ok ? res->listed : 0;

    if (run->opt->format == OUTPUT_JSONL) {
        putc('{', fp);
        fields_write_json(fp, f, ni);
        /* The list of match records (phm_match_json), null if not
         * searched. */
        fputs(ok ? ",\"matches\":[" : ",\"matches\":null", fp);
        for (size_t k = 0; k < listed; k++) {
            if (k)
                putc(',', fp);
            resolve(run, r, res, &res->hits[k], &mh);
            phm_match_json_fwrite(fp, &mh);
        }
        if (ok)
            putc(']', fp);
        field ef;
        field_str(&ef, "error", error);
        putc(',', fp);
        fields_write_json(fp, &ef, 1);
        fputs("}\n", fp);
        return;
    }

    char sep = run->opt->format == OUTPUT_TSV ? '\t' : ',';
    size_t k = 0;
    if (res->suppressed) /* suppressed matches: in jsonl only */
        listed = 0;
    do {
        const match_hit *h = k < listed ? &res->hits[k] : NULL;
        char *frames = NULL;
        if (h)
            resolve(run, r, res, h, &mh);
        size_t nm = fields_match(f + ni, h ? &mh : NULL, &frames);
        if (!nm) { /* out of memory: the frames column left empty */
            mh.frames = NULL;
            nm = fields_match(f + ni, h ? &mh : NULL, &frames);
        }
        size_t n = ni + nm;
        field_str(&f[n++], "error", error);
        fields_write_delimited(fp, f, n, sep);
        free(frames);
    } while (++k < listed);
}

static int emit_record(void *ctx, const hash_record *r, char *err,
                       size_t errlen)
{
    match_run *run = ctx;
    const match_result *res = r->user;

    hashrun_report(&run->r, r);
    if (res->status != PHM_OK) {
        progress_clear(run->r.progress);
        fputs("phmatch: cannot search the index for '", stderr);
        cli_put_quoted(stderr, r->path);
        fputs("': ", stderr);
        cli_put_quoted(stderr, res->message);
        fputc('\n', stderr);
        run->search_failed++;
    } else if (res->searched) {
        run->searched++;
        if (res->total) {
            run->matched_inputs++;
            run->hits += res->total;
        }
        if (res->suppressed)
            run->suppressed_inputs++;
    } else if (r->status >= 0) {
        run->low_quality++;
    }

    errno = 0;
    write_record(run, r, res);
    /* Suppressed matches stay out of the case file and the page's list:
     * a review tool would take them for matches. */
    if (run->rep && res->searched && res->status == PHM_OK && res->listed &&
        !res->suppressed) {
        phm_match_hit mh;
        report_file_begin(run->rep, r);
        for (size_t k = 0; k < res->listed; k++) {
            resolve(run, r, res, &res->hits[k], &mh);
            report_match(run->rep, r, &mh);
        }
        report_file_end(run->rep, r, res->total);
    }
    phm_searcher_release(run->emit_s);
    for (size_t k = 0; k < res->listed; k++) /* a video's, from work */
        free(res->hits[k].frames);
    return hashrun_check_write(&run->r, err, errlen);
}

/* Adds the counts of the inputs a resumed run left out (recfile.h). */
static void add_before(match_run *run, pipeline_stats *st)
{
    const recfile_counts *c = &run->r.before;
    st->records += c->inputs;
    st->hashed += c->hashed;
    st->failed += c->failed;
    run->searched += c->searched;
    run->low_quality += c->not_searched;
    run->matched_inputs += c->matched;
    run->hits += c->hits;
    run->suppressed_inputs += c->suppressed;
    run->search_failed += c->search_failed;
}

static void print_summary(const match_run *run, const pipeline_stats *st)
{
    /* With the low-quality search on, what goes unsearched is below its
     * floor, not below the gate; with the near-blank one too, only what
     * hashes to a pattern is. */
    int floor = run->opt->min_quality;
    if (run->mo.low_quality_distance > 0 && run->mo.low_quality_min < floor)
        floor = run->mo.low_quality_min;
    hashrun_summary_start(st);
    fprintf(stderr,
            ", %llu failed; %llu searched, %llu not searched (quality < %d%s); "
            "%llu matched (%llu match%s)",
            (unsigned long long)st->failed,
            (unsigned long long)run->searched,
            (unsigned long long)run->low_quality, floor,
            run->mo.low_quality_distance > 0 && run->mo.flat_distance > 0
                ? " and blank" : "",
            (unsigned long long)run->matched_inputs,
            (unsigned long long)run->hits, run->hits == 1 ? "" : "es");
    if (run->suppressed_inputs)
        fprintf(stderr, "; %llu suppressed", (unsigned long long)run->suppressed_inputs);
    if (run->search_failed)
        fprintf(stderr, "; %llu search%s failed",
                (unsigned long long)run->search_failed,
                run->search_failed == 1 ? "" : "es");
    hashrun_summary_end(st, 0);
}

/* ---------------------------------------------------------------- */
/* Command                                                           */

static int parse_options(int argc, char **argv, const cli_global *g,
                         match_options *o)
{
    args_parser p;
    const char *arg;
    uint64_t v;
    int key;

    memset(o, 0, sizeof *o);
    if (hashopts_init(&o->h, argc, g))
        return CLI_EXIT_FATAL;
    o->radius = PHM_PDQ_MATCH_DISTANCE;
    o->min_quality = PHM_PDQ_MIN_QUALITY;
    o->max_matches = MATCH_DEFAULT_MAX_MATCHES;
    o->query_threshold = PHM_VPDQ_QUERY_THRESHOLD;
    o->compared_threshold = PHM_VPDQ_COMPARED_THRESHOLD;
    o->format = OUTPUT_TSV;
    o->trim = -1;
    o->low_quality_distance = -1;
    o->flat_distance = -1;
    hashrun_config_init(&o->run);

    args_init(&p, "match", argc, argv);
    while ((key = hashrun_next_option(&p, options, &o->h, &o->run, &arg)) !=
           ARGS_END) {
        switch (key) {
        case ARGS_ERROR:
            return CLI_EXIT_USAGE;
        case 'i':
            o->index_path = arg;
            break;
        case 'r':
            if (args_parse_u64(&p, arg, 0, PHM_INDEX_MAX_RADIUS, 0, &v))
                return CLI_EXIT_USAGE;
            o->radius = (int)v;
            break;
        case OPT_MIN_QUALITY:
            if (args_parse_u64(&p, arg, 0, 100, 0, &v))
                return CLI_EXIT_USAGE;
            o->min_quality = (int)v;
            break;
        case OPT_MAX_MATCHES:
            if (args_parse_u64(&p, arg, 1, MATCH_MAX_MATCHES_LIMIT, 0, &v))
                return CLI_EXIT_USAGE;
            o->max_matches = (size_t)v;
            break;
        case OPT_FAIL_ON_MATCH:
            o->fail_on_match = 1;
            break;
        case OPT_QUERY_THRESHOLD:
        case OPT_COMPARED_THRESHOLD:
            if (args_parse_number(&p, arg, 0, 100,
                                  key == OPT_QUERY_THRESHOLD ? &o->query_threshold
                                                             : &o->compared_threshold))
                return CLI_EXIT_USAGE;
            break;
        case 'f':
            if (output_format_parse(arg, &o->format) ||
                o->format == OUTPUT_PDQ || o->format == OUTPUT_VPDQ)
                return cli_usage_error("match",
                                       "invalid value '%s' for %s: expected "
                                       "tsv, csv or jsonl (pdq and vpdq lines "
                                       "have no room for matches)",
                                       arg, args_spelling(&p));
            break;
        case OPT_REPORT:
            o->report_dir = arg;
            break;
        case OPT_NO_TRIM:
            o->trim = 0;
            break;
        case OPT_NO_FLATTEN:
            o->no_flatten = 1;
            break;
        case OPT_TRIM:
            o->trim = 1;
            break;
        case OPT_ROBUST:
            o->robust = 1;
            break;
        case OPT_CUTS:
            o->cuts = 1;
            break;
        case OPT_SOFT:
            o->soft = 1;
            break;
        case OPT_LOW_QUALITY_DISTANCE:
            if (args_parse_u64(&p, arg, 0, PHM_INDEX_MAX_RADIUS, 0, &v))
                return CLI_EXIT_USAGE;
            o->low_quality_distance = (int)v;
            break;
        case OPT_FLAT_DISTANCE:
            if (args_parse_u64(&p, arg, 0, PHM_INDEX_MAX_RADIUS, 0, &v))
                return CLI_EXIT_USAGE;
            o->flat_distance = (int)v;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("match", "internal error: option %d", key);
        }
    }
    if (!o->index_path)
        return cli_usage_error("match", "no index given: use --index DB");
    if (o->run.resume && o->report_dir)
        return cli_usage_error("match", "--resume cannot be used with "
                               "--report (the report would miss the inputs "
                               "done before)");
    if (hashopts_finish(&o->h, "match"))
        return CLI_EXIT_USAGE;
    o->h.pipe.read_vpdq = 1; /* a video's hash file is matched as the video */
    if (o->robust) { /* every query-side measure (docs/ROBUST.md) */
        o->h.pipe.dihedral = 1;
        o->cuts = 1;
        o->soft = 1; /* wt-combo2: soft against soft only (phm_soft_kind) */
        if (o->low_quality_distance < 0)
            o->low_quality_distance = PHM_ROBUST_LOW_QUALITY_DISTANCE;
        /* with the low-quality search only: --low-quality-distance 0
         * turns both off */
        if (o->flat_distance < 0 && o->low_quality_distance > 0)
            o->flat_distance = PHM_ROBUST_FLAT_DISTANCE;
    }
    if (o->low_quality_distance < 0)
        o->low_quality_distance = 0;
    if (o->flat_distance < 0)
        o->flat_distance = 0;
    if (o->flat_distance && !o->low_quality_distance)
        return cli_usage_error("match", "--flat-distance needs --low-quality-distance "
                               "(or --robust): a near-blank image is searched only "
                               "with the low-quality search");
    o->h.pipe.cuts = o->cuts;
    o->h.pipe.soft = o->soft;
    o->h.pipe.corners = 1; /* whether the image's hash is a rotation's corners */
    o->h.pipe.derotate = o->robust; /* a query-side variant: --robust's */
    if (o->trim < 0) /* on unless --no-trim */
        o->trim = 1;
    o->h.pipe.trim = o->trim;
    o->h.pipe.flatten = !o->no_flatten;
    o->out_digests = o->h.pipe.digests;
    if (o->report_dir) /* the case file's MD5 and SHA1, from the same read */
        o->h.pipe.digests |= (1u << PHM_DIGEST_MD5) | (1u << PHM_DIGEST_SHA1);
    o->argc = argc - 1;
    o->argv = argv + 1;
    return -1;
}

int cmd_match(int argc, char **argv, const cli_global *g)
{
    match_options o;
    match_run run;
    pipeline_hooks hooks;
    pipeline_stats stats;
    char err[PHM_ERRMSG_MAX];
    int rc, status;

    memset(&run, 0, sizeof run);
    status = parse_options(argc, argv, g, &o);
    if (status >= 0)
        goto out;
    run.opt = &o;
    phm_match_options_init(&run.mo);
    run.mo.max_distance = o.radius;
    run.mo.min_quality = o.min_quality;
    run.mo.max_matches = o.max_matches;
    run.mo.orientations = 1; /* every hash hashed: 8 with --dihedral */
    run.mo.query_threshold = o.query_threshold;
    run.mo.compared_threshold = o.compared_threshold;
    run.mo.low_quality_distance = o.low_quality_distance;
    run.mo.low_quality_min = PHM_ROBUST_LOW_QUALITY_MIN;
    run.mo.flat_distance = o.flat_distance;

    rc = phm_index_open(&run.idx, o.index_path, PHM_INDEX_RDONLY, 0,
                        o.h.pipe.simd, err, sizeof err);
    if (rc == PHM_OK)
        rc = phm_searcher_new(run.idx, &run.emit_s, err, sizeof err);
    if (rc != PHM_OK) {
        cli_error("%s", err);
        status = rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_USAGE;
        goto out;
    }
    status = hashrun_open(&run.r, &o.run, &o.h);
    if (status >= 0)
        goto out;
    if (o.report_dir) {
        report_params rp = { .dir = o.report_dir, .argc = o.argc, .argv = o.argv,
                             .index_path = o.index_path, .idx = run.idx,
                             .max_distance = o.radius, .min_quality = o.min_quality,
                             .dihedral = o.h.pipe.dihedral, .max_matches = o.max_matches,
                             .query_threshold = o.query_threshold,
                             .compared_threshold = o.compared_threshold,
                             .mode = o.h.pipe.mode, .specs = o.h.inputs.specs,
                             .nspecs = o.h.inputs.nspecs };
        if (report_open(&run.rep, &rp, err, sizeof err)) {
            cli_error("%s", err);
            status = CLI_EXIT_USAGE;
            goto out;
        }
    }

    status = hashrun_begin(&run.r, o.format, write_header, &run);
    if (status >= 0)
        goto out;
    memset(&hooks, 0, sizeof hooks);
    hooks.ctx = &run;
    hooks.thread_start = thread_start;
    hooks.thread_end = thread_end;
    hooks.work = work;
    hooks.emit = emit_record;
    /* Rounded up so that every slot's area stays 8-byte aligned. */
    hooks.record_user_size =
        (offsetof(match_result, hits) + o.max_matches * sizeof(match_hit) + 15) &
        ~(size_t)15;
    rc = hashrun_pipeline(&run.r, &o.h, &hooks, &stats);
    add_before(&run, &stats); /* --resume: the whole run's */
    status = hashrun_status(&run.r, rc,
                            o.fail_on_match && run.matched_inputs
                                ? MATCH_EXIT_MATCHED
                            : stats.failed || run.search_failed
                                ? CLI_EXIT_PARTIAL
                                : CLI_EXIT_OK);
    if (run.rep) {
        report_counts rc_ = { run.searched, run.low_quality, run.matched_inputs, run.hits,
                              run.search_failed, run.suppressed_inputs };
        if (report_finish(run.rep, &stats, &rc_,
                          rc == PHM_OK ? NULL : phm_strerror(rc), err, sizeof err)) {
            cli_error("%s", err);
            status = CLI_EXIT_FATAL;
        }
    }
    if (!o.run.quiet && !run.r.refused)
        print_summary(&run, &stats);
out:
    report_free(run.rep);
    status = hashrun_close(&run.r, status);
    phm_searcher_free(run.emit_s);
    phm_index_close(run.idx);
    hashopts_free(&o.h);
    return status;
}
