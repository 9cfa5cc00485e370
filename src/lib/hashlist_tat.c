/* hashlist_tat.c - Tech Against Terrorism's JSON: one element of results[]
 * into a phm_entry (docs/HASHLISTS.md, "tat"). */
#include "hashlist_internal.h"

#include <string.h>

#include <jansson.h>

int hl_tat_record(phm_hashlist_reader *r, json_t *o, phm_entry *e, char *err, size_t errlen)
{
    const char *val, *alg;
    size_t vn, an;
    json_t *v;
    int rc;

    v = json_object_get(o, "id");
    if (!v || json_is_null(v))
        return HL_LINE_ERR("a result needs an \"id\"");
    if ((rc = hl_json_id(r, v, "id", err, errlen)) != 0)
        return rc;
    v = json_object_get(o, "deleted");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        return HL_LINE_ERR("\"deleted\" must be a boolean");
    if (json_is_true(v))
        return HL_REMOVED;
    if ((rc = hl_json_opt_str(r, o, "hash_digest", &val, &vn, err, errlen)) != 0 ||
        (rc = hl_json_opt_str(r, o, "algorithm", &alg, &an, err, errlen)) != 0)
        return rc;
    if (!val || !alg)
        return HL_LINE_ERR("a result needs \"hash_digest\" and \"algorithm\"");
    char type[16];
    if (an >= sizeof type || memchr(alg, '\0', an))
        return hl_other_signal(r, alg, an, err, errlen);
    memcpy(type, alg, an);
    type[an] = '\0';
    if ((rc = hl_set_typed_hash(r, e, type, val, vn, err, errlen)) != 0)
        return rc;
    return hl_json_time(r, json_object_get(o, "updated_on"), "updated_on", e, err, errlen);
}
