/* test_decode_alpha_jxl.c - JPEG XL images with alpha composited over a
 * background (decode_jxl.c), written here with libjxl's encoder, lossless,
 * so that every stored sample is the one given: straight and premultiplied
 * (associated) alpha, RGB and grey, 8 and 16 bits. libjxl 0.7's encoder
 * cannot write premultiplied alpha (it aborts on an alpha channel marked
 * so, and cjxl's --premultiply writes straight alpha), so a premultiplied
 * file is the straight one, its samples premultiplied by the test, with
 * the header's alpha_associated bit set (write_jxl says how it is found);
 * libjxl reading it back as premultiplied is checked. With no background the
 * colours as stored (premultiplied ones too, as djxl's PNG has them);
 * over white and black exactly (v a + g (255 - a) + 127) / 255 for
 * straight alpha and min(255, (vp 255 + g (255 - a) + 127) / 255) for
 * premultiplied colours vp, on the 8-bit samples (16-bit ones scaled by
 * round(v 255 / 65535) first, alpha too). Also phm__composite_premultiplied
 * on every colour and alpha. Skips when libjxl cannot be opened. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jxl/decode.h>
#include <jxl/encode.h>

#include "decode_internal.h"
#include "phmatch.h"
#include "tap.h"
#include "alpha_util.h"

/* A lossless JPEG XL of W x H pixels of ch colour channels and alpha
 * (interleaved, 8- or 16-bit native-endian samples), its alpha channel
 * named `name` (one character). */
static int encode_jxl(buf *out, const void *px, uint32_t ch, int deep, const char *name)
{
    memset(out, 0, sizeof *out);
    JxlEncoder *enc = JxlEncoderCreate(NULL);
    if (!enc)
        return -1;
    JxlBasicInfo info;
    JxlEncoderInitBasicInfo(&info);
    info.xsize = W;
    info.ysize = H;
    info.bits_per_sample = deep ? 16 : 8;
    info.num_color_channels = ch;
    info.alpha_bits = info.bits_per_sample;
    info.num_extra_channels = 1;
    info.uses_original_profile = JXL_TRUE;
    JxlExtraChannelInfo alpha;
    JxlEncoderInitExtraChannelInfo(JXL_CHANNEL_ALPHA, &alpha);
    alpha.bits_per_sample = info.bits_per_sample;
    JxlColorEncoding ce;
    JxlColorEncodingSetToSRGB(&ce, ch == 1 ? JXL_TRUE : JXL_FALSE);
    JxlEncoderFrameSettings *fs = NULL;
    JxlPixelFormat fmt = { ch + 1, deep ? JXL_TYPE_UINT16 : JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN,
                           0 };
    size_t size = (size_t)W * H * (ch + 1) * (deep ? 2 : 1);
    int ok = JxlEncoderSetBasicInfo(enc, &info) == JXL_ENC_SUCCESS &&
             JxlEncoderSetExtraChannelInfo(enc, 0, &alpha) == JXL_ENC_SUCCESS &&
             JxlEncoderSetExtraChannelName(enc, 0, name, 1) == JXL_ENC_SUCCESS &&
             JxlEncoderSetColorEncoding(enc, &ce) == JXL_ENC_SUCCESS &&
             (fs = JxlEncoderFrameSettingsCreate(enc, NULL)) != NULL &&
             JxlEncoderSetFrameLossless(fs, JXL_TRUE) == JXL_ENC_SUCCESS &&
             JxlEncoderAddImageFrame(fs, &fmt, px, size) == JXL_ENC_SUCCESS;
    if (ok)
        JxlEncoderCloseInput(enc);
    uint8_t chunk[4096];
    JxlEncoderStatus st = JXL_ENC_NEED_MORE_OUTPUT;
    while (ok && st == JXL_ENC_NEED_MORE_OUTPUT) {
        uint8_t *next = chunk;
        size_t avail = sizeof chunk;
        st = JxlEncoderProcessOutput(enc, &next, &avail);
        put(out, chunk, (size_t)(next - chunk));
    }
    JxlEncoderDestroy(enc);
    return ok && st == JXL_ENC_SUCCESS ? 0 : -1;
}

/* encode_jxl, premultiplied: its header's alpha_associated bit set. An
 * alpha channel with a name is written whole (not "all default"), its
 * name's characters as 8 bits each, least significant first, and
 * alpha_associated is the next bit (the JPEG XL codestream's
 * ExtraChannelInfo). Names 'a' and 'A' differ in bit 5 alone: the one bit
 * in which the two files differ is 3 bits before alpha_associated. The
 * pixel data does not depend on that bit. */
static int write_jxl(buf *out, const void *px, uint32_t ch, int deep, int premultiplied)
{
    if (encode_jxl(out, px, ch, deep, "a") != 0)
        return -1;
    if (!premultiplied)
        return 0;
    buf other;
    int rc = encode_jxl(&other, px, ch, deep, "A");
    size_t bit = 0, differ = 0;
    for (size_t i = 0; rc == 0 && i < out->len && i < other.len; i++)
        for (unsigned k = 0; k < 8; k++)
            if ((out->p[i] ^ other.p[i]) >> k & 1 && differ++ == 0)
                bit = i * 8 + k;
    free(other.p);
    if (rc != 0 || other.len != out->len || differ != 1 || (bit + 3) / 8 >= out->len)
        return -1;
    out->p[(bit + 3) / 8] ^= (uint8_t)(1u << ((bit + 3) % 8));
    return 0;
}

/* Whether libjxl reads b's alpha as premultiplied: -1 if it cannot read
 * the header. */
static int read_premultiplied(const buf *b)
{
    JxlDecoder *d = JxlDecoderCreate(NULL);
    JxlBasicInfo info;
    int rc = -1;
    if (d && JxlDecoderSubscribeEvents(d, JXL_DEC_BASIC_INFO) == JXL_DEC_SUCCESS &&
        JxlDecoderSetInput(d, b->p, b->len) == JXL_DEC_SUCCESS &&
        JxlDecoderProcessInput(d) == JXL_DEC_BASIC_INFO &&
        JxlDecoderGetBasicInfo(d, &info) == JXL_DEC_SUCCESS && info.alpha_bits > 0)
        rc = info.alpha_premultiplied ? 1 : 0;
    JxlDecoderDestroy(d);
    return rc;
}

/* 16-bit to 8 as the decoder scales it: round(v * 255 / 65535). */
static uint8_t to8(uint32_t v)
{
    return (uint8_t)((v * 255u + 32767u) / 65535u);
}

/* One image: colours under alpha_at's alphas, premultiplied or not; the
 * opaque variant (`opaque`) has every alpha the maximum. */
static void check_jxl(phm_decoder *dec, uint32_t ch, int deep, int premultiplied, int opaque)
{
    const uint32_t n = ch + 1, max = deep ? 65535 : 255;
    uint16_t *s16 = malloc((size_t)W * H * n * sizeof *s16);
    uint8_t *s8 = malloc((size_t)W * H * n);
    want t = want_new(W, H, ch);
    t.premultiplied = premultiplied;
    for (size_t i = 0; i < (size_t)W * H; i++) {
        uint32_t a = opaque ? max : alpha_at(i) * (deep ? 257u : 1u);
        if (deep && !opaque && a != 0 && a != max)
            a += (uint32_t)(i * 97 % 257); /* not only multiples of 257 */
        if (a > max)
            a = max;
        for (uint32_t c = 0; c < ch; c++) {
            uint32_t v = (uint32_t)((i * 7 + c * 85 + i / W * 13) * 2654435761u >> 11) % (max + 1);
            if (premultiplied) /* a colour times alpha, as stored */
                v = (uint32_t)(((uint64_t)v * a + max / 2) / max);
            s16[i * n + c] = (uint16_t)v;
            s8[i * n + c] = (uint8_t)v;
            t.color[i * ch + c] = deep ? to8(v) : (uint8_t)v;
        }
        s16[i * n + ch] = (uint16_t)a;
        s8[i * n + ch] = (uint8_t)a;
        t.alpha[i] = deep ? to8(a) : (uint8_t)a;
    }
    char what[96];
    snprintf(what, sizeof what, "%s %s JPEG XL, %s alpha%s", deep ? "16-bit" : "8-bit",
             ch == 1 ? "grey" : "RGB", premultiplied ? "premultiplied" : "straight",
             opaque ? " all opaque" : "");
    buf b;
    if (OK(write_jxl(&b, deep ? (const void *)s16 : (const void *)s8, ch, deep,
                     premultiplied) == 0,
           "%s written", what) &&
        OK(read_premultiplied(&b) == premultiplied, "%s: libjxl reads it so", what))
        check_image(dec, &b, &t, what);
    free(b.p);
    want_free(&t);
    free(s16);
    free(s8);
}

/* phm__composite_premultiplied on every (colour, alpha) pair over greys,
 * 1 and 3 channels, the colour above the alpha too (clamped). */
static void check_arithmetic(void)
{
    uint8_t *px = malloc(65536 * 4);
    int exact = 1;
    for (int g = 0; g < 256 && exact; g += 15) {
        for (uint32_t ch = 1; ch <= 3 && exact; ch += 2) {
            for (uint32_t i = 0; i < 65536; i++) {
                for (uint32_t c = 0; c < ch; c++)
                    px[i * (ch + 1) + c] = (uint8_t)(i & 255);
                px[i * (ch + 1) + ch] = (uint8_t)(i >> 8);
            }
            int mixed = phm__composite_premultiplied(px, 65536, ch, g);
            exact = mixed != 0;
            for (uint32_t i = 0; i < 65536 && exact; i++) {
                uint32_t v = i & 255, a = i >> 8;
                for (uint32_t c = 0; c < ch; c++)
                    exact &= px[i * ch + c] == over(v, a, (uint32_t)g, 1);
                if (a == 255)
                    exact &= px[i * ch] == v;
                if (a == 0 && v == 0)
                    exact &= px[i * ch] == g;
            }
            if (!exact)
                printf("#   grey %d, %u channel(s)\n", g, ch);
        }
    }
    OK(exact, "phm__composite_premultiplied: every colour and alpha, 1 and 3 channels");
    for (uint32_t i = 0; i < 1000; i++) {
        px[4 * i] = (uint8_t)i, px[4 * i + 1] = (uint8_t)(i * 3), px[4 * i + 2] = (uint8_t)(i * 5);
        px[4 * i + 3] = 255;
    }
    int mixed = phm__composite_premultiplied(px, 1000, 3, 200);
    int kept = 1;
    for (uint32_t i = 0; i < 1000; i++)
        kept &= px[3 * i] == (uint8_t)i && px[3 * i + 1] == (uint8_t)(i * 3) &&
                px[3 * i + 2] == (uint8_t)(i * 5);
    OK(!mixed && kept, "phm__composite_premultiplied: opaque pixels kept, none composited");
    free(px);
}

int main(void)
{
    check_arithmetic();

    phm_decoder *dec;
    if (phm_decoder_new(&dec, NULL))
        return 1;
    char versions[512] = "";
    phm_decoder_versions(versions, sizeof versions);
    if (strstr(versions, "libjxl unavailable")) {
        printf("# SKIP the JPEG XL files: %s\n", versions);
        phm_decoder_free(dec);
        return tap_done();
    }
    for (int premultiplied = 0; premultiplied <= 1; premultiplied++) {
        check_jxl(dec, 3, 0, premultiplied, 0);
        check_jxl(dec, 3, 1, premultiplied, 0);
        check_jxl(dec, 1, 0, premultiplied, 0);
        check_jxl(dec, 1, 1, premultiplied, 0);
        check_jxl(dec, 3, 0, premultiplied, 1);
    }
    phm_decoder_free(dec);
    return tap_done();
}
