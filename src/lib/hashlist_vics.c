/* hashlist_vics.c - Project VIC's VICS JSON (OData 1.x and 2.0): one Media
 * record into a phm_entry (docs/HASHLISTS.md, "vics"). The document is
 * scanned by hashlist_doc.c: a hash set's value[], a case file's
 * value[i].Media[]. */
#include "hashlist_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* The Media fields kept in attrs; booleans may arrive as strings. */
static const struct {
    const char *name;
    int boolean;
} kept[] = {
    { "Series", 0 },     { "VictimIdentified", 1 }, { "OffenderIdentified", 1 },
    { "IsDistributed", 1 }, { "MediaSize", 0 },     { "DateUpdated", 0 },
    { "IsPrecategorized", 1 }, { "Tags", 0 },
};

/* Fields read into the entry, or known and not kept. */
static const char *const mapped[] = {
    "MediaID", "Category", "MD5", "SHA1", "SHA256", "PhotoDNA", "AlternativeHashes",
    "odata.id", "@odata.id", "odata.type", "@odata.type", "@phmatch.entry",
};

static int is_mapped(const char *key)
{
    for (size_t i = 0; i < sizeof mapped / sizeof mapped[0]; i++)
        if (strcmp(key, mapped[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        if (strcmp(key, kept[i].name) == 0)
            return 1;
    return 0;
}

static int str_field(phm_hashlist_reader *r, json_t *o, const char *key, const char **s,
                     size_t *n, char *err, size_t errlen)
{
    return hl_json_opt_str(r, o, key, s, n, err, errlen);
}

/* AlternativeHashes: [{"HashName": "PDQ" | "PhotoDNA" | ..., "HashValue": "..."}] */
static int alternative(phm_hashlist_reader *r, json_t *alt, phm_entry *e, char *err,
                       size_t errlen)
{
    size_t i;
    json_t *h;
    if (!json_is_array(alt))
        return HL_LINE_ERR("\"AlternativeHashes\" must be an array");
    json_array_foreach(alt, i, h) {
        const char *name, *val;
        size_t nn, vn;
        int rc;
        if (!json_is_object(h))
            return HL_LINE_ERR("\"AlternativeHashes\" item %zu is not an object", i + 1);
        if ((rc = str_field(r, h, "HashName", &name, &nn, err, errlen)) != 0 ||
            (rc = str_field(r, h, "HashValue", &val, &vn, err, errlen)) != 0)
            return rc;
        if (!name || !val)
            return HL_LINE_ERR("\"AlternativeHashes\" item %zu needs \"HashName\" and "
                               "\"HashValue\"", i + 1);
        if (hl_same_name(name, nn, "PDQ", 1)) {
            if (e->signals & PHM_SIG_PDQ)
                return HL_LINE_ERR("two PDQ hashes in \"AlternativeHashes\"");
            rc = hl_set_hash(r, e, val, vn, err, errlen);
        } else if (hl_same_name(name, nn, "PhotoDNA", 1)) {
            if (e->photodna && (strlen(e->photodna) != vn || memcmp(e->photodna, val, vn)))
                return HL_LINE_ERR("two different PhotoDNA hashes");
            rc = hl_set_photodna(r, e, val, vn, err, errlen);
        } else if (hl_same_name(name, nn, "SHA256", 1)) {
            /* VICS has no SHA256 field; phmatch's export puts it here. */
            rc = hl_set_digest(r, e, 2, val, vn, err, errlen);
        } else {
            continue; /* a hash phmatch does not use */
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* "@phmatch.entry": what `index export --format vics` writes beside the
 * Media fields so that a re-import gives back the same entry: source, id,
 * category, note (strings), quality (a number), added (ISO 8601). As with
 * a csv column, a field given here wins over --source/--category; the
 * Media fields (MediaID, Category) are read first and then replaced. */
static int phmatch_entry(phm_hashlist_reader *r, json_t *a, phm_entry *e, char *err,
                         size_t errlen)
{
    static const struct {
        const char *key;
        size_t off, max;
    } str[] = {
        { "source", offsetof(phm_hashlist_reader, source), PHM_HASHLIST_SOURCE_MAX },
        { "id", offsetof(phm_hashlist_reader, id), PHM_HASHLIST_ID_MAX },
        { "category", offsetof(phm_hashlist_reader, category), PHM_HASHLIST_CATEGORY_MAX },
        { "note", offsetof(phm_hashlist_reader, note), PHM_HASHLIST_NOTE_MAX },
    };
    const char *s;
    size_t n;
    json_t *v;
    int rc;

    if (!json_is_object(a))
        return HL_LINE_ERR("\"@phmatch.entry\" must be an object");
    for (size_t i = 0; i < sizeof str / sizeof str[0]; i++) {
        if ((rc = str_field(r, a, str[i].key, &s, &n, err, errlen)) != 0)
            return rc;
        if (s && (rc = hl_set_string(r, (char *)r + str[i].off, str[i].max, str[i].key, s, n,
                                     err, errlen)) != 0)
            return rc;
    }
    if ((v = json_object_get(a, "quality")) && !json_is_null(v)) {
        char q[32];
        if (!json_is_integer(v))
            return HL_LINE_ERR("\"@phmatch.entry\": \"quality\" must be an integer");
        snprintf(q, sizeof q, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if ((rc = hl_set_quality(r, e, q, strlen(q), err, errlen)) != 0)
            return rc;
    }
    if ((rc = str_field(r, a, "added", &s, &n, err, errlen)) != 0 ||
        (s && (rc = hl_set_added(r, e, s, n, err, errlen)) != 0))
        return rc;
    return 0;
}

int hl_vics_media(phm_hashlist_reader *r, json_t *o, phm_entry *e, char *err, size_t errlen)
{
    const char *s;
    size_t n;
    json_t *v, *attrs = NULL;
    int rc = 0;

    if ((v = json_object_get(o, "MediaID")) && !json_is_null(v) &&
        (rc = hl_json_id(r, v, "MediaID", err, errlen)) != 0)
        return rc;
    if ((v = json_object_get(o, "Category")) && !json_is_null(v)) {
        if (json_is_integer(v))
            snprintf(r->category, sizeof r->category, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));
        else if (json_is_real(v))
            snprintf(r->category, sizeof r->category, "%g", json_real_value(v));
        else if (json_is_string(v))
            rc = hl_set_string(r, r->category, PHM_HASHLIST_CATEGORY_MAX, "Category",
                               json_string_value(v), json_string_length(v), err, errlen);
        else
            rc = HL_LINE_ERR("\"Category\" must be a number or a string");
        if (rc)
            return rc;
    }
    static const char *const dig[] = { "MD5", "SHA1", "SHA256" };
    for (size_t d = 0; d < HL_NDIGESTS; d++) {
        if ((rc = str_field(r, o, dig[d], &s, &n, err, errlen)) != 0)
            return rc;
        if (s && (rc = hl_set_digest(r, e, d, s, n, err, errlen)) != 0)
            return rc;
    }
    if ((rc = str_field(r, o, "PhotoDNA", &s, &n, err, errlen)) != 0 ||
        (s && (rc = hl_set_photodna(r, e, s, n, err, errlen)) != 0))
        return rc;
    if ((v = json_object_get(o, "AlternativeHashes")) && !json_is_null(v) &&
        (rc = alternative(r, v, e, err, errlen)) != 0)
        return rc;
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        v = json_object_get(o, kept[i].name);
        if (!v || json_is_null(v))
            continue;
        json_t *val = json_incref(v);
        if (kept[i].boolean && json_is_string(v)) {
            int b = hl_bool_text(json_string_value(v), json_string_length(v));
            if (b < 0) {
                json_decref(val);
                json_decref(attrs);
                return HL_LINE_ERR("\"%s\" must be a boolean", kept[i].name);
            }
            json_decref(val);
            val = json_boolean(b);
        } else if (kept[i].boolean && !json_is_boolean(v)) {
            json_decref(val);
            json_decref(attrs);
            return HL_LINE_ERR("\"%s\" must be a boolean", kept[i].name);
        }
        if (!attrs && !(attrs = json_object())) {
            json_decref(val);
            return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
        }
        json_object_set_new(attrs, kept[i].name, val);
    }
    rc = hl_set_attrs(r, e, attrs, err, errlen);
    json_decref(attrs);
    if (rc)
        return rc;
    if ((v = json_object_get(o, "@phmatch.entry")) && !json_is_null(v) &&
        (rc = phmatch_entry(r, v, e, err, errlen)) != 0)
        return rc;
    const char *key;
    json_object_foreach(o, key, v) {
        if (!is_mapped(key)) {
            hl_unknown_field(r, key);
            break;
        }
    }
    if (!e->signals)
        return HL_LINE_ERR("no hash phmatch can match: no PDQ (in AlternativeHashes), MD5, "
                           "SHA1 or SHA256%s",
                           e->photodna ? " (PhotoDNA alone cannot be matched)" : "");
    return 0;
}
