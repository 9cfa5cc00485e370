/*
 * json_body.h - the JSON bodies of POST /v1/lookup and POST
 * /v1/index/entries, read and checked completely before any index work,
 * from plain buffers (fuzzed by tests/fuzz/fuzz_request.c). JSON itself is
 * jansson's.
 */
#ifndef SVC_JSON_BODY_H
#define SVC_JSON_BODY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "phmatch.h"

/* Why a body was refused: the HTTP status, error code and message. */
typedef struct svc_bad {
    unsigned status;
    const char *code;
    char msg[256];
} svc_bad;

/* {"hashes": ["HEX", ...], "max_distance": N, "k": K}, N in
 * 0..max_distance (default match_distance), K in 1..max_matches (0:
 * absent), at most max_batch hashes. */
typedef struct lookup_body {
    size_t n;    /* hashes, written to the caller's array */
    int radius;
    size_t k;
} lookup_body;

/* Reads a lookup body into *out and hashes[0..n) (room for `cap`; cap >=
 * c->max_batch). 0, or -1 with *bad. */
int lookup_body_parse(const uint8_t *body, size_t len, const svc_config *c,
                      phm_pdq *hashes, size_t cap, lookup_body *out, svc_bad *bad);

/* {"entries": [ENTRY, ...]} or one ENTRY (docs/SERVICE.md), at most
 * max_batch. Returns the parsed JSON (json_decref it) with every entry
 * checked and their count in *n, or NULL with *bad. */
json_t *entries_body_parse(const uint8_t *body, size_t len, size_t max_batch, size_t *n,
                           svc_bad *bad);
/* Entry i of a body entries_body_parse accepted. Its strings point into
 * the JSON (valid while it is). */
void entries_body_get(json_t *root, size_t i, phm_entry *e);

#endif /* SVC_JSON_BODY_H */
