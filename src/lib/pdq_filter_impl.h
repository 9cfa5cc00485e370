/*
 * pdq_filter_impl.h - the streaming PDQ filter, included once per
 * instruction set (pdq_filter_portable.c, _avx2.c, _avx512.c) with
 * PDQ_FILTER_NAME set. The same C compiled with different flags: the
 * compiler vectorises across independent outputs (columns, or rows of a
 * transposed block), never across a running sum, so every output sees the
 * reference's operations in the reference's order and all variants agree
 * bit for bit.
 *
 * Data flow for an H x W image (wr = window along rows, wc = along columns):
 *   pass 1  rows of 16 image rows are converted to luma transposed, box
 *           filtered along the row (vector lanes = the 16 rows), and put
 *           into a ring of wc + 25 rows;
 *   pass 2  a column sweep (lanes = all W columns) consumes the ring as
 *           soon as the rows it needs exist and emits filtered rows;
 *   pass 3  emitted rows, 16 at a time, are box filtered along the row
 *           again, keeping only the 64 columns decimation will read;
 *   pass 4  an H x 64 column sweep keeping only the 64 decimated rows.
 * Nothing larger than (wc + 57) x W floats is written, so a 12 MP image is
 * filtered from cache instead of streaming four 48 MB float images through
 * memory, and the expensive column pass reads rows contiguously.
 */
#ifndef PDQ_FILTER_NAME
#error "define PDQ_FILTER_NAME before including pdq_filter_impl.h"
#endif

#include <string.h>

#include "pdq_internal.h"

static pdq_box_plan box_plan_for(size_t n, uint32_t w)
{
    size_t half = (w + 2) / 2;
    pdq_box_plan p;
    p.grow_silent = half - 1;
    p.grow = w - half + 1;
    p.slide = n >= w ? n - w : 0;
    p.shrink = half - 1;
    return p;
}

#define LANES PDQ_LANES

/* Data movement with a portable definition below and a faster one in
 * pdq_filter_x86.h (included after this file when PDQ_X86 is set). */
static void pass1_block(pdq_filter_ws *ws, const uint8_t *base, size_t stride,
                        size_t nb, float *const out[LANES]);
typedef pdq_col_sweep col_sweep;
#ifdef PDQ_X86
static void pass2_slide8(pdq_filter_ws *ws, const col_sweep *cs, size_t width);
#endif

/* ---- 16-lane sweeps: one vector of running sums, held in registers ---- */

/* Writes sums/count into the outputs that read sweep position `pos`:
 * every k with sel[k] == pos (sel is ascending; repeats happen when an image
 * is smaller than 64 and decimation upsamples), or row `pos` when sel is
 * NULL. */
static inline void emit16(const float *restrict sums, int count, size_t pos,
                          float *restrict out, const uint32_t *sel, size_t *next)
{
    const float c = (float)count;
    if (!sel) {
        float *o = out + pos * LANES;
        for (size_t j = 0; j < LANES; j++)
            o[j] = sums[j] / c;
        return;
    }
    while (*next < PDQ_DIM && sel[*next] == pos) {
        float *o = out + *next * LANES;
        for (size_t j = 0; j < LANES; j++)
            o[j] = sums[j] / c;
        (*next)++;
    }
}

/* A 16-lane box sweep under way: running sums, the next vectors to add
 * and to subtract, the window's count, the next output position and the
 * next entry of sel. The phases below are the reference's 1-D filter cut
 * where pdq_filter_x86.h's pass 1 takes over its sliding phase. */
typedef struct sweep16_state {
    float s[LANES];
    const float *add, *sub;
    int count;
    size_t oi, next;
} sweep16_state;

/* Starts a sweep over `in` (w > 1) and runs its growing phase: the first
 * p->grow_silent vectors only enter the sums; each of the next p->grow
 * enters and emits output positions 0 .. p->grow - 1. */
static inline void sweep16_grow(sweep16_state *st, const float *in,
                                const pdq_box_plan *p, float *restrict out,
                                const uint32_t *sel)
{
    st->add = st->sub = in;
    st->count = 0;
    st->oi = st->next = 0;
    for (size_t j = 0; j < LANES; j++)
        st->s[j] = 0.0f;
    for (size_t i = 0; i < p->grow_silent; i++, st->add += LANES, st->count++)
        for (size_t j = 0; j < LANES; j++)
            st->s[j] += st->add[j];
    for (size_t i = 0; i < p->grow; i++, st->add += LANES, st->oi++) {
        for (size_t j = 0; j < LANES; j++)
            st->s[j] += st->add[j];
        emit16(st->s, ++st->count, st->oi, out, sel, &st->next);
    }
}

/* n sliding steps: a vector enters, one leaves, the count stays. */
static inline void sweep16_slide(sweep16_state *st, size_t n,
                                 float *restrict out, const uint32_t *sel)
{
    const float *add = st->add, *sub = st->sub;
    if (!sel) {
        /* The hot loop: constant divisor, contiguous output. */
        const float c = (float)st->count;
        float *o = out + st->oi * LANES;
        for (size_t i = 0; i < n; i++, add += LANES, sub += LANES, o += LANES) {
            for (size_t j = 0; j < LANES; j++) {
                st->s[j] += add[j];
                st->s[j] -= sub[j];
                o[j] = st->s[j] / c;
            }
        }
        st->oi += n;
    } else {
        for (size_t i = 0; i < n; i++, add += LANES, sub += LANES, st->oi++) {
            for (size_t j = 0; j < LANES; j++) {
                st->s[j] += add[j];
                st->s[j] -= sub[j];
            }
            if (st->next < PDQ_DIM && sel[st->next] == st->oi)
                emit16(st->s, st->count, st->oi, out, sel, &st->next);
        }
    }
    st->add = add;
    st->sub = sub;
}

/* The shrinking phase: p->shrink vectors leave, each emits an output. */
static inline void sweep16_shrink(sweep16_state *st, const pdq_box_plan *p,
                                  float *restrict out, const uint32_t *sel)
{
    for (size_t i = 0; i < p->shrink; i++, st->sub += LANES, st->oi++) {
        for (size_t j = 0; j < LANES; j++)
            st->s[j] -= st->sub[j];
        emit16(st->s, --st->count, st->oi, out, sel, &st->next);
    }
}

/* A box filter of window w along n vectors of 16 floats (in[t][16]): the
 * reference's 1-D filter run on 16 independent sequences at once. */
static void sweep16(const float *restrict in, size_t n, uint32_t w,
                    float *restrict out, const uint32_t *sel)
{
    if (w == 1) {
        size_t next = 0;
        for (size_t t = 0; t < n; t++)
            emit16(in + t * LANES, 1, t, out, sel, &next);
        return;
    }
    const pdq_box_plan p = box_plan_for(n, w);
    sweep16_state st;
    sweep16_grow(&st, in, &p, out, sel);
    sweep16_slide(&st, p.slide, out, sel);
    sweep16_shrink(&st, &p, out, sel);
}

/* The same along n rows of `width` floats (pass 4 runs it on 64 columns). */
static void sweep_rows(const float *restrict in, size_t width, size_t n, uint32_t w,
                       float *restrict out, const uint32_t *sel, float *restrict s)
{
    size_t next = 0;
    int count = 0;
    const pdq_box_plan p = box_plan_for(n, w);
    const size_t reads = w == 1 ? n : p.grow_silent + p.grow + p.slide;
    const size_t total = w == 1 ? n : reads + p.shrink;
    size_t ri = 0, li = 0;
    for (size_t j = 0; j < width; j++)
        s[j] = 0.0f;
    for (size_t step = 0, oi = 0; step < total; step++) {
        if (w == 1) {
            for (size_t j = 0; j < width; j++)
                s[j] = in[ri * width + j];
            ri++;
            count = 1;
        } else if (step < reads) {
            for (size_t j = 0; j < width; j++)
                s[j] += in[ri * width + j];
            ri++;
            if (step < p.grow_silent) {
                count++;
                continue;
            }
            if (step < p.grow_silent + p.grow) {
                count++;
            } else {
                for (size_t j = 0; j < width; j++)
                    s[j] -= in[li * width + j];
                li++;
            }
        } else {
            for (size_t j = 0; j < width; j++)
                s[j] -= in[li * width + j];
            li++;
            count--;
        }
        const float c = (float)count;
        while (next < PDQ_DIM && sel[next] == oi) {
            for (size_t j = 0; j < width; j++)
                out[next * width + j] = s[j] / c;
            next++;
        }
        oi++;
    }
}

/* ---- transposes between 16 rows and [t][16] blocks ---- */

#ifndef PDQ_X86
/* dst[t][l] = rows[l][t] for l < 16, t < n. */
static void transpose_in(const float *const rows[LANES], size_t n, float *restrict dst)
{
    for (size_t t = 0; t < n; t++)
        for (size_t l = 0; l < LANES; l++)
            dst[t * LANES + l] = rows[l][t];
}
/* rows[l][t] = src[t][l]. */
static void transpose_out(const float *restrict src, size_t n, float *const rows[LANES])
{
    for (size_t t = 0; t < n; t++)
        for (size_t l = 0; l < LANES; l++)
            rows[l][t] = src[t * LANES + l];
}
#endif

#ifndef PDQ_X86
/* Luma of one image row (step 1). */
static void luma_row(const uint8_t *restrict row, size_t width, uint32_t channels,
                     float *restrict dst)
{
    if (channels == 3) {
        for (size_t t = 0; t < width; t++)
            dst[t] = pdq_luma_rgb(row[3 * t], row[3 * t + 1], row[3 * t + 2]);
    } else {
        for (size_t t = 0; t < width; t++)
            dst[t] = (float)row[t];
    }
}

/* Pass 1 on the nb (<= 16) image rows at base, stride bytes apart: luma,
 * box along each row, results into out[0..nb-1]. Lanes past nb repeat the
 * first row; their results go to out[nb..], which the caller points at
 * scratch. */
static void pass1_block(pdq_filter_ws *ws, const uint8_t *base, size_t stride,
                        size_t nb, float *const out[LANES])
{
    const size_t width = ws->width;
    const float *rows[LANES];
    for (size_t l = 0; l < LANES; l++) {
        float *r = ws->rows1 + l * width;
        luma_row(base + (l < nb ? l : 0) * stride, width, ws->channels, r);
        rows[l] = r;
    }
    transpose_in(rows, width, ws->block_in);
    sweep16(ws->block_in, width, ws->wr, ws->block_out, NULL);
    transpose_out(ws->block_out, width, out);
}
#endif

/* ---- the pipeline ---- */

/* The column sweep of pass 2, fed as ring rows become available. */

/* Pass 3 on the 16 rows transposed in ws->block3 (rows r0..r0+nb-1; other
 * lanes hold stale numbers and are dropped), results to ws->narrow at the 64
 * decimated columns. */
static void pass3_block(pdq_filter_ws *ws, size_t width, size_t r0, size_t nb,
                        uint32_t wr, const uint32_t *col_sel)
{
    float tmp[PDQ_DIM * LANES];
    sweep16(ws->block3, width, wr, tmp, col_sel);
    for (size_t l = 0; l < nb; l++)
        for (size_t k = 0; k < PDQ_DIM; k++)
            ws->narrow[(r0 + l) * PDQ_DIM + k] = tmp[k * LANES + l];
}

/* One step of pass 2 over a whole row; the output row goes to lane `lane`
 * of block3 (stride 16). Separate functions with restrict parameters, so the
 * compiler knows the rows do not overlap. */
static void row_add(float *restrict s, const float *restrict a, size_t n)
{
    for (size_t j = 0; j < n; j++)
        s[j] += a[j];
}

static void row_add_emit(float *restrict s, const float *restrict a,
                         float *restrict dst, size_t n, float c)
{
    for (size_t j = 0; j < n; j++) {
        s[j] += a[j];
        dst[j * LANES] = s[j] / c;
    }
}

static void row_slide_emit(float *restrict s, const float *restrict a,
                           const float *restrict b, float *restrict dst, size_t n,
                           float c)
{
    for (size_t j = 0; j < n; j++) {
        s[j] += a[j];
        s[j] -= b[j];
        dst[j * LANES] = s[j] / c;
    }
}

static void row_sub_emit(float *restrict s, const float *restrict b,
                         float *restrict dst, size_t n, float c)
{
    for (size_t j = 0; j < n; j++) {
        s[j] -= b[j];
        dst[j * LANES] = s[j] / c;
    }
}

static void row_copy_emit(const float *restrict a, float *restrict dst, size_t n)
{
    for (size_t j = 0; j < n; j++)
        dst[j * LANES] = a[j];
}

/* Advances pass 2 as far as ring rows [.., avail) allow. Every 16 emitted
 * rows (or the last ones) go through pass 3. */
static void pass2_advance(pdq_filter_ws *ws, col_sweep *cs, size_t width,
                          size_t height, size_t avail, uint32_t wr,
                          const uint32_t *col_sel)
{
    const pdq_box_plan *p = &cs->plan;
    float *s = ws->col_sums;

    while (cs->step < cs->total) {
        const float *a = ws->ring + (cs->ri % ws->cap_ring) * width;
        const float *b = ws->ring + (cs->li % ws->cap_ring) * width;
        float *dst = ws->block3 + cs->oi % LANES;
        if (cs->step < cs->reads && cs->ri >= avail)
            return;
#ifdef PDQ_X86
        /* Eight sliding steps at once, transposed in registers. */
        if (cs->w > 1 && cs->step >= p->grow_silent + p->grow &&
            cs->step + 8 <= cs->reads && cs->oi % 8 == 0) {
            if (cs->ri + 8 > avail)
                return; /* wait for rows rather than fall out of step */
            pass2_slide8(ws, cs, width);
            cs->ri += 8;
            cs->li += 8;
            cs->step += 8;
            cs->oi += 8;
            if (cs->oi % LANES == 0 || cs->oi == height) {
                size_t nb = (cs->oi - 1) % LANES + 1;
                pass3_block(ws, width, cs->oi - nb, nb, wr, col_sel);
            }
            continue;
        }
#endif
        if (cs->w == 1) {
            row_copy_emit(a, dst, width);
            cs->ri++;
        } else if (cs->step < p->grow_silent) {
            row_add(s, a, width);
            cs->ri++;
            cs->count++;
            cs->step++;
            continue;
        } else if (cs->step < p->grow_silent + p->grow) {
            row_add_emit(s, a, dst, width, (float)++cs->count);
            cs->ri++;
        } else if (cs->step < cs->reads) {
            row_slide_emit(s, a, b, dst, width, (float)cs->count);
            cs->ri++;
            cs->li++;
        } else {
            row_sub_emit(s, b, dst, width, (float)--cs->count);
            cs->li++;
        }
        cs->step++;
        cs->oi++;
        if (cs->oi % LANES == 0 || cs->oi == height) {
            size_t nb = (cs->oi - 1) % LANES + 1;
            pass3_block(ws, width, cs->oi - nb, nb, wr, col_sel);
        }
    }
}

static void filter_push(pdq_filter_ws *ws, const uint8_t *rows, size_t stride,
                        size_t nb)
{
    const size_t width = ws->width, r0 = ws->next_row;
    float *out[LANES];
    for (size_t l = 0; l < LANES; l++)
        out[l] = l < nb ? ws->ring + ((r0 + l) % ws->cap_ring) * width
                        : ws->rows1 + l * width;
    pass1_block(ws, rows, stride, nb, out);
    ws->next_row += nb;
    pass2_advance(ws, &ws->cs, width, ws->height, ws->next_row, ws->wr, ws->col_sel);
}

static void filter_finish(pdq_filter_ws *ws, float out[PDQ_DIM * PDQ_DIM])
{
    pass2_advance(ws, &ws->cs, ws->width, ws->height, ws->height, ws->wr, ws->col_sel);
    sweep_rows(ws->narrow, PDQ_DIM, ws->height, ws->wc, out, ws->row_sel, ws->col_sums);
}

const pdq_filter_ops PDQ_FILTER_NAME = { filter_push, filter_finish };
