/* hashlist_stopncii.c - StopNCII's JSON: one element of hashRecords[] into
 * a phm_entry (docs/HASHLISTS.md, "stopncii"). */
#include "hashlist_internal.h"

#include <string.h>

#include <jansson.h>

/* signalType: the kind of hash it carries. */
static const struct {
    const char *type;
    const char *hash;
} signal_types[] = {
    { "ImagePDQ", "pdq" }, { "PDQ", "pdq" },        { "VideoMD5", "md5" },
    { "ImageMD5", "md5" }, { "MD5", "md5" },        { "ImageSHA1", "sha1" },
    { "VideoSHA1", "sha1" }, { "ImageSHA256", "sha256" }, { "VideoSHA256", "sha256" },
};

int hl_stopncii_record(phm_hashlist_reader *r, json_t *o, phm_entry *e, char *err,
                       size_t errlen)
{
    const char *val, *type, *status;
    size_t vn, tn, sn;
    int rc;

    if ((rc = hl_json_opt_str(r, o, "hashValue", &val, &vn, err, errlen)) != 0 ||
        (rc = hl_json_opt_str(r, o, "signalType", &type, &tn, err, errlen)) != 0 ||
        (rc = hl_json_opt_str(r, o, "hashStatus", &status, &sn, err, errlen)) != 0)
        return rc;
    if (!val || !type)
        return HL_LINE_ERR("a hash record needs \"hashValue\" and \"signalType\"");
    /* The hash is the record's identity: its id, in lower case. */
    const char *t = val;
    size_t tl = vn;
    hl_trim(&t, &tl);
    if ((rc = hl_set_string(r, r->id, PHM_HASHLIST_ID_MAX, "hashValue", t, tl, err, errlen)) !=
        0)
        return rc;
    for (size_t i = 0; r->id[i]; i++)
        if (r->id[i] >= 'A' && r->id[i] <= 'Z')
            r->id[i] = (char)(r->id[i] - 'A' + 'a');
    if (status && (hl_same_name(status, sn, "Withdrawn", 1) ||
                   hl_same_name(status, sn, "Deleted", 1) ||
                   hl_same_name(status, sn, "Removed", 1)))
        return HL_REMOVED;
    const char *kind = NULL;
    for (size_t i = 0; i < sizeof signal_types / sizeof signal_types[0]; i++)
        if (hl_same_name(type, tn, signal_types[i].type, 1))
            kind = signal_types[i].hash;
    if (!kind)
        return hl_other_signal(r, type, tn, err, errlen);
    if ((rc = hl_set_typed_hash(r, e, kind, val, vn, err, errlen)) != 0)
        return rc;
    if ((rc = hl_json_time(r, json_object_get(o, "lastModtimestamp"), "lastModtimestamp", e,
                           err, errlen)) != 0)
        return rc;
    json_t *attrs = json_object(), *v;
    if (!attrs)
        return hl_fail(r, err, errlen, PHM_ERR_NOMEM, "out of memory");
    if ((v = json_object_get(o, "caseNumbers")) && !json_is_null(v))
        json_object_set(attrs, "caseNumbers", v);
    if (status)
        json_object_set_new(attrs, "hashStatus", json_stringn(status, sn));
    json_object_set_new(attrs, "signalType", json_stringn(type, tn));
    rc = hl_set_attrs(r, e, attrs, err, errlen);
    json_decref(attrs);
    return rc;
}
