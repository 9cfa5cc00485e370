/*
 * query.h - reading a request's query arguments. libmicrohttpd splits the
 * query string into names and values and leaves the values undecoded (see
 * http.c); everything after that is here, on plain strings, so that it can
 * be fuzzed without a connection (tests/fuzz/fuzz_request.c).
 */
#ifndef SVC_QUERY_H
#define SVC_QUERY_H

#include <stddef.h>

#include "phmatch.h"

/* The undecoded value of argument `name`, or NULL when absent. */
typedef const char *svc_arg_fn(void *ctx, const char *name);

typedef struct svc_args {
    svc_arg_fn *get;
    void *ctx;
} svc_args;

/* An argument, percent-decoded into out. 1 present, 0 absent, -1
 * malformed or longer than outlen - 1. */
int args_text(const svc_args *a, const char *name, char *out, size_t outlen);
/* A boolean (1/0/true/false/yes/no, empty = 0; absent = 0). 0, or -1 if
 * malformed. */
int args_bool(const svc_args *a, const char *name, int *out);
/* A decimal integer in [min, max] (absent = def). 0, or -1 if malformed or
 * out of range. */
int args_int(const svc_args *a, const char *name, long min, long max, long def,
             long *out);

/* The digests of ?digest=sha256,md5 (or sha1, all) as a bit mask of
 * 1 << PHM_DIGEST_* (phm_digest_parse_list). 0 (absent: mask 0), or -1. */
int args_digests(const svc_args *a, unsigned *mask);

/* HMA's GET /m/lookup arguments: signal_type=pdq&signal=HEX, no url.
 * 0 with *hash, or -1 with an HTTP-400 error code and message. */
int args_hma_signal(const svc_args *a, phm_pdq *hash, const char **code,
                    const char **msg);

#endif /* SVC_QUERY_H */
