/*
 * json_body.h - the bodies of POST /v1/lookup and POST /v1/index/entries,
 * read and checked completely before any index work, from plain buffers
 * (fuzzed by tests/fuzz/fuzz_request.c). JSON itself is jansson's; entries
 * are read by the library's hash-list reader.
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

/* The search cost of n query hashes at distance `radius`, in units of one
 * hash searched at distance 31: a hash costs 2^((radius - 31) / 4), 1 at
 * 31 or less, at most 128 (past ~58 a search is a scan of the index), as
 * measured by bench/lookup_cost.c (1 M random entries: 11 us a hash at
 * 31, 60 us at 40, 140 us at 48, 1.3 ms at 60 and 64). Rounded up. */
uint64_t lookup_cost(size_t n, int radius);

/* Checks n hashes at `radius` against max_lookup_cost: 0, or -1 with a
 * 413 too_costly in *bad. */
int lookup_cost_check(const svc_config *c, size_t n, int radius, svc_bad *bad);

/* Reads a lookup body into *out and hashes[0..n) (room for `cap`; cap >=
 * c->max_batch). 0, or -1 with *bad. */
int lookup_body_parse(const uint8_t *body, size_t len, const svc_config *c,
                      phm_pdq *hashes, size_t cap, lookup_body *out, svc_bad *bad);

/* ---- POST /v1/index/entries ------------------------------------------- */
/*
 * The body is a hash list, read by the library's reader
 * (phm_hashlist_*): the one entry grammar of `phmatch index import`
 * (docs/HASHLISTS.md). By Content-Type:
 *
 *   application/json                 {"entries": [ENTRY, ...]} or one ENTRY;
 *                                    each ENTRY a jsonl object
 *   application/x-ndjson,            jsonl
 *   application/jsonl
 *   text/csv                         csv
 *   text/tab-separated-values        tsv
 *   text/plain                       any format, detected (pdq, hex, hma,
 *                                    csv, tsv, jsonl, vpdq, and the
 *                                    publishers' formats)
 *   application/xml, text/xml        an NCMEC XML list
 *
 * An application/json body that is a publisher's document (top-level
 * "@odata.context", "odata.metadata", "value", "hashRecords", "results" or
 * "data" and no "entries": VICS, StopNCII, ThreatExchange, TAT) is read
 * as that format. Deletion records are applied (phmatchd counts them as
 * "removed").
 *
 * Everything is read and checked (all entries, at most max_batch) before
 * any index work; then the entries are read again, from the same memory,
 * to be added. Nothing is written to disk.
 */

/* A checked entries body. */
typedef struct entries_body {
    phm_hashlist_format fmt;   /* the format to read data in */
    const char *name;          /* the list's name in messages */
    const uint8_t *data;       /* the list: the body, or `lines` */
    size_t len;
    char *lines;               /* application/json: the ENTRYs as jsonl */
    size_t n;                  /* entries */
    phm_hashlist_options opt;  /* defaults (strings: the caller's) */
} entries_body;

/* The hash-list format of Content-Type `ct` (may be NULL) for an entries
 * body: 0 and *fmt, *json (1 for application/json), or -1 if the type is
 * not one of the list above. */
int entries_body_type(const char *ct, phm_hashlist_format *fmt, int *json);

/* Reads and checks body[0..len) of Content-Type `ct`. `source`,
 * `category` and `video_id` are the defaults (?source=, ?category=, ?id=;
 * may be NULL). Returns 0 with *out (entries_body_free it), or -1 with
 * *bad: 400 bad_json, bad_request or bad_entry ("entries[3]: ..." for a
 * JSON body, "body:7: ..." for a list), 413 too_large (more than
 * max_batch entries), 415, 503 out_of_memory. A record whose quality is
 * known and below min_quality (0: no minimum; the ?source='s stored
 * minimum) is a bad_entry. */
int entries_body_check(const uint8_t *body, size_t len, const char *ct, const char *source,
                       const char *category, const char *video_id, int min_quality,
                       size_t max_batch, entries_body *out, svc_bad *bad);

/* Opens a reader of a checked body (its entries, in order). 0, or -1 out
 * of memory. */
int entries_body_reader(const entries_body *b, phm_hashlist_reader **rd);

/* "entries[i]: ..." or "body:LINE: ..." for a problem of the entry the
 * reader read last, into msg. */
void entries_body_where(const entries_body *b, const phm_hashlist_reader *rd, const char *what,
                        char *msg, size_t msglen);

/* Frees what entries_body_check() allocated. Accepts a zeroed body. */
void entries_body_free(entries_body *b);

#endif /* SVC_JSON_BODY_H */
