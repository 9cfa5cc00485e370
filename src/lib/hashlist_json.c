/* hashlist_json.c - the jsonl object grammar of hash lists: one JSON
 * object (parsed by jansson) into a phm_entry (docs/HASHLISTS.md, "jsonl";
 * phmatchd's POST /v1/index/entries reads its entries with it too). */
#include "hashlist_internal.h"

#include <string.h>

#include <jansson.h>

static int json_text(phm_hashlist_reader *r, json_t *v, const char *key, const char **s,
                     size_t *n, char *err, size_t errlen)
{
    if (!json_is_string(v))
        return HL_LINE_ERR("\"%s\" must be a string", key);
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

/* "vpdq": the array of a video's vPDQ lines, parsed into r->video. */
static int json_video(phm_hashlist_reader *r, json_t *v, phm_entry *e, char *err,
                      size_t errlen)
{
    if (!r->opt.allow_video)
        return HL_LINE_ERR("a video (\"vpdq\") is not a hash to look up: match its "
                           "vPDQ file with 'phmatch match'");
    if (!json_is_array(v) || json_array_size(v) == 0)
        return HL_LINE_ERR("\"vpdq\" must be a non-empty array of vPDQ lines");
    if (e->signals & PHM_SIG_PDQ)
        return HL_LINE_ERR("a video (\"vpdq\") has no \"hash\" of its own");
    if (json_array_size(v) > PHM_INDEX_MAX_VIDEO_FRAMES)
        return HL_LINE_ERR("a video of more than %u frames", PHM_INDEX_MAX_VIDEO_FRAMES);
    r->video.count = 0;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        char perr[PHM_ERRMSG_MAX];
        if (!json_is_string(item))
            return HL_LINE_ERR("\"vpdq\" item %zu is not a string", i + 1);
        int rc = phm_vpdq_parse(json_string_value(item), json_string_length(item), NULL,
                                &r->one, perr, sizeof perr);
        if (rc == PHM_OK && r->one.count != 1)
            rc = PHM_ERR_CORRUPT;
        if (rc == PHM_OK)
            rc = phm_vpdq_append(&r->video, &r->one.frames[0]);
        if (rc == PHM_ERR_NOMEM)
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        if (rc != PHM_OK) {
            hl_shown_buf b;
            return HL_LINE_ERR("\"vpdq\" item %zu is not one vPDQ line: %s", i + 1,
                               HL_SHOW(b, json_string_value(item), json_string_length(item)));
        }
    }
    return hl_set_video(r, e, err, errlen);
}

/* Length of the run of hex digits at the start of s[0..len). */
static size_t first_hex_end(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && phm_hex_value((unsigned char)s[i]) >= 0)
        i++;
    return i;
}

/* "variants": an image entry's stored variants, {"crop10-c":"<hash>",
 * ...} as index export writes them (phm_known_variant_code names). The
 * index checks the rest (distinct hashes) when the entry is added. */
static int json_variants(phm_hashlist_reader *r, json_t *v, phm_entry *e, char *err,
                         size_t errlen)
{
    const char *key;
    json_t *item;
    if (!json_is_object(v))
        return HL_LINE_ERR("\"variants\" must be an object of variant names and hashes");
    if (json_object_size(v) > PHM_INDEX_MAX_VARIANTS)
        return HL_LINE_ERR("\"variants\" holds more than %d variants", PHM_INDEX_MAX_VARIANTS);
    json_object_foreach(v, key, item) {
        hl_shown_buf b;
        int code = phm_known_variant_code(key);
        if (!code)
            return HL_LINE_ERR("unknown stored variant \"%s\"", HL_SHOW(b, key, strlen(key)));
        phm_entry_variant *x = &e->variants[e->nvariants];
        if (!json_is_string(item) ||
            phm_pdq_from_hex(json_string_value(item), json_string_length(item), &x->pdq))
            return HL_LINE_ERR("stored variant \"%s\" is not a hash of 64 hex digits",
                               HL_SHOW(b, key, strlen(key)));
        x->code = code;
        e->nvariants++;
    }
    if (e->nvariants && !(e->signals & PHM_SIG_PDQ))
        return HL_LINE_ERR("\"variants\" without a \"hash\" of the entry's own");
    return 0;
}

static int json_to_entry(phm_hashlist_reader *r, json_t *root, phm_entry *e, char *err,
                         size_t errlen)
{
    json_t *val[COL_KINDS] = { 0 };
    const char *keyname[COL_KINDS] = { 0 };
    const char *s = NULL;
    size_t n = 0;
    int rc;

    const char *key;
    json_t *item;
    json_t *vpdq = NULL, *path_hex = NULL, *photodna = NULL, *attrs = NULL,
           *variants = NULL;
    json_object_foreach(root, key, item) {
        if (strcmp(key, "variants") == 0) {
            variants = item;
            continue;
        }
        if (strcmp(key, "photodna") == 0) {
            photodna = item;
            continue;
        }
        if (strcmp(key, "attrs") == 0) {
            attrs = item;
            continue;
        }
        if (strcmp(key, "vpdq") == 0) {
            vpdq = item;
            continue;
        }
        if (strcmp(key, "path_hex") == 0) {
            path_hex = item;
            continue;
        }
        hl_col k = hl_column_kind(key, strlen(key), 0);
        if (k == COL_UNKNOWN) {
            if (!r->warned_keys) {
                hl_shown_buf b;
                r->warned_keys = 1;
                hl_warn(r, "ignoring unknown key \"%s\" (and any others in this file)",
                        HL_SHOW(b, key, strlen(key)));
            }
            continue;
        }
        if (val[k]) {
            hl_shown_buf b1, b2;
            return HL_LINE_ERR("duplicate key: \"%s\" and \"%s\" name the same field",
                               HL_SHOW(b1, keyname[k], strlen(keyname[k])),
                               HL_SHOW(b2, key, strlen(key)));
        }
        val[k] = item;
        keyname[k] = key;
    }
    if (val[COL_ID] && !json_is_null(val[COL_ID]) && val[COL_NAME])
        val[COL_NAME] = NULL; /* the id wins */

#define PRESENT(k) (val[k] && !json_is_null(val[k]))
    if (PRESENT(COL_SIGNAL_TYPE)) {
        if ((rc = json_text(r, val[COL_SIGNAL_TYPE], keyname[COL_SIGNAL_TYPE], &s, &n, err,
                            errlen)) != 0)
            return rc;
        if ((rc = hl_check_signal_type(r, s, n, err, errlen)) != 0)
            return rc;
    }
    if (PRESENT(COL_HASH) &&
        ((rc = json_text(r, val[COL_HASH], keyname[COL_HASH], &s, &n, err, errlen)) != 0 ||
         (rc = hl_set_hash(r, e, s, n, err, errlen)) != 0))
        return rc;
    if (PRESENT(COL_QUALITY)) {
        json_t *v = val[COL_QUALITY];
        if (!json_is_integer(v))
            return HL_LINE_ERR("\"%s\" must be an integer 0..100", keyname[COL_QUALITY]);
        json_int_t q = json_integer_value(v);
        if (q < 0 || q > 100)
            return HL_LINE_ERR("quality %" JSON_INTEGER_FORMAT " is out of range 0..100", q);
        e->quality = (int)q;
    }
    const struct {
        hl_col kind;
        char *dst;
        size_t max;
    } strs[] = {
        { COL_SOURCE, r->source, PHM_HASHLIST_SOURCE_MAX },
        { COL_ID, r->id, PHM_HASHLIST_ID_MAX },
        { COL_NAME, r->id, PHM_HASHLIST_ID_MAX },
        { COL_CATEGORY, r->category, PHM_HASHLIST_CATEGORY_MAX },
        { COL_NOTE, r->note, PHM_HASHLIST_NOTE_MAX },
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        hl_col k = strs[i].kind;
        if (!PRESENT(k))
            continue;
        if ((k == COL_ID || k == COL_NAME) && json_is_integer(val[k])) {
            snprintf(strs[i].dst, strs[i].max + 1, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(val[k]));
            continue;
        }
        if ((rc = json_text(r, val[k], keyname[k], &s, &n, err, errlen)) != 0 ||
            (rc = hl_set_string(r, strs[i].dst, strs[i].max, keyname[k], s, n, err,
                                errlen)) != 0)
            return rc;
    }
    if (path_hex && !json_is_null(path_hex) && !PRESENT(COL_ID)) {
        /* The exact bytes of a name that is not UTF-8, as phmatch hash
         * writes them next to "path": they win over "path"/"name". */
        const char *h = json_string_value(path_hex);
        size_t hl = h ? json_string_length(path_hex) : 0;
        if (!h || hl % 2 || hl / 2 > PHM_HASHLIST_ID_MAX ||
            first_hex_end(h, hl) != hl)
            return HL_LINE_ERR("\"path_hex\" must be a string of at most %d pairs of "
                               "hex digits", PHM_HASHLIST_ID_MAX);
        for (size_t i = 0; i < hl / 2; i++)
            r->fbuf[i] = (char)(phm_hex_value((unsigned char)h[2 * i]) << 4 |
                                phm_hex_value((unsigned char)h[2 * i + 1]));
        if ((rc = hl_set_string(r, r->id, PHM_HASHLIST_ID_MAX, "path_hex", r->fbuf, hl / 2,
                                err, errlen)) != 0)
            return rc;
    }
    if (PRESENT(COL_ADDED)) {
        json_t *v = val[COL_ADDED];
        if (json_is_integer(v)) {
            json_int_t t = json_integer_value(v);
            if (t < 0 || t > PHM_HASHLIST_TIME_MAX)
                return HL_LINE_ERR("added time %" JSON_INTEGER_FORMAT
                                   " is out of range (1970 to 9999)",
                                   t);
            e->added = (int64_t)t;
        } else if (json_is_string(v)) {
            if ((rc = hl_set_added(r, e, json_string_value(v), json_string_length(v), err,
                                   errlen)) != 0)
                return rc;
        } else {
            return HL_LINE_ERR("\"%s\" must be an integer or a string", keyname[COL_ADDED]);
        }
    }
    for (size_t d = 0; d < HL_NDIGESTS; d++) {
        hl_col k = hl_digests[d].kind;
        if (!PRESENT(k))
            continue;
        if ((rc = json_text(r, val[k], keyname[k], &s, &n, err, errlen)) != 0 ||
            (rc = hl_set_digest(r, e, d, s, n, err, errlen)) != 0)
            return rc;
    }
#undef PRESENT
    if (photodna && !json_is_null(photodna) &&
        ((rc = json_text(r, photodna, "photodna", &s, &n, err, errlen)) != 0 ||
         (rc = hl_set_photodna(r, e, s, n, err, errlen)) != 0))
        return rc;
    if (attrs && !json_is_null(attrs)) {
        if (!json_is_object(attrs))
            return HL_LINE_ERR("\"attrs\" must be an object");
        if ((rc = hl_set_attrs(r, e, attrs, err, errlen)) != 0)
            return rc;
    }
    if (vpdq && !json_is_null(vpdq) && (rc = json_video(r, vpdq, e, err, errlen)) != 0)
        return rc;
    if (variants && !json_is_null(variants) && (rc = json_variants(r, variants, e, err, errlen)))
        return rc;
    if (!e->signals)
        return HL_LINE_ERR(HL_NO_HASH_MSG);
    return 0;
}

int hl_parse_jsonl(phm_hashlist_reader *r, const char *line, size_t len, phm_entry *e, char *err,
                   size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        const char *why = je.text;
        char wb[100];
        if (strstr(why, "JSON_ALLOW_NUL"))
            why = "a string holds \\u0000 (NUL)";
        else
            why = hl_shown(wb, sizeof wb, why, strlen(why), sizeof wb - 4);
        return HL_LINE_ERR("invalid JSON at column %d: %s", je.column, why);
    }
    int rc;
    if (!json_is_object(root))
        rc = HL_LINE_ERR("expected a JSON object");
    else
        rc = json_to_entry(r, root, e, err, errlen);
    json_decref(root);
    return rc;
}
