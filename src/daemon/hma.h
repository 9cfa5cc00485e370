/*
 * hma.h - what the HMA 2 ("Hasher-Matcher-Actioner", OpenMediaMatch)
 * handlers share (handlers_hma.c: matching; handlers_hma_curation.c:
 * banks and their content). A bank is an index source; a bank content is
 * an entry whose id is its decimal content id (docs/SERVICE.md, "HMA").
 */
#ifndef SVC_HMA_H
#define SVC_HMA_H

#include "server.h"

/* Longest ?banks= list read. */
#define HMA_BANKS_ARG_MAX 8192

/* HMA's bank_content_id: a JSON number when the id is a decimal number,
 * else its text. NULL out of memory. */
json_t *hma_content_id(const char *id);

/* A bank's matching_enabled_ratio: 0 when the source is not enabled,
 * else its matching_ratio. */
double hma_bank_ratio(const phm_source_settings *s);

/* A boolean as HMA's schema (pydantic) reads text: 1/0, true/false,
 * yes/no, on/off, t/f, y/n, any case. 0 with *out set, or -1. */
int hma_bool_text(const char *s, int *out);

/* Whether `name` is a listed bank of a ?banks= list (comma-separated). */
int hma_bank_listed(const char *list, const char *name);

/* The next content id of bank `bank` that no entry of the bank has, from
 * the index's counter (phm_index_txn_next_content_id, in txn), looked up
 * in s: into *cid and, as decimal text, id (idlen >= 21). PHM_OK; or an
 * error with a message naming the bank in err: PHM_ERR_INDEX when the
 * lookup fails for any reason but "no such entry" (the id is then not
 * known to be free) or the next 1,000 ids are all taken; the counter's
 * own errors. */
int hma_content_id_pick(phm_index_txn *txn, phm_searcher *s, const char *bank,
                        uint64_t *cid, char *id, size_t idlen, char *err, size_t errlen);

#endif /* SVC_HMA_H */
