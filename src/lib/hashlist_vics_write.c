/* hashlist_vics_write.c - the Project VIC VICS 2.0 hash-set writer (one Media
 * object per entry, docs/HASHLISTS.md "vics") and phm_hashlist_writer, the
 * writer of a whole list that a VICS document needs: its opening, the
 * separators and running numbers between records, its end.
 *
 * Nothing is written for an entry until all of it has been checked (its
 * text is UTF-8, its attrs a JSON object), so a refused entry leaves the
 * document valid. The publisher's attrs are parsed with jansson and their
 * values written back with it; every string phmatch writes itself goes
 * through phm_json_fwrite. */
#include "hashlist_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct phm_hashlist_writer {
    FILE *fp;
    phm_hashlist_format fmt;
    uint64_t count;
    int finished;
};

/* The Media keys phmatch writes from the entry's own fields: the same keys
 * in attrs are not written again. */
static const char *const own_keys[] = {
    "MediaID", "Category", "MD5", "SHA1", "PhotoDNA", "AlternativeHashes", "@phmatch.entry",
};

/* JSON numbers are exact up to 2^53 - 1 in every reader (doubles). */
#define VICS_MEDIA_ID_MAX UINT64_C(9007199254740991)
#define VICS_CATEGORY_MAX UINT64_C(2147483647)

/* Nonzero if s is a decimal integer 0..max written without sign, blanks
 * or leading zeros (so that writing the number gives s back); *v is it. */
static int canonical_uint(const char *s, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (x > (max - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

static void put_upper_hex(FILE *fp, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        putc(digits[b[i] >> 4], fp);
        putc(digits[b[i] & 15], fp);
    }
}

static void put_key(FILE *fp, const char *key)
{
    putc(',', fp);
    phm_json_fwrite(fp, key, strlen(key));
    putc(':', fp);
}

static void put_text(FILE *fp, const char *key, const char *s)
{
    put_key(fp, key);
    phm_json_fwrite(fp, s ? s : "", s ? strlen(s) : 0);
}

static int is_own_key(const char *key)
{
    for (size_t i = 0; i < sizeof own_keys / sizeof own_keys[0]; i++)
        if (strcmp(key, own_keys[i]) == 0)
            return 1;
    return 0;
}

/* Whether an item of the publisher's AlternativeHashes names a hash that
 * phmatch writes from the entry (PDQ, SHA256), which then wins. */
static int alt_is_ours(json_t *item, unsigned signals)
{
    const char *name = json_string_value(json_object_get(item, "HashName"));
    if (!name)
        return 0;
    return ((signals & PHM_SIG_PDQ) && strcasecmp(name, "PDQ") == 0) ||
           ((signals & PHM_SIG_SHA256) && strcasecmp(name, "SHA256") == 0);
}

/* The AlternativeHashes array: the entry's PDQ and SHA-256, then the
 * publisher's others. Nothing if empty. */
static void put_alternatives(FILE *fp, const phm_entry *e, json_t *theirs)
{
    char hex[PHM_PDQ_HEX_LEN + 1];
    size_t n = 0, i;
    json_t *item;

    if (e->signals & PHM_SIG_PDQ) {
        phm_pdq_to_hex(&e->pdq, hex);
        fprintf(fp, ",\"AlternativeHashes\":[{\"HashName\":\"PDQ\",\"HashValue\":\"%s\"}", hex);
        n++;
    }
    if (e->signals & PHM_SIG_SHA256) {
        fputs(n++ ? ",{" : ",\"AlternativeHashes\":[{", fp);
        fputs("\"HashName\":\"SHA256\",\"HashValue\":\"", fp);
        put_upper_hex(fp, e->sha256, sizeof e->sha256);
        fputs("\"}", fp);
    }
    json_array_foreach(theirs, i, item) {
        if (alt_is_ours(item, e->signals))
            continue;
        fputs(n++ ? "," : ",\"AlternativeHashes\":[", fp);
        json_dumpf(item, fp, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    if (n)
        putc(']', fp);
}

int hl_vics_write_media(FILE *fp, const phm_entry *e, uint64_t seq, char *err, size_t errlen)
{
    json_t *attrs = NULL, *theirs = NULL, *value;
    json_error_t jerr;
    uint64_t id, category;
    const char *key;
    char when[21];

    if (e->photodna && !phm_utf8_valid(e->photodna, strlen(e->photodna)))
        return unrepresentable(err, errlen, "photodna is not valid UTF-8, which vics cannot carry");
    if (e->attrs && e->attrs[0]) {
        attrs = json_loads(e->attrs, JSON_REJECT_DUPLICATES, &jerr);
        if (!attrs)
            return unrepresentable(err, errlen, "attrs is not valid JSON: %s", jerr.text);
        if (!json_is_object(attrs)) {
            json_decref(attrs);
            return unrepresentable(err, errlen, "attrs is not a JSON object");
        }
        theirs = json_object_get(attrs, "AlternativeHashes");
        if (theirs && !json_is_array(theirs)) {
            json_decref(attrs);
            return unrepresentable(err, errlen, "attrs: AlternativeHashes is not an array");
        }
    }

    fputs(seq > 1 ? ",\n" : "\n", fp);
    if (!canonical_uint(e->id, VICS_MEDIA_ID_MAX, &id))
        id = seq;
    fprintf(fp, "{\"MediaID\":%llu", (unsigned long long)id);
    if (canonical_uint(e->category, VICS_CATEGORY_MAX, &category))
        fprintf(fp, ",\"Category\":%llu", (unsigned long long)category);
    if (e->signals & PHM_SIG_MD5) {
        fputs(",\"MD5\":\"", fp);
        put_upper_hex(fp, e->md5, sizeof e->md5);
        putc('"', fp);
    }
    if (e->signals & PHM_SIG_SHA1) {
        fputs(",\"SHA1\":\"", fp);
        put_upper_hex(fp, e->sha1, sizeof e->sha1);
        putc('"', fp);
    }
    if (e->photodna && e->photodna[0])
        put_text(fp, "PhotoDNA", e->photodna);
    put_alternatives(fp, e, theirs);
    json_object_foreach(attrs, key, value) {
        if (is_own_key(key))
            continue;
        put_key(fp, key);
        json_dumpf(value, fp, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    /* Every field of the entry, under phmatch's own annotation. */
    fputs(",\"@phmatch.entry\":{\"source\":", fp);
    phm_json_fwrite(fp, e->source ? e->source : "", e->source ? strlen(e->source) : 0);
    put_text(fp, "id", e->id);
    put_text(fp, "category", e->category);
    put_text(fp, "note", e->note);
    put_key(fp, "quality");
    if (e->quality >= 0)
        fprintf(fp, "%d", e->quality);
    else
        fputs("null", fp);
    put_key(fp, "added");
    if (e->added > 0 && phm_hashlist_format_time(e->added, when) == PHM_OK)
        fprintf(fp, "\"%s\"", when);
    else
        fputs("null", fp);
    fputs("}}", fp);
    json_decref(attrs);
    return ferror(fp) ? PHM_ERR_UNREADABLE : PHM_OK;
}

/* ---------------------------------------------------------------- */
/* The list writer                                                   */

static int writable(phm_hashlist_format fmt)
{
    return (fmt > PHM_HASHLIST_AUTO && fmt <= PHM_HASHLIST_VPDQ) || fmt == PHM_HASHLIST_VICS;
}

int phm_hashlist_writer_new(phm_hashlist_writer **out, FILE *fp, phm_hashlist_format fmt,
                            char *err, size_t errlen)
{
    phm_hashlist_writer *w;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (out)
        *out = NULL;
    if (!out || !fp || !writable(fmt)) {
        if (err && errlen)
            snprintf(err, errlen, "cannot write hash list: invalid argument");
        return PHM_ERR_INVALID;
    }
    w = calloc(1, sizeof *w);
    if (!w) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return PHM_ERR_NOMEM;
    }
    w->fp = fp;
    w->fmt = fmt;
    if (fmt == PHM_HASHLIST_VICS) {
        fputs("{\"@odata.context\":\"" PHM_VICS_MEDIA_CONTEXT "\",\"value\":[", fp);
        rc = ferror(fp) ? PHM_ERR_UNREADABLE : PHM_OK;
    } else {
        rc = phm_hashlist_write_header(fp, fmt);
    }
    if (rc != PHM_OK) {
        if (err && errlen)
            snprintf(err, errlen, "cannot write hash list: write error");
        free(w);
        return rc;
    }
    *out = w;
    return PHM_OK;
}

int phm_hashlist_writer_write(phm_hashlist_writer *w, const phm_entry *e, char *err,
                              size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!w || !e || w->finished)
        return PHM_ERR_INVALID;
    int rc = hl_write_record(w->fp, w->fmt, e, w->count + 1, err, errlen);
    if (rc == PHM_OK)
        w->count++;
    return rc;
}

int phm_hashlist_writer_finish(phm_hashlist_writer *w)
{
    if (!w || w->finished)
        return PHM_ERR_INVALID;
    w->finished = 1;
    if (w->fmt == PHM_HASHLIST_VICS)
        fputs("\n]}\n", w->fp);
    return ferror(w->fp) ? PHM_ERR_UNREADABLE : PHM_OK;
}

uint64_t phm_hashlist_writer_count(const phm_hashlist_writer *w)
{
    return w ? w->count : 0;
}

void phm_hashlist_writer_free(phm_hashlist_writer *w)
{
    free(w);
}
