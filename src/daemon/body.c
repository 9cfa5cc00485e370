/* body.c - request bodies under a cap and a memory budget (see body.h). */
#include "body.h"

#include <stdlib.h>
#include <string.h>

void body_init(svc_bodybuf *b, atomic_int_fast64_t *in_use)
{
    memset(b, 0, sizeof *b);
    b->in_use = in_use;
}

void body_set_client(svc_bodybuf *b, atomic_int_fast64_t *client_in_use)
{
    b->client_in_use = client_in_use;
    if (client_in_use)
        atomic_fetch_add(client_in_use, (int64_t)b->cap);
}

void body_begin(svc_bodybuf *b, size_t limit, int64_t budget)
{
    b->len = 0;
    b->limit = limit;
    b->expect = 0;
    b->budget = budget;
    b->client_budget = INT64_MAX;
    b->too_large = b->overloaded = b->bad_form = 0;
    b->discarded = 0;
    b->photo_parts = 0;
    b->video_part = 0;
    b->form_len[0] = b->form_len[1] = 0;
    b->form_text[0][0] = b->form_text[1][0] = '\0';
    b->form_long = 0;
}

void body_expect(svc_bodybuf *b, size_t length, int64_t client_budget)
{
    b->expect = length;
    b->client_budget = client_budget;
}

int body_reserve(svc_bodybuf *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t ceiling = b->limit;
    if (b->expect && b->expect < ceiling && need <= b->expect)
        ceiling = b->expect;
    size_t ncap = b->cap ? b->cap * 2 : 16384;
    if (ncap < need)
        ncap = need;
    if (ncap > ceiling)
        ncap = need > ceiling ? need : ceiling;
    int64_t add = (int64_t)(ncap - b->cap);
    int64_t before = atomic_fetch_add(b->in_use, add);
    if (before + add > b->budget) {
        atomic_fetch_sub(b->in_use, add);
        return -1;
    }
    if (b->client_in_use) {
        before = atomic_fetch_add(b->client_in_use, add);
        if (before + add > b->client_budget) {
            atomic_fetch_sub(b->client_in_use, add);
            atomic_fetch_sub(b->in_use, add);
            return -2;
        }
    }
    uint8_t *nb = realloc(b->buf, ncap);
    if (!nb) {
        atomic_fetch_sub(b->in_use, add);
        if (b->client_in_use)
            atomic_fetch_sub(b->client_in_use, add);
        return -1;
    }
    b->buf = nb;
    b->cap = ncap;
    return 0;
}

static int dropped(svc_bodybuf *b, size_t n)
{
    b->discarded += n;
    return b->discarded > (uint64_t)b->limit * BODY_DISCARD_FACTOR ? -1 : 0;
}

int body_append(svc_bodybuf *b, const char *data, size_t n)
{
    int rc;
    if (!b->too_large && !b->overloaded && !b->bad_form) {
        if (n > b->limit - b->len) {
            b->too_large = 1;
        } else if ((rc = body_reserve(b, b->len + n)) != 0) {
            /* The request is lost: what it holds goes back at once. */
            b->overloaded = rc == -2 ? 2 : 1;
            body_free(b);
        } else {
            if (n)
                memcpy(b->buf + b->len, data, n);
            b->len += n;
            return 0;
        }
    }
    return dropped(b, n);
}

int body_form_piece(svc_bodybuf *b, const char *key, uint64_t off, const char *data,
                    size_t n)
{
    int text = !key ? -1 : strcmp(key, "metadata") == 0 ? BODY_FORM_METADATA
                         : strcmp(key, "note") == 0   ? BODY_FORM_NOTE
                                                      : -1;
    if (text >= 0) {
        size_t *len = &b->form_len[text];
        if (off == 0 && *len)
            b->bad_form = 1;
        if (off != *len || n > BODY_FORM_TEXT_MAX - *len) {
            b->form_long = 1;
            return 0;
        }
        memcpy(b->form_text[text] + *len, data, n);
        *len += n;
        b->form_text[text][*len] = '\0';
        return 0;
    }
    int video = key && strcmp(key, "video") == 0;
    if (!key || (!video && strcmp(key, "photo") != 0))
        return 0; /* other fields are ignored */
    if (off == 0 && ++b->photo_parts > 1)
        b->bad_form = 1;
    if (video)
        b->video_part = 1;
    return body_append(b, data, n);
}

int body_form_failed(svc_bodybuf *b, size_t n)
{
    b->bad_form = 1;
    return dropped(b, n);
}

void body_free(svc_bodybuf *b)
{
    free(b->buf);
    atomic_fetch_sub(b->in_use, (int64_t)b->cap);
    if (b->client_in_use)
        atomic_fetch_sub(b->client_in_use, (int64_t)b->cap);
    b->buf = NULL;
    b->cap = 0;
    b->len = 0;
}

void body_end(svc_bodybuf *b)
{
    if (b->cap > BODY_KEEP_BUFFER)
        body_free(b);
    b->len = 0;
}
