/* cmd_match.c - `phmatch match`: hash files and look each hash up in a
 * known-material index, in one parallel pass.
 *
 * The hashing pipeline (pipeline.h) does the inputs, the threads and the
 * order; this file adds three hooks:
 *
 *   thread_start  opens one phm_searcher per worker thread;
 *   work          right after a worker hashed an input, searches its hash
 *                 (search_image: its 8 orientations with --dihedral) and
 *                 keeps the closest --max-matches hits in the record's user
 *                 area: entry number, distance, orientation; a video goes
 *                 to work_video (match_video.c: known videos compared with
 *                 their stored frames, known images with the frames they
 *                 appear in);
 *   emit          in input order, resolves the entry numbers to source, id
 *                 and category with the emitter's own searcher (emission is
 *                 one call at a time) and writes the record.
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
#include "match_video.h"
#include "output.h"

/* Exit status of --fail-on-match when some input matched. */
#define MATCH_EXIT_MATCHED 4
#define MATCH_DEFAULT_MAX_MATCHES 100
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
    "                         (default 100); 'matches' still counts them all\n"
    "  -d, --dihedral         also search the 7 rotated and flipped\n"
    "                         orientations of each image; 'orientation' says\n"
    "                         which one matched\n"
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
    "  -q, --quiet            no summary, warnings or progress on stderr\n"
    "      --no-progress      no progress line (shown only on a terminal)\n"
    "  -h, --help             show this help\n"
    "\n"
    "Columns: path status size format width height mode pdq quality flags\n"
    "[md5 sha1 sha256] kind matches entry source id category entry_kind\n"
    "distance orientation frame timestamp frames query_percent\n"
    "compared_percent error. tsv and csv write one line per match, the\n"
    "input's columns repeated, closest first; an input without a match (or\n"
    "not searched) has one line with the match columns empty. 'matches' is\n"
    "the number of entries matched: 0 for none, empty when not searched\n"
    "(an error, or flags low_quality). jsonl writes one object per input,\n"
    "its matches in an array 'entries'.\n"
    "\n"
    "Videos (and vPDQ files, as the video they hash): the distinct hashes of\n"
    "the frames of quality >= Q are searched at once. Known videos\n"
    "(entry_kind video) are compared with the input frame by frame as\n"
    "'phmatch compare' does and listed when they match,\n"
    "with query_percent (of the input's hashes) and compared_percent (of the\n"
    "known video's). Known images are listed with 'frames', every frame they\n"
    "appear in as FRAME@SECONDS, space-separated. 'frame' and 'timestamp'\n"
    "are the input's frame closest to the entry.\n"
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
};

static const args_option options[] = {
    { "index", 'i', 1, NULL },
    { "max-distance", 'r', 1, NULL },
    { "min-quality", OPT_MIN_QUALITY, 1, NULL },
    { "max-matches", OPT_MAX_MATCHES, 1, NULL },
    { "fail-on-match", OPT_FAIL_ON_MATCH, 0, NULL },
    { "query-threshold", OPT_QUERY_THRESHOLD, 1, NULL },
    { "compared-threshold", OPT_COMPARED_THRESHOLD, 1, NULL },
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
} match_options;

/* One match of an input, before its entry is resolved. */
typedef struct match_hit {
    uint64_t entry;
    int64_t frame;      /* a video's frame number; -1 for an image */
    int32_t distance;
    int32_t orientation; /* PHM_DIH_* */
    /* an input video's hits (match_video.h) */
    int32_t is_video;    /* a known video: the percentages are set */
    double timestamp;    /* of `frame` */
    double query_percent, compared_percent;
    char *frames;        /* a known image: where it appears; freed at emit */
} match_hit;

/* What `work` leaves for `emit`, in the record's user area. */
typedef struct match_result {
    int searched;     /* 0: an error record or low quality */
    int status;       /* PHM_OK, or the search's error */
    uint64_t total;   /* entries matched */
    size_t listed;    /* hits[] filled: min(total, max_matches) */
    char message[PHM_ERRMSG_MAX]; /* the search error */
    match_hit hits[]; /* max_matches, closest first */
} match_result;

/* A worker thread's searcher and scratch. */
typedef struct match_thread {
    phm_searcher *s;
    phm_pdq *queries;
    int64_t *qframe;
    int32_t *qorient;
    size_t qcap;
    match_hit *all; /* hits of the current input, before merging */
    size_t nall, allcap;
    match_video_scratch *mv;
} match_thread;

typedef struct match_run {
    const match_options *opt;
    phm_index *idx;
    phm_searcher *emit_s; /* resolves entries at emission */
    hashrun r;            /* output, progress */
    uint64_t searched, low_quality, matched_inputs, hits, search_failed;
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
    phm_searcher_free(t->s);
    free(t->queries);
    free(t->qframe);
    free(t->qorient);
    free(t->all);
    match_video_scratch_free(t->mv);
    free(t);
}

static int grow_queries(match_thread *t, size_t n)
{
    if (n <= t->qcap)
        return 0;
    size_t cap = n < 64 ? 64 : n;
    phm_pdq *q = realloc(t->queries, cap * sizeof *q);
    if (q)
        t->queries = q;
    int64_t *f = realloc(t->qframe, cap * sizeof *f);
    if (f)
        t->qframe = f;
    int32_t *o = realloc(t->qorient, cap * sizeof *o);
    if (o)
        t->qorient = o;
    if (!q || !f || !o)
        return -1;
    t->qcap = cap;
    return 0;
}

static int hit_by_entry(const void *a, const void *b)
{
    const match_hit *x = a, *y = b;
    if (x->entry != y->entry)
        return x->entry < y->entry ? -1 : 1;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    if (x->orientation != y->orientation)
        return x->orientation < y->orientation ? -1 : 1;
    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static int hit_by_distance(const void *a, const void *b)
{
    const match_hit *x = a, *y = b;
    if (x->distance != y->distance)
        return x->distance < y->distance ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Keeps one hit per entry in t->all: the closest (then the lowest
 * orientation, then the first frame). */
static void dedupe_hits(match_thread *t)
{
    if (t->nall < 2)
        return;
    qsort(t->all, t->nall, sizeof *t->all, hit_by_entry);
    size_t k = 1;
    for (size_t i = 1; i < t->nall; i++)
        if (t->all[i].entry != t->all[k - 1].entry)
            t->all[k++] = t->all[i];
    t->nall = k;
}

/* Searches queries [0, n) of t and appends their hits to t->all. */
static int search_queries(const match_run *run, match_thread *t, size_t n,
                          char *err, size_t errlen)
{
    const phm_match *m;
    const size_t *off;
    int rc = phm_search_batch(t->s, t->queries, n, run->opt->radius, 0, &m,
                              &off, err, errlen);
    if (rc != PHM_OK)
        return rc;
    size_t need = t->nall + off[n];
    if (need > t->allcap) {
        size_t cap = need < 2 * t->allcap ? 2 * t->allcap : need;
        match_hit *a = realloc(t->all, cap * sizeof *a);
        if (!a) {
            snprintf(err, errlen, "out of memory");
            return PHM_ERR_NOMEM;
        }
        t->all = a;
        t->allcap = cap;
    }
    for (size_t q = 0; q < n; q++)
        for (size_t j = off[q]; j < off[q + 1]; j++) {
            match_hit *h = &t->all[t->nall++];
            memset(h, 0, sizeof *h);
            h->entry = m[j].entry;
            h->distance = m[j].distance;
            h->orientation = t->qorient[q];
            h->frame = t->qframe[q];
        }
    return PHM_OK;
}

/* A video input: the known videos it matches and the known images in its
 * frames (match_video.c, one batch search of its distinct frame hashes),
 * straight into res: they are already one per entry and in order. */
static void work_video(const match_run *run, match_thread *t, const phm_vpdq *v,
                       match_result *res)
{
    const match_options *o = run->opt;
    match_video_opts vo = { o->radius, o->min_quality, o->query_threshold,
                            o->compared_threshold };
    match_video_hit *vh;
    size_t n;
    int rc = match_video_search(t->s, v, &vo, &t->mv, &res->searched, &vh, &n,
                                res->message, sizeof res->message);
    phm_searcher_release(t->s);
    if (rc != PHM_OK) {
        res->status = rc;
        return;
    }
    res->total = n;
    res->listed = n < o->max_matches ? n : o->max_matches;
    for (size_t k = 0; k < n; k++) {
        if (k >= res->listed) {
            free(vh[k].frames);
            continue;
        }
        match_hit *h = &res->hits[k];
        memset(h, 0, sizeof *h);
        h->entry = vh[k].entry;
        h->distance = vh[k].distance;
        h->orientation = PHM_DIH_ORIGINAL;
        h->frame = vh[k].frame;
        h->timestamp = vh[k].timestamp;
        h->is_video = vh[k].is_video;
        h->query_percent = vh[k].query_percent;
        h->compared_percent = vh[k].compared_percent;
        h->frames = vh[k].frames;
    }
}

/* Searches image record `rec` (its orientations with --dihedral) if it was
 * hashed with sufficient quality, its hits into t->all. Returns PHM_OK or an
 * error, message in res. */
static int search_image(const match_run *run, match_thread *t,
                        const hash_record *rec, match_result *res)
{
    size_t n = 0;

    if (rec->status < 0 || rec->pdq.quality < run->opt->min_quality)
        return PHM_OK;
    if (grow_queries(t, PHM_DIH_COUNT)) {
        snprintf(res->message, sizeof res->message, "out of memory");
        return PHM_ERR_NOMEM;
    }
    int nh = rec->pdq.nhashes < 1 ? 1 : rec->pdq.nhashes;
    for (int i = 0; i < nh && i < PHM_DIH_COUNT; i++) {
        t->queries[n] = rec->pdq.hash[i];
        t->qframe[n] = -1;
        t->qorient[n++] = i;
    }
    res->searched = 1;
    return search_queries(run, t, n, res->message, sizeof res->message);
}

/* The work hook: searches the record's hashes, keeps the closest hits. */
static void work(void *ctx, void *state, hash_record *rec)
{
    const match_run *run = ctx;
    match_thread *t = state;
    match_result *res = rec->user;

    res->searched = 0;
    res->status = PHM_OK;
    res->total = 0;
    res->listed = 0;
    res->message[0] = '\0';
    t->nall = 0;

    if (rec->video) {
        /* The frames hashed, after a decoding error too (those before it). */
        work_video(run, t, rec->video, res);
        return;
    }
    int rc = search_image(run, t, rec, res);
    /* Results are copied: end the snapshot, so that an idle worker does
     * not keep the writer from reusing pages. */
    phm_searcher_release(t->s);
    if (rc != PHM_OK) {
        res->status = rc;
        return;
    }
    if (!res->searched)
        return;
    dedupe_hits(t);
    if (t->nall > 1)
        qsort(t->all, t->nall, sizeof *t->all, hit_by_distance);
    res->total = t->nall;
    res->listed = t->nall < run->opt->max_matches ? t->nall
                                                  : run->opt->max_matches;
    if (res->listed)
        memcpy(res->hits, t->all, res->listed * sizeof *res->hits);
}

/* ---------------------------------------------------------------- */
/* Output (emitter)                                                  */

/* The most columns of a line: the input's, a hit's and `error`. */
#define MAX_FIELDS 32

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
            : v ? phm_mode_name(PHM_MODE_FULL)
                : phm_mode_name(o->h.pipe.mode));
    int has_hash = !v && ok;
    if (has_hash)
        phm_pdq_to_hex(&r->pdq.hash[0], t->hex);
    field_str(&f[n++], "pdq", has_hash ? t->hex : NULL);
    field_num(&f[n++], "quality", has_hash, r->pdq.quality);
    int low = (has_hash && r->pdq.quality < o->min_quality) ||
              (v && res && !res->searched && v->count > 0);
    field_flags(&f[n++], (low ? FIELD_FLAG_LOW_QUALITY : 0) |
                             (r->status == PHM_WARN_RECOVERED
                                  ? FIELD_FLAG_RECOVERED
                                  : 0));
    for (int i = 0; i < PHM_DIGEST_COUNT; i++)
        if (o->h.pipe.digests & (1u << i))
            field_str(&f[n++], phm_digest_name(i),
                    r->has_digests && r->digest[i][0] ? r->digest[i] : NULL);
    field_str(&f[n++], "kind", v ? "video" : "image");
    field_num(&f[n++], "matches", res && res->searched && res->status == PHM_OK,
            res ? (long long)res->total : 0);
    return n;
}

/* The match columns of hit `h` (entry `e`; NULL if it could not be read),
 * or with h == NULL empty ones (names only). */
static size_t hit_fields(const match_hit *h, const phm_entry *e, field *f)
{
    size_t n = 0;
    field_num(&f[n++], "entry", h != NULL, h ? (long long)h->entry : 0);
    field_str(&f[n++], "source", h && e ? e->source : NULL);
    field_str(&f[n++], "id", h && e ? e->id : NULL);
    field_str(&f[n++], "category", h && e ? (e->category ? e->category : "") : NULL);
    field_str(&f[n++], "entry_kind",
              h && e ? (e->signals & PHM_SIG_VPDQ ? "video" : "image") : NULL);
    field_num(&f[n++], "distance", h != NULL, h ? h->distance : 0);
    field_str(&f[n++], "orientation",
            h ? phm_dihedral_name(h->orientation) : NULL);
    field_num(&f[n++], "frame", h && h->frame >= 0, h ? h->frame : 0);
    field_real(&f[n++], "timestamp", h && h->frame >= 0, h ? h->timestamp : 0);
    field_str(&f[n++], "frames", h ? h->frames : NULL);
    field_real(&f[n++], "query_percent", h && h->is_video,
               h ? h->query_percent : 0);
    field_real(&f[n++], "compared_percent", h && h->is_video,
               h ? h->compared_percent : 0);
    return n;
}

/* The `error` column: the hashing error or warning, else the search's. */
static const char *record_error(const hash_record *r, const match_result *res)
{
    if (res && res->status != PHM_OK)
        return res->message[0] ? res->message : phm_strerror(res->status);
    return r && r->message && r->message[0] ? r->message : NULL;
}

static void write_header(const match_run *run)
{
    field f[MAX_FIELDS];
    record_text t;
    size_t n;
    char sep = run->opt->format == OUTPUT_TSV ? '\t' : ',';

    if (!run->opt->run.header ||
        (run->opt->format != OUTPUT_TSV && run->opt->format != OUTPUT_CSV))
        return;
    n = input_fields(run, NULL, NULL, f, &t);
    n += hit_fields(NULL, NULL, f + n);
    field_str(&f[n++], "error", NULL);
    fields_write_names(run->r.out, f, n, sep);
}

/* Reads the entry of hit `h` through the emitter's searcher. Returns 0, or
 * -1 (entry removed since the search, or an index error: message on
 * stderr, the line gets empty names). */
static int resolve(match_run *run, const hash_record *r, const match_hit *h,
                   phm_entry *e)
{
    char err[PHM_ERRMSG_MAX];
    int rc = phm_searcher_get(run->emit_s, h->entry, e, err, sizeof err);
    if (rc == PHM_OK)
        return 0;
    if (!run->opt->run.quiet) {
        progress_clear(run->r.progress);
        fputs("phmatch: warning: match of '", stderr);
        cli_put_quoted(stderr, r->path);
        fprintf(stderr, "': %s\n", err);
    }
    return -1;
}

static void write_record(match_run *run, const hash_record *r,
                         const match_result *res)
{
    field f[MAX_FIELDS];
    record_text t;
    phm_entry e;
    FILE *fp = run->r.out;
    size_t ni = input_fields(run, r, res, f, &t);
    const char *error = record_error(r, res);
    size_t listed = res->searched && res->status == PHM_OK ? res->listed : 0;

    if (run->opt->format == OUTPUT_JSONL) {
        putc('{', fp);
        fields_write_json(fp, f, ni);
        fputs(",\"entries\":", fp);
        if (!res->searched || res->status != PHM_OK)
            fputs("null", fp);
        else
            putc('[', fp);
        for (size_t k = 0; k < listed; k++) {
            field hf[16];
            int got = resolve(run, r, &res->hits[k], &e) == 0;
            size_t nh = hit_fields(&res->hits[k], got ? &e : NULL, hf);
            putc(k ? ',' : '{', fp);
            if (k)
                putc('{', fp);
            fields_write_json(fp, hf, nh);
            putc('}', fp);
        }
        if (res->searched && res->status == PHM_OK)
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
    do {
        const match_hit *h = k < listed ? &res->hits[k] : NULL;
        int got = h && resolve(run, r, h, &e) == 0;
        size_t n = ni + hit_fields(h, got ? &e : NULL, f + ni);
        field_str(&f[n++], "error", error);
        fields_write_delimited(fp, f, n, sep);
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
    } else if (r->status >= 0) {
        run->low_quality++;
    }

    errno = 0;
    write_record(run, r, res);
    phm_searcher_release(run->emit_s);
    for (size_t k = 0; k < res->listed; k++) /* a video's, from work_video */
        free(res->hits[k].frames);
    return hashrun_check_write(&run->r, err, errlen);
}

static void print_summary(const match_run *run, const pipeline_stats *st)
{
    hashrun_summary_start(st);
    fprintf(stderr,
            ", %llu failed; %llu searched, %llu not searched (quality < %d); "
            "%llu matched (%llu match%s)",
            (unsigned long long)st->failed,
            (unsigned long long)run->searched,
            (unsigned long long)run->low_quality, run->opt->min_quality,
            (unsigned long long)run->matched_inputs,
            (unsigned long long)run->hits, run->hits == 1 ? "" : "es");
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
        case 'h':
            fputs(usage_text, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("match", "internal error: option %d", key);
        }
    }
    if (!o->index_path)
        return cli_usage_error("match", "no index given: use --index DB");
    if (hashopts_finish(&o->h, "match"))
        return CLI_EXIT_USAGE;
    o->h.pipe.read_vpdq = 1; /* a video's hash file is matched as the video */
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

    write_header(&run);
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
    status = hashrun_status(&run.r, rc,
                            o.fail_on_match && run.matched_inputs
                                ? MATCH_EXIT_MATCHED
                            : stats.failed || run.search_failed
                                ? CLI_EXIT_PARTIAL
                                : CLI_EXIT_OK);
    if (!o.run.quiet)
        print_summary(&run, &stats);
out:
    status = hashrun_close(&run.r, status);
    phm_searcher_free(run.emit_s);
    phm_index_close(run.idx);
    hashopts_free(&o.h);
    return status;
}
