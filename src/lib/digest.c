/* digest.c - MD5, SHA-1 and SHA-256 of bytes and files through OpenSSL's
 * EVP interface (see phmatch.h, "Digests"). phmatch's --digest columns and
 * phmatchd's ?digest= both come from here. */
#include "phmatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

static const char *const names[PHM_DIGEST_COUNT] = { "md5", "sha1", "sha256" };
static const char *const evp_names[PHM_DIGEST_COUNT] = { "MD5", "SHA1", "SHA256" };

#define FILE_CHUNK (1u << 20) /* phm_digest_file reads this much a time */

struct phm_digester {
    unsigned made;  /* the digests it can compute */
    unsigned mask;  /* those it computes now (phm_digester_select) */
    EVP_MD *md[PHM_DIGEST_COUNT];
    EVP_MD_CTX *ctx[PHM_DIGEST_COUNT]; /* one per digest: a file is read once */
    unsigned char *chunk;              /* FILE_CHUNK bytes, made at first file */
};

const char *phm_digest_name(int which)
{
    return which >= 0 && which < PHM_DIGEST_COUNT ? names[which] : "unknown";
}

int phm_digest_parse_list(const char *list, unsigned *mask, char *err, size_t errlen)
{
    unsigned m = 0;
    const char *p = list;

    if (!list || !mask)
        return PHM_ERR_INVALID;
    for (;;) {
        size_t len = strcspn(p, ",");
        int found = 0;
        if (len == 3 && strncasecmp(p, "all", 3) == 0) {
            m |= PHM_DIGEST_ALL;
            found = 1;
        }
        for (int i = 0; i < PHM_DIGEST_COUNT && !found; i++) {
            if (strlen(names[i]) == len && strncasecmp(p, names[i], len) == 0) {
                m |= 1u << i;
                found = 1;
            }
        }
        if (!found) {
            if (err && errlen)
                snprintf(err, errlen,
                         "unknown digest '%.*s' (expected md5, sha1, sha256 or all)",
                         (int)(len > 64 ? 64 : len), p);
            return PHM_ERR_INVALID;
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    *mask = m;
    return PHM_OK;
}

void phm_digester_free(phm_digester *d)
{
    if (!d)
        return;
    for (int i = 0; i < PHM_DIGEST_COUNT; i++) {
        EVP_MD_free(d->md[i]);
        EVP_MD_CTX_free(d->ctx[i]);
    }
    free(d->chunk);
    free(d);
}

int phm_digester_new(phm_digester **out, unsigned mask, char *err, size_t errlen)
{
    phm_digester *d;

    if (!out || (mask & ~(unsigned)PHM_DIGEST_ALL)) {
        if (err && errlen)
            snprintf(err, errlen, "invalid digest mask %#x", mask);
        return PHM_ERR_INVALID;
    }
    *out = NULL;
    if (!(d = calloc(1, sizeof *d)))
        goto nomem;
    d->made = d->mask = mask;
    for (int i = 0; i < PHM_DIGEST_COUNT; i++) {
        if (!(mask & (1u << i)))
            continue;
        if (!(d->ctx[i] = EVP_MD_CTX_new()))
            goto nomem;
        /* Fetched once: an implicit fetch per file would take a lock. */
        d->md[i] = EVP_MD_fetch(NULL, evp_names[i], NULL);
        if (!d->md[i]) {
            if (err && errlen)
                snprintf(err, errlen, "digest %s is not available from OpenSSL", names[i]);
            phm_digester_free(d);
            return PHM_ERR_UNSUPPORTED;
        }
    }
    *out = d;
    return PHM_OK;
nomem:
    if (err && errlen)
        snprintf(err, errlen, "out of memory");
    phm_digester_free(d);
    return PHM_ERR_NOMEM;
}

int phm_digester_select(phm_digester *d, unsigned mask)
{
    if (!d || (mask & ~d->made))
        return PHM_ERR_INVALID;
    d->mask = mask;
    return PHM_OK;
}

/* Starts every digest of the mask. */
static int digest_init(phm_digester *d, char hex[PHM_DIGEST_COUNT][PHM_DIGEST_HEX_MAX + 1])
{
    for (int i = 0; i < PHM_DIGEST_COUNT; i++) {
        hex[i][0] = '\0';
        if ((d->mask & (1u << i)) && !EVP_DigestInit_ex(d->ctx[i], d->md[i], NULL))
            return PHM_ERR_INTERNAL;
    }
    return PHM_OK;
}

static int digest_update(phm_digester *d, const void *data, size_t len)
{
    for (int i = 0; i < PHM_DIGEST_COUNT; i++)
        if ((d->mask & (1u << i)) && !EVP_DigestUpdate(d->ctx[i], data, len))
            return PHM_ERR_INTERNAL;
    return PHM_OK;
}

static int digest_final(phm_digester *d, char hex[PHM_DIGEST_COUNT][PHM_DIGEST_HEX_MAX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    for (int i = 0; i < PHM_DIGEST_COUNT; i++) {
        if (!(d->mask & (1u << i)))
            continue;
        if (!EVP_DigestFinal_ex(d->ctx[i], md, &mdlen) || mdlen * 2 > PHM_DIGEST_HEX_MAX)
            return PHM_ERR_INTERNAL;
        phm_hex_encode(md, mdlen, hex[i]);
    }
    return PHM_OK;
}

int phm_digest_mem(phm_digester *d, const void *data, size_t len,
                   char hex[PHM_DIGEST_COUNT][PHM_DIGEST_HEX_MAX + 1])
{
    static const unsigned char empty[1];
    int rc;

    if (!d || !hex || (!data && len))
        return PHM_ERR_INVALID;
    if ((rc = digest_init(d, hex)) != PHM_OK ||
        (rc = digest_update(d, data ? data : empty, len)) != PHM_OK ||
        (rc = digest_final(d, hex)) != PHM_OK) {
        for (int i = 0; i < PHM_DIGEST_COUNT; i++)
            hex[i][0] = '\0';
        return rc;
    }
    return PHM_OK;
}

int phm_digest_file(phm_digester *d, const char *path,
                    char hex[PHM_DIGEST_COUNT][PHM_DIGEST_HEX_MAX + 1])
{
    int rc, fd;

    if (!d || !path || !hex)
        return PHM_ERR_INVALID;
    for (int i = 0; i < PHM_DIGEST_COUNT; i++)
        hex[i][0] = '\0';
    if (!d->chunk && !(d->chunk = malloc(FILE_CHUNK)))
        return PHM_ERR_NOMEM;
    if ((rc = phm_file_open(path, 0, 0, &fd, NULL, NULL, 0)) != PHM_OK)
        return rc;
    if ((rc = digest_init(d, hex)) != PHM_OK)
        goto out;
    for (;;) {
        ssize_t n = read(fd, d->chunk, FILE_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = PHM_ERR_UNREADABLE;
            goto out;
        }
        if (n == 0)
            break;
        if ((rc = digest_update(d, d->chunk, (size_t)n)) != PHM_OK)
            goto out;
    }
    rc = digest_final(d, hex);
out:
    close(fd);
    if (rc != PHM_OK)
        for (int i = 0; i < PHM_DIGEST_COUNT; i++)
            hex[i][0] = '\0';
    return rc;
}
