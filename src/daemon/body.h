/*
 * body.h - a request body gathered into one buffer under a hard cap and a
 * server-wide memory budget. The buffer belongs to a connection and is
 * reused by its next request when small; memory is counted in a shared
 * counter (and in its client's) before it is allocated, as bytes arrive,
 * so that many large uploads at once are refused (503) rather than grow
 * the process, and stalled uploads hold only what they sent. Multipart bodies keep only
 * their `photo` field. Plain buffers, no HTTP (fuzzed by
 * tests/fuzz/fuzz_request.c).
 */
#ifndef SVC_BODY_H
#define SVC_BODY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Body buffers up to this size stay with a keep-alive connection for its
 * next request; larger ones are freed when the request ends. */
#define BODY_KEEP_BUFFER (64u * 1024)
/* A body over the limit is read and dropped (so that the 413 can be
 * sent); past this multiple of the limit the connection is closed. */
#define BODY_DISCARD_FACTOR 4

/* Bytes kept of a multipart text field (`metadata`, `note`). */
#define BODY_FORM_TEXT_MAX 8192
/* Its index in svc_bodybuf.form_text. */
enum { BODY_FORM_METADATA = 0, BODY_FORM_NOTE = 1 };

typedef struct svc_bodybuf {
    atomic_int_fast64_t *in_use; /* bytes of all bodies (metrics) */
    atomic_int_fast64_t *client_in_use; /* bytes of the client's bodies, or NULL */
    uint8_t *buf;
    size_t len, cap;             /* cap bytes are counted in *in_use (and
                                    *client_in_use) */
    size_t limit;                /* max_body when the request began */
    size_t expect;               /* Content-Length, 0 if not given */
    int64_t budget;              /* max_body_memory when it began */
    int64_t client_budget;       /* max_body_memory_per_client */
    int too_large, bad_form;
    int overloaded;              /* 1: over budget; 2: over client_budget */
    uint64_t discarded;
    int photo_parts;             /* `photo` and `video` parts */
    int video_part;              /* the file part is a `video` (HMA) */
    /* HMA's small text fields beside `photo` (body_form_piece): the
     * multipart `metadata` and `note`, kept up to BODY_FORM_TEXT_MAX
     * bytes each (form_long set past that) */
    char form_text[2][BODY_FORM_TEXT_MAX + 1];
    size_t form_len[2];
    int form_long;
} svc_bodybuf;

/* An empty body counting its memory in *in_use. */
void body_init(svc_bodybuf *b, atomic_int_fast64_t *in_use);
/* Counts the buffer in *client_in_use too (the memory of all bodies of
 * one client address), from now until body_free. Call once, while the
 * buffer is empty. */
void body_set_client(svc_bodybuf *b, atomic_int_fast64_t *client_in_use);
/* A new request: empties the body (keeping the buffer) and sets the
 * limits; no client budget, no declared length. */
void body_begin(svc_bodybuf *b, size_t limit, int64_t budget);
/* The request declares `length` body bytes (Content-Length; 0 unknown)
 * and its client may hold client_budget bytes of bodies. Nothing is
 * reserved: memory is charged as bytes arrive, the buffer growing in
 * steps (16 KiB, doubling) and never past the declared length, so that a
 * client that declares a large body and stalls holds almost nothing. */
void body_expect(svc_bodybuf *b, size_t length, int64_t client_budget);
/* Room for `need` bytes, within the limit and the budgets. 0, -1 (over
 * budget) or -2 (over client_budget). */
int body_reserve(svc_bodybuf *b, size_t need);
/* Appends bytes, or drops them once the request cannot succeed (flags
 * too_large or overloaded; an overloaded body frees its buffer at once).
 * Returns 0, or -1 when so much was dropped that the connection should be
 * closed. */
int body_append(svc_bodybuf *b, const char *data, size_t n);
/* A piece of a multipart field (libmicrohttpd's post processor): bytes of
 * the field `photo` (or `video`, flagging video_part) are kept; a second
 * such part sets bad_form; the
 * text fields `metadata` and `note` are kept in form_text (a second one
 * sets bad_form); other fields are ignored. Returns as body_append. */
int body_form_piece(svc_bodybuf *b, const char *key, uint64_t off, const char *data,
                    size_t n);
/* A multipart body that could not be parsed: its remaining bytes are
 * counted as dropped. Returns as body_append. */
int body_form_failed(svc_bodybuf *b, size_t n);
/* The request ended: a large buffer is freed. */
void body_end(svc_bodybuf *b);
/* Frees the buffer. */
void body_free(svc_bodybuf *b);

#endif /* SVC_BODY_H */
