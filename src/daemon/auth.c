/* auth.c - the bearer token file and constant-time lookup (see auth.h). */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "phmatch.h"

#define TOKENS_FILE_MAX (1u << 20)

const char *role_name(svc_role r)
{
    switch (r) {
    case ROLE_ADMIN: return "admin";
    case ROLE_LOOKUP: return "lookup";
    default: return "none";
    }
}

void tokens_free(svc_tokens *t)
{
    if (t)
        OPENSSL_clear_free(t, sizeof *t + t->count * sizeof t->tok[0]);
}

static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n >= AUTH_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@'))
            return 0;
    }
    return 1;
}

static int valid_token(const char *s, size_t n)
{
    if (n < AUTH_TOKEN_MIN || n > AUTH_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* Reads the whole file after checking what it is: opened and read by
 * libphmatch (a regular file, at most 1 MiB), owner and mode checked here
 * on the open descriptor. Symbolic links are followed, since that is how
 * Kubernetes mounts secrets: the checks apply to the file they lead to. */
static char *read_protected(const char *path, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t cap = 0;
    uint64_t size = 0;
    char why[PHM_ERRMSG_MAX];
    int fd;

    if (phm_file_open(path, 0, TOKENS_FILE_MAX, &fd, &size, why,
                      sizeof why) != PHM_OK) {
        snprintf(err, errlen, "token file: %s", why);
        return NULL;
    }
    if (fstat(fd, &st)) {
        snprintf(err, errlen, "cannot stat token file '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "token file '%s' is accessible by group or others (mode "
                 "0%o): chmod 600 it", path, (unsigned)(st.st_mode & 0777));
        goto fail;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen, "token file '%s' belongs to another user (uid %u)", path,
                 (unsigned)st.st_uid);
        goto fail;
    }
    if (phm_file_read_fd(fd, path, size, &buf, &cap, len, why, sizeof why) != PHM_OK) {
        snprintf(err, errlen, "token file: %s", why);
        goto fail;
    }
    close(fd);
    return (char *)buf;
fail:
    if (buf)
        OPENSSL_clear_free(buf, cap);
    close(fd);
    return NULL;
}

/* The next whitespace-separated field of [*p, end), or 0 if none. */
static size_t field(const char **p, const char *end, const char **start)
{
    while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r'))
        (*p)++;
    *start = *p;
    while (*p < end && **p != ' ' && **p != '\t' && **p != '\r')
        (*p)++;
    return (size_t)(*p - *start);
}

int tokens_load(const char *path, svc_tokens **out, char *err, size_t errlen)
{
    size_t len = 0;
    char *buf = read_protected(path, &len, err, errlen);

    *out = NULL;
    if (!buf)
        return -1;
    int rc = tokens_parse(buf, len, path, out, err, errlen);
    OPENSSL_clear_free(buf, len + 1);
    return rc;
}

int tokens_parse(const char *buf, size_t len, const char *path, svc_tokens **out,
                 char *err, size_t errlen)
{
    size_t lines = 0, cap;
    svc_tokens *t = NULL;
    int lineno = 0, rc = -1;

    *out = NULL;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    cap = lines + 1;
    t = calloc(1, sizeof *t + cap * sizeof t->tok[0]);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (const char *p = buf, *end = buf + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        lineno++;
        const char *q = p, *f[4];
        size_t fl[4];
        int nf = 0;
        while (nf < 4 && (fl[nf] = field(&q, eol, &f[nf])) > 0)
            nf++;
        p = eol + 1;
        if (nf == 0 || f[0][0] == '#')
            continue;
        if (nf != 3) {
            snprintf(err, errlen, "token file '%s' line %d: expected 'NAME ROLE TOKEN'",
                     path, lineno);
            goto out;
        }
        if (!valid_name(f[0], fl[0])) {
            snprintf(err, errlen, "token file '%s' line %d: a name is 1 to %d letters, "
                     "digits or . _ - @", path, lineno, AUTH_NAME_MAX - 1);
            goto out;
        }
        svc_role role;
        if (fl[1] == 6 && strncmp(f[1], "lookup", 6) == 0)
            role = ROLE_LOOKUP;
        else if (fl[1] == 5 && strncmp(f[1], "admin", 5) == 0)
            role = ROLE_ADMIN;
        else {
            snprintf(err, errlen, "token file '%s' line %d: unknown role (expected "
                     "lookup or admin)", path, lineno);
            goto out;
        }
        if (!valid_token(f[2], fl[2])) {
            snprintf(err, errlen, "token file '%s' line %d: a token is %d to %d "
                     "printable ASCII characters without spaces", path, lineno,
                     AUTH_TOKEN_MIN, AUTH_TOKEN_MAX);
            goto out;
        }
        svc_token *tk = &t->tok[t->count];
        memcpy(tk->name, f[0], fl[0]);
        tk->name[fl[0]] = '\0';
        tk->role = role;
        SHA256((const unsigned char *)f[2], fl[2], tk->digest);
        for (size_t j = 0; j < t->count; j++) {
            if (strcmp(t->tok[j].name, tk->name) == 0 ||
                memcmp(t->tok[j].digest, tk->digest, 32) == 0) {
                snprintf(err, errlen, "token file '%s' line %d: the name or the token "
                         "of line %s is repeated", path, lineno, "above");
                goto out;
            }
        }
        t->count++;
    }
    *out = t;
    t = NULL;
    rc = 0;
out:
    tokens_free(t);
    return rc;
}

const svc_token *tokens_find(const svc_tokens *t, const char *tok, size_t len)
{
    uint8_t d[32];
    size_t found = SIZE_MAX;

    if (!t || len == 0 || len > AUTH_TOKEN_MAX)
        return NULL;
    SHA256((const unsigned char *)tok, len, d);
    /* Every entry is compared; the index is chosen without a branch on
     * the comparison's result. */
    for (size_t i = 0; i < t->count; i++) {
        size_t eq = (size_t)(CRYPTO_memcmp(d, t->tok[i].digest, 32) == 0);
        size_t mask = (size_t)0 - eq;
        found = (found & ~mask) | (i & mask);
    }
    OPENSSL_cleanse(d, sizeof d);
    return found == SIZE_MAX ? NULL : &t->tok[found];
}

int auth_parse_bearer(const char *h, const char **tok, size_t *len)
{
    if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return -1;
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    size_t n = strlen(h);
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    if (!n)
        return -1;
    *tok = h;
    *len = n;
    return 0;
}

auth_outcome auth_decide(const svc_tokens *tokens, int over_tcp, int unix_token_required,
                         const char *authorization, svc_role need, svc_role *role,
                         char who[AUTH_NAME_MAX])
{
    *role = ROLE_NONE;
    snprintf(who, AUTH_NAME_MAX, "-");
    if (need == ROLE_NONE)
        return AUTH_OK;
    if (authorization && tokens) {
        const char *tok;
        size_t len;
        const svc_token *t;
        if (auth_parse_bearer(authorization, &tok, &len))
            return AUTH_MALFORMED;
        if (!(t = tokens_find(tokens, tok, len)))
            return AUTH_UNKNOWN;
        *role = t->role;
        snprintf(who, AUTH_NAME_MAX, "%s", t->name);
    } else if (over_tcp) {
        /* Refused without tokens too, in case a reload dropped them:
         * TCP never falls back to an anonymous role. */
        return tokens ? AUTH_MISSING : AUTH_NO_TOKENS;
    } else if (unix_token_required) {
        return tokens ? AUTH_MISSING : AUTH_NO_TOKENS;
    } else {
        *role = ROLE_ADMIN;
        snprintf(who, AUTH_NAME_MAX, "unix");
    }
    return *role < need ? AUTH_FORBIDDEN : AUTH_OK;
}
