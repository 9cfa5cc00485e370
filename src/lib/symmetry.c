/* symmetry.c - the quarter-turn test of symmetry.h. */
#include "symmetry.h"

#include <math.h>

/* Mean luma of img's cell (cx, cy) of the PHM_SYM_SIDE grid; a picture
 * smaller than the grid repeats its pixels (every cell holds one). */
static float cell_mean(const phm_image *img, uint32_t cx, uint32_t cy)
{
    const uint64_t n = PHM_SYM_SIDE;
    uint32_t x0 = (uint32_t)(cx * (uint64_t)img->width / n);
    uint32_t x1 = (uint32_t)((cx + 1) * (uint64_t)img->width / n);
    uint32_t y0 = (uint32_t)(cy * (uint64_t)img->height / n);
    uint32_t y1 = (uint32_t)((cy + 1) * (uint64_t)img->height / n);
    if (x1 <= x0)
        x1 = x0 + 1;
    if (y1 <= y0)
        y1 = y0 + 1;
    double sum = 0;
    for (uint32_t y = y0; y < y1; y++) {
        const uint8_t *row = img->pixels + (size_t)y * img->stride;
        for (uint32_t x = x0; x < x1; x++) {
            const uint8_t *p = row + (size_t)x * img->channels;
            sum += img->channels == 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
        }
    }
    return (float)(sum / ((double)(x1 - x0) * (y1 - y0)));
}

double phm__quarter_turn(const phm_image *img)
{
    enum { N = PHM_SYM_SIDE };
    float t[N][N];
    if (!img || !img->pixels || !img->width || !img->height ||
        (img->channels != 1 && img->channels != 3) ||
        img->stride < (size_t)img->width * img->channels)
        return 1;
    for (uint32_t y = 0; y < N; y++)
        for (uint32_t x = 0; x < N; x++)
            t[y][x] = cell_mean(img, x, y);
    /* turned clockwise, cell (x, y) holds t[N-1-x][y]; anticlockwise
     * t[x][N-1-y] */
    double cw = 0, acw = 0;
    for (uint32_t y = 0; y < N; y++)
        for (uint32_t x = 0; x < N; x++) {
            double a = t[y][x] - t[N - 1 - x][y], b = t[y][x] - t[x][N - 1 - y];
            cw += a * a;
            acw += b * b;
        }
    double least = cw < acw ? cw : acw;
    double mean = 0, var = 0;
    for (uint32_t y = 0; y < N; y++)
        for (uint32_t x = 0; x < N; x++)
            mean += t[y][x];
    mean /= N * N;
    for (uint32_t y = 0; y < N; y++)
        for (uint32_t x = 0; x < N; x++)
            var += (t[y][x] - mean) * (t[y][x] - mean);
    if (var / (N * N) < 1.0)
        return 1;
    return sqrt(least / (2 * var));
}
