/*
 * fuzz_config.c - libFuzzer target: phmatchd's configuration file and
 * token file readers, on real files (src/daemon/config.c, auth.c; linked
 * from the daemon's objects as build.sh links them).
 *
 * The first byte chooses the reader; the rest is the file, written to a
 * temporary file of mode 0600 (created once, rewritten for every input):
 *   even: config_load_file() over the defaults. A refusal says
 *         "'PATH' line N: ..." (or "cannot ..."); what loads is written
 *         back with config_print(), and that text loads to the same
 *         settings (printed again: the same text); config_validate()
 *         accepts or gives a reason; config_copy() and
 *         config_restart_only_diff() of a copy find no difference.
 *   odd:  tokens_load(): the same answer as tokens_parse() of the bytes
 *         (the file checks pass for this file), names valid, roles lookup
 *         or admin, every entry found by its digest only once; a refusal
 *         names the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[256];
static int fd = -1;

#include "check.h"

static void remove_file(void)
{
    if (path[0])
        unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/fuzz_config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    fd = mkstemp(path); /* mode 0600, as a token file must be */
    if (fd < 0) {
        fprintf(stderr, "fuzz_config: cannot create '%s'\n", path);
        abort();
    }
    atexit(remove_file);
    return 0;
}

static void write_file(const uint8_t *d, size_t n)
{
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, d, n, 0) == (ssize_t)n);
}

/* config_print() of c, in a malloc'd string. */
static char *printed(const svc_config *c, size_t *len)
{
    char *text = NULL;
    FILE *fp = open_memstream(&text, len);
    CHECK(fp != NULL);
    config_print(fp, c);
    CHECK(fclose(fp) == 0);
    return text;
}

static void fuzz_config_file(const uint8_t *d, size_t n)
{
    svc_config c, again, copy;
    char err[512], names[CONFIG_NAMES_MAX];

    write_file(d, n);
    CHECK(config_defaults(&c) == 0);
    memset(err, 'x', sizeof err);
    err[sizeof err - 1] = '\0';
    if (config_load_file(&c, path, err, sizeof err)) {
        char want[300];
        snprintf(want, sizeof want, "'%s' line ", path);
        CHECK(strncmp(err, want, strlen(want)) == 0);
        config_free(&c);
        return;
    }
    if (config_validate(&c, err, sizeof err))
        CHECK(err[0] != '\0' && strlen(err) < sizeof err);

    /* What was loaded, printed, loads to the same settings. */
    size_t len1, len2;
    char *t1 = printed(&c, &len1);
    write_file((const uint8_t *)t1, len1);
    CHECK(config_defaults(&again) == 0);
    if (config_load_file(&again, path, err, sizeof err)) {
        fprintf(stderr, "fuzz_config: the printed settings do not load: %s\n%s", err, t1);
        abort();
    }
    char *t2 = printed(&again, &len2);
    CHECK(len1 == len2 && memcmp(t1, t2, len1) == 0);
    CHECK(config_restart_only_diff(&c, &again, names, sizeof names) == 0);

    CHECK(config_copy(&copy, &c) == 0);
    CHECK(config_restart_only_diff(&c, &copy, names, sizeof names) == 0 && !names[0]);
    free(t1);
    free(t2);
    config_free(&copy);
    config_free(&again);
    config_free(&c);
}

static void fuzz_token_file(const uint8_t *d, size_t n)
{
    svc_tokens *a = NULL, *b = NULL;
    char ea[512], eb[512];

    write_file(d, n);
    int ra = tokens_load(path, &a, ea, sizeof ea);
    int rb = tokens_parse((const char *)d, n, path, &b, eb, sizeof eb);
    CHECK(ra == rb);
    if (ra) {
        CHECK(a == NULL && b == NULL);
        CHECK(strcmp(ea, eb) == 0 && strstr(ea, path) != NULL);
        return;
    }
    CHECK(a && b && a->count == b->count);
    for (size_t i = 0; i < a->count; i++) {
        const svc_token *t = &a->tok[i];
        size_t nl = strlen(t->name);
        CHECK(nl > 0 && nl < AUTH_NAME_MAX && strcmp(t->name, b->tok[i].name) == 0);
        CHECK(strspn(t->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789._-@") == nl);
        CHECK(t->role == ROLE_LOOKUP || t->role == ROLE_ADMIN);
        CHECK(t->role == b->tok[i].role && memcmp(t->digest, b->tok[i].digest, 32) == 0);
        for (size_t j = 0; j < i; j++)
            CHECK(memcmp(a->tok[j].digest, t->digest, 32) != 0 &&
                  strcmp(a->tok[j].name, t->name) != 0);
    }
    tokens_free(a);
    tokens_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    if (data[0] & 1)
        fuzz_token_file(data + 1, size - 1);
    else
        fuzz_config_file(data + 1, size - 1);
    return 0;
}
