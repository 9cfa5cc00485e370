/* report.c - `phmatch match --report DIR`: the VICS case file and the HTML
 * summary (see report.h). */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CASE_NAME "case.json"
#define HTML_NAME "report.html"
#define ROWS_NAME "report.rows.part"

/* What an existing DIR may hold to be taken as a previous report. */
static const char *const report_files[] = {
    CASE_NAME, HTML_NAME, CASE_NAME ".part", HTML_NAME ".part", ROWS_NAME,
};

/* Matches per (source, category) of the entries matched. */
typedef struct group {
    char *source, *category;
    uint64_t files, matches;
    uint64_t last_file; /* seq + 1 of the last file counted */
} group;

struct report {
    report_params p;
    unsigned char *spec_dir; /* p.specs[i] names a directory */
    int dirfd;
    FILE *json, *rows;
    int64_t started;
    phm_index_stats st0;
    int have_st0;
    group *groups;
    size_t ngroups, capgroups;
    uint64_t media;     /* Media written to the case file */
    size_t file_hits;   /* hits written for the current file */
    int finished;
};

/* ---------------------------------------------------------------- */
/* Text                                                              */

/* s[0..len) as HTML text: & < > " ' escaped; every byte that is not part
 * of well-formed UTF-8 as U+FFFD (the library's policy, phmatch.h "Text");
 * control characters as C escapes, as on a terminal (cli_put_quoted). */
static void html_text(FILE *fp, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = phm_utf8_seq(u + i, len - i);
        if (n == 0) {
            fputs("\xef\xbf\xbd", fp);
            i++;
            continue;
        }
        if (n > 1) {
            fwrite(u + i, 1, n, fp);
            i += n;
            continue;
        }
        unsigned char c = u[i++];
        switch (c) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\t': fputs("\\t", fp); break;
        case '\r': fputs("\\r", fp); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(fp, "\\x%02x", c);
            else
                putc(c, fp);
        }
    }
}

static void html_str(FILE *fp, const char *s)
{
    html_text(fp, s ? s : "", s ? strlen(s) : 0);
}

/* A key-value row of a summary table; the value as HTML text. */
static void kv(FILE *fp, const char *key, const char *value)
{
    fprintf(fp, "<tr><th>%s</th><td>", key);
    html_str(fp, value);
    fputs("</td></tr>\n", fp);
}

static void kv_num(FILE *fp, const char *key, uint64_t v)
{
    fprintf(fp, "<tr><th>%s</th><td>%" PRIu64 "</td></tr>\n", key, v);
}

static void put_upper(FILE *fp, const char *hex)
{
    for (; *hex; hex++)
        putc(*hex >= 'a' && *hex <= 'f' ? *hex - 'a' + 'A' : *hex, fp);
}

static void json_str(FILE *fp, const char *s)
{
    phm_json_fwrite(fp, s ? s : "", s ? strlen(s) : 0);
}

static void iso_time(int64_t t, char out[21])
{
    if (phm_hashlist_format_time(t, out) != PHM_OK)
        snprintf(out, 21, "-");
}

/* ---------------------------------------------------------------- */
/* Paths                                                             */

/* rec's path relative to the directory named on the command line that it
 * was found under (the longest); else (a file named itself, or in a list)
 * the path as given when it is relative and has no ".." component, or its
 * base name. */
static const char *relative_path(const report *r, const char *path)
{
    size_t best = 0;
    for (size_t i = 0; i < r->p.nspecs; i++) {
        const char *root = r->p.specs[i].value;
        size_t n = strlen(root);
        if (r->spec_dir[i] && n > best && strncmp(path, root, n) == 0 &&
            (root[n - 1] == '/' || path[n] == '/'))
            best = n;
    }
    if (best) {
        path += best;
        while (*path == '/')
            path++;
        return path;
    }
    const char *base = strrchr(path, '/');
    if (path[0] == '/' || strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 ||
        strstr(path, "/../") || (base && strcmp(base, "/..") == 0))
        return base ? base + 1 : path;
    return path;
}

/* ---------------------------------------------------------------- */
/* Opening                                                           */

static int is_report_file(const char *name)
{
    for (size_t i = 0; i < sizeof report_files / sizeof report_files[0]; i++)
        if (strcmp(name, report_files[i]) == 0)
            return 1;
    return 0;
}

/* Creates DIR with mode 0700, or accepts an existing directory that is
 * empty or holds only a previous report. */
static int make_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    int ok = 1;

    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST) {
        snprintf(err, errlen, "cannot create report directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "report directory '%s' exists and is not a directory", dir);
        return -1;
    }
    d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read report directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    while (ok && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            !is_report_file(de->d_name))
            ok = 0;
    closedir(d);
    if (!ok) {
        snprintf(err, errlen,
                 "report directory '%s' is not empty and holds more than a previous "
                 "report; not writing into it",
                 dir);
        return -1;
    }
    return 0;
}

/* DIR/NAME for writing, mode 0600 (an old file's mode is set too). */
static FILE *open_file(report *r, const char *name, const char *mode, int flags, char *err,
                       size_t errlen)
{
    int fd = openat(r->dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *fp;
    if (fd < 0 || fchmod(fd, 0600) != 0 || !(fp = fdopen(fd, mode))) {
        snprintf(err, errlen, "cannot write '%s/%s': %s", r->p.dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    return fp;
}

/* A random (version 4) UUID for the CaseID. */
static void make_uuid(char out[37])
{
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (uint8_t)(t >> (8 * (i % 8))) ^ (uint8_t)(i * 37);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

int report_open(report **out, const report_params *p, char *err, size_t errlen)
{
    report *r;
    char uuid[37], when[21];

    *out = NULL;
    if (make_dir(p->dir, err, errlen))
        return -1;
    r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->p = *p;
    r->dirfd = -1;
    r->started = (int64_t)time(NULL);
    r->spec_dir = calloc(p->nspecs + 1, 1);
    if (!r->spec_dir) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < p->nspecs; i++) {
        struct stat st;
        r->spec_dir[i] = p->specs[i].kind == INPUT_PATH && p->specs[i].value[0] &&
                         stat(p->specs[i].value, &st) == 0 && S_ISDIR(st.st_mode);
    }
    r->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->dirfd < 0) {
        snprintf(err, errlen, "cannot open report directory '%s': %s", p->dir, strerror(errno));
        goto fail;
    }
    r->json = open_file(r, CASE_NAME ".part", "w", O_WRONLY | O_CREAT | O_TRUNC, err, errlen);
    if (!r->json)
        goto fail;
    /* The HTML rows wait in an unlinked file until the summary is known. */
    unlinkat(r->dirfd, ROWS_NAME, 0);
    r->rows = open_file(r, ROWS_NAME, "w+", O_RDWR | O_CREAT | O_EXCL, err, errlen);
    if (!r->rows)
        goto fail;
    unlinkat(r->dirfd, ROWS_NAME, 0);
    char serr[PHM_ERRMSG_MAX];
    r->have_st0 = phm_index_get_stats(p->idx, &r->st0, serr, sizeof serr) == PHM_OK;

    make_uuid(uuid);
    iso_time(r->started, when);
    fprintf(r->json,
            "{\"@odata.context\":\"" PHM_VICS_CASES_CONTEXT "\",\"value\":[{\"CaseID\":\"%s\","
            "\"SourceApplicationName\":\"phmatch\",\"SourceApplicationVersion\":",
            uuid);
    json_str(r->json, phm_version());
    fputs(",\"@phmatch.run\":{\"index\":", r->json);
    json_str(r->json, p->index_path);
    fprintf(r->json,
            ",\"max_distance\":%d,\"min_quality\":%d,\"max_matches\":%zu,\"dihedral\":%s,"
            "\"started\":\"%s\"},\"Media\":[",
            p->max_distance, p->min_quality, p->max_matches, p->dihedral ? "true" : "false",
            when);
    *out = r;
    return 0;
fail:
    report_free(r);
    return -1;
}

/* ---------------------------------------------------------------- */
/* Matched files                                                     */

static void count_group(report *r, const hash_record *rec, const phm_entry *e)
{
    const char *src = e->source ? e->source : "", *cat = e->category ? e->category : "";
    group *g = NULL;
    for (size_t i = 0; i < r->ngroups && !g; i++)
        if (strcmp(r->groups[i].source, src) == 0 && strcmp(r->groups[i].category, cat) == 0)
            g = &r->groups[i];
    if (!g) {
        if (r->ngroups == r->capgroups) {
            size_t cap = r->capgroups ? 2 * r->capgroups : 16;
            group *ng = realloc(r->groups, cap * sizeof *ng);
            if (!ng)
                return; /* the counts lose this group; the files are listed */
            r->groups = ng;
            r->capgroups = cap;
        }
        g = &r->groups[r->ngroups];
        memset(g, 0, sizeof *g);
        g->source = strdup(src);
        g->category = strdup(cat);
        if (!g->source || !g->category) {
            free(g->source);
            free(g->category);
            return;
        }
        r->ngroups++;
    }
    g->matches++;
    if (g->last_file != rec->seq + 1) {
        g->last_file = rec->seq + 1;
        g->files++;
    }
}

void report_file_begin(report *r, const hash_record *rec)
{
    (void)rec;
    r->file_hits = 0;
}

static const char *digest_of(const hash_record *rec, int which)
{
    return rec->has_digests && rec->digest[which][0] ? rec->digest[which] : NULL;
}

/* The case file's Media head and the HTML block's head, at the first hit
 * (the nearest, whose entry gives the Category). */
static void file_head(report *r, const hash_record *rec, const phm_match_hit *h)
{
    FILE *j = r->json, *t = r->rows;
    const char *md5 = digest_of(rec, PHM_DIGEST_MD5), *sha1 = digest_of(rec, PHM_DIGEST_SHA1);
    const char *cat = h->e.category;
    char hex[PHM_PDQ_HEX_LEN + 1];
    int has_hash = !rec->video && rec->status >= 0;

    if (has_hash)
        phm_pdq_to_hex(&rec->pdq.hash[0], hex);
    fprintf(j, "%s{\"MediaID\":%" PRIu64, r->media ? ",\n" : "\n", r->media + 1);
    /* VICS categories are numbers; another category stays in the match
     * records below. */
    if (cat && cat[0] && strspn(cat, "0123456789") == strlen(cat) && strlen(cat) <= 9 &&
        (cat[0] != '0' || !cat[1]))
        fprintf(j, ",\"Category\":%ld", strtol(cat, NULL, 10));
    if (md5) {
        fputs(",\"MD5\":\"", j);
        put_upper(j, md5);
        putc('"', j);
    }
    if (sha1) {
        fputs(",\"SHA1\":\"", j);
        put_upper(j, sha1);
        putc('"', j);
    }
    if (rec->size >= 0)
        fprintf(j, ",\"MediaSize\":%" PRId64, rec->size);
    fputs(",\"RelativeFilePath\":", j);
    json_str(j, relative_path(r, rec->path));
    if (has_hash)
        fprintf(j, ",\"AlternativeHashes\":[{\"HashName\":\"PDQ\",\"HashValue\":\"%s\"}]", hex);
    fputs(",\"@phmatch.path\":", j);
    phm_json_fwrite(j, rec->path, rec->path_len);
    if (!phm_utf8_valid(rec->path, rec->path_len)) {
        fputs(",\"@phmatch.path_hex\":\"", j);
        for (size_t i = 0; i < rec->path_len; i++)
            fprintf(j, "%02x", (unsigned char)rec->path[i]);
        putc('"', j);
    }
    fputs(",\"@phmatch.matches\":[", j);
    r->media++;

    fputs("<section class=\"file\">\n<h3>", t);
    html_text(t, rec->path, rec->path_len);
    fputs("</h3>\n<table class=\"kv\">\n", t);
    kv(t, "MD5", md5 ? md5 : "-");
    kv(t, "SHA-1", sha1 ? sha1 : "-");
    if (rec->size >= 0)
        fprintf(t, "<tr><th>Size</th><td>%" PRId64 " bytes</td></tr>\n", rec->size);
    kv(t, "Kind", rec->video ? "video" : "image");
    if (has_hash) {
        fprintf(t, "<tr><th>PDQ</th><td class=\"mono\">%s</td></tr>\n", hex);
        fprintf(t, "<tr><th>Quality</th><td>%d</td></tr>\n", rec->pdq.quality);
    }
    fputs("</table>\n<table class=\"grid\">\n<thead><tr><th>Distance</th><th>Orientation</th>"
          "<th>Source</th><th>ID</th><th>Category</th><th>Entry</th><th>Details</th></tr>"
          "</thead>\n<tbody>\n",
          t);
}

void report_match(report *r, const hash_record *rec, const phm_match_hit *h)
{
    FILE *t = r->rows;
    if (r->file_hits == 0)
        file_head(r, rec, h);
    else
        putc(',', r->json);
    phm_match_json_fwrite(r->json, h);
    r->file_hits++;
    count_group(r, rec, &h->e);

    fprintf(t, "<tr><td class=\"num\">%d</td><td>%s</td><td>", h->distance,
            phm_dihedral_name(h->orientation));
    html_str(t, h->e.source ? h->e.source : "(entry unreadable)");
    fputs("</td><td>", t);
    html_str(t, h->e.id);
    fputs("</td><td>", t);
    html_str(t, h->e.category);
    fprintf(t, "</td><td class=\"num\">%" PRIu64 "</td><td>", h->entry);
    if (h->kind == PHM_MATCH_VIDEO)
        fputs("known video", t);
    if (h->frame >= 0)
        fprintf(t, "%sframe %" PRId64 " at %.3f s", h->kind == PHM_MATCH_VIDEO ? "; " : "",
                h->frame, h->timestamp);
    if (h->compared)
        fprintf(t, "; %.1f%% of this video, %.1f%% of the known one", h->query_percent,
                h->compared_percent);
    if (h->nframes)
        fprintf(t, "; in %zu frame%s", h->nframes, h->nframes == 1 ? "" : "s");
    fputs("</td></tr>\n", t);
}

void report_file_end(report *r, const hash_record *rec, uint64_t total)
{
    (void)rec;
    if (r->file_hits == 0)
        return;
    fprintf(r->json, "],\"@phmatch.match_count\":%" PRIu64 "}", total);
    fprintf(r->rows, "</tbody>\n</table>\n<p class=\"note\">%" PRIu64 " entr%s matched", total,
            total == 1 ? "y" : "ies");
    if (total > r->file_hits)
        fprintf(r->rows, " (the %zu nearest listed: --max-matches)", r->file_hits);
    fputs("</p>\n</section>\n", r->rows);
}

/* ---------------------------------------------------------------- */
/* The summary                                                       */

static int group_cmp(const void *a, const void *b)
{
    const group *x = a, *y = b;
    int c = strcmp(x->source, y->source);
    return c ? c : strcmp(x->category, y->category);
}

static const char style[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24;"
    "background:#fff;margin:0 auto;max-width:1120px;padding:24px 32px}"
    "h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:28px 0 8px;"
    "border-bottom:2px solid #d0d7de;padding-bottom:4px}"
    "h3{font-size:16px;margin:16px 0 6px}section.file h3{font-size:15px;margin:0 0 8px;"
    "word-break:break-all;font-family:ui-monospace,'DejaVu Sans Mono',monospace}"
    "table{border-collapse:collapse;margin:6px 0 12px}"
    "th,td{padding:4px 10px;text-align:left;vertical-align:top;border:1px solid #d0d7de}"
    "table.kv th{background:#f6f8fa;font-weight:600;white-space:nowrap}"
    "table.grid thead th{background:#24292f;color:#fff}"
    "table.grid tbody tr:nth-child(even){background:#f6f8fa}"
    "td{word-break:break-all}td.num{text-align:right;font-variant-numeric:tabular-nums;"
    "word-break:normal}.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace;"
    "font-size:13px}section.file{border:1px solid #d0d7de;border-left:5px solid #cf222e;"
    "border-radius:4px;padding:12px 16px;margin:14px 0}"
    "p.status{display:inline-block;padding:4px 10px;border-radius:4px;background:#dafbe1}"
    "p.status.stopped{background:#ffebe9}p.note{color:#57606a;margin:0}"
    "footer{margin-top:32px;color:#57606a;font-size:13px}";

/* The command line, each argument in single quotes when it holds more
 * than letters, digits and _./=:,+- . */
static void put_command_line(FILE *t, const report_params *p)
{
    fputs("phmatch match", t);
    for (int i = 0; i < p->argc; i++) {
        const char *a = p->argv[i];
        putc(' ', t);
        if (a[0] && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789_./=:,+-") == strlen(a)) {
            html_str(t, a);
            continue;
        }
        putc('\'', t);
        for (size_t k = 0, len = strlen(a); k < len;) {
            size_t n = phm_utf8_seq(a + k, len - k);
            if (a[k] == '\'')
                fputs("&#39;\\&#39;&#39;", t);
            else
                html_text(t, a + k, n ? n : 1);
            k += n ? n : 1;
        }
        putc('\'', t);
    }
}

static void write_summary(report *r, FILE *t, const pipeline_stats *st, const report_counts *c,
                          const char *stopped)
{
    char buf[1024], when[21];
    phm_index_stats st1;
    int have_st1;

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>phmatch match report</title>\n<style>",
          t);
    fputs(style, t);
    fputs("</style>\n</head>\n<body>\n<h1>phmatch match report</h1>\n", t);
    if (stopped) {
        fputs("<p class=\"status stopped\">Incomplete: the run stopped early (", t);
        html_str(t, stopped);
        fputs(")</p>\n", t);
    } else {
        fputs("<p class=\"status\">Complete: every input was processed</p>\n", t);
    }

    fputs("<h2>Run</h2>\n<table class=\"kv\" id=\"run\">\n<tr><th>Command line</th>"
          "<td class=\"mono\">",
          t);
    put_command_line(t, &r->p);
    fputs("</td></tr>\n", t);
    kv(t, "Index", r->p.index_path);
    fprintf(t, "<tr><th>Max distance</th><td>%d</td></tr>\n", r->p.max_distance);
    fprintf(t, "<tr><th>Min quality</th><td>%d</td></tr>\n", r->p.min_quality);
    fprintf(t, "<tr><th>Max matches</th><td>%zu</td></tr>\n", r->p.max_matches);
    kv(t, "Orientations", r->p.dihedral ? "all 8 (--dihedral)" : "original only");
    fprintf(t, "<tr><th>Video thresholds</th><td>query %.6g%%, compared %.6g%%</td></tr>\n",
            r->p.query_threshold, r->p.compared_threshold);
    kv(t, "Hash mode", phm_mode_name(r->p.mode));
    iso_time(r->started, when);
    kv(t, "Started", when);
    iso_time((int64_t)time(NULL), when);
    kv(t, "Finished", when);
    fputs("</table>\n", t);

    fputs("<h2>Versions</h2>\n<table class=\"kv\" id=\"versions\">\n", t);
    kv(t, "phmatch", phm_version());
    phm_decoder_versions(buf, sizeof buf);
    kv(t, "Image decoders", buf);
    if (st->videos) {
        phm_video_versions(buf, sizeof buf);
        kv(t, "Video decoder", buf);
    }
    have_st1 = phm_index_get_stats(r->p.idx, &st1, buf, sizeof buf) == PHM_OK;
    if (have_st1) {
        if (r->have_st0 && r->st0.generation != st1.generation)
            snprintf(buf, sizeof buf, "%" PRIu64 " at the start, %" PRIu64 " at the end",
                     r->st0.generation, st1.generation);
        else
            snprintf(buf, sizeof buf, "%" PRIu64, st1.generation);
        kv(t, "Index generation", buf);
        snprintf(buf, sizeof buf, "%" PRIu32, st1.format_version);
        kv(t, "Index format", buf);
        kv_num(t, "Index entries", st1.entries);
        iso_time(st1.created, when);
        kv(t, "Index created", when);
    }
    fputs("</table>\n", t);

    fputs("<h2>Counts</h2>\n<table class=\"kv\" id=\"counts\">\n", t);
    kv_num(t, "Files", st->records);
    kv_num(t, "Hashed", st->hashed);
    kv_num(t, "Failed", st->failed);
    kv_num(t, "Videos", st->videos);
    kv_num(t, "Searched", c->searched);
    snprintf(buf, sizeof buf, "Not searched (quality &lt; %d)", r->p.min_quality);
    kv_num(t, buf, c->low_quality);
    if (c->search_failed)
        kv_num(t, "Searches failed", c->search_failed);
    kv_num(t, "Matched files", c->matched_inputs);
    if (c->suppressed_inputs)
        kv_num(t, "Files suppressed (benign list)", c->suppressed_inputs);
    kv_num(t, "Matches", c->matches);
    fputs("</table>\n<h3>By source and category</h3>\n", t);
    if (r->ngroups == 0) {
        fputs("<p class=\"note\">No match.</p>\n", t);
    } else {
        qsort(r->groups, r->ngroups, sizeof *r->groups, group_cmp);
        fputs("<table class=\"grid\" id=\"groups\">\n<thead><tr><th>Source</th><th>Category</th>"
              "<th>Matched files</th><th>Matches listed</th></tr></thead>\n<tbody>\n",
              t);
        for (size_t i = 0; i < r->ngroups; i++) {
            const group *g = &r->groups[i];
            fputs("<tr><td>", t);
            html_str(t, g->source);
            fputs("</td><td>", t);
            html_str(t, g->category);
            fprintf(t,
                    "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64
                    "</td></tr>\n",
                    g->files, g->matches);
        }
        fputs("</tbody>\n</table>\n", t);
    }
    fprintf(t, "<h2>Matched files (%" PRIu64 ")</h2>\n", r->media);
}

int report_finish(report *r, const pipeline_stats *st, const report_counts *c,
                  const char *stopped, char *err, size_t errlen)
{
    FILE *t = NULL;
    char buf[1 << 14];
    size_t n;
    int rc = -1;

    fputs("\n]}]}\n", r->json);
    if (fflush(r->json) != 0 || ferror(r->json) || fflush(r->rows) != 0 || ferror(r->rows)) {
        snprintf(err, errlen, "cannot write the report in '%s': %s", r->p.dir,
                 strerror(errno ? errno : EIO));
        return -1;
    }
    t = open_file(r, HTML_NAME ".part", "w", O_WRONLY | O_CREAT | O_TRUNC, err, errlen);
    if (!t)
        return -1;
    write_summary(r, t, st, c, stopped);
    rewind(r->rows);
    while ((n = fread(buf, 1, sizeof buf, r->rows)) > 0)
        fwrite(buf, 1, n, t);
    if (r->media == 0)
        fputs("<p class=\"note\">No file matched.</p>\n", t);
    fputs("<footer>Written by phmatch ", t);
    html_str(t, phm_version());
    fputs(". The matched files are listed, never shown; the case file beside this page "
          "(case.json) holds the same matches in Project VIC's VICS 2.0 format.</footer>\n"
          "</body>\n</html>\n",
          t);
    if (ferror(r->rows) || fflush(t) != 0 || ferror(t)) {
        snprintf(err, errlen, "cannot write the report in '%s': %s", r->p.dir,
                 strerror(errno ? errno : EIO));
        goto out;
    }
    if (fclose(r->json) != 0) {
        r->json = NULL;
        snprintf(err, errlen, "cannot write the report in '%s': %s", r->p.dir, strerror(errno));
        goto out;
    }
    r->json = NULL;
    if (renameat(r->dirfd, CASE_NAME ".part", r->dirfd, CASE_NAME) != 0 ||
        renameat(r->dirfd, HTML_NAME ".part", r->dirfd, HTML_NAME) != 0) {
        snprintf(err, errlen, "cannot write the report in '%s': %s", r->p.dir, strerror(errno));
        goto out;
    }
    r->finished = 1;
    rc = 0;
out:
    if (t && fclose(t) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write the report in '%s': %s", r->p.dir, strerror(errno));
        rc = -1;
    }
    return rc;
}

void report_free(report *r)
{
    if (!r)
        return;
    if (r->json)
        fclose(r->json);
    if (r->rows)
        fclose(r->rows);
    if (r->dirfd >= 0 && !r->finished) {
        unlinkat(r->dirfd, CASE_NAME ".part", 0);
        unlinkat(r->dirfd, HTML_NAME ".part", 0);
    }
    if (r->dirfd >= 0)
        close(r->dirfd);
    for (size_t i = 0; i < r->ngroups; i++) {
        free(r->groups[i].source);
        free(r->groups[i].category);
    }
    free(r->groups);
    free(r->spec_dir);
    free(r);
}
