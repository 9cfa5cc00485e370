/*
 * output.h - hash records as text: tsv, csv, jsonl and the reference CLI's
 * pdq lines; and the field encoders, for other commands' formats.
 *
 * Columns (tsv/csv header; jsonl keys, in this order):
 *
 *     path status size format width height mode pdq quality flags
 *     [rot90 rot180 rot270 flipx flipy flipplus1 flipminus1]  (--dihedral)
 *     [md5 sha1 sha256]                                     (--digest)
 *     kind frame timestamp fps frames
 *     error
 *
 * `kind` is "image" for every record that is not a video's. A video gives
 * one record of kind "video" (its summary: status, size, format
 * "container/codec" such as "mov/h264", the first frame's width and
 * height, digests, `timestamp` the seconds decoded, `fps` the frame rate,
 * `frames` how many frames were hashed, `error`), then one record of kind
 * "frame" per hashed frame, in frame order (format, the width and height
 * hashed, mode "full", pdq, quality, flags, `frame` the frame number,
 * `timestamp` its time in seconds with 3 decimals). A video whose decoding
 * failed part way has an error status and still its frames.
 *
 * An animated GIF or WebP hashed with --animation frames (hash_record
 * .animated) gives its image record (kind "image", the first frame's pdq
 * as without the option, `frames` the count of frames hashed), then one
 * record of kind "frame" per hashed frame as a video's (format "gif", the
 * canvas's width and height, mode "full").
 *
 * A result and an error record have the same columns: `status` is "ok" or
 * the error's reason code (phm_reason: "not_found", "corrupt", ...), and
 * what an error record cannot know is empty (jsonl: null). `flags` lists
 * "low_quality" (quality < 50) and "recovered" (hashed with
 * --accept-recovered although the decoder met damage), comma-separated
 * (jsonl: an array). `error` is the cause of a failure, or what the decoder
 * recovered from.
 *
 * Encodings. tsv: a backslash, tab, newline and carriage return in a field
 * are written \\, \t, \n, \r. csv: RFC 4180 quoting (a field holding a
 * comma, quote, CR or LF is quoted, quotes doubled); LF line ends. jsonl: one
 * JSON object per line; control characters, U+2028/U+2029 and DEL are
 * \u-escaped; a path that is not valid UTF-8 has each invalid byte written
 * as U+FFFD in "path" and its exact bytes in an extra "path_hex" key.
 * pdq: "hash,quality,path" as the reference's pdq-photo-hasher prints it,
 * the path verbatim; with --dihedral eight lines per image (original, rot90,
 * ..., flipminus1) like its --pdqdih; error records are not written. A
 * video's frames are "hash,quality,path,frame,timestamp", one line each
 * (an animation's after its image's lines).
 * vpdq: the vPDQ reference's "frame,quality,hash,timestamp" lines of every
 * video's frames (timestamp with 3 decimals); nothing for images.
 */
#ifndef PHM_OUTPUT_H
#define PHM_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "delimited.h"
#include "pipeline.h"

typedef enum output_format {
    OUTPUT_TSV,
    OUTPUT_CSV,
    OUTPUT_JSONL,
    OUTPUT_PDQ,
    OUTPUT_VPDQ,
} output_format;

/* Parses "tsv", "csv", "jsonl" (or "json"), "pdq" or "vpdq". Returns 0 or
 * -1. */
int output_format_parse(const char *name, output_format *out);

typedef struct output_config {
    output_format format;
    int header;        /* tsv/csv: write the header line */
    int dihedral;      /* the seven orientation columns */
    unsigned digests;  /* 1 << PHM_DIGEST_* columns */
    phm_mode mode;     /* for the mode column */
} output_config;

/* Writes the header line for tsv and csv (if cfg->header); nothing for the
 * other formats. */
void output_header(FILE *fp, const output_config *cfg);

/* Writes one record (nothing for an error record in pdq format); for a
 * video, its summary and one record per frame. Write errors are left in
 * ferror(fp). */
void output_record(FILE *fp, const output_config *cfg, const hash_record *r);

/* The `format` column of record r: "container/codec" of a video (written
 * into buf), an image's format name, or NULL when unknown. */
#define OUTPUT_FORMAT_MAX 64
const char *output_format_column(const hash_record *r,
                                 char buf[OUTPUT_FORMAT_MAX]);

/* Writes v's frames as the vPDQ reference's lines. */
void output_vpdq(FILE *fp, const phm_vpdq *v);

#endif /* PHM_OUTPUT_H */
