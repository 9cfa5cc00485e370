/*
 * index_vpdq.h - vPDQ files as video entries of the index: what `phmatch
 * index import` does with a vPDQ file (the whole file is one entry: the
 * video, with every frame line) and `phmatch index export --format vpdq
 * --output-dir DIR` (one vPDQ file per video entry). docs/HASHLISTS.md
 * describes both.
 */
#ifndef PHM_INDEX_VPDQ_H
#define PHM_INDEX_VPDQ_H

#include <stdint.h>

#include "phmatch.h"

/* 1 if `path` is a regular file whose content starts with a vPDQ line
 * (phm_vpdq_detect): found by content, never by name. 0 otherwise,
 * including when it cannot be read (the hash-list reader then reports
 * that). */
int index_vpdq_detect(const char *path);

/* The id of the video of vPDQ file `path`: its base name without a
 * trailing ".txt" or ".vpdq", as `phmatch hash --output-dir` names them.
 * Writes at most `len` bytes with the NUL. */
void index_vpdq_id(const char *path, char *out, size_t len);

typedef struct index_vpdq_opts {
    const char *source;   /* --source; required */
    const char *category; /* --category; may be NULL */
    const char *id;       /* --id; NULL: from the file name */
} index_vpdq_opts;

/* Adds the video of vPDQ file `path` to txn as one entry. Returns 0 when
 * added; 1 when the file or entry is bad (message on stderr naming the file
 * and line; the transaction stays usable); -1 on a fatal error (message
 * printed, *rc_out the library status). */
int index_vpdq_import(phm_index_txn *txn, const char *path,
                      const index_vpdq_opts *o, int *rc_out);

/* Writes every video entry of idx as DIR/<id>.txt (mode 0600; an existing
 * file is never overwritten), and counts the entries that are not videos.
 * Returns an exit status (CLI_EXIT_*), after messages. */
int index_vpdq_export(phm_index *idx, const char *dir);

#endif /* PHM_INDEX_VPDQ_H */
