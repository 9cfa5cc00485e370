/*
 * fuzz_inputs.c - libFuzzer target: phmatch's `--files-from` list reader
 * (src/cli/inputs.c, compiled in), on a list file of fuzzed bytes whose
 * entries name paths in a small tree made at start.
 *
 * The first byte chooses the options: bit 0 NUL-separated (-0), bit 1
 * follow symbolic links, bits 2-3 the longest entry (16, 64, 300 or the
 * default); the rest is the list. Path lookups of inputs.c (stat, lstat,
 * opendir) go to the tree only: an absolute path or a ".." component is
 * "not found", so a fuzzed "/" never walks the machine. The tree has
 * files, a subdirectory, a link to a file, a dangling link, a link to its
 * own directory (a loop when followed) and a FIFO.
 *
 * Checks: reading ends (a bounded number of items); every item's path is
 * NUL-terminated with `len` its length, and comes from the list in order:
 * the entry itself (cut at a NUL or at the longest entry, then an error
 * item saying why), or a file under it when the entry is a directory;
 * a status of PHM_OK or an error with a message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tree = -1;     /* the tree's directory */
static char tree_path[256];
static char list_path[300];

/* inputs.c's lookups, confined to the tree. */
static int confined(const char *p)
{
    if (p[0] == '/')
        return 0;
    for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2)
        if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
            return 0;
    return 1;
}

static int fuzz_stat(const char *p, struct stat *st, int flags)
{
    if (!confined(p)) {
        errno = ENOENT;
        return -1;
    }
    return fstatat(tree, p[0] ? p : ".", st, flags);
}

static DIR *fuzz_opendir(const char *p)
{
    if (!confined(p)) {
        errno = ENOENT;
        return NULL;
    }
    int fd = openat(tree, p[0] ? p : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (!d)
        close(fd);
    return d;
}

#define stat(p, st) fuzz_stat(p, st, 0)
#define lstat(p, st) fuzz_stat(p, st, AT_SYMLINK_NOFOLLOW)
#define opendir(p) fuzz_opendir(p)
#include "../../src/cli/inputs.c"
#undef stat
#undef lstat
#undef opendir

#include "check.h"

static const char *const files[] = { "a", "b.jpg", "d/x", "d/y", "d/s/z", "d/\001ctl" };
static const char *const dirs[] = { "d", "d/s" };
static const char *const links[][2] = {
    { "d/link", "../a" }, { "d/dangle", "nope" }, { "d/loop", "." }, { "top", "d" },
};

static void remove_tree(void)
{
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        unlinkat(tree, links[i][0], 0);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlinkat(tree, files[i], 0);
    unlinkat(tree, "d/fifo", 0);
    for (size_t i = sizeof dirs / sizeof dirs[0]; i-- > 0;)
        unlinkat(tree, dirs[i], AT_REMOVEDIR);
    if (list_path[0])
        unlink(list_path);
    rmdir(tree_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(tree_path, sizeof tree_path, "%s/fuzz_inputs.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tree_path) || (tree = open(tree_path, O_RDONLY | O_DIRECTORY)) < 0) {
        fprintf(stderr, "fuzz_inputs: cannot create '%s'\n", tree_path);
        abort();
    }
    atexit(remove_tree);
    int ok = 1;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        ok &= mkdirat(tree, dirs[i], 0700) == 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        int fd = openat(tree, files[i], O_WRONLY | O_CREAT | O_EXCL, 0600);
        ok &= fd >= 0;
        if (fd >= 0)
            close(fd);
    }
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        ok &= symlinkat(links[i][1], tree, links[i][0]) == 0;
    ok &= mkfifoat(tree, "d/fifo", 0600) == 0;
    snprintf(list_path, sizeof list_path, "%s.list", tree_path);
    if (!ok) {
        fprintf(stderr, "fuzz_inputs: cannot make the tree in '%s'\n", tree_path);
        abort();
    }
    return 0;
}

/* Whether an item's path comes from list entry e (n bytes). */
static int from_entry(const char *path, const char *e, size_t n, size_t max_path)
{
    size_t m = strnlen(e, n);
    if (n > max_path && max_path < m)
        m = max_path;
    if (strlen(path) == m && memcmp(path, e, m) == 0)
        return 1;
    /* A file found under a directory entry: "e/name" ("e/" gives the same). */
    while (m > 0 && e[m - 1] == '/')
        m--;
    return m < strlen(path) && memcmp(path, e, m) == 0 && path[m] == '/';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    static const size_t max_paths[] = { 16, 64, 300, 0 };
    const char *list = (const char *)data + 1;
    size_t n = size - 1;
    input_spec spec = { INPUT_LIST, list_path };
    input_options opt = {
        .specs = &spec,
        .nspecs = 1,
        .nul = data[0] & 1,
        .follow = (data[0] >> 1) & 1,
        .max_path = max_paths[(data[0] >> 2) & 3],
    };
    size_t max_path = opt.max_path ? opt.max_path : DEFAULT_MAX_PATH;
    char delim = opt.nul ? '\0' : '\n';

    FILE *fp = fopen(list_path, "wb");
    CHECK(fp != NULL);
    CHECK(fwrite(list, 1, n, fp) == n);
    CHECK(fclose(fp) == 0);

    input_source *in;
    char err[256];
    CHECK(input_open(&in, &opt, err, sizeof err) == PHM_OK);
    const char *e = list, *end = list + n;
    size_t items = 0;
    for (;;) {
        input_item item;
        int rc = input_next(in, &item, err, sizeof err);
        CHECK(rc >= 0 && rc <= 1);
        if (rc == 0)
            break;
        CHECK(++items <= 8 * n + 64); /* an entry gives a few items at most here */
        CHECK(item.path != NULL && item.message != NULL);
        CHECK(item.len == strlen(item.path));
        CHECK(item.status == PHM_OK || (item.status < 0 && item.message[0]));
        /* The entry it comes from: this one or a later one. */
        for (;;) {
            CHECK(e <= end);
            const char *eol = memchr(e, delim, (size_t)(end - e));
            size_t el = (size_t)((eol ? eol : end) - e);
            if (from_entry(item.path, e, el, max_path))
                break;
            CHECK(eol != NULL); /* no entry left: the item came from nowhere */
            e = eol + 1;
        }
    }
    input_close(in);
    return 0;
}
