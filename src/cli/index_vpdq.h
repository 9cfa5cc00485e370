/*
 * index_vpdq.h - vPDQ files as video entries of the index: telling a vPDQ
 * file by its content, and `phmatch index export --format vpdq
 * --output-dir DIR` (one vPDQ file per video entry). Importing one is the
 * library's hash-list reader (format vpdq: the whole file is one entry,
 * the video with every frame line). docs/HASHLISTS.md describes both.
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

/* Writes every video entry of idx as DIR/<id>.txt (mode 0600; an existing
 * file is never overwritten), and counts the entries that are not videos.
 * Returns an exit status (CLI_EXIT_*), after messages. */
int index_vpdq_export(phm_index *idx, const char *dir);

#endif /* PHM_INDEX_VPDQ_H */
