/*
 * index_images.h - `phmatch index add --images [--augment] --source S
 * DB PATH...`: images hashed into entries of the index, each with the
 * stored variants of its edits when augmenting (docs/ROBUST.md, "Known-
 * image augmentation").
 */
#ifndef PHM_INDEX_IMAGES_H
#define PHM_INDEX_IMAGES_H

#include <stdint.h>

#include "phmatch.h"

typedef struct index_images_options {
    const char *source, *category, *note;
    char **paths; /* files or directories (walked as `phmatch hash` does) */
    int npaths;
    const int *codes; /* the variants to make; ncodes 0: none */
    size_t ncodes;
} index_images_options;

typedef struct index_images_counts {
    uint64_t images, variants, bad;
} index_images_counts;

/* Parses a comma-separated list of variant names (phm_known_variant_code)
 * into codes[cap]; "default" stands for phm_augment_default(). Returns
 * the count, or -1 after a message naming the bad name. */
int index_images_parse_set(const char *list, int *codes, size_t cap);

/* Hashes every image under o->paths into txn. A file that cannot be read,
 * decoded or hashed, or whose path is no valid id, is reported (naming
 * it) and counted in c->bad; the rest go on. Returns CLI_EXIT_OK, or an
 * exit status after a message for a failure that stops the run (out of
 * memory, the index). */
int index_images_add(const index_images_options *o, phm_index_txn *txn,
                     index_images_counts *c);

#endif /* PHM_INDEX_IMAGES_H */
