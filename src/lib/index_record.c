/* index_record.c - entry records: validation, the byte layout stored in
 * the "entries" table (docs/INDEX_FORMAT.md), and the keys built from
 * entry fields. A record read back is checked in full before any field is
 * used: a damaged file gives PHM_ERR_CORRUPT, never a wild read. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "decimal.h"
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
/* Their flag bits in a version-4 record. */
static const unsigned dflags[3] = { REC_F_MD5, REC_F_SHA1, REC_F_SHA256 };

/* Reads the digests whose bits (bit i: digest_sigs[i]) are in `present`
 * from p at *pos into out, in that order: both record versions store them
 * alike. Returns 0, or -1 if the record ends first. */
static int get_digests(const uint8_t *p, size_t len, size_t *pos, unsigned present,
                       phm_entry *out)
{
    for (unsigned i = 0; i < 3; i++) {
        if (!(present & (1u << i)))
            continue;
        size_t dl = rec_digest_len(digest_sigs[i]);
        if (len - *pos < dl)
            return -1;
        memcpy((uint8_t *)rec_digest_of(out, digest_sigs[i]), p + *pos, dl);
        out->signals |= digest_sigs[i];
        *pos += dl;
    }
    return 0;
}
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

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
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
    out->added = (int64_t)idx_u64_le(p + REC_ADDED_OFFSET);
    size_t pos = REC_HEADER;
    if (p[1] & REC_FLAG_PDQ) {
        if (len - pos < 32)
            return PHM_ERR_CORRUPT;
        for (int w = 0; w < 4; w++)
            out->pdq.w[w] = idx_u64_le(p + pos + 8 * w);
        out->signals |= PHM_SIG_PDQ;
        pos += 32;
    } else if (p[1] & REC_FLAG_VPDQ) {
        if (len - pos < 8)
            return PHM_ERR_CORRUPT;
        uint64_t nf = idx_u64_le(p + pos);
        if (nf == 0 || nf > PHM_INDEX_MAX_VIDEO_FRAMES)
            return PHM_ERR_CORRUPT;
        out->nframes = (size_t)nf;
        out->signals |= PHM_SIG_VPDQ;
        pos += 8;
    }
    if (get_digests(p, len, &pos, p[2], out))
        return PHM_ERR_CORRUPT;
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
                v->pdq.w[w] = idx_u64_le(p + pos + 1 + 8 * w);
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
    [PHM_KV_LB_10] = "letterbox10",      [PHM_KV_PB_10] = "pillarbox10",
    [PHM_KV_LB_20] = "letterbox20",      [PHM_KV_PB_20] = "pillarbox20",
    [PHM_KV_LB_BLUR10] = "letterbox10-blur", [PHM_KV_PB_BLUR10] = "pillarbox10-blur",
    /* caption cuts (wt-edits) */
    [PHM_KV_ED_CUT_BOTTOM] = "cut-bottom", [PHM_KV_ED_CUT_TOP] = "cut-top",
    [PHM_KV_ED_SOFT] = "soft",
    /* re-uploads of busy images (wt-busy) */
    [PHM_KV_BUSY_JPEG30] = "jpeg30",     [PHM_KV_BUSY_DOWN50] = "down50",
    [PHM_KV_BUSY_MIRROR] = "mirror",     [PHM_KV_BUSY_ROT90] = "rot90",
    [PHM_KV_ED_CUT_MIDDLE] = "cut-middle", /* wt-shot */
    [PHM_KV_TRIM_WHITE] = "trim-white",  [PHM_KV_TRIM_BLACK] = "trim-black", /* wt-shot3 */
    [PHM_KV_SOFT_CROP8_TL] = "soft-crop8-tl", [PHM_KV_SOFT_CROP8_TR] = "soft-crop8-tr",
    [PHM_KV_SOFT_CROP8_BL] = "soft-crop8-bl", [PHM_KV_SOFT_CROP8_BR] = "soft-crop8-br",
    [PHM_KV_TRIM_WHITE_THIN] = "trim-white-thin", /* wt-shotgfx */
    [PHM_KV_TRIM_BLACK_THIN] = "trim-black-thin",
    [PHM_KV_TRIM_LB_BLACK] = "trim-lbox-black", [PHM_KV_TRIM_LB_WHITE] = "trim-lbox-white", /* wt-lbox2 */
    [PHM_KV_TRIM_PB_BLACK] = "trim-pbox-black", [PHM_KV_TRIM_PB_WHITE] = "trim-pbox-white",
    [PHM_KV_AREA64] = "area64", /* wt-small */
    [PHM_KV_AREA64_TRIM] = "area64-trim", [PHM_KV_AREA64_TRIM_THIN] = "area64-trim-thin",
    [PHM_KV_ROT_P5_GROWN] = "rot+5-grown", [PHM_KV_ROT_M5_GROWN] = "rot-5-grown",
    [PHM_KV_ROT_P3_GROWN] = "rot+3-grown", [PHM_KV_ROT_M3_GROWN] = "rot-3-grown",
    [PHM_KV_FLAT_WHITE] = "flat-white",  [PHM_KV_FLAT_BLACK] = "flat-black", /* session 28 */
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

int phm_soft_kind(int code)
{
    return code == PHM_KV_ED_SOFT ||
           (code >= PHM_KV_SOFT_CROP8_TL && code <= PHM_KV_SOFT_CROP8_BR);
}

int phm_area_kind(int code)
{
    return code >= PHM_KV_AREA64 && code <= PHM_KV_AREA64_TRIM_THIN;
}

int phm__crop_kind(int code)
{
    return (code >= PHM_KV_CROP5_C && code <= PHM_KV_CROP10_BR) ||
           (code >= PHM_KV_CROP20_TL && code <= PHM_KV_CROP15_BR) ||
           (code >= PHM_KV_CROP8_TL && code <= PHM_KV_CROP8_BR);
}

int phm_fill_kind(int code)
{
    return code == PHM_KV_ROT_P3 || code == PHM_KV_ROT_M3 || code == PHM_KV_ROT_P5 ||
           code == PHM_KV_ROT_M5;
}

/* Whether a query hash other than a soft or area64 one leaves variant
 * `code`, d bits from it, out: a soft or area64 hash always (each answers
 * a query's hash of its kind only); a rotation on a filled canvas when it is not nearer than
 * fill_below, the distance of the query's own rotation corners alone
 * (0 when they make its hash: phm_match_options.calm_corners and
 * corners_only; such a rotation met that far off says only that both
 * pictures were turned alike). */
static int plain_skips(int code, int d, int fill_below)
{
    return phm_soft_kind(code) || phm_area_kind(code) || (phm_fill_kind(code) && d >= fill_below);
}

/* Whether plain_skips may leave variant `code` out at some distance. */
static int plain_may_skip(int code, int fill_below)
{
    return plain_skips(code, PHM_PDQ_BITS, fill_below);
}

/* The distance from q to the nearest of e's own hash and its variants
 * plain_skips keeps (ties go to the own hash), that variant's code in
 * *code (0: the own hash). */
static int nearest_plain(const phm_entry *e, const phm_pdq *q, int fill_below, int *code)
{
    int best = phm_pdq_distance(&e->pdq, q);
    *code = 0;
    for (size_t v = 0; v < e->nvariants && v < PHM_INDEX_MAX_VARIANTS; v++) {
        int d = phm_pdq_distance(&e->variants[v].pdq, q);
        if (plain_skips(e->variants[v].code, d, fill_below))
            continue;
        if (d < best) {
            best = d;
            *code = e->variants[v].code;
        }
    }
    return best;
}

/* The distance from q to e's own hash and its variants that are not soft
 * hashes (nor filled rotations plain_skips leaves out): what a query hash
 * other than a soft one is measured against. A soft hash is a blurred
 * image's, near the plain hashes of many calm images: wt-combo2 found a
 * clip art's trimmed hash 28 bits from a busy image's stored
 * soft-crop8-bl, a pair of nothing alike. -1 when e has no variant that
 * could be left out: the search measured it right (a video's frames are
 * its slots, not e->pdq). */
int rec_plain_distance(const phm_entry *e, const phm_pdq *q, int fill_below)
{
    size_t v = 0; /* no variant that could be left out: no distance to measure */
    while (v < e->nvariants && v < PHM_INDEX_MAX_VARIANTS &&
           !plain_may_skip(e->variants[v].code, fill_below))
        v++;
    if (v == e->nvariants || v == PHM_INDEX_MAX_VARIANTS)
        return -1;
    int code;
    return nearest_plain(e, q, fill_below, &code);
}

const char *rec_known_variant(const phm_entry *e, const phm_pdq *query, int fill_below,
                              int *distance)
{
    if (distance)
        *distance = -1;
    if (!e || !query || !(e->signals & PHM_SIG_PDQ))
        return NULL;
    int code;
    int best = nearest_plain(e, query, fill_below, &code);
    if (distance)
        *distance = best;
    return code ? phm_known_variant_name(code) : NULL;
}

const char *phm_entry_known_variant(const phm_entry *e, const phm_pdq *query,
                                    int *distance)
{
    return rec_known_variant(e, query, REC_FILL_ANY, distance);
}

/* ---- record version 4 (index format 5) --------------------------- */

/* The number a decimal id stands for, when it is one without leading
 * zeros that fits u64 (so that printing the number gives the id back). */
static int numeric_id(const char *s, uint64_t *v)
{
    size_t n = strlen(s);
    if (n == 0 || n > REC_NUMID_MAX - 1 || (s[0] == '0' && n > 1))
        return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

/* Appends s and its NUL. */
static size_t put_cstr(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n + 1);
    return n + 1;
}

static uint64_t zigzag(int64_t v)
{
    return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

static int64_t unzigzag(uint64_t v)
{
    return (v & 1) ? (int64_t)~(v >> 1) : (int64_t)(v >> 1);
}

size_t rec_encode(const phm_entry *e, uint32_t source, uint32_t category,
                  int64_t added, int64_t created, uint8_t *buf)
{
    uint64_t num = 0;
    unsigned flags = 0;
    if (e->signals & PHM_SIG_PDQ)
        flags |= REC_F_PDQ;
    else if (e->signals & PHM_SIG_VPDQ)
        flags |= REC_F_VPDQ;
    for (unsigned i = 0; i < 3; i++)
        if (e->signals & digest_sigs[i])
            flags |= dflags[i];
    if (numeric_id(e->id, &num))
        flags |= REC_F_NUMID;
    if (e->note && e->note[0])
        flags |= REC_F_NOTE;
    if (e->photodna && e->photodna[0])
        flags |= REC_F_PHOTODNA;
    if (e->attrs && e->attrs[0])
        flags |= REC_F_ATTRS;
    if ((e->signals & PHM_SIG_PDQ) && e->nvariants)
        flags |= REC_F_VARIANTS;
    size_t n = 0;
    buf[n++] = REC_VERSION_COMPACT;
    n += idx_uv_put(buf + n, flags);
    buf[n++] = (uint8_t)(e->quality + 1);
    n += idx_uv_put(buf + n, source);
    n += idx_uv_put(buf + n, category);
    if (flags & REC_F_VPDQ)
        n += idx_uv_put(buf + n, e->nframes);
    for (unsigned i = 0; i < 3; i++) {
        if (flags & dflags[i]) {
            size_t len = rec_digest_len(digest_sigs[i]);
            memcpy(buf + n, rec_digest_of(e, digest_sigs[i]), len);
            n += len;
        }
    }
    if (flags & REC_F_NUMID)
        n += idx_uv_put(buf + n, num);
    else
        n += put_cstr(buf + n, e->id);
    if (flags & REC_F_NOTE)
        n += put_cstr(buf + n, e->note);
    if (flags & REC_F_PHOTODNA)
        n += put_cstr(buf + n, e->photodna);
    if (flags & REC_F_ATTRS)
        n += put_cstr(buf + n, e->attrs);
    if (flags & REC_F_VARIANTS) {
        buf[n++] = (uint8_t)e->nvariants;
        for (size_t i = 0; i < e->nvariants; i++)
            buf[n++] = (uint8_t)e->variants[i].code;
    }
    n += idx_uv_put(buf + n, zigzag((int64_t)((uint64_t)added - (uint64_t)created)));
    return n;
}

/* Reads a NUL-terminated string of 1..max bytes without control bytes. */
static int get_cstr(const uint8_t *p, size_t len, size_t *pos, size_t max,
                    const char **out)
{
    size_t i = *pos;
    while (i < len && p[i] >= 0x20 && p[i] != 0x7f && i - *pos <= max)
        i++;
    if (i >= len || p[i] != 0 || i == *pos || i - *pos > max)
        return -1;
    *out = (const char *)(p + *pos);
    *pos = i + 1;
    return 0;
}

static int get_uv(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    size_t n = idx_uv_get(p + *pos, len - *pos, v);
    *pos += n;
    return n ? 0 : -1;
}

int rec_decode(const void *rec, size_t len, const idx_names *nm, rec_extra *x,
               phm_entry *out)
{
    const uint8_t *p = rec;
    memset(out, 0, sizeof *out);
    uint64_t flags, src, cat, v;
    size_t pos = 1;
    if (len < 6 || p[0] != REC_VERSION_COMPACT || get_uv(p, len, &pos, &flags) ||
        (flags & ~(uint64_t)REC_F_ALL) || (flags & (REC_F_PDQ | REC_F_VPDQ)) ==
        (REC_F_PDQ | REC_F_VPDQ) || ((flags & REC_F_VARIANTS) && !(flags & REC_F_PDQ)) ||
        pos >= len || p[pos] > 101)
        return PHM_ERR_CORRUPT;
    out->quality = p[pos++] - 1;
    if (get_uv(p, len, &pos, &src) || get_uv(p, len, &pos, &cat) || src == 0 ||
        src > UINT32_MAX || cat > UINT32_MAX)
        return PHM_ERR_CORRUPT;
    x->source = (uint32_t)src;
    x->category = (uint32_t)cat;
    if (nm) {
        out->source = idx_names_str(nm, src);
        out->category = idx_names_str(nm, cat);
        if (!out->source || !out->category)
            return PHM_ERR_CORRUPT;
    } else {
        out->source = out->category = "";
    }
    if (flags & REC_F_PDQ)
        out->signals |= PHM_SIG_PDQ;
    if (flags & REC_F_VPDQ) {
        if (get_uv(p, len, &pos, &v) || v == 0 || v > PHM_INDEX_MAX_VIDEO_FRAMES)
            return PHM_ERR_CORRUPT;
        out->nframes = (size_t)v;
        out->signals |= PHM_SIG_VPDQ;
    }
    unsigned present = 0;
    for (unsigned i = 0; i < 3; i++)
        if (flags & dflags[i])
            present |= 1u << i;
    if (get_digests(p, len, &pos, present, out))
        return PHM_ERR_CORRUPT;
    if (!out->signals)
        return PHM_ERR_CORRUPT;
    if (flags & REC_F_NUMID) {
        if (get_uv(p, len, &pos, &v))
            return PHM_ERR_CORRUPT;
        _Static_assert(REC_NUMID_MAX >= 21, "numid holds any u64");
        phm__u64_dec(x->numid, v);
        out->id = x->numid;
    } else {
        uint64_t dummy;
        if (get_cstr(p, len, &pos, PHM_INDEX_MAX_ID, &out->id) || numeric_id(out->id, &dummy))
            return PHM_ERR_CORRUPT;
    }
    out->note = "";
    if (((flags & REC_F_NOTE) && get_cstr(p, len, &pos, PHM_INDEX_MAX_NOTE, &out->note)) ||
        ((flags & REC_F_PHOTODNA) &&
         get_cstr(p, len, &pos, PHM_INDEX_MAX_PHOTODNA, &out->photodna)) ||
        ((flags & REC_F_ATTRS) && get_cstr(p, len, &pos, PHM_INDEX_MAX_ATTRS, &out->attrs)))
        return PHM_ERR_CORRUPT;
    if (flags & REC_F_VARIANTS) {
        if (pos >= len)
            return PHM_ERR_CORRUPT;
        size_t nv = p[pos++];
        if (nv == 0 || nv > PHM_INDEX_MAX_VARIANTS || len - pos < nv)
            return PHM_ERR_CORRUPT;
        for (size_t i = 0; i < nv; i++) {
            int code = p[pos++];
            if (!phm_known_variant_name(code))
                return PHM_ERR_CORRUPT;
            for (size_t j = 0; j < i; j++)
                if (out->variants[j].code == code)
                    return PHM_ERR_CORRUPT;
            out->variants[i].code = code;
        }
        out->nvariants = nv;
    }
    x->added_off = pos;
    if (get_uv(p, len, &pos, &v) || pos != len)
        return PHM_ERR_CORRUPT;
    out->added = (int64_t)((uint64_t)(nm ? nm->created : 0) + (uint64_t)unzigzag(v));
    return PHM_OK;
}

int rec_same(const void *a, size_t alen, const void *b, size_t blen)
{
    phm_entry ea, eb;
    rec_extra xa, xb;
    if (rec_decode(a, alen, NULL, &xa, &ea) || rec_decode(b, blen, NULL, &xb, &eb))
        return 0;
    return xa.added_off == xb.added_off && memcmp(a, b, xa.added_off) == 0;
}
