/* test_pdq.c - each PDQ step on its own, and the streaming filter against a
 * plain whole-image implementation of the same steps, at every SIMD level.
 * The golden test proves conformance on photos; this one reaches the edges
 * (tiny, odd, tall and narrow images, windows of 1 and many). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdq_internal.h"
#include "phmatch.h"
#include "tap.h"

/* xorshift: reproducible test images without touching global rand(). */
static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Steps 1, 4, 5 written the obvious way, full images in memory. */
static void naive_filter(const phm_image *img, float *out)
{
    size_t w = img->width, h = img->height;
    float *a = malloc(w * h * sizeof *a), *b = malloc(w * h * sizeof *b);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            const uint8_t *p = img->pixels + y * img->stride + x * img->channels;
            a[y * w + x] = img->channels == 3 ? pdq_luma_rgb(p[0], p[1], p[2]) : (float)p[0];
        }
    uint32_t wr = pdq_window((uint32_t)w), wc = pdq_window((uint32_t)h);
    for (int rep = 0; rep < 2; rep++) {
        for (size_t y = 0; y < h; y++)
            pdq_box1d_reference(a + y * w, b + y * w, w, 1, wr);
        for (size_t x = 0; x < w; x++)
            pdq_box1d_reference(b + x, a + x, h, w, wc);
    }
    for (uint32_t i = 0; i < PDQ_DIM; i++)
        for (uint32_t j = 0; j < PDQ_DIM; j++)
            out[i * PDQ_DIM + j] = a[pdq_decimate_index(i, (uint32_t)h) * w +
                                     pdq_decimate_index(j, (uint32_t)w)];
    free(a);
    free(b);
}

static void test_steps(void)
{
    IS_INT(pdq_window(1), 1, "window(1) = 1");
    IS_INT(pdq_window(128), 1, "window(128) = 1");
    IS_INT(pdq_window(129), 2, "window(129) = 2");
    IS_INT(pdq_window(1004), 8, "window(1004) = 8");
    IS_INT(pdq_window(4032), 32, "window(4032) = 32");
    IS_INT(pdq_decimate_index(0, 1004), 7, "decimate(0, 1004) = 7");
    IS_INT(pdq_decimate_index(63, 1004), 996, "decimate(63, 1004) = 996");
    IS_INT(pdq_decimate_index(0, 34), 0, "decimate upsamples: (0, 34) = 0");
    IS_INT(pdq_decimate_index(63, 34), 33, "decimate(63, 34) = 33");

    /* Box filter edges: window 3 over 1..5 -> means of {1,2},{1,2,3},... */
    const float in[5] = { 1, 2, 3, 4, 5 };
    float out[5];
    pdq_box1d_reference(in, out, 5, 1, 3);
    const float want[5] = { 1.5f, 2.0f, 3.0f, 4.0f, 4.5f };
    OK(memcmp(out, want, sizeof want) == 0, "box window 3: shrinking edges");
    pdq_box1d_reference(in, out, 5, 1, 4); /* half = 3: i-1 .. i+2 */
    const float want4[5] = { 2.0f, 2.5f, 3.5f, 4.0f, 4.5f };
    OK(memcmp(out, want4, sizeof want4) == 0, "box window 4: asymmetric window");
    pdq_box1d_reference(in, out, 5, 1, 1);
    OK(memcmp(out, in, sizeof in) == 0, "box window 1 is the identity");

    float d[PDQ_DCT_N * PDQ_DIM];
    pdq_dct_matrix(d);
    OK(d[0] == (float)(sqrt(2.0 / 64) * cos(M_PI / 128)), "DCT[0][0]");
    OK(d[15 * PDQ_DIM + 63] == (float)(sqrt(2.0 / 64) * cos(M_PI / 128 * 16 * 127)),
       "DCT[15][63]");

    float b[256];
    for (int k = 0; k < 256; k++)
        b[k] = (float)((k * 37) % 256); /* a permutation of 0..255 */
    OK(pdq_lower_median(b) == 127.0f, "lower median is the 128th smallest");
    /* against a full sort, as the reference takes it: random values,
     * few distinct ones (ties about the median), sorted both ways */
    int same = 1;
    uint32_t seed = 12345;
    for (int trial = 0; trial < 3000; trial++) {
        float r[256], sorted[256];
        for (int k = 0; k < 256; k++) {
            seed = seed * 1103515245u + 12345u;
            int v = (int)(seed >> 8) % (trial % 3 == 0 ? 5 : 100000) - (trial % 3 == 0 ? 2 : 50000);
            r[k] = trial % 7 == 1 ? (float)k : trial % 7 == 2 ? (float)(255 - k) : (float)v / 7.0f;
        }
        memcpy(sorted, r, sizeof r);
        qsort(sorted, 256, sizeof sorted[0], cmp_float);
        same &= pdq_lower_median(r) == sorted[127];
    }
    OK(same, "lower median: the full sort's 128th value on 3000 arrays");
    phm_pdq h;
    pdq_bits(b, &h);
    int ones = phm_pdq_distance(&h, &(phm_pdq){ { 0, 0, 0, 0 } });
    IS_INT(ones, 128, "exactly 128 bits above the median");
    OK((h.w[0] & 1) == 0 && ((h.w[0] >> 1) & 1) == 0, "bit 0 is B[0][0] (0 <= 127)");
    float e[256] = { 0 };
    e[255] = 1.0f; /* only B[15][15] above the median */
    pdq_bits(e, &h);
    char hex[PHM_PDQ_HEX_LEN + 1];
    phm_pdq_to_hex(&h, hex);
    IS_STR(hex, "8000000000000000000000000000000000000000000000000000000000000000",
           "B[15][15] is the first hex digit's top bit");
    e[255] = 0.0f;
    e[0] = 1.0f;
    pdq_bits(e, &h);
    phm_pdq_to_hex(&h, hex);
    IS_STR(hex, "0000000000000000000000000000000000000000000000000000000000000001",
           "B[0][0] is the last hex digit's low bit");

    phm_pdq r;
    const char *golden = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    IS_INT(phm_pdq_from_hex(golden, 64, &r), PHM_OK, "hex parses");
    phm_pdq_to_hex(&r, hex);
    IS_STR(hex, golden, "hex round trip");
    IS_INT(phm_pdq_from_hex("F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22",
                            64, &h), PHM_OK, "upper-case hex parses");
    IS_INT(phm_pdq_distance(&h, &r), 0, "upper and lower case agree");
    IS_INT(phm_pdq_from_hex(golden, 63, &h), PHM_ERR_BAD_HASH, "63 characters rejected");
    IS_INT(phm_pdq_from_hex("g8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
                            64, &h), PHM_ERR_BAD_HASH, "non-hex character rejected");
    /* Every byte value at every position: exactly the 22 hex digits parse,
     * each to its value in its nibble (digit i is bits 255-4i..252-4i),
     * and nothing else changes. The parser works on many digits at once
     * (vector lanes and a tail), so no position may be left to chance. */
    int hex_ok = 1, hex_accepted = 0;
    phm_pdq g;
    phm_pdq_from_hex(golden, 64, &g);
    for (int pos = 0; pos < 64; pos++) {
        for (int c = 0; c < 256; c++) {
            char buf[65];
            memcpy(buf, golden, 64);
            buf[pos] = (char)c;
            buf[64] = 0;
            int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
            int st = phm_pdq_from_hex(buf, 64, &h);
            if (st == PHM_OK)
                hex_accepted++;
            if ((digit < 0) != (st != PHM_OK))
                hex_ok = 0;
            if (digit >= 0) {
                int bit = 252 - 4 * pos, w = bit / 64, sh = bit % 64;
                phm_pdq expect = g;
                expect.w[w] = (expect.w[w] & ~((uint64_t)15 << sh)) | (uint64_t)digit << sh;
                if (memcmp(&h, &expect, sizeof h) != 0)
                    hex_ok = 0;
            }
            if (pos == 0 && phm_hex_value(c) != digit)
                hex_ok = 0;
        }
    }
    OK(hex_ok && hex_accepted == 22 * 64,
       "each byte value at each position: hex digits parse to their value, others fail");

    /* Byte strings (digests): encode, decode both cases, refuse the rest. */
    const uint8_t bytes[4] = { 0x00, 0x9f, 0xa5, 0xff };
    uint8_t back[4] = { 0 };
    char bhex[9];
    phm_hex_encode(bytes, 4, bhex);
    IS_STR(bhex, "009fa5ff", "phm_hex_encode: lowercase, NUL-terminated");
    IS_INT(phm_hex_decode("009FA5ff", 8, back, 4), PHM_OK, "phm_hex_decode: either case");
    OK(memcmp(back, bytes, 4) == 0, "... to the same bytes");
    IS_INT(phm_hex_decode("009fa5f", 7, back, 4), PHM_ERR_BAD_HASH, "... odd length refused");
    IS_INT(phm_hex_decode("009fa5fg", 8, back, 4), PHM_ERR_BAD_HASH, "... non-hex refused");
    /* Longer than one step of the parser (32 bytes): 40 bytes round-trip,
     * and a bad digit anywhere in them is refused. */
    uint8_t many[40], many_back[40];
    char many_hex[81];
    for (int i = 0; i < 40; i++)
        many[i] = (uint8_t)(37 * i + 11);
    phm_hex_encode(many, 40, many_hex);
    IS_INT(phm_hex_decode(many_hex, 80, many_back, 40), PHM_OK, "... 40 bytes decode");
    OK(memcmp(many, many_back, 40) == 0, "... to the same bytes");
    int many_ok = 1;
    for (int pos = 0; pos < 80; pos++) {
        char bad_hex[81];
        memcpy(bad_hex, many_hex, 81);
        bad_hex[pos] = pos % 2 ? 'g' : ' ';
        if (phm_hex_decode(bad_hex, 80, many_back, 40) != PHM_ERR_BAD_HASH)
            many_ok = 0;
    }
    OK(many_ok, "... a non-hex digit at each of the 80 places refused");

    /* Dihedral: applying rot90 four times is the identity on B. */
    float v1[256], v2[256];
    memcpy(v1, b, sizeof v1);
    for (int i = 0; i < 4; i++) {
        pdq_dihedral(v1, PHM_DIH_ROT90, v2);
        memcpy(v1, v2, sizeof v1);
    }
    OK(memcmp(v1, b, sizeof v1) == 0, "rot90 four times is the identity");
    pdq_dihedral(b, PHM_DIH_FLIPPLUS1, v1);
    pdq_dihedral(v1, PHM_DIH_FLIPPLUS1, v2);
    OK(memcmp(v2, b, sizeof v2) == 0, "transpose twice is the identity");
}

static void test_filter_levels(void)
{
    static const uint32_t sizes[][2] = {
        { 5, 5 }, { 5, 7 }, { 7, 5 }, { 63, 65 }, { 64, 63 }, { 100, 3 + 128 },
        { 129, 129 }, { 130, 17 }, { 17, 300 }, { 257, 250 }, { 640, 33 },
        { 33, 641 }, { 1004, 161 }, { 311, 1500 },
    };
    const phm_simd levels[] = { PHM_SIMD_PORTABLE, PHM_SIMD_AVX2, PHM_SIMD_AVX512 };
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    float want[PDQ_DIM * PDQ_DIM], got[PDQ_DIM * PDQ_DIM];
    const pdq_filter_ops *fns[] = { &pdq_filter_portable, &pdq_filter_avx2, &pdq_filter_avx512 };

    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (uint32_t ch = 1; ch <= 3; ch += 2) {
            uint32_t w = sizes[s][0], h = sizes[s][1];
            size_t stride = (size_t)w * ch + 3; /* padded rows are allowed */
            uint8_t *px = malloc(stride * h);
            for (size_t i = 0; i < stride * h; i++)
                px[i] = (uint8_t)(next_rand(&seed) >> 56);
            /* smooth areas too, so that sums cancel to exact values */
            for (size_t i = 0; i < stride * h / 3; i++)
                px[i] = 200;
            phm_image img = { px, w, h, ch, stride, PHM_FORMAT_PNM };
            naive_filter(&img, want);
            for (size_t l = 0; l < 3; l++) {
                if (!tap_simd(levels[l]))
                    continue;
                pdq_filter_ws ws;
                memset(&ws, 0, sizeof ws);
                if (pdq_filter_reserve(&ws, w, h) != PHM_OK) {
                    OK(0, "reserve %ux%u", w, h);
                    continue;
                }
                pdq_filter_image(fns[l], &ws, &img, got);
                OK(memcmp(want, got, sizeof got) == 0,
                   "%s filter %ux%u x%u equals the whole-image steps",
                   phm_simd_name(levels[l]), w, h, ch);
                pdq_filter_release(&ws);
            }
            free(px);
        }
    }
}

static void test_hash_api(void)
{
    phm_hasher *h;
    IS_INT(phm_hasher_new(&h, PHM_SIMD_AUTO), PHM_OK, "hasher");
    uint8_t px[16 * 3] = { 0 };
    phm_image tiny = { px, 4, 4, 3, 12, PHM_FORMAT_PNM };
    phm_pdq_result r;
    IS_INT(phm_hash_image(h, &tiny, PHM_MODE_FULL, 0, &r), PHM_ERR_TOO_SMALL,
           "4x4 is too small");
    IS_INT(r.quality, 0, "too small: quality 0");
    tiny.channels = 2;
    IS_INT(phm_hash_image(h, &tiny, PHM_MODE_FULL, 0, &r), PHM_ERR_INVALID,
           "2 channels rejected");
    /* A flat image: quality 0, and hashing it twice gives the same answer. */
    uint8_t *flat = malloc(300 * 200);
    memset(flat, 90, 300 * 200);
    phm_image f = { flat, 300, 200, 1, 300, PHM_FORMAT_PNM };
    phm_pdq_result r2;
    IS_INT(phm_hash_image(h, &f, PHM_MODE_FULL, 1, &r), PHM_OK, "flat image hashes");
    IS_INT(r.quality, 0, "flat image has quality 0");
    IS_INT(r.nhashes, 8, "dihedral gives 8 hashes");
    phm_hash_image(h, &f, PHM_MODE_FULL, 1, &r2);
    OK(memcmp(&r, &r2, sizeof r) == 0, "workspace reuse is deterministic");
    free(flat);
    phm_hasher_free(h);
    phm_hasher_free(NULL);
}

int main(void)
{
    test_steps();
    test_filter_levels();
    test_hash_api();
    return tap_done();
}
