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

#endif /* SVC_HMA_H */
