/*
 * digest.h - cryptographic digests of file bytes (MD5, SHA-1, SHA-256)
 * through OpenSSL's EVP interface, for matching against forensic hash
 * sets, which are MD5/SHA-1 based.
 *
 * A digester is per thread: it holds the fetched algorithms and one
 * reusable context, so digesting a file allocates nothing.
 */
#ifndef PHM_DIGEST_H
#define PHM_DIGEST_H

#include <stddef.h>

enum {
    DIGEST_MD5 = 0,
    DIGEST_SHA1 = 1,
    DIGEST_SHA256 = 2,
    DIGEST_COUNT = 3,
};
#define DIGEST_HEX_MAX 64 /* longest hex digest (SHA-256), no NUL */

/* "md5", "sha1", "sha256": the output column names. */
const char *digest_name(int which);

/* Parses a comma-separated list of digest names (case-insensitive; "all"
 * selects every one) into a bit mask (1 << DIGEST_*). Returns 0, or -1
 * with "unknown digest 'x' (expected md5, sha1, sha256 or all)" in `err`. */
int digest_parse_list(const char *list, unsigned *mask, char *err,
                      size_t errlen);

typedef struct digester digester;

/* Creates a digester for the digests in `mask`. Returns 0, or -1 with the
 * reason in `err` (out of memory, or an algorithm OpenSSL does not provide,
 * e.g. MD5 under a FIPS-only configuration). */
int digester_new(digester **out, unsigned mask, char *err, size_t errlen);

/* Digests `len` bytes into lowercase hex: hex[i] for each digest i in the
 * mask, "" for the others. Returns 0, or -1 if OpenSSL failed. */
int digester_run(digester *d, const void *data, size_t len,
                 char hex[DIGEST_COUNT][DIGEST_HEX_MAX + 1]);

/* Digests the file at `path`, read in pieces rather than held in memory
 * (videos), into hex as digester_run(). Returns 0, or -1 if the file
 * cannot be read or OpenSSL failed. */
int digester_run_file(digester *d, const char *path,
                      char hex[DIGEST_COUNT][DIGEST_HEX_MAX + 1]);

void digester_free(digester *d);

#endif /* PHM_DIGEST_H */
