/* hashlist_write.c - the hash-list writers: phm_entry to pdq, hex, hma,
 * csv, tsv, jsonl and vPDQ text (docs/HASHLISTS.md). Text goes through the
 * library's one policy (phm_json_fwrite, phm_utf8_valid, phm_csv_fwrite,
 * phm_tsv_fwrite). */
#include "hashlist_internal.h"

#include <string.h>

#define SIG_HASHES (PHM_SIG_PDQ | PHM_SIG_MD5 | PHM_SIG_SHA1 | PHM_SIG_SHA256)

static const char *const column_order[] = {
    "hash", "quality", "source", "id", "category", "note", "added", "md5", "sha1", "sha256",
};

int phm_hashlist_write_header(FILE *fp, phm_hashlist_format fmt)
{
    if (!fp || fmt <= PHM_HASHLIST_AUTO || fmt > PHM_HASHLIST_VPDQ)
        return PHM_ERR_INVALID;
    if (fmt != PHM_HASHLIST_CSV && fmt != PHM_HASHLIST_TSV)
        return PHM_OK;
    for (size_t i = 0; i < sizeof column_order / sizeof column_order[0]; i++) {
        if (i)
            putc(fmt == PHM_HASHLIST_CSV ? ',' : '\t', fp);
        fputs(column_order[i], fp);
    }
    putc('\n', fp);
    return ferror(fp) ? PHM_ERR_UNREADABLE : PHM_OK;
}

static void put_hex_bytes(FILE *fp, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        putc(phm_hex_digits[b[i] >> 4], fp);
        putc(phm_hex_digits[b[i] & 15], fp);
    }
}

static const uint8_t *digest_of(const phm_entry *e, size_t which)
{
    return which == 0 ? e->md5 : which == 1 ? e->sha1 : e->sha256;
}

int unrepresentable(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return PHM_ERR_UNSUPPORTED;
}

/* A video's frames as vPDQ lines: the file (vpdq) or, without newlines,
 * the strings of a jsonl "vpdq" array. */
static void put_frames(FILE *fp, const phm_entry *e, int json)
{
    char vl[PHM_VPDQ_LINE_MAX];
    for (size_t i = 0; i < e->nframes; i++) {
        size_t n = phm_vpdq_format_frame(&e->frames[i], vl);
        if (!json) {
            fwrite(vl, 1, n, fp);
            continue;
        }
        if (i)
            putc(',', fp);
        putc('"', fp);
        fwrite(vl, 1, n - 1, fp); /* no newline; nothing to escape */
        putc('"', fp);
    }
}

int hl_write_record(FILE *fp, phm_hashlist_format fmt, const phm_entry *e, uint64_t seq,
                    char *err, size_t errlen)
{
    const char *strs[4], *names[4] = { "source", "id", "category", "note" };
    static const size_t maxes[4] = { PHM_HASHLIST_SOURCE_MAX, PHM_HASHLIST_ID_MAX,
                                     PHM_HASHLIST_CATEGORY_MAX, PHM_HASHLIST_NOTE_MAX };
    size_t lens[4];
    char hex[PHM_PDQ_HEX_LEN + 1], when[21];

    if (err && errlen)
        err[0] = '\0';
    if (!fp || !e || fmt <= PHM_HASHLIST_AUTO || fmt > PHM_HASHLIST_VICS)
        return PHM_ERR_INVALID;
    strs[0] = e->source;
    strs[1] = e->id;
    strs[2] = e->category;
    strs[3] = e->note;
    for (int i = 0; i < 4; i++) {
        if (!strs[i])
            strs[i] = "";
        lens[i] = strnlen(strs[i], maxes[i] + 1);
        if (lens[i] > maxes[i])
            return unrepresentable(err, errlen, "%s is longer than %zu bytes", names[i],
                                   maxes[i]);
        if ((fmt == PHM_HASHLIST_JSONL || fmt == PHM_HASHLIST_VICS) &&
            !phm_utf8_valid(strs[i], lens[i]))
            return unrepresentable(err, errlen,
                                   "%s is not valid UTF-8, which %s cannot carry",
                                   names[i], phm_hashlist_format_name(fmt));
    }
    if (e->signals & PHM_SIG_VPDQ) {
        if (fmt != PHM_HASHLIST_JSONL && fmt != PHM_HASHLIST_VPDQ)
            return unrepresentable(err, errlen,
                                   "a video's frames, which %s cannot carry "
                                   "(jsonl or vPDQ files can)",
                                   phm_hashlist_format_name(fmt));
        if (!e->frames || !e->nframes || (e->signals & PHM_SIG_PDQ))
            return unrepresentable(err, errlen, "a video needs frames and no pdq hash");
    } else if (fmt == PHM_HASHLIST_VPDQ) {
        return unrepresentable(err, errlen, "not a video, which vpdq cannot carry");
    } else if (!(e->signals & SIG_HASHES)) {
        return unrepresentable(err, errlen, "the record has no hash (pdq, md5, sha1 or sha256)");
    }
    if (!(e->signals & PHM_SIG_PDQ) &&
        (fmt == PHM_HASHLIST_PDQ || fmt == PHM_HASHLIST_HEX || fmt == PHM_HASHLIST_HMA))
        return unrepresentable(err, errlen, "the record has no pdq hash, which %s needs",
                               phm_hashlist_format_name(fmt));
    if (e->quality < -1 || e->quality > 100)
        return unrepresentable(err, errlen, "quality %d is out of range 0..100", e->quality);
    if (fmt == PHM_HASHLIST_JSONL) {
        /* photodna and attrs, as index entries hold them: text without
         * control bytes, attrs one JSON object */
        const char *x[2] = { e->photodna, e->attrs };
        static const size_t xmax[2] = { PHM_INDEX_MAX_PHOTODNA, PHM_INDEX_MAX_ATTRS };
        for (int i = 0; i < 2; i++) {
            size_t n = x[i] ? strnlen(x[i], xmax[i] + 1) : 0;
            int ok = n <= xmax[i] && phm_utf8_valid(x[i] ? x[i] : "", n) &&
                     (i == 0 || n == 0 || (x[i][0] == '{' && x[i][n - 1] == '}'));
            for (size_t k = 0; ok && k < n; k++)
                ok = (unsigned char)x[i][k] >= 0x20 && x[i][k] != 0x7f;
            if (!ok)
                return unrepresentable(err, errlen, "%s is not what an index entry holds",
                                       i ? "attrs" : "photodna");
        }
    }
    if (e->nvariants > PHM_INDEX_MAX_VARIANTS)
        return unrepresentable(err, errlen, "more than %d stored variants",
                               PHM_INDEX_MAX_VARIANTS);
    for (size_t i = 0; i < e->nvariants && (e->signals & PHM_SIG_PDQ); i++)
        if (!phm_known_variant_name(e->variants[i].code))
            return unrepresentable(err, errlen, "stored variant %zu has an unknown code",
                                   i + 1);
    if (e->added < 0 || e->added > PHM_HASHLIST_TIME_MAX)
        return unrepresentable(err, errlen, "added time %lld is out of range",
                               (long long)e->added);

    phm_pdq_to_hex(&e->pdq, hex);
    when[0] = '\0';
    if (e->added)
        phm_hashlist_format_time(e->added, when);

    switch (fmt) {
    case PHM_HASHLIST_PDQ:
        fputs(hex, fp);
        putc(',', fp);
        if (e->quality >= 0)
            fprintf(fp, "%d", e->quality);
        putc(',', fp);
        phm_pdq_name_fwrite(fp, strs[1], lens[1]); /* the caller checks ferror */
        break;
    case PHM_HASHLIST_HEX:
        fputs(hex, fp);
        break;
    case PHM_HASHLIST_HMA:
        fputs("pdq ", fp);
        fputs(hex, fp);
        break;
    case PHM_HASHLIST_CSV:
    case PHM_HASHLIST_TSV: {
        int sep = fmt == PHM_HASHLIST_CSV ? ',' : '\t';
        int (*put)(FILE *, const void *, size_t) =
            fmt == PHM_HASHLIST_CSV ? phm_csv_fwrite : phm_tsv_fwrite;
        if (e->signals & PHM_SIG_PDQ)
            fputs(hex, fp);
        putc(sep, fp);
        if (e->quality >= 0)
            fprintf(fp, "%d", e->quality);
        for (int i = 0; i < 4; i++) {
            putc(sep, fp);
            put(fp, strs[i], lens[i]);
        }
        putc(sep, fp);
        fputs(when, fp);
        for (size_t d = 0; d < HL_NDIGESTS; d++) {
            putc(sep, fp);
            if (e->signals & hl_digests[d].sig)
                put_hex_bytes(fp, digest_of(e, d), hl_digests[d].size);
        }
        break;
    }
    case PHM_HASHLIST_JSONL:
        if (e->signals & PHM_SIG_PDQ)
            fprintf(fp, "{\"hash\":\"%s\",\"quality\":", hex);
        else
            fputs("{\"hash\":null,\"quality\":", fp);
        if (e->quality >= 0)
            fprintf(fp, "%d", e->quality);
        else
            fputs("null", fp);
        for (int i = 0; i < 4; i++) {
            fprintf(fp, ",\"%s\":", names[i]);
            phm_json_fwrite(fp, strs[i], lens[i]); /* valid UTF-8: lossless */
        }
        fputs(",\"added\":", fp);
        if (e->added)
            fprintf(fp, "\"%s\"", when);
        else
            fputs("null", fp);
        for (size_t d = 0; d < HL_NDIGESTS; d++) {
            fprintf(fp, ",\"%s\":", hl_digests[d].name);
            if (e->signals & hl_digests[d].sig) {
                putc('"', fp);
                put_hex_bytes(fp, digest_of(e, d), hl_digests[d].size);
                putc('"', fp);
            } else {
                fputs("null", fp);
            }
        }
        if (e->photodna && e->photodna[0]) {
            fputs(",\"photodna\":", fp);
            phm_json_fwrite(fp, e->photodna, strlen(e->photodna));
        }
        if (e->attrs && e->attrs[0]) {
            fputs(",\"attrs\":", fp);
            fputs(e->attrs, fp); /* the text of one JSON object */
        }
        if ((e->signals & PHM_SIG_PDQ) && e->nvariants) {
            /* stored variants: {"name":"hash",...}, as the entry holds them */
            fputs(",\"variants\":{", fp);
            for (size_t i = 0; i < e->nvariants; i++) {
                char vh[PHM_PDQ_HEX_LEN + 1];
                phm_pdq_to_hex(&e->variants[i].pdq, vh);
                fprintf(fp, "%s\"%s\":\"%s\"", i ? "," : "",
                        phm_known_variant_name(e->variants[i].code), vh);
            }
            putc('}', fp);
        }
        if (e->signals & PHM_SIG_VPDQ) {
            fputs(",\"vpdq\":[", fp);
            put_frames(fp, e, 1);
            putc(']', fp);
        }
        putc('}', fp);
        break;
    case PHM_HASHLIST_VPDQ:
        put_frames(fp, e, 0);
        return ferror(fp) ? PHM_ERR_UNREADABLE : PHM_OK; /* lines end in LF */
    case PHM_HASHLIST_VICS: /* one Media object; the writer separates them */
        return hl_vics_write_media(fp, e, seq, err, errlen);
    default:
        return PHM_ERR_INVALID;
    }
    putc('\n', fp);
    return ferror(fp) ? PHM_ERR_UNREADABLE : PHM_OK;
}

int phm_hashlist_write(FILE *fp, phm_hashlist_format fmt, const phm_entry *e, char *err,
                       size_t errlen)
{
    if (fmt == PHM_HASHLIST_VICS) /* needs a writer: separators, numbers */
        return PHM_ERR_INVALID;
    return hl_write_record(fp, fmt, e, 0, err, errlen);
}
