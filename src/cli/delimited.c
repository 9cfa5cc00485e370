/* delimited.c - tsv and csv field encoding (see delimited.h): the
 * library's (phm_tsv_fwrite, phm_csv_fwrite), which the hash-list writers
 * use too. */
#include "delimited.h"

#include "phmatch.h"

void output_tsv_field(FILE *fp, const char *s, size_t len)
{
    (void)phm_tsv_fwrite(fp, s, len); /* the caller checks ferror */
}

void output_csv_field(FILE *fp, const char *s, size_t len)
{
    (void)phm_csv_fwrite(fp, s, len);
}
