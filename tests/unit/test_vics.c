/* test_vics.c - the VICS 2.0 hash-set writer and phm_hashlist_writer
 * (src/lib/hashlist_vics.c; docs/HASHLISTS.md "vics"): what each Media
 * record holds, for entries built in memory (photodna and the publisher's
 * attrs too, which the index may not store yet). The output is parsed
 * back with jansson, a reader independent of the writer. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#include "phmatch.h"

static const char *const H1 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

/* An image entry with hash H1 and the given strings. */
static phm_entry make_entry(const char *id, const char *category)
{
    phm_entry e;
    memset(&e, 0, sizeof e);
    e.source = "lab";
    e.id = id;
    e.category = category;
    e.note = "";
    e.quality = -1;
    e.signals = PHM_SIG_PDQ;
    phm_pdq_from_hex(H1, strlen(H1), &e.pdq);
    return e;
}

/* The bytes written to fp so far, NUL-terminated (malloc'd). */
static char *slurp(FILE *fp)
{
    long n;
    char *s;
    fflush(fp);
    n = ftell(fp);
    s = malloc((size_t)n + 1);
    rewind(fp);
    if (fread(s, 1, (size_t)n, fp) != (size_t)n)
        s[0] = '\0';
    s[n] = '\0';
    fseek(fp, 0, SEEK_END);
    return s;
}

/* Writes the entries as one VICS document and parses it; NULL if it is not
 * JSON. rcs[i] gets each write's status. */
static json_t *write_doc(const phm_entry *es, size_t n, int *rcs, char **text)
{
    FILE *fp = tmpfile();
    phm_hashlist_writer *w = NULL;
    char err[PHM_HASHLIST_ERRMSG_MAX];
    json_error_t jerr;
    json_t *doc;

    if (phm_hashlist_writer_new(&w, fp, PHM_HASHLIST_VICS, err, sizeof err) != PHM_OK)
        return NULL;
    for (size_t i = 0; i < n; i++)
        rcs[i] = phm_hashlist_writer_write(w, &es[i], err, sizeof err);
    phm_hashlist_writer_finish(w);
    phm_hashlist_writer_free(w);
    *text = slurp(fp);
    fclose(fp);
    doc = json_loads(*text, 0, &jerr);
    if (!doc)
        printf("#   not JSON: %s at %d: %s\n", jerr.text, jerr.position, *text);
    return doc;
}

static json_t *media(json_t *doc, size_t i)
{
    return json_array_get(json_object_get(doc, "value"), i);
}

static void test_fields(void)
{
    phm_entry es[6];
    int rcs[6];
    char *text = NULL;

    es[0] = make_entry("42", "1");
    es[0].signals |= PHM_SIG_MD5 | PHM_SIG_SHA1 | PHM_SIG_SHA256;
    memset(es[0].md5, 0xab, sizeof es[0].md5);
    memset(es[0].sha1, 0x0c, sizeof es[0].sha1);
    memset(es[0].sha256, 0xef, sizeof es[0].sha256);
    es[0].photodna = "AAMANwABAD0=";
    es[0].attrs = "{\"Series\":\"S \\u00e9\",\"VictimIdentified\":true,\"MD5\":\"00\","
                  "\"MediaID\":7,\"Tags\":[\"a\",\"b\"],\"MediaSize\":2835,"
                  "\"AlternativeHashes\":[{\"HashName\":\"PhotoDNA\",\"HashValue\":\"QQ==\"},"
                  "{\"HashName\":\"pdq\",\"HashValue\":\"zz\"}]}";
    es[0].quality = 90;
    es[0].added = 1704164645;
    es[0].note = "line\nbreak \"q\" \xe2\x80\xa8";
    es[1] = make_entry("A-1", "csam");  /* not numbers: running number, no Category */
    es[2] = make_entry("007", "012");   /* leading zeros are not numbers */
    es[3] = make_entry("9007199254740991", "2147483647"); /* the largest numbers */
    es[4] = make_entry("9007199254740992", "2147483648"); /* one past them */
    es[5] = make_entry("0", "0");
    es[5].signals = PHM_SIG_MD5; /* digest only: no AlternativeHashes */

    json_t *doc = write_doc(es, 6, rcs, &text);
    OK(doc != NULL, "a VICS document of 6 entries is JSON");
    if (!doc) {
        free(text);
        return;
    }
    for (int i = 0; i < 6; i++)
        IS_INT(rcs[i], PHM_OK, "entry %d written", i);
    IS_STR(json_string_value(json_object_get(doc, "@odata.context")), PHM_VICS_MEDIA_CONTEXT,
           "@odata.context is the VICS 2.0 Media context");
    IS_INT(json_array_size(json_object_get(doc, "value")), 6, "value holds 6 Media");

    json_t *m = media(doc, 0);
    IS_INT(json_integer_value(json_object_get(m, "MediaID")), 42, "numeric id: MediaID 42");
    IS_INT(json_integer_value(json_object_get(m, "Category")), 1, "numeric category: Category 1");
    IS_STR(json_string_value(json_object_get(m, "MD5")), "ABABABABABABABABABABABABABABABAB",
           "MD5 upper-case, the entry's, not the attrs' one");
    IS_STR(json_string_value(json_object_get(m, "SHA1")),
           "0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C", "SHA1 upper-case");
    IS_STR(json_string_value(json_object_get(m, "PhotoDNA")), "AAMANwABAD0=",
           "PhotoDNA exported unchanged");
    IS_STR(json_string_value(json_object_get(m, "Series")), "S \xc3\xa9", "attrs: Series kept");
    OK(json_is_true(json_object_get(m, "VictimIdentified")), "attrs: a boolean kept");
    IS_INT(json_array_size(json_object_get(m, "Tags")), 2, "attrs: an array kept");
    IS_INT(json_integer_value(json_object_get(m, "MediaSize")), 2835, "attrs: MediaSize kept");
    json_t *alt = json_object_get(m, "AlternativeHashes");
    IS_INT(json_array_size(alt), 3, "AlternativeHashes: PDQ, SHA256, the publisher's PhotoDNA");
    IS_STR(json_string_value(json_object_get(json_array_get(alt, 0), "HashName")), "PDQ",
           "first the PDQ hash");
    IS_STR(json_string_value(json_object_get(json_array_get(alt, 0), "HashValue")), H1,
           "its value is the entry's hash, not the attrs' one");
    IS_STR(json_string_value(json_object_get(json_array_get(alt, 1), "HashName")), "SHA256",
           "then SHA256");
    IS_STR(json_string_value(json_object_get(json_array_get(alt, 2), "HashValue")), "QQ==",
           "then the publisher's other hashes");
    json_t *pe = json_object_get(m, "@phmatch.entry");
    IS_STR(json_string_value(json_object_get(pe, "source")), "lab", "@phmatch.entry source");
    IS_STR(json_string_value(json_object_get(pe, "id")), "42", "@phmatch.entry id");
    IS_STR(json_string_value(json_object_get(pe, "note")), "line\nbreak \"q\" \xe2\x80\xa8",
           "@phmatch.entry note with a line break, quotes and U+2028");
    IS_INT(json_integer_value(json_object_get(pe, "quality")), 90, "@phmatch.entry quality");
    IS_STR(json_string_value(json_object_get(pe, "added")), "2024-01-02T03:04:05Z",
           "@phmatch.entry added in ISO form");
    /* The keys phmatch writes appear once (jansson keeps the last of two). */
    OK(strstr(text, "\"MediaID\":7") == NULL && strstr(text, "\"MD5\":\"00\"") == NULL,
       "the attrs' MediaID and MD5 are not written");

    m = media(doc, 1);
    IS_INT(json_integer_value(json_object_get(m, "MediaID")), 2,
           "id A-1: MediaID is the record's number (2)");
    OK(json_object_get(m, "Category") == NULL, "category csam: no Category");
    IS_STR(json_string_value(json_object_get(json_object_get(m, "@phmatch.entry"), "id")), "A-1",
           "... the id and category kept in @phmatch.entry");
    OK(json_is_null(json_object_get(json_object_get(m, "@phmatch.entry"), "quality")),
       "unknown quality is null");
    m = media(doc, 2);
    IS_INT(json_integer_value(json_object_get(m, "MediaID")), 3, "id 007: the record's number");
    OK(json_object_get(m, "Category") == NULL, "category 012: no Category");
    m = media(doc, 3);
    IS_INT(json_integer_value(json_object_get(m, "MediaID")), 9007199254740991LL,
           "id 2^53-1 is a MediaID");
    IS_INT(json_integer_value(json_object_get(m, "Category")), 2147483647,
           "category 2^31-1 is a Category");
    m = media(doc, 4);
    IS_INT(json_integer_value(json_object_get(m, "MediaID")), 5, "id 2^53: the record's number");
    OK(json_object_get(m, "Category") == NULL, "category 2^31: no Category");
    m = media(doc, 5);
    IS_INT(json_integer_value(json_object_get(m, "MediaID")), 0, "id 0 is MediaID 0");
    IS_INT(json_integer_value(json_object_get(m, "Category")), 0, "category 0 is Category 0");
    OK(json_object_get(m, "AlternativeHashes") == NULL && json_object_get(m, "SHA1") == NULL &&
           json_object_get(m, "PhotoDNA") == NULL,
       "a digest-only entry has no AlternativeHashes, SHA1 or PhotoDNA");
    json_decref(doc);
    free(text);
}

static void test_refused(void)
{
    phm_entry es[7];
    int rcs[7];
    char *text = NULL;
    static const phm_vpdq_frame frame = { 0 };

    es[0] = make_entry("1", "");
    es[1] = make_entry("2", "");
    es[1].attrs = "[1,2]";
    es[2] = make_entry("3", "");
    es[2].attrs = "{\"a\":1,\"a\":2}";
    es[3] = make_entry("4", "");
    es[3].attrs = "{\"a\":";
    es[4] = make_entry("caf\xe9", "");
    es[5] = make_entry("6", "");
    es[5].signals = PHM_SIG_VPDQ;
    es[5].frames = &frame;
    es[5].nframes = 1;
    es[6] = make_entry("7", "");
    es[6].attrs = "{\"AlternativeHashes\":{}}";
    json_t *doc = write_doc(es, 7, rcs, &text);
    OK(doc != NULL, "a document with refused entries is still JSON");
    IS_INT(rcs[0], PHM_OK, "a plain entry is written");
    IS_INT(rcs[1], PHM_ERR_UNSUPPORTED, "attrs not an object: refused");
    IS_INT(rcs[2], PHM_ERR_UNSUPPORTED, "attrs with a duplicate key: refused");
    IS_INT(rcs[3], PHM_ERR_UNSUPPORTED, "attrs not JSON: refused");
    IS_INT(rcs[4], PHM_ERR_UNSUPPORTED, "an id that is not UTF-8: refused");
    IS_INT(rcs[5], PHM_ERR_UNSUPPORTED, "a video: refused");
    IS_INT(rcs[6], PHM_ERR_UNSUPPORTED, "attrs AlternativeHashes not an array: refused");
    IS_INT(json_array_size(json_object_get(doc, "value")), 1, "only the good entry is listed");
    json_decref(doc);
    free(text);

    phm_entry e = make_entry("1", "");
    e.photodna = "\xff";
    char err[PHM_HASHLIST_ERRMSG_MAX];
    FILE *fp = tmpfile();
    phm_hashlist_writer *w = NULL;
    phm_hashlist_writer_new(&w, fp, PHM_HASHLIST_VICS, err, sizeof err);
    long before = ftell(fp);
    IS_INT(phm_hashlist_writer_write(w, &e, err, sizeof err), PHM_ERR_UNSUPPORTED,
           "a photodna that is not UTF-8: refused");
    OK(strstr(err, "photodna") != NULL, "... the message names it: %s", err);
    IS_INT(ftell(fp), before, "... and nothing was written");
    IS_INT(phm_hashlist_writer_count(w), 0, "count: 0 written");
    IS_INT(phm_hashlist_writer_finish(w), PHM_OK, "finish");
    IS_INT(phm_hashlist_writer_finish(w), PHM_ERR_INVALID, "finish twice: invalid");
    e.photodna = NULL;
    IS_INT(phm_hashlist_writer_write(w, &e, err, sizeof err), PHM_ERR_INVALID,
           "write after finish: invalid");
    phm_hashlist_writer_free(w);
    char *s = slurp(fp);
    IS_STR(s, "{\"@odata.context\":\"" PHM_VICS_MEDIA_CONTEXT "\",\"value\":[\n]}\n",
           "an empty hash set");
    free(s);
    fclose(fp);

    IS_INT(phm_hashlist_write(stdout, PHM_HASHLIST_VICS, &e, err, sizeof err), PHM_ERR_INVALID,
           "phm_hashlist_write: vics needs a writer");
    IS_INT(phm_hashlist_write_header(stdout, PHM_HASHLIST_VICS), PHM_ERR_INVALID,
           "phm_hashlist_write_header: vics needs a writer");
    IS_INT(phm_hashlist_writer_new(&w, stdout, PHM_HASHLIST_AUTO, err, sizeof err),
           PHM_ERR_INVALID, "a writer of format auto: invalid");
    OK(w == NULL, "... and no writer");
    IS_INT(phm_hashlist_writer_new(&w, stdout, PHM_HASHLIST_NCMEC, err, sizeof err),
           PHM_ERR_INVALID, "a writer of a format read only: invalid");
    phm_hashlist_writer_free(NULL);
}

/* The writer of another format writes what the header and record
 * functions write. */
static void test_other_formats(void)
{
    static const phm_hashlist_format fmts[] = { PHM_HASHLIST_CSV, PHM_HASHLIST_TSV,
                                                PHM_HASHLIST_JSONL, PHM_HASHLIST_PDQ };
    char err[PHM_HASHLIST_ERRMSG_MAX];
    phm_entry e = make_entry("a,b", "x");
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        FILE *a = tmpfile(), *b = tmpfile();
        phm_hashlist_writer *w = NULL;
        phm_hashlist_writer_new(&w, a, fmts[i], err, sizeof err);
        phm_hashlist_writer_write(w, &e, err, sizeof err);
        phm_hashlist_writer_write(w, &e, err, sizeof err);
        phm_hashlist_writer_finish(w);
        phm_hashlist_writer_free(w);
        phm_hashlist_write_header(b, fmts[i]);
        phm_hashlist_write(b, fmts[i], &e, err, sizeof err);
        phm_hashlist_write(b, fmts[i], &e, err, sizeof err);
        char *sa = slurp(a), *sb = slurp(b);
        IS_STR(sa, sb, "%s through the writer: the same bytes", phm_hashlist_format_name(fmts[i]));
        free(sa);
        free(sb);
        fclose(a);
        fclose(b);
    }
    phm_hashlist_format f;
    OK(phm_hashlist_format_parse("vics", &f) == PHM_OK && f == PHM_HASHLIST_VICS,
       "format name vics");
    IS_STR(phm_hashlist_format_name(PHM_HASHLIST_VICS), "vics", "name of PHM_HASHLIST_VICS");
}

int main(void)
{
    test_fields();
    test_refused();
    test_other_formats();
    return tap_done();
}
