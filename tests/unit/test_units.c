/*
 * test_units.c - the small shared services of libphmatch that both
 * front-ends use: sizes and durations (phm_size_parse/duration), digests
 * (phm_digest_*), reading a file under limits (phm_file_*), and the names
 * of the index statistics (phm_index_stats_field).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phmatch.h"
#include "tap.h"

static void size_is(const char *s, int want_rc, uint64_t want)
{
    uint64_t v = 12345;
    int rc = phm_size_parse(s, &v);
    if (want_rc == PHM_OK) {
        IS_INT(rc, PHM_OK, "size '%s' parses", s);
        OK(v == want, "size '%s' = %llu (got %llu)", s, (unsigned long long)want,
           (unsigned long long)v);
    } else {
        IS_INT(rc, want_rc, "size '%s' refused", s);
        OK(v == 12345, "size '%s': output untouched", s);
    }
}

static void dur_is(const char *s, int want_rc, uint64_t want_ns)
{
    uint64_t v = 12345;
    int rc = phm_duration_parse(s, &v);
    if (want_rc == PHM_OK) {
        IS_INT(rc, PHM_OK, "duration '%s' parses", s);
        OK(v == want_ns, "duration '%s' = %llu ns (got %llu)", s,
           (unsigned long long)want_ns, (unsigned long long)v);
    } else {
        IS_INT(rc, want_rc, "duration '%s' refused", s);
    }
}

static void test_sizes(void)
{
    size_is("0", PHM_OK, 0);
    size_is("1024", PHM_OK, 1024);
    size_is("1k", PHM_OK, 1000);
    size_is("1K", PHM_OK, 1000);
    size_is("1kB", PHM_OK, 1000);
    size_is("32M", PHM_OK, 32000000);
    size_is("32MiB", PHM_OK, UINT64_C(33554432));
    size_is("32mib", PHM_OK, UINT64_C(33554432));
    size_is("32Mi", PHM_OK, UINT64_C(33554432));
    size_is("512MiB", PHM_OK, UINT64_C(536870912));
    size_is("4GiB", PHM_OK, UINT64_C(4294967296));
    size_is("3T", PHM_OK, UINT64_C(3000000000000));
    size_is("7B", PHM_OK, 7);
    size_is("18446744073709551615", PHM_OK, UINT64_MAX);
    size_is("16777215TiB", PHM_OK, UINT64_C(16777215) << 40);
    size_is("16777216TiB", PHM_ERR_TOO_LARGE, 0);
    size_is("18446744073709551616", PHM_ERR_TOO_LARGE, 0);
    size_is("99999999999999999999999", PHM_ERR_TOO_LARGE, 0);
    size_is("", PHM_ERR_INVALID, 0);
    size_is("M", PHM_ERR_INVALID, 0);
    size_is("-1", PHM_ERR_INVALID, 0);
    size_is("+1", PHM_ERR_INVALID, 0);
    size_is(" 1", PHM_ERR_INVALID, 0);
    size_is("1 ", PHM_ERR_INVALID, 0);
    size_is("1.5M", PHM_ERR_INVALID, 0);
    size_is("1X", PHM_ERR_INVALID, 0);
    size_is("1iB", PHM_ERR_INVALID, 0);
    size_is("1MM", PHM_ERR_INVALID, 0);
    size_is("1MBB", PHM_ERR_INVALID, 0);
    size_is("1P", PHM_ERR_INVALID, 0);
    IS_INT(phm_size_parse(NULL, NULL), PHM_ERR_INVALID, "size: NULL refused");
}

static void test_durations(void)
{
    dur_is("0", PHM_OK, 0);
    dur_is("30", PHM_OK, UINT64_C(30000000000));
    dur_is("30s", PHM_OK, UINT64_C(30000000000));
    dur_is("1.5", PHM_OK, UINT64_C(1500000000));
    dur_is("0.000000001", PHM_OK, 1);
    dur_is("0.0000000019", PHM_OK, 1); /* below a nanosecond: dropped */
    dur_is("250ms", PHM_OK, UINT64_C(250000000));
    dur_is("0.5ms", PHM_OK, UINT64_C(500000));
    dur_is("1.0000001ms", PHM_OK, UINT64_C(1000000));
    dur_is("2m", PHM_OK, UINT64_C(120000000000));
    dur_is("1.5h", PHM_OK, UINT64_C(5400000000000));
    dur_is("18446744073", PHM_OK, UINT64_C(18446744073000000000));
    dur_is("18446744074", PHM_ERR_TOO_LARGE, 0);
    dur_is("5124096h", PHM_ERR_TOO_LARGE, 0);
    dur_is("", PHM_ERR_INVALID, 0);
    dur_is("s", PHM_ERR_INVALID, 0);
    dur_is(".5", PHM_ERR_INVALID, 0);
    dur_is("1.", PHM_ERR_INVALID, 0);
    dur_is("1d", PHM_ERR_INVALID, 0);
    dur_is("1S", PHM_ERR_INVALID, 0);
    dur_is("-1", PHM_ERR_INVALID, 0);
    dur_is("1e3", PHM_ERR_INVALID, 0);
    dur_is("1 s", PHM_ERR_INVALID, 0);
}

static void test_digests(void)
{
    phm_digester *d = NULL;
    char hex[PHM_DIGEST_COUNT][PHM_DIGEST_HEX_MAX + 1], err[256];
    unsigned mask = 0;
    char path[] = "/tmp/phm-test-units.XXXXXX";

    IS_STR(phm_digest_name(PHM_DIGEST_MD5), "md5", "name md5");
    IS_STR(phm_digest_name(PHM_DIGEST_SHA256), "sha256", "name sha256");
    IS_STR(phm_digest_name(7), "unknown", "name of no digest");
    IS_INT(phm_digest_parse_list("SHA1,md5", &mask, err, sizeof err), PHM_OK, "list parsed");
    IS_INT(mask, (1u << PHM_DIGEST_SHA1) | (1u << PHM_DIGEST_MD5), "list mask");
    IS_INT(phm_digest_parse_list("all", &mask, err, sizeof err), PHM_OK, "all");
    IS_INT(mask, PHM_DIGEST_ALL, "all is every digest");
    IS_INT(phm_digest_parse_list("md5,,sha1", &mask, err, sizeof err), PHM_ERR_INVALID,
           "an empty name is refused");
    IS_INT(phm_digest_parse_list("crc32", &mask, err, sizeof err), PHM_ERR_INVALID,
           "unknown digest refused");
    IS_STR(err, "unknown digest 'crc32' (expected md5, sha1, sha256 or all)", "... message");
    IS_INT(phm_digester_new(&d, 1u << 5, err, sizeof err), PHM_ERR_INVALID, "bad mask");
    IS_INT(phm_digester_new(&d, PHM_DIGEST_ALL, err, sizeof err), PHM_OK, "digester made");
    IS_INT(phm_digest_mem(d, "abc", 3, hex), PHM_OK, "digest of 'abc'");
    IS_STR(hex[PHM_DIGEST_MD5], "900150983cd24fb0d6963f7d28e17f72", "MD5('abc')");
    IS_STR(hex[PHM_DIGEST_SHA1], "a9993e364706816aba3e25717850c26c9cd0d89d", "SHA-1('abc')");
    IS_STR(hex[PHM_DIGEST_SHA256],
           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256('abc')");
    IS_INT(phm_digest_mem(d, NULL, 0, hex), PHM_OK, "digest of nothing");
    IS_STR(hex[PHM_DIGEST_MD5], "d41d8cd98f00b204e9800998ecf8427e", "MD5('')");
    IS_INT(phm_digester_select(d, 1u << PHM_DIGEST_SHA1), PHM_OK, "select sha1");
    IS_INT(phm_digest_mem(d, "abc", 3, hex), PHM_OK, "digest, sha1 only");
    OK(hex[PHM_DIGEST_MD5][0] == '\0' && hex[PHM_DIGEST_SHA1][0], "only the selected digest");

    int fd = mkstemp(path);
    OK(fd >= 0 && write(fd, "abc", 3) == 3, "a file of 'abc'");
    if (fd >= 0)
        close(fd);
    phm_digester_select(d, PHM_DIGEST_ALL);
    IS_INT(phm_digest_file(d, path, hex), PHM_OK, "digest of a file");
    IS_STR(hex[PHM_DIGEST_SHA256],
           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "the file's SHA-256 is its bytes'");
    IS_INT(phm_digest_file(d, "/nonexistent/x", hex), PHM_ERR_NOT_FOUND, "missing file");
    IS_INT(phm_digest_file(d, "/tmp", hex), PHM_ERR_IS_DIR, "a directory");
    IS_INT(phm_digest_file(d, "/dev/null", hex), PHM_ERR_UNREADABLE, "a device");
    OK(hex[PHM_DIGEST_MD5][0] == '\0', "... no digest");
    phm_digester_free(d);
    phm_digester_free(NULL);

    phm_digester *none = NULL;
    IS_INT(phm_digester_new(&none, 1u << PHM_DIGEST_MD5, err, sizeof err), PHM_OK, "md5 only");
    IS_INT(phm_digester_select(none, 1u << PHM_DIGEST_SHA1), PHM_ERR_INVALID,
           "select beyond what it was made with");
    phm_digester_free(none);

    /* ---- files ---- */
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    IS_INT(phm_file_read(path, 0, 0, &buf, &cap, &len, err, sizeof err), PHM_OK, "file read");
    OK(len == 3 && memcmp(buf, "abc", 3) == 0 && buf[3] == 0, "its bytes, NUL after");
    IS_INT(phm_file_read(path, 0, 2, &buf, &cap, &len, err, sizeof err), PHM_ERR_TOO_LARGE,
           "over the limit");
    char want[600];
    snprintf(want, sizeof want, "cannot read '%s': 3 bytes is over the limit of 2", path);
    IS_STR(err, want, "... the message");
    IS_INT(phm_file_read("/nonexistent/x", 0, 0, &buf, &cap, &len, err, sizeof err),
           PHM_ERR_NOT_FOUND, "missing");
    IS_STR(err, "cannot read '/nonexistent/x': No such file or directory", "... the message");
    IS_INT(phm_file_read("/tmp", 0, 0, &buf, &cap, &len, err, sizeof err), PHM_ERR_IS_DIR,
           "a directory");
    IS_STR(err, "cannot read '/tmp': is a directory", "... the message");
    IS_INT(phm_file_read("/dev/null", 0, 0, &buf, &cap, &len, err, sizeof err),
           PHM_ERR_UNREADABLE, "a device");
    IS_STR(err, "cannot read '/dev/null': not a regular file", "... the message");
    char link[sizeof path + 8];
    snprintf(link, sizeof link, "%s.lnk", path);
    if (symlink(path, link) == 0) {
        IS_INT(phm_file_read(link, 0, 0, &buf, &cap, &len, err, sizeof err), PHM_OK,
               "a symbolic link is followed by default");
        IS_INT(phm_file_read(link, PHM_FILE_NOFOLLOW, 0, &buf, &cap, &len, err, sizeof err),
               PHM_ERR_UNREADABLE, "... not with PHM_FILE_NOFOLLOW");
        unlink(link);
    } else {
        tap_skip("symbolic links: cannot make one");
        tap_skip("symbolic links: cannot make one");
    }
    free(buf);
    unlink(path);
}

static void test_stats_names(void)
{
    static const char *const names[] = {
        "format_version", "entries",       "pdq_entries",  "video_entries", "video_frames",
        "video_hashes",   "variant_entries", "variant_hashes", "digests",   "sources",
        "base_entries",   "delta_entries",
        "dead_entries",   "generation",    "file_bytes",   "used_bytes",    "map_bytes",
        "created",        "compacted",
    };
    phm_index_stats st;
    int64_t v;
    size_t i;
    int good = 1;

    memset(&st, 0, sizeof st);
    st.video_hashes = 7;
    st.created = -5;
    st.format_version = 2;
    st.file_bytes = UINT64_MAX;
    for (i = 0; phm_index_stats_field(&st, i, &v); i++)
        good &= i < sizeof names / sizeof names[0] &&
                strcmp(phm_index_stats_field(NULL, i, NULL), names[i]) == 0;
    OK(good && i == sizeof names / sizeof names[0], "stats fields: every name, in order");
    phm_index_stats_field(&st, 5, &v);
    IS_INT(v, 7, "stats fields: video_hashes's value");
    phm_index_stats_field(&st, 17, &v);
    IS_INT(v, -5, "stats fields: created is signed");
    phm_index_stats_field(&st, 0, &v);
    IS_INT(v, 2, "stats fields: format_version");
    phm_index_stats_field(&st, 14, &v);
    OK(v == INT64_MAX, "stats fields: a count above INT64_MAX saturates");
}

int main(void)
{
    test_sizes();
    test_durations();
    test_digests();
    test_stats_names();
    return tap_done();
}
