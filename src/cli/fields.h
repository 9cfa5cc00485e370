/*
 * fields.h - a record as a list of typed, named fields, written as a tsv or
 * csv line or as the members of a JSON object: one spelling of the values
 * for every command's records (`hash` in output.c, `match`), so that the
 * same column reads the same in all of them.
 */
#ifndef PHM_CLI_FIELDS_H
#define PHM_CLI_FIELDS_H

#include <stddef.h>
#include <stdio.h>

#include "phmatch.h"

typedef enum field_kind {
    FIELD_NULL,  /* unknown: empty in tsv/csv, null in jsonl */
    FIELD_STR,
    FIELD_NUM,
    FIELD_RAW,   /* a number already formatted ("0.033"): unquoted in jsonl */
    FIELD_REAL,  /* a real number, written with 3 decimals */
    FIELD_FLAGS, /* bit set of FIELD_FLAG_*: "a,b" in tsv/csv, an array in
                    jsonl */
} field_kind;

enum { FIELD_FLAG_LOW_QUALITY = 1, FIELD_FLAG_RECOVERED = 2 };

/* Strings are not copied: they must outlive the writing of the field. */
typedef struct field {
    const char *name;
    field_kind kind;
    const char *s;
    size_t len;
    long long num;
    double real;
} field;

/* A string field; NULL: unknown. */
void field_str(field *f, const char *name, const char *s);
/* A number field, unknown unless `known`. */
void field_num(field *f, const char *name, int known, long long v);
/* A real number field (3 decimals), unknown unless `known`. */
void field_real(field *f, const char *name, int known, double v);
/* A preformatted number (FIELD_RAW); NULL: unknown. */
void field_raw(field *f, const char *name, const char *s);
/* The "flags" field: FIELD_FLAG_* bits. */
void field_flags(field *f, unsigned flags);

/* The names of n fields, separated by `sep`, and a newline: a header. */
void fields_write_names(FILE *fp, const field *f, size_t n, char sep);

/* One tsv (sep '\t') or csv (sep ',') line of n fields, encoded as
 * delimited.h says, and a newline. */
void fields_write_delimited(FILE *fp, const field *f, size_t n, char sep);

/* n fields as comma-separated JSON members ("name":value), without the
 * braces. A string field named "path" that is not UTF-8 is followed by
 * "path_hex", its exact bytes in hex. */
void fields_write_json(FILE *fp, const field *f, size_t n);

/* The match record (phm_match_json) as tsv/csv columns, the same in
 * `match` and `lookup`: entry source id category entry_kind distance
 * orientation frame timestamp frames query_percent compared_percent
 * (entry_kind is the record's "kind": a line also has the input's kind;
 * frames is "FRAME@SECONDS ..." space-separated). h NULL: the names, with
 * empty values. *frames receives the frames text (malloc'd, or NULL;
 * the caller frees it after writing). Returns FIELDS_MATCH_COUNT, or 0
 * out of memory. */
#define FIELDS_MATCH_COUNT 14
size_t fields_match(field *f, const phm_match_hit *h, char **frames);

#endif /* PHM_CLI_FIELDS_H */
