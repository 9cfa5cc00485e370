/* hashlist_ahead.c - the hash-list reader's read-ahead
 * (phm_hashlist_options.read_ahead; hashlist_internal.h): one thread runs
 * hl_read_one() and copies each result (an entry with its strings,
 * variants and frames; an error's message; a warning) into a batch; the
 * caller's phm_hashlist_read() takes them out in order. Batches go round
 * a ring of AH_BATCHES: the reader fills one while the caller empties
 * another, so memory stays bounded whatever the list's size. The entry
 * handed out points into its batch, which is given back at the next read,
 * as the reader's own buffers are. */
#include "hashlist_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "worker.h"

/* 16 batches: ~6 ms of a bulk import's adds, more than a scheduler's time
 * slice (with a third thread of the import on 2 cores, 4 ran dry) */
#define AH_BATCHES 16
#define AH_ITEMS 2048                /* results a batch holds at most ... */
#define AH_BYTES ((size_t)512 << 10) /* ... and bytes (one larger record alone) */
#define AH_WARN (-10000)             /* an item that is a warning */
#define AH_ALIGN 16

/* One result of hl_read_one(): where it stood, and its entry or message
 * at offsets into the batch's bytes. */
typedef struct ah_item {
    int rc;
    hl_where w;
    size_t at; /* the entry (records), the message (errors, warnings) */
} ah_item;

/* A batch's fields, then HL_APART bytes: the thread counts items into one
 * batch while the caller reads the count of the one before it. */
typedef struct ah_batch {
    ah_item *items;
    size_t n, cap;
    uint8_t *bytes;
    size_t used, size;
    int full; /* handed to the caller, not yet given back */
    char apart[HL_APART];
} ah_batch;

struct hl_ahead {
    phm_hashlist_reader *r;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a batch filled or given back, or the end */
    ah_batch b[AH_BATCHES];
    atomic_int stop;   /* the caller closes: the thread ends */
    int exited;        /* the thread has published its last batch */
    void (*warn)(void *ctx, const char *msg); /* the caller's callback */
    void *warn_ctx;
    /* the thread's side */
    ah_batch *fill;    /* being filled, or NULL */
    size_t fill_at;    /* its index in b */
    int failed;        /* out of memory in the thread */
    char apart[HL_APART];
    /* the caller's side, written for every item */
    size_t take_at;    /* the batch read from */
    size_t next;       /* its next item */
    int taking;        /* b[take_at] is being read */
    hl_where cur;      /* of the last result handed out */
    int final;         /* EOF or a sticky error: returned from now on */
    int final_rc;
    char final_msg[PHM_HASHLIST_ERRMSG_MAX];
};

static size_t align_up(size_t n)
{
    return (n + AH_ALIGN - 1) & ~(size_t)(AH_ALIGN - 1);
}

/* ---- the thread's side -------------------------------------------- */

/* Hands the batch being filled to the caller. */
static void publish(struct hl_ahead *a)
{
    if (!a->fill)
        return;
    pthread_mutex_lock(&a->mu);
    a->fill->full = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    a->fill = NULL;
    a->fill_at = (a->fill_at + 1) % AH_BATCHES;
}

/* A batch with room for one more item of `need` bytes: the one being
 * filled, or (published first) the next once the caller gave it back.
 * NULL when the caller stops, or out of memory (a->failed). */
static ah_batch *room(struct hl_ahead *a, size_t need)
{
    ah_batch *b = a->fill;
    if (b && b->n && (b->n >= AH_ITEMS || b->used + need > b->size))
        publish(a);
    if (!a->fill) {
        b = &a->b[a->fill_at];
        pthread_mutex_lock(&a->mu);
        while (b->full && !atomic_load(&a->stop))
            pthread_cond_wait(&a->cv, &a->mu);
        pthread_mutex_unlock(&a->mu);
        if (atomic_load(&a->stop))
            return NULL;
        b->n = 0;
        b->used = 0;
        a->fill = b;
    }
    b = a->fill;
    if (b->n == b->cap) { /* warnings beside AH_ITEMS results */
        size_t cap = b->cap ? 2 * b->cap : AH_ITEMS;
        ah_item *it = realloc(b->items, cap * sizeof *it);
        if (!it)
            goto nomem;
        b->items = it;
        b->cap = cap;
    }
    if (b->used + need > b->size) { /* an empty batch: nothing points into it */
        size_t size = need > AH_BYTES ? need : AH_BYTES;
        uint8_t *p = realloc(b->bytes, size);
        if (!p)
            goto nomem;
        b->bytes = p;
        b->size = size;
    }
    return b;
nomem:
    a->failed = 1;
    return NULL;
}

/* An entry's strings in the order they are copied, and their lengths with
 * the NUL (0 for none), measured once: this runs for every record. */
enum { AH_STRS = 6 };
static void entry_strs(const phm_entry *e, const char *s[AH_STRS], size_t len[AH_STRS])
{
    s[0] = e->source, s[1] = e->id, s[2] = e->category;
    s[3] = e->note, s[4] = e->photodna, s[5] = e->attrs;
    for (int i = 0; i < AH_STRS; i++)
        len[i] = s[i] ? strlen(s[i]) + 1 : 0;
}

/* Copies string s of len bytes (with its NUL; 0: none) to base at *at;
 * returns the copy (or NULL). */
static const char *put_str(uint8_t *base, size_t *at, const char *s, size_t len)
{
    if (!s)
        return NULL;
    char *d = (char *)base + *at;
    memcpy(d, s, len);
    *at += len;
    return d;
}

/* The bytes an entry takes in a batch: its fields before the variants'
 * array, the variants it has, its frames, its strings. */
static size_t entry_need(const phm_entry *e, const size_t len[AH_STRS])
{
    size_t n = align_up(offsetof(phm_entry, variants) + e->nvariants * sizeof e->variants[0]);
    if (e->frames && e->nframes)
        n += align_up(e->nframes * sizeof *e->frames);
    for (int i = 0; i < AH_STRS; i++)
        n += len[i];
    return n + AH_ALIGN;
}

/* Adds one result to the batch being filled. 0, or -1 (stop, or out of
 * memory). */
static int put(struct hl_ahead *a, int rc, const phm_entry *e, const char *msg)
{
    int has_entry = rc == PHM_HASHLIST_RECORD || rc == PHM_HASHLIST_REMOVE;
    const char *str[AH_STRS];
    size_t len[AH_STRS];
    if (has_entry)
        entry_strs(e, str, len);
    size_t need = has_entry ? entry_need(e, len) : strlen(msg) + 1 + AH_ALIGN;
    ah_batch *b = room(a, need);
    if (!b)
        return -1;
    ah_item *it = &b->items[b->n++];
    const phm_hashlist_reader *r = a->r;
    it->rc = rc;
    it->w = (hl_where){ r->fmt, r->by_record, r->rec_line, r->skipped };
    size_t at = align_up(b->used);
    it->at = at;
    if (!has_entry) {
        size_t n = strlen(msg) + 1;
        memcpy(b->bytes + at, msg, n);
        b->used = at + n;
        return 0;
    }
    size_t head = offsetof(phm_entry, variants) + e->nvariants * sizeof e->variants[0];
    phm_entry *c = (phm_entry *)(void *)(b->bytes + at);
    memcpy(c, e, head);
    at = align_up(at + head);
    if (e->frames && e->nframes) {
        memcpy(b->bytes + at, e->frames, e->nframes * sizeof *e->frames);
        c->frames = (const phm_vpdq_frame *)(void *)(b->bytes + at);
        at = align_up(at + e->nframes * sizeof *e->frames);
    }
    c->source = put_str(b->bytes, &at, str[0], len[0]);
    c->id = put_str(b->bytes, &at, str[1], len[1]);
    c->category = put_str(b->bytes, &at, str[2], len[2]);
    c->note = put_str(b->bytes, &at, str[3], len[3]);
    c->photodna = put_str(b->bytes, &at, str[4], len[4]);
    c->attrs = put_str(b->bytes, &at, str[5], len[5]);
    b->used = at;
    return 0;
}

/* The reader's warnings, made in the thread: kept as items, in order. */
static void warn_item(void *ctx, const char *msg)
{
    (void)put(ctx, AH_WARN, NULL, msg);
}

static void *run(void *arg)
{
    struct hl_ahead *a = arg;
    char err[PHM_HASHLIST_ERRMSG_MAX];
    phm_entry e;
    for (;;) {
        int rc = hl_read_one(a->r, &e, err, sizeof err);
        if (put(a, rc, &e, err) != 0)
            break;
        if (rc == PHM_HASHLIST_EOF ||
            (rc != PHM_HASHLIST_RECORD && rc != PHM_HASHLIST_REMOVE && rc != PHM_ERR_CORRUPT))
            break; /* the end, or a sticky error: nothing more to read */
    }
    if (!atomic_load(&a->stop))
        publish(a);
    pthread_mutex_lock(&a->mu);
    a->exited = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* ---- the caller's side -------------------------------------------- */

/* Whether the input can be read by another thread without a close ever
 * waiting on it: memory, or a regular file. */
static int input_settled(const phm_hashlist_reader *r)
{
    struct stat st;
    if (!r->fp)
        return 1;
    int fd = fileno(r->fp);
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

void hl_ahead_start(phm_hashlist_reader *r)
{
    if (!input_settled(r))
        return;
    struct hl_ahead *a = calloc(1, sizeof *a);
    if (!a)
        return;
    a->r = r;
    a->warn = r->opt.warn;
    a->warn_ctx = r->opt.warn_ctx;
    a->cur = (hl_where){ r->fmt, r->by_record, r->rec_line, r->skipped };
    atomic_init(&a->stop, 0);
    /* from here the thread owns r's fields; it gives warnings to us */
    r->opt.warn = warn_item;
    r->opt.warn_ctx = a;
    if (phm__worker_start(&a->thread, &a->mu, &a->cv, run, a)) {
        r->opt.warn = a->warn;
        r->opt.warn_ctx = a->warn_ctx;
        free(a);
        return;
    }
    r->ahead = a;
}

const hl_where *hl_ahead_state(const phm_hashlist_reader *r)
{
    return &r->ahead->cur;
}

/* Ends the reads: every later call returns rc with msg. */
static int finish(struct hl_ahead *a, int rc, const char *msg, char *err, size_t errlen)
{
    a->final = 1;
    a->final_rc = rc;
    snprintf(a->final_msg, sizeof a->final_msg, "%s", msg);
    if (err && errlen)
        snprintf(err, errlen, "%s", a->final_msg);
    return rc;
}

int hl_ahead_read(phm_hashlist_reader *r, phm_entry *e, char *err, size_t errlen)
{
    struct hl_ahead *a = r->ahead;
    if (a->final) {
        if (err && errlen)
            snprintf(err, errlen, "%s", a->final_msg);
        return a->final_rc;
    }
    for (;;) {
        ah_batch *b = &a->b[a->take_at];
        if (a->taking && a->next == b->n) { /* read out: give it back */
            pthread_mutex_lock(&a->mu);
            b->full = 0;
            pthread_cond_broadcast(&a->cv);
            pthread_mutex_unlock(&a->mu);
            a->taking = 0;
            a->take_at = (a->take_at + 1) % AH_BATCHES;
            b = &a->b[a->take_at];
        }
        if (!a->taking) {
            pthread_mutex_lock(&a->mu);
            while (!b->full && !a->exited)
                pthread_cond_wait(&a->cv, &a->mu);
            int full = b->full;
            pthread_mutex_unlock(&a->mu);
            if (!full) /* the thread ended without the end of the list */
                return finish(a, PHM_ERR_NOMEM, "cannot read hash list: out of memory", err,
                              errlen);
            a->taking = 1;
            a->next = 0;
        }
        const ah_item *it = &b->items[a->next++];
        const void *at = b->bytes + it->at;
        if (it->rc == AH_WARN) {
            a->cur = it->w; /* the warned line, for phm_hashlist_reader_where */
            if (a->warn)
                a->warn(a->warn_ctx, at);
            continue;
        }
        a->cur = it->w;
        if (it->rc == PHM_HASHLIST_RECORD || it->rc == PHM_HASHLIST_REMOVE) {
            const phm_entry *c = at;
            memcpy(e, c, offsetof(phm_entry, variants) + c->nvariants * sizeof c->variants[0]);
            return it->rc;
        }
        if (it->rc == PHM_ERR_CORRUPT) {
            if (err && errlen)
                snprintf(err, errlen, "%s", (const char *)at);
            return it->rc;
        }
        return finish(a, it->rc, at, err, errlen);
    }
}

void hl_ahead_close(phm_hashlist_reader *r)
{
    struct hl_ahead *a = r->ahead;
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    atomic_store(&a->stop, 1);
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    phm__worker_join(a->thread, &a->mu, &a->cv);
    for (size_t i = 0; i < AH_BATCHES; i++) {
        free(a->b[i].items);
        free(a->b[i].bytes);
    }
    r->opt.warn = a->warn;
    r->opt.warn_ctx = a->warn_ctx;
    free(a);
    r->ahead = NULL;
}
