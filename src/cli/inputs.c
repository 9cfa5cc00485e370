/* inputs.c - lazy, sorted enumeration of input paths (see inputs.h). */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "phmatch.h"

#define DEFAULT_MAX_PATH 65536

typedef struct dir_entry {
    union {
        size_t off;       /* while reading: offset into names */
        const char *name; /* after reading: pointer into names */
    } u;
    unsigned char type;   /* DT_* from readdir, DT_UNKNOWN if not given */
} dir_entry;

/* One directory being walked: its sorted listing and where we are in it.
 * The buffers are kept when the level is popped and reused by the next
 * directory at the same depth. */
typedef struct dir_level {
    char *names;        /* the entry names, NUL-terminated, back to back */
    size_t names_len, names_cap;
    dir_entry *ents;
    size_t n, cap, next;
    size_t path_len;    /* length of the directory's path in in->path */
    dev_t dev;
    ino_t ino;
} dir_level;

struct input_source {
    input_options opt;
    FILE **lists;       /* per spec: the open list, or NULL */
    size_t spec;        /* the spec being read */
    int spec_started;   /* for a list spec: reading it has begun */

    dir_level *levels;  /* levels[0 .. depth-1]: the walk in progress */
    size_t depth, levels_cap;

    char *path;         /* the current path; grows, never shrinks */
    size_t path_len, path_cap;
    size_t root_off;    /* --shard: where the path under the walk's root
                           starts (0: outside a walk) */
    char message[256];
    input_counts counts;
};

static int status_from_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return PHM_ERR_NOT_FOUND;
    case ENOMEM:
        return PHM_ERR_NOMEM;
    default:
        return PHM_ERR_UNREADABLE;
    }
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem)
            return -1;
        n *= 2;
    }
    void *p = realloc(*buf, n * elem);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

/* Sets in->path to `len` bytes of `s`. */
static int set_path(input_source *in, const char *s, size_t len)
{
    if (grow((void **)&in->path, &in->path_cap, len + 1, 1))
        return PHM_ERR_NOMEM;
    memmove(in->path, s, len);
    in->path[len] = '\0';
    in->path_len = len;
    return PHM_OK;
}

/* Sets in->path to the directory path (its first dir_len bytes), a
 * separator unless it ends with one, and `name`. */
static int join_path(input_source *in, size_t dir_len, const char *name)
{
    size_t nlen = strlen(name);
    int sep = dir_len == 0 || in->path[dir_len - 1] != '/';
    size_t len = dir_len + (size_t)sep + nlen;
    if (len < dir_len || grow((void **)&in->path, &in->path_cap, len + 1, 1))
        return PHM_ERR_NOMEM;
    if (sep)
        in->path[dir_len] = '/';
    memcpy(in->path + dir_len + (size_t)sep, name, nlen + 1);
    in->path_len = len;
    return PHM_OK;
}

int input_open(input_source **out, const input_options *opt, char *err,
               size_t errlen)
{
    input_source *in = calloc(1, sizeof *in);
    int rc = PHM_ERR_NOMEM;

    *out = NULL;
    if (!in)
        goto fail_nomem;
    in->opt = *opt;
    if (!in->opt.max_path)
        in->opt.max_path = DEFAULT_MAX_PATH;
    if (opt->nspecs) {
        in->lists = calloc(opt->nspecs, sizeof *in->lists);
        if (!in->lists)
            goto fail_nomem;
    }
    for (size_t i = 0; i < opt->nspecs; i++) {
        const input_spec *s = &opt->specs[i];
        if (s->kind != INPUT_LIST)
            continue;
        if (strcmp(s->value, "-") == 0) {
            in->lists[i] = stdin;
            continue;
        }
        in->lists[i] = fopen(s->value, "rb");
        if (!in->lists[i]) {
            int e = errno;
            rc = status_from_errno(e);
            snprintf(err, errlen, "cannot open '%s': %s", s->value,
                     strerror(e));
            goto fail;
        }
    }
    *out = in;
    return PHM_OK;
fail_nomem:
    snprintf(err, errlen, "out of memory");
fail:
    input_close(in);
    return rc;
}

void input_close(input_source *in)
{
    if (!in)
        return;
    for (size_t i = 0; in->lists && i < in->opt.nspecs; i++)
        if (in->lists[i] && in->lists[i] != stdin)
            fclose(in->lists[i]);
    free(in->lists);
    for (size_t i = 0; i < in->levels_cap; i++) {
        free(in->levels[i].names);
        free(in->levels[i].ents);
    }
    free(in->levels);
    free(in->path);
    free(in);
}

void input_get_counts(const input_source *in, input_counts *out)
{
    *out = in->counts;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const dir_entry *)a)->u.name,
                  ((const dir_entry *)b)->u.name);
}

/* Makes an error item for in->path. */
static int error_item(input_source *in, input_item *item, int status,
                      const char *message)
{
    snprintf(in->message, sizeof in->message, "%s", message);
    item->path = in->path;
    item->len = in->path_len;
    item->status = status;
    item->message = in->message;
    return 1;
}

/* Reads the directory in->path and pushes it as a new level. Returns
 * PHM_OK; 1 with an error item (the directory cannot be listed, or is a
 * loop); or PHM_ERR_NOMEM. */
static int push_dir(input_source *in, input_item *item)
{
    DIR *d;
    struct stat st;
    struct dirent *de;
    dir_level *lv;
    int rc = PHM_OK;

    if (in->depth == in->levels_cap) {
        size_t cap = in->levels_cap;
        if (grow((void **)&in->levels, &cap, in->depth + 1, sizeof *lv))
            return PHM_ERR_NOMEM;
        memset(in->levels + in->levels_cap, 0,
               (cap - in->levels_cap) * sizeof *lv);
        in->levels_cap = cap;
    }
    d = opendir(in->path);
    if (!d) {
        int e = errno;
        return error_item(in, item, status_from_errno(e), strerror(e));
    }
    if (fstat(dirfd(d), &st) != 0) {
        int e = errno;
        closedir(d);
        return error_item(in, item, status_from_errno(e), strerror(e));
    }
    if (in->opt.follow) {
        for (size_t i = 0; i < in->depth; i++) {
            if (in->levels[i].dev == st.st_dev &&
                in->levels[i].ino == st.st_ino) {
                closedir(d);
                return error_item(in, item, PHM_ERR_UNREADABLE,
                                  "directory loop: already being walked "
                                  "higher up");
            }
        }
    }

    lv = &in->levels[in->depth];
    lv->names_len = lv->n = lv->next = 0;
    lv->path_len = in->path_len;
    lv->dev = st.st_dev;
    lv->ino = st.st_ino;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de)
            break;
        const char *name = de->d_name;
        if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
            continue;
        size_t len = strlen(name) + 1;
        if (grow((void **)&lv->names, &lv->names_cap, lv->names_len + len, 1) ||
            grow((void **)&lv->ents, &lv->cap, lv->n + 1, sizeof *lv->ents)) {
            rc = PHM_ERR_NOMEM;
            goto out;
        }
        memcpy(lv->names + lv->names_len, name, len);
        lv->ents[lv->n].u.off = lv->names_len;
        lv->ents[lv->n].type = de->d_type;
        lv->names_len += len;
        lv->n++;
    }
    if (errno) {
        /* Report the failure and walk what was read. */
        int e = errno;
        rc = error_item(in, item, status_from_errno(e), strerror(e));
    }
    for (size_t i = 0; i < lv->n; i++)
        lv->ents[i].u.name = lv->names + lv->ents[i].u.off;
    if (lv->n) /* an empty directory has no array to sort (ents NULL) */
        qsort(lv->ents, lv->n, sizeof *lv->ents, cmp_entry);
    in->depth++;
out:
    closedir(d);
    return rc;
}

static unsigned char type_of_mode(mode_t m)
{
    if (S_ISREG(m))
        return DT_REG;
    if (S_ISDIR(m))
        return DT_DIR;
    if (S_ISLNK(m))
        return DT_LNK;
    return DT_UNKNOWN; /* anything else: special */
}

/* Next entry of the walk in progress. Returns 1 with an item, 0 when the
 * walk is over, or PHM_ERR_NOMEM. */
static int next_in_walk(input_source *in, input_item *item)
{
    while (in->depth) {
        dir_level *lv = &in->levels[in->depth - 1];
        if (lv->next == lv->n) {
            in->depth--;
            continue;
        }
        const dir_entry *e = &lv->ents[lv->next++];
        unsigned char type = e->type;
        if (join_path(in, lv->path_len, e->u.name))
            return PHM_ERR_NOMEM;

        if (type == DT_UNKNOWN || (type == DT_LNK && in->opt.follow)) {
            struct stat st;
            int r = in->opt.follow ? stat(in->path, &st)
                                   : lstat(in->path, &st);
            if (r != 0) {
                int err = errno;
                if (in->opt.follow && lstat(in->path, &st) == 0) {
                    /* A dangling link: hash it, so that the record says
                     * what happened. */
                    type = DT_REG;
                } else {
                    return error_item(in, item, status_from_errno(err),
                                      strerror(err));
                }
            } else {
                type = type_of_mode(st.st_mode);
            }
        }
        switch (type) {
        case DT_REG:
            item->path = in->path;
            item->len = in->path_len;
            item->status = PHM_OK;
            item->message = "";
            return 1;
        case DT_DIR: {
            int rc = push_dir(in, item);
            if (rc != PHM_OK)
                return rc;
            continue;
        }
        case DT_LNK:
            in->counts.symlinks_skipped++;
            continue;
        default:
            /* A FIFO, socket or device: a record saying so, never opened
             * (a FIFO would wait for a writer). */
            return error_item(in, item, PHM_ERR_UNREADABLE, "not a regular file");
        }
    }
    return 0;
}

/* Reads the next entry of `fp` into in->path. Returns 1 with an entry, 0
 * at the end of the list, 2 for an entry to report as an error (item
 * filled), or a negative code on a read error. */
static int read_list_entry(input_source *in, FILE *fp, input_item *item)
{
    int delim = in->opt.nul ? '\0' : '\n';
    size_t len = 0;
    int c, too_long = 0, has_nul = 0;

    for (;;) {
        c = getc_unlocked(fp);
        if (c == EOF || c == delim)
            break;
        if (c == '\0')
            has_nul = 1;
        if (len >= in->opt.max_path) {
            too_long = 1;
            continue;
        }
        if (grow((void **)&in->path, &in->path_cap, len + 2, 1))
            return PHM_ERR_NOMEM;
        in->path[len++] = (char)c;
    }
    if (c == EOF && ferror(fp))
        return PHM_ERR_UNREADABLE;
    if (c == EOF && len == 0 && !too_long)
        return 0;
    if (!in->path && grow((void **)&in->path, &in->path_cap, 1, 1))
        return PHM_ERR_NOMEM;
    in->path[len] = '\0';
    in->path_len = len;
    if (too_long) {
        char msg[96];
        in->path_len = strlen(in->path); /* what was kept may hold a NUL */
        snprintf(msg, sizeof msg, "path longer than %zu bytes in the list",
                 in->opt.max_path);
        error_item(in, item, PHM_ERR_INVALID, msg);
        return 2;
    }
    if (has_nul) {
        /* The path ends at the first NUL; the message says why. */
        in->path_len = strlen(in->path);
        error_item(in, item, PHM_ERR_INVALID,
                   "path contains a NUL byte (is the list NUL-separated? "
                   "use -0)");
        return 2;
    }
    return 1;
}

/* Takes the next top-level path into in->path. Returns 1 with a path, 2
 * with an error item, 3 for the standard-input video, 0 at the end of all
 * sources, or a negative code. */
static int next_top(input_source *in, input_item *item, char *err,
                    size_t errlen)
{
    while (in->spec < in->opt.nspecs) {
        const input_spec *s = &in->opt.specs[in->spec];
        if (s->kind == INPUT_PATH || s->kind == INPUT_STDIN_VIDEO) {
            in->spec++;
            if (set_path(in, s->value, strlen(s->value)))
                return PHM_ERR_NOMEM;
            return s->kind == INPUT_PATH ? 1 : 3;
        }
        for (;;) {
            int rc = read_list_entry(in, in->lists[in->spec], item);
            if (rc == 0)
                break;
            if (rc < 0) {
                if (rc == PHM_ERR_NOMEM)
                    snprintf(err, errlen, "out of memory");
                else
                    snprintf(err, errlen, "cannot read '%s': %s",
                             strcmp(s->value, "-") ? s->value
                                                   : "standard input",
                             strerror(errno));
                return rc;
            }
            if (rc == 1 && in->path_len == 0)
                continue; /* blank line */
            return rc;
        }
        in->spec++;
    }
    return 0;
}

/* input_next() without --shard. */
static int next_input(input_source *in, input_item *item, char *err,
                      size_t errlen)
{
    item->stdin_video = 0;
    for (;;) {
        int rc = next_in_walk(in, item);
        if (rc != 0) {
            if (rc == PHM_ERR_NOMEM)
                snprintf(err, errlen, "out of memory");
            return rc;
        }
        rc = next_top(in, item, err, errlen);
        in->root_off = 0;
        if (rc <= 0 || rc == 2)
            return rc == 2 ? 1 : rc; /* an error item is an item */
        if (rc == 3) {
            /* Standard input, read by the video decoder: nothing to stat. */
            item->path = in->path;
            item->len = in->path_len;
            item->status = PHM_OK;
            item->message = "";
            item->stdin_video = 1;
            return 1;
        }

        struct stat st;
        if (stat(in->path, &st) != 0) {
            int e = errno;
            return error_item(in, item, status_from_errno(e), strerror(e));
        }
        if (S_ISDIR(st.st_mode)) {
            in->root_off = in->path_len +
                           (in->path_len && in->path[in->path_len - 1] != '/');
            /* "dir/" and "dir" both give "dir/name". */
            rc = push_dir(in, item);
            if (rc == 1)
                return 1;
            if (rc < 0) {
                snprintf(err, errlen, "out of memory");
                return rc;
            }
            continue;
        }
        if (!S_ISREG(st.st_mode))
            return error_item(in, item, PHM_ERR_UNREADABLE, "not a regular file");
        item->path = in->path;
        item->len = in->path_len;
        item->status = PHM_OK;
        item->message = "";
        return 1;
    }
}

uint32_t input_shard_of(const char *rel, size_t len, uint32_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)rel[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)(h % n);
}

int input_next(input_source *in, input_item *item, char *err, size_t errlen)
{
    for (;;) {
        int rc = next_input(in, item, err, errlen);
        if (rc != 1 || in->opt.shard_count <= 1)
            return rc;
        /* A walk's root itself (its error record) counts by its path. */
        size_t off = in->root_off < item->len ? in->root_off : 0;
        if (input_shard_of(item->path + off, item->len - off,
                           in->opt.shard_count) == in->opt.shard_index)
            return 1;
    }
}
