/* cmd_index.c - `phmatch index SUBCOMMAND`: create, import, add, remove,
 * stats, export, verify and compact a known-material index
 * (docs/INDEX_FORMAT.md). Hash lists are read and written by the library
 * (phm_hashlist_*). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "cmd_index_gov.h"
#include "index_images.h"
#include "index_vpdq.h"
#include "progress.h"

static const char usage_text[] =
    "usage: phmatch index create DB\n"
    "       phmatch index import [options] DB FILE...\n"
    "       phmatch index add DB --hash HEX --source S --id ID [--category C]\n"
    "                         [--note N] [--quality Q]\n"
    "       phmatch index add --images [--augment] [--variants LIST] --source S\n"
    "                         [--category C] [--note N] DB PATH...\n"
    "       phmatch index remove DB --source S (--id ID | --all)\n"
    "       phmatch index stats [--format text|json] DB\n"
    "       phmatch index export [--format F] DB\n"
    "       phmatch index export --format vpdq --output-dir DIR DB\n"
    "       phmatch index verify DB\n"
    "       phmatch index compact DB\n"
    "       phmatch index snapshot DB OUT\n"
    "       phmatch index upgrade [--backup FILE] [-q] DB\n"
    "       phmatch index source show|set ..., disable, enable, disabled,\n"
    "       quarantine, audit: see 'phmatch index source --help'\n"
    "\n"
    "Manages an index of known hashes (one LMDB file, mode 0600).\n"
    "\n"
    "import reads hash lists (FILE, or - for standard input) in any format of\n"
    "docs/HASHLISTS.md: pdq, hex, hma, csv, tsv, jsonl, and the publishers'\n"
    "vics, ncmec, stopncii, threatexchange, threatexchange-csv, tat, icse\n"
    "(found from the content unless --format). The whole import is one\n"
    "transaction: if a record is bad (malformed, a hash no image gives such as\n"
    "all zero, quality below --min-quality, an id given two hashes) it is\n"
    "reported as FILE:LINE: message (FILE: record N: for JSON/XML documents)\n"
    "and nothing is stored. A feed's deletion records remove their entries.\n"
    "Importing the same list again changes nothing. A file whose content is\n"
    "vPDQ lines (frame,quality,hash,timestamp: 'phmatch hash -f vpdq') is one\n"
    "video entry, its id the file name without .txt or .vpdq (or --id).\n"
    "Options:\n"
    "      --source S      source of entries whose list names none\n"
    "      --category C    category of entries whose list names none\n"
    "      --id ID         the id of the video of a single vPDQ FILE\n"
    "      --format F      auto (default), pdq, hex, hma, csv, tsv, jsonl, vpdq,\n"
    "                      vics, ncmec, stopncii, threatexchange,\n"
    "                      threatexchange-csv, tat, icse\n"
    "      --skip-bad      store the good lines, list the bad ones (exit 1)\n"
    "      --min-quality N refuse entries whose quality is below N (0..100)\n"
    "      --map-size N    largest size the file may reach (e.g. 64Gi)\n"
    "\n"
    "snapshot writes a compacted copy of DB, from one consistent state (writers\n"
    "may run meanwhile), to a temporary file beside OUT, syncs it, checks that\n"
    "it opens and renames it over OUT (mode 0600): a read-only phmatchd serving\n"
    "OUT swaps to it (docs/DEPLOY.md). Prints 'OUT: N entries'.\n"
    "\n"
    "add --images hashes each image under PATH (files; directories walked as\n"
    "'phmatch hash' does), one entry each, its id the path as given. With\n"
    "--augment it also stores the hashes of the image's edits (default set of\n"
    "62: crops of 5, 10, 15 % centred and of 5, 8, 10, 15 % at each corner,\n"
    "rotations of +-5 degrees filled and cropped, gamma up and down, a blur,\n"
    "a quarter-size downscale, letterbox and pillarbox bars of 10 and 20 %\n"
    "(and of 10 % with a blurred fill), the lower, the upper or the middle\n"
    "third cut off (captions); where the image's hash moves under them, the\n"
    "image at half size, as a JPEG of quality 30, flipped and turned 90\n"
    "degrees; with a plain white or black edge of its own, the image cut to\n"
    "its content off that edge; where blurring moves it, the soft hash of\n"
    "each 8 % corner and of the whole image, which only a query's soft hash\n"
    "is compared with; where trimming would cut a margin or frame of its\n"
    "own with black or white bars, what it keeps of such a copy; at most 255\n"
    "pixels a side, it and its content off a plain edge resampled evenly to\n"
    "64 x 64 (area64), which only a query's area64 hashes are compared with;\n"
    "where its sides are much white (black) and such a turn shows no corners\n"
    "for a query to be turned back by, turned +-3 and +-5 degrees on a canvas\n"
    "of that colour grown to hold it (rot+5-grown ...); for a PNG, WebP, GIF,\n"
    "HEIF, AVIF, JPEG XL, TIFF or BMP image with transparent pixels, it over\n"
    "white and over black (flat-white, flat-black), its other edits then made\n"
    "from it over white, the entry's own hash staying the reference's (alpha\n"
    "dropped); docs/ROBUST.md) as variants of that\n"
    "entry: a match through one names it in known_variant. An image below\n"
    "PDQ's quality gate (50) gets no rotation on a black canvas (rot+-3,\n"
    "rot+-5: a calm picture turned hashes as its corners), nor is an edit\n"
    "that hashes to a repeated pattern kept. --variants LIST\n"
    "picks them by name (crop5-c, crop10-c, crop15-c, crop20-c, crop10-tl,\n"
    "... crop20-br, crop8-tl, rot+3, rot-5, rot+5-crop, gamma-up, gamma-down,\n"
    "blur, down25, letterbox10, pillarbox20, letterbox10-blur, cut-bottom,\n"
    "cut-top, cut-middle, down50, jpeg30, mirror, rot90, trim-white,\n"
    "trim-black, trim-white-thin, trim-lbox-black, trim-pbox-white, soft,\n"
    "soft-crop8-tl, ..., area64, area64-trim, area64-trim-thin, rot+5-grown,\n"
    "rot-5-grown, rot+3-grown, rot-3-grown, flat-white, flat-black;\n"
    "'default' = --augment's).\n"
    "A file that cannot be read or decoded is reported; the rest are stored\n"
    "(exit 1).\n"
    "\n"
    "upgrade converts an index of an older format version (2 to 5; this build\n"
    "refuses to open those) into this build's, in place: it writes a new file\n"
    "beside DB, checks it (verify, and every count equal to the old file's)\n"
    "and renames it over DB; on any failure DB is left as it was, but for one:\n"
    "when DB's directory cannot be synced after the rename, DB is the new\n"
    "file, which may not survive a crash (exit 1, said). Entries keep\n"
    "every field and their added time (entry numbers are renumbered), and the\n"
    "source settings, disabled and quarantine rows and the next HMA content id\n"
    "are kept. Stop the processes that have DB open first (they are refused).\n"
    "--backup FILE keeps the old file as FILE (a hard link: same file\n"
    "system), readable by the old build. -q: no summary, no progress.\n"
    "\n"
    "stats prints the index's counters (the fields of phm_index_stats, as\n"
    "phmatchd's GET /v1/index) as 'name<TAB>value' lines, or one JSON object\n"
    "with --format json.\n"
    "\n"
    "export writes every entry in --format tsv (default), csv, jsonl, pdq,\n"
    "hex or hma on standard output; jsonl alone is lossless (stored variants\n"
    "included), the others write an entry's own hash. Video entries go in jsonl\n"
    "(their frames in \"vpdq\") or with --format vpdq --output-dir DIR, as\n"
    "DIR/ID.txt, one vPDQ file each. --format vics writes a Project VIC\n"
    "VICS 2.0 hash set (one JSON document, docs/HASHLISTS.md).\n"
    "\n"
    "Exit status: 0 done; 1 the operation failed or found problems (bad\n"
    "lines, verify failed, index full, entry not found); 2 usage error or an\n"
    "index that cannot be opened (missing, not an index, truncated, another\n"
    "format version); 3 out of memory or cannot write the output.\n";

enum {
    OPT_SOURCE = 256,
    OPT_CATEGORY,
    OPT_FORMAT,
    OPT_SKIP_BAD,
    OPT_MAP_SIZE,
    OPT_HASH,
    OPT_ID,
    OPT_NOTE,
    OPT_QUALITY,
    OPT_ALL,
    OPT_OUTPUT_DIR,
    OPT_MIN_QUALITY,
    OPT_IMAGES,
    OPT_AUGMENT,
    OPT_VARIANTS,
    OPT_BACKUP,
};

static const args_option options[] = {
    { "source", OPT_SOURCE, 1, NULL },
    { "category", OPT_CATEGORY, 1, NULL },
    { "format", OPT_FORMAT, 1, NULL },
    { "skip-bad", OPT_SKIP_BAD, 0, NULL },
    { "map-size", OPT_MAP_SIZE, 1, NULL },
    { "hash", OPT_HASH, 1, NULL },
    { "id", OPT_ID, 1, NULL },
    { "note", OPT_NOTE, 1, NULL },
    { "quality", OPT_QUALITY, 1, NULL },
    { "all", OPT_ALL, 0, NULL },
    { "output-dir", OPT_OUTPUT_DIR, 1, NULL },
    { "min-quality", OPT_MIN_QUALITY, 1, NULL },
    { "images", OPT_IMAGES, 0, NULL },
    { "augment", OPT_AUGMENT, 0, NULL },
    { "variants", OPT_VARIANTS, 1, NULL },
    { "backup", OPT_BACKUP, 1, NULL },
    { "quiet", 'q', 0, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL },
};

/* Which options each subcommand takes (bits of 1 << (key - 256)). */
#define OB(k) (1u << ((k) - 256))

typedef struct index_options {
    const char *sub;
    const char *db;
    char **files;
    int nfiles;
    const char *source, *category, *hash, *id, *note;
    int quality;
    int min_quality; /* import: 0 = none */
    int skip_bad, all;
    const char *backup; /* upgrade */
    int quiet;          /* upgrade */
    int have_format;
    phm_hashlist_format format;
    int vpdq; /* export --format vpdq */
    int stats_json; /* stats --format json */
    const char *output_dir;
    uint64_t map_size;
    int images, augment;   /* add --images [--augment] */
    const char *variants;  /* add --images --variants LIST */
} index_options;

static int open_index(const index_options *o, const cli_global *g,
                      unsigned flags, phm_index **idx)
{
    char err[PHM_ERRMSG_MAX];
    int rc = phm_index_open(idx, o->db, flags, (size_t)o->map_size, g->simd,
                            err, sizeof err);
    if (rc == PHM_OK)
        return CLI_EXIT_OK;
    cli_error("%s", err);
    return rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_USAGE;
}

/* Exit status for a failed write: out of memory is fatal, the rest (full,
 * read-only, storage) is a failed operation. */
static int write_failed(int rc, const char *db, const char *err)
{
    cli_error("%s", err);
    if (rc == PHM_ERR_FULL)
        cli_error("index '%s' is full; nothing of this operation was stored "
                  "(give a larger --map-size)", db);
    return rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_PARTIAL;
}

/* A change made in one write transaction: returns CLI_EXIT_OK to commit
 * it, or an exit status (after a message) to store nothing. */
typedef int index_change(const index_options *o, phm_index_txn *txn,
                         void *ctx);

/* Opens the index for writing and makes `change` in one transaction.
 * Returns CLI_EXIT_OK once committed, *counts filled; or an exit status
 * after a message, and nothing was stored. */
static int write_index(const index_options *o, const cli_global *g,
                       index_change *change, void *ctx,
                       phm_index_counts *counts)
{
    phm_index *idx = NULL;
    phm_index_txn *txn = NULL;
    char err[PHM_ERRMSG_MAX];
    int status = open_index(o, g, 0, &idx);
    if (status != CLI_EXIT_OK)
        return status;
    /* An import under --source is held to that source's stored minimum
     * quality (phmatch index source set --min-quality) when it is above
     * --min-quality. Read before the write transaction begins. */
    index_options eff = *o;
    if (o->source && o->source[0]) {
        phm_source_settings ss;
        int grc = phm_index_source_get(idx, o->source, &ss, err, sizeof err);
        /* An invalid name is no error here: the import refuses it record
         * by record, with their numbers. */
        if (grc != PHM_OK && grc != PHM_ERR_INVALID) {
            status = write_failed(grc, o->db, err);
            goto out;
        }
        if (grc == PHM_OK && ss.min_quality > eff.min_quality)
            eff.min_quality = ss.min_quality;
    }
    int rc = phm_index_txn_begin(idx, &txn, err, sizeof err);
    if (rc != PHM_OK) {
        status = write_failed(rc, o->db, err);
        goto out;
    }
    status = change(&eff, txn, ctx);
    if (status != CLI_EXIT_OK)
        goto out;
    rc = phm_index_txn_commit(txn, counts, err, sizeof err);
    txn = NULL;
    if (rc != PHM_OK)
        status = write_failed(rc, o->db, err);
out:
    phm_index_txn_abort(txn);
    phm_index_close(idx);
    return status;
}

static void print_counts(const phm_index_counts *c)
{
    printf("added %" PRIu64 ", unchanged %" PRIu64 ", updated %" PRIu64
           ", removed %" PRIu64 "\n",
           c->added, c->unchanged, c->updated, c->removed);
}

/* ---- create ---- */

static int do_create(const index_options *o, const cli_global *g)
{
    struct stat st;
    phm_index *idx;
    int status;
    if (lstat(o->db, &st) == 0) {
        cli_error("'%s' already exists; not overwriting it", o->db);
        return CLI_EXIT_PARTIAL;
    }
    status = open_index(o, g, PHM_INDEX_CREATE, &idx);
    if (status != CLI_EXIT_OK)
        return status;
    phm_index_close(idx);
    return CLI_EXIT_OK;
}

/* ---- import ---- */

static void warn_line(void *ctx, const char *msg)
{
    (void)ctx;
    cli_error("warning: %s", msg);
}

/* A feed's deletions read one after another, removed together by one
 * phm_index_remove_many (each block of the index rewritten once, not once
 * per deletion): before the next add, the next bad record's message, the
 * end of the list, or when DEL_BATCH_MAX names or DEL_BATCH_TEXT bytes
 * are held. */
#define DEL_BATCH_MAX 65536u
#define DEL_BATCH_TEXT (8u << 20)
#define DEL_WHERE_MAX 512u

typedef struct del_batch {
    phm_entry_name *names; /* DEL_BATCH_MAX */
    size_t *off;           /* 3 a name: source, id and where in text */
    char *text;            /* DEL_BATCH_TEXT: NUL-terminated strings */
    size_t n, len;
} del_batch;

static void del_batch_free(del_batch *b)
{
    free(b->names);
    free(b->off);
    free(b->text);
}

static size_t del_text(del_batch *b, const char *s, size_t max)
{
    size_t at = b->len, n = strnlen(s, max);
    memcpy(b->text + at, s, n);
    b->text[at + n] = '\0';
    b->len += n + 1;
    return at;
}

/* Removes the names held; an invalid one is a bad record (its message
 * printed, *bad counted), the others are removed. 0, or -1 after a fatal
 * error (message printed, *rc_out its status). */
static int del_flush(del_batch *b, phm_index_txn *txn, uint64_t *bad, int *rc_out)
{
    for (size_t i = 0; i < b->n; i++) {
        b->names[i].source = b->text + b->off[3 * i];
        b->names[i].id = b->text + b->off[3 * i + 1];
    }
    size_t from = 0;
    while (from < b->n) {
        char aerr[PHM_ERRMSG_MAX], berr[PHM_ERRMSG_MAX];
        size_t at = 0;
        int rc = phm_index_remove_many(txn, b->names + from, b->n - from, NULL, &at, aerr,
                                       sizeof aerr);
        if (rc == PHM_ERR_INVALID && at < b->n - from) {
            /* nothing was removed: the names before the bad one first */
            if (at && (rc = phm_index_remove_many(txn, b->names + from, at, NULL, NULL, berr,
                                                  sizeof berr)) != PHM_OK) {
                cli_error("%s", berr);
                *rc_out = rc;
                return -1;
            }
            fputs(b->text + b->off[3 * (from + at) + 2], stderr);
            fputs(": ", stderr);
            cli_put_quoted(stderr, aerr);
            fputc('\n', stderr);
            (*bad)++;
            from += at + 1;
            continue;
        }
        if (rc != PHM_OK) {
            cli_error("%s", aerr);
            *rc_out = rc;
            return -1;
        }
        break;
    }
    b->n = b->len = 0;
    return 0;
}

/* Holds the deletion e (the reader rd's last record), removing those held
 * first when full. 0 or -1 as del_flush. */
static int del_add(del_batch *b, phm_index_txn *txn, const phm_entry *e,
                   phm_hashlist_reader *rd, uint64_t *bad, int *rc_out)
{
    if (!b->names) {
        b->names = malloc(DEL_BATCH_MAX * sizeof *b->names);
        b->off = malloc(3 * DEL_BATCH_MAX * sizeof *b->off);
        b->text = malloc(DEL_BATCH_TEXT);
        if (!b->names || !b->off || !b->text) {
            cli_error("out of memory");
            *rc_out = PHM_ERR_NOMEM;
            return -1;
        }
    }
    /* the longest a name may be, and one more byte (a longer one is
     * invalid all the same, and said so) */
    const size_t smax = PHM_INDEX_MAX_SOURCE + 1, imax = PHM_INDEX_MAX_ID + 1;
    if ((b->n == DEL_BATCH_MAX || DEL_BATCH_TEXT - b->len < smax + imax + DEL_WHERE_MAX + 3) &&
        del_flush(b, txn, bad, rc_out) != 0)
        return -1;
    char where[DEL_WHERE_MAX];
    phm_hashlist_reader_where(rd, where, sizeof where);
    b->off[3 * b->n] = del_text(b, e->source ? e->source : "", smax);
    b->off[3 * b->n + 1] = del_text(b, e->id ? e->id : "", imax);
    b->off[3 * b->n + 2] = del_text(b, where, sizeof where - 1);
    b->n++;
    return 0;
}

/* Reads one list into txn. Returns 0, or -1 after a fatal error (message
 * printed; *rc_out the library status). */
static int import_file(const index_options *o, phm_index_txn *txn,
                       const char *path, uint64_t *bad, int *rc_out)
{
    phm_hashlist_options hopt = { .source = o->source, .category = o->category,
                                  .video_id = o->id, .warn = warn_line,
                                  .allow_video = 1, .allow_remove = 1,
                                  .check_hashes = 1,
                                  .min_quality = o->min_quality,
                                  .read_ahead = 1 };
    phm_hashlist_reader *rd = NULL;
    char err[PHM_HASHLIST_ERRMSG_MAX > PHM_ERRMSG_MAX ? PHM_HASHLIST_ERRMSG_MAX
                                                       : PHM_ERRMSG_MAX];
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "(standard input)" : path;
    FILE *fp = is_stdin ? stdin : fopen(path, "r");
    int ret = -1, rc;
    phm_entry e;
    del_batch dels = { 0 };

    *rc_out = PHM_ERR_UNREADABLE;
    if (!fp) {
        cli_error("cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    rc = phm_hashlist_reader_open(&rd, fp, name, o->have_format ? o->format
                                                                : PHM_HASHLIST_AUTO,
                                  &hopt, err, sizeof err);
    if (rc != PHM_OK) {
        cli_error("%s", err);
        *rc_out = rc;
        goto out;
    }
    while ((rc = phm_hashlist_read(rd, &e, err, sizeof err)) != PHM_HASHLIST_EOF) {
        if (rc == PHM_HASHLIST_REMOVE) {
            if (del_add(&dels, txn, &e, rd, bad, rc_out) != 0)
                goto out;
            continue;
        }
        /* the deletions before this record, in the order of the list */
        if (dels.n && del_flush(&dels, txn, bad, rc_out) != 0)
            goto out;
        if (rc == PHM_ERR_CORRUPT) {
            fprintf(stderr, "%s\n", err);
            (*bad)++;
            continue;
        }
        if (rc != PHM_HASHLIST_RECORD) {
            cli_error("%s", err);
            *rc_out = rc == PHM_ERR_NOMEM ? PHM_ERR_NOMEM : PHM_ERR_UNREADABLE;
            goto out;
        }
        char aerr[PHM_ERRMSG_MAX], where[PHM_HASHLIST_ERRMSG_MAX];
        rc = phm_index_add(txn, &e, aerr, sizeof aerr);
        if (rc == PHM_ERR_INVALID) {
            fputs(phm_hashlist_reader_where(rd, where, sizeof where), stderr);
            fputs(": ", stderr);
            cli_put_quoted(stderr, aerr);
            /* the usual cause: a list without sources imported without
             * --source (the message alone says only "source is empty") */
            if (!o->source && (!e.source || !e.source[0]))
                fputs(" (the list gives no source: import it with --source NAME)", stderr);
            fputc('\n', stderr);
            (*bad)++;
        } else if (rc != PHM_OK) {
            cli_error("%s", aerr);
            *rc_out = rc;
            goto out;
        }
    }
    if (dels.n && del_flush(&dels, txn, bad, rc_out) != 0)
        goto out;
    ret = 0;
out:
    del_batch_free(&dels);
    phm_hashlist_reader_close(rd);
    if (fp && !is_stdin)
        fclose(fp);
    return ret;
}

/* Reads every list into txn; bad lines are counted in *bad. */
static int change_import(const index_options *o, phm_index_txn *txn,
                         void *ctx)
{
    uint64_t *bad = ctx;
    int rc;

    phm_index_txn_unique_ids(txn, 1);
    for (int i = 0; i < o->nfiles; i++) {
        if (import_file(o, txn, o->files[i], bad, &rc) != 0) {
            cli_error("nothing imported into '%s'", o->db);
            return rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_PARTIAL;
        }
    }
    if (*bad && !o->skip_bad) {
        cli_error("%" PRIu64 " bad record%s: nothing imported into '%s' "
                  "(--skip-bad imports the good ones)",
                  *bad, *bad == 1 ? "" : "s", o->db);
        return CLI_EXIT_PARTIAL;
    }
    return CLI_EXIT_OK;
}

static int do_import(const index_options *o, const cli_global *g)
{
    phm_index_counts counts;
    uint64_t bad = 0;
    int status = write_index(o, g, change_import, &bad, &counts);
    if (status != CLI_EXIT_OK)
        return status;
    print_counts(&counts);
    if (bad) {
        cli_error("%" PRIu64 " bad record%s refused", bad, bad == 1 ? "" : "s");
        status = CLI_EXIT_PARTIAL;
    }
    return status;
}

/* ---- add, remove ---- */

static int change_add(const index_options *o, phm_index_txn *txn, void *ctx)
{
    char err[PHM_ERRMSG_MAX];
    int rc = phm_index_add(txn, ctx, err, sizeof err);
    if (rc == PHM_ERR_INVALID)
        return cli_usage_error("index", "%s", err);
    return rc == PHM_OK ? CLI_EXIT_OK : write_failed(rc, o->db, err);
}

static int do_add_images(const index_options *o, const cli_global *g);

static int do_add(const index_options *o, const cli_global *g)
{
    phm_index_counts counts;
    phm_entry e;
    if (o->images)
        return do_add_images(o, g);

    memset(&e, 0, sizeof e);
    if (phm_pdq_from_hex(o->hash, strlen(o->hash), &e.pdq) != PHM_OK)
        return cli_usage_error("index", "invalid hash '%s': expected 64 hex "
                               "digits", o->hash);
    /* The import's checks (docs/HASHLISTS.md, "Validation"): a hash no
     * image gives would match every near-blank query. */
    phm_pdq none;
    memset(&none, 0, sizeof none);
    int bits = phm_pdq_distance(&e.pdq, &none);
    if (bits == 0)
        return cli_usage_error("index", "invalid hash '%s': PDQ hash is all "
                               "zero (a truncated or empty value)", o->hash);
    if (bits == 256)
        return cli_usage_error("index", "invalid hash '%s': PDQ hash is all "
                               "one bits", o->hash);
    if (bits < PHM_HASHLIST_PDQ_MIN_BITS || bits > PHM_HASHLIST_PDQ_MAX_BITS)
        return cli_usage_error("index", "invalid hash '%s': PDQ hash sets %d of "
                               "its 256 bits: a real one sets %d..%d (PDQ "
                               "thresholds at the median)", o->hash, bits,
                               PHM_HASHLIST_PDQ_MIN_BITS,
                               PHM_HASHLIST_PDQ_MAX_BITS);
    e.signals = PHM_SIG_PDQ;
    e.source = o->source;
    e.id = o->id;
    e.category = o->category;
    e.note = o->note;
    e.quality = o->quality;
    int status = write_index(o, g, change_add, &e, &counts);
    if (status == CLI_EXIT_OK)
        print_counts(&counts);
    return status;
}

/* add --images: the images of the paths, with their variants. */
static int change_images(const index_options *o, phm_index_txn *txn, void *ctx)
{
    index_images_counts *c = ctx;
    int codes[PHM_INDEX_MAX_VARIANTS];
    int n = 0;
    if (o->augment)
        n = index_images_parse_set("default", codes, PHM_INDEX_MAX_VARIANTS);
    if (o->variants)
        n = index_images_parse_set(o->variants, codes, PHM_INDEX_MAX_VARIANTS);
    if (n < 0)
        return CLI_EXIT_USAGE;
    index_images_options io = { .source = o->source, .category = o->category,
                                .note = o->note, .paths = o->files,
                                .npaths = o->nfiles, .codes = codes,
                                .ncodes = (size_t)n };
    return index_images_add(&io, txn, c);
}

static int do_add_images(const index_options *o, const cli_global *g)
{
    phm_index_counts counts;
    index_images_counts c = { 0, 0, 0 };
    int status = write_index(o, g, change_images, &c, &counts);
    if (status != CLI_EXIT_OK)
        return status;
    print_counts(&counts);
    fprintf(stderr, "phmatch: %" PRIu64 " image%s, %" PRIu64 " stored variant%s\n",
            c.images, c.images == 1 ? "" : "s", c.variants, c.variants == 1 ? "" : "s");
    if (c.bad) {
        cli_error("%" PRIu64 " file%s refused", c.bad, c.bad == 1 ? "" : "s");
        status = CLI_EXIT_PARTIAL;
    }
    return status;
}

/* Removes the entry --id, or --all of --source; their number in *ctx. */
static int change_remove(const index_options *o, phm_index_txn *txn,
                         void *ctx)
{
    uint64_t *n = ctx;
    char err[PHM_ERRMSG_MAX];
    int rc, removed = 0;

    if (o->all) {
        rc = phm_index_remove_source(txn, o->source, n, err, sizeof err);
    } else {
        rc = phm_index_remove(txn, o->source, o->id, &removed, err,
                              sizeof err);
        *n = (uint64_t)removed;
    }
    if (rc == PHM_ERR_INVALID) /* a source or id out of bounds: as index add */
        return cli_usage_error("index", "%s", err);
    return rc == PHM_OK ? CLI_EXIT_OK : write_failed(rc, o->db, err);
}

static int do_remove(const index_options *o, const cli_global *g)
{
    phm_index_counts counts;
    uint64_t n = 0;
    int status = write_index(o, g, change_remove, &n, &counts);
    if (status != CLI_EXIT_OK)
        return status;
    printf("removed %" PRIu64 "\n", n);
    if (n == 0) {
        fputs("phmatch: no entry ", stderr);
        if (!o->all) {
            fputc('\'', stderr);
            cli_put_quoted(stderr, o->id);
            fputs("' ", stderr);
        }
        fputs("of source '", stderr);
        cli_put_quoted(stderr, o->source);
        fprintf(stderr, "' in '%s'\n", o->db);
        status = CLI_EXIT_PARTIAL;
    }
    return status;
}

/* ---- stats ---- */

typedef struct stats_ctx {
    int json;
    uint64_t n; /* groups written */
} stats_ctx;

static int print_group(void *ctx, const char *source, const char *category,
                       uint64_t count)
{
    stats_ctx *x = ctx;
    if (x->json) {
        fputs(x->n++ ? ",{\"source\":" : "{\"source\":", stdout);
        phm_json_fwrite(stdout, source, strlen(source));
        fputs(",\"category\":", stdout);
        phm_json_fwrite(stdout, category, strlen(category));
        printf(",\"count\":%" PRIu64 "}", count);
        return 0;
    }
    fputs("group\t", stdout);
    cli_put_quoted(stdout, source);
    fputc('\t', stdout);
    cli_put_quoted(stdout, category);
    printf("\t%" PRIu64 "\n", count);
    return 0;
}

static void print_time(const char *key, int64_t t)
{
    char buf[21];
    if (t > 0 && phm_hashlist_format_time(t, buf) == PHM_OK)
        printf("%s\t%s\n", key, buf);
    else
        printf("%s\t-\n", key);
}

/* The fields of phm_index_stats under their own names (as GET /v1/index):
 * "name\tvalue" lines, times in ISO 8601, or one JSON object, times in unix
 * seconds. */
static int do_stats(const index_options *o, const cli_global *g)
{
    phm_index *idx = NULL;
    phm_index_stats st;
    char err[PHM_ERRMSG_MAX];
    stats_ctx x = { o->stats_json, 0 };
    const char *name;
    int64_t v;
    int status, rc;

    status = open_index(o, g, PHM_INDEX_RDONLY, &idx);
    if (status != CLI_EXIT_OK)
        return status;
    rc = phm_index_get_stats(idx, &st, err, sizeof err);
    if (rc != PHM_OK) {
        cli_error("%s", err);
        status = CLI_EXIT_PARTIAL;
        goto out;
    }
    if (x.json) {
        fputs("{\"path\":", stdout);
        phm_json_fwrite(stdout, o->db, strlen(o->db));
    } else {
        printf("path\t%s\n", o->db);
    }
    for (size_t i = 0; (name = phm_index_stats_field(&st, i, &v)) != NULL; i++) {
        if (x.json)
            printf(",\"%s\":%" PRId64, name, v);
        else if (strcmp(name, "created") == 0 || strcmp(name, "compacted") == 0)
            print_time(name, v);
        else
            printf("%s\t%" PRId64 "\n", name, v);
    }
    cmd_index_gov_stats(idx, x.json);
    if (x.json)
        printf(",\"simd\":\"%s\",\"groups\":[", phm_simd_name(phm_index_simd(idx)));
    else
        printf("simd\t%s\n", phm_simd_name(phm_index_simd(idx)));
    rc = phm_index_foreach_group(idx, print_group, &x, err, sizeof err);
    if (x.json)
        fputs("]", stdout);
    cmd_index_gov_stats_sources(idx, x.json);
    if (x.json)
        fputs("}\n", stdout);
    if (rc != PHM_OK) {
        cli_error("%s", err);
        status = CLI_EXIT_PARTIAL;
    }
out:
    phm_index_close(idx);
    return status;
}

/* ---- export ---- */

typedef struct export_ctx {
    phm_hashlist_format fmt;
    phm_hashlist_writer *w;
    uint64_t unrepresentable;
    int io_error;
} export_ctx;

static int export_one(void *ctx, uint64_t entry, const phm_entry *e)
{
    export_ctx *x = ctx;
    char err[PHM_HASHLIST_ERRMSG_MAX];
    int rc = phm_hashlist_writer_write(x->w, e, err, sizeof err);
    if (rc == PHM_ERR_UNSUPPORTED) {
        if (x->unrepresentable++ < 10)
            cli_error("entry %" PRIu64 " not exported: %s", entry, err);
        return 0;
    }
    if (rc != PHM_OK) {
        x->io_error = 1;
        return 1;
    }
    return 0;
}

static int do_export(const index_options *o, const cli_global *g)
{
    phm_index *idx = NULL;
    export_ctx *x;
    char err[PHM_ERRMSG_MAX];
    int status, rc;

    x = calloc(1, sizeof *x);
    if (!x) {
        cli_error("out of memory");
        return CLI_EXIT_FATAL;
    }
    x->fmt = o->have_format ? o->format : PHM_HASHLIST_TSV;
    status = open_index(o, g, PHM_INDEX_RDONLY, &idx);
    if (status != CLI_EXIT_OK)
        goto out;
    if (o->vpdq) {
        status = index_vpdq_export(idx, o->output_dir);
        goto out;
    }
    rc = phm_hashlist_writer_new(&x->w, stdout, x->fmt, err, sizeof err);
    if (rc != PHM_OK) {
        if (rc == PHM_ERR_NOMEM) {
            cli_error("out of memory");
            status = CLI_EXIT_FATAL;
            goto out;
        }
        x->io_error = 1;
        goto done;
    }
    rc = phm_index_foreach(idx, export_one, x, err, sizeof err);
    if (rc < 0) {
        cli_error("%s", err);
        status = rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_PARTIAL;
    }
    /* Closed even after an error, so a VICS document stays valid JSON. */
    if (phm_hashlist_writer_finish(x->w) != PHM_OK)
        x->io_error = 1;
done:
    if (fflush(stdout) != 0 || ferror(stdout) || x->io_error) {
        cli_error("cannot write to standard output: %s",
                  strerror(errno ? errno : EIO));
        status = CLI_EXIT_FATAL;
    } else if (x->unrepresentable && status == CLI_EXIT_OK) {
        cli_error("%" PRIu64 " entries cannot be written in format %s",
                  x->unrepresentable, phm_hashlist_format_name(x->fmt));
        status = CLI_EXIT_PARTIAL;
    }
out:
    phm_hashlist_writer_free(x->w);
    phm_index_close(idx);
    free(x);
    return status;
}

/* ---- verify, compact ---- */

static int do_verify(const index_options *o, const cli_global *g)
{
    phm_index *idx = NULL;
    char err[PHM_ERRMSG_MAX];
    int rc = phm_index_open(&idx, o->db, PHM_INDEX_RDONLY, 0, g->simd, err,
                            sizeof err);
    if (rc == PHM_OK)
        rc = phm_index_verify(idx, err, sizeof err);
    phm_index_close(idx);
    if (rc == PHM_OK) {
        printf("%s: ok\n", o->db);
        return CLI_EXIT_OK;
    }
    cli_error("%s", err);
    if (rc == PHM_ERR_NOMEM)
        return CLI_EXIT_FATAL;
    if (rc == PHM_ERR_NOT_FOUND || rc == PHM_ERR_IS_DIR ||
        rc == PHM_ERR_UNREADABLE)
        return CLI_EXIT_USAGE;
    return CLI_EXIT_PARTIAL;
}

static int do_compact(const index_options *o, const cli_global *g)
{
    phm_index *idx = NULL;
    char err[PHM_ERRMSG_MAX];
    int status = open_index(o, g, 0, &idx);
    if (status != CLI_EXIT_OK)
        return status;
    int rc = phm_index_compact(idx, err, sizeof err);
    if (rc != PHM_OK)
        status = write_failed(rc, o->db, err);
    phm_index_close(idx);
    return status;
}

/* ---- snapshot (read-only replicas, docs/DEPLOY.md) ---- */

static int do_snapshot(const index_options *o, const cli_global *g)
{
    phm_index *idx = NULL;
    char err[PHM_ERRMSG_MAX];
    uint64_t entries = 0;
    if (o->nfiles != 1)
        return cli_usage_error("index", "'index snapshot' takes DB and one OUT");
    int status = open_index(o, g, PHM_INDEX_RDONLY, &idx);
    if (status != CLI_EXIT_OK)
        return status;
    int rc = phm_index_snapshot(idx, o->files[0], &entries, err, sizeof err);
    phm_index_close(idx);
    if (rc != PHM_OK) {
        cli_error("%s", err);
        return rc == PHM_ERR_NOMEM ? CLI_EXIT_FATAL : CLI_EXIT_PARTIAL;
    }
    printf("%s: %llu entries\n", o->files[0], (unsigned long long)entries);
    return CLI_EXIT_OK;
}

/* ---- upgrade (docs/INDEX_FORMAT.md, "Compatibility") ---- */

static void upgrade_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_update(ctx, done, total, 1, 0);
}

static int do_upgrade(const index_options *o, const cli_global *g)
{
    (void)g;
    char err[PHM_ERRMSG_MAX];
    progress *pr = progress_new(stderr, !o->quiet && isatty(STDERR_FILENO));
    if (!pr) {
        cli_error("out of memory");
        return CLI_EXIT_FATAL;
    }
    double t0 = progress_now();
    int rc = phm_index_upgrade(o->db, o->backup, upgrade_progress, pr, err, sizeof err);
    double secs = progress_now() - t0;
    progress_clear(pr);
    progress_free(pr);
    if (rc != PHM_OK) {
        cli_error("%s", err);
        if (rc == PHM_ERR_NOMEM)
            return CLI_EXIT_FATAL;
        return CLI_EXIT_PARTIAL;
    }
    if (o->quiet)
        return CLI_EXIT_OK;
    if (strncmp(err, "upgraded ", 9) != 0) { /* already of this format */
        printf("%s\n", err);
        return CLI_EXIT_OK;
    }
    printf("%s in %.1f s", err, secs);
    if (o->backup)
        printf("; old file kept as '%s'", o->backup);
    printf("\n");
    return CLI_EXIT_OK;
}

/* ---- dispatch ---- */

typedef struct index_sub {
    const char *name;
    int (*fn)(const index_options *o, const cli_global *g);
    unsigned opts; /* OB() of the options it takes */
    int files;     /* takes FILE operands after DB */
} index_sub;

static const index_sub subs[] = {
    { "create", do_create, 0, 0 },
    { "import", do_import,
      OB(OPT_SOURCE) | OB(OPT_CATEGORY) | OB(OPT_FORMAT) | OB(OPT_SKIP_BAD) |
          OB(OPT_MAP_SIZE) | OB(OPT_ID) | OB(OPT_MIN_QUALITY),
      1 },
    { "add", do_add,
      OB(OPT_HASH) | OB(OPT_SOURCE) | OB(OPT_ID) | OB(OPT_CATEGORY) |
          OB(OPT_NOTE) | OB(OPT_QUALITY) | OB(OPT_MAP_SIZE) | OB(OPT_IMAGES) |
          OB(OPT_AUGMENT) | OB(OPT_VARIANTS),
      2 /* PATHs with --images */ },
    { "remove", do_remove,
      OB(OPT_SOURCE) | OB(OPT_ID) | OB(OPT_ALL) | OB(OPT_MAP_SIZE), 0 },
    { "stats", do_stats, OB(OPT_FORMAT), 0 },
    { "export", do_export, OB(OPT_FORMAT) | OB(OPT_OUTPUT_DIR), 0 },
    { "verify", do_verify, 0, 0 },
    { "compact", do_compact, OB(OPT_MAP_SIZE), 0 },
    { "snapshot", do_snapshot, 0, 1 },
    { "upgrade", do_upgrade, OB(OPT_BACKUP), 0 },
};

int cmd_index(int argc, char **argv, const cli_global *g)
{
    index_options o;
    args_parser p;
    const index_sub *sub = NULL;
    const char *arg;
    char **operands;
    int nops = 0, key;
    uint64_t v;

    memset(&o, 0, sizeof o);
    o.quality = -1;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        if (argc < 2)
            return cli_usage_error("index", "missing subcommand");
        fputs(usage_text, stdout);
        return CLI_EXIT_OK;
    }
    if (cmd_index_gov_is(argv[1])) /* governance: cmd_index_gov.c */
        return cmd_index_gov(argc, argv, g);
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            sub = &subs[i];
    if (!sub)
        return cli_usage_error("index", "unknown subcommand '%s'", argv[1]);
    o.sub = sub->name;
    operands = calloc((size_t)argc, sizeof *operands);
    if (!operands) {
        cli_error("out of memory");
        return CLI_EXIT_FATAL;
    }
    args_init(&p, "index", argc - 1, argv + 1);
    int status = -1;
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
            status = CLI_EXIT_OK;
            goto out;
        }
        if (key == 'q' && strcmp(sub->name, "upgrade") == 0) {
            o.quiet = 1;
            continue;
        }
        if (key == 'q' || !(sub->opts & OB(key))) {
            status = cli_usage_error("index", "'index %s' takes no option %s",
                                     sub->name, args_spelling(&p));
            goto out;
        }
        switch (key) {
        case OPT_SOURCE: o.source = arg; break;
        case OPT_CATEGORY: o.category = arg; break;
        case OPT_HASH: o.hash = arg; break;
        case OPT_ID: o.id = arg; break;
        case OPT_NOTE: o.note = arg; break;
        case OPT_SKIP_BAD: o.skip_bad = 1; break;
        case OPT_ALL: o.all = 1; break;
        case OPT_OUTPUT_DIR: o.output_dir = arg; break;
        case OPT_IMAGES: o.images = 1; break;
        case OPT_AUGMENT: o.augment = 1; break;
        case OPT_VARIANTS: o.variants = arg; break;
        case OPT_BACKUP: o.backup = arg; break;
        case OPT_FORMAT:
            if (strcmp(sub->name, "stats") == 0) {
                if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0) {
                    status = cli_usage_error("index", "unknown format '%s' for stats "
                                             "(expected text or json)", arg);
                    goto out;
                }
                o.stats_json = strcmp(arg, "json") == 0;
                break;
            }
            if ((o.vpdq = strcmp(arg, "vpdq") == 0 && strcmp(sub->name, "export") == 0))
                break;
            if (phm_hashlist_format_parse(arg, &o.format) != PHM_OK ||
                (o.format == PHM_HASHLIST_AUTO && strcmp(sub->name, "export") == 0)) {
                status = cli_usage_error("index", "unknown format '%s'", arg);
                goto out;
            }
            o.have_format = o.format != PHM_HASHLIST_AUTO;
            break;
        case OPT_MIN_QUALITY:
            if (args_parse_u64(&p, arg, 0, 100, 0, &v) != 0) {
                status = CLI_EXIT_USAGE;
                goto out;
            }
            o.min_quality = (int)v;
            break;
        case OPT_QUALITY:
            if (args_parse_u64(&p, arg, 0, 100, 0, &v) != 0) {
                status = CLI_EXIT_USAGE;
                goto out;
            }
            o.quality = (int)v;
            break;
        case OPT_MAP_SIZE:
            if (args_parse_u64(&p, arg, 4096, SIZE_MAX, 1, &o.map_size) != 0) {
                status = CLI_EXIT_USAGE;
                goto out;
            }
            break;
        default: break;
        }
    }
    if (nops < 1) {
        status = cli_usage_error("index", "'index %s' needs an index path",
                                 sub->name);
        goto out;
    }
    o.db = operands[0];
    o.files = operands + 1;
    o.nfiles = nops - 1;
    if (sub->fn == do_add && o.images) {
        if (!o.source || o.hash || o.id || o.quality >= 0 || o.nfiles == 0) {
            status = cli_usage_error("index", "'index add --images' needs --source "
                                     "and a PATH, and takes no --hash, --id or "
                                     "--quality");
            goto out;
        }
    } else if (sub->fn == do_add && (o.augment || o.variants)) {
        status = cli_usage_error("index", "--augment and --variants go with --images");
        goto out;
    } else if (sub->fn == do_add && o.nfiles > 0) {
        status = cli_usage_error("index", "unexpected argument '%s'", o.files[0]);
        goto out;
    }
    if (sub->files == 1 && o.nfiles == 0) {
        status = cli_usage_error("index", "'index %s' needs a FILE (or -)",
                                 sub->name);
        goto out;
    }
    if (!sub->files && o.nfiles > 0) {
        status = cli_usage_error("index", "unexpected argument '%s'",
                                 o.files[0]);
        goto out;
    }
    if (sub->fn == do_add && !o.images && (!o.hash || !o.source || !o.id)) {
        status = cli_usage_error("index", "'index add' needs --hash, --source "
                                 "and --id");
        goto out;
    }
    if (sub->fn == do_import && o.id && o.nfiles != 1) {
        status = cli_usage_error("index", "--id names the video of one vPDQ FILE");
        goto out;
    }
    if (sub->fn == do_export && (o.vpdq != (o.output_dir != NULL))) {
        status = cli_usage_error("index", "--format vpdq and --output-dir DIR go "
                                 "together");
        goto out;
    }
    if (sub->fn == do_remove &&
        (!o.source || (o.all ? o.id != NULL : o.id == NULL))) {
        status = cli_usage_error("index", "'index remove' needs --source and "
                                 "either --id or --all");
        goto out;
    }
    cli_check_simd(g->simd);
    status = sub->fn(&o, g);
out:
    free(operands);
    return status;
}
