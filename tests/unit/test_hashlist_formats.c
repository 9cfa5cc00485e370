/* test_hashlist_formats.c - the publishers' formats of the hash-list
 * reader (src/lib/hashlist_doc.c and the per-format files;
 * docs/HASHLISTS.md): detection, the JSON document scanner on awkward
 * input (strings holding brackets and escaped quotes, record arrays at the
 * wrong depth, oversized and non-object records, truncation, nesting),
 * deletions only for callers that take them, the import checks, and
 * feed times. tests/cli/hashlists.sh checks every field of every format
 * through the CLI and phmatchd.
 *
 * With arguments, `--count FILE` reads FILE (any format, detected) and
 * prints "records N removed N bad N": the shell test measures its peak
 * memory on large files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#include "phmatch.h"

static const char H[] = "d8f8f0cee0f4a84f06370a2a078f67f0b36e2ed596221e1d33e6339c4e9c9b22";

/* Reads all of data as fmt: the ids of entries ("+id"), deletions ("-id")
 * and errors ("!line") in order, into out. Returns the detected format. */
static phm_hashlist_format read_all(const char *data, phm_hashlist_format fmt,
                                    const phm_hashlist_options *opt, char *out, size_t cap,
                                    char *lastmsg, size_t msgcap)
{
    phm_hashlist_reader *rd;
    char err[PHM_HASHLIST_ERRMSG_MAX];
    phm_entry e;
    int rc;
    size_t n = 0;
    out[0] = '\0';
    if (lastmsg)
        lastmsg[0] = '\0';
    if (phm_hashlist_reader_open_mem(&rd, data, strlen(data), "t", fmt, opt, err, sizeof err))
        return PHM_HASHLIST_AUTO;
    while ((rc = phm_hashlist_read(rd, &e, err, sizeof err)) != PHM_HASHLIST_EOF) {
        int k;
        if (rc == PHM_HASHLIST_RECORD)
            k = snprintf(out + n, cap - n, "+%s ", e.id);
        else if (rc == PHM_HASHLIST_REMOVE)
            k = snprintf(out + n, cap - n, "-%s ", e.id);
        else
            k = snprintf(out + n, cap - n, "!%llu ",
                         (unsigned long long)phm_hashlist_reader_line(rd));
        if (rc < 0 && lastmsg)
            snprintf(lastmsg, msgcap, "%s", err);
        if (k > 0 && (size_t)k < cap - n)
            n += (size_t)k;
        if (rc < 0 && rc != PHM_ERR_CORRUPT)
            break;
    }
    phm_hashlist_format f = phm_hashlist_reader_format(rd);
    phm_hashlist_reader_close(rd);
    return f;
}

static void test_names(void)
{
    static const char *const names[] = { "vics", "ncmec", "stopncii", "threatexchange",
                                         "threatexchange-csv", "tat", "icse" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        phm_hashlist_format f;
        IS_INT(phm_hashlist_format_parse(names[i], &f), PHM_OK, "format name %s", names[i]);
        IS_STR(phm_hashlist_format_name(f), names[i], "... and back");
    }
}

static void test_detect(void)
{
    char doc[4096], got[512];
    static const struct {
        const char *text;
        phm_hashlist_format fmt;
    } cases[] = {
        { "{\"odata.metadata\":\"x/1.3.xml#Media\",\"value\":[]}", PHM_HASHLIST_VICS },
        { "\n  {\n \"@odata.context\": \"x#Media\", \"value\": []}", PHM_HASHLIST_VICS },
        { "{\"pageSize\":1,\"hashRecords\":[]}", PHM_HASHLIST_STOPNCII },
        { "{\"data\":[],\"paging\":{}}", PHM_HASHLIST_THREATEXCHANGE },
        { "{\"count\":0,\"next\":null,\"results\":[]}", PHM_HASHLIST_TAT },
        { "<?xml version=\"1.0\"?><queryResult/>", PHM_HASHLIST_NCMEC },
        { "MD5;SHA1;PhotoDNA;Image ID\n", PHM_HASHLIST_ICSE },
        { "td_raw_indicator,td_indicator_type\n", PHM_HASHLIST_THREATEXCHANGE_CSV },
        /* a jsonl line whose note holds a document key is still jsonl */
        { "{\"hash\":null,\"note\":\"\\\"value\\\": [\",\"md5\":\"0123456789abcdef0123456789abcdef\"}\n",
          PHM_HASHLIST_JSONL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(doc, sizeof doc, "%s", cases[i].text);
        phm_hashlist_format f = read_all(doc, PHM_HASHLIST_AUTO, NULL, got, sizeof got, NULL, 0);
        IS_STR(phm_hashlist_format_name(f), phm_hashlist_format_name(cases[i].fmt),
               "detected: case %zu", i + 1);
    }
}

static void test_scanner(void)
{
    char doc[8192], got[512], msg[PHM_HASHLIST_ERRMSG_MAX];
    phm_hashlist_options opt = { .source = "s", .allow_remove = 1 };

    /* brackets and escaped quotes inside strings; a "data" array deeper
     * down is not the records' array; the second record is read too */
    snprintf(doc, sizeof doc,
             "{\"x\":{\"data\":[{\"id\":\"no\"}]},\"data\":[{\"id\":\"a\\\"]}[\",\"type\":"
             "\"HASH_PDQ\",\"raw_indicator\":\"%s\",\"tags\":{\"data\":[{\"text\":\"}]\"}]}},"
             "{\"id\":2,\"should_delete\":true}],\"paging\":{\"data\":[1]}}",
             H);
    read_all(doc, PHM_HASHLIST_AUTO, &opt, got, sizeof got, msg, sizeof msg);
    IS_STR(got, "+a\"]}[ -2 ", "threatexchange: records found past strings with brackets");

    /* deletions are errors for a caller that does not take them */
    opt.allow_remove = 0;
    read_all(doc, PHM_HASHLIST_AUTO, &opt, got, sizeof got, msg, sizeof msg);
    IS_STR(got, "+a\"]}[ !2 ", "without allow_remove a deletion is an error of its record");
    OK(strstr(msg, "t: record 2: a deletion record") != NULL, "... saying so: %s", msg);
    opt.allow_remove = 1;

    /* a non-object element, then a good one */
    snprintf(doc, sizeof doc,
             "{\"results\":[\"str]\",{\"id\":5,\"hash_digest\":\"%s\",\"algorithm\":\"PDQ\"},"
             "17,{\"id\":6,\"deleted\":true}]}",
             H);
    read_all(doc, PHM_HASHLIST_AUTO, &opt, got, sizeof got, msg, sizeof msg);
    IS_STR(got, "!1 +5 !3 -6 ", "tat: elements that are no object are errors by number");

    /* truncated */
    snprintf(doc, sizeof doc, "{\"results\":[{\"id\":5,\"hash_digest\":\"%s\",\"algorithm\":\"PDQ\"},{\"id\":6,",
             H);
    read_all(doc, PHM_HASHLIST_AUTO, &opt, got, sizeof got, msg, sizeof msg);
    IS_STR(got, "+5 !2 ", "a truncated document: the records before, then an error");
    OK(strstr(msg, "truncated") != NULL, "... saying so: %s", msg);

    /* no records' array */
    read_all("{\"value\":{}}", PHM_HASHLIST_VICS, &opt, got, sizeof got, msg, sizeof msg);
    OK(strstr(msg, "no \"value\" array") != NULL, "no records' array: %s", msg);

    /* too deep */
    size_t n = (size_t)snprintf(doc, sizeof doc, "{\"value\":[");
    for (int i = 0; i < 70; i++)
        doc[n++] = '[';
    doc[n] = '\0';
    read_all(doc, PHM_HASHLIST_VICS, &opt, got, sizeof got, msg, sizeof msg);
    OK(strstr(msg, "nested deeper") != NULL || strstr(msg, "expected a JSON object"),
       "deep nesting is an error: %s", msg);

    /* a record over PHM_HASHLIST_RECORD_MAX, then a good one */
    size_t big = PHM_HASHLIST_RECORD_MAX + 100;
    char *huge = malloc(big + 512);
    if (huge) {
        n = (size_t)snprintf(huge, 512, "{\"value\":[{\"MediaID\":1,\"Series\":\"");
        memset(huge + n, 'x', big);
        n += big;
        snprintf(huge + n, 512, "\"},{\"MediaID\":2,\"MD5\":\"0123456789abcdef0123456789abcdef\"}]}");
        read_all(huge, PHM_HASHLIST_AUTO, &opt, got, sizeof got, msg, sizeof msg);
        IS_STR(got, "!1 +2 ", "a record over the bound is an error; reading goes on");
        OK(strstr(msg, "longer than") != NULL, "... saying so: %s", msg);
        free(huge);
    }

    /* a VICS case without its #Cases context: the Media of the case */
    snprintf(doc, sizeof doc,
             "{\"value\":[{\"CaseID\":1,\"Media\":[{\"MediaID\":7,\"MD5\":"
             "\"0123456789abcdef0123456789abcdef\"},{\"MediaID\":8,\"MD5\":\"bad\"}]},"
             "{\"MediaID\":9,\"SHA1\":\"0123456789abcdef0123456789abcdef01234567\"}]}");
    read_all(doc, PHM_HASHLIST_AUTO, &opt, got, sizeof got, msg, sizeof msg);
    IS_STR(got, "+7 !1 +9 ", "vics: a case read whole gives its Media");

    /* a PhotoDNA alone cannot be matched */
    snprintf(doc, sizeof doc, "{\"value\":[{\"MediaID\":1,\"PhotoDNA\":\"%0288d\"}]}", 0);
    read_all(doc, PHM_HASHLIST_AUTO, &opt, got, sizeof got, msg, sizeof msg);
    IS_STR(got, "!1 ", "vics: PhotoDNA alone is an error");
    OK(strstr(msg, "PhotoDNA alone") != NULL, "... saying so: %s", msg);
    snprintf(doc, sizeof doc,
             "{\"value\":[{\"MediaID\":1,\"PhotoDNA\":\"abc\",\"MD5\":\"0123456789abcdef0123456789abcdef\"}]}");
    read_all(doc, PHM_HASHLIST_AUTO, &opt, got, sizeof got, msg, sizeof msg);
    OK(strstr(msg, "invalid PhotoDNA") != NULL, "a PhotoDNA of the wrong length: %s", msg);
}

static void test_other_signals(void)
{
    char doc[2048], got[256];
    phm_hashlist_options opt = { .source = "s" };
    snprintf(doc, sizeof doc,
             "{\"hashRecords\":[{\"hashValue\":\"%s\",\"signalType\":\"VideoTMK\"},"
             "{\"hashValue\":\"%s\",\"signalType\":\"ImagePDQ\"}]}",
             H, H);
    read_all(doc, PHM_HASHLIST_AUTO, &opt, got, sizeof got, NULL, 0);
    IS_STR(got, "!1 +d8f8f0cee0f4a84f06370a2a078f67f0b36e2ed596221e1d33e6339c4e9c9b22 ",
           "stopncii: another signal type is an error...");
    opt.skip_other_signals = 1;
    read_all(doc, PHM_HASHLIST_AUTO, &opt, got, sizeof got, NULL, 0);
    IS_STR(got, "+d8f8f0cee0f4a84f06370a2a078f67f0b36e2ed596221e1d33e6339c4e9c9b22 ",
           "... or skipped when asked");
}

static void test_checks(void)
{
    char doc[2048], got[256], msg[PHM_HASHLIST_ERRMSG_MAX];
    phm_hashlist_options opt = { .source = "s" };
    /* 96 and 160 bits pass, 95 and 161 do not */
    snprintf(doc, sizeof doc,
             "%s\n%s\n%s\n%s\n",
             "ffffffffffffffffffffffff0000000000000000000000000000000000000000",  /* 96 */
             "7fffffffffffffffffffffff0000000000000000000000000000000000000000",  /* 95 */
             "ffffffffffffffffffffffffffffffffffffffff000000000000000000000000",  /* 160 */
             "ffffffffffffffffffffffffffffffffffffffff800000000000000000000000"); /* 161 */
    read_all(doc, PHM_HASHLIST_HEX, &opt, got, sizeof got, NULL, 0);
    IS_STR(got, "+1 +2 +3 +4 ", "without check_hashes any hash is read");
    opt.check_hashes = 1;
    read_all(doc, PHM_HASHLIST_HEX, &opt, got, sizeof got, msg, sizeof msg);
    IS_STR(got, "+1 !2 +3 !4 ", "bounds: 96 and 160 bits pass, 95 and 161 do not");
    OK(strstr(msg, "t:4: PDQ hash sets 161 of its 256 bits") != NULL, "... message: %s", msg);
    opt.min_quality = 50;
    snprintf(doc, sizeof doc, "%s,49,a\n%s,50,b\n%s,,c\n", H, H, H);
    read_all(doc, PHM_HASHLIST_PDQ, &opt, got, sizeof got, msg, sizeof msg);
    IS_STR(got, "!1 +b +c ", "min_quality: below refused, unknown quality taken");
}

static void test_where(void)
{
    char doc[512], where[64], err[PHM_HASHLIST_ERRMSG_MAX];
    phm_hashlist_reader *rd;
    phm_entry e;
    snprintf(doc, sizeof doc, "{\"results\":[{\"id\":1,\"hash_digest\":\"%s\",\"algorithm\":\"PDQ\"}]}",
             H);
    if (phm_hashlist_reader_open_mem(&rd, doc, strlen(doc), "list.json", PHM_HASHLIST_AUTO, NULL,
                                     err, sizeof err) == PHM_OK) {
        IS_INT(phm_hashlist_read(rd, &e, err, sizeof err), PHM_HASHLIST_RECORD, "tat read");
        IS_STR(phm_hashlist_reader_where(rd, where, sizeof where), "list.json: record 1",
               "where: documents name the record");
        phm_hashlist_reader_close(rd);
    }
    if (phm_hashlist_reader_open_mem(&rd, H, strlen(H), "l.txt", PHM_HASHLIST_AUTO, NULL, err,
                                     sizeof err) == PHM_OK) {
        IS_INT(phm_hashlist_read(rd, &e, err, sizeof err), PHM_HASHLIST_RECORD, "hex read");
        IS_STR(phm_hashlist_reader_where(rd, where, sizeof where), "l.txt:1",
               "where: line formats name the line");
        phm_hashlist_reader_close(rd);
    }
}

static void test_times(void)
{
    char doc[1024], got[256];
    phm_hashlist_options opt = { .source = "s" };
    static const struct {
        const char *t;
        long long want; /* -1: an error */
    } cases[] = {
        { "\"2020-07-01T18:21:53+0000\"", 1593627713 },
        { "\"2020-07-01T20:21:53+02:00\"", 1593627713 },
        { "\"2020-07-01T18:21:53.999Z\"", 1593627713 },
        { "\"2020-07-01 18:21:53\"", 1593627713 },
        { "1593627713", 1593627713 },
        { "1593627713123", 1593627713 }, /* milliseconds */
        { "\"2020-13-01T00:00:00Z\"", -1 },
        { "\"2020-07-01T18:21:53+2500\"", -1 },
        { "\"yesterday\"", -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        phm_hashlist_reader *rd;
        phm_entry e;
        char err[PHM_HASHLIST_ERRMSG_MAX];
        snprintf(doc, sizeof doc,
                 "{\"results\":[{\"id\":1,\"hash_digest\":\"%s\",\"algorithm\":\"PDQ\","
                 "\"updated_on\":%s}]}",
                 H, cases[i].t);
        if (phm_hashlist_reader_open_mem(&rd, doc, strlen(doc), "t", PHM_HASHLIST_AUTO, &opt,
                                         err, sizeof err))
            continue;
        int rc = phm_hashlist_read(rd, &e, err, sizeof err);
        if (cases[i].want < 0)
            IS_INT(rc, PHM_ERR_CORRUPT, "time %s refused", cases[i].t);
        else
            OK(rc == PHM_HASHLIST_RECORD && e.added == cases[i].want, "time %s: %lld", cases[i].t,
               rc == PHM_HASHLIST_RECORD ? (long long)e.added : -1LL);
        phm_hashlist_reader_close(rd);
    }
    (void)got;
}

static void test_ncmec(void)
{
    char got[256], msg[PHM_HASHLIST_ERRMSG_MAX];
    phm_hashlist_options opt = { .source = "s", .allow_remove = 1 };
    char doc[2048];
    snprintf(doc, sizeof doc,
             "<queryResult><images><image><id>1</id><fingerprints><pdq>%s</pdq></fingerprints>"
             "</image><deletedImage><id>2</id></deletedImage><image><id>3</id></image>"
             "<image><id>4</id><classification>%0300d</classification></image></images></queryResult>",
             H, 0);
    read_all(doc, PHM_HASHLIST_AUTO, &opt, got, sizeof got, msg, sizeof msg);
    IS_STR(got, "+1 -2 !3 !4 ", "ncmec: image, deletedImage, no hash, field over its bound");
    read_all("<a><b>", PHM_HASHLIST_NCMEC, &opt, got, sizeof got, msg, sizeof msg);
    OK(strstr(msg, "invalid XML") != NULL || got[0] == '\0', "malformed XML: %s", msg);
    read_all("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>",
             PHM_HASHLIST_AUTO, &opt, got, sizeof got, msg, sizeof msg);
    OK(strstr(msg, "DOCTYPE") != NULL, "a DOCTYPE is refused: %s", msg);
    /* XML allows DEL in text: an id holding it is shown as '?' in the
     * message that refuses its deletion (fuzz_hashlist, session 31) */
    opt.allow_remove = 0;
    read_all("<queryResult><images><deletedImage><id>a\x7f\x7f""b</id></deletedImage>"
             "</images></queryResult>",
             PHM_HASHLIST_NCMEC, &opt, got, sizeof got, msg, sizeof msg);
    int printable = msg[0] != '\0';
    for (const char *p = msg; *p; p++)
        printable &= *p >= 0x20 && *p < 0x7f;
    OK(printable && strstr(msg, "of id 'a??b'") != NULL,
       "a deletion of an id holding DEL, refused in printable words: %s", msg);
}

/* --count FILE */
static int count_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    phm_hashlist_reader *rd;
    phm_hashlist_options opt = { .source = "s", .allow_remove = 1, .check_hashes = 1 };
    char err[PHM_HASHLIST_ERRMSG_MAX];
    phm_entry e;
    unsigned long long rec = 0, rem = 0, bad = 0;
    int rc;
    if (!fp || phm_hashlist_reader_open(&rd, fp, path, PHM_HASHLIST_AUTO, &opt, err, sizeof err)) {
        fprintf(stderr, "cannot read '%s'\n", path);
        return 2;
    }
    while ((rc = phm_hashlist_read(rd, &e, err, sizeof err)) != PHM_HASHLIST_EOF) {
        if (rc == PHM_HASHLIST_RECORD)
            rec++;
        else if (rc == PHM_HASHLIST_REMOVE)
            rem++;
        else {
            bad++;
            if (bad < 5)
                fprintf(stderr, "%s\n", err);
            if (rc != PHM_ERR_CORRUPT)
                break;
        }
    }
    phm_hashlist_reader_close(rd);
    fclose(fp);
    printf("records %llu removed %llu bad %llu\n", rec, rem, bad);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--count") == 0)
        return count_file(argv[2]);
    test_names();
    test_detect();
    test_scanner();
    test_other_signals();
    test_checks();
    test_where();
    test_times();
    test_ncmec();
    return tap_done();
}
