/* delimited.h - the field encoding of tab- and comma-separated text, one
 * definition for every writer of it (hash records, match lines, hash
 * lists), so that what one writes the others' readers read alike: the
 * library's phm_tsv_fwrite() and phm_csv_fwrite(). */
#ifndef PHM_CLI_DELIMITED_H
#define PHM_CLI_DELIMITED_H

#include <stddef.h>
#include <stdio.h>

/* Writes `len` bytes of `s` as one tsv field: backslash, tab, newline and
 * carriage return as \\ \t \n \r; other bytes as they are. */
void output_tsv_field(FILE *fp, const char *s, size_t len);

/* Writes `len` bytes of `s` as one csv field (RFC 4180): quoted, with
 * quotes doubled, if it holds a comma, quote, CR or LF; else as it is. */
void output_csv_field(FILE *fp, const char *s, size_t len);

#endif /* PHM_CLI_DELIMITED_H */
