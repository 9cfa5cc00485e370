/* pdq_internal.h - PDQ steps shared between pdq.c, the filter variants and
 * the unit tests. Not installed; not part of the public API. */
#ifndef PHM_PDQ_INTERNAL_H
#define PHM_PDQ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "phmatch.h"

#define PDQ_DIM 64      /* the decimated buffer is 64 x 64 */
#define PDQ_DCT_N 16    /* 16 x 16 low frequencies are kept */
#define PDQ_MIN_DIM 5   /* fewer rows or columns: no meaningful hash */
#define PDQ_LANES 16    /* rows filtered together in a row pass */

/* The n bytes (n <= HEX_BYTES_MAX: a PDQ hash or a SHA-256) that the 2n
 * hex digits at s spell, either case, into out; nonzero if one of them is
 * not a hex digit, out then undefined (hex.c). The hash lists' bulk
 * imports parse millions of hashes through it. */
#define HEX_BYTES_MAX 32
unsigned hex_bytes(const char *s, size_t n, uint8_t *out);

/* The number of distinct columns (1..16) of h's 16 x 16 bits, as
 * phm_pdq_distinct_rows counts rows: vertical stripes repeat columns as
 * horizontal ones repeat rows (transform.c). */
int phm__pdq_distinct_columns(const phm_pdq *h);

/* Step 3: the Jarosz window for a dimension: ceil(dim / 128). */
static inline uint32_t pdq_window(uint32_t dim)
{
    return (dim + 2 * PDQ_DIM - 1) / (2 * PDQ_DIM);
}

/* Step 5: the source index that decimated output i (0..63) reads. */
static inline uint32_t pdq_decimate_index(uint32_t i, uint32_t dim)
{
    return (uint32_t)(((i + 0.5) * dim) / PDQ_DIM);
}

/* A 1-D box filter of window w over n samples, as the reference computes
 * it (running float sum, edge windows shrink). `in` and `out` have stride
 * `stride` floats. The definition the streaming filter is tested against. */
void pdq_box1d_reference(const float *in, float *out, size_t n, size_t stride,
                         uint32_t w);

/* Phase lengths of one running-sum box filter of window w over n samples:
 * accumulate without output, grow, slide, shrink (SPEC step 4). */
typedef struct pdq_box_plan {
    size_t grow_silent, grow, slide, shrink;
} pdq_box_plan;

/* The column sweep of pass 2, fed ring rows as they become available. */
typedef struct pdq_col_sweep {
    pdq_box_plan plan;
    size_t step, total, reads; /* sweep steps done, in all, that read */
    size_t ri, li, oi;         /* rows to add, to subtract, to emit next */
    int count;
    uint32_t w;
} pdq_col_sweep;

/* The streaming filter: its buffers (sized by pdq_filter_reserve) and the
 * state of one image in progress (set by pdq_filter_start). */
typedef struct pdq_filter_ws {
    float *rows1;      /* PDQ_LANES x width: luma rows of one block */
    float *block_in;   /* PDQ_LANES x width, transposed */
    float *block_out;  /* PDQ_LANES x width, transposed */
    float *ring;       /* cap_ring x width: pass-1 rows awaiting pass 2 */
    float *col_sums;   /* max(width, 64): running sums of passes 2 and 4 */
    float *block3;     /* width x PDQ_LANES: pass-2 rows, transposed for pass 3 */
    float *narrow;     /* height x 64: pass-3 output at the 64 sampled columns */
    size_t cap_width, cap_height, cap_ring;

    size_t width, height, next_row;
    uint32_t channels, wr, wc;
    uint32_t row_sel[PDQ_DIM], col_sel[PDQ_DIM];
    pdq_col_sweep cs;
} pdq_filter_ws;

int pdq_filter_reserve(pdq_filter_ws *ws, uint32_t width, uint32_t height);
void pdq_filter_release(pdq_filter_ws *ws);

/* Begins an image of width x height x channels (1 or 3) 8-bit samples,
 * after pdq_filter_reserve() for those dimensions. */
void pdq_filter_start(pdq_filter_ws *ws, uint32_t width, uint32_t height,
                      uint32_t channels);

/* Steps 1, 4 and 5 (luma, two Jarosz passes, decimation), streamed so that
 * no full-size float image is ever stored. push() takes the next nb rows
 * (stride bytes apart): blocks of exactly PDQ_LANES rows, the last block of
 * the image may be shorter. finish() writes the 64 x 64 buffer once all
 * rows are in. One table per instruction set; all give identical results. */
typedef struct pdq_filter_ops {
    void (*push)(pdq_filter_ws *ws, const uint8_t *rows, size_t stride, size_t nb);
    void (*finish)(pdq_filter_ws *ws, float out[PDQ_DIM * PDQ_DIM]);
} pdq_filter_ops;

extern const pdq_filter_ops pdq_filter_portable;
extern const pdq_filter_ops pdq_filter_avx2;
extern const pdq_filter_ops pdq_filter_avx512;

/* start + push every row of img + finish: the whole filter on one image. */
void pdq_filter_image(const pdq_filter_ops *ops, pdq_filter_ws *ws,
                      const phm_image *img, float out[PDQ_DIM * PDQ_DIM]);

/* The hasher fed row by row, for decoders that produce rows as they go
 * (decode_jpeg_stream.c): begin, then rows in order (any count per call),
 * then end. phm_hash_image() is these three on a whole image. */
int pdq_stream_begin(phm_hasher *h, uint32_t width, uint32_t height,
                     uint32_t channels, phm_mode mode);
int pdq_stream_rows(phm_hasher *h, const uint8_t *rows, size_t stride, size_t n);
int pdq_stream_end(phm_hasher *h, int dihedral, phm_pdq_result *out);

/* Helper hasher i (0 .. PDQ_AUX_COUNT - 1) of h, made at its first use
 * with h's SIMD level and kept (freed and trimmed with h): for hashing
 * other views of an image while its rows stream into h (the caption cuts
 * of phm_hash_mem_query, query.c). NULL out of memory. */
#define PDQ_AUX_COUNT 3
phm_hasher *pdq_aux(phm_hasher *h, int i);

/* Step 1 for one pixel. */
static inline float pdq_luma_rgb(uint8_t r, uint8_t g, uint8_t b)
{
    return 0.299f * (float)r + 0.587f * (float)g + 0.114f * (float)b;
}

/* Steps 6-9 on a 64 x 64 buffer. */
int pdq_quality(const float a[PDQ_DIM * PDQ_DIM]);
void pdq_dct_matrix(float d[PDQ_DCT_N * PDQ_DIM]);
void pdq_dct(const float d[PDQ_DCT_N * PDQ_DIM], const float a[PDQ_DIM * PDQ_DIM],
             float b[PDQ_DCT_N * PDQ_DCT_N]);
float pdq_lower_median(const float b[PDQ_DCT_N * PDQ_DCT_N]);
void pdq_bits(const float b[PDQ_DCT_N * PDQ_DCT_N], phm_pdq *out);
void pdq_dihedral(const float b[PDQ_DCT_N * PDQ_DCT_N], int orientation,
                  float out[PDQ_DCT_N * PDQ_DCT_N]);

#endif
