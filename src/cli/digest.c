/* digest.c - file digests through OpenSSL EVP (see digest.h). */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "phmatch.h"

static const char *const names[DIGEST_COUNT] = { "md5", "sha1", "sha256" };
static const char *const evp_names[DIGEST_COUNT] = { "MD5", "SHA1", "SHA256" };

#define FILE_CHUNK (1u << 20) /* digester_run_file reads this much a time */

struct digester {
    unsigned mask;
    EVP_MD *md[DIGEST_COUNT];
    EVP_MD_CTX *ctx;
    EVP_MD_CTX *file_ctx[DIGEST_COUNT]; /* digester_run_file, made at use */
    unsigned char *chunk;               /* FILE_CHUNK bytes, made at use */
};

const char *digest_name(int which)
{
    return which >= 0 && which < DIGEST_COUNT ? names[which] : "unknown";
}

int digest_parse_list(const char *list, unsigned *mask, char *err,
                      size_t errlen)
{
    unsigned m = 0;
    const char *p = list;

    for (;;) {
        size_t len = strcspn(p, ",");
        int found = 0;
        if (len == 3 && strncasecmp(p, "all", 3) == 0) {
            m |= (1u << DIGEST_COUNT) - 1;
            found = 1;
        }
        for (int i = 0; i < DIGEST_COUNT && !found; i++) {
            if (strlen(names[i]) == len && strncasecmp(p, names[i], len) == 0) {
                m |= 1u << i;
                found = 1;
            }
        }
        if (!found) {
            snprintf(err, errlen,
                     "unknown digest '%.*s' (expected md5, sha1, sha256 or "
                     "all)",
                     (int)(len > 64 ? 64 : len), p);
            return -1;
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    *mask = m;
    return 0;
}

void digester_free(digester *d)
{
    if (!d)
        return;
    for (int i = 0; i < DIGEST_COUNT; i++) {
        EVP_MD_free(d->md[i]);
        EVP_MD_CTX_free(d->file_ctx[i]);
    }
    EVP_MD_CTX_free(d->ctx);
    free(d->chunk);
    free(d);
}

int digester_new(digester **out, unsigned mask, char *err, size_t errlen)
{
    digester *d = calloc(1, sizeof *d);

    *out = NULL;
    if (!d || !(d->ctx = EVP_MD_CTX_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    d->mask = mask;
    for (int i = 0; i < DIGEST_COUNT; i++) {
        if (!(mask & (1u << i)))
            continue;
        /* Fetched once: an implicit fetch per file would take a lock. */
        d->md[i] = EVP_MD_fetch(NULL, evp_names[i], NULL);
        if (!d->md[i]) {
            snprintf(err, errlen, "digest %s is not available from OpenSSL",
                     names[i]);
            goto fail;
        }
    }
    *out = d;
    return 0;
fail:
    digester_free(d);
    return -1;
}

int digester_run(digester *d, const void *data, size_t len,
                 char hex[DIGEST_COUNT][DIGEST_HEX_MAX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    for (int i = 0; i < DIGEST_COUNT; i++) {
        hex[i][0] = '\0';
        if (!(d->mask & (1u << i)))
            continue;
        if (!EVP_DigestInit_ex(d->ctx, d->md[i], NULL) ||
            !EVP_DigestUpdate(d->ctx, data, len) ||
            !EVP_DigestFinal_ex(d->ctx, md, &mdlen) ||
            mdlen * 2 > DIGEST_HEX_MAX)
            return -1;
        phm_hex_encode(md, mdlen, hex[i]);
    }
    return 0;
}

int digester_run_file(digester *d, const char *path,
                      char hex[DIGEST_COUNT][DIGEST_HEX_MAX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = -1, fd;

    for (int i = 0; i < DIGEST_COUNT; i++)
        hex[i][0] = '\0';
    if (!d->chunk && !(d->chunk = malloc(FILE_CHUNK)))
        return -1;
    for (int i = 0; i < DIGEST_COUNT; i++) {
        if (!(d->mask & (1u << i)))
            continue;
        if (!d->file_ctx[i] && !(d->file_ctx[i] = EVP_MD_CTX_new()))
            return -1;
        if (!EVP_DigestInit_ex(d->file_ctx[i], d->md[i], NULL))
            return -1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -1;
    for (;;) {
        ssize_t n = read(fd, d->chunk, FILE_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        for (int i = 0; i < DIGEST_COUNT; i++)
            if ((d->mask & (1u << i)) &&
                !EVP_DigestUpdate(d->file_ctx[i], d->chunk, (size_t)n))
                goto out;
    }
    for (int i = 0; i < DIGEST_COUNT; i++) {
        if (!(d->mask & (1u << i)))
            continue;
        if (!EVP_DigestFinal_ex(d->file_ctx[i], md, &mdlen) ||
            mdlen * 2 > DIGEST_HEX_MAX)
            goto out;
        phm_hex_encode(md, mdlen, hex[i]);
    }
    rc = 0;
out:
    close(fd);
    return rc;
}
