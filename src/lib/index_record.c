/* index_record.c - entry records: validation, the byte layout stored in
 * the "entries" table (docs/INDEX_FORMAT.md), and the keys built from
 * entry fields. A record read back is checked in full before any field is
 * used: a damaged file gives PHM_ERR_CORRUPT, never a wild read. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "index_internal.h"

size_t rec_digest_len(unsigned sig)
{
    switch (sig) {
    case PHM_SIG_MD5:
        return 16;
    case PHM_SIG_SHA1:
        return 20;
    case PHM_SIG_SHA256:
        return 32;
    }
    return 0;
}

int rec_digest_type(unsigned sig)
{
    switch (sig) {
    case PHM_SIG_MD5:
        return IDX_SIG_MD5;
    case PHM_SIG_SHA1:
        return IDX_SIG_SHA1;
    case PHM_SIG_SHA256:
        return IDX_SIG_SHA256;
    }
    return 0;
}

const uint8_t *rec_digest_of(const phm_entry *e, unsigned sig)
{
    switch (sig) {
    case PHM_SIG_MD5:
        return e->md5;
    case PHM_SIG_SHA1:
        return e->sha1;
    case PHM_SIG_SHA256:
        return e->sha256;
    }
    return NULL;
}

static const unsigned digest_sigs[3] = { PHM_SIG_MD5, PHM_SIG_SHA1, PHM_SIG_SHA256 };
#define ALL_SIGS \
    (PHM_SIG_PDQ | PHM_SIG_MD5 | PHM_SIG_SHA1 | PHM_SIG_SHA256 | PHM_SIG_VPDQ)

/* Length of s if it is at most max bytes without control characters,
 * else -1. NULL counts as "". */
static long check_text(const char *s, size_t max)
{
    if (!s)
        return 0;
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c < 0x20 || c == 0x7f || n >= max)
            return -1;
    }
    return (long)n;
}

int rec_validate(const phm_entry *e, char *err, size_t errlen)
{
    static const struct {
        size_t off, max;
        int required;
        const char *name;
    } fields[] = {
        { offsetof(phm_entry, source), PHM_INDEX_MAX_SOURCE, 1, "source" },
        { offsetof(phm_entry, id), PHM_INDEX_MAX_ID, 1, "id" },
        { offsetof(phm_entry, category), PHM_INDEX_MAX_CATEGORY, 0, "category" },
        { offsetof(phm_entry, note), PHM_INDEX_MAX_NOTE, 0, "note" },
    };
    if (!e) {
        snprintf(err, errlen, "invalid entry: NULL");
        return PHM_ERR_INVALID;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *s = *(const char *const *)(const void *)((const char *)e + fields[i].off);
        long n = check_text(s, fields[i].max);
        if (n < 0 || (fields[i].required && n == 0)) {
            char who[PHM_INDEX_MAX_SOURCE + PHM_INDEX_MAX_ID + 8] = "";
            if (i >= 2) /* source and id are sound: name the entry */
                snprintf(who, sizeof who, " '%s:%s'", e->source, e->id);
            if (n < 0)
                snprintf(err, errlen,
                         "invalid entry%s: %s is longer than %zu bytes or holds "
                         "control characters", who, fields[i].name, fields[i].max);
            else
                snprintf(err, errlen, "invalid entry%s: %s is empty", who,
                         fields[i].name);
            return PHM_ERR_INVALID;
        }
    }
    if (!(e->signals & ALL_SIGS) || (e->signals & ~(unsigned)ALL_SIGS)) {
        snprintf(err, errlen, "invalid entry '%s:%s': %s", e->source, e->id,
                 e->signals & ~(unsigned)ALL_SIGS ? "unknown signal bits"
                                                  : "no PDQ hash or digest");
        return PHM_ERR_INVALID;
    }
    if ((e->signals & PHM_SIG_VPDQ) && (e->signals & PHM_SIG_PDQ)) {
        snprintf(err, errlen, "invalid entry '%s:%s': a video has no PDQ hash of "
                 "its own", e->source, e->id);
        return PHM_ERR_INVALID;
    }
    if ((e->signals & PHM_SIG_VPDQ) && vid_validate(e, err, errlen))
        return PHM_ERR_INVALID;
    if (e->photodna && e->photodna[0]) {
        size_t n = strlen(e->photodna);
        int hex = n == 288, b64 = n == 192;
        for (size_t i = 0; i < n && (hex || b64); i++) {
            unsigned char c = (unsigned char)e->photodna[i];
            hex = hex && phm_hex_value(c) >= 0;
            b64 = b64 && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '+' || c == '/');
        }
        if (!hex && !b64) {
            snprintf(err, errlen, "invalid entry '%s:%s': photodna is not 192 base64 "
                     "characters or 288 hex digits", e->source, e->id);
            return PHM_ERR_INVALID;
        }
    }
    if (e->attrs && e->attrs[0]) {
        long n = check_text(e->attrs, PHM_INDEX_MAX_ATTRS);
        json_t *o = n > 0 && n <= PHM_INDEX_MAX_ATTRS
                        ? json_loadb(e->attrs, (size_t)n, JSON_REJECT_DUPLICATES, NULL)
                        : NULL;
        int ok = json_is_object(o);
        json_decref(o);
        if (!ok) {
            snprintf(err, errlen, "invalid entry '%s:%s': attrs is not one JSON object "
                     "of at most %d bytes without control characters", e->source, e->id,
                     PHM_INDEX_MAX_ATTRS);
            return PHM_ERR_INVALID;
        }
    }
    if (e->nvariants > PHM_INDEX_MAX_VARIANTS ||
        (e->nvariants && !(e->signals & PHM_SIG_PDQ))) {
        snprintf(err, errlen, "invalid entry '%s:%s': %s", e->source, e->id,
                 e->nvariants > PHM_INDEX_MAX_VARIANTS
                     ? "more stored variants than PHM_INDEX_MAX_VARIANTS"
                     : "stored variants without a PDQ hash of its own");
        return PHM_ERR_INVALID;
    }
    for (size_t i = 0; i < e->nvariants; i++) {
        const phm_entry_variant *v = &e->variants[i];
        const char *why = NULL;
        if (!phm_known_variant_name(v->code))
            why = "has an unknown code";
        else if (memcmp(&v->pdq, &e->pdq, sizeof v->pdq) == 0)
            why = "has the entry's own hash";
        for (size_t j = 0; j < i && !why; j++) {
            if (e->variants[j].code == v->code)
                why = "is given twice";
            else if (memcmp(&e->variants[j].pdq, &v->pdq, sizeof v->pdq) == 0)
                why = "has the hash of another variant";
        }
        if (why) {
            const char *name = phm_known_variant_name(v->code);
            snprintf(err, errlen, "invalid entry '%s:%s': variant %zu (%s) %s", e->source,
                     e->id, i + 1, name ? name : "?", why);
            return PHM_ERR_INVALID;
        }
    }
    if (e->quality < -1 || e->quality > 100) {
        snprintf(err, errlen, "invalid entry '%s:%s': quality %d is not -1 or 0..100",
                 e->source, e->id, e->quality);
        return PHM_ERR_INVALID;
    }
    return PHM_OK;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static size_t put_text(uint8_t *p, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put16(p, (uint16_t)n);
    if (n)
        memcpy(p + 2, s, n);
    p[2 + n] = 0;
    return 3 + n;
}

size_t rec_encode(const phm_entry *e, int64_t added, uint8_t *buf)
{
    uint8_t digests = 0;
    for (unsigned i = 0; i < 3; i++)
        if (e->signals & digest_sigs[i])
            digests = (uint8_t)(digests | (1u << i));
    int extra = (e->photodna && e->photodna[0]) || (e->attrs && e->attrs[0]);
    int variants = (e->signals & PHM_SIG_PDQ) && e->nvariants;
    buf[0] = variants ? REC_VERSION_VARIANTS : extra ? REC_VERSION_EXTRA : REC_VERSION;
    buf[1] = (e->signals & PHM_SIG_PDQ) ? REC_FLAG_PDQ
             : (e->signals & PHM_SIG_VPDQ) ? REC_FLAG_VPDQ : 0;
    buf[2] = digests;
    buf[3] = 0;
    put16(buf + 4, (uint16_t)(int16_t)e->quality);
    put16(buf + 6, 0);
    put64(buf + REC_ADDED_OFFSET, (uint64_t)added);
    size_t n = REC_HEADER;
    if (e->signals & PHM_SIG_PDQ) {
        for (int w = 0; w < 4; w++)
            put64(buf + n + 8 * w, e->pdq.w[w]);
        n += 32;
    } else if (e->signals & PHM_SIG_VPDQ) {
        put64(buf + n, (uint64_t)e->nframes); /* u32 frames, u32 0 */
        n += 8;
    }
    for (unsigned i = 0; i < 3; i++) {
        if (e->signals & digest_sigs[i]) {
            size_t len = rec_digest_len(digest_sigs[i]);
            memcpy(buf + n, rec_digest_of(e, digest_sigs[i]), len);
            n += len;
        }
    }
    n += put_text(buf + n, e->source);
    n += put_text(buf + n, e->id);
    n += put_text(buf + n, e->category);
    n += put_text(buf + n, e->note);
    if (extra || variants) {
        n += put_text(buf + n, e->photodna);
        n += put_text(buf + n, e->attrs);
    }
    if (variants) {
        buf[n++] = (uint8_t)e->nvariants;
        for (size_t i = 0; i < e->nvariants; i++) {
            buf[n] = (uint8_t)e->variants[i].code;
            for (int w = 0; w < 4; w++)
                put64(buf + n + 1 + 8 * w, e->variants[i].pdq.w[w]);
            n += REC_VARIANT_BYTES;
        }
    }
    return n;
}

/* Reads a length-prefixed, NUL-terminated string at *pos. */
static int get_text(const uint8_t *p, size_t len, size_t *pos, size_t max,
                    const char **out)
{
    if (len - *pos < 3)
        return -1;
    size_t n = get16(p + *pos);
    if (n > max || len - *pos - 2 < n + 1 || p[*pos + 2 + n] != 0 ||
        memchr(p + *pos + 2, 0, n))
        return -1;
    *out = (const char *)(p + *pos + 2);
    *pos += 3 + n;
    return 0;
}

int rec_decode_legacy(const void *rec, size_t len, phm_entry *out)
{
    const uint8_t *p = rec;
    memset(out, 0, sizeof *out);
    if (len < REC_HEADER ||
        (p[0] != REC_VERSION && p[0] != REC_VERSION_EXTRA && p[0] != REC_VERSION_VARIANTS) ||
        (p[1] != 0 && p[1] != REC_FLAG_PDQ && p[1] != REC_FLAG_VPDQ) ||
        (p[2] & ~7u) || p[3] || get16(p + 6))
        return PHM_ERR_CORRUPT;
    int quality = (int16_t)get16(p + 4);
    if (quality < -1 || quality > 100)
        return PHM_ERR_CORRUPT;
    out->quality = quality;
    out->added = (int64_t)get64(p + REC_ADDED_OFFSET);
    size_t pos = REC_HEADER;
    if (p[1] & REC_FLAG_PDQ) {
        if (len - pos < 32)
            return PHM_ERR_CORRUPT;
        for (int w = 0; w < 4; w++)
            out->pdq.w[w] = get64(p + pos + 8 * w);
        out->signals |= PHM_SIG_PDQ;
        pos += 32;
    } else if (p[1] & REC_FLAG_VPDQ) {
        if (len - pos < 8)
            return PHM_ERR_CORRUPT;
        uint64_t nf = get64(p + pos);
        if (nf == 0 || nf > PHM_INDEX_MAX_VIDEO_FRAMES)
            return PHM_ERR_CORRUPT;
        out->nframes = (size_t)nf;
        out->signals |= PHM_SIG_VPDQ;
        pos += 8;
    }
    for (unsigned i = 0; i < 3; i++) {
        if (p[2] & (1u << i)) {
            size_t dl = rec_digest_len(digest_sigs[i]);
            if (len - pos < dl)
                return PHM_ERR_CORRUPT;
            memcpy((uint8_t *)rec_digest_of(out, digest_sigs[i]), p + pos, dl);
            out->signals |= digest_sigs[i];
            pos += dl;
        }
    }
    if (get_text(p, len, &pos, PHM_INDEX_MAX_SOURCE, &out->source) ||
        get_text(p, len, &pos, PHM_INDEX_MAX_ID, &out->id) ||
        get_text(p, len, &pos, PHM_INDEX_MAX_CATEGORY, &out->category) ||
        get_text(p, len, &pos, PHM_INDEX_MAX_NOTE, &out->note))
        return PHM_ERR_CORRUPT;
    if (p[0] != REC_VERSION) {
        if (get_text(p, len, &pos, PHM_INDEX_MAX_PHOTODNA, &out->photodna) ||
            get_text(p, len, &pos, PHM_INDEX_MAX_ATTRS, &out->attrs) ||
            (p[0] == REC_VERSION_EXTRA && !out->photodna[0] && !out->attrs[0]))
            return PHM_ERR_CORRUPT;
        if (!out->photodna[0])
            out->photodna = NULL;
        if (!out->attrs[0])
            out->attrs = NULL;
    }
    if (p[0] == REC_VERSION_VARIANTS) {
        if (!(out->signals & PHM_SIG_PDQ) || pos == len)
            return PHM_ERR_CORRUPT;
        size_t nv = p[pos++];
        if (nv == 0 || nv > PHM_INDEX_MAX_VARIANTS || (len - pos) / REC_VARIANT_BYTES < nv)
            return PHM_ERR_CORRUPT;
        for (size_t i = 0; i < nv; i++, pos += REC_VARIANT_BYTES) {
            phm_entry_variant *v = &out->variants[i];
            v->code = p[pos];
            for (int w = 0; w < 4; w++)
                v->pdq.w[w] = get64(p + pos + 1 + 8 * w);
            if (!phm_known_variant_name(v->code) ||
                memcmp(&v->pdq, &out->pdq, sizeof v->pdq) == 0)
                return PHM_ERR_CORRUPT;
            for (size_t j = 0; j < i; j++)
                if (out->variants[j].code == v->code ||
                    memcmp(&out->variants[j].pdq, &v->pdq, sizeof v->pdq) == 0)
                    return PHM_ERR_CORRUPT;
        }
        out->nvariants = nv;
    }
    if (pos != len ||
        !out->signals || !out->source[0] || !out->id[0])
        return PHM_ERR_CORRUPT;
    return PHM_OK;
}

size_t rec_key(const char *source, const char *id, uint8_t *buf)
{
    size_t a = strlen(source), b = strlen(id);
    memcpy(buf, source, a);
    buf[a] = 0;
    memcpy(buf + a + 1, id, b);
    return a + 1 + b;
}

size_t rec_group_key(const char *source, const char *category, uint8_t *buf)
{
    return rec_key(source, category ? category : "", buf);
}

int rec_same(const void *a, size_t alen, const void *b, size_t blen)
{
    const uint8_t *x = a, *y = b;
    return alen == blen && alen >= REC_HEADER &&
           memcmp(x, y, REC_ADDED_OFFSET) == 0 &&
           memcmp(x + REC_HEADER, y + REC_HEADER, alen - REC_HEADER) == 0;
}

size_t rec_slots(const phm_entry *e, phm_pdq *out)
{
    out[0] = e->pdq;
    for (size_t i = 0; i < e->nvariants; i++)
        out[1 + i] = e->variants[i].pdq;
    return 1 + e->nvariants;
}

/* ---- stored variants (phmatch.h, PHM_KV_*) ------------------------ */

static const char *const variant_names[PHM_KV_COUNT] = {
    [PHM_KV_CROP5_C] = "crop5-c",        [PHM_KV_CROP10_C] = "crop10-c",
    [PHM_KV_CROP15_C] = "crop15-c",      [PHM_KV_CROP20_C] = "crop20-c",
    [PHM_KV_CROP10_TL] = "crop10-tl",    [PHM_KV_CROP10_TR] = "crop10-tr",
    [PHM_KV_CROP10_BL] = "crop10-bl",    [PHM_KV_CROP10_BR] = "crop10-br",
    [PHM_KV_ROT_P3] = "rot+3",           [PHM_KV_ROT_M3] = "rot-3",
    [PHM_KV_ROT_P5] = "rot+5",           [PHM_KV_ROT_M5] = "rot-5",
    [PHM_KV_ROT_P3_CROP] = "rot+3-crop", [PHM_KV_ROT_M3_CROP] = "rot-3-crop",
    [PHM_KV_ROT_P5_CROP] = "rot+5-crop", [PHM_KV_ROT_M5_CROP] = "rot-5-crop",
    [PHM_KV_CROP20_TL] = "crop20-tl",    [PHM_KV_CROP20_TR] = "crop20-tr",
    [PHM_KV_CROP20_BL] = "crop20-bl",    [PHM_KV_CROP20_BR] = "crop20-br",
    [PHM_KV_CROP5_TL] = "crop5-tl",      [PHM_KV_CROP5_TR] = "crop5-tr",
    [PHM_KV_CROP5_BL] = "crop5-bl",      [PHM_KV_CROP5_BR] = "crop5-br",
    [PHM_KV_CROP15_TL] = "crop15-tl",    [PHM_KV_CROP15_TR] = "crop15-tr",
    [PHM_KV_CROP15_BL] = "crop15-bl",    [PHM_KV_CROP15_BR] = "crop15-br",
    [PHM_KV_GAMMA_UP] = "gamma-up",      [PHM_KV_GAMMA_DOWN] = "gamma-down",
    [PHM_KV_BLUR] = "blur",              [PHM_KV_DOWN25] = "down25",
    [PHM_KV_CROP8_TL] = "crop8-tl",      [PHM_KV_CROP8_TR] = "crop8-tr",
    [PHM_KV_CROP8_BL] = "crop8-bl",      [PHM_KV_CROP8_BR] = "crop8-br",
};

const char *phm_known_variant_name(int code)
{
    return code > 0 && code < PHM_KV_COUNT ? variant_names[code] : NULL;
}

int phm_known_variant_code(const char *name)
{
    for (int c = 1; name && c < PHM_KV_COUNT; c++)
        if (strcmp(variant_names[c], name) == 0)
            return c;
    return 0;
}

const char *phm_entry_known_variant(const phm_entry *e, const phm_pdq *query,
                                    int *distance)
{
    if (distance)
        *distance = -1;
    if (!e || !query || !(e->signals & PHM_SIG_PDQ))
        return NULL;
    int best = phm_pdq_distance(&e->pdq, query);
    const char *name = NULL;
    for (size_t i = 0; i < e->nvariants && i < PHM_INDEX_MAX_VARIANTS; i++) {
        int d = phm_pdq_distance(&e->variants[i].pdq, query);
        if (d < best) {
            best = d;
            name = phm_known_variant_name(e->variants[i].code);
        }
    }
    if (distance)
        *distance = best;
    return name;
}

/* Format 5 keeps the record versions of format 4 until the compact record
 * replaces them; the upgrade reads old files through rec_decode_legacy. */
int rec_decode(const void *rec, size_t len, phm_entry *out)
{
    return rec_decode_legacy(rec, len, out);
}
