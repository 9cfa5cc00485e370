/*
 * test_video.c - the vPDQ arithmetic and comparison, without decoding:
 * frame selection (phm_vpdq_frame_step), timestamps, the reference's text
 * lines (format, detect, parse), distinct hashes and phm_vpdq_compare with
 * its documented choices (<= 31, duplicates counted once, quality >= 50).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phmatch.h"
#include "tap.h"

static phm_pdq hash_with_bits(int first, int count)
{
    phm_pdq h = { { 0, 0, 0, 0 } };
    for (int b = first; b < first + count; b++)
        h.w[b / 64] |= 1ull << (b % 64);
    return h;
}

static void add(phm_vpdq *v, phm_pdq h, int quality)
{
    phm_vpdq_frame f = { h, quality, v->count, (double)v->count };
    if (phm_vpdq_append(v, &f) != PHM_OK) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
}

static void test_frame_step(void)
{
    IS_INT(phm_vpdq_frame_step(1.0, 30.0), 30, "step: 1 s at 30 fps is 30");
    IS_INT(phm_vpdq_frame_step(1.0, 30000.0 / 1001), 29,
           "step: 1 s at 29.97 fps truncates to 29");
    IS_INT(phm_vpdq_frame_step(0.5, 25.0), 12, "step: 0.5 s at 25 fps is 12");
    IS_INT(phm_vpdq_frame_step(0.0, 30.0), 1, "step: r = 0 keeps every frame");
    IS_INT(phm_vpdq_frame_step(1.0, 0.5), 1,
           "step: below one frame per hash is 1, never 0");
    IS_INT(phm_vpdq_frame_step(0.29, 100.0), 28,
           "step: the double product 28.999... truncates to 28, as the "
           "reference's (int) cast");
    IS_INT(phm_vpdq_frame_step(0.7, 10.0), 7, "step: 0.7 * 10 gives 7");
    IS_INT(phm_vpdq_frame_step(1.0, NAN), 1, "step: NaN fps gives 1");
    IS_INT(phm_vpdq_frame_step(1.0, -30.0), 1, "step: negative fps gives 1");
    IS_INT(phm_vpdq_frame_step(1.0, INFINITY), 1, "step: infinite fps gives 1");
    OK(phm_vpdq_frame_step(1e30, 30.0) == (1ull << 62),
       "step: a huge product saturates instead of overflowing");

    /* Which frames of a 30 fps, 100-frame video are kept at r = 1 and
     * r = 0.1: n % step == 0. */
    uint64_t step = phm_vpdq_frame_step(1.0, 30.0), kept = 0, last = 0;
    for (uint64_t n = 0; n < 100; n++)
        if (n % step == 0) {
            kept++;
            last = n;
        }
    OK(kept == 4 && last == 90, "r = 1 at 30 fps keeps frames 0, 30, 60, 90");
    step = phm_vpdq_frame_step(0.1, 30.0);
    IS_INT(step, 3, "r = 0.1 at 30 fps keeps one frame in 3");
}

static void test_timestamps(void)
{
    char line[PHM_VPDQ_LINE_MAX];
    phm_vpdq_frame f = { hash_with_bits(0, 0), 100, 0, 0 };

    OK(phm_vpdq_timestamp(0, 30.0) == 0.0, "timestamp of frame 0 is 0");
    OK(fabs(phm_vpdq_timestamp(45, 30.0) - 1.5) < 1e-9,
       "timestamp of frame 45 at 30 fps is 1.5");
    OK(phm_vpdq_timestamp(5, 0.0) == 0.0, "timestamp without a rate is 0");

    /* The reference divides in float: at 29.97 fps frame 75 prints 2.503
     * where double arithmetic would print 2.502. */
    f.frame = 75;
    f.timestamp = phm_vpdq_timestamp(75, 30000.0 / 1001);
    phm_vpdq_format_frame(&f, line);
    IS_STR(strrchr(line, ',') + 1, "2.503\n",
           "timestamps are the reference's float quotient (29.97 fps, frame "
           "75)");
    f.frame = 36;
    f.timestamp = phm_vpdq_timestamp(36, 24000.0 / 1001);
    phm_vpdq_format_frame(&f, line);
    IS_STR(strrchr(line, ',') + 1, "1.502\n",
           "... and at 23.976 fps, frame 36");
}

static void test_lines(void)
{
    static const char hex[] =
        "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c";
    char line[PHM_VPDQ_LINE_MAX], want[PHM_VPDQ_LINE_MAX];
    phm_vpdq_frame f;
    phm_vpdq v;
    char err[PHM_ERRMSG_MAX];
    int rc;

    phm_vpdq_init(&v);
    phm_pdq_from_hex(hex, 64, &f.hash);
    f.quality = 100;
    f.frame = 12;
    f.timestamp = phm_vpdq_timestamp(12, 30.0);
    size_t n = phm_vpdq_format_frame(&f, line);
    snprintf(want, sizeof want, "12,100,%s,0.400\n", hex);
    IS_STR(line, want, "format: frame,quality,hash,timestamp with 3 decimals");
    IS_INT(n, strlen(want), "format returns the length");

    OK(phm_vpdq_detect(line, n), "detect: a vPDQ line");
    OK(phm_vpdq_detect(line, n - 1), "detect: a line without its newline");
    OK(!phm_vpdq_detect("\x00\x00\x00\x20" "ftypisom", 12),
       "detect: an MP4 is not vPDQ");
    OK(!phm_vpdq_detect("12,100,zz", 9), "detect: a bad hash is not vPDQ");
    OK(!phm_vpdq_detect("", 0), "detect: empty is not vPDQ");

    char text[1024];
    snprintf(text, sizeof text,
             "0,100,%s,0.000\r\n\n30,7,%s,1.000\n60,50,%s,2", hex, hex, hex);
    rc = phm_vpdq_parse(text, strlen(text), "t.txt", &v, err, sizeof err);
    IS_INT(rc, PHM_OK, "parse: CRLF, a blank line, no final newline");
    IS_INT(v.count, 3, "parse: three frames");
    OK(v.count == 3 && v.frames[1].frame == 30 && v.frames[1].quality == 7 &&
           fabs(v.frames[2].timestamp - 2.0) < 1e-12 &&
           memcmp(&v.frames[2].hash, &f.hash, sizeof f.hash) == 0,
       "parse: fields read back");

    static const struct {
        const char *text, *why;
    } bad[] = {
        { "x,100,h,0.000\n", "line 1: malformed frame number" },
        { "0,101,%s,0.000\n", "line 1: malformed quality" },
        { "0,100,%s\n", "line 1: expected" },
        { "0,100,%s,0.000,9\n", "line 1: unexpected text" },
        { "0,100,%s,0.\n", "line 1: malformed timestamp" },
        { "0,100,%s,0.0\n1,100,e271,0.0\n", "line 2: malformed hash" },
        { "99999999999999999999,100,%s,0.0\n", "line 1: malformed frame" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char t[512];
        const char *at = strstr(bad[i].text, "%s");
        if (at)
            snprintf(t, sizeof t, "%.*s%s%s", (int)(at - bad[i].text),
                     bad[i].text, hex, at + 2);
        else
            snprintf(t, sizeof t, "%s", bad[i].text);
        rc = phm_vpdq_parse(t, strlen(t), "bad.txt", &v, err, sizeof err);
        OK(rc == PHM_ERR_CORRUPT && strstr(err, "cannot parse vPDQ 'bad.txt'") &&
               strstr(err, bad[i].why),
           "parse rejects '%.*s': %s", (int)strcspn(t, "\n"), t, err);
    }
    rc = phm_vpdq_parse("0,100,a\0b", 9, NULL, &v, err, sizeof err);
    IS_INT(rc, PHM_ERR_CORRUPT, "parse rejects a NUL byte");
    rc = phm_vpdq_parse("", 0, NULL, &v, err, sizeof err);
    OK(rc == PHM_OK && v.count == 0, "parse: empty text has no frame");
    rc = phm_vpdq_load("tests/data/vpdq/no-such-file.txt", 0, &v, err,
                       sizeof err);
    IS_INT(rc, PHM_ERR_NOT_FOUND, "load: a missing file is not_found");
    rc = phm_vpdq_load("tests/data/vpdq/expected/chair-19-sd-bar.txt", 1000,
                       &v, err, sizeof err);
    IS_INT(rc, PHM_ERR_TOO_LARGE, "load: the size limit holds");
    rc = phm_vpdq_load("tests/data/vpdq/expected/chair-19-sd-bar.txt", 0, &v,
                       err, sizeof err);
    OK(rc == PHM_OK && v.count == 564, "load: a reference file (%s)", err);
    phm_vpdq_clear(&v);
    phm_vpdq_clear(NULL);
}

static void test_compare(void)
{
    phm_vpdq q, c;
    phm_vpdq_match m;
    phm_pdq a = hash_with_bits(0, 128), b = hash_with_bits(128, 128);
    phm_pdq a31 = a, a32 = a, out[8];

    phm_vpdq_init(&q);
    phm_vpdq_init(&c);
    for (int i = 0; i < 31; i++)
        a31.w[2] |= 1ull << i; /* 31 bits from a */
    a32 = a31;
    a32.w[2] |= 1ull << 31;    /* 32 */

    IS_INT(phm_vpdq_compare(&q, &c, 31, 50, &m), PHM_OK, "compare: empty ok");
    OK(m.query_percent == 0 && m.compared_percent == 0 &&
           !phm_vpdq_is_match(&m, 0, 0),
       "compare: nothing kept: 0%%, and no match even at thresholds 0");

    /* Duplicates count once: the query has a three times and b once. */
    add(&q, a, 100);
    add(&q, a, 100);
    add(&q, a, 90);
    add(&q, b, 100);
    add(&c, a, 100);
    IS_INT(phm_vpdq_distinct(&q, 50, out), 2, "distinct: a and b");
    phm_vpdq_compare(&q, &c, 31, 50, &m);
    OK(m.query_hashes == 2 && m.query_matched == 1 && m.query_percent == 50.0,
       "compare: duplicates counted once (50%%, not 75%%)");
    OK(m.compared_hashes == 1 && m.compared_percent == 100.0,
       "compare: compared side 100%%");
    OK(!phm_vpdq_is_match(&m, 80, 0) && phm_vpdq_is_match(&m, 50, 0) &&
           !phm_vpdq_is_match(&m, 50, 100.5),
       "is_match: both thresholds, inclusive");

    /* Distance 31 matches, 32 does not. */
    phm_vpdq_clear(&q);
    phm_vpdq_clear(&c);
    add(&q, a, 100);
    add(&c, a31, 100);
    phm_vpdq_compare(&q, &c, 31, 50, &m);
    OK(m.query_percent == 100.0, "compare: distance 31 matches (<=)");
    phm_vpdq_clear(&c);
    add(&c, a32, 100);
    phm_vpdq_compare(&q, &c, 31, 50, &m);
    OK(m.query_percent == 0.0, "compare: distance 32 does not");

    /* Quality below 50 is ignored on both sides. */
    phm_vpdq_clear(&c);
    add(&c, a, 49);
    add(&c, b, 50);
    phm_vpdq_compare(&q, &c, 31, 50, &m);
    OK(m.compared_hashes == 1 && m.query_percent == 0.0,
       "compare: quality 49 ignored, 50 kept");
    IS_INT(phm_vpdq_compare(&q, &c, -1, 50, &m), PHM_ERR_INVALID,
           "compare: a negative distance is invalid");

    phm_vpdq_clear(&q);
    phm_vpdq_clear(&c);
}

static void test_options(void)
{
    phm_video_options o;
    phm_video_hasher *vh = NULL;

    phm_video_options_init(&o);
    OK(o.seconds_per_hash == 1.0 && o.size == 0 && o.threads == 0,
       "options: defaults");
    o.seconds_per_hash = -1;
    IS_INT(phm_video_hasher_new(&vh, &o), PHM_ERR_INVALID,
           "options: negative seconds per hash refused");
    phm_video_options_init(&o);
    o.size = 4;
    IS_INT(phm_video_hasher_new(&vh, &o), PHM_ERR_INVALID,
           "options: size 4 refused (PDQ needs 5)");
    phm_video_options_init(&o);
    o.seconds_per_hash = NAN;
    IS_INT(phm_video_hasher_new(&vh, &o), PHM_ERR_INVALID,
           "options: NaN refused");
    OK(vh == NULL, "options: no hasher on error");
    IS_INT(phm_video_hasher_new(&vh, NULL), PHM_OK, "hasher with defaults");
    phm_video_hasher_free(vh);
    phm_video_hasher_free(NULL);

    char ver[256];
    phm_video_versions(ver, sizeof ver);
    OK(strstr(ver, "libavformat ") && strstr(ver, "libswscale "),
       "versions: %s", ver);
}

int main(void)
{
    test_frame_step();
    test_timestamps();
    test_lines();
    test_compare();
    test_options();
    return tap_done();
}
