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

/* Scratch for the streaming filter; sized by pdq_filter_reserve(). */
typedef struct pdq_filter_ws {
    float *rows1;      /* PDQ_LANES x width: luma rows of one block */
    float *block_in;   /* PDQ_LANES x width, transposed */
    float *block_out;  /* PDQ_LANES x width, transposed */
    float *ring;       /* ring_rows x width: pass-1 rows awaiting pass 2 */
    float *col_sums;   /* max(width, 64): running sums of passes 2 and 4 */
    float *block3;     /* width x PDQ_LANES: pass-2 rows, transposed for pass 3 */
    float *narrow;     /* height x 64: pass-3 output at the 64 sampled columns */
    size_t cap_width, cap_height, cap_ring;
} pdq_filter_ws;

int pdq_filter_reserve(pdq_filter_ws *ws, uint32_t width, uint32_t height);
void pdq_filter_release(pdq_filter_ws *ws);

/* Steps 1, 4 and 5: luma, two Jarosz passes and decimation, streamed so
 * that no full-size float image is ever stored. Writes the 64 x 64 buffer.
 * One function per instruction set; all give identical results. */
typedef void (*pdq_filter_fn)(pdq_filter_ws *ws, const phm_image *img,
                              float out[PDQ_DIM * PDQ_DIM]);
void pdq_filter_portable(pdq_filter_ws *ws, const phm_image *img,
                         float out[PDQ_DIM * PDQ_DIM]);
void pdq_filter_avx2(pdq_filter_ws *ws, const phm_image *img,
                     float out[PDQ_DIM * PDQ_DIM]);
void pdq_filter_avx512(pdq_filter_ws *ws, const phm_image *img,
                       float out[PDQ_DIM * PDQ_DIM]);

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
