/* test_decode.c - decoders on images made here, and the one-pass path
 * (phm_hash_mem) against decode-then-hash on shapes the golden images do
 * not have: grey JPEG, very wide and very tall images in cli512 mode,
 * truncated data, 16-bit PNM, limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "phmatch.h"
#include "tap.h"

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A smooth picture with some noise, so JPEG keeps detail and PDQ has
 * gradients to work with. */
static uint8_t *make_pixels(uint32_t w, uint32_t h, uint32_t ch, uint64_t seed)
{
    uint8_t *p = malloc((size_t)w * h * ch);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < ch; c++) {
                uint32_t v = (x * 7 + y * 3 + c * 50) % 256;
                v = (v + (uint32_t)(next_rand(&seed) >> 60)) & 255;
                p[((size_t)y * w + x) * ch + c] = (uint8_t)v;
            }
    return p;
}

static unsigned char *make_jpeg(uint32_t w, uint32_t h, uint32_t ch, int progressive,
                                unsigned long *len)
{
    tjhandle tj = tjInitCompress();
    uint8_t *px = make_pixels(w, h, ch, w * 31 + h);
    unsigned char *out = NULL;
    *len = 0;
    int flags = progressive ? TJFLAG_PROGRESSIVE : 0;
    if (tjCompress2(tj, px, (int)w, 0, (int)h, ch == 1 ? TJPF_GRAY : TJPF_RGB, &out, len,
                    ch == 1 ? TJSAMP_GRAY : TJSAMP_420, 90, flags) != 0) {
        tjFree(out);
        out = NULL;
    }
    free(px);
    tjDestroy(tj);
    return out;
}

/* phm_hash_mem must equal phm_decode_mem + phm_hash_image. */
static void same_both_ways(phm_decoder *dec, phm_hasher *h, const void *data, size_t len,
                           phm_mode mode, const char *what)
{
    phm_image img;
    phm_pdq_result a, b;
    phm_image_info info;
    char err[PHM_ERRMSG_MAX];
    memset(&a, 0, sizeof a);
    int ra = phm_decode_mem(dec, data, len, what, &img, err, sizeof err);
    if (ra >= 0) {
        int hr = phm_hash_image(h, &img, mode, 1, &a);
        if (hr)
            ra = hr;
    }
    int rb = phm_hash_mem(dec, h, data, len, what, mode, 1, &b, &info, err, sizeof err);
    int same = ra == rb && (ra < 0 || (a.quality == b.quality && a.width == b.width &&
                                       a.height == b.height));
    for (int o = 0; same && ra >= 0 && o < PHM_DIH_COUNT; o++)
        same = phm_pdq_distance(&a.hash[o], &b.hash[o]) == 0;
    if (!OK(same, "%s, %s: one pass equals decode + hash", what, phm_mode_name(mode)))
        printf("#   decode+hash rc %d, one pass rc %d (%s)\n", ra, rb, err);
}

int main(void)
{
    phm_decoder *dec;
    phm_hasher *h;
    if (phm_decoder_new(&dec, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO))
        return 1;
    char err[PHM_ERRMSG_MAX];
    phm_image img;

    static const struct { uint32_t w, h, ch; int prog; const char *what; } shapes[] = {
        { 300, 200, 1, 0, "grey JPEG 300x200" },
        { 700, 600, 1, 1, "grey progressive JPEG 700x600" },
        { 1300, 90, 3, 0, "wide JPEG 1300x90 (cli512 stretches rows)" },
        { 90, 1300, 3, 0, "tall JPEG 90x1300" },
        { 517, 513, 3, 1, "progressive JPEG 517x513" },
        { 64, 64, 3, 0, "JPEG of exactly 64x64" },
        { 5, 5, 1, 0, "grey JPEG 5x5" },
        { 4, 9, 3, 0, "JPEG 4x9 (too small)" },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        unsigned long len;
        unsigned char *j = make_jpeg(shapes[i].w, shapes[i].h, shapes[i].ch, shapes[i].prog,
                                     &len);
        if (!OK(j != NULL, "make %s", shapes[i].what))
            continue;
        int rc = phm_decode_mem(dec, j, len, "mem", &img, err, sizeof err);
        IS_INT(rc, PHM_OK, "%s decodes", shapes[i].what);
        IS_INT(img.channels, shapes[i].ch, "%s has %u channel(s)", shapes[i].what, shapes[i].ch);
        same_both_ways(dec, h, j, len, PHM_MODE_FULL, shapes[i].what);
        same_both_ways(dec, h, j, len, PHM_MODE_CLI512, shapes[i].what);
        if (i == 4) {
            /* Cut the file: libjpeg recovers (grey fill) and says so. */
            phm_pdq_result r;
            int w = phm_hash_mem(dec, h, j, len / 2, "cut.jpg", PHM_MODE_FULL, 0, &r, NULL,
                                 err, sizeof err);
            IS_INT(w, PHM_WARN_RECOVERED, "truncated JPEG: a warning, not a failure");
            OK(strstr(err, "cut.jpg") != NULL, "the warning names the file: %s", err);
            same_both_ways(dec, h, j, len / 2, PHM_MODE_FULL, "truncated JPEG");
        }
        tjFree(j);
    }

    /* Limits come from the header, before pixels are allocated. */
    phm_decoder *small;
    phm_decode_limits lim = { 10000, 0 };
    phm_decoder_new(&small, &lim);
    unsigned long len;
    unsigned char *j = make_jpeg(200, 100, 3, 0, &len);
    phm_pdq_result r;
    IS_INT(phm_decode_mem(small, j, len, "big.jpg", &img, err, sizeof err), PHM_ERR_TOO_LARGE,
           "20000 pixels over a 10000-pixel limit");
    OK(strstr(err, "big.jpg") && strstr(err, "200x100"), "message names file and size: %s",
       err);
    IS_INT(phm_hash_mem(small, h, j, len, "big.jpg", PHM_MODE_FULL, 0, &r, NULL, err,
                        sizeof err),
           PHM_ERR_TOO_LARGE, "the one-pass path applies the limit too");
    tjFree(j);
    phm_decoder_free(small);

    /* The header alone: the size a budget reserves before decoding. */
    phm_image_info pi;
    j = make_jpeg(321, 123, 3, 1, &len);
    IS_INT(phm_image_probe(j, len, "p.jpg", &pi, err, sizeof err), PHM_OK, "JPEG header probed");
    OK(pi.width == 321 && pi.height == 123 && pi.format == PHM_FORMAT_JPEG,
       "probe: 321x123 jpeg (got %ux%u)", pi.width, pi.height);
    IS_INT(phm_image_probe(j, 200, "cut.jpg", &pi, err, sizeof err), PHM_ERR_CORRUPT,
           "a JPEG cut in its header is corrupt");
    OK(strstr(err, "cut.jpg") != NULL && pi.width == 0, "probe failure names the file: %s",
       err);
    tjFree(j);
    const char bigpgm[] = "P5 40000 30000 255\n";
    IS_INT(phm_image_probe(bigpgm, sizeof bigpgm - 1, NULL, &pi, err, sizeof err), PHM_OK,
           "PNM header probed without its pixels");
    OK(pi.width == 40000 && pi.height == 30000, "probe: 40000x30000 pnm, no limit applied");
    static const uint8_t png_head[24] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                          0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                          0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10 };
    IS_INT(phm_image_probe(png_head, sizeof png_head, NULL, &pi, err, sizeof err), PHM_OK,
           "PNG IHDR probed");
    OK(pi.width == 10000 && pi.height == 10000 && pi.format == PHM_FORMAT_PNG,
       "probe: 10000x10000 png");
    IS_INT(phm_image_probe(png_head, 20, NULL, &pi, err, sizeof err), PHM_ERR_CORRUPT,
           "PNG without IHDR is corrupt");
    IS_INT(phm_image_probe("%!PS-Adobe", 10, NULL, &pi, err, sizeof err),
           PHM_ERR_UNSUPPORTED, "probe: unsupported format");
    IS_INT(phm_image_probe("GIF89a", 6, NULL, &pi, err, sizeof err), PHM_ERR_CORRUPT,
           "probe: a GIF signature alone is corrupt");

    /* Trimming gives back what an oversized image left, keeps the rest. */
    {
        phm_decoder *td;
        phm_hasher *th;
        phm_decoder_new(&td, NULL);
        phm_hasher_new(&th, PHM_SIMD_AUTO);
        size_t n = 3000u * 2000u;
        char *bigp = malloc(64 + n);
        int k = snprintf(bigp, 64, "P5 3000 2000 255\n");
        memset(bigp + k, 77, n);
        phm_pdq_result tr;
        IS_INT(phm_hash_mem(td, th, bigp, (size_t)k + n, "big.pgm", PHM_MODE_FULL, 0, &tr,
                            NULL, err, sizeof err), PHM_OK, "6 MP PGM hashed");
        IS_INT(phm_decoder_trim(td, 8u << 20), 0, "decoder: 6 MB kept under an 8 MiB keep");
        OK(phm_decoder_trim(td, 1u << 20) >= n, "decoder: 6 MB freed over a 1 MiB keep");
        IS_INT(phm_decoder_trim(td, 0), 0, "decoder: nothing left to free");
        OK(phm_hasher_trim(th, 64u << 20) == 0, "hasher: kept under a 64 MiB keep");
        size_t hf = phm_hasher_trim(th, 0);
        OK(hf > 3000u * 16 * 4, "hasher: its float buffers freed (%zu bytes)", hf);
        IS_INT(phm_hasher_trim(th, 0), 0, "hasher: nothing left to free");
        phm_pdq_result tr2;
        IS_INT(phm_hash_mem(td, th, bigp, (size_t)k + n, "big.pgm", PHM_MODE_FULL, 0, &tr2,
                            NULL, err, sizeof err), PHM_OK, "hashed again after trimming");
        OK(memcmp(&tr.hash[0], &tr2.hash[0], sizeof tr.hash[0]) == 0 &&
           tr.quality == tr2.quality, "the same hash after trimming");
        IS_INT(phm_decoder_trim(NULL, 0) + phm_hasher_trim(NULL, 0), 0, "trim accepts NULL");
        free(bigp);
        phm_hasher_free(th);
        phm_decoder_free(td);
    }

    /* 16-bit PNM: samples scaled with rounding. */
    const char hdr[] = "P5\n# comment\n2 1\n1000\n";
    uint8_t pnm[sizeof hdr - 1 + 4];
    memcpy(pnm, hdr, sizeof hdr - 1);
    uint8_t *d = pnm + sizeof hdr - 1;
    d[0] = 0x01; d[1] = 0xf4; /* 500 -> 127.5 -> 128 */
    d[2] = 0x03; d[3] = 0xe8; /* 1000 -> 255 */
    IS_INT(phm_decode_mem(dec, pnm, sizeof pnm, "16.pgm", &img, err, sizeof err), PHM_OK,
           "16-bit P5 decodes");
    OK(img.pixels && img.pixels[0] == 128 && img.pixels[1] == 255,
       "16-bit samples scaled to 8 bits with rounding");
    IS_INT(phm_decode_mem(dec, pnm, sizeof pnm - 1, "16.pgm", &img, err, sizeof err),
           PHM_ERR_CORRUPT, "PNM one byte short is corrupt");

    /* Format from bytes, not names. */
    IS_INT(phm_decode_mem(dec, "hello, world", 12, "a.jpg", &img, err, sizeof err),
           PHM_ERR_UNSUPPORTED, "text named .jpg is unsupported");
    IS_INT(phm_format_detect("\x89PNG\r\n\x1a\n", 8), PHM_FORMAT_PNG, "PNG magic");
    IS_INT(phm_format_detect("\xff\xd8\xff", 3), PHM_FORMAT_JPEG, "JPEG magic");
    IS_INT(phm_format_detect("P6\n", 3), PHM_FORMAT_PNM, "PNM magic");
    IS_INT(phm_decode_mem(dec, "", 0, "empty", &img, err, sizeof err), PHM_ERR_CORRUPT,
           "empty input is corrupt");

    /* The reference's loader gets these wrong; phmatch scales them. */
    IS_INT(phm_decode_file(dec, "tests/data/pdq/images/informational/1.png", &img, err,
                           sizeof err), PHM_OK, "1-bit PNG decodes");
    int only_0_255 = img.pixels != NULL;
    for (size_t i = 0; only_0_255 && i < (size_t)img.width * img.height; i++)
        only_0_255 = img.pixels[i] == 0 || img.pixels[i] == 255;
    OK(only_0_255, "1-bit PNG samples become 0 or 255, not 0 or 1");
    IS_INT(phm_decode_file(dec, "tests/data/pdq/images/informational/I16.png", &img, err,
                           sizeof err), PHM_OK, "16-bit grey PNG decodes");
    IS_INT(img.channels, 1, "16-bit grey PNG stays one channel");

    /* Both JPEG paths refuse what djpeg refuses, whatever the decoder saw
     * before (tests/data/jpeg/README.md): a file without quantization
     * tables, decoded after one with tables, and an error that follows a
     * warning (an error, not "recovered"). */
    static const char *const refused[] = {
        "tests/data/jpeg/no-dqt.jpg", "Quantization table 0x00 was not defined",
        "tests/data/jpeg/error-after-warning.jpg", "Didn't expect more than one scan",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i += 2) {
        IS_INT(phm_decode_file(dec, "tests/data/pdq/images/misc-images/wee.jpg", &img, err,
                               sizeof err), PHM_OK, "a JPEG with tables decodes first");
        IS_INT(phm_decode_file(dec, refused[i], &img, err, sizeof err), PHM_ERR_CORRUPT,
               "%s: decode refuses it", refused[i]);
        OK(strstr(err, refused[i + 1]) != NULL, "as djpeg does: %s", err);
        phm_pdq_result rr;
        IS_INT(phm_hash_file(dec, h, refused[i], PHM_MODE_FULL, 1, &rr, NULL, err, sizeof err),
               PHM_ERR_CORRUPT, "%s: one pass refuses it too", refused[i]);
        OK(strstr(err, refused[i + 1]) != NULL, "with the same reason: %s", err);
    }

    phm_hasher_free(h);
    phm_decoder_free(dec);
    return tap_done();
}
