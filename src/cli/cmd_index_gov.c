/* cmd_index_gov.c - the governance subcommands of `phmatch index`: source
 * settings (source show|set), disabled entries (disable, enable,
 * disabled), quarantine (quarantine [--release]) and audit. The rules and
 * the tables are libphmatch's (the governance block of phmatch.h); this
 * file parses options and prints. cmd_index.c hands these subcommands
 * over to cmd_index_gov(). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "args.h"
#include "cli.h"
#include "cmd_index_gov.h"

static const char usage_text[] =
    "usage: phmatch index source show [--format tsv|jsonl] DB [SOURCE]\n"
    "       phmatch index source set DB SOURCE [--enabled yes|no]\n"
    "                 [--max-distance N|default] [--min-quality N|default]\n"
    "                 [--kind normal|suppression] [--category-name CODE=NAME]...\n"
    "                 [--quarantine-limit N] [--quarantine-window DURATION]\n"
    "       phmatch index disable DB --source S [--until TIME] ID...\n"
    "       phmatch index enable DB --source S ID...\n"
    "       phmatch index disabled [--format tsv|jsonl] DB\n"
    "       phmatch index quarantine [--format tsv|jsonl] DB\n"
    "       phmatch index quarantine DB --release SOURCE ID\n"
    "       phmatch index audit [--images DIR] [--distance N] [--min-hits N]\n"
    "                 [--format tsv|jsonl] DB\n"
    "\n"
    "Governance: what may match, stored in the index and honoured by\n"
    "'phmatch match', 'phmatch lookup' and phmatchd (docs/SERVICE.md).\n"
    "\n"
    "source set changes only the settings given: --enabled no stops a source\n"
    "from matching; --max-distance replaces the request's distance for its\n"
    "entries ('default' goes back to the request's); --min-quality: queries\n"
    "of lower PDQ quality do not match it; --kind suppression makes it a list\n"
    "of benign images: a query matching one of its entries has every match\n"
    "reported as suppressed and counted as none; --category-name names a\n"
    "category code (CODE= removes the name); --quarantine-limit N (0 off,\n"
    "at most 1000) and --quarantine-window (default 1h): phmatchd\n"
    "quarantines an entry matched by more than N distinct queries within the\n"
    "window.\n"
    "\n"
    "disable stops entries from matching, until TIME (ISO 8601\n"
    "YYYY-MM-DDTHH:MM:SSZ, unix seconds, or +DURATION from now such as\n"
    "+2h) or until enabled.\n"
    "\n"
    "quarantine lists the quarantined entries; --release SOURCE ID lets one\n"
    "match again.\n"
    "\n"
    "audit searches every entry's hash in the index (within --distance,\n"
    "default 31) and lists the entries with at least --min-hits (default 5)\n"
    "other entries near them, most first; with --images DIR it hashes the\n"
    "images of DIR (benign images, not recursively) and lists the entries\n"
    "that match at least --min-hits (default 1) of them.\n"
    "\n"
    "Exit status: 0 done; 1 the operation failed (entry not found, index\n"
    "full or read-only); 2 usage error or an index that cannot be opened;\n"
    "3 out of memory or cannot write the output.\n";

enum {
    OPT_FORMAT = 256,
    OPT_ENABLED,
    OPT_MAX_DISTANCE,
    OPT_MIN_QUALITY,
    OPT_KIND,
    OPT_CATEGORY_NAME,
    OPT_QLIMIT,
    OPT_QWINDOW,
    OPT_SOURCE,
    OPT_UNTIL,
    OPT_RELEASE,
    OPT_IMAGES,
    OPT_DISTANCE,
    OPT_MIN_HITS,
};

static const args_option options[] = {
    { "format", OPT_FORMAT, 1, NULL },
    { "enabled", OPT_ENABLED, 1, NULL },
    { "max-distance", OPT_MAX_DISTANCE, 1, NULL },
    { "min-quality", OPT_MIN_QUALITY, 1, NULL },
    { "kind", OPT_KIND, 1, NULL },
    { "category-name", OPT_CATEGORY_NAME, 1, NULL },
    { "quarantine-limit", OPT_QLIMIT, 1, NULL },
    { "quarantine-window", OPT_QWINDOW, 1, NULL },
    { "source", OPT_SOURCE, 1, NULL },
    { "until", OPT_UNTIL, 1, NULL },
    { "release", OPT_RELEASE, 1, NULL },
    { "images", OPT_IMAGES, 1, NULL },
    { "distance", OPT_DISTANCE, 1, NULL },
    { "min-hits", OPT_MIN_HITS, 1, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL },
};

#define OB(k) (1u << ((k) - 256))

typedef struct gov_options {
    const char *sub;
    const char *db;
    char **ops; /* operands after DB */
    int nops;
    int jsonl;
    const char *source, *release, *images;
    int64_t until;
    int distance;
    uint64_t min_hits;
    int have_min_hits;
    phm_source_settings *set; /* source set: the changes, applied to the stored */
#define GOV_MAX_CAT_ARGS 64
    const char *cats[GOV_MAX_CAT_ARGS]; /* --category-name values */
    int ncats;
    unsigned changed;         /* OB() of the settings given */
} gov_options;

static int open_db(const gov_options *o, const cli_global *g, unsigned flags,
                   phm_index **idx)
{
    char err[PHM_ERRMSG_MAX];
    int rc = phm_index_open(idx, o->db, flags, 0, g->simd, err, sizeof err);
    if (rc == PHM_OK)
        return CLI_EXIT_OK;
    cli_error("%s", err);
    return rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_USAGE;
}

static int failed(int rc, const char *err)
{
    cli_error("%s", err);
    return rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_PARTIAL;
}

static void put_json(const char *s)
{
    phm_json_fwrite(stdout, s, strlen(s));
}

static void put_time(int64_t t)
{
    char buf[21];
    if (t > 0 && phm_hashlist_format_time(t, buf) == PHM_OK)
        fputs(buf, stdout);
    else
        fputs("-", stdout);
}

/* ---- source show / set ---- */

typedef struct show_ctx {
    int jsonl;
    const char *only;
    int shown;
} show_ctx;

void gov_print_source(const char *source, const phm_source_settings *s, uint64_t entries,
                      int json)
{
    double window = (double)s->quarantine_window_ns / 1e9;
    if (json) {
        fputs("{\"source\":", stdout);
        put_json(source);
        printf(",\"entries\":%" PRIu64 ",\"enabled\":%s,\"kind\":\"%s\"", entries,
               s->enabled ? "true" : "false", phm_source_kind_name(s->kind));
        if (s->max_distance >= 0)
            printf(",\"max_distance\":%d", s->max_distance);
        else
            fputs(",\"max_distance\":null", stdout);
        if (s->min_quality >= 0)
            printf(",\"min_quality\":%d", s->min_quality);
        else
            fputs(",\"min_quality\":null", stdout);
        printf(",\"quarantine_limit\":%u,\"quarantine_window\":%.3f,\"categories\":{",
               (unsigned)s->quarantine_limit, window);
        for (size_t i = 0; i < s->ncategories; i++) {
            if (i)
                putchar(',');
            put_json(s->categories[i].code);
            putchar(':');
            put_json(s->categories[i].name);
        }
        printf("},\"stored\":%s}", s->stored ? "true" : "false");
        return;
    }
    cli_put_quoted(stdout, source);
    printf("\t%" PRIu64 "\t%s\t%s\t", entries, s->enabled ? "yes" : "no",
           phm_source_kind_name(s->kind));
    if (s->max_distance >= 0)
        printf("%d", s->max_distance);
    else
        fputs("default", stdout);
    putchar('\t');
    if (s->min_quality >= 0)
        printf("%d", s->min_quality);
    else
        fputs("default", stdout);
    printf("\t%u\t%.3fs\t", (unsigned)s->quarantine_limit, window);
    for (size_t i = 0; i < s->ncategories; i++) {
        if (i)
            putchar(' ');
        cli_put_quoted(stdout, s->categories[i].code);
        putchar('=');
        cli_put_quoted(stdout, s->categories[i].name);
    }
}

static const char source_header[] =
    "source\tentries\tenabled\tkind\tmax_distance\tmin_quality\tquarantine_limit\t"
    "quarantine_window\tcategory_names\n";

static int show_one(void *ctx, const char *source, const phm_source_settings *s,
                    uint64_t entries)
{
    show_ctx *x = ctx;
    if (x->only && strcmp(x->only, source) != 0)
        return 0;
    gov_print_source(source, s, entries, x->jsonl);
    putchar('\n');
    x->shown++;
    return 0;
}

static int do_source_show(const gov_options *o, const cli_global *g)
{
    phm_index *idx;
    char err[PHM_ERRMSG_MAX];
    if (o->nops > 1)
        return cli_usage_error("index", "unexpected argument '%s'", o->ops[1]);
    int status = open_db(o, g, PHM_INDEX_RDONLY, &idx);
    if (status)
        return status;
    show_ctx x = { o->jsonl, o->nops ? o->ops[0] : NULL, 0 };
    if (!o->jsonl)
        fputs(source_header, stdout);
    int rc = phm_index_source_foreach(idx, show_one, &x, err, sizeof err);
    if (rc != PHM_OK) {
        status = failed(rc, err);
    } else if (x.only && !x.shown) {
        /* no entries and nothing stored: the defaults */
        phm_source_settings *s = malloc(sizeof *s);
        if (!s) {
            cli_error("out of memory");
            status = CLI_EXIT_FATAL;
        } else if ((rc = phm_index_source_get(idx, x.only, s, err, sizeof err))) {
            status = failed(rc, err);
        } else {
            show_one(&x, x.only, s, 0);
        }
        free(s);
    }
    phm_index_close(idx);
    return status;
}

static int do_source_set(const gov_options *o, const cli_global *g)
{
    phm_index *idx;
    char err[PHM_ERRMSG_MAX];
    if (o->nops != 1)
        return cli_usage_error("index", "'index source set' needs DB and SOURCE");
    if (!o->changed)
        return cli_usage_error("index", "'index source set' needs a setting to change");
    phm_source_settings *s = malloc(sizeof *s);
    if (!s) {
        cli_error("out of memory");
        return CLI_EXIT_FATAL;
    }
    int status = open_db(o, g, 0, &idx);
    if (status) {
        free(s);
        return status;
    }
    const char *source = o->ops[0];
    const phm_source_settings *n = o->set;
    int rc = phm_index_source_get(idx, source, s, err, sizeof err);
    if (rc == PHM_OK) {
        if (o->changed & OB(OPT_ENABLED))
            s->enabled = n->enabled;
        if (o->changed & OB(OPT_MAX_DISTANCE))
            s->max_distance = n->max_distance;
        if (o->changed & OB(OPT_MIN_QUALITY))
            s->min_quality = n->min_quality;
        if (o->changed & OB(OPT_KIND))
            s->kind = n->kind;
        if (o->changed & OB(OPT_QLIMIT))
            s->quarantine_limit = n->quarantine_limit;
        if (o->changed & OB(OPT_QWINDOW))
            s->quarantine_window_ns = n->quarantine_window_ns;
        /* --category-name CODE=NAME, in order; CODE= removes */
        for (int i = 0; i < o->ncats && rc == PHM_OK; i++) {
            char code[PHM_INDEX_MAX_CATEGORY + 1];
            const char *eq = strchr(o->cats[i], '=');
            memcpy(code, o->cats[i], (size_t)(eq - o->cats[i]));
            code[eq - o->cats[i]] = '\0';
            rc = phm_source_set_category(s, code, eq + 1, err, sizeof err);
        }
    }
    if (rc == PHM_OK)
        rc = phm_index_source_set(idx, source, s, err, sizeof err);
    if (rc != PHM_OK)
        status = failed(rc, err);
    else {
        fputs(source_header, stdout);
        gov_print_source(source, s, 0, 0);
        putchar('\n');
    }
    phm_index_close(idx);
    free(s);
    return status;
}

/* ---- disable / enable / disabled ---- */

static int do_disable(const gov_options *o, const cli_global *g, int disable)
{
    phm_index *idx;
    char err[PHM_ERRMSG_MAX];
    if (!o->source || o->nops < 1)
        return cli_usage_error("index", "'index %s' needs --source S and an ID",
                               disable ? "disable" : "enable");
    int status = open_db(o, g, 0, &idx);
    if (status)
        return status;
    int rc = phm_index_entries_disable(idx, o->source, (const char *const *)o->ops,
                                       (size_t)o->nops, disable, o->until, err,
                                       sizeof err);
    if (rc != PHM_OK)
        status = failed(rc, err);
    else
        fprintf(stderr, "phmatch: %s %d entr%s of source '%s'\n",
                disable ? "disabled" : "enabled", o->nops, o->nops == 1 ? "y" : "ies",
                o->source);
    phm_index_close(idx);
    return status;
}

static int print_disabled(void *ctx, const char *source, const char *id, int64_t until,
                          int64_t since)
{
    const gov_options *o = ctx;
    int64_t now = (int64_t)time(NULL);
    int active = until == 0 || until > now;
    if (o->jsonl) {
        fputs("{\"source\":", stdout);
        put_json(source);
        fputs(",\"id\":", stdout);
        put_json(id);
        printf(",\"until\":%" PRId64 ",\"since\":%" PRId64 ",\"active\":%s}\n", until,
               since, active ? "true" : "false");
        return 0;
    }
    cli_put_quoted(stdout, source);
    putchar('\t');
    cli_put_quoted(stdout, id);
    putchar('\t');
    put_time(until);
    putchar('\t');
    put_time(since);
    printf("\t%s\n", active ? "yes" : "no");
    return 0;
}

static int do_disabled(const gov_options *o, const cli_global *g)
{
    phm_index *idx;
    char err[PHM_ERRMSG_MAX];
    if (o->nops)
        return cli_usage_error("index", "unexpected argument '%s'", o->ops[0]);
    int status = open_db(o, g, PHM_INDEX_RDONLY, &idx);
    if (status)
        return status;
    if (!o->jsonl)
        fputs("source\tid\tuntil\tsince\tactive\n", stdout);
    int rc = phm_index_disabled_foreach(idx, print_disabled, (void *)(uintptr_t)o, err,
                                        sizeof err);
    if (rc != PHM_OK)
        status = failed(rc, err);
    phm_index_close(idx);
    return status;
}

/* ---- quarantine ---- */

static int print_quarantined(void *ctx, const char *source, const char *id, int64_t when,
                             uint64_t count)
{
    const gov_options *o = ctx;
    if (o->jsonl) {
        fputs("{\"source\":", stdout);
        put_json(source);
        fputs(",\"id\":", stdout);
        put_json(id);
        printf(",\"since\":%" PRId64 ",\"count\":%" PRIu64 "}\n", when, count);
        return 0;
    }
    cli_put_quoted(stdout, source);
    putchar('\t');
    cli_put_quoted(stdout, id);
    putchar('\t');
    put_time(when);
    printf("\t%" PRIu64 "\n", count);
    return 0;
}

static int do_quarantine(const gov_options *o, const cli_global *g)
{
    phm_index *idx;
    char err[PHM_ERRMSG_MAX];
    if (o->release && o->nops != 1)
        return cli_usage_error("index", "--release SOURCE needs one ID after DB");
    if (!o->release && o->nops)
        return cli_usage_error("index", "unexpected argument '%s'", o->ops[0]);
    int status = open_db(o, g, o->release ? 0 : PHM_INDEX_RDONLY, &idx);
    if (status)
        return status;
    int rc;
    if (o->release) {
        rc = phm_index_quarantine_release(idx, o->release, o->ops[0], err, sizeof err);
        if (rc == PHM_OK)
            fprintf(stderr, "phmatch: released '%s:%s'\n", o->release, o->ops[0]);
    } else {
        if (!o->jsonl)
            fputs("source\tid\tsince\tcount\n", stdout);
        rc = phm_index_quarantine_foreach(idx, print_quarantined, (void *)(uintptr_t)o,
                                          err, sizeof err);
    }
    if (rc != PHM_OK)
        status = failed(rc, err);
    phm_index_close(idx);
    return status;
}

/* ---- audit ---- */

typedef struct audit_item {
    uint64_t entry;
    phm_pdq hash;
    uint64_t hits;
} audit_item;

typedef struct audit_ctx {
    audit_item *v;
    size_t n, cap;
    int nomem;
} audit_ctx;

static int collect_entry(void *ctx, uint64_t entry, const phm_entry *e)
{
    audit_ctx *a = ctx;
    if (!(e->signals & PHM_SIG_PDQ))
        return 0;
    if (a->n == a->cap) {
        size_t c = a->cap ? 2 * a->cap : 1024;
        audit_item *nv = realloc(a->v, c * sizeof *nv);
        if (!nv) {
            a->nomem = 1;
            return 1;
        }
        a->v = nv;
        a->cap = c;
    }
    a->v[a->n++] = (audit_item){ entry, e->pdq, 0 };
    return 0;
}

static int by_hits(const void *x, const void *y)
{
    const audit_item *a = x, *b = y;
    if (a->hits != b->hits)
        return a->hits > b->hits ? -1 : 1;
    return (a->entry > b->entry) - (a->entry < b->entry);
}

static int by_entry(const void *x, const void *y)
{
    const audit_item *a = x, *b = y;
    return (a->entry > b->entry) - (a->entry < b->entry);
}

/* Counts, per entry, the images of dir within distance. */
static int audit_images(const gov_options *o, phm_searcher *s, audit_ctx *a,
                        uint64_t *images)
{
    char err[PHM_ERRMSG_MAX];
    DIR *d = opendir(o->images);
    phm_decoder *dec = NULL;
    phm_hasher *h = NULL;
    int status = CLI_EXIT_OK;
    if (!d) {
        cli_error("cannot open directory '%s': %s", o->images, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO)) {
        cli_error("out of memory");
        status = CLI_EXIT_FATAL;
        goto out;
    }
    if (a->n) /* an empty index has no array (NULL) */
        qsort(a->v, a->n, sizeof *a->v, by_entry);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(o->images) + strlen(de->d_name) + 2;
        char *path = malloc(len);
        if (!path) {
            status = CLI_EXIT_FATAL;
            break;
        }
        snprintf(path, len, "%s/%s", o->images, de->d_name);
        struct stat st;
        phm_pdq_result r;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        int rc = phm_hash_file(dec, h, path, PHM_MODE_FULL, 0, &r, NULL, err, sizeof err);
        free(path);
        if (rc < 0) {
            cli_error("%s", err);
            status = CLI_EXIT_PARTIAL;
            continue;
        }
        (*images)++;
        const phm_match *m;
        size_t n;
        /* plain hashes, both: an entry's soft hashes answer a soft one only */
        rc = phm_search_radius_plain(s, &r.hash[0], o->distance, &m, &n, err, sizeof err);
        if (rc != PHM_OK) {
            status = failed(rc, err);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            audit_item key = { .entry = m[i].entry };
            audit_item *it = bsearch(&key, a->v, a->n, sizeof *a->v, by_entry);
            if (it)
                it->hits++;
        }
    }
out:
    closedir(d);
    phm_decoder_free(dec);
    phm_hasher_free(h);
    return status;
}

static int do_audit(const gov_options *o, const cli_global *g)
{
    phm_index *idx;
    phm_searcher *s = NULL;
    char err[PHM_ERRMSG_MAX];
    audit_ctx a = { NULL, 0, 0, 0 };
    uint64_t min_hits = o->have_min_hits ? o->min_hits : o->images ? 1 : 5;
    uint64_t images = 0;
    if (o->nops)
        return cli_usage_error("index", "unexpected argument '%s'", o->ops[0]);
    int status = open_db(o, g, PHM_INDEX_RDONLY, &idx);
    if (status)
        return status;
    int rc = phm_index_foreach(idx, collect_entry, &a, err, sizeof err);
    if (a.nomem) {
        cli_error("out of memory");
        status = CLI_EXIT_FATAL;
        goto out;
    }
    if (rc == PHM_OK)
        rc = phm_searcher_new(idx, &s, err, sizeof err);
    if (rc != PHM_OK) {
        status = failed(rc, err);
        goto out;
    }
    if (o->images) {
        status = audit_images(o, s, &a, &images);
        if (status == CLI_EXIT_FATAL || status == CLI_EXIT_USAGE)
            goto out;
    } else {
        for (size_t i = 0; i < a.n; i++) {
            const phm_match *m;
            size_t n;
            rc = phm_search_radius_plain(s, &a.v[i].hash, o->distance, &m, &n, err,
                                         sizeof err);
            if (rc != PHM_OK) {
                status = failed(rc, err);
                goto out;
            }
            for (size_t k = 0; k < n; k++)
                if (m[k].entry != a.v[i].entry)
                    a.v[i].hits++;
        }
    }
    if (a.n)
        qsort(a.v, a.n, sizeof *a.v, by_hits);
    if (!o->jsonl)
        fputs("entry\tsource\tid\tcategory\thits\n", stdout);
    for (size_t i = 0; i < a.n && a.v[i].hits >= min_hits && a.v[i].hits; i++) {
        phm_entry e;
        if (phm_searcher_get(s, a.v[i].entry, &e, err, sizeof err) != PHM_OK)
            continue;
        if (o->jsonl) {
            printf("{\"entry\":%" PRIu64 ",\"source\":", a.v[i].entry);
            put_json(e.source);
            fputs(",\"id\":", stdout);
            put_json(e.id);
            fputs(",\"category\":", stdout);
            put_json(e.category ? e.category : "");
            printf(",\"hits\":%" PRIu64 ",\"against\":\"%s\"}\n", a.v[i].hits,
                   o->images ? "images" : "index");
        } else {
            printf("%" PRIu64 "\t", a.v[i].entry);
            cli_put_quoted(stdout, e.source);
            putchar('\t');
            cli_put_quoted(stdout, e.id);
            putchar('\t');
            cli_put_quoted(stdout, e.category ? e.category : "");
            printf("\t%" PRIu64 "\n", a.v[i].hits);
        }
    }
    if (o->images)
        fprintf(stderr, "phmatch: audit: %" PRIu64 " images hashed, %zu entries searched\n",
                images, a.n);
    else
        fprintf(stderr, "phmatch: audit: %zu entries searched within distance %d\n", a.n,
                o->distance);
out:
    phm_searcher_free(s);
    phm_index_close(idx);
    free(a.v);
    return status;
}

/* ---- dispatch ---- */

typedef struct gov_sub {
    const char *name;
    unsigned opts;
} gov_sub;

static const gov_sub subs[] = {
    { "source show", OB(OPT_FORMAT) },
    { "source set", OB(OPT_ENABLED) | OB(OPT_MAX_DISTANCE) | OB(OPT_MIN_QUALITY) |
                        OB(OPT_KIND) | OB(OPT_CATEGORY_NAME) | OB(OPT_QLIMIT) |
                        OB(OPT_QWINDOW) },
    { "disable", OB(OPT_SOURCE) | OB(OPT_UNTIL) },
    { "enable", OB(OPT_SOURCE) },
    { "disabled", OB(OPT_FORMAT) },
    { "quarantine", OB(OPT_FORMAT) | OB(OPT_RELEASE) },
    { "audit", OB(OPT_FORMAT) | OB(OPT_IMAGES) | OB(OPT_DISTANCE) | OB(OPT_MIN_HITS) },
};

int cmd_index_gov_is(const char *sub)
{
    return strcmp(sub, "source") == 0 || strcmp(sub, "disable") == 0 ||
           strcmp(sub, "enable") == 0 || strcmp(sub, "disabled") == 0 ||
           strcmp(sub, "quarantine") == 0 || strcmp(sub, "audit") == 0;
}

/* --until: +DURATION from now, or a time phm_hashlist_parse_time reads. */
static int parse_until(const args_parser *p, const char *arg, int64_t *out)
{
    uint64_t ns;
    if (arg[0] == '+') {
        if (phm_duration_parse(arg + 1, &ns) == PHM_OK) {
            *out = (int64_t)time(NULL) + (int64_t)(ns / 1000000000u) + (ns % 1000000000u != 0);
            return 0;
        }
    } else if (phm_hashlist_parse_time(arg, strlen(arg), out) == PHM_OK && *out > 0) {
        return 0;
    }
    cli_error("invalid value '%s' for %s: expected YYYY-MM-DDTHH:MM:SSZ, unix seconds "
              "or +DURATION", arg, args_spelling(p));
    return -1;
}

/* --max-distance / --min-quality: N in [0, max], or "default" (-1). */
static int parse_setting(const args_parser *p, const char *arg, uint64_t max, int *out)
{
    uint64_t v;
    if (strcmp(arg, "default") == 0) {
        *out = -1;
        return 0;
    }
    if (args_parse_u64(p, arg, 0, max, 0, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_option(gov_options *o, const args_parser *p, int key, const char *arg)
{
    uint64_t v;
    phm_source_settings *s = o->set;
    switch (key) {
    case OPT_FORMAT:
        if (strcmp(arg, "tsv") != 0 && strcmp(arg, "jsonl") != 0) {
            cli_error("unknown format '%s' (expected tsv or jsonl)", arg);
            return -1;
        }
        o->jsonl = strcmp(arg, "jsonl") == 0;
        return 0;
    case OPT_ENABLED:
        if (strcmp(arg, "yes") != 0 && strcmp(arg, "no") != 0) {
            cli_error("invalid value '%s' for --enabled (expected yes or no)", arg);
            return -1;
        }
        s->enabled = strcmp(arg, "yes") == 0;
        break;
    case OPT_MAX_DISTANCE:
        if (parse_setting(p, arg, PHM_INDEX_MAX_RADIUS, &s->max_distance))
            return -1;
        break;
    case OPT_MIN_QUALITY:
        if (parse_setting(p, arg, 100, &s->min_quality))
            return -1;
        break;
    case OPT_KIND:
        if (phm_source_kind_parse(arg, &s->kind) != PHM_OK) {
            cli_error("invalid value '%s' for --kind (expected normal or suppression)", arg);
            return -1;
        }
        break;
    case OPT_CATEGORY_NAME: {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg || (size_t)(eq - arg) > PHM_INDEX_MAX_CATEGORY) {
            cli_error("invalid value '%s' for --category-name (expected CODE=NAME)", arg);
            return -1;
        }
        if (o->ncats == GOV_MAX_CAT_ARGS) {
            cli_error("too many --category-name options (at most %d)", GOV_MAX_CAT_ARGS);
            return -1;
        }
        o->cats[o->ncats++] = arg; /* applied to the stored settings */
        break;
    }
    case OPT_QLIMIT:
        if (args_parse_u64(p, arg, 0, PHM_QUARANTINE_MAX_LIMIT, 0, &v) != 0)
            return -1;
        s->quarantine_limit = (uint32_t)v;
        break;
    case OPT_QWINDOW: {
        double secs;
        if (args_parse_duration(p, arg, 1, 30 * 86400.0, &secs) != 0)
            return -1;
        s->quarantine_window_ns = (uint64_t)(secs * 1e9 + 0.5);
        break;
    }
    case OPT_SOURCE: o->source = arg; return 0;
    case OPT_UNTIL: return parse_until(p, arg, &o->until);
    case OPT_RELEASE: o->release = arg; return 0;
    case OPT_IMAGES: o->images = arg; return 0;
    case OPT_DISTANCE:
        if (args_parse_u64(p, arg, 0, PHM_INDEX_MAX_RADIUS, 0, &v) != 0)
            return -1;
        o->distance = (int)v;
        return 0;
    case OPT_MIN_HITS:
        if (args_parse_u64(p, arg, 1, UINT64_MAX, 0, &o->min_hits) != 0)
            return -1;
        o->have_min_hits = 1;
        return 0;
    default: return 0;
    }
    o->changed |= OB(key);
    return 0;
}

int cmd_index_gov(int argc, char **argv, const cli_global *g)
{
    gov_options o;
    args_parser p;
    const gov_sub *sub = NULL;
    const char *arg;
    int key, nops = 0, skip = 1, status = CLI_EXIT_OK;
    char name[32];

    memset(&o, 0, sizeof o);
    o.distance = PHM_PDQ_MATCH_DISTANCE;
    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        fputs(usage_text, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "source") == 0) {
        if (argc < 3 || (strcmp(argv[2], "show") != 0 && strcmp(argv[2], "set") != 0))
            return cli_usage_error("index", "'index source' needs show or set");
        snprintf(name, sizeof name, "source %s", argv[2]);
        skip = 2;
    } else {
        snprintf(name, sizeof name, "%s", argv[1]);
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(name, subs[i].name) == 0)
            sub = &subs[i];
    if (!sub)
        return cli_usage_error("index", "unknown subcommand '%s'", name);
    o.sub = sub->name;
    char **operands = calloc((size_t)argc, sizeof *operands);
    o.set = malloc(sizeof *o.set);
    if (!operands || !o.set) {
        free(operands);
        free(o.set);
        cli_error("out of memory");
        return CLI_EXIT_FATAL;
    }
    phm_source_settings_init(o.set);
    args_init(&p, "index", argc - skip, argv + skip);
    while ((key = args_next(&p, options, &arg)) != ARGS_END) {
        if (key == ARGS_ERROR) {
            status = CLI_EXIT_USAGE;
            goto out;
        }
        if (key == ARGS_OPERAND) {
            operands[nops++] = (char *)arg;
            continue;
        }
        if (key == 'h') {
            fputs(usage_text, stdout);
            goto out;
        }
        if (!(sub->opts & OB(key))) {
            status = cli_usage_error("index", "'index %s' takes no option %s", sub->name,
                                     args_spelling(&p));
            goto out;
        }
        if (parse_option(&o, &p, key, arg) != 0) {
            status = CLI_EXIT_USAGE;
            goto out;
        }
    }
    if (nops < 1) {
        status = cli_usage_error("index", "'index %s' needs an index path", sub->name);
        goto out;
    }
    o.db = operands[0];
    o.ops = operands + 1;
    o.nops = nops - 1;
    cli_check_simd(g->simd);
    if (strcmp(o.sub, "source show") == 0)
        status = do_source_show(&o, g);
    else if (strcmp(o.sub, "source set") == 0)
        status = do_source_set(&o, g);
    else if (strcmp(o.sub, "disable") == 0)
        status = do_disable(&o, g, 1);
    else if (strcmp(o.sub, "enable") == 0)
        status = do_disable(&o, g, 0);
    else if (strcmp(o.sub, "disabled") == 0)
        status = do_disabled(&o, g);
    else if (strcmp(o.sub, "quarantine") == 0)
        status = do_quarantine(&o, g);
    else
        status = do_audit(&o, g);
out:
    free(operands);
    free(o.set);
    return status;
}

/* `index stats`: the governance counts, in its two formats. */
void cmd_index_gov_stats(phm_index *idx, int json)
{
    phm_governance_counts c;
    char err[PHM_ERRMSG_MAX];
    if (phm_index_governance_counts(idx, (int64_t)time(NULL), &c, err, sizeof err) != PHM_OK) {
        cli_error("%s", err);
        return;
    }
    if (json)
        printf(",\"sources_set\":%" PRIu64 ",\"disabled\":%" PRIu64
               ",\"quarantined\":%" PRIu64,
               c.sources_set, c.disabled, c.quarantined);
    else
        printf("sources_set\t%" PRIu64 "\ndisabled\t%" PRIu64 "\nquarantined\t%" PRIu64 "\n",
               c.sources_set, c.disabled, c.quarantined);
}

typedef struct stats_src {
    int json;
    size_t n;
} stats_src;

static int stats_source(void *ctx, const char *source, const phm_source_settings *s,
                        uint64_t entries)
{
    stats_src *x = ctx;
    if (x->json) {
        if (x->n)
            putchar(',');
        gov_print_source(source, s, entries, 1);
    } else {
        fputs("source\t", stdout);
        gov_print_source(source, s, entries, 0);
        putchar('\n');
    }
    x->n++;
    return 0;
}

void cmd_index_gov_stats_sources(phm_index *idx, int json)
{
    char err[PHM_ERRMSG_MAX];
    stats_src x = { json, 0 };
    if (json)
        fputs(",\"sources\":[", stdout);
    int rc = phm_index_source_foreach(idx, stats_source, &x, err, sizeof err);
    if (json)
        fputs("]", stdout);
    if (rc != PHM_OK)
        cli_error("%s", err);
}
